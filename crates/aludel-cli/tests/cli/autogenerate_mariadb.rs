//! `revision --autogenerate` and `check` on MariaDB: the desired schema is loaded into
//! a scratch database made on the same server, both are read from
//! `information_schema`, and the revision written from their difference upgrades the
//! database to the desired schema and downgrades it back. The MySQL features the
//! other databases lack (`AUTO_INCREMENT`, `ENUM`/`SET` columns, prefix and FULLTEXT
//! indexes, column collations, comments, `ON UPDATE` defaults) survive the round trip.

use aludel_testkit::{DbProject, filter, mysql_flavour};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

const BASE: &str = "CREATE TABLE authors (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name varchar(50) NOT NULL,
    bio text,
    email varchar(200) COLLATE utf8mb4_bin,
    updated_at timestamp NOT NULL DEFAULT current_timestamp ON UPDATE current_timestamp,
    UNIQUE KEY authors_email (email),
    FULLTEXT KEY authors_bio (bio)
) COMMENT 'people who write';
CREATE TABLE books (
    id bigint unsigned NOT NULL AUTO_INCREMENT,
    author_id int NOT NULL,
    title varchar(300) NOT NULL COMMENT 'the title',
    kind enum('novel','essay') NOT NULL DEFAULT 'novel',
    tags set('a','b'),
    pages int CHECK (pages > 0),
    doubled int GENERATED ALWAYS AS (pages * 2) STORED,
    PRIMARY KEY (id),
    KEY books_title (title(20)),
    CONSTRAINT books_author FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE
);
CREATE VIEW long_books AS SELECT id, title FROM books WHERE pages > 500;
";

/// Keeps the snapshots of the test it is called in per server, `NAME@mariadb` or
/// `NAME@mysql`, until the guard is dropped: they hold what the server printed, which
/// differs between the two (`int(11)` and `int`, parentheses, default check names).
fn per_server() -> impl Sized {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(mysql_flavour());
    settings.bind_to_scope()
}

/// The sections of the revision file whose name ends in `_<slug>.sql`.
fn sections(p: &DbProject, slug: &str) -> String {
    let file = std::fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with(&format!("_{slug}.sql")))
        .unwrap_or_else(|| panic!("no revision named {slug}"));
    let text = std::fs::read_to_string(file).unwrap();
    text[text.find("-- aludel:upgrade").unwrap()..].to_string()
}

/// Runs `aludel ARGS` to success and returns the scratch databases it left on the
/// server: they are named after the process (`aludel_shadow_<pid>_<n>`), so other
/// tests' runs at the same time are not counted.
fn shadows_left_by(p: &DbProject, args: &[&str]) -> Vec<String> {
    let child = p
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.db().rows(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'aludel\\_shadow\\_{pid}\\_%'"
    ))
}

/// `text` with the revision ids of the project's files replaced by `[REV]`.
fn without_ids(p: &DbProject, text: &str) -> String {
    let mut text = filter(text, p.path());
    for f in std::fs::read_dir(p.versions()).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        // `<date>_<time>_<rev>_<slug>.sql`
        if let Some(id) = name.split('_').nth(2) {
            text = text.replace(id, "[REV]");
        }
    }
    text
}

