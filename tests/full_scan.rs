//! Full mode against the real servers: every row read exactly once whatever the key-range size
//! (PostgreSQL COPY in key ranges, MySQL/MariaDB and SQLite streamed ranges), composite and text
//! keys holding odd values, unique NOT NULL keys, keyless tables, 2 MB values, a stop in the middle
//! of a range, a reading session killed from outside (the read resumes after its last key), and
//! a whole scan whose classification and row counts do not depend on the range size. MySQL 8 view lineage cannot be tried here (the server is MariaDB 10.11, which has no
//! `VIEW_TABLE_USAGE`): the MariaDB test checks that views are then read, not failed.

mod common;

use common::{Kind, TestDb};
use datawarden::config::{Config, ScanConfig, ScanMode};
use datawarden::detect::Engine;
use datawarden::inventory::{ColumnFilter, Store};
use datawarden::scan::{scan_source, NoProgress};
use datawarden::sources::{Access, SampleOptions, Scope, Source, TableInfo};
use datawarden::stop::Stop;

type Rows = Vec<Vec<Option<Vec<u8>>>>;

async fn connect(db: &TestDb) -> Source {
    Source::connect(
        &db.source_config("full"),
        &ScanConfig::default(),
        Access::ReadOnly,
    )
    .await
    .expect("connect")
}

async fn table(src: &Source, name: &str) -> TableInfo {
    src.tables(&Scope::default())
        .await
        .expect("introspect")
        .into_iter()
        .find(|t| t.table.name == name)
        .unwrap_or_else(|| panic!("table {name} not listed"))
}

/// Every row of `t` in full mode with ranges of `range_rows`, sorted.
async fn full(src: &Source, t: &TableInfo, range_rows: u32) -> Rows {
    let mut opts = SampleOptions::new(100, ScanMode::Full);
    opts.range_rows = range_rows;
    let mut rows: Rows = vec![];
    let report = src
        .sample(t, &opts, &mut |r: &[Option<&[u8]>]| {
            assert_eq!(r.len(), t.columns.len());
            rows.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect());
        })
        .await
        .unwrap_or_else(|e| panic!("full read of {}: {e}", t.table));
    assert_eq!(report.rows as usize, rows.len());
    rows.sort();
    rows
}

/// The same rows through the sample path (a small table is read by its first rows through sqlx,
/// not COPY), sorted: an independent reading of the values.
async fn sampled(src: &Source, t: &TableInfo) -> Rows {
    let mut rows: Rows = vec![];
    src.sample(
        t,
        &SampleOptions::new(100_000, ScanMode::Sample),
        &mut |r: &[Option<&[u8]>]| rows.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect()),
    )
    .await
    .expect("sample");
    rows.sort();
    rows
}

/// Reads `name` with one range, with ranges of 1, 2 and 3 rows, and through the sample path: the
/// same rows every time, `count` of them.
async fn same_rows_every_way(src: &Source, name: &str, count: usize) {
    let t = table(src, name).await;
    let whole = full(src, &t, 1_000_000).await;
    assert_eq!(whole.len(), count, "{name}: rows");
    for n in [1, 2, 3] {
        assert_eq!(
            full(src, &t, n).await,
            whole,
            "{name}: ranges of {n} rows differ"
        );
    }
    assert_eq!(
        sampled(src, &t).await,
        whole,
        "{name}: COPY and sqlx disagree"
    );
}

/// Checks that each of `values` is read back, as it is, as the first key column of a full read
/// of table `composite`.
async fn every_key_read_back(src: &Source, values: &[impl AsRef<str>]) {
    let t = table(src, "composite").await;
    let rows = full(src, &t, 2).await;
    for v in values {
        let v = v.as_ref();
        assert!(
            rows.iter().any(|r| r[0].as_deref() == Some(v.as_bytes())),
            "{v:?} not read back"
        );
    }
}

