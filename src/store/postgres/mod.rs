//! The PostgreSQL store: one database shared by every daemon of a site. Its schema is
//! `migrations/postgres`, applied with sqlx's migrator (which holds a session advisory lock for
//! the few statements of a migration: run the first start-up on a direct connection, not through
//! a transaction-mode pooler). Everything else is transaction-scoped: the audit chain is
//! serialized by `pg_advisory_xact_lock` inside the appending transaction.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::redact_url;
use crate::error::{Error, Result};

/// The PostgreSQL schema, in order (the files of `migrations/postgres`, embedded like
/// `sqlx::migrate!` does, without its proc-macro build).
pub fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            Migration::new(
                1,
                Cow::Borrowed("baseline"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!(
                    "../../../migrations/postgres/0001_baseline.sql"
                )),
                false,
            ),
            Migration::new(
                2,
                Cow::Borrowed("job claims"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!(
                    "../../../migrations/postgres/0002_job_claims.sql"
                )),
                false,
            ),
            Migration::new(
                3,
                Cow::Borrowed("subject requests"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!(
                    "../../../migrations/postgres/0003_subject_requests.sql"
                )),
                false,
            ),
            Migration::new(
                4,
                Cow::Borrowed("finding rule"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!(
                    "../../../migrations/postgres/0004_finding_rule.sql"
                )),
                false,
            ),
        ]),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

/// The key of the transaction-scoped advisory lock that serializes appends to the audit chain.
pub(crate) const AUDIT_CHAIN_LOCK: i64 = 0x6477_6175_6469_7401;

/// Connects to the database at a `postgres://` URL (it must exist) and migrates it. Errors name
/// the URL with its password replaced.
pub(crate) async fn open(url: &str) -> Result<PgPool> {
    let pool = connect(url).await?;
    migrator().run(&pool).await.map_err(|e| {
        Error::Inventory(format!(
            "migrating the inventory at {}: {e}",
            redact_url(url)
        ))
    })?;
    Ok(pool)
}

/// Connects without migrating (dry runs and `status` create nothing).
pub(crate) async fn connect(url: &str) -> Result<PgPool> {
    let shown = redact_url(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| {
            Error::Inventory(format!(
                "`{shown}` is not a PostgreSQL URL ({}); write postgres://user@host/database",
                redact_error(&e.to_string(), url)
            ))
        })?
        // The server's NOTICEs ("relation ... already exists, skipping") are not the user's news.
        .options([("client_min_messages", "warning")]);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| {
            Error::Inventory(format!(
                "cannot open the inventory at {shown}: {}; check that the server runs and the database exists",
                redact_error(&e.to_string(), url)
            ))
        })?;
    Ok(pool)
}

/// A driver message with the URL's password (if any) replaced, in case the driver quotes it.
fn redact_error(message: &str, url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        Some(pw) if !pw.is_empty() => message.replace(&pw, "***"),
        _ => message.to_string(),
    }
}
