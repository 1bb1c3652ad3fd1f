//! Chinese motor vehicle plates (GA 36-2018). The pattern finds a province abbreviation and a
//! letter (or `使`); this validator parses the rest:
//!
//! - authority letter A-Z except I (O exists: 粤O); lower case accepted (typed data);
//! - an optional separator after it: middle dot `·`, bullet `•`, katakana middle dot `・`, hyphen
//!   or space;
//! - regular: 5 of `[A-HJ-NP-Z0-9]`, at most 2 letters;
//! - new energy: D/F + one of `[A-HJ-NP-Z0-9]` + 4 digits (small), 5 digits + D/F (large);
//! - suffix plates: 4 characters + 挂 学 警 港 澳 领; embassy: 使 + 6 digits;
//! - never glued to more ASCII letters or digits.
//!
//! Military and armed-police formats are not detected (ambiguous with ordinary codes).

use super::{before, is_alnum, is_digit, Ctx, Verdict};

/// True for the 31 province abbreviations used on plates.
pub(crate) fn is_province(c: char) -> bool {
    matches!(
        c,
        '京' | '津'
            | '冀'
            | '晋'
            | '蒙'
            | '辽'
            | '吉'
            | '黑'
            | '沪'
            | '苏'
            | '浙'
            | '皖'
            | '闽'
            | '赣'
            | '鲁'
            | '豫'
            | '鄂'
            | '湘'
            | '粤'
            | '桂'
            | '琼'
            | '渝'
            | '川'
            | '贵'
            | '云'
            | '藏'
            | '陕'
            | '甘'
            | '青'
            | '宁'
            | '新'
    )
}

const SUFFIXES: [&str; 6] = ["挂", "学", "警", "港", "澳", "领"];
const SEPARATORS: [&str; 5] = ["·", "•", "・", "-", " "];

/// The length of the separator at `i`, or 0.
fn separator_len(hay: &[u8], i: usize) -> usize {
    match hay.get(i) {
        // The lead bytes of the dots; most plates have none.
        Some(0xC2 | 0xE2 | 0xE3 | b'-' | b' ') => SEPARATORS
            .iter()
            .find(|s| hay[i..].starts_with(s.as_bytes()))
            .map_or(0, |s| s.len()),
        _ => 0,
    }
}

/// Validator `cn_plate`.
pub fn check(hay: &[u8], start: usize, _end: usize, _ctx: &Ctx) -> Verdict {
    let rest = &hay[start..];
    if let Some(digits) = rest.strip_prefix("使".as_bytes()) {
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        let end = start + 3 + 6;
        return if n == 6 && !before(hay, start, is_digit) {
            Verdict::Accept {
                start,
                end,
                weak: false,
            }
        } else {
            Verdict::Reject
        };
    }
    // Province (3 bytes) + authority letter.
    let province_ok = rest
        .get(..3)
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.chars().next())
        .is_some_and(is_province);
    let (true, Some(&letter)) = (province_ok, rest.get(3)) else {
        return Verdict::Reject;
    };
    if !letter.is_ascii_alphabetic() || letter.eq_ignore_ascii_case(&b'I') {
        return Verdict::Reject;
    }
    let p = start + 4 + separator_len(hay, start + 4);
    let run_end = p + hay[p..].iter().take_while(|b| is_alnum(**b)).count();
    let body = &hay[p..run_end];
    if body
        .iter()
        .any(|b| matches!(b.to_ascii_uppercase(), b'I' | b'O'))
    {
        return Verdict::Reject;
    }
    let letters = body.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let is_df = |b: u8| matches!(b.to_ascii_uppercase(), b'D' | b'F');
    let end = match body.len() {
        5 if letters <= 2 => run_end,
        6 if is_df(body[0]) && body[2..].iter().all(u8::is_ascii_digit) => run_end,
        6 if body[..5].iter().all(u8::is_ascii_digit) && is_df(body[5]) => run_end,
        4 if letters <= 2 => match SUFFIXES
            .iter()
            .find(|s| hay[run_end..].starts_with(s.as_bytes()))
        {
            Some(s) => run_end + s.len(),
            None => return Verdict::Reject,
        },
        _ => return Verdict::Reject,
    };
    Verdict::Accept {
        start,
        end,
        weak: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(s: &str) -> Option<&str> {
        match check(
            s.as_bytes(),
            0,
            4,
            &Ctx {
                today: 0,
                ..Ctx::now()
            },
        ) {
            Verdict::Accept { start, end, .. } => Some(&s[start..end]),
            _ => None,
        }
    }

    #[test]
    fn forms() {
        for good in [
            "京A12345",
            "京A·12345",
            "京A•12345",
            "京A-12345",
            "京A 12345",
            "沪AB1234",
            "粤O12345",
            "粤BD12345",
            "粤BDF1234",
            "苏A12345D",
            "京A1234挂",
            "粤Z1234港",
            "京a12345",
            "使123456",
        ] {
            assert_eq!(span(good), Some(good), "{good}");
        }
        assert_eq!(span("京A12345，请挪车"), Some("京A12345"));
    }

    #[test]
    fn not_plates() {
        for bad in [
            "京I12345",  // I is never an authority letter
            "京A1234I",  // I never in the body
            "京AO1234",  // O never in the body
            "京AABC12",  // three letters
            "京A123456", // six characters, not new energy
            "京A1234",   // too short
            "京A12345X", // glued to more letters
            "京A1234挡", // not a suffix
            "使12345",
            "黔A12345", // alternate names never appear on plates
            "滇A12345",
        ] {
            assert_eq!(span(bad), None, "{bad}");
        }
    }
}
