//! `datawarden audit verify|export`: checks the hash chain of the retention audit trail, exports it.

use std::path::PathBuf;
use std::process::ExitCode;

use datawarden::retention::{audit, store};

use super::ConfigArg;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// Audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 naming the first modified record or the one after a deletion.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Write every audit record as CSV or JSON.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// csv or json.
        #[arg(long, value_enum)]
        format: Format,
        /// Output file (default stdout).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify { config } => {
            let config = config.load()?;
            let pool = store::open(&config.inventory.url).await?;
            match audit::verify(&pool).await? {
                audit::Verification::Intact { records, head } => {
                    println!("audit trail intact: {records} records, head {head}");
                    Ok(ExitCode::SUCCESS)
                }
                audit::Verification::Broken { seq, reason } => {
                    println!("audit trail BROKEN at record {seq}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Export {
            config,
            format,
            output,
        } => {
            let config = config.load()?;
            let pool = store::open(&config.inventory.url).await?;
            let recs = audit::records(&pool).await?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(p) => Box::new(
                    std::fs::File::create(p)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            match format {
                Format::Csv => audit::write_csv(&recs, &mut out)?,
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &recs)?;
                    writeln!(out)?;
                }
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
