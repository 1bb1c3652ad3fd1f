//! `datawarden check-config`: validates a config and prints a summary.

use std::process::ExitCode;

use super::ConfigArg;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    config.check_secrets()?;
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
    println!("  sources: {}", config.sources.len());
    for s in &config.sources {
        println!("    {} ({:?}) {}", s.name, s.backend(), s.redacted_url());
    }
    println!("  policies: {}", config.policies.len());
    for p in &config.policies {
        println!(
            "    {}: {} {} after {} on {}.{}",
            p.name,
            p.action.as_str(),
            p.table,
            p.retain,
            p.source,
            p.timestamp_column
        );
    }
    Ok(ExitCode::SUCCESS)
}
