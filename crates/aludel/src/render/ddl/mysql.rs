//! Schema changes as MySQL and MariaDB write them. Every name is quoted: MySQL's
//! reserved words are many and change between versions, and `SHOW CREATE TABLE`
//! quotes them all the same way. Each statement commits by itself there, so a
//! change is as few statements as it can be.

use std::collections::BTreeMap;

use super::{DdlError, Renderer, type_parts};
use crate::ops::{Op, QName};
use crate::schema::{Catalog, Column, ForeignKey, Identity, Index, Table};

/// The storage engine a MySQL table has when its `ENGINE` option is not given, which
/// [`Table::options`] therefore leaves out.
pub(crate) const DEFAULT_ENGINE: &str = "InnoDB";
use crate::url::Dialect;

/// A string literal for MySQL's default SQL mode, where a backslash escapes.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

impl Renderer<'_> {
    fn my_column(&self, c: &Column) -> String {
        let mut def = format!("{} {}", self.ident(&c.name), c.data_type);
        if let Some(coll) = &c.collation {
            def.push_str(&format!(" COLLATE {coll}"));
        }
        if let Some(g) = &c.generated {
            def.push_str(&format!(
                " GENERATED ALWAYS AS ({}) {}",
                g.expression,
                g.keyword()
            ));
        }
        if !c.nullable {
            def.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            def.push_str(&format!(" DEFAULT {d}"));
        }
        if c.identity == Some(Identity::AutoIncrement) {
            def.push_str(" AUTO_INCREMENT");
        }
        if let Some(comment) = &c.comment {
            def.push_str(&format!(" COMMENT {}", literal(comment)));
        }
        def
    }

    fn my_foreign_key(&self, op: &Op, f: &ForeignKey) -> Result<String, DdlError> {
        if f.deferrable.is_some() {
            return Err(self.lacks("deferrable foreign keys", op));
        }
        Ok(self.foreign_key(f))
    }

    /// Foreign keys are not written here: they come as ops of their own, once every
    /// table they name exists.
    fn my_create_table(&self, name: &QName, t: &Table) -> String {
        let mut parts: Vec<String> = t.columns.iter().map(|c| self.my_column(c)).collect();
        if let Some(pk) = &t.primary_key {
            parts.push(format!("PRIMARY KEY ({})", self.idents(&pk.columns)));
        }
        parts.extend(self.unique_and_check_parts(t));
        let mut sql = format!(
            "CREATE TABLE {} (\n    {}\n)",
            self.qname(name),
            parts.join(",\n    ")
        );
        for (key, value) in &t.options {
            sql.push_str(&format!(" {key} = {value}"));
        }
        if let Some(comment) = &t.comment {
            sql.push_str(&format!(" COMMENT = {}", literal(comment)));
        }
        sql
    }

    /// A change of a table's `ENGINE` or `COLLATE`, in one `ALTER TABLE`. A table's
    /// collation is the default of its columns that name none: those are declared
    /// again in the same statement, so that they take it as a new table's would
    /// (MySQL's `CONVERT TO` would change the columns that name their own too, and
    /// widen `TEXT` types).
    fn my_table_options(
        &self,
        op: &Op,
        table: &QName,
        from: &BTreeMap<String, String>,
        to: &BTreeMap<String, String>,
        after: &Catalog,
    ) -> Result<Vec<String>, DdlError> {
        // One statement: the table is copied once, and commits or fails as a whole.
        let mut clauses = Vec::new();
        if let Some(key) = from
            .keys()
            .chain(to.keys())
            .find(|k| !matches!(k.as_str(), "ENGINE" | "COLLATE"))
        {
            return Err(self.lacks(&format!("the table option {key}"), op));
        }
        if from.get("ENGINE") != to.get("ENGINE") {
            let engine = to
                .get("ENGINE")
                .map(String::as_str)
                .unwrap_or(DEFAULT_ENGINE);
            clauses.push(format!("ENGINE = {engine}"));
        }
        if from.get("COLLATE") != to.get("COLLATE") {
            let schema = after.schemas.get(&table.schema);
            let Some(collation) = to
                .get("COLLATE")
                .or_else(|| schema.and_then(|s| s.collation.as_ref()))
            else {
                return Err(self.lacks("the database's default collation, to go back to", op));
            };
            clauses.push(format!("DEFAULT COLLATE = {collation}"));
            let columns = schema
                .and_then(|s| s.tables.get(&table.name))
                .map(|t| t.columns.as_slice())
                .unwrap_or_default();
            for c in columns.iter().filter(|c| takes_table_collation(c)) {
                clauses.push(format!("MODIFY COLUMN {}", self.my_column(c)));
            }
        }
        Ok(vec![format!(
            "ALTER TABLE {} {}",
            self.qname(table),
            clauses.join(",\n    ")
        )])
    }

    fn my_create_index(
        &self,
        op: &Op,
        table: &QName,
        name: &str,
        i: &Index,
    ) -> Result<String, DdlError> {
        let (kind, keys, using) = self.my_index_parts(op, i)?;
        Ok(format!(
            "CREATE {kind}INDEX {} ON {} ({keys}){using}",
            self.ident(name),
            self.qname(table),
        ))
    }

    /// An index's kind (`UNIQUE `, `FULLTEXT `, ...), key parts and `USING` clause.
    fn my_index_parts(
        &self,
        op: &Op,
        i: &Index,
    ) -> Result<(&'static str, String, &'static str), DdlError> {
        if i.predicate.is_some() {
            return Err(self.lacks("partial indexes", op));
        }
        if !i.include.is_empty() {
            return Err(self.lacks("INCLUDE columns in indexes", op));
        }
        let keys: Vec<String> = i
            .keys
            .iter()
            .map(|k| {
                let mut s = self.key_part(k);
                if let Some(n) = k.prefix_length {
                    s.push_str(&format!("({n})"));
                }
                if k.descending {
                    s.push_str(" DESC");
                }
                s
            })
            .collect();
        let kind = match i.method.as_str() {
            "fulltext" => "FULLTEXT ",
            "spatial" => "SPATIAL ",
            _ if i.unique => "UNIQUE ",
            _ => "",
        };
        let using = if i.method == "hash" {
            " USING HASH"
        } else {
            ""
        };
        Ok((kind, keys.join(", "), using))
    }

    fn lacks(&self, what: &str, op: &Op) -> DdlError {
        DdlError {
            dialect: Dialect::Mysql,
            what: what.into(),
            op: op.to_string(),
        }
    }

    /// The statements of `ops[i]` on MySQL or MariaDB, and notes on them; `after` is
    /// the catalog once it is applied. `taken_over` holds, by position, the later ops
    /// an earlier one already wrote, with the earlier op's description.
    pub(super) fn mysql(
        &self,
        i: usize,
        ops: &[Op],
        after: &Catalog,
        taken_over: &mut BTreeMap<usize, String>,
    ) -> Result<(Vec<String>, Vec<String>), DdlError> {
        let op = &ops[i];
        if let Some(with) = taken_over.remove(&i) {
            return Ok((
                Vec::new(),
                vec![format!("written above, in one statement with \"{with}\"")],
            ));
        }
        let taken = |j: usize| taken_over.contains_key(&(i + 1 + j));
        if let Some((j, between)) = takeover(op, &ops[i + 1..], after, taken) {
            let later = &ops[i + 1 + j];
            let (Some((table, _, _)), Some(add)) = (key_of(op), self.my_add_key(later)?) else {
                return Ok((self.mysql_statements(op, &ops[..i], after)?, Vec::new()));
            };
            // The key that takes over, and the other keys dropped before it, with it.
            let mut clauses = Vec::new();
            for dropped in std::iter::once(op).chain(between.iter().map(|b| &ops[i + 1 + b])) {
                if let Some((_, name, _)) = key_of(dropped) {
                    clauses.push(format!("DROP INDEX {}", self.ident(name)));
                }
            }
            clauses.push(add);
            for b in &between {
                taken_over.insert(i + 1 + b, op.to_string());
            }
            taken_over.insert(i + 1 + j, op.to_string());
            return Ok((
                vec![format!(
                    "ALTER TABLE {} {}",
                    self.qname(table),
                    clauses.join(",\n    ")
                )],
                vec![format!(
                    "one statement with \"{later}\" below: a foreign key rests on this key, which cannot be dropped before another takes its place"
                )],
            ));
        }
        Ok((self.mysql_statements(op, &ops[..i], after)?, Vec::new()))
    }

    /// `later`, a key added, as a clause of `ALTER TABLE`.
    fn my_add_key(&self, later: &Op) -> Result<Option<String>, DdlError> {
        Ok(match later {
            Op::AddUnique(_, n, u) => Some(format!(
                "ADD CONSTRAINT {} UNIQUE ({})",
                self.ident(n),
                self.idents(&u.columns)
            )),
            Op::CreateIndex(_, n, i) => {
                let (kind, keys, using) = self.my_index_parts(later, i)?;
                Some(format!("ADD {kind}INDEX {} ({keys}){using}", self.ident(n)))
            }
            _ => None,
        })
    }

    /// The statements of `op` on its own; `earlier` are the ops before it in the list.
    fn mysql_statements(
        &self,
        op: &Op,
        earlier: &[Op],
        after: &Catalog,
    ) -> Result<Vec<String>, DdlError> {
        let alter = |t: &QName| format!("ALTER TABLE {}", self.qname(t));
        Ok(match op {
            Op::CreateSchema(s) => vec![format!("CREATE DATABASE {}", self.ident(s))],
            Op::DropSchema(s) => vec![format!("DROP DATABASE {}", self.ident(s))],
            Op::CreateEnum(..) | Op::DropEnum(..) | Op::AddEnumValue { .. } => {
                return Err(self.lacks("enum types (an ENUM column's type is its own)", op));
            }
            Op::RemoveEnumValue { .. } => Vec::new(),
            Op::CreateSequence(..) | Op::DropSequence(..) | Op::AlterSequence { .. } => {
                return Err(self.lacks("sequences from autogenerate yet", op));
            }
            Op::CreateTable(n, t) => vec![self.my_create_table(n, t)],
            Op::DropTable(n, _) => vec![format!("DROP TABLE {}", self.qname(n))],
            Op::RenameTable { from, to } => vec![format!(
                "RENAME TABLE {} TO {}",
                self.qname(from),
                self.sibling(from, to)
            )],
            Op::AddColumn(t, c) => {
                vec![format!("{} ADD COLUMN {}", alter(t), self.my_column(c))]
            }
            Op::DropColumn(t, c) => vec![self.drop_column(t, &c.name)],
            Op::RenameColumn { table, from, to } => vec![self.rename_column(table, from, to)],
            Op::AlterColumn { table, from, to } => {
                if from.generated != to.generated {
                    // A generation expression cannot become a plain column, or change
                    // between STORED and VIRTUAL, in place.
                    vec![
                        self.drop_column(table, &to.name),
                        format!("{} ADD COLUMN {}", alter(table), self.my_column(to)),
                    ]
                } else {
                    vec![format!(
                        "{} MODIFY COLUMN {}",
                        alter(table),
                        self.my_column(to)
                    )]
                }
            }
            Op::AddPrimaryKey(t, p) => vec![format!(
                "{} ADD PRIMARY KEY ({})",
                alter(t),
                self.idents(&p.columns)
            )],
            Op::DropPrimaryKey(t, _) => vec![format!("{} DROP PRIMARY KEY", alter(t))],
            Op::AddUnique(t, n, u) => vec![format!(
                "{} ADD CONSTRAINT {} UNIQUE ({})",
                alter(t),
                self.ident(n),
                self.idents(&u.columns)
            )],
            Op::DropUnique(t, n, _) => vec![format!("{} DROP INDEX {}", alter(t), self.ident(n))],
            Op::AddCheck(t, n, c) => vec![format!(
                "{} ADD CONSTRAINT {} CHECK ({})",
                alter(t),
                self.ident(n),
                c.expression
            )],
            Op::DropCheck(t, n, _) => {
                vec![format!("{} DROP CONSTRAINT {}", alter(t), self.ident(n))]
            }
            Op::AddForeignKey(t, n, f) => vec![format!(
                "{} ADD CONSTRAINT {} {}",
                alter(t),
                self.ident(n),
                self.my_foreign_key(op, f)?
            )],
            Op::DropForeignKey(t, n, _) => vec![format!(
                "{} DROP FOREIGN KEY {}",
                alter(t),
                self.ident(&renamed_with_table(n, t, earlier))
            )],
            Op::CreateIndex(t, n, i) => vec![self.my_create_index(op, t, n, i)?],
            Op::DropIndex(t, n, _) => {
                vec![format!("DROP INDEX {} ON {}", self.ident(n), self.qname(t))]
            }
            Op::CreateView(n, v) => {
                if v.comment.is_some() {
                    return Err(self.lacks("comments on views", op));
                }
                vec![format!(
                    "CREATE VIEW {} AS\n{}",
                    self.qname(n),
                    v.definition.trim_end_matches(';')
                )]
            }
            Op::DropView(n, _) => vec![format!("DROP VIEW {}", self.qname(n))],
            Op::SetTableComment { table, to, .. } => vec![format!(
                "{} COMMENT = {}",
                alter(table),
                literal(to.as_deref().unwrap_or(""))
            )],
            Op::SetViewComment { .. } => return Err(self.lacks("comments on views", op)),
            Op::SetTableOptions { table, from, to } => {
                self.my_table_options(op, table, from, to, after)?
            }
        })
    }
}

