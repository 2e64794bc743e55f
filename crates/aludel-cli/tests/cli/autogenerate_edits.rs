//! `revision --autogenerate`, one edit at a time: for every kind of object, adding it,
//! dropping it and changing each property. Each test starts from a base schema with
//! rows in it, edits `schema.sql` once, and checks the generated revision's SQL
//! exactly, that it upgrades to the desired schema (`check` finds nothing), that it
//! downgrades back to the base (`check` against the base finds nothing), and that the
//! rows are still there wherever the edit does not destroy them.
//!
//! The generated SQL is an insta snapshot per test and backend,
//! `snapshots/*autogenerate_edits__<test>@<backend>.snap`; `on!` lists the backends
//! each edit runs on, and a backend an edit does not run on (the object does not exist
//! in its dialect) has no snapshot. After a change to what is generated, run the tests
//! with `INSTA_UPDATE=always` to rewrite the snapshots that differ (the rest of each
//! test still runs), then review the change with `git diff`; a new backend's snapshots
//! are written the same way.

use aludel_testkit::{Backend, DbProject, mysql_flavour};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Two tables that both dialects accept as written.
const BASE: &str = "CREATE TABLE authors (
    id integer PRIMARY KEY,
    name varchar(50) NOT NULL,
    bio text
);
CREATE TABLE books (
    id integer PRIMARY KEY,
    author_id integer NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    pages integer,
    code text
);
";

/// The rows put in after the base is upgraded to.
const ROWS: &str = "INSERT INTO authors (id, name, bio) VALUES (1, 'Ada', 'analyst'), (2, 'Grace', NULL);
INSERT INTO books (id, author_id, title, pages, code) VALUES (1, 1, 'Notes', 100, '10'), (2, 2, 'Cobol', 200, '20');
";

/// What the rows read back as, per table.
const AUTHORS: (&str, &str, &[&str]) = (
    "authors",
    "SELECT id, name FROM authors",
    &["1|Ada", "2|Grace"],
);
const BOOKS: (&str, &str, &[&str]) = (
    "books",
    "SELECT id, author_id, title FROM books",
    &["1|1|Notes", "2|2|Cobol"],
);

/// `text` with `from` replaced by `to`; `from` must be there, so an edit is never
/// silently nothing.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in\n{text}");
    text.replacen(from, to, 1)
}

/// `text` and then `more`.
fn plus(text: &str, more: &str) -> String {
    format!("{text}{more}")
}

/// One edit of the schema and what to expect of it.
struct Edit {
    base: String,
    edited: String,
    renames: Vec<String>,
    inserts: String,
    /// Tables whose rows the edit destroys (not checked after the downgrade).
    lost: Vec<&'static str>,
    /// Queries and their rows after the upgrade.
    after_upgrade: Vec<(String, Vec<String>)>,
    /// Queries and their rows after the downgrade.
    after_downgrade: Vec<(String, Vec<String>)>,
    /// What `check` says against the base after the downgrade, when the downgrade
    /// cannot undo the edit entirely (it exits 1); `None`: it finds nothing.
    downgrade_leaves: Option<&'static str>,
    /// On MySQL, the text columns are `varchar` ([`Edit::varchar_on_mysql`]).
    varchar_on_mysql: bool,
    /// On MySQL but not MariaDB, the text columns are `varchar`
    /// ([`Edit::varchar_on_mysql_server`]).
    varchar_on_mysql_server: bool,
}

fn change(base: impl Into<String>, edited: impl Into<String>) -> Edit {
    Edit {
        base: base.into(),
        edited: edited.into(),
        renames: Vec::new(),
        inserts: ROWS.to_string(),
        lost: Vec::new(),
        after_upgrade: Vec::new(),
        after_downgrade: Vec::new(),
        downgrade_leaves: None,
        varchar_on_mysql: false,
        varchar_on_mysql_server: false,
    }
}

/// The text columns of `schema` the edits key or give a default, as `varchar`: MySQL
/// indexes a `text` column only by a prefix and takes no literal default for one
/// (MariaDB takes both).
fn with_varchar(schema: &str) -> String {
    schema
        .replace("    title text", "    title varchar(200)")
        .replace("    code text", "    code varchar(20)")
        .replace("    label text", "    label varchar(50)")
}

