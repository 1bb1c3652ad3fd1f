//! The audit trail proves it is complete, and `datawarden report` shows per promise whether it is
//! kept, through the real binary: batch records carry their key range, the filter and legal holds
//! in force and the held rows; every run publishes its chain head (anchor file); `audit verify
//! --expect-head` / `--anchor-file` detect a cut tail and an emptied inventory; the report on the
//! demo counts live violations before and after `enforce`. Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail
//! when a server is down.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use datawarden::config::Config;
use datawarden::sources::{Access, Bind, Source};

mod common;
use common::OutputWithin;
use common::{dw, text};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Pg,
    My,
    Lite,
}

struct Db {
    kind: Kind,
    url: String,
    test: common::TestDb,
    dir: tempfile::TempDir,
    inv: common::Inventory,
}

async fn make_db(kind: Kind, purpose: &str) -> Option<Db> {
    let ck = match kind {
        Kind::Pg => common::Kind::Postgres,
        Kind::My => common::Kind::MySql,
        Kind::Lite => common::Kind::Sqlite,
    };
    let test = common::TestDb::create(ck, purpose).await?;
    Some(Db {
        kind,
        url: test.url.clone(),
        test,
        dir: tempfile::tempdir().unwrap(),
        inv: common::Inventory::temp(),
    })
}

