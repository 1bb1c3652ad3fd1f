//! Scans of the PostgreSQL fixture (real server at 127.0.0.1:5432) into a fresh inventory.

mod common;
mod scan_suite;

use common::Kind;
use datawarden::inventory::ScanStatus;

#[tokio::test]
async fn finds_personal_columns() {
    scan_suite::finds_personal_columns(Kind::Postgres).await;
}

#[tokio::test]
async fn include_and_exclude() {
    scan_suite::include_and_exclude(Kind::Postgres).await;
}

#[tokio::test]
async fn reviews_survive_rescan() {
    scan_suite::reviews_survive_rescan(Kind::Postgres).await;
}

#[tokio::test]
async fn drift_and_exports() {
    scan_suite::drift_and_exports(Kind::Postgres).await;
}

/// A table whose read fails is recorded with its error; the scan goes on and ends `partial`.
#[tokio::test]
async fn a_failing_table_does_not_stop_the_scan() {
    let Some(db) = scan_suite::fixture(Kind::Postgres, "scan_fail").await else {
        return;
    };
    db.exec(
        "CREATE FUNCTION boom() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom: broken view'; END $$;
         CREATE VIEW broken AS SELECT boom() AS x;",
    )
    .await;
    let s = scan_suite::setup(&db, "").await;
    let summary = s.scan().await;
    assert_eq!(summary.status, ScanStatus::Partial, "{summary:?}");
    assert_eq!(summary.tables_failed, 1);
    assert_eq!(summary.failures[0].table, "broken");
    assert!(
        summary.failures[0].error.contains("boom"),
        "{:?}",
        summary.failures
    );
    assert_eq!(summary.tables_scanned, summary.tables - 1);
    let scans = s.store.scans(Some("crm"), 1).await.unwrap();
    assert_eq!(scans[0].status, ScanStatus::Partial);
    assert_eq!(scans[0].failures[0].table, "broken");
    let cols = s.all().await;
    assert!(scan_suite::find(&cols, "members", "mobile").is_personal());
    s.store.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn phone_named_column_of_phone_shapes() {
    scan_suite::phone_named_column_of_phone_shapes(Kind::Postgres).await;
}
