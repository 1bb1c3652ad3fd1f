//! Claims of fire times, leases and fencing: how several daemons share one store.
//!
//! Each fire time of each job is claimed once across the cluster: a row of `job_claims` keyed
//! `(job, scheduled)`, inserted with `ON CONFLICT DO NOTHING` in a short transaction that commits
//! before the job starts, so exactly one inserter wins. The winner holds a lease (`lease_until`,
//! epoch milliseconds) that its heartbeat renews while the job runs, and a fencing `epoch`. A node
//! whose lease ran out (it died, or paused past it) has its claim taken over by another node with
//! `epoch + 1` (a compare-and-set on the old epoch, so one taker wins). Every checkpoint and audit
//! write of a fenced [`Store`] first runs [`FENCE_CHECK`] in its own transaction: an `UPDATE` of
//! the claim row that matches only while this node still owns the claim at this epoch with a live
//! lease. It affects one row or the write is refused ([`Error::LeaseLost`]) and rolls back; on
//! PostgreSQL it also locks the row, so a takeover waits for a write in flight and a write waits
//! for a takeover in flight (and then sees the new epoch). Nothing here outlives a transaction:
//! the per-source cap takes `pg_advisory_xact_lock`, released at commit (safe behind PgBouncer in
//! transaction mode).
//!
//! Leases compare the nodes' clocks (milliseconds since the epoch): keep them synchronized (NTP)
//! well within the lease.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{db, with_db, Kind, Store, WritePool};
use crate::error::Result;

/// What a node holds while it runs one fire time of a job: the claim's key, owner and epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The job name.
    pub job: String,
    /// The fire time.
    pub scheduled: DateTime<Utc>,
    /// The node that holds the claim.
    pub owner: String,
    /// The fencing epoch (1 for the first claim, +1 per takeover).
    pub epoch: i64,
}

/// A claim whose lease ran out while it was running.
#[derive(Debug, Clone)]
pub struct ExpiredClaim {
    /// The job name.
    pub job: String,
    /// The fire time.
    pub scheduled: DateTime<Utc>,
    /// The node that held it.
    pub owner: String,
    /// Its epoch.
    pub epoch: i64,
}

