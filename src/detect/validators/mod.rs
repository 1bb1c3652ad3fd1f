//! Built-in validators, named from detector files (`validator = "vin"`). Each works on the whole
//! haystack and the span a detector's pattern found, checks boundaries, structure and checksums, and
//! returns the (possibly adjusted) span. None allocates.

pub mod address;
pub mod cards;
pub mod cn_landline;
pub mod cn_mobile;
pub mod cn_plate;
pub mod cn_resident_id;
pub mod dates;
pub mod e164;
pub mod email;
pub mod luhn;
pub mod nanp;
pub mod network;
pub mod person_name;
pub(crate) mod text;
pub mod vin;

/// What a validator knows about the world (computed once per engine).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Today's date as `YYYYMMDD` (UTC), the latest valid birth date.
    pub today: u32,
    /// The dictionaries (surnames, divisions, given names) of the engine.
    pub dicts: &'static super::dicts::Dicts,
}

impl Ctx {
    /// The context for today (UTC).
    pub fn now() -> Ctx {
        use chrono::Datelike;
        let d = chrono::Utc::now().date_naive();
        Ctx {
            today: d.year() as u32 * 10_000 + d.month() * 100 + d.day(),
            dicts: super::dicts::builtin(),
        }
    }
}

/// A validator's decision on one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A match at `[start, end)`; `weak` matches count only with supporting evidence.
    Accept {
        start: usize,
        end: usize,
        weak: bool,
    },
    /// Not a match; the search resumes just after the candidate's first character.
    Reject,
    /// Not a match, and no match of this detector can start before this offset (e.g. the end of
    /// the digit run the candidate sits in).
    RejectUntil(usize),
}

/// Cheap facts about a value that decide whether a detector can match at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Minimum number of ASCII digits in the value.
    pub min_digits: u32,
    /// Minimum length of the longest run of ASCII digits.
    pub min_digit_run: u32,
    /// Minimum number of ASCII digits in one group: digits joined only by the bytes a number
    /// is written with ([`joins_digits`]). The validator reads its digits with
    /// [`digits_into`], which rejects anything else, so a hash or a UUID whose digits are
    /// broken up by letters holds no phone or card number.
    pub min_digit_group: u32,
    /// When not 0: the value holds a whole run of ASCII digits whose length is one of these
    /// (bit n for n digits, bit 63 for 63 or more). The birth-date validator accepts a year of
    /// four digits or a compact date of eight, each a whole run (it rejects matches glued to
    /// digits), so `user123456@example.com` needs no birth-date search.
    pub digit_run_lengths: u64,
    /// When not 0: the value holds a whole run of ASCII letters and digits whose length is one
    /// of these (bit n for n, bit 63 for 63 or more). The VIN and passport validators reject a
    /// match glued to letters or digits, so a VIN is a whole run of 17 and `order note <md5>`
    /// needs no VIN search.
    pub alnum_run_lengths: u64,
    /// When not 0: the value holds a whole run of ASCII letters and digits, all of them hex
    /// digits, whose length is one of these (bit n for n, bit 63 for 63 or more). A MAC
    /// address's first group is one: two or four hex digits before its separator, or all twelve
    /// written bare.
    pub hex_run_lengths: u64,
    /// Minimum length of the longest run of ASCII letters and digits.
    pub min_alnum_run: u32,
    /// Minimum number of ASCII letters and digits (a MAC address has twelve hex digits).
    pub min_alnum: u32,
    /// Needs `@` or the full-width `＠` (the email validator accepts only an at sign as its
    /// candidate, then widens it to the address).
    pub at_sign: bool,
    /// Needs a non-ASCII byte (CJK characters).
    pub non_ascii: bool,
    /// Needs a `+`.
    pub plus: bool,
    /// Needs a `:` (IPv6).
    pub colon: bool,
    /// Needs a `.` (IPv4, coordinates).
    pub dot: bool,
    /// Needs an ASCII space (Latin names, English addresses).
    pub space: bool,
    /// Needs an ASCII upper-case letter (a Latin name's words are capitalised).
    pub upper: bool,
    /// Minimum number of `.` with an ASCII digit on each side (an IPv4 address has three).
    pub min_digit_dots: u32,
    /// Needs room for six hex pairs: five `:` or `-` (in any mix), a `.` with four hex digits
    /// and another `.` after it, or a run of twelve ASCII letters and digits (a MAC address's
    /// three forms).
    pub hex_groups: bool,
    /// Needs a digit, a `.` and four more digits (a coordinate's decimals).
    pub decimals: bool,
    /// The longest run of ASCII digits an accepted match can hold. The validator rejects a
    /// match glued to more digits, so each run in it is a whole run of the value: a value whose
    /// runs are all longer cannot match (an 18-digit order number is no phone number).
    pub max_digit_run: u32,
}

