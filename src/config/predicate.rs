//! Checks the SQL predicates a DBA writes in a policy (`filter`, `legal_hold`): each must be one
//! boolean expression in the source's dialect, because datawarden places it inside `( … )` in
//! every statement of a run. Text that closes the parentheses (`a = 1) OR (b = 2`), a second
//! statement, or a comment that could hide the rest of a statement is refused before anything runs.

use sqlparser::ast::{Expr, Value};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::sources::Backend;

/// Ok when `sql` is a single boolean expression for `backend`; otherwise what is wrong, in words a
/// DBA can act on.
pub fn check_predicate(backend: Backend, sql: &str) -> Result<(), String> {
    let dialect: Box<dyn Dialect> = match backend {
        Backend::Postgres => Box::new(PostgreSqlDialect {}),
        Backend::MySql => Box::new(MySqlDialect {}),
        Backend::Sqlite => Box::new(SQLiteDialect {}),
    };
    if sql.trim().is_empty() {
        return Err(
            "is empty: write a condition such as status = 'closed', or remove the key".into(),
        );
    }
    let tokens = Tokenizer::new(dialect.as_ref(), sql)
        .tokenize()
        .map_err(|e| format!("is not valid SQL ({e})"))?;
    for t in &tokens {
        match t {
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                return Err(
                    "holds a comment (-- or /* */); remove it: the condition must be \
                            one expression"
                        .into(),
                )
            }
            Token::SemiColon => {
                return Err("holds `;`: write one condition, not statements".into());
            }
            _ => {}
        }
    }
    let mut parser = Parser::new(dialect.as_ref())
        .try_with_sql(sql)
        .map_err(|e| format!("is not valid SQL ({e})"))?;
    let expr = parser
        .parse_expr()
        .map_err(|e| format!("is not one SQL condition ({e})"))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let hint = if next.token == Token::RParen {
            ": a `)` closes more than was opened"
        } else {
            ""
        };
        return Err(format!(
            "is not one SQL condition: the expression ends before `{}`{hint}; datawarden puts it \
             inside ( … ) in every statement, so it must be a single boolean expression",
            next.token
        ));
    }
    if let Expr::Value(v) = &expr {
        if !matches!(v.value, Value::Boolean(_)) {
            return Err(format!(
                "is the value {expr}, not a condition: write e.g. status = 'closed'"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Backend; 3] = [Backend::Postgres, Backend::MySql, Backend::Sqlite];

    #[test]
    fn single_conditions_pass() {
        for b in ALL {
            for ok in [
                "status = 'closed'",
                "status IN ('closed', 'deleted') AND closed_at IS NOT NULL",
                "NOT EXISTS (SELECT 1 FROM login_log l WHERE l.member_id = ums_member.id)",
                "(a = 1) OR (b = 2)",
                "note LIKE '%--%'",
                "note = 'a;b'",
                "TRUE",
            ] {
                assert_eq!(check_predicate(b, ok), Ok(()), "{b:?}: {ok}");
            }
        }
    }

    #[test]
    fn escapes_statements_and_comments_are_refused() {
        for b in ALL {
            for bad in [
                "status = 'closed') OR (status = 'deleted'",
                "status = 'closed'; DELETE FROM members",
                "status = 'closed' -- and the rest",
                "status = 'closed' /* x */",
                "(status = 'closed'",
                "",
                "'closed'",
                "1",
            ] {
                let e = check_predicate(b, bad).expect_err(bad);
                assert!(!e.is_empty(), "{b:?}: {bad}");
            }
        }
        let e = check_predicate(Backend::Postgres, "a = 1) OR (b = 2").unwrap_err();
        assert!(e.contains("`)` closes more than was opened"), "{e}");
    }
}
