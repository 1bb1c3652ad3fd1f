//! Held-out evaluation of the spellings real data holds: values written the way third-party
//! generators and people write them (Faker-style zh_CN and en_US phones, resident IDs, e-mail
//! addresses, plates and VINs in display groupings, full-width forms typed with a Chinese input
//! method, free text around them), and hard negatives that share their shapes (order and trade
//! numbers, snowflake ids, hyphen- and space-joined digit groups, bank-like groupings, timestamps,
//! UUIDs, versions, IDs and VINs with wrong check characters). Generated from a fixed seed; the
//! checksums are computed here from the standards, not with the library's code.
//!
//! Each value is expected to hold one category (its whole value, trimmed, found as one match
//! of that category, with offsets in the original bytes) or none. Asserts precision >= 0.99
//! and recall >= 0.98 (issue 11) and prints the confusion counts per category.

use std::collections::BTreeMap;

use datawarden::detect::{Engine, Match};
use datawarden::retention::mask::Masker;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Full-width form of every ASCII character but the space (which becomes U+3000).
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            _ => c,
        })
        .collect()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect()
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

// ---- generators of valid identifiers ----

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167", "170",
    "171", "172", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185",
    "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197", "198", "199",
];

fn mobile(rng: &mut StdRng) -> String {
    format!("{}{}", pick(rng, MOBILE_PREFIXES), digits(rng, 8))
}

/// GB 11643-1999: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, "10X98765432"[sum % 11].
fn id_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn resident_id(rng: &mut StdRng) -> String {
    const PROVINCES: &[u32] = &[
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65,
    ];
    let year = rng.gen_range(1940..2010);
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    let first17 = format!(
        "{}{:02}{:02}{year}{month:02}{day:02}{}",
        pick(rng, PROVINCES),
        rng.gen_range(1..30),
        rng.gen_range(1..30),
        digits(rng, 3)
    );
    let c = id_check(&first17);
    format!("{first17}{c}")
}

/// ISO 3779 / 49 CFR 565 check digit at position 9.
fn vin_check(vin: &[u8]) -> u8 {
    const W: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let value = |b: u8| -> u32 {
        match b {
            b'0'..=b'9' => (b - b'0') as u32,
            b'A' | b'J' => 1,
            b'B' | b'K' | b'S' => 2,
            b'C' | b'L' | b'T' => 3,
            b'D' | b'M' | b'U' => 4,
            b'E' | b'N' | b'V' => 5,
            b'F' | b'W' => 6,
            b'G' | b'P' | b'X' => 7,
            b'H' | b'Y' => 8,
            b'R' | b'Z' => 9,
            _ => panic!("not a VIN character: {b}"),
        }
    };
    let sum: u32 = vin.iter().zip(W).map(|(&b, w)| value(b) * w).sum();
    match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    }
}

const VIN_CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
const YEAR_CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY123456789";

fn vin(rng: &mut StdRng) -> String {
    let wmi = *pick(
        rng,
        &[
            "LSV", "LFV", "LGB", "LVS", "1HG", "1FT", "2T1", "3VW", "5YJ", "JHM",
        ],
    );
    let mut v: Vec<u8> = wmi.bytes().collect();
    for _ in 0..5 {
        v.push(*pick(rng, VIN_CHARS));
    }
    v.push(b'0');
    v.push(*pick(rng, YEAR_CHARS));
    v.push(*pick(rng, VIN_CHARS));
    for _ in 0..6 {
        v.push(b'0' + rng.gen_range(0..10));
    }
    v[8] = vin_check(&v);
    String::from_utf8(v).unwrap()
}

fn plate(rng: &mut StdRng) -> String {
    let provinces: Vec<char> = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
        .chars()
        .collect();
    let p = *pick(rng, &provinces);
    let authority = *pick(rng, b"ABCDEFGHJKLMN") as char;
    let serial: String = if rng.gen_bool(0.2) {
        // New energy, small vehicle.
        format!(
            "{}{}{}",
            pick(rng, &['D', 'F']),
            *pick(rng, b"ABCDEFGHJK0123456789") as char,
            digits(rng, 4)
        )
    } else {
        let letters = rng.gen_range(0..=2);
        (0..5)
            .map(|i| {
                if i < letters && i > 0 {
                    *pick(rng, b"ABCDEFGHJKLMNPQRSTUVWXYZ") as char
                } else {
                    char::from(b'0' + rng.gen_range(0..10))
                }
            })
            .collect()
    };
    let sep = *pick(rng, &["", "", "·", " ", "-"]);
    format!("{p}{authority}{sep}{serial}")
}

