//! Column decisions from sampled values: per category, how many sampled values hold it, whether the
//! column is whole-value or free text, name-hint evidence, a confidence and masked examples.
//! Names support, values decide; an empty sample is "unknown", never "clean".
//!
//! Rules:
//! - A value is *whole-value* for a category when its matches cover it except for whitespace and
//!   ASCII punctuation; otherwise the identifier is embedded in free text.
//! - A category is personal when the whole-value share reaches the detector's `min_share`, or
//!   when at least `min_matched` values embed it (free-text columns such as remarks).
//! - A column-name hint never makes a column personal by itself; it raises confidence and lets
//!   weak matches (legacy 15-digit ids, VINs without a check digit, bare NANP digits) count. A
//!   negative name hint (`email_opt_in`, `phone_model`) lowers confidence and disables that.
//! - Blank values (empty or whitespace) carry nothing and are treated like NULL.
//! - Values of numeric SQL types arrive as text; a trailing `.000` fraction is ignored.
//! - "Name + shape": a column named as a phone (a `phone` name hint as a whole token, not an
//!   `..._id`) in which at least [`PHONE_SHAPE_SHARE`] of the raw values have the shape of a phone
//!   number ([`phone_shaped`]: 7-15 digits, optionally a leading `+` and the separators people
//!   write) is a phone column even when the numbering plans are not known to the detectors
//!   (pagila's `address.phone`: unformatted numbers of many countries). The report's note says
//!   so. Without the name, such values decide nothing (ids, amounts).
//! - Values datawarden wrote ([`crate::transformed::written_by_datawarden`]: envelopes,
//!   pseudonyms, masks) are counted apart (`transformed`) and left out of every share's
//!   denominator, so a partly transformed column stays flagged while any raw value holds the
//!   category. A mask-shaped value in which a detector still finds an identifier is raw (the
//!   masker hides every identifier it finds).

use serde::{Deserialize, Serialize};

use crate::detect::{hints, mask, DetectorSet, Engine, Match, Sensitivity};

mod pool;
mod rules;

pub use pool::ColumnPool;

/// The outcome for one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnStatus {
    /// No non-null values were sampled: nothing is known.
    Unknown,
    /// Values were sampled and no category reached its threshold.
    Clean,
    /// At least one category reached its threshold.
    Personal,
}

/// Whether identifiers make up the values, or sit inside free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Most matching values are the identifier itself.
    WholeValue,
    /// Identifiers are embedded in longer text.
    FreeText,
}

/// A detector id and version, recorded as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorVersion {
    /// Detector id.
    pub id: String,
    /// Detector version.
    pub version: u32,
}

/// Evidence for one category in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Category id (`phone`, `email`, ...).
    pub category: String,
    /// Detectors that matched.
    pub detectors: Vec<DetectorVersion>,
    /// Sampled non-null values holding the category.
    pub matched: u64,
    /// `matched / (non_null - transformed)`: the share of the raw values.
    pub share: f64,
    /// Whole-value or free-text column.
    pub layout: Layout,
    /// The column-name hint that matched, if any (supporting evidence).
    pub name_hint: Option<String>,
    /// 0..1.
    pub confidence: f64,
    /// Sensitivity of the category.
    pub sensitivity: Sensitivity,
    /// Masked examples (`138****5678`), never raw values.
    pub examples: Vec<String>,
    /// True when the evidence reaches the detector's threshold (the column holds the category).
    pub personal: bool,
    /// Which evidence decided a personal category: `values`, `name + values` (a column-name
    /// hint let weak matches count or lowered the share needed). None when not personal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The classification of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// Values observed, NULLs included.
    pub sampled: u64,
    /// Non-null, non-blank values observed (transformed ones included).
    pub non_null: u64,
    /// Of those, values datawarden wrote (envelopes, pseudonyms, masks), left out of every share.
    #[serde(default)]
    pub transformed: u64,
    /// Overall status.
    pub status: ColumnStatus,
    /// Categories with any evidence, strongest first.
    pub findings: Vec<Finding>,
    /// What else the evidence needs said: detection cut short (values searched only in part, or
    /// not at all when the table's time budget ran out), or the view lineage it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Values longer than this are searched only in their first this-many bytes by default (see
/// [`ColumnClassifier::set_max_value_bytes`]).
pub const DEFAULT_MAX_VALUE_BYTES: usize = 256 << 10;

