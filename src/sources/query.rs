//! The generic query API: [`Source::fetch_rows`], [`Source::execute`] and transactions ([`Tx`]),
//! with [`Bind`] values and results as text.

use std::time::Duration;

use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, MySql, Postgres, Row, Sqlite, Transaction, TypeInfo, ValueRef};

use super::bind::{bind_mysql, bind_pg, bind_sqlite};
use super::connect::Pool;
use super::{Bind, Dialect, Source};
use crate::error::Result;

/// Rows with every value as text (`None` for NULL).
pub type TextRows = Vec<Vec<Option<String>>>;

impl Source {
    /// Runs a query and returns its rows with values as text. Integer, float, boolean, date/time,
    /// text-like, JSON and UUID results convert directly; wrap other expressions in
    /// [`Dialect::cast_text`]. Invalid UTF-8 is replaced (U+FFFD), never an error.
    pub async fn fetch_rows(&self, sql: &str, binds: &[Bind]) -> Result<TextRows> {
        let fail = |e: sqlx::Error| self.db_err("query failed", e);
        match &self.pool {
            Pool::Postgres(p) => {
                let rows = bind_pg(sqlx::query(sql), binds)
                    .fetch_all(p)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| pg_texts(r).map_err(|e| self.err("reading a row", e)))
                    .collect()
            }
            Pool::MySql(p) => {
                let rows = bind_mysql(sqlx::query(sql), binds)
                    .fetch_all(p)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| mysql_texts(r).map_err(|e| self.err("reading a row", e)))
                    .collect()
            }
            Pool::Sqlite(p, _) => {
                let rows = bind_sqlite(sqlx::query(sql), binds)
                    .fetch_all(p)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| sqlite_texts(r).map_err(|e| self.err("reading a row", e)))
                    .collect()
            }
        }
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, sql: &str, binds: &[Bind]) -> Result<u64> {
        let fail = |e: sqlx::Error| self.db_err("statement failed", e);
        Ok(match &self.pool {
            Pool::Postgres(p) => bind_pg(sqlx::query(sql), binds)
                .execute(p)
                .await
                .map_err(fail)?
                .rows_affected(),
            Pool::MySql(p) => bind_mysql(sqlx::query(sql), binds)
                .execute(p)
                .await
                .map_err(fail)?
                .rows_affected(),
            Pool::Sqlite(p, _) => bind_sqlite(sqlx::query(sql), binds)
                .execute(p)
                .await
                .map_err(fail)?
                .rows_affected(),
        })
    }

    /// Has the database parse and check `sql` (tables, columns, types) without running it: a
    /// prepared statement that is never executed, so it works on read-only sessions too.
    pub async fn check_statement(&self, sql: &str) -> Result<()> {
        use sqlx::Executor;
        let fail = |e: sqlx::Error| self.db_err("statement rejected", e);
        match &self.pool {
            Pool::Postgres(p) => p.prepare(sql).await.map(drop).map_err(fail),
            Pool::MySql(p) => {
                // MySQL refuses to prepare a write in a read-only session before it resolves
                // names: prepare on a connection of its own switched to read-write, never
                // executed and closed afterwards, so no pooled session changes mode.
                let mut conn = p.acquire().await.map_err(fail)?;
                let res = async {
                    conn.execute("SET SESSION TRANSACTION READ WRITE").await?;
                    (&mut *conn).prepare(sql).await.map(drop)
                }
                .await;
                let _ = conn.close().await;
                res.map_err(fail)
            }
            Pool::Sqlite(p, _) => p.prepare(sql).await.map(drop).map_err(fail),
        }
    }

    /// Begins a transaction on a pooled connection (SQLite: `BEGIN IMMEDIATE`). Dropping the [`Tx`]
    /// without [`Tx::commit`] rolls it back.
    pub async fn begin(&self) -> Result<Tx> {
        let fail = |e: sqlx::Error| self.db_err("cannot begin a transaction", e);
        let inner = match &self.pool {
            Pool::Postgres(p) => TxInner::Postgres(p.begin().await.map_err(fail)?),
            Pool::MySql(p) => TxInner::MySql(p.begin().await.map_err(fail)?),
            Pool::Sqlite(p, _) => TxInner::Sqlite(match self.dialect.begin_sql() {
                Some(stmt) => p.begin_with(stmt).await.map_err(fail)?,
                None => p.begin().await.map_err(fail)?,
            }),
        };
        Ok(Tx {
            source: self.clone(),
            inner,
            reset: Vec::new(),
        })
    }
}