fn email(rng: &mut StdRng) -> String {
    let first = *pick(
        rng,
        &[
            "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "john", "mary",
        ],
    );
    let last = *pick(
        rng,
        &[
            "zhang", "wang", "li", "liu", "chen", "yang", "smith", "jones",
        ],
    );
    let domain = *pick(
        rng,
        &[
            "qq.com",
            "163.com",
            "126.com",
            "gmail.com",
            "example.org",
            "sina.com.cn",
            "yahoo.com.cn",
        ],
    );
    match rng.gen_range(0..5) {
        0 => format!("{first}.{last}@{domain}"),
        1 => format!("{}@qq.com", rng.gen_range(10000..999999999u64)),
        2 => format!("{first}{}@{domain}", rng.gen_range(1..99)),
        3 => format!("{last}_{first}@{domain}"),
        _ => format!("{first}{last}@{domain}"),
    }
}

fn nanp(rng: &mut StdRng) -> (String, String, String) {
    let area = format!(
        "{}{}{}",
        rng.gen_range(2..10),
        rng.gen_range(0..9),
        rng.gen_range(2..10)
    );
    let exchange = format!("{}{}", rng.gen_range(2..10), rng.gen_range(20..100));
    (area, exchange, digits(rng, 4))
}

// ---- the corpus ----

/// One case: the value and the category it holds (None: no personal identifier).
struct Case {
    value: String,
    want: Option<&'static str>,
    /// Where the expected category's match must be (whole trimmed value when None).
    span: Option<String>,
}

fn pos(value: String, cat: &'static str) -> Case {
    Case {
        value,
        want: Some(cat),
        span: None,
    }
}

/// A positive embedded in text: `span` is the identifier as written.
fn embedded(value: String, cat: &'static str, span: String) -> Case {
    Case {
        value,
        want: Some(cat),
        span: Some(span),
    }
}

fn neg(value: String) -> Case {
    Case {
        value,
        want: None,
        span: None,
    }
}

