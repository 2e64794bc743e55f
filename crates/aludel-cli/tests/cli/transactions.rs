//! `-- aludel:transaction false` revisions in the middle of a run, under both
//! transaction policies: they run outside any transaction (PostgreSQL's
//! `CREATE INDEX CONCURRENTLY`, SQLite's `VACUUM`), are recorded, and the run goes on.
//! On MariaDB, whose DDL commits by itself, every revision runs that way: the header
//! changes nothing there, and neither policy gives a transaction to roll back.

use aludel_testkit::{Backend, Db, DbProject, Rev, TestProject, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Statements that refuse to run inside a transaction.
fn outside_tx_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n\
             CREATE INDEX CONCURRENTLY items_id_name_idx ON items (id, name);"
        }
        Backend::Sqlite => "VACUUM;\nCREATE INDEX items_name_idx ON items (name);",
        // Nothing refuses a transaction there: every revision runs outside one.
        Backend::Mysql => {
            "CREATE INDEX items_name_idx ON items (name);\n\
             CREATE INDEX items_id_name_idx ON items (id, name);"
        }
    }
}

fn drop_index_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "DROP INDEX items_name_idx ON items;",
        Backend::Sqlite | Backend::Postgres => "DROP INDEX items_name_idx;",
    }
}

fn write_three(p: &TestProject, backend: Backend, middle: &str) {
    p.write_rev(&Rev::new("rev_1", &[], "items").sql(
        "CREATE TABLE items (id int PRIMARY KEY, name varchar(20));\n\
         INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');",
        "DROP TABLE items;",
    ));
    p.write_rev(
        &Rev::new("rev_2", &["rev_1"], "index items")
            .header("transaction", "false")
            .sql(middle, drop_index_sql(backend)),
    );
    p.write_rev(&Rev::new("rev_3", &["rev_2"], "after").sql(
        "CREATE TABLE after_index (id int);",
        "DROP TABLE after_index;",
    ));
}

fn assert_indexes_valid(db: &Db, names: &[&str]) {
    match db {
        Db::Postgres(_) => {
            let list = names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = db.rows(&format!(
                "SELECT c.relname, i.indisvalid, i.indisready FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ({list})"
            ));
            let expected: Vec<String> = {
                let mut v: Vec<String> = names.iter().map(|n| format!("{n}|t|t")).collect();
                v.sort();
                v
            };
            assert_eq!(rows, expected);
        }
        Db::Sqlite(_) => {
            let rows = db.rows(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'items_name_idx'",
            );
            assert_eq!(rows, ["items_name_idx"]);
            assert_eq!(db.rows("PRAGMA integrity_check"), ["ok"]);
        }
        Db::Mysql(my) => {
            let rows = my.rows(&format!(
                "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'items' AND INDEX_NAME <> 'PRIMARY'",
                my.name()
            ));
            let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            expected.sort();
            assert_eq!(rows, expected);
        }
    }
}

fn non_transactional_revision_in_the_middle(backend: Backend, whole_run: bool) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    if whole_run {
        p.set_option("aludel", "transaction_per_migration", "false");
    }
    write_three(&p, backend, outside_tx_sql(backend));
    let r = p.ok(&["upgrade", "head"]);
    for line in [
        "Running upgrade  -> rev_1, items",
        "Running upgrade rev_1 -> rev_2, index items",
        "Running upgrade rev_2 -> rev_3, after",
    ] {
        assert!(r.stderr.contains(line), "{r}");
    }
    let indexes: &[&str] = match backend {
        Backend::Postgres | Backend::Mysql => &["items_name_idx", "items_id_name_idx"],
        Backend::Sqlite => &["items_name_idx"],
    };
    assert_indexes_valid(db, indexes);
    // The journal of statements applied outside a transaction sits beside the
    // version table (empty once the revision is recorded).
    assert_eq!(
        db.all_tables(),
        [
            "after_index",
            "aludel_version",
            "aludel_version_journal",
            "items"
        ]
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM aludel_version_journal"),
        ["0"]
    );
    assert_eq!(db.version_rows(), ["rev_3"]);
    // And back down through it.
    p.ok(&["downgrade", "base"]);
    assert_eq!(
        db.all_tables(),
        ["aludel_version", "aludel_version_journal"]
    );
    assert!(db.version_rows().is_empty());
}

fn non_transactional_revision_per_migration(backend: Backend) {
    non_transactional_revision_in_the_middle(backend, false);
}

fn non_transactional_revision_whole_run(backend: Backend) {
    non_transactional_revision_in_the_middle(backend, true);
}

