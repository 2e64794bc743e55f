//! The vocabulary of schema changes that autogenerate writes. Every [`Op`] carries what
//! its inverse needs (a dropped table keeps its definition), so the downgrade of a
//! generated revision is the upgrade's inverses in reverse order. An op whose inverse
//! would lose information (PostgreSQL cannot remove an enum value) says so.

use std::collections::BTreeMap;
use std::fmt;

use crate::schema::{
    Catalog, Check, Column, EnumType, ForeignKey, Index, PrimaryKey, Schema, Sequence, Table,
    Unique, View,
};

/// A schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    /// The schema.
    pub schema: String,
    /// The object's name in it.
    pub name: String,
}

impl QName {
    /// `schema.name`.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> QName {
        QName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QName {
    /// `schema.name`; just `name` in the schema `""` (MySQL's connection's own
    /// database).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}.{}", self.schema, self.name)
        }
    }
}

/// One schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `CREATE SCHEMA`.
    CreateSchema(String),
    /// `DROP SCHEMA` (only ever of an empty schema).
    DropSchema(String),
    /// A new enum type.
    CreateEnum(QName, EnumType),
    /// An enum type dropped.
    DropEnum(QName, EnumType),
    /// A label added to an enum type, before the label `before` (at the end if none).
    AddEnumValue {
        /// The type.
        name: QName,
        /// The new label.
        value: String,
        /// The label it goes before.
        before: Option<String>,
    },
    /// A label removed from an enum type: PostgreSQL cannot do it, so this only ever
    /// appears as the (lossy) inverse of [`Op::AddEnumValue`].
    RemoveEnumValue {
        /// The type.
        name: QName,
        /// The label.
        value: String,
    },
    /// A new sequence.
    CreateSequence(QName, Sequence),
    /// A sequence dropped.
    DropSequence(QName, Sequence),
    /// A sequence's type, bounds, increment, start or cycling changed, in place: its
    /// current value stays.
    AlterSequence {
        /// The sequence.
        name: QName,
        /// Its settings before.
        from: Sequence,
        /// Its settings after.
        to: Sequence,
    },
    /// A new table with its columns, primary key, uniques and checks (indexes and
    /// foreign keys come as their own ops, after every table exists).
    CreateTable(QName, Table),
    /// A table dropped (after its indexes and foreign keys).
    DropTable(QName, Table),
    /// A table renamed.
    RenameTable {
        /// The old name.
        from: QName,
        /// The new name (same schema).
        to: String,
    },
    /// A new column.
    AddColumn(QName, Column),
    /// A column dropped.
    DropColumn(QName, Column),
    /// A column renamed.
    RenameColumn {
        /// The table.
        table: QName,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A column's type, nullability, default, identity, generation, collation or
    /// comment changed.
    AlterColumn {
        /// The table.
        table: QName,
        /// The column before.
        from: Column,
        /// The column after (same name).
        to: Column,
    },
    /// A primary key added.
    AddPrimaryKey(QName, PrimaryKey),
    /// A primary key dropped.
    DropPrimaryKey(QName, PrimaryKey),
    /// A unique constraint added.
    AddUnique(QName, String, Unique),
    /// A unique constraint dropped.
    DropUnique(QName, String, Unique),
    /// A check constraint added.
    AddCheck(QName, String, Check),
    /// A check constraint dropped.
    DropCheck(QName, String, Check),
    /// An index created.
    CreateIndex(QName, String, Index),
    /// An index dropped.
    DropIndex(QName, String, Index),
    /// A foreign key added.
    AddForeignKey(QName, String, ForeignKey),
    /// A foreign key dropped.
    DropForeignKey(QName, String, ForeignKey),
    /// A view created.
    CreateView(QName, View),
    /// A view dropped.
    DropView(QName, View),
    /// A view's comment changed (its query did not).
    SetViewComment {
        /// The view.
        view: QName,
        /// The comment before.
        from: Option<String>,
        /// The comment after.
        to: Option<String>,
    },
    /// A table's comment changed.
    SetTableComment {
        /// The table.
        table: QName,
        /// The comment before.
        from: Option<String>,
        /// The comment after.
        to: Option<String>,
    },
    /// A table's options changed ([`crate::schema::Table::options`]).
    SetTableOptions {
        /// The table.
        table: QName,
        /// The options before.
        from: BTreeMap<String, String>,
        /// The options after.
        to: BTreeMap<String, String>,
    },
}

