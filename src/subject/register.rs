//! The request register: one row per data subject request in the inventory store (received, due
//! by `[subject_requests] respond_within`, status, rows found / exported / erased, the audit run
//! ids of the erasure). Identifiers are stored only as keyed hashes (HMAC-SHA-256 with
//! `[keys] pseudonym`), never raw; without that key only their kinds are stored. Every SQL
//! statement of the register lives in this file.

use chrono::{DateTime, Days, Months, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::{Row, SqlitePool};

use super::identifiers::Identifier;
use crate::config::{Config, RetainUnit};
use crate::error::{Error, Result};
use crate::inventory::{Migrations, Store};
use crate::retention::keys::pseudonym_key;

/// The register's schema, applied by [`Store::ensure`].
pub const MIGRATIONS: Migrations = Migrations {
    module: "subject",
    scripts: &[V1],
};

const V1: &str = "
CREATE TABLE subject_requests (
    id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    found INTEGER NOT NULL DEFAULT 0,
    exported INTEGER NOT NULL DEFAULT 0,
    erased INTEGER NOT NULL DEFAULT 0,
    audit_runs TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
";

/// Statuses that close a request.
const CLOSED: [&str; 2] = ["exported", "erased"];

fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::Inventory(format!("subject requests: {context}: {e}"))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What happened to a request.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// `subject find` found this many rows.
    Found(u64),
    /// `subject export` wrote this many rows.
    Exported(u64),
    /// `subject erase` deleted or changed this many rows; `true` when complete.
    Erased(u64, bool),
}

/// One request as listed.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    pub id: String,
    pub received_at: String,
    pub due_at: String,
    /// Whole days until the due date (negative: overdue).
    pub days_left: i64,
    pub status: String,
    pub found: u64,
    pub exported: u64,
    pub erased: u64,
    /// Run ids of the erasure's audit records.
    pub audit_runs: Vec<String>,
    /// `[{kind, hash}]`: keyed hashes (hash null without `[keys] pseudonym`).
    pub identifiers: serde_json::Value,
}

/// The register in the inventory store.
pub struct Register {
    pool: SqlitePool,
}

/// `from` plus the deadline `respond_within`.
fn due(config: &Config, from: DateTime<Utc>) -> DateTime<Utc> {
    let r = config.subject_requests.respond_within();
    let n = u64::from(r.amount);
    match r.unit {
        RetainUnit::Days => from.checked_add_days(Days::new(n)),
        RetainUnit::Weeks => from.checked_add_days(Days::new(7 * n)),
        RetainUnit::Months => from.checked_add_months(Months::new(r.amount)),
        RetainUnit::Years => from.checked_add_months(Months::new(12 * r.amount)),
    }
    .unwrap_or(from)
}

impl Register {
    /// Opens the register (creating its table) in the inventory store.
    pub async fn open(config: &Config) -> Result<Register> {
        let store = Store::open(&config.inventory.url).await?;
        Register::of_store(&store).await
    }

    /// The register in an open inventory store (creating its table when missing).
    pub async fn of_store(store: &Store) -> Result<Register> {
        store.ensure(&MIGRATIONS).await?;
        Ok(Register {
            pool: store.pool().clone(),
        })
    }

