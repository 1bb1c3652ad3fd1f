//! Retention periods (`90d`, `6w`, `3m`, `5y`) and durations (`30s`, `5m`, `1h`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Days, Months, Utc};

/// A retention period as written in a policy: a count of days, weeks, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retain {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: RetainUnit,
}

/// The unit of a [`Retain`] period. Months and years are calendar months (clamped to month ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainUnit {
    Days,
    Weeks,
    Months,
    Years,
}

/// The longest retention period, in years. Its cutoff stays within the dates every backend
/// compares (MySQL `DATETIME` starts at year 1000); each unit's limit is at most this long.
pub const MAX_RETAIN_YEARS: u32 = 1000;

impl Retain {
    /// The largest amount of `unit` allowed ([`MAX_RETAIN_YEARS`] or less).
    pub fn max_amount(unit: RetainUnit) -> u32 {
        match unit {
            RetainUnit::Days => 365_000,
            RetainUnit::Weeks => 52_000,
            RetainUnit::Months => MAX_RETAIN_YEARS * 12,
            RetainUnit::Years => MAX_RETAIN_YEARS,
        }
    }

    /// True for a zero period (`0d`): the cutoff is the run's start, so every row whose clock is
    /// valid and not in the future is due.
    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// Parses `90d`, `6w`, `3m` (months) or `5y`, at most [`MAX_RETAIN_YEARS`] long; `0d` (any
    /// unit) means "act now".
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.len().saturating_sub(1));
        let unit = match unit {
            "d" => RetainUnit::Days,
            "w" => RetainUnit::Weeks,
            "m" => RetainUnit::Months,
            "y" => RetainUnit::Years,
            _ => return Err(format!("`{s}` is not a retention period: write a number and d, w, m (months) or y, e.g. \"90d\"")),
        };
        let amount: u32 = num.parse().map_err(|_| {
            format!(
                "`{s}` is not a retention period: write a number and d, w, m or y, e.g. \"90d\""
            )
        })?;
        if amount > Retain::max_amount(unit) {
            return Err(format!(
                "`{s}` is longer than every database can compute a cutoff for: write at most \
                 {MAX_RETAIN_YEARS}y ({}m, {}w, {}d)",
                Retain::max_amount(RetainUnit::Months),
                Retain::max_amount(RetainUnit::Weeks),
                Retain::max_amount(RetainUnit::Days)
            ));
        }
        Ok(Retain { amount, unit })
    }

    /// The instant before which records have outlived the period, counted back from `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let n = self.amount;
        let back = match self.unit {
            RetainUnit::Days => now.checked_sub_days(Days::new(n.into())),
            RetainUnit::Weeks => now.checked_sub_days(Days::new(u64::from(n) * 7)),
            RetainUnit::Months => now.checked_sub_months(Months::new(n)),
            RetainUnit::Years => now.checked_sub_months(Months::new(n.saturating_mul(12))),
        };
        back.unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl fmt::Display for Retain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = match self.unit {
            RetainUnit::Days => "d",
            RetainUnit::Weeks => "w",
            RetainUnit::Months => "m",
            RetainUnit::Years => "y",
        };
        write!(f, "{}{u}", self.amount)
    }
}

/// Parses a duration such as `30s`, `500ms`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("`{s}` is not a duration ({e}): write e.g. \"30s\", \"500ms\" or \"5m\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_units_and_computes_calendar_cutoffs() {
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap();
        assert_eq!(
            Retain::parse("90d").unwrap().cutoff(now),
            now - chrono::Duration::days(90)
        );
        assert_eq!(
            Retain::parse("2w").unwrap().cutoff(now),
            now - chrono::Duration::days(14)
        );
        // 31 March minus one month clamps to 28 February.
        assert_eq!(
            Retain::parse("1m").unwrap().cutoff(now),
            Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap()
        );
        assert_eq!(
            Retain::parse("5y").unwrap().cutoff(now),
            Utc.with_ymd_and_hms(2021, 3, 31, 12, 0, 0).unwrap()
        );
        for bad in ["", "d", "90", "90x", "-1d", "1.5y"] {
            assert!(Retain::parse(bad).is_err(), "{bad}");
        }
        let zero = Retain::parse("0d").unwrap();
        assert!(zero.is_zero());
        assert_eq!(zero.cutoff(now), now, "0d acts on every row before now");
    }

    #[test]
    fn periods_are_bounded_to_cutoffs_every_backend_computes() {
        for ok in ["1000y", "12000m", "52000w", "365000d"] {
            let r = Retain::parse(ok).unwrap();
            // From any date this century the cutoff stays at or after year 1000.
            let now = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
            assert!(
                r.cutoff(now) >= Utc.with_ymd_and_hms(1000, 1, 1, 0, 0, 0).unwrap(),
                "{ok}"
            );
        }
        for bad in [
            "300000y",
            "1001y",
            "12001m",
            "52001w",
            "365001d",
            "4294967295d",
        ] {
            let e = Retain::parse(bad).unwrap_err();
            assert!(e.contains("at most 1000y"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("soon").is_err());
    }
}
