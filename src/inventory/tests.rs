//! Store tests against real SQLite files in temporary directories.

use super::model::{CategoryStatus, ColumnPath, Decision, ScanCounts, ScanStatus};
use crate::classify::{ColumnReport, ColumnStatus, DetectorVersion, Finding, Layout};
use crate::detect::Sensitivity;
use crate::retention::audit::AuditRecord;
use crate::sources::{ColumnInfo, TableRef};
use crate::store::{ColumnFilter, Store};

async fn temp_store() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sub/inventory.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    (dir, store, url)
}

fn finding(category: &str, matched: u64, non_null: u64, personal: bool) -> Finding {
    Finding {
        category: category.into(),
        detectors: vec![DetectorVersion {
            id: format!("{category}_detector"),
            version: 1,
        }],
        matched,
        share: matched as f64 / non_null as f64,
        layout: Layout::WholeValue,
        name_hint: None,
        confidence: 0.9,
        sensitivity: Sensitivity::Moderate,
        examples: vec!["138****5678".into()],
        personal,
        rule: None,
    }
}

fn report(findings: Vec<Finding>) -> ColumnReport {
    ColumnReport {
        sampled: 100,
        non_null: 90,
        transformed: 0,
        status: if findings.iter().any(|f| f.personal) {
            ColumnStatus::Personal
        } else {
            ColumnStatus::Clean
        },
        findings,
        note: None,
    }
}

fn column(name: &str) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        sql_type: "text".into(),
        nullable: true,
        max_length: None,
    }
}

fn members() -> TableRef {
    TableRef {
        schema: "main".into(),
        name: "members".into(),
    }
}

async fn scan(store: &Store, columns: &[(ColumnInfo, ColumnReport)]) -> i64 {
    let id = store.begin_scan("crm", &[]).await.unwrap();
    store
        .record_table(id, "crm", &members(), Some(10), "first_rows", columns)
        .await
        .unwrap();
    store
        .finish_scan(id, ScanStatus::Ok, &ScanCounts::default(), None)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let (_dir, store, url) = temp_store().await;
    let applied = |store: Store| async move {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(store.sqlite_pool_for_tests())
            .await
            .unwrap();
        store.close().await;
        n
    };
    let all = crate::store::sqlite::migrator().iter().count() as i64;
    assert_eq!(applied(store).await, all);
    // Reopening applies nothing twice.
    let store = Store::open(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.sqlite_pool_for_tests())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.sqlite_pool_for_tests())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    assert_eq!(applied(store).await, all);
}

