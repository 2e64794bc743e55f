//! SQL text per dialect for aludel's own bookkeeping: the version table's DDL, the row
//! changes of each step, transaction framing and comments. Pure: nothing here connects.

use crate::url::Dialect;

pub(crate) mod ddl;

pub use ddl::{DdlError, RenderedOp, render_ops};

/// What a dialect can do, as far as running migrations is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// DDL runs inside transactions and rolls back with them.
    pub transactional_ddl: bool,
    /// A table can be put in a named schema (`version_table_schema`).
    pub schemas: bool,
    /// A primary or unique key is an index that reads back exactly as written, so a
    /// scratch database reading expressions back need not build it again
    /// (PostgreSQL). Not where a key changes what its table is (SQLite's `INTEGER
    /// PRIMARY KEY`) or a column needs one (MySQL's `AUTO_INCREMENT`).
    pub keys_read_back_as_written: bool,
    /// A large desired schema may be loaded over several sessions at once, where
    /// `autogen::load_plan` says its statements touch different objects
    /// (PostgreSQL, whose statements that plan reads).
    pub side_by_side_load: bool,
}

/// The capabilities of `dialect`.
pub fn capabilities(dialect: Dialect) -> Capabilities {
    match dialect {
        Dialect::Postgres => Capabilities {
            transactional_ddl: true,
            schemas: true,
            keys_read_back_as_written: true,
            side_by_side_load: true,
        },
        // One database file, no schemas (attached databases are not schemas).
        Dialect::Sqlite => Capabilities {
            transactional_ddl: true,
            schemas: false,
            keys_read_back_as_written: false,
            side_by_side_load: false,
        },
        // MySQL commits implicitly around every DDL statement; its schemas are
        // databases.
        Dialect::Mysql => Capabilities {
            transactional_ddl: false,
            schemas: true,
            keys_read_back_as_written: false,
            side_by_side_load: false,
        },
    }
}

/// The version table's name and optional schema, rendered for one dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    /// The table name.
    pub name: String,
    /// The schema, if not the connection's default.
    pub schema: Option<String>,
    /// The dialect SQL is rendered for.
    pub dialect: Dialect,
}

impl VersionTable {
    /// The length of `version_num`, which bounds revision ids.
    pub const VERSION_NUM_LENGTH: usize = 64;

