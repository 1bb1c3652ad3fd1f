//! Scanners for network identifiers: IPv4, IPv6 and MAC addresses.

use super::{count_digits, count_while, leftmost, one_of};

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
#[cfg(test)]
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

/// Bit `k` set when `chunk[k]` (at most 64 bytes) is a hex digit, `:` or `-`, and `.`.
fn mac_masks(chunk: &[u8]) -> [u64; 3] {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if chunk.len() >= 16 {
        // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
        return unsafe { sse2::mac_masks(chunk) };
    }
    let mut m = [0u64; 3];
    for (k, b) in chunk.iter().enumerate() {
        m[0] |= (is_hex(b) as u64) << k;
        m[1] |= (matches!(b, b':' | b'-') as u64) << k;
        m[2] |= ((*b == b'.') as u64) << k;
    }
    m
}

/// `[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12}`,
/// the alternatives tried in that order at each start. Each alternative has a fixed length (17,
/// 14 and 12 bytes) and no choices inside, so each is a set of byte classes at fixed offsets:
/// from masks of the hex digits, separators and dots of a 64-byte block, the starts where an
/// alternative matches are the AND of the masks shifted by those offsets. Blocks overlap by 16
/// bytes, so a match starting in the first 48 bytes of a block lies inside it.
pub(super) fn mac(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut c = pos.min(h.len());
    while c + 12 <= h.len() {
        let end = (c + 64).min(h.len());
        let [hex, sep, dot] = mac_masks(&h[c..end]);
        let pair = hex & hex >> 1;
        let colons = (0..5).fold(pair, |m, k| m & sep >> (2 + 3 * k) & pair >> (3 + 3 * k));
        let four = pair & pair >> 2;
        let dots = four & dot >> 4 & four >> 5 & dot >> 9 & four >> 10;
        let twelve = four & four >> 4 & four >> 8;
        // Past the text's end the masks are 0, so a block that reaches it decides every start.
        let decided = if end == h.len() {
            u64::MAX
        } else {
            (1 << 48) - 1
        };
        let any = (colons | dots | twelve) & decided;
        if any != 0 {
            let k = any.trailing_zeros();
            let len = if colons >> k & 1 == 1 {
                17
            } else if dots >> k & 1 == 1 {
                14
            } else {
                12
            };
            let s = c + k as usize;
            return Some((s, s + len));
        }
        if end == h.len() {
            break;
        }
        c += 48;
    }
    None
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::{hex_digits, mask64};
    use std::arch::x86_64::*;

    /// [`super::mac_masks`] for 16 to 64 bytes.
    #[target_feature(enable = "sse2")]
    pub(super) fn mac_masks(chunk: &[u8]) -> [u64; 3] {
        let eq = |v, b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        [
            mask64(chunk, |v| hex_digits(v)),
            mask64(chunk, |v| _mm_or_si128(eq(v, b':'), eq(v, b'-'))),
            mask64(chunk, |v| eq(v, b'.')),
        ]
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
