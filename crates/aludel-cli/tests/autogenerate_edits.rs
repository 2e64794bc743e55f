//! `revision --autogenerate`, one edit at a time: for every kind of object, adding it,
//! dropping it and changing each property. Each test starts from a base schema with
//! rows in it, edits `schema.sql` once, and checks the generated revision's SQL
//! exactly, that it upgrades to the desired schema (`check` finds nothing), that it
//! downgrades back to the base (`check` against the base finds nothing), and that the
//! rows are still there wherever the edit does not destroy them.
//!
//! Set `ALUDEL_BLESS=DIR` to write each differing snapshot to `DIR/<test>.<backend>`
//! instead of failing on it (the rest of the test still runs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aludel_testkit::{Backend, DbProject, on_both};

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
    }
}

/// The snapshots of one edit: the revision's sections from `-- aludel:upgrade` on.
struct Expected {
    sqlite: &'static str,
    postgres: &'static str,
}

/// Not available in that dialect.
const NONE: &str = "";

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

    /// Runs the edit on `backend` and checks every step.
    fn run(self, backend: Backend, expected: Expected) {
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
        let want = match backend {
            Backend::Sqlite => expected.sqlite,
            Backend::Postgres => expected.postgres,
        };
        snapshot(backend, want, sections);

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

/// Compares a snapshot, or writes it to `$ALUDEL_BLESS/<test>.<backend>`.
fn snapshot(backend: Backend, want: &str, got: &str) {
    if want == got {
        return;
    }
    if let Ok(dir) = std::env::var("ALUDEL_BLESS") {
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("unknown");
        let test = test.split("::").next().unwrap_or(test);
        let name = format!(
            "{test}.{}",
            match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), got).unwrap();
        return;
    }
    assert_eq!(got, want, "the generated sections differ:\n{got}");
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

/// A test on PostgreSQL only.
macro_rules! postgres_only {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[test]
            fn postgres() {
                super::$body(aludel_testkit::Backend::Postgres)
            }
        }
    )*};
}

// ---------------------------------------------------------------------------------
// Tables

fn table_add(b: Backend) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE TABLE tags (\n    id integer PRIMARY KEY,\n    label text NOT NULL UNIQUE\n);\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add table main.tags
CREATE TABLE tags (
    id integer,
    label text NOT NULL,
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_label_key UNIQUE (label)
);

-- aludel:downgrade
-- remove table main.tags
-- WARNING: this loses data
DROP TABLE tags;
"#,
            postgres: r#"-- aludel:upgrade
-- add table public.tags
CREATE TABLE tags (
    id integer NOT NULL,
    label text NOT NULL,
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_label_key UNIQUE (label)
);

-- aludel:downgrade
-- remove table public.tags
-- WARNING: this loses data
DROP TABLE tags;
"#,
        },
    );
}

fn table_drop(b: Backend) {
    change(
        BASE,
        edit(BASE, &BASE[BASE.find("CREATE TABLE books").unwrap()..], ""),
    )
    .loses("books")
    .after_downgrade("SELECT count(*) FROM books", &["0"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on main.books

-- remove table main.books
-- WARNING: this loses data
DROP TABLE books;

-- aludel:downgrade
-- add table main.books
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);

-- add foreign key books_author_id_fkey on main.books
"#,
            postgres: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- remove table public.books
-- WARNING: this loses data
DROP TABLE books;

-- aludel:downgrade
-- add table public.books
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);

-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);
"#,
        },
    );
}