/// One test of an edit: its name, which names its snapshot (`<name>@<backend>`), and
/// the backend it runs on.
#[derive(Clone, Copy)]
struct Test {
    name: &'static str,
    backend: Backend,
}

impl Edit {
    fn rename(mut self, r: &str) -> Edit {
        self.renames.push(r.to_string());
        self
    }

    fn inserts(mut self, sql: &str) -> Edit {
        self.inserts = sql.to_string();
        self
    }

    fn loses(mut self, table: &'static str) -> Edit {
        self.lost.push(table);
        self
    }

    fn after_upgrade(mut self, sql: &str, rows: &[&str]) -> Edit {
        self.after_upgrade
            .push((sql.into(), rows.iter().map(|r| r.to_string()).collect()));
        self
    }

    fn after_downgrade(mut self, sql: &str, rows: &[&str]) -> Edit {
        self.after_downgrade
            .push((sql.into(), rows.iter().map(|r| r.to_string()).collect()));
        self
    }

    fn downgrade_leaves(mut self, check_stdout: &'static str) -> Edit {
        self.downgrade_leaves = Some(check_stdout);
        self
    }

    /// On MySQL, `title`, `code` and `label` are `varchar` rather than `text` in both
    /// schemas, for an edit that keys one of them or gives it a default; SQLite and
    /// PostgreSQL keep `text`.
    fn varchar_on_mysql(mut self) -> Edit {
        self.varchar_on_mysql = true;
        self
    }

    /// As [`Edit::varchar_on_mysql`], on MySQL only: MariaDB keeps `text`, which it
    /// keys with a unique of its own (`USING HASH`) where MySQL refuses the key.
    fn varchar_on_mysql_server(mut self) -> Edit {
        self.varchar_on_mysql_server = true;
        self
    }

    /// Runs the edit on the test's backend and checks every step.
    fn run(mut self, t: Test) {
        let backend = t.backend;
        let varchar =
            self.varchar_on_mysql || (self.varchar_on_mysql_server && mysql_flavour() == "mysql");
        if varchar && backend == Backend::Mysql {
            self.base = with_varchar(&self.base);
            self.edited = with_varchar(&self.edited);
        }
        assert_ne!(self.base, self.edited, "the edit changes nothing");
        let p = DbProject::new(BIN, backend, "");
        let db = p.db();
        let schema = p.path().join("schema.sql");
        std::fs::write(&schema, &self.base).unwrap();
        p.ok(&["revision", "--autogenerate", "-m", "base"]);
        p.ok(&["upgrade", "head"]);
        db.execute(&self.inserts);
        let kept: Vec<(&str, &[&str])> = [AUTHORS, BOOKS]
            .into_iter()
            .filter(|(t, ..)| !self.lost.contains(t))
            .map(|(_, sql, rows)| (sql, rows))
            .collect();
        for (sql, rows) in &kept {
            assert_eq!(&db.rows(sql), rows, "before the edit: {sql}");
        }

        std::fs::write(&schema, &self.edited).unwrap();
        let before = revision_files(&p);
        let mut args = vec!["revision", "--autogenerate", "-m", "edit"];
        for r in &self.renames {
            args.extend(["--rename", r.as_str()]);
        }
        p.ok(&args);
        let new: Vec<String> = revision_files(&p)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        assert_eq!(new.len(), 1, "one new revision: {new:?}");
        let text = std::fs::read_to_string(p.versions().join(&new[0])).unwrap();
        let sections = &text[text.find("-- aludel:upgrade").unwrap()..];
        // insta compares text without its trailing whitespace: the file's end is checked
        // here, so that the sections are compared exactly.
        assert!(
            sections.ends_with('\n') && sections.trim_end().len() == sections.len() - 1,
            "the revision ends with one newline: {sections:?}"
        );
        let suffix = backend.snapshot_name();
        insta::with_settings!({ snapshot_suffix => suffix }, {
            insta::assert_snapshot!(t.name, sections);
        });

        p.ok(&["upgrade", "head"]);
        let r = p.ok(&["check"]);
        assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
        for (sql, rows) in &self.after_upgrade {
            assert_eq!(&db.rows(sql), rows, "after the upgrade: {sql}");
        }

        p.ok(&["downgrade", "-1"]);
        std::fs::write(&schema, &self.base).unwrap();
        match self.downgrade_leaves {
            None => {
                let r = p.ok(&["check"]);
                assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
            }
            Some(left) => {
                let r = p.run(&["check"]).expect_code(3, &["check"]);
                assert_eq!(r.stdout, left, "{r}");
            }
        }
        for (sql, rows) in &kept {
            assert_eq!(&db.rows(sql), rows, "after the downgrade: {sql}");
        }
        for (sql, rows) in &self.after_downgrade {
            assert_eq!(&db.rows(sql), rows, "after the downgrade: {sql}");
        }
    }
}

