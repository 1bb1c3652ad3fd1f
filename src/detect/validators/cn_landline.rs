//! Chinese landlines: 0 + area code (10, 2x, or three digits) + a 7-8 digit local number starting
//! 2-9 (8 digits after two-digit area codes), written plain, with a hyphen or space, with the area
//! code in parentheses, or as +86 without the 0; and 10-digit 400/800 service numbers.

use super::{boundary, digits_into, in_longer_group, is_alnum, Ctx, Verdict};

/// True when the digits (values 0-9) after the trunk 0 form area code + local number.
pub fn valid_national(d: &[u8]) -> bool {
    let area = match d.first() {
        Some(1) if d.get(1) == Some(&0) => 2,
        Some(1) => return false,
        Some(2) => 2,
        Some(3..=9) => 3,
        _ => return false,
    };
    let local = &d[area.min(d.len())..];
    let len_ok = if area == 2 {
        local.len() == 8
    } else {
        matches!(local.len(), 7 | 8)
    };
    len_ok && local.first().is_some_and(|&x| x >= 2)
}

/// The end of a hyphenated extension of 1-5 digits at `end` (`010-62345678-8001`), if one is
/// there, ends the digit group and follows a local number written plain (after a grouped one,
/// `0512-3456-7890-1234`, it is one more group).
fn extension_end(hay: &[u8], end: usize) -> Option<usize> {
    let local_run = hay[..end]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .take(7)
        .count();
    if hay.get(end) != Some(&b'-') || local_run < 7 {
        return None;
    }
    let n = hay[end + 1..]
        .iter()
        .take(6)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let e = end + 1 + n;
    let more = hay.get(e).is_some_and(|&b| is_alnum(b) || b == b'-');
    ((1..=5).contains(&n) && !more).then_some(e)
}

/// Validator `cn_landline`.
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    let service = matches!(hay.get(start), Some(b'4' | b'8'));
    let with_ext = if service {
        None
    } else {
        extension_end(hay, end)
    };
    if in_longer_group(hay, start, with_ext.unwrap_or(end)) {
        return Verdict::Reject;
    }
    let s = &hay[start..end];
    let mut buf = [0u8; 16];
    let Some(n) = digits_into(s, &mut buf) else {
        return Verdict::Reject;
    };
    let d = &buf[..n];
    let ok = match s.first() {
        Some(b'+') => d.starts_with(&[8, 6]) && valid_national(&d[2..]),
        Some(b'0') if s.starts_with(b"0086") => valid_national(&d[4..]),
        Some(b'0') | Some(b'(') => d.first() == Some(&0) && valid_national(&d[1..]),
        Some(b'4') | Some(b'8') => n == 10 && matches!(d[..3], [4, 0, 0] | [8, 0, 0]),
        _ => false,
    };
    if ok {
        Verdict::Accept {
            start,
            end: with_ext.unwrap_or(end),
            weak: false,
        }
    } else {
        Verdict::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        matches!(
            check(
                s.as_bytes(),
                0,
                s.len(),
                &Ctx {
                    today: 20250101,
                    ..Ctx::now()
                }
            ),
            Verdict::Accept { .. }
        )
    }

    #[test]
    fn extensions_and_longer_groups() {
        let ctx = Ctx {
            today: 20250101,
            ..Ctx::now()
        };
        let v = b"010-62345678-8001";
        assert_eq!(
            check(v, 0, 12, &ctx),
            Verdict::Accept {
                start: 0,
                end: 17,
                weak: false
            }
        );
        for bad in [
            "0512-3456-7890-1234",
            "010-62345678-8001-2",
            "010-62345678-123456",
        ] {
            let end = match bad {
                "0512-3456-7890-1234" => 14,
                _ => 12,
            };
            assert_eq!(
                check(bad.as_bytes(), 0, end, &ctx),
                Verdict::Reject,
                "{bad}"
            );
        }
    }

    #[test]
    fn forms() {
        for good in [
            "010-62345678",
            "01062345678",
            "(021) 52345678",
            "0755-2345678",
            "0755-23456789",
            "+86 10 62345678",
            "+86-755-23456789",
            "0086 21 52345678",
            "400-123-4567",
            "8001234567",
            "(010) 6552 9988",
            "010 6552-9988",
            "0755 234 5678",
            "+86 10 6552 9988",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "010-12345678",
            "021-2345678",
            "0755-1234567",
            "011-62345678",
            "0755-234567890",
            "4001234567890",
            "5001234567",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }
}
