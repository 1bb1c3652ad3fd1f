//! The Luhn (mod 10) checksum over 12-19 digits, separators allowed, not inside longer digit runs.
//! Not used by the built-in detectors; offered to detector files (bank cards, IMEIs).

use super::{boundary, digits_into, is_digit, Ctx, Verdict};

/// True when the digit values pass the Luhn check.
pub fn valid(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = x as u32;
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Validator `luhn`.
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if let Some(v) = boundary(hay, start, end, is_digit) {
        return v;
    }
    let mut buf = [0u8; 19];
    match digits_into(&hay[start..end], &mut buf) {
        Some(n) if n >= 12 && valid(&buf[..n]) => Verdict::Accept {
            start,
            end,
            weak: false,
        },
        _ => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards() {
        let ctx = Ctx {
            today: 20250101,
            ..Ctx::now()
        };
        assert!(matches!(
            check(b"4111111111111111", 0, 16, &ctx),
            Verdict::Accept { .. }
        ));
        assert!(matches!(
            check(b"4111 1111 1111 1111", 0, 19, &ctx),
            Verdict::Accept { .. }
        ));
        assert_eq!(check(b"4111111111111112", 0, 16, &ctx), Verdict::Reject);
        assert!(matches!(
            check(b"41111111111111110", 0, 16, &ctx),
            Verdict::RejectUntil(17)
        ));
    }
}
