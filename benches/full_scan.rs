//! Full-mode scan throughput against the server's own bulk read of the same rows, side by side in
//! one run:
//! - PostgreSQL: `COPY (SELECT * FROM t) TO STDOUT` drained by the client (sqlx `copy_out_raw`)
//!   next to `scan_source` with `mode = "full"` (read, classify, record);
//! - MariaDB/MySQL: `SELECT * FROM t` streamed by sqlx (every value read as bytes) and by the
//!   `mysql` command-line client (`--quick` into /dev/null, when installed) next to the same scan.
//!
//! The table has 2,000,000 rows (`DW_BENCH_ROWS`): id bigint primary key, phone, email, name,
//! created_at, a note. Each measurement runs `DW_BENCH_ROUNDS` times (default 3), interleaved;
//! the report gives the median, the ratio reference / scan (>= 0.6 is the goal) and the scan's peak
//! RSS (VmHWM, reset before each scan through /proc/self/clear_refs). The detection budget is
//! lifted so that no value goes unsearched. Databases are uniquely named and dropped at the end.
//!
//! cargo bench --bench full_scan            (DW_BENCH_ONLY=pg or =mysql for one server)
//! `DW_BENCH_THREADS=n` sets `[scan] detect_threads` (default: one per core). The bench runs on
//! a current-thread runtime, as the command-line `scan` does; with `DW_BENCH_RUNTIME=daemon`, on
//! a multi-threaded one with each scan spawned as a task, as the daemon runs its jobs.
//! `DW_BENCH_NO_TIMESTAMP=1` (PostgreSQL) leaves out `created_at`, a column the scan does not
//! search and so reads only for NULLs: every column left is read and searched.

use std::time::{Duration, Instant};

use datawarden::config::{Config, ScanConfig, ScanMode};
use datawarden::detect::Engine;
use datawarden::inventory::Store;
use datawarden::scan::{scan_source, NoProgress};
use datawarden::sources::{Access, SampleOptions, Scope, Source};
use datawarden::stop::Stop;
use futures_util::TryStreamExt;
use sqlx::{Connection, Executor, MySqlConnection, PgConnection, Row};

#[path = "support/mod.rs"]
mod support;
use support::ScratchPg;
const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/mysql";

/// Peak RSS so far, in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux 4.0+); false when the kernel refuses.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU seconds (user + system) used so far by this process and by every process named
/// `comm` (the database server's), from /proc; 0 where unreadable.
fn cpu_secs(comm: &str) -> (f64, f64) {
    let ticks = |stat: &str| -> f64 {
        // Fields after the parenthesised name: state is field 3; utime, stime, cutime and
        // cstime are 14-17. The children's times hold the server's exited sessions (reaped by
        // the postmaster), so that the sum does not drop when a session ends.
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (n(11) + n(12) + n(13) + n(14)) / 100.0
    };
    let own = std::fs::read_to_string("/proc/self/stat").map_or(0.0, |s| ticks(&s));
    let mut server = 0.0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let p = e.path();
        if std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == comm) {
            server += std::fs::read_to_string(p.join("stat")).map_or(0.0, |s| ticks(&s));
        }
    }
    (own, server)
}

/// Idle CPU seconds of the whole machine so far (all cores), from /proc/stat; 0 where unreadable.
fn idle_secs() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let cpu = s.lines().next()?.to_string();
            cpu.split_whitespace().nth(4)?.parse::<f64>().ok()
        })
        .map_or(0.0, |t| t / 100.0)
}