fn table_rename(b: Backend) {
    change(
        BASE,
        edit(BASE, "CREATE TABLE books", "CREATE TABLE volumes"),
    )
    .rename("books=volumes")
    .after_upgrade(
        "SELECT id, author_id, title FROM volumes",
        &["1|1|Notes", "2|2|Cobol"],
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- rename table main.books to volumes
ALTER TABLE books RENAME TO volumes;

-- remove foreign key books_author_id_fkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- remove primary key books_pkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- add primary key volumes_pkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT volumes_pkey PRIMARY KEY (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- add foreign key volumes_author_id_fkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT volumes_pkey PRIMARY KEY (id),
    CONSTRAINT volumes_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- aludel:downgrade
-- remove foreign key volumes_author_id_fkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT volumes_pkey PRIMARY KEY (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- remove primary key volumes_pkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- add primary key books_pkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- add foreign key books_author_id_fkey on main.volumes
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_volumes AS SELECT * FROM volumes;
DROP TABLE volumes;
CREATE TABLE volumes (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO volumes (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_volumes;
DROP TABLE _aludel_old_volumes;

-- rename table main.volumes to books
ALTER TABLE volumes RENAME TO books;
"#,
            postgres: r#"-- aludel:upgrade
-- rename table public.books to volumes
ALTER TABLE books RENAME TO volumes;

-- remove foreign key books_author_id_fkey on public.volumes
ALTER TABLE volumes DROP CONSTRAINT books_author_id_fkey;

-- remove primary key books_pkey on public.volumes
ALTER TABLE volumes DROP CONSTRAINT books_pkey;

-- add primary key volumes_pkey on public.volumes
ALTER TABLE volumes ADD CONSTRAINT volumes_pkey PRIMARY KEY (id);

-- add foreign key volumes_author_id_fkey on public.volumes
ALTER TABLE volumes ADD CONSTRAINT volumes_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);

-- aludel:downgrade
-- remove foreign key volumes_author_id_fkey on public.volumes
ALTER TABLE volumes DROP CONSTRAINT volumes_author_id_fkey;

-- remove primary key volumes_pkey on public.volumes
ALTER TABLE volumes DROP CONSTRAINT volumes_pkey;

-- add primary key books_pkey on public.volumes
ALTER TABLE volumes ADD CONSTRAINT books_pkey PRIMARY KEY (id);

-- add foreign key books_author_id_fkey on public.volumes
ALTER TABLE volumes ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);

-- rename table public.volumes to books
ALTER TABLE volumes RENAME TO books;
"#,
        },
    );
}

fn table_comment(b: Backend) {
    let commented = plus(BASE, "COMMENT ON TABLE books IS 'What we sell';\n");
    change(BASE, commented).run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- change the comment of table public.books
COMMENT ON TABLE books IS 'What we sell';

-- aludel:downgrade
-- change the comment of table public.books
COMMENT ON TABLE books IS NULL;
"#,
        },
    );
}

fn table_comment_change(b: Backend) {
    let commented = plus(BASE, "COMMENT ON TABLE books IS 'What we sell';\n");
    change(
        commented.clone(),
        edit(&commented, "'What we sell'", "'What we lend'"),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- change the comment of table public.books
COMMENT ON TABLE books IS 'What we lend';

-- aludel:downgrade
-- change the comment of table public.books
COMMENT ON TABLE books IS 'What we sell';
"#,
        },
    );
}

on_both!(table_add, table_drop, table_rename);
postgres_only!(table_comment, table_comment_change);

// ---------------------------------------------------------------------------------
// Columns

fn column_add_nullable(b: Backend) {
    change(
        BASE,
        edit(BASE, "    code text\n", "    code text,\n    isbn text\n"),
    )
    .after_upgrade("SELECT id, isbn FROM books", &["1|NULL", "2|NULL"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add column main.books.isbn
ALTER TABLE books ADD COLUMN isbn text;

-- aludel:downgrade
-- remove column main.books.isbn
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN isbn;
"#,
            postgres: r#"-- aludel:upgrade
-- add column public.books.isbn
ALTER TABLE books ADD COLUMN isbn text;

-- aludel:downgrade
-- remove column public.books.isbn
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN isbn;
"#,
        },
    );
}

fn column_add_not_null_with_default(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    stock integer NOT NULL DEFAULT 0\n",
        ),
    )
    .after_upgrade("SELECT id, stock FROM books", &["1|0", "2|0"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add column main.books.stock
ALTER TABLE books ADD COLUMN stock integer DEFAULT 0 NOT NULL;

-- aludel:downgrade
-- remove column main.books.stock
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN stock;
"#,
            postgres: r#"-- aludel:upgrade
-- add column public.books.stock
ALTER TABLE books ADD COLUMN stock integer DEFAULT 0 NOT NULL;

-- aludel:downgrade
-- remove column public.books.stock
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN stock;
"#,
        },
    );
}

fn column_drop(b: Backend) {
    change(BASE, edit(BASE, ",\n    bio text\n", "\n"))
        .after_downgrade("SELECT id, bio FROM authors", &["1|NULL", "2|NULL"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- remove column main.authors.bio
-- WARNING: this loses data
ALTER TABLE authors DROP COLUMN bio;

-- aludel:downgrade
-- add column main.authors.bio
ALTER TABLE authors ADD COLUMN bio text;
"#,
                postgres: r#"-- aludel:upgrade
-- remove column public.authors.bio
-- WARNING: this loses data
ALTER TABLE authors DROP COLUMN bio;

-- aludel:downgrade
-- add column public.authors.bio
ALTER TABLE authors ADD COLUMN bio text;
"#,
            },
        );
}

