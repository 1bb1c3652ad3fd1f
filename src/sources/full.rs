//! Full mode: every row of a table, read in ranges so that each statement stays short and a read
//! could resume where it stopped.
//!
//! - PostgreSQL reads an ordinary table (no inheritance children; server 14 or later) in ranges
//!   of its row addresses: `WHERE ctid >= '(b,0)' AND ctid < '(e,0)'`, a TID range scan that
//!   reads blocks b..e in order, as a sequential scan would, with no index (ordering by a key
//!   cost the server about 15 % more CPU on a 2,000,000-row table). A range spans about
//!   [`SampleOptions::range_rows`] rows (fewer for wide rows: a range aims at [`RANGE_BYTES`]) by
//!   the rows per block seen so far; one with more is read in statements of that many rows, each
//!   skipping the rows already read (`OFFSET`). The bounds are bound, not formatted: each range runs in its own read-only
//!   transaction that first takes the table's ACCESS SHARE lock and binds them into
//!   transaction-local settings (`SELECT set_config('datawarden.full_k0', $1, true)`), read back
//!   by the COPY's query with `CAST(current_setting(..) AS tid)`. The same transaction checks that
//!   the table was not rewritten since the read began (its file node: VACUUM FULL or CLUSTER give
//!   every row a new address); a rewrite fails the read. A row that an update moves to another
//!   range during the read can be read twice or not at all: a column's counts describe a table in
//!   use, not a snapshot.
//! - Other tables are read in key ranges: the primary key, else a unique key whose columns are
//!   all NOT NULL (SQLite: the rowid of a rowid table). Each range is `WHERE (key) > (last key)
//!   ORDER BY key LIMIT n`. PostgreSQL binds the last key the same way (`CAST(current_setting(..)
//!   AS <type>)`, `<type>` from the catalogue); a stable function call is evaluated once per
//!   statement, so the key condition still drives an index scan. A table without such a key is
//!   read by one streamed statement.
//! - PostgreSQL reads with `COPY (SELECT ...) TO STDOUT` (text format), parsed as it arrives
//!   without a per-row allocation ([`super::copy_text`]); columns whose cast to text is their
//!   output function are read bare ([`super::dialect::Dialect::copy_expr`]). MySQL/MariaDB and
//!   SQLite stream each range's rows through sqlx (`fetch`: rows are decoded as they arrive, never
//!   collected), with the last key as bound values.
//!
//! A ranged read that loses its connection or meets another transient error (the server
//! restarted, the session was terminated, a deadlock) resumes on a fresh connection after the
//! last row it handed over (after its key, or past the rows of its heap range already read), up
//! to [`FULL_RESUMES`] times, and [`SampleReport::resumed`] says what happened. A read without
//! ranges cannot resume and fails as before.

use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::Postgres;
use sqlx::{Executor, PgConnection, Row};

use super::connect::Pool;
use super::copy_text::CopyText;
use super::sample::{aliased, OnRow, SampleMethod, SampleOptions, SampleReport};
use super::{Bind, ColumnInfo, Source, TableInfo, TableKind};
use crate::error::Result;
use crate::stop::Stop;

/// Rows per range in full mode unless [`SampleOptions::range_rows`] says otherwise.
pub const FULL_RANGE_ROWS: u32 = 50_000;

/// The bytes a range aims at: tables with wide rows get fewer rows per range.
pub const RANGE_BYTES: u64 = 64 << 20;

/// Times a ranged full read resumes after a transient error before it fails.
pub const FULL_RESUMES: usize = 3;

/// The wait before the first resume, doubled before each next one.
const RESUME_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// A key column: its quoted expression and SQL type.
struct KeyColumn {
    expr: String,
    sql_type: String,
}

/// What a table's full read is cut into ranges by.
struct FullKey {
    /// The key columns; none (and no heap): one statement that cannot resume.
    columns: Vec<KeyColumn>,
    /// A PostgreSQL heap table, read in ranges of block addresses instead.
    heap: Option<Heap>,
}

impl FullKey {
    /// Whether a read cut short can go on where it stopped.
    fn resumable(&self) -> bool {
        !self.columns.is_empty() || self.heap.is_some()
    }
}