fn revision_files(p: &DbProject) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// The tests of each edit `fn EDIT(Test)` on each backend listed, `EDIT::<backend>`:
/// `on!([sqlite, postgres, mysql]: table_add, table_drop)`. An edit runs on every backend whose
/// dialect has the object it edits, and only those have its snapshot.
macro_rules! on {
    (@backend sqlite) => {
        aludel_testkit::Backend::Sqlite
    };
    (@backend postgres) => {
        aludel_testkit::Backend::Postgres
    };
    (@backend mysql) => {
        aludel_testkit::Backend::Mysql
    };
    (@edit $edit:ident [$($backend:ident),+ $(,)?]) => {
        mod $edit {
            $(
                #[test]
                fn $backend() {
                    super::$edit(super::Test {
                        name: stringify!($edit),
                        backend: on!(@backend $backend),
                    })
                }
            )+
        }
    };
    ($backends:tt: $($edit:ident),+ $(,)?) => {$(
        on!(@edit $edit $backends);
    )+};
}

// ---------------------------------------------------------------------------------
// Tables

fn table_add(t: Test) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE TABLE tags (\n    id integer PRIMARY KEY,\n    label text NOT NULL UNIQUE\n);\n",
        ),
    )
    .varchar_on_mysql()
    .run(t);
}

fn table_drop(t: Test) {
    change(
        BASE,
        edit(BASE, &BASE[BASE.find("CREATE TABLE books").unwrap()..], ""),
    )
    .loses("books")
    .after_downgrade("SELECT count(*) FROM books", &["0"])
    .run(t);
}

fn table_rename(t: Test) {
    change(
        BASE,
        edit(BASE, "CREATE TABLE books", "CREATE TABLE volumes"),
    )
    .rename("books=volumes")
    .after_upgrade(
        "SELECT id, author_id, title FROM volumes",
        &["1|1|Notes", "2|2|Cobol"],
    )
    .run(t);
}

fn table_comment(t: Test) {
    let commented = plus(BASE, "COMMENT ON TABLE books IS 'What we sell';\n");
    change(BASE, commented).run(t);
}

fn table_comment_change(t: Test) {
    let commented = plus(BASE, "COMMENT ON TABLE books IS 'What we sell';\n");
    change(
        commented.clone(),
        edit(&commented, "'What we sell'", "'What we lend'"),
    )
    .run(t);
}

/// SQLite's `STRICT` and `WITHOUT ROWID` are what the table is: a change of either
/// rebuilds it, with its rows.
fn table_options_sqlite(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n);",
            "    code text\n) STRICT, WITHOUT ROWID;",
        ),
    )
    .run(t);
}

/// A MySQL table's default character set: the columns that name none (a generated
/// one included) are declared again to take it, the one that names its own keeps it.
fn table_collation_mysql(t: Test) {
    let base = edit(
        BASE,
        "    code text\n);",
        "    shout varchar(60) AS (upper(title)) VIRTUAL,\n    code varchar(5) COLLATE utf8mb4_bin\n);",
    );
    change(
        &base,
        edit(
            &base,
            "COLLATE utf8mb4_bin\n);",
            "COLLATE utf8mb4_bin\n) DEFAULT CHARSET=latin1;",
        ),
    )
    .run(t);
}

/// A table in another storage engine than InnoDB, on MySQL.
const NOTES_MYISAM: &str =
    "CREATE TABLE notes (\n    id integer PRIMARY KEY,\n    body text\n) ENGINE=MyISAM;\n";

/// A MySQL table's storage engine is given when the table is made.
fn table_add_engine_mysql(t: Test) {
    change(BASE, plus(BASE, NOTES_MYISAM)).run(t);
}

