//! What an operator sees while a run goes on: a line when each revision starts (and,
//! in a revision outside a transaction, when each statement does), another with its
//! time when it is recorded. A run that hangs shows where it hangs; a run that is
//! killed has printed the revision it died in.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use aludel_testkit::{Backend, DbProject, Rev, filter, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// The advisory lock key the blocking revision waits on while the test holds it.
const KEY: i64 = 424_242;

/// Three revisions; the second runs outside a transaction, with `middle` as its
/// statements.
fn write_three(p: &DbProject, middle: &str) {
    p.write_rev(&Rev::new("rev_1", &[], "items").sql(
        "CREATE TABLE items (id int PRIMARY KEY, name text);",
        "DROP TABLE items;",
    ));
    let drop_index = match p.backend() {
        Backend::Mysql => "DROP INDEX items_name_idx ON items;",
        Backend::Sqlite | Backend::Postgres => "DROP INDEX items_name_idx;",
    };
    p.write_rev(
        &Rev::new("rev_2", &["rev_1"], "index items")
            .header("transaction", "false")
            .sql(middle, drop_index),
    );
    p.write_rev(&Rev::new("rev_3", &["rev_2"], "after").sql(
        "CREATE TABLE after_index (id int);",
        "DROP TABLE after_index;",
    ));
}

/// The normal output of a run up and down, with a revision outside a transaction (on
/// MariaDB every revision runs so, and prints a line per statement).
fn progress_lines_of_a_run(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let middle = match backend {
        Backend::Postgres => {
            "CREATE INDEX CONCURRENTLY items_name_idx\n    ON items (name);\n\
             CREATE INDEX CONCURRENTLY items_id_name_idx ON items (id, name, \
             (lower(name) || 'a long expression that goes on and on and on'));"
        }
        Backend::Sqlite => "VACUUM;\nCREATE INDEX items_name_idx\n    ON items (name);",
        Backend::Mysql => {
            "CREATE INDEX items_name_idx\n    ON items (name(20));\n\
             CREATE INDEX items_id_name_idx ON items (id, name(20)) \
             COMMENT 'a long comment that goes on and on and on and on and on';"
        }
    };
    write_three(&p, middle);
    let up = p.ok(&["upgrade", "head"]);
    assert_eq!(up.stdout, "");
    let down = p.ok(&["downgrade", "rev_1"]);
    insta::assert_snapshot!(
        format!("progress_lines_of_a_run_{backend:?}"),
        format!(
            "$ aludel upgrade head\n{}$ aludel downgrade rev_1\n{}",
            up.stderr, down.stderr
        )
    );
}

on_all!(progress_lines_of_a_run,);

/// Lines of a process's stderr as they come, on a channel.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one equals `want` (within 60 s); returns all lines read.
#[track_caller]
fn read_until(rx: &Receiver<String>, want: &str, seen: &mut Vec<String>) {
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line == want;
                seen.push(line);
                if done {
                    return;
                }
            }
            Err(e) => panic!("no line {want:?} ({e}); lines so far:\n{}", seen.join("\n")),
        }
    }
}

/// The rest of the lines, up to the end of the stream.
fn read_rest(rx: &Receiver<String>, seen: &mut Vec<String>) {
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        seen.push(line);
    }
}

/// A project whose second revision waits on an advisory lock the test holds: in a
/// transaction (`outside: false`) or as the second statement of a revision outside one.
fn blocking_project(outside: bool) -> DbProject {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let wait = format!("SELECT pg_advisory_xact_lock({KEY});");
    if outside {
        write_three(
            &p,
            &format!("CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n{wait}"),
        );
    } else {
        p.write_rev(&Rev::new("rev_1", &[], "items").sql(
            "CREATE TABLE items (id int PRIMARY KEY, name text);",
            "DROP TABLE items;",
        ));
        p.write_rev(
            &Rev::new("rev_2", &["rev_1"], "wait for the test")
                .sql(&format!("ALTER TABLE items ADD COLUMN n int;\n{wait}"), ""),
        );
    }
    p
}

