//! Shared helpers for integration tests against the REAL database servers on this machine.
//!
//! Servers (override with env):
//! - PostgreSQL: `DATAWARDEN_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`
//! - MariaDB/MySQL: `DATAWARDEN_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/mysql`
//! - SQLite: a file in a fresh temp directory.
//!
//! Usage:
//! ```ignore
//! mod common;
//! use common::{Kind, TestDb};
//!
//! #[tokio::test]
//! async fn my_test() {
//!     let Some(db) = TestDb::create(Kind::Postgres, "purpose").await else { return };
//!     db.load_fixture().await;              // tests/fixtures/postgres.sql
//!     let cfg = db.source_config("crm");    // a SourceConfig named "crm" for this database
//!     // ... Source::connect(&cfg, &ScanConfig::default(), Access::ReadOnly) ...
//!     db.drop_db().await;                   // also done (synchronously) on Drop
//! }
//! ```
//!
//! Each [`TestDb`] is a uniquely named database (`dw_<purpose>_<random>`), so tests run in parallel.
//! When a server is down: with `DATAWARDEN_TEST_REQUIRE_DB=1` (CI) the test FAILS; otherwise
//! [`TestDb::create`] prints a loud `SKIPPED` message to stderr and returns `None`.
//!
//! Fixtures (`tests/fixtures/{postgres,mysql,sqlite}.sql`): the same car-platform schema on all three
//! backends, with synthetic valid-looking data:
//! - `members` (id bigint PK, phone BIGINT, mobile varchar(20) NOT NULL, email varchar(120) UNIQUE,
//!   id_number char(18), closed_at timestamp/datetime (ids 2, 3, 5 set), status enum
//!   active|closed|suspended, legacy_fax: NULL in every row), 5 rows;
//! - `vehicles` (vin UNIQUE, plate; member_id -> members ON DELETE CASCADE), 4 rows;
//! - `orders` (remarks free text, price numeric(10,2), details json, order_uuid uuid/char(36),
//!   created_at timestamptz/timestamp NOT NULL, attachment bytea/blob; member_id -> members ON DELETE
//!   SET NULL, vehicle_id -> vehicles ON DELETE RESTRICT), 3 rows (SQLite: a 4th row whose remarks hold
//!   invalid UTF-8 bytes);
//! - awkward identifiers: `"User Accounts"` ("Mobile No", "Login Name" UNIQUE), `driver's "log"` (note),
//!   `用户表` (手机号, 姓名);
//! - `empty_table` (no rows), `event_log` (no key at all, 2 rows), `trips` (5000 generated rows,
//!   driver_phone `139########`), view `active_members`.
//! - PostgreSQL runs ANALYZE on members and trips only (other tables keep reltuples = -1).

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use datawarden::config::SourceConfig;
use rand::Rng;
use sqlx::{Connection, Executor};

/// The database kinds the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MySql,
    Sqlite,
}

impl Kind {
    /// The fixture file name stem.
    pub fn fixture(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::MySql => "mysql",
            Kind::Sqlite => "sqlite",
        }
    }
}