/// The share of raw values that must be phone-shaped for the "name + shape" rule.
pub const PHONE_SHAPE_SHARE: f64 = 0.8;

/// True when `v` has the shape of a phone number written by a person or stored unformatted:
/// 7-15 digits (full-width ones too), an optional leading `+`, and spaces, hyphens, parentheses
/// or (at least two, so that a decimal is not one) dots between them; not one digit repeated.
pub fn phone_shaped(v: &[u8]) -> bool {
    // ASCII (most values) is read byte by byte: no character folds to another.
    if v.is_ascii() {
        return phone_shaped_bytes(v.iter().copied());
    }
    let Ok(text) = std::str::from_utf8(v) else {
        return false;
    };
    // A character that does not fold to ASCII is no part of a phone's shape (0xFF stands in).
    phone_shaped_bytes(text.chars().map(|c| {
        let c = crate::detect::fold::fold_char(c).unwrap_or(c);
        u8::try_from(c).ok().filter(u8::is_ascii).unwrap_or(0xFF)
    }))
}

/// [`phone_shaped`] on the value's bytes, folded.
fn phone_shaped_bytes(mut bytes: impl Iterator<Item = u8>) -> bool {
    // The digits seen, one bit each: a single repeated digit is no phone.
    let (mut digits, mut dots, mut seen) = (0u32, 0u32, 0u16);
    let mut check = |b: u8| match b {
        b'0'..=b'9' => {
            digits += 1;
            seen |= 1 << (b - b'0');
            true
        }
        b' ' | b'-' | b'(' | b')' => true,
        b'.' => {
            dots += 1;
            true
        }
        _ => false,
    };
    let shaped = match bytes.next() {
        Some(b'+') | None => true,
        Some(b) => check(b),
    } && bytes.all(&mut check);
    shaped && (7..=15).contains(&digits) && dots != 1 && seen.count_ones() > 1
}

/// The indices of the bits of `present` (categories with a match), lowest first; every index
/// below `ncat` when there are more than 64 categories (`present` cannot hold them).
fn categories_present(present: u64, ncat: usize) -> impl Iterator<Item = usize> {
    let every = ncat > 64;
    let mut bits = if every { 0 } else { present };
    (0..if every { ncat } else { 0 }).chain(std::iter::from_fn(move || {
        let ci = (bits != 0).then(|| bits.trailing_zeros() as usize)?;
        bits &= bits - 1;
        Some(ci)
    }))
}

/// Maximum masked examples per finding.
const MAX_EXAMPLES: usize = 3;

/// Matches masked in search of [`MAX_EXAMPLES`] distinct examples: a column whose values mask
/// alike (one repeated phone, `a***@example.com`) stops paying for masking after this many.
const MAX_EXAMPLE_TRIES: u32 = 32;

/// Per-category counters.
#[derive(Debug, Default)]
struct CategoryState {
    name_hint: Option<String>,
    negative_hint: bool,
    matched: u64,
    whole: u64,
    free: u64,
    weak_only: u64,
    /// Detector indices that matched.
    detectors: Vec<usize>,
    examples: Vec<String>,
    /// Matches masked so far for `examples`.
    example_tries: u32,
}

/// Streams one column's sampled values through the engine.
pub struct ColumnClassifier {
    engine: Engine,
    numeric: bool,
    supported: Vec<bool>,
    cats: Vec<CategoryState>,
    sampled: u64,
    non_null: u64,
    transformed: u64,
    buf: Vec<Match>,
    max_value_bytes: usize,
    /// Values searched only in their first `max_value_bytes`.
    truncated: u64,
    /// Values not searched at all (the table's detection budget ran out).
    unsearched: u64,
    /// The phone category's index when the column is named as a phone ("name + shape").
    phone_named: Option<usize>,
    /// Raw values with the shape of a phone number (counted only when `phone_named`).
    phone_shaped: u64,
    /// Masked examples of phone-shaped values.
    shape_examples: Vec<String>,
    /// State of the per-category column rules ([`rules`]).
    rules: rules::RuleState,
    /// Category indices of `person_name` and `birth_date`, when the engine has them.
    name_cat: Option<usize>,
    birth_cat: Option<usize>,
    /// The column's SQL type as the database names it.
    sql_type: String,
    /// The detectors run on its values (all, unless [`ColumnClassifier::trust_column_type`]
    /// narrowed them).
    only: DetectorSet,
    /// What the evidence says about a narrowing by type.
    type_note: Option<String>,
    /// Per length up to [`DIGITS_KNOWN`], whether a value of that many ASCII digits may hold a
    /// match ([`Engine::digits_may_match`]), asked the first time a length is seen.
    digit_strings: Vec<Option<bool>>,
    /// Phone-shaped values masked in search of `shape_examples`.
    shape_example_tries: u32,
}

