//! Triggers on one table, read from the catalogue: PostgreSQL `pg_trigger` (without internal
//! triggers; on a partitioned table its partitions' triggers too, once per name, so the clones of
//! the parent's triggers are not repeated), MySQL
//! `information_schema.TRIGGERS` in the table's schema (plus `ON UPDATE CURRENT_TIMESTAMP` columns,
//! which act like a trigger), SQLite `sqlite_schema` entries of type `trigger`.

use super::super::connect::Pool;
use super::{ctx, field};
use crate::error::Result;
use crate::sources::{Bind, Source, TableRef, TriggerInfo};

/// `name, timing, events (comma-separated), body` per trigger.
fn sql(pool: &Pool, table: &TableRef) -> (&'static str, Vec<Bind>) {
    let schema_and_name = vec![
        Bind::Text(table.schema.clone()),
        Bind::Text(table.name.clone()),
    ];
    match pool {
        Pool::Postgres(_) => (
            "WITH dw_t AS (SELECT c.oid FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2), \
             dw_r AS (SELECT oid AS relid FROM dw_t \
               UNION SELECT l.relid FROM dw_t CROSS JOIN LATERAL pg_catalog.pg_partition_tree(dw_t.oid) l) \
             SELECT DISTINCT ON (t.tgname) t.tgname::text, \
             CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END, \
             concat_ws(',', CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' END, \
               CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE' END, CASE WHEN t.tgtype & 8 <> 0 THEN 'DELETE' END, \
               CASE WHEN t.tgtype & 32 <> 0 THEN 'TRUNCATE' END), \
             CASE WHEN l.lanname IN ('plpgsql', 'sql') \
               THEN p.prosrc || ' ' || encode(t.tgargs, 'escape') END \
             FROM pg_catalog.pg_trigger t \
             JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
             JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
             WHERE NOT t.tgisinternal AND t.tgrelid IN (SELECT relid FROM dw_r) \
             ORDER BY t.tgname, t.tgrelid <> (SELECT oid FROM dw_t)",
            schema_and_name,
        ),
        Pool::MySql(_) => {
            let mut binds = schema_and_name.clone();
            binds.extend(schema_and_name);
            (
                "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT \
                 FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? \
                 UNION ALL SELECT CONCAT(COLUMN_NAME, ' ON UPDATE CURRENT_TIMESTAMP'), 'column default', \
                 'UPDATE', CONCAT('SET NEW.', COLUMN_NAME) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND LOWER(EXTRA) LIKE '%on update%' \
                 ORDER BY 1",
                binds,
            )
        }
        Pool::Sqlite(..) => (
            "SELECT name, '', '', sql FROM sqlite_schema WHERE type = 'trigger' \
             AND tbl_name = ? COLLATE NOCASE ORDER BY name",
            vec![Bind::Text(table.name.clone())],
        ),
    }
}

/// Timing and events of an SQLite trigger from its `CREATE TRIGGER` text (the words before ` ON `).
fn sqlite_header(sql: &str) -> (String, Vec<String>) {
    let upper = sql.to_ascii_uppercase();
    let head_end = upper.find(" ON ").unwrap_or(upper.len());
    let words: Vec<&str> = upper[..head_end]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let timing = if words.contains(&"BEFORE") {
        "BEFORE"
    } else if words.contains(&"INSTEAD") {
        "INSTEAD OF"
    } else {
        "AFTER"
    };
    let events = ["INSERT", "UPDATE", "DELETE"]
        .into_iter()
        .filter(|e| words.contains(e))
        .map(String::from)
        .collect();
    (timing.into(), events)
}

impl Source {
    /// The triggers on `table` (user triggers only), ordered by name.
    pub async fn triggers(&self, table: &TableRef) -> Result<Vec<TriggerInfo>> {
        let (sql, binds) = sql(&self.pool, table);
        let rows = self
            .fetch_rows(sql, &binds)
            .await
            .map_err(|e| ctx(e, "trigger introspection failed"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let body = r.get(3).cloned().flatten();
                let (timing, events) = match (&self.pool, &body) {
                    (Pool::Sqlite(..), Some(b)) => sqlite_header(b),
                    _ => (
                        field(r, 1).to_ascii_uppercase(),
                        field(r, 2)
                            .split(',')
                            .map(|e| e.trim().to_ascii_uppercase())
                            .filter(|e| !e.is_empty())
                            .collect(),
                    ),
                };
                TriggerInfo {
                    name: field(r, 0),
                    timing,
                    events,
                    body,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_trigger_headers_give_timing_and_events() {
        let (t, e) = sqlite_header(
            "CREATE TRIGGER touch AFTER UPDATE OF name ON users BEGIN UPDATE users SET ts = 1; DELETE FROM x; END",
        );
        assert_eq!((t.as_str(), e), ("AFTER", vec!["UPDATE".to_string()]));
        let (t, e) =
            sqlite_header("create trigger keep before delete on users begin select 1; end");
        assert_eq!((t.as_str(), e), ("BEFORE", vec!["DELETE".to_string()]));
    }
}
