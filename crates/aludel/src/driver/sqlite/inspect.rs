//! Reading a SQLite database into a [`Catalog`] with one schema, `main`. The pragmas
//! give columns, keys, indexes and foreign keys (joined to `sqlite_schema` as table
//! functions: one query per kind, not one per table); the `CREATE` statements give
//! what the pragmas do not ([`sql_text`]).
//!
//! SQLite constraints often have no name: they get PostgreSQL's default names
//! (`{table}_pkey`, `{table}_{columns}_key`, `{table}_{columns}_fkey`, `{table}_check`,
//! `{table}_check1`, ...), so that a catalog reads the same whether the names were
//! written or not.

mod sql_text;

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Connection, Row};

use super::db_error;
use crate::driver::{DbError, InspectScope, Inspection, Skipped};
use crate::schema::{
    Check, Column, ForeignKey, Generated, Identity, Index, IndexKey, PrimaryKey, ReferentialAction,
    Schema, Unique, View,
};
use sql_text::TableSql;

/// SQLite's one schema.
pub(super) const SCHEMA: &str = "main";

/// `sqlite_schema m` is a table aludel reads: not SQLite's own, not virtual (its
/// module may not be loaded, and its shadow tables say nothing of it).
macro_rules! user_table {
    () => {
        " m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
          AND m.sql NOT LIKE 'CREATE VIRTUAL%' "
    };
}

const OBJECTS: &str = "SELECT m.type, m.name, m.tbl_name, coalesce(m.sql, '') FROM sqlite_schema m \
     WHERE m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.type, m.name";

const COLUMNS: &str = concat!(
    "SELECT m.name, p.name, coalesce(p.type, ''), p.\"notnull\", p.dflt_value, p.pk, p.hidden \
     FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p WHERE",
    user_table!(),
    "ORDER BY m.name, p.cid"
);

const INDEXES: &str = concat!(
    "SELECT m.name, il.name, il.\"unique\", il.origin, il.partial, ix.cid, ix.name, ix.\"desc\" \
     FROM sqlite_schema m JOIN pragma_index_list(m.name) il \
     JOIN pragma_index_xinfo(il.name) ix WHERE ix.key = 1 AND",
    user_table!(),
    "ORDER BY m.name, il.name, ix.seqno"
);

const FOREIGN_KEYS: &str = concat!(
    "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
     FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f WHERE",
    user_table!(),
    "ORDER BY m.name, f.id, f.seq"
);

/// "reading the columns of schema main: ..." with SQLite's own message.
fn reading(what: &str) -> impl Fn(rusqlite::Error) -> DbError + '_ {
    move |e| {
        let inner = db_error(e);
        DbError {
            message: format!("reading the {what} of schema {SCHEMA}: {}", inner.message),
            ..inner
        }
    }
}

