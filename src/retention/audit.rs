//! The append-only, hash-chained audit trail of retention runs.
//!
//! Every run writes a `run` record when it starts and when it ends, and a `batch` record after each
//! committed batch. Each record stores the hash of the record before it (`prev_hash`, unique, so a
//! fork cannot be appended) and its own `hash` = SHA-256 over the canonical JSON of all its other
//! fields (keys sorted, `prev_hash` included). [`verify`] recomputes the chain and names the first
//! record that was modified, or that follows a deleted record.
//!
//! Fields added later (`cascaded`, `warnings`, `key_first`, `key_last`, `held`, `filter`,
//! `legal_hold`) enter the hashed form only when they are not empty, so records written before they
//! existed keep their hashes and old trails still verify.
//!
//! A chain proves nothing about records cut off its end, or about a store emptied and started
//! again: every run therefore publishes the chain head ([`Head`], `SEQ:HASH`) outside the store (its
//! log line, and the `[audit] anchor_file`), and [`check_heads`] checks that every published head
//! is still in the chain.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
pub use crate::store::CheckpointChange;
use crate::store::Store;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record. `seq`, `prev_hash` and `hash` are filled in by [`append`].
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AuditRecord {
    /// Position in the trail (1, 2, ...).
    pub seq: i64,
    /// The run this record belongs to.
    pub run_id: String,
    /// `run_started`, `run_finished` or `batch`.
    pub kind: String,
    /// Policy name.
    pub policy: String,
    /// The promise as the privacy policy words it.
    pub description: String,
    /// Source name.
    pub source: String,
    /// Table as written in the policy.
    pub table_name: String,
    /// delete | encrypt | pseudonymize | mask | nullify
    pub action: String,
    /// Columns touched (empty for delete).
    pub columns: Vec<String>,
    /// Id of the encryption key (encrypt only).
    pub key_id: Option<String>,
    /// The run's cutoff (RFC 3339).
    pub cutoff: String,
    /// Batch number (batch records).
    pub batch: Option<i64>,
    /// Rows affected (batch: that batch; run_finished: the whole run).
    pub rows_affected: i64,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub finished_at: Option<String>,
    /// `started`, `resumed`, `committed`, `recovered` (a batch whose source commit was confirmed on
    /// resume, after the process stopped before recording it), `completed`, `stopped`, `braked`,
    /// `refused` or `failed`.
    pub outcome: String,
    /// The error, when the outcome is `failed` or `refused`.
    pub error: Option<String>,
    /// Batch records of deletes: rows removed or changed in other tables by this batch, per
    /// table (`schema.table`): `delete_children`, ON DELETE CASCADE / SET NULL / SET DEFAULT and
    /// the cascades they trigger in turn. Empty when nothing else changed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cascaded: BTreeMap<String, i64>,
    /// `run_started` records: warnings of the preflight (triggers that change what the run does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Batch records: the first key the batch found eligible (key column values). Empty on other
    /// records and on records written before key ranges were recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_first: Vec<String>,
    /// Batch records: the last key of the batch (its range is `key_first..=key_last`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_last: Vec<String>,
    /// `run_started` records: rows past the cutoff that match the filter and still need the action
    /// but are excluded by legal holds when the run starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<i64>,
    /// The policy's `filter` in force for this run (as written in the config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The legal holds in force for this run: the `legal_hold` predicate as written, and each
    /// `holds` column with its number of values (never the values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<String>,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// SHA-256 of this record.
    pub hash: String,
}

