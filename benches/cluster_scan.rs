//! Scans of 200 small databases by 1, 2 and 3 `datawarden run` daemons sharing one PostgreSQL
//! inventory: the total time from the fire time until the inventory records all 200 scans
//! finished, how the runs spread over the nodes, and that every fire time ran exactly once.
//!
//! The estate is 200 real PostgreSQL databases (`CREATE DATABASE ... TEMPLATE`), each with three
//! small tables holding names, e-mail addresses, phone numbers and street addresses: a scan of a
//! separate database pays what one of a real estate's databases costs (its own connections, its
//! own catalog queries), which 200 schemas of one database or 200 SQLite files would not. The
//! config has 200 `[[sources]]`, each with the same `schedule`, a single fire time a few seconds
//! after the daemons start, so all 200 scan jobs come due at one tick. Each node runs at most
//! `[daemon] max_running_jobs` of them at once (the default, 4, unless `DW_BENCH_SLOTS` is set).
//! Each round (one per node count) uses a fresh inventory database; the 200 sources are created
//! once and reused (scans only read them).
//!
//! Run (the daemons are the release binary of this checkout):
//!
//! ```text
//! cargo bench --bench cluster_scan
//! DW_BENCH_DATABASES=50 DW_BENCH_NODES=1,3 DW_BENCH_SLOTS=2 cargo bench --bench cluster_scan
//! ```
//!
//! Needs PostgreSQL at `DATAWARDEN_BENCH_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a superuser: it creates databases). Every
//! database it creates is named `dw_bench_cs_<random>_*` and is dropped at the end, and every
//! daemon it starts is stopped, also when a round fails or the bench is interrupted (Ctrl-C).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::{Connection, Executor, PgConnection, Row};

/// What the bench created, removed by [`cleanup`] however the bench ends.
#[derive(Default)]
struct Created {
    databases: Vec<String>,
    daemons: Vec<Child>,
}

type Shared = Arc<Mutex<Created>>;

/// When an attempt started and finished.
type Span = (DateTime<Utc>, DateTime<Utc>);

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("server URL parses");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// Three small tables with personal data, loaded into the template every source copies.
const SOURCE_DDL: &str = "
CREATE TABLE customers (id int PRIMARY KEY, full_name text, email text, phone text, created_at timestamptz);
INSERT INTO customers SELECT g, 'Customer ' || g, 'customer' || g || '@example.com',
  '+44 20 7946 ' || lpad(g::text, 4, '0'), now() - g * interval '1 day' FROM generate_series(1, 200) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, shipping_address text,
  total numeric(10,2), ordered_at timestamptz);
INSERT INTO orders SELECT g, 1 + g % 200, g || ' High Street, London', g * 1.5, now() - g * interval '1 hour'
  FROM generate_series(1, 500) g;
CREATE TABLE support_tickets (id int PRIMARY KEY, contact_email text, callback_phone text, subject text);
INSERT INTO support_tickets SELECT g, 'ticket' || g || '@example.org', '+1 415 555 ' || lpad(g::text, 4, '0'),
  'Order question ' || g FROM generate_series(1, 100) g;
";

async fn admin(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is not reachable: {e}"))
}

/// Creates database `name` (from `template` when set) and records it for [`cleanup`].
async fn create_db(c: &mut PgConnection, created: &Shared, name: &str, template: Option<&str>) {
    let from = template
        .map(|t| format!(" TEMPLATE \"{t}\""))
        .unwrap_or_default();
    created.lock().unwrap().databases.push(name.to_string());
    c.execute(format!("CREATE DATABASE \"{name}\"{from}").as_str())
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
}

/// Drops database `name` (forcing its connections closed) and forgets it.
async fn drop_db(c: &mut PgConnection, created: &Shared, name: &str) {
    c.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await
        .unwrap_or_else(|e| panic!("DROP DATABASE {name}: {e}"));
    created.lock().unwrap().databases.retain(|d| d != name);
}

