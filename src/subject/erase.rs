//! `subject erase`: removes a person's rows found by [`super::find`], children first, through the
//! retention executor. Each step is a synthesized policy (`retain = "0d"`, no clock) carrying a
//! [`SubjectScope`] (the explicit key set), so the batches, transactions, read-back, safety brake
//! (at most the rows found), legal holds (those of the policies on the same table), audit records,
//! checkpoints and resume after a kill are enforcement's own; the dry run is its dry run.
//!
//! - A table listed in `[[subject_requests.keep]]` keeps its rows: a column whose value is the
//!   identifier gets the keep action; free text gets only the person's spans masked (or
//!   pseudonymized), never another person's data in the same value.
//! - A row that rows of a kept table reference is not deleted: its personal columns (those the
//!   inventory holds) get the keep action of the referencing kept table instead.
//! - Deletes never remove a row that something still references (a held child): such rows are
//!   reported as left.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::find::{key_columns, rows_where_in, Findings, Found};
use super::identifiers::SpanEraser;
use crate::config::{Action, Config, HoldConfig, PolicyConfig};
use crate::error::{Error, Result};
use crate::inventory::{ColumnFilter, Store};
use crate::retention::plan::{is_text_type, SubjectScope};
use crate::retention::{run_policy, Outcome, RunOptions};
use crate::sources::{Access, Source, TableRef};
use crate::stop::Stop;

/// One step of an erasure: one action on one table's rows (and columns).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub source: String,
    pub schema: String,
    pub table: String,
    pub action: Action,
    /// Transformed columns (empty for delete).
    pub columns: Vec<String>,
    /// True when only the person's spans in the columns change.
    pub spans: bool,
    /// Rows (keys) the step acts on.
    pub rows: usize,
    /// Why this step exists.
    pub why: String,
    #[serde(skip)]
    keys: Vec<Vec<String>>,
    #[serde(skip)]
    idents: Vec<String>,
}

/// What a step did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    #[serde(flatten)]
    pub step: Step,
    /// The synthesized policy's name (audit records carry it).
    pub policy: String,
    /// Run id in the audit trail (`None` in a dry run).
    pub run_id: Option<String>,
    /// `completed`, `dry run`, `braked`, `stopped`, `refused: ...`, `failed: ...`.
    pub outcome: String,
    /// Rows deleted or changed (dry run: rows that would be).
    pub affected: u64,
    /// Rows excluded by a legal hold.
    pub held: u64,
    /// Deletes: rows still present afterwards (held, or still referenced).
    pub left: u64,
    /// Dry run: the statements each batch runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
}

/// The whole erasure.
#[derive(Debug, Clone, Serialize)]
pub struct EraseReport {
    pub request: String,
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
}

impl EraseReport {
    /// True when every step completed (or would complete) with nothing held or left.
    pub fn complete(&self) -> bool {
        self.steps.iter().all(|s| {
            (s.outcome.starts_with("completed") || s.outcome == "dry run")
                && s.held == 0
                && s.left == 0
        })
    }
}

