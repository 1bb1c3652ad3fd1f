//! Scan and enforcement progress on stderr: an indicatif bar on a terminal, log lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use datawarden::progress::{BatchDone, BatchObserver, LogBatches};
use datawarden::scan::{LogProgress, ScanProgress, TableOutcome};
use datawarden::sources::TableRef;
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar per source when stderr is a terminal; log lines otherwise.
pub enum Progress {
    Bar(Mutex<Option<ProgressBar>>),
    Log(LogProgress),
    /// `--quiet`: nothing.
    Quiet,
}

impl Progress {
    /// Picks the bar when stderr is a terminal.
    pub fn for_stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bar(Mutex::new(None))
        } else {
            Progress::Log(LogProgress)
        }
    }

    /// Clears the bar (call before printing the summary).
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            if let Some(b) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
                b.finish_and_clear();
            }
        }
    }
}

impl ScanProgress for Progress {
    fn started(&self, source: &str, tables: usize) {
        match self {
            Progress::Bar(bar) => {
                let b = ProgressBar::new(tables as u64);
                let style = ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} tables {elapsed} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                b.set_style(style);
                b.set_prefix(source.to_string());
                if let Some(old) = bar.lock().unwrap_or_else(|e| e.into_inner()).replace(b) {
                    old.finish_and_clear();
                }
            }
            Progress::Log(l) => l.started(source, tables),
            Progress::Quiet => {}
        }
    }

    fn table_done(&self, source: &str, table: &TableRef, outcome: &TableOutcome) {
        match self {
            Progress::Bar(bar) => {
                if let Some(b) = bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    if let TableOutcome::Failed(e) = outcome {
                        b.println(format!("warning: {source}: table {table} failed: {e}"));
                    }
                    b.set_message(table.to_string());
                    b.inc(1);
                }
            }
            Progress::Log(l) => l.table_done(source, table, outcome),
            Progress::Quiet => {}
        }
    }
}

/// Raises `stop` on Ctrl-C so a scan ends after the tables in flight.
pub fn stop_on_ctrl_c() -> datawarden::stop::Stop {
    let stop = datawarden::stop::Stop::new();
    let s = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the tables in flight (Ctrl-C again to abort)");
            s.request();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    stop
}

/// Enforcement progress on stderr: a bar per policy on a terminal (rows done of rows eligible,
/// batches, rate, time left), log lines otherwise ([`LogBatches`]).
#[derive(Debug)]
pub enum BatchProgress {
    /// The bar of the running policy and the rows it had done when it started.
    Bar(Mutex<Option<(ProgressBar, u64)>>),
    Log(LogBatches),
}

impl BatchProgress {
    /// Picks the bar when stderr is a terminal.
    pub fn for_stderr() -> BatchProgress {
        if std::io::stderr().is_terminal() {
            BatchProgress::Bar(Mutex::new(None))
        } else {
            BatchProgress::Log(LogBatches::default())
        }
    }

    /// Clears the bar (call before printing a policy's result).
    pub fn finish(&self) {
        if let BatchProgress::Bar(bar) = self {
            if let Some((b, _)) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
                b.finish_and_clear();
            }
        }
    }
}

impl BatchObserver for BatchProgress {
    fn started(&self, task: &str, rows_done: u64, rows_total: u64) {
        match self {
            BatchProgress::Bar(bar) => {
                let b = ProgressBar::new(rows_total);
                let style = ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {human_pos}/{human_len} rows, {msg}, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                b.set_style(style);
                b.set_prefix(task.to_string());
                b.set_message("0 batches, 0 rows/s");
                b.set_position(rows_done);
                b.reset_eta();
                if let Some((old, _)) = bar
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .replace((b, rows_done))
                {
                    old.finish_and_clear();
                }
            }
            BatchProgress::Log(l) => l.started(task, rows_done, rows_total),
        }
    }

    fn batch(&self, task: &str, done: &BatchDone) {
        match self {
            BatchProgress::Bar(bar) => {
                if let Some((b, rows_at_start)) =
                    bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
                {
                    let secs = b.elapsed().as_secs_f64();
                    let rate = if secs > 0.0 {
                        done.rows_done.saturating_sub(*rows_at_start) as f64 / secs
                    } else {
                        0.0
                    };
                    b.set_message(format!(
                        "{} batch{}, {rate:.0} rows/s",
                        done.batch,
                        if done.batch == 1 { "" } else { "es" }
                    ));
                    if done.rows_done > done.rows_total {
                        b.set_length(done.rows_done);
                    }
                    b.set_position(done.rows_done);
                }
            }
            BatchProgress::Log(l) => l.batch(task, done),
        }
    }
}
