//! Deletes and foreign keys as PostgreSQL and MySQL really declare them, through the binary:
//! per-partition foreign keys (pagila), `delete_children` naming a partitioned parent or one
//! partition, refusals before the first batch, rows removed or changed in child and grandchild
//! tables counted in the audit trail, trigger warnings, and failed batches that name the policy.
//! Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use datawarden::config::Config;
use datawarden::sources::{Access, Source};

mod common;
use common::OutputWithin;
use common::{enforce, text};

struct Db {
    test: common::TestDb,
    dir: tempfile::TempDir,
    inv: common::Inventory,
}

impl Db {
    async fn create(kind: common::Kind, purpose: &str) -> Option<Db> {
        Some(Db {
            test: common::TestDb::create(kind, purpose).await?,
            dir: tempfile::tempdir().unwrap(),
            inv: common::Inventory::temp(),
        })
    }

    /// Writes a config with `policies` (one `[[policies]]` block each, source `db`).
    fn config(&self, policies: &str) -> PathBuf {
        let text = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n{policies}",
            self.inv.url, self.test.url,
        );
        let p = self.dir.path().join("dw.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    async fn source(&self) -> Source {
        let c = Config::load(&self.config("")).unwrap();
        Source::connect(c.source("db").unwrap(), &c.scan, Access::ReadOnly)
            .await
            .unwrap()
    }
}

/// A policy; delete policies that set no brake get `max_share = 1.0` (these tests delete most of
/// a table on purpose; the default brake of deletes is tested elsewhere).
fn policy(name: &str, table: &str, action: &str, ts: &str, extra: &str) -> String {
    let extra = if action == "delete" && !extra.contains("max_") {
        format!("max_share = 1.0\n{extra}")
    } else {
        extra.to_string()
    };
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"{name}\"\nsource = \"db\"\ntable = \"{table}\"\n\
         timestamp_column = \"{ts}\"\nretain = \"90d\"\naction = \"{action}\"\n{extra}\n\n"
    )
}

/// `SELECT COUNT(*)` of a table (`table` as written, already quoted if needed).
async fn rows(src: &Source, table: &str) -> i64 {
    let r = src
        .fetch_rows(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .unwrap();
    r[0][0].as_deref().unwrap().parse().unwrap()
}

/// The audit trail's records of one policy as `audit export --format json` gives them.
fn audit(cfg: &Path, policy: &str) -> Vec<serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["audit", "export", "--format", "json", "--config"])
        .arg(cfg)
        .output_within();
    assert!(o.status.success(), "{}", text(&o));
    let recs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    recs.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["policy"] == policy)
        .cloned()
        .collect()
}

/// The `cascaded` counts of the policy's batch records, summed per table.
fn cascaded(cfg: &Path, policy: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for r in audit(cfg, policy).iter().filter(|r| r["kind"] == "batch") {
        if let Some(m) = r["cascaded"].as_object() {
            for (t, n) in m {
                *out.entry(t.clone()).or_insert(0) += n.as_i64().unwrap();
            }
        }
    }
    out
}