fn column_rename(b: Backend) {
    change(BASE, edit(BASE, "    bio text\n", "    biography text\n"))
        .rename("authors.bio=biography")
        .after_upgrade(
            "SELECT id, biography FROM authors",
            &["1|analyst", "2|NULL"],
        )
        .after_downgrade("SELECT id, bio FROM authors", &["1|analyst", "2|NULL"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- rename column main.authors.bio to biography
ALTER TABLE authors RENAME COLUMN bio TO biography;

-- aludel:downgrade
-- rename column main.authors.biography to bio
ALTER TABLE authors RENAME COLUMN biography TO bio;
"#,
                postgres: r#"-- aludel:upgrade
-- rename column public.authors.bio to biography
ALTER TABLE authors RENAME COLUMN bio TO biography;

-- aludel:downgrade
-- rename column public.authors.biography to bio
ALTER TABLE authors RENAME COLUMN biography TO bio;
"#,
            },
        );
}

fn column_type_integer_to_bigint(b: Backend) {
    change(BASE, edit(BASE, "    pages integer,", "    pages bigint,"))
        .after_upgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
        .after_downgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- alter column main.books.pages (type)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages bigint,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.pages (type)
-- WARNING: this loses data
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
                postgres: r#"-- aludel:upgrade
-- alter column public.books.pages (type)
ALTER TABLE books ALTER COLUMN pages TYPE bigint USING pages::bigint;

-- aludel:downgrade
-- alter column public.books.pages (type)
-- WARNING: this loses data
ALTER TABLE books ALTER COLUMN pages TYPE integer USING pages::integer;
"#,
            },
        );
}

fn column_type_varchar_wider(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            "name varchar(50) NOT NULL",
            "name varchar(100) NOT NULL",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.authors.name (type)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_authors AS SELECT * FROM authors;
DROP TABLE authors;
CREATE TABLE authors (
    id integer,
    name varchar(100) NOT NULL,
    bio text,
    CONSTRAINT authors_pkey PRIMARY KEY (id)
);
INSERT INTO authors (id, name, bio) SELECT id, name, bio FROM _aludel_old_authors;
DROP TABLE _aludel_old_authors;

-- aludel:downgrade
-- alter column main.authors.name (type)
-- WARNING: this loses data
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_authors AS SELECT * FROM authors;
DROP TABLE authors;
CREATE TABLE authors (
    id integer,
    name varchar(50) NOT NULL,
    bio text,
    CONSTRAINT authors_pkey PRIMARY KEY (id)
);
INSERT INTO authors (id, name, bio) SELECT id, name, bio FROM _aludel_old_authors;
DROP TABLE _aludel_old_authors;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.authors.name (type)
ALTER TABLE authors ALTER COLUMN name TYPE character varying(100) USING name::character varying(100);

-- aludel:downgrade
-- alter column public.authors.name (type)
-- WARNING: this loses data
ALTER TABLE authors ALTER COLUMN name TYPE character varying(50) USING name::character varying(50);
"#,
        },
    );
}

fn column_type_text_to_integer(b: Backend) {
    change(BASE, edit(BASE, "    code text\n", "    code integer\n"))
        .after_upgrade("SELECT id, code + 1 FROM books", &["1|11", "2|21"])
        .after_downgrade("SELECT id, code FROM books", &["1|10", "2|20"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- alter column main.books.code (type)
-- WARNING: this loses data
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code integer,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.code (type)
-- WARNING: this loses data
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
                postgres: r#"-- aludel:upgrade
-- alter column public.books.code (type)
-- WARNING: this loses data
ALTER TABLE books ALTER COLUMN code TYPE integer USING code::integer;

-- aludel:downgrade
-- alter column public.books.code (type)
-- WARNING: this loses data
ALTER TABLE books ALTER COLUMN code TYPE text USING code::text;
"#,
            },
        );
}

fn column_set_not_null(b: Backend) {
    change(
        BASE,
        edit(BASE, "    pages integer,", "    pages integer NOT NULL,"),
    )
    .after_upgrade("SELECT id, pages FROM books", &["1|100", "2|200"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.books.pages (nullable)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer NOT NULL,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.pages (nullable)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.pages (nullable)
ALTER TABLE books ALTER COLUMN pages SET NOT NULL;

-- aludel:downgrade
-- alter column public.books.pages (nullable)
ALTER TABLE books ALTER COLUMN pages DROP NOT NULL;
"#,
        },
    );
}

fn column_drop_not_null(b: Backend) {
    change(
        BASE,
        edit(BASE, "    title text NOT NULL,", "    title text,"),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.books.title (nullable)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.title (nullable)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.title (nullable)
ALTER TABLE books ALTER COLUMN title DROP NOT NULL;

-- aludel:downgrade
-- alter column public.books.title (nullable)
ALTER TABLE books ALTER COLUMN title SET NOT NULL;
"#,
        },
    );
}

