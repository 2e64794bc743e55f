//! Revisions whose statements commit one by one (every revision on MariaDB, whose DDL
//! commits by itself; `-- aludel:transaction false` ones on PostgreSQL and SQLite):
//! a failure in the middle leaves the applied statements recorded in the journal, the
//! version table at the last whole revision, and a message saying what is left; the
//! re-run resumes after them once the cause is fixed.

use aludel_testkit::{Backend, DbProject, Rev, filter};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// The three databases, each as a project whose revisions run statement by statement.
#[derive(Debug, Clone, Copy)]
enum On {
    Mariadb,
    Postgres,
    Sqlite,
}

impl On {
    fn project(self) -> DbProject {
        match self {
            On::Mariadb => DbProject::mysql(BIN, ""),
            On::Postgres => DbProject::new(BIN, Backend::Postgres, ""),
            On::Sqlite => DbProject::new(BIN, Backend::Sqlite, ""),
        }
    }

    /// A revision of five statements, the third being `third`.
    fn five(self, third: &str) -> Rev {
        let rev = Rev::new("rev_1", &[], "five statements").sql(
            &format!(
                "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);\n{third}\nCREATE TABLE t4 (id int);\nINSERT INTO t1 VALUES (1);"
            ),
            "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
        );
        match self {
            // Every revision commits statement by statement there.
            On::Mariadb => rev,
            On::Postgres | On::Sqlite => rev.header("transaction", "false"),
        }
    }
}

/// The journal's table as aludel makes it, for a test that makes it first (to put a
/// trigger on it).
fn journal_table(on: On) -> String {
    let dialect = match on {
        On::Mariadb => aludel::url::Dialect::Mysql,
        On::Postgres => aludel::url::Dialect::Postgres,
        On::Sqlite => aludel::url::Dialect::Sqlite,
    };
    aludel::render::Journal::of(&aludel::render::VersionTable {
        name: "aludel_version".into(),
        schema: None,
        dialect,
    })
    .create()
}

/// The tables a test made (the version table and its journal left out).
fn user_tables(p: &DbProject) -> Vec<String> {
    p.db()
        .tables()
        .into_iter()
        .filter(|t| !t.starts_with("aludel_version"))
        .collect()
}

