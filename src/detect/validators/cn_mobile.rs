//! Chinese mobile numbers: 11 digits on an allocated prefix (13x, 145, 147, 15x but 154,
//! 16[25-7], 17[0-35-8], 18x, 19x but 194), with optional +86 / 0086 / 86 / +86 (0) prefixes and
//! 3-4-4 groupings.

use super::{boundary, digits_into, in_longer_group, is_alnum, Ctx, Verdict};

/// True when the 11 digits (values 0-9, not ASCII) start with an allocated mobile prefix.
pub fn allocated(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] != 1 {
        return false;
    }
    match (d[1], d[2]) {
        (3, _) | (8, _) => true,
        (4, 5) | (4, 7) => true,
        (5, x) => x != 4,
        (6, x) => matches!(x, 2 | 5 | 6 | 7),
        (7, x) => matches!(x, 0..=3 | 5..=8),
        (9, x) => x != 4,
        _ => false,
    }
}

/// Validator `cn_mobile`: the national number is the last 11 digits; what precedes them must be a
/// country prefix (86, 0086, optionally with the (0) trunk digit).
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    if in_longer_group(hay, start, end) {
        return Verdict::Reject;
    }
    let mut buf = [0u8; 16];
    let Some(n) = digits_into(&hay[start..end], &mut buf) else {
        return Verdict::Reject;
    };
    if n < 11 {
        return Verdict::Reject;
    }
    let (prefix, national) = buf[..n].split_at(n - 11);
    let prefix_ok = matches!(
        prefix,
        [] | [8, 6] | [0, 0, 8, 6] | [8, 6, 0] | [0, 0, 8, 6, 0]
    );
    if prefix_ok && allocated(national) {
        Verdict::Accept {
            start,
            end,
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
    fn allocated_prefixes() {
        for good in [
            "13812345678",
            "14512345678",
            "14712345678",
            "15012345678",
            "16212345678",
            "16612345678",
            "17012345678",
            "17812345678",
            "18912345678",
            "19912345678",
            "8613812345678",
            "+86 138 1234 5678",
            "0086-138-1234-5678",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "15412345678",
            "19412345678",
            "14012345678",
            "16012345678",
            "17412345678",
            "17912345678",
            "12012345678",
            "9913812345678",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn not_inside_longer_runs() {
        let ctx = Ctx {
            today: 20250101,
            ..Ctx::now()
        };
        assert!(matches!(
            check(b"138123456789", 0, 11, &ctx),
            Verdict::RejectUntil(12)
        ));
        assert!(matches!(
            check(b"613812345678", 1, 12, &ctx),
            Verdict::RejectUntil(_)
        ));
    }
}