/// The key `op` drops or adds where a foreign key may rest on it: its table, its name
/// and the plain columns it orders by first.
fn key_of(op: &Op) -> Option<(&QName, &str, Vec<&str>)> {
    match op {
        Op::DropIndex(t, n, i) | Op::CreateIndex(t, n, i) => Some((t, n, index_columns(i))),
        Op::DropUnique(t, n, u) | Op::AddUnique(t, n, u) => {
            Some((t, n, u.columns.iter().map(String::as_str).collect()))
        }
        _ => None,
    }
}

/// The plain columns an index orders by first (a FULLTEXT or SPATIAL one by none).
fn index_columns(i: &Index) -> Vec<&str> {
    if matches!(i.method.as_str(), "fulltext" | "spatial") {
        return Vec::new();
    }
    i.keys
        .iter()
        .take_while(|k| !k.is_expression)
        .map(|k| k.expression.as_str())
        .collect()
}

/// Whether an index on `key` (columns in order) serves `fk`, as InnoDB requires of
/// every foreign key: its columns first, in the same order.
fn serves(key: &[&str], fk: &ForeignKey) -> bool {
    fk.columns.len() <= key.len() && fk.columns.iter().zip(key).all(|(c, k)| c == k)
}

/// Where in `rest` the key is added that takes over from the key `op` drops, when a
/// foreign key rests on the dropped one and on no other (MySQL refuses to drop it
/// first: ERROR 1553), and nothing but other keys' drops changes the table in between:
/// with those drops (where in `rest`, too), the key is then written in one statement
/// with the drop. A key `taken` already (written with an earlier drop) is in place and
/// not a candidate. `after` is the catalog with `op`'s key dropped.
fn takeover(
    op: &Op,
    rest: &[Op],
    after: &Catalog,
    taken: impl Fn(usize) -> bool,
) -> Option<(usize, Vec<usize>)> {
    if !matches!(op, Op::DropIndex(..) | Op::DropUnique(..)) {
        return None;
    }
    let (table, _, first) = key_of(op)?;
    let t = after.schemas.get(&table.schema)?.tables.get(&table.name)?;
    let mut dropped = vec![first];
    let mut dropped_names: Vec<&str> = Vec::new();
    let mut between = Vec::new();
    for (j, later) in rest.iter().enumerate() {
        if later.table() != Some(table) {
            continue;
        }
        match later {
            Op::DropIndex(..) | Op::DropUnique(..) => {
                let (_, name, key) = key_of(later)?;
                dropped.push(key);
                dropped_names.push(name);
                between.push(j);
            }
            Op::CreateIndex(..) | Op::AddUnique(..) if !taken(j) => {
                // The keys left once those before it are dropped.
                let mut remaining: Vec<Vec<&str>> = t
                    .uniques
                    .iter()
                    .filter(|(n, _)| !dropped_names.contains(&n.as_str()))
                    .map(|(_, u)| u.columns.iter().map(String::as_str).collect())
                    .collect();
                remaining.extend(
                    t.primary_key
                        .iter()
                        .map(|p| p.columns.iter().map(String::as_str).collect()),
                );
                remaining.extend(
                    t.indexes
                        .iter()
                        .filter(|(n, _)| !dropped_names.contains(&n.as_str()))
                        .map(|(_, i)| index_columns(i)),
                );
                let resting: Vec<&ForeignKey> = t
                    .foreign_keys
                    .values()
                    .filter(|f| {
                        dropped.iter().any(|k| serves(k, f))
                            && !remaining.iter().any(|k| serves(k, f))
                    })
                    .collect();
                if resting.is_empty() {
                    return None;
                }
                let (_, _, key) = key_of(later)?;
                if resting.iter().all(|f| serves(&key, f)) {
                    return Some((j, between));
                }
            }
            Op::CreateIndex(..) | Op::AddUnique(..) => {}
            _ => return None,
        }
    }
    None
}

