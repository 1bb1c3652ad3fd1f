//! Engine tests: every built-in detector on positives and the hard negatives of the spec.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::validators::{cn_resident_id, vin};
use super::*;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::load(None).expect("built-in detectors load"))
}

/// The categories of the first five detectors; the tests in this file hold them to their
/// behaviour (the later categories are tested in `tests/detect_categories.rs`).
const FIRST_FIVE: &[&str] = &[
    "phone",
    "email",
    "cn_resident_id",
    "vin",
    "cn_license_plate",
];

/// `(detector id, matched text)` for every match in `s` of the first five categories.
fn found(s: &str) -> Vec<(String, String)> {
    let e = engine();
    let mut out = Vec::new();
    e.find(s.as_bytes(), &mut out);
    out.iter()
        .filter(|m| FIRST_FIVE.contains(&e.detectors()[m.detector].category.as_str()))
        .map(|m| {
            (
                e.detectors()[m.detector].id.clone(),
                String::from_utf8_lossy(&s.as_bytes()[m.start..m.end]).into_owned(),
            )
        })
        .collect()
}

fn ids(s: &str) -> Vec<String> {
    found(s).into_iter().map(|(id, _)| id).collect()
}

fn resident_id(first17: &str) -> String {
    format!(
        "{first17}{}",
        cn_resident_id::check_char(first17.as_bytes()) as char
    )
}

fn with_vin_check(v: &str) -> String {
    let c = vin::check_digit(v.as_bytes()).unwrap() as char;
    format!("{}{}{}", &v[..8], c, &v[9..])
}

#[test]
fn builtins_load_with_exact_ids_and_categories() {
    let e = engine();
    let ids: Vec<_> = e.detectors().iter().map(|d| d.id.as_str()).collect();
    for id in [
        "phone_cn_mobile",
        "phone_cn_landline",
        "phone_nanp",
        "phone_intl",
        "email",
        "cn_resident_id",
        "cn_resident_id_legacy15",
        "vin",
        "cn_license_plate",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let mut cats = e.categories().to_vec();
    cats.sort();
    assert_eq!(
        cats,
        [
            "address",
            "bank_card",
            "birth_date",
            "cn_license_plate",
            "cn_passport",
            "cn_resident_id",
            "email",
            "geo_location",
            "imei",
            "ip_address",
            "mac_address",
            "person_name",
            "phone",
            "vin"
        ]
    );
    let id = e
        .detectors()
        .iter()
        .find(|d| d.id == "cn_resident_id")
        .unwrap();
    assert_eq!(id.sensitivity, Sensitivity::High);
}

#[test]
fn phones() {
    assert_eq!(
        found("13812345678"),
        [("phone_cn_mobile".into(), "13812345678".into())]
    );
    assert_eq!(ids("+86 138 1234 5678"), ["phone_cn_mobile"]);
    assert_eq!(ids("电话：0755-23456789，找王先生"), ["phone_cn_landline"]);
    assert_eq!(ids("400-123-4567"), ["phone_cn_landline"]);
    assert_eq!(ids("(212) 555-1234 ext. 12"), ["phone_nanp"]);
    assert_eq!(ids("+44 20 7946 0958"), ["phone_intl"]);
    // Seven digits are the shortest international numbers (Niue); in a long value too.
    assert_eq!(ids("+683 4002"), ["phone_intl"]);
    let long = format!("{} +683 4002 {}", "x".repeat(60), "y".repeat(60));
    assert_eq!(ids(&long), ["phone_intl"]);
    // A bare 10-digit number is weak: only with a context word.
    assert!(ids("2125551234").is_empty());
    assert_eq!(ids("call 2125551234"), ["phone_nanp"]);
}

#[test]
fn phone_hard_negatives() {
    for s in [
        "15412345678",         // unallocated prefix
        "20240315",            // date
        "2024-03-15",          // date
        "2024-03-15 12:30:45", // timestamp
        "1710498123",          // unix seconds
        "1710498123456",       // unix milliseconds
        "202403151230450001",  // order number
        "6222021234567890123", // bank card
        "1381234567890",       // inside a longer digit run
        "SN13812345678X",      // inside a token
        "192.168.100.200",     // IP address
        "¥1,234.56",           // price
        "19.99",
        "550e8400-e29b-41d4-a716-446655440000",
    ] {
        assert!(
            ids(s).iter().all(|i| !i.starts_with("phone")),
            "{s}: {:?}",
            found(s)
        );
    }
}

#[test]
fn resident_ids() {
    let id = resident_id("11010119900307123");
    assert_eq!(ids(&id), ["cn_resident_id"]);
    assert_eq!(ids(&format!("身份证号{id}。")), ["cn_resident_id"]);
    let lower = resident_id("44030519851231002").to_lowercase();
    assert_eq!(ids(&lower), ["cn_resident_id"]);
    // Wrong check character.
    let mut bad = id.clone().into_bytes();
    bad[17] = if bad[17] == b'1' { b'2' } else { b'1' };
    assert!(ids(std::str::from_utf8(&bad).unwrap()).is_empty());
    // Inside longer digit runs and tokens.
    assert!(ids(&format!("{id}5")).is_empty());
    assert!(ids(&format!("6{id}")).is_empty());
    // Look-alikes: order numbers, social credit codes, IMEIs.
    for s in [
        "202403151230450001",
        "91350100M000100Y43",
        "490154203237518",
        "11111111111111111",
    ] {
        assert!(ids(s).iter().all(|i| !i.starts_with("cn_resident")), "{s}");
    }
}

#[test]
fn legacy_ids_need_support() {
    assert!(ids("110101900307123").is_empty());
    assert_eq!(ids("身份证 110101900307123"), ["cn_resident_id_legacy15"]);
    let e = engine();
    let idx = e
        .detectors()
        .iter()
        .position(|d| d.id == "cn_resident_id_legacy15")
        .unwrap();
    let mut support = vec![false; e.detectors().len()];
    support[idx] = true;
    let mut out = Vec::new();
    e.find_supported(b"110101900307123", &support, &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].weak);
}

