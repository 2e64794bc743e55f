//! Real faults between aludel and PostgreSQL: a server that accepts and never answers,
//! a connection cut just before or just after a COMMIT, a lock release lost after a
//! complete run, a link that goes dead mid-run, a server that crashes mid-run. Each
//! asserts the exit code, a time bound, and that what aludel says the database holds
//! is what it holds.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use aludel_testkit::faults::{Cluster, NetNs, Relay, RelayMode};
use aludel_testkit::{PgDatabase, Rev, TestProject, pg_rows, postgres_admin_url};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Runs to the end or is killed at `limit`: a hang fails the test instead of
/// hanging it.
#[track_caller]
fn run_within(cmd: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let out = wait_within(spawn(cmd), limit);
    (out, started.elapsed())
}

#[track_caller]
pub(crate) fn wait_within(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "aludel still ran after {limit:?} and was killed; stderr so far:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Starts `cmd` with its output captured, for [`wait_within`].
pub(crate) fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a query holding `text` runs in database `db` of the server at `url`,
/// then, with `terminate`, ends its backend as an administrator would.
#[track_caller]
fn once_running(url: &str, db: &str, text: &str, terminate: bool) {
    let what = if terminate {
        "count(pg_terminate_backend(pid))"
    } else {
        "count(*)"
    };
    let started = Instant::now();
    while pg_rows(
        url,
        &format!(
            "SELECT {what} FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE '%{text}%' AND pid <> pg_backend_pid()"
        ),
    ) == ["0"]
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{text} never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Revision r2 after r1, whose COMMIT takes `secs` seconds: a deferred trigger
/// sleeps at commit time, so the server works on the COMMIT that long.
fn slow_commit_after_r1(secs: u32) -> Rev {
    Rev::new("r2", &["r1"], "slow commit").sql(
        &format!(
            "CREATE TABLE t2 (id int);\n\
             CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({secs}); RETURN NULL; END $$;\n\
             CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t2 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();\n\
             INSERT INTO t2 VALUES (1);"
        ),
        "DROP TABLE t2;\nDROP FUNCTION slow_commit();",
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Revisions r1..rN in a line, each creating table tI; `slow` adds a sleep to one.
fn write_line(p: &TestProject, n: usize, slow: Option<(usize, f64)>) {
    for i in 1..=n {
        let parents: Vec<String> = if i == 1 {
            vec![]
        } else {
            vec![format!("r{}", i - 1)]
        };
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        let mut up = format!("CREATE TABLE t{i} (id int);");
        if let Some((at, secs)) = slow
            && at == i
        {
            up.push_str(&format!("\nSELECT pg_sleep({secs});"));
        }
        p.write_rev(
            &Rev::new(&format!("r{i}"), &parents, &format!("make t{i}"))
                .sql(&up, &format!("DROP TABLE t{i};")),
        );
    }
}

fn version_rows(url: &str) -> Vec<String> {
    pg_rows(url, "SELECT version_num FROM aludel_version")
}

/// What the message says the version table read after reconnecting.
fn read_back_claim(stderr: &str) -> String {
    let (_, rest) = stderr
        .split_once("after reconnecting, the version table reads ")
        .unwrap_or_else(|| panic!("no read-back in:\n{stderr}"));
    rest.split([' ', ':']).next().unwrap().to_string()
}

/// A new database, a relay to it in `mode`, and a project of `n` revisions that
/// reaches the database through the relay.
fn through_relay(mode: RelayMode, n: usize) -> (PgDatabase, Relay, TestProject) {
    let db = PgDatabase::create();
    let relay = Relay::to_test_postgres(mode);
    let p = TestProject::new(BIN, Some(&relay.url(db.name())), "");
    write_line(&p, n, None);
    (db, relay, p)
}

/// `aludel upgrade head`, which must end within a minute with `code`; its stderr.
#[track_caller]
fn upgrade_head(p: &TestProject, code: i32) -> String {
    let (out, _) = run_within(p.command(&["upgrade", "head"]), Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

#[test]
fn a_server_that_accepts_and_never_answers_is_a_timed_out_attempt_retried_then_exit_1() {
    let relay = Relay::to_test_postgres(RelayMode::AcceptAndStall);
    let url = format!("{}&connect_timeout=2", relay.url("postgres"));
    let p = TestProject::new(BIN, Some(&url), "");
    p.set_option("connect", "retries", "2");
    write_line(&p, 1, None);
    let (out, took) = run_within(p.command(&["upgrade", "head"]), Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}:\n{err}");
    assert!(
        err.contains("no answer within 2 s (connect_timeout)")
            && err.contains("(attempt 1 of 2); retrying in 0.1 s")
            && err.contains("(gave up after 2 attempts)"),
        "{err}"
    );
}

#[test]
fn a_connection_cut_before_a_commit_reports_what_was_read_back_the_revision_did_not_commit() {
    let (db, relay, p) = through_relay(RelayMode::CutBefore("COMMIT", 2), 3);
    let err = upgrade_head(&p, 1);
    assert_eq!(version_rows(db.url()), ["r1"]);
    assert!(
        err.contains("upgrade of revision r2 failed (make t2)")
            && err.contains("while committing the revision")
            && err.contains(
                "after reconnecting, the version table reads r1 (revision r2 did not commit): the database is there; run the command again to continue"
            ),
        "{err}"
    );
    assert!(!err.contains("fix the revision"), "{err}");
    // Running again continues from there.
    relay.set_mode(RelayMode::Forward);
    p.ok(&["upgrade", "head"]);
    assert_eq!(version_rows(db.url()), ["r3"]);
}

#[test]
fn a_connection_cut_after_a_commit_reports_that_the_revision_committed() {
    let (db, _relay, p) = through_relay(RelayMode::CutAfter("COMMIT", 2), 3);
    let err = upgrade_head(&p, 1);
    assert_eq!(version_rows(db.url()), ["r2"]);
    assert!(
        err.contains("after reconnecting, the version table reads r2 (revision r2 committed)"),
        "{err}"
    );
    assert!(!err.contains("rolled back"), "{err}");
}

#[test]
fn a_lock_release_lost_after_a_complete_run_is_a_warning_and_exit_0() {
    let (db, _relay, p) = through_relay(RelayMode::CutBefore("pg_advisory_unlock", 1), 3);
    let err = upgrade_head(&p, 0);
    assert!(
        err.contains("WARN  Could not release the migration lock (")
            && err.contains("the session that held it is gone, and the lock with it"),
        "{err}"
    );
    assert_eq!(version_rows(db.url()), ["r3"]);
    // The lock went with the session: the next run takes it at once.
    let again = p.ok(&["upgrade", "head"]);
    assert!(!again.stderr.contains("Waiting"), "{again}");
}

#[test]
fn aludel_sessions_end_themselves_when_left_idle_in_a_transaction() {
    let db = PgDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    p.write_rev(&Rev::new("r1", &[], "record").sql(
        "CREATE TABLE s AS SELECT current_setting('idle_in_transaction_session_timeout') AS idle, \
         current_setting('tcp_keepalives_idle') AS keepalives_idle;",
        "DROP TABLE s;",
    ));
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        db.rows("SELECT idle || ' ' || keepalives_idle FROM s"),
        ["1min 30"]
    );
    // A value the user set (here in the URL's options) is kept.
    let db2 = PgDatabase::create();
    let url = format!(
        "{}?options=-c%20idle_in_transaction_session_timeout%3D7s",
        db2.url()
    );
    let p2 = TestProject::new(BIN, Some(&url), "");
    p2.write_rev(&Rev::new("r1", &[], "record").sql(
        "CREATE TABLE s AS SELECT current_setting('idle_in_transaction_session_timeout') AS idle;",
        "DROP TABLE s;",
    ));
    p2.ok(&["upgrade", "head"]);
    assert_eq!(db2.rows("SELECT idle FROM s"), ["7s"]);
}

#[test]
fn a_statement_cancelled_by_statement_timeout_is_not_blamed_on_the_revision() {
    let db = PgDatabase::create();
    let url = format!("{}?options=-c%20statement_timeout%3D300", db.url());
    let p = TestProject::new(BIN, Some(&url), "");
    write_line(&p, 2, Some((2, 2.0)));
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains("canceling statement due to statement timeout")
            && r.stderr.contains("the revision was rolled back: the database is at r1; the statement was cancelled (a statement timeout or an administrator)"),
        "{r}"
    );
    assert!(!r.stderr.contains("fix the revision"), "{r}");
}

#[test]
fn a_session_terminated_by_an_administrator_is_said_so_and_read_back() {
    let db = PgDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    write_line(&p, 3, Some((2, 30.0)));
    let child = spawn(p.command(&["upgrade", "head"]));
    once_running(&postgres_admin_url(), db.name(), "pg_sleep(30", true);
    let out = wait_within(child, Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("terminating connection due to administrator command"),
        "{err}"
    );
    assert_eq!(read_back_claim(&err), "r1", "{err}");
    assert_eq!(version_rows(db.url()), ["r1"]);
    assert!(!err.contains("fix the revision"), "{err}");
}

#[test]
fn a_link_that_goes_dead_mid_run_ends_the_run_and_the_server_frees_the_lock() {
    let ns = NetNs::create();
    let db = PgDatabase::create();
    let relay = Relay::on(
        ns.host_ip(),
        format!("127.0.0.1:{}", admin_port()).parse().unwrap(),
        RelayMode::Forward,
    );
    // Short TCP timers and server idle timeout so the test is quick; the defaults
    // (documented in SPEC) bound the same things at about a minute.
    let url = format!(
        "{}&connect_timeout=2&keepalives_idle=1&keepalives_interval=1&keepalives_count=2&tcp_user_timeout=3000&options=-c%20idle_in_transaction_session_timeout%3D2s",
        relay.url(db.name())
    );
    let p = TestProject::new(BIN, Some(&url), "");
    p.set_option("connect", "retries", "2");
    write_line(&p, 3, Some((2, 1.0)));
    let started = Instant::now();
    let child = spawn(ns.wrap(&p.command(&["upgrade", "head"])));
    relay.wait_for_query("pg_sleep", Duration::from_secs(20));
    ns.cut();
    let out = wait_within(child, Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40), "{err}");
    assert!(
        err.contains("upgrade of revision r2 failed")
            && err.contains("the version table could not be read back")
            && err
                .contains("whether revision r2 committed is unknown: the database is at r1 or r2")
            && err.contains("running the command again is safe"),
        "{err}"
    );
    // The server ended the stalled session, and the lock with it: a run from here
    // takes it within seconds and applies each remaining revision once.
    let direct = TestProject::new(BIN, Some(db.url()), "");
    write_line(&direct, 3, None);
    let again = direct.ok(&["upgrade", "head"]);
    assert!(
        again.stderr.contains("Running upgrade r1 -> r2")
            && again.stderr.contains("Running upgrade r2 -> r3"),
        "{again}"
    );
    assert_eq!(version_rows(db.url()), ["r3"]);
}

fn admin_port() -> u16 {
    let admin = postgres_admin_url();
    let rest = admin.split_once('@').map_or(admin.as_str(), |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap();
    hostport
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

#[test]
fn after_a_server_crash_mid_run_the_reported_state_is_the_state_after_recovery() {
    let cluster = Cluster::start();
    let p = TestProject::new(BIN, Some(&cluster.url()), "");
    // Retries long enough to outlast the restart.
    p.set_option("connect", "retries", "30");
    p.set_option("connect", "delay_seconds", "0.2");
    write_line(&p, 40, Some((30, 5.0)));
    let child = spawn(p.command(&["upgrade", "head"]));
    // Crash while revision 30 sleeps, with 29 revisions reported applied, all but
    // none durable yet (asynchronous commits).
    once_running(&cluster.url(), "postgres", "pg_sleep(5", false);
    cluster.crash();
    std::thread::sleep(Duration::from_millis(500));
    cluster.restart();
    let out = wait_within(child, Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let truth = version_rows(&cluster.url());
    assert_eq!(vec![read_back_claim(&err)], truth, "{err}");
    // Revisions reported applied and lost in the crash are named as such.
    if truth != ["r29"] {
        assert!(
            err.contains("reported applied above, did not survive"),
            "{err}"
        );
    }
    // The run can be completed from there.
    p.ok(&["upgrade", "head"]);
    assert_eq!(version_rows(&cluster.url()), ["r40"]);
}

#[test]
fn a_commit_still_running_when_the_connection_is_lost_is_decided_before_the_read_back() {
    let db = PgDatabase::create();
    let relay = Relay::to_test_postgres(RelayMode::CutAfter("COMMIT", 2));
    let p = TestProject::new(BIN, Some(&relay.url(db.name())), "");
    write_line(&p, 1, None);
    // r2's COMMIT takes two seconds: a deferred trigger sleeps at commit time. The
    // connection is cut as the COMMIT is sent, so the read-back would otherwise come
    // while the old session is still committing.
    p.write_rev(&slow_commit_after_r1(2));
    let (out, _) = run_within(p.command(&["upgrade", "head"]), Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let claim = read_back_claim(&err);
    // Whatever the old session was doing has long finished now.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(vec![claim], version_rows(db.url()), "{err}");
}

#[test]
fn a_frozen_proxy_that_still_acknowledges_tcp_is_a_lost_connection_after_the_response_timeout() {
    let db = PgDatabase::create();
    let relay = Relay::to_test_postgres(RelayMode::FreezeAt("COMMIT", 2));
    let p = TestProject::new(BIN, Some(&relay.url(db.name())), "");
    p.set_option("connect", "response_timeout_seconds", "2");
    write_line(&p, 3, None);
    let (out, took) = run_within(p.command(&["upgrade", "head"]), Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}:\n{err}");
    assert!(
        err.contains("no answer from the server within 2 s ([connect] response_timeout_seconds)")
            && err.contains(
                "after reconnecting, the version table reads r1 (revision r2 did not commit)"
            ),
        "{err}"
    );
    // The frozen session was ended with its lock: a run from here goes on at once.
    let again = p.ok(&["upgrade", "head"]);
    assert!(!again.stderr.contains("Waiting"), "{again}");
    assert_eq!(version_rows(db.url()), ["r3"]);
}

#[test]
fn a_connection_lost_in_a_revision_outside_a_transaction_says_its_statements_may_have_run() {
    let db = PgDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    write_line(&p, 1, None);
    p.write_rev(
        &Rev::new("r2", &["r1"], "outside")
            .header("transaction", "false")
            .sql(
                "CREATE TABLE t2a (id int);\nSELECT pg_sleep(31);\nCREATE TABLE t2b (id int);",
                "DROP TABLE t2b;\nDROP TABLE t2a;",
            ),
    );
    let child = spawn(p.command(&["upgrade", "head"]));
    once_running(&postgres_admin_url(), db.name(), "pg_sleep(31", true);
    let out = wait_within(child, Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads r1: the database is there; revision r2 runs outside a transaction: its statements before line 8 were applied (a re-run resumes after those the journal records)")
            && err.contains("that one may have been too"),
        "{err}"
    );
    assert!(!err.contains("did not commit"), "{err}");
    // It is true: the first statement ran.
    assert_eq!(db.rows("SELECT to_regclass('t2a') IS NOT NULL"), ["t"]);
}

#[test]
fn a_connection_lost_at_the_commit_of_a_whole_run_speaks_of_the_run() {
    let (db, _relay, p) = through_relay(RelayMode::CutBefore("COMMIT", 1), 3);
    p.set_option("aludel", "transaction_per_migration", "false");
    let err = upgrade_head(&p, 1);
    assert!(
        err.contains("after reconnecting, the version table reads <base> (the run's transaction did not commit: the database is as before the run)"),
        "{err}"
    );
    assert!(!err.contains("did not survive"), "{err}");
    assert!(db.tables().is_empty(), "{:?}", db.tables());
}

#[test]
fn a_commit_that_works_longer_than_the_response_timeout_is_waited_for() {
    let db = PgDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    p.set_option("connect", "response_timeout_seconds", "1");
    write_line(&p, 1, None);
    p.write_rev(&slow_commit_after_r1(3));
    p.ok(&["upgrade", "head"]);
    assert_eq!(version_rows(db.url()), ["r2"]);
}

/// On MariaDB every revision commits statement by statement: a session the server
/// kills in the middle of one leaves its earlier statements applied and recorded, the
/// message says so after reading the version table back, and the re-run resumes.
#[test]
fn a_session_killed_in_a_revision_on_mariadb_says_what_was_applied_and_resumes() {
    let db = aludel_testkit::MysqlDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    write_line(&p, 1, None);
    let r2 = p.write_rev(&Rev::new("r2", &["r1"], "slow").sql(
        "CREATE TABLE t2a (id int);\nSELECT SLEEP(31);\nCREATE TABLE t2b (id int);",
        "DROP TABLE t2b;\nDROP TABLE t2a;",
    ));
    let child = spawn(p.command(&["upgrade", "head"]));
    // The server ends the session running the sleep, as an administrator's KILL or
    // a failover does.
    let id = aludel_testkit::mysql_session_running(db.url(), db.name(), "SELECT SLEEP(31)");
    db.execute(&format!("KILL CONNECTION {id}"));
    let out = wait_within(child, Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads r1: the database is there; revision r2 runs outside a transaction: its statements before line 7 were applied (a re-run resumes after those the journal records), and that one may have been too"),
        "{err}"
    );
    assert!(!err.contains("did not commit"), "{err}");
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
    assert_eq!(
        db.rows("SELECT statement_index FROM aludel_version_journal"),
        ["0"]
    );
    // The statement it died in may change; the re-run resumes there.
    let text = std::fs::read_to_string(&r2).unwrap();
    std::fs::write(&r2, text.replace("SELECT SLEEP(31);", "SELECT 1;")).unwrap();
    let again = p.ok(&["upgrade", "head"]);
    assert!(
        again.stderr.contains("Resuming revision r2 at line 7"),
        "{again}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
    assert!(db.tables().contains(&"t2b".to_string()));
}

/// `aludel check` of a one-table desired schema (against an empty database, a drift),
/// started.
fn spawn_check_with_shadow(p: &TestProject) -> Child {
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE widgets (id integer PRIMARY KEY, name varchar(50) NOT NULL);\n",
    )
    .unwrap();
    let mut cmd = p.command(&["check"]);
    cmd.env("ALUDEL_CACHE_DIR", "");
    spawn(cmd)
}

/// [`spawn_check_with_shadow`] run to its end: its output and the process's id, which
/// names its shadow databases (`aludel_shadow_<pid>_<n>`).
fn check_with_shadow(p: &TestProject) -> (Output, u32) {
    let child = spawn_check_with_shadow(p);
    let pid = child.id();
    (wait_within(child, Duration::from_secs(60)), pid)
}

/// How many `DROP DATABASE` statements of their own (a shadow's owner drops it so;
/// MySQL's shadow empties itself with one followed by `CREATE DATABASE`) the relay saw.
fn owner_drops(relay: &Relay) -> usize {
    relay
        .queries()
        .into_iter()
        .filter(|q| q.starts_with("DROP DATABASE") && !q.contains("CREATE DATABASE"))
        .count()
}

/// The shadow databases `pid` left on the PostgreSQL server.
fn pg_shadows_of(pid: u32) -> Vec<String> {
    pg_rows(
        &postgres_admin_url(),
        &format!(
            "SELECT datname FROM pg_database WHERE datname LIKE 'aludel\\_shadow\\_{pid}\\_%'"
        ),
    )
}

/// The session that made the shadow database is gone when `check` drops it (a server
/// timeout, an administrator, a pooler or a failover ended it; here the relay cuts it
/// at the `DROP DATABASE`): the database is dropped over a new session, the check's
/// answer stands, and nothing needs saying.
#[test]
fn a_shadow_database_whose_session_is_lost_is_dropped_over_a_new_one() {
    let db = PgDatabase::create();
    let relay = Relay::to_test_postgres(RelayMode::CutBefore("DROP DATABASE", 1));
    let p = TestProject::new(BIN, Some(&relay.url(db.name())), "");
    let (out, pid) = check_with_shadow(&p);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("add table public.widgets"),
        "{err}"
    );
    assert!(!err.contains("shadow"), "{err}");
    assert_eq!(
        owner_drops(&relay),
        2,
        "the first drop was cut, a second one ran"
    );
    assert_eq!(pg_shadows_of(pid), Vec::<String>::new());
}

/// Drops a database at the end of a test, whatever the test found.
struct DropAtEnd(String);

impl Drop for DropAtEnd {
    fn drop(&mut self) {
        pg_rows(
            &postgres_admin_url(),
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.0),
        );
    }
}

/// No `DROP DATABASE` can reach the server (the relay cuts every one, on the first
/// session and on the new one): `check` still gives its answer and exit code, and
/// warns that the shadow database is still on the server, with the statement that
/// drops it. The warning is true: the database is there, and that statement drops it.
#[test]
fn a_shadow_database_that_cannot_be_dropped_is_named_with_the_statement_that_drops_it() {
    let db = PgDatabase::create();
    let relay = Relay::to_test_postgres(RelayMode::CutEvery("DROP DATABASE"));
    let p = TestProject::new(BIN, Some(&relay.url(db.name())), "");
    let (out, pid) = check_with_shadow(&p);
    let left = pg_shadows_of(pid);
    let _cleanup: Vec<DropAtEnd> = left.iter().cloned().map(DropAtEnd).collect();
    let [name] = &left[..] else {
        panic!("one shadow database left: {left:?}");
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    assert!(
        err.contains(&format!(
            "WARN  Could not drop the shadow database {name} on {} (",
            relay.addr()
        )) && err.contains(&format!(
            "): it may still be there (no answer said whether a drop ran); drop it with: {statement}\n"
        )) && err.contains("then over a new session"),
        "{err}"
    );
    pg_rows(&postgres_admin_url(), &statement);
    assert_eq!(pg_shadows_of(pid), Vec::<String>::new());
}

/// The same loss on MariaDB/MySQL: the shadow database is dropped over a new session.
#[test]
fn a_mysql_shadow_database_whose_session_is_lost_is_dropped_over_a_new_one() {
    let db = aludel_testkit::MysqlDatabase::create();
    // The first is the shadow's own, emptying it for the as-written pass
    // (`DROP DATABASE ...; CREATE DATABASE ...`); the second is the owner's drop.
    let relay = Relay::to_test_mysql(RelayMode::CutBefore("DROP DATABASE", 2));
    let p = TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    let (out, pid) = check_with_shadow(&p);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("shadow"), "{err}");
    assert_eq!(
        owner_drops(&relay),
        2,
        "the first drop was cut, a second one ran"
    );
    let left = aludel_testkit::mysql_rows(
        &aludel_testkit::mysql_admin_url(),
        &format!("SHOW DATABASES LIKE 'aludel\\_shadow\\_{pid}\\_%'"),
    );
    assert_eq!(left, Vec::<String>::new());
}

/// The server refuses the drop: a prepared transaction holds the shadow database,
/// which not even `FORCE` ends. The session that made it froze at its `DROP DATABASE`
/// (a proxy that stopped forwarding; the test prepares the transaction meanwhile)
/// and the drop over a new session is refused: the warning says the database is
/// still there, which it is.
#[test]
fn a_shadow_database_the_server_refuses_to_drop_is_said_to_be_still_there() {
    let cluster = Cluster::start_with(|_| "-c max_prepared_transactions=2".to_string());
    let relay = Relay::on(
        std::net::Ipv4Addr::LOCALHOST.into(),
        (std::net::Ipv4Addr::LOCALHOST, cluster.port()).into(),
        RelayMode::FreezeAt("DROP DATABASE", 1),
    );
    pg_rows(&cluster.url(), "CREATE DATABASE app");
    let p = TestProject::new(BIN, Some(&relay.url("app")), "");
    p.set_option("connect", "response_timeout_seconds", "2");
    let child = spawn_check_with_shadow(&p);
    relay.wait_for_query("DROP DATABASE", Duration::from_secs(30));
    let shadows = pg_rows(
        &cluster.url(),
        "SELECT datname FROM pg_database WHERE datname LIKE 'aludel\\_shadow\\_%'",
    );
    let [name] = &shadows[..] else {
        panic!("one shadow database: {shadows:?}");
    };
    let in_shadow = cluster.url().replace("/postgres?", &format!("/{name}?"));
    pg_rows(
        &in_shadow,
        "BEGIN; CREATE TABLE held (i int); PREPARE TRANSACTION 'hold'",
    );
    let out = wait_within(child, Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "WARN  Could not drop the shadow database {name} on {} (",
            relay.addr()
        )) && err.contains("prepared transactions")
            && err.contains(&format!(
                "): it is still there; drop it with: DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)\n"
            )),
        "{err}"
    );
    assert_eq!(
        pg_rows(
            &cluster.url(),
            &format!("SELECT datname FROM pg_database WHERE datname = '{name}'"),
        ),
        std::slice::from_ref(name)
    );
    pg_rows(&in_shadow, "ROLLBACK PREPARED 'hold'");
}

/// Revisions `revisions` (rI above rI-1) in a line, each creating two tables (aI,
/// then bI), so that each is journaled.
fn write_pairs(p: &TestProject, revisions: std::ops::RangeInclusive<usize>) {
    for i in revisions {
        let parent = format!("r{}", i - 1);
        let parents: Vec<&str> = if i == 1 { vec![] } else { vec![&parent] };
        p.write_rev(&Rev::new(&format!("r{i}"), &parents, "pair").sql(
            &format!("CREATE TABLE a{i} (id int);\nCREATE TABLE b{i} (id int);"),
            &format!("DROP TABLE b{i};\nDROP TABLE a{i};"),
        ));
    }
}

/// The number of the revision the version table at `url` records (0 for none).
fn recorded_number(url: &str) -> usize {
    let rows = aludel_testkit::mysql_rows(url, "SELECT version_num FROM aludel_version");
    match &rows[..] {
        [] => 0,
        [one] => one.trim_start_matches('r').parse().unwrap(),
        more => panic!("the version table holds {more:?}"),
    }
}

/// Follows the advice of a run that stopped at a statement an earlier, crashed run
/// may have applied ("already exists" at the resume point): the `aludel stamp` or the
/// journal `INSERT` it gives. Panics on any other failure.
fn follow_resume_advice(p: &TestProject, url: &str, err: &str) {
    assert!(
        err.contains("an earlier run may have applied this statement"),
        "a re-run after a crash failed otherwise:\n{err}"
    );
    if let Some((_, rest)) = err.split_once("record it with `aludel stamp ") {
        let rev = rest.split('`').next().unwrap();
        p.ok(&["stamp", rev]);
    } else {
        let (_, rest) = err
            .split_once("to record it: ")
            .unwrap_or_else(|| panic!("no way to record it in:\n{err}"));
        let insert = rest.lines().next().unwrap();
        aludel_testkit::mysql_rows(url, insert);
    }
}

/// How [`stopped_at_random_moments`] stops a run.
enum Stop<'a> {
    /// The server is killed (its unflushed log lost) and restarted; the run
    /// reconnects and reports what the version table holds.
    ServerCrash(&'a aludel_testkit::faults::MariaServer),
    /// aludel itself is killed (SIGKILL).
    Killed,
}

/// Runs `upgrade head` of [`write_pairs`]'s `n` revisions (400 more each time a run
/// ends before its stop) on the MariaDB database
/// `schema` at `url`, stopping it three times at random moments as `stop` says, and
/// checks after each stop that the schema holds whole revisions up to the one the
/// version table records and, of the next, at most its first statements, in order,
/// the journal's among them; nothing after. Then the run completes, following the
/// advice of any re-run that stops at a statement a stopped run applied without
/// recording it.
fn stopped_at_random_moments(p: &TestProject, url: &str, schema: &str, n: usize, stop: Stop) {
    let mut n = n;
    write_pairs(p, 1..=n);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut stops = 0;
    let mut runs: u32 = 0;
    while stops < 3 {
        runs += 1;
        assert!(runs < 12, "seed {seed}: re-runs kept stopping");
        let mut child = spawn(p.command(&["upgrade", "head"]));
        // Somewhere in the run: after its first revisions, at a varying moment.
        let delay =
            200 + u64::from(seed.wrapping_mul(2_654_435_761).wrapping_add(runs * 977)) % 500;
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let err = stderr(&out);
            if out.status.success() {
                // A fast machine finished the history before this stop: more of it.
                write_pairs(p, n + 1..=n + 400);
                n += 400;
                continue;
            }
            eprintln!("a re-run stopped where a stopped run had:\n{err}");
            follow_resume_advice(p, url, &err);
            continue;
        }
        stops += 1;
        let mut context = format!("seed {seed}, stop {stops} after {delay} ms");
        match stop {
            Stop::ServerCrash(server) => {
                server.crash();
                std::thread::sleep(Duration::from_millis(300));
                server.restart();
                let out = wait_within(child, Duration::from_secs(90));
                let err = stderr(&out);
                context = format!("{context}:\n{err}");
                assert_eq!(out.status.code(), Some(1), "{context}");
                // What the message says the database holds is what it holds.
                let k = recorded_number(url);
                assert_eq!(read_back_claim(&err), format!("r{k}"), "{context}");
                // Each revision's record commits durably before the next revision
                // starts: the revision the last one started from survived.
                let started_from = err
                    .lines()
                    .filter_map(|l| l.split_once("Running upgrade r")?.1.split_once(" -> "))
                    .map(|(from, _)| from.parse::<usize>().unwrap())
                    .next_back()
                    .unwrap_or(0);
                assert!(k >= started_from, "{context}");
            }
            Stop::Killed => {
                child.kill().unwrap();
                child.wait().unwrap();
            }
        }
        let k = recorded_number(url);
        eprintln!("{context}: the version table at r{k}");
        let tables = aludel_testkit::mysql_rows(
            url,
            &format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name NOT LIKE 'aludel%'"
            ),
        );
        let has = |t: String| tables.contains(&t);
        for i in 1..=k {
            assert!(
                has(format!("a{i}")) && has(format!("b{i}")),
                "r{i}: {context}"
            );
        }
        let journal = aludel_testkit::mysql_rows(
            url,
            "SELECT CONCAT(revision, ':', statement_index) FROM aludel_version_journal",
        );
        assert!(
            journal.is_empty() || journal == [format!("r{}:0", k + 1)],
            "journal {journal:?}: {context}"
        );
        if !journal.is_empty() {
            assert!(has(format!("a{}", k + 1)), "{context}");
        }
        if has(format!("b{}", k + 1)) {
            assert!(has(format!("a{}", k + 1)), "{context}");
        }
        let beyond = (k + 2..=n).filter(|i| has(format!("a{i}")) || has(format!("b{i}")));
        assert_eq!(beyond.count(), 0, "{context}");
    }
    // From what the stops left, the run completes: at most two statements applied
    // and not recorded, each named by a re-run with the way to record it.
    for _ in 0..4 {
        let out = p.run(&["upgrade", "head"]);
        if out.code == 0 {
            break;
        }
        eprintln!("a re-run stopped where a stopped run had:\n{}", out.stderr);
        follow_resume_advice(p, url, &out.stderr);
    }
    assert_eq!(recorded_number(url), n);
    assert!(aludel_testkit::mysql_rows(url, "SELECT * FROM aludel_version_journal").is_empty());
    // Every statement was applied once: none skipped by recording it on advice.
    let tables = aludel_testkit::mysql_rows(
        url,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name NOT LIKE 'aludel%'"
        ),
    );
    assert_eq!(tables, [(2 * n).to_string()], "seed {seed}");
}

