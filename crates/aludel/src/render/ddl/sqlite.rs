//! Schema changes as SQLite writes them: what `ALTER TABLE` cannot change in place
//! becomes a rebuild of the table, and a new table takes its foreign keys inline.

use super::{DdlError, Renderer, table_in};
use crate::diff::mentions;
use crate::ops::{Op, QName, column_changes};
use crate::schema::{Catalog, Column, ForeignKey, Table};
use crate::url::Dialect;
use std::collections::{BTreeMap, BTreeSet};

/// The SQL of one op on SQLite.
pub(super) struct SqliteOp {
    pub(super) statements: Vec<String>,
    /// The table it rebuilds, if it does.
    pub(super) rebuilt: Option<QName>,
    pub(super) notes: Vec<String>,
}

impl Renderer<'_> {
    /// The SQL of `ops[i]` on SQLite: `before` is its table before it, `after` the
    /// catalog once it is applied, `created` the tables made earlier in the list. The
    /// ops that follow it and each rebuild the same table are written into its one
    /// rebuild, of the table as the last of them leaves it (a rebuild copies every
    /// row): `taken_over` holds them by position, with this op's description.
    pub(super) fn sqlite(
        &self,
        i: usize,
        ops: &[Op],
        before: Option<&Table>,
        after: &Catalog,
        created: &BTreeSet<QName>,
        taken_over: &mut BTreeMap<usize, String>,
    ) -> Result<SqliteOp, DdlError> {
        let op = &ops[i];
        if let Some(with) = taken_over.remove(&i) {
            return Ok(SqliteOp {
                statements: Vec::new(),
                rebuilt: None,
                notes: vec![format!(
                    "written above, in one rebuild of the table with \"{with}\""
                )],
            });
        }
        let rest = &ops[i + 1..];
        if let Some(statements) = self.sqlite_in_place(op, before, rest, created)? {
            return Ok(SqliteOp {
                statements,
                rebuilt: None,
                notes: Vec::new(),
            });
        }
        let unsupported = |what: &str| DdlError {
            dialect: Dialect::Sqlite,
            what: what.into(),
            op: op.to_string(),
        };
        let Some(t) = op.table() else {
            return Err(unsupported("such a change"));
        };
        let (Some(old), Some(mut new)) = (before, table_in(after, t)) else {
            return Err(unsupported("such a change to a table it does not know"));
        };
        // The table alone, for the later ops to apply to.
        let mut alone = Catalog::default();
        alone
            .schemas
            .entry(t.schema.clone())
            .or_default()
            .tables
            .insert(t.name.clone(), new.clone());
        let mut later_ones = 0;
        for (k, later) in rest.iter().enumerate() {
            let in_place = self.sqlite_in_place(later, Some(&new), &rest[k + 1..], created);
            if later.table() != Some(t) || !matches!(in_place, Ok(None)) {
                break;
            }
            later.apply(&mut alone);
            let Some(next) = table_in(&alone, t) else {
                break;
            };
            new = next;
            taken_over.insert(i + 1 + k, op.to_string());
            later_ones += 1;
        }
        let notes = match later_ones {
            0 => Vec::new(),
            1 => vec!["the table is rebuilt once, with the next change below".to_string()],
            n => vec![format!(
                "the table is rebuilt once, with the next {n} changes below"
            )],
        };
        Ok(SqliteOp {
            statements: self.sqlite_rebuild(t, old, &new),
            rebuilt: Some(t.clone()),
            notes,
        })
    }

    /// The statements of `op` where SQLite makes it without rebuilding its table;
    /// `None` where it must rebuild it.
    fn sqlite_in_place(
        &self,
        op: &Op,
        before: Option<&Table>,
        rest: &[Op],
        created: &BTreeSet<QName>,
    ) -> Result<Option<Vec<String>>, DdlError> {
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
            _ => return Ok(None),
        };
        Ok(Some(statements))
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

/// Whether SQLite takes `text` as a default without parentheses: a number (signed or
/// not), a string or blob literal, `NULL`, `TRUE`, `FALSE`, `CURRENT_TIME`,
/// `CURRENT_DATE` or `CURRENT_TIMESTAMP`.
pub(super) fn sqlite_literal(text: &str) -> bool {
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
        && c.generated.as_ref().is_none_or(|g| !g.stored)
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
        && !t.columns.iter().any(|c| {
            c.generated
                .as_ref()
                .is_some_and(|g| mentions(&g.expression, name))
        })
}

/// Whether SQLite keeps every value of column `from` when the table is rebuilt with
/// `to`: SQLite checks no length or range, and converts a value only by the new
/// column's type affinity, so the values stay as they are when both types store
/// values alike (the same affinity; INTEGER and NUMERIC, which differ only in `CAST`)
/// or the new one converts nothing (`BLOB` or no type).
pub(super) fn keeps_values(from: &Column, to: &Column) -> bool {
    types_keep_values(&from.data_type, &to.data_type)
}

