//! The compiled detectors and the matching loop: a one-pass byte scan of each value decides which
//! detectors can match at all (so values that cannot match cost a few nanoseconds), then each
//! candidate detector's finder (a hand-written scanner for the shipped patterns, the regex
//! otherwise; both on bytes: invalid UTF-8 never fails) finds candidates and its validator checks
//! them. Values over [`WINDOWED_ABOVE`] bytes are searched in windows around their digit clusters.
//! Overlapping matches of one category keep the best one.

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

use super::fold::Folded;
use super::gates::Gate;
use super::pairs::PairSet;
use super::scanners::{self, Anchors, Find, Reach};
use super::spec::DetectorSpec;
use super::validators::{joins_digits, Ctx, Needs, RunLengths, Separators, Validator, Verdict};
use super::Match;
use crate::error::{Error, Result};

/// How a detector finds candidates: its patterns' regex (behind a gate where one is known, see
/// [`super::gates`]), or the hand-written scanner that finds exactly the same (see
/// [`super::scanners`]).
#[derive(Debug)]
enum Finder {
    Regex(Regex, Option<Box<Gate>>),
    Scanner(Find),
}

impl Finder {
    /// The end of the window a detector searches around a digit cluster ending at `end`:
    /// `margin_end`, or further for a gate whose matches run on ([`Gate::window_end`]).
    fn window_end(&self, text: &[u8], end: usize, margin_end: usize) -> usize {
        match self {
            Finder::Regex(_, Some(gate)) => gate.window_end(text, end, margin_end),
            _ => margin_end,
        }
    }

    /// The leftmost candidate at or after `pos`, as `Regex::find_at` reports it (`hay` is
    /// the value `memo` is about, or a start of it).
    #[inline]
    fn find_at(&self, hay: &[u8], pos: usize, memo: &mut ValueMemo) -> Option<(usize, usize)> {
        match self {
            Finder::Regex(re, _) => re.find_at(hay, pos).map(|m| (m.start(), m.end())),
            Finder::Scanner(Find::Plain(find)) => find(hay, pos),
            Finder::Scanner(Find::Anchored(find)) => find(hay, pos, memo.anchors()),
        }
    }
}

/// The one regex for a detector's patterns (alternatives in the order written).
pub(crate) fn build_regex(
    patterns: &[String],
    case_insensitive: bool,
) -> std::result::Result<Regex, regex::Error> {
    let combined = patterns
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    regex::bytes::RegexBuilder::new(&combined)
        .case_insensitive(case_insensitive)
        .size_limit(64 << 20)
        .build()
}

/// One detector ready to run.
#[derive(Debug)]
pub(crate) struct Compiled {
    finder: Finder,
    /// How far matches reach beyond the digits (for the windows of digit-anchored detectors).
    reach: Reach,
    validator: Option<&'static Validator>,
    needs: Needs,
    weak: bool,
    priority: i32,
    category: usize,
    /// The context words, searched in short values ...
    context: Option<AhoCorasick>,
    /// ... and in long ones, where a prefilter skips most of the text.
    context_long: Option<AhoCorasick>,
    context_words: Vec<String>,
}

impl Compiled {
    /// Compiles one checked spec; `category` is the index of its category.
    pub(crate) fn new(
        spec: &DetectorSpec,
        category: usize,
        file: &std::path::Path,
    ) -> Result<Compiled> {
        let (finder, reach) = match scanners::lookup(&spec.patterns, spec.case_insensitive) {
            Some(s) => (Finder::Scanner(s.find), s.reach),
            None => {
                let regex = build_regex(&spec.patterns, spec.case_insensitive).map_err(|e| {
                    Error::Detector {
                        file: file.to_path_buf(),
                        message: format!("patterns: {e}"),
                    }
                })?;
                let gate = Gate::for_patterns(&spec.patterns, spec.case_insensitive);
                (Finder::Regex(regex, gate.map(Box::new)), REGEX_REACH)
            }
        };
        let validator = spec
            .validator
            .as_deref()
            .and_then(super::validators::lookup);
        let words = |prefilter: bool| -> Result<Option<AhoCorasick>> {
            if spec.context_words.is_empty() {
                return Ok(None);
            }
            aho_corasick::AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .prefilter(prefilter)
                .ascii_case_insensitive(true)
                .build(&spec.context_words)
                .map(Some)
                .map_err(|e| Error::Detector {
                    file: file.to_path_buf(),
                    message: format!("context_words: {e}"),
                })
        };
        // A few words searched in short values: a plain DFA, without the prefilter that CJK
        // words (all starting with common lead bytes) would keep tripping. In long values the
        // prefilter pays for itself.
        let (context, context_long) = (words(false)?, words(true)?);
        Ok(Compiled {
            finder,
            reach,
            validator,
            needs: validator.map(|v| v.needs).unwrap_or_default(),
            weak: spec.weak,
            priority: spec.priority,
            category,
            context,
            context_long,
            context_words: spec.context_words.clone(),
        })
    }

    /// The window this detector searches around the digits from `start` to `end` of `text`:
    /// widened by how far its matches reach, and on through the run a gate's matches may
    /// continue with ([`Finder::window_end`]).
    #[inline]
    fn window(&self, text: &[u8], start: usize, end: usize) -> (usize, usize) {
        let (s, e) = window_around(start, end, self.reach, text.len());
        (s, self.finder.window_end(text, end, e))
    }

    pub(crate) fn category(&self) -> usize {
        self.category
    }
}

/// The compiled detectors with their needs laid out for the per-value prefilter.
#[derive(Debug)]
pub(crate) struct Detectors {
    list: Vec<Compiled>,
    needs: NeedsTable,
    context: ContextWords,
    /// Per detector (the first 64): the detectors whose matches a strong match of it spanning a
    /// whole value always outranks ([`outranked`]).
    outranked: Vec<u64>,
    /// The detectors whose matches can count without a supporting column: all but the weak
    /// ones without context words ([`Detectors::alone`]).
    alone: Vec<u64>,
}

impl Detectors {
    pub(crate) fn new(list: Vec<Compiled>) -> Detectors {
        let needs = NeedsTable::new(&list);
        let context = ContextWords::new(&list);
        let outranked = outranked(&list);
        let mut alone = needs.all.clone();
        for (i, d) in list.iter().enumerate() {
            if d.weak && d.context_words.is_empty() {
                alone[i / 64] &= !(1 << (i % 64));
            }
        }
        Detectors {
            list,
            needs,
            context,
            outranked,
            alone,
        }
    }

    /// The detectors, in load order.
    pub(crate) fn list(&self) -> &[Compiled] {
        &self.list
    }

    /// Every detector, as a bit set by index.
    pub(crate) fn every(&self) -> &[u64] {
        &self.needs.all
    }

    /// The detectors worth searching without a supporting column: a weak detector without
    /// context words keeps no match there.
    pub(crate) fn alone(&self) -> &[u64] {
        &self.alone
    }
}

/// For each of the first 64 detectors, the others of its category when it is the category's
/// first in [`resolve`]'s order (highest priority, then lowest index), else none. A strong match
/// of such a detector spanning the whole value is the category's best match of that value, and
/// every other match of the category overlaps it, so [`resolve`] keeps none of theirs: once it
/// has one, they need not be searched.
fn outranked(list: &[Compiled]) -> Vec<u64> {
    let first = |i: usize| {
        let d = &list[i];
        list.iter().enumerate().all(|(j, e)| {
            e.category != d.category
                || e.priority < d.priority
                || (e.priority == d.priority && j >= i)
        })
    };
    (0..list.len().min(64))
        .map(|i| {
            if !first(i) {
                return 0;
            }
            (0..list.len().min(64))
                .filter(|&j| j != i && list[j].category == list[i].category)
                .fold(0u64, |m, j| m | 1 << j)
        })
        .collect()
}

/// The context words of the first 64 detectors in one automaton, so that a value is read once
/// for all of them instead of once per weak detector.
#[derive(Debug)]
struct ContextWords {
    ac: Option<AhoCorasick>,
    /// For each word, the detectors that list it.
    owners: Vec<u64>,
    /// The first two bytes of every word in every ASCII case, one bit per pair: a value holding
    /// none of the pairs holds no word, found without the automaton. `None` when a word is one
    /// byte long.
    pairs: Option<PairSet>,
    /// The same for the words of the weak detectors (`weak = true`), which a short value is
    /// checked for before their search: most values hold none of these pairs, and are answered
    /// without the automaton of every detector's words.
    weak_pairs: Option<PairSet>,
}

impl ContextWords {
    fn new(list: &[Compiled]) -> ContextWords {
        let mut owners: Vec<(&str, u64)> = Vec::new();
        for (i, d) in list.iter().enumerate().take(64) {
            for w in &d.context_words {
                match owners.iter_mut().find(|(o, _)| o == w) {
                    Some((_, bits)) => *bits |= 1 << i,
                    None => owners.push((w, 1 << i)),
                }
            }
        }
        // Each detector's own words built with these options, so together they build too;
        // if not, each detector searches its own (`found` is then never asked).
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .ascii_case_insensitive(true)
            .build(owners.iter().map(|(w, _)| w))
            .ok()
            .filter(|_| !owners.is_empty());
        let pairs = PairSet::new(owners.iter().map(|(w, _)| *w));
        let weak_pairs = PairSet::new(
            list.iter()
                .filter(|d| d.weak)
                .flat_map(|d| d.context_words.iter().map(String::as_str)),
        );
        ContextWords {
            ac,
            owners: owners.into_iter().map(|(_, bits)| bits).collect(),
            pairs,
            weak_pairs,
        }
    }

    /// The detectors (of the first 64) whose context words `value` holds, if the automaton
    /// was built.
    fn found(&self, value: &[u8]) -> Option<u64> {
        let ac = self.ac.as_ref()?;
        if self.pairs.as_ref().is_some_and(|p| !p.holds(value)) {
            return Some(0);
        }
        Some(
            ac.find_overlapping_iter(value)
                .fold(0, |f, m| f | self.owners[m.pattern().as_usize()]),
        )
    }
}

