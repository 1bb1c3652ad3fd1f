//! The scanner for the street-level part of Chinese addresses.

/// The suffixes, in the pattern's order (no two start with the same character; every one
/// starts with the byte 0xE5 or 0xE6).
const SUFFIXES: [&str; 8] = ["号", "弄", "栋", "幢", "座", "单元", "室", "层"];

/// The length of the suffix at `j`, if one is there.
#[inline]
fn suffix_at(h: &[u8], j: usize) -> Option<usize> {
    SUFFIXES
        .iter()
        .find(|x| h[j..].starts_with(x.as_bytes()))
        .map(|x| x.len())
}

/// `[0-9A-Za-z]+(?:-[0-9]+)*(?:号|弄|栋|幢|座|单元|室|层)`.
///
/// Letters, digits and hyphens cannot hold a suffix, so every match ends at the first suffix
/// after its start: the leftmost match belongs to the first suffix (at or after `pos`) that a
/// start can reach, which is the first with a letter or digit (at or after `pos`) just before
/// it; the search looks for those pairs of bytes. From a suffix the search walks back over what
/// a match can hold: a run of letters and digits, and before it, while that run is all digits,
/// a hyphen and another run.
/// The leftmost start is the first byte of the last run reached (or `pos`, when the walk passes
/// it inside a run; the byte after a hyphen at `pos`). Each byte is walked at most once.
pub(super) fn address_cn(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let from = pos.min(h.len());
    let alnum = |i: usize| h[i].is_ascii_alphanumeric();
    // The start of the run of letters and digits that ends at `end`, not before `from`.
    let run_start = |end: usize| {
        let mut r = end;
        while r > from && alnum(r - 1) {
            r -= 1;
        }
        r
    };
    let mut j = from;
    loop {
        j = next_pair(h, j)?;
        let Some(len) = suffix_at(h, j) else {
            continue;
        };
        let mut start = run_start(j);
        // The run `start..end` is a `-[0-9]+` group when it is all digits and a hyphen and
        // another run come before it.
        let mut end = j;
        while h[start..end].iter().all(u8::is_ascii_digit)
            && start >= from + 2
            && h[start - 1] == b'-'
            && alnum(start - 2)
        {
            end = start - 1;
            start = run_start(end);
        }
        return Some((start, j + len));
    }
}

/// The first `j > from` where `h[j - 1]` is an ASCII letter or digit and `h[j]` is 0xE5 or
/// 0xE6 (the lead byte of every suffix), sixteen candidates per step where SSE2 is available.
#[inline]
fn next_pair(h: &[u8], from: usize) -> Option<usize> {
    let mut j = from + 1;
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while j + 16 <= h.len() {
        let pairs: &[u8; 17] = h[j - 1..j + 16].try_into().expect("17 bytes");
        // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
        let mask = unsafe { sse2::pairs(pairs) };
        if mask != 0 {
            return Some(j + mask.trailing_zeros() as usize);
        }
        j += 16;
    }
    while j < h.len() {
        if h[j - 1].is_ascii_alphanumeric() && matches!(h[j], 0xE5 | 0xE6) {
            return Some(j);
        }
        j += 1;
    }
    None
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::{digits_and_alnum, in_range, load};
    use std::arch::x86_64::*;

    /// Bit `k` set when `b[k]` is an ASCII letter or digit and `b[k + 1]` is 0xE5 or 0xE6.
    #[target_feature(enable = "sse2")]
    pub(super) fn pairs(b: &[u8; 17]) -> u32 {
        let prev = load(b[..16].try_into().expect("16 bytes"));
        let cur = load(b[1..].try_into().expect("16 bytes"));
        let (_, alnum) = digits_and_alnum(prev);
        _mm_movemask_epi8(_mm_and_si128(alnum, in_range(cur, 0xE5, 1))) as u32
    }
}
