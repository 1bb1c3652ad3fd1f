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

/// The length of the foldable character encoded at the start of `s`, if there is one
/// (2 bytes for U+00A0, 3 for the others).
#[inline]
fn foldable_len(s: &[u8]) -> Option<(usize, u8)> {
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

/// True when `value` holds a character [`fold_char`] folds (one pass; only the lead bytes C2,
/// E2, E3 and EF are looked at further).
pub(crate) fn needs_folding(value: &[u8]) -> bool {
    value.iter().enumerate().any(|(i, &b)| {
        matches!(b, 0xC2 | 0xE2 | 0xE3 | 0xEF) && foldable_len(&value[i..]).is_some()
    })
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
    /// Folds `value` into `self` (reusing its buffers).
    pub(crate) fn fold(&mut self, value: &[u8]) {
        self.text.clear();
        self.shrink.clear();
        self.text.reserve(value.len());
        let (mut i, mut dropped) = (0, 0);
        while i < value.len() {
            let b = value[i];
            if b >= 0xC2 {
                if let Some((len, ascii)) = foldable_len(&value[i..]) {
                    dropped += len - 1;
                    self.shrink.push((self.text.len(), dropped));
                    self.text.push(ascii);
                    i += len;
                    continue;
                }
            }
            self.text.push(b);
            i += 1;
        }
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
    use unicode_normalization::UnicodeNormalization;

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
            let got = foldable_len(s).map(|(len, a)| (len, a as char));
            let want = fold_char(c).map(|a| (s.len(), a));
            assert_eq!(got, want, "U+{u:04X}");
            assert_eq!(needs_folding(s), want.is_some(), "U+{u:04X}");
        }
    }

    #[test]
    fn offsets_map_back() {
        let v = "电话：１３８-００１３　8000。";
        let mut f = Folded::default();
        f.fold(v.as_bytes());
        let text = std::str::from_utf8(&f.text).unwrap();
        assert_eq!(text, "电话:138-0013 8000。");
        let s = text.find("138").unwrap();
        let e = text.find("。").unwrap();
        assert_eq!(&v[f.original(s)..f.original(e)], "１３８-００１３　8000");
        assert_eq!(f.original(0), 0);
        assert_eq!(f.original(text.len()), v.len());
        assert!(!needs_folding("电话：".as_bytes()) || needs_folding("：".as_bytes()));
        assert!(!needs_folding("北京市朝阳区。".as_bytes()));
        assert!(!needs_folding(b"13800138000"));
    }
}
