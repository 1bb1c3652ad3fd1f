//! Enforcement writes exactly what datawarden computed, on the real servers (PostgreSQL, MariaDB,
//! SQLite): long values in multi-row batches survive encrypt (decrypt gives them back) and mask
//! (no phone number left), mask hides every detected span in free text, and a write the database
//! alters (a trigger) rolls the batch back with an error naming the policy, table, column and key.
//! Set DATAWARDEN_TEST_REQUIRE_DB=1 to fail when a server is down.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use datawarden::config::Config;
use datawarden::detect::Engine;
use datawarden::sources::{Access, Bind, Source};

mod common;
use common::{dw, text};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Pg,
    My,
    Lite,
}

const ALL: [Kind; 3] = [Kind::Pg, Kind::My, Kind::Lite];

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
    Some(Db {
        kind,
        url: test.url.clone(),
        test,
        dir: tempfile::tempdir().unwrap(),
        inv: common::Inventory::temp(),
    })
}

impl Db {
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Writes an encryption key (via the binary) and a config with `policies`; returns its path.
    fn config(&self, policies: &str) -> PathBuf {
        if !self.path("enc.key").exists() {
            let o = dw(&[
                "keys",
                "generate",
                "--output",
                self.path("enc.key").to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", text(&o));
        }
        let text = format!(
            "[inventory]\nurl = \"{}\"\n\n[[sources]]\nname = \"db\"\nurl = \"{}\"\n\n[keys]\nencryption = \"file:{}\"\n\n{policies}",
            self.inv.url,
            self.url,
            self.path("enc.key").display(),
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

    /// `notes (id, created_at, note)`: the note column holds long text (MEDIUMTEXT on MySQL).
    async fn notes_table(&self, src: &Source) {
        self.notes_table_keyed(src, "BIGINT").await;
    }

    /// [`Db::notes_table`] with a key column of type `key_type`.
    async fn notes_table_keyed(&self, src: &Source, key_type: &str) {
        let (ts, long) = match self.kind {
            Kind::Pg => ("timestamptz", "text"),
            Kind::My => ("DATETIME", "MEDIUMTEXT"),
            Kind::Lite => ("TEXT", "TEXT"),
        };
        src.execute(
            &format!(
                "CREATE TABLE notes (id {key_type} PRIMARY KEY, created_at {ts} NOT NULL, note {long} NULL)"
            ),
            &[],
        )
        .await
        .unwrap();
    }
}

async fn insert_notes(src: &Source, notes: &[(i64, String)]) {
    insert_notes_keyed(src, notes, false).await;
}

/// Inserts `notes` 400 days old; `text_key` binds the ids as text (for a VARCHAR key).
async fn insert_notes_keyed(src: &Source, notes: &[(i64, String)], text_key: bool) {
    let d = src.dialect();
    let old = Utc::now() - Duration::days(400);
    let sql = format!(
        "INSERT INTO notes (id, created_at, note) VALUES ({}, {}, {})",
        d.placeholder(1),
        d.placeholder(2),
        d.placeholder(3)
    );
    for (id, note) in notes {
        let key = if text_key {
            Bind::Text(id.to_string())
        } else {
            Bind::Int(*id)
        };
        src.execute(&sql, &[key, Bind::Timestamp(old), Bind::Text(note.clone())])
            .await
            .unwrap();
    }
}

async fn read_notes(src: &Source) -> Vec<(i64, Option<String>)> {
    let d = src.dialect();
    let sql = format!("SELECT {}, note FROM notes ORDER BY id", d.cast_text("id"));
    src.fetch_rows(&sql, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r[0].as_deref().unwrap().parse().unwrap(), r[1].clone()))
        .collect()
}

fn enforce(cfg: &Path) -> Output {
    dw(&["enforce", "--config", cfg.to_str().unwrap()])
}

fn policy(name: &str, action: &str, batch_size: u32) -> String {
    format!(
        "[[policies]]\nname = \"{name}\"\ndescription = \"Old notes: {action}\"\nsource = \"db\"\n\
         table = \"notes\"\ntimestamp_column = \"created_at\"\nretain = \"1y\"\naction = \"{action}\"\n\
         columns = [\"note\"]\nbatch_size = {batch_size}\n"
    )
}

/// Deterministic text of exactly `len` bytes, different per `seed`, with multi-byte characters and
/// no line breaks.
fn long_text(seed: i64, len: usize) -> String {
    let mut s = String::with_capacity(len + 8);
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 23 {
            0 => s.push('张'),
            1 => s.push(' '),
            n => s.push((b'a' + (n as u8 % 26)) as char),
        }
    }
    while s.len() > len {
        s.pop();
    }
    while s.len() < len {
        s.push('x');
    }
    s
}

/// `datawarden decrypt` of `envelopes` (one per line), as lines.
fn decrypt(cfg: &Path, envelopes: &[String]) -> Vec<String> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["decrypt", "--config", cfg.to_str().unwrap()])
        .args(["--source", "db", "--table", "notes", "--column", "note"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = envelopes.iter().map(|e| format!("{e}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "decrypt: {}", text(&o));
    writer.join().unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_values_in_multi_row_batches_encrypt_and_decrypt_exactly() {
    for kind in ALL {
        let Some(db) = make_db(kind, "wr_long").await else {
            continue;
        };
        // An integer key (MySQL: JSON_TABLE) and a text key (MySQL: a UNION ALL of typed cells).
        for text_key in [false, true] {
            // A fresh connection: cached statements would keep the first table's key type.
            let src = db.source().await;
            src.execute("DROP TABLE IF EXISTS notes", &[])
                .await
                .unwrap();
            db.notes_table_keyed(&src, if text_key { "VARCHAR(20)" } else { "BIGINT" })
                .await;
            // Batches of 3: (70 KB, 70 KB, 70 KB), (2 MB, 70 KB, 2 MB), (short).
            let sizes = [70_000, 70_001, 71_234, 2_000_000, 70_000, 2_000_003, 12];
            let notes: Vec<(i64, String)> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| (i as i64 + 1, long_text(i as i64 + 1, n)))
                .collect();
            insert_notes_keyed(&src, &notes, text_key).await;
            let cfg = db.config(&policy("enc", "encrypt", 3));
            let o = enforce(&cfg);
            assert!(o.status.success(), "{kind:?}: {}", text(&o));
            let after = read_notes(&src).await;
            let envelopes: Vec<String> = after
                .iter()
                .map(|(id, v)| {
                    let v = v.clone().unwrap();
                    assert!(v.starts_with("dw1:"), "{kind:?} row {id} not encrypted");
                    v
                })
                .collect();
            let plain = decrypt(&cfg, &envelopes);
            assert_eq!(plain.len(), notes.len(), "{kind:?}");
            for ((id, orig), got) in notes.iter().zip(&plain) {
                assert!(
                    got == orig,
                    "{kind:?} row {id}: decrypted {} bytes, the original had {}",
                    got.len(),
                    orig.len()
                );
            }
            src.close().await;
        }
        db.test.drop_db().await;
    }
}

/// True when `s` holds a Chinese mobile number (11 digits starting 13-19) not inside a longer
/// digit run.
fn has_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let j = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if j - i == 11 && b[i] == b'1' && (b'3'..=b'9').contains(&b[i + 1]) {
                return true;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mask_hides_every_detected_value_in_free_text_and_long_notes() {
    let engine = Engine::load(None).unwrap();
    for kind in ALL {
        let Some(db) = make_db(kind, "wr_mask").await else {
            continue;
        };
        let src = db.source().await;
        db.notes_table(&src).await;
        let filler = |seed: i64, n: usize| long_text(seed, n).replace('张', "z");
        let mut notes = vec![
            (
                1,
                "13812345678 called about the order; mail li.lei@example.com before Friday please"
                    .to_string(),
            ),
            (2, "13912345678".to_string()),
            (3, "wang.fang@example.org".to_string()),
        ];
        for id in 4..=7 {
            notes.push((
                id,
                format!(
                    "1371234{id:04} left a note. {} contact zhao{id}@example.net {} or 021-87654321 end 1581234{id:04}",
                    filler(id, 40_000),
                    filler(id + 100, 35_000)
                ),
            ));
        }
        insert_notes(&src, &notes).await;
        let cfg = db.config(&policy("msk", "mask", 3));
        let o = enforce(&cfg);
        assert!(o.status.success(), "{kind:?}: {}", text(&o));
        let after = read_notes(&src).await;
        let mut found = Vec::new();
        for ((id, orig), (_, got)) in notes.iter().zip(&after) {
            let got = got.clone().unwrap();
            assert_eq!(
                got.chars().count(),
                orig.chars().count(),
                "{kind:?} row {id}: a mask keeps the length"
            );
            assert!(got.contains('*'), "{kind:?} row {id} not masked");
            assert!(!has_mobile(&got), "{kind:?} row {id} kept a mobile number");
            engine.find(got.as_bytes(), &mut found);
            assert!(
                found.is_empty(),
                "{kind:?} row {id}: detectors still find {} value(s) after masking",
                found.len()
            );
        }
        let note1 = after[0].1.as_deref().unwrap();
        assert_eq!(
            note1,
            "138****5678 called about the order; mail li****@example.com before Friday please",
            "{kind:?}: only the detected spans are masked, each by its detector's rule"
        );
        assert_eq!(after[1].1.as_deref(), Some("139****5678"));
        assert_eq!(after[2].1.as_deref(), Some("wa*******@example.org"));
        // The long notes keep their text between the spans.
        for (i, (id, _)) in notes.iter().enumerate().skip(3) {
            let got = after[i].1.as_deref().unwrap();
            assert!(got.contains(&filler(*id, 40_000)), "{kind:?} row {id}");
            assert!(got.contains("@example.net"), "{kind:?} row {id}");
        }
        src.close().await;
        db.test.drop_db().await;
    }
}

/// A trigger that rewrites the note of row 2 (upper case) whenever it is updated: PostgreSQL and MySQL in a
/// BEFORE UPDATE trigger, SQLite (whose triggers cannot assign NEW) in an AFTER UPDATE trigger.
fn altering_trigger(kind: Kind) -> &'static str {
    match kind {
        Kind::Pg => {
            "CREATE FUNCTION cut_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             NEW.note := upper(NEW.note); RETURN NEW; END $$; \
             CREATE TRIGGER cut BEFORE UPDATE ON notes FOR EACH ROW WHEN (OLD.id = 2) EXECUTE FUNCTION cut_note();"
        }
        Kind::My => {
            "CREATE TRIGGER cut BEFORE UPDATE ON notes FOR EACH ROW \
             SET NEW.note = IF(OLD.id = 2, UPPER(NEW.note), NEW.note);"
        }
        Kind::Lite => {
            "CREATE TRIGGER cut AFTER UPDATE ON notes FOR EACH ROW WHEN OLD.id = 2 BEGIN \
             UPDATE notes SET note = upper(NEW.note) WHERE id = 2; END;"
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_database_alters_rolls_the_batch_back() {
    for kind in ALL {
        let Some(db) = make_db(kind, "wr_trig").await else {
            continue;
        };
        let src = db.source().await;
        db.notes_table(&src).await;
        let notes: Vec<(i64, String)> = (1..=5)
            .map(|id| (id, format!("13812345{id:03} asked to close the account")))
            .collect();
        insert_notes(&src, &notes).await;
        db.test.exec(altering_trigger(kind)).await;
        let before = read_notes(&src).await;
        for action in ["encrypt", "mask"] {
            let cfg = db.config(&policy(&format!("p_writes_{action}"), action, 3));
            let o = enforce(&cfg);
            let out = text(&o);
            assert!(!o.status.success(), "{kind:?} {action}: {out}");
            for needle in ["p_writes", "notes", "`note`", "key 2", "rolled back"] {
                assert!(
                    out.contains(needle),
                    "{kind:?} {action}: `{needle}` missing in {out}"
                );
            }
            assert!(
                !out.contains("13812345"),
                "{kind:?} {action}: the error shows a value: {out}"
            );
            assert_eq!(
                read_notes(&src).await,
                before,
                "{kind:?} {action}: rows changed"
            );
        }
        // Nullify: a trigger that puts a value back is caught the same way.
        let restore = match kind {
            Kind::Pg => {
                "DROP TRIGGER cut ON notes; CREATE FUNCTION keep_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 NEW.note := OLD.note; RETURN NEW; END $$; \
                 CREATE TRIGGER keep BEFORE UPDATE ON notes FOR EACH ROW WHEN (OLD.id = 2) EXECUTE FUNCTION keep_note();"
            }
            Kind::My => {
                "DROP TRIGGER cut; CREATE TRIGGER keep BEFORE UPDATE ON notes FOR EACH ROW \
                 SET NEW.note = IF(OLD.id = 2, OLD.note, NEW.note);"
            }
            Kind::Lite => {
                "DROP TRIGGER cut; CREATE TRIGGER keep AFTER UPDATE ON notes FOR EACH ROW WHEN OLD.id = 2 BEGIN \
                 UPDATE notes SET note = OLD.note WHERE id = 2; END;"
            }
        };
        db.test.exec(restore).await;
        let cfg = db.config(&policy("p_writes_nullify", "nullify", 3));
        let o = enforce(&cfg);
        let out = text(&o);
        assert!(!o.status.success(), "{kind:?} nullify: {out}");
        for needle in ["p_writes", "notes", "`note`", "key 2", "rolled back"] {
            assert!(
                out.contains(needle),
                "{kind:?} nullify: `{needle}` missing in {out}"
            );
        }
        assert_eq!(
            read_notes(&src).await,
            before,
            "{kind:?} nullify: rows changed"
        );
        src.close().await;
        db.test.drop_db().await;
    }
}