/// Columns read only for whether they are NULL come back as NULL or empty, in every read (full
/// in ranges, one range, the sample path), on every backend; the others as they are.
#[tokio::test]
async fn presence_only_columns_read_as_null_or_empty() {
    for kind in [Kind::Postgres, Kind::MySql, Kind::Sqlite] {
        let Some(db) = TestDb::create(kind, "presence").await else {
            continue;
        };
        db.exec(
            "CREATE TABLE seen (id int PRIMARY KEY, at timestamp NULL, v varchar(20));
             INSERT INTO seen VALUES (1, '2024-01-01 10:00:00', 'a'), (2, NULL, 'b'),
               (3, '2024-01-03 12:00:00', NULL);",
        )
        .await;
        let src = connect(&db).await;
        let t = table(&src, "seen").await;
        let want: Rows = [(1, true, Some("a")), (2, false, Some("b")), (3, true, None)]
            .iter()
            .map(|&(id, at, v)| {
                vec![
                    Some(id.to_string().into_bytes()),
                    at.then(Vec::new),
                    v.map(|s: &str| s.as_bytes().to_vec()),
                ]
            })
            .collect();
        for (mode, range_rows) in [
            (ScanMode::Full, 1),
            (ScanMode::Full, 1000),
            (ScanMode::Sample, 1000),
        ] {
            let mut opts = SampleOptions::new(100, mode);
            opts.range_rows = range_rows;
            opts.presence_only = vec![false, true, false];
            let mut rows: Rows = vec![];
            src.sample(&t, &opts, &mut |r: &[Option<&[u8]>]| {
                rows.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect())
            })
            .await
            .unwrap_or_else(|e| panic!("{kind:?} {mode:?}: {e}"));
            rows.sort();
            assert_eq!(rows, want, "{kind:?} {mode:?} ranges of {range_rows}");
        }
        if kind == Kind::MySql {
            // A MySQL zero date is a value, not NULL (as `WHERE d IS NULL` would have it on a
            // NOT NULL column): it still counts as non-null.
            db.exec(
                "SET SESSION sql_mode = '';
                 CREATE TABLE zero (id int PRIMARY KEY, d datetime NOT NULL);
                 INSERT INTO zero VALUES (1, '0000-00-00 00:00:00');",
            )
            .await;
            let t = table(&src, "zero").await;
            let mut opts = SampleOptions::new(100, ScanMode::Full);
            opts.presence_only = vec![false, true];
            let mut rows: Rows = vec![];
            src.sample(&t, &opts, &mut |r: &[Option<&[u8]>]| {
                rows.push(r.iter().map(|v| v.map(<[u8]>::to_vec)).collect())
            })
            .await
            .expect("zero-date read");
            assert_eq!(rows, vec![vec![Some(b"1".to_vec()), Some(Vec::new())]]);
        }
        src.close().await;
        db.drop_db().await;
    }
}

/// Odd text values: quotes, backslashes, COPY's own delimiters, `\N` as text, empty, spaces,
/// non-ASCII, long.
const ODD: &[&str] = &[
    "",
    " ",
    "a",
    "A",
    "a ",
    "O'Brien",
    "back\\slash",
    "\\N",
    "tab\there",
    "new\nline",
    "cr\rlf",
    "手机号",
    "ﾃｽﾄ",
    "x'); DROP TABLE t; --",
];

fn sql_lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

