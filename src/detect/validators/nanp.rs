//! North American numbers: [2-9]XX [2-9]XX XXXX with optional +1 / 1 and extension. Area codes and
//! exchanges are never N11 and area codes never have 9 in the middle (reserved). Bare digit
//! strings (no separator, parenthesis or `+`) are weak: 10-digit order and account numbers share
//! the shape.

use super::{boundary, digits_into, in_longer_group, is_alnum, Ctx, Verdict};

/// True when the 10 digits (values 0-9) are a valid NANP number.
pub fn valid(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let nxx = |a: u8, b: u8, c: u8| a >= 2 && !(b == 1 && c == 1);
    nxx(d[0], d[1], d[2]) && d[1] != 9 && nxx(d[3], d[4], d[5])
}

/// Validator `nanp`.
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    if in_longer_group(hay, start, end) {
        return Verdict::Reject;
    }
    let s = &hay[start..end];
    // The number proper ends at the extension marker, if any.
    let number_end = s
        .iter()
        .position(|&b| matches!(b, b'x' | b'X' | b'e' | b'E' | b'#'))
        .unwrap_or(s.len());
    let number = &s[..number_end];
    let mut buf = [0u8; 12];
    let Some(n) = digits_into(number, &mut buf) else {
        return Verdict::Reject;
    };
    let d = match n {
        10 => &buf[..10],
        11 if buf[0] == 1 => &buf[1..11],
        _ => return Verdict::Reject,
    };
    if !valid(d) {
        return Verdict::Reject;
    }
    let formatted = number.iter().any(|b| !b.is_ascii_digit());
    Verdict::Accept {
        start,
        end,
        weak: !formatted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(s: &str) -> Verdict {
        check(
            s.as_bytes(),
            0,
            s.len(),
            &Ctx {
                today: 20250101,
                ..Ctx::now()
            },
        )
    }

    #[test]
    fn forms() {
        for good in [
            "(212) 555-1234",
            "212-555-1234",
            "212.555.1234",
            "+1 212 555 1234",
            "1-212-555-1234",
            "212-555-1234 ext. 123",
            "212-555-1234 x123",
        ] {
            assert!(
                matches!(verdict(good), Verdict::Accept { weak: false, .. }),
                "{good}"
            );
        }
        assert!(matches!(
            verdict("2125551234"),
            Verdict::Accept { weak: true, .. }
        ));
        for bad in [
            "112-555-1234",
            "211-555-1234",
            "212-155-1234",
            "212-911-1234",
            "292-555-1234",
        ] {
            assert_eq!(verdict(bad), Verdict::Reject, "{bad}");
        }
    }
}
