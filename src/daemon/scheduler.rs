//! The scheduler loop: sleeps until the next fire time (or the next heartbeat / watchdog ping),
//! starts due jobs as separate tasks, never runs two attempts of one job at once, retries failures
//! with exponential backoff, catches up a run missed during downtime, reloads and shuts down on
//! request.
//!
//! A node runs at most `[daemon] max_running_jobs` jobs at once. A fire time that comes due while
//! every slot is taken waits here, unclaimed, until a slot frees: a node never claims what it
//! cannot start now, so other nodes of the cluster (which fire the same times) claim it first when
//! they have room, and the claim keeps each fire time to one run across the cluster.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::history::{History, Outcome};
use super::http::{Heartbeat, HEARTBEAT_EVERY};
use super::job::{with_fence, Job, JobKind, JobOutcome};
use super::metrics::Metrics;
use super::notify::Notifier;
use crate::config::Config;
use crate::stop::Stop;
use crate::store::Fence;
use crate::Result;

/// The `[daemon]` and `timezone` settings the scheduler uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Zone of the cron schedules.
    pub tz: Tz,
    /// Run a missed job once at start-up.
    pub catch_up: bool,
    /// Retries after a failed attempt.
    pub retries: u32,
    /// First retry delay, doubled each retry.
    pub retry_backoff: Duration,
    /// How long shutdown waits for running jobs.
    pub shutdown_timeout: Duration,
    /// How long a claimed run stays this node's without a heartbeat.
    pub lease: Duration,
    /// At most this many running jobs per source across the cluster.
    pub max_concurrent_jobs: Option<u32>,
    /// At most this many jobs running at once on this node (at least 1).
    pub max_running_jobs: usize,
    /// Finished runs and claims older than this are pruned from the store.
    pub history: Duration,
}

impl Settings {
    /// The settings of a config.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            tz: config.tz(),
            catch_up: config.daemon.catch_up,
            retries: config.daemon.retries,
            retry_backoff: config.daemon.retry_backoff(),
            shutdown_timeout: config.daemon.shutdown_timeout(),
            lease: config.daemon.lease(),
            max_concurrent_jobs: config.daemon.max_concurrent_jobs,
            max_running_jobs: config.daemon.max_running_jobs.max(1) as usize,
            history: Duration::from_secs(u64::from(config.daemon.history_days.max(1)) * 86_400),
        }
    }
}

/// Requests to the scheduler loop (from signal handlers or tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Re-read the configuration (SIGHUP).
    Reload,
    /// Stop scheduling, let running jobs reach a safe point, return (SIGTERM, SIGINT).
    Shutdown,
}

/// Re-reads the configuration and builds its jobs; an error keeps the running configuration.
pub type Reloader = Box<dyn Fn() -> Result<(Settings, Vec<Job>)> + Send>;

struct Slot {
    job: Job,
    /// The next fire time.
    next: Option<DateTime<Utc>>,
    /// Wall-clock time (in the zone) of the last fire, so no wall time fires twice.
    last_wall: Option<NaiveDateTime>,
}

/// A finished run (after its retries), reported by the run task.
#[derive(Debug)]
struct Done {
    job: String,
    /// `None` when this node did not run it (another node claimed the fire time first).
    outcome: Option<Outcome>,
    summary: String,
}

/// Shared services of the run tasks.
#[derive(Clone)]
struct Services {
    history: Option<History>,
    metrics: Arc<Metrics>,
    stop: Stop,
    shutdown: watch::Receiver<bool>,
    done: mpsc::UnboundedSender<Done>,
}

/// The scheduler. Build with [`Scheduler::new`], then [`Scheduler::run`].
pub struct Scheduler {
    settings: Settings,
    slots: BTreeMap<String, Slot>,
    running: HashSet<String>,
    /// Fire times that came due while every slot was taken, oldest first: not claimed yet.
    waiting: VecDeque<(String, DateTime<Utc>)>,
    services: Services,
    shutdown_tx: watch::Sender<bool>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    heartbeat: Arc<Heartbeat>,
    notifier: Notifier,
    last_event: String,
    last_watchdog: Option<Instant>,
    /// When this node last beat in the store and looked for expired leases to take over.
    last_sweep: Option<Instant>,
    /// When this node last started a prune of the job history.
    last_prune: Option<Instant>,
}

