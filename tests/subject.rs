//! Data subject requests against the real servers (PostgreSQL, MariaDB, SQLite) through the
//! binary: `subject find` on a four-table fixture (members, orders (kept), vehicles, inquiries
//! with free text) finds exactly the person's rows in every spelling, in free text, through
//! foreign keys and by pseudonym; `subject erase --dry-run` changes nothing; a legal hold blocks
//! part of an erase and is reported; a kill mid-erase resumes; afterwards nothing is found, the
//! kept table keeps its rows, no other person's row changes and `audit verify` passes.

mod common;
use common::OutputWithin;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{dw, text, Inventory, Kind, TestDb};

const PERSON: &str = "13800138000";

/// The erasure of request REQ-1: the person's phone and e-mail, encrypted values decrypted.
const ERASE: &[&str] = &[
    "subject",
    "erase",
    "--phone",
    PERSON,
    "--email",
    "lilei@example.com",
    "--decrypt",
    "--request",
    "REQ-1",
];

struct Fx {
    db: TestDb,
    /// The inventory: SQLite in `dir`, or PostgreSQL with `DATAWARDEN_TEST_INVENTORY=postgres`.
    inv: Inventory,
    dir: tempfile::TempDir,
}

impl Fx {
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// The config: keys, the source, a pseudonymize policy on members.backup_phone, the kept
    /// `orders`, and (with `hold`) a legal hold on inquiries.
    fn config(&self, hold: bool, extra: &str) -> PathBuf {
        for k in ["enc.key", "ps.key"] {
            if !self.path(k).exists() {
                let o = dw(&[
                    "keys",
                    "generate",
                    "--output",
                    self.path(k).to_str().unwrap(),
                ]);
                assert!(o.status.success(), "{}", text(&o));
            }
        }
        let hold = if hold {
            "[[policies]]\nname = \"inquiries-hold\"\ndescription = \"holds\"\nsource = \"shop\"\n\
             table = \"inquiries\"\nretain = \"0d\"\naction = \"delete\"\nfilter = \"1 = 0\"\n\
             legal_hold = \"held = 1\"\n\n"
        } else {
            ""
        };
        let text = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"shop\"\nurl = \"{}\"\n\n\
             [keys]\nencryption = \"file:{}\"\npseudonym = \"file:{}\"\n\n\
             [[policies]]\nname = \"backup-phones\"\ndescription = \"old phones are pseudonymized\"\n\
             source = \"shop\"\ntable = \"members\"\nretain = \"0d\"\naction = \"pseudonymize\"\n\
             columns = [\"backup_phone\"]\n\n\
             [[policies]]\nname = \"old-emails\"\ndescription = \"old e-mails are encrypted\"\n\
             source = \"shop\"\ntable = \"members\"\nretain = \"0d\"\naction = \"encrypt\"\n\
             columns = [\"old_email\"]\n\n{hold}\
             [subject_requests]\nrespond_within = \"15d\"\n{extra}\n\
             [[subject_requests.keep]]\nsource = \"shop\"\ntable = \"orders\"\naction = \"mask\"\n",
            self.inv.url,
            self.db.url,
            self.path("enc.key").display(),
            self.path("ps.key").display()
        );
        let p = self.path("dw.toml");
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn phone(i: u32) -> String {
    format!("1390000{i:04}")
}

/// The four tables. Person: member 1 (phone), member 5 (an old account whose backup phone is
/// pseudonymized), vehicle 1 (member 1), orders 1-2 (member 1), order 3 (another member's order
/// to the person's phone, formatted), order 4 (the person's phone in another member's note, next
/// to another person's number), inquiries 1-2 (free text, formatted), 3 (member 1, no phone),
/// 4 (member 1, held when the hold is configured). Everyone else: generated rows.
fn fixture(kind: Kind) -> String {
    let text_t = "TEXT";
    let mut s = String::new();
    s.push_str(
        "CREATE TABLE members (id BIGINT PRIMARY KEY, name VARCHAR(50), phone VARCHAR(32), \
         email VARCHAR(120), backup_phone VARCHAR(64), old_email VARCHAR(200));\n",
    );
    s.push_str(
        "CREATE TABLE vehicles (id BIGINT PRIMARY KEY, member_id BIGINT REFERENCES members (id), \
         vin VARCHAR(17), plate VARCHAR(16));\n",
    );
    s.push_str(&format!(
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, member_id BIGINT REFERENCES members (id), \
         receiver_phone VARCHAR(32), note {text_t}, amount INT);\n"
    ));
    s.push_str(&format!(
        "CREATE TABLE inquiries (id BIGINT PRIMARY KEY, member_id BIGINT REFERENCES members (id), \
         vehicle_id BIGINT REFERENCES vehicles (id), body {text_t}, held INT NOT NULL DEFAULT 0);\n"
    ));
    // An index: the receiver phone is searched by equality on the identifier's spellings.
    s.push_str("CREATE INDEX orders_receiver ON orders (receiver_phone);\n");
    let _ = kind;
    s.push_str(&format!(
        "INSERT INTO members VALUES (1, 'Li Lei', '{PERSON}', 'lilei@example.com', NULL, NULL), \
         (5, 'Li Lei (old)', NULL, NULL, '{PERSON}', NULL), \
         (6, 'Li Lei (2019)', NULL, NULL, NULL, 'LiLei@example.com');\n"
    ));
    let mut vals = Vec::new();
    for i in 10..50u32 {
        vals.push(format!(
            "({i}, 'member {i}', '{}', 'm{i}@example.com', '{}', 'm{i}@old.example.com')",
            phone(i),
            phone(i + 100)
        ));
    }
    s.push_str(&format!(
        "INSERT INTO members VALUES {};\n",
        vals.join(", ")
    ));
    let vin = |i: u32| format!("LFV2A2150A3{i:06}");
    let mut v = vec![format!("(1, 1, '{}', '京A10001')", vin(1))];
    for i in 10..50u32 {
        v.push(format!("({i}, {i}, '{}', '京A2{i:04}')", vin(i)));
    }
    s.push_str(&format!("INSERT INTO vehicles VALUES {};\n", v.join(", ")));
    let mut o = vec![
        format!("(1, 1, '{PERSON}', 'first order', 10)"),
        "(2, 1, '+86 138 0013 8000', 'second order', 20)".to_string(),
        "(3, 10, '138-0013-8000', 'a gift', 30)".to_string(),
        format!(
            "(4, 11, '{}', 'deliver to neighbour 13800138000, not {}', 40)",
            phone(11),
            phone(12)
        ),
    ];
    for i in 10..50u32 {
        o.push(format!(
            "({}, {i}, '{}', 'call {} first', {i})",
            100 + i,
            phone(i),
            phone(i)
        ));
    }
    s.push_str(&format!("INSERT INTO orders VALUES {};\n", o.join(", ")));
    let mut q = vec![
        "(1, NULL, NULL, 'customer 138-0013-8000 asked about delivery', 0)".to_string(),
        format!(
            "(2, NULL, NULL, 'call +86 138 0013 8000 or {} (his wife)', 0)",
            phone(13)
        ),
        "(3, NULL, 1, 'the car makes a noise', 0)".to_string(),
        "(4, 1, NULL, 'complaint under investigation', 1)".to_string(),
        "(5, 12, NULL, 'near miss 13800138001 is someone else', 0)".to_string(),
    ];
    for i in 10..50u32 {
        q.push(format!(
            "({}, {i}, {i}, 'please call me at {} tomorrow', 0)",
            100 + i,
            phone(i)
        ));
    }
    s.push_str(&format!("INSERT INTO inquiries VALUES {};\n", q.join(", ")));
    s
}

