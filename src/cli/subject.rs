//! `datawarden subject find|export|erase|requests`: data subject requests.

use std::process::ExitCode;

use clap::Subcommand;
use datawarden::subject::{self, Identifier, Kind};

use super::ConfigArg;

/// Arguments of `subject`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SubjectCommand,
}

/// The `subject` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Find a person's rows in every source (identifiers in any spelling, free text, foreign keys).
    Find(FindArgs),
    /// Write everything found about a person (the access / portability package), mode 0600.
    Export(ExportArgs),
    /// Delete the person's rows (children first); kept tables keep rows with values transformed.
    Erase(EraseArgs),
    /// List open requests with the days left.
    Requests(RequestsArgs),
}

/// Who the request is about, and where to look.
#[derive(Debug, clap::Args)]
pub struct Who {
    #[command(flatten)]
    pub config: ConfigArg,
    /// A phone number, in any spelling (13800138000, 138-0013-8000, +86 138 0013 8000).
    #[arg(long)]
    pub phone: Vec<String>,
    /// An e-mail address (case-insensitive).
    #[arg(long)]
    pub email: Vec<String>,
    /// A resident ID number (x or X).
    #[arg(long)]
    pub id_number: Vec<String>,
    /// A vehicle identification number.
    #[arg(long)]
    pub vin: Vec<String>,
    /// A licence plate.
    #[arg(long)]
    pub plate: Vec<String>,
    /// A bank card number (plain or grouped by four).
    #[arg(long)]
    pub bank_card: Vec<String>,
    /// A passport number (E12345678).
    #[arg(long)]
    pub passport: Vec<String>,
    /// An IP address (IPv4 or IPv6).
    #[arg(long)]
    pub ip: Vec<String>,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Decrypt columns datawarden encrypted to search them (needs [keys]).
    #[arg(long)]
    pub decrypt: bool,
    /// The request this belongs to (default: a new one).
    #[arg(long)]
    pub request: Option<String>,
}

impl Who {
    fn identifiers(&self) -> anyhow::Result<Vec<Identifier>> {
        let mut out = Vec::new();
        for (kind, values) in [
            (Kind::Phone, &self.phone),
            (Kind::Email, &self.email),
            (Kind::IdNumber, &self.id_number),
            (Kind::Vin, &self.vin),
            (Kind::Plate, &self.plate),
            (Kind::BankCard, &self.bank_card),
            (Kind::Passport, &self.passport),
            (Kind::Ip, &self.ip),
        ] {
            for v in values {
                out.push(Identifier::parse(kind, v).map_err(anyhow::Error::msg)?);
            }
        }
        if out.is_empty() {
            anyhow::bail!(
                "name the person: --phone, --email, --id-number, --vin, --plate, --bank-card, \
                 --passport or --ip"
            );
        }
        Ok(out)
    }

    fn options(&self) -> subject::FindOptions {
        subject::FindOptions {
            source: self.source.clone(),
            decrypt: self.decrypt,
        }
    }

    /// What every subject command does first: loads the config, registers the request (or finds
    /// it again) and searches for the person.
    async fn search(&self) -> anyhow::Result<Search> {
        let config = self.config.load()?;
        let idents = self.identifiers()?;
        let reg = subject::register::Register::open(&config).await?;
        let request = reg.begin(&config, self.request.as_deref(), &idents).await?;
        let found = subject::find(&config, &idents, &self.options()).await?;
        Ok(Search {
            config,
            reg,
            request,
            found,
        })
    }
}

/// A registered request and what the search found.
struct Search {
    config: datawarden::config::Config,
    reg: subject::register::Register,
    request: String,
    found: subject::Findings,
}

/// Output format of `find` and `requests`.
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Text,
    Json,
}

/// Arguments of `subject find`.
#[derive(Debug, clap::Args)]
pub struct FindArgs {
    #[command(flatten)]
    pub who: Who,
    /// `text` (a table) or `json`.
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
}

/// Arguments of `subject export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub who: Who,
    /// `json`, `csv` or `html`.
    #[arg(long, value_enum)]
    pub format: subject::export::Format,
    /// The file to write (created with mode 0600; an existing file is refused).
    #[arg(long)]
    pub output: std::path::PathBuf,
}

/// Arguments of `subject erase`.
#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub who: Who,
    /// Change nothing; list every step the run would take, with its rows and statements.
    #[arg(long)]
    pub dry_run: bool,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
}

/// Arguments of `subject requests`.
#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
    /// Also closed requests.
    #[arg(long)]
    pub all: bool,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SubjectCommand::Find(a) => find(a).await,
        SubjectCommand::Export(a) => export(a).await,
        SubjectCommand::Erase(a) => erase(a).await,
        SubjectCommand::Requests(a) => requests(a).await,
    }
}

