//! The evidence report as one self-contained HTML page (inline CSS, no scripts, no external
//! resources). Every value from the config, the inventory or the audit trail is HTML-escaped.

use std::fmt::Write as _;
use std::io::Write;

use html_escape::encode_text;

use super::{EvidenceReport, PolicyEvidence, Promise};
use crate::error::{Error, Result};

const STYLE: &str = r#"
:root { --ink:#1d2433; --muted:#5b6474; --line:#dde1e8; --bg:#f6f7f9; --accent:#24527a;
  --ok:#1f6b35; --okbg:#e3f3e7; --bad:#a4161a; --badbg:#fde2e1; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
  color:var(--ink); background:var(--bg); }
header { background:var(--accent); color:#fff; padding:20px 32px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header p { margin:0; opacity:.85; }
main { padding:20px 32px 48px; max-width:1600px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px 20px; margin:0 0 18px; }
section.kept { border-left:6px solid var(--ok); }
section.notkept { border-left:6px solid var(--bad); }
h2 { font-size:16px; margin:0 0 8px; display:flex; gap:10px; align-items:flex-start; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:0 0 18px; }
.card { flex:1 1 160px; background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); }
.card.bad b { color:var(--bad); }
.card.ok b { color:var(--ok); }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; overflow-wrap:anywhere; }
.muted { color:var(--muted); }
.verdict { margin:4px 0 12px; }
.gaps { margin:-6px 0 12px; color:#7a4b00; }
td.policy { white-space:nowrap; }
td.policy code { overflow-wrap:normal; }
td.run { min-width:190px; }
.badge { display:inline-block; padding:2px 9px; border-radius:10px; font-size:12px; font-weight:600; white-space:nowrap; }
.b-ok { background:var(--okbg); color:var(--ok); }
.b-bad { background:var(--badbg); color:var(--bad); }
.big { font-size:20px; font-weight:600; }
.ok { color:var(--ok); }
.bad { color:var(--bad); }
ul.plain { margin:0; padding-left:16px; }
footer { color:var(--muted); font-size:12.5px; }
"#;

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    encode_text(s)
}

fn badge(kept: bool) -> &'static str {
    if kept {
        r#"<span class="badge b-ok">KEPT</span>"#
    } else {
        r#"<span class="badge b-bad">NOT KEPT</span>"#
    }
}

