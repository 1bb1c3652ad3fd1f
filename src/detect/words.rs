//! Finding whether a text holds any of a few fixed words: the gates' literals.

use aho_corasick::AhoCorasick;

use super::pairs::PairSet;

/// Texts up to this long are checked for the words' first two bytes before the search (longer
/// ones go straight to the SIMD search, which the byte loop would only delay).
const FIRST_BYTES_UP_TO: usize = 48;

/// Finds any of a few words: the SIMD "Teddy" searcher where the CPU has it (most of the
/// text is skipped 16 or 32 bytes at a time), else an Aho-Corasick automaton. A short text
/// holding none of the words' first two bytes ([`PairSet`]; their first bytes where a word has
/// one byte) is answered without either.
#[derive(Debug)]
pub(crate) struct Words {
    /// The first byte of each word, one bit per byte value.
    first: [u64; 4],
    /// The first two bytes of each word, when every word has two.
    pairs: Option<PairSet>,
    /// Every word starts with a non-ASCII byte (CJK words).
    non_ascii: bool,
    search: Search,
}

#[derive(Debug)]
enum Search {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Words {
    /// The searcher for `words` (at least one, none empty).
    pub(crate) fn new<P: AsRef<[u8]>>(words: &[P]) -> Option<Words> {
        Words::build(words, true)
    }

    /// [`Words::new`], with the SIMD searcher tried first only when `simd` (the tests turn it
    /// off to check the automaton that CPUs without it get).
    fn build<P: AsRef<[u8]>>(words: &[P], simd: bool) -> Option<Words> {
        let mut first = [0u64; 4];
        for w in words {
            let &b = w.as_ref().first()?;
            first[b as usize / 64] |= 1 << (b % 64);
        }
        let packed = simd.then(|| {
            let mut packed = aho_corasick::packed::Config::new().builder();
            packed.extend(words);
            packed.build()
        });
        let search = match packed.flatten() {
            Some(s) => Search::Packed(s),
            None => aho_corasick::AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(words)
                .map(Search::Automaton)
                .ok()?,
        };
        Some(Words {
            first,
            pairs: PairSet::new(words),
            non_ascii: first[..2] == [0, 0],
            search,
        })
    }

    /// True when `text` holds one of the words.
    #[inline]
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        self.may_hold(text)
            && match &self.search {
                Search::Packed(s) => s.find(text).is_some(),
                Search::Automaton(ac) => ac.is_match(text),
            }
    }

    /// False when a short `text` cannot hold one of the words, found without the search: it is
    /// all ASCII and the words all start with a non-ASCII byte, or it holds none of the words'
    /// first two bytes (their first bytes, where a word has one). Longer texts go straight to
    /// the search, which these tests would only delay.
    #[inline]
    fn may_hold(&self, text: &[u8]) -> bool {
        if text.len() > FIRST_BYTES_UP_TO {
            return true;
        }
        if self.non_ascii {
            return !text.is_ascii();
        }
        let starts = |&b: &u8| self.first[b as usize / 64] >> (b % 64) & 1 == 1;
        match &self.pairs {
            Some(pairs) => pairs.holds(text),
            None => text.iter().any(starts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both searchers find a word anywhere in a text, and only a whole word.
    #[test]
    fn both_word_searchers_find_a_word_anywhere() {
        let words = ["abcd", "bc", "ab"];
        for simd in [true, false] {
            let w = Words::build(&words, simd).unwrap();
            for text in ["xabcd", "zzbc", &format!("{}ab", "-".repeat(100))] {
                assert!(w.is_match(text.as_bytes()), "{text} simd {simd}");
            }
            for text in ["zzb", "a-b", &format!("{}acbd", "-".repeat(100))] {
                assert!(!w.is_match(text.as_bytes()), "{text} simd {simd}");
            }
        }
    }
}