impl Op {
    /// The op that undoes this one.
    pub fn inverse(&self) -> Op {
        match self.clone() {
            Op::CreateSchema(s) => Op::DropSchema(s),
            Op::DropSchema(s) => Op::CreateSchema(s),
            Op::CreateEnum(n, e) => Op::DropEnum(n, e),
            Op::DropEnum(n, e) => Op::CreateEnum(n, e),
            Op::AddEnumValue { name, value, .. } => Op::RemoveEnumValue { name, value },
            Op::RemoveEnumValue { name, value } => Op::AddEnumValue {
                name,
                value,
                before: None,
            },
            Op::CreateSequence(n, s) => Op::DropSequence(n, s),
            Op::DropSequence(n, s) => Op::CreateSequence(n, s),
            Op::AlterSequence { name, from, to } => Op::AlterSequence {
                name,
                from: to,
                to: from,
            },
            Op::CreateTable(n, t) => Op::DropTable(n, t),
            Op::DropTable(n, t) => Op::CreateTable(n, t),
            Op::RenameTable { from, to } => Op::RenameTable {
                from: QName::new(from.schema.clone(), to),
                to: from.name,
            },
            Op::AddColumn(t, c) => Op::DropColumn(t, c),
            Op::DropColumn(t, c) => Op::AddColumn(t, c),
            Op::RenameColumn { table, from, to } => Op::RenameColumn {
                table,
                from: to,
                to: from,
            },
            Op::AlterColumn { table, from, to } => Op::AlterColumn {
                table,
                from: to,
                to: from,
            },
            Op::AddPrimaryKey(t, p) => Op::DropPrimaryKey(t, p),
            Op::DropPrimaryKey(t, p) => Op::AddPrimaryKey(t, p),
            Op::AddUnique(t, n, u) => Op::DropUnique(t, n, u),
            Op::DropUnique(t, n, u) => Op::AddUnique(t, n, u),
            Op::AddCheck(t, n, c) => Op::DropCheck(t, n, c),
            Op::DropCheck(t, n, c) => Op::AddCheck(t, n, c),
            Op::CreateIndex(t, n, i) => Op::DropIndex(t, n, i),
            Op::DropIndex(t, n, i) => Op::CreateIndex(t, n, i),
            Op::AddForeignKey(t, n, f) => Op::DropForeignKey(t, n, f),
            Op::DropForeignKey(t, n, f) => Op::AddForeignKey(t, n, f),
            Op::CreateView(n, v) => Op::DropView(n, v),
            Op::DropView(n, v) => Op::CreateView(n, v),
            Op::SetTableComment { table, from, to } => Op::SetTableComment {
                table,
                from: to,
                to: from,
            },
            Op::SetTableOptions { table, from, to } => Op::SetTableOptions {
                table,
                from: to,
                to: from,
            },
            Op::SetViewComment { view, from, to } => Op::SetViewComment {
                view,
                from: to,
                to: from,
            },
        }
    }
}

