//! Scanners for long numbers: bank cards, IMEIs, passports and coordinates.

use super::{count_digits, digit, digits, leftmost, one_of};

const SEP: &[u8] = b" -";

/// `[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?|3[47][0-9]{2}[ -][0-9]{6}[ -][0-9]{5}`.
/// Both grouped forms need exactly four digits before their first separator.
pub(super) fn bank_card(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| b.is_ascii_digit(),
        |h, s| {
            let run = count_digits(h, s, 19);
            if run >= 13 {
                return Some(s + run);
            }
            if run != 4 {
                return None;
            }
            let (mut i, mut groups) = (s + 4, 0);
            while groups < 3 && one_of(h, i, SEP) && digits(h, i + 1, 4) {
                i += 5;
                groups += 1;
            }
            if groups >= 2 {
                if one_of(h, i, SEP) && digit(h, i + 1) {
                    i += 1 + count_digits(h, i + 1, 3);
                }
                return Some(i);
            }
            (one_of(h, s, b"3")
                && one_of(h, s + 1, b"47")
                && one_of(h, s + 4, SEP)
                && digits(h, s + 5, 6)
                && one_of(h, s + 11, SEP)
                && digits(h, s + 12, 5))
            .then_some(s + 17)
        },
    )
}

/// `[0-9]{15,16}|[0-9]{2}[ -][0-9]{6}[ -][0-9]{6}[ -][0-9]{1,2}`
pub(super) fn imei(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| b.is_ascii_digit(),
        |h, s| {
            let run = count_digits(h, s, 16);
            if run >= 15 {
                return Some(s + run);
            }
            (run == 2
                && one_of(h, s + 2, SEP)
                && digits(h, s + 3, 6)
                && one_of(h, s + 9, SEP)
                && digits(h, s + 10, 6)
                && one_of(h, s + 16, SEP)
                && digit(h, s + 17))
            .then(|| s + 17 + count_digits(h, s + 17, 2))
        },
    )
}

/// `[EeGgDdSsPp][A-HJ-NP-Za-hj-np-z]?[0-9]{7,8}`: the optional letter is taken when present
/// (without it a letter stands where the digits must start).
pub(super) fn cn_passport(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| matches!(b | 0x20, b'e' | b'g' | b'd' | b's' | b'p'),
        |h, s| {
            let second = h
                .get(s + 1)
                .is_some_and(|&b| b.is_ascii_alphabetic() && !matches!(b | 0x20, b'i' | b'o'));
            let i = s + 1 + second as usize;
            let n = count_digits(h, i, 8);
            (n >= 7).then_some(i + n)
        },
    )
}

/// `-?[0-9]{1,3}\.[0-9]{4,}` at `i`: the end.
fn coordinate(h: &[u8], i: usize) -> Option<usize> {
    let j = i + one_of(h, i, b"-") as usize;
    let n = count_digits(h, j, 4);
    if n == 0 || n > 3 || !one_of(h, j + n, b".") {
        return None;
    }
    let k = j + n + 1;
    let m = count_digits(h, k, usize::MAX);
    (m >= 4).then_some(k + m)
}

/// `-?[0-9]{1,3}\.[0-9]{4,}(?: ?(?:,|，) ?-?[0-9]{1,3}\.[0-9]{4,})?`: every optional piece is
/// taken when present (leaving it out puts a byte where the next piece cannot start).
pub(super) fn geo(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    // Every match holds a dot: without one, no start needs trying.
    memchr::memchr(b'.', h.get(pos..)?)?;
    leftmost(
        h,
        pos,
        |b| b == b'-' || b.is_ascii_digit(),
        |h, s| {
            let e = coordinate(h, s)?;
            let mut i = e + one_of(h, e, b" ") as usize;
            if one_of(h, i, b",") {
                i += 1;
            } else if super::lit(h, i, "，".as_bytes()) {
                i += 3;
            } else {
                return Some(e);
            }
            i += one_of(h, i, b" ") as usize;
            Some(coordinate(h, i).unwrap_or(e))
        },
    )
}
