//! Classifier tests: values decide, names support, empty samples are unknown.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::detect::validators::cn_resident_id;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::load(None).expect("built-in detectors load"))
}

fn classify(name: &str, sql_type: &str, values: &[Option<&str>]) -> ColumnReport {
    let mut c = ColumnClassifier::new(engine(), name, sql_type);
    for v in values {
        c.observe(v.map(str::as_bytes));
    }
    c.finish()
}

fn finding<'r>(r: &'r ColumnReport, cat: &str) -> Option<&'r Finding> {
    r.findings.iter().find(|f| f.category == cat)
}

#[test]
fn empty_and_all_null_samples_are_unknown() {
    let r = classify("mobile", "varchar", &[]);
    assert_eq!(r.status, ColumnStatus::Unknown);
    let r = classify("notes", "text", &[None, None, Some("  ")]);
    assert_eq!(
        (r.status, r.sampled, r.non_null),
        (ColumnStatus::Unknown, 3, 0)
    );
}

#[test]
fn bigint_phones_are_personal() {
    let r = classify(
        "contact",
        "BIGINT",
        &[
            Some("13812345678"),
            Some("13987654321"),
            None,
            Some("18600001111"),
            Some("15012345678"),
        ],
    );
    assert_eq!(r.status, ColumnStatus::Personal);
    let f = finding(&r, "phone").unwrap();
    assert_eq!(
        (f.matched, f.layout, f.personal),
        (4, Layout::WholeValue, true)
    );
    assert_eq!(f.share, 1.0);
    assert!(
        f.examples.contains(&"138****5678".to_string()),
        "{:?}",
        f.examples
    );
    assert_eq!(f.detectors[0].id, "phone_cn_mobile");
    // NUMERIC renders a fraction.
    let r = classify("x", "numeric(20,2)", &[Some("13812345678.00")]);
    assert_eq!(r.status, ColumnStatus::Personal);
}

