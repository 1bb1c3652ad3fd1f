//! View lineage: which base column each view column reads, from the catalogue, so that a view
//! column inherits the base column's classification instead of the view being evaluated.
//!
//! PostgreSQL stores a view's query in `pg_rewrite.ev_action` as a node tree; each entry of the
//! top-level target list records its origin (`:resorigtbl` table oid, `:resorigcol` attribute
//! number) when it is a plain column reference, and 0 otherwise (expressions, aggregates, set
//! operations). Materialized views are not followed (they hold their own data).
//!
//! MySQL 8.0.13+ lists the tables each view reads in `information_schema.VIEW_TABLE_USAGE` and keeps
//! the view's query in canonical form (`select `db`.`t`.`c` AS `c` from `db`.`t``) in
//! `information_schema.VIEWS`: a select item that is a plain column of one of those base tables is
//! followed ([`mysql_view_origins`]). Where that catalogue is absent (MariaDB, older MySQL) or
//! cannot be read, and on SQLite, there is no lineage and views are read under the view timeout.

use std::collections::HashMap;

use super::connect::Pool;
use super::{Source, TableRef};
use crate::error::Result;

/// One view column and the base column it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnLineage {
    /// The view.
    pub view: TableRef,
    /// The view's column.
    pub column: String,
    /// The base table.
    pub base: TableRef,
    /// The base table's column.
    pub base_column: String,
}

impl Source {
    /// The lineage of every view column that reads one base-table column unchanged (PostgreSQL;
    /// MySQL 8.0.13+; empty elsewhere).
    pub async fn view_lineage(&self) -> Result<Vec<ColumnLineage>> {
        match self.pool {
            Pool::Postgres(_) => {}
            Pool::MySql(_) => return Ok(self.mysql_view_lineage().await),
            Pool::Sqlite(..) => return Ok(Vec::new()),
        }
        let views = self
            .fetch_rows(
                "SELECT c.oid::text, n.nspname::text, c.relname::text, r.ev_action::text \
                 FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'v' AND r.rulename = '_RETURN' \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                &[],
            )
            .await?;
        if views.is_empty() {
            return Ok(Vec::new());
        }
        let attrs = self
            .fetch_rows(
                "SELECT a.attrelid::text, a.attnum::text, n.nspname::text, c.relname::text, \
                 a.attname::text, c.relkind::text \
                 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p', 'v') AND a.attnum > 0 AND NOT a.attisdropped \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                &[],
            )
            .await?;
        let mut by_attr: HashMap<(String, String), (TableRef, String, bool)> = HashMap::new();
        for a in attrs {
            let f = |i: usize| a.get(i).cloned().flatten().unwrap_or_default();
            let table = TableRef {
                schema: f(2),
                name: f(3),
            };
            by_attr.insert((f(0), f(1)), (table, f(4), f(5) != "v"));
        }
        let mut out = Vec::new();
        for v in views {
            let f = |i: usize| v.get(i).cloned().flatten().unwrap_or_default();
            let (oid, action) = (f(0), f(3));
            let view = TableRef {
                schema: f(1),
                name: f(2),
            };
            for (resno, tbl, col) in target_origins(&action) {
                let (Some((_, column, _)), Some((base, base_column, true))) = (
                    by_attr.get(&(oid.clone(), resno.to_string())),
                    by_attr.get(&(tbl.to_string(), col.to_string())),
                ) else {
                    continue;
                };
                out.push(ColumnLineage {
                    view: view.clone(),
                    column: column.clone(),
                    base: base.clone(),
                    base_column: base_column.clone(),
                });
            }
        }
        Ok(out)
    }
}

impl Source {
    /// MySQL 8.0.13+: lineage from `VIEW_TABLE_USAGE` and the views' canonical definitions. Empty
    /// when the server has no such catalogue (MariaDB) or a query fails: views are then read.
    async fn mysql_view_lineage(&self) -> Vec<ColumnLineage> {
        let present = self
            .fetch_rows(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'VIEW_TABLE_USAGE'",
                &[],
            )
            .await;
        let present = matches!(&present, Ok(rows) if rows.first()
            .and_then(|r| r.first().cloned().flatten())
            .is_some_and(|n| n != "0"));
        if !present {
            tracing::debug!(source = %self.name, "no VIEW_TABLE_USAGE: views are read, not followed");
            return Vec::new();
        }
        match self.mysql_view_lineage_from_catalogue().await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(source = %self.name, error = %e, "view lineage unreadable: views are read");
                Vec::new()
            }
        }
    }

    async fn mysql_view_lineage_from_catalogue(&self) -> Result<Vec<ColumnLineage>> {
        let system = self.dialect.not_system_schema("u.VIEW_SCHEMA");
        let used = self
            .fetch_rows(
                &format!(
                    "SELECT u.VIEW_SCHEMA, u.VIEW_NAME, u.TABLE_SCHEMA, u.TABLE_NAME, \
                     CAST(COALESCE(t.TABLE_TYPE, '') AS CHAR) \
                     FROM information_schema.VIEW_TABLE_USAGE u LEFT JOIN information_schema.TABLES t \
                     ON t.TABLE_SCHEMA = u.TABLE_SCHEMA AND t.TABLE_NAME = u.TABLE_NAME WHERE {system}"
                ),
                &[],
            )
            .await?;
        let mut by_view: HashMap<TableRef, Vec<(TableRef, bool)>> = HashMap::new();
        for r in used {
            let f = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            by_view
                .entry(TableRef {
                    schema: f(0),
                    name: f(1),
                })
                .or_default()
                .push((
                    TableRef {
                        schema: f(2),
                        name: f(3),
                    },
                    f(4) == "BASE TABLE",
                ));
        }
        if by_view.is_empty() {
            return Ok(Vec::new());
        }
        let system = self.dialect.not_system_schema("TABLE_SCHEMA");
        let defs = self
            .fetch_rows(
                &format!(
                    "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE {system}"
                ),
                &[],
            )
            .await?;
        let mut out = Vec::new();
        for d in defs {
            let f = |i: usize| d.get(i).cloned().flatten().unwrap_or_default();
            let view = TableRef {
                schema: f(0),
                name: f(1),
            };
            let Some(used) = by_view.get(&view) else {
                continue;
            };
            for (column, base, base_column) in mysql_view_origins(&f(2), &view.schema, used) {
                out.push(ColumnLineage {
                    view: view.clone(),
                    column,
                    base,
                    base_column,
                });
            }
        }
        Ok(out)
    }
}

