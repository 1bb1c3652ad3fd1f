//! `[subject_requests]`: data subject requests (access, erasure): the deadline the privacy policy
//! promises and the tables whose rows the business must keep (their personal values are
//! transformed instead of the rows deleted).

use serde::Deserialize;

use super::{Action, Retain};

/// `[subject_requests]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequestsConfig {
    /// How long the privacy policy gives to answer a request, e.g. `15d` (PIPL policies), `1m`
    /// (GDPR), `45d` (CCPA).
    #[serde(default = "default_respond_within")]
    pub respond_within: String,
    /// Tables whose rows an erasure keeps (invoices, accounting records).
    #[serde(default)]
    pub keep: Vec<KeepConfig>,
    /// The most rows one erasure batch transaction touches (default: adaptive, as policies).
    pub batch_size: Option<u32>,
}

fn default_respond_within() -> String {
    "15d".into()
}

impl Default for SubjectRequestsConfig {
    fn default() -> Self {
        SubjectRequestsConfig {
            respond_within: default_respond_within(),
            keep: Vec::new(),
            batch_size: None,
        }
    }
}

impl SubjectRequestsConfig {
    /// The parsed deadline (validated at load time).
    pub fn respond_within(&self) -> Retain {
        Retain::parse(&self.respond_within).expect("validated at load")
    }

    /// The keep entry of `source`'s table `schema.name` (`table` written bare or qualified).
    pub fn kept(&self, source: &str, schema: &str, name: &str) -> Option<&KeepConfig> {
        self.keep.iter().find(|k| {
            k.source == source && (k.table == name || k.table == format!("{schema}.{name}"))
        })
    }
}

/// `[[subject_requests.keep]]`: a table an erasure keeps rows of.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepConfig {
    /// The `[[sources]]` name.
    pub source: String,
    /// `table` or `schema.table`.
    pub table: String,
    /// How the person's values in kept rows are transformed: mask | nullify | pseudonymize |
    /// encrypt.
    pub action: Action,
}
