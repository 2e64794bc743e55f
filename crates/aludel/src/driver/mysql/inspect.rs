//! Reading a MySQL or MariaDB database into a [`Catalog`] from `information_schema`,
//! in one query per kind of object however many tables there are.
//!
//! A MySQL schema is a database. The connection's own database is the catalog's
//! schema `""` ([`Driver::default_schema`]): a scratch database loaded with the
//! desired schema has another name than the database it stands for, and both must
//! read alike. For the same reason a view's definition, which the server prints with
//! every name qualified by its database, loses the qualifier of the connection's own.
//!
//! Text is kept as the server prints it (`COLUMN_TYPE`, defaults, check clauses):
//! the live and the desired schema are read by the same server, so they compare by
//! what the server made of them, and the printed forms are valid SQL to write back.

use std::collections::BTreeMap;

use mysql::Value;

use super::MysqlDriver;
use crate::driver::{DbError, Driver, InspectScope, Inspection, Skipped};
use crate::schema::{
    Catalog, Check, Column, ForeignKey, Generated, Identity, Index, IndexKey, PrimaryKey,
    ReferentialAction, Schema, Table, Unique, View,
};

/// The catalog's schema names for `scope`: those it names, or `""` for the
/// connection's own database.
pub(super) fn schemas(scope: &InspectScope) -> Vec<String> {
    if scope.schemas.is_empty() {
        vec![String::new()]
    } else {
        scope.schemas.clone()
    }
}

/// The databases to read, each with the schema name the catalog gives it.
struct Databases {
    /// Real database name → catalog schema name.
    names: BTreeMap<String, String>,
    /// The connection's own database.
    own: String,
}

impl Databases {
    fn new(driver: &MysqlDriver, scope: &InspectScope) -> Databases {
        let own = driver.database.clone();
        let names = schemas(scope)
            .into_iter()
            .map(|s| {
                if s.is_empty() || s == own {
                    (own.clone(), String::new())
                } else {
                    (s.clone(), s)
                }
            })
            .collect();
        Databases { names, own }
    }

    /// `IN (?, ?, ...)` and its parameters.
    fn filter(&self) -> (String, Vec<Value>) {
        let marks = vec!["?"; self.names.len()].join(", ");
        let params = self.names.keys().map(|n| Value::from(n.as_str())).collect();
        (format!("IN ({marks})"), params)
    }

    /// The catalog's name for the database `real`: `""` for the connection's own;
    /// a database outside the scope keeps its name.
    fn schema(&self, real: &str) -> String {
        self.names
            .get(real)
            .cloned()
            .unwrap_or_else(|| real.to_string())
    }
}

/// A row's value at `i` as text; NULL and a missing column are `None`.
fn at(row: &[Option<String>], i: usize) -> Option<&str> {
    row.get(i).and_then(|v| v.as_deref())
}

/// A row's value at `i`, NULL read as empty.
fn text(row: &[Option<String>], i: usize) -> String {
    at(row, i).unwrap_or_default().to_string()
}

fn action(rule: &str) -> ReferentialAction {
    match rule {
        "CASCADE" => ReferentialAction::Cascade,
        "SET NULL" => ReferentialAction::SetNull,
        "SET DEFAULT" => ReferentialAction::SetDefault,
        // InnoDB checks NO ACTION at once, as RESTRICT: one action under two names,
        // which MariaDB prints as RESTRICT when none was written.
        _ => ReferentialAction::NoAction,
    }
}

/// A column's default as SQL to write back, from `COLUMN_DEFAULT` and `EXTRA`.
/// MariaDB prints it as SQL already (`'text'`, `0`, `current_timestamp()`, `NULL`
/// for an explicit `DEFAULT NULL`); MySQL prints a literal bare and an expression,
/// marked `DEFAULT_GENERATED`, escaped as [`unescape`] undoes. An `ON UPDATE` clause,
/// which the catalog has no field for, stays with the default it belongs to, so that
/// it is compared and written back with it.
fn default_of(printed: Option<&str>, extra: &str, mariadb: bool) -> Option<String> {
    let printed = printed?;
    let mut sql = if mariadb {
        if printed == "NULL" {
            return None;
        }
        printed.to_string()
    } else if extra.contains("DEFAULT_GENERATED") {
        let expression = unescape(printed);
        // MySQL takes an expression default only in parentheses; CURRENT_TIMESTAMP,
        // which it prints bare either way, also without them.
        if expression.eq_ignore_ascii_case("CURRENT_TIMESTAMP") {
            expression
        } else {
            format!("({expression})")
        }
    } else {
        // As MariaDB prints a literal, so that a backslash in it reads back as itself.
        format!("'{}'", printed.replace('\\', "\\\\").replace('\'', "''"))
    };
    let lower = extra.to_ascii_lowercase();
    if let Some(at) = lower.find("on update ") {
        sql.push(' ');
        sql.push_str(extra[at..].trim());
    }
    Some(sql)
}