/// `(view column, base table, base column)` for each select item of a MySQL view definition that
/// is a plain column of a base table the view reads: `db.t.c`, `t.c` or `alias.c` naming one
/// table of the FROM clause, or `c` when the FROM clause has exactly one table. `used` lists the
/// tables the catalogue says the view reads, with whether each is a base table; `schema` is the
/// view's (for unqualified table names). Anything else (expressions, set operations, `WITH`,
/// derived tables, views of views, a definition that does not parse) gives no lineage.
pub(crate) fn mysql_view_origins(
    definition: &str,
    schema: &str,
    used: &[(TableRef, bool)],
) -> Vec<(String, TableRef, String)> {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
    let Ok(statements) =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, definition)
    else {
        return Vec::new();
    };
    let [Statement::Query(query)] = statements.as_slice() else {
        return Vec::new();
    };
    if query.with.is_some() {
        return Vec::new();
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Vec::new();
    };
    let base = |t: &TableRef| used.iter().any(|(u, b)| *b && u == t);
    // Names a column qualifier may use (alias, else table name) -> the table (None: not a table).
    let mut names: Vec<(String, Option<TableRef>)> = Vec::new();
    for f in &select.from {
        from_names(f, schema, &mut names);
    }
    let resolve = |qualifier: &str| -> Option<TableRef> {
        let mut hits = names.iter().filter(|(k, _)| k == qualifier);
        match (hits.next(), hits.next()) {
            (Some((_, t)), None) => t.clone(),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for item in &select.projection {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(e) => (e, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
            _ => continue,
        };
        let (table, column) = match expr {
            Expr::Identifier(c) => match names.as_slice() {
                [(_, Some(t))] => (t.clone(), c.value.clone()),
                _ => continue,
            },
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [s, t, c] => (
                    TableRef {
                        schema: s.value.clone(),
                        name: t.value.clone(),
                    },
                    c.value.clone(),
                ),
                [q, c] => match resolve(&q.value) {
                    Some(t) => (t, c.value.clone()),
                    None => continue,
                },
                _ => continue,
            },
            _ => continue,
        };
        if !base(&table) {
            continue;
        }
        out.push((alias.unwrap_or_else(|| column.clone()), table, column));
    }
    out
}

/// The names a column qualifier may use in `from` (alias, else table name) and the table each
/// stands for (`None`: a derived table or anything else that is not a table), parenthesized joins
/// (as MySQL writes them) included.
fn from_names(
    from: &sqlparser::ast::TableWithJoins,
    schema: &str,
    names: &mut Vec<(String, Option<TableRef>)>,
) {
    use sqlparser::ast::TableFactor;
    for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
                    .collect();
                let table = match parts.as_slice() {
                    [s, t] => Some(TableRef {
                        schema: s.clone(),
                        name: t.clone(),
                    }),
                    [t] => Some(TableRef {
                        schema: schema.to_string(),
                        name: t.clone(),
                    }),
                    _ => None,
                };
                let key = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .or_else(|| parts.last().cloned())
                    .unwrap_or_default();
                names.push((key, table));
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => from_names(table_with_joins, schema, names),
            other => {
                let key = match other {
                    TableFactor::Derived { alias: Some(a), .. } => a.name.value.clone(),
                    _ => String::new(),
                };
                names.push((key, None));
            }
        }
    }
}

