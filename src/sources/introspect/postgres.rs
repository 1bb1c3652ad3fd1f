//! PostgreSQL catalogue queries (`pg_class`, `pg_attribute`, `pg_index`, `pg_constraint`).
//! Partitioned tables are listed once (partitions are skipped; the parent's estimate and pages sum
//! its leaf partitions, at any depth); materialized views count as views; foreign tables are not
//! listed.
//!
//! Row estimates scale like the planner's: `reltuples / relpages` (the density at the last ANALYZE
//! or VACUUM) times the current page count `pg_relation_size / block_size`, so a table that grew
//! or shrank since is estimated at its current size. Without a density (`reltuples` or `relpages`
//! not above 0: never analyzed is `reltuples` -1 on PostgreSQL 14+, 0 with `relpages` 0 before) the
//! estimate is NULL and the caller measures one; a relation with no pages counts 0 rows.

use super::{CatalogSql, FkFilter};
use crate::sources::{Bind, Dialect, Scope, TableRef};

/// `WITH t AS (...)`: the relations in scope, with the filter's binds starting at `$1`.
fn scoped(d: &Dialect, scope: &Scope) -> (String, Vec<Bind>) {
    let mut binds = vec![];
    let mut next = 1;
    let filter = scope.sql_filter(d, "n.nspname", "c.relname", &mut next, &mut binds);
    (
        format!(
            "WITH t AS (SELECT c.oid, n.nspname, c.relname, c.relkind \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition AND {filter}) "
        ),
        binds,
    )
}

pub(super) fn catalog(d: &Dialect, scope: &Scope) -> CatalogSql {
    let (with, binds) = scoped(d, scope);
    let tables = format!(
        "{with}SELECT t.nspname::text, t.relname::text, \
         CASE WHEN t.relkind IN ('v', 'm') THEN 'view' WHEN t.relkind = 'p' THEN 'partitioned' \
         ELSE 'table' END, e.estimate::float8::text, e.pages::text \
         FROM t LEFT JOIN LATERAL (\
           SELECT CASE WHEN bool_and(r.relpages > 0 AND r.reltuples > 0 OR s.pages = 0) \
             THEN sum(CASE WHEN r.relpages > 0 AND r.reltuples > 0 \
               THEN r.reltuples::float8 / r.relpages * s.pages ELSE 0 END) END AS estimate, \
             sum(s.pages) AS pages \
           FROM (SELECT t.oid AS relid WHERE t.relkind = 'r' \
             UNION ALL SELECT l.relid FROM pg_catalog.pg_partition_tree(t.oid) l \
             WHERE l.isleaf AND t.relkind = 'p') leaf \
           JOIN pg_catalog.pg_class r ON r.oid = leaf.relid \
           CROSS JOIN LATERAL (SELECT pg_catalog.pg_relation_size(r.oid) \
             / pg_catalog.current_setting('block_size')::int AS pages) s\
         ) e ON true ORDER BY 1, 2"
    );
    let columns = format!(
        "{with}SELECT t.nspname::text, t.relname::text, a.attname::text, \
         pg_catalog.format_type(a.atttypid, a.atttypmod), \
         CASE WHEN a.attnotnull THEN 'false' ELSE 'true' END, \
         CASE WHEN a.atttypid IN (1042, 1043) AND a.atttypmod > 4 THEN (a.atttypmod - 4)::text END \
         FROM t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid \
         WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2, a.attnum"
    );
    let keys = format!(
        "{with}SELECT t.nspname::text, t.relname::text, ic.relname::text, \
         CASE WHEN x.indisprimary THEN 'p' ELSE 'u' END, a.attname::text \
         FROM t JOIN pg_catalog.pg_index x ON x.indrelid = t.oid \
         JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid \
         CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE (x.indisprimary OR x.indisunique) AND x.indpred IS NULL AND x.indexprs IS NULL \
         AND k.ord <= x.indnkeyatts \
         ORDER BY 1, 2, (NOT x.indisprimary), 3, k.ord"
    );
    CatalogSql {
        tables: (tables, binds.clone()),
        columns: (columns, binds.clone()),
        keys: (keys, binds),
    }
}

pub(super) fn foreign_keys(d: &Dialect, filter: &FkFilter<'_>) -> (String, Vec<Bind>) {
    let scope = match filter {
        FkFilter::Outgoing(scope) => scope,
        FkFilter::Referencing(table) => return referencing(table),
    };
    let (with, binds) = scoped(d, scope);
    let sql = format!(
        "{with}SELECT con.conname::text, sn.nspname::text, sc.relname::text, sa.attname::text, \
         rn.nspname::text, rc.relname::text, ra.attname::text, con.confdeltype::text \
         FROM pg_catalog.pg_constraint con \
         JOIN pg_catalog.pg_class sc ON sc.oid = con.conrelid \
         JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace \
         JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
         JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(src, ref, ord) \
         JOIN pg_catalog.pg_attribute sa ON sa.attrelid = con.conrelid AND sa.attnum = k.src \
         JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref \
         WHERE con.contype = 'f' AND con.conparentid = 0 AND NOT sc.relispartition \
         AND con.conrelid IN (SELECT oid FROM t) \
         ORDER BY 2, 3, 1, k.ord"
    );
    (sql, binds)
}

/// Foreign keys referencing `table` or one of its partitions, as declared: on plain tables, on
/// partitioned parents (once, not their per-partition clones) and on single partitions
/// (`conparentid = 0` keeps the declared constraints, whichever relation they sit on). A ninth
/// column lists the referencing table's partitioned ancestors, nearest first, as a JSON array of
/// `[schema, name]` pairs (NULL when it is no partition).
fn referencing(table: &TableRef) -> (String, Vec<Bind>) {
    let sql = "WITH dw_t AS (SELECT c.oid FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2), \
         dw_r AS (SELECT oid AS relid FROM dw_t \
           UNION SELECT l.relid FROM dw_t CROSS JOIN LATERAL pg_catalog.pg_partition_tree(dw_t.oid) l) \
         SELECT con.conname::text, sn.nspname::text, sc.relname::text, sa.attname::text, \
         rn.nspname::text, rc.relname::text, ra.attname::text, con.confdeltype::text, \
         (SELECT json_agg(json_build_array(an.nspname, ac.relname) ORDER BY a.ord)::text \
           FROM pg_catalog.pg_partition_ancestors(sc.oid) WITH ORDINALITY AS a(relid, ord) \
           JOIN pg_catalog.pg_class ac ON ac.oid = a.relid \
           JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace WHERE a.relid <> sc.oid) \
         FROM pg_catalog.pg_constraint con \
         JOIN pg_catalog.pg_class sc ON sc.oid = con.conrelid \
         JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace \
         JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
         JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(src, ref, ord) \
         JOIN pg_catalog.pg_attribute sa ON sa.attrelid = con.conrelid AND sa.attnum = k.src \
         JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref \
         WHERE con.contype = 'f' AND con.conparentid = 0 \
         AND con.confrelid IN (SELECT relid FROM dw_r) \
         ORDER BY 2, 3, 1, k.ord";
    (
        sql.to_string(),
        vec![
            Bind::Text(table.schema.clone()),
            Bind::Text(table.name.clone()),
        ],
    )
}

/// The columns leading an index of `table` (partitioned indexes included).
pub(super) fn indexed_columns(table: &TableRef) -> (String, Vec<Bind>) {
    (
        "SELECT a.attname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
         WHERE n.nspname = $1 AND c.relname = $2"
            .into(),
        vec![
            Bind::Text(table.schema.clone()),
            Bind::Text(table.name.clone()),
        ],
    )
}
