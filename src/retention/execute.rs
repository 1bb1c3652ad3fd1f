//! Running a policy: one runner per policy (advisory lock), the safety brake, key-ordered batches
//! each in its own transaction with lock and statement timeouts, a checkpoint and an audit record
//! after each batch, resume after a kill, and the dry-run preview.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::audit::{self, AuditRecord, CheckpointChange};
use super::checkpoint::{self, Checkpoint, PendingBatch};
use super::crypto::{envelope_len, is_envelope, Sealer};
use super::keys::{pseudonym_key, Keyring};
use super::mask::{is_masked, Masker};
use super::plan::Plan;
use super::pseudonym::{is_pseudonym, Pseudonymizer};
use super::sql::Stmt;
use crate::config::{Action, Config, PolicyConfig, BATCH_TIME_BUDGET};
use crate::error::{Error, Result};
use crate::sources::{Access, Source, Tx, READBACK_HASH_ABOVE};
use crate::stop::Stop;
use crate::store::Store;

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Change nothing anywhere (no audit, no checkpoint); fill [`RunReport::preview`].
    pub dry_run: bool,
    /// Run even when the safety brake (max_rows / max_share) would stop the policy.
    pub override_brake: bool,
    /// The instant the cutoff is computed from (default: now). A resumed run keeps its cutoff.
    pub now: Option<DateTime<Utc>>,
    /// Told when the batches start and after each committed batch (progress bars, log lines).
    pub progress: Option<std::sync::Arc<dyn crate::progress::BatchObserver>>,
    /// Dry run: how many keys of rows that would be acted on to show (0: the default, 10).
    pub sample_keys: u32,
    /// The daemon's claim on this run: every checkpoint and audit write checks it
    /// (see [`crate::store::Fence`]).
    pub fence: Option<crate::store::Fence>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every qualifying row was handled.
    Completed,
    /// A stop was requested; the checkpoint lets the next run resume.
    Stopped,
    /// The safety brake stopped the run before any change.
    Braked,
    /// Another process runs this policy.
    Locked,
    /// Dry run: nothing changed.
    DryRun,
}

/// What a dry run would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Rows past the cutoff that match the filter (and still need the action).
    pub qualifying: u64,
    /// Of those, rows excluded by a legal hold.
    pub held: u64,
    /// Rows the filter selects whose clock is NULL, a zero date, infinite or unparsable: never
    /// acted on.
    pub invalid_clock: u64,
    /// Keys of the first rows that would be acted on, in key order (10, or
    /// [`RunOptions::sample_keys`]; keys only, never personal values).
    pub sample_keys: Vec<Vec<String>>,
    /// The statements each batch runs (placeholders unbound).
    pub statements: Vec<String>,
    /// Foreign-key effects of deletes: every referencing foreign key with its ON DELETE rule, and
    /// those of the tables a delete removes rows from in turn.
    pub fk_effects: Vec<String>,
    /// The safety brake's message when the real run would stop at it (`None`: it would run).
    pub brake: Option<String>,
    /// Estimated rows removed or changed in other tables (per `schema.table`): the rows that
    /// reference the eligible rows, through the foreign keys that change rows.
    pub cascaded: BTreeMap<String, u64>,
    /// The table's triggers (`name: TIMING EVENTS`).
    pub triggers: Vec<String>,
}

