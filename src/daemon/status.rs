//! `datawarden status`: the last and next run of every scheduled job, from the config and the run
//! history in the inventory store.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::history::History;
use super::job::{job_name, scheduled_in};
use crate::config::Config;
use crate::store::{ClusterRun, NodeBeat, Store};
use crate::Result;

/// `status --json`: the jobs of the config, the latest runs of the whole cluster and the nodes
/// with their last heartbeat.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Every scheduled job of the config.
    pub jobs: Vec<JobStatus>,
    /// The latest attempts on every node, newest first.
    pub runs: Vec<ClusterRun>,
    /// Every node that ever ran a daemon on this inventory, with its last heartbeat.
    pub nodes: Vec<NodeBeat>,
}

/// The [`ClusterStatus`] of `config` with its latest `runs` attempts, reading the store without
/// writing to it.
pub async fn cluster_status(
    config: &Config,
    now: DateTime<Utc>,
    runs: u32,
) -> Result<ClusterStatus> {
    let jobs = job_statuses(config, now).await?;
    let (runs, nodes) = match Store::open_existing(&config.inventory.url).await? {
        Some(store) => {
            let r = (store.recent_runs(runs).await?, store.nodes().await?);
            store.close().await;
            r
        }
        None => (vec![], vec![]),
    };
    Ok(ClusterStatus { jobs, runs, nodes })
}

/// One job as `status` shows it. Times are UTC; render them in the config's zone.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// `scan:<source>` or `enforce:<policy>`.
    pub job: String,
    /// The cron expression.
    pub schedule: String,
    /// Start of the latest attempt.
    pub last_started: Option<DateTime<Utc>>,
    /// End of the latest attempt (None while running).
    pub last_finished: Option<DateTime<Utc>>,
    /// Outcome of the latest attempt (`success`, `failure`, `running`, ...).
    pub last_outcome: Option<String>,
    /// Error of the latest attempt, when it failed.
    pub last_error: Option<String>,
    /// Counts of the latest attempt.
    pub last_counts: Option<String>,
    /// Start of the latest successful attempt.
    pub last_success: Option<DateTime<Utc>>,
    /// The next fire time.
    pub next_run: Option<DateTime<Utc>>,
}

/// The status of every scheduled job of `config`, reading the store without writing to it.
pub async fn job_statuses(config: &Config, now: DateTime<Utc>) -> Result<Vec<JobStatus>> {
    let history = match History::open_read_only(&config.inventory.url).await? {
        Some(h) => h.latest().await?,
        None => Default::default(),
    };
    let tz = config.tz();
    Ok(scheduled_in(config)
        .into_iter()
        .map(|(kind, target, cron)| {
            let job = job_name(kind, &target);
            let h = history.get(&job).cloned().unwrap_or_default();
            let last_wall = h
                .last
                .as_ref()
                .map(|r| r.scheduled.with_timezone(&tz).naive_local());
            let next_run = cron
                .next_fire(&now.with_timezone(&tz), last_wall)
                .map(|t| t.with_timezone(&Utc));
            JobStatus {
                job,
                schedule: cron.as_str().to_string(),
                last_started: h.last.as_ref().map(|r| r.started),
                last_finished: h.last.as_ref().and_then(|r| r.finished),
                last_outcome: h.last.as_ref().map(|r| r.outcome.as_str().to_string()),
                last_error: h.last.as_ref().and_then(|r| r.error.clone()),
                last_counts: h.last.as_ref().and_then(|r| r.counts.clone()),
                last_success: h.last_success.as_ref().map(|r| r.started),
                next_run,
            }
        })
        .collect())
}
