//! The scanners for the name patterns (`person_name_cn`, `person_name_latin`).
//!
//! **Chinese.**
//! The patterns, in order: a whole value of two to four Han characters; a whole value of Han
//! runs joined by middle dots (minority names); a context word (姓名, 收货人, …), up to two
//! separators and one to four Han characters; one to three Han characters before a title (先生,
//! 女士, 小姐). Every match of the last two holds one of those words, a context word at its
//! start or a title at most three Han characters (twelve bytes) after it. So the scanner looks
//! for the words (where the value's [`Anchors`] mark one may start) and tries only the starts
//! they allow, instead of running the regex around them.
//!
//! **Latin script.** The first two patterns match whole values (a name with an optional title
//! and suffixes, or `Last, First`) and are checked as such. The third starts at a context word
//! (`Name:`, `Customer`) or a title (`Mr.`), found likewise; from there the alternatives are
//! tried in the regex's order.

use std::sync::LazyLock;

use super::anchors::List;
#[cfg(test)]
use super::anchors::LATIN_TITLE_STARTS;
use super::{count_while, lit, one_of, opt, Anchors};
use crate::detect::validators::text::starts_with_any;
// The validator's word lists are the patterns' (the differential tests hold the scanners to
// the patterns).
use crate::detect::validators::person_name::{
    CN_CONTEXT as CONTEXT, CN_TITLES as TITLES, LATIN_CONTEXT, TITLES as WHOLE_TITLES,
};

/// The middle dots of the second pattern.
const DOTS: [&str; 3] = ["·", "•", "・"];

/// The separators allowed after a context word (`[:： ]`).
const SEPARATORS: [&str; 3] = [":", "：", " "];

/// One bit per code point of the Basic Multilingual Plane.
type BmpSet = [u64; 1024];

/// What the scanner looks characters up in.
struct Tables {
    /// `\p{Han}` in the BMP, as the regex crate reads it ...
    han: BmpSet,
    /// ... and beyond it, as sorted inclusive ranges.
    han_astral: Vec<(u32, u32)>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut han = [0u64; 1024];
    let mut han_astral = Vec::new();
    let hir = regex_syntax::parse(r"\p{Han}").expect("\\p{Han} parses");
    let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) = hir.kind()
    else {
        unreachable!("\\p{{Han}} is a Unicode class")
    };
    for r in class.ranges() {
        let (lo, hi) = (r.start() as u32, r.end() as u32);
        for c in lo..=hi.min(0xFFFF) {
            han[c as usize / 64] |= 1 << (c % 64);
        }
        if hi > 0xFFFF {
            han_astral.push((lo.max(0x10000), hi));
        }
    }
    Tables { han, han_astral }
});

fn in_bmp_set(set: &BmpSet, c: u32) -> bool {
    set[c as usize / 64] >> (c % 64) & 1 == 1
}

/// The code point and length of the well-formed UTF-8 character at `h[i]`, if there is one.
#[inline]
fn char_at(h: &[u8], i: usize) -> Option<(u32, usize)> {
    // Most Han characters: three bytes whose lead takes any continuation bytes.
    if let Some(&[b0, b1, b2]) = h.get(i..i + 3) {
        if matches!(b0, 0xE1..=0xEC | 0xEE..=0xEF) && b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 {
            let c = (b0 as u32 & 0x0F) << 12 | (b1 as u32 & 0x3F) << 6 | (b2 as u32 & 0x3F);
            return Some((c, 3));
        }
    }
    let bytes = h.get(i..(i + 4).min(h.len()))?;
    let c = bytes.utf8_chunks().next()?.valid().chars().next()?;
    Some((c as u32, c.len_utf8()))
}