/// Runs `f`, printing the CPU seconds it cost this process and the server (`comm`), and the
/// seconds the machine's cores stood idle meanwhile.
async fn with_cpu<T>(what: &str, comm: &str, f: impl std::future::Future<Output = T>) -> T {
    let (a, b) = cpu_secs(comm);
    let idle = idle_secs();
    let out = f.await;
    let (c, d) = cpu_secs(comm);
    println!(
        "    {what}: CPU {:.2} s here, {:.2} s in {comm}; cores idle {:.2} s",
        c - a,
        d - b,
        idle_secs() - idle
    );
    out
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// One full read of table `t` through `Source::sample` with a callback that only counts: the read
/// without detection.
async fn read_only(url: &str) -> Duration {
    let cfg: datawarden::config::SourceConfig = toml::from_str(&format!(
        "name = \"bench\"\nurl = \"{url}\"\nstatement_timeout = \"10m\"\n"
    ))
    .unwrap();
    let src = Source::connect(&cfg, &ScanConfig::default(), Access::ReadOnly)
        .await
        .unwrap();
    let t = src
        .tables(&Scope::default())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.table.name == "t")
        .unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    src.sample(
        &t,
        &SampleOptions::new(1, ScanMode::Full),
        &mut |_: &[Option<&[u8]>]| n += 1,
    )
    .await
    .unwrap();
    let d = start.elapsed();
    src.close().await;
    assert!(n > 0);
    d
}

/// One full scan of the source through the library; returns (time, rows read, peak RSS KiB).
async fn scan(
    engine: &'static Engine,
    dir: &std::path::Path,
    url: &str,
    n: u32,
) -> (Duration, u64, u64) {
    let threads = std::env::var("DW_BENCH_THREADS")
        .map(|t| format!("detect_threads = {t}\n"))
        .unwrap_or_default();
    let text = format!(
        "[inventory]\nurl = \"sqlite://{}/inv{n}.db\"\n[scan]\nmode = \"full\"\ndetect_budget = \"1h\"\nstatement_timeout = \"10m\"\n{threads}\
         [[sources]]\nname = \"bench\"\nurl = \"{url}\"\n",
        dir.display()
    );
    let config = Config::parse(&text, &dir.join("c.toml")).unwrap();
    let store = Store::open(&config.inventory.url).await.unwrap();
    reset_hwm();
    let t = Instant::now();
    let run = async move {
        let stop = Stop::new();
        let source = &config.sources[0];
        let s = scan_source(&config, engine, &store, source, &NoProgress, &stop).await;
        (s.unwrap(), store)
    };
    // As the daemon runs a job: a task of its own on the multi-threaded runtime.
    let (s, store) = if daemon_runtime() {
        tokio::spawn(run).await.unwrap()
    } else {
        run.await
    };
    let d = t.elapsed();
    let hwm = vm_hwm_kib();
    assert_eq!(s.tables_failed, 0, "{:?}", s.failures);
    store.close().await;
    (d, s.rows, hwm)
}

/// Whether the bench runs as the daemon does (`DW_BENCH_RUNTIME=daemon`).
fn daemon_runtime() -> bool {
    std::env::var("DW_BENCH_RUNTIME").is_ok_and(|v| v == "daemon")
}

struct Row3 {
    what: &'static str,
    times: Vec<Duration>,
}

fn report(rows: i64, refs: &mut [Row3], scans: &mut [Duration], hwm: u64, scanned: u64) {
    let scan = median(scans);
    println!(
        "  datawarden full scan: median {} ({:.0} rows/s), {scanned} rows, peak RSS {:.1} MiB",
        secs(scan),
        rows as f64 / scan.as_secs_f64(),
        hwm as f64 / 1024.0
    );
    for r in refs.iter_mut().filter(|r| !r.times.is_empty()) {
        let m = median(&mut r.times);
        println!(
            "  {}: median {}; ratio reference/scan = {:.2}",
            r.what,
            secs(m),
            m.as_secs_f64() / scan.as_secs_f64()
        );
    }
}

