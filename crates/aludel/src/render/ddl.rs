//! Schema changes ([`Op`]s) as SQL for PostgreSQL, SQLite and (in [`mysql`]) MySQL.
//!
//! The renderer follows the catalog as the ops change it ([`Op::apply`]), because
//! SQLite cannot alter most of a table in place: a changed column or constraint there
//! becomes a rebuild (set the rows aside, drop the table, create it as it has become,
//! put the rows back, recreate its indexes). A new SQLite table takes the foreign keys
//! that follow it in the list into its `CREATE TABLE`, since SQLite cannot add them
//! later.

use crate::ops::{Op, QName, column_changes};
use crate::render::{quote_ident, quote_literal};
use crate::schema::{Catalog, Column, ForeignKey, Identity, Index, Table};
use crate::url::Dialect;

mod mysql;

/// The SQL of one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedOp {
    /// What the op does, as [`Op`]'s `Display` says it.
    pub description: String,
    /// Statements without their final `;`. Empty when another op's SQL covers it.
    pub statements: Vec<String>,
    /// Remarks for the reader of the revision (written as comments).
    pub notes: Vec<String>,
    /// The table SQLite rebuilds for this op, if it does: the rebuild drops what the
    /// catalog does not hold, such as the table's triggers.
    pub rebuilt: Option<QName>,
}

/// An op the dialect cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{dialect} has no {what} ({op})")]
pub struct DdlError {
    /// The dialect.
    pub dialect: Dialect,
    /// What it lacks.
    pub what: String,
    /// The op's description.
    pub op: String,
}

/// Renders `ops` for `dialect`, starting from the catalog `start` they apply to.
/// `default_schema` is written unqualified (`public` on PostgreSQL, `main` on SQLite).
pub fn render_ops(
    dialect: Dialect,
    default_schema: &str,
    start: &Catalog,
    ops: &[Op],
) -> Result<Vec<RenderedOp>, DdlError> {
    let r = Renderer {
        dialect,
        default_schema,
    };
    let mut state = start.clone();
    let mut out = Vec::with_capacity(ops.len());
    // Tables created by this list so far (SQLite writes their foreign keys inline).
    let mut created = std::collections::BTreeSet::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::CreateTable(n, _) = op {
            created.insert(n.clone());
        }
        // Only the table an op changes is kept as it was (SQLite needs it); copying the
        // whole catalog per op would make long lists quadratic.
        let before = op.table().and_then(|t| table_in(&state, t));
        op.apply(&mut state);
        let rest = &ops[i + 1..];
        let (statements, notes, rebuilt) = match dialect {
            Dialect::Postgres => (r.postgres(op), r.postgres_notes(op), None),
            Dialect::Sqlite => {
                let (statements, rebuilt) =
                    r.sqlite(op, before.as_ref(), &state, rest, &created)?;
                (statements, Vec::new(), rebuilt)
            }
            Dialect::Mysql => (r.mysql(op)?, Vec::new(), None),
        };
        out.push(RenderedOp {
            description: op.to_string(),
            statements,
            notes,
            rebuilt,
        });
    }
    Ok(out)
}

/// Words that must be quoted to be used as names (the common reserved words of both
/// dialects; quoting more than needed is harmless, less is an error).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "initially",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

struct Renderer<'a> {
    dialect: Dialect,
    default_schema: &'a str,
}

