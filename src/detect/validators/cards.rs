//! Validators `bank_card`, `imei` and `cn_passport`: numbers with a checksum or a fixed series.
//!
//! Bank cards: 13-19 digits, plain or grouped (4-4-4-4[-3], Amex 4-6-5), Luhn-valid, with an
//! issuer prefix and a length that issuer uses (Visa, Mastercard, Amex, UnionPay incl. 19-digit
//! and domestic debit BINs, JCB, Discover, Diners). A plain number inside free text is weak
//! (order numbers are Luhn-valid one time in ten): it needs a context word (卡号, card).
//! IMEI: 15 digits (Luhn) or IMEISV 16 digits, with a reporting-body prefix of a real TAC; always
//! weak (the detector file says so): a column needs a hint. Passports (China): E + 8 digits,
//! E + letter (not I/O) + 7 digits, G + 8 digits, D/S/P + 7-8 digits.

use super::luhn;
use super::{digits_into, reject_run, Ctx, Verdict};

/// True when the digits before `start` or after `end` continue the number (more digits, or a
/// separator and more digits: a longer digit group).
fn glued_digits(h: &[u8], start: usize, end: usize) -> bool {
    let before = start > 0
        && (h[start - 1].is_ascii_alphanumeric()
            || (matches!(h[start - 1], b'-' | b' ' | b'.')
                && start >= 2
                && h[start - 2].is_ascii_digit()));
    let after = h.get(end).is_some_and(|b| b.is_ascii_alphanumeric())
        || (matches!(h.get(end), Some(b'-' | b' ' | b'.'))
            && h.get(end + 1).is_some_and(u8::is_ascii_digit));
    before || after
}

/// The issuer of a card number, when its prefix and length fit one.
pub fn issuer(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let p = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    if n < 13 {
        return None;
    }
    let p2 = p(2);
    let p3 = p(3);
    let p4 = p(4);
    let p6 = p(6);
    Some(match () {
        _ if d[0] == 4 && matches!(n, 13 | 16 | 19) => "visa",
        _ if (51..=55).contains(&p2) && n == 16 => "mastercard",
        _ if (2221..=2720).contains(&p4) && n == 16 => "mastercard",
        _ if (p2 == 34 || p2 == 37) && n == 15 => "amex",
        _ if (p2 == 62 || p2 == 81) && (16..=19).contains(&n) => "unionpay",
        _ if p4 == 9558 && n == 19 => "unionpay",
        _ if (3528..=3589).contains(&p4) && (16..=19).contains(&n) => "jcb",
        _ if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && (16..=19).contains(&n) => {
            "discover"
        }
        _ if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095)
            && (14..=19).contains(&n) =>
        {
            "diners"
        }
        _ if (222_100..=272_099).contains(&p6) && n == 16 => "mastercard",
        _ => return None,
    })
}

/// Validator `bank_card`.
pub fn check_card(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if glued_digits(hay, start, end) {
        return reject_run(hay, start);
    }
    let mut buf = [0u8; 19];
    let Some(n) = digits_into(&hay[start..end], &mut buf) else {
        return Verdict::Reject;
    };
    let d = &buf[..n];
    let grouped = n != end - start;
    if !(13..=19).contains(&n) || !luhn::valid(d) || issuer(d).is_none() {
        // Plain digits not glued to more are a whole run: every later start in it is glued.
        return if grouped {
            Verdict::Reject
        } else {
            reject_run(hay, start)
        };
    }
    // One repeated digit, or a run like 4444444444444448, is test data at best: still a card
    // shape; keep it. Plain digits inside longer text are weak.
    let (ts, te) = super::text::trim_span(hay, 0, hay.len());
    let whole = ts == start && te == end;
    Verdict::Accept {
        start,
        end,
        weak: !grouped && !whole,
    }
}

/// Reporting-body prefixes of allocated TACs (GSMA): 01 (PTCRB), 35 (BABT), 86 (TAF China),
/// 99 (GHA) and the others in use.
const IMEI_PREFIXES: &[u8] = &[
    1, 10, 30, 33, 35, 44, 45, 49, 50, 51, 52, 53, 54, 86, 91, 98, 99,
];

