//! A revision that fails in the middle of a run: what the error says, what each
//! transaction policy leaves behind, and that a fixed file resumes the run. On
//! MariaDB, whose DDL commits by itself, there is no transaction to roll back under
//! either policy: the failing revision's statements before the failure stay applied,
//! recorded in the journal, and the re-run resumes at the failed statement.

use aludel_testkit::{Backend, Db, DbProject, Rev, TestProject, linear_revs, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

const BAD: &str = "INSERT INTO missing_table (id) VALUES (1)";

/// The line of [`BAD`] in the third of [`five_with_a_bad_third`].
const BAD_LINE: usize = 7;

/// Five revisions; the third creates `t3`, then inserts into a table that does not
/// exist. Returns the line of the failing statement in the third file.
fn five_with_a_bad_third(p: &TestProject) -> usize {
    let mut revs = linear_revs(5);
    revs[2] = revs[2].clone().sql(
        &format!("CREATE TABLE t3 (id int);\n{BAD};"),
        "DROP TABLE t3;",
    );
    for r in &revs {
        p.write_rev(r);
    }
    let text = std::fs::read_to_string(p.versions().join("rev_3.sql")).unwrap();
    let line = text.lines().position(|l| l.starts_with(BAD)).unwrap() + 1;
    assert_eq!(line, BAD_LINE);
    line
}

/// Fixes the third revision: on SQLite and PostgreSQL, whose failed revision left
/// nothing, by rewriting it; on MariaDB, whose first statement stayed applied, by
/// correcting the failed statement alone, as the message asks.
fn fix_third(p: &TestProject, backend: Backend) {
    match backend {
        Backend::Mysql => {
            let path = p.versions().join("rev_3.sql");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(BAD, "INSERT INTO t3 (id) VALUES (1)")).unwrap();
        }
        Backend::Sqlite | Backend::Postgres => {
            p.write_rev(&linear_revs(5)[2]);
        }
    }
}

/// What MariaDB's message says of a third revision that failed at `line` with its
/// first statement applied, the version table at rev_2.
fn applied_and_journaled(line: usize) -> String {
    format!(
        "statement 1 of this revision's 2 (before line {line}) was applied (this database commits DDL immediately) \
         and is recorded in the journal `aludel_version_journal`; the version table is at rev_2: \
         fix the revision and run the command again; the re-run resumes at line {line}"
    )
}

/// On MariaDB: what the failed third revision left (its first statement applied, the
/// version table at rev_2), then the fixed file resumes at the failed statement.
fn mysql_third_failed(p: &DbProject, r: &aludel_testkit::Run, line: usize) {
    assert!(r.stderr.contains(&applied_and_journaled(line)), "{r}");
    assert_eq!(p.db().tables(), ["aludel_version", "t1", "t2", "t3"], "{r}");
    assert_eq!(p.db().version_rows(), ["rev_2"]);
    assert_eq!(p.ok(&["current"]).stdout, "rev_2\n");
    resume_after_fix(p, p.db(), 3);
}