impl Renderer<'_> {
    /// A name, quoted only when it must be (always on MySQL, see [`mysql`]).
    fn ident(&self, name: &str) -> String {
        if self.dialect == Dialect::Mysql {
            return quote_ident(self.dialect, name);
        }
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !RESERVED.contains(&name);
        if plain {
            name.to_string()
        } else {
            quote_ident(self.dialect, name)
        }
    }

    fn qname(&self, q: &QName) -> String {
        if q.schema == self.default_schema {
            self.ident(&q.name)
        } else {
            format!("{}.{}", self.ident(&q.schema), self.ident(&q.name))
        }
    }

    /// `name` in the schema of `table`, for indexes and constraints named by schema.
    fn sibling(&self, table: &QName, name: &str) -> String {
        self.qname(&QName::new(table.schema.clone(), name))
    }

    fn idents(&self, names: &[String]) -> String {
        names
            .iter()
            .map(|n| self.ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn column_def(&self, c: &Column, inline_pk: bool) -> String {
        let mut def = self.ident(&c.name);
        let serial_type = match (self.dialect, c.identity, c.data_type.as_str()) {
            (Dialect::Postgres, Some(Identity::Serial), "integer") => Some("serial"),
            (Dialect::Postgres, Some(Identity::Serial), "bigint") => Some("bigserial"),
            (Dialect::Postgres, Some(Identity::Serial), "smallint") => Some("smallserial"),
            _ => None,
        };
        if let Some(t) = serial_type {
            def.push(' ');
            def.push_str(t);
        } else if !c.data_type.is_empty() {
            def.push(' ');
            def.push_str(&c.data_type);
        }
        if let Some(coll) = &c.collation {
            def.push_str(&format!(" COLLATE {coll}"));
        }
        if inline_pk {
            def.push_str(" PRIMARY KEY AUTOINCREMENT");
        }
        if let Some(g) = &c.generated {
            def.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
        }
        match c.identity {
            Some(Identity::Always) => def.push_str(" GENERATED ALWAYS AS IDENTITY"),
            Some(Identity::ByDefault) => def.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            _ => {}
        }
        if let Some(d) = &c.default {
            // SQLite prints `DEFAULT (expression)` without its parentheses, and takes
            // anything but a literal only with them.
            if self.dialect == Dialect::Sqlite && !sqlite_literal(d) {
                def.push_str(&format!(" DEFAULT ({d})"));
            } else {
                def.push_str(&format!(" DEFAULT {d}"));
            }
        }
        if !c.nullable && !inline_pk {
            def.push_str(" NOT NULL");
        }
        def
    }

    fn foreign_key(&self, f: &ForeignKey) -> String {
        let mut sql = format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            self.idents(&f.columns),
            self.qname(&QName::new(f.ref_schema.clone(), f.ref_table.clone())),
            self.idents(&f.ref_columns)
        );
        use crate::schema::ReferentialAction::NoAction;
        if f.on_update != NoAction {
            sql.push_str(&format!(" ON UPDATE {}", f.on_update.sql()));
        }
        if f.on_delete != NoAction {
            sql.push_str(&format!(" ON DELETE {}", f.on_delete.sql()));
        }
        match f.deferrable {
            Some(true) => sql.push_str(" DEFERRABLE INITIALLY DEFERRED"),
            Some(false) => sql.push_str(" DEFERRABLE"),
            None => {}
        }
        sql
    }

    /// `CREATE TABLE` with columns, primary key, uniques, checks and `fks`.
    fn create_table(&self, name: &str, t: &Table, fks: &[(&String, &ForeignKey)]) -> String {
        // SQLite numbers a table's rows itself only through an inline
        // `INTEGER PRIMARY KEY AUTOINCREMENT`.
        let inline_pk = |c: &Column| {
            self.dialect == Dialect::Sqlite
                && c.identity == Some(Identity::Serial)
                && t.primary_key
                    .as_ref()
                    .is_some_and(|p| p.columns == [c.name.clone()])
        };
        let mut parts: Vec<String> = t
            .columns
            .iter()
            .map(|c| self.column_def(c, inline_pk(c)))
            .collect();
        if let Some(pk) = &t.primary_key
            && !t.columns.iter().any(inline_pk)
        {
            parts.push(format!(
                "CONSTRAINT {} PRIMARY KEY ({})",
                self.ident(&pk.name),
                self.idents(&pk.columns)
            ));
        }
        parts.extend(self.unique_and_check_parts(t));
        for (n, f) in fks {
            parts.push(format!(
                "CONSTRAINT {} {}",
                self.ident(n),
                self.foreign_key(f)
            ));
        }
        format!("CREATE TABLE {name} (\n    {}\n)", parts.join(",\n    "))
    }

    /// `ALTER TABLE ... DROP COLUMN`, as every dialect writes it.
    fn drop_column(&self, table: &QName, column: &str) -> String {
        format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.qname(table),
            self.ident(column)
        )
    }

    /// `ALTER TABLE ... RENAME COLUMN`, as every dialect writes it.
    fn rename_column(&self, table: &QName, from: &str, to: &str) -> String {
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            self.qname(table),
            self.ident(from),
            self.ident(to)
        )
    }

    /// A table's unique and check constraints as parts of its `CREATE TABLE`.
    fn unique_and_check_parts(&self, t: &Table) -> Vec<String> {
        let uniques = t.uniques.iter().map(|(n, u)| {
            format!(
                "CONSTRAINT {} UNIQUE ({})",
                self.ident(n),
                self.idents(&u.columns)
            )
        });
        let checks = t
            .checks
            .iter()
            .map(|(n, c)| format!("CONSTRAINT {} CHECK ({})", self.ident(n), c.expression));
        uniques.chain(checks).collect()
    }

    /// An index key's column, or its expression in parentheses.
    fn key_part(&self, k: &crate::schema::IndexKey) -> String {
        if k.is_expression {
            format!("({})", k.expression)
        } else {
            self.ident(&k.expression)
        }
    }

    fn create_index(&self, table: &QName, name: &str, i: &Index) -> String {
        let keys: Vec<String> = i
            .keys
            .iter()
            .map(|k| {
                let mut s = self.key_part(k);
                if let Some(opclass) = &k.opclass {
                    s.push(' ');
                    s.push_str(opclass);
                }
                // `nulls_first` says where NULLs sort. PostgreSQL puts them last
                // ascending and first descending unless told; SQLite cannot be told
                // (and sorts them first ascending).
                match (self.dialect, k.descending, k.nulls_first) {
                    (Dialect::Sqlite, true, _) | (_, true, true) => s.push_str(" DESC"),
                    (Dialect::Sqlite, false, _) | (_, false, false) => {}
                    (_, true, false) => s.push_str(" DESC NULLS LAST"),
                    (_, false, true) => s.push_str(" NULLS FIRST"),
                }
                s
            })
            .collect();
        let mut sql = format!(
            "CREATE {}INDEX {} ON {}",
            if i.unique { "UNIQUE " } else { "" },
            self.ident(name),
            self.qname(table)
        );
        if self.dialect == Dialect::Postgres && !i.method.is_empty() && i.method != "btree" {
            sql.push_str(&format!(" USING {}", i.method));
        }
        sql.push_str(&format!(" ({})", keys.join(", ")));
        if !i.include.is_empty() {
            sql.push_str(&format!(" INCLUDE ({})", self.idents(&i.include)));
        }
        if let Some(p) = &i.predicate {
            sql.push_str(&format!(" WHERE {p}"));
        }
        sql
    }

    fn comment_literal(comment: &Option<String>) -> String {
        comment
            .as_deref()
            .map_or_else(|| "NULL".to_string(), quote_literal)
    }

    fn postgres(&self, op: &Op) -> Vec<String> {
        let alter = |t: &QName| format!("ALTER TABLE {}", self.qname(t));
        match op {
            Op::CreateSchema(s) => vec![format!("CREATE SCHEMA {}", self.ident(s))],
            Op::DropSchema(s) => vec![format!("DROP SCHEMA {}", self.ident(s))],
            Op::CreateEnum(n, e) => {
                let labels: Vec<String> = e.labels.iter().map(|l| quote_literal(l)).collect();
                vec![format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    self.qname(n),
                    labels.join(", ")
                )]
            }
            Op::DropEnum(n, _) => vec![format!("DROP TYPE {}", self.qname(n))],
            Op::AddEnumValue {
                name,
                value,
                before,
            } => {
                let mut sql = format!(
                    "ALTER TYPE {} ADD VALUE {}",
                    self.qname(name),
                    quote_literal(value)
                );
                if let Some(b) = before {
                    sql.push_str(&format!(" BEFORE {}", quote_literal(b)));
                }
                vec![sql]
            }
            Op::RemoveEnumValue { .. } => Vec::new(),
            Op::CreateSequence(n, s) => vec![format!(
                "CREATE SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {}{}",
                self.qname(n),
                s.data_type,
                s.increment,
                s.min,
                s.max,
                s.start,
                if s.cycle { " CYCLE" } else { "" }
            )],
            Op::DropSequence(n, _) => vec![format!("DROP SEQUENCE {}", self.qname(n))],
            Op::AlterSequence { name, to: s, .. } => vec![format!(
                "ALTER SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} {}",
                self.qname(name),
                s.data_type,
                s.increment,
                s.min,
                s.max,
                s.start,
                if s.cycle { "CYCLE" } else { "NO CYCLE" }
            )],
            Op::CreateTable(n, t) => {
                let mut out = vec![self.create_table(&self.qname(n), t, &[])];
                if t.comment.is_some() {
                    out.push(format!(
                        "COMMENT ON TABLE {} IS {}",
                        self.qname(n),
                        Self::comment_literal(&t.comment)
                    ));
                }
                for c in t.columns.iter().filter(|c| c.comment.is_some()) {
                    out.push(self.column_comment(n, c));
                }
                out
            }
            Op::DropTable(n, _) => vec![format!("DROP TABLE {}", self.qname(n))],
            Op::RenameTable { from, to } => {
                vec![format!("{} RENAME TO {}", alter(from), self.ident(to))]
            }
            Op::AddColumn(t, c) => {
                let mut out = vec![format!(
                    "{} ADD COLUMN {}",
                    alter(t),
                    self.column_def(c, false)
                )];
                if c.comment.is_some() {
                    out.push(self.column_comment(t, c));
                }
                out
            }
            Op::DropColumn(t, c) => vec![self.drop_column(t, &c.name)],
            Op::RenameColumn { table, from, to } => vec![self.rename_column(table, from, to)],
            Op::AlterColumn { table, from, to } => self.postgres_alter_column(table, from, to),
            Op::AddPrimaryKey(t, p) => vec![format!(
                "{} ADD CONSTRAINT {} PRIMARY KEY ({})",
                alter(t),
                self.ident(&p.name),
                self.idents(&p.columns)
            )],
            Op::DropPrimaryKey(t, p) => {
                vec![format!(
                    "{} DROP CONSTRAINT {}",
                    alter(t),
                    self.ident(&p.name)
                )]
            }
            Op::AddUnique(t, n, u) => vec![format!(
                "{} ADD CONSTRAINT {} UNIQUE ({})",
                alter(t),
                self.ident(n),
                self.idents(&u.columns)
            )],
            Op::AddCheck(t, n, c) => vec![format!(
                "{} ADD CONSTRAINT {} CHECK ({})",
                alter(t),
                self.ident(n),
                c.expression
            )],
            Op::AddForeignKey(t, n, f) => vec![format!(
                "{} ADD CONSTRAINT {} {}",
                alter(t),
                self.ident(n),
                self.foreign_key(f)
            )],
            Op::DropUnique(t, n, _) | Op::DropCheck(t, n, _) | Op::DropForeignKey(t, n, _) => {
                vec![format!("{} DROP CONSTRAINT {}", alter(t), self.ident(n))]
            }
            Op::CreateIndex(t, n, i) => vec![self.create_index(t, n, i)],
            Op::DropIndex(t, n, _) => vec![format!("DROP INDEX {}", self.sibling(t, n))],
            Op::CreateView(n, v) => {
                let mut out = vec![format!(
                    "CREATE VIEW {} AS\n{}",
                    self.qname(n),
                    v.definition.trim_end_matches(';')
                )];
                if v.comment.is_some() {
                    out.push(format!(
                        "COMMENT ON VIEW {} IS {}",
                        self.qname(n),
                        Self::comment_literal(&v.comment)
                    ));
                }
                out
            }
            Op::DropView(n, _) => vec![format!("DROP VIEW {}", self.qname(n))],
            Op::SetTableComment { table, to, .. } => vec![format!(
                "COMMENT ON TABLE {} IS {}",
                self.qname(table),
                Self::comment_literal(to)
            )],
            Op::SetViewComment { view, to, .. } => vec![format!(
                "COMMENT ON VIEW {} IS {}",
                self.qname(view),
                Self::comment_literal(to)
            )],
        }
    }

    fn postgres_notes(&self, op: &Op) -> Vec<String> {
        match op {
            Op::RemoveEnumValue { name, value } => vec![format!(
                "PostgreSQL cannot remove the value '{value}' from enum type {name}: it stays"
            )],
            _ => Vec::new(),
        }
    }

    fn column_comment(&self, t: &QName, c: &Column) -> String {
        format!(
            "COMMENT ON COLUMN {}.{} IS {}",
            self.qname(t),
            self.ident(&c.name),
            Self::comment_literal(&c.comment)
        )
    }

    fn postgres_alter_column(&self, t: &QName, from: &Column, to: &Column) -> Vec<String> {
        let alter = format!("ALTER TABLE {}", self.qname(t));
        let col = self.ident(&to.name);
        // A generation expression cannot be changed in place: the column is re-made.
        if from.generated != to.generated {
            return vec![
                format!("{alter} DROP COLUMN {col}"),
                format!("{alter} ADD COLUMN {}", self.column_def(to, false)),
            ];
        }
        let mut out = Vec::new();
        if from.identity == Some(Identity::Serial) && to.identity != Some(Identity::Serial) {
            out.push(format!("{alter} ALTER COLUMN {col} DROP DEFAULT"));
            out.push(format!(
                "DROP SEQUENCE IF EXISTS {}",
                self.sibling(t, &format!("{}_{}_seq", t.name, to.name))
            ));
        }
        if let (Some(Identity::Always | Identity::ByDefault), None | Some(Identity::Serial)) =
            (from.identity, to.identity)
        {
            out.push(format!("{alter} ALTER COLUMN {col} DROP IDENTITY"));
        }
        if from.data_type != to.data_type || from.collation != to.collation {
            let mut sql = format!("{alter} ALTER COLUMN {col} TYPE {}", to.data_type);
            if let Some(c) = &to.collation {
                sql.push_str(&format!(" COLLATE {c}"));
            }
            if from.data_type != to.data_type {
                sql.push_str(&format!(" USING {col}::{}", to.data_type));
            }
            out.push(sql);
        }
        match (from.identity, to.identity) {
            (f, Some(Identity::Always)) if f != Some(Identity::Always) => {
                out.push(if f == Some(Identity::ByDefault) {
                    format!("{alter} ALTER COLUMN {col} SET GENERATED ALWAYS")
                } else {
                    format!("{alter} ALTER COLUMN {col} ADD GENERATED ALWAYS AS IDENTITY")
                });
            }
            (f, Some(Identity::ByDefault)) if f != Some(Identity::ByDefault) => {
                out.push(if f == Some(Identity::Always) {
                    format!("{alter} ALTER COLUMN {col} SET GENERATED BY DEFAULT")
                } else {
                    format!("{alter} ALTER COLUMN {col} ADD GENERATED BY DEFAULT AS IDENTITY")
                });
            }
            (f, Some(Identity::Serial)) if f != Some(Identity::Serial) => {
                let seq = self.sibling(t, &format!("{}_{}_seq", t.name, to.name));
                out.push(format!(
                    "CREATE SEQUENCE {seq} OWNED BY {}.{col}",
                    self.qname(t)
                ));
                out.push(format!(
                    "{alter} ALTER COLUMN {col} SET DEFAULT nextval({}::regclass)",
                    quote_literal(&seq)
                ));
            }
            _ => {}
        }
        // A sequence given to a column that has values starts after them, or its first
        // numbers would collide with rows already there.
        if to.identity.is_some() && from.identity.is_none() {
            out.push(format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({col}), 0) + 1, false) FROM {}",
                quote_literal(&self.qname(t)),
                quote_literal(&to.name),
                self.qname(t)
            ));
        }
        if from.default != to.default && to.identity.is_none() {
            out.push(match &to.default {
                Some(d) => format!("{alter} ALTER COLUMN {col} SET DEFAULT {d}"),
                None => format!("{alter} ALTER COLUMN {col} DROP DEFAULT"),
            });
        }
        if from.nullable != to.nullable {
            out.push(format!(
                "{alter} ALTER COLUMN {col} {} NOT NULL",
                if to.nullable { "DROP" } else { "SET" }
            ));
        }
        if from.comment != to.comment {
            out.push(self.column_comment(t, to));
        }
        out
    }

    fn sqlite(
        &self,
        op: &Op,
        before: Option<&Table>,
        after: &Catalog,
        rest: &[Op],
        created: &std::collections::BTreeSet<QName>,
    ) -> Result<(Vec<String>, Option<QName>), DdlError> {
        let unsupported = |what: &str| DdlError {
            dialect: Dialect::Sqlite,
            what: what.into(),
            op: op.to_string(),
        };
        let alter = |t: &QName| format!("ALTER TABLE {}", self.qname(t));
        let statements = match op {
            Op::CreateSchema(_) | Op::DropSchema(_) => return Err(unsupported("schemas")),
            Op::CreateEnum(..) | Op::DropEnum(..) | Op::AddEnumValue { .. } => {
                return Err(unsupported("enum types"));
            }
            Op::RemoveEnumValue { .. } => Vec::new(),
            Op::CreateSequence(..) | Op::DropSequence(..) | Op::AlterSequence { .. } => {
                return Err(unsupported("sequences"));
            }
            Op::CreateTable(n, t) => {
                // The foreign keys that the list adds next go into the table itself.
                let fks: Vec<(&String, &ForeignKey)> = rest
                    .iter()
                    .filter_map(|o| match o {
                        Op::AddForeignKey(tn, name, f) if tn == n => Some((name, f)),
                        _ => None,
                    })
                    .collect();
                vec![self.create_table(&self.qname(n), t, &fks)]
            }
            // Written into the table's CREATE TABLE, earlier in this list.
            Op::AddForeignKey(t, _, _) if created.contains(t) => Vec::new(),
            Op::DropForeignKey(t, _, _)
                if rest
                    .iter()
                    .any(|o| matches!(o, Op::DropTable(n, _) if n == t)) =>
            {
                // The table goes next, its foreign keys with it.
                Vec::new()
            }
            Op::DropTable(n, _) => vec![format!("DROP TABLE {}", self.qname(n))],
            Op::RenameTable { from, to } => {
                vec![format!("{} RENAME TO {}", alter(from), self.ident(to))]
            }
            Op::RenameColumn { table, from, to } => vec![self.rename_column(table, from, to)],
            Op::AddColumn(t, c) if sqlite_can_add(c) => {
                vec![format!(
                    "{} ADD COLUMN {}",
                    alter(t),
                    self.column_def(c, false)
                )]
            }
            Op::DropColumn(t, c) if before.is_some_and(|tb| sqlite_can_drop(tb, &c.name)) => {
                vec![self.drop_column(t, &c.name)]
            }
            Op::AlterColumn { from, to, .. } if column_changes(from, to) == ["comment"] => {
                Vec::new()
            }
            Op::SetTableComment { .. } | Op::SetViewComment { .. } => Vec::new(),
            Op::CreateIndex(t, n, i) => vec![self.create_index(t, n, i)],
            Op::DropIndex(t, n, _) => vec![format!("DROP INDEX {}", self.sibling(t, n))],
            Op::CreateView(n, v) => vec![format!(
                "CREATE VIEW {} AS\n{}",
                self.qname(n),
                v.definition.trim_end_matches(';')
            )],
            Op::DropView(n, _) => vec![format!("DROP VIEW {}", self.qname(n))],
            // Everything else on an existing table: SQLite's rebuild.
            _ => {
                let Some(t) = op.table() else {
                    return Err(unsupported("such a change"));
                };
                let (Some(old), Some(new)) = (before, table_in(after, t)) else {
                    return Err(unsupported("such a change to a table it does not know"));
                };
                return Ok((self.sqlite_rebuild(t, old, &new), Some(t.clone())));
            }
        };
        Ok((statements, None))
    }

    /// SQLite's rebuild for changes `ALTER TABLE` cannot make: the rows are set aside
    /// in a plain copy, the table is dropped and created again as it has become, the
    /// rows come back, the copy goes, and the table's indexes are made again.
    ///
    /// The table keeps its own name throughout, so nothing that refers to it is
    /// touched: a rename would rewrite the foreign keys of other tables that point to
    /// it (and fail on views that read it). Foreign keys are deferred to the commit
    /// (`defer_foreign_keys`): the drop leaves the rows that point to the table without
    /// a parent, and putting the rows back into the table of that name gives them
    /// their parents again, which settles SQLite's count of pending violations; a
    /// violation that remains fails the commit.
    fn sqlite_rebuild(&self, t: &QName, old: &Table, new: &Table) -> Vec<String> {
        let held = self.sibling(t, &format!("_aludel_old_{}", t.name));
        let name = self.qname(t);
        let fks: Vec<(&String, &ForeignKey)> = new.foreign_keys.iter().collect();
        let mut out = vec![
            "PRAGMA defer_foreign_keys = ON".to_string(),
            format!("CREATE TABLE {held} AS SELECT * FROM {name}"),
            format!("DROP TABLE {name}"),
            self.create_table(&name, new, &fks),
        ];
        let common: Vec<String> = new
            .columns
            .iter()
            .filter(|c| c.generated.is_none() && old.column(&c.name).is_some())
            .map(|c| self.ident(&c.name))
            .collect();
        if !common.is_empty() {
            let cols = common.join(", ");
            out.push(format!(
                "INSERT INTO {name} ({cols}) SELECT {cols} FROM {held}"
            ));
        }
        out.push(format!("DROP TABLE {held}"));
        for (n, i) in &new.indexes {
            out.push(self.create_index(t, n, i));
        }
        out
    }
}

