//! Byte helpers for the validators that read CJK text (names, addresses): Han characters,
//! UTF-8 steps and fixed word lists, without allocating.

/// The length (3) of the Han character (U+3400..U+9FFF) at `i`, or 0.
#[inline]
pub(crate) fn han_at(h: &[u8], i: usize) -> usize {
    match (h.get(i), h.get(i + 1), h.get(i + 2)) {
        (Some(&a), Some(&b), Some(&c))
            if (0xE3..=0xE9).contains(&a)
                && (0x80..=0xBF).contains(&b)
                && (0x80..=0xBF).contains(&c)
                && (a != 0xE3 || b >= 0x90) =>
        {
            3
        }
        _ => 0,
    }
}

/// The start of the UTF-8 character ending just before `i` (`i` when `i == 0`).
#[inline]
pub(crate) fn prev_char(h: &[u8], i: usize) -> usize {
    let mut j = i;
    while j > 0 {
        j -= 1;
        if h[j] & 0xC0 != 0x80 {
            return j;
        }
    }
    0
}

/// The length of the UTF-8 character starting at `i` (1 for stray bytes).
#[inline]
pub(crate) fn char_len(h: &[u8], i: usize) -> usize {
    match h.get(i) {
        Some(0xC0..=0xDF) => 2,
        Some(0xE0..=0xEF) => 3,
        Some(0xF0..=0xF7) => 4,
        _ => 1,
    }
    .min(h.len().saturating_sub(i).max(1))
}

/// The number of Han characters in `h[from..to]` when that span is all Han, else None.
pub(crate) fn han_count(h: &[u8], from: usize, to: usize) -> Option<usize> {
    let (mut i, mut n) = (from, 0);
    while i < to {
        let l = han_at(h, i);
        if l == 0 {
            return None;
        }
        i += l;
        n += 1;
    }
    (i == to).then_some(n)
}

/// The first word of `words` that `h[i..]` starts with, as its end.
#[inline]
pub(crate) fn starts_with_any(h: &[u8], i: usize, words: &[&str]) -> Option<usize> {
    let rest = h.get(i..)?;
    words
        .iter()
        .find(|w| rest.starts_with(w.as_bytes()))
        .map(|w| i + w.len())
}

/// The first word of `words` that `h[..i]` ends with, as its start.
#[inline]
pub(crate) fn ends_with_any(h: &[u8], i: usize, words: &[&str]) -> Option<usize> {
    let head = h.get(..i)?;
    words
        .iter()
        .find(|w| head.ends_with(w.as_bytes()))
        .map(|w| i - w.len())
}

/// Fixed words or characters, for membership tests by hash (one lookup instead of a comparison
/// with each): a validator's word lists, [`han_in`]'s characters.
pub(crate) type WordSet = std::collections::HashSet<&'static [u8], foldhash::fast::FixedState>;

/// `words` as a [`WordSet`].
pub(crate) fn word_set(words: impl IntoIterator<Item = &'static str>) -> WordSet {
    words.into_iter().map(str::as_bytes).collect()
}

/// The three-byte characters of `chars` as a [`WordSet`].
pub(crate) fn han_set(chars: &'static str) -> WordSet {
    chars.as_bytes().chunks_exact(3).collect()
}

/// True when a three-byte Han character of `chars` starts at `h[i]`.
#[inline]
pub(crate) fn han_in(h: &[u8], i: usize, chars: &WordSet) -> bool {
    han_at(h, i) == 3 && chars.contains(&h[i..i + 3])
}

/// `h[from..to]` without ASCII whitespace at both ends.
pub(crate) fn trim_span(h: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    while from < to && h[from].is_ascii_whitespace() {
        from += 1;
    }
    while to > from && h[to - 1].is_ascii_whitespace() {
        to -= 1;
    }
    (from, to)
}

/// True when `h` holds `word`, ASCII case-insensitively.
pub(crate) fn contains_ci(h: &[u8], word: &[u8]) -> bool {
    word.is_empty() || h.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word))
}
