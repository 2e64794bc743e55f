//! Broken revision files and bad arguments: each stops with exit 1 (2 for a usage
//! error) and a message naming the file and line, never a panic, and before anything
//! runs: the database is left as it was. Run on SQLite, PostgreSQL and MariaDB.

use aludel_testkit::{Backend, DbProject, Rev, Run, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

#[track_caller]
fn expect(run: &Run, stdout: &str, stderr: &str) {
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert_eq!(run.stdout, stdout, "stdout differs:\n{run}");
    assert_eq!(run.stderr, stderr, "stderr differs:\n{run}");
}

/// A good root revision `aaa` creating table `a`.
fn aaa() -> Rev {
    Rev::new("aaa", &[], "create a").sql("CREATE TABLE a (id int);", "DROP TABLE a;")
}

struct Case {
    what: &'static str,
    /// Files besides `aaa.sql`: (name, bytes).
    files: Vec<(&'static str, Vec<u8>)>,
    stderr: String,
}

fn case(what: &'static str, files: &[(&'static str, &str)], stderr: &str) -> Case {
    Case {
        what,
        files: files
            .iter()
            .map(|(n, t)| (*n, t.as_bytes().to_vec()))
            .collect(),
        stderr: format!("{stderr}\n"),
    }
}

fn header_cases() -> Vec<Case> {
    let long = format!("a{}", "x".repeat(64));
    vec![
        case(
            "unknown header key",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises aaa\n-- aludel:colour blue\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:3: unknown header key 'colour' (expected revision, revises, message, created, branch_labels, depends_on, transaction, incomplete or doc)",
        ),
        case(
            "missing revision",
            &[("bbb.sql", "-- aludel:revises aaa\n-- aludel:message b\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:1: missing '-- aludel:revision' header line",
        ),
        case(
            "empty file",
            &[("bbb.sql", "")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:1: missing '-- aludel:revision' header line",
        ),
        case(
            "revision given twice",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revision ccc\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:2: duplicate header key 'revision' (first given on line 1)",
        ),
        case(
            "duplicate revision id in two files",
            &[("bbb.sql", "-- aludel:revision aaa\n-- aludel:message b\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:1: revision 'aaa' is also declared in [PROJECT]/migrations/versions/aaa.sql:1",
        ),
        case(
            "unknown parent",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises zzz\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:2: revision bbb revises 'zzz', which no migration file declares",
        ),
        case(
            "unknown dependency",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:depends_on nosuch\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:2: revision bbb depends on 'nosuch', which is neither a revision id nor a branch label",
        ),
        case(
            "a revision revising itself",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises bbb\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:2: revision 'bbb' revises itself",
        ),
        case(
            "a cycle",
            &[
                ("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises ddd\n\n-- aludel:upgrade\nSELECT 1;\n"),
                ("ccc.sql", "-- aludel:revision ccc\n-- aludel:revises bbb\n\n-- aludel:upgrade\nSELECT 1;\n"),
                ("ddd.sql", "-- aludel:revision ddd\n-- aludel:revises ccc\n\n-- aludel:upgrade\nSELECT 1;\n"),
            ],
            "ERROR cycle detected in revisions (bbb ([PROJECT]/migrations/versions/bbb.sql:1) -> ccc ([PROJECT]/migrations/versions/ccc.sql:1) -> ddd ([PROJECT]/migrations/versions/ddd.sql:1))",
        ),
        case(
            "a dependency cycle",
            &[
                ("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises aaa\n-- aludel:depends_on ccc\n\n-- aludel:upgrade\nSELECT 1;\n"),
                ("ccc.sql", "-- aludel:revision ccc\n-- aludel:revises bbb\n\n-- aludel:upgrade\nSELECT 1;\n"),
            ],
            "ERROR dependency cycle detected in revisions (bbb ([PROJECT]/migrations/versions/bbb.sql:1) -> ccc ([PROJECT]/migrations/versions/ccc.sql:1))",
        ),
        case(
            "bad transaction value",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises aaa\n-- aludel:transaction maybe\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:3: transaction must be 'true' or 'false', not 'maybe'",
        ),
        Case {
            what: "an id longer than 64 characters",
            files: vec![(
                "bbb.sql",
                format!("-- aludel:revision {long}\n\n-- aludel:upgrade\nSELECT 1;\n").into_bytes(),
            )],
            stderr: format!(
                "ERROR [PROJECT]/migrations/versions/bbb.sql:1: revision id '{long}' is 65 characters long; the version table column holds at most 64\n"
            ),
        },
        case(
            "an id with '-'",
            &[("bbb.sql", "-- aludel:revision a-b\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:1: invalid revision id 'a-b' (use letters, digits and '_')",
        ),
        case(
            "a label with '@'",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:branch_labels x@y\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:2: invalid branch label 'x@y' in 'branch_labels'",
        ),
        case(
            "duplicate labels",
            &[
                ("bbb.sql", "-- aludel:revision bbb\n-- aludel:branch_labels x\n\n-- aludel:upgrade\nSELECT 1;\n"),
                ("ccc.sql", "-- aludel:revision ccc\n-- aludel:branch_labels x\n\n-- aludel:upgrade\nSELECT 1;\n"),
            ],
            "ERROR [PROJECT]/migrations/versions/ccc.sql:2: branch label 'x' of revision ccc is already used by revision bbb ([PROJECT]/migrations/versions/bbb.sql:2)",
        ),
        case(
            "SQL before the first section",
            &[("bbb.sql", "-- aludel:revision bbb\n-- aludel:revises aaa\n\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:4: SQL before the first section marker; put statements under '-- aludel:upgrade' or '-- aludel:downgrade'",
        ),
        case(
            "two upgrade sections",
            &[("bbb.sql", "-- aludel:revision bbb\n\n-- aludel:upgrade\nSELECT 1;\n-- aludel:upgrade\nSELECT 2;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:5: duplicate section '-- aludel:upgrade' (first on line 3)",
        ),
        case(
            "an unknown dialect",
            &[("bbb.sql", "-- aludel:revision bbb\n\n-- aludel:upgrade oracle\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:3: unknown dialect 'oracle' in section marker (expected postgresql, sqlite or mysql)",
        ),
        Case {
            what: "invalid UTF-8",
            files: vec![(
                "bbb.sql",
                b"-- aludel:revision bbb\n-- aludel:message caf\xe9\n\n-- aludel:upgrade\nSELECT 1;\n".to_vec(),
            )],
            stderr: "ERROR [PROJECT]/migrations/versions/bbb.sql:2: invalid UTF-8 at byte 44; migration files must be UTF-8\n".into(),
        },
        // User text of any length is cut with a marker, and control characters
        // (ESC, CR) are escaped instead of reaching the terminal.
        case(
            "a 100 KB revision id",
            &[("bbb.sql", &format!("-- aludel:revision {}\n-- aludel:revises aaa\n\n-- aludel:upgrade\nSELECT 1;\n", "b".repeat(100_000)))],
            &format!("ERROR [PROJECT]/migrations/versions/bbb.sql:1: revision id '{}… (100000 bytes, cut)' is 100000 characters long; the version table column holds at most 64", "b".repeat(120)),
        ),
        case(
            "a 100 KB parent id",
            &[("bbb.sql", &format!("-- aludel:revision bbb\n-- aludel:revises aaa {}\n\n-- aludel:upgrade\nSELECT 1;\n", "c".repeat(100_000)))],
            &format!("ERROR [PROJECT]/migrations/versions/bbb.sql:2: revision bbb revises '{}… (100000 bytes, cut)', which no migration file declares", "c".repeat(120)),
        ),
        case(
            "a 1 MB header line",
            &[("bbb.sql", &format!("-- aludel:revision bbb\n-- aludel:transaction {}\n\n-- aludel:upgrade\nSELECT 1;\n", "x".repeat(1_000_000)))],
            &format!("ERROR [PROJECT]/migrations/versions/bbb.sql:2: transaction must be 'true' or 'false', not '{}… (1000000 bytes, cut)'", "x".repeat(120)),
        ),
        case(
            "ESC and CR in a header",
            &[("bbb.sql", "-- aludel:revision bb\rb\u{1b}[2J\n\n-- aludel:upgrade\nSELECT 1;\n")],
            "ERROR [PROJECT]/migrations/versions/bbb.sql:1: invalid revision id 'bb\\rb\\u{1b}[2J' (use letters, digits and '_')",
        ),
    ]
}

/// A broken file stops every command, before it connects: no table appears.
fn malformed_files_stop_every_command(backend: Backend) {
    for case in header_cases() {
        let p = DbProject::new(BIN, backend, "");
        p.write_rev(&aaa());
        for (name, bytes) in &case.files {
            std::fs::write(p.versions().join(name), bytes).unwrap();
        }
        for args in [
            &["upgrade", "head"][..],
            &["history"],
            &["current"],
            &["heads"],
        ] {
            let run = p.run(args);
            assert_eq!(run.code, 1, "{}: aludel {args:?}\n{run}", case.what);
            assert!(!run.stderr.contains("panicked"), "{}: {run}", case.what);
            assert_eq!(run.stdout, "", "{}: aludel {args:?}\n{run}", case.what);
            assert_eq!(
                run.stderr, case.stderr,
                "{}: aludel {args:?}\n{run}",
                case.what
            );
        }
        assert_eq!(p.db().tables(), [] as [&str; 0], "{}", case.what);
    }
}

on_all!(malformed_files_stop_every_command,);

/// Neither revision `aaa`'s table `a` nor a version row: nothing ran.
#[track_caller]
fn assert_nothing_ran(p: &DbProject) {
    let db = p.db();
    assert!(!db.tables().contains(&"a".to_string()), "{:?}", db.tables());
    assert_eq!(db.version_rows(), [] as [&str; 0]);
}

/// A statement the splitter cannot close stops the run before the first revision runs.
fn unterminated_quote_stops_before_anything_runs(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&aaa());
    p.write_file(
        "bbb.sql",
        "-- aludel:revision bbb\n-- aludel:revises aaa\n\n-- aludel:upgrade\nSELECT 1;\nINSERT INTO a VALUES ('oops);\nSELECT 2;\n",
    );
    let stderr = "ERROR [PROJECT]/migrations/versions/bbb.sql:6: unterminated string literal (opened on this line)\n";
    expect(&p.fails(&["upgrade", "head"]), "", stderr);
    assert_nothing_ran(&p);
    expect(&p.fails(&["upgrade", "head", "--sql"]), "", stderr);
}

on_all!(unterminated_quote_stops_before_anything_runs,);

#[test]
fn unterminated_dollar_quote_stops_before_anything_runs_postgres() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    p.write_rev(&aaa());
    p.write_file(
        "bbb.sql",
        "-- aludel:revision bbb\n-- aludel:revises aaa\n\n-- aludel:upgrade\nSELECT 1;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n\n-- aludel:downgrade\nDROP FUNCTION f();\n",
    );
    expect(
        &p.fails(&["upgrade", "head"]),
        "",
        "ERROR [PROJECT]/migrations/versions/bbb.sql:6: unterminated dollar-quoted string (opened on this line; no closing $$)\n",
    );
    assert_nothing_ran(&p);
}

/// A revision without a downgrade section cannot be downgraded past, and the command
/// says so before running anything.
fn missing_downgrade_section_stops_before_anything_runs(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&aaa());
    let mut bbb = Rev::new("bbb", &["aaa"], "create b").sql("CREATE TABLE b (id int);", "");
    bbb.downgrade = None;
    p.write_rev(&bbb);
    p.write_rev(
        &Rev::new("ccc", &["bbb"], "create c").sql("CREATE TABLE c (id int);", "DROP TABLE c;"),
    );
    p.ok(&["upgrade", "head"]);
    let dialect = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
    };
    let stderr = format!(
        "ERROR [PROJECT]/migrations/versions/bbb.sql: no '-- aludel:downgrade' section applies to {dialect}, so this revision cannot be downgraded\n"
    );
    // ccc could be downgraded, but the run would stop at bbb: nothing runs.
    expect(&p.fails(&["downgrade", "base"]), "", &stderr);
    assert_eq!(p.db().tables(), ["a", "aludel_version", "b", "c"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);
    expect(&p.fails(&["downgrade", "aaa"]), "", &stderr);
    assert_eq!(p.db().tables(), ["a", "aludel_version", "b", "c"]);
    assert_eq!(p.db().version_rows(), ["ccc"]);
    // Down to bbb is fine.
    expect(
        &p.ok(&["downgrade", "-1"]),
        "",
        &p.with_statement_lines(
            "INFO  Running downgrade ccc -> bbb, create c\nINFO  Finished downgrade ccc -> bbb ([ms])\n",
        ),
    );
    assert_eq!(p.db().version_rows(), ["bbb"]);
}

on_all!(missing_downgrade_section_stops_before_anything_runs,);

fn bad_targets_fail(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("abc1", &[], "one"));
    p.write_rev(&Rev::new("abc2", &["abc1"], "two"));
    expect(
        &p.fails(&["upgrade", "nosuchrev"]),
        "",
        "ERROR Can't locate revision identified by 'nosuchrev'\n",
    );
    expect(
        &p.fails(&["upgrade", "abc"]),
        "",
        "ERROR Ambiguous revision 'abc': it is the start of abc1, abc2; type more characters\n",
    );
    expect(
        &p.fails(&["show", "abc"]),
        "",
        "ERROR Ambiguous revision 'abc': it is the start of abc1, abc2; type more characters\n",
    );
    expect(
        &p.fails(&["downgrade", "nosuchrev"]),
        "",
        "ERROR Can't locate revision identified by 'nosuchrev'\n",
    );
    expect(
        &p.fails(&["stamp", "nosuchrev"]),
        "",
        "ERROR Can't locate revision identified by 'nosuchrev'\n",
    );
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
    // An unambiguous prefix works.
    expect(
        &p.ok(&["upgrade", "abc1"]),
        "",
        "INFO  Running upgrade  -> abc1, one\nINFO  Finished upgrade  -> abc1 ([ms])\n",
    );
}

on_all!(bad_targets_fail,);

/// A control character in a header reaches the progress line escaped: a revision's
/// message cannot retitle or clear the terminal.
fn control_characters_in_messages_are_escaped(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(
        &Rev::new("aaa", &[], "hi\u{1b}]0;owned\u{7} there\rX").sql("CREATE TABLE a (id int);", ""),
    );
    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        &p.with_statement_lines(
            "INFO  Running upgrade  -> aaa, hi\\u{1b}]0;owned\\u{7} there\\rX\nINFO  Finished upgrade  -> aaa ([ms])\n",
        ),
    );
    // Reports on stdout too.
    for args in [
        &["history"][..],
        &["heads", "--verbose"],
        &["current", "--verbose"],
        &["show", "aaa"],
    ] {
        let r = p.ok(args);
        assert!(
            r.stdout.contains("hi\\u{1b}]0;owned\\u{7} there\\rX") && !r.stdout.contains('\u{1b}'),
            "{args:?}: {r}"
        );
    }
}

on_all!(control_characters_in_messages_are_escaped,);

#[test]
fn usage_errors_exit_2() {
    let p = DbProject::new(BIN, Backend::Sqlite, "");
    let run = p.run(&["upgrade"]);
    assert_eq!(run.code, 2, "{run}");
    expect(
        &run,
        "",
        "error: the following required arguments were not provided:\n  <TARGET>\n\nUsage: aludel upgrade <TARGET>\n\nFor more information, try '--help'.\n",
    );
    let run = p.run(&["frobnicate"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .starts_with("error: unrecognized subcommand 'frobnicate'"),
        "{run}"
    );
    let run = p.run(&["history", "--bogus"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(p.db().tables(), [] as [&str; 0]);
}
