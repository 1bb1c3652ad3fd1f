//! The retention clock through the binary, on the real servers: SQLite julian days and declared
//! unix seconds, undeclared integer clocks refused (PostgreSQL, MariaDB) and declared
//! `unix_millis`, `dd/mm/YYYY` text clocks with garbage rows, MariaDB zero dates and PostgreSQL
//! infinities never eligible and counted by the dry run, and `retain` bounded at check-config.
//! Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, Utc};
use datawarden::config::Config;
use datawarden::sources::{Access, Source};

mod common;
use common::Kind;
use common::OutputWithin;
use common::{enforce, text};

struct Db {
    test: common::TestDb,
    dir: tempfile::TempDir,
    inv: common::Inventory,
}

async fn make_db(kind: Kind, purpose: &str) -> Option<Db> {
    let test = common::TestDb::create(kind, purpose).await?;
    Some(Db {
        test,
        dir: tempfile::tempdir().unwrap(),
        inv: common::Inventory::temp(),
    })
}

impl Db {
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Writes a config with source `db` and one delete policy `clock` on table `t`, clock column
    /// `at`, `retain = "90d"` and `extra` lines; returns its path.
    fn config(&self, extra: &str) -> PathBuf {
        let text = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n\
             [[policies]]\nname = \"clock\"\ndescription = \"Events are deleted after 90 days\"\n\
             source = \"db\"\ntable = \"t\"\ntimestamp_column = \"at\"\nretain = \"90d\"\n\
             action = \"delete\"\n{extra}\n",
            self.inv.url, self.test.url,
        );
        let p = self.path("dw.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The ids left in `t`, ascending.
    async fn ids(&self) -> Vec<i64> {
        let c = Config::load(&self.config("")).unwrap();
        let src = Source::connect(c.source("db").unwrap(), &c.scan, Access::ReadOnly)
            .await
            .unwrap();
        let d = src.dialect();
        let sql = format!(
            "SELECT {} FROM {}",
            d.cast_text(&d.quote_ident("id")),
            d.quote_ident("t")
        );
        let rows = src.fetch_rows(&sql, &[]).await.unwrap();
        src.close().await;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r[0].as_deref().unwrap().parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// A dry run that succeeds and reports `affected` rows and `invalid` rows without a valid clock.
fn dry_run(cfg: &Path, affected: u64, invalid: u64, what: &str) {
    let o = enforce(cfg, &["--dry-run"]);
    let out = text(&o);
    assert!(o.status.success(), "{what}: {out}");
    assert!(
        out.contains(&format!("rows that would be affected: {affected}\n")),
        "{what}: {out}"
    );
    assert!(
        out.contains(&format!("rows without a valid clock: {invalid}")),
        "{what}: {out}"
    );
}

fn run(cfg: &Path, what: &str) {
    let o = enforce(cfg, &[]);
    assert!(o.status.success(), "{what}: {}", text(&o));
}

fn range(a: i64, b: i64) -> Vec<i64> {
    (a..=b).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_real_julian_days_are_read_as_dates() {
    let Some(db) = make_db(Kind::Sqlite, "clock_julian").await else {
        return;
    };
    // What julianday('now') writes: ids 1-5 are 400 days old, 6-10 one day old; 11 is old ISO
    // text (SQLite's other date form), 12 NULL, 13 a unix-seconds integer SQLite does not read
    // as a date.
    let mut sql = String::from("CREATE TABLE t (id INTEGER PRIMARY KEY, at REAL);\n");
    for i in 1..=10 {
        let days = if i <= 5 { 400 } else { 1 };
        sql += &format!("INSERT INTO t VALUES ({i}, julianday('now', '-{days} days'));\n");
    }
    sql += "INSERT INTO t VALUES (11, '2020-01-15 10:00:00'), (12, NULL), (13, 1577000000);\n";
    db.test.exec(&sql).await;
    let cfg = db.config("");
    dry_run(&cfg, 6, 2, "julian");
    assert_eq!(db.ids().await, range(1, 13), "the dry run changed nothing");
    run(&cfg, "julian");
    assert_eq!(db.ids().await, vec![6, 7, 8, 9, 10, 12, 13]);
    db.test.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_integer_clocks_need_unix_seconds_declared() {
    let Some(db) = make_db(Kind::Sqlite, "clock_unix").await else {
        return;
    };
    let now = Utc::now();
    let mut sql = String::from("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER);\n");
    for i in 1..=10 {
        let days = if i <= 5 { 400 } else { 1 };
        let at = (now - Duration::days(days)).timestamp();
        sql += &format!("INSERT INTO t VALUES ({i}, {at});\n");
    }
    // Not a number, and zero (a sentinel, not 1970): never eligible.
    sql += "INSERT INTO t VALUES (11, 'soon'), (12, 0);\n";
    db.test.exec(&sql).await;

    let o = enforce(&db.config(""), &["--dry-run"]);
    let out = text(&o);
    assert!(
        !o.status.success(),
        "an undeclared INTEGER clock ran: {out}"
    );
    for needle in [
        "clock",
        "`at`",
        "INTEGER",
        "timestamp_format = \"unix_seconds\"",
    ] {
        assert!(out.contains(needle), "`{needle}` missing: {out}");
    }
    assert_eq!(db.ids().await, range(1, 12));

    let cfg = db.config("timestamp_format = \"unix_seconds\"");
    dry_run(&cfg, 5, 2, "unix_seconds");
    run(&cfg, "unix_seconds");
    assert_eq!(db.ids().await, range(6, 12));
    db.test.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_integer_clocks_are_refused_and_unix_millis_is_exact() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = make_db(kind, "clock_millis").await else {
            continue;
        };
        let now = Utc::now();
        let mut sql = String::from("CREATE TABLE t (id BIGINT PRIMARY KEY, at BIGINT NULL);\n");
        for i in 1..=10 {
            let days = if i <= 5 { 400 } else { 1 };
            let at = (now - Duration::days(days)).timestamp_millis();
            sql += &format!("INSERT INTO t VALUES ({i}, {at});\n");
        }
        // Exactly at the edge: 90 days and a minute either side.
        let edge = now - Duration::days(90);
        sql += &format!(
            "INSERT INTO t VALUES (11, {}), (12, {}), (13, NULL), (14, 0);\n",
            (edge - Duration::minutes(1)).timestamp_millis(),
            (edge + Duration::minutes(1)).timestamp_millis()
        );
        db.test.exec(&sql).await;

        for args in [&["--dry-run"][..], &[][..]] {
            let o = enforce(&db.config(""), args);
            let out = text(&o);
            assert!(!o.status.success(), "{kind:?}: an integer clock ran: {out}");
            for needle in [
                "policy clock:",
                "`at`",
                "bigint",
                "timestamp_format = \"unix_seconds\" or \"unix_millis\"",
            ] {
                assert!(out.contains(needle), "{kind:?}: `{needle}` missing: {out}");
            }
        }
        assert_eq!(db.ids().await, range(1, 14), "{kind:?}");

        let cfg = db.config("timestamp_format = \"unix_millis\"\nbatch_size = 2");
        dry_run(&cfg, 6, 2, &format!("{kind:?} unix_millis"));
        run(&cfg, &format!("{kind:?} unix_millis"));
        assert_eq!(db.ids().await, vec![6, 7, 8, 9, 10, 12, 13, 14], "{kind:?}");
        db.test.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dd_mm_yyyy_text_clocks_are_exact_and_garbage_is_never_eligible() {
    for kind in [Kind::MySql, Kind::Postgres, Kind::Sqlite] {
        let Some(db) = make_db(kind, "clock_text").await else {
            continue;
        };
        let now = Utc::now();
        let mut sql =
            String::from("CREATE TABLE t (id BIGINT PRIMARY KEY, at VARCHAR(20) NULL);\n");
        // Old rows 1-5 (400 days and more, a day above 12 so day and month cannot swap), new rows
        // 6-10 (1-5 days old; string order would put some of them before the old ones).
        for i in 1..=10 {
            let days = if i <= 5 { 400 + 40 * i } else { i - 5 };
            let at = (now - Duration::days(days)).format("%d/%m/%Y");
            sql += &format!("INSERT INTO t VALUES ({i}, '{at}');\n");
        }
        let garbage = [
            "garbage",
            "",
            "1/2/2020",
            "2020-01-15",
            "15/13/2020",
            "31/04/2020",
            "00/01/2020",
            "15/01/2020 ",
            "15/01/0000",
            "15.01.2020",
            "15/01/20x0",
        ];
        for (j, g) in garbage.iter().enumerate() {
            sql += &format!("INSERT INTO t VALUES ({}, '{g}');\n", 11 + j);
        }
        sql += "INSERT INTO t VALUES (30, NULL);\n";
        db.test.exec(&sql).await;

        let cfg = db.config("timestamp_format = \"%d/%m/%Y\"");
        let what = format!("{kind:?} %d/%m/%Y");
        dry_run(&cfg, 5, garbage.len() as u64 + 1, &what);
        run(&cfg, &what);
        let mut left = range(6, 10 + garbage.len() as i64);
        left.push(30);
        assert_eq!(db.ids().await, left, "{what}");
        db.test.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_zero_dates_are_never_deleted_and_are_counted() {
    let Some(db) = make_db(Kind::MySql, "clock_zero").await else {
        return;
    };
    let now = Utc::now();
    let dt = |days: i64| (now - Duration::days(days)).format("%Y-%m-%d %H:%M:%S");
    // A session that allows zero dates, as legacy MariaDB schemas have them.
    let mut sql = String::from(
        "SET SESSION sql_mode = '';\n\
         CREATE TABLE t (id BIGINT PRIMARY KEY, at DATETIME NOT NULL, d DATE NULL);\n",
    );
    for i in 1..=5 {
        sql += &format!("INSERT INTO t VALUES ({i}, '{}', NULL);\n", dt(400));
    }
    for i in 6..=55 {
        sql += &format!("INSERT INTO t VALUES ({i}, '0000-00-00 00:00:00', '0000-00-00');\n");
    }
    for i in 56..=60 {
        sql += &format!("INSERT INTO t VALUES ({i}, '{}', NULL);\n", dt(1));
    }
    // Zero month or day inside an otherwise old date.
    sql += "INSERT INTO t VALUES (61, '2020-00-15 00:00:00', '2020-01-00');\n";
    db.test.exec(&sql).await;

    let cfg = db.config("");
    dry_run(&cfg, 5, 51, "zero dates");
    run(&cfg, "zero dates");
    assert_eq!(db.ids().await, range(6, 61));

    // The same on a DATE clock: rows 6-55 and 61 hold zero dates, 1-5 and 56-60 NULL.
    let cfg = db.config("").to_str().unwrap().to_string();
    let text_cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("timestamp_column = \"at\"", "timestamp_column = \"d\"");
    std::fs::write(&cfg, text_cfg).unwrap();
    dry_run(Path::new(&cfg), 0, 56, "zero DATE");
    db.test.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_infinite_clocks_are_never_eligible() {
    let Some(db) = make_db(Kind::Postgres, "clock_inf").await else {
        return;
    };
    let now = Utc::now();
    let mut sql = String::from("CREATE TABLE t (id BIGINT PRIMARY KEY, at timestamptz NULL);\n");
    for i in 1..=4 {
        let days = if i <= 2 { 400 } else { 1 };
        let at = (now - Duration::days(days)).to_rfc3339();
        sql += &format!("INSERT INTO t VALUES ({i}, '{at}');\n");
    }
    sql += "INSERT INTO t VALUES (5, '-infinity'), (6, 'infinity'), (7, NULL);\n";
    db.test.exec(&sql).await;
    let cfg = db.config("");
    dry_run(&cfg, 2, 3, "infinity");
    run(&cfg, "infinity");
    assert_eq!(db.ids().await, range(3, 7));
    db.test.drop_db().await;
}

/// `check-config` on a one-policy config with `lines` appended; returns (success, stderr) with
/// the config path written as FILE.
fn check_config(lines: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dw.toml");
    std::fs::write(
        &path,
        format!(
            "[[sources]]\nname = \"crm\"\nurl = \"sqlite://crm.db\"\n\n[[policies]]\nname = \"p\"\n\
             description = \"promise\"\nsource = \"crm\"\ntable = \"members\"\n\
             timestamp_column = \"closed_at\"\naction = \"delete\"\n{lines}"
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output_within();
    let err = String::from_utf8_lossy(&o.stderr).replace(&path.display().to_string(), "FILE");
    (o.status.success(), err)
}

#[test]
fn retain_beyond_what_databases_compute_is_refused_by_check_config() {
    let (ok, err) = check_config("retain = \"300000y\"\n");
    assert!(!ok, "{err}");
    assert!(
        err.contains("FILE:12: policies[0].retain: `300000y` is longer than")
            && err.contains("at most 1000y"),
        "{err}"
    );
    let (ok, err) = check_config("retain = \"1000y\"\n");
    assert!(ok, "{err}");
}

#[test]
fn variable_width_text_formats_are_refused_by_check_config() {
    let (ok, err) = check_config("retain = \"90d\"\ntimestamp_format = \"%d/%m/%y\"\n");
    assert!(!ok, "{err}");
    assert!(
        err.contains("FILE:13: policies[0].timestamp_format: timestamp format `%d/%m/%y`: %y is not supported"),
        "{err}"
    );
    let (ok, err) = check_config("retain = \"90d\"\ntimestamp_format = \"unix_millis\"\n");
    assert!(ok, "{err}");
}
