//! The cost of cluster coordination per job run on a PostgreSQL inventory: claim the fire time
//! (insert-once), renew the lease once, record the attempt's start and end, release the claim —
//! what every run of every job pays when daemons share an inventory. Measured one run at a time
//! (latency) and with 8 concurrent claimers (throughput of the claim table), without and with the
//! per-source cap (a transaction-scoped advisory lock and a count of live leases). Also the
//! cost the fence adds to a checkpoint write (one `UPDATE` of the claim row in the transaction).
//!
//! Needs the server at `DATAWARDEN_BENCH_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); creates and drops its own database.
//!
//! cargo bench --bench cluster

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use datawarden::retention::checkpoint::Checkpoint;
use datawarden::store::{Outcome, Store};
use sqlx::{Connection, Executor, PgConnection};

const RUNS: usize = 2000;
const LEASE: Duration = Duration::from_secs(30);

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("server URL parses");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn fire(i: usize) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + i as i64, 0).unwrap()
}

/// One job run's coordination: claim, renew, start, finish, release.
async fn one_run(store: &Store, job: &str, source: &str, i: usize, cap: Option<u32>) {
    let f = store
        .claim_fire(job, "scan", source, fire(i), LEASE, cap)
        .await
        .unwrap()
        .expect("claimed");
    assert!(store.renew_lease(&f, LEASE).await.unwrap());
    let id = store.start_run(job, "scan", fire(i), 1).await.unwrap();
    store
        .finish_run(id, Outcome::Success, None, Some("tables=1"))
        .await
        .unwrap();
    store.release_claim(&f).await.unwrap();
}

async fn serial(store: &Store, label: &str, cap: Option<u32>) {
    let start = Instant::now();
    for i in 0..RUNS {
        one_run(store, label, "db", i, cap).await;
    }
    let t = start.elapsed();
    println!(
        "{label:<28} {RUNS} runs one at a time: {:>7.3} ms per run ({:>6.0} runs/s)",
        t.as_secs_f64() * 1000.0 / RUNS as f64,
        RUNS as f64 / t.as_secs_f64()
    );
}

async fn concurrent(store: &Store, label: &str, cap: Option<u32>, tasks: usize) {
    let start = Instant::now();
    let mut handles = vec![];
    for t in 0..tasks {
        let store = store.clone();
        let label = label.to_string();
        handles.push(tokio::spawn(async move {
            // Each task its own job and source (a cap of 1 per source would otherwise refuse).
            let job = format!("{label}:{t}");
            let source = format!("db{t}");
            for i in 0..RUNS / tasks {
                one_run(&store, &job, &source, i, cap).await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let t = start.elapsed();
    println!(
        "{label:<28} {RUNS} runs by {tasks} claimers:   {:>7.0} runs/s",
        RUNS as f64 / t.as_secs_f64()
    );
}

async fn checkpoint_writes(store: &Store) {
    let f = store
        .claim_fire("fence", "enforce", "db", fire(0), LEASE, None)
        .await
        .unwrap()
        .unwrap();
    let fenced = store.clone().fenced(Some(f));
    let cp = Checkpoint {
        policy: "p".into(),
        run_id: "p-1".into(),
        cutoff: "2026-01-01T00:00:00Z".into(),
        last_key: Some("[\"1\"]".into()),
        rows_affected: 10,
        batches: 1,
        pending: None,
    };
    for (label, s) in [
        ("checkpoint write", store),
        ("fenced checkpoint write", &fenced),
    ] {
        let start = Instant::now();
        for _ in 0..RUNS {
            s.save_checkpoint(&cp).await.unwrap();
        }
        println!(
            "{label:<28} {:>7.3} ms each",
            start.elapsed().as_secs_f64() * 1000.0 / RUNS as f64
        );
    }
}

#[tokio::main]
async fn main() {
    let admin = std::env::var("DATAWARDEN_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("dw_bench_cluster_{:08x}", rand::random::<u32>());
    let mut c = PgConnection::connect(&admin).await.expect("connect");
    c.execute(format!("CREATE DATABASE \"{db}\"").as_str())
        .await
        .unwrap();
    let store = Store::open(&with_database(&admin, &db))
        .await
        .unwrap()
        .with_node("bench");
    serial(&store, "claim+renew+record", None).await;
    serial(&store, "same, source cap", Some(4)).await;
    concurrent(&store, "claim+renew+record x8", None, 8).await;
    concurrent(&store, "same, source cap x8", Some(4), 8).await;
    checkpoint_writes(&store).await;
    store.close().await;
    c.execute(format!("DROP DATABASE \"{db}\" WITH (FORCE)").as_str())
        .await
        .unwrap();
    c.close().await.ok();
}