/// The steps that erase `findings`, children first.
pub async fn plan(config: &Config, findings: &Findings) -> Result<Vec<Step>> {
    let idents: Vec<String> = findings_idents(findings);
    let store = Store::open(&config.inventory.url).await?;
    let inventory = store.columns(&ColumnFilter::default()).await?;
    store.close().await;
    let engine = crate::detect::Engine::load(config.detectors_dir.as_deref())?;
    let mut eraser = SpanEraser::new(engine, idents.clone());
    let mut by_source: BTreeMap<String, BTreeMap<TableRef, Vec<&Found>>> = BTreeMap::new();
    for f in &findings.matches {
        by_source
            .entry(f.source.clone())
            .or_default()
            .entry(f.table_ref())
            .or_default()
            .push(f);
    }
    let mut steps = Vec::new();
    for (src, tables) in by_source {
        let source = Source::connect(config.source(&src)?, &config.scan, Access::ReadOnly).await?;
        let mut refs = HashMap::new();
        for t in tables.keys() {
            refs.insert(t.clone(), source.referencing(t).await?);
        }
        let mut infos = HashMap::new();
        for t in tables.keys() {
            infos.insert(t.clone(), source.table(Some(&t.schema), &t.name).await?);
        }
        source.close().await;
        let owner =
            |fk: &crate::sources::ForeignKey| fk.ancestors.last().unwrap_or(&fk.table).clone();
        // Children first: a table goes when no other remaining table references it.
        let mut left: BTreeSet<TableRef> = tables.keys().cloned().collect();
        let mut order = Vec::new();
        while !left.is_empty() {
            let next = left
                .iter()
                .find(|t| {
                    !refs[*t]
                        .iter()
                        .any(|fk| owner(fk) != **t && left.contains(&owner(fk)))
                })
                .cloned()
                .unwrap_or_else(|| left.iter().next().cloned().expect("not empty"));
            left.remove(&next);
            order.push(next);
        }
        // Rows that stay (kept tables, rows transformed instead of deleted) and the action
        // their referenced rows get.
        let mut staying: HashMap<(TableRef, Vec<String>), Action> = HashMap::new();
        for t in order {
            let rows = &tables[&t];
            let kept = config.subject_requests.kept(&src, &t.schema, &t.name);
            let mk = |action: Action,
                      columns: Vec<String>,
                      spans: bool,
                      keys: Vec<Vec<String>>,
                      why: String| Step {
                source: src.clone(),
                schema: t.schema.clone(),
                table: t.name.clone(),
                action,
                columns,
                spans,
                rows: keys.len(),
                why,
                keys,
                idents: idents.clone(),
            };
            if let Some(k) = kept {
                for r in rows {
                    staying.insert((t.clone(), r.key_values.clone()), k.action);
                }
                // Per matched column: whole values get the keep action, free text its spans.
                let mut per: BTreeMap<(String, bool), Vec<Vec<String>>> = BTreeMap::new();
                for r in rows {
                    for c in &r.columns {
                        let Some(v) = r.value(c) else { continue };
                        // A pseudonym or an envelope that was found is the person's value whole.
                        let transformed = crate::transformed::is_pseudonym(v)
                            || crate::retention::crypto::is_envelope(v);
                        let spans = eraser.spans(v);
                        let whole = transformed
                            || spans.len() == 1
                                && spans[0].0 == v.len() - v.trim_start().len()
                                && spans[0].1 == v.trim_end().len();
                        per.entry((c.clone(), !whole))
                            .or_default()
                            .push(r.key_values.clone());
                    }
                }
                for ((c, spans), keys) in per {
                    let action = if spans && k.action != Action::Pseudonymize {
                        Action::Mask
                    } else {
                        k.action
                    };
                    let why = if spans {
                        format!(
                            "kept table: the person's identifiers in {c} are {}",
                            if action == Action::Mask {
                                "masked"
                            } else {
                                "pseudonymized"
                            }
                        )
                    } else {
                        format!("kept table: {c} holds the person's identifier")
                    };
                    steps.push(mk(action, vec![c], spans, keys, why));
                }
                continue;
            }
            // Rows that staying rows (of a kept table, or transformed instead of deleted)
            // reference are transformed, not deleted.
            let mut keep_action: BTreeMap<Vec<String>, Action> = BTreeMap::new();
            for fk in &refs[&t] {
                let child = owner(fk);
                let Some(children) = tables.get(&child) else {
                    continue;
                };
                for ch in children {
                    let Some(&action) = staying.get(&(child.clone(), ch.key_values.clone())) else {
                        continue;
                    };
                    let refv: Option<Vec<&str>> = fk.columns.iter().map(|c| ch.value(c)).collect();
                    let Some(refv) = refv else { continue };
                    for p in rows {
                        let pv: Option<Vec<&str>> =
                            fk.referenced_columns.iter().map(|c| p.value(c)).collect();
                        if pv.as_ref() == Some(&refv) {
                            keep_action.entry(p.key_values.clone()).or_insert(action);
                        }
                    }
                }
            }
            for (k, a) in &keep_action {
                staying.insert((t.clone(), k.clone()), *a);
            }
            let delete: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.key_values.clone())
                .filter(|k| !keep_action.contains_key(k))
                .collect();
            if !delete.is_empty() {
                let why = "rows of the person (found, or referencing a row found)".to_string();
                steps.push(mk(Action::Delete, vec![], false, delete, why));
            }
            if !keep_action.is_empty() {
                let info = &infos[&t];
                let key: Vec<String> = key_columns(info)
                    .map(|k| k.into_iter().map(|c| c.name).collect())
                    .unwrap_or_default();
                let fk_cols: BTreeSet<&String> = info
                    .foreign_keys
                    .iter()
                    .flat_map(|f| f.columns.iter())
                    .collect();
                let personal: Vec<&crate::sources::ColumnInfo> = inventory
                    .iter()
                    .filter(|c| {
                        c.key.source == src
                            && c.key.schema == t.schema
                            && c.key.table == t.name
                            && c.is_personal()
                            && !key.contains(&c.key.column)
                            && !fk_cols.contains(&c.key.column)
                    })
                    .filter_map(|c| info.column(&c.key.column))
                    .collect();
                // Text columns get the action; other columns (numbers) can only be nulled.
                let text: Vec<String> = personal
                    .iter()
                    .filter(|c| is_text_type(&c.sql_type))
                    .map(|c| c.name.clone())
                    .collect();
                let other: Vec<String> = personal
                    .iter()
                    .filter(|c| !is_text_type(&c.sql_type))
                    .map(|c| c.name.clone())
                    .collect();
                let mut per_action: BTreeMap<&str, (Action, Vec<Vec<String>>)> = BTreeMap::new();
                for (k, a) in &keep_action {
                    per_action
                        .entry(a.as_str())
                        .or_insert((*a, vec![]))
                        .1
                        .push(k.clone());
                }
                let why = "rows that kept rows reference: their personal columns are \
                           transformed instead of the rows deleted";
                for (_, (action, keys)) in per_action {
                    if action == Action::Nullify {
                        let all: Vec<String> = text.iter().chain(&other).cloned().collect();
                        if !all.is_empty() {
                            steps.push(mk(action, all, false, keys, why.into()));
                        }
                        continue;
                    }
                    if !text.is_empty() {
                        steps.push(mk(action, text.clone(), false, keys.clone(), why.into()));
                    }
                    if !other.is_empty() {
                        let why = format!("{why} (columns that are not text are set to NULL)");
                        steps.push(mk(Action::Nullify, other.clone(), false, keys, why));
                    }
                }
            }
        }
    }
    Ok(steps)
}

