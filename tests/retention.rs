//! Retention enforcement against the real servers (PostgreSQL, MariaDB, SQLite) through the binary:
//! transforms, filters, holds, dry run, decrypt, pseudonyms, FK handling, preflight, brake, audit
//! chain and SIGKILL resume. Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, Utc};
use datawarden::config::Config;
use datawarden::sources::{Access, Bind, Source};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Pg,
    My,
    Lite,
}

mod common;
use common::OutputWithin;
use common::{dw, dw_stdin, enforce, text};

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
    let dir = tempfile::tempdir().unwrap();
    Some(Db {
        kind,
        url: test.url.clone(),
        test,
        inv: common::Inventory::new(dir.path()),
        dir,
    })
}

impl Db {
    async fn drop_db(self) {
        self.test.drop_db().await;
    }

    fn ts_type(&self) -> &'static str {
        match self.kind {
            Kind::Pg => "timestamptz",
            Kind::My => "DATETIME",
            Kind::Lite => "TEXT",
        }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Writes keys (via the binary) and a config with `policies`; returns its path.
    fn config(&self, policies: &str) -> PathBuf {
        for k in ["enc.key", "ps.key"] {
            if !self.path(k).exists() {
                let o = dw(&[
                    "keys",
                    "generate",
                    "--output",
                    self.path(k).to_str().unwrap(),
                ]);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
        }
        let text = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n[keys]\nencryption = \"file:{}\"\npseudonym = \"file:{}\"\n\n{policies}",
            self.inv.url,
            self.url,
            self.path("enc.key").display(),
            self.path("ps.key").display()
        );
        let p = self.path("dw.toml");
        std::fs::write(&p, text).unwrap();
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

/// Every row of a table, every column as text, ordered by `id`.
async fn dump(src: &Source, table: &str, cols: &[&str]) -> Vec<Vec<Option<String>>> {
    let d = src.dialect();
    let list: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} AS c{i}", d.cast_text(&d.quote_ident(c))))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        list.join(", "),
        d.quote_ident(table),
        d.quote_ident("id")
    );
    src.fetch_rows(&sql, &[]).await.unwrap()
}

/// `users`: id, created_at, status, mobile, email, note. Rows 1..=n_old are 400 days old, the rest
/// 10 days; every 5th row has status 'open'.
async fn users(src: &Source, db: &Db, table: &str, n_old: i64, n_new: i64, width: u32) {
    let d = src.dialect();
    let t = d.quote_ident(table);
    src.execute(
        &format!(
            "CREATE TABLE {t} (id BIGINT PRIMARY KEY, created_at {} NULL, status VARCHAR(20) NOT NULL, \
             mobile VARCHAR({width}) NULL, email VARCHAR({width}) NULL, note VARCHAR(50) NULL)",
            db.ts_type()
        ),
        &[],
    )
    .await
    .unwrap();
    let now = Utc::now();
    for i in 1..=(n_old + n_new) {
        let ts = if i <= n_old {
            now - Duration::days(400)
        } else {
            now - Duration::days(10)
        };
        let status = if i % 5 == 0 { "open" } else { "closed" };
        let sql = format!(
            "INSERT INTO {t} (id, created_at, status, mobile, email, note) VALUES ({}, {}, {}, {}, {}, {})",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3),
            d.placeholder(4),
            d.placeholder(5),
            d.placeholder(6)
        );
        let note = if i == 7 {
            Bind::Text("hold".into())
        } else {
            Bind::Null
        };
        src.execute(
            &sql,
            &[
                Bind::Int(i),
                Bind::Timestamp(ts),
                Bind::Text(status.into()),
                Bind::Text(format!("1381234{:04}", i)),
                Bind::Text(format!("User{i}@Example.com")),
                note,
            ],
        )
        .await
        .unwrap();
    }
}

const ALL: [Kind; 3] = [Kind::Pg, Kind::My, Kind::Lite];

