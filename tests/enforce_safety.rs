//! Enforcement never changes rows no policy allows, on the real servers: filters are one checked
//! expression (an escaping filter is refused before anything runs and the held row survives), a
//! filter may name its own table, the dry run runs the run's preflight and predicts its outcome
//! with the documented exit codes (0 ok, 3 refused, 4 braked, 5 locked), delete policies have a
//! default brake, and targets the database would reject (generated, array, JSON columns) are
//! refused up front. Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

mod common;
use common::{dw, enforce, text};

use std::path::PathBuf;

use common::{Kind, TestDb};
use datawarden::config::Config;
use datawarden::sources::{Access, Source};

const ALL: [Kind; 3] = [Kind::Postgres, Kind::MySql, Kind::Sqlite];

struct Db {
    test: TestDb,
    dir: tempfile::TempDir,
    inv: common::Inventory,
}

impl Db {
    async fn new(kind: Kind, purpose: &str) -> Option<Db> {
        let test = TestDb::create(kind, purpose).await?;
        Some(Db {
            test,
            dir: tempfile::tempdir().unwrap(),
            inv: common::Inventory::temp(),
        })
    }

    fn kind(&self) -> Kind {
        self.test.kind
    }

    /// A timestamp `days` ago, as an SQL expression of this backend.
    fn days_ago(&self, days: i64) -> String {
        match self.kind() {
            Kind::Postgres => format!("now() - interval '{days} days'"),
            Kind::MySql => format!("NOW() - INTERVAL {days} DAY"),
            Kind::Sqlite => format!("datetime('now', '-{days} days')"),
        }
    }

    fn ts_type(&self) -> &'static str {
        match self.kind() {
            Kind::Postgres => "timestamptz",
            Kind::MySql => "DATETIME",
            Kind::Sqlite => "TEXT",
        }
    }

    /// `members` (id, closed_at, status, phone, note) with `old` rows closed 400 days ago and
    /// `new` rows closed 10 days ago; row 2 carries the legal hold note `hold`.
    async fn members(&self, old: i64, new: i64) {
        let mut sql = format!(
            "CREATE TABLE members (id BIGINT PRIMARY KEY, closed_at {} NULL, status VARCHAR(20) NOT NULL, \
             phone VARCHAR(200) NULL, note VARCHAR(50) NULL);\n",
            self.ts_type()
        );
        for i in 1..=(old + new) {
            let ts = self.days_ago(if i <= old { 400 } else { 10 });
            let note = if i == 2 { "'hold'" } else { "NULL" };
            sql += &format!(
                "INSERT INTO members VALUES ({i}, {ts}, 'closed', '1381234{i:04}', {note});\n"
            );
        }
        self.test.exec(&sql).await;
    }

    /// Writes an encryption key and a config with source `db` and `policies`.
    fn config(&self, policies: &str) -> PathBuf {
        let key = self.dir.path().join("enc.key");
        if !key.exists() {
            let o = dw(&["keys", "generate", "--output", key.to_str().unwrap()]);
            assert!(o.status.success(), "{}", text(&o));
        }
        let p = self.dir.path().join("dw.toml");
        std::fs::write(
            &p,
            format!(
                "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n\
                 [keys]\nencryption = \"file:{}\"\n\n{policies}",
                self.inv.url,
                self.test.url,
                key.display()
            ),
        )
        .unwrap();
        p
    }

    async fn source(&self) -> Source {
        let p = self.dir.path().join("source-only.toml");
        std::fs::write(
            &p,
            format!(
                "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n",
                self.inv.url, self.test.url
            ),
        )
        .unwrap();
        let c = Config::load(&p).unwrap();
        Source::connect(c.source("db").unwrap(), &c.scan, Access::ReadWrite)
            .await
            .unwrap()
    }

    async fn ids(&self, table: &str) -> Vec<i64> {
        let src = self.source().await;
        let rows = src
            .fetch_rows(
                &format!(
                    "SELECT {} FROM {table} ORDER BY id",
                    src.dialect().cast_text("id")
                ),
                &[],
            )
            .await
            .unwrap();
        src.close().await;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r[0].as_deref().unwrap().parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }
}

