//! Inventory and reviews, and the scan history: columns with their latest evidence, per-scan
//! snapshots (drift), scans and their table failures, and review decisions.
//!
//! Review decisions live in their own table that scans never write: a rescan replaces the evidence
//! of a column, and the decision stays.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{db, with_db, Store, WritePool};
use crate::classify::{ColumnReport, ColumnStatus, DetectorVersion, Layout};
use crate::detect::Sensitivity;
use crate::error::{Error, Result};
use crate::inventory::model::layout_name;
use crate::inventory::model::{
    CategoryRecord, CategoryStatus, ColumnKey, ColumnPath, ColumnRecord, Decision, Evidence,
    ScanCounts, ScanRecord, ScanStatus, TableFailure,
};
use crate::sources::{ColumnInfo, TableRef};

/// Which columns [`Store::columns`] returns.
#[derive(Debug, Clone, Default)]
pub struct ColumnFilter {
    /// Only this source.
    pub source: Option<String>,
    /// Also clean, unknown and dropped columns (default: personal columns still present).
    pub all: bool,
}

/// One column of a scan snapshot, as drift compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotColumn {
    pub key: ColumnKey,
    /// Scanner status in that scan.
    pub status: ColumnStatus,
    /// Categories the scanner found personal in that scan, sorted.
    pub categories: Vec<String>,
    /// Sampled values datawarden wrote (envelopes, pseudonyms, masks) in that scan.
    pub transformed: u64,
}

fn json_err(context: &'static str) -> impl FnOnce(serde_json::Error) -> Error {
    move |e| Error::Inventory(format!("{context}: {e}"))
}

impl Store {
    // ----- scans -----

    /// Records the start of a scan and returns its id.
    pub async fn begin_scan(&self, source: &str, detectors: &[DetectorVersion]) -> Result<i64> {
        with_db!(self, |pool, kind| {
            let detectors =
                serde_json::to_string(detectors).map_err(json_err("encoding detector versions"))?;
            sqlx::query_scalar("INSERT INTO scans (source, started_at, status, detectors) VALUES ($1, $2, 'running', $3) RETURNING id")
                .bind(source)
                .bind(Utc::now())
                .bind(detectors)
                .fetch_one(pool)
                .await
                .map_err(db("recording the scan start"))
        })
    }