/// A MySQL table's storage engine changes with `ALTER TABLE ... ENGINE`, and back
/// (InnoDB and MyISAM: MariaDB's Aria is not MySQL's).
fn table_engine_mysql(t: Test) {
    let base = plus(
        BASE,
        &NOTES_MYISAM.replace("ENGINE=MyISAM", "ENGINE=InnoDB"),
    );
    change(&base, edit(&base, "ENGINE=InnoDB", "ENGINE=MyISAM")).run(t);
}

on!([sqlite, postgres, mysql]:
    table_add,
    table_drop,
    table_rename,
);
on!([sqlite]: table_options_sqlite);
on!([mysql]: table_collation_mysql, table_add_engine_mysql, table_engine_mysql);
// `COMMENT ON` is PostgreSQL's: MariaDB's comments are in autogenerate_mariadb.rs.
on!([postgres]: table_comment, table_comment_change);

// ---------------------------------------------------------------------------------
// Columns

fn column_add_nullable(t: Test) {
    change(
        BASE,
        edit(BASE, "    code text\n", "    code text,\n    isbn text\n"),
    )
    .after_upgrade("SELECT id, isbn FROM books", &["1|NULL", "2|NULL"])
    .run(t);
}

fn column_add_not_null_with_default(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    stock integer NOT NULL DEFAULT 0\n",
        ),
    )
    .after_upgrade("SELECT id, stock FROM books", &["1|0", "2|0"])
    .run(t);
}

fn column_drop(t: Test) {
    change(BASE, edit(BASE, ",\n    bio text\n", "\n"))
        .after_downgrade("SELECT id, bio FROM authors", &["1|NULL", "2|NULL"])
        .run(t);
}

fn column_rename(t: Test) {
    change(BASE, edit(BASE, "    bio text\n", "    biography text\n"))
        .rename("authors.bio=biography")
        .after_upgrade(
            "SELECT id, biography FROM authors",
            &["1|analyst", "2|NULL"],
        )
        .after_downgrade("SELECT id, bio FROM authors", &["1|analyst", "2|NULL"])
        .run(t);
}

fn column_type_integer_to_bigint(t: Test) {
    change(BASE, edit(BASE, "    pages integer,", "    pages bigint,"))
        .after_upgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
        .after_downgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
        .run(t);
}

fn column_type_varchar_wider(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "name varchar(50) NOT NULL",
            "name varchar(100) NOT NULL",
        ),
    )
    .run(t);
}

fn column_type_text_to_integer(t: Test) {
    change(BASE, edit(BASE, "    code text\n", "    code integer\n"))
        .after_upgrade("SELECT id, code + 1 FROM books", &["1|11", "2|21"])
        .after_downgrade("SELECT id, code FROM books", &["1|10", "2|20"])
        .run(t);
}

fn column_set_not_null(t: Test) {
    change(
        BASE,
        edit(BASE, "    pages integer,", "    pages integer NOT NULL,"),
    )
    .after_upgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
    .run(t);
}

fn column_drop_not_null(t: Test) {
    change(
        BASE,
        edit(BASE, "    title text NOT NULL,", "    title text,"),
    )
    .run(t);
}

fn column_default_add(t: Test) {
    change(
        BASE,
        edit(BASE, "    pages integer,", "    pages integer DEFAULT 1,"),
    )
    .run(t);
}

fn column_default_change(t: Test) {
    let base = edit(BASE, "    pages integer,", "    pages integer DEFAULT 1,");
    change(
        base.clone(),
        edit(
            &base,
            "    pages integer DEFAULT 1,",
            "    pages integer DEFAULT 2,",
        ),
    )
    .run(t);
}

fn column_default_drop(t: Test) {
    let base = edit(BASE, "    code text\n", "    code text DEFAULT 'none'\n");
    change(base.clone(), BASE).varchar_on_mysql().run(t);
}

fn column_identity_add(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "CREATE TABLE books (\n    id integer PRIMARY KEY,",
            "CREATE TABLE books (\n    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
        ),
    )
    // The new identity numbers after the rows already there.
    .after_upgrade(
        "SELECT nextval(pg_get_serial_sequence('books', 'id'))",
        &["3"],
    )
    .run(t);
}

