//! The dialect layer's retention-clock SQL (kept beside `dialect.rs`): which column types hold a
//! clock, when a row's clock is valid (not NULL, not a zero date, not infinite, parsable), and
//! comparisons with a threshold computed in Rust and bound as a parameter.

use chrono::{DateTime, Utc};

use super::dialect::is_integer_type;
use super::{Backend, Bind, Cmp, Dialect};
use crate::config::clock::{Field, Piece, TextFormat};

/// What a column's declared type can hold as a retention clock on its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockType {
    /// A date/time type (PostgreSQL `timestamp[tz]`/`date`, MySQL `DATETIME`/`TIMESTAMP`/`DATE`).
    Date,
    /// A SQLite column without INTEGER affinity: ISO-8601 text or REAL julian days, SQLite's own
    /// date forms.
    SqliteDate,
    /// An integer type (on SQLite: INTEGER affinity).
    Integer,
    /// A non-integer number (`numeric`, `decimal`, `real`, `double`, `float`).
    Decimal,
    /// A text type.
    Text,
    /// Anything else (`time`, `interval`, `year`, `boolean`, `json`, ...).
    Other,
}

/// The Julian day number of an instant (days since noon UTC, 24 November 4714 BC).
pub fn julian_day(t: DateTime<Utc>) -> f64 {
    t.timestamp_micros() as f64 / 86_400_000_000.0 + 2_440_587.5
}

impl Dialect {
    /// The clock type of a column's introspected `sql_type`.
    pub fn clock_type(&self, sql_type: &str) -> ClockType {
        let t = sql_type.trim().to_ascii_lowercase();
        let text = t.contains("char") || t.contains("text") || t.contains("clob");
        match self.backend() {
            Backend::Sqlite if t.contains("int") => ClockType::Integer,
            Backend::Sqlite => ClockType::SqliteDate,
            Backend::Postgres if t.starts_with("timestamp") || t == "date" => ClockType::Date,
            Backend::MySql
                if t.starts_with("datetime") || t.starts_with("timestamp") || t == "date" =>
            {
                ClockType::Date
            }
            _ if is_integer_type(&t) => ClockType::Integer,
            _ if ["numeric", "decimal", "real", "double", "float"]
                .iter()
                .any(|n| t.starts_with(n)) =>
            {
                ClockType::Decimal
            }
            _ if text => ClockType::Text,
            _ => ClockType::Other,
        }
    }

    /// True when the date column `col` (quoted) holds a real instant: not NULL, not a
    /// MySQL/MariaDB zero date (`0000-00-00`, or a zero month or day), not PostgreSQL `±infinity`;
    /// on SQLite ([`ClockType::SqliteDate`]), readable by `julianday()` (ISO-8601 text or a
    /// julian day number within years 0000-9999).
    pub fn clock_date_valid(&self, col: &str) -> String {
        match self.backend() {
            Backend::Postgres => format!("({col} IS NOT NULL AND isfinite({col}))"),
            Backend::MySql => {
                format!("({col} IS NOT NULL AND MONTH({col}) <> 0 AND DAYOFMONTH({col}) <> 0)")
            }
            Backend::Sqlite => format!("julianday({col}) IS NOT NULL"),
        }
    }

    /// `col < cutoff` for a date column, with the value to bind at placeholder `n`: the instant
    /// ([`Dialect::timestamp_compare`]) on PostgreSQL and MySQL, its julian day on SQLite (which
    /// reads ISO text and julian days alike through `julianday()`).
    pub fn clock_date_before(
        &self,
        col: &str,
        sql_type: &str,
        cutoff: DateTime<Utc>,
        n: usize,
    ) -> (String, Bind) {
        match self.backend() {
            Backend::Sqlite => (
                format!("julianday({col}) < ?"),
                Bind::Float(julian_day(cutoff)),
            ),
            Backend::Postgres | Backend::MySql => (
                self.timestamp_compare(col, sql_type, Cmp::Lt, n),
                Bind::Timestamp(cutoff),
            ),
        }
    }

    /// True when the numeric clock `col` holds a number in `(0, max)` (on SQLite also: stored as
    /// an integer or a real, not text). `max` is a numeric SQL literal.
    pub fn clock_number_valid(&self, col: &str, max: &str) -> String {
        match self.backend() {
            Backend::Sqlite => {
                format!("(typeof({col}) IN ('integer', 'real') AND {col} > 0 AND {col} < {max})")
            }
            Backend::Postgres | Backend::MySql => format!("({col} > 0 AND {col} < {max})"),
        }
    }

