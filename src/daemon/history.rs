//! The job run history of the daemon, kept in the store (see [`crate::store`]'s job runs): one row
//! per attempt, written when it starts and when it ends. The daemon reads it for catch-up after
//! downtime; `datawarden status` reads it for the last run of every job.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::store::Store;
pub use crate::store::{JobHistory, Outcome, RunRecord};

/// Access to the job runs of a store.
#[derive(Debug, Clone)]
pub struct History {
    store: Store,
}

impl History {
    /// The history in `store`.
    pub async fn new(store: &Store) -> Result<History> {
        Ok(History {
            store: store.clone(),
        })
    }

    /// Opens an existing store; `None` when there is none yet (a SQLite file not created).
    pub async fn open_read_only(url: &str) -> Result<Option<History>> {
        Ok(Store::open_existing(url)
            .await?
            .map(|store| History { store }))
    }

    /// The store the history lives in (claims and leases are kept there too).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records the start of an attempt and returns its id.
    pub async fn start(
        &self,
        job: &str,
        kind: &str,
        scheduled: DateTime<Utc>,
        attempt: u32,
    ) -> Result<i64> {
        self.store.start_run(job, kind, scheduled, attempt).await
    }

    /// Records the end of attempt `id`.
    pub async fn finish(
        &self,
        id: i64,
        outcome: Outcome,
        error: Option<&str>,
        counts: Option<&str>,
    ) -> Result<()> {
        self.store.finish_run(id, outcome, error, counts).await
    }

    /// Marks this node's attempts left `running` by a process that died as `abandoned`; returns
    /// how many (see [`Store::close_abandoned_runs`]).
    pub async fn close_abandoned(&self) -> Result<u64> {
        self.store.close_abandoned_runs().await
    }

    /// The latest attempt and latest success of every job in the history.
    pub async fn latest(&self) -> Result<HashMap<String, JobHistory>> {
        self.store.latest_runs().await
    }
}

#[cfg(test)]
impl History {
    /// The SQLite pool, for assertions in tests.
    pub(crate) fn pool_for_tests(&self) -> sqlx::SqlitePool {
        self.store.sqlite_pool_for_tests().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_attempts_and_reports_latest() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inv.db").display());
        assert!(
            History::open_read_only(&url).await.unwrap().is_none(),
            "no store yet"
        );
        let h = History::new(&Store::open(&url).await.unwrap())
            .await
            .unwrap();
        let t = Utc::now();
        let a = h.start("scan:crm", "scan", t, 1).await.unwrap();
        h.finish(a, Outcome::Success, None, Some("tables=3"))
            .await
            .unwrap();
        let b = h.start("scan:crm", "scan", t, 1).await.unwrap();
        h.finish(b, Outcome::Failure, Some("source crm: refused"), None)
            .await
            .unwrap();
        let c = h.start("enforce:old", "enforce", t, 1).await.unwrap();
        assert_eq!(h.close_abandoned().await.unwrap(), 1);
        let _ = c;
        let ro = History::open_read_only(&url)
            .await
            .unwrap()
            .expect("table exists");
        let latest = ro.latest().await.unwrap();
        let crm = &latest["scan:crm"];
        assert_eq!(crm.last.as_ref().unwrap().outcome, Outcome::Failure);
        assert_eq!(
            crm.last.as_ref().unwrap().error.as_deref(),
            Some("source crm: refused")
        );
        assert_eq!(
            crm.last_success.as_ref().unwrap().counts.as_deref(),
            Some("tables=3")
        );
        let old = &latest["enforce:old"];
        assert_eq!(old.last.as_ref().unwrap().outcome, Outcome::Abandoned);
        assert!(old.last_success.is_none());
    }
}
