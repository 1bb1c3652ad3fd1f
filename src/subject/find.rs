//! `subject find`: the rows that belong to a person, in every source. Which columns to search comes
//! from the inventory (columns holding an identifier's category, suggested or confirmed by
//! `inventory review`) and from the policies (columns datawarden pseudonymized, searched by the
//! identifier's pseudonym; columns it encrypted). A column that leads an index is searched by
//! equality on the identifier's spellings; the other columns of a table are read in one streamed,
//! keyset-paginated pass, where a cheap test (the identifier's last characters) comes before the
//! detectors. Then foreign keys are followed from every row found to the rows that reference it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use super::follow;
use super::identifiers::{Identifier, SpanEraser};
use crate::config::{Action, Config, ScanMode, SourceConfig};
use crate::error::{Error, Result};
use crate::inventory::{ColumnFilter, ColumnRecord, Store};
use crate::retention::crypto::{is_envelope, Opener};
use crate::retention::keys::{pseudonym_key, Keyring};
use crate::retention::plan::is_text_type;
use crate::retention::pseudonym::Pseudonymizer;
use crate::sources::{Access, Bind, ColumnInfo, SampleOptions, Source, TableInfo, TableRef};

/// What `subject find` searches.
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    /// Only this source (default: every source).
    pub source: Option<String>,
    /// Decrypt columns datawarden encrypted and search them (needs the keys).
    pub decrypt: bool,
}

/// A row that belongs to the person.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The `[[sources]]` name.
    pub source: String,
    /// The table's schema (SQLite: `main`; MySQL: the database).
    pub schema: String,
    /// The table.
    pub table: String,
    /// The row's key (primary key, or a unique key of NOT NULL columns), column -> value.
    pub key: BTreeMap<String, String>,
    /// The columns that hold one of the identifiers (empty for rows reached by a foreign key).
    pub columns: Vec<String>,
    /// How the row was reached: `phone in receiver_phone`, `phone in note (free text)`,
    /// `pseudonym of phone in mobile`, `foreign key orders.member_id -> members.id`.
    pub via: String,
    /// The key values in key-column order.
    #[serde(skip)]
    pub key_values: Vec<String>,
    /// Every column of the row with its value as text (export only; never printed or logged).
    #[serde(skip)]
    pub row: Vec<(String, Option<String>)>,
    /// True when reached through a foreign key.
    #[serde(skip)]
    pub by_fk: bool,
}

impl Found {
    /// The table as a reference.
    pub fn table_ref(&self) -> TableRef {
        TableRef {
            schema: self.schema.clone(),
            name: self.table.clone(),
        }
    }

    /// The value of `column` in the row.
    pub fn value(&self, column: &str) -> Option<&str> {
        self.row
            .iter()
            .find(|(c, _)| c == column)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// A column that could not be searched, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unsearched {
    pub source: String,
    pub schema: String,
    pub table: String,
    pub column: Option<String>,
    pub reason: String,
}

/// An identifier as printed: its kind and its mask, never its value.
#[derive(Debug, Clone, Serialize)]
pub struct IdentifierView {
    pub kind: super::identifiers::Kind,
    pub masked: String,
}

/// The result of a search.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    pub identifiers: Vec<IdentifierView>,
    /// When the search started (RFC 3339, UTC).
    pub searched_at: String,
    pub matches: Vec<Found>,
    /// Columns that may hold the person but were not searched (encrypted without `--decrypt`,
    /// tables without a key, tables that failed).
    pub unsearched: Vec<Unsearched>,
    /// Tables searched directly (foreign-key children not counted).
    pub tables_searched: u64,
    /// The normalized identifiers (erasure needs them; never printed).
    #[serde(skip)]
    pub normalized: Vec<String>,
}

/// How one column is searched.
#[derive(Debug, Clone, PartialEq)]
enum How {
    /// The value is the identifier (equality on spellings when indexed, else the pass).
    Whole,
    /// Free text: the detectors' spans in the streamed pass.
    Text,
    /// Pseudonymized by datawarden: equality on the identifiers' pseudonyms.
    Pseudonym,
    /// Encrypted by datawarden.
    Encrypted,
}

