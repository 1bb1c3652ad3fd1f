//! The audit chain's statements: appending a record (with the policy's checkpoint change in the
//! same transaction), reading the chain, its head, and the last finished run of every policy.
//!
//! Appends are strictly sequential on both backends: SQLite's `BEGIN IMMEDIATE` holds the file's
//! write lock; on PostgreSQL the appending transaction first takes `pg_advisory_xact_lock` (released
//! at commit or rollback, safe behind a transaction-mode pooler), so no two transactions read the
//! same chain head. `prev_hash` is UNIQUE as well: a fork cannot be stored even without the lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{db, with_db, Kind, Store, WritePool};
use crate::error::{Error, Result};
use crate::inventory::coverage::LastRun;
use crate::retention::audit::{AuditRecord, Head, GENESIS};
use crate::retention::checkpoint::Checkpoint;

/// What [`Store::append_audit`] does to the policy's checkpoint, in the same transaction.
#[derive(Debug, Clone, Copy)]
pub enum CheckpointChange<'a> {
    /// Nothing.
    Keep,
    /// Save this checkpoint.
    Save(&'a Checkpoint),
    /// Clear the checkpoint of this policy.
    Clear(&'a str),
}

const SELECT_RECORDS: &str =
    "SELECT seq, run_id, kind, policy, description, source, table_name, action, columns, key_id,
       cutoff, batch, rows_affected, started_at, finished_at, outcome, error, prev_hash, hash,
       cascaded, warnings, key_first, key_last, held, filter, legal_hold
     FROM retention_audit ORDER BY seq";

const INSERT_RECORD: &str =
    "INSERT INTO retention_audit (run_id, kind, policy, description, source, table_name, action,
       columns, key_id, cutoff, batch, rows_affected, started_at, finished_at, outcome, error,
       prev_hash, hash, cascaded, warnings, key_first, key_last, held, filter, legal_hold)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
       $20, $21, $22, $23, $24, $25)
     RETURNING seq";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializable")
}

