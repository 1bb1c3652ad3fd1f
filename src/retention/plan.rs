//! Planning a policy run: the table and its key, preflight checks (refusals with clear messages),
//! foreign-key effects, and the SQL conditions every batch statement repeats.

use chrono::{DateTime, Utc};

use super::clock::Clock;
use super::crypto::envelope_len;
use super::pseudonym::PSEUDONYM_LEN;
use super::sql::Stmt;
use crate::config::{Action, PolicyConfig};
use crate::error::{Error, Result};
use crate::sources::{
    Bind, ColumnInfo, Dialect, ForeignKey, Source, TableInfo, TableKind, TableRef, TriggerInfo,
    WriteLimits,
};

/// How many levels of referencing tables the preflight follows below the policy's table
/// (children, grandchildren, ...) through ON DELETE CASCADE and `delete_children`.
pub const MAX_FK_DEPTH: usize = 4;

/// How deleting a row of the policy's table affects a referencing table.
#[derive(Debug, Clone, PartialEq)]
pub struct FkEffect {
    /// The foreign key.
    pub fk: ForeignKey,
    /// True when the policy deletes the referencing rows first (`delete_children`).
    pub deleted_first: bool,
    /// The foreign keys from the policy's table down to `fk.referenced`, outermost first: empty
    /// for a direct child, one key for a grandchild reached through a child whose rows are deleted.
    pub via: Vec<ForeignKey>,
}

impl FkEffect {
    /// A one-line description for previews.
    pub fn describe(&self) -> String {
        let rule = self.fk.on_delete.to_ascii_uppercase();
        let what = if self.deleted_first {
            format!("ON DELETE {rule}; referencing rows are deleted first in the same batch (delete_children)")
        } else {
            match rule.as_str() {
                "CASCADE" => {
                    "referencing rows are deleted by the database (ON DELETE CASCADE)".into()
                }
                "SET NULL" => "referencing columns are set to NULL (ON DELETE SET NULL)".into(),
                "SET DEFAULT" => {
                    "referencing columns are set to their default (ON DELETE SET DEFAULT)".into()
                }
                _ => format!("BLOCKS the delete (ON DELETE {rule})"),
            }
        };
        let via: String = self
            .via
            .iter()
            .map(|f| format!(" (via {} -> {})", f.table, f.referenced))
            .collect();
        format!(
            "{}({}) -> {}{via}: {what}",
            self.fk.table,
            self.fk.columns.join(", "),
            self.fk.name
        )
    }

    /// True when deleting the policy's rows removes or changes rows of `fk.table`:
    /// `delete_children`, CASCADE, SET NULL or SET DEFAULT.
    pub fn changes_rows(&self) -> bool {
        self.deleted_first
            || matches!(
                self.fk.on_delete.to_ascii_uppercase().as_str(),
                "CASCADE" | "SET NULL" | "SET DEFAULT"
            )
    }

    /// True when the referencing rows are removed (so their own children are affected in turn).
    fn removes_rows(&self) -> bool {
        self.deleted_first || self.fk.on_delete.eq_ignore_ascii_case("CASCADE")
    }

    fn blocks(&self) -> bool {
        !self.deleted_first
            && matches!(
                self.fk.on_delete.to_ascii_uppercase().as_str(),
                "RESTRICT" | "NO ACTION"
            )
    }
}

/// The rows a data subject erasure acts on ([`crate::subject::erase`]): the run's policy is
/// synthesized with `retain = "0d"` and this scope, so the batches, transactions, read-back,
/// brake, holds, audit and checkpoints are those of enforcement, over an explicit key set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectScope {
    /// The key values (as text, in key-column order) of the rows the run may act on.
    pub keys: Vec<Vec<String>>,
    /// Free-text columns: the normalized identifiers ([`crate::retention::pseudonym::normalize`])
    /// whose spans are transformed; the rest of each value stays. Empty: whole values.
    pub spans: Vec<String>,
}

/// A checked policy on its table, ready to render batch statements.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The policy.
    pub policy: PolicyConfig,
    /// The introspected table.
    pub table: TableInfo,
    /// The key columns batches are ordered by (primary key, or a unique key of NOT NULL columns).
    pub key: Vec<ColumnInfo>,
    /// The timestamp column.
    pub ts: ColumnInfo,
    /// The transformed columns (empty for delete).
    pub columns: Vec<ColumnInfo>,
    /// The retention cutoff of this run.
    pub cutoff: DateTime<Utc>,
    /// Effects of deletes on referencing tables.
    pub fk_effects: Vec<FkEffect>,
    /// The source's dialect.
    pub dialect: Dialect,
    /// How the timestamp column is read ([`Clock::classify`]).
    pub clock: Clock,
    /// The table's triggers (filled by [`Plan::prepare`]).
    pub triggers: Vec<TriggerInfo>,
    /// Preflight warnings: triggers that change what the run does, cascades deeper than
    /// [`MAX_FK_DEPTH`].
    pub warnings: Vec<String>,
    /// Subject erasures that delete: the foreign keys referencing the table. A row still
    /// referenced through one of them (by a kept or held row) is not eligible: it is never
    /// deleted, and no cascade removes the referencing rows.
    pub guards: Vec<ForeignKey>,
}

/// True for column types that hold text (encrypt, pseudonymize and mask write text).
pub fn is_text_type(sql_type: &str) -> bool {
    let t = sql_type.to_ascii_lowercase();
    t.is_empty()
        || t.contains("char")
        || t.contains("text")
        || t.contains("clob")
        || t.contains("string")
}

fn refuse(policy: &PolicyConfig, message: impl Into<String>) -> Error {
    Error::Refused {
        policy: policy.name.clone(),
        message: message.into(),
    }
}

fn column<'a>(
    policy: &PolicyConfig,
    t: &'a TableInfo,
    name: &str,
    role: &str,
) -> Result<&'a ColumnInfo> {
    t.columns.iter().find(|c| c.name == name).ok_or_else(|| {
        let known: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        refuse(
            policy,
            format!(
                "{role} `{name}` is not a column of {} (columns: {})",
                t.table,
                known.join(", ")
            ),
        )
    })
}

/// The child tables named in `delete_children` match a table by `name` or `schema.name`.
fn names_table(entry: &str, t: &TableRef) -> bool {
    entry == t.name || entry == format!("{}.{}", t.schema, t.name)
}

/// A `delete_children` entry covers a foreign key declared on the table it names or, when it names
/// a partitioned table, on any of its partitions.
fn names_fk_table(entry: &str, fk: &ForeignKey) -> bool {
    names_table(entry, &fk.table) || fk.ancestors.iter().any(|a| names_table(entry, a))
}

/// True when `body` mentions `column` as a whole word (case-insensitive).
fn mentions(body: &str, column: &str) -> bool {
    let body = body.to_lowercase();
    let col = column.to_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    body.match_indices(&col).any(|(i, _)| {
        !word(body[..i].chars().next_back()) && !word(body[i + col.len()..].chars().next())
    })
}

/// The timestamp column and its clock; a policy without `timestamp_column` (`retain = "0d"`,
/// validated at load) gets [`Clock::Always`] and an unnamed placeholder column.
fn clock_of(
    dialect: Dialect,
    policy: &PolicyConfig,
    table: &TableInfo,
) -> Result<(ColumnInfo, Clock)> {
    let Some(name) = policy.clock_column() else {
        let none = ColumnInfo {
            name: String::new(),
            sql_type: String::new(),
            nullable: true,
            max_length: None,
        };
        return Ok((none, Clock::Always));
    };
    let ts = column(policy, table, name, "timestamp_column")?.clone();
    let clock = Clock::classify(dialect, policy, &table.table.to_string(), &ts)
        .map_err(|m| refuse(policy, m))?;
    Ok((ts, clock))
}