#[tokio::test]
async fn postgres_copy_ranges_read_every_row_once() {
    let Some(db) = TestDb::create(Kind::Postgres, "fullpg").await else {
        return;
    };
    let long = "k".repeat(3000);
    let mut values: Vec<String> = ODD.iter().map(|s| s.to_string()).collect();
    values.push(long);
    let pg_lit = |s: &str| format!("E{}", sql_lit(s));
    let inserts = composite_inserts(&values, pg_lit);
    db.exec(&format!(
        "CREATE TABLE composite (k text COLLATE \"C\", n int, note text, email text, PRIMARY KEY (k, n));
         {inserts}
         CREATE TABLE unique_nn (code varchar(20) NOT NULL UNIQUE, phone text, at timestamptz, flag boolean, raw bytea);
         INSERT INTO unique_nn SELECT 'c' || g, '139' || lpad(g::text, 8, '0'), timestamptz '2024-01-01 10:00+08' + g * interval '1 hour',
           g % 2 = 0, CASE WHEN g % 4 = 0 THEN NULL ELSE decode('00ff5c0a41', 'hex') END FROM generate_series(1, 23) g;
         CREATE TABLE nullable_unique (code text UNIQUE, v text);
         INSERT INTO nullable_unique VALUES (NULL, 'a'), (NULL, 'b'), ('x', 'c'), ('y', NULL);
         CREATE TABLE keyless (v text, w int);
         INSERT INTO keyless VALUES ('same', 1), ('same', 1), (NULL, NULL), (E'a\\tb', 2);
         CREATE TABLE \"Odd \"\"Name\"\"\" (\"Key Col\" numeric PRIMARY KEY, v text);
         INSERT INTO \"Odd \"\"Name\"\"\" VALUES (1.5, 'a'), (-2, 'b'), (1e20, 'c'), (0.000001, 'd'), (3, NULL);
         CREATE TABLE empty (id int PRIMARY KEY, v text);
         CREATE TABLE parted (id int, region text, phone text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
         CREATE TABLE parted_n PARTITION OF parted FOR VALUES IN ('n');
         CREATE TABLE parted_s PARTITION OF parted FOR VALUES IN ('s');
         INSERT INTO parted SELECT g, CASE WHEN g % 3 = 0 THEN 'n' ELSE 's' END, '139' || lpad(g::text, 8, '0')
           FROM generate_series(1, 17) g;
         CREATE TABLE family (id int PRIMARY KEY, v text);
         CREATE TABLE family_child (extra text) INHERITS (family);
         INSERT INTO family VALUES (1, 'parent'), (2, 'parent');
         INSERT INTO family_child VALUES (3, 'child', 'x'), (4, 'child', NULL);
         CREATE TABLE small_parent (id int PRIMARY KEY, v text);
         CREATE TABLE big_child () INHERITS (small_parent);
         INSERT INTO small_parent VALUES (0, 'parent');
         INSERT INTO big_child SELECT g, repeat('c', 100) FROM generate_series(1, 2000) g;
         CREATE TYPE mood AS ENUM ('calm', 'busy');
         CREATE TABLE typed (at timestamptz, c char(6), v varchar(10), ip inet, net cidr, b boolean,
           u uuid, j jsonb, js json, d date, ts timestamp(3), tm time, tmtz timetz, r real,
           dp double precision, n numeric(10,2), s smallint, arr int[], iv interval, m money,
           mac macaddr, e mood, PRIMARY KEY (at, c));
         INSERT INTO typed SELECT timestamptz '2024-03-01 08:00:00.25+08' + (g / 2) * interval '90 minutes',
           CASE WHEN g % 2 = 0 THEN 'ab' ELSE 'ab c' END, '139' || g, ('10.0.0.' || g)::inet,
           ('10.' || g || '.0.0/16')::cidr, g % 3 = 0, md5(g::text)::uuid,
           jsonb_build_object('phone', '1391234567' || (g % 10), 'n', g), json_build_object('a', g),
           date '1990-01-01' + g * 400, timestamp '2024-01-01 00:00:00.5' + g * interval '1 day',
           time '12:30' + g * interval '1 minute', timetz '12:30+08', g / 3.0, g / 7.0, g * 1.25, g,
           ARRAY[g, g + 1], g * interval '1 hour 2 minutes', g * 1.5, ('08:00:2b:01:02:' || lpad(g::text, 2, '0'))::macaddr,
           CASE WHEN g % 2 = 0 THEN 'calm'::mood ELSE 'busy'::mood END
         FROM generate_series(1, 21) g;"
    ))
    .await;
    let src = connect(&db).await;
    // Columns of many types, some read bare by COPY and some cast, keyed on a time and a
    // padded char: the same text as the sqlx path, whatever the range size.
    same_rows_every_way(&src, "typed", 21).await;
    same_rows_every_way(&src, "composite", values.len() * 2).await;
    same_rows_every_way(&src, "unique_nn", 23).await;
    same_rows_every_way(&src, "nullable_unique", 4).await;
    same_rows_every_way(&src, "keyless", 4).await;
    same_rows_every_way(&src, "Odd \"Name\"", 5).await;
    same_rows_every_way(&src, "empty", 0).await;
    // Partitions and inheritance children each have their own row addresses, which repeat:
    // these are read in key ranges, children included, every row once.
    same_rows_every_way(&src, "parted", 17).await;
    same_rows_every_way(&src, "family", 4).await;
    // A child larger than its parent: read by the parent's addresses, its later blocks would
    // never be reached.
    let t = table(&src, "small_parent").await;
    assert_eq!(full(&src, &t, 1_000_000).await.len(), 2001);
    assert_eq!(full(&src, &t, 300).await.len(), 2001);
    // The values came through unescaped.
    every_key_read_back(&src, &values).await;
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn postgres_a_stop_in_the_middle_of_a_range_leaves_the_source_usable() {
    let Some(db) = TestDb::create(Kind::Postgres, "fullstop").await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t SELECT g, repeat('v', 100) FROM generate_series(1, 20000) g;",
    )
    .await;
    let src = connect(&db).await;
    let t = table(&src, "t").await;
    let stop = Stop::new();
    let mut opts = SampleOptions::new(100, ScanMode::Full);
    opts.stop = Some(stop.clone());
    let mut seen = 0u64;
    let report = src
        .sample(&t, &opts, &mut |_: &[Option<&[u8]>]| {
            seen += 1;
            if seen == 10 {
                stop.request();
            }
        })
        .await
        .expect("a stopped read is not an error");
    assert_eq!(report.rows, 10);
    // The session whose COPY was left unread is not reused: later reads work.
    for _ in 0..3 {
        assert_eq!(full(&src, &t, 7000).await.len(), 20000);
    }
    src.close().await;
    db.drop_db().await;
}

/// Ends, from a connection of its own, every other session in the test database `name` whose
/// statement is `LIKE` `running` (`%`: every session, idle ones included); returns how many.
/// Only that uniquely named database is touched, whatever else the server holds.
async fn end_sessions(kind: Kind, url: String, name: String, running: &'static str) -> u64 {
    use sqlx::Connection;
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = $1 AND pid <> pg_backend_pid() AND coalesce(query, '') LIKE $2) k",
            )
            .bind(&name)
            .bind(running)
            .fetch_one(&mut c)
            .await
            .unwrap();
            n as u64
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
            let ids: Vec<u64> = sqlx::query_scalar(
                "SELECT CAST(id AS UNSIGNED) FROM information_schema.processlist
                  WHERE db = ? AND id <> CONNECTION_ID() AND coalesce(info, '') LIKE ?",
            )
            .bind(&name)
            .bind(running)
            .fetch_all(&mut c)
            .await
            .unwrap();
            for id in &ids {
                // KILL takes no placeholder; the id is a number the server gave.
                sqlx::raw_sql(&format!("KILL CONNECTION {id}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            ids.len() as u64
        }
        Kind::Sqlite => unreachable!("SQLite has no sessions to end"),
    }
}

