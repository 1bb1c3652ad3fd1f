//! SQLite catalogue queries (`sqlite_schema` joined with the `pragma_*` table-valued functions).
//! Every table lives in schema `main`; internal `sqlite_*` tables are skipped. Foreign keys have no
//! names in SQLite: they are named `fk_<table>_<id>`.

use super::{CatalogSql, FkFilter};
use crate::sources::{Bind, Dialect, Scope, TableRef};

/// `FROM sqlite_schema m WHERE <scope>` over `'main'` and `m.name`.
fn scoped(d: &Dialect, scope: &Scope, types: &str) -> (String, Vec<Bind>) {
    let mut binds = vec![];
    let mut next = 1;
    let f = scope.sql_filter(d, "'main'", "m.name", &mut next, &mut binds);
    (
        format!("m.type IN ({types}) AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!' AND {f}"),
        binds,
    )
}

pub(super) fn catalog(d: &Dialect, scope: &Scope) -> CatalogSql {
    let (all, binds) = scoped(d, scope, "'table', 'view'");
    let (tables_only, table_binds) = scoped(d, scope, "'table'");
    let tables = format!(
        "SELECT 'main', m.name, m.type, NULL FROM sqlite_schema m WHERE {all} ORDER BY m.name"
    );
    let columns = format!(
        "SELECT 'main', m.name, p.name, p.type, \
         CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 'true' ELSE 'false' END, \
         CASE WHEN upper(p.type) GLOB '*CHAR*(*)*' OR upper(p.type) GLOB '*TEXT*(*)*' OR upper(p.type) GLOB '*CLOB*(*)*' \
           THEN CAST(trim(substr(p.type, instr(p.type, '(') + 1, instr(p.type, ')') - instr(p.type, '(') - 1)) AS INTEGER) END \
         FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE {all} ORDER BY m.name, p.cid"
    );
    // Primary key from table_info (pk ordinal); unique keys from unique, non-partial indexes on
    // plain columns (expression indexes have a NULL column name and are skipped).
    let keys = format!(
        "SELECT s, t, k, kind, c FROM (SELECT 'main' AS s, m.name AS t, 'PRIMARY' AS k, 'p' AS kind, p.name AS c, \
         p.pk AS ord FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE p.pk > 0 AND {tables_only} \
         UNION ALL SELECT 'main', m.name, il.name, 'u', ii.name, ii.seqno FROM sqlite_schema m \
         JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         WHERE il.\"unique\" = 1 AND il.origin <> 'pk' AND il.partial = 0 AND {tables_only} \
         AND NOT EXISTS (SELECT 1 FROM pragma_index_info(il.name) e WHERE e.name IS NULL)) \
         ORDER BY t, kind, k, ord"
    );
    let mut key_binds = table_binds.clone();
    key_binds.extend(table_binds.clone());
    CatalogSql {
        tables: (tables, binds.clone()),
        columns: (columns, binds),
        keys: (keys, key_binds),
    }
}

pub(super) fn foreign_keys(d: &Dialect, filter: &FkFilter<'_>) -> (String, Vec<Bind>) {
    let (condition, binds) = match filter {
        FkFilter::Outgoing(scope) => scoped(d, scope, "'table'"),
        FkFilter::Referencing(table) => (
            "m.type = 'table' AND f.\"table\" = ? COLLATE NOCASE".to_string(),
            vec![Bind::Text(table.name.clone())],
        ),
    };
    let sql = format!(
        "SELECT 'fk_' || m.name || '_' || f.id, 'main', m.name, f.\"from\", 'main', \
         coalesce((SELECT s.name FROM sqlite_schema s WHERE s.name = f.\"table\" COLLATE NOCASE AND s.type = 'table'), f.\"table\"), \
         f.\"to\", f.on_delete FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f \
         WHERE {condition} ORDER BY m.name, f.id, f.seq"
    );
    (sql, binds)
}

/// Primary-key columns of one table, in key order.
pub(super) fn primary_key(table: &TableRef) -> (String, Vec<Bind>) {
    (
        "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk".into(),
        vec![Bind::Text(table.name.clone())],
    )
}

/// The columns leading an index of `table`.
pub(super) fn indexed_columns(table: &TableRef) -> (String, Vec<Bind>) {
    (
        "SELECT ii.name FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii \
         WHERE ii.seqno = 0 AND ii.name IS NOT NULL"
            .into(),
        vec![Bind::Text(table.name.clone())],
    )
}
