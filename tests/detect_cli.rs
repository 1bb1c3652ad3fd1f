//! `datawarden detect` run as a real binary.

use assert_cmd::Command;

fn detect(args: &[&str], input: &[u8]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("datawarden")
        .unwrap()
        .arg("detect")
        .args(args)
        .write_stdin(input.to_vec())
        .assert()
}

fn stdout_lines(a: &assert_cmd::assert::Assert) -> Vec<String> {
    String::from_utf8(a.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn exact_output_format() {
    let a = detect(&[], b"13812345678\nnothing\r\n\xff\xfe abc@qq.com\n").success();
    let lines = stdout_lines(&a);
    assert_eq!(
        lines,
        [
            r#"{"line": 1, "categories": ["phone"], "matches": [{"category": "phone", "detector": "phone_cn_mobile", "start": 0, "end": 11}]}"#,
            r#"{"line": 2, "categories": [], "matches": []}"#,
            r#"{"line": 3, "categories": ["email"], "matches": [{"category": "email", "detector": "email", "start": 3, "end": 13}]}"#,
        ]
    );
    for l in &lines {
        let _: serde_json::Value = serde_json::from_str(l).unwrap();
    }
}

#[test]
fn categories_sorted_unique_and_last_line_without_newline() {
    let a = detect(
        &[],
        "邮箱a@qq.com 手机13812345678 或 13912345678".as_bytes(),
    )
    .success();
    let lines = stdout_lines(&a);
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["categories"], serde_json::json!(["email", "phone"]));
    assert_eq!(v["matches"].as_array().unwrap().len(), 3);
    assert_eq!(v["matches"][0]["start"], 6);
}

#[test]
fn user_detectors_are_added_and_override_builtins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employee_id.toml"),
        r#"id = "employee_id"
category = "employee_id"
sensitivity = "low"
version = 1
description = "Employee number"
patterns = ['EMP-[0-9]{6}']
"#,
    )
    .unwrap();
    // Replaces the built-in email detector: only example.org addresses.
    std::fs::write(
        dir.path().join("email.toml"),
        r#"id = "email"
category = "email"
sensitivity = "moderate"
version = 2
description = "Only example.org"
patterns = ['[a-z]+@example\.org']
"#,
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let a = detect(&["--detectors", d], b"a@example.org b@qq.com\n").success();
    let v: serde_json::Value = serde_json::from_str(&stdout_lines(&a)[0]).unwrap();
    assert_eq!(v["matches"].as_array().unwrap().len(), 1);
    assert_eq!(v["matches"][0]["end"], 13);

    let a = detect(&["--detectors", d], b"badge EMP-004211 issued\n").success();
    assert_eq!(
        stdout_lines(&a),
        [
            r#"{"line": 1, "categories": ["employee_id"], "matches": [{"category": "employee_id", "detector": "employee_id", "start": 6, "end": 16}]}"#
        ]
    );
}

#[test]
fn broken_detector_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"x\"\npatterns = ['(unclosed']\nbogus = 1\n",
    )
    .unwrap();
    let a = detect(&["--detectors", dir.path().to_str().unwrap()], b"x\n").code(1);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("line 3") && err.contains("bogus"), "{err}");
    assert!(a.get_output().stdout.is_empty());
}

#[test]
fn sample_values_file_has_matches_and_negatives() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/sample-values.txt"
    ))
    .unwrap();
    let a = detect(&[], &input).success();
    let lines = stdout_lines(&a);
    assert_eq!(lines.len(), input.iter().filter(|&&b| b == b'\n').count());
    let with = lines
        .iter()
        .filter(|l| !l.contains("\"categories\": []"))
        .count();
    assert!(
        with >= 15 && with < lines.len() - 10,
        "{with} of {}",
        lines.len()
    );
}
