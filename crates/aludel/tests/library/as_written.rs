//! The desired schema is compared as aludel writes it ([`aludel::autogen::as_written`]):
//! the database does not always print an expression it printed the way it printed it.

use std::time::Duration;

use aludel::autogen::{as_written, compare, written_in_place};
use aludel::diff::Renames;
use aludel::driver::{ConnectOptions, Driver, InspectScope, Inspection};
use aludel::url::{DatabaseUrl, Dialect};
use aludel_testkit::PgDatabase;

fn open(url: &str) -> Box<dyn Driver> {
    let url: DatabaseUrl = url.parse().unwrap();
    aludel::driver::connect(
        &url,
        &ConnectOptions {
            busy_timeout: Duration::from_secs(5),
            ..ConnectOptions::default()
        },
    )
    .unwrap()
}

/// `first` written by aludel into a new, empty PostgreSQL database and read back.
fn written(first: Inspection) -> Inspection {
    let db = PgDatabase::create();
    let mut driver = open(db.url());
    as_written(
        first,
        driver.as_mut(),
        &InspectScope::default(),
        Dialect::Postgres,
    )
    .unwrap()
}

#[test]
fn a_check_on_an_in_list_reads_back_as_aludel_writes_it() {
    let db = PgDatabase::create();
    let mut driver = open(db.url());
    driver
        .execute("CREATE TABLE t (c varchar(10) CHECK (c IN ('x', 'y')))")
        .unwrap();
    let first = driver.inspect(&InspectScope::default()).unwrap();
    let check = |i: &Inspection| {
        i.catalog.schemas["public"].tables["t"].checks["t_c_check"]
            .expression
            .clone()
    };
    assert_eq!(
        check(&first),
        "((c)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying])::text[]))"
    );
    // What a revision writes reads back otherwise: comparing the live database with
    // `first` would find the check changed after every upgrade.
    let once = written(first.clone());
    assert_eq!(
        check(&once),
        "((c)::text = ANY (ARRAY[('x'::character varying)::text, ('y'::character varying)::text]))"
    );
    let twice = written(once.clone());
    assert_eq!(check(&twice), check(&once));
    let c = compare(twice, once, "public", &Renames::default());
    assert!(c.diff.is_empty(), "{:?}", c.diff.ops);
}

/// A shadow database emptied for its next use ([`aludel::autogen::Shadow::renew`])
/// reads as a new one: what the last use made is out of sight, `public` is there and
/// empty, and the same schema written again reads back the same.
/// A shadow database created beside `db`'s, loaded with `statements`.
fn loaded_shadow(
    db: &PgDatabase,
    scope: &InspectScope,
    statements: &[&str],
) -> aludel::autogen::Shadow {
    let url: DatabaseUrl = db.url().parse().unwrap();
    let connect = |u: &DatabaseUrl| {
        aludel::driver::connect(
            u,
            &ConnectOptions {
                busy_timeout: Duration::from_secs(5),
                ..ConnectOptions::default()
            },
        )
        .map_err(|e| aludel::driver::DbError::new(e.to_string()))
    };
    let cleanup = aludel::autogen::ShadowCleanup::new(
        std::sync::Arc::new(connect),
        &aludel::autogen::LeftShadows::default(),
    );
    let mut shadow =
        aludel::autogen::Shadow::open(&url, None, scope, false, &mut { connect }, &cleanup)
            .unwrap();
    let statements: Vec<_> = statements
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            (
                std::path::PathBuf::from("schema.sql"),
                aludel::script::Statement {
                    sql: sql.to_string(),
                    line: i + 1,
                },
            )
        })
        .collect();
    shadow.load(&statements).unwrap();
    shadow
}