impl Op {
    /// Changes `catalog` as running this op changes the database: renderers follow
    /// the state this way (SQLite rebuilds a table from what it has become).
    pub fn apply(&self, catalog: &mut Catalog) {
        match self {
            Op::CreateSchema(s) => {
                catalog.schemas.entry(s.clone()).or_default();
            }
            Op::DropSchema(s) => {
                catalog.schemas.remove(s);
            }
            Op::CreateEnum(n, e) => {
                schema_of(catalog, n)
                    .enums
                    .insert(n.name.clone(), e.clone());
            }
            Op::DropEnum(n, _) => {
                schema_of(catalog, n).enums.remove(&n.name);
            }
            Op::AddEnumValue {
                name,
                value,
                before,
            } => {
                if let Some(e) = schema_of(catalog, name).enums.get_mut(&name.name) {
                    let at = before
                        .as_ref()
                        .and_then(|b| e.labels.iter().position(|l| l == b))
                        .unwrap_or(e.labels.len());
                    e.labels.insert(at, value.clone());
                }
            }
            Op::RemoveEnumValue { .. } => {}
            Op::CreateSequence(n, s) => {
                schema_of(catalog, n)
                    .sequences
                    .insert(n.name.clone(), s.clone());
            }
            Op::DropSequence(n, _) => {
                schema_of(catalog, n).sequences.remove(&n.name);
            }
            Op::AlterSequence { name, to, .. } => {
                schema_of(catalog, name)
                    .sequences
                    .insert(name.name.clone(), to.clone());
            }
            Op::CreateTable(n, t) => {
                schema_of(catalog, n)
                    .tables
                    .insert(n.name.clone(), t.clone());
            }
            Op::DropTable(n, _) => {
                schema_of(catalog, n).tables.remove(&n.name);
            }
            Op::RenameTable { from, to } => {
                let s = schema_of(catalog, from);
                if let Some(t) = s.tables.remove(&from.name) {
                    s.tables.insert(to.clone(), t);
                }
            }
            Op::CreateView(n, v) => {
                schema_of(catalog, n)
                    .views
                    .insert(n.name.clone(), v.clone());
            }
            Op::DropView(n, _) => {
                schema_of(catalog, n).views.remove(&n.name);
            }
            Op::SetViewComment { view, to, .. } => {
                if let Some(v) = schema_of(catalog, view).views.get_mut(&view.name) {
                    v.comment = to.clone();
                }
            }
            _ => {
                if let Some(t) = self.table().and_then(|t| table_of(catalog, t)) {
                    self.apply_to_table(t);
                }
            }
        }
    }

    /// The table an op on a table's parts works on.
    pub fn table(&self) -> Option<&QName> {
        match self {
            Op::AddColumn(t, _)
            | Op::DropColumn(t, _)
            | Op::AddPrimaryKey(t, _)
            | Op::DropPrimaryKey(t, _)
            | Op::AddUnique(t, ..)
            | Op::DropUnique(t, ..)
            | Op::AddCheck(t, ..)
            | Op::DropCheck(t, ..)
            | Op::CreateIndex(t, ..)
            | Op::DropIndex(t, ..)
            | Op::AddForeignKey(t, ..)
            | Op::DropForeignKey(t, ..)
            | Op::CreateTable(t, _)
            | Op::DropTable(t, _) => Some(t),
            Op::RenameColumn { table, .. }
            | Op::AlterColumn { table, .. }
            | Op::SetTableComment { table, .. }
            | Op::SetTableOptions { table, .. } => Some(table),
            Op::RenameTable { from, .. } => Some(from),
            _ => None,
        }
    }

    fn apply_to_table(&self, t: &mut Table) {
        match self {
            Op::AddColumn(_, c) => t.columns.push(c.clone()),
            Op::DropColumn(_, c) => t.columns.retain(|x| x.name != c.name),
            Op::RenameColumn { from, to, .. } => {
                for c in t.columns.iter_mut().filter(|c| &c.name == from) {
                    c.name = to.clone();
                }
            }
            Op::AlterColumn { to, .. } => {
                for c in t.columns.iter_mut().filter(|c| c.name == to.name) {
                    *c = to.clone();
                }
            }
            Op::AddPrimaryKey(_, p) => t.primary_key = Some(p.clone()),
            Op::DropPrimaryKey(..) => t.primary_key = None,
            Op::AddUnique(_, n, u) => {
                t.uniques.insert(n.clone(), u.clone());
            }
            Op::DropUnique(_, n, _) => {
                t.uniques.remove(n);
            }
            Op::AddCheck(_, n, c) => {
                t.checks.insert(n.clone(), c.clone());
            }
            Op::DropCheck(_, n, _) => {
                t.checks.remove(n);
            }
            Op::CreateIndex(_, n, i) => {
                t.indexes.insert(n.clone(), i.clone());
            }
            Op::DropIndex(_, n, _) => {
                t.indexes.remove(n);
            }
            Op::AddForeignKey(_, n, f) => {
                t.foreign_keys.insert(n.clone(), f.clone());
            }
            Op::DropForeignKey(_, n, _) => {
                t.foreign_keys.remove(n);
            }
            Op::SetTableComment { to, .. } => t.comment = to.clone(),
            Op::SetTableOptions { to, .. } => t.options = to.clone(),
            _ => {}
        }
    }
}

