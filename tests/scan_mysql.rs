//! Scans of the MariaDB/MySQL fixture (real server at 127.0.0.1:3306) into a fresh inventory.

mod common;
mod scan_suite;

use common::Kind;

#[tokio::test]
async fn finds_personal_columns() {
    scan_suite::finds_personal_columns(Kind::MySql).await;
}

#[tokio::test]
async fn include_and_exclude() {
    scan_suite::include_and_exclude(Kind::MySql).await;
}

#[tokio::test]
async fn reviews_survive_rescan() {
    scan_suite::reviews_survive_rescan(Kind::MySql).await;
}

#[tokio::test]
async fn drift_and_exports() {
    scan_suite::drift_and_exports(Kind::MySql).await;
}