#[test]
fn vins() {
    assert_eq!(ids("1M8GDM9AXKP042788"), ["vin"]);
    assert_eq!(ids("vin: lfv2a21kxd4000001"), ["vin"]);
    let built = with_vin_check("LSVAB2180E2100001");
    assert_eq!(ids(&built), ["vin"]);
    // Wrong mandatory check digit; 17 repeated digits; letters only; I/O/Q.
    for s in [
        "1M8GDM9A1KP042788",
        "11111111111111111",
        "ABCDEFGHJKLMNPRST",
        "1M8GDM9AXKP04278O",
    ] {
        assert!(!ids(s).contains(&"vin".to_string()), "{s}");
    }
    // Hex digests and 17-character slices of longer tokens.
    for s in [
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "550e8400-e29b-41d4-a716-446655440000",
        "1M8GDM9AXKP042788ZZ",
        "token=A1B2C3D4E5F6G7H8J9K",
    ] {
        assert!(!ids(s).contains(&"vin".to_string()), "{s}");
    }
    // A European VIN failing the optional check digit is weak: only with context.
    assert!(ids("WVWZZZ1JZXW000001").is_empty());
    assert_eq!(ids("VIN WVWZZZ1JZXW000001"), ["vin"]);
}

#[test]
fn plates() {
    assert_eq!(
        found("车牌京A12345"),
        [("cn_license_plate".into(), "京A12345".into())]
    );
    assert_eq!(ids("粤B·D12345"), ["cn_license_plate"]);
    assert_eq!(ids("沪A 1234挂"), ["cn_license_plate"]);
    assert_eq!(ids("使123456"), ["cn_license_plate"]);
    for s in [
        "黔A12345",
        "滇A12345",
        "京I12345",
        "京A1I345",
        "京AABC12",
        "京A1234567",
    ] {
        assert!(ids(s).is_empty(), "{s}");
    }
}

#[test]
fn emails() {
    assert_eq!(
        found("邮箱abc@qq.com联系"),
        [("email".into(), "abc@qq.com".into())]
    );
    assert_eq!(
        found("123456789@qq.com"),
        [("email".into(), "123456789@qq.com".into())]
    );
    assert_eq!(
        found("用户@例子.广告"),
        [("email".into(), "用户@例子.广告".into())]
    );
    assert_eq!(
        found("联系：abc＠163.com。"),
        [("email".into(), "abc＠163.com".into())]
    );
    for s in [
        "image@2x.png",
        "icon@3x.jpg",
        "package@1.2.3",
        "example.com",
        "user@",
        "@domain.com",
    ] {
        assert!(ids(s).is_empty(), "{s}");
    }
}

#[test]
fn mixed_free_text_in_order() {
    let id = resident_id("32010219880808001");
    let s =
        format!("客户张三，手机13912345678，身份证{id}，邮箱zhang.san@example.com，车牌苏A12345");
    assert_eq!(
        ids(&s),
        [
            "phone_cn_mobile",
            "cn_resident_id",
            "email",
            "cn_license_plate"
        ]
    );
}

