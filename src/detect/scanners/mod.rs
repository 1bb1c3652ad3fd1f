//! Hand-written finders for the shipped detectors' patterns.
//!
//! Each scanner finds exactly what its patterns' regex finds with `Regex::find_at`: the leftmost
//! match starting at or after `pos`, and at that start the one the regex prefers (alternatives in
//! pattern order, greedy repetitions longest first). It does so in a plain loop over the bytes,
//! without the regex engine's per-call set-up, which dominated the cost of short values and of
//! the small windows searched in free text. Differential tests against the regex hold every
//! scanner to that contract.
//!
//! The engine picks a scanner only when a detector's patterns are, character for character, the
//! ones the scanner implements ([`lookup`]). A detector file whose patterns were edited, or a
//! user's own detector, runs on the regex as before.

mod address;
mod anchors;
mod dates;
mod names;
mod network;
mod numbers;

use crate::detect::validators::cn_plate::is_province;

pub(crate) use anchors::Anchors;

/// Finds the leftmost match at or after `pos` in `hay`, as `(start, end)`.
pub(crate) type FindFn = fn(&[u8], usize) -> Option<(usize, usize)>;

/// [`FindFn`] for a scanner that starts at the places [`Anchors`] marks: it is also given the
/// marks of the value that `hay` is (or starts).
pub(crate) type AnchoredFn = fn(&[u8], usize, &Anchors) -> Option<(usize, usize)>;

/// A scanner's finder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Find {
    /// Reads the text only.
    Plain(FindFn),
    /// Starts at the value's marks.
    Anchored(AnchoredFn),
}

/// A hand-written finder and the patterns it implements.
#[derive(Debug)]
pub(crate) struct Scanner {
    /// The patterns, exactly as a detector file writes them (case-sensitive).
    pub(crate) patterns: &'static [&'static str],
    /// The finder.
    pub(crate) find: Find,
    /// How many bytes a match can hold before its first ASCII digit and after its last, for the
    /// windows the engine searches around digit clusters (unused for detectors without digits).
    pub(crate) reach: Reach,
}

/// Bytes a match can hold before its first ASCII digit and after its last, and between two of
/// its digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reach {
    pub(crate) before: usize,
    pub(crate) after: usize,
    /// The most bytes between two consecutive digits of a match (`usize::MAX`: unbounded). The
    /// engine searches the digits of a cluster farther apart than this in separate windows.
    pub(crate) gap: usize,
}

const fn reach(before: usize, after: usize, gap: usize) -> Reach {
    Reach { before, after, gap }
}

/// No bound on the bytes between two digits of a match.
const ANY_GAP: usize = usize::MAX;

/// The reach of a scanner whose detector needs no digits, so is never searched in windows
/// around digit clusters: unused.
const UNWINDOWED: Reach = reach(0, 0, ANY_GAP);