/// Lengths of all-digit values whose answer [`ColumnClassifier`] remembers.
const DIGITS_KNOWN: usize = 96;

/// The longest prefix of `v` of at most `max` bytes that does not split a UTF-8 character.
fn prefix_at_char(v: &[u8], max: usize) -> &[u8] {
    if v.len() <= max {
        return v;
    }
    let mut end = max;
    while end > 0 && end > max.saturating_sub(3) && (v[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &v[..end]
}

/// How a column's scan note starts when its type narrowed detection
/// ([`ColumnClassifier::trust_column_type`]).
pub const TYPE_NARROWED: &str = "narrowed by the column type: ";

/// The categories a column's last scan looked for: `all`, or those its type can hold when its
/// scan note says the type narrowed detection.
pub fn categories_checked(all: &[String], sql_type: &str, scan_note: Option<&str>) -> Vec<String> {
    let narrowed = scan_note.is_some_and(|n| n.starts_with(TYPE_NARROWED));
    match categories_for_type(sql_type).filter(|_| narrowed) {
        Some(held) => all
            .iter()
            .filter(|c| held.contains(&c.as_str()))
            .cloned()
            .collect(),
        None => all.to_vec(),
    }
}

/// The categories a value of `sql_type` can hold, where the database keeps only values of a
/// column's type in it: a date or time can only be a birth date; a boolean or a UUID is none of
/// them; a network address type holds its own kind. `None` for every other type (anything may
/// be written in it).
pub fn categories_for_type(sql_type: &str) -> Option<&'static [&'static str]> {
    // The type's name without precision (`timestamp(3) with time zone`, `datetime(6)`), compared
    // whole: a domain or enum whose name merely starts like one (`datestr`, `timeline`) may hold
    // anything.
    let mut name = String::with_capacity(sql_type.len());
    let mut depth = 0u32;
    for ch in sql_type.trim().chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => name.push(ch.to_ascii_lowercase()),
            _ => {}
        }
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    const TEMPORAL: &[&str] = &[
        "date",
        "time",
        "timetz",
        "time with time zone",
        "time without time zone",
        "timestamp",
        "timestamptz",
        "timestamp with time zone",
        "timestamp without time zone",
        "datetime",
        "interval",
        "year",
    ];
    let n = name.as_str();
    if TEMPORAL.contains(&n) || n.starts_with("interval ") {
        Some(TEMPORAL_HOLDS)
    } else if ["boolean", "bool", "uuid"].contains(&n) {
        Some(&[])
    } else if ["inet", "cidr"].contains(&n) {
        Some(&["ip_address"])
    } else if ["macaddr", "macaddr8"].contains(&n) {
        Some(&["mac_address"])
    } else {
        None
    }
}

/// What a date or time column can hold.
const TEMPORAL_HOLDS: &[&str] = &["birth_date"];

/// True when detector `i`'s matches can count in a column whose name supports the detectors in
/// `supported`: a weak detector's matches count only with that support or a context word in
/// the value, so one without context words is not searched at all unless supported; in a
/// `temporal` column (rendered dates and times), only context words such a value can hold
/// count.
fn can_count(engine: &Engine, supported: &[bool], i: usize, temporal: bool) -> bool {
    let d = &engine.detectors()[i];
    let words = &d.spec.context_words;
    !d.spec.weak
        || supported.get(i).copied().unwrap_or(false)
        || (!temporal && !words.is_empty())
        || words.iter().any(|w| in_rendered_time(w))
}

/// True when `word` may occur in a date, time or interval as PostgreSQL (ISO date style, as
/// sqlx connects) and MySQL render them: digits and punctuation, `infinity`, `BC`, and an
/// interval's `year(s)`, `mon(s)` and `day(s)`. Words with other letters, or non-ASCII ones,
/// never do.
fn in_rendered_time(word: &str) -> bool {
    const WORDS: &[&str] = &["infinity", "bc", "years", "mons", "days"];
    let w = word.to_ascii_lowercase();
    w.is_ascii()
        && (!w.bytes().all(|b| b.is_ascii_alphabetic())
            || WORDS.iter().any(|x| x.contains(w.as_str())))
}

