//! The register of data subject requests (see [`crate::subject::register`] for what a request
//! records). Identifiers arrive here already as keyed hashes; this module never sees a raw one.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{db, with_db, Store, WritePool};
use crate::error::Result;

/// One request as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// received | searched | exported | erased | erasure incomplete.
    pub status: String,
    /// JSON `[{kind, hash}]`.
    pub identifiers: String,
    pub found: u64,
    pub exported: u64,
    pub erased: u64,
    /// JSON array of the erasure's audit run ids.
    pub audit_runs: String,
}

/// Which count of a request an event sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestCount {
    Found,
    Exported,
    Erased,
}

impl Store {
    /// Records request `id` unless it is already registered (then nothing changes).
    pub async fn insert_subject_request(
        &self,
        id: &str,
        received_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        identifiers: &str,
    ) -> Result<()> {
        with_db!(self, |pool, kind| {
            sqlx::query(
                "INSERT INTO subject_requests (id, received_at, due_at, status, identifiers, updated_at) \
                 VALUES ($1, $2, $3, 'received', $4, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(received_at)
            .bind(due_at)
            .bind(identifiers)
            .execute(pool)
            .await
            .map_err(db("subject requests: recording the request"))?;
            Ok(())
        })
    }

    /// Sets count `which` of request `id` to `n`, its status to `status` (or `searched` after
    /// `received` when `None`), and adds `runs` to its audit run ids, in one transaction.
    pub async fn update_subject_request(
        &self,
        id: &str,
        which: RequestCount,
        n: u64,
        status: Option<&str>,
        runs: &[String],
    ) -> Result<()> {
        let sql = match which {
            RequestCount::Found => {
                "UPDATE subject_requests SET found = $1, updated_at = $2, \
                 status = COALESCE($3, CASE WHEN status = 'received' THEN 'searched' ELSE status END) \
                 WHERE id = $4 RETURNING audit_runs"
            }
            RequestCount::Exported => {
                "UPDATE subject_requests SET exported = $1, updated_at = $2, \
                 status = COALESCE($3, CASE WHEN status = 'received' THEN 'searched' ELSE status END) \
                 WHERE id = $4 RETURNING audit_runs"
            }
            RequestCount::Erased => {
                "UPDATE subject_requests SET erased = $1, updated_at = $2, \
                 status = COALESCE($3, CASE WHEN status = 'received' THEN 'searched' ELSE status END) \
                 WHERE id = $4 RETURNING audit_runs"
            }
        };
        with_db!(self, |pool, kind| {
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("subject requests: updating the request"))?;
            let old: Option<String> = sqlx::query_scalar(sql)
                .bind(n as i64)
                .bind(Utc::now())
                .bind(status)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("subject requests: updating the request"))?;
            if let (Some(old), false) = (old, runs.is_empty()) {
                let mut all: Vec<String> = serde_json::from_str(&old).unwrap_or_default();
                for r in runs {
                    if !all.contains(r) {
                        all.push(r.clone());
                    }
                }
                sqlx::query("UPDATE subject_requests SET audit_runs = $1 WHERE id = $2")
                    .bind(serde_json::to_string(&all).expect("strings serialize"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("subject requests: updating the request"))?;
            }
            tx.commit()
                .await
                .map_err(db("subject requests: updating the request"))
        })
    }

    /// Every request, by due date.
    pub async fn subject_requests(&self) -> Result<Vec<StoredRequest>> {
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT id, received_at, due_at, status, identifiers, found, exported, erased, \
                 audit_runs FROM subject_requests ORDER BY due_at, id",
            )
            .fetch_all(pool)
            .await
            .map_err(db("subject requests: listing requests"))?;
            let count = |r: &_, i| {
                let v: i64 = Row::get(r, i);
                v.max(0) as u64
            };
            Ok(rows
                .iter()
                .map(|r| StoredRequest {
                    id: r.get(0),
                    received_at: r.get(1),
                    due_at: r.get(2),
                    status: r.get(3),
                    identifiers: r.get(4),
                    found: count(r, 5),
                    exported: count(r, 6),
                    erased: count(r, 7),
                    audit_runs: r.get(8),
                })
                .collect())
        })
    }
}