/// The columns to search in one table: column -> how, plus the category label of `via`.
type Targets = BTreeMap<String, How>;

/// Searches every source (or `opts.source`) for `idents`.
pub async fn find(config: &Config, idents: &[Identifier], opts: &FindOptions) -> Result<Findings> {
    let searched_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    if idents.is_empty() {
        return Err(Error::Other(
            "name the person: --phone, --email, --id-number, --vin or --plate".into(),
        ));
    }
    let store = Store::open(&config.inventory.url).await?;
    let columns = store.columns(&ColumnFilter::default()).await?;
    store.close().await;
    let sources: Vec<&SourceConfig> = match &opts.source {
        Some(s) => vec![config.source(s)?],
        None => config.sources.iter().collect(),
    };
    let mut out = Findings {
        identifiers: idents
            .iter()
            .map(|i| IdentifierView {
                kind: i.kind,
                masked: i.masked(),
            })
            .collect(),
        searched_at,
        matches: Vec::new(),
        unsearched: Vec::new(),
        tables_searched: 0,
        normalized: idents.iter().map(|i| i.normalized.clone()).collect(),
    };
    for src in sources {
        let source = Source::connect(src, &config.scan, Access::ReadOnly).await?;
        let r = search_source(config, &source, &columns, idents, opts, &mut out).await;
        source.close().await;
        r?;
    }
    out.matches.sort_by(|a, b| {
        (&a.source, &a.schema, &a.table, &a.key_values).cmp(&(
            &b.source,
            &b.schema,
            &b.table,
            &b.key_values,
        ))
    });
    Ok(out)
}

fn progress(msg: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{msg}");
    }
}

/// The table's key columns: the primary key, else a unique key of NOT NULL columns.
pub fn key_columns(t: &TableInfo) -> Option<Vec<ColumnInfo>> {
    let names: &Vec<String> = if !t.primary_key.is_empty() {
        &t.primary_key
    } else {
        t.unique_keys.iter().find(|u| {
            u.iter()
                .all(|c| t.column(c).is_some_and(|col| !col.nullable))
        })?
    };
    names.iter().map(|n| t.column(n).cloned()).collect()
}

/// `SELECT <every column as text> FROM <table>` (no WHERE yet).
pub fn select_all(source: &Source, t: &TableInfo) -> String {
    let d = source.dialect();
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| d.cast_text(&d.quote_ident(&c.name)))
        .collect();
    format!("SELECT {} FROM {}", cols.join(", "), d.qualified(&t.table))
}

/// The rows of `t` whose `cols` equal one of `tuples` (values as text, bound per column type),
/// every column as text; in chunks of 500 tuples.
pub async fn rows_where_in(
    source: &Source,
    t: &TableInfo,
    cols: &[ColumnInfo],
    tuples: &[Vec<String>],
) -> Result<Vec<Vec<Option<String>>>> {
    let d = source.dialect();
    let mut out = Vec::new();
    for chunk in tuples.chunks(500) {
        let mut q = crate::retention::sql::Stmt::new(d);
        q.push(&select_all(source, t)).push(" WHERE ");
        let names: Vec<String> = cols.iter().map(|c| d.quote_ident(&c.name)).collect();
        if names.len() == 1 {
            q.push(&names[0]);
        } else {
            q.push("(").push(&names.join(", ")).push(")");
        }
        q.push(" IN (");
        for (i, tuple) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            if cols.len() > 1 {
                q.push("(");
            }
            for (j, (c, v)) in cols.iter().zip(tuple).enumerate() {
                if j > 0 {
                    q.push(", ");
                }
                q.bind_key(&c.sql_type, v);
            }
            if cols.len() > 1 {
                q.push(")");
            }
        }
        q.push(")");
        out.extend(source.fetch_rows(&q.sql, &q.binds).await?);
    }
    Ok(out)
}

