//! The unit the scheduler runs: a named, scheduled async function that returns counts.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::schedule::Cron;
use crate::stop::Stop;
use crate::store::Fence;
use crate::Result;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Scans a source into the inventory.
    Scan,
    /// Enforces a retention policy.
    Enforce,
}

impl JobKind {
    /// The lower-case name used in job names, logs, history and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobKind::Scan => "scan",
            JobKind::Enforce => "enforce",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finished run reports. Only counts and names: never a value from a database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOutcome {
    /// Named counts for the log line and history, e.g. `("tables", 12)`.
    pub counts: Vec<(String, u64)>,
    /// Rows affected per action (enforcement jobs), for metrics.
    pub rows_affected: Vec<(String, u64)>,
    /// Personal-data columns per category in the inventory of the scanned source (scan jobs).
    pub personal_columns: Option<Vec<(String, u64)>>,
    /// The run stopped early because a stop was requested; the rest is left for the next run.
    pub interrupted: bool,
}

impl JobOutcome {
    /// Renders the counts as `name=value` pairs separated by spaces.
    pub fn counts_text(&self) -> String {
        let mut s = String::new();
        for (i, (k, v)) in self.counts.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(k);
            s.push('=');
            s.push_str(&v.to_string());
        }
        s
    }
}

/// The function a job runs. It receives the daemon's [`Stop`] flag and must check it between
/// batches so that SIGTERM lets the work in flight commit.
pub type JobFn = Arc<dyn Fn(Stop) -> BoxFuture<'static, Result<JobOutcome>> + Send + Sync>;

/// A scheduled job.
#[derive(Clone)]
pub struct Job {
    /// Unique name: `scan:<source>` or `enforce:<policy>`.
    pub name: String,
    /// Scan or enforcement.
    pub kind: JobKind,
    /// The source or policy the job works on.
    pub target: String,
    /// When it runs.
    pub cron: Cron,
    /// What it runs.
    pub run: JobFn,
    /// The source it works on (the scanned source, or the policy's source): the unit of
    /// `[daemon] max_concurrent_jobs`.
    pub source: String,
    /// A file this node must be able to open to take the job (a SQLite source).
    pub local_file: Option<std::path::PathBuf>,
}

tokio::task_local! {
    static CURRENT_FENCE: Option<Fence>;
}

/// The claim the current job run holds (inside a job's run function, when the daemon shares a
/// store): its checkpoint and audit writes must be checked against it.
pub fn current_fence() -> Option<Fence> {
    CURRENT_FENCE.try_with(|f| f.clone()).ok().flatten()
}

/// Runs `fut` with `fence` as the [`current_fence`].
pub(crate) async fn with_fence<F: std::future::Future>(fence: Option<Fence>, fut: F) -> F::Output {
    CURRENT_FENCE.scope(fence, fut).await
}

impl Job {
    /// A job named `<kind>:<target>`.
    pub fn new(kind: JobKind, target: &str, cron: Cron, run: JobFn) -> Job {
        Job {
            name: job_name(kind, target),
            kind,
            target: target.to_string(),
            cron,
            run,
            source: target.to_string(),
            local_file: None,
        }
    }

    /// The same job, counted against source `source` and taken only by a node that can open
    /// `local_file` (a SQLite source's file).
    pub fn on_source(mut self, source: &str, local_file: Option<std::path::PathBuf>) -> Job {
        self.source = source.to_string();
        self.local_file = local_file;
        self
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("cron", &self.cron.as_str())
            .finish_non_exhaustive()
    }
}

/// The name of the job of `kind` on `target`.
pub fn job_name(kind: JobKind, target: &str) -> String {
    format!("{}:{target}", kind.as_str())
}

/// The scheduled jobs a config asks for, without their run functions: `(kind, target, schedule)`.
/// Shared by the daemon and `datawarden status`.
pub fn scheduled_in(config: &crate::config::Config) -> Vec<(JobKind, String, Cron)> {
    let scans = config
        .sources
        .iter()
        .filter_map(|s| Some((JobKind::Scan, s.name.clone(), s.schedule.as_deref()?)));
    let enforce = config
        .policies
        .iter()
        .filter_map(|p| Some((JobKind::Enforce, p.name.clone(), p.schedule.as_deref()?)));
    scans
        .chain(enforce)
        // Schedules were validated at load time.
        .filter_map(|(k, t, s)| Some((k, t, Cron::parse(s).ok()?)))
        .collect()
}
