//! The scan tests shared by scan_sqlite.rs, scan_postgres.rs and scan_mysql.rs: the same fixture
//! (tests/fixtures/<backend>.sql) scanned into a fresh inventory on every backend.

#![allow(dead_code)]

use datawarden::classify::{ColumnStatus, Layout};
use datawarden::config::Config;
use datawarden::detect::Engine;
use datawarden::inventory::export::{Format, Report};
use datawarden::inventory::{
    drift, CategoryStatus, ColumnFilter, ColumnPath, ColumnRecord, Decision, ScanStatus, Store,
};
use datawarden::scan::{scan_source, NoProgress, ScanSummary};
use datawarden::stop::Stop;

use crate::common::{Kind, TestDb};

/// A fresh inventory in a temp dir and a config whose source `crm` is the test database.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub engine: Engine,
    pub store: Store,
    /// The inventory (SQLite in `dir`, or PostgreSQL with `DATAWARDEN_TEST_INVENTORY=postgres`).
    pub inv: crate::common::Inventory,
}

/// A config text with the inventory at `inventory` (a URL), source `crm` at `url` (plus `extra`
/// source lines) and a delete policy on members.
pub fn config_text(inventory: &str, url: &str, extra: &str) -> String {
    format!(
        "[inventory]\nurl = \"{inventory}\"\n\n[[sources]]\nname = \"crm\"\nurl = \"{url}\"\n{extra}\n\n\
         [[policies]]\nname = \"closed-members\"\ndescription = \"Closed accounts are deleted after 90 days.\"\n\
         source = \"crm\"\ntable = \"members\"\ntimestamp_column = \"closed_at\"\nretain = \"90d\"\naction = \"delete\"\n"
    )
}

/// Extra rows for the fixture: orders whose free-text remarks embed phone numbers in some rows
/// (the fixture alone has one such remark on PostgreSQL and MySQL, below the two a free-text column needs).
pub const MORE_REMARKS: &str = "INSERT INTO orders (id, remarks, created_at) VALUES \
    (10, '客户要求周末看车，电话13700001234', '2025-01-02 00:00:00'), \
    (11, 'Call the buyer on 18912345678 before delivery', '2025-01-03 00:00:00'), \
    (12, 'Paid in full', '2025-01-04 00:00:00'), \
    (13, '已付定金', '2025-01-05 00:00:00');";

/// The fixture plus [`MORE_REMARKS`].
pub async fn fixture(kind: Kind, purpose: &str) -> Option<TestDb> {
    let db = TestDb::with_fixture(kind, purpose).await?;
    db.exec(MORE_REMARKS).await;
    Some(db)
}

pub async fn setup(db: &TestDb, extra: &str) -> Setup {
    // A MySQL URL names a database, but the server's other databases (other tests) are visible too.
    let extra = match db.kind {
        Kind::MySql => format!("include_schemas = [\"{}\"]\n{extra}", db.name),
        _ => extra.to_string(),
    };
    let extra = extra.as_str();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("datawarden.toml");
    let inv = crate::common::Inventory::named(dir.path(), "inventory.db");
    std::fs::write(&path, config_text(&inv.url, &db.url, extra)).unwrap();
    let config = Config::load(&path).unwrap();
    let engine = Engine::load(None).unwrap();
    let store = Store::open(&config.inventory.url).await.unwrap();
    Setup {
        dir,
        config,
        engine,
        store,
        inv,
    }
}

impl Setup {
    pub async fn scan(&self) -> ScanSummary {
        scan_source(
            &self.config,
            &self.engine,
            &self.store,
            &self.config.sources[0],
            &NoProgress,
            &Stop::new(),
        )
        .await
        .expect("scan")
    }

    pub async fn all(&self) -> Vec<ColumnRecord> {
        self.store
            .columns(&ColumnFilter {
                source: None,
                all: true,
            })
            .await
            .unwrap()
    }

