//! Schema changes as PostgreSQL writes them: every change in place, `ALTER TABLE`
//! by `ALTER TABLE`.

use super::{DdlError, Renderer};
use crate::ops::{Op, QName};
use crate::render::quote_literal;
use crate::schema::{Column, Identity};
use crate::url::Dialect;

impl Renderer<'_> {
    pub(super) fn postgres(&self, op: &Op) -> Result<Vec<String>, DdlError> {
        let alter = |t: &QName| format!("ALTER TABLE {}", self.qname(t));
        // The options the catalog holds are MySQL's and SQLite's.
        let no_options = || DdlError {
            dialect: Dialect::Postgres,
            what: "table options (MySQL's and SQLite's)".into(),
            op: op.to_string(),
        };
        Ok(match op {
            Op::SetTableOptions { .. } => return Err(no_options()),
            Op::CreateTable(_, t) if !t.options.is_empty() => return Err(no_options()),
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
        })
    }

    pub(super) fn postgres_notes(&self, op: &Op) -> Vec<String> {
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
}

/// Whether PostgreSQL converts every value of column `from` into `to` unchanged, as
/// aludel changes it (`USING column::type`, an explicit cast, which cuts a longer
/// string rather than failing): the same type, a wider integer, an integer into a
/// numeric with as many integer digits, a numeric with at least its integer digits
/// and scale, `real` into `double precision`, a longer or unbounded string (a
/// `character` is read without its trailing spaces), a finer time or interval, `jsonb`
/// into `json`. Anything else may lose or change values. The server itself checks
/// these rules (`server_tests`).
pub(super) fn keeps_values(from: &Column, to: &Column) -> bool {
    widens(&from.data_type, &to.data_type)
}

/// A normalised type's name without its modifier and the modifier's numbers
/// (`timestamp(3) with time zone`: `timestamp with time zone`, `[3]`); `None` for an
/// array or a modifier that is not numbers.
fn parts(t: &str) -> Option<(String, Vec<u64>)> {
    if t.contains('[') {
        return None;
    }
    match (t.find('('), t.find(')')) {
        (Some(open), Some(close)) if open < close => {
            let name = format!("{} {}", &t[..open], &t[close + 1..]);
            let args = t[open + 1..close]
                .split(',')
                .map(|a| a.trim().parse().ok())
                .collect::<Option<Vec<u64>>>()?;
            Some((name.split_whitespace().collect::<Vec<_>>().join(" "), args))
        }
        _ => Some((t.trim().to_string(), Vec::new())),
    }
}

fn widens(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let (Some((fname, fargs)), Some((tname, targs))) = (parts(from), parts(to)) else {
        return false;
    };
    // Decimal digits an integer type needs.
    let digits = |n: &str| match n {
        "smallint" => Some(5),
        "integer" => Some(10),
        "bigint" => Some(19),
        _ => None,
    };
    // A string's length; `None` is unbounded (`character` alone is `character(1)`).
    let length = |n: &str, args: &[u64]| match (n, args.first()) {
        ("character", None) => Some(1),
        (_, first) => first.copied(),
    };
    let holds = |from: Option<u64>, to: Option<u64>| match (from, to) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(f), Some(t)) => t >= f,
    };
    // A time's fractional digits (6 when none is given).
    let precision = |args: &[u64]| args.first().copied().unwrap_or(6);
    match (fname.as_str(), tname.as_str()) {
        (f, t) if digits(f).is_some() && digits(t).is_some() => digits(f) <= digits(t),
        (f, "numeric") if digits(f).is_some() => match targs[..] {
            [] => true,
            [p] => Some(p) >= digits(f),
            [p, s, ..] => Some(p.saturating_sub(s)) >= digits(f),
        },
        ("numeric", "numeric") => match (&fargs[..], &targs[..]) {
            (_, []) => true,
            ([], _) => false,
            (f, t) => {
                let ps = |a: &[u64]| (a[0], a.get(1).copied().unwrap_or(0));
                let ((fp, fs), (tp, ts)) = (ps(f), ps(t));
                ts >= fs && tp.saturating_sub(ts) >= fp.saturating_sub(fs)
            }
        },
        ("real", "double precision") => true,
        ("character varying" | "character" | "text", "text") => true,
        ("character varying" | "character" | "text", "character varying")
        | ("character", "character") => holds(length(&fname, &fargs), length(&tname, &targs)),
        (f, t) if f == t && (f.starts_with("time") || f == "interval") => {
            precision(&targs) >= precision(&fargs)
        }
        ("jsonb", "json") => true,
        _ => false,
    }
}

#[cfg(test)]
mod server_tests;

#[cfg(test)]
mod value_tests {
    use super::widens;

    #[test]
    fn wider_types_keep_every_value() {
        for (from, to, keeps) in [
            ("integer", "bigint", true),
            ("bigint", "integer", false),
            ("character varying(50)", "character varying(100)", true),
            ("character varying(100)", "character varying(50)", false),
            ("character varying(50)", "text", true),
            ("text", "character varying(50)", false),
            ("text", "integer", false),
            ("numeric(10,2)", "numeric(12,2)", true),
            ("numeric(12,2)", "numeric(12,3)", false),
            ("numeric(12,2)", "numeric(14,4)", true),
            ("numeric(12,2)", "numeric", true),
            ("integer", "numeric(10,0)", true),
            ("integer", "numeric(11,2)", false),
            ("character(10)", "character varying(10)", true),
            ("character varying(10)", "character(10)", false),
            (
                "timestamp(3) without time zone",
                "timestamp without time zone",
                true,
            ),
            (
                "timestamp without time zone",
                "timestamp(3) without time zone",
                false,
            ),
            (
                "timestamp without time zone",
                "timestamp with time zone",
                false,
            ),
            ("integer[]", "bigint[]", false),
        ] {
            assert_eq!(widens(from, to), keeps, "{from} -> {to}");
        }
    }
}