    /// Records one scanned table: upserts its columns, replaces their evidence and snapshots them
    /// for drift, in one transaction. Review decisions are not touched.
    pub async fn record_table(
        &self,
        scan_id: i64,
        source: &str,
        table: &TableRef,
        row_estimate: Option<i64>,
        sample_method: &str,
        columns: &[(ColumnInfo, ColumnReport)],
    ) -> Result<()> {
        with_db!(self, |pool, kind| {
            let now = Utc::now();
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting a table record"))?;
            for (info, report) in columns {
                let column_id: i64 = sqlx::query_scalar(
                    "INSERT INTO columns (source, schema_name, table_name, column_name, sql_type, row_estimate, \
                     sample_method, sampled, non_null, status, first_seen, last_seen, last_scanned, last_scan_id, \
                     transformed, scan_note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (source, schema_name, table_name, column_name) DO UPDATE SET \
                     sql_type = excluded.sql_type, row_estimate = excluded.row_estimate, \
                     sample_method = excluded.sample_method, sampled = excluded.sampled, non_null = excluded.non_null, \
                     status = excluded.status, last_seen = excluded.last_seen, last_scanned = excluded.last_scanned, \
                     last_scan_id = excluded.last_scan_id, dropped_at = NULL, transformed = excluded.transformed, \
                     scan_note = excluded.scan_note \
                     RETURNING id",
                )
                .bind(source)
                .bind(&table.schema)
                .bind(&table.name)
                .bind(&info.name)
                .bind(&info.sql_type)
                .bind(row_estimate)
                .bind(sample_method)
                .bind(report.sampled as i64)
                .bind(report.non_null as i64)
                .bind(column_status_str(report.status))
                .bind(now)
                .bind(now)
                .bind(now)
                .bind(scan_id)
                .bind(report.transformed as i64)
                .bind(&report.note)
                .fetch_one(&mut *tx)
                .await
                .map_err(db("recording a column"))?;
                sqlx::query("DELETE FROM findings WHERE column_id = $1")
                    .bind(column_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("replacing findings"))?;
                let mut personal: Vec<&str> = Vec::new();
                for f in &report.findings {
                    if f.personal {
                        personal.push(&f.category);
                    }
                    sqlx::query(
                        "INSERT INTO findings (column_id, category, detectors, matched, share, layout, name_hint, \
                         confidence, sensitivity, examples, personal, scan_id, rule) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                         ON CONFLICT (column_id, category) DO NOTHING",
                    )
                    .bind(column_id)
                    .bind(&f.category)
                    .bind(serde_json::to_string(&f.detectors).map_err(json_err("encoding detectors"))?)
                    .bind(f.matched as i64)
                    .bind(f.share)
                    .bind(layout_name(f.layout))
                    .bind(&f.name_hint)
                    .bind(f.confidence)
                    .bind(f.sensitivity.as_str())
                    .bind(serde_json::to_string(&f.examples).map_err(json_err("encoding examples"))?)
                    .bind(f.personal)
                    .bind(scan_id)
                    .bind(&f.rule)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("recording a finding"))?;
                }
                personal.sort_unstable();
                personal.dedup();
                sqlx::query(
                    "INSERT INTO scan_columns (scan_id, column_id, status, categories, transformed) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (scan_id, column_id) DO UPDATE SET status = excluded.status, categories = excluded.categories, \
                     transformed = excluded.transformed",
                )
                .bind(scan_id)
                .bind(column_id)
                .bind(column_status_str(report.status))
                .bind(personal.join(","))
                .bind(report.transformed as i64)
                .execute(&mut *tx)
                .await
                .map_err(db("recording the scan snapshot"))?;
            }
            tx.commit().await.map_err(db("committing a table record"))
        })
    }

    /// Records a table that failed during a scan. `error` must not contain secrets.
    pub async fn record_failure(&self, scan_id: i64, table: &TableRef, error: &str) -> Result<()> {
        with_db!(self, |pool, kind| {
            sqlx::query(
                "INSERT INTO scan_failures (scan_id, schema_name, table_name, error) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scan_id, schema_name, table_name) DO UPDATE SET error = excluded.error",
            )
            .bind(scan_id)
            .bind(&table.schema)
            .bind(&table.name)
            .bind(error)
            .execute(pool)
            .await
            .map_err(db("recording a table failure"))?;
            Ok(())
        })
    }

    /// Records the end of a scan. After a complete pass (`ok` or `partial`), columns of the source
    /// that the scan did not see, outside the tables that failed, are marked dropped.
    pub async fn finish_scan(
        &self,
        scan_id: i64,
        status: ScanStatus,
        counts: &ScanCounts,
        error: Option<&str>,
    ) -> Result<()> {
        with_db!(self, |pool, kind| {
            let now = Utc::now();
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting the scan end"))?;
            let (source, started): (String, DateTime<Utc>) =
                sqlx::query_as("SELECT source, started_at FROM scans WHERE id = $1")
                    .bind(scan_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("reading the scan"))?;
            let duration_ms = (now - started).num_milliseconds().max(0);
            sqlx::query(
                "UPDATE scans SET finished_at = $1, duration_ms = $2, status = $3, tables_total = $4, tables_scanned = $5, \
                 tables_failed = $6, columns_scanned = $7, personal_columns = $8, error = $9 WHERE id = $10",
            )
            .bind(now)
            .bind(duration_ms)
            .bind(status.as_str())
            .bind(counts.tables_total as i64)
            .bind(counts.tables_scanned as i64)
            .bind(counts.tables_failed as i64)
            .bind(counts.columns_scanned as i64)
            .bind(counts.personal_columns as i64)
            .bind(error)
            .bind(scan_id)
            .execute(&mut *tx)
            .await
            .map_err(db("recording the scan end"))?;
            if matches!(status, ScanStatus::Ok | ScanStatus::Partial) {
                sqlx::query(
                    "UPDATE columns SET dropped_at = $1 WHERE source = $2 AND dropped_at IS NULL \
                     AND (last_scan_id IS NULL OR last_scan_id <> $3) \
                     AND NOT EXISTS (SELECT 1 FROM scan_failures f WHERE f.scan_id = $4 \
                         AND f.schema_name = columns.schema_name AND f.table_name = columns.table_name)",
                )
                .bind(now)
                .bind(&source)
                .bind(scan_id)
                .bind(scan_id)
                .execute(&mut *tx)
                .await
                .map_err(db("marking dropped columns"))?;
            }
            tx.commit().await.map_err(db("committing the scan end"))
        })
    }

    /// Scan history, newest first: all sources or one, at most `limit` scans.
    pub async fn scans(&self, source: Option<&str>, limit: u32) -> Result<Vec<ScanRecord>> {
        self.load_scans(source, false, limit).await
    }

    /// The last `n` completed scans (`ok` or `partial`) of a source, newest first.
    pub async fn completed_scans(&self, source: &str, n: u32) -> Result<Vec<ScanRecord>> {
        self.load_scans(Some(source), true, n).await
    }

    async fn load_scans(
        &self,
        source: Option<&str>,
        completed: bool,
        limit: u32,
    ) -> Result<Vec<ScanRecord>> {
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT id, source, started_at, finished_at, duration_ms, status, tables_total, tables_scanned, \
                 tables_failed, columns_scanned, personal_columns, error, detectors FROM scans \
                 WHERE (CAST($1 AS TEXT) IS NULL OR source = $1) AND (NOT $2 OR status IN ('ok', 'partial')) \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(source)
            .bind(completed)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db("reading the scan history"))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let id: i64 = r.get("id");
                let failures = sqlx::query_as::<_, (String, String, String)>(
                    "SELECT schema_name, table_name, error FROM scan_failures WHERE scan_id = $1 \
                     ORDER BY schema_name, table_name",
                )
                .bind(id)
                .fetch_all(pool)
                .await
                .map_err(db("reading table failures"))?
                .into_iter()
                .map(|(schema, table, error)| TableFailure {
                    schema,
                    table,
                    error,
                })
                .collect();
                let detectors: String = r.get("detectors");
                out.push(ScanRecord {
                    id,
                    source: r.get("source"),
                    started_at: r.get("started_at"),
                    finished_at: r.get("finished_at"),
                    duration_ms: r.get("duration_ms"),
                    status: ScanStatus::parse(r.get("status"))?,
                    tables_total: r.get::<i64, _>("tables_total") as u64,
                    tables_scanned: r.get::<i64, _>("tables_scanned") as u64,
                    tables_failed: r.get::<i64, _>("tables_failed") as u64,
                    columns_scanned: r.get::<i64, _>("columns_scanned") as u64,
                    personal_columns: r.get::<i64, _>("personal_columns") as u64,
                    error: r.get("error"),
                    detectors: serde_json::from_str(&detectors)
                        .map_err(json_err("decoding detector versions"))?,
                    failures,
                });
            }
            Ok(out)
        })
    }

    /// The sources that have scans, sorted.
    pub async fn sources(&self) -> Result<Vec<String>> {
        with_db!(self, |pool, kind| {
            sqlx::query_scalar("SELECT DISTINCT source FROM scans ORDER BY source")
                .fetch_all(pool)
                .await
                .map_err(db("listing sources"))
        })
    }

    /// The columns a scan classified, with the categories it found personal.
    pub async fn snapshot(&self, scan_id: i64) -> Result<Vec<SnapshotColumn>> {
        with_db!(self, |pool, kind| {
            #[allow(clippy::type_complexity)]
            let rows = sqlx::query_as::<_, (String, String, String, String, String, String, i64)>(
                "SELECT c.source, c.schema_name, c.table_name, c.column_name, s.status, s.categories, \
                 s.transformed \
                 FROM scan_columns s JOIN columns c ON c.id = s.column_id WHERE s.scan_id = $1 \
                 ORDER BY c.source, c.schema_name, c.table_name, c.column_name",
            )
            .bind(scan_id)
            .fetch_all(pool)
            .await
            .map_err(db("reading a scan snapshot"))?;
            rows.into_iter()
                .map(
                    |(source, schema, table, column, status, cats, transformed)| {
                        Ok(SnapshotColumn {
                            key: ColumnKey {
                                source,
                                schema,
                                table,
                                column,
                            },
                            status: parse_column_status(&status)?,
                            categories: cats
                                .split(',')
                                .filter(|c| !c.is_empty())
                                .map(str::to_string)
                                .collect(),
                            transformed: transformed.max(0) as u64,
                        })
                    },
                )
                .collect()
        })
    }

    // ----- columns and reviews -----

    /// Columns with evidence and decisions, sorted by source, schema, table, column.
    pub async fn columns(&self, filter: &ColumnFilter) -> Result<Vec<ColumnRecord>> {
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT id, source, schema_name, table_name, column_name, sql_type, row_estimate, sample_method, \
                 sampled, non_null, transformed, status, first_seen, last_seen, last_scanned, dropped_at, scan_note FROM columns \
                 WHERE (CAST($1 AS TEXT) IS NULL OR source = $1) ORDER BY source, schema_name, table_name, column_name",
            )
            .bind(filter.source.as_deref())
            .fetch_all(pool)
            .await
            .map_err(db("reading columns"))?;
            let mut findings: HashMap<i64, Vec<CategoryRecord>> = HashMap::new();
            let frows = sqlx::query(
                "SELECT f.column_id, f.category, f.detectors, f.matched, f.share, f.layout, f.name_hint, f.confidence, \
                 f.sensitivity, f.examples, f.personal, f.scan_id, f.rule, c.transformed FROM findings f \
                 JOIN columns c ON c.id = f.column_id \
                 WHERE (CAST($1 AS TEXT) IS NULL OR c.source = $1)",
            )
            .bind(filter.source.as_deref())
            .fetch_all(pool)
            .await
            .map_err(db("reading findings"))?;
            for r in frows {
                let detectors: String = r.get("detectors");
                let examples: String = r.get("examples");
                let personal: bool = r.get("personal");
                let evidence = Evidence {
                    detectors: serde_json::from_str(&detectors)
                        .map_err(json_err("decoding detectors"))?,
                    matched: r.get::<i64, _>("matched") as u64,
                    share: r.get("share"),
                    layout: parse_layout(r.get("layout"))?,
                    name_hint: r.get("name_hint"),
                    confidence: r.get("confidence"),
                    examples: serde_json::from_str(&examples)
                        .map_err(json_err("decoding examples"))?,
                    personal,
                    scan_id: r.get("scan_id"),
                    rule: r.get("rule"),
                    transformed: r.get::<i64, _>("transformed") as u64,
                };
                findings
                    .entry(r.get("column_id"))
                    .or_default()
                    .push(CategoryRecord {
                        category: r.get("category"),
                        sensitivity: Some(parse_sensitivity(r.get("sensitivity"))?),
                        evidence: Some(evidence),
                        status: if personal {
                            CategoryStatus::Suggested
                        } else {
                            CategoryStatus::BelowThreshold
                        },
                        reviewed_by: None,
                        reviewed_at: None,
                        note: None,
                    });
            }
            let reviews = sqlx::query(
                "SELECT r.column_id, r.category, r.status, r.reviewed_by, r.reviewed_at, r.note FROM reviews r \
                 JOIN columns c ON c.id = r.column_id WHERE (CAST($1 AS TEXT) IS NULL OR c.source = $1)",
            )
            .bind(filter.source.as_deref())
            .fetch_all(pool)
            .await
            .map_err(db("reading reviews"))?;
            for r in reviews {
                let list = findings.entry(r.get("column_id")).or_default();
                let category: String = r.get("category");
                let idx = match list.iter().position(|c| c.category == category) {
                    Some(i) => i,
                    None => {
                        list.push(CategoryRecord {
                            category,
                            sensitivity: None,
                            evidence: None,
                            status: CategoryStatus::BelowThreshold,
                            reviewed_by: None,
                            reviewed_at: None,
                            note: None,
                        });
                        list.len() - 1
                    }
                };
                let c = &mut list[idx];
                c.status = match r.get::<&str, _>("status") {
                    "confirmed" => CategoryStatus::Confirmed,
                    _ => CategoryStatus::Rejected,
                };
                c.reviewed_by = r.get("reviewed_by");
                c.reviewed_at = r.get("reviewed_at");
                c.note = r.get("note");
            }
            let mut out = Vec::new();
            for r in rows {
                let id: i64 = r.get("id");
                let mut categories = findings.remove(&id).unwrap_or_default();
                categories.sort_by(|a, b| {
                    let ma = a.evidence.as_ref().map_or(0, |e| e.matched);
                    let mb = b.evidence.as_ref().map_or(0, |e| e.matched);
                    b.status
                        .holds()
                        .cmp(&a.status.holds())
                        .then(mb.cmp(&ma))
                        .then(a.category.cmp(&b.category))
                });
                let record = ColumnRecord {
                    key: ColumnKey {
                        source: r.get("source"),
                        schema: r.get("schema_name"),
                        table: r.get("table_name"),
                        column: r.get("column_name"),
                    },
                    sql_type: r.get("sql_type"),
                    row_estimate: r.get("row_estimate"),
                    sample_method: r.get("sample_method"),
                    sampled: r.get::<i64, _>("sampled") as u64,
                    non_null: r.get::<i64, _>("non_null") as u64,
                    transformed: r.get::<i64, _>("transformed") as u64,
                    scan_status: parse_column_status(r.get("status"))?,
                    first_seen: r.get("first_seen"),
                    last_seen: r.get("last_seen"),
                    last_scanned: r.get("last_scanned"),
                    dropped_at: r.get("dropped_at"),
                    scan_note: r.get("scan_note"),
                    categories,
                };
                if filter.all || (record.dropped_at.is_none() && record.is_personal()) {
                    out.push(record);
                }
            }
            Ok(out)
        })
    }

    /// The inventory columns a typed path can mean.
    pub async fn resolve(&self, path: &ColumnPath) -> Result<Vec<ColumnKey>> {
        with_db!(self, |pool, kind| {
            let rows = sqlx::query_as::<_, (String, String, String, String)>(
                "SELECT source, schema_name, table_name, column_name FROM columns ORDER BY 1, 2, 3, 4",
            )
            .fetch_all(pool)
            .await
            .map_err(db("looking up the column"))?;
            Ok(rows
                .into_iter()
                .map(|(source, schema, table, column)| ColumnKey {
                    source,
                    schema,
                    table,
                    column,
                })
                .filter(|k| path.matches(k))
                .collect())
        })
    }

    /// Records a person's decision on (column, category). It survives every later scan.
    /// Returns the column it applied to. Errors when the path matches no column or several.
    pub async fn review(
        &self,
        path: &ColumnPath,
        category: &str,
        decision: Decision,
        by: &str,
        note: Option<&str>,
    ) -> Result<ColumnKey> {
        with_db!(self, |pool, kind| {
            if category.is_empty()
                || !category
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::Other(format!(
                    "`{category}` is not a category id: use lower-case ids such as phone, email, cn_resident_id"
                )));
            }
            if by.trim().is_empty() {
                return Err(Error::Other("say who decides: --by NAME".into()));
            }
            let mut keys = self.resolve(path).await?;
            let key = match keys.len() {
                0 => {
                    return Err(Error::Other(format!(
                        "no column `{path}` in the inventory; run `datawarden scan` first, or see `datawarden inventory list --all`"
                    )))
                }
                1 => keys.remove(0),
                _ => {
                    let list: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                    return Err(Error::Other(format!(
                        "`{path}` is ambiguous; write one of: {}",
                        list.join(", ")
                    )));
                }
            };
            let now = Utc::now();
            let status = decision.status().as_str();
            let mut tx = pool.begin_write().await.map_err(db("starting a review"))?;
            let column_id: i64 = sqlx::query_scalar(
                "SELECT id FROM columns WHERE source = $1 AND schema_name = $2 AND table_name = $3 AND column_name = $4",
            )
            .bind(&key.source)
            .bind(&key.schema)
            .bind(&key.table)
            .bind(&key.column)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("looking up the column"))?;
            sqlx::query(
                "INSERT INTO reviews (column_id, category, status, reviewed_by, reviewed_at, note) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (column_id, category) DO UPDATE SET status = excluded.status, \
                 reviewed_by = excluded.reviewed_by, reviewed_at = excluded.reviewed_at, note = excluded.note",
            )
            .bind(column_id)
            .bind(category)
            .bind(status)
            .bind(by)
            .bind(now)
            .bind(note)
            .execute(&mut *tx)
            .await
            .map_err(db("recording the review"))?;
            sqlx::query(
                "INSERT INTO review_log (column_id, category, status, reviewed_by, reviewed_at, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(column_id)
            .bind(category)
            .bind(status)
            .bind(by)
            .bind(now)
            .bind(note)
            .execute(&mut *tx)
            .await
            .map_err(db("recording the review log"))?;
            tx.commit().await.map_err(db("committing the review"))?;
            Ok(key)
        })
    }
}

fn column_status_str(s: ColumnStatus) -> &'static str {
    match s {
        ColumnStatus::Unknown => "unknown",
        ColumnStatus::Clean => "clean",
        ColumnStatus::Personal => "personal",
    }
}

fn parse_column_status(s: &str) -> Result<ColumnStatus> {
    Ok(match s {
        "unknown" => ColumnStatus::Unknown,
        "clean" => ColumnStatus::Clean,
        "personal" => ColumnStatus::Personal,
        other => {
            return Err(Error::Inventory(format!(
                "unknown column status `{other}` in the store"
            )))
        }
    })
}

fn parse_layout(s: &str) -> Result<Layout> {
    Ok(match s {
        "whole_value" => Layout::WholeValue,
        "free_text" => Layout::FreeText,
        other => {
            return Err(Error::Inventory(format!(
                "unknown layout `{other}` in the store"
            )))
        }
    })
}

fn parse_sensitivity(s: &str) -> Result<Sensitivity> {
    Ok(match s {
        "low" => Sensitivity::Low,
        "moderate" => Sensitivity::Moderate,
        "high" => Sensitivity::High,
        other => {
            return Err(Error::Inventory(format!(
                "unknown sensitivity `{other}` in the store"
            )))
        }
    })
}
