//! Scheduler tests with simple in-process jobs on per-second schedules (real time, a few seconds).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::daemon::job::JobFn;
use crate::schedule::Cron;
use crate::Error;

fn settings() -> Settings {
    Settings {
        tz: chrono_tz::UTC,
        catch_up: true,
        retries: 0,
        retry_backoff: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(5),
        lease: Duration::from_secs(30),
        max_concurrent_jobs: None,
        max_running_jobs: 4,
        history: Duration::from_secs(90 * 86_400),
    }
}

fn job(name: &str, cron: &str, run: JobFn) -> Job {
    Job::new(JobKind::Scan, name, Cron::parse(cron).unwrap(), run)
}

fn counting(counter: Arc<AtomicUsize>) -> JobFn {
    Arc::new(move |_stop| {
        let c = counter.clone();
        Box::pin(async move {
            let n = c.fetch_add(1, Ordering::SeqCst) as u64 + 1;
            Ok(JobOutcome {
                counts: vec![("runs".into(), n)],
                ..Default::default()
            })
        })
    })
}

struct Harness {
    control: mpsc::Sender<Control>,
    task: tokio::task::JoinHandle<usize>,
    metrics: Arc<Metrics>,
}

async fn start(
    settings: Settings,
    jobs: Vec<Job>,
    history: Option<History>,
    reload: Reloader,
) -> Harness {
    let metrics = Arc::new(Metrics::new());
    let mut s = Scheduler::new(
        settings,
        jobs,
        history,
        metrics.clone(),
        Arc::new(Heartbeat::default()),
        Notifier::from_env(),
        Stop::new(),
    );
    s.catch_up().await.unwrap();
    let (tx, rx) = mpsc::channel(4);
    let task = tokio::spawn(s.run(rx, reload));
    Harness {
        control: tx,
        task,
        metrics,
    }
}

fn no_reload() -> Reloader {
    Box::new(|| Err(Error::Other("no reload in this test".into())))
}

async fn stop(h: Harness) -> Arc<Metrics> {
    h.control.send(Control::Shutdown).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), h.task)
        .await
        .unwrap()
        .unwrap();
    h.metrics
}