impl AuditRecord {
    /// The hash of this record's fields (all but `seq` and `hash`), chained to `prev_hash`.
    /// `cascaded`, `warnings`, `key_first`, `key_last`, `held`, `filter` and `legal_hold` are part
    /// of it only when present (older records have none of them).
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::json!({
            "run_id": self.run_id, "kind": self.kind, "policy": self.policy,
            "description": self.description, "source": self.source, "table_name": self.table_name,
            "action": self.action, "columns": self.columns, "key_id": self.key_id,
            "cutoff": self.cutoff, "batch": self.batch, "rows_affected": self.rows_affected,
            "started_at": self.started_at, "finished_at": self.finished_at, "outcome": self.outcome,
            "error": self.error, "prev_hash": self.prev_hash,
        });
        if !self.cascaded.is_empty() {
            v["cascaded"] = serde_json::json!(self.cascaded);
        }
        if !self.warnings.is_empty() {
            v["warnings"] = serde_json::json!(self.warnings);
        }
        if !self.key_first.is_empty() {
            v["key_first"] = serde_json::json!(self.key_first);
        }
        if !self.key_last.is_empty() {
            v["key_last"] = serde_json::json!(self.key_last);
        }
        if let Some(h) = self.held {
            v["held"] = serde_json::json!(h);
        }
        if let Some(f) = &self.filter {
            v["filter"] = serde_json::json!(f);
        }
        if let Some(h) = &self.legal_hold {
            v["legal_hold"] = serde_json::json!(h);
        }
        // serde_json maps keep keys sorted: this is the canonical form.
        let canonical = serde_json::to_string(&v).expect("serializable");
        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Appends `rec` to the chain and, in the same store transaction, writes or clears the policy's
/// checkpoint (see [`Store::append_audit`]).
pub async fn append(store: &Store, rec: &mut AuditRecord, cp: CheckpointChange<'_>) -> Result<()> {
    store.append_audit(rec, cp).await
}

/// Every record, in order.
pub async fn records(store: &Store) -> Result<Vec<AuditRecord>> {
    store.audit_records().await
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    /// The chain is intact: record count and the hash of the last record (the head; write it down
    /// elsewhere to detect truncation of the tail).
    Intact { records: usize, head: String },
    /// The first bad record and why.
    Broken { seq: i64, reason: String },
}

/// Recomputes the chain.
pub async fn verify(store: &Store) -> Result<Verification> {
    let recs = records(store).await?;
    Ok(verify_records(&recs))
}

/// Checks a list of records in order.
pub fn verify_records(recs: &[AuditRecord]) -> Verification {
    let mut prev = GENESIS.to_string();
    for r in recs {
        if r.prev_hash != prev {
            return Verification::Broken {
                seq: r.seq,
                reason: "its prev_hash does not match the record before it: a record before it was deleted or altered"
                    .into(),
            };
        }
        if r.compute_hash() != r.hash {
            return Verification::Broken {
                seq: r.seq,
                reason: "its contents do not match its hash: the record was modified".into(),
            };
        }
        prev = r.hash.clone();
    }
    Verification::Intact {
        records: recs.len(),
        head: prev,
    }
}

/// A chain head: the sequence number and hash of a record that was the last one when it was
/// published. Written and parsed as `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The record's `seq`.
    pub seq: i64,
    /// The record's `hash` (64 lowercase hex digits).
    pub hash: String,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Head, String> {
        let bad = || {
            format!(
                "`{s}` is not a chain head: write SEQ:HASH, e.g. 12:{GENESIS} (as `audit verify` \
                 and each run's `audit chain head` log line print it)"
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let hash = hash.to_ascii_lowercase();
        if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Head { seq, hash })
    }
}

/// The last record's head, `None` when the trail is empty.
pub async fn head(store: &Store) -> Result<Option<Head>> {
    store.audit_head().await
}

/// Where a published head stands in a trail (see [`check_head`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The record is there with that hash; `after` records follow it.
    Present { after: usize },
    /// No record has that sequence number: records were cut off the end, or the store was
    /// emptied or replaced. `last` is the trail's head now.
    Missing { last: Option<Head> },
    /// The record has another hash: the trail was rewritten from there on (or replaced).
    Different { hash: String },
}

/// Checks that `expected` is in `recs` (a chain [`verify_records`] found intact: then every
/// record up to it is as it was when the head was published).
pub fn check_head(recs: &[AuditRecord], expected: &Head) -> HeadCheck {
    match recs.iter().position(|r| r.seq == expected.seq) {
        Some(i) if recs[i].hash == expected.hash => HeadCheck::Present {
            after: recs.len() - i - 1,
        },
        Some(i) => HeadCheck::Different {
            hash: recs[i].hash.clone(),
        },
        None => HeadCheck::Missing {
            last: recs.last().map(|r| Head {
                seq: r.seq,
                hash: r.hash.clone(),
            }),
        },
    }
}

/// One line of an anchor file: `TIME POLICY RUN_ID SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Line number in the file (1-based).
    pub line: usize,
    /// When the run ended (RFC 3339).
    pub time: String,
    /// The policy of the run.
    pub policy: String,
    /// The run id.
    pub run_id: String,
    /// The chain head after the run.
    pub head: Head,
}

/// The anchor-file line of a run (without the newline): the four fields separated by tabs (a
/// policy name may hold spaces).
pub fn anchor_line(time: &str, policy: &str, run_id: &str, head: &Head) -> String {
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    format!(
        "{}\t{}\t{}\t{head}",
        clean(time),
        clean(policy),
        clean(run_id)
    )
}

