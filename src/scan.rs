//! Scan orchestration: connect to a source read-only, introspect the tables in its scope, sample each
//! table, classify every column and record the findings in the inventory.
//!
//! One failing table is recorded and the scan goes on; an unreachable source fails the scan with a
//! recorded failed scan. A couple of tables are scanned at once; memory stays bounded because values
//! stream through the column classifiers and are never collected.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::classify::{ColumnClassifier, ColumnPool, ColumnReport, ColumnStatus, DetectorVersion};
use crate::config::{Config, ScanMode, SourceConfig};
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::inventory::model::{ScanCounts, ScanStatus, TableFailure};
use crate::inventory::Store;
use crate::sources::{
    Access, Backend, SampleOptions, Scope, Source, TableGlob, TableInfo, TableKind, TableRef,
};
use crate::stop::Stop;

/// Tables sampled at the same time within one source.
pub const TABLE_CONCURRENCY: usize = 2;

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOutcome {
    /// Sampled and classified.
    Scanned {
        /// Columns classified.
        columns: usize,
        /// Columns found personal.
        personal: usize,
        /// Rows read.
        rows: u64,
    },
    /// Failed; the message holds no secret.
    Failed(String),
}

/// Receives progress while a source is scanned (a progress bar, log lines, metrics).
pub trait ScanProgress: Send + Sync {
    /// The tables in scope are known.
    fn started(&self, source: &str, tables: usize) {
        let _ = (source, tables);
    }
    /// One table is done.
    fn table_done(&self, source: &str, table: &TableRef, outcome: &TableOutcome) {
        let _ = (source, table, outcome);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ScanProgress for NoProgress {}

/// Progress as `tracing` log lines (for non-terminal stderr and the daemon).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogProgress;

impl ScanProgress for LogProgress {
    fn started(&self, source: &str, tables: usize) {
        tracing::info!(source, tables, "scanning");
    }
    fn table_done(&self, source: &str, table: &TableRef, outcome: &TableOutcome) {
        match outcome {
            TableOutcome::Scanned {
                columns,
                personal,
                rows,
            } => {
                tracing::info!(source, table = %table, columns, personal, rows, "table scanned")
            }
            TableOutcome::Failed(error) => {
                tracing::warn!(source, table = %table, error = %error, "table failed")
            }
        }
    }
}

/// The result of one scan of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanSummary {
    /// The scan's id in the inventory.
    pub scan_id: i64,
    pub source: String,
    /// `ok`, `partial` (some tables failed) or `stopped`.
    pub status: ScanStatus,
    /// Tables in scope.
    pub tables: u64,
    /// Tables sampled and classified.
    pub tables_scanned: u64,
    /// Tables that failed.
    pub tables_failed: u64,
    /// Columns classified.
    pub columns: u64,
    /// Columns the scanner found personal.
    pub personal_columns: u64,
    /// Columns whose sample held no value (unknown, not clean).
    pub unknown_columns: u64,
    /// Rows read.
    pub rows: u64,
    /// Wall time.
    pub duration: Duration,
    /// The tables that failed, with their errors.
    pub failures: Vec<TableFailure>,
}

/// Removes the source's password from an error message, whatever produced it.
fn scrub(message: String, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 3)
        .fold(message, |m, s| m.replace(s.as_str(), "***"))
}

/// The password of a source (URL or `password` secret), to scrub it from messages.
fn secrets_of(source: &SourceConfig) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(u) = url::Url::parse(&source.url) {
        if let Some(p) = u.password() {
            out.push(p.to_string());
            out.push(percent_decode(p));
        }
    }
    if let Some(value) = source.password.as_ref().and_then(|s| s.resolve().ok()) {
        if let Ok(s) = std::str::from_utf8(value.expose()) {
            out.push(s.to_string());
        }
    }
    out
}

