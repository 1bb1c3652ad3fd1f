//! `datawarden inventory migrate`: copies a SQLite inventory into an empty PostgreSQL one, every
//! table row for row with its ids (scans, columns, review log, audit `seq`, job runs), in one
//! PostgreSQL transaction, then verifies the copied audit chain and compares its head with the
//! source's.
//!
//! The target must hold no data: two audit chains cannot be merged (each starts at genesis) and
//! ids would collide, so a target with any row is refused and nothing is written. The source file
//! is opened like every command opens it (a file of an older version is upgraded in place first).

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use super::{db, Pools, Store};
use crate::error::{Error, Result};
use crate::retention::audit::{verify_records, Verification};

/// A column's type, for reading it from SQLite and binding it on PostgreSQL.
#[derive(Clone, Copy)]
enum T {
    /// BIGINT
    I,
    /// DOUBLE PRECISION
    F,
    /// BOOLEAN
    B,
    /// TEXT
    S,
    /// TIMESTAMPTZ (RFC 3339 text on SQLite)
    Ts,
}

use T::*;

/// A table: its name, its columns with their types, and the id column whose sequence is moved
/// past the copied ids.
type Table = (
    &'static str,
    &'static [(&'static str, T)],
    Option<&'static str>,
);

/// The tables in foreign-key order.
const TABLES: &[Table] = &[
    (
        "scans",
        &[
            ("id", I),
            ("source", S),
            ("started_at", Ts),
            ("finished_at", Ts),
            ("duration_ms", I),
            ("status", S),
            ("tables_total", I),
            ("tables_scanned", I),
            ("tables_failed", I),
            ("columns_scanned", I),
            ("personal_columns", I),
            ("error", S),
            ("detectors", S),
        ],
        Some("id"),
    ),
    (
        "scan_failures",
        &[
            ("scan_id", I),
            ("schema_name", S),
            ("table_name", S),
            ("error", S),
        ],
        None,
    ),
    (
        "columns",
        &[
            ("id", I),
            ("source", S),
            ("schema_name", S),
            ("table_name", S),
            ("column_name", S),
            ("sql_type", S),
            ("row_estimate", I),
            ("sample_method", S),
            ("sampled", I),
            ("non_null", I),
            ("status", S),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("last_scanned", Ts),
            ("last_scan_id", I),
            ("dropped_at", Ts),
            ("transformed", I),
            ("scan_note", S),
        ],
        Some("id"),
    ),
    (
        "findings",
        &[
            ("column_id", I),
            ("category", S),
            ("detectors", S),
            ("matched", I),
            ("share", F),
            ("layout", S),
            ("name_hint", S),
            ("confidence", F),
            ("sensitivity", S),
            ("examples", S),
            ("personal", B),
            ("scan_id", I),
            ("rule", S),
        ],
        None,
    ),
    (
        "scan_columns",
        &[
            ("scan_id", I),
            ("column_id", I),
            ("status", S),
            ("categories", S),
            ("transformed", I),
        ],
        None,
    ),
    (
        "reviews",
        &[
            ("column_id", I),
            ("category", S),
            ("status", S),
            ("reviewed_by", S),
            ("reviewed_at", Ts),
            ("note", S),
        ],
        None,
    ),
    (
        "review_log",
        &[
            ("id", I),
            ("column_id", I),
            ("category", S),
            ("status", S),
            ("reviewed_by", S),
            ("reviewed_at", Ts),
            ("note", S),
        ],
        Some("id"),
    ),
    (
        "retention_audit",
        &[
            ("seq", I),
            ("run_id", S),
            ("kind", S),
            ("policy", S),
            ("description", S),
            ("source", S),
            ("table_name", S),
            ("action", S),
            ("columns", S),
            ("key_id", S),
            ("cutoff", S),
            ("batch", I),
            ("rows_affected", I),
            ("started_at", S),
            ("finished_at", S),
            ("outcome", S),
            ("error", S),
            ("prev_hash", S),
            ("hash", S),
            ("cascaded", S),
            ("warnings", S),
            ("key_first", S),
            ("key_last", S),
            ("held", I),
            ("filter", S),
            ("legal_hold", S),
        ],
        Some("seq"),
    ),
    (
        "retention_checkpoint",
        &[
            ("policy", S),
            ("run_id", S),
            ("cutoff", S),
            ("last_key", S),
            ("rows_affected", I),
            ("batches", I),
            ("updated_at", Ts),
            ("pending_key", S),
            ("pending_rows", I),
            ("pending_started", S),
            ("pending_cascaded", S),
            ("pending_first", S),
        ],
        None,
    ),
    (
        "job_runs",
        &[
            ("id", I),
            ("job", S),
            ("kind", S),
            ("scheduled", Ts),
            ("started", Ts),
            ("finished", Ts),
            ("attempt", I),
            ("outcome", S),
            ("error", S),
            ("counts", S),
            ("node", S),
        ],
        Some("id"),
    ),
    (
        "subject_requests",
        &[
            ("id", S),
            ("received_at", Ts),
            ("due_at", Ts),
            ("status", S),
            ("identifiers", S),
            ("found", I),
            ("exported", I),
            ("erased", I),
            ("audit_runs", S),
            ("updated_at", Ts),
        ],
        None,
    ),
];

/// Rows per INSERT statement.
const CHUNK: usize = 500;

