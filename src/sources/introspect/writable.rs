//! What limits the values a column accepts beyond its type: generated columns (never writable)
//! and CHECK constraints (PostgreSQL `pg_constraint`, MySQL/MariaDB
//! `information_schema.CHECK_CONSTRAINTS`, where MariaDB's JSON columns carry `json_valid`).
//! SQLite keeps CHECK constraints only in its `CREATE TABLE` text, so only its generated columns
//! are read. The retention preflight uses these to refuse a transform the database would reject.

use super::field;
use crate::error::Result;
use crate::sources::connect::Pool;
use crate::sources::{Bind, Source, TableRef};

/// A CHECK constraint that involves a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// Constraint name.
    pub name: String,
    /// The condition as the catalogue prints it.
    pub clause: String,
}

/// Generated columns and CHECK constraints of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteLimits {
    /// Columns the database computes (`GENERATED ALWAYS AS ...`).
    pub generated: Vec<String>,
    /// CHECK constraints with the columns each one names.
    pub checks: Vec<(CheckConstraint, Vec<String>)>,
}

impl WriteLimits {
    /// The CHECK constraints that involve `column`.
    pub fn checks_on(&self, column: &str) -> Vec<&CheckConstraint> {
        self.checks
            .iter()
            .filter(|(_, cols)| cols.iter().any(|c| c == column))
            .map(|(c, _)| c)
            .collect()
    }
}

/// True when `clause` names `column` as an identifier (bare, or quoted with `` ` `` or `"`).
fn names_column(clause: &str, column: &str) -> bool {
    if clause.contains(&format!("`{column}`")) || clause.contains(&format!("\"{column}\"")) {
        return true;
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    clause.match_indices(column).any(|(i, _)| {
        let before = clause[..i].chars().next_back();
        let after = clause[i + column.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

impl Source {
    /// Generated columns and CHECK constraints of `table` (see [`WriteLimits`]).
    pub async fn write_limits(&self, table: &TableRef) -> Result<WriteLimits> {
        let names = vec![
            Bind::Text(table.schema.clone()),
            Bind::Text(table.name.clone()),
        ];
        let (generated_sql, checks): (&str, Vec<Vec<Option<String>>>) = match &self.pool {
            Pool::Postgres(_) => (
                "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 \
                 AND NOT a.attisdropped AND a.attgenerated <> ''",
                self.fetch_rows(
                    "SELECT con.conname::text, pg_catalog.pg_get_constraintdef(con.oid), \
                     a.attname::text FROM pg_catalog.pg_constraint con \
                     JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     CROSS JOIN LATERAL unnest(con.conkey) AS k(attnum) \
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                     WHERE con.contype = 'c' AND n.nspname = $1 AND c.relname = $2 \
                     ORDER BY 1",
                    &names,
                )
                .await?,
            ),
            Pool::MySql(_) => {
                // MariaDB names CHECK constraints per table (CHECK_CONSTRAINTS has TABLE_NAME);
                // MySQL 8 per schema, with the table in TABLE_CONSTRAINTS.
                let mariadb = self
                    .fetch_rows(
                        "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                         WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY 1",
                        &names,
                    )
                    .await;
                let rows = match mariadb {
                    Ok(rows) => rows,
                    Err(_) => {
                        self.fetch_rows(
                            "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE \
                             FROM information_schema.CHECK_CONSTRAINTS cc \
                             JOIN information_schema.TABLE_CONSTRAINTS tc \
                             ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA \
                             AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' \
                             WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? ORDER BY 1",
                            &names,
                        )
                        .await?
                    }
                };
                (
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND (EXTRA LIKE '%VIRTUAL GENERATED%' OR EXTRA LIKE '%STORED GENERATED%')",
                    rows,
                )
            }
            Pool::Sqlite(..) => (
                "SELECT name FROM pragma_table_xinfo(?2) WHERE hidden IN (2, 3) AND ?1 IS NOT NULL",
                vec![],
            ),
        };
        let generated = self
            .fetch_rows(generated_sql, &names)
            .await?
            .iter()
            .map(|r| field(r, 0))
            .collect();
        let columns: Vec<String> = self
            .table(Some(&table.schema), &table.name)
            .await?
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        let mut out: Vec<(CheckConstraint, Vec<String>)> = Vec::new();
        for r in &checks {
            let c = CheckConstraint {
                name: field(r, 0),
                clause: field(r, 1),
            };
            // PostgreSQL lists the constraint's columns; elsewhere they are read off the clause.
            let named: Vec<String> = match r.get(2).cloned().flatten() {
                Some(col) => vec![col],
                None => columns
                    .iter()
                    .filter(|col| names_column(&c.clause, col))
                    .cloned()
                    .collect(),
            };
            match out.iter_mut().find(|(x, _)| *x == c) {
                Some((_, cols)) => cols.extend(named),
                None => out.push((c, named)),
            }
        }
        Ok(WriteLimits {
            generated,
            checks: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_name_columns_as_whole_identifiers() {
        assert!(names_column("json_valid(`doc`)", "doc"));
        assert!(names_column("(length((phone)::text) > 3)", "phone"));
        assert!(names_column("\"Mobile No\" <> ''", "Mobile No"));
        assert!(!names_column("`phone_type` > 0", "phone"));
        assert!(!names_column("xphone > 0", "phone"));
    }
}
