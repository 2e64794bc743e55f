//! A desired schema loaded over several sessions side by side
//! ([`aludel::autogen::Shadow::load_side_by_side`]) must read exactly as the same file
//! loaded one statement after the other: the serial load is the reference.

use std::path::PathBuf;
use std::time::Duration;

use aludel::autogen::{LeftShadows, Shadow, ShadowCleanup, SideBySide, side_by_side_doubtful};
use aludel::driver::{ConnectOptions, DbError, Driver, InspectScope, Inspection};
use aludel::script::{Statement, split_statements};
use aludel::url::{DatabaseUrl, Dialect};
use aludel_testkit::PgDatabase;

fn connect(url: &DatabaseUrl) -> Result<Box<dyn Driver>, DbError> {
    aludel::driver::connect(
        url,
        &ConnectOptions {
            busy_timeout: Duration::from_secs(5),
            ..ConnectOptions::default()
        },
    )
    .map_err(|e| DbError::new(e.to_string()))
}

/// Shadows dropped as a command drops them: over a new session when theirs is gone.
fn cleanup() -> ShadowCleanup {
    ShadowCleanup::new(std::sync::Arc::new(connect), &LeftShadows::default())
}

fn shadow(db: &PgDatabase, scope: &InspectScope) -> Shadow {
    let url: DatabaseUrl = db.url().parse().unwrap();
    Shadow::open(&url, None, scope, false, &mut connect, &cleanup()).unwrap()
}

fn statements(sql: &str) -> Vec<(PathBuf, Statement)> {
    split_statements(sql, Dialect::Postgres, 1)
        .unwrap()
        .into_iter()
        .map(|st| (PathBuf::from("schema.sql"), st))
        .collect()
}

/// A hundred small tables first, so that the file is worth loading side by side.
fn padded(sql: &str) -> String {
    let filler: String = (0..100)
        .map(|i| format!("CREATE TABLE filler_{i} (id int PRIMARY KEY, note text);\n"))
        .collect();
    format!("{filler}{sql}")
}

/// `sql` loaded one after the other and side by side, each read back; and how the
/// side-by-side load went.
fn both_ways(sql: &str, scope: &InspectScope) -> (Inspection, Inspection, SideBySide) {
    let db = PgDatabase::create();
    let statements = statements(sql);
    let mut serial = shadow(&db, scope);
    serial.load(&statements).unwrap();
    let reference = serial.driver().unwrap().inspect(scope).unwrap();
    drop(serial);
    let mut parallel = shadow(&db, scope);
    let how = parallel.load_side_by_side(&statements, &connect);
    let read = parallel.driver().unwrap().inspect(scope).unwrap();
    (reference, read, how)
}

/// Statements whose result depends on their order, among independent ones.
const ORDER_MATTERS: &str = r#"
SET client_min_messages = warning;
CREATE SCHEMA app;
CREATE TABLE a (x int);
ALTER TABLE a ADD COLUMN y int;
ALTER TABLE a ADD COLUMN z int;
ALTER TABLE a RENAME COLUMN y TO w;
COMMENT ON TABLE a IS 'one';
COMMENT ON TABLE a IS 'two';
COMMENT ON COLUMN public.a.z IS 'zed';
CREATE UNIQUE INDEX a_x_key ON a (x);
ALTER TABLE a ADD CONSTRAINT a_x_key UNIQUE USING INDEX a_x_key;
ALTER TABLE a OWNER TO no_such_role_anywhere;
GRANT SELECT ON a TO no_such_role_anywhere;
CREATE TYPE mood AS ENUM ('a');
ALTER TYPE mood ADD VALUE 'c';
ALTER TYPE mood ADD VALUE 'b' BEFORE 'c';
CREATE TABLE feelings (m mood, n mood[]);
CREATE TABLE old (x int);
ALTER TABLE old RENAME TO renamed;
CREATE TABLE old (y text);
CREATE TABLE gone (x int);
DROP TABLE gone;
CREATE TABLE gone (z text DEFAULT 'back');
CREATE SEQUENCE counter START 7;
CREATE TABLE counted (n bigint DEFAULT nextval('counter'::regclass));
SELECT pg_catalog.setval('public.counter', 42, true);
CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW calls AS SELECT f(1) AS one;
CREATE FUNCTION f(bigint) RETURNS int LANGUAGE sql AS 'SELECT 2';
SET search_path = app, public;
CREATE TABLE in_app (id serial PRIMARY KEY, a_x int REFERENCES public.a (x));
CREATE INDEX ON in_app (a_x);
RESET search_path;
CREATE TABLE "Mixed" ("Col" int);
ALTER TABLE "Mixed" ADD COLUMN extra int;
CREATE INDEX ON "Mixed" ("Col");
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    total numeric(12,2) CHECK (total >= 0));
CREATE TABLE posts (id bigint PRIMARY KEY, author bigint REFERENCES users);
ALTER TABLE ONLY orders ADD CONSTRAINT orders_user_total UNIQUE (user_id, total);
CREATE VIEW order_totals AS SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
"#;

#[test]
fn statements_whose_order_matters_load_as_one_after_the_other() {
    let scope = InspectScope {
        schemas: vec!["public".into(), "app".into()],
        exclude_tables: Vec::new(),
    };
    let (reference, read, how) = both_ways(&padded(ORDER_MATTERS), &scope);
    assert_eq!(how, SideBySide::Loaded);
    assert!(!side_by_side_doubtful(&read));
    assert_eq!(read, reference);
    // The file did what it says (so that equal answers are not two empty ones).
    let a = &reference.catalog.schemas["public"].tables["a"];
    let columns: Vec<&str> = a.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["x", "w", "z"]);
    assert_eq!(a.comment.as_deref(), Some("two"));
    assert!(
        reference.catalog.schemas["app"]
            .tables
            .contains_key("in_app")
    );
}

