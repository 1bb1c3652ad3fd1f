//! Every command the program prints is run exactly as printed: the demo's `next:` lines and the
//! `datawarden ...` hints in error messages, through `sh -c` with `datawarden` on `PATH` (the
//! binary under test). Paths hold a space, so a hint that forgets to quote one fails here.

mod common;
use common::text;
use common::OutputWithin;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory holding `datawarden` (a link to the binary under test), for `PATH`.
fn bin_dir(tmp: &Path) -> PathBuf {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("datawarden");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_datawarden"), &link).unwrap();
    }
    bin
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `line` as a shell would, in `cwd`, without a login name in the environment (as in a
/// container or under cron) unless the caller adds one.
fn shell(tmp: &Path, cwd: &Path, line: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(cwd)
        .env("PATH", path_with(&bin_dir(tmp)))
        .env("RUST_LOG", "warn")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("DATAWARDEN_CONFIG")
        .output_within()
}

/// Runs `line` and asserts exit 0; returns stdout and stderr together.
fn ok(tmp: &Path, cwd: &Path, line: &str) -> String {
    let o = shell(tmp, cwd, line);
    assert!(o.status.success(), "`{line}` failed: {}", text(&o));
    text(&o)
}

/// The `datawarden ...` commands quoted in backticks in `s`.
fn hinted_commands(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("datawarden "))
        .map(String::from)
        .collect()
}

/// The demo in `<tmp>/my demo`; returns its stdout.
fn demo(tmp: &Path) -> String {
    ok(tmp, tmp, "datawarden demo --dir 'my demo'")
}

#[test]
fn every_next_line_of_the_demo_runs_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let out = demo(tmp);
    let next: Vec<&str> = out
        .lines()
        .skip_while(|l| l.trim() != "next:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert!(next.len() >= 3, "no next: lines in {out}");
    assert!(
        next.iter().any(|l| l.contains("inventory review")),
        "{next:?}"
    );
    // From another directory too: the printed paths are absolute.
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for line in &next {
        let o = ok(tmp, &elsewhere, line);
        if line.contains("inventory review") {
            // No $USER or $LOGNAME: the account name of the user id is recorded, marked as such.
            assert!(o.contains("name confirmed by login:"), "{o}");
        }
    }
}

#[test]
fn review_without_by_records_the_login_name_and_an_explicit_by_as_given() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    demo(tmp);
    let review = "datawarden inventory review --config 'my demo/datawarden-demo.toml' --confirm cars.members.mobile phone";
    let o = Command::new("sh")
        .arg("-c")
        .arg(review)
        .current_dir(tmp)
        .env("PATH", path_with(&bin_dir(tmp)))
        .env("USER", "dba-jane")
        .output_within();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("phone confirmed by login:dba-jane"),
        "{}",
        text(&o)
    );
    let o = ok(tmp, tmp, &format!("{review} --by 'Jane Doe'"));
    assert!(o.contains("phone confirmed by Jane Doe"), "{o}");
    let list = ok(
        tmp,
        tmp,
        "datawarden inventory list --config 'my demo/datawarden-demo.toml'",
    );
    assert!(list.contains("confirmed by Jane Doe"), "{list}");
    let o = shell(tmp, tmp, &format!("{review} --by ' '"));
    assert!(
        !o.status.success(),
        "an empty --by is refused: {}",
        text(&o)
    );
}

/// A fresh config for the demo database with its own, empty inventory.
fn fresh_config(tmp: &Path) -> PathBuf {
    let dir = tmp.join("my shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        tmp.join("my demo/car-platform.db"),
        dir.join("car-platform.db"),
    )
    .unwrap();
    let config = dir.join("shop.toml");
    std::fs::write(
        &config,
        "[inventory]\nurl = \"sqlite://inventory.db\"\n\n[[sources]]\nname = \"cars\"\nurl = \"sqlite://car-platform.db\"\n",
    )
    .unwrap();
    config
}

#[test]
fn the_hints_in_inventory_messages_run_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    demo(tmp);
    let config = fresh_config(tmp);
    let c = format!("'{}'", config.display());

    // Nothing scanned yet: `inventory list` says to scan.
    let out = ok(tmp, tmp, &format!("datawarden inventory list --config {c}"));
    let hints = hinted_commands(&out);
    assert_eq!(hints.len(), 1, "{out}");
    assert!(hints[0].contains("--config"), "{out}");
    ok(tmp, tmp, &hints[0]);

    // One scan: `inventory diff` says to scan again.
    let out = ok(tmp, tmp, &format!("datawarden inventory diff --config {c}"));
    let hints = hinted_commands(&out);
    assert_eq!(hints.len(), 1, "{out}");
    ok(tmp, tmp, &hints[0]);
    let out = ok(tmp, tmp, &format!("datawarden inventory diff --config {c}"));
    assert!(out.contains("scan #1 -> #2"), "{out}");

    // A column the inventory does not know: scan first, or list every column.
    let o = shell(
        tmp,
        tmp,
        &format!(
            "datawarden inventory review --config {c} --confirm cars.members.nope phone --by x"
        ),
    );
    assert!(!o.status.success());
    let hints = hinted_commands(&String::from_utf8_lossy(&o.stderr));
    assert_eq!(hints.len(), 2, "{}", text(&o));
    for h in &hints {
        ok(tmp, tmp, h);
    }
}

#[test]
fn the_missing_key_hint_makes_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    demo(tmp);
    std::fs::remove_file(tmp.join("my demo/pseudonym.key")).unwrap();
    let enforce =
        "datawarden enforce --dry-run --config 'my demo/datawarden-demo.toml' --policy inquiries";
    let o = shell(tmp, tmp, enforce);
    assert_eq!(o.status.code(), Some(3), "refused: {}", text(&o));
    let hints = hinted_commands(&String::from_utf8_lossy(&o.stderr));
    assert_eq!(hints.len(), 1, "{}", text(&o));
    assert!(hints[0].starts_with("datawarden keys generate --output "));
    ok(tmp, tmp, &hints[0]);
    ok(tmp, tmp, enforce);
}

#[tokio::test]
async fn the_daemons_brake_hint_runs_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    demo(tmp);
    // The demo's closed-accounts policy, scheduled, with a brake it trips (177 rows qualify).
    let path = tmp.join("my demo/datawarden-demo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "batch_size = 500",
        "batch_size = 500\nmax_rows = 10\nschedule = \"0 3 * * *\"",
    );
    std::fs::write(&path, text).unwrap();
    let config = std::sync::Arc::new(datawarden::config::Config::load(&path).unwrap());
    let store = datawarden::inventory::Store::open(&config.inventory.url)
        .await
        .unwrap();
    let jobs = datawarden::daemon::jobs::from_config(&config, &store).unwrap();
    let job = jobs
        .iter()
        .find(|j| j.name == "enforce:closed-accounts")
        .unwrap();
    let err = match (job.run)(datawarden::stop::Stop::new()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the brake should stop the job"),
    };
    store.close().await;
    let hints = hinted_commands(&err);
    assert_eq!(hints.len(), 1, "{err}");
    let out = ok(tmp, tmp, &hints[0]);
    assert!(
        squeezed(&out).contains("closed-accounts nullify cars.members completed 177 1 177"),
        "{out}"
    );
}

fn squeezed(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