/// The lengths of a value's whole runs (bit n for a run of n, bit 63 for 63 or more), as
/// [`Needs`] asks for them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunLengths {
    /// Runs of ASCII digits.
    pub digits: u64,
    /// Runs of ASCII letters and digits.
    pub alnum: u64,
    /// Runs of ASCII letters and digits made only of hex digits.
    pub hex: u64,
}

impl RunLengths {
    /// Every length: what a value's facts say when its runs were not counted.
    pub const ANY: RunLengths = RunLengths {
        digits: u64::MAX,
        alnum: u64::MAX,
        hex: u64::MAX,
    };
}

impl Needs {
    /// True when a value whose whole runs have the lengths in `runs` meets
    /// [`Needs::digit_run_lengths`], [`Needs::alnum_run_lengths`] and
    /// [`Needs::hex_run_lengths`].
    #[inline]
    pub fn runs_allow(&self, runs: &RunLengths) -> bool {
        let meets = |need: u64, have: u64| need == 0 || need & have != 0;
        meets(self.digit_run_lengths, runs.digits)
            && meets(self.alnum_run_lengths, runs.alnum)
            && meets(self.hex_run_lengths, runs.hex)
    }

    /// True when the needs ask for any run length.
    pub fn asks_run_lengths(&self) -> bool {
        self.digit_run_lengths != 0 || self.asks_letter_runs()
    }

    /// True when the needs ask for the lengths of runs of letters and digits.
    pub fn asks_letter_runs(&self) -> bool {
        self.alnum_run_lengths | self.hex_run_lengths != 0
    }

    /// True when the needs ask for the value's separators ([`Separators`]).
    pub fn asks_separators(&self) -> bool {
        self.min_digit_dots > 0 || self.hex_groups || self.decimals
    }

    /// True when a value with these separators, whose longest run of ASCII letters and digits
    /// is `alnum_run` long, meets the needs that ask for separators.
    pub fn separators_allow(&self, seps: &Separators, alnum_run: u32) -> bool {
        seps.digit_dots >= self.min_digit_dots
            && (!self.decimals || seps.decimals)
            && (!self.hex_groups
                || seps.colons_and_hyphens >= 5
                || seps.hex_dots
                || alnum_run >= 12)
    }
}

/// A value's separators, as [`Needs::min_digit_dots`], [`Needs::hex_groups`] and
/// [`Needs::decimals`] ask for them: counted only for a detector that asks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// The number of `.` with an ASCII digit on each side.
    pub digit_dots: u32,
    /// The number of `:` and `-`.
    pub colons_and_hyphens: u32,
    /// A digit, a `.` and four more digits.
    pub decimals: bool,
    /// A `.`, four hex digits and another `.` (the middle of `0123.4567.89ab`).
    pub hex_dots: bool,
}

impl Default for Needs {
    /// Needs nothing.
    fn default() -> Needs {
        needs()
    }
}

/// A validator function: haystack, candidate span, context.
pub type CheckFn = fn(&[u8], usize, usize, &Ctx) -> Verdict;

/// A named validator and the prefilter facts it implies.
#[derive(Debug, Clone, Copy)]
pub struct Validator {
    /// The name used in detector files.
    pub name: &'static str,
    /// The check.
    pub check: CheckFn,
    /// What any value it accepts must contain.
    pub needs: Needs,
}