/// Which detectors each value of each fact allows, so that a value's detectors are a few
/// table lookups and ANDs, whatever the number of detectors.
///
/// For each count a value's facts hold (saturated at [`SATURATED`]) and each set of class flags,
/// the table keeps the set of detectors whose [`Needs`] that value meets, as bit sets of
/// `words` 64-bit words; a value's allowed detectors are the intersection of its facts' sets.
/// Exact for needs below [`SATURATED`] (and limits below it or none), which holds for every
/// validator's needs (a unit test checks it).
#[derive(Debug)]
struct NeedsTable {
    words: usize,
    /// Per fact, per saturated value: digits, longest digit run, longest letter-and-digit run,
    /// shortest digit run, letters and digits, largest digit group.
    counts: [Vec<u64>; 6],
    /// Per set of class flags.
    flags: Vec<u64>,
    /// The digit-anchored detectors (searched in windows around digit clusters).
    anchored: Vec<u64>,
    /// The others (searched end to end).
    unanchored: Vec<u64>,
    /// The detectors whose needs ask for run lengths ([`Needs::asks_run_lengths`]), checked
    /// one by one after the tables ...
    by_runs: Vec<u64>,
    /// ... and those that ask for separators ([`Needs::asks_separators`]), counted once for
    /// the first that asks; and every detector's needs.
    by_separators: Vec<u64>,
    needs: Vec<Needs>,
    /// Every detector.
    all: Vec<u64>,
}

/// Counts at or above this are one value in the [`NeedsTable`].
const SATURATED: usize = 127;

impl NeedsTable {
    fn new(list: &[Compiled]) -> NeedsTable {
        let words = list.len().div_ceil(64).max(1);
        let set = |keep: &dyn Fn(&Needs) -> bool| {
            let mut bits = vec![0u64; words];
            for (i, d) in list.iter().enumerate() {
                if keep(&d.needs) {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
            bits
        };
        let table = |values: usize, allows: &dyn Fn(u32, &Needs) -> bool| {
            (0..values)
                .flat_map(|v| set(&|n| allows(v as u32, n)))
                .collect::<Vec<u64>>()
        };
        let n = SATURATED + 1;
        NeedsTable {
            words,
            counts: [
                table(n, &|v, need| v >= need.min_digits),
                table(n, &|v, need| v >= need.min_digit_run),
                table(n, &|v, need| v >= need.min_alnum_run),
                table(n, &|v, need| v <= need.max_digit_run),
                table(n, &|v, need| v >= need.min_alnum),
                table(n, &|v, need| v >= need.min_digit_group),
            ],
            flags: table(FLAG_SETS, &|f, need| {
                let req = required_flags(need);
                f as u16 & req == req
            }),
            anchored: set(&digit_anchored),
            unanchored: set(&|n| !digit_anchored(n)),
            by_runs: set(&Needs::asks_run_lengths),
            by_separators: set(&Needs::asks_separators),
            needs: list.iter().map(|d| d.needs).collect(),
            all: set(&|_| true),
        }
    }

    /// Calls `f` with the index of every detector in `only` whose needs `facts` allow, in
    /// order (the same detectors as [`Facts::allows`], less those whose separators `value`
    /// lacks). `value` is the text the facts are about, read again only for a need the facts
    /// leave open ([`Facts::run_lengths`], [`count_separators`]).
    #[inline]
    fn for_each_allowed(&self, facts: &Facts, value: &[u8], only: &[u64], f: impl FnMut(usize)) {
        self.each(facts, value, only, &self.all, f)
    }

    /// [`NeedsTable::for_each_allowed`] for the digit-anchored detectors only.
    #[inline]
    fn for_each_anchored(&self, facts: &Facts, value: &[u8], only: &[u64], f: impl FnMut(usize)) {
        self.each(facts, value, only, &self.anchored, f)
    }

    /// [`NeedsTable::for_each_allowed`] for the other detectors (searched end to end).
    #[inline]
    fn for_each_unanchored(&self, facts: &Facts, value: &[u8], only: &[u64], f: impl FnMut(usize)) {
        self.each(facts, value, only, &self.unanchored, f)
    }

    #[inline]
    fn each(
        &self,
        facts: &Facts,
        value: &[u8],
        only: &[u64],
        and: &[u64],
        mut f: impl FnMut(usize),
    ) {
        let (mut runs, mut seps) = (None, None);
        let at = |v: u32| (v as usize).min(SATURATED) * self.words;
        let rows = [
            at(facts.digits),
            at(facts.digit_run),
            at(facts.alnum_run),
            at(facts.shortest_run),
            at(facts.alnum),
            at(facts.digit_group),
        ];
        let flags = facts.flags as usize * self.words;
        for (w, (&only, &and)) in only.iter().zip(and).enumerate() {
            let mut mask = self
                .counts
                .iter()
                .zip(rows)
                .fold(only & and & self.flags[flags + w], |m, (t, row)| {
                    m & t[row + w]
                });
            let mut check = mask & self.by_runs[w];
            while check != 0 {
                let bit = check.trailing_zeros();
                // The digits' runs are known; the letters' are counted for the first need
                // that asks.
                let n = &self.needs[w * 64 + bit as usize];
                let digits = RunLengths {
                    digits: facts.runs.digits,
                    ..RunLengths::ANY
                };
                let allowed = n.runs_allow(&digits)
                    && (!n.asks_letter_runs()
                        || n.runs_allow(runs.get_or_insert_with(|| facts.run_lengths(value))));
                if !allowed {
                    mask &= !(1 << bit);
                }
                check &= check - 1;
            }
            // The separators are counted for the first need that asks.
            let mut check = mask & self.by_separators[w];
            while check != 0 {
                let bit = check.trailing_zeros();
                let n = &self.needs[w * 64 + bit as usize];
                let seps = seps.get_or_insert_with(|| count_separators(value));
                if !n.separators_allow(seps, facts.alnum_run) {
                    mask &= !(1 << bit);
                }
                check &= check - 1;
            }
            while mask != 0 {
                f(w * 64 + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
        }
    }
}

/// The class flags a value must have for a detector with these needs.
fn required_flags(n: &Needs) -> u16 {
    [
        (n.upper, UPPER),
        (n.at_sign, AT),
        (n.non_ascii, HIGH),
        (n.plus, PLUS),
        (n.colon, COLON),
        (n.dot, DOT),
        (n.space, SPACE),
    ]
    .iter()
    .filter(|(need, _)| *need)
    .fold(0, |f, (_, bit)| f | bit)
}

/// Byte classes for the prefilter scan (each byte is in one, upper-case letters are also
/// `UPPER`), and so the class flags of a value.
const DIGIT: u16 = 1;
const ALPHA: u16 = 2;
/// `@` (the search runs on folded text, where a full-width `＠` is `@` already).
const AT: u16 = 4;
const HIGH: u16 = 8;
const PLUS: u16 = 16;
const COLON: u16 = 32;
const DOT: u16 = 64;
const SPACE: u16 = 128;
/// ASCII upper-case letters (also `ALPHA`).
const UPPER: u16 = 256;
/// The sets of class flags.
const FLAG_SETS: usize = 512;

static CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let class = if b.is_ascii_digit() {
            DIGIT
        } else if b.is_ascii_uppercase() {
            ALPHA | UPPER
        } else if b.is_ascii_alphabetic() {
            ALPHA
        } else if b == b'@' {
            AT
        } else if b == b'+' {
            PLUS
        } else if b == b':' {
            COLON
        } else if b == b'.' {
            DOT
        } else if b == b' ' {
            SPACE
        } else if b >= 0x80 {
            HIGH
        } else {
            0
        };
        t[i] = class;
        i += 1;
    }
    t
};

/// The bit of a digit run of `len` digits in [`Facts::runs`].
#[inline]
fn run_bit(len: u32) -> u64 {
    1 << len.min(63)
}

/// Values with fewer digits than this are not read for their digit groups: no need asks for a
/// smaller group (e164's seven digits), so their digit count answers as well.
const GROUPS_FROM: u32 = 7;

/// [`Facts::digit_group`] of a value with `digits` digits: `group()` from [`GROUPS_FROM`]
/// digits, the digit count below.
#[inline]
fn group_fact(digits: u32, group: impl FnOnce() -> u32) -> u32 {
    if digits >= GROUPS_FROM {
        group()
    } else {
        digits
    }
}

/// The most digits in one group of `value`.
fn digit_group(value: &[u8]) -> u32 {
    let (mut group, mut most) = (0u32, 0u32);
    for &b in value {
        group = (group + b.is_ascii_digit() as u32) * KEEPS_GROUP[b as usize] as u32;
        most = most.max(group);
    }
    most
}

/// [`digit_group`] of a value of at most 64 bytes whose digits are the bits of `digits`: from
/// 16 bytes, the digits of each run of digits and joining bytes, counted by popcount.
fn digit_group_of_block(value: &[u8], digits: u64) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if value.len() >= 16 {
        // SAFETY: the function only needs SSE2, which this build enables (the `cfg` above).
        let keeps = digits | unsafe { sse2::joins_digits(value) };
        let mut most = 0;
        for_each_run(keeps, |_, run| most = most.max((run & digits).count_ones()));
        return most;
    }
    // Elsewhere the byte loop reads the value instead.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let _ = digits;
    digit_group(value)
}

/// ASCII letters and digits as a plain table ([`Facts::run_lengths`]: a load, where [`CLASS`]
/// would need a mask and a compare).
static ALNUM: [bool; 256] = byte_set!(b => b.is_ascii_alphanumeric());

/// 1 for the bytes that keep a digit group going: digits and [`joins_digits`] bytes.
static KEEPS_GROUP: [bool; 256] = byte_set!(b => b.is_ascii_digit() || joins_digits(b));

/// What one pass over a value learns.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    digits: u32,
    digit_run: u32,
    /// The shortest run of digits (`u32::MAX` without digits).
    shortest_run: u32,
    alnum_run: u32,
    /// The number of ASCII letters and digits.
    alnum: u32,
    /// The lengths of the whole runs of digits, of letters and digits, and of hex digits (the
    /// last two only when `letters` is [`LetterRuns::Known`]).
    runs: RunLengths,
    letters: LetterRuns,
    /// The most digits in one group: digits joined only by [`joins_digits`] bytes. Counted
    /// only when there are [`GROUPS_FROM`] digits; with fewer, the digit count stands in (no
    /// smaller, so it rejects nothing the group would allow).
    digit_group: u32,
    flags: u16,
}

