//! Runs every ```sh block of README.md as written, in order, in a temporary copy of the clone
//! (links to the repository's files, without `target/`), with `cargo run --release --` and
//! `datawarden` both meaning the binary under test. Blocks marked ```sh notest are skipped;
//! blocks marked ```sh server run when the local PostgreSQL answers (and must, with
//! DATAWARDEN_TEST_REQUIRE_DB=1).

use std::path::Path;
use std::process::Command;

/// A fenced block: its info string and its text.
struct Block {
    info: Vec<String>,
    line: usize,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, l) in readme.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = l.strip_prefix("```") {
                    open = Some(Block {
                        info: info.split_whitespace().map(String::from).collect(),
                        line: i + 1,
                        text: String::new(),
                    });
                }
            }
            Some(mut b) => {
                if l.trim_end() == "```" {
                    out.push(b);
                } else {
                    b.text.push_str(l);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    out
}

fn postgres_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        std::time::Duration::from_secs(2),
    )
    .is_ok()
}

#[test]
fn readme_command_blocks_run_as_printed() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("clone");
    std::fs::create_dir(&clone).unwrap();
    for entry in std::fs::read_dir(repo).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // Only what a fresh clone has: no build output, no files earlier runs left behind.
        if ["target", ".git", "datawarden-demo", "tour"].contains(&name.to_str().unwrap_or("")) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), clone.join(&name)).unwrap();
    }
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_datawarden"), bin.join("datawarden")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let require_db = std::env::var("DATAWARDEN_TEST_REQUIRE_DB").is_ok_and(|v| v == "1");

    let mut ran = 0;
    let mut transcript = String::new();
    for b in blocks(&readme) {
        if b.info.first().map(String::as_str) != Some("sh") {
            continue;
        }
        match b.info.get(1).map(String::as_str) {
            None => {}
            Some("notest") => continue,
            Some("server") if !postgres_up() => {
                assert!(
                    !require_db,
                    "README.md:{}: PostgreSQL is down and DATAWARDEN_TEST_REQUIRE_DB=1",
                    b.line
                );
                eprintln!(
                    "SKIPPED README.md:{}: needs PostgreSQL on 127.0.0.1:5432",
                    b.line
                );
                continue;
            }
            Some("server") => {}
            Some(other) => panic!(
                "README.md:{}: unknown marker `sh {other}` (use `sh`, `sh notest` or `sh server`)",
                b.line
            ),
        }
        let script = b.text.replace("cargo run --release --", "datawarden");
        let o = Command::new("sh")
            .arg("-e")
            .arg("-c")
            .arg(&script)
            .current_dir(&clone)
            .env("PATH", &path)
            .env("RUST_LOG", "warn")
            .env_remove("DATAWARDEN_CONFIG")
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.status.success(),
            "README.md:{}: the block failed ({:?}):\n{}\n--- output:\n{out}",
            b.line,
            o.status.code(),
            b.text
        );
        transcript.push_str(&out);
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} blocks ran");
    // What the tour says the user should see.
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = squeeze(&transcript);
    for expected in [
        "tour/datawarden.toml: OK",
        "shop: scan #1 ok",
        "4 tables (0 failed), 39 columns, 11 personal",
        "shop main.members mobile TEXT phone 100.0% 1433/1433 whole value",
        "shop main.orders remarks TEXT phone 35.0% 219/626 free text",
        "closed-accounts: nullify shop.members after 90d on closed_at",
        "policy closed-accounts (dry run: nothing changed)",
        "rows that qualify: 177",
        "rows that would be affected: 177",
        "preflight: ok (the run would proceed)",
        "closed-accounts nullify shop.members completed 177 1 177",
        "audit trail intact: 3 records",
    ] {
        assert!(
            t.contains(expected),
            "README promises `{expected}`; the commands printed:\n{transcript}"
        );
    }
    assert!(clone.join("tour/report.html").is_file());
    assert!(clone.join("datawarden-demo/inventory.html").is_file());
}
