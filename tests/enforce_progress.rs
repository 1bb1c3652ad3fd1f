//! `enforce` reports progress per committed batch (log lines when stderr is not a terminal),
//! `--quiet` turns it off, and every run ends with a summary table per policy.

use std::path::Path;

use assert_cmd::Command;

fn datawarden() -> Command {
    let mut c = Command::cargo_bin("datawarden").unwrap();
    c.env("RUST_LOG", "info");
    c
}

/// The demo with the closed-accounts policy in batches of 20 rows (177 eligible: 9 batches).
fn demo(dir: &Path) -> std::path::PathBuf {
    let out = datawarden()
        .env("RUST_LOG", "warn")
        .args(["demo", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let config = dir.join("datawarden-demo.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("batch_size = 500"));
    std::fs::write(&config, text.replace("batch_size = 500", "batch_size = 20")).unwrap();
    config
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn enforce_logs_progress_per_batch_and_ends_with_a_summary_table() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(&tmp.path().join("demo"));
    let out = datawarden()
        .args(["enforce", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("batch committed") && l.contains("closed-accounts"))
        .collect();
    // The first and the last batch always; those in between at most one a second.
    assert!((2..=9).contains(&lines.len()), "{stderr}");
    assert!(
        lines[0].contains("batch=1 rows_done=20 rows_total=177"),
        "{stderr}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.contains("batch=9 rows_done=177 rows_total=177"),
        "{stderr}"
    );
    assert!(
        last.contains("rows_per_s=") && last.contains("eta_s=0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("batches starting policy=\"closed-accounts\" rows_done=0 rows_total=177"),
        "{stderr}"
    );

    let table = squeeze(&stdout);
    assert!(
        table.contains("POLICY ACTION TABLE OUTCOME ROWS BATCHES ELIGIBLE TIME"),
        "{stdout}"
    );
    assert!(
        table.contains("closed-accounts nullify cars.members completed 177 9 177"),
        "{stdout}"
    );
    assert!(
        table.contains("inquiries pseudonymize cars.main.inquiries completed 800"),
        "{stdout}"
    );
}

#[test]
fn quiet_turns_progress_off_and_failures_are_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let config = demo(&dir);
    // Without its key the inquiries policy is refused; closed-accounts still runs.
    std::fs::remove_file(dir.join("pseudonym.key")).unwrap();
    let out = datawarden()
        .args(["enforce", "--quiet", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(!stderr.contains("batch committed"), "{stderr}");
    assert!(!stderr.contains("batches starting"), "{stderr}");
    let table = squeeze(&stdout);
    assert!(
        table.contains("closed-accounts nullify cars.members completed 177 9 177"),
        "{stdout}"
    );
    assert!(
        table.contains("inquiries pseudonymize cars.main.inquiries refused - - -"),
        "{stdout}"
    );
}

#[test]
fn scan_quiet_drops_the_per_table_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(&tmp.path().join("demo"));
    for (quiet, lines) in [(false, 4), (true, 0)] {
        let mut c = datawarden();
        c.args(["scan", "--config"]).arg(&config);
        if quiet {
            c.arg("--quiet");
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stderr.matches("table scanned").count(), lines, "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("cars: scan #"));
    }
}