/// Every scanner, one per shipped detector.
pub(crate) const SCANNERS: &[Scanner] = &[
    Scanner {
        patterns: &[
            "[1-8][0-9]{16}[0-9Xx]",
            "[1-8][0-9]{5}[ -][0-9]{8}[ -][0-9]{3}[0-9Xx]",
        ],
        find: Find::Plain(resident_id),
        reach: reach(0, 1, 1),
    },
    Scanner {
        patterns: &["[1-8][0-9]{14}"],
        find: Find::Plain(resident_id_legacy15),
        reach: reach(0, 0, 0),
    },
    Scanner {
        patterns: &["[0-9A-HJ-NPR-Za-hj-npr-z]{17}"],
        find: Find::Plain(vin),
        reach: reach(16, 16, 15),
    },
    Scanner {
        patterns: &["@|＠"],
        find: Find::Plain(at_sign),
        reach: UNWINDOWED,
    },
    Scanner {
        patterns: &["(?:京|津|冀|晋|蒙|辽|吉|黑|沪|苏|浙|皖|闽|赣|鲁|豫|鄂|湘|粤|桂|琼|渝|川|贵|云|藏|陕|甘|青|宁|新)[A-HJ-Za-hj-z]|使[0-9]{6}"],
        find: Find::Plain(plate),
        reach: reach(9, 0, 0),
    },
    Scanner {
        patterns: &[r"(?:(?:\+|00)?86[ -]?(?:\(0\)[ -]?)?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}"],
        find: Find::Plain(cn_mobile),
        reach: reach(1, 0, 2),
    },
    Scanner {
        patterns: &[
            r"0[1-9][0-9]{1,2}[ -]?(?:[2-9][0-9]{6,7}|[2-9][0-9]{2,3}[ -][0-9]{4})",
            r"\(0[1-9][0-9]{1,2}\) ?(?:[2-9][0-9]{6,7}|[2-9][0-9]{2,3}[ -][0-9]{4})",
            r"(?:\+|00)86[ -]?[1-9][0-9]{1,2}[ -]?(?:[2-9][0-9]{6,7}|[2-9][0-9]{2,3}[ -][0-9]{4})",
            r"[48]00[ -]?[0-9]{3}[ -]?[0-9]{4}",
        ],
        find: Find::Plain(cn_landline),
        reach: reach(1, 0, 2),
    },
    Scanner {
        patterns: &[
            r"(?:\+?1[-. ]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[-. ]?)[2-9][0-9]{2}[-. ]?[0-9]{4}(?: ?(?:[Ee][Xx][Tt]\.?|[Xx]|#) ?[0-9]{1,6})?",
        ],
        find: Find::Plain(nanp),
        reach: reach(1, 0, 6),
    },
    Scanner {
        patterns: &[r"\+[1-9][0-9]{0,2}(?:[ -]?[0-9]){4,14}"],
        find: Find::Plain(e164),
        reach: reach(1, 0, 1),
    },
    Scanner {
        patterns: &[r#"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"#],
        find: Find::Plain(network::ipv4),
        reach: reach(0, 0, 1),
    },
    Scanner {
        patterns: &[r#"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,41}"#],
        find: Find::Plain(network::ipv6),
        // Up to 50 bytes of letters and colons can surround the digits; beyond the margin the
        // regex detectors have, addresses in long values are missed rather than windows grown.
        reach: reach(20, 20, ANY_GAP),
    },
    Scanner {
        patterns: &[r#"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12}"#],
        find: Find::Plain(network::mac),
        reach: reach(16, 16, 15),
    },
    Scanner {
        patterns: &[r#"[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?|3[47][0-9]{2}[ -][0-9]{6}[ -][0-9]{5}"#],
        find: Find::Plain(numbers::bank_card),
        reach: reach(0, 0, 1),
    },
    Scanner {
        patterns: &[r#"[0-9]{15,16}|[0-9]{2}[ -][0-9]{6}[ -][0-9]{6}[ -][0-9]{1,2}"#],
        find: Find::Plain(numbers::imei),
        reach: reach(0, 0, 1),
    },
    Scanner {
        patterns: &[r#"[EeGgDdSsPp][A-HJ-NP-Za-hj-np-z]?[0-9]{7,8}"#],
        find: Find::Plain(numbers::cn_passport),
        reach: reach(2, 0, 0),
    },
    Scanner {
        patterns: &[r#"-?[0-9]{1,3}\.[0-9]{4,}(?: ?(?:,|，) ?-?[0-9]{1,3}\.[0-9]{4,})?"#],
        find: Find::Plain(numbers::geo),
        reach: reach(1, 0, 6),
    },
    Scanner {
        patterns: &[r#"(?:19|20)[0-9]{2}(?:[-/.](?:1[0-2]|0?[1-9])[-/.](?:3[01]|[12][0-9]|0?[1-9])|年(?:1[0-2]|0?[1-9])月(?:3[01]|[12][0-9]|0?[1-9])日?|(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))|(?:1[0-2]|0?[1-9])/(?:3[01]|[12][0-9]|0?[1-9])/(?:19|20)[0-9]{2}"#],
        find: Find::Plain(dates::birth_date),
        reach: reach(0, 3, 3),
    },
    Scanner {
        patterns: &[r#"[0-9A-Za-z]+(?:-[0-9]+)*(?:号|弄|栋|幢|座|单元|室|层)"#],
        find: Find::Anchored(address::address_cn),
        reach: UNWINDOWED,
    },
    Scanner {
        patterns: &[
            r#"^\p{Han}{2,4}$"#,
            r#"^\p{Han}{1,10}[·•・]\p{Han}{1,10}(?:[·•・]\p{Han}{1,10})?$"#,
            r#"(?:姓名|联系人|收货人|收件人|收款人|持卡人|开户名|户名|乘客|车主|驾驶员|司机|患者|客户|顾客|业主|经办人|申请人|签收人|负责人)[:： ]{0,2}\p{Han}{1,4}"#,
            r#"\p{Han}{1,3}(?:先生|女士|小姐)"#,
        ],
        find: Find::Anchored(names::cn_name),
        reach: UNWINDOWED,
    },
    Scanner {
        patterns: &[
            r#"^(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof|Mx)\.? )?[A-Z][a-zA-Z\x27-]+(?: [A-Z][a-zA-Z\x27-]*\.?){1,3}(?:,? (?:Jr|Sr|II|III|IV|MD|DDS|PhD|DVM|Esq|RN|CPA)\.?)*$"#,
            r#"^[A-Z][a-zA-Z\x27-]+, [A-Z][a-zA-Z\x27-]+(?: [A-Z]\.?)?$"#,
            r#"(?-u:\b)(?:(?:Name|name|NAME|Contact|contact|Attn|ATTN|Recipient|recipient|Customer|customer|Cardholder|cardholder)[:.]? (?:(?:Mr|Mrs|Ms|Miss|Dr)\.? )?|(?:Mr|Mrs|Ms|Miss|Dr)\.? )[A-Z][a-zA-Z\x27-]+(?: [A-Z][a-zA-Z\x27-]+){0,2}"#,
        ],
        find: Find::Anchored(names::latin_name),
        reach: UNWINDOWED,
    },
];

/// The scanner implementing exactly `patterns` (matched case-sensitively), if any.
pub(crate) fn lookup(patterns: &[String], case_insensitive: bool) -> Option<&'static Scanner> {
    if case_insensitive {
        return None;
    }
    SCANNERS.iter().find(|s| {
        s.patterns
            .iter()
            .copied()
            .eq(patterns.iter().map(String::as_str))
    })
}

// ---- byte tests at an offset (false past the end) ----

#[inline]
fn byte_in(h: &[u8], i: usize, lo: u8, hi: u8) -> bool {
    h.get(i).is_some_and(|&b| (lo..=hi).contains(&b))
}

#[inline]
fn digit(h: &[u8], i: usize) -> bool {
    byte_in(h, i, b'0', b'9')
}

/// True when `n` ASCII digits start at `i`.
#[inline]
fn digits(h: &[u8], i: usize, n: usize) -> bool {
    h.get(i..i + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

/// The number of bytes passing `class` starting at `i`, at most `max`.
#[inline]
fn count_while(h: &[u8], i: usize, max: usize, class: fn(&u8) -> bool) -> usize {
    h.get(i..)
        .map_or(0, |s| s.iter().take(max).take_while(|b| class(b)).count())
}

/// The number of ASCII digits starting at `i`, at most `max`.
#[inline]
fn count_digits(h: &[u8], i: usize, max: usize) -> usize {
    count_while(h, i, max, u8::is_ascii_digit)
}

#[inline]
fn one_of(h: &[u8], i: usize, set: &[u8]) -> bool {
    h.get(i).is_some_and(|b| set.contains(b))
}

/// True when `lit` starts at `i`.
#[inline]
fn lit(h: &[u8], i: usize, lit: &[u8]) -> bool {
    h.get(i..).is_some_and(|s| s.starts_with(lit))
}

/// The runs of ASCII digits at or after `pos`, in order, as `(start, end)`; a run that `pos`
/// falls inside starts at `pos` (a search from `pos` does not see the digits before it).
#[inline]
fn digit_runs(h: &[u8], pos: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = pos.min(h.len());
    std::iter::from_fn(move || {
        i += h[i..].iter().position(u8::is_ascii_digit)?;
        let start = i;
        i += h[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        Some((start, i))
    })
}

/// `i + 1` when an optional byte of `set` is at `i`, else `i` (a greedy `[..]?`).
#[inline]
fn opt(h: &[u8], i: usize, set: &[u8]) -> usize {
    i + one_of(h, i, set) as usize
}

/// The leftmost start `s >= pos` whose first byte passes `first` and where `at` matches,
/// with the end `at` gives.
#[inline(always)]
fn leftmost(
    h: &[u8],
    pos: usize,
    first: impl Fn(u8) -> bool,
    at: impl Fn(&[u8], usize) -> Option<usize>,
) -> Option<(usize, usize)> {
    let start = pos.min(h.len());
    h[start..]
        .iter()
        .enumerate()
        .filter(|(_, &b)| first(b))
        .find_map(|(k, _)| at(h, start + k).map(|e| (start + k, e)))
}

// ---- the scanners ----

/// The leftmost `[1-8]` at or after `pos` followed by at least `digits` more ASCII digits, or
/// by `digits - 1` and one of `last`: the end of those. A start that fails fails for every later
/// start in its run of digits (fewer digits follow), so the search goes on after the run, and
/// the whole search is linear.
#[inline]
fn digit_run_from(h: &[u8], pos: usize, digits: usize, last: &[u8]) -> Option<(usize, usize)> {
    let mut s = pos;
    while s < h.len() {
        if !(b'1'..=b'8').contains(&h[s]) {
            s += 1;
            continue;
        }
        let n = count_digits(h, s + 1, digits);
        if n == digits || (n == digits - 1 && one_of(h, s + 1 + n, last)) {
            return Some((s, s + 1 + digits));
        }
        s += 1 + n;
    }
    None
}

/// `[1-8][0-9]{16}[0-9Xx]|[1-8][0-9]{5}[ -][0-9]{8}[ -][0-9]{3}[0-9Xx]`. In a run of digits the
/// plain form can only start where at least 16 digits follow, and the grouped form only where
/// exactly 5 do (a separator comes next), so a start that fails both moves on to that one start
/// or past the run, and the search stays linear.
fn resident_id(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut s = pos;
    while s < h.len() {
        if !(b'1'..=b'8').contains(&h[s]) {
            s += 1;
            continue;
        }
        let n = count_digits(h, s + 1, 17);
        if n == 17 || (n == 16 && one_of(h, s + 17, b"Xx")) {
            return Some((s, s + 18));
        }
        if n == 5
            && one_of(h, s + 6, b" -")
            && digits(h, s + 7, 8)
            && one_of(h, s + 15, b" -")
            && digits(h, s + 16, 3)
            && (digit(h, s + 19) || one_of(h, s + 19, b"Xx"))
        {
            return Some((s, s + 20));
        }
        s += if n > 5 { n - 5 } else { 1 + n };
    }
    None
}

/// `[1-8][0-9]{14}`
fn resident_id_legacy15(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    digit_run_from(h, pos, 14, b"")
}

/// True for the VIN alphabet `[0-9A-HJ-NPR-Za-hj-npr-z]`.
#[inline]
const fn vin_char(b: u8) -> bool {
    b.is_ascii_digit() || (b.is_ascii_alphabetic() && !matches!(b | 0x20, b'i' | b'o' | b'q'))
}

/// [`vin_char`] per byte value.
static VIN_CHAR: [bool; 256] = byte_set!(b => vin_char(b));

/// `[0-9A-HJ-NPR-Za-hj-npr-z]{17}`: the first 17 alphabet bytes in a row. From masks of
/// 64-byte blocks where SSE2 is available (a run is the AND of shifted masks, the shift
/// doubling up to 17), blocks overlapping by 16 bytes so that a run across two blocks is seen
/// whole in the second; byte by byte for the rest.
fn vin(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    const N: usize = 17;
    let mut s = pos.min(h.len());
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while s + N <= h.len() {
        let len = (h.len() - s).min(64);
        // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
        let m = unsafe { sse2::vin_chars(&h[s..s + len]) };
        // Bit k of `run` set when bits k to k + have - 1 of `m` are.
        let (mut run, mut have) = (m, 1);
        while have < N {
            let step = have.min(N - have);
            run &= run >> step;
            have += step;
        }
        if run != 0 {
            let k = s + run.trailing_zeros() as usize;
            return Some((k, k + N));
        }
        if s + len == h.len() {
            return None;
        }
        // The next block starts where a run not yet seen whole can start.
        s += len - (N - 1);
    }
    let mut run = 0;
    for (i, &b) in h.iter().enumerate().skip(s) {
        run = if VIN_CHAR[b as usize] { run + 1 } else { 0 };
        if run == N {
            return Some((i + 1 - N, i + 1));
        }
    }
    None
}

/// `@|＠`
fn at_sign(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut from = pos.min(h.len());
    while let Some(k) = memchr::memchr2(b'@', 0xEF, &h[from..]) {
        let s = from + k;
        if h[s] == b'@' {
            return Some((s, s + 1));
        }
        if lit(h, s, "＠".as_bytes()) {
            return Some((s, s + 3));
        }
        from = s + 1;
    }
    None
}

/// The code point of the three-byte UTF-8 sequence at `i`, if there is one.
#[inline]
fn three_byte_char(h: &[u8], i: usize) -> Option<char> {
    match h.get(i..i + 3)? {
        &[a, b, c] if a & 0xF0 == 0xE0 && b & 0xC0 == 0x80 && c & 0xC0 == 0x80 => {
            let cp = (a as u32 & 0x0F) << 12 | (b as u32 & 0x3F) << 6 | (c as u32 & 0x3F);
            // Overlong forms decode below U+0800, far from every character tested here.
            char::from_u32(cp)
        }
        _ => None,
    }
}

/// `(?:京|津|...|新)[A-HJ-Za-hj-z]|使[0-9]{6}`
fn plate(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut from = pos.min(h.len());
    while let Some(s) = next_plate_start(h, from) {
        let end = match three_byte_char(h, s) {
            Some(c) if is_province(c) => {
                let b = h[s + 3];
                (b.is_ascii_alphabetic() && b | 0x20 != b'i').then_some(s + 4)
            }
            Some('使') => digits(h, s + 3, 6).then_some(s + 9),
            _ => None,
        };
        if let Some(end) = end {
            return Some((s, end));
        }
        from = s + 1;
    }
    None
}

/// The first `s >= from` where a plate can start: the lead byte of a three-byte character with
/// an ASCII letter or digit after the character (which rejects most CJK text without decoding
/// it), sixteen candidates per step where SSE2 is available.
#[inline]
fn next_plate_start(h: &[u8], from: usize) -> Option<usize> {
    if from + 3 >= h.len() {
        return None;
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if h.len() >= 19 {
        // Blocks of 16 starts (19 bytes), the last one overlapping the one before, with the
        // starts before `from` masked off.
        let (last, mut s) = (h.len() - 19, from);
        loop {
            let at = s.min(last);
            let bytes: &[u8; 19] = h[at..at + 19].try_into().expect("19 bytes");
            // SAFETY: the function only needs SSE2, which this build enables (the `cfg`
            // above).
            let mask = unsafe { sse2::plate_starts(bytes) } >> (s - at) << (s - at);
            if mask != 0 {
                return Some(at + mask.trailing_zeros() as usize);
            }
            if at == last {
                return None;
            }
            s = at + 16;
        }
    }
    (from..h.len() - 3).find(|&k| h[k] & 0xF0 == 0xE0 && h[k + 3].is_ascii_alphanumeric())
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::{digits_and_alnum, load, mask64};
    use std::arch::x86_64::*;

    /// Bit `k` set when `b[k]` is in the VIN alphabet ([`super::vin_char`]), for 17 to 64
    /// bytes.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn vin_chars(b: &[u8]) -> u64 {
        mask64(b, |v| {
            let (_, alnum) = digits_and_alnum(v);
            // `| 0x20` lower-cases letters; among letters and digits only I, O and Q map to
            // i, o and q.
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let is = |c: u8| _mm_cmpeq_epi8(lower, _mm_set1_epi8(c as i8));
            _mm_andnot_si128(
                _mm_or_si128(_mm_or_si128(is(b'i'), is(b'o')), is(b'q')),
                alnum,
            )
        })
    }

    /// Bit `k` set when `b[k]` leads a three-byte character (E0..EF) and `b[k + 3]` is an
    /// ASCII letter or digit.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn plate_starts(b: &[u8; 19]) -> u32 {
        let lead = load(b[..16].try_into().expect("16 bytes"));
        let after = load(b[3..].try_into().expect("16 bytes"));
        let is_lead = _mm_cmpeq_epi8(
            _mm_and_si128(lead, _mm_set1_epi8(0xF0u8 as i8)),
            _mm_set1_epi8(0xE0u8 as i8),
        );
        let (_, alnum) = digits_and_alnum(after);
        _mm_movemask_epi8(_mm_and_si128(is_lead, alnum)) as u32
    }
}

/// The body `1[3-9][0-9](?:[ -]?[0-9]{4}){2}` at `i`.
fn cn_mobile_body(h: &[u8], i: usize) -> Option<usize> {
    if !(lit(h, i, b"1") && byte_in(h, i + 1, b'3', b'9') && digit(h, i + 2)) {
        return None;
    }
    let mut j = i + 3;
    for _ in 0..2 {
        j = opt(h, j, b" -");
        if !digits(h, j, 4) {
            return None;
        }
        j += 4;
    }
    Some(j)
}

/// `(?:(?:\+|00)?86[ -]?(?:\(0\)[ -]?)?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}`. The first byte picks
/// the one path that can match: `+`, `00` or `86` take the prefix, `1` the bare number (every
/// optional piece is taken when present: leaving it out puts a byte where the next piece cannot
/// start).
fn cn_mobile(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| matches!(b, b'+' | b'0' | b'8' | b'1'),
        |h, s| {
            let at86 = match h[s] {
                b'1' => return cn_mobile_body(h, s),
                b'+' => s + 1,
                b'0' if lit(h, s, b"00") => s + 2,
                b'8' => s,
                _ => return None,
            };
            if !lit(h, at86, b"86") {
                return None;
            }
            let mut j = opt(h, at86 + 2, b" -");
            if lit(h, j, b"(0)") {
                j = opt(h, j + 3, b" -");
            }
            cn_mobile_body(h, j)
        },
    )
}

/// `[2-9][0-9]{6,7}|[2-9][0-9]{2,3}[ -][0-9]{4}` at `i` (a local number, plain or grouped 4-4
/// or 3-4 for display): the end, preferring the plain form, then the longer one.
fn subscriber(h: &[u8], i: usize) -> Option<usize> {
    if !byte_in(h, i, b'2', b'9') {
        return None;
    }
    if let Some(m) = [7, 6].into_iter().find(|&m| digits(h, i + 1, m)) {
        return Some(i + 1 + m);
    }
    [3, 2]
        .into_iter()
        .find(|&m| digits(h, i + 1, m) && one_of(h, i + 1 + m, b" -") && digits(h, i + 2 + m, 4))
        .map(|m| i + 6 + m)
}

/// `[0-9]{1,2}` at `i` (the rest of an area code), what `after_area` requires next, then
/// `[2-9][0-9]{6,7}`, trying two area digits before one as the greedy repetition does.
fn area_then_subscriber(
    h: &[u8],
    i: usize,
    after_area: &dyn Fn(usize) -> Option<usize>,
) -> Option<usize> {
    [2, 1]
        .into_iter()
        .filter(|&k| digits(h, i, k))
        .find_map(|k| subscriber(h, after_area(i + k)?))
}

/// The four landline patterns, tried in order at each start (`SUB` is a [`subscriber`]):
/// `0[1-9][0-9]{1,2}[ -]?SUB`, `\(0[1-9][0-9]{1,2}\) ?SUB`, `(?:\+|00)86[ -]?[1-9][0-9]{1,2}[ -]?SUB`
/// and `[48]00[ -]?[0-9]{3}[ -]?[0-9]{4}`.
fn cn_landline(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    let dash_or_space = |i| opt(h, i, b" -");
    let then_dash_or_space = |i| Some(dash_or_space(i));
    leftmost(
        h,
        pos,
        |b| matches!(b, b'0' | b'(' | b'+' | b'4' | b'8'),
        |h, s| match h[s] {
            b'0' if byte_in(h, s + 1, b'1', b'9') => {
                area_then_subscriber(h, s + 2, &then_dash_or_space)
            }
            b'0' | b'+' => {
                let at86 = match h[s] {
                    b'+' => s + 1,
                    _ if lit(h, s, b"00") => s + 2,
                    _ => return None,
                };
                if !lit(h, at86, b"86") {
                    return None;
                }
                let i = dash_or_space(at86 + 2);
                if !byte_in(h, i, b'1', b'9') {
                    return None;
                }
                area_then_subscriber(h, i + 1, &then_dash_or_space)
            }
            b'(' if lit(h, s + 1, b"0") && byte_in(h, s + 2, b'1', b'9') => {
                let close = |i| lit(h, i, b")").then(|| opt(h, i + 1, b" "));
                area_then_subscriber(h, s + 3, &close)
            }
            b'4' | b'8' if lit(h, s + 1, b"00") => {
                let i = dash_or_space(s + 3);
                if !digits(h, i, 3) {
                    return None;
                }
                let i = dash_or_space(i + 3);
                digits(h, i, 4).then_some(i + 4)
            }
            _ => None,
        },
    )
}

/// `[-. ]`, the NANP separators.
const NANP_SEP: &[u8] = b"-. ";

/// `(?:\+?1[-. ]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[-. ]?)[2-9][0-9]{2}[-. ]?[0-9]{4}`
/// `(?: ?(?:[Ee][Xx][Tt]\.?|[Xx]|#) ?[0-9]{1,6})?`. As for mobiles, the first byte picks the
/// path and optional pieces are taken when present; the extension is all or nothing.
fn nanp(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| matches!(b, b'+' | b'(' | b'1'..=b'9'),
        |h, s| {
            let mut i = match h[s] {
                b'+' if lit(h, s + 1, b"1") => opt(h, s + 2, NANP_SEP),
                b'1' => opt(h, s + 1, NANP_SEP),
                b'+' => return None,
                _ => s,
            };
            if lit(h, i, b"(") {
                if !(byte_in(h, i + 1, b'2', b'9') && digits(h, i + 2, 2) && lit(h, i + 4, b")")) {
                    return None;
                }
                i = opt(h, i + 5, b" ");
            } else {
                if !(byte_in(h, i, b'2', b'9') && digits(h, i + 1, 2)) {
                    return None;
                }
                i = opt(h, i + 3, NANP_SEP);
            }
            if !(byte_in(h, i, b'2', b'9') && digits(h, i + 1, 2)) {
                return None;
            }
            i = opt(h, i + 3, NANP_SEP);
            if !digits(h, i, 4) {
                return None;
            }
            let end = i + 4;
            Some(nanp_extension(h, end).unwrap_or(end))
        },
    )
}

/// The end of ` ?(?:[Ee][Xx][Tt]\.?|[Xx]|#) ?[0-9]{1,6}` at `i`, if it is there.
fn nanp_extension(h: &[u8], i: usize) -> Option<usize> {
    let i = opt(h, i, b" ");
    let word = h
        .get(i..i + 3)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"ext"));
    let i = if word {
        opt(h, i + 3, b".")
    } else if one_of(h, i, b"Xx#") {
        i + 1
    } else {
        return None;
    };
    let i = opt(h, i, b" ");
    match count_digits(h, i, 6) {
        0 => None,
        n => Some(i + n),
    }
}

/// `\+[1-9][0-9]{0,2}(?:[ -]?[0-9]){4,14}`: the country code takes up to two more digits when
/// at least four digits (each after an optional separator) still follow, as the greedy
/// repetitions decide.
fn e164(h: &[u8], pos: usize) -> Option<(usize, usize)> {
    leftmost(
        h,
        pos,
        |b| b == b'+',
        |h, s| {
            if !byte_in(h, s + 1, b'1', b'9') {
                return None;
            }
            let cc = count_digits(h, s + 2, 2);
            (0..=cc).rev().find_map(|extra| {
                let (mut i, mut reps) = (s + 2 + extra, 0);
                while reps < 14 {
                    let j = opt(h, i, b" -");
                    if !digit(h, j) {
                        break;
                    }
                    i = j + 1;
                    reps += 1;
                }
                (reps >= 4).then_some(i)
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VIN run and a MAC address in each of its forms are found at every offset, across the
    /// blocks' seams too, and one byte short of one is not one.
    #[test]
    fn a_block_scan_finds_a_match_wherever_it_lies() {
        let cases: [(FindFn, &[u8]); 4] = [
            (vin, b"LSVAB2188E2100001"),
            (network::mac, b"0123456789ab"),
            (network::mac, b"00:1a:2B:3c-4d:5e"),
            (network::mac, b"001a.2b3c.4D5e"),
        ];
        for (find, found) in cases {
            let n = found.len();
            for at in 0..200 {
                let mut h = vec![b'-'; at];
                h.extend_from_slice(found);
                h.extend_from_slice(b"-iox ");
                let what = String::from_utf8_lossy(found);
                assert_eq!(find(&h, 0), Some((at, at + n)), "{what} at {at}");
                assert_eq!(find(&h, at + 1), None, "{what} at {at}");
                h[at + n - 1] = b'-';
                assert_eq!(find(&h, 0), None, "{what} at {at}");
            }
        }
    }
    use proptest::prelude::*;

    /// The regex the engine would build for `patterns`.
    fn regex(patterns: &[&str]) -> regex::bytes::Regex {
        let owned: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        crate::detect::engine::build_regex(&owned, false).unwrap()
    }

    /// `scanner`'s match at or after `pos` in `hay` (whose marks are `anchors`).
    fn find(
        scanner: &Scanner,
        hay: &[u8],
        pos: usize,
        anchors: &Anchors,
    ) -> Option<(usize, usize)> {
        match scanner.find {
            Find::Plain(f) => f(hay, pos),
            Find::Anchored(f) => f(hay, pos, anchors),
        }
    }

    /// Asserts that `scanner` and its regex agree at every offset of `hay`.
    fn agrees(scanner: &Scanner, re: &regex::bytes::Regex, hay: &[u8]) {
        let anchors = Anchors::of(hay);
        for pos in 0..=hay.len() {
            let want = re.find_at(hay, pos).map(|m| (m.start(), m.end()));
            assert_eq!(
                find(scanner, hay, pos, &anchors),
                want,
                "patterns {:?} at {pos} in {:?}",
                scanner.patterns,
                String::from_utf8_lossy(hay)
            );
        }
    }

    /// Every scanner with its regex, compiled once.
    fn pairs() -> &'static [(&'static Scanner, regex::bytes::Regex)] {
        static PAIRS: std::sync::OnceLock<Vec<(&Scanner, regex::bytes::Regex)>> =
            std::sync::OnceLock::new();
        PAIRS.get_or_init(|| SCANNERS.iter().map(|s| (s, regex(s.patterns))).collect())
    }

    fn all_agree(hay: &[u8]) {
        for (s, re) in pairs() {
            agrees(s, re, hay);
            within_reach(s, hay);
        }
    }

    /// Asserts that every match of `scanner` in `hay` that holds digits holds them within its
    /// reach: no more than `before` bytes before the first, `after` after the last and `gap`
    /// between two (what the engine's windows around digit clusters rely on).
    fn within_reach(scanner: &Scanner, hay: &[u8]) {
        if scanner.reach == UNWINDOWED {
            return;
        }
        let anchors = Anchors::of(hay);
        for pos in 0..=hay.len() {
            let Some((s, e)) = find(scanner, hay, pos, &anchors) else {
                break;
            };
            let digits: Vec<usize> = (s..e).filter(|&i| hay[i].is_ascii_digit()).collect();
            if let (Some(&first), Some(&last)) = (digits.first(), digits.last()) {
                let widest = digits.windows(2).map(|w| w[1] - w[0] - 1).max();
                let r = scanner.reach;
                assert!(
                    first - s <= r.before
                        && e - 1 - last <= r.after
                        && widest.unwrap_or(0) <= r.gap,
                    "patterns {:?}: {:?} is beyond the reach {r:?}",
                    scanner.patterns,
                    String::from_utf8_lossy(&hay[s..e])
                );
            }
        }
    }

    #[test]
    fn every_shipped_detector_has_a_scanner() {
        // English addresses run on their regex behind a gate (`super::gates`).
        let gated = ["address_en"];
        for (_, spec) in crate::detect::spec::load_all(None).unwrap() {
            if gated.contains(&spec.id.as_str()) {
                continue;
            }
            assert!(
                lookup(&spec.patterns, spec.case_insensitive).is_some(),
                "{} has no scanner for {:?}",
                spec.id,
                spec.patterns
            );
        }
    }

    #[test]
    fn edited_patterns_fall_back_to_the_regex() {
        assert!(lookup(&["[1-8][0-9]{16}[0-9X]".to_string()], false).is_none());
        assert!(lookup(&["@|＠".to_string()], true).is_none());
        assert!(lookup(&["@|＠".to_string(), "x".to_string()], false).is_none());
    }

    #[test]
    fn scanners_agree_with_their_regex_on_the_samples() {
        let samples = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/sample-values.txt"
        ))
        .unwrap();
        for line in samples.lines() {
            all_agree(line.as_bytes());
            all_agree(format!("x {line}, {line}9 ({line})").as_bytes());
        }
        for hay in [
            "+86 (0) 138-1234-5678",
            "0086-(0)13812345678",
            "(010) 62345678 (0755)2345678 (010) 6552 9988 010-6552-9988 0755 234 5678",
            "+86 10 6552 9988 010 655 29988 0755-23 4567 021 5234-56789",
            "+86 10 6234 5678, 0086-755-23456789",
            "400-123-4567 800 1234567 4001234567",
            "+1 (415) 555-2671 ext. 123456789",
            "1-415-555-2671x12 415.555.2671 # 7 (415)555-2671 Ext 9",
            "+44 20 7946 0958 +8613812345678 +1234 +12 345-678 9",
            "京A12345 使123456 粤b·12345 京I1234 新z 使12345",
            "LSVAB2188E2100001 1HGCM82633A004352 ioqIOQ12345678901234567",
            "110105199003071239 11010519900307123x 110105900307123",
            "110105 19900307 123X 110105-19900307-1239 1101051 9900307 1239 110105-199003071239",
            "21101-05 19900307 123 110105 19900307-12 110105 19900307 1234 5",
            "li@example.com ＠ @@ \u{FF20}x",
            "192.168.1.20 1234.5.6.7 1.2.3 10.0.0.1.5 255.255.255.2555 .1.2.3.4",
            "fe80::1 2001:db8::8a2e:370:7334 ::ffff:192.0.2.1 abcdef:1:2 12345:: :: 1:2",
            "00:1A:2b:3C:4d:5E 00-1a-2b-3c-4d-5e 001a.2b3c.4d5e 001A2B3C4D5E 00:1a-2b:3c-4d:5",
            "6222021234567890123 6222 0212 3456 7890 123 6222-0212-3456-7890 3782 822463 10005",
            "37828224631000512345 1234 5678 9012 3456 78 1234 5678 9 3412 123456 1234",
            "490154203237518 49-015420-323751-8 35-209900-176148-12 4901542032375189",
            "E12345678 EA1234567 G1234567 Pi1234567 po12345678 S123456 DO1234567 e1234567",
            "39.9042,116.4074 -33.8688, 151.2093 31.2304，121.4737 1234.56789 12.3456 ,1.2345",
            "-123.45678 12345.67890 --1.2345 1-2.34567 a-12.3456 9.123 .1234 1.2.34567 -.1234",
            "E1234567890 AE12345678 PO1234567 1E1234567 EE1234567 Ei1234567 eI12345678 SP123456",
            "1234 5678 9012 34 123456789012 1234-5678-9012-3456-789 12-345678-901234-5 12 345678",
            "2024-03-15 1990/3/7 1990.12.31 1990年3月7日 2001年12月1 19900307 20241301",
            "3/7/1990 12/31/2001 21/5/1990 1990-10-x 1990-1-35 2024-01-35 1/32/1999 0/1/2000",
            "北京市朝阳区建国路88号 3-2-1201室 A座 12-34a号 1-2-3-4-5 a-12b号 2单元 B1层 18栋-",
            "张伟",
            "欧阳娜娜",
            "阿卜杜·热合曼",
            "阿卜杜·热合曼·艾力",
            "收货人：王芳 联系人:: 李四 客户 张三丰先生 王女士女士 王客户女士 开户名户名赵六",
            "𠀀𠀁 王𠀀先生 司机々 李小姐。乘客：：：王五 小姐 先生先生 经办人 人",
            "Wang Fang",
            "Dr. Jane O'Neil-Smith, Jr.",
            "Mr Smith",
            "Mr. Smith",
            "Mrs Lee Ann",
            "John Smith, PhD, III",
            "John Smith III",
            "John Smith IIII",
            "Smith, John A.",
            "Smith, John A.B",
            "Prof. X Y. Z.",
            "Name: John Smith called; contact Mrs. Lee Ann Marie Fox, attn:Mr Bob",
            "NAME. Mr. Mr Smith xName: Ann _Mr Bo 9Dr Who Customer called Cardholder: Miss",
            "Recipient Mrs. MrsX Ab, Name:  Ann, Name:Ann, Mr.Ann, Dr Ab-c'd Ef Gh Ij",
            "Mr A",
            "Name: A Smith, Dr B. Mr C Dee",
        ] {
            all_agree(hay.as_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn scanners_agree_with_their_regex(
            s in "([0-9]{1,18}|[0-9]{6} [0-9]{8}-[0-9]{3}|[ \\-.()+#xX]|ext\\.?|Ext|00|86|\\(0\\)|[A-HJ-Z]{1,17}|[a-z]{1,4}|京|苏|粤|使|挂|＠|@|\u{FF21}|号){0,24}",
            t in "([0-9]{1,5}|[0-9a-fA-F]{1,5}|[.:/, -]|，|19|20|年|月|日|[EGPSD]|[a-z]|0[1-9]|1[0-2]|3[01]|号|单元|室){0,30}",
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            all_agree(s.as_bytes());
            all_agree(t.as_bytes());
            all_agree(&bytes);
        }

        /// Latin names, whole and in text: titles, context words, suffixes, initials, and the
        /// punctuation between them.
        #[test]
        fn the_latin_name_scanner_agrees_with_its_regex(
            s in "(Mr|Mrs|Ms|Miss|Dr|Prof|Mx|Name|name|NAME|Contact|Attn|customer|Jr|II|III|IV|PhD|[A-Z]|[A-Z][a-z]{1,5}|O'Neil|Ab-c|[a-z]{1,3}|[0-9_]|[ .:,]| ){0,14}",
        ) {
            all_agree(s.as_bytes());
        }

        /// Chinese text around names: context words, titles, Han characters of three and four
        /// bytes, CJK characters that are not Han, middle dots and separators; and the same
        /// text with one byte replaced (broken characters), or cut short.
        #[test]
        fn the_name_scanner_agrees_with_its_regex(
            s in "(姓名|联系人|收货人|开户名|户名|客户|顾客|车主|先生|女士|小姐|先|女|客|王|欧阳|明|建国|𠀀|々|ア|·|•|・|[:：]| |，|[a-z0-9]){0,16}",
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(0xE5u8), Just(0xA7), Just(0x80), Just(b'a')],
        ) {
            let mut h = s.into_bytes();
            all_agree(&h);
            if !h.is_empty() {
                let i = at.index(h.len());
                all_agree(&h[..i]);
                h[i] = byte;
                all_agree(&h);
            }
        }
    }
}
