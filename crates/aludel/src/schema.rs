//! A dialect-neutral model of a database schema: what introspection reads, what `diff`
//! compares. Everything is keyed by name (`BTreeMap`s, so iteration and output are in a
//! stable order) and nothing points back to its parent: a [`Catalog`] is plain data.
//!
//! Text that the database prints (types, defaults, index expressions, view definitions)
//! is kept as printed after [`normalize_type`]-style normalisation, so two catalogs read
//! by the same introspection compare equal exactly when the database would say they do.

use std::collections::BTreeMap;

/// A whole database as far as aludel models it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Schemas (namespaces) by name; SQLite has one, named `main`.
    pub schemas: BTreeMap<String, Schema>,
}

/// Where a printed expression stands in a catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExpressionPlace {
    /// The schema.
    pub schema: String,
    /// The table or view it belongs to.
    pub owner: String,
    /// Which expression: `column.default`, `column.generated`, `check name`, `index
    /// name key N`, `index name where`, `view`.
    pub what: String,
}

impl Catalog {
    /// Calls `f` with every expression the database printed (column defaults and
    /// generated columns, check constraints, index keys that are expressions, index
    /// predicates, view definitions) and where it stands, in a stable order.
    pub fn visit_expressions(&mut self, f: &mut dyn FnMut(ExpressionPlace, &mut String)) {
        for (s, schema) in &mut self.schemas {
            let place = |owner: &str, what: String| ExpressionPlace {
                schema: s.clone(),
                owner: owner.to_string(),
                what,
            };
            for (t, table) in &mut schema.tables {
                for c in &mut table.columns {
                    if let Some(d) = &mut c.default {
                        f(place(t, format!("{}.default", c.name)), d);
                    }
                    if let Some(g) = &mut c.generated {
                        f(place(t, format!("{}.generated", c.name)), &mut g.expression);
                    }
                }
                for (name, check) in &mut table.checks {
                    f(place(t, format!("check {name}")), &mut check.expression);
                }
                for (name, index) in &mut table.indexes {
                    for (i, key) in index.keys.iter_mut().enumerate() {
                        if key.is_expression {
                            f(
                                place(t, format!("index {name} key {i}")),
                                &mut key.expression,
                            );
                        }
                    }
                    if let Some(p) = &mut index.predicate {
                        f(place(t, format!("index {name} where")), p);
                    }
                }
            }
            for (v, view) in &mut schema.views {
                f(place(v, "view".to_string()), &mut view.definition);
            }
        }
    }

    /// Every printed expression and where it stands ([`Catalog::visit_expressions`]).
    pub fn expressions(&self) -> BTreeMap<ExpressionPlace, String> {
        let mut all = BTreeMap::new();
        self.clone().visit_expressions(&mut |place, text| {
            all.insert(place, std::mem::take(text));
        });
        all
    }
}

/// One schema (namespace) and what it holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Views by name.
    pub views: BTreeMap<String, View>,
    /// Enum types by name (PostgreSQL).
    pub enums: BTreeMap<String, EnumType>,
    /// Sequences not owned by an identity or serial column, by name.
    pub sequences: BTreeMap<String, Sequence>,
    /// The database's default collation (MySQL), which a table's `COLLATE` option is
    /// told apart from.
    #[serde(default)]
    pub collation: Option<String>,
}

/// A table.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Table {
    /// Columns in their order in the table.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints by name.
    pub uniques: BTreeMap<String, Unique>,
    /// Indexes that back no constraint, by name.
    pub indexes: BTreeMap<String, Index>,
    /// Foreign keys by name.
    pub foreign_keys: BTreeMap<String, ForeignKey>,
    /// Check constraints by name.
    pub checks: BTreeMap<String, Check>,
    /// The table's comment.
    pub comment: Option<String>,
    /// The options written after the column list that change what the table is, by
    /// name, with their values: MySQL's `ENGINE` (when not InnoDB, the engine a table
    /// gets when it names none) and `COLLATE` (when not the database's default),
    /// SQLite's `STRICT` and `WITHOUT ROWID` (no value).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// The type as the database prints it, normalised ([`normalize_type`]).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression as the database prints it.
    pub default: Option<String>,
    /// Identity or serial, when the column takes its values from a sequence it owns.
    pub identity: Option<Identity>,
    /// How a generated (computed) column computes its values.
    pub generated: Option<Generated>,
    /// A collation other than the database's default.
    pub collation: Option<String>,
    /// The column's comment.
    pub comment: Option<String>,
}