fn column_identity_drop(t: Test) {
    let base = edit(
        BASE,
        "CREATE TABLE books (\n    id integer PRIMARY KEY,",
        "CREATE TABLE books (\n    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
    );
    change(base, BASE)
        .inserts(
            "INSERT INTO authors (id, name, bio) VALUES (1, 'Ada', 'analyst'), (2, 'Grace', NULL);
INSERT INTO books (author_id, title, pages, code) VALUES (1, 'Notes', 100, '10'), (2, 'Cobol', 200, '20');
",
        )
        .after_downgrade("SELECT nextval(pg_get_serial_sequence('books', 'id'))", &["3"])
        .run(t);
}

fn column_generated_add(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    double_pages integer GENERATED ALWAYS AS (pages * 2) STORED\n",
        ),
    )
    .after_upgrade("SELECT id, double_pages FROM books", &["1|200", "2|400"])
    .run(t);
}

/// A VIRTUAL generated column is written VIRTUAL, not STORED (SQLite's default when
/// neither is said).
fn column_generated_virtual_add(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    double_pages integer GENERATED ALWAYS AS (pages * 2) VIRTUAL\n",
        ),
    )
    .after_upgrade("SELECT id, double_pages FROM books", &["1|200", "2|400"])
    .run(t);
}

/// STORED to VIRTUAL is a change of the column: drawn as a new column, not ignored.
fn column_generated_stored_to_virtual(t: Test) {
    let base = edit(
        BASE,
        "    code text\n",
        "    code text,\n    double_pages integer GENERATED ALWAYS AS (pages * 2) STORED\n",
    );
    change(&base, edit(&base, ") STORED\n", ") VIRTUAL\n"))
        .after_upgrade("SELECT id, double_pages FROM books", &["1|200", "2|400"])
        .run(t);
}

fn column_collation(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            "    title text NOT NULL,",
            "    title text COLLATE \"C\" NOT NULL,",
        ),
    )
    .run(t);
}

fn column_comment(t: Test) {
    change(
        BASE,
        plus(BASE, "COMMENT ON COLUMN books.title IS 'As printed';\n"),
    )
    .run(t);
}

on!([sqlite, postgres, mysql]:
    column_add_nullable,
    column_add_not_null_with_default,
    column_drop,
    column_rename,
    column_type_integer_to_bigint,
    column_type_varchar_wider,
    column_type_text_to_integer,
    column_set_not_null,
    column_drop_not_null,
    column_default_add,
    column_default_change,
    column_default_drop,
    column_generated_add,
);
// VIRTUAL generated columns came in PostgreSQL 18; the suite's server is older.
on!([sqlite, mysql]: column_generated_virtual_add, column_generated_stored_to_virtual);
// Identity columns, collation "C" and `COMMENT ON` are PostgreSQL's: MariaDB's
// AUTO_INCREMENT, collations and comments are in autogenerate_mariadb.rs.
on!([postgres]: column_identity_add, column_identity_drop, column_collation, column_comment);

// ---------------------------------------------------------------------------------
// Primary keys, uniques, checks, foreign keys

/// `books` with a table-level primary key on `id`.
fn books_pk(columns: &str) -> String {
    edit(
        &edit(
            BASE,
            "CREATE TABLE books (\n    id integer PRIMARY KEY,",
            "CREATE TABLE books (\n    id integer NOT NULL,",
        ),
        "    code text\n);",
        &format!("    code text,\n    PRIMARY KEY ({columns})\n);"),
    )
}

fn books_without_pk() -> String {
    edit(
        BASE,
        "CREATE TABLE books (\n    id integer PRIMARY KEY,",
        "CREATE TABLE books (\n    id integer NOT NULL,",
    )
}

fn primary_key_add(t: Test) {
    change(books_without_pk(), books_pk("id")).run(t);
}

fn primary_key_drop(t: Test) {
    change(books_pk("id"), books_without_pk()).run(t);
}

fn primary_key_change_columns(t: Test) {
    change(books_pk("id"), books_pk("id, author_id")).run(t);
}

fn unique_add(t: Test) {
    change(
        BASE,
        edit(BASE, "    code text\n", "    code text UNIQUE\n"),
    )
    .varchar_on_mysql()
    .run(t);
}

fn unique_drop(t: Test) {
    change(
        edit(BASE, "    code text\n", "    code text UNIQUE\n"),
        BASE,
    )
    .varchar_on_mysql()
    .run(t);
}

/// The base with a unique key on `(author_id, title)`, which can serve the foreign key
/// on `author_id` as well.
fn with_unique_over_author() -> String {
    edit(
        BASE,
        "    code text\n",
        "    code text,\n    UNIQUE (author_id, title)\n",
    )
}