fn is_numeric_type(sql_type: &str) -> bool {
    let t = sql_type.to_ascii_lowercase();
    ["int", "numeric", "decimal", "number", "serial", "money"]
        .iter()
        .any(|k| t.contains(k))
}

/// Strips ASCII whitespace and the ideographic space from both ends.
fn trim(mut v: &[u8]) -> &[u8] {
    const IDEO_SPACE: &[u8] = "\u{3000}".as_bytes();
    loop {
        let before = v.len();
        v = v.trim_ascii();
        if let Some(r) = v.strip_prefix(IDEO_SPACE) {
            v = r;
        }
        if let Some(r) = v.strip_suffix(IDEO_SPACE) {
            v = r;
        }
        if v.len() == before {
            return v;
        }
    }
}

/// Drops a `.000` fraction from a numeric value rendered as text.
fn strip_zero_fraction(v: &[u8]) -> &[u8] {
    match v.iter().rposition(|&b| b == b'.') {
        Some(dot)
            if v[dot + 1..].iter().all(|&b| b == b'0')
                && v[..dot].iter().all(u8::is_ascii_digit) =>
        {
            &v[..dot]
        }
        _ => v,
    }
}

impl ColumnClassifier {
    /// A classifier for column `name` of SQL type `sql_type`.
    pub fn new(engine: &Engine, name: &str, sql_type: &str) -> Self {
        let ncat = engine.categories().len();
        let mut cats: Vec<CategoryState> = (0..ncat).map(|_| CategoryState::default()).collect();
        let column = hints::ColumnName::new(name);
        for (i, d) in engine.detectors().iter().enumerate() {
            let c = &mut cats[engine.category_index(i)];
            if d.negative_name_hints.find(&column).is_some() {
                c.negative_hint = true;
            }
            if c.name_hint.is_none() {
                c.name_hint = d.name_hints.find(&column).map(str::to_string);
            }
        }
        for c in &mut cats {
            if c.negative_hint {
                c.name_hint = None;
            }
        }
        let supported: Vec<bool> = (0..engine.detectors().len())
            .map(|i| cats[engine.category_index(i)].name_hint.is_some())
            .collect();
        let names_an_id = hints::tokens(name).last().is_some_and(|t| t == "id");
        let phone_named = engine
            .categories()
            .iter()
            .position(|c| c == "phone")
            .filter(|&ci| cats[ci].name_hint.is_some() && !names_an_id);
        let only = engine.detector_set(|i| can_count(engine, &supported, i, false));
        ColumnClassifier {
            engine: engine.clone(),
            numeric: is_numeric_type(sql_type),
            supported,
            cats,
            sampled: 0,
            non_null: 0,
            transformed: 0,
            buf: Vec::with_capacity(8),
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            truncated: 0,
            unsearched: 0,
            phone_named,
            phone_shaped: 0,
            shape_examples: Vec::new(),
            rules: rules::RuleState::default(),
            name_cat: engine.categories().iter().position(|c| c == "person_name"),
            birth_cat: engine.categories().iter().position(|c| c == "birth_date"),
            sql_type: sql_type.to_string(),
            only,
            type_note: None,
            digit_strings: vec![None; DIGITS_KNOWN + 1],
            shape_example_tries: 0,
        }
    }

