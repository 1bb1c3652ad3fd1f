//! The real jobs: a scan job per source with a `schedule`, an enforcement job per policy with a
//! `schedule`. Each run gets the config that was current when the job was built (a reload builds
//! new jobs; runs in flight finish with the old config).

use std::sync::{Arc, Mutex};

use super::job::{Job, JobFn, JobKind, JobOutcome};
use std::collections::BTreeMap;

use crate::config::Config;
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::inventory::{ColumnFilter, ScanStatus, Store};
use crate::retention::{run_policy, Outcome, RunOptions};
use crate::scan::{scan_source, NoProgress};
use crate::schedule::Cron;

/// Builds the jobs of `config`. Scans write to `store`. The detectors are loaded (and so validated)
/// here, once per configuration, when a source has a schedule.
pub fn from_config(config: &Arc<Config>, store: &Store) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    if config.sources.iter().any(|s| s.schedule.is_some()) {
        let engine = Arc::new(Engine::load(config.detectors_dir.as_deref())?);
        for source in &config.sources {
            let Some(expr) = &source.schedule else {
                continue;
            };
            let cron = parse(expr, &format!("source `{}`", source.name))?;
            let run = scan_fn(config.clone(), engine.clone(), store.clone(), &source.name);
            jobs.push(
                Job::new(JobKind::Scan, &source.name, cron, run)
                    .on_source(&source.name, local_file(source)),
            );
        }
    }
    for policy in &config.policies {
        let Some(expr) = &policy.schedule else {
            continue;
        };
        let cron = parse(expr, &format!("policy `{}`", policy.name))?;
        let source = config.source(&policy.source)?;
        jobs.push(
            Job::new(
                JobKind::Enforce,
                &policy.name,
                cron,
                enforce_fn(config.clone(), &policy.name),
            )
            .on_source(&source.name, local_file(source)),
        );
    }
    Ok(jobs)
}

/// The file of a SQLite source (a node takes its jobs only when it can open it).
fn local_file(source: &crate::config::SourceConfig) -> Option<std::path::PathBuf> {
    (source.backend() == crate::config::Backend::Sqlite)
        .then(|| crate::store::sqlite::sqlite_path(&source.url).map(|p| p.to_path_buf()))
        .flatten()
}

fn parse(expr: &str, owner: &str) -> Result<Cron> {
    Cron::parse(expr).map_err(|e| Error::Other(format!("{owner}: cron expression `{expr}`: {e}")))
}

/// Personal-data columns of `source` in the inventory, per category (confirmed or suggested,
/// never rejected ones; dropped columns excluded).
pub async fn personal_columns(store: &Store, source: &str) -> Result<Vec<(String, u64)>> {
    let filter = ColumnFilter {
        source: Some(source.to_string()),
        all: false,
    };
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for column in store.columns(&filter).await? {
        for c in column.held() {
            *by_category.entry(c.category.clone()).or_default() += 1;
        }
    }
    Ok(by_category.into_iter().collect())
}

/// One scan of source `name` into the inventory (no progress bar; one log line per failed table).
fn scan_fn(config: Arc<Config>, engine: Arc<Engine>, store: Store, name: &str) -> JobFn {
    let name = name.to_string();
    Arc::new(move |stop| {
        let (config, engine, store, name) =
            (config.clone(), engine.clone(), store.clone(), name.clone());
        Box::pin(async move {
            let source = config.source(&name)?;
            let s = scan_source(&config, &engine, &store, source, &NoProgress, &stop).await?;
            for f in &s.failures {
                tracing::warn!(source = %name, table = %format!("{}.{}", f.schema, f.table), error = %f.error, "table not scanned");
            }
            let personal = personal_columns(&store, &name).await?;
            Ok(JobOutcome {
                counts: vec![
                    ("scan_id".into(), s.scan_id as u64),
                    ("tables".into(), s.tables),
                    ("tables_scanned".into(), s.tables_scanned),
                    ("tables_failed".into(), s.tables_failed),
                    ("columns".into(), s.columns),
                    ("personal_columns".into(), s.personal_columns),
                    ("rows".into(), s.rows),
                ],
                rows_affected: vec![],
                personal_columns: Some(personal),
                interrupted: s.status == ScanStatus::Stopped,
            })
        })
    })
}

/// One enforcement run of policy `name` (no dry run, the safety brake applies).
fn enforce_fn(config: Arc<Config>, name: &str) -> JobFn {
    let name = name.to_string();
    // Rows already counted for a run id, so that a resumed run (whose report includes the rows of
    // the interrupted run) does not count them twice in the metrics.
    let counted: Arc<Mutex<Option<(String, u64)>>> = Arc::new(Mutex::new(None));
    Arc::new(move |stop| {
        let config = config.clone();
        let name = name.clone();
        let counted = counted.clone();
        Box::pin(async move {
            let policy = config.policy(&name)?.clone();
            // One journal line per batch (at most one a second on fast tables).
            let opts = RunOptions {
                fence: super::job::current_fence(),
                progress: Some(Arc::new(crate::progress::LogBatches::default())),
                ..RunOptions::default()
            };
            let report = run_policy(&config, &policy, &opts, &stop).await?;
            let new_rows = {
                let mut c = counted.lock().unwrap_or_else(|e| e.into_inner());
                let before = match c.as_ref() {
                    Some((run, rows)) if *run == report.run_id => *rows,
                    _ => 0,
                };
                *c = Some((report.run_id.clone(), report.rows_affected));
                report.rows_affected.saturating_sub(before)
            };
            match report.outcome {
                Outcome::Braked => {
                    return Err(Error::Policy {
                        policy: name.clone(),
                        message: format!(
                            "the safety brake stopped the run before any change: {} rows qualify; \
                             raise max_rows/max_share or run `datawarden enforce --config {} --policy {} --override-brake`",
                            report.eligible,
                            crate::shell::quote_path(&config.path),
                            crate::shell::quote(&name),
                        ),
                    })
                }
                Outcome::Locked => {
                    tracing::warn!(policy = %name, "another process is enforcing this policy; nothing done")
                }
                _ => {}
            }
            Ok(JobOutcome {
                counts: vec![
                    ("eligible".into(), report.eligible),
                    ("rows_affected".into(), report.rows_affected),
                    ("batches".into(), report.batches),
                    ("resumed".into(), report.resumed as u64),
                ],
                rows_affected: vec![(policy.action.as_str().to_string(), new_rows)],
                personal_columns: None,
                interrupted: report.outcome == Outcome::Stopped,
            })
        })
    })
}