/// A policy on `table`; delete policies that set no brake get `max_share = 1.0` (these tests
/// delete most of a table on purpose; the default brake has its own test).
fn policy(name: &str, table: &str, action: &str, extra: &str) -> String {
    let brake = if action == "delete" && !extra.contains("max_") {
        "max_share = 1.0\n"
    } else {
        ""
    };
    let extra = format!("{brake}{extra}");
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"Closed accounts: {action} after 1 year\"\nsource = \"db\"\n\
         table = \"{table}\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\naction = \"{action}\"\n{extra}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_honours_filter_and_holds_dry_run_decrypt_and_audit() {
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_enc").await else {
            continue;
        };
        let src = db.source().await;
        users(&src, &db, "users", 20, 5, 200).await;
        let cfg = db.config(&policy(
            "enc",
            "users",
            "encrypt",
            "columns = [\"mobile\", \"email\"]\nfilter = \"status = 'closed'\"\nlegal_hold = \"note = 'hold'\"\nbatch_size = 4\n\
             [[policies.holds]]\ncolumn = \"id\"\nvalues = [\"3\"]\nreason = \"case 42\"\n",
        ));
        let cols = ["id", "created_at", "status", "mobile", "email", "note"];
        let before = dump(&src, "users", &cols).await;

        // Dry run: nothing changes, the preview counts qualifying and held rows.
        let o = enforce(&cfg, &["--dry-run"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let out = text(&o);
        // 20 old rows, 4 of them 'open' -> 16 qualify; rows 3 and 7 held.
        assert!(out.contains("rows that qualify: 16"), "{kind:?}: {out}");
        assert!(out.contains("rows held: 2"), "{kind:?}: {out}");
        assert!(
            !out.contains("1381234"),
            "dry run printed personal values: {out}"
        );
        assert_eq!(
            dump(&src, "users", &cols).await,
            before,
            "{kind:?}: dry run changed the table"
        );
        assert!(
            !db.inv.exists().await,
            "dry run created the inventory store"
        );

        let o = enforce(&cfg, &[]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let after = dump(&src, "users", &cols).await;
        let mut envelopes = Vec::new();
        for (b, a) in before.iter().zip(&after) {
            let id: i64 = b[0].as_deref().unwrap().parse().unwrap();
            let expect = id <= 20 && id % 5 != 0 && id != 3 && id != 7;
            assert_eq!(a[..3], b[..3], "{kind:?}: key/timestamp/status changed");
            if expect {
                for c in [3, 4] {
                    let v = a[c].as_deref().unwrap();
                    assert!(v.starts_with("dw1:"), "{kind:?} row {id}: {v}");
                    envelopes.push((c, v.to_string(), b[c].clone().unwrap()));
                }
            } else {
                assert_eq!(a, b, "{kind:?}: row {id} outside the policy was touched");
            }
        }
        assert_eq!(envelopes.len(), 28);

        // Decrypt round trip through the binary, per column.
        for (c, name) in [(3, "mobile"), (4, "email")] {
            let input: String = envelopes
                .iter()
                .filter(|e| e.0 == c)
                .map(|e| format!("{}\n", e.1))
                .collect();
            let expect: String = envelopes
                .iter()
                .filter(|e| e.0 == c)
                .map(|e| format!("{}\n", e.2))
                .collect();
            let args = [
                "decrypt",
                "--config",
                cfg.to_str().unwrap(),
                "--source",
                "db",
                "--table",
                "users",
                "--column",
                name,
            ];
            let o = dw_stdin(&args, &input);
            assert!(o.status.success(), "{kind:?}: {}", text(&o));
            assert_eq!(String::from_utf8_lossy(&o.stdout), expect);
        }
        // Tampered ciphertext and the wrong column fail clearly.
        let env = &envelopes[0].1;
        let mut tampered = env.clone().into_bytes();
        let n = tampered.len() - 3;
        tampered[n] = if tampered[n] == b'A' { b'B' } else { b'A' };
        let args = [
            "decrypt",
            "--config",
            cfg.to_str().unwrap(),
            "--source",
            "db",
            "--table",
            "users",
            "--column",
            "mobile",
        ];
        let o = dw_stdin(
            &args,
            &format!("{}\n", String::from_utf8(tampered).unwrap()),
        );
        assert!(
            !o.status.success() && text(&o).contains("does not authenticate"),
            "{}",
            text(&o)
        );

        // Second run is a no-op.
        let o = enforce(&cfg, &[]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert!(text(&o).contains("0 rows"), "{}", text(&o));
        assert_eq!(
            dump(&src, "users", &cols).await,
            after,
            "{kind:?}: second run changed values"
        );

        // Audit chain: intact, then broken by an edit and by a deletion.
        let verify = || dw(&["audit", "verify", "--config", cfg.to_str().unwrap()]);
        let o = verify();
        assert!(o.status.success(), "{}", text(&o));
        let o = dw(&[
            "audit",
            "export",
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let recs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let batch_rows: i64 = recs
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "batch")
            .map(|r| r["rows_affected"].as_i64().unwrap())
            .sum();
        assert_eq!(
            batch_rows, 14,
            "{kind:?}: audit batches must sum to the rows encrypted"
        );
        let inv = &db.inv;
        inv.exec(
            "UPDATE retention_audit SET rows_affected = rows_affected + 1 WHERE seq = 3",
            &[],
        )
        .await;
        let o = verify();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("record 3"), "{}", text(&o));
        inv.exec(
            "UPDATE retention_audit SET rows_affected = rows_affected - 1 WHERE seq = 3",
            &[],
        )
        .await;
        assert!(verify().status.success());
        inv.exec("DELETE FROM retention_audit WHERE seq = 2", &[])
            .await;
        let o = verify();
        assert_eq!(o.status.code(), Some(1));
        assert!(text(&o).contains("record 3"), "{}", text(&o));

        // A config whose key is another one: decrypt fails naming the key id; enforce on a fresh
        // table with a missing key file fails and changes nothing.
        std::fs::rename(db.path("enc.key"), db.path("old.key")).unwrap();
        let cfg = db.config("");
        let o = dw_stdin(&args, &format!("{env}\n"));
        assert!(
            !o.status.success() && text(&o).contains("no key with id"),
            "{}",
            text(&o)
        );
        let _ = cfg;
        std::fs::remove_file(db.path("enc.key")).unwrap();
        users(&src, &db, "users2", 5, 0, 200).await;
        let before2 = dump(&src, "users2", &cols).await;
        let text_cfg = std::fs::read_to_string(db.path("dw.toml")).unwrap()
            + &policy("enc2", "users2", "encrypt", "columns = [\"mobile\"]\n");
        std::fs::write(db.path("dw.toml"), text_cfg).unwrap();
        let o = enforce(&db.path("dw.toml"), &[]);
        assert!(
            !o.status.success() && text(&o).contains("enc.key"),
            "{}",
            text(&o)
        );
        assert_eq!(dump(&src, "users2", &cols).await, before2);
        src.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudonyms_join_across_tables_and_preflight_refusals() {
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_ps").await else {
            continue;
        };
        let src = db.source().await;
        users(&src, &db, "a", 6, 2, 100).await;
        users(&src, &db, "b", 6, 2, 100).await;
        // b spells the same values differently: +86 prefix, separators, upper-case e-mail.
        let d = src.dialect();
        for i in 1..=8i64 {
            let sql = format!(
                "UPDATE b SET mobile = {}, email = {} WHERE id = {}",
                d.placeholder(1),
                d.placeholder(2),
                d.placeholder(3)
            );
            let binds = [
                Bind::Text(format!("+86 138-1234-{i:04}")),
                Bind::Text(format!(" USER{i}@EXAMPLE.COM")),
                Bind::Int(i),
            ];
            src.execute(&sql, &binds).await.unwrap();
        }
        users(&src, &db, "narrow", 3, 0, 20).await;
        src.execute(
            "CREATE TABLE nokey (created_at VARCHAR(30), mobile VARCHAR(200))",
            &[],
        )
        .await
        .unwrap();
        let cfg = db.config(
            &(policy(
                "pa",
                "a",
                "pseudonymize",
                "columns = [\"mobile\", \"email\"]",
            ) + &policy(
                "pb",
                "b",
                "pseudonymize",
                "columns = [\"mobile\", \"email\"]",
            ) + &policy("short", "narrow", "encrypt", "columns = [\"mobile\"]")
                + &policy("nokey", "nokey", "nullify", "columns = [\"mobile\"]")
                + &policy(
                    "brake",
                    "narrow",
                    "mask",
                    "columns = [\"mobile\"]\nmax_share = 0.5",
                )),
        );
        for p in ["pa", "pb"] {
            let o = enforce(&cfg, &["--policy", p]);
            assert!(o.status.success(), "{kind:?}: {}", text(&o));
        }
        let cols = ["id", "mobile", "email"];
        let (a, b) = (dump(&src, "a", &cols).await, dump(&src, "b", &cols).await);
        for (x, y) in a.iter().zip(&b).take(6) {
            assert_eq!(
                x, y,
                "{kind:?}: equal normalized values must get equal pseudonyms"
            );
        }
        assert!(a[0][1].as_deref().unwrap().starts_with("dwp1:"));
        assert!(
            a[7][1].as_deref().unwrap().starts_with("1381234"),
            "fresh row untouched"
        );
        let o = enforce(&cfg, &["--policy", "short"]);
        assert!(
            !o.status.success() && text(&o).contains("widen"),
            "{kind:?}: {}",
            text(&o)
        );
        let o = enforce(&cfg, &["--policy", "nokey"]);
        assert!(
            !o.status.success() && text(&o).contains("no primary key"),
            "{kind:?}: {}",
            text(&o)
        );
        let before = dump(&src, "narrow", &["id", "mobile"]).await;
        let o = enforce(&cfg, &["--policy", "brake"]);
        assert!(
            !o.status.success() && text(&o).contains("safety brake"),
            "{kind:?}: {}",
            text(&o)
        );
        assert_eq!(dump(&src, "narrow", &["id", "mobile"]).await, before);
        let o = enforce(&cfg, &["--policy", "brake", "--override-brake"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let masked = dump(&src, "narrow", &["id", "mobile"]).await;
        assert_eq!(masked[0][1].as_deref(), Some("138****0001"), "{kind:?}");
        src.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_foreign_keys() {
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_fk").await else {
            continue;
        };
        let src = db.source().await;
        if kind == Kind::Lite {
            // Foreign keys are enforced per connection in SQLite; sqlx turns them on by default.
        }
        users(&src, &db, "users", 10, 3, 100).await;
        src.execute(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id))",
            &[],
        )
        .await
        .unwrap();
        for i in 1..=13i64 {
            src.execute(
                &format!("INSERT INTO orders (id, user_id) VALUES ({i}, {i})"),
                &[],
            )
            .await
            .unwrap();
        }
        let cfg = db.config(&policy(
            "del",
            "users",
            "delete",
            "batch_size = 3\nlegal_hold = \"note = 'hold'\"",
        ));
        let o = enforce(&cfg, &[]);
        assert!(
            !o.status.success() && text(&o).contains("delete_children"),
            "{kind:?}: {}",
            text(&o)
        );
        assert_eq!(dump(&src, "users", &["id"]).await.len(), 13);
        let cfg = db.config(&policy(
            "del",
            "users",
            "delete",
            "batch_size = 3\nlegal_hold = \"note = 'hold'\"\ndelete_children = [\"orders\"]",
        ));
        let o = enforce(&cfg, &["--dry-run"]);
        assert!(text(&o).contains("deleted first"), "{kind:?}: {}", text(&o));
        let o = enforce(&cfg, &[]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let left: Vec<String> = dump(&src, "users", &["id"])
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        assert_eq!(
            left,
            ["7", "11", "12", "13"],
            "{kind:?}: held (7) and fresh rows kept"
        );
        let orders: Vec<String> = dump(&src, "orders", &["id"])
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        assert_eq!(orders, left);
        src.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_resumes_to_the_same_result_as_a_clean_run() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_kill").await else {
            continue;
        };
        let src = db.source().await;
        users(&src, &db, "killed", 60, 10, 100).await;
        users(&src, &db, "clean", 60, 10, 100).await;
        let extra = "columns = [\"mobile\", \"email\"]\nbatch_size = 5\npause = \"150ms\"\nfilter = \"status = 'closed'\"";
        let cfg = db.config(
            &(policy("k", "killed", "pseudonymize", extra)
                + &policy("c", "clean", "pseudonymize", extra)),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_datawarden"))
            .args([
                "enforce",
                "--config",
                cfg.to_str().unwrap(),
                "--policy",
                "k",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until at least two batches committed, then SIGKILL.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            assert!(std::time::Instant::now() < deadline, "no batches committed");
            let n = db
                .inv
                .try_scalar(
                    "SELECT COUNT(*) FROM retention_audit WHERE kind = 'batch'",
                    &[],
                )
                .await
                .unwrap_or(0);
            if n >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        // Both tables hold the same values; their timestamps differ by the time it took to insert.
        let cols = ["id", "status", "mobile", "email", "note"];
        let mid = dump(&src, "killed", &cols).await;
        let done = mid
            .iter()
            .filter(|r| r[2].as_deref().unwrap().starts_with("dwp1:"))
            .count();
        assert!(
            done > 0 && done < 48,
            "{kind:?}: killed mid-run, {done} rows done"
        );
        let o = enforce(&cfg, &["--policy", "k"]);
        assert!(
            o.status.success() && text(&o).contains("resumed"),
            "{kind:?}: {}",
            text(&o)
        );
        let o = enforce(&cfg, &["--policy", "c"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert_eq!(
            dump(&src, "killed", &cols).await,
            dump(&src, "clean", &cols).await,
            "{kind:?}"
        );
        let cps = db
            .inv
            .scalar("SELECT COUNT(*) FROM retention_checkpoint", &[])
            .await;
        assert_eq!(cps, 0, "finished runs clear their checkpoint");
        assert!(dw(&["audit", "verify", "--config", cfg.to_str().unwrap()])
            .status
            .success());
        src.close().await;
        db.drop_db().await;
    }
}

/// Audit `batch` records of a policy: rows affected per batch.
fn batch_rows(cfg: &Path, policy: &str) -> Vec<i64> {
    common::batch_records(cfg, policy)
        .into_iter()
        .map(|(rows, _)| rows)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_nullify_batches_repeat_every_condition_and_respect_batch_size() {
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_batches").await else {
            continue;
        };
        let src = db.source().await;
        // Single key: filter, legal hold (id 7) and a hold by value (id 12) are all honoured.
        users(&src, &db, "people", 30, 5, 100).await;
        let cfg = db.config(&policy(
            "batch_del",
            "people",
            "delete",
            "batch_size = 4\nfilter = \"status = 'closed'\"\nlegal_hold = \"note = 'hold'\"\n\
             holds = [{ column = \"id\", values = [\"12\"], reason = \"case 1\" }]",
        ));
        let o = enforce(&cfg, &[]);
        // Policy names are advisory-lock names, server-wide on MySQL: unique across tests.
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let left: Vec<i64> = dump(&src, "people", &["id"])
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap().parse().unwrap())
            .collect();
        let expected: Vec<i64> = (1..=35)
            .filter(|i| *i > 30 || i % 5 == 0 || *i == 7 || *i == 12)
            .collect();
        assert_eq!(left, expected, "{kind:?}: {}", text(&o));
        let batches = batch_rows(&cfg, "batch_del");
        assert!(
            batches.iter().all(|n| *n <= 4),
            "{kind:?}: batch_size is a hard bound: {batches:?}"
        );
        assert_eq!(batches.iter().sum::<i64>(), 35 - expected.len() as i64);

        // Composite key: nullify, then delete, in batches of 2; (2, 2) is held.
        let d = src.dialect();
        let t = d.quote_ident("pairs");
        src.execute(
            &format!(
                "CREATE TABLE {t} (a INTEGER NOT NULL, b INTEGER NOT NULL, created_at {} NULL, \
                 secret VARCHAR(20) NULL, note VARCHAR(20) NULL, PRIMARY KEY (a, b))",
                db.ts_type()
            ),
            &[],
        )
        .await
        .unwrap();
        let now = Utc::now();
        for a in 1..=3i64 {
            for b in 1..=4i64 {
                let ts = if b <= 3 {
                    now - Duration::days(400)
                } else {
                    now - Duration::days(10)
                };
                let note = if (a, b) == (2, 2) { "hold" } else { "-" };
                src.execute(
                    &format!(
                        "INSERT INTO {t} (a, b, created_at, secret, note) VALUES ({}, {}, {}, {}, {})",
                        d.placeholder(1),
                        d.placeholder(2),
                        d.placeholder(3),
                        d.placeholder(4),
                        d.placeholder(5)
                    ),
                    &[
                        Bind::Int(a),
                        Bind::Int(b),
                        Bind::Timestamp(ts),
                        Bind::Text(format!("s{a}{b}")),
                        Bind::Text(note.into()),
                    ],
                )
                .await
                .unwrap();
            }
        }
        let pairs = || async {
            src.fetch_rows(
                &format!(
                    "SELECT {}, {}, {} FROM {t} ORDER BY a, b",
                    d.cast_text("a"),
                    d.cast_text("b"),
                    d.cast_text("secret")
                ),
                &[],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                format!(
                    "{}{}:{}",
                    r[0].clone().unwrap(),
                    r[1].clone().unwrap(),
                    r[2].clone().unwrap_or_else(|| "NULL".into())
                )
            })
            .collect::<Vec<_>>()
        };
        let extra = "batch_size = 2\nlegal_hold = \"note = 'hold'\"";
        let cfg = db.config(&format!(
            "{}{}",
            policy(
                "batch_nul",
                "pairs",
                "nullify",
                &format!("columns = [\"secret\"]\n{extra}")
            ),
            policy("batch_delp", "pairs", "delete", extra)
        ));
        let o = enforce(&cfg, &["--policy", "batch_nul"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert_eq!(
            pairs().await,
            [
                "11:NULL", "12:NULL", "13:NULL", "14:s14", "21:NULL", "22:s22", "23:NULL",
                "24:s24", "31:NULL", "32:NULL", "33:NULL", "34:s34"
            ],
            "{kind:?}"
        );
        let batches = batch_rows(&cfg, "batch_nul");
        assert!(batches.iter().all(|n| *n <= 2), "{kind:?}: {batches:?}");
        assert_eq!(batches.iter().sum::<i64>(), 8, "{kind:?}");
        // A second run finds nothing left to nullify.
        let o = enforce(&cfg, &["--policy", "batch_nul"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert_eq!(
            batch_rows(&cfg, "batch_nul").iter().sum::<i64>(),
            8,
            "{kind:?}"
        );
        let o = enforce(&cfg, &["--policy", "batch_delp"]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert_eq!(
            pairs().await,
            ["14:s14", "22:s22", "24:s24", "34:s34"],
            "{kind:?}"
        );
        assert!(batch_rows(&cfg, "batch_delp").iter().all(|n| *n <= 2));
        assert!(dw(&["audit", "verify", "--config", cfg.to_str().unwrap()])
            .status
            .success());
        src.close().await;
        db.drop_db().await;
    }
}

/// A process that dies between a batch's commit on the source and its audit record (or just
/// before the commit) resumes with an audit trail that accounts for every row: the batch in flight
/// is confirmed on the source and recorded as `recovered`, or found rolled back and redone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_committed_but_unrecorded_when_killed_is_recorded_on_resume() {
    for kind in ALL {
        let Some(db) = make_db(kind, "ret_gap").await else {
            continue;
        };
        let src = db.source().await;
        let mut policies = String::new();
        let cases = [
            ("delete", "after-commit"),
            ("delete", "before-commit"),
            ("pseudonymize", "after-commit"),
            ("pseudonymize", "before-commit"),
        ];
        for (i, (action, _)) in cases.iter().enumerate() {
            let table = format!("gap{i}");
            users(&src, &db, &table, 30, 5, 100).await;
            policies += &policy(
                &format!("p{i}"),
                &table,
                action,
                &format!(
                    "{}batch_size = 4\nfilter = \"status = 'closed'\"",
                    if *action == "delete" {
                        ""
                    } else {
                        "columns = [\"mobile\"]\n"
                    }
                ),
            );
        }
        let cfg = db.config(&policies);
        for (i, (action, point)) in cases.iter().enumerate() {
            let name = format!("p{i}");
            let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
                .args([
                    "enforce",
                    "--config",
                    cfg.to_str().unwrap(),
                    "--policy",
                    &name,
                ])
                .env("DATAWARDEN_FAILPOINT", format!("{point}:2"))
                .output_within();
            assert!(!o.status.success(), "{kind:?} {action} {point}: aborted");
            let committed = if *point == "after-commit" { 8 } else { 4 };
            assert_eq!(
                common::batch_records(&cfg, &name).len(),
                1,
                "{kind:?} {action} {point}: only batch 1 recorded before the abort"
            );
            let table = format!("gap{i}");
            let done = |rows: &[Vec<Option<String>>]| match *action {
                "delete" => 35 - rows.len(),
                _ => rows
                    .iter()
                    .filter(|r| r[1].as_deref().is_some_and(|m| m.starts_with("dwp1:")))
                    .count(),
            };
            let rows = dump(&src, &table, &["id", "mobile"]).await;
            assert_eq!(done(&rows), committed, "{kind:?} {action} {point}");

            let o = enforce(&cfg, &["--policy", &name]);
            assert!(
                o.status.success(),
                "{kind:?} {action} {point}: {}",
                text(&o)
            );
            let rows = dump(&src, &table, &["id", "mobile"]).await;
            assert_eq!(
                done(&rows),
                24,
                "{kind:?} {action} {point}: every eligible row"
            );
            let recs = common::batch_records(&cfg, &name);
            let total: i64 = recs.iter().map(|(n, _)| n).sum();
            assert_eq!(
                total, 24,
                "{kind:?} {action} {point}: the trail accounts for every row: {recs:?}"
            );
            let recovered = recs.iter().filter(|(_, o)| o == "recovered").count();
            assert_eq!(
                recovered,
                usize::from(*point == "after-commit"),
                "{kind:?} {action} {point}: {recs:?}"
            );
        }
        assert!(dw(&["audit", "verify", "--config", cfg.to_str().unwrap()])
            .status
            .success());
        src.close().await;
        db.drop_db().await;
    }
}