fn unique_add_multi_column(t: Test) {
    change(BASE, with_unique_over_author())
        .varchar_on_mysql_server()
        .run(t);
}

fn unique_drop_multi_column(t: Test) {
    change(with_unique_over_author(), BASE)
        .varchar_on_mysql_server()
        .run(t);
}

/// On MySQL and MariaDB the new key takes over from the index the foreign key rested
/// on, which cannot be dropped first (ERROR 1553): one statement does both.
fn unique_takes_over_a_foreign_keys_index(t: Test) {
    change(BASE, with_unique_over_author())
        .varchar_on_mysql()
        .run(t);
}

/// The way back: the foreign key's own index takes over from the dropped unique key.
fn unique_dropped_from_under_a_foreign_key(t: Test) {
    change(with_unique_over_author(), BASE)
        .varchar_on_mysql()
        .run(t);
}

fn with_check(expression: &str) -> String {
    edit(
        BASE,
        "    code text\n",
        &format!("    code text,\n    CONSTRAINT books_pages_check CHECK ({expression})\n"),
    )
}

fn check_add(t: Test) {
    change(BASE, with_check("pages > 0")).run(t);
}

fn check_drop(t: Test) {
    change(with_check("pages > 0"), BASE).run(t);
}

fn check_change(t: Test) {
    change(with_check("pages > 0"), with_check("pages > 10")).run(t);
}

const FK: &str = "    author_id integer NOT NULL REFERENCES authors (id),";

fn foreign_key_add(t: Test) {
    change(edit(BASE, FK, "    author_id integer NOT NULL,"), BASE).run(t);
}

fn foreign_key_drop(t: Test) {
    change(BASE, edit(BASE, FK, "    author_id integer NOT NULL,")).run(t);
}

fn foreign_key_change_action(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            FK,
            "    author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,",
        ),
    )
    .run(t);
}

fn foreign_key_deferrable(t: Test) {
    change(
        BASE,
        edit(
            BASE,
            FK,
            "    author_id integer NOT NULL REFERENCES authors (id) DEFERRABLE INITIALLY DEFERRED,",
        ),
    )
    .run(t);
}

on!([sqlite, postgres, mysql]:
    primary_key_add,
    primary_key_drop,
    primary_key_change_columns,
    unique_add,
    unique_drop,
    unique_add_multi_column,
    unique_drop_multi_column,
    check_add,
    check_drop,
    check_change,
    foreign_key_add,
    foreign_key_drop,
    foreign_key_change_action,
);
on!([postgres]: foreign_key_deferrable);
// On SQLite and PostgreSQL these are unique_add/drop_multi_column.
on!([mysql]: unique_takes_over_a_foreign_keys_index, unique_dropped_from_under_a_foreign_key);

// ---------------------------------------------------------------------------------
// Indexes

fn index_add(t: Test) {
    change(
        BASE,
        plus(BASE, "CREATE INDEX books_title_idx ON books (title);\n"),
    )
    .varchar_on_mysql()
    .run(t);
}

fn index_drop(t: Test) {
    change(
        plus(BASE, "CREATE INDEX books_title_idx ON books (title);\n"),
        BASE,
    )
    .varchar_on_mysql()
    .run(t);
}

fn index_unique_add(t: Test) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE UNIQUE INDEX books_code_idx ON books (code);\n",
        ),
    )
    .varchar_on_mysql()
    .run(t);
}

fn index_partial_predicate_change(t: Test) {
    let base = plus(
        BASE,
        "CREATE INDEX books_long_idx ON books (pages) WHERE pages > 100;\n",
    );
    change(base.clone(), edit(&base, "pages > 100", "pages > 500")).run(t);
}

fn index_expression_add(t: Test) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_lower_title_idx ON books (lower(title));\n",
        ),
    )
    .run(t);
}

fn index_desc_add(t: Test) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_pages_idx ON books (pages DESC, title);\n",
        ),
    )
    .run(t);
}

fn index_gin_add(t: Test) {
    let base = edit(
        BASE,
        "    code text\n",
        "    code text,\n    labels text[]\n",
    );
    change(
        base.clone(),
        plus(
            &base,
            "CREATE INDEX books_labels_idx ON books USING gin (labels);\n",
        ),
    )
    .run(t);
}