/// The admin URL of the PostgreSQL test server.
pub fn pg_admin_url() -> String {
    std::env::var("DATAWARDEN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The admin URL of the MariaDB/MySQL test server.
pub fn mysql_admin_url() -> String {
    std::env::var("DATAWARDEN_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

/// Reports an unavailable server: panics when `DATAWARDEN_TEST_REQUIRE_DB=1`, else prints a loud
/// skip message. Returns `None` so callers can `return`.
pub fn require_db<T>(what: &str, err: impl std::fmt::Display) -> Option<T> {
    if std::env::var("DATAWARDEN_TEST_REQUIRE_DB").as_deref() == Ok("1") {
        panic!("{what} is required (DATAWARDEN_TEST_REQUIRE_DB=1) but unavailable: {err}");
    }
    eprintln!("\n*** SKIPPED: {what} unavailable ({err}); set DATAWARDEN_TEST_REQUIRE_DB=1 to fail instead ***\n");
    None
}

/// A unique database name `dw_<purpose>_<random>`.
pub fn unique_name(purpose: &str) -> String {
    let clean: String = purpose
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let r: u64 = rand::thread_rng().gen();
    format!("dw_{clean}_{:012x}", r & 0xffff_ffff_ffff)
}

/// Replaces the path (database name) of a server URL.
fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("test server URL parses");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A throwaway database, dropped by [`TestDb::drop_db`] or on drop.
pub struct TestDb {
    /// Backend.
    pub kind: Kind,
    /// Database name (SQLite: the file name).
    pub name: String,
    /// URL of the database (`sqlite://<path>` for SQLite).
    pub url: String,
    /// SQLite: the database file.
    pub path: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
    dropped: bool,
}

impl TestDb {
    /// Creates an empty database, or `None` (after [`require_db`]) when the server is down.
    pub async fn create(kind: Kind, purpose: &str) -> Option<TestDb> {
        let name = unique_name(purpose);
        match kind {
            Kind::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match connect_pg(&admin).await {
                    Ok(c) => c,
                    Err(e) => return require_db("PostgreSQL at 127.0.0.1:5432", e),
                };
                conn.execute(
                    format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
                        .as_str(),
                )
                .await
                .expect("CREATE DATABASE");
                let _ = conn.close().await;
                Some(TestDb {
                    kind,
                    url: with_database(&admin, &name),
                    name,
                    path: None,
                    dir: None,
                    dropped: false,
                })
            }
            Kind::MySql => {
                let admin = mysql_admin_url();
                let mut conn = match connect_mysql(&admin).await {
                    Ok(c) => c,
                    Err(e) => return require_db("MariaDB/MySQL at 127.0.0.1:3306", e),
                };
                conn.execute(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4").as_str())
                    .await
                    .expect("CREATE DATABASE");
                let _ = conn.close().await;
                Some(TestDb {
                    kind,
                    url: with_database(&admin, &name),
                    name,
                    path: None,
                    dir: None,
                    dropped: false,
                })
            }
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join(format!("{name}.db"));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("create SQLite file");
                let _ = conn.close().await;
                Some(TestDb {
                    kind,
                    url: format!("sqlite://{}", path.display()),
                    name,
                    path: Some(path),
                    dir: Some(dir),
                    dropped: false,
                })
            }
        }
    }

    /// Creates a database and loads `tests/fixtures/<backend>.sql` into it.
    pub async fn with_fixture(kind: Kind, purpose: &str) -> Option<TestDb> {
        let db = TestDb::create(kind, purpose).await?;
        db.load_fixture().await;
        Some(db)
    }

    /// Loads the shared fixture for this backend.
    pub async fn load_fixture(&self) {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/{}.sql", self.kind.fixture()));
        let sql = std::fs::read_to_string(&file).expect("fixture file");
        self.exec(&sql).await;
    }

    /// Runs an SQL script (several statements) as the admin user, panicking on error.
    pub async fn exec(&self, sql: &str) {
        match self.kind {
            Kind::Postgres => {
                let mut c = connect_pg(&self.url).await.expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .expect("SQL script");
                let _ = c.close().await;
            }
            Kind::MySql => {
                let mut c = connect_mysql(&self.url).await.expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .expect("SQL script");
                let _ = c.close().await;
            }
            Kind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .expect("SQL script");
                let _ = c.close().await;
            }
        }
    }

    /// A `[[sources]]` entry named `name` for this database (parsed like a config file would be).
    pub fn source_config(&self, name: &str) -> SourceConfig {
        self.source_config_toml(name, "")
    }

    /// Like [`TestDb::source_config`], with extra TOML lines (`include_tables = ["m*"]`, ...).
    pub fn source_config_toml(&self, name: &str, extra: &str) -> SourceConfig {
        let text = format!("name = \"{name}\"\nurl = \"{}\"\n{extra}\n", self.url);
        toml::from_str(&text).expect("test source config")
    }

    /// Drops the database (SQLite: removes the temp directory).
    pub async fn drop_db(mut self) {
        self.dropped = true;
        drop_database(self.kind, self.name.clone()).await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped || self.kind == Kind::Sqlite {
            return;
        }
        // A panicking test still cleans up: drop on a separate thread with its own runtime.
        let (kind, name) = (self.kind, self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(drop_database(kind, name));
        })
        .join();
    }
}

async fn drop_database(kind: Kind, name: String) {
    match kind {
        Kind::Postgres => {
            if let Ok(mut c) = connect_pg(&pg_admin_url()).await {
                let _ = c
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await;
                let _ = c.close().await;
            }
        }
        Kind::MySql => {
            if let Ok(mut c) = connect_mysql(&mysql_admin_url()).await {
                let _ = c
                    .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                    .await;
                let _ = c.close().await;
            }
        }
        Kind::Sqlite => {}
    }
}

async fn connect_pg(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(url))
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
}

