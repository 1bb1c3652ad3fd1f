//! Where the scanners that start at a word can start in one value, found for all of them in one
//! pass.
//!
//! Three scanners start at fixed words or bytes: the Chinese name scanner at a context word or a
//! title (姓名, 先生, …), the Latin name scanner at a context word or a title (`Name`, `Mr.`, …),
//! the Chinese address scanner at a letter or digit before the lead byte of a number suffix
//! (`8` + the first byte of `号`). In long text most of their time went to finding those
//! places, each reading the whole value again with its own search. [`Anchors::of`] reads the
//! value once, 32 bytes a step where the CPU has AVX2, and marks:
//!
//! - every place where one of the words may start: three of a word's bytes, each checked by its
//!   two halves (nibbles) in a table of eight buckets of words (the "Teddy" fingerprint of
//!   Hyperscan and of the `aho-corasick` crate, here with the bytes chosen per list: a Chinese
//!   word's second, third and fifth bytes, which vary far more than the lead bytes of its
//!   characters). A mark is a candidate, never a miss: the scanners check the word there
//!   ([`Anchors::word_from`]);
//! - every letter or digit followed by the byte `0xE5` or `0xE6`, exactly.
//!
//! Without AVX2 the same tables are read a byte at a time, marking the same places.

use std::sync::LazyLock;

use crate::detect::pairs::PairSet;
use crate::detect::validators::person_name::{CN_CONTEXT, CN_TITLES, LATIN_CONTEXT};

/// The titles of the Latin name scanner's third pattern with the byte that must follow each
/// where a match starts (`\.? ` after the title, or the `s` of `Mrs`; `Miss` as it is): three
/// bytes or more, so the fingerprint tells more places apart than with `Mr` alone (English
/// text holds `re`, `co`, `na` everywhere; `Mr.`, `Rec` and `Nam` are rare).
pub(super) const LATIN_TITLE_STARTS: [&str; 8] =
    ["Mr.", "Mr ", "Mrs", "Ms.", "Ms ", "Miss", "Dr.", "Dr "];

/// The word lists the marks are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    /// The Chinese name scanner's context words, then its titles.
    CnName,
    /// The Latin name scanner's context words, then [`LATIN_TITLE_STARTS`].
    LatinName,
}

/// How many bytes of a word the fingerprint checks.
const BYTES: usize = 3;

/// The most words a list may hold (a bucket is a 64-bit set of them).
const MAX_WORDS: usize = 64;

/// One list's words and their fingerprint tables.
#[derive(Debug)]
struct Print {
    words: Vec<&'static [u8]>,
    /// The byte of a word each table checks, from the word's start.
    offsets: [usize; BYTES],
    /// Per checked byte, the buckets whose words allow each low nibble there, then (`hi`) each
    /// high nibble; written twice, for both 16-byte halves of an AVX2 register.
    lo: [[u8; 32]; BYTES],
    hi: [[u8; 32]; BYTES],
    /// The words of each bucket, as a bit set of their indices.
    buckets: [u64; 8],
}

impl Print {
    /// The tables for `words` (at most [`MAX_WORDS`], none shorter than the largest offset).
    fn new(words: Vec<&'static str>, offsets: [usize; BYTES]) -> Print {
        assert!(
            words.len() <= MAX_WORDS,
            "too many words for one fingerprint"
        );
        let words: Vec<&[u8]> = words.into_iter().map(str::as_bytes).collect();
        assert!(
            words.iter().all(|w| offsets.iter().all(|&o| o < w.len())),
            "a word is shorter than the fingerprint"
        );
        // Words alike in the checked bytes share a bucket, so each bucket's nibble sets stay
        // small.
        let mut order: Vec<usize> = (0..words.len()).collect();
        order.sort_by_key(|&i| offsets.map(|o| words[i][o]));
        let per_bucket = words.len().div_ceil(8);
        let (mut lo, mut hi, mut buckets) = ([[0u8; 32]; BYTES], [[0u8; 32]; BYTES], [0u64; 8]);
        for (rank, &i) in order.iter().enumerate() {
            let bucket = rank / per_bucket;
            buckets[bucket] |= 1 << i;
            for (k, &o) in offsets.iter().enumerate() {
                let b = words[i][o];
                for half in [0, 16] {
                    lo[k][half + (b & 15) as usize] |= 1 << bucket;
                    hi[k][half + (b >> 4) as usize] |= 1 << bucket;
                }
            }
        }
        Print {
            words,
            offsets,
            lo,
            hi,
            buckets,
        }
    }

