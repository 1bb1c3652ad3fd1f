//! `datawarden check-config` run as a binary: good configs pass, bad ones name file, line and key.

use assert_cmd::Command;

fn check(text: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dw.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::cargo_bin("datawarden")
        .unwrap()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "FILE");
    (out.status.success(), stdout, stderr)
}

#[test]
fn a_valid_config_prints_a_summary() {
    let (ok, stdout, stderr) = check(
        "[[sources]]\nname = \"crm\"\nurl = \"postgres://scanner:s3cret@127.0.0.1:5432/crm\"\n",
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("crm"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "password leaked: {stdout}");
}

#[test]
fn an_unknown_key_is_rejected_with_file_line_and_key() {
    let (ok, _, stderr) =
        check("[inventory]\nurl = \"sqlite://x.db\"\n\n[scan]\nsample_sise = 10\n");
    assert!(!ok);
    assert!(
        stderr.contains("FILE:5: sample_sise: unknown field `sample_sise`"),
        "{stderr}"
    );
}

#[test]
fn a_bad_value_names_its_key_path() {
    let (ok, _, stderr) = check(
        "[[sources]]\nname = \"crm\"\nurl = \"sqlite://crm.db\"\n\n[[policies]]\nname = \"p\"\ndescription = \"promise\"\nsource = \"crm\"\ntable = \"members\"\ntimestamp_column = \"closed_at\"\nretain = \"90d\"\naction = \"encrypt\"\ncolumns = [\"mobile\"]\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("FILE:12: policies[0].action: action \"encrypt\" needs [keys] encryption"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_secret_is_named_but_not_shown() {
    let (ok, _, stderr) = check(
        "[[sources]]\nname = \"crm\"\nurl = \"postgres://scanner@127.0.0.1/crm\"\npassword = \"env:DW_CLI_TEST_UNSET\"\n",
    );
    assert!(!ok);
    assert!(stderr.contains("env:DW_CLI_TEST_UNSET"), "{stderr}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = Command::cargo_bin("datawarden")
        .unwrap()
        .args(["check-config", "--config", "/nonexistent/dw.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dw.toml"), "{err}");
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the cause is named once: {err}"
    );
}