/// A MariaDB server of the test's own, durable (each commit flushed), killed three
/// times at random moments of an upgrade and restarted: each time the run says what
/// the version table holds after recovery, which is true, and every revision a later
/// one started from survived; see [`stopped_at_random_moments`] for the rest.
#[test]
fn after_an_innodb_server_crash_mid_run_the_read_back_is_the_truth_and_the_run_completes() {
    let server = aludel_testkit::faults::MariaServer::start();
    let url = server.url("test");
    let p = TestProject::new(BIN, Some(&url), "");
    // Retries long enough to outlast the restart and InnoDB's recovery.
    p.set_option("connect", "retries", "100");
    p.set_option("connect", "delay_seconds", "0.2");
    stopped_at_random_moments(&p, &url, "test", 800, Stop::ServerCrash(&server));
}

/// A MariaDB server restarted (after a crash) while a statement runs: the server
/// numbers connections from 1 again, so the lost session's number may be another
/// client's by the time aludel has reconnected. aludel ends the session it lost and
/// no other: the client holding that number keeps its connection, and the run says
/// where the database is.
#[test]
fn after_a_server_restart_the_client_holding_the_lost_sessions_number_is_left_alone() {
    let server = aludel_testkit::faults::MariaServer::start();
    let url = server.url("test");
    let p = TestProject::new(BIN, Some(&url), "");
    p.set_option("connect", "retries", "100");
    p.set_option("connect", "delay_seconds", "1");
    p.write_rev(&Rev::new("r1", &[], "slow").sql(
        "CREATE TABLE t1 AS SELECT SLEEP(60) AS s;",
        "DROP TABLE t1;",
    ));
    let child = spawn(p.command(&["upgrade", "head"]));
    let lost = aludel_testkit::mysql_session_running(&url, "test", "CREATE TABLE t1");
    let lost = u32::try_from(lost).unwrap();
    server.crash();
    server.restart();
    // Sessions until one has the lost one's number (unless aludel's reconnection
    // took it first: then it must not end its own).
    let mut held = Vec::new();
    let stranger = loop {
        let c = aludel_testkit::mysql_conn(&url);
        match c.connection_id() {
            id if id == lost => break Some(c),
            id if id > lost => break None,
            _ => held.push(c),
        }
    };
    let out = wait_within(child, Duration::from_secs(90));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads <base>"),
        "{err}"
    );
    if let Some(mut c) = stranger {
        assert!(
            c.ping().is_ok(),
            "aludel ended another client's session:\n{err}"
        );
    }
}