    /// The buckets whose fingerprint the bytes from `h[p]` have (a byte past the end has
    /// none).
    #[inline]
    fn buckets_at(&self, h: &[u8], p: usize) -> u8 {
        self.offsets
            .iter()
            .enumerate()
            .fold(0xFF, |acc, (k, &o)| match h.get(p + o) {
                Some(&b) => acc & self.lo[k][(b & 15) as usize] & self.hi[k][(b >> 4) as usize],
                None => 0,
            })
    }

    /// The first listed word that starts at `h[p]`, if one does.
    #[inline]
    fn word_at(&self, h: &[u8], p: usize) -> Option<usize> {
        let mut bits = self.buckets_at(h, p);
        let mut words = 0u64;
        while bits != 0 {
            words |= self.buckets[bits.trailing_zeros() as usize];
            bits &= bits - 1;
        }
        let rest = &h[p..];
        while words != 0 {
            let i = words.trailing_zeros() as usize;
            if rest.starts_with(self.words[i]) {
                return Some(i);
            }
            words &= words - 1;
        }
        None
    }
}

/// Both lists' tables.
#[derive(Debug)]
struct Prints {
    cn: Print,
    latin: Print,
}

static PRINTS: LazyLock<Prints> = LazyLock::new(|| {
    let p = Prints {
        // The second, third and fifth bytes: the first character's two continuation bytes and
        // the second's first (every word has two characters of three bytes).
        cn: Print::new([CN_CONTEXT, CN_TITLES].concat(), [1, 2, 4]),
        latin: Print::new([LATIN_CONTEXT, &LATIN_TITLE_STARTS[..]].concat(), [0, 1, 2]),
    };
    // The scans skip Chinese words where the first byte is ASCII, Latin ones elsewhere.
    assert!(p.cn.words.iter().all(|w| w[0] >= 0x80) && p.latin.words.iter().all(|w| w[0] < 0x80));
    p
});

/// Values up to this long are first checked for the first two bytes of every word and pair
/// ([`FIRST_PAIRS`]): most short values hold none, and are marked without a scan.
const PAIRS_CHECKED_UP_TO: usize = 48;

/// The first two bytes of every word of both lists, and every pair.
static FIRST_PAIRS: LazyLock<PairSet> = LazyLock::new(|| {
    let p = &*PRINTS;
    let pairs = (0..=u8::MAX)
        .filter(u8::is_ascii_alphanumeric)
        .flat_map(|a| [[a, 0xE5], [a, 0xE6]]);
    let words = p.cn.words.iter().chain(&p.latin.words);
    PairSet::new(words.map(|w| w.to_vec()).chain(pairs.map(Vec::from)))
        .expect("every word has two bytes")
});

/// Values up to this many 64-byte words keep their marks inline, without an allocation.
const INLINE_WORDS: usize = 4;

/// Which of [`Anchors`]' sets.
const CN: usize = 0;
const LATIN: usize = 1;
const PAIRS: usize = 2;

/// The marks of one value, three sets of bits one after another: bit `p` of a list's set where
/// one of its words may start at byte `p`, of the pairs' where byte `p` is an ASCII letter or
/// digit and byte `p + 1` is `0xE5` or `0xE6`.
#[derive(Debug, Clone)]
pub(crate) struct Anchors {
    /// 64-bit words per set.
    words: usize,
    inline: [u64; 3 * INLINE_WORDS],
    heap: Vec<u64>,
}

impl PartialEq for Anchors {
    fn eq(&self, other: &Anchors) -> bool {
        self.all() == other.all()
    }
}

impl Anchors {
    /// The marks of `value`.
    pub(crate) fn of(value: &[u8]) -> Anchors {
        let mut a = Anchors::empty(value.len());
        if value.len() <= PAIRS_CHECKED_UP_TO && !FIRST_PAIRS.holds(value) {
            return a;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { avx2::scan(&PRINTS, value, &mut a) };
            return a;
        }
        a.scan_bytes(value);
        a
    }