impl Db {
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn ts_type(&self) -> &'static str {
        match self.kind {
            Kind::Pg => "timestamptz",
            Kind::My => "DATETIME",
            Kind::Lite => "TEXT",
        }
    }

    /// Writes a pseudonym key (via the binary) and a config with `rest` (policies, `[audit]`).
    fn config(&self, rest: &str) -> PathBuf {
        let key = self.path("ps.key");
        if !key.exists() {
            let o = dw(&["keys", "generate", "--output", key.to_str().unwrap()]);
            assert!(o.status.success(), "{}", text(&o));
        }
        let body = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n\
             [keys]\npseudonym = \"file:{}\"\n\n{rest}",
            self.inv.url,
            self.url,
            key.display()
        );
        let p = self.path("dw.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    async fn source(&self) -> Source {
        let c = Config::load(&self.config("")).unwrap();
        Source::connect(c.source("db").unwrap(), &c.scan, Access::ReadWrite)
            .await
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn enforce(cfg: &Path) -> Output {
    dw(&["enforce", "--config", cfg.to_str().unwrap()])
}

fn verify(cfg: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["audit", "verify", "--config", cfg.to_str().unwrap()];
    a.extend_from_slice(extra);
    dw(&a)
}

fn audit_records(cfg: &Path) -> Vec<serde_json::Value> {
    let o = dw(&[
        "audit",
        "export",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Table `t`: ids `i * step` for i in 1..=25; i <= 20 are 400 days old, the rest 10 days; every
/// 5th row has status 'open'; row i = 7 has note 'hold'.
async fn users(src: &Source, db: &Db, t: &str, step: i64) {
    let d = src.dialect();
    let q = d.quote_ident(t);
    src.execute(
        &format!(
            "CREATE TABLE {q} (id BIGINT PRIMARY KEY, created_at {} NULL, status VARCHAR(20) NOT NULL, \
             mobile VARCHAR(200) NULL, email VARCHAR(200) NULL, note VARCHAR(50) NULL)",
            db.ts_type()
        ),
        &[],
    )
    .await
    .unwrap();
    let now = Utc::now();
    let ph: Vec<String> = (1..=6).map(|i| d.placeholder(i)).collect();
    let sql = format!(
        "INSERT INTO {q} (id, created_at, status, mobile, email, note) VALUES ({})",
        ph.join(", ")
    );
    for i in 1..=25i64 {
        let ts = now - Duration::days(if i <= 20 { 400 } else { 10 });
        src.execute(
            &sql,
            &[
                Bind::Int(i * step),
                Bind::Timestamp(ts),
                Bind::Text(if i % 5 == 0 { "open" } else { "closed" }.into()),
                Bind::Text(format!("1381234{i:04}")),
                Bind::Text(format!("user{i}@example.com")),
                if i == 7 {
                    Bind::Text("hold".into())
                } else {
                    Bind::Null
                },
            ],
        )
        .await
        .unwrap();
    }
}

fn policy(name: &str, table: &str, action: &str, extra: &str) -> String {
    let extra = match action {
        "delete" => format!("max_share = 1.0\n{extra}"),
        _ => format!("columns = [\"mobile\", \"email\"]\n{extra}"),
    };
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"Closed accounts: {action} after 1 year\"\n\
         source = \"db\"\ntable = \"{table}\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\n\
         action = \"{action}\"\nfilter = \"status = 'closed'\"\nlegal_hold = \"note = 'hold'\"\n\
         batch_size = 3\n{extra}\n"
    )
}

fn key(v: &serde_json::Value) -> i64 {
    let a = v.as_array().unwrap_or_else(|| panic!("key {v}"));
    assert_eq!(a.len(), 1, "{v}");
    a[0].as_str().unwrap().parse().unwrap()
}

/// The batch records' key ranges are in order, each starts at a row the run acted on, holds as
/// many acted-on rows as the record says, and together they account for every row acted on.
fn check_ranges(what: &str, recs: &[serde_json::Value], acted: &BTreeSet<i64>) {
    let batches: Vec<&serde_json::Value> = recs.iter().filter(|r| r["kind"] == "batch").collect();
    assert!(batches.len() >= 2, "{what}: {batches:?}");
    let mut covered = BTreeSet::new();
    let mut prev_last = i64::MIN;
    for b in &batches {
        let (first, last) = (key(&b["key_first"]), key(&b["key_last"]));
        assert!(
            acted.contains(&first),
            "{what}: first key {first} is not a row the run acted on: {b}"
        );
        assert!(
            prev_last < first && first <= last,
            "{what}: ranges out of order: {b}"
        );
        let inside: BTreeSet<i64> = acted.range(first..=last).copied().collect();
        assert_eq!(
            inside.len() as i64,
            b["rows_affected"].as_i64().unwrap(),
            "{what}: rows of the range vs rows affected: {b}"
        );
        covered.extend(inside);
        prev_last = last;
    }
    assert_eq!(
        &covered, acted,
        "{what}: the batch ranges account for every row acted on"
    );
}

/// A batch whose source commit happened just before the process died gets its record on resume
/// (`recovered`), with its key range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_batch_keeps_its_key_range() {
    let Some(db) = make_db(Kind::Lite, "audit_recovered").await else {
        return;
    };
    let src = db.source().await;
    users(&src, &db, "u", 1).await;
    src.close().await;
    let cfg = db.config(&policy("p", "u", "delete", ""));
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["enforce", "--config", cfg.to_str().unwrap()])
        .env("DATAWARDEN_FAILPOINT", "after-commit:2")
        .output_within();
    assert!(!o.status.success(), "the failpoint aborts: {}", text(&o));
    let o = enforce(&cfg);
    assert!(o.status.success(), "{}", text(&o));
    let recs = audit_records(&cfg);
    let recovered: Vec<_> = recs
        .iter()
        .filter(|r| r["outcome"] == "recovered")
        .collect();
    assert_eq!(recovered.len(), 1, "{recs:?}");
    let acted: BTreeSet<i64> = (1..=20i64).filter(|i| i % 5 != 0 && *i != 7).collect();
    check_ranges("recovered", &recs, &acted);
    db.test.drop_db().await;
}

/// Every way a batch finds its range: PostgreSQL by dense key range (ids 1..25), one statement
/// per batch (sparse ids), MySQL and SQLite by batch end, transforms by selected keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_records_carry_their_key_range_the_filter_and_the_held_rows() {
    let cases: &[(Kind, &[(i64, &str)])] = &[
        (Kind::Pg, &[(1, "delete"), (10, "delete"), (10, "nullify")]),
        (Kind::My, &[(1, "delete"), (10, "pseudonymize")]),
        (Kind::Lite, &[(1, "delete"), (10, "nullify")]),
    ];
    for (kind, runs) in cases {
        let Some(db) = make_db(*kind, "audit_keys").await else {
            continue;
        };
        let src = db.source().await;
        for (step, action) in *runs {
            let (step, action) = (*step, *action);
            let table = format!("u_{action}_{step}");
            users(&src, &db, &table, step).await;
            let name = format!("p_{action}_{step}");
            let cfg = db.config(&policy(&name, &table, action, ""));
            // Old, closed, not held: i in 1..=20, i % 5 != 0, i != 7.
            let acted: BTreeSet<i64> = (1..=20i64)
                .filter(|i| i % 5 != 0 && *i != 7)
                .map(|i| i * step)
                .collect();
            // The report's live check counts them with the run's predicate, read-only.
            let live = |cfg: &Path| {
                let r: serde_json::Value = serde_json::from_str(&report(cfg, "json")).unwrap();
                let p = r["promises"][0].clone();
                let pol = p["policies"][0].clone();
                (pol["live"].clone(), p["kept"].clone())
            };
            let (before, kept) = live(&cfg);
            assert_eq!(
                before["violations"],
                acted.len(),
                "{kind:?} {name}: {before}"
            );
            assert_eq!(before["held"], 1, "{kind:?} {name}: {before}");
            assert_eq!(kept, false);
            let o = enforce(&cfg);
            assert!(o.status.success(), "{kind:?} {name}: {}", text(&o));
            let (after, kept) = live(&cfg);
            assert_eq!(after["violations"], 0, "{kind:?} {name}: {after}");
            assert_eq!(after["held"], 1, "{kind:?} {name}: {after}");
            assert_eq!(kept, true, "{kind:?} {name}");
            let recs: Vec<serde_json::Value> = audit_records(&cfg)
                .into_iter()
                .filter(|r| r["policy"] == name.as_str())
                .collect();
            let start = recs.iter().find(|r| r["kind"] == "run_started").unwrap();
            assert_eq!(start["held"], 1, "{kind:?} {name}: {start}");
            for r in &recs {
                assert_eq!(r["filter"], "status = 'closed'", "{kind:?} {name}: {r}");
                assert_eq!(r["legal_hold"], "note = 'hold'", "{kind:?} {name}: {r}");
            }
            check_ranges(&format!("{kind:?} {name}"), &recs, &acted);
        }
        src.close().await;
        db.test.drop_db().await;
    }
}