fn index_include_add(t: Test) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_author_idx ON books (author_id) INCLUDE (title);\n",
        ),
    )
    .run(t);
}

on!([sqlite, postgres, mysql]:
    index_add,
    index_drop,
    index_unique_add,
);
// MySQL has no partial or (MariaDB) expression index, and indexes a text column only
// by a prefix: MariaDB's indexes are in autogenerate_mariadb.rs.
on!([sqlite, postgres]:
    index_partial_predicate_change,
    index_expression_add,
    index_desc_add,
);
on!([postgres]: index_gin_add, index_include_add);

// ---------------------------------------------------------------------------------
// Enum types (PostgreSQL)

const MOOD: &str = "CREATE TYPE mood AS ENUM ('sad', 'happy');\n";

fn enum_add(t: Test) {
    change(BASE, plus(MOOD, BASE)).run(t);
}

fn enum_drop(t: Test) {
    change(plus(MOOD, BASE), BASE).run(t);
}

fn enum_add_value_in_the_middle(t: Test) {
    change(
        plus(MOOD, BASE),
        plus(&edit(MOOD, "'sad', 'happy'", "'sad', 'ok', 'happy'"), BASE),
    )
    // PostgreSQL cannot remove an enum value: the downgrade leaves it, with a note.
    .downgrade_leaves(
        "New upgrade operations detected:\n  remove enum type public.mood\n  add enum type public.mood (sad, happy)\n",
    )
    .after_downgrade("SELECT count(*) FROM pg_enum WHERE enumlabel = 'ok'", &["1"])
    .run(t);
}

fn enum_add_value_at_the_end(t: Test) {
    change(
        plus(MOOD, BASE),
        plus(
            &edit(MOOD, "'sad', 'happy'", "'sad', 'happy', 'ecstatic'"),
            BASE,
        ),
    )
    // PostgreSQL cannot remove an enum value: the downgrade leaves it, with a note.
    .downgrade_leaves(
        "New upgrade operations detected:\n  remove enum type public.mood\n  add enum type public.mood (sad, happy)\n",
    )
    .after_downgrade("SELECT count(*) FROM pg_enum WHERE enumlabel = 'ecstatic'", &["1"])
    .run(t);
}

on!([postgres]: enum_add, enum_drop, enum_add_value_in_the_middle, enum_add_value_at_the_end);

// ---------------------------------------------------------------------------------
// Sequences (PostgreSQL)

const SEQ: &str = "CREATE SEQUENCE invoice_no START WITH 1000 INCREMENT BY 10;\n";

fn sequence_add(t: Test) {
    change(BASE, plus(BASE, SEQ)).run(t);
}

fn sequence_drop(t: Test) {
    change(plus(BASE, SEQ), BASE).run(t);
}

fn sequence_change(t: Test) {
    change(
        plus(BASE, SEQ),
        plus(BASE, &edit(SEQ, "INCREMENT BY 10", "INCREMENT BY 5")),
    )
    .run(t);
}

on!([postgres]: sequence_add, sequence_drop, sequence_change);

// ---------------------------------------------------------------------------------
// Views

const VIEW: &str = "CREATE VIEW long_books AS SELECT id, title FROM books WHERE pages > 150;\n";

fn view_add(t: Test) {
    change(BASE, plus(BASE, VIEW))
        .after_upgrade("SELECT id, title FROM long_books", &["2|Cobol"])
        .run(t);
}

fn view_drop(t: Test) {
    change(plus(BASE, VIEW), BASE)
        .after_downgrade("SELECT id, title FROM long_books", &["2|Cobol"])
        .run(t);
}

fn view_change(t: Test) {
    change(
        plus(BASE, VIEW),
        plus(BASE, &edit(VIEW, "pages > 150", "pages > 50")),
    )
    .after_upgrade("SELECT id, title FROM long_books", &["1|Notes", "2|Cobol"])
    .after_downgrade("SELECT id, title FROM long_books", &["2|Cobol"])
    .run(t);
}

fn view_comment(t: Test) {
    let base = plus(BASE, VIEW);
    change(
        base.clone(),
        plus(&base, "COMMENT ON VIEW long_books IS 'Over 150 pages';\n"),
    )
    .run(t);
}

on!([sqlite, postgres, mysql]:
    view_add,
    view_drop,
    view_change,
);
on!([postgres]: view_comment);