fn schema_of<'c>(catalog: &'c mut Catalog, name: &QName) -> &'c mut Schema {
    catalog.schemas.entry(name.schema.clone()).or_default()
}

fn table_of<'c>(catalog: &'c mut Catalog, name: &QName) -> Option<&'c mut Table> {
    catalog
        .schemas
        .get_mut(&name.schema)?
        .tables
        .get_mut(&name.name)
}

impl fmt::Display for Op {
    /// One line for `check` and for the list `revision --autogenerate` prints:
    /// `add table public.orders`, `alter column public.orders.total (type, nullable)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::CreateSchema(s) => write!(f, "add schema {s}"),
            Op::DropSchema(s) => write!(f, "remove schema {s}"),
            Op::CreateEnum(n, e) => write!(f, "add enum type {n} ({})", e.labels.join(", ")),
            Op::DropEnum(n, _) => write!(f, "remove enum type {n}"),
            Op::AddEnumValue { name, value, .. } => {
                write!(f, "add value '{value}' to enum type {name}")
            }
            Op::RemoveEnumValue { name, value } => {
                write!(f, "remove value '{value}' from enum type {name}")
            }
            Op::CreateSequence(n, _) => write!(f, "add sequence {n}"),
            Op::DropSequence(n, _) => write!(f, "remove sequence {n}"),
            Op::AlterSequence { name, .. } => write!(f, "alter sequence {name}"),
            Op::CreateTable(n, _) => write!(f, "add table {n}"),
            Op::DropTable(n, _) => write!(f, "remove table {n}"),
            Op::RenameTable { from, to } => write!(f, "rename table {from} to {to}"),
            Op::AddColumn(t, c) => write!(f, "add column {t}.{}", c.name),
            Op::DropColumn(t, c) => write!(f, "remove column {t}.{}", c.name),
            Op::RenameColumn { table, from, to } => {
                write!(f, "rename column {table}.{from} to {to}")
            }
            Op::AlterColumn { table, from, to } => {
                write!(
                    f,
                    "alter column {table}.{} ({})",
                    to.name,
                    column_changes(from, to).join(", ")
                )
            }
            Op::AddPrimaryKey(t, p) => write!(f, "add primary key {} on {t}", p.name),
            Op::DropPrimaryKey(t, p) => write!(f, "remove primary key {} on {t}", p.name),
            Op::AddUnique(t, n, _) => write!(f, "add unique constraint {n} on {t}"),
            Op::DropUnique(t, n, _) => write!(f, "remove unique constraint {n} on {t}"),
            Op::AddCheck(t, n, _) => write!(f, "add check constraint {n} on {t}"),
            Op::DropCheck(t, n, _) => write!(f, "remove check constraint {n} on {t}"),
            Op::CreateIndex(t, n, _) => write!(f, "add index {n} on {t}"),
            Op::DropIndex(t, n, _) => write!(f, "remove index {n} on {t}"),
            Op::AddForeignKey(t, n, _) => write!(f, "add foreign key {n} on {t}"),
            Op::DropForeignKey(t, n, _) => write!(f, "remove foreign key {n} on {t}"),
            Op::CreateView(n, _) => write!(f, "add view {n}"),
            Op::DropView(n, _) => write!(f, "remove view {n}"),
            Op::SetTableComment { table, .. } => write!(f, "change the comment of table {table}"),
            Op::SetTableOptions { table, from, to } => {
                let changed: Vec<&str> = from
                    .keys()
                    .chain(to.keys())
                    .filter(|k| from.get(*k) != to.get(*k))
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                write!(
                    f,
                    "change the options of table {table} ({})",
                    changed.join(", ")
                )
            }
            Op::SetViewComment { view, .. } => write!(f, "change the comment of view {view}"),
        }
    }
}

