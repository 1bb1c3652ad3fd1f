//! The `datawarden` command: parses arguments, sets up logging, calls the library, maps errors to
//! exit codes (0 success, 1 failure, 2 usage). Each subcommand lives in its own `cli` module.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// True when `e` (or an error it wraps) is a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A closed stdout (`datawarden ... | head -1`) ends the command quietly with status 0, as Unix
/// tools do: `print!` panics with "failed printing to stdout: Broken pipe" (caught here by the
/// panic hook), and writes that return errors end as a broken-pipe error (caught in `main`).
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if payload.contains("failed printing to stdout") && payload.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let args = Cli::parse();
    cli::logging::init(args.log_format);
    // The daemon serves HTTP while its jobs run: a thread per core. A command runs one task
    // (a scan's tables take turns on it; detection has threads of its own), which one thread
    // drives with no hand-over between the thread that polls the sockets and the one that reads
    // them (the full-scan bench: 1.24 s on the multi-threaded runtime, 1.17 s on this one).
    let runtime = match args.command {
        Command::Run(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build();
    let runtime = match runtime {
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
            Command::Subject(a) => cli::subject::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