fn column_default_add(b: Backend) {
    change(
        BASE,
        edit(BASE, "    pages integer,", "    pages integer DEFAULT 1,"),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.books.pages (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer DEFAULT 1,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.pages (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.pages (default)
ALTER TABLE books ALTER COLUMN pages SET DEFAULT 1;

-- aludel:downgrade
-- alter column public.books.pages (default)
ALTER TABLE books ALTER COLUMN pages DROP DEFAULT;
"#,
        },
    );
}

fn column_default_change(b: Backend) {
    let base = edit(BASE, "    pages integer,", "    pages integer DEFAULT 1,");
    change(
        base.clone(),
        edit(
            &base,
            "    pages integer DEFAULT 1,",
            "    pages integer DEFAULT 2,",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.books.pages (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer DEFAULT 2,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.pages (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer DEFAULT 1,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.pages (default)
ALTER TABLE books ALTER COLUMN pages SET DEFAULT 2;

-- aludel:downgrade
-- alter column public.books.pages (default)
ALTER TABLE books ALTER COLUMN pages SET DEFAULT 1;
"#,
        },
    );
}

fn column_default_drop(b: Backend) {
    let base = edit(BASE, "    code text\n", "    code text DEFAULT 'none'\n");
    change(base.clone(), BASE).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- alter column main.books.code (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- alter column main.books.code (default)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text DEFAULT 'none',
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.code (default)
ALTER TABLE books ALTER COLUMN code DROP DEFAULT;

-- aludel:downgrade
-- alter column public.books.code (default)
ALTER TABLE books ALTER COLUMN code SET DEFAULT 'none'::text;
"#,
        },
    );
}

fn column_identity_add(b: Backend) {
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
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.id (identity)
ALTER TABLE books ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
SELECT setval(pg_get_serial_sequence('books', 'id'), coalesce(max(id), 0) + 1, false) FROM books;

-- aludel:downgrade
-- alter column public.books.id (identity)
ALTER TABLE books ALTER COLUMN id DROP IDENTITY;
"#,
        },
    );
}

fn column_identity_drop(b: Backend) {
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
        .run(
            b,
            Expected {
                sqlite: NONE,
                postgres: r#"-- aludel:upgrade
-- alter column public.books.id (identity)
ALTER TABLE books ALTER COLUMN id DROP IDENTITY;

-- aludel:downgrade
-- alter column public.books.id (identity)
ALTER TABLE books ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('books', 'id'), coalesce(max(id), 0) + 1, false) FROM books;
"#,
            },
        );
}

fn column_generated_add(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    double_pages integer GENERATED ALWAYS AS (pages * 2) STORED\n",
        ),
    )
    .after_upgrade("SELECT id, double_pages FROM books", &["1|200", "2|400"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add column main.books.double_pages
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    double_pages integer GENERATED ALWAYS AS (pages * 2) STORED,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove column main.books.double_pages
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN double_pages;
"#,
            postgres: r#"-- aludel:upgrade
-- add column public.books.double_pages
ALTER TABLE books ADD COLUMN double_pages integer GENERATED ALWAYS AS ((pages * 2)) STORED;

-- aludel:downgrade
-- remove column public.books.double_pages
-- WARNING: this loses data
ALTER TABLE books DROP COLUMN double_pages;
"#,
        },
    );
}

fn column_collation(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            "    title text NOT NULL,",
            "    title text COLLATE \"C\" NOT NULL,",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.title (collation)
ALTER TABLE books ALTER COLUMN title TYPE text COLLATE "C";

-- aludel:downgrade
-- alter column public.books.title (collation)
ALTER TABLE books ALTER COLUMN title TYPE text;
"#,
        },
    );
}

fn column_comment(b: Backend) {
    change(
        BASE,
        plus(BASE, "COMMENT ON COLUMN books.title IS 'As printed';\n"),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- alter column public.books.title (comment)
COMMENT ON COLUMN books.title IS 'As printed';

-- aludel:downgrade
-- alter column public.books.title (comment)
COMMENT ON COLUMN books.title IS NULL;
"#,
        },
    );
}

on_both!(
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
postgres_only!(
    column_identity_add,
    column_identity_drop,
    column_collation,
    column_comment
);

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

fn primary_key_add(b: Backend) {
    change(books_without_pk(), books_pk("id")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- add primary key books_pkey on public.books
ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY (id);

-- aludel:downgrade
-- remove primary key books_pkey on public.books
ALTER TABLE books DROP CONSTRAINT books_pkey;
"#,
        },
    );
}

fn primary_key_drop(b: Backend) {
    change(books_pk("id"), books_without_pk()).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- add primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove primary key books_pkey on public.books
ALTER TABLE books DROP CONSTRAINT books_pkey;

-- aludel:downgrade
-- add primary key books_pkey on public.books
ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY (id);
"#,
        },
    );
}