fn run(args: &[&str], cfg: &Path) -> std::process::Output {
    let mut a = args.to_vec();
    a.extend(["--config", cfg.to_str().unwrap()]);
    dw(&a)
}

fn find_json(cfg: &Path, extra: &[&str]) -> serde_json::Value {
    let mut a = vec![
        "subject",
        "find",
        "--phone",
        PERSON,
        "--email",
        "LiLei@Example.com",
        "--format",
        "json",
        "--decrypt",
    ];
    a.extend_from_slice(extra);
    let o = run(&a, cfg);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

fn found_set(v: &serde_json::Value) -> BTreeSet<(String, String)> {
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["table"].as_str().unwrap().to_string(),
                m["key"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Every row of every table, as text, by table and id.
async fn dump(cfg: &Path) -> std::collections::BTreeMap<(String, String), Vec<Option<String>>> {
    use datawarden::sources::{Access, Source};
    let c = datawarden::config::Config::load(cfg).unwrap();
    let src = Source::connect(c.source("shop").unwrap(), &c.scan, Access::ReadOnly)
        .await
        .unwrap();
    let d = src.dialect();
    let mut out = std::collections::BTreeMap::new();
    for (t, cols) in [
        ("members", "id, name, phone, email, backup_phone, old_email"),
        ("vehicles", "id, member_id, vin, plate"),
        ("orders", "id, member_id, receiver_phone, note, amount"),
        ("inquiries", "id, member_id, vehicle_id, body, held"),
    ] {
        let list: Vec<String> = cols
            .split(", ")
            .map(|c| d.cast_text(&d.quote_ident(c)))
            .collect();
        let rows = src
            .fetch_rows(
                &format!("SELECT {} FROM {}", list.join(", "), d.quote_ident(t)),
                &[],
            )
            .await
            .unwrap();
        for r in rows {
            out.insert((t.to_string(), r[0].clone().unwrap()), r);
        }
    }
    src.close().await;
    out
}

async fn scenario(kind: Kind) {
    let Some(db) = TestDb::create(kind, "subject").await else {
        return;
    };
    db.exec(&fixture(kind)).await;
    let dir = tempfile::tempdir().unwrap();
    let fx = Fx {
        db,
        inv: Inventory::new(dir.path()),
        dir,
    };
    let cfg = fx.config(true, "batch_size = 1");
    // Pseudonymize the backup phones, then scan: the inventory says where phones live.
    for p in ["backup-phones", "old-emails"] {
        let o = run(&["enforce", "--policy", p], &cfg);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = run(&["scan"], &cfg);
    assert!(o.status.success(), "{}", text(&o));

    // find: exactly the person's rows, with how each was reached.
    let v = find_json(&cfg, &[]);
    let expected = set(&[
        ("members", "1"),
        ("members", "5"),
        ("members", "6"),
        ("vehicles", "1"),
        ("orders", "1"),
        ("orders", "2"),
        ("orders", "3"),
        ("orders", "4"),
        ("inquiries", "1"),
        ("inquiries", "2"),
        ("inquiries", "3"),
        ("inquiries", "4"),
    ]);
    assert_eq!(found_set(&v), expected, "{v:#}");
    let via = |t: &str, id: &str| {
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["table"] == t && m["key"]["id"] == id)
            .map(|m| m["via"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        via("vehicles", "1"),
        "foreign key vehicles.member_id -> members.id"
    );
    // A chain: member 1 -> vehicle 1 -> inquiry 3.
    assert_eq!(
        via("inquiries", "3"),
        "foreign key inquiries.vehicle_id -> vehicles.id"
    );
    assert_eq!(
        via("inquiries", "4"),
        "foreign key inquiries.member_id -> members.id"
    );
    // Through the index on receiver_phone, in every spelling.
    for id in ["1", "2", "3"] {
        assert_eq!(via("orders", id), "phone in receiver_phone");
    }
    assert_eq!(via("members", "6"), "email in old_email (decrypted)");
    // Without --decrypt the encrypted column is reported, not searched.
    let o = run(
        &[
            "subject",
            "find",
            "--email",
            "lilei@example.com",
            "--format",
            "json",
        ],
        &cfg,
    );
    assert!(o.status.success(), "{}", text(&o));
    let nd: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!found_set(&nd).contains(&("members".to_string(), "6".to_string())));
    assert!(
        nd["unsearched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["column"] == "old_email"
                && u["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("may hold it (encrypted)")),
        "{nd:#}"
    );
    assert!(
        via("members", "5").starts_with("pseudonym of phone in backup_phone"),
        "{}",
        via("members", "5")
    );
    assert!(
        via("inquiries", "2").contains("free text"),
        "{}",
        via("inquiries", "2")
    );
    // The indexed column is searched by equality, the others in one pass.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["subject", "find", "--phone", PERSON, "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "datawarden=debug")
        .output_within();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.lines()
            .any(|l| l.contains("searched by equality") && l.contains("receiver_phone")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("streamed pass") && l.contains("body")),
        "{log}"
    );
    assert!(!log.contains(PERSON), "{log}");
    let out = serde_json::to_string(&v).unwrap();
    assert!(
        !out.contains(PERSON) && !out.contains("lilei@"),
        "raw identifiers printed: {out}"
    );

    // Export: mode 0600, every row found with its values.
    let pkg = fx.path("package.json");
    let o = run(
        &[
            "subject",
            "export",
            "--phone",
            PERSON,
            "--email",
            "lilei@example.com",
            "--decrypt",
            "--format",
            "json",
            "--output",
            pkg.to_str().unwrap(),
            "--request",
            "REQ-1",
        ],
        &cfg,
    );
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pkg).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pkg).unwrap()).unwrap();
    assert_eq!(p["manifest"].as_array().unwrap().len(), expected.len());
    assert!(std::fs::read_to_string(&pkg)
        .unwrap()
        .contains("lilei@example.com"));
    assert!(!text(&o).contains(PERSON));
    // The same package as CSV and HTML; an existing file is never overwritten.
    for (fmt, file) in [("csv", "package.csv"), ("html", "package.html")] {
        let out = fx.path(file);
        let args = |out: &Path| {
            let mut v: Vec<String> = ["subject", "export", "--phone", PERSON, "--format", fmt]
                .map(String::from)
                .to_vec();
            v.extend(["--output".into(), out.to_str().unwrap().into()]);
            v.extend(["--request".into(), "REQ-1".into()]);
            v
        };
        let a = args(&out);
        let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &cfg);
        assert!(o.status.success(), "{}", text(&o));
        let body = std::fs::read_to_string(&out).unwrap();
        assert!(body.contains("+86 138 0013 8000"), "{fmt}: {body}");
        assert!(body.contains("receiver_phone"), "{fmt}: {body}");
        let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &cfg);
        assert!(
            !o.status.success(),
            "{fmt}: an existing file was overwritten"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), body);
    }

    // Dry run: lists the steps, changes nothing.
    let before = dump(&cfg).await;
    let o = run(&[ERASE, &["--dry-run"]].concat(), &cfg);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("dry run"), "{t}");
    assert!(t.contains("orders: mask"), "{t}");
    assert_eq!(dump(&cfg).await, before, "the dry run changed data");

    // Kill mid-erase (after the commit of a second batch), then resume.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_datawarden"));
    cmd.args(ERASE)
        .arg("--config")
        .arg(&cfg)
        .env("DATAWARDEN_FAILPOINT", "after-commit:2");
    let o = cmd.output_within();
    assert!(
        !o.status.success(),
        "the failpoint did not fire: {}",
        text(&o)
    );
    let o = run(ERASE, &cfg);
    let t = text(&o);
    // The held inquiry stays and is reported; the erasure is not complete.
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("held by a legal hold"), "{t}");
    assert!(t.contains("completed (resumed)"), "{t}");
    let after_hold = dump(&cfg).await;
    assert!(after_hold.contains_key(&("inquiries".into(), "4".into())));
    // Without the hold, the same request completes.
    let cfg = fx.config(false, "batch_size = 1");
    let o = run(ERASE, &cfg);
    assert!(o.status.success(), "{}", text(&o));
    let after = dump(&cfg).await;

    // Nothing is found any more, in any spelling.
    let v = find_json(&cfg, &[]);
    assert_eq!(found_set(&v), BTreeSet::new(), "{v:#}");
    let all = format!("{after:?}");
    for spelling in [
        PERSON,
        "138-0013-8000",
        "+86 138 0013 8000",
        "lilei@example.com",
    ] {
        assert!(!all.contains(spelling), "{spelling} remains");
    }
    // The kept orders keep every row; only the person's values changed.
    for (k, row) in &before {
        let (t, id) = (k.0.as_str(), k.1.as_str());
        let person = expected.contains(&(t.to_string(), id.to_string()));
        match after.get(k) {
            None => assert!(person && t != "orders", "{t} {id} was deleted"),
            Some(a) if !person => assert_eq!(a, row, "another person's row {t} {id} changed"),
            Some(a) => {
                if t == "orders" {
                    assert_eq!(a[4], row[4], "amount changed");
                    assert_eq!(a[1], row[1], "member changed");
                }
            }
        }
    }
    assert!(
        after.contains_key(&("members".into(), "1".into())),
        "member 1 is referenced by kept orders"
    );
    let note = after[&("orders".to_string(), "4".to_string())][3]
        .clone()
        .unwrap();
    assert!(
        note.contains(&phone(12)),
        "another person's number in the note was changed: {note}"
    );
    assert!(!after.contains_key(&("vehicles".into(), "1".into())));
    assert!(!after.contains_key(&("members".into(), "5".into())));

    let o = run(&["audit", "verify"], &cfg);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["subject", "requests", "--all", "--format", "json"], &cfg);
    assert!(o.status.success(), "{}", text(&o));
    let reqs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = reqs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "REQ-1")
        .unwrap();
    assert_eq!(r["status"], "erased", "{r:#}");
    assert!(!r["audit_runs"].as_array().unwrap().is_empty());
    assert!(!serde_json::to_string(&reqs).unwrap().contains(PERSON));
    fx.db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_request_postgres() {
    scenario(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_request_mariadb() {
    scenario(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_request_sqlite() {
    scenario(Kind::Sqlite).await;
}