    pub async fn render(&self, format: Format) -> String {
        let report = Report::load(&self.store, &self.config.policies, None)
            .await
            .unwrap();
        let mut out = Vec::new();
        report.write(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

pub fn find<'a>(cols: &'a [ColumnRecord], table: &str, column: &str) -> &'a ColumnRecord {
    cols.iter()
        .find(|c| c.key.table == table && c.key.column == column)
        .unwrap_or_else(|| panic!("{table}.{column} not in the inventory"))
}

fn held(c: &ColumnRecord) -> Vec<&str> {
    let mut v: Vec<&str> = c.held().map(|k| k.category.as_str()).collect();
    v.sort_unstable();
    v
}

/// Quotes an identifier for the backend's admin SQL in the tests.
pub fn q(kind: Kind, ident: &str) -> String {
    match kind {
        Kind::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

/// Personal columns found with the right categories; clean and unknown columns; counts.
pub async fn finds_personal_columns(kind: Kind) {
    let Some(db) = fixture(kind, "scan_find").await else {
        return;
    };
    let s = setup(&db, "").await;
    let summary = s.scan().await;
    assert_eq!(summary.status, ScanStatus::Ok, "{:?}", summary.failures);
    assert_eq!(summary.tables_failed, 0);
    assert!(summary.tables >= 10, "{summary:?}");
    let cols = s.all().await;
    assert_eq!(summary.columns, cols.len() as u64);

    let expect = [
        ("members", "phone", "phone"), // BIGINT phones
        ("members", "mobile", "phone"),
        ("members", "email", "email"),
        ("members", "id_number", "cn_resident_id"),
        ("vehicles", "vin", "vin"),
        ("vehicles", "plate", "cn_license_plate"),
        ("trips", "driver_phone", "phone"),
        ("用户表", "手机号", "phone"),
        ("User Accounts", "Mobile No", "phone"),
    ];
    for (table, column, category) in expect {
        let c = find(&cols, table, column);
        assert!(
            held(c).contains(&category),
            "{table}.{column}: {:?}",
            c.categories
        );
        let k = c
            .categories
            .iter()
            .find(|k| k.category == category)
            .unwrap();
        assert_eq!(k.status, CategoryStatus::Suggested);
        let e = k.evidence.as_ref().unwrap();
        assert_eq!(e.layout, Layout::WholeValue, "{table}.{column}");
        assert!(!e.detectors.is_empty());
        assert!(e.matched > 0 && e.share > 0.5, "{table}.{column}: {e:?}");
        for ex in &e.examples {
            assert!(
                ex.contains('*'),
                "{table}.{column}: example {ex} is not masked"
            );
        }
    }
    assert!(summary.personal_columns >= expect.len() as u64);
    let phone = find(&cols, "members", "phone");
    assert!(
        phone.sql_type.to_lowercase().contains("bigint"),
        "{}",
        phone.sql_type
    );

    // Free text that embeds a phone number in some rows.
    let remarks = find(&cols, "orders", "remarks");
    assert!(held(remarks).contains(&"phone"), "{:?}", remarks.categories);
    let k = remarks
        .categories
        .iter()
        .find(|k| k.category == "phone")
        .unwrap();
    assert_eq!(k.evidence.as_ref().unwrap().layout, Layout::FreeText);

    // NULL in every row: unknown, never clean.
    let fax = find(&cols, "members", "legacy_fax");
    assert_eq!(fax.scan_status, ColumnStatus::Unknown);
    assert_eq!(fax.non_null, 0);
    assert_eq!(
        find(&cols, "empty_table", "name").scan_status,
        ColumnStatus::Unknown
    );
    assert!(summary.unknown_columns >= 2);
    // Clean columns.
    for (table, column) in [
        ("members", "status"),
        ("orders", "price"),
        ("orders", "created_at"),
        ("members", "closed_at"),
    ] {
        let c = find(&cols, table, column);
        assert_eq!(
            c.scan_status,
            ColumnStatus::Clean,
            "{table}.{column}: {:?}",
            c.categories
        );
        assert!(held(c).is_empty());
    }
    let members = find(&cols, "members", "mobile");
    assert!(members.row_estimate.is_some());
    assert!(members.sample_method.is_some());
    assert!(members.last_scanned.is_some());
    // Raw values never reach the inventory.
    let json = s.render(Format::Json).await;
    for raw in [
        "13812345678",
        "11010519491231002X",
        "zhang.wei@example.com",
        "LSVAU218XN2183294",
    ] {
        assert!(!json.contains(raw), "raw value {raw} in the JSON export");
    }
    s.store.close().await;
    db.drop_db().await;
}

/// include_tables / exclude_tables limit what is scanned.
pub async fn include_and_exclude(kind: Kind) {
    let Some(db) = fixture(kind, "scan_scope").await else {
        return;
    };
    let s = setup(
        &db,
        "include_tables = [\"m*\", \"vehicles\", \"orders\"]\nexclude_tables = [\"orders\"]",
    )
    .await;
    let summary = s.scan().await;
    assert_eq!(summary.tables, 2, "{summary:?}");
    let cols = s.all().await;
    let mut tables: Vec<&str> = cols.iter().map(|c| c.key.table.as_str()).collect();
    tables.dedup();
    assert_eq!(tables, ["members", "vehicles"]);
    s.store.close().await;
    db.drop_db().await;
}

/// A person's decisions survive a rescan; rejected categories stay out of the exports.
pub async fn reviews_survive_rescan(kind: Kind) {
    let Some(db) = fixture(kind, "scan_review").await else {
        return;
    };
    let s = setup(&db, "").await;
    s.scan().await;
    let remarks = ColumnPath::parse("crm.orders.remarks").unwrap();
    s.store
        .review(
            &remarks,
            "phone",
            Decision::Reject,
            "alice",
            Some("test data"),
        )
        .await
        .unwrap();
    let mobile = ColumnPath::parse("members.mobile").unwrap();
    s.store
        .review(&mobile, "phone", Decision::Confirm, "bob", None)
        .await
        .unwrap();
    let second = s.scan().await;
    assert_eq!(second.status, ScanStatus::Ok);
    let cols = s.all().await;
    let r = find(&cols, "orders", "remarks")
        .categories
        .iter()
        .find(|k| k.category == "phone")
        .unwrap()
        .clone();
    assert_eq!(r.status, CategoryStatus::Rejected);
    assert_eq!(r.reviewed_by.as_deref(), Some("alice"));
    assert_eq!(
        r.evidence.as_ref().unwrap().scan_id,
        second.scan_id,
        "evidence refreshed by the rescan"
    );
    let m = find(&cols, "members", "mobile")
        .categories
        .iter()
        .find(|k| k.category == "phone")
        .unwrap()
        .clone();
    assert_eq!(m.status, CategoryStatus::Confirmed);
    let json: serde_json::Value = serde_json::from_str(&s.render(Format::Json).await).unwrap();
    let col = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == "orders" && c["column"] == "remarks")
        .unwrap();
    assert!(
        !col["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "phone"),
        "{col}"
    );
    s.store.close().await;
    db.drop_db().await;
}

/// Dropping a table and adding a column shows up as drift; the exports parse back.
pub async fn drift_and_exports(kind: Kind) {
    let Some(db) = fixture(kind, "scan_drift").await else {
        return;
    };
    let s = setup(&db, "").await;
    s.scan().await;
    let wechat = "wechat<b>";
    db.exec(&format!(
        "DROP TABLE empty_table; ALTER TABLE members ADD COLUMN {} VARCHAR(40); UPDATE members SET {} = mobile;",
        q(kind, wechat),
        q(kind, wechat)
    ))
    .await;
    s.scan().await;
    let d = drift(&s.store, "crm").await.unwrap().expect("two scans");
    assert_eq!(
        d.dropped_tables
            .iter()
            .map(|t| t.table.as_str())
            .collect::<Vec<_>>(),
        ["empty_table"]
    );
    assert_eq!(
        d.new_columns
            .iter()
            .map(|k| k.column.as_str())
            .collect::<Vec<_>>(),
        [wechat]
    );
    assert!(
        d.new_personal
            .iter()
            .any(|c| c.key.column == wechat && c.categories == ["phone"]),
        "{d:?}"
    );
    assert!(d.stopped_matching.is_empty(), "{d:?}");
    assert!(d.dropped_columns.is_empty(), "{d:?}");

    // JSON
    let json: serde_json::Value = serde_json::from_str(&s.render(Format::Json).await).unwrap();
    assert!(json["generated_at"].is_string());
    let columns = json["columns"].as_array().unwrap();
    let col = |t: &str, c: &str| {
        columns
            .iter()
            .find(|x| x["table"] == t && x["column"] == c)
            .unwrap_or_else(|| panic!("{t}.{c}"))
    };
    let mobile = col("members", "mobile");
    assert_eq!(mobile["source"], "crm");
    assert_eq!(mobile["categories"], serde_json::json!(["phone"]));
    assert_eq!(
        mobile["covered_by"],
        serde_json::json!([{"policy": "closed-members", "state": "not_run", "last_run": null}])
    );
    let ev = &mobile["evidence"][0];
    assert_eq!(ev["status"], "suggested");
    assert!(ev["matched"].as_u64().unwrap() >= 4);
    assert!(ev["detectors"][0]["id"].is_string() && ev["detectors"][0]["version"].is_u64());
    assert!(ev["share"].as_f64().unwrap() > 0.5);
    assert_eq!(col("vehicles", "vin")["covered_by"], serde_json::json!([]));
    assert_eq!(col("members", "legacy_fax")["scan_status"], "unknown");
    assert!(
        columns.iter().all(|x| x["table"] != "empty_table"),
        "dropped tables leave the export"
    );
    assert_eq!(
        json["drift"][0]["dropped_tables"][0]["table"],
        "empty_table"
    );

    // CSV
    let text = s.render(Format::Csv).await;
    let mut rd = csv::Reader::from_reader(text.strip_prefix('\u{feff}').expect("BOM").as_bytes());
    let headers = rd.headers().unwrap().clone();
    let idx = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| &r[idx("table")] == "用户表" && &r[idx("column")] == "手机号")
        .expect("Chinese names survive");
    assert_eq!(&row[idx("category")], "phone");
    assert_eq!(&row[idx("layout")], "whole_value");
    let remarks = rows
        .iter()
        .find(|r| &r[idx("column")] == "remarks" && &r[idx("category")] == "phone")
        .unwrap();
    assert_eq!(&remarks[idx("layout")], "free_text");
    assert!(rows.iter().all(|r| r.len() == headers.len()));

    // HTML
    let html = s.render(Format::Html).await;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("wechat&lt;b&gt;"), "identifier escaped");
    assert!(!html.contains("wechat<b>"));
    assert!(html.contains("用户表"));
    assert!(html.contains("new personal data"));
    assert!(html.contains("dropped table"));
    assert!(html.contains("members.mobile"));
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
    s.store.close().await;
    db.drop_db().await;
}

/// Unformatted phone numbers of many countries in a column named `phone` (as pagila's
/// `address.phone` holds them) make a phone column on "name + shape"; the same numbers in a
/// column not named as a phone do not.
pub async fn phone_named_column_of_phone_shapes(kind: Kind) {
    let Some(db) = TestDb::create(kind, "scan_phone_shape").await else {
        return;
    };
    db.exec("CREATE TABLE address (address_id INTEGER PRIMARY KEY, phone VARCHAR(20), reference VARCHAR(20))")
        .await;
    // 601 numbers of 9-12 digits, deterministic (a linear congruential sequence).
    let mut x: u64 = 20_061_789;
    let mut rows = Vec::new();
    for id in 1..=601u64 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let len = 9 + (x >> 60) as usize % 4;
        let digits = format!("{}{:012}", 1 + (x >> 40) % 9, (x >> 8) % 1_000_000_000_000);
        let number = &digits[..len];
        rows.push(format!("({id}, '{number}', '{number}')"));
    }
    for chunk in rows.chunks(200) {
        db.exec(&format!(
            "INSERT INTO address (address_id, phone, reference) VALUES {}",
            chunk.join(", ")
        ))
        .await;
    }
    let s = setup(&db, "").await;
    let summary = s.scan().await;
    assert_eq!(summary.status, ScanStatus::Ok, "{:?}", summary.failures);
    let cols = s.all().await;
    let phone = find(&cols, "address", "phone");
    assert!(held(phone).contains(&"phone"), "{:?}", phone.categories);
    let note = phone.scan_note.as_deref().unwrap_or_default();
    assert!(note.contains("name + shape: 601 of 601"), "{note}");
    let reference = find(&cols, "address", "reference");
    assert!(
        !held(reference).contains(&"phone"),
        "{:?}",
        reference.categories
    );
    db.drop_db().await;
}