/// How often a node prunes finished job runs and claims older than `[daemon] history_days`.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Scheduler {
    /// A scheduler for `jobs`. `history` (the inventory store) enables catch-up and `status`.
    pub fn new(
        settings: Settings,
        jobs: Vec<Job>,
        history: Option<History>,
        metrics: Arc<Metrics>,
        heartbeat: Arc<Heartbeat>,
        notifier: Notifier,
        stop: Stop,
    ) -> Scheduler {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut s = Scheduler {
            settings,
            slots: BTreeMap::new(),
            running: HashSet::new(),
            waiting: VecDeque::new(),
            services: Services {
                history,
                metrics,
                stop,
                shutdown: shutdown_rx,
                done: done_tx,
            },
            shutdown_tx,
            done_rx,
            heartbeat,
            notifier,
            last_event: "no run yet".into(),
            last_watchdog: None,
            last_sweep: None,
            last_prune: None,
        };
        s.install(jobs);
        s
    }

    /// Replaces the job table, keeping the timing state of jobs that keep their name and schedule.
    fn install(&mut self, jobs: Vec<Job>) {
        let mut old = std::mem::take(&mut self.slots);
        let now = Utc::now();
        for job in jobs {
            let (mut next, last_wall) = match old.remove(&job.name) {
                Some(s) if s.job.cron.as_str() == job.cron.as_str() && s.next.is_some() => {
                    (s.next, s.last_wall)
                }
                Some(s) => (None, s.last_wall),
                None => (None, None),
            };
            if next.is_none() {
                next = self.next_fire(&job, now, last_wall);
            }
            self.slots.insert(
                job.name.clone(),
                Slot {
                    job,
                    next,
                    last_wall,
                },
            );
        }
        self.services.metrics.set_jobs(self.slots.len());
    }

    fn next_fire(
        &self,
        job: &Job,
        after: DateTime<Utc>,
        last_wall: Option<NaiveDateTime>,
    ) -> Option<DateTime<Utc>> {
        let tz = self.settings.tz;
        job.cron
            .next_fire(&after.with_timezone(&tz), last_wall)
            .map(|t| t.with_timezone(&Utc))
    }

    /// Uses the run history: jobs whose fire time passed while the daemon was down run once now
    /// (when `catch_up`), and no wall-clock time that already ran runs again.
    pub async fn catch_up(&mut self) -> Result<()> {
        let Some(history) = self.services.history.clone() else {
            return Ok(());
        };
        let latest = history.latest().await?;
        let now = Utc::now();
        let tz = self.settings.tz;
        let mut due = vec![];
        for slot in self.slots.values_mut() {
            let Some(last) = latest.get(&slot.job.name).and_then(|h| h.last.as_ref()) else {
                continue;
            };
            let last_wall = last.scheduled.with_timezone(&tz).naive_local();
            slot.last_wall = Some(last_wall);
            let missed = slot
                .job
                .cron
                .next_fire(&last.scheduled.with_timezone(&tz), Some(last_wall))
                .map(|t| t.with_timezone(&Utc))
                .filter(|t| *t <= now);
            slot.next = slot
                .job
                .cron
                .next_fire(&now.with_timezone(&tz), Some(last_wall))
                .map(|t| t.with_timezone(&Utc));
            if let (Some(missed), true) = (missed, self.settings.catch_up) {
                tracing::info!(job = %slot.job.name, missed = %missed.with_timezone(&tz), last = %last.scheduled.with_timezone(&tz), "catching up a run missed while the daemon was down");
                due.push((slot.job.name.clone(), missed));
            }
        }
        for (name, scheduled) in due {
            self.fire(&name, scheduled, None);
        }
        Ok(())
    }

    /// How often this node beats in the store and looks for runs whose lease expired.
    fn sweep_every(&self) -> Duration {
        (self.settings.lease / 3).clamp(Duration::from_millis(200), HEARTBEAT_EVERY)
    }

    /// Records this node's heartbeat in the store and takes over runs of its jobs whose lease
    /// expired (their node died or paused): each restarts here with the next fencing epoch and
    /// resumes from its checkpoint.
    async fn sweep(&mut self) {
        let Some(history) = self.services.history.clone() else {
            return;
        };
        if self
            .last_sweep
            .is_some_and(|t| t.elapsed() < self.sweep_every())
        {
            return;
        }
        self.last_sweep = Some(Instant::now());
        let store = history.store();
        if let Err(e) = store.node_heartbeat().await {
            tracing::warn!(error = %e, "cannot record this node's heartbeat");
        }
        self.prune(store);
        let jobs: Vec<String> = self
            .slots
            .keys()
            .filter(|n| !self.running.contains(*n))
            .cloned()
            .collect();
        let expired = match store.expired_claims(&jobs).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for expired leases");
                return;
            }
        };
        for claim in expired {
            if !self.has_free_slot() {
                break;
            }
            if self.running.contains(&claim.job) || !self.can_take(&claim.job) {
                continue;
            }
            match store.take_over(&claim, self.settings.lease).await {
                Ok(Some(fence)) => {
                    tracing::warn!(job = %claim.job, scheduled = %claim.scheduled, previous_node = %claim.owner, epoch = fence.epoch, "took over a run whose lease expired");
                    let name = claim.job.clone();
                    self.start(&name, claim.scheduled, Some(fence));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(job = %claim.job, error = %e, "cannot take over a run"),
            }
        }
    }

    /// At start-up and then every [`PRUNE_EVERY`], deletes finished runs and claims older than
    /// the history window, in a task of its own so that the loop does not wait for it.
    fn prune(&mut self, store: &crate::store::Store) {
        if self.last_prune.is_some_and(|t| t.elapsed() < PRUNE_EVERY) {
            return;
        }
        self.last_prune = Some(Instant::now());
        let Ok(window) = chrono::Duration::from_std(self.settings.history) else {
            return;
        };
        let before = Utc::now() - window;
        let store = store.clone();
        tokio::spawn(async move {
            match store.prune_history(before).await {
                Ok(p) if p.runs + p.claims > 0 => {
                    tracing::info!(runs = p.runs, claims = p.claims, before = %before, "pruned finished job runs and claims older than history_days")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune the job history"),
            }
        });
    }

    /// True when fewer than `max_running_jobs` runs (or claims in flight) are going on this node.
    fn has_free_slot(&self) -> bool {
        self.running.len() < self.settings.max_running_jobs.max(1)
    }

    /// Starts waiting fire times, oldest first, while slots are free. A fire time whose job is
    /// running again (a takeover started it) is skipped like any fire time of a running job.
    fn start_waiting(&mut self) {
        while self.has_free_slot() {
            let Some((name, scheduled)) = self.waiting.pop_front() else {
                return;
            };
            let Some(slot) = self.slots.get(&name) else {
                continue; // removed by a reload
            };
            if self.running.contains(&name) {
                let kind = slot.job.kind;
                tracing::warn!(job = %name, scheduled = %scheduled.with_timezone(&self.settings.tz), "skipped: the previous run of this job is still going");
                self.services.metrics.record_skip(&name, kind);
                continue;
            }
            self.start(&name, scheduled, None);
        }
    }

    /// True when this node can run `name` (a SQLite source's file must be reachable here).
    fn can_take(&self, name: &str) -> bool {
        self.slots
            .get(name)
            .is_some_and(|s| s.job.local_file.as_ref().is_none_or(|f| f.exists()))
    }

    /// A one-line summary of the last event and the next run, for `STATUS=` and logs.
    pub fn status_line(&self) -> String {
        let next = self
            .slots
            .values()
            .filter_map(|s| Some((s.next?, &s.job.name)))
            .min()
            .map(|(t, n)| {
                format!(
                    "next: {n} at {}",
                    t.with_timezone(&self.settings.tz)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                )
            })
            .unwrap_or_else(|| "no scheduled jobs".into());
        let waiting = match self.waiting.len() {
            0 => String::new(),
            n => format!(", {n} waiting for a free slot"),
        };
        format!(
            "{} jobs, {} running{waiting}; last: {}; {next}",
            self.slots.len(),
            self.running.len(),
            self.last_event
        )
    }

    /// Runs until [`Control::Shutdown`] (or the control channel closes), then waits up to the
    /// shutdown timeout for running jobs. Returns how many were still running at the timeout.
    pub async fn run(mut self, mut control: mpsc::Receiver<Control>, reload: Reloader) -> usize {
        loop {
            self.beat();
            self.sweep().await;
            let now = Utc::now();
            let due: Vec<(String, DateTime<Utc>)> = self
                .slots
                .values()
                .filter_map(|s| Some((s.job.name.clone(), s.next.filter(|t| *t <= now)?)))
                .collect();
            for (name, scheduled) in due {
                self.fire(&name, scheduled, None);
            }
            self.start_waiting();
            let sleep = self.sleep_for(Utc::now());
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                Some(done) = self.done_rx.recv() => self.finished(done),
                c = control.recv() => match c {
                    Some(Control::Reload) => self.reload(&reload),
                    Some(Control::Shutdown) | None => break,
                },
            }
        }
        self.shutdown().await
    }

    fn sleep_for(&self, now: DateTime<Utc>) -> Duration {
        let mut sleep = HEARTBEAT_EVERY;
        if self.services.history.is_some() {
            sleep = sleep.min(self.sweep_every());
        }
        if let Some(w) = self.notifier.watchdog() {
            sleep = sleep.min(w / 2);
        }
        if let Some(next) = self.slots.values().filter_map(|s| s.next).min() {
            // Wake a millisecond late rather than early, so the fire time has passed.
            let until = (next - now).to_std().unwrap_or_default() + Duration::from_millis(1);
            sleep = sleep.min(until);
        }
        sleep
    }

    fn beat(&mut self) {
        self.heartbeat.beat();
        self.services.metrics.heartbeat();
        if let Some(interval) = self.notifier.watchdog() {
            if self
                .last_watchdog
                .is_none_or(|t| t.elapsed() >= interval / 4)
            {
                self.notifier.watchdog_ping();
                self.last_watchdog = Some(Instant::now());
            }
        }
    }

    /// Starts the run of `name` scheduled at `scheduled` (already claimed when `fence` is set),
    /// skips it when one is still going (or an earlier fire time of it still waits), or queues it
    /// unclaimed until a slot frees when `max_running_jobs` runs are going on this node.
    fn fire(&mut self, name: &str, scheduled: DateTime<Utc>, fence: Option<Fence>) {
        let tz = self.settings.tz;
        let Some(slot) = self.slots.get(name) else {
            return;
        };
        let job = slot.job.clone();
        let last_wall = Some(scheduled.with_timezone(&tz).naive_local());
        let next = self.next_fire(&job, Utc::now().max(scheduled), last_wall);
        if let Some(slot) = self.slots.get_mut(name) {
            slot.last_wall = last_wall;
            slot.next = next;
        }
        if self.running.contains(name) {
            tracing::warn!(job = %name, scheduled = %scheduled.with_timezone(&tz), "skipped: the previous run of this job is still going");
            self.services.metrics.record_skip(name, job.kind);
            return;
        }
        if !self.can_take(name) {
            tracing::debug!(job = %name, "not taken: this node cannot open the source's file");
            return;
        }
        if fence.is_none() && !self.has_free_slot() {
            if self.waiting.iter().any(|(n, _)| n == name) {
                tracing::warn!(job = %name, scheduled = %scheduled.with_timezone(&tz), "skipped: an earlier fire time of this job still waits for a free slot");
                self.services.metrics.record_skip(name, job.kind);
            } else {
                tracing::debug!(job = %name, scheduled = %scheduled.with_timezone(&tz), running = self.running.len(), "waiting for a free slot (max_running_jobs); not claimed until then");
                self.waiting.push_back((name.to_string(), scheduled));
            }
            return;
        }
        self.start(name, scheduled, fence);
    }

    /// Spawns the run of `name` at `scheduled`.
    fn start(&mut self, name: &str, scheduled: DateTime<Utc>, fence: Option<Fence>) {
        let Some(slot) = self.slots.get(name) else {
            return;
        };
        let job = slot.job.clone();
        self.running.insert(name.to_string());
        let services = self.services.clone();
        let settings = self.settings.clone();
        tokio::spawn(run_with_retries(job, scheduled, fence, settings, services));
    }

    fn finished(&mut self, done: Done) {
        self.running.remove(&done.job);
        self.start_waiting();
        let Some(outcome) = done.outcome else {
            return;
        };
        self.last_event = format!("{} {} ({})", done.job, outcome.as_str(), done.summary);
        let status = self.status_line();
        self.notifier.status(&status);
    }

    fn reload(&mut self, reload: &Reloader) {
        self.notifier.reloading();
        match reload() {
            Ok((settings, jobs)) => {
                if settings.tz != self.settings.tz {
                    // Fire times were computed in the old zone: recompute them all.
                    for slot in self.slots.values_mut() {
                        slot.next = None;
                        slot.last_wall = None;
                    }
                }
                self.settings = settings;
                self.install(jobs);
                self.services.metrics.record_reload(true);
                let status = self.status_line();
                tracing::info!(jobs = self.slots.len(), "configuration reloaded");
                self.notifier.ready(&status);
            }
            Err(e) => {
                self.services.metrics.record_reload(false);
                tracing::error!(error = %e, "configuration reload failed; still running the previous configuration");
                let status = format!("reload failed, running the previous configuration: {e}");
                self.notifier.ready(&status);
            }
        }
    }

    async fn shutdown(mut self) -> usize {
        let timeout = self.settings.shutdown_timeout;
        let running: Vec<String> = self.running.iter().cloned().collect();
        let waiting = std::mem::take(&mut self.waiting).len();
        tracing::info!(running = ?running, waiting, timeout = ?timeout, "shutting down: no new runs (fire times waiting for a slot were not claimed, so other nodes may run them); waiting for running jobs to reach a safe point");
        self.notifier.stopping(&format!(
            "stopping: waiting for {} running jobs",
            running.len()
        ));
        self.services.stop.request();
        let _ = self.shutdown_tx.send(true);
        let deadline = Instant::now() + timeout;
        while !self.running.is_empty() {
            let mut sleep = deadline.saturating_duration_since(Instant::now());
            if let Some(w) = self.notifier.watchdog() {
                sleep = sleep.min(w / 2);
            }
            tokio::select! {
                Some(done) = self.done_rx.recv() => self.finished(done),
                _ = tokio::time::sleep(sleep) => {
                    if Instant::now() >= deadline {
                        let left: Vec<&String> = self.running.iter().collect();
                        tracing::warn!(jobs = ?left, "shutdown timeout reached; leaving jobs mid-run (their current batch rolls back; the next run continues)");
                        break;
                    }
                    self.beat();
                }
            }
        }
        tracing::info!("stopped");
        self.running.len()
    }
}

