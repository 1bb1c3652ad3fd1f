//! Introspection: tables and views in a [`Scope`], their columns, keys, foreign keys and row
//! estimates, read from the catalogue with the scope applied inside the SQL. Each backend module
//! renders catalogue queries returning the same normalised text columns; this module assembles them.
//!
//! Row estimates never run `COUNT(*)` over a big table: PostgreSQL `pg_class.reltuples` scaled to
//! the current page count like the planner does (`reltuples / relpages * current pages`, so
//! statistics from when the table was smaller do not stick), MySQL
//! `information_schema.TABLES.TABLE_ROWS`. When the catalogue has no estimate (SQLite always,
//! never-analyzed PostgreSQL tables with `reltuples` -1 or 0, MySQL 0) a bounded count
//! `SELECT count(*) FROM (SELECT 1 FROM t LIMIT 100001)` is used, exact up to
//! [`BOUNDED_COUNT_LIMIT`] rows. Above it, a PostgreSQL table (not a partitioned parent) is
//! estimated from its current page count at the density of the counted rows (100,001 rows over the
//! pages from the first of them to the last); elsewhere the estimate tops out at
//! [`BOUNDED_COUNT_LIMIT`]` + 1`. Views have no estimate. [`TableInfo::pages`] is the current
//! PostgreSQL page count, which sampling uses too.

mod mysql;
mod postgres;
mod sqlite;
mod triggers;
mod writable;

pub use writable::{CheckConstraint, WriteLimits};

use std::collections::{BTreeMap, BTreeSet};

use super::connect::Pool;
use super::{Bind, ColumnInfo, ForeignKey, Scope, Source, TableInfo, TableKind, TableRef};
use crate::error::{Error, Result};

/// Rows read by the bounded count; a count above it means "more than this".
pub const BOUNDED_COUNT_LIMIT: i64 = 100_000;

/// Catalogue SQL for one backend, each query with its binds.
struct CatalogSql {
    /// `schema, name, kind ('table'|'partitioned'|'view'), estimate (text number or NULL)`, and
    /// PostgreSQL only `pages` (current size in pages, text number or NULL)
    tables: (String, Vec<Bind>),
    /// `schema, table, column, sql_type, nullable ('true'|'false'), max_length` in column order
    columns: (String, Vec<Bind>),
    /// `schema, table, index_name, 'p'|'u', column` in index-column order
    keys: (String, Vec<Bind>),
}

/// Foreign-key rows: `name, schema, table, column, ref_schema, ref_table, ref_column, on_delete`,
/// ordered by constraint then position.
const FK_COLUMNS: usize = 8;