fn findings_idents(f: &Findings) -> Vec<String> {
    f.normalized.clone()
}

/// The synthesized policy of a step in request `request`.
pub fn policy_of(config: &Config, request: &str, step: &Step) -> PolicyConfig {
    let table = format!("{}.{}", step.schema, step.table);
    let same_table: Vec<&PolicyConfig> = config
        .policies
        .iter()
        .filter(|p| {
            p.source == step.source && {
                let (s, n) = p.table_parts();
                n == step.table && s.is_none_or(|s| s == step.schema)
            }
        })
        .collect();
    let legal: Vec<String> = same_table
        .iter()
        .filter_map(|p| p.legal_hold.clone())
        .map(|h| format!("({h})"))
        .collect();
    let holds: Vec<HoldConfig> = same_table.iter().flat_map(|p| p.holds.clone()).collect();
    let what = match (step.action, step.spans) {
        (Action::Delete, _) => "delete".to_string(),
        (a, true) => format!("{}-spans:{}", a.as_str(), step.columns.join(",")),
        (a, false) => format!("{}:{}", a.as_str(), step.columns.join(",")),
    };
    PolicyConfig {
        name: format!("subject:{request}:{}:{table}:{what}", step.source),
        description: format!("data subject request {request}: erasure ({})", step.why),
        source: step.source.clone(),
        table,
        timestamp_column: String::new(),
        timestamp_format: None,
        retain: "0d".into(),
        filter: None,
        action: step.action,
        columns: step.columns.clone(),
        schedule: None,
        batch_size: config.subject_requests.batch_size,
        legal_hold: (!legal.is_empty()).then(|| legal.join(" OR ")),
        holds,
        max_rows: Some(step.keys.len() as u64),
        max_share: Some(1.0),
        pause: None,
        lock_timeout: "5s".into(),
        statement_timeout: "30s".into(),
        delete_children: Vec::new(),
        subject: Some(Arc::new(SubjectScope {
            keys: step.keys.clone(),
            spans: if step.spans {
                step.idents.clone()
            } else {
                Vec::new()
            },
        })),
    }
}