fn checks_clean(p: &DbProject) {
    let r = p.ok(&["check"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
}

#[test]
fn a_mariadb_schema_round_trips_through_autogenerate() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    std::fs::write(p.path().join("schema.sql"), BASE).unwrap();
    let r = p.ok(&["revision", "--autogenerate", "-m", "base"]);
    insta::assert_snapshot!("base_detected", filter(&r.stderr, p.path()));
    insta::assert_snapshot!("base_sections", sections(&p, "base"));
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
    p.db().execute(
        "INSERT INTO authors (name, email) VALUES ('Ada', 'ada@example.org');
         INSERT INTO books (author_id, title, kind, pages) VALUES (1, 'Notes', 'essay', 100)",
    );
    assert_eq!(p.db().rows("SELECT id, doubled FROM books"), ["1|200"]);
    p.ok(&["downgrade", "base"]);
    assert_eq!(
        p.db().tables(),
        ["aludel_version"],
        "the downgrade removes every table it made"
    );
    // The scratch databases `check` and `check --migrations` make are dropped.
    p.ok(&["upgrade", "head"]);
    for args in [&["check"][..], &["check", "--migrations"]] {
        assert_eq!(shadows_left_by(&p, args), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn edits_on_mariadb_upgrade_and_downgrade_keeping_the_rows() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    let schema = p.path().join("schema.sql");
    std::fs::write(&schema, BASE).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    p.ok(&["upgrade", "head"]);
    p.db().execute(
        "INSERT INTO authors (name, email) VALUES ('Ada', 'ada@example.org');
         INSERT INTO books (author_id, title, kind, pages) VALUES (1, 'Notes', 'essay', 100)",
    );
    let edited = BASE
        .replace(
            "    bio text,\n",
            "    bio text,\n    nickname varchar(20) NOT NULL DEFAULT 'x',\n",
        )
        .replace("title varchar(300)", "title varchar(400)")
        .replace("enum('novel','essay')", "enum('novel','essay','poem')")
        .replace(
            "KEY books_title (title(20)),",
            "KEY books_title (title(30)),\n    UNIQUE KEY books_kind_title (kind, title),",
        )
        .replace(
            "COMMENT 'people who write'",
            "COMMENT 'people who write books'",
        );
    std::fs::write(&schema, &edited).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "edit"]);
    insta::assert_snapshot!("edit_sections", sections(&p, "edit"));
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
    assert_eq!(
        p.db().rows(
            "SELECT a.nickname, b.title, b.kind FROM authors a JOIN books b ON b.author_id = a.id"
        ),
        ["x|Notes|essay"]
    );
    p.ok(&["downgrade", "-1"]);
    std::fs::write(&schema, BASE).unwrap();
    checks_clean(&p);
    assert_eq!(
        p.db()
            .rows("SELECT a.name, b.title FROM authors a JOIN books b ON b.author_id = a.id"),
        ["Ada|Notes"]
    );
}

#[test]
fn check_on_mariadb_says_what_differs_and_exits_3() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    std::fs::write(p.path().join("schema.sql"), BASE).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    p.ok(&["upgrade", "head"]);
    p.db().execute("ALTER TABLE books ADD COLUMN isbn char(13)");
    p.db().execute(
        "CREATE TRIGGER books_touch BEFORE UPDATE ON books FOR EACH ROW SET NEW.pages = NEW.pages",
    );
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    insta::assert_snapshot!(
        "check_drift",
        format!("{}{}", r.stdout, filter(&r.stderr, p.path()))
    );
}

#[test]
fn check_migrations_on_mariadb_runs_the_revisions_into_a_scratch_database() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    std::fs::write(p.path().join("schema.sql"), BASE).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    // Nothing applied to the database itself: the revisions run in a scratch one.
    let r = p.ok(&["check", "--migrations"]);
    insta::assert_snapshot!(
        "check_migrations",
        format!("{}{}", r.stdout, without_ids(&p, &r.stderr))
    );
    assert!(
        !p.db().tables().iter().any(|t| t == "books"),
        "check --migrations leaves the database alone"
    );
    std::fs::write(
        p.path().join("schema.sql"),
        BASE.replace("bio text,", "bio text,\n    born date,"),
    )
    .unwrap();
    let r = p
        .run(&["check", "--migrations"])
        .expect_code(3, &["check", "--migrations"]);
    insta::assert_snapshot!(
        "check_migrations_behind",
        format!("{}{}", r.stdout, without_ids(&p, &r.stderr))
    );
}

/// The scratch database is made with the live database's character set and
/// collation: a column the desired schema gives another character set than the
/// database's default is written so, rather than read as the default.
#[test]
fn a_column_in_another_character_set_than_the_database_is_written_with_it() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    let name = p.db().mysql().unwrap().name().to_string();
    p.db().execute(&format!(
        "ALTER DATABASE `{name}` CHARACTER SET latin1 COLLATE latin1_swedish_ci"
    ));
    // The server's own default: what a scratch database made without the live
    // database's defaults would take, and read as no collation of the column's own.
    let server = p.db().rows("SELECT @@collation_server");
    let collation = &server[0];
    std::fs::write(
        p.path().join("schema.sql"),
        format!("CREATE TABLE notes (\n    id int PRIMARY KEY,\n    plain varchar(20),\n    wide varchar(20) COLLATE {collation}\n);\n"),
    )
    .unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "notes"]);
    let text = sections(&p, "notes");
    assert!(
        text.contains(&format!("`wide` varchar(20) COLLATE {collation}")),
        "{text}"
    );
    assert!(text.contains("`plain` varchar(20),"), "{text}");
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
    assert_eq!(
        p.db().rows(
            "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'notes' AND COLUMN_NAME <> 'id'"
        ),
        [
            "plain|latin1_swedish_ci".to_string(),
            format!("wide|{collation}")
        ]
    );
}