impl Source {
    /// Begins a write transaction with lock and statement timeouts (see [`Tx::set_timeouts`]). On
    /// PostgreSQL the `BEGIN` and both `SET LOCAL`s travel in one round trip.
    pub async fn begin_with_timeouts(&self, lock: Duration, statement: Duration) -> Result<Tx> {
        if let (Pool::Postgres(p), Some(sql)) = (
            &self.pool,
            self.dialect.begin_with_timeouts_sql(lock, statement),
        ) {
            let t = p
                .begin_with(sql)
                .await
                .map_err(|e| self.db_err("cannot begin a transaction", e))?;
            return Ok(Tx {
                source: self.clone(),
                inner: TxInner::Postgres(t),
                reset: Vec::new(),
            });
        }
        let mut tx = self.begin().await?;
        tx.set_timeouts(lock, statement).await?;
        Ok(tx)
    }
}

enum TxInner {
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
    Sqlite(Transaction<'static, Sqlite>),
}

/// An open transaction with the same `fetch_rows`/`execute` as [`Source`]. Rolled back on drop.
pub struct Tx {
    source: Source,
    inner: TxInner,
    /// Statements restoring the pooled session before the transaction ends.
    reset: Vec<String>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("source", &self.source.name)
            .finish_non_exhaustive()
    }
}

impl Tx {
    /// The dialect of the transaction's source.
    pub fn dialect(&self) -> Dialect {
        self.source.dialect
    }

    /// Limits how long statements in this transaction wait for row locks and run: PostgreSQL
    /// `SET LOCAL lock_timeout`/`statement_timeout`; MySQL/MariaDB `innodb_lock_wait_timeout`,
    /// `lock_wait_timeout` (whole seconds, at least 1) and the statement timeout, restored when the
    /// transaction commits or rolls back; SQLite `busy_timeout` (SQLite has no statement timeout).
    pub async fn set_timeouts(&mut self, lock: Duration, statement: Duration) -> Result<()> {
        let d = self.source.dialect;
        for stmt in d.tx_timeouts(lock, statement) {
            self.execute(&stmt, &[]).await?;
        }
        self.reset = d.tx_timeouts_reset(self.source.statement_timeout);
        Ok(())
    }