/// An expression as MySQL 8 and later print it in `information_schema` (a generated
/// column's, an expression default, a check clause): the SQL of `SHOW CREATE TABLE`
/// with every quote and backslash escaped once more (`_utf8mb4\'open\'`), which
/// written back as it is would not parse. MariaDB prints the SQL itself.
fn unescape(printed: &str) -> String {
    let mut out = String::with_capacity(printed.len());
    let mut chars = printed.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn inspect(
    driver: &mut MysqlDriver,
    scope: &InspectScope,
) -> Result<Inspection, DbError> {
    let dbs = Databases::new(driver, scope);
    let mariadb = driver.server_version()?.contains("MariaDB");
    let (filter, params) = dbs.filter();
    let excluded = |t: &str| scope.exclude_tables.iter().any(|e| e == t);
    // A generated column's or a check's expression as SQL to write back.
    let expression =
        |printed: Option<&str>| printed.map(|p| if mariadb { p.to_string() } else { unescape(p) });
    let mut catalog = Catalog::default();
    let mut skipped = Vec::new();
    for schema in dbs.names.values() {
        catalog.schemas.entry(schema.clone()).or_default();
    }

    let tables = driver.rows(
        &format!(
            "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, t.TABLE_COLLATION, \
             t.TABLE_COMMENT, t.ENGINE, s.DEFAULT_COLLATION_NAME \
             FROM information_schema.TABLES t \
             JOIN information_schema.SCHEMATA s ON s.SCHEMA_NAME = t.TABLE_SCHEMA \
             WHERE TABLE_SCHEMA {filter} ORDER BY 1, 2"
        ),
        params.clone(),
    )?;
    // The collation of each table, which a column's own is compared with.
    let mut collations: BTreeMap<(String, String), String> = BTreeMap::new();
    for row in &tables {
        let (schema, name, kind) = (dbs.schema(&text(row, 0)), text(row, 1), text(row, 2));
        if excluded(&name) {
            continue;
        }
        match kind.as_str() {
            "BASE TABLE" => {
                let comment = text(row, 4);
                let (engine, collation, default_collation) =
                    (text(row, 5), text(row, 3), text(row, 6));
                // Only what differs from what a table gets when it names neither.
                let mut options = BTreeMap::new();
                if !engine.is_empty()
                    && !engine.eq_ignore_ascii_case(crate::render::ddl::mysql::DEFAULT_ENGINE)
                {
                    options.insert("ENGINE".to_string(), engine);
                }
                if !collation.is_empty() && collation != default_collation {
                    options.insert("COLLATE".to_string(), collation.clone());
                }
                let entry = catalog.schemas.entry(schema.clone()).or_default();
                entry.collation = (!default_collation.is_empty()).then_some(default_collation);
                entry.tables.insert(
                    name.clone(),
                    Table {
                        comment: (!comment.is_empty()).then_some(comment),
                        options,
                        ..Table::default()
                    },
                );
                collations.insert((schema, name), text(row, 3));
            }
            "VIEW" => {}
            other => skipped.push(Skipped {
                schema,
                kind: other.to_ascii_lowercase(),
                name,
                reason: "aludel does not model it".into(),
            }),
        }
    }

    let columns = driver.rows(
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, \
             COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA {filter} \
             ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
        ),
        params.clone(),
    )?;
    // Tables left out whole, with why.
    let mut unreadable: BTreeMap<(String, String), String> = BTreeMap::new();
    for row in &columns {
        let (schema, name) = (dbs.schema(&text(row, 0)), text(row, 1));
        let Some(t) = tables_mut(&mut catalog, &schema, &name) else {
            continue;
        };
        let extra = text(row, 6);
        let upper = extra.to_ascii_uppercase();
        let generated = if upper.contains("VIRTUAL GENERATED") {
            expression(at(row, 7)).map(Generated::virtual_)
        } else if upper.contains("STORED GENERATED") || upper.contains("PERSISTENT") {
            expression(at(row, 7)).map(Generated::stored)
        } else {
            None
        };
        let collation = at(row, 8)
            .filter(|c| {
                collations
                    .get(&(schema.clone(), name.clone()))
                    .map(String::as_str)
                    != Some(*c)
            })
            .map(str::to_string);
        let comment = text(row, 9);
        t.columns.push(Column {
            name: text(row, 2),
            data_type: text(row, 3),
            nullable: text(row, 4) == "YES",
            default: if generated.is_some() {
                None
            } else {
                default_of(at(row, 5), &extra, mariadb)
            },
            identity: upper
                .contains("AUTO_INCREMENT")
                .then_some(Identity::AutoIncrement),
            generated,
            collation,
            comment: (!comment.is_empty()).then_some(comment),
        });
    }

    // MySQL 8.0.13 and later index expressions (functional key parts); MariaDB has no
    // such column, nor such key parts.
    let key_expression = if mariadb { "NULL" } else { "EXPRESSION" };
    let statistics = driver.rows(
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, \
             INDEX_TYPE, COLLATION, {key_expression} FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA {filter} ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
        ),
        params.clone(),
    )?;
    // Each index's parts, gathered before deciding whether it is a key.
    let mut indexes: BTreeMap<(String, String, String), Index> = BTreeMap::new();
    for row in &statistics {
        let (schema, name, index) = (dbs.schema(&text(row, 0)), text(row, 1), text(row, 2));
        // A key part is a column, or an expression (a functional key part, which MySQL
        // keeps as a hidden generated column that `COLUMNS` does not list).
        let (key, is_expression) = match (at(row, 4), expression(at(row, 8))) {
            (Some(column), _) => (column.to_string(), false),
            (None, Some(e)) => (e, true),
            (None, None) => {
                unreadable.insert(
                    (schema.clone(), name.clone()),
                    format!(
                        "its index {index} has a key part that names no column and no expression"
                    ),
                );
                continue;
            }
        };
        let kind = text(row, 6).to_ascii_lowercase();
        let descending = at(row, 7) == Some("D");
        let entry = indexes.entry((schema, name, index)).or_default();
        entry.unique = text(row, 3) == "0";
        entry.method = if kind == "btree" { String::new() } else { kind };
        entry.keys.push(IndexKey {
            expression: key,
            is_expression,
            descending,
            // MySQL sorts NULLs first ascending, last descending, and cannot be told.
            nulls_first: !descending,
            opclass: None,
            prefix_length: at(row, 5).and_then(|p| p.parse().ok()),
        });
    }
    for ((schema, name, index), i) in indexes {
        let Some(t) = tables_mut(&mut catalog, &schema, &name) else {
            continue;
        };
        let plain_columns = || i.keys.iter().map(|k| k.expression.clone()).collect();
        let plain = i.method.is_empty()
            && i.keys
                .iter()
                .all(|k| !k.is_expression && !k.descending && k.prefix_length.is_none());
        if index == "PRIMARY" {
            t.primary_key = Some(PrimaryKey {
                name: index,
                columns: plain_columns(),
            });
        } else if i.unique && plain {
            // A unique constraint is a unique index on MySQL: a plain one reads as the
            // constraint, which is how it is most often written.
            t.uniques.insert(
                index,
                Unique {
                    columns: plain_columns(),
                },
            );
        } else {
            t.indexes.insert(index, i);
        }
    }

    let foreign_keys = driver.rows(
        &format!(
            "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
             k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
             r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
              AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA {filter} AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
        ),
        params.clone(),
    )?;
    for row in &foreign_keys {
        let (schema, name) = (dbs.schema(&text(row, 0)), text(row, 1));
        let Some(t) = tables_mut(&mut catalog, &schema, &name) else {
            continue;
        };
        let fk = t
            .foreign_keys
            .entry(text(row, 2))
            .or_insert_with(|| ForeignKey {
                ref_schema: dbs.schema(&text(row, 4)),
                ref_table: text(row, 5),
                on_update: action(&text(row, 7)),
                on_delete: action(&text(row, 8)),
                ..ForeignKey::default()
            });
        fk.columns.push(text(row, 3));
        fk.ref_columns.push(text(row, 6));
    }

    // MariaDB names a check within its table, MySQL within its database.
    let checks_sql = if mariadb {
        format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA {filter} \
             ORDER BY 1, 2, 3"
        )
    } else {
        format!(
            "SELECT c.CONSTRAINT_SCHEMA, t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE \
             FROM information_schema.CHECK_CONSTRAINTS c \
             JOIN information_schema.TABLE_CONSTRAINTS t \
               ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA \
              AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND t.CONSTRAINT_TYPE = 'CHECK' \
             WHERE c.CONSTRAINT_SCHEMA {filter} ORDER BY 1, 2, 3"
        )
    };
    for row in &driver.rows(&checks_sql, params.clone())? {
        let (schema, name) = (dbs.schema(&text(row, 0)), text(row, 1));
        if let Some(t) = tables_mut(&mut catalog, &schema, &name) {
            t.checks.insert(
                text(row, 2),
                Check {
                    expression: expression(at(row, 3)).unwrap_or_default(),
                },
            );
        }
    }

    let views = driver.rows(
        &format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA {filter} ORDER BY 1, 2"
        ),
        params.clone(),
    )?;
    let own_prefix = format!(
        "{}.",
        crate::render::quote_ident(crate::url::Dialect::Mysql, &dbs.own)
    );
    for row in &views {
        let (schema, name) = (dbs.schema(&text(row, 0)), text(row, 1));
        if excluded(&name) {
            continue;
        }
        catalog.schemas.entry(schema).or_default().views.insert(
            name,
            View {
                definition: text(row, 2).replace(&own_prefix, ""),
                comment: None,
            },
        );
    }

    let triggers = driver.rows(
        &format!(
            "SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME \
             FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA {filter} ORDER BY 1, 2, 3"
        ),
        params,
    )?;
    for row in &triggers {
        skipped.push(Skipped {
            schema: dbs.schema(&text(row, 0)),
            kind: "trigger".into(),
            name: format!("{}.{}", text(row, 1), text(row, 2)),
            reason: "aludel does not model triggers".into(),
        });
    }

    for ((schema, name), reason) in unreadable {
        if let Some(s) = catalog.schemas.get_mut(&schema) {
            s.tables.remove(&name);
        }
        skipped.push(Skipped {
            schema,
            kind: "table".into(),
            name,
            reason,
        });
    }
    Ok(Inspection { catalog, skipped })
}