const fn needs() -> Needs {
    Needs {
        min_digits: 0,
        min_digit_run: 0,
        min_digit_group: 0,
        digit_run_lengths: 0,
        alnum_run_lengths: 0,
        hex_run_lengths: 0,
        min_alnum_run: 0,
        min_alnum: 0,
        at_sign: false,
        non_ascii: false,
        plus: false,
        colon: false,
        dot: false,
        space: false,
        upper: false,
        min_digit_dots: 0,
        hex_groups: false,
        decimals: false,
        max_digit_run: u32::MAX,
    }
}

/// Every built-in validator.
pub const VALIDATORS: &[Validator] = &[
    Validator {
        name: "cn_resident_id",
        check: cn_resident_id::check,
        needs: Needs {
            min_digits: 17,
            // Grouped 6-8-4 for display: the longest run is 8.
            min_digit_run: 8,
            max_digit_run: 18,
            min_digit_group: 17,
            ..needs()
        },
    },
    Validator {
        name: "cn_resident_id_legacy15",
        check: cn_resident_id::check_legacy15,
        needs: Needs {
            min_digits: 15,
            min_digit_run: 15,
            max_digit_run: 15,
            min_digit_group: 15,
            ..needs()
        },
    },
    Validator {
        name: "vin",
        check: vin::check,
        needs: Needs {
            min_digits: 1,
            min_alnum_run: 17,
            alnum_run_lengths: 1 << 17,
            ..needs()
        },
    },
    Validator {
        name: "luhn",
        check: luhn::check,
        needs: Needs {
            min_digits: 12,
            max_digit_run: 19,
            min_digit_group: 12,
            ..needs()
        },
    },
    Validator {
        name: "cn_mobile",
        check: cn_mobile::check,
        needs: Needs {
            min_digits: 11,
            max_digit_run: 16,
            min_digit_group: 11,
            ..needs()
        },
    },
    Validator {
        name: "cn_landline",
        check: cn_landline::check,
        needs: Needs {
            min_digits: 10,
            max_digit_run: 16,
            min_digit_group: 10,
            ..needs()
        },
    },
    Validator {
        name: "nanp",
        check: nanp::check,
        needs: Needs {
            min_digits: 10,
            max_digit_run: 11,
            min_digit_group: 10,
            ..needs()
        },
    },
    Validator {
        name: "e164",
        check: e164::check,
        needs: Needs {
            min_digits: 7,
            plus: true,
            max_digit_run: 15,
            min_digit_group: 7,
            ..needs()
        },
    },
    Validator {
        name: "email",
        check: email::check,
        needs: Needs {
            at_sign: true,
            ..needs()
        },
    },
    Validator {
        name: "cn_plate",
        check: cn_plate::check,
        needs: Needs {
            min_digits: 2,
            non_ascii: true,
            max_digit_run: 6,
            ..needs()
        },
    },
    // The categories added in 2026-12 (person_name ... geo_location).
    Validator {
        name: "cn_person_name",
        check: person_name::check_cn,
        needs: Needs {
            non_ascii: true,
            ..needs()
        },
    },
    Validator {
        name: "latin_person_name",
        check: person_name::check_latin,
        needs: Needs {
            min_alnum_run: 2,
            space: true,
            upper: true,
            ..needs()
        },
    },
    Validator {
        name: "cn_address",
        check: address::check_cn,
        needs: Needs {
            min_alnum_run: 1,
            non_ascii: true,
            ..needs()
        },
    },
    Validator {
        name: "en_address",
        check: address::check_en,
        needs: Needs {
            // Every street suffix, direction and street name is capitalised: within four
            // bytes after a digit of the house number or ordinal (so in its window).
            upper: true,
            space: true,
            min_digits: 1,
            min_alnum_run: 2,
            max_digit_run: 6,
            ..needs()
        },
    },
    Validator {
        name: "ipv4",
        check: network::check_v4,
        needs: Needs {
            // The flag is read from the value's facts; the dots are counted only when it is set.
            dot: true,
            min_digit_dots: 3,
            min_digits: 4,
            max_digit_run: 3,
            ..needs()
        },
    },
    Validator {
        name: "ipv6",
        check: network::check_v6,
        needs: Needs {
            colon: true,
            min_digits: 1,
            ..needs()
        },
    },
    Validator {
        name: "mac",
        check: network::check_mac,
        needs: Needs {
            min_digits: 1,
            min_alnum_run: 2,
            min_alnum: 12,
            hex_run_lengths: 1 << 2 | 1 << 4 | 1 << 12,
            hex_groups: true,
            // The validator rejects a match glued to letters or digits: each run of digits in
            // it is a whole one, of two, four or at most twelve digits.
            max_digit_run: 12,
            ..needs()
        },
    },
    Validator {
        name: "bank_card",
        check: cards::check_card,
        needs: Needs {
            min_digits: 13,
            max_digit_run: 19,
            min_digit_group: 13,
            ..needs()
        },
    },
    Validator {
        name: "imei",
        check: cards::check_imei,
        needs: Needs {
            min_digits: 15,
            max_digit_run: 16,
            min_digit_group: 15,
            ..needs()
        },
    },
    Validator {
        name: "cn_passport",
        check: cards::check_passport,
        needs: Needs {
            min_digits: 7,
            min_digit_run: 7,
            min_alnum_run: 8,
            max_digit_run: 8,
            // The digits after the letters are a whole run of seven or eight (the match is a
            // whole run of letters and digits).
            digit_run_lengths: 1 << 7 | 1 << 8,
            alnum_run_lengths: 1 << 8 | 1 << 9 | 1 << 10,
            ..needs()
        },
    },
    Validator {
        name: "birth_date",
        check: dates::check_birth,
        needs: Needs {
            min_digits: 6,
            max_digit_run: 8,
            digit_run_lengths: 1 << 4 | 1 << 8,
            ..needs()
        },
    },
    Validator {
        name: "geo",
        check: dates::check_geo,
        needs: Needs {
            dot: true,
            min_digits: 5,
            // The decimals: four or more, after a digit and a dot.
            min_digit_run: 4,
            decimals: true,
            ..needs()
        },
    },
];

