//! Named advisory locks that keep two datawarden processes from enforcing the same policy at once.
//! PostgreSQL `pg_try_advisory_lock(hashtext(name))` (scoped to the database) and MySQL
//! `GET_LOCK(...)` over a hash of the database and the name (GET_LOCK itself is server-wide) are
//! held by a dedicated connection outside the pool; SQLite takes an exclusive OS file lock on
//! `<dbfile>.datawarden-<name>.lock`. Every lock is released when the guard is dropped and, because
//! it belongs to a connection or an open file, when the process dies.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use super::connect::Pool;
use super::Source;
use crate::error::{Error, Result};

/// A held lock. Dropping it releases the lock (the connection closes or the file is unlocked);
/// [`LockGuard::release`] does so explicitly and waits for it.
#[derive(Debug)]
pub struct LockGuard {
    name: String,
    /// The statement releasing a server-side lock (bind 1: the lock name).
    release_sql: &'static str,
    held: Held,
}

#[derive(Debug)]
enum Held {
    Postgres(PgConnection),
    MySql(MySqlConnection),
    File(File, PathBuf),
}

/// The server-side lock name: `datawarden:<name>`, hashed when longer than MySQL's 64 characters.
fn server_lock_name(name: &str) -> String {
    let full = format!("datawarden:{name}");
    if full.chars().count() <= 64 {
        return full;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("datawarden:{hex}")
}

/// A file-name-safe rendering of a lock name.
fn file_lock_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Source {
    /// Tries to take the lock `name` without waiting: `Ok(None)` when another session or process
    /// holds it.
    pub async fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        let (acquire, release_sql) = self.dialect.lock_sql();
        let key = server_lock_name(name);
        let fail = |e: sqlx::Error| self.db_err(format!("lock `{name}`"), e);
        let held = match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.connect_options().connect().await.map_err(fail)?;
                let got: Option<String> = sqlx::query_scalar(acquire)
                    .bind(&key)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(fail)?;
                if got.as_deref() != Some("true") {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Held::Postgres(conn)
            }
            Pool::MySql(p) => {
                let mut conn = p.connect_options().connect().await.map_err(fail)?;
                let got: Option<String> = sqlx::query_scalar(acquire)
                    .bind(&key)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(fail)?;
                if got.as_deref() != Some("1") {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Held::MySql(conn)
            }
            Pool::Sqlite(_, db) => {
                let mut path = db.clone().into_os_string();
                path.push(format!(".datawarden-{}.lock", file_lock_name(name)));
                let path = PathBuf::from(path);
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                match file.try_lock() {
                    Ok(()) => Held::File(file, path),
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
                }
            }
        };
        tracing::debug!(source = %self.name, lock = name, "lock taken");
        Ok(Some(LockGuard {
            name: name.to_string(),
            release_sql,
            held,
        }))
    }
}

impl LockGuard {
    /// The lock's name as requested.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Releases the lock and waits until the server has done so.
    pub async fn release(self) -> Result<()> {
        let key = server_lock_name(&self.name);
        let fail = |e: sqlx::Error| Error::Other(format!("releasing lock `{}`: {e}", self.name));
        match self.held {
            Held::Postgres(mut conn) => {
                sqlx::query(self.release_sql)
                    .bind(&key)
                    .execute(&mut conn)
                    .await
                    .map_err(fail)?;
                conn.close().await.map_err(fail)
            }
            Held::MySql(mut conn) => {
                sqlx::query(self.release_sql)
                    .bind(&key)
                    .execute(&mut conn)
                    .await
                    .map_err(fail)?;
                conn.close().await.map_err(fail)
            }
            Held::File(file, path) => file.unlock().map_err(|e| Error::io(path, e)),
        }
    }
}
