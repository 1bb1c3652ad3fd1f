//! Which retention policies cover a column. A column is covered when a `[[policies]]` entry names its
//! source and table (`table` may be `schema.table` or bare) and either deletes whole rows or lists
//! the column in `columns`.

use crate::config::{Action, PolicyConfig};

/// The names of the policies that cover column `column` of `schema.table` in `source`, in config order.
pub fn covered_by<'p>(
    policies: &'p [PolicyConfig],
    source: &str,
    schema: &str,
    table: &str,
    column: &str,
) -> Vec<&'p str> {
    policies
        .iter()
        .filter(|p| p.source == source)
        .filter(|p| match p.table_parts() {
            (Some(s), t) => s == schema && t == table,
            (None, t) => t == table,
        })
        .filter(|p| p.action == Action::Delete || p.columns.iter().any(|c| c == column))
        .map(|p| p.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, table: &str, action: Action, columns: &[&str]) -> PolicyConfig {
        let cols = columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = if columns.is_empty() {
            String::new()
        } else {
            format!("columns = [{cols}]")
        };
        let text = format!(
            "name = \"{name}\"\ndescription = \"d\"\nsource = \"crm\"\ntable = \"{table}\"\n\
             timestamp_column = \"t\"\nretain = \"90d\"\naction = \"{}\"\n{columns}\n",
            action.as_str()
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn delete_covers_every_column_and_transforms_cover_listed_ones() {
        let policies = vec![
            policy("closed", "main.members", Action::Delete, &[]),
            policy("inq", "inquiries", Action::Pseudonymize, &["phone"]),
        ];
        assert_eq!(
            covered_by(&policies, "crm", "main", "members", "mobile"),
            ["closed"]
        );
        assert!(covered_by(&policies, "crm", "other", "members", "mobile").is_empty());
        assert!(covered_by(&policies, "erp", "main", "members", "mobile").is_empty());
        assert_eq!(
            covered_by(&policies, "crm", "public", "inquiries", "phone"),
            ["inq"]
        );
        assert!(covered_by(&policies, "crm", "public", "inquiries", "message").is_empty());
    }
}
