//! Command-line definitions (clap derive). One module per subcommand; each exposes `Args` and
//! `run(args) -> anyhow::Result<ExitCode>`.

pub mod audit;
pub mod check_config;
pub mod decrypt;
pub mod demo;
pub mod detect;
pub mod enforce;
pub mod inventory;
pub mod keys;
pub mod logging;
pub mod progress;
pub mod report;
pub mod run;
pub mod scan;
pub mod status;
pub mod subject;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Finds personal data in databases and enforces the retention periods of privacy policies.
#[derive(Debug, Parser)]
#[command(name = "datawarden", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr: `text` (default) or `json`. Filter with RUST_LOG (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    pub log_format: logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a config file (keys, values, schedules, secrets) and print a summary.
    CheckConfig(check_config::Args),
    /// Read values from stdin, one per line, and print the detector matches as JSON lines.
    Detect(detect::Args),
    /// Enforce retention policies once (`--dry-run` previews and changes nothing).
    Enforce(enforce::Args),
    /// Decrypt envelopes read from stdin (one per line) written by the encrypt action.
    Decrypt(decrypt::Args),
    /// Manage keys (`keys generate --output PATH`).
    Keys(keys::Args),
    /// Verify or export the retention audit trail.
    Audit(audit::Args),
    /// Run the daemon in the foreground: scans and enforcement on their cron schedules.
    Run(run::Args),
    /// Show the last and next run of every scheduled job.
    Status(status::Args),
    /// Scan sources for personal data into the inventory.
    Scan(scan::Args),
    /// List, diff, review and export the inventory.
    Inventory(inventory::Args),
    /// Per promise (policy description): coverage, last run, rows violating it now, audit head.
    Report(report::Args),
    /// Data subject requests: find, export or erase one person's data; list open requests.
    Subject(subject::Args),
    /// Build a car-platform demo database, scan it and write the inventory and its exports.
    Demo(demo::Args),
}

/// `--config FILE`, shared by the subcommands that read a config.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The config file (TOML). See config/datawarden.example.toml.
    #[arg(long, short, env = "DATAWARDEN_CONFIG")]
    pub config: PathBuf,
}

impl ConfigArg {
    /// Loads and validates the config.
    pub fn load(&self) -> anyhow::Result<datawarden::config::Config> {
        Ok(datawarden::config::Config::load(&self.config)?)
    }
}
