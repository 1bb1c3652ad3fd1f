//! Vehicle identification numbers (ISO 3779, 49 CFR 565, GB 16735): 17 characters without I, O,
//! Q; position-9 check digit mandatory for North American (1-5) and Chinese (L) VINs, a confidence
//! signal elsewhere.

use super::{boundary, is_alnum, Ctx, Verdict};

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The transliterated value of one VIN character (None for I, O, Q and non-alphanumerics).
fn value(b: u8) -> Option<u32> {
    Some(match b.to_ascii_uppercase() {
        d @ b'0'..=b'9' => (d - b'0') as u32,
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

/// The expected check character (`0`-`9` or `X`), None when a character is not allowed.
pub fn check_digit(vin: &[u8]) -> Option<u8> {
    if vin.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (i, &b) in vin.iter().enumerate() {
        sum += value(b)? * WEIGHTS[i];
    }
    let r = sum % 11;
    Some(if r == 10 { b'X' } else { b'0' + r as u8 })
}

/// The verdict on exactly 17 bytes: None = not a VIN, Some(weak).
pub fn classify(vin: &[u8]) -> Option<bool> {
    let expected = check_digit(vin)?;
    let has_letter = vin.iter().any(u8::is_ascii_alphabetic);
    let has_digit = vin.iter().any(u8::is_ascii_digit);
    if !has_letter || !has_digit || vin.iter().all(|&b| b == vin[0]) {
        return None;
    }
    let first = vin[0].to_ascii_uppercase();
    let check_ok = vin[8].to_ascii_uppercase() == expected;
    let mandatory = matches!(first, b'1'..=b'5' | b'L');
    if matches!(first, b'1'..=b'5') && matches!(vin[9].to_ascii_uppercase(), b'U' | b'Z' | b'0') {
        return None;
    }
    if mandatory && !check_ok {
        return None;
    }
    // Lower-case tokens made only of hex characters look like digests: weak, whatever the check.
    let hex_like = vin
        .iter()
        .all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    Some(!check_ok || hex_like)
}

/// Validator `vin`: a 17-character token not inside a longer alphanumeric token.
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if end - start != 17 {
        return Verdict::Reject;
    }
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    match classify(&hay[start..end]) {
        Some(weak) => Verdict::Accept { start, end, weak },
        None => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_vins() {
        assert_eq!(classify(b"1M8GDM9AXKP042788"), Some(false));
        assert_eq!(classify(b"1m8gdm9axkp042788"), Some(false));
        assert_eq!(classify(b"11111111111111111"), None);
        assert_eq!(check_digit(b"LFV2A21K8D4000001"), Some(b'X'));
        assert_eq!(classify(b"LFV2A21KXD4000001"), Some(false));
    }

    #[test]
    fn wrong_check_digit() {
        // Mandatory for North America and China.
        assert_eq!(classify(b"1M8GDM9A1KP042788"), None);
        assert_eq!(classify(b"LFV2A21K1D4000001"), None);
        // European: weak, not rejected.
        assert_eq!(classify(b"WVWZZZ1JZXW000001"), Some(true));
    }

    #[test]
    fn structure() {
        // I, O, Q are never used.
        assert_eq!(classify(b"1M8GDM9AXKP04278I"), None);
        // Seventeen digits: no letter.
        assert_eq!(classify(b"12345678901234567"), None);
        // Letters only.
        assert_eq!(classify(b"ABCDEFGHJKLMNPRST"), None);
        // North American model year never 0, U or Z.
        assert_eq!(classify(b"1M8GDM9A30P042788"), None);
    }

    #[test]
    fn hex_tokens_are_weak_or_rejected() {
        assert_ne!(classify(b"3f2a9b0c1d4e5f607"), Some(false));
        let ctx = Ctx {
            today: 20250101,
            ..Ctx::now()
        };
        let digest = b"d41d8cd98f00b204e9800998ecf8427e";
        assert!(matches!(
            check(digest, 0, 17, &ctx),
            Verdict::RejectUntil(32)
        ));
    }

    #[test]
    fn boundaries() {
        let ctx = Ctx {
            today: 20250101,
            ..Ctx::now()
        };
        let hay = b"VIN:1M8GDM9AXKP042788.";
        assert_eq!(
            check(hay, 4, 21, &ctx),
            Verdict::Accept {
                start: 4,
                end: 21,
                weak: false
            }
        );
        assert!(matches!(
            check(b"1M8GDM9AXKP042788A", 0, 17, &ctx),
            Verdict::RejectUntil(18)
        ));
    }
}
