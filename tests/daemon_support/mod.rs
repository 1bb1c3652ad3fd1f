//! Helpers for the daemon integration tests: temp databases on the real servers, configs, the
//! `datawarden run` process (logs captured as JSON lines), signals, HTTP and status queries.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use datawarden::config::Config;
use datawarden::sources::{Access, Bind, Source};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[path = "../common/mod.rs"]
pub mod common;

#[allow(unused_imports)]
pub use common::{Kind, OutputWithin, TestDb};

/// A temp directory with a config file, an inventory store and optionally SQLite sources.
pub struct Setup {
    pub dir: tempfile::TempDir,
    /// The inventory (`inventory.db`, or PostgreSQL with `DATAWARDEN_TEST_INVENTORY=postgres`).
    pub inv: common::Inventory,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        Setup {
            inv: common::Inventory::named(dir.path(), "inventory.db"),
            dir,
        }
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    pub fn inventory_url(&self) -> String {
        self.inv.url.clone()
    }

    /// A SQLite database file (created empty) as a source URL.
    pub fn sqlite_url(&self, file: &str) -> String {
        if !self.path(file).exists() {
            std::fs::File::create(self.path(file)).unwrap();
        }
        format!("sqlite://{}", self.path(file).display())
    }

    /// Writes `dw.toml`: the inventory plus `body` (sources, policies, [daemon]).
    pub fn write_config(&self, body: &str) -> PathBuf {
        let p = self.path("dw.toml");
        std::fs::write(
            &p,
            format!("[inventory]\nurl = \"{}\"\n\n{body}", self.inventory_url()),
        )
        .unwrap();
        p
    }

    /// Connects to the source `name` of the current config.
    pub async fn source(&self, name: &str) -> Source {
        let c = Config::load(&self.path("dw.toml")).unwrap();
        Source::connect(c.source(name).unwrap(), &c.scan, Access::ReadWrite)
            .await
            .unwrap()
    }
}

/// `events` (id, created_at, who): ids 1..=n_old are 400 days old, the next n_new are 1 day old.
pub async fn events_table(src: &Source, n_old: i64, n_new: i64) {
    let d = src.dialect();
    let ts_type = match src.dialect().backend() {
        datawarden::config::Backend::Postgres => "timestamptz",
        datawarden::config::Backend::MySql => "DATETIME",
        datawarden::config::Backend::Sqlite => "TEXT",
    };
    src.execute(
        &format!("CREATE TABLE events (id BIGINT PRIMARY KEY, created_at {ts_type} NOT NULL, who VARCHAR(40))"),
        &[],
    )
    .await
    .unwrap();
    let sql = format!(
        "INSERT INTO events (id, created_at, who) VALUES ({}, {}, {})",
        d.placeholder(1),
        d.placeholder(2),
        d.placeholder(3)
    );
    let now = Utc::now();
    for i in 1..=(n_old + n_new) {
        let ts = if i <= n_old {
            now - chrono::Duration::days(400)
        } else {
            now - chrono::Duration::days(1)
        };
        src.execute(
            &sql,
            &[
                Bind::Int(i),
                Bind::Timestamp(ts),
                Bind::Text(format!("user{i}@example.com")),
            ],
        )
        .await
        .unwrap();
    }
}

/// Rows in `events`.
pub async fn count_events(src: &Source) -> u64 {
    let rows = src
        .fetch_rows("SELECT COUNT(*) FROM events", &[])
        .await
        .unwrap();
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

/// A policy deleting `events` rows older than 30 days (most of the table: `max_share = 1.0`
/// lifts the default brake of deletes unless `extra` sets a brake).
pub fn delete_policy(name: &str, source: &str, schedule: &str, extra: &str) -> String {
    let extra = if extra.contains("max_") {
        extra.to_string()
    } else {
        format!("max_share = 1.0\n{extra}")
    };
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"Events are deleted 30 days after they happen.\"\n\
         source = \"{source}\"\ntable = \"events\"\ntimestamp_column = \"created_at\"\nretain = \"30d\"\n\
         action = \"delete\"\nschedule = \"{schedule}\"\n{extra}\n"
    )
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running daemon.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
    pub config: PathBuf,
}

