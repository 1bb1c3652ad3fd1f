//! `timestamp_format`: how a policy's `timestamp_column` holds time when it is not a date/time
//! type: `unix_seconds`, `unix_millis`, `julian_day`, or a chrono-style format of fixed-width text
//! such as `"%d/%m/%Y"`.

use std::fmt;

/// A parsed `timestamp_format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Seconds since 1970-01-01 UTC.
    UnixSeconds,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMillis,
    /// Julian day number (days since noon UTC, 24 November 4714 BC; what SQLite `julianday()` writes).
    JulianDay,
    /// Fixed-width text in UTC, read by position.
    Text(TextFormat),
}

/// One numeric field of a text clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `%Y`: four digits.
    Year,
    /// `%m`: two digits, 01-12.
    Month,
    /// `%d`: two digits, 01-31.
    Day,
    /// `%H`: two digits, 00-23.
    Hour,
    /// `%M`: two digits, 00-59.
    Minute,
    /// `%S`: two digits, 00-59.
    Second,
}

impl Field {
    /// The digits the field occupies.
    pub fn width(self) -> usize {
        match self {
            Field::Year => 4,
            _ => 2,
        }
    }
}

/// A piece of a text format: a field or a literal character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A fixed-width numeric field.
    Field(Field),
    /// A character that must appear as written.
    Literal(char),
}

/// A text clock format: fixed-width numeric fields (`%Y %m %d %H %M %S`) and literal characters,
/// so every field sits at a known character position. Year, month and day are required; missing
/// time fields read as 00. Values are UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFormat {
    /// The format as written in the config.
    pub source: String,
    /// Its pieces in order.
    pub pieces: Vec<Piece>,
}

impl TextFormat {
    /// The length of a matching value, in characters.
    pub fn width(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Field(f) => f.width(),
                Piece::Literal(_) => 1,
            })
            .sum()
    }

    /// The 1-based character position of `field`, or `None` when the format has no such field.
    pub fn position(&self, field: Field) -> Option<usize> {
        let mut pos = 1;
        for p in &self.pieces {
            match p {
                Piece::Field(f) if *f == field => return Some(pos),
                Piece::Field(f) => pos += f.width(),
                Piece::Literal(_) => pos += 1,
            }
        }
        None
    }

    /// True when `value` has the format's shape: digits where fields are, literals as written,
    /// nothing more (field ranges are not checked). The SQL shape check does the same per row.
    pub fn matches_shape(&self, value: &str) -> bool {
        let mut chars = value.chars();
        for p in &self.pieces {
            match p {
                Piece::Field(f) => {
                    for _ in 0..f.width() {
                        if !chars.next().is_some_and(|c| c.is_ascii_digit()) {
                            return false;
                        }
                    }
                }
                Piece::Literal(l) => {
                    if chars.next() != Some(*l) {
                        return false;
                    }
                }
            }
        }
        chars.next().is_none()
    }
}

impl TimestampFormat {
    /// Parses `unix_seconds`, `unix_millis`, `julian_day` or a text format. Text formats accept
    /// `%Y %m %d %H %M %S` (each at most once; `%Y %m %d` required), `%%` and literal characters;
    /// other specifiers are refused because their width varies.
    pub fn parse(s: &str) -> Result<TimestampFormat, String> {
        match s {
            "unix_seconds" => return Ok(TimestampFormat::UnixSeconds),
            "unix_millis" => return Ok(TimestampFormat::UnixMillis),
            "julian_day" => return Ok(TimestampFormat::JulianDay),
            _ => {}
        }
        if !s.contains('%') {
            return Err(format!(
                "`{s}` is not a timestamp format: write \"unix_seconds\", \"unix_millis\", \
                 \"julian_day\" or a text format such as \"%d/%m/%Y\""
            ));
        }
        let mut pieces = Vec::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                pieces.push(Piece::Literal(c));
                continue;
            }
            let field = match chars.next() {
                Some('Y') => Field::Year,
                Some('m') => Field::Month,
                Some('d') => Field::Day,
                Some('H') => Field::Hour,
                Some('M') => Field::Minute,
                Some('S') => Field::Second,
                Some('%') => {
                    pieces.push(Piece::Literal('%'));
                    continue;
                }
                Some(other) => {
                    return Err(format!(
                        "timestamp format `{s}`: %{other} is not supported; text clocks are read by \
                         position, so only the fixed-width %Y %m %d %H %M %S and literal characters \
                         are allowed (write e.g. \"%d/%m/%Y %H:%M\")"
                    ))
                }
                None => {
                    return Err(format!(
                        "timestamp format `{s}` ends with a lone %: write %% for a percent sign"
                    ))
                }
            };
            if pieces.contains(&Piece::Field(field)) {
                return Err(format!("timestamp format `{s}` has {} twice", spec(field)));
            }
            pieces.push(Piece::Field(field));
        }
        let fmt = TextFormat {
            source: s.to_string(),
            pieces,
        };
        for f in [Field::Year, Field::Month, Field::Day] {
            if fmt.position(f).is_none() {
                return Err(format!(
                    "timestamp format `{s}` has no {}: a clock needs the year, month and day (%Y, %m, %d)",
                    spec(f)
                ));
            }
        }
        if fmt.position(Field::Second).is_some() && fmt.position(Field::Minute).is_none()
            || fmt.position(Field::Minute).is_some() && fmt.position(Field::Hour).is_none()
        {
            return Err(format!(
                "timestamp format `{s}`: a time needs the hour before minutes and seconds (%H, %M, %S)"
            ));
        }
        Ok(TimestampFormat::Text(fmt))
    }
}