/// Claims fire time `scheduled` of `job` in the store (unless `fence` is a claim taken over);
/// `None` when another node has it, or its source is at `max_concurrent_jobs`.
async fn claim(
    job: &Job,
    scheduled: DateTime<Utc>,
    settings: &Settings,
    services: &Services,
) -> std::result::Result<Option<Fence>, ()> {
    let Some(history) = &services.history else {
        return Ok(None);
    };
    match history
        .store()
        .claim_fire(
            &job.name,
            job.kind.as_str(),
            &job.source,
            scheduled,
            settings.lease,
            settings.max_concurrent_jobs,
        )
        .await
    {
        Ok(Some(f)) => Ok(Some(f)),
        Ok(None) => {
            tracing::debug!(job = %job.name, scheduled = %scheduled, "not run here: another node claimed this fire time, an earlier run of the job still holds its lease, or its source is at max_concurrent_jobs");
            Err(())
        }
        Err(e) => {
            tracing::error!(job = %job.name, error = %e, "cannot claim the run; skipped");
            Err(())
        }
    }
}

/// Renews the lease of `fence` every third of the lease until dropped (aborted).
fn keep_lease(
    store: crate::store::Store,
    fence: Fence,
    lease: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = lease / 3;
        loop {
            tokio::time::sleep(every).await;
            match store.renew_lease(&fence, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(job = %fence.job, epoch = fence.epoch, "lease lost: another node may take this run over; its writes will be refused");
                    return;
                }
                Err(e) => tracing::warn!(job = %fence.job, error = %e, "cannot renew the lease"),
            }
        }
    })
}