/// The database's own error text differs between databases: the snapshots keep
/// aludel's words and the database's first word.
fn without_database_message(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("database error: ") {
            Some(at) => format!("{}database error: [...]", &l[..at]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Runs the five-statement revision with a third statement that fails, then puts a
/// working one in its place.
fn stopped_at_the_third_then_fixed(p: &DbProject, on: On) {
    let path = p.write_rev(&on.five("INSERT INTO nope VALUES (1);"));
    p.fails(&["upgrade", "head"]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("INSERT INTO nope VALUES (1);", "CREATE TABLE t3 (id int);"),
    )
    .unwrap();
}

fn a_failure_in_the_middle_resumes_after_the_applied_statements(on: On) {
    let p = on.project();
    let path = p.write_rev(&on.five("INSERT INTO nope VALUES (1);"));
    let failed = p.fails(&["upgrade", "head"]);
    // The state the message describes: two statements applied, recorded; no version row.
    assert_eq!(user_tables(&p), ["t1", "t2"]);
    assert_eq!(p.db().version_rows(), Vec::<String>::new());
    assert_eq!(
        p.db()
            .rows("SELECT revision, direction, statement_index FROM aludel_version_journal"),
        ["rev_1|upgrade|0", "rev_1|upgrade|1"]
    );

    // The cause fixed in the failed statement itself: the re-run resumes there.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("INSERT INTO nope VALUES (1);", "CREATE TABLE t3 (id int);"),
    )
    .unwrap();
    let resumed = p.ok(&["upgrade", "head"]);
    assert_eq!(user_tables(&p), ["t1", "t2", "t3", "t4"]);
    assert_eq!(p.db().rows("SELECT id FROM t1"), ["1"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
    assert_eq!(
        p.db().rows("SELECT count(*) FROM aludel_version_journal"),
        ["0"]
    );
    insta::assert_snapshot!(
        format!("a_failure_in_the_middle_resumes_{on:?}"),
        format!(
            "$ aludel upgrade head\n{}$ aludel upgrade head\n{}",
            without_database_message(&filter(&failed.stderr, p.path())),
            filter(&resumed.stderr, p.path())
        )
    );

    // And back down, whole.
    p.ok(&["downgrade", "base"]);
    assert_eq!(user_tables(&p), Vec::<String>::new());
}

#[test]
fn a_failure_in_the_middle_resumes_on_mariadb() {
    a_failure_in_the_middle_resumes_after_the_applied_statements(On::Mariadb);
}

#[test]
fn a_failure_in_the_middle_resumes_on_postgres() {
    a_failure_in_the_middle_resumes_after_the_applied_statements(On::Postgres);
}

#[test]
fn a_failure_in_the_middle_resumes_on_sqlite() {
    a_failure_in_the_middle_resumes_after_the_applied_statements(On::Sqlite);
}

/// A statement the journal records as applied that the file changed since: the re-run
/// stops before sending anything, and says how to go on.
fn an_applied_statement_changed_since_stops_the_rerun(on: On) {
    let p = on.project();
    let path = p.write_rev(&on.five("INSERT INTO nope VALUES (1);"));
    p.fails(&["upgrade", "head"]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("CREATE TABLE t2 (id int);", "CREATE TABLE t2 (id bigint);")
            .replace("INSERT INTO nope VALUES (1);", "CREATE TABLE t3 (id int);"),
    )
    .unwrap();
    let refused = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(
        format!("an_applied_statement_changed_since_{on:?}"),
        filter(&refused.stderr, p.path())
    );
    assert_eq!(user_tables(&p), ["t1", "t2"]);
    assert_eq!(p.db().version_rows(), Vec::<String>::new());

    // `stamp` says where the database is: the journal is forgotten.
    p.ok(&["stamp", "rev_1"]);
    assert_eq!(
        p.db().rows("SELECT count(*) FROM aludel_version_journal"),
        ["0"]
    );
}

#[test]
fn an_applied_statement_changed_since_stops_the_rerun_on_mariadb() {
    an_applied_statement_changed_since_stops_the_rerun(On::Mariadb);
}

#[test]
fn an_applied_statement_changed_since_stops_the_rerun_on_sqlite() {
    an_applied_statement_changed_since_stops_the_rerun(On::Sqlite);
}

/// The journal is not part of the schema `check` compares.
#[test]
fn check_leaves_the_journal_out() {
    let p = On::Sqlite.project();
    stopped_at_the_third_then_fixed(&p, On::Sqlite);
    p.ok(&["upgrade", "head"]);
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);\nCREATE TABLE t3 (id int);\nCREATE TABLE t4 (id int);\n",
    )
    .unwrap();
    p.ok(&["check"]);
}

/// The everyday commands on MariaDB: up, where it is, history, down, stamp; and a run
/// that finds the lock taken waits, then names who holds it.
#[test]
fn the_everyday_commands_run_on_mariadb() {
    let p = DbProject::mysql(BIN, "");
    for rev in aludel_testkit::linear_revs(3) {
        p.write_rev(&rev);
    }
    p.ok(&["upgrade", "head"]);
    assert_eq!(user_tables(&p), ["t1", "t2", "t3"]);
    assert_eq!(p.ok(&["current"]).stdout, "rev_3 (head)\n");
    let history = p.ok(&["history"]).stdout;
    assert!(
        history.starts_with("rev_2 -> rev_3 (head), create t3\n"),
        "{history}"
    );
    p.ok(&["downgrade", "-1"]);
    assert_eq!(user_tables(&p), ["t1", "t2"]);
    assert_eq!(p.db().version_rows(), ["rev_2"]);
    p.ok(&["stamp", "rev_1"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
    p.ok(&["stamp", "--purge", "rev_2"]);
    assert_eq!(p.ok(&["current"]).stdout, "rev_2\n");

    // Another session holds the run lock: the run waits, then gives up naming it.
    let holder = crate::hold_mysql_run_lock(p.db().mysql().unwrap());
    let holder_id = holder.connection_id();
    p.set_option("connect", "lock_timeout_seconds", "1");
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains(&format!(
            "waiting for the migration lock held by connection {holder_id} (root@"
        )),
        "{r}"
    );
    drop(holder);
    p.ok(&["upgrade", "head"]);
    assert_eq!(p.db().version_rows(), ["rev_3"]);
}

/// aludel sends a journal row and the next statement in one round trip on MariaDB;
/// statements written with trailing comments (`--` and MySQL's `#`) still run one by
/// one, each journaled.
#[test]
fn statements_ending_in_comments_run_one_by_one_on_mariadb() {
    let p = DbProject::mysql(BIN, "");
    p.write_rev(&Rev::new("rev_1", &[], "comments").sql(
        "CREATE TABLE a (id int) -- makes a\n;\nCREATE TABLE b (id int) # makes b\n;\nCREATE TABLE c (id int);",
        "DROP TABLE c;\nDROP TABLE b;\nDROP TABLE a;",
    ));
    p.ok(&["upgrade", "head"]);
    assert_eq!(user_tables(&p), ["a", "b", "c"]);
    p.ok(&["downgrade", "base"]);
    assert_eq!(user_tables(&p), Vec::<String>::new());
}

/// Recording an applied statement in the journal fails: the message says that
/// statement was applied and is not recorded, and the re-run sends it again (here it
/// can run twice); nothing claims the journal holds what it does not.
#[test]
fn a_journal_that_cannot_be_written_is_said_so() {
    let p = On::Postgres.project();
    // The journal, made ahead of aludel, refusing the row of the second statement.
    p.db().execute(&journal_table(On::Postgres));
    p.db().execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           IF NEW.statement_index = 1 THEN RAISE EXCEPTION 'no room for row %', NEW.statement_index; END IF;
           RETURN NEW; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON aludel_version_journal FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    p.write_rev(
        &Rev::new("rev_1", &[], "four")
            .header("transaction", "false")
            .sql(
                "CREATE TABLE t1 (id int);\nCREATE TABLE IF NOT EXISTS t2 (id int);\nCREATE TABLE t3 (id int);\nCREATE TABLE t4 (id int);",
                "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
            ),
    );
    let failed = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(filter(&failed.stderr, p.path()));
    assert_eq!(user_tables(&p), ["t1", "t2"]);
    assert_eq!(
        p.db()
            .rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    p.db()
        .execute("DROP TRIGGER refuse ON aludel_version_journal");
    let resumed = p.ok(&["upgrade", "head"]);
    assert!(
        resumed.stderr.contains(
            "Resuming revision rev_1 at line 7: an earlier run applied its first 1 statement"
        ),
        "{resumed}"
    );
    assert_eq!(user_tables(&p), ["t1", "t2", "t3", "t4"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
}

/// On MariaDB a statement's journal row is written on the lock's session while the
/// next statement runs. When neither session can write it, both statements are
/// applied and unrecorded: the message says so, names where the re-run resumes, and
/// nothing claims the journal holds what it does not.
#[test]
fn a_journal_that_cannot_be_written_beside_the_next_statement_is_said_so_on_mariadb() {
    let p = On::Mariadb.project();
    // The journal, made ahead of aludel, refusing the row of the second statement.
    p.db().execute(&journal_table(On::Mariadb));
    p.db().execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON aludel_version_journal FOR EACH ROW \
         IF NEW.statement_index = 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no room for row 1'; END IF",
    );
    p.write_rev(&Rev::new("rev_1", &[], "four").sql(
        "CREATE TABLE t1 (id int);\nCREATE TABLE IF NOT EXISTS t2 (id int);\nCREATE TABLE IF NOT EXISTS t3 (id int);\nCREATE TABLE t4 (id int);",
        "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
    ));
    let failed = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(without_database_message(&filter(&failed.stderr, p.path())));
    assert!(failed.stderr.contains("no room for row 1"), "{failed}");
    assert_eq!(user_tables(&p), ["t1", "t2", "t3"]);
    assert_eq!(
        p.db()
            .rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    assert_eq!(p.db().version_rows(), Vec::<String>::new());
    p.db().execute("DROP TRIGGER refuse");
    let resumed = p.ok(&["upgrade", "head"]);
    assert!(
        resumed.stderr.contains(
            "Resuming revision rev_1 at line 6: an earlier run applied its first 1 statement"
        ),
        "{resumed}"
    );
    assert_eq!(user_tables(&p), ["t1", "t2", "t3", "t4"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
}

/// A revision above `rev_0` run on MariaDB with the journal refusing its second
/// statement's row from every session, while the third statement runs (a revision's
/// last goes in one request with its record). `rest` is the third statement and any
/// after it; `hold_version` also refuses every change to the version table.
fn third_beside_a_refused_row(rest: &str, hold_version: bool) -> (DbProject, String) {
    let p = On::Mariadb.project();
    p.write_rev(&Rev::new("rev_0", &[], "one").sql("CREATE TABLE t0 (id int);", "DROP TABLE t0;"));
    p.ok(&["upgrade", "head"]);
    p.db().execute(&journal_table(On::Mariadb));
    p.db().execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON aludel_version_journal FOR EACH ROW \
         IF NEW.statement_index = 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no room for row 1'; END IF",
    );
    if hold_version {
        p.db().execute(
            "CREATE TRIGGER hold BEFORE UPDATE ON aludel_version FOR EACH ROW \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'version table held'",
        );
    }
    p.write_rev(&Rev::new("rev_1", &["rev_0"], "beside a refused row").sql(
        &format!("CREATE TABLE t1 (id int);\nCREATE TABLE IF NOT EXISTS t2 (id int);\n{rest}"),
        "DROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
    ));
    let failed = p.fails(&["upgrade", "head"]);
    // Both causes are named: the journal's, and the statement's or the record's.
    assert!(failed.stderr.contains("no room for row 1"), "{failed}");
    let (other, why) = if hold_version {
        ("and recording the revision failed: ", "version table held)")
    } else {
        ("and the statement after it failed: ", "nope")
    };
    assert!(
        failed.stderr.contains(other) && failed.stderr.contains(why),
        "{failed}"
    );
    assert_eq!(
        p.db()
            .rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    assert_eq!(p.db().version_rows(), ["rev_0"]);
    p.db().execute("DROP TRIGGER refuse");
    if hold_version {
        p.db().execute("DROP TRIGGER hold");
    }
    let text = without_database_message(&filter(&failed.stderr, p.path()));
    (p, text)
}

/// [`third_beside_a_refused_row`] with a third statement that fails before a
/// fourth: only the second statement is applied and unrecorded, and the message says
/// so.
#[test]
fn a_statement_failing_beside_an_unwritable_journal_row_is_said_so_on_mariadb() {
    let (p, text) = third_beside_a_refused_row(
        "INSERT INTO nope VALUES (1);\nCREATE TABLE t3 (id int);",
        false,
    );
    insta::assert_snapshot!(text);
    fixed_then_resumed(&p, "INSERT INTO t1 VALUES (1);");
}

/// [`third_beside_a_refused_row`] with a last statement that fails: only the
/// second statement is applied and unrecorded, and the message says so.
#[test]
fn a_last_statement_failing_beside_an_unwritable_journal_row_is_said_so_on_mariadb() {
    let (p, text) = third_beside_a_refused_row("INSERT INTO nope VALUES (1);", false);
    insta::assert_snapshot!(text);
    fixed_then_resumed(&p, "CREATE TABLE t3 (id int);");
}

/// [`third_beside_a_refused_row`] with a last statement that is applied and
/// a record that fails: the second and third statements are applied and neither is
/// recorded, and the message says so.
#[test]
fn a_last_statement_applied_beside_an_unwritable_journal_row_and_record_is_said_so_on_mariadb() {
    let (p, text) = third_beside_a_refused_row("CREATE TABLE IF NOT EXISTS t3 (id int);", true);
    insta::assert_snapshot!(text);
    assert_eq!(user_tables(&p), ["t0", "t1", "t2", "t3"]);
    resumes_after_the_first(&p);
}

/// A failed statement of [`third_beside_a_refused_row`], which left the second
/// applied and unrecorded, replaced by `fix`; then [`resumes_after_the_first`].
fn fixed_then_resumed(p: &DbProject, fix: &str) {
    assert_eq!(user_tables(p), ["t0", "t1", "t2"]);
    let path = p.path().join("migrations/versions/rev_1.sql");
    let rev = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, rev.replace("INSERT INTO nope VALUES (1);", fix)).unwrap();
    resumes_after_the_first(p);
}

/// The re-run after [`third_beside_a_refused_row`], its causes gone: it
/// resumes after the one statement the journal records and completes the revision.
fn resumes_after_the_first(p: &DbProject) {
    let resumed = p.ok(&["upgrade", "head"]);
    assert!(
        resumed.stderr.contains(
            "Resuming revision rev_1 at line 7: an earlier run applied its first 1 statement"
        ),
        "{resumed}"
    );
    assert_eq!(user_tables(p), ["t0", "t1", "t2", "t3"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
    assert!(
        p.db()
            .rows("SELECT statement_index FROM aludel_version_journal")
            .is_empty()
    );
}

/// A procedure that returns rows, then fails (its `SELECT`, then an error), called by
/// the revision's second statement with `after` following it: the call is what
/// failed, the first statement is recorded, and nothing after the call ran.
fn a_call_returning_rows_then_failing_is_the_failure(after: &str) -> String {
    let p = On::Mariadb.project();
    p.write_rev(&Rev::new("rev_0", &[], "one").sql("CREATE TABLE t0 (id int);", "DROP TABLE t0;"));
    p.write_rev(&Rev::new("rev_1", &["rev_0"], "a procedure").sql(
        &format!(
            "CREATE PROCEDURE fill() BEGIN SELECT 1; INSERT INTO nope VALUES (1); END;\nCALL fill();{after}"
        ),
        "DROP PROCEDURE fill;",
    ));
    let failed = p.fails(&["upgrade", "head"]);
    assert_eq!(p.db().version_rows(), ["rev_0"]);
    assert_eq!(
        p.db()
            .rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    assert_eq!(user_tables(&p), ["t0"]);
    without_database_message(&filter(&failed.stderr, p.path()))
}

/// [`a_call_returning_rows_then_failing_is_the_failure`] as the revision's last
/// statement, which on MariaDB usually goes in one request with its record: never
/// "applied and not recorded".
#[test]
fn a_last_call_returning_rows_then_failing_is_the_failure_on_mariadb() {
    insta::assert_snapshot!(a_call_returning_rows_then_failing_is_the_failure(""));
}

/// [`a_call_returning_rows_then_failing_is_the_failure`] before another statement:
/// the error after the rows stops the run (the client library's own way of running
/// a statement reads its first result only, and passed it for success).
#[test]
fn a_call_returning_rows_then_failing_stops_the_run_on_mariadb() {
    insta::assert_snapshot!(a_call_returning_rows_then_failing_is_the_failure(
        "\nCREATE TABLE t2 (id int);"
    ));
}

/// When the lock's session cannot write a journal row, the working session writes it
/// after the statement: the run goes on as if nothing happened, and a failure further
/// on finds every applied statement recorded.
#[test]
fn a_journal_row_refused_beside_is_written_by_the_working_session_on_mariadb() {
    let p = On::Mariadb.project();
    let db = p.db().mysql().unwrap();
    let lock = crate::mysql_run_lock_name(db);
    db.execute(&journal_table(On::Mariadb));
    // Refused from the session that holds the run lock only.
    db.execute(&format!(
        "CREATE TRIGGER refuse BEFORE INSERT ON aludel_version_journal FOR EACH ROW \
         IF IS_USED_LOCK('{lock}') = CONNECTION_ID() THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not from the lock session'; END IF"
    ));
    p.write_rev(&On::Mariadb.five("CREATE TABLE t1 (id int);"));
    let failed = p.fails(&["upgrade", "head"]);
    assert!(
        failed.stderr.contains(
            "statements 1-2 of this revision's 5 (before line 7) were applied (this database commits DDL immediately) and are recorded in the journal"
        ),
        "{failed}"
    );
    assert!(
        !failed.stderr.contains("not from the lock session"),
        "{failed}"
    );
    assert_eq!(
        db.rows("SELECT statement_index FROM aludel_version_journal"),
        ["0", "1"]
    );
    p.write_rev(&On::Mariadb.five("CREATE TABLE t3 (id int);"));
    p.ok(&["upgrade", "head"]);
    assert_eq!(user_tables(&p), ["t1", "t2", "t3", "t4"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
    assert!(
        db.rows("SELECT statement_index FROM aludel_version_journal")
            .is_empty()
    );
}

/// The run lock's session ends while a statement runs (an administrator kills it),
/// and the working session, writing the statement's journal row in its place, loses
/// its connection after the server took the row: whether the row is written is not
/// known from here, so the run does not say it is not; it reconnects and says what it
/// reads. The re-run resumes after the statement.
#[test]
fn a_journal_row_whose_answer_is_lost_after_the_lock_is_not_said_unwritten_on_mariadb() {
    use aludel_testkit::faults::{Relay, RelayMode};
    let db = aludel_testkit::MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    let relay = Relay::to_test_mysql(RelayMode::CutAfter(
        "INSERT INTO `aludel_version_journal`",
        1,
    ));
    let p = aludel_testkit::TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    // The first statement outlasts a ping of the lock's session (every 5 s), which
    // finds it ended: its row is then the working session's to write.
    p.write_rev(&Rev::new("rev_1", &[], "two").sql(
        "CREATE TABLE t1 AS SELECT SLEEP(6) AS s;\nCREATE TABLE t2 (id int);",
        "DROP TABLE t2;\nDROP TABLE t1;",
    ));
    let child = p
        .command(&["upgrade", "head"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the statement runs.
    aludel_testkit::mysql_session_running(db.url(), db.name(), "CREATE TABLE t1");
    let holder = db.lock_holder(&lock).unwrap();
    db.execute(&format!("KILL CONNECTION {holder}"));
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("recording it in the journal"), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads <base>"),
        "{err}"
    );
    assert_eq!(
        db.rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    let resumed = p.ok(&["upgrade", "head"]);
    assert!(
        resumed.stderr.contains(
            "Resuming revision rev_1 at line 6: an earlier run applied its first 1 statement"
        ),
        "{resumed}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_1"]);
}

/// The lock's session cannot write the first statement's journal row, and the
/// working connection is cut as it writes the row instead: the first statement and
/// the one that ran beside the row are applied and neither is recorded. The message
/// says so (never that the journal records them), and the re-run, which resumes at
/// the first statement, says an earlier run may have applied it.
#[test]
fn a_journal_row_lost_with_the_working_connection_is_not_said_recorded_on_mariadb() {
    use aludel_testkit::faults::{Relay, RelayMode};
    let db = aludel_testkit::MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    db.execute(&journal_table(On::Mariadb));
    db.execute(&format!(
        "CREATE TRIGGER refuse BEFORE INSERT ON aludel_version_journal FOR EACH ROW \
         IF IS_USED_LOCK('{lock}') = CONNECTION_ID() THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not from the lock session'; END IF"
    ));
    // The first row's INSERT is the lock session's (refused); the second, the working
    // session's in its place, is cut before the server sees it.
    let relay = Relay::to_test_mysql(RelayMode::CutBefore(
        "INSERT INTO `aludel_version_journal`",
        2,
    ));
    let p = aludel_testkit::TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    p.write_rev(&On::Mariadb.five("CREATE TABLE t3 (id int);"));
    let failed = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(without_database_message(&filter(&failed.stderr, p.path())));
    let tables = |db: &aludel_testkit::MysqlDatabase| -> Vec<String> {
        db.tables()
            .into_iter()
            .filter(|t| !t.starts_with("aludel_version"))
            .collect()
    };
    assert_eq!(tables(&db), ["t1", "t2"]);
    assert!(
        db.rows("SELECT statement_index FROM aludel_version_journal")
            .is_empty()
    );
    assert!(db.rows("SELECT version_num FROM aludel_version").is_empty());
    db.execute("DROP TRIGGER refuse");
    let direct = aludel_testkit::TestProject::new(BIN, Some(db.url()), "");
    direct.write_rev(&On::Mariadb.five("CREATE TABLE t3 (id int);"));
    // The first statement fails as "already exists": the message cannot tell an
    // earlier run's from a database older than its migrations, and says both.
    let rerun = direct.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(
        "journal_row_lost_rerun",
        without_database_message(&filter(&rerun.stderr, direct.path()))
    );
    // Doing what each message says (record the statement the earlier run applied)
    // finishes the revision: the first, then the one that ran beside its row.
    let record = |stderr: &str| {
        let insert = stderr
            .lines()
            .find_map(|l| l.find("INSERT INTO").map(|at| l[at..].to_string()))
            .unwrap_or_else(|| panic!("no INSERT to record the statement: {stderr}"));
        db.execute(&insert);
    };
    record(&rerun.stderr);
    let second = direct.fails(&["upgrade", "head"]);
    assert!(
        second.stderr.contains(
            "an earlier run may have applied this statement and stopped before recording it"
        ),
        "{second}"
    );
    record(&second.stderr);
    direct.ok(&["upgrade", "head"]);
    assert_eq!(tables(&db), ["t1", "t2", "t3", "t4"]);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_1"]);
}

/// The same doubt over a revision of one statement, which the version table alone
/// records: the way out for an earlier run's statement is to stamp the revision (a
/// journal row for a revision's last statement would be refused by the re-run).
#[test]
fn an_earlier_runs_only_statement_is_recorded_by_stamping_on_mariadb() {
    let p = On::Mariadb.project();
    p.db().execute(&journal_table(On::Mariadb));
    p.db().execute("CREATE TABLE t1 (id int)");
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    let failed = p.fails(&["upgrade", "head"]);
    assert!(
        failed.stderr.contains(
            "or an earlier run, which made the journal, applied this statement and was stopped before recording it"
        ),
        "{failed}"
    );
    assert!(
        failed.stderr.contains(
            "If the database holds only what this statement makes of rev_1, the revision is complete: record it with `aludel stamp rev_1`"
        ),
        "{failed}"
    );
    assert!(!failed.stderr.contains("INSERT INTO"), "{failed}");
    p.ok(&["stamp", "rev_1"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
}

/// Runs the `INSERT` a failure gives to record a statement as applied.
#[track_caller]
fn record_as_told(p: &DbProject, stderr: &str) {
    let insert = stderr
        .split("to record it: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no INSERT to record the statement in:\n{stderr}"));
    p.db().execute(insert);
}

/// Once the version table records a revision, the next revision's first statement
/// failing as "already exists" may be an earlier run's, stopped (killed, or its
/// server crashed) after the statement committed and before anything recorded it:
/// the message says so beside the revision's own fault, with the way to record it
/// (a journal row; for a revision of one statement, a stamp). A crash test found the
/// state (`faults::after_an_innodb_server_crash_...`); it was told "fix the revision".
/// The same holds for `transaction false` revisions on PostgreSQL and SQLite.
fn an_earlier_runs_first_statement_after_a_recorded_revision_is_named(on: On) {
    let p = on.project();
    let one_by_one = |rev: Rev| match on {
        On::Mariadb => rev,
        On::Postgres | On::Sqlite => rev.header("transaction", "false"),
    };
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t0 (id int);", "DROP TABLE t0;"));
    p.ok(&["upgrade", "head"]);
    p.write_rev(&one_by_one(Rev::new("rev_2", &["rev_1"], "two").sql(
        "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);",
        "DROP TABLE t2;\nDROP TABLE t1;",
    )));
    p.write_rev(&one_by_one(
        Rev::new("rev_3", &["rev_2"], "three").sql("CREATE TABLE t3 (id int);", "DROP TABLE t3;"),
    ));
    // What a run stopped after rev_2's first statement leaves.
    p.db().execute("CREATE TABLE t1 (id int)");
    let failed = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(
        format!("an_earlier_runs_first_statement_after_a_recorded_revision_{on:?}"),
        without_database_message(&filter(&failed.stderr, p.path()))
    );
    record_as_told(&p, &failed.stderr);
    let resumed = p.ok(&["upgrade", "rev_2"]);
    assert!(
        resumed
            .stderr
            .contains("an earlier run applied its first 1 statement (the journal records it)"),
        "{resumed}"
    );
    // And a revision of one statement, which the version table alone records.
    p.db().execute("CREATE TABLE t3 (id int)");
    let failed = p.fails(&["upgrade", "head"]);
    assert!(
        failed.stderr.contains(
            "an earlier run may have applied this statement and been stopped before recording it (killed, or its server crashed): if the database has what it makes and nothing else of this revision, the revision is complete: record it with `aludel stamp rev_3`"
        ),
        "{failed}"
    );
    p.ok(&["stamp", "rev_3"]);
    assert_eq!(user_tables(&p), ["t0", "t1", "t2", "t3"]);
    assert_eq!(p.db().version_rows(), ["rev_3"]);
    // Not said where the run had applied a revision before the failing one: an
    // earlier run stops at the first revision a run sends.
    p.ok(&["downgrade", "rev_1"]);
    p.db().execute("CREATE TABLE t3 (id int)");
    let failed = p.fails(&["upgrade", "head"]);
    assert!(
        !failed.stderr.contains("an earlier run may have"),
        "{failed}"
    );
}

#[test]
fn an_earlier_runs_first_statement_after_a_recorded_revision_is_named_on_mariadb() {
    an_earlier_runs_first_statement_after_a_recorded_revision_is_named(On::Mariadb);
}

#[test]
fn an_earlier_runs_first_statement_after_a_recorded_revision_is_named_on_postgres() {
    an_earlier_runs_first_statement_after_a_recorded_revision_is_named(On::Postgres);
}

#[test]
fn an_earlier_runs_first_statement_after_a_recorded_revision_is_named_on_sqlite() {
    an_earlier_runs_first_statement_after_a_recorded_revision_is_named(On::Sqlite);
}

/// A statement applied by an earlier run that stopped before recording it fails as
/// "already exists" where the re-run resumes: the message says that may be why, and
/// how to record it.
#[test]
fn already_exists_where_the_rerun_resumes_says_how_to_record_it() {
    let p = On::Mariadb.project();
    stopped_at_the_third_then_fixed(&p, On::Mariadb);
    // As if an earlier run had sent it and died before the journal row.
    p.db().execute("CREATE TABLE t3 (id int)");
    let failed = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(without_database_message(&filter(&failed.stderr, p.path())));
    // Doing what it says finishes the revision.
    record_as_told(&p, &failed.stderr);
    p.ok(&["upgrade", "head"]);
    assert_eq!(user_tables(&p), ["t1", "t2", "t3", "t4"]);
    assert_eq!(p.db().version_rows(), ["rev_1"]);
}

/// A new revision's note says how revisions run on the project's database.
#[test]
fn a_new_revision_on_mariadb_says_its_statements_commit_one_by_one() {
    let p = DbProject::mysql(BIN, "");
    p.ok(&["revision", "-m", "first"]);
    let file = std::fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("-- This database commits each DDL statement by itself: a revision that fails halfway keeps the statements before, and the re-run resumes after them"),
        "{text}"
    );
    assert!(
        !text.contains("Each revision runs in one transaction"),
        "{text}"
    );
}

/// A revision stopped at its third of four statements (its downgrade undoes them one
/// by one, in reverse order) above `rev_0`; `third` is the failing statement.
fn half_applied_above_rev_0(p: &DbProject, on: On, downgrade: &str) {
    p.write_rev(
        &Rev::new("rev_0", &[], "first").sql("CREATE TABLE t0 (id int);", "DROP TABLE t0;"),
    );
    let rev = Rev::new("rev_1", &["rev_0"], "four").sql(
        "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);\nINSERT INTO nope VALUES (1);\nCREATE TABLE t4 (id int);",
        downgrade,
    );
    p.write_rev(&match on {
        On::Mariadb => rev,
        On::Postgres | On::Sqlite => rev.header("transaction", "false"),
    });
    p.fails(&["upgrade", "head"]);
    assert_eq!(user_tables(p), ["t0", "t1", "t2"]);
}

/// `downgrade -1` after an upgrade stopped halfway reverts what it applied, with the
/// last statements of the downgrade section (which undo the first ones of the
/// upgrade), and nothing else: the version table stays where it was and the journal
/// forgets the revision. A downgrade further goes on below it.
fn a_half_applied_revision_is_reverted_by_the_next_downgrade(on: On) {
    let p = on.project();
    let down = "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;";
    half_applied_above_rev_0(&p, on, down);
    let r = p.ok(&["downgrade", "-1"]);
    insta::assert_snapshot!(
        format!("half_applied_reverted_{on:?}"),
        filter(&r.stderr, p.path())
    );
    assert_eq!(user_tables(&p), ["t0"]);
    assert_eq!(p.db().version_rows(), ["rev_0"]);
    assert_eq!(
        p.db().rows("SELECT count(*) FROM aludel_version_journal"),
        ["0"]
    );

    half_applied_above_rev_0(&p, on, down);
    p.ok(&["downgrade", "base"]);
    assert_eq!(user_tables(&p), Vec::<String>::new());
    assert_eq!(p.db().version_rows(), Vec::<String>::new());
}

/// Where the downgrade section does not pair with the upgrade statement for
/// statement, what undoes the applied statements is not known: the downgrade is
/// refused before anything runs, naming the two ways out.
fn a_half_applied_revision_without_a_matching_downgrade_is_refused(on: On) {
    let p = on.project();
    half_applied_above_rev_0(&p, on, "DROP TABLE t4;\nDROP TABLE t1, t2, t3;");
    let r = p.fails(&["downgrade", "base"]);
    insta::assert_snapshot!(
        format!("half_applied_refused_{on:?}"),
        filter(&r.stderr, p.path()).replace("`aludel_version_journal`", "aludel_version_journal")
    );
    assert_eq!(user_tables(&p), ["t0", "t1", "t2"], "nothing ran");
    assert_eq!(p.db().version_rows(), ["rev_0"]);
}

#[test]
fn a_half_applied_revision_is_reverted_by_the_next_downgrade_on_mariadb() {
    a_half_applied_revision_is_reverted_by_the_next_downgrade(On::Mariadb);
}

#[test]
fn a_half_applied_revision_is_reverted_by_the_next_downgrade_on_postgres() {
    a_half_applied_revision_is_reverted_by_the_next_downgrade(On::Postgres);
}

#[test]
fn a_half_applied_revision_without_a_matching_downgrade_is_refused_on_mariadb() {
    a_half_applied_revision_without_a_matching_downgrade_is_refused(On::Mariadb);
}

#[test]
fn a_half_applied_revision_without_a_matching_downgrade_is_refused_on_sqlite() {
    a_half_applied_revision_without_a_matching_downgrade_is_refused(On::Sqlite);
}

/// The revert of a half-applied revision stopped halfway (its second statement finds
/// the table it drops gone by hand): the statement it applied is recorded in the
/// journal as the message says, and once the table is back the next `downgrade`
/// resumes after it. The revert leaves the version table's row where it is, which a
/// journal row written only while the step is unrecorded must not mistake for done.
fn a_half_applied_revert_stopped_halfway_resumes(on: On) {
    let p = on.project();
    half_applied_above_rev_0(
        &p,
        on,
        "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
    );
    p.db().execute("DROP TABLE t1");
    let failed = p.fails(&["downgrade", "-1"]);
    insta::assert_snapshot!(
        format!("half_applied_revert_stopped_{on:?}"),
        without_database_message(&filter(&failed.stderr, p.path()))
    );
    assert_eq!(user_tables(&p), ["t0"]);
    assert_eq!(p.db().version_rows(), ["rev_0"]);
    assert_eq!(
        p.db().rows(
            "SELECT direction, statement_index FROM aludel_version_journal ORDER BY direction, statement_index"
        ),
        ["downgrade|0", "upgrade|0", "upgrade|1"]
    );
    p.db().execute("CREATE TABLE t1 (id int)");
    let resumed = p.ok(&["downgrade", "-1"]);
    assert!(
        resumed
            .stderr
            .contains("an earlier run applied its first 1 statement"),
        "{resumed}"
    );
    assert_eq!(user_tables(&p), ["t0"]);
    assert_eq!(p.db().version_rows(), ["rev_0"]);
    assert_eq!(
        p.db().rows("SELECT count(*) FROM aludel_version_journal"),
        ["0"]
    );
}

/// The connection cut as the revert of a half-applied revision sends its first
/// statement: the version table reads as before, which that revert leaves it
/// whether it finished or not, so the message says what may be applied, never that
/// the revert committed; the next `downgrade` finishes it.
#[test]
fn a_connection_lost_in_a_half_applied_revert_is_not_said_committed_on_mariadb() {
    use aludel_testkit::faults::{Relay, RelayMode};
    let db = aludel_testkit::MysqlDatabase::create();
    let relay = Relay::to_test_mysql(RelayMode::CutBefore("DROP TABLE t2", 1));
    let p = aludel_testkit::TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    p.write_rev(
        &Rev::new("rev_0", &[], "first").sql("CREATE TABLE t0 (id int);", "DROP TABLE t0;"),
    );
    p.write_rev(&Rev::new("rev_1", &["rev_0"], "four").sql(
        "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);\nINSERT INTO nope VALUES (1);\nCREATE TABLE t4 (id int);",
        "DROP TABLE t4;\nDROP TABLE t3;\nDROP TABLE t2;\nDROP TABLE t1;",
    ));
    p.fails(&["upgrade", "head"]);
    let lost = p.fails(&["downgrade", "-1"]);
    insta::assert_snapshot!(without_database_message(&filter(&lost.stderr, p.path())));
    assert!(!lost.stderr.contains("committed"), "{lost}");
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_0"]);
    p.ok(&["downgrade", "-1"]);
    let tables = db.rows(&format!(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' AND table_name LIKE 't%'",
        db.name()
    ));
    assert_eq!(tables, ["t0"]);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_0"]);
    assert!(db.rows("SELECT * FROM aludel_version_journal").is_empty());
}

#[test]
fn a_half_applied_revert_stopped_halfway_resumes_on_mariadb() {
    a_half_applied_revert_stopped_halfway_resumes(On::Mariadb);
}

#[test]
fn a_half_applied_revert_stopped_halfway_resumes_on_sqlite() {
    a_half_applied_revert_stopped_halfway_resumes(On::Sqlite);
}

/// The lock session's journal row reaches the server and commits, but its answer is
/// lost (the relay closes that connection after forwarding the INSERT): the working
/// session writes the row in its place, finds it there already (a duplicate key),
/// and takes it as recorded. The run lock went with that connection, so the run
/// stops, saying so; nothing it says recorded is missing, and the re-run resumes
/// after the recorded statements and finishes the revision. The row is written as
/// soon as the first statement is applied, so the run finds the lock lost before
/// the second statement or, when the lock's thread notices the cut later, before
/// the third: one snapshot each, the state checked against what the message says.
#[test]
fn a_journal_row_committed_after_its_answer_was_lost_is_found_recorded_on_mariadb() {
    use aludel_testkit::faults::{Relay, RelayMode};
    let db = aludel_testkit::MysqlDatabase::create();
    db.execute(&journal_table(On::Mariadb));
    let relay = Relay::to_test_mysql(RelayMode::CutAfter(
        "INSERT INTO `aludel_version_journal`",
        1,
    ));
    let p = aludel_testkit::TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    p.write_rev(&On::Mariadb.five("CREATE TABLE t3 (id int);"));
    let failed = p.fails(&["upgrade", "head"]);
    let lock = crate::mysql_run_lock_name(&db);
    let message =
        without_database_message(&filter(&failed.stderr, p.path())).replace(&lock, "[LOCK]");
    let applied: usize = message
        .split("statements 1-")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of applied statements in:\n{message}"));
    assert!((1..=2).contains(&applied), "{message}");
    insta::assert_snapshot!(
        format!(
            "a_journal_row_committed_after_its_answer_was_lost_stops_before_statement_{}",
            applied + 1
        ),
        without_connection_ids(&message)
    );
    // The first row was sent twice: by the lock session, then by the working one.
    let first_row = relay
        .queries()
        .into_iter()
        .filter(|q| q.contains("aludel_version_journal") && q.contains("'upgrade', 0, 5,"))
        .count();
    assert_eq!(first_row, 2);
    let rows: Vec<String> = (0..applied).map(|i| i.to_string()).collect();
    assert_eq!(
        db.rows("SELECT statement_index FROM aludel_version_journal"),
        rows
    );
    let mut tables = vec![
        "aludel_version".to_string(),
        "aludel_version_journal".into(),
    ];
    tables.extend((1..=applied).map(|i| format!("t{i}")));
    assert_eq!(db.tables(), tables);
    assert!(db.rows("SELECT version_num FROM aludel_version").is_empty());
    // The server keeps the cut session, and its lock, until its wait_timeout: end
    // it, as the waiting re-run would say to.
    if let Some(id) = db.lock_holder(&lock) {
        db.execute(&format!("KILL {id}"));
    }
    let direct = aludel_testkit::TestProject::new(BIN, Some(db.url()), "");
    direct.write_rev(&On::Mariadb.five("CREATE TABLE t3 (id int);"));
    direct.ok(&["upgrade", "head"]);
    assert_eq!(
        db.tables(),
        [
            "aludel_version",
            "aludel_version_journal",
            "t1",
            "t2",
            "t3",
            "t4"
        ]
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_1"]);
    assert_eq!(db.rows("SELECT id FROM t1"), ["1"]);
    assert!(
        db.rows("SELECT statement_index FROM aludel_version_journal")
            .is_empty()
    );
}

/// `text` with the number after each `connection ` replaced by `[ID]`.
fn without_connection_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("connection ") {
        let (before, after) = rest.split_at(at + "connection ".len());
        out.push_str(before);
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        if digits > 0 {
            out.push_str("[ID]");
        }
        rest = &after[digits..];
    }
    out + rest
}
