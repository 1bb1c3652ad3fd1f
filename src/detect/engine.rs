//! The compiled detectors and the matching loop: a one-pass byte scan of each value decides which
//! detectors can match at all (so values that cannot match cost a few nanoseconds), then each
//! candidate detector's regex (on bytes: invalid UTF-8 never fails) finds candidates and its
//! validator checks them. Overlapping matches of one category keep the best one.

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

use super::spec::DetectorSpec;
use super::validators::{Ctx, Needs, Validator, Verdict};
use super::Match;
use crate::error::{Error, Result};

/// One detector ready to run.
#[derive(Debug)]
pub(crate) struct Compiled {
    regex: Regex,
    validator: Option<&'static Validator>,
    needs: Needs,
    weak: bool,
    priority: i32,
    category: usize,
    context: Option<AhoCorasick>,
}

impl Compiled {
    /// Compiles one checked spec; `category` is the index of its category.
    pub(crate) fn new(
        spec: &DetectorSpec,
        category: usize,
        file: &std::path::Path,
    ) -> Result<Compiled> {
        let combined = spec
            .patterns
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let regex = regex::bytes::RegexBuilder::new(&combined)
            .case_insensitive(spec.case_insensitive)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| Error::Detector {
                file: file.to_path_buf(),
                message: format!("patterns: {e}"),
            })?;
        let validator = spec
            .validator
            .as_deref()
            .and_then(super::validators::lookup);
        let context = if spec.context_words.is_empty() {
            None
        } else {
            Some(
                aho_corasick::AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&spec.context_words)
                    .map_err(|e| Error::Detector {
                        file: file.to_path_buf(),
                        message: format!("context_words: {e}"),
                    })?,
            )
        };
        Ok(Compiled {
            regex,
            validator,
            needs: validator.map(|v| v.needs).unwrap_or_default(),
            weak: spec.weak,
            priority: spec.priority,
            category,
            context,
        })
    }

    pub(crate) fn category(&self) -> usize {
        self.category
    }
}

/// Byte classes for the prefilter scan.
const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const AT: u8 = 4;
const HIGH: u8 = 8;
const PLUS: u8 = 16;
/// The full-width at sign `＠`.
const FULLWIDTH_AT: &[u8] = "＠".as_bytes();

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            DIGIT
        } else if b.is_ascii_alphabetic() {
            ALPHA
        } else if b == b'@' {
            AT
        } else if b == b'+' {
            PLUS
        } else if b >= 0x80 {
            HIGH
        } else {
            0
        };
        i += 1;
    }
    t
};

/// True when `value` holds `＠` (EF BC A0).
fn has_fullwidth_at(value: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = value[i..].iter().position(|&b| b == 0xEF) {
        if value[i + p..].starts_with(FULLWIDTH_AT) {
            return true;
        }
        i += p + 1;
    }
    false
}

/// What one pass over a value learns.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Facts {
    digits: u32,
    digit_run: u32,
    alnum_run: u32,
    flags: u8,
}

impl Facts {
    #[inline]
    pub(crate) fn scan(value: &[u8]) -> Facts {
        let (mut digits, mut run, mut max_run, mut arun, mut max_arun, mut flags) =
            (0u32, 0u32, 0, 0u32, 0, 0u8);
        for &b in value {
            let c = CLASS[b as usize];
            flags |= c;
            let is_d = (c & DIGIT) as u32;
            digits += is_d;
            run = (run + 1) * is_d;
            max_run = max_run.max(run);
            let is_a = ((c & (DIGIT | ALPHA)) != 0) as u32;
            arun = (arun + 1) * is_a;
            max_arun = max_arun.max(arun);
        }
        if flags & HIGH != 0 && flags & AT == 0 && has_fullwidth_at(value) {
            flags |= AT;
        }
        Facts {
            digits,
            digit_run: max_run,
            alnum_run: max_arun,
            flags,
        }
    }

    /// Facts for the detectors searched end to end in a long value, with fast whole-value
    /// checks (run lengths are left permissive: the regexes' own prefilters take over).
    pub(crate) fn quick(value: &[u8]) -> Facts {
        let mut flags = 0;
        if !value.is_ascii() {
            flags |= HIGH;
        }
        if value.contains(&b'@') || (flags & HIGH != 0 && has_fullwidth_at(value)) {
            flags |= AT;
        }
        if value.contains(&b'+') {
            flags |= PLUS;
        }
        Facts {
            digits: value.iter().filter(|b| b.is_ascii_digit()).count() as u32,
            digit_run: u32::MAX,
            alnum_run: u32::MAX,
            flags: flags | DIGIT | ALPHA,
        }
    }

