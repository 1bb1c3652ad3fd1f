//! `subject export`: the access / portability package. Every row found, grouped by source and
//! table, with its values, a manifest of where each row came from (`via`), and the time of the
//! search. This is the one place raw values leave the databases: the file is created with mode
//! 0600 (an existing file is refused, never overwritten) and nothing of it is logged.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::find::{Findings, Found};
use crate::error::{Error, Result};

/// The package format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Html,
}

#[derive(Serialize)]
struct Row<'a> {
    key: &'a BTreeMap<String, String>,
    via: &'a str,
    values: BTreeMap<&'a str, Option<&'a str>>,
}

#[derive(Serialize)]
struct Table<'a> {
    source: &'a str,
    schema: &'a str,
    table: &'a str,
    rows: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Package<'a> {
    request: &'a str,
    searched_at: &'a str,
    identifiers: &'a [super::find::IdentifierView],
    manifest: Vec<ManifestEntry<'a>>,
    tables: Vec<Table<'a>>,
    not_searched: &'a [super::find::Unsearched],
}

#[derive(Serialize)]
struct ManifestEntry<'a> {
    source: &'a str,
    schema: &'a str,
    table: &'a str,
    key: &'a BTreeMap<String, String>,
    via: &'a str,
}

fn tables(f: &Findings) -> Vec<Table<'_>> {
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&Found>> = BTreeMap::new();
    for m in &f.matches {
        groups
            .entry((&m.source, &m.schema, &m.table))
            .or_default()
            .push(m);
    }
    groups
        .into_iter()
        .map(|((source, schema, table), rows)| Table {
            source,
            schema,
            table,
            rows: rows
                .into_iter()
                .map(|m| Row {
                    key: &m.key,
                    via: &m.via,
                    values: m
                        .row
                        .iter()
                        .map(|(c, v)| (c.as_str(), v.as_deref()))
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// Writes the package of `f` for request `request` to `path` (mode 0600, new file only).
pub fn write(f: &Findings, request: &str, format: Format, path: &Path) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let io = |e: std::io::Error| Error::io(path, e);
    match format {
        Format::Json => {
            let pkg = Package {
                request,
                searched_at: &f.searched_at,
                identifiers: &f.identifiers,
                manifest: f
                    .matches
                    .iter()
                    .map(|m| ManifestEntry {
                        source: &m.source,
                        schema: &m.schema,
                        table: &m.table,
                        key: &m.key,
                        via: &m.via,
                    })
                    .collect(),
                tables: tables(f),
                not_searched: &f.unsearched,
            };
            serde_json::to_writer_pretty(&mut out, &pkg)
                .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        }
        Format::Csv => {
            // Long form: one line per value, so tables with different columns share one file.
            let mut w = csv::Writer::from_writer(&mut out);
            let csv_err = |e: csv::Error| Error::Other(format!("{}: {e}", path.display()));
            w.write_record([
                "request",
                "searched_at",
                "source",
                "schema",
                "table",
                "key",
                "via",
                "column",
                "value",
            ])
            .map_err(csv_err)?;
            for m in &f.matches {
                let key = m
                    .key
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                for (c, v) in &m.row {
                    w.write_record([
                        request,
                        &f.searched_at,
                        &m.source,
                        &m.schema,
                        &m.table,
                        &key,
                        &m.via,
                        c,
                        v.as_deref().unwrap_or(""),
                    ])
                    .map_err(csv_err)?;
                }
            }
            w.flush().map_err(io)?;
        }
        Format::Html => {
            let e = |s: &str| html_escape::encode_text(s).into_owned();
            writeln!(
                out,
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Personal data: request {}</title>\
                 <style>body{{font-family:sans-serif}}table{{border-collapse:collapse;margin-bottom:1.5em}}\
                 td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}</style></head><body>",
                e(request)
            )
            .map_err(io)?;
            writeln!(
                out,
                "<h1>Personal data held about you</h1><p>Request {}; searched at {}; {} records.</p>",
                e(request),
                e(&f.searched_at),
                f.matches.len()
            )
            .map_err(io)?;
            for t in tables(f) {
                writeln!(out, "<h2>{} / {}</h2><table>", e(t.source), e(t.table)).map_err(io)?;
                if let Some(first) = t.rows.first() {
                    write!(out, "<tr><th>found by</th>").map_err(io)?;
                    for c in first.values.keys() {
                        write!(out, "<th>{}</th>", e(c)).map_err(io)?;
                    }
                    writeln!(out, "</tr>").map_err(io)?;
                }
                for r in &t.rows {
                    write!(out, "<tr><td>{}</td>", e(r.via)).map_err(io)?;
                    for v in r.values.values() {
                        write!(out, "<td>{}</td>", e(v.unwrap_or(""))).map_err(io)?;
                    }
                    writeln!(out, "</tr>").map_err(io)?;
                }
                writeln!(out, "</table>").map_err(io)?;
            }
            writeln!(out, "</body></html>").map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(())
}