    /// Records request `id` (a new id when `None`) if it is new, and returns its id. The
    /// identifiers are stored as keyed hashes.
    pub async fn begin(
        &self,
        config: &Config,
        id: Option<&str>,
        idents: &[Identifier],
    ) -> Result<String> {
        let now = Utc::now();
        let id = match id {
            Some(i) if !i.trim().is_empty() => i.trim().to_string(),
            Some(_) => return Err(Error::Other("--request: the id is empty".into())),
            None => format!(
                "R-{}-{:04x}",
                now.format("%Y%m%d-%H%M%S"),
                rand::random::<u16>()
            ),
        };
        let key = pseudonym_key(&config.keys)?;
        let ids: Vec<serde_json::Value> = idents
            .iter()
            .map(|i| {
                let hash = key.as_ref().map(|k| {
                    let mut mac =
                        <Hmac<Sha256> as Mac>::new_from_slice(k.expose()).expect("any key length");
                    mac.update(b"datawarden subject request\0");
                    mac.update(i.normalized.as_bytes());
                    let tag = mac.finalize().into_bytes();
                    tag[..16]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                });
                serde_json::json!({"kind": i.kind, "hash": hash})
            })
            .collect();
        sqlx::query(
            "INSERT INTO subject_requests (id, received_at, due_at, status, identifiers, updated_at) \
             VALUES (?, ?, ?, 'received', ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(rfc3339(now))
        .bind(rfc3339(due(config, now)))
        .bind(serde_json::Value::Array(ids).to_string())
        .bind(rfc3339(now))
        .execute(&self.pool)
        .await
        .map_err(db("recording the request"))?;
        Ok(id)
    }

    /// Records what a command did for request `id`.
    pub async fn record(&self, id: &str, event: Event, runs: Option<&[String]>) -> Result<()> {
        let now = rfc3339(Utc::now());
        let (sql, n, status) = match event {
            Event::Found(n) => ("found", n, None),
            Event::Exported(n) => ("exported", n, Some("exported")),
            Event::Erased(n, true) => ("erased", n, Some("erased")),
            Event::Erased(n, false) => ("erased", n, Some("erasure incomplete")),
        };
        let q = format!(
            "UPDATE subject_requests SET {sql} = ?, updated_at = ?, \
             status = COALESCE(?, CASE WHEN status = 'received' THEN 'searched' ELSE status END) \
             WHERE id = ?"
        );
        sqlx::query(&q)
            .bind(n as i64)
            .bind(&now)
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("updating the request"))?;
        if let Some(runs) = runs {
            let old: String =
                sqlx::query_scalar("SELECT audit_runs FROM subject_requests WHERE id = ?")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db("reading the request"))?;
            let mut all: Vec<String> = serde_json::from_str(&old).unwrap_or_default();
            for r in runs {
                if !all.contains(r) {
                    all.push(r.clone());
                }
            }
            sqlx::query("UPDATE subject_requests SET audit_runs = ? WHERE id = ?")
                .bind(serde_json::to_string(&all).expect("serializable"))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db("updating the request"))?;
        }
        Ok(())
    }

    /// Requests by due date: open ones (`all`: every one).
    pub async fn list(&self, all: bool) -> Result<Vec<RequestRow>> {
        let rows = sqlx::query(
            "SELECT id, received_at, due_at, status, found, exported, erased, audit_runs, identifiers \
             FROM subject_requests ORDER BY due_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing requests"))?;
        let now = Utc::now();
        let mut out = Vec::new();
        for r in rows {
            let status: String = r.get(3);
            if !all && CLOSED.contains(&status.as_str()) {
                continue;
            }
            let due_at: String = r.get(2);
            let days_left = DateTime::parse_from_rfc3339(&due_at)
                .map(|d| {
                    let secs = (d.with_timezone(&Utc) - now).num_seconds();
                    secs.div_euclid(86_400) + i64::from(secs.rem_euclid(86_400) > 0)
                })
                .unwrap_or(0);
            out.push(RequestRow {
                id: r.get(0),
                received_at: r.get(1),
                due_at,
                days_left,
                status,
                found: r.get::<i64, _>(4) as u64,
                exported: r.get::<i64, _>(5) as u64,
                erased: r.get::<i64, _>(6) as u64,
                audit_runs: serde_json::from_str(&r.get::<String, _>(7)).unwrap_or_default(),
                identifiers: serde_json::from_str(&r.get::<String, _>(8)).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// `(open, overdue)`: requests not closed, and of those the ones past their due date.
    pub async fn counts(&self) -> Result<(u64, u64)> {
        let open = self.list(false).await?;
        let now = Utc::now();
        let overdue = open
            .iter()
            .filter(|r| {
                DateTime::parse_from_rfc3339(&r.due_at).is_ok_and(|d| d.with_timezone(&Utc) < now)
            })
            .count();
        Ok((open.len() as u64, overdue as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::identifiers::Kind;

    #[tokio::test]
    async fn requests_are_listed_with_days_left_and_overdue_counted() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[inventory]\nurl = \"sqlite://{}\"\n[subject_requests]\nrespond_within = \"15d\"\n",
            dir.path().join("inv.db").display()
        );
        let config = Config::parse(&text, &dir.path().join("dw.toml")).unwrap();
        let reg = Register::open(&config).await.unwrap();
        let id = Identifier::parse(Kind::Phone, "13800138000").unwrap();
        let a = reg
            .begin(&config, Some("A"), std::slice::from_ref(&id))
            .await
            .unwrap();
        let b = reg.begin(&config, None, &[id]).await.unwrap();
        assert_eq!(a, "A");
        assert_ne!(b, "A");
        let list = reg.list(false).await.unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|r| r.days_left == 15), "{list:?}");
        // Without [keys] pseudonym only the kind is stored, never the value.
        let ids = list[0].identifiers.to_string();
        assert!(
            !ids.contains("13800138000") && ids.contains("phone"),
            "{ids}"
        );
        assert_eq!(reg.counts().await.unwrap(), (2, 0));
        sqlx::query("UPDATE subject_requests SET due_at = '2000-01-01T00:00:00Z' WHERE id = 'A'")
            .execute(&reg.pool)
            .await
            .unwrap();
        assert_eq!(reg.counts().await.unwrap(), (2, 1));
        reg.record("A", Event::Erased(3, true), Some(&["run-1".to_string()]))
            .await
            .unwrap();
        assert_eq!(reg.counts().await.unwrap(), (1, 0));
        let all = reg.list(true).await.unwrap();
        let a = all.iter().find(|r| r.id == "A").unwrap();
        assert_eq!((a.status.as_str(), a.erased), ("erased", 3));
        assert_eq!(a.audit_runs, vec!["run-1".to_string()]);
    }
}
