//! Bind values for the generic query API, bound per backend so SQL never contains formatted values.

use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlArguments;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{MySql, Postgres, Sqlite};

/// A value bound to a placeholder ([`super::Dialect::placeholder`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text (PostgreSQL binds it as `text`: use [`super::Dialect::typed_placeholder`] for other
    /// column types).
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// A UTC instant: `timestamptz` on PostgreSQL, `DATETIME` in UTC on MySQL, text
    /// `YYYY-MM-DD HH:MM:SS` on SQLite. Compare it with [`super::Dialect::timestamp_compare`].
    Timestamp(DateTime<Utc>),
    /// SQL NULL (typed as text on PostgreSQL; see [`super::Dialect::typed_placeholder`]).
    Null,
    /// A text array (`text[]`, elements may be NULL): PostgreSQL only, for
    /// [`super::Dialect::array_rows_table`]. Other backends receive it as a JSON array text.
    TextArray(Vec<Option<String>>),
}

impl Bind {
    fn json(v: &[Option<String>]) -> String {
        serde_json::to_string(v).expect("serializable")
    }
}

/// SQLite's canonical text timestamp format (what `datetime()` returns).
pub(crate) const SQLITE_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S";

pub(crate) fn bind_pg<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    binds: &'q [Bind],
) -> Query<'q, Postgres, PgArguments> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::Float(f) => q.bind(*f),
            Bind::Timestamp(t) => q.bind(*t),
            Bind::Null => q.bind(None::<&str>),
            Bind::TextArray(v) => q.bind(v.as_slice()),
        };
    }
    q
}

pub(crate) fn bind_mysql<'q>(
    mut q: Query<'q, MySql, MySqlArguments>,
    binds: &'q [Bind],
) -> Query<'q, MySql, MySqlArguments> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::Float(f) => q.bind(*f),
            // DATETIME in UTC; the session time zone is UTC (sqlx default), so TIMESTAMP columns
            // compare correctly too.
            Bind::Timestamp(t) => q.bind(t.naive_utc()),
            Bind::Null => q.bind(None::<&str>),
            Bind::TextArray(v) => q.bind(Bind::json(v)),
        };
    }
    q
}

pub(crate) fn bind_sqlite<'q>(
    mut q: Query<'q, Sqlite, SqliteArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::Float(f) => q.bind(*f),
            Bind::Timestamp(t) => q.bind(t.format(SQLITE_TIMESTAMP).to_string()),
            Bind::Null => q.bind(None::<&str>),
            Bind::TextArray(v) => q.bind(Bind::json(v)),
        };
    }
    q
}
