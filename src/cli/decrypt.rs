//! `datawarden decrypt`: reads envelopes on stdin, one per line, and writes the plaintexts in order.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use datawarden::retention::crypto::Opener;
use datawarden::retention::keys::Keyring;

use super::ConfigArg;

/// Arguments of `decrypt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The source the values came from.
    #[arg(long)]
    pub source: String,
    /// The table (`table` or `schema.table`) the values came from.
    #[arg(long)]
    pub table: String,
    /// The column the values came from.
    #[arg(long)]
    pub column: String,
}

/// Runs the command. Stops at the first envelope that does not open (exit 1, naming its line).
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    config.source(&args.source)?;
    let ring = Keyring::load(&config.keys)?;
    if ring.all.is_empty() {
        anyhow::bail!(
            "no keys configured: set [keys] encryption (and older keys in [keys] decryption)"
        );
    }
    let mut opener = Opener::new(&ring, &args.table, &args.column);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        match opener.open(&line) {
            Ok(plain) => {
                out.write_all(&plain)?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                out.flush()?;
                anyhow::bail!("line {}: {e}", i + 1);
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
