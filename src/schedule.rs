//! Cron expressions as DBAs write them (5 fields, Sunday = 0 or 7) or with seconds (6 fields),
//! translated for the `cron` crate, whose day-of-week numbering (1 = Sunday) and field count differ.
//!
//! Semantics follow Unix (Vixie) cron where the `cron` crate differs:
//!
//! - Day of month and day of week: when both are restricted (neither starts with `*`), a day
//!   matches when EITHER matches (`0 0 1 * 1` = the 1st and every Monday). When one of them starts
//!   with `*` (including `*/2`), both must match, which is the same as using the other alone.
//! - Time zones: fire times are computed on the wall clock of the zone and then placed on the
//!   time line. A wall time that does not exist (spring-forward gap) fires once, shifted later by the
//!   length of the gap (02:30 on a day that jumps from 02:00 to 03:00 fires at 03:30); a wall time
//!   that exists twice (fall-back repeat) fires once, at its first occurrence. So a daily retention
//!   run is neither skipped nor doubled on transition days.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Cron {
    expr: String,
    /// One schedule, or two (day-of-month, day-of-week) whose union is the Unix meaning.
    schedules: Vec<cron::Schedule>,
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Upper bound on wall-clock candidates examined per lookup (gaps and repeats need a few).
const MAX_CANDIDATES: usize = 1000;

impl Cron {
    /// Parses a 5-field (`min hour dom month dow`) or 6-field (`sec min hour dom month dow`) expression.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (sec, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(format!(
                    "has {n} fields; write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
                ))
            }
        };
        if fields.len() == 6 {
            check_field(sec, "second", 0, 59)?;
        }
        check_field(rest[0], "minute", 0, 59)?;
        check_field(rest[1], "hour", 0, 23)?;
        check_field(rest[2], "day-of-month", 1, 31)?;
        check_field(rest[3], "month", 1, 12)?;
        let dow = translate_dow(rest[4])?;
        let (min, hour, dom, month) = (rest[0], rest[1], rest[2], rest[3]);
        let build = |dom: &str, dow: &str| -> Result<cron::Schedule, String> {
            cron::Schedule::from_str(&format!("{sec} {min} {hour} {dom} {month} {dow}"))
                // The crate's error quotes its own 6-field expression and a caret before the
                // message; keep only the message, the caller shows the expression as written.
                .map_err(|e| {
                    let text = e.to_string();
                    text.lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or(&text)
                        .trim()
                        .to_string()
                })
        };
        let restricted = |f: &str| !f.starts_with('*') && f != "?";
        let schedules = if restricted(dom) && restricted(rest[4]) {
            vec![build(dom, "*")?, build("*", &dow)?]
        } else {
            vec![build(dom, &dow)?]
        };
        let cron = Cron {
            expr: expr.to_string(),
            schedules,
        };
        if cron.next_wall_after(Utc::now().naive_utc()).is_none() {
            return Err("never fires".into());
        }
        Ok(cron)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// The first fire time strictly after `after`, in `after`'s time zone (wall-clock semantics, see
    /// the module documentation).
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.next_fire(after, None)
    }

    /// Like [`Cron::next_after`], and also later on the wall clock than `done_wall`, the wall time
    /// of the last fire. The scheduler passes it so that a wall time that repeats (fall back) or a
    /// restart during the repeated hour never fires a second time.
    pub fn next_fire<Tz: TimeZone>(
        &self,
        after: &DateTime<Tz>,
        done_wall: Option<NaiveDateTime>,
    ) -> Option<DateTime<Tz>> {
        let tz = after.timezone();
        let mut wall = after.naive_local();
        if let Some(done) = done_wall {
            wall = wall.max(done);
        }
        for _ in 0..MAX_CANDIDATES {
            wall = self.next_wall_after(wall)?;
            let instant = match tz.from_local_datetime(&wall) {
                LocalResult::Single(t) => Some(t),
                LocalResult::Ambiguous(first, second) => {
                    if first > *after {
                        Some(first)
                    } else {
                        Some(second)
                    }
                }
                LocalResult::None => shift_past_gap(&tz, wall),
            };
            if let Some(t) = instant.filter(|t| t > after) {
                return Some(t);
            }
        }
        None
    }

    /// The next matching wall-clock time strictly after `wall` (no time zone involved).
    pub fn next_wall_after(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        let as_utc = Utc.from_utc_datetime(&wall);
        self.schedules
            .iter()
            .filter_map(|s| s.after(&as_utc).next())
            .min()
            .map(|t| t.naive_utc())
    }
}

/// Places a wall time that falls into a gap: later by the length of the gap, i.e. read with the
/// offset in force before the transition.
fn shift_past_gap<Tz: TimeZone>(tz: &Tz, wall: NaiveDateTime) -> Option<DateTime<Tz>> {
    // Gaps are at most a few hours (usually one); the offset before the gap is the one in force
    // a day earlier on the same wall clock, which is unambiguous in practice.
    let before = wall - chrono::Duration::days(1);
    let offset = tz.offset_from_local_datetime(&before).earliest()?;
    let utc = wall - chrono::Duration::seconds(offset.fix().local_minus_utc() as i64);
    Some(tz.from_utc_datetime(&utc))
}