/// One value read from SQLite.
enum V {
    I(Option<i64>),
    F(Option<f64>),
    B(Option<bool>),
    S(Option<String>),
    Ts(Option<DateTime<Utc>>),
}

/// What [`copy_sqlite`] did.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Per table: rows in the source, rows in the target after the copy.
    pub tables: Vec<(String, u64, u64)>,
    /// The copied audit chain, verified on the target.
    pub verification: Verification,
    /// The source chain's head hash (`None` when empty); an intact target ends with the same.
    pub source_head: Option<String>,
}

impl CopyReport {
    /// True when every table has as many rows in the target as in the source, the target chain
    /// verifies, and its head is the source's.
    pub fn complete(&self) -> bool {
        self.tables.iter().all(|(_, s, t)| s == t)
            && match &self.verification {
                Verification::Intact { head, records } => {
                    *records == 0 && self.source_head.is_none()
                        || self.source_head.as_deref() == Some(head.as_str())
                }
                Verification::Broken { .. } => false,
            }
    }
}

/// Copies the SQLite inventory at `from` (a `sqlite://` URL) into `target`, which must be a
/// PostgreSQL store without data.
pub async fn copy_sqlite(from: &str, target: &Store) -> Result<CopyReport> {
    let Pools::Postgres(pg) = &target.backend else {
        return Err(Error::Other(
            "the configured inventory is not PostgreSQL: `inventory migrate` copies a SQLite inventory into a PostgreSQL one ([inventory] url = \"postgres://…\")".into(),
        ));
    };
    if crate::config::Backend::of_url(from) != Some(crate::config::Backend::Sqlite) {
        return Err(Error::Other(format!(
            "--from {}: write sqlite://PATH (the SQLite inventory to copy)",
            crate::config::redact_url(from)
        )));
    }
    if super::sqlite::sqlite_path(from).is_some_and(|p| !p.exists()) {
        return Err(Error::Other(format!("--from {from}: no such file")));
    }
    let source = Store::open(from).await?;
    let Pools::Sqlite(lite) = &source.backend else {
        unreachable!("a sqlite:// URL opens SQLite")
    };
    let mut held = Vec::new();
    for (table, _, _) in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pg)
            .await
            .map_err(db("counting the target's rows"))?;
        if n > 0 {
            held.push(format!("{table} ({n})"));
        }
    }
    if !held.is_empty() {
        source.close().await;
        return Err(Error::Other(format!(
            "the target inventory {} already holds data: {}; nothing was copied. `inventory migrate` copies into an empty database only (two audit chains cannot be merged): create a new database, or drop the tables of this one after making sure they are not needed",
            target.redacted_url(),
            held.join(", ")
        )));
    }
    let mut tx = pg.begin().await.map_err(db("starting the copy"))?;
    let mut counts = Vec::new();
    for (table, cols, serial) in TABLES {
        let select: Vec<String> = cols
            .iter()
            .map(|(c, t)| match t {
                I => format!("CAST({c} AS INTEGER)"),
                F => format!("CAST({c} AS REAL)"),
                _ => c.to_string(),
            })
            .collect();
        let order = cols[0].0;
        let rows = sqlx::query(&format!(
            "SELECT {} FROM {table} ORDER BY {order}",
            select.join(", ")
        ))
        .fetch_all(lite)
        .await
        .map_err(db("reading the source inventory"))?;
        let mut values: Vec<Vec<V>> = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut row = Vec::with_capacity(cols.len());
            for (i, (c, t)) in cols.iter().enumerate() {
                let bad = |e: sqlx::Error| {
                    Error::Inventory(format!("source {table}.{c}: unreadable value: {e}"))
                };
                row.push(match t {
                    I => V::I(r.try_get(i).map_err(bad)?),
                    F => V::F(r.try_get(i).map_err(bad)?),
                    B => V::B(r.try_get(i).map_err(bad)?),
                    S => V::S(r.try_get(i).map_err(bad)?),
                    Ts => V::Ts(r.try_get(i).map_err(bad)?),
                });
            }
            values.push(row);
        }
        let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        for chunk in values.chunks(CHUNK) {
            let mut q = QueryBuilder::<sqlx::Postgres>::new(format!(
                "INSERT INTO {table} ({}) ",
                names.join(", ")
            ));
            q.push_values(chunk, |mut b, row| {
                for v in row {
                    match v {
                        V::I(x) => b.push_bind(*x),
                        V::F(x) => b.push_bind(*x),
                        V::B(x) => b.push_bind(*x),
                        V::S(x) => b.push_bind(x.clone()),
                        V::Ts(x) => b.push_bind(*x),
                    };
                }
            });
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(db("writing the target inventory"))?;
        }
        if let Some(id) = serial {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{id}'), \
                 COALESCE((SELECT MAX({id}) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await
            .map_err(db("moving the id sequence"))?;
        }
        counts.push((table.to_string(), rows.len() as u64));
    }
    tx.commit().await.map_err(db("committing the copy"))?;
    let source_head = source.audit_head().await?.map(|h| h.hash);
    source.close().await;
    let mut tables = Vec::new();
    for (table, n) in counts {
        let copied: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pg)
            .await
            .map_err(db("counting the copied rows"))?;
        tables.push((table, n, copied as u64));
    }
    let verification = verify_records(&target.audit_records().await?);
    Ok(CopyReport {
        tables,
        verification,
        source_head,
    })
}