/// Stops a daemon: SIGTERM, then SIGKILL after 20 s.
fn stop_daemon(child: &mut Child) {
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Stops every daemon still running and drops every database the bench created.
async fn cleanup(admin_url: &str, created: &Shared) {
    let (mut daemons, databases) = {
        let mut c = created.lock().unwrap();
        (std::mem::take(&mut c.daemons), c.databases.clone())
    };
    for d in &mut daemons {
        stop_daemon(d);
    }
    if databases.is_empty() {
        return;
    }
    match PgConnection::connect(admin_url).await {
        Ok(mut c) => {
            for db in databases {
                if let Err(e) = c
                    .execute(format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)").as_str())
                    .await
                {
                    eprintln!("cleanup: cannot drop {db}: {e}");
                }
            }
            let _ = c.close().await;
        }
        Err(e) => eprintln!("cleanup: cannot connect to drop the bench databases: {e}"),
    }
}

/// One round's result.
struct Round {
    nodes: usize,
    /// From the fire time to the last recorded finish.
    total: Duration,
    /// Runs per node.
    per_node: BTreeMap<String, usize>,
    /// Most runs at once per node, from the recorded start and finish times.
    max_at_once: BTreeMap<String, usize>,
}

/// The most intervals overlapping at one instant.
fn max_overlap(spans: &[Span]) -> usize {
    let mut events: Vec<(DateTime<Utc>, i32)> = spans
        .iter()
        .flat_map(|(s, f)| [(*s, 1), (*f, -1)])
        .collect();
    // Ends before starts at the same instant: back-to-back runs do not overlap.
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

fn start_daemon(cfg: &Path, node: &str, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["--log-format", "json", "run", "--config"])
        .arg(cfg)
        .args(["--node", node])
        .env("RUST_LOG", "warn")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("daemon log file"))
        .spawn()
        .expect("start datawarden run")
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[allow(clippy::too_many_arguments)]
async fn round(
    admin_url: &str,
    c: &mut PgConnection,
    created: &Shared,
    prefix: &str,
    sources: &[String],
    nodes: usize,
    slots: Option<u32>,
    dir: &Path,
) -> Round {
    let inv_name = format!("{prefix}_inv{nodes}");
    create_db(c, created, &inv_name, None).await;
    let inv_url = with_database(admin_url, &inv_name);
    let lead: i64 = env_or("DW_BENCH_LEAD", 8);
    let t = Utc::now() + chrono::Duration::seconds(lead);
    let fire = t - chrono::Duration::nanoseconds(t.timestamp_subsec_nanos() as i64);
    let cron = fire.format("%-S %-M %-H %-d %-m *").to_string();
    let mut text = format!(
        "timezone = \"UTC\"\n\n[inventory]\nurl = \"{inv_url}\"\n\n[daemon]\nretries = 0\ncatch_up = false\n"
    );
    if let Some(s) = slots {
        text.push_str(&format!("max_running_jobs = {s}\n"));
    }
    for s in sources {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"{s}\"\nurl = \"{}\"\nschedule = \"{cron}\"\n",
            with_database(admin_url, s)
        ));
    }
    let cfg: PathBuf = dir.join(format!("dw-{nodes}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let logs: Vec<PathBuf> = (0..nodes)
        .map(|k| dir.join(format!("node{}-{nodes}.log", k + 1)))
        .collect();
    for (k, log) in logs.iter().enumerate() {
        let child = start_daemon(&cfg, &format!("node{}", k + 1), log);
        created.lock().unwrap().daemons.push(child);
    }
    let check_alive = |created: &Shared| {
        let mut c = created.lock().unwrap();
        for (k, d) in c.daemons.iter_mut().enumerate() {
            if let Ok(Some(status)) = d.try_wait() {
                panic!(
                    "daemon node{} exited ({status}):\n{}",
                    k + 1,
                    tail(&logs[k])
                );
            }
        }
    };

    // Every node must be up (its heartbeat in the inventory) before the fire time.
    let mut inv = loop {
        check_alive(created);
        assert!(
            Utc::now() < fire,
            "the daemons were not connected before the fire time: raise DW_BENCH_LEAD"
        );
        if let Ok(conn) = PgConnection::connect(&inv_url).await {
            break conn;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    loop {
        check_alive(created);
        let beating: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM nodes")
            .fetch_one(&mut inv)
            .await
            .unwrap_or(0);
        if beating as usize == nodes {
            break;
        }
        assert!(
            Utc::now() < fire,
            "only {beating} of {nodes} daemons were up before the fire time: raise DW_BENCH_LEAD"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let timeout = Duration::from_secs(env_or("DW_BENCH_TIMEOUT", 1200));
    let waited = Instant::now();
    loop {
        check_alive(created);
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM job_runs WHERE outcome <> 'running'")
                .fetch_one(&mut inv)
                .await
                .unwrap();
        if done as usize >= sources.len() {
            break;
        }
        assert!(
            waited.elapsed() < timeout,
            "{done} of {} scans finished after {timeout:?}",
            sources.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let a second run of a fire time (which must not happen) show up before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut daemons = std::mem::take(&mut created.lock().unwrap().daemons);
    for d in &mut daemons {
        stop_daemon(d);
    }

    let rows =
        sqlx::query("SELECT job, scheduled, node, outcome, error, started, finished FROM job_runs")
            .fetch_all(&mut inv)
            .await
            .unwrap();
    let mut per_job: BTreeMap<String, usize> = BTreeMap::new();
    let mut spans: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    let mut last = fire;
    for r in &rows {
        let job: String = r.get("job");
        let outcome: String = r.get("outcome");
        let error: Option<String> = r.get("error");
        assert_eq!(outcome, "success", "{job}: {outcome} {error:?}");
        assert_eq!(r.get::<DateTime<Utc>, _>("scheduled"), fire, "{job}");
        *per_job.entry(job).or_default() += 1;
        let finished: DateTime<Utc> = r.get("finished");
        last = last.max(finished);
        spans
            .entry(r.get("node"))
            .or_default()
            .push((r.get("started"), finished));
    }
    assert_eq!(per_job.len(), sources.len(), "every source was scanned");
    let twice: Vec<_> = per_job.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "fire times run more than once: {twice:?}");
    let claims: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_claims WHERE state = 'done'")
        .fetch_one(&mut inv)
        .await
        .unwrap();
    assert_eq!(
        claims as usize,
        sources.len(),
        "one finished claim per fire time"
    );
    let _ = inv.close().await;
    drop_db(c, created, &inv_name).await;
    Round {
        nodes,
        total: (last - fire).to_std().unwrap_or_default(),
        per_node: spans.iter().map(|(n, s)| (n.clone(), s.len())).collect(),
        max_at_once: spans
            .iter()
            .map(|(n, s)| (n.clone(), max_overlap(s)))
            .collect(),
    }
}

async fn bench(admin_url: String, created: Shared) {
    let count: usize = env_or("DW_BENCH_DATABASES", 200);
    let nodes: Vec<usize> = std::env::var("DW_BENCH_NODES")
        .unwrap_or_else(|_| "1,2,3".into())
        .split(',')
        .map(|n| n.trim().parse().expect("DW_BENCH_NODES: e.g. 1,2,3"))
        .collect();
    let slots: Option<u32> = std::env::var("DW_BENCH_SLOTS")
        .ok()
        .map(|s| s.parse().expect("DW_BENCH_SLOTS: a number"));
    let prefix = format!("dw_bench_cs_{:08x}", rand::random::<u32>());
    let mut c = admin(&admin_url).await;

    let setup = Instant::now();
    let template = format!("{prefix}_tmpl");
    create_db(&mut c, &created, &template, None).await;
    {
        let mut t = PgConnection::connect(&with_database(&admin_url, &template))
            .await
            .unwrap();
        sqlx::raw_sql(SOURCE_DDL).execute(&mut t).await.unwrap();
        t.close().await.unwrap();
    }
    let sources: Vec<String> = (0..count).map(|i| format!("{prefix}_{i:03}")).collect();
    for s in &sources {
        create_db(&mut c, &created, s, Some(&template)).await;
    }
    println!(
        "{count} source databases (3 tables, 800 rows each) created in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut rounds = vec![];
    for n in nodes {
        let r = round(
            &admin_url,
            &mut c,
            &created,
            &prefix,
            &sources,
            n,
            slots,
            dir.path(),
        )
        .await;
        println!(
            "{n} daemon(s): {count} scans in {:.2} s; runs per node {:?}; most at once per node {:?}",
            r.total.as_secs_f64(),
            r.per_node,
            r.max_at_once
        );
        rounds.push(r);
    }
    let slots_text = slots
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("{} (default)", datawarden::config::DEFAULT_MAX_RUNNING_JOBS));
    println!("\nmax_running_jobs = {slots_text}; each fire time ran exactly once in every round\n");
    println!("| daemons | {count} scans, total | scans/s | speedup | runs per node | most at once per node |");
    println!("|---|---|---|---|---|---|");
    let base = rounds.first().map(|r| r.total.as_secs_f64());
    for r in &rounds {
        let s = r.total.as_secs_f64();
        let per_node: Vec<String> = r.per_node.values().map(|v| v.to_string()).collect();
        let at_once: Vec<String> = r.max_at_once.values().map(|v| v.to_string()).collect();
        println!(
            "| {} | {s:.2} s | {:.1} | {:.2}x | {} | {} |",
            r.nodes,
            count as f64 / s,
            base.unwrap_or(s) / s,
            per_node.join(" / "),
            at_once.join(" / ")
        );
    }
    let _ = c.close().await;
}

#[tokio::main]
async fn main() {
    let admin_url = std::env::var("DATAWARDEN_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let created: Shared = Arc::default();
    // Not a spawned task: sqlx's executor futures are not `Send` for every lifetime. A panic is
    // caught here instead, and Ctrl-C drops the bench future; both then clean up.
    let run =
        std::panic::AssertUnwindSafe(bench(admin_url.clone(), created.clone())).catch_unwind();
    let failed = tokio::select! {
        r = run => r.is_err(),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: cleaning up");
            true
        }
    };
    cleanup(&admin_url, &created).await;
    if failed {
        std::process::exit(1);
    }
}