/// The error names the revision, the file and line, the statement and the database's
/// own message.
fn assert_names_the_failure(backend: Backend, stderr: &str, line: usize) {
    assert!(
        stderr.contains("upgrade of revision rev_3 failed (create t3)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("[PROJECT]/migrations/versions/rev_3.sql:{line}")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("statement: {BAD}")), "{stderr}");
    let db_text = match backend {
        Backend::Sqlite => "no such table: missing_table",
        Backend::Postgres => "relation \"missing_table\" does not exist",
        Backend::Mysql => "Table '[DB].missing_table' doesn't exist",
    };
    assert!(stderr.contains(db_text), "{stderr}");
}

fn resume_after_fix(p: &TestProject, db: &Db, first_to_run: usize) {
    fix_third(p, db.backend());
    let r = p.ok(&["upgrade", "head"]);
    if db.backend() == Backend::Mysql {
        let line = BAD_LINE;
        assert!(
            r.stderr.contains(&format!(
                "INFO  Resuming revision rev_3 at line {line}: an earlier run applied its first 1 statement (the journal records it)\n\
                 INFO  Running the statement at line {line}: INSERT INTO t3 (id) VALUES (1)\n"
            )),
            "{r}"
        );
        assert_eq!(db.rows("SELECT id FROM t3"), ["1"]);
    }
    for i in 1..=5 {
        let line = format!("Running upgrade {}rev_{i},", prev(i));
        assert_eq!(
            r.stderr.contains(&line),
            i >= first_to_run,
            "revision {i} ran (or not) unexpectedly:\n{r}"
        );
    }
    assert_eq!(
        db.tables(),
        ["aludel_version", "t1", "t2", "t3", "t4", "t5"]
    );
    assert_eq!(db.version_rows(), ["rev_5"]);
    assert_eq!(p.ok(&["current"]).stdout, "rev_5 (head)\n");
}

/// What precedes revision `i` in its progress line: `rev_{i-1} -> `, or ` -> ` for the
/// root (Alembic writes `Running upgrade  -> rev_1`).
fn prev(i: usize) -> String {
    if i == 1 {
        " -> ".to_string()
    } else {
        format!("rev_{} -> ", i - 1)
    }
}

fn third_of_five_fails_per_migration(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    let line = five_with_a_bad_third(&p);
    let r = p.fails(&["upgrade", "head"]);
    assert_names_the_failure(backend, &r.stderr, line);
    if backend == Backend::Mysql {
        return mysql_third_failed(&p, &r, line);
    }
    assert!(
        r.stderr
            .contains("the revision was rolled back: the database is at rev_2"),
        "{r}"
    );
    // Revisions 1 and 2 committed; nothing of 3 remains, not even its good statement.
    assert_eq!(db.tables(), ["aludel_version", "t1", "t2"]);
    assert_eq!(db.version_rows(), ["rev_2"]);
    assert_eq!(p.ok(&["current"]).stdout, "rev_2\n");
    resume_after_fix(&p, db, 3);
}

fn third_of_five_fails_whole_run_from_empty(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "transaction_per_migration", "false");
    let line = five_with_a_bad_third(&p);
    let before = db.tables();
    assert!(before.is_empty(), "{before:?}");
    let r = p.fails(&["upgrade", "head"]);
    assert_names_the_failure(backend, &r.stderr, line);
    if backend == Backend::Mysql {
        // No run-wide transaction there: rev_1 and rev_2 are committed and recorded.
        return mysql_third_failed(&p, &r, line);
    }
    assert!(
        r.stderr
            .contains("the whole run was rolled back: the database is as before, at <base>"),
        "{r}"
    );
    // All or nothing: no table of any revision, no version row.
    assert_eq!(db.tables(), before, "{r}");
    assert_eq!(p.ok(&["current"]).stdout, "");
    resume_after_fix(&p, db, 1);
}

fn third_of_five_fails_whole_run_from_an_applied_revision(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "transaction_per_migration", "false");
    let line = five_with_a_bad_third(&p);
    p.ok(&["upgrade", "rev_1"]);
    assert_eq!(db.tables(), ["aludel_version", "t1"]);
    let r = p.fails(&["upgrade", "head"]);
    assert_names_the_failure(backend, &r.stderr, line);
    if backend == Backend::Mysql {
        return mysql_third_failed(&p, &r, line);
    }
    assert!(
        r.stderr
            .contains("the whole run was rolled back: the database is as before, at rev_1"),
        "{r}"
    );
    assert_eq!(db.tables(), ["aludel_version", "t1"]);
    assert_eq!(db.version_rows(), ["rev_1"]);
    resume_after_fix(&p, db, 2);
}

/// A stamped database (version row without the tables) keeps its row when a whole run
/// fails.
fn whole_run_failure_keeps_stamped_rows(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.set_option("aludel", "transaction_per_migration", "false");
    five_with_a_bad_third(&p);
    p.ok(&["stamp", "rev_1"]);
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("rev_3"), "{r}");
    if backend == Backend::Mysql {
        // rev_2 is committed and recorded over the stamped row; rev_3 stopped halfway.
        assert!(r.stderr.contains(&applied_and_journaled(BAD_LINE)), "{r}");
        assert_eq!(db.tables(), ["aludel_version", "t2", "t3"]);
        assert_eq!(db.version_rows(), ["rev_2"]);
        return;
    }
    assert_eq!(db.tables(), ["aludel_version"]);
    assert_eq!(db.version_rows(), ["rev_1"]);
}