fn policy(action: &str, extra: &str) -> String {
    format!(
        "[[policies]]\nname = \"p\"\ndescription = \"Closed accounts are handled after 90 days\"\n\
         source = \"db\"\ntable = \"members\"\ntimestamp_column = \"closed_at\"\nretain = \"90d\"\n\
         action = \"{action}\"\n{extra}\n"
    )
}

/// A filter that closes its own parentheses would OR itself past the legal hold: check-config and
/// enforce refuse it (naming file, line and key) and the held row survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escaping_filter_is_refused_and_the_held_row_survives() {
    for kind in ALL {
        let Some(db) = Db::new(kind, "safe_filter").await else {
            continue;
        };
        db.members(4, 0).await;
        let cfg = db.config(&policy(
            "delete",
            "max_share = 1.0\nlegal_hold = \"note = 'hold'\"\n\
             filter = \"status = 'closed') OR (status = 'deleted'\"",
        ));
        let o = dw(&["check-config", "--config", cfg.to_str().unwrap()]);
        let out = text(&o);
        assert!(!o.status.success(), "{kind:?}: {out}");
        assert!(
            out.contains("policies[0].filter") && out.contains("`)` closes more than was opened"),
            "{kind:?}: {out}"
        );
        for extra in [&["--dry-run"][..], &[]] {
            let o = enforce(&cfg, extra);
            assert!(!o.status.success(), "{kind:?}: {}", text(&o));
        }
        assert_eq!(db.ids("members").await, vec![1, 2, 3, 4], "{kind:?}");
        // The same condition written as one expression runs, and the hold holds.
        let cfg = db.config(&policy(
            "delete",
            "max_share = 1.0\nlegal_hold = \"note = 'hold'\"\n\
             filter = \"(status = 'closed') OR (status = 'deleted')\"",
        ));
        let o = enforce(&cfg, &[]);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        assert_eq!(db.ids("members").await, vec![2], "{kind:?}");
        db.test.drop_db().await;
    }
}

/// A filter may name its table (a correlated subquery): the dry run and the run build the same
/// statements, so it works in both (transforms update the table under its own name), and a filter
/// naming a missing column fails the dry run as it would fail the run (exit 3, refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_naming_its_own_table_works_in_the_dry_run_and_the_run() {
    for kind in ALL {
        let Some(db) = Db::new(kind, "safe_corr").await else {
            continue;
        };
        db.members(6, 0).await;
        db.test
            .exec(
                "CREATE TABLE login_log (id BIGINT PRIMARY KEY, member_id BIGINT NOT NULL);\n\
                 INSERT INTO login_log VALUES (1, 1);\nINSERT INTO login_log VALUES (2, 4);\n",
            )
            .await;
        let filter =
            "NOT EXISTS (SELECT 1 FROM login_log l WHERE l.member_id = members.id)".to_string();
        for action in ["encrypt", "delete"] {
            let extra = format!(
                "{}max_share = 1.0\nbatch_size = 2\nfilter = \"{filter}\"",
                if action == "encrypt" {
                    "columns = [\"phone\"]\n"
                } else {
                    ""
                }
            );
            let cfg = db.config(&policy(action, &extra));
            let o = enforce(&cfg, &["--dry-run"]);
            assert_eq!(o.status.code(), Some(0), "{kind:?} {action}: {}", text(&o));
            assert!(
                text(&o).contains("rows that would be affected: 4"),
                "{kind:?} {action}: {}",
                text(&o)
            );
            let o = enforce(&cfg, &[]);
            assert_eq!(o.status.code(), Some(0), "{kind:?} {action}: {}", text(&o));
        }
        // Encrypted first (rows 2, 3, 5, 6), then deleted: rows with a login stay.
        assert_eq!(db.ids("members").await, vec![1, 4], "{kind:?}");
        let cfg = db.config(&policy(
            "encrypt",
            "columns = [\"phone\"]\nfilter = \"NOT EXISTS (SELECT 1 FROM login_log l WHERE l.member_id = members.no_such_column)\"",
        ));
        let o = enforce(&cfg, &["--dry-run"]);
        let out = text(&o);
        let run = enforce(&cfg, &[]);
        assert_eq!(
            o.status.code(),
            run.status.code(),
            "{kind:?}: the dry run predicts the run: {out} / {}",
            text(&run)
        );
        assert_eq!(o.status.code(), Some(3), "{kind:?}: {out}");
        assert!(out.contains("no_such_column"), "{kind:?}: {out}");
        db.test.drop_db().await;
    }
}

