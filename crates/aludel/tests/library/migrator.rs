//! The application API: a `Migrator` from a folder or from files embedded with
//! `embed_migrations!`, run against SQLite, PostgreSQL and MariaDB.

use std::path::Path;
use std::time::Duration;

use aludel::migrator::{Error, Migrator};
use aludel::runner::{Event, RunError};
use aludel::script::ScriptError;
use aludel_testkit::{Backend, on_all, test_db};

const R1: &str = "11aa22bb33cc";
const R2: &str = "44dd55ee66ff";
const R3: &str = "77aa88bb99cc";

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/embedded"
    ))
}

fn embedded() -> Migrator {
    Migrator::embedded(aludel::embed_migrations!("tests/fixtures/embedded")).unwrap()
}

fn from_dir() -> Migrator {
    Migrator::from_dir(fixture()).unwrap()
}

fn quiet() -> impl FnMut(Event) {
    |_| {}
}

#[test]
fn embedded_and_from_dir_read_the_same_revisions() {
    let (e, d) = (embedded(), from_dir());
    assert_eq!(e.heads(), [R3]);
    assert_eq!(d.heads(), [R3]);
    let paths: Vec<String> = e
        .scripts()
        .scripts()
        .iter()
        .map(|s| s.path().display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "tests/fixtures/embedded/versions/001_11aa22bb33cc_create_one.sql",
            "tests/fixtures/embedded/versions/002_44dd55ee66ff_create_two.sql",
            "tests/fixtures/embedded/versions/003_77aa88bb99cc_index_two.sql",
        ]
    );
    for (a, b) in e.scripts().scripts().iter().zip(d.scripts().scripts()) {
        assert_eq!(a.text(), b.text());
    }
}