#[test]
fn email_opt_in_boolean_is_not_personal() {
    let r = classify(
        "email_opt_in",
        "boolean",
        &[Some("true"), Some("false"), Some("t"), Some("1")],
    );
    assert_eq!(r.status, ColumnStatus::Clean);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn name_hint_alone_is_not_personal() {
    let r = classify(
        "mobile",
        "varchar",
        &[Some("n/a"), Some("unknown"), Some("-")],
    );
    assert_eq!(r.status, ColumnStatus::Clean);
    let f = finding(&r, "phone").unwrap();
    assert!(!f.personal);
    assert_eq!(f.name_hint.as_deref(), Some("mobile"));
    assert_eq!(f.matched, 0);
}

#[test]
fn negative_name_hint_lowers_confidence() {
    let values = [Some("a@example.com"), Some("b@example.com")];
    let plain = classify("contact", "text", &values);
    let neg = classify("email_verified", "text", &values);
    let hinted = classify("email", "text", &values);
    let c = |r: &ColumnReport| finding(r, "email").unwrap().confidence;
    assert!(c(&neg) < c(&plain), "{} {}", c(&neg), c(&plain));
    assert!(c(&hinted) > c(&plain));
    assert!(finding(&neg, "email").unwrap().personal, "values decide");
}

#[test]
fn remarks_free_text_is_personal() {
    let r = classify(
        "remark",
        "text",
        &[
            Some("客户要求周末送货"),
            Some("请联系13912345678确认地址"),
            Some("已退款"),
            Some("改约到下周，邮箱 li.si@example.com"),
            Some("联系电话 13812345678，放门口"),
            Some("无"),
        ],
    );
    assert_eq!(r.status, ColumnStatus::Personal);
    let f = finding(&r, "phone").unwrap();
    assert_eq!(
        (f.matched, f.layout, f.personal),
        (2, Layout::FreeText, true)
    );
    // One email in free text is below min_matched: evidence, not a decision.
    let e = finding(&r, "email").unwrap();
    assert!(!e.personal);
    assert_eq!(e.examples, ["li***@example.com"]);
}

#[test]
fn weak_evidence_needs_a_name_hint() {
    let values = [
        Some("110101900307123"),
        Some("320102880808001"),
        Some("440305751231002"),
    ];
    let r = classify("imei", "varchar", &values);
    assert_eq!(r.status, ColumnStatus::Clean);
    let r = classify("sfzh", "varchar", &values);
    assert_eq!(r.status, ColumnStatus::Personal);
    let f = finding(&r, "cn_resident_id").unwrap();
    assert_eq!(f.detectors[0].id, "cn_resident_id_legacy15");
    let strong = classify(
        "sfzh",
        "varchar",
        &[Some(&format!(
            "11010119900307123{}",
            cn_resident_id::check_char(b"11010119900307123") as char
        ))],
    );
    assert!(finding(&strong, "cn_resident_id").unwrap().confidence > f.confidence);
}

/// 49 of 65 phones masked: the 16 raw ones still make a phone column; the masked ones are counted
/// apart and do not dilute the share. Envelopes and pseudonyms likewise.
#[test]
fn transformed_values_are_counted_apart_and_do_not_dilute_the_share() {
    let raw: Vec<String> = (0..16)
        .map(|i| format!("138{:08}", 10_000_000 + i * 7919))
        .collect();
    let mut values: Vec<Option<&str>> = vec![Some("138****5678"); 49];
    values.extend(raw.iter().map(|v| Some(v.as_str())));
    let r = classify("contact", "varchar(20)", &values);
    assert_eq!((r.non_null, r.transformed), (65, 49));
    let f = finding(&r, "phone").expect("phone finding");
    assert!(f.personal, "{f:?}");
    assert_eq!((f.matched, f.share), (16, 1.0));
    assert_eq!(r.status, ColumnStatus::Personal);

    let env = format!("dw1:0a1b2c3d:{}", "Q".repeat(60));
    let mut values: Vec<Option<&str>> = vec![Some(env.as_str()); 30];
    values.push(Some("dwp1:AbCdEfGhIjKlMnOpQrStUv"));
    values.extend(raw.iter().take(3).map(|v| Some(v.as_str())));
    let r = classify("contact", "varchar(100)", &values);
    assert_eq!(r.transformed, 31);
    assert!(finding(&r, "phone").unwrap().personal);

    // Every value transformed: nothing raw is left, the column is clean (not unknown).
    let r = classify("contact", "varchar(20)", &[Some("138****5678"); 10]);
    assert_eq!((r.status, r.transformed), (ColumnStatus::Clean, 10));
}

/// A `*` alone does not make a value a mask, and a mask-shaped value that still holds a phone is
/// raw: neither hides the phone.
#[test]
fn a_star_does_not_hide_a_raw_value() {
    let values = [Some("*VIP* call 13812345678"); 10];
    let r = classify("remark", "text", &values);
    assert_eq!(r.transformed, 0);
    assert!(finding(&r, "phone").unwrap().personal);
    let values = [Some("**urgent** 13812345678"); 10];
    let r = classify("remark", "text", &values);
    assert_eq!(r.transformed, 0);
    assert!(finding(&r, "phone").unwrap().personal);
}

#[test]
fn a_few_accidental_matches_do_not_flag_a_column() {
    let mut values: Vec<String> = (0..50).map(|i| format!("PRD-{i:05}")).collect();
    values.push("13812345678".into());
    let refs: Vec<Option<&str>> = values.iter().map(|s| Some(s.as_str())).collect();
    let r = classify("sku", "varchar", &refs);
    assert_eq!(r.status, ColumnStatus::Clean);
    let f = finding(&r, "phone").unwrap();
    assert_eq!(f.matched, 1);
    assert!(!f.personal);
}

proptest! {
    #[test]
    fn classifier_never_panics(values in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<u8>(), 0..60)), 0..20), name in "\\PC{0,20}", ty in "\\PC{0,10}") {
        let mut c = ColumnClassifier::new(engine(), &name, &ty);
        for v in &values {
            c.observe(v.as_deref());
        }
        let r = c.finish();
        prop_assert_eq!(r.sampled, values.len() as u64);
        for f in &r.findings {
            prop_assert!((0.0..=1.0).contains(&f.confidence));
            prop_assert!(f.examples.len() <= 3);
        }
    }
}

