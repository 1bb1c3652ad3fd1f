//! Drift between the last two completed scans of a source: new personal-data columns, columns that
//! stopped matching, columns datawarden transformed (in part or entirely), new and dropped tables
//! and columns. Tables that failed in either scan are left out, so a failure never looks like a
//! dropped table. A column whose latest sample holds values datawarden wrote is never reported as
//! "stopped matching": it is "partly transformed" while raw values still hold its categories,
//! "transformed" when none do.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{ColumnKey, ScanRecord};
use crate::error::Result;
use crate::store::{SnapshotColumn, Store};

/// A column whose personal categories changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryChange {
    #[serde(flatten)]
    pub key: ColumnKey,
    /// Categories gained (for new personal columns) or lost (for columns that stopped matching).
    pub categories: Vec<String>,
    /// Personal categories at the previous scan (empty for a new column).
    pub before: Vec<String>,
    /// Personal categories at the latest scan.
    pub after: Vec<String>,
}

/// A column in which the latest scan found values datawarden wrote (envelopes, pseudonyms, masks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformedChange {
    #[serde(flatten)]
    pub key: ColumnKey,
    /// Partly transformed: the categories raw values still hold. Transformed: the categories no
    /// raw value holds any more.
    pub categories: Vec<String>,
    /// Sampled values datawarden wrote, at the latest scan.
    pub transformed: u64,
}

/// A table by source, schema and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TableKey {
    pub source: String,
    pub schema: String,
    pub table: String,
}

/// What changed between two scans of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub source: String,
    /// The earlier scan.
    pub from_scan: i64,
    pub from_finished: Option<DateTime<Utc>>,
    /// The latest scan.
    pub to_scan: i64,
    pub to_finished: Option<DateTime<Utc>>,
    /// Columns that hold personal categories they did not hold before (new columns included).
    pub new_personal: Vec<CategoryChange>,
    /// Columns that no longer match categories they matched before, with no transformed values
    /// in their latest sample.
    pub stopped_matching: Vec<CategoryChange>,
    /// Columns that still hold their categories and in which values datawarden wrote appeared
    /// since the previous scan: transformed in part, raw values remain.
    pub partly_transformed: Vec<TransformedChange>,
    /// Columns that lost categories while their latest sample holds values datawarden wrote.
    pub transformed: Vec<TransformedChange>,
    /// Tables that appeared.
    pub new_tables: Vec<TableKey>,
    /// Columns that appeared in tables that existed before.
    pub new_columns: Vec<ColumnKey>,
    /// Tables that disappeared.
    pub dropped_tables: Vec<TableKey>,
    /// Columns that disappeared from tables that still exist.
    pub dropped_columns: Vec<ColumnKey>,
}