/// Indexes over expressions (MySQL 8.0.13 and later: functional key parts, alone,
/// beside columns, descending, with a string literal MySQL prints escaped) are read
/// and written back; an edited expression is a dropped and re-made index. MariaDB
/// has no such key parts: the desired schema's statement is refused, naming it.
#[test]
fn indexes_over_expressions_round_trip_on_mysql() {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    let schema = p.path().join("schema.sql");
    let base = "CREATE TABLE people (
    id int PRIMARY KEY,
    name varchar(50),
    doc json,
    a int,
    b int,
    KEY people_lower ((lower(name))),
    UNIQUE KEY people_a_b (a, (b + 1)),
    KEY people_doc ((cast(doc->>'$.x' as char(20))) DESC),
    KEY people_mixed (name(10), (upper(name)))
);
";
    std::fs::write(&schema, base).unwrap();
    if mysql_flavour() == "mariadb" {
        let r = p
            .run(&["revision", "--autogenerate", "-m", "base"])
            .expect_code(1, &["revision", "--autogenerate"]);
        insta::assert_snapshot!("expression_keys_refused", filter(&r.stderr, p.path()));
        return;
    }
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    insta::assert_snapshot!("expression_keys_base", sections(&p, "base"));
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
    p.db()
        .execute("INSERT INTO people (id, name, a, b) VALUES (1, 'Ada', 1, 1)");
    std::fs::write(
        &schema,
        base.replace("(lower(name))", "(lower(trim(name)))"),
    )
    .unwrap();
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    insta::assert_snapshot!("expression_keys_drift", r.stdout);
    p.ok(&["revision", "--autogenerate", "-m", "edit"]);
    insta::assert_snapshot!("expression_keys_edit", sections(&p, "edit"));
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
    p.ok(&["downgrade", "-1"]);
    std::fs::write(&schema, base).unwrap();
    checks_clean(&p);
    assert_eq!(p.db().rows("SELECT id, name FROM people"), ["1|Ada"]);
}

/// Applies the revision generated from `base`, then generates one from `changed`:
/// its sections are snapshot `name`, and applied they leave nothing to change.
fn narrowed(base: &str, changed: &str, name: &str) {
    let _snapshots = per_server();
    let p = DbProject::mysql(BIN, "");
    let schema = p.path().join("schema.sql");
    std::fs::write(&schema, base).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    p.ok(&["upgrade", "head"]);
    std::fs::write(&schema, changed).unwrap();
    p.ok(&["revision", "--autogenerate", "-m", "narrow"]);
    insta::assert_snapshot!(name, sections(&p, "narrow"));
    p.ok(&["upgrade", "head"]);
    checks_clean(&p);
}

/// A column moved into a character set that holds fewer characters (the table's
/// `utf8mb4` into `latin1`) can lose them, and the revision says so; moved back it
/// cannot. Widening an integer or appending an `ENUM` label is not marked.
#[test]
fn a_narrower_character_set_is_marked_as_losing_data() {
    let base = "CREATE TABLE notes (
    id int PRIMARY KEY,
    body varchar(40),
    kind enum('a','b') NOT NULL DEFAULT 'a',
    hits int
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
";
    let changed = base
        .replace(
            "body varchar(40)",
            "body varchar(40) CHARACTER SET latin1 COLLATE latin1_bin",
        )
        .replace("enum('a','b')", "enum('a','b','c')")
        .replace("hits int", "hits bigint");
    narrowed(base, &changed, "narrower_character_set");
}

/// A table moved to a default collation of a narrower character set declares its
/// text columns that name no collation of their own again, in that set: marked as
/// losing data, unless the table has no such column; the way back is not marked.
#[test]
fn a_table_moved_to_a_narrower_default_character_set_is_marked_as_losing_data() {
    let base = "CREATE TABLE notes (
    id int PRIMARY KEY,
    body varchar(40),
    tag varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE TABLE counts (
    id int PRIMARY KEY,
    n int
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
";
    let changed = base.replace(
        ") CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;",
        ") CHARACTER SET latin1 COLLATE latin1_bin;",
    );
    narrowed(base, &changed, "narrower_table_character_set");
}