/// Validator `imei`.
pub fn check_imei(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if glued_digits(hay, start, end) {
        return reject_run(hay, start);
    }
    let mut buf = [0u8; 16];
    let Some(n) = digits_into(&hay[start..end], &mut buf) else {
        return Verdict::Reject;
    };
    let d = &buf[..n];
    if !(15..=16).contains(&n) || !IMEI_PREFIXES.contains(&(d[0] * 10 + d[1])) {
        return Verdict::Reject;
    }
    if n == 15 && !luhn::valid(d) {
        return Verdict::Reject;
    }
    // Seven or more equal digits in a row: a placeholder (350000000000000), not a device.
    if d.windows(7).any(|w| w.iter().all(|&x| x == w[0])) {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end,
        weak: true,
    }
}

/// Validator `cn_passport`.
pub fn check_passport(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if start > 0 && (hay[start - 1].is_ascii_alphanumeric() || hay[start - 1] == b'-') {
        return reject_run(hay, start);
    }
    if hay
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return reject_run(hay, start);
    }
    let s = &hay[start..end];
    if !(8..=10).contains(&s.len()) {
        return Verdict::Reject;
    }
    let head = s[0].to_ascii_uppercase();
    let second_letter = s[1].is_ascii_alphabetic();
    let digits = s.len() - 1 - usize::from(second_letter);
    let ok = match head {
        b'E' if second_letter => digits == 7 && !matches!(s[1].to_ascii_uppercase(), b'I' | b'O'),
        b'E' | b'G' => digits == 8,
        b'D' | b'S' | b'P' => !second_letter && (digits == 7 || digits == 8),
        _ => false,
    };
    if !ok
        || s[1 + usize::from(second_letter)..]
            .iter()
            .all(|&b| b == b'0')
    {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end,
        weak: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &str) -> Option<bool> {
        match check_card(s.as_bytes(), 0, s.len(), &Ctx::now()) {
            Verdict::Accept { weak, .. } => Some(weak),
            _ => None,
        }
    }

    #[test]
    fn cards_by_issuer() {
        assert_eq!(card("4111111111111111"), Some(false));
        assert_eq!(card("5555 5555 5555 4444"), Some(false));
        assert_eq!(card("378282246310005"), Some(false));
        // 19-digit UnionPay: 621226 + 12 digits + check digit.
        let body = [6u8, 2, 1, 2, 2, 6, 1, 2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];
        let check = (0..10).find(|&c| {
            let mut d = body.to_vec();
            d.push(c);
            luhn::valid(&d)
        });
        let number: String = body
            .iter()
            .chain(check.iter())
            .map(|d| (b'0' + d) as char)
            .collect();
        assert_eq!(card(&number), Some(false));
        assert_eq!(card("4111111111111112"), None);
        assert_eq!(card("1234567812345670"), None);
    }

    /// A plain run of digits that is no card skips the rest of its run (every later start in
    /// it is glued to the digits before); grouped digits are rejected one start at a time.
    #[test]
    fn a_run_that_is_no_card_is_skipped_whole() {
        let c = Ctx::now();
        let text = b"no 202403151230450001, 4111 1111 1111 1112 x";
        assert_eq!(check_card(text, 3, 21, &c), Verdict::RejectUntil(21));
        assert_eq!(check_card(text, 23, 42, &c), Verdict::Reject);
    }

    #[test]
    fn imeis_and_passports() {
        let c = Ctx::now();
        assert!(matches!(
            check_imei(b"490154203237518", 0, 15, &c),
            Verdict::Accept { weak: true, .. }
        ));
        assert_eq!(check_imei(b"490154203237519", 0, 15, &c), Verdict::Reject);
        assert_eq!(check_imei(b"123456789012347", 0, 15, &c), Verdict::Reject);
        assert!(matches!(
            check_passport(b"E12345678", 0, 9, &c),
            Verdict::Accept { .. }
        ));
        assert!(matches!(
            check_passport(b"EA1234567", 0, 9, &c),
            Verdict::Accept { .. }
        ));
        assert_eq!(check_passport(b"EO1234567", 0, 9, &c), Verdict::Reject);
        assert_eq!(check_passport(b"X12345678", 0, 9, &c), Verdict::Reject);
    }
}