async fn find(a: FindArgs) -> anyhow::Result<ExitCode> {
    let Search {
        reg,
        request,
        found: f,
        ..
    } = a.who.search().await?;
    reg.record(
        &request,
        subject::register::Event::Found(f.matches.len() as u64),
        None,
    )
    .await?;
    match a.format {
        OutFormat::Json => {
            let mut v = serde_json::to_value(&f)?;
            v["request"] = request.clone().into();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutFormat::Text => {
            println!(
                "request {request}: {} rows found in {} tables searched ({})",
                f.matches.len(),
                f.tables_searched,
                f.identifiers
                    .iter()
                    .map(|i| i.masked.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut rows = vec![["SOURCE", "TABLE", "KEY", "COLUMNS", "VIA"]
                .map(String::from)
                .to_vec()];
            for m in &f.matches {
                rows.push(vec![
                    m.source.clone(),
                    m.table.clone(),
                    m.key
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    m.columns.join(","),
                    m.via.clone(),
                ]);
            }
            if !f.matches.is_empty() {
                super::inventory::print_table(&rows)?;
            }
            for u in &f.unsearched {
                println!(
                    "not searched: {}.{}.{}{}: {}",
                    u.source,
                    u.schema,
                    u.table,
                    u.column
                        .as_deref()
                        .map(|c| format!(".{c}"))
                        .unwrap_or_default(),
                    u.reason
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let Search {
        reg,
        request,
        found: f,
        ..
    } = a.who.search().await?;
    subject::export::write(&f, &request, a.format, &a.output)?;
    reg.record(
        &request,
        subject::register::Event::Exported(f.matches.len() as u64),
        None,
    )
    .await?;
    println!(
        "request {request}: {} rows from {} tables written to {} (mode 0600)",
        f.matches.len(),
        subject::find::by_table(&f.matches).len(),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn erase(a: EraseArgs) -> anyhow::Result<ExitCode> {
    let Search {
        config,
        reg,
        request,
        found: f,
    } = a.who.search().await?;
    reg.record(
        &request,
        subject::register::Event::Found(f.matches.len() as u64),
        None,
    )
    .await?;
    let steps = subject::erase::plan(&config, &f).await?;
    let stop = datawarden::stop::Stop::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the batch in flight (rerun the same command to resume)");
            s2.request();
        }
    });
    let report = subject::erase::run(&config, &request, steps, a.dry_run, &stop).await?;
    if !a.dry_run {
        let erased: u64 = report.steps.iter().map(|s| s.affected).sum();
        let runs: Vec<String> = report
            .steps
            .iter()
            .filter_map(|s| s.run_id.clone())
            .collect();
        reg.record(
            &request,
            subject::register::Event::Erased(erased, report.complete()),
            Some(&runs),
        )
        .await?;
    }
    match a.format {
        OutFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutFormat::Text => {
            println!(
                "request {request}: erasure{}",
                if a.dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                }
            );
            for s in &report.steps {
                let what = if s.step.columns.is_empty() {
                    s.step.action.as_str().to_string()
                } else {
                    format!(
                        "{}{} {}",
                        s.step.action.as_str(),
                        if s.step.spans {
                            " (the person's spans only)"
                        } else {
                            ""
                        },
                        s.step.columns.join(", ")
                    )
                };
                println!(
                    "  {}.{}: {what} on {} rows: {}; {} {}{}{}",
                    s.step.source,
                    s.step.table,
                    s.step.rows,
                    s.outcome,
                    s.affected,
                    if a.dry_run {
                        "would be affected"
                    } else {
                        "affected"
                    },
                    if s.held > 0 {
                        format!(", {} held by a legal hold (not touched)", s.held)
                    } else {
                        String::new()
                    },
                    if s.left > 0 {
                        format!(", {} left (held or still referenced)", s.left)
                    } else {
                        String::new()
                    },
                );
                println!("      why: {}", s.step.why);
                for st in &s.statements {
                    println!("      {st};");
                }
            }
            if !a.dry_run && !report.complete() {
                println!("  the erasure is not complete: see the steps above");
            }
        }
    }
    Ok(if report.complete() || a.dry_run {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn requests(a: RequestsArgs) -> anyhow::Result<ExitCode> {
    let config = a.config.load()?;
    let reg = subject::register::Register::open(&config).await?;
    let list = reg.list(a.all).await?;
    match a.format {
        OutFormat::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        OutFormat::Text => {
            let mut rows = vec![[
                "REQUEST",
                "RECEIVED",
                "DUE",
                "DAYS LEFT",
                "STATUS",
                "FOUND",
                "EXPORTED",
                "ERASED",
            ]
            .map(String::from)
            .to_vec()];
            for r in &list {
                rows.push(vec![
                    r.id.clone(),
                    r.received_at.clone(),
                    r.due_at.clone(),
                    r.days_left.to_string(),
                    r.status.clone(),
                    r.found.to_string(),
                    r.exported.to_string(),
                    r.erased.to_string(),
                ]);
            }
            super::inventory::print_table(&rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
