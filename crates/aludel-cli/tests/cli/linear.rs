//! A linear history of three revisions, run through every command that moves the
//! database: the exact output of each (Alembic's formats) and what the database holds
//! afterwards. One body per behaviour, run on SQLite, PostgreSQL and MariaDB.

use aludel_testkit::{Backend, DbProject, Rev, expect, json_log, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn three_tables(backend: Backend) -> DbProject {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(
        &Rev::new("aaa", &[], "create a").sql("CREATE TABLE t_a (id int);", "DROP TABLE t_a;"),
    );
    p.write_rev(
        &Rev::new("bbb", &["aaa"], "create b").sql("CREATE TABLE t_b (id int);", "DROP TABLE t_b;"),
    );
    p.write_rev(
        &Rev::new("ccc", &["bbb"], "create c").sql("CREATE TABLE t_c (id int);", "DROP TABLE t_c;"),
    );
    p
}

/// What `current --verbose` prints as the database URL.
fn shown_url(p: &DbProject) -> String {
    match p.backend() {
        Backend::Sqlite => "sqlite:///[PROJECT]/app.db".to_string(),
        Backend::Postgres => {
            let db = p.db().pg().unwrap();
            db.url().replace(db.name(), "[DB]")
        }
        Backend::Mysql => {
            let db = p.db().mysql().unwrap();
            db.url().replace(db.name(), "[DB]")
        }
    }
}

fn linear_upgrade_downgrade_stamp(backend: Backend) {
    let p = three_tables(backend);
    // What a step prints: on MariaDB a line for the revision's one statement too.
    let up = |from: &str, to: &str, message: &str| {
        let line = if from.is_empty() { 5 } else { 6 };
        format!(
            "INFO  Running upgrade {from} -> {to}, {message}\n{}INFO  Finished upgrade {from} -> {to} ([ms])\n",
            backend.statement_line(line, &format!("CREATE TABLE t_{} (id int)", &to[..1]))
        )
    };
    let down = |from: &str, to: &str, message: &str| {
        let line = if to.is_empty() { 8 } else { 9 };
        format!(
            "INFO  Running downgrade {from} -> {to}, {message}\n{}INFO  Finished downgrade {from} -> {to} ([ms])\n",
            backend.statement_line(line, &format!("DROP TABLE t_{}", &from[..1]))
        )
    };

    // A new database: nothing current, no output.
    expect(&p.ok(&["current"]), "", "");

    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        &[
            up("", "aaa", "create a"),
            up("aaa", "bbb", "create b"),
            up("bbb", "ccc", "create c"),
        ]
        .concat(),
    );
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b", "t_c"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);

    expect(&p.ok(&["current"]), "ccc (head)\n", "");
    expect(
        &p.ok(&["current", "--verbose"]),
        &format!(
            "Current revision(s) for {}:\n\
             Rev: ccc (head)\n\
             Parent: bbb\n\
             Path: [PROJECT]/migrations/versions/ccc.sql\n\
             \n    create c\n    \n    Revision ID: ccc\n    Revises: bbb\n\n",
            shown_url(&p)
        ),
        "",
    );

    // Nothing to do: exit 0, a line saying so, nothing changes.
    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        "INFO  Nothing to do: the database is already at ccc\n",
    );
    assert_eq!(p.db().version_rows(), ["ccc"]);

    expect(
        &p.ok(&["downgrade", "-1"]),
        "",
        &down("ccc", "bbb", "create c"),
    );
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b"]);
    assert_eq!(p.db().version_rows(), ["bbb"]);
    expect(&p.ok(&["current"]), "bbb\n", "");

    expect(&p.ok(&["upgrade", "+1"]), "", &up("bbb", "ccc", "create c"));
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b", "t_c"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);

    expect(
        &p.ok(&["downgrade", "base"]),
        "",
        &[
            down("ccc", "bbb", "create c"),
            down("bbb", "aaa", "create b"),
            down("aaa", "", "create a"),
        ]
        .concat(),
    );
    assert_eq!(p.db().tables(), ["aludel_version"]);
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
    expect(&p.ok(&["current"]), "", "");

    // Stamping writes the version table only.
    expect(
        &p.ok(&["stamp", "head"]),
        "",
        "INFO  Running stamp_revision  -> ccc\nINFO  Finished stamp_revision  -> ccc ([ms])\n",
    );
    assert_eq!(p.db().tables(), ["aludel_version"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);
    expect(&p.ok(&["current"]), "ccc (head)\n", "");
    // Stamping where the database already is does nothing, as in Alembic.
    expect(&p.ok(&["stamp", "head"]), "", "");
    assert_eq!(p.db().version_rows(), ["ccc"]);

    expect(
        &p.ok(&["stamp", "bbb"]),
        "",
        "INFO  Running stamp_revision ccc -> bbb\nINFO  Finished stamp_revision ccc -> bbb ([ms])\n",
    );
    assert_eq!(p.db().version_rows(), ["bbb"]);

    expect(
        &p.ok(&["stamp", "base"]),
        "",
        "INFO  Running stamp_revision bbb -> \nINFO  Finished stamp_revision bbb ->  ([ms])\n",
    );
    assert_eq!(p.db().tables(), ["aludel_version"]);
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
    expect(&p.ok(&["current"]), "", "");

    // Upgrading to a revision in the middle, then relative steps from a revision.
    expect(&p.ok(&["upgrade", "aaa"]), "", &up("", "aaa", "create a"));
    assert_eq!(p.db().version_rows(), ["aaa"]);
    expect(
        &p.ok(&["upgrade", "aaa+2"]),
        "",
        &[up("aaa", "bbb", "create b"), up("bbb", "ccc", "create c")].concat(),
    );
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b", "t_c"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);
}

