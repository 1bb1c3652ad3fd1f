//! `datawarden audit verify|export`: checks the hash chain of the retention audit trail, exports it.

use std::path::PathBuf;
use std::process::ExitCode;

use datawarden::retention::audit;
use datawarden::store::Store;

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
    /// Recompute the hash chain; exit 1 naming the first modified record or the one after a
    /// deletion, or a published head that is no longer in the trail (its end was cut off, or the
    /// inventory was emptied or replaced).
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        /// A chain head published earlier (`SEQ:HASH`, as a run's log line prints it): the trail
        /// must still hold that record with that hash. Repeatable.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Vec<audit::Head>,
        /// An anchor file (`TIME POLICY RUN_ID SEQ:HASH` per line): every head in it must still
        /// be in the trail. Default, when no --expect-head is given: `[audit] anchor_file` of the
        /// config, if the file exists.
        #[arg(long, value_name = "PATH")]
        anchor_file: Option<PathBuf>,
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
        AuditCommand::Verify {
            config,
            expect_head,
            anchor_file,
        } => {
            let config = config.load()?;
            verify(&config, &expect_head, anchor_file).await
        }
        AuditCommand::Export {
            config,
            format,
            output,
        } => {
            let config = config.load()?;
            let store = Store::open(&config.inventory.url).await?;
            let recs = audit::records(&store).await?;
            store.close().await;
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

/// `audit verify`: the chain, then every expected head (flags, anchor file); prints what it
/// checked, one line each, and exits 1 at the first failure.
async fn verify(
    config: &datawarden::config::Config,
    expect_head: &[audit::Head],
    anchor_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.inventory.url).await?;
    let recs = audit::records(&store).await?;
    store.close().await;
    match audit::verify_records(&recs) {
        audit::Verification::Intact { records, head } => {
            let last = recs.last().map(|r| r.seq).unwrap_or(0);
            println!(
                "chain: {records} records, every hash recomputed and linked to the record before \
                 it from genesis: intact; head {}",
                if records == 0 {
                    "none (empty trail)".to_string()
                } else {
                    format!("{last}:{head}")
                }
            );
        }
        audit::Verification::Broken { seq, reason } => {
            println!("audit trail BROKEN at record {seq}: {reason}");
            return Ok(ExitCode::FAILURE);
        }
    }
    // (what, head) pairs to look for.
    let mut expected: Vec<(String, audit::Head)> = expect_head
        .iter()
        .map(|h| ("--expect-head".to_string(), h.clone()))
        .collect();
    // The config's anchor file is the default when no head is given on the command line.
    let (anchor, explicit) = match anchor_file {
        Some(p) => (Some(p), true),
        None if expect_head.is_empty() => (config.audit.anchor_file.clone(), false),
        None => (None, false),
    };
    let mut anchors_read = None;
    if let Some(path) = &anchor {
        if !explicit && !path.exists() {
            println!(
                "anchor file {}: does not exist, not checked (each enforcement run appends its \
                 head to it: if runs happened since it was configured, it was removed)",
                path.display()
            );
        } else {
            let anchors = audit::read_anchors(path)?;
            for a in &anchors {
                expected.push((
                    format!(
                        "{}:{} ({} {} {})",
                        path.display(),
                        a.line,
                        a.time,
                        a.policy,
                        a.run_id
                    ),
                    a.head.clone(),
                ));
            }
            anchors_read = Some((path.clone(), anchors.len()));
        }
    }
    let mut failed = false;
    for (what, h) in &expected {
        match audit::check_head(&recs, h) {
            audit::HeadCheck::Present { after } => {
                println!("head {h} from {what}: present ({after} records after it)");
            }
            audit::HeadCheck::Missing { last } => {
                failed = true;
                let now = match last {
                    Some(l) => format!("the trail ends at {l}"),
                    None => "the trail is empty".to_string(),
                };
                println!(
                    "head {h} from {what}: MISSING: {now}; records were cut off the end of the \
                     trail, or the inventory was emptied or replaced"
                );
            }
            audit::HeadCheck::Different { hash } => {
                failed = true;
                println!(
                    "head {h} from {what}: DIFFERENT: record {} has hash {hash}; the trail was \
                     rewritten from there on, or the inventory was replaced",
                    h.seq
                );
            }
        }
    }
    if let Some((path, n)) = anchors_read {
        println!("anchor file {}: {n} heads checked", path.display());
    }
    if failed {
        println!("audit trail INCOMPLETE: a published head is not in it");
        return Ok(ExitCode::FAILURE);
    }
    if expected.is_empty() {
        println!(
            "audit trail intact: {} records; not checked: whether records were cut off its end or \
             the inventory was emptied (give --expect-head SEQ:HASH or --anchor-file PATH, or set \
             [audit] anchor_file)",
            recs.len()
        );
    } else {
        println!(
            "audit trail intact and complete: {} records, every one of the {} published heads present",
            recs.len(),
            expected.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