#[test]
fn a_renewed_shadow_database_reads_as_a_new_one() {
    let db = PgDatabase::create();
    let scope = InspectScope {
        schemas: vec!["public".into(), "app".into()],
        exclude_tables: Vec::new(),
    };
    let mut shadow = loaded_shadow(
        &db,
        &scope,
        &[
            "CREATE SCHEMA app",
            "CREATE TYPE mood AS ENUM ('ok', 'sad')",
            "CREATE TABLE app.a (id bigint PRIMARY KEY, m mood, code int UNIQUE CHECK (code > 0))",
            "CREATE TABLE t (id serial PRIMARY KEY, a bigint REFERENCES app.a (id), n text DEFAULT 'x')",
            "CREATE INDEX t_lower ON t (lower(n)) WHERE id > 10",
            "CREATE TEMPORARY TABLE t (id int)",
        ],
    );
    let first = shadow.driver().unwrap().inspect(&scope).unwrap();
    assert!(first.catalog.schemas["app"].tables.contains_key("a"));

    assert!(shadow.renew(&scope));
    // The session's temporary tables are gone too: they would hide the next use's.
    let temporary = shadow
        .driver()
        .unwrap()
        .query_column("SELECT count(*) FROM pg_class WHERE relpersistence = 't'")
        .unwrap();
    assert_eq!(temporary, ["0"]);
    let empty = shadow.driver().unwrap().inspect(&scope).unwrap();
    let names: Vec<&String> = empty.catalog.schemas.keys().collect();
    assert_eq!(names, ["public"], "{empty:?}");
    assert!(empty.catalog.schemas["public"].tables.is_empty());
    assert!(empty.catalog.schemas["public"].enums.is_empty());

    // Written as a revision would write it, keys included, in the renewed database.
    let once = as_written(
        first.clone(),
        shadow.driver().unwrap(),
        &scope,
        Dialect::Postgres,
    )
    .unwrap();
    let a = &once.catalog.schemas["app"].tables["a"];
    assert_eq!(
        a.primary_key,
        first.catalog.schemas["app"].tables["a"].primary_key
    );
    assert_eq!(a.uniques.len(), 1, "{a:?}");
    assert_eq!(once.catalog.schemas["public"].tables["t"].indexes.len(), 1);
    let c = compare(first.clone(), once.clone(), "public", &Renames::default());
    assert!(c.diff.is_empty(), "{:?}", c.diff.ops);

    // And again: the second use's schemas are out of sight too.
    assert!(shadow.renew(&scope));
    let twice = as_written(
        once.clone(),
        shadow.driver().unwrap(),
        &scope,
        Dialect::Postgres,
    )
    .unwrap();
    let c = compare(once, twice, "public", &Renames::default());
    assert!(c.diff.is_empty(), "{:?}", c.diff.ops);
}

/// An event trigger made by the desired schema would fire on what the next use
/// writes: such a shadow database is not renewed, and a new one is used instead.
#[test]
fn a_shadow_database_holding_an_event_trigger_is_not_renewed() {
    let db = PgDatabase::create();
    let scope = InspectScope::default();
    let mut shadow = loaded_shadow(
        &db,
        &scope,
        &[
            "CREATE FUNCTION noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
            "CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION noop()",
        ],
    );
    assert!(!shadow.renew(&scope));
}

/// The desired schema loaded in `shadow`, read; writing its expressions in place is
/// refused for `reason`, and neither the reading nor the shadow database changed.
fn refused_in_place(
    shadow: &mut aludel::autogen::Shadow,
    scope: &InspectScope,
    reason: &str,
) -> Inspection {
    let first = shadow.driver().unwrap().inspect(scope).unwrap();
    let mut in_place = first.clone();
    let error = written_in_place(&mut in_place, shadow.driver().unwrap(), scope).unwrap_err();
    let text = aludel::report::error_text(&error);
    assert!(text.contains(reason), "{text}");
    assert_eq!(in_place, first);
    assert_eq!(shadow.driver().unwrap().inspect(scope).unwrap(), first);
    first
}

/// Nothing is written where the desired schema's event trigger would fire on it: the
/// caller reads the schema from an emptied database instead.
#[test]
fn nothing_is_written_in_place_beside_an_event_trigger() {
    let db = PgDatabase::create();
    let scope = InspectScope::default();
    let mut shadow = loaded_shadow(
        &db,
        &scope,
        &[
            "CREATE TABLE t (c varchar(10) CHECK (c IN ('x', 'y')))",
            "CREATE FUNCTION noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
            "CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION noop()",
        ],
    );
    refused_in_place(&mut shadow, &scope, "event trigger");
}

