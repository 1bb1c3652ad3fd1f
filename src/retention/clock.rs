//! The retention clock of a policy: how its `timestamp_column` holds time (a date/time type, or
//! what `timestamp_format` declares), refused at preflight when neither says, and the SQL deciding
//! whether a row's clock is valid and before the cutoff.

use chrono::{DateTime, Utc};

use super::sql::Stmt;
use crate::config::clock::TextFormat;
use crate::config::{PolicyConfig, TimestampFormat};
use crate::sources::{julian_day, text_cutoff, Bind, ClockType, ColumnInfo, Dialect};

/// A numeric clock unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Millis,
    /// Julian day number.
    JulianDay,
}

/// How a policy's clock column is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Clock {
    /// A date/time column (PostgreSQL, MySQL): compared as an instant; NULL, zero dates and
    /// infinities are not valid clocks.
    Date,
    /// SQLite's own date forms (ISO-8601 text, REAL julian days) read by `julianday()`.
    SqliteDate,
    /// A number in `unit`; `integer` when the column holds integers (the threshold is rounded up,
    /// so the comparison stays exact and index-friendly).
    Number {
        /// The unit.
        unit: NumberUnit,
        /// The column is an integer type.
        integer: bool,
    },
    /// Fixed-width text in a declared format, read by position, in UTC.
    Text(TextFormat),
    /// No clock: a policy without `timestamp_column` (allowed only with `retain = "0d"`), every
    /// row matching the filter is due.
    Always,
}

fn type_hint(t: ClockType) -> &'static str {
    match t {
        ClockType::Integer => {
            "declare how it holds time: timestamp_format = \"unix_seconds\" or \"unix_millis\""
        }
        ClockType::Decimal => {
            "declare how it holds time: timestamp_format = \"unix_seconds\", \"unix_millis\" or \"julian_day\""
        }
        ClockType::Text => {
            "declare the text's format: timestamp_format = \"%d/%m/%Y\" (for 31/12/2025), \
             \"%Y-%m-%d %H:%M:%S\", ... (%Y %m %d %H %M %S and literal characters)"
        }
        _ => "use a date/time column as the retention clock",
    }
}

impl Clock {
    /// The clock of `ts` under `policy` on `dialect`, or the refusal (naming the column and its
    /// type and saying which `timestamp_format` to add) without the policy prefix.
    pub fn classify(
        dialect: Dialect,
        policy: &PolicyConfig,
        table: &str,
        ts: &ColumnInfo,
    ) -> Result<Clock, String> {
        let kind = dialect.clock_type(&ts.sql_type);
        let what = format!(
            "timestamp_column `{}` of {table} has type {}",
            ts.name,
            if ts.sql_type.is_empty() {
                "(none)"
            } else {
                &ts.sql_type
            }
        );
        let format = match &policy.timestamp_format {
            None => None,
            Some(f) => {
                Some(TimestampFormat::parse(f).map_err(|e| format!("timestamp_format: {e}"))?)
            }
        };
        let Some(format) = format else {
            return match kind {
                ClockType::Date => Ok(Clock::Date),
                ClockType::SqliteDate => Ok(Clock::SqliteDate),
                other => Err(format!(
                    "{what}, which is not a date/time type, so its values cannot be read as times: {}",
                    type_hint(other)
                )),
            };
        };
        let unit = match &format {
            TimestampFormat::UnixSeconds => Some(NumberUnit::Seconds),
            TimestampFormat::UnixMillis => Some(NumberUnit::Millis),
            TimestampFormat::JulianDay => Some(NumberUnit::JulianDay),
            TimestampFormat::Text(_) => None,
        };
        match (kind, unit, format) {
            (ClockType::Date, _, f) => Err(format!(
                "{what}, a date/time type, which is read as a date: remove timestamp_format = \"{f}\""
            )),
            (ClockType::Integer | ClockType::Decimal | ClockType::SqliteDate, Some(unit), _) => {
                Ok(Clock::Number {
                    unit,
                    integer: kind == ClockType::Integer,
                })
            }
            (ClockType::Text | ClockType::SqliteDate, None, TimestampFormat::Text(t)) => {
                Ok(Clock::Text(t))
            }
            (_, Some(_), f) => Err(format!(
                "{what}; timestamp_format = \"{f}\" reads numbers: use a numeric column, or {}",
                type_hint(kind)
            )),
            (_, None, f) => Err(format!(
                "{what}; timestamp_format = \"{f}\" reads text: {}",
                type_hint(kind)
            )),
        }
    }