/// Decodes `%XX` escapes (URL passwords are stored encoded).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Scans one source into the inventory and returns the summary. Connects read-only. An unreachable
/// source records a failed scan and returns the error; a failing table is recorded and skipped.
/// Stops between tables when `stop` is raised (status `stopped`).
pub async fn scan_source(
    config: &Config,
    engine: &Engine,
    store: &Store,
    source: &SourceConfig,
    progress: &dyn ScanProgress,
    stop: &Stop,
) -> Result<ScanSummary> {
    let started = Instant::now();
    let detectors: Vec<DetectorVersion> = engine
        .detectors()
        .iter()
        .map(|d| DetectorVersion {
            id: d.id.clone(),
            version: d.version,
        })
        .collect();
    let scan_id = store.begin_scan(&source.name, &detectors).await?;
    let secrets = secrets_of(source);
    let fail = |e: Error| async {
        let message = scrub(e.to_string(), &secrets);
        store
            .finish_scan(
                scan_id,
                ScanStatus::Failed,
                &ScanCounts::default(),
                Some(&message),
            )
            .await?;
        Err::<ScanSummary, Error>(Error::Source {
            source_name: source.name.clone(),
            message: format!(
                "scan #{scan_id} failed: {}",
                scrub(source_message(e), &secrets)
            ),
        })
    };
    let db = match Source::connect(source, &config.scan, Access::ReadOnly).await {
        Ok(db) => db,
        Err(e) => return fail(e).await,
    };
    if source.backend() == Backend::MySql
        && db.home_schema().is_none()
        && source.include_schemas.is_empty()
    {
        tracing::info!(source = %source.name, "the URL names no database: scanning every non-system database the account can read");
    }
    let tables = match db.tables(&Scope::from_config(source)).await {
        Ok(t) => t,
        Err(e) => {
            db.close().await;
            return fail(e).await;
        }
    };
    progress.started(&source.name, tables.len());
    let full: Vec<TableGlob> = source
        .full_tables
        .iter()
        .map(|g| TableGlob::parse(g))
        .collect();
    let size = source.sample_size(&config.scan);
    let mode = source.mode(&config.scan);
    let range_rows = config.scan.full_range_rows;
    let mut counts = ScanCounts {
        tables_total: tables.len() as u64,
        ..ScanCounts::default()
    };
    let (mut unknown, mut rows) = (0u64, 0u64);
    let mut failures = Vec::new();
    let mut stopped = false;
    // Every store write happens inside the per-table futures: the loop below must never await while
    // a sibling future holds an inventory transaction it cannot finish without being polled.
    let secrets = &secrets;
    // Indices, not `tables.iter()`: a closure over `&TableInfo` makes the future's type
    // higher-ranked, which the compiler cannot prove `Send` (rust-lang/rust#102211).
    let limits = Limits {
        view_timeout: source.view_timeout(&config.scan),
        detect_budget: crate::config::parse_duration(&config.scan.detect_budget)
            .unwrap_or(Duration::from_secs(10)),
        max_value_bytes: config.scan.max_value_bytes,
        detect_threads: config.scan.detect_threads,
    };
    // View columns that read one base column inherit its classification (see `Lineage`); an
    // unreadable lineage catalogue only means the views are read instead.
    let lineage = match db.view_lineage().await {
        Ok(l) => Lineage::new(l),
        Err(e) => {
            tracing::warn!(source = %source.name, error = %scrub(e.to_string(), secrets), "view lineage unavailable: views are read");
            Lineage::new(Vec::new())
        }
    };
    let lineage = &lineage;
    let limits = &limits;
    // Tables first, then views, so that a view column's base column is classified before it.
    let (bases, views): (Vec<usize>, Vec<usize>) =
        (0..tables.len()).partition(|&i| tables[i].kind == TableKind::Table);
    let scan_one = |i: usize| {
        let table = &tables[i];
        let full = mode == ScanMode::Full || full.iter().any(|g| g.matches(&table.table));
        let db = &db;
        async move {
            if stop.is_requested() {
                return Ok((table, None));
            }
            let mode = if full {
                ScanMode::Full
            } else {
                ScanMode::Sample
            };
            let mut options = SampleOptions::new(size, mode);
            options.stop = Some(stop.clone());
            options.range_rows = range_rows;
            let run = TableRun {
                engine,
                store,
                db,
                scan_id,
                source: &source.name,
                secrets,
                lineage,
                limits,
            };
            match run.scan(table, &options).await {
                Ok(t) => Ok((table, Some(Ok(t)))),
                // The inventory itself failing ends the scan.
                Err(e @ Error::Inventory(_)) => Err(e),
                Err(e) => {
                    let message = scrub(source_message(e), secrets);
                    store
                        .record_failure(scan_id, &table.table, &message)
                        .await?;
                    Ok((table, Some(Err(message))))
                }
            }
        }
    };
    let mut results = stream::iter(bases)
        .map(scan_one)
        .buffer_unordered(TABLE_CONCURRENCY)
        .chain(
            stream::iter(views)
                .map(scan_one)
                .buffer_unordered(TABLE_CONCURRENCY),
        );
    let mut fatal = None;
    while let Some(next) = results.next().await {
        let (table, result) = match next {
            Ok(v) => v,
            Err(e) => {
                fatal = Some(e);
                break;
            }
        };
        let outcome = match result {
            None => {
                stopped = true;
                continue;
            }
            Some(Ok(t)) => {
                counts.tables_scanned += 1;
                counts.columns_scanned += t.reports as u64;
                counts.personal_columns += t.personal as u64;
                unknown += t.unknown as u64;
                rows += t.rows;
                TableOutcome::Scanned {
                    columns: t.reports,
                    personal: t.personal,
                    rows: t.rows,
                }
            }
            Some(Err(message)) => {
                counts.tables_failed += 1;
                failures.push(TableFailure {
                    schema: table.table.schema.clone(),
                    table: table.table.name.clone(),
                    error: message.clone(),
                });
                TableOutcome::Failed(message)
            }
        };
        progress.table_done(&source.name, &table.table, &outcome);
    }
    drop(results);
    db.close().await;
    if let Some(e) = fatal {
        let message = e.to_string();
        // Best effort: the store just failed, recording may fail too.
        let _ = store
            .finish_scan(scan_id, ScanStatus::Failed, &counts, Some(&message))
            .await;
        return Err(e);
    }
    let status = if stopped {
        ScanStatus::Stopped
    } else if counts.tables_failed > 0 {
        ScanStatus::Partial
    } else {
        ScanStatus::Ok
    };
    store.finish_scan(scan_id, status, &counts, None).await?;
    Ok(ScanSummary {
        scan_id,
        source: source.name.clone(),
        status,
        tables: counts.tables_total,
        tables_scanned: counts.tables_scanned,
        tables_failed: counts.tables_failed,
        columns: counts.columns_scanned,
        personal_columns: counts.personal_columns,
        unknown_columns: unknown,
        rows,
        duration: started.elapsed(),
        failures,
    })
}