/// The table `t` of `catalog`, copied.
fn table_in(catalog: &Catalog, t: &QName) -> Option<Table> {
    catalog
        .schemas
        .get(&t.schema)
        .and_then(|s| s.tables.get(&t.name))
        .cloned()
}

/// Whether SQLite takes `text` as a default without parentheses: a number (signed or
/// not), a string or blob literal, `NULL`, `TRUE`, `FALSE`, `CURRENT_TIME`,
/// `CURRENT_DATE` or `CURRENT_TIMESTAMP`.
fn sqlite_literal(text: &str) -> bool {
    let t = text.trim();
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    let number = !unsigned.is_empty()
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
    let quoted = |s: &str| {
        s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') && {
            // One literal, not `'a' || 'b'`: every inner quote is doubled.
            let inner = &s[1..s.len() - 1];
            inner.replace("''", "").find('\'').is_none()
        }
    };
    let blob = t.len() > 2 && t[..1].eq_ignore_ascii_case("x") && quoted(&t[1..]);
    let word = [
        "NULL",
        "TRUE",
        "FALSE",
        "CURRENT_TIME",
        "CURRENT_DATE",
        "CURRENT_TIMESTAMP",
    ]
    .iter()
    .any(|w| t.eq_ignore_ascii_case(w));
    number || quoted(t) || blob || word
}

