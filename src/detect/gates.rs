//! Gates: cheap necessary conditions checked before a detector runs its regex.
//!
//! A detector without a hand-written scanner ([`super::scanners`]) runs on its regex, and each
//! regex call costs a set-up and often a scan of the whole value, which is most of the engine's
//! time on short values. A gate answers "can this regex match anywhere in this text?" with a
//! test that is never wrong when it says no: a match can only be missed if the gate is wrong,
//! so the tests hold every gate to "the regex finds nothing where the gate says no".
//!
//! - Every regex gets a **literal gate** when its matches must all end (or start) with one of a
//!   small set of strings of two bytes or more, extracted from the pattern itself: the text
//!   must contain one of them ([`Gate::literals`]). User detectors get these too.
//! - The English address detector gets a **street gate**, keyed on its exact pattern: a house
//!   number, then capitalised words up to one of the pattern's street suffixes.

use std::sync::LazyLock;

use super::validators::text::{word_set, WordSet};
use super::words::Words;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// A necessary condition for a regex to match in a text.
#[derive(Debug)]
pub(crate) struct Gate {
    /// What every match needs, checked before the rest (an English address's house number
    /// and the capitalised words after it up to a street suffix).
    requires: Option<fn(&[u8]) -> bool>,
    /// Strings one of which every match of an unanchored pattern holds; `None` when the gate
    /// knows no such strings (`requires` is then all it checks).
    words: Option<Words>,
    /// The bytes a match found around a digit cluster may run on through past the cluster's
    /// margin (`address_en`: a street name of any length after the house number).
    run_bytes: Option<fn(u8) -> bool>,
}

impl Gate {
    /// False only when the regex cannot match anywhere in `text`.
    #[cfg(test)]
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        self.required(text) && self.words_in(text)
    }

    /// False when `text` lacks what every match needs.
    #[inline]
    pub(crate) fn required(&self, text: &[u8]) -> bool {
        self.requires.is_none_or(|f| f(text))
    }

    /// True when `text` holds one of the words, or the gate has none (its `requires` then
    /// says all it knows).
    #[inline]
    pub(crate) fn words_in(&self, text: &[u8]) -> bool {
        self.words.as_ref().is_none_or(|ac| ac.is_match(text))
    }

    /// The gate for `patterns`: the street gate for the shipped English address pattern, else a
    /// literal gate where the pattern yields one, else none.
    pub(crate) fn for_patterns(patterns: &[String], case_insensitive: bool) -> Option<Gate> {
        let same = |want: &[&str]| {
            !case_insensitive && want.iter().copied().eq(patterns.iter().map(String::as_str))
        };
        if same(&[EN_ADDRESS]) {
            return Some(Gate {
                requires: Some(street_after_house_number),
                words: None,
                run_bytes: Some(address_byte),
            });
        }
        Gate::literals(patterns, case_insensitive)
    }

    /// The end of a window around a digit cluster that ends at `end` in `text` and whose margin
    /// ends at `margin_end`: past the margin through the run of the bytes the gate's matches
    /// may run on through, if it has such bytes.
    pub(crate) fn window_end(&self, text: &[u8], end: usize, margin_end: usize) -> usize {
        match self.run_bytes {
            Some(more) => {
                margin_end.max(end + text[end..].iter().take_while(|&&b| more(b)).count())
            }
            None => margin_end,
        }
    }

    /// A literal gate: the prefix or suffix literals every match of the combined pattern starts
    /// or ends with, when there are at most [`MAX_LITERALS`] of them, each at least two bytes
    /// long (one-byte literals let nearly everything through). Look-around assertions count as
    /// empty, so the literals stay necessary.
    pub(crate) fn literals(patterns: &[String], case_insensitive: bool) -> Option<Gate> {
        let combined = patterns
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .case_insensitive(case_insensitive)
            .build()
            .parse(&combined)
            .ok()?;
        let best = [ExtractKind::Prefix, ExtractKind::Suffix]
            .into_iter()
            .filter_map(|kind| {
                let seq = Extractor::new()
                    .kind(kind)
                    .limit_total(MAX_LITERALS)
                    .extract(&hir);
                let literals = seq.literals()?;
                let shortest = seq.min_literal_len()?;
                (shortest >= 2 && !literals.is_empty()).then(|| {
                    (
                        shortest,
                        literals
                            .iter()
                            .map(|l| l.as_bytes().to_vec())
                            .collect::<Vec<_>>(),
                    )
                })
            })
            .max_by_key(|(shortest, _)| *shortest)?;
        Some(Gate {
            requires: None,
            words: Some(Words::new(&best.1)?),
            run_bytes: None,
        })
    }
}