/// Reads `t` (ids 1-3000) in full in ranges of `range_rows`; at row 1,000 the callback blocks
/// until `kill` (run on its own thread and runtime) has ended the reading sessions from outside
/// and said how many. Checks that the read resumed after its last key: every id read exactly
/// once, and the resume reported.
async fn resumes_after_its_session_is_killed<F>(
    src: &Source,
    t: &TableInfo,
    range_rows: u32,
    kill: impl Fn() -> F + Send + 'static,
) where
    F: std::future::Future<Output = u64>,
{
    let (ask, asked) = std::sync::mpsc::channel::<()>();
    let (told, tell) = std::sync::mpsc::channel::<u64>();
    let killer = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for () in asked {
            told.send(rt.block_on(kill())).unwrap();
        }
    });
    let mut opts = SampleOptions::new(100, ScanMode::Full);
    opts.range_rows = range_rows;
    let mut ids: Vec<i64> = Vec::new();
    let mut killed = 0;
    let (read_ids, kills) = (&mut ids, &mut killed);
    let report = src
        .sample(t, &opts, &mut move |r: &[Option<&[u8]>]| {
            let id = std::str::from_utf8(r[0].unwrap()).unwrap();
            read_ids.push(id.parse().unwrap());
            if read_ids.len() == 1000 {
                ask.send(()).unwrap();
                *kills = tell.recv().unwrap();
            }
        })
        .await
        .unwrap_or_else(|e| panic!("the read did not resume: {e}"));
    killer.join().unwrap();
    assert!(killed >= 1, "no session was killed");
    assert_eq!(report.rows, 3000);
    assert!(!report.resumed.is_empty(), "{report:?}");
    let read = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((read, ids.len()), (3000, 3000), "every row once");
    assert_eq!((ids[0], ids[2999]), (1, 3000));
}