    /// Appends the condition "the clock `col` (quoted) is valid": not NULL, not a zero date, not
    /// infinite, parsable in its format, within years 0001-9999.
    pub fn push_valid(&self, dialect: Dialect, col: &str, q: &mut Stmt) {
        match self {
            Clock::Date | Clock::SqliteDate => {
                q.push(&dialect.clock_date_valid(col));
            }
            Clock::Number { unit, .. } => {
                // The first instant of year 10000, in the unit.
                let max = match unit {
                    NumberUnit::Seconds => "253402300800",
                    NumberUnit::Millis => "253402300800000",
                    NumberUnit::JulianDay => "5373484.5",
                };
                q.push(&dialect.clock_number_valid(col, max));
            }
            Clock::Text(f) => {
                q.binds.push(Bind::Text(dialect.clock_text_pattern(f)));
                let sql = dialect.clock_text_valid(col, f, q.binds.len());
                q.push(&sql);
            }
            Clock::Always => {
                q.push("1 = 1");
            }
        }
    }

    /// Appends `col < cutoff` for this clock, the threshold computed here and bound.
    pub fn push_before(
        &self,
        dialect: Dialect,
        col: &str,
        sql_type: &str,
        cutoff: DateTime<Utc>,
        q: &mut Stmt,
    ) {
        match self {
            Clock::Date | Clock::SqliteDate => {
                let (sql, bind) = dialect.clock_date_before(col, sql_type, cutoff, q.next_index());
                q.binds.push(bind);
                q.push(&sql);
            }
            Clock::Number { unit, integer } => {
                let micros = cutoff.timestamp_micros();
                let bind = match (unit, integer) {
                    (NumberUnit::Seconds, true) => Bind::Int(ceil_div(micros, 1_000_000)),
                    (NumberUnit::Millis, true) => Bind::Int(ceil_div(micros, 1_000)),
                    (NumberUnit::Seconds, false) => Bind::Float(micros as f64 / 1e6),
                    (NumberUnit::Millis, false) => Bind::Float(micros as f64 / 1e3),
                    (NumberUnit::JulianDay, _) => Bind::Float(julian_day(cutoff)),
                };
                q.push(col).push(" < ").bind(bind);
            }
            Clock::Text(f) => {
                q.binds.push(Bind::Text(text_cutoff(cutoff)));
                let sql = dialect.clock_text_before(col, f, q.binds.len());
                q.push(&sql);
            }
            Clock::Always => {
                q.push("1 = 1");
            }
        }
    }
}

