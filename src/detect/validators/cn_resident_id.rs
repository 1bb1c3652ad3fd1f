//! Chinese resident identity card numbers (GB 11643-1999): province prefix, birth date from
//! 1900-01-01 to today, ISO 7064 MOD 11-2 check character, written plain or grouped 6-8-4 for
//! display with spaces or hyphens (`110105 19900307 123X`); and the legacy 15-digit form (weak).

use super::{boundary, digits_into, in_longer_group, is_alnum, num, valid_date, Ctx, Verdict};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// True for the two-digit province codes on issued cards (11-15, 21-23, 31-37, 41-46, 50-54,
/// 61-65, 71, 81-83). County codes are deliberately not checked: abolished ones stay on cards.
pub fn valid_province(p: u32) -> bool {
    matches!(p, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

/// The MOD 11-2 check character for the first 17 digits (ASCII digits).
pub fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| (b.wrapping_sub(b'0') as u32) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// True when `s` (exactly 18 bytes) is a valid resident id number.
pub fn is_valid(s: &[u8], today: u32) -> bool {
    if s.len() != 18 || !s[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = s[17].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == b'X') {
        return false;
    }
    if !valid_province(num(&s[..2])) {
        return false;
    }
    let (y, m, d) = (num(&s[6..10]), num(&s[10..12]), num(&s[12..14]));
    if !valid_date(y, m, d) || y < 1900 || y * 10_000 + m * 100 + d > today {
        return false;
    }
    check_char(&s[..17]) == last
}

/// True when `s` (exactly 15 digits) has the legacy structure: province, 19YYMMDD birth date.
pub fn is_valid_legacy15(s: &[u8]) -> bool {
    let mut buf = [0u8; 15];
    if s.len() != 15 || digits_into(s, &mut buf) != Some(15) {
        return false;
    }
    let (y, m, d) = (1900 + num(&s[6..8]), num(&s[8..10]), num(&s[10..12]));
    valid_province(num(&s[..2])) && valid_date(y, m, d)
}

/// The 18 characters of a number written plain (18 bytes) or grouped 6-8-4 with one kind of
/// separator, a space or a hyphen (20 bytes).
fn ungrouped(s: &[u8]) -> Option<[u8; 18]> {
    let mut out = [0u8; 18];
    match s.len() {
        18 => out.copy_from_slice(s),
        20 if s[6] == s[15] && matches!(s[6], b' ' | b'-') => {
            out[..6].copy_from_slice(&s[..6]);
            out[6..14].copy_from_slice(&s[7..15]);
            out[14..].copy_from_slice(&s[16..]);
        }
        _ => return None,
    }
    Some(out)
}

/// Validator `cn_resident_id`: a candidate of 18 characters, or 20 grouped 6-8-4, not inside a
/// longer alphanumeric token nor a piece of a longer digit group.
pub fn check(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> Verdict {
    let Some(id) = ungrouped(&hay[start..end]) else {
        return Verdict::Reject;
    };
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    if is_valid(&id, ctx.today) && !in_longer_group(hay, start, end) {
        Verdict::Accept {
            start,
            end,
            weak: false,
        }
    } else {
        Verdict::Reject
    }
}

/// Validator `cn_resident_id_legacy15`: always weak (it collides with IMEIs).
pub fn check_legacy15(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if end - start != 15 {
        return Verdict::Reject;
    }
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    if is_valid_legacy15(&hay[start..end]) {
        Verdict::Accept {
            start,
            end,
            weak: true,
        }
    } else {
        Verdict::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: u32 = 20250101;

    /// Builds a valid number from 17 digits.
    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn known_valid_numbers() {
        assert!(is_valid(b"11010519491231002X", TODAY));
        assert!(is_valid(b"11010519491231002x", TODAY));
        assert!(!is_valid(b"440524188001010014", TODAY)); // 1880 < 1900
        assert!(is_valid(with_check("11010119900307123").as_bytes(), TODAY));
    }

    #[test]
    fn wrong_check_character() {
        assert!(!is_valid(b"110105194912310021", TODAY));
        assert!(!is_valid(b"110105194912310029", TODAY));
    }

    #[test]
    fn province_and_dates() {
        // Province 19 does not exist.
        assert!(!is_valid(with_check("19010119900307123").as_bytes(), TODAY));
        // 1990-02-30 is not a date; 2000-02-29 is (leap year), 1900-02-29 is not.
        assert!(!is_valid(with_check("11010119900230123").as_bytes(), TODAY));
        assert!(is_valid(with_check("11010120000229123").as_bytes(), TODAY));
        assert!(!is_valid(with_check("11010119000229123").as_bytes(), TODAY));
        // Born in the future.
        assert!(!is_valid(with_check("11010120300101123").as_bytes(), TODAY));
        assert!(is_valid(with_check("11010119000101123").as_bytes(), TODAY));
    }

    #[test]
    fn timestamp_order_numbers_and_social_credit_codes() {
        // YYYYMMDDhhmmss + sequence: province 20 does not exist.
        assert!(!is_valid(b"202403151230450001", TODAY));
        // Unified social credit code (mod-31 check, letters).
        assert!(!is_valid(b"91350100M000100Y43", TODAY));
    }

    #[test]
    fn boundaries() {
        let ctx = Ctx {
            today: TODAY,
            ..Ctx::now()
        };
        let id = with_check("11010119900307123");
        let hay = format!("x {id} y");
        assert_eq!(
            check(hay.as_bytes(), 2, 20, &ctx),
            Verdict::Accept {
                start: 2,
                end: 20,
                weak: false
            }
        );
        let longer = format!("{id}9");
        assert!(matches!(
            check(longer.as_bytes(), 0, 18, &ctx),
            Verdict::RejectUntil(19)
        ));
        let prefixed = format!("9{id}");
        assert!(matches!(
            check(prefixed.as_bytes(), 1, 19, &ctx),
            Verdict::RejectUntil(_)
        ));
    }

    #[test]
    fn grouped_for_display() {
        let ctx = Ctx {
            today: TODAY,
            ..Ctx::now()
        };
        let id = with_check("11010519900307123");
        let (a, b, c) = (&id[..6], &id[6..14], &id[14..]);
        for sep in [" ", "-"] {
            let g = format!("{a}{sep}{b}{sep}{c}");
            assert!(
                matches!(check(g.as_bytes(), 0, 20, &ctx), Verdict::Accept { .. }),
                "{g}"
            );
            let longer = format!("{g}{sep}12");
            assert_eq!(
                check(longer.as_bytes(), 0, 20, &ctx),
                Verdict::Reject,
                "{longer}"
            );
        }
        let mixed = format!("{a} {b}-{c}");
        assert_eq!(check(mixed.as_bytes(), 0, 20, &ctx), Verdict::Reject);
        let mut wrong = id.clone().into_bytes();
        wrong[17] = if wrong[17] == b'1' { b'2' } else { b'1' };
        let wrong = String::from_utf8(wrong).unwrap();
        let g = format!("{} {} {}", &wrong[..6], &wrong[6..14], &wrong[14..]);
        assert_eq!(check(g.as_bytes(), 0, 20, &ctx), Verdict::Reject);
    }

    #[test]
    fn legacy15() {
        assert!(is_valid_legacy15(b"110101900307123"));
        assert!(!is_valid_legacy15(b"110101901307123")); // month 13
        assert!(!is_valid_legacy15(b"990101900307123")); // province 99
        let ctx = Ctx {
            today: TODAY,
            ..Ctx::now()
        };
        assert!(matches!(
            check_legacy15(b"110101900307123", 0, 15, &ctx),
            Verdict::Accept { weak: true, .. }
        ));
    }
}