fn tables_mut<'a>(catalog: &'a mut Catalog, schema: &str, name: &str) -> Option<&'a mut Table> {
    catalog
        .schemas
        .get_mut(schema)
        .and_then(|s: &mut Schema| s.tables.get_mut(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_back_as_sql_from_either_server() {
        // MariaDB prints SQL already; an explicit DEFAULT NULL is no default.
        assert_eq!(default_of(Some("'x'"), "", true).as_deref(), Some("'x'"));
        assert_eq!(default_of(Some("NULL"), "", true), None);
        assert_eq!(default_of(None, "", true), None);
        assert_eq!(
            default_of(
                Some("current_timestamp()"),
                "on update current_timestamp()",
                true
            )
            .as_deref(),
            Some("current_timestamp() on update current_timestamp()")
        );
        // MySQL 8 prints a literal bare and an expression marked DEFAULT_GENERATED.
        assert_eq!(
            default_of(Some("it's"), "", false).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            default_of(Some("CURRENT_TIMESTAMP"), "DEFAULT_GENERATED", false).as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(
            default_of(Some("json_array()"), "DEFAULT_GENERATED", false).as_deref(),
            Some("(json_array())")
        );
        // Printed by MySQL 9.7 for DEFAULT ('abc') and DEFAULT (1+2): quotes escaped,
        // and not always in parentheses of their own.
        assert_eq!(
            default_of(Some(r"_utf8mb4\'abc\'"), "DEFAULT_GENERATED", false).as_deref(),
            Some("(_utf8mb4'abc')")
        );
        assert_eq!(
            default_of(Some("(1 + 2)"), "DEFAULT_GENERATED", false).as_deref(),
            Some("((1 + 2))")
        );
        // A bare literal with a backslash, as MariaDB would print it.
        assert_eq!(
            default_of(Some(r"a'b\c"), "", false).as_deref(),
            Some(r"'a''b\\c'")
        );
    }

    #[test]
    fn mysql_expressions_lose_their_extra_escapes() {
        // As MySQL 9.7 prints CHECK (s in ('open', 'it''s', 'b\\s')) and a column
        // named b\\q (two backslashes), next to what SHOW CREATE TABLE prints.
        assert_eq!(
            unescape(r"(`s` in (_utf8mb4\'open\',_utf8mb4\'it\\\'s\',_utf8mb4\'b\\\\s\'))"),
            r"(`s` in (_utf8mb4'open',_utf8mb4'it\'s',_utf8mb4'b\\s'))"
        );
        assert_eq!(unescape(r"(`it\'s` > `b\\\\q`)"), r"(`it's` > `b\\q`)");
        assert_eq!(unescape("`a` + 1"), "`a` + 1");
    }

    #[test]
    fn innodb_treats_no_action_as_restrict() {
        assert_eq!(action("RESTRICT"), ReferentialAction::NoAction);
        assert_eq!(action("NO ACTION"), ReferentialAction::NoAction);
        assert_eq!(action("CASCADE"), ReferentialAction::Cascade);
        assert_eq!(action("SET NULL"), ReferentialAction::SetNull);
    }
}
