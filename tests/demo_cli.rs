//! `datawarden demo` and `datawarden inventory ...` run as the real binary.

use assert_cmd::Command;

fn datawarden() -> Command {
    let mut c = Command::cargo_bin("datawarden").unwrap();
    c.env("RUST_LOG", "warn");
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}\nstderr: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_builds_scans_and_exports_then_the_inventory_commands_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = stdout(datawarden().args(["demo", "--dir"]).arg(&dir));
    assert!(out.contains("cars: scan #1 ok"), "{out}");
    for f in [
        "car-platform.db",
        "datawarden-demo.toml",
        "inventory.db",
        "inventory.csv",
        "inventory.json",
        "inventory.html",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing; stdout: {out}");
        assert!(out.contains(f), "{f} not announced: {out}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("pseudonym.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key file is private");
    }

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("inventory.json")).unwrap()).unwrap();
    let columns = json["columns"].as_array().unwrap();
    let col = |t: &str, c: &str| columns.iter().find(|x| x["table"] == t && x["column"] == c);
    let cats = |t: &str, c: &str| -> Vec<String> {
        col(t, c)
            .map(|x| {
                x["categories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(cats("members", "mobile"), ["phone"]);
    assert_eq!(
        cats("members", "backup_phone"),
        ["phone"],
        "BIGINT phone column"
    );
    assert_eq!(cats("members", "email"), ["email"]);
    assert_eq!(cats("members", "id_card_no"), ["cn_resident_id"]);
    assert_eq!(cats("vehicles", "vin"), ["vin"]);
    assert_eq!(cats("vehicles", "plate_no"), ["cn_license_plate"]);
    assert_eq!(cats("inquiries", "phone"), ["phone"]);
    assert!(cats("orders", "remarks").contains(&"phone".to_string()));
    let remarks = col("orders", "remarks").unwrap();
    assert_eq!(remarks["evidence"][0]["layout"], "free_text");
    assert!(cats("inquiries", "message").contains(&"phone".to_string()));
    for (t, c) in [
        ("members", "phone_model"),
        ("members", "email_opt_in"),
        ("vehicles", "plate_color"),
        ("vehicles", "vin_decoded_year"),
        ("orders", "order_no"),
        ("orders", "price"),
    ] {
        assert!(
            cats(t, c).is_empty(),
            "{t}.{c} must not be personal: {:?}",
            col(t, c)
        );
    }
    assert_eq!(
        col("members", "wechat_openid").unwrap()["scan_status"],
        "unknown"
    );
    assert_eq!(
        col("members", "mobile").unwrap()["covered_by"][0]["policy"],
        "closed-accounts"
    );
    assert_eq!(
        col("inquiries", "phone").unwrap()["covered_by"][0]["policy"],
        "inquiries"
    );
    assert_eq!(
        col("inquiries", "message").unwrap()["covered_by"],
        serde_json::json!([])
    );
    for c in columns {
        for e in c["evidence"].as_array().unwrap() {
            for ex in e["examples"].as_array().unwrap() {
                assert!(
                    ex.as_str().unwrap().contains('*'),
                    "unmasked example {ex} in {}",
                    c["column"]
                );
            }
        }
    }

    let html = std::fs::read_to_string(dir.join("inventory.html")).unwrap();
    assert!(html.contains("Personal data no enforced retention policy covers"));
    assert!(html.contains("inquiries.message"));

    // Review from the command line; the decision survives a second demo run (a rescan).
    let config = dir.join("datawarden-demo.toml");
    let reviewed = stdout(
        datawarden()
            .args(["inventory", "review", "--config"])
            .arg(&config)
            .args([
                "--confirm",
                "members.real_name",
                "name",
                "--by",
                "tester",
                "--note",
                "legal name",
            ]),
    );
    assert!(
        reviewed.contains("cars.main.members.real_name: name confirmed by tester"),
        "{reviewed}"
    );
    stdout(
        datawarden()
            .args(["inventory", "review", "--config"])
            .arg(&config)
            .args([
                "--reject",
                "cars.orders.remarks",
                "cn_license_plate",
                "--by",
                "tester",
            ]),
    );
    let again = stdout(datawarden().args(["demo", "--dir"]).arg(&dir));
    assert!(again.contains("cars: scan #2 ok"), "{again}");
    let list = stdout(
        datawarden()
            .args(["inventory", "list", "--config"])
            .arg(&config),
    );
    let line = list
        .lines()
        // real_name also holds person_name (detected): the hand-added `name` line is the one.
        .find(|l| l.contains("real_name") && l.contains("confirmed"))
        .expect("confirmed column listed");
    assert!(line.contains("confirmed by tester"), "{line}");
    assert!(
        !list
            .lines()
            .any(|l| l.contains("remarks") && l.contains("cn_license_plate")),
        "{list}"
    );
    assert!(list.lines().next().unwrap().starts_with("SOURCE"));
    let all = stdout(
        datawarden()
            .args(["inventory", "list", "--all", "--config"])
            .arg(&config),
    );
    assert!(
        all.lines()
            .any(|l| l.contains("wechat_openid") && l.contains("unknown")),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.contains("cn_license_plate") && l.contains("rejected by tester")),
        "{all}"
    );

    let diff = stdout(
        datawarden()
            .args(["inventory", "diff", "--config"])
            .arg(&config),
    );
    assert!(
        diff.contains("cars: scan #1 -> #2") && diff.contains("no changes"),
        "{diff}"
    );

    let csv = stdout(
        datawarden()
            .args(["inventory", "export", "--format", "csv", "--config"])
            .arg(&config),
    );
    assert!(csv.starts_with('\u{feff}'));
    let mut rd = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert!(rows
        .iter()
        .any(|r| &r[3] == "real_name" && &r[5] == "name" && &r[6] == "confirmed"));

    let out_path = tmp.path().join("report.html");
    datawarden()
        .args(["inventory", "export", "--format", "html", "--output"])
        .arg(&out_path)
        .arg("--config")
        .arg(&config)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&out_path)
        .unwrap()
        .contains("real_name"));

    // The README's enforcement commands on the demo config: the dry run changes nothing, the
    // real run erases the personal columns of accounts closed more than 90 days ago, and only those.
    let db = dir.join("car-platform.db");
    let before = std::fs::read(&db).unwrap();
    let dry = stdout(
        datawarden()
            .args(["enforce", "--dry-run", "--config"])
            .arg(&config),
    );
    assert!(dry.contains("policy closed-accounts (dry run"), "{dry}");
    assert!(dry.contains("policy inquiries (dry run"), "{dry}");
    assert_eq!(
        before,
        std::fs::read(&db).unwrap(),
        "dry run changed the database"
    );
    let count = |sql: &str| -> i64 {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let url = format!("sqlite://{}", db.display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        })
    };
    let expired = "status = 'closed' AND closed_at < datetime('now', '-90 days')";
    let expired_with_mobile = count(&format!(
        "SELECT COUNT(*) FROM members WHERE {expired} AND mobile IS NOT NULL"
    ));
    assert!(
        expired_with_mobile > 0,
        "the demo has expired closed accounts"
    );
    let others_with_mobile = count(&format!(
        "SELECT COUNT(*) FROM members WHERE NOT ({expired}) AND mobile IS NOT NULL"
    ));
    stdout(
        datawarden()
            .args(["enforce", "--policy", "closed-accounts", "--config"])
            .arg(&config),
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM members WHERE {expired} AND mobile IS NOT NULL"
        )),
        0
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM members WHERE NOT ({expired}) AND mobile IS NOT NULL"
        )),
        others_with_mobile,
        "rows outside the policy were touched"
    );
    let verify = stdout(
        datawarden()
            .args(["audit", "verify", "--config"])
            .arg(&config),
    );
    assert!(verify.contains("audit trail intact"), "{verify}");

    // Bad input: a clear error, no panic.
    let bad = datawarden()
        .args(["inventory", "review", "--config"])
        .arg(&config)
        .args(["--confirm", "nope.nothing", "phone", "--by", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("no column `nope.nothing`"), "{err}");
}
