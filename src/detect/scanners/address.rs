//! The scanner for the street-level part of Chinese addresses.

use super::Anchors;

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
/// it; the search starts at those pairs of bytes ([`Anchors::pair_after`], `anchors` the marks
/// of `h`). From a suffix the search walks back over what
/// a match can hold: a run of letters and digits, and before it, while that run is all digits,
/// a hyphen and another run.
/// The leftmost start is the first byte of the last run reached (or `pos`, when the walk passes
/// it inside a run; the byte after a hyphen at `pos`). Each byte is walked at most once.
pub(super) fn address_cn(h: &[u8], pos: usize, anchors: &Anchors) -> Option<(usize, usize)> {
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
        j = anchors.pair_after(h, j)?;
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