/// One scheduled run: the claim, attempts, retries with backoff, history, metrics, logs.
async fn run_with_retries(
    job: Job,
    scheduled: DateTime<Utc>,
    fence: Option<Fence>,
    settings: Settings,
    mut services: Services,
) {
    let fence = match fence {
        Some(f) => Some(f),
        None => match claim(&job, scheduled, &settings, &services).await {
            Ok(f) => f,
            Err(()) => {
                let _ = services.done.send(Done {
                    job: job.name.clone(),
                    outcome: None,
                    summary: String::new(),
                });
                return;
            }
        },
    };
    let lease = match (&fence, &services.history) {
        (Some(f), Some(h)) => Some(keep_lease(h.store().clone(), f.clone(), settings.lease)),
        _ => None,
    };
    let mut attempt = 1u32;
    let (outcome, summary) = loop {
        let (outcome, summary, retryable) =
            attempt_once(&job, scheduled, attempt, fence.clone(), &services).await;
        // Only what a retry can fix (a lost connection, a lock timeout, a deadlock) is retried: a
        // braked or refused policy, a bad config or a panic would fail the same way again.
        let retry = outcome == Outcome::Failure
            && retryable
            && attempt <= settings.retries
            && !services.stop.is_requested();
        if !retry {
            if outcome == Outcome::Failure && !retryable && attempt <= settings.retries {
                tracing::info!(job = %job.name, "not retried: a retry cannot fix this failure");
            }
            break (outcome, summary);
        }
        let delay = settings
            .retry_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16));
        tracing::warn!(job = %job.name, attempt, retry_in = %humantime::format_duration(delay), "job failed; retrying");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = services.shutdown.wait_for(|s| *s) => break (outcome, summary),
        }
        attempt += 1;
    };
    if let Some(l) = lease {
        l.abort();
    }
    if let (Some(f), Some(h)) = (&fence, &services.history) {
        if let Err(e) = h.store().release_claim(f).await {
            tracing::warn!(job = %job.name, error = %e, "cannot record the end of the claim");
        }
    }
    let _ = services.done.send(Done {
        job: job.name.clone(),
        outcome: Some(outcome),
        summary,
    });
}