/// The most literals a literal gate holds.
const MAX_LITERALS: usize = 500;

/// `address_en`'s pattern, exactly as its detector file writes it.
const EN_ADDRESS: &str = r#"[0-9]{1,6}[A-Za-z]? (?:[NSEW]\.? )?(?:[A-Z][a-zA-Z\x27.-]*|[0-9]{1,3}(?:st|nd|rd|th)) (?:[A-Z][a-zA-Z\x27.-]* ){0,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Crossing|Xing|Loop|Path|Pike|Plaza|Row|Alley|Ridge|Point|Pass|Walk|Heights|Hts|Gardens|Grove|Hill|Hills|Manor|Meadow|Meadows|Mews|Mill|Mills|Oval|Pines|Shore|Shores|Springs|Station|Stravenue|Summit|Track|Tunnel|Turnpike|Valley|Via|View|Village|Villages|Ville|Vista|Wells|Bypass|Camp|Canyon|Cape|Causeway|Center|Cliff|Common|Corner|Corners|Course|Courts|Cove|Creek|Crescent|Crest|Dale|Estate|Estates|Expressway|Extension|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Forest|Forge|Fork|Fort|Freeway|Garden|Gateway|Glen|Harbor|Haven|Inlet|Island|Junction|Key|Knoll|Lake|Lakes|Landing|Light|Lock|Lodge|Mount|Mountain|Orchard|Park|Plain|Plains|Port|Prairie|Ranch|Spur|Stream|Throughway|Union|Rapids|Rest|River|Run)\.?(?-u:\b)"#;

/// The bytes `address_en`'s matches are made of (ASCII letters and digits, `'.-` and space),
/// and `_`: a run of them ends before a byte that is not a word byte, so the pattern's closing
/// `\b` reads the same at the run's end as in the whole text.
fn address_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b' ' | b'\'' | b'.' | b'-' | b'_')
}

/// What every `address_en` match holds: a house number ([`for_each_house_number`]), then
/// words each followed by one space, capitalised (the first or, after a direction, the second
/// may also be an ordinal: `5th`, `N 2nd`),
/// and as the second to sixth of them a street suffix standing alone (followed by no letter,
/// digit or `_`, as the pattern's closing `\b` needs). No match reaches past the first word
/// that breaks the run, so the words after it are not read.
fn street_after_house_number(text: &[u8]) -> bool {
    for_each_house_number(text, |street| street_from(text, street))
}

