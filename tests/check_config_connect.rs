//! What `check-config` says is true: offline it refuses keys that are not 32 bytes or written
//! literally and expands `${VAR}` in secret references; `--connect` runs every policy's preflight
//! (the dry run's) against the real servers and names each policy that can never run, with a
//! non-zero exit. Also: `retain = "0d"` and a policy without a date column end to end on SQLite,
//! and `audit export --output`. Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::OutputWithin;
use common::{Kind, TestDb};

fn dw(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_datawarden"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output_within()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn key_file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let o = dw(&["keys", "generate", "--output", p.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o).1);
    p
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("dw.toml");
    let inv = dir.join("inv.db");
    std::fs::write(
        &p,
        format!(
            "[inventory]\nurl = \"sqlite://{}\"\n\n{body}",
            inv.display()
        ),
    )
    .unwrap();
    p
}

fn check_config(cfg: &Path, connect: bool, env: &[(&str, &str)]) -> Output {
    let mut args = vec!["check-config", "--config", cfg.to_str().unwrap()];
    if connect {
        args.push("--connect");
    }
    dw(&args, env)
}

#[test]
fn offline_check_refuses_short_empty_and_literal_keys() {
    let dir = tempfile::tempdir().unwrap();
    let good = key_file(dir.path(), "good.key");
    for (name, bytes) in [
        ("short.key", vec![0x42u8; 16]),
        ("empty.key", Vec::new()),
        ("garbage.key", b"this is not a key\n".to_vec()),
    ] {
        let bad = dir.path().join(name);
        std::fs::write(&bad, &bytes).unwrap();
        let cfg = write_config(
            dir.path(),
            &format!(
                "[keys]\nencryption = \"file:{}\"\npseudonym = \"file:{}\"\n",
                good.display(),
                bad.display()
            ),
        );
        let o = check_config(&cfg, false, &[]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("keys.pseudonym") && err.contains("is not a 32-byte key"),
            "{name}: {err}"
        );
        assert!(err.contains(name), "the file is named: {err}");
    }
    // A literal key: refused at load with file, line and key; the value is never shown.
    let cfg = write_config(dir.path(), "[keys]\nencryption = \"plaintextsecret\"\n");
    let o = check_config(&cfg, false, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(":5: keys.encryption: a key is never written into the config"),
        "{err}"
    );
    assert!(!err.contains("plaintextsecret") && !out.contains("plaintextsecret"));
    // A good key passes and is named by its id only.
    let cfg = write_config(
        dir.path(),
        &format!("[keys]\nencryption = \"file:{}\"\n", good.display()),
    );
    let o = check_config(&cfg, false, &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("keys.encryption: key id "), "{out}");
}

#[test]
fn offline_check_expands_variables_in_secret_references() {
    let dir = tempfile::tempdir().unwrap();
    key_file(dir.path(), "aes.key");
    let cfg = write_config(
        dir.path(),
        "[keys]\nencryption = \"file:${DW_CC_KEYDIR}/aes.key\"\n",
    );
    let keydir = dir.path().to_str().unwrap();
    let o = check_config(&cfg, false, &[("DW_CC_KEYDIR", keydir)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("keys.encryption: key id "), "{out}");
    // Unset: the variable is named.
    let o = check_config(&cfg, false, &[]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("keys.encryption: environment variable `DW_CC_KEYDIR` is not set"),
        "{err}"
    );
}

fn admin_schema(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => {
            "CREATE TABLE sys_user (user_id bigint PRIMARY KEY, phonenumber varchar(11), \
             email varchar(200), create_time timestamptz, login_date bigint);
             INSERT INTO sys_user VALUES
               (1, '13800138000', 'a@example.com', now() - interval '800 days', 1500000000),
               (2, '13900139000', 'b@example.com', now() - interval '10 days', 1700000000);"
        }
        _ => {
            "CREATE TABLE sys_user (user_id bigint PRIMARY KEY, phonenumber varchar(11), \
             email varchar(200), create_time datetime, login_date bigint);
             INSERT INTO sys_user VALUES
               (1, '13800138000', 'a@example.com', NOW() - INTERVAL 800 DAY, 1500000000),
               (2, '13900139000', 'b@example.com', NOW() - INTERVAL 10 DAY, 1700000000);"
        }
    }
}

const ADMIN_POLICIES: &str = r#"
[[policies]]
name = "good"
description = "emails of users created over a year ago are removed"
source = "db"
table = "sys_user"
timestamp_column = "create_time"
retain = "1y"
action = "nullify"
columns = ["email"]

[[policies]]
name = "narrow_encrypt"
description = "phone numbers are encrypted after a year"
source = "db"
table = "sys_user"
timestamp_column = "create_time"
retain = "1y"
action = "encrypt"
columns = ["phonenumber"]

[[policies]]
name = "integer_clock"
description = "users are deleted 90 days after their last login"
source = "db"
table = "sys_user"
timestamp_column = "login_date"
retain = "90d"
action = "delete"

[[policies]]
name = "missing_table"
description = "closed accounts are deleted"
source = "db"
table = "sys_user_closed"
timestamp_column = "create_time"
retain = "90d"
action = "delete"
"#;