/// Creates table `t` (ids 1-3000) with `key` (its key clause, or none) in a test database
/// named `name`, and checks that its full read in statements of `range_rows` resumes after its
/// session is terminated at row 1,000. One connection reads every range: the next statement
/// after the kill fails.
async fn postgres_resumes(name: &str, key: &str, range_rows: u32) {
    let Some(db) = TestDb::create(Kind::Postgres, name).await else {
        return;
    };
    db.exec(&format!(
        "CREATE TABLE t (id bigint {key}, phone text);
         INSERT INTO t SELECT g, '139' || lpad(g::text, 8, '0') FROM generate_series(1, 3000) g;"
    ))
    .await;
    let src = connect(&db).await;
    let t = table(&src, "t").await;
    assert_eq!(t.primary_key.is_empty(), key.is_empty());
    let (url, name) = (db.url.clone(), db.name.clone());
    resumes_after_its_session_is_killed(&src, &t, range_rows, move || {
        end_sessions(Kind::Postgres, url.clone(), name.clone(), "%")
    })
    .await;
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn postgres_a_full_read_resumes_after_its_session_is_terminated() {
    postgres_resumes("fullresume", "PRIMARY KEY", 100).await;
}

/// A heap table is read in ranges of row addresses, so a table without any key resumes too.
/// In statements of 700 rows, row 1,000 falls inside the second: the resumed read goes back to
/// the start of its range and skips the 1,000 rows already handed over, every row once.
#[tokio::test]
async fn postgres_a_keyless_table_resumes_after_its_session_is_terminated() {
    postgres_resumes("fullkeyless", "", 700).await;
}

/// A table rewritten between two ranges (VACUUM FULL gives every row a new address) fails the
/// read with a message that says so, rather than going on by addresses that no longer hold.
#[tokio::test]
async fn postgres_a_table_rewritten_during_the_read_fails_it() {
    let Some(db) = TestDb::create(Kind::Postgres, "fullrewrite").await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, phone text);
         INSERT INTO t SELECT g, '139' || lpad(g::text, 8, '0') FROM generate_series(1, 3000) g;",
    )
    .await;
    let src = connect(&db).await;
    let t = table(&src, "t").await;
    // At row 1,000 (inside a range, whose transaction holds the table), VACUUM FULL starts on
    // its own connection; the callback returns once it waits for that lock, so the rewrite
    // runs as soon as the range ends and before the next one reads.
    let (url, name) = (db.url.clone(), db.name.clone());
    let (ask, asked) = std::sync::mpsc::channel::<()>();
    let (told, tell) = std::sync::mpsc::channel::<()>();
    let rewriter = std::thread::spawn(move || {
        use sqlx::Connection;
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut watch = sqlx::PgConnection::connect(&url).await.unwrap();
            asked.recv().unwrap();
            let vacuum = async {
                sqlx::raw_sql("VACUUM FULL t").execute(&mut c).await.unwrap();
            };
            let watcher = async {
            loop {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity
                      WHERE datname = $1 AND query LIKE 'VACUUM FULL%' AND wait_event_type = 'Lock'",
                )
                .bind(&name)
                .fetch_one(&mut watch)
                .await
                .unwrap();
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            told.send(()).unwrap();
            };
            tokio::join!(vacuum, watcher);
        });
    });
    let mut opts = SampleOptions::new(100, ScanMode::Full);
    opts.range_rows = 100;
    let mut seen = 0u64;
    let count = &mut seen;
    let result = src
        .sample(&t, &opts, &mut move |_: &[Option<&[u8]>]| {
            *count += 1;
            if *count == 1000 {
                ask.send(()).unwrap();
                tell.recv().unwrap();
            }
        })
        .await;
    rewriter.join().unwrap();
    let e = result.expect_err("a read across a rewrite must fail");
    assert!(e.to_string().contains("rewritten"), "{e}");
    assert!(seen < 3000, "{seen} rows read");
    // A new read goes by the new addresses.
    assert_eq!(full(&src, &t, 100).await.len(), 3000);
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn mariadb_a_full_read_resumes_after_its_connection_is_killed() {
    let Some(db) = TestDb::create(Kind::MySql, "fullresume").await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, phone varchar(20), pad text);
         INSERT INTO t SELECT seq, CONCAT('139', LPAD(seq, 8, '0')), REPEAT('x', 10000) FROM seq_1_to_3000;",
    )
    .await;
    let src = connect(&db).await;
    let t = table(&src, "t").await;
    let (url, name) = (db.url.clone(), db.name.clone());
    // Each range takes a pooled connection (a dead idle one is replaced unseen), so the kill
    // must land inside a range: one range of 30 MB (more than the sockets buffer), killed a
    // third of the way through.
    resumes_after_its_session_is_killed(&src, &t, 3000, move || {
        end_sessions(Kind::MySql, url.clone(), name.clone(), "%")
    })
    .await;
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn mariadb_streamed_ranges_read_every_row_once() {
    let Some(db) = TestDb::create(Kind::MySql, "fullmy").await else {
        return;
    };
    // Case-insensitive, PAD SPACE collation: 'a' equals 'A' and 'a ', ' ' equals '', so those
    // cannot both be keys.
    let values: Vec<&str> = ODD
        .iter()
        .copied()
        .filter(|v| !matches!(*v, "A" | "a " | " "))
        .collect();
    let inserts = composite_inserts(&values, sql_lit);
    db.exec(&format!(
        "CREATE TABLE composite (k varchar(100) COLLATE utf8mb4_general_ci, n int, note text, email text, PRIMARY KEY (k, n));
         {inserts}
         CREATE TABLE unique_nn (code varchar(20) NOT NULL UNIQUE, phone varchar(20), at datetime);
         INSERT INTO unique_nn VALUES ('c1', '13900000001', '2024-01-01 10:00:00'), ('c10', '13900000010', NULL),
           ('c2', '13900000002', '2024-01-02 10:00:00'), ('C3', NULL, NULL), ('c4 x', '13900000004', NULL);
         CREATE TABLE keyless (v text, w int);
         INSERT INTO keyless VALUES ('same', 1), ('same', 1), (NULL, NULL);
         CREATE TABLE bin_key (k varbinary(8) PRIMARY KEY, v text);
         INSERT INTO bin_key VALUES (x'00', 'a'), (x'ff00', 'b'), (x'41', 'c'), (x'4142', 'd');"
    ))
    .await;
    let src = connect(&db).await;
    same_rows_every_way(&src, "composite", values.len() * 2).await;
    same_rows_every_way(&src, "unique_nn", 5).await;
    same_rows_every_way(&src, "keyless", 3).await;
    same_rows_every_way(&src, "bin_key", 4).await;
    // The values came through as they are.
    every_key_read_back(&src, &values).await;
    // Character types are read bare, as their text in the connection's character set (UTF-8),
    // whatever the column's own: the same bytes a cast to CHAR gives.
    db.exec(
        "CREATE TABLE kinds (id int PRIMARY KEY, c char(6), l varchar(20) CHARACTER SET latin1,
           e enum('calm','busy'), s set('a','b'), tt tinytext, mt mediumtext, lt longtext, n int);
         INSERT INTO kinds VALUES (1, 'ab', 'café', 'busy', 'a,b', 'x', '手机号', 'long', 7),
           (2, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL);",
    )
    .await;
    let t = table(&src, "kinds").await;
    let text = |v: &[&str]| -> Vec<Option<Vec<u8>>> {
        v.iter()
            .map(|s| (*s != "NULL").then(|| s.as_bytes().to_vec()))
            .collect()
    };
    let want = vec![
        text(&["1", "ab", "café", "busy", "a,b", "x", "手机号", "long", "7"]),
        text(&[
            "2", "NULL", "NULL", "NULL", "", "NULL", "NULL", "NULL", "NULL",
        ]),
    ];
    assert_eq!(full(&src, &t, 1).await, want);
    assert_eq!(sampled(&src, &t).await, want);
    src.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn sqlite_rowid_and_without_rowid_tables_read_every_row_once() {
    let Some(db) = TestDb::create(Kind::Sqlite, "fullsqlite").await else {
        return;
    };
    let mut inserts = String::new();
    for (i, v) in ODD.iter().enumerate() {
        inserts.push_str(&format!(
            "INSERT INTO wr VALUES ({}, {i});\nINSERT INTO plain (v) VALUES ({});\n",
            sql_lit(v).replace("\\\\", "\\"),
            sql_lit(v).replace("\\\\", "\\")
        ));
    }
    db.exec(&format!(
        "CREATE TABLE wr (k text PRIMARY KEY, n int) WITHOUT ROWID;
         CREATE TABLE plain (v text);
         {inserts}"
    ))
    .await;
    let src = connect(&db).await;
    same_rows_every_way(&src, "wr", ODD.len()).await;
    same_rows_every_way(&src, "plain", ODD.len()).await;
    src.close().await;
}