impl Plan {
    /// Introspects the policy's table and checks everything that can be checked without data:
    /// a key exists, the columns exist and accept what the action writes, foreign keys do not block
    /// deletes. Refusals name the policy and say what to change.
    pub async fn prepare(
        source: &Source,
        policy: &PolicyConfig,
        cutoff: DateTime<Utc>,
    ) -> Result<Plan> {
        let (schema, name) = policy.table_parts();
        let table = source
            .table(schema, name)
            .await
            .map_err(|e| refuse(policy, e.to_string()))?;
        let what = |e: Error| refuse(policy, format!("preflight of {}: {e}", table.table));
        let referencing = if policy.action == Action::Delete {
            source.referencing(&table.table).await.map_err(what)?
        } else {
            Vec::new()
        };
        let triggers = source.triggers(&table.table).await.map_err(what)?;
        let mut plan = Plan::check(source.dialect(), policy, table, referencing, cutoff)?;
        if !plan.columns.is_empty() {
            let limits = source
                .write_limits(&plan.table.table)
                .await
                .map_err(|e| refuse(policy, format!("preflight of {}: {e}", plan.table.table)))?;
            plan.check_writes(&limits)?;
        }
        plan.follow_chains(source).await?;
        plan.triggers = triggers;
        plan.warnings.extend(plan.trigger_warnings());
        Ok(plan)
    }

