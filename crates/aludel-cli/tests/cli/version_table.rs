//! Version table options: another table name, a schema, and taking over a database that
//! Alembic managed.

use aludel_testkit::{Backend, DbProject, linear_revs, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn named_version_table_is_used(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "version_table", "\"alembic_version\"");
    for r in linear_revs(3) {
        p.write_rev(&r);
    }
    p.ok(&["upgrade", "rev_2"]);
    assert_eq!(db.tables(), ["alembic_version", "t1", "t2"]);
    assert_eq!(
        db.rows("SELECT version_num FROM alembic_version"),
        ["rev_2"]
    );
    assert_eq!(p.ok(&["current"]).stdout, "rev_2\n");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        db.rows("SELECT version_num FROM alembic_version"),
        ["rev_3"]
    );
    p.ok(&["downgrade", "base"]);
    assert_eq!(db.tables(), ["alembic_version"]);
}

/// A database Alembic managed: `alembic_version` as Alembic creates it (a 32-character
/// column), a row naming a revision the files also have, and its tables made by hand.
fn alembic_database_is_taken_over(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "version_table", "\"alembic_version\"");
    for r in linear_revs(4) {
        p.write_rev(&r);
    }
    db.execute(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));\n\
         INSERT INTO alembic_version (version_num) VALUES ('rev_2');\n\
         CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);",
    );
    assert_eq!(p.ok(&["current"]).stdout, "rev_2\n");
    let r = p.ok(&["history", "--indicate-current"]);
    assert!(
        r.stdout.contains("rev_1 -> rev_2 (current), create t2"),
        "{r}"
    );
    let r = p.ok(&["upgrade", "head"]);
    assert!(!r.stderr.contains("-> rev_2,"), "{r}");
    assert!(
        r.stderr
            .contains("Running upgrade rev_2 -> rev_3, create t3"),
        "{r}"
    );
    assert!(
        r.stderr
            .contains("Running upgrade rev_3 -> rev_4, create t4"),
        "{r}"
    );
    assert_eq!(db.tables(), ["alembic_version", "t1", "t2", "t3", "t4"]);
    assert_eq!(
        db.rows("SELECT version_num FROM alembic_version"),
        ["rev_4"]
    );
    assert_eq!(p.ok(&["current"]).stdout, "rev_4 (head)\n");
}

/// A run with nothing to do still leaves the version table in place, as Alembic does,
/// and so does a stamp that changes nothing.
fn nothing_to_do_creates_the_version_table(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    let r = p.ok(&["upgrade", "head"]);
    assert_eq!(
        r.stderr, "INFO  Nothing to do: the database is already at base\n",
        "{r}"
    );
    assert_eq!(db.tables(), ["aludel_version"]);
    assert!(db.version_rows().is_empty());
    assert_eq!(p.ok(&["current"]).stdout, "");

    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "version_table", "\"alembic_version\"");
    p.ok(&["stamp", "base"]);
    assert_eq!(db.tables(), ["alembic_version"]);
}

on_all!(
    named_version_table_is_used,
    alembic_database_is_taken_over,
    nothing_to_do_creates_the_version_table,
);

#[test]
fn version_table_in_its_own_schema_postgres() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let db = p.db();
    db.execute("CREATE SCHEMA meta");
    p.set_option("aludel", "version_table_schema", "\"meta\"");
    for r in linear_revs(2) {
        p.write_rev(&r);
    }
    p.ok(&["upgrade", "head"]);
    assert_eq!(db.tables(), ["t1", "t2"]);
    assert_eq!(
        db.rows("SELECT version_num FROM meta.aludel_version"),
        ["rev_2"]
    );
    assert_eq!(p.ok(&["current"]).stdout, "rev_2 (head)\n");
    p.ok(&["downgrade", "-1"]);
    assert_eq!(
        db.rows("SELECT version_num FROM meta.aludel_version"),
        ["rev_1"]
    );
    assert_eq!(db.tables(), ["t1"]);
    // Offline SQL names the schema too.
    let sql = p.ok(&["upgrade", "head", "--sql"]).stdout;
    assert!(
        sql.contains("CREATE TABLE IF NOT EXISTS \"meta\".\"aludel_version\""),
        "{sql}"
    );
}

/// SQLite has no schemas: `version_table_schema` is refused, naming the config file,
/// by every command that would use the version table (it used to fail with
/// `no such table: MySchema.sqlite_master`), and nothing is created.
#[test]
fn version_table_schema_is_refused_on_sqlite() {
    let p = DbProject::new(BIN, Backend::Sqlite, "");
    p.set_option("aludel", "version_table_schema", "\"MySchema\"");
    for r in linear_revs(2) {
        p.write_rev(&r);
    }
    for args in [
        &["upgrade", "head"][..],
        &["current"],
        &["downgrade", "base"],
        &["stamp", "head"],
        &["upgrade", "head", "--sql"],
        &["stamp", "head", "--sql"],
    ] {
        let r = p.fails(args);
        assert_eq!(r.stdout, "", "{args:?}: {r}");
        assert_eq!(
            r.stderr,
            "ERROR [PROJECT]/aludel.toml: version_table_schema = \"MySchema\", but sqlite has no schemas; remove version_table_schema to keep the version table in the database itself\n",
            "{args:?}"
        );
    }
    // Refused before connecting: not even the database file was created.
    let file = p.db().sqlite_path().unwrap().to_path_buf();
    assert!(!file.exists(), "{} was created", file.display());
    // Commands that read no version table are unaffected.
    p.ok(&["heads"]);
}

/// Both options together: Alembic's table in a schema, taken over.
#[test]
fn alembic_table_in_a_schema_is_taken_over_postgres() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let db = p.db();
    p.set_option("aludel", "version_table", "\"alembic_version\"");
    p.set_option("aludel", "version_table_schema", "\"meta\"");
    for r in linear_revs(2) {
        p.write_rev(&r);
    }
    db.execute(
        "CREATE SCHEMA meta;\n\
         CREATE TABLE meta.alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);\n\
         INSERT INTO meta.alembic_version VALUES ('rev_1');\nCREATE TABLE t1 (id int);",
    );
    assert_eq!(p.ok(&["current"]).stdout, "rev_1\n");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        db.rows("SELECT version_num FROM meta.alembic_version"),
        ["rev_2"]
    );
    assert_eq!(db.tables(), ["t1", "t2"]);
}