fn all(source: &str) -> ColumnFilter {
    ColumnFilter {
        source: Some(source.into()),
        all: true,
    }
}

/// Scans `url` in full mode into a fresh inventory with `full_range_rows`; returns the summary's
/// rows and, per column, `table.column status categories`.
async fn scan_full(url: &str, range_rows: u32) -> (u64, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[inventory]\nurl = \"sqlite://{}/inv.db\"\n[scan]\nmode = \"full\"\nfull_range_rows = {range_rows}\n\
         detect_budget = \"10m\"\n[[sources]]\nname = \"db\"\nurl = \"{url}\"\n",
        dir.path().display()
    );
    let config = Config::parse(&text, &dir.path().join("c.toml")).unwrap();
    let store = Store::open(&config.inventory.url).await.unwrap();
    let engine = Engine::load(None).unwrap();
    let s = scan_source(
        &config,
        &engine,
        &store,
        &config.sources[0],
        &NoProgress,
        &Stop::new(),
    )
    .await
    .unwrap();
    assert_eq!(s.tables_failed, 0, "{:?}", s.failures);
    let mut columns: Vec<String> = store
        .columns(&all("db"))
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let cats: Vec<String> = c
                .categories
                .iter()
                .map(|k| format!("{} {:?} {:?}", k.category, k.status, k.evidence))
                .collect();
            format!(
                ".{}.{} {:?} {cats:?} sampled={} non_null={} note={:?}",
                c.key.table, c.key.column, c.scan_status, c.sampled, c.non_null, c.scan_note
            )
        })
        .collect();
    columns.sort();
    store.close().await;
    (s.rows, columns)
}