impl Store {
    /// Appends `rec` to the chain (filling in `seq`, `prev_hash` and `hash`) and applies `cp` to
    /// the checkpoint, in one transaction. Retries a few times when the transaction fails (a
    /// concurrent writer, a busy file).
    pub async fn append_audit(
        &self,
        rec: &mut AuditRecord,
        cp: CheckpointChange<'_>,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_append(rec, cp).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= 5 => return Err(e),
                Err(e) => tracing::debug!(attempt, "audit append retried: {e}"),
            }
        }
    }

    async fn try_append(&self, rec: &mut AuditRecord, cp: CheckpointChange<'_>) -> Result<()> {
        with_db!(self, |pool, kind| {
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting an audit append"))?;
            if kind == Kind::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(super::postgres::AUDIT_CHAIN_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("locking the audit chain"))?;
            }
            let prev: Option<String> =
                sqlx::query_scalar("SELECT hash FROM retention_audit ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("reading the audit chain head"))?;
            rec.prev_hash = prev.unwrap_or_else(|| GENESIS.to_string());
            rec.hash = rec.compute_hash();
            let key = |k: &Vec<String>| (!k.is_empty()).then(|| json(k));
            rec.seq = sqlx::query_scalar(INSERT_RECORD)
                .bind(&rec.run_id)
                .bind(&rec.kind)
                .bind(&rec.policy)
                .bind(&rec.description)
                .bind(&rec.source)
                .bind(&rec.table_name)
                .bind(&rec.action)
                .bind(json(&rec.columns))
                .bind(&rec.key_id)
                .bind(&rec.cutoff)
                .bind(rec.batch)
                .bind(rec.rows_affected)
                .bind(&rec.started_at)
                .bind(&rec.finished_at)
                .bind(&rec.outcome)
                .bind(&rec.error)
                .bind(&rec.prev_hash)
                .bind(&rec.hash)
                .bind((!rec.cascaded.is_empty()).then(|| json(&rec.cascaded)))
                .bind((!rec.warnings.is_empty()).then(|| json(&rec.warnings)))
                .bind(key(&rec.key_first))
                .bind(key(&rec.key_last))
                .bind(rec.held)
                .bind(&rec.filter)
                .bind(&rec.legal_hold)
                .fetch_one(&mut *tx)
                .await
                .map_err(db("appending to the audit chain"))?;
            match cp {
                CheckpointChange::Keep => {}
                CheckpointChange::Save(c) => {
                    super::checkpoint::save_on_conn!(&mut *tx, c)?;
                }
                CheckpointChange::Clear(p) => {
                    sqlx::query("DELETE FROM retention_checkpoint WHERE policy = $1")
                        .bind(p)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("clearing the checkpoint"))?;
                }
            }
            tx.commit().await.map_err(db("committing an audit append"))
        })
    }

    /// Every audit record, in chain order. An empty list when the store has no audit trail.
    pub async fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        if !self.has_table("retention_audit").await? {
            return Ok(Vec::new());
        }
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(SELECT_RECORDS)
                .fetch_all(pool)
                .await
                .map_err(db("reading the audit trail"))?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let columns: String = r.get(8);
                    let cascaded: Option<String> = r.get(19);
                    let warnings: Option<String> = r.get(20);
                    let key = |i: usize| {
                        r.get::<Option<String>, _>(i)
                            .map(|k| {
                                serde_json::from_str(&k)
                                    .unwrap_or_else(|_| vec![format!("<unreadable: {k}>")])
                            })
                            .unwrap_or_default()
                    };
                    AuditRecord {
                        seq: r.get(0),
                        run_id: r.get(1),
                        kind: r.get(2),
                        policy: r.get(3),
                        description: r.get(4),
                        source: r.get(5),
                        table_name: r.get(6),
                        action: r.get(7),
                        columns: serde_json::from_str(&columns)
                            .unwrap_or_else(|_| vec![format!("<unreadable: {columns}>")]),
                        key_id: r.get(9),
                        cutoff: r.get(10),
                        batch: r.get(11),
                        rows_affected: r.get(12),
                        started_at: r.get(13),
                        finished_at: r.get(14),
                        outcome: r.get(15),
                        error: r.get(16),
                        prev_hash: r.get(17),
                        hash: r.get(18),
                        // An unreadable value fails verification (the hash covers it) rather
                        // than vanish.
                        cascaded: cascaded
                            .map(|c| {
                                serde_json::from_str(&c).unwrap_or_else(|_| {
                                    BTreeMap::from([(format!("<unreadable: {c}>"), 0)])
                                })
                            })
                            .unwrap_or_default(),
                        warnings: warnings
                            .map(|w| {
                                serde_json::from_str(&w)
                                    .unwrap_or_else(|_| vec![format!("<unreadable: {w}>")])
                            })
                            .unwrap_or_default(),
                        key_first: key(21),
                        key_last: key(22),
                        held: r.get(23),
                        filter: r.get(24),
                        legal_hold: r.get(25),
                    }
                })
                .collect())
        })
    }

    /// The last record's head, `None` when the trail is empty.
    pub async fn audit_head(&self) -> Result<Option<Head>> {
        if !self.has_table("retention_audit").await? {
            return Ok(None);
        }
        with_db!(self, |pool, kind| {
            let row: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM retention_audit ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(pool)
                    .await
                    .map_err(db("reading the audit chain head"))?;
            Ok(row.map(|(seq, hash)| Head { seq, hash }))
        })
    }

    /// The last `run_finished` audit record of every policy, by policy name. Empty when the store
    /// has no audit trail yet (nothing was ever enforced).
    pub async fn last_policy_runs(&self) -> Result<HashMap<String, LastRun>> {
        if !self.has_table("retention_audit").await? {
            return Ok(HashMap::new());
        }
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT a.policy, a.source, a.table_name, a.action, a.columns, a.outcome, a.finished_at \
                 FROM retention_audit a WHERE a.kind = 'run_finished' AND a.seq = \
                 (SELECT MAX(b.seq) FROM retention_audit b WHERE b.kind = 'run_finished' AND b.policy = a.policy)",
            )
            .fetch_all(pool)
            .await
            .map_err(|e| Error::Inventory(format!("reading the audit trail: {e}")))?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let columns: String = r.get("columns");
                    let finished: Option<String> = r.get("finished_at");
                    (
                        r.get::<String, _>("policy"),
                        LastRun {
                            source: r.get("source"),
                            table_name: r.get("table_name"),
                            action: r.get("action"),
                            columns: serde_json::from_str(&columns).unwrap_or_default(),
                            outcome: r.get("outcome"),
                            finished_at: finished
                                .and_then(|f| DateTime::parse_from_rfc3339(&f).ok())
                                .map(|t| t.with_timezone(&Utc)),
                        },
                    )
                })
                .collect())
        })
    }
}
