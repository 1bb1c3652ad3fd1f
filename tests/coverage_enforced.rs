//! What the inventory says is true: coverage means enforced (a policy refused at every run is
//! "failing", never coverage; one whose last run completed is "enforced"), and values datawarden
//! wrote do not dilute detection (a partly masked phone column stays a phone column, and drift
//! says "partly transformed"). Drives the real binary against PostgreSQL, MariaDB and SQLite.
//! Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{Duration, Utc};
use datawarden::config::Config;
use datawarden::sources::{Access, Bind, Source};

mod common;
use common::{dw, text};

struct Db {
    kind: common::Kind,
    url: String,
    test: common::TestDb,
    dir: tempfile::TempDir,
    inv: common::Inventory,
}

async fn make_db(kind: common::Kind, purpose: &str) -> Option<Db> {
    let test = common::TestDb::create(kind, purpose).await?;
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
            common::Kind::Postgres => "timestamptz",
            common::Kind::MySql => "DATETIME",
            common::Kind::Sqlite => "TEXT",
        }
    }

    /// Writes an encryption key (via the binary) and a config that scans every row, with
    /// `policies`; returns its path.
    fn config(&self, policies: &str) -> PathBuf {
        let key = self.path("enc.key");
        if !key.exists() {
            let o = dw(&["keys", "generate", "--output", key.to_str().unwrap()]);
            assert!(o.status.success(), "{}", text(&o));
        }
        let body = format!(
            "[inventory]\nurl = \"{}\"\n\n[scan]\nmode = \"full\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n\
             [keys]\nencryption = \"file:{}\"\n\n{policies}",
            self.inv.url,
            self.url,
            key.display()
        );
        let p = self.path("dw.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    async fn source(&self) -> Source {
        let cfg = self.config("");
        let c = Config::load(&cfg).unwrap();
        Source::connect(c.source("db").unwrap(), &c.scan, Access::ReadWrite)
            .await
            .unwrap()
    }
}

fn run(cfg: &Path, args: &[&str]) -> Output {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--config", cfg.to_str().unwrap()]);
    dw(&a)
}

fn ok(cfg: &Path, args: &[&str]) -> String {
    let o = run(cfg, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn policy(name: &str, table: &str, action: &str, extra: &str) -> String {
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"{action} after 1 year\"\nsource = \"db\"\n\
         table = \"{table}\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\naction = \"{action}\"\n{extra}\n"
    )
}

/// `table` (id, created_at, status, phone VARCHAR(`width`)): `n` rows, all 400 days old, distinct
/// Chinese mobile numbers; the first `closed` rows have status 'closed', the rest 'open'.
async fn phones(src: &Source, db: &Db, table: &str, n: i64, closed: i64, width: u32) {
    let d = src.dialect();
    let t = d.quote_ident(table);
    src.execute(
        &format!(
            "CREATE TABLE {t} (id BIGINT PRIMARY KEY, created_at {} NOT NULL, status VARCHAR(10) NOT NULL, \
             phone VARCHAR({width}) NULL)",
            db.ts_type()
        ),
        &[],
    )
    .await
    .unwrap();
    let sql = format!(
        "INSERT INTO {t} (id, created_at, status, phone) VALUES ({}, {}, {}, {})",
        d.placeholder(1),
        d.placeholder(2),
        d.placeholder(3),
        d.placeholder(4)
    );
    let old = Utc::now() - Duration::days(400);
    for i in 1..=n {
        let status = if i <= closed { "closed" } else { "open" };
        src.execute(
            &sql,
            &[
                Bind::Int(i),
                Bind::Timestamp(old),
                Bind::Text(status.into()),
                Bind::Text(format!("1391234{:04}", i * 37)),
            ],
        )
        .await
        .unwrap();
    }
}

fn json_export(cfg: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(cfg, &["inventory", "export", "--format", "json"])).unwrap()
}

fn column<'a>(doc: &'a serde_json::Value, table: &str, col: &str) -> &'a serde_json::Value {
    doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == table && c["column"] == col)
        .unwrap_or_else(|| panic!("{table}.{col} not exported: {doc}"))
}