    /// Refuses transforms the database would reject at the first batch: generated columns (never
    /// writable), arrays (encrypt, pseudonymize and mask write one text value), and CHECK
    /// constraints on a column that encrypt, pseudonymize or mask rewrite (MariaDB's JSON
    /// columns carry `json_valid`); NULL satisfies every CHECK, so nullify passes them.
    pub fn check_writes(&self, limits: &WriteLimits) -> Result<()> {
        let p = &self.policy;
        let rewrites = matches!(
            p.action,
            Action::Encrypt | Action::Pseudonymize | Action::Mask
        );
        for c in &self.columns {
            if limits.generated.contains(&c.name) {
                return Err(refuse(
                    p,
                    format!(
                        "column `{}` of {} is generated by the database and cannot be written: \
                         transform the columns it is computed from",
                        c.name, self.table.table
                    ),
                ));
            }
            if !rewrites {
                continue;
            }
            if c.sql_type.ends_with("[]") || c.sql_type.eq_ignore_ascii_case("array") {
                return Err(refuse(
                    p,
                    format!(
                        "column `{}` of {} is an array ({}); {} writes one text value: use \
                         action \"nullify\" or a text column",
                        c.name,
                        self.table.table,
                        c.sql_type,
                        p.action.as_str()
                    ),
                ));
            }
            if let Some(check) = limits.checks_on(&c.name).first() {
                let json = check.clause.to_ascii_lowercase().contains("json_valid");
                let why = if json {
                    "holds JSON (CHECK json_valid), and the written text is not JSON".to_string()
                } else {
                    format!(
                        "has CHECK constraint `{}` ({}), which the written values need not satisfy",
                        check.name, check.clause
                    )
                };
                return Err(refuse(
                    p,
                    format!(
                        "column `{}` of {} {why}: {} cannot be enforced on it; use action \
                         \"nullify\" or \"delete\", or drop the constraint",
                        c.name,
                        self.table.table,
                        p.action.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Follows the rows a delete removes in referencing tables (CASCADE, `delete_children`) to
    /// their own referencing tables, down to [`MAX_FK_DEPTH`] levels, adding an effect per foreign
    /// key found; refuses when one of them would block the delete (NO ACTION / RESTRICT).
    async fn follow_chains(&mut self, source: &Source) -> Result<()> {
        let mut frontier: Vec<usize> = (0..self.fk_effects.len())
            .filter(|&i| self.fk_effects[i].removes_rows())
            .collect();
        for _depth in 2..=MAX_FK_DEPTH {
            let mut next = Vec::new();
            for i in frontier {
                let parent = self.fk_effects[i].clone();
                let mut via = parent.via.clone();
                via.push(parent.fk.clone());
                let on_path =
                    |t: &TableRef| *t == self.table.table || via.iter().any(|f| f.table == *t);
                let children = source.referencing(&parent.fk.table).await.map_err(|e| {
                    refuse(
                        &self.policy,
                        format!("preflight of {}: {e}", parent.fk.table),
                    )
                })?;
                for fk in children {
                    if on_path(&fk.table) {
                        continue;
                    }
                    let effect = FkEffect {
                        fk,
                        deleted_first: false,
                        via: via.clone(),
                    };
                    if effect.blocks() {
                        return Err(refuse(
                            &self.policy,
                            format!(
                                "deleting rows of {} removes rows of {} ({}), which foreign key {} from {} \
                                 references with ON DELETE {}: the delete would fail; change that key to \
                                 ON DELETE CASCADE or SET NULL, or remove those rows first",
                                self.table.table,
                                parent.fk.table,
                                parent.fk.name,
                                effect.fk.name,
                                effect.fk.table,
                                effect.fk.on_delete
                            ),
                        ));
                    }
                    if effect.removes_rows() {
                        next.push(self.fk_effects.len());
                    }
                    self.fk_effects.push(effect);
                }
            }
            frontier = next;
        }
        if let Some(&i) = frontier.first() {
            self.warnings.push(format!(
                "rows removed in {} may cascade further than {MAX_FK_DEPTH} levels of foreign keys; \
                 rows changed below that depth are not counted",
                self.fk_effects[i].fk.table
            ));
        }
        Ok(())
    }

    /// Warnings about the table's triggers: for transforms, an UPDATE trigger that writes the
    /// timestamp column (or whose body the catalogue does not show) resets the retention clock of
    /// every row the run touches; for deletes, a DELETE trigger may copy the rows elsewhere.
    pub fn trigger_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let fires_on = |t: &TriggerInfo, e: &str| t.events.iter().any(|x| x == e);
        for t in &self.triggers {
            let ev = |e: &str| format!("{} {e}", t.timing);
            if self.policy.action == Action::Delete {
                if fires_on(t, "DELETE") {
                    out.push(format!(
                        "trigger {} ({}) on {} runs for every deleted row; it may copy the rows' personal \
                         data elsewhere: check what it does",
                        t.name,
                        ev("DELETE"),
                        self.table.table
                    ));
                }
                continue;
            }
            // Without a clock column no trigger can restart a retention period.
            if !fires_on(t, "UPDATE") || self.clock == Clock::Always {
                continue;
            }
            match &t.body {
                Some(b) if mentions(b, &self.ts.name) => out.push(format!(
                    "trigger {} ({}) on {} writes the timestamp column `{}`: every row this policy \
                     transforms gets a new timestamp, which restarts its retention period",
                    t.name,
                    ev("UPDATE"),
                    self.table.table,
                    self.ts.name
                )),
                Some(_) => {}
                None => out.push(format!(
                    "trigger {} ({}) on {} runs a function whose body the catalogue does not show: \
                     if it writes `{}`, every row this policy transforms restarts its retention period",
                    t.name,
                    ev("UPDATE"),
                    self.table.table,
                    self.ts.name
                )),
            }
        }
        out
    }

    /// The data-free part of [`Plan::prepare`].
    pub fn check(
        dialect: Dialect,
        policy: &PolicyConfig,
        table: TableInfo,
        referencing: Vec<ForeignKey>,
        cutoff: DateTime<Utc>,
    ) -> Result<Plan> {
        if table.kind == TableKind::View {
            return Err(refuse(
                policy,
                format!(
                    "{} is a view; enforce the policy on its base table",
                    table.table
                ),
            ));
        }
        let key_names: Vec<String> = if !table.primary_key.is_empty() {
            table.primary_key.clone()
        } else if let Some(u) = table.unique_keys.iter().find(|u| {
            u.iter().all(|c| {
                table
                    .columns
                    .iter()
                    .any(|col| &col.name == c && !col.nullable)
            })
        }) {
            u.clone()
        } else {
            return Err(refuse(
                policy,
                format!(
                    "{} has no primary key and no unique key on NOT NULL columns; batches need one to \
                     address rows exactly: add a primary key",
                    table.table
                ),
            ));
        };
        let key: Vec<ColumnInfo> = key_names
            .iter()
            .map(|k| column(policy, &table, k, "key column").cloned())
            .collect::<Result<_>>()?;
        let (ts, clock) = clock_of(dialect, policy, &table)?;
        let mut columns = Vec::new();
        for c in &policy.columns {
            let col = column(policy, &table, c, "column")?.clone();
            if key_names.contains(c) || *c == ts.name {
                return Err(refuse(policy, format!("column `{c}` is part of the key or the timestamp; it cannot be transformed")));
            }
            let in_unique =
                table.primary_key.contains(c) || table.unique_keys.iter().any(|u| u.contains(c));
            let text_needed = matches!(
                policy.action,
                Action::Encrypt | Action::Pseudonymize | Action::Mask
            );
            if text_needed && !is_text_type(&col.sql_type) {
                return Err(refuse(
                    policy,
                    format!(
                        "column `{c}` has type {}; {} writes text: use a text column or action \"nullify\"",
                        col.sql_type,
                        policy.action.as_str()
                    ),
                ));
            }
            match policy.action {
                Action::Pseudonymize => {
                    if let Some(max) = col.max_length {
                        if max < PSEUDONYM_LEN as i64 {
                            return Err(refuse(
                                policy,
                                format!("column `{c}` holds {max} characters; pseudonyms need {PSEUDONYM_LEN}: widen it"),
                            ));
                        }
                    }
                }
                Action::Mask if in_unique => {
                    return Err(refuse(
                        policy,
                        format!("column `{c}` is UNIQUE; masked values collide (138****5678): use pseudonymize or encrypt"),
                    ))
                }
                Action::Nullify if !col.nullable => {
                    return Err(refuse(policy, format!("column `{c}` is NOT NULL; nullify cannot write NULL into it")))
                }
                Action::Encrypt => {
                    if let Some(max) = col.max_length {
                        let min_needed = envelope_len(1) as i64;
                        if max < min_needed {
                            return Err(refuse(
                                policy,
                                format!(
                                    "column `{c}` holds {max} characters; even a 1-byte value encrypts to \
                                     {min_needed}: widen it (the envelope of an n-byte value holds 13 + 4/3 x (n + 28) characters, rounded up)"
                                ),
                            ));
                        }
                    }
                }
                _ => {}
            }
            columns.push(col);
        }
        let mut fk_effects = Vec::new();
        let mut guards = Vec::new();
        let referencing = if policy.subject.is_some() {
            // Referenced rows are left alone ([`Plan::guards`]), so no key blocks or cascades.
            guards = referencing;
            Vec::new()
        } else {
            referencing
        };
        for fk in referencing {
            let deleted_first = policy
                .delete_children
                .iter()
                .any(|e| names_fk_table(e, &fk));
            fk_effects.push(FkEffect {
                fk,
                deleted_first,
                via: Vec::new(),
            });
        }
        for entry in &policy.delete_children {
            if !fk_effects.iter().any(|f| names_fk_table(entry, &f.fk)) {
                return Err(refuse(
                    policy,
                    format!(
                        "delete_children names `{entry}`, which has no foreign key to {}",
                        table.table
                    ),
                ));
            }
        }
        if let Some(b) = fk_effects.iter().find(|f| f.blocks()) {
            return Err(refuse(
                policy,
                format!(
                    "deleting rows of {} would be blocked by foreign key {} from {} (ON DELETE {}); \
                     list \"{}\" in delete_children to delete the referencing rows first, or change the key",
                    table.table,
                    b.fk.name,
                    b.fk.table,
                    b.fk.on_delete,
                    // A partition's key: name the partitioned table, which covers every partition.
                    b.fk.ancestors.last().unwrap_or(&b.fk.table).name
                ),
            ));
        }
        Ok(Plan {
            policy: policy.clone(),
            table,
            key,
            ts,
            columns,
            cutoff,
            fk_effects,
            dialect,
            clock,
            triggers: Vec::new(),
            warnings: Vec::new(),
            guards,
        })
    }

    /// The quoted, qualified table name.
    pub fn qualified(&self) -> String {
        self.dialect.qualified(&self.table.table)
    }

    /// The key columns, quoted, comma-separated (wrapped in parentheses when composite).
    pub fn key_expr(&self) -> String {
        let cols: Vec<String> = self
            .key
            .iter()
            .map(|k| self.dialect.quote_ident(&k.name))
            .collect();
        if cols.len() == 1 {
            cols[0].clone()
        } else {
            format!("({})", cols.join(", "))
        }
    }

    /// Appends `(clock valid AND ts < cutoff) AND (filter)`: the rows the retention clause
    /// selects. Rows whose clock is NULL, a zero date, infinite or unparsable are never selected
    /// ([`Clock::push_valid`]); every batch statement, the preflight and the dry run use this.
    pub fn push_expired(&self, q: &mut Stmt) {
        let col = self.dialect.quote_ident(&self.ts.name);
        q.push("(");
        self.clock.push_valid(self.dialect, &col, q);
        q.push(" AND ");
        self.clock
            .push_before(self.dialect, &col, &self.ts.sql_type, self.cutoff, q);
        q.push(")");
        if let Some(f) = &self.policy.filter {
            q.push(" AND (").push(f).push(")");
        }
        self.push_subject(q);
    }

    /// Subject erasures: ` AND key IN (<the scope's keys>)`, and for deletes ` AND NOT EXISTS`
    /// a referencing row per foreign key of [`Plan::guards`]. Nothing for policies.
    fn push_subject(&self, q: &mut Stmt) {
        let Some(scope) = &self.policy.subject else {
            return;
        };
        let d = self.dialect;
        q.push(" AND ").push(&self.key_expr()).push(" IN (");
        if scope.keys.is_empty() {
            q.push("NULL");
        }
        for (i, key) in scope.keys.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            if self.key.len() > 1 {
                q.push("(");
            }
            for (j, (k, v)) in self.key.iter().zip(key).enumerate() {
                if j > 0 {
                    q.push(", ");
                }
                q.bind_key(&k.sql_type, v);
            }
            if self.key.len() > 1 {
                q.push(")");
            }
        }
        q.push(")");
        let me = self.qualified();
        for fk in &self.guards {
            if fk.table == self.table.table {
                // A self-reference: the erasure found the referencing rows too (MySQL cannot
                // read the table it deletes from in a subquery).
                continue;
            }
            q.push(" AND NOT EXISTS (SELECT 1 FROM ")
                .push(&d.qualified(&fk.table))
                .push(" dw_r WHERE ");
            for (j, (c, r)) in fk.columns.iter().zip(&fk.referenced_columns).enumerate() {
                if j > 0 {
                    q.push(" AND ");
                }
                q.push("dw_r.")
                    .ident(c)
                    .push(" = ")
                    .push(&me)
                    .push(".")
                    .ident(r);
            }
            q.push(")");
        }
    }

    /// Appends `(filter) AND <clock not valid>`: the rows the policy would consider but whose
    /// clock is NULL, a zero date, infinite or unparsable, which are never acted on.
    pub fn push_invalid_clock(&self, q: &mut Stmt) {
        if let Some(f) = &self.policy.filter {
            q.push("(").push(f).push(") AND ");
        }
        let col = self.dialect.quote_ident(&self.ts.name);
        q.push("(CASE WHEN ");
        self.clock.push_valid(self.dialect, &col, q);
        q.push(" THEN 1 ELSE 0 END) = 0");
    }

    /// Appends the legal-hold exclusion (rows where `legal_hold` is true, rows whose hold column
    /// equals a `holds` value); `1 = 1` when there is none.
    pub fn push_not_held(&self, q: &mut Stmt) {
        q.push("1 = 1");
        if let Some(h) = &self.policy.legal_hold {
            // Held when the predicate is true (as in WHERE); NULL does not hold.
            q.push(" AND (CASE WHEN (")
                .push(h)
                .push(") THEN 1 ELSE 0 END) = 0");
        }
        for hold in &self.policy.holds {
            if hold.values.is_empty() {
                continue;
            }
            let col = self.dialect.quote_ident(&hold.column);
            q.push(" AND (").push(&col).push(" IS NULL OR ");
            let cast = self.dialect.cast_text(&col);
            q.push(&cast).push(" NOT IN (");
            for (i, v) in hold.values.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(Bind::Text(v.clone()));
            }
            q.push("))");
        }
    }

    /// Appends the "still to do" condition: for transforms, at least one column not yet transformed
    /// (envelope, pseudonym or mask marker, or NULL for nullify); nothing for delete.
    pub fn push_pending(&self, q: &mut Stmt) {
        let spans = self
            .policy
            .subject
            .as_ref()
            .is_some_and(|s| !s.spans.is_empty());
        // Span transforms leave the rest of the text: whether a span is left is for the
        // transform to tell (it changes nothing where no span is the person's).
        if self.columns.is_empty() || spans {
            q.push("1 = 1");
            return;
        }
        q.push("(");
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            let col = self.dialect.quote_ident(&c.name);
            if self.policy.action == Action::Mask {
                // Not yet masked: the mask shapes of `crate::transformed::is_mask` (`**`, `*@`,
                // or nothing but `*` and spaces); a raw value may hold a lone `*` (`*VIP*`).
                q.push("(")
                    .push(&col)
                    .push(" IS NOT NULL AND NOT (")
                    .push(&col)
                    .push(" LIKE '%**%' OR ")
                    .push(&col)
                    .push(" LIKE '%*@%' OR replace(replace(")
                    .push(&col)
                    .push(", '*', ''), ' ', '') = ''))");
                continue;
            }
            let pattern = match self.policy.action {
                Action::Encrypt => Some("'dw1:%'"),
                Action::Pseudonymize => Some("'dwp1:%'"),
                Action::Mask | Action::Nullify | Action::Delete => None,
            };
            match pattern {
                Some(p) => q
                    .push("(")
                    .push(&col)
                    .push(" IS NOT NULL AND ")
                    .push(&col)
                    .push(" NOT LIKE ")
                    .push(p)
                    .push(")"),
                None => q.push(&col).push(" IS NOT NULL"),
            };
        }
        q.push(")");
    }

    /// Appends every condition a row must meet to be acted on: expired, filter, not held, pending.
    pub fn push_eligible(&self, q: &mut Stmt) {
        self.push_expired(q);
        q.push(" AND ");
        self.push_not_held(q);
        q.push(" AND ");
        self.push_pending(q);
    }

    /// Appends `key > last` (nothing when `last` is `None`) followed by ` AND `.
    pub fn push_after(&self, q: &mut Stmt, last: Option<&[String]>, op: &str) {
        let Some(last) = last else { return };
        q.push(&self.key_expr()).push(" ").push(op).push(" ");
        if self.key.len() > 1 {
            q.push("(");
        }
        for (i, (k, v)) in self.key.iter().zip(last).enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_key(&k.sql_type, v);
        }
        if self.key.len() > 1 {
            q.push(")");
        }
        q.push(" AND ");
    }

    /// `SELECT COUNT(*)` of rows meeting `push` conditions.
    pub fn count_stmt(&self, f: impl FnOnce(&Self, &mut Stmt)) -> Stmt {
        let mut q = Stmt::new(self.dialect);
        q.push("SELECT COUNT(*) FROM ")
            .push(&self.qualified())
            .push(" WHERE ");
        f(self, &mut q);
        q
    }

    /// The statement selecting the next batch: keys (and, `with_values`, the transformed columns),
    /// ordered by key; `lock` adds the dialect's row lock (`FOR UPDATE`).
    pub fn select_batch(
        &self,
        last: Option<&[String]>,
        lock: bool,
        with_values: bool,
        limit: u32,
    ) -> Stmt {
        let mut q = Stmt::new(self.dialect);
        q.push("SELECT ");
        let mut cols: Vec<&ColumnInfo> = self.key.iter().collect();
        if with_values
            && matches!(
                self.policy.action,
                Action::Encrypt | Action::Pseudonymize | Action::Mask
            )
        {
            cols.extend(self.columns.iter());
        }
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            // Aliased, so that ORDER BY below names the column, not the text output.
            let id = self.dialect.quote_ident(&c.name);
            if i < self.key.len() {
                q.push(&self.dialect.cast_text(&id));
            } else {
                q.push(&id);
            }
            q.push(" AS ").ident(&format!("dw_c{i}"));
        }
        q.push(" FROM ").push(&self.qualified()).push(" WHERE ");
        self.push_after(&mut q, last, ">");
        self.push_eligible(&mut q);
        q.push(" ORDER BY ");
        for (i, k) in self.key.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.ident(&k.name);
        }
        q.push(" LIMIT ").push(&limit.to_string());
        if lock {
            q.push(self.dialect.for_update());
        }
        q
    }

    /// Appends `key > last AND key <= upto AND <eligible>`: the batch range, conditions repeated.
    pub fn push_batch_range(&self, q: &mut Stmt, last: Option<&[String]>, upto: &[String]) {
        self.push_after(q, last, ">");
        self.push_after(q, Some(upto), "<=");
        self.push_eligible(q);
    }

    /// Per foreign-key effect that changes rows ([`FkEffect::changes_rows`]), the table it
    /// changes and a `SELECT COUNT(*)` of its rows referencing the rows the delete removes: of the
    /// batch `(last, upto]` when `range` is given (run inside the batch transaction before the
    /// delete), else of every eligible row (the dry run's estimate). A grandchild's count nests
    /// one `IN (SELECT ...)` per foreign key on its path.
    pub fn side_effect_counts(
        &self,
        range: Option<(Option<&[String]>, &[String])>,
    ) -> Vec<(TableRef, Stmt)> {
        let d = self.dialect;
        let cols = |v: &[String]| {
            let q: Vec<String> = v.iter().map(|c| d.quote_ident(c)).collect();
            if q.len() == 1 {
                q[0].clone()
            } else {
                format!("({})", q.join(", "))
            }
        };
        let list = |v: &[String]| {
            v.iter()
                .map(|c| d.quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        for e in self.fk_effects.iter().filter(|e| e.changes_rows()) {
            let mut q = Stmt::new(d);
            q.push("SELECT COUNT(*) FROM ")
                .push(&d.qualified(&e.fk.table))
                .push(" WHERE ");
            // From the counted table up to the policy's table.
            let path: Vec<&ForeignKey> = e.via.iter().chain([&e.fk]).rev().collect();
            for (i, fk) in path.iter().enumerate() {
                let from = match path.get(i + 1) {
                    Some(up) => d.qualified(&up.table),
                    None => self.qualified(),
                };
                q.push(&cols(&fk.columns))
                    .push(" IN (SELECT ")
                    .push(&list(&fk.referenced_columns))
                    .push(" FROM ")
                    .push(&from)
                    .push(" WHERE ");
            }
            match range {
                Some((last, upto)) => self.push_batch_range(&mut q, last, upto),
                None => self.push_eligible(&mut q),
            }
            q.push(&")".repeat(path.len()));
            out.push((e.fk.table.clone(), q));
        }
        out
    }

    /// The delete statements of one batch: referencing rows listed in `delete_children` first, then
    /// the batch's rows.
    pub fn delete_stmts(&self, last: Option<&[String]>, upto: &[String]) -> Vec<Stmt> {
        let mut out = Vec::new();
        for e in self.fk_effects.iter().filter(|e| e.deleted_first) {
            let mut q = Stmt::new(self.dialect);
            let child_cols: Vec<String> =
                e.fk.columns
                    .iter()
                    .map(|c| self.dialect.quote_ident(c))
                    .collect();
            let parent_cols: Vec<String> =
                e.fk.referenced_columns
                    .iter()
                    .map(|c| self.dialect.quote_ident(c))
                    .collect();
            let wrap = |v: &[String]| {
                if v.len() == 1 {
                    v[0].clone()
                } else {
                    format!("({})", v.join(", "))
                }
            };
            q.push("DELETE FROM ")
                .push(&self.dialect.qualified(&e.fk.table))
                .push(" WHERE ")
                .push(&wrap(&child_cols))
                .push(" IN (SELECT ")
                .push(&parent_cols.join(", "))
                .push(" FROM ")
                .push(&self.qualified())
                .push(" WHERE ");
            self.push_batch_range(&mut q, last, upto);
            q.push(")");
            out.push(q);
        }
        let mut q = Stmt::new(self.dialect);
        q.push("DELETE FROM ")
            .push(&self.qualified())
            .push(" WHERE ");
        self.push_batch_range(&mut q, last, upto);
        out.push(q);
        out
    }

    /// The update of one batch. `values[i]` holds, per transformed column, the new text for row
    /// `keys[i]`, or `None` to leave that column (already transformed). The new values travel in a
    /// derived table joined on the key ([`Dialect::update_from`]), so the batch is one set-based
    /// statement. Nullify sets NULL set-based and ignores `keys`/`values`.
    pub fn update_stmt(
        &self,
        last: Option<&[String]>,
        upto: &[String],
        keys: &[Vec<String>],
        values: &[Vec<Option<String>>],
    ) -> Stmt {
        let mut q = Stmt::new(self.dialect);
        if self.policy.action == Action::Nullify {
            self.push_nullify(&mut q);
            q.push(" WHERE ");
            self.push_batch_range(&mut q, last, upto);
            return q;
        }
        let d = self.dialect;
        let kname = |i: usize| d.quote_ident(&format!("dw_k{i}"));
        let vname = |i: usize| d.quote_ident(&format!("dw_v{i}"));
        let mut names: Vec<String> = (0..self.key.len()).map(|i| format!("dw_k{i}")).collect();
        names.extend((0..self.columns.len()).map(|i| format!("dw_v{i}")));
        let casts: Vec<Option<&str>> = self
            .key
            .iter()
            .map(|k| Some(k.sql_type.as_str()))
            .chain(self.columns.iter().map(|_| None))
            .collect();
        let derived = if let Some(t) = d.array_rows_table(&names, &casts, q.next_index()) {
            // One text array per column: constant SQL text, a handful of parameters.
            for ki in 0..self.key.len() {
                q.binds.push(Bind::TextArray(
                    keys.iter().map(|k| k.get(ki).cloned()).collect(),
                ));
            }
            for ci in 0..self.columns.len() {
                q.binds.push(Bind::TextArray(
                    values
                        .iter()
                        .map(|v| v.get(ci).cloned().flatten())
                        .collect(),
                ));
            }
            t
        } else if let Some(t) = self.json_derived(&mut q, &names, keys, values) {
            t
        } else {
            self.rows_derived(&mut q, &names, keys, values)
        };
        self.push_batch_range(&mut q, last, upto);
        let cond = std::mem::take(&mut q.sql);
        let set: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let col = d.quote_ident(&c.name);
                format!("{col} = COALESCE(dw_v.{}, {col})", vname(ci))
            })
            .collect();
        let join: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "{}.{} = dw_v.{}",
                    self.qualified(),
                    d.quote_ident(&k.name),
                    kname(i)
                )
            })
            .collect();
        q.sql = d.update_from(
            &self.qualified(),
            &set.join(", "),
            &derived,
            &join.join(" AND "),
            &cond,
        );
        q
    }

    /// PostgreSQL: wraps the update of a transform batch ([`Plan::update_stmt`]) so that it reads
    /// back what it wrote and answers in one row: `WITH dw_u AS (<update> RETURNING ...)` over the
    /// rows as stored (after BEFORE triggers, type coercion and any cut), then the rows updated,
    /// the rows that received a new value, per transformed column the rows that received one and
    /// the sum of their stored lengths in bytes, and the key (as text, `, `-joined) of the first
    /// row whose stored value differs from the value the statement received (`NULL`: none).
    /// `None` elsewhere: MySQL has no `UPDATE ... RETURNING`, and SQLite triggers change a row
    /// after the update (read it back with [`Plan::readback_stmt`]).
    pub fn readback_wrap(&self, update: &mut Stmt) -> Option<()> {
        if !self.dialect.writable_cte() {
            return None;
        }
        let d = self.dialect;
        let t = self.qualified();
        let key: Vec<String> = self
            .key
            .iter()
            .map(|k| d.cast_text(&format!("{t}.{}", d.quote_ident(&k.name))))
            .collect();
        let mut ret = vec![format!("concat_ws(', ', {}) AS dw_key", key.join(", "))];
        let mut any_sent = Vec::new();
        let mut all_ok = Vec::new();
        let mut out = vec![
            "CAST(count(*) AS text)".to_string(),
            String::new(), // rows that received a value, filled below
        ];
        for (ci, c) in self.columns.iter().enumerate() {
            let col = format!("{t}.{}", d.quote_ident(&c.name));
            let sent = format!("dw_v.{}", d.quote_ident(&format!("dw_v{ci}")));
            ret.push(format!("octet_length({col}) AS dw_l{ci}"));
            ret.push(format!("({sent} IS NOT NULL) AS dw_s{ci}"));
            ret.push(format!(
                "({sent} IS NULL OR CAST({col} AS text) IS NOT DISTINCT FROM {sent}) AS dw_ok{ci}"
            ));
            any_sent.push(format!("dw_s{ci}"));
            all_ok.push(format!("dw_ok{ci}"));
            out.push(format!("CAST(count(*) FILTER (WHERE dw_s{ci}) AS text)"));
            out.push(format!(
                "CAST(sum(dw_l{ci}) FILTER (WHERE dw_s{ci}) AS text)"
            ));
        }
        out[1] = format!(
            "CAST(count(*) FILTER (WHERE {}) AS text)",
            any_sent.join(" OR ")
        );
        out.push(format!(
            "min(dw_key) FILTER (WHERE NOT ({}))",
            all_ok.join(" AND ")
        ));
        update.sql = format!(
            "WITH dw_u AS ({} RETURNING {}) SELECT {} FROM dw_u",
            update.sql,
            ret.join(", "),
            out.join(", ")
        );
        Some(())
    }

    /// The read-back of a transform batch (see `execute::verify_transform`): for the rows of
    /// `keys` (the batch, whose keys lie in `(last, upto]`), the key columns as text, then per
    /// transformed column [`Dialect::readback_cells`]. One statement: with a one-column key, the
    /// key range and `key = ANY(array)` (PostgreSQL) or `key IN (..)`; with a composite key, the
    /// table joined with the batch's keys as [`Plan::update_stmt`] joins them.
    pub fn readback_stmt(
        &self,
        last: Option<&[String]>,
        upto: &[String],
        keys: &[Vec<String>],
    ) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        let mut cols: Vec<String> = self
            .key
            .iter()
            .map(|k| d.cast_text(&format!("dw_t.{}", d.quote_ident(&k.name))))
            .collect();
        for c in &self.columns {
            cols.extend(d.readback_cells(&format!("dw_t.{}", d.quote_ident(&c.name))));
        }
        q.push("SELECT ")
            .push(&cols.join(", "))
            .push(" FROM ")
            .push(&self.qualified())
            .push(" AS dw_t");
        if let [k] = self.key.as_slice() {
            q.push(" WHERE ");
            self.push_after(&mut q, last, ">");
            self.push_after(&mut q, Some(upto), "<=");
            q.ident(&k.name).push(" ");
            match d.any_of_array(&k.sql_type, q.next_index()) {
                Some(any) => {
                    q.binds.push(Bind::TextArray(
                        keys.iter().map(|r| r.first().cloned()).collect(),
                    ));
                    q.push(&any);
                }
                None => {
                    q.push("IN (");
                    for (i, r) in keys.iter().enumerate() {
                        if i > 0 {
                            q.push(", ");
                        }
                        q.bind_key(&k.sql_type, r.first().map(String::as_str).unwrap_or(""));
                    }
                    q.push(")");
                }
            }
            return q;
        }
        let names: Vec<String> = (0..self.key.len()).map(|i| format!("dw_k{i}")).collect();
        let casts: Vec<Option<&str>> = self.key.iter().map(|k| Some(k.sql_type.as_str())).collect();
        let head = std::mem::take(&mut q.sql);
        let derived = match d.array_rows_table(&names, &casts, q.next_index()) {
            Some(t) => {
                for ki in 0..self.key.len() {
                    q.binds.push(Bind::TextArray(
                        keys.iter().map(|k| k.get(ki).cloned()).collect(),
                    ));
                }
                t
            }
            None => {
                let none = vec![Vec::new(); keys.len()];
                self.rows_derived(&mut q, &names, keys, &none)
            }
        };
        let join: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "dw_t.{} = dw_v.{}",
                    d.quote_ident(&k.name),
                    d.quote_ident(&names[i])
                )
            })
            .collect();
        q.sql = format!("{head} JOIN ({derived}) AS dw_v ON {}", join.join(" AND "));
        q
    }

    /// The read-back of a nullify batch: the first row of the batch range `(last, upto]` that is
    /// still eligible (a column not NULL) after the update, as its key columns as text and one
    /// `1`/`0` per policy column (not NULL / NULL); no row when the batch did its work.
    pub fn nullify_left_stmt(&self, last: Option<&[String]>, upto: &[String]) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        q.push("SELECT ");
        for k in &self.key {
            q.push(&d.cast_text(&d.quote_ident(&k.name))).push(", ");
        }
        for (ci, c) in self.columns.iter().enumerate() {
            if ci > 0 {
                q.push(", ");
            }
            q.push("CASE WHEN ")
                .ident(&c.name)
                .push(" IS NULL THEN 0 ELSE 1 END");
        }
        q.push(" FROM ").push(&self.qualified()).push(" WHERE ");
        self.push_batch_range(&mut q, last, upto);
        let keys: Vec<String> = self.key.iter().map(|k| d.quote_ident(&k.name)).collect();
        q.push(" ORDER BY ").push(&keys.join(", ")).push(" LIMIT 1");
        q
    }

    /// The derived table of [`Plan::update_stmt`] as `JSON_TABLE` over one JSON parameter
    /// ([`Dialect::json_rows_table`]): new values typed LONGTEXT, integer keys BIGINT. `None`
    /// (nothing bound) when the backend or a key type does not allow it.
    fn json_derived(
        &self,
        q: &mut Stmt,
        names: &[String],
        keys: &[Vec<String>],
        values: &[Vec<Option<String>>],
    ) -> Option<String> {
        let d = self.dialect;
        let mut types = Vec::with_capacity(names.len());
        for k in &self.key {
            types.push(d.json_key_type(&k.sql_type)?);
        }
        types.extend(self.columns.iter().map(|_| "LONGTEXT"));
        let t = d.json_rows_table(names, &types)?;
        let rows: Vec<serde_json::Value> = keys
            .iter()
            .zip(values)
            .map(|(k, v)| {
                let mut r: Vec<serde_json::Value> = k.iter().map(|s| s.as_str().into()).collect();
                r.extend(v.iter().map(|s| match s {
                    Some(s) => s.as_str().into(),
                    None => serde_json::Value::Null,
                }));
                serde_json::Value::Array(r)
            })
            .collect();
        q.binds.push(Bind::Text(
            serde_json::to_string(&rows).expect("serializable"),
        ));
        Some(t)
    }

    /// The derived table of [`Plan::update_stmt`] as literal rows, one placeholder per cell.
    fn rows_derived(
        &self,
        q: &mut Stmt,
        names: &[String],
        keys: &[Vec<String>],
        values: &[Vec<Option<String>>],
    ) -> String {
        let d = self.dialect;
        let mut rows = Vec::with_capacity(keys.len());
        for (k, v) in keys.iter().zip(values) {
            let mut cells = Vec::with_capacity(names.len());
            for (kc, kv) in self.key.iter().zip(k) {
                let start = q.sql.len();
                q.bind_key(&kc.sql_type, kv);
                cells.push(q.sql.split_off(start));
            }
            for nv in v {
                let start = q.sql.len();
                q.bind(nv.clone().map(Bind::Text).unwrap_or(Bind::Null));
                let cell = q.sql.split_off(start);
                cells.push(d.long_text_cell(&cell));
            }
            rows.push(cells);
        }
        q.sql.clear();
        d.rows_table(names, &rows)
    }

    /// The statement returning the last key of the next batch of at most `limit` rows, then its
    /// first key (each as text; no row when nothing is left). Delete and nullify need no values.
    pub fn batch_end(&self, last: Option<&[String]>, limit: u32) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        let inner: Vec<String> = self.key.iter().map(|k| d.quote_ident(&k.name)).collect();
        let klist = inner.join(", ");
        q.push("WITH dw_s AS (SELECT ").push(&klist);
        q.push(" FROM ").push(&self.qualified()).push(" WHERE ");
        self.push_after(&mut q, last, ">");
        self.push_eligible(&mut q);
        q.push(" ORDER BY ").push(&klist);
        q.push(" LIMIT ").push(&limit.to_string()).push(") SELECT ");
        let cols: Vec<String> = ["dw_l", "dw_f"]
            .iter()
            .flat_map(|t| inner.iter().map(move |k| d.cast_text(&format!("{t}.{k}"))))
            .collect();
        let desc: Vec<String> = inner.iter().map(|k| format!("{k} DESC")).collect();
        q.push(&cols.join(", "))
            .push(" FROM (SELECT ")
            .push(&klist)
            .push(" FROM dw_s ORDER BY ")
            .push(&desc.join(", "))
            .push(" LIMIT 1) dw_l CROSS JOIN (SELECT ")
            .push(&klist)
            .push(" FROM dw_s ORDER BY ")
            .push(&klist)
            .push(" LIMIT 1) dw_f");
        q
    }

    /// `UPDATE <table> SET c1 = NULL, c2 = NULL, ...` over the policy's columns (no WHERE yet).
    fn push_nullify(&self, q: &mut Stmt) {
        q.push("UPDATE ").push(&self.qualified()).push(" SET ");
        for (ci, c) in self.columns.iter().enumerate() {
            if ci > 0 {
                q.push(", ");
            }
            q.ident(&c.name).push(" = NULL");
        }
    }

    /// True when a batch runs as one statement ([`Plan::batch_in_one`]): delete without
    /// `delete_children`, or nullify, on a backend with writable CTEs.
    pub fn single_statement(&self) -> bool {
        self.dialect.writable_cte()
            && match self.policy.action {
                // Side effects are counted with the batch range known before the delete.
                Action::Delete => !self.fk_effects.iter().any(|e| e.changes_rows()),
                Action::Nullify => true,
                _ => false,
            }
    }

    /// Delete or nullify the next batch in one statement (see [`Plan::single_statement`]):
    /// `dw_b` selects up to `limit` eligible keys after `last` in key order, `dw_m` its last key,
    /// and the action covers the key range `(last, dw_m]` with every condition repeated, exactly
    /// as [`Plan::delete_stmts`] / [`Plan::update_stmt`] do with a separately selected batch end.
    /// The statement returns one row (last key columns as text, rows acted on, rows selected, first
    /// key columns as text), or no
    /// row when nothing is left.
    pub fn batch_in_one(&self, last: Option<&[String]>, limit: u32) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        let keys: Vec<String> = self.key.iter().map(|k| d.quote_ident(&k.name)).collect();
        let klist = keys.join(", ");
        q.push("WITH dw_b AS (SELECT ")
            .push(&klist)
            .push(" FROM ")
            .push(&self.qualified())
            .push(" WHERE ");
        self.push_after(&mut q, last, ">");
        self.push_eligible(&mut q);
        q.push(" ORDER BY ")
            .push(&klist)
            .push(" LIMIT ")
            .push(&limit.to_string());
        let desc: Vec<String> = keys.iter().map(|k| format!("{k} DESC")).collect();
        q.push("), dw_m AS (SELECT ")
            .push(&klist)
            .push(" FROM dw_b ORDER BY ")
            .push(&desc.join(", "))
            .push(" LIMIT 1), dw_a AS (");
        if self.policy.action == Action::Nullify {
            self.push_nullify(&mut q);
        } else {
            q.push("DELETE FROM ").push(&self.qualified());
        }
        q.push(" WHERE ");
        self.push_after(&mut q, last, ">");
        q.push(&self.key_expr())
            .push(" <= (SELECT ")
            .push(&klist)
            .push(" FROM dw_m) AND ");
        self.push_eligible(&mut q);
        q.push(" RETURNING 1), dw_f AS (SELECT ")
            .push(&klist)
            .push(" FROM dw_b ORDER BY ")
            .push(&klist)
            .push(" LIMIT 1) SELECT ");
        for k in &keys {
            q.push(&d.cast_text(&format!("dw_m.{k}"))).push(", ");
        }
        q.push("(SELECT COUNT(*) FROM dw_a), (SELECT COUNT(*) FROM dw_b)");
        for k in &keys {
            q.push(", ").push(&d.cast_text(&format!("dw_f.{k}")));
        }
        q.push(" FROM dw_m CROSS JOIN dw_f");
        q
    }

    /// The largest value of the key's type when the key is one integer column (PostgreSQL type
    /// names), the case [`Plan::range_start`] handles.
    pub fn integer_key_max(&self) -> Option<i64> {
        match self.key.as_slice() {
            [k] => match k.sql_type.as_str() {
                "smallint" => Some(i64::from(i16::MAX)),
                "integer" => Some(i64::from(i32::MAX)),
                "bigint" => Some(i64::MAX),
                _ => None,
            },
            _ => None,
        }
    }

    /// The first eligible key after `last` (as text; `NULL` when none is left). With a dense
    /// integer key ([`Plan::integer_key_max`]) a delete or nullify batch is the range of
    /// `batch size` key values starting there: it holds at most that many rows and its statement
    /// reads the range once, in key order, like one plain statement over it.
    pub fn range_start(&self, last: Option<&[String]>) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        q.push("SELECT ")
            .push(&d.cast_text(&format!("MIN({})", self.key_expr())))
            .push(" FROM ")
            .push(&self.qualified())
            .push(" WHERE ");
        self.push_after(&mut q, last, ">");
        self.push_eligible(&mut q);
        q
    }

    /// The last key of a key-range batch of `limit` values from `first` (see
    /// [`Plan::range_start`]), kept within the key type and never below `first`.
    pub fn range_end(&self, first: i64, limit: u32) -> i64 {
        let max = self.integer_key_max().unwrap_or(i64::MAX);
        first
            .saturating_add(i64::from(limit.max(1)) - 1)
            .min(max)
            .max(first)
    }

    /// The preflight in one scan of the table: total rows, eligible rows and, for encrypt, per
    /// transformed column the longest value (bytes) still to encrypt among eligible rows
    /// (`NULL` when there is none; columns without a length limit report `NULL` too); then, for
    /// an integer key ([`Plan::integer_key_max`]), its minimum and maximum.
    pub fn preflight_stmt(&self) -> Stmt {
        let d = self.dialect;
        let mut q = Stmt::new(d);
        q.push("SELECT COUNT(*), COUNT(CASE WHEN ");
        self.push_eligible(&mut q);
        q.push(" THEN 1 END)");
        for c in &self.columns {
            if self.policy.action != Action::Encrypt || c.max_length.is_none() {
                q.push(", NULL");
                continue;
            }
            let col = d.quote_ident(&c.name);
            q.push(", MAX(CASE WHEN ");
            self.push_eligible(&mut q);
            q.push(" AND ")
                .push(&col)
                .push(" NOT LIKE 'dw1:%' THEN OCTET_LENGTH(")
                .push(&col)
                .push(") END)");
        }
        if self.integer_key_max().is_some() {
            let k = self.key_expr();
            q.push(", MIN(").push(&k).push("), MAX(").push(&k).push(")");
        }
        q.push(" FROM ").push(&self.qualified());
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Backend;

    fn plan(backend: Dialect, action: &str, extra: &str) -> Plan {
        let policy: PolicyConfig = toml::from_str(&format!(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             timestamp_column = \"ts\"\nretain = \"1y\"\naction = \"{action}\"\n\
             filter = \"status = 'closed'\"\nlegal_hold = \"hold_flag = 1\"\n{extra}"
        ))
        .unwrap();
        let col = |n: &str, t: &str| ColumnInfo {
            name: n.into(),
            sql_type: t.into(),
            nullable: true,
            max_length: None,
        };
        let table = TableInfo {
            table: TableRef {
                schema: "public".into(),
                name: "t".into(),
            },
            kind: TableKind::Table,
            columns: vec![
                col("a", "bigint"),
                col("b", "bigint"),
                col("ts", "timestamp with time zone"),
                col("secret", "text"),
                col("status", "text"),
                col("hold_flag", "integer"),
            ],
            primary_key: vec!["a".into(), "b".into()],
            unique_keys: vec![],
            foreign_keys: vec![],
            row_estimate: None,
            pages: None,
        };
        Plan::check(backend, &policy, table, vec![], Utc::now()).unwrap()
    }

    fn fk(name: &str, table: &str, cols: &[&str], referenced: &str, rule: &str) -> ForeignKey {
        let r = |t: &str| {
            let (schema, name) = t.split_once('.').unwrap();
            TableRef {
                schema: schema.into(),
                name: name.into(),
            }
        };
        ForeignKey {
            name: name.into(),
            table: r(table),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            referenced: r(referenced),
            referenced_columns: vec!["a".into()],
            on_delete: rule.into(),
            ancestors: vec![],
        }
    }

    fn check_with(extra: &str, referencing: Vec<ForeignKey>) -> Result<Plan> {
        let p = plan(Dialect::new(Backend::Postgres), "delete", "");
        let policy: PolicyConfig = toml::from_str(&format!(
            "name = \"p\"\ndescription = \"d\"\nsource = \"s\"\ntable = \"t\"\n\
             timestamp_column = \"ts\"\nretain = \"1y\"\naction = \"delete\"\n{extra}"
        ))
        .unwrap();
        Plan::check(p.dialect, &policy, p.table, referencing, Utc::now())
    }

    #[test]
    fn delete_children_names_a_partitioned_parent_or_one_partition() {
        let part = |n: &str| {
            let mut f = fk(
                &format!("{n}_fkey"),
                &format!("public.{n}"),
                &["t_id"],
                "public.t",
                "NO ACTION",
            );
            f.ancestors = vec![TableRef {
                schema: "public".into(),
                name: "payment".into(),
            }];
            f
        };
        let fks = vec![part("payment_p1"), part("payment_p2")];
        let e = check_with("", fks.clone()).unwrap_err().to_string();
        assert!(e.contains("payment_p1_fkey"), "{e}");
        let p = check_with("delete_children = [\"public.payment\"]", fks.clone()).unwrap();
        assert!(p.fk_effects.iter().all(|e| e.deleted_first));
        assert_eq!(p.delete_stmts(None, &["1".into(), "1".into()]).len(), 3);
        let e = check_with("delete_children = [\"payment_p1\"]", fks.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("payment_p2_fkey"),
            "the other partition blocks: {e}"
        );
        let e = check_with("delete_children = [\"payments\"]", fks)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no foreign key"), "{e}");
    }

    #[test]
    fn side_effect_counts_nest_one_subquery_per_level_and_repeat_the_batch_conditions() {
        let mut p = check_with(
            "",
            vec![fk("c_fkey", "public.c", &["t_id"], "public.t", "CASCADE")],
        )
        .unwrap();
        p.fk_effects.push(FkEffect {
            fk: fk("g_fkey", "public.g", &["c_id"], "public.c", "SET NULL"),
            deleted_first: false,
            via: vec![p.fk_effects[0].fk.clone()],
        });
        assert!(!p.single_statement(), "counts need the batch range first");
        let last = ["1".to_string(), "2".to_string()];
        let upto = ["3".to_string(), "4".to_string()];
        let counts = p.side_effect_counts(Some((Some(&last), &upto)));
        assert_eq!(counts.len(), 2);
        let (t, g) = &counts[1];
        assert_eq!(t.name, "g");
        placeholders_match(g);
        assert!(
            g.sql.starts_with(
                "SELECT COUNT(*) FROM \"public\".\"g\" WHERE \"c_id\" IN (SELECT \"a\" FROM \"public\".\"c\" \
                 WHERE \"t_id\" IN (SELECT \"a\" FROM \"public\".\"t\" WHERE (\"a\", \"b\") > ("
            ),
            "{}",
            g.sql
        );
        assert!(g.sql.ends_with("))"), "{}", g.sql);
        let all = p.side_effect_counts(None);
        assert!(!all[0].1.sql.contains("<="), "{}", all[0].1.sql);
    }

    #[test]
    fn trigger_warnings_name_triggers_that_write_the_timestamp_or_see_deletes() {
        let trig = |name: &str, events: &[&str], body: Option<&str>| TriggerInfo {
            name: name.into(),
            timing: "BEFORE".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            body: body.map(String::from),
        };
        let mut p = plan(
            Dialect::new(Backend::Postgres),
            "nullify",
            "columns = [\"secret\"]",
        );
        p.triggers = vec![
            trig(
                "touch",
                &["UPDATE"],
                Some("BEGIN NEW.ts := now(); RETURN NEW; END"),
            ),
            trig("other", &["UPDATE"], Some("BEGIN NEW.tsx := now(); END")),
            trig("c_fn", &["UPDATE"], None),
            trig("ins", &["INSERT"], None),
        ];
        let w = p.trigger_warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("touch") && w[0].contains("`ts`"), "{w:?}");
        assert!(w[1].contains("c_fn"), "{w:?}");
        let mut d = plan(Dialect::new(Backend::Postgres), "delete", "");
        d.triggers = p.triggers.clone();
        d.triggers.push(trig(
            "copy",
            &["DELETE"],
            Some("INSERT INTO archive SELECT OLD.*"),
        ));
        let w = d.trigger_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("copy"), "{w:?}");
        assert!(mentions("x := \"TS\";", "ts") && !mentions("tsv", "ts"));
    }

    /// Every `$n` placeholder in `sql` has a bind and every bind a placeholder.
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
    fn one_statement_batches_repeat_every_condition_where_they_act() {
        let pg = Dialect::new(Backend::Postgres);
        for (action, extra) in [("delete", ""), ("nullify", "columns = [\"secret\"]")] {
            let p = plan(
                pg,
                action,
                &format!(
                    "{extra}\nholds = [{{ column = \"a\", values = [\"9\"], reason = \"r\" }}]"
                ),
            );
            assert!(p.single_statement(), "{action}");
            let q = p.batch_in_one(Some(&["1".into(), "2".into()]), 500);
            placeholders_match(&q);
            assert!(q.sql.contains("LIMIT 500"), "{}", q.sql);
            let act = &q.sql[q.sql.find("dw_a AS (").unwrap()..];
            for needle in [
                "\"ts\" < $",
                "status = 'closed'",
                "hold_flag = 1",
                "NOT IN ($",
                "(\"a\", \"b\") > (",
                "(\"a\", \"b\") <= (SELECT \"a\", \"b\" FROM dw_m)",
            ] {
                assert!(
                    act.contains(needle),
                    "{action}: `{needle}` missing in {act}"
                );
            }
        }
        // Transforms and other backends select first, then act.
        assert!(!plan(pg, "mask", "columns = [\"secret\"]").single_statement());
        assert!(!plan(Dialect::new(Backend::MySql), "delete", "").single_statement());
        assert!(!plan(Dialect::new(Backend::Sqlite), "delete", "").single_statement());
    }

    #[test]
    fn postgres_transform_updates_bind_one_array_per_column() {
        let p = plan(
            Dialect::new(Backend::Postgres),
            "pseudonymize",
            "columns = [\"secret\"]",
        );
        let keys: Vec<Vec<String>> = (1..=300).map(|i| vec![i.to_string(), "1".into()]).collect();
        let values: Vec<Vec<Option<String>>> =
            (1..=300).map(|i| vec![Some(format!("v{i}"))]).collect();
        let q = p.update_stmt(None, &keys[299], &keys, &values);
        placeholders_match(&q);
        assert!(
            q.sql
                .contains("unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS text[]))"),
            "{}",
            q.sql
        );
        assert!(matches!(&q.binds[0], Bind::TextArray(v) if v.len() == 300));
        let short = p.update_stmt(None, &keys[9], &keys[..10], &values[..10]);
        assert_eq!(
            short.sql, q.sql,
            "the text does not depend on the row count"
        );
        // MySQL/MariaDB with integer keys: one JSON parameter read by JSON_TABLE, values LONGTEXT.
        let my = plan(
            Dialect::new(Backend::MySql),
            "pseudonymize",
            "columns = [\"secret\"]",
        );
        let q = my.update_stmt(None, &keys[9], &keys[..10], &values[..10]);
        assert!(q.sql.contains("JSON_TABLE(?, '$[*]' COLUMNS (`dw_k0` BIGINT PATH '$[0]', `dw_k1` BIGINT PATH '$[1]', `dw_v0` LONGTEXT PATH '$[2]'))"), "{}", q.sql);
        assert!(matches!(&q.binds[0], Bind::Text(j) if j.starts_with("[[\"1\",\"1\",\"v1\"]")));
        let short = my.update_stmt(None, &keys[299], &keys, &values);
        assert_eq!(
            short.sql, q.sql,
            "the text does not depend on the row count"
        );
        // Older servers and other key types: a UNION ALL whose value cells are typed LONGTEXT.
        let old = plan(
            Dialect::mysql_for_version("10.5.20-MariaDB"),
            "pseudonymize",
            "columns = [\"secret\"]",
        );
        let q = old.update_stmt(None, &keys[9], &keys[..10], &values[..10]);
        assert!(
            q.binds.len() > 30 && q.sql.contains("UNION ALL"),
            "{}",
            q.sql
        );
        assert!(q.sql.contains("CAST(? AS CHAR(16777216))"), "{}", q.sql);
    }

    #[test]
    fn readback_is_one_statement_over_the_batch_keys() {
        let keys: Vec<Vec<String>> = (1..=50).map(|i| vec![i.to_string(), "1".into()]).collect();
        // Composite key: joined with the keys, one text array per key column on PostgreSQL.
        let p = plan(
            Dialect::new(Backend::Postgres),
            "encrypt",
            "columns = [\"secret\"]",
        );
        let q = p.readback_stmt(None, &keys[49], &keys);
        placeholders_match(&q);
        assert_eq!(q.binds.len(), 2, "{}", q.sql);
        assert!(q.sql.contains("JOIN (SELECT"), "{}", q.sql);
        assert!(
            q.sql
                .contains("sha256(convert_to(dw_t.\"secret\", 'UTF8'))"),
            "{}",
            q.sql
        );
        // One-column key: the key range and the key list.
        let mut p1 = p.clone();
        p1.key.truncate(1);
        let one: Vec<Vec<String>> = keys.iter().map(|k| k[..1].to_vec()).collect();
        let q = p1.readback_stmt(Some(&["0".to_string()]), &one[49], &one);
        placeholders_match(&q);
        assert!(
            q.sql.contains("\"a\" = ANY(CAST($3 AS bigint[]))"),
            "{}",
            q.sql
        );
        let mut my = plan(
            Dialect::new(Backend::MySql),
            "mask",
            "columns = [\"secret\"]",
        );
        my.key.truncate(1);
        let q = my.readback_stmt(None, &one[49], &one);
        assert_eq!(q.binds.len(), 51, "{}", q.sql);
        assert!(
            q.sql
                .contains("SHA2(CONVERT(dw_t.`secret` USING utf8mb4), 256)"),
            "{}",
            q.sql
        );
    }

    #[test]
    fn key_range_batches_start_at_the_next_eligible_key_and_stay_in_the_key_type() {
        let p = plan(Dialect::new(Backend::Postgres), "delete", "");
        assert_eq!(
            p.integer_key_max(),
            None,
            "a composite key has no key ranges"
        );
        assert_eq!(p.range_end(10, 1000), 1009);
        assert_eq!(p.range_end(10, 1), 10);
        assert_eq!(p.range_end(10, 0), 10, "never below the first key");
        assert_eq!(p.range_end(i64::MAX - 5, 1000), i64::MAX);
        let q = p.range_start(Some(&["7".to_string(), "1".to_string()]));
        placeholders_match(&q);
        for needed in ["MIN(", "status = 'closed'", "hold_flag = 1", "\"ts\" <"] {
            assert!(q.sql.contains(needed), "{needed}: {}", q.sql);
        }
    }
}