fn types_keep_values(from: &str, to: &str) -> bool {
    let stores = |declared: &str| match affinity(declared) {
        Affinity::Numeric => Affinity::Integer,
        other => other,
    };
    let (a, b) = (stores(from), stores(to));
    a == b || b == Affinity::Blob
}

#[derive(Debug, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

/// A declared type's affinity, by SQLite's rules in their order.
fn affinity(declared: &str) -> Affinity {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Affinity::Integer
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|w| t.contains(w)) {
        Affinity::Text
    } else if t.contains("BLOB") || t.trim().is_empty() {
        Affinity::Blob
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|w| t.contains(w)) {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

#[cfg(test)]
mod value_tests {
    use super::{Affinity, affinity, types_keep_values};

    #[test]
    fn affinity_follows_sqlites_rules_in_order() {
        for (declared, expected) in [
            ("integer", Affinity::Integer),
            ("bigint", Affinity::Integer),
            ("varchar(20)", Affinity::Text),
            ("CHARINT", Affinity::Integer),
            ("text", Affinity::Text),
            ("blob", Affinity::Blob),
            ("", Affinity::Blob),
            ("double precision", Affinity::Real),
            ("floating point", Affinity::Integer),
            ("numeric(10,2)", Affinity::Numeric),
            ("boolean", Affinity::Numeric),
        ] {
            assert_eq!(affinity(declared), expected, "{declared}");
        }
    }

    /// SQLite itself says which affinity a declared type has, by how a column of it
    /// stores the text `'12'` and the integer `12` (INTEGER and NUMERIC store alike).
    #[cfg(feature = "sqlite")]
    #[test]
    fn affinity_agrees_with_sqlite_itself() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let stored = |declared: &str| -> (String, String) {
            db.execute_batch(&format!(
                "DROP TABLE IF EXISTS t; CREATE TABLE t (c {declared}); INSERT INTO t VALUES ('12'), (12);"
            ))
            .unwrap();
            let types: Vec<String> = db
                .prepare("SELECT typeof(c) FROM t ORDER BY rowid")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (types[0].clone(), types[1].clone())
        };
        for declared in [
            "integer",
            "bigint",
            "varchar(20)",
            "CHARINT",
            "text",
            "clob",
            "blob",
            "",
            "double precision",
            "real",
            "floating point",
            "numeric(10,2)",
            "boolean",
            "date",
        ] {
            let expected = match affinity(declared) {
                Affinity::Integer | Affinity::Numeric => ("integer", "integer"),
                Affinity::Real => ("real", "real"),
                Affinity::Text => ("text", "text"),
                Affinity::Blob => ("text", "integer"),
            };
            let (text, integer) = stored(declared);
            assert_eq!((text.as_str(), integer.as_str()), expected, "{declared:?}");
        }
    }

    /// SQLite itself says which changes of type keep every value: a column of each
    /// declared type holds a value of every kind, and the table is rebuilt as aludel
    /// rebuilds it (a new table of the other type, filled by `INSERT ... SELECT`);
    /// the change keeps values when each reads back as the same value of the same
    /// storage class.
    #[cfg(feature = "sqlite")]
    #[test]
    fn kept_values_agree_with_sqlite_itself() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let values = [
            "12",
            "'12'",
            "' 12 '",
            "1.5",
            "'1.5'",
            "12.0",
            "'12.0'",
            "9007199254740993",
            "'9007199254740993'",
            "'1e3'",
            "'abc'",
            "x'00ff'",
            "NULL",
        ];
        let types = [
            "integer",
            "bigint",
            "numeric",
            "decimal(10,2)",
            "boolean",
            "date",
            "text",
            "varchar(20)",
            "clob",
            "blob",
            "",
            "real",
            "double precision",
        ];
        let mut wrong = Vec::new();
        for from in types {
            for to in types {
                db.execute_batch(&format!(
                    "DROP TABLE IF EXISTS a; DROP TABLE IF EXISTS b; \
                     CREATE TABLE a (v {from}); CREATE TABLE b (v {to}); \
                     INSERT INTO a VALUES ({}); INSERT INTO b SELECT v FROM a;",
                    values.join("), (")
                ))
                .unwrap();
                let changed: i64 = db
                    .query_row(
                        "SELECT count(*) FROM a JOIN b ON a.rowid = b.rowid \
                         WHERE typeof(a.v) <> typeof(b.v) OR quote(a.v) IS NOT quote(b.v)",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                let (sqlite, ours) = (changed == 0, types_keep_values(from, to));
                if sqlite != ours {
                    let change = format!("{from:?} -> {to:?}");
                    wrong.push(super::super::disagreement(&change, "SQLite", sqlite, ours));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