#[test]
fn values_cut_short_are_counted_and_noted() {
    let mut c = ColumnClassifier::new(engine(), "remarks", "text");
    c.set_max_value_bytes(2048);
    // The address sits past the first 2048 bytes: not searched.
    let long = format!("{}bob@example.com", "x ".repeat(2000));
    c.observe(Some(long.as_bytes()));
    c.observe(Some(b"alice@example.com"));
    c.skip(Some(b"carol@example.com"));
    c.skip(None);
    let r = c.finish();
    assert_eq!((r.sampled, r.non_null), (4, 3));
    assert_eq!(finding(&r, "email").unwrap().matched, 1);
    let note = r.note.unwrap();
    assert!(
        note.contains("1 value(s) over 2048 bytes searched in their first 2048 bytes"),
        "{note}"
    );
    assert!(note.contains("1 value(s) not searched"), "{note}");
    assert_eq!(classify("remarks", "text", &[Some("a@b.cn")]).note, None);
}

/// Unformatted numbers of many countries, as pagila's `address.phone` holds them.
const WORLD_PHONES: &[&str] = &[
    "14033335568",
    "6172235589",
    "28303384290",
    "35470136890",
    "705814003527",
    "338244023543",
    "838635286649",
    "657105007218",
    "271646426340",
    "491271355190",
    "803004066180",
    "80303246192",
    "270765478523",
    "996314843519",
    "478229987054",
    "１３４８９０３２１２０",
    "+44 20 7946 0958",
    "0316 7154 339",
    "",
];

#[test]
fn a_column_named_as_a_phone_with_phone_shaped_values_is_a_phone_column() {
    let values: Vec<Option<&str>> = WORLD_PHONES.iter().map(|v| Some(*v)).collect();
    let r = classify("phone", "character varying(20)", &values);
    assert_eq!(r.status, ColumnStatus::Personal, "{r:?}");
    let f = finding(&r, "phone").unwrap();
    assert!(f.personal && f.layout == Layout::WholeValue, "{f:?}");
    assert_eq!(f.matched, 18);
    assert_eq!(f.name_hint.as_deref(), Some("phone"));
    assert!(f.examples.iter().all(|e| e.contains("****")), "{f:?}");
    let note = r.note.as_deref().unwrap();
    assert!(
        note.starts_with("name + shape: 18 of 18 value(s)"),
        "{note}"
    );
    for name in [
        "mobile",
        "tel",
        "phone_number",
        "手机",
        "联系电话",
        "contactPhone",
    ] {
        let r = classify(name, "text", &values);
        assert_eq!(r.status, ColumnStatus::Personal, "{name}");
    }
}

#[test]
fn phone_shaped_values_without_the_name_decide_nothing() {
    let values: Vec<Option<&str>> = WORLD_PHONES.iter().map(|v| Some(*v)).collect();
    for name in [
        "amount",
        "order_no",
        "account",
        "phone_id",
        "phone_model",
        "telemetry",
    ] {
        let r = classify(name, "text", &values);
        assert!(
            finding(&r, "phone").is_none_or(|f| !f.personal),
            "{name}: {r:?}"
        );
        assert!(r
            .note
            .as_deref()
            .is_none_or(|n| !n.contains("name + shape")));
    }
    // Named as a phone, but the values are not mostly phone-shaped.
    let mixed = [
        Some("14033335568"),
        Some("n/a"),
        Some("ask at desk"),
        Some("12.5"),
        Some("1111111111"),
    ];
    let r = classify("phone", "text", &mixed);
    assert_ne!(r.status, ColumnStatus::Personal, "{r:?}");
}