/// A file made by the hand-rolled migrations of earlier versions (here: inventory v1, retention
/// v1-v2, no job history yet), with a scan, a review, an audit record and a checkpoint, opens
/// with everything kept and the schema brought up to date.
#[tokio::test]
async fn an_inventory_of_the_old_schema_is_upgraded_without_losing_data() {
    use crate::store::sqlite::legacy;
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    let old = [
        legacy::SCHEMA_VERSION,
        legacy::INVENTORY_V1,
        legacy::RETENTION_V1,
        legacy::RETENTION_V2,
        "INSERT INTO schema_version VALUES ('inventory', 1, '2026-01-01T00:00:00Z'),
           ('retention', 1, '2026-01-01T00:00:00Z'), ('retention', 2, '2026-01-01T00:00:00Z');
         INSERT INTO scans (id, source, started_at, finished_at, duration_ms, status, tables_total,
           tables_scanned, columns_scanned, personal_columns)
           VALUES (1, 'crm', '2026-01-02T03:04:05.123456789+00:00', '2026-01-02T03:04:06+00:00', 877,
           'ok', 1, 1, 1, 1);
         INSERT INTO columns (id, source, schema_name, table_name, column_name, sql_type, sampled,
           non_null, status, first_seen, last_seen, last_scanned, last_scan_id)
           VALUES (1, 'crm', 'main', 'members', 'mobile', 'text', 100, 90, 'personal',
           '2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00', 1);
         INSERT INTO findings VALUES (1, 'phone', '[]', 88, 0.97, 'whole_value', NULL, 0.9,
           'moderate', '[\"138****5678\"]', 1, 1);
         INSERT INTO scan_columns VALUES (1, 1, 'personal', 'phone');
         INSERT INTO reviews VALUES (1, 'phone', 'confirmed', 'dpo', '2026-01-03T00:00:00Z', 'ok');
         INSERT INTO retention_checkpoint (policy, run_id, cutoff, last_key, rows_affected, batches,
           updated_at, pending_key, pending_rows, pending_started)
           VALUES ('p', 'p-1', '2025-10-01T00:00:00Z', '[\"7\"]', 7, 1, '2026-01-03T00:00:00Z',
           '[\"9\"]', 2, '2026-01-03T00:00:01Z');",
    ];
    for script in old {
        sqlx::Executor::execute(&mut c, script).await.unwrap();
    }
    let mut rec = crate::retention::audit::AuditRecord {
        run_id: "p-1".into(),
        kind: "run_started".into(),
        policy: "p".into(),
        cutoff: "2025-10-01T00:00:00Z".into(),
        started_at: "2026-01-03T00:00:00Z".into(),
        outcome: "started".into(),
        prev_hash: crate::retention::audit::GENESIS.into(),
        ..Default::default()
    };
    rec.hash = rec.compute_hash();
    sqlx::query(
        "INSERT INTO retention_audit (run_id, kind, policy, description, source, table_name, action,
           columns, cutoff, rows_affected, started_at, outcome, prev_hash, hash)
         VALUES (?, ?, ?, '', '', '', '', '[]', ?, 0, ?, ?, ?, ?)",
    )
    .bind(&rec.run_id)
    .bind(&rec.kind)
    .bind(&rec.policy)
    .bind(&rec.cutoff)
    .bind(&rec.started_at)
    .bind(&rec.outcome)
    .bind(&rec.prev_hash)
    .bind(&rec.hash)
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();

    let store = Store::open(&url).await.unwrap();
    let scans = store.scans(Some("crm"), 10).await.unwrap();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].duration_ms, Some(877));
    assert_eq!(
        scans[0].started_at.to_rfc3339(),
        "2026-01-02T03:04:05.123456789+00:00"
    );
    let cols = store.columns(&ColumnFilter::default()).await.unwrap();
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].transformed, 0, "v2 column added with its default");
    assert_eq!(cols[0].scan_note, None, "v3 column added");
    assert_eq!(cols[0].categories[0].status, CategoryStatus::Confirmed);
    assert_eq!(cols[0].categories[0].reviewed_by.as_deref(), Some("dpo"));
    let cp = store.checkpoint("p").await.unwrap().unwrap();
    assert_eq!(cp.last_key.as_deref(), Some("[\"7\"]"));
    assert_eq!(cp.pending.as_ref().unwrap().rows, 2);
    assert_eq!(cp.pending.as_ref().unwrap().first, None, "v4 column added");
    let recs = store.audit_records().await.unwrap();
    assert_eq!(recs, vec![AuditRecord { seq: 1, ..rec }]);
    assert!(matches!(
        crate::retention::audit::verify_records(&recs),
        crate::retention::audit::Verification::Intact { records: 1, .. }
    ));
    // The job history table was created, and new writes go on.
    assert!(store.latest_runs().await.unwrap().is_empty());
    let id = store
        .start_run("scan:crm", "scan", chrono::Utc::now(), 1)
        .await
        .unwrap();
    assert!(id > 0);
    store.close().await;
    // Reopening changes nothing more.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.audit_records().await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn reviews_survive_rescans() {
    let (_dir, store, _) = temp_store().await;
    let cols = vec![
        (
            column("mobile"),
            report(vec![finding("phone", 88, 90, true)]),
        ),
        (
            column("phone_model"),
            report(vec![finding("phone", 60, 90, true)]),
        ),
        (column("note"), report(vec![finding("email", 1, 90, false)])),
    ];
    scan(&store, &cols).await;
    let path = ColumnPath::parse("crm.members.phone_model").unwrap();
    store
        .review(
            &path,
            "phone",
            Decision::Reject,
            "alice",
            Some("device model names"),
        )
        .await
        .unwrap();
    store
        .review(
            &ColumnPath::parse("members.mobile").unwrap(),
            "phone",
            Decision::Confirm,
            "bob",
            None,
        )
        .await
        .unwrap();
    // A person adds a category the scanner did not suggest.
    store
        .review(
            &ColumnPath::parse("main.members.note").unwrap(),
            "email",
            Decision::Confirm,
            "bob",
            None,
        )
        .await
        .unwrap();

    // The rescan finds new evidence for the same columns (and phone_model matches even more).
    let cols2 = vec![
        (
            column("mobile"),
            report(vec![finding("phone", 70, 90, true)]),
        ),
        (
            column("phone_model"),
            report(vec![finding("phone", 89, 90, true)]),
        ),
        (column("note"), report(vec![])),
    ];
    let second = scan(&store, &cols2).await;
    let all = store
        .columns(&ColumnFilter {
            source: None,
            all: true,
        })
        .await
        .unwrap();
    let get = |name: &str| all.iter().find(|c| c.key.column == name).unwrap();
    let model = &get("phone_model").categories[0];
    assert_eq!(model.status, CategoryStatus::Rejected);
    assert_eq!(model.reviewed_by.as_deref(), Some("alice"));
    assert_eq!(model.note.as_deref(), Some("device model names"));
    assert_eq!(
        model.evidence.as_ref().unwrap().matched,
        89,
        "evidence is updated"
    );
    assert_eq!(model.evidence.as_ref().unwrap().scan_id, second);
    assert!(!get("phone_model").is_personal());
    let mobile = &get("mobile").categories[0];
    assert_eq!(mobile.status, CategoryStatus::Confirmed);
    assert_eq!(mobile.evidence.as_ref().unwrap().matched, 70);
    let note = get("note");
    assert_eq!(
        note.held().map(|c| c.category.as_str()).collect::<Vec<_>>(),
        ["email"]
    );
    assert!(note.categories[0].evidence.is_none());
    // The default list shows held categories only.
    let personal = store.columns(&ColumnFilter::default()).await.unwrap();
    let names: Vec<_> = personal.iter().map(|c| c.key.column.as_str()).collect();
    assert_eq!(names, ["mobile", "note"]);
}