/// aludel killed (SIGKILL) three times at random moments of an upgrade on MariaDB:
/// see [`stopped_at_random_moments`].
#[test]
fn a_run_killed_at_random_moments_on_mariadb_leaves_whole_revisions_and_completes() {
    let db = aludel_testkit::MysqlDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    stopped_at_random_moments(&p, db.url(), db.name(), 800, Stop::Killed);
}

/// A revision's last statement and the version-table change go to MariaDB in one
/// request, which the server finishes on its own: aludel killed while that statement
/// runs leaves the revision applied and recorded, and the next run goes on from
/// there with nothing to repair.
#[test]
fn a_run_killed_in_a_revisions_last_statement_on_mariadb_leaves_it_recorded() {
    let db = aludel_testkit::MysqlDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    write_line(&p, 1, None);
    p.write_rev(&Rev::new("r2", &["r1"], "slow").sql(
        "CREATE TABLE t2 AS SELECT SLEEP(1.5) AS s;",
        "DROP TABLE t2;",
    ));
    p.write_rev(
        &Rev::new("r3", &["r2"], "after").sql("CREATE TABLE t3 (id int);", "DROP TABLE t3;"),
    );
    let mut child = spawn(p.command(&["upgrade", "head"]));
    aludel_testkit::mysql_session_running(db.url(), db.name(), "CREATE TABLE t2");
    child.kill().unwrap();
    child.wait().unwrap();
    // The server finishes what it was sent.
    let started = Instant::now();
    while db.rows("SELECT version_num FROM aludel_version") != ["r2"] {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "r2 was never recorded: {:?}",
            db.rows("SELECT version_num FROM aludel_version")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let again = p.ok(&["upgrade", "head"]);
    assert!(
        again.stderr.contains("Running upgrade r2 -> r3") && !again.stderr.contains("-> r2,"),
        "{again}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r3"]);
}