/// Appends one line to the anchor file (created when missing, mode 0600 on Unix) and syncs it.
pub fn append_anchor(path: &std::path::Path, line: &str) -> Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| Error::io(path, e))
}

/// Reads an anchor file. Blank lines and `#` comments are skipped; any other line that is not
/// `TIME POLICY RUN_ID SEQ:HASH` is an error naming the file and line.
pub fn read_anchors(path: &std::path::Path) -> Result<Vec<Anchor>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        // Tab-separated as written; whitespace-separated when edited by hand.
        let parts: Vec<&str> = if l.contains('\t') {
            l.split('\t').map(str::trim).collect()
        } else {
            l.split_whitespace().collect()
        };
        let bad = |why: String| {
            Error::Other(format!(
                "{}:{}: not an anchor line (TIME POLICY RUN_ID SEQ:HASH): {why}",
                path.display(),
                i + 1
            ))
        };
        if parts.len() < 4 {
            return Err(bad("too few fields".into()));
        }
        let head: Head = parts[parts.len() - 1].parse().map_err(bad)?;
        out.push(Anchor {
            line: i + 1,
            time: parts[0].to_string(),
            policy: parts[1..parts.len() - 2].join(" "),
            run_id: parts[parts.len() - 2].to_string(),
            head,
        });
    }
    Ok(out)
}