/// [`street_after_house_number`] for the words from `t`.
fn street_from(text: &[u8], mut t: usize) -> bool {
    for k in 1..=6 {
        let letters = text[t..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if k >= 2
            && letters > 0
            && !text
                .get(t + letters)
                .is_some_and(|&b| b.is_ascii_digit() || b == b'_')
            && STREET_SUFFIXES.contains(&text[t..t + letters])
        {
            return true;
        }
        let word = match text.get(t) {
            Some(b) if b.is_ascii_uppercase() => {
                1 + text[t + 1..]
                    .iter()
                    .take_while(|&&b| b.is_ascii_alphabetic() || matches!(b, b'\'' | b'.' | b'-'))
                    .count()
            }
            // An ordinal (`2nd`) is the street's first word, after a direction (`N`) at most.
            Some(b) if k <= 2 && b.is_ascii_digit() => text[t..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count(),
            _ => return false,
        };
        if text.get(t + word) != Some(&b' ') {
            return false;
        }
        t += word + 1;
    }
    false
}

/// The street suffixes of [`EN_ADDRESS`] (its last alternation).
static STREET_SUFFIXES: LazyLock<WordSet> = LazyLock::new(|| {
    let (_, last) = EN_ADDRESS.rsplit_once("(?:").expect("the suffixes");
    let (list, _) = last.split_once(')').expect("the suffixes' end");
    word_set(list.split('|'))
});

/// Calls `street` with where the street would start after each `[0-9]{1,6}[A-Za-z]? [A-Z0-9]`
/// in `text` (a digit followed by a space, or by a letter and a space, then a capital or a
/// digit: what starts the street name, its direction or its ordinal), until it says true;
/// sixteen offsets per step where SSE2 is available, the last step on a copy padded with zeros
/// (no house number starts in the last two bytes). True when `street` said so.
fn for_each_house_number(text: &[u8], mut street: impl FnMut(usize) -> bool) -> bool {
    // The street starts two bytes after the digit, or three after a letter.
    let mut at = |i: usize| street(i + if text[i + 1] == b' ' { 2 } else { 3 });
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        const STEP: usize = sse2::HOUSE_NUMBER_BYTES;
        let mut i = 0;
        // A last step's bytes, padded with zeros.
        let mut padded: [u8; STEP];
        while i < text.len() {
            let bytes: &[u8; STEP] = match text.get(i..i + STEP) {
                Some(b) => b.try_into().expect("a step's bytes"),
                None => {
                    padded = [0u8; STEP];
                    padded[..text.len() - i].copy_from_slice(&text[i..]);
                    &padded
                }
            };
            // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
            let mut mask = unsafe { sse2::house_numbers(bytes) };
            while mask != 0 {
                if at(i + mask.trailing_zeros() as usize) {
                    return true;
                }
                mask &= mask - 1;
            }
            i += 16;
        }
        false
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    (0..text.len()).any(|i| house_number_at(text, i) && at(i))
}

/// A house number at `text[i]` ([`for_each_house_number`]), byte by byte.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn house_number_at(t: &[u8], i: usize) -> bool {
    let street = |k: usize| {
        t.get(k)
            .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    t[i].is_ascii_digit()
        && match t.get(i + 1) {
            Some(b' ') => street(i + 2),
            Some(c) if c.is_ascii_alphabetic() => t.get(i + 2) == Some(&b' ') && street(i + 3),
            _ => false,
        }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use crate::detect::simd::{digits_and_alnum, in_range, load};
    use std::arch::x86_64::*;

    /// The bytes [`house_numbers`] reads: sixteen starts and the three bytes after the last.
    pub(super) const HOUSE_NUMBER_BYTES: usize = 19;

    /// Bit `k` set when a house number starts at `b[k]`: a digit, then a space or a letter and
    /// a space, then a capital or a digit.
    #[target_feature(enable = "sse2")]
    pub(super) fn house_numbers(b: &[u8; HOUSE_NUMBER_BYTES]) -> u32 {
        let at = |k: usize| load(b[k..k + 16].try_into().expect("16 bytes"));
        let space = |v| _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8));
        let street = |v| {
            let (digit, _) = digits_and_alnum(v);
            _mm_or_si128(digit, in_range(v, b'A', 25))
        };
        let (digit, _) = digits_and_alnum(at(0));
        let (next_digit, next_alnum) = digits_and_alnum(at(1));
        let next_letter = _mm_andnot_si128(next_digit, next_alnum);
        let after = _mm_or_si128(
            _mm_and_si128(space(at(1)), street(at(2))),
            _mm_and_si128(next_letter, _mm_and_si128(space(at(2)), street(at(3)))),
        );
        _mm_movemask_epi8(_mm_and_si128(digit, after)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every shipped detector that runs on its regex, with its gate and regex.
    fn gated() -> &'static [(String, Gate, regex::bytes::Regex)] {
        static GATED: std::sync::OnceLock<Vec<(String, Gate, regex::bytes::Regex)>> =
            std::sync::OnceLock::new();
        GATED.get_or_init(|| {
            crate::detect::spec::load_all(None)
                .unwrap()
                .into_iter()
                .filter(|(_, s)| {
                    super::super::scanners::lookup(&s.patterns, s.case_insensitive).is_none()
                })
                .filter_map(|(_, s)| {
                    let gate = Gate::for_patterns(&s.patterns, s.case_insensitive)?;
                    let re = crate::detect::engine::build_regex(&s.patterns, s.case_insensitive)
                        .unwrap();
                    Some((s.id, gate, re))
                })
                .collect()
        })
    }

    /// Asserts that no gate says no where its regex matches, at any offset of `text`.
    fn never_wrong(text: &[u8]) {
        for (id, gate, re) in gated() {
            for from in 0..=text.len() {
                if !gate.may_match(&text[from..]) {
                    assert!(
                        re.find_at(text, from).is_none(),
                        "{id}: the gate said no at {from} in {:?}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
    }

    #[test]
    fn every_shipped_regex_detector_has_a_gate() {
        let ids: Vec<&str> = gated().iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["address_en"]);
    }

    #[test]
    fn gates_say_no_to_what_cannot_match() {
        let g = |id: &str| &gated().iter().find(|(i, _, _)| i == id).unwrap().1;
        assert!(g("address_en").may_match(b"12 Main Street"));
        assert!(!g("address_en").may_match(b"Order 12 shipped"));
        // A street's name, direction or ordinal starts with a capital or a digit.
        assert!(!g("address_en").may_match(b"see ticket 88213 for details"));
        assert!(g("address_en").may_match(b"12B N. Main St"));
        assert!(g("address_en").may_match(b"12 3rd Street"));
        assert!(g("address_en").may_match("，4i N 2nd Street地址".as_bytes()));
        assert!(g("address_en").may_match(b"ship to 1600 Pennsylvania Avenue NW"));
        assert!(g("address_en").may_match(b"12 Main St.Louis"));
        // A lower-case word before any suffix ends the street; a suffix needs a boundary.
        assert!(!g("address_en").may_match(b"refund of 19.99 USD approved by supervisor"));
        assert!(!g("address_en").may_match(b"12 Main Stx"));
        assert!(!g("address_en").may_match(b"12 Main St_"));
        assert!(STREET_SUFFIXES.len() > 100, "{}", STREET_SUFFIXES.len());
        for suffix in ["Street", "St", "Run", "Via"] {
            assert!(STREET_SUFFIXES.contains(suffix.as_bytes()), "{suffix}");
        }
        // A user's pattern with a literal gets a gate; one without does not.
        assert!(Gate::literals(&["order-[0-9]+".to_string()], false).is_some());
        assert!(Gate::literals(&["[0-9]+".to_string()], false).is_none());
    }

    #[test]
    fn gates_are_never_wrong_on_the_samples() {
        for line in include_str!("../../config/sample-values.txt")
            .lines()
            .chain(include_str!("../../config/sample-free-text.txt").lines())
        {
            never_wrong(line.as_bytes());
        }
        for text in [
            "张伟",
            "欧阳娜娜",
            "阿卜杜·热合曼",
            "收货人：王芳",
            "王先生",
            "李女士电话",
            "𠀀𠀁",
            "Wang Fang",
            "Dr. Jane O'Neil-Smith, Jr.",
            "Smith, John A.",
            "Name: John Smith",
            "Attn Mrs Lee",
            "12 Main Street",
            "1600 Pennsylvania Avenue NW",
            "742 Evergreen Terrace.",
            "5th Ave",
            "221B Baker St.",
        ] {
            never_wrong(text.as_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn gates_are_never_wrong(
            s in "([A-Z][a-z]{0,6}|[a-z]{1,5}|[0-9]{1,4}[a-z]?|[ ,.:'_-]|Mr|Mrs|Dr|Name|Street|St|Ave|Road|Way|NW|N |S\\. |张|王|欧阳|伟|芳|·|先生|收货人|：|[0-9]{1,3}(st|nd|th)){0,12}",
        ) {
            never_wrong(s.as_bytes());
        }

        #[test]
        fn house_number_finds_what_the_byte_loop_finds(
            s in "([0-9]{1,3}|[a-zA-Z]{1,2}| {1,2}|号|,|\\x00){0,20}",
        ) {
            let t = s.as_bytes();
            let want: Vec<usize> = (0..t.len()).filter(|&i| house_number_at(t, i)).collect();
            let mut got = vec![];
            for_each_house_number(t, |street| {
                got.push(street - if t[street - 2].is_ascii_digit() { 2 } else { 3 });
                false
            });
            prop_assert_eq!(got, want);
        }
    }
}