/// How [`Facts::run_lengths`] learns the runs of letters and digits, counted only for a
/// detector that asks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum LetterRuns {
    /// In [`Facts::runs`] already.
    Known,
    /// From the value's block masks: its letters and digits, and its hex digits.
    Masks(u64, u64),
    /// By reading the value again.
    #[default]
    Count,
}

impl Facts {
    /// Every fact about `value` (at most [`WINDOWED_ABOVE`] bytes): from its block's class
    /// masks up to 64 bytes, else byte by byte. Where SSE2 is available, a value of
    /// [`PADDED_FROM`] to [`BLOCKS_FROM`] bytes is read as one block padded with zeros, which no
    /// fact counts (a NUL is no digit, letter, separator or flag).
    #[inline]
    pub(crate) fn scan(value: &[u8]) -> Facts {
        match value.len() {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            PADDED_FROM..BLOCKS_FROM => {
                let mut block = [0u8; BLOCKS_FROM];
                block[..value.len()].copy_from_slice(value);
                Facts::scan_blocks(&block)
            }
            BLOCKS_FROM..=64 => Facts::scan_blocks(value),
            _ => Facts::scan_bytes(value),
        }
    }

    /// [`Facts::scan`] of a value of at most 64 bytes from its block's class masks: counts by
    /// popcount, runs a run at a time.
    fn scan_blocks(value: &[u8]) -> Facts {
        let Block {
            digits: d,
            alnum: a,
            hex,
            mut flags,
        } = Block::scan(value);
        if d != 0 {
            flags |= DIGIT;
        }
        if a & !d != 0 {
            flags |= ALPHA;
        }
        let (mut runs, mut shortest, mut longest) = (RunLengths::default(), u32::MAX, 0);
        for_each_run(d, |len, _| {
            shortest = shortest.min(len);
            longest = longest.max(len);
            runs.digits |= run_bit(len);
        });
        let mut alnum_run = 0;
        for_each_run(a, |len, _| alnum_run = alnum_run.max(len));
        let digits = d.count_ones();
        Facts {
            digits,
            digit_run: longest,
            shortest_run: shortest,
            alnum_run,
            alnum: a.count_ones(),
            runs,
            letters: LetterRuns::Masks(a, hex),
            digit_group: group_fact(digits, || digit_group_of_block(value, d)),
            flags,
        }
    }

    /// [`Facts::scan`] byte by byte.
    fn scan_bytes(value: &[u8]) -> Facts {
        let (mut digits, mut run, mut max_run, mut arun, mut max_arun, mut flags) =
            (0u32, 0u32, 0, 0u32, 0, 0u16);
        let mut shortest = u32::MAX;
        let mut alnum = 0u32;
        // Runs of letters are counted only for a detector that asks ([`Facts::run_lengths`]).
        let mut runs = RunLengths::default();
        for &b in value {
            let c = CLASS[b as usize];
            flags |= c;
            let is_d = (c & DIGIT) as u32;
            digits += is_d;
            if is_d == 0 && run > 0 {
                shortest = shortest.min(run);
                runs.digits |= run_bit(run);
            }
            run = (run + 1) * is_d;
            max_run = max_run.max(run);
            let is_a = ((c & (DIGIT | ALPHA)) != 0) as u32;
            alnum += is_a;
            arun = (arun + 1) * is_a;
            max_arun = max_arun.max(arun);
        }
        if run > 0 {
            shortest = shortest.min(run);
            runs.digits |= run_bit(run);
        }
        Facts {
            digits,
            digit_run: max_run,
            shortest_run: shortest,
            alnum_run: max_arun,
            alnum,
            runs,
            letters: LetterRuns::Count,
            digit_group: group_fact(digits, || digit_group(value)),
            flags,
        }
    }

    /// [`Facts::scan`] with the runs of letters counted too (what the needs table's answers
    /// are checked against).
    #[cfg(test)]
    fn scan_all(value: &[u8]) -> Facts {
        let mut f = Facts::scan(value);
        f.runs = f.run_lengths(value);
        f.letters = LetterRuns::Known;
        f
    }

    /// The lengths of the value's whole runs: the digits' from the scan, the letters' counted
    /// now (`value` is the text the facts are about) unless known.
    fn run_lengths(&self, value: &[u8]) -> RunLengths {
        match self.letters {
            LetterRuns::Known => return self.runs,
            LetterRuns::Masks(a, hex) => {
                let (mut alnum, mut all_hex) = (0u64, 0u64);
                for_each_run(a, |len, run| {
                    let bit = run_bit(len);
                    alnum |= bit;
                    all_hex |= bit * u64::from(run & !hex == 0);
                });
                return RunLengths {
                    digits: self.runs.digits,
                    alnum,
                    hex: all_hex,
                };
            }
            LetterRuns::Count => {}
        }
        let (mut alnum, mut hex) = (0u64, 0u64);
        let alnum_at = |i: usize| ALNUM[value[i] as usize];
        let hex_at = |i: usize| super::HEX_DIGIT[value[i] as usize];
        let (mut i, n) = (0, value.len());
        while i < n {
            if !alnum_at(i) {
                i += 1;
                continue;
            }
            let (start, mut all_hex) = (i, hex_at(i));
            i += 1;
            while i < n && alnum_at(i) {
                all_hex &= hex_at(i);
                i += 1;
            }
            let bit = run_bit((i - start) as u32);
            alnum |= bit;
            hex |= bit * u64::from(all_hex);
        }
        RunLengths {
            digits: self.runs.digits,
            alnum,
            hex,
        }
    }

    /// Facts for a window around one digit cluster: the window's digits are exactly the
    /// cluster's (see [`for_each_cluster`]), so only the letters-and-digits facts and the flags
    /// need the window's bytes, read 64 at a time. `AT` stays unset: at-sign detectors are
    /// never windowed.
    fn window(window: &[u8], cluster: &Cluster) -> Facts {
        let (alnum_run, alnum, flags) = alnum_run_and_flags(window);
        Facts {
            digits: cluster.digits,
            digit_run: cluster.digit_run,
            // The cluster's last run is whole once the cluster is.
            shortest_run: cluster.shortest.min(cluster.run),
            alnum_run,
            alnum,
            // Runs of letters may reach past the window: not known.
            runs: RunLengths {
                digits: cluster.runs | run_bit(cluster.run),
                ..RunLengths::ANY
            },
            letters: LetterRuns::Known,
            digit_group: group_fact(cluster.digits, || cluster.digit_group),
            flags,
        }
    }

    /// True when these facts meet `n`, need by need: the reference the [`NeedsTable`] is
    /// checked against.
    #[cfg(test)]
    fn allows(&self, n: &Needs) -> bool {
        self.digits >= n.min_digits
            && self.digit_run >= n.min_digit_run
            && self.shortest_run <= n.max_digit_run
            && self.alnum_run >= n.min_alnum_run
            && self.alnum >= n.min_alnum
            && self.digit_group >= n.min_digit_group
            && n.runs_allow(&self.runs)
            && (!n.at_sign || self.flags & AT != 0)
            && (!n.non_ascii || self.flags & HIGH != 0)
            && (!n.plus || self.flags & PLUS != 0)
            && (!n.colon || self.flags & COLON != 0)
            && (!n.dot || self.flags & DOT != 0)
            && (!n.space || self.flags & SPACE != 0)
            && (!n.upper || self.flags & UPPER != 0)
    }
}

/// Marks a match removed during overlap resolution.
const DEAD: usize = usize::MAX;
/// Up to this many matches, overlaps are resolved by comparing with every kept match (cheaper
/// than a map for the few matches of ordinary values).
const SMALL_RESOLVE: usize = 16;

/// Values longer than this are searched in windows around their digit clusters (for the
/// digit-anchored detectors) instead of end to end.
const WINDOWED_ABOVE: usize = 96;
/// Values from this long are scanned for their facts a block at a time where they lie
/// ([`Facts::scan`]).
const BLOCKS_FROM: usize = 16;

/// Values this long and up to [`BLOCKS_FROM`] are read as a padded block; shorter ones byte by
/// byte, which costs less than the block's fixed work.
const PADDED_FROM: usize = 8;
/// Digits closer than this belong to one cluster.
const CLUSTER_GAP: usize = 40;
/// Bytes searched on each side of a cluster by a detector running on its regex (a VIN may have
/// 16 letters before its first digit); scanners say how far their matches reach.
const MARGIN: usize = 20;

/// The reach of a detector running on its regex: [`MARGIN`] on each side.
const REGEX_REACH: Reach = Reach {
    before: MARGIN,
    after: MARGIN,
    gap: usize::MAX,
};

/// True for detectors whose every match contains ASCII digits, found near digit clusters: the
/// number validators, and `cn_plate` (non-ASCII, but a plate holds at least two digits, the
/// first at most 9 bytes after its start and the last at most 5 bytes before its end, well
/// within [`MARGIN`]).
fn digit_anchored(n: &Needs) -> bool {
    n.min_digits > 0 && !n.at_sign
}

thread_local! {
    /// The folded copy of the value being searched, reused from value to value.
    static FOLDED: std::cell::RefCell<Folded> = Default::default();
}

/// Runs the detectors in `only` (a bit set by index) over `value`, appending to `out` (cleared
/// first). `supported(i)` says whether
/// weak matches of detector `i` count without a context word. A value holding full-width forms
/// or Unicode spaces is searched folded ([`super::fold`]), and its matches are reported as
/// offsets in `value`; other values are searched as they are, without a copy.
pub(crate) fn find(
    detectors: &Detectors,
    ctx: &Ctx,
    value: &[u8],
    only: &[u64],
    supported: &dyn Fn(usize) -> bool,
    out: &mut Vec<Match>,
) {
    if value.is_ascii() {
        return find_in(detectors, ctx, value, only, supported, out);
    }
    let search_folded = |f: &mut Folded, out: &mut Vec<Match>| {
        if !f.fold(value) {
            return find_in(detectors, ctx, value, only, supported, out);
        }
        find_in(detectors, ctx, &f.text, only, supported, out);
        for m in out.iter_mut() {
            m.start = f.original(m.start);
            m.end = f.original(m.end);
        }
    };
    FOLDED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut f) => search_folded(&mut f, out),
        Err(_) => search_folded(&mut Folded::default(), out),
    });
}

