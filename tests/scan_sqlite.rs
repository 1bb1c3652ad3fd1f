//! Scans of the SQLite fixture into a fresh inventory; unreachable sources.

mod common;
mod scan_suite;

use common::Kind;
use datawarden::config::Config;
use datawarden::detect::Engine;
use datawarden::inventory::{ScanStatus, Store};
use datawarden::scan::{scan_source, NoProgress};
use datawarden::stop::Stop;

#[tokio::test]
async fn finds_personal_columns() {
    scan_suite::finds_personal_columns(Kind::Sqlite).await;
}

#[tokio::test]
async fn include_and_exclude() {
    scan_suite::include_and_exclude(Kind::Sqlite).await;
}

#[tokio::test]
async fn reviews_survive_rescan() {
    scan_suite::reviews_survive_rescan(Kind::Sqlite).await;
}

#[tokio::test]
async fn drift_and_exports() {
    scan_suite::drift_and_exports(Kind::Sqlite).await;
}

/// Unreachable sources fail the scan with a clear error and a recorded failed scan, and the password
/// appears nowhere (error, scan history, exports).
#[tokio::test]
async fn unreachable_source_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        "postgres://scanner:Sup3r-S3cret-pw@127.0.0.1:1/crm",
        "mysql://scanner:Sup3r-S3cret-pw@127.0.0.1:1/crm",
        &format!("sqlite://{}/missing/nothing.db", dir.path().display()),
    ];
    let inv = common::Inventory::new(dir.path());
    for url in urls {
        let text = scan_suite::config_text(&inv.url, url, "");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let engine = Engine::load(None).unwrap();
        let store = Store::open(&config.inventory.url).await.unwrap();
        let err = scan_source(
            &config,
            &engine,
            &store,
            &config.sources[0],
            &NoProgress,
            &Stop::new(),
        )
        .await
        .expect_err("unreachable source must fail");
        let msg = err.to_string();
        assert!(msg.contains("crm"), "{msg}");
        assert!(!msg.contains("Sup3r-S3cret-pw"), "{msg}");
        let scans = store.scans(Some("crm"), 1).await.unwrap();
        assert_eq!(scans[0].status, ScanStatus::Failed);
        let recorded = scans[0].error.clone().unwrap();
        assert!(!recorded.is_empty());
        assert!(!recorded.contains("Sup3r-S3cret-pw"), "{recorded}");
        store.close().await;
    }
}

#[tokio::test]
async fn phone_named_column_of_phone_shapes() {
    scan_suite::phone_named_column_of_phone_shapes(Kind::Sqlite).await;
}
