//! The request register: one row per data subject request in the inventory store (received, due
//! by `[subject_requests] respond_within`, status, rows found / exported / erased, the audit run
//! ids of the erasure). Identifiers are stored only as keyed hashes (HMAC-SHA-256 with
//! `[keys] pseudonym`), never raw; without that key only their kinds are stored. Every SQL
//! statement of the register lives in this file.

use chrono::{DateTime, Days, Months, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::identifiers::Identifier;
use crate::config::{Config, RetainUnit};
use crate::error::{Error, Result};
use crate::retention::keys::pseudonym_key;
use crate::store::{RequestCount, Store};

/// Statuses that close a request.
const CLOSED: [&str; 2] = ["exported", "erased"];

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
    store: Store,
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
        Ok(Register {
            store: store.clone(),
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
        self.store
            .insert_subject_request(
                &id,
                now,
                due(config, now),
                &serde_json::Value::Array(ids).to_string(),
            )
            .await?;
        Ok(id)
    }

    /// Records what a command did for request `id`.
    pub async fn record(&self, id: &str, event: Event, runs: Option<&[String]>) -> Result<()> {
        let (which, n, status) = match event {
            Event::Found(n) => (RequestCount::Found, n, None),
            Event::Exported(n) => (RequestCount::Exported, n, Some("exported")),
            Event::Erased(n, true) => (RequestCount::Erased, n, Some("erased")),
            Event::Erased(n, false) => (RequestCount::Erased, n, Some("erasure incomplete")),
        };
        self.store
            .update_subject_request(id, which, n, status, runs.unwrap_or_default())
            .await
    }

    /// Requests by due date: open ones (`all`: every one).
    pub async fn list(&self, all: bool) -> Result<Vec<RequestRow>> {
        let now = Utc::now();
        let mut out = Vec::new();
        for r in self.store.subject_requests().await? {
            if !all && CLOSED.contains(&r.status.as_str()) {
                continue;
            }
            let secs = (r.due_at - now).num_seconds();
            out.push(RequestRow {
                id: r.id,
                received_at: rfc3339(r.received_at),
                due_at: rfc3339(r.due_at),
                days_left: secs.div_euclid(86_400) + i64::from(secs.rem_euclid(86_400) > 0),
                status: r.status,
                found: r.found,
                exported: r.exported,
                erased: r.erased,
                audit_runs: serde_json::from_str(&r.audit_runs).unwrap_or_default(),
                identifiers: serde_json::from_str(&r.identifiers).unwrap_or_default(),
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
            .execute(reg.store.sqlite_pool_for_tests())
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