    #[inline]
    fn allows(&self, n: &Needs) -> bool {
        self.digits >= n.min_digits
            && self.digit_run >= n.min_digit_run
            && self.alnum_run >= n.min_alnum_run
            && (!n.at_sign || self.flags & (AT | HIGH) != 0)
            && (!n.non_ascii || self.flags & HIGH != 0)
            && (!n.plus || self.flags & PLUS != 0)
    }
}

/// Marks a match removed during overlap resolution.
const DEAD: usize = usize::MAX;

/// Values longer than this are searched in windows around their digit clusters (for the
/// digit-anchored detectors) instead of end to end.
const WINDOWED_ABOVE: usize = 96;
/// Digits closer than this belong to one cluster.
const CLUSTER_GAP: usize = 40;
/// Bytes searched on each side of a cluster (a VIN may have 16 letters before its first digit).
const MARGIN: usize = 20;

/// True for detectors whose every match contains ASCII digits, found near digit clusters.
fn digit_anchored(n: &Needs) -> bool {
    n.min_digits > 0 && !n.non_ascii && !n.at_sign
}

/// Runs `compiled` over `value`, appending to `out`. `supported(i)` says whether weak matches of
/// detector `i` count without a context word.
pub(crate) fn find(
    compiled: &[Compiled],
    ctx: &Ctx,
    value: &[u8],
    supported: &dyn Fn(usize) -> bool,
    out: &mut Vec<Match>,
) {
    out.clear();
    if value.is_empty() {
        return;
    }
    if value.len() <= WINDOWED_ABOVE {
        let facts = Facts::scan(value);
        for (di, d) in compiled.iter().enumerate() {
            if facts.allows(&d.needs) {
                search(d, di, ctx, value, 0, value.len(), supported, out);
            }
        }
    } else {
        let facts = Facts::quick(value);
        for (di, d) in compiled.iter().enumerate() {
            if !digit_anchored(&d.needs) && facts.allows(&d.needs) {
                search(d, di, ctx, value, 0, value.len(), supported, out);
            }
        }
        if facts.digits > 0 {
            for_each_cluster(value, |ws, we| {
                let wf = Facts::scan(&value[ws..we]);
                for (di, d) in compiled.iter().enumerate() {
                    if digit_anchored(&d.needs) && wf.allows(&d.needs) {
                        search(d, di, ctx, value, ws, we, supported, out);
                    }
                }
            });
        }
    }
    resolve(compiled, out);
}

/// Calls `f(window_start, window_end)` for each cluster of digits, widened by [`MARGIN`];
/// windows never overlap.
fn for_each_cluster(value: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    let n = value.len();
    while i < n {
        let Some(first) = value[i..].iter().position(u8::is_ascii_digit) else {
            return;
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
        f(cs.saturating_sub(MARGIN), (ce + MARGIN).min(n));
        i = j;
    }
}

/// Searches `value[from..to]` with one detector (validators see the whole value).
#[allow(clippy::too_many_arguments)]
fn search(
    d: &Compiled,
    di: usize,
    ctx: &Ctx,
    value: &[u8],
    from: usize,
    to: usize,
    supported: &dyn Fn(usize) -> bool,
    out: &mut Vec<Match>,
) {
    let hay = &value[..to];
    let mut context: Option<bool> = None;
    let mut pos = from;
    while pos <= hay.len() {
        let Some(m) = d.regex.find_at(hay, pos) else {
            break;
        };
        let (s, e) = (m.start(), m.end());
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
                let keep = !weak
                    || supported(di)
                    || *context.get_or_insert_with(|| {
                        d.context.as_ref().is_some_and(|ac| ac.is_match(value))
                    });
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
    for i in 1..out.len() {
        let cat = compiled[out[i].detector].category;
        let (s, e) = (out[i].start, out[i].end);
        let clash = out[..i].iter().any(|k| {
            k.detector != DEAD && compiled[k.detector].category == cat && k.start < e && s < k.end
        });
        if clash {
            out[i].detector = DEAD;
        }
    }
    out.retain(|m| m.detector != DEAD);
    out.sort_unstable_by_key(|m| (m.start, m.end, m.detector));
}
