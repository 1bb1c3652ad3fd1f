//! `datawarden detect`: one JSON object per stdin line with the matches found.
//!
//! Lines are bytes (invalid UTF-8 is fine); a trailing `\n` / `\r\n` is stripped. Output, one line
//! per input line, in order:
//! `{"line": 1, "categories": ["phone"], "matches": [{"category": "phone", "detector": "phone_cn_mobile", "start": 0, "end": 11}]}`
//! with byte offsets and `categories` sorted and unique.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use datawarden::detect::{Engine, Match};

/// Arguments of `detect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory of extra detector files (TOML), added to the built-in ones.
    #[arg(long)]
    pub detectors: Option<PathBuf>,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = Engine::load(args.detectors.as_deref())?;
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match detect_lines(&engine, stdin, BufWriter::with_capacity(64 * 1024, stdout)) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        r => r
            .map(|_| ExitCode::SUCCESS)
            .context("detect: reading stdin or writing stdout"),
    }
}

/// Reads `input` line by line and writes one JSON object per line to `out`.
fn detect_lines(
    engine: &Engine,
    mut input: impl BufRead,
    mut out: impl Write,
) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(4096);
    let mut matches: Vec<Match> = Vec::with_capacity(16);
    let mut cats: Vec<&str> = Vec::with_capacity(8);
    let mut n: u64 = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        engine.find(&line, &mut matches);
        cats.clear();
        cats.extend(
            matches
                .iter()
                .map(|m| engine.detectors()[m.detector].category.as_str()),
        );
        cats.sort_unstable();
        cats.dedup();
        // Ids and categories are `[a-z][a-z0-9_]*` (checked at load): no JSON escaping needed.
        write!(out, "{{\"line\": {n}, \"categories\": [")?;
        for (i, c) in cats.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(out, "{sep}\"{c}\"")?;
        }
        out.write_all(b"], \"matches\": [")?;
        for (i, m) in matches.iter().enumerate() {
            let d = &engine.detectors()[m.detector];
            let sep = if i == 0 { "" } else { ", " };
            write!(
                out,
                "{sep}{{\"category\": \"{}\", \"detector\": \"{}\", \"start\": {}, \"end\": {}}}",
                d.category, d.id, m.start, m.end
            )?;
        }
        out.write_all(b"]}\n")?;
    }
    out.flush()
}
