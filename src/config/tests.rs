use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config> {
    Config::parse(text, Path::new("/etc/dw/test.toml"))
}

#[test]
fn minimal_config_parses_with_defaults() {
    let c = parse("[[sources]]\nname = \"crm\"\nurl = \"postgres://scanner@127.0.0.1:5432/crm\"\n")
        .unwrap();
    assert_eq!(c.sources[0].backend(), Backend::Postgres);
    assert_eq!(c.inventory.url, "sqlite:///etc/dw/datawarden-inventory.db");
    assert_eq!(c.scan.sample_size, 2000);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = parse("detectors_dir = \"d\"\n[inventory]\nurl = \"sqlite://x.db\"\nbogus = 1\n")
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("/etc/dw/test.toml:4: bogus:"), "{msg}");
    assert!(msg.contains("unknown field"), "{msg}");
}

#[test]
fn validation_errors_point_at_the_line() {
    let text = "[[sources]]\nname = \"crm\"\nurl = \"sqlite://a.db\"\n\n[[policies]]\nname = \"p\"\ndescription = \"d\"\nsource = \"crm\"\ntable = \"t\"\ntimestamp_column = \"ts\"\nretain = \"90 days\"\naction = \"delete\"\n";
    let msg = parse(text).unwrap_err().to_string();
    assert!(
        msg.starts_with("/etc/dw/test.toml:11: policies[0].retain:"),
        "{msg}"
    );
}

#[test]
fn bad_cron_names_the_policy_and_expression() {
    let text = "[[sources]]\nname = \"crm\"\nurl = \"sqlite://a.db\"\n[[policies]]\nname = \"closed\"\ndescription = \"d\"\nsource = \"crm\"\ntable = \"t\"\ntimestamp_column = \"ts\"\nretain = \"90d\"\naction = \"delete\"\nschedule = \"0 3 * *\"\n";
    let msg = parse(text).unwrap_err().to_string();
    assert!(
        msg.contains(":12: policies[0].schedule: policy `closed`: cron expression `0 3 * *`"),
        "{msg}"
    );
}

#[test]
fn env_vars_expand_and_missing_ones_are_named() {
    std::env::set_var("DW_TEST_HOST", "db.example");
    let c = parse("[[sources]]\nname = \"a\"\nurl = \"postgres://u@${DW_TEST_HOST}/x\"\n").unwrap();
    assert_eq!(c.sources[0].url, "postgres://u@db.example/x");
    let msg = parse("[[sources]]\nname = \"a\"\nurl = \"postgres://u@${DW_TEST_NOPE}/x\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":3: sources[0].url: environment variable `DW_TEST_NOPE` is not set"),
        "{msg}"
    );
}

#[test]
fn passwords_are_redacted() {
    let c = parse("[[sources]]\nname = \"a\"\nurl = \"postgres://u:hunter2@h/x\"\n").unwrap();
    assert!(!c.sources[0].redacted_url().contains("hunter2"));
    assert!(!format!(
        "{:?}",
        parse("[[sources]]\nname = \"a\"\nurl = \"postgres://u@h/x\"\npassword = \"hunter2\"\n")
            .unwrap()
    )
    .contains("hunter2"));
}

#[test]
fn syntax_error_has_a_line() {
    let msg = parse("a = 1\nb = [\n").unwrap_err().to_string();
    assert!(msg.starts_with("/etc/dw/test.toml:"), "{msg}");
}

#[test]
fn the_shipped_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/datawarden.example.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.sources.len(), 2);
    assert_eq!(c.policies.len(), 3);
    assert_eq!(c.tz(), chrono_tz::Asia::Shanghai);
}