/// False when no detector in `only` can match in a value made of `len` ASCII digits and
/// nothing else: the prefilters decide from the facts of such a value, which are the same
/// whatever the digits. True for values searched in windows (over [`WINDOWED_ABOVE`] bytes).
pub(crate) fn digits_may_match(detectors: &Detectors, len: usize, only: &[u64]) -> bool {
    if len > WINDOWED_ABOVE {
        return true;
    }
    let value = vec![b'0'; len];
    let mut any = false;
    detectors
        .needs
        .for_each_allowed(&Facts::scan(&value), &value, only, |_| any = true);
    any
}

/// [`find`] on `value` as it is: folded already, or holding nothing that folds (so no
/// full-width `＠`: the facts see only `@`).
fn find_in(
    detectors: &Detectors,
    ctx: &Ctx,
    value: &[u8],
    only: &[u64],
    supported: &dyn Fn(usize) -> bool,
    out: &mut Vec<Match>,
) {
    out.clear();
    if value.is_empty() {
        return;
    }
    let compiled = detectors.list();
    let mut memo = ValueMemo::new(&detectors.context, value);
    let search_in = |di: usize, span, memo: &mut ValueMemo, out: &mut Vec<Match>| {
        search(&compiled[di], di, ctx, value, span, supported, memo, out)
    };
    if value.len() <= WINDOWED_ABOVE {
        let facts = Facts::scan(value);
        // Detectors outranked by a whole-value match found so far (see [`outranked`]).
        let mut skip = 0u64;
        detectors.needs.for_each_allowed(&facts, value, only, |di| {
            if di < 64 && skip >> di & 1 == 1 {
                return;
            }
            let before = out.len();
            search_in(di, (0, value.len()), &mut memo, out);
            if let Some(&outranked) = detectors.outranked.get(di) {
                if outranked != 0
                    && out[before..]
                        .iter()
                        .any(|m| !m.weak && m.start == 0 && m.end == value.len())
                {
                    skip |= outranked;
                }
            }
        });
    } else {
        let facts = for_each_cluster(value, |c| {
            let (ws, we) = c.window(value.len());
            let wf = Facts::window(&value[ws..we], c);
            detectors
                .needs
                .for_each_anchored(&wf, &value[ws..we], only, |di| {
                    let d = &compiled[di];
                    c.for_each_part(d.reach, d.needs.min_digits, |start, end| {
                        search_in(di, d.window(value, start, end), &mut memo, out);
                    });
                });
        });
        detectors
            .needs
            .for_each_unanchored(&facts, value, only, |di| {
                search_in(di, (0, value.len()), &mut memo, out);
            });
    }
    resolve(compiled, out);
}

/// A run of digits where consecutive digits are less than [`CLUSTER_GAP`] bytes apart.
#[derive(Debug, Clone, Copy, Default)]
struct Cluster {
    /// Offset of the first digit.
    start: usize,
    /// Offset just past the last digit.
    end: usize,
    /// Number of digits.
    digits: u32,
    /// Longest run of consecutive digits.
    digit_run: u32,
    /// Length of the run ending at `end`.
    run: u32,
    /// The shortest run before the one ending at `end` (`u32::MAX` when there is none).
    shortest: u32,
    /// The lengths of the runs before the one ending at `end` ([`Facts::runs`]).
    runs: u64,
    /// Digits in the group ending at `end` (runs joined by [`joins_digits`] bytes only).
    group: u32,
    /// The most digits in one group.
    digit_group: u32,
    /// The wide gaps between its runs of digits, in order.
    gaps: Gaps,
}

/// The gaps of [`Gaps::WIDE`] bytes or more between the runs of digits of a cluster, as the end
/// of the run before, the start of the run after and the cluster's digits before the gap, up to
/// [`Gaps::MAX`] of them: a detector whose matches cannot hold such a gap searches the parts
/// between separately.
#[derive(Debug, Clone, Copy, Default)]
struct Gaps {
    at: [Gap; Gaps::MAX],
    /// The number of gaps, or `u8::MAX` once there were more than fit (the cluster is then
    /// searched whole).
    len: u8,
}

/// One of [`Gaps`].
#[derive(Debug, Clone, Copy, Default)]
struct Gap {
    /// Just past the digit before the gap.
    end: u32,
    /// The digit after it.
    next: u32,
    /// The cluster's digits before it.
    digits: u32,
}

impl Gaps {
    const MAX: usize = 8;
    /// One-byte gaps are not noted: they would split only the windows of the detectors whose
    /// digits stand together (passports, 15-digit IDs), which other gaps split too.
    const WIDE: usize = 2;

    #[inline]
    fn push(&mut self, gap: Gap) {
        match self.at.get_mut(self.len as usize) {
            Some(slot) => {
                *slot = gap;
                self.len += 1;
            }
            None => self.len = u8::MAX,
        }
    }

    /// The gaps noted; none once there were more than fit.
    fn list(&self) -> &[Gap] {
        self.at.get(..self.len as usize).unwrap_or(&[])
    }
}

impl Cluster {
    /// Starts the cluster again from the `len` digits at `at`, in place (the slots of its gaps
    /// are not cleared: only the ones counted are read).
    #[inline]
    fn restart(&mut self, at: usize, len: u32) {
        self.start = at;
        self.end = at + len as usize;
        self.digits = len;
        self.digit_run = len;
        self.run = len;
        self.shortest = u32::MAX;
        self.runs = 0;
        self.group = len;
        self.digit_group = len;
        self.gaps.len = 0;
    }

    /// Adds the `len` digits from `at` (at or after `end`); `joined` when the bytes between
    /// are all [`joins_digits`] bytes.
    #[inline]
    fn push(&mut self, at: usize, len: u32, joined: bool) {
        if at - self.end >= Gaps::WIDE {
            self.gaps.push(Gap {
                end: self.end as u32,
                next: at as u32,
                digits: self.digits,
            });
        }
        self.group = if joined { self.group + len } else { len };
        self.digit_group = self.digit_group.max(self.group);
        self.run = if at == self.end {
            self.run + len
        } else {
            self.shortest = self.shortest.min(self.run);
            self.runs |= run_bit(self.run);
            len
        };
        self.digit_run = self.digit_run.max(self.run);
        self.digits += len;
        self.end = at + len as usize;
    }

    /// The window around this cluster in a value of `len` bytes, widened by [`MARGIN`]: its
    /// facts decide which detectors run.
    fn window(&self, len: usize) -> (usize, usize) {
        window_around(self.start, self.end, REGEX_REACH, len)
    }

    /// Calls `f` with the start and end of each part of this cluster a detector with this
    /// reach searches on its own, but the parts with fewer than `min_digits` digits: the
    /// cluster is split at the gaps wider than a match can hold between its digits and than
    /// its windows' reach (so their windows do not overlap, and a match lies in one part's
    /// window).
    #[inline]
    fn for_each_part(&self, reach: Reach, min_digits: u32, mut f: impl FnMut(usize, usize)) {
        let (mut start, mut digits_before) = (self.start, 0);
        for gap in self.gaps.list() {
            let width = (gap.next - gap.end) as usize;
            if width > reach.gap && width > reach.before + reach.after {
                if gap.digits - digits_before >= min_digits {
                    f(start, gap.end as usize);
                }
                start = gap.next as usize;
                digits_before = gap.digits;
            }
        }
        if self.digits - digits_before >= min_digits {
            f(start, self.end);
        }
    }
}

/// The window a detector with this reach searches around the digits from `start` to `end`, in a
/// value of `len` bytes.
#[inline]
fn window_around(start: usize, end: usize, reach: Reach, len: usize) -> (usize, usize) {
    (
        start.saturating_sub(reach.before),
        (end + reach.after).min(len),
    )
}

/// Calls `f` with the length and the bits of each run of ones in `m`, lowest first.
#[inline]
fn for_each_run(mut m: u64, mut f: impl FnMut(u32, u64)) {
    while m != 0 {
        let first = m.trailing_zeros();
        // The lowest run of ones: adding one past it carries through it.
        let run = m & !(m | (m - 1)).wrapping_add(1);
        f((m >> first).trailing_ones(), run);
        m &= !run;
    }
}

impl Separators {
    /// Counts the `.` at `bytes[dot]`.
    #[inline]
    fn add_dot(&mut self, bytes: &[u8], dot: usize) {
        let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        let after = |n: usize, class: fn(&u8) -> bool| {
            bytes
                .get(dot + 1..dot + 1 + n)
                .is_some_and(|d| d.iter().all(class))
        };
        let digit_before = dot > 0 && digit(dot - 1);
        self.digit_dots += u32::from(digit_before && digit(dot + 1));
        self.decimals |= digit_before && after(4, u8::is_ascii_digit);
        self.hex_dots |= after(4, u8::is_ascii_hexdigit) && bytes.get(dot + 5) == Some(&b'.');
    }
}

/// The separators of `bytes`, sixteen bytes per step where SSE2 is available (from 16 bytes;
/// the last step overlaps the one before, its bytes read before left out).
fn count_separators(bytes: &[u8]) -> Separators {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if bytes.len() >= 16 {
        let mut seps = Separators::default();
        let mut add = |at: usize, skip: u32| {
            let lane = bytes[at..at + 16].try_into().expect("16 bytes");
            // SAFETY: the function only needs SSE2, which this build enables (the `cfg`
            // above).
            let (dots, others) = unsafe { sse2::separators(lane) };
            let mut dots = dots >> skip << skip;
            seps.colons_and_hyphens += (others >> skip).count_ones();
            while dots != 0 {
                let dot = at + dots.trailing_zeros() as usize;
                seps.add_dot(bytes, dot);
                dots &= dots - 1;
            }
        };
        let n = bytes.len();
        for at in (0..n / 16).map(|i| 16 * i) {
            add(at, 0);
        }
        if !n.is_multiple_of(16) {
            add(n - 16, (16 - n % 16) as u32);
        }
        return seps;
    }
    let mut seps = Separators::default();
    for (i, &b) in bytes.iter().enumerate() {
        seps.colons_and_hyphens += u32::from(b == b':' || b == b'-');
        if b == b'.' {
            seps.add_dot(bytes, i);
        }
    }
    seps
}