/// The validator named `name`.
pub fn lookup(name: &str) -> Option<&'static Validator> {
    VALIDATORS.iter().find(|v| v.name == name)
}

/// The names of all validators (for error messages).
pub fn names() -> impl Iterator<Item = &'static str> {
    VALIDATORS.iter().map(|v| v.name)
}

// ---- small byte helpers shared by the validators ----

#[inline]
pub(crate) fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

#[inline]
pub(crate) fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// True when `hay[i]` exists and satisfies `f`.
#[inline]
pub(crate) fn at(hay: &[u8], i: usize, f: fn(u8) -> bool) -> bool {
    hay.get(i).is_some_and(|&b| f(b))
}

/// True when the byte before `i` exists and satisfies `f`.
#[inline]
pub(crate) fn before(hay: &[u8], i: usize, f: fn(u8) -> bool) -> bool {
    i > 0 && f(hay[i - 1])
}

/// The end of the run of bytes satisfying `f` that contains (or starts at) `i`.
#[inline]
pub(crate) fn run_end(hay: &[u8], mut i: usize, f: fn(u8) -> bool) -> usize {
    while i < hay.len() && f(hay[i]) {
        i += 1;
    }
    i
}

/// Checks that the span is not glued to more bytes of class `f` on either side; when it is,
/// returns the verdict that skips the whole run.
#[inline]
pub(crate) fn boundary(hay: &[u8], start: usize, end: usize, f: fn(u8) -> bool) -> Option<Verdict> {
    if before(hay, start, f) || at(hay, end, f) {
        Some(Verdict::RejectUntil(run_end(hay, end, f).max(start + 1)))
    } else {
        None
    }
}

/// The verdict for a candidate glued to letters or digits, from a validator that rejects every
/// candidate with a letter or digit before it: every later start inside the candidate's first
/// run of letters and digits has one, so the search skips the run instead of trying each.
#[inline]
pub(crate) fn reject_run(hay: &[u8], start: usize) -> Verdict {
    Verdict::RejectUntil(run_end(hay, start, |b| b.is_ascii_alphanumeric()).max(start + 1))
}