/// Which foreign keys to list.
pub(crate) enum FkFilter<'a> {
    /// Outgoing foreign keys of the tables in a scope.
    Outgoing(&'a Scope),
    /// Foreign keys referencing one table (incoming).
    Referencing(&'a TableRef),
}

fn field(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

impl Source {
    /// Lists the tables and views in `scope` (system schemas excluded), with columns, primary and
    /// unique keys, outgoing foreign keys and row estimates, ordered by schema and name. A scope
    /// without `include_schemas` means the source's own schemas: on MySQL/MariaDB the URL's
    /// database when it names one ([`Source::home_schema`]), so scan and enforce resolve tables
    /// alike and other databases on the server stay out.
    pub async fn tables(&self, scope: &Scope) -> Result<Vec<TableInfo>> {
        let homed;
        let scope = match &self.home_schema {
            Some(home) if scope.include_schemas.is_empty() => {
                homed = scope.in_schema(home);
                &homed
            }
            _ => scope,
        };
        let sql = match &self.pool {
            Pool::Postgres(_) => postgres::catalog(&self.dialect, scope),
            Pool::MySql(_) => mysql::catalog(&self.dialect, scope),
            Pool::Sqlite(..) => sqlite::catalog(&self.dialect, scope),
        };
        let what = "introspection failed";
        let table_rows = self
            .fetch_rows(&sql.tables.0, &sql.tables.1)
            .await
            .map_err(|e| ctx(e, what))?;
        let mut tables: BTreeMap<TableRef, TableInfo> = BTreeMap::new();
        let mut partitioned: BTreeSet<TableRef> = BTreeSet::new();
        for r in &table_rows {
            let t = TableRef {
                schema: field(r, 0),
                name: field(r, 1),
            };
            let kind = if field(r, 2) == "view" {
                TableKind::View
            } else {
                TableKind::Table
            };
            if field(r, 2) == "partitioned" {
                partitioned.insert(t.clone());
            }
            let row_estimate = match kind {
                TableKind::View => None,
                TableKind::Table => r
                    .get(3)
                    .cloned()
                    .flatten()
                    .and_then(|s| s.parse::<f64>().ok())
                    .map(|f| f.round() as i64)
                    .filter(|&n| n > 0),
            };
            let pages = r.get(4).cloned().flatten().and_then(|s| s.parse().ok());
            tables.insert(
                t.clone(),
                TableInfo {
                    table: t,
                    kind,
                    columns: vec![],
                    primary_key: vec![],
                    unique_keys: vec![],
                    foreign_keys: vec![],
                    row_estimate,
                    pages,
                },
            );
        }
        if tables.is_empty() {
            return Ok(vec![]);
        }
        for r in self
            .fetch_rows(&sql.columns.0, &sql.columns.1)
            .await
            .map_err(|e| ctx(e, what))?
        {
            let t = TableRef {
                schema: field(&r, 0),
                name: field(&r, 1),
            };
            if let Some(info) = tables.get_mut(&t) {
                info.columns.push(ColumnInfo {
                    name: field(&r, 2),
                    sql_type: field(&r, 3),
                    nullable: field(&r, 4) == "true",
                    max_length: r.get(5).cloned().flatten().and_then(|s| s.parse().ok()),
                });
            }
        }
        let mut keys: BTreeMap<(TableRef, String), (bool, Vec<String>)> = BTreeMap::new();
        let mut key_order: Vec<(TableRef, String)> = vec![];
        for r in self
            .fetch_rows(&sql.keys.0, &sql.keys.1)
            .await
            .map_err(|e| ctx(e, what))?
        {
            let t = TableRef {
                schema: field(&r, 0),
                name: field(&r, 1),
            };
            let k = (t, field(&r, 2));
            if !keys.contains_key(&k) {
                key_order.push(k.clone());
            }
            let entry = keys
                .entry(k)
                .or_insert_with(|| (field(&r, 3) == "p", vec![]));
            entry.1.push(field(&r, 4));
        }
        for k in key_order {
            let (primary, cols) = keys.remove(&k).unwrap_or_default();
            if let Some(info) = tables.get_mut(&k.0) {
                if primary {
                    info.primary_key = cols;
                } else if !info.unique_keys.contains(&cols) {
                    info.unique_keys.push(cols);
                }
            }
        }
        for fk in self.foreign_keys(FkFilter::Outgoing(scope)).await? {
            if let Some(info) = tables.get_mut(&fk.table) {
                info.foreign_keys.push(fk);
            }
        }
        for info in tables.values_mut() {
            if info.kind == TableKind::Table && info.row_estimate.is_none() {
                let pages = info.pages.filter(|_| !partitioned.contains(&info.table));
                info.row_estimate = Some(self.measured_estimate(&info.table, pages).await?);
            }
        }
        Ok(tables.into_values().collect())
    }

    /// One table or view by name. Without `schema`, the table must be unique among the non-system
    /// schemas (SQLite: `main`).
    pub async fn table(&self, schema: Option<&str>, name: &str) -> Result<TableInfo> {
        let wanted = TableRef {
            schema: schema.unwrap_or("").to_string(),
            name: name.to_string(),
        };
        let mut scope = Scope::exact(&wanted);
        if schema.is_none() {
            scope.include_schemas.clear();
        }
        let mut found = self.tables(&scope).await?;
        // LIKE may be case-insensitive (MySQL): keep exact matches.
        found.retain(|t| t.table.name == name && schema.is_none_or(|s| t.table.schema == s));
        if schema.is_none() && found.len() > 1 {
            // A bare name means the session's schema when it has one (MySQL: the URL's database).
            let rows = self
                .fetch_rows(self.dialect.current_schema_sql(), &[])
                .await?;
            if let Some(Some(current)) = rows.first().and_then(|r| r.first()) {
                if found.iter().any(|t| &t.table.schema == current) {
                    found.retain(|t| &t.table.schema == current);
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::Source {
                source_name: self.name.clone(),
                message: format!(
                    "table `{}` not found: check the name (and schema) and that the user may read it",
                    match schema {
                        Some(s) => format!("{s}.{name}"),
                        None => name.to_string(),
                    }
                ),
            }),
            _ => Err(Error::Source {
                source_name: self.name.clone(),
                message: format!(
                    "table `{name}` exists in several schemas ({}): write it as schema.table",
                    found.iter().map(|t| t.table.schema.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    /// The columns of `table` that lead an index (an equality on them is an index lookup).
    pub async fn indexed_columns(&self, table: &TableRef) -> Result<Vec<String>> {
        let (sql, binds) = match &self.pool {
            Pool::Postgres(_) => postgres::indexed_columns(table),
            Pool::MySql(_) => mysql::indexed_columns(table),
            Pool::Sqlite(..) => sqlite::indexed_columns(table),
        };
        let rows = self
            .fetch_rows(&sql, &binds)
            .await
            .map_err(|e| ctx(e, "index introspection failed"))?;
        let mut out: Vec<String> = rows.into_iter().map(|r| field(&r, 0)).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Foreign keys of other tables (and the table itself) that reference `table`: the children to
    /// handle before deleting its rows.
    pub async fn referencing(&self, table: &TableRef) -> Result<Vec<ForeignKey>> {
        self.foreign_keys(FkFilter::Referencing(table)).await
    }

    async fn foreign_keys(&self, filter: FkFilter<'_>) -> Result<Vec<ForeignKey>> {
        let (sql, binds) = match &self.pool {
            Pool::Postgres(_) => postgres::foreign_keys(&self.dialect, &filter),
            Pool::MySql(_) => mysql::foreign_keys(&self.dialect, &filter),
            Pool::Sqlite(..) => sqlite::foreign_keys(&self.dialect, &filter),
        };
        let rows = self
            .fetch_rows(&sql, &binds)
            .await
            .map_err(|e| ctx(e, "foreign-key introspection failed"))?;
        let mut out: Vec<ForeignKey> = vec![];
        for r in rows {
            debug_assert!(r.len() >= FK_COLUMNS);
            let name = field(&r, 0);
            let table = TableRef {
                schema: field(&r, 1),
                name: field(&r, 2),
            };
            let referenced = TableRef {
                schema: field(&r, 4),
                name: field(&r, 5),
            };
            let same = out.last().is_some_and(|f: &ForeignKey| {
                f.name == name && f.table == table && f.referenced == referenced
            });
            if !same {
                out.push(ForeignKey {
                    name,
                    table,
                    columns: vec![],
                    referenced,
                    referenced_columns: vec![],
                    on_delete: normalise_rule(&field(&r, 7)),
                    ancestors: ancestors(r.get(8).cloned().flatten()),
                });
            }
            let fk = out.last_mut().expect("pushed above");
            fk.columns.push(field(&r, 3));
            if let Some(c) = r.get(6).cloned().flatten() {
                fk.referenced_columns.push(c);
            }
        }
        // SQLite may omit the referenced columns (the parent's primary key is implied).
        for fk in out.iter_mut().filter(|f| f.referenced_columns.is_empty()) {
            fk.referenced_columns = self.primary_key_columns(&fk.referenced).await?;
        }
        Ok(out)
    }

    /// Primary-key columns of one table (used to complete implied SQLite foreign keys).
    async fn primary_key_columns(&self, table: &TableRef) -> Result<Vec<String>> {
        let (sql, binds) = sqlite::primary_key(table);
        let rows = self.fetch_rows(&sql, &binds).await?;
        Ok(rows.into_iter().map(|r| field(&r, 0)).collect())
    }

    /// The estimate of a table without catalogue statistics: the bounded count; above
    /// [`BOUNDED_COUNT_LIMIT`], with the current `pages` of a PostgreSQL table, the counted rows'
    /// density (rows per page from the first of them to the last) times `pages`.
    async fn measured_estimate(&self, table: &TableRef, pages: Option<i64>) -> Result<i64> {
        let count = self.bounded_count(table).await?;
        let (Pool::Postgres(_), Some(pages)) = (&self.pool, pages) else {
            return Ok(count);
        };
        if count <= BOUNDED_COUNT_LIMIT {
            return Ok(count);
        }
        // The pages of the first and the last of the counted rows, in one scan: a sequential scan
        // may start anywhere (synchronized scans) and wrap around. `'(12,3)'::tid::text::point` is
        // (12, 3), on every version.
        let n = BOUNDED_COUNT_LIMIT + 1;
        let sql = format!(
            "SELECT ((ctid::text::point)[0])::int8 FROM (SELECT ctid, row_number() OVER () AS n \
             FROM {} LIMIT {n}) AS b WHERE n IN (1, {n}) ORDER BY n",
            self.dialect.qualified(table)
        );
        let rows = self.fetch_rows(&sql, &[]).await?;
        let page = |i: usize| rows.get(i).and_then(|r| field(r, 0).parse::<i64>().ok());
        let (Some(first), Some(last)) = (page(0), page(1)) else {
            return Ok(count);
        };
        let span = if last >= first {
            last - first + 1
        } else {
            pages - first + last + 1
        };
        if span <= 0 {
            return Ok(count);
        }
        let density = n as f64 / span as f64;
        Ok(((density * pages as f64).round() as i64).max(count))
    }

    /// `count(*)` of at most [`BOUNDED_COUNT_LIMIT`]` + 1` rows.
    pub(crate) async fn bounded_count(&self, table: &TableRef) -> Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) AS bounded",
            self.dialect.qualified(table),
            BOUNDED_COUNT_LIMIT + 1
        );
        let rows = self.fetch_rows(&sql, &[]).await?;
        Ok(rows
            .first()
            .map(|r| field(r, 0))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }
}

/// The partitioned ancestors of a foreign key's table: a JSON array of `[schema, name]` pairs.
fn ancestors(json: Option<String>) -> Vec<TableRef> {
    let pairs: Vec<(String, String)> = json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    pairs
        .into_iter()
        .map(|(schema, name)| TableRef { schema, name })
        .collect()
}

/// `CASCADE`, `SET NULL`, `SET DEFAULT`, `RESTRICT` or `NO ACTION` (upper case, single spaces).
fn normalise_rule(rule: &str) -> String {
    match rule.trim().to_ascii_uppercase().replace('_', " ").as_str() {
        "A" | "" | "NO ACTION" => "NO ACTION".into(),
        "R" | "RESTRICT" => "RESTRICT".into(),
        "C" | "CASCADE" => "CASCADE".into(),
        "N" | "SET NULL" => "SET NULL".into(),
        "D" | "SET DEFAULT" => "SET DEFAULT".into(),
        other => other.to_string(),
    }
}

fn ctx(e: Error, what: &str) -> Error {
    match e {
        Error::Source {
            source_name,
            message,
        } => Error::Source {
            source_name,
            message: format!("{what}: {message}"),
        },
        other => other,
    }
}
