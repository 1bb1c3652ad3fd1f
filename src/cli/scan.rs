//! `datawarden scan`: scans every source of the config (or one) into the inventory.

use std::process::ExitCode;

use datawarden::detect::Engine;
use datawarden::inventory::{ScanStatus, Store};
use datawarden::scan::{scan_source, ScanSummary};

use super::progress::{stop_on_ctrl_c, Progress};
use super::ConfigArg;

/// Arguments of `scan`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 complete (every table and view in scope of every source \
was read, or recorded as a view that is not populated or timed out); 3 partial (every source \
was scanned but some tables failed, or the scan was stopped: see the `failed:` lines); 1 failed \
(a source could not be scanned: unreachable, introspection failed, or the inventory failed); \
2 usage error."
)]
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

/// Exit code of a scan in which some tables failed (or that was stopped).
pub const EXIT_PARTIAL: u8 = 3;

/// Runs the command. Exit codes: 0 complete, 3 partial (tables failed or stopped), 1 failed (a
/// source could not be scanned).
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
    let (mut failed, mut partial) = (false, false);
    for source in sources {
        if stop.is_requested() {
            partial = true;
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
                partial |= s.status != ScanStatus::Ok;
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    store.close().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else if partial {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}
