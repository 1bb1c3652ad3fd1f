//! Several daemons sharing one PostgreSQL inventory: each fire time runs once across the cluster,
//! a killed node's run is taken over after its lease and resumes from its checkpoint, and a node
//! that lost its lease cannot write a checkpoint or an audit record.

mod daemon_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use daemon_support::*;
use datawarden::retention::audit::AuditRecord;
use datawarden::retention::checkpoint::Checkpoint;
use datawarden::store::{CheckpointChange, ExpiredClaim, Outcome, Store};
use nix::sys::signal::Signal;
use sqlx::{Connection, Row};

const OLD: i64 = 300;

/// A job and one of its fire times.
type Fire = (String, DateTime<Utc>);

/// When an attempt started and finished.
type Span = (DateTime<Utc>, DateTime<Utc>);
const NEW: i64 = 20;

async fn pg(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_share_the_work_and_absorb_a_killed_node() {
    let Some(inv) = TestDb::create(Kind::Postgres, "cluster_inventory").await else {
        return;
    };
    let Some(db) = TestDb::create(Kind::Postgres, "cluster_source").await else {
        return;
    };
    let setup = Setup::new();
    let cfg = setup.path("dw.toml");
    std::fs::write(
        &cfg,
        format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\nschedule = \"* * * * * *\"\n\n{}\n\
             [daemon]\nretries = 0\nlease = \"3s\"\nshutdown_timeout = \"10s\"\n",
            inv.url,
            db.url,
            delete_policy("purge", "db", "* * * * * *", "batch_size = 10\npause = \"100ms\"")
        ),
    )
    .unwrap();
    let src = setup.source("db").await;
    events_table(&src, OLD, NEW).await;

    let mut daemons: BTreeMap<String, Daemon> = ["a", "b", "c"]
        .iter()
        .map(|n| (n.to_string(), Daemon::start_node(&cfg, n)))
        .collect();

    // Wait until one node is mid-enforcement (a few batches committed), then SIGKILL it.
    let mut inv_conn = pg(&inv.url).await;
    let started = std::time::Instant::now();
    let (victim, scheduled): (String, DateTime<Utc>) = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no enforcement run in progress after 60s"
        );
        let row = sqlx::query(
            "SELECT c.owner, c.scheduled FROM job_claims c JOIN retention_checkpoint k ON k.policy = 'purge'
             WHERE c.job = 'enforce:purge' AND c.state = 'running' AND k.batches >= 3",
        )
        .fetch_optional(&mut inv_conn)
        .await
        .unwrap_or(None);
        if let Some(r) = row {
            break (r.get(0), r.get(1));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed_at = std::time::Instant::now();
    daemons[&victim].signal(Signal::SIGKILL);
    let mut dead = daemons.remove(&victim).unwrap();
    dead.wait_exit(Duration::from_secs(10));
    assert!(
        count_events(&src).await > NEW as u64,
        "killed mid-enforcement: old rows were left"
    );

    // Another node takes the killed node's run over (epoch 2) after the lease.
    let mut taken: Option<(String, i64)> = None;
    while killed_at.elapsed() < Duration::from_secs(30) {
        let r = sqlx::query(
            "SELECT owner, epoch FROM job_claims WHERE job = 'enforce:purge' AND scheduled = $1",
        )
        .bind(scheduled)
        .fetch_one(&mut inv_conn)
        .await
        .unwrap();
        if r.get::<i64, _>(1) >= 2 {
            taken = Some((r.get(0), r.get(1)));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (taker, epoch) = taken.expect("the killed node's run was taken over within 30s");
    let absorbed = killed_at.elapsed();
    assert_ne!(taker, victim);
    assert_eq!(epoch, 2);
    assert!(
        absorbed >= Duration::from_millis(1500),
        "not before the lease ran out: {absorbed:?}"
    );
    eventually("old rows deleted", Duration::from_secs(60), || async {
        count_events(&src).await == NEW as u64
    })
    .await;
    // A few more per-second fires on the two survivors.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = {
        let o = datawarden_status(&cfg, 500);
        serde_json::from_slice::<serde_json::Value>(&o).unwrap()
    };
    for (_, d) in std::mem::take(&mut daemons) {
        d.stop();
    }

    // Rows: exactly the recent ones are left.
    assert_eq!(count_events(&src).await, NEW as u64);
    let left: i64 = src
        .fetch_rows("SELECT MIN(id) FROM events", &[])
        .await
        .unwrap()[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(left, OLD + 1, "the rows kept are the recent ones");

    // No fire time ran twice: per (job, fire time) at most one attempt that was not cut short by
    // an expired lease, and the attempts of one fire time never overlap on two nodes.
    let runs = sqlx::query("SELECT job, scheduled, node, outcome FROM job_runs ORDER BY id")
        .fetch_all(&mut inv_conn)
        .await
        .unwrap();
    let mut per_fire: BTreeMap<Fire, Vec<(String, String)>> = BTreeMap::new();
    let mut nodes = BTreeSet::new();
    for r in &runs {
        let key = (r.get::<String, _>(0), r.get::<DateTime<Utc>, _>(1));
        let node: String = r.get(2);
        nodes.insert(node.clone());
        per_fire
            .entry(key)
            .or_default()
            .push((node, r.get::<String, _>(3)));
    }
    assert!(
        per_fire.len() >= 10,
        "per-second jobs ran: {}",
        per_fire.len()
    );
    for (fire, attempts) in &per_fire {
        let finished: Vec<_> = attempts
            .iter()
            .filter(|(_, o)| o != "lease_expired")
            .collect();
        assert!(
            finished.len() <= 1,
            "{fire:?} ran more than once: {attempts:?}"
        );
    }
    assert_eq!(nodes.len(), 3, "all three nodes ran jobs: {nodes:?}");
    let cut: Vec<_> = per_fire[&("enforce:purge".to_string(), scheduled)].clone();
    assert_eq!(
        cut,
        vec![
            (victim.clone(), "lease_expired".to_string()),
            (taker.clone(), "success".to_string())
        ],
        "the killed node's attempt expired and the taker finished it"
    );
    let claims: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_claims")
        .fetch_one(&mut inv_conn)
        .await
        .unwrap();
    assert_eq!(claims as usize, per_fire.len(), "one claim per fire time");

    // The audit trail: every deleted row in exactly one batch record, and the chain verifies.
    let batches = common::batch_records(&cfg, "purge");
    assert_eq!(batches.iter().map(|b| b.0).sum::<i64>(), OLD, "{batches:?}");
    let o = common::dw(&["audit", "verify", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "audit verify: {}", common::text(&o));

    // status --json shows the cluster's runs and nodes.
    let runs = status["runs"].as_array().expect("runs");
    assert!(runs.iter().any(|r| r["node"] == taker.as_str()));
    assert!(runs
        .iter()
        .any(|r| r["outcome"] == "lease_expired" && r["node"] == victim.as_str()));
    let shown: BTreeSet<&str> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(shown, BTreeSet::from(["a", "b", "c"]));
    assert!(status["jobs"].as_array().unwrap().len() == 2, "{status:#}");

    drop(inv_conn);
    src.close().await;
    db.drop_db().await;
    inv.drop_db().await;
}

fn datawarden_status(cfg: &std::path::Path, runs: u32) -> Vec<u8> {
    let o = common::dw(&[
        "status",
        "--json",
        "--runs",
        &runs.to_string(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "status: {}", common::text(&o));
    o.stdout
}

/// A checkpoint of policy `p` after `batches` batches.
fn checkpoint(batches: i64) -> Checkpoint {
    Checkpoint {
        policy: "p".into(),
        run_id: "p-1".into(),
        cutoff: "2026-01-01T00:00:00Z".into(),
        last_key: Some(format!("[\"{batches}\"]")),
        rows_affected: batches * 10,
        batches,
        pending: None,
    }
}

fn record(batch: i64) -> AuditRecord {
    AuditRecord {
        run_id: "p-1".into(),
        kind: "batch".into(),
        policy: "p".into(),
        batch: Some(batch),
        rows_affected: 10,
        outcome: "ok".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        cutoff: "2026-01-01T00:00:00Z".into(),
        ..AuditRecord::default()
    }
}

/// A node whose claim was taken over (stale epoch) has its checkpoint and audit writes refused and
/// rolled back; the new owner's writes go through. On both inventory backends.
async fn a_fenced_writer_is_refused_on(url: &str) {
    let lease = Duration::from_millis(1000);
    let a = Store::open(url).await.unwrap().with_node("a");
    let b = Store::open(url).await.unwrap().with_node("b");
    let fire: DateTime<Utc> = "2026-12-06T06:00:00Z".parse().unwrap();
    let fa = a
        .claim_fire("enforce:p", "enforce", "db", fire, lease, None)
        .await
        .unwrap()
        .expect("first claim wins");
    assert!(
        b.claim_fire("enforce:p", "enforce", "db", fire, lease, None)
            .await
            .unwrap()
            .is_none(),
        "the same fire time is claimed once"
    );
    let a = a.fenced(Some(fa.clone()));
    a.save_checkpoint(&checkpoint(1)).await.unwrap();
    a.append_audit(&mut record(1), CheckpointChange::Keep)
        .await
        .unwrap();
    assert!(a.renew_lease(&fa, lease).await.unwrap());

    // a pauses past its lease; b takes the run over with epoch 2.
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let expired = b.expired_claims(&["enforce:p".to_string()]).await.unwrap();
    assert_eq!(expired.len(), 1);
    let fb = b
        .take_over(&expired[0], lease * 10)
        .await
        .unwrap()
        .expect("takeover");
    assert_eq!(fb.epoch, 2);
    let again = ExpiredClaim {
        epoch: 1,
        ..expired[0].clone()
    };
    assert!(
        a.take_over(&again, lease).await.unwrap().is_none(),
        "one taker wins"
    );

    // a wakes up: every write of it is refused and changes nothing.
    let err = a.save_checkpoint(&checkpoint(2)).await.unwrap_err();
    assert!(err.to_string().contains("lease lost"), "{err}");
    let err = a
        .append_audit(&mut record(2), CheckpointChange::Save(&checkpoint(2)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("lease lost"), "{err}");
    assert!(!a.renew_lease(&fa, lease).await.unwrap());
    assert_eq!(a.checkpoint("p").await.unwrap().unwrap().batches, 1);
    assert_eq!(a.audit_records().await.unwrap().len(), 1);

    // b, the current owner, writes.
    let b = b.fenced(Some(fb));
    b.append_audit(&mut record(2), CheckpointChange::Save(&checkpoint(2)))
        .await
        .unwrap();
    assert_eq!(b.checkpoint("p").await.unwrap().unwrap().batches, 2);
    assert_eq!(b.audit_records().await.unwrap().len(), 2);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_fenced_writer_is_refused_on_postgres() {
    let Some(inv) = TestDb::create(Kind::Postgres, "cluster_fence").await else {
        return;
    };
    a_fenced_writer_is_refused_on(&inv.url).await;
    inv.drop_db().await;
}

#[tokio::test]
async fn a_fenced_writer_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    a_fenced_writer_is_refused_on(&url).await;
}

/// One run of a job at a time across the cluster, and at most `max_concurrent_jobs` live runs per
/// source; a finished (released) run frees its place.
async fn claims_respect_running_runs_and_the_source_cap_on(url: &str) {
    let lease = Duration::from_secs(30);
    let a = Store::open(url).await.unwrap().with_node("a");
    let b = Store::open(url).await.unwrap().with_node("b");
    let t = |s: i64| -> DateTime<Utc> {
        "2026-12-06T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(s)
    };
    let scan = a
        .claim_fire("scan:db", "scan", "db", t(0), lease, Some(1))
        .await
        .unwrap()
        .expect("first run of the source");
    assert!(
        b.claim_fire("scan:db", "scan", "db", t(1), lease, None)
            .await
            .unwrap()
            .is_none(),
        "the next fire time of a job still running is skipped"
    );
    assert!(
        b.claim_fire("enforce:p", "enforce", "db", t(1), lease, Some(1))
            .await
            .unwrap()
            .is_none(),
        "the source is at its cap of 1"
    );
    assert!(
        b.claim_fire("enforce:p", "enforce", "db", t(1), lease, Some(2))
            .await
            .unwrap()
            .is_some(),
        "below a cap of 2"
    );
    a.release_claim(&scan).await.unwrap();
    assert!(b
        .claim_fire("scan:db", "scan", "db", t(2), lease, None)
        .await
        .unwrap()
        .is_some());
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn claims_respect_running_runs_and_the_source_cap_on_postgres() {
    let Some(inv) = TestDb::create(Kind::Postgres, "cluster_cap").await else {
        return;
    };
    claims_respect_running_runs_and_the_source_cap_on(&inv.url).await;
    inv.drop_db().await;
}

#[tokio::test]
async fn claims_respect_running_runs_and_the_source_cap_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    claims_respect_running_runs_and_the_source_cap_on(&url).await;
}

/// `[daemon] max_running_jobs = 1` on two real daemons sharing a PostgreSQL inventory: six scan
/// jobs fall due at one time; each node runs one at a time, leaves the rest unclaimed for the
/// other node, and every fire time runs exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_running_jobs_runs_one_at_a_time_per_node_and_each_fire_once() {
    let Some(inv) = TestDb::create(Kind::Postgres, "cluster_slots_inv").await else {
        return;
    };
    let Some(db) = TestDb::create(Kind::Postgres, "cluster_slots_src").await else {
        return;
    };
    const N: usize = 6;
    let mut ddl = String::new();
    for i in 0..N {
        ddl.push_str(&format!(
            "CREATE SCHEMA s{i};
             CREATE TABLE s{i}.customers (id int PRIMARY KEY, email text, phone text);
             INSERT INTO s{i}.customers SELECT g, 'user' || g || '@example.com', '+44 20 7946 ' || lpad(g::text, 4, '0')
               FROM generate_series(1, 200) g;\n"
        ));
    }
    db.exec(&ddl).await;
    // One fire time, a whole second far enough ahead for both daemons to be up.
    let t = Utc::now() + chrono::Duration::seconds(6);
    let fire = t - chrono::Duration::nanoseconds(t.timestamp_subsec_nanos() as i64);
    let cron = fire.format("%-S %-M %-H %-d %-m *").to_string();
    let setup = Setup::new();
    let cfg = setup.path("dw.toml");
    let mut text = format!(
        "timezone = \"UTC\"\n\n[inventory]\nurl = \"{}\"\n\n[daemon]\nretries = 0\nmax_running_jobs = 1\n\n",
        inv.url
    );
    for i in 0..N {
        text.push_str(&format!(
            "[[sources]]\nname = \"s{i}\"\nurl = \"{}\"\ninclude_schemas = [\"s{i}\"]\nschedule = \"{cron}\"\n\n",
            db.url
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let daemons: Vec<Daemon> = ["a", "b"]
        .iter()
        .map(|n| Daemon::start_node(&cfg, n))
        .collect();

    let mut conn = pg(&inv.url).await;
    let url = inv.url.clone();
    let finished = move || {
        let url = url.clone();
        async move {
            let mut c = pg(&url).await;
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM job_runs WHERE outcome <> 'running'")
                .fetch_one(&mut c)
                .await
                .unwrap_or(0)
                >= N as i64
        }
    };
    eventually("all scans finished", Duration::from_secs(90), finished).await;
    // A stray second run (which must not happen) would show up now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let logs: Vec<String> = daemons.into_iter().map(|d| d.stop()).collect();

    let rows = sqlx::query("SELECT job, scheduled, node, outcome, started, finished FROM job_runs")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), N, "one attempt per job: {logs:?}");
    let mut per_job = BTreeSet::new();
    let mut spans: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for r in &rows {
        assert_eq!(r.get::<String, _>("outcome"), "success");
        assert_eq!(r.get::<DateTime<Utc>, _>("scheduled"), fire);
        assert!(per_job.insert(r.get::<String, _>("job")), "a job ran twice");
        spans
            .entry(r.get("node"))
            .or_default()
            .push((r.get("started"), r.get("finished")));
    }
    assert_eq!(per_job.len(), N);
    assert_eq!(spans.len(), 2, "both nodes ran scans: {spans:?}");
    for (node, s) in &mut spans {
        s.sort();
        for w in s.windows(2) {
            assert!(w[0].1 <= w[1].0, "node {node} ran two jobs at once: {s:?}");
        }
    }
    let claims: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_claims")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(claims, N as i64, "one claim per fire time");
    drop(conn);
    db.drop_db().await;
    inv.drop_db().await;
}

/// Finished job runs and claims older than the window are deleted; running ones, claims not done,
/// recent ones and the latest attempt and latest success of each job are kept. On both backends.
async fn old_history_is_pruned_on(url: &str) {
    let lease = Duration::from_secs(30);
    let s = Store::open(url).await.unwrap().with_node("a");
    let long_ago = Utc::now() - chrono::Duration::days(100);
    let run = |job: &'static str, outcome: Outcome| {
        let s = s.clone();
        async move {
            let id = s.start_run(job, "scan", long_ago, 1).await.unwrap();
            if outcome != Outcome::Running {
                s.finish_run(id, outcome, None, None).await.unwrap();
            }
        }
    };
    // Before the cut: x has two old attempts and a recent success; yearly only old ones (the
    // latest a failure); z three old successes; stuck one old attempt still running.
    run("scan:x", Outcome::Success).await;
    run("scan:x", Outcome::Failure).await;
    run("scan:yearly", Outcome::Success).await;
    run("scan:yearly", Outcome::Failure).await;
    run("scan:z", Outcome::Success).await;
    run("scan:z", Outcome::Success).await;
    run("scan:z", Outcome::Success).await;
    run("scan:stuck", Outcome::Running).await;
    let old_done = s
        .claim_fire("scan:x", "scan", "db", long_ago, lease, None)
        .await
        .unwrap()
        .unwrap();
    s.release_claim(&old_done).await.unwrap();
    s.claim_fire("scan:stuck", "scan", "db", long_ago, lease, None)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cut = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    run("scan:x", Outcome::Success).await;
    let recent = s
        .claim_fire(
            "scan:z",
            "scan",
            "db",
            cut + chrono::Duration::hours(1),
            lease,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    s.release_claim(&recent).await.unwrap();

    let pruned = s.prune_history(cut).await.unwrap();
    assert_eq!(
        pruned.runs, 4,
        "x's two old attempts, z's two older successes"
    );
    assert_eq!(pruned.claims, 1, "the old claim that was done");
    let mut left: Vec<(String, String)> = s
        .recent_runs(100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.job, r.outcome))
        .collect();
    left.sort();
    let want: Vec<(String, String)> = [
        ("scan:stuck", "running"),
        ("scan:x", "success"),
        ("scan:yearly", "failure"),
        ("scan:yearly", "success"),
        ("scan:z", "success"),
    ]
    .iter()
    .map(|(j, o)| (j.to_string(), o.to_string()))
    .collect();
    assert_eq!(left, want);
    // The claims left: the running one and the recent one; the deleted fire time is not reused.
    assert_eq!(s.prune_history(cut).await.unwrap(), Default::default());
    let latest = s.latest_runs().await.unwrap();
    assert_eq!(
        latest["scan:yearly"].last.as_ref().unwrap().outcome,
        Outcome::Failure
    );
    assert_eq!(
        latest["scan:yearly"].last_success.as_ref().unwrap().outcome,
        Outcome::Success
    );
    assert!(
        s.claim_fire("scan:stuck", "scan", "db", cut, lease, None)
            .await
            .unwrap()
            .is_none(),
        "the running claim was kept: its job is still busy"
    );
    s.close().await;
}

#[tokio::test]
async fn old_history_is_pruned_on_postgres() {
    let Some(inv) = TestDb::create(Kind::Postgres, "cluster_prune").await else {
        return;
    };
    old_history_is_pruned_on(&inv.url).await;
    inv.drop_db().await;
}

#[tokio::test]
async fn old_history_is_pruned_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inv.db").display());
    old_history_is_pruned_on(&url).await;
}
