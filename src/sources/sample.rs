//! Sampling: per table ONE streamed query reading every column cast to text, so the cost grows with
//! the number of columns, not rows, and memory stays bounded whatever the table size.
//!
//! Sample mode reads up to `size` rows (the sample size targets non-null values per column; a
//! column that is NULL in many rows gets fewer non-null values, which the classifier reports):
//! - PostgreSQL: `TABLESAMPLE SYSTEM (p)` (pages) for big tables, `TABLESAMPLE BERNOULLI (p)` (rows)
//!   up to 20 x `size` rows, with `p` from the row estimate (see `introspect`: scaled to the current
//!   page count) and `ORDER BY random() LIMIT size`, so a 10-million-row table reads a few dozen
//!   pages; `SYSTEM` reads at least [`MIN_SYSTEM_PAGES`] pages (of [`TableInfo::pages`]) so that a
//!   tiny `p` still draws rows from more than a handful of pages;
//! - MySQL/MariaDB: random ranges of a single-column integer primary key (`pk >= start AND pk < next
//!   ORDER BY pk LIMIT k`, all ranges in one `UNION ALL` query);
//! - SQLite: the same over `rowid`;
//! - otherwise, small tables (estimate <= 2 x `size`), views, keyless tables or an empty random draw:
//!   the first `size` rows.
//!
//! Full mode reads every row in key ranges (see [`super::full`]).

use std::fmt;

use futures_util::TryStreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::bind::{bind_mysql, bind_pg, bind_sqlite};
use super::connect::Pool;
use super::copy_text::recycle;
use super::dialect::is_integer_type;
use super::{Bind, Source, TableInfo, TableKind};
use crate::config::ScanMode;
use crate::error::Result;
use crate::stop::Stop;

/// Fewest pages PostgreSQL `TABLESAMPLE SYSTEM` is asked to read (when the page count is known).
pub const MIN_SYSTEM_PAGES: i64 = 32;

/// How rows are drawn from a table.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Rows to read in sample mode (the per-column non-null target).
    pub size: u32,
    /// `sample` or `full`.
    pub mode: ScanMode,
    /// Checked between rows: a raised flag ends the read early (the report counts what was read).
    pub stop: Option<Stop>,
    /// Full mode: rows per key range, one statement each (at most; wide rows get fewer).
    pub range_rows: u32,
    /// Per column of the table read (empty: none): `true` where only whether the value is NULL
    /// is needed, not the value. Such a column is read as NULL or an empty string, which spares
    /// the server its output function and the scan the bytes (a date or time column that is
    /// not searched).
    pub presence_only: Vec<bool>,
}

impl SampleOptions {
    /// Options with no stop flag.
    pub fn new(size: u32, mode: ScanMode) -> SampleOptions {
        SampleOptions {
            size,
            mode,
            stop: None,
            range_rows: super::full::FULL_RANGE_ROWS,
            presence_only: Vec::new(),
        }
    }

    /// True when column `i` of the table is read only for whether it is NULL.
    pub fn presence_only(&self, i: usize) -> bool {
        self.presence_only.get(i).copied().unwrap_or(false)
    }
}

/// The method a table was read with, recorded in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleMethod {
    /// PostgreSQL `TABLESAMPLE SYSTEM` (random pages).
    Tablesample,
    /// PostgreSQL `TABLESAMPLE BERNOULLI` (random rows).
    TablesampleBernoulli,
    /// Random ranges of an integer primary key.
    RandomKeyRanges,
    /// Random ranges of SQLite rowids.
    RandomRowidRanges,
    /// The first rows the database returns.
    FirstRows,
    /// Every row.
    Full,
}

impl SampleMethod {
    /// The snake_case name (`tablesample`, `random_key_ranges`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            SampleMethod::Tablesample => "tablesample",
            SampleMethod::TablesampleBernoulli => "tablesample_bernoulli",
            SampleMethod::RandomKeyRanges => "random_key_ranges",
            SampleMethod::RandomRowidRanges => "random_rowid_ranges",
            SampleMethod::FirstRows => "first_rows",
            SampleMethod::Full => "full",
        }
    }
}

