//! Two catalogs into the ordered [`Op`]s that turn the first into the second.
//!
//! The order runs on a real database: declared renames come first, so every later op
//! can name a table or column as it is in the desired schema; views and foreign keys
//! that stand in the way are dropped; an enum type that must be recreated is dropped
//! before its new version is created; then schemas, enum types and sequences appear;
//! then tables are created (with their primary key, unique and check constraints,
//! which no other table depends on), altered, and dropped; then types no longer used
//! go; then constraints and indexes are added to existing tables, indexes to new ones,
//! foreign keys last of the tables, and views at the very end. A dropped table's
//! indexes and foreign keys are dropped as ops of their own, so the inverse of the
//! whole list, reversed, rebuilds everything: that is the downgrade.
//!
//! Renames cannot be told from a drop and an add by looking at two schemas; the user
//! says which with [`Renames`], and [`Diff::suggestions`] lists the likely ones.

use std::collections::{BTreeMap, BTreeSet};

use crate::ops::{Op, QName};
use crate::schema::{Catalog, Schema, Table};

/// Renames the user declared (`--rename old=new`, `--rename table.old=new`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Tables: old name to new name (in the same schema).
    pub tables: Vec<(String, String)>,
    /// Columns: table (its new name if it is renamed too), old name, new name.
    pub columns: Vec<(String, String, String)>,
}

impl Renames {
    /// Parses one `--rename` value: `old=new` for a table, `table.old=new` for a column.
    ///
    /// ```
    /// use aludel::diff::Renames;
    /// let mut r = Renames::default();
    /// r.add("users.fullname=name").unwrap();
    /// r.add("customer=client").unwrap();
    /// assert_eq!(r.columns, [("users".to_string(), "fullname".to_string(), "name".to_string())]);
    /// assert_eq!(r.tables, [("customer".to_string(), "client".to_string())]);
    /// assert!(r.add("nothing").is_err());
    /// ```
    pub fn add(&mut self, text: &str) -> Result<(), String> {
        let Some((old, new)) = text.split_once('=') else {
            return Err(format!(
                "--rename {text}: expected OLD=NEW for a table or TABLE.OLD=NEW for a column"
            ));
        };
        let (old, new) = (old.trim(), new.trim());
        if new.is_empty() || new.contains('.') {
            return Err(format!("--rename {text}: the new name is one plain name"));
        }
        match old.split_once('.') {
            Some((table, column)) if !table.is_empty() && !column.is_empty() => {
                self.columns.push((table.into(), column.into(), new.into()));
            }
            None if !old.is_empty() => self.tables.push((old.into(), new.into())),
            _ => return Err(format!("--rename {text}: the old name is empty")),
        }
        Ok(())
    }
}

/// The changes from one catalog to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diff {
    /// The changes, in an order that runs.
    pub ops: Vec<Op>,
    /// Likely renames the user did not declare, each as a sentence that says which
    /// `--rename` to pass.
    pub suggestions: Vec<String>,
}

impl Diff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The ops that undo [`Diff::ops`], in an order that runs.
    pub fn inverse(&self) -> Vec<Op> {
        self.ops.iter().rev().map(Op::inverse).collect()
    }
}

/// The ops of each phase, concatenated at the end in phase order.
#[derive(Default)]
struct Phases {
    renames: Vec<Op>,
    drop_views: Vec<Op>,
    drop_foreign_keys: Vec<Op>,
    drop_indexes: Vec<Op>,
    drop_constraints: Vec<Op>,
    drop_replaced_types: Vec<Op>,
    create_types: Vec<Op>,
    create_tables: Vec<Op>,
    alter_tables: Vec<Op>,
    drop_columns: Vec<Op>,
    drop_tables: Vec<Op>,
    drop_types: Vec<Op>,
    add_constraints: Vec<Op>,
    /// After the keys: SQLite's `WITHOUT ROWID` needs its table's primary key.
    table_options: Vec<Op>,
    create_indexes: Vec<Op>,
    add_foreign_keys: Vec<Op>,
    create_views: Vec<Op>,
}

impl Phases {
    fn into_ops(self) -> Vec<Op> {
        [
            self.renames,
            self.drop_views,
            self.drop_foreign_keys,
            self.drop_indexes,
            self.drop_constraints,
            self.drop_replaced_types,
            self.create_types,
            self.create_tables,
            self.alter_tables,
            self.drop_columns,
            self.drop_tables,
            self.drop_types,
            self.add_constraints,
            self.table_options,
            self.create_indexes,
            self.add_foreign_keys,
            self.create_views,
        ]
        .concat()
    }
}

