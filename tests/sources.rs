//! Integration tests of `datawarden::sources` against the real PostgreSQL, MariaDB and SQLite
//! (see tests/common). Every case runs on all three backends with the shared fixture.

mod common;

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use common::{Kind, TestDb};
use datawarden::config::{ScanConfig, ScanMode};
use datawarden::sources::{
    Access, Bind, Cmp, SampleMethod, SampleOptions, Scope, Source, TableGlob, TableInfo, TableKind,
    TableRef,
};

async fn setup(kind: Kind, purpose: &str, access: Access) -> Option<(TestDb, Source)> {
    let db = TestDb::with_fixture(kind, purpose).await?;
    let src = Source::connect(&db.source_config("crm"), &ScanConfig::default(), access)
        .await
        .expect("connect");
    Some((db, src))
}

fn schema(kind: Kind, db: &TestDb) -> String {
    match kind {
        Kind::Postgres => "public".into(),
        Kind::MySql => db.name.clone(),
        Kind::Sqlite => "main".into(),
    }
}

fn find<'a>(tables: &'a [TableInfo], name: &str) -> &'a TableInfo {
    tables
        .iter()
        .find(|t| t.table.name == name)
        .unwrap_or_else(|| panic!("table {name} not listed"))
}

/// Reads a table and returns its rows as owned byte vectors.
async fn read(
    src: &Source,
    t: &TableInfo,
    size: u32,
    mode: ScanMode,
) -> (SampleMethod, Vec<Vec<Option<Vec<u8>>>>) {
    let mut rows = vec![];
    let report = src
        .sample(t, &SampleOptions::new(size, mode), &mut |r: &[Option<
            &[u8],
        >]| {
            assert_eq!(r.len(), t.columns.len());
            rows.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect());
        })
        .await
        .expect("sample");
    assert_eq!(report.rows as usize, rows.len());
    (report.method, rows)
}

