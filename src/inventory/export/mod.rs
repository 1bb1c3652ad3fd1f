//! Exports of the inventory: CSV (one row per column and category), JSON (one object per column) and
//! a self-contained HTML report. All three read the same [`Report`].

pub mod csv;
pub mod html;
pub mod json;

use std::io::Write;

use chrono::{DateTime, Utc};

use super::coverage::{coverage, last_runs, Coverage, CoverageState};
use super::drift::{drift_all, Drift};
use super::model::{ColumnRecord, ScanRecord};
use crate::classify::ColumnStatus;
use crate::config::PolicyConfig;
use crate::error::{Error, Result};
use crate::store::{ColumnFilter, Store};

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Html,
}

impl Format {
    /// The usual file extension.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// One exported column: the record and the policies covering it.
#[derive(Debug, Clone)]
pub struct ReportColumn {
    pub record: ColumnRecord,
    /// The retention policies that cover the column, with their states (config order).
    pub covered_by: Vec<Coverage>,
}

impl ReportColumn {
    /// True when a covering policy is enforced (its last run completed).
    pub fn is_enforced(&self) -> bool {
        self.covered_by
            .iter()
            .any(|c| c.state == CoverageState::Enforced)
    }
}

/// Everything an export shows, read once from the store.
#[derive(Debug, Clone)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    /// Present columns that hold or held evidence, or whose sample was empty (unknown), sorted.
    pub columns: Vec<ReportColumn>,
    /// Drift per source since its previous completed scan.
    pub drift: Vec<Drift>,
    /// The latest scan of each source.
    pub scans: Vec<ScanRecord>,
    /// The categories of the built-in detectors, which every scan checks (a `detectors_dir`
    /// may add more): what "no detector matched" was checked against.
    pub categories_checked: Vec<String>,
}

/// The distinct categories of the built-in detector files, in file order.
fn builtin_categories() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, spec) in crate::detect::spec::load_all(None).unwrap_or_default() {
        if !out.contains(&spec.category) {
            out.push(spec.category);
        }
    }
    out
}

impl Report {
    /// Reads the inventory (all sources or one) and computes coverage against `policies` and the
    /// audit trail (the last run of each policy).
    pub async fn load(
        store: &Store,
        policies: &[PolicyConfig],
        source: Option<&str>,
    ) -> Result<Report> {
        let filter = ColumnFilter {
            source: source.map(str::to_string),
            all: true,
        };
        let runs = last_runs(store).await?;
        let columns = store
            .columns(&filter)
            .await?
            .into_iter()
            .filter(|c| c.dropped_at.is_none())
            .filter(|c| !c.categories.is_empty() || c.scan_status == ColumnStatus::Unknown)
            .map(|record| {
                let k = &record.key;
                let covered_by =
                    coverage(policies, &runs, &k.source, &k.schema, &k.table, &k.column);
                ReportColumn { record, covered_by }
            })
            .collect();
        let sources = match source {
            Some(s) => vec![s.to_string()],
            None => store.sources().await?,
        };
        let mut scans = Vec::new();
        for s in &sources {
            scans.extend(store.scans(Some(s), 1).await?);
        }
        Ok(Report {
            generated_at: Utc::now(),
            columns,
            drift: drift_all(store, source).await?,
            scans,
            categories_checked: builtin_categories(),
        })
    }

    /// Personal columns (holding a confirmed or suggested category).
    pub fn personal(&self) -> impl Iterator<Item = &ReportColumn> {
        self.columns.iter().filter(|c| c.record.is_personal())
    }

    /// Personal columns that no enforced retention policy covers: no policy covers them, or every
    /// policy that does is failing or has never run.
    pub fn uncovered(&self) -> impl Iterator<Item = &ReportColumn> {
        self.personal().filter(|c| !c.is_enforced())
    }

    /// Writes the report in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> Result<()> {
        match format {
            Format::Csv => csv::write(self, out),
            Format::Json => json::write(self, out),
            Format::Html => html::write(self, out),
        }
    }
}

pub(crate) fn io_err(e: std::io::Error) -> Error {
    Error::Other(format!("writing the export: {e}"))
}

/// A share as a percentage with one decimal, e.g. `97.5%`.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