/// A failure in the first statement of a later run does not touch what an earlier run
/// committed, and the failing revision's id is in the message even when its message is
/// empty.
fn failure_of_a_revision_without_message(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.write_rev(&Rev::new("only", &[], "").sql(&format!("{BAD};"), ""));
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains("upgrade of revision only failed\n"),
        "{r}"
    );
    assert!(r.stderr.contains("only.sql:"), "{r}");
    assert_eq!(p.ok(&["current"]).stdout, "");
    let _ = db;
}

/// A downgrade failing in the middle stops there: the revisions above it are reverted,
/// it is rolled back, and the error names it the same way.
fn downgrade_failing_in_the_middle(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    let mut revs = linear_revs(5);
    revs[2] = revs[2].clone().sql(
        "CREATE TABLE t3 (id int);",
        &format!("DROP TABLE t3;\n{BAD};"),
    );
    for r in &revs {
        p.write_rev(r);
    }
    p.ok(&["upgrade", "head"]);
    let r = p.fails(&["downgrade", "base"]);
    assert!(
        r.stderr
            .contains("downgrade of revision rev_3 failed (create t3)"),
        "{r}"
    );
    assert!(r.stderr.contains(&format!("statement: {BAD}")), "{r}");
    if backend == Backend::Mysql {
        // Its DROP TABLE committed; the version table stays at rev_3.
        assert!(
            r.stderr.contains(
                "statement 1 of this revision's 2 (before line 10) was applied (this database commits DDL immediately) \
                 and is recorded in the journal `aludel_version_journal`; the version table is at rev_3"
            ),
            "{r}"
        );
        assert_eq!(db.tables(), ["aludel_version", "t1", "t2"]);
    } else {
        assert!(r.stderr.contains("the database is at rev_3"), "{r}");
        assert_eq!(db.tables(), ["aludel_version", "t1", "t2", "t3"]);
    }
    assert_eq!(db.version_rows(), ["rev_3"]);
}

