//! The PostgreSQL inventory against the SQLite one, through the binary: scan, enforce, audit verify
//! and the exports give the same results on both; `inventory migrate` copies a SQLite inventory
//! (reviews, scan and job history, checkpoints, the audit chain with its hashes) into PostgreSQL.
//! Needs the PostgreSQL server whatever `DATAWARDEN_TEST_INVENTORY` says.

mod common;

use std::path::{Path, PathBuf};

use common::{dw, text, Kind, TestDb};
use regex::Regex;

/// 30 rows 400 days old and 10 rows 10 days old; a policy deletes the old ones 7 per batch.
const EVENTS: &str = "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, phone TEXT);";

fn events_rows() -> String {
    let now = chrono::Utc::now();
    let rows: Vec<String> = (1..=40)
        .map(|i| {
            let age = if i <= 30 { 400 } else { 10 };
            let at = (now - chrono::Duration::days(age)).format("%Y-%m-%d %H:%M:%S");
            format!("({i}, '{at}', '1391234{i:04}')")
        })
        .collect();
    format!(
        "INSERT INTO events (id, at, phone) VALUES {};",
        rows.join(", ")
    )
}

const POLICY: &str = "[[policies]]\nname = \"old-events\"\ndescription = \"Events are deleted after 90 days.\"\n\
    source = \"db\"\ntable = \"events\"\ntimestamp_column = \"at\"\nretain = \"90d\"\naction = \"delete\"\nbatch_size = 7\nmax_share = 1.0\n";

/// A source (the SQLite fixture plus `events`) and a config naming it and `inventory`.
struct Case {
    dir: tempfile::TempDir,
    source: TestDb,
    cfg: PathBuf,
}

