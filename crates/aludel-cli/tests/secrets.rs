//! Passwords never appear in any output: a PostgreSQL URL with a password given by
//! `--url`, `DATABASE_URL` or the config file, through every command, its errors, its
//! verbose and JSON forms, and a broken config file that the parser quotes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aludel_testkit::{PgDatabase, Rev, Run, TestProject};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");
const SECRET: &str = "hunter2";
/// Nothing listens on port 1: every connection is refused at once.
const UNREACHABLE: &str = "postgresql://postgres:hunter2@127.0.0.1:1/x";

const COMMANDS: &[&[&str]] = &[
    &["current"],
    &["current", "--verbose"],
    &["upgrade", "head"],
    &["downgrade", "base"],
    &["downgrade", "-1"],
    &["stamp", "head"],
    &["history"],
    &["history", "--indicate-current"],
    &["history", "--verbose", "-r", "current:"],
    &["heads", "--verbose"],
    &["branches"],
    &["show", "current"],
    &["show", "head"],
    &["upgrade", "head", "--sql"],
    &["downgrade", "head:base", "--sql"],
    &["stamp", "head", "--sql"],
    &["upgrade", "nosuchrev"],
    &["--log-format", "json", "upgrade", "head"],
    &["--format", "json", "current"],
    &["check"],
    &["revision", "-m", "another"],
];

#[track_caller]
fn assert_no_secret(run: &Run, what: &str) {
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "{what}: the password was printed:\n{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{what}:\n{run}");
    assert!(run.code == 0 || run.code == 1, "{what}:\n{run}");
}

fn project(url_in_config: Option<&str>) -> TestProject {
    let p = TestProject::new(BIN, url_in_config, "");
    p.write_rev(&Rev::new("r1", &[], "create t").sql("CREATE TABLE t (id int);", "DROP TABLE t;"));
    p
}

/// Runs every command with `prefix` before it; none may print the password.
fn run_all(p: &TestProject, prefix: &[&str], what: &str) -> Vec<Run> {
    COMMANDS
        .iter()
        .map(|args| {
            let args: Vec<&str> = prefix.iter().chain(args.iter()).copied().collect();
            let run = p.run(&args);
            assert_no_secret(&run, &format!("{what}: aludel {args:?}"));
            run
        })
        .collect()
}

#[test]
fn password_in_url_flag_is_never_printed() {
    let p = project(None);
    let runs = run_all(&p, &["--url", UNREACHABLE], "--url");
    // The connection error names the URL, redacted.
    assert_eq!(
        runs[0].stderr,
        "ERROR cannot connect to postgresql://postgres:***@127.0.0.1:1/x: error connecting to server: Connection refused (os error 111) (gave up after 1 attempt)\n"
    );
}

#[test]
fn password_in_database_url_env_is_never_printed() {
    let mut p = project(None);
    p.env("DATABASE_URL", UNREACHABLE);
    run_all(&p, &[], "DATABASE_URL");
    // Also in the password= query parameter.
    let mut p = project(None);
    p.env(
        "DATABASE_URL",
        "postgresql://127.0.0.1:1/x?user=postgres&password=hunter2",
    );
    let runs = run_all(&p, &[], "DATABASE_URL with ?password=");
    assert!(
        runs[1].stderr.contains("password=***"),
        "{}",
        runs[1].stderr
    );
}

#[test]
fn password_in_config_is_never_printed() {
    let p = project(Some(UNREACHABLE));
    run_all(&p, &[], "database_url");
}

#[test]
fn password_in_a_broken_config_is_never_printed() {
    // The TOML parser quotes the offending line: the password must not come with it.
    for line in [
        "database_url = \"postgresql://postgres:hunter2@127.0.0.1:1/x",
        "database_url = \"postgresql://postgres:hunter2@127.0.0.1:1/x\" junk",
        "database_url = [\"postgresql://postgres:hunter2@127.0.0.1:1/x\"]",
        "database_url = \"postgresql://postgres@127.0.0.1:1/x?password=hunter2\" junk",
        "database_url = \"postgresql://postgres:hunter2@127.0.0.1:notaport/x\"",
        "database_url = \"foo://postgres:hunter2@127.0.0.1:1/x\"",
    ] {
        let p = project(None);
        p.aludel_config(line);
        let run = p.run(&["current", "--verbose"]);
        assert_eq!(run.code, 1, "{line}\n{run}");
        assert_no_secret(&run, line);
        assert!(run.stderr.contains("[PROJECT]/aludel.toml"), "{run}");
    }
    for url in [
        "postgresql://postgres:hunter2@127.0.0.1:notaport/x",
        "postgresql://postgres:hunter2@[bad/x",
        "postgresql://postgres:hunter2@127.0.0.1:1/x?sslmode=bogus",
    ] {
        let p = project(None);
        let run = p.run(&["--url", url, "current"]);
        assert_eq!(run.code, 1, "{url}\n{run}");
        assert_no_secret(&run, url);
    }
}

/// The URL of `db` with a password, and that password: `hunter2` added when the test
/// server's URL has none (trust authentication ignores it), else its own.
fn with_password(db: &PgDatabase) -> (String, String) {
    let (scheme, rest) = db.url().split_once("://").unwrap();
    let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
    match userinfo.split_once(':') {
        Some((_, password)) => (db.url().to_string(), password.to_string()),
        None => (
            format!("{scheme}://{userinfo}:{SECRET}@{host}"),
            SECRET.to_string(),
        ),
    }
}

#[test]
fn password_of_a_reachable_database_is_never_printed() {
    for how in ["database_url", "DATABASE_URL"] {
        let db = PgDatabase::create();
        let (url, password) = with_password(&db);
        let mut p = if how == "database_url" {
            project(Some(&url))
        } else {
            project(None)
        };
        if how == "DATABASE_URL" {
            p.env("DATABASE_URL", &url);
        }
        // A revision that fails on the server: its error is printed, the URL is not.
        p.write_rev(&Rev::new("r2", &["r1"], "fails").sql("SELECT * FROM no_such_table;", ""));
        let runs = run_all(&p, &[], how);
        for run in &runs {
            assert!(
                !run.stdout.contains(&password) && !run.stderr.contains(&password),
                "{how}: the password was printed:\n{run}"
            );
        }
        let redacted = url.replace(&format!(":{password}@"), ":***@");
        assert_eq!(
            runs[1].stdout,
            format!("Current revision(s) for {redacted}:\n"),
            "{}",
            runs[1]
        );
        // `upgrade head` reached the failing revision: the server's error came back.
        assert!(runs[2].stderr.contains("no_such_table"), "{}", runs[2]);
    }
}
