//! Column rules for the categories whose single values cannot decide (added 2026-12):
//!
//! - `person_name`: a whole-value column is a name column when the share of its *distinct*
//!   values that are names reaches [`NAME_SHARE`] (0.8), or the detector's `min_share` (0.5) with
//!   a name hint (name, xm, 姓名, receiver_name). Repeated values count once: a `name` column of
//!   product names that repeats a few name-shaped brands (王老吉) stays below. Free-text columns
//!   keep the general rule (names there are only found next to context words).
//! - `birth_date`: the dates must spread over years: at least [`BIRTH_SPREAD_YEARS`] between the
//!   earliest and the latest (2 when fewer than 10 dates were sampled). Account-creation times
//!   bunch in recent days and are not birth dates whatever the column is called.
//!
//! [`rule`] names the evidence that decided: `values` (the values alone), `name + values` (a
//! column-name hint let weak matches count, or lowered the share needed).

use std::collections::HashSet;
use std::hash::BuildHasher;

use foldhash::fast::FixedState;

/// Share of distinct values that makes a column a name column without a hint.
pub const NAME_SHARE: f64 = 0.8;
/// Years between the earliest and latest date of a birth-date column (10+ dates sampled).
pub const BIRTH_SPREAD_YEARS: u32 = 10;
/// Distinct values remembered per column (the sample is bounded anyway).
const MAX_DISTINCT: usize = 20_000;

/// What the rules remember about one column.
#[derive(Debug, Default)]
pub(crate) struct RuleState {
    distinct: HashSet<u64, FixedState>,
    name_distinct: HashSet<u64, FixedState>,
    birth_min: Option<u32>,
    birth_max: Option<u32>,
}

/// A 64-bit hash of a value, for counting distinct values (foldhash: a few instructions per
/// word, against SipHash's dozens; a collision only undercounts by one).
fn hash(v: &[u8]) -> u64 {
    FixedState::default().hash_one(v)
}

impl RuleState {
    /// Records a raw (non-transformed) value.
    pub(crate) fn value(&mut self, v: &[u8]) {
        if self.distinct.len() < MAX_DISTINCT {
            self.distinct.insert(hash(v));
        }
    }

    /// Records a value that is a whole-value person name ([`RuleState::value`] recorded it
    /// first). Only names among the distinct values counted are counted, so that the share
    /// stays one of the same values once [`MAX_DISTINCT`] is reached (counting names on would
    /// raise it towards 1).
    pub(crate) fn name(&mut self, v: &[u8]) {
        let h = hash(v);
        if self.distinct.contains(&h) {
            self.name_distinct.insert(h);
        }
    }

    /// Records a birth-date match's text.
    pub(crate) fn birth(&mut self, matched: &[u8]) {
        if let Some((y, m, d)) = crate::detect::validators::dates::parse_date(matched) {
            let date = y * 10_000 + m * 100 + d;
            self.birth_min = Some(self.birth_min.map_or(date, |x| x.min(date)));
            self.birth_max = Some(self.birth_max.map_or(date, |x| x.max(date)));
        }
    }

    /// The share of distinct values that are names.
    pub(crate) fn name_share(&self) -> f64 {
        self.name_distinct.len() as f64 / self.distinct.len().max(1) as f64
    }

    /// True when the birth dates spread over enough years for `matched` sampled dates.
    pub(crate) fn birth_spread(&self, matched: u64) -> bool {
        let (Some(lo), Some(hi)) = (self.birth_min, self.birth_max) else {
            return false;
        };
        let years = (hi - lo) / 10_000;
        let need = if matched >= 10 { BIRTH_SPREAD_YEARS } else { 2 };
        years >= need
    }
}

/// The rule of a phone column decided by its name and its values' shape (7-15 digit numbers).
pub const NAME_AND_SHAPE: &str = "name + shape";

/// The rule that made a category personal: `values` or `name + values`.
pub(crate) fn rule(weak_decided: bool, hint: bool) -> &'static str {
    if weak_decided && hint {
        "name + values"
    } else {
        "values"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the distinct values remembered, the share is still that of the values counted:
    /// half of them names here, however many more values come.
    #[test]
    fn the_name_share_stays_true_past_the_distinct_values_remembered() {
        let mut r = RuleState::default();
        for i in 0..3 * MAX_DISTINCT {
            let v = format!("value {i}");
            r.value(v.as_bytes());
            if i % 2 == 0 {
                r.name(v.as_bytes());
            }
        }
        assert_eq!(r.distinct.len(), MAX_DISTINCT);
        let share = r.name_share();
        assert!((0.49..=0.51).contains(&share), "{share}");
    }
}
