//! `datawarden keys generate`: writes a new random key file.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `keys`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// Key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Write a new random 32-byte key (base64) to a new file with mode 0600.
    Generate {
        /// The key file to create (never overwritten). Reference it as `file:PATH` in [keys].
        #[arg(long)]
        output: PathBuf,
    },
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        KeysCommand::Generate { output } => {
            let id = datawarden::retention::keys::generate_key_file(&output)?;
            eprintln!(
                "wrote key {id} to {} (mode 0600); reference it as \"file:{}\"",
                output.display(),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
