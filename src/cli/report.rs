//! `datawarden report`: per promise, the evidence that it is kept (coverage, last run, live
//! violation count, audit chain head) as HTML, JSON or CSV.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use datawarden::report::{self, Format};

use super::ConfigArg;

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// html (self-contained page), json or csv (one row per policy).
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Output file (default stdout); written next to it first, then renamed into place.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Runs the command. Exit 0 when the report was written, whatever it says.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let report = report::build(&config).await?;
    let mut buf = Vec::new();
    report.write(args.format, &mut buf)?;
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
        Some(path) => {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &buf).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
            let kept = report.promises.iter().filter(|p| p.kept).count();
            eprintln!(
                "wrote {}: {kept} of {} promises kept",
                path.display(),
                report.promises.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