fn primary_key_change_columns(b: Backend) {
    change(books_pk("id"), books_pk("id, author_id")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id, author_id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add primary key books_pkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove primary key books_pkey on public.books
ALTER TABLE books DROP CONSTRAINT books_pkey;

-- add primary key books_pkey on public.books
ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY (id, author_id);

-- aludel:downgrade
-- remove primary key books_pkey on public.books
ALTER TABLE books DROP CONSTRAINT books_pkey;

-- add primary key books_pkey on public.books
ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY (id);
"#,
        },
    );
}

fn unique_add(b: Backend) {
    change(
        BASE,
        edit(BASE, "    code text\n", "    code text UNIQUE\n"),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add unique constraint books_code_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_code_key UNIQUE (code),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove unique constraint books_code_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- add unique constraint books_code_key on public.books
ALTER TABLE books ADD CONSTRAINT books_code_key UNIQUE (code);

-- aludel:downgrade
-- remove unique constraint books_code_key on public.books
ALTER TABLE books DROP CONSTRAINT books_code_key;
"#,
        },
    );
}

fn unique_drop(b: Backend) {
    change(
        edit(BASE, "    code text\n", "    code text UNIQUE\n"),
        BASE,
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove unique constraint books_code_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- add unique constraint books_code_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_code_key UNIQUE (code),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove unique constraint books_code_key on public.books
ALTER TABLE books DROP CONSTRAINT books_code_key;

-- aludel:downgrade
-- add unique constraint books_code_key on public.books
ALTER TABLE books ADD CONSTRAINT books_code_key UNIQUE (code);
"#,
        },
    );
}

fn unique_add_multi_column(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    UNIQUE (author_id, title)\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add unique constraint books_author_id_title_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_title_key UNIQUE (author_id, title),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove unique constraint books_author_id_title_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- add unique constraint books_author_id_title_key on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_title_key UNIQUE (author_id, title);

-- aludel:downgrade
-- remove unique constraint books_author_id_title_key on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_title_key;
"#,
        },
    );
}

fn unique_drop_multi_column(b: Backend) {
    change(
        edit(
            BASE,
            "    code text\n",
            "    code text,\n    UNIQUE (author_id, title)\n",
        ),
        BASE,
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove unique constraint books_author_id_title_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- add unique constraint books_author_id_title_key on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_title_key UNIQUE (author_id, title),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove unique constraint books_author_id_title_key on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_title_key;

-- aludel:downgrade
-- add unique constraint books_author_id_title_key on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_title_key UNIQUE (author_id, title);
"#,
        },
    );
}

fn with_check(expression: &str) -> String {
    edit(
        BASE,
        "    code text\n",
        &format!("    code text,\n    CONSTRAINT books_pages_check CHECK ({expression})\n"),
    )
}

fn check_add(b: Backend) {
    change(BASE, with_check("pages > 0")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_pages_check CHECK (pages > 0),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- add check constraint books_pages_check on public.books
ALTER TABLE books ADD CONSTRAINT books_pages_check CHECK ((pages > 0));

-- aludel:downgrade
-- remove check constraint books_pages_check on public.books
ALTER TABLE books DROP CONSTRAINT books_pages_check;
"#,
        },
    );
}

fn check_drop(b: Backend) {
    change(with_check("pages > 0"), BASE).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- add check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_pages_check CHECK (pages > 0),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove check constraint books_pages_check on public.books
ALTER TABLE books DROP CONSTRAINT books_pages_check;

-- aludel:downgrade
-- add check constraint books_pages_check on public.books
ALTER TABLE books ADD CONSTRAINT books_pages_check CHECK ((pages > 0));
"#,
        },
    );
}

fn check_change(b: Backend) {
    change(with_check("pages > 0"), with_check("pages > 10")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_pages_check CHECK (pages > 10),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add check constraint books_pages_check on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_pages_check CHECK (pages > 0),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove check constraint books_pages_check on public.books
ALTER TABLE books DROP CONSTRAINT books_pages_check;

-- add check constraint books_pages_check on public.books
ALTER TABLE books ADD CONSTRAINT books_pages_check CHECK ((pages > 10));

-- aludel:downgrade
-- remove check constraint books_pages_check on public.books
ALTER TABLE books DROP CONSTRAINT books_pages_check;

-- add check constraint books_pages_check on public.books
ALTER TABLE books ADD CONSTRAINT books_pages_check CHECK ((pages > 0));
"#,
        },
    );
}

const FK: &str = "    author_id integer NOT NULL REFERENCES authors (id),";

fn foreign_key_add(b: Backend) {
    change(edit(BASE, FK, "    author_id integer NOT NULL,"), BASE).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);

-- aludel:downgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;
"#,
        },
    );
}