/// `a / b` rounded towards positive infinity (`b > 0`): an integer `x` is below the real `a / b`
/// exactly when it is below this.
fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Backend;

    fn policy(format: Option<&str>) -> PolicyConfig {
        let f = format
            .map(|f| format!("timestamp_format = \"{f}\"\n"))
            .unwrap_or_default();
        toml::from_str(&format!(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             timestamp_column = \"ts\"\nretain = \"1y\"\naction = \"delete\"\n{f}"
        ))
        .unwrap()
    }

    fn col(t: &str) -> ColumnInfo {
        ColumnInfo {
            name: "ts".into(),
            sql_type: t.into(),
            nullable: true,
            max_length: None,
        }
    }

    #[test]
    fn undeclared_non_dates_are_refused_with_the_format_to_add() {
        let pg = Dialect::new(Backend::Postgres);
        let my = Dialect::new(Backend::MySql);
        let lite = Dialect::new(Backend::Sqlite);
        let e = Clock::classify(pg, &policy(None), "public.t", &col("bigint")).unwrap_err();
        assert!(
            e.contains("`ts` of public.t has type bigint") && e.contains("unix_millis"),
            "{e}"
        );
        let e = Clock::classify(my, &policy(None), "db.t", &col("varchar(10)")).unwrap_err();
        assert!(e.contains("varchar(10)") && e.contains("%d/%m/%Y"), "{e}");
        let e = Clock::classify(lite, &policy(None), "main.t", &col("INTEGER")).unwrap_err();
        assert!(e.contains("unix_seconds"), "{e}");
        assert_eq!(
            Clock::classify(lite, &policy(None), "main.t", &col("REAL")),
            Ok(Clock::SqliteDate)
        );
        assert_eq!(
            Clock::classify(pg, &policy(None), "public.t", &col("date")),
            Ok(Clock::Date)
        );
        let e = Clock::classify(pg, &policy(None), "public.t", &col("interval")).unwrap_err();
        assert!(e.contains("use a date/time column"), "{e}");
    }

    #[test]
    fn declared_formats_must_fit_the_column() {
        let pg = Dialect::new(Backend::Postgres);
        let my = Dialect::new(Backend::MySql);
        let lite = Dialect::new(Backend::Sqlite);
        assert_eq!(
            Clock::classify(pg, &policy(Some("unix_millis")), "t", &col("bigint")),
            Ok(Clock::Number {
                unit: NumberUnit::Millis,
                integer: true
            })
        );
        assert!(matches!(
            Clock::classify(my, &policy(Some("%d/%m/%Y")), "t", &col("varchar(10)")),
            Ok(Clock::Text(_))
        ));
        assert!(matches!(
            Clock::classify(lite, &policy(Some("%d/%m/%Y")), "t", &col("TEXT")),
            Ok(Clock::Text(_))
        ));
        let e = Clock::classify(pg, &policy(Some("unix_seconds")), "t", &col("timestamptz"))
            .unwrap_err();
        assert!(e.contains("remove timestamp_format"), "{e}");
        let e = Clock::classify(my, &policy(Some("unix_seconds")), "t", &col("varchar(10)"))
            .unwrap_err();
        assert!(e.contains("reads numbers"), "{e}");
        let e = Clock::classify(my, &policy(Some("%Y%m%d")), "t", &col("int(11)")).unwrap_err();
        assert!(e.contains("reads text"), "{e}");
    }

    /// Every `$n` placeholder has a bind and every bind a placeholder.
    fn placeholders_match(q: &Stmt) {
        let max = q
            .sql
            .split('$')
            .skip(1)
            .filter_map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect::<String>()
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        assert_eq!(max, q.binds.len(), "{}", q.sql);
    }

    #[test]
    fn every_statement_excludes_invalid_clocks_with_its_own_binds() {
        use crate::retention::plan::Plan;
        use crate::sources::{TableInfo, TableKind, TableRef};
        let p: PolicyConfig = toml::from_str(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             timestamp_column = \"ts\"\nretain = \"1y\"\naction = \"delete\"\n\
             timestamp_format = \"%d/%m/%Y %H:%M\"\nfilter = \"1 = 1\"\n\
             holds = [{ column = \"id\", values = [\"9\"], reason = \"r\" }]",
        )
        .unwrap();
        let id = ColumnInfo {
            name: "id".into(),
            sql_type: "bigint".into(),
            nullable: false,
            max_length: None,
        };
        let table = TableInfo {
            table: TableRef {
                schema: "public".into(),
                name: "t".into(),
            },
            kind: TableKind::Table,
            columns: vec![id, col("character varying(20)")],
            primary_key: vec!["id".into()],
            unique_keys: vec![],
            foreign_keys: vec![],
            row_estimate: None,
            pages: None,
        };
        let plan = Plan::check(
            Dialect::new(Backend::Postgres),
            &p,
            table,
            vec![],
            Utc::now(),
        )
        .unwrap();
        let last = ["5".to_string()];
        let mut stmts = vec![
            plan.preflight_stmt(),
            plan.batch_in_one(Some(&last), 10),
            plan.batch_end(Some(&last), 10),
            plan.range_start(Some(&last)),
            plan.count_stmt(|p, q| p.push_invalid_clock(q)),
        ];
        stmts.extend(plan.delete_stmts(Some(&last), &["9".to_string()]));
        for q in &stmts {
            placeholders_match(q);
            assert!(q.sql.contains("\"ts\" ~ $"), "{}", q.sql);
            assert!(
                q.binds
                    .iter()
                    .any(|b| matches!(b, Bind::Text(t) if t.starts_with('^'))),
                "{}",
                q.sql
            );
        }
    }

    #[test]
    fn a_policy_without_a_clock_acts_on_every_row_matching_the_filter() {
        use crate::retention::plan::Plan;
        use crate::sources::{TableInfo, TableKind, TableRef, TriggerInfo};
        let p: PolicyConfig = toml::from_str(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             retain = \"0d\"\naction = \"nullify\"\ncolumns = [\"phone\"]\n\
             filter = \"status = 'closed'\"",
        )
        .unwrap();
        let id = ColumnInfo {
            name: "id".into(),
            sql_type: "bigint".into(),
            nullable: false,
            max_length: None,
        };
        let phone = ColumnInfo {
            name: "phone".into(),
            sql_type: "varchar(20)".into(),
            nullable: true,
            max_length: Some(20),
        };
        let table = TableInfo {
            table: TableRef {
                schema: "public".into(),
                name: "t".into(),
            },
            kind: TableKind::Table,
            columns: vec![id, phone],
            primary_key: vec!["id".into()],
            unique_keys: vec![],
            foreign_keys: vec![],
            row_estimate: None,
            pages: None,
        };
        let mut plan = Plan::check(
            Dialect::new(Backend::Postgres),
            &p,
            table,
            vec![],
            Utc::now(),
        )
        .unwrap();
        assert_eq!(plan.clock, Clock::Always);
        let mut q = Stmt::new(plan.dialect);
        plan.push_expired(&mut q);
        assert_eq!(q.sql, "(1 = 1 AND 1 = 1) AND (status = 'closed')");
        assert!(q.binds.is_empty());
        let invalid = plan.count_stmt(|p, q| p.push_invalid_clock(q));
        placeholders_match(&invalid);
        // No clock column, so no trigger can restart a retention period.
        plan.triggers = vec![TriggerInfo {
            name: "touch".into(),
            timing: "BEFORE".into(),
            events: vec!["UPDATE".into()],
            body: None,
        }];
        assert!(plan.trigger_warnings().is_empty());
    }

    #[test]
    fn integer_thresholds_round_up() {
        assert_eq!(ceil_div(1_500_000, 1_000_000), 2);
        assert_eq!(ceil_div(2_000_000, 1_000_000), 2);
        assert_eq!(ceil_div(-1_500_000, 1_000_000), -1);
    }
}