/// The ops that turn `from` (the database) into `to` (the desired schema).
pub fn diff(from: &Catalog, to: &Catalog, renames: &Renames) -> Diff {
    let mut p = Phases::default();
    let mut suggestions = Vec::new();
    let empty = Schema::default();
    let names: BTreeSet<&String> = from.schemas.keys().chain(to.schemas.keys()).collect();
    for schema_name in names {
        let old = from.schemas.get(schema_name);
        let new = to.schemas.get(schema_name);
        if old.is_none() {
            p.create_types.push(Op::CreateSchema(schema_name.clone()));
        }
        let old_schema = apply_renames(old.unwrap_or(&empty), schema_name, renames, &mut p);
        diff_schema(
            schema_name,
            &old_schema,
            new.unwrap_or(&empty),
            &mut p,
            &mut suggestions,
        );
        if new.is_none() {
            p.drop_types.push(Op::DropSchema(schema_name.clone()));
        }
    }
    // A view can read another: it is created after it and dropped before it.
    p.create_views = order_views(p.create_views, false);
    p.drop_views = order_views(p.drop_views, true);
    Diff {
        ops: p.into_ops(),
        suggestions,
    }
}

/// The views of `ops` (all [`Op::CreateView`] or all [`Op::DropView`]) in an order
/// where each comes after the views its definition mentions, or before them when
/// `dependents_first` (for drops). Otherwise the order stays as it is; a cycle (only
/// possible from a name that merely looks like a reference) keeps it too.
fn order_views(ops: Vec<Op>, dependents_first: bool) -> Vec<Op> {
    let view = |op: &Op| match op {
        Op::CreateView(n, v) | Op::DropView(n, v) => Some((n.clone(), v.definition.clone())),
        _ => None,
    };
    let views: Vec<Option<(QName, String)>> = ops.iter().map(view).collect();
    // reads[i]: the indexes of the other views that view i mentions.
    let reads: Vec<Vec<usize>> = views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let Some((_, definition)) = v else {
                return Vec::new();
            };
            views
                .iter()
                .enumerate()
                .filter(|(j, w)| {
                    *j != i
                        && w.as_ref()
                            .is_some_and(|(n, _)| mentions(definition, &n.name))
                })
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut placed = vec![false; ops.len()];
    let mut order = Vec::with_capacity(ops.len());
    while order.len() < ops.len() {
        // The first view not placed whose prerequisites are: what it reads when
        // creating, what reads it when dropping.
        let ready = |i: usize| {
            if dependents_first {
                (0..ops.len()).all(|j| placed[j] || j == i || !reads[j].contains(&i))
            } else {
                reads[i].iter().all(|&j| placed[j])
            }
        };
        let next = (0..ops.len())
            .find(|&i| !placed[i] && ready(i))
            .or_else(|| (0..ops.len()).find(|&i| !placed[i]));
        let Some(i) = next else { break };
        placed[i] = true;
        order.push(i);
    }
    let mut ops: Vec<Option<Op>> = ops.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| ops[i].take()).collect()
}