    /// No marks, for a value of `len` bytes.
    fn empty(len: usize) -> Anchors {
        let words = len.div_ceil(64);
        Anchors {
            words,
            inline: [0; 3 * INLINE_WORDS],
            heap: if words > INLINE_WORDS {
                vec![0; 3 * words]
            } else {
                Vec::new()
            },
        }
    }

    fn all(&self) -> &[u64] {
        if self.words <= INLINE_WORDS {
            &self.inline[..3 * self.words]
        } else {
            &self.heap
        }
    }

    fn all_mut(&mut self) -> &mut [u64] {
        if self.words <= INLINE_WORDS {
            &mut self.inline[..3 * self.words]
        } else {
            &mut self.heap
        }
    }

    /// Set `which`.
    fn set(&self, which: usize) -> &[u64] {
        &self.all()[which * self.words..(which + 1) * self.words]
    }

    /// Marks position `at` in set `which`.
    fn mark(&mut self, which: usize, at: usize) {
        let words = self.words;
        self.all_mut()[which * words + at / 64] |= 1 << (at % 64);
    }

    /// [`Anchors::of`] a byte at a time.
    fn scan_bytes(&mut self, value: &[u8]) {
        let p = &*PRINTS;
        for i in 0..value.len() {
            // Every Chinese word starts with a byte that is not ASCII, every Latin one with
            // an ASCII byte.
            if value[i] >= 0x80 && p.cn.buckets_at(value, i) != 0 {
                self.mark(CN, i);
            }
            if value[i] < 0x80 && p.latin.buckets_at(value, i) != 0 {
                self.mark(LATIN, i);
            }
            if value[i].is_ascii_alphanumeric() && matches!(value.get(i + 1), Some(0xE5 | 0xE6)) {
                self.mark(PAIRS, i);
            }
        }
    }

    /// The leftmost word of `list` that starts at or after `from` in `h` (the value marked, or
    /// a start of it), and its index in the list (the first listed, of two starting there).
    #[inline(always)]
    pub(crate) fn word_from(&self, list: List, h: &[u8], from: usize) -> Option<(usize, usize)> {
        let (set, print) = match list {
            List::CnName => (self.set(CN), &PRINTS.cn),
            List::LatinName => (self.set(LATIN), &PRINTS.latin),
        };
        let mut at = from;
        while let Some(p) = next_bit(set, at).filter(|&p| p < h.len()) {
            if let Some(i) = print.word_at(h, p) {
                return Some((p, i));
            }
            at = p + 1;
        }
        None
    }

    /// The first `j > from` where `h[j - 1]` is an ASCII letter or digit and `h[j]` is `0xE5`
    /// or `0xE6` (`h` the value marked, or a start of it).
    #[inline]
    pub(crate) fn pair_after(&self, h: &[u8], from: usize) -> Option<usize> {
        next_bit(self.set(PAIRS), from)
            .map(|p| p + 1)
            .filter(|&j| j < h.len())
    }
}