/// A statement's journal row is started as soon as the statement is applied, not
/// when the next one is announced: aludel held between the two (its stderr pipe full,
/// as a log collector that stops reading leaves it) still records the statement, and
/// killed there, the re-run resumes after it.
#[test]
fn a_run_held_before_announcing_the_next_statement_on_mariadb_has_recorded_the_last() {
    use std::io::{BufRead, Write};
    let db = aludel_testkit::MysqlDatabase::create();
    let p = TestProject::new(BIN, Some(db.url()), "");
    // The first statement sleeps: time for the test to fill the pipe before the
    // second is announced.
    p.write_rev(&Rev::new("r1", &[], "two").sql(
        "CREATE TABLE t1 AS SELECT SLEEP(1) AS s;\nCREATE TABLE t2 (id int);",
        "DROP TABLE t2;\nDROP TABLE t1;",
    ));
    let (reader, writer) = std::io::pipe().unwrap();
    let mut filler = writer.try_clone().unwrap();
    let mut cmd = p.command(&["upgrade", "head"]);
    cmd.stdout(std::process::Stdio::null()).stderr(writer);
    let mut child = cmd.spawn().unwrap();
    // The command's own copy of the write end is the child's now; the test keeps
    // `filler` only.
    drop(cmd);
    let mut lines = std::io::BufReader::new(reader);
    let mut seen = String::new();
    while !seen.contains("Running the statement at line 5") {
        let mut line = String::new();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "stderr ended: {seen}"
        );
        seen.push_str(&line);
    }
    // Nothing is written while the first statement sleeps: fill the pipe (64 KiB on
    // Linux; a thread, as its write blocks once the pipe is full), and the
    // announcement of the second statement waits.
    let fill = std::thread::spawn(move || {
        let _ = filler.write_all(&[b'.'; 1 << 20]);
    });
    let started = Instant::now();
    while db.rows("SELECT statement_index FROM aludel_version_journal WHERE revision = 'r1'")
        != ["0"]
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the first statement was never recorded: {seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still held: the second statement was never sent.
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lines);
    fill.join().unwrap();
    assert_eq!(
        aludel_testkit::mysql_rows(
            db.url(),
            &format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' AND table_name LIKE 't%'",
                db.name()
            ),
        ),
        ["t1"]
    );
    let resumed = p.ok(&["upgrade", "head"]);
    assert!(
        resumed.stderr.contains(
            "Resuming revision r1 at line 6: an earlier run applied its first 1 statement"
        ),
        "{resumed}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
}

/// The connection lost once a revision's last statement and its record were sent:
/// the read-back finds the revision recorded, and the message says it committed,
/// with no statement left in doubt.
#[test]
fn a_connection_cut_after_a_revisions_last_statement_and_record_on_mariadb_says_it_committed() {
    let db = aludel_testkit::MysqlDatabase::create();
    let relay = Relay::to_test_mysql(RelayMode::CutAfter("CREATE TABLE t2", 1));
    let p = TestProject::new(BIN, Some(&relay.mysql_url(db.name())), "");
    write_line(&p, 3, None);
    let (out, _) = run_within(p.command(&["upgrade", "head"]), Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("after reconnecting, the version table reads r2 (revision r2 committed): the database is there; run the command again to continue"),
        "{err}"
    );
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r2"]);
}