impl Daemon {
    /// Starts `datawarden --log-format json run --config CONFIG` with `env`.
    pub fn start(config: &Path, env: &[(&str, String)]) -> Daemon {
        Daemon::start_args(config, &[], env)
    }

    /// Like [`Daemon::start`], with `datawarden run --node NODE`.
    pub fn start_node(config: &Path, node: &str) -> Daemon {
        Daemon::start_args(config, &["--node", node], &[])
    }

    fn start_args(config: &Path, extra: &[&str], env: &[(&str, String)]) -> Daemon {
        let log = config.with_file_name(format!("daemon-{}.log", rand::random::<u32>()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_datawarden"));
        cmd.args([
            "--log-format",
            "json",
            "run",
            "--config",
            config.to_str().unwrap(),
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon {
            child: cmd.spawn().unwrap(),
            log,
            config: config.to_path_buf(),
        }
    }

    pub fn child_exited(&self) -> bool {
        // try_wait needs &mut; /proc tells whether the process still runs (zombies count as gone).
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map(|s| s.split_whitespace().nth(2) == Some("Z"))
            .unwrap_or(true)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), s).unwrap();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` `times` times; panics with the log on timeout.
    pub fn wait_for_log(&self, needle: &str, times: usize, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.logs().matches(needle).count() >= times {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no {times}x `{needle}` in the log after {timeout:?}:\n{}",
            self.logs()
        );
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("daemon did not exit within {timeout:?}:\n{}", self.logs());
    }

    /// SIGTERM and wait; asserts exit 0.
    pub fn stop(mut self) -> String {
        self.signal(Signal::SIGTERM);
        let s = self.wait_exit(Duration::from_secs(30));
        let logs = self.logs();
        assert!(s.success(), "exit status {s:?}:\n{logs}");
        logs
    }

    /// `datawarden status --json` for this config.
    pub fn status(&self) -> serde_json::Value {
        status(&self.config)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `datawarden status --json --config CONFIG`, parsed.
pub fn status(config: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["status", "--json", "--config", config.to_str().unwrap()])
        .output_within();
    assert!(
        o.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The status entry of `job`.
pub fn job_status<'a>(status: &'a serde_json::Value, job: &str) -> &'a serde_json::Value {
    status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == job)
        .unwrap_or_else(|| panic!("no job {job} in {status:#}"))
}

/// Asserts that `job` in a `status --format json` snapshot has succeeded and has not failed since:
/// its last attempt succeeded or, on a per-second schedule, is running right now.
pub fn assert_job_succeeded(status: &serde_json::Value, job: &str) {
    let j = job_status(status, job);
    assert!(
        j["last_success"].is_string(),
        "{job} never succeeded: {status:#}"
    );
    assert!(
        matches!(j["last_outcome"].as_str(), Some("success" | "running")),
        "{job}: {status:#}"
    );
    assert!(j["last_error"].is_null(), "{job}: {status:#}");
}

/// A plain HTTP/1.0 GET on 127.0.0.1:`port`: (status code, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// Polls `f` until it returns true; panics with `what` on timeout.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}

/// The metrics text with each series' `node="…"` label (the first one; the daemon's node name)
/// removed, after asserting that every series has it.
pub fn without_node(metrics: &str) -> String {
    metrics
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.is_empty() {
                return l.to_string();
            }
            let start = l
                .find("{node=\"")
                .unwrap_or_else(|| panic!("no node label: {l}"));
            let rest = &l[start + 7..];
            let end = rest.find('"').unwrap() + 1;
            let after = rest[end..].strip_prefix(',').unwrap_or(&rest[end..]);
            match after.strip_prefix('}') {
                Some(unlabelled) => format!("{}{unlabelled}", &l[..start]),
                None => format!("{}{{{after}", &l[..start]),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
