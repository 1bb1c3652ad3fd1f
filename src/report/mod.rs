//! `datawarden report`: the evidence, promise by promise, that the retention promises of the
//! privacy policy are kept.
//!
//! A promise is a policy's `description` (policies with the same description keep one promise
//! together). For each policy the report shows its coverage of the inventory's personal-data
//! columns of its table, its last run as the audit trail records it (outcome, rows by action,
//! cascaded rows) and a live check: the rows that violate the promise right now, i.e. eligible rows
//! still present, counted read-only with the run's own predicate ([`Plan::count_stmt`] with
//! [`Plan::push_eligible`]). A promise is kept only when every one of its policies has 0
//! violations, a last run that completed, and the audit trail verifies.

pub mod html;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::config::{Action, Config, PolicyConfig};
use crate::error::{Error, Result};
use crate::inventory::coverage::covered_by;
use crate::retention::audit::{self, AuditRecord, Verification};
use crate::retention::plan::Plan;
use crate::sources::{Access, Source};
use crate::store::{ColumnFilter, Store};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Json,
    Csv,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The config file it was made from.
    pub config: String,
    /// The audit trail as `audit verify` sees it.
    pub audit: AuditState,
    /// One entry per promise, in config order of their first policy.
    pub promises: Vec<Promise>,
}

/// The audit trail's state.
#[derive(Debug, Clone, Serialize)]
pub struct AuditState {
    /// Records in the trail.
    pub records: usize,
    /// The chain head `SEQ:HASH` (`None` when the trail is empty).
    pub head: Option<String>,
    /// True when every hash recomputes and links to the record before it.
    pub intact: bool,
    /// Why it does not verify.
    pub problem: Option<String>,
}

/// One promise and its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Promise {
    /// The promise as the privacy policy words it (the policies' `description`).
    pub promise: String,
    /// True only when every policy keeps it (see the module documentation).
    pub kept: bool,
    /// Why it is or is not kept, in one sentence.
    pub verdict: String,
    /// Rows affected by the last runs, per action.
    pub rows_by_action: BTreeMap<String, i64>,
    /// Rows violating the promise now, summed over its policies (`None` when a count failed).
    pub violations: Option<u64>,
    /// Personal-data columns of its tables (`table.column`) that none of its policies acts on:
    /// shown beside the verdict, which they do not change.
    pub gaps: Vec<String>,
    /// The policies that keep it.
    pub policies: Vec<PolicyEvidence>,
}

/// One policy's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyEvidence {
    pub name: String,
    pub source: String,
    pub table: String,
    pub action: String,
    /// Columns the action changes (empty for delete: whole rows).
    pub columns: Vec<String>,
    pub timestamp_column: String,
    pub retain: String,
    pub filter: Option<String>,
    pub legal_hold: Option<String>,
    pub coverage: Coverage,
    pub last_run: Option<LastRun>,
    pub live: LiveCheck,
    /// Violations 0, last run completed, audit trail intact.
    pub kept: bool,
}

/// The policy's table in the inventory: its personal-data columns and which the policy covers.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// True when a scan has seen the table.
    pub in_inventory: bool,
    /// Personal-data columns of the table in the inventory (confirmed or suggested categories).
    pub personal_columns: Vec<String>,
    /// Of those, the ones this policy acts on (every column for delete).
    pub covered: Vec<String>,
    /// Of those, the ones it does not act on.
    pub not_covered: Vec<String>,
    /// Columns the policy acts on that the inventory does not hold as personal data.
    pub not_personal: Vec<String>,
}

/// The last run of a policy, as the audit trail records it.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `completed`, `stopped`, `braked`, `refused`, `failed`, or `unfinished` (a run_started
    /// without its run_finished: still running, or killed; the next run resumes it).
    pub outcome: String,
    pub error: Option<String>,
    pub cutoff: String,
    pub batches: usize,
    /// Rows deleted or changed, per action.
    pub rows_by_action: BTreeMap<String, i64>,
    /// Rows removed or changed in other tables, per `schema.table`.
    pub cascaded: BTreeMap<String, i64>,
    /// Rows held by legal holds when the run started (when recorded).
    pub held: Option<i64>,
}

/// The live check of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct LiveCheck {
    /// When the rows were counted (RFC 3339).
    pub counted_at: String,
    /// The cutoff the count used (now minus the retention period).
    pub cutoff: String,
    /// Eligible rows still present: past the cutoff, matching the filter, not held, not yet
    /// acted on. `None` when the count failed.
    pub violations: Option<u64>,
    /// Rows past the cutoff excluded by legal holds.
    pub held: Option<u64>,
    /// Rows the filter selects whose retention clock is NULL or invalid: never acted on.
    pub invalid_clock: Option<u64>,
    /// Why the count failed.
    pub error: Option<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Builds the report: reads the inventory and the audit trail, and counts the live violations of
