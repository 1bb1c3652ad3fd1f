//! The `datawarden` command: parses arguments, sets up logging, calls the library, maps errors to
//! exit codes (0 success, 1 failure, 2 usage). Each subcommand lives in its own `cli` module.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.command {
            Command::CheckConfig(a) => cli::check_config::run(a).await,
            Command::Detect(a) => cli::detect::run(a).await,
            Command::Enforce(a) => cli::enforce::run(a).await,
            Command::Decrypt(a) => cli::decrypt::run(a).await,
            Command::Keys(a) => cli::keys::run(a).await,
            Command::Audit(a) => cli::audit::run(a).await,
            Command::Run(a) => cli::run::run(a).await,
            Command::Status(a) => cli::status::run(a).await,
            Command::Scan(a) => cli::scan::run(a).await,
            Command::Inventory(a) => cli::inventory::run(a).await,
            Command::Demo(a) => cli::demo::run(a).await,
            Command::Report(a) => cli::report::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
