//! Following foreign keys from the rows found to the rows that belong to them: a member's orders,
//! an order's lines. Only downward (rows that reference a found row); a row that a found row
//! references (the order's shop) is not the person's. Foreign keys declared on partitions are
//! followed from the partitioned table that owns them.

use std::collections::{HashMap, HashSet};

use super::find::{found_of, key_columns, rows_where_in, Found};
use crate::config::SourceConfig;
use crate::error::Result;
use crate::sources::{ForeignKey, Scope, Source, TableInfo, TableRef};

/// How many levels of referencing tables are followed below a row found directly.
pub const MAX_DEPTH: usize = 4;

/// The rows that reference `found` rows through foreign keys, transitively (up to [`MAX_DEPTH`]
/// levels), each with its `via`; rows already in `found` are not repeated.
pub async fn follow(source: &Source, cfg: &SourceConfig, found: &[Found]) -> Result<Vec<Found>> {
    let scope = Scope::from_config(cfg);
    let mut seen: HashSet<(TableRef, Vec<String>)> = found
        .iter()
        .map(|f| (f.table_ref(), f.key_values.clone()))
        .collect();
    let mut tables: HashMap<TableRef, Option<TableInfo>> = HashMap::new();
    let mut refs: HashMap<TableRef, Vec<ForeignKey>> = HashMap::new();
    let mut out: Vec<Found> = Vec::new();
    let mut frontier: Vec<Found> = found.to_vec();
    for _ in 0..MAX_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let mut by_table: HashMap<TableRef, Vec<&Found>> = HashMap::new();
        for f in &frontier {
            by_table.entry(f.table_ref()).or_default().push(f);
        }
        let mut next = Vec::new();
        let mut parents: Vec<_> = by_table.into_iter().collect();
        parents.sort_by(|a, b| a.0.cmp(&b.0));
        for (parent, rows) in parents {
            if !refs.contains_key(&parent) {
                refs.insert(parent.clone(), source.referencing(&parent).await?);
            }
            let mut done: HashSet<(TableRef, Vec<String>)> = HashSet::new();
            for fk in refs[&parent].clone() {
                // A key on a partition is followed once, from the partitioned table.
                let child = fk.ancestors.last().unwrap_or(&fk.table).clone();
                if !done.insert((child.clone(), fk.columns.clone())) || !scope.matches(&child) {
                    continue;
                }
                if !tables.contains_key(&child) {
                    let info = source.table(Some(&child.schema), &child.name).await.ok();
                    tables.insert(child.clone(), info);
                }
                let Some(info) = tables[&child].clone() else {
                    continue;
                };
                let Some(key) = key_columns(&info) else {
                    continue;
                };
                let Some(cols) = fk
                    .columns
                    .iter()
                    .map(|c| info.column(c).cloned())
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                let mut values: Vec<Vec<String>> = rows
                    .iter()
                    .filter_map(|r| {
                        fk.referenced_columns
                            .iter()
                            .map(|c| r.value(c).map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                    })
                    .collect();
                values.sort();
                values.dedup();
                if values.is_empty() {
                    continue;
                }
                let via = format!(
                    "foreign key {}.{} -> {}.{}",
                    child.name,
                    fk.columns.join(","),
                    parent.name,
                    fk.referenced_columns.join(",")
                );
                for row in rows_where_in(source, &info, &cols, &values).await? {
                    let mut f = found_of(source.name(), &info, &key, row, vec![], via.clone());
                    f.by_fk = true;
                    if seen.insert((f.table_ref(), f.key_values.clone())) {
                        next.push(f);
                    }
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    Ok(out)
}