/// Deletion cannot be undone: a delete policy without max_rows/max_share stops at half the
/// table. The dry run says so and exits 4 like the run; nothing is deleted; `max_share = 1.0`
/// lifts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_policies_have_a_default_brake_that_the_dry_run_predicts() {
    for kind in ALL {
        let Some(db) = Db::new(kind, "safe_brake").await else {
            continue;
        };
        db.members(6, 4).await;
        let cfg = db.config(&policy("delete", ""));
        let o = enforce(&cfg, &["--dry-run"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(4), "{kind:?}: {out}");
        assert!(
            out.contains("would STOP") && out.contains("default brake"),
            "{kind:?}: {out}"
        );
        let o = enforce(&cfg, &["--dry-run", "--sample-keys", "3"]);
        assert!(
            text(&o).contains("sample keys: 1, 2, 3\n"),
            "{kind:?}: {}",
            text(&o)
        );
        let o = enforce(&cfg, &[]);
        assert_eq!(o.status.code(), Some(4), "{kind:?}: {}", text(&o));
        assert_eq!(
            db.ids("members").await.len(),
            10,
            "{kind:?}: nothing deleted"
        );
        // Under half the table: no brake.
        let cfg = db.config(&policy("delete", "filter = \"id <= 4\""));
        let o = enforce(&cfg, &["--dry-run"]);
        assert_eq!(o.status.code(), Some(0), "{kind:?}: {}", text(&o));
        let cfg = db.config(&policy("delete", "max_share = 1.0"));
        let o = enforce(&cfg, &[]);
        assert_eq!(o.status.code(), Some(0), "{kind:?}: {}", text(&o));
        assert_eq!(db.ids("members").await, vec![7, 8, 9, 10], "{kind:?}");
        db.test.drop_db().await;
    }
}

/// Columns the database would not let encrypt write are refused by the preflight, in the dry
/// run (exit 3) as in the run, before any batch: generated columns, arrays, MariaDB JSON columns
/// (CHECK json_valid) and other CHECK constraints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_the_database_would_reject_are_refused_up_front() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = Db::new(kind, "safe_targets").await else {
            continue;
        };
        let ddl = match kind {
            Kind::Postgres => {
                "CREATE TABLE members (id BIGINT PRIMARY KEY, closed_at timestamptz, phone text, \
                 phone_digits text GENERATED ALWAYS AS (replace(phone, '-', '')) STORED, \
                 phones text[], doc text CHECK (doc LIKE '{%'), extra jsonb);"
            }
            _ => {
                "CREATE TABLE members (id BIGINT PRIMARY KEY, closed_at DATETIME, phone TEXT, \
                 phone_digits VARCHAR(200) AS (replace(phone, '-', '')) STORED, \
                 phones TEXT, doc JSON, extra TEXT CHECK (extra <> 'x'));"
            }
        };
        db.test.exec(ddl).await;
        db.test
            .exec(&format!(
                "INSERT INTO members (id, closed_at, phone) VALUES (1, {}, '138-1234-5678');",
                db.days_ago(400)
            ))
            .await;
        let mut cases = vec![
            ("phone_digits", "generated"),
            ("doc", if kind == Kind::MySql { "JSON" } else { "CHECK" }),
        ];
        match kind {
            Kind::Postgres => cases.push(("phones", "array")),
            _ => cases.push(("extra", "CHECK")),
        }
        for (column, why) in cases {
            let cfg = db.config(&policy("encrypt", &format!("columns = [\"{column}\"]")));
            for extra in [&["--dry-run"][..], &[]] {
                let o = enforce(&cfg, extra);
                let out = text(&o);
                assert_eq!(o.status.code(), Some(3), "{kind:?} {column}: {out}");
                assert!(
                    out.contains("refused")
                        && out.contains(&format!("`{column}`"))
                        && out.contains(why),
                    "{kind:?} {column}: {out}"
                );
            }
        }
        // A plain text column of the same table is fine.
        let cfg = db.config(&policy("encrypt", "columns = [\"phone\"]"));
        let o = enforce(&cfg, &[]);
        assert_eq!(o.status.code(), Some(0), "{kind:?}: {}", text(&o));
        db.test.drop_db().await;
    }
}