    /// Narrows detection to the categories the column's type can hold, for databases that keep
    /// only values of a column's type in it (PostgreSQL, MySQL/MariaDB; not SQLite, which keeps
    /// any value in any column): see [`categories_for_type`]. The evidence says so.
    pub fn trust_column_type(&mut self) {
        let Some(held) = categories_for_type(&self.sql_type) else {
            return;
        };
        let engine = &self.engine;
        let keep = |ci: usize| held.contains(&engine.categories()[ci].as_str());
        for (ci, c) in self.cats.iter_mut().enumerate() {
            if !keep(ci) {
                c.name_hint = None;
            }
        }
        for (i, s) in self.supported.iter_mut().enumerate() {
            *s &= keep(engine.category_index(i));
        }
        let temporal = held == TEMPORAL_HOLDS;
        self.only = engine.detector_set(|i| {
            keep(engine.category_index(i)) && can_count(engine, &self.supported, i, temporal)
        });
        self.digit_strings.fill(None);
        self.phone_named = self.phone_named.filter(|&ci| keep(ci));
        self.name_cat = self.name_cat.filter(|&ci| keep(ci));
        self.birth_cat = self.birth_cat.filter(|&ci| keep(ci));
        let t = &self.sql_type;
        self.type_note = Some(if held.is_empty() {
            format!("{TYPE_NARROWED}not searched: a {t} column holds none of the categories")
        } else if self.only.is_empty() {
            let only = held.join(", ");
            format!(
                "{TYPE_NARROWED}not searched: a {t} column holds nothing but {only}, which counts \
                 only in a column named as one"
            )
        } else {
            let only = held.join(", ");
            format!("{TYPE_NARROWED}searched for {only} only: a {t} column holds nothing else")
        });
    }

    /// False when the column's values are not needed, only whether each is NULL: a column of a
    /// trusted type that is not searched ([`ColumnClassifier::trust_column_type`]). Such a
    /// column may be read as NULL or an empty string ([`crate::sources::SampleOptions`]); a
    /// non-NULL value counts as non-null whatever it holds.
    pub fn reads_values(&self) -> bool {
        self.type_note.is_none()
            || !self.only.is_empty()
            || self.phone_named.is_some()
            || self.name_cat.is_some()
    }

    /// Values longer than `max` bytes are searched only in their first `max` bytes (at least
    /// 1 KiB), so one huge value costs a bounded time; the report notes how many were cut.
    pub fn set_max_value_bytes(&mut self, max: usize) {
        self.max_value_bytes = max.max(1024);
    }

    /// Counts a value that was read but not searched (the table's detection budget ran out):
    /// it is in `sampled` and `non_null` but holds no evidence, and the report says so.
    pub fn skip(&mut self, value: Option<&[u8]>) {
        self.sampled += 1;
        if value.is_some_and(|v| !trim(v).is_empty()) {
            self.non_null += 1;
            self.unsearched += 1;
        }
    }

    /// Observes one sampled value (`None` for NULL). Values arrive as bytes (cast to text in SQL).
    pub fn observe(&mut self, value: Option<&[u8]>) {
        self.sampled += 1;
        let Some(value) = value else {
            return;
        };
        if !self.reads_values() {
            // A rendered date, time, boolean or UUID is never blank (and never written by
            // datawarden): it counts, and nothing else is asked of it.
            self.non_null += 1;
            return;
        }
        let mut v = trim(value);
        if v.is_empty() {
            return;
        }
        if self.numeric {
            v = strip_zero_fraction(v);
        }
        self.non_null += 1;
        // Envelopes and pseudonyms are known from their prefixes; masks are asked about only
        // where no detector matched (below), which spares most personal values the search.
        if crate::transformed::envelope_or_pseudonym_bytes(v).is_some() {
            self.transformed += 1;
            return;
        }
        if v.len() > self.max_value_bytes {
            self.truncated += 1;
            v = prefix_at_char(v, self.max_value_bytes);
        }
        if self.phone_named.is_some() && phone_shaped(v) {
            self.phone_shaped += 1;
            if self.shape_examples.len() < MAX_EXAMPLES
                && self.shape_example_tries < MAX_EXAMPLE_TRIES
            {
                self.shape_example_tries += 1;
                let masked = mask("phone", &String::from_utf8_lossy(v));
                if !self.shape_examples.contains(&masked) {
                    self.shape_examples.push(masked);
                }
            }
        }
        if self.only.is_empty() || !self.digits_may_match(v) {
            self.buf.clear();
        } else {
            self.engine
                .find_among(v, &self.only, &self.supported, &mut self.buf);
        }
        if self.name_cat.is_some() {
            self.rules.value(v);
        }
        if self.buf.is_empty() {
            if crate::transformed::is_mask_bytes(v) {
                self.transformed += 1;
            }
            return;
        }
        // The categories the matches belong to, each once, in order (a value's matches are
        // few, the categories many).
        let ncat = self.cats.len();
        let mut present = 0u64;
        for m in &self.buf {
            let ci = self.engine.category_index(m.detector);
            present |= 1u64.checked_shl(ci as u32).unwrap_or(0);
        }
        for ci in categories_present(present, ncat) {
            let mut first: Option<Match> = None;
            let mut strong = false;
            let mut covered_to = 0usize;
            let mut residue = 0usize;
            for m in self
                .buf
                .iter()
                .filter(|m| self.engine.category_index(m.detector) == ci)
            {
                first.get_or_insert(*m);
                strong |= !m.weak;
                residue += count_residue(&v[covered_to.min(m.start)..m.start]);
                covered_to = covered_to.max(m.end);
                let c = &mut self.cats[ci];
                if !c.detectors.contains(&m.detector) {
                    c.detectors.push(m.detector);
                }
            }
            let Some(first) = first else {
                continue;
            };
            residue += count_residue(&v[covered_to.min(v.len())..]);
            let category = &self.engine.categories()[ci];
            let c = &mut self.cats[ci];
            c.matched += 1;
            if Some(ci) == self.birth_cat {
                self.rules.birth(&v[first.start..first.end]);
            }
            if residue == 0 {
                if Some(ci) == self.name_cat {
                    self.rules.name(v);
                }
                c.whole += 1;
            } else {
                c.free += 1;
            }
            if !strong {
                c.weak_only += 1;
            }
            if c.examples.len() < MAX_EXAMPLES && c.example_tries < MAX_EXAMPLE_TRIES {
                c.example_tries += 1;
                let raw = String::from_utf8_lossy(&v[first.start..first.end]);
                let masked = mask(category, &raw);
                if !c.examples.contains(&masked) {
                    c.examples.push(masked);
                }
            }
        }
    }

