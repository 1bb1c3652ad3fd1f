//! [`Source`]: a connected database with a bounded pool, per-session timeouts and read-only sessions
//! where the backend has them.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, MySqlPool, PgPool, SqlitePool};

use super::{Backend, Dialect};
use crate::config::{ScanConfig, SourceConfig};
use crate::error::{Error, Result};

/// How long establishing a connection may take before the source counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether sessions may write. Scans use [`Access::ReadOnly`]; retention uses [`Access::ReadWrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// PostgreSQL `default_transaction_read_only=on`, MySQL `SET SESSION TRANSACTION READ ONLY`,
    /// SQLite opened with `mode=ro` and `query_only`.
    ReadOnly,
    /// Ordinary sessions.
    ReadWrite,
}

/// One concrete pool per backend.
#[derive(Clone)]
pub(crate) enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
    /// The pool and the database file (for lock files).
    Sqlite(SqlitePool, PathBuf),
}

/// A connected database source. Cheap to clone (the pool is shared). `Debug` shows the name and
/// the redacted URL only.
#[derive(Clone)]
pub struct Source {
    pub(crate) name: String,
    pub(crate) redacted_url: String,
    pub(crate) dialect: Dialect,
    pub(crate) pool: Pool,
    pub(crate) access: Access,
    pub(crate) statement_timeout: Duration,
    /// MySQL/MariaDB: the database the URL names, which scopes the source (see [`Source::tables`]).
    pub(crate) home_schema: Option<String>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("url", &self.redacted_url)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Connects with the source's effective settings: at most `max_connections` connections, a
    /// [`CONNECT_TIMEOUT`], the statement timeout on every session (PostgreSQL `statement_timeout`,
    /// MariaDB `max_statement_time` / MySQL `max_execution_time`, SQLite busy timeout) and read-only
    /// sessions for [`Access::ReadOnly`]. One connection is opened right away, so an unreachable
    /// source fails here with an [`Error::Source`] that names the source and its redacted URL.
    pub async fn connect(cfg: &SourceConfig, scan: &ScanConfig, access: Access) -> Result<Source> {
        let url = cfg.connect_url()?;
        let redacted_url = cfg.redacted_url();
        let statement_timeout = cfg.statement_timeout(scan);
        let max = cfg.max_connections(scan).max(1);
        let read_only = access == Access::ReadOnly;
        let password = cfg
            .password
            .as_ref()
            .and_then(|s| s.resolve().ok())
            .map(|v| String::from_utf8_lossy(v.expose()).into_owned())
            .or_else(|| {
                url::Url::parse(&cfg.url)
                    .ok()
                    .and_then(|u| u.password().map(str::to_string))
            });
        // Never let a password reach a message, whatever the driver puts in its error text.
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            let mut detail = e.to_string();
            if let Some(pw) = password.as_deref().filter(|p| !p.is_empty()) {
                detail = detail.replace(pw, "***");
            }
            Error::Source {
                source_name: cfg.name.clone(),
                message: format!("{what} {redacted_url}: {detail}"),
            }
        };
        let unreachable = "cannot connect to";
        let hint = "check that the server is running and the URL, user and password are right";
        let mut home_schema = None;
        let (pool, dialect) = match cfg.backend() {
            Backend::Postgres => {
                let mut options = vec![(
                    "statement_timeout",
                    statement_timeout.as_millis().to_string(),
                )];
                if read_only {
                    options.push(("default_transaction_read_only", "on".into()));
                }
                let opts = PgConnectOptions::from_str(&url)
                    .map_err(|e| fail("invalid URL", &e))?
                    .application_name("datawarden")
                    .options(options);
                probe(&opts)
                    .await
                    .map_err(|e| transient(fail(unreachable, &format!("{e} ({hint})"))))?;
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(opts)
                    .await
                    .map_err(|e| transient(fail(unreachable, &format!("{e} ({hint})"))))?;
                (Pool::Postgres(pool), Dialect::new(Backend::Postgres))
            }
            Backend::MySql => {
                let opts =
                    MySqlConnectOptions::from_str(&url).map_err(|e| fail("invalid URL", &e))?;
                home_schema = opts
                    .get_database()
                    .filter(|d| !d.is_empty())
                    .map(str::to_string);
                probe(&opts)
                    .await
                    .map_err(|e| transient(fail(unreachable, &format!("{e} ({hint})"))))?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            let version: String =
                                sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
                                    .fetch_one(&mut *conn)
                                    .await?;
                            let dialect = mysql_dialect(&version);
                            conn.execute(dialect.statement_timeout_sql(statement_timeout).as_str())
                                .await?;
                            if read_only {
                                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .map_err(|e| transient(fail(unreachable, &format!("{e} ({hint})"))))?;
                let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| fail("cannot query", &e))?;
                (Pool::MySql(pool), mysql_dialect(&version))
            }
            Backend::Sqlite => {
                let mut opts = SqliteConnectOptions::from_str(&url)
                    .map_err(|e| fail("invalid URL", &e))?
                    .create_if_missing(false)
                    .busy_timeout(statement_timeout)
                    .read_only(read_only);
                if read_only {
                    opts = opts.pragma("query_only", "ON");
                }
                let file = opts.get_filename().to_path_buf();
                probe(&opts).await.map_err(|e| {
                    fail(
                        unreachable,
                        &format!("{e} (check that the file exists and is readable)"),
                    )
                })?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(opts)
                    .await
                    .map_err(|e| {
                        fail(
                            unreachable,
                            &format!("{e} (check that the file exists and is readable)"),
                        )
                    })?;
                (Pool::Sqlite(pool, file), Dialect::new(Backend::Sqlite))
            }
        };
        tracing::debug!(source = %cfg.name, url = %redacted_url, ?access, "connected");
        Ok(Source {
            name: cfg.name.clone(),
            redacted_url,
            dialect,
            pool,
            access,
            statement_timeout,
            home_schema,
        })
    }

    /// MySQL/MariaDB: the database named in the source URL. A source with one covers that
    /// database only (unless `include_schemas` names others); without one it covers every
    /// non-system database. `None` on PostgreSQL and SQLite, whose URLs name one database anyway.
    pub fn home_schema(&self) -> Option<&str> {
        self.home_schema.as_deref()
    }

    /// The source's name from the config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// The SQL dialect of this source.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether sessions are read-only.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The statement timeout applied to every session.
    pub fn statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// Closes every pooled connection (waits for connections in use to be returned).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
            Pool::Sqlite(p, _) => p.close().await,
        }
    }

    /// An [`Error::Transient`] (see [`is_transient`]) or [`Error::Source`] for this source, with
    /// `what` and the driver's message.
    pub(crate) fn db_err(&self, what: impl std::fmt::Display, e: sqlx::Error) -> Error {
        if is_transient(&e) {
            Error::Transient {
                source_name: self.name.clone(),
                message: format!("{what}: {e}"),
            }
        } else {
            self.err(what, e)
        }
    }

    /// An [`Error::Source`] for this source with `what` and the driver's message.
    pub(crate) fn err(&self, what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
        Error::Source {
            source_name: self.name.clone(),
            message: format!("{what}: {e}"),
        }
    }
}