async fn case(inventory: &str) -> Case {
    let source = TestDb::with_fixture(Kind::Sqlite, "pg_inventory")
        .await
        .expect("SQLite always works");
    source.exec(EVENTS).await;
    source.exec(&events_rows()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dw.toml");
    std::fs::write(
        &cfg,
        format!(
            "[inventory]\nurl = \"{inventory}\"\n\n[scan]\nmode = \"full\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n{POLICY}",
            source.url
        ),
    )
    .unwrap();
    Case { dir, source, cfg }
}

fn run(cfg: &Path, args: &[&str]) -> String {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--config", cfg.to_str().unwrap()]);
    let o = dw(&a);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Output with what must differ between two runs replaced: times, durations, run ids, hashes
/// (they cover the times), paths and URLs.
fn normalize(s: &str, case: &Case) -> String {
    let mut s = s.replace(&case.source.url, "<SOURCE>");
    s = s.replace(&case.dir.path().display().to_string(), "<DIR>");
    let rules = [
        (r"\d{8}T\d{6}\.\d+Z", "<RUNTIME>"),
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
            "<TIME>",
        ),
        (r"[0-9a-f]{64}", "<HASH>"),
        (r"\d+(\.\d+)? (s|ms)\b", "<DURATION>"),
        (r#""duration_ms": ?\d+"#, "\"duration_ms\":<N>"),
        (r"(sqlite|postgres)://[^\s\x22,<]+", "<URL>"),
    ];
    for (re, to) in rules {
        s = Regex::new(re).unwrap().replace_all(&s, to).into_owned();
    }
    s
}

/// Everything the commands print for one inventory, normalized.
fn outputs(case: &Case) -> Vec<(String, String)> {
    let cfg = &case.cfg;
    let mut out = Vec::new();
    for args in [
        &["scan"][..],
        &["enforce"],
        &["audit", "verify"],
        &["inventory", "list", "--all"],
        &["inventory", "export", "--format", "json"],
        &["inventory", "export", "--format", "csv"],
        &["audit", "export", "--format", "json"],
        &["audit", "export", "--format", "csv"],
        &["report", "--format", "json"],
    ] {
        out.push((args.join(" "), normalize(&run(cfg, args), case)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_enforce_verify_and_exports_are_the_same_on_postgres_as_on_sqlite() {
    let Some(pg) = TestDb::create(Kind::Postgres, "inventory_same").await else {
        return;
    };
    let lite_dir = tempfile::tempdir().unwrap();
    let lite = case(&format!(
        "sqlite://{}",
        lite_dir.path().join("inv.db").display()
    ))
    .await;
    let on_pg = case(&pg.url).await;
    let a = outputs(&lite);
    let b = outputs(&on_pg);
    for ((cmd, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(
            x, y,
            "`{cmd}` differs between the SQLite and the PostgreSQL inventory"
        );
    }
    // The comparison is not vacuous: the run deleted 30 rows in 5 batches and the chain holds them.
    let verify = &b[2].1;
    assert!(verify.contains("chain: 7 records"), "{verify}");
    let audit: serde_json::Value =
        serde_json::from_str(&run(&on_pg.cfg, &["audit", "export", "--format", "json"])).unwrap();
    let rows: i64 = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "batch")
        .map(|r| r["rows_affected"].as_i64().unwrap())
        .sum();
    assert_eq!(rows, 30);
    let inv: serde_json::Value = serde_json::from_str(&run(
        &on_pg.cfg,
        &["inventory", "export", "--format", "json"],
    ))
    .unwrap();
    assert!(
        inv.to_string().contains("id_number"),
        "the PostgreSQL inventory holds the scanned columns: {inv}"
    );
    pg.drop_db().await;
}

/// `inventory migrate` copies everything with the audit hashes unchanged, the copy verifies with
/// the same head, later runs append to the copied chain, and a second copy into the now
/// non-empty target is refused without writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_a_sqlite_inventory_into_postgres() {
    let Some(pg) = TestDb::create(Kind::Postgres, "inventory_migrate").await else {
        return;
    };
    let lite_dir = tempfile::tempdir().unwrap();
    let lite_url = format!("sqlite://{}", lite_dir.path().join("inv.db").display());
    let lite = case(&lite_url).await;
    run(&lite.cfg, &["scan"]);
    let o = dw(&[
        "inventory",
        "review",
        "--config",
        lite.cfg.to_str().unwrap(),
        "--reject",
        "--by",
        "dpo",
        "--note",
        "test numbers",
        "events.phone",
        "phone",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    run(&lite.cfg, &["enforce"]);
    let before_verify = run(&lite.cfg, &["audit", "verify"]);
    let before_audit = run(&lite.cfg, &["audit", "export", "--format", "json"]);
    let before_list = run(&lite.cfg, &["inventory", "list", "--all"]);

    // The same source, the PostgreSQL inventory.
    let pg_cfg = lite.dir.path().join("pg.toml");
    std::fs::write(
        &pg_cfg,
        std::fs::read_to_string(&lite.cfg)
            .unwrap()
            .replace(&lite_url, &pg.url),
    )
    .unwrap();
    let o = dw(&[
        "inventory",
        "migrate",
        "--config",
        pg_cfg.to_str().unwrap(),
        "--from",
        &lite_url,
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "scans                           1            1",
        "reviews                         1            1",
        "review_log                      1            1",
        "retention_audit                 7            7",
    ] {
        assert!(out.contains(line), "missing `{line}`: {out}");
    }
    assert!(
        out.contains("7 records, every hash recomputed and linked from genesis: intact")
            && out.contains("(the source's head)"),
        "{out}"
    );
    // Byte for byte the same trail, inventory and verification.
    assert_eq!(
        run(&pg_cfg, &["audit", "export", "--format", "json"]),
        before_audit
    );
    assert_eq!(run(&pg_cfg, &["audit", "verify"]), before_verify);
    assert_eq!(run(&pg_cfg, &["inventory", "list", "--all"]), before_list);

    // A copy into a target with data is refused and writes nothing.
    let o = dw(&[
        "inventory",
        "migrate",
        "--config",
        pg_cfg.to_str().unwrap(),
        "--from",
        &lite_url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already holds data"), "{}", text(&o));
    assert_eq!(
        run(&pg_cfg, &["audit", "export", "--format", "json"]),
        before_audit
    );

    // Later runs and scans go on in PostgreSQL, after the copied ids.
    lite.source
        .exec(&events_rows().replace("INSERT INTO", "INSERT OR IGNORE INTO"))
        .await;
    lite.source
        .exec("INSERT INTO events (id, at, phone) VALUES (100, '2001-01-01 00:00:00', NULL)")
        .await;
    run(&pg_cfg, &["enforce"]);
    run(&pg_cfg, &["scan"]);
    // 31 rows in 5 batches of 7: run_started, 5 batches, run_finished after the 7 copied.
    let v = run(&pg_cfg, &["audit", "verify"]);
    assert!(v.contains("chain: 14 records"), "{v}");
    // The rescan in PostgreSQL sees the 10 rows left and keeps the review copied from SQLite.
    let list = run(&pg_cfg, &["inventory", "list", "--all"]);
    let phone = list
        .lines()
        .find(|l| l.contains("main.events") && l.contains(" phone "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        phone.contains("10/10") && phone.contains("rejected by dpo"),
        "{phone}"
    );
    pg.drop_db().await;
}

/// Eight writers appending to one PostgreSQL audit chain at once: every append waits for the
/// chain lock, none forks the chain or fails, and the chain verifies with every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_keep_the_postgres_chain_sequential() {
    use datawarden::retention::audit::{self, AuditRecord, CheckpointChange, Verification};
    let Some(pg) = TestDb::create(Kind::Postgres, "inventory_chain").await else {
        return;
    };
    let store = datawarden::store::Store::open(&pg.url).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let mut r = AuditRecord {
                    run_id: format!("w{w}"),
                    kind: "batch".into(),
                    policy: format!("p{w}"),
                    batch: Some(i),
                    rows_affected: i,
                    outcome: "committed".into(),
                    ..Default::default()
                };
                audit::append(&store, &mut r, CheckpointChange::Keep)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    match audit::verify(&store).await.unwrap() {
        Verification::Intact { records, .. } => assert_eq!(records, 80),
        broken => panic!("{broken:?}"),
    }
    store.close().await;
    pg.drop_db().await;
}

/// Two daemons (nodes a and b) share a PostgreSQL inventory: when b starts and closes the runs
/// its previous process left `running`, a's live run is not touched.
#[tokio::test]
async fn start_up_closes_only_this_nodes_abandoned_runs() {
    use datawarden::daemon::history::Outcome;
    let Some(pg) = TestDb::create(Kind::Postgres, "inventory_nodes").await else {
        return;
    };
    let a = datawarden::store::Store::open(&pg.url)
        .await
        .unwrap()
        .with_node("a");
    let b = datawarden::store::Store::open(&pg.url)
        .await
        .unwrap()
        .with_node("b");
    let now = chrono::Utc::now();
    a.start_run("scan:crm", "scan", now, 1).await.unwrap();
    b.start_run("enforce:old", "enforce", now, 1).await.unwrap();
    assert_eq!(b.close_abandoned_runs().await.unwrap(), 1);
    let latest = a.latest_runs().await.unwrap();
    assert_eq!(
        latest["scan:crm"].last.as_ref().unwrap().outcome,
        Outcome::Running
    );
    assert_eq!(
        latest["enforce:old"].last.as_ref().unwrap().outcome,
        Outcome::Abandoned
    );
    a.close().await;
    b.close().await;
    pg.drop_db().await;
}
