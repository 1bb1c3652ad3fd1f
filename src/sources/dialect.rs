//! The dialect layer: every SQL difference between PostgreSQL, MySQL/MariaDB and SQLite lives here
//! (identifier quoting, placeholders, casts to text, timestamp comparisons, session settings,
//! transaction and lock statements). Callers build SQL with these helpers and never match on the
//! backend themselves.

use std::time::Duration;

use super::{Backend, Bind, ColumnInfo, TableRef};

/// SQL rendering for one backend. Obtain it from [`super::Source::dialect`]; `Dialect::new` exists
/// for tests and tools that only render SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    backend: Backend,
    /// MariaDB rather than Oracle MySQL (statement-timeout variable differs).
    mariadb: bool,
    /// MySQL/MariaDB: the server has `JSON_TABLE` (MySQL 8.0.4+, MariaDB 10.6+).
    json_table: bool,
}

/// A comparison operator for [`Dialect::timestamp_compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    fn sql(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// MySQL/MariaDB character types (`COLUMN_TYPE` without its length or values), read bare.
const MYSQL_TEXT: &[&str] = &[
    "char",
    "varchar",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "enum",
    "set",
];

impl Dialect {
    /// The dialect of `backend` (for MySQL: Oracle MySQL; see [`Dialect::mariadb`]).
    pub fn new(backend: Backend) -> Dialect {
        Dialect {
            backend,
            mariadb: false,
            json_table: true,
        }
    }

    /// The MariaDB flavour of the MySQL dialect.
    pub fn mariadb() -> Dialect {
        Dialect {
            backend: Backend::MySql,
            mariadb: true,
            json_table: true,
        }
    }

    /// The MySQL/MariaDB dialect for a server answering `version` to `SELECT VERSION()`: MariaDB
    /// or MySQL, and whether it has `JSON_TABLE` (assumed when the version does not parse).
    pub fn mysql_for_version(version: &str) -> Dialect {
        let v = version.to_ascii_lowercase();
        let mut d = if v.contains("mariadb") {
            Dialect::mariadb()
        } else {
            Dialect::new(Backend::MySql)
        };
        let nums: Vec<u32> = v
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        if let [a, b, c] = nums[..] {
            d.json_table = if d.mariadb {
                (a, b) >= (10, 6)
            } else {
                (a, b, c) >= (8, 0, 4)
            };
        }
        d
    }

