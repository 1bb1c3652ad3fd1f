//! `datawarden inventory list|diff|review|export`: reads and annotates the inventory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use datawarden::inventory::export::{Format, Report};
use datawarden::inventory::{
    coverage, drift_all, last_runs, ColumnFilter, ColumnPath, Decision, Drift, Store,
};

use super::ConfigArg;

/// Arguments of `inventory`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// The `inventory` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Print personal-data columns with categories, share, review status and coverage (each
    /// covering policy as NAME:enforced|failing|not_run).
    List(ListArgs),
    /// Print what changed since the previous scan of each source.
    Diff(DiffArgs),
    /// Confirm or reject a category of a column; the decision survives every later scan.
    Review(ReviewArgs),
    /// Export the inventory as CSV, JSON or a self-contained HTML report.
    Export(ExportArgs),
    /// Copy a SQLite inventory (reviews, scan and job history, checkpoints, the audit chain with
    /// its hashes) into the configured PostgreSQL inventory, which must hold no data; then verify
    /// the copied chain.
    Migrate(MigrateArgs),
}

/// Arguments of `inventory migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The SQLite inventory to copy: sqlite://PATH.
    #[arg(long)]
    pub from: String,
}

/// Arguments of `inventory list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Every column: also clean, unknown, rejected, below-threshold and dropped ones.
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `inventory diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
}

/// Arguments of `inventory review`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["confirm", "reject"])))]
pub struct ReviewArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The column holds the category.
    #[arg(long)]
    pub confirm: bool,
    /// The column does not hold the category; later scans never suggest it again.
    #[arg(long)]
    pub reject: bool,
    /// The column: [SOURCE.][SCHEMA.]TABLE.COLUMN
    pub column: String,
    /// The category id, e.g. phone.
    pub category: String,
    /// Why (recorded with the decision).
    #[arg(long)]
    pub note: Option<String>,
    /// Who decides. Default: your login name ($USER, else $LOGNAME, else the name of your user
    /// id), recorded as `login:NAME` so that a defaulted name is told apart from one given here.
    #[arg(long)]
    pub by: Option<String>,
}

/// Arguments of `inventory export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// csv, json or html.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Sub::List(a) => list(a).await,
        Sub::Diff(a) => diff(a).await,
        Sub::Review(a) => review(a).await,
        Sub::Export(a) => export(a).await,
        Sub::Migrate(a) => migrate(a).await,
    }
}

