//! `datawarden status`: last and next run of every scheduled job.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::ConfigArg;

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print JSON instead of a table: `{"jobs": [...], "runs": [...], "nodes": [...]}` (the
    /// latest runs and the daemons of the whole cluster sharing this inventory).
    #[arg(long)]
    pub json: bool,
    /// How many of the latest runs `--json` lists.
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
}

fn when(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| {
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    })
    .unwrap_or_else(|| "-".into())
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    if args.json {
        let status =
            datawarden::daemon::status::cluster_status(&config, Utc::now(), args.runs).await?;
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let jobs = datawarden::daemon::status::job_statuses(&config, Utc::now()).await?;
    if jobs.is_empty() {
        println!(
            "no scheduled jobs: add `schedule = \"...\"` to [[sources]] or [[policies]] entries"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let tz = config.tz();
    let width = jobs.iter().map(|j| j.job.len()).max().unwrap_or(3).max(3);
    let sched = jobs
        .iter()
        .map(|j| j.schedule.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:width$}  {:sched$}  {:27}  {:11}  {:27}  {:27}  DETAILS",
        "JOB", "SCHEDULE", "LAST RUN", "OUTCOME", "LAST SUCCESS", "NEXT RUN"
    );
    for j in &jobs {
        let details = match (&j.last_error, &j.last_counts) {
            (Some(e), _) => e.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => String::new(),
        };
        println!(
            "{:width$}  {:sched$}  {:27}  {:11}  {:27}  {:27}  {details}",
            j.job,
            j.schedule,
            when(j.last_started, tz),
            j.last_outcome.as_deref().unwrap_or("never run"),
            when(j.last_success, tz),
            when(j.next_run, tz),
        );
    }
    Ok(ExitCode::SUCCESS)
}