#[test]
fn overlapping_same_category_keeps_one() {
    // +86 mobile also has the shape of an international number and of digits for NANP.
    assert_eq!(ids("+8613812345678"), ["phone_cn_mobile"]);
    assert_eq!(ids("8613812345678"), ["phone_cn_mobile"]);
}

#[test]
fn invalid_utf8_never_fails() {
    let mut v = b"\xff\xfe13812345678\xc0".to_vec();
    let mut out = Vec::new();
    engine().find(&v, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].start, out[0].end), (2, 13));
    v.truncate(0);
    engine().find(&v, &mut out);
    assert!(out.is_empty());
}

#[test]
fn user_detectors_add_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employee.toml"),
        "id = \"employee_id\"\ncategory = \"employee_id\"\nsensitivity = \"low\"\nversion = 1\n\
         description = \"Employee number\"\npatterns = ['EMP-[0-9]{6}']\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vin.toml"),
        "id = \"vin\"\ncategory = \"vin\"\nsensitivity = \"high\"\nversion = 7\n\
         description = \"VIN, stricter\"\npatterns = ['[0-9A-HJ-NPR-Z]{17}']\nvalidator = \"vin\"\n",
    )
    .unwrap();
    let e = Engine::load(Some(dir.path())).unwrap();
    let vin = e.detectors().iter().find(|d| d.id == "vin").unwrap();
    assert_eq!((vin.version, vin.sensitivity), (7, Sensitivity::High));
    assert_eq!(e.detectors().iter().filter(|d| d.id == "vin").count(), 1);
    let mut out = Vec::new();
    e.find(b"badge EMP-004211", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(e.detectors()[out[0].detector].id, "employee_id");
}

#[test]
fn broken_detector_files_are_clear_errors() {
    let cases = [
        ("bad toml", "id = \"x\"\ncategory = = 1\n", "line 2"),
        (
            "unknown key",
            "id = \"x\"\ncategory = \"x\"\nsensitivity = \"low\"\nversion = 1\ndescription = \"d\"\npatterns = ['a']\ncolour = 1\n",
            "unknown field `colour`",
        ),
        (
            "bad regex",
            "id = \"x\"\ncategory = \"x\"\nsensitivity = \"low\"\nversion = 1\ndescription = \"d\"\npatterns = ['a(']\n",
            "patterns[0] is not a valid regular expression",
        ),
        (
            "unknown validator",
            "id = \"x\"\ncategory = \"x\"\nsensitivity = \"low\"\nversion = 1\ndescription = \"d\"\npatterns = ['a']\nvalidator = \"nope\"\n",
            "validator \"nope\" is unknown",
        ),
        (
            "bad sensitivity",
            "id = \"x\"\ncategory = \"x\"\nsensitivity = \"extreme\"\nversion = 1\ndescription = \"d\"\npatterns = ['a']\n",
            "line 3",
        ),
        (
            "bad id",
            "id = \"X Y\"\ncategory = \"x\"\nsensitivity = \"low\"\nversion = 1\ndescription = \"d\"\npatterns = ['a']\n",
            "id \"X Y\"",
        ),
    ];
    for (what, text, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("broken.toml");
        std::fs::write(&file, text).unwrap();
        let err = Engine::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("broken.toml"), "{what}: {err}");
        assert!(err.contains(expect), "{what}: {err}");
    }
    let missing = Engine::load(Some(std::path::Path::new("/nonexistent/detectors"))).unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/detectors"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_never_panics_on_bytes(v in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut out = Vec::new();
        engine().find(&v, &mut out);
        for m in &out {
            prop_assert!(m.start < m.end && m.end <= v.len());
        }
        let all = vec![true; engine().detectors().len()];
        engine().find_supported(&v, &all, &mut out);
    }

    #[test]
    fn engine_never_panics_on_near_misses(s in "[0-9XxA-Z@＠.+\\- ()京A使·挂]{0,40}") {
        let mut out = Vec::new();
        engine().find(s.as_bytes(), &mut out);
        for w in out.windows(2) {
            prop_assert!(w[0].start <= w[1].start);
        }
    }

    #[test]
    fn validators_never_panic(v in proptest::collection::vec(any::<u8>(), 0..64), a in 0usize..70, b in 0usize..70) {
        let (s, e) = (a.min(b).min(v.len()), a.max(b).min(v.len()));
        let ctx = validators::Ctx { today: 20250101, ..validators::Ctx::now() };
        for val in validators::VALIDATORS {
            let _ = (val.check)(&v, s, e, &ctx);
        }
    }

    #[test]
    fn mask_preserves_length(cat in "(phone|email|vin|cn_resident_id|cn_license_plate|other)", s in "\\PC{0,30}") {
        let m = mask(&cat, &s);
        prop_assert_eq!(m.chars().count(), s.chars().count());
        prop_assert_eq!(&m, &mask(&cat, &s));
    }
}