/// A server that cannot be reached now may be back at the next attempt.
fn transient(e: Error) -> Error {
    match e {
        Error::Source {
            source_name,
            message,
        } => Error::Transient {
            source_name,
            message,
        },
        other => other,
    }
}

/// True for driver errors that a retry can fix: the connection was lost or could not be had,
/// a lock wait timed out, a deadlock or serialization failure, a server shutting down or out of
/// connections, SQLite busy/locked.
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Lock wait timeout, deadlock, too many connections, server gone / lost, shutdown,
                // connection killed (MariaDB's `KILL CONNECTION`).
                return matches!(my.number(), 1205 | 1213 | 1040 | 2006 | 2013 | 1053 | 1927);
            }
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            }
            // PostgreSQL SQLSTATEs: connection exceptions, serialization failure, deadlock,
            // lock_not_available (lock_timeout), shutdown, too many connections.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "53300"
                )
        }
        _ => false,
    }
}

/// Opens and closes one connection, so that an unreachable server fails at once with the driver's
/// error (the pool would retry until its acquire timeout).
async fn probe<O>(opts: &O) -> std::result::Result<(), String>
where
    O: ConnectOptions,
    O::Connection: Sized,
{
    match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())),
    }
}

fn mysql_dialect(version: &str) -> Dialect {
    Dialect::mysql_for_version(version)
}