async fn bench_pg(engine: &'static Engine, rows: i64, rounds: usize) {
    let Some(mut scratch) = ScratchPg::connect().await else {
        return;
    };
    let url = scratch.create("dw_bench_fullscan").await;
    let mut c = PgConnection::connect(&url).await.unwrap();
    let t = Instant::now();
    let no_timestamp = std::env::var("DW_BENCH_NO_TIMESTAMP").is_ok_and(|v| v == "1");
    sqlx::raw_sql(&format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, phone text, email text, name text, created_at timestamptz NOT NULL, note text);
         INSERT INTO t SELECT g, '139' || lpad((g % 100000000)::text, 8, '0'), 'user' || g || '@example.com',
           (ARRAY['Wang Fang','Li Wei','Zhang Min','Liu Yang','Chen Jing'])[1 + g % 5] || ' ' || g,
           timestamptz '2024-01-01' + g * interval '1 minute',
           CASE WHEN g % 50 = 0 THEN 'call back on 138' || lpad((g % 100000000)::text, 8, '0') ELSE 'order note ' || md5(g::text) END
         FROM generate_series(1, {rows}) g;"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    if no_timestamp {
        c.execute("ALTER TABLE t DROP COLUMN created_at")
            .await
            .unwrap();
        c.execute("VACUUM FULL t").await.unwrap();
    }
    c.execute("VACUUM ANALYZE t").await.unwrap();
    println!(
        "PostgreSQL: table of {rows} rows built in {}",
        secs(t.elapsed())
    );
    let dir = tempfile::tempdir().unwrap();
    let mut copy = Row3 {
        what: "COPY (SELECT * FROM t) TO STDOUT via sqlx copy_out_raw",
        times: vec![],
    };
    let (mut scans, mut hwm, mut scanned) = (vec![], 0, 0);
    let mut reads = vec![];
    for round in 0..rounds {
        let t = Instant::now();
        let bytes = with_cpu("COPY", "postgres", async {
            let mut s = c
                .copy_out_raw("COPY (SELECT * FROM t) TO STDOUT")
                .await
                .unwrap();
            let mut bytes = 0usize;
            while let Some(b) = s.try_next().await.unwrap() {
                bytes += b.len();
            }
            bytes
        })
        .await;
        copy.times.push(t.elapsed());
        if round == 0 {
            println!("  COPY output: {:.1} MiB", bytes as f64 / 1048576.0);
        }
        let r = with_cpu("read", "postgres", read_only(&url)).await;
        reads.push(r);
        let (d, n, h) = with_cpu(
            "scan",
            "postgres",
            scan(engine, dir.path(), &url, round as u32),
        )
        .await;
        println!(
            "  round {round}: COPY {}, read without detection {}, scan {}",
            secs(*copy.times.last().unwrap()),
            secs(r),
            secs(d)
        );
        scans.push(d);
        hwm = hwm.max(h);
        scanned = n;
    }
    report(rows, &mut [copy], &mut scans[..], hwm, scanned);
    println!(
        "  datawarden full read without detection: median {}",
        secs(median(&mut reads))
    );
    c.close().await.ok();
    scratch.drop_all().await;
}

