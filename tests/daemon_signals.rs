//! Signals: SIGHUP reloads (a broken config keeps the old one and says why; a good one applies),
//! SIGTERM during an enforcement run exits 0 at the next batch boundary and the work resumes.

mod daemon_support;

use std::time::{Duration, Instant};

use daemon_support::*;
use nix::sys::signal::Signal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_keeps_the_old_config_when_the_new_one_is_broken_and_applies_a_good_one() {
    let setup = Setup::new();
    let lite = setup.sqlite_url("src.db");
    let sources = format!("[[sources]]\nname = \"lite\"\nurl = \"{lite}\"\n\n");
    let cfg = setup.write_config(&format!(
        "{sources}{}",
        delete_policy("a", "lite", "* * * * * *", "")
    ));
    let src = setup.source("lite").await;
    events_table(&src, 3, 1).await;
    let d = Daemon::start(&cfg, &[]);
    d.wait_for_log(r#""message":"job finished""#, 1, Duration::from_secs(15));

    // Broken: a retention period that does not parse.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("retain = \"30d\"", "retain = \"forever\""),
    )
    .unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for_log("configuration reload failed", 1, Duration::from_secs(10));
    let logs = d.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("configuration reload failed"))
        .unwrap();
    assert!(line.contains("policies[0].retain"), "says why: {line}");
    let finished = d.logs().matches(r#""message":"job finished""#).count();
    d.wait_for_log(
        r#""message":"job finished""#,
        finished + 2,
        Duration::from_secs(10),
    );

    // Good: a second policy appears.
    setup.write_config(&format!(
        "{sources}{}{}",
        delete_policy("a", "lite", "* * * * * *", ""),
        delete_policy("b", "lite", "*/2 * * * * *", "")
    ));
    d.signal(Signal::SIGHUP);
    d.wait_for_log("configuration reloaded", 1, Duration::from_secs(10));
    d.wait_for_log(r#""job":"enforce:b""#, 2, Duration::from_secs(10));
    let st = d.status();
    assert_job_succeeded(&st, "enforce:b");
    d.stop();
    src.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_enforcement_exits_0_and_the_next_run_finishes_the_work() {
    let setup = Setup::new();
    let lite = setup.sqlite_url("src.db");
    let cfg = setup.write_config(&format!(
        "[[sources]]\nname = \"lite\"\nurl = \"{lite}\"\n\n{}\n[daemon]\nshutdown_timeout = \"10s\"\n",
        delete_policy("slow", "lite", "* * * * * *", "batch_size = 5\npause = \"100ms\"")
    ));
    let src = setup.source("lite").await;
    events_table(&src, 300, 5).await;
    let mut d = Daemon::start(&cfg, &[]);
    eventually("some batches done", Duration::from_secs(20), || async {
        count_events(&src).await < 280
    })
    .await;
    d.signal(Signal::SIGTERM);
    let t = Instant::now();
    let status = d.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit 0: {status:?}\n{}", d.logs());
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stopped at the next batch boundary, took {:?}",
        t.elapsed()
    );
    let left = count_events(&src).await;
    assert!(left > 5, "the run was interrupted, {left} rows left");
    // Whole batches only: every deleted row belongs to an audited batch of at most
    // `batch_size` rows (batches shrink below it when one runs slow, so the count need not be
    // a multiple of 5).
    let batches = common::batch_records(&cfg, "slow");
    let audited: i64 = batches.iter().map(|(rows, _)| rows).sum();
    assert_eq!(audited as u64, 305 - left, "{batches:?}");
    assert!(batches.iter().all(|(rows, _)| *rows <= 5), "{batches:?}");
    assert!(
        d.logs().contains(r#""outcome":"interrupted""#),
        "{}",
        d.logs()
    );

    // The next run resumes the checkpoint and finishes.
    let d = Daemon::start(&cfg, &[]);
    eventually("all old rows deleted", Duration::from_secs(60), || async {
        count_events(&src).await == 5
    })
    .await;
    let logs = d.stop();
    assert!(
        logs.contains("resumed=1"),
        "resumed the interrupted run: {logs}"
    );
    src.close().await;
}