/// "deleted", "nullified"... for an action name.
fn past(action: &str) -> String {
    match action {
        "delete" => "deleted".into(),
        "encrypt" => "encrypted".into(),
        "pseudonymize" => "pseudonymized".into(),
        "mask" => "masked".into(),
        "nullify" => "nullified".into(),
        other => esc(other).into_owned(),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return r#"<span class="muted">none</span>"#.into();
    }
    items
        .iter()
        .map(|c| format!("<code>{}</code>", esc(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the page.
pub fn write(r: &EvidenceReport, out: &mut dyn Write) -> Result<()> {
    let mut h = String::with_capacity(32 * 1024);
    let kept = r.promises.iter().filter(|p| p.kept).count();
    let violations: Option<u64> = r.promises.iter().map(|p| p.violations).sum();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>datawarden: retention promises and their evidence</title>
<style>{STYLE}</style></head><body>
<header><h1>Retention promises and their evidence</h1>
<p>Generated {} from <code>{}</code> by datawarden {}</p></header>
<main>
<div class="cards">
<div class="card {}"><b>{kept} of {}</b><span>promises kept</span></div>
<div class="card {}"><b>{}</b><span>rows violating a promise now</span></div>
<div class="card {}"><b>{}</b><span>audit trail ({} records)</span></div>
<div class="card"><b class="mono" style="font-size:13px">{}</b><span>audit chain head (SEQ:HASH)</span></div>
</div>
"#,
        esc(&r.generated_at),
        esc(&r.config),
        env!("CARGO_PKG_VERSION"),
        if kept == r.promises.len() {
            "ok"
        } else {
            "bad"
        },
        r.promises.len(),
        if violations == Some(0) { "ok" } else { "bad" },
        violations
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into()),
        if r.audit.intact { "ok" } else { "bad" },
        if r.audit.intact { "intact" } else { "BROKEN" },
        r.audit.records,
        esc(r.audit.head.as_deref().unwrap_or("none (empty trail)")),
    );
    if let Some(p) = &r.audit.problem {
        let _ = write!(
            h,
            r#"<section class="notkept"><h2>The audit trail does not verify</h2><p class="bad">{}</p></section>"#,
            esc(p)
        );
    }
    if r.promises.is_empty() {
        h.push_str(
            r#"<section><p class="muted">The config has no [[policies]]: no promise to show.</p></section>"#,
        );
    }
    for p in &r.promises {
        write_promise(&mut h, p);
    }
    h.push_str(
        r#"<footer><p>A promise is a policy's <code>description</code>. <b>Violations</b> are rows
still present that the policy's own statements would act on now (past the cutoff, matching the
filter, not held by a legal hold, not yet transformed), counted read-only on the source at the time
shown. A promise is <b>kept</b> only when it has no violation, the last run of each of its policies
completed, and the audit trail verifies. Coverage compares the policy's columns with the columns
the inventory holds as personal data in its table (a delete covers every column). To prove the
audit trail was not cut short since, keep the chain head above and run
<code>datawarden audit verify --expect-head SEQ:HASH</code>.</p></footer>
</main></body></html>
"#,
    );
    out.write_all(h.as_bytes())
        .map_err(|e| Error::Other(format!("cannot write the report: {e}")))
}

fn write_promise(h: &mut String, p: &Promise) {
    let _ = write!(
        h,
        r#"<section class="{}"><h2>{}<span>{}</span></h2>
<p class="verdict {}">{}</p>{}
<div class="scroll"><table>
<tr><th>policy</th><th>what it does</th><th>coverage of personal data</th><th>last run</th><th>live check</th></tr>
"#,
        if p.kept { "kept" } else { "notkept" },
        badge(p.kept),
        esc(&p.promise),
        if p.kept { "ok" } else { "bad" },
        esc(&p.verdict),
        if p.gaps.is_empty() {
            String::new()
        } else {
            format!(
                r#"<p class="gaps">Personal data in its tables that no policy of this promise acts on: {}</p>"#,
                list(&p.gaps)
            )
        },
    );
    for pol in &p.policies {
        write_policy(h, pol);
    }
    h.push_str("</table></div></section>\n");
}

fn write_policy(h: &mut String, p: &PolicyEvidence) {
    let what = {
        let mut s = format!(
            "<b>{}</b> {} of <code>{}</code> on source <code>{}</code><br>after <b>{}</b> of <code>{}</code>",
            esc(&p.action),
            if p.columns.is_empty() {
                "whole rows".to_string()
            } else {
                list(&p.columns)
            },
            esc(&p.table),
            esc(&p.source),
            esc(&p.retain),
            esc(&p.timestamp_column),
        );
        if let Some(f) = &p.filter {
            let _ = write!(s, "<br>filter <code>{}</code>", esc(f));
        }
        if let Some(l) = &p.legal_hold {
            let _ = write!(s, "<br>legal hold <code>{}</code>", esc(l));
        }
        s
    };
    let c = &p.coverage;
    let coverage = if !c.in_inventory {
        r#"<span class="bad">table not in the inventory: scan the source</span>"#.to_string()
    } else {
        let mut s = format!(
            "{} of {} personal columns covered<br><span class=\"muted\">covered:</span> {}",
            c.covered.len(),
            c.personal_columns.len(),
            list(&c.covered)
        );
        if !c.not_covered.is_empty() {
            let _ = write!(
                s,
                "<br><span class=\"bad\">not covered:</span> {}",
                list(&c.not_covered)
            );
        }
        if !c.not_personal.is_empty() {
            let _ = write!(
                s,
                "<br><span class=\"muted\">acted on, not flagged personal:</span> {}",
                list(&c.not_personal)
            );
        }
        s
    };
    let last = match &p.last_run {
        None => r#"<span class="bad">never run</span>"#.to_string(),
        Some(r) => {
            let mut s = format!(
                "<span class=\"{}\"><b>{}</b></span> {}<br>",
                if r.outcome == "completed" {
                    "ok"
                } else {
                    "bad"
                },
                esc(&r.outcome),
                esc(r.finished_at.as_deref().unwrap_or(&r.started_at)),
            );
            for (a, n) in &r.rows_by_action {
                let _ = write!(s, "{n} rows {}, ", past(a));
            }
            let _ = write!(s, "{} batches", r.batches);
            if let Some(held) = r.held {
                let _ = write!(s, ", {held} held");
            }
            if !r.cascaded.is_empty() {
                let cas: Vec<String> = r
                    .cascaded
                    .iter()
                    .map(|(t, n)| format!("{} {n}", esc(t)))
                    .collect();
                let _ = write!(s, "<br>cascaded: {}", cas.join(", "));
            }
            if let Some(e) = &r.error {
                let _ = write!(s, "<br><span class=\"bad\">{}</span>", esc(e));
            }
            let _ = write!(
                s,
                "<br><span class=\"muted mono\">{}</span>",
                esc(&r.run_id)
            );
            s
        }
    };
    let l = &p.live;
    let live = match (l.violations, &l.error) {
        (Some(v), _) => {
            let mut s = format!(
                "<span class=\"big {}\">{v}</span> rows violate it<br><span class=\"muted\">counted {} (cutoff {})</span>",
                if v == 0 { "ok" } else { "bad" },
                esc(&l.counted_at),
                esc(&l.cutoff),
            );
            if let Some(n) = l.held.filter(|n| *n > 0) {
                let _ = write!(s, "<br>{n} past the cutoff held by legal holds");
            }
            if let Some(n) = l.invalid_clock.filter(|n| *n > 0) {
                let _ = write!(
                    s,
                    "<br><span class=\"bad\">{n} with a NULL or invalid <code>{}</code>: never acted on</span>",
                    esc(&p.timestamp_column)
                );
            }
            s
        }
        (None, e) => format!(
            "<span class=\"bad\">not counted: {}</span>",
            esc(e.as_deref().unwrap_or("unknown error"))
        ),
    };
    let _ = writeln!(
        h,
        "<tr><td class=\"policy\">{}<br><code>{}</code></td><td>{what}</td><td>{coverage}</td><td class=\"run\">{last}</td><td>{live}</td></tr>",
        badge(p.kept),
        esc(&p.name),
    );
}