/// The start line of a revision is printed while it runs, before it ends: a
/// revision that waits on a lock shows which one it is.
#[test]
fn a_running_revision_has_printed_its_start_line() {
    let p = blocking_project(false);
    let mut holder = p.db().pg().unwrap().client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({KEY})"))
        .unwrap();
    let mut child = p
        .command(&["upgrade", "head"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let mut seen = Vec::new();
    read_until(
        &rx,
        "INFO  Running upgrade rev_1 -> rev_2, wait for the test",
        &mut seen,
    );
    // It is still running, inside rev_2: nothing says rev_2 finished.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "{seen:?}");
    assert!(rx.try_recv().is_err(), "{seen:?}");
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({KEY})"))
        .unwrap();
    read_rest(&rx, &mut seen);
    assert!(child.wait().unwrap().success(), "{seen:?}");
    insta::assert_snapshot!(filter(&(seen.join("\n") + "\n"), p.path()), @r"
    INFO  Running upgrade  -> rev_1, items
    INFO  Finished upgrade  -> rev_1 ([ms])
    INFO  Running upgrade rev_1 -> rev_2, wait for the test
    INFO  Finished upgrade rev_1 -> rev_2 ([ms])
    ");
    assert_eq!(p.db().version_rows(), ["rev_2"]);
}

/// A run killed (SIGKILL, as a deadline or an OOM kill would) inside a revision
/// outside a transaction has printed that revision and the statement it was in.
#[test]
fn a_killed_run_has_printed_the_revision_and_statement_it_died_in() {
    let p = blocking_project(true);
    let mut holder = p.db().pg().unwrap().client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({KEY})"))
        .unwrap();
    let mut child = p
        .command(&["upgrade", "head"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let mut seen = Vec::new();
    let waiting = "INFO  Running the statement at line 8: SELECT pg_advisory_xact_lock(424242)";
    read_until(&rx, waiting, &mut seen);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "{seen:?}");
    child.kill().unwrap();
    read_rest(&rx, &mut seen);
    let _ = child.wait();
    insta::assert_snapshot!(filter(&(seen.join("\n") + "\n"), p.path()), @r"
    INFO  Running upgrade  -> rev_1, items
    INFO  Finished upgrade  -> rev_1 ([ms])
    INFO  Running upgrade rev_1 -> rev_2, index items
    INFO  Running the statement at line 7: CREATE INDEX CONCURRENTLY items_name_idx ON items (name)
    INFO  Running the statement at line 8: SELECT pg_advisory_xact_lock(424242)
    ");
    // What the lines say is what happened: rev_1 committed; rev_2's first statement
    // did, its version row did not.
    assert_eq!(p.db().version_rows(), ["rev_1"]);
    assert_eq!(
        p.db()
            .rows("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'items'::regclass AND NOT indisprimary"),
        ["items_name_idx"]
    );
}

/// `--log-format json` reports the same starts as `migration_started` and
/// `statement_started` objects, one a line on stderr; stdout stays empty.
#[test]
fn json_logs_report_statement_starts() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    write_three(
        &p,
        "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);",
    );
    let r = p.ok(&["--log-format", "json", "upgrade", "head"]);
    assert_eq!(r.stdout, "");
    let events: Vec<String> = aludel_testkit::json_log(&r.stderr);
    insta::assert_snapshot!(events.join("\n"), @r#"
    {"level":"info","event":"migration_started","revision":"rev_1","message":"Running upgrade  -> rev_1, items"}
    {"level":"info","event":"migration_finished","revision":"rev_1","duration":"[s]","message":"Finished upgrade  -> rev_1"}
    {"level":"info","event":"migration_started","revision":"rev_2","message":"Running upgrade rev_1 -> rev_2, index items"}
    {"level":"info","event":"statement_started","revision":"rev_2","message":"Running the statement at line 7: CREATE INDEX CONCURRENTLY items_name_idx ON items (name)"}
    {"level":"info","event":"migration_finished","revision":"rev_2","duration":"[s]","message":"Finished upgrade rev_1 -> rev_2"}
    {"level":"info","event":"migration_started","revision":"rev_3","message":"Running upgrade rev_2 -> rev_3, after"}
    {"level":"info","event":"migration_finished","revision":"rev_3","duration":"[s]","message":"Finished upgrade rev_2 -> rev_3"}
    "#);
}

/// With `--format json` stdout is the JSON document alone, however much progress the
/// command makes: `check --migrations` applies every revision (to a shadow database),
/// and its lines go to stderr.
fn progress_never_reaches_a_json_document(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_three(
        &p,
        match backend {
            Backend::Postgres => "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);",
            Backend::Sqlite => "CREATE INDEX items_name_idx ON items (name);",
            // MySQL indexes a text column only by a prefix.
            Backend::Mysql => "CREATE INDEX items_name_idx ON items (name(20));",
        },
    );
    let key = match backend {
        Backend::Mysql => "name(20)",
        Backend::Sqlite | Backend::Postgres => "name",
    };
    std::fs::write(
        p.path().join("schema.sql"),
        format!(
            "CREATE TABLE items (id int PRIMARY KEY, name text);\n\
             CREATE INDEX items_name_idx ON items ({key});\n\
             CREATE TABLE after_index (id int);\n"
        ),
    )
    .unwrap();
    let r = p.ok(&["--format", "json", "check", "--migrations"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{r}"));
    assert_eq!(doc["check"]["changes"], serde_json::json!([]), "{r}");
    assert!(
        r.stderr
            .contains("INFO  Running upgrade rev_2 -> rev_3, after\n"),
        "{r}"
    );
    assert!(
        r.stderr.contains("INFO  Running the statement at line 7: "),
        "{r}"
    );
}

on_all!(progress_never_reaches_a_json_document,);
