//! A prefilter for word searches: the first two bytes of each word, one bit per byte pair. A
//! text holding none of the pairs holds none of the words, found with one table lookup per
//! byte instead of a search.

/// The first two bytes of a list of words, in every ASCII case.
#[derive(Debug, Clone)]
pub(crate) struct PairSet(Box<[u64; 1024]>);

impl PairSet {
    /// The pairs of `words`; `None` when a word is shorter than two bytes (no pair stands for
    /// it).
    pub(crate) fn new<W: AsRef<[u8]>>(words: impl IntoIterator<Item = W>) -> Option<PairSet> {
        words
            .into_iter()
            .try_fold(Box::new([0u64; 1024]), |mut bits, w| {
                let &[a, b, ..] = w.as_ref() else {
                    return None;
                };
                for a in both_cases(a) {
                    for b in both_cases(b) {
                        let i = index(a, b);
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
                Some(bits)
            })
            .map(PairSet)
    }

    /// True when `text` holds one of the pairs: false means it holds none of the words.
    #[inline]
    pub(crate) fn holds(&self, text: &[u8]) -> bool {
        text.windows(2).any(|w| {
            let i = index(w[0], w[1]);
            self.0[i / 64] >> (i % 64) & 1 == 1
        })
    }
}

/// The bit of a byte pair.
#[inline]
fn index(a: u8, b: u8) -> usize {
    (a as usize) << 8 | b as usize
}

/// A byte and, for an ASCII letter, its other case.
fn both_cases(b: u8) -> [u8; 2] {
    [b.to_ascii_lowercase(), b.to_ascii_uppercase()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_holds_a_pair_where_it_holds_a_word_in_any_case() {
        let set = PairSet::new(["Name", "收货人"]).expect("two bytes each");
        for text in ["my name", "NAME:", "nAme", "收货人：张", "xxna"] {
            assert!(set.holds(text.as_bytes()), "{text}");
        }
        for text in ["Wang Fang 123", "n a", "", "N", "人货"] {
            assert!(!set.holds(text.as_bytes()), "{text}");
        }
        assert!(PairSet::new(["ok", "x"]).is_none());
    }
}
