//! `datawarden check-config`: validates a config and prints a summary; with `--connect`, also
//! connects read-only to every source and runs every policy's dry run (the preflight the real run
//! runs), one line per policy.

use std::process::ExitCode;

use datawarden::config::Config;
use datawarden::error::Error;
use datawarden::retention::execute::dry_run_on;
use datawarden::sources::{Access, Scope, Source};

use super::ConfigArg;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also connect read-only to every source, introspect it, and run every policy's preflight as
    /// the dry run does (table, columns, clock, widths, keys, foreign keys, triggers). Exit 3 when
    /// a policy can never run, 1 when a source or a check fails.
    #[arg(long)]
    pub connect: bool,
}

/// Exit codes of `check-config --connect`, like `enforce`: 0 every policy would run (warnings
/// allowed); 3 a policy is refused by its preflight (it can never run as configured); 1 a
/// source could not be reached or a check failed (failed outranks refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok,
    Refused,
    Failed,
}

impl Status {
    fn code(self) -> ExitCode {
        match self {
            Status::Ok => ExitCode::SUCCESS,
            Status::Refused => ExitCode::from(3),
            Status::Failed => ExitCode::FAILURE,
        }
    }
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    config.check_secrets()?;
    let keys = datawarden::retention::keys::check_keys(&config.keys)?;
    let engine = datawarden::detect::Engine::load(config.detectors_dir.as_deref())?;
    println!("{}: OK", config.path.display());
    println!(
        "  inventory: {}",
        datawarden::config::redact_url(&config.inventory.url)
    );
    if let Some(f) = &config.audit.anchor_file {
        println!("  audit anchor file: {}", f.display());
    }
    println!("  detectors: {}", engine.detectors().len());
    for (entry, id) in &keys {
        println!("  {entry}: key id {id}");
    }
    println!("  sources: {}", config.sources.len());
    for s in &config.sources {
        println!("    {} ({:?}) {}", s.name, s.backend(), s.redacted_url());
    }
    println!("  policies: {}", config.policies.len());
    for p in &config.policies {
        let clock = match p.clock_column() {
            Some(c) => format!("after {} on {}", p.retain, c),
            None => "every row matching the filter (retain 0d, no timestamp_column)".into(),
        };
        println!(
            "    {}: {} {}.{} {clock}",
            p.name,
            p.action.as_str(),
            p.source,
            p.table,
        );
    }
    if !args.connect {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(connect_checks(&config).await.code())
}

/// Connects to every source (read-only), introspects it and runs the dry run of each of its
/// policies; prints one line per source and per policy; returns the worst status.
async fn connect_checks(config: &Config) -> Status {
    println!("connected checks (read-only):");
    let mut worst = Status::Ok;
    for src in &config.sources {
        let policies: Vec<_> = config
            .policies
            .iter()
            .filter(|p| p.source == src.name)
            .collect();
        let source = match Source::connect(src, &config.scan, Access::ReadOnly).await {
            Ok(s) => s,
            Err(e) => {
                println!("  source {}: error: {e}", src.name);
                for p in &policies {
                    println!(
                        "  policy {}: error: not checked, source `{}` is unreachable",
                        p.name, src.name
                    );
                }
                worst = worst.max(Status::Failed);
                continue;
            }
        };
        match source.tables(&Scope::from_config(src)).await {
            Ok(t) => println!("  source {}: ok ({} tables in scope)", src.name, t.len()),
            Err(e) => {
                println!("  source {}: error: introspection failed: {e}", src.name);
                worst = worst.max(Status::Failed);
            }
        }
        for p in policies {
            let status = match dry_run_on(config, &source, p).await {
                Ok(report) => {
                    let mut warnings = report.warnings.clone();
                    if let Some(pre) = &report.preview {
                        if let Some(b) = &pre.brake {
                            warnings.push(format!("the run would stop at its {b}"));
                        }
                        if pre.invalid_clock > 0 {
                            warnings.push(format!(
                                "{} rows have no valid clock (NULL, zero date, unparsable) and are \
                                 never acted on",
                                pre.invalid_clock
                            ));
                        }
                    }
                    if warnings.is_empty() {
                        println!("  policy {}: ok ({} rows due now)", p.name, report.eligible);
                    } else {
                        println!("  policy {}: warning: {}", p.name, warnings.join("; "));
                    }
                    Status::Ok
                }
                Err(Error::Refused { message, .. }) => {
                    println!("  policy {}: error: can never run: {message}", p.name);
                    Status::Refused
                }
                Err(e) => {
                    println!("  policy {}: error: {e}", p.name);
                    Status::Failed
                }
            };
            worst = worst.max(status);
        }
        source.close().await;
    }
    worst
}