fn foreign_key_drop(b: Backend) {
    change(BASE, edit(BASE, FK, "    author_id integer NOT NULL,")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- add foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- aludel:downgrade
-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);
"#,
        },
    );
}

fn foreign_key_change_action(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            FK,
            "    author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- aludel:downgrade
-- remove foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;

-- add foreign key books_author_id_fkey on main.books
PRAGMA defer_foreign_keys = ON;
CREATE TABLE _aludel_old_books AS SELECT * FROM books;
DROP TABLE books;
CREATE TABLE books (
    id integer,
    author_id integer NOT NULL,
    title text NOT NULL,
    pages integer,
    code text,
    CONSTRAINT books_pkey PRIMARY KEY (id),
    CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id)
);
INSERT INTO books (id, author_id, title, pages, code) SELECT id, author_id, title, pages, code FROM _aludel_old_books;
DROP TABLE _aludel_old_books;
"#,
            postgres: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE;

-- aludel:downgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);
"#,
        },
    );
}

fn foreign_key_deferrable(b: Backend) {
    change(
        BASE,
        edit(
            BASE,
            FK,
            "    author_id integer NOT NULL REFERENCES authors (id) DEFERRABLE INITIALLY DEFERRED,",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) DEFERRABLE INITIALLY DEFERRED;

-- aludel:downgrade
-- remove foreign key books_author_id_fkey on public.books
ALTER TABLE books DROP CONSTRAINT books_author_id_fkey;

-- add foreign key books_author_id_fkey on public.books
ALTER TABLE books ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id);
"#,
        },
    );
}

on_both!(
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
postgres_only!(foreign_key_deferrable);

// ---------------------------------------------------------------------------------
// Indexes

fn index_add(b: Backend) {
    change(
        BASE,
        plus(BASE, "CREATE INDEX books_title_idx ON books (title);\n"),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add index books_title_idx on main.books
CREATE INDEX books_title_idx ON books (title);

-- aludel:downgrade
-- remove index books_title_idx on main.books
DROP INDEX books_title_idx;
"#,
            postgres: r#"-- aludel:upgrade
-- add index books_title_idx on public.books
CREATE INDEX books_title_idx ON books (title);

-- aludel:downgrade
-- remove index books_title_idx on public.books
DROP INDEX books_title_idx;
"#,
        },
    );
}

fn index_drop(b: Backend) {
    change(
        plus(BASE, "CREATE INDEX books_title_idx ON books (title);\n"),
        BASE,
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove index books_title_idx on main.books
DROP INDEX books_title_idx;

-- aludel:downgrade
-- add index books_title_idx on main.books
CREATE INDEX books_title_idx ON books (title);
"#,
            postgres: r#"-- aludel:upgrade
-- remove index books_title_idx on public.books
DROP INDEX books_title_idx;

-- aludel:downgrade
-- add index books_title_idx on public.books
CREATE INDEX books_title_idx ON books (title);
"#,
        },
    );
}

fn index_unique_add(b: Backend) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE UNIQUE INDEX books_code_idx ON books (code);\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add index books_code_idx on main.books
CREATE UNIQUE INDEX books_code_idx ON books (code);

-- aludel:downgrade
-- remove index books_code_idx on main.books
DROP INDEX books_code_idx;
"#,
            postgres: r#"-- aludel:upgrade
-- add index books_code_idx on public.books
CREATE UNIQUE INDEX books_code_idx ON books (code);

-- aludel:downgrade
-- remove index books_code_idx on public.books
DROP INDEX books_code_idx;
"#,
        },
    );
}

fn index_partial_predicate_change(b: Backend) {
    let base = plus(
        BASE,
        "CREATE INDEX books_long_idx ON books (pages) WHERE pages > 100;\n",
    );
    change(base.clone(), edit(&base, "pages > 100", "pages > 500")).run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove index books_long_idx on main.books
DROP INDEX books_long_idx;

-- add index books_long_idx on main.books
CREATE INDEX books_long_idx ON books (pages) WHERE pages > 500;

-- aludel:downgrade
-- remove index books_long_idx on main.books
DROP INDEX books_long_idx;

-- add index books_long_idx on main.books
CREATE INDEX books_long_idx ON books (pages) WHERE pages > 100;
"#,
            postgres: r#"-- aludel:upgrade
-- remove index books_long_idx on public.books
DROP INDEX books_long_idx;

-- add index books_long_idx on public.books
CREATE INDEX books_long_idx ON books (pages) WHERE (pages > 500);

-- aludel:downgrade
-- remove index books_long_idx on public.books
DROP INDEX books_long_idx;

-- add index books_long_idx on public.books
CREATE INDEX books_long_idx ON books (pages) WHERE (pages > 100);
"#,
        },
    );
}