/// The name a foreign key named `name` has by the time `table` got its name: InnoDB
/// renames the names it made itself (`<table>_ibfk_<n>`) with their table, so after
/// `RENAME TABLE books TO volumes` the key read as `books_ibfk_1` is
/// `volumes_ibfk_1`.
fn renamed_with_table(name: &str, table: &QName, earlier: &[Op]) -> String {
    let mut name = name.to_string();
    for op in earlier {
        if let Op::RenameTable { from, to } = op
            && from.schema == table.schema
            && let Some(n) = name.strip_prefix(&format!("{}_ibfk_", from.name))
        {
            name = format!("{to}_ibfk_{n}");
        }
    }
    name
}

/// Whether a column of type `data_type` (as MySQL prints it) holds text in a
/// character set, and so takes its table's collation when it names none.
fn is_text(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    [
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
        "enum",
        "set",
    ]
    .iter()
    .any(|k| t == *k || t.starts_with(&format!("{k}(")) || t.starts_with(&format!("{k} ")))
}

/// Whether MySQL converts every value of column `from` into `to` unchanged (both as
/// MySQL or MariaDB print them: `int(11)`, `bigint unsigned`, `varchar(100)`): a
/// wider integer of a sign that holds the old range, a longer string, a text type that
/// holds the old length in any character set (4 bytes a character), more integer
/// digits and scale, a finer time, an `ENUM` or `SET` that keeps every label (a `SET`
/// whose labels move reads its members in the new order: kept), a `VARBINARY` at
/// least as long as a `BINARY`; and a character set that holds every character of the
/// old one. Anything else may lose or change values (`MODIFY COLUMN` truncates, or
/// fails, in strict mode; a longer `BINARY` pads with more zero bytes). The server
/// itself checks these rules (`server_tests`). A column
/// without a collation of its own has its table's, else its database's (from
/// `after`, the catalog with the change made).
pub(super) fn keeps_values(from: &Column, to: &Column, after: &Catalog, table: &QName) -> bool {
    let schema = after.schemas.get(&table.schema);
    let inherited = schema
        .and_then(|s| s.tables.get(&table.name))
        .and_then(|t| t.options.get("COLLATE"))
        .map(String::as_str)
        .or_else(|| schema.and_then(|s| s.collation.as_deref()));
    widens(&from.data_type, &to.data_type)
        && holds_characters(
            from.collation.as_deref().or(inherited),
            to.collation.as_deref().or(inherited),
        )
}

