//! `datawarden status`: the last and next run of every scheduled job, from the config and the run
//! history in the inventory store.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::history::History;
use super::job::{job_name, scheduled_in};
use crate::config::Config;
use crate::Result;

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
