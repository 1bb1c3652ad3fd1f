//! Validators `cn_person_name` and `latin_person_name`: a person's name, as a whole value or next
//! to a context word in free text.
//!
//! Chinese: a surname from the `cn_surnames` dictionary (single or compound) and 1-2 given-name
//! characters; minority names joined by a middle dot. Latin: 2-4 capitalised words whose first is
//! a common given name (`given_names_latin`) or whose last is a common family name
//! (`surnames_latin`), optionally after a title (Mr, Dr...) and before a suffix (Jr, PhD...), or
//! "Last, First". A single value is weak evidence of a name (王府, 高山 look like names): columns
//! decide on the share of distinct values (see `classify`).

use std::sync::LazyLock;

use super::text::{
    ends_with_any, han_at, han_count, han_in, han_set, prev_char, starts_with_any, trim_span,
    word_set, WordSet,
};
use super::{Ctx, Verdict};

/// Words before a Chinese name in free text (the detector's pattern lists the same).
pub(crate) const CN_CONTEXT: &[&str] = &[
    "姓名",
    "联系人",
    "收货人",
    "收件人",
    "收款人",
    "持卡人",
    "开户名",
    "户名",
    "乘客",
    "车主",
    "驾驶员",
    "司机",
    "患者",
    "客户",
    "顾客",
    "业主",
    "经办人",
    "申请人",
    "签收人",
    "负责人",
];

/// Titles after a Chinese surname or name.
pub(crate) const CN_TITLES: &[&str] = &["先生", "女士", "小姐"];

/// Last characters of place, organisation and product words, never of a two- or three-character
/// name in practice.
static NOT_NAME_END: LazyLock<WordSet> = LazyLock::new(|| {
    han_set("市省区县路街道巷村镇乡店司厂院局部楼号室馆园站场所队组处科委会行社团校网吧厅城桥港湾门业集宝车机器表品类型式码单价款费额量率度")
});

/// Characters that end a name in free text (the next field or a particle).
static CN_STOP: LazyLock<WordSet> =
    LazyLock::new(|| han_set("电手先女小的是在和与于等号住地身性年男联收寄，。"));

/// Validator `cn_person_name`.
pub fn check_cn(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    let (start, end) = trim_span(hay, start, end);
    // Free text: a context word, then the name.
    if let Some(after) = starts_with_any(hay, start, CN_CONTEXT) {
        let mut p = after;
        while p < end {
            if let Some(e) = starts_with_any(hay, p, &[":", "：", " ", "\u{3000}", "为", "是"]) {
                p = e;
            } else {
                break;
            }
        }
        return match name_after_context(hay, p, end.max(p), ctx) {
            Some(e) => Verdict::Accept {
                start: p,
                end: e,
                weak: false,
            },
            None => Verdict::Reject,
        };
    }
    // Free text: a surname (and given name) before 先生/女士/小姐.
    if let Some(title) = ends_with_any(hay, end, CN_TITLES) {
        return match surname_before_title(hay, start, title, ctx) {
            Some(s) => Verdict::Accept {
                start: s,
                end,
                weak: false,
            },
            None => Verdict::Reject,
        };
    }
    // A whole value (the pattern anchors it).
    if whole_cn_name(hay, start, end, ctx) {
        Verdict::Accept {
            start,
            end,
            weak: false,
        }
    } else {
        Verdict::Reject
    }
}