/// Whether a column follows its table's default collation: a text column that names
/// none of its own. A new default declares such columns again.
fn takes_table_collation(c: &Column) -> bool {
    c.collation.is_none() && is_text(&c.data_type)
}

/// Whether changing a table's options from `from` to `to` keeps every value: a new
/// default collation declares again the columns that [`takes_table_collation`]
/// (as `my_table_options` writes it), and its character set must hold every
/// character of the old one (`after` is the catalog with the change made).
pub(super) fn options_keep_values(
    from: &BTreeMap<String, String>,
    to: &BTreeMap<String, String>,
    after: &Catalog,
    table: &QName,
) -> bool {
    if from.get("COLLATE") == to.get("COLLATE") {
        return true;
    }
    let schema = after.schemas.get(&table.schema);
    let database = schema.and_then(|s| s.collation.as_deref());
    let declared_again = schema
        .and_then(|s| s.tables.get(&table.name))
        .is_some_and(|t| t.columns.iter().any(takes_table_collation));
    !declared_again
        || holds_characters(
            from.get("COLLATE").map(String::as_str).or(database),
            to.get("COLLATE").map(String::as_str).or(database),
        )
}

fn widens(from: &str, to: &str) -> bool {
    if from.eq_ignore_ascii_case(to) {
        return true;
    }
    let lower = |t: &str| t.trim().to_ascii_lowercase();
    let (from, to) = (lower(from), lower(to));
    // `ENUM` and `SET` convert by label: appended or inserted labels keep every value,
    // and an `ENUM`'s one label is a `SET` of it.
    for (from_kind, to_kind) in [("enum(", "enum("), ("set(", "set("), ("enum(", "set(")] {
        if let (Some(f), Some(t)) = (from.strip_prefix(from_kind), to.strip_prefix(to_kind)) {
            return match (labels(f), labels(t)) {
                (Some(f), Some(t)) => f.iter().all(|l| t.contains(l)),
                _ => false,
            };
        }
    }
    // Signedness and display options after the parentheses (`zerofill` changes only
    // how a number is shown).
    let split = |t: &str| -> (String, bool) {
        let unsigned = t.split_whitespace().any(|w| w == "unsigned");
        let base = t
            .split_whitespace()
            .filter(|w| !matches!(*w, "unsigned" | "signed" | "zerofill"))
            .collect::<Vec<_>>()
            .join(" ");
        (base, unsigned)
    };
    let ((fbase, funsigned), (tbase, tunsigned)) = (split(&from), split(&to));
    let (Some((fname, fargs)), Some((tname, targs))) = (type_parts(&fbase), type_parts(&tbase))
    else {
        return false;
    };
    let integer = |n: &str| match n {
        "tinyint" => Some(1),
        "smallint" => Some(2),
        "mediumint" => Some(3),
        "int" | "integer" => Some(4),
        "bigint" => Some(5),
        _ => None,
    };
    if let (Some(a), Some(b)) = (integer(&fname), integer(&tname)) {
        return match (funsigned, tunsigned) {
            (false, true) => false,
            (true, false) => b > a,
            _ => b >= a,
        };
    }
    // Bytes a text or blob type holds.
    let long = |n: &str| match n {
        "tinytext" | "tinyblob" => Some(255_u64),
        "text" | "blob" => Some(65_535),
        "mediumtext" | "mediumblob" => Some(16_777_215),
        "longtext" | "longblob" => Some(4_294_967_295),
        _ => None,
    };
    let chars = |n: &str| matches!(n, "char" | "varchar");
    let bytes = |n: &str| matches!(n, "binary" | "varbinary");
    let length = |args: &[u64]| args.first().copied().unwrap_or(1);
    let text = |n: &str| n.ends_with("text");
    match (fname.as_str(), tname.as_str()) {
        // A CHAR is read without its trailing spaces: into a VARCHAR it stays as read;
        // a VARCHAR into a CHAR loses its own.
        (f, t) if chars(f) && chars(t) => {
            !(f == "varchar" && t == "char") && length(&targs) >= length(&fargs)
        }
        // A BINARY is read with the zero bytes it is padded with: a VARBINARY as long
        // keeps them as read, a longer BINARY pads them further.
        ("binary", "binary") => length(&targs) == length(&fargs),
        (f, "varbinary") if bytes(f) => length(&targs) >= length(&fargs),
        (f, t) if chars(f) && text(t) => long(t).is_some_and(|b| b >= 4 * length(&fargs)),
        (f, t) if bytes(f) && t.ends_with("blob") => long(t).is_some_and(|b| b >= length(&fargs)),
        (f, t) if long(f).is_some() && long(t).is_some() => {
            text(f) == text(t) && long(t) >= long(f)
        }
        ("decimal" | "numeric", "decimal" | "numeric") => {
            // MySQL's default precision and scale are (10,0).
            let ps = |a: &[u64]| match a {
                [] => (10, 0),
                [p] => (*p, 0),
                [p, s, ..] => (*p, *s),
            };
            let ((fp, fs), (tp, ts)) = (ps(&fargs), ps(&targs));
            (funsigned || !tunsigned) && ts >= fs && tp.saturating_sub(ts) >= fp.saturating_sub(fs)
        }
        ("float", "double" | "double precision" | "real") => funsigned || !tunsigned,
        (f, t) if f == t && matches!(f, "datetime" | "time" | "timestamp") => {
            targs.first().unwrap_or(&0) >= fargs.first().unwrap_or(&0)
        }
        _ => false,
    }
}

