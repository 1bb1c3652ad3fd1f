//! Deterministic generators for the demo database: Chinese mobile numbers, emails, resident ID
//! numbers with valid MOD 11-2 check characters, VINs with valid check digits, Chinese plates and
//! free-text remarks. A fixed-seed SplitMix64 keeps every run identical on every platform.

/// SplitMix64: small, fast, deterministic across platforms and crate versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len() as u64) as usize]
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Allocated Chinese mobile prefixes (a subset).
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
];

/// An 11-digit Chinese mobile number.
pub fn mobile(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(MOBILE_PREFIXES), rng.digits(8))
}

/// A mobile number in one of the ways people store them.
pub fn mobile_formatted(rng: &mut Rng) -> String {
    let m = mobile(rng);
    match rng.below(10) {
        0 => format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]),
        1 => format!("{}-{}-{}", &m[..3], &m[3..7], &m[7..]),
        2 => format!("+86{m}"),
        _ => m,
    }
}

const PINYIN: &[&str] = &[
    "wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "hu",
    "zhu", "gao", "lin", "he", "guo", "ma", "luo",
];
const GIVEN_PINYIN: &[&str] = &[
    "wei", "fang", "na", "min", "jing", "lei", "qiang", "yan", "jun", "yong", "jie", "tao", "ming",
    "chao", "xia", "ping", "gang", "hui", "li", "hong",
];
const MAIL_DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "sina.com",
    "foxmail.com",
];

/// An email address; about one in six has a numeric (QQ-style) local part.
pub fn email(rng: &mut Rng, n: u64) -> String {
    let domain = rng.pick(MAIL_DOMAINS);
    if rng.chance(16) {
        return format!("{}{}@qq.com", 1 + rng.below(9), rng.digits(8));
    }
    let sep = rng.pick(&["", ".", "_"]);
    format!(
        "{}{sep}{}{}@{domain}",
        rng.pick(GIVEN_PINYIN),
        rng.pick(PINYIN),
        n % 1000
    )
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "强", "艳", "军", "勇", "杰", "涛", "明", "超", "霞", "平",
];

/// A Chinese personal name.
pub fn chinese_name(rng: &mut Rng) -> String {
    let mut s = String::from(rng.pick(SURNAMES));
    s.push_str(rng.pick(GIVEN));
    if rng.chance(60) {
        s.push_str(rng.pick(GIVEN));
    }
    s
}

/// Region codes with valid province prefixes (Beijing, Shanghai, Guangzhou, Shenzhen, Nanjing,
/// Hangzhou, Wuhan, Chengdu, Xi'an, Chongqing).
const REGIONS: &[&str] = &[
    "110101", "110105", "310104", "310115", "440106", "440305", "320102", "330106", "420106",
    "510107", "610113", "500103",
];

/// The ISO 7064 MOD 11-2 check character of the first 17 digits.
pub fn resident_id_check(first17: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// An 18-character resident ID number (GB 11643-1999) with a real birth date and a valid check.
pub fn resident_id(rng: &mut Rng) -> String {
    let year = 1955 + rng.below(50);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let mut s = format!(
        "{}{year:04}{month:02}{day:02}{}",
        rng.pick(REGIONS),
        rng.digits(3)
    );
    let check = resident_id_check(s.as_bytes());
    s.push(check);
    s
}

/// The ISO 3779 check digit of a 17-character VIN (position 9 is ignored).
pub fn vin_check(vin: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let value = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'H' => u32::from(c - b'A') + 1,
            b'J'..=b'N' => u32::from(c - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(c - b'S') + 2,
            _ => 0,
        }
    };
    let sum: u32 = vin.iter().zip(WEIGHTS).map(|(c, w)| value(*c) * w).sum();
    match sum % 11 {
        10 => 'X',
        r => char::from(b'0' + r as u8),
    }
}

/// World manufacturer identifiers of cars sold in China.
const WMI: &[&str] = &[
    "LSV", "LFV", "LVS", "LGB", "LHG", "LVH", "LBV", "LE4", "LRW", "LGX",
];
const VIN_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
const MODEL_YEARS: &[u8] = b"ABCDEFGHJKLMNPR";