/// One attempt of a job, for `status --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterRun {
    /// The job name.
    pub job: String,
    /// `scan` or `enforce`.
    pub kind: String,
    /// The fire time.
    pub scheduled_for: DateTime<Utc>,
    /// The node that ran (or runs) it.
    pub node: Option<String>,
    /// `running`, `success`, `failure`, `interrupted`, `panic`, `abandoned`, `lease_expired`.
    pub outcome: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A node and its last heartbeat, for `status --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeBeat {
    /// The node name.
    pub node: String,
    /// Its last heartbeat.
    pub last_heartbeat: DateTime<Utc>,
}

/// Checks, inside a writing transaction, that the fence still holds: affects exactly one row.
pub(super) const FENCE_CHECK: &str = "UPDATE job_claims SET lease_until = lease_until
     WHERE job = $1 AND scheduled = $2 AND owner = $3 AND epoch = $4 AND state = 'running'
       AND lease_until > $5";

/// Runs [`FENCE_CHECK`] for `fence` on `conn` (a transaction of either backend); an
/// [`Error::LeaseLost`] when it does not hold.
macro_rules! check_fence {
    ($conn:expr, $fence:expr) => {{
        let f: &$crate::store::Fence = $fence;
        let r = sqlx::query($crate::store::claims::FENCE_CHECK)
            .bind(&f.job)
            .bind(f.scheduled)
            .bind(&f.owner)
            .bind(f.epoch)
            .bind($crate::store::claims::now_ms())
            .execute($conn)
            .await
            .map_err($crate::store::db("checking the job's lease"))?;
        if r.rows_affected() != 1 {
            Err($crate::error::Error::LeaseLost(format!(
                "node {} no longer holds the lease of {} at {} (epoch {}): another node took it over or it expired; this write was refused and rolled back",
                f.owner, f.job, f.scheduled.to_rfc3339(), f.epoch
            )))
        } else {
            Ok(())
        }
    }};
}
pub(super) use check_fence;

/// Milliseconds since the Unix epoch on this node's clock.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn ms(d: std::time::Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Store {
    /// The same store with every checkpoint and audit write checked against `fence`.
    pub fn fenced(mut self, fence: Option<Fence>) -> Store {
        self.fence = fence;
        self
    }

    /// The fence this store's writes are checked against.
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    /// Claims fire time `scheduled` of `job` for this node with a lease of `lease`: `None` when
    /// another node claimed it first, when an earlier fire time of the job still runs (holds a
    /// live lease), or when `cap` is set and `source` already has that many claims with a live
    /// lease. The counts are read under transaction-scoped advisory locks on the job and the
    /// source (PostgreSQL), released at commit.
    pub async fn claim_fire(
        &self,
        job: &str,
        kind: &str,
        source: &str,
        scheduled: DateTime<Utc>,
        lease: std::time::Duration,
        cap: Option<u32>,
    ) -> Result<Option<Fence>> {
        with_db!(self, |pool, backend| {
            let mut tx = pool.begin_write().await.map_err(db("starting a claim"))?;
            let now = now_ms();
            // Serialize the claims of this job (and, with a cap, of this source) for the length
            // of this transaction; SQLite's BEGIN IMMEDIATE already serializes every writer.
            if backend == Kind::Postgres {
                let mut keys = vec![format!("datawarden job {job}")];
                if cap.is_some() {
                    keys.push(format!("datawarden source {source}"));
                }
                for key in keys {
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(key)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("locking the claims"))?;
                }
            }
            // One run of a job at a time across the cluster: a fire time that comes while an
            // earlier one still holds a live lease is skipped.
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM job_claims WHERE job = $1 AND state = 'running' AND lease_until > $2",
            )
            .bind(job)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("reading the job's running claims"))?;
            if busy > 0 {
                return Ok(None);
            }
            if let Some(cap) = cap {
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM job_claims WHERE source = $1 AND state = 'running' AND lease_until > $2",
                )
                .bind(source)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db("counting the source's running jobs"))?;
                if live >= cap as i64 {
                    return Ok(None);
                }
            }
            let epoch: Option<i64> = sqlx::query_scalar(
                "INSERT INTO job_claims (job, scheduled, kind, source, owner, epoch, lease_until, state)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, 'running')
                 ON CONFLICT (job, scheduled) DO NOTHING RETURNING epoch",
            )
            .bind(job)
            .bind(scheduled)
            .bind(kind)
            .bind(source)
            .bind(&self.node)
            .bind(now + ms(lease))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("claiming a fire time"))?;
            tx.commit().await.map_err(db("committing a claim"))?;
            Ok(epoch.map(|epoch| Fence {
                job: job.to_string(),
                scheduled,
                owner: self.node.clone(),
                epoch,
            }))
        })
    }

    /// Extends the lease of `fence` to `lease` from now; false when it is no longer held.
    pub async fn renew_lease(&self, fence: &Fence, lease: std::time::Duration) -> Result<bool> {
        with_db!(self, |pool, kind| {
            let now = now_ms();
            let r = sqlx::query(
                "UPDATE job_claims SET lease_until = $1
                 WHERE job = $2 AND scheduled = $3 AND owner = $4 AND epoch = $5 AND state = 'running'
                   AND lease_until > $6",
            )
            .bind(now + ms(lease))
            .bind(&fence.job)
            .bind(fence.scheduled)
            .bind(&fence.owner)
            .bind(fence.epoch)
            .bind(now)
            .execute(pool)
            .await
            .map_err(db("renewing a lease"))?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Marks the claim of `fence` done (when it is still held).
    pub async fn release_claim(&self, fence: &Fence) -> Result<()> {
        with_db!(self, |pool, kind| {
            sqlx::query(
                "UPDATE job_claims SET state = 'done'
                 WHERE job = $1 AND scheduled = $2 AND owner = $3 AND epoch = $4",
            )
            .bind(&fence.job)
            .bind(fence.scheduled)
            .bind(&fence.owner)
            .bind(fence.epoch)
            .execute(pool)
            .await
            .map_err(db("releasing a claim"))?;
            Ok(())
        })
    }

    /// Running claims of `jobs` whose lease ran out, oldest fire time first.
    pub async fn expired_claims(&self, jobs: &[String]) -> Result<Vec<ExpiredClaim>> {
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT job, scheduled, owner, epoch FROM job_claims
                 WHERE state = 'running' AND lease_until <= $1 ORDER BY scheduled LIMIT 100",
            )
            .bind(now_ms())
            .fetch_all(pool)
            .await
            .map_err(db("reading expired leases"))?;
            let mut out = vec![];
            for r in rows {
                let job: String = r.get("job");
                if jobs.contains(&job) {
                    out.push(ExpiredClaim {
                        job,
                        scheduled: r
                            .try_get("scheduled")
                            .map_err(db("job_claims holds a bad time"))?,
                        owner: r.get("owner"),
                        epoch: r.get("epoch"),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Takes over `expired` for this node with the next epoch (one taker wins: the update
    /// matches only the old epoch with a lease still run out); the attempts its previous owner
    /// left `running` become `lease_expired`. `None` when another node was faster.
    pub async fn take_over(
        &self,
        expired: &ExpiredClaim,
        lease: std::time::Duration,
    ) -> Result<Option<Fence>> {
        with_db!(self, |pool, kind| {
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting a takeover"))?;
            let now = now_ms();
            let r = sqlx::query(
                "UPDATE job_claims SET owner = $1, epoch = epoch + 1, lease_until = $2
                 WHERE job = $3 AND scheduled = $4 AND epoch = $5 AND state = 'running'
                   AND lease_until <= $6",
            )
            .bind(&self.node)
            .bind(now + ms(lease))
            .bind(&expired.job)
            .bind(expired.scheduled)
            .bind(expired.epoch)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db("taking over a claim"))?;
            if r.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE job_runs SET outcome = 'lease_expired', finished = $1
                 WHERE job = $2 AND scheduled = $3 AND outcome = 'running'",
            )
            .bind(Utc::now())
            .bind(&expired.job)
            .bind(expired.scheduled)
            .execute(&mut *tx)
            .await
            .map_err(db("closing the attempts of an expired lease"))?;
            tx.commit().await.map_err(db("committing a takeover"))?;
            Ok(Some(Fence {
                job: expired.job.clone(),
                scheduled: expired.scheduled,
                owner: self.node.clone(),
                epoch: expired.epoch + 1,
            }))
        })
    }

    /// Ends the leases this node held before it restarted (a node name runs one process), so
    /// that their fire times are taken over at once instead of after the lease; returns how many.
    pub async fn expire_own_claims(&self) -> Result<u64> {
        with_db!(self, |pool, kind| {
            let r = sqlx::query(
                "UPDATE job_claims SET lease_until = 0 WHERE owner = $1 AND state = 'running'",
            )
            .bind(&self.node)
            .execute(pool)
            .await
            .map_err(db("expiring this node's old leases"))?;
            Ok(r.rows_affected())
        })
    }

    /// Records that this node is alive now.
    pub async fn node_heartbeat(&self) -> Result<()> {
        with_db!(self, |pool, kind| {
            sqlx::query(
                "INSERT INTO nodes (node, last_heartbeat) VALUES ($1, $2)
                 ON CONFLICT (node) DO UPDATE SET last_heartbeat = excluded.last_heartbeat",
            )
            .bind(&self.node)
            .bind(Utc::now())
            .execute(pool)
            .await
            .map_err(db("recording the node's heartbeat"))?;
            Ok(())
        })
    }

    /// Every node that ever beat, with its last heartbeat (empty before the first daemon).
    pub async fn nodes(&self) -> Result<Vec<NodeBeat>> {
        if !self.has_table("nodes").await? {
            return Ok(vec![]);
        }
        with_db!(self, |pool, kind| {
            let rows = sqlx::query("SELECT node, last_heartbeat FROM nodes ORDER BY node")
                .fetch_all(pool)
                .await
                .map_err(db("reading the nodes"))?;
            rows.into_iter()
                .map(|r| {
                    Ok(NodeBeat {
                        node: r.get("node"),
                        last_heartbeat: r
                            .try_get("last_heartbeat")
                            .map_err(db("nodes holds a bad time"))?,
                    })
                })
                .collect()
        })
    }

    /// The latest `n` attempts of every job on every node, newest first.
    pub async fn recent_runs(&self, n: u32) -> Result<Vec<ClusterRun>> {
        if !self.has_table("job_runs").await? {
            return Ok(vec![]);
        }
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT job, kind, scheduled, node, outcome, started, finished FROM job_runs
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(n as i64)
            .fetch_all(pool)
            .await
            .map_err(db("reading the job runs"))?;
            rows.into_iter()
                .map(|r| {
                    let bad = || db("job_runs holds a bad time");
                    Ok(ClusterRun {
                        job: r.get("job"),
                        kind: r.get("kind"),
                        scheduled_for: r.try_get("scheduled").map_err(bad())?,
                        node: r.get("node"),
                        outcome: r.get("outcome"),
                        started_at: r.try_get("started").map_err(bad())?,
                        finished_at: r.try_get("finished").map_err(bad())?,
                    })
                })
                .collect()
        })
    }
}
