//! The store: the one place datawarden remembers anything (the inventory and its reviews, the scan
//! history, job runs, retention checkpoints and the audit chain), on SQLite (the embedded default)
//! or PostgreSQL (`[inventory] url = "postgres://…"`, shared by several daemons).
//!
//! Shape: [`Store`] is one handle with domain methods (no pool type ever leaves this module). It
//! holds an enum of the two connection pools and each method writes its SQL once: the statements
//! use `$N` parameters, `RETURNING` and `ON CONFLICT`, which both backends read the same way, and
//! [`with_db!`] expands the method body once per pool type. An enum rather than a `trait
//! Database` with two implementations (atuin's shape): the set of backends is closed, async
//! methods need no boxing or `async_trait`, and the SQL that is the same on both is not written
//! twice. What differs lives in [`sqlite`] and [`postgres`]: opening, migrations, how a writing
//! transaction starts (SQLite `BEGIN IMMEDIATE`) and how the audit chain is serialized
//! (PostgreSQL: a transaction-scoped advisory lock).
//!
//! Times are `chrono::DateTime<Utc>`: TIMESTAMPTZ on PostgreSQL, RFC 3339 text on SQLite (sqlx's
//! encoding; rows written by older versions in other RFC 3339 forms still read). The audit record's
//! times, and the checkpoint's cutoff that is copied into them, stay text on both: they are part
//! of the hashed record and are kept byte for byte.

mod audit;
mod checkpoint;
pub(crate) mod claims;
pub mod copy;
mod inventory;
mod jobs;
pub mod postgres;
mod prune;
mod requests;
pub mod sqlite;

use std::future::Future;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::config::{redact_url, Backend};
use crate::error::{Error, Result};

pub use audit::CheckpointChange;
pub use claims::{ClusterRun, ExpiredClaim, Fence, NodeBeat};
pub use inventory::{ColumnFilter, SnapshotColumn};
pub use jobs::{JobHistory, Outcome, RunRecord};
pub use prune::Pruned;
pub use requests::{RequestCount, StoredRequest};

/// Handle on the store. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    backend: Pools,
    /// The URL with any password replaced (for messages).
    redacted: String,
    /// The node this process records as the owner of the job runs it starts.
    node: String,
    /// When set, every checkpoint and audit write first checks that this claim still holds.
    fence: Option<Fence>,
}

#[derive(Clone)]
enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.redacted)
            .field("node", &self.node)
            .finish()
    }
}

/// Which backend a [`with_db!`] arm runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to the store's pool (`&SqlitePool` or `&PgPool`) and `$kind` to
/// its [`Kind`]; the body is compiled once per backend.
macro_rules! with_db {
    ($store:expr, |$pool:ident, $kind:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Pools::Sqlite(p) => {
                let $pool = p;
                #[allow(unused_variables)]
                let $kind = $crate::store::Kind::Sqlite;
                $body
            }
            $crate::store::Pools::Postgres(p) => {
                let $pool = p;
                #[allow(unused_variables)]
                let $kind = $crate::store::Kind::Postgres;
                $body
            }
        }
    };
}
pub(crate) use with_db;

/// Starting a transaction that writes: on SQLite `BEGIN IMMEDIATE` (takes the write lock at once,
/// so two writers never deadlock upgrading read locks); on PostgreSQL a plain `BEGIN`.
pub(crate) trait WritePool {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl WritePool for SqlitePool {
    type Db = Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send
    {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl WritePool for PgPool {
    type Db = Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<Transaction<'static, Postgres>, sqlx::Error>> + Send
    {
        self.begin()
    }
}

/// Maps a driver error to [`Error::Inventory`] with what was being done.
pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| Error::Inventory(format!("{context}: {e}"))
}

/// The name this machine goes by: `DATAWARDEN_NODE`, else the host name, else `localhost`.
pub fn default_node() -> String {
    if let Ok(n) = std::env::var("DATAWARDEN_NODE") {
        if !n.trim().is_empty() {
            return n.trim().to_string();
        }
    }
    #[cfg(unix)]
    if let Ok(h) = nix::unistd::gethostname() {
        if let Some(h) = h.to_str().filter(|h| !h.is_empty()) {
            return h.to_string();
        }
    }
    "localhost".into()
}

impl Store {
    /// Opens the store at `url` (`sqlite://path`, created when missing, or `postgres://…`, whose
    /// database must exist) and applies its migrations.
    pub async fn open(url: &str) -> Result<Store> {
        let backend = match Backend::of_url(url) {
            Some(Backend::Sqlite) => Pools::Sqlite(sqlite::open(url).await?),
            Some(Backend::Postgres) => Pools::Postgres(postgres::open(url).await?),
            _ => {
                return Err(Error::Inventory(format!(
                    "`{}` is not an inventory URL: write sqlite://path or postgres://host/database",
                    redact_url(url)
                )))
            }
        };
        Ok(Store {
            backend,
            redacted: redact_url(url),
            node: default_node(),
            fence: None,
        })
    }

    /// Opens an existing store without creating or migrating anything: `None` when a SQLite file
    /// does not exist yet (dry runs and `status` leave no file behind); a SQLite file is opened
    /// read-only. Reads of tables not created yet return nothing.
    pub async fn open_existing(url: &str) -> Result<Option<Store>> {
        let backend = match Backend::of_url(url) {
            Some(Backend::Sqlite) => match sqlite::open_read_only(url).await? {
                Some(p) => Pools::Sqlite(p),
                None => return Ok(None),
            },
            Some(Backend::Postgres) => Pools::Postgres(postgres::connect(url).await?),
            _ => return Store::open(url).await.map(Some),
        };
        Ok(Some(Store {
            backend,
            redacted: redact_url(url),
            node: default_node(),
            fence: None,
        }))
    }

    /// The same store, recording `node` as the owner of the job runs it starts.
    pub fn with_node(mut self, node: impl Into<String>) -> Store {
        self.node = node.into();
        self
    }

    /// The node recorded as the owner of job runs.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The store's URL with any password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Pools::Sqlite(_) => "sqlite",
            Pools::Postgres(_) => "postgres",
        }
    }

    /// True when the store has table `name` (an existing SQLite file opened read-only may predate
    /// some tables).
    pub(crate) async fn has_table(&self, name: &str) -> Result<bool> {
        with_db!(self, |pool, kind| {
            let sql = match kind {
                Kind::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
                Kind::Postgres => "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
            };
            let n: i64 = sqlx::query_scalar(sql)
                .bind(name)
                .fetch_one(pool)
                .await
                .map_err(db("reading the store's tables"))?;
            Ok(n > 0)
        })
    }

    /// Closes the pool (on SQLite this flushes the WAL on the last connection).
    pub async fn close(&self) {
        with_db!(self, |pool, kind| pool.close().await)
    }

    /// Test builds: the SQLite pool, for assertions and tampering in unit tests.
    #[cfg(test)]
    pub(crate) fn sqlite_pool_for_tests(&self) -> &SqlitePool {
        match &self.backend {
            Pools::Sqlite(p) => p,
            Pools::Postgres(_) => panic!("not a SQLite store"),
        }
    }
}