/// A 17-character VIN with a valid check digit.
pub fn vin(rng: &mut Rng) -> String {
    let mut v: Vec<u8> = rng.pick(WMI).as_bytes().to_vec();
    for _ in 0..5 {
        v.push(VIN_CHARS[rng.below(VIN_CHARS.len() as u64) as usize]);
    }
    v.push(b'0');
    v.push(MODEL_YEARS[rng.below(MODEL_YEARS.len() as u64) as usize]);
    v.push(VIN_CHARS[rng.below(VIN_CHARS.len() as u64) as usize]);
    v.extend(rng.digits(6).bytes());
    v[8] = vin_check(&v) as u8;
    String::from_utf8(v).expect("ASCII")
}

const PROVINCES: &[&str] = &["京", "沪", "粤", "苏", "浙", "川", "鄂", "陕", "渝", "鲁"];
const PLATE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A Chinese plate: regular (`京A·12345`, up to 2 letters) or new energy (`粤BD12345`).
pub fn plate(rng: &mut Rng) -> String {
    let letter =
        |rng: &mut Rng| char::from(PLATE_LETTERS[rng.below(PLATE_LETTERS.len() as u64) as usize]);
    let mut s = String::from(rng.pick(PROVINCES));
    s.push(letter(rng));
    if rng.chance(25) {
        s.push(if rng.chance(50) { 'D' } else { 'F' });
        s.push(letter(rng));
        s.push_str(&rng.digits(4));
        return s;
    }
    if rng.chance(30) {
        s.push('·');
    }
    let letters_at = rng.below(5) as usize;
    for i in 0..5 {
        if i == letters_at && rng.chance(40) {
            s.push(letter(rng));
        } else {
            s.push_str(&rng.digits(1));
        }
    }
    s
}

/// Free-text order remarks; some embed a phone number or a plate.
pub fn remark(rng: &mut Rng) -> Option<String> {
    match rng.below(20) {
        0..=2 => Some(format!("买家要求周六看车，联系电话{}", mobile(rng))),
        3 => Some(format!(
            "Buyer asked to call {} before delivery",
            mobile_formatted(rng)
        )),
        4 => Some(format!("车牌{}已过户，等待交付", plate(rng))),
        5..=11 => Some(
            (*rng.pick(&[
                "已付定金",
                "等待检测报告",
                "价格已协商",
                "Delivered, no issues",
                "客户满意",
                "需要补充发票",
            ]))
            .to_string(),
        ),
        _ => None,
    }
}

/// Free-text inquiry messages; some embed a phone number or an email address.
pub fn message(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 | 1 => format!("请尽快回电 {}，谢谢", mobile(rng)),
        2 => format!("Please email me at {}", email(rng, 7)),
        _ => (*rng.pick(&[
            "这辆车还在吗？",
            "可以试驾吗？",
            "价格还能再谈吗",
            "Is the mileage accurate?",
            "有没有事故记录？",
            "周末可以看车吗",
        ]))
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_carry_a_valid_check_character() {
        // The example number of GB 11643-1999.
        assert_eq!(resident_id_check(b"11010519491231002"), 'X');
        let mut rng = Rng::new(1);
        for _ in 0..100 {
            let id = resident_id(&mut rng);
            assert_eq!(id.len(), 18);
            assert_eq!(
                resident_id_check(&id.as_bytes()[..17]),
                id.chars().last().unwrap()
            );
        }
    }

    #[test]
    fn vins_carry_a_valid_check_digit() {
        assert_eq!(vin_check(b"1M8GDM9AXKP042788"), 'X');
        let mut rng = Rng::new(2);
        for _ in 0..100 {
            let v = vin(&mut rng);
            assert_eq!(v.len(), 17);
            assert!(!v.contains(['I', 'O', 'Q']), "{v}");
            assert_eq!(vin_check(v.as_bytes()), v.as_bytes()[8] as char, "{v}");
        }
    }

    #[test]
    fn generators_are_deterministic() {
        let a: Vec<String> = (0..5).map(|_| mobile(&mut Rng::new(9))).collect();
        assert!(a.iter().all(|m| m == &a[0]));
        let mut rng = Rng::new(3);
        let m = mobile(&mut rng);
        assert_eq!(m.len(), 11);
        assert!(m.starts_with('1'));
        let p = plate(&mut rng);
        assert!(p.chars().count() >= 7);
    }
}
