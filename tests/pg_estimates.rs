//! PostgreSQL row estimates follow the table, not its last ANALYZE (real server at 127.0.0.1:5432,
//! a database of its own): statistics from when a table was small are scaled to its current page
//! count, a never-analyzed big table is estimated from the density of the bounded count's rows, and
//! sampling such tables draws random pages.

mod common;

use common::{Kind, TestDb};
use datawarden::config::{ScanConfig, ScanMode};
use datawarden::sources::{Access, SampleMethod, SampleOptions, Scope, Source, TableInfo};

fn find<'a>(tables: &'a [TableInfo], name: &str) -> &'a TableInfo {
    tables
        .iter()
        .find(|t| t.table.name == name)
        .unwrap_or_else(|| panic!("table {name} not listed"))
}

/// `estimate` is within 0.5x..2x of `truth`.
fn near(t: &TableInfo, truth: i64) {
    let e = t
        .row_estimate
        .unwrap_or_else(|| panic!("{}: no estimate", t.table.name));
    assert!(
        e * 2 >= truth && e <= truth * 2,
        "{}: estimate {e}, true count {truth}",
        t.table.name
    );
}

const ROW: &str = "SELECT g, '139' || lpad(g::text, 8, '0'), 'user' || g || '@example.com'";

#[tokio::test]
async fn postgres_estimates_follow_the_table() {
    let Some(db) = TestDb::create(Kind::Postgres, "pg_estimates").await else {
        return;
    };
    // autovacuum off per table: the statistics stay as this test leaves them.
    let table = |name: &str| {
        format!("CREATE TABLE {name} (id bigint, phone text, email text) WITH (autovacuum_enabled = off);")
    };
    db.exec(&format!(
        "{stale}
         INSERT INTO stale {ROW} FROM generate_series(1, 300) g;
         ANALYZE stale;
         INSERT INTO stale {ROW} FROM generate_series(301, 200300) g;
         {fresh}
         INSERT INTO fresh {ROW} FROM generate_series(1, 200000) g;
         {small}
         INSERT INTO small {ROW} FROM generate_series(1, 700) g;
         CREATE TABLE parted (id bigint, phone text, email text) PARTITION BY RANGE (id);
         CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (0) TO (100000)
           WITH (autovacuum_enabled = off);
         CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (100000) TO (1000000)
           PARTITION BY RANGE (id);
         CREATE TABLE parted_b1 PARTITION OF parted_b FOR VALUES FROM (100000) TO (1000000)
           WITH (autovacuum_enabled = off);
         INSERT INTO parted {ROW} FROM generate_series(1, 200) g;
         INSERT INTO parted {ROW} FROM generate_series(100001, 100200) g;
         ANALYZE parted_a; ANALYZE parted_b1;
         INSERT INTO parted {ROW} FROM generate_series(201, 90000) g;
         INSERT INTO parted {ROW} FROM generate_series(100201, 150000) g;",
        stale = table("stale"),
        fresh = table("fresh"),
        small = table("small"),
    ))
    .await;
    let src = Source::connect(
        &db.source_config("crm"),
        &ScanConfig::default(),
        Access::ReadOnly,
    )
    .await
    .expect("connect");
    let tables = src.tables(&Scope::all()).await.expect("introspect");

    // Analyzed at 300 rows: the catalogue still says 300, the estimate follows the pages.
    let stale = find(&tables, "stale");
    near(stale, 200_300);
    assert!(stale.pages.is_some_and(|p| p > 100), "{:?}", stale.pages);

    // Never analyzed (reltuples -1): no longer capped at the bounded count's 100,001.
    let fresh = find(&tables, "fresh");
    near(fresh, 200_000);
    assert_ne!(fresh.row_estimate, Some(100_001));

    // Never analyzed and small: the bounded count, exact.
    assert_eq!(find(&tables, "small").row_estimate, Some(700));

    // Partitioned at two levels, leaves analyzed small: the sum of the scaled leaf estimates.
    let parted = find(&tables, "parted");
    near(parted, 90_000 + 50_000);
    assert!(!tables.iter().any(|t| t.table.name.starts_with("parted_")));

    // Sampling the grown tables reads random pages, not the whole table, and finds rows.
    for t in [stale, fresh] {
        let mut ids = vec![];
        let report = src
            .sample(
                t,
                &SampleOptions::new(100, ScanMode::Sample),
                &mut |r: &[Option<&[u8]>]| {
                    ids.push(
                        String::from_utf8_lossy(r[0].unwrap())
                            .parse::<i64>()
                            .unwrap(),
                    );
                },
            )
            .await
            .expect("sample");
        assert_eq!(report.method, SampleMethod::Tablesample, "{}", t.table.name);
        assert!(
            (50..=100).contains(&ids.len()),
            "{}: {} rows",
            t.table.name,
            ids.len()
        );
        assert!(ids.iter().any(|&i| i > 1000), "{}: {ids:?}", t.table.name);
    }
    src.close().await;
    db.drop_db().await;
}