/// Runs `sql` and maps every row.
fn rows<T>(
    conn: &Connection,
    what: &str,
    sql: &str,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, DbError> {
    let mut stmt = conn.prepare(sql).map_err(reading(what))?;
    let mapped = stmt.query_map([], map).map_err(reading(what))?;
    mapped.collect::<Result<_, _>>().map_err(reading(what))
}

/// A column as the pragma gives it, with its primary-key ordinal and hidden kind.
struct RawColumn {
    table: String,
    column: Column,
    pk: i64,
    hidden: i64,
}

/// One key column of an index, as the pragmas give it.
struct RawIndexPart {
    table: String,
    index: String,
    unique: bool,
    origin: String,
    partial: bool,
    cid: i64,
    name: Option<String>,
    desc: bool,
}

/// One column pair of a foreign key, as the pragma gives it.
struct RawForeignKey {
    table: String,
    id: i64,
    ref_table: String,
    from: String,
    to: Option<String>,
    on_update: String,
    on_delete: String,
}

/// Reads the whole database; `scope.schemas` does not apply (SQLite has one).
pub(super) fn inspect(conn: &Connection, scope: &InspectScope) -> Result<Inspection, DbError> {
    let excluded = |name: &str| scope.exclude_tables.iter().any(|e| e == name);
    let objects = rows(conn, "objects", OBJECTS, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let columns = rows(conn, "columns", COLUMNS, |r| {
        let declared: String = r.get(2)?;
        Ok(RawColumn {
            table: r.get(0)?,
            column: Column {
                name: r.get(1)?,
                data_type: declared
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase(),
                nullable: r.get::<_, i64>(3)? == 0,
                default: r.get(4)?,
                ..Column::default()
            },
            pk: r.get(5)?,
            hidden: r.get(6)?,
        })
    })?;
    let index_parts = rows(conn, "indexes", INDEXES, |r| {
        Ok(RawIndexPart {
            table: r.get(0)?,
            index: r.get(1)?,
            unique: r.get::<_, i64>(2)? != 0,
            origin: r.get(3)?,
            partial: r.get::<_, i64>(4)? != 0,
            cid: r.get(5)?,
            name: r.get(6)?,
            desc: r.get::<_, i64>(7)? != 0,
        })
    })?;
    let foreign_keys = rows(conn, "foreign keys", FOREIGN_KEYS, |r| {
        Ok(RawForeignKey {
            table: r.get(0)?,
            id: r.get(1)?,
            ref_table: r.get(2)?,
            from: r.get(3)?,
            to: r.get(4)?,
            on_update: r.get(5)?,
            on_delete: r.get(6)?,
        })
    })?;

    let mut schema = Schema::default();
    let mut skipped = Vec::new();
    let mut table_sql: BTreeMap<String, TableSql> = BTreeMap::new();
    let mut index_sql: BTreeMap<String, String> = BTreeMap::new();
    for (kind, name, table, sql) in objects {
        match kind.as_str() {
            "table" if sql.starts_with("CREATE VIRTUAL") => skipped.push(Skipped {
                schema: SCHEMA.into(),
                kind: "virtual table".into(),
                name,
                reason: "virtual tables are not modelled".into(),
            }),
            "table" => {
                table_sql.insert(name, sql_text::parse_create_table(&sql));
            }
            "index" => {
                index_sql.insert(name, sql);
            }
            "view" => {
                let view = View {
                    definition: sql_text::view_query(&sql),
                    comment: None,
                };
                schema.views.insert(name, view);
            }
            "trigger" if !excluded(&table) => skipped.push(Skipped {
                schema: SCHEMA.into(),
                kind: "trigger".into(),
                name: format!("{table}.{name}"),
                reason: "triggers are not modelled".into(),
            }),
            _ => {}
        }
    }

    // Every table's primary key, excluded ones included: a foreign key that names no
    // columns refers to its parent's.
    let mut primary_keys: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for raw in columns {
        let Some(sql) = table_sql.get(&raw.table) else {
            continue;
        };
        if raw.pk > 0 {
            primary_keys
                .entry(raw.table.clone())
                .or_default()
                .push((raw.pk, raw.column.name.clone()));
        }
        let mut column = raw.column;
        // table_xinfo's `hidden`: 2 a VIRTUAL generated column, 3 a STORED one.
        if raw.hidden == 2 || raw.hidden == 3 {
            column.generated = sql
                .generated
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(&column.name))
                .map(|(_, e)| Generated {
                    expression: e.clone(),
                    stored: raw.hidden == 3,
                });
            column.default = None;
        }
        if sql
            .autoincrement
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(&column.name))
        {
            column.identity = Some(Identity::Serial);
        }
        schema
            .tables
            .entry(raw.table)
            .or_default()
            .columns
            .push(column);
    }
    for keys in primary_keys.values_mut() {
        keys.sort();
    }

    let mut names: BTreeMap<String, Names> = BTreeMap::new();
    for (table, sql) in &table_sql {
        let Some(t) = schema.tables.get_mut(table) else {
            continue;
        };
        t.options = sql
            .options
            .iter()
            .map(|o| (o.to_string(), String::new()))
            .collect();
        let n = names
            .entry(table.clone())
            .or_insert_with(|| Names::new(sql));
        if let Some(keys) = primary_keys.get(table) {
            let name = match &sql.primary_key_name {
                Some(name) => name.clone(),
                None => n.free(&format!("{table}_pkey")),
            };
            t.primary_key = Some(PrimaryKey {
                name,
                columns: keys.iter().map(|(_, c)| c.clone()).collect(),
            });
        }
        let mut unnamed = 0;
        for (name, expression) in &sql.checks {
            let name = match name {
                Some(name) => name.clone(),
                None => n.free_numbered(&format!("{table}_check"), &mut unnamed),
            };
            t.checks.insert(
                name,
                Check {
                    expression: expression.clone(),
                },
            );
        }
    }

    read_indexes(&mut schema, &index_sql, &table_sql, &mut names, index_parts);
    read_foreign_keys(
        &mut schema,
        &table_sql,
        &primary_keys,
        &mut names,
        foreign_keys,
    );

    schema.tables.retain(|name, _| !excluded(name));
    let mut inspection = Inspection::default();
    inspection.catalog.schemas.insert(SCHEMA.into(), schema);
    skipped.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    inspection.skipped = skipped;
    Ok(inspection)
}

