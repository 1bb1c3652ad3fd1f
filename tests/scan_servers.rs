//! Scanning servers as companies run them: views by lineage or under a timeout, unpopulated
//! materialized views, MariaDB BIT columns, and a closed stdout (`| head -1`).

mod common;
use common::OutputWithin;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Kind, TestDb};

fn dw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(args)
        .output_within()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A config with one source `db` at `url` and an inventory in `dir`.
fn config(dir: &tempfile::TempDir, url: &str, scan: &str) -> PathBuf {
    let text = format!(
        "[inventory]\nurl = \"sqlite://{}\"\n\n[scan]\n{scan}\n\n[[sources]]\nname = \"db\"\nurl = \"{url}\"\n",
        dir.path().join("inv.db").display(),
    );
    let p = dir.path().join("dw.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `inventory list --all` as lines.
fn listing(cfg: &str) -> Vec<String> {
    let o = dw(&["inventory", "list", "--all", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn line<'a>(lines: &'a [String], table: &str, column: &str) -> &'a str {
    lines
        .iter()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && f[1].ends_with(&format!(".{table}")) && f[2] == column
        })
        .unwrap_or_else(|| panic!("no {table}.{column} in {lines:#?}"))
}

const MEMBERS: &str = "CREATE TABLE members (id int PRIMARY KEY, email text, note text);
     INSERT INTO members SELECT g, 'user' || g || '@example.com', 'n' || g FROM generate_series(1, 50) g;";

#[tokio::test]
async fn views_by_lineage_slow_views_time_out_and_unpopulated_ones_are_skipped() {
    let Some(db) = TestDb::create(Kind::Postgres, "views").await else {
        return;
    };
    db.exec(MEMBERS).await;
    db.exec(
        "CREATE VIEW member_emails AS SELECT id, email AS contact FROM members;
         CREATE VIEW slow AS SELECT m.email, pg_sleep(1)::text AS waited FROM members m;
         CREATE VIEW slow_expr AS SELECT upper(m.email) AS shout, pg_sleep(0.05)::text AS waited FROM members m;
         CREATE MATERIALIZED VIEW member_stats AS SELECT count(*) AS n FROM members WITH NO DATA;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, &db.url, "view_timeout = \"1s\"");
    let cfg = cfg.to_str().unwrap();
    let t = Instant::now();
    let o = dw(&["scan", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    // 50 rows x 1 s (`slow`) and x 50 ms (`slow_expr`) would take 52.5 s: each view is cut at
    // 1 s, and the cut query does not hold up the rest of the scan.
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("0 failed"), "{}", text(&o));
    let lines = listing(cfg);
    // Lineage: the view column inherits the base column's classification, read from nowhere.
    let contact = line(&lines, "member_emails", "contact");
    assert!(contact.contains("email"), "{contact}");
    assert!(
        contact.contains("via view of public.members.email"),
        "{contact}"
    );
    let email = line(&lines, "slow", "email");
    assert!(
        email.contains("via view of public.members.email"),
        "{email}"
    );
    // No lineage (an expression): read under the view timeout, recorded as timed out.
    let shout = line(&lines, "slow_expr", "shout");
    assert!(
        shout.contains("unknown") && shout.contains("timed out"),
        "{shout}"
    );
    let waited = line(&lines, "slow", "waited");
    assert!(waited.contains("timed out"), "{waited}");
    let n = line(&lines, "member_stats", "n");
    assert!(n.contains("unknown") && n.contains("not populated"), "{n}");
    db.drop_db().await;
}

#[tokio::test]
async fn mariadb_bit_columns_are_read_as_digits() {
    let Some(db) = TestDb::create(Kind::MySql, "bit").await else {
        return;
    };
    db.exec(
        "CREATE TABLE flags (id int PRIMARY KEY, active BIT(1), phone BIT(64));
         INSERT INTO flags VALUES (1, b'1', 13812345678), (2, b'0', 13912345678), (3, b'1', 13712345678);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, &db.url, "");
    let cfg = cfg.to_str().unwrap();
    let o = dw(&["scan", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    let lines = listing(cfg);
    let active = line(&lines, "flags", "active");
    assert!(active.contains("no detector matched"), "{active}");
    let phone = line(&lines, "flags", "phone");
    assert!(phone.contains("phone"), "{phone}");
    db.drop_db().await;
}

/// Runs `datawarden args` with a stdout that is closed before it writes (as `| head -1` closes
/// it after the first line): the command must end quietly with status 0.
fn into_head(args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{args:?}: {status:?} {err}");
    assert!(
        !err.contains("error") && !err.contains("panicked"),
        "{args:?}: {err}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    let cols: Vec<String> = (0..300).map(|i| format!("c{i} text")).collect();
    let mut sql = format!(
        "CREATE TABLE t (id integer primary key, phone text, email text, {});",
        cols.join(", ")
    );
    for i in 0..50 {
        sql.push_str(&format!(
            "INSERT INTO t (id, phone, email) VALUES ({i}, '138123456{:02}', 'a{i}@example.com');",
            i
        ));
    }
    sqlite_exec(&db, &sql);
    let cfg = config(&dir, &format!("sqlite://{}", db.display()), "");
    let cfg = cfg.to_str().unwrap();
    let o = dw(&["scan", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    into_head(&["check-config", "--config", cfg]);
    into_head(&["inventory", "list", "--all", "--config", cfg]);
    into_head(&["inventory", "export", "--format", "csv", "--config", cfg]);
}

fn sqlite_exec(db: &std::path::Path, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", db.display()))
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    });
}

/// One hostile value cannot stall a scan: values over `max_value_bytes` are searched in their
/// first window and the table's detection stops at `detect_budget`; both are recorded.
#[test]
fn hostile_values_are_bounded_and_the_cut_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    sqlite_exec(
        &db,
        "CREATE TABLE notes (id integer primary key, body text);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12)
         INSERT INTO notes SELECT i, replace(hex(zeroblob(200000)), '00', 'a@b.c') FROM n;",
    );
    let cfg = config(
        &dir,
        &format!("sqlite://{}", db.display()),
        "detect_budget = \"1s\"\nmax_value_bytes = 65536",
    );
    let cfg = cfg.to_str().unwrap();
    let t = Instant::now();
    let o = dw(&["scan", "--config", cfg]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let lines = listing(cfg);
    let body = line(&lines, "notes", "body");
    assert!(body.contains("email"), "{body}");
    assert!(
        body.contains("detection cut short")
            && body.contains("over 65536 bytes searched in their first 65536 bytes"),
        "{body}"
    );
}

#[test]
fn scan_help_documents_exit_codes() {
    let o = dw(&["scan", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for s in ["0 complete", "3 partial", "1 failed"] {
        assert!(help.contains(s), "{help}");
    }
}
