//! The scanner for dates that may be birth dates.
//!
//! `(?:19|20)[0-9]{2}(?:SEP MONTH SEP DAY|年 MONTH 月 DAY 日?|MM DD)|MONTH/DAY/(?:19|20)[0-9]{2}`
//! with `MONTH = (?:1[0-2]|0?[1-9])`, `DAY = (?:3[01]|[12][0-9]|0?[1-9])`. The alternatives of a
//! month or a day are tried in the regex's order, each with what must follow it, so that the
//! scanner backtracks exactly as the regex does.

use super::{byte_in, digit, leftmost, lit, one_of};

const SEP: &[u8] = b"-/.";

/// `(?:19|20)[0-9]{2}` at `i`.
#[inline]
fn year(h: &[u8], i: usize) -> bool {
    (lit(h, i, b"19") || lit(h, i, b"20")) && digit(h, i + 2) && digit(h, i + 3)
}

/// Two-digit alternatives `[a-b][c-d]` tried in order, then `0?[1-9]`, each followed by `then`:
/// the regex's order of preference for a month or a day.
#[inline]
fn number(
    h: &[u8],
    i: usize,
    pairs: &[(u8, u8, u8, u8)],
    then: impl Fn(usize) -> Option<usize>,
) -> Option<usize> {
    for &(a, b, c, d) in pairs {
        if byte_in(h, i, a, b) && byte_in(h, i + 1, c, d) {
            if let Some(e) = then(i + 2) {
                return Some(e);
            }
        }
    }
    if lit(h, i, b"0") && byte_in(h, i + 1, b'1', b'9') {
        return then(i + 2);
    }
    if byte_in(h, i, b'1', b'9') {
        return then(i + 1);
    }
    None
}

/// `(?:1[0-2]|0?[1-9])` at `i` followed by `then`.
#[inline]
fn month(h: &[u8], i: usize, then: impl Fn(usize) -> Option<usize>) -> Option<usize> {
    number(h, i, &[(b'1', b'1', b'0', b'2')], then)
}

/// `(?:3[01]|[12][0-9]|0?[1-9])` at `i` followed by `then`.
#[inline]
fn day(h: &[u8], i: usize, then: impl Fn(usize) -> Option<usize>) -> Option<usize> {
    number(
        h,
        i,
        &[(b'3', b'3', b'0', b'1'), (b'1', b'2', b'0', b'9')],
        then,
    )
}

/// The whole pattern at `s`.
fn date_at(h: &[u8], s: usize) -> Option<usize> {
    if year(h, s) {
        let y = s + 4;
        // SEP MONTH SEP DAY
        if one_of(h, y, SEP) {
            let e = month(h, y + 1, |m| {
                if one_of(h, m, SEP) {
                    day(h, m + 1, Some)
                } else {
                    None
                }
            });
            if e.is_some() {
                return e;
            }
        }
        // 年 MONTH 月 DAY 日?
        if lit(h, y, "年".as_bytes()) {
            let e = month(h, y + 3, |m| {
                if lit(h, m, "月".as_bytes()) {
                    day(h, m + 3, |d| {
                        Some(d + 3 * lit(h, d, "日".as_bytes()) as usize)
                    })
                } else {
                    None
                }
            });
            if e.is_some() {
                return e;
            }
        }
        // MM DD
        let mm = (lit(h, y, b"0") && byte_in(h, y + 1, b'1', b'9'))
            || (lit(h, y, b"1") && byte_in(h, y + 1, b'0', b'2'));
        let dd = (lit(h, y + 2, b"0") && byte_in(h, y + 3, b'1', b'9'))
            || (byte_in(h, y + 2, b'1', b'2') && digit(h, y + 3))
            || (lit(h, y + 2, b"3") && byte_in(h, y + 3, b'0', b'1'));
        if mm && dd {
            return Some(y + 4);
        }
    }
    // MONTH/DAY/YEAR
    month(h, s, |m| {
        if !one_of(h, m, b"/") {
            return None;
        }
        day(h, m + 1, |d| {
            (one_of(h, d, b"/") && year(h, d + 1)).then_some(d + 5)
        })
    })
}

/// The pattern in the module comment. A match starts with a year (`19` or `20`) or holds a `/`
/// (`MONTH/DAY/YEAR`): without a `/` only the starts at a `1` or a `2` are tried.
pub(super) fn birth_date(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    if memchr::memchr(b'/', h.get(pos..)?).is_some() {
        leftmost(h, pos, |b| b.is_ascii_digit(), date_at)
    } else {
        leftmost(h, pos, |b| b == b'1' || b == b'2', date_at)
    }
}