/// The length of the longest run of ones in `m`.
#[inline]
fn longest_run(mut m: u64) -> u32 {
    let mut n = 0;
    while m != 0 {
        m &= m << 1;
        n += 1;
    }
    n
}

/// The longest run of ASCII letters and digits in `bytes`, their number, and the class flags
/// of its bytes but `AT` (at-sign detectors are never windowed), 64 bytes per block.
fn alnum_run_and_flags(bytes: &[u8]) -> (u32, u32, u16) {
    let (mut max, mut carry, mut count, mut flags) = (0u32, 0u32, 0u32, 0u16);
    for chunk in bytes.chunks(64) {
        let b = Block::scan_window(chunk);
        flags |= b.flags;
        if b.digits != 0 {
            flags |= DIGIT;
        }
        if b.alnum & !b.digits != 0 {
            flags |= ALPHA;
        }
        count += b.alnum.count_ones();
        // A run may go on from the previous block (only full blocks come before another).
        max = max
            .max(carry + b.alnum.trailing_ones())
            .max(longest_run(b.alnum));
        carry = if b.alnum == u64::MAX {
            carry + 64
        } else {
            b.alnum.leading_ones()
        };
    }
    (max, count, flags & !AT)
}

/// What one pass learns about a block of at most 64 bytes: bit `k` of `digits` is set when
/// byte `k` is an ASCII digit, of `alnum` when it is an ASCII letter or digit, of `hex` when it
/// is a hex digit; `flags` has `AT` (`@` only), `PLUS`, `HIGH`, `UPPER` and the separators
/// (`COLON`, `DOT`, `SPACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    digits: u64,
    alnum: u64,
    hex: u64,
    flags: u16,
}

impl Block {
    /// Any block of at most 64 bytes.
    #[inline]
    fn scan(block: &[u8]) -> Block {
        Block::scan_for::<true>(block)
    }

    /// [`Block::scan`] for a window's facts ([`alnum_run_and_flags`]): without the hex digits
    /// and the at sign (at-sign detectors are never windowed), which a window does not read.
    #[inline]
    fn scan_window(block: &[u8]) -> Block {
        Block::scan_for::<false>(block)
    }

    /// [`Block::scan`] (`ALL`), or [`Block::scan_window`].
    #[inline]
    fn scan_for<const ALL: bool>(block: &[u8]) -> Block {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if block.len() >= 16 {
            // SAFETY: the function only needs SSE2, which this build enables (the `cfg`
            // above); every x86-64 CPU has it.
            return unsafe { sse2::scan::<ALL>(block) };
        }
        Block::scan_bytes(block)
    }

    /// The block of `value` from `at` (a multiple of 64) to the next 64 bytes or the end. A
    /// last block under 16 bytes is read as the last 16 bytes of the value, its masks shifted
    /// past the bytes before it, where the value has 16 bytes: its flags then hold those
    /// bytes' too, which the whole value's flags already do.
    #[inline]
    fn scan_last(value: &[u8], at: usize) -> Block {
        let len = (value.len() - at).min(64);
        if len >= 16 || value.len() < 16 {
            return Block::scan(&value[at..at + len]);
        }
        let b = Block::scan(&value[value.len() - 16..]);
        let shift = 16 - len;
        Block {
            digits: b.digits >> shift,
            alnum: b.alnum >> shift,
            hex: b.hex >> shift,
            flags: b.flags,
        }
    }

    /// Byte by byte: blocks under 16 bytes, and every block where SSE2 is not available.
    fn scan_bytes(block: &[u8]) -> Block {
        let (mut digits, mut alnum, mut hex, mut flags) = (0u64, 0u64, 0u64, 0u16);
        for (k, &b) in block.iter().enumerate() {
            let c = CLASS[b as usize];
            digits |= ((c & DIGIT != 0) as u64) << k;
            alnum |= ((c & (DIGIT | ALPHA) != 0) as u64) << k;
            hex |= (super::HEX_DIGIT[b as usize] as u64) << k;
            flags |= c & (AT | PLUS | HIGH | COLON | DOT | SPACE | UPPER);
        }
        Block {
            digits,
            alnum,
            hex,
            flags,
        }
    }
}

/// [`Block::scan`] for a block of 16 bytes or more, sixteen bytes per step.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use super::super::simd::{digits_and_alnum, hex_letters, in_range, load, mask64};
    use super::{Block, AT, COLON, DOT, HIGH, PLUS, SPACE, UPPER};
    use std::arch::x86_64::*;

    /// Bit `k` set when byte `k` of 16 bytes is a `.`, and when it is a `:` or a `-`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn separators(lane: &[u8; 16]) -> (u32, u32) {
        let v = load(lane);
        let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        let bits = |m| _mm_movemask_epi8(m) as u32;
        (bits(eq(b'.')), bits(_mm_or_si128(eq(b':'), eq(b'-'))))
    }

    /// Bit `k` set when byte `k` of `value` (16 to 64 bytes) joins digits into a group
    /// ([`super::joins_digits`]: space, `(`, `)`, `+`, `-`, `.`).
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn joins_digits(value: &[u8]) -> u64 {
        mask64(value, |v| {
            let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            _mm_or_si128(
                _mm_or_si128(in_range(v, b'(', 1), in_range(v, b'-', 1)),
                _mm_or_si128(eq(b'+'), eq(b' ')),
            )
        })
    }

    /// A block of 16 to 64 bytes, read where it lies (no copy): sixteen bytes per step, the
    /// last step overlapping the one before when the length is not a multiple of 16 (its
    /// masks shifted past the bytes already read; the flags do not mind a byte seen twice).
    /// Without `ALL`, the hex digits and the at sign are left out.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn scan<const ALL: bool>(block: &[u8]) -> Block {
        debug_assert!((16..=64).contains(&block.len()));
        let (mut digits, mut alnum, mut hex) = (0u64, 0u64, 0u64);
        let singles = [b'@', b'+', b':', b'.', b' '];
        // Per flag, the bytes seen in any lane; one byte mask per flag at the end.
        let mut any = [_mm_setzero_si128(); 7];
        let n = block.len();
        let mut lane = |at: usize, skip: u32| {
            let v = load(block[at..at + 16].try_into().expect("16 bytes"));
            let (is_digit, is_alnum) = digits_and_alnum(v);
            let to = at as u32 + skip;
            let mask = |m| (_mm_movemask_epi8(m) as u16 as u64) >> skip << to;
            digits |= mask(is_digit);
            alnum |= mask(is_alnum);
            if ALL {
                hex |= mask(_mm_or_si128(is_digit, hex_letters(v)));
            }
            // The at sign is first.
            for (k, &b) in singles.iter().enumerate().skip(usize::from(!ALL)) {
                any[k] = _mm_or_si128(any[k], _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
            }
            any[5] = _mm_or_si128(any[5], v);
            any[6] = _mm_or_si128(any[6], in_range(v, b'A', 25));
        };
        for at in (0..n / 16).map(|i| 16 * i) {
            lane(at, 0);
        }
        if !n.is_multiple_of(16) {
            lane(n - 16, (16 - n % 16) as u32);
        }
        let flags = [AT, PLUS, COLON, DOT, SPACE, HIGH, UPPER]
            .iter()
            .zip(any)
            .fold(0, |f, (&flag, any)| {
                if _mm_movemask_epi8(any) != 0 {
                    f | flag
                } else {
                    f
                }
            });
        Block {
            digits,
            alnum,
            hex,
            flags,
        }
    }
}

/// Calls `f` for each cluster of digits, in order, and returns the facts of the whole value for
/// the detectors searched end to end: its digit count and flags, run lengths left permissive
/// (the finders take over). Clusters are at least [`CLUSTER_GAP`] bytes apart, so their windows
/// never overlap, and a window holds no digits but its cluster's.
fn for_each_cluster(value: &[u8], mut f: impl FnMut(&Cluster)) -> Facts {
    // The cluster being gathered, once there is one.
    let (mut cur, mut open) = (Cluster::default(), false);
    let (mut digits, mut alnum, mut flags) = (0u32, 0u32, DIGIT | ALPHA);
    for bi in 0..value.len().div_ceil(64) {
        let Block {
            digits: mut mask,
            alnum: alnum_mask,
            flags: block_flags,
            ..
        } = Block::scan_last(value, bi * 64);
        flags |= block_flags;
        digits += mask.count_ones();
        alnum += alnum_mask.count_ones();
        // One step per run of consecutive digits in the block.
        while mask != 0 {
            let first = mask.trailing_zeros();
            let len = (mask >> first).trailing_ones();
            // Clears the lowest run of ones.
            mask &= (mask | (mask - 1)).wrapping_add(1);
            let at = bi * 64 + first as usize;
            if open && at - cur.end < CLUSTER_GAP {
                let joined = value[cur.end..at].iter().all(|&b| joins_digits(b));
                cur.push(at, len, joined);
            } else {
                if open {
                    f(&cur);
                }
                cur.restart(at, len);
                open = true;
            }
        }
    }
    if open {
        f(&cur);
    }
    Facts {
        digits,
        digit_run: u32::MAX,
        shortest_run: 0,
        alnum_run: u32::MAX,
        alnum,
        runs: RunLengths::ANY,
        letters: LetterRuns::Known,
        digit_group: u32::MAX,
        flags,
    }
}

/// Answers about one value that do not change from window to window, remembered per detector
/// (the first 64; later ones are answered each time).
#[derive(Debug, Default)]
struct Memo {
    known: u64,
    yes: u64,
}