fn head_of(cfg: &Path) -> String {
    let recs = audit_records(cfg);
    let last = recs.last().unwrap();
    format!("{}:{}", last["seq"], last["hash"].as_str().unwrap())
}

/// The chain alone cannot see a cut tail or an emptied inventory; the published heads can.
#[test]
fn verify_with_published_heads_detects_a_cut_tail_and_an_emptied_inventory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(make_db(Kind::Lite, "audit_heads")) else {
        return;
    };
    let src = rt.block_on(db.source());
    rt.block_on(users(&src, &db, "u", 1));
    rt.block_on(src.close());
    let anchors = db.path("anchors.log");
    // The same policy without an anchor file, in its own config file.
    let plain = db.path("plain.toml");
    std::fs::copy(db.config(&policy("p", "u", "delete", "")), &plain).unwrap();
    let cfg = db.config(&format!(
        "{}\n[audit]\nanchor_file = \"{}\"\n",
        policy("p", "u", "delete", ""),
        anchors.display()
    ));
    let cfg_s = cfg.to_str().unwrap().to_string();
    let o = enforce(&cfg);
    assert!(o.status.success(), "{}", text(&o));
    let h1 = head_of(&cfg);
    assert!(
        text(&o).contains(&format!("audit chain head {h1}")),
        "the run's log line publishes the head: {}",
        text(&o)
    );
    let lines = std::fs::read_to_string(&anchors).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("\tp\tp-"), "policy and run id: {lines}");
    assert!(lines.trim_end().ends_with(&h1), "{lines}");

    // A second run: the store grows after the first head, which stays valid.
    let o = enforce(&cfg);
    assert!(o.status.success(), "{}", text(&o));
    let h2 = head_of(&cfg);
    assert_ne!(h1, h2);
    let o = verify(&cfg, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("2 heads checked"), "{out}");
    assert!(
        out.contains(&format!("head {h1} from")) && out.contains("present (2 records after it)"),
        "{out}"
    );
    assert!(out.contains("intact and complete"), "{out}");
    let o = verify(&cfg, &["--expect-head", &h1]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !stdout(&o).contains("anchors.log"),
        "an explicit head replaces the configured anchor file: {}",
        stdout(&o)
    );

    // Cut the last record: the chain still verifies, the published heads do not.
    rt.block_on(db.inv.exec(
        "DELETE FROM retention_audit WHERE seq = (SELECT MAX(seq) FROM retention_audit)",
        &[],
    ));
    let o = verify(&plain, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("not checked: whether records were cut off its end"),
        "without heads verify says what it did not check: {}",
        stdout(&o)
    );
    let o = verify(&plain, &["--expect-head", &h2]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("MISSING"), "{}", stdout(&o));
    let o = verify(&plain, &["--anchor-file", anchors.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains(&format!("head {h2}")), "{}", stdout(&o));
    let o = verify(&plain, &["--expect-head", &h1]);
    assert!(o.status.success(), "the cut was after h1: {}", text(&o));

    // Empty the inventory (SQLite: 0 bytes; PostgreSQL: every table dropped): the store opens
    // as a new, empty trail.
    if db.inv.is_postgres() {
        rt.block_on(db.inv.wipe());
    } else {
        let inv = PathBuf::from(db.inv.url.trim_start_matches("sqlite://"));
        std::fs::write(&inv, b"").unwrap();
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", inv.display()));
        }
    }
    let o = verify(&plain, &["--expect-head", &h1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("the trail is empty"), "{}", stdout(&o));
    let o = dw(&["audit", "verify", "--config", &cfg_s]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // Recreated: a new trail with its own records does not hold the published heads.
    let o = enforce(&plain);
    assert!(o.status.success(), "{}", text(&o));
    let o = verify(&plain, &["--anchor-file", anchors.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("INCOMPLETE"), "{}", stdout(&o));

    // A malformed head is a usage error that says what to write.
    let o = verify(&plain, &["--expect-head", "12"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("SEQ:HASH"), "{}", text(&o));
    rt.block_on(db.test.drop_db());
}

fn report(cfg: &Path, format: &str) -> String {
    let o = dw(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    stdout(&o)
}

/// The demo's promises, with live violation counts: > 0 and not kept before `enforce`, 0 and
/// kept after.
#[test]
fn report_on_the_demo_shows_every_promise_violated_before_and_kept_after_enforce() {
    let dir = tempfile::tempdir().unwrap();
    let o = dw(&["demo", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let cfg = dir.path().join("datawarden-demo.toml");
    let config = Config::load(&cfg).unwrap();
    let promises: Vec<&str> = config
        .policies
        .iter()
        .map(|p| p.description.as_str())
        .collect();
    assert!(promises.len() >= 2);

    let before: serde_json::Value = serde_json::from_str(&report(&cfg, "json")).unwrap();
    let list = before["promises"].as_array().unwrap();
    assert_eq!(list.len(), promises.len());
    for (p, d) in list.iter().zip(&promises) {
        assert_eq!(p["promise"], *d);
        assert!(p["violations"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["kept"], false, "{p}");
        assert!(p["verdict"].as_str().unwrap().contains("never run"), "{p}");
        for pol in p["policies"].as_array().unwrap() {
            assert!(pol["live"]["counted_at"].is_string(), "{pol}");
            assert!(pol["coverage"]["in_inventory"] == true, "{pol}");
        }
    }
    let html = report(&cfg, "html");
    for d in &promises {
        assert!(
            html.contains(&*html_escape::encode_text(d)),
            "promise missing: {d}"
        );
    }
    assert!(html.contains("NOT KEPT") && !html.contains(">KEPT<"));
    for external in [
        "<script", "<link", "src=", "url(", "@import", "http://", "https://",
    ] {
        assert!(!html.contains(external), "external resource {external}");
    }

    let o = enforce(&cfg);
    assert!(
        o.status.success(),
        "the demo's policies run without a brake: {}",
        text(&o)
    );

    let after: serde_json::Value = serde_json::from_str(&report(&cfg, "json")).unwrap();
    assert_eq!(after["audit"]["intact"], true);
    let head = after["audit"]["head"].as_str().unwrap().to_string();
    for p in after["promises"].as_array().unwrap() {
        assert_eq!(p["violations"], 0, "{p}");
        assert_eq!(p["kept"], true, "{p}");
        for pol in p["policies"].as_array().unwrap() {
            let run = &pol["last_run"];
            assert_eq!(run["outcome"], "completed", "{pol}");
            let rows: i64 = run["rows_by_action"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_i64().unwrap())
                .sum();
            assert!(rows > 0, "{pol}");
        }
    }
    // The rows the first report counted are the rows the run acted on.
    for (b, a) in list.iter().zip(after["promises"].as_array().unwrap()) {
        let acted: i64 = a["rows_by_action"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        assert_eq!(b["violations"].as_i64().unwrap(), acted, "{a}");
    }
    let csv = report(&cfg, "csv");
    assert_eq!(csv.lines().count(), 1 + config.policies.len(), "{csv}");
    assert!(csv.contains(&head), "{csv}");
    let out = dir.path().join("report.html");
    let o = dw(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains(">KEPT<") && !html.contains("NOT KEPT"));
    assert!(html.contains(&head));
    // The demo anchors its heads; verify checks them.
    let o = verify(&cfg, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("heads checked"), "{}", stdout(&o));
}