/// The message of a source error without the `source NAME:` prefix (the caller adds context).
fn source_message(e: Error) -> String {
    match e {
        Error::Source { message, .. } => message,
        other => other.to_string(),
    }
}

/// Counts of one scanned table.
struct TableResult {
    reports: usize,
    personal: usize,
    unknown: usize,
    rows: u64,
}

/// The budgets of one source's scan.
struct Limits {
    /// How long a view is read before it is recorded as timed out.
    view_timeout: Duration,
    /// Detection time per table.
    detect_budget: Duration,
    /// Values longer than this are searched in their first this-many bytes.
    max_value_bytes: usize,
    /// Threads classifying a table's columns.
    detect_threads: usize,
}

/// View columns that read one base column, and the base columns' reports once scanned.
struct Lineage {
    of: std::collections::HashMap<(TableRef, String), (TableRef, String)>,
    reports: std::sync::Mutex<std::collections::HashMap<(TableRef, String), ColumnReport>>,
}

impl Lineage {
    fn new(list: Vec<crate::sources::ColumnLineage>) -> Lineage {
        Lineage {
            of: list
                .into_iter()
                .map(|l| ((l.view, l.column), (l.base, l.base_column)))
                .collect(),
            reports: Default::default(),
        }
    }

    /// The base column's report for a view column, with the lineage as its note.
    fn inherited(&self, view: &TableRef, column: &str) -> Option<ColumnReport> {
        let base = self.of.get(&(view.clone(), column.to_string()))?;
        let reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = reports.get(base)?.clone();
        r.note = Some(format!(
            "via view of {}.{}.{}",
            base.0.schema, base.0.name, base.1
        ));
        Some(r)
    }

    fn remember(&self, table: &TableRef, column: &str, report: &ColumnReport) {
        if self.of.is_empty() {
            return;
        }
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((table.clone(), column.to_string()), report.clone());
    }
}

/// True for the PostgreSQL error of reading a materialized view created `WITH NO DATA`.
fn not_populated(e: &Error) -> bool {
    e.to_string().contains("has not been populated")
}

/// Everything one table's scan needs.
struct TableRun<'a> {
    engine: &'a Engine,
    store: &'a Store,
    db: &'a Source,
    scan_id: i64,
    source: &'a str,
    /// The source's password, scrubbed from what the scan records.
    secrets: &'a [String],
    lineage: &'a Lineage,
    limits: &'a Limits,
}