/// A failure in a non-transactional revision keeps what ran before it (the earlier
/// revisions and its own earlier statements) and says so; the version table stays at
/// the revision before.
fn non_transactional_revision_failing_halfway(backend: Backend, whole_run: bool) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    if whole_run {
        p.set_option("aludel", "transaction_per_migration", "false");
    }
    let first = match backend {
        Backend::Postgres => "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);",
        Backend::Sqlite | Backend::Mysql => "CREATE INDEX items_name_idx ON items (name);",
    };
    let middle = format!("{first}\nCREATE INDEX items_bad_idx ON items (no_such_column);");
    write_three(&p, backend, &middle);
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("upgrade of revision rev_2 failed"), "{r}");
    assert!(r.stderr.contains("rev_2.sql:8"), "{r}");
    assert!(r.stderr.contains("no_such_column"), "{r}");
    let why = match backend {
        Backend::Mysql => "this database commits DDL immediately",
        Backend::Sqlite | Backend::Postgres => "it runs outside a transaction",
    };
    assert!(
        r.stderr.contains(&format!(
            "statement 1 of this revision's 2 (before line 8) was applied ({why}) and is recorded in the journal"
        )),
        "{r}"
    );
    assert!(r.stderr.contains("the version table is at rev_1"), "{r}");
    assert!(r.stderr.contains("the re-run resumes at line 8"), "{r}");
    assert_indexes_valid(db, &["items_name_idx"]);
    assert_eq!(
        db.all_tables(),
        ["aludel_version", "aludel_version_journal", "items"]
    );
    assert_eq!(db.version_rows(), ["rev_1"]);
}

fn non_transactional_failure_per_migration(backend: Backend) {
    non_transactional_revision_failing_halfway(backend, false);
}

fn non_transactional_failure_whole_run(backend: Backend) {
    non_transactional_revision_failing_halfway(backend, true);
}

/// Under `transaction_per_migration = false` a non-transactional revision splits the
/// run in two transactions; a failure after it rolls back to it, not further, and the
/// message says where the database stands. On MariaDB there is no transaction to roll
/// back: every revision before the failing one is committed and recorded, the failing
/// one's statements before the failure stay applied, and the re-run resumes there.
fn whole_run_failure_after_a_non_transactional_revision(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "transaction_per_migration", "false");
    write_three(&p, backend, outside_tx_sql(backend));
    p.write_rev(&Rev::new("rev_4", &["rev_3"], "fails").sql(
        "CREATE TABLE t4 (id int);\nINSERT INTO nowhere VALUES (1);",
        "DROP TABLE t4;",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("upgrade of revision rev_4 failed"), "{r}");
    if backend == Backend::Mysql {
        assert_eq!(
            db.tables(),
            ["after_index", "aludel_version", "items", "t4"],
            "{r}"
        );
        assert_eq!(db.version_rows(), ["rev_3"], "{r}");
        assert!(
            r.stderr.contains(
                "statement 1 of this revision's 2 (before line 7) was applied (this database commits DDL immediately) \
                 and is recorded in the journal `aludel_version_journal`; the version table is at rev_3"
            ),
            "the message must say where the database is:\n{r}"
        );
        // No Finished line waits on a transaction.
        assert!(!r.stderr.contains("to be committed with the run"), "{r}");
        assert_eq!(r.stderr.matches("INFO  Finished upgrade").count(), 3, "{r}");
        // The fixed revision resumes after the statement that was applied.
        let path = p.versions().join("rev_4.sql");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("INTO nowhere", "INTO t4")).unwrap();
        let r = p.ok(&["upgrade", "head"]);
        assert!(
            r.stderr.contains("INFO  Resuming revision rev_4 at line 7: an earlier run applied its first 1 statement (the journal records it)\n\
                 INFO  Running the statement at line 7: INSERT INTO t4 VALUES (1)\n"),
            "{r}"
        );
        assert_eq!(db.rows("SELECT id FROM t4"), ["1"]);
        assert_eq!(db.version_rows(), ["rev_4"]);
        return;
    }
    // rev_1 and rev_2 committed; rev_3 shared rev_4's transaction and is gone too.
    assert_eq!(
        db.all_tables(),
        ["aludel_version", "aludel_version_journal", "items"],
        "{r}"
    );
    assert_eq!(db.version_rows(), ["rev_2"], "{r}");
    assert!(
        r.stderr.contains("the database is at rev_2"),
        "the message must say where the database is:\n{r}"
    );
    // Each Finished line says whether the revision is committed yet: rev_1 and rev_3
    // waited on the run's transaction, rev_2 committed statement by statement.
    let finished = |rev: &str| -> String {
        r.stderr
            .lines()
            .find(|l| l.contains("Finished upgrade") && l.contains(&format!("-> {rev} (")))
            .unwrap_or_else(|| panic!("no Finished line for {rev}:\n{r}"))
            .to_string()
    };
    assert!(
        finished("rev_1").ends_with(", to be committed with the run"),
        "{r}"
    );
    assert!(finished("rev_2").ends_with("([ms])"), "{r}");
    assert!(
        finished("rev_3").ends_with(", to be committed with the run"),
        "{r}"
    );
}

on_all!(
    whole_run_failure_after_a_non_transactional_revision,
    non_transactional_revision_per_migration,
    non_transactional_revision_whole_run,
    non_transactional_failure_per_migration,
    non_transactional_failure_whole_run,
);