    /// Runs a query inside the transaction; values as text (see [`Source::fetch_rows`]).
    pub async fn fetch_rows(&mut self, sql: &str, binds: &[Bind]) -> Result<TextRows> {
        let s = &self.source;
        let fail = |e: sqlx::Error| s.db_err("query failed", e);
        match &mut self.inner {
            TxInner::Postgres(t) => {
                let rows = bind_pg(sqlx::query(sql), binds)
                    .fetch_all(&mut **t)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| pg_texts(r).map_err(|e| s.err("reading a row", e)))
                    .collect()
            }
            TxInner::MySql(t) => {
                let rows = bind_mysql(sqlx::query(sql), binds)
                    .fetch_all(&mut **t)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| mysql_texts(r).map_err(|e| s.err("reading a row", e)))
                    .collect()
            }
            TxInner::Sqlite(t) => {
                let rows = bind_sqlite(sqlx::query(sql), binds)
                    .fetch_all(&mut **t)
                    .await
                    .map_err(fail)?;
                rows.iter()
                    .map(|r| sqlite_texts(r).map_err(|e| s.err("reading a row", e)))
                    .collect()
            }
        }
    }

    /// Runs a statement inside the transaction and returns the number of rows it affected.
    pub async fn execute(&mut self, sql: &str, binds: &[Bind]) -> Result<u64> {
        let s = &self.source;
        let fail = |e: sqlx::Error| s.db_err("statement failed", e);
        Ok(match &mut self.inner {
            TxInner::Postgres(t) => bind_pg(sqlx::query(sql), binds)
                .execute(&mut **t)
                .await
                .map_err(fail)?
                .rows_affected(),
            TxInner::MySql(t) => bind_mysql(sqlx::query(sql), binds)
                .execute(&mut **t)
                .await
                .map_err(fail)?
                .rows_affected(),
            TxInner::Sqlite(t) => bind_sqlite(sqlx::query(sql), binds)
                .execute(&mut **t)
                .await
                .map_err(fail)?
                .rows_affected(),
        })
    }

    async fn restore_session(&mut self) -> Result<()> {
        for stmt in std::mem::take(&mut self.reset) {
            self.execute(&stmt, &[]).await?;
        }
        Ok(())
    }

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<()> {
        self.restore_session().await?;
        let s = self.source;
        let fail = |e: sqlx::Error| s.db_err("commit failed", e);
        match self.inner {
            TxInner::Postgres(t) => t.commit().await.map_err(fail),
            TxInner::MySql(t) => t.commit().await.map_err(fail),
            TxInner::Sqlite(t) => t.commit().await.map_err(fail),
        }
    }

    /// Rolls the transaction back.
    pub async fn rollback(mut self) -> Result<()> {
        // A failed restore must not prevent the rollback.
        let restored = self.restore_session().await;
        let s = self.source;
        let fail = |e: sqlx::Error| s.db_err("rollback failed", e);
        match self.inner {
            TxInner::Postgres(t) => t.rollback().await.map_err(fail)?,
            TxInner::MySql(t) => t.rollback().await.map_err(fail)?,
            TxInner::Sqlite(t) => t.rollback().await.map_err(fail)?,
        }
        restored
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unsupported(column: &str, type_name: &str) -> sqlx::Error {
    sqlx::Error::Decode(
        format!("column `{column}` has type {type_name}, which is not read as text: wrap it in Dialect::cast_text")
            .into(),
    )
}

/// PostgreSQL row values as text (binary wire format decoded per type).
fn pg_texts(row: &PgRow) -> std::result::Result<Vec<Option<String>>, sqlx::Error> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        if row.try_get_raw(i)?.is_null() {
            out.push(None);
            continue;
        }
        let ty = col.type_info().name().to_string();
        let v = match ty.as_str() {
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "JSON" | "XML" | "CITEXT"
            | "\"CHAR\"" => lossy(row.try_get_unchecked::<&[u8], _>(i)?),
            "JSONB" => {
                let b = row.try_get_unchecked::<&[u8], _>(i)?;
                lossy(b.strip_prefix(&[1u8]).unwrap_or(b))
            }
            "INT2" => row.try_get::<i16, _>(i)?.to_string(),
            "INT4" => row.try_get::<i32, _>(i)?.to_string(),
            "INT8" => row.try_get::<i64, _>(i)?.to_string(),
            "OID" => row
                .try_get::<sqlx::postgres::types::Oid, _>(i)?
                .0
                .to_string(),
            "FLOAT4" => row.try_get::<f32, _>(i)?.to_string(),
            "FLOAT8" => row.try_get::<f64, _>(i)?.to_string(),
            "BOOL" => row.try_get::<bool, _>(i)?.to_string(),
            "TIMESTAMP" => row
                .try_get::<NaiveDateTime, _>(i)?
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string(),
            "TIMESTAMPTZ" => row
                .try_get::<DateTime<Utc>, _>(i)?
                .format("%Y-%m-%d %H:%M:%S%.f+00")
                .to_string(),
            "DATE" => row.try_get::<NaiveDate, _>(i)?.to_string(),
            "TIME" => row.try_get::<NaiveTime, _>(i)?.to_string(),
            "UUID" => {
                let b = row.try_get_unchecked::<&[u8], _>(i)?;
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                if hex.len() == 32 {
                    format!(
                        "{}-{}-{}-{}-{}",
                        &hex[0..8],
                        &hex[8..12],
                        &hex[12..16],
                        &hex[16..20],
                        &hex[20..]
                    )
                } else {
                    hex
                }
            }
            other => return Err(unsupported(col.name(), other)),
        };
        out.push(Some(v));
    }
    Ok(out)
}

/// MySQL row values as text (binary protocol decoded per type).
fn mysql_texts(row: &MySqlRow) -> std::result::Result<Vec<Option<String>>, sqlx::Error> {
    use chrono::{NaiveDate, NaiveDateTime};
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        if row.try_get_raw(i)?.is_null() {
            out.push(None);
            continue;
        }
        let ty = col.type_info().name().to_string();
        let v = match ty.as_str() {
            "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => {
                row.try_get::<i64, _>(i)?.to_string()
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
            | "BIGINT UNSIGNED" | "YEAR" => row.try_get::<u64, _>(i)?.to_string(),
            "BOOLEAN" => (row.try_get::<bool, _>(i)? as u8).to_string(),
            "FLOAT" => row.try_get::<f32, _>(i)?.to_string(),
            "DOUBLE" => row.try_get::<f64, _>(i)?.to_string(),
            "DATETIME" | "TIMESTAMP" => row
                .try_get::<NaiveDateTime, _>(i)?
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string(),
            "DATE" => row.try_get::<NaiveDate, _>(i)?.to_string(),
            "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
            | "SET" | "JSON" | "DECIMAL" | "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB"
            | "MEDIUMBLOB" | "LONGBLOB" => lossy(row.try_get_unchecked::<&[u8], _>(i)?),
            other => return Err(unsupported(col.name(), other)),
        };
        out.push(Some(v));
    }
    Ok(out)
}

/// SQLite row values as text: SQLite converts numbers to text when asked for bytes.
fn sqlite_texts(row: &SqliteRow) -> std::result::Result<Vec<Option<String>>, sqlx::Error> {
    (0..row.len())
        .map(|i| Ok(row.try_get_unchecked::<Option<&[u8]>, _>(i)?.map(lossy)))
        .collect()
}