#[tokio::test]
async fn review_targets_must_be_unambiguous_and_known() {
    let (_dir, store, _) = temp_store().await;
    scan(
        &store,
        &[(
            column("mobile"),
            report(vec![finding("phone", 88, 90, true)]),
        )],
    )
    .await;
    let id = store.begin_scan("erp", &[]).await.unwrap();
    store
        .record_table(
            id,
            "erp",
            &members(),
            None,
            "first_rows",
            &[(column("mobile"), report(vec![]))],
        )
        .await
        .unwrap();
    let e = store
        .review(
            &ColumnPath::parse("members.mobile").unwrap(),
            "phone",
            Decision::Confirm,
            "a",
            None,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ambiguous"), "{e}");
    assert!(e.to_string().contains("crm.main.members.mobile"), "{e}");
    let e = store
        .review(
            &ColumnPath::parse("members.nope").unwrap(),
            "phone",
            Decision::Confirm,
            "a",
            None,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no column"), "{e}");
    let e = store
        .review(
            &ColumnPath::parse("crm.members.mobile").unwrap(),
            "Phone Number",
            Decision::Confirm,
            "a",
            None,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("category"), "{e}");
}

#[tokio::test]
async fn unseen_columns_are_marked_dropped_except_in_failed_tables() {
    let (_dir, store, _) = temp_store().await;
    let orders = TableRef {
        schema: "main".into(),
        name: "orders".into(),
    };
    let first = store.begin_scan("crm", &[]).await.unwrap();
    store
        .record_table(
            first,
            "crm",
            &members(),
            None,
            "m",
            &[
                (column("mobile"), report(vec![])),
                (column("fax"), report(vec![])),
            ],
        )
        .await
        .unwrap();
    store
        .record_table(
            first,
            "crm",
            &orders,
            None,
            "m",
            &[(column("remarks"), report(vec![]))],
        )
        .await
        .unwrap();
    store
        .finish_scan(first, ScanStatus::Ok, &ScanCounts::default(), None)
        .await
        .unwrap();
    let second = store.begin_scan("crm", &[]).await.unwrap();
    store
        .record_table(
            second,
            "crm",
            &members(),
            None,
            "m",
            &[(column("mobile"), report(vec![]))],
        )
        .await
        .unwrap();
    store
        .record_failure(second, &orders, "timeout")
        .await
        .unwrap();
    store
        .finish_scan(second, ScanStatus::Partial, &ScanCounts::default(), None)
        .await
        .unwrap();
    let all = store
        .columns(&ColumnFilter {
            source: None,
            all: true,
        })
        .await
        .unwrap();
    let dropped: Vec<_> = all
        .iter()
        .filter(|c| c.dropped_at.is_some())
        .map(|c| c.key.column.as_str())
        .collect();
    assert_eq!(dropped, ["fax"]);
    let scans = store.scans(Some("crm"), 10).await.unwrap();
    assert_eq!(scans[0].status, ScanStatus::Partial);
    assert_eq!(scans[0].failures[0].table, "orders");
    assert_eq!(store.completed_scans("crm", 2).await.unwrap().len(), 2);
}

fn policy(text: &str) -> crate::config::PolicyConfig {
    toml::from_str(text).unwrap()
}

#[tokio::test]
async fn exports_parse_back_and_escape_markup() {
    use super::export::{Format, Report};
    let (_dir, store, _) = temp_store().await;
    let mut remarks = finding("phone", 9, 90, true);
    remarks.layout = Layout::FreeText;
    remarks.examples = vec!["+86 138****5678".into(), "<b>联系</b> 139****0000".into()];
    let unknown = ColumnReport {
        sampled: 50,
        non_null: 0,
        transformed: 0,
        status: ColumnStatus::Unknown,
        findings: vec![],
        note: None,
    };
    let cols = vec![
        (
            column("mobile"),
            report(vec![finding("phone", 88, 90, true)]),
        ),
        (column("remarks<script>"), report(vec![remarks])),
        (
            column("phone_model"),
            report(vec![finding("phone", 60, 90, true)]),
        ),
        (column("price"), report(vec![])),
        (column("wechat"), unknown),
    ];
    scan(&store, &cols).await;
    scan(&store, &cols[..4]).await;
    store
        .review(
            &ColumnPath::parse("members.phone_model").unwrap(),
            "phone",
            Decision::Reject,
            "alice",
            Some("型号"),
        )
        .await
        .unwrap();
    let policies = vec![policy(
        "name = \"closed\"\ndescription = \"d\"\nsource = \"crm\"\ntable = \"main.members\"\ntimestamp_column = \"t\"\n\
         retain = \"90d\"\naction = \"pseudonymize\"\ncolumns = [\"mobile\"]\n",
    )];
    let report = Report::load(&store, &policies, None).await.unwrap();
    let render = |f: Format| {
        let mut out = Vec::new();
        report.write(f, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };

    let json: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
    let columns = json["columns"].as_array().unwrap();
    let by = |name: &str| {
        columns
            .iter()
            .find(|c| c["column"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(by("mobile")["categories"], serde_json::json!(["phone"]));
    assert_eq!(
        by("mobile")["covered_by"],
        serde_json::json!([{"policy": "closed", "state": "not_run", "last_run": null}])
    );
    assert_eq!(by("mobile")["evidence"][0]["matched"], 88);
    assert_eq!(
        by("mobile")["evidence"][0]["detectors"][0]["id"],
        "phone_detector"
    );
    assert_eq!(by("remarks<script>")["evidence"][0]["layout"], "free_text");
    assert_eq!(by("phone_model")["categories"], serde_json::json!([]));
    assert_eq!(by("phone_model")["evidence"][0]["status"], "rejected");
    assert!(
        columns.iter().all(|c| c["column"] != "price"),
        "clean columns without evidence are left out"
    );
    assert_eq!(json["drift"][0]["dropped_columns"][0]["column"], "wechat");

    let csv_text = render(Format::Csv);
    assert!(csv_text.starts_with('\u{feff}'));
    let mut rd = ::csv::Reader::from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rd.headers().unwrap().clone();
    let rows: Vec<::csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let field = |r: &::csv::StringRecord, h: &str| {
        r[headers.iter().position(|x| x == h).unwrap()].to_string()
    };
    let mobile = rows
        .iter()
        .find(|r| field(r, "column") == "mobile")
        .unwrap();
    assert_eq!(field(mobile, "category"), "phone");
    assert_eq!(field(mobile, "status"), "suggested");
    assert_eq!(field(mobile, "matched"), "88");
    let remarks = rows
        .iter()
        .find(|r| field(r, "column") == "remarks<script>")
        .unwrap();
    assert_eq!(
        field(remarks, "examples"),
        "'+86 138****5678; <b>联系</b> 139****0000"
    );
    assert_eq!(field(remarks, "layout"), "free_text");

    let html = render(Format::Html);
    assert!(html.contains("<code>members.remarks&lt;script&gt;</code>"));
    assert!(html.contains("&lt;b&gt;联系&lt;/b&gt;"));
    assert!(!html.contains("<script>") && !html.contains("<b>联系"));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external assets"
    );
    if let Ok(path) = std::env::var("DATAWARDEN_KEEP_HTML") {
        std::fs::write(path, &html).unwrap();
    }
}
