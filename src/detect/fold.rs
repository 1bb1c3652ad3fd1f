//! Folding the compatibility spellings people type before detection: full-width forms from a
//! Chinese input method (`１３８００１３８０００`, `ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ`, `－`), the ideographic space
//! and the no-break spaces, each to the ASCII character Unicode's NFKC maps it to.
//!
//! Why a table and not full NFKC (the `unicode-normalization` crate): the detectors only read
//! ASCII digits, letters and punctuation, and every character whose NFKC form is one of those and
//! that people type in such data is in the table (U+FF01..U+FF5E, U+3000, U+00A0, U+2000..U+200A,
//! U+202F, U+205F). Full NFKC would also turn `m²`, `①`, `㎡` and `½` into digits nobody typed,
//! and it allocates and decomposes every non-ASCII value. A test holds the table to NFKC.
//!
//! Values are folded only where a character folds to one a detector reads (letters, digits,
//! spaces, `+-.()@_%#`); [`fold_char`], the whole table, serves masks and shape tests.
//! Folding keeps a list of where the value shrank, so offsets found in the folded text map back
//! to the original bytes (masking and span actions work on the value as stored). ASCII values,
//! and non-ASCII values without a foldable character, are searched as they are.

/// The ASCII character `c` folds to, if it is one of the folded characters.
#[inline]
pub fn fold_char(c: char) -> Option<char> {
    let u = c as u32;
    match u {
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
        0x3000 | 0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F => Some(' '),
        _ => None,
    }
}

/// True for the ASCII characters a detector reads: letters, digits, spaces and `+-.()@_%#`.
/// The other full-width signs (`，：；！？`, common in Chinese prose) are left as they are: no
/// match changes when they are folded, and prose holding only them needs no folded copy.
#[inline]
fn read_by_detectors(a: u8) -> bool {
    a.is_ascii_alphanumeric()
        || matches!(
            a,
            b' ' | b'+' | b'-' | b'.' | b'(' | b')' | b'@' | b'_' | b'%' | b'#'
        )
}

/// The length of the foldable character encoded at the start of `s`, if there is one and it
/// folds to a character [`read_by_detectors`] (2 bytes for U+00A0, 3 for the others).
#[inline]
fn foldable_len(s: &[u8]) -> Option<(usize, u8)> {
    full_width_len(s).filter(|&(_, a)| read_by_detectors(a))
}

/// [`foldable_len`] for every character of the table.
#[inline]
fn full_width_len(s: &[u8]) -> Option<(usize, u8)> {
    match *s {
        // U+FF01..U+FF3F: EF BC 81..BF.
        [0xEF, 0xBC, c, ..] if (0x81..=0xBF).contains(&c) => Some((3, c - 0x80 + 0x20)),
        // U+FF40..U+FF5E: EF BD 80..9E.
        [0xEF, 0xBD, c, ..] if (0x80..=0x9E).contains(&c) => Some((3, c - 0x80 + 0x60)),
        [0xE3, 0x80, 0x80, ..] => Some((3, b' ')),
        [0xC2, 0xA0, ..] => Some((2, b' ')),
        [0xE2, 0x80, c, ..] if (0x80..=0x8A).contains(&c) || c == 0xAF => Some((3, b' ')),
        [0xE2, 0x81, 0x9F, ..] => Some((3, b' ')),
        _ => None,
    }
}

/// Calls `f` with the offset, encoded length and ASCII byte of each character of `value` that
/// [`foldable_len`] folds, in order. Linear, and one pass: the bytes that can lead such a
/// character (C2, E2, E3, EF) are found sixteen at a time where SSE2 is available, and only
/// those are looked at further (in Chinese prose, the punctuation: `，。：`).
#[inline]
fn for_each_foldable(value: &[u8], mut f: impl FnMut(usize, usize, u8)) {
    let mut i = 0;
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while i + 16 <= value.len() {
        let block: &[u8; 16] = value[i..i + 16].try_into().expect("16 bytes");
        // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
        let mut leads = unsafe { sse2::leads(block) };
        while leads != 0 {
            let at = i + leads.trailing_zeros() as usize;
            if let Some((len, ascii)) = foldable_len(&value[at..]) {
                f(at, len, ascii);
            }
            leads &= leads - 1;
        }
        i += 16;
    }
    for (at, b) in value.iter().enumerate().skip(i) {
        if matches!(b, 0xC2 | 0xE2 | 0xE3 | 0xEF) {
            if let Some((len, ascii)) = foldable_len(&value[at..]) {
                f(at, len, ascii);
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::load;
    use std::arch::x86_64::*;

    /// Bit `k` set when `b[k]` is C2, E2, E3 or EF: a byte that may lead a foldable character.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn leads(b: &[u8; 16]) -> u32 {
        let v = load(b);
        let is = |x: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(x as i8));
        let any = _mm_or_si128(
            _mm_or_si128(is(0xC2), is(0xE2)),
            _mm_or_si128(is(0xE3), is(0xEF)),
        );
        _mm_movemask_epi8(any) as u32
    }
}

/// True when `value` holds a character [`fold_char`] folds.
#[cfg(test)]
fn needs_folding(value: &[u8]) -> bool {
    let mut any = false;
    for_each_foldable(value, |_, _, _| any = true);
    any
}

/// A value with its foldable characters folded, and how to map offsets back.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    /// The folded bytes.
    pub(crate) text: Vec<u8>,
    /// For each folded character, in order: its offset in `text` and the bytes the original
    /// had dropped up to and including it.
    shrink: Vec<(usize, usize)>,
}