on_all!(linear_upgrade_downgrade_stamp,);

fn relative_targets_past_the_ends_fail(backend: Backend) {
    let p = three_tables(backend);
    expect(
        &p.fails(&["downgrade", "-1"]),
        "",
        "ERROR Relative revision '-1' didn't produce 1 migrations: the database is at base\n",
    );
    p.ok(&["upgrade", "head"]);
    expect(
        &p.fails(&["upgrade", "+1"]),
        "",
        "ERROR Relative revision '+1' didn't produce 1 migrations: ccc is a head after 0 step(s)\n",
    );
    p.ok(&["downgrade", "base"]);
    expect(
        &p.fails(&["upgrade", "+5"]),
        "",
        "ERROR Relative revision '+5' didn't produce 5 migrations: ccc is a head after 3 step(s)\n",
    );
    // A failed target changes nothing.
    assert_eq!(p.db().tables(), ["aludel_version"]);
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
}

on_all!(relative_targets_past_the_ends_fail,);

/// A command that has nothing to do says so (exit 0); an upgrade to a target below
/// the database points to downgrade; `-0` and `+0` are refused for what they are.
fn nothing_to_do_is_said(backend: Backend) {
    let p = three_tables(backend);
    p.ok(&["upgrade", "bbb"]);
    let below = |t: &str| {
        format!(
            "INFO  Nothing to do: the database is at bbb, above {t}; upgrade never goes down: use `aludel downgrade {t}` to go there\n"
        )
    };
    expect(&p.ok(&["upgrade", "base"]), "", &below("base"));
    expect(&p.ok(&["upgrade", "bbb-1"]), "", &below("bbb-1"));
    expect(&p.ok(&["upgrade", "aaa"]), "", &below("aaa"));
    let there = "INFO  Nothing to do: the database is already at bbb\n";
    expect(&p.ok(&["upgrade", "bbb"]), "", there);
    expect(&p.ok(&["downgrade", "bbb"]), "", there);
    // Downgrading to a revision not applied yet is refused, as Alembic does.
    p.fails_with(
        &["downgrade", "ccc"],
        1,
        "ccc is not applied; use upgrade to go there",
    );
    expect(&p.ok(&["-q", "upgrade", "bbb"]), "", "");
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b"]);
    assert_eq!(p.db().version_rows(), ["bbb"]);
    let log = json_log(&p.ok(&["--log-format", "json", "upgrade", "bbb"]).stderr);
    assert_eq!(
        log,
        [
            r#"{"level":"info","event":"nothing_to_do","message":"Nothing to do: the database is already at bbb"}"#
        ]
    );

    // A range that goes down is no upgrade script.
    expect(
        &p.fails(&["upgrade", "ccc:aaa", "--sql"]),
        "",
        "ERROR upgrade ccc:aaa --sql goes down: its end is below its start; use `aludel downgrade ccc:aaa --sql`\n",
    );
    p.fails_with(
        &["downgrade", "aaa:ccc", "--sql"],
        1,
        "ccc is not applied; use upgrade to go there",
    );

    for (command, target, sign) in [
        ("upgrade", "-0", '-'),
        ("downgrade", "-0", '-'),
        ("upgrade", "+0", '+'),
        ("downgrade", "bbb+0", '+'),
    ] {
        expect(
            &p.fails(&[command, target]),
            "",
            &format!(
                "ERROR invalid revision target '{target}': {sign}0 is no step at all; give a number of steps of 1 or more (e.g. {sign}1)\n"
            ),
        );
    }
    assert_eq!(p.db().version_rows(), ["bbb"]);
}