/// A PostgreSQL heap table as its full read begins.
#[derive(Debug, Clone, Copy)]
struct Heap {
    /// The table's file node: a rewrite (VACUUM FULL, CLUSTER) gives it a new one and every row a
    /// new address.
    node: i64,
    /// Rows per block by the planner's statistics (a guess at the first range's size).
    rows_per_block: f64,
}

/// Where a heap read stands: the range of blocks being read (`end` 0 between ranges), and the
/// rows of that range already handed over (skipped when the range is read again, which must then
/// end where it did).
#[derive(Debug, Default, Clone, Copy)]
struct HeapAt {
    block: u64,
    end: u64,
    done: u64,
}

/// Rows per block assumed when the planner has no statistics.
const ROWS_PER_BLOCK: f64 = 60.0;
/// PostgreSQL's usual block size; the server's own `block_size` is asked for each range.
const BLOCK_BYTES: u64 = 8192;

/// The COPY parser of one table's read and where its rows' fields go.
struct RangeReader<'a> {
    parser: CopyText,
    /// Fields passed to the row callback (the first ones).
    data: usize,
    /// The field of each key column.
    key_at: Vec<usize>,
    stop: Option<&'a Stop>,
}

/// Ends a COPY read with `result` (whether it read to the end): a session left inside a COPY or
/// a transaction (any other outcome) is closed, never handed to another user.
fn settle(conn: &mut PoolConnection<Postgres>, result: Result<bool>) -> Result<()> {
    if !matches!(result, Ok(true)) {
        conn.close_on_drop();
    }
    result.map(|_| ())
}

/// The rows of the next range: `max` rows, fewer when the rows read so far were wide.
fn next_limit(max: u32, rows: u64, bytes: u64) -> u32 {
    if rows == 0 || bytes == 0 {
        return max.max(1);
    }
    let per_row = bytes.div_ceil(rows).max(1);
    (RANGE_BYTES / per_row).clamp(1, u64::from(max.max(1))) as u32
}