#[test]
fn phone_shapes() {
    for good in [
        "14033335568",
        "+44 20 7946 0958",
        "(010) 6552 9988",
        "212.555.1234",
        "１３８００１３８０００",
        "0316-7154-339",
        "＋86 138 0013 8000",
    ] {
        assert!(phone_shaped(good.as_bytes()), "{good}");
    }
    for bad in [
        "123456",
        "1234567890123456",
        "1234567.89",
        "0000000000",
        "2024-03-15 12:30",
        "abc1234567",
        "ext 1234567",
        "138+0013+8000",
        "++8613800138000",
        "138 0013 8000号",
    ] {
        assert!(!phone_shaped(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn full_width_and_grouped_spellings_are_whole_values_with_masked_examples() {
    let id = cn_resident_id::check_char(b"11010519900307123") as char;
    let grouped = format!("110105 19900307 123{id}");
    let r = classify(
        "contact",
        "text",
        &[
            Some("１３８００１３８０００"),
            Some("＋８６　１３９　００１３　９０００"),
            Some("138-0013-8000"),
        ],
    );
    let f = finding(&r, "phone").unwrap();
    assert_eq!(
        (f.matched, f.layout, f.personal),
        (3, Layout::WholeValue, true)
    );
    assert!(
        f.examples.contains(&"１３８****８０００".to_string()),
        "{f:?}"
    );
    assert!(f.examples.iter().all(|e| e.contains("****")), "{f:?}");
    let r = classify(
        "remark",
        "text",
        &[Some(grouped.as_str()), Some(grouped.as_str())],
    );
    let f = finding(&r, "cn_resident_id").unwrap();
    assert_eq!(
        (f.matched, f.layout, f.personal),
        (2, Layout::WholeValue, true)
    );
    assert_eq!(f.examples, [format!("1101** ******** 123{id}")]);
}

#[test]
fn column_types_name_what_they_can_hold() {
    for t in [
        "date",
        "timestamp with time zone",
        "timestamp without time zone",
        "datetime(3)",
        "TIME",
        "year",
        "interval",
        "timestamp(3) with time zone",
        "time(6) without time zone",
        "interval year to month",
    ] {
        assert_eq!(categories_for_type(t), Some(&["birth_date"][..]), "{t}");
    }
    for t in ["boolean", "uuid"] {
        assert_eq!(categories_for_type(t), Some(&[][..]), "{t}");
    }
    assert_eq!(categories_for_type("inet"), Some(&["ip_address"][..]));
    assert_eq!(categories_for_type("macaddr8"), Some(&["mac_address"][..]));
    for t in [
        "text",
        "varchar(32)",
        "bigint",
        "json",
        "USER-DEFINED",
        "tinyint(1)",
        "bytea",
        // Domains and enums whose names only start like a type may hold anything.
        "datestr",
        "timeline",
        "date_text",
        "timezone_kind",
        "public.date",
        "uuids",
    ] {
        assert_eq!(categories_for_type(t), None, "{t}");
    }
}

/// Classifies with the column type trusted, as a scan of PostgreSQL or MySQL does.
fn classify_typed(name: &str, sql_type: &str, values: &[&str]) -> ColumnReport {
    let mut c = ColumnClassifier::new(engine(), name, sql_type);
    c.trust_column_type();
    for v in values {
        c.observe(Some(v.as_bytes()));
    }
    c.finish()
}

#[test]
fn a_trusted_column_type_narrows_detection_and_says_so() {
    // Birth dates in a date column are still found.
    let dates = ["1990-03-07", "1985-12-31", "2001-07-15", "1978-01-02"];
    let r = classify_typed("birthday", "date", &dates);
    assert!(finding(&r, "birth_date").is_some(), "{r:?}");
    let note = r.note.as_deref().unwrap_or_default();
    assert!(note.contains("searched for birth_date only"), "{note}");
    // A time column named like a phone is no phone column, whatever its values look like.
    let times = ["13:81:23", "13:90:11"];
    let r = classify_typed("mobile", "time without time zone", &times);
    assert!(finding(&r, "phone").is_none(), "{r:?}");
    // A UUID column is not searched, and the evidence says so.
    let ids = ["550e8400-e29b-41d4-a716-446655440000"; 3];
    let r = classify_typed("user_phone", "uuid", &ids);
    assert_eq!(r.status, ColumnStatus::Clean);
    assert!(r.findings.is_empty(), "{r:?}");
    assert!(
        r.note
            .as_deref()
            .unwrap_or_default()
            .contains("not searched"),
        "{r:?}"
    );
    // Untrusted (SQLite), the same values are searched by every detector.
    let r = classify("user_phone", "uuid", &ids.map(Some));
    assert!(r.note.is_none(), "{r:?}");
    // A text column is searched as before.
    let r = classify_typed(
        "mobile",
        "text",
        &["13812345678", "13912345678", "13712345678"],
    );
    assert!(finding(&r, "phone").is_some(), "{r:?}");
}

#[test]
fn a_temporal_column_without_a_birth_name_is_not_searched() {
    // Birth dates count only in a column named as one (or next to a context word, which no
    // rendered timestamp holds): a created_at column is not searched at all, and says why.
    let stamps = [
        "1990-03-07 10:00:00+00",
        "1975-12-31 23:59:59+00",
        "2001-07-15 08:30:00+00",
    ];
    let typed = classify_typed("created_at", "timestamp with time zone", &stamps);
    assert!(typed.findings.is_empty(), "{typed:?}");
    let note = typed.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("not searched") && note.contains("named as one"),
        "{note}"
    );
    // Searched in full, the same values give no finding either: nothing is lost.
    let searched = classify("created_at", "text", &stamps.map(Some));
    assert!(finding(&searched, "birth_date").is_none(), "{searched:?}");
    // Named as a birth date, the column is searched.
    let r = classify_typed("birthday", "timestamp with time zone", &stamps);
    assert!(finding(&r, "birth_date").is_some(), "{r:?}");
    assert!(!r
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("not searched"));
}

/// A birth date counts only in a column named as one: dates next to 生日 or `birth` in a
/// remarks column are no finding, the same dates in a `birthday` column are.
#[test]
fn birth_dates_count_only_in_a_column_named_as_one() {
    let remarks = [
        "生日 1990-03-07",
        "出生：1985-11-23",
        "birth 1979-02-14",
        "dob 2001-07-15",
    ];
    let r = classify("remark", "text", &remarks.map(Some));
    assert!(finding(&r, "birth_date").is_none(), "{r:?}");
    let dates = ["1990-03-07", "1985-11-23", "1979-02-14", "2001-07-15"];
    let r = classify("birthday", "text", &dates.map(Some));
    assert!(finding(&r, "birth_date").is_some(), "{r:?}");
}

#[test]
fn context_words_in_rendered_times() {
    for w in ["出生", "birth", "born", "dob", "生日"] {
        assert!(!in_rendered_time(w), "{w}");
    }
    for w in ["day", "Mon", "BC", "infinity", "19", "-"] {
        assert!(in_rendered_time(w), "{w}");
    }
}

#[test]
fn the_categories_checked_follow_a_narrowing_type() {
    let all: Vec<String> = ["phone", "email", "birth_date"].map(String::from).to_vec();
    let mut c = ColumnClassifier::new(engine(), "created_at", "timestamp with time zone");
    c.trust_column_type();
    c.observe(Some(b"2024-03-15 12:30:45+00"));
    let note = c.finish().note;
    let narrowed = categories_checked(&all, "timestamp with time zone", note.as_deref());
    assert_eq!(narrowed, ["birth_date"]);
    // Without the narrowing note (a SQLite column, or a scan before this rule), every category.
    assert_eq!(
        categories_checked(&all, "timestamp with time zone", None),
        all
    );
    let cut = Some("detection cut short: 1 value(s) not searched");
    assert_eq!(categories_checked(&all, "uuid", cut), all);
    let uuid = Some("narrowed by the column type: not searched: a uuid column holds none");
    assert!(categories_checked(&all, "uuid", uuid).is_empty());
}

/// A column read in full holds more distinct values than the name rule remembers: a third of
/// them names is still a third, not a name column (the share once rose towards 1 as names went
/// on being counted after the distinct values stopped).
#[test]
fn a_long_column_of_some_names_is_not_a_name_column() {
    let given = ["Mary", "James", "Linda", "Robert", "Susan", "David"];
    let surname = |i: usize| {
        let tail: String = (0..4)
            .map(|k| char::from(b'a' + (i / 26usize.pow(k) % 26) as u8))
            .collect();
        format!("Mo{tail}")
    };
    let values: Vec<String> = (0..90_000)
        .map(|i| {
            if i % 3 == 0 {
                format!("{} {}", given[i % given.len()], surname(i))
            } else {
                format!("order {i}")
            }
        })
        .collect();
    // The names alone make a name column: the test's names are names.
    let names: Vec<Option<&str>> = values.iter().step_by(3).map(|v| Some(v.as_str())).collect();
    let r = classify("label", "text", &names[..2_000]);
    assert!(
        finding(&r, "person_name").is_some_and(|f| f.personal),
        "{r:?}"
    );
    let all: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
    let r = classify("label", "text", &all);
    assert!(
        !finding(&r, "person_name").is_some_and(|f| f.personal),
        "{r:?}"
    );
}

#[test]
fn categories_present_are_the_set_bits_or_every_category() {
    let got = |present, ncat| categories_present(present, ncat).collect::<Vec<_>>();
    assert_eq!(got(0b1010_0001, 14), [0, 5, 7]);
    assert_eq!(got(0, 14), Vec::<usize>::new());
    assert_eq!(got(1 << 63, 64), [63]);
    assert_eq!(got(0b11, 66), (0..66).collect::<Vec<_>>());
}