/// True when `hay[start..end]` is a Chinese name: surname + 1-2 characters, or a minority name
/// with a middle dot.
pub fn whole_cn_name(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> bool {
    let dots: &[&str] = &["·", "•", "・"];
    // Each dot starts with one of these bytes (common Han characters start with 0xE4-0xE9).
    let dot = memchr::memchr3_iter(0xC2, 0xE2, 0xE3, &hay[start..end])
        .find(|&k| starts_with_any(hay, start + k, dots).is_some());
    if dot.is_some() {
        // 阿卜杜拉·艾买提: two or more Han parts of 1-10 characters.
        let mut parts = 0;
        let mut i = start;
        let mut seg = start;
        while i <= end {
            let dot = if i < end {
                starts_with_any(hay, i, dots)
            } else {
                Some(end)
            };
            if let Some(after) = dot {
                match han_count(hay, seg, i) {
                    Some(n) if (1..=10).contains(&n) => parts += 1,
                    _ => return false,
                }
                if i == end {
                    break;
                }
                i = after;
                seg = after;
            } else {
                i += super::text::char_len(hay, i);
            }
        }
        return parts >= 2 && !han_in(hay, prev_char(hay, end), &NOT_NAME_END);
    }
    let Some(n) = han_count(hay, start, end) else {
        return false;
    };
    let Some(se) = ctx.dicts.cn_surnames.prefix_at(&hay[..end], start) else {
        return false;
    };
    let Some(sn) = han_count(hay, start, se) else {
        return false;
    };
    let given = n.saturating_sub(sn);
    if !(1..=2).contains(&given) {
        // A compound surname alone, or a single surname with 3+ characters: try the single
        // surname reading of a compound one (欧阳 is also 欧 + 阳).
        return false;
    }
    !han_in(hay, prev_char(hay, end), &NOT_NAME_END)
}

/// The end of the name starting at `p` after a context word: surname + 1-2 characters, stopping
/// at a character that starts the next field.
fn name_after_context(hay: &[u8], p: usize, end: usize, ctx: &Ctx) -> Option<usize> {
    let se = ctx.dicts.cn_surnames.prefix_at(&hay[..end], p)?;
    han_count(hay, p, se)?;
    let mut e = se;
    let mut given = 0;
    while given < 2 && e < end && han_at(hay, e) == 3 && !han_in(hay, e, &CN_STOP) {
        e += 3;
        given += 1;
    }
    if given == 0 && !(e < hay.len() && starts_with_any(hay, e, CN_TITLES).is_some()) {
        return None;
    }
    Some(e)
}

/// The start of the surname (and given name) in `hay[start..title]` right before a title.
fn surname_before_title(hay: &[u8], start: usize, title: usize, ctx: &Ctx) -> Option<usize> {
    // Longest reading first: 3, 2, then 1 characters before the title.
    for chars in (1..=3).rev() {
        let s = title.checked_sub(3 * chars)?;
        if s < start || han_count(hay, s, title).is_none() {
            continue;
        }
        if let Some(se) = ctx.dicts.cn_surnames.prefix_at(&hay[..title], s) {
            let sn = han_count(hay, s, se)?;
            if chars - sn <= 2 {
                return Some(s);
            }
        }
    }
    None
}

/// Titles before a Latin name (the detector's whole-value pattern lists the same).
pub(crate) const TITLES: &[&str] = &["Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Mx"];
/// Suffixes after a Latin name.
const SUFFIXES: &[&str] = &[
    "Jr", "Sr", "II", "III", "IV", "V", "MD", "DDS", "PhD", "DVM", "Esq", "RN", "CPA",
];
/// Words that make a capitalised phrase an organisation, product or place.
const NOT_NAME_WORDS: &[&str] = &[
    "Inc",
    "Ltd",
    "LLC",
    "Corp",
    "Corporation",
    "Co",
    "Company",
    "Group",
    "Holdings",
    "Bank",
    "University",
    "College",
    "School",
    "Hospital",
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Drive",
    "Boulevard",
    "Park",
    "City",
    "County",
    "Center",
    "Centre",
    "Store",
    "Shop",
    "Pro",
    "Max",
    "Plus",
    "Mini",
    "Ultra",
    "Edition",
    "Series",
    "Model",
    "Air",
    "Cloud",
    "Service",
    "Services",
    "Systems",
    "Technologies",
    "Technology",
    "Solutions",
    "Partners",
    "Associates",
    "Foundation",
    "Institute",
    "Hotel",
    "Restaurant",
    "Cafe",
    "Airport",
    "Station",
    "Beach",
    "Island",
    "River",
    "Lake",
    "Mountain",
    "North",
    "South",
    "East",
    "West",
    "New",
    "The",
    "And",
    "Of",
    "For",
];

/// Whether `word` is one of [`NOT_NAME_WORDS`].
fn not_name_word(word: &[u8]) -> bool {
    static SET: LazyLock<WordSet> = LazyLock::new(|| word_set(NOT_NAME_WORDS.iter().copied()));
    SET.contains(word)
}
/// Context words before a Latin name in free text (the detector's pattern lists the same).
pub(crate) const LATIN_CONTEXT: &[&str] = &[
    "Name",
    "name",
    "NAME",
    "Contact",
    "contact",
    "Attn",
    "ATTN",
    "Recipient",
    "recipient",
    "Customer",
    "customer",
    "Cardholder",
    "cardholder",
];

/// Validator `latin_person_name`.
pub fn check_latin(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    let (start, end) = trim_span(hay, start, end);
    if start > 0 && hay[start - 1].is_ascii_alphanumeric() {
        return Verdict::Reject;
    }
    if end < hay.len() && hay[end].is_ascii_alphanumeric() {
        return Verdict::Reject;
    }
    let mut words: [(usize, usize); 8] = [(0, 0); 8];
    let mut n = 0;
    let mut i = start;
    let mut comma_after: Option<usize> = None;
    while i < end {
        while i < end && matches!(hay[i], b' ' | b',' | b'.' | b':') {
            if hay[i] == b',' && comma_after.is_none() {
                comma_after = Some(n);
            }
            i += 1;
        }
        let ws = i;
        while i < end && (hay[i].is_ascii_alphabetic() || matches!(hay[i], b'\'' | b'-')) {
            i += 1;
        }
        if i == ws {
            if i < end {
                return Verdict::Reject;
            }
            break;
        }
        if n == words.len() {
            return Verdict::Reject;
        }
        words[n] = (ws, i);
        n += 1;
    }
    let words = &words[..n];
    let w = |k: usize| &hay[words[k].0..words[k].1];
    let is = |k: usize, list: &[&str]| list.iter().any(|t| w(k) == t.as_bytes());
    // Leading context word or title; trailing suffixes.
    let mut lo = 0;
    let mut titled = false;
    let mut context = false;
    if lo < n && is(lo, LATIN_CONTEXT) {
        lo += 1;
        context = true;
        if lo < n && is(lo, TITLES) {
            lo += 1;
            titled = true;
        }
    } else if lo < n && is(lo, TITLES) {
        lo += 1;
        titled = true;
    }
    let mut hi = n;
    while hi > lo + 1 && is(hi - 1, SUFFIXES) {
        hi -= 1;
    }
    let count = hi - lo;
    if count == 0 || count > 4 || (count == 1 && !titled) {
        return Verdict::Reject;
    }
    for k in lo..hi {
        let t = w(k);
        let single_initial = t.len() == 1;
        if !t[0].is_ascii_uppercase()
            || (!single_initial && t[1..].iter().all(u8::is_ascii_uppercase) && t.len() > 2)
            || not_name_word(t)
        {
            return Verdict::Reject;
        }
    }
    let given = |k: usize| ctx.dicts.given_names_latin.contains(w(k));
    let family = |k: usize| ctx.dicts.surnames_latin.contains(w(k));
    let ok = if titled {
        true
    } else if comma_after == Some(lo + 1) && count == 2 {
        // Last, First
        given(lo + 1) || (family(lo) && w(lo + 1).len() > 1)
    } else {
        given(lo) || (family(hi - 1) && w(lo).len() > 1 && count <= 3)
    };
    if !ok {
        return Verdict::Reject;
    }
    let s = if context {
        words[lo - usize::from(titled)].0
    } else {
        words[0].0
    };
    let mut e = words[n - 1].1;
    if e < end && hay[e] == b'.' {
        e += 1;
    }
    Verdict::Accept {
        start: s,
        end: e,
        weak: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn(s: &str) -> Option<&str> {
        let ctx = Ctx::now();
        match check_cn(s.as_bytes(), 0, s.len(), &ctx) {
            Verdict::Accept { start, end, .. } => Some(&s[start..end]),
            _ => None,
        }
    }

    fn latin(s: &str) -> Option<&str> {
        let ctx = Ctx::now();
        match check_latin(s.as_bytes(), 0, s.len(), &ctx) {
            Verdict::Accept { start, end, .. } => Some(&s[start..end]),
            _ => None,
        }
    }

    #[test]
    fn chinese_names() {
        assert_eq!(cn("张伟"), Some("张伟"));
        assert_eq!(cn("欧阳娜娜"), Some("欧阳娜娜"));
        assert_eq!(cn("阿卜杜拉·艾买提"), Some("阿卜杜拉·艾买提"));
        assert_eq!(cn("北京市"), None);
        assert_eq!(cn("华为技术有限公司"), None);
        assert_eq!(cn("王府井店"), None);
        assert_eq!(cn("联系人王伟电话"), Some("王伟"));
        assert_eq!(cn("姓名：李娜"), Some("李娜"));
        assert_eq!(cn("联系王先生"), Some("王先生"));
    }

    #[test]
    fn latin_names() {
        assert_eq!(latin("John Smith"), Some("John Smith"));
        assert_eq!(
            latin("Mrs. Jennifer K. Lopez DDS"),
            Some("Mrs. Jennifer K. Lopez DDS")
        );
        assert_eq!(latin("Smith, John"), Some("Smith, John"));
        assert_eq!(latin("Xyzzy Johnson"), Some("Xyzzy Johnson"));
        assert_eq!(latin("Acme Corporation"), None);
        assert_eq!(latin("Apple Watch"), None);
        assert_eq!(latin("Lorem Ipsum"), None);
        assert_eq!(latin("Beijing Road"), None);
        assert_eq!(latin("John"), None);
    }
}