impl Source {
    /// Reads every row of `table` (see the module docs).
    pub(super) async fn read_full(
        &self,
        table: &TableInfo,
        opts: &SampleOptions,
        on_row: &mut OnRow<'_>,
    ) -> Result<SampleReport> {
        let key = self.full_key(table).await?;
        let keys = &key.columns;
        // The key of the last row handed over (or where a heap read stands), and the rows
        // handed over.
        let mut last: Vec<Vec<u8>> = vec![Vec::new(); keys.len()];
        let mut at = HeapAt::default();
        let mut rows = 0u64;
        let mut resumed = Vec::new();
        loop {
            let from_start = rows == 0;
            let mut counted = |r: &[Option<&[u8]>]| {
                rows += 1;
                on_row(r);
            };
            let read = match (&self.pool, key.heap) {
                (Pool::Postgres(p), Some(heap)) => {
                    self.copy_heap(p, table, heap, opts, &mut at, &mut counted)
                        .await
                }
                (Pool::Postgres(p), None) => {
                    self.copy_full(p, table, keys, opts, from_start, &mut last, &mut counted)
                        .await
                }
                (Pool::MySql(_) | Pool::Sqlite(..), _) => {
                    self.fetch_full(table, keys, opts, from_start, &mut last, &mut counted)
                        .await
                }
            };
            match read {
                Ok(()) => break,
                Err(e) if e.is_retryable() && key.resumable() && resumed.len() < FULL_RESUMES => {
                    // Logged by the caller, which scrubs the source's secrets.
                    let wait = RESUME_WAIT * 2u32.pow(resumed.len() as u32);
                    resumed.push(e.to_string());
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(SampleReport {
            method: SampleMethod::Full,
            rows,
            resumed,
        })
    }

    /// What `table`'s rows are read in ranges of: the row address of a PostgreSQL heap table,
    /// else a key that orders the rows uniquely, else nothing (views, keyless tables).
    async fn full_key(&self, table: &TableInfo) -> Result<FullKey> {
        let keyed = |columns| FullKey {
            columns,
            heap: None,
        };
        if table.kind != TableKind::Table {
            return Ok(keyed(vec![]));
        }
        match &self.pool {
            Pool::Postgres(p) => {
                if let Some(heap) = self.pg_heap(p, table).await? {
                    return Ok(FullKey {
                        columns: vec![],
                        heap: Some(heap),
                    });
                }
            }
            Pool::Sqlite(..) if self.sqlite_rowid_table(table).await? => {
                return Ok(keyed(vec![KeyColumn {
                    expr: "rowid".into(),
                    sql_type: "INTEGER".into(),
                }]));
            }
            _ => {}
        }
        let not_null = |k: &Vec<String>| {
            !k.is_empty()
                && k.iter()
                    .all(|c| table.column(c).is_some_and(|c| !c.nullable))
        };
        let cols = if !table.primary_key.is_empty() {
            &table.primary_key
        } else if let Some(k) = table.unique_keys.iter().find(|k| not_null(k)) {
            k
        } else {
            return Ok(keyed(vec![]));
        };
        Ok(keyed(
            cols.iter()
                .map(|c| KeyColumn {
                    expr: self.dialect.quote_ident(c),
                    sql_type: table
                        .column(c)
                        .map(|c| c.sql_type.clone())
                        .unwrap_or_default(),
                })
                .collect(),
        ))
    }

    /// PostgreSQL: `table` as a heap whose rows can be read in ranges of their address: an
    /// ordinary table without inheritance children (whose addresses would repeat) on a server
    /// with TID range scans (14 and later); `None` otherwise.
    async fn pg_heap(&self, pool: &PgPool, table: &TableInfo) -> Result<Option<Heap>> {
        let row: Option<(i64, f64)> = sqlx::query_as(
            "SELECT pg_relation_filenode(c.oid)::int8,
                    CASE WHEN c.relpages > 0 AND c.reltuples > 0
                         THEN c.reltuples::float8 / c.relpages ELSE 0 END
               FROM pg_class c
              WHERE c.oid = $1::regclass AND c.relkind = 'r' AND NOT c.relhassubclass
                AND current_setting('server_version_num')::int >= 140000",
        )
        .bind(self.dialect.qualified(&table.table))
        .fetch_optional(pool)
        .await
        .map_err(|e| self.db_err(format!("reading {} (catalogue)", table.table), e))?;
        Ok(row.map(|(node, density)| Heap {
            node,
            rows_per_block: if density > 0.0 {
                density
            } else {
                ROWS_PER_BLOCK
            },
        }))
    }

    /// The expressions COPY reads `table`'s columns with, in order.
    fn copy_exprs(&self, table: &TableInfo, opts: &SampleOptions) -> Vec<String> {
        let d = self.dialect;
        let read = |(i, c): (usize, &ColumnInfo)| match c.sql_type.to_ascii_lowercase().as_str() {
            _ if opts.presence_only(i) => d.presence_expr(c),
            "bytea" => d.sample_expr(c),
            t => d.copy_expr(&d.quote_ident(&c.name), t),
        };
        table.columns.iter().enumerate().map(read).collect()
    }

    /// PostgreSQL heap table: COPY per range of block addresses (`ctid >= '(b,0)' AND ctid <
    /// '(e,0)'`, a TID range scan that reads the blocks in order without an index), from `at`;
    /// `at` follows the rows handed over. A range holds about as many rows as a key range would
    /// (the rows per block measured so far); a range with more is read in several statements,
    /// each skipping the rows already read (`OFFSET`). Rows written in a range between those
    /// statements, or between a failure and the resume, can be read twice or missed; a rewrite
    /// of the table fails the read ([`Source::heap_range`]).
    async fn copy_heap(
        &self,
        pool: &PgPool,
        table: &TableInfo,
        heap: Heap,
        opts: &SampleOptions,
        at: &mut HeapAt,
        on_row: &mut OnRow<'_>,
    ) -> Result<()> {
        let from = self.dialect.qualified(&table.table);
        let exprs = self.copy_exprs(table, opts);
        let select = aliased(&exprs);
        let what = format!("reading {} (COPY)", table.table);
        let mut conn = pool.acquire().await.map_err(|e| self.db_err(&what, e))?;
        let mut reader = RangeReader {
            parser: CopyText::new(exprs.len()),
            data: exprs.len(),
            key_at: vec![],
            stop: opts.stop.as_ref(),
        };
        let result: Result<bool> = async {
            let (mut rows_all, mut bytes_all, mut blocks_all) = (0u64, 0u64, 0u64);
            loop {
                let limit = next_limit(opts.range_rows, rows_all, bytes_all);
                let per_block = match (rows_all, blocks_all) {
                    (0, _) | (_, 0) => heap.rows_per_block,
                    _ => rows_all as f64 / blocks_all as f64,
                };
                if at.end <= at.block {
                    let blocks = (f64::from(limit) / per_block.max(1.0)) as u64;
                    at.end = at.block + blocks.clamp(1, RANGE_BYTES / BLOCK_BYTES);
                }
                conn.execute("BEGIN READ ONLY")
                    .await
                    .map_err(|e| self.db_err(&what, e))?;
                let size = self
                    .heap_range(&mut conn, &from, heap.node, at, &what)
                    .await?;
                if at.block >= size {
                    conn.execute("COMMIT")
                        .await
                        .map_err(|e| self.db_err(&what, e))?;
                    return Ok(true);
                }
                let sql = format!(
                    "COPY (SELECT {select} FROM {from}
                            WHERE ctid >= CAST(current_setting('datawarden.full_k0') AS tid)
                              AND ctid < CAST(current_setting('datawarden.full_k1') AS tid)
                           OFFSET {} LIMIT {limit}) TO STDOUT",
                    at.done
                );
                let before = reader.parser.rows();
                let copied = self
                    .copy_range(&mut conn, &sql, &mut reader, &mut [], on_row)
                    .await;
                let rows = reader.parser.rows() - before;
                at.done += rows;
                let (go, bytes) = copied?;
                if !go {
                    // The COPY was left unread: the session is closed, not reused.
                    return Ok(false);
                }
                conn.execute("COMMIT")
                    .await
                    .map_err(|e| self.db_err(&what, e))?;
                (rows_all, bytes_all) = (rows_all + rows, bytes_all + bytes);
                if rows < u64::from(limit) {
                    // The range is done: on to the next blocks.
                    blocks_all += at.end.min(size) - at.block;
                    *at = HeapAt {
                        block: at.end,
                        ..HeapAt::default()
                    };
                }
            }
        }
        .await;
        settle(&mut conn, result)
    }

    /// Prepares a heap range's transaction and returns the table's size in blocks: takes the
    /// lock the range's COPY takes (so that the table cannot be rewritten until the range ends),
    /// checks that the table's file node is still `node`, binds the range of `at`, and keeps the
    /// scan to one process in address order (a TID range scan, no parallel workers, no
    /// synchronized start).
    async fn heap_range(
        &self,
        conn: &mut PgConnection,
        from: &str,
        node: i64,
        at: &HeapAt,
        what: &str,
    ) -> Result<u64> {
        conn.execute(format!("LOCK TABLE {from} IN ACCESS SHARE MODE").as_str())
            .await
            .map_err(|e| self.db_err(what, e))?;
        let row = sqlx::query(
            "SELECT set_config('datawarden.full_k0', $2, true),
                    set_config('datawarden.full_k1', $3, true),
                    set_config('enable_tidscan', 'on', true),
                    set_config('max_parallel_workers_per_gather', '0', true),
                    set_config('synchronize_seqscans', 'off', true),
                    pg_relation_filenode($1::regclass)::int8,
                    pg_relation_size($1::regclass) / current_setting('block_size')::int8",
        )
        .bind(from)
        .bind(format!("({},0)", at.block))
        .bind(format!("({},0)", at.end))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| self.db_err(what, e))?;
        let now: Option<i64> = row.try_get(5).map_err(|e| self.db_err(what, e))?;
        let size: i64 = row.try_get(6).map_err(|e| self.db_err(what, e))?;
        if now != Some(node) {
            return Err(self.err(
                what,
                "the table was rewritten during the read (VACUUM FULL, CLUSTER or an ALTER TABLE \
                 that rewrites it), so the row addresses it was being read by no longer hold; \
                 scan it again",
            ));
        }
        Ok(size.max(0) as u64)
    }

    /// PostgreSQL: COPY per key range (or one COPY without a key), from the start or after the
    /// key in `last`; `last` follows the rows handed over.
    #[allow(clippy::too_many_arguments)]
    async fn copy_full(
        &self,
        pool: &PgPool,
        table: &TableInfo,
        keys: &[KeyColumn],
        opts: &SampleOptions,
        from_start: bool,
        last: &mut [Vec<u8>],
        on_row: &mut OnRow<'_>,
    ) -> Result<()> {
        let d = self.dialect;
        let from = d.qualified(&table.table);
        let mut exprs = self.copy_exprs(table, opts);
        let data = exprs.len();
        // A key column already read as text is not read twice.
        let key_at: Vec<usize> = keys
            .iter()
            .map(|k| {
                let e = d.copy_expr(&k.expr, &k.sql_type);
                exprs.iter().position(|x| *x == e).unwrap_or_else(|| {
                    exprs.push(e);
                    exprs.len() - 1
                })
            })
            .collect();
        let select = aliased(&exprs);
        let what = format!("reading {} (COPY)", table.table);
        let mut conn = pool.acquire().await.map_err(|e| self.db_err(&what, e))?;
        let mut reader = RangeReader {
            parser: CopyText::new(exprs.len()),
            data,
            key_at,
            stop: opts.stop.as_ref(),
        };
        let result: Result<bool> = async {
            if keys.is_empty() {
                let sql = format!("COPY (SELECT {select} FROM {from}) TO STDOUT");
                return Ok(self
                    .copy_range(&mut conn, &sql, &mut reader, last, on_row)
                    .await?
                    .0);
            }
            let key_list: Vec<&str> = keys.iter().map(|k| k.expr.as_str()).collect();
            let key_list = key_list.join(", ");
            let settings: Vec<String> = (0..keys.len())
                .map(|i| format!("set_config('datawarden.full_k{i}', ${}, true)", i + 1))
                .collect();
            let set_sql = format!("SELECT {}", settings.join(", "));
            let bounds: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    format!(
                        "CAST(current_setting('datawarden.full_k{i}') AS {})",
                        k.sql_type
                    )
                })
                .collect();
            let after = format!("WHERE ({key_list}) > ({}) ", bounds.join(", "));
            let (mut limit, mut first) = (opts.range_rows.max(1), from_start);
            let (mut rows_all, mut bytes_all) = (0u64, 0u64);
            loop {
                let cond = if first { "" } else { after.as_str() };
                let sql = format!(
                    "COPY (SELECT {select} FROM {from} {cond}ORDER BY {key_list} LIMIT {limit}) TO STDOUT"
                );
                conn.execute("BEGIN READ ONLY")
                    .await
                    .map_err(|e| self.db_err(&what, e))?;
                if !first {
                    let mut q = sqlx::query(&set_sql);
                    for k in last.iter() {
                        q = q.bind(String::from_utf8_lossy(k).into_owned());
                    }
                    q.execute(&mut *conn)
                        .await
                        .map_err(|e| self.db_err(&what, e))?;
                }
                let before = reader.parser.rows();
                let previous = last.to_vec();
                let (go, bytes) = self
                    .copy_range(&mut conn, &sql, &mut reader, last, on_row)
                    .await?;
                if !go {
                    // The COPY was left unread: the session is closed, not reused.
                    return Ok(false);
                }
                conn.execute("COMMIT")
                    .await
                    .map_err(|e| self.db_err(&what, e))?;
                let rows = reader.parser.rows() - before;
                if rows < u64::from(limit) {
                    return Ok(true);
                }
                if !first && *last == previous {
                    return Err(self.err(
                        &what,
                        "the key range did not advance (a key value does not read back as itself)",
                    ));
                }
                (rows_all, bytes_all) = (rows_all + rows, bytes_all + bytes);
                limit = next_limit(opts.range_rows, rows_all, bytes_all);
                first = false;
            }
        }
        .await;
        settle(&mut conn, result)
    }

    /// Runs one COPY statement and feeds its rows to `on_row`, the key of the last one into `last`;
    /// returns whether to go on (no stop requested) and the bytes read.
    async fn copy_range(
        &self,
        conn: &mut PgConnection,
        sql: &str,
        reader: &mut RangeReader<'_>,
        last: &mut [Vec<u8>],
        on_row: &mut OnRow<'_>,
    ) -> Result<(bool, u64)> {
        let fail = |e: sqlx::Error| self.db_err("reading rows (COPY)", e);
        let (data, key_at, stop) = (reader.data, &reader.key_at, reader.stop);
        let mut row = |r: &[Option<&[u8]>]| {
            on_row(&r[..data]);
            for (k, &i) in last.iter_mut().zip(key_at) {
                k.clear();
                k.extend_from_slice(r[i].unwrap_or_default());
            }
            !stop.is_some_and(Stop::is_requested)
        };
        let mut stream = conn.copy_out_raw(sql).await.map_err(fail)?;
        let mut bytes = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(fail)? {
            bytes += chunk.len() as u64;
            if !reader
                .parser
                .feed(&chunk, &mut row)
                .map_err(|e| self.err("reading rows (COPY)", e))?
            {
                return Ok((false, bytes));
            }
        }
        reader
            .parser
            .finish()
            .map_err(|e| self.err("reading rows (COPY)", e))?;
        Ok((true, bytes))
    }

    /// MySQL/MariaDB and SQLite: streamed key ranges (or one streamed query without a key), from
    /// the start or after the key in `last`; `last` follows the rows handed over.
    async fn fetch_full(
        &self,
        table: &TableInfo,
        keys: &[KeyColumn],
        opts: &SampleOptions,
        from_start: bool,
        last: &mut [Vec<u8>],
        on_row: &mut OnRow<'_>,
    ) -> Result<()> {
        let d = self.dialect;
        let from = d.qualified(&table.table);
        let mut exprs = self.read_exprs(table, opts);
        let data = exprs.len();
        if keys.is_empty() {
            let sql = format!("SELECT {} FROM {from}", aliased(&exprs));
            return self
                .run_streamed(&sql, &[], data, (&mut [], &[]), opts, on_row)
                .await
                .map(|_| ())
                .map_err(|e| self.db_err(format!("reading {}", table.table), e));
        }
        let key_list: Vec<&str> = keys.iter().map(|k| k.expr.as_str()).collect();
        let key_list = key_list.join(", ");
        // A key column already read as its key text is not read twice.
        let key_at: Vec<usize> = keys
            .iter()
            .map(|k| {
                let e = d.key_text(&k.expr, &k.sql_type);
                exprs.iter().position(|x| *x == e).unwrap_or_else(|| {
                    exprs.push(e);
                    exprs.len() - 1
                })
            })
            .collect();
        let select = aliased(&exprs);
        let mut first = from_start;
        let limit = opts.range_rows.max(1);
        loop {
            let (cond, binds) = if first {
                (String::new(), vec![])
            } else {
                let mut binds: Vec<Bind> = Vec::with_capacity(keys.len());
                let mut ps = Vec::with_capacity(keys.len());
                for (i, (k, value)) in keys.iter().zip(last.iter()).enumerate() {
                    ps.push(d.key_placeholder(i + 1, &k.sql_type));
                    binds.push(d.key_bind(&k.sql_type, &String::from_utf8_lossy(value)));
                }
                (format!("WHERE ({key_list}) > ({}) ", ps.join(", ")), binds)
            };
            let sql =
                format!("SELECT {select} FROM {from} {cond}ORDER BY {key_list} LIMIT {limit}");
            let previous = last.to_vec();
            let rows = self
                .run_streamed(&sql, &binds, data, (&mut *last, &key_at), opts, on_row)
                .await
                .map_err(|e| self.db_err(format!("reading {}", table.table), e))?;
            if rows < u64::from(limit) || opts.stop.as_ref().is_some_and(Stop::is_requested) {
                return Ok(());
            }
            if !first && *last == previous {
                return Err(self.err(
                    format!("reading {}", table.table),
                    "the key range did not advance (a key value does not read back as itself)",
                ));
            }
            first = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_rows_get_smaller_ranges() {
        assert_eq!(next_limit(50_000, 0, 0), 50_000);
        assert_eq!(next_limit(50_000, 50_000, 5_000_000), 50_000);
        // 2 MB rows: 32 per range.
        assert_eq!(next_limit(50_000, 10, 20 << 20), 32);
        // Never below one row, never above the setting.
        assert_eq!(next_limit(50_000, 1, 1 << 40), 1);
        assert_eq!(next_limit(0, 0, 0), 1);
    }
}