    /// False when `v` is made of ASCII digits only and no detector can match such a value of
    /// its length (the answer is the engine's, remembered per length).
    fn digits_may_match(&mut self, v: &[u8]) -> bool {
        if v.len() > DIGITS_KNOWN || !v.iter().all(u8::is_ascii_digit) {
            return true;
        }
        let (engine, only) = (&self.engine, &self.only);
        *self.digit_strings[v.len()].get_or_insert_with(|| engine.digits_may_match(v.len(), only))
    }

    /// The decision for the column.
    pub fn finish(self) -> ColumnReport {
        let engine = &self.engine;
        let non_null = self.non_null;
        let raw = non_null - self.transformed;
        let mut cut = Vec::new();
        if self.truncated > 0 {
            cut.push(format!(
                "{} value(s) over {} bytes searched in their first {} bytes",
                self.truncated, self.max_value_bytes, self.max_value_bytes
            ));
        }
        if self.unsearched > 0 {
            cut.push(format!(
                "{} value(s) not searched: the table's detection budget ran out",
                self.unsearched
            ));
        }
        let mut notes: Vec<String> = self.type_note.into_iter().collect();
        if !cut.is_empty() {
            notes.push(format!("detection cut short: {}", cut.join("; ")));
        }
        let raw_share = |n: u64| n as f64 / raw.max(1) as f64;
        let name_and_shape = self
            .phone_named
            .filter(|_| self.phone_shaped > 0 && raw_share(self.phone_shaped) >= PHONE_SHAPE_SHARE);
        let mut findings = Vec::new();
        let mut shape_examples = self.shape_examples;
        for (ci, mut c) in self.cats.into_iter().enumerate() {
            if c.matched == 0 && c.name_hint.is_none() {
                continue;
            }
            let members: Vec<usize> = (0..engine.detectors().len())
                .filter(|&i| engine.category_index(i) == ci)
                .collect();
            let relevant = if c.detectors.is_empty() {
                &members
            } else {
                &c.detectors
            };
            let specs = relevant.iter().map(|&i| &engine.detectors()[i].spec);
            let min_share = specs
                .clone()
                .map(|s| s.thresholds.min_share)
                .fold(1.0, f64::min);
            let min_matched = specs.map(|s| s.thresholds.min_matched).min().unwrap_or(1);
            let sensitivity = members
                .iter()
                .map(|&i| engine.detectors()[i].sensitivity)
                .max()
                .unwrap_or(Sensitivity::Moderate);
            let denom = raw.max(1) as f64;
            let share = c.matched as f64 / denom;
            let whole_share = c.whole as f64 / denom;
            let mut whole_ok = c.whole > 0 && whole_share >= min_share;
            let mut free_ok = c.free >= min_matched;
            // Weak matches decided when the strong ones alone would not have reached the share.
            let strong = c.matched - c.weak_only;
            let mut weak_decided = c.weak_only > 0 && (strong as f64 / denom) < min_share;
            if Some(ci) == self.name_cat {
                // Names: the share of distinct values; a hint lowers the share needed.
                let share = self.rules.name_share();
                let need = if c.name_hint.is_some() {
                    min_share
                } else {
                    rules::NAME_SHARE
                };
                whole_ok = c.whole > 0 && share >= need;
                weak_decided = share < rules::NAME_SHARE;
            }
            if Some(ci) == self.birth_cat && !self.rules.birth_spread(c.matched) {
                whole_ok = false;
                free_ok = false;
            }
            let mut personal = whole_ok || free_ok;
            let mut rule =
                personal.then(|| rules::rule(weak_decided, c.name_hint.is_some()).to_string());
            let (mut share, mut whole_share) = (share, whole_share);
            if name_and_shape == Some(ci) && !personal {
                // Name + shape: the phone-shaped values are the evidence.
                personal = true;
                whole_ok = true;
                rule = Some(rules::NAME_AND_SHAPE.to_string());
                c.matched = c.matched.max(self.phone_shaped);
                c.whole = c.whole.max(self.phone_shaped);
                c.weak_only = 0;
                share = raw_share(c.matched);
                whole_share = raw_share(c.whole);
                for e in shape_examples.drain(..) {
                    if c.examples.len() < MAX_EXAMPLES && !c.examples.contains(&e) {
                        c.examples.push(e);
                    }
                }
                notes.push(format!(
                    "name + shape: {} of {} value(s) are 7-15 digit phone-shaped numbers in a column \
                     named as a phone (hint {:?})",
                    self.phone_shaped,
                    raw,
                    c.name_hint.as_deref().unwrap_or_default()
                ));
            }
            let layout = if whole_ok || (!free_ok && c.whole >= c.free) {
                Layout::WholeValue
            } else {
                Layout::FreeText
            };
            let mut confidence = if c.matched == 0 {
                0.1
            } else {
                let base = match layout {
                    Layout::WholeValue => 0.4 + 0.5 * whole_share.min(1.0),
                    Layout::FreeText => 0.5 + 0.03 * (c.free.min(10) as f64),
                };
                let base = if personal { base } else { base * 0.5 };
                base * (1.0 - 0.4 * (c.weak_only as f64 / c.matched as f64))
            };
            if c.name_hint.is_some() {
                confidence += (1.0 - confidence) * 0.3;
            }
            if c.negative_hint {
                confidence *= 0.7;
            }
            let confidence = (confidence.clamp(0.0, 0.99) * 1000.0).round() / 1000.0;
            let mut detectors: Vec<_> = c
                .detectors
                .iter()
                .map(|&i| {
                    let d = &engine.detectors()[i];
                    crate::classify::DetectorVersion {
                        id: d.id.clone(),
                        version: d.version,
                    }
                })
                .collect();
            detectors.sort_by(|a, b| a.id.cmp(&b.id));
            findings.push(Finding {
                category: engine.categories()[ci].clone(),
                detectors,
                matched: c.matched,
                share: (share * 10_000.0).round() / 10_000.0,
                layout,
                name_hint: c.name_hint,
                confidence,
                sensitivity,
                examples: c.examples,
                personal,
                rule,
            });
        }
        findings.sort_by(|a, b| {
            b.personal
                .cmp(&a.personal)
                .then(b.confidence.total_cmp(&a.confidence))
                .then(b.matched.cmp(&a.matched))
                .then(a.category.cmp(&b.category))
        });
        let status = if non_null == 0 {
            ColumnStatus::Unknown
        } else if findings.iter().any(|f| f.personal) {
            ColumnStatus::Personal
        } else {
            ColumnStatus::Clean
        };
        ColumnReport {
            sampled: self.sampled,
            non_null,
            transformed: self.transformed,
            status,
            findings,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    }
}

/// Bytes that are neither whitespace nor ASCII punctuation (what is left besides identifiers).
fn count_residue(s: &[u8]) -> usize {
    s.iter()
        .filter(|b| !(b.is_ascii_whitespace() || b.is_ascii_punctuation()))
        .count()
}

#[cfg(test)]
mod tests;