    /// The backend this dialect renders for (for display and metrics; do not branch on it).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Quotes an identifier: `"x"` (PostgreSQL, SQLite) or `` `x` `` (MySQL), doubling embedded quotes.
    pub fn quote_ident(&self, ident: &str) -> String {
        let q = match self.backend {
            Backend::MySql => '`',
            Backend::Postgres | Backend::Sqlite => '"',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// `schema.table`, both quoted.
    pub fn qualified(&self, table: &TableRef) -> String {
        format!(
            "{}.{}",
            self.quote_ident(&table.schema),
            self.quote_ident(&table.name)
        )
    }

    /// The `n`-th bind placeholder (1-based): `$n` on PostgreSQL, `?` elsewhere.
    pub fn placeholder(&self, n: usize) -> String {
        match self.backend {
            Backend::Postgres => format!("${n}"),
            Backend::MySql | Backend::Sqlite => "?".into(),
        }
    }

    /// A placeholder whose (text) value is converted to a column's type: `CAST($n AS <sql_type>)` on
    /// PostgreSQL (which does not convert text parameters implicitly), `?` elsewhere. Use it with
    /// values read as text (keys from [`super::Source::fetch_rows`]) or [`Bind::Null`] assigned to a
    /// non-text column. `sql_type` must come from introspection ([`ColumnInfo::sql_type`]).
    pub fn typed_placeholder(&self, n: usize, sql_type: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("CAST(${n} AS {sql_type})"),
            Backend::MySql | Backend::Sqlite => "?".into(),
        }
    }

    /// The bind value for a key read back as text, to be used with [`Dialect::typed_placeholder`]:
    /// integers stay integers where the backend would otherwise compare them as strings or floats.
    pub fn key_bind(&self, sql_type: &str, text: &str) -> Bind {
        let integer = match self.backend {
            Backend::Postgres => false,
            Backend::MySql | Backend::Sqlite => is_integer_type(sql_type),
        };
        match text.parse::<i64>() {
            Ok(i) if integer => Bind::Int(i),
            _ => Bind::Text(text.to_string()),
        }
    }

    /// A key column read as text for keyset ranges, to be bound back with
    /// [`Dialect::key_placeholder`]: MySQL binary strings as `HEX(..)` (their bytes need not be
    /// valid text), everything else [`Dialect::cast_text`].
    pub(crate) fn key_text(&self, expr: &str, sql_type: &str) -> String {
        if self.backend == Backend::MySql && is_binary_type(sql_type) {
            format!("HEX({expr})")
        } else {
            self.cast_text(expr)
        }
    }

    /// The placeholder taking back a key read with [`Dialect::key_text`]: `UNHEX(?)` for MySQL
    /// binary strings, else [`Dialect::typed_placeholder`].
    pub(crate) fn key_placeholder(&self, n: usize, sql_type: &str) -> String {
        if self.backend == Backend::MySql && is_binary_type(sql_type) {
            "UNHEX(?)".into()
        } else {
            self.typed_placeholder(n, sql_type)
        }
    }

    /// `expr` cast to text: `CAST(expr AS text)` / `CAST(expr AS CHAR)` / `CAST(expr AS TEXT)`.
    pub fn cast_text(&self, expr: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("CAST({expr} AS text)"),
            Backend::MySql => format!("CAST({expr} AS CHAR)"),
            Backend::Sqlite => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// The select expression reading a column's value as text bytes for sampling. PostgreSQL
    /// `bytea` keeps printable ASCII (`encode(.., 'escape')`) so identifiers inside binary data
    /// stay visible; MySQL character and binary strings are read as they are (character ones in
    /// the connection's UTF-8), `BIT` as its number, the rest cast to CHAR; SQLite reads every
    /// value as a BLOB so invalid UTF-8 never fails.
    pub(crate) fn sample_expr(&self, column: &ColumnInfo) -> String {
        let q = self.quote_ident(&column.name);
        let t = column.sql_type.to_ascii_lowercase();
        match self.backend {
            Backend::Postgres if t == "bytea" => format!("encode({q}, 'escape')"),
            Backend::Postgres => self.cast_text(&q),
            Backend::MySql if t.contains("blob") || t.contains("binary") => q,
            // Character types come as their text in either protocol: a cast would only cost the
            // server a copy per value (a third of a full read's time).
            Backend::MySql
                if MYSQL_TEXT.contains(&t.split('(').next().unwrap_or_default().trim()) =>
            {
                q
            }
            // BIT values are bytes; `+ 0` makes them the number they hold, read as digits.
            Backend::MySql if t == "bit" || t.starts_with("bit(") => {
                self.cast_text(&format!("{q} + 0"))
            }
            Backend::MySql => self.cast_text(&q),
            Backend::Sqlite => format!("CAST({q} AS BLOB)"),
        }
    }

    /// The select expression reading only whether a column's value is NULL: NULL or an empty
    /// string (see [`super::SampleOptions::presence_only`]); the same SQL on every backend.
    pub(crate) fn presence_expr(&self, column: &ColumnInfo) -> String {
        let q = self.quote_ident(&column.name);
        format!("CASE WHEN {q} IS NULL THEN NULL ELSE '' END")
    }

    /// The expression a PostgreSQL `COPY (SELECT ..) TO STDOUT` reads a value of type `sql_type`
    /// (`expr` already quoted) with: the bare column where COPY's text output is what the cast to
    /// text gives (both are the type's output function), saving the server a cast per value;
    /// the cast otherwise (`bpchar`, `inet` and `boolean` have casts of their own) and for
    /// `bytea`, which [`Dialect::sample_expr`] reads as escaped text.
    pub(crate) fn copy_expr(&self, expr: &str, sql_type: &str) -> String {
        // The type's name without modifiers: `character varying(20)`, `numeric(10,2)`.
        let name = sql_type
            .split('(')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        const AS_OUTPUT: &[&str] = &[
            "text",
            "character varying",
            "varchar",
            "smallint",
            "integer",
            "bigint",
            "numeric",
            "real",
            "double precision",
            "date",
            "timestamp with time zone",
            "timestamp without time zone",
            "time with time zone",
            "time without time zone",
            "uuid",
            "json",
            "jsonb",
        ];
        if AS_OUTPUT.contains(&name.as_str()) {
            expr.to_string()
        } else {
            self.cast_text(expr)
        }
    }

    /// Renders `column <cmp> cutoff` for a [`Bind::Timestamp`] bound at placeholder `n`, correct for
    /// the column's type: PostgreSQL `timestamptz` compares directly, `timestamp`/`date` compare with
    /// the cutoff in UTC, integer columns hold Unix seconds; MySQL `DATETIME`/`TIMESTAMP`/`DATE`
    /// compare in the session time zone UTC; SQLite text timestamps (`YYYY-MM-DD HH:MM:SS`, ISO 8601
    /// with `T` or an offset) are normalised with `datetime()`, numbers are Unix seconds.
    /// `column_expr` is an already quoted column reference; `sql_type` is its introspected type.
    pub fn timestamp_compare(
        &self,
        column_expr: &str,
        sql_type: &str,
        cmp: Cmp,
        n: usize,
    ) -> String {
        let op = cmp.sql();
        let t = sql_type.to_ascii_lowercase();
        match self.backend {
            Backend::Postgres => {
                if is_integer_type(&t) {
                    format!("{column_expr} {op} EXTRACT(EPOCH FROM ${n})")
                } else if t.starts_with("timestamp") && !t.contains("with time zone") || t == "date" {
                    format!("{column_expr} {op} (${n} AT TIME ZONE 'UTC')")
                } else {
                    format!("{column_expr} {op} ${n}")
                }
            }
            Backend::MySql => {
                if is_integer_type(&t) {
                    format!("{column_expr} {op} UNIX_TIMESTAMP(?)")
                } else {
                    format!("{column_expr} {op} ?")
                }
            }
            Backend::Sqlite => format!(
                "(CASE WHEN typeof({column_expr}) IN ('integer', 'real') THEN datetime({column_expr}, 'unixepoch') \
                 ELSE datetime({column_expr}) END) {op} ?"
            ),
        }
    }

    /// The row-lock clause appended to a `SELECT` inside a write transaction: ` FOR UPDATE` on
    /// PostgreSQL and MySQL; empty on SQLite, whose `BEGIN IMMEDIATE` already holds the write lock.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres | Backend::MySql => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// An update that takes new values from a derived table joined on the key: PostgreSQL and
    /// SQLite `UPDATE target SET <set> FROM (<derived>) AS dw_v WHERE <join> AND <cond>`,
    /// MySQL `UPDATE target JOIN (<derived>) AS dw_v ON <join> SET <set> WHERE <cond>`. The target
    /// keeps its own name (no alias), so a policy `filter` may name its table (a correlated
    /// subquery such as `NOT EXISTS (… WHERE l.member_id = members.id)`) in every statement.
    /// `derived`'s placeholders come before `cond`'s in both forms; `set` must bind nothing.
    pub fn update_from(
        &self,
        target: &str,
        set: &str,
        derived: &str,
        join: &str,
        cond: &str,
    ) -> String {
        match self.backend {
            Backend::Postgres | Backend::Sqlite => {
                format!(
                    "UPDATE {target} SET {set} FROM ({derived}) AS dw_v WHERE {join} AND {cond}"
                )
            }
            Backend::MySql => {
                format!("UPDATE {target} JOIN ({derived}) AS dw_v ON {join} SET {set} WHERE {cond}")
            }
        }
    }

    /// A derived table of literal rows with named columns, for [`Dialect::update_from`]:
    /// `SELECT column1 AS a, ... FROM (VALUES (..), (..)) AS dw_x` on PostgreSQL and SQLite (the
    /// planner knows the row count), `SELECT .. AS a, .. UNION ALL SELECT ..` on MySQL/MariaDB
    /// (whose `VALUES` forms differ). `rows` hold SQL expressions, usually placeholders.
    pub fn rows_table(&self, columns: &[String], rows: &[Vec<String>]) -> String {
        let mut out = String::with_capacity(rows.len() * columns.len() * 8 + 64);
        match self.backend {
            Backend::Postgres | Backend::Sqlite => {
                out.push_str("SELECT ");
                for (i, c) in columns.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&format!("column{} AS {}", i + 1, self.quote_ident(c)));
                }
                out.push_str(" FROM (VALUES ");
                for (ri, r) in rows.iter().enumerate() {
                    if ri > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    out.push_str(&r.join(", "));
                    out.push(')');
                }
                out.push_str(") AS dw_x");
            }
            Backend::MySql => {
                for (ri, r) in rows.iter().enumerate() {
                    out.push_str(if ri == 0 {
                        "SELECT "
                    } else {
                        " UNION ALL SELECT "
                    });
                    for (i, cell) in r.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(cell);
                        if ri == 0 {
                            out.push_str(" AS ");
                            out.push_str(&self.quote_ident(&columns[i]));
                        }
                    }
                }
            }
        }
        out
    }

    /// A derived table like [`Dialect::rows_table`] whose rows arrive as one JSON array of arrays
    /// (one [`super::Bind::Text`] at the single placeholder), MySQL 8.0.4+/MariaDB 10.6+:
    /// `SELECT * FROM JSON_TABLE(?, '$[*]' COLUMNS (a <type> PATH '$[0]', ...))`. `types[i]` is
    /// the SQL type of column `i` (`LONGTEXT` for text of any length: typed columns cannot cut a
    /// value, as untyped placeholders in a `UNION ALL` do). The statement text does not depend on
    /// the row count. `None` on other backends and older servers.
    pub fn json_rows_table(&self, columns: &[String], types: &[&str]) -> Option<String> {
        if self.backend != Backend::MySql || !self.json_table {
            return None;
        }
        let cols: Vec<String> = columns
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (c, t))| format!("{} {t} PATH '$[{i}]'", self.quote_ident(c)))
            .collect();
        Some(format!(
            "SELECT * FROM JSON_TABLE(?, '$[*]' COLUMNS ({})) AS dw_j",
            cols.join(", ")
        ))
    }

    /// The `JSON_TABLE` column type ([`Dialect::json_rows_table`]) for a key column of
    /// `sql_type`: `BIGINT` / `BIGINT UNSIGNED` for integer keys; `None` for other keys (whose
    /// collation a typed column would not match: use [`Dialect::rows_table`]).
    pub fn json_key_type(&self, sql_type: &str) -> Option<&'static str> {
        if !is_integer_type(sql_type) {
            None
        } else if sql_type.to_ascii_lowercase().contains("unsigned") {
            Some("BIGINT UNSIGNED")
        } else {
            Some("BIGINT")
        }
    }

    /// A text cell of [`Dialect::rows_table`] that may hold any length: MySQL/MariaDB type an
    /// untyped placeholder in a `UNION ALL` derived table as TEXT (65,535 bytes) when the statement
    /// is prepared, and cut longer values silently (to their length mod 65,536) on the way to a
    /// MEDIUMTEXT or LONGTEXT column; `CAST(? AS CHAR(16777216))` types it LONGTEXT. Unchanged
    /// elsewhere.
    pub fn long_text_cell(&self, cell: &str) -> String {
        match self.backend {
            Backend::MySql => format!("CAST({cell} AS CHAR(16777216))"),
            Backend::Postgres | Backend::Sqlite => cell.to_string(),
        }
    }

    /// Select expressions reading back text column `col` (quoted) after a write, to compare with
    /// what was written ([`READBACK_HASH_ABOVE`]): PostgreSQL and MySQL give its length in bytes,
    /// then the value itself when that is at most [`READBACK_HASH_ABOVE`] bytes, else `sha256:`
    /// and the lower-case hex SHA-256 of its UTF-8 bytes (so long values do not travel back);
    /// SQLite (in-process, no hash function) gives the value.
    pub fn readback_cells(&self, col: &str) -> Vec<String> {
        let n = READBACK_HASH_ABOVE;
        match self.backend {
            Backend::Postgres => vec![
                format!("octet_length({col})"),
                format!(
                    "CASE WHEN octet_length({col}) > {n} THEN 'sha256:' || \
                     encode(sha256(convert_to({col}, 'UTF8')), 'hex') ELSE {col} END"
                ),
            ],
            Backend::MySql => vec![
                format!("OCTET_LENGTH({col})"),
                format!(
                    "CASE WHEN OCTET_LENGTH({col}) > {n} THEN \
                     CONCAT('sha256:', SHA2(CONVERT({col} USING utf8mb4), 256)) ELSE {col} END"
                ),
            ],
            Backend::Sqlite => vec![col.to_string()],
        }
    }

    /// `= ANY(CAST($n AS <sql_type>[]))`: membership of a key column in the
    /// [`super::Bind::TextArray`] bound at `n` (PostgreSQL); `None` elsewhere (bind an `IN` list).
    pub fn any_of_array(&self, sql_type: &str, n: usize) -> Option<String> {
        match self.backend {
            Backend::Postgres => Some(format!("= ANY(CAST(${n} AS {sql_type}[]))")),
            Backend::MySql | Backend::Sqlite => None,
        }
    }

    /// The query returning the session's default schema (the one bare table names resolve to):
    /// `current_schema()`, `DATABASE()`, or `'main'` on SQLite.
    pub fn current_schema_sql(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "SELECT current_schema()",
            Backend::MySql => "SELECT DATABASE()",
            Backend::Sqlite => "SELECT 'main'",
        }
    }

    /// The statement that opens a write transaction (SQLite takes the write lock up front so the
    /// busy timeout applies instead of failing on lock upgrade).
    pub(crate) fn begin_sql(&self) -> Option<&'static str> {
        match self.backend {
            Backend::Sqlite => Some("BEGIN IMMEDIATE"),
            Backend::Postgres | Backend::MySql => None,
        }
    }

    /// Statements that set the lock and statement timeouts for the current transaction.
    pub(crate) fn tx_timeouts(&self, lock: Duration, statement: Duration) -> Vec<String> {
        let lock_ms = lock.as_millis().max(1);
        let stmt_ms = statement.as_millis();
        match self.backend {
            Backend::Postgres => vec![
                format!("SET LOCAL lock_timeout = '{lock_ms}ms'"),
                format!("SET LOCAL statement_timeout = '{stmt_ms}ms'"),
            ],
            Backend::MySql => {
                // One statement, one round trip.
                let lock_s = lock.as_secs().max(1);
                vec![format!(
                    "SET SESSION innodb_lock_wait_timeout = {lock_s}, lock_wait_timeout = {lock_s}, {}",
                    self.statement_timeout_assignment(statement)
                )]
            }
            Backend::Sqlite => vec![format!("PRAGMA busy_timeout = {lock_ms}")],
        }
    }

    /// Statements that restore a pooled connection's session after [`Dialect::tx_timeouts`]
    /// (PostgreSQL's `SET LOCAL` ends with the transaction by itself).
    pub(crate) fn tx_timeouts_reset(&self, source_statement_timeout: Duration) -> Vec<String> {
        match self.backend {
            Backend::Postgres => vec![],
            Backend::MySql => vec![format!(
                "SET SESSION innodb_lock_wait_timeout = DEFAULT, lock_wait_timeout = DEFAULT, {}",
                self.statement_timeout_assignment(source_statement_timeout)
            )],
            Backend::Sqlite => vec![format!(
                "PRAGMA busy_timeout = {}",
                source_statement_timeout.as_millis()
            )],
        }
    }

    /// MySQL/MariaDB session statement timeout (`max_statement_time` in seconds on MariaDB,
    /// `max_execution_time` in milliseconds on MySQL, which limits SELECTs only).
    pub(crate) fn statement_timeout_sql(&self, timeout: Duration) -> String {
        format!("SET SESSION {}", self.statement_timeout_assignment(timeout))
    }

    fn statement_timeout_assignment(&self, timeout: Duration) -> String {
        if self.mariadb {
            format!("max_statement_time = {}", timeout.as_secs_f64())
        } else {
            format!("max_execution_time = {}", timeout.as_millis())
        }
    }

    /// A `BEGIN` that also sets the transaction's lock and statement timeouts, sent as one
    /// simple-protocol round trip: PostgreSQL only (`SET LOCAL` ends with the transaction); `None`
    /// elsewhere (use [`Dialect::begin_sql`] and [`Dialect::tx_timeouts`]).
    pub(crate) fn begin_with_timeouts_sql(
        &self,
        lock: Duration,
        statement: Duration,
    ) -> Option<String> {
        match self.backend {
            Backend::Postgres => Some(format!(
                "BEGIN; {}",
                self.tx_timeouts(lock, statement).join("; ")
            )),
            Backend::MySql | Backend::Sqlite => None,
        }
    }

    /// True when a data-modifying statement can run inside `WITH` and return rows (PostgreSQL):
    /// a batch then selects its keys and acts on them in one statement and one round trip.
    pub fn writable_cte(&self) -> bool {
        matches!(self.backend, Backend::Postgres)
    }

    /// A derived table like [`Dialect::rows_table`] whose columns arrive as one text array each,
    /// bound at placeholders `first`, `first + 1`, ... ([`super::Bind::TextArray`]): PostgreSQL
    /// `SELECT CAST(dw_x.c0 AS <type>) AS a, ... FROM unnest($1::text[], ...) AS dw_x(c0, ...)`.
    /// The statement text does not depend on the row count, so one prepared statement serves every
    /// batch and binding is three parameters, not three per row. `casts[i]` converts column `i`
    /// from text (`None`: stays text). `None` on backends without arrays.
    pub fn array_rows_table(
        &self,
        columns: &[String],
        casts: &[Option<&str>],
        first: usize,
    ) -> Option<String> {
        match self.backend {
            Backend::Postgres => {
                let mut sel = Vec::with_capacity(columns.len());
                let mut args = Vec::with_capacity(columns.len());
                let mut names = Vec::with_capacity(columns.len());
                for (i, c) in columns.iter().enumerate() {
                    let src = format!("dw_x.c{i}");
                    let expr = match casts.get(i).copied().flatten() {
                        Some(t) => format!("CAST({src} AS {t})"),
                        None => src,
                    };
                    sel.push(format!("{expr} AS {}", self.quote_ident(c)));
                    args.push(format!("CAST(${} AS text[])", first + i));
                    names.push(format!("c{i}"));
                }
                Some(format!(
                    "SELECT {} FROM unnest({}) AS dw_x({})",
                    sel.join(", "),
                    args.join(", "),
                    names.join(", ")
                ))
            }
            Backend::MySql | Backend::Sqlite => None,
        }
    }

    /// `(acquire, release)` statements of a named advisory lock, each taking the name as bind 1.
    pub(crate) fn lock_sql(&self) -> (&'static str, &'static str) {
        match self.backend {
            Backend::Postgres => (
                "SELECT CAST(pg_try_advisory_lock(hashtext($1)) AS text)",
                "SELECT CAST(pg_advisory_unlock(hashtext($1)) AS text)",
            ),
            // GET_LOCK names are server-wide (PostgreSQL advisory locks are per database): the
            // name hashes the current database in, so equal policy names in two databases on one
            // server do not block each other; 11 + 40 characters stay under MySQL's 64.
            Backend::MySql => (
                "SELECT CAST(GET_LOCK(CONCAT('datawarden:', SHA1(CONCAT(COALESCE(DATABASE(), ''), '/', ?))), 0) AS CHAR)",
                "SELECT CAST(RELEASE_LOCK(CONCAT('datawarden:', SHA1(CONCAT(COALESCE(DATABASE(), ''), '/', ?)))) AS CHAR)",
            ),
            Backend::Sqlite => ("", ""),
        }
    }

    /// Renders a `LIKE`/`GLOB` match of `expr` against the pattern bound at placeholder `n`
    /// (patterns come from [`super::scope`] with `!` as the LIKE escape character).
    pub(crate) fn pattern_match(&self, expr: &str, n: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("{expr} GLOB ?"),
            Backend::Postgres | Backend::MySql => {
                format!("{expr} LIKE {} ESCAPE '!'", self.placeholder(n))
            }
        }
    }
}