impl Memo {
    #[inline]
    fn get(&mut self, i: usize, answer: impl FnOnce() -> bool) -> bool {
        if i >= 64 {
            return answer();
        }
        let bit = 1u64 << i;
        if self.known & bit == 0 {
            self.known |= bit;
            if answer() {
                self.yes |= bit;
            }
        }
        self.yes & bit != 0
    }
}

/// What one value's search remembers: which detectors' context words it holds, and the
/// scanners' marks.
#[derive(Debug)]
struct ValueMemo<'a> {
    words: &'a ContextWords,
    /// Short values: the detectors (of the first 64) whose context words the value holds, read
    /// for all at once.
    shared: Option<u64>,
    /// Whether the value holds a pair of [`ContextWords::weak_pairs`].
    weak_pairs: Option<bool>,
    /// Long values: each detector's answer, read when a candidate needs it (most never do, and
    /// a search for one detector's words stops at the first).
    own: Memo,
    /// The value searched, ...
    value: &'a [u8],
    /// ... and its marks for the anchored scanners, made when one first asks.
    anchors: Option<Anchors>,
}

impl<'a> ValueMemo<'a> {
    /// The memo of `value`.
    fn new(words: &'a ContextWords, value: &'a [u8]) -> ValueMemo<'a> {
        ValueMemo {
            words,
            shared: None,
            weak_pairs: None,
            own: Memo::default(),
            value,
            anchors: None,
        }
    }

    /// The value's marks.
    #[inline]
    fn anchors(&mut self) -> &Anchors {
        self.anchors.get_or_insert_with(|| Anchors::of(self.value))
    }

    /// True when `value` holds one of detector `di`'s context words.
    fn has_context(&mut self, di: usize, d: &Compiled, value: &[u8]) -> bool {
        let words = if value.len() > WINDOWED_ABOVE {
            &d.context_long
        } else {
            &d.context
        };
        let own = || words.as_ref().is_some_and(|ac| ac.is_match(value));
        if d.weak {
            if let Some(pairs) = &self.words.weak_pairs {
                if !*self.weak_pairs.get_or_insert_with(|| pairs.holds(value)) {
                    return false;
                }
            }
        }
        if di < 64 && value.len() <= WINDOWED_ABOVE {
            if self.shared.is_none() {
                self.shared = self.words.found(value);
            }
            if let Some(found) = self.shared {
                return found >> di & 1 == 1;
            }
        }
        self.own.get(di, own)
    }
}

/// Searches `value[from..to]` with one detector (validators see the whole value).
#[allow(clippy::too_many_arguments)]
#[inline]
fn search(
    d: &Compiled,
    di: usize,
    ctx: &Ctx,
    value: &[u8],
    (from, to): (usize, usize),
    supported: &dyn Fn(usize) -> bool,
    memo: &mut ValueMemo,
    out: &mut Vec<Match>,
) {
    let hay = &value[..to];
    if let Finder::Regex(_, Some(gate)) = &d.finder {
        let part = &hay[from..];
        if !(gate.required(part) && gate.words_in(part)) {
            return;
        }
    }
    let has_context = |memo: &mut ValueMemo| memo.has_context(di, d, value);
    // A weak detector's matches count only with column support or a context word in the
    // value: without either, nothing it finds would be kept. A short value is checked for the
    // words first (one shared search answers every detector). A long value is searched first:
    // its windows rarely hold a candidate, and a search of the whole value for one detector's
    // words costs more than the windows' (the words are looked for once a candidate passes).
    // A weak detector without context words is not searched at all without support
    // ([`Detectors::alone`] leaves it out before, where no column can support it).
    if d.weak
        && !supported(di)
        && (d.context.is_none() || value.len() <= WINDOWED_ABOVE && !has_context(memo))
    {
        return;
    }
    let mut pos = from;
    while pos <= hay.len() {
        let Some((s, e)) = d.finder.find_at(hay, pos, memo) else {
            break;
        };
        if s == e {
            pos = e + 1;
            continue;
        }
        let verdict = match d.validator {
            Some(v) => (v.check)(value, s, e, ctx),
            None => Verdict::Accept {
                start: s,
                end: e,
                weak: false,
            },
        };
        match verdict {
            Verdict::Accept { start, end, weak } if start < end && end <= value.len() => {
                let weak = weak || d.weak;
                let keep = !weak || supported(di) || has_context(memo);
                if keep {
                    out.push(Match {
                        detector: di,
                        start,
                        end,
                        weak,
                    });
                }
                pos = end.max(s + 1);
            }
            Verdict::RejectUntil(next) if next > s => pos = next,
            _ => pos = s + utf8_len(value[s]),
        }
    }
}