/// A child table (inheritance, a partition) takes what is written onto its parent: a
/// parent's default set again would replace the child's own. Such a schema is read
/// from an emptied database instead, where each keeps its own.
#[test]
fn nothing_is_written_in_place_beside_a_table_with_children() {
    let db = PgDatabase::create();
    let scope = InspectScope::default();
    let mut shadow = loaded_shadow(
        &db,
        &scope,
        &[
            "CREATE TABLE z_parent (c varchar(10) DEFAULT 'p' CHECK (c IN ('p', 'q')))",
            "CREATE TABLE a_child (d int) INHERITS (z_parent)",
            "ALTER TABLE a_child ALTER COLUMN c SET DEFAULT 'q'",
        ],
    );
    let first = refused_in_place(&mut shadow, &scope, "children");
    assert!(shadow.renew(&scope));
    let written = as_written(first, shadow.driver().unwrap(), &scope, Dialect::Postgres).unwrap();
    let default = |t: &str| {
        written.catalog.schemas["public"].tables[t].columns[0]
            .default
            .clone()
    };
    assert_eq!(
        default("a_child").as_deref(),
        Some("'q'::character varying")
    );
    assert_eq!(
        default("z_parent").as_deref(),
        Some("'p'::character varying")
    );
}

/// A view that groups by a primary key and selects the table's other columns is valid
/// only while that key exists: writing the desired schema again keeps the keys then.
#[test]
fn a_view_leaning_on_a_primary_key_is_written_again() {
    let db = PgDatabase::create();
    let mut driver = open(db.url());
    driver
        .execute(
            "CREATE TABLE t (id int PRIMARY KEY, name text CHECK (name <> ''));
             CREATE TABLE u (t_id int, n int);
             CREATE VIEW v AS SELECT t.id, t.name, count(u.n) AS n
               FROM t LEFT JOIN u ON u.t_id = t.id GROUP BY t.id",
        )
        .unwrap();
    let first = driver.inspect(&InspectScope::default()).unwrap();
    let once = written(first.clone());
    assert!(once.catalog.schemas["public"].views.contains_key("v"));
    let c = compare(once, first, "public", &Renames::default());
    assert!(c.diff.is_empty(), "{:?}", c.diff.ops);
}

/// Expressions of every kind aludel reads, several of which PostgreSQL prints
/// otherwise once its own print is loaded again (`IN` lists on `varchar`, casts).
const EXPRESSIONS: &str = "
CREATE SCHEMA app;
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE SEQUENCE app.counter;
CREATE TABLE app.a (
    id bigint PRIMARY KEY,
    m mood DEFAULT 'ok',
    code varchar(8) UNIQUE CHECK (code IN ('x', 'y')),
    n bigint DEFAULT nextval('app.counter'),
    price numeric(10,2) DEFAULT 1.5 CHECK (price >= 0 AND price < 1e6),
    CONSTRAINT a_both CHECK (code <> '' OR m = 'sad')
);
CREATE TABLE t (
    id serial PRIMARY KEY,
    a bigint REFERENCES app.a (id),
    n text DEFAULT 'x',
    tag varchar(10) DEFAULT 'new'::character varying,
    at timestamptz NOT NULL DEFAULT now(),
    day date DEFAULT CURRENT_DATE,
    width int,
    height int,
    area int GENERATED ALWAYS AS (width * height) STORED,
    label text GENERATED ALWAYS AS (upper(n) || '-' || tag) STORED,
    ident bigint GENERATED BY DEFAULT AS IDENTITY
);
CREATE INDEX t_lower ON t (lower(n)) WHERE id > 10;
CREATE UNIQUE INDEX t_tag_live ON t (tag) WHERE tag IN ('a', 'b');
CREATE INDEX t_mixed ON t (a, (width + height) DESC, lower(tag) text_pattern_ops);
CREATE VIEW app.v AS SELECT a.id, a.code, count(t.id) AS n
    FROM app.a LEFT JOIN t ON t.a = a.id WHERE a.code IN ('x', 'y') GROUP BY a.id;
CREATE VIEW w AS SELECT * FROM app.v WHERE n > 1;
COMMENT ON VIEW w IS 'leans on app.v';
";

