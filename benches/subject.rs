//! `subject find` on one PostgreSQL table of 10,000,000 rows (env DW_BENCH_ROWS), one of which is
//! the person's: without an index on the phone column (one streamed, keyset-paginated pass with
//! the detectors' prefilter) and with one (equality on the identifier's spellings). Reports the
//! load time of the table (`INSERT ... SELECT generate_series`), the scan into the inventory and
//! each search.
//!
//! Run: `cargo bench --bench subject`.

use std::time::Instant;

use datawarden::config::Config;
use datawarden::detect::Engine;
use datawarden::inventory::Store;
use datawarden::scan::{scan_source, NoProgress};
use datawarden::stop::Stop;
use datawarden::subject::{find, FindOptions, Identifier, Kind};
use sqlx::{Connection, Executor, PgConnection};

#[path = "support/mod.rs"]
mod support;
use support::ScratchPg;

#[tokio::main]
async fn main() {
    let rows: i64 = std::env::var("DW_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = std::env::var("DW_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let Some(mut scratch) = ScratchPg::connect().await else {
        return;
    };
    let url = scratch.create("dw_bench_subject").await;
    let mut c = PgConnection::connect(&url).await.unwrap();
    let person = rows * 7 / 9 + 1;
    let t0 = Instant::now();
    c.execute(
        format!(
            "CREATE TABLE members (id BIGINT PRIMARY KEY, phone VARCHAR(32), note TEXT);
             INSERT INTO members SELECT i, CASE WHEN i = {person} THEN '138-0013-8000'
               ELSE '139' || lpad(i::text, 8, '0') END, 'member ' || i
             FROM generate_series(1, {rows}) i"
        )
        .as_str(),
    )
    .await
    .unwrap();
    // VACUUM cannot run in the implicit transaction of a multi-statement string.
    c.execute("VACUUM ANALYZE members").await.unwrap();
    let load = t0.elapsed();
    println!("load {rows} rows (INSERT ... SELECT generate_series, VACUUM ANALYZE): {load:.1?}");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[inventory]\nurl = \"sqlite://{}\"\n[[sources]]\nname = \"shop\"\nurl = \"{url}\"\n",
        dir.path().join("inv.db").display()
    );
    let config = Config::parse(&text, &dir.path().join("dw.toml")).unwrap();
    let engine = Engine::load(None).unwrap();
    let store = Store::open(&config.inventory.url).await.unwrap();
    let t0 = Instant::now();
    scan_source(
        &config,
        &engine,
        &store,
        &config.sources[0],
        &NoProgress,
        &Stop::new(),
    )
    .await
    .unwrap();
    store.close().await;
    println!("sample scan into the inventory: {:.1?}", t0.elapsed());
    let who = [Identifier::parse(Kind::Phone, "13800138000").unwrap()];
    let opts = FindOptions::default();
    for indexed in [false, true] {
        if indexed {
            let t0 = Instant::now();
            c.execute("CREATE INDEX members_phone ON members (phone); ANALYZE members")
                .await
                .unwrap();
            println!("CREATE INDEX on phone: {:.1?}", t0.elapsed());
        }
        let mut times = Vec::new();
        for _ in 0..runs {
            let t0 = Instant::now();
            let f = find(&config, &who, &opts).await.unwrap();
            times.push(t0.elapsed());
            assert_eq!(f.matches.len(), 1, "the person's one row");
            assert_eq!(f.matches[0].key["id"], person.to_string());
        }
        times.sort();
        println!(
            "subject find, {} ({runs} runs): median {:.3?}, min {:.3?}, max {:.3?} = {:.1} M rows/s (median)",
            if indexed { "phone indexed" } else { "no index (streamed pass)" },
            times[runs / 2],
            times[0],
            times[runs - 1],
            rows as f64 / times[runs / 2].as_secs_f64() / 1e6
        );
    }
    c.close().await.unwrap();
    scratch.drop_all().await;
}