/// every policy on its source, read-only.
pub async fn build(config: &Config) -> Result<EvidenceReport> {
    let store = Store::open(&config.inventory.url).await?;
    let recs = audit::records(&store).await?;
    let audit_state = match audit::verify_records(&recs) {
        Verification::Intact { records, head } => AuditState {
            records,
            head: recs.last().map(|r| format!("{}:{head}", r.seq)),
            intact: true,
            problem: None,
        },
        Verification::Broken { seq, reason } => AuditState {
            records: recs.len(),
            head: recs.last().map(|r| format!("{}:{}", r.seq, r.hash)),
            intact: false,
            problem: Some(format!("record {seq}: {reason}")),
        },
    };
    let columns = store
        .columns(&ColumnFilter {
            source: None,
            all: false,
        })
        .await?;
    store.close().await;

    let mut promises: Vec<Promise> = Vec::new();
    for p in &config.policies {
        let coverage = coverage(config, p, &columns);
        let last_run = last_run(&recs, p);
        let live = live_check(config, p).await;
        let kept = audit_state.intact
            && live.violations == Some(0)
            && last_run.as_ref().is_some_and(|r| r.outcome == "completed");
        let ev = PolicyEvidence {
            name: p.name.clone(),
            source: p.source.clone(),
            table: p.table.clone(),
            action: p.action.as_str().into(),
            columns: p.columns.clone(),
            timestamp_column: p.timestamp_column.clone(),
            retain: p.retain.clone(),
            filter: p.filter.clone(),
            legal_hold: p.legal_hold.clone(),
            coverage,
            last_run,
            live,
            kept,
        };
        match promises.iter_mut().find(|x| x.promise == p.description) {
            Some(x) => x.policies.push(ev),
            None => promises.push(Promise {
                promise: p.description.clone(),
                kept: false,
                verdict: String::new(),
                rows_by_action: BTreeMap::new(),
                violations: None,
                gaps: Vec::new(),
                policies: vec![ev],
            }),
        }
    }
    for pr in &mut promises {
        pr.kept = pr.policies.iter().all(|p| p.kept);
        pr.violations = pr
            .policies
            .iter()
            .map(|p| p.live.violations)
            .sum::<Option<u64>>();
        for p in &pr.policies {
            for (a, n) in p.last_run.iter().flat_map(|r| &r.rows_by_action) {
                *pr.rows_by_action.entry(a.clone()).or_default() += n;
            }
        }
        for p in &pr.policies {
            for c in &p.coverage.not_covered {
                let covered_here = pr
                    .policies
                    .iter()
                    .any(|o| o.table == p.table && o.coverage.covered.contains(c));
                let gap = format!("{}.{c}", p.table);
                if !covered_here && !pr.gaps.contains(&gap) {
                    pr.gaps.push(gap);
                }
            }
        }
        pr.verdict = verdict(pr, &audit_state);
    }
    Ok(EvidenceReport {
        generated_at: rfc3339(Utc::now()),
        config: config.path.display().to_string(),
        audit: audit_state,
        promises,
    })
}

/// One sentence: kept, or the first reason it is not.
fn verdict(pr: &Promise, audit: &AuditState) -> String {
    if pr.kept {
        return "kept: no row violates it now and every last run completed".into();
    }
    let mut why = Vec::new();
    if !audit.intact {
        why.push("the audit trail does not verify".to_string());
    }
    for p in &pr.policies {
        match (&p.live.violations, &p.live.error) {
            (Some(0), _) => {}
            (Some(n), _) => why.push(format!("{n} rows violate policy {} now", p.name)),
            (None, Some(e)) => why.push(format!("policy {} could not be checked: {e}", p.name)),
            (None, None) => why.push(format!("policy {} could not be checked", p.name)),
        }
        match &p.last_run {
            None => why.push(format!("policy {} has never run", p.name)),
            Some(r) if r.outcome != "completed" => {
                why.push(format!("the last run of policy {} {}", p.name, r.outcome))
            }
            Some(_) => {}
        }
    }
    format!("NOT kept: {}", why.join("; "))
}

