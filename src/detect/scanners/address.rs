//! The scanner for the street-level part of Chinese addresses.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// The suffixes, in the pattern's order (no two start with the same character).
const SUFFIXES: [&str; 8] = ["号", "弄", "栋", "幢", "座", "单元", "室", "层"];

fn suffixes() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| AhoCorasick::new(SUFFIXES).expect("the suffixes build"))
}

/// `[0-9A-Za-z]+(?:-[0-9]+)*(?:号|弄|栋|幢|座|单元|室|层)`.
///
/// Letters, digits and hyphens cannot hold a suffix, so every match ends at the first suffix
/// after its start: the leftmost match belongs to the first suffix (at or after `pos`) that a
/// start can reach. From a suffix the search walks back over what a match can hold: a run of
/// letters and digits, and before it, while that run is all digits, a hyphen and another run.
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
    for m in suffixes().find_iter(&h[from..]) {
        let j = from + m.start();
        let mut start = run_start(j);
        if start == j {
            continue;
        }
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
        return Some((start, j + m.len()));
    }
    None
}