/// What differs between two versions of a column, by property name.
pub fn column_changes(from: &Column, to: &Column) -> Vec<&'static str> {
    let mut changes = Vec::new();
    if from.data_type != to.data_type {
        changes.push("type");
    }
    if from.nullable != to.nullable {
        changes.push("nullable");
    }
    if from.default != to.default {
        changes.push("default");
    }
    if from.identity != to.identity {
        changes.push("identity");
    }
    if from.generated != to.generated {
        changes.push("generated");
    }
    if from.collation != to.collation {
        changes.push("collation");
    }
    if from.comment != to.comment {
        changes.push("comment");
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            nullable: true,
            ..Column::default()
        }
    }

    #[test]
    fn inverses_undo_and_invert_back() {
        let t = QName::new("public", "orders");
        let ops = [
            Op::CreateTable(t.clone(), Table::default()),
            Op::AddColumn(t.clone(), col("note", "text")),
            Op::AlterColumn {
                table: t.clone(),
                from: col("total", "integer"),
                to: col("total", "bigint"),
            },
            Op::RenameTable {
                from: t.clone(),
                to: "purchases".into(),
            },
            Op::RenameColumn {
                table: t.clone(),
                from: "a".into(),
                to: "b".into(),
            },
            Op::SetTableComment {
                table: t.clone(),
                from: None,
                to: Some("all orders".into()),
            },
        ];
        for op in ops {
            assert_eq!(op.inverse().inverse(), op, "{op}");
        }
        assert_eq!(
            Op::RenameTable {
                from: t.clone(),
                to: "purchases".into()
            }
            .inverse(),
            Op::RenameTable {
                from: QName::new("public", "purchases"),
                to: "orders".into()
            }
        );
    }

    #[test]
    fn applying_a_diff_reaches_the_target_and_its_inverse_comes_back() {
        use crate::diff::{Renames, diff};
        let t = |cols: &[&str]| Table {
            columns: cols.iter().map(|c| col(c, "text")).collect(),
            ..Table::default()
        };
        let mut from = Catalog::default();
        let s = from.schemas.entry("public".into()).or_default();
        s.tables.insert("a".into(), t(&["x", "y"]));
        s.tables.insert("gone".into(), t(&["x"]));
        let mut to = Catalog::default();
        let s = to.schemas.entry("public".into()).or_default();
        s.tables.insert("a".into(), t(&["x", "z"]));
        s.tables.insert("new".into(), t(&["x"]));
        let d = diff(&from, &to, &Renames::default());
        let mut state = from.clone();
        for op in &d.ops {
            op.apply(&mut state);
        }
        assert_eq!(state, to);
        for op in d.inverse() {
            op.apply(&mut state);
        }
        assert_eq!(state, from);
    }

    #[test]
    fn descriptions_name_the_object_and_what_changed() {
        let t = QName::new("public", "orders");
        let mut to = col("total", "bigint");
        to.nullable = false;
        let op = Op::AlterColumn {
            table: t.clone(),
            from: col("total", "integer"),
            to,
        };
        assert_eq!(
            op.to_string(),
            "alter column public.orders.total (type, nullable)"
        );
        assert_eq!(
            Op::DropColumn(t.clone(), col("x", "text")).to_string(),
            "remove column public.orders.x"
        );
    }
}
