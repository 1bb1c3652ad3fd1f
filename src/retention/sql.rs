//! A statement under construction: SQL text plus its bind values, with placeholders numbered in
//! order through the source's [`Dialect`].

use crate::sources::{Bind, Dialect};

/// SQL text and the values bound to its placeholders.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The dialect rendering placeholders and identifiers.
    pub dialect: Dialect,
    /// The SQL text.
    pub sql: String,
    /// The bound values, in placeholder order.
    pub binds: Vec<Bind>,
}

impl Stmt {
    /// An empty statement.
    pub fn new(dialect: Dialect) -> Stmt {
        Stmt {
            dialect,
            sql: String::with_capacity(256),
            binds: Vec::new(),
        }
    }
    /// Appends SQL text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    /// Appends a quoted identifier.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        let q = self.dialect.quote_ident(name);
        self.sql.push_str(&q);
        self
    }
    /// Binds a value and appends its (untyped) placeholder.
    pub fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        let p = self.dialect.placeholder(self.binds.len());
        self.sql.push_str(&p);
        self
    }
    /// Binds a key value read as text and appends a placeholder converted to `sql_type`.
    pub fn bind_key(&mut self, sql_type: &str, text: &str) -> &mut Self {
        self.binds.push(self.dialect.key_bind(sql_type, text));
        let p = self.dialect.typed_placeholder(self.binds.len(), sql_type);
        self.sql.push_str(&p);
        self
    }
    /// The index the next bind will get (1-based).
    pub fn next_index(&self) -> usize {
        self.binds.len() + 1
    }
}
