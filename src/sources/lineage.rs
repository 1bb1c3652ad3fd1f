//! View lineage: which base column each view column reads, from the catalogue, so that a view
//! column inherits the base column's classification instead of the view being evaluated.
//!
//! PostgreSQL stores a view's query in `pg_rewrite.ev_action` as a node tree; each entry of the
//! top-level target list records its origin (`:resorigtbl` table oid, `:resorigcol` attribute
//! number) when it is a plain column reference, and 0 otherwise (expressions, aggregates, set
//! operations). Materialized views are not followed (they hold their own data). Other backends
//! report no lineage, and their views are read under the view timeout.

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
    /// empty elsewhere).
    pub async fn view_lineage(&self) -> Result<Vec<ColumnLineage>> {
        if !matches!(self.pool, Pool::Postgres(_)) {
            return Ok(Vec::new());
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