#[test]
fn long_values_find_what_short_ones_do() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/sample-values.txt"
    ))
    .unwrap();
    let pad = "这是一段很长的备注文字，用来把值推到窗口搜索的路径上。".repeat(3);
    let e = engine();
    let (mut short, mut long) = (Vec::new(), Vec::new());
    for line in text.lines() {
        e.find(line.as_bytes(), &mut short);
        let padded = format!("{pad} {line} {pad}");
        assert!(padded.len() > 96);
        e.find(padded.as_bytes(), &mut long);
        let shift = pad.len() + 1;
        let shifted: Vec<_> = short
            .iter()
            .map(|m| (m.detector, m.start + shift, m.end + shift))
            .collect();
        // Whole-value names are names only as a whole value (their patterns are anchored).
        let shifted: Vec<_> = shifted
            .into_iter()
            .filter(|&(d, ..)| e.detectors()[d].category != "person_name")
            .collect();
        let got: Vec<_> = long
            .iter()
            .filter(|m| e.detectors()[m.detector].category != "person_name")
            .map(|m| (m.detector, m.start, m.end))
            .collect();
        assert_eq!(got, shifted, "{line}");
    }
}

#[test]
fn pieces_of_longer_digit_groups_are_not_phones() {
    for group in [
        "177-17778612-7736-46",
        "177 17778612 7736 46",
        "138-0013-8000-2019",
        "138 0013 8000 2019",
        "15314959853 9327 39",
        "2019-13800138000",
        "6222 138 0013 8000",
        "212-555-1234-5678",
        "+44 20 7946 0958-1234",
    ] {
        assert_eq!(ids(group), Vec::<String>::new(), "{group}");
    }
    // A long run next to a space is a number of its own.
    for (text, phone) in [
        ("2024-03-15 13800138000", "13800138000"),
        ("13800138000 2019年注册", "13800138000"),
        ("13800138000 13900139000", "13800138000"),
    ] {
        let got: Vec<String> = found(text).into_iter().map(|(_, t)| t).collect();
        assert!(got.iter().any(|t| t == phone), "{text}: {got:?}");
    }
    let id = resident_id("11010519900307123");
    let phone = "13800138000";
    let both: Vec<String> = found(&format!("{id} {phone}"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(both, [id.clone(), phone.to_string()]);
}

#[test]
fn full_width_values_match_at_their_own_bytes() {
    for (value, want) in [
        ("１３８００１３８０００", "１３８００１３８０００"),
        (
            "电话：１３８－００１３－８０００。",
            "１３８－００１３－８０００",
        ),
        (
            "＋８６　１３８　００１３　８０００",
            "＋８６　１３８　００１３　８０００",
        ),
        (
            "邮箱ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ，谢谢",
            "ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        ),
        ("车牌粤Ｂ·１２３４５", "粤Ｂ·１２３４５"),
    ] {
        let got: Vec<String> = found(value).into_iter().map(|(_, t)| t).collect();
        assert_eq!(got, [want], "{value}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Where the engine says a string of `n` digits can hold nothing, no such string does.
    #[test]
    fn digit_strings_ruled_out_by_length_hold_no_match(s in "[0-9]{1,100}") {
        let e = engine();
        let every = e.every_detector();
        if !e.digits_may_match(s.len(), &every) {
            let mut out = Vec::new();
            e.find_among(s.as_bytes(), &every, &[], &mut out);
            prop_assert!(out.is_empty(), "{s:?}: {out:?}");
            e.find_among(s.as_bytes(), &every, &vec![true; e.detectors().len()], &mut out);
            prop_assert!(out.is_empty(), "{s:?} (supported): {out:?}");
        }
    }
}

#[test]
fn digit_strings_of_identifier_lengths_are_searched() {
    let e = engine();
    let every = e.every_detector();
    // Phones (11), landlines (10-12), IMEI (15), resident ids (18), cards (16-19), compact
    // birth dates (8): searched. Short counts and ids: not.
    for n in [8, 10, 11, 12, 15, 16, 18, 19] {
        assert!(e.digits_may_match(n, &every), "{n}");
    }
    for n in [1, 2, 3, 5, 7] {
        assert!(!e.digits_may_match(n, &every), "{n}");
    }
}