impl Drift {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.new_personal.is_empty()
            && self.stopped_matching.is_empty()
            && self.partly_transformed.is_empty()
            && self.transformed.is_empty()
            && self.new_tables.is_empty()
            && self.new_columns.is_empty()
            && self.dropped_tables.is_empty()
            && self.dropped_columns.is_empty()
    }

    /// Compares two snapshots of the same source.
    pub fn between(
        from: &ScanRecord,
        from_cols: &[SnapshotColumn],
        to: &ScanRecord,
        to_cols: &[SnapshotColumn],
    ) -> Drift {
        let failed: HashSet<(&str, &str)> = from
            .failures
            .iter()
            .chain(to.failures.iter())
            .map(|f| (f.schema.as_str(), f.table.as_str()))
            .collect();
        let keep =
            |c: &&SnapshotColumn| !failed.contains(&(c.key.schema.as_str(), c.key.table.as_str()));
        let old: BTreeMap<&ColumnKey, &SnapshotColumn> =
            from_cols.iter().filter(keep).map(|c| (&c.key, c)).collect();
        let new: BTreeMap<&ColumnKey, &SnapshotColumn> =
            to_cols.iter().filter(keep).map(|c| (&c.key, c)).collect();
        let table_of = |k: &ColumnKey| TableKey {
            source: k.source.clone(),
            schema: k.schema.clone(),
            table: k.table.clone(),
        };
        let old_tables: BTreeSet<TableKey> = old.keys().map(|k| table_of(k)).collect();
        let new_tables: BTreeSet<TableKey> = new.keys().map(|k| table_of(k)).collect();
        let mut drift = Drift {
            source: to.source.clone(),
            from_scan: from.id,
            from_finished: from.finished_at,
            to_scan: to.id,
            to_finished: to.finished_at,
            new_personal: Vec::new(),
            stopped_matching: Vec::new(),
            partly_transformed: Vec::new(),
            transformed: Vec::new(),
            new_tables: new_tables.difference(&old_tables).cloned().collect(),
            new_columns: Vec::new(),
            dropped_tables: old_tables.difference(&new_tables).cloned().collect(),
            dropped_columns: Vec::new(),
        };
        let empty = Vec::new();
        for (key, col) in &new {
            let before = old.get(key).map_or(&empty, |c| &c.categories);
            let gained: Vec<String> = col
                .categories
                .iter()
                .filter(|c| !before.contains(c))
                .cloned()
                .collect();
            if !gained.is_empty() {
                drift.new_personal.push(CategoryChange {
                    key: (*key).clone(),
                    categories: gained,
                    before: before.clone(),
                    after: col.categories.clone(),
                });
            }
            if !old.contains_key(key) && old_tables.contains(&table_of(key)) {
                drift.new_columns.push((*key).clone());
            }
        }
        for (key, col) in &old {
            match new.get(key) {
                Some(now) => {
                    let lost: Vec<String> = col
                        .categories
                        .iter()
                        .filter(|c| !now.categories.contains(c))
                        .cloned()
                        .collect();
                    if now.transformed > 0 && !now.categories.is_empty() && col.transformed == 0 {
                        drift.partly_transformed.push(TransformedChange {
                            key: (*key).clone(),
                            categories: now.categories.clone(),
                            transformed: now.transformed,
                        });
                    }
                    if !lost.is_empty() && now.transformed > 0 {
                        drift.transformed.push(TransformedChange {
                            key: (*key).clone(),
                            categories: lost,
                            transformed: now.transformed,
                        });
                    } else if !lost.is_empty() {
                        drift.stopped_matching.push(CategoryChange {
                            key: (*key).clone(),
                            categories: lost,
                            before: col.categories.clone(),
                            after: now.categories.clone(),
                        });
                    }
                }
                None if new_tables.contains(&table_of(key)) => {
                    drift.dropped_columns.push((*key).clone())
                }
                None => {}
            }
        }
        drift
    }
}

/// Drift between the last two completed scans of `source`; `None` when it has fewer than two.
pub async fn drift(store: &Store, source: &str) -> Result<Option<Drift>> {
    let scans = store.completed_scans(source, 2).await?;
    let [to, from] = scans.as_slice() else {
        return Ok(None);
    };
    let from_cols = store.snapshot(from.id).await?;
    let to_cols = store.snapshot(to.id).await?;
    Ok(Some(Drift::between(from, &from_cols, to, &to_cols)))
}

