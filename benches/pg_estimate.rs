//! PostgreSQL row estimates and sample time on tables whose statistics lie, next to the true count:
//! - `stale`: ANALYZEd at 10,000 rows, then grown to `ROWS` without ANALYZE;
//! - `fresh`: `ROWS` rows, never analyzed.
//!
//! For each: the introspected `row_estimate` (and the time introspection took), then the median,
//! min and max time of five samples of `sample_size` rows with the method and rows returned.
//!
//! Needs the server at `DATAWARDEN_BENCH_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The first run creates the database
//! `dw_bench_pg_estimate` (`DATAWARDEN_BENCH_ROWS` rows per table, default 3,000,000: about a
//! minute); later runs with the same row count reuse it.
//!
//! cargo bench --bench pg_estimate

use std::time::{Duration, Instant};

use datawarden::config::{ScanConfig, ScanMode, SourceConfig};
use datawarden::sources::{Access, SampleOptions, Source};
use sqlx::{Connection, Executor, PgConnection};

const DB: &str = "dw_bench_pg_estimate";
const SAMPLE_SIZE: u32 = 2000;

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("server URL parses");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

const ROW: &str =
    "SELECT g, '139' || lpad((g % 100000000)::text, 8, '0'), 'user' || g || '@example.com', \
                   now() - g * interval '1 minute', 'order note ' || md5(g::text)";

async fn build(url: &str, rows: i64) {
    let mut c = PgConnection::connect(url).await.expect("connect");
    let table = |name: &str| {
        format!(
            "CREATE TABLE {name} (id bigint, phone text, email text, created_at timestamptz, note text) \
             WITH (autovacuum_enabled = off);"
        )
    };
    let script = format!(
        "{stale}
         INSERT INTO stale {ROW} FROM generate_series(1, 10000) g;
         ANALYZE stale;
         INSERT INTO stale {ROW} FROM generate_series(10001, {rows}) g;
         {fresh}
         INSERT INTO fresh {ROW} FROM generate_series(1, {rows}) g;
         CHECKPOINT;
         CREATE TABLE bench_ready (rows bigint); INSERT INTO bench_ready VALUES ({rows});",
        stale = table("stale"),
        fresh = table("fresh"),
    );
    sqlx::raw_sql(&script).execute(&mut c).await.expect("build");
    c.close().await.ok();
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let admin = std::env::var("DATAWARDEN_BENCH_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let rows: i64 = std::env::var("DATAWARDEN_BENCH_ROWS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3_000_000);
        let url = with_database(&admin, DB);
        let mut a = PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
        let exists = a
            .fetch_optional(format!("SELECT 1 FROM pg_database WHERE datname = '{DB}'").as_str())
            .await
            .unwrap()
            .is_some();
        let ready = exists && {
            let mut c = PgConnection::connect(&url).await.expect("connect");
            let built: Option<(i64,)> = sqlx::query_as(
                "SELECT rows FROM bench_ready",
            )
            .fetch_optional(&mut c)
            .await
            .ok()
            .flatten();
            c.close().await.ok();
            built == Some((rows,))
        };
        if !ready {
            let t = Instant::now();
            a.execute(format!("DROP DATABASE IF EXISTS {DB}").as_str())
                .await
                .unwrap();
            a.execute(format!("CREATE DATABASE {DB}").as_str())
                .await
                .unwrap();
            build(&url, rows).await;
            println!("built {DB} ({rows} rows per table) in {:.1} s", t.elapsed().as_secs_f64());
        }
        a.close().await.ok();

        let mut c = PgConnection::connect(&url).await.expect("connect");
        let cfg: SourceConfig =
            toml::from_str(&format!("name = \"bench\"\nurl = \"{url}\"\n")).unwrap();
        let src = Source::connect(&cfg, &ScanConfig::default(), Access::ReadOnly)
            .await
            .expect("source");
        for name in ["stale", "fresh"] {
            let (count,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {name}"))
                .fetch_one(&mut c)
                .await
                .unwrap();
            let t = Instant::now();
            let info = src.table(Some("public"), name).await.expect("introspect");
            let introspect = t.elapsed();
            let opts = SampleOptions::new(SAMPLE_SIZE, ScanMode::Sample);
            let mut times = vec![];
            let mut last = None;
            for _ in 0..5 {
                let t = Instant::now();
                let report = src
                    .sample(&info, &opts, &mut |_: &[Option<&[u8]>]| {})
                    .await
                    .expect("sample");
                times.push(t.elapsed());
                last = Some(report);
            }
            times.sort();
            let report = last.unwrap();
            println!(
                "{name}: {count} rows, row_estimate {:?} (introspection {}); sample of {SAMPLE_SIZE}: \
                 median {}, min {}, max {} ({}, {} rows)",
                info.row_estimate,
                ms(introspect),
                ms(times[2]),
                ms(times[0]),
                ms(times[4]),
                report.method,
                report.rows
            );
        }
        c.close().await.ok();
    });
}