/// A generated column's expression, and whether its values are stored in the table
/// (`STORED`) or computed when read (`VIRTUAL`, SQLite's default, MySQL's and
/// PostgreSQL 18's option).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Generated {
    /// The expression, as the database prints it.
    pub expression: String,
    /// `STORED` rather than `VIRTUAL`.
    pub stored: bool,
}

impl Generated {
    /// A `STORED` generated column of `expression`.
    pub fn stored(expression: impl Into<String>) -> Generated {
        Generated {
            expression: expression.into(),
            stored: true,
        }
    }

    /// A `VIRTUAL` generated column of `expression`.
    pub fn virtual_(expression: impl Into<String>) -> Generated {
        Generated {
            expression: expression.into(),
            stored: false,
        }
    }

    /// `STORED` or `VIRTUAL`, as the column's definition says it.
    pub fn keyword(&self) -> &'static str {
        if self.stored { "STORED" } else { "VIRTUAL" }
    }
}

/// How a column numbers itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
    /// `serial`/`bigserial`: a default of `nextval` on a sequence the column owns.
    Serial,
    /// MySQL's `AUTO_INCREMENT`: the table numbers the column itself.
    AutoIncrement,
}

/// A primary key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct PrimaryKey {
    /// The constraint's name (generated names included: `diff` decides what matters).
    pub name: String,
    /// Key columns in order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Unique {
    /// Columns in order.
    pub columns: Vec<String>,
}

/// An index.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Index {
    /// Whether it is unique.
    pub unique: bool,
    /// The access method (`btree`, `gin`, ...).
    pub method: String,
    /// Key parts in order.
    pub keys: Vec<IndexKey>,
    /// `INCLUDE` columns.
    pub include: Vec<String>,
    /// The `WHERE` predicate of a partial index.
    pub predicate: Option<String>,
}

/// One key part of an index.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IndexKey {
    /// A column name or, for an expression index, the expression as printed.
    pub expression: String,
    /// Whether `expression` is an expression rather than a column name.
    pub is_expression: bool,
    /// Descending order.
    pub descending: bool,
    /// Whether NULLs sort first, as the index really orders them: `false` for `ASC`
    /// (the default, `NULLS LAST`), `true` for `ASC NULLS FIRST`, `true` for `DESC` (the
    /// default, `NULLS FIRST`) and `false` for `DESC NULLS LAST`. One flag with one
    /// meaning, so `DESC` and `DESC NULLS FIRST` compare equal. SQLite has no `NULLS`
    /// clause in indexes and sorts NULLs first ascending: `true` for `ASC`, `false`
    /// for `DESC`.
    pub nulls_first: bool,
    /// The operator class when it is not the default for the key's type
    /// (`text_pattern_ops`, `jsonb_path_ops`); PostgreSQL only.
    #[serde(default)]
    pub opclass: Option<String>,
    /// How many leading characters (bytes, for binary types) of the column the
    /// index holds (MySQL's `col(10)`); `None`: all of it.
    #[serde(default)]
    pub prefix_length: Option<u32>,
}

/// A foreign key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct ForeignKey {
    /// Referencing columns in order.
    pub columns: Vec<String>,
    /// The referenced schema.
    pub ref_schema: String,
    /// The referenced table.
    pub ref_table: String,
    /// Referenced columns in order.
    pub ref_columns: Vec<String>,
    /// `ON UPDATE`.
    pub on_update: ReferentialAction,
    /// `ON DELETE`.
    pub on_delete: ReferentialAction,
    /// `DEFERRABLE`, and whether `INITIALLY DEFERRED`.
    pub deferrable: Option<bool>,
}

/// What a foreign key does when the referenced row changes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, Default, PartialEq, Eq)]
pub enum ReferentialAction {
    /// `NO ACTION` (the default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl ReferentialAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            ReferentialAction::NoAction => "NO ACTION",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A check constraint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct Check {
    /// The condition as the database prints it.
    pub expression: String,
}

/// An enum type (PostgreSQL).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct EnumType {
    /// Labels in their sort order.
    pub labels: Vec<String>,
}

/// A sequence.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Sequence {
    /// The value type (`bigint`, ...).
    pub data_type: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min: i64,
    /// `MAXVALUE`.
    pub max: i64,
    /// `CYCLE`.
    pub cycle: bool,
}

/// A view.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default, PartialEq, Eq)]
pub struct View {
    /// The query as the database prints it.
    pub definition: String,
    /// The view's comment.
    pub comment: Option<String>,
}