    /// True when the text clock `col` has `fmt`'s shape (length, digits where fields are, the
    /// literals) and its fields are in range (month 01-12, day 01-31 by month with 29 in
    /// February, hour 00-23, minute and second 00-59, year not 0000). The pattern
    /// ([`Dialect::clock_text_pattern`]) is bound at placeholder `n`.
    pub fn clock_text_valid(&self, col: &str, fmt: &TextFormat, n: usize) -> String {
        let len = match self.backend() {
            Backend::Postgres => format!("char_length({col})"),
            Backend::MySql => format!("CHAR_LENGTH({col})"),
            Backend::Sqlite => format!("length({col})"),
        };
        let shape = match self.backend() {
            Backend::Postgres => format!("{col} ~ ${n}"),
            Backend::MySql => format!("{col} REGEXP ?"),
            Backend::Sqlite => format!("{col} GLOB ?"),
        };
        let mut out = format!("({len} = {} AND {shape}", fmt.width());
        let f = |field: Field| {
            fmt.position(field)
                .map(|p| self.clock_substr(col, p, field))
        };
        let (y, m, d) = (f(Field::Year), f(Field::Month), f(Field::Day));
        if let Some(y) = y {
            out.push_str(&format!(" AND {y} <> '0000'"));
        }
        if let (Some(m), Some(d)) = (m, d) {
            out.push_str(&format!(
                " AND {m} BETWEEN '01' AND '12' AND ({d} BETWEEN '01' AND '29' \
                 OR {d} = '30' AND {m} <> '02' \
                 OR {d} = '31' AND {m} IN ('01', '03', '05', '07', '08', '10', '12'))"
            ));
        }
        for (field, max) in [
            (Field::Hour, "23"),
            (Field::Minute, "59"),
            (Field::Second, "59"),
        ] {
            if let Some(e) = f(field) {
                out.push_str(&format!(" AND {e} <= '{max}'"));
            }
        }
        out.push(')');
        out
    }

    /// The pattern bound for [`Dialect::clock_text_valid`]: an anchored regular expression
    /// (PostgreSQL `~`, MySQL `REGEXP`) or a `GLOB` pattern (SQLite), digits where fields are.
    pub fn clock_text_pattern(&self, fmt: &TextFormat) -> String {
        let glob = self.backend() == Backend::Sqlite;
        let mut out = String::from(if glob { "" } else { "^" });
        for p in &fmt.pieces {
            match p {
                Piece::Field(f) if glob => out.push_str(&"[0-9]".repeat(f.width())),
                Piece::Field(f) => out.push_str(&format!("[0-9]{{{}}}", f.width())),
                Piece::Literal(c) if glob => match c {
                    '*' | '?' | '[' => out.push_str(&format!("[{c}]")),
                    _ => out.push(*c),
                },
                Piece::Literal(c) => {
                    if c.is_ascii_punctuation() {
                        out.push('\\');
                    }
                    out.push(*c);
                }
            }
        }
        if !glob {
            out.push('$');
        }
        out
    }

    /// `iso(col) < ?` for a text clock: the value rebuilt as `YYYY-MM-DD HH:MM:SS` from its fields
    /// (missing time fields read 00), compared byte-wise with the ISO cutoff bound at placeholder
    /// `n` ([`text_cutoff`]).
    pub fn clock_text_before(&self, col: &str, fmt: &TextFormat, n: usize) -> String {
        let part = |field: Field| match fmt.position(field) {
            Some(p) => self.clock_substr(col, p, field),
            None => "'00'".to_string(),
        };
        let parts = [
            part(Field::Year),
            "'-'".into(),
            part(Field::Month),
            "'-'".into(),
            part(Field::Day),
            "' '".into(),
            part(Field::Hour),
            "':'".into(),
            part(Field::Minute),
            "':'".into(),
            part(Field::Second),
        ];
        match self.backend() {
            Backend::Postgres => format!("({}) COLLATE \"C\" < ${n}", parts.join(" || ")),
            Backend::Sqlite => format!("({}) < ?", parts.join(" || ")),
            Backend::MySql => format!("CONCAT({}) < ?", parts.join(", ")),
        }
    }