/// Drift of every source that has two completed scans (or only `source`), sorted by source.
pub async fn drift_all(store: &Store, source: Option<&str>) -> Result<Vec<Drift>> {
    let sources = match source {
        Some(s) => vec![s.to_string()],
        None => store.sources().await?,
    };
    let mut out = Vec::new();
    for s in sources {
        if let Some(d) = drift(store, &s).await? {
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ColumnStatus;
    use crate::inventory::model::{ScanStatus, TableFailure};

    fn scan(id: i64, failures: Vec<TableFailure>) -> ScanRecord {
        ScanRecord {
            id,
            source: "crm".into(),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            duration_ms: Some(1),
            status: ScanStatus::Ok,
            tables_total: 0,
            tables_scanned: 0,
            tables_failed: 0,
            columns_scanned: 0,
            personal_columns: 0,
            error: None,
            detectors: vec![],
            failures,
        }
    }

    fn col(table: &str, column: &str, cats: &[&str]) -> SnapshotColumn {
        SnapshotColumn {
            key: ColumnKey {
                source: "crm".into(),
                schema: "main".into(),
                table: table.into(),
                column: column.into(),
            },
            status: if cats.is_empty() {
                ColumnStatus::Clean
            } else {
                ColumnStatus::Personal
            },
            categories: cats.iter().map(|c| c.to_string()).collect(),
            transformed: 0,
        }
    }

    #[test]
    fn reports_each_kind_of_change() {
        let before = vec![
            col("members", "mobile", &["phone"]),
            col("members", "note", &["phone"]),
            col("members", "fax", &[]),
            col("old", "email", &["email"]),
            col("broken", "x", &["email"]),
        ];
        let after = vec![
            col("members", "mobile", &["phone"]),
            col("members", "note", &[]),
            col("members", "wechat", &["phone"]),
            col("fresh", "vin", &["vin"]),
        ];
        let failures = vec![TableFailure {
            schema: "main".into(),
            table: "broken".into(),
            error: "timeout".into(),
        }];
        let d = Drift::between(&scan(1, vec![]), &before, &scan(2, failures), &after);
        let names =
            |v: &[CategoryChange]| v.iter().map(|c| c.key.column.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.new_personal), ["vin", "wechat"]);
        assert_eq!(names(&d.stopped_matching), ["note"]);
        assert_eq!(
            d.new_columns
                .iter()
                .map(|k| k.column.as_str())
                .collect::<Vec<_>>(),
            ["wechat"]
        );
        assert_eq!(
            d.dropped_columns
                .iter()
                .map(|k| k.column.as_str())
                .collect::<Vec<_>>(),
            ["fax"]
        );
        assert_eq!(
            d.dropped_tables
                .iter()
                .map(|t| t.table.as_str())
                .collect::<Vec<_>>(),
            ["old"]
        );
        assert_eq!(
            d.new_tables
                .iter()
                .map(|t| t.table.as_str())
                .collect::<Vec<_>>(),
            ["fresh"]
        );
        assert!(!d.is_empty());
        let same = Drift::between(&scan(1, vec![]), &after, &scan(2, vec![]), &after);
        assert!(same.is_empty());
    }

    /// A column with values datawarden wrote is never "stopped matching": partly transformed
    /// while it still holds its categories, transformed when it does not.
    #[test]
    fn transformed_columns_never_stop_matching() {
        let before = vec![
            col("orders", "phone", &["phone"]),
            col("orders", "mobile", &["phone"]),
            col("orders", "fax", &["phone"]),
        ];
        let mut after = vec![
            col("orders", "phone", &["phone"]),
            col("orders", "mobile", &[]),
            col("orders", "fax", &[]),
        ];
        after[0].transformed = 49;
        after[1].transformed = 65;
        let d = Drift::between(&scan(1, vec![]), &before, &scan(2, vec![]), &after);
        let names = |v: &[TransformedChange]| {
            v.iter()
                .map(|c| (c.key.column.clone(), c.transformed))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&d.partly_transformed), [("phone".to_string(), 49)]);
        assert_eq!(names(&d.transformed), [("mobile".to_string(), 65)]);
        assert_eq!(
            d.stopped_matching
                .iter()
                .map(|c| c.key.column.as_str())
                .collect::<Vec<_>>(),
            ["fax"]
        );
        // Already partly transformed at the previous scan: not a change.
        let again = Drift::between(&scan(2, vec![]), &after, &scan(3, vec![]), &after);
        assert!(again.is_empty(), "{again:?}");
    }
}