/// Writes the records as CSV (one row per record, columns as a `;`-joined list).
pub fn write_csv<W: std::io::Write>(recs: &[AuditRecord], out: W) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let e = |e: csv::Error| Error::Other(format!("cannot write CSV: {e}"));
    w.write_record([
        "seq",
        "run_id",
        "kind",
        "policy",
        "description",
        "source",
        "table_name",
        "action",
        "columns",
        "key_id",
        "cutoff",
        "batch",
        "rows_affected",
        "started_at",
        "finished_at",
        "outcome",
        "error",
        "prev_hash",
        "hash",
        "cascaded",
        "warnings",
        "key_first",
        "key_last",
        "held",
        "filter",
        "legal_hold",
    ])
    .map_err(e)?;
    for r in recs {
        w.write_record([
            r.seq.to_string(),
            r.run_id.clone(),
            r.kind.clone(),
            r.policy.clone(),
            r.description.clone(),
            r.source.clone(),
            r.table_name.clone(),
            r.action.clone(),
            r.columns.join(";"),
            r.key_id.clone().unwrap_or_default(),
            r.cutoff.clone(),
            r.batch.map(|b| b.to_string()).unwrap_or_default(),
            r.rows_affected.to_string(),
            r.started_at.clone(),
            r.finished_at.clone().unwrap_or_default(),
            r.outcome.clone(),
            r.error.clone().unwrap_or_default(),
            r.prev_hash.clone(),
            r.hash.clone(),
            r.cascaded
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect::<Vec<_>>()
                .join(";"),
            r.warnings.join(" | "),
            r.key_first.join(";"),
            r.key_last.join(";"),
            r.held.map(|h| h.to_string()).unwrap_or_default(),
            r.filter.clone().unwrap_or_default(),
            r.legal_hold.clone().unwrap_or_default(),
        ])
        .map_err(e)?;
    }
    w.flush()
        .map_err(|e| Error::Other(format!("cannot write CSV: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inv.db").display());
        let pool = Store::open(&url).await.unwrap();
        (dir, pool)
    }

    fn rec(n: i64) -> AuditRecord {
        AuditRecord {
            run_id: "r1".into(),
            kind: "batch".into(),
            policy: "p".into(),
            description: "delete after 90 days".into(),
            source: "s".into(),
            table_name: "t".into(),
            action: "delete".into(),
            cutoff: "2026-01-01T00:00:00Z".into(),
            batch: Some(n),
            rows_affected: n * 10,
            started_at: "2026-01-02T00:00:00Z".into(),
            outcome: "committed".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn chain_verifies_and_detects_changes_and_deletions() {
        let (_d, pool) = pool().await;
        for i in 1..=4 {
            append(&pool, &mut rec(i), CheckpointChange::Keep)
                .await
                .unwrap();
        }
        let Verification::Intact { records: n, .. } = verify(&pool).await.unwrap() else {
            panic!()
        };
        assert_eq!(n, 4);
        sqlx::query("UPDATE retention_audit SET rows_affected = 999 WHERE seq = 2")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            verify(&pool).await.unwrap(),
            Verification::Broken { seq: 2, .. }
        ));
        sqlx::query("UPDATE retention_audit SET rows_affected = 20 WHERE seq = 2")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            verify(&pool).await.unwrap(),
            Verification::Intact { .. }
        ));
        sqlx::query("DELETE FROM retention_audit WHERE seq = 3")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            verify(&pool).await.unwrap(),
            Verification::Broken { seq: 4, .. }
        ));
        let mut buf = Vec::new();
        write_csv(&records(&pool).await.unwrap(), &mut buf).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap().lines().count(), 4);
    }

    /// CSV and JSON exports name the fields alike (one name per field, `table_name` in both).
    #[test]
    fn csv_and_json_use_the_same_field_names() {
        let mut r = rec(1);
        r.cascaded.insert("public.child".into(), 2);
        r.warnings.push("w".into());
        r.key_first = vec!["1".into()];
        r.key_last = vec!["9".into()];
        r.held = Some(1);
        r.filter = Some("status = 'closed'".into());
        r.legal_hold = Some("hold = 1".into());
        let json = serde_json::to_value(&r).unwrap();
        let mut json_keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
        let mut buf = Vec::new();
        write_csv(std::slice::from_ref(&r), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let mut csv_keys: Vec<String> = text
            .lines()
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        json_keys.sort();
        csv_keys.sort();
        assert_eq!(csv_keys, json_keys);
        assert!(csv_keys.contains(&"table_name".to_string()));
    }

    /// A record as the code before `cascaded` and `warnings` hashed it (hash computed then).
    #[test]
    fn records_written_before_the_new_fields_still_verify() {
        let mut old = rec(1);
        old.prev_hash = GENESIS.into();
        old.hash = "a1591f1c1367bd52d862b9788d240cc846f461466ce01ceb8ea3d4a53cd9986a".into();
        assert_eq!(old.compute_hash(), old.hash);
        assert!(matches!(
            verify_records(std::slice::from_ref(&old)),
            Verification::Intact { records: 1, .. }
        ));
        // The new fields are hashed when present: changing them breaks the chain.
        let mut new = rec(2);
        new.prev_hash = old.hash.clone();
        new.cascaded = BTreeMap::from([("public.orders".to_string(), 12)]);
        new.warnings = vec!["trigger t writes ts".into()];
        new.hash = new.compute_hash();
        assert_ne!(new.hash, {
            let mut plain = new.clone();
            plain.cascaded.clear();
            plain.compute_hash()
        });
        let chain = vec![old.clone(), new.clone()];
        assert!(matches!(
            verify_records(&chain),
            Verification::Intact { records: 2, .. }
        ));
        let mut tampered = chain.clone();
        tampered[1].cascaded.insert("public.orders".into(), 11);
        assert!(matches!(
            verify_records(&tampered),
            Verification::Broken { seq: 0, .. }
        ));
    }

    #[tokio::test]
    async fn cascaded_counts_and_warnings_round_trip_through_the_store() {
        let (_d, pool) = pool().await;
        let mut a = rec(1);
        append(&pool, &mut a, CheckpointChange::Keep).await.unwrap();
        let mut b = rec(2);
        b.cascaded = BTreeMap::from([
            ("public.orders".to_string(), 12),
            ("public.items".into(), 3),
        ]);
        b.warnings = vec!["w".into()];
        append(&pool, &mut b, CheckpointChange::Keep).await.unwrap();
        let recs = records(&pool).await.unwrap();
        assert_eq!(recs[0].cascaded, BTreeMap::new());
        assert_eq!(recs[1].cascaded, b.cascaded);
        assert_eq!(recs[1].warnings, b.warnings);
        assert!(matches!(
            verify(&pool).await.unwrap(),
            Verification::Intact { records: 2, .. }
        ));
        sqlx::query("UPDATE retention_audit SET cascaded = '{\"public.orders\":1}' WHERE seq = 2")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            verify(&pool).await.unwrap(),
            Verification::Broken { seq: 2, .. }
        ));
    }

    #[tokio::test]
    async fn key_range_holds_and_filter_are_hashed_and_round_trip() {
        let (_d, pool) = pool().await;
        let mut a = rec(1);
        a.key_first = vec!["3".into()];
        a.key_last = vec!["99".into()];
        a.held = Some(4);
        a.filter = Some("status = 'closed'".into());
        a.legal_hold = Some("litigation = 1".into());
        append(&pool, &mut a, CheckpointChange::Keep).await.unwrap();
        let recs = records(&pool).await.unwrap();
        assert_eq!(recs[0], a);
        let mut plain = a.clone();
        plain.key_first.clear();
        assert_ne!(plain.compute_hash(), a.hash, "key_first is hashed");
        for (col, val) in [
            ("key_last", "'[\"98\"]'"),
            ("held", "3"),
            ("filter", "'1 = 1'"),
            ("legal_hold", "NULL"),
        ] {
            sqlx::query(&format!("UPDATE retention_audit SET {col} = {val}"))
                .execute(pool.sqlite_pool_for_tests())
                .await
                .unwrap();
            assert!(
                matches!(verify(&pool).await.unwrap(), Verification::Broken { .. }),
                "{col}"
            );
            let mut conn = pool.sqlite_pool_for_tests().acquire().await.unwrap();
            sqlx::query("DELETE FROM retention_audit")
                .execute(&mut *conn)
                .await
                .unwrap();
            drop(conn);
            let mut again = a.clone();
            append(&pool, &mut again, CheckpointChange::Keep)
                .await
                .unwrap();
            assert_eq!(again.hash, a.hash);
        }
    }

    #[tokio::test]
    async fn published_heads_detect_a_cut_tail_and_an_emptied_store() {
        let (_d, pool) = pool().await;
        for i in 1..=3 {
            append(&pool, &mut rec(i), CheckpointChange::Keep)
                .await
                .unwrap();
        }
        let h3 = head(&pool).await.unwrap().unwrap();
        assert_eq!(h3.seq, 3);
        assert_eq!(h3.to_string().parse::<Head>().unwrap(), h3);
        let recs = records(&pool).await.unwrap();
        let h2 = Head {
            seq: 2,
            hash: recs[1].hash.clone(),
        };
        assert_eq!(check_head(&recs, &h3), HeadCheck::Present { after: 0 });
        assert_eq!(check_head(&recs, &h2), HeadCheck::Present { after: 1 });
        // Cut the last record: the chain still verifies, the published head does not.
        sqlx::query("DELETE FROM retention_audit WHERE seq = 3")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        let recs = records(&pool).await.unwrap();
        assert!(matches!(
            verify_records(&recs),
            Verification::Intact { records: 2, .. }
        ));
        assert_eq!(
            check_head(&recs, &h3),
            HeadCheck::Missing {
                last: Some(h2.clone())
            }
        );
        // Emptied, then written again: same sequence numbers, other hashes.
        sqlx::query("DELETE FROM retention_audit")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        assert_eq!(check_head(&[], &h2), HeadCheck::Missing { last: None });
        sqlx::query("DELETE FROM sqlite_sequence WHERE name = 'retention_audit'")
            .execute(pool.sqlite_pool_for_tests())
            .await
            .unwrap();
        for i in 1..=3 {
            let mut r = rec(i);
            r.policy = "other".into();
            append(&pool, &mut r, CheckpointChange::Keep).await.unwrap();
        }
        let recs = records(&pool).await.unwrap();
        assert!(matches!(
            check_head(&recs, &h3),
            HeadCheck::Different { .. }
        ));
    }

    #[test]
    fn anchor_files_round_trip_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.log");
        let h = Head {
            seq: 7,
            hash: "ab".repeat(32),
        };
        append_anchor(&path, &anchor_line("2026-01-01T00:00:00Z", "p", "p-1", &h)).unwrap();
        append_anchor(
            &path,
            &anchor_line("2026-01-02T00:00:00Z", "q r", "q r-1", &h),
        )
        .unwrap();
        let a = read_anchors(&path).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[1].line, a[1].policy.as_str(), a[1].run_id.as_str()),
            (2, "q r", "q r-1")
        );
        assert_eq!(a[1].head, h);
        // Written by hand: spaces, comments, blank lines.
        std::fs::write(
            &path,
            format!("# copied from the journal\n\n2026 s s-1 {h}\n"),
        )
        .unwrap();
        let a = read_anchors(&path).unwrap();
        assert_eq!((a[0].line, a[0].policy.as_str()), (3, "s"));
        std::fs::write(&path, "2026 p r 7:xyz\n").unwrap();
        let e = read_anchors(&path).unwrap_err().to_string();
        assert!(e.contains("anchors.log:1"), "{e}");
        assert!("0:abc".parse::<Head>().is_err());
    }
}
