//! Validators `cn_address` and `en_address`: postal addresses down to the street number.
//!
//! Chinese: the pattern finds a street-level number (`88号`, `3栋`, `501室`, `c座`); the
//! validator looks back in the same clause for an administrative division name (`cn_divisions`
//! dictionary) and takes the address from there through the last number part. Without a division
//! name, a road name with a number (`建国路88号`) is a weak match (needs a column-name hint or a
//! context word). English: house number + street name + suffix (Street, Ave...); the validator
//! takes a following unit, city, state and ZIP code into the match.

use super::text::{han_at, prev_char, starts_with_any};
use super::{Ctx, Verdict};

/// How far back (bytes) a division name may be from the street number.
const LOOK_BACK: usize = 150;

/// Characters that end a clause: an address never spans them.
fn clause_break(h: &[u8], i: usize) -> bool {
    match h[i] {
        b'\n' | b'\r' | b'\t' | b';' | b'!' | b'?' | b'|' => true,
        b',' => true,
        0xE3 | 0xEF => starts_with_any(h, i, &["，", "。", "；", "！", "？", "：", "、"]).is_some(),
        _ => false,
    }
}

/// Street-level words: a road, lane or compound name before the number.
const STREET_WORDS: &[&str] = &[
    "路", "街", "道", "巷", "弄", "胡同", "里", "村", "组", "小区", "花园", "大厦", "广场", "公寓",
    "苑", "庄", "园", "城", "镇", "乡", "社区", "中心", "家园", "新村", "港", "湾",
];

/// Number suffixes that continue an address after its first number part.
const NUMBER_PARTS: &[&str] = &[
    "号楼", "号院", "号", "弄", "栋", "幢", "座", "单元", "室", "层", "楼", "院", "户", "组", "门",
];

/// Validator `cn_address`.
pub fn check_cn(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    // The number part must not be glued to ASCII letters or digits before it.
    if start > 0 && hay[start - 1].is_ascii_alphanumeric() {
        return Verdict::Reject;
    }
    // Back to the start of the clause.
    let mut from = start;
    while from > 0 && start - from < LOOK_BACK {
        let p = prev_char(hay, from);
        if clause_break(hay, p) {
            break;
        }
        from = p;
    }
    let end = extend_number_parts(hay, end);
    match ctx.dicts.cn_divisions.find_in(hay, from, start) {
        Some((ds, _)) => Verdict::Accept {
            start: ds,
            end,
            weak: false,
        },
        None => {
            // A road name right before the number: weak.
            let near = prev_han_run(hay, start, from);
            let has_street = (near..start)
                .any(|i| han_at(hay, i) == 3 && starts_with_any(hay, i, STREET_WORDS).is_some());
            if has_street && near < start {
                Verdict::Accept {
                    start: near,
                    end,
                    weak: true,
                }
            } else {
                Verdict::Reject
            }
        }
    }
}

/// The start of the run of Han characters (and ASCII letters/digits, `-`) ending at `i`, not
/// before `floor`.
fn prev_han_run(h: &[u8], i: usize, floor: usize) -> usize {
    let mut s = i;
    while s > floor {
        let p = prev_char(h, s);
        if han_at(h, p) == 3 || h[p].is_ascii_alphanumeric() || h[p] == b'-' {
            s = p;
        } else {
            break;
        }
    }
    s
}

/// Extends an address past further number parts (`88号院3号楼2单元501室`, `3栋2单元501`).
fn extend_number_parts(h: &[u8], mut end: usize) -> usize {
    loop {
        let mut p = end;
        while p < h.len() && (h[p].is_ascii_alphanumeric() || h[p] == b'-' || h[p] == b'#') {
            p += 1;
        }
        if let Some(e) = starts_with_any(h, p, NUMBER_PARTS) {
            end = e;
            continue;
        }
        // A trailing room number after a unit or building part.
        if p > end && h[end..p].iter().all(u8::is_ascii_digit) {
            end = p;
        }
        return end;
    }
}

/// Validator `en_address`.
pub fn check_en(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if start > 0 && (hay[start - 1].is_ascii_alphanumeric() || hay[start - 1] == b'.') {
        return Verdict::Reject;
    }
    // The house number: 1-6 digits, not a year followed by a month or a price.
    let digits = hay[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 6 {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end: extend_en(hay, end),
        weak: false,
    }
}

/// Extends an English street address over a unit, city, state and ZIP code when the rest of
/// the clause is made of them (letters, digits, spaces, `,.#-'`, at most 90 bytes).
fn extend_en(h: &[u8], end: usize) -> usize {
    let mut p = end;
    while p < h.len()
        && p - end <= 90
        && (h[p].is_ascii_alphanumeric()
            || matches!(h[p], b' ' | b',' | b'.' | b'#' | b'-' | b'\''))
    {
        p += 1;
    }
    if p - end > 90 {
        return end;
    }
    // Only when it ends at the end of the value or at a clause break, and holds a ZIP code, a
    // unit or a state.
    if p < h.len() && !clause_break(h, p) && h[p] != b'\n' {
        return end;
    }
    let rest = &h[end..p];
    let zip = rest.windows(5).any(|w| w.iter().all(u8::is_ascii_digit));
    let unit = [&b"Apt"[..], b"Suite", b"Unit", b"#"]
        .iter()
        .any(|u| rest.windows(u.len()).any(|w| w == *u));
    if zip || unit {
        let mut e = p;
        while e > end && matches!(h[e - 1], b' ' | b',' | b'-') {
            e -= 1;
        }
        e
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    fn run(pattern: &str, check: super::super::CheckFn, s: &str) -> Option<(String, bool)> {
        let re = Regex::new(pattern).unwrap();
        let ctx = Ctx::now();
        let mut pos = 0;
        while let Some(m) = re.find_at(s.as_bytes(), pos) {
            if let Verdict::Accept { start, end, weak } =
                check(s.as_bytes(), m.start(), m.end(), &ctx)
            {
                return Some((s[start..end].to_string(), weak));
            }
            pos = m.start() + 1;
        }
        None
    }

    const CN: &str = r"[0-9A-Za-z]+(?:-[0-9]+)*(?:号|弄|栋|幢|座|单元|室|层)";

    #[test]
    fn chinese_addresses() {
        let a = |s| run(CN, check_cn, s);
        assert_eq!(
            a("广东省深圳市南山区科技园路1号"),
            Some(("广东省深圳市南山区科技园路1号".into(), false))
        );
        assert_eq!(
            a("收货地址：北京市朝阳区建国路88号院3号楼2单元501室，谢谢"),
            Some(("北京市朝阳区建国路88号院3号楼2单元501室".into(), false))
        );
        assert_eq!(a("建国路88号"), Some(("建国路88号".into(), true)));
        assert_eq!(a("第3号"), None);
    }

    const EN: &str = r"[0-9]{1,6}[A-Za-z]? (?:[NSEW]\.? )?(?:[A-Z][a-zA-Z'.-]*|[0-9]{1,3}(?:st|nd|rd|th)) (?:[A-Z][a-zA-Z'.-]* ){0,3}(?:Street|St|Avenue|Ave|Road|Rd)\.?";

    #[test]
    fn english_addresses() {
        let a = |s| run(EN, check_en, s);
        assert_eq!(
            a("123 Main St, Springfield, IL 62704"),
            Some(("123 Main St, Springfield, IL 62704".into(), false))
        );
        assert_eq!(a("see 12 Oak Road"), Some(("12 Oak Road".into(), false)));
    }
}