fn positives(rng: &mut StdRng, out: &mut Vec<Case>) {
    for _ in 0..60 {
        let m = mobile(rng);
        let (a, b, c) = (&m[..3], &m[3..7], &m[7..]);
        let spelled = match rng.gen_range(0..12) {
            0 => m.clone(),
            1 => format!("{a} {b} {c}"),
            2 => format!("{a}-{b}-{c}"),
            3 => format!("+86 {a} {b} {c}"),
            4 => format!("+86{m}"),
            5 => format!("0086-{m}"),
            6 => format!("86 {m}"),
            7 => full_width(&m),
            8 => full_width(&format!("{a}-{b}-{c}")),
            9 => full_width(&format!("+86 {a} {b} {c}")),
            10 => format!("+86 (0) {a} {b} {c}"),
            _ => format!("{a}{}", full_width(&format!("{b}{c}"))),
        };
        out.push(pos(spelled.clone(), "phone"));
        let text = match rng.gen_range(0..3) {
            0 => format!("联系电话：{spelled}，请工作日拨打"),
            1 => format!(
                "客户{}先生 {spelled} 已回访",
                pick(rng, &["王", "李", "张"])
            ),
            _ => format!("Call me at {spelled} after 6pm"),
        };
        out.push(embedded(text, "phone", spelled));
    }
    for _ in 0..30 {
        let (area, local) = match rng.gen_range(0..3) {
            0 => (
                "010".to_string(),
                format!("{}{}", rng.gen_range(2..10), digits(rng, 7)),
            ),
            1 => (
                "021".to_string(),
                format!("{}{}", rng.gen_range(2..10), digits(rng, 7)),
            ),
            _ => (
                format!("0{}", pick(rng, &["755", "571", "512", "371", "591"])),
                format!("{}{}", rng.gen_range(2..10), digits(rng, 7)),
            ),
        };
        let (l1, l2) = local.split_at(4);
        let spelled = match rng.gen_range(0..8) {
            0 => format!("{area}-{local}"),
            1 => format!("({area}) {l1} {l2}"),
            2 => format!("{area} {l1} {l2}"),
            3 => format!("+86 {} {l1} {l2}", &area[1..]),
            4 => full_width(&format!("{area}-{local}")),
            5 => format!("{area}-{local}-{}", rng.gen_range(1..9999)),
            6 => format!("({area}){local}"),
            _ => format!("{area}-{l1}-{l2}"),
        };
        out.push(pos(spelled, "phone"));
    }
    for _ in 0..30 {
        let (a, e, n) = nanp(rng);
        let spelled = match rng.gen_range(0..7) {
            0 => format!("({a}) {e}-{n}"),
            1 => format!("{a}-{e}-{n}"),
            2 => format!("{a}.{e}.{n}"),
            3 => format!("+1 {a} {e} {n}"),
            4 => format!("1-{a}-{e}-{n}"),
            5 => format!("{a}-{e}-{n} x{}", rng.gen_range(10..9999)),
            _ => format!("+1-{a}-{e}-{n}"),
        };
        out.push(pos(spelled, "phone"));
    }
    for _ in 0..20 {
        let spelled = match rng.gen_range(0..5) {
            0 => format!("+44 20 {} {}", digits(rng, 4), digits(rng, 4)),
            1 => format!("+49 30 {}", digits(rng, 7)),
            2 => format!("+81 3-{}-{}", digits(rng, 4), digits(rng, 4)),
            3 => format!(
                "+33 1 {} {} {} {}",
                digits(rng, 2),
                digits(rng, 2),
                digits(rng, 2),
                digits(rng, 2)
            ),
            _ => format!("+852 {} {}", digits(rng, 4), digits(rng, 4)),
        };
        out.push(pos(spelled, "phone"));
    }
    for _ in 0..60 {
        let e = email(rng);
        let spelled = match rng.gen_range(0..4) {
            0 | 1 => e.clone(),
            2 => full_width(&e),
            _ => e.replace('@', "＠"),
        };
        out.push(pos(spelled.clone(), "email"));
        out.push(embedded(
            format!("邮箱{spelled}，收到请回复"),
            "email",
            spelled,
        ));
    }
    for _ in 0..60 {
        let id = resident_id(rng);
        let (a, b, c) = (&id[..6], &id[6..14], &id[14..]);
        let spelled = match rng.gen_range(0..8) {
            0 | 1 => id.clone(),
            2 => format!("{a} {b} {c}"),
            3 => format!("{a}-{b}-{c}"),
            4 => full_width(&id),
            5 => full_width(&format!("{a} {b} {c}")),
            6 => id.to_lowercase(),
            _ => format!("{a}－{b}－{c}"),
        };
        out.push(pos(spelled.clone(), "cn_resident_id"));
        out.push(embedded(
            format!("身份证号：{spelled}。"),
            "cn_resident_id",
            spelled,
        ));
    }
    for _ in 0..40 {
        let v = vin(rng);
        let spelled = match rng.gen_range(0..4) {
            0 | 1 => v.clone(),
            2 => v.to_lowercase(),
            _ => full_width(&v),
        };
        out.push(pos(spelled, "vin"));
    }
    for _ in 0..40 {
        let p = plate(rng);
        let spelled = if rng.gen_bool(0.25) {
            full_width(&p)
        } else {
            p
        };
        out.push(pos(spelled, "cn_license_plate"));
    }
}