/// CSV rows of the export as header -> value maps.
fn csv_rows(cfg: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let out = ok(cfg, &["inventory", "export", "--format", "csv"]);
    let mut rd = csv::Reader::from_reader(out.trim_start_matches('\u{feff}').as_bytes());
    let headers = rd.headers().unwrap().clone();
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The number on the HTML report's "not covered" card.
fn not_covered_card(cfg: &Path) -> (usize, String) {
    let html = ok(cfg, &["inventory", "export", "--format", "html"]);
    let label = "</b><span>not covered by an enforced retention policy";
    let end = html.find(label).expect("not-covered card");
    let start = html[..end].rfind("<b>").unwrap() + 3;
    (html[start..end].parse().unwrap(), html)
}

async fn audit_outcomes(db: &Db, policy: &str) -> Vec<(String, String)> {
    db.inv
        .pairs(
            "SELECT kind, outcome FROM retention_audit WHERE policy = $1 ORDER BY seq",
            &[policy],
        )
        .await
}

/// The case: encrypt on a varchar(11) phone column is refused by the preflight at every
/// run. Each refusal leaves a `refused` audit record; the column is "failing", not covered, in
/// JSON, CSV and the HTML count. A mask policy that completes makes it "enforced".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_refused_at_every_run_is_failing_not_coverage() {
    for kind in [common::Kind::Postgres, common::Kind::MySql] {
        let Some(db) = make_db(kind, "cov_refused").await else {
            continue;
        };
        let src = db.source().await;
        phones(&src, &db, "members", 30, 30, 11).await;
        src.close().await;
        let enc = policy("enc-phone", "members", "encrypt", "columns = [\"phone\"]\n");
        let cfg = db.config(&enc);
        ok(&cfg, &["scan"]);

        let doc = json_export(&cfg);
        assert_eq!(
            column(&doc, "members", "phone")["covered_by"],
            serde_json::json!([{"policy": "enc-phone", "state": "not_run", "last_run": null}]),
            "{kind:?}"
        );

        for _ in 0..2 {
            let o = run(&cfg, &["enforce"]);
            assert_eq!(o.status.code(), Some(3), "{kind:?}: refused: {}", text(&o));
            assert!(text(&o).contains("widen"), "{kind:?}: {}", text(&o));
        }
        assert_eq!(
            audit_outcomes(&db, "enc-phone").await,
            vec![
                ("run_finished".to_string(), "refused".to_string()),
                ("run_finished".to_string(), "refused".to_string())
            ],
            "{kind:?}: every refused run leaves a record"
        );
        let v = ok(&cfg, &["audit", "verify"]);
        assert!(v.to_lowercase().contains("intact"), "{kind:?}: {v}");

        // JSON: failing, with the time of the last run.
        let doc = json_export(&cfg);
        let cov = &column(&doc, "members", "phone")["covered_by"];
        assert_eq!(cov[0]["policy"], "enc-phone", "{kind:?}");
        assert_eq!(cov[0]["state"], "failing", "{kind:?}");
        assert!(cov[0]["last_run"].is_string(), "{kind:?}: {cov}");
        // CSV: NAME:STATE.
        let rows = csv_rows(&cfg);
        let phone = rows
            .iter()
            .find(|r| r["column"] == "phone" && r["category"] == "phone")
            .expect("phone row");
        assert_eq!(phone["covered_by"], "enc-phone:failing", "{kind:?}");
        assert!(!phone["covered_by_last_run"].is_empty(), "{kind:?}");
        // HTML: the column counts as not covered.
        let (n, html) = not_covered_card(&cfg);
        assert_eq!(n, 1, "{kind:?}: {html}");
        assert!(html.contains("cov-failing"), "{kind:?}");
        // inventory list shows it.
        let list = ok(&cfg, &["inventory", "list"]);
        assert!(
            list.lines()
                .any(|l| l.contains("phone") && l.contains("enc-phone:failing")),
            "{kind:?}: {list}"
        );

        // A policy that completes is enforced coverage.
        let mask = policy("mask-phone", "members", "mask", "columns = [\"phone\"]\n");
        let cfg = db.config(&format!("{enc}\n{mask}"));
        let o = run(&cfg, &["enforce", "--policy", "mask-phone"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let doc = json_export(&cfg);
        let cov = &column(&doc, "members", "phone")["covered_by"];
        assert_eq!(cov[0]["state"], "failing", "{kind:?}: {cov}");
        assert_eq!(cov[1]["policy"], "mask-phone", "{kind:?}");
        assert_eq!(cov[1]["state"], "enforced", "{kind:?}: {cov}");
        let rows = csv_rows(&cfg);
        let phone = rows
            .iter()
            .find(|r| r["column"] == "phone" && r["category"] == "phone")
            .unwrap();
        assert_eq!(
            phone["covered_by"], "enc-phone:failing;mask-phone:enforced",
            "{kind:?}"
        );
        assert_eq!(not_covered_card(&cfg).0, 0, "{kind:?}");

        db.test.drop_db().await;
    }
}

/// A dry run records nothing: the policy stays "not_run".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_is_not_a_run() {
    let Some(db) = make_db(common::Kind::Sqlite, "cov_dry").await else {
        return;
    };
    let src = db.source().await;
    phones(&src, &db, "orders", 10, 10, 20).await;
    src.close().await;
    let cfg = db.config(&policy(
        "mask-orders",
        "orders",
        "mask",
        "columns = [\"phone\"]\n",
    ));
    ok(&cfg, &["scan"]);
    ok(&cfg, &["enforce", "--dry-run"]);
    let doc = json_export(&cfg);
    assert_eq!(
        column(&doc, "orders", "phone")["covered_by"][0]["state"],
        "not_run"
    );
    db.test.drop_db().await;
}

/// The case: 49 of 65 orders masked (the filter selects them), rescan: the column stays a
/// phone column (16 raw phones remain), the evidence counts `transformed: 49` apart, and drift
/// says "partly transformed", never "stopped matching".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_masked_column_stays_flagged_and_drifts_as_partly_transformed() {
    let Some(db) = make_db(common::Kind::Sqlite, "cov_partial").await else {
        return;
    };
    let src = db.source().await;
    phones(&src, &db, "orders", 65, 49, 20).await;
    let cfg = db.config(&policy(
        "mask-orders",
        "orders",
        "mask",
        "columns = [\"phone\"]\nfilter = \"status = 'closed'\"\n",
    ));
    ok(&cfg, &["scan"]);
    let o = run(&cfg, &["enforce"]);
    assert!(o.status.success(), "{}", text(&o));
    let masked: Vec<Vec<Option<String>>> = src
        .fetch_rows("SELECT phone FROM orders WHERE phone LIKE '%*%'", &[])
        .await
        .unwrap();
    assert_eq!(masked.len(), 49);
    src.close().await;
    ok(&cfg, &["scan"]);

    let doc = json_export(&cfg);
    let phone = column(&doc, "orders", "phone");
    assert_eq!(phone["categories"], serde_json::json!(["phone"]), "{phone}");
    assert_eq!(phone["transformed"], 49, "{phone}");
    assert_eq!(phone["non_null"], 65, "{phone}");
    let ev = &phone["evidence"][0];
    assert_eq!(ev["category"], "phone");
    assert_eq!(ev["status"], "suggested", "{ev}");
    assert_eq!(ev["matched"], 16, "{ev}");
    assert_eq!(ev["transformed"], 49, "{ev}");
    assert_eq!(ev["share"], 1.0, "{ev}");
    assert_eq!(phone["covered_by"][0]["state"], "enforced", "{phone}");

    let rows = csv_rows(&cfg);
    let row = rows
        .iter()
        .find(|r| r["column"] == "phone" && r["category"] == "phone")
        .unwrap();
    assert_eq!(row["status"], "suggested");
    assert_eq!(row["transformed"], "49");

    let diff = ok(&cfg, &["inventory", "diff"]);
    assert!(diff.contains("partly transformed"), "{diff}");
    assert!(!diff.contains("stopped matching"), "{diff}");
    let html = ok(&cfg, &["inventory", "export", "--format", "html"]);
    assert!(html.contains("partly transformed"));
    assert!(!html.contains("stopped matching"));
    let list = ok(&cfg, &["inventory", "list"]);
    assert!(
        list.lines().any(|l| l.contains("phone")
            && l.contains("+49 transformed")
            && l.contains("mask-orders:enforced")),
        "{list}"
    );
    db.test.drop_db().await;
}
