//! What operators and newcomers meet first: exit codes, `current --check-heads` (the
//! start-up probe), global options on either side of the command, completions, the
//! manual page and `--version`. All through the real binary.

use std::process::Command;
use std::time::{Duration, Instant};

use aludel_testkit::{Backend, DbProject, Rev, TestProject, closed_port, expect, json_log, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn two_revisions(backend: Backend) -> DbProject {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(
        &Rev::new("aaa", &[], "create a").sql("CREATE TABLE t_a (id int);", "DROP TABLE t_a;"),
    );
    p.write_rev(
        &Rev::new("bbb", &["aaa"], "create b").sql("CREATE TABLE t_b (id int);", "DROP TABLE t_b;"),
    );
    p
}

/// `current --check-heads` at every position a database can be in: no version table
/// (at nothing, and the table is not created), behind, at the heads, at a revision no
/// file declares, and unreachable.
fn check_heads_tells_where_the_database_is(backend: Backend) {
    let p = two_revisions(backend);
    let check = ["current", "--check-heads"];

    // No version table: at nothing. The check creates nothing.
    let r = p.run(&check).expect_code(3, &check);
    expect(
        &r,
        "",
        "ERROR the database is at <base> (no revision applied), this build expects bbb: run `aludel upgrade head`\n",
    );
    assert_eq!(p.db().tables(), Vec::<String>::new());
    if let Some(file) = p.db().sqlite_path() {
        assert!(!file.exists(), "the check created {}", file.display());
    }

    p.ok(&["upgrade", "aaa"]);
    let r = p.run(&check).expect_code(3, &check);
    expect(
        &r,
        "",
        "ERROR the database is at aaa, this build expects bbb: run `aludel upgrade head`\n",
    );

    p.ok(&["upgrade", "head"]);
    expect(&p.ok(&check), "bbb (head)\n", "");
    let r = p.ok(&["--format", "json", "current", "--check-heads"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["current"][0]["revision"], "bbb", "{r}");

    // A newer build migrated the database.
    p.db()
        .execute("UPDATE aludel_version SET version_num = 'ccc' WHERE version_num = 'bbb'");
    let ahead = "the database is at ccc, this build expects bbb: ccc is not in this build's migrations (did a newer build migrate the database?); run that build, or downgrade the database with it";
    let r = p.run(&check).expect_code(3, &check);
    expect(&r, "", &format!("ERROR {ahead}\n"));
    // As JSON: an empty list (no revision to describe) and the reason on stderr.
    let args = [
        "--format",
        "json",
        "--log-format",
        "json",
        "current",
        "--check-heads",
    ];
    let r = p.run(&args).expect_code(3, &args);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc, serde_json::json!({"current": []}), "{r}");
    assert_eq!(
        json_log(&r.stderr),
        [format!(
            r#"{{"level":"error","event":"not_at_heads","message":{}}}"#,
            serde_json::Value::from(ahead)
        )]
    );
    assert_eq!(p.db().version_rows(), ["ccc"]);

    // The database cannot be reached: no answer, exit 1, not 3.
    let down = match backend {
        Backend::Sqlite => "sqlite:////nonexistent-aludel-dir/app.db".to_string(),
        Backend::Postgres => format!("postgresql://postgres@127.0.0.1:{}/app", closed_port()),
        Backend::Mysql => format!("mysql://root@127.0.0.1:{}/app", closed_port()),
    };
    let args = ["current", "--check-heads", "--url", &down];
    let r = p.run(&args).expect_code(1, &args);
    assert!(r.stderr.starts_with("ERROR "), "{r}");
    assert!(!r.stderr.contains("this build expects"), "{r}");
}

/// Several heads: the command to run is `upgrade heads`.
fn check_heads_with_two_heads_names_upgrade_heads(backend: Backend) {
    let p = two_revisions(backend);
    p.write_rev(
        &Rev::new("ccc", &["aaa"], "branch").sql("CREATE TABLE t_c (id int);", "DROP TABLE t_c;"),
    );
    p.ok(&["upgrade", "bbb"]);
    let check = ["current", "--check-heads"];
    let r = p.run(&check).expect_code(3, &check);
    expect(
        &r,
        "",
        "ERROR the database is at bbb, this build expects bbb and ccc: run `aludel upgrade heads`\n",
    );
    p.ok(&["upgrade", "heads"]);
    expect(&p.ok(&check), "bbb (head)\nccc (head)\n", "");
}

/// A head that only another head depends on has no row once both are applied; the
/// database is at the heads all the same (Alembic's own check never passes here).
fn check_heads_counts_a_head_only_depended_upon(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("r1", &[], "one").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    p.write_rev(
        &Rev::new("r2", &[], "two")
            .header("depends_on", "r1")
            .sql("CREATE TABLE t2 (id int);", "DROP TABLE t2;"),
    );
    let check = ["current", "--check-heads"];
    let r = p.run(&check).expect_code(3, &check);
    expect(
        &r,
        "",
        "ERROR the database is at <base> (no revision applied), this build expects r2: run `aludel upgrade heads`\n",
    );
    p.ok(&["upgrade", "r2"]);
    assert_eq!(p.db().version_rows(), ["r2"]);
    p.ok(&check);
}

on_all!(
    check_heads_tells_where_the_database_is,
    check_heads_with_two_heads_names_upgrade_heads,
    check_heads_counts_a_head_only_depended_upon,
);

/// The probe takes no lock: it answers while a run holds the lock on PostgreSQL.
#[test]
fn check_heads_answers_while_a_run_holds_the_lock() {
    let p = two_revisions(Backend::Postgres);
    p.write_rev(&Rev::new("slow", &["bbb"], "slow").sql("SELECT pg_sleep(4);", ""));
    p.ok(&["upgrade", "bbb"]);
    let mut upgrade = p.command(&["upgrade", "head"]).spawn().unwrap();
    let db = p.db().pg().unwrap();
    let started = Instant::now();
    while db
        .rows("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid() AND datname = current_database()")
        != ["1"]
    {
        assert!(started.elapsed() < Duration::from_secs(20), "the upgrade never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = Instant::now();
    let check = ["current", "--check-heads"];
    let r = p.run(&check).expect_code(3, &check);
    let took = before.elapsed();
    assert!(
        upgrade.try_wait().unwrap().is_none(),
        "the upgrade ended first"
    );
    assert!(took < Duration::from_secs(3), "{took:?}: {r}");
    assert!(
        r.stderr
            .contains("the database is at bbb, this build expects slow"),
        "{r}"
    );
    assert!(upgrade.wait().unwrap().success());
    p.ok(&check);
}

/// Every exit code of the table in SPEC, from the real binary: 0 success, 1 failure,
/// 2 usage error, 3 out of step; in a fleet run a failure outweighs drift.
#[test]
fn exit_codes_are_as_documented() {
    let p = DbProject::new(BIN, Backend::Sqlite, "");
    p.write_rev(
        &Rev::new("aaa", &[], "create a").sql("CREATE TABLE t_a (id integer);", "DROP TABLE t_a;"),
    );
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE t_a (id integer);\n",
    )
    .unwrap();
    let code = |args: &[&str]| p.run(args).code;

    assert_eq!(code(&["upgrade", "head"]), 0);
    assert_eq!(code(&["upgrade", "head"]), 0, "nothing to do is success");
    assert_eq!(code(&["check"]), 0);
    assert_eq!(code(&["current", "--check-heads"]), 0);

    // 1: the command could not do what was asked.
    assert_eq!(code(&["upgrade", "nosuch"]), 1);
    assert_eq!(
        code(&["check", "--url", "sqlite:////nonexistent-aludel-dir/x.db"]),
        1
    );

    // 2: the command line is wrong; nothing ran.
    assert_eq!(code(&["upgrade"]), 2);
    assert_eq!(code(&["upgrade", "head", "--no-such-option"]), 2);
    assert_eq!(code(&["--format", "json", "upgrade", "head"]), 2);
    assert_eq!(code(&["revision", "-m", "x", "--rename", "a=b"]), 2);
    assert_eq!(code(&["current", "--shard", "1/2"]), 2);

    // 3: the answer is that the database is out of step.
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE t_a (id integer);\nCREATE TABLE t_b (id integer);\n",
    )
    .unwrap();
    assert_eq!(code(&["check"]), 3);
    p.ok(&["downgrade", "base"]);
    assert_eq!(code(&["current", "--check-heads"]), 3);

    // Fleet runs: drift alone is 3, a failure anywhere is 1.
    p.ok(&["--url", "sqlite:///b.db", "upgrade", "head"]);
    std::fs::write(
        p.path().join("drift.txt"),
        "sqlite:///app.db\nsqlite:///b.db\n",
    )
    .unwrap();
    assert_eq!(
        code(&["--targets", "drift.txt", "current", "--check-heads"]),
        3
    );
    std::fs::write(
        p.path().join("mixed.txt"),
        "sqlite:///app.db\nsqlite:///b.db\nsqlite:////nonexistent-aludel-dir/x.db\n",
    )
    .unwrap();
    assert_eq!(
        code(&["--targets", "mixed.txt", "current", "--check-heads"]),
        1
    );
}

/// Each global option works before and after the command, with the same result.
#[test]
fn global_options_work_on_either_side_of_the_command() {
    let p = TestProject::new(BIN, Some("sqlite:///app.db"), "");
    p.write_rev(
        &Rev::new("aaa", &[], "create a").sql("CREATE TABLE t_a (id int);", "DROP TABLE t_a;"),
    );
    std::fs::write(
        p.path().join("targets.txt"),
        "sqlite:///t1.db\nsqlite:///t2.db\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.path().join("other")).unwrap();
    std::fs::write(
        p.path().join("other/custom.toml"),
        "[aludel]\nscript_location = \"../migrations\"\ndatabase_url = \"sqlite:///custom.db\"\n",
    )
    .unwrap();
    std::fs::write(
        p.path().join("aludel-workspace.toml"),
        "[workspace]\nmembers = [\".\"]\n",
    )
    .unwrap();
    p.ok(&["upgrade", "head"]);

    let cases: &[(&[&str], &[&str])] = &[
        (&["-c", "other/custom.toml"], &["current", "--verbose"]),
        (
            &["--config", "other/custom.toml"],
            &["current", "--verbose"],
        ),
        (&["--url", "sqlite:///u.db"], &["current", "--verbose"]),
        (&["--format", "json"], &["heads"]),
        (&["--log-format", "json"], &["upgrade", "head"]),
        (&["-q"], &["upgrade", "head"]),
        (&["--workspace", "aludel-workspace.toml"], &["current"]),
        (&["--targets", "targets.txt"], &["current"]),
        // `stamp` has a positional of its own named like the option.
        (&["--targets", "targets.txt"], &["stamp", "aaa"]),
        (&["--url", "sqlite:///u.db"], &["stamp", "base"]),
        (&["--targets", "targets.txt", "--jobs", "1"], &["current"]),
        (
            &["--targets", "targets.txt", "--shard", "2/2"],
            &["current"],
        ),
        (
            &["--targets", "targets.txt", "--shard", "index:0/2"],
            &["current"],
        ),
    ];
    for (global, command) in cases {
        let before: Vec<&str> = global.iter().chain(command.iter()).copied().collect();
        let after: Vec<&str> = command.iter().chain(global.iter()).copied().collect();
        // The same starting state for both runs (`stamp` changes it).
        let reset = || {
            p.ok(&["--targets", "targets.txt", "stamp", "base", "--purge"]);
            p.ok(&["--url", "sqlite:///u.db", "stamp", "aaa", "--purge"]);
        };
        reset();
        let a = p.run(&before).expect_code(0, &before);
        reset();
        let b = p.run(&after).expect_code(0, &after);
        let times = |s: &str| {
            // Timings (and the column widths they set) differ between runs, and so
            // does how the lines of targets run side by side interleave (each
            // target's own order is checked where fleets are tested); everything
            // else must not.
            let mut lines = s
                .lines()
                .map(|l| {
                    let l: String = l.chars().filter(|c| !c.is_ascii_digit()).collect();
                    l.split_whitespace().collect::<Vec<_>>().join(" ")
                })
                .collect::<Vec<_>>();
            lines.sort();
            lines
        };
        assert_eq!(
            times(&a.stdout),
            times(&b.stdout),
            "{before:?}:\n{a}\n{after:?}:\n{b}"
        );
        assert_eq!(
            times(&a.stderr),
            times(&b.stderr),
            "{before:?}:\n{a}\n{after:?}:\n{b}"
        );
    }
    // The options did what they say, after the command too.
    let r = p.ok(&["current", "--verbose", "-c", "other/custom.toml"]);
    assert!(r.stdout.contains("custom.db"), "{r}");
    let r = p.ok(&[
        "upgrade",
        "head",
        "--targets",
        "targets.txt",
        "--shard",
        "1/2",
    ]);
    assert!(
        r.stdout.contains("t1.db") && !r.stdout.contains("t2.db"),
        "{r}"
    );
    let r = p.ok(&["heads", "--format", "json"]);
    assert!(r.stdout.starts_with("{\n  \"heads\""), "{r}");

    // Options that do not go together are refused whichever side they are on.
    for args in [
        &[
            "--workspace",
            "aludel-workspace.toml",
            "current",
            "--url",
            "sqlite:///x.db",
        ][..],
        &[
            "--url",
            "sqlite:///x.db",
            "current",
            "--workspace",
            "aludel-workspace.toml",
        ],
        &[
            "current",
            "--url",
            "sqlite:///x.db",
            "--targets",
            "targets.txt",
        ],
        &[
            "--targets",
            "targets.txt",
            "current",
            "--workspace",
            "aludel-workspace.toml",
        ],
        &[
            "-c",
            "other/custom.toml",
            "current",
            "--workspace",
            "aludel-workspace.toml",
        ],
    ] {
        p.fails_with(args, 2, "cannot be used with");
    }
    p.fails_with(
        &["--shard", "1/2", "current"],
        2,
        "--shard goes with --targets",
    );
    p.fails_with(
        &["current", "--jobs", "2"],
        2,
        "--jobs goes with --workspace or --targets",
    );
}

#[test]
fn version_names_the_compiled_databases() {
    let p = TestProject::empty(BIN);
    for flag in ["--version", "-V"] {
        expect(
            &p.ok(&[flag]),
            &format!(
                "aludel {} (mysql, postgres, sqlite)\n",
                env!("CARGO_PKG_VERSION")
            ),
            "",
        );
    }
}

#[test]
fn completion_scripts_are_valid_and_name_the_commands() {
    let p = TestProject::empty(BIN);
    let bash = p.ok(&["completions", "bash"]).stdout;
    let check = Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(bash.as_bytes())?;
            child.wait_with_output()
        })
        .expect("bash must be installed for this test");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for command in [
        "upgrade",
        "downgrade",
        "current",
        "check",
        "completions",
        "man",
    ] {
        assert!(
            bash.contains(command),
            "{command} missing from the bash completions"
        );
    }
    assert!(bash.contains("--check-heads") && bash.contains("--targets"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = p.ok(&["completions", shell]).stdout;
        assert!(
            out.contains("upgrade") && out.contains("--targets"),
            "{shell}:\n{out}"
        );
    }
    p.fails_with(&["completions", "tcsh"], 2, "invalid value 'tcsh'");
    // They are printed without a project: nothing is read or written.
    assert_eq!(std::fs::read_dir(p.path()).unwrap().count(), 0);
}

/// The manual page is roff that `man` renders (when `man` is installed; the roff
/// structure is checked everywhere), and `--dir` writes one page per command.
#[test]
fn manual_pages_render() {
    let p = TestProject::empty(BIN);
    let page = p.ok(&["man"]).stdout;
    for line in [
        ".TH aludel 1",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
    ] {
        assert!(
            page.lines().any(|l| l.starts_with(line)),
            "{line} missing:\n{page}"
        );
    }
    assert!(page.contains("aludel\\-upgrade(1)"), "{page}");
    assert!(!page.contains("aludel\\-help(1)"), "{page}");

    // The folder is created when missing, as a packaging step expects.
    let r = p.ok(&["man", "--dir", "share/man/man1"]);
    assert!(
        r.stdout.starts_with("[PROJECT]/share/man/man1/aludel.1\n"),
        "{r}"
    );
    let r = p.ok(&["man", "--dir", "."]);
    let pages: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(pages.first(), Some(&"[PROJECT]/aludel.1"), "{r}");
    assert!(pages.contains(&"[PROJECT]/aludel-upgrade.1"), "{r}");
    assert!(pages.contains(&"[PROJECT]/aludel-current.1"), "{r}");
    assert_eq!(pages.len(), 16, "aludel.1 and one page per command:\n{r}");
    assert_eq!(
        std::fs::read_to_string(p.path().join("aludel.1")).unwrap(),
        page
    );

    let man = Command::new("man")
        .args(["-l", "aludel-current.1"])
        .current_dir(p.path())
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .output();
    match man {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                text.contains("aludel-current - Show the revision(s) the database is at"),
                "{text}"
            );
            assert!(text.contains("--check-heads"), "{text}");
            assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        }
        Err(e) => eprintln!("man is not installed ({e}): only the roff structure was checked"),
    }
}

#[test]
fn check_heads_in_the_help() {
    let p = TestProject::empty(BIN);
    let help = p.ok(&["current", "--help"]).stdout;
    assert!(help.contains("--check-heads"), "{help}");
    let help = p.ok(&["--help"]).stdout;
    assert!(help.contains("Exit status: 0 success; 1 failure"), "{help}");
    assert!(help.contains("3 out of step"), "{help}");
}