/// The desired schema read back from a second, emptied database ([`as_written`]) and
/// written onto what its own SQL loaded ([`written_in_place`]) must read the same:
/// the second is how a cold `check` does it, the first is the reference.
/// `reprinted`: whether some expression of `sql` reads back otherwise than first
/// printed (so that a pass doing nothing would fail here).
fn in_place_matches_a_second_load(sql: &str, scope: &InspectScope, reprinted: bool) {
    let db = PgDatabase::create();
    let mut shadow = loaded_shadow(&db, scope, &[sql]);
    let first = shadow.driver().unwrap().inspect(scope).unwrap();
    let mut in_place = first.clone();
    written_in_place(&mut in_place, shadow.driver().unwrap(), scope).unwrap();
    assert!(shadow.renew(scope));
    let reference = as_written(
        first.clone(),
        shadow.driver().unwrap(),
        scope,
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(
        in_place.catalog.expressions(),
        reference.catalog.expressions()
    );
    assert_eq!(in_place, reference);
    if reprinted {
        assert_ne!(first.catalog.expressions(), reference.catalog.expressions());
    }
    // The copies made in place stay out of the answer.
    let text = format!("{in_place:?}");
    assert!(!text.contains("aludel_written"), "{text}");
}

#[test]
fn expressions_written_in_place_read_as_a_second_load_reads_them() {
    let scope = InspectScope {
        schemas: vec!["public".into(), "app".into()],
        exclude_tables: Vec::new(),
    };
    in_place_matches_a_second_load(EXPRESSIONS, &scope, true);
}

/// The same expression text in many places, over columns of the same and of other
/// types: each place reads back as its own copy would (an expression is written once
/// per text and types, and the places that share both take its form).
const SHARED_EXPRESSIONS: &str = "
CREATE TABLE a1 (v varchar(10) DEFAULT 'x' CHECK (v IN ('x', 'y')), n numeric DEFAULT 0 CHECK (n >= 0),
    w int, h int, area int GENERATED ALWAYS AS (w * h) STORED, at timestamptz DEFAULT now());
CREATE TABLE a2 (v varchar(10) DEFAULT 'x' CHECK (v IN ('x', 'y')), n numeric DEFAULT 0 CHECK (n >= 0),
    w int, h int, area int GENERATED ALWAYS AS (w * h) STORED, at timestamptz DEFAULT now());
CREATE TABLE b1 (v text DEFAULT 'x' CHECK (v IN ('x', 'y')), n integer DEFAULT 0 CHECK (n >= 0),
    w numeric, h numeric, area numeric GENERATED ALWAYS AS (w * h) STORED, at timestamp DEFAULT now());
CREATE TABLE b2 (v char(3) DEFAULT 'x' CHECK (v IN ('x', 'y')), n bigint DEFAULT 0 CHECK (n >= 0),
    w int, h bigint, area bigint GENERATED ALWAYS AS (w * h) STORED, at date DEFAULT now());
CREATE TABLE c1 (v varchar(10) COLLATE \"C\" DEFAULT 'x' CHECK (v IN ('x', 'y')));
CREATE TABLE \"Q1\" (\"Amount\" numeric CHECK (\"Amount\" > 0), CONSTRAINT whole CHECK (\"Q1\" IS NOT NULL));
CREATE TABLE \"Q2\" (\"Amount\" integer CHECK (\"Amount\" > 0), CONSTRAINT whole CHECK (\"Q2\" IS NOT NULL));
CREATE TABLE q3 (\"Amount\" numeric CHECK (\"Amount\" > 0), q3 int CHECK (q3 > 0));
CREATE TABLE q4 (\"Amount\" numeric CHECK (\"Amount\" > 0), q3 bigint CHECK (q3 > 0));
";

#[test]
fn shared_expressions_written_once_read_as_a_second_load_reads_them() {
    in_place_matches_a_second_load(SHARED_EXPRESSIONS, &InspectScope::default(), true);
}

#[test]
fn the_realistic_schemas_written_in_place_read_as_a_second_load_reads_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aludel-cli/tests/fixtures/schemas");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("postgres.sql");
        let sql = std::fs::read_to_string(&path).unwrap();
        eprintln!("{}", path.display());
        in_place_matches_a_second_load(&sql, &InspectScope::default(), false);
        seen += 1;
    }
    assert!(seen >= 3, "{seen} fixtures under {}", root.display());
}
