//! The SQLite store: one file (WAL, foreign keys on), the embedded default. Its schema is
//! `migrations/sqlite`, applied with sqlx's migrator; files made by versions before it are first
//! upgraded by their own scripts ([`legacy`]).

pub(crate) mod legacy;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Error, Result};
use crate::store::db;

/// The SQLite schema, in order (the files of `migrations/sqlite`, embedded like `sqlx::migrate!`
/// does, without its proc-macro build).
pub fn migrator() -> Migrator {
    let m = |version, description: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![
            m(
                1,
                "baseline",
                include_str!("../../../migrations/sqlite/0001_baseline.sql"),
            ),
            m(
                2,
                "job run owner",
                include_str!("../../../migrations/sqlite/0002_job_run_owner.sql"),
            ),
            m(
                3,
                "job claims",
                include_str!("../../../migrations/sqlite/0003_job_claims.sql"),
            ),
            m(
                4,
                "subject requests",
                include_str!("../../../migrations/sqlite/0004_subject_requests.sql"),
            ),
            m(
                5,
                "finding rule",
                include_str!("../../../migrations/sqlite/0005_finding_rule.sql"),
            ),
        ]),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

/// The file path inside a `sqlite://` URL, when there is one (not `:memory:`).
pub(crate) fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

fn options(url: &str) -> Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|e| {
            Error::Inventory(format!(
                "`{url}` is not a SQLite URL ({e}); write sqlite://path"
            ))
        })?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

/// Opens (creating when missing) the file at a `sqlite://path` URL and migrates it.
pub(crate) async fn open(url: &str) -> Result<SqlitePool> {
    if let Some(dir) = sqlite_path(url)
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let options = options(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| {
            Error::Inventory(format!(
                "cannot open {url}: {e}; check the path and its permissions"
            ))
        })?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Brings the file's schema up to date: the legacy scripts first for a file made before sqlx
/// migrations, then the sqlx migrations. Two processes opening a new file at once can race on
/// recording a migration; the loser retries once and finds it applied.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let has_sqlx: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .map_err(db("reading the inventory's tables"))?;
    if has_sqlx == 0 && legacy::is_legacy(pool).await? {
        legacy::upgrade(pool).await?;
    }
    let migrator = migrator();
    let mut result = migrator.run(pool).await;
    if result.is_err() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        result = migrator.run(pool).await;
    }
    result.map_err(|e| Error::Inventory(format!("migrating the inventory: {e}")))
}

/// Opens an existing file read-only (no migrations); `None` when there is no file.
pub(crate) async fn open_read_only(url: &str) -> Result<Option<SqlitePool>> {
    if sqlite_path(url).is_some_and(|p| !p.exists()) {
        return Ok(None);
    }
    let opts = options(url)?.read_only(true).create_if_missing(false);
    match SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(sqlx::Error::Database(e)) if e.message().contains("unable to open") => Ok(None),
        Err(e) => Err(Error::Inventory(format!(
            "cannot open the inventory store: {e}"
        ))),
    }
}
