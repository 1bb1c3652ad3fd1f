//! CSV export: one row per column and category with the evidence. Starts with a UTF-8 byte order
//! mark so that Excel opens Chinese text correctly; text cells that a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`) are prefixed with `'`.
//!
//! Coverage is flat: `covered_by` lists the covering policies as `NAME:STATE` joined by `;`
//! (STATE is `enforced`, `failing` or `not_run`; split each entry at its last `:`), and
//! `covered_by_last_run` lists, in the same order and joined by `;`, when each one's last run
//! finished (RFC 3339, empty when it never ran). `transformed` counts sampled values datawarden
//! wrote (envelopes, pseudonyms, masks); `share` is `matched / (non_null - transformed)`.
//! `scan_note` is the column's last scan note (detection narrowed by its type or cut short, the
//! view lineage the evidence came from).

use std::borrow::Cow;
use std::io::Write;

use super::{io_err, Report};
use crate::error::{Error, Result};
use crate::inventory::model::layout_name;

/// Column headers, in order.
pub const HEADERS: &[&str] = &[
    "source",
    "schema",
    "table",
    "column",
    "sql_type",
    "category",
    "status",
    "sensitivity",
    "layout",
    "sampled",
    "non_null",
    "matched",
    "share",
    "confidence",
    "detectors",
    "examples",
    "name_hint",
    "reviewed_by",
    "reviewed_at",
    "note",
    "covered_by",
    "row_estimate",
    "sample_method",
    "first_seen",
    "last_seen",
    "last_scanned",
    "transformed",
    "covered_by_last_run",
    "scan_note",
];

/// Neutralises cells that spreadsheets would evaluate as formulas.
fn cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

fn csv_err(e: ::csv::Error) -> Error {
    Error::Other(format!("writing the CSV export: {e}"))
}

/// Writes the report as CSV (UTF-8 with BOM).
pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADERS).map_err(csv_err)?;
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for c in &report.columns {
        let r = &c.record;
        let covered = c
            .covered_by
            .iter()
            .map(|p| format!("{}:{}", p.policy, p.state.as_str()))
            .collect::<Vec<_>>()
            .join(";");
        let last_runs = c
            .covered_by
            .iter()
            .map(|p| time(p.last_run))
            .collect::<Vec<_>>()
            .join(";");
        let base = |category: &str, status: &str| -> Vec<String> {
            vec![
                cell(&r.key.source).into_owned(),
                cell(&r.key.schema).into_owned(),
                cell(&r.key.table).into_owned(),
                cell(&r.key.column).into_owned(),
                cell(&r.sql_type).into_owned(),
                category.to_string(),
                status.to_string(),
            ]
        };
        let tail = [
            cell(&covered).into_owned(),
            r.row_estimate.map(|n| n.to_string()).unwrap_or_default(),
            cell(r.sample_method.as_deref().unwrap_or("")).into_owned(),
            r.first_seen.to_rfc3339(),
            r.last_seen.to_rfc3339(),
            time(r.last_scanned),
            r.transformed.to_string(),
            last_runs,
            cell(r.scan_note.as_deref().unwrap_or("")).into_owned(),
        ];
        if r.categories.is_empty() {
            // A column whose sample held no values: unknown, listed so nobody reads it as clean.
            let mut row = base("", "unknown");
            row.extend(
                ["", "", &r.sampled.to_string(), &r.non_null.to_string()].map(str::to_string),
            );
            row.extend(std::iter::repeat_n(String::new(), 9));
            row.extend(tail.iter().cloned());
            w.write_record(&row).map_err(csv_err)?;
            continue;
        }
        for cat in &r.categories {
            let e = cat.evidence.as_ref();
            let mut row = base(&cat.category, cat.status.as_str());
            row.push(
                cat.sensitivity
                    .map(|s| s.as_str())
                    .unwrap_or("")
                    .to_string(),
            );
            row.push(e.map(|e| layout_name(e.layout)).unwrap_or("").to_string());
            row.push(r.sampled.to_string());
            row.push(r.non_null.to_string());
            row.push(e.map(|e| e.matched.to_string()).unwrap_or_default());
            row.push(e.map(|e| format!("{:.4}", e.share)).unwrap_or_default());
            row.push(
                e.map(|e| format!("{:.2}", e.confidence))
                    .unwrap_or_default(),
            );
            row.push(
                e.map(|e| {
                    e.detectors
                        .iter()
                        .map(|d| format!("{}@{}", d.id, d.version))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
            );
            row.push(cell(&e.map(|e| e.examples.join("; ")).unwrap_or_default()).into_owned());
            row.push(cell(e.and_then(|e| e.name_hint.as_deref()).unwrap_or("")).into_owned());
            row.push(cell(cat.reviewed_by.as_deref().unwrap_or("")).into_owned());
            row.push(time(cat.reviewed_at));
            row.push(cell(cat.note.as_deref().unwrap_or("")).into_owned());
            row.extend(tail.iter().cloned());
            w.write_record(&row).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(cell("+86 138****5678"), "'+86 138****5678");
        assert_eq!(cell("=HYPERLINK()"), "'=HYPERLINK()");
        assert_eq!(cell("138****5678"), "138****5678");
        assert_eq!(cell(""), "");
    }
}
