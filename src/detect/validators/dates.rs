//! Validators `birth_date` and `geo`: values whose shape is common (dates, decimals) and which
//! columns decide with a name hint.
//!
//! Birth dates: `YYYY-MM-DD` (also `/` and `.`), `YYYY年M月D日`, `YYYYMMDD`, `MM/DD/YYYY`, a
//! real calendar date with an age of 0-110 years at scan time; a time of day after it must be
//! midnight (a birth date stored as a timestamp), any other time makes it an event, not a birth.
//! Always weak (the detector file says so): a column needs a name hint (birth, dob, 生日, csrq)
//! and the column rule checks that the dates spread over years (see `classify`).
//! Geo: a `lat,lng` (or `lng,lat`) pair of decimals with at least 4 decimals, in range: strong;
//! a single such decimal (|x| <= 180): weak (latitude/longitude columns with a name hint).

use super::{num, valid_date, Ctx, Verdict};

/// The date in `s` as `(y, m, d)`, for the shapes the pattern finds.
pub fn parse_date(s: &[u8]) -> Option<(u32, u32, u32)> {
    let mut parts = [0u32; 3];
    let mut lens = [0usize; 3];
    let mut k = 0;
    let mut i = 0;
    while i < s.len() && k < 3 {
        let st = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            i += 1;
            continue;
        }
        parts[k] = num(&s[st..i]);
        lens[k] = i - st;
        k += 1;
    }
    match (k, lens) {
        (1, [8, _, _]) => Some((parts[0] / 10_000, parts[0] / 100 % 100, parts[0] % 100)),
        (3, [4, _, _]) => Some((parts[0], parts[1], parts[2])),
        (3, [_, _, 4]) => Some((parts[2], parts[0], parts[1])),
        _ => None,
    }
}

/// Validator `birth_date`.
pub fn check_birth(hay: &[u8], start: usize, end: usize, ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if start > 0 && (hay[start - 1].is_ascii_alphanumeric() || hay[start - 1] == b'-') {
        return super::reject_run(hay, start);
    }
    if hay.get(end).is_some_and(u8::is_ascii_digit) {
        return super::reject_run(hay, start);
    }
    let Some((y, m, d)) = parse_date(&hay[start..end]) else {
        return Verdict::Reject;
    };
    let date = y * 10_000 + m * 100 + d;
    if !valid_date(y, m, d) || date > ctx.today || date + 110 * 10_000 < ctx.today {
        return Verdict::Reject;
    }
    // A time after the date: only midnight (`00:00:00`, `.000`, `+08`, `Z`) keeps it a birth date.
    let mut e = end;
    if matches!(hay.get(e), Some(b' ' | b'T')) && hay.get(e + 1).is_some_and(u8::is_ascii_digit) {
        let t = e + 1;
        let mut j = t;
        while j < hay.len() && (hay[j].is_ascii_digit() || matches!(hay[j], b':' | b'.')) {
            j += 1;
        }
        if hay[t..j].iter().any(|&b| b.is_ascii_digit() && b != b'0') {
            return Verdict::Reject;
        }
        while j < hay.len()
            && (matches!(hay[j], b'+' | b'-' | b'Z' | b':') || hay[j].is_ascii_digit())
        {
            j += 1;
        }
        e = j;
    } else if hay.get(e).is_some_and(u8::is_ascii_alphabetic) {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end: e,
        weak: true,
    }
}

/// A decimal at `s` (`-`? digits `.` digits): its value and decimal count.
fn decimal(s: &[u8]) -> Option<(f64, usize)> {
    let t = std::str::from_utf8(s).ok()?;
    let dot = t.find('.')?;
    Some((t.parse().ok()?, t.len() - dot - 1))
}

/// Validator `geo`.
pub fn check_geo(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    let glued_before = start > 0
        && (hay[start - 1].is_ascii_alphanumeric() || matches!(hay[start - 1], b'.' | b'-' | b'_'));
    let glued_after = hay
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if glued_before || glued_after {
        return super::reject_run(hay, start);
    }
    let s = &hay[start..end];
    // Split a pair at its comma (ASCII or full-width).
    let comma = s
        .iter()
        .position(|&b| b == b',')
        .map(|i| (i, i + 1))
        .or_else(|| {
            s.windows(3)
                .position(|w| w == "，".as_bytes())
                .map(|i| (i, i + 3))
        });
    let trim = |x: &[u8]| -> Vec<u8> { x.iter().copied().filter(|b| *b != b' ').collect() };
    match comma {
        Some((a, b)) => {
            let (Some((x, dx)), Some((y, dy))) = (decimal(&trim(&s[..a])), decimal(&trim(&s[b..])))
            else {
                return Verdict::Reject;
            };
            let lat_lng = x.abs() <= 90.0 && y.abs() <= 180.0;
            let lng_lat = y.abs() <= 90.0 && x.abs() <= 180.0;
            if dx >= 4 && dy >= 4 && (lat_lng || lng_lat) && !(x == 0.0 && y == 0.0) {
                Verdict::Accept {
                    start,
                    end,
                    weak: false,
                }
            } else {
                Verdict::Reject
            }
        }
        None => match decimal(s) {
            Some((x, dx)) if dx >= 4 && x.abs() <= 180.0 && x != 0.0 => Verdict::Accept {
                start,
                end,
                weak: true,
            },
            _ => Verdict::Reject,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates() {
        let c = Ctx {
            today: 20261206,
            ..Ctx::now()
        };
        let ok = |s: &str| {
            matches!(
                check_birth(s.as_bytes(), 0, 10.min(s.len()), &c),
                Verdict::Accept { .. }
            )
        };
        assert!(ok("1990-03-07"));
        assert!(ok("1990-03-07 00:00:00"));
        assert!(!ok("2024-03-07 13:22:10"));
        assert!(!ok("1990-02-30"));
        assert!(!ok("1900-01-01"));
        assert!(!ok("2030-01-01"));
        assert_eq!(parse_date("1990年3月7日".as_bytes()), Some((1990, 3, 7)));
        assert_eq!(parse_date(b"03/07/1990"), Some((1990, 3, 7)));
        assert_eq!(parse_date(b"19900307"), Some((1990, 3, 7)));
    }

    #[test]
    fn geo() {
        let c = Ctx::now();
        let g = |s: &str| match check_geo(s.as_bytes(), 0, s.len(), &c) {
            Verdict::Accept { weak, .. } => Some(weak),
            _ => None,
        };
        assert_eq!(g("39.9042,116.4074"), Some(false));
        assert_eq!(g("116.407413, 39.904214"), Some(false));
        assert_eq!(g("39.9042"), Some(true));
        assert_eq!(g("39.90"), None);
        assert_eq!(g("200.12345,300.12345"), None);
    }
}
