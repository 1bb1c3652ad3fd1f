//! Which retention policies cover a column, and whether they are enforced. A policy covers a column
//! when it names its source and table (`table` may be `schema.table` or bare) and either deletes
//! whole rows or lists the column in `columns`. Covering is not enforcing: [`coverage`] reads the
//! audit trail's `run_finished` records, and only a policy whose last run completed is
//! [`CoverageState::Enforced`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Action, PolicyConfig};
use crate::error::Result;
use crate::store::Store;

/// Where a covering policy stands, from its last run in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageState {
    /// The policy's last run completed (every qualifying row handled).
    Enforced,
    /// The policy ran, and its last run did not complete: refused by its preflight, failed,
    /// stopped by the safety brake, or stopped before the end.
    Failing,
    /// The audit trail has no finished run of the policy as configured now (dry runs leave none).
    NotRun,
}

impl CoverageState {
    /// The snake_case name used in exports.
    pub fn as_str(&self) -> &'static str {
        match self {
            CoverageState::Enforced => "enforced",
            CoverageState::Failing => "failing",
            CoverageState::NotRun => "not_run",
        }
    }
}

/// One policy covering a column, with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Policy name.
    pub policy: String,
    /// Enforced, failing or not run.
    pub state: CoverageState,
    /// When its last run finished (`None` when it never ran as configured now).
    pub last_run: Option<DateTime<Utc>>,
}

/// The last `run_finished` record of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub source: String,
    pub table_name: String,
    pub action: String,
    pub columns: Vec<String>,
    /// `completed`, `refused`, `failed`, `braked`, `stopped`.
    pub outcome: String,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The last `run_finished` audit record of every policy, by policy name. Empty when the store has
/// no audit trail yet (nothing was ever enforced).
pub async fn last_runs(store: &Store) -> Result<HashMap<String, LastRun>> {
    store.last_policy_runs().await
}

/// The policies covering column `column` of `schema.table` in `source`, in config order, each with
/// its state: enforced when its last run completed and that run was of the policy as configured
/// now (same source, table and action, and for transforms this column among its columns); failing
/// when that run ended otherwise; not run when there is no such run.
pub fn coverage(
    policies: &[PolicyConfig],
    runs: &HashMap<String, LastRun>,
    source: &str,
    schema: &str,
    table: &str,
    column: &str,
) -> Vec<Coverage> {
    let covering = covered_by(policies, source, schema, table, column);
    policies
        .iter()
        .filter(|p| covering.contains(&p.name.as_str()))
        .map(|p| {
            let run = runs.get(&p.name).filter(|r| {
                r.source == p.source
                    && r.table_name == p.table
                    && r.action == p.action.as_str()
                    && (p.action == Action::Delete || r.columns.iter().any(|c| c == column))
            });
            let (state, last_run) = match run {
                None => (CoverageState::NotRun, None),
                Some(r) if r.outcome == "completed" => (CoverageState::Enforced, r.finished_at),
                Some(r) => (CoverageState::Failing, r.finished_at),
            };
            Coverage {
                policy: p.name.clone(),
                state,
                last_run,
            }
        })
        .collect()
}

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

    fn run(table: &str, action: &str, columns: &[&str], outcome: &str) -> LastRun {
        LastRun {
            source: "crm".into(),
            table_name: table.into(),
            action: action.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            outcome: outcome.into(),
            finished_at: Some(Utc::now()),
        }
    }

    #[test]
    fn only_a_completed_last_run_of_the_policy_as_configured_is_enforced() {
        let policies = vec![
            policy("closed", "members", Action::Delete, &[]),
            policy("enc", "members", Action::Encrypt, &["mobile", "id_no"]),
            policy("mask", "members", Action::Mask, &["mobile"]),
        ];
        let state = |runs: &HashMap<String, LastRun>, column: &str| {
            coverage(&policies, runs, "crm", "main", "members", column)
                .into_iter()
                .map(|c| (c.policy, c.state))
                .collect::<Vec<_>>()
        };
        let none = HashMap::new();
        assert_eq!(
            state(&none, "mobile"),
            [
                ("closed".to_string(), CoverageState::NotRun),
                ("enc".to_string(), CoverageState::NotRun),
                ("mask".to_string(), CoverageState::NotRun)
            ]
        );
        let runs = HashMap::from([
            (
                "closed".to_string(),
                run("members", "delete", &[], "completed"),
            ),
            (
                "enc".to_string(),
                run("members", "encrypt", &["mobile", "id_no"], "refused"),
            ),
            // Ran when it masked another column: not this one.
            (
                "mask".to_string(),
                run("members", "mask", &["phone"], "completed"),
            ),
        ]);
        assert_eq!(
            state(&runs, "mobile"),
            [
                ("closed".to_string(), CoverageState::Enforced),
                ("enc".to_string(), CoverageState::Failing),
                ("mask".to_string(), CoverageState::NotRun)
            ]
        );
        for outcome in ["failed", "braked", "stopped"] {
            let runs =
                HashMap::from([("closed".to_string(), run("members", "delete", &[], outcome))]);
            assert_eq!(state(&runs, "x")[0].1, CoverageState::Failing, "{outcome}");
        }
    }
}