impl Dialect {
    /// The bound pattern for a scope glob (see [`Dialect::pattern_match`]).
    pub(crate) fn glob_pattern(&self, glob: &str) -> String {
        match self.backend {
            Backend::Sqlite => super::scope::glob_to_sqlite(glob),
            Backend::Postgres | Backend::MySql => super::scope::glob_to_like(glob),
        }
    }

    /// A condition excluding system schemas (`pg_catalog`, `pg_toast`, `pg_temp_*`,
    /// `information_schema`; `mysql`, `performance_schema`, `sys`, `information_schema`).
    pub(crate) fn not_system_schema(&self, schema_expr: &str) -> String {
        match self.backend {
            Backend::Postgres => {
                format!("{schema_expr} NOT LIKE 'pg!_%' ESCAPE '!' AND {schema_expr} <> 'information_schema'")
            }
            Backend::MySql => format!(
                "{schema_expr} NOT IN ('mysql', 'performance_schema', 'sys', 'information_schema')"
            ),
            Backend::Sqlite => "1=1".into(),
        }
    }
}

/// Written values longer than this (bytes) are read back as a SHA-256 rather than the value
/// ([`Dialect::readback_cells`]). Shorter ones come back whole: comparing them costs the server
/// less than hashing them (a function call and an allocation per value).
pub const READBACK_HASH_ABOVE: usize = 4096;

