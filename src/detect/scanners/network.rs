//! Scanners for network identifiers: IPv4, IPv6 and MAC addresses.

use super::{count_digits, count_while, first_run, leftmost, one_of, RunClass};

/// True for an ASCII hex digit.
#[inline]
fn is_hex(b: &u8) -> bool {
    crate::detect::HEX_DIGIT[*b as usize]
}

/// The number of ASCII hex digits starting at `i`, at most `max`.
#[inline]
fn count_hex(h: &[u8], i: usize, max: usize) -> usize {
    count_while(h, i, max, is_hex)
}

/// True when `n` ASCII hex digits start at `i`.
#[inline]
fn hex(h: &[u8], i: usize, n: usize) -> bool {
    count_hex(h, i, n) == n
}

/// `[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`. A group of more than three digits before a
/// dot cannot match (fewer digits leave a digit where the dot must be).
pub(super) fn ipv4(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    // Every match holds a dot: without one, no start needs trying.
    memchr::memchr(b'.', h.get(pos..)?)?;
    leftmost(
        h,
        pos,
        |b| b.is_ascii_digit(),
        |h, s| {
            let mut i = s;
            for _ in 0..3 {
                let n = count_digits(h, i, 4);
                if n == 0 || n > 3 || !one_of(h, i + n, b".") {
                    return None;
                }
                i += n + 1;
            }
            let n = count_digits(h, i, 3);
            (n > 0).then_some(i + n)
        },
    )
}

/// The number of ASCII hex digits just before `i`, at most `max`.
#[inline]
fn count_hex_back(h: &[u8], i: usize, max: usize) -> usize {
    h[..i]
        .iter()
        .rev()
        .take(max)
        .take_while(|b| is_hex(b))
        .count()
}

/// `[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,41}`: each hex group must be followed by
/// its colon, so it is taken whole or the start fails. Every match starts at most four hex
/// digits before a colon, so the search jumps from colon to colon; the leftmost start before a
/// colon is where its hex digits begin (at most four back, not before `pos`), and when that
/// start fails every later start before the same colon fails too (the rest is the same).
pub(super) fn ipv6(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut from = pos.min(h.len());
    while let Some(k) = memchr::memchr(b':', &h[from..]) {
        let colon = from + k;
        let s = colon - count_hex_back(h, colon, 4).min(colon - from);
        let mut i = colon + 1;
        let n = count_hex(h, i, 5);
        if n <= 4 && one_of(h, i + n, b":") {
            i += n + 1;
            let rest = h[i..]
                .iter()
                .take(41)
                .take_while(|&&b| is_hex(&b) || b == b':' || b == b'.')
                .count();
            if rest > 0 {
                return Some((s, i + rest));
            }
        }
        from = colon + 1;
    }
    None
}

/// `[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12}`,
/// the alternatives tried in that order at each start. In a run of hex digits only three starts
/// can match: the run's first (twelve digits or more), four before its end (a dot follows) and
/// two before its end (a colon or hyphen follows). So the leftmost match is the earlier of the
/// first twelve hex digits in a row and the first separator that ends a run as a MAC's first
/// separator does; separators are found with `memchr`, the run with block masks.
pub(super) fn mac(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let pos = pos.min(h.len());
    let run = first_run::<12>(h, pos, RunClass::Hex);
    // A separator's match starts at most four bytes before it: past `run + 4`, none is earlier.
    let limit = run.map_or(h.len(), |k| (k + 4).min(h.len()));
    let separated = memchr::memchr3_iter(b':', b'-', b'.', &h[pos..limit])
        .map(|k| pos + k)
        .find_map(|p| {
            let s = p.checked_sub(if h[p] == b'.' { 4 } else { 2 })?;
            if s < pos {
                return None;
            }
            if h[p] == b'.' {
                (hex(h, s, 4) && hex(h, p + 1, 4) && one_of(h, p + 5, b".") && hex(h, p + 6, 4))
                    .then_some((s, s + 14))
            } else {
                (hex(h, s, 2)
                    && (0..5).all(|k| one_of(h, p + 3 * k, b":-") && hex(h, p + 1 + 3 * k, 2)))
                .then_some((s, s + 17))
            }
        });
    match (run, separated) {
        (Some(k), Some((s, e))) if s < k => Some((s, e)),
        (Some(k), _) => Some((k, k + 12)),
        (None, separated) => separated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The scanner before the block search, run by run: the reference.
    fn mac_by_runs(h: &[u8], pos: usize) -> Option<(usize, usize)> {
        let mut a = pos;
        while a < h.len() {
            if !is_hex(&h[a]) {
                a += 1;
                continue;
            }
            let b = a + count_hex(h, a, usize::MAX);
            if b - a >= 12 {
                return Some((a, a + 12));
            }
            if b - a >= 4
                && one_of(h, b, b".")
                && hex(h, b + 1, 4)
                && one_of(h, b + 5, b".")
                && hex(h, b + 6, 4)
            {
                return Some((b - 4, b + 10));
            }
            let s = b.wrapping_sub(2);
            if b - a >= 2
                && (0..5).all(|k| one_of(h, s + 2 + 3 * k, b":-") && hex(h, s + 3 + 3 * k, 2))
            {
                return Some((s, s + 17));
            }
            a = b;
        }
        None
    }

    proptest! {
        /// From any offset, the scanner finds what the run-by-run search finds.
        #[test]
        fn mac_finds_what_the_run_by_run_search_finds(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[0-9a-fA-F]{1,14}", Just(":".to_string()), Just("-".to_string()),
                    Just(".".to_string()), "[g-z ]{1,3}", Just("地址".to_string()),
                    "([0-9a-f]{2}[:-]){1,6}", "([0-9a-f]{4}\\.){1,3}",
                ],
                0..24,
            ),
            from in 0usize..120,
        ) {
            let h = parts.concat().into_bytes();
            let from = from.min(h.len());
            prop_assert_eq!(mac(&h, from), mac_by_runs(&h, from));
        }
    }
}