fn upgrade_current_downgrade(migrator: Migrator, backend: Backend) {
    let t = test_db(backend);
    let mut q = quiet();
    assert_eq!(
        migrator.current(&t.url, &mut q).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(migrator.upgrade(&t.url, "head", &mut q).unwrap(), [R3]);
    assert_eq!(migrator.current(&t.url, &mut q).unwrap(), [R3]);
    assert_eq!(t.db.version_rows(), [R3]);
    assert_eq!(t.db.tables(), ["aludel_version", "one", "two"]);
    // Nothing pending: a second upgrade changes nothing.
    assert_eq!(migrator.upgrade(&t.url, "head", &mut q).unwrap(), [R3]);
    assert_eq!(migrator.downgrade(&t.url, "-1", &mut q).unwrap(), [R2]);
    assert_eq!(
        migrator.downgrade(&t.url, "base", &mut q).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(t.db.tables(), ["aludel_version"]);
    assert_eq!(migrator.upgrade(&t.url, "+1", &mut q).unwrap(), [R1]);
    assert_eq!(migrator.current(&t.url, &mut q).unwrap(), [R1]);
}

fn embedded_upgrades_and_downgrades(backend: Backend) {
    upgrade_current_downgrade(embedded(), backend);
}

fn from_dir_upgrades_and_downgrades(backend: Backend) {
    upgrade_current_downgrade(from_dir(), backend);
}

fn ensure_at_head_tells_behind_at_head_and_ahead(backend: Backend) {
    let t = test_db(backend);
    let m = embedded();
    let mut q = quiet();
    let e = m.ensure_at_head(&t.url, &mut q).unwrap_err();
    assert!(
        matches!(&e, Error::NotAtHead { current, expected, command }
            if current.is_empty() && *expected == [R3] && command == "aludel upgrade head"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the database is at <base> (no revision applied), this build expects 77aa88bb99cc: run `aludel upgrade head`"
    );

    m.upgrade(&t.url, R2, &mut q).unwrap();
    let e = m.ensure_at_head(&t.url, &mut q).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the database is at 44dd55ee66ff, this build expects 77aa88bb99cc: run `aludel upgrade head`"
    );

    m.upgrade(&t.url, "head", &mut q).unwrap();
    m.ensure_at_head(&t.url, &mut q).unwrap();

    // A newer build applied a revision this one does not have.
    t.db.execute(&format!(
        "UPDATE aludel_version SET version_num = 'ffff00001111' WHERE version_num = '{R3}'"
    ));
    let ahead = "the database is at ffff00001111, this build expects 77aa88bb99cc: ffff00001111 is not in this build's migrations (did a newer build migrate the database?); run that build, or downgrade the database with it";
    let e = m.ensure_at_head(&t.url, &mut q).unwrap_err();
    assert!(
        matches!(&e, Error::AheadOfBuild { unknown, .. } if *unknown == ["ffff00001111"]),
        "{e:?}"
    );
    assert_eq!(e.to_string(), ahead);
    // Starting the old build anyway says the same, and changes nothing.
    let e = m.upgrade(&t.url, "head", &mut q).unwrap_err();
    assert_eq!(e.to_string(), ahead);
    assert_eq!(m.current(&t.url, &mut q).unwrap(), ["ffff00001111"]);
}

fn events_arrive_in_order(backend: Backend) {
    let t = test_db(backend);
    let mut seen = Vec::new();
    embedded()
        .upgrade(&t.url, "head", &mut |event| {
            let line = event.to_string();
            // Durations vary: keep the line up to them.
            let line = match line.rfind(" (").filter(|_| line.ends_with(" ms)")) {
                Some(i) => format!("{} (.. ms)", &line[..i]),
                None => line,
            };
            seen.push(line);
        })
        .unwrap();
    // MariaDB commits each statement by itself: a revision there runs statement by
    // statement, each announced with its line.
    let statement = |line: &str| match backend {
        Backend::Mysql => vec![line.to_string()],
        Backend::Sqlite | Backend::Postgres => vec![],
    };
    let expected: Vec<String> = [
        vec!["Running upgrade  -> 11aa22bb33cc, create one".to_string()],
        statement("Running the statement at line 5: CREATE TABLE one (id integer PRIMARY KEY)"),
        vec![
            "Finished upgrade  -> 11aa22bb33cc (.. ms)".to_string(),
            "Running upgrade 11aa22bb33cc -> 44dd55ee66ff, create two".to_string(),
        ],
        statement(
            "Running the statement at line 14: CREATE TABLE two (id integer PRIMARY KEY, one_id integer REFERENCES one (id), KEY two_one (one_id))",
        ),
        vec![
            "Finished upgrade 11aa22bb33cc -> 44dd55ee66ff (.. ms)".to_string(),
            "Running upgrade 44dd55ee66ff -> 77aa88bb99cc, index two".to_string(),
        ],
        statement("Running the statement at line 6: CREATE INDEX two_one_id ON two (one_id)"),
        vec!["Finished upgrade 44dd55ee66ff -> 77aa88bb99cc (.. ms)".to_string()],
    ]
    .concat();
    assert_eq!(seen, expected);
    let mut kinds = Vec::new();
    embedded()
        .downgrade(&t.url, "-1", &mut |event| {
            kinds.push(match event {
                Event::StepStarted { revision, .. } => format!("started {revision}"),
                Event::StepFinished { revision, .. } => format!("finished {revision}"),
                other => format!("{other}"),
            })
        })
        .unwrap();
    let expected: Vec<String> = [
        vec![format!("started {R3}")],
        statement("Running the statement at line 12: DROP INDEX two_one_id ON two"),
        vec![format!("finished {R3}")],
    ]
    .concat();
    assert_eq!(kinds, expected);
}

fn settings_reach_the_database(backend: Backend) {
    let t = test_db(backend);
    let m = embedded()
        .with_version_table("app_version")
        .unwrap()
        .with_transaction_per_migration(false)
        .with_lock_timeout(Duration::from_secs(10))
        .unwrap();
    m.upgrade(&t.url, "head", &mut quiet()).unwrap();
    assert_eq!(t.db.version_rows_in("app_version"), [R3]);
    assert!(!t.db.tables().contains(&"aludel_version".to_string()));
    // A migrator with the default table sees a database without revisions.
    assert_eq!(
        embedded().current(&t.url, &mut quiet()).unwrap(),
        Vec::<String>::new()
    );
}

fn a_failing_revision_names_its_embedded_file(backend: Backend) {
    let t = test_db(backend);
    let m = Migrator::embedded(&[
        (
            "migrations/versions/a.sql",
            "-- aludel:revision a1\n-- aludel:upgrade\nCREATE TABLE ok (id integer);\n",
        ),
        (
            "migrations/versions/b.sql",
            "-- aludel:revision b2\n-- aludel:revises a1\n-- aludel:upgrade\n\nCREATE TABLE ok (id integer);\n",
        ),
    ])
    .unwrap();
    let e = m.upgrade(&t.url, "head", &mut quiet()).unwrap_err();
    let Error::Run(RunError::Migration(failure)) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(failure.revision, "b2");
    assert_eq!(failure.path, Path::new("migrations/versions/b.sql"));
    assert_eq!(failure.statement.as_ref().map(|s| s.line), Some(5));
    // The database's error is the source, with its kind, and printed once: by
    // `error_text`, after the message, not by `Display`.
    let db = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<aludel::driver::DbError>())
        .unwrap_or_else(|| panic!("no database error as the source: {e:?}"));
    assert_eq!(
        db.kind(),
        aludel::driver::DbErrorKind::AlreadyExists,
        "{db:?}"
    );
    assert!(!e.to_string().contains(db.message()), "{e}");
    let text = aludel::report::error_text(&e);
    assert_eq!(text.matches(db.message()).count(), 1, "{text}");
    assert!(
        text.ends_with(&format!("database error: {}", db.message())),
        "{text}"
    );
    // Each revision commits on its own: the first one stays.
    assert_eq!(m.current(&t.url, &mut quiet()).unwrap(), ["a1"]);
}

on_all!(
    ensure_at_head_tells_behind_at_head_and_ahead,
    settings_reach_the_database,
    a_failing_revision_names_its_embedded_file,
);

on_all!(
    embedded_upgrades_and_downgrades,
    from_dir_upgrades_and_downgrades,
    events_arrive_in_order,
);

#[test]
fn a_broken_embedded_file_is_a_script_error_naming_it() {
    let e = Migrator::embedded(&[(
        "migrations/versions/broken.sql",
        "-- aludel:revision a1\n-- aludel:revisez b2\n-- aludel:upgrade\n",
    )])
    .unwrap_err();
    let Error::Script(ScriptError::Syntax { path, line, .. }) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, Path::new("migrations/versions/broken.sql"));
    assert_eq!(*line, 2);
    assert!(
        e.to_string()
            .starts_with("migrations/versions/broken.sql:2: "),
        "{e}"
    );
}

