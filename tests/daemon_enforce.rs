//! `datawarden run` scanning and enforcing on per-second schedules against SQLite and PostgreSQL,
//! and a job against an unreachable database failing while the others succeed.

mod daemon_support;

use std::time::Duration;

use daemon_support::*;

async fn audit_rows(setup: &Setup, policy: &str) -> i64 {
    setup
        .inv
        .try_scalar(
            "SELECT COUNT(*) FROM retention_audit WHERE policy = $1",
            &[policy],
        )
        .await
        .unwrap_or(0)
}

async fn scans(setup: &Setup) -> Vec<(String, i64)> {
    setup
        .inv
        .pairs(
            "SELECT status, CAST(personal_columns AS TEXT) FROM scans WHERE source = 'db' ORDER BY id",
            &[],
        )
        .await
        .into_iter()
        .map(|(s, n)| (s, n.parse().unwrap()))
        .collect()
}

async fn scan_and_enforce_on(setup: &Setup, url: &str) {
    let port = free_port();
    let cfg = setup.write_config(&format!(
        "[[sources]]\nname = \"db\"\nurl = \"{url}\"\nschedule = \"*/2 * * * * *\"\n\n{}\n\
         [daemon]\nretries = 0\nlisten = \"127.0.0.1:{port}\"\n",
        delete_policy("purge", "db", "* * * * * *", "batch_size = 7")
    ));
    let src = setup.source("db").await;
    events_table(&src, 40, 5).await;
    let d = Daemon::start(&cfg, &[]);
    eventually("old rows deleted", Duration::from_secs(30), || async {
        count_events(&src).await == 5
    })
    .await;
    d.wait_for_log(r#""message":"job finished""#, 2, Duration::from_secs(10));
    assert!(
        audit_rows(setup, "purge").await >= 6,
        "one audit record per batch of 7 (40 rows) at least"
    );
    eventually(
        "a scan in the inventory",
        Duration::from_secs(30),
        || async {
            scans(setup)
                .await
                .iter()
                .any(|(status, personal)| status == "ok" && *personal >= 1)
        },
    )
    .await;
    d.wait_for_log(r#""job":"scan:db""#, 2, Duration::from_secs(10));
    let (_, m) = http_get(port, "/metrics");
    let m = without_node(&m);
    assert!(
        m.contains(r#"datawarden_personal_data_columns{source="db",category="email"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"datawarden_job_runs_total{job="scan:db",kind="scan",outcome="success"}"#),
        "{m}"
    );
    let st = d.status();
    assert!(
        job_status(&st, "scan:db")["last_success"].is_string(),
        "{st:#}"
    );
    assert_job_succeeded(&st, "enforce:purge");
    assert!(
        job_status(&st, "enforce:purge")["next_run"].is_string(),
        "{st:#}"
    );
    let logs = d.stop();
    assert!(logs.contains(r#""job":"enforce:purge""#), "{logs}");
    assert!(
        logs.contains(r#""counts":"eligible="#),
        "counts on the end line: {logs}"
    );
    assert_eq!(count_events(&src).await, 5, "recent rows kept");
    src.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_scan_and_enforcement_on_sqlite() {
    let setup = Setup::new();
    let url = setup.sqlite_url("src.db");
    scan_and_enforce_on(&setup, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_second_scan_and_enforcement_on_postgres() {
    let Some(db) = TestDb::create(Kind::Postgres, "daemon_enforce").await else {
        return;
    };
    let setup = Setup::new();
    scan_and_enforce_on(&setup, &db.url).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_its_job_only() {
    let setup = Setup::new();
    let lite = setup.sqlite_url("src.db");
    let cfg = setup.write_config(&format!(
        "[[sources]]\nname = \"lite\"\nurl = \"{lite}\"\n\n\
         [[sources]]\nname = \"down\"\nurl = \"postgres://dw:Sup3rS3cretPw@127.0.0.1:1/nowhere\"\n\n{}{}\n\
         [daemon]\nretries = 1\nretry_backoff = \"200ms\"\n",
        delete_policy("ok", "lite", "* * * * * *", ""),
        delete_policy("broken", "down", "*/2 * * * * *", ""),
    ));
    let src = setup.source("lite").await;
    events_table(&src, 10, 2).await;
    let d = Daemon::start(&cfg, &[]);
    d.wait_for_log(r#""message":"job failed""#, 2, Duration::from_secs(30));
    d.wait_for_log(r#""message":"job finished""#, 2, Duration::from_secs(10));
    assert_eq!(
        count_events(&src).await,
        2,
        "the reachable database was enforced"
    );
    let st = d.status();
    assert_job_succeeded(&st, "enforce:ok");
    let broken = job_status(&st, "enforce:broken");
    let err = broken["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("down"), "the error names the source: {st:#}");
    assert!(!d.child_exited(), "the daemon goes on");
    let logs = d.stop();
    assert!(logs.contains(r#""attempt":2"#), "retried once: {logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(
        !logs.contains("Sup3rS3cretPw"),
        "no password in the logs: {logs}"
    );
    assert!(
        !serde_json::to_string(&st)
            .unwrap()
            .contains("Sup3rS3cretPw"),
        "no password in status"
    );
    src.close().await;
}
