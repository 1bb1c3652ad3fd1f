//! Which schemas and tables a scan covers: include/exclude globs (`*`, `?`) from the source config,
//! rendered into the introspection SQL (`LIKE` with escaping, SQLite `GLOB`) so that a server with
//! thousands of tables is never read in full. System schemas are always excluded.

use super::{Bind, Dialect, TableRef};
use crate::config::SourceConfig;

/// A table glob: `table` (any schema) or `schema.table`; `*` matches any run of characters, `?` one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableGlob {
    /// Schema glob, `None` for any schema.
    pub schema: Option<String>,
    /// Table-name glob.
    pub table: String,
}

impl TableGlob {
    /// Parses `table` or `schema.table` (split at the first dot).
    pub fn parse(s: &str) -> TableGlob {
        match s.split_once('.') {
            Some((schema, table)) => TableGlob {
                schema: Some(schema.to_string()),
                table: table.to_string(),
            },
            None => TableGlob {
                schema: None,
                table: s.to_string(),
            },
        }
    }

    /// True when the glob matches `t` (case-sensitive; used for `full_tables` and the like).
    pub fn matches(&self, t: &TableRef) -> bool {
        self.schema
            .as_deref()
            .is_none_or(|s| glob_match(s, &t.schema))
            && glob_match(&self.table, &t.name)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Star,
    One,
    Lit(char),
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut literal = false;
    for c in pattern.chars() {
        out.push(match c {
            '\u{1}' => {
                literal = true;
                continue;
            }
            '*' if !literal => Tok::Star,
            '?' if !literal => Tok::One,
            c => Tok::Lit(c),
        });
        literal = false;
    }
    out
}

/// Case-sensitive glob match with `*` and `?`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = tokens(pattern);
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Lit(c)) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == Tok::Star)
}

/// The schemas and tables to introspect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Schema globs to include (empty: every non-system schema).
    pub include_schemas: Vec<String>,
    /// Schema globs to exclude.
    pub exclude_schemas: Vec<String>,
    /// Table globs to include (empty: every table).
    pub include_tables: Vec<TableGlob>,
    /// Table globs to exclude.
    pub exclude_tables: Vec<TableGlob>,
}

impl Scope {
    /// Everything but system schemas.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// The scope written in a `[[sources]]` entry.
    pub fn from_config(cfg: &SourceConfig) -> Scope {
        Scope {
            include_schemas: cfg.include_schemas.clone(),
            exclude_schemas: cfg.exclude_schemas.clone(),
            include_tables: cfg
                .include_tables
                .iter()
                .map(|s| TableGlob::parse(s))
                .collect(),
            exclude_tables: cfg
                .exclude_tables
                .iter()
                .map(|s| TableGlob::parse(s))
                .collect(),
        }
    }

    /// Exactly one table (used by [`super::Source::table`]).
    pub fn exact(t: &TableRef) -> Scope {
        Scope {
            include_schemas: vec![escape_glob(&t.schema)],
            include_tables: vec![TableGlob {
                schema: None,
                table: escape_glob(&t.name),
            }],
            ..Scope::default()
        }
    }

    /// This scope restricted to the schema named `schema` exactly.
    pub fn in_schema(&self, schema: &str) -> Scope {
        Scope {
            include_schemas: vec![escape_glob(schema)],
            ..self.clone()
        }
    }

    /// True when the scope selects `t` (the same rules as the SQL filter, case-sensitive).
    pub fn matches(&self, t: &TableRef) -> bool {
        let schema_in = self.include_schemas.is_empty()
            || self
                .include_schemas
                .iter()
                .any(|g| glob_match(g, &t.schema));
        let schema_out = self
            .exclude_schemas
            .iter()
            .any(|g| glob_match(g, &t.schema));
        let table_in =
            self.include_tables.is_empty() || self.include_tables.iter().any(|g| g.matches(t));
        let table_out = self.exclude_tables.iter().any(|g| g.matches(t));
        schema_in && !schema_out && table_in && !table_out
    }