fn negatives(rng: &mut StdRng, out: &mut Vec<Case>) {
    for _ in 0..40 {
        // 177-17778612-7736-46: a mobile at the head of a longer hyphen- or space-joined group.
        let m = mobile(rng);
        let sep = *pick(rng, &["-", " ", "－"]);
        let spelled = match rng.gen_range(0..4) {
            0 => format!(
                "{}{sep}{}{sep}{}{sep}{}",
                &m[..3],
                &m[3..],
                digits(rng, 4),
                digits(rng, 2)
            ),
            1 => format!(
                "{}{sep}{}{sep}{}{sep}{}",
                &m[..3],
                &m[3..7],
                &m[7..],
                digits(rng, 4)
            ),
            2 => format!("{}{sep}{}{sep}{}", digits(rng, 4), &m[..3], &m[3..]),
            _ => format!("{m}{sep}{}{sep}{}", digits(rng, 4), digits(rng, 2)),
        };
        out.push(neg(spelled));
    }
    for _ in 0..30 {
        // Trade and transaction numbers of 18-28 digits, snowflake ids, timestamp order numbers.
        let v = match rng.gen_range(0..5) {
            0 => format!(
                "2024{:02}{:02}{}",
                rng.gen_range(1..13),
                rng.gen_range(1..29),
                digits(rng, 14)
            ),
            1 => format!("4200{}", digits(rng, 24)),
            2 => format!("1{}", digits(rng, 18)),
            3 => format!("2024031512{}{}", digits(rng, 4), digits(rng, 4)),
            _ => format!("ORD{}{}", rng.gen_range(2019..2025), digits(rng, 12)),
        };
        out.push(neg(v));
    }
    for _ in 0..30 {
        // Bank-like numbers and trade numbers grouped by four, with spaces or hyphens.
        let n = rng.gen_range(4..7);
        let sep = *pick(rng, &[" ", "-"]);
        let groups: Vec<String> = (0..n).map(|_| digits(rng, 4)).collect();
        out.push(neg(format!("6222{sep}{}", groups.join(sep))));
    }
    for _ in 0..40 {
        // Resident IDs with a wrong check character, plain and grouped.
        let id = resident_id(rng);
        let right = id.as_bytes()[17];
        let wrong = *pick(
            rng,
            &b"0123456789X"
                .iter()
                .copied()
                .filter(|&c| c != right)
                .collect::<Vec<_>>(),
        ) as char;
        let bad = format!("{}{wrong}", &id[..17]);
        let spelled = match rng.gen_range(0..3) {
            0 => bad.clone(),
            1 => format!("{} {} {}", &bad[..6], &bad[6..14], &bad[14..]),
            _ => full_width(&bad),
        };
        out.push(neg(spelled));
        // A valid ID inside a longer group.
        out.push(neg(format!(
            "{}-{}-{}-{}",
            &id[..6],
            &id[6..14],
            &id[14..],
            digits(rng, 2)
        )));
    }
    for _ in 0..30 {
        // VINs whose check digit is mandatory (Chinese L, North American 1-5) but wrong.
        let v = vin(rng);
        let mut b = v.into_bytes();
        b[8] = if b[8] == b'X' {
            b'0'
        } else if b[8] == b'9' {
            b'X'
        } else {
            b[8] + 1
        };
        out.push(neg(String::from_utf8(b).unwrap()));
    }
    for _ in 0..20 {
        let t = rng.gen_range(1_500_000_000u64..1_800_000_000);
        out.push(neg(t.to_string()));
        out.push(neg(format!("{t}{}", digits(rng, 3))));
    }
    let fixed = [
        "2024-03-15 12:30:45",
        "2024-03-15T12:30:45Z",
        "20240315",
        "2024/03/15",
        "２０２４－０３－１５",
        "550e8400-e29b-41d4-a716-446655440000",
        "d41d8cd98f00b204e9800998ecf8427e",
        "v1.2.3",
        "10.0.19045.3803",
        "1.2.3-beta.4",
        "¥1,234.56",
        "19.99",
        "192.168.1.20",
        "image@2x.png",
        "icon@3x.jpg",
        "package@1.2.3",
        "91350100M000100Y43",
        "订单号：２０２４０３１５１２３０４５０００１",
        "2024-0315-1380-0138",
        "ORD-2024-000123",
        "sku-88213-b",
        "1111111111111111111",
        "京CCCCCx",
        "无123456",
        "5 * 3 = 15",
        "user@",
        "@domain.com",
        "example.com",
        "AAAAAAAAAAAAAAAAA",
        "11111111111111111",
        "0x1f2e3d4c5b6a7988",
        "1234-5678-9012-3456",
        "138-0013-8000-2019",
        "177-17778612-7736-46",
        "177 17778612 7736 46",
        "１７７－１７７７８６１２－７７３６－４６",
    ];
    for v in fixed {
        out.push(neg(v.to_string()));
    }
    for _ in 0..20 {
        // Hyphen-joined digit groups of any lengths.
        let n = rng.gen_range(3..6);
        let groups: Vec<String> = (0..n)
            .map(|_| {
                let len = rng.gen_range(2..9);
                digits(rng, len)
            })
            .collect();
        out.push(neg(groups.join("-")));
    }
}