fn spec(f: Field) -> &'static str {
    match f {
        Field::Year => "%Y",
        Field::Month => "%m",
        Field::Day => "%d",
        Field::Hour => "%H",
        Field::Minute => "%M",
        Field::Second => "%S",
    }
}

impl fmt::Display for TimestampFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampFormat::UnixSeconds => f.write_str("unix_seconds"),
            TimestampFormat::UnixMillis => f.write_str("unix_millis"),
            TimestampFormat::JulianDay => f.write_str("julian_day"),
            TimestampFormat::Text(t) => f.write_str(&t.source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> TextFormat {
        match TimestampFormat::parse(s).unwrap() {
            TimestampFormat::Text(t) => t,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn named_formats() {
        assert_eq!(
            TimestampFormat::parse("unix_seconds").unwrap(),
            TimestampFormat::UnixSeconds
        );
        assert_eq!(
            TimestampFormat::parse("unix_millis").unwrap(),
            TimestampFormat::UnixMillis
        );
        assert_eq!(
            TimestampFormat::parse("julian_day").unwrap(),
            TimestampFormat::JulianDay
        );
        for bad in ["", "unix", "millis", "Unix_Seconds", "epoch"] {
            let e = TimestampFormat::parse(bad).unwrap_err();
            assert!(e.contains("unix_seconds") && e.contains("%d/%m/%Y"), "{e}");
        }
    }

    #[test]
    fn text_formats_have_fixed_positions() {
        let t = text("%d/%m/%Y");
        assert_eq!(t.width(), 10);
        assert_eq!(t.position(Field::Day), Some(1));
        assert_eq!(t.position(Field::Month), Some(4));
        assert_eq!(t.position(Field::Year), Some(7));
        assert_eq!(t.position(Field::Hour), None);
        let t = text("%Y%m%d%H%M%S");
        assert_eq!(t.width(), 14);
        assert_eq!(t.position(Field::Second), Some(13));
        let t = text("%Y年%m月%d日 %H:%M");
        assert_eq!(t.width(), 17);
        assert_eq!(t.position(Field::Month), Some(6));
        assert_eq!(t.position(Field::Minute), Some(16));
        let t = text("%%%Y-%m-%d");
        assert_eq!(t.position(Field::Year), Some(2));
        assert_eq!(t.to_owned().source, "%%%Y-%m-%d");
    }

    #[test]
    fn shape_matches_what_chrono_parses() {
        let t = text("%d/%m/%Y");
        for ok in ["12/03/2024", "01/01/1999"] {
            assert!(t.matches_shape(ok), "{ok}");
            assert!(chrono::NaiveDate::parse_from_str(ok, "%d/%m/%Y").is_ok());
        }
        for bad in [
            "",
            "12/3/2024",
            "12-03-2024",
            "2024/03/12",
            "12/03/2024 ",
            "1a/03/2024",
            "garbage",
            "12/03/20245",
            "１２/03/2024",
        ] {
            assert!(!t.matches_shape(bad), "{bad}");
        }
    }

    #[test]
    fn variable_width_and_incomplete_formats_are_refused() {
        for (bad, needle) in [
            ("%d/%m/%y", "%y is not supported"),
            ("%e/%m/%Y", "%e is not supported"),
            ("%Y-%m-%dT%H:%M:%S%z", "%z is not supported"),
            ("%s", "%s is not supported"),
            ("%b %d %Y", "%b is not supported"),
            ("%Y-%m-%d %", "lone %"),
            ("%m/%Y", "has no %d"),
            ("%Y-%m-%d %Y", "%Y twice"),
            ("%Y-%m-%d %M:%S", "hour before"),
        ] {
            let e = TimestampFormat::parse(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
