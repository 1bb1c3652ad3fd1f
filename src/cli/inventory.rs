//! `datawarden inventory list|diff|review|export`: reads and annotates the inventory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use datawarden::inventory::export::{Format, Report};
use datawarden::inventory::{drift_all, ColumnFilter, ColumnPath, Decision, Drift, Store};

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
    /// Print personal-data columns with categories, share and review status.
    List(ListArgs),
    /// Print what changed since the previous scan of each source.
    Diff(DiffArgs),
    /// Confirm or reject a category of a column; the decision survives every later scan.
    Review(ReviewArgs),
    /// Export the inventory as CSV, JSON or a self-contained HTML report.
    Export(ExportArgs),
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
    /// Who decides (default: $USER).
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
    }
}

async fn open(config: &ConfigArg) -> anyhow::Result<(datawarden::config::Config, Store)> {
    let config = config.load()?;
    let store = Store::open(&config.inventory.url).await?;
    Ok((config, store))
}

/// Left-aligned text columns, widths counted in characters.
fn print_table(rows: &[Vec<String>]) -> std::io::Result<()> {
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
    let (_, store) = open(&a.config).await?;
    let filter = ColumnFilter {
        source: a.source.clone(),
        all: a.all,
    };
    let columns = store.columns(&filter).await?;
    store.close().await;
    let mut rows = vec![[
        "SOURCE", "TABLE", "COLUMN", "TYPE", "CATEGORY", "SHARE", "MATCHED", "LAYOUT", "STATUS",
    ]
    .map(String::from)
    .to_vec()];
    for c in &columns {
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
                format!("0/{}", c.non_null),
                "-".into(),
                status,
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
                e.map_or("-".into(), |e| format!("{}/{}", e.matched, c.non_null)),
                e.map_or("-".into(), |e| {
                    datawarden::inventory::model::layout_name(e.layout).replace('_', " ")
                }),
                status,
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
            a.config.config.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&rows)?;
    Ok(ExitCode::SUCCESS)
}

fn scan_status(s: datawarden::classify::ColumnStatus) -> &'static str {
    match s {
        datawarden::classify::ColumnStatus::Unknown => "unknown (no values sampled)",
        datawarden::classify::ColumnStatus::Clean => "clean",
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
        println!("no source has two completed scans yet; run `datawarden scan` again to compare");
    }
    for d in &drifts {
        print_drift(d);
    }
    Ok(ExitCode::SUCCESS)
}

async fn review(a: ReviewArgs) -> anyhow::Result<ExitCode> {
    let by = match a
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
    {
        Some(b) if !b.trim().is_empty() => b,
        _ => anyhow::bail!("say who decides: --by NAME"),
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
        .await?;
    store.close().await;
    println!(
        "{key}: {} {} by {by}",
        a.category,
        decision.status().as_str()
    );
    Ok(ExitCode::SUCCESS)
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