/// The categories this corpus is about. Its negatives hold things the later categories rightly
/// find (`192.168.1.20`, `王先生`); those have their own held-out test (tests/detect_categories.rs).
const FIVE: [&str; 5] = [
    "phone",
    "email",
    "cn_resident_id",
    "vin",
    "cn_license_plate",
];

/// The categories of [`FIVE`] found in `value`, with each one's matches.
fn found<'a>(
    engine: &'a Engine,
    value: &str,
    out: &mut Vec<Match>,
) -> BTreeMap<&'a str, Vec<(usize, usize)>> {
    engine.find(value.as_bytes(), out);
    let mut cats: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for m in out.iter() {
        let cat = engine.detectors()[m.detector].category.as_str();
        if FIVE.contains(&cat) {
            cats.entry(cat).or_default().push((m.start, m.end));
        }
    }
    cats
}

#[test]
fn held_out_spellings_precision_and_recall() {
    let engine = Engine::load(None).expect("built-in detectors load");
    let mut rng = StdRng::seed_from_u64(0x5eed_0011);
    let mut cases = Vec::new();
    positives(&mut rng, &mut cases);
    negatives(&mut rng, &mut cases);

    // Per category: (true positives, false negatives, false positives).
    let mut confusion: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    let mut true_negatives = 0;
    let mut misses = Vec::new();
    let mut out = Vec::new();
    for case in &cases {
        let got = found(&engine, &case.value, &mut out);
        if let Some(want) = case.want {
            let span = case.span.as_deref().unwrap_or(case.value.trim());
            let start = case.value.find(span).unwrap();
            let right = got
                .get(want)
                .is_some_and(|ms| ms.contains(&(start, start + span.len())));
            let e = confusion.entry(want).or_default();
            if right {
                e.0 += 1;
            } else {
                e.1 += 1;
                misses.push(format!("missed {want}: {:?} found {got:?}", case.value));
            }
        }
        let mut wrong = false;
        for cat in got.keys() {
            if Some(*cat) != case.want {
                confusion.entry(cat).or_default().2 += 1;
                misses.push(format!("false {cat}: {:?} ({:?})", case.value, got[cat]));
                wrong = true;
            }
        }
        if case.want.is_none() && !wrong {
            true_negatives += 1;
        }
    }
    let (tp, fneg, fp) = confusion
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    println!("{} cases; per category (tp, fn, fp):", cases.len());
    for (cat, c) in &confusion {
        println!("  {cat:18} {c:?}");
    }
    println!("true negatives: {true_negatives}");
    for m in &misses {
        println!("  {m}");
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fneg).max(1) as f64;
    println!("precision {precision:.4} recall {recall:.4} (tp {tp}, fn {fneg}, fp {fp})");
    assert!(cases.len() > 700, "{} cases", cases.len());
    assert!(precision >= 0.99, "precision {precision:.4}");
    assert!(recall >= 0.98, "recall {recall:.4}");
}

#[test]
fn masking_a_full_width_phone_masks_its_own_bytes() {
    let mut masker = Masker::new(Engine::load(None).unwrap());
    let mut out = String::new();
    masker.mask_into("电话：１３８００１３８０００，谢谢", &mut out);
    assert_eq!(out, "电话：１３８****８０００，谢谢");
    out.clear();
    masker.mask_into(
        "身份证 １１０１０５　１９４９１２３１　００２Ｘ 已核验",
        &mut out,
    );
    assert_eq!(out, "身份证 １１０１**　********　００２Ｘ 已核验");
    out.clear();
    masker.mask_into("１３８００１３８０００", &mut out);
    assert_eq!(out, "１３８****８０００");
}