/// The result of [`run_policy`].
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Policy name.
    pub policy: String,
    /// Run id (reused when a killed run resumes).
    pub run_id: String,
    /// The cutoff (RFC 3339).
    pub cutoff: String,
    /// Rows deleted or updated in this run (including batches before a resume).
    pub rows_affected: u64,
    /// Batches committed (including batches before a resume).
    pub batches: u64,
    /// Rows eligible when the run started (after holds).
    pub eligible: u64,
    /// True when the run continued a checkpoint.
    pub resumed: bool,
    /// How it ended.
    pub outcome: Outcome,
    /// The longest batch transaction.
    pub longest_batch_ms: u64,
    /// Dry-run details.
    pub preview: Option<Preview>,
    /// Rows removed or changed in other tables by this process's batches, per `schema.table`
    /// (ON DELETE CASCADE / SET NULL / SET DEFAULT, `delete_children`, and their cascades).
    pub cascaded: BTreeMap<String, u64>,
    /// Preflight warnings (triggers that change what the run does).
    pub warnings: Vec<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn count(source: &Source, q: &Stmt) -> Result<u64> {
    let rows = source.fetch_rows(&q.sql, &q.binds).await?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Per-column value transformer of a run.
enum Transform {
    Encrypt(Vec<Sealer>),
    Pseudonymize(Pseudonymizer),
    Mask(Box<Masker>),
    /// A subject erasure in free text: only the person's spans change (masked, or pseudonymized
    /// when the action is pseudonymize).
    Spans(Box<crate::subject::SpanEraser>, Option<Pseudonymizer>),
    None,
}

impl Transform {
    fn new(config: &Config, plan: &Plan) -> Result<(Transform, Option<String>)> {
        let p = &plan.policy;
        if let Some(scope) = p.subject.as_ref().filter(|s| !s.spans.is_empty()) {
            let engine = crate::detect::Engine::load(config.detectors_dir.as_deref())?;
            let eraser = crate::subject::SpanEraser::new(engine, scope.spans.clone());
            return Ok(match p.action {
                Action::Pseudonymize => {
                    let key = pseudonym_key(&config.keys)?.ok_or_else(|| Error::Refused {
                        policy: p.name.clone(),
                        message: "action \"pseudonymize\" needs [keys] pseudonym".into(),
                    })?;
                    let id = key.id().to_string();
                    (
                        Transform::Spans(Box::new(eraser), Some(Pseudonymizer::new(&key))),
                        Some(id),
                    )
                }
                _ => (Transform::Spans(Box::new(eraser), None), None),
            });
        }
        Ok(match p.action {
            Action::Encrypt => {
                let ring = Keyring::load(&config.keys)?;
                let key = ring.active.ok_or_else(|| Error::Refused {
                    policy: p.name.clone(),
                    message: "action \"encrypt\" needs [keys] encryption".into(),
                })?;
                let sealers = plan
                    .columns
                    .iter()
                    .map(|c| Sealer::new(&key, &plan.table.table.name, &c.name))
                    .collect();
                (Transform::Encrypt(sealers), Some(key.id().to_string()))
            }
            Action::Pseudonymize => {
                let key = pseudonym_key(&config.keys)?.ok_or_else(|| Error::Refused {
                    policy: p.name.clone(),
                    message: "action \"pseudonymize\" needs [keys] pseudonym".into(),
                })?;
                (
                    Transform::Pseudonymize(Pseudonymizer::new(&key)),
                    Some(key.id().to_string()),
                )
            }
            Action::Mask => {
                let engine = crate::detect::Engine::load(config.detectors_dir.as_deref())?;
                (Transform::Mask(Box::new(Masker::new(engine))), None)
            }
            Action::Nullify | Action::Delete => (Transform::None, None),
        })
    }

    /// The new value of column `ci`, or `None` when the value is NULL or already transformed.
    fn apply(&mut self, plan: &Plan, ci: usize, value: Option<&str>) -> Result<Option<String>> {
        let Some(v) = value else { return Ok(None) };
        let mut out = String::new();
        match self {
            Transform::Encrypt(s) => {
                if is_envelope(v) {
                    return Ok(None);
                }
                let col = &plan.columns[ci];
                if let Some(max) = col.max_length {
                    if envelope_len(v.len()) as i64 > max {
                        return Err(Error::Policy {
                            policy: plan.policy.name.clone(),
                            message: format!(
                                "a value of column `{}` encrypts to {} characters but the column holds {max}: \
                                 widen the column; this batch was rolled back",
                                col.name,
                                envelope_len(v.len())
                            ),
                        });
                    }
                }
                s[ci].seal_into(v.as_bytes(), &mut out)?;
            }
            Transform::Pseudonymize(p) => {
                if is_pseudonym(v) {
                    return Ok(None);
                }
                p.pseudonym_into(v, &mut out);
            }
            Transform::Mask(m) => {
                if is_masked(v) {
                    return Ok(None);
                }
                m.mask_into(v, &mut out);
            }
            Transform::Spans(eraser, pseudo) => {
                return Ok(eraser.erase(v, &mut |category, span| match pseudo {
                    Some(p) => p.pseudonym(span),
                    None => crate::detect::mask(category, span),
                }));
            }
            Transform::None => return Ok(None),
        }
        Ok(Some(out))
    }
}

/// What the preflight scan ([`Plan::preflight_stmt`]) found.
struct Preflight {
    total: u64,
    eligible: u64,
    /// Per transformed column, the longest value (bytes) still to encrypt.
    longest: Vec<Option<u64>>,
    /// PostgreSQL, and the key is one integer column whose values fill at least half of their
    /// range: delete and nullify batches go by key range ([`Plan::range_start`]).
    dense_key: bool,
}

async fn preflight(source: &Source, plan: &Plan) -> Result<Preflight> {
    let q = plan.preflight_stmt();
    let rows = source.fetch_rows(&q.sql, &q.binds).await?;
    let field = |i: usize| rows.first().and_then(|r| r.get(i).cloned().flatten());
    let num = |i: usize| field(i).and_then(|s| s.parse::<u64>().ok());
    let int = |i: usize| field(i).and_then(|s| s.parse::<i64>().ok());
    let n = plan.columns.len();
    let total = num(0).unwrap_or(0);
    let dense_key = match (plan.integer_key_max(), int(2 + n), int(3 + n)) {
        (Some(_), Some(lo), Some(hi)) => {
            plan.dialect.writable_cte() && i128::from(hi) - i128::from(lo) < 2 * i128::from(total)
        }
        _ => false,
    };
    Ok(Preflight {
        total,
        eligible: num(1).unwrap_or(0),
        longest: (0..n).map(|ci| num(2 + ci)).collect(),
        dense_key,
    })
}

/// The safety brake's verdict on a preflight: `Some(message)` when the run would affect more rows
/// than the policy allows ([`PolicyConfig::brake`]: `max_rows`, `max_share`, or the default brake
/// of deletes).
fn brake(p: &PolicyConfig, pre: &Preflight) -> Option<String> {
    let (max_rows, max_share) = p.brake();
    let (total, eligible) = (pre.total, pre.eligible);
    let share = if total == 0 {
        0.0
    } else {
        eligible as f64 / total as f64
    };
    let over_rows = max_rows.is_some_and(|m| eligible > m);
    let over_share = max_share.is_some_and(|m| share > m);
    if !(over_rows || over_share) {
        return None;
    }
    let limits =
        if p.max_rows.is_none() && p.max_share.is_none() {
            format!(
                "the default brake of delete policies (at most {:.0}% of the table per run); \
             check the policy, then set max_share = 1.0 (or max_rows) to allow it, or rerun with \
             --override-brake",
                max_share.unwrap_or(1.0) * 100.0
            )
        } else {
            format!(
            "max_rows = {} / max_share = {}; check the policy, then rerun with --override-brake",
            max_rows.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
            max_share.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
        )
        };
    Some(format!(
        "safety brake: {eligible} of {total} rows ({:.1}%) would be affected, over {limits}",
        share * 100.0
    ))
}

/// Refuses an encrypt run whose longest pending value would not fit its column once encrypted,
/// before the first batch rather than midway.
fn check_lengths(plan: &Plan, pre: &Preflight) -> Result<()> {
    for (c, longest) in plan.columns.iter().zip(&pre.longest) {
        let (Some(max), Some(longest)) = (c.max_length, *longest) else {
            continue;
        };
        let longest = longest as usize;
        let need = envelope_len(longest);
        if longest > 0 && need as i64 > max {
            return Err(Error::Refused {
                policy: plan.policy.name.clone(),
                message: format!(
                    "column `{}` holds {max} characters but its longest value to encrypt ({longest} bytes) \
                     needs {need}: widen the column (e.g. to varchar({need})) before enforcing",
                    c.name
                ),
            });
        }
    }
    Ok(())
}

/// Runs one policy: preflight, brake, batches (or a preview when `opts.dry_run`). `stop` is checked
/// between batches; the batch in flight commits and the checkpoint lets the next run resume.
pub async fn run_policy(
    config: &Config,
    policy: &PolicyConfig,
    opts: &RunOptions,
    stop: &Stop,
) -> Result<RunReport> {
    let src_cfg = config.source(&policy.source)?;
    let access = if opts.dry_run {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let source = Source::connect(src_cfg, &config.scan, access).await?;
    let result = run_on(config, &source, policy, opts, stop).await;
    source.close().await;
    result
}

/// The dry run of `policy` on an already connected (read-only) `source`: everything
/// `enforce --dry-run` checks (the preflight of [`Plan::prepare`], the keys, the preflight scan,
/// the length check, the safety brake and the database's check of a first batch), changing
/// nothing. `check-config --connect` runs it for every policy.
pub async fn dry_run_on(
    config: &Config,
    source: &Source,
    policy: &PolicyConfig,
) -> Result<RunReport> {
    let opts = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    run_on(config, source, policy, &opts, &Stop::new()).await
}

async fn run_on(
    config: &Config,
    source: &Source,
    policy: &PolicyConfig,
    opts: &RunOptions,
    stop: &Stop,
) -> Result<RunReport> {
    let store = if opts.dry_run {
        // A dry run leaves no inventory behind, and reads a checkpoint only when one exists.
        Store::open_existing(&config.inventory.url)
            .await
            .ok()
            .flatten()
    } else {
        Some(
            Store::open(&config.inventory.url)
                .await?
                .fenced(opts.fence.clone()),
        )
    };
    let cp = match &store {
        Some(s) => checkpoint::load(s, &policy.name).await.or_else(|e| {
            if opts.dry_run {
                Ok(None)
            } else {
                Err(e)
            }
        })?,
        None => None,
    };
    let now = opts.now.unwrap_or_else(Utc::now);
    let (cutoff, run_id) = match &cp {
        Some(c) => (
            DateTime::parse_from_rfc3339(&c.cutoff)
                .map_err(|e| Error::Inventory(format!("checkpoint cutoff: {e}")))?
                .with_timezone(&Utc),
            c.run_id.clone(),
        ),
        None => (
            policy.retain().cutoff(now),
            format!("{}-{}", policy.name, now.format("%Y%m%dT%H%M%S%.6fZ")),
        ),
    };
    let early = EarlyEnd {
        store: store.as_ref().filter(|_| !opts.dry_run),
        policy,
        run_id: &run_id,
        cutoff: rfc3339(cutoff),
        rows: cp.as_ref().map_or(0, |c| c.rows_affected),
    };
    let plan = match Plan::prepare(source, policy, cutoff).await {
        Ok(plan) => plan,
        Err(e) => return Err(early.record(e).await),
    };
    let mut report = RunReport {
        policy: policy.name.clone(),
        run_id: run_id.clone(),
        cutoff: rfc3339(cutoff),
        rows_affected: cp.as_ref().map(|c| c.rows_affected as u64).unwrap_or(0),
        batches: cp.as_ref().map(|c| c.batches as u64).unwrap_or(0),
        eligible: 0,
        resumed: cp.is_some(),
        outcome: Outcome::Completed,
        longest_batch_ms: 0,
        preview: None,
        cascaded: BTreeMap::new(),
        warnings: plan.warnings.clone(),
    };
    // Keys are part of the preflight: a missing, short or unreadable key refuses the policy in
    // the dry run as in the run.
    let transform = match Transform::new(config, &plan).map_err(|e| match e {
        Error::Refused { .. } => e,
        e => Error::Refused {
            policy: policy.name.clone(),
            message: e.to_string(),
        },
    }) {
        Ok(t) => t,
        Err(e) => return Err(early.record(e).await),
    };
    for w in &plan.warnings {
        tracing::warn!(policy = %policy.name, "{w}");
    }
    if opts.dry_run {
        report.preview = Some(
            preview(source, &plan, opts)
                .await
                .map_err(|e| as_refusal(&plan, e))?,
        );
        report.eligible = report
            .preview
            .as_ref()
            .map(|p| p.qualifying - p.held)
            .unwrap_or(0);
        report.outcome = Outcome::DryRun;
        if let Some(s) = store {
            s.close().await;
        }
        return Ok(report);
    }
    let store = store.expect("opened for writing");
    let Some(lock) = source.try_lock(&format!("policy:{}", policy.name)).await? else {
        report.outcome = Outcome::Locked;
        // This runner did nothing: the checkpoint's counts belong to the runner holding the lock.
        report.rows_affected = 0;
        report.batches = 0;
        report.resumed = false;
        tracing::warn!(policy = %policy.name, "another process is enforcing this policy; skipped");
        return Ok(report);
    };
    let result = execute(
        transform,
        source,
        &store,
        &plan,
        opts,
        stop,
        cp.as_ref(),
        &mut report,
    )
    .await;
    let _ = lock.release().await;
    publish_head(config, &store, &report).await;
    store.close().await;
    result.map(|()| report)
}

/// A run that ends before it has a plan and a transform: refused by [`Plan::prepare`] (table,
/// columns, keys, foreign keys) or by its keys, or failed there. [`EarlyEnd::record`] appends its
/// `run_finished` record (outcome `refused`, or `failed` for other errors), so that the audit
/// trail tells a policy that fails at every run from one that never ran. Dry runs record nothing.
struct EarlyEnd<'a> {
    /// `None` in dry runs.
    store: Option<&'a Store>,
    policy: &'a PolicyConfig,
    run_id: &'a str,
    cutoff: String,
    /// Rows of a resumed run's earlier batches.
    rows: i64,
}

impl EarlyEnd<'_> {
    /// Appends the record and returns `e`. A record that cannot be written is logged; the run's
    /// own error is returned either way.
    async fn record(&self, e: Error) -> Error {
        let Some(store) = self.store else { return e };
        let p = self.policy;
        let now = rfc3339(Utc::now());
        let mut r = AuditRecord {
            run_id: self.run_id.to_string(),
            kind: "run_finished".into(),
            policy: p.name.clone(),
            description: p.description.clone(),
            source: p.source.clone(),
            table_name: p.table.clone(),
            action: p.action.as_str().into(),
            columns: p.columns.clone(),
            cutoff: self.cutoff.clone(),
            rows_affected: self.rows,
            started_at: now.clone(),
            finished_at: Some(now),
            outcome: if matches!(e, Error::Refused { .. }) {
                "refused".into()
            } else {
                "failed".into()
            },
            error: Some(e.to_string()),
            ..Default::default()
        };
        if let Err(ae) = audit::append(store, &mut r, CheckpointChange::Keep).await {
            tracing::error!(policy = %p.name, "cannot record the refused run in the audit trail: {ae}");
        }
        e
    }
}

