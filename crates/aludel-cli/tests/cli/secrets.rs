//! Passwords never appear in any output: a PostgreSQL URL with a password given by
//! `--url`, `DATABASE_URL` or the config file, through every command, its errors, its
//! verbose and JSON forms, a broken config file that the parser quotes, and URLs that
//! do not parse. Also what an empty or unresolved database URL does.

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

/// Runs `args` in text and in JSON logs: each must fail, print no password (raw or
/// JSON-escaped) and have `expected` in its error.
#[track_caller]
fn fails_without_secret(p: &TestProject, args: &[&str], expected: &str) {
    for log in ["text", "json"] {
        let all: Vec<&str> = ["--log-format", log].iter().chain(args).copied().collect();
        let run = p.run(&all);
        assert_eq!(run.code, 1, "{all:?}\n{run}");
        assert_no_secret(&run, &format!("{all:?}"));
        assert!(run.stderr.contains(expected), "{all:?}\n{run}");
    }
}

#[test]
fn a_password_with_spaces_in_a_url_that_does_not_parse_is_masked() {
    let p = project(None);
    let url = "postgresql://postgres:correct hunter2 battery@127.0.0.1:5432x/db";
    fails_without_secret(
        &p,
        &["--url", url, "current"],
        "--url: invalid database URL",
    );
}

#[test]
fn a_raw_at_sign_in_the_password_leaks_nothing() {
    // The README's own form: the password comes from a variable, unencoded.
    let mut p = project(Some("postgresql://postgres:${DB_PASSWORD}@127.0.0.1:1/x"));
    p.env("DB_PASSWORD", "Sx9@hunter2");
    fails_without_secret(
        &p,
        &["current"],
        "cannot connect to postgresql://postgres:***@127.0.0.1:1/x: ",
    );
    // The same for the shadow database (reached once the desired schema is read).
    let p = project(None);
    std::fs::write(p.path().join("schema.sql"), "CREATE TABLE t (id int);\n").unwrap();
    p.set_option(
        "autogenerate",
        "shadow_database_url",
        "\"postgresql://postgres:Sx9@hunter2@127.0.0.1:1/x\"",
    );
    fails_without_secret(
        &p,
        &[
            "--url",
            "postgresql://postgres@127.0.0.1:1/x",
            "check",
            "--migrations",
        ],
        "postgresql://postgres:***@127.0.0.1:1/x",
    );
}

#[test]
fn secrets_outside_the_userinfo_are_masked_in_any_url() {
    let p = project(None);
    for (url, expected) in [
        // A libpq key=value string instead of a URL.
        (
            "host=127.0.0.1 port=1 user=postgres password=hunter2 dbname=x",
            "password=***",
        ),
        (
            "host=127.0.0.1 password='hunter2 x' dbname=x",
            "password=***",
        ),
        // A misspelled parameter.
        ("postgresql://127.0.0.1:1/x?pasword=hunter2", "pasword=***"),
        // A raw '&' inside the password.
        (
            "postgresql://127.0.0.1:1/x?password=xx&hunter2",
            "password=***",
        ),
        // No '@': what stands where the port goes is not shown.
        (
            "postgresql://postgres:hunter2/x",
            "postgresql://postgres:***/x",
        ),
    ] {
        fails_without_secret(&p, &["--url", url, "current"], expected);
        let mut q = project(None);
        q.env("DATABASE_URL", url);
        fails_without_secret(&q, &["current"], expected);
    }
}

#[test]
fn port_zero_is_refused() {
    let p = project(None);
    fails_without_secret(
        &p,
        &[
            "--url",
            "postgresql://postgres@127.0.0.1:0/x",
            "upgrade",
            "head",
        ],
        "port 0",
    );
}

/// The `*.db` files in the project folder.
fn sqlite_files(p: &TestProject) -> Vec<String> {
    std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".db"))
        .collect()
}

/// `upgrade head` with `database_url = in_file` (if any), `DATABASE_URL = in_env` (if
/// any) and `flags` must fail with `expected` and leave no SQLite file behind.
#[track_caller]
fn refused_without_a_file(
    in_file: Option<&str>,
    in_env: Option<&str>,
    flags: &[&str],
    expected: &str,
) {
    let mut p = project(in_file);
    p.env("EMPTY_URL", "");
    if let Some(v) = in_env {
        p.env("DATABASE_URL", v);
    }
    let args: Vec<&str> = flags.iter().copied().chain(["upgrade", "head"]).collect();
    let run = p.fails_with(&args, 1, expected);
    assert!(sqlite_files(&p).is_empty(), "{run}");
}

#[test]
fn an_empty_url_is_an_error_naming_its_source_and_creates_no_file() {
    let env = "DATABASE_URL is set but empty";
    refused_without_a_file(None, Some(""), &[], env);
    refused_without_a_file(None, Some(" "), &[], env);
    refused_without_a_file(None, None, &["--url", ""], "--url is set but empty");
    let file = "database_url in [PROJECT]/aludel.toml is set but empty";
    refused_without_a_file(Some(""), None, &[], file);
    refused_without_a_file(Some("${EMPTY_URL}"), None, &[], file);
}

#[test]
fn a_url_that_does_not_parse_creates_no_sqlite_file() {
    for url in [
        "sqlite:///app%zz.db",
        "sqlite://app.db",
        "postgresql://u:hunter2@127.0.0.1:0/x",
        "app.db",
    ] {
        let mut p = project(None);
        p.env("DATABASE_URL", url);
        let run = p.fails_with(
            &["upgrade", "head"],
            1,
            "DATABASE_URL: invalid database URL",
        );
        assert!(sqlite_files(&p).is_empty(), "{url}: {run}");
    }
}

#[test]
fn an_unset_variable_in_database_url_stops_only_what_connects() {
    let p = project(Some("postgresql://app:${DB_PASSWORD}@127.0.0.1:1/app"));
    p.write_rev(&Rev::new("r2", &["r1"], "two").sql("SELECT 2;", "SELECT 2;"));
    p.write_rev(&Rev::new("r3", &["r1"], "three").sql("SELECT 3;", "SELECT 3;"));
    for args in [
        &["history"][..],
        &["heads"],
        &["show", "r1"],
        &["upgrade", "heads", "--sql"],
        &["merge", "heads", "-m", "join", "--rev-id", "m1"],
        &["revision", "-m", "next", "--rev-id", "r4"],
        &["downgrade", "r4:base", "--sql"],
        &["stamp", "head", "--sql"],
    ] {
        p.ok(args);
    }
    // Offline SQL is PostgreSQL's, as the URL's scheme says.
    let sql = p.ok(&["upgrade", "head", "--sql"]).stdout;
    let pg = ["--url", "postgresql://app@127.0.0.1:1/app"];
    assert_eq!(
        sql,
        p.ok(&[&pg[..], &["upgrade", "head", "--sql"]].concat())
            .stdout
    );
    for args in [&["current"][..], &["upgrade", "head"], &["history", "-i"]] {
        p.fails_with(
            args,
            1,
            "`database_url` refers to environment variable DB_PASSWORD, which is not set",
        );
    }
    assert!(sqlite_files(&p).is_empty());

    // A URL that is all one variable does not even tell the dialect.
    let p = project(Some("${DB_URL}"));
    p.ok(&["history"]);
    p.ok(&["heads"]);
    p.fails_with(&["upgrade", "head", "--sql"], 1, "DB_URL, which is not set");
}