    fn clock_substr(&self, col: &str, pos: usize, field: Field) -> String {
        format!("substr({col}, {pos}, {})", field.width())
    }
}

/// The cutoff as the ISO text [`Dialect::clock_text_before`] compares with, rounded up to the
/// second: text clocks hold whole seconds, and a whole second is before the cutoff exactly when it
/// is before the cutoff rounded up.
pub fn text_cutoff(cutoff: DateTime<Utc>) -> String {
    let whole = cutoff.timestamp();
    let up = if cutoff.timestamp_subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    DateTime::<Utc>::from_timestamp(up, 0)
        .unwrap_or(cutoff)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimestampFormat;
    use chrono::TimeZone;

    fn fmt(s: &str) -> TextFormat {
        match TimestampFormat::parse(s).unwrap() {
            TimestampFormat::Text(t) => t,
            _ => unreachable!(),
        }
    }

    #[test]
    fn clock_types_per_backend() {
        let pg = Dialect::new(Backend::Postgres);
        let my = Dialect::new(Backend::MySql);
        let lite = Dialect::new(Backend::Sqlite);
        assert_eq!(
            pg.clock_type("timestamp(3) with time zone"),
            ClockType::Date
        );
        assert_eq!(pg.clock_type("date"), ClockType::Date);
        assert_eq!(pg.clock_type("bigint"), ClockType::Integer);
        assert_eq!(pg.clock_type("double precision"), ClockType::Decimal);
        assert_eq!(pg.clock_type("character varying(20)"), ClockType::Text);
        assert_eq!(pg.clock_type("time without time zone"), ClockType::Other);
        assert_eq!(pg.clock_type("interval"), ClockType::Other);
        assert_eq!(my.clock_type("datetime(6)"), ClockType::Date);
        assert_eq!(my.clock_type("timestamp"), ClockType::Date);
        assert_eq!(my.clock_type("int(10) unsigned"), ClockType::Integer);
        assert_eq!(my.clock_type("decimal(16,3)"), ClockType::Decimal);
        assert_eq!(my.clock_type("varchar(10)"), ClockType::Text);
        assert_eq!(my.clock_type("year(4)"), ClockType::Other);
        assert_eq!(lite.clock_type("INTEGER"), ClockType::Integer);
        assert_eq!(lite.clock_type("BIGINT"), ClockType::Integer);
        for t in ["REAL", "TEXT", "", "DATETIME", "TIMESTAMP", "NUMERIC"] {
            assert_eq!(lite.clock_type(t), ClockType::SqliteDate, "{t}");
        }
    }

    #[test]
    fn text_patterns_escape_literals() {
        let f = fmt("%d/%m/%Y %H:%M");
        assert_eq!(
            Dialect::new(Backend::Postgres).clock_text_pattern(&f),
            "^[0-9]{2}\\/[0-9]{2}\\/[0-9]{4} [0-9]{2}\\:[0-9]{2}$"
        );
        assert_eq!(
            Dialect::new(Backend::Sqlite).clock_text_pattern(&fmt("%Y*%m?%d[")),
            "[0-9][0-9][0-9][0-9][*][0-9][0-9][?][0-9][0-9][[]"
        );
    }

    #[test]
    fn text_clocks_rebuild_iso_from_positions() {
        let f = fmt("%d/%m/%Y");
        let my = Dialect::new(Backend::MySql);
        assert_eq!(
            my.clock_text_before("`c`", &f, 1),
            "CONCAT(substr(`c`, 7, 4), '-', substr(`c`, 4, 2), '-', substr(`c`, 1, 2), ' ', '00', ':', '00', ':', '00') < ?"
        );
        let pg = Dialect::new(Backend::Postgres);
        assert!(pg
            .clock_text_before("c", &f, 3)
            .ends_with("COLLATE \"C\" < $3"));
        assert!(pg.clock_text_valid("c", &f, 2).contains("c ~ $2"));
        let cutoff = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(text_cutoff(cutoff), "2026-03-01 12:00:00");
        assert_eq!(
            text_cutoff(cutoff + chrono::Duration::microseconds(1)),
            "2026-03-01 12:00:01"
        );
    }

    #[test]
    fn julian_days() {
        let epoch = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(julian_day(epoch), 2_440_587.5);
        let y2k = Utc.with_ymd_and_hms(2000, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(julian_day(y2k), 2_451_545.0);
    }
}