    /// Renders the scope as a SQL condition over `schema_expr` and `table_expr`, with placeholders
    /// numbered from `*next` (advanced past the ones used) and the pattern binds appended to `binds`.
    pub(crate) fn sql_filter(
        &self,
        d: &Dialect,
        schema_expr: &str,
        table_expr: &str,
        next: &mut usize,
        binds: &mut Vec<Bind>,
    ) -> String {
        let mut m = |expr: &str, glob: &str, binds: &mut Vec<Bind>| {
            let s = d.pattern_match(expr, *next);
            *next += 1;
            binds.push(Bind::Text(d.glob_pattern(glob)));
            s
        };
        let mut parts = vec!["1=1".to_string()];
        if !self.include_schemas.is_empty() {
            let ors: Vec<String> = self
                .include_schemas
                .iter()
                .map(|g| m(schema_expr, g, binds))
                .collect();
            parts.push(format!("({})", ors.join(" OR ")));
        }
        for g in &self.exclude_schemas {
            parts.push(format!("NOT ({})", m(schema_expr, g, binds)));
        }
        let mut table = |g: &TableGlob, binds: &mut Vec<Bind>| match &g.schema {
            Some(s) => format!(
                "({} AND {})",
                m(schema_expr, s, binds),
                m(table_expr, &g.table, binds)
            ),
            None => m(table_expr, &g.table, binds),
        };
        if !self.include_tables.is_empty() {
            let ors: Vec<String> = self
                .include_tables
                .iter()
                .map(|g| table(g, binds))
                .collect();
            parts.push(format!("({})", ors.join(" OR ")));
        }
        for g in &self.exclude_tables {
            parts.push(format!("NOT {}", table(g, binds)));
        }
        parts.push(d.not_system_schema(schema_expr));
        parts.join(" AND ")
    }
}

/// Marks `*` and `?` in a literal name so they match only themselves (see [`Dialect::glob_pattern`]).
fn escape_glob(name: &str) -> String {
    name.chars()
        .flat_map(|c| match c {
            '*' => vec!['\u{1}', '*'],
            '?' => vec!['\u{1}', '?'],
            c => vec![c],
        })
        .collect()
}

/// Converts a glob (where `\u{1}` marks the next `*`/`?` as literal) into a LIKE pattern with `!`
/// as escape character.
pub(crate) fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    let mut literal = false;
    for c in glob.chars() {
        match c {
            '\u{1}' => {
                literal = true;
                continue;
            }
            '*' if !literal => out.push('%'),
            '?' if !literal => out.push('_'),
            '%' | '_' | '!' => {
                out.push('!');
                out.push(c);
            }
            c => out.push(c),
        }
        literal = false;
    }
    out
}

/// Converts a glob into a SQLite GLOB pattern (`[` and literal `*`/`?` wrapped in a class).
pub(crate) fn glob_to_sqlite(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    let mut literal = false;
    for c in glob.chars() {
        match c {
            '\u{1}' => {
                literal = true;
                continue;
            }
            '*' | '?' if literal => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
        literal = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(schema: &str, name: &str) -> TableRef {
        TableRef {
            schema: schema.into(),
            name: name.into(),
        }
    }

    #[test]
    fn globs_match_star_and_question_mark() {
        assert!(glob_match("mem*", "members"));
        assert!(glob_match("*", ""));
        assert!(glob_match("ord?rs", "orders"));
        assert!(!glob_match("ord?rs", "ordrs"));
        assert!(glob_match("*_log", "audit_log"));
        assert!(!glob_match("*_log", "audit_logs"));
        assert!(glob_match("用户*", "用户表"));
    }

    #[test]
    fn table_globs_with_and_without_schema() {
        let g = TableGlob::parse("crm.mem*");
        assert!(g.matches(&t("crm", "members")));
        assert!(!g.matches(&t("public", "members")));
        assert!(TableGlob::parse("members").matches(&t("anything", "members")));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(glob_to_like("user_*"), "user!_%");
        assert_eq!(glob_to_like("50%?"), "50!%_");
        assert_eq!(glob_to_like("a!b"), "a!!b");
        assert_eq!(glob_to_like(&escape_glob("we*ird?")), "we*ird?");
        assert_eq!(glob_to_sqlite("a[b]*"), "a[[]b]*");
        assert_eq!(glob_to_sqlite(&escape_glob("x*")), "x[*]");
    }

    #[test]
    fn scope_matching_applies_excludes_after_includes() {
        let s = Scope {
            include_schemas: vec!["crm*".into()],
            exclude_tables: vec![TableGlob::parse("*_archive")],
            ..Scope::default()
        };
        assert!(s.matches(&t("crm", "members")));
        assert!(!s.matches(&t("crm", "members_archive")));
        assert!(!s.matches(&t("public", "members")));
        assert!(Scope::exact(&t("main", "a*b")).matches(&t("main", "a*b")));
        assert!(!Scope::exact(&t("main", "a*b")).matches(&t("main", "axxb")));
    }
}