/// The labels of an `ENUM` or `SET` type after its opening parenthesis
/// (`'a','it''s')`), as written; `None` when they do not read so.
fn labels(list: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = list.chars().peekable();
    loop {
        if chars.next()? != '\'' {
            return None;
        }
        let mut label = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                '\\' => {
                    label.push('\\');
                    label.push(chars.next()?);
                }
                c => label.push(c),
            }
        }
        out.push(label);
        match chars.next()? {
            ',' => continue,
            ')' => return chars.next().is_none().then_some(out),
            _ => return None,
        }
    }
}

/// Whether a column that had collation `from` holds every character it held with
/// collation `to` (`None` where not known, taken as unchanged): the same character
/// set, or one that holds more (every Unicode character, or every character of the
/// Basic Multilingual Plane that the old one could hold). The character set is the
/// collation's first word.
fn holds_characters(from: Option<&str>, to: Option<&str>) -> bool {
    let (Some(from), Some(to)) = (from, to) else {
        return true;
    };
    let set = |c: &str| c.split('_').next().unwrap_or(c).to_ascii_lowercase();
    let (from, to) = (set(from), set(to));
    let unicode = ["utf8mb4", "utf16", "utf16le", "utf32"];
    let basic_plane = ["utf8mb3", "utf8", "ucs2"];
    let within_basic_plane = ["ascii", "latin1", "utf8mb3", "utf8", "ucs2"];
    from == to
        || unicode.contains(&to.as_str())
        || (basic_plane.contains(&to.as_str()) && within_basic_plane.contains(&from.as_str()))
        || (to == "latin1" && from == "ascii")
}