/// A runner that finds the policy locked by another says it skipped, exits 5 and reports no
/// rows of the other runner's as its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_finds_the_policy_locked_says_it_skipped() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = Db::new(kind, "safe_lock").await else {
            continue;
        };
        db.members(3, 0).await;
        let cfg = db.config(&policy("delete", "max_share = 1.0"));
        let holder = db.source().await;
        let lock = holder
            .try_lock("policy:p")
            .await
            .unwrap()
            .expect("lock taken by the test");
        let o = enforce(&cfg, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(5), "{kind:?}: {out}");
        assert!(
            out.contains("skipped") && !out.contains("rows in"),
            "{kind:?}: {out}"
        );
        assert_eq!(db.ids("members").await.len(), 3, "{kind:?}");
        lock.release().await.unwrap();
        holder.close().await;
        let o = enforce(&cfg, &[]);
        assert_eq!(o.status.code(), Some(0), "{kind:?}: {}", text(&o));
        db.test.drop_db().await;
    }
}

/// Requests a stop as soon as a batch has done every eligible row (as SIGTERM would, just after
/// the last batch committed).
#[derive(Debug)]
struct StopWhenDone(datawarden::stop::Stop);

impl datawarden::progress::BatchObserver for StopWhenDone {
    fn batch(&self, _task: &str, done: &datawarden::progress::BatchDone) {
        if done.rows_done >= done.rows_total {
            self.0.request();
        }
    }
}

/// A run whose rows were all done when the stop came is completed, not stopped; a stop with rows
/// left stops it (and the next run resumes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_after_the_last_batch_leaves_a_completed_run() {
    use datawarden::retention::{run_policy, Outcome, RunOptions};
    let Some(db) = Db::new(Kind::Sqlite, "safe_stop").await else {
        return;
    };
    for (batch, expected) in [(10, Outcome::Completed), (2, Outcome::Stopped)] {
        db.test.exec("DROP TABLE IF EXISTS members").await;
        db.members(6, 0).await;
        let cfg = db.config(&policy(
            "encrypt",
            &format!("columns = [\"phone\"]\nbatch_size = {batch}"),
        ));
        let config = Config::load(&cfg).unwrap();
        let stop = datawarden::stop::Stop::new();
        let opts = RunOptions {
            progress: Some(std::sync::Arc::new(StopWhenDone(stop.clone()))),
            ..RunOptions::default()
        };
        if expected == Outcome::Stopped {
            // Stop after the first batch, with rows left.
            stop.request();
        }
        let report = run_policy(&config, &config.policies[0], &opts, &stop)
            .await
            .unwrap();
        assert_eq!(report.outcome, expected, "batch_size {batch}: {report:?}");
        db.inv.wipe().await;
    }
    db.test.drop_db().await;
}

/// A raw value that already holds a lone `*` (`*VIP*`) is still masked: only the shapes the
/// masker writes count as masked, in the statements as in the code; a second run changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_with_a_star_is_still_masked() {
    for kind in ALL {
        let Some(db) = Db::new(kind, "safe_star").await else {
            continue;
        };
        db.members(2, 0).await;
        db.test
            .exec("UPDATE members SET phone = '*VIP* call 13812345678' WHERE id = 1")
            .await;
        let cfg = db.config(&policy("mask", "columns = [\"phone\"]"));
        let o = enforce(&cfg, &[]);
        assert_eq!(o.status.code(), Some(0), "{kind:?}: {}", text(&o));
        assert!(text(&o).contains("2 rows"), "{kind:?}: {}", text(&o));
        let src = db.source().await;
        let rows = src
            .fetch_rows("SELECT phone FROM members ORDER BY id", &[])
            .await
            .unwrap();
        src.close().await;
        let star = rows[0][0].clone().unwrap();
        assert!(
            star.contains("138****5678") && !star.contains("13812345678"),
            "{kind:?}: {star}"
        );
        let o = enforce(&cfg, &[]);
        assert!(text(&o).contains("0 rows"), "{kind:?}: {}", text(&o));
        db.test.drop_db().await;
    }
}
