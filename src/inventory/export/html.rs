//! HTML export: one self-contained page (inline CSS, no scripts, no external assets) for compliance
//! officers: totals by category, source and sensitivity; personal columns no retention policy covers;
//! drift since the previous scan; every column with its evidence; unknown columns; scan failures.
//! Every value from the inventory is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use html_escape::encode_text;

use super::{io_err, percent, Report, ReportColumn};
use crate::classify::ColumnStatus;
use crate::detect::Sensitivity;
use crate::error::Result;
use crate::inventory::drift::Drift;
use crate::inventory::model::{layout_name, CategoryStatus};

const STYLE: &str = r#"
:root { --ink:#1d2433; --muted:#5b6474; --line:#dde1e8; --bg:#f6f7f9; --accent:#24527a; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
  color:var(--ink); background:var(--bg); }
header { background:var(--accent); color:#fff; padding:20px 32px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header p { margin:0; opacity:.85; }
main { padding:20px 32px 48px; max-width:1600px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px 20px; margin:0 0 18px; }
h2 { font-size:17px; margin:0 0 10px; }
h3 { font-size:14px; margin:14px 0 6px; color:var(--muted); }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:0 0 18px; }
.card { flex:1 1 140px; background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px; }
.scroll { overflow-x:auto; }
.card b { display:block; font-size:24px; }
.card span { color:var(--muted); }
.card.warn b { color:#a4161a; }
.grid { display:flex; flex-wrap:wrap; gap:24px; }
.grid > div { flex:1 1 260px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:1px 7px; border-radius:10px; font-size:12px; margin:1px 2px 1px 0; white-space:nowrap; }
.s-high { background:#fde2e1; color:#8a1116; }
.s-moderate { background:#fff1d6; color:#7a4b00; }
.s-low { background:#e3f1e6; color:#1f5c2c; }
.st-confirmed { background:#dcebff; color:#163f73; }
.st-suggested { background:#eceff3; color:#3b4452; }
.st-rejected { background:#f2f2f2; color:#888; text-decoration:line-through; }
.st-below_threshold { background:#fafafa; color:#888; }
.cov-enforced { background:#e3f1e6; color:#1f5c2c; }
.cov-failing { background:#fde2e1; color:#8a1116; }
.cov-not_run { background:#fff1d6; color:#7a4b00; }
.ok { color:#1f5c2c; }
.bad { color:#a4161a; }
.empty { color:var(--muted); font-style:italic; }
"#;

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    encode_text(s)
}

fn sensitivity_badge(s: Option<Sensitivity>) -> String {
    match s {
        Some(s) => format!(r#"<span class="badge s-{0}">{0}</span>"#, s.as_str()),
        None => r#"<span class="muted">-</span>"#.to_string(),
    }
}

/// The covering policies with their states (`none` when no policy covers the column).
fn policies_cell(c: &ReportColumn) -> String {
    if c.covered_by.is_empty() {
        return "<span class=\"bad\">none</span>".to_string();
    }
    c.covered_by
        .iter()
        .map(|p| {
            let when = p
                .last_run
                .map(|t| {
                    format!(
                        " <span class=\"muted\">{}</span>",
                        t.format("%Y-%m-%d %H:%M")
                    )
                })
                .unwrap_or_default();
            format!(
                r#"{} <span class="badge cov-{1}">{2}</span>{when}"#,
                esc(&p.policy),
                p.state.as_str(),
                p.state.as_str().replace('_', " ")
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn table_name(c: &ReportColumn) -> String {
    format!("{}.{}", c.record.key.schema, c.record.key.table)
}

/// Writes the report as one HTML page.
pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let personal: Vec<&ReportColumn> = report.personal().collect();
    let uncovered: Vec<&ReportColumn> = report.uncovered().collect();
    let unknown: Vec<&ReportColumn> = report
        .columns
        .iter()
        .filter(|c| c.record.scan_status == ColumnStatus::Unknown && !c.record.is_personal())
        .collect();
    let tables: std::collections::BTreeSet<(&str, String)> = personal
        .iter()
        .map(|c| (c.record.key.source.as_str(), table_name(c)))
        .collect();
    let high = personal
        .iter()
        .filter(|c| c.record.sensitivity() == Some(Sensitivity::High))
        .count();
    let failures: usize = report.scans.iter().map(|s| s.failures.len()).sum();

    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>datawarden: personal data inventory</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<header><h1>Personal data inventory</h1>");
    let _ = write!(
        h,
        "<p>Generated by datawarden on {} (UTC) &middot; {} source(s)</p></header>\n<main>\n",
        report.generated_at.format("%Y-%m-%d %H:%M"),
        report.scans.len()
    );

    // Cards.
    h.push_str("<div class=\"cards\">");
    let card = |h: &mut String, n: usize, label: &str, warn: bool| {
        let _ = write!(
            h,
            "<div class=\"card{}\"><b>{n}</b><span>{label}</span></div>",
            if warn && n > 0 { " warn" } else { "" }
        );
    };
    card(&mut h, personal.len(), "personal-data columns", false);
    card(&mut h, tables.len(), "tables with personal data", false);
    card(&mut h, high, "columns of high sensitivity", true);
    card(
        &mut h,
        uncovered.len(),
        "not covered by an enforced retention policy",
        true,
    );
    card(
        &mut h,
        unknown.len(),
        "columns unknown (no values sampled)",
        true,
    );
    card(&mut h, failures, "tables that failed to scan", true);
    h.push_str("</div>\n");

    // Totals.
    h.push_str("<section><h2>Totals</h2><div class=\"grid\">");
    let mut by_cat: BTreeMap<&str, (usize, Option<Sensitivity>)> = BTreeMap::new();
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_sens: BTreeMap<Sensitivity, usize> = BTreeMap::new();
    for c in &personal {
        for cat in c.record.held() {
            let e = by_cat.entry(cat.category.as_str()).or_insert((0, None));
            e.0 += 1;
            e.1 = e.1.max(cat.sensitivity);
        }
        *by_source.entry(c.record.key.source.as_str()).or_default() += 1;
        if let Some(s) = c.record.sensitivity() {
            *by_sens.entry(s).or_default() += 1;
        }
    }
    h.push_str("<div><h3>By category</h3><table><tr><th>Category</th><th>Sensitivity</th><th class=\"num\">Columns</th></tr>");
    for (cat, (n, s)) in &by_cat {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{n}</td></tr>",
            esc(cat),
            sensitivity_badge(*s)
        );
    }
    if by_cat.is_empty() {
        h.push_str("<tr><td colspan=\"3\" class=\"empty\">No personal data found.</td></tr>");
    }
    h.push_str("</table></div>");
    h.push_str("<div><h3>By source</h3><table><tr><th>Source</th><th>Last scan</th><th class=\"num\">Columns</th></tr>");
    for s in &report.scans {
        let n = by_source.get(s.source.as_str()).copied().unwrap_or(0);
        let when = s
            .finished_at
            .unwrap_or(s.started_at)
            .format("%Y-%m-%d %H:%M");
        let status = s.status.as_str();
        let class = if status == "ok" { "ok" } else { "bad" };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{when} <span class=\"{class}\">{status}</span></td><td class=\"num\">{n}</td></tr>",
            esc(&s.source)
        );
    }
    h.push_str("</table></div>");
    h.push_str("<div><h3>By sensitivity</h3><table><tr><th>Sensitivity</th><th class=\"num\">Columns</th></tr>");
    for s in [Sensitivity::High, Sensitivity::Moderate, Sensitivity::Low] {
        let n = by_sens.get(&s).copied().unwrap_or(0);
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            sensitivity_badge(Some(s))
        );
    }
    h.push_str("</table></div></div></section>\n");

    // Uncovered.
    h.push_str("<section><h2>Personal data no enforced retention policy covers</h2>");
    if uncovered.is_empty() {
        h.push_str(
            "<p class=\"empty\">Every personal-data column is covered by a retention policy whose last run completed.</p>",
        );
    } else {
        h.push_str(
            "<p class=\"muted\">A policy counts once its last run completed. Add a <code>[[policies]]</code> entry that \
             deletes these rows or transforms these columns, or fix the policy that fails (see <code>datawarden audit export</code>) \
             or has not run yet.</p>",
        );
        h.push_str("<table><tr><th>Source</th><th>Table</th><th>Column</th><th>Categories</th><th>Sensitivity</th><th>Retention policy</th></tr>");
        for c in &uncovered {
            let cats: Vec<String> = c
                .record
                .held()
                .map(|c| esc(&c.category).into_owned())
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.record.key.source),
                esc(&table_name(c)),
                esc(&c.record.key.column),
                cats.join(", "),
                sensitivity_badge(c.record.sensitivity()),
                policies_cell(c)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");

    // Drift.
    h.push_str("<section><h2>Changes since the previous scan</h2>");
    if report.drift.is_empty() {
        h.push_str("<p class=\"empty\">No source has been scanned twice yet.</p>");
    }
    for d in &report.drift {
        write_drift(&mut h, d);
    }
    h.push_str("</section>\n");

    // Columns.
    h.push_str("<section><h2>Personal-data columns and evidence</h2>");
    h.push_str(
        "<p class=\"muted\">Share = sampled raw non-null values holding the category; values datawarden wrote \
         (encrypted, pseudonymized, masked) are counted apart and never in the share. Examples are masked. \
         Rejected categories stay rejected on every rescan.</p>",
    );
    h.push_str(
        "<div class=\"scroll\"><table><tr><th>Column</th><th>Category</th><th>Status</th>\
         <th class=\"num\">Matched / non-null</th><th class=\"num\">Share</th><th>Layout</th>\
         <th>Masked examples</th><th>Detectors</th><th>Retention policy</th></tr>",
    );
    let shown: Vec<&ReportColumn> = report
        .columns
        .iter()
        .filter(|c| {
            c.record
                .categories
                .iter()
                .any(|k| k.status != CategoryStatus::BelowThreshold)
        })
        .collect();
    for c in &shown {
        let r = &c.record;
        for cat in r
            .categories
            .iter()
            .filter(|k| k.status != CategoryStatus::BelowThreshold)
        {
            let e = cat.evidence.as_ref();
            let status = cat.status.as_str();
            let mut status_cell = format!(
                r#"<span class="badge st-{status}">{}</span>"#,
                status.replace('_', " ")
            );
            if let Some(by) = &cat.reviewed_by {
                let _ = write!(
                    status_cell,
                    "<br><span class=\"muted\">by {}</span>",
                    esc(by)
                );
            }
            if let Some(note) = &cat.note {
                let _ = write!(
                    status_cell,
                    "<br><span class=\"muted\">{}</span>",
                    esc(note)
                );
            }
            let examples: Vec<String> = e
                .map(|e| e.examples.iter().map(|x| esc(x).into_owned()).collect())
                .unwrap_or_default();
            let detectors: Vec<String> = e
                .map(|e| {
                    e.detectors
                        .iter()
                        .map(|d| format!("{}@{}", esc(&d.id), d.version))
                        .collect()
                })
                .unwrap_or_default();
            let scan_note = r.scan_note.as_deref().map_or(String::new(), |n| {
                format!("<br><span class=\"muted\">{}</span>", esc(n))
            });
            let policies = if !cat.status.holds() {
                "<span class=\"muted\">-</span>".to_string()
            } else {
                policies_cell(c)
            };
            let _ = write!(
                h,
                "<tr><td><code>{}.{}</code><br><span class=\"muted\">{} &middot; {} &middot; {}</span>{scan_note}</td>\
                 <td>{}<br>{}</td><td>{status_cell}</td><td class=\"num\">{} / {}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{policies}</td></tr>",
                esc(&r.key.table),
                esc(&r.key.column),
                esc(&r.key.source),
                esc(&r.key.schema),
                esc(&r.sql_type),
                esc(&cat.category),
                sensitivity_badge(cat.sensitivity),
                e.map_or("-".to_string(), |e| e.matched.to_string()),
                if r.transformed > 0 {
                    format!(
                        "{}<br><span class=\"muted\">{} transformed, not counted</span>",
                        r.non_null - r.transformed,
                        r.transformed
                    )
                } else {
                    r.non_null.to_string()
                },
                e.map_or("-".to_string(), |e| percent(e.share)),
                e.map_or("-", |e| match layout_name(e.layout) {
                    "free_text" => "free text",
                    _ => "whole value",
                }),
                examples.join("<br>"),
                detectors.join("<br>"),
            );
        }
    }
    if shown.is_empty() {
        h.push_str("<tr><td colspan=\"9\" class=\"empty\">No personal data found.</td></tr>");
    }
    h.push_str("</table></div></section>\n");

    // Unknown.
    h.push_str("<section><h2>Columns with no values sampled (unknown, not clean)</h2>");
    if unknown.is_empty() {
        h.push_str("<p class=\"empty\">None.</p>");
    } else {
        h.push_str("<table><tr><th>Source</th><th>Table</th><th>Column</th><th>Type</th><th class=\"num\">Sampled</th></tr>");
        for c in &unknown {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"mono\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&c.record.key.source),
                esc(&table_name(c)),
                esc(&c.record.key.column),
                esc(&c.record.sql_type),
                c.record.sampled
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");

    // Scans.
    h.push_str("<section><h2>Latest scans</h2><table><tr><th>Source</th><th>Scan</th><th>Started</th>\
        <th class=\"num\">Duration</th><th>Status</th><th class=\"num\">Tables</th><th class=\"num\">Failed</th><th>Detectors</th></tr>");
    for s in &report.scans {
        let detectors: Vec<String> = s
            .detectors
            .iter()
            .map(|d| format!("{}@{}", esc(&d.id), d.version))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">#{}</td><td>{}</td><td class=\"num\">{:.1} s</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(&s.source),
            s.id,
            s.started_at.format("%Y-%m-%d %H:%M:%S"),
            s.duration_ms.unwrap_or(0) as f64 / 1000.0,
            s.status.as_str(),
            s.tables_scanned,
            s.tables_failed,
            detectors.join(", ")
        );
        if let Some(err) = &s.error {
            let _ = write!(
                h,
                "<tr><td></td><td colspan=\"7\" class=\"bad\">{}</td></tr>",
                esc(err)
            );
        }
        for f in &s.failures {
            let _ = write!(
                h,
                "<tr><td></td><td colspan=\"7\" class=\"bad\"><code>{}.{}</code>: {}</td></tr>",
                esc(&f.schema),
                esc(&f.table),
                esc(&f.error)
            );
        }
    }
    h.push_str("</table></section>\n</main>\n</body>\n</html>\n");
    out.write_all(h.as_bytes()).map_err(io_err)
}

fn write_drift(h: &mut String, d: &Drift) {
    let _ = write!(
        h,
        "<h3>{}: scan #{} &rarr; #{}</h3>",
        esc(&d.source),
        d.from_scan,
        d.to_scan
    );
    if d.is_empty() {
        h.push_str("<p class=\"empty\">No changes.</p>");
        return;
    }
    h.push_str("<table><tr><th>Change</th><th>Table</th><th>Column</th><th>Categories</th></tr>");
    let row = |h: &mut String,
               what: &str,
               class: &str,
               table: String,
               column: &str,
               cats: &[String]| {
        let cats: Vec<String> = cats.iter().map(|c| esc(c).into_owned()).collect();
        let _ = write!(
            h,
            "<tr><td class=\"{class}\">{what}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&table),
            esc(column),
            cats.join(", ")
        );
    };
    for c in &d.new_personal {
        row(
            h,
            "new personal data",
            "bad",
            format!("{}.{}", c.key.schema, c.key.table),
            &c.key.column,
            &c.categories,
        );
    }
    for c in &d.stopped_matching {
        row(
            h,
            "stopped matching",
            "ok",
            format!("{}.{}", c.key.schema, c.key.table),
            &c.key.column,
            &c.categories,
        );
    }
    for c in &d.partly_transformed {
        row(
            h,
            &format!(
                "partly transformed ({} sampled values transformed, raw values remain)",
                c.transformed
            ),
            "bad",
            format!("{}.{}", c.key.schema, c.key.table),
            &c.key.column,
            &c.categories,
        );
    }
    for c in &d.transformed {
        row(
            h,
            &format!("transformed ({} sampled values)", c.transformed),
            "ok",
            format!("{}.{}", c.key.schema, c.key.table),
            &c.key.column,
            &c.categories,
        );
    }
    for t in &d.new_tables {
        row(
            h,
            "new table",
            "muted",
            format!("{}.{}", t.schema, t.table),
            "",
            &[],
        );
    }
    for k in &d.new_columns {
        row(
            h,
            "new column",
            "muted",
            format!("{}.{}", k.schema, k.table),
            &k.column,
            &[],
        );
    }
    for t in &d.dropped_tables {
        row(
            h,
            "dropped table",
            "muted",
            format!("{}.{}", t.schema, t.table),
            "",
            &[],
        );
    }
    for k in &d.dropped_columns {
        row(
            h,
            "dropped column",
            "muted",
            format!("{}.{}", k.schema, k.table),
            &k.column,
            &[],
        );
    }
    h.push_str("</table>");
}
