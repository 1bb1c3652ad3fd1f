//! What the inventory remembers, as read back from the store: columns with their evidence and review
//! decisions, scans, and the pieces of a review target.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::{ColumnStatus, DetectorVersion, Layout};
use crate::detect::Sensitivity;
use crate::error::{Error, Result};

/// The snake_case name of a layout (`whole_value`, `free_text`), as stored and exported.
pub fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::WholeValue => "whole_value",
        Layout::FreeText => "free_text",
    }
}

/// A column's place: source, schema, table, column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnKey {
    pub source: String,
    pub schema: String,
    pub table: String,
    pub column: String,
}

impl std::fmt::Display for ColumnKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.source, self.schema, self.table, self.column
        )
    }
}

/// Where a category of a column stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryStatus {
    /// The scanner's evidence reached the threshold; nobody has decided yet.
    Suggested,
    /// A person confirmed the column holds the category.
    Confirmed,
    /// A person rejected the category; rescans never bring it back.
    Rejected,
    /// Some sampled values matched, below the threshold; shown as evidence only.
    BelowThreshold,
}

impl CategoryStatus {
    /// The snake_case name used in exports.
    pub fn as_str(&self) -> &'static str {
        match self {
            CategoryStatus::Suggested => "suggested",
            CategoryStatus::Confirmed => "confirmed",
            CategoryStatus::Rejected => "rejected",
            CategoryStatus::BelowThreshold => "below_threshold",
        }
    }

    /// True when the column counts as holding the category (confirmed or suggested).
    pub fn holds(&self) -> bool {
        matches!(self, CategoryStatus::Suggested | CategoryStatus::Confirmed)
    }
}

/// A person's decision on one (column, category).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Confirm,
    Reject,
}

impl Decision {
    /// The review status this decision sets.
    pub fn status(&self) -> CategoryStatus {
        match self {
            Decision::Confirm => CategoryStatus::Confirmed,
            Decision::Reject => CategoryStatus::Rejected,
        }
    }
}

/// The latest scanner evidence for one category of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Detectors that matched, with versions.
    pub detectors: Vec<DetectorVersion>,
    /// Sampled non-null values holding the category.
    pub matched: u64,
    /// `matched / (non_null - transformed)` of the column: the share of the raw values.
    pub share: f64,
    /// Whole-value or free-text column.
    pub layout: Layout,
    /// The column-name hint that matched, if any.
    pub name_hint: Option<String>,
    /// 0..1.
    pub confidence: f64,
    /// Masked examples, never raw values.
    pub examples: Vec<String>,
    /// True when the evidence reached the detector's threshold.
    pub personal: bool,
    /// The scan that produced this evidence.
    pub scan_id: i64,
    /// Which evidence decided (`values`, `name + values`); None for older scans and categories
    /// below their threshold.
    #[serde(default)]
    pub rule: Option<String>,
    /// Sampled values of the column that datawarden wrote (envelopes, pseudonyms, masks): counted
    /// apart, never in `share`.
    #[serde(default)]
    pub transformed: u64,
}

/// One category of one column: evidence (absent when a person added the category) and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryRecord {
    /// Category id (`phone`, ...).
    pub category: String,
    /// Sensitivity of the category, when a detector reported it.
    pub sensitivity: Option<Sensitivity>,
    /// The latest evidence, if the scanner found any.
    pub evidence: Option<Evidence>,
    /// Review status.
    pub status: CategoryStatus,
    /// Who decided (confirmed/rejected only).
    pub reviewed_by: Option<String>,
    /// When they decided.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Their note.
    pub note: Option<String>,
}

/// One column of the inventory with everything known about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnRecord {
    #[serde(flatten)]
    pub key: ColumnKey,
    /// SQL type as the database names it.
    pub sql_type: String,
    /// Row estimate of the table at the last scan.
    pub row_estimate: Option<i64>,
    /// How the values were drawn at the last scan.
    pub sample_method: Option<String>,
    /// Values observed at the last scan, NULLs included.
    pub sampled: u64,
    /// Non-null values observed at the last scan (transformed ones included).
    pub non_null: u64,
    /// Of those, values datawarden wrote (envelopes, pseudonyms, masks).
    #[serde(default)]
    pub transformed: u64,
    /// Scanner status at the last scan.
    pub scan_status: ColumnStatus,
    /// First time a scan saw the column.
    pub first_seen: DateTime<Utc>,
    /// Last time a scan saw the column exist.
    pub last_seen: DateTime<Utc>,
    /// Last time its values were sampled and classified.
    pub last_scanned: Option<DateTime<Utc>>,
    /// Set when a later scan of the source no longer found the column.
    pub dropped_at: Option<DateTime<Utc>>,
    /// Categories with evidence or a decision, held ones first.
    pub categories: Vec<CategoryRecord>,
    /// The last scan's note: detection cut short, the view lineage the evidence came from, or
    /// why a view was not read (`not populated`, `timed out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_note: Option<String>,
}

