//! Prometheus metrics of the daemon (served as text on `/metrics`). Labels carry job, source,
//! policy, category and action names only, never values.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::history::Outcome;
use super::job::JobKind;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    job: String,
    kind: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ColumnLabels {
    source: String,
    category: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RowLabels {
    policy: String,
    action: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    outcome: String,
}

fn duration_histogram() -> Histogram {
    // 0.05 s .. ~27 min
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

/// All metrics, registered once at start-up.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    failures: Family<JobLabels, Counter>,
    skipped: Family<JobLabels, Counter>,
    duration: Family<JobLabels, Histogram, fn() -> Histogram>,
    last_success: Family<JobLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    personal_columns: Family<ColumnLabels, Gauge>,
    rows_affected: Family<RowLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    jobs: Gauge,
    heartbeat: Gauge<f64, std::sync::atomic::AtomicU64>,
    subject_open: Gauge,
    subject_overdue: Gauge,
    /// Categories last reported per source, so that a category that disappears drops to 0.
    known_categories: Mutex<HashMap<String, HashSet<String>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric (no node label).
    pub fn new() -> Metrics {
        Metrics::with_registry(Registry::with_prefix("datawarden"))
    }

    /// Creates and registers every metric, each series labelled `node="<node>"` (the daemon's
    /// node name, so that the series of daemons sharing one inventory stay apart).
    pub fn for_node(node: &str) -> Metrics {
        Metrics::with_registry(Registry::with_prefix_and_labels(
            "datawarden",
            [("node".into(), node.to_string().into())].into_iter(),
        ))
    }

    fn with_registry(mut registry: Registry) -> Metrics {
        let m = Metrics {
            runs: Family::default(),
            failures: Family::default(),
            skipped: Family::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            last_success: Family::default(),
            personal_columns: Family::default(),
            rows_affected: Family::default(),
            reloads: Family::default(),
            jobs: Gauge::default(),
            heartbeat: Gauge::default(),
            subject_open: Gauge::default(),
            subject_overdue: Gauge::default(),
            known_categories: Mutex::new(HashMap::new()),
            registry: Registry::default(),
        };
        registry.register(
            "job_runs",
            "Finished job attempts by outcome (kind=\"scan\" counts scans)",
            m.runs.clone(),
        );
        registry.register(
            "job_failures",
            "Failed job attempts (errors and panics)",
            m.failures.clone(),
        );
        registry.register(
            "job_skipped",
            "Fire times skipped because the previous run of the job was still going",
            m.skipped.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Duration of job attempts",
            m.duration.clone(),
        );
        registry.register(
            "job_last_success_timestamp_seconds",
            "Unix time of the last successful run of each job",
            m.last_success.clone(),
        );
        registry.register(
            "personal_data_columns",
            "Columns holding personal data in the inventory, by source and category",
            m.personal_columns.clone(),
        );
        registry.register(
            "rows_affected",
            "Rows changed or deleted by retention enforcement, by policy and action",
            m.rows_affected.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads (SIGHUP) by outcome",
            m.reloads.clone(),
        );
        registry.register(
            "scheduled_jobs",
            "Jobs in the running configuration",
            m.jobs.clone(),
        );
        registry.register(
            "scheduler_heartbeat_timestamp_seconds",
            "Unix time of the last scheduler loop iteration",
            m.heartbeat.clone(),
        );
        registry.register(
            "subject_requests_open",
            "Data subject requests not yet answered (register in the inventory)",
            m.subject_open.clone(),
        );
        registry.register(
            "subject_requests_overdue",
            "Open data subject requests past the deadline of [subject_requests] respond_within",
            m.subject_overdue.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Sets the open and overdue data subject requests.
    pub fn set_subject_requests(&self, open: u64, overdue: u64) {
        self.subject_open.set(open as i64);
        self.subject_overdue.set(overdue as i64);
    }

    /// Counts one finished attempt.
    pub fn record_run(&self, job: &str, kind: JobKind, outcome: Outcome, elapsed: Duration) {
        let labels = JobLabels {
            job: job.to_string(),
            kind: kind.as_str().to_string(),
        };
        self.runs
            .get_or_create(&RunLabels {
                job: labels.job.clone(),
                kind: labels.kind.clone(),
                outcome: outcome.as_str().to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        match outcome {
            Outcome::Success => {
                self.last_success.get_or_create(&labels).set(unix_now());
            }
            Outcome::Failure | Outcome::Panic => {
                self.failures.get_or_create(&labels).inc();
            }
            Outcome::Running
            | Outcome::Interrupted
            | Outcome::Abandoned
            | Outcome::LeaseExpired => {}
        }
    }

    /// Counts a fire time skipped because the job was still running.
    pub fn record_skip(&self, job: &str, kind: JobKind) {
        self.skipped
            .get_or_create(&JobLabels {
                job: job.to_string(),
                kind: kind.as_str().to_string(),
            })
            .inc();
    }

    /// Adds rows affected by an enforcement run.
    pub fn add_rows(&self, policy: &str, action: &str, rows: u64) {
        self.rows_affected
            .get_or_create(&RowLabels {
                policy: policy.to_string(),
                action: action.to_string(),
            })
            .inc_by(rows);
    }

    /// Replaces the personal-data column counts of `source`.
    pub fn set_personal_columns(&self, source: &str, by_category: &[(String, u64)]) {
        let mut known = self
            .known_categories
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let seen = known.entry(source.to_string()).or_default();
        for old in seen.iter() {
            if !by_category.iter().any(|(c, _)| c == old) {
                self.personal_columns
                    .get_or_create(&ColumnLabels {
                        source: source.to_string(),
                        category: old.clone(),
                    })
                    .set(0);
            }
        }
        for (category, n) in by_category {
            self.personal_columns
                .get_or_create(&ColumnLabels {
                    source: source.to_string(),
                    category: category.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
            seen.insert(category.clone());
        }
    }

    /// Counts a reload.
    pub fn record_reload(&self, ok: bool) {
        let outcome = if ok { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ReloadLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Sets the number of configured jobs.
    pub fn set_jobs(&self, n: usize) {
        self.jobs.set(n as i64);
    }

    /// Marks the scheduler loop alive now.
    pub fn heartbeat(&self) {
        self.heartbeat.set(unix_now());
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_has_the_node_label() {
        let m = Metrics::for_node("node-a");
        m.record_run(
            "scan:crm",
            JobKind::Scan,
            Outcome::Success,
            Duration::from_millis(3),
        );
        m.add_rows("old", "delete", 4);
        let text = m.encode();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            assert!(line.contains(r#"node="node-a""#), "{line}\n{text}");
        }
        assert!(text.contains("datawarden_rows_affected_total{"), "{text}");
    }

    #[test]
    fn subject_request_gauges() {
        let m = Metrics::new();
        m.set_subject_requests(3, 1);
        let text = m.encode();
        assert!(
            text.contains("datawarden_subject_requests_open 3"),
            "{text}"
        );
        assert!(
            text.contains("datawarden_subject_requests_overdue 1"),
            "{text}"
        );
    }

    #[test]
    fn exposition_has_labels_and_values() {
        let m = Metrics::new();
        m.record_run(
            "scan:crm",
            JobKind::Scan,
            Outcome::Success,
            Duration::from_millis(300),
        );
        m.record_run(
            "enforce:old",
            JobKind::Enforce,
            Outcome::Failure,
            Duration::from_secs(1),
        );
        m.add_rows("old", "delete", 42);
        m.set_personal_columns("crm", &[("email".into(), 3), ("phone".into(), 1)]);
        m.set_personal_columns("crm", &[("email".into(), 2)]);
        let text = m.encode();
        assert!(
            text.contains(
                r#"datawarden_job_runs_total{job="scan:crm",kind="scan",outcome="success"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"datawarden_job_failures_total{job="enforce:old",kind="enforce"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"datawarden_rows_affected_total{policy="old",action="delete"} 42"#),
            "{text}"
        );
        assert!(
            text.contains(r#"datawarden_personal_data_columns{source="crm",category="email"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"datawarden_personal_data_columns{source="crm",category="phone"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"datawarden_job_duration_seconds_count{job="scan:crm",kind="scan"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("datawarden_job_last_success_timestamp_seconds{job=\"scan:crm\""),
            "{text}"
        );
        assert!(
            !text.contains("datawarden_job_last_success_timestamp_seconds{job=\"enforce:old\""),
            "{text}"
        );
    }
}
