//! `datawarden enforce`: runs retention policies once (or previews them with `--dry-run`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use datawarden::retention::{run_policy, Outcome, RunOptions};
use datawarden::stop::Stop;

use super::progress::BatchProgress;
use super::ConfigArg;

/// Arguments of `enforce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Run only this policy (default: every policy, in config order).
    #[arg(long)]
    pub policy: Option<String>,
    /// Change nothing; print what would happen (counts, held rows, sample keys, statements).
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: how many keys of rows that would be acted on to list (in key order).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sample_keys: u32,
    /// Run even when a policy's safety brake (max_rows / max_share) would stop it.
    #[arg(long)]
    pub override_brake: bool,
    /// No progress: neither the bar (on a terminal) nor the per-batch log lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Exit codes of `enforce` (and `enforce --dry-run`, for what the run would do), the most severe
/// over all policies: 0 every policy completed (would complete); 1 a policy failed; 3 a policy was
/// refused by its preflight; 4 a safety brake stopped a policy; 5 a policy was skipped because
/// another process is enforcing it. (2 is a usage error.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok = 0,
    Locked = 5,
    Braked = 4,
    Refused = 3,
    Failed = 1,
}

impl Status {
    /// Severity order: failed > refused > braked > locked > ok.
    fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Locked => 1,
            Status::Braked => 2,
            Status::Refused => 3,
            Status::Failed => 4,
        }
    }
    fn worst(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Runs the command; the exit code is the most severe [`Status`] of its policies.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let policies: Vec<_> = match &args.policy {
        Some(name) => vec![config.policy(name)?.clone()],
        None => config.policies.clone(),
    };
    if policies.is_empty() {
        anyhow::bail!("{} defines no [[policies]]", config.path.display());
    }
    let stop = Stop::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "stopping after the batch in flight (the checkpoint lets the next run resume)"
            );
            s2.request();
        }
    });
    let progress = (!args.quiet && !args.dry_run).then(|| Arc::new(BatchProgress::for_stderr()));
    let opts = RunOptions {
        dry_run: args.dry_run,
        override_brake: args.override_brake,
        now: None,
        sample_keys: args.sample_keys,
        progress: progress
            .clone()
            .map(|p| p as Arc<dyn datawarden::progress::BatchObserver>),
        fence: None,
    };
    let mut status = Status::Ok;
    let mut summary = vec![[
        "POLICY", "ACTION", "TABLE", "OUTCOME", "ROWS", "BATCHES", "ELIGIBLE", "TIME",
    ]
    .map(String::from)
    .to_vec()];
    for p in &policies {
        let t0 = Instant::now();
        let result = run_policy(&config, p, &opts, &stop).await;
        if let Some(progress) = &progress {
            progress.finish();
        }
        summary.push(summary_row(p, &result, t0.elapsed().as_secs_f64()));
        match result {
            Ok(r) => {
                if let Some(pv) = &r.preview {
                    println!("policy {} (dry run: nothing changed)", r.policy);
                    println!(
                        "  action: {} on {}.{}",
                        p.action.as_str(),
                        p.source,
                        p.table
                    );
                    println!("  cutoff: {}", r.cutoff);
                    println!("  rows that qualify: {}", pv.qualifying);
                    println!("  rows held: {}", pv.held);
                    println!("  rows that would be affected: {}", r.eligible);
                    println!(
                        "  rows without a valid clock: {}{}",
                        pv.invalid_clock,
                        if pv.invalid_clock > 0 {
                            " (NULL, zero date, infinite or unreadable; never acted on: check timestamp_format)"
                        } else {
                            ""
                        }
                    );
                    println!(
                        "  sample keys: {}",
                        pv.sample_keys
                            .iter()
                            .map(|k| k.join("/"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    println!("  statements per batch:");
                    for s in &pv.statements {
                        println!("    {s};");
                    }
                    if !pv.fk_effects.is_empty() {
                        println!("  foreign keys:");
                        for f in &pv.fk_effects {
                            println!("    {f}");
                        }
                    }
                    if !pv.cascaded.is_empty() {
                        println!("  rows other tables would lose or change (estimate):");
                        for (t, n) in &pv.cascaded {
                            println!("    {t}: {n}");
                        }
                    }
                    if !pv.triggers.is_empty() {
                        println!("  triggers:");
                        for t in &pv.triggers {
                            println!("    {t}");
                        }
                    }
                    for w in &r.warnings {
                        println!("  warning: {w}");
                    }
                    match &pv.brake {
                        Some(msg) => {
                            println!("  the run would STOP at its {msg}");
                            status = status.worst(Status::Braked);
                        }
                        None => println!("  preflight: ok (the run would proceed)"),
                    }
                } else if r.outcome == Outcome::Locked {
                    println!(
                        "policy {}: skipped: another process is enforcing it; this run did nothing",
                        r.policy
                    );
                    status = status.worst(Status::Locked);
                } else {
                    println!(
                        "policy {}: {:?}, {} rows in {} batches (cutoff {}{}), longest batch {} ms",
                        r.policy,
                        r.outcome,
                        r.rows_affected,
                        r.batches,
                        r.cutoff,
                        if r.resumed { ", resumed" } else { "" },
                        r.longest_batch_ms
                    );
                    if !r.cascaded.is_empty() {
                        println!(
                            "  rows removed or changed in other tables: {}",
                            r.cascaded
                                .iter()
                                .map(|(t, n)| format!("{t} {n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    for w in &r.warnings {
                        println!("  warning: {w}");
                    }
                    if matches!(r.outcome, Outcome::Braked) {
                        status = status.worst(Status::Braked);
                    }
                }
            }
            Err(e) if e.is_refusal() => {
                eprintln!("refused: {e}");
                status = status.worst(Status::Refused);
            }
            Err(e) => {
                eprintln!("error: {e}");
                status = status.worst(Status::Failed);
            }
        }
        if stop.is_requested() {
            break;
        }
    }
    println!();
    super::inventory::print_table(&summary)?;
    Ok(ExitCode::from(status as u8))
}

/// One line of the summary table that ends `enforce`.
fn summary_row(
    p: &datawarden::config::PolicyConfig,
    result: &datawarden::error::Result<datawarden::retention::RunReport>,
    secs: f64,
) -> Vec<String> {
    let mut row = vec![
        p.name.clone(),
        p.action.as_str().to_string(),
        format!("{}.{}", p.source, p.table),
    ];
    let dash = || "-".to_string();
    match result {
        Ok(r) => match &r.preview {
            Some(pv) => row.extend([
                if pv.brake.is_some() {
                    "dry run: would stop at the brake".into()
                } else {
                    "dry run: would proceed".into()
                },
                dash(),
                dash(),
                r.eligible.to_string(),
            ]),
            None => row.extend([
                format!(
                    "{:?}{}",
                    r.outcome,
                    if r.resumed { " (resumed)" } else { "" }
                )
                .to_lowercase(),
                r.rows_affected.to_string(),
                r.batches.to_string(),
                r.eligible.to_string(),
            ]),
        },
        Err(e) if e.is_refusal() => row.extend(["refused".into(), dash(), dash(), dash()]),
        Err(_) => row.extend(["failed".into(), dash(), dash(), dash()]),
    }
    row.push(format!("{secs:.1} s"));
    row
}