async fn connect_mysql(url: &str) -> Result<sqlx::MySqlConnection, sqlx::Error> {
    tokio::time::timeout(Duration::from_secs(10), sqlx::MySqlConnection::connect(url))
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
}

/// The audit trail's `batch` records of one policy, as `datawarden audit export --format json`
/// gives them: (rows affected, outcome), oldest first.
pub fn batch_records(config: &std::path::Path, policy: &str) -> Vec<(i64, String)> {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["audit", "export", "--config"])
        .arg(config)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "audit export failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let recs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    recs.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "batch" && r["policy"] == policy)
        .map(|r| {
            (
                r["rows_affected"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Runs the datawarden binary under test with `args`.
pub fn dw(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(args)
        .output_within()
}

/// Runs the binary with `input` on its standard input.
pub fn dw_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_datawarden"));
    cmd.args(args);
    watch(&mut cmd, Some(input.as_bytes()))
}

/// [`std::process::Command::output`] with a watchdog: a child still running after
/// `DATAWARDEN_TEST_CHILD_TIMEOUT` seconds (default 300) has every thread's backtrace taken (gdb,
/// when installed), is killed, and fails the test with what it printed. A hang is then a failure
/// with evidence, not a stalled suite.
pub trait OutputWithin {
    /// Runs the command to completion (stdin empty) and returns what it printed.
    fn output_within(&mut self) -> std::process::Output;
}

impl OutputWithin for std::process::Command {
    fn output_within(&mut self) -> std::process::Output {
        watch(self, None)
    }
}

fn watch(cmd: &mut std::process::Command, input: Option<&[u8]>) -> std::process::Output {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let limit = std::env::var("DATAWARDEN_TEST_CHILD_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300u64);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        // A child that exits without reading its input is not an error here.
        let _ = stdin.write_all(input);
    }
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() >= std::time::Duration::from_secs(limit) {
            let stacks = backtraces(child.id());
            let _ = child.kill();
            let _ = child.wait();
            let out = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
            let err = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
            panic!(
                "{cmd:?} still ran after {limit} s and was killed\n\
                 --- its threads ---\n{stacks}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Every thread's backtrace of process `pid` (gdb), or the kernel's view of its threads.
fn backtraces(pid: u32) -> String {
    let gdb = std::process::Command::new("timeout")
        .args(["60", "gdb", "-p", &pid.to_string(), "-batch", "-nx"])
        .args(["-ex", "thread apply all bt"])
        .stdin(std::process::Stdio::null())
        .output();
    match gdb {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .flatten()
                    .map(|t| {
                        let read =
                            |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
                        format!(
                            "{}: {} {}",
                            read("comm").trim(),
                            read("wchan"),
                            read("stat")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_else(|e| format!("no backtrace: {e}")),
    }
}

/// `datawarden enforce --config CFG EXTRA...`.
pub fn enforce(cfg: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec!["enforce", "--config", cfg.to_str().unwrap()];
    a.extend_from_slice(extra);
    dw(&a)
}

/// Standard output then standard error, as text.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// True when the tests' inventories live in PostgreSQL (`DATAWARDEN_TEST_INVENTORY=postgres`;
/// default SQLite). `.ci/run` runs the inventory-sensitive test files once each way.
pub fn postgres_inventory() -> bool {
    std::env::var("DATAWARDEN_TEST_INVENTORY").is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// A test's inventory store: a SQLite file in the test's directory, or with
/// `DATAWARDEN_TEST_INVENTORY=postgres` a uniquely named PostgreSQL database (`dw_inv_<random>`)
/// dropped when this is dropped. Tests write `[inventory] url = "{url}"` into their configs.
pub struct Inventory {
    /// The `[inventory] url`.
    pub url: String,
    /// The PostgreSQL database name, when there is one.
    pg: Option<String>,
    /// The directory of a SQLite inventory made by [`Inventory::temp`].
    _dir: Option<tempfile::TempDir>,
}

impl Inventory {
    /// The inventory of a test whose files live in `dir` (SQLite: `dir/inv.db`).
    pub fn new(dir: &std::path::Path) -> Inventory {
        Inventory::named(dir, "inv.db")
    }

    /// Like [`Inventory::new`] with another SQLite file name.
    pub fn named(dir: &std::path::Path, file: &str) -> Inventory {
        if !postgres_inventory() {
            return Inventory {
                url: format!("sqlite://{}", dir.join(file).display()),
                pg: None,
                _dir: None,
            };
        }
        let name = unique_name("inv");
        let create = name.clone();
        std::thread::spawn(move || {
            block_on(async move {
                let mut c = connect_pg(&pg_admin_url())
                    .await
                    .expect("the PostgreSQL inventory needs the server at 127.0.0.1:5432");
                c.execute(format!("CREATE DATABASE \"{create}\" TEMPLATE template0").as_str())
                    .await
                    .expect("CREATE DATABASE");
                let _ = c.close().await;
            })
        })
        .join()
        .unwrap();
        Inventory {
            url: with_database(&pg_admin_url(), &name),
            pg: Some(name),
            _dir: None,
        }
    }

    /// An inventory in a temporary directory of its own (SQLite), or a PostgreSQL database.
    pub fn temp() -> Inventory {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut inv = Inventory::new(dir.path());
        inv._dir = Some(dir);
        inv
    }

    /// True for a PostgreSQL inventory.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Runs one statement on the inventory (tests that tamper with the audit trail). Write
    /// parameters as `$1`, `$2` (both backends read them); `binds` are text.
    pub async fn exec(&self, sql: &str, binds: &[&str]) -> u64 {
        if self.is_postgres() {
            let mut c = connect_pg(&self.url).await.expect("connect");
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let n = q.execute(&mut c).await.expect(sql).rows_affected();
            let _ = c.close().await;
            n
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url)
                .await
                .expect("connect");
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let n = q.execute(&mut c).await.expect(sql).rows_affected();
            let _ = c.close().await;
            n
        }
    }

    /// The first column of the first row of `sql`, as a number (`COUNT(*)`, ...).
    pub async fn scalar(&self, sql: &str, binds: &[&str]) -> i64 {
        self.try_scalar(sql, binds).await.expect(sql)
    }

    /// Like [`Inventory::scalar`], `None` on any error (a store not created yet).
    pub async fn try_scalar(&self, sql: &str, binds: &[&str]) -> Option<i64> {
        if self.is_postgres() {
            let mut c = connect_pg(&self.url).await.ok()?;
            let mut q = sqlx::query_scalar::<_, i64>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let n = q.fetch_one(&mut c).await.ok();
            let _ = c.close().await;
            n
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.ok()?;
            let mut q = sqlx::query_scalar::<_, i64>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let n = q.fetch_one(&mut c).await.ok();
            let _ = c.close().await;
            n
        }
    }

    /// Rows of two text columns (`SELECT kind, outcome ...`); empty on any error (a store not
    /// created yet).
    pub async fn pairs(&self, sql: &str, binds: &[&str]) -> Vec<(String, String)> {
        if self.is_postgres() {
            let Ok(mut c) = connect_pg(&self.url).await else {
                return Vec::new();
            };
            let mut q = sqlx::query_as::<_, (String, String)>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(&mut c).await.unwrap_or_default();
            let _ = c.close().await;
            rows
        } else {
            let Ok(mut c) = sqlx::SqliteConnection::connect(&self.url).await else {
                return Vec::new();
            };
            let mut q = sqlx::query_as::<_, (String, String)>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(&mut c).await.unwrap_or_default();
            let _ = c.close().await;
            rows
        }
    }

    /// True when the store exists: the SQLite file, or any datawarden table in the database.
    pub async fn exists(&self) -> bool {
        if self.is_postgres() {
            self.scalar(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .await
                > 0
        } else {
            std::path::Path::new(self.url.trim_start_matches("sqlite://")).exists()
        }
    }

    /// Empties the store: removes the SQLite file (and its WAL), or drops every table.
    pub async fn wipe(&self) {
        if self.is_postgres() {
            self.exec("DROP SCHEMA public CASCADE", &[]).await;
            self.exec("CREATE SCHEMA public", &[]).await;
        } else {
            let path = self.url.trim_start_matches("sqlite://").to_string();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

impl Drop for Inventory {
    fn drop(&mut self) {
        if let Some(name) = self.pg.take() {
            let _ =
                std::thread::spawn(move || block_on(drop_database(Kind::Postgres, name))).join();
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