/// Checks the numbers of one field (`*`, `?`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n`, lists of them)
/// against the field's inclusive bounds, naming the field and the value as written. Names (`JAN`)
/// are left to the `cron` crate.
fn check_field(field: &str, name: &str, min: u32, max: u32) -> Result<(), String> {
    let out_of_range = |v: &str| format!("{name} `{v}` is out of range: write {min}-{max}");
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(s) = step {
            match s.parse::<u32>() {
                Ok(0) | Err(_) => {
                    return Err(format!("{name} step `{s}` is not a number of at least 1"))
                }
                Ok(_) => {}
            }
        }
        if range == "*" || range == "?" {
            continue;
        }
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        for v in [lo, hi] {
            if v.is_empty() {
                return Err(format!("{name} `{item}` is not a value, a range or a step"));
            }
            if v.bytes().all(|b| b.is_ascii_digit()) {
                match v.parse::<u32>() {
                    Ok(n) if (min..=max).contains(&n) => {}
                    _ => return Err(out_of_range(v)),
                }
            } else if name != "month" {
                // Only months have names (JAN-DEC, checked by the crate).
                return Err(format!("{name} `{v}` is not a number: write {min}-{max}"));
            }
        }
        if let (Ok(a), Ok(b)) = (lo.parse::<u32>(), hi.parse::<u32>()) {
            if a > b {
                return Err(format!("{name} range `{range}` runs backwards"));
            }
        }
    }
    Ok(())
}

/// Translates a Unix day-of-week field (0-7, Sunday 0 or 7, names, ranges, steps) into day names.
fn translate_dow(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .map_err(|_| format!("bad step `{s}` in day-of-week"))?,
            ),
            None => (item, 1),
        };
        if step == 0 {
            return Err("day-of-week step must be at least 1".into());
        }
        let (lo, hi) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (day_number(a)?, day_number(b)?),
                None => {
                    let d = day_number(r)?;
                    (d, if step > 1 { 6 } else { d })
                }
            },
        };
        if lo > hi {
            return Err(format!("day-of-week range `{range}` runs backwards"));
        }
        for d in (lo..=hi).step_by(step) {
            days[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&d| days[d]).map(|d| DAY_NAMES[d]).collect();
    Ok(names.join(","))
}

