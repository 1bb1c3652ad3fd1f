//! MySQL/MariaDB catalogue queries (`information_schema`). A schema is a database.

use super::{CatalogSql, FkFilter};
use crate::sources::{Bind, Dialect, Scope, TableRef};

fn filter(d: &Dialect, scope: &Scope, schema: &str, table: &str) -> (String, Vec<Bind>) {
    let mut binds = vec![];
    let mut next = 1;
    let f = scope.sql_filter(d, schema, table, &mut next, &mut binds);
    (f, binds)
}

pub(super) fn catalog(d: &Dialect, scope: &Scope) -> CatalogSql {
    let (f, binds) = filter(d, scope, "TABLE_SCHEMA", "TABLE_NAME");
    let tables = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, CASE WHEN TABLE_TYPE = 'VIEW' THEN 'view' ELSE 'table' END, \
         CAST(TABLE_ROWS AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED') AND {f} ORDER BY 1, 2"
    );
    let columns = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, \
         CASE WHEN IS_NULLABLE = 'YES' THEN 'true' ELSE 'false' END, \
         CASE WHEN DATA_TYPE IN ('char', 'varchar') THEN CAST(CHARACTER_MAXIMUM_LENGTH AS CHAR) END \
         FROM information_schema.COLUMNS WHERE {f} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
    );
    let keys = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, CASE WHEN INDEX_NAME = 'PRIMARY' THEN 'p' ELSE 'u' END, \
         COLUMN_NAME FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND {f} \
         ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX"
    );
    CatalogSql {
        tables: (tables, binds.clone()),
        columns: (columns, binds.clone()),
        keys: (keys, binds),
    }
}

pub(super) fn foreign_keys(d: &Dialect, filter_by: &FkFilter<'_>) -> (String, Vec<Bind>) {
    let (condition, binds) = match filter_by {
        FkFilter::Outgoing(scope) => filter(d, scope, "k.TABLE_SCHEMA", "k.TABLE_NAME"),
        FkFilter::Referencing(table) => (
            "k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?".to_string(),
            vec![
                Bind::Text(table.schema.clone()),
                Bind::Text(table.name.clone()),
            ],
        ),
    };
    let sql = format!(
        "SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, \
         k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
         AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND {condition} \
         ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
    );
    (sql, binds)
}

/// The columns leading an index of `table`.
pub(super) fn indexed_columns(table: &TableRef) -> (String, Vec<Bind>) {
    (
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1"
            .into(),
        vec![
            Bind::Text(table.schema.clone()),
            Bind::Text(table.name.clone()),
        ],
    )
}