/// The constraint names of one table: those written, and those given so far.
struct Names {
    taken: HashSet<String>,
}

impl Names {
    fn new(sql: &TableSql) -> Names {
        let written = sql
            .primary_key_name
            .iter()
            .chain(sql.uniques.iter().filter_map(|(n, _)| n.as_ref()))
            .chain(sql.checks.iter().filter_map(|(n, _)| n.as_ref()))
            .chain(sql.foreign_keys.iter().filter_map(|f| f.name.as_ref()));
        Names {
            taken: written.cloned().collect(),
        }
    }

    /// `base`, or `base1`, `base2`, ... when taken, as PostgreSQL picks.
    fn free(&mut self, base: &str) -> String {
        let mut n = 0;
        self.free_numbered(base, &mut n)
    }

    /// Like [`Names::free`], counting on from `n`.
    fn free_numbered(&mut self, base: &str, n: &mut usize) -> String {
        loop {
            let name = match *n {
                0 => base.to_string(),
                k => format!("{base}{k}"),
            };
            *n += 1;
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Consecutive items that `same` says belong together, as one group each.
fn group_runs<T>(items: Vec<T>, same: impl Fn(&T, &T) -> bool) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some(g) if same(&g[0], &item) => g.push(item),
            _ => groups.push(vec![item]),
        }
    }
    groups
}

fn read_indexes(
    schema: &mut Schema,
    index_sql: &BTreeMap<String, String>,
    table_sql: &BTreeMap<String, TableSql>,
    names: &mut BTreeMap<String, Names>,
    parts: Vec<RawIndexPart>,
) {
    // Grouped by (table, index): the rows come ordered so.
    let groups = group_runs(parts, |a, b| a.table == b.table && a.index == b.index);
    // SQL uniques already matched to an index, by table.
    let mut used: BTreeMap<String, HashSet<usize>> = BTreeMap::new();
    for group in groups {
        let first = &group[0];
        let (Some(t), Some(sql), Some(n)) = (
            schema.tables.get_mut(&first.table),
            table_sql.get(&first.table),
            names.get_mut(&first.table),
        ) else {
            continue;
        };
        let column_name = |p: &RawIndexPart| match p.cid {
            -1 => "rowid".to_string(),
            _ => p.name.clone().unwrap_or_default(),
        };
        match first.origin.as_str() {
            "u" => {
                let columns: Vec<String> = group.iter().map(column_name).collect();
                let used = used.entry(first.table.clone()).or_default();
                let written = sql
                    .uniques
                    .iter()
                    .enumerate()
                    .find(|(i, (_, c))| !used.contains(i) && same_columns(c, &columns));
                let name = match written {
                    Some((i, (name, _))) => {
                        used.insert(i);
                        name.clone()
                    }
                    None => None,
                };
                let name = name.unwrap_or_else(|| {
                    n.free(&format!("{}_{}_key", first.table, columns.join("_")))
                });
                t.uniques.insert(name, Unique { columns });
            }
            "c" => {
                let written = index_sql
                    .get(&first.index)
                    .map(|s| sql_text::parse_create_index(s))
                    .unwrap_or_default();
                let keys = group
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        let is_expression = p.cid == -2;
                        IndexKey {
                            expression: if is_expression {
                                written.parts.get(k).cloned().unwrap_or_default()
                            } else {
                                column_name(p)
                            },
                            is_expression,
                            descending: p.desc,
                            // SQLite sorts NULLs first ascending, last descending,
                            // and takes no NULLS clause in an index.
                            nulls_first: !p.desc,
                            opclass: None,
                            prefix_length: None,
                        }
                    })
                    .collect();
                let index = Index {
                    unique: first.unique,
                    method: "btree".into(),
                    keys,
                    include: Vec::new(),
                    predicate: written.predicate.clone().filter(|_| first.partial),
                };
                t.indexes.insert(first.index.clone(), index);
            }
            // The primary key's own index: the key is read from the columns.
            _ => {}
        }
    }
}