fn col(t: &TableInfo, name: &str) -> usize {
    t.columns
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

fn texts(rows: &[Vec<Option<Vec<u8>>>], i: usize) -> Vec<Option<String>> {
    rows.iter()
        .map(|r| {
            r[i].as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Introspection

async fn introspection(kind: Kind) {
    let Some((db, src)) = setup(kind, "introspect", Access::ReadOnly).await else {
        return;
    };
    let s = schema(kind, &db);
    let tables = src.tables(&Scope::all()).await.expect("tables");
    let names: HashSet<&str> = tables.iter().map(|t| t.table.name.as_str()).collect();
    for n in [
        "members",
        "vehicles",
        "orders",
        "User Accounts",
        "driver's \"log\"",
        "用户表",
        "empty_table",
        "event_log",
        "trips",
        "active_members",
    ] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
    assert!(
        tables.iter().all(|t| t.table.schema == s),
        "only the fixture schema: {:?}",
        tables[0].table
    );

    let m = find(&tables, "members");
    assert_eq!(m.kind, TableKind::Table);
    assert_eq!(m.primary_key, vec!["id"]);
    assert_eq!(m.unique_keys, vec![vec!["email".to_string()]]);
    let phone = m.column("phone").expect("phone");
    assert!(
        phone.sql_type.to_lowercase().starts_with("bigint"),
        "{}",
        phone.sql_type
    );
    let mobile = m.column("mobile").expect("mobile");
    assert!(!mobile.nullable);
    assert_eq!(mobile.max_length, Some(20));
    assert!(m.column("email").unwrap().nullable);
    assert_eq!(m.column("id_number").unwrap().max_length, Some(18));
    assert_eq!(
        m.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()[..3],
        ["id", "phone", "mobile"]
    );
    assert_eq!(m.row_estimate, Some(5));

    let v = find(&tables, "vehicles");
    assert_eq!(v.foreign_keys.len(), 1);
    let fk = &v.foreign_keys[0];
    assert_eq!(fk.columns, vec!["member_id"]);
    assert_eq!(
        fk.referenced,
        TableRef {
            schema: s.clone(),
            name: "members".into()
        }
    );
    assert_eq!(fk.referenced_columns, vec!["id"]);
    assert_eq!(fk.on_delete, "CASCADE");
    assert_eq!(v.unique_keys, vec![vec!["vin".to_string()]]);

    let o = find(&tables, "orders");
    let rules: HashSet<(String, String)> = o
        .foreign_keys
        .iter()
        .map(|f| (f.columns[0].clone(), f.on_delete.clone()))
        .collect();
    assert!(
        rules.contains(&("member_id".into(), "SET NULL".into())),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("vehicle_id".into(), "RESTRICT".into())),
        "{rules:?}"
    );

    let ua = find(&tables, "User Accounts");
    assert_eq!(ua.unique_keys, vec![vec!["Login Name".to_string()]]);
    assert!(ua.column("Mobile No").is_some());
    // PostgreSQL: never analyzed (reltuples -1) -> bounded count.
    assert_eq!(ua.row_estimate, Some(2));
    assert_eq!(find(&tables, "empty_table").row_estimate, Some(0));
    assert!(find(&tables, "event_log").primary_key.is_empty());
    let trips = find(&tables, "trips").row_estimate.expect("trips estimate");
    assert!((2500..=10_000).contains(&trips), "trips estimate {trips}");
    let view = find(&tables, "active_members");
    assert_eq!(view.kind, TableKind::View);
    assert_eq!(view.row_estimate, None);
    assert_eq!(view.columns.len(), 3);
    assert!(find(&tables, "用户表").column("手机号").is_some());

    // Incoming foreign keys (children of members).
    let members = TableRef {
        schema: s.clone(),
        name: "members".into(),
    };
    let mut children: Vec<(String, String)> = src
        .referencing(&members)
        .await
        .expect("referencing")
        .into_iter()
        .map(|f| (f.table.name, f.on_delete))
        .collect();
    children.sort();
    assert_eq!(
        children,
        vec![
            ("orders".into(), "SET NULL".into()),
            ("vehicles".into(), "CASCADE".into())
        ]
    );

    // One table by name.
    let one = src.table(None, "用户表").await.expect("table by name");
    assert_eq!(one.primary_key, vec!["id"]);
    let qualified = src.table(Some(&s), "members").await.expect("schema.table");
    assert_eq!(&qualified, m);
    let err = src
        .table(None, "no_such_table")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("crm") && err.contains("not found"), "{err}");
    src.close().await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Scope globs, applied in the introspection SQL

async fn scope_globs(kind: Kind) {
    let Some((db, src)) = setup(kind, "scope", Access::ReadWrite).await else {
        return;
    };
    let s = schema(kind, &db);
    // A table that `empty_table` would match if `_` were not escaped in LIKE.
    src.execute("CREATE TABLE emptyXtable (id int)", &[])
        .await
        .expect("create");
    let names = |tables: Vec<TableInfo>| {
        let mut v: Vec<String> = tables.into_iter().map(|t| t.table.name).collect();
        v.sort();
        v
    };
    let scope = |inc: &[&str], exc: &[&str]| Scope {
        include_tables: inc.iter().map(|g| TableGlob::parse(g)).collect(),
        exclude_tables: exc.iter().map(|g| TableGlob::parse(g)).collect(),
        ..Scope::default()
    };
    assert_eq!(
        names(src.tables(&scope(&["mem*"], &[])).await.unwrap()),
        vec!["members"]
    );
    assert_eq!(
        names(src.tables(&scope(&["trip?"], &[])).await.unwrap()),
        vec!["trips"]
    );
    assert_eq!(
        names(src.tables(&scope(&["empty_table"], &[])).await.unwrap()),
        vec!["empty_table"]
    );
    assert_eq!(
        names(src.tables(&scope(&["User *"], &[])).await.unwrap()),
        vec!["User Accounts"]
    );
    assert_eq!(
        names(
            src.tables(&scope(&[&format!("{s}.v*")], &[]))
                .await
                .unwrap()
        ),
        vec!["vehicles"]
    );
    assert!(src
        .tables(&scope(&["nope.v*"], &[]))
        .await
        .unwrap()
        .is_empty());
    let all = names(src.tables(&Scope::all()).await.unwrap());
    let without = names(src.tables(&scope(&[], &["*s", "用户*"])).await.unwrap());
    assert!(!without.contains(&"members".to_string()) && !without.contains(&"用户表".to_string()));
    assert!(without.contains(&"event_log".to_string()));
    assert_eq!(
        all.len() - without.len(),
        all.iter()
            .filter(|n| n.ends_with('s') || n.starts_with("用户"))
            .count()
    );
    // Schema globs.
    let by_schema = Scope {
        include_schemas: vec![s.clone()],
        ..Scope::default()
    };
    assert_eq!(names(src.tables(&by_schema).await.unwrap()), all);
    let excluded = Scope {
        exclude_schemas: vec![s.clone()],
        ..Scope::default()
    };
    assert!(src
        .tables(&excluded)
        .await
        .unwrap()
        .iter()
        .all(|t| t.table.schema != s));
    // From a source config.
    let cfg = db.source_config_toml(
        "crm",
        "include_tables = [\"veh*\", \"orders\"]\nexclude_tables = [\"orders\"]",
    );
    assert_eq!(
        names(src.tables(&Scope::from_config(&cfg)).await.unwrap()),
        vec!["vehicles"]
    );
    if kind == Kind::Postgres {
        // System schemas never appear; a second schema makes a bare name ambiguous.
        src.execute("CREATE SCHEMA archive", &[]).await.unwrap();
        src.execute("CREATE TABLE archive.members (id int PRIMARY KEY)", &[])
            .await
            .unwrap();
        // A bare name means the session's schema, as PostgreSQL itself resolves it...
        let t = src.table(None, "members").await.unwrap();
        assert_eq!(t.table.schema, "public");
        let only = Scope {
            include_schemas: vec!["arch*".into()],
            ..Scope::default()
        };
        let t = src.tables(&only).await.unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0].table,
            TableRef {
                schema: "archive".into(),
                name: "members".into()
            }
        );
        assert!(src.tables(&Scope::all()).await.unwrap().iter().all(|t| !t
            .table
            .schema
            .starts_with("pg_")
            && t.table.schema != "information_schema"));
        // ...and is ambiguous when only other schemas hold it.
        src.execute("CREATE SCHEMA archive2", &[]).await.unwrap();
        for s in ["archive", "archive2"] {
            src.execute(
                &format!("CREATE TABLE {s}.ledger (id int PRIMARY KEY)"),
                &[],
            )
            .await
            .unwrap();
        }
        let err = src.table(None, "ledger").await.unwrap_err().to_string();
        assert!(err.contains("several schemas"), "{err}");
    }
    src.close().await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Sampling and full reads

async fn sampling(kind: Kind) {
    let Some((db, src)) = setup(kind, "sample", Access::ReadOnly).await else {
        return;
    };
    let tables = src.tables(&Scope::all()).await.unwrap();

    // Small table: first rows, every value as text; BIGINT phone read as digits; NULL-only column.
    let m = find(&tables, "members");
    let (method, rows) = read(&src, m, 2000, ScanMode::Sample).await;
    assert_eq!(method, SampleMethod::FirstRows);
    assert_eq!(rows.len(), 5);
    let phones = texts(&rows, col(m, "phone"));
    assert!(phones.contains(&Some("13812345678".into())), "{phones:?}");
    assert!(phones.contains(&None));
    assert!(texts(&rows, col(m, "legacy_fax"))
        .iter()
        .all(Option::is_none));
    assert!(texts(&rows, col(m, "status")).contains(&Some("suspended".into())));
    assert!(texts(&rows, col(m, "id_number")).contains(&Some("11010519491231002X".into())));
    let closed = texts(&rows, col(m, "closed_at"));
    assert!(
        closed
            .iter()
            .flatten()
            .any(|c| c.starts_with("2019-03-01") && c.contains("10:00:00")),
        "{closed:?}"
    );

    // Typed columns cast in SQL: numeric, json, uuid, timestamp(tz), binary.
    let o = find(&tables, "orders");
    let (_, rows) = read(&src, o, 100, ScanMode::Sample).await;
    let price = texts(&rows, col(o, "price"));
    assert!(
        price
            .iter()
            .flatten()
            .any(|p| p == "1999.00" || p == "1999"),
        "{price:?}"
    );
    assert!(texts(&rows, col(o, "details"))
        .iter()
        .flatten()
        .any(|d| d.contains("zhang.wei@example.com")));
    assert!(texts(&rows, col(o, "order_uuid"))
        .contains(&Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())));
    assert!(texts(&rows, col(o, "created_at"))
        .iter()
        .flatten()
        .any(|c| c.starts_with("2019-01-10")));
    let attachment = texts(&rows, col(o, "attachment"));
    assert!(
        attachment
            .iter()
            .flatten()
            .any(|a| a.contains("13812345678")),
        "{attachment:?}"
    );
    if kind == Kind::Sqlite {
        // Invalid UTF-8 reaches the caller as the raw bytes.
        let raw = rows
            .iter()
            .map(|r| r[col(o, "remarks")].clone())
            .collect::<Vec<_>>();
        let want: &[u8] = b"bad \xFF\xFE 13812345678";
        assert!(raw.iter().flatten().any(|b| b == want), "{raw:?}");
    }

    // Awkward identifiers.
    for (table, column, want) in [
        ("User Accounts", "Mobile No", "13812345678"),
        (
            "driver's \"log\"",
            "note",
            "Driver reachable at 15012345678",
        ),
        ("用户表", "手机号", "13987654321"),
        ("用户表", "姓名", "张伟"),
    ] {
        let t = find(&tables, table);
        let (_, rows) = read(&src, t, 10, ScanMode::Sample).await;
        assert!(
            texts(&rows, col(t, column)).contains(&Some(want.into())),
            "{table}.{column}"
        );
    }

    // Big enough table: the backend's random method, bounded by the sample size.
    let trips = find(&tables, "trips");
    let (method, rows) = read(&src, trips, 100, ScanMode::Sample).await;
    let want = match kind {
        Kind::Postgres => SampleMethod::Tablesample,
        Kind::MySql => SampleMethod::RandomKeyRanges,
        Kind::Sqlite => SampleMethod::RandomRowidRanges,
    };
    assert_eq!(method, want);
    assert!(!rows.is_empty() && rows.len() <= 100, "{} rows", rows.len());
    let ids: HashSet<i64> = texts(&rows, col(trips, "id"))
        .into_iter()
        .flatten()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len(), "no duplicate rows");
    assert!(
        ids.iter().any(|&i| i > 100),
        "random, not the first rows: {ids:?}"
    );
    assert!(texts(&rows, col(trips, "driver_phone"))
        .iter()
        .flatten()
        .all(|p| p.len() == 11 && p.starts_with("139")));
    if kind == Kind::Postgres {
        let (method, rows) = read(&src, trips, 1000, ScanMode::Sample).await;
        assert_eq!(method, SampleMethod::TablesampleBernoulli);
        assert!(
            rows.len() > 500 && rows.len() <= 1000,
            "{} rows",
            rows.len()
        );
    }
    assert_eq!(
        SampleMethod::RandomKeyRanges.to_string(),
        "random_key_ranges"
    );
    assert_eq!(
        serde_json::to_string(&SampleMethod::FirstRows).unwrap(),
        "\"first_rows\""
    );

    // Full mode reads every row exactly once across keyset pages.
    let (method, rows) = read(&src, trips, 10, ScanMode::Full).await;
    assert_eq!(method, SampleMethod::Full);
    assert_eq!(rows.len(), 5000);
    let ids: HashSet<String> = texts(&rows, col(trips, "id"))
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids.len(), 5000);
    // Keyless table and view stream in one query; empty table reads nothing.
    let (method, rows) = read(&src, find(&tables, "event_log"), 10, ScanMode::Full).await;
    assert_eq!((method, rows.len()), (SampleMethod::Full, 2));
    let (_, rows) = read(&src, find(&tables, "active_members"), 10, ScanMode::Full).await;
    assert_eq!(rows.len(), 2);
    let (_, rows) = read(&src, find(&tables, "empty_table"), 10, ScanMode::Sample).await;
    assert!(rows.is_empty());
    // Text-keyed composite full read (keyset on a varchar + integer primary key).
    src.close().await;
    let rw = Source::connect(
        &db.source_config("crm"),
        &ScanConfig::default(),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    rw.execute("CREATE TABLE plates (region varchar(8), seq integer, plate varchar(16), PRIMARY KEY (region, seq))", &[])
        .await
        .unwrap();
    let d = rw.dialect();
    let insert = format!(
        "INSERT INTO plates (region, seq, plate) VALUES ({}, {}, {})",
        d.placeholder(1),
        d.placeholder(2),
        d.placeholder(3)
    );
    let mut tx = rw.begin().await.unwrap();
    for i in 0..2500i64 {
        let region = ["京", "沪", "粤"][(i % 3) as usize];
        tx.execute(
            &insert,
            &[
                Bind::Text(region.into()),
                Bind::Int(i),
                Bind::Text(format!("{region}A{i:05}")),
            ],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let plates = rw.table(None, "plates").await.unwrap();
    assert_eq!(plates.primary_key, vec!["region", "seq"]);
    let (_, rows) = read(&rw, &plates, 10, ScanMode::Full).await;
    let all: HashSet<String> = texts(&rows, col(&plates, "plate"))
        .into_iter()
        .flatten()
        .collect();
    assert_eq!((rows.len(), all.len()), (2500, 2500));
    rw.close().await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Generic query API

async fn query_api(kind: Kind) {
    let Some((db, src)) = setup(kind, "query", Access::ReadWrite).await else {
        return;
    };
    let d = src.dialect();
    let members = src.table(None, "members").await.unwrap();
    let orders = src.table(None, "orders").await.unwrap();
    let q = |t: &TableInfo| d.qualified(&t.table);
    let ts =
        |y, m, day, h, min, s| Bind::Timestamp(Utc.with_ymd_and_hms(y, m, day, h, min, s).unwrap());

    // Timestamp comparison on a naive timestamp / DATETIME / SQLite text column.
    let closed = members.column("closed_at").unwrap();
    let sql = |cmp| {
        format!(
            "SELECT {} FROM {} WHERE {} ORDER BY id",
            d.cast_text("id"),
            q(&members),
            d.timestamp_compare(&d.quote_ident("closed_at"), &closed.sql_type, cmp, 1)
        )
    };
    let ids = |rows: Vec<Vec<Option<String>>>| {
        rows.into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(src
            .fetch_rows(&sql(Cmp::Lt), &[ts(2021, 1, 1, 0, 0, 0)])
            .await
            .unwrap()),
        ["2", "5"]
    );
    assert_eq!(
        ids(src
            .fetch_rows(&sql(Cmp::Lt), &[ts(2019, 3, 1, 10, 0, 0)])
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(src
            .fetch_rows(&sql(Cmp::Le), &[ts(2019, 3, 1, 10, 0, 0)])
            .await
            .unwrap()),
        ["2"]
    );
    assert_eq!(
        ids(src
            .fetch_rows(&sql(Cmp::Lt), &[ts(2019, 3, 1, 10, 0, 1)])
            .await
            .unwrap()),
        ["2"]
    );
    assert_eq!(
        ids(src
            .fetch_rows(&sql(Cmp::Gt), &[ts(2021, 1, 1, 0, 0, 0)])
            .await
            .unwrap()),
        ["3"]
    );
    // timestamptz / TIMESTAMP column.
    let created = orders.column("created_at").unwrap();
    let osql = format!(
        "SELECT id FROM {} WHERE {} ORDER BY id",
        q(&orders),
        d.timestamp_compare(&d.quote_ident("created_at"), &created.sql_type, Cmp::Lt, 1)
    );
    assert_eq!(
        ids(src
            .fetch_rows(&osql, &[ts(2019, 1, 10, 9, 0, 1)])
            .await
            .unwrap()),
        ["1"]
    );
    assert_eq!(
        ids(src
            .fetch_rows(&osql, &[ts(2019, 1, 10, 9, 0, 0)])
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    if kind == Kind::Sqlite {
        // ISO 8601 with 'T' and Unix seconds are normalised too.
        src.execute("INSERT INTO event_log (occurred_at, message) VALUES ('2010-05-05T10:00:00', 'iso'), (1262304000, 'epoch')", &[])
            .await
            .unwrap();
        let log = src.table(None, "event_log").await.unwrap();
        let sql = format!(
            "SELECT message FROM {} WHERE {} ORDER BY message",
            q(&log),
            d.timestamp_compare(
                "occurred_at",
                &log.column("occurred_at").unwrap().sql_type,
                Cmp::Lt,
                1
            )
        );
        assert_eq!(
            ids(src
                .fetch_rows(&sql, &[ts(2011, 1, 1, 0, 0, 0)])
                .await
                .unwrap()),
            ["epoch", "iso"]
        );
    }

    // Typed values come back as text without casts; binds of every kind.
    let rows = src
        .fetch_rows(
            &format!(
                "SELECT id, phone, mobile, closed_at, {} FROM {} WHERE id = {} OR mobile = {} ORDER BY id",
                d.placeholder(1),
                q(&members),
                d.typed_placeholder(2, "bigint"),
                d.placeholder(3)
            ),
            &[Bind::Float(1.5), Bind::Text("2".into()), Bind::Text("13812345678".into())],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0].as_deref(), Some("1"));
    assert_eq!(rows[0][1].as_deref(), Some("13812345678"));
    assert_eq!(rows[0][3], None);
    assert!(rows[1][3]
        .as_deref()
        .unwrap()
        .starts_with("2019-03-01 10:00:00"));
    assert!(rows[0][4].as_deref().unwrap().starts_with("1.5"));

    // Transactions: rollback leaves data alone, commit persists, timeouts can be set.
    let upd = format!(
        "UPDATE {} SET legacy_fax = {} WHERE id = {}",
        q(&members),
        d.placeholder(1),
        d.placeholder(2)
    );
    let count_fax = format!(
        "SELECT count(*) FROM {} WHERE legacy_fax IS NOT NULL",
        q(&members)
    );
    let mut tx = src.begin().await.unwrap();
    tx.set_timeouts(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(
        tx.execute(&upd, &[Bind::Text("010-1234".into()), Bind::Int(1)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tx.fetch_rows(&count_fax, &[]).await.unwrap()[0][0].as_deref(),
        Some("1")
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        src.fetch_rows(&count_fax, &[]).await.unwrap()[0][0].as_deref(),
        Some("0")
    );
    let mut tx = src.begin().await.unwrap();
    tx.set_timeouts(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    tx.execute(&upd, &[Bind::Text("010-1234".into()), Bind::Int(1)])
        .await
        .unwrap();
    tx.execute(&upd, &[Bind::Null, Bind::Int(2)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        src.fetch_rows(&count_fax, &[]).await.unwrap()[0][0].as_deref(),
        Some("1")
    );
    // Dropping a Tx rolls back.
    {
        let mut tx = src.begin().await.unwrap();
        tx.execute(&upd, &[Bind::Text("x".into()), Bind::Int(3)])
            .await
            .unwrap();
    }
    assert_eq!(
        src.fetch_rows(&count_fax, &[]).await.unwrap()[0][0].as_deref(),
        Some("1")
    );
    // Deleting by keys read as text, via key_bind + typed_placeholder (PostgreSQL needs the cast).
    let id_type = &src
        .table(None, "trips")
        .await
        .unwrap()
        .column("id")
        .unwrap()
        .sql_type
        .clone();
    let trips = src.table(None, "trips").await.unwrap();
    let keys = src
        .fetch_rows(
            &format!(
                "SELECT {} FROM {} WHERE id <= 3",
                d.cast_text("id"),
                q(&trips)
            ),
            &[],
        )
        .await
        .unwrap();
    let binds: Vec<Bind> = keys
        .iter()
        .map(|r| d.key_bind(id_type, r[0].as_deref().unwrap()))
        .collect();
    let ps: Vec<String> = (1..=binds.len())
        .map(|n| d.typed_placeholder(n, id_type))
        .collect();
    let n = src
        .execute(
            &format!("DELETE FROM {} WHERE id IN ({})", q(&trips), ps.join(", ")),
            &binds,
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    // Errors name the source.
    let err = src
        .fetch_rows("SELECT * FROM no_such_table", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("source crm:"), "{err}");
    src.close().await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Locks, read-only sessions, unreachable sources

async fn locks(kind: Kind) {
    let Some((db, src)) = setup(kind, "locks", Access::ReadOnly).await else {
        return;
    };
    let other = Source::connect(
        &db.source_config("crm"),
        &ScanConfig::default(),
        Access::ReadOnly,
    )
    .await
    .unwrap();
    let first = src
        .try_lock("policy:closed-members")
        .await
        .unwrap()
        .expect("first lock");
    assert!(
        other
            .try_lock("policy:closed-members")
            .await
            .unwrap()
            .is_none(),
        "second lock must fail"
    );
    assert!(
        src.try_lock("policy:closed-members")
            .await
            .unwrap()
            .is_none(),
        "not re-entrant"
    );
    let unrelated = other
        .try_lock("policy:other")
        .await
        .unwrap()
        .expect("another name");
    first.release().await.unwrap();
    let again = other
        .try_lock("policy:closed-members")
        .await
        .unwrap()
        .expect("after release");
    // Dropping releases too (the connection closes / the file unlocks).
    drop(again);
    let mut relocked = None;
    for _ in 0..50 {
        if let Some(g) = src.try_lock("policy:closed-members").await.unwrap() {
            relocked = Some(g);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(relocked.is_some(), "lock released on drop");
    // Long names are fine (hashed for MySQL's 64-character limit).
    let long = "x".repeat(200);
    assert!(src.try_lock(&long).await.unwrap().is_some());
    // A lock belongs to its database: the same policy name in another database on the same
    // server (MySQL's GET_LOCK names are server-wide) is not blocked.
    if let Some(db2) = TestDb::create(kind, "locks_other").await {
        let src2 = Source::connect(
            &db2.source_config("crm2"),
            &ScanConfig::default(),
            Access::ReadOnly,
        )
        .await
        .unwrap();
        let held = relocked.expect("held above");
        assert!(
            src2.try_lock("policy:closed-members")
                .await
                .unwrap()
                .is_some(),
            "a lock in one database must not block the same name in another"
        );
        drop(held);
        src2.close().await;
        db2.drop_db().await;
    }
    drop(unrelated);
    src.close().await;
    other.close().await;
    db.drop_db().await;
}

async fn read_only(kind: Kind) {
    let Some((db, src)) = setup(kind, "readonly", Access::ReadOnly).await else {
        return;
    };
    let d = src.dialect();
    let sql = format!("DELETE FROM {}", d.quote_ident("event_log"));
    let err = src
        .execute(&sql, &[])
        .await
        .expect_err("read-only session refuses writes");
    assert!(err.to_string().contains("crm"), "{err}");
    let rows = src
        .fetch_rows(
            &format!("SELECT count(*) FROM {}", d.quote_ident("event_log")),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("2"));
    src.close().await;
    db.drop_db().await;
}

async fn statement_timeout(kind: Kind) {
    let Some(db) = TestDb::create(kind, "timeout").await else {
        return;
    };
    let cfg = db.source_config_toml("crm", "statement_timeout = \"1s\"");
    let src = Source::connect(&cfg, &ScanConfig::default(), Access::ReadOnly)
        .await
        .unwrap();
    let sleep = match kind {
        Kind::Postgres => "SELECT pg_sleep(5)",
        _ => "SELECT SLEEP(5)",
    };
    let r = src.fetch_rows(sleep, &[]).await;
    match r {
        Err(e) => assert!(e.to_string().contains("crm"), "{e}"),
        // MariaDB's SLEEP() reports an interrupted sleep as 1 instead of an error.
        Ok(rows) => assert_eq!(
            rows[0][0].as_deref(),
            Some("1"),
            "statement was not interrupted"
        ),
    }
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn unreachable_sources_name_the_source_and_never_the_password() {
    let scan = ScanConfig::default();
    for url in [
        "postgres://app:S3cret-Pw@127.0.0.1:1/crm",
        "mysql://app:S3cret-Pw@127.0.0.1:1/crm",
    ] {
        let cfg: datawarden::config::SourceConfig =
            toml::from_str(&format!("name = \"crm-prod\"\nurl = \"{url}\"")).unwrap();
        let err = Source::connect(&cfg, &scan, Access::ReadOnly)
            .await
            .unwrap_err();
        let msg = err.to_string();
        // A server that cannot be reached now may be back later: a retryable source error.
        assert!(matches!(err, datawarden::Error::Transient { .. }) && err.is_retryable());
        assert!(
            msg.contains("crm-prod") && msg.contains("***") && msg.contains("127.0.0.1:1"),
            "{msg}"
        );
        assert!(!msg.contains("S3cret-Pw"), "{msg}");
        assert!(!format!("{err:?}").contains("S3cret-Pw"));
    }
    // A password given as a secret is injected and never shown either.
    let cfg: datawarden::config::SourceConfig = toml::from_str(
        "name = \"crm\"\nurl = \"postgres://app@127.0.0.1:1/crm\"\npassword = \"Inj3cted-Pw\"",
    )
    .unwrap();
    let msg = Source::connect(&cfg, &scan, Access::ReadOnly)
        .await
        .unwrap_err()
        .to_string();
    assert!(!msg.contains("Inj3cted-Pw") && msg.contains("crm"), "{msg}");
    // A missing SQLite file is not created.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let cfg: datawarden::config::SourceConfig = toml::from_str(&format!(
        "name = \"local\"\nurl = \"sqlite://{}\"",
        path.display()
    ))
    .unwrap();
    let msg = Source::connect(&cfg, &scan, Access::ReadOnly)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("local") && msg.contains("file exists"),
        "{msg}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn wrong_password_is_not_echoed() {
    let Some(db) = TestDb::create(Kind::MySql, "badpw").await else {
        return;
    };
    let mut u = url::Url::parse(&db.url).unwrap();
    u.set_password(Some("Wr0ng-Pw")).unwrap();
    let cfg: datawarden::config::SourceConfig =
        toml::from_str(&format!("name = \"crm\"\nurl = \"{u}\"")).unwrap();
    let msg = Source::connect(&cfg, &ScanConfig::default(), Access::ReadOnly)
        .await
        .unwrap_err()
        .to_string();
    assert!(!msg.contains("Wr0ng-Pw") && msg.contains("crm"), "{msg}");
    db.drop_db().await;
}

macro_rules! per_backend {
    ($case:ident) => {
        mod $case {
            use super::*;
            #[tokio::test]
            async fn postgres() {
                super::$case(Kind::Postgres).await
            }
            #[tokio::test]
            async fn mysql() {
                super::$case(Kind::MySql).await
            }
            #[tokio::test]
            async fn sqlite() {
                super::$case(Kind::Sqlite).await
            }
        }
    };
}

per_backend!(introspection);
per_backend!(scope_globs);
per_backend!(sampling);
per_backend!(query_api);
per_backend!(locks);
per_backend!(read_only);

/// SQLite has no statement timeout (only the busy timeout), so this runs on the servers only.
mod statement_timeout {
    use super::*;
    #[tokio::test]
    async fn postgres() {
        super::statement_timeout(Kind::Postgres).await
    }
    #[tokio::test]
    async fn mysql() {
        super::statement_timeout(Kind::MySql).await
    }
}

/// A MySQL source is what its URL names: with a database, that database only (other databases on
/// the server, with the same table names, stay out of introspection and bare-name lookups); with
/// `include_schemas`, the databases it names; the test makes its own second database, so it does
/// not rely on what else the server holds.
#[tokio::test]
async fn mysql_source_is_the_database_its_url_names() {
    let Some(home) = TestDb::with_fixture(Kind::MySql, "home").await else {
        return;
    };
    let Some(other) = TestDb::with_fixture(Kind::MySql, "other").await else {
        return;
    };
    let src = Source::connect(
        &home.source_config("crm"),
        &ScanConfig::default(),
        Access::ReadOnly,
    )
    .await
    .expect("connect");
    assert_eq!(src.home_schema(), Some(home.name.as_str()));
    let tables = src.tables(&Scope::all()).await.expect("tables");
    assert!(!tables.is_empty());
    assert!(
        tables.iter().all(|t| t.table.schema == home.name),
        "another database leaked into the source: {:?}",
        tables
            .iter()
            .map(|t| format!("{}.{}", t.table.schema, t.table.name))
            .collect::<Vec<_>>()
    );
    let m = src.table(None, "members").await.expect("bare name");
    assert_eq!(
        m.table.schema, home.name,
        "a bare name is the URL's database"
    );
    let o = src
        .table(Some(&other.name), "members")
        .await
        .expect("qualified name");
    assert_eq!(o.table.schema, other.name);
    // include_schemas widens the source on purpose.
    let both = Scope {
        include_schemas: vec![home.name.clone(), other.name.clone()],
        ..Scope::default()
    };
    let tables = src.tables(&both).await.expect("tables");
    let schemas: HashSet<&str> = tables.iter().map(|t| t.table.schema.as_str()).collect();
    assert_eq!(schemas.len(), 2, "{schemas:?}");
    src.close().await;
    other.drop_db().await;
    home.drop_db().await;
}
