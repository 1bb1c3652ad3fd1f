//! The job run history (`job_runs` table in the inventory store): one row per attempt, written when
//! it starts and when it ends. The daemon reads it for catch-up after downtime; `datawarden status`
//! reads it for the last run of every job.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use crate::error::{Error, Result};
use crate::inventory::{Migrations, Store};

/// The daemon's migrations in the inventory store (module `daemon`).
pub const MIGRATIONS: Migrations = Migrations {
    module: "daemon",
    scripts: &[V1],
};

/// v1: one row per attempt.
const V1: &str = "CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    kind TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    counts TEXT
);
CREATE INDEX job_runs_job ON job_runs (job, id);";

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still going (or the process died during it; see [`History::close_abandoned`]).
    Running,
    /// Finished.
    Success,
    /// Stopped early on request; the next run continues.
    Interrupted,
    /// Returned an error.
    Failure,
    /// Panicked.
    Panic,
    /// Found still `running` when the daemon started: the process was killed during it.
    Abandoned,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Success => "success",
            Outcome::Interrupted => "interrupted",
            Outcome::Failure => "failure",
            Outcome::Panic => "panic",
            Outcome::Abandoned => "abandoned",
        }
    }
    fn parse(s: &str) -> Outcome {
        match s {
            "running" => Outcome::Running,
            "success" => Outcome::Success,
            "interrupted" => Outcome::Interrupted,
            "panic" => Outcome::Panic,
            "abandoned" => Outcome::Abandoned,
            _ => Outcome::Failure,
        }
    }
}

/// One attempt as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The job name.
    pub job: String,
    /// The fire time the attempt belongs to.
    pub scheduled: DateTime<Utc>,
    /// When the attempt started.
    pub started: DateTime<Utc>,
    /// When it ended (None while running).
    pub finished: Option<DateTime<Utc>>,
    /// 1 for the scheduled run, 2.. for retries.
    pub attempt: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The error message of a failure (never a secret: errors are redacted where raised).
    pub error: Option<String>,
    /// `name=value` counts.
    pub counts: Option<String>,
}

/// The latest attempt and the latest success of one job.
#[derive(Debug, Clone, Default)]
pub struct JobHistory {
    /// The most recent attempt.
    pub last: Option<RunRecord>,
    /// The most recent successful attempt.
    pub last_success: Option<RunRecord>,
}

/// Access to `job_runs`.
#[derive(Debug, Clone)]
pub struct History {
    pool: SqlitePool,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Inventory(format!("job_runs holds a bad time `{s}`: {e}")))
}

fn db_err(what: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |e| Error::Inventory(format!("{what}: {e}"))
}

impl History {
    /// The history in `store`, applying the daemon's migrations.
    pub async fn new(store: &Store) -> Result<History> {
        store.ensure(&MIGRATIONS).await?;
        Ok(History {
            pool: store.pool().clone(),
        })
    }

    /// Opens the store read-only; `None` when it or its `job_runs` table does not exist yet.
    pub async fn open_read_only(url: &str) -> Result<Option<History>> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Inventory(format!("bad inventory URL: {e}")))?
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(10));
        let pool = match SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
        {
            Ok(p) => p,
            Err(sqlx::Error::Database(e)) if e.message().contains("unable to open") => {
                return Ok(None)
            }
            Err(e) => {
                return Err(Error::Inventory(format!(
                    "cannot open the inventory store: {e}"
                )))
            }
        };
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_runs'",
        )
        .fetch_optional(&pool)
        .await
        .map_err(db_err("cannot read the inventory store"))?;
        Ok(exists.map(|_| History { pool }))
    }

    /// Records the start of an attempt and returns its id.
    pub async fn start(
        &self,
        job: &str,
        kind: &str,
        scheduled: DateTime<Utc>,
        attempt: u32,
    ) -> Result<i64> {
        let id = sqlx::query(
            "INSERT INTO job_runs (job, kind, scheduled, started, attempt, outcome) VALUES (?, ?, ?, ?, ?, 'running')",
        )
        .bind(job)
        .bind(kind)
        .bind(ts(scheduled))
        .bind(ts(Utc::now()))
        .bind(attempt as i64)
        .execute(&self.pool)
        .await
        .map_err(db_err("cannot record a job start"))?
        .last_insert_rowid();
        Ok(id)
    }

    /// Records the end of attempt `id`.
    pub async fn finish(
        &self,
        id: i64,
        outcome: Outcome,
        error: Option<&str>,
        counts: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE job_runs SET finished = ?, outcome = ?, error = ?, counts = ? WHERE id = ?",
        )
        .bind(ts(Utc::now()))
        .bind(outcome.as_str())
        .bind(error)
        .bind(counts)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err("cannot record a job end"))?;
        Ok(())
    }

    /// Marks attempts left `running` by a process that died as `abandoned`; returns how many.
    pub async fn close_abandoned(&self) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE job_runs SET outcome = 'abandoned', finished = ? WHERE outcome = 'running'",
        )
        .bind(ts(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(db_err("cannot update the job history"))?;
        Ok(r.rows_affected())
    }

    /// The latest attempt and latest success of every job in the history.
    pub async fn latest(&self) -> Result<HashMap<String, JobHistory>> {
        let rows = sqlx::query(
            "SELECT job, scheduled, started, finished, attempt, outcome, error, counts FROM job_runs
             WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job)
                OR id IN (SELECT MAX(id) FROM job_runs WHERE outcome = 'success' GROUP BY job)
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("cannot read the job history"))?;
        let mut out: HashMap<String, JobHistory> = HashMap::new();
        for row in rows {
            let finished: Option<String> = row.get("finished");
            let rec = RunRecord {
                job: row.get("job"),
                scheduled: parse_ts(row.get("scheduled"))?,
                started: parse_ts(row.get("started"))?,
                finished: finished.as_deref().map(parse_ts).transpose()?,
                attempt: row.get::<i64, _>("attempt") as u32,
                outcome: Outcome::parse(row.get("outcome")),
                error: row.get("error"),
                counts: row.get("counts"),
            };
            let entry = out.entry(rec.job.clone()).or_default();
            if rec.outcome == Outcome::Success {
                entry.last_success = Some(rec.clone());
            }
            // Rows come in id order, so the last one seen is the latest attempt.
            entry.last = Some(rec);
        }
        Ok(out)
    }
}

#[cfg(test)]
impl History {
    /// The pool, for assertions in tests.
    pub(crate) fn pool_for_tests(&self) -> SqlitePool {
        self.pool.clone()
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