async fn temp_history() -> (tempfile::TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    let h = History::new(&crate::inventory::Store::open(&url).await.unwrap())
        .await
        .unwrap();
    (dir, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_job_runs_and_is_recorded() {
    let (_dir, history) = temp_history().await;
    let n = Arc::new(AtomicUsize::new(0));
    let h = start(
        settings(),
        vec![job("a", "* * * * * *", counting(n.clone()))],
        Some(history.clone()),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let metrics = stop(h).await;
    let runs = n.load(Ordering::SeqCst);
    assert!((2..=4).contains(&runs), "ran {runs} times in 2.6 s");
    let latest = history.latest().await.unwrap();
    let last = latest["scan:a"].last.clone().unwrap();
    assert_eq!(last.outcome, Outcome::Success);
    assert_eq!(
        last.counts.as_deref(),
        Some(format!("runs={runs}").as_str())
    );
    assert!(metrics.encode().contains(&format!(
        "datawarden_job_runs_total{{job=\"scan:a\",kind=\"scan\",outcome=\"success\"}} {runs}"
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_still_going_makes_the_next_fire_skip() {
    let live = Arc::new(AtomicUsize::new(0));
    let max_live = Arc::new(AtomicUsize::new(0));
    let (l, m) = (live.clone(), max_live.clone());
    let slow: JobFn = Arc::new(move |_stop| {
        let (l, m) = (l.clone(), m.clone());
        Box::pin(async move {
            let now = l.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2200)).await;
            l.fetch_sub(1, Ordering::SeqCst);
            Ok(JobOutcome::default())
        })
    });
    let h = start(
        settings(),
        vec![job("slow", "* * * * * *", slow)],
        None,
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let text = stop(h).await.encode();
    assert_eq!(max_live.load(Ordering::SeqCst), 1, "never two runs at once");
    assert!(
        text.contains("datawarden_job_skipped_total{job=\"scan:slow\",kind=\"scan\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_is_a_failure_and_the_others_go_on() {
    let n = Arc::new(AtomicUsize::new(0));
    let boom: JobFn = Arc::new(|_stop| Box::pin(async { panic!("deliberate test panic") }));
    let h = start(
        settings(),
        vec![
            job("boom", "* * * * * *", boom),
            job("ok", "* * * * * *", counting(n.clone())),
        ],
        None,
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!h.task.is_finished(), "scheduler still running");
    let text = stop(h).await.encode();
    assert!(n.load(Ordering::SeqCst) >= 2);
    assert!(
        text.contains(
            "datawarden_job_runs_total{job=\"scan:boom\",kind=\"scan\",outcome=\"panic\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("datawarden_job_failures_total{job=\"scan:boom\",kind=\"scan\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff() {
    let (_dir, history) = temp_history().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let flaky: JobFn = Arc::new(move |_stop| {
        let c = c.clone();
        Box::pin(async move {
            match c.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(Error::Transient {
                    source_name: "crm".into(),
                    message: "connection refused".into(),
                }),
                _ => Ok(JobOutcome::default()),
            }
        })
    });
    // Fires once (at second 0 of some minute is too slow for a test): every second, but the
    // retries keep the job busy, so later fires are skipped until the third attempt succeeds.
    let s = Settings {
        retries: 3,
        ..settings()
    };
    let h = start(
        s,
        vec![job("flaky", "* * * * * *", flaky)],
        Some(history.clone()),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    stop(h).await;
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT attempt, outcome, error FROM job_runs WHERE job = 'scan:flaky' ORDER BY id LIMIT 3",
    )
    .fetch_all(&history.pool_for_tests())
    .await
    .unwrap();
    assert_eq!(
        rows[0],
        (
            1,
            "failure".into(),
            Some("source crm: connection refused".into())
        )
    );
    assert_eq!(rows[1].0, 2, "retry after 100 ms");
    assert_eq!(
        rows[2],
        (3, "success".into(), None),
        "retry after another 200 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_a_retry_cannot_fix_are_not_retried() {
    let (_dir, history) = temp_history().await;
    let braked: JobFn = Arc::new(move |_stop| {
        Box::pin(async move {
            Err(Error::Policy {
                policy: "p".into(),
                message: "the safety brake stopped the run before any change".into(),
            })
        })
    });
    // With retries = 3 and a 100 ms backoff, a retried failure would show attempt 2 within
    // 1.3 s; a non-retryable one shows attempt 1 for every fire time.
    let s = Settings {
        retries: 3,
        ..settings()
    };
    let h = start(
        s,
        vec![job("braked", "* * * * * *", braked)],
        Some(history.clone()),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    stop(h).await;
    let attempts: Vec<(i64,)> =
        sqlx::query_as("SELECT attempt FROM job_runs WHERE job = 'scan:braked' ORDER BY id")
            .fetch_all(&history.pool_for_tests())
            .await
            .unwrap();
    assert!(!attempts.is_empty());
    assert!(
        attempts.iter().all(|a| a.0 == 1),
        "a braked policy was retried: {attempts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_run_to_reach_a_safe_point() {
    let batches = Arc::new(AtomicUsize::new(0));
    let b = batches.clone();
    let long: JobFn = Arc::new(move |stop: Stop| {
        let b = b.clone();
        Box::pin(async move {
            for _ in 0..100 {
                if stop.is_requested() {
                    return Ok(JobOutcome {
                        interrupted: true,
                        ..Default::default()
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                b.fetch_add(1, Ordering::SeqCst);
            }
            Ok(JobOutcome::default())
        })
    });
    let h = start(
        settings(),
        vec![job("long", "* * * * * *", long)],
        None,
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = std::time::Instant::now();
    let text = stop(h).await.encode();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stopped at the next batch boundary"
    );
    assert!(batches.load(Ordering::SeqCst) < 100);
    assert!(text.contains("outcome=\"interrupted\"} 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_run_is_caught_up_once() {
    let (_dir, history) = temp_history().await;
    // Hourly; the last run was three hours ago, so three fire times were missed: run once.
    let three_h_ago = Utc::now() - chrono::Duration::hours(3);
    let id = history
        .start("scan:hourly", "scan", three_h_ago, 1)
        .await
        .unwrap();
    history
        .finish(id, Outcome::Success, None, None)
        .await
        .unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    let h = start(
        settings(),
        vec![job("hourly", "0 * * * *", counting(n.clone()))],
        Some(history.clone()),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(h).await;
    assert_eq!(n.load(Ordering::SeqCst), 1);

    let n = Arc::new(AtomicUsize::new(0));
    let id = history
        .start("scan:other", "scan", three_h_ago, 1)
        .await
        .unwrap();
    history
        .finish(id, Outcome::Success, None, None)
        .await
        .unwrap();
    let s = Settings {
        catch_up: false,
        ..settings()
    };
    let h = start(
        s,
        vec![job("other", "0 * * * *", counting(n.clone()))],
        Some(history),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(h).await;
    assert_eq!(n.load(Ordering::SeqCst), 0, "catch_up = false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_jobs_or_keeps_the_old_ones() {
    let a = Arc::new(AtomicUsize::new(0));
    let b = Arc::new(AtomicUsize::new(0));
    let attempt = Arc::new(AtomicUsize::new(0));
    let (a2, b2, at) = (a.clone(), b.clone(), attempt.clone());
    let reload: Reloader = Box::new(move || {
        if at.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::Other("broken config".into()));
        }
        Ok((
            settings(),
            vec![
                job("a", "* * * * * *", counting(a2.clone())),
                job("b", "* * * * * *", counting(b2.clone())),
            ],
        ))
    });
    let h = start(
        settings(),
        vec![job("a", "* * * * * *", counting(a.clone()))],
        None,
        reload,
    )
    .await;
    h.control.send(Control::Reload).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        a.load(Ordering::SeqCst) >= 1,
        "old job still runs after a failed reload"
    );
    assert_eq!(b.load(Ordering::SeqCst), 0);
    h.control.send(Control::Reload).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = stop(h).await.encode();
    assert!(
        b.load(Ordering::SeqCst) >= 1,
        "new job runs after a good reload"
    );
    assert!(
        text.contains("datawarden_config_reloads_total{outcome=\"failure\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("datawarden_config_reloads_total{outcome=\"success\"} 1"),
        "{text}"
    );
    assert!(text.contains("datawarden_scheduled_jobs 2"), "{text}");
}

#[tokio::test]
async fn reload_recomputes_fire_times_when_the_zone_or_schedule_changes() {
    let n = Arc::new(AtomicUsize::new(0));
    let mut s = Scheduler::new(
        settings(),
        vec![job("a", "0 3 * * *", counting(n.clone()))],
        None,
        Arc::new(Metrics::new()),
        Arc::new(Heartbeat::default()),
        Notifier::from_env(),
        Stop::new(),
    );
    use chrono::Timelike;
    let utc_next = s.slots["scan:a"].next.unwrap();
    assert_eq!((utc_next.hour(), utc_next.minute()), (3, 0));
    let n2 = n.clone();
    let to_shanghai: Reloader = Box::new(move || {
        Ok((
            Settings {
                tz: chrono_tz::Asia::Shanghai,
                ..settings()
            },
            vec![job("a", "0 3 * * *", counting(n2.clone()))],
        ))
    });
    s.reload(&to_shanghai);
    let next = s.slots["scan:a"].next.unwrap();
    assert_eq!(
        (next.hour(), next.minute()),
        (19, 0),
        "03:00 in Shanghai is 19:00 UTC"
    );
    let n3 = n.clone();
    let new_schedule: Reloader = Box::new(move || {
        Ok((
            Settings {
                tz: chrono_tz::Asia::Shanghai,
                ..settings()
            },
            vec![job("a", "30 4 * * *", counting(n3.clone()))],
        ))
    });
    s.reload(&new_schedule);
    let next = s.slots["scan:a"].next.unwrap();
    assert_eq!((next.hour(), next.minute()), (20, 30));
    assert_eq!(n.load(Ordering::SeqCst), 0, "nothing ran");
}

/// A cron expression firing once, at the whole second `secs` seconds from now (UTC).
fn once_in(secs: i64) -> (String, DateTime<Utc>) {
    let t = Utc::now() + chrono::Duration::seconds(secs);
    let t = t - chrono::Duration::nanoseconds(t.timestamp_subsec_nanos() as i64);
    let cron = t.format("%-S %-M %-H %-d %-m *").to_string();
    (cron, t)
}

/// Jobs that sleep `ms`, counting their runs per job and the most that ran at once.
struct Tracked {
    live: Arc<AtomicUsize>,
    max_live: Arc<AtomicUsize>,
    runs: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
}

impl Tracked {
    fn new() -> Tracked {
        Tracked {
            live: Arc::new(AtomicUsize::new(0)),
            max_live: Arc::new(AtomicUsize::new(0)),
            runs: Arc::default(),
        }
    }

    fn job(&self, name: &str, cron: &str, ms: u64) -> Job {
        let (live, max_live, runs) = (self.live.clone(), self.max_live.clone(), self.runs.clone());
        let n = name.to_string();
        let run: JobFn = Arc::new(move |_stop| {
            let (live, max_live, runs, n) =
                (live.clone(), max_live.clone(), runs.clone(), n.clone());
            Box::pin(async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                max_live.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                *runs.lock().unwrap().entry(n).or_default() += 1;
                Ok(JobOutcome::default())
            })
        });
        job(name, cron, run)
    }

    fn total(&self) -> usize {
        self.runs.lock().unwrap().values().sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_running_jobs_queues_due_jobs_and_runs_each_once() {
    let (_dir, history) = temp_history().await;
    let (cron, fire) = once_in(2);
    let t = Tracked::new();
    let names = ["a", "b", "c", "d"];
    let jobs = names.iter().map(|n| t.job(n, &cron, 300)).collect();
    let h = start(
        Settings {
            max_running_jobs: 1,
            ..settings()
        },
        jobs,
        Some(history.clone()),
        no_reload(),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.total() < names.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = Utc::now() - fire;
    stop(h).await;
    assert_eq!(t.max_live.load(Ordering::SeqCst), 1, "one job at a time");
    let runs = t.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), names.len(), "every due job ran: {runs:?}");
    assert!(runs.values().all(|n| *n == 1), "each once: {runs:?}");
    assert!(
        took >= chrono::Duration::milliseconds(1200),
        "four 300 ms jobs one after another: {took}"
    );
    let recorded = history.store().recent_runs(100).await.unwrap();
    assert_eq!(recorded.len(), names.len(), "{recorded:?}");
    assert!(recorded
        .iter()
        .all(|r| r.scheduled_for == fire && r.outcome == "success"));
}

/// Two nodes with one slot each share one store: the fire times the busy node cannot start stay
/// unclaimed and the other node runs them; every fire time runs once in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_node_leaves_due_jobs_to_a_free_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    let store = crate::inventory::Store::open(&url).await.unwrap();
    let (cron, fire) = once_in(2);
    let t = Tracked::new();
    let names = ["a", "b", "c", "d", "e", "f"];
    let mut harnesses = vec![];
    for node in ["n1", "n2"] {
        let history = History::new(&store.clone().with_node(node)).await.unwrap();
        let jobs = names.iter().map(|n| t.job(n, &cron, 300)).collect();
        let settings = Settings {
            max_running_jobs: 1,
            ..settings()
        };
        harnesses.push(start(settings, jobs, Some(history), no_reload()).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.total() < names.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a stray second run (which must not happen) the time to show up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for h in harnesses {
        stop(h).await;
    }
    assert!(t.max_live.load(Ordering::SeqCst) <= 2, "one per node");
    let runs = t.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), names.len(), "every due job ran: {runs:?}");
    assert!(runs.values().all(|n| *n == 1), "each once: {runs:?}");
    let recorded = store.recent_runs(100).await.unwrap();
    assert_eq!(recorded.len(), names.len(), "{recorded:?}");
    let mut per_node: BTreeMap<String, Vec<&crate::store::ClusterRun>> = BTreeMap::new();
    for r in &recorded {
        assert_eq!(r.scheduled_for, fire);
        per_node
            .entry(r.node.clone().unwrap_or_default())
            .or_default()
            .push(r);
    }
    assert_eq!(per_node.len(), 2, "both nodes ran jobs: {per_node:?}");
    for (node, runs) in &per_node {
        let mut spans: Vec<_> = runs
            .iter()
            .map(|r| (r.started_at, r.finished_at.unwrap()))
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "{node} ran two jobs at once: {spans:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_prunes_finished_runs_older_than_the_history_window() {
    let (_dir, history) = temp_history().await;
    let long_ago = Utc::now() - chrono::Duration::days(100);
    for outcome in [Outcome::Success, Outcome::Failure, Outcome::Success] {
        let id = history
            .start("scan:old", "scan", long_ago, 1)
            .await
            .unwrap();
        history.finish(id, outcome, None, None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let h = start(
        Settings {
            history: Duration::from_millis(200),
            ..settings()
        },
        vec![],
        Some(history.clone()),
        no_reload(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(h).await;
    let left = history.store().recent_runs(10).await.unwrap();
    assert_eq!(
        left.len(),
        1,
        "the latest attempt, also the latest success: {left:?}"
    );
    assert_eq!(left[0].outcome, "success");
}
