//! Scanners for long numbers: bank cards, IMEIs, passports and coordinates.

use super::{count_digits, digit, digit_runs, digits, one_of};

const SEP: &[u8] = b" -";

/// `[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?|3[47][0-9]{2}[ -][0-9]{6}[ -][0-9]{5}`.
///
/// Only two starts in a run of digits can match: its first digit (thirteen digits or more), and
/// four before its end (both grouped forms need exactly four digits before their first
/// separator); so the search goes from run to run.
pub(super) fn bank_card(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    // The grouped forms from `s`, where exactly four digits start.
    let grouped = |s: usize| {
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
    };
    digit_runs(h, pos).find_map(|(start, end)| match end - start {
        run @ 13.. => Some((start, start + run.min(19))),
        4.. => grouped(end - 4).map(|e| (end - 4, e)),
        _ => None,
    })
}

/// `[0-9]{15,16}|[0-9]{2}[ -][0-9]{6}[ -][0-9]{6}[ -][0-9]{1,2}`.
///
/// Only two starts in a run of digits can match: its first digit (fifteen digits or more), and
/// two before its end (the grouped form); so the search goes from run to run.
pub(super) fn imei(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    // The grouped form from `s`, where exactly two digits start.
    let grouped = |s: usize| {
        (one_of(h, s + 2, SEP)
            && digits(h, s + 3, 6)
            && one_of(h, s + 9, SEP)
            && digits(h, s + 10, 6)
            && one_of(h, s + 16, SEP)
            && digit(h, s + 17))
        .then(|| s + 17 + count_digits(h, s + 17, 2))
    };
    digit_runs(h, pos).find_map(|(start, end)| match end - start {
        run @ 15.. => Some((start, start + run.min(16))),
        2.. => grouped(end - 2).map(|e| (end - 2, e)),
        _ => None,
    })
}

/// `[EeGgDdSsPp][A-HJ-NP-Za-hj-np-z]?[0-9]{7,8}`: the optional letter is taken when present
/// (without it a letter stands where the digits must start).
///
/// The digits of a match are the start of a run of at least seven, with one or two letters
/// before it; so the search goes from run to run and tries the two starts before each.
pub(super) fn cn_passport(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let first = |s: usize| matches!(h[s] | 0x20, b'e' | b'g' | b'd' | b's' | b'p');
    let second = |s: usize| h[s].is_ascii_alphabetic() && !matches!(h[s] | 0x20, b'i' | b'o');
    digit_runs(h, pos).find_map(|(start, end)| {
        // The digits are counted to eight at most, so a longer run matches too.
        let end = start + (end - start).min(8);
        if end - start < 7 {
            None
        } else if start >= pos + 2 && first(start - 2) && second(start - 1) {
            Some((start - 2, end))
        } else if start > pos && first(start - 1) {
            Some((start - 1, end))
        } else {
            None
        }
    })
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
    let at = |s: usize| {
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
    };
    // Every match holds a dot with one to three digits before it, all of them at or after
    // `pos`; only the leftmost start before each dot needs trying (a later one reads the same
    // digits after the dot, so it fails too), and the dots come in the order of their starts.
    let mut from = pos.min(h.len());
    while let Some(k) = memchr::memchr(b'.', &h[from..]) {
        let d = from + k;
        let mut r = d;
        while r > pos && r > d.saturating_sub(3) && h[r - 1].is_ascii_digit() {
            r -= 1;
        }
        if r < d {
            // A minus sign may stand before a run of at most three digits.
            let s = if r > pos && h[r - 1] == b'-' {
                r - 1
            } else {
                r
            };
            if let Some(e) = at(s) {
                return Some((s, e));
            }
        }
        from = d + 1;
    }
    None
}
