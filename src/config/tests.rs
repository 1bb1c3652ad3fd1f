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

fn policy_config(policy: &str) -> String {
    format!(
        "[[sources]]\nname = \"crm\"\nurl = \"sqlite://a.db\"\n\n[[policies]]\nname = \"p\"\n\
         description = \"d\"\nsource = \"crm\"\ntable = \"t\"\naction = \"delete\"\n{policy}"
    )
}

#[test]
fn zero_retention_and_policies_without_a_clock() {
    let c = parse(&policy_config(
        "timestamp_column = \"ts\"\nretain = \"0d\"\n",
    ))
    .unwrap();
    assert!(c.policies[0].retain().is_zero());
    assert_eq!(c.policies[0].clock_column(), Some("ts"));
    // No timestamp_column: only with retain = "0d".
    let c = parse(&policy_config("retain = \"0d\"\n")).unwrap();
    assert_eq!(c.policies[0].clock_column(), None);
    let msg = parse(&policy_config("retain = \"90d\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("policies[0].timestamp_column: policy `p` keeps rows for 90d but names no timestamp_column")
            && msg.contains("retain = \"0d\""),
        "{msg}"
    );
    let msg = parse(&policy_config(
        "retain = \"0d\"\ntimestamp_format = \"unix_seconds\"\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(msg.contains("policies[0].timestamp_format:"), "{msg}");
}

#[test]
fn literal_keys_are_refused_without_showing_them() {
    let text = "[keys]\nencryption = \"plaintextsecret\"\n";
    let msg = parse(text).unwrap_err().to_string();
    assert!(
        msg.starts_with(
            "/etc/dw/test.toml:2: keys.encryption: a key is never written into the config"
        ),
        "{msg}"
    );
    assert!(!msg.contains("plaintextsecret"), "{msg}");
    let msg = parse("[keys]\ndecryption = [\"file:/k\", \"oldsecret\"]\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("keys.decryption[1]"), "{msg}");
    assert!(!msg.contains("oldsecret"), "{msg}");
    assert!(parse("[keys]\nencryption = \"file:/k\"\npseudonym = \"env:K\"\n").is_ok());
}

#[test]
fn secret_references_expand_variables() {
    std::env::set_var("DW_TEST_KEYDIR", "/run/keys");
    let c = parse(
        "[keys]\nencryption = \"file:${DW_TEST_KEYDIR}/aes.key\"\n\n[[sources]]\nname = \"a\"\n\
         url = \"postgres://u@h/x\"\npassword = \"file:${DW_TEST_KEYDIR}/pg\"\n",
    )
    .unwrap();
    assert_eq!(
        c.keys.encryption.as_ref().unwrap().to_string(),
        "file:/run/keys/aes.key"
    );
    assert_eq!(
        c.sources[0].password.as_ref().unwrap().to_string(),
        "file:/run/keys/pg"
    );
    let msg = parse("[keys]\npseudonym = \"file:${DW_TEST_KEYDIR_UNSET}/k\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":2: keys.pseudonym: environment variable `DW_TEST_KEYDIR_UNSET` is not set"),
        "{msg}"
    );
}

#[test]
fn inventory_url_is_sqlite_or_postgres_and_never_shown_with_its_password() {
    let c = parse("[inventory]\nurl = \"postgres://dw:hunter2@db.example/inventory\"\n").unwrap();
    assert_eq!(
        c.inventory.url,
        "postgres://dw:hunter2@db.example/inventory"
    );
    let shown = format!("{:?}", c.inventory);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("postgres://dw:***@db.example/inventory"),
        "{shown}"
    );
    let msg = parse("\n[inventory]\nurl = \"mysql://dw:hunter2@db.example/inventory\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("/etc/dw/test.toml:3: inventory.url:"),
        "{msg}"
    );
    assert!(msg.contains("SQLite or PostgreSQL"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn cluster_settings_are_checked_with_their_line() {
    let c = parse("[daemon]\nnode = \"dw-a\"\nlease = \"5s\"\nmax_concurrent_jobs = 2\n").unwrap();
    assert_eq!(c.daemon.node.as_deref(), Some("dw-a"));
    assert_eq!(c.daemon.lease(), std::time::Duration::from_secs(5));
    assert_eq!(c.daemon.max_concurrent_jobs, Some(2));
    assert_eq!(
        parse("").unwrap().daemon.lease(),
        std::time::Duration::from_secs(30)
    );
    assert_eq!(parse("").unwrap().daemon.max_running_jobs, 4);
    assert_eq!(parse("").unwrap().daemon.history_days, 90);
    assert_eq!(
        parse("[daemon]\nmax_running_jobs = 1\n")
            .unwrap()
            .daemon
            .max_running_jobs,
        1
    );
    for (text, want) in [
        ("[daemon]\nlease = \"soon\"\n", ":2: daemon.lease:"),
        (
            "[daemon]\nlease = \"200ms\"\n",
            ":2: daemon.lease: the lease must be at least 1s",
        ),
        (
            "[daemon]\nmax_concurrent_jobs = 0\n",
            ":2: daemon.max_concurrent_jobs: must be at least 1",
        ),
        (
            "[daemon]\nnode = \" \"\n",
            ":2: daemon.node: must not be empty",
        ),
        (
            "[daemon]\nlease = \"5s\"\nmax_running_jobs = 0\n",
            ":3: daemon.max_running_jobs: must be at least 1",
        ),
        ("[daemon]\nmax_running_jobs = -1\n", "max_running_jobs"),
        (
            "[daemon]\nhistory_days = 0\n",
            ":2: daemon.history_days: must be between 1 and 36500 days",
        ),
    ] {
        let msg = parse(text).unwrap_err().to_string();
        assert!(msg.contains(want), "{text}: {msg}");
    }
}

#[test]
fn detect_threads_default_to_the_cores_and_must_be_positive() {
    assert!(parse("").unwrap().scan.detect_threads >= 1);
    assert_eq!(
        parse("[scan]\ndetect_threads = 1\n")
            .unwrap()
            .scan
            .detect_threads,
        1
    );
    let msg = parse("[scan]\nsample_size = 10\ndetect_threads = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":3: scan.detect_threads: must be at least 1"),
        "{msg}"
    );
}

#[test]
fn subject_requests_errors_name_file_line_and_key() {
    let base = "[[sources]]\nname = \"shop\"\nurl = \"sqlite://a.db\"\n";
    let c = parse(&format!(
        "{base}[subject_requests]\nrespond_within = \"1m\"\n[[subject_requests.keep]]\nsource = \"shop\"\ntable = \"orders\"\naction = \"mask\"\n"
    ))
    .unwrap();
    assert!(c.subject_requests.kept("shop", "main", "orders").is_some());
    assert!(c.subject_requests.kept("shop", "main", "members").is_none());
    assert_eq!(parse(base).unwrap().subject_requests.respond_within, "15d");
    for (text, at) in [
        (
            "[subject_requests]\nrespond_within = \"soon\"\n",
            ":5: subject_requests.respond_within:",
        ),
        (
            "[subject_requests]\nrespond_within = \"0d\"\n",
            ":5: subject_requests.respond_within:",
        ),
        (
            "[[subject_requests.keep]]\nsource = \"nope\"\ntable = \"orders\"\naction = \"mask\"\n",
            ":5: subject_requests.keep[0].source:",
        ),
        (
            "[[subject_requests.keep]]\nsource = \"shop\"\ntable = \"orders\"\naction = \"delete\"\n",
            ":7: subject_requests.keep[0].action:",
        ),
        (
            "[[subject_requests.keep]]\nsource = \"shop\"\ntable = \"orders\"\naction = \"pseudonymize\"\n",
            ":7: subject_requests.keep[0].action:",
        ),
        (
            "[subject_requests]\nbogus = 1\n",
            ":5: bogus:",
        ),
    ] {
        let msg = parse(&format!("{base}{text}")).unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("/etc/dw/test.toml{at}")),
            "{text}: {msg}"
        );
    }
}