#[cfg(test)]
mod server_tests;

#[cfg(test)]
mod value_tests {
    use super::{holds_characters, labels, widens};

    #[test]
    fn wider_types_keep_every_value() {
        for (from, to, keeps) in [
            ("int", "bigint", true),
            ("int(11)", "bigint(20)", true),
            ("bigint(20)", "int(11)", false),
            ("tinyint(1)", "smallint", true),
            ("int unsigned", "int", false),
            ("int unsigned", "bigint", true),
            ("int", "bigint unsigned", false),
            ("int(10) unsigned zerofill", "int unsigned", true),
            ("varchar(50)", "varchar(100)", true),
            ("varchar(100)", "varchar(50)", false),
            ("char(10)", "varchar(10)", true),
            ("varchar(10)", "char(10)", false),
            ("varchar(60)", "tinytext", true),
            ("varchar(100)", "tinytext", false),
            ("varchar(100)", "text", true),
            ("text", "mediumtext", true),
            ("mediumtext", "text", false),
            ("text", "blob", false),
            ("varbinary(10)", "blob", true),
            ("binary(4)", "varbinary(4)", true),
            ("binary(4)", "binary(8)", false),
            ("varbinary(4)", "binary(4)", false),
            ("decimal(12,2)", "decimal(14,2)", true),
            ("decimal(12,2)", "decimal(14,4)", true),
            ("decimal(12,2)", "decimal(12,4)", false),
            ("decimal(12,2)", "decimal(12,1)", false),
            ("decimal", "decimal(12,2)", true),
            ("float", "double", true),
            ("double", "float", false),
            ("datetime", "datetime(3)", true),
            ("datetime(6)", "datetime(3)", false),
            ("timestamp", "datetime", false),
            ("enum('a','b')", "enum('a','b','c')", true),
            ("enum('a','b')", "enum('b','c')", false),
            ("set('x','y')", "set('y','x','z')", true),
            ("enum('a')", "set('a')", true),
            ("set('a')", "enum('a')", false),
            ("json", "text", false),
        ] {
            assert_eq!(widens(from, to), keeps, "{from} -> {to}");
        }
    }

    #[test]
    fn enum_labels_read_as_written() {
        assert_eq!(
            labels("'a','it''s','b,c')"),
            Some(vec!["a".into(), "it's".into(), "b,c".into()])
        );
        assert_eq!(labels("'a',b)"), None);
        assert_eq!(labels("'a')x"), None);
        assert_eq!(labels("'a'"), None);
    }

    #[test]
    fn character_sets_that_hold_fewer_characters_lose_them() {
        for (from, to, keeps) in [
            (Some("utf8mb4_bin"), Some("utf8mb4_0900_ai_ci"), true),
            (Some("latin1_swedish_ci"), Some("utf8mb4_bin"), true),
            (Some("utf8mb4_bin"), Some("latin1_swedish_ci"), false),
            (
                Some("utf8mb4_general_ci"),
                Some("utf8mb3_general_ci"),
                false,
            ),
            (Some("utf8mb3_general_ci"), Some("utf8mb4_general_ci"), true),
            (Some("latin1_bin"), Some("utf8mb3_bin"), true),
            (Some("ascii_bin"), Some("latin1_bin"), true),
            (Some("utf8mb4_bin"), None, true),
        ] {
            assert_eq!(holds_characters(from, to), keeps, "{from:?} -> {to:?}");
        }
    }
}