/// A PostgreSQL type name in one spelling: the aliases `int4`, `int`, `bool`,
/// `varchar(n)`, `timestamptz`, ... become the names `format_type` prints (`integer`,
/// `boolean`, `character varying(n)`, `timestamp with time zone`, ...), so a type
/// written either way in `schema.sql` compares equal to the one read back.
///
/// ```
/// use aludel::schema::normalize_type;
/// assert_eq!(normalize_type("INT4"), "integer");
/// assert_eq!(normalize_type("varchar(20)"), "character varying(20)");
/// assert_eq!(normalize_type("timestamptz(3)"), "timestamp(3) with time zone");
/// assert_eq!(normalize_type("numeric(12, 2)[]"), "numeric(12,2)[]");
/// assert_eq!(normalize_type("\"Role\"[]"), "\"Role\"[]");
/// ```
///
/// A quoted name is the user's own type (an enum, a domain) and keeps its case: only
/// what is outside the quotes is folded, so `"Role"` still names `"Role"`, not `role`.
pub fn normalize_type(written: &str) -> String {
    if written.contains('"') {
        let mut quoted = false;
        return written
            .trim()
            .chars()
            .map(|c| {
                // `""` inside a quoted name toggles twice: it stays inside.
                if c == '"' {
                    quoted = !quoted;
                }
                if quoted { c } else { c.to_ascii_lowercase() }
            })
            .collect();
    }
    let lower = written.trim().to_ascii_lowercase();
    // Array suffixes stay as they are; the element type is normalised.
    let (base, arrays) = match lower.find("[]") {
        Some(i) => (lower[..i].trim_end(), &lower[i..]),
        None => (lower.as_str(), ""),
    };
    // The modifier `(n)` or `(p,s)`, wherever it is written (`timestamp(3) with time
    // zone`), and the name around it.
    let (name, modifier) = match (base.find('('), base.find(')')) {
        (Some(open), Some(close)) if open < close => {
            let args: String = base[open..=close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            (format!("{} {}", &base[..open], &base[close + 1..]), args)
        }
        _ => (base.to_string(), String::new()),
    };
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let canonical = match name.as_str() {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "bool" | "boolean" => "boolean",
        "float4" | "real" => "real",
        "float8" | "double precision" => "double precision",
        "decimal" | "numeric" => "numeric",
        "varchar" | "character varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "varbit" | "bit varying" => "bit varying",
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
        "timestamp" | "timestamp without time zone" => "timestamp without time zone",
        "timetz" | "time with time zone" => "time with time zone",
        "time" | "time without time zone" => "time without time zone",
        other => other,
    };
    // Precision goes between the name and "with/without time zone".
    let text = match canonical.split_once(" with") {
        Some((head, tail)) if !modifier.is_empty() && head.starts_with("time") => {
            format!("{head}{modifier} with{tail}")
        }
        _ => format!("{canonical}{modifier}"),
    };
    format!("{text}{arrays}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_aliases_normalise_to_one_spelling() {
        for (written, expected) in [
            ("int", "integer"),
            ("INTEGER", "integer"),
            ("serial", "integer"),
            ("bigserial", "bigint"),
            ("int2", "smallint"),
            ("float8", "double precision"),
            ("DOUBLE   PRECISION", "double precision"),
            ("decimal(10,2)", "numeric(10,2)"),
            ("bpchar(3)", "character(3)"),
            ("char(3)", "character(3)"),
            ("character varying", "character varying"),
            ("timestamp", "timestamp without time zone"),
            (
                "timestamp(6) without time zone",
                "timestamp(6) without time zone",
            ),
            ("timetz", "time with time zone"),
            ("text[]", "text[]"),
            ("int4[][]", "integer[][]"),
            ("jsonb", "jsonb"),
            ("public.mood", "public.mood"),
            ("\"Role\"", "\"Role\""),
            ("\"Role\"[]", "\"Role\"[]"),
            ("APP.\"Mixed \"\"Case\"\"\"", "app.\"Mixed \"\"Case\"\"\""),
        ] {
            assert_eq!(normalize_type(written), expected, "{written}");
        }
    }

    #[test]
    fn catalogs_compare_by_content() {
        let mut a = Catalog::default();
        let mut table = Table::default();
        table.columns.push(Column {
            name: "id".into(),
            data_type: normalize_type("int8"),
            ..Column::default()
        });
        a.schemas
            .entry("public".into())
            .or_default()
            .tables
            .insert("t".into(), table.clone());
        let mut b = Catalog::default();
        table.columns[0].data_type = normalize_type("bigint");
        b.schemas
            .entry("public".into())
            .or_default()
            .tables
            .insert("t".into(), table);
        assert_eq!(a, b);
        let t = &a.schemas["public"].tables["t"];
        assert_eq!(t.column("id").map(|c| c.data_type.as_str()), Some("bigint"));
        assert!(t.column("missing").is_none());
    }
}