fn index_expression_add(b: Backend) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_lower_title_idx ON books (lower(title));\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add index books_lower_title_idx on main.books
CREATE INDEX books_lower_title_idx ON books ((lower(title)));

-- aludel:downgrade
-- remove index books_lower_title_idx on main.books
DROP INDEX books_lower_title_idx;
"#,
            postgres: r#"-- aludel:upgrade
-- add index books_lower_title_idx on public.books
CREATE INDEX books_lower_title_idx ON books ((lower(title)));

-- aludel:downgrade
-- remove index books_lower_title_idx on public.books
DROP INDEX books_lower_title_idx;
"#,
        },
    );
}

fn index_desc_add(b: Backend) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_pages_idx ON books (pages DESC, title);\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- add index books_pages_idx on main.books
CREATE INDEX books_pages_idx ON books (pages DESC, title);

-- aludel:downgrade
-- remove index books_pages_idx on main.books
DROP INDEX books_pages_idx;
"#,
            postgres: r#"-- aludel:upgrade
-- add index books_pages_idx on public.books
CREATE INDEX books_pages_idx ON books (pages DESC, title);

-- aludel:downgrade
-- remove index books_pages_idx on public.books
DROP INDEX books_pages_idx;
"#,
        },
    );
}

fn index_gin_add(b: Backend) {
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
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add index books_labels_idx on public.books
CREATE INDEX books_labels_idx ON books USING gin (labels);

-- aludel:downgrade
-- remove index books_labels_idx on public.books
DROP INDEX books_labels_idx;
"#,
        },
    );
}

fn index_include_add(b: Backend) {
    change(
        BASE,
        plus(
            BASE,
            "CREATE INDEX books_author_idx ON books (author_id) INCLUDE (title);\n",
        ),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add index books_author_idx on public.books
CREATE INDEX books_author_idx ON books (author_id) INCLUDE (title);

-- aludel:downgrade
-- remove index books_author_idx on public.books
DROP INDEX books_author_idx;
"#,
        },
    );
}

on_both!(
    index_add,
    index_drop,
    index_unique_add,
    index_partial_predicate_change,
    index_expression_add,
    index_desc_add,
);
postgres_only!(index_gin_add, index_include_add);

// ---------------------------------------------------------------------------------
// Enum types (PostgreSQL)

const MOOD: &str = "CREATE TYPE mood AS ENUM ('sad', 'happy');\n";

fn enum_add(b: Backend) {
    change(BASE, plus(MOOD, BASE)).run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add enum type public.mood (sad, happy)
CREATE TYPE mood AS ENUM ('sad', 'happy');

-- aludel:downgrade
-- remove enum type public.mood
DROP TYPE mood;
"#,
        },
    );
}

fn enum_drop(b: Backend) {
    change(plus(MOOD, BASE), BASE).run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- remove enum type public.mood
DROP TYPE mood;

-- aludel:downgrade
-- add enum type public.mood (sad, happy)
CREATE TYPE mood AS ENUM ('sad', 'happy');
"#,
        },
    );
}

fn enum_add_value_in_the_middle(b: Backend) {
    change(
        plus(MOOD, BASE),
        plus(&edit(MOOD, "'sad', 'happy'", "'sad', 'ok', 'happy'"), BASE),
    )
    // PostgreSQL cannot remove an enum value: the downgrade leaves it, with a note.
    .downgrade_leaves(
        "New upgrade operations detected:\n  remove enum type public.mood\n  add enum type public.mood (sad, happy)\n",
    )
    .after_downgrade("SELECT count(*) FROM pg_enum WHERE enumlabel = 'ok'", &["1"])
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add value 'ok' to enum type public.mood
ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy';

-- aludel:downgrade
-- remove value 'ok' from enum type public.mood
-- NOTE: PostgreSQL cannot remove the value 'ok' from enum type public.mood: it stays
"#,
        },
    );
}

fn enum_add_value_at_the_end(b: Backend) {
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
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add value 'ecstatic' to enum type public.mood
ALTER TYPE mood ADD VALUE 'ecstatic';

-- aludel:downgrade
-- remove value 'ecstatic' from enum type public.mood
-- NOTE: PostgreSQL cannot remove the value 'ecstatic' from enum type public.mood: it stays
"#,
        },
    );
}

postgres_only!(
    enum_add,
    enum_drop,
    enum_add_value_in_the_middle,
    enum_add_value_at_the_end
);

// ---------------------------------------------------------------------------------
// Sequences (PostgreSQL)

const SEQ: &str = "CREATE SEQUENCE invoice_no START WITH 1000 INCREMENT BY 10;\n";