#[test]
fn a_broken_graph_is_a_graph_error_naming_the_file() {
    let e = Migrator::embedded(&[(
        "m/a.sql",
        "-- aludel:revision a1\n-- aludel:revises nope\n-- aludel:upgrade\n",
    )])
    .unwrap_err();
    assert!(matches!(e, Error::Graph(_)), "{e:?}");
    assert!(e.to_string().contains("m/a.sql"), "{e}");
}

#[test]
fn from_dir_takes_a_migrations_folder_or_a_folder_of_files() {
    let dir = tempfile::tempdir().unwrap();
    let e = Migrator::from_dir(dir.path().join("missing")).unwrap_err();
    assert!(
        matches!(e, Error::Script(ScriptError::MissingDir { .. })),
        "{e:?}"
    );
    let e = Migrator::from_dir(dir.path()).unwrap_err();
    assert!(matches!(e, Error::NoMigrations { .. }), "{e:?}");
    // A folder holding the files themselves.
    for f in std::fs::read_dir(fixture().join("versions")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    assert_eq!(Migrator::from_dir(dir.path()).unwrap().heads(), [R3]);
    std::fs::write(dir.path().join("004_broken.sql"), "-- aludel:upgrade\n").unwrap();
    let e = Migrator::from_dir(dir.path()).unwrap_err();
    assert!(matches!(e, Error::Script(_)), "{e:?}");
    assert!(e.to_string().contains("004_broken.sql"), "{e}");
}

#[test]
fn a_bad_url_is_a_url_error_without_its_password() {
    let e = embedded()
        .upgrade("oracle://app:s3cret@db/app", "head", &mut quiet())
        .unwrap_err();
    assert!(matches!(e, Error::Url(_)), "{e:?}");
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

/// A fixed backoff waits the first delay every time, and its events say so.
#[test]
fn a_fixed_connect_backoff_waits_the_same_each_time() {
    let m = embedded()
        .with_connect_retries(3, Duration::from_millis(100))
        .unwrap()
        .with_connect_backoff(aludel::config::Backoff::Fixed);
    let mut seen = Vec::new();
    // Nothing listens on port 1.
    m.ensure_at_head("postgresql://postgres@127.0.0.1:1/app", &mut |e| {
        seen.push(e.to_string())
    })
    .unwrap_err();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (i, line) in seen.iter().enumerate() {
        assert!(
            line.ends_with(&format!(
                "(attempt {} of 3); retrying in 0.1 s (the same wait each time: 0.2 s of waiting in all)",
                i + 1
            )),
            "{line}"
        );
    }
}

#[test]
fn connect_retries_are_reported_as_events() {
    let m = embedded().with_connect_retries(2, Duration::ZERO).unwrap();
    let mut seen = Vec::new();
    // Nothing listens on port 1.
    let e = m
        .ensure_at_head("postgresql://postgres@127.0.0.1:1/app", &mut |e| {
            seen.push(e)
        })
        .unwrap_err();
    assert!(
        matches!(e, Error::Run(RunError::Connect { attempts: 2, .. })),
        "{e:?}"
    );
    assert!(
        matches!(
            seen.as_slice(),
            [Event::ConnectFailed {
                attempt: 1,
                of: 2,
                ..
            }]
        ),
        "{seen:?}"
    );
    assert!(
        seen[0]
            .to_string()
            .ends_with("(attempt 1 of 2); retrying in 0.0 s (the wait doubles each time, up to 60 s: 0.0 s of waiting in all)"),
        "{}",
        seen[0]
    );
}

#[test]
fn several_heads_ask_for_upgrade_heads() {
    let m = Migrator::embedded(&[
        ("m/a.sql", "-- aludel:revision a1\n-- aludel:upgrade\n"),
        ("m/b.sql", "-- aludel:revision b1\n-- aludel:upgrade\n"),
    ])
    .unwrap();
    assert_eq!(m.heads(), ["a1", "b1"]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let e = m.ensure_at_head(&url, &mut quiet()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the database is at <base> (no revision applied), this build expects a1 and b1: run `aludel upgrade heads`"
    );
    m.upgrade(&url, "heads", &mut quiet()).unwrap();
    m.ensure_at_head(&url, &mut quiet()).unwrap();
}

#[test]
fn a_migrator_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>(_: &T) {}
    shared(&embedded());
}

#[test]
fn lock_events_read_as_log_lines() {
    let waiting = Event::WaitingForLock {
        holder: Some("pid 42 on web-1".into()),
        timeout: Duration::from_secs(300),
    };
    assert_eq!(
        waiting.to_string(),
        "Waiting for the migration lock held by pid 42 on web-1 (up to 300.0 s)"
    );
    let waiting = Event::WaitingForLock {
        holder: None,
        timeout: Duration::from_secs(5),
    };
    assert_eq!(
        waiting.to_string(),
        "Waiting for the migration lock held by another run (up to 5.0 s)"
    );
    let took = Event::LockAcquired {
        waited: Duration::from_millis(1500),
    };
    assert_eq!(took.to_string(), "Took the migration lock after 1.5 s");
}