/// `inventory migrate`: copies, prints rows per table and the chain verification; exits 1 when
/// a count differs or the copied chain does not verify with the source's head.
async fn migrate(a: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = a.config.load()?;
    let target = Store::open(&config.inventory.url).await?;
    let result = datawarden::store::copy::copy_sqlite(&a.from, &target).await;
    target.close().await;
    let report = result?;
    println!(
        "copied {} into {}",
        datawarden::config::redact_url(&a.from),
        datawarden::config::redact_url(&config.inventory.url)
    );
    let mut rows = vec![[
        "TABLE".to_string(),
        "SOURCE ROWS".to_string(),
        "COPIED ROWS".to_string(),
    ]];
    for (t, s, c) in &report.tables {
        rows.push([t.clone(), s.to_string(), c.to_string()]);
    }
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0);
    for r in &rows {
        println!("{:<w0$}  {:>w1$}  {:>11}", r[0], r[1], r[2]);
    }
    match &report.verification {
        datawarden::retention::audit::Verification::Intact { records, head } => {
            let same = report.source_head.as_deref() == Some(head.as_str())
                || (*records == 0 && report.source_head.is_none());
            println!(
                "audit chain in the target: {records} records, every hash recomputed and linked from genesis: intact; head {head} {}",
                if same { "(the source's head)" } else { "(NOT the source's head)" }
            );
        }
        datawarden::retention::audit::Verification::Broken { seq, reason } => {
            println!("audit chain in the target: BROKEN at record {seq}: {reason}");
        }
    }
    Ok(if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn open(config: &ConfigArg) -> anyhow::Result<(datawarden::config::Config, Store)> {
    let config = config.load()?;
    let store = Store::open(&config.inventory.url).await?;
    Ok((config, store))
}

/// Left-aligned text columns, widths counted in characters.
pub(crate) fn print_table(rows: &[Vec<String>]) -> std::io::Result<()> {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = std::io::stdout().lock();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < cols {
                line.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

async fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = open(&a.config).await?;
    let filter = ColumnFilter {
        source: a.source.clone(),
        all: a.all,
    };
    let columns = store.columns(&filter).await?;
    let runs = last_runs(&store).await?;
    store.close().await;
    let mut rows = vec![[
        "SOURCE", "TABLE", "COLUMN", "TYPE", "CATEGORY", "SHARE", "MATCHED", "LAYOUT", "STATUS",
        "COVERAGE",
    ]
    .map(String::from)
    .to_vec()];
    for c in &columns {
        let k = &c.key;
        let covered = coverage(
            &config.policies,
            &runs,
            &k.source,
            &k.schema,
            &k.table,
            &k.column,
        );
        let covered = if covered.is_empty() {
            "none".to_string()
        } else {
            covered
                .iter()
                .map(|p| format!("{}:{}", p.policy, p.state.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Matched of the raw values; values datawarden wrote are counted apart.
        let raw = c.non_null - c.transformed.min(c.non_null);
        let transformed = if c.transformed > 0 {
            format!(" +{} transformed", c.transformed)
        } else {
            String::new()
        };
        let place = [
            c.key.source.clone(),
            format!("{}.{}", c.key.schema, c.key.table),
            c.key.column.clone(),
            c.sql_type.clone(),
        ];
        let cats: Vec<_> = c
            .categories
            .iter()
            .filter(|k| a.all || k.status.holds())
            .collect();
        if cats.is_empty() {
            let status = if c.dropped_at.is_some() {
                "dropped"
            } else {
                scan_status(c.scan_status)
            };
            let mut status = status.to_string();
            if let Some(note) = &c.scan_note {
                status.push_str(&format!(" ({note})"));
            }
            let mut row = place.to_vec();
            row.extend([
                "-".into(),
                "-".into(),
                format!("0/{raw}{transformed}"),
                "-".into(),
                status,
                covered.clone(),
            ]);
            rows.push(row);
        }
        for k in cats {
            let e = k.evidence.as_ref();
            let mut status = k.status.as_str().to_string();
            if let Some(by) = &k.reviewed_by {
                status.push_str(&format!(" by {by}"));
            }
            if c.dropped_at.is_some() {
                status.push_str(" (dropped)");
            }
            if let Some(note) = &c.scan_note {
                status.push_str(&format!(" ({note})"));
            }
            let mut row = place.to_vec();
            row.extend([
                k.category.clone(),
                e.map_or("-".into(), |e| format!("{:.1}%", e.share * 100.0)),
                e.map_or("-".into(), |e| format!("{}/{raw}{transformed}", e.matched)),
                e.map_or("-".into(), |e| {
                    datawarden::inventory::model::layout_name(e.layout).replace('_', " ")
                }),
                status,
                covered.clone(),
            ]);
            rows.push(row);
        }
    }
    if rows.len() == 1 {
        eprintln!(
            "no {}columns in the inventory{}; run `datawarden scan --config {}` first",
            if a.all { "" } else { "personal-data " },
            a.source
                .as_deref()
                .map(|s| format!(" for source {s}"))
                .unwrap_or_default(),
            datawarden::shell::quote_path(&a.config.config)
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&rows)?;
    Ok(ExitCode::SUCCESS)
}

fn scan_status(s: datawarden::classify::ColumnStatus) -> &'static str {
    match s {
        datawarden::classify::ColumnStatus::Unknown => "unknown (no values sampled)",
        // Sampled, and no detector reached its threshold: not a claim that the column holds no
        // personal data (a category no detector covers may be there).
        datawarden::classify::ColumnStatus::Clean => "no detector matched",
        datawarden::classify::ColumnStatus::Personal => "personal",
    }
}

fn print_drift(d: &Drift) {
    println!("{}: scan #{} -> #{}", d.source, d.from_scan, d.to_scan);
    if d.is_empty() {
        println!("  no changes");
        return;
    }
    let place =
        |k: &datawarden::inventory::ColumnKey| format!("{}.{}.{}", k.schema, k.table, k.column);
    for c in &d.new_personal {
        println!(
            "  + new personal data   {}  {}",
            place(&c.key),
            c.categories.join(", ")
        );
    }
    for c in &d.stopped_matching {
        println!(
            "  - stopped matching    {}  {}",
            place(&c.key),
            c.categories.join(", ")
        );
    }
    for c in &d.partly_transformed {
        println!(
            "  ~ partly transformed  {}  {} (raw values remain; {} sampled values transformed)",
            place(&c.key),
            c.categories.join(", "),
            c.transformed
        );
    }
    for c in &d.transformed {
        println!(
            "  ~ transformed         {}  {} ({} sampled values transformed)",
            place(&c.key),
            c.categories.join(", "),
            c.transformed
        );
    }
    for t in &d.new_tables {
        println!("  + new table           {}.{}", t.schema, t.table);
    }
    for k in &d.new_columns {
        println!("  + new column          {}", place(k));
    }
    for t in &d.dropped_tables {
        println!("  - dropped table       {}.{}", t.schema, t.table);
    }
    for k in &d.dropped_columns {
        println!("  - dropped column      {}", place(k));
    }
}

async fn diff(a: DiffArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = open(&a.config).await?;
    if let Some(s) = &a.source {
        config.source(s)?;
    }
    let drifts = drift_all(&store, a.source.as_deref()).await?;
    store.close().await;
    if drifts.is_empty() {
        println!(
            "no source has two completed scans yet; run `datawarden scan --config {}` again to compare",
            datawarden::shell::quote_path(&a.config.config)
        );
    }
    for d in &drifts {
        print_drift(d);
    }
    Ok(ExitCode::SUCCESS)
}

async fn review(a: ReviewArgs) -> anyhow::Result<ExitCode> {
    let by = match a.by.clone() {
        Some(b) if !b.trim().is_empty() => b,
        Some(_) => anyhow::bail!("--by is empty: say who decides, e.g. --by \"Jane Doe\""),
        None => match login_name() {
            Some(login) => format!("login:{login}"),
            None => anyhow::bail!(
                "say who decides: add --by NAME (no login name to default to: $USER and $LOGNAME \
                 are unset and the user id has no account name)"
            ),
        },
    };
    let decision = if a.confirm {
        Decision::Confirm
    } else {
        Decision::Reject
    };
    let path = ColumnPath::parse(&a.column)?;
    let (_, store) = open(&a.config).await?;
    let key = store
        .review(&path, &a.category, decision, &by, a.note.as_deref())
        .await
        .map_err(|e| with_config(e.to_string(), &a.config.config))?;
    store.close().await;
    println!(
        "{key}: {} {} by {by}",
        a.category,
        decision.status().as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// Adds `--config PATH` to the `datawarden scan` and `datawarden inventory ...` commands that a
/// library message suggests, so that the hint runs as printed.
fn with_config(message: String, config: &std::path::Path) -> anyhow::Error {
    let c = datawarden::shell::quote_path(config);
    anyhow::anyhow!(
        "{}",
        message
            .replace(
                "`datawarden scan`",
                &format!("`datawarden scan --config {c}`")
            )
            .replace(
                "`datawarden inventory list --all`",
                &format!("`datawarden inventory list --all --config {c}`")
            )
    )
}

/// The login name of the user running this process: `$USER`, else `$LOGNAME`, else the account
/// name of the real user id (so `sudo -u`, cron and containers without `$USER` still have one).
pub fn login_name() -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    env("USER").or_else(|| env("LOGNAME")).or_else(account_name)
}

#[cfg(unix)]
fn account_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .filter(|n| !n.is_empty())
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

async fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = open(&a.config).await?;
    if let Some(s) = &a.source {
        config.source(s)?;
    }
    let report = Report::load(&store, &config.policies, a.source.as_deref()).await?;
    store.close().await;
    match &a.output {
        None => {
            // Rendered first, so that a closed stdout is an I/O error (a quiet exit, see main).
            let mut buf = Vec::new();
            report.write(a.format, &mut buf)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
        Some(path) => {
            // Write next to the target and rename, so readers never see half a file.
            let tmp = path.with_extension(format!("{}.tmp", a.format.extension()));
            let mut buf = Vec::new();
            report.write(a.format, &mut buf)?;
            std::fs::write(&tmp, &buf).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} ({} columns)",
                path.display(),
                report.columns.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