/// Whether `text` mentions `name` as a word (case-insensitive): quoted or not,
/// qualified or not. It may see a reference where there is none (a column of the same
/// name), which only costs an order (or a SQLite rebuild) that was not needed.
pub(crate) fn mentions(text: &str, name: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    text.match_indices(&name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// The old schema as it is after the declared renames, which become ops.
fn apply_renames(old: &Schema, schema: &str, renames: &Renames, p: &mut Phases) -> Schema {
    let mut renamed = old.clone();
    for (from, to) in &renames.tables {
        if renamed.tables.contains_key(to) {
            continue;
        }
        if let Some(table) = renamed.tables.remove(from) {
            p.renames.push(Op::RenameTable {
                from: QName::new(schema, from.clone()),
                to: to.clone(),
            });
            renamed.tables.insert(to.clone(), table);
        }
    }
    for (table_name, from, to) in &renames.columns {
        let Some(table) = renamed.tables.get_mut(table_name) else {
            continue;
        };
        if table.column(to).is_some() {
            continue;
        }
        if let Some(column) = table.columns.iter_mut().find(|c| &c.name == from) {
            column.name = to.clone();
            p.renames.push(Op::RenameColumn {
                table: QName::new(schema, table_name.clone()),
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    renamed
}

fn diff_schema(
    schema: &str,
    old: &Schema,
    new: &Schema,
    p: &mut Phases,
    suggestions: &mut Vec<String>,
) {
    let q = |name: &str| QName::new(schema, name);

    // Tables whose columns change type or go: PostgreSQL refuses both while a view
    // reads the column, so the views that read such a table are re-made around it.
    let reshaped: Vec<&String> = old
        .tables
        .iter()
        .filter(|(name, t)| {
            new.tables.get(*name).is_some_and(|n| {
                t.columns.iter().any(|c| {
                    n.column(&c.name)
                        .is_none_or(|nc| nc.data_type != c.data_type)
                })
            })
        })
        .map(|(name, _)| name)
        .collect();
    // Views: a changed query is dropped and created again, and so is every view that
    // reads one dropped (PostgreSQL refuses to drop a view another reads) or a
    // reshaped table; a changed comment alone is only a comment.
    let mut dropped: BTreeSet<&String> = old
        .views
        .iter()
        .filter(|(name, view)| {
            new.views
                .get(*name)
                .is_none_or(|v| v.definition != view.definition)
                || reshaped.iter().any(|t| mentions(&view.definition, t))
        })
        .map(|(name, _)| name)
        .collect();
    loop {
        let readers: Vec<&String> = old
            .views
            .iter()
            .filter(|(name, view)| {
                !dropped.contains(name) && dropped.iter().any(|d| mentions(&view.definition, d))
            })
            .map(|(name, _)| name)
            .collect();
        if readers.is_empty() {
            break;
        }
        dropped.extend(readers);
    }
    for (name, view) in &old.views {
        if dropped.contains(name) {
            p.drop_views.push(Op::DropView(q(name), view.clone()));
        } else if let Some(v) = new.views.get(name)
            && v.comment != view.comment
        {
            p.create_views.push(Op::SetViewComment {
                view: q(name),
                from: view.comment.clone(),
                to: v.comment.clone(),
            });
        }
    }
    for (name, view) in &new.views {
        if !old.views.contains_key(name) || dropped.contains(name) {
            p.create_views.push(Op::CreateView(q(name), view.clone()));
        }
    }

    // Enum types: labels added in place become ADD VALUE; anything else recreates.
    for (name, e) in &new.enums {
        match old.enums.get(name) {
            None => p.create_types.push(Op::CreateEnum(q(name), e.clone())),
            Some(o) if o == e => {}
            Some(o) if is_subsequence(&o.labels, &e.labels) => {
                for (i, label) in e.labels.iter().enumerate() {
                    if !o.labels.contains(label) {
                        let before = e.labels[i + 1..]
                            .iter()
                            .find(|l| o.labels.contains(l))
                            .cloned();
                        p.create_types.push(Op::AddEnumValue {
                            name: q(name),
                            value: label.clone(),
                            before,
                        });
                    }
                }
            }
            Some(o) => {
                // The old type goes before the new one of the same name comes.
                p.drop_replaced_types.push(Op::DropEnum(q(name), o.clone()));
                p.create_types.push(Op::CreateEnum(q(name), e.clone()));
            }
        }
    }
    for (name, e) in &old.enums {
        if !new.enums.contains_key(name) {
            p.drop_types.push(Op::DropEnum(q(name), e.clone()));
        }
    }

    // Sequences: a changed one is altered in place, keeping its current value and
    // whatever uses it.
    for (name, s) in &new.sequences {
        match old.sequences.get(name) {
            Some(o) if o == s => {}
            Some(o) => p.create_types.push(Op::AlterSequence {
                name: q(name),
                from: o.clone(),
                to: s.clone(),
            }),
            None => p.create_types.push(Op::CreateSequence(q(name), s.clone())),
        }
    }
    for (name, s) in &old.sequences {
        if !new.sequences.contains_key(name) {
            p.drop_types.push(Op::DropSequence(q(name), s.clone()));
        }
    }

    // Tables.
    let added: Vec<&String> = new
        .tables
        .keys()
        .filter(|n| !old.tables.contains_key(*n))
        .collect();
    let removed: Vec<&String> = old
        .tables
        .keys()
        .filter(|n| !new.tables.contains_key(*n))
        .collect();
    for name in &added {
        let table = &new.tables[*name];
        p.create_tables.push(Op::CreateTable(q(name), bare(table)));
        for (index, i) in &table.indexes {
            p.create_indexes
                .push(Op::CreateIndex(q(name), index.clone(), i.clone()));
        }
        for (fk, f) in &table.foreign_keys {
            p.add_foreign_keys
                .push(Op::AddForeignKey(q(name), fk.clone(), f.clone()));
        }
    }
    for name in &removed {
        let table = &old.tables[*name];
        for (fk, f) in &table.foreign_keys {
            p.drop_foreign_keys
                .push(Op::DropForeignKey(q(name), fk.clone(), f.clone()));
        }
        for (index, i) in &table.indexes {
            p.drop_indexes
                .push(Op::DropIndex(q(name), index.clone(), i.clone()));
        }
        p.drop_tables.push(Op::DropTable(q(name), bare(table)));
    }
    for r in &removed {
        for a in &added {
            if same_shape(&old.tables[*r], &new.tables[*a]) {
                suggestions.push(format!(
                    "table {schema}.{r} looks renamed to {a}: pass --rename {r}={a} to rename it and keep its rows"
                ));
            }
        }
    }
    for (name, new_table) in &new.tables {
        if let Some(old_table) = old.tables.get(name) {
            diff_table(&q(name), old_table, new_table, p, suggestions);
        }
    }
}

/// A table without its indexes and foreign keys, which come as ops of their own.
fn bare(table: &Table) -> Table {
    Table {
        indexes: BTreeMap::new(),
        foreign_keys: BTreeMap::new(),
        ..table.clone()
    }
}

/// Same column names and types in the same order: a likely rename.
fn same_shape(a: &Table, b: &Table) -> bool {
    a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.data_type == y.data_type)
}

fn diff_table(t: &QName, old: &Table, new: &Table, p: &mut Phases, suggestions: &mut Vec<String>) {
    // Constraints and indexes that changed or went are dropped before the columns
    // they use change; new and changed ones come back after.
    if old.primary_key != new.primary_key {
        if let Some(pk) = &old.primary_key {
            p.drop_constraints
                .push(Op::DropPrimaryKey(t.clone(), pk.clone()));
        }
        if let Some(pk) = &new.primary_key {
            p.add_constraints
                .push(Op::AddPrimaryKey(t.clone(), pk.clone()));
        }
    }
    let (gone, came) = diff_named(&old.uniques, &new.uniques);
    let drop = gone
        .into_iter()
        .map(|(n, u)| Op::DropUnique(t.clone(), n, u));
    p.drop_constraints.extend(drop);
    let add = came
        .into_iter()
        .map(|(n, u)| Op::AddUnique(t.clone(), n, u));
    p.add_constraints.extend(add);
    let (gone, came) = diff_named(&old.checks, &new.checks);
    let drop = gone
        .into_iter()
        .map(|(n, c)| Op::DropCheck(t.clone(), n, c));
    p.drop_constraints.extend(drop);
    let add = came.into_iter().map(|(n, c)| Op::AddCheck(t.clone(), n, c));
    p.add_constraints.extend(add);
    let (gone, came) = diff_named(&old.indexes, &new.indexes);
    let drop = gone
        .into_iter()
        .map(|(n, i)| Op::DropIndex(t.clone(), n, i));
    p.drop_indexes.extend(drop);
    let add = came
        .into_iter()
        .map(|(n, i)| Op::CreateIndex(t.clone(), n, i));
    p.create_indexes.extend(add);
    let (gone, came) = diff_named(&old.foreign_keys, &new.foreign_keys);
    let drop = gone
        .into_iter()
        .map(|(n, f)| Op::DropForeignKey(t.clone(), n, f));
    p.drop_foreign_keys.extend(drop);
    let add = came
        .into_iter()
        .map(|(n, f)| Op::AddForeignKey(t.clone(), n, f));
    p.add_foreign_keys.extend(add);

    let mut gone = Vec::new();
    for c in &old.columns {
        if new.column(&c.name).is_none() {
            gone.push(c);
            p.drop_columns.push(Op::DropColumn(t.clone(), c.clone()));
        }
    }
    let mut came = Vec::new();
    for c in &new.columns {
        match old.column(&c.name) {
            None => {
                came.push(c);
                p.alter_tables.push(Op::AddColumn(t.clone(), c.clone()));
            }
            Some(o) if o != c => p.alter_tables.push(Op::AlterColumn {
                table: t.clone(),
                from: o.clone(),
                to: c.clone(),
            }),
            Some(_) => {}
        }
    }
    for g in &gone {
        for c in &came {
            if g.data_type == c.data_type {
                suggestions.push(format!(
                    "column {t}.{} looks renamed to {}: pass --rename {}.{}={} to rename it and keep its values",
                    g.name, c.name, t.name, g.name, c.name
                ));
            }
        }
    }
    if old.comment != new.comment {
        p.alter_tables.push(Op::SetTableComment {
            table: t.clone(),
            from: old.comment.clone(),
            to: new.comment.clone(),
        });
    }
    if old.options != new.options {
        p.table_options.push(Op::SetTableOptions {
            table: t.clone(),
            from: old.options.clone(),
            to: new.options.clone(),
        });
    }
}

/// The entries of `old` that are gone or changed, and those of `new` that are new or
/// changed, with their names.
type Named<V> = Vec<(String, V)>;

fn diff_named<V: PartialEq + Clone>(
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
) -> (Named<V>, Named<V>) {
    let gone = old
        .iter()
        .filter(|(name, v)| new.get(*name) != Some(v))
        .map(|(name, v)| (name.clone(), v.clone()))
        .collect();
    let came = new
        .iter()
        .filter(|(name, v)| old.get(*name) != Some(v))
        .map(|(name, v)| (name.clone(), v.clone()))
        .collect();
    (gone, came)
}

/// Whether `short` appears in `long` in the same order.
fn is_subsequence(short: &[String], long: &[String]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|s| rest.any(|l| l == s))
}

#[cfg(test)]
mod tests;
