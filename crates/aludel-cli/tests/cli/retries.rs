//! Waiting for the database: every failed attempt is logged, the last error gives the
//! reason, a database that comes up during the retries is used, and the password never
//! shows.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use aludel_testkit::{
    PgDatabase, Rev, Run, TestProject, closed_port, json_log, postgres_admin_url,
};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

const PASSWORD: &str = "hunter2";

fn assert_no_password(r: &Run) {
    assert!(
        !r.stdout.contains(PASSWORD) && !r.stderr.contains(PASSWORD),
        "the password was printed:\n{r}"
    );
}

fn unreachable_project(port: u16) -> TestProject {
    let url = format!("postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/app");
    let p = TestProject::new(BIN, Some(&url), "");
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", ""));
    p
}

/// Three attempts: two logged as warnings with the wait before the next (the delay
/// doubles), the third ends the run with the reason and the count.
fn assert_three_attempts(r: &Run, port: u16, delays: [&str; 2], total: &str) {
    assert_eq!(r.code, 1, "{r}");
    assert_no_password(r);
    let target = format!("cannot connect to postgresql://postgres:***@127.0.0.1:{port}/app: ");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{r}");
    for (i, delay) in delays.iter().enumerate() {
        assert!(lines[i].starts_with(&format!("WARN  {target}")), "{r}");
        assert!(
            lines[i].ends_with(&format!(
                "(attempt {} of 3); retrying in {delay} (the wait doubles each time, up to 60 s: {total} of waiting in all)",
                i + 1
            )),
            "{r}"
        );
    }
    assert!(lines[2].starts_with(&format!("ERROR {target}")), "{r}");
    assert!(lines[2].ends_with("(gave up after 3 attempts)"), "{r}");
    for l in &lines {
        assert!(l.contains("Connection refused"), "no reason given: {l}");
    }
}

#[test]
fn unreachable_database_with_retry_env() {
    let port = closed_port();
    let mut p = unreachable_project(port);
    p.env("MIGRATION_RETRY_COUNT", "3");
    p.env("MIGRATION_RETRY_DELAY", "0.1");
    let r = p.run(&["upgrade", "head"]);
    assert_three_attempts(&r, port, ["0.1 s", "0.2 s"], "0.3 s");
}

#[test]
fn unreachable_database_with_retries_in_config() {
    let port = closed_port();
    let p = unreachable_project(port);
    p.set_option("connect", "retries", "3");
    p.set_option("connect", "delay_seconds", "0.2");
    let r = p.run(&["upgrade", "head"]);
    assert_three_attempts(&r, port, ["0.2 s", "0.4 s"], "0.6 s");
}

#[test]
fn environment_overrides_config_retries() {
    let port = closed_port();
    let mut p = unreachable_project(port);
    p.set_option("connect", "retries", "7");
    p.env("MIGRATION_RETRY_COUNT", "3");
    p.env("MIGRATION_RETRY_DELAY", "0.1");
    let r = p.run(&["current"]);
    assert_three_attempts(&r, port, ["0.1 s", "0.2 s"], "0.3 s");
}

#[test]
fn one_attempt_logs_no_retry() {
    let port = closed_port();
    let p = unreachable_project(port);
    let r = p.fails(&["upgrade", "head"]);
    assert_no_password(&r);
    assert!(!r.stderr.contains("WARN"), "{r}");
    assert!(r.stderr.contains("(gave up after 1 attempt)"), "{r}");
}

/// Where the test PostgreSQL listens: host and port of the admin URL.
fn postgres_addr() -> String {
    let url = postgres_admin_url();
    let rest = url.split("://").nth(1).unwrap();
    let hostport = rest
        .rsplit('@')
        .next()
        .unwrap()
        .split(['/', '?'])
        .next()
        .unwrap();
    if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:5432")
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// After `delay`, listens on `port` and forwards every connection to PostgreSQL.
fn start_forwarder_later(port: u16, delay: Duration) {
    let upstream = postgres_addr();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let server = TcpStream::connect(&upstream).unwrap();
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pipe(client, server));
            std::thread::spawn(move || pipe(s2, c2));
        }
    });
}

#[test]
fn database_that_comes_up_during_the_retries() {
    let db = PgDatabase::create();
    let port = closed_port();
    let url = format!(
        "postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/{}",
        db.name()
    );
    let mut p = TestProject::new(BIN, Some(&url), "");
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", ""));
    p.write_rev(&Rev::new("rev_2", &["rev_1"], "two").sql("CREATE TABLE t2 (id int);", ""));
    p.env("MIGRATION_RETRY_COUNT", "6");
    p.env("MIGRATION_RETRY_DELAY", "0.5");
    start_forwarder_later(port, Duration::from_secs(1));
    let r = p.run(&["upgrade", "head"]);
    assert_eq!(r.code, 0, "{r}");
    assert_no_password(&r);
    assert!(
        r.stderr.contains("(attempt 1 of 6); retrying in 0.5 s"),
        "the first attempt should fail before the forwarder listens:\n{r}"
    );
    assert!(
        r.stderr.contains("Running upgrade rev_1 -> rev_2, two"),
        "{r}"
    );
    assert_eq!(db.tables(), ["aludel_version", "t1", "t2"]);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["rev_2"]);
    let r = p.ok(&["current", "--verbose"]);
    assert_no_password(&r);
    assert!(
        r.stdout.contains("postgresql://postgres:***@127.0.0.1"),
        "{r}"
    );
}

/// With `--log-format json` every stderr line is one JSON object, the final error
/// included, and the password stays out of it.
#[test]
fn json_log_lines_for_retries_and_the_final_error() {
    let port = closed_port();
    let mut p = unreachable_project(port);
    p.env("MIGRATION_RETRY_COUNT", "2");
    p.env("MIGRATION_RETRY_DELAY", "0.1");
    let r = p.fails(&["--log-format", "json", "upgrade", "head"]);
    assert_no_password(&r);
    let lines = json_log(&r.stderr);
    assert_eq!(lines.len(), 2, "{r}");
    assert!(
        lines[0].starts_with(
            r#"{"level":"warn","event":"connect_retry","message":"cannot connect to postgresql://postgres:***@127.0.0.1:"#
        ) && lines[0].ends_with(r#"(attempt 1 of 2); retrying in 0.1 s (the wait doubles each time, up to 60 s: 0.1 s of waiting in all)"}"#),
        "{r}"
    );
    assert!(
        lines[1].starts_with(r#"{"level":"error","event":"error","message":"cannot connect to "#)
            && lines[1].ends_with(r#"(gave up after 2 attempts)"}"#),
        "{r}"
    );
}