async fn bench_mysql(engine: &'static Engine, rows: i64, rounds: usize) {
    let mut admin = match MySqlConnection::connect(MY_ADMIN).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPING MariaDB: {e}");
            return;
        }
    };
    let db = format!("dw_bench_fullscan_{:08x}", rand::random::<u32>());
    admin
        .execute(format!("CREATE DATABASE {db} CHARACTER SET utf8mb4").as_str())
        .await
        .unwrap();
    let url = format!("mysql://root@127.0.0.1:3306/{db}");
    let mut c = MySqlConnection::connect(&url).await.unwrap();
    let t = Instant::now();
    c.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, phone varchar(20), email varchar(100), name varchar(100), \
         created_at datetime NOT NULL, note text)",
    )
    .await
    .unwrap();
    // Rows from a digits table (recursive CTEs stop at a server-set depth), 100,000 per statement.
    c.execute("CREATE TABLE d (n int); INSERT INTO d VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
        .await
        .unwrap();
    let mut start = 1i64;
    while start <= rows {
        c.execute(format!(
            "INSERT INTO t SELECT g, CONCAT('139', LPAD(g % 100000000, 8, '0')), CONCAT('user', g, '@example.com'),
               CONCAT(ELT(1 + g % 5, 'Wang Fang','Li Wei','Zhang Min','Liu Yang','Chen Jing'), ' ', g),
               TIMESTAMP '2024-01-01 00:00:00' + INTERVAL g MINUTE,
               IF(g % 50 = 0, CONCAT('call back on 138', LPAD(g % 100000000, 8, '0')), CONCAT('order note ', MD5(g)))
             FROM (SELECT {start} + a.n + 10 * b.n + 100 * e.n + 1000 * f.n + 10000 * h.n AS g
                   FROM d a, d b, d e, d f, d h) s WHERE g <= {rows}"
        ).as_str())
        .await
        .unwrap();
        start += 100_000;
    }
    c.execute("DROP TABLE d").await.unwrap();
    c.execute("ANALYZE TABLE t").await.unwrap();
    println!(
        "MariaDB/MySQL: table of {rows} rows built in {}",
        secs(t.elapsed())
    );
    let dir = tempfile::tempdir().unwrap();
    let mut sqlx_ref = Row3 {
        what: "SELECT * FROM t streamed by sqlx (values as bytes)",
        times: vec![],
    };
    let mut cli_ref = Row3 {
        what: "SELECT * FROM t by the mysql client (--quick > /dev/null)",
        times: vec![],
    };
    let cli = std::process::Command::new("mysql")
        .arg("--version")
        .output()
        .is_ok();
    let (mut scans, mut hwm, mut scanned) = (vec![], 0, 0);
    let mut reads = vec![];
    for round in 0..rounds {
        let t = Instant::now();
        let mut s = sqlx::raw_sql("SELECT * FROM t").fetch(&mut c);
        let mut bytes = 0usize;
        while let Some(r) = s.try_next().await.unwrap() {
            for i in 0..6 {
                bytes += r
                    .try_get_unchecked::<Option<&[u8]>, _>(i)
                    .unwrap()
                    .map_or(0, <[u8]>::len);
            }
        }
        drop(s);
        sqlx_ref.times.push(t.elapsed());
        if round == 0 {
            println!("  value bytes: {:.1} MiB", bytes as f64 / 1048576.0);
        }
        if cli {
            let t = Instant::now();
            let out = std::process::Command::new("mysql")
                .args([
                    "-h127.0.0.1",
                    "-uroot",
                    "--quick",
                    "--batch",
                    "-e",
                    "SELECT * FROM t",
                    &db,
                ])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(out.success());
            cli_ref.times.push(t.elapsed());
        }
        let r = with_cpu("read", "mariadbd", read_only(&url)).await;
        reads.push(r);
        let (d, n, h) = with_cpu(
            "scan",
            "mariadbd",
            scan(engine, dir.path(), &url, round as u32),
        )
        .await;
        println!(
            "  round {round}: sqlx {}, mysql client {}, read without detection {}, scan {}",
            secs(*sqlx_ref.times.last().unwrap()),
            cli_ref.times.last().map_or("-".into(), |d| secs(*d)),
            secs(r),
            secs(d)
        );
        scans.push(d);
        hwm = hwm.max(h);
        scanned = n;
    }
    report(rows, &mut [sqlx_ref, cli_ref], &mut scans[..], hwm, scanned);
    println!(
        "  datawarden full read without detection: median {}",
        secs(median(&mut reads))
    );
    c.close().await.ok();
    admin
        .execute(format!("DROP DATABASE {db}").as_str())
        .await
        .unwrap();
}

/// On one thread, as the command-line `scan` runs (`src/main.rs`).
fn main() {
    let runtime = if daemon_runtime() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        // As the command-line `scan` runs (`src/main.rs`).
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let rows: i64 = std::env::var("DW_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let rounds: usize = std::env::var("DW_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let only = std::env::var("DW_BENCH_ONLY").unwrap_or_default();
    if !reset_hwm() {
        println!("(this kernel does not reset VmHWM: peak RSS is the process's)");
    }
    let engine: &'static Engine = Box::leak(Box::new(Engine::load(None).unwrap()));
    if only.is_empty() || only == "pg" {
        bench_pg(engine, rows, rounds).await;
    }
    if only.is_empty() || only == "mysql" {
        bench_mysql(engine, rows, rounds).await;
    }
}