#[inline]
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Keeps, among overlapping matches of one category, the best one (strong before weak, then
/// higher priority, then longer, then earlier), greedily from the best; then orders by start.
fn resolve(compiled: &[Compiled], out: &mut Vec<Match>) {
    if out.len() < 2 {
        return;
    }
    let rank = |m: &Match| {
        (
            std::cmp::Reverse(!m.weak),
            std::cmp::Reverse(compiled[m.detector].priority),
            std::cmp::Reverse(m.end - m.start),
            m.start,
            m.detector,
        )
    };
    out.sort_unstable_by_key(rank);
    if out.len() <= SMALL_RESOLVE {
        for i in 1..out.len() {
            let cat = compiled[out[i].detector].category;
            let (s, e) = (out[i].start, out[i].end);
            let clash = out[..i].iter().any(|k| {
                k.detector != DEAD
                    && compiled[k.detector].category == cat
                    && k.start < e
                    && s < k.end
            });
            if clash {
                out[i].detector = DEAD;
            }
        }
    } else {
        // The kept matches of one category never overlap, so among those starting before `e`
        // only the one starting last can reach past `s`: one ordered-map lookup per match keeps
        // this O(m log m) (comparing with every kept match was quadratic on values holding
        // thousands of overlapping candidates, such as `a@b.c` repeated).
        let mut kept: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
        for m in out.iter_mut() {
            let cat = compiled[m.detector].category;
            let clash = kept
                .range((cat, 0)..(cat, m.end))
                .next_back()
                .is_some_and(|(_, &end)| end > m.start);
            if clash {
                m.detector = DEAD;
            } else {
                kept.insert((cat, m.start), m.end);
            }
        }
    }
    out.retain(|m| m.detector != DEAD);
    out.sort_unstable_by_key(|m| (m.start, m.end, m.detector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Engine;
    use proptest::prelude::*;

    #[test]
    fn digit_groups_join_digits_only_across_number_punctuation() {
        assert_eq!(digit_group(b"+86 (010) 6234-5678 x"), 13);
        assert_eq!(digit_group(b"d41d8cd98f00b204e9800998ecf8427e"), 7);
        assert_eq!(digit_group(b"tel 138/0013/8000"), 4);
        // Below GROUPS_FROM digits, the digit count stands in.
        assert_eq!(Facts::scan(b"a1b2c3").digit_group, 3);
        assert_eq!(Facts::scan(b"a1b2c3d4e5f6g7").digit_group, 1);
    }

    #[test]
    fn whole_digit_runs_are_noted_by_length() {
        let bits = |lens: &[u32]| lens.iter().fold(0u64, |b, &n| b | 1 << n);
        assert_eq!(
            Facts::scan(b"user123456@example.com").runs.digits,
            bits(&[6])
        );
        assert_eq!(Facts::scan(b"1990-03-07").runs.digits, bits(&[4, 2]));
        assert_eq!(Facts::scan(b"x19900307").runs.digits, bits(&[8]));
        assert_eq!(Facts::scan(&[b'7'; 80]).runs.digits, 1 << 63);
    }

    #[test]
    fn whole_letter_and_digit_runs_are_noted_by_length_and_hexness() {
        let bits = |lens: &[u32]| lens.iter().fold(0u64, |b, &n| b | 1 << n);
        let runs = |v: &str| {
            let r = Facts::scan_all(v.as_bytes()).runs;
            (r.alnum, r.hex)
        };
        assert_eq!(runs("user123456@example.com"), (bits(&[10, 7, 3]), 0));
        assert_eq!(runs("Wang Fang 1234567"), (bits(&[4, 7]), bits(&[7])));
        assert_eq!(runs("00:1a:2B:3c"), (bits(&[2]), bits(&[2])));
        assert_eq!(runs("号码ab12cdg"), (bits(&[7]), 0));
        assert_eq!(runs("cafe,beef9"), (bits(&[4, 5]), bits(&[4, 5])));
        assert_eq!(runs(""), (0, 0));
        assert_eq!(runs(&"f".repeat(70)), (1 << 63, 1 << 63));
    }

    proptest! {
        /// The block scan learns what the byte loop learns, at every length up to two blocks.
        #[test]
        fn block_facts_are_the_byte_loop_facts(
            v in proptest::collection::vec(
                prop_oneof![
                    Just(b'1'), Just(b'a'), Just(b'F'), Just(b' '), Just(b'-'), Just(b'@'),
                    Just(b'.'), Just(b':'), Just(b'+'), Just(b'('), Just(b')'), Just(b'*'),
                    Just(b','), Just(b'/'), Just(0xEF), Just(0xBC), Just(0xA0), any::<u8>()
                ],
                0..=64,
            )
        ) {
            let bytes = Facts::scan_bytes(&v);
            // The block scan of the value, and the facts `scan` gives (a short value read
            // padded).
            for blocks in [Facts::scan_blocks(&v), Facts::scan(&v)] {
                prop_assert_eq!(blocks.run_lengths(&v), bytes.run_lengths(&v));
                prop_assert_eq!(Facts { letters: bytes.letters, ..blocks }, bytes);
            }
        }
    }

    /// The last block read as the value's last 16 bytes has the block's own masks, and flags
    /// between the block's and the value's.
    #[test]
    fn a_short_last_block_has_its_own_masks() {
        let bytes: Vec<u8> = (0..=255u8)
            .chain(b"0123456789/:@ x".iter().copied())
            .collect();
        for len in 0..200 {
            for start in [0, 7, 60] {
                let value = &bytes[start..start + len];
                let whole = value.iter().fold(0, |f, &b| f | CLASS[b as usize]);
                for at in (0..len).step_by(64) {
                    let (got, want) = (
                        Block::scan_last(value, at),
                        Block::scan(&value[at..(at + 64).min(len)]),
                    );
                    assert_eq!(
                        (got.digits, got.alnum, got.hex),
                        (want.digits, want.alnum, want.hex)
                    );
                    assert_eq!(got.flags & want.flags, want.flags);
                    assert_eq!(got.flags & !whole, 0);
                }
            }
        }
    }

    /// The separators are counted once each at every length and offset, the SIMD steps' seams
    /// and the overlapping last step included.
    #[test]
    fn separators_are_counted_once_each() {
        let bytes: Vec<u8> = b".abcd.1.2:3-4..a::b--c2.3456.x.e0F9.12.3"
            .iter()
            .cycle()
            .take(90)
            .copied()
            .collect();
        for start in 0..17 {
            for end in start..bytes.len() {
                let part = &bytes[start..end];
                let count = |set: &[u8]| part.iter().filter(|b| set.contains(b)).count() as u32;
                let want = Separators {
                    digit_dots: part
                        .windows(3)
                        .filter(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
                        .count() as u32,
                    colons_and_hyphens: count(b":-"),
                    decimals: part.windows(6).any(|w| {
                        w[0].is_ascii_digit()
                            && w[1] == b'.'
                            && w[2..].iter().all(u8::is_ascii_digit)
                    }),
                    hex_dots: part.windows(6).any(|w| {
                        w[0] == b'.' && w[1..5].iter().all(u8::is_ascii_hexdigit) && w[5] == b'.'
                    }),
                };
                assert_eq!(count_separators(part), want, "{start}..{end}");
            }
        }
    }

    #[test]
    fn block_scan_marks_exactly_the_digits_and_flags() {
        let bytes: Vec<u8> = (0..=255u8).chain(b"0123456789/:".iter().copied()).collect();
        for start in 0..bytes.len() {
            for len in 0..=64.min(bytes.len() - start) {
                let block = &bytes[start..start + len];
                let want = block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (k, b)| m | (b.is_ascii_digit() as u64) << k);
                let alnum = block.iter().enumerate().fold(0u64, |m, (k, b)| {
                    m | (b.is_ascii_alphanumeric() as u64) << k
                });

                let hex = block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (k, b)| m | (b.is_ascii_hexdigit() as u64) << k);
                let flags = block.iter().fold(0, |f, &b| f | CLASS[b as usize]);
                let got = Block::scan(block);
                assert_eq!(
                    (got.digits, got.alnum, got.hex, got.flags),
                    (
                        want,
                        alnum,
                        hex,
                        flags & (AT | PLUS | HIGH | COLON | DOT | SPACE | UPPER)
                    ),
                    "{block:?}"
                );
            }
        }
    }

    /// Window facts are read over [`MARGIN`] on each side of a cluster, so no detector may
    /// search further out.
    #[test]
    fn every_scanner_reaches_within_the_margin() {
        for s in scanners::SCANNERS {
            assert!(
                s.reach.before <= MARGIN && s.reach.after <= MARGIN,
                "{:?}",
                s.patterns
            );
        }
    }

    #[test]
    fn the_needs_table_allows_what_the_facts_allow() {
        let e = engine();
        for d in e.0.compiled.list() {
            let n = &d.needs;
            let below = |v: u32| (v as usize) < SATURATED;
            assert!(below(n.min_digits) && below(n.min_digit_run) && below(n.min_alnum_run));
            assert!(below(n.min_alnum) && (below(n.max_digit_run) || n.max_digit_run == u32::MAX));
            assert!(below(n.min_digit_group));
        }
        let samples = include_str!("../../config/sample-values.txt");
        let extra = [
            "",
            "a",
            "1",
            "12:30",
            "aa:bb:cc:dd:ee:ff",
            "00:1a:2b:3c:4d:5e",
            "x y 1",
        ];
        for v in samples.lines().chain(extra) {
            // The table reads the runs of letters only when asked; the reference has them all.
            let facts = Facts::scan(v.as_bytes());
            let all = Facts::scan_all(v.as_bytes());
            let mut got = vec![];
            e.0.compiled
                .needs
                .for_each_allowed(&facts, v.as_bytes(), e.0.compiled.every(), |i| got.push(i));
            let seps = count_separators(v.as_bytes());
            let want: Vec<usize> = (0..e.0.compiled.list().len())
                .map(|i| (i, &e.0.compiled.list()[i].needs))
                .filter(|(_, n)| all.allows(n) && n.separators_allow(&seps, all.alnum_run))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(got, want, "{v:?}");
        }
    }

    /// No shared automaton: the references search each detector's own context words.
    static OWN_WORDS: ContextWords = ContextWords {
        ac: None,
        owners: Vec::new(),
        pairs: None,
        weak_pairs: None,
    };

    #[test]
    fn shared_context_words_find_what_each_detector_finds() {
        let e = engine();
        let list = e.0.compiled.list();
        let samples = include_str!("../../config/sample-values.txt");
        let extra = [
            "地址：北京",
            "ADDRESS 1",
            "收货人张三",
            "tel 138",
            "Phone: 1",
            "DOB 1990-03-07",
            "护照 E12345678",
            "IMEI 490154203237518",
            "x",
        ];
        for v in samples.lines().chain(extra) {
            let found = e.0.compiled.context.found(v.as_bytes()).expect("built");
            for (i, d) in list.iter().enumerate() {
                let own = d
                    .context
                    .as_ref()
                    .is_some_and(|ac| ac.is_match(v.as_bytes()));
                assert_eq!(found >> i & 1 == 1, own, "{} in {v:?}", i);
                if d.weak && own {
                    let weak = e.0.compiled.context.weak_pairs.as_ref().expect("built");
                    assert!(weak.holds(v.as_bytes()), "{} in {v:?}", i);
                }
            }
        }
    }

    /// One detector over `value[from..to]`, without column support, reading its own context
    /// words: how the references search.
    fn search_alone(
        d: &Compiled,
        di: usize,
        ctx: &Ctx,
        value: &[u8],
        from: usize,
        to: usize,
        out: &mut Vec<Match>,
    ) {
        let mut memo = ValueMemo::new(&OWN_WORDS, value);
        search(d, di, ctx, value, (from, to), &|_| false, &mut memo, out);
    }

    /// The windowed search as first written (byte-by-byte cluster walk, every window re-scanned
    /// in full), kept to check the faster one against.
    fn find_reference(compiled: &[Compiled], ctx: &Ctx, value: &[u8], out: &mut Vec<Match>) {
        out.clear();
        if value.len() <= WINDOWED_ABOVE {
            let facts = Facts::scan_all(value);
            for (di, d) in compiled.iter().enumerate() {
                if reference_allows(&facts, &d.needs) {
                    search_alone(d, di, ctx, value, 0, value.len(), out);
                }
            }
            resolve(compiled, out);
            return;
        }
        let digits = value.iter().filter(|b| b.is_ascii_digit()).count() as u32;
        let mut flags = DIGIT | ALPHA;
        if !value.is_ascii() {
            flags |= HIGH;
        }
        if value.contains(&b'@') {
            flags |= AT;
        }
        if value.contains(&b'+') {
            flags |= PLUS;
        }
        if value.iter().any(u8::is_ascii_uppercase) {
            flags |= UPPER;
        }
        for (b, flag) in [(b':', COLON), (b'.', DOT), (b' ', SPACE)] {
            if value.contains(&b) {
                flags |= flag;
            }
        }
        let facts = Facts {
            digits,
            digit_run: u32::MAX,
            shortest_run: 0,
            alnum_run: u32::MAX,
            alnum: u32::MAX,
            runs: RunLengths::ANY,
            letters: LetterRuns::Known,
            digit_group: u32::MAX,
            flags,
        };
        for (di, d) in compiled.iter().enumerate() {
            if !reference_digit_anchored(&d.needs) && reference_allows(&facts, &d.needs) {
                search_alone(d, di, ctx, value, 0, value.len(), out);
            }
        }
        for (ws, we) in reference_windows(value) {
            let wf = Facts::scan_all(&value[ws..we]);
            for (di, d) in compiled.iter().enumerate() {
                if reference_digit_anchored(&d.needs) && reference_allows(&wf, &d.needs) {
                    let last_digit = value[..we].iter().rposition(u8::is_ascii_digit);
                    let we = d
                        .finder
                        .window_end(value, last_digit.map_or(we, |i| i + 1), we);
                    search_alone(d, di, ctx, value, ws, we, out);
                }
            }
        }
        resolve(compiled, out);
    }

    /// The first prefilter rule: an at sign, or any non-ASCII byte, lets the email detector run.
    fn reference_allows(f: &Facts, n: &Needs) -> bool {
        let mut f = *f;
        if f.flags & HIGH != 0 {
            f.flags |= AT;
        }
        f.allows(n)
    }

    /// The first rule for windowed detectors: digits, and no CJK (so no plates).
    fn reference_digit_anchored(n: &Needs) -> bool {
        n.min_digits > 0 && !n.non_ascii && !n.at_sign
    }

    /// The windows of the first cluster walk: byte by byte to each digit, then on while the
    /// next digit is less than [`CLUSTER_GAP`] bytes away.
    fn reference_windows(value: &[u8]) -> Vec<(usize, usize)> {
        let (n, mut i, mut windows) = (value.len(), 0, Vec::new());
        while i < n {
            let Some(first) = value[i..].iter().position(u8::is_ascii_digit) else {
                break;
            };
            let cs = i + first;
            let mut ce = cs + 1;
            let mut j = ce;
            while j < n && j - ce < CLUSTER_GAP {
                if value[j].is_ascii_digit() {
                    ce = j + 1;
                }
                j += 1;
            }
            windows.push((cs.saturating_sub(MARGIN), (ce + MARGIN).min(n)));
            i = j;
        }
        windows
    }

    /// Asserts that the clusters give the reference windows, and that a window's digit facts
    /// are its cluster's and its other facts those of a full scan (except the lengths of runs
    /// of letters, which a window leaves unknown: they may reach past it).
    fn same_windows(value: &[u8]) {
        let mut got = Vec::new();
        for_each_cluster(value, |c| {
            let (ws, we) = c.window(value.len());
            let full = Facts::scan(&value[ws..we]);
            let fast = Facts::window(&value[ws..we], c);
            // At-sign detectors are never windowed: the window leaves AT out.
            assert_eq!(
                (
                    fast.digits,
                    fast.digit_run,
                    fast.shortest_run,
                    fast.alnum_run,
                    fast.alnum,
                    fast.digit_group,
                    fast.runs.digits,
                    fast.flags & !AT
                ),
                (
                    full.digits,
                    full.digit_run,
                    full.shortest_run,
                    full.alnum_run,
                    full.alnum,
                    full.digit_group,
                    full.runs.digits,
                    full.flags & !AT
                ),
            );
            got.push((ws, we));
        });
        assert_eq!(
            got,
            reference_windows(value),
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }

    fn engine() -> &'static Engine {
        static E: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
        E.get_or_init(|| Engine::load(None).expect("built-in detectors load"))
    }

    /// Every detector searched over the whole value, without prefilters: what the windows and
    /// the facts must not lose.
    fn find_unwindowed(compiled: &[Compiled], ctx: &Ctx, value: &[u8], out: &mut Vec<Match>) {
        out.clear();
        for (di, d) in compiled.iter().enumerate() {
            search_alone(d, di, ctx, value, 0, value.len(), out);
        }
        resolve(compiled, out);
    }

    /// Asserts that [`find`], [`find_reference`] and [`find_unwindowed`] agree on `value`.
    fn same_as_reference(value: &[u8]) {
        // As `find` does: the search runs on the folded text.
        let mut folded = Folded::default();
        let value = if folded.fold(value) {
            &folded.text[..]
        } else {
            value
        };
        let e = engine();
        let (mut got, mut want, mut whole) = (Vec::new(), Vec::new(), Vec::new());
        find_in(
            &e.0.compiled,
            &e.0.ctx,
            value,
            e.0.compiled.every(),
            &|_| false,
            &mut got,
        );
        find_reference(e.0.compiled.list(), &e.0.ctx, value, &mut want);
        find_unwindowed(e.0.compiled.list(), &e.0.ctx, value, &mut whole);
        let text = String::from_utf8_lossy(value);
        assert_eq!(got, want, "{text:?}");
        assert_eq!(got, whole, "{text:?}");
        same_windows(value);
    }

    /// In a long text, an English address whose street name reaches more than [`MARGIN`] bytes
    /// past its house number is found whole (it was missed when its window stopped at the
    /// margin).
    #[test]
    fn a_long_street_name_in_long_text_is_found() {
        let pad = "这是一段很长的备注文字，用来把值推到窗口搜索的路径上。";
        let v = format!("{pad}Ship to 12 Martin Luther King Boulevard, thanks. {pad}");
        let mut out = Vec::new();
        engine().find(v.as_bytes(), &mut out);
        let found: Vec<&str> = out.iter().map(|m| &v[m.start..m.end]).collect();
        assert_eq!(found, ["12 Martin Luther King Boulevard"]);
        same_as_reference(v.as_bytes());
    }

    /// Only a category's first detector in resolve's order skips the others, and it skips
    /// exactly its category's others.
    #[test]
    fn a_whole_value_match_outranks_only_its_categorys_others() {
        let e = engine();
        let ids: Vec<&str> = e.detectors().iter().map(|d| d.id.as_str()).collect();
        let at = |id: &str| ids.iter().position(|x| *x == id).unwrap();
        let set = |list: &[&str]| list.iter().fold(0u64, |m, id| m | 1 << at(id));
        let outranked = &e.0.compiled.outranked;
        assert_eq!(
            outranked[at("phone_cn_mobile")],
            set(&["phone_cn_landline", "phone_nanp", "phone_intl"])
        );
        for lower in ["phone_cn_landline", "phone_nanp", "phone_intl"] {
            assert_eq!(outranked[at(lower)], 0, "{lower}");
        }
        assert_eq!(outranked[at("email")], 0);
    }

    /// Values where the top phone detector matches, whole or in part, beside other phones:
    /// only a whole-value match may skip the others.
    #[test]
    fn a_partial_match_skips_nothing() {
        for v in [
            "13812345678",
            "13812345678 010-62345678",
            "010-62345678 13812345678",
            "tel 13812345678, (010) 6234 5678",
            "13812345678 / +1 415-555-0100",
            "+86 138 1234 5678",
            "１３８１２３４５６７８",
            "4006009999 13812345678",
        ] {
            same_as_reference(v.as_bytes());
        }
    }

    /// The free-text lines the benchmark uses, and the sample values padded into long ones
    /// with fillers that put letters, digits and CJK text near them.
    #[test]
    fn windowed_search_matches_reference_on_corpus() {
        let lines: Vec<&str> = include_str!("../../config/sample-free-text.txt")
            .lines()
            .collect();
        let text = lines.join(" ").repeat(3);
        for width in [97, 128, 200, 333] {
            for start in 0..text.len().saturating_sub(width) {
                same_as_reference(&text.as_bytes()[start..start + width]);
            }
        }
        let samples = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/sample-values.txt"
        ))
        .unwrap();
        let fillers = [
            "这是一段很长的备注文字，用来把值推到窗口搜索的路径上。",
            "ABCDEFGHJKLMNPRSTUVWXYZ abcdefghjk ",
            "1 2 3 tel 4 5 + 6 ",
            "x",
        ];
        // The notations the run-length needs rely on (MAC, VIN, passport), alone, in text and
        // glued to more letters and digits.
        let runs = [
            "00:1A:2B:3C:4D:5E",
            "00-1a-2b-3c-4d-5e",
            "001a.2b3c.4d5e",
            "001A2B3C4D5E",
            "mac=00:1a:2b:3c:4d:5e;",
            "x00:1a:2b:3c:4d:5e",
            "00:1a:2b:3c:4d:5eg",
            "device 001a2b3c4d5e online",
            "1M8GDM9AXKP042788",
            "vin:LFV2A21KXD4000001.",
            "WVWZZZ1JZXW000001 seen",
            "A1M8GDM9AXKP042788",
            "E12345678",
            "passport EA1234567, G12345678",
            "xE12345678",
        ];
        for sample in samples.lines().chain(runs) {
            same_as_reference(sample.as_bytes());
            for f in fillers {
                for reps in [1, 3, 6] {
                    let pad = f.repeat(reps);
                    same_as_reference(format!("{pad}{sample}{pad}").as_bytes());
                    same_as_reference(format!("{pad} {sample} {sample}{pad}{sample}").as_bytes());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_needs_table_allows_what_the_facts_allow_for_any_facts(
            counts in proptest::collection::vec(
                prop_oneof![0u32..140, Just(u32::MAX)], 6),
            flags in 0..FLAG_SETS as u16,
            runs in any::<[u64; 3]>(),
        ) {
            let e = engine();
            let facts = Facts {
                digits: counts[0],
                digit_run: counts[1],
                shortest_run: counts[2],
                alnum_run: counts[3],
                alnum: counts[4],
                digit_group: counts[5],
                runs: RunLengths { digits: runs[0], alnum: runs[1], hex: runs[2] },
                letters: LetterRuns::Known,
                flags,
            };
            let list = e.0.compiled.list();
            // No separators in the empty text the table is given.
            let seps = Separators::default();
            let allowed: Vec<usize> = (0..list.len())
                .filter(|&i| {
                    let n = &list[i].needs;
                    facts.allows(n) && n.separators_allow(&seps, facts.alnum_run)
                })
                .collect();
            let mut got = vec![];
            e.0.compiled.needs.for_each_allowed(&facts, b"", e.0.compiled.every(), |i| got.push(i));
            prop_assert_eq!(&got, &allowed);
            got.clear();
            e.0.compiled.needs.for_each_anchored(&facts, b"", e.0.compiled.every(), |i| got.push(i));
            let anchored: Vec<usize> =
                allowed.into_iter().filter(|&i| digit_anchored(&list[i].needs)).collect();
            prop_assert_eq!(got, anchored);
        }

        #[test]
        fn block_run_and_flags_match_the_byte_scan(
            v in proptest::collection::vec(any::<u8>(), 0..100),
            s in "[0-9a-zA-Z@+ \\[`{/:号]{0,100}",
        ) {
            for bytes in [&v[..], s.as_bytes()] {
                let full = Facts::scan(bytes);
                prop_assert_eq!(
                    alnum_run_and_flags(bytes),
                    (full.alnum_run, full.alnum, full.flags & !AT)
                );
            }
        }

        /// Long texts with names next to context words and titles, in Chinese and Latin
        /// script: the engine finds what the reference search finds.
        #[test]
        fn names_in_long_texts_match_the_reference(
            s in "(姓名[:：]?|联系人|客户|开户名|户名|先生|女士|小姐|王|欧阳|小明|建国|·|[，。 ]|Name:? |name |Contact |Mr\\.? |Mrs |Dr |Miss |John|Smith|O'Neil|[A-Z][a-z]{1,6}|[a-z]{1,6}|[0-9]{1,4}|[.:,'-]){1,60}"
        ) {
            same_as_reference(s.as_bytes());
        }

        /// Long texts with English street addresses among other words, digits and CJK text:
        /// a window around a house number reaches to the end of the street name.
        #[test]
        fn address_windows_match_the_whole_search(
            s in "([0-9]{1,7}[A-Za-z]? |Main |N |S\\. |2nd |Street|St\\.?|Avenue|Rd|Oak Hill |[A-Z][a-z]{1,6} |[a-z]{1,6} |[0-9]{1,4}|[.,;'_-]|地址|路|，| ){1,60}"
        ) {
            same_as_reference(s.as_bytes());
        }

        #[test]
        fn windowed_search_matches_reference(
            s in "([0-9]{1,20}|[A-HJ-NPR-Z]{1,17}|[0-9a-fA-F]{1,12}|[ +()@.:\\-]|京A|苏|粤b|使|挂|·|＠|号码|，|[a-z.]{1,8}@[a-z]{2,5}\\.[a-z]{2,3}| {10,45}|[a-z]{1,8}){1,60}"
        ) {
            same_as_reference(s.as_bytes());
        }
    }
}