impl ColumnRecord {
    /// The categories the column holds: confirmed or suggested, never rejected.
    pub fn held(&self) -> impl Iterator<Item = &CategoryRecord> {
        self.categories.iter().filter(|c| c.status.holds())
    }

    /// True when the column holds at least one category.
    pub fn is_personal(&self) -> bool {
        self.held().next().is_some()
    }

    /// The highest sensitivity among held categories.
    pub fn sensitivity(&self) -> Option<Sensitivity> {
        self.held().filter_map(|c| c.sensitivity).max()
    }
}

/// Final state of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    /// Still running (or the process died during it).
    Running,
    /// Every table scanned.
    Ok,
    /// Finished, some tables failed.
    Partial,
    /// The source could not be scanned at all.
    Failed,
    /// Stopped on request before the end.
    Stopped,
}

impl ScanStatus {
    /// The lower-case name stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanStatus::Running => "running",
            ScanStatus::Ok => "ok",
            ScanStatus::Partial => "partial",
            ScanStatus::Failed => "failed",
            ScanStatus::Stopped => "stopped",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<ScanStatus> {
        Ok(match s {
            "running" => ScanStatus::Running,
            "ok" => ScanStatus::Ok,
            "partial" => ScanStatus::Partial,
            "failed" => ScanStatus::Failed,
            "stopped" => ScanStatus::Stopped,
            other => {
                return Err(Error::Inventory(format!(
                    "unknown scan status `{other}` in the store"
                )))
            }
        })
    }
}

/// One table that failed during a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFailure {
    pub schema: String,
    pub table: String,
    /// The error, without secrets.
    pub error: String,
}

/// One scan of one source, from the scan history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub id: i64,
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub status: ScanStatus,
    /// Tables in scope.
    pub tables_total: u64,
    /// Tables sampled and classified.
    pub tables_scanned: u64,
    /// Tables that failed.
    pub tables_failed: u64,
    /// Columns classified.
    pub columns_scanned: u64,
    /// Columns the scanner found personal.
    pub personal_columns: u64,
    /// Why the scan failed, when it did.
    pub error: Option<String>,
    /// Detector ids and versions used.
    pub detectors: Vec<DetectorVersion>,
    /// Tables that failed, with their errors.
    pub failures: Vec<TableFailure>,
}

/// Counts written when a scan ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub tables_total: u64,
    pub tables_scanned: u64,
    pub tables_failed: u64,
    pub columns_scanned: u64,
    pub personal_columns: u64,
}

/// A review target as typed: `[SOURCE.][SCHEMA.]TABLE.COLUMN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPath {
    parts: Vec<String>,
}

impl ColumnPath {
    /// Splits a dotted path of 2 to 4 parts. Names containing dots cannot be addressed this way.
    pub fn parse(s: &str) -> Result<ColumnPath> {
        let parts: Vec<String> = s.split('.').map(str::to_string).collect();
        if !(2..=4).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::Other(format!(
                "`{s}` is not a column: write [SOURCE.][SCHEMA.]TABLE.COLUMN, e.g. crm.public.members.mobile"
            )));
        }
        Ok(ColumnPath { parts })
    }

    /// True when `key` is one of the columns this path can mean.
    pub fn matches(&self, key: &ColumnKey) -> bool {
        let full = [&key.source, &key.schema, &key.table, &key.column];
        let p = &self.parts;
        let tail = |n: usize| full[4 - n..].iter().zip(p.iter()).all(|(a, b)| *a == b);
        match p.len() {
            4 => tail(4),
            // source.table.column or schema.table.column
            3 => tail(3) || (key.source == p[0] && key.table == p[1] && key.column == p[2]),
            _ => tail(2),
        }
    }
}

impl std::fmt::Display for ColumnPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str, sc: &str, t: &str, c: &str) -> ColumnKey {
        ColumnKey {
            source: s.into(),
            schema: sc.into(),
            table: t.into(),
            column: c.into(),
        }
    }

    #[test]
    fn column_paths_match_their_shapes() {
        let k = key("crm", "public", "members", "mobile");
        for ok in [
            "crm.public.members.mobile",
            "crm.members.mobile",
            "public.members.mobile",
            "members.mobile",
        ] {
            assert!(ColumnPath::parse(ok).unwrap().matches(&k), "{ok}");
        }
        for no in [
            "crm.other.members.mobile",
            "x.members.mobile",
            "members.phone",
        ] {
            assert!(!ColumnPath::parse(no).unwrap().matches(&k), "{no}");
        }
        for bad in ["mobile", "a.b.c.d.e", "a..b", ""] {
            assert!(ColumnPath::parse(bad).is_err(), "{bad}");
        }
    }
}