    /// The qualified, quoted table name.
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(s) => format!(
                "{}.{}",
                quote_ident(self.dialect, s),
                quote_ident(self.dialect, &self.name)
            ),
            None => quote_ident(self.dialect, &self.name),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS ...` with the primary key Alembic gives its table.
    pub fn create(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    version_num VARCHAR({}) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
            self.qualified(),
            Self::VERSION_NUM_LENGTH,
            quote_ident(self.dialect, &format!("{}_pkc", self.name)),
        )
    }

    /// Reads every row.
    pub fn select(&self) -> String {
        format!("SELECT version_num FROM {}", self.qualified())
    }

    /// Inserts a row.
    pub fn insert(&self, rev: &str) -> String {
        format!(
            "INSERT INTO {} (version_num) VALUES ({})",
            self.qualified(),
            quote_literal(rev)
        )
    }

    /// Moves a row from one revision to another.
    pub fn update(&self, from: &str, to: &str) -> String {
        format!(
            "UPDATE {} SET version_num = {} WHERE version_num = {}",
            self.qualified(),
            quote_literal(to),
            quote_literal(from)
        )
    }

    /// Moves a row from one revision to another as [`VersionTable::update`] does,
    /// while finding every row: a server that reports the rows an `UPDATE` found and
    /// changed (MySQL, MariaDB) then tells in the same answer whether the table held
    /// that row alone, with no read of its own.
    pub fn update_finding_all(&self, from: &str, to: &str) -> String {
        format!(
            "UPDATE {} SET version_num = CASE WHEN version_num = {} THEN {} ELSE version_num END",
            self.qualified(),
            quote_literal(from),
            quote_literal(to)
        )
    }

    /// Deletes a row.
    pub fn delete(&self, rev: &str) -> String {
        format!(
            "DELETE FROM {} WHERE version_num = {}",
            self.qualified(),
            quote_literal(rev)
        )
    }

    /// Deletes every row (`stamp --purge`).
    pub fn delete_all(&self) -> String {
        format!("DELETE FROM {}", self.qualified())
    }

    /// A statement that fails unless the table holds exactly the rows `expected`, to
    /// run after the version-table changes and before their `COMMIT`, in the same
    /// round trip: the check that nothing else changed the table then costs no round
    /// trip of its own. MySQL and MariaDB only, where each revision's bookkeeping is a
    /// transaction of its own after the revision's statements and a round trip is what
    /// is left to save: a scalar subquery of two rows fails there (error 1242) without a
    /// stored routine (in a `SELECT`: MariaDB's `DO` lets it pass). `None` elsewhere:
    /// the rows are read back and compared instead.
    pub fn guard(&self, expected: &[String]) -> Option<String> {
        if self.dialect != Dialect::Mysql {
            return None;
        }
        let table = self.qualified();
        let mut holds = format!("(SELECT COUNT(*) FROM {table}) = {}", expected.len());
        if !expected.is_empty() {
            let listed: Vec<String> = expected.iter().map(|r| quote_literal(r)).collect();
            holds.push_str(&format!(
                " AND (SELECT COUNT(*) FROM {table} WHERE version_num IN ({})) = {}",
                listed.join(", "),
                expected.len()
            ));
        }
        Some(format!(
            "SELECT (SELECT 1 FROM (SELECT 1 AS n UNION ALL SELECT 2) AS aludel_guard WHERE NOT ({holds}))"
        ))
    }
}

/// The journal beside a version table: which statements of a revision run outside a
/// transaction have been applied, so that a run stopped in the middle of one resumes
/// after them instead of sending them again. One row per applied statement but the
/// last (the version-table change records that one, and removes the rows in the same
/// transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// The journal's own table: the version table's name with `_journal`, in its
    /// schema.
    pub table: VersionTable,
}

/// The columns a journal row is written in, in the order of [`JournalRow`]'s values.
const JOURNAL_COLUMNS: &str =
    "(revision, direction, statement_index, statement_line, statement_hash)";

/// One applied statement, as the journal records it.
#[derive(Debug, Clone, Copy)]
pub struct JournalRow<'a> {
    /// The revision the statement belongs to.
    pub revision: &'a str,
    /// `upgrade` or `downgrade`.
    pub direction: &'a str,
    /// The statement's index in its section, from 0.
    pub index: usize,
    /// Its line in the revision's file.
    pub line: usize,
    /// Its text, recorded by its hash ([`Journal::hash`]).
    pub sql: &'a str,
}

impl JournalRow<'_> {
    /// The row's values, in the order of [`JOURNAL_COLUMNS`].
    fn values(&self) -> String {
        format!(
            "{}, {}, {}, {}, {}",
            quote_literal(self.revision),
            quote_literal(self.direction),
            self.index,
            self.line,
            quote_literal(&Journal::hash(self.sql))
        )
    }
}

impl Journal {
    /// The journal of `version_table`.
    pub fn of(version_table: &VersionTable) -> Journal {
        Journal {
            table: VersionTable {
                name: Journal::table_name(&version_table.name),
                ..version_table.clone()
            },
        }
    }

    /// The journal's table name for the version table `version_table`.
    pub fn table_name(version_table: &str) -> String {
        format!("{version_table}_journal")
    }

    /// `CREATE TABLE IF NOT EXISTS ...`.
    pub fn create(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    revision VARCHAR({}) NOT NULL,\n    direction VARCHAR(9) NOT NULL,\n    statement_index INTEGER NOT NULL,\n    statement_line INTEGER NOT NULL,\n    statement_hash VARCHAR(16) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY (revision, direction, statement_index)\n)",
            self.table.qualified(),
            VersionTable::VERSION_NUM_LENGTH,
            quote_ident(self.table.dialect, &format!("{}_pkc", self.table.name)),
        )
    }

    /// Every row, as `revision direction index:hash` (revision ids hold no spaces),
    /// in order: read once per run, which alone writes the journal while it holds
    /// the lock.
    pub fn select_all(&self) -> String {
        let text = match self.table.dialect {
            Dialect::Mysql => {
                "CONCAT(revision, ' ', direction, ' ', statement_index, ':', statement_hash)"
            }
            Dialect::Postgres | Dialect::Sqlite => {
                "revision || ' ' || direction || ' ' || statement_index || ':' || statement_hash"
            }
        };
        format!(
            "SELECT {text} FROM {} ORDER BY revision, direction, statement_index",
            self.table.qualified(),
        )
    }

    /// Records one applied statement.
    pub fn insert(&self, row: &JournalRow) -> String {
        Journal::insert_into(&self.table.qualified(), row)
    }

    /// Records one applied statement in the journal table `table` (qualified and
    /// quoted, as [`VersionTable::qualified`] gives it): the SQL a message gives the
    /// user to run.
    pub fn insert_into(table: &str, row: &JournalRow) -> String {
        format!(
            "INSERT INTO {table} {JOURNAL_COLUMNS} VALUES ({})",
            row.values()
        )
    }

    /// Like [`Journal::insert`], unless the version table `version` holds `recorded`
    /// (the revision's step is recorded, which makes the row moot): on MySQL and
    /// MariaDB, written beside a session that records the step, the read of the
    /// version table is a locking one (REPEATABLE READ), so the row is either in
    /// before that session's change of the table, or not written.
    pub fn insert_unless_recorded(
        &self,
        row: &JournalRow,
        version: &VersionTable,
        recorded: &str,
    ) -> String {
        format!(
            "INSERT INTO {} {JOURNAL_COLUMNS} SELECT {} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM {} WHERE version_num = {})",
            self.table.qualified(),
            row.values(),
            version.qualified(),
            quote_literal(recorded)
        )
    }

    /// Forgets one revision's direction (it completed, or was undone by hand).
    pub fn delete(&self, revision: &str, direction: &str) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {} AND direction = {}",
            self.table.qualified(),
            quote_literal(revision),
            quote_literal(direction)
        )
    }

    /// Forgets everything (`stamp`: the user says where the database is).
    pub fn delete_all(&self) -> String {
        format!("DELETE FROM {}", self.table.qualified())
    }

    /// The hash recorded for a statement's text: FNV-1a of its bytes, as 16 hex digits.
    pub fn hash(sql: &str) -> String {
        use std::hash::Hasher;
        let mut hasher = crate::graph::IdHasher::default();
        hasher.write(sql.as_bytes());
        format!("{:016x}", hasher.finish())
    }
}

/// Quotes an identifier for `dialect`.
///
/// ```
/// use aludel::{render::quote_ident, url::Dialect};
/// assert_eq!(quote_ident(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
/// assert_eq!(quote_ident(Dialect::Mysql, "t"), "`t`");
/// ```
pub fn quote_ident(dialect: Dialect, ident: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
    }
}

