//! The example application (a `#[tokio::main]` program calling the `_async` API),
//! built by cargo and run as a user runs it, on SQLite and
//! PostgreSQL: it applies its embedded migrations at start-up, and `--check` refuses a
//! database that does not fit the build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use aludel::migrator::Migrator;
use aludel_testkit::{Backend, Db, Run, expect, on_both};

const APP: &str = env!("CARGO_BIN_EXE_embedded-app");
const HEAD: &str = "e7f90a3b6c42";

/// A working directory and a fresh database for one run of the app.
struct App {
    dir: tempfile::TempDir,
    db: Db,
}

impl App {
    fn new(backend: Backend) -> App {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(backend, dir.path().join("app.db"));
        App { dir, db }
    }

    /// Runs the app in its directory with `DATABASE_URL` set (SQLite: `app.db` there).
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(APP)
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", self.db.url())
            .output()
            .unwrap();
        Run::from_output(out, self.dir.path())
    }

    /// The URL this test process reaches the same database by.
    fn url(&self) -> String {
        match &self.db {
            Db::Sqlite(path) => format!("sqlite:///{}", path.display()),
            server => server.url(),
        }
    }
}

fn starts_on_an_empty_database_then_applies_nothing(backend: Backend) {
    let app = App::new(backend);
    let run = app.run(&[]);
    assert_eq!(run.code, 0, "{run}");
    expect(
        &run,
        "ready at e7f90a3b6c42\n",
        "INFO  Running upgrade  -> a1c3e5f70b21, create notes\n\
         INFO  Finished upgrade  -> a1c3e5f70b21 ([ms])\n\
         INFO  Running upgrade a1c3e5f70b21 -> 5d8e2b9c4f10, create tags\n\
         INFO  Finished upgrade a1c3e5f70b21 -> 5d8e2b9c4f10 ([ms])\n\
         INFO  Running upgrade 5d8e2b9c4f10 -> e7f90a3b6c42, pin notes\n\
         INFO  Finished upgrade 5d8e2b9c4f10 -> e7f90a3b6c42 ([ms])\n",
    );
    assert_eq!(app.db.version_rows(), [HEAD]);
    assert_eq!(app.db.tables(), ["aludel_version", "notes", "tags"]);
    // The dialect's own section ran, and the last revision's column is there.
    app.db.execute("INSERT INTO notes (body) VALUES ('first')");
    app.db
        .execute("INSERT INTO tags (note_id, name) VALUES (1, 'todo')");
    assert_eq!(
        app.db
            .rows("SELECT id, body FROM notes WHERE pinned = false"),
        ["1|first"]
    );

    let again = app.run(&[]);
    assert_eq!(again.code, 0, "{again}");
    expect(
        &again,
        "ready at e7f90a3b6c42\n",
        "INFO  Nothing to do: the database is already at e7f90a3b6c42\n",
    );
}

fn check_refuses_a_database_one_revision_behind(backend: Backend) {
    let app = App::new(backend);
    let empty = app.run(&["--check"]);
    assert_eq!(empty.code, 1, "{empty}");
    expect(
        &empty,
        "",
        "error: the database is at <base> (no revision applied), this build expects e7f90a3b6c42: run `aludel upgrade head`\n",
    );

    assert_eq!(app.run(&[]).code, 0);
    // One revision down, with the same embedded files the app carries.
    let migrator = Migrator::embedded(aludel::embed_migrations!("migrations")).unwrap();
    let rows = migrator.downgrade(&app.url(), "-1", &mut |_| {}).unwrap();
    assert_eq!(rows, ["5d8e2b9c4f10"]);

    let behind = app.run(&["--check"]);
    assert_eq!(behind.code, 1, "{behind}");
    expect(
        &behind,
        "",
        "error: the database is at 5d8e2b9c4f10, this build expects e7f90a3b6c42: run `aludel upgrade head`\n",
    );
    assert_eq!(
        app.db.version_rows(),
        ["5d8e2b9c4f10"],
        "--check migrates nothing"
    );

    let start = app.run(&[]);
    assert_eq!(start.code, 0, "{start}");
    expect(
        &start,
        "ready at e7f90a3b6c42\n",
        "INFO  Running upgrade 5d8e2b9c4f10 -> e7f90a3b6c42, pin notes\n\
         INFO  Finished upgrade 5d8e2b9c4f10 -> e7f90a3b6c42 ([ms])\n",
    );
    let at_head = app.run(&["--check"]);
    assert_eq!(at_head.code, 0, "{at_head}");
    expect(&at_head, "the database is at head (e7f90a3b6c42)\n", "");
}

fn refuses_a_database_migrated_by_a_newer_build(backend: Backend) {
    let app = App::new(backend);
    assert_eq!(app.run(&[]).code, 0);
    app.db.execute(&format!(
        "UPDATE aludel_version SET version_num = '0123456789ab' WHERE version_num = '{HEAD}'"
    ));
    let message = "error: the database is at 0123456789ab, this build expects e7f90a3b6c42: 0123456789ab is not in this build's migrations (did a newer build migrate the database?); run that build, or downgrade the database with it\n";
    for args in [&["--check"][..], &[]] {
        let run = app.run(args);
        assert_eq!(run.code, 1, "{run}");
        expect(&run, "", message);
    }
}

on_both!(
    starts_on_an_empty_database_then_applies_nothing,
    check_refuses_a_database_one_revision_behind,
    refuses_a_database_migrated_by_a_newer_build,
);

#[test]
fn unknown_arguments_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::from_output(
        Command::new(APP)
            .arg("--frobnicate")
            .current_dir(dir.path())
            .env("DATABASE_URL", "sqlite:///app.db")
            .output()
            .unwrap(),
        dir.path(),
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.starts_with("usage: embedded-app"), "{run}");
    assert!(!dir.path().join("app.db").exists());
}