/// `(resno, resorigtbl, resorigcol)` of each entry of the top-level query's target list with an
/// origin, from a node tree as `pg_rewrite.ev_action::text` prints it (`({QUERY ... :targetList
/// ({TARGETENTRY :expr {...} :resno 1 ... :resorigtbl 16390 :resorigcol 2 ...} ...) ...})`).
/// Only fields of the top query's own target entries count, never those of nested queries.
pub(crate) fn target_origins(tree: &str) -> Vec<(u32, u32, u32)> {
    let b = tree.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    // Brace depth of the top query's fields, and of its target entries' fields.
    let (query_depth, entry_depth) = (1, 2);
    let mut in_targets = false;
    let mut list_depth = 0usize;
    let mut paren = 0usize;
    let mut out = Vec::new();
    let mut cur: (Option<u32>, Option<u32>, Option<u32>) = (None, None, None);
    let number_after = |i: usize| -> Option<u32> {
        let rest = &tree[i..];
        let rest = rest.trim_start();
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                if in_targets && depth == entry_depth {
                    if let (Some(r), Some(t), Some(c)) = cur {
                        if t != 0 && c != 0 {
                            out.push((r, t, c));
                        }
                    }
                    cur = (None, None, None);
                }
                depth = depth.saturating_sub(1);
            }
            b'(' => paren += 1,
            b')' => {
                if in_targets && depth == query_depth && paren == list_depth {
                    return out;
                }
                paren = paren.saturating_sub(1);
            }
            b':' => {
                let key = &tree[i + 1..];
                let key = &key[..key.find([' ', '\n']).unwrap_or(key.len())];
                if depth == query_depth && key == "targetList" {
                    in_targets = true;
                    list_depth = paren + 1;
                } else if in_targets && depth == entry_depth {
                    let n = number_after(i + 1 + key.len());
                    match key {
                        "resno" => cur.0 = n,
                        "resorigtbl" => cur.1 = n,
                        "resorigcol" => cur.2 = n,
                        "resjunk" if tree[i + 1 + key.len()..].trim_start().starts_with("true") => {
                            cur.0 = None
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str, n: &str) -> TableRef {
        TableRef {
            schema: s.into(),
            name: n.into(),
        }
    }

    #[test]
    fn mysql_canonical_definitions_map_plain_columns() {
        let used = [(t("shop", "members"), true), (t("shop", "orders"), true)];
        let def = "select `shop`.`members`.`id` AS `id`,`shop`.`members`.`email` AS `contact`,\
                   concat(`shop`.`members`.`name`,'x') AS `label`,`o`.`note` AS `note`,\
                   count(0) AS `n` from (`shop`.`members` join `shop`.`orders` `o` \
                   on(`o`.`member_id` = `shop`.`members`.`id`)) group by `shop`.`members`.`id`";
        let got = mysql_view_origins(def, "shop", &used);
        assert_eq!(
            got,
            vec![
                ("id".into(), t("shop", "members"), "id".into()),
                ("contact".into(), t("shop", "members"), "email".into()),
                ("note".into(), t("shop", "orders"), "note".into()),
            ]
        );
        // One table, unqualified columns.
        let got = mysql_view_origins("select phone from members", "shop", &used);
        assert_eq!(
            got,
            vec![("phone".into(), t("shop", "members"), "phone".into())]
        );
    }

    #[test]
    fn mysql_definitions_without_lineage() {
        let used = [(t("shop", "members"), true), (t("shop", "v_base"), false)];
        for def in [
            // A view of a view: its columns are not base columns.
            "select `shop`.`v_base`.`email` AS `email` from `shop`.`v_base`",
            // Set operations, CTEs, derived tables, ambiguous and unparsable text.
            "select `shop`.`members`.`email` AS `email` from `shop`.`members` union select 'x'",
            "with x as (select 1 AS `a`) select `x`.`a` AS `a` from `x`",
            "select `d`.`email` AS `email` from (select `shop`.`members`.`email` AS `email` from `shop`.`members`) `d`",
            "select email from members join members m2",
            "this is not SQL",
            // A table the catalogue does not list.
            "select `other`.`t`.`email` AS `email` from `other`.`t`",
        ] {
            assert_eq!(mysql_view_origins(def, "shop", &used), vec![], "{def}");
        }
    }

    #[test]
    fn origins_of_the_top_target_list_only() {
        let tree = "({QUERY :commandType 1 :rtable ({RANGETBLENTRY :rtekind 1 :subquery \
            {QUERY :targetList ({TARGETENTRY :expr {VAR :varno 1} :resno 1 :resname x \
            :resorigtbl 111 :resorigcol 9 :resjunk false})}}) :jointree {FROMEXPR} \
            :targetList ({TARGETENTRY :expr {VAR :varno 1 :varattno 2} :resno 1 :resname email \
            :ressortgroupref 0 :resorigtbl 16390 :resorigcol 2 :resjunk false} \
            {TARGETENTRY :expr {FUNCEXPR :args ({VAR :varno 1})} :resno 2 :resname n \
            :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false} \
            {TARGETENTRY :expr {VAR :varno 1 :varattno 3} :resno 3 :resname \\{odd\\} \
            :ressortgroupref 0 :resorigtbl 16390 :resorigcol 3 :resjunk false}) \
            :havingQual <>})";
        assert_eq!(target_origins(tree), vec![(1, 16390, 2), (3, 16390, 3)]);
    }
}