impl Folded {
    /// Folds `value` into `self` (reusing its buffers): the bytes between folded characters are
    /// copied in bulk. Returns false, leaving `self` empty, when nothing in `value` folds.
    pub(crate) fn fold(&mut self, value: &[u8]) -> bool {
        self.text.clear();
        self.shrink.clear();
        let (mut copied, mut dropped) = (0, 0);
        for_each_foldable(value, |at, len, ascii| {
            self.text.extend_from_slice(&value[copied..at]);
            dropped += len - 1;
            self.shrink.push((self.text.len(), dropped));
            self.text.push(ascii);
            copied = at + len;
        });
        if self.shrink.is_empty() {
            return false;
        }
        self.text.extend_from_slice(&value[copied..]);
        true
    }

    /// The offset in the original value of offset `pos` of the folded text (a start or an end:
    /// an offset just past a folded character maps just past the original character).
    pub(crate) fn original(&self, pos: usize) -> usize {
        let k = self.shrink.partition_point(|&(at, _)| at < pos);
        pos + if k == 0 { 0 } else { self.shrink[k - 1].1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The bulk fold equals folding character by character, and every character boundary
        /// of the folded text maps back to the same character's boundary in the original.
        #[test]
        fn folds_like_the_table_and_maps_every_boundary_back(
            s in "[a-z0-9 @+\\-.\u{a0}\u{2000}-\u{200b}\u{3000}-\u{3002}\u{ff00}-\u{ff65}\u{c0}-\u{c5}\u{4e00}-\u{4e05}]{0,40}"
        ) {
            let mut f = Folded::default();
            let folded_any = f.fold(s.as_bytes());
            let fold = |c: char| fold_char(c).filter(|&a| read_by_detectors(a as u8));
            let want: String = s.chars().map(|c| fold(c).unwrap_or(c)).collect();
            prop_assert_eq!(folded_any, want != s);
            if folded_any {
                prop_assert_eq!(std::str::from_utf8(&f.text).unwrap(), want.as_str());
                let (mut o, mut n) = (0, 0);
                for c in s.chars() {
                    prop_assert_eq!(f.original(n), o);
                    o += c.len_utf8();
                    n += fold(c).map_or(c.len_utf8(), |_| 1);
                }
                prop_assert_eq!(f.original(n), o);
            }
        }
    }

    #[test]
    fn the_table_is_nfkc() {
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let nfkc: String = c.to_string().nfkc().collect();
            match fold_char(c) {
                Some(a) => assert_eq!(nfkc, a.to_string(), "U+{u:04X}"),
                None => {
                    // What the table leaves out on purpose: characters that NFKC turns into one
                    // ASCII letter, digit or sign but that nobody types for one (superscripts,
                    // circled and mathematical forms, ligature parts...). Every space and every
                    // full-width form that NFKC maps to ASCII is folded.
                    if nfkc.len() == 1 && nfkc.is_ascii() && !c.is_ascii() {
                        assert!(
                            nfkc != " " && !matches!(u, 0xFF00..=0xFFEF),
                            "U+{u:04X} folds to {nfkc:?} under NFKC but not here"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn encoded_lengths_match_the_table() {
        for u in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let mut buf = [0u8; 4];
            let s = c.encode_utf8(&mut buf).as_bytes();
            let got = full_width_len(s).map(|(len, a)| (len, a as char));
            let want = fold_char(c).map(|a| (s.len(), a));
            assert_eq!(got, want, "U+{u:04X}");
            let read = want.filter(|&(_, a)| read_by_detectors(a as u8));
            assert_eq!(needs_folding(s), read.is_some(), "U+{u:04X}");
        }
    }

    #[test]
    fn offsets_map_back() {
        let v = "电话：１３８-００１３　8000。";
        let mut f = Folded::default();
        assert!(f.fold(v.as_bytes()));
        let text = std::str::from_utf8(&f.text).unwrap();
        assert_eq!(text, "电话：138-0013 8000。");
        let s = text.find("138").unwrap();
        let e = text.find("。").unwrap();
        assert_eq!(&v[f.original(s)..f.original(e)], "１３８-００１３　8000");
        assert_eq!(f.original(0), 0);
        assert_eq!(f.original(text.len()), v.len());
        assert!(!needs_folding("电话：，；！？".as_bytes()));
        assert!(!needs_folding("北京市朝阳区。".as_bytes()));
        assert!(!needs_folding(b"13800138000"));
        assert!(!f.fold("北京\u{a5}市。".as_bytes()));
        for v in ["\u{a0}１\u{a0}", "a\u{c2}\u{a0}b", "。，\u{a0}x\u{3000}"] {
            f.fold(v.as_bytes());
            let want: String = v
                .chars()
                .map(|c| fold_char(c).filter(|&a| a != ',').unwrap_or(c))
                .collect();
            assert_eq!(std::str::from_utf8(&f.text).unwrap(), want, "{v:?}");
        }
    }
}