/// A [`Found`] from a row of `t` read by [`select_all`].
pub fn found_of(
    source: &str,
    t: &TableInfo,
    key: &[ColumnInfo],
    row: Vec<Option<String>>,
    columns: Vec<String>,
    via: String,
) -> Found {
    let pairs: Vec<(String, Option<String>)> =
        t.columns.iter().map(|c| c.name.clone()).zip(row).collect();
    let get = |n: &str| {
        pairs
            .iter()
            .find(|(c, _)| c == n)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let key_values: Vec<String> = key.iter().map(|k| get(&k.name)).collect();
    Found {
        source: source.to_string(),
        schema: t.table.schema.clone(),
        table: t.table.name.clone(),
        key: key
            .iter()
            .map(|k| k.name.clone())
            .zip(key_values.iter().cloned())
            .collect(),
        columns,
        via,
        key_values,
        row: pairs,
        by_fk: false,
    }
}

/// The tables of `src` to search and how, from the inventory and the policies.
fn targets(
    config: &Config,
    src: &str,
    columns: &[ColumnRecord],
    idents: &[Identifier],
) -> BTreeMap<(Option<String>, String), Targets> {
    let wanted: HashSet<&str> = idents.iter().map(|i| i.category()).collect();
    let mut out: BTreeMap<(Option<String>, String), Targets> = BTreeMap::new();
    for c in columns
        .iter()
        .filter(|c| c.key.source == src && c.dropped_at.is_none())
    {
        let held: Vec<_> = c
            .held()
            .filter(|h| wanted.contains(h.category.as_str()))
            .collect();
        if held.is_empty() {
            continue;
        }
        let whole = held.iter().all(|h| {
            h.evidence
                .as_ref()
                .is_some_and(|e| e.layout == crate::classify::Layout::WholeValue)
        });
        out.entry((Some(c.key.schema.clone()), c.key.table.clone()))
            .or_default()
            .insert(
                c.key.column.clone(),
                if whole { How::Whole } else { How::Text },
            );
    }
    for p in config.policies.iter().filter(|p| p.source == src) {
        let how = match p.action {
            Action::Pseudonymize => How::Pseudonym,
            Action::Encrypt => How::Encrypted,
            _ => continue,
        };
        let (schema, name) = p.table_parts();
        let entry = out
            .iter_mut()
            .find(|((s, n), _)| n == name && schema.is_none_or(|x| s.as_deref() == Some(x)))
            .map(|(_, t)| t);
        let t = match entry {
            Some(t) => t,
            None => out
                .entry((schema.map(str::to_string), name.to_string()))
                .or_default(),
        };
        for c in &p.columns {
            t.insert(c.clone(), how.clone());
        }
    }
    out
}

fn label(idents: &[Identifier], col: &str, how: &How, matched: &[usize]) -> String {
    let mut kinds: Vec<&str> = matched.iter().map(|&i| idents[i].category()).collect();
    kinds.dedup();
    let kinds = kinds.join(", ");
    match how {
        How::Whole => format!("{kinds} in {col}"),
        How::Text => format!("{kinds} in {col} (free text)"),
        How::Pseudonym => format!("pseudonym of {kinds} in {col}"),
        How::Encrypted => format!("{kinds} in {col} (decrypted)"),
    }
}

async fn search_source(
    config: &Config,
    source: &Source,
    columns: &[ColumnRecord],
    idents: &[Identifier],
    opts: &FindOptions,
    out: &mut Findings,
) -> Result<()> {
    let name = source.name().to_string();
    let plan = targets(config, &name, columns, idents);
    let engine = crate::detect::Engine::load(config.detectors_dir.as_deref())?;
    let mut eraser = SpanEraser::new(
        engine,
        idents.iter().map(|i| i.normalized.clone()).collect(),
    );
    let pseudonyms: Vec<String> = match pseudonym_key(&config.keys)? {
        Some(k) => {
            let mut p = Pseudonymizer::new(&k);
            idents.iter().map(|i| p.pseudonym(&i.normalized)).collect()
        }
        None => Vec::new(),
    };
    let ring = if opts.decrypt {
        Some(Keyring::load(&config.keys)?)
    } else {
        None
    };
    let mut direct: Vec<Found> = Vec::new();
    for ((schema, table), targets) in &plan {
        let unsearched = |column: Option<&str>, reason: String| Unsearched {
            source: name.clone(),
            schema: schema.clone().unwrap_or_default(),
            table: table.clone(),
            column: column.map(str::to_string),
            reason,
        };
        let info = match source.table(schema.as_deref(), table).await {
            Ok(t) => t,
            Err(e) => {
                out.unsearched.push(unsearched(None, e.to_string()));
                continue;
            }
        };
        let Some(key) = key_columns(&info) else {
            out.unsearched.push(unsearched(
                None,
                "no primary key and no unique key on NOT NULL columns: its rows cannot be \
                 addressed; search it by hand"
                    .into(),
            ));
            continue;
        };
        out.tables_searched += 1;
        progress(&format!("searching {name}.{}", info.table));
        let indexed = source.indexed_columns(&info.table).await?;
        // key -> (matched columns, via)
        let mut hits: BTreeMap<Vec<String>, (Vec<String>, String)> = BTreeMap::new();
        let mut pass: Vec<(String, How)> = Vec::new();
        for (col, how) in targets {
            let Some(ci) = info.column(col) else {
                out.unsearched.push(unsearched(
                    Some(col),
                    "the column is gone: rescan the source".into(),
                ));
                continue;
            };
            let equality: Option<Vec<(String, usize)>> = match how {
                How::Pseudonym if pseudonyms.is_empty() => {
                    out.unsearched.push(unsearched(
                        Some(col),
                        "pseudonymized; [keys] pseudonym is needed to search it".into(),
                    ));
                    continue;
                }
                How::Pseudonym => Some(
                    pseudonyms
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (p.clone(), i))
                        .collect(),
                ),
                How::Whole if indexed.contains(col) && is_text_type(&ci.sql_type) => Some(
                    idents
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| {
                            targets_category(columns, &name, &info.table, col, i.category())
                        })
                        .flat_map(|(n, i)| i.spellings().into_iter().map(move |s| (s, n)))
                        .collect(),
                ),
                How::Encrypted if ring.as_ref().is_none_or(|r| r.all.is_empty()) => {
                    out.unsearched.push(unsearched(
                        Some(col),
                        if opts.decrypt {
                            "may hold it (encrypted); no key in [keys] encryption/decryption".into()
                        } else {
                            "may hold it (encrypted); rerun with --decrypt to search it".into()
                        },
                    ));
                    continue;
                }
                _ => None,
            };
            let Some(values) = equality else {
                pass.push((col.clone(), how.clone()));
                continue;
            };
            if values.is_empty() {
                continue;
            }
            tracing::debug!(
                source = %name,
                table = %info.table,
                column = %col,
                values = values.len(),
                "searched by equality (index or pseudonym)"
            );
            let d = source.dialect();
            let mut q = crate::retention::sql::Stmt::new(d);
            q.push(&select_all(source, &info))
                .push(" WHERE ")
                .ident(col)
                .push(" IN (");
            for (i, (v, _)) in values.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(Bind::Text(v.clone()));
            }
            q.push(")");
            let ci_idx = info
                .columns
                .iter()
                .position(|c| &c.name == col)
                .unwrap_or(0);
            for row in source.fetch_rows(&q.sql, &q.binds).await? {
                let v = row.get(ci_idx).cloned().flatten().unwrap_or_default();
                let matched: Vec<usize> = values
                    .iter()
                    .filter(|(s, _)| s.eq_ignore_ascii_case(&v))
                    .map(|(_, i)| *i)
                    .collect();
                let f = found_of(&name, &info, &key, row, vec![], String::new());
                let e = hits
                    .entry(f.key_values.clone())
                    .or_insert_with(|| (Vec::new(), label(idents, col, how, &matched)));
                e.0.push(col.clone());
            }
        }
        if !pass.is_empty() {
            let mut subset = info.clone();
            let mut cols: Vec<ColumnInfo> = key.clone();
            for (c, _) in &pass {
                if !cols.iter().any(|k| &k.name == c) {
                    cols.push(info.column(c).cloned().expect("checked above"));
                }
            }
            subset.columns = cols.clone();
            let nkey = key.len();
            let table_name = info.table.name.clone();
            let mut openers: Vec<Option<Opener<'_>>> = pass
                .iter()
                .map(|(c, h)| match (h, &ring) {
                    (How::Encrypted, Some(r)) => Some(Opener::new(r, &table_name, c)),
                    _ => None,
                })
                .collect();
            let col_index: Vec<usize> = pass
                .iter()
                .map(|(c, _)| cols.iter().position(|x| &x.name == c).unwrap_or(0))
                .collect();
            let mut pass_hits: Vec<(Vec<String>, usize, Vec<usize>)> = Vec::new();
            let mut on_row = |row: &[Option<&[u8]>]| {
                for (pi, &ci) in col_index.iter().enumerate() {
                    let Some(bytes) = row.get(ci).copied().flatten() else {
                        continue;
                    };
                    let plain;
                    let value: &[u8] = match &mut openers[pi] {
                        Some(o) => {
                            let s = String::from_utf8_lossy(bytes);
                            if !is_envelope(&s) {
                                bytes
                            } else {
                                match o.open(&s) {
                                    Ok(p) => {
                                        plain = p;
                                        &plain
                                    }
                                    Err(_) => continue,
                                }
                            }
                        }
                        None => bytes,
                    };
                    let maybe: Vec<usize> = idents
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| i.may_occur_in(value))
                        .map(|(n, _)| n)
                        .collect();
                    if maybe.is_empty() {
                        continue;
                    }
                    let text = String::from_utf8_lossy(value);
                    let spans = eraser.spans(&text);
                    if spans.is_empty() {
                        continue;
                    }
                    let matched: Vec<usize> = maybe
                        .into_iter()
                        .filter(|&n| spans.iter().any(|(s, e, _)| idents[n].is(&text[*s..*e])))
                        .collect();
                    let k: Vec<String> = row[..nkey]
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.unwrap_or_default()).into_owned())
                        .collect();
                    pass_hits.push((k, pi, matched));
                }
            };
            tracing::debug!(
                source = %name,
                table = %info.table,
                columns = %pass.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(","),
                "searched in one streamed pass"
            );
            let opts = SampleOptions::new(1, ScanMode::Full);
            source.sample(&subset, &opts, &mut on_row).await?;
            for (k, pi, matched) in pass_hits {
                let (col, how) = &pass[pi];
                let e = hits
                    .entry(k)
                    .or_insert_with(|| (Vec::new(), label(idents, col, how, &matched)));
                e.0.push(col.clone());
            }
        }
        if hits.is_empty() {
            continue;
        }
        let keys: Vec<Vec<String>> = hits.keys().cloned().collect();
        for row in rows_where_in(source, &info, &key, &keys).await? {
            let mut f = found_of(&name, &info, &key, row, vec![], String::new());
            if let Some((cols, via)) = hits.get(&f.key_values) {
                let mut cols = cols.clone();
                cols.sort();
                cols.dedup();
                f.columns = cols;
                f.via = via.clone();
                direct.push(f);
            }
        }
    }
    let src_cfg = config.source(&name)?;
    let children = follow::follow(source, src_cfg, &direct).await?;
    out.matches.extend(direct);
    out.matches.extend(children);
    Ok(())
}

/// True when the inventory says `col` holds `category` (policy-only columns: any category).
fn targets_category(
    columns: &[ColumnRecord],
    src: &str,
    t: &TableRef,
    col: &str,
    category: &str,
) -> bool {
    let rec = columns.iter().find(|c| {
        c.key.source == src
            && c.key.schema == t.schema
            && c.key.table == t.name
            && c.key.column == col
    });
    match rec {
        Some(r) => r.held().any(|h| h.category == category),
        None => true,
    }
}

/// Groups found rows by table.
pub fn by_table(found: &[Found]) -> HashMap<(String, TableRef), Vec<&Found>> {
    let mut out: HashMap<(String, TableRef), Vec<&Found>> = HashMap::new();
    for f in found {
        out.entry((f.source.clone(), f.table_ref()))
            .or_default()
            .push(f);
    }
    out
}