/// Publishes the audit chain head after a run, outside the inventory: in the run's log line
/// (the journal under systemd) and, with `[audit] anchor_file`, as one appended line. A head
/// that cannot be published is logged as an error; the run's outcome stands.
async fn publish_head(config: &Config, store: &Store, report: &RunReport) {
    let head = match audit::head(store).await {
        Ok(Some(h)) => h,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(policy = %report.policy, "cannot read the audit chain head: {e}");
            return;
        }
    };
    tracing::info!(
        policy = %report.policy,
        run_id = %report.run_id,
        head = %head,
        "audit chain head {head}"
    );
    if let Some(path) = &config.audit.anchor_file {
        let line = audit::anchor_line(&rfc3339(Utc::now()), &report.policy, &report.run_id, &head);
        if let Err(e) = audit::append_anchor(path, &line) {
            tracing::error!(
                policy = %report.policy,
                "cannot append the audit chain head {head} to the anchor file: {e}; \
                 `audit verify` will not know this run's head: make the file writable"
            );
        }
    }
}

/// The legal holds of a policy as recorded in its audit records: the `legal_hold` predicate as
/// written and each `holds` column with its number of values (never the values).
fn holds_text(p: &PolicyConfig) -> Option<String> {
    let mut parts: Vec<String> = p.legal_hold.iter().cloned().collect();
    for h in p.holds.iter().filter(|h| !h.values.is_empty()) {
        parts.push(format!("{} in {} held values", h.column, h.values.len()));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn base_record(plan: &Plan, report: &RunReport, key_id: &Option<String>) -> AuditRecord {
    let p = &plan.policy;
    AuditRecord {
        run_id: report.run_id.clone(),
        policy: p.name.clone(),
        description: p.description.clone(),
        source: p.source.clone(),
        table_name: p.table.clone(),
        action: p.action.as_str().into(),
        columns: p.columns.clone(),
        key_id: key_id.clone(),
        cutoff: report.cutoff.clone(),
        filter: p.filter.clone(),
        legal_hold: holds_text(p),
        ..Default::default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    transform: (Transform, Option<String>),
    source: &Source,
    store: &Store,
    plan: &Plan,
    opts: &RunOptions,
    stop: &Stop,
    cp: Option<&Checkpoint>,
    report: &mut RunReport,
) -> Result<()> {
    let p = &plan.policy;
    let (mut transform, key_id) = transform;
    let run_started = rfc3339(Utc::now());
    let finish = |report: &RunReport, outcome: &str, error: Option<String>| {
        let mut r = base_record(plan, report, &key_id);
        r.kind = "run_finished".into();
        r.rows_affected = report.rows_affected as i64;
        r.started_at = run_started.clone();
        r.finished_at = Some(rfc3339(Utc::now()));
        r.outcome = outcome.into();
        r.error = error;
        r
    };
    let resolved;
    let cp = match cp.filter(|c| c.pending.is_some()) {
        Some(c) => {
            resolved = resolve_pending(source, store, plan, c, report, &key_id).await?;
            Some(&resolved)
        }
        None => cp,
    };
    // Preflight on data and the brake, before anything changes.
    let mut dense_key = false;
    let pre = async {
        let pre = preflight(source, plan).await?;
        check_lengths(plan, &pre)?;
        dense_key = pre.dense_key;
        report.eligible = pre.eligible;
        if opts.override_brake {
            return Ok::<_, Error>(None);
        }
        Ok(brake(p, &pre))
    }
    .await;
    let brake = match pre.map_err(|e| as_refusal(plan, e)) {
        Ok(b) => b,
        Err(e) => {
            let mut r = finish(report, "refused", Some(e.to_string()));
            audit::append(store, &mut r, CheckpointChange::Keep).await?;
            return Err(e);
        }
    };
    if let Some(msg) = brake {
        let mut r = finish(report, "braked", Some(msg.clone()));
        audit::append(store, &mut r, CheckpointChange::Keep).await?;
        report.outcome = Outcome::Braked;
        tracing::error!(policy = %p.name, "{msg}");
        return Ok(());
    }
    let mut start = base_record(plan, report, &key_id);
    start.kind = "run_started".into();
    start.started_at = run_started.clone();
    start.outcome = if report.resumed {
        "resumed".into()
    } else {
        "started".into()
    };
    start.rows_affected = report.eligible as i64;
    start.warnings = plan.warnings.clone();
    start.held = Some(held_rows(source, plan, report.eligible).await?);
    let mut checkpoint = Checkpoint {
        policy: p.name.clone(),
        run_id: report.run_id.clone(),
        cutoff: report.cutoff.clone(),
        last_key: cp.and_then(|c| c.last_key.clone()),
        rows_affected: report.rows_affected as i64,
        batches: report.batches as i64,
        pending: None,
    };
    audit::append(store, &mut start, CheckpointChange::Save(&checkpoint)).await?;
    let rows_total = report.rows_affected + report.eligible;
    if let Some(o) = &opts.progress {
        o.started(&p.name, report.rows_affected, rows_total);
    }
    let mut last = checkpoint.last_key.as_deref().map(parse_key).transpose()?;
    let nkey = plan.key.len();
    let locking = p.action != Action::Delete && p.action != Action::Nullify;
    let mut sizer = BatchSizer::new(p);
    loop {
        if stop.is_requested() && rows_left(source, plan, last.as_deref()).await? {
            let mut r = finish(report, "stopped", None);
            audit::append(store, &mut r, CheckpointChange::Keep).await?;
            report.outcome = Outcome::Stopped;
            return Ok(());
        }
        let batch_started = Utc::now();
        let t0 = Instant::now();
        let size = sizer.size;
        let res = run_batch(
            source,
            plan,
            &mut transform,
            last.as_deref(),
            locking,
            nkey,
            size,
            dense_key,
        )
        .await;
        let committed = match res {
            Ok(Some((tx, batch))) => {
                commit_batch(store, &mut checkpoint, tx, &batch, batch_started)
                    .await
                    .map(|()| Some(batch))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let Batch {
            first,
            upto,
            affected,
            selected,
            cascaded,
        } = match committed {
            Ok(Some(x)) => x,
            Ok(None) => break,
            Err(e) => {
                let e = batch_error(plan, report.batches + 1, e);
                let mut r = finish(report, "failed", Some(e.to_string()));
                audit::append(store, &mut r, CheckpointChange::Keep).await?;
                return Err(e);
            }
        };
        let took = t0.elapsed();
        report.longest_batch_ms = report.longest_batch_ms.max(took.as_millis() as u64);
        sizer.observe(took, selected);
        tracing::debug!(
            policy = %p.name,
            batch = report.batches + 1,
            size,
            selected,
            affected,
            ms = took.as_millis() as u64,
            next_size = sizer.size,
            "batch committed"
        );
        report.rows_affected += affected;
        report.batches += 1;
        checkpoint.last_key = Some(serde_json::to_string(&upto).expect("serializable"));
        checkpoint.rows_affected = report.rows_affected as i64;
        checkpoint.batches = report.batches as i64;
        checkpoint.pending = None;
        let mut r = base_record(plan, report, &key_id);
        r.kind = "batch".into();
        r.batch = Some(report.batches as i64);
        r.rows_affected = affected as i64;
        for (t, n) in &cascaded {
            *report.cascaded.entry(t.clone()).or_default() += n;
        }
        r.cascaded = cascaded
            .iter()
            .map(|(t, n)| (t.clone(), *n as i64))
            .collect();
        r.key_first = first;
        r.key_last = upto.clone();
        r.started_at = rfc3339(batch_started);
        r.finished_at = Some(rfc3339(Utc::now()));
        r.outcome = "committed".into();
        audit::append(store, &mut r, CheckpointChange::Save(&checkpoint)).await?;
        if let Some(o) = &opts.progress {
            let done = crate::progress::BatchDone {
                batch: report.batches,
                rows: affected,
                rows_done: report.rows_affected,
                rows_total,
                took,
            };
            o.batch(&p.name, &done);
        }
        last = Some(upto);
        let pause = p.pause();
        if pause > Duration::ZERO && !stop.is_requested() {
            tokio::time::sleep(pause).await;
        }
    }
    let mut r = finish(report, "completed", None);
    audit::append(store, &mut r, CheckpointChange::Clear(&p.name)).await?;
    Ok(())
}

/// A preflight that fails is a refusal naming the policy and table, unless a retry can fix it
/// (a lost connection, a lock timeout).
fn as_refusal(plan: &Plan, e: Error) -> Error {
    if e.is_retryable() || e.is_refusal() {
        return e;
    }
    Error::Refused {
        policy: plan.policy.name.clone(),
        message: format!("preflight on {}: {e}", plan.table.table),
    }
}

/// Rows past the cutoff that match the filter and still need the action, but are held by a legal
/// hold (0 without holds, without a query).
async fn held_rows(source: &Source, plan: &Plan, eligible: u64) -> Result<i64> {
    let p = &plan.policy;
    if p.legal_hold.is_none() && p.holds.iter().all(|h| h.values.is_empty()) {
        return Ok(0);
    }
    let qualifying = count(
        source,
        &plan.count_stmt(|p, q| {
            p.push_expired(q);
            q.push(" AND ");
            p.push_pending(q);
        }),
    )
    .await?;
    Ok(qualifying.saturating_sub(eligible) as i64)
}

/// True when an eligible row is left after `last` (a stop that comes after the last batch leaves
/// a completed run, not a stopped one).
async fn rows_left(source: &Source, plan: &Plan, last: Option<&[String]>) -> Result<bool> {
    let q = plan.batch_end(last, 1);
    Ok(!source.fetch_rows(&q.sql, &q.binds).await?.is_empty())
}

/// A failed batch as an error that names the policy and the table (a database error alone, such as
/// a foreign-key violation, would not say which policy or what was rolled back).
fn batch_error(plan: &Plan, batch: u64, e: Error) -> Error {
    if matches!(e, Error::Policy { .. } | Error::Refused { .. }) {
        return e;
    }
    let message = format!(
        "batch {batch} on {} failed and was rolled back ({e}); earlier batches stay committed and \
         the next run resumes after them",
        plan.table.table
    );
    // A lock timeout or a lost connection stays retryable with its new words.
    if e.is_retryable() {
        return Error::Transient {
            source_name: plan.policy.source.clone(),
            message: format!("policy {}: {message}", plan.policy.name),
        };
    }
    Error::Policy {
        policy: plan.policy.name.clone(),
        message,
    }
}

/// A key stored in a checkpoint (JSON array of the key column values).
fn parse_key(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| Error::Inventory(format!("checkpoint key: {e}")))
}

/// Commits one batch's source transaction, saving it as pending in the checkpoint first, so that
/// a process killed between the source commit and the audit record can tell on resume whether the
/// batch committed ([`resolve_pending`]).
async fn commit_batch(
    store: &Store,
    checkpoint: &mut Checkpoint,
    tx: Tx,
    batch: &Batch,
    started: DateTime<Utc>,
) -> Result<()> {
    checkpoint.pending = Some(PendingBatch {
        upto: serde_json::to_string(&batch.upto).expect("serializable"),
        rows: batch.affected as i64,
        started: rfc3339(started),
        cascaded: (!batch.cascaded.is_empty())
            .then(|| serde_json::to_string(&batch.cascaded).expect("serializable")),
        first: Some(serde_json::to_string(&batch.first).expect("serializable")),
    });
    if let Err(e) = store.save_checkpoint(checkpoint).await {
        let _ = tx.rollback().await;
        return Err(e);
    }
    failpoint("before-commit", checkpoint.batches + 1);
    tx.commit().await?;
    failpoint("after-commit", checkpoint.batches + 1);
    Ok(())
}

/// Settles the batch a killed (or failed) run left pending in `cp`: when no eligible row is left
/// in its key range its commit happened, so it gets its audit `batch` record (outcome `recovered`)
/// and the checkpoint moves past it; otherwise it rolled back and the run redoes it. Returns the
/// settled checkpoint.
async fn resolve_pending(
    source: &Source,
    store: &Store,
    plan: &Plan,
    cp: &Checkpoint,
    report: &mut RunReport,
    key_id: &Option<String>,
) -> Result<Checkpoint> {
    let pending = cp.pending.as_ref().expect("checked by the caller");
    let upto = parse_key(&pending.upto)?;
    let last = cp.last_key.as_deref().map(parse_key).transpose()?;
    let left = count(
        source,
        &plan.count_stmt(|p, q| p.push_batch_range(q, last.as_deref(), &upto)),
    )
    .await?;
    let mut next = Checkpoint {
        pending: None,
        ..cp.clone()
    };
    if left > 0 {
        tracing::info!(policy = %plan.policy.name, left, "the batch in flight when the last run stopped did not commit; redoing it");
        store.save_checkpoint(&next).await?;
        return Ok(next);
    }
    next.last_key = Some(pending.upto.clone());
    next.rows_affected += pending.rows;
    next.batches += 1;
    report.rows_affected = next.rows_affected as u64;
    report.batches = next.batches as u64;
    let mut r = base_record(plan, report, key_id);
    r.kind = "batch".into();
    r.batch = Some(next.batches);
    r.rows_affected = pending.rows;
    r.cascaded = pending
        .cascaded
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    for (t, n) in &r.cascaded {
        *report.cascaded.entry(t.clone()).or_default() += (*n).max(0) as u64;
    }
    r.key_first = pending
        .first
        .as_deref()
        .and_then(|k| parse_key(k).ok())
        .unwrap_or_default();
    r.key_last = upto;
    r.started_at = pending.started.clone();
    r.outcome = "recovered".into();
    tracing::info!(policy = %plan.policy.name, batch = next.batches, rows = pending.rows, "the batch in flight when the last run stopped had committed; recorded");
    audit::append(store, &mut r, CheckpointChange::Save(&next)).await?;
    Ok(next)
}

/// Test builds only: `DATAWARDEN_FAILPOINT=<point>:<batch>` aborts the process at `point`
/// (`before-commit` or `after-commit` of the source transaction) of batch number `batch`, the
/// instants a SIGKILL from a test could not hit reliably.
#[cfg(debug_assertions)]
fn failpoint(point: &str, batch: i64) {
    if let Ok(v) = std::env::var("DATAWARDEN_FAILPOINT") {
        if v == format!("{point}:{batch}") {
            std::process::abort();
        }
    }
}

#[cfg(not(debug_assertions))]
fn failpoint(_: &str, _: i64) {}

/// Batch sizes: a batch starts at [`PolicyConfig::first_batch`] rows and never exceeds
/// [`PolicyConfig::batch_limit`] (`batch_size` when set: a hard upper bound). A batch whose
/// transaction took longer than [`BATCH_TIME_BUDGET`] halves the next one; a full batch that took
/// less than half of it doubles the next one, up to the limit.
#[derive(Debug, Clone)]
struct BatchSizer {
    size: u32,
    limit: u32,
}

impl BatchSizer {
    fn new(p: &PolicyConfig) -> BatchSizer {
        let limit = p.batch_limit().max(1);
        BatchSizer {
            size: p.first_batch().clamp(1, limit),
            limit,
        }
    }

    fn observe(&mut self, took: Duration, selected: u64) {
        if took > BATCH_TIME_BUDGET {
            self.size = (self.size / 2).max(1);
        } else if took < BATCH_TIME_BUDGET / 2 && selected >= u64::from(self.size) {
            self.size = self.size.saturating_mul(2).min(self.limit);
        }
    }
}

/// A committed batch.
struct Batch {
    /// The first eligible key the batch found (its key range is `first..=upto`).
    first: Vec<String>,
    /// The last key of the batch (the checkpoint).
    upto: Vec<String>,
    /// Rows deleted or updated.
    affected: u64,
    /// Rows the batch selected (at most its size).
    selected: u64,
    /// Rows removed or changed in other tables, per `schema.table` (deletes).
    cascaded: BTreeMap<String, u64>,
}

/// One batch in its own transaction, with every condition repeated in the statement that acts;
/// the transaction is returned uncommitted (the caller records it as pending, then commits). Delete and nullify on PostgreSQL select the keys and act in one statement
/// ([`Plan::batch_in_one`]); otherwise the batch end (delete, nullify) or the keys and values
/// (transforms, locked `FOR UPDATE`) are selected first. `None` when no row is left.
#[allow(clippy::too_many_arguments)]
async fn run_batch(
    source: &Source,
    plan: &Plan,
    transform: &mut Transform,
    last: Option<&[String]>,
    locking: bool,
    nkey: usize,
    limit: u32,
    dense_key: bool,
) -> Result<Option<(Tx, Batch)>> {
    let p = &plan.policy;
    let mut tx = source
        .begin_with_timeouts(p.lock_timeout(), p.statement_timeout())
        .await?;
    let key_of = |r: &Vec<Option<String>>| -> Vec<String> {
        r[..nkey]
            .iter()
            .map(|v| v.clone().unwrap_or_default())
            .collect()
    };
    let num = |v: Option<&Option<String>>| -> u64 {
        v.and_then(|v| v.as_deref())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let values_needed = !matches!(p.action, Action::Delete | Action::Nullify);
    if plan.single_statement() && !dense_key {
        let q = plan.batch_in_one(last, limit);
        let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
        let Some(r) = rows.first() else {
            tx.rollback().await?;
            return Ok(None);
        };
        let first = r[nkey + 2..]
            .iter()
            .map(|v| v.clone().unwrap_or_default())
            .collect();
        let done = Batch {
            first,
            upto: key_of(r),
            affected: num(r.get(nkey)),
            selected: num(r.get(nkey + 1)),
            cascaded: BTreeMap::new(),
        };
        if p.action == Action::Nullify {
            if let Err(e) = verify_nullify(&mut tx, plan, last, &done.upto).await {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
        return Ok(Some((tx, done)));
    }
    let (rows, first, upto, selected) = if dense_key && !values_needed {
        let q = plan.range_start(last);
        let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
        let first = rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|s| s.parse::<i64>().ok());
        let Some(first) = first else {
            tx.rollback().await?;
            return Ok(None);
        };
        let upto = vec![plan.range_end(first, limit).to_string()];
        (rows, vec![first.to_string()], upto, u64::from(limit))
    } else {
        let sel = if values_needed {
            plan.select_batch(last, locking, true, limit)
        } else {
            plan.batch_end(last, limit)
        };
        let rows = tx.fetch_rows(&sel.sql, &sel.binds).await?;
        let Some(last_row) = rows.last() else {
            tx.rollback().await?;
            return Ok(None);
        };
        let upto = key_of(last_row);
        // `batch_end` returns only the last key; its batch is full unless fewer rows were left.
        let (selected, first) = if values_needed {
            (rows.len() as u64, key_of(&rows[0]))
        } else {
            let first = last_row[nkey..2 * nkey]
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect();
            (u64::from(limit), first)
        };
        (rows, first, upto, selected)
    };
    let mut affected = 0;
    let mut cascaded = BTreeMap::new();
    match p.action {
        Action::Delete => {
            // Side effects first, while the rows that reference the batch are all still there.
            for (table, q) in plan.side_effect_counts(Some((last, &upto))) {
                let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
                let n = num(rows.first().and_then(|r| r.first()));
                if n > 0 {
                    *cascaded.entry(table.to_string()).or_insert(0) += n;
                }
            }
            for q in plan.delete_stmts(last, &upto) {
                affected = tx.execute(&q.sql, &q.binds).await?;
            }
        }
        Action::Nullify => {
            let q = plan.update_stmt(last, &upto, &[], &[]);
            affected = tx.execute(&q.sql, &q.binds).await?;
            if let Err(e) = verify_nullify(&mut tx, plan, last, &upto).await {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
        _ => {
            let mut keys = Vec::with_capacity(rows.len());
            let mut values = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut new = Vec::with_capacity(plan.columns.len());
                for ci in 0..plan.columns.len() {
                    let v = r.get(nkey + ci).and_then(|v| v.as_deref());
                    new.push(transform.apply(plan, ci, v)?);
                }
                keys.push(key_of(r));
                values.push(new);
            }
            let mut q = plan.update_stmt(last, &upto, &keys, &values);
            let checked = if plan.readback_wrap(&mut q).is_some() {
                // PostgreSQL: the update reads back what it stored and answers in one row.
                let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
                let summary = rows.first().cloned().unwrap_or_default();
                affected = num(summary.first());
                match check_summary(plan, &summary, &keys, &values) {
                    Ok(()) => Ok(()),
                    // Name the row: the detailed read-back sees what this transaction wrote.
                    Err(e) => {
                        match verify_transform(&mut tx, plan, last, &upto, &keys, &values).await {
                            Ok(()) => Err(e),
                            Err(named) => Err(named),
                        }
                    }
                }
            } else {
                affected = tx.execute(&q.sql, &q.binds).await?;
                verify_transform(&mut tx, plan, last, &upto, &keys, &values).await
            };
            if let Err(e) = checked {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
    }
    Ok(Some((
        tx,
        Batch {
            first,
            upto,
            affected,
            selected,
            cascaded,
        },
    )))
}

/// The error of a batch whose write did not read back as written; names the policy, table,
/// column and row key, never a value.
fn write_mismatch(plan: &Plan, column: &str, key: &[String], what: &str) -> Error {
    Error::Policy {
        policy: plan.policy.name.clone(),
        message: format!(
            "table {}: column `{column}` of the row with key {} {what}; something between the \
             statement and the table changed the value (a trigger, a column or driver that cuts \
             values, a rule); this batch was rolled back and none of its rows changed: fix the \
             cause, then rerun",
            plan.table.table,
            key.join(", ")
        ),
    }
}

/// True for blank-padded `char(n)` types, whose values read back without trailing spaces.
fn is_padded_char(sql_type: &str) -> bool {
    let t = sql_type.trim().to_ascii_lowercase();
    (t.starts_with("char") || t.starts_with("character") || t.starts_with("bpchar"))
        && !t.contains("varying")
}

/// Reads back what a transform batch wrote, in its transaction, right after the update: one
/// statement over the batch's keys ([`Plan::readback_stmt`]) gives each written value's length and
/// the value itself, or for values over [`READBACK_HASH_ABOVE`] bytes its SHA-256 (SQLite: the
/// value), compared here with the values computed here. Any difference (a missing row, another
/// length or content) fails the batch, whatever changed it.
async fn verify_transform(
    tx: &mut Tx,
    plan: &Plan,
    last: Option<&[String]>,
    upto: &[String],
    keys: &[Vec<String>],
    values: &[Vec<Option<String>>],
) -> Result<()> {
    if values.iter().all(|v| v.iter().all(Option::is_none)) {
        return Ok(());
    }
    let q = plan.readback_stmt(last, upto, keys);
    let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
    check_readback(plan, &rows, keys, values)
}

/// Checks the one-row answer of a PostgreSQL update wrapped by [`Plan::readback_wrap`] against
/// the values computed here: every row that was given a value was updated, each column's stored
/// bytes add up to what was written, and no stored value differs from the one sent.
fn check_summary(
    plan: &Plan,
    summary: &[Option<String>],
    keys: &[Vec<String>],
    values: &[Vec<Option<String>>],
) -> Result<()> {
    let n = |i: usize| -> u64 {
        summary
            .get(i)
            .cloned()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let first_key = || keys.first().cloned().unwrap_or_default();
    let sent_rows = values
        .iter()
        .filter(|v| v.iter().any(Option::is_some))
        .count() as u64;
    if n(1) != sent_rows {
        let col = plan.columns.first().map(|c| c.name.as_str()).unwrap_or("");
        return Err(write_mismatch(
            plan,
            col,
            &first_key(),
            &format!(
                "(or another row of the batch) is gone after the update: {} of {sent_rows} rows \
                 were written",
                n(1)
            ),
        ));
    }
    for (ci, col) in plan.columns.iter().enumerate() {
        let (rows, bytes) = (n(2 + 2 * ci), n(3 + 2 * ci));
        let sent = values
            .iter()
            .filter(|v| v.get(ci).is_some_and(Option::is_some))
            .count() as u64;
        let written: u64 = values
            .iter()
            .filter_map(|v| v.get(ci).and_then(|x| x.as_deref()))
            .map(|v| {
                if is_padded_char(&col.sql_type) {
                    v.trim_end_matches(' ').len() as u64
                } else {
                    v.len() as u64
                }
            })
            .sum();
        let lengths_differ = !is_padded_char(&col.sql_type) && bytes != written;
        if rows != sent || lengths_differ {
            return Err(write_mismatch(
                plan,
                &col.name,
                &first_key(),
                &format!(
                    "(or another row of the batch) does not hold what was written: {bytes} bytes \
                     stored where {written} were written"
                ),
            ));
        }
    }
    let bad_at = 2 + 2 * plan.columns.len();
    if let Some(Some(bad)) = summary.get(bad_at) {
        let key: Vec<String> = bad.split(", ").map(str::to_string).collect();
        let col = plan.columns.first().map(|c| c.name.as_str()).unwrap_or("");
        return Err(write_mismatch(
            plan,
            col,
            &key,
            "(or another column of that row) holds other content than was written",
        ));
    }
    Ok(())
}

/// Compares rows read back (key columns as text, then [`crate::sources::Dialect::readback_cells`]
/// per transformed column) with the values computed for `keys`.
fn check_readback(
    plan: &Plan,
    rows: &[Vec<Option<String>>],
    keys: &[Vec<String>],
    values: &[Vec<Option<String>>],
) -> Result<()> {
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::fmt::Write as _;
    if values.iter().all(|v| v.iter().all(Option::is_none)) {
        return Ok(());
    }
    let nkey = plan.key.len();
    // Cells per column: (length, value or hash) on PostgreSQL and MySQL, the value on SQLite.
    let per_col = plan.dialect.readback_cells("x").len();
    let by_key: HashMap<&[Option<String>], &[Option<String>]> =
        rows.iter().map(|r| (&r[..nkey], &r[nkey..])).collect();
    let mut probe: Vec<Option<String>> = Vec::with_capacity(nkey);
    let mut hash = String::with_capacity(71);
    for (key, new) in keys.iter().zip(values) {
        if new.iter().all(Option::is_none) {
            continue;
        }
        probe.clear();
        probe.extend(key.iter().cloned().map(Some));
        let Some(row) = by_key.get(probe.as_slice()) else {
            let ci = new.iter().position(Option::is_some).unwrap_or(0);
            let col = plan.columns.get(ci).map(|c| c.name.as_str()).unwrap_or("");
            return Err(write_mismatch(plan, col, key, "is gone after the update"));
        };
        for (ci, v) in new.iter().enumerate() {
            let Some(v) = v else { continue };
            let col = &plan.columns[ci];
            let v = if is_padded_char(&col.sql_type) {
                v.trim_end_matches(' ')
            } else {
                v.as_str()
            };
            let cells = &row[ci * per_col..(ci + 1) * per_col];
            let stored = cells[per_col - 1].as_deref();
            // The server sent a hash when the stored value (in its own encoding) is long.
            let server_len: Option<usize> = cells[0].as_deref().and_then(|l| l.parse().ok());
            let hashed = per_col == 2 && server_len.is_some_and(|n| n > READBACK_HASH_ABOVE);
            let same = match stored {
                Some(s) if hashed => {
                    hash.clear();
                    hash.push_str("sha256:");
                    for b in Sha256::digest(v.as_bytes()) {
                        let _ = write!(hash, "{b:02x}");
                    }
                    s == hash
                }
                Some(s) => s == v,
                None => false,
            };
            if same {
                continue;
            }
            let stored_len = if hashed {
                server_len
            } else {
                stored.map(str::len)
            };
            let what = match stored_len {
                None => format!("is NULL where {} bytes were written", v.len()),
                Some(n) if n != v.len() => {
                    format!("holds {n} bytes where {} were written", v.len())
                }
                Some(_) => "holds other content than was written (same length)".into(),
            };
            return Err(write_mismatch(plan, &col.name, key, &what));
        }
    }
    Ok(())
}

/// Checks a nullify batch in its transaction after the update: no row of its key range is still
/// eligible, i.e. every policy column of every row it covers is NULL ([`Plan::nullify_left_stmt`]).
async fn verify_nullify(
    tx: &mut Tx,
    plan: &Plan,
    last: Option<&[String]>,
    upto: &[String],
) -> Result<()> {
    let q = plan.nullify_left_stmt(last, upto);
    let rows = tx.fetch_rows(&q.sql, &q.binds).await?;
    let Some(r) = rows.first() else {
        return Ok(());
    };
    let nkey = plan.key.len();
    let key: Vec<String> = r[..nkey]
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    let ci = (0..plan.columns.len())
        .find(|&ci| r.get(nkey + ci).cloned().flatten().as_deref() == Some("1"))
        .unwrap_or(0);
    let col = plan.columns.get(ci).map(|c| c.name.as_str()).unwrap_or("");
    Err(write_mismatch(
        plan,
        col,
        key.as_slice(),
        "is not NULL after the update",
    ))
}

/// Counts, sample keys, statements and foreign-key effects; reads only. It runs the preflight the
/// real run runs (the same scan, the same length check and safety brake) and has the database
/// check every statement of a first batch with the run's own builders (`EXPLAIN`, which plans a
/// statement without running it), so a filter or column that would fail the run fails the dry run.
async fn preview(source: &Source, plan: &Plan, opts: &RunOptions) -> Result<Preview> {
    let qualifying = count(
        source,
        &plan.count_stmt(|p, q| {
            p.push_expired(q);
            q.push(" AND ");
            p.push_pending(q);
        }),
    )
    .await?;
    let invalid_clock = count(source, &plan.count_stmt(|p, q| p.push_invalid_clock(q))).await?;
    let pre = preflight(source, plan).await?;
    check_lengths(plan, &pre)?;
    let brake = if opts.override_brake {
        None
    } else {
        brake(&plan.policy, &pre)
    };
    // Keys only: the sample query reads no personal values.
    let sample = if opts.sample_keys == 0 {
        10
    } else {
        opts.sample_keys
    };
    let sel = plan.select_batch(None, false, false, sample);
    let rows = source.fetch_rows(&sel.sql, &sel.binds).await?;
    let sample_keys: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r[..plan.key.len()]
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect()
        })
        .collect();
    let mut cascaded = BTreeMap::new();
    for (table, q) in plan.side_effect_counts(None) {
        let n = count(source, &q).await?;
        *cascaded.entry(table.to_string()).or_insert(0) += n;
    }
    let triggers: Vec<String> = plan
        .triggers
        .iter()
        .map(|t| format!("{}: {} {}", t.name, t.timing, t.events.join(" OR ")))
        .collect();
    let by_range = matches!(plan.policy.action, Action::Delete | Action::Nullify) && pre.dense_key;
    if let Some(first) = sample_keys.first() {
        for q in first_batch(plan, by_range, first) {
            explain(source, plan, &q).await?;
        }
    }
    let placeholder = |s: &str| vec![s.to_string(); plan.key.len()];
    let (last, upto) = (placeholder("<last key>"), placeholder("<batch max key>"));
    let mut statements = Vec::new();
    let limit = plan.policy.first_batch();
    if plan.single_statement() && !by_range {
        statements.push(plan.batch_in_one(Some(&last), limit).sql);
    } else {
        statements.push(match plan.policy.action {
            Action::Delete | Action::Nullify if by_range => plan.range_start(Some(&last)).sql,
            Action::Delete | Action::Nullify => plan.batch_end(Some(&last), limit).sql,
            _ => plan.select_batch(Some(&last), true, true, limit).sql,
        });
        statements.extend(
            plan.side_effect_counts(Some((Some(&last), &upto)))
                .into_iter()
                .map(|(_, q)| q.sql),
        );
        statements.extend(
            act_stmts(plan, Some(&last), &upto)
                .into_iter()
                .map(|s| s.sql),
        );
    }
    Ok(Preview {
        qualifying,
        held: qualifying.saturating_sub(pre.eligible),
        invalid_clock,
        sample_keys,
        statements,
        fk_effects: plan.fk_effects.iter().map(|e| e.describe()).collect(),
        brake,
        cascaded,
        triggers,
    })
}

/// The statements that act on one batch ending at `upto` after `last`: the deletes (children
/// first) or the update (with one placeholder value per transformed column for transforms).
fn act_stmts(plan: &Plan, last: Option<&[String]>, upto: &[String]) -> Vec<Stmt> {
    match plan.policy.action {
        Action::Delete => plan.delete_stmts(last, upto),
        Action::Nullify => vec![plan.update_stmt(last, upto, &[], &[])],
        _ => {
            let vals = vec![vec![Some("dw-dry-run".to_string()); plan.columns.len()]];
            vec![plan.update_stmt(last, upto, &[upto.to_vec()], &vals)]
        }
    }
}

/// The statements a first batch ending at the real key `upto` runs, built as [`run_batch`] builds
/// them, for [`explain`].
fn first_batch(plan: &Plan, by_range: bool, upto: &[String]) -> Vec<Stmt> {
    let limit = plan.policy.first_batch();
    if plan.single_statement() && !by_range {
        return vec![plan.batch_in_one(None, limit)];
    }
    let mut out = vec![match plan.policy.action {
        Action::Delete | Action::Nullify if by_range => plan.range_start(None),
        Action::Delete | Action::Nullify => plan.batch_end(None, limit),
        _ => plan.select_batch(None, true, true, limit),
    }];
    out.extend(act_stmts(plan, None, upto));
    out
}

/// Has the database parse and check `q` without running it ([`Source::check_statement`]); a
/// statement the run could not execute is a refusal that names the policy and table.
async fn explain(source: &Source, plan: &Plan, q: &Stmt) -> Result<()> {
    match source.check_statement(&q.sql).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => Err(Error::Refused {
            policy: plan.policy.name.clone(),
            message: format!(
                "a statement of the run on {} fails: {e}; check `filter`, `legal_hold` and the \
                 policy's columns",
                plan.table.table
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_adapt_within_the_limit() {
        let mut s = BatchSizer {
            size: 1000,
            limit: 5000,
        };
        let fast = BATCH_TIME_BUDGET / 10;
        s.observe(fast, 1000);
        assert_eq!(s.size, 2000);
        s.observe(fast, 2000);
        s.observe(fast, 4000);
        assert_eq!(s.size, 5000, "never above batch_size");
        s.observe(fast, 5000);
        assert_eq!(s.size, 5000);
        s.observe(BATCH_TIME_BUDGET * 2, 5000);
        assert_eq!(s.size, 2500, "a slow batch halves the next");
        s.observe(fast, 100);
        assert_eq!(s.size, 2500, "a short (last) batch does not grow the next");
        s.observe(BATCH_TIME_BUDGET * 3 / 4, 2500);
        assert_eq!(s.size, 2500, "within budget: unchanged");
        for _ in 0..20 {
            s.observe(BATCH_TIME_BUDGET * 2, 1);
        }
        assert_eq!(s.size, 1);
    }
}