/// A whole scan whose reading session is terminated mid-table: the table is still scanned in
/// full, once, and every column's note in the inventory says the read resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_whose_session_is_terminated_resumes_and_says_so() {
    let Some(db) = TestDb::create(Kind::Postgres, "scanresume").await else {
        return;
    };
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, phone text);
         INSERT INTO t SELECT g, '139' || lpad(g::text, 8, '0') FROM generate_series(1, 50000) g;",
    )
    .await;
    let (url, name) = (db.url.clone(), db.name.clone());
    // Terminates the first COPY it sees running in the test database (its own thread and
    // runtime, as the resume helper's killer), giving up after a minute.
    let killer = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        rt.block_on(async {
            while std::time::Instant::now() < deadline {
                let n =
                    end_sessions(Kind::Postgres, url.clone(), name.clone(), "COPY (SELECT%").await;
                if n > 0 {
                    return n;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            0
        })
    });
    let (rows, columns) = scan_full(&db.url, 1000).await;
    let killed = killer.join().unwrap();
    assert!(killed >= 1, "the scan ran with no COPY seen");
    assert_eq!(rows, 50_000);
    for c in &columns {
        assert!(c.contains("sampled=50000"), "{c}");
        assert!(
            c.contains("read resumed 1 time(s) after the last row read"),
            "{c}"
        );
    }
    assert!(
        columns.iter().any(|c| c.starts_with(".t.phone Personal")),
        "{columns:?}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_scan_over_many_ranges_classifies_like_one_range() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = TestDb::create(kind, "fullscan").await else {
            return;
        };
        let gen = match kind {
            Kind::Postgres => {
                "INSERT INTO people SELECT g, '139' || lpad(g::text, 8, '0'), 'user' || g || '@example.com', 'note ' || g FROM generate_series(1, 5000) g;"
            }
            _ => {
                "CREATE TABLE d (n int);
                 INSERT INTO d VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
                 INSERT INTO people SELECT g, CONCAT('139', LPAD(g, 8, '0')), CONCAT('user', g, '@example.com'), CONCAT('note ', g)
                 FROM (SELECT 1 + a.n + 10 * b.n + 100 * c.n + 1000 * e.n AS g FROM d a, d b, d c, d e) s WHERE g <= 5000;
                 DROP TABLE d;"
            }
        };
        db.exec(&format!(
            "CREATE TABLE people (id int PRIMARY KEY, mobile varchar(20), email varchar(100), note text);
             {gen}
             CREATE TABLE tags (tag varchar(20), n int);
             INSERT INTO tags VALUES ('a', 1), ('b', 2);
             CREATE TABLE visits (id int PRIMARY KEY, mobile_at timestamp, mobile varchar(20), left_at timestamp NULL);
             INSERT INTO visits VALUES (1, '2024-01-01 10:00:00', '13912345678', '2024-01-01 10:30:00'),
               (2, '2024-01-02 11:00:00', '13812345678', NULL), (3, '2024-01-03 12:00:00', '13712345678', '2024-01-03 12:05:00');"
        ))
        .await;
        let mut rows = 5005;
        if kind == Kind::Postgres {
            db.exec(
                "CREATE DOMAIN datestr AS text;
                 CREATE TABLE contacts (id int PRIMARY KEY, reach datestr);
                 INSERT INTO contacts VALUES (1, '13912345678'), (2, '13812345678'), (3, '13712345678');",
            )
            .await;
            rows += 3;
        }
        let (rows_one, one) = scan_full(&db.url, 1_000_000).await;
        let (rows_many, many) = scan_full(&db.url, 7).await;
        assert_eq!(rows_one, rows, "{kind:?}");
        assert_eq!(rows_many, rows_one, "{kind:?}");
        assert_eq!(many, one, "{kind:?}");
        let mobile = one.iter().find(|c| c.contains(".people.mobile ")).unwrap();
        assert!(
            mobile.contains("phone") && mobile.contains("sampled=5000"),
            "{mobile}"
        );
        // The server keeps only timestamps in a timestamp column, which can hold only birth
        // dates, and those count only in a column named as one: not searched, and the evidence
        // says so; the text column beside it is searched by every detector.
        let at = one
            .iter()
            .find(|c| c.contains(".visits.mobile_at "))
            .unwrap();
        assert!(
            at.contains("not searched")
                && at.contains("nothing but birth_date")
                && !at.contains("phone")
                && at.contains("sampled=3 non_null=3"),
            "{at}"
        );
        // Such a column is read only for whether each value is NULL, and counts as before.
        let left = one.iter().find(|c| c.contains(".visits.left_at ")).unwrap();
        assert!(
            left.contains("not searched") && left.contains("sampled=3 non_null=2"),
            "{left}"
        );
        if kind == Kind::Postgres {
            // A domain over text named like a date type is text: searched in full.
            let reach = one.iter().find(|c| c.contains(".contacts.reach ")).unwrap();
            assert!(
                reach.contains("phone") && reach.contains("note=None"),
                "{reach}"
            );
        }
        let text = one.iter().find(|c| c.contains(".visits.mobile ")).unwrap();
        assert!(
            text.contains("phone") && text.contains("note=None"),
            "{text}"
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn two_megabyte_values_are_read_in_small_ranges() {
    let Some(db) = TestDb::create(Kind::Postgres, "fullbig").await else {
        return;
    };
    db.exec(
        "CREATE TABLE docs (id int PRIMARY KEY, body text);
         INSERT INTO docs SELECT g, 'contact user' || g || '@example.com ' || repeat('lorem ipsum ', 180000)
           FROM generate_series(1, 6) g;",
    )
    .await;
    let src = connect(&db).await;
    let t = table(&src, "docs").await;
    let rows = full(&src, &t, 1_000_000).await;
    assert_eq!(rows.len(), 6);
    assert!(rows
        .iter()
        .all(|r| r[1].as_ref().is_some_and(|b| b.len() > 2_000_000)));
    assert_eq!(full(&src, &t, 1).await, rows);
    src.close().await;
    let (n, columns) = scan_full(&db.url, 50_000).await;
    assert_eq!(n, 6);
    let body = columns.iter().find(|c| c.contains(".docs.body ")).unwrap();
    assert!(body.contains("email"), "{body}");
    db.drop_db().await;
}

#[tokio::test]
async fn mariadb_views_without_lineage_catalogue_are_read() {
    let Some(db) = TestDb::create(Kind::MySql, "fullviews").await else {
        return;
    };
    db.exec(
        "CREATE TABLE members (id int PRIMARY KEY, email varchar(100));
         INSERT INTO members VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com');
         CREATE VIEW member_emails AS SELECT id, email AS contact FROM members;",
    )
    .await;
    let src = connect(&db).await;
    // MariaDB has no VIEW_TABLE_USAGE: no lineage, no error.
    assert_eq!(src.view_lineage().await.expect("no error"), vec![]);
    src.close().await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[inventory]\nurl = \"sqlite://{}/inv.db\"\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n",
        dir.path().display(),
        db.url
    );
    let config = Config::parse(&text, &dir.path().join("c.toml")).unwrap();
    let store = Store::open(&config.inventory.url).await.unwrap();
    let engine = Engine::load(None).unwrap();
    let s = scan_source(
        &config,
        &engine,
        &store,
        &config.sources[0],
        &NoProgress,
        &Stop::new(),
    )
    .await
    .unwrap();
    assert_eq!(s.tables_failed, 0, "{:?}", s.failures);
    let contact = store
        .columns(&all("db"))
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key.table == "member_emails" && c.key.column == "contact")
        .expect("view column recorded");
    // Read (3 values), not inherited.
    assert_eq!(contact.sampled, 3, "{contact:?}");
    assert!(contact.scan_note.is_none(), "{contact:?}");
    store.close().await;
    db.drop_db().await;
}

/// Two rows per key value into `composite (k, n, note, email)`, every third e-mail NULL;
/// `lit` writes a string literal for the backend.
fn composite_inserts<S: AsRef<str>>(values: &[S], lit: impl Fn(&str) -> String) -> String {
    let mut inserts = String::new();
    for (i, v) in values.iter().enumerate() {
        let v = v.as_ref();
        for n in [1, 2] {
            let email = if i % 3 == 0 {
                "NULL".to_string()
            } else {
                format!("'user{i}@example.com'")
            };
            inserts.push_str(&format!(
                "INSERT INTO composite VALUES ({}, {n}, {}, {email});\n",
                lit(v),
                lit(&format!("{v}|{n}")),
            ));
        }
    }
    inserts
}