#[test]
fn the_realistic_schemas_and_their_pg_dump_load_side_by_side_as_one_after_the_other() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aludel-cli/tests/fixtures/schemas");
    let scope = InspectScope::default();
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("postgres.sql");
        eprintln!("{}", path.display());
        let sql = std::fs::read_to_string(&path).unwrap();
        let (reference, read, how) = both_ways(&padded(&sql), &scope);
        assert_eq!(how, SideBySide::Loaded);
        assert_eq!(read, reference);

        // The same schema as pg_dump writes it: session settings, `ALTER TABLE ONLY`
        // constraints at the end, owners, sequences set.
        let source = PgDatabase::create();
        let mut driver = connect(&source.url().parse().unwrap()).unwrap();
        driver.execute(&padded(&sql)).unwrap();
        let dump = std::process::Command::new("pg_dump")
            .args(["--schema-only", "--dbname", source.url()])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let dumped = String::from_utf8(dump.stdout).unwrap();
        let (reference, read, how) = both_ways(&dumped, &scope);
        assert_eq!(how, SideBySide::Loaded);
        assert_eq!(read, reference);
        seen += 1;
    }
    assert!(seen >= 3, "{seen} fixtures under {}", root.display());
}

#[test]
fn names_chosen_around_a_collision_send_the_file_back_to_one_after_the_other() {
    // `p (b_c)` and `p_b (c)` both want an index named `p_b_c_idx`: which one gets
    // `p_b_c_idx1` depends on which ran first.
    let sql = padded(
        "CREATE TABLE p (b_c int); CREATE TABLE p_b (c int);
         CREATE INDEX ON p_b (c); CREATE INDEX ON p (b_c);",
    );
    let (reference, read, how) = both_ways(&sql, &InspectScope::default());
    assert_eq!(how, SideBySide::Loaded);
    assert!(side_by_side_doubtful(&reference));
    assert!(side_by_side_doubtful(&read));
}

#[test]
fn files_one_session_must_load_are_not_loaded_side_by_side() {
    for sql in [
        // Too small to be worth it.
        "CREATE TABLE a (x int)".to_string(),
        padded("CREATE TEMP TABLE scratch (x int);"),
        padded("DO $$ BEGIN PERFORM set_config('search_path', 'app', false); END $$;"),
        // A dump of a database where names collided once.
        padded("CREATE TABLE t (x int); CREATE INDEX t_x_idx1 ON t (x);"),
    ] {
        let db = PgDatabase::create();
        let scope = InspectScope::default();
        let mut shadow = shadow(&db, &scope);
        let how = shadow.load_side_by_side(&statements(&sql), &connect);
        assert_eq!(how, SideBySide::NotTried, "{sql}");
        let tables = shadow
            .driver()
            .unwrap()
            .query_column("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
            .unwrap();
        assert_eq!(tables, ["0"], "nothing ran: {sql}");
    }
}

#[test]
fn a_failing_statement_abandons_the_side_by_side_load() {
    let db = PgDatabase::create();
    let scope = InspectScope::default();
    let mut shadow = shadow(&db, &scope);
    let sql = padded("CREATE TABLE t (x int REFERENCES missing (id));");
    let how = shadow.load_side_by_side(&statements(&sql), &connect);
    assert_eq!(how, SideBySide::Abandoned);
    // Emptied, the serial load then reports the statement as it always has.
    assert!(shadow.renew(&scope));
    let error = shadow.load(&statements(&sql)).unwrap_err().to_string();
    assert!(error.contains("schema.sql:101"), "{error}");
    assert!(error.contains("missing"), "{error}");
}

/// The sessions that loaded `padded` filler into a new shadow database on the server
/// of `url` (its own session included), as the server counts them: waited for until
/// there are `expected` (an ended session is counted once its backend has gone, just
/// after it closed), or five seconds, then read once more a little later.
fn sessions_of_a_load(url: &str, expected: u64) -> u64 {
    let scope = InspectScope::default();
    let url: DatabaseUrl = url.parse().unwrap();
    let mut shadow = Shadow::open(&url, None, &scope, false, &mut connect, &cleanup()).unwrap();
    let how = shadow.load_side_by_side(&statements(&padded("")), &connect);
    assert_eq!(how, SideBySide::Loaded);
    let driver = shadow.driver().unwrap();
    let mut count = || -> u64 {
        driver
            .query_column(
                "SELECT sessions FROM pg_catalog.pg_stat_database WHERE datname = current_database()",
            )
            .unwrap()[0]
            .parse()
            .unwrap()
    };
    for _ in 0..50 {
        if count() >= expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    count()
}

/// Six sessions load side by side on a server that waits for its disk (fsync on),
/// two on one that does not: asked of the machine's server and of clusters started
/// with fsync off and on.
#[test]
fn a_server_that_syncs_to_disk_is_loaded_over_more_sessions() {
    use aludel_testkit::faults::Cluster;
    let waits = |url: &str| {
        let url: DatabaseUrl = url.parse().unwrap();
        connect(&url).unwrap().scratch_waits_for_disk()
    };
    let db = PgDatabase::create();
    let fsync_on = db.rows("SHOW fsync") != ["off"];
    assert_eq!(waits(db.url()), fsync_on);
    let memory = Cluster::start_with(|_| "-c fsync=off".to_string());
    assert!(!waits(&memory.url()));
    assert_eq!(sessions_of_a_load(&memory.url(), 2), 2);
    let durable = Cluster::start();
    assert!(waits(&durable.url()));
    assert_eq!(sessions_of_a_load(&durable.url(), 6), 6);
}