/// The policy's coverage of its table's personal-data columns in the inventory.
fn coverage(
    config: &Config,
    p: &PolicyConfig,
    columns: &[crate::inventory::ColumnRecord],
) -> Coverage {
    let (schema, table) = p.table_parts();
    let of_table: Vec<_> = columns
        .iter()
        .filter(|c| c.dropped_at.is_none())
        .filter(|c| {
            c.key.source == p.source
                && c.key.table == table
                && schema.is_none_or(|s| s == c.key.schema)
        })
        .collect();
    let personal: Vec<_> = of_table.iter().filter(|c| c.is_personal()).collect();
    let mut covered = Vec::new();
    let mut not_covered = Vec::new();
    for c in &personal {
        let by = covered_by(
            &config.policies,
            &c.key.source,
            &c.key.schema,
            &c.key.table,
            &c.key.column,
        );
        if by.contains(&p.name.as_str()) {
            covered.push(c.key.column.clone());
        } else {
            not_covered.push(c.key.column.clone());
        }
    }
    let not_personal = if p.action == Action::Delete {
        Vec::new()
    } else {
        p.columns
            .iter()
            .filter(|col| !personal.iter().any(|c| &c.key.column == *col))
            .cloned()
            .collect()
    };
    Coverage {
        in_inventory: !of_table.is_empty(),
        personal_columns: personal.iter().map(|c| c.key.column.clone()).collect(),
        covered,
        not_covered,
        not_personal,
    }
}

/// The policy's latest run in the trail: its run_finished record (or `unfinished`), batches and
/// cascaded rows.
fn last_run(recs: &[AuditRecord], p: &PolicyConfig) -> Option<LastRun> {
    let last = recs
        .iter()
        .rev()
        .find(|r| r.policy == p.name && (r.kind == "run_started" || r.kind == "run_finished"))?;
    let run: Vec<&AuditRecord> = recs.iter().filter(|r| r.run_id == last.run_id).collect();
    let finished = run.iter().rev().find(|r| r.kind == "run_finished");
    let started = run.iter().find(|r| r.kind == "run_started");
    let batches: Vec<&&AuditRecord> = run.iter().filter(|r| r.kind == "batch").collect();
    let mut cascaded = BTreeMap::new();
    for b in &batches {
        for (t, n) in &b.cascaded {
            *cascaded.entry(t.clone()).or_default() += n;
        }
    }
    let rows = match finished {
        Some(f) => f.rows_affected,
        None => batches.iter().map(|b| b.rows_affected).sum(),
    };
    let first = started.or(finished).expect("the run has one of them");
    Some(LastRun {
        run_id: last.run_id.clone(),
        started_at: first.started_at.clone(),
        finished_at: finished.and_then(|f| f.finished_at.clone()),
        outcome: finished
            .map(|f| f.outcome.clone())
            .unwrap_or_else(|| "unfinished".into()),
        error: finished.and_then(|f| f.error.clone()),
        cutoff: last.cutoff.clone(),
        batches: batches.len(),
        rows_by_action: BTreeMap::from([(last.action.clone(), rows)]),
        cascaded,
        held: started.and_then(|s| s.held),
    })
}

/// Counts, read-only, the rows that violate the policy now, with the run's own predicate.
async fn live_check(config: &Config, p: &PolicyConfig) -> LiveCheck {
    let now = Utc::now();
    let cutoff = p.retain().cutoff(now);
    let mut live = LiveCheck {
        counted_at: rfc3339(now),
        cutoff: rfc3339(cutoff),
        violations: None,
        held: None,
        invalid_clock: None,
        error: None,
    };
    match count_live(config, p, cutoff).await {
        Ok((violations, held, invalid)) => {
            live.violations = Some(violations);
            live.held = Some(held);
            live.invalid_clock = Some(invalid);
            live.counted_at = rfc3339(Utc::now());
        }
        Err(e) => live.error = Some(e.to_string()),
    }
    live
}

async fn count_live(
    config: &Config,
    p: &PolicyConfig,
    cutoff: DateTime<Utc>,
) -> Result<(u64, u64, u64)> {
    let source = Source::connect(config.source(&p.source)?, &config.scan, Access::ReadOnly).await?;
    let res = async {
        let plan = Plan::prepare(&source, p, cutoff).await?;
        let eligible = count(&source, &plan.count_stmt(|p, q| p.push_eligible(q))).await?;
        let qualifying = count(
            &source,
            &plan.count_stmt(|p, q| {
                p.push_expired(q);
                q.push(" AND ");
                p.push_pending(q);
            }),
        )
        .await?;
        let invalid = count(&source, &plan.count_stmt(|p, q| p.push_invalid_clock(q))).await?;
        Ok::<_, Error>((eligible, qualifying.saturating_sub(eligible), invalid))
    }
    .await;
    source.close().await;
    res
}

async fn count(source: &Source, q: &crate::retention::sql::Stmt) -> Result<u64> {
    let rows = source.fetch_rows(&q.sql, &q.binds).await?;
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Other("COUNT(*) returned no number".into()))
}