/// Runs (or, `dry_run`, previews) the steps in order. A step that is refused or fails is
/// reported and the later steps still run, except that a failure in a step stops the steps
/// of tables it references (they would find their children still present).
pub async fn run(
    config: &Config,
    request: &str,
    steps: Vec<Step>,
    dry_run: bool,
    stop: &Stop,
) -> Result<EraseReport> {
    let mut out = EraseReport {
        request: request.to_string(),
        dry_run,
        steps: Vec::new(),
    };
    for step in steps {
        if stop.is_requested() {
            break;
        }
        let policy = policy_of(config, request, &step);
        let preview_opts = RunOptions {
            dry_run: true,
            sample_keys: 10,
            ..RunOptions::default()
        };
        let mut rep = StepReport {
            policy: policy.name.clone(),
            step: step.clone(),
            run_id: None,
            outcome: String::new(),
            affected: 0,
            held: 0,
            left: 0,
            statements: Vec::new(),
        };
        match run_policy(config, &policy, &preview_opts, stop).await {
            Ok(r) => {
                if let Some(p) = &r.preview {
                    rep.held = p.held;
                    rep.affected = r.eligible;
                    rep.statements = p.statements.clone();
                    if let Some(b) = &p.brake {
                        rep.outcome = format!("would stop at the {b}");
                    }
                }
            }
            Err(e) => {
                rep.outcome = if e.is_refusal() {
                    format!("refused: {e}")
                } else {
                    format!("failed: {e}")
                };
                out.steps.push(rep);
                continue;
            }
        }
        if dry_run {
            if rep.outcome.is_empty() {
                rep.outcome = "dry run".into();
            }
            out.steps.push(rep);
            continue;
        }
        rep.statements.clear();
        let opts = RunOptions::default();
        match run_policy(config, &policy, &opts, stop).await {
            Ok(r) => {
                rep.run_id = Some(r.run_id.clone());
                rep.affected = r.rows_affected;
                let resumed = if r.resumed { " (resumed)" } else { "" };
                rep.outcome = match r.outcome {
                    Outcome::Completed => format!("completed{resumed}"),
                    Outcome::Stopped => "stopped".into(),
                    Outcome::Braked => "braked".into(),
                    Outcome::Locked => "locked: another process runs this erasure".into(),
                    Outcome::DryRun => "dry run".into(),
                };
            }
            Err(e) => {
                rep.outcome = if e.is_refusal() {
                    format!("refused: {e}")
                } else {
                    format!("failed: {e}")
                };
            }
        }
        if step.action == Action::Delete {
            rep.left = still_present(config, &step).await?;
        }
        out.steps.push(rep);
    }
    Ok(out)
}

/// Rows of a delete step still present.
async fn still_present(config: &Config, step: &Step) -> Result<u64> {
    let source =
        Source::connect(config.source(&step.source)?, &config.scan, Access::ReadOnly).await?;
    let r = async {
        let info = source.table(Some(&step.schema), &step.table).await?;
        let key =
            key_columns(&info).ok_or_else(|| Error::Other(format!("{} has no key", info.table)))?;
        Ok::<_, Error>(rows_where_in(&source, &info, &key, &step.keys).await?.len() as u64)
    }
    .await;
    source.close().await;
    r
}
