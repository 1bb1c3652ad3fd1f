//! JSON export: `{"generated_at", "columns": [...], "drift": [...], "scans": [...]}`, one object per
//! column with the categories it holds and the evidence per category. `covered_by` lists the
//! covering policies as `{"policy", "state": "enforced" | "failing" | "not_run", "last_run"}`;
//! `transformed` counts sampled values datawarden wrote, which no `share` includes.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{io_err, Report, ReportColumn};
use crate::classify::{ColumnStatus, DetectorVersion, Layout};
use crate::detect::Sensitivity;
use crate::error::{Error, Result};
use crate::inventory::coverage::Coverage;
use crate::inventory::drift::Drift;
use crate::inventory::model::{CategoryStatus, ScanRecord};

#[derive(Serialize)]
struct Document<'a> {
    generated_at: DateTime<Utc>,
    columns: Vec<Column<'a>>,
    drift: &'a [Drift],
    scans: &'a [ScanRecord],
}

#[derive(Serialize)]
struct Column<'a> {
    source: &'a str,
    schema: &'a str,
    table: &'a str,
    column: &'a str,
    /// Categories the column holds: confirmed or suggested, never rejected.
    categories: Vec<&'a str>,
    sensitivity: Option<Sensitivity>,
    sql_type: &'a str,
    row_estimate: Option<i64>,
    sample_method: Option<&'a str>,
    sampled: u64,
    non_null: u64,
    transformed: u64,
    scan_status: ColumnStatus,
    /// With `scan_status` `clean`: the categories the detectors checked and none of which
    /// reached its threshold ("no detector matched", not "holds no personal data"); fewer
    /// when the column's type narrowed detection (`scan_note` says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    categories_checked: Option<Vec<String>>,
    /// The last scan's note: detection narrowed by the column type or cut short, the view
    /// lineage the evidence came from, or why a view was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    scan_note: Option<&'a str>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    last_scanned: Option<DateTime<Utc>>,
    covered_by: &'a [Coverage],
    evidence: Vec<Evidence<'a>>,
}

#[derive(Serialize)]
struct Evidence<'a> {
    category: &'a str,
    status: CategoryStatus,
    reviewed_by: Option<&'a str>,
    reviewed_at: Option<DateTime<Utc>>,
    note: Option<&'a str>,
    sensitivity: Option<Sensitivity>,
    detectors: &'a [DetectorVersion],
    sampled: u64,
    non_null: u64,
    matched: u64,
    transformed: u64,
    share: f64,
    layout: Option<Layout>,
    name_hint: Option<&'a str>,
    confidence: Option<f64>,
    /// Which evidence decided: `values`, `name + values`.
    rule: Option<&'a str>,
    examples: &'a [String],
}

fn column<'a>(c: &'a ReportColumn, checked: &'a [String]) -> Column<'a> {
    let r = &c.record;
    Column {
        source: &r.key.source,
        schema: &r.key.schema,
        table: &r.key.table,
        column: &r.key.column,
        categories: r.held().map(|c| c.category.as_str()).collect(),
        sensitivity: r.sensitivity(),
        sql_type: &r.sql_type,
        row_estimate: r.row_estimate,
        sample_method: r.sample_method.as_deref(),
        sampled: r.sampled,
        non_null: r.non_null,
        transformed: r.transformed,
        scan_status: r.scan_status,
        categories_checked: (r.scan_status == ColumnStatus::Clean).then(|| {
            crate::classify::categories_checked(checked, &r.sql_type, r.scan_note.as_deref())
        }),
        scan_note: r.scan_note.as_deref(),
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        last_scanned: r.last_scanned,
        covered_by: &c.covered_by,
        evidence: r
            .categories
            .iter()
            .map(|cat| {
                let e = cat.evidence.as_ref();
                Evidence {
                    category: &cat.category,
                    status: cat.status,
                    reviewed_by: cat.reviewed_by.as_deref(),
                    reviewed_at: cat.reviewed_at,
                    note: cat.note.as_deref(),
                    sensitivity: cat.sensitivity,
                    detectors: e.map_or(&[], |e| e.detectors.as_slice()),
                    sampled: r.sampled,
                    non_null: r.non_null,
                    matched: e.map_or(0, |e| e.matched),
                    transformed: e.map_or(r.transformed, |e| e.transformed),
                    share: e.map_or(0.0, |e| e.share),
                    layout: e.map(|e| e.layout),
                    name_hint: e.and_then(|e| e.name_hint.as_deref()),
                    confidence: e.map(|e| e.confidence),
                    rule: e.and_then(|e| e.rule.as_deref()),
                    examples: e.map_or(&[], |e| e.examples.as_slice()),
                }
            })
            .collect(),
    }
}

/// Writes the report as pretty-printed JSON.
pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    let doc = Document {
        generated_at: report.generated_at,
        columns: report
            .columns
            .iter()
            .map(|c| column(c, &report.categories_checked))
            .collect(),
        drift: &report.drift,
        scans: &report.scans,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)
        .map_err(|e| Error::Other(format!("writing the JSON export: {e}")))?;
    out.write_all(b"\n").map_err(io_err)
}