async fn attempt_once(
    job: &Job,
    scheduled: DateTime<Utc>,
    attempt: u32,
    fence: Option<Fence>,
    services: &Services,
) -> (Outcome, String, bool) {
    let kind = job.kind.as_str();
    tracing::info!(job = %job.name, kind, attempt, "job started");
    let id = match &services.history {
        Some(h) => match h.start(&job.name, kind, scheduled, attempt).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(job = %job.name, error = %e, "cannot record the job start");
                None
            }
        },
        None => None,
    };
    let started = std::time::Instant::now();
    let run = job.run.clone();
    let stop = services.stop.clone();
    // A separate task, so that a panic is caught as a JoinError instead of ending the daemon.
    let result = tokio::spawn(with_fence(fence, async move { run(stop).await })).await;
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_millis() as u64;
    let mut retryable = false;
    let (outcome, error, counts) = match result {
        Ok(Ok(out)) => {
            let outcome = if out.interrupted {
                Outcome::Interrupted
            } else {
                Outcome::Success
            };
            record_outcome(job, &out, &services.metrics);
            (outcome, None, Some(out.counts_text()))
        }
        Ok(Err(e)) => {
            retryable = e.is_retryable();
            (Outcome::Failure, Some(e.to_string()), None)
        }
        Err(e) if e.is_panic() => (
            Outcome::Panic,
            Some(format!("panicked: {}", panic_message(e.into_panic()))),
            None,
        ),
        Err(e) => (Outcome::Failure, Some(format!("task ended: {e}")), None),
    };
    match (&error, &counts) {
        (None, counts) => tracing::info!(
            job = %job.name, kind, attempt, outcome = outcome.as_str(), duration_ms,
            counts = counts.as_deref().unwrap_or(""), "job finished"
        ),
        (Some(err), _) => tracing::error!(
            job = %job.name, kind, attempt, outcome = outcome.as_str(), duration_ms, error = %err, "job failed"
        ),
    }
    services
        .metrics
        .record_run(&job.name, job.kind, outcome, elapsed);
    if let (Some(h), Some(id)) = (&services.history, id) {
        if let Err(e) = h
            .finish(id, outcome, error.as_deref(), counts.as_deref())
            .await
        {
            tracing::warn!(job = %job.name, error = %e, "cannot record the job end");
        }
    }
    let summary = match (error, counts) {
        (Some(e), _) => e,
        (None, Some(c)) => format!(
            "{c} in {}",
            humantime::format_duration(Duration::from_millis(duration_ms))
        ),
        (None, None) => String::new(),
    };
    (outcome, summary, retryable)
}

fn record_outcome(job: &Job, out: &JobOutcome, metrics: &Metrics) {
    if job.kind == JobKind::Enforce {
        for (action, rows) in &out.rows_affected {
            metrics.add_rows(&job.target, action, *rows);
        }
    }
    if let Some(by_category) = &out.personal_columns {
        metrics.set_personal_columns(&job.target, by_category);
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    };
    msg.chars().take(200).collect()
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