/// The lowest set bit at or after `from`.
#[inline]
fn next_bit(set: &[u64], from: usize) -> Option<usize> {
    let mut w = from / 64;
    let mut bits = set.get(w)? & (u64::MAX << (from % 64));
    loop {
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        w += 1;
        bits = *set.get(w)?;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Anchors, Print, Prints, BYTES, CN, LATIN, PAIRS};
    use std::arch::x86_64::*;

    /// Bytes of a step.
    const STEP: usize = 32;
    /// The furthest byte a step reads past its last position: the largest offset.
    const REACH: usize = 4;

    /// One list's tables, loaded.
    struct Tables {
        lo: [__m256i; BYTES],
        hi: [__m256i; BYTES],
    }

    #[target_feature(enable = "avx2")]
    fn tables(p: &Print) -> Tables {
        // SAFETY: unaligned loads of exactly the 32 bytes of each array.
        let load = |t: &[u8; 32]| unsafe { _mm256_loadu_si256(t.as_ptr().cast()) };
        Tables {
            lo: p.lo.each_ref().map(load),
            hi: p.hi.each_ref().map(load),
        }
    }

    /// Bytes of `v` in `lo..=lo + span` (unsigned), as a byte mask.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn in_range(v: __m256i, lo: u8, span: u8) -> __m256i {
        let x = _mm256_sub_epi8(v, _mm256_set1_epi8(lo as i8));
        _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(span as i8)), x)
    }

    /// A vector's low and high nibbles.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn nibbles(v: __m256i) -> (__m256i, __m256i) {
        let low = _mm256_set1_epi8(0x0F);
        (
            _mm256_and_si256(v, low),
            _mm256_and_si256(_mm256_srli_epi16(v, 4), low),
        )
    }

    /// Bit `k` set when the bytes' nibbles at lane `k` (`at[i]` those of the table's `i`th
    /// byte) are in one bucket in every table.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn print(t: &Tables, at: [(__m256i, __m256i); BYTES]) -> u32 {
        let mut acc = _mm256_set1_epi8(-1);
        for (k, (lo, hi)) in at.into_iter().enumerate() {
            let both = _mm256_and_si256(
                _mm256_shuffle_epi8(t.lo[k], lo),
                _mm256_shuffle_epi8(t.hi[k], hi),
            );
            acc = _mm256_and_si256(acc, both);
        }
        !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(acc, _mm256_setzero_si256())) as u32)
    }

    /// The three marks of the 32 positions from `base`, which has 36 readable bytes: Chinese
    /// words (bytes 1, 2 and 4; the first byte not ASCII), Latin words (bytes 0, 1 and 2; the
    /// first ASCII), pairs. A step of only ASCII bytes skips the Chinese words, one with none
    /// the Latin words and the pairs.
    ///
    /// # Safety
    /// `base..base + 36` must be readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn step(cn: &Tables, latin: &Tables, base: *const u8) -> (u32, u32, u32) {
        // SAFETY: each load reads 32 bytes from `base`, `base + 1`, `base + 2` or `base + 4`,
        // within the 36 the caller guarantees.
        let load = |o: usize| unsafe { _mm256_loadu_si256(base.add(o).cast()) };
        let (v0, v1, v2) = (load(0), load(1), load(2));
        let high = _mm256_movemask_epi8(v0) as u32;
        let (n1, n2) = (nibbles(v1), nibbles(v2));
        let cn_bits = if high != 0 {
            print(cn, [n1, n2, nibbles(load(4))]) & high
        } else {
            0
        };
        if high == u32::MAX {
            return (cn_bits, 0, 0);
        }
        let latin_bits = print(latin, [nibbles(v0), n1, n2]) & !high;
        let alnum = _mm256_or_si256(
            in_range(v0, b'0', 9),
            in_range(_mm256_or_si256(v0, _mm256_set1_epi8(0x20)), b'a', 25),
        );
        let pairs = _mm256_movemask_epi8(_mm256_and_si256(alnum, in_range(v1, 0xE5, 1)));
        (cn_bits, latin_bits, pairs as u32)
    }

    /// [`Anchors::of`] 64 positions (one word of each set) in two steps, while a step's 36
    /// bytes are there to read; the rest (under 68 bytes) from a copy padded with zeros: no
    /// word has a zero byte, and zero is no letter or digit.
    #[target_feature(enable = "avx2")]
    pub(super) fn scan(p: &Prints, value: &[u8], out: &mut Anchors) {
        debug_assert!(p.cn.offsets == [1, 2, 4] && p.latin.offsets == [0, 1, 2]);
        let n = value.len();
        // The words read from the value itself: those whose steps' bytes are all in it.
        let full = n.saturating_sub(REACH) / 64;
        let rest = &value[64 * full..];
        let mut pad = [0u8; 3 * STEP + REACH];
        pad[..rest.len()].copy_from_slice(rest);
        let (cn, latin) = (tables(&p.cn), tables(&p.latin));
        let words = out.words;
        let all = out.all_mut();
        let mut put = |w: usize, lo: (u32, u32, u32), hi: (u32, u32, u32), keep: u64| {
            let join = |a: u32, b: u32| (u64::from(a) | u64::from(b) << 32) & keep;
            all[CN * words + w] = join(lo.0, hi.0);
            all[LATIN * words + w] = join(lo.1, hi.1);
            all[PAIRS * words + w] = join(lo.2, hi.2);
        };
        for w in 0..full {
            let at = value[64 * w..].as_ptr();
            // SAFETY: `value` has 68 bytes from `64 * w` (`w < full`), the 36 of each step.
            let (lo, hi) = unsafe { (step(&cn, &latin, at), step(&cn, &latin, at.add(STEP))) };
            put(w, lo, hi, u64::MAX);
        }
        let none = (0, 0, 0);
        let keep = |len: usize| {
            if len >= 64 {
                u64::MAX
            } else {
                (1u64 << len) - 1
            }
        };
        let base = pad.as_ptr();
        // SAFETY: `pad` has 36 bytes from 0, 32 and 64.
        unsafe {
            if !rest.is_empty() {
                let hi = if rest.len() > STEP {
                    step(&cn, &latin, base.add(STEP))
                } else {
                    none
                };
                put(full, step(&cn, &latin, base), hi, keep(rest.len()));
            }
            if rest.len() > 64 {
                put(
                    full + 1,
                    step(&cn, &latin, base.add(64)),
                    none,
                    keep(rest.len() - 64),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every start of a word of `words` in `h`, with the first listed of those starting there.
    fn starts(words: &[&[u8]], h: &[u8]) -> Vec<(usize, usize)> {
        (0..h.len())
            .filter_map(|p| {
                words
                    .iter()
                    .position(|w| h[p..].starts_with(w))
                    .map(|i| (p, i))
            })
            .collect()
    }

    /// Every word and pair is found where it starts, from every offset, at every position in
    /// the value (the SIMD steps and the padded last ones), in values cut anywhere, with the
    /// marks the engine reads and with those of the byte-at-a-time scan; and the SIMD scan's
    /// marks are the byte scan's.
    fn check(h: &[u8]) {
        let show = String::from_utf8_lossy(h);
        let mut bytes = Anchors::empty(h.len());
        bytes.scan_bytes(h);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut simd = Anchors::empty(h.len());
            // SAFETY: the CPU has AVX2.
            unsafe { avx2::scan(&PRINTS, h, &mut simd) };
            assert_eq!(simd, bytes, "{show:?}");
        }
        // What the engine reads (a short value may skip the scan), and the byte scan's marks.
        let pairs: Vec<usize> = (1..h.len())
            .filter(|&j| h[j - 1].is_ascii_alphanumeric() && matches!(h[j], 0xE5 | 0xE6))
            .collect();
        for a in [Anchors::of(h), bytes] {
            for (list, print) in [(List::CnName, &PRINTS.cn), (List::LatinName, &PRINTS.latin)] {
                let all = starts(&print.words, h);
                for from in 0..=h.len() {
                    let want = all.iter().find(|&&(p, _)| p >= from).copied();
                    let got = a.word_from(list, h, from);
                    assert_eq!(got, want, "{list:?} from {from} in {show:?}");
                }
            }
            for from in 0..h.len() {
                let want = pairs.iter().find(|&&j| j > from).copied();
                assert_eq!(a.pair_after(h, from), want, "from {from} in {show:?}");
            }
        }
    }

    #[test]
    fn every_word_is_found_at_every_offset() {
        let words: Vec<&str> = [
            CN_CONTEXT,
            CN_TITLES,
            LATIN_CONTEXT,
            &LATIN_TITLE_STARTS[..],
        ]
        .concat()
        .into_iter()
        .chain(["8号", "A座", "开户名户名", "Mrs. Miss"])
        .collect();
        for w in &words {
            for pad in (0..70).step_by(3).chain([16, 31, 32, 33]) {
                let filler = "客x".repeat(pad);
                check(format!("{filler}{w}").as_bytes());
                check(format!("{w}{filler}").as_bytes());
                check(format!("{filler}{w}{filler}{w}").as_bytes());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Texts of the words' pieces, Han characters, ASCII and broken bytes.
        #[test]
        fn marks_find_what_a_plain_search_finds(
            s in "(姓名|联系人|户名|客户|先生|女士|小姐|姓|名|客|户|先|女|号|座|王|Name|name|Contact|Mr|Mrs|Ms|Miss|Dr|Customer|[A-Za-z0-9]|[ .:]|，){0,40}",
            cut in any::<prop::sample::Index>(),
            bytes in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let h = s.as_bytes();
            check(h);
            check(&h[..cut.index(h.len() + 1)]);
            check(&bytes);
        }
    }
}
