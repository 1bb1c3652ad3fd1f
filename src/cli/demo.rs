//! `datawarden demo`: builds a car-platform SQLite database, scans it and writes the exports.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{stop_on_ctrl_c, Progress};
use super::scan::summary_line;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo database, config, inventory and exports go.
    #[arg(long, default_value = "datawarden-demo")]
    pub dir: PathBuf,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let progress = Progress::for_stderr();
    let stop = stop_on_ctrl_c();
    let (files, summary) = datawarden::demo::run(&args.dir, &progress, &stop).await?;
    progress.finish();
    println!("{}", summary_line(&summary));
    println!();
    println!("demo database:  {}", files.database.display());
    println!("demo config:    {}", files.config.display());
    println!("inventory:      {}", files.inventory.display());
    println!("report (HTML):  {}", files.html.display());
    println!("export (CSV):   {}", files.csv.display());
    println!("export (JSON):  {}", files.json.display());
    println!();
    println!("next:");
    for line in next_steps(&files.config, super::inventory::login_name().is_some()) {
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands printed after "next:", each runnable as printed in a POSIX shell (paths quoted when
/// they need it; `tests/printed_commands.rs` runs them). `inventory review` records the login
/// name when `--by` is not given; without a login name the hint names the reviewer itself.
pub fn next_steps(config: &std::path::Path, has_login: bool) -> Vec<String> {
    let c = datawarden::shell::quote_path(config);
    vec![
        format!("datawarden inventory list --config {c}"),
        format!(
            "datawarden inventory review --config {c} --confirm cars.members.real_name name --note \"legal name\"{}",
            if has_login { "" } else { " --by demo-user" }
        ),
        format!("datawarden enforce --dry-run --config {c}"),
    ]
}