fn action(text: &str) -> ReferentialAction {
    match text.to_ascii_uppercase().as_str() {
        "RESTRICT" => ReferentialAction::Restrict,
        "CASCADE" => ReferentialAction::Cascade,
        "SET NULL" => ReferentialAction::SetNull,
        "SET DEFAULT" => ReferentialAction::SetDefault,
        _ => ReferentialAction::NoAction,
    }
}

fn read_foreign_keys(
    schema: &mut Schema,
    table_sql: &BTreeMap<String, TableSql>,
    primary_keys: &BTreeMap<String, Vec<(i64, String)>>,
    names: &mut BTreeMap<String, Names>,
    rows: Vec<RawForeignKey>,
) {
    let groups = group_runs(rows, |a, b| a.table == b.table && a.id == b.id);
    // The pragma lists foreign keys last written first: matched to the SQL by
    // columns and parent, each written one used once.
    let mut used: BTreeMap<String, HashSet<usize>> = BTreeMap::new();
    for group in groups {
        let first = &group[0];
        let (Some(t), Some(sql), Some(n)) = (
            schema.tables.get_mut(&first.table),
            table_sql.get(&first.table),
            names.get_mut(&first.table),
        ) else {
            continue;
        };
        let columns: Vec<String> = group.iter().map(|r| r.from.clone()).collect();
        let parent_key = || -> Vec<String> {
            primary_keys
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&first.ref_table))
                .map(|(_, k)| k.iter().map(|(_, c)| c.clone()).collect())
                .unwrap_or_default()
        };
        let ref_columns = if group.iter().all(|r| r.to.is_some()) {
            group.iter().filter_map(|r| r.to.clone()).collect()
        } else {
            parent_key()
        };
        let used = used.entry(first.table.clone()).or_default();
        let written = sql.foreign_keys.iter().enumerate().find(|(i, f)| {
            !used.contains(i)
                && same_columns(&f.columns, &columns)
                && f.ref_table.eq_ignore_ascii_case(&first.ref_table)
        });
        let (name, deferrable) = match written {
            Some((i, f)) => {
                used.insert(i);
                (f.name.clone(), f.deferrable)
            }
            None => (None, None),
        };
        let name =
            name.unwrap_or_else(|| n.free(&format!("{}_{}_fkey", first.table, columns.join("_"))));
        t.foreign_keys.insert(
            name,
            ForeignKey {
                columns,
                ref_schema: SCHEMA.into(),
                ref_table: first.ref_table.clone(),
                ref_columns,
                on_update: action(&first.on_update),
                on_delete: action(&first.on_delete),
                deferrable,
            },
        );
    }
}