/// Whether `ALTER TABLE ADD COLUMN` can add `c` in SQLite: no key, no stored
/// generation, and a NOT NULL column needs a constant default.
fn sqlite_can_add(c: &Column) -> bool {
    let constant_default = c.default.as_deref().is_none_or(|d| {
        let d = d.trim();
        !d.starts_with('(') && !d.to_ascii_uppercase().starts_with("CURRENT_")
    });
    c.identity.is_none()
        && c.generated.is_none()
        && constant_default
        && (c.nullable || c.default.is_some())
}

/// Whether `ALTER TABLE DROP COLUMN` can drop `name` in SQLite: the column is in no
/// key, index, foreign key or check.
fn sqlite_can_drop(t: &Table, name: &str) -> bool {
    let n = name.to_string();
    !t.primary_key
        .as_ref()
        .is_some_and(|p| p.columns.contains(&n))
        && !t.uniques.values().any(|u| u.columns.contains(&n))
        && !t.indexes.values().any(|i| {
            i.keys.iter().any(|k| mentions(&k.expression, name))
                || i.predicate.as_deref().is_some_and(|p| mentions(p, name))
        })
        && !t.foreign_keys.values().any(|f| f.columns.contains(&n))
        && !t.checks.values().any(|c| mentions(&c.expression, name))
        && !t
            .columns
            .iter()
            .any(|c| c.generated.as_deref().is_some_and(|g| mentions(g, name)))
}

/// Whether `text` mentions `name` as a word (case-insensitive): conservative, a
/// false match only costs a rebuild.
fn mentions(text: &str, name: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    text.match_indices(&name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[cfg(test)]
mod tests;