impl fmt::Display for SampleMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Source::sample`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleReport {
    /// The method used.
    pub method: SampleMethod,
    /// Rows passed to the callback.
    pub rows: u64,
    /// Full reads: the transient errors after which the read resumed after its last key
    /// (empty when it ran through).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<String>,
}

/// The row callback: one slice per row, one entry per column of [`TableInfo::columns`] (in order),
/// `None` for NULL, otherwise the value as text bytes (not necessarily valid UTF-8).
pub type OnRow<'a> = dyn FnMut(&[Option<&[u8]>]) + Send + 'a;

/// A planned read.
struct Plan {
    sql: String,
    binds: Vec<Bind>,
    method: SampleMethod,
}

/// Streams one query's rows to `on_row`: the first `data` columns go to the callback, and the
/// columns at `key_at` are copied into `last_key` (reused buffers). Returns the number of rows
/// read.
macro_rules! stream_rows {
    ($pool:expr, $query:expr, $data:expr, $on_row:expr, $last_key:expr, $key_at:expr, $stop:expr) => {
        async {
            let mut stream = $query.fetch($pool);
            let mut spare: Vec<Option<&[u8]>> = Vec::with_capacity($data);
            let mut n: u64 = 0;
            while let Some(row) = stream.try_next().await? {
                let mut buf = recycle(std::mem::take(&mut spare));
                for i in 0..$data {
                    buf.push(row.try_get_unchecked::<Option<&[u8]>, _>(i)?);
                }
                // The key first: a row handed over always has its key in `last_key` (a full
                // read resumes after it).
                for (k, &at) in $last_key.iter_mut().zip($key_at) {
                    k.clear();
                    if let Some(b) = row.try_get_unchecked::<Option<&[u8]>, _>(at)? {
                        k.extend_from_slice(b);
                    }
                }
                ($on_row)(&buf);
                spare = recycle(buf);
                n += 1;
                if $stop.is_some_and(|s: &Stop| s.is_requested()) {
                    break;
                }
            }
            Ok::<u64, sqlx::Error>(n)
        }
        .await
    };
}

/// `exprs` as a select list, each aliased by its position, so that ORDER BY <column> never
/// resolves to a text-cast output column.
pub(super) fn aliased(exprs: &[String]) -> String {
    let select: Vec<String> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS c{i}"))
        .collect();
    select.join(", ")
}

impl Source {
    /// Reads `table` as `opts` says and calls `on_row` for every row read (see the module docs for
    /// the methods). Values are cast to text in SQL; rows are streamed, never collected.
    pub async fn sample(
        &self,
        table: &TableInfo,
        opts: &SampleOptions,
        on_row: &mut OnRow<'_>,
    ) -> Result<SampleReport> {
        if table.columns.is_empty() {
            return Ok(SampleReport {
                method: SampleMethod::FirstRows,
                rows: 0,
                resumed: Vec::new(),
            });
        }
        if opts.mode == ScanMode::Full {
            return self.read_full(table, opts, on_row).await;
        }
        let plan = match self.random_plan(table, opts).await? {
            Some(p) => p,
            None => self.first_rows_plan(table, opts),
        };
        let rows = self.run(&plan, table.columns.len(), opts, on_row).await?;
        if rows == 0
            && plan.method != SampleMethod::FirstRows
            && table.row_estimate.unwrap_or(0) > 0
        {
            // The random draw missed (stale statistics, sparse keys): take the first rows instead.
            let plan = self.first_rows_plan(table, opts);
            let rows = self.run(&plan, table.columns.len(), opts, on_row).await?;
            return Ok(SampleReport {
                method: plan.method,
                rows,
                resumed: Vec::new(),
            });
        }
        Ok(SampleReport {
            method: plan.method,
            rows,
            resumed: Vec::new(),
        })
    }

    /// `<every column as text>` (or, where `opts` says so, whether it is NULL), aliased `c0, c1,
    /// ...` (the select list, without FROM).
    pub(super) fn select_list(&self, table: &TableInfo, opts: &SampleOptions) -> String {
        aliased(&self.read_exprs(table, opts))
    }

    /// The expression each column of `table` is read with: as text, or (where `opts` says so)
    /// whether it is NULL.
    pub(super) fn read_exprs(&self, table: &TableInfo, opts: &SampleOptions) -> Vec<String> {
        let d = self.dialect;
        table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match opts.presence_only(i) {
                true => d.presence_expr(c),
                false => d.sample_expr(c),
            })
            .collect()
    }

    fn first_rows_plan(&self, table: &TableInfo, opts: &SampleOptions) -> Plan {
        let size = opts.size.max(1);
        Plan {
            sql: format!(
                "SELECT {} FROM {} LIMIT {size}",
                self.select_list(table, opts),
                self.dialect.qualified(&table.table)
            ),
            binds: vec![],
            method: SampleMethod::FirstRows,
        }
    }

    /// A random plan for a big enough table, or `None` for the first rows.
    async fn random_plan(&self, table: &TableInfo, opts: &SampleOptions) -> Result<Option<Plan>> {
        let size = opts.size.max(1);
        let Some(estimate) = table.row_estimate.filter(|&e| e > 2 * i64::from(size)) else {
            return Ok(None);
        };
        if table.kind == TableKind::View {
            return Ok(None);
        }
        let from = self.dialect.qualified(&table.table);
        let select = self.select_list(table, opts);
        match &self.pool {
            Pool::Postgres(_) => {
                let size_f = f64::from(size);
                let (method, clause, p) = if estimate <= 20 * i64::from(size) {
                    (
                        SampleMethod::TablesampleBernoulli,
                        "BERNOULLI",
                        150.0 * size_f / estimate as f64,
                    )
                } else {
                    let p = 300.0 * size_f / estimate as f64;
                    let min_p = match table.pages {
                        Some(pages) if pages > 0 => 100.0 * MIN_SYSTEM_PAGES as f64 / pages as f64,
                        _ => 0.0,
                    };
                    (SampleMethod::Tablesample, "SYSTEM", p.max(min_p))
                };
                let p = p.clamp(0.0001, 100.0);
                Ok(Some(Plan {
                    sql: format!(
                        "SELECT {select} FROM {from} TABLESAMPLE {clause} ({p:.6}) ORDER BY random() LIMIT {size}"
                    ),
                    binds: vec![],
                    method,
                }))
            }
            Pool::MySql(_) => {
                let [pk] = table.primary_key.as_slice() else {
                    return Ok(None);
                };
                let integer = table
                    .column(pk)
                    .is_some_and(|c| is_integer_type(&c.sql_type));
                if !integer {
                    return Ok(None);
                }
                let key = self.dialect.quote_ident(pk);
                self.range_plan(&select, &from, &key, size, SampleMethod::RandomKeyRanges)
                    .await
            }
            Pool::Sqlite(..) => {
                if !self.sqlite_rowid_table(table).await? {
                    return Ok(None);
                }
                self.range_plan(
                    &select,
                    &from,
                    "rowid",
                    size,
                    SampleMethod::RandomRowidRanges,
                )
                .await
            }
        }
    }

    /// Random ranges of an integer key between its MIN and MAX, in one `UNION ALL` query.
    async fn range_plan(
        &self,
        select: &str,
        from: &str,
        key: &str,
        size: u32,
        method: SampleMethod,
    ) -> Result<Option<Plan>> {
        let d = &self.dialect;
        let bounds = self
            .fetch_rows(
                &format!(
                    "SELECT {}, {} FROM {from}",
                    d.cast_text(&format!("MIN({key})")),
                    d.cast_text(&format!("MAX({key})"))
                ),
                &[],
            )
            .await?;
        let parse = |i: usize| {
            bounds
                .first()
                .and_then(|r| r.get(i).cloned().flatten())
                .and_then(|s| s.parse::<i64>().ok())
        };
        let (Some(min), Some(max)) = (parse(0), parse(1)) else {
            return Ok(None);
        };
        let chunks = (size / 50).clamp(1, 40);
        let per_chunk = size.div_ceil(chunks);
        let mut rng = rand::thread_rng();
        let mut starts: Vec<i64> = (0..chunks).map(|_| rng.gen_range(min..=max)).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut parts = Vec::with_capacity(starts.len());
        let mut binds = Vec::with_capacity(starts.len() * 2);
        for (i, &start) in starts.iter().enumerate() {
            let mut cond = format!("{key} >= ?");
            binds.push(Bind::Int(start));
            if let Some(&next) = starts.get(i + 1) {
                cond.push_str(&format!(" AND {key} < ?"));
                binds.push(Bind::Int(next));
            }
            parts.push(format!(
                "SELECT * FROM (SELECT {select} FROM {from} WHERE {cond} ORDER BY {key} LIMIT {per_chunk}) AS r{i}"
            ));
        }
        Ok(Some(Plan {
            sql: parts.join(" UNION ALL "),
            binds,
            method,
        }))
    }

    /// Runs a plan, streaming rows to `on_row` (see [`Source::run_streamed`]).
    async fn run(
        &self,
        plan: &Plan,
        data: usize,
        opts: &SampleOptions,
        on_row: &mut OnRow<'_>,
    ) -> Result<u64> {
        self.run_streamed(&plan.sql, &plan.binds, data, (&mut [], &[]), opts, on_row)
            .await
            .map_err(|e| self.err(format!("reading {}", plan.method), e))
    }

    /// SQLite: whether `table` is a rowid table (not `WITHOUT ROWID`).
    pub(super) async fn sqlite_rowid_table(&self, table: &TableInfo) -> Result<bool> {
        let rows = self
            .fetch_rows(
                "SELECT CAST(wr AS TEXT) FROM pragma_table_list WHERE schema = 'main' AND name = ?",
                &[Bind::Text(table.table.name.clone())],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            == Some("0"))
    }

    /// Runs `sql` (MySQL/MariaDB, SQLite or PostgreSQL through sqlx), streaming rows: the first
    /// `data` columns go to `on_row`; `keys` are buffers and the columns each row's key is copied
    /// from into them. Returns the rows read.
    pub(super) async fn run_streamed(
        &self,
        sql: &str,
        binds: &[Bind],
        data: usize,
        keys: (&mut [Vec<u8>], &[usize]),
        opts: &SampleOptions,
        on_row: &mut OnRow<'_>,
    ) -> std::result::Result<u64, sqlx::Error> {
        let stop = opts.stop.as_ref();
        let (last_key, key_at) = keys;
        match &self.pool {
            Pool::Postgres(p) => {
                stream_rows!(
                    p,
                    bind_pg(sqlx::query(sql), binds),
                    data,
                    on_row,
                    last_key,
                    key_at,
                    stop
                )
            }
            Pool::MySql(p) => {
                stream_rows!(
                    p,
                    bind_mysql(sqlx::query(sql), binds),
                    data,
                    on_row,
                    last_key,
                    key_at,
                    stop
                )
            }
            Pool::Sqlite(p, _) => {
                stream_rows!(
                    p,
                    bind_sqlite(sqlx::query(sql), binds),
                    data,
                    on_row,
                    last_key,
                    key_at,
                    stop
                )
            }
        }
    }
}