/// pagila in small: `rental` (ids 1-20; 1-10 rented 400 days ago), `payment` partitioned by month
/// with each partition declaring its own foreign key to `rental` (NO ACTION), two payments per
/// rental (one per partition); `rental_note` -> `note_tag` a CASCADE chain of depth 2 (3 notes per
/// rental, 2 tags per note); `review` with ON DELETE SET NULL; `customer` with pagila's
/// `last_update` trigger.
const PAGILA: &str = r#"
CREATE TABLE customer (customer_id int PRIMARY KEY, first_name text,
  last_update timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.last_update = CURRENT_TIMESTAMP; RETURN NEW; END $$;
CREATE TRIGGER last_updated BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION last_updated();
INSERT INTO customer SELECT g, 'name' || g, now() - interval '400 days' FROM generate_series(1, 5) g;
CREATE TABLE rental (rental_id int PRIMARY KEY, rental_date timestamptz NOT NULL,
  customer_id int REFERENCES customer);
INSERT INTO rental SELECT g, now() - CASE WHEN g <= 10 THEN interval '400 days' ELSE interval '10 days' END,
  1 + g % 5 FROM generate_series(1, 20) g;
CREATE TABLE payment (payment_id int NOT NULL, rental_id int NOT NULL, amount numeric(5,2),
  payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
  PARTITION BY RANGE (payment_date);
CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
ALTER TABLE payment_p2022_01 ADD CONSTRAINT payment_p2022_01_rental_id_fkey
  FOREIGN KEY (rental_id) REFERENCES rental (rental_id);
ALTER TABLE payment_p2022_02 ADD CONSTRAINT payment_p2022_02_rental_id_fkey
  FOREIGN KEY (rental_id) REFERENCES rental (rental_id);
INSERT INTO payment SELECT g, g, 1.99, '2022-01-15' FROM generate_series(1, 20) g;
INSERT INTO payment SELECT 100 + g, g, 2.99, '2022-02-15' FROM generate_series(1, 20) g;
CREATE TABLE rental_note (note_id int PRIMARY KEY,
  rental_id int NOT NULL REFERENCES rental ON DELETE CASCADE, body text);
INSERT INTO rental_note SELECT g, 1 + (g - 1) / 3, 'n' FROM generate_series(1, 60) g;
CREATE TABLE note_tag (tag_id int PRIMARY KEY,
  note_id int NOT NULL REFERENCES rental_note ON DELETE CASCADE);
INSERT INTO note_tag SELECT g, 1 + (g - 1) / 2 FROM generate_series(1, 120) g;
CREATE TABLE review (review_id int PRIMARY KEY, rental_id int REFERENCES rental ON DELETE SET NULL);
INSERT INTO review SELECT g, g FROM generate_series(1, 20) g;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_partition_foreign_keys_block_up_front_and_delete_children_covers_them() {
    let Some(db) = Db::create(common::Kind::Postgres, "fk_pagila").await else {
        return;
    };
    db.test.exec(PAGILA).await;
    let src = db.source().await;
    let extra = "batch_size = 3";

    // Without delete_children: refused by the preflight, in the dry run and the run, naming the
    // per-partition foreign key; nothing deleted, no batch audited.
    let cfg = db.config(&policy(
        "rentals",
        "public.rental",
        "delete",
        "rental_date",
        extra,
    ));
    for args in [&["--dry-run"][..], &[]] {
        let o = enforce(&cfg, args);
        let t = text(&o);
        assert!(!o.status.success(), "{args:?}: {t}");
        assert!(
            t.contains("policy rentals") && t.contains("payment_p2022_01_rental_id_fkey"),
            "{args:?}: {t}"
        );
        assert!(
            t.contains("list \"payment\" in delete_children"),
            "the partitioned table is suggested: {args:?}: {t}"
        );
    }
    assert_eq!(rows(&src, "rental").await, 20);
    assert_eq!(rows(&src, "payment").await, 40);
    assert_eq!(rows(&src, "rental_note").await, 60);
    assert!(audit(&cfg, "rentals").iter().all(|r| r["kind"] != "batch"));

    // One partition listed: the other partition's key still blocks, before the first batch.
    let cfg = db.config(&policy(
        "rentals",
        "public.rental",
        "delete",
        "rental_date",
        &format!("{extra}\ndelete_children = [\"public.payment_p2022_01\"]"),
    ));
    let o = enforce(&cfg, &[]);
    let t = text(&o);
    assert!(
        !o.status.success() && t.contains("payment_p2022_02_rental_id_fkey"),
        "{t}"
    );
    assert_eq!(rows(&src, "payment_p2022_01").await, 20, "{t}");
    assert_eq!(rows(&src, "rental").await, 20);

    // The partitioned parent listed: every partition's rows go first. The dry run lists each
    // foreign key with its rule and estimates what the other tables lose.
    let cfg = db.config(&policy(
        "rentals",
        "public.rental",
        "delete",
        "rental_date",
        &format!("{extra}\ndelete_children = [\"public.payment\"]"),
    ));
    let o = enforce(&cfg, &["--dry-run"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for needle in [
        "payment_p2022_01_rental_id_fkey: ON DELETE NO ACTION; referencing rows are deleted first",
        "payment_p2022_02_rental_id_fkey: ON DELETE NO ACTION",
        "rental_note_rental_id_fkey: referencing rows are deleted by the database (ON DELETE CASCADE)",
        "note_tag_note_id_fkey (via public.rental_note -> public.rental)",
        "review_rental_id_fkey: referencing columns are set to NULL",
        "public.note_tag: 60",
        "public.rental_note: 30",
        "public.review: 10",
        "public.payment_p2022_01: 10",
    ] {
        assert!(t.contains(needle), "`{needle}` missing:\n{t}");
    }
    let before: Vec<i64> = child_counts(&src).await;
    let o = enforce(&cfg, &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let ids = src
        .fetch_rows("SELECT rental_id::text FROM rental ORDER BY rental_id", &[])
        .await
        .unwrap();
    let ids: Vec<i64> = ids
        .iter()
        .map(|r| r[0].as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (11..=20).collect::<Vec<_>>(),
        "exactly the old rentals"
    );
    let paid = src
        .fetch_rows(
            "SELECT DISTINCT rental_id::text FROM payment ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(paid.len(), 10, "their payments, in both partitions");
    assert!(paid
        .iter()
        .all(|r| r[0].as_deref().unwrap().parse::<i64>().unwrap() > 10));
    let after = child_counts(&src).await;
    let nulled = rows(&src, "review WHERE rental_id IS NULL").await;
    let real = BTreeMap::from([
        ("public.note_tag".to_string(), before[3] - after[3]),
        ("public.payment_p2022_01".to_string(), before[0] - after[0]),
        ("public.payment_p2022_02".to_string(), before[1] - after[1]),
        ("public.rental_note".to_string(), before[2] - after[2]),
        ("public.review".to_string(), nulled),
    ]);
    assert_eq!(
        real.values().copied().collect::<Vec<_>>(),
        [60, 10, 10, 30, 10]
    );
    let audited = cascaded(&cfg, "rentals");
    assert_eq!(audited, real, "audited side effects = rows really changed");
    assert!(
        t.contains("public.note_tag 60") && t.contains("public.rental_note 30"),
        "the summary totals them: {t}"
    );
    let batches = audit(&cfg, "rentals")
        .iter()
        .filter(|r| r["kind"] == "batch")
        .count();
    assert!(batches >= 4, "batch_size 3: {batches} batches");
    let verify = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["audit", "verify", "--config"])
        .arg(&cfg)
        .output_within();
    assert!(verify.status.success(), "{}", text(&verify));

    // pagila's last_update trigger: a transform on customer would restart every row's clock.
    let cfg2 = db.config(&policy(
        "names",
        "public.customer",
        "nullify",
        "last_update",
        "columns = [\"first_name\"]",
    ));
    let o = enforce(&cfg2, &["--dry-run"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("last_updated: BEFORE UPDATE")
            && t.contains("warning: trigger last_updated (BEFORE UPDATE) on public.customer writes the timestamp column `last_update`"),
        "{t}"
    );
    let o = enforce(&cfg2, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let started = audit(&cfg2, "names")
        .into_iter()
        .find(|r| r["kind"] == "run_started")
        .unwrap();
    assert!(
        started["warnings"][0]
            .as_str()
            .unwrap()
            .contains("last_updated"),
        "{started}"
    );
    src.close().await;
    db.test.drop_db().await;
}

/// Rows of payment_p2022_01, payment_p2022_02, rental_note, note_tag.
async fn child_counts(src: &Source) -> Vec<i64> {
    let mut out = vec![];
    for t in [
        "payment_p2022_01",
        "payment_p2022_02",
        "rental_note",
        "note_tag",
    ] {
        out.push(rows(src, t).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failed_batch_names_the_policy_and_the_table() {
    let Some(db) = Db::create(common::Kind::Postgres, "fk_fail").await else {
        return;
    };
    db.test
        .exec(
            "CREATE TABLE archive_guard (id int PRIMARY KEY, created_at timestamptz NOT NULL);
             INSERT INTO archive_guard SELECT g, now() - interval '400 days' FROM generate_series(1, 5) g;
             CREATE FUNCTION no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'rows of this table are kept by the archive'; END $$;
             CREATE TRIGGER guard BEFORE DELETE ON archive_guard FOR EACH ROW EXECUTE FUNCTION no_delete();",
        )
        .await;
    let cfg = db.config(&policy(
        "guarded",
        "archive_guard",
        "delete",
        "created_at",
        "",
    ));
    let o = enforce(&cfg, &["--dry-run"]);
    assert!(
        text(&o).contains("warning: trigger guard (BEFORE DELETE) on public.archive_guard"),
        "{}",
        text(&o)
    );
    let o = enforce(&cfg, &[]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("policy guarded: batch 1 on public.archive_guard failed and was rolled back")
            && t.contains("kept by the archive"),
        "{t}"
    );
    let failed = audit(&cfg, "guarded")
        .into_iter()
        .find(|r| r["outcome"] == "failed")
        .unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("public.archive_guard"),
        "{failed}"
    );
    db.test.drop_db().await;
}

/// `members` <- `orders` (CASCADE) <- `order_items` (CASCADE), and a decoy database on the same
/// server with the same tables and ids, its `orders` referencing its own `members`.
const SHOP: &str = "
CREATE TABLE members (id BIGINT PRIMARY KEY, closed_at DATETIME NOT NULL) ENGINE = InnoDB;
CREATE TABLE orders (id BIGINT PRIMARY KEY, member_id BIGINT NOT NULL,
  CONSTRAINT orders_member_fk FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE) ENGINE = InnoDB;
CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL,
  CONSTRAINT items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE) ENGINE = InnoDB;
INSERT INTO members (id, closed_at) SELECT seq, CASE WHEN seq <= 6 THEN NOW() - INTERVAL 400 DAY
  ELSE NOW() - INTERVAL 10 DAY END FROM seq_1_to_10;
INSERT INTO orders (id, member_id) SELECT seq, 1 + (seq - 1) DIV 2 FROM seq_1_to_20;
INSERT INTO order_items (id, order_id) SELECT seq, 1 + (seq - 1) DIV 3 FROM seq_1_to_60;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cascades_are_counted_in_the_policy_database_only() {
    let Some(db) = Db::create(common::Kind::MySql, "fk_shop").await else {
        return;
    };
    let Some(decoy) = common::TestDb::create(common::Kind::MySql, "fk_decoy").await else {
        return;
    };
    db.test.exec(SHOP).await;
    decoy.exec(SHOP).await;
    // The decoy's orders also reference the policy database's members: a real child, counted.
    decoy
        .exec(&format!(
            "CREATE TABLE orders_elsewhere (id BIGINT PRIMARY KEY, member_id BIGINT NOT NULL,
               CONSTRAINT elsewhere_fk FOREIGN KEY (member_id) REFERENCES `{}`.members (id) ON DELETE CASCADE)
               ENGINE = InnoDB;
             INSERT INTO orders_elsewhere VALUES (1, 1), (2, 9);",
            db.test.name
        ))
        .await;
    let src = db.source().await;
    let cfg = db.config(&policy(
        "closed",
        "members",
        "delete",
        "closed_at",
        "batch_size = 4",
    ));
    let o = enforce(&cfg, &["--dry-run"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let (me, other) = (&db.test.name, &decoy.name);
    for needle in [
        format!("{me}.orders: 12"),
        format!("{me}.order_items: 36"),
        format!("{other}.orders_elsewhere: 1"),
    ] {
        assert!(t.contains(&needle), "`{needle}` missing:\n{t}");
    }
    assert!(!t.contains(&format!("{other}.orders:")), "{t}");
    let o = enforce(&cfg, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(rows(&src, "members").await, 4);
    assert_eq!(rows(&src, "orders").await, 8);
    assert_eq!(rows(&src, "order_items").await, 24);
    let decoy_q = |t: &str| format!("`{other}`.{t}");
    assert_eq!(rows(&src, &decoy_q("members")).await, 10, "decoy untouched");
    assert_eq!(rows(&src, &decoy_q("orders")).await, 20);
    assert_eq!(rows(&src, &decoy_q("order_items")).await, 60);
    assert_eq!(rows(&src, &decoy_q("orders_elsewhere")).await, 1);
    assert_eq!(
        cascaded(&cfg, "closed"),
        BTreeMap::from([
            (format!("{me}.order_items"), 36),
            (format!("{me}.orders"), 12),
            (format!("{other}.orders_elsewhere"), 1),
        ])
    );
    src.close().await;
    db.test.drop_db().await;
    decoy.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_recovered_after_a_crash_keeps_its_cascade_counts() {
    let Some(db) = Db::create(common::Kind::Postgres, "fk_crash").await else {
        return;
    };
    db.test
        .exec(
            "CREATE TABLE account (id int PRIMARY KEY, closed_at timestamptz NOT NULL);
             INSERT INTO account SELECT g, now() - interval '400 days' FROM generate_series(1, 8) g;
             CREATE TABLE login (id int PRIMARY KEY,
               account_id int NOT NULL REFERENCES account ON DELETE CASCADE);
             INSERT INTO login SELECT g, 1 + (g - 1) % 8 FROM generate_series(1, 24) g;",
        )
        .await;
    let cfg = db.config(&policy(
        "accounts",
        "account",
        "delete",
        "closed_at",
        "batch_size = 2",
    ));
    // Killed after the source commit of batch 2, before its audit record.
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["enforce", "--config", cfg.to_str().unwrap()])
        .env("DATAWARDEN_FAILPOINT", "after-commit:2")
        .output_within();
    assert!(!o.status.success(), "{}", text(&o));
    let o = enforce(&cfg, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let recs = audit(&cfg, "accounts");
    let recovered = recs
        .iter()
        .find(|r| r["outcome"] == "recovered")
        .expect("batch 2 recovered");
    assert_eq!(recovered["cascaded"]["public.login"], 6, "{recovered}");
    let src = db.source().await;
    assert_eq!(rows(&src, "login").await, 0);
    assert_eq!(
        cascaded(&cfg, "accounts"),
        BTreeMap::from([("public.login".to_string(), 24)])
    );
    src.close().await;
    db.test.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keys_referencing_a_partition_of_the_policy_table_are_followed() {
    let Some(db) = Db::create(common::Kind::Postgres, "fk_ppart").await else {
        return;
    };
    db.test
        .exec(
            "CREATE TABLE visit (id int NOT NULL, visited_at timestamptz NOT NULL,
               PRIMARY KEY (id, visited_at)) PARTITION BY RANGE (visited_at);
             CREATE TABLE visit_old PARTITION OF visit FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
             CREATE TABLE visit_new PARTITION OF visit FOR VALUES FROM ('2024-01-01') TO ('2100-01-01');
             INSERT INTO visit SELECT g, CASE WHEN g <= 6 THEN '2020-06-01'::timestamptz
               ELSE now() END FROM generate_series(1, 10) g;
             CREATE TABLE visit_note (id int PRIMARY KEY, visit_id int NOT NULL,
               visited_at timestamptz NOT NULL, FOREIGN KEY (visit_id, visited_at)
               REFERENCES visit_old (id, visited_at) ON DELETE CASCADE);
             INSERT INTO visit_note SELECT g, 1 + (g - 1) % 6, '2020-06-01' FROM generate_series(1, 12) g;",
        )
        .await;
    let cfg = db.config(&policy(
        "visits",
        "public.visit",
        "delete",
        "visited_at",
        "batch_size = 4",
    ));
    let o = enforce(&cfg, &["--dry-run"]);
    let t = text(&o);
    assert!(
        t.contains(
            "visit_note_visit_id_visited_at_fkey: referencing rows are deleted by the database"
        ) && t.contains("public.visit_note: 12"),
        "{t}"
    );
    let o = enforce(&cfg, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let src = db.source().await;
    assert_eq!(rows(&src, "visit").await, 4);
    assert_eq!(rows(&src, "visit_note").await, 0);
    assert_eq!(
        cascaded(&cfg, "visits"),
        BTreeMap::from([("public.visit_note".to_string(), 12)])
    );
    src.close().await;
    db.test.drop_db().await;
}
