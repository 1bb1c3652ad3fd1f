//! Retention throughput on PostgreSQL: 1,000,000 rows, half expired. Compares `run_policy` delete
//! and encrypt (2 columns) with one plain `DELETE ... WHERE ts < cutoff` and one plain `UPDATE` of
//! the same rows; reports the longest batch transaction and peak memory (VmHWM). Autovacuum is off
//! on the bench tables so that a vacuum of one run's dead rows does not slow the next.
//!
//! Run: `cargo bench --bench enforce` (env DW_BENCH_ROWS to change the size, DW_BENCH_BATCH to set
//! `batch_size`; unset, the policies use the default adaptive batches; DW_BENCH_INVENTORY=postgres
//! keeps the inventory (checkpoints, audit chain) in a PostgreSQL database instead of SQLite).

use std::time::Instant;

use datawarden::config::Config;
use datawarden::retention::{run_policy, RunOptions};
use datawarden::stop::Stop;
use sqlx::{Connection, Executor, PgConnection};

#[path = "support/mod.rs"]
mod support;
use support::ScratchPg;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "?".into())
}

async fn copy(c: &mut PgConnection, name: &str) {
    c.execute(format!("DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (LIKE base INCLUDING ALL) WITH (autovacuum_enabled = off); INSERT INTO {name} SELECT * FROM base").as_str())
        .await
        .unwrap();
    c.execute(format!("VACUUM ANALYZE {name}").as_str())
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let rows: i64 = std::env::var("DW_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // Unset: the policies leave batch_size out (adaptive batches, see PolicyConfig::batch_size).
    let batch: Option<u32> = std::env::var("DW_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let batch_line = batch
        .map(|b| format!("batch_size = {b}\n"))
        .unwrap_or_default();
    let batch_desc = batch
        .map(|b| b.to_string())
        .unwrap_or_else(|| "unset (adaptive)".into());
    let Some(mut scratch) = ScratchPg::connect().await else {
        return;
    };
    let url = scratch.create("dw_bench").await;
    let mut c = PgConnection::connect(&url).await.unwrap();
    c.execute(
        format!(
            "CREATE TABLE base (id BIGINT PRIMARY KEY, created_at timestamptz NOT NULL, mobile VARCHAR(200), email VARCHAR(200), note TEXT);
             INSERT INTO base SELECT i, CASE WHEN i % 2 = 0 THEN now() - interval '400 days' ELSE now() - interval '10 days' END,
               '138' || lpad((i % 100000000)::text, 8, '0'), 'user' || i || '@example.com', 'n' || i FROM generate_series(1, {rows}) i"
        )
        .as_str(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pg_inventory = std::env::var("DW_BENCH_INVENTORY").is_ok_and(|v| v == "postgres");
    let inventory = if pg_inventory {
        scratch.create("dw_bench_inv").await
    } else {
        format!("sqlite://{}", dir.path().join("inv.db").display())
    };
    let key_path = dir.path().join("aes.key");
    datawarden::retention::keys::generate_key_file(&key_path).unwrap();
    let cfg_text = format!(
        "[inventory]\nurl = \"{inventory}\"\n[[sources]]\nname = \"pg\"\nurl = \"{url}\"\nstatement_timeout = \"300s\"\n[keys]\nencryption = \"file:{}\"\n\
         [[policies]]\nname = \"del\"\ndescription = \"bench delete\"\nsource = \"pg\"\ntable = \"t_del\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\naction = \"delete\"\n{batch_line}\
         [[policies]]\nname = \"enc\"\ndescription = \"bench encrypt\"\nsource = \"pg\"\ntable = \"t_enc\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\naction = \"encrypt\"\ncolumns = [\"mobile\", \"email\"]\n{batch_line}",
        key_path.display()
    );
    let cfg_path = dir.path().join("bench.toml");
    std::fs::write(&cfg_path, cfg_text).unwrap();
    let config = Config::load(&cfg_path).unwrap();
    let cutoff = chrono::Utc::now() - chrono::Duration::days(365);
    let expired = rows / 2;
    println!(
        "PostgreSQL, {rows} rows, {expired} expired, batch_size {batch_desc}, inventory {}",
        if pg_inventory { "PostgreSQL" } else { "SQLite" }
    );

    copy(&mut c, "t_plain").await;
    let t = Instant::now();
    let n = sqlx::query("DELETE FROM t_plain WHERE created_at < $1")
        .bind(cutoff)
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected();
    let plain_del = t.elapsed();
    println!(
        "plain DELETE:            {n:>8} rows in {:>7.2}s = {:>9.0} rows/s (one transaction)",
        plain_del.as_secs_f64(),
        n as f64 / plain_del.as_secs_f64()
    );

    copy(&mut c, "t_del").await;
    let t = Instant::now();
    let r = run_policy(
        &config,
        config.policy("del").unwrap(),
        &RunOptions::default(),
        &Stop::new(),
    )
    .await
    .unwrap();
    let d = t.elapsed();
    println!(
        "datawarden delete:       {:>8} rows in {:>7.2}s = {:>9.0} rows/s ({:.0}% of plain), {} batches, longest batch {} ms",
        r.rows_affected,
        d.as_secs_f64(),
        r.rows_affected as f64 / d.as_secs_f64(),
        100.0 * plain_del.as_secs_f64() / d.as_secs_f64(),
        r.batches,
        r.longest_batch_ms
    );

    copy(&mut c, "t_plainu").await;
    let t = Instant::now();
    let n = sqlx::query(
        "UPDATE t_plainu SET mobile = md5(mobile), email = md5(email) WHERE created_at < $1",
    )
    .bind(cutoff)
    .execute(&mut c)
    .await
    .unwrap()
    .rows_affected();
    let plain_upd = t.elapsed();
    println!(
        "plain UPDATE (2 cols):   {n:>8} rows in {:>7.2}s = {:>9.0} rows/s (one transaction)",
        plain_upd.as_secs_f64(),
        n as f64 / plain_upd.as_secs_f64()
    );

    copy(&mut c, "t_enc").await;
    let t = Instant::now();
    let r = run_policy(
        &config,
        config.policy("enc").unwrap(),
        &RunOptions::default(),
        &Stop::new(),
    )
    .await
    .unwrap();
    let d = t.elapsed();
    println!(
        "datawarden encrypt (2):  {:>8} rows in {:>7.2}s = {:>9.0} rows/s ({:.0}% of plain), {} batches, longest batch {} ms",
        r.rows_affected,
        d.as_secs_f64(),
        r.rows_affected as f64 / d.as_secs_f64(),
        100.0 * plain_upd.as_secs_f64() / d.as_secs_f64(),
        r.batches,
        r.longest_batch_ms
    );
    println!("peak memory (VmHWM): {}", vm_hwm());
    c.close().await.unwrap();
    scratch.drop_all().await;
}