/// Digit runs of display groupings are at most this long (`138 0013 8000`, `1780 1234 5678`).
const GROUP_RUN: usize = 8;

/// The length of the run of ASCII digits ending just before `i`, counted up to `GROUP_RUN + 1`.
fn run_before(hay: &[u8], i: usize) -> usize {
    hay[..i]
        .iter()
        .rev()
        .take(GROUP_RUN + 1)
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// The length of the run of ASCII digits starting at `i`, counted up to `GROUP_RUN + 1`.
fn run_after(hay: &[u8], i: usize) -> usize {
    hay.get(i..).map_or(0, |s| {
        s.iter()
            .take(GROUP_RUN + 1)
            .take_while(|b| b.is_ascii_digit())
            .count()
    })
}

/// True when the number at `[start, end)` is a piece of a longer digit group: joined to more
/// digits by a hyphen (`177-17778612-7736-46`, `110105-19900307-123X-5`), or by a single space
/// to a display-group short run (at most 8 digits) when its own run there is short too
/// (`138 0013 8000 2019`) or that run goes on to more digits after another space
/// (`15314959853 9327 39`). A long run next to a space is a number of its own
/// (`2024-03-15 13800138000`, `110105199003071239 13800138000`, `13800138000 2019年`). Only
/// joins of digits count: a number starting with `+` or `(` begins a new one.
pub(crate) fn in_longer_group(hay: &[u8], start: usize, end: usize) -> bool {
    if start >= end || end > hay.len() {
        return false;
    }
    let digit_at = |i: usize| hay.get(i).is_some_and(u8::is_ascii_digit);
    // `sep` joins my run of `mine` digits to their run of `theirs`, whose far side is `beyond`
    // (the separator there and the byte past it).
    let joined = |sep: u8, mine: usize, theirs: usize, beyond: Option<(u8, usize)>| match sep {
        b'-' => true,
        b' ' => {
            theirs <= GROUP_RUN
                && (mine <= GROUP_RUN || beyond.is_some_and(|(b, i)| b == b' ' && digit_at(i)))
        }
        _ => false,
    };
    let before = start >= 2 && hay[start].is_ascii_digit() && digit_at(start - 2) && {
        let theirs = run_before(hay, start - 1);
        let far = (start - 1).checked_sub(theirs + 1);
        let beyond = far.and_then(|f| Some((hay[f], f.checked_sub(1)?)));
        joined(hay[start - 1], run_after(hay, start), theirs, beyond)
    };
    let after =
        end + 1 < hay.len() && hay[end - 1].is_ascii_alphanumeric() && digit_at(end + 1) && {
            let theirs = run_after(hay, end + 1);
            let far = end + 1 + theirs;
            let beyond = hay.get(far).map(|&b| (b, far + 1));
            joined(hay[end], run_before(hay, end), theirs, beyond)
        };
    before || after
}

/// Collects the ASCII digits of `s` into `buf`; returns how many. None when more than fit, or
/// when `s` holds a byte that is neither a digit nor [`joins_digits`] (not a number in one piece).
#[inline]
pub(crate) fn digits_into(s: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for &b in s {
        if b.is_ascii_digit() {
            if n == buf.len() {
                return None;
            }
            buf[n] = b - b'0';
            n += 1;
        } else if !joins_digits(b) {
            return None;
        }
    }
    Some(n)
}

/// The bytes a phone, card or id number is written with between its digits: space, `-`, `.`,
/// parentheses and `+` ([`Needs::min_digit_group`]).
pub(crate) const fn joins_digits(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'+')
}

/// True when `(y, m, d)` is a real calendar date.
pub(crate) fn valid_date(y: u32, m: u32, d: u32) -> bool {
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let dim = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= dim
}

/// The number formed by ASCII digits `s` (caller guarantees digits).
#[inline]
pub(crate) fn num(s: &[u8]) -> u32 {
    s.iter().fold(0u32, |a, &b| a * 10 + (b - b'0') as u32)
}