fn day_number(s: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!("day-of-week `{n}` is not 0-7"))
        };
    }
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("day-of-week `{s}` is not 0-7 or SUN-SAT"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Utc};

    #[test]
    fn five_fields_fire_on_the_minute() {
        let c = Cron::parse("0 3 * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let n = c.next_after(&t).unwrap();
        assert_eq!((n.day(), n.hour(), n.minute(), n.second()), (2, 3, 0, 0));
    }

    #[test]
    fn sunday_is_zero_or_seven() {
        let fri = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        for e in ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun"] {
            let n = Cron::parse(e).unwrap().next_after(&fri).unwrap();
            assert_eq!(n.weekday(), chrono::Weekday::Sun, "{e}");
        }
        let n = Cron::parse("0 0 * * 1-5")
            .unwrap()
            .next_after(&fri)
            .unwrap();
        assert_eq!(n.weekday(), chrono::Weekday::Mon);
    }

    #[test]
    fn six_fields_have_seconds_and_bad_ones_fail() {
        assert!(Cron::parse("*/5 * * * * *").is_ok());
        assert!(Cron::parse("0 3 * *").is_err());
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("0 0 * * 8").is_err());
    }

    #[test]
    fn out_of_range_fields_name_the_bounds_and_never_the_internal_form() {
        for (expr, want) in [
            ("60 * * * *", "minute `60` is out of range: write 0-59"),
            ("0 24 * * *", "hour `24` is out of range: write 0-23"),
            (
                "0 0 32 * *",
                "day-of-month `32` is out of range: write 1-31",
            ),
            ("0 0 0 * *", "day-of-month `0` is out of range: write 1-31"),
            (
                "0 0 1-40 * *",
                "day-of-month `40` is out of range: write 1-31",
            ),
            ("0 0 * 13 *", "month `13` is out of range: write 1-12"),
            ("60 0 0 * * *", "second `60` is out of range: write 0-59"),
            (
                "*/0 * * * *",
                "minute step `0` is not a number of at least 1",
            ),
        ] {
            let e = Cron::parse(expr).unwrap_err();
            assert_eq!(e, want, "{expr}");
        }
        // The largest value of each field is accepted.
        assert!(Cron::parse("59 23 31 12 7").is_ok());
        assert!(Cron::parse("59 59 23 31 12 *").is_ok());
        // Errors the crate reports are shown without its 6-field form.
        assert_eq!(
            Cron::parse("x * * * *").unwrap_err(),
            "minute `x` is not a number: write 0-59"
        );
        let e = Cron::parse("0 0 * FOO *").unwrap_err();
        assert!(!e.contains("0 0 0 * FOO"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(Cron::parse("0 0 1 JAN,jul *").is_ok());
    }

    #[test]
    fn ranges_and_lists_in_every_field() {
        let c = Cron::parse("0 5-7 * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 6, 30, 0).unwrap();
        assert_eq!(c.next_after(&t).unwrap().hour(), 7);
        let n = c
            .next_after(&Utc.with_ymd_and_hms(2026, 1, 1, 7, 0, 0).unwrap())
            .unwrap();
        assert_eq!((n.day(), n.hour()), (2, 5));
        // Day-of-week range that ends on Sunday written as 7: Fri, Sat, Sun.
        let c = Cron::parse("0 0 * * 5-7").unwrap();
        let mon = Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap();
        let days: Vec<_> = std::iter::successors(c.next_after(&mon), |d| c.next_after(d))
            .take(4)
            .map(|d| d.weekday())
            .collect();
        use chrono::Weekday::*;
        assert_eq!(days, vec![Fri, Sat, Sun, Fri]);
        assert!(Cron::parse("0 0 * * 6-2").is_err(), "backwards range");
    }

    #[test]
    fn day_of_month_and_day_of_week_are_ored_when_both_restricted() {
        // 1st of the month OR Monday (Unix cron), not "a Monday that is the 1st".
        let c = Cron::parse("0 0 1 * 1").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap(); // Tuesday 2 June
        let fires: Vec<_> = std::iter::successors(c.next_after(&t), |d| c.next_after(d))
            .take(5)
            .map(|d| (d.month(), d.day()))
            .collect();
        assert_eq!(fires, vec![(6, 8), (6, 15), (6, 22), (6, 29), (7, 1)]);
        // A `*`-prefixed field is unrestricted: then both must match (same as the other alone).
        let c = Cron::parse("0 0 */2 * 1").unwrap();
        let n = c.next_after(&t).unwrap();
        assert_eq!(
            (n.month(), n.day()),
            (6, 15),
            "first odd-numbered Monday after 2 June"
        );
    }

    fn ny(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<chrono_tz::Tz> {
        chrono_tz::America::New_York
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .earliest()
            .unwrap()
    }

    #[test]
    fn spring_forward_gap_fires_once_shifted_by_the_gap() {
        // 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT; 02:30 does not exist.
        let c = Cron::parse("30 2 * * *").unwrap();
        let n = c.next_after(&ny(2026, 3, 7, 12, 0)).unwrap();
        assert_eq!(
            n.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap()
        );
        assert_eq!((n.day(), n.hour(), n.minute()), (8, 3, 30), "03:30 EDT");
        let next = c.next_after(&n).unwrap();
        assert_eq!(
            (next.day(), next.hour(), next.minute()),
            (9, 2, 30),
            "normal again the next day"
        );
        // Every minute: the wall clock jumps, nothing fires twice and times keep increasing.
        let c = Cron::parse("* * * * *").unwrap();
        let mut t = ny(2026, 3, 8, 1, 58);
        let mut seen = vec![];
        for _ in 0..4 {
            t = c.next_after(&t).unwrap();
            seen.push((t.hour(), t.minute()));
        }
        assert_eq!(seen, vec![(1, 59), (3, 0), (3, 1), (3, 2)]);
    }

    #[test]
    fn fall_back_repeat_fires_once() {
        // 2026-11-01: New York repeats 01:00-01:59 (EDT, then EST).
        let c = Cron::parse("30 1 * * *").unwrap();
        let first = c.next_after(&ny(2026, 10, 31, 12, 0)).unwrap();
        assert_eq!(
            first.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap(),
            "01:30 EDT"
        );
        let next = c.next_after(&first).unwrap();
        assert_eq!(
            next.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 2, 6, 30, 0).unwrap(),
            "next day, EST"
        );
        // A restart during the repeated hour, with the last fire known, does not fire again.
        let restart = chrono_tz::America::New_York.from_utc_datetime(
            &Utc.with_ymd_and_hms(2026, 11, 1, 6, 10, 0)
                .unwrap()
                .naive_utc(),
        ); // 01:10 EST, the second pass
        let n = c.next_fire(&restart, Some(first.naive_local())).unwrap();
        assert_eq!(n, next);
        // Without history the second pass is still a valid wall time after `restart`.
        let n = c.next_fire(&restart, None).unwrap();
        assert_eq!(
            n.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap()
        );
    }

    #[test]
    fn berlin_transitions_fire_every_day_exactly_once() {
        let berlin = chrono_tz::Europe::Berlin;
        // 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00.
        for (start, expr) in [
            ((2026, 3, 27), "30 2 * * *"),
            ((2026, 10, 23), "30 2 * * *"),
        ] {
            let c = Cron::parse(expr).unwrap();
            let mut t = berlin
                .with_ymd_and_hms(start.0, start.1, start.2, 12, 0, 0)
                .unwrap();
            let mut days = vec![];
            for _ in 0..4 {
                let n = c.next_after(&t).unwrap();
                assert!(n > t);
                days.push(n.day());
                t = n;
            }
            let d = start.2;
            assert_eq!(
                days,
                vec![d + 1, d + 2, d + 3, d + 4],
                "{expr} from {start:?}"
            );
        }
    }
}