/// True for MySQL binary string types (`binary`, `varbinary`, `*blob`).
fn is_binary_type(sql_type: &str) -> bool {
    let t = sql_type.to_ascii_lowercase();
    t.contains("binary") || t.contains("blob")
}

/// True for integer SQL types (`int`, `bigint(20) unsigned`, `INTEGER`, `smallint`, ...).
pub(crate) fn is_integer_type(sql_type: &str) -> bool {
    let t = sql_type.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    matches!(
        base,
        "int"
            | "integer"
            | "bigint"
            | "smallint"
            | "tinyint"
            | "mediumint"
            | "int2"
            | "int4"
            | "int8"
            | "serial"
            | "bigserial"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        let pg = Dialect::new(Backend::Postgres);
        let my = Dialect::new(Backend::MySql);
        assert_eq!(
            pg.quote_ident("User \"Accounts\""),
            "\"User \"\"Accounts\"\"\""
        );
        assert_eq!(my.quote_ident("a`b"), "`a``b`");
        assert_eq!(my.quote_ident("用户表"), "`用户表`");
        let t = TableRef {
            schema: "public".into(),
            name: "Mobile No".into(),
        };
        assert_eq!(pg.qualified(&t), "\"public\".\"Mobile No\"");
    }

    #[test]
    fn placeholders_per_backend() {
        assert_eq!(Dialect::new(Backend::Postgres).placeholder(3), "$3");
        assert_eq!(Dialect::new(Backend::MySql).placeholder(3), "?");
        assert_eq!(Dialect::new(Backend::Sqlite).placeholder(3), "?");
        assert_eq!(
            Dialect::new(Backend::Postgres).typed_placeholder(2, "bigint"),
            "CAST($2 AS bigint)"
        );
    }

    #[test]
    fn json_table_follows_the_server_version() {
        let rows = |d: Dialect| d.json_rows_table(&["k".into()], &["BIGINT"]).is_some();
        assert!(rows(Dialect::mysql_for_version(
            "10.11.19-MariaDB-0+deb12u1"
        )));
        assert!(rows(Dialect::mysql_for_version("8.0.36")));
        assert!(!rows(Dialect::mysql_for_version("10.5.23-MariaDB")));
        assert!(!rows(Dialect::mysql_for_version("5.7.44-log")));
        assert!(!rows(Dialect::new(Backend::Postgres)));
        assert!(Dialect::mysql_for_version("10.6.1-MariaDB") == Dialect::mariadb());
        let my = Dialect::new(Backend::MySql);
        assert_eq!(
            my.json_key_type("bigint(20) unsigned"),
            Some("BIGINT UNSIGNED")
        );
        assert_eq!(my.json_key_type("int(11)"), Some("BIGINT"));
        assert_eq!(my.json_key_type("varchar(36)"), None);
    }

    #[test]
    fn integer_types_are_recognised() {
        for t in [
            "bigint",
            "BIGINT(20) UNSIGNED",
            "int(11)",
            "INTEGER",
            "smallint",
        ] {
            assert!(is_integer_type(t), "{t}");
        }
        for t in ["varchar(20)", "numeric(10,2)", "point", "interval"] {
            assert!(!is_integer_type(t), "{t}");
        }
        let my = Dialect::new(Backend::MySql);
        assert_eq!(my.key_bind("bigint(20)", "42"), Bind::Int(42));
        assert_eq!(my.key_bind("varchar(8)", "42"), Bind::Text("42".into()));
    }

    #[test]
    fn timestamp_comparisons_follow_the_column_type() {
        let pg = Dialect::new(Backend::Postgres);
        assert_eq!(
            pg.timestamp_compare("c", "timestamp with time zone", Cmp::Lt, 1),
            "c < $1"
        );
        assert_eq!(
            pg.timestamp_compare("c", "timestamp without time zone", Cmp::Lt, 2),
            "c < ($2 AT TIME ZONE 'UTC')"
        );
        assert!(Dialect::new(Backend::Sqlite)
            .timestamp_compare("c", "TEXT", Cmp::Le, 1)
            .ends_with("<= ?"));
    }
}