on_all!(nothing_to_do_is_said,);

fn history_of_a_linear_project(backend: Backend) {
    let p = three_tables(backend);
    let all = "bbb -> ccc (head), create c\n\
               aaa -> bbb, create b\n\
               <base> -> aaa, create a\n";
    expect(&p.ok(&["history"]), all, "");
    p.ok(&["upgrade", "bbb"]);
    expect(
        &p.ok(&["history", "--indicate-current"]),
        "bbb -> ccc (head), create c\n\
         aaa -> bbb (current), create b\n\
         <base> -> aaa, create a\n",
        "",
    );
    expect(
        &p.ok(&["history", "-r", "current:"]),
        "bbb -> ccc (head), create c\n\
         aaa -> bbb, create b\n",
        "",
    );
    expect(
        &p.ok(&["history", "-r", ":aaa"]),
        "<base> -> aaa, create a\n",
        "",
    );
    expect(&p.ok(&["heads"]), "ccc (head)\n", "");
    expect(&p.ok(&["branches"]), "", "");
}

on_all!(history_of_a_linear_project,);

/// A statement that fails rolls back its revision alone; the error names the revision,
/// the file and line, the statement and the database's own message. On MariaDB, whose
/// DDL commits by itself, the statements before it stay applied, recorded in the
/// journal: the message says so, and the re-run resumes at the failed statement.
fn failing_statement_rolls_back_its_revision(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let mysql = backend == Backend::Mysql;
    p.write_rev(
        &Rev::new("aaa", &[], "create a").sql("CREATE TABLE t_a (id int);", "DROP TABLE t_a;"),
    );
    // The downgrade undoes the upgrade statement by statement, in reverse order, so
    // that on MariaDB `downgrade` can revert the half-applied revision.
    p.write_rev(&Rev::new("bbb", &["aaa"], "create b").sql(
        "CREATE TABLE t_b (id int);\nINSERT INTO t_b VALUES (1);\nINSERT INTO nosuch VALUES (1);",
        "DELETE FROM nosuch;\nDELETE FROM t_b;\nDROP TABLE t_b;",
    ));
    p.write_rev(
        &Rev::new("ccc", &["bbb"], "create c").sql("CREATE TABLE t_c (id int);", "DROP TABLE t_c;"),
    );
    let database_error = match backend {
        Backend::Sqlite => "no such table: nosuch",
        Backend::Postgres => "ERROR: relation \"nosuch\" does not exist",
        Backend::Mysql => "ERROR 1146 (42S02): Table '[DB].nosuch' doesn't exist",
    };
    let outcome = if mysql {
        "statements 1-2 of this revision's 3 (before line 8) were applied (this database commits DDL immediately) \
         and are recorded in the journal `aludel_version_journal`; the version table is at aaa: \
         fix the revision and run the command again; the re-run resumes at line 8: \
         change that statement if it is what is wrong, not those before it"
    } else {
        "the revision was rolled back: the database is at aaa; fix the revision and run the command again"
    };
    let indent = "\n        ";
    let error = format!(
        "ERROR upgrade of revision bbb failed (create b){indent}\
         file: [PROJECT]/migrations/versions/bbb.sql:8{indent}\
         statement: INSERT INTO nosuch VALUES (1){indent}\
         {outcome}{indent}\
         database error: {database_error}\n"
    );
    let line = |n: usize, sql: &str| backend.statement_line(n, sql);
    expect(
        &p.fails(&["upgrade", "head"]),
        "",
        &format!(
            "INFO  Running upgrade  -> aaa, create a\n{}INFO  Finished upgrade  -> aaa ([ms])\n\
             INFO  Running upgrade aaa -> bbb, create b\n{}{}{}{error}",
            line(5, "CREATE TABLE t_a (id int)"),
            line(6, "CREATE TABLE t_b (id int)"),
            line(7, "INSERT INTO t_b VALUES (1)"),
            line(8, "INSERT INTO nosuch VALUES (1)"),
        ),
    );
    if mysql {
        assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b"]);
        assert_eq!(p.db().rows("SELECT id FROM t_b"), ["1"]);
    } else {
        assert_eq!(p.db().tables(), ["aludel_version", "t_a"]);
    }
    assert_eq!(p.db().version_rows(), ["aaa"]);
    // Run again: it resumes at bbb (on MariaDB at its third statement) and fails the
    // same way.
    let resumed = if mysql {
        "INFO  Resuming revision bbb at line 8: an earlier run applied its first 2 statements (the journal records them)\n"
    } else {
        ""
    };
    expect(
        &p.fails(&["upgrade", "head"]),
        "",
        &format!(
            "INFO  Running upgrade aaa -> bbb, create b\n{resumed}{}{error}",
            line(8, "INSERT INTO nosuch VALUES (1)")
        ),
    );
    assert_eq!(p.db().version_rows(), ["aaa"]);
    if mysql {
        assert_eq!(p.db().rows("SELECT id FROM t_b"), ["1"], "sent once");
    }

    // The same as JSON lines (time, level, event, revision, duration, message), and
    // nothing but the error with --quiet.
    p.ok(&["downgrade", "base"]);
    assert_eq!(p.db().tables(), ["aludel_version"]);
    let json_error = error
        .strip_prefix("ERROR ")
        .unwrap()
        .trim_end()
        .replace(indent, "\\n  ")
        .replace('"', "\\\"");
    let r = p.fails(&["--log-format", "json", "upgrade", "head"]);
    assert_eq!(r.stdout, "", "{r}");
    let statement = |revision: &str, n: usize, sql: &str| -> Vec<String> {
        if mysql {
            vec![format!(
                r#"{{"level":"info","event":"statement_started","revision":"{revision}","message":"Running the statement at line {n}: {sql}"}}"#
            )]
        } else {
            vec![]
        }
    };
    assert_eq!(
        json_log(&r.stderr),
        [
            vec![r#"{"level":"info","event":"migration_started","revision":"aaa","message":"Running upgrade  -> aaa, create a"}"#.to_string()],
            statement("aaa", 5, "CREATE TABLE t_a (id int)"),
            vec![
                r#"{"level":"info","event":"migration_finished","revision":"aaa","duration":"[s]","message":"Finished upgrade  -> aaa"}"#.to_string(),
                r#"{"level":"info","event":"migration_started","revision":"bbb","message":"Running upgrade aaa -> bbb, create b"}"#.to_string(),
            ],
            statement("bbb", 6, "CREATE TABLE t_b (id int)"),
            statement("bbb", 7, "INSERT INTO t_b VALUES (1)"),
            statement("bbb", 8, "INSERT INTO nosuch VALUES (1)"),
            vec![format!(r#"{{"level":"error","event":"migration_failed","revision":"bbb","message":"{json_error}"}}"#)],
        ]
        .concat(),
        "{r}"
    );
    p.ok(&["downgrade", "base"]);
    expect(&p.fails(&["-q", "upgrade", "head"]), "", &error);
    assert_eq!(p.db().version_rows(), ["aaa"]);
}

on_all!(failing_statement_rolls_back_its_revision,);

/// `--sql` prints the script and connects to nothing: the database stays empty. On
/// MariaDB names are quoted with backticks, and no transaction frames a revision (its
/// DDL commits by itself).
fn offline_sql(backend: Backend) {
    let p = three_tables(backend);
    let create = "CREATE TABLE IF NOT EXISTS \"aludel_version\" (\n    \
                  version_num VARCHAR(64) NOT NULL,\n    \
                  CONSTRAINT \"aludel_version_pkc\" PRIMARY KEY (version_num)\n);\n\n";
    let quoted = |text: &str| match backend {
        Backend::Mysql => text.replace('"', "`"),
        Backend::Sqlite | Backend::Postgres => text.to_string(),
    };
    let create = quoted(create);
    let step = |what: &str, sql: &str, version: &str| {
        let version = quoted(version);
        match backend {
            Backend::Mysql => format!("-- Running {what}\n\n{sql}\n\n{version}\n\n"),
            Backend::Sqlite | Backend::Postgres => {
                format!("-- Running {what}\n\nBEGIN;\n\n{sql}\n\n{version}\n\nCOMMIT;\n\n")
            }
        }
    };
    expect(
        &p.ok(&["upgrade", "head", "--sql"]),
        &[
            create,
            step(
                "upgrade  -> aaa",
                "CREATE TABLE t_a (id int);",
                "INSERT INTO \"aludel_version\" (version_num) VALUES ('aaa');",
            ),
            step(
                "upgrade aaa -> bbb",
                "CREATE TABLE t_b (id int);",
                "UPDATE \"aludel_version\" SET version_num = 'bbb' WHERE version_num = 'aaa';",
            ),
            step(
                "upgrade bbb -> ccc",
                "CREATE TABLE t_c (id int);",
                "UPDATE \"aludel_version\" SET version_num = 'ccc' WHERE version_num = 'bbb';",
            ),
        ]
        .concat(),
        "",
    );
    expect(
        &p.ok(&["downgrade", "ccc:aaa", "--sql"]),
        &[
            step(
                "downgrade ccc -> bbb",
                "DROP TABLE t_c;",
                "UPDATE \"aludel_version\" SET version_num = 'bbb' WHERE version_num = 'ccc';",
            ),
            step(
                "downgrade bbb -> aaa",
                "DROP TABLE t_b;",
                "UPDATE \"aludel_version\" SET version_num = 'aaa' WHERE version_num = 'bbb';",
            ),
        ]
        .concat(),
        "",
    );
    expect(
        &p.fails(&["downgrade", "aaa", "--sql"]),
        "",
        "ERROR downgrade --sql needs a range FROM:TO, since it reads no database: e.g. `aludel downgrade head:aaa --sql`, or `current:aaa` to start where the database is\n",
    );
    assert_eq!(p.db().tables(), [] as [&str; 0]);
}

on_all!(offline_sql,);

/// `stamp -N` counts down from the row the table holds, and from the head when the
/// table is empty, as `stamp -N --sql` does (Alembic 1.20.1 on `aaa<bbb<ccc`, empty
/// table: `stamp -1` stamps bbb, `stamp -4` stamps base). A walk below base is refused
/// and leaves the table alone, as `downgrade -N` does (known.py
/// `stamp-relative-below-base`).
fn stamp_minus_n_counts_from_the_row_or_the_head(backend: Backend) {
    let p = three_tables(backend);
    expect(
        &p.ok(&["stamp", "-1"]),
        "",
        "INFO  Running stamp_revision  -> bbb\nINFO  Finished stamp_revision  -> bbb ([ms])\n",
    );
    assert_eq!(p.db().version_rows(), ["bbb"]);
    expect(
        &p.ok(&["stamp", "-1"]),
        "",
        "INFO  Running stamp_revision bbb -> aaa\nINFO  Finished stamp_revision bbb -> aaa ([ms])\n",
    );
    assert_eq!(p.db().version_rows(), ["aaa"]);
    expect(
        &p.fails(&["stamp", "--", "-2"]),
        "",
        "ERROR Relative revision '-2' didn't produce 2 migrations: the walk went below base after 1 step(s)\n",
    );
    assert_eq!(p.db().version_rows(), ["aaa"]);
    p.ok(&["stamp", "base"]);
    expect(
        &p.fails(&["stamp", "--purge", "--", "-4"]),
        "",
        "ERROR Relative revision '-4' didn't produce 4 migrations: the walk went below base after 3 step(s)\n",
    );
    // Exactly down to base is base: nothing to write on an empty table.
    expect(&p.ok(&["stamp", "--", "-3"]), "", "");
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
}

on_all!(stamp_minus_n_counts_from_the_row_or_the_head,);

/// A version row that no file declares stops every command that reads the table,
/// until `stamp --purge` replaces it.
fn unknown_version_row_needs_stamp_purge(backend: Backend) {
    let p = three_tables(backend);
    p.ok(&["upgrade", "bbb"]);
    let insert = "INSERT INTO aludel_version (version_num) VALUES ('zzz')";
    p.db().execute(insert);
    let error = "ERROR the version table holds revision 'zzz', which no migration file declares; restore its file or fix the table with 'stamp --purge'\n";
    for args in [
        &["current"][..],
        &["history", "-i"],
        &["upgrade", "head"],
        &["downgrade", "base"],
        &["stamp", "head"],
    ] {
        expect(&p.fails(args), "", error);
    }
    assert_eq!(p.db().version_rows(), ["bbb", "zzz"]);
    assert_eq!(p.db().tables(), ["aludel_version", "t_a", "t_b"]);
    expect(
        &p.ok(&["stamp", "--purge", "bbb"]),
        "",
        "INFO  Running stamp_revision bbb, zzz -> bbb\nINFO  Finished stamp_revision bbb, zzz -> bbb ([ms])\n",
    );
    assert_eq!(p.db().version_rows(), ["bbb"]);
    expect(&p.ok(&["current"]), "bbb\n", "");
}

on_all!(unknown_version_row_needs_stamp_purge,);

/// Every PostgreSQL session aludel opens ends with the protocol's goodbye (Terminate),
/// as a client's should: a connection just dropped is counted by the server as
/// abandoned and logged (`could not receive data from client`) on every run. The
/// server's own count of abandoned sessions of the test's database is the judge.
#[test]
fn postgres_sessions_end_with_a_goodbye() {
    let p = three_tables(Backend::Postgres);
    let db = p.db().pg().unwrap();
    p.ok(&["upgrade", "bbb"]);
    p.ok(&["current"]);
    p.ok(&["history", "--indicate-current"]);
    p.ok(&["upgrade", "head", "--sql"]);
    p.ok(&["upgrade", "head"]);
    p.ok(&["downgrade", "base"]);
    // A failing run closes its sessions too.
    p.write_rev(&Rev::new("ddd", &["ccc"], "broken").sql("CREATE TABLE (;", "SELECT 1;"));
    p.fails(&["upgrade", "head"]);
    let sessions = |what: &str| {
        db.rows(&format!(
            "SELECT {what} FROM pg_stat_database WHERE datname = '{}'",
            db.name()
        ))
    };
    // A backend counts how its session ended before it leaves pg_stat_activity.
    aludel_testkit::soon("aludel's sessions to end", || {
        db.rows(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name LIKE 'aludel%'",
            db.name()
        )) == ["0"]
    });
    assert_eq!(sessions("sessions_abandoned"), ["0"]);
}