async fn connect_check_names_policies_that_can_never_run(kind: Kind) {
    let Some(db) = TestDb::create(kind, "check_connect").await else {
        return;
    };
    db.exec(admin_schema(kind)).await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "aes.key");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n[keys]\nencryption = \"file:{}\"\n{ADMIN_POLICIES}",
            db.url,
            key.display()
        ),
    );
    // Offline, the config is valid: nothing in it can be known without the database.
    let o = check_config(&cfg, false, &[]);
    assert!(o.status.success(), "{kind:?}: {}", text(&o).1);

    let o = check_config(&cfg, true, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{kind:?}: {out}\n{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("policy {name}:")))
            .unwrap_or_else(|| panic!("{kind:?}: no line for {name}: {out}"))
            .to_string()
    };
    assert!(out.contains("source db: ok ("), "{kind:?}: {out}");
    assert!(line("good").contains("policy good: ok"), "{kind:?}: {out}");
    let l = line("narrow_encrypt");
    assert!(
        l.contains("error: can never run") && l.contains("`phonenumber` holds 11 characters"),
        "{kind:?}: {l}"
    );
    let l = line("integer_clock");
    assert!(
        l.contains("error: can never run")
            && l.contains("`login_date`")
            && l.contains("timestamp_format"),
        "{kind:?}: {l}"
    );
    let l = line("missing_table");
    assert!(
        l.contains("error: can never run") && l.contains("`sys_user_closed` not found"),
        "{kind:?}: {l}"
    );
    assert!(!out.contains("13800138000") && !err.contains("13800138000"));
    // Read-only: nothing changed.
    let o = dw(
        &[
            "enforce",
            "--config",
            cfg.to_str().unwrap(),
            "--policy",
            "good",
            "--dry-run",
        ],
        &[],
    );
    let (out, _) = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("good"), "{out}");
    db.drop_db().await;
}

#[tokio::test]
async fn connect_check_names_policies_that_can_never_run_postgres() {
    connect_check_names_policies_that_can_never_run(Kind::Postgres).await;
}

#[tokio::test]
async fn connect_check_names_policies_that_can_never_run_mysql() {
    connect_check_names_policies_that_can_never_run(Kind::MySql).await;
}

#[tokio::test]
async fn connect_check_reports_an_unreachable_source() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[[sources]]\nname = \"gone\"\nurl = \"postgres://nobody@127.0.0.1:1/none\"\n\n\
         [[policies]]\nname = \"p\"\ndescription = \"d\"\nsource = \"gone\"\ntable = \"t\"\n\
         timestamp_column = \"ts\"\nretain = \"90d\"\naction = \"delete\"\n",
    );
    let o = check_config(&cfg, true, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("source gone: error:"), "{out}");
    assert!(
        out.contains("policy p: error: not checked, source `gone` is unreachable"),
        "{out}"
    );
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
    let _ = c.close().await;
    n
}

#[tokio::test]
async fn zero_retention_and_policies_without_a_clock_run_end_to_end_on_sqlite() {
    let Some(db) = TestDb::create(Kind::Sqlite, "retain_zero").await else {
        return;
    };
    db.exec(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, token TEXT, ended_at TEXT);
         INSERT INTO sessions VALUES
           (1, 't1', datetime('now', '-1 day')),
           (2, 't2', datetime('now', '-1 minute')),
           (3, 't3', datetime('now', '+1 day')),
           (4, 't4', NULL),
           (5, 't5', 'garbage');
         CREATE TABLE leads (id INTEGER PRIMARY KEY, phone TEXT, status TEXT);
         INSERT INTO leads VALUES (1, '13800138000', 'closed'), (2, '13900139000', 'open'),
           (3, '13700137000', 'closed');",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n\
             [[policies]]\nname = \"sessions_now\"\ndescription = \"ended sessions are deleted at once\"\n\
             source = \"db\"\ntable = \"sessions\"\ntimestamp_column = \"ended_at\"\nretain = \"0d\"\n\
             action = \"delete\"\nmax_share = 1.0\n\n\
             [[policies]]\nname = \"closed_leads\"\ndescription = \"closed leads lose their phone number\"\n\
             source = \"db\"\ntable = \"leads\"\nretain = \"0d\"\nfilter = \"status = 'closed'\"\n\
             action = \"nullify\"\ncolumns = [\"phone\"]\n",
            db.url
        ),
    );
    let o = check_config(&cfg, true, &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("closed_leads: nullify db.leads every row matching the filter"),
        "{out}"
    );
    assert!(
        out.contains("policy closed_leads: ok (2 rows due now)"),
        "{out}"
    );
    // Rows 4 (NULL) and 5 (garbage) have no valid clock: a warning, never acted on.
    assert!(
        out.contains("policy sessions_now: warning: 2 rows have no valid clock"),
        "{out}"
    );

    let o = dw(&["enforce", "--config", cfg.to_str().unwrap()], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    // 0d: every row whose clock is valid and not in the future.
    assert_eq!(
        count(&db, "SELECT count(*) FROM sessions WHERE id IN (1, 2)").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM sessions WHERE id IN (3, 4, 5)").await,
        3
    );
    // No clock: every row matching the filter, and only those.
    assert_eq!(
        count(&db, "SELECT count(*) FROM leads WHERE phone IS NULL").await,
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM leads WHERE id = 2 AND phone = '13900139000'"
        )
        .await,
        1
    );

    // audit export --output writes the file (and nothing to stdout); CSV and JSON name the
    // table column alike.
    let csv = dir.path().join("audit.csv");
    let json = dir.path().join("audit.json");
    for (format, path) in [("csv", &csv), ("json", &json)] {
        let o = dw(
            &[
                "audit",
                "export",
                "--config",
                cfg.to_str().unwrap(),
                "--format",
                format,
                "--output",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"table_name") && !header.contains(&"table"));
    assert!(csv.contains("closed_leads") && csv.contains("sessions_now"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let recs = json.as_array().unwrap();
    assert!(!recs.is_empty());
    for r in recs {
        for k in r.as_object().unwrap().keys() {
            assert!(
                header.contains(&k.as_str()),
                "JSON field {k} not in CSV {header:?}"
            );
        }
    }
    db.drop_db().await;
}