fn sequence_add(b: Backend) {
    change(BASE, plus(BASE, SEQ)).run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- add sequence public.invoice_no
CREATE SEQUENCE invoice_no AS bigint INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000;

-- aludel:downgrade
-- remove sequence public.invoice_no
DROP SEQUENCE invoice_no;
"#,
        },
    );
}

fn sequence_drop(b: Backend) {
    change(plus(BASE, SEQ), BASE).run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- remove sequence public.invoice_no
DROP SEQUENCE invoice_no;

-- aludel:downgrade
-- add sequence public.invoice_no
CREATE SEQUENCE invoice_no AS bigint INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000;
"#,
        },
    );
}

fn sequence_change(b: Backend) {
    change(
        plus(BASE, SEQ),
        plus(BASE, &edit(SEQ, "INCREMENT BY 10", "INCREMENT BY 5")),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- alter sequence public.invoice_no
ALTER SEQUENCE invoice_no AS bigint INCREMENT BY 5 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 NO CYCLE;

-- aludel:downgrade
-- alter sequence public.invoice_no
ALTER SEQUENCE invoice_no AS bigint INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 NO CYCLE;
"#,
        },
    );
}

postgres_only!(sequence_add, sequence_drop, sequence_change);

// ---------------------------------------------------------------------------------
// Views

const VIEW: &str = "CREATE VIEW long_books AS SELECT id, title FROM books WHERE pages > 150;\n";

fn view_add(b: Backend) {
    change(BASE, plus(BASE, VIEW))
        .after_upgrade("SELECT id, title FROM long_books", &["2|Cobol"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- add view main.long_books
CREATE VIEW long_books AS
SELECT id, title FROM books WHERE pages > 150;

-- aludel:downgrade
-- remove view main.long_books
DROP VIEW long_books;
"#,
                postgres: r#"-- aludel:upgrade
-- add view public.long_books
CREATE VIEW long_books AS
SELECT books.id,
    books.title
   FROM books
  WHERE books.pages > 150;

-- aludel:downgrade
-- remove view public.long_books
DROP VIEW long_books;
"#,
            },
        );
}

fn view_drop(b: Backend) {
    change(plus(BASE, VIEW), BASE)
        .after_downgrade("SELECT id, title FROM long_books", &["2|Cobol"])
        .run(
            b,
            Expected {
                sqlite: r#"-- aludel:upgrade
-- remove view main.long_books
DROP VIEW long_books;

-- aludel:downgrade
-- add view main.long_books
CREATE VIEW long_books AS
SELECT id, title FROM books WHERE pages > 150;
"#,
                postgres: r#"-- aludel:upgrade
-- remove view public.long_books
DROP VIEW long_books;

-- aludel:downgrade
-- add view public.long_books
CREATE VIEW long_books AS
SELECT books.id,
    books.title
   FROM books
  WHERE books.pages > 150;
"#,
            },
        );
}

fn view_change(b: Backend) {
    change(
        plus(BASE, VIEW),
        plus(BASE, &edit(VIEW, "pages > 150", "pages > 50")),
    )
    .after_upgrade("SELECT id, title FROM long_books", &["1|Notes", "2|Cobol"])
    .after_downgrade("SELECT id, title FROM long_books", &["2|Cobol"])
    .run(
        b,
        Expected {
            sqlite: r#"-- aludel:upgrade
-- remove view main.long_books
DROP VIEW long_books;

-- add view main.long_books
CREATE VIEW long_books AS
SELECT id, title FROM books WHERE pages > 50;

-- aludel:downgrade
-- remove view main.long_books
DROP VIEW long_books;

-- add view main.long_books
CREATE VIEW long_books AS
SELECT id, title FROM books WHERE pages > 150;
"#,
            postgres: r#"-- aludel:upgrade
-- remove view public.long_books
DROP VIEW long_books;

-- add view public.long_books
CREATE VIEW long_books AS
SELECT books.id,
    books.title
   FROM books
  WHERE books.pages > 50;

-- aludel:downgrade
-- remove view public.long_books
DROP VIEW long_books;

-- add view public.long_books
CREATE VIEW long_books AS
SELECT books.id,
    books.title
   FROM books
  WHERE books.pages > 150;
"#,
        },
    );
}

fn view_comment(b: Backend) {
    let base = plus(BASE, VIEW);
    change(
        base.clone(),
        plus(&base, "COMMENT ON VIEW long_books IS 'Over 150 pages';\n"),
    )
    .run(
        b,
        Expected {
            sqlite: NONE,
            postgres: r#"-- aludel:upgrade
-- change the comment of view public.long_books
COMMENT ON VIEW long_books IS 'Over 150 pages';

-- aludel:downgrade
-- change the comment of view public.long_books
COMMENT ON VIEW long_books IS NULL;
"#,
        },
    );
}

on_both!(view_add, view_drop, view_change);
postgres_only!(view_comment);