impl TableRun<'_> {
    /// Samples and classifies one table or view and records it. A view column with lineage
    /// takes its base column's report; the other columns of a view are read under the view
    /// timeout. A view that times out or is not populated is recorded (its columns unknown, with
    /// a note), not failed.
    async fn scan(&self, table: &TableInfo, options: &SampleOptions) -> Result<TableResult> {
        let is_view = table.kind == TableKind::View;
        let inherited: Vec<Option<ColumnReport>> = table
            .columns
            .iter()
            .map(|c| {
                is_view
                    .then(|| self.lineage.inherited(&table.table, &c.name))
                    .flatten()
            })
            .collect();
        let mut to_read = table.clone();
        to_read.columns = table
            .columns
            .iter()
            .zip(&inherited)
            .filter(|(_, i)| i.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        let classifiers: Vec<ColumnClassifier> = to_read
            .columns
            .iter()
            .map(|c| {
                let mut k = ColumnClassifier::new(self.engine, &c.name, &c.sql_type);
                k.set_max_value_bytes(self.limits.max_value_bytes);
                if self.db.dialect().backend() != Backend::Sqlite {
                    k.trust_column_type();
                }
                k
            })
            .collect();
        let options = &SampleOptions {
            presence_only: classifiers.iter().map(|k| !k.reads_values()).collect(),
            ..options.clone()
        };
        let deadline = Instant::now() + self.limits.detect_budget;
        let mut pool = ColumnPool::start(classifiers, self.limits.detect_threads, deadline);
        let mut on_row = |row: &[Option<&[u8]>]| pool.push(row);
        let read = self.db.sample(&to_read, options, &mut on_row);
        // A full read that lost its connection and went on after its last key says so.
        let mut resumed = None;
        let (method, rows, note) = if to_read.columns.is_empty() {
            drop(read);
            ("lineage".to_string(), 0, None)
        } else if is_view {
            match tokio::time::timeout(self.limits.view_timeout, read).await {
                Ok(Ok(s)) => (s.method.to_string(), s.rows, None),
                Ok(Err(e)) if not_populated(&e) => (
                    "not_populated".to_string(),
                    0,
                    Some(
                        "not populated: a materialized view created WITH NO DATA, skipped"
                            .to_string(),
                    ),
                ),
                Ok(Err(e)) => return Err(e),
                Err(_) => (
                    "timed_out".to_string(),
                    0,
                    Some(format!(
                        "timed out: the view was not read within view_timeout ({})",
                        humantime::format_duration(self.limits.view_timeout)
                    )),
                ),
            }
        } else {
            let s = read.await?;
            if !s.resumed.is_empty() {
                let errors = scrub(s.resumed.join("; "), self.secrets);
                tracing::warn!(source = %self.source, table = %table.table, %errors,
                    "full read interrupted; it resumed after the last row read");
                resumed = Some(format!(
                    "read resumed {} time(s) after the last row read: {errors}",
                    s.resumed.len()
                ));
            }
            (s.method.to_string(), s.rows, None)
        };
        let mut read_reports = pool.finish().into_iter().map(|c| {
            let mut r = c.finish();
            if note.is_some() {
                // Whatever was read before the view gave up is not a sample of it.
                r = ColumnReport {
                    sampled: 0,
                    non_null: 0,
                    transformed: 0,
                    status: ColumnStatus::Unknown,
                    findings: Vec::new(),
                    note: note.clone(),
                };
            } else if let Some(resumed) = &resumed {
                r.note = Some(match r.note.take() {
                    Some(n) => format!("{n}; {resumed}"),
                    None => resumed.clone(),
                });
            }
            r
        });
        let reports: Vec<(crate::sources::ColumnInfo, ColumnReport)> = table
            .columns
            .iter()
            .cloned()
            .zip(inherited)
            .map(|(c, i)| {
                let r = match i {
                    Some(r) => r,
                    None => read_reports.next().expect("one report per column read"),
                };
                (c, r)
            })
            .collect();
        for (c, r) in &reports {
            self.lineage.remember(&table.table, &c.name, r);
        }
        let personal = reports
            .iter()
            .filter(|(_, r)| r.status == ColumnStatus::Personal)
            .count();
        let unknown = reports
            .iter()
            .filter(|(_, r)| r.status == ColumnStatus::Unknown)
            .count();
        self.store
            .record_table(
                self.scan_id,
                self.source,
                &table.table,
                table.row_estimate,
                &method,
                &reports,
            )
            .await?;
        Ok(TableResult {
            reports: reports.len(),
            personal,
            unknown,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_passwords() {
        let s = scrub(
            "password authentication failed for s3cret!".into(),
            &["s3cret!".into(), "".into()],
        );
        assert_eq!(s, "password authentication failed for ***");
        assert_eq!(percent_decode("p%40ss%2Fw"), "p@ss/w");
    }
}
