//! `datawarden run`: the daemon, in the foreground (systemd `Type=notify`).

use std::process::ExitCode;

use super::ConfigArg;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Accept a `[daemon] listen` address that is not loopback (the metrics name sources and
    /// policies; prefer 127.0.0.1 behind a reverse proxy).
    #[arg(long)]
    pub allow_remote_listen: bool,
    /// The node name this daemon claims runs as (overrides `[daemon] node`; default the host
    /// name). Daemons sharing one inventory need distinct names.
    #[arg(long)]
    pub node: Option<String>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let abandoned = datawarden::daemon::run(datawarden::daemon::RunOptions {
        config_path: args.config.config,
        allow_remote_listen: args.allow_remote_listen,
        node: args.node,
    })
    .await?;
    if abandoned > 0 {
        // Do not wait for the abandoned jobs on runtime shutdown: exit now, as systemd expects.
        std::process::exit(0);
    }
    Ok(ExitCode::SUCCESS)
}