impl EvidenceReport {
    /// Writes the report in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> Result<()> {
        let io = |e: std::io::Error| Error::Other(format!("cannot write the report: {e}"));
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)
                    .map_err(|e| Error::Other(format!("cannot write the report: {e}")))?;
                writeln!(out).map_err(io)
            }
            Format::Csv => self.write_csv(out),
            Format::Html => html::write(self, out),
        }
    }

    /// One row per policy, its promise's verdict repeated on each.
    fn write_csv(&self, out: &mut dyn Write) -> Result<()> {
        let e = |e: csv::Error| Error::Other(format!("cannot write the report: {e}"));
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "promise",
            "promise_kept",
            "verdict",
            "policy",
            "policy_kept",
            "source",
            "table",
            "action",
            "columns",
            "retain",
            "filter",
            "legal_hold",
            "personal_columns",
            "covered",
            "not_covered",
            "last_run_id",
            "last_run_finished_at",
            "last_run_outcome",
            "last_run_rows",
            "last_run_cascaded",
            "violations",
            "held",
            "invalid_clock",
            "counted_at",
            "live_error",
            "audit_head",
            "audit_intact",
        ])
        .map_err(e)?;
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        for pr in &self.promises {
            for p in &pr.policies {
                let r = p.last_run.as_ref();
                w.write_record([
                    pr.promise.clone(),
                    pr.kept.to_string(),
                    pr.verdict.clone(),
                    p.name.clone(),
                    p.kept.to_string(),
                    p.source.clone(),
                    p.table.clone(),
                    p.action.clone(),
                    p.columns.join(";"),
                    p.retain.clone(),
                    p.filter.clone().unwrap_or_default(),
                    p.legal_hold.clone().unwrap_or_default(),
                    p.coverage.personal_columns.join(";"),
                    p.coverage.covered.join(";"),
                    p.coverage.not_covered.join(";"),
                    r.map(|r| r.run_id.clone()).unwrap_or_default(),
                    r.and_then(|r| r.finished_at.clone()).unwrap_or_default(),
                    r.map(|r| r.outcome.clone()).unwrap_or_default(),
                    r.map(|r| r.rows_by_action.values().sum::<i64>().to_string())
                        .unwrap_or_default(),
                    r.map(|r| {
                        r.cascaded
                            .iter()
                            .map(|(t, n)| format!("{t}={n}"))
                            .collect::<Vec<_>>()
                            .join(";")
                    })
                    .unwrap_or_default(),
                    opt(p.live.violations),
                    opt(p.live.held),
                    opt(p.live.invalid_clock),
                    p.live.counted_at.clone(),
                    p.live.error.clone().unwrap_or_default(),
                    self.audit.head.clone().unwrap_or_default(),
                    self.audit.intact.to_string(),
                ])
                .map_err(e)?;
            }
        }
        w.flush()
            .map_err(|e| Error::Other(format!("cannot write the report: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PolicyConfig {
        toml::from_str(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             timestamp_column = \"ts\"\nretain = \"90d\"\naction = \"delete\"\n",
        )
        .unwrap()
    }

    fn rec(run: &str, kind: &str, outcome: &str, rows: i64) -> AuditRecord {
        AuditRecord {
            run_id: run.into(),
            kind: kind.into(),
            policy: "p".into(),
            action: "delete".into(),
            started_at: format!("{run}-start"),
            outcome: outcome.into(),
            rows_affected: rows,
            ..Default::default()
        }
    }

    #[test]
    fn the_last_run_is_the_latest_and_an_unfinished_one_says_so() {
        let mut b = rec("r2", "batch", "committed", 4);
        b.cascaded = BTreeMap::from([("public.orders".into(), 3)]);
        let mut b2 = rec("r2", "batch", "committed", 5);
        b2.cascaded = BTreeMap::from([("public.orders".into(), 2)]);
        let mut started = rec("r2", "run_started", "started", 9);
        started.held = Some(2);
        let mut recs = vec![
            rec("r1", "run_started", "started", 1),
            rec("r1", "run_finished", "completed", 1),
            started,
            b,
            b2,
        ];
        let r = last_run(&recs, &policy()).unwrap();
        assert_eq!(r.run_id, "r2");
        assert_eq!(r.outcome, "unfinished");
        assert_eq!(r.batches, 2);
        assert_eq!(r.rows_by_action["delete"], 9);
        assert_eq!(r.cascaded["public.orders"], 5);
        assert_eq!(r.held, Some(2));
        recs.push(rec("r2", "run_finished", "completed", 9));
        assert_eq!(last_run(&recs, &policy()).unwrap().outcome, "completed");
        // A braked run writes only its run_finished record.
        recs.push(rec("r3", "run_finished", "braked", 0));
        let r = last_run(&recs, &policy()).unwrap();
        assert_eq!((r.outcome.as_str(), r.batches), ("braked", 0));
        assert!(last_run(&recs[..0], &policy()).is_none());
    }
}
