//! Schema changes ([`Op`]s) as SQL, one file per dialect ([`postgres`], [`sqlite`],
//! [`mysql`]) over the shared pieces here (names, column definitions, keys, indexes).
//!
//! The renderer follows the catalog as the ops change it ([`Op::apply`]), because
//! SQLite cannot alter most of a table in place: a changed column or constraint there
//! becomes a rebuild (set the rows aside, drop the table, create it as it has become,
//! put the rows back, recreate its indexes). A new SQLite table takes the foreign keys
//! that follow it in the list into its `CREATE TABLE`, since SQLite cannot add them
//! later.

use crate::ops::{Op, QName};
use crate::render::{quote_ident, quote_literal};
use crate::schema::{Catalog, Column, ForeignKey, Identity, Index, Table};
use crate::url::Dialect;

pub(crate) mod mysql;
mod postgres;
mod sqlite;

/// The SQL of one op.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Whether running it may lose values that a downgrade cannot bring back (a
    /// dropped table or column, a narrower type or character set, as the database
    /// converts values): autogenerate marks such ops in the file.
    pub loses_data: bool,
}

/// An op the dialect cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{dialect} has no {what} ({op})")]
#[non_exhaustive]
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
    // Ops written into an earlier op's statement (MySQL: a key taking over from the one
    // a foreign key rests on; SQLite: a change in the same rebuild of a table), by
    // position.
    let mut taken_over = std::collections::BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::CreateTable(n, _) = op {
            created.insert(n.clone());
        }
        // Only the table an op changes is kept as it was (SQLite needs it); copying the
        // whole catalog per op would make long lists quadratic.
        let before = op.table().and_then(|t| table_in(&state, t));
        op.apply(&mut state);
        let (statements, notes, rebuilt) = match dialect {
            Dialect::Postgres => (r.postgres(op)?, r.postgres_notes(op), None),
            Dialect::Sqlite => {
                let o = r.sqlite(i, ops, before.as_ref(), &state, &created, &mut taken_over)?;
                (o.statements, o.notes, o.rebuilt)
            }
            Dialect::Mysql => {
                let (statements, notes) = r.mysql(i, ops, &state, &mut taken_over)?;
                (statements, notes, None)
            }
        };
        out.push(RenderedOp {
            description: op.to_string(),
            statements,
            notes,
            rebuilt,
            loses_data: loses_data(dialect, op, &state),
        });
    }
    Ok(out)
}

/// Whether running `op` on `dialect` may lose values that a downgrade cannot bring
/// back: a dropped table or column, or a column changed into one that cannot hold
/// every value it held as the database converts them (a narrower type; on MySQL also
/// a character set with fewer characters, the column's own or, for a column that
/// names none, its table's new default). Each database's own rules decide, given
/// the catalog the op leaves (`after`).
fn loses_data(dialect: Dialect, op: &Op, after: &Catalog) -> bool {
    match op {
        Op::DropTable(..) | Op::DropColumn(..) => true,
        Op::AlterColumn { table, from, to } => !match dialect {
            Dialect::Postgres => postgres::keeps_values(from, to),
            Dialect::Sqlite => sqlite::keeps_values(from, to),
            Dialect::Mysql => mysql::keeps_values(from, to, after, table),
        },
        // Only MySQL's table options change values: a new default collation.
        Op::SetTableOptions { table, from, to } => {
            dialect == Dialect::Mysql && !mysql::options_keep_values(from, to, after, table)
        }
        _ => false,
    }
}

/// How a test that asks a database which changes keep values reports a change on
/// which the database (`it`, keeping them or not) and aludel (`ours`) disagree.
#[cfg(test)]
fn disagreement(change: &str, database: &str, it: bool, ours: bool) -> String {
    format!(
        "{change}: {database} {} every value, aludel says it {}",
        if it { "keeps" } else { "does not keep" },
        if ours { "does" } else { "does not" }
    )
}

/// A type as `name(numbers)`: its lower-case name and the numbers in its
/// parentheses (none without them); `None` when they are not all numbers.
fn type_parts(t: &str) -> Option<(String, Vec<u64>)> {
    let (name, args) = match t.split_once('(') {
        Some((n, rest)) => (n.trim(), rest.strip_suffix(')')?),
        None => (t.trim(), ""),
    };
    let numbers = args
        .split(',')
        .filter(|a| !a.trim().is_empty())
        .map(|a| a.trim().parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some((name.to_ascii_lowercase(), numbers))
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
            def.push_str(&format!(
                " GENERATED ALWAYS AS ({}) {}",
                g.expression,
                g.keyword()
            ));
        }
        match c.identity {
            Some(Identity::Always) => def.push_str(" GENERATED ALWAYS AS IDENTITY"),
            Some(Identity::ByDefault) => def.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            _ => {}
        }
        if let Some(d) = &c.default {
            // SQLite prints `DEFAULT (expression)` without its parentheses, and takes
            // anything but a literal only with them.
            if self.dialect == Dialect::Sqlite && !sqlite::sqlite_literal(d) {
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
        let mut sql = format!("CREATE TABLE {name} (\n    {}\n)", parts.join(",\n    "));
        // SQLite's table options (PostgreSQL's tables have none in the catalog).
        let options: Vec<&str> = ["WITHOUT ROWID", "STRICT"]
            .into_iter()
            .filter(|o| t.options.contains_key(*o))
            .collect();
        if !options.is_empty() {
            sql.push(' ');
            sql.push_str(&options.join(", "));
        }
        sql
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
}

/// The table `t` of `catalog`, copied.
fn table_in(catalog: &Catalog, t: &QName) -> Option<Table> {
    catalog
        .schemas
        .get(&t.schema)
        .and_then(|s| s.tables.get(&t.name))
        .cloned()
}

#[cfg(test)]
mod tests;
