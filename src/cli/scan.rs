//! `datawarden scan`: scans every source of the config (or one) into the inventory.

use std::process::ExitCode;

use datawarden::detect::Engine;
use datawarden::inventory::{ScanStatus, Store};
use datawarden::scan::{scan_source, ScanSummary};

use super::progress::{stop_on_ctrl_c, Progress};
use super::ConfigArg;

/// Arguments of `scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Scan only this source (a `[[sources]]` name).
    #[arg(long)]
    pub source: Option<String>,
    /// No progress: neither the bar (on a terminal) nor the per-table log lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// One line per scanned source.
pub fn summary_line(s: &ScanSummary) -> String {
    format!(
        "{}: scan #{} {} in {:.1} s: {} tables ({} failed), {} columns, {} personal, {} unknown (no values sampled), {} rows read",
        s.source,
        s.scan_id,
        s.status.as_str(),
        s.duration.as_secs_f64(),
        s.tables,
        s.tables_failed,
        s.columns,
        s.personal_columns,
        s.unknown_columns,
        s.rows
    )
}

/// Runs the command. Exit code 1 when a source could not be scanned or a table failed.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let sources = match &args.source {
        Some(name) => vec![config.source(name)?],
        None if config.sources.is_empty() => {
            anyhow::bail!("{} has no [[sources]] to scan", config.path.display())
        }
        None => config.sources.iter().collect(),
    };
    let engine = Engine::load(config.detectors_dir.as_deref())?;
    let store = Store::open(&config.inventory.url).await?;
    let progress = if args.quiet {
        Progress::Quiet
    } else {
        Progress::for_stderr()
    };
    let stop = stop_on_ctrl_c();
    let mut ok = true;
    for source in sources {
        if stop.is_requested() {
            break;
        }
        let result = scan_source(&config, &engine, &store, source, &progress, &stop).await;
        progress.finish();
        match result {
            Ok(s) => {
                println!("{}", summary_line(&s));
                for f in &s.failures {
                    println!("  failed: {}.{}: {}", f.schema, f.table, f.error);
                }
                ok &= s.status == ScanStatus::Ok;
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    store.close().await;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