/// A multi-line statement failing with a database error that has a detail line: the
/// line is where the statement starts, and the detail is kept.
fn constraint_violation_keeps_the_database_detail(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.write_rev(&Rev::new("rev_1", &[], "keys").sql(
        "CREATE TABLE k (id int PRIMARY KEY);\nINSERT INTO k (id)\n    VALUES (1);\nINSERT INTO k (id)\n    VALUES (1);",
        "DROP TABLE k;",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("rev_1.sql:8\n"), "{r}");
    assert!(
        r.stderr
            .contains("statement: INSERT INTO k (id)\n              VALUES (1)"),
        "{r}"
    );
    match backend {
        Backend::Postgres => {
            assert!(
                r.stderr
                    .contains("duplicate key value violates unique constraint \"k_pkey\""),
                "{r}"
            );
            assert!(
                r.stderr.contains("DETAIL: Key (id)=(1) already exists."),
                "{r}"
            );
        }
        Backend::Sqlite => assert!(r.stderr.contains("UNIQUE constraint failed: k.id"), "{r}"),
        // MariaDB names the key `PRIMARY`, MySQL 8 and later `k.PRIMARY`.
        Backend::Mysql => assert!(
            r.stderr.contains("Duplicate entry '1' for key 'PRIMARY'")
                || r.stderr.contains("Duplicate entry '1' for key 'k.PRIMARY'"),
            "{r}"
        ),
    }
    if backend == Backend::Mysql {
        // The table and its first row stay, recorded in the journal.
        assert!(
            r.stderr
                .contains("statements 1-2 of this revision's 3 (before line 8) were applied"),
            "{r}"
        );
        assert_eq!(db.rows("SELECT id FROM k"), ["1"], "{r}");
        assert!(db.version_rows().is_empty(), "{r}");
        return;
    }
    assert!(db.tables().is_empty(), "{r}");
}

/// A revision's statements may reach the database together (PostgreSQL gets them in one
/// round trip): the failing one is still named, whatever comes before it (rows returned,
/// a trailing line comment) and after it, and nothing of the revision remains.
fn the_failing_statement_among_many_is_named(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.write_rev(
        &Rev::new("rev_1", &[], "first").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"),
    );
    p.write_rev(&Rev::new("rev_2", &["rev_1"], "many").sql(
        "CREATE TABLE t2 (id int); -- a trailing comment\nSELECT 1;\nINSERT INTO t2 (id) VALUES (1) -- no semicolon on this line\n;\nINSERT INTO missing_table (id)\n    VALUES (2);\nCREATE TABLE t3 (id int);",
        "DROP TABLE t3;\nDROP TABLE t2;",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains("upgrade of revision rev_2 failed (many)"),
        "{r}"
    );
    let text = std::fs::read_to_string(p.versions().join("rev_2.sql")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("INSERT INTO missing_table"))
        .unwrap()
        + 1;
    assert!(r.stderr.contains(&format!("rev_2.sql:{line}\n")), "{r}");
    assert!(
        r.stderr
            .contains("statement: INSERT INTO missing_table (id)\n              VALUES (2)"),
        "{r}"
    );
    if backend == Backend::Mysql {
        // One statement at a time there: the three before it stay applied.
        assert!(
            r.stderr.contains(&format!(
                "statements 1-3 of this revision's 5 (before line {line}) were applied"
            )),
            "{r}"
        );
        assert_eq!(db.tables(), ["aludel_version", "t1", "t2"], "{r}");
        assert_eq!(db.rows("SELECT id FROM t2"), ["1"], "{r}");
    } else {
        assert_eq!(db.tables(), ["aludel_version", "t1"], "{r}");
    }
    assert_eq!(db.version_rows(), ["rev_1"], "{r}");
}

/// A syntax error stops a batch before anything in it runs: the statement is still
/// named by where the database points, not taken for the first.
fn a_syntax_error_among_many_statements_is_named(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("rev_1", &[], "typo").sql(
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABEL c (id int);\nCREATE TABLE d (id int);",
        "",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("rev_1.sql:"), "{r}");
    assert!(
        r.stderr.contains("statement: CREATE TABEL c (id int)"),
        "{r}"
    );
    let tables = p.db().tables();
    // On MariaDB the statements before it ran one by one and stay applied.
    let applied: &[&str] = match backend {
        Backend::Mysql => &["a", "b"],
        Backend::Sqlite | Backend::Postgres => &[],
    };
    assert_eq!(
        tables
            .iter()
            .filter(|t| ["a", "b", "c", "d"].contains(&t.as_str()))
            .collect::<Vec<_>>(),
        applied,
        "{r}"
    );
    if backend == Backend::Mysql {
        assert!(r.stderr.contains("rev_1.sql:7\n"), "{r}");
        assert!(
            r.stderr
                .contains("statements 1-2 of this revision's 4 (before line 7) were applied"),
            "{r}"
        );
    }
}

/// A 5 MB statement is named by its first characters and its length, not echoed whole;
/// a control character in it reaches the terminal escaped.
fn a_huge_failing_statement_is_cut(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let filler = "x".repeat(5_000_000);
    p.write_rev(&Rev::new("rev_1", &[], "huge").sql(
        &format!("INSERT INTO missing_table (id, note) VALUES (1, '\u{1b}[2J{filler}');"),
        "",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.len() < 3_000,
        "{} bytes:\n{}",
        r.stderr.len(),
        &r.stderr[..3_000]
    );
    assert!(!r.stderr.contains('\u{1b}'), "{r}");
    assert!(
        r.stderr.contains(&format!(
            "statement: INSERT INTO missing_table (id, note) VALUES (1, '\\u{{1b}}[2J{}… (5000055 bytes, cut)\n",
            &filler[..300 - 49 - 4]
        )),
        "{r}"
    );
    let db_text = match backend {
        Backend::Sqlite => "no such table: missing_table",
        Backend::Postgres => "relation \"missing_table\" does not exist",
        Backend::Mysql => "Table '[DB].missing_table' doesn't exist",
    };
    assert!(r.stderr.contains(db_text), "{r}");
}

on_all!(
    a_huge_failing_statement_is_cut,
    failure_of_a_revision_without_message,
);

on_all!(
    a_syntax_error_among_many_statements_is_named,
    the_failing_statement_among_many_is_named,
    downgrade_failing_in_the_middle,
    constraint_violation_keeps_the_database_detail,
    third_of_five_fails_per_migration,
    third_of_five_fails_whole_run_from_empty,
    third_of_five_fails_whole_run_from_an_applied_revision,
    whole_run_failure_keeps_stamped_rows,
);

/// `BEGIN`/`COMMIT` inside a transactional revision would commit half of it: refused before
/// anything runs, naming the file and line and what to do instead. MariaDB runs no
/// revision in a transaction: there the file runs.
fn transaction_control_in_a_transactional_revision_is_refused(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("tc1", &[], "first").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    p.write_rev(&Rev::new("tc2", &["tc1"], "commits midway").sql(
        "CREATE TABLE t_a (id int);\nBEGIN;\nCREATE TABLE t_b (id int);\nCOMMIT;",
        "DROP TABLE t_b;\nDROP TABLE t_a;",
    ));
    if backend == Backend::Mysql {
        // No revision runs in a transaction there: the file runs as written, as it
        // does elsewhere once marked `transaction false`.
        p.ok(&["upgrade", "head"]);
        assert_eq!(p.db().tables(), ["aludel_version", "t1", "t_a", "t_b"]);
        assert_eq!(p.db().version_rows(), ["tc2"]);
        return;
    }
    let run = p.fails(&["upgrade", "head"]);
    assert!(
        run.stderr
            .contains("[PROJECT]/migrations/versions/tc2.sql:7: BEGIN in revision tc2"),
        "{run}"
    );
    assert!(run.stderr.contains("-- aludel:transaction false"), "{run}");
    assert!(
        p.db().tables().is_empty(),
        "nothing ran: {:?}",
        p.db().tables()
    );
    // Marked as running outside a transaction, the same file applies.
    p.write_rev(
        &Rev::new("tc2", &["tc1"], "commits midway")
            .header("transaction", "false")
            .sql(
                "CREATE TABLE t_a (id int);\nBEGIN;\nCREATE TABLE t_b (id int);\nCOMMIT;",
                "DROP TABLE t_b;\nDROP TABLE t_a;",
            ),
    );
    p.ok(&["upgrade", "head"]);
    assert_eq!(p.db().version_rows(), ["tc2"]);
}

on_all!(transaction_control_in_a_transactional_revision_is_refused,);

/// The version rows are checked before each revision commits: a revision (or
/// anything else) that changes the table behind the run's back stops the run, and
/// the revision is rolled back, instead of leaving rows that say something untrue. On
/// MariaDB the revision's statements stay applied, and the message does not claim
/// where the table is now.
fn a_version_table_changed_behind_the_run_stops_it(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("vt1", &[], "first").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    p.write_rev(&Rev::new("vt2", &["vt1"], "tampers").sql(
        "CREATE TABLE t2 (id int);\nDELETE FROM aludel_version;",
        "DROP TABLE t2;",
    ));
    let run = p.fails(&["upgrade", "head"]);
    assert!(
        run.stderr.contains(
            "holds no rows where this run expects vt2: something other than this run changed it"
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("upgrade of revision vt2 failed"),
        "{run}"
    );
    // aludel's own finding, not the database's error, and called so.
    assert!(run.stderr.contains("check: the version table"), "{run}");
    assert!(!run.stderr.contains("database error"), "{run}");
    if p.backend() == Backend::Mysql {
        // Nothing to roll back there: the revision's statements committed one by one,
        // its DELETE too. The message says so, and claims only where the table was.
        assert!(
            run.stderr.contains(
                "all 2 statements of this revision were applied (this database commits DDL immediately), \
                 but the revision is not recorded; the version table was at vt1 before it: \
                 check the database, then set the version table with `aludel stamp`"
            ),
            "{run}"
        );
        assert_eq!(p.db().version_rows(), [] as [&str; 0], "{run}");
        assert!(p.db().tables().contains(&"t2".to_string()), "{run}");
        return;
    }
    assert_eq!(p.db().version_rows(), ["vt1"], "{run}");
    assert!(!p.db().tables().contains(&"t2".to_string()), "{run}");
}

on_all!(a_version_table_changed_behind_the_run_stops_it,);

/// A row added to the version table behind the run stops it at that revision too.
/// On MariaDB/MySQL the revision's row is moved in a transaction that commits in the
/// same round trip as the server's count of the rows it found, so the extra row is
/// found just after: the message says the revision is recorded, and the run goes no
/// further. Elsewhere the revision is rolled back.
fn a_row_added_to_the_version_table_behind_the_run_stops_it(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("vt1", &[], "first").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    p.write_rev(&Rev::new("vt2", &["vt1"], "adds a row").sql(
        "CREATE TABLE t2 (id int);\nINSERT INTO aludel_version (version_num) VALUES ('zz');",
        "DROP TABLE t2;",
    ));
    p.write_rev(
        &Rev::new("vt3", &["vt2"], "after").sql("CREATE TABLE t3 (id int);", "DROP TABLE t3;"),
    );
    let run = p.fails(&["upgrade", "head"]);
    assert!(
        run.stderr.contains(
            "holds vt2, zz where this run expects vt2: something other than this run changed it"
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("upgrade of revision vt2 failed"),
        "{run}"
    );
    assert!(!p.db().tables().contains(&"t3".to_string()), "{run}");
    if p.backend() == Backend::Mysql {
        assert!(
            run.stderr.contains(
                "all 2 statements of this revision were applied (this database commits DDL immediately) \
                 and the version table records it, but it also holds rows this run did not write"
            ),
            "{run}"
        );
        let mut rows = p.db().version_rows();
        rows.sort();
        assert_eq!(rows, ["vt2", "zz"], "{run}");
        return;
    }
    assert_eq!(p.db().version_rows(), ["vt1"], "{run}");
    assert!(!p.db().tables().contains(&"t2".to_string()), "{run}");
}

on_all!(a_row_added_to_the_version_table_behind_the_run_stops_it,);

/// PostgreSQL takes no NUL in SQL text; the statement that holds one is named, not the
/// one before it.
#[test]
fn a_nul_byte_is_blamed_on_its_own_statement() {
    let db = aludel_testkit::PgDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    p.write_rev(&Rev::new("r1", &[], "nul").sql(
        "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nSELECT 'a\0b';",
        "DROP TABLE a;",
    ));
    let text = std::fs::read_to_string(p.versions().join("r1.sql")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("SELECT 'a"))
        .unwrap()
        + 1;
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains(&format!("r1.sql:{line}\n"))
            && r.stderr.contains("statement: SELECT 'a\\u{0}b'")
            && r.stderr.contains("the statement contains a NUL character"),
        "{r}"
    );
    assert!(db.tables().is_empty(), "{:?}", db.tables());
}

/// The database, not the revision, refuses: it says so instead of asking to fix the
/// revision.
#[test]
fn a_read_only_database_is_said_to_be_read_only() {
    let db = aludel_testkit::PgDatabase::create();
    let url = format!(
        "{}?options=-c%20default_transaction_read_only%3Don",
        db.url()
    );
    let p = TestProject::new(BIN, Some(&url), "");
    for r in &linear_revs(1) {
        p.write_rev(r);
    }
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains("read-only transaction")
            && r.stderr
                .contains("the database accepts no writes (a read-only replica"),
        "{r}"
    );
    assert!(!r.stderr.contains("fix the revision"), "{r}");
}

/// A full database is the database's problem, not the revision's: SQLite's own "full"
/// (here its page limit, the same error as a full disk) says so.
#[test]
fn a_full_database_is_said_to_be_out_of_space() {
    let p = TestProject::new(BIN, Some("sqlite:///full.db"), "");
    p.write_rev(&Rev::new("r1", &[], "fill").sql(
        "PRAGMA max_page_count = 8;\nCREATE TABLE big (x blob);\nINSERT INTO big SELECT randomblob(100000);",
        "DROP TABLE big;",
    ));
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains("database or disk is full")
            && r.stderr
                .contains("the database ran out of a resource (disk space"),
        "{r}"
    );
    assert!(!r.stderr.contains("fix the revision"), "{r}");
}