/// Quotes a string literal (standard SQL: quotes doubled).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `BEGIN` as the dialect writes it in a script.
pub fn begin(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mysql => "START TRANSACTION",
        Dialect::Postgres | Dialect::Sqlite => "BEGIN",
    }
}

/// [`begin`] as a list of statements, like [`begin_fast`].
pub fn begin_statements(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Mysql => &["START TRANSACTION"],
        Dialect::Postgres | Dialect::Sqlite => &["BEGIN"],
    }
}

/// `BEGIN` for a transaction whose commit need not wait for the disk: PostgreSQL's
/// asynchronous commit. Other dialects begin normally.
pub(crate) fn begin_fast(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &["BEGIN", "SET LOCAL synchronous_commit = off"],
        Dialect::Sqlite => &["BEGIN"],
        Dialect::Mysql => &["START TRANSACTION"],
    }
}

/// `COMMIT`.
pub fn commit() -> &'static str {
    "COMMIT"
}

/// `ROLLBACK`.
pub fn rollback() -> &'static str {
    "ROLLBACK"
}

/// A single-line SQL comment; line breaks in `text` are folded so it stays one.
pub fn comment(text: &str) -> String {
    format!("-- {}", text.replace(['\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dialect: Dialect, schema: Option<&str>) -> VersionTable {
        VersionTable {
            name: "aludel_version".into(),
            schema: schema.map(str::to_string),
            dialect,
        }
    }

    #[test]
    fn version_table_sql_per_dialect() {
        let pg = table(Dialect::Postgres, Some("app"));
        assert_eq!(
            pg.create(),
            "CREATE TABLE IF NOT EXISTS \"app\".\"aludel_version\" (\n    version_num VARCHAR(64) NOT NULL,\n    CONSTRAINT \"aludel_version_pkc\" PRIMARY KEY (version_num)\n)"
        );
        assert_eq!(
            pg.update("a", "b"),
            "UPDATE \"app\".\"aludel_version\" SET version_num = 'b' WHERE version_num = 'a'"
        );
        let my = table(Dialect::Mysql, None);
        assert_eq!(
            my.insert("x'y"),
            "INSERT INTO `aludel_version` (version_num) VALUES ('x''y')"
        );
        assert_eq!(
            my.delete("a"),
            "DELETE FROM `aludel_version` WHERE version_num = 'a'"
        );
        assert_eq!(begin(Dialect::Mysql), "START TRANSACTION");
        assert_eq!(
            my.guard(&["a".into(), "b'c".into()]).as_deref(),
            Some(
                "SELECT (SELECT 1 FROM (SELECT 1 AS n UNION ALL SELECT 2) AS aludel_guard WHERE NOT ((SELECT COUNT(*) FROM `aludel_version`) = 2 AND (SELECT COUNT(*) FROM `aludel_version` WHERE version_num IN ('a', 'b''c')) = 2))"
            )
        );
        assert_eq!(
            my.guard(&[]).as_deref(),
            Some(
                "SELECT (SELECT 1 FROM (SELECT 1 AS n UNION ALL SELECT 2) AS aludel_guard WHERE NOT ((SELECT COUNT(*) FROM `aludel_version`) = 0))"
            )
        );
        assert_eq!(pg.guard(&["a".into()]), None);
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nb"), "-- a b");
    }
}
