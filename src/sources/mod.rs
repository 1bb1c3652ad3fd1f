//! Database sources: one concrete sqlx pool per backend (PostgreSQL, MySQL/MariaDB, SQLite) behind a
//! small dialect layer. Nothing outside this module matches on the backend: [`Dialect`] holds every
//! SQL difference (quoting, placeholders, casts, timestamp comparisons, session settings) and
//! [`Source`] runs introspection, sampling, generic queries, transactions and advisory locks.
//!
//! - [`Source::connect`]: bounded pool, connect timeout, statement timeout, read-only sessions.
//! - [`Source::tables`] / [`Source::table`] / [`Source::referencing`]: introspection, filtered by a
//!   [`Scope`] inside the catalogue SQL.
//! - [`Source::sample`]: one streamed query per table, every column cast to text in SQL.
//! - [`Source::fetch_rows`], [`Source::execute`], [`Source::begin`] ([`Tx`]): the generic query API
//!   with [`Bind`] values.
//! - [`Source::try_lock`]: a named advisory lock ([`LockGuard`]) released on drop or process death.
//!
//! Views are listed with [`TableKind::View`] and sampled by their first rows; they are never
//! enforced on (retention must refuse them).

mod bind;
mod clock;
mod connect;
mod copy_text;
mod dialect;
mod full;
mod introspect;
mod lineage;
mod lock;
mod query;
mod sample;
mod scope;

use serde::{Deserialize, Serialize};

pub use crate::config::Backend;
pub use bind::Bind;
pub use clock::{julian_day, text_cutoff, ClockType};
pub use connect::{Access, Source, CONNECT_TIMEOUT};
pub use dialect::{Cmp, Dialect, READBACK_HASH_ABOVE};
pub use full::{FULL_RANGE_ROWS, RANGE_BYTES};
pub use introspect::{CheckConstraint, WriteLimits, BOUNDED_COUNT_LIMIT};
pub use lineage::ColumnLineage;
pub use lock::LockGuard;
pub use query::{TextRows, Tx};
pub use sample::{OnRow, SampleMethod, SampleOptions, SampleReport};
pub use scope::{Scope, TableGlob};

/// A table's schema-qualified name. SQLite tables live in schema `main`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableRef {
    pub schema: String,
    pub name: String,
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// A column as introspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The SQL type as the database names it (`bigint`, `varchar(32)`, `timestamp with time zone`).
    pub sql_type: String,
    pub nullable: bool,
    /// Maximum length in characters for string types, when the database declares one.
    pub max_length: Option<i64>,
}

/// A foreign key from `table.columns` to `referenced.referenced_columns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub table: TableRef,
    pub columns: Vec<String>,
    pub referenced: TableRef,
    pub referenced_columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, `SET DEFAULT`, `RESTRICT` or `NO ACTION`.
    pub on_delete: String,
    /// PostgreSQL: the partitioned tables `table` is a partition of (nearest first), so that a
    /// foreign key declared on a partition is found under its parent's name too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<TableRef>,
}

/// A trigger on a table, as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerInfo {
    /// Trigger name.
    pub name: String,
    /// `BEFORE`, `AFTER` or `INSTEAD OF`.
    pub timing: String,
    /// The events that fire it (`INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`).
    pub events: Vec<String>,
    /// The trigger's body (MySQL, SQLite: its statement; PostgreSQL: the function's source and the
    /// trigger's arguments), `None` when the catalogue cannot show it (a C function).
    pub body: Option<String>,
}

/// Whether a relation is a base table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Table,
    View,
}

/// A table as introspected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInfo {
    pub table: TableRef,
    pub kind: TableKind,
    pub columns: Vec<ColumnInfo>,
    /// Primary-key columns, empty when there is none.
    pub primary_key: Vec<String>,
    /// Unique keys (each a list of columns), primary key excluded.
    pub unique_keys: Vec<Vec<String>>,
    /// Foreign keys of this table (outgoing).
    pub foreign_keys: Vec<ForeignKey>,
    /// Row estimate without COUNT(*) on big tables.
    pub row_estimate: Option<i64>,
    /// Current size in pages (PostgreSQL tables, partitioned ones summed over their partitions;
    /// `None` elsewhere and for views).
    pub pages: Option<i64>,
}

impl TableInfo {
    /// The column named `name`, if the table has one.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}
