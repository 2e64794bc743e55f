//! The MariaDB/MySQL run lock, held on a connection of its own: who holds it, and what
//! a run does when that session is killed, when its working connection is lost, when
//! the lock is found lost at the last read of the version table, and when the run is
//! terminated mid-statement. Each asserts what aludel says and what the database
//! holds. Run against MySQL too with `ALUDEL_TEST_MYSQL_URL`.

use std::time::{Duration, Instant};

use aludel_testkit::faults::{Relay, RelayMode};
use aludel_testkit::mysql::prelude::Queryable;
use aludel_testkit::{MysqlDatabase, Rev, TestProject, filter, soon};

use crate::faults::{spawn, wait_within};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// A project at `url`: r1 makes t1; r2 makes t2a, sleeps `secs` seconds, then makes
/// t2b (on MariaDB each statement commits on its own, and the journal records them).
fn slow_project(url: &str, secs: u32) -> TestProject {
    let p = TestProject::new(BIN, Some(url), "");
    p.write_rev(&Rev::new("r1", &[], "make t1").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    p.write_rev(&Rev::new("r2", &["r1"], "slow").sql(
        &format!("CREATE TABLE t2a (id int);\nSELECT SLEEP({secs});\nCREATE TABLE t2b (id int);"),
        "DROP TABLE t2b;\nDROP TABLE t2a;",
    ));
    p
}

/// The session running a query that starts with `text` in `db`, once it runs.
#[track_caller]
fn session_running(db: &MysqlDatabase, text: &str) -> u64 {
    aludel_testkit::mysql_session_running(db.url(), db.name(), text)
}

/// stderr with what changes from run to run: the project folder, durations, the
/// lock's name (a hash of the database's), a session id, and the client's words for
/// a connection the server ended.
fn stable(stderr: &str, p: &TestProject, lock: &str, id: u64) -> String {
    let s = filter(stderr, p.path())
        .replace(lock, "[LOCK]")
        .replace(&format!("connection {id}"), "connection [ID]");
    let marker = "which held it, ended (";
    s.lines()
        .map(|line| match line.find(marker) {
            Some(at) => format!("{}{marker}[how])", &line[..at]),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The run lock is held by a session of its own, not the one running the revisions
/// (which holds the work lock); a run that finds it taken names that session; the
/// run releases both and closes the lock's connection.
#[test]
fn the_run_lock_is_held_on_a_connection_of_its_own_which_a_waiting_run_names() {
    let db = MysqlDatabase::create();
    let p = slow_project(db.url(), 3);
    let lock = crate::mysql_run_lock_name(&db);
    let child = spawn(p.command(&["upgrade", "head"]));
    let working = session_running(&db, "SELECT SLEEP(3)");
    let holder = db.lock_holder(&lock).expect("the run lock is held");
    assert_ne!(holder, working, "the lock is on the working session");
    assert_eq!(db.lock_holder(&format!("{lock}_w")), Some(working));
    p.set_option("connect", "lock_timeout_seconds", "0");
    let waiting = p.fails(&["upgrade", "head"]);
    assert!(
        waiting.stderr.contains(&format!(
            "timed out after 0s waiting for the migration lock held by connection {holder} (root@"
        )),
        "{waiting}"
    );
    let out = wait_within(child, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(db.lock_holder(&lock), None);
    assert_eq!(db.lock_holder(&format!("{lock}_w")), None);
    soon("the lock's connection stays open", || {
        !db.session_exists(holder)
    });
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
}

/// Runs `upgrade head` in `p`, kills the session holding the run lock `lock` (as an
/// administrator would) while the run's session runs `statement`, and returns the
/// killed session's id and the run's stderr; the run must fail.
fn kill_the_lock_holder_during(
    db: &MysqlDatabase,
    p: &TestProject,
    lock: &str,
    statement: &str,
) -> (u64, String) {
    let child = spawn(p.command(&["upgrade", "head"]));
    session_running(db, statement);
    let holder = db.lock_holder(lock).expect("the run lock is held");
    db.conn()
        .query_drop(format!("KILL CONNECTION {holder}"))
        .unwrap();
    let out = wait_within(child, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    (holder, err)
}

/// An administrator kills the session named as the holder while a revision runs:
/// the lock is free, and the run stops before its next statement, saying so, what
/// was applied and that a re-run resumes, which it does.
#[test]
fn a_killed_lock_session_stops_the_run_before_its_next_statement() {
    let db = MysqlDatabase::create();
    let p = slow_project(db.url(), 3);
    let lock = crate::mysql_run_lock_name(&db);
    let (holder, err) = kill_the_lock_holder_during(&db, &p, &lock, "SELECT SLEEP(3)");
    insta::assert_snapshot!(stable(&err, &p, &lock, holder));
    // As it says: t2a and the sleep applied and journaled, t2b not sent.
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
    assert_eq!(
        db.rows("SELECT statement_index FROM aludel_version_journal"),
        ["0", "1"]
    );
    let tables = db.tables();
    assert!(tables.contains(&"t2a".to_string()), "{tables:?}");
    assert!(!tables.contains(&"t2b".to_string()), "{tables:?}");
    assert_eq!(db.lock_holder(&lock), None);
    assert_eq!(db.lock_holder(&format!("{lock}_w")), None);
    let again = p.ok(&["upgrade", "head"]);
    assert!(
        again
            .stderr
            .contains("an earlier run applied its first 2 statements"),
        "{again}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
    assert!(db.tables().contains(&"t2b".to_string()));
}

/// The working connection is cut mid-revision: the run reconnects, ends the lost
/// session, reads the version table back, and gives up; it releases the run lock
/// (held on its own connection, which the cut did not touch) only after the lost
/// session was ended, and before it exits.
#[test]
fn a_run_that_loses_its_working_connection_releases_the_lock_after_ending_that_session() {
    let db = MysqlDatabase::create();
    let relay = Relay::to_test_mysql(RelayMode::CutBefore("SELECT SLEEP(", 1));
    let p = slow_project(&relay.mysql_url(db.name()), 1);
    let lock = crate::mysql_run_lock_name(&db);
    let out = wait_within(
        spawn(p.command(&["upgrade", "head"])),
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads r1: the database is there; revision r2 runs outside a transaction"),
        "{err}"
    );
    let queries = relay.queries();
    let at = |what: &str| queries.iter().position(|q| q.contains(what));
    // Looked for (by its number and client address), then killed unless gone.
    let killed = at("AND HOST = ").unwrap_or_else(|| panic!("{queries:#?}"));
    let released = at(&format!("RELEASE_LOCK('{lock}')")).unwrap_or_else(|| panic!("{queries:#?}"));
    assert!(
        killed < released,
        "released before the lost session ended: {queries:#?}"
    );
    assert_eq!(db.lock_holder(&lock), None);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
}

/// The working connection is cut at the run's last read of the version table: the
/// run reads it over a new connection and, before it trusts what it read, asks
/// whether its lock (on a connection the cut did not touch) is still held. It is:
/// the run ends well, and releases it.
#[test]
fn a_run_that_reads_the_version_table_back_after_a_loss_checks_it_still_holds_the_lock() {
    let db = MysqlDatabase::create();
    // The version table is looked for when the lock is taken, by the first read and by
    // the last: cut at the third.
    let relay = Relay::to_test_mysql(RelayMode::CutBefore("TABLE_NAME = 'aludel_version'", 3));
    let p = TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    p.write_rev(&Rev::new("r1", &[], "make t1").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    let lock = crate::mysql_run_lock_name(&db);
    let out = wait_within(
        spawn(p.command(&["upgrade", "head"])),
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("migration lock"), "{err}");
    let queries = relay.queries();
    let killed = queries
        .iter()
        .position(|q| q.contains("AND HOST = "))
        .unwrap_or_else(|| panic!("the lost session was not ended: {queries:#?}"));
    let checked = queries
        .iter()
        .rposition(|q| q.contains(&format!("IS_USED_LOCK('{lock}') = CONNECTION_ID()")))
        .unwrap_or_else(|| panic!("{queries:#?}"));
    let released = queries
        .iter()
        .position(|q| q.contains(&format!("RELEASE_LOCK('{lock}')")))
        .unwrap_or_else(|| panic!("{queries:#?}"));
    assert!(
        killed < checked && checked < released,
        "the lock was not checked after reconnecting: {queries:#?}"
    );
    assert_eq!(db.lock_holder(&lock), None);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
}

/// The lock's session is killed while the run's last statement runs: what the
/// statement applied is recorded (the working session still holds the work lock, so
/// no other run reads meanwhile), and the last read of the version table finds the
/// lock lost and says so, with what the table reads.
#[test]
fn a_lock_lost_during_the_last_statement_is_found_when_the_version_table_is_read_back() {
    let db = MysqlDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    p.write_rev(&Rev::new("r1", &[], "slow").sql(
        "CREATE TABLE t1 (id int);\nSELECT SLEEP(3);",
        "DROP TABLE t1;",
    ));
    let lock = crate::mysql_run_lock_name(&db);
    let (holder, err) = kill_the_lock_holder_during(&db, &p, &lock, "SELECT SLEEP(3)");
    insta::assert_snapshot!(stable(&err, &p, &lock, holder));
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
    assert_eq!(db.lock_holder(&format!("{lock}_w")), None);
}

/// A proxy freezes the lock's connection (TCP still acknowledges, nothing passes):
/// the run's next check of the lock gets no answer within the response timeout, and
/// the run stops, saying the lock was lost; the server, which hears nothing more from
/// that session, ends it and frees the lock within about a minute (its wait_timeout
/// of 60 s), not hours.
#[test]
fn a_frozen_lock_connection_stops_the_run_and_the_server_frees_the_lock_within_a_minute() {
    let db = MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    let relay = Relay::to_test_mysql(RelayMode::FreezeAt("= CONNECTION_ID()", 1));
    let p = slow_project(&relay.mysql_url(db.name()), 1);
    p.set_option("connect", "response_timeout_seconds", "2");
    let started = Instant::now();
    let out = wait_within(
        spawn(p.command(&["upgrade", "head"])),
        Duration::from_secs(30),
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the version table `aludel_version` reads <base>, but this run can no longer confirm that it holds the migration lock")
            && err.contains("which held it, did not answer within 2 s"),
        "{err}"
    );
    assert!(!db.tables().contains(&"t1".to_string()), "a revision ran");
    // The session lives on behind the frozen proxy, holding the lock...
    assert!(db.lock_holder(&lock).is_some());
    // ...until the server gives up on it.
    while db.lock_holder(&lock).is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the lock is still held {:?} after the freeze",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        started.elapsed() > Duration::from_secs(50),
        "freed after {:?}: not by the server's timeout",
        started.elapsed()
    );
}

/// A session left holding the work lock, idle (a run that vanished with nothing in
/// flight: its host lost, a proxy frozen), does not hold up the next run until the
/// server's wait_timeout (hours by default): the run ends it and goes on.
#[test]
fn an_idle_session_left_holding_the_work_lock_is_ended_by_the_next_run() {
    let db = MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    let mut left = db.hold_lock(&format!("{lock}_w"));
    let orphan = u64::from(left.connection_id());
    let p = slow_project(db.url(), 0);
    p.set_option("connect", "lock_timeout_seconds", "0");
    // Idle for less than 30 s, it may be a live run's between two statements: waited for.
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains(&format!("connection {orphan} ("))
            && r.stderr.contains("an idle session of an earlier run"),
        "{r}"
    );
    assert!(db.session_exists(orphan));
    std::thread::sleep(Duration::from_secs(31));
    let r = p.ok(&["upgrade", "head"]);
    assert!(!r.stderr.contains("Waiting"), "{r}");
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
    soon("the idle session lives on", || !db.session_exists(orphan));
    assert!(left.query_drop("DO 1").is_err());
}

/// A run waiting for an earlier run's session (the work lock, held) does not take the
/// run lock meanwhile: a third run would name the waiter as the holder.
#[test]
fn a_run_waiting_for_an_earlier_runs_session_does_not_take_the_run_lock() {
    let db = MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    let left = db.hold_lock(&format!("{lock}_w"));
    let p = slow_project(db.url(), 0);
    p.set_option("connect", "lock_timeout_seconds", "2");
    let child = spawn(p.command(&["upgrade", "head"]));
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            db.lock_holder(&lock),
            None,
            "the waiting run took the run lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = wait_within(child, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("connection {} (", left.connection_id())),
        "{err}"
    );
}

/// A session holding the work lock with a transaction open (a run committing a
/// revision's record, its own lock just killed) is never ended, however long idle.
#[test]
fn a_work_lock_holder_with_a_transaction_open_is_waited_for() {
    let db = MysqlDatabase::create();
    let lock = crate::mysql_run_lock_name(&db);
    db.execute("CREATE TABLE held (id int)");
    let mut left = db.hold_lock(&format!("{lock}_w"));
    left.query_drop("START TRANSACTION").unwrap();
    left.query_drop("INSERT INTO held VALUES (1)").unwrap();
    let orphan = u64::from(left.connection_id());
    std::thread::sleep(Duration::from_secs(31));
    let p = slow_project(db.url(), 0);
    p.set_option("connect", "lock_timeout_seconds", "0");
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains(&format!("connection {orphan} (")), "{r}");
    assert!(db.session_exists(orphan));
    left.query_drop("COMMIT").unwrap();
    assert_eq!(db.rows("SELECT id FROM held"), ["1"]);
}

/// SIGTERM mid-statement: the process ends, its idle lock session with it, and the
/// run lock is free at once; the statement it was running goes on in the server, and
/// its session keeps the work lock until it is done: the next run waits for it,
/// naming it, then resumes where the journal says.
#[test]
fn a_run_terminated_mid_statement_frees_the_lock_and_the_next_run_waits_for_that_statement() {
    let db = MysqlDatabase::create();
    let p = slow_project(db.url(), 4);
    let lock = crate::mysql_run_lock_name(&db);
    let child = spawn(p.command(&["upgrade", "head"]));
    let working = session_running(&db, "SELECT SLEEP(4)");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_within(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), None, "not ended by the signal");
    soon("the run lock outlived the process", || {
        db.lock_holder(&lock).is_none()
    });
    assert_eq!(db.lock_holder(&format!("{lock}_w")), Some(working));
    p.set_option("connect", "lock_timeout_seconds", "30");
    let next = p.ok(&["upgrade", "head"]);
    assert!(
        next.stderr.contains(&format!(
            "Waiting for the migration lock held by connection {working} (root@"
        )) && next
            .stderr
            .contains(", the session of an earlier run still running a statement"),
        "{next}"
    );
    assert!(
        next.stderr
            .contains("an earlier run applied its first 1 statement"),
        "{next}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
}