/// The length of the Han character at `h[i]`, or 0.
#[inline]
fn han_at(t: &Tables, h: &[u8], i: usize) -> usize {
    // Han characters are three or four bytes long: their lead byte is 0xE0 or more.
    if h.get(i).is_none_or(|&b| b < 0xE0) {
        return 0;
    }
    match char_at(h, i) {
        Some((c, len)) if len >= 3 => {
            let han = if c <= 0xFFFF {
                in_bmp_set(&t.han, c)
            } else {
                t.han_astral
                    .binary_search_by(|&(lo, hi)| {
                        if hi < c {
                            std::cmp::Ordering::Less
                        } else if lo > c {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Equal
                        }
                    })
                    .is_ok()
            };
            if han {
                len
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// The end of each Han character in a row from `h[i]`.
fn han_ends<'a>(t: &'a Tables, h: &'a [u8], mut i: usize) -> impl Iterator<Item = usize> + 'a {
    std::iter::from_fn(move || {
        let len = han_at(t, h, i);
        (len > 0).then(|| {
            i += len;
            i
        })
    })
}

/// The number of Han characters in a row from `h[i]`, counting up to `max`, and where they end.
fn han_run(t: &Tables, h: &[u8], i: usize, max: usize) -> (usize, usize) {
    han_ends(t, h, i)
        .take(max)
        .fold((0, i), |(n, _), e| (n + 1, e))
}

/// The start of the Han character that ends at `h[end]`, if one does (Han characters are three
/// or four bytes long, and a four-byte one never ends with a three-byte one's bytes).
fn han_before(t: &Tables, h: &[u8], end: usize) -> Option<usize> {
    [3, 4]
        .into_iter()
        .filter_map(|len| end.checked_sub(len))
        .find(|&s| han_at(t, h, s) == end - s)
}

/// `^\p{Han}{2,4}$|^\p{Han}{1,10}[·•・]\p{Han}{1,10}(?:[·•・]\p{Han}{1,10})?$`: the whole of `h`.
fn whole(t: &Tables, h: &[u8]) -> bool {
    let (n, end) = han_run(t, h, 0, 5);
    if (2..=4).contains(&n) && end == h.len() {
        return true;
    }
    // Runs of one to ten Han characters (a dot is not Han, so each run is taken whole),
    // joined by single dots, two or three of them.
    let (mut at, mut runs) = (0, 0);
    loop {
        let (n, end) = han_run(t, h, at, 11);
        if !(1..=10).contains(&n) {
            return false;
        }
        runs += 1;
        if end == h.len() {
            return runs >= 2;
        }
        if runs == 3 {
            return false;
        }
        match starts_with_any(h, end, &DOTS) {
            Some(e) => at = e,
            None => return false,
        }
    }
}

/// The match of the third or fourth pattern starting at `h[s]`, as the regex prefers it: the
/// third first (`context` is the end of the context word starting at `h[s]`, if one does);
/// in it the separators (at most two) and then the Han characters (at most four) taken
/// greedily; in the fourth the most Han characters (at most three) a title follows.
fn match_at(t: &Tables, h: &[u8], s: usize, context: Option<usize>) -> Option<usize> {
    if let Some(mut at) = context {
        for _ in 0..2 {
            match starts_with_any(h, at, &SEPARATORS) {
                Some(e) => at = e,
                None => break,
            }
        }
        // Giving a separator back leaves a separator where a Han character is needed, and no
        // other context word starts here (none is a prefix of another): only the greedy
        // choice can match.
        let (n, end) = han_run(t, h, at, 4);
        if n > 0 {
            return Some(end);
        }
    }
    let (mut ends, mut n) = ([0; 3], 0);
    for e in han_ends(t, h, s).take(3) {
        ends[n] = e;
        n += 1;
    }
    ends[..n]
        .iter()
        .rev()
        .find_map(|&e| starts_with_any(h, e, TITLES))
}

/// The patterns of `person_name_cn`: the leftmost match at or after `pos` (`anchors` the
/// marks of `h`).
pub(super) fn cn_name(h: &[u8], pos: usize, anchors: &Anchors) -> Option<(usize, usize)> {
    let pos = pos.min(h.len());
    if h[pos..].is_ascii() {
        return None;
    }
    let t = &*TABLES;
    if pos == 0 && whole(t, h) {
        return Some((0, h.len()));
    }
    // The earliest match found so far. A later word can still give an earlier start (a title
    // up to twelve bytes on), so the search goes on that far.
    let mut best: Option<(usize, usize)> = None;
    let mut from = pos;
    while let Some((a, word)) = anchors.word_from(List::CnName, h, from) {
        if best.is_some_and(|(s, _)| a >= s + 12) {
            break;
        }
        // The next word may overlap this one (户名 in 开户名).
        from = a + 1;
        // A context word starts a match here (if any does); a title ends the Han characters
        // of one that starts up to three of them before it, not before `pos`.
        let (s, context) = match CONTEXT.get(word) {
            Some(w) => (a, Some(a + w.len())),
            None => {
                let mut s = a;
                for _ in 0..3 {
                    match han_before(t, h, s) {
                        Some(p) if p >= pos => s = p,
                        _ => break,
                    }
                }
                if s == a {
                    continue;
                }
                (s, starts_with_any(h, s, CONTEXT))
            }
        };
        if best.is_none_or(|(b, _)| s < b) {
            if let Some(e) = match_at(t, h, s, context) {
                best = Some((s, e));
            }
        }
    }
    best
}

// ---- Latin script ----

/// The titles of the third pattern, in its order.
const LATIN_TITLES: [&str; 5] = ["Mr", "Mrs", "Ms", "Miss", "Dr"];

/// The suffixes the first pattern allows after a whole name, in its order (the validator also
/// knows `V`).
const SUFFIXES: [&str; 12] = [
    "Jr", "Sr", "II", "III", "IV", "MD", "DDS", "PhD", "DVM", "Esq", "RN", "CPA",
];

/// `[a-zA-Z'-]`.
fn name_byte(b: &u8) -> bool {
    b.is_ascii_alphabetic() || matches!(b, b'\'' | b'-')
}

/// The end of `[A-Z][a-zA-Z'-]*` at `h[i]` (`[A-Z][a-zA-Z'-]+` with `min_rest` 1). The run is
/// taken whole: what follows it in every pattern is a space, a comma, a dot or the end, none
/// of which a shorter run would leave.
fn name_word(h: &[u8], i: usize, min_rest: usize) -> Option<usize> {
    if !h.get(i)?.is_ascii_uppercase() {
        return None;
    }
    let run = count_while(h, i + 1, usize::MAX, name_byte);
    (run >= min_rest).then_some(i + 1 + run)
}

/// `[A-Z][a-zA-Z'-]+, [A-Z][a-zA-Z'-]+(?: [A-Z]\.?)?` is the whole of `h`.
fn last_comma_first(h: &[u8]) -> bool {
    let Some(e) = name_word(h, 0, 1) else {
        return false;
    };
    if !h[e..].starts_with(b", ") {
        return false;
    }
    let Some(e) = name_word(h, e + 2, 1) else {
        return false;
    };
    match &h[e..] {
        [] => true,
        [b' ', c] | [b' ', c, b'.'] => c.is_ascii_uppercase(),
        _ => false,
    }
}

/// `(?:,? (?:Jr|Sr|…)\.?)*` is the whole of `h[i..]`. Of two suffixes that start alike (`II`,
/// `III`) only the one that ends where the next part can start can be taken.
fn suffixes_to_end(h: &[u8], mut i: usize) -> bool {
    while i < h.len() {
        i = opt(h, i, b",");
        if !one_of(h, i, b" ") {
            return false;
        }
        i += 1;
        let next = SUFFIXES.iter().find_map(|s| {
            if !h[i..].starts_with(s.as_bytes()) {
                return None;
            }
            let e = opt(h, i + s.len(), b".");
            matches!(h.get(e), None | Some(b',' | b' ')).then_some(e)
        });
        match next {
            Some(e) => i = e,
            None => return false,
        }
    }
    true
}

/// `[A-Z][a-zA-Z'-]+(?: [A-Z][a-zA-Z'-]*\.?){1,3}` and then the suffixes: the whole of
/// `h[i..]`, for some number of words.
fn words_to_end(h: &[u8], i: usize) -> bool {
    let Some(mut e) = name_word(h, i, 1) else {
        return false;
    };
    for _ in 0..3 {
        if !one_of(h, e, b" ") {
            return false;
        }
        let Some(w) = name_word(h, e + 1, 0) else {
            return false;
        };
        e = opt(h, w, b".");
        if suffixes_to_end(h, e) {
            return true;
        }
    }
    false
}

/// `person_name_latin`'s first two patterns: the whole of `h` is a name, with a title or
/// not, or `Last, First`.
fn latin_whole(h: &[u8]) -> bool {
    after_title(h, 0, WHOLE_TITLES).any(|i| words_to_end(h, i))
        || words_to_end(h, 0)
        || last_comma_first(h)
}

/// Where what follows `(?:TITLE)\.? ` at `h[i]` starts, for each way it matches, in the regex's
/// order of preference: the titles in order, each with its dot before without.
fn after_title<'a>(h: &'a [u8], i: usize, titles: &'a [&str]) -> impl Iterator<Item = usize> + 'a {
    titles
        .iter()
        .filter(move |t| lit(h, i, t.as_bytes()))
        .flat_map(move |t| {
            let e = i + t.len();
            [one_of(h, e, b".").then_some(e + 1), Some(e)]
        })
        .flatten()
        .filter(move |&sp| one_of(h, sp, b" "))
        .map(|sp| sp + 1)
}

/// `[A-Z][a-zA-Z'-]+(?: [A-Z][a-zA-Z'-]+){0,2}` at `h[i]`: the end of the longest.
fn names(h: &[u8], i: usize) -> Option<usize> {
    let mut e = name_word(h, i, 1)?;
    for _ in 0..2 {
        match one_of(h, e, b" ").then(|| name_word(h, e + 1, 1)).flatten() {
            Some(w) => e = w,
            None => break,
        }
    }
    Some(e)
}

/// `(?:Mr|Mrs|Ms|Miss|Dr)\.? ` and the names at `h[i]`, the alternatives in the regex's order
/// (a dot taken before none).
fn titled_names(h: &[u8], i: usize) -> Option<usize> {
    after_title(h, i, &LATIN_TITLES).find_map(|at| names(h, at))
}

/// The third pattern's match starting at `h[s]`, where a context word or a title starts:
/// the context word, `[:.]?`, a space, a title if one leads to a name (else none) and the
/// names; or a title and the names.
fn latin_at(h: &[u8], s: usize) -> Option<usize> {
    let Some(at) = starts_with_any(h, s, LATIN_CONTEXT) else {
        return titled_names(h, s);
    };
    let at = opt(h, at, b":.");
    // Without the `:` or `.`, a space would be needed where it stands.
    if !one_of(h, at, b" ") {
        return None;
    }
    titled_names(h, at + 1).or_else(|| names(h, at + 1))
}

/// The patterns of `person_name_latin`: the leftmost match at or after `pos` (`anchors` the
/// marks of `h`; its context words and titles start every match of the third pattern).
pub(super) fn latin_name(h: &[u8], pos: usize, anchors: &Anchors) -> Option<(usize, usize)> {
    let pos = pos.min(h.len());
    if pos == 0 && latin_whole(h) {
        return Some((0, h.len()));
    }
    // The third pattern starts with `(?-u:\b)` before a word's first letter.
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = pos;
    while let Some((a, _)) = anchors.word_from(List::LatinName, h, from) {
        if a == 0 || !word_byte(h[a - 1]) {
            if let Some(e) = latin_at(h, a) {
                return Some((a, e));
            }
        }
        from = a + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner reads `\p{Han}` from its own tables, and characters with its own decoder:
    /// both agree with the regex for every Unicode scalar value.
    #[test]
    fn han_characters_are_the_regex_s() {
        let re = regex::bytes::Regex::new(r"\A\p{Han}\z").unwrap();
        let t = &*TABLES;
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let b = c.encode_utf8(&mut buf).as_bytes();
            let want = if re.is_match(b) { b.len() } else { 0 };
            assert_eq!(han_at(t, b, 0), want, "{c:?}");
            assert_eq!(char_at(b, 0), Some((c as u32, b.len())), "{c:?}");
        }
    }

    /// Every way a title of the third pattern can start a match (the title, perhaps a dot, a
    /// space) starts with one of the words the search looks for.
    #[test]
    fn the_searched_title_starts_cover_every_title() {
        for t in LATIN_TITLES {
            for follow in [". ", " "] {
                let start = format!("{t}{follow}");
                assert!(
                    LATIN_TITLE_STARTS.iter().any(|w| start.starts_with(w)),
                    "{start:?}"
                );
            }
        }
    }

    /// `match_at` takes the only context word that can start at a place: no context word is
    /// the start of another.
    #[test]
    fn no_context_word_starts_another() {
        for a in CONTEXT {
            for b in CONTEXT {
                assert!(a == b || !b.starts_with(a), "{a} starts {b}");
            }
        }
    }
}
