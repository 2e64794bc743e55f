//! `revision --autogenerate` and `check`: from the desired schema in `schema.sql` to a
//! revision that gets there and back, on SQLite, PostgreSQL and MariaDB.

use aludel_testkit::{Backend, DbProject, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// A small shop that every dialect accepts as written (MySQL keys a `text` column
/// only by a prefix: `email` is a `varchar`).
const SHOP: &str = "CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email varchar(200) UNIQUE
);
CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    total numeric(12,2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    note text
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
";

fn write_schema(p: &DbProject, text: &str) {
    std::fs::write(p.path().join("schema.sql"), text).unwrap();
}

fn revision_files(p: &DbProject) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn from_empty_to_the_schema_and_back(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_schema(&p, SHOP);
    let r = p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    for line in [
        "INFO  Detected add table main.customers",
        "INFO  Detected add table main.orders",
        "INFO  Detected add index orders_customer_idx on main.orders",
        "INFO  Detected add view main.big_orders",
    ] {
        let line = match backend {
            Backend::Postgres => line.replace("main.", "public."),
            Backend::Sqlite => line.to_string(),
            Backend::Mysql => line.replace("main.", ""),
        };
        assert!(r.stderr.contains(&line), "{line}\n{r}");
    }
    assert!(r.stdout.starts_with("Generating "), "{r}");
    assert_eq!(revision_files(&p).len(), 1);

    p.ok(&["upgrade", "head"]);
    let mut tables = db.tables();
    tables.sort();
    assert_eq!(tables, ["aludel_version", "customers", "orders"]);
    let r = p.ok(&["check"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");

    // Nothing changed: nothing is written, unless asked.
    let r = p.ok(&["revision", "--autogenerate", "-m", "nothing"]);
    assert!(r.stderr.contains("No changes in schema detected"), "{r}");
    assert_eq!(revision_files(&p).len(), 1);

    p.ok(&["downgrade", "base"]);
    assert_eq!(db.tables(), ["aludel_version"]);
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(
        r.stdout.starts_with("New upgrade operations detected:\n"),
        "{r}"
    );
    assert!(r.stdout.contains("add table"), "{r}");
}

fn a_new_column_then_a_declared_rename_keeps_the_rows(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    p.ok(&["upgrade", "head"]);
    db.execute("INSERT INTO customers (id, name, email) VALUES (1, 'Ada', 'ada@example.com')");

    // An added column.
    write_schema(
        &p,
        &SHOP.replace(
            "    email varchar(200) UNIQUE\n",
            "    email varchar(200) UNIQUE,\n    phone text\n",
        ),
    );
    let r = p.ok(&["revision", "--autogenerate", "-m", "phone"]);
    assert!(r.stderr.contains("Detected add column"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );

    // A rename: suggested without a hint, done with one.
    let renamed = SHOP
        .replace(
            "    name text NOT NULL,\n",
            "    full_name text NOT NULL,\n",
        )
        .replace(
            "    email varchar(200) UNIQUE\n",
            "    email varchar(200) UNIQUE,\n    phone text\n",
        );
    write_schema(&p, &renamed);
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(
        r.stderr.contains("--rename customers.name=full_name"),
        "{r}"
    );
    let r = p.ok(&[
        "revision",
        "--autogenerate",
        "-m",
        "rename",
        "--rename",
        "customers.name=full_name",
    ]);
    assert!(r.stderr.contains("Detected rename column"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(db.rows("SELECT full_name FROM customers"), ["Ada"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    p.ok(&["downgrade", "-1"]);
    assert_eq!(db.rows("SELECT name FROM customers"), ["Ada"]);
}

fn the_database_must_be_at_the_head(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    let r = p.fails(&["revision", "--autogenerate", "-m", "again"]);
    assert!(
        r.stderr.contains("the database is at <base>, not at")
            && r.stderr.contains("run `aludel upgrade head` first"),
        "{r}"
    );
}

fn a_bad_desired_schema_names_its_file_and_line(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(
        &p,
        "CREATE TABLE ok (id integer);\n\nCREATE TABLE broken (id nosuchtype(;\n",
    );
    let r = p.fails(&["check"]);
    assert!(r.stderr.contains("schema.sql:3"), "{r}");
}

fn check_migrations_needs_no_live_database(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    // The revisions reach the desired schema in a shadow database; the project's own
    // database stays untouched.
    let r = p.ok(&["check", "--migrations"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
    assert!(db.tables().is_empty(), "{:?}", db.tables());
    // A change to the schema without a revision for it is caught.
    write_schema(
        &p,
        &SHOP.replace("    note text\n", "    note text,\n    paid boolean\n"),
    );
    let r = p
        .run(&["check", "--migrations"])
        .expect_code(3, &["check", "--migrations"]);
    assert!(r.stdout.contains("add column"), "{r}");
}

/// A warm `check` reads the desired catalog from the cache; an edited schema is never
/// answered from it.
fn the_desired_catalog_is_cached_by_content(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    p.ok(&["upgrade", "head"]);
    let entries = || -> Vec<String> {
        std::fs::read_dir(p.path().join(".aludel-cache"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("desired-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        entries().len(),
        1,
        "the autogenerate run stored the catalog"
    );
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    assert_eq!(entries().len(), 1, "the warm check found it");
    // Prove the warm check reads the entry: with its tables taken out (key kept), the
    // check compares against an empty desired schema.
    let entry = p.path().join(".aludel-cache").join(&entries()[0]);
    let original = std::fs::read_to_string(&entry).unwrap();
    let mut doctored: serde_json::Value = serde_json::from_str(&original).unwrap();
    for schema in doctored["inspection"]["catalog"]["schemas"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        schema["tables"] = serde_json::json!({});
    }
    std::fs::write(&entry, doctored.to_string()).unwrap();
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(r.stdout.contains("remove table"), "{r}");
    std::fs::write(&entry, original).unwrap();
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    write_schema(
        &p,
        &SHOP.replace("    note text\n", "    note text,\n    paid boolean\n"),
    );
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(r.stdout.contains("add column"), "{r}");
    assert_eq!(entries().len(), 2);
}

on_all!(
    the_desired_catalog_is_cached_by_content,
    check_migrations_needs_no_live_database,
    a_new_column_then_a_declared_rename_keeps_the_rows,
    the_database_must_be_at_the_head,
    a_bad_desired_schema_names_its_file_and_line,
);

on_all!(from_empty_to_the_schema_and_back,);

/// A SQLite change that needs a table rebuild would drop the table's triggers, which
/// aludel does not model: refused with what to do instead, nothing written.
#[test]
fn a_sqlite_rebuild_that_would_drop_a_trigger_is_refused() {
    let p = DbProject::new(BIN, Backend::Sqlite, "");
    let base = "CREATE TABLE t (id integer PRIMARY KEY, n integer);\nCREATE TABLE log (id integer);\nCREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (id) VALUES (new.id); END;\n";
    write_schema(&p, base);
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    p.ok(&["upgrade", "head"]);
    // The trigger is not in the revision: created by hand.
    p.db().execute(
        "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (id) VALUES (new.id); END",
    );
    write_schema(
        &p,
        &base.replace("n integer", "n integer NOT NULL DEFAULT 0"),
    );
    let before = revision_files(&p);
    let r = p.fails(&["revision", "--autogenerate", "-m", "not null"]);
    assert!(
        r.stderr
            .contains("rebuild table main.t, which would drop t.t_log"),
        "{r}"
    );
    assert_eq!(revision_files(&p), before);
}

/// An index's operator class is part of the index: written, compared, and a change to
/// it is a change.
#[test]
fn postgres_index_operator_classes_are_kept() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let schema = "CREATE TABLE t (id integer PRIMARY KEY, name varchar(100), data jsonb);\nCREATE INDEX t_name_pattern ON t (name varchar_pattern_ops);\nCREATE INDEX t_data_path ON t USING gin (data jsonb_path_ops);\n";
    write_schema(&p, schema);
    p.ok(&["revision", "--autogenerate", "-m", "opclasses"]);
    let file = p.versions().join(&revision_files(&p)[0]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("CREATE INDEX t_name_pattern ON t (name varchar_pattern_ops)"),
        "{text}"
    );
    assert!(
        text.contains("CREATE INDEX t_data_path ON t USING gin (data jsonb_path_ops)"),
        "{text}"
    );
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    write_schema(&p, &schema.replace(" varchar_pattern_ops", ""));
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(
        r.stdout.contains("add index t_name_pattern on public.t"),
        "{r}"
    );
}

/// Types named in quotes keep their case (Prisma names its enums `"Role"`): the
/// revision creates the columns with the type the schema names, and the database then
/// matches the schema.
#[test]
fn postgres_quoted_type_names_keep_their_case() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let schema = "CREATE SCHEMA \"Billing\";\nCREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');\nCREATE TYPE \"Billing\".\"Plan\" AS ENUM ('FREE', 'PRO');\nCREATE TABLE \"User\" (id integer PRIMARY KEY, role \"Role\" NOT NULL DEFAULT 'USER', roles \"Role\"[], plan \"Billing\".\"Plan\");\n";
    write_schema(&p, schema);
    p.set_option(
        "autogenerate",
        "include_schemas",
        "[\"public\", \"Billing\"]",
    );
    p.ok(&["revision", "--autogenerate", "-m", "quoted"]);
    let file = p.versions().join(&revision_files(&p)[0]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("role \"Role\" DEFAULT"), "{text}");
    assert!(text.contains("roles \"Role\"[]"), "{text}");
    assert!(text.contains("plan \"Billing\".\"Plan\""), "{text}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
}

/// `shadow_database_url` names a database kept for aludel: used instead of a temporary
/// one, its schema emptied before each use, and nothing created beside it.
#[test]
fn postgres_uses_the_shadow_database_it_is_given() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let shadow = aludel_testkit::PgDatabase::create();
    shadow.rows("CREATE TABLE leftover (id int)");
    p.set_option(
        "autogenerate",
        "shadow_database_url",
        &format!("\"{}\"", shadow.url()),
    );
    write_schema(&p, SHOP);
    let r = p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    assert!(r.stderr.contains("Detected add table public.orders"), "{r}");
    assert!(!r.stderr.contains("leftover"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    // The shadow holds the desired schema as last loaded, nothing of before.
    let mut tables = shadow.tables();
    tables.sort();
    assert_eq!(tables, ["customers", "orders"]);
}

/// Drops a role when dropped: declared before the database it owns objects in, it is
/// dropped after it.
struct RoleGuard(String);

impl Drop for RoleGuard {
    fn drop(&mut self) {
        let _ = aludel_testkit::pg_rows(
            &aludel_testkit::postgres_admin_url(),
            &format!("DROP ROLE IF EXISTS {}", self.0),
        );
    }
}

/// `shadow_server_url`: the temporary shadow databases are made (and dropped) on that
/// server with its user, not beside the project's database, whose user here may not
/// create databases at all.
#[test]
fn postgres_makes_its_shadow_databases_on_the_shadow_server_it_is_given() {
    let user = RoleGuard(aludel_testkit::unique_name("aludel_nocreatedb"));
    let maker = RoleGuard(aludel_testkit::unique_name("aludel_shadow_maker"));
    let db = aludel_testkit::PgDatabase::create();
    db.rows(&format!(
        "CREATE ROLE {0} LOGIN NOCREATEDB; ALTER DATABASE {1} OWNER TO {0}; \
         CREATE ROLE {2} LOGIN CREATEDB",
        user.0,
        db.name(),
        maker.0
    ));
    let (scheme, rest) = db.url().split_once("://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    let as_role = |role: &str, database: &str| {
        let host = host.rsplit_once('/').map_or(host, |(h, _)| h);
        format!("{scheme}://{role}@{host}/{database}")
    };
    let p = aludel_testkit::TestProject::new(BIN, Some(&as_role(&user.0, db.name())), "");
    std::fs::write(p.path().join("schema.sql"), SHOP).unwrap();
    let r = p.fails(&["check"]);
    assert!(r.stderr.contains("the user needs CREATEDB"), "{r}");
    assert!(r.stderr.contains("shadow_server_url"), "{r}");

    p.set_option(
        "autogenerate",
        "shadow_server_url",
        &format!("\"{}\"", as_role(&maker.0, "postgres")),
    );
    let r = p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    assert!(r.stderr.contains("Detected add table public.orders"), "{r}");
    p.ok(&["upgrade", "head"]);
    // Nothing cached: the desired schema is loaded into a shadow database again.
    let r = p
        .command(&["check"])
        .env("ALUDEL_CACHE_DIR", "")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        "No new upgrade operations detected.\n"
    );
    // Each shadow database it made (owned by the shadow server's user) is gone.
    let left = aludel_testkit::pg_rows(
        &aludel_testkit::postgres_admin_url(),
        &format!(
            "SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba \
             WHERE r.rolname = '{}'",
            maker.0
        ),
    );
    assert!(left.is_empty(), "{left:?}");

    // Not beside a shadow database of its own.
    p.set_option(
        "autogenerate",
        "shadow_database_url",
        &format!("\"{}\"", db.url()),
    );
    let r = p.fails(&["check"]);
    assert!(r.stderr.contains("not both"), "{r}");
}

/// A server that ends idle sessions (`idle_session_timeout` set for the database):
/// the database's own session and the one that made the shadow database both wait,
/// idle, while the desired schema loads. `check` still reads the database (on a new
/// connection) and leaves no shadow database behind.
#[test]
fn postgres_check_outlives_a_server_that_ends_idle_sessions() {
    let db = aludel_testkit::PgDatabase::create();
    db.rows(&format!(
        "ALTER DATABASE {} SET idle_session_timeout = '100ms'",
        db.name()
    ));
    let p = aludel_testkit::TestProject::new(BIN, Some(db.url()), "");
    // Enough tables that loading them takes well over the timeout.
    let schema: String = (0..300)
        .map(|i| {
            format!(
                "CREATE TABLE t{i} (id bigint PRIMARY KEY, name text NOT NULL);\n\
                 CREATE INDEX t{i}_name ON t{i} (name);\n"
            )
        })
        .collect();
    std::fs::write(p.path().join("schema.sql"), schema).unwrap();
    let child = p
        .command(&["check"])
        .env("ALUDEL_CACHE_DIR", "")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let r = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr),
    );
    assert_eq!(r.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("add table public.t299"), "{stdout}{stderr}");
    // Shadow databases are named after the process that made them.
    let left = aludel_testkit::pg_rows(
        &aludel_testkit::postgres_admin_url(),
        &format!(
            "SELECT datname FROM pg_database WHERE datname LIKE 'aludel\\_shadow\\_{pid}\\_%'"
        ),
    );
    assert!(left.is_empty(), "{left:?}");
}

/// A column that a view reads changes type: the view is made again around the change
/// (PostgreSQL refuses to alter the column while the view reads it).
fn a_column_read_by_a_view_changes_type(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    p.ok(&["upgrade", "head"]);
    write_schema(
        &p,
        &SHOP.replace("total numeric(12,2)", "total numeric(14,2)"),
    );
    let r = p.ok(&["revision", "--autogenerate", "-m", "wider"]);
    assert!(r.stderr.contains("Detected remove view"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    p.ok(&["downgrade", "-1"]);
}

on_all!(a_column_read_by_a_view_changes_type,);

/// The downgrade is checked as well: dropping a NOT NULL column is a plain ALTER TABLE,
/// but adding it back needs a rebuild that would drop the table's trigger. Objects left
/// alone are also named in the warnings.
#[test]
fn a_sqlite_downgrade_rebuild_that_would_drop_a_trigger_is_refused() {
    let p = DbProject::new(BIN, Backend::Sqlite, "");
    let base = "CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL);\nCREATE TABLE log (id integer);\n";
    write_schema(&p, base);
    p.ok(&["revision", "--autogenerate", "-m", "base"]);
    p.ok(&["upgrade", "head"]);
    p.db().execute(
        "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (id) VALUES (new.id); END",
    );
    let r = p.ok(&["check"]);
    assert!(
        r.stderr
            .contains("WARN  left alone in the database: trigger main.t.t_log"),
        "{r}"
    );
    write_schema(&p, &base.replace(", n integer NOT NULL", ""));
    let before = revision_files(&p);
    let r = p.fails(&["revision", "--autogenerate", "-m", "drop n"]);
    assert!(
        r.stderr
            .contains("rebuild table main.t, which would drop t.t_log"),
        "{r}"
    );
    assert_eq!(revision_files(&p), before);
}

/// A function in the desired schema is neither compared nor written, and the user is
/// told so.
#[test]
fn postgres_functions_in_the_desired_schema_are_named_as_not_written() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    write_schema(
        &p,
        "CREATE TABLE t (id integer PRIMARY KEY);\nCREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n",
    );
    let r = p.ok(&["revision", "--autogenerate", "-m", "t"]);
    assert!(
        r.stderr.contains(
            "WARN  not written, add it by hand if needed: function public.one() from the desired schema"
        ),
        "{r}"
    );
    let file = p.versions().join(&revision_files(&p)[0]);
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains(
            "-- autogenerate: not written, add it by hand if needed: function public.one()"
        ),
        "{text}"
    );
    assert!(!text.contains("CREATE FUNCTION"), "{text}");
}

/// `--allow-empty` writes a revision even when nothing differs.
fn allow_empty_writes_a_revision_that_does_nothing(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    p.ok(&["upgrade", "head"]);
    let r = p.ok(&[
        "revision",
        "--autogenerate",
        "--allow-empty",
        "-m",
        "nothing",
    ]);
    assert!(r.stdout.starts_with("Generating "), "{r}");
    assert_eq!(revision_files(&p).len(), 2);
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    // Without --autogenerate the flag means nothing and is refused as a usage error.
    p.fails_with(
        &["revision", "--allow-empty", "-m", "x"],
        2,
        "error: --rename and --allow-empty go with --autogenerate",
    );
}

/// `exclude_tables` keeps a table the desired schema does not describe out of the
/// comparison (as PostGIS's spatial_ref_sys must be).
fn excluded_tables_are_not_compared(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    write_schema(&p, SHOP);
    p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    p.ok(&["upgrade", "head"]);
    p.db()
        .execute("CREATE TABLE spatial_ref_sys (srid integer)");
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(r.stdout.contains("remove table"), "{r}");
    p.set_option("autogenerate", "exclude_tables", "[\"spatial_ref_sys\"]");
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
}

on_all!(
    allow_empty_writes_a_revision_that_does_nothing,
    excluded_tables_are_not_compared,
);

/// A database built by running its SQL directly holds some expressions in another
/// printed form than aludel's revisions leave (`IN (...)` on a varchar column): the
/// same expression compares equal, and a changed one is still a change.
#[test]
fn expressions_compare_by_meaning_and_a_real_change_stays_one() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let table = |values: &str| {
        format!(
            "CREATE TABLE accounts (id integer PRIMARY KEY, status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ({values})));\n"
        )
    };
    p.db().execute(&table("'active', 'banned'"));
    write_schema(&p, &table("'active', 'banned'"));
    let r = p.ok(&["check"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
    write_schema(&p, &table("'active', 'banned', 'closed'"));
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert_eq!(
        r.stdout,
        "New upgrade operations detected:\n  remove check constraint accounts_status_check on public.accounts\n  add check constraint accounts_status_check on public.accounts\n",
        "{r}"
    );
}

/// A shadow database inherits what `template1` holds (an extension's types, a domain):
/// the second use within one command (the desired schema as aludel writes it) must
/// still see them, so such a shadow is not emptied by renaming its schemas away.
#[test]
fn a_customised_template1_reaches_every_use_of_the_shadow() {
    use aludel_testkit::faults::Cluster;
    let cluster = Cluster::start();
    let template1 = cluster.url().replace("/postgres?", "/template1?");
    aludel_testkit::pg_rows(
        &template1,
        "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%')",
    );
    aludel_testkit::pg_rows(&cluster.url(), "CREATE DATABASE app");
    let app = cluster.url().replace("/postgres?", "/app?");
    let p = aludel_testkit::TestProject::new(BIN, Some(&app), "");
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE users (id int PRIMARY KEY, address email CHECK (address <> ''));\n",
    )
    .unwrap();
    p.set_option("autogenerate", "schema", "\"schema.sql\"");
    let r = p.run(&["check"]);
    assert_eq!(
        r.code, 3,
        "the table is missing, and nothing else went wrong:\n{r}"
    );
    assert!(r.stdout.contains("users"), "{r}");
}

/// A hundred tables before `SHOP`: enough statements to load side by side.
fn large_shop() -> String {
    let filler: String = (0..100)
        .map(|i| format!("CREATE TABLE filler_{i} (id int PRIMARY KEY, note text);\n"))
        .collect();
    format!("{filler}{SHOP}")
}

/// A large desired schema is loaded over several sessions side by side; what it reads
/// as is what one session reads, including where PostgreSQL would name an index
/// otherwise in another order (the file is then loaded again, one statement after the
/// other), and a refused statement is named by its line as always.
#[test]
fn postgres_loads_a_large_desired_schema_side_by_side() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    // `p (b_c)` and `p_b (c)` both want an index named `p_b_c_idx`.
    let collide = "CREATE TABLE p (b_c int);\nCREATE TABLE p_b (c int);\n\
                   CREATE INDEX ON p_b (c);\nCREATE INDEX ON p (b_c);\n";
    for schema in [large_shop(), format!("{}{collide}", large_shop())] {
        write_schema(&p, &schema);
        p.ok(&["revision", "--autogenerate", "-m", "shop"]);
        p.ok(&["upgrade", "head"]);
        // Cold each time: the desired schema is loaded, not read from the cache.
        for check in [&["check"][..], &["check", "--migrations"]] {
            let _ = std::fs::remove_dir_all(p.path().join(".aludel-cache"));
            let r = p.ok(check);
            assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
        }
    }
    let indexes = p
        .db()
        .rows("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'p_b_c_idx%' ORDER BY 1");
    assert_eq!(indexes, ["p_b_c_idx", "p_b_c_idx1"]);

    write_schema(
        &p,
        &format!(
            "{}CREATE TABLE broken (id int REFERENCES missing (id));\n",
            large_shop()
        ),
    );
    let r = p.fails(&["check"]);
    let line = format!("schema.sql:{}", large_shop().lines().count() + 1);
    assert!(r.stderr.contains(&line), "{line}\n{r}");
    assert!(r.stderr.contains("missing"), "{r}");
}

/// A side-by-side load that fails is loaded again into a new shadow database: one
/// emptied by renaming its schemas would still hold the extension the file made, and
/// the serial load would stop at `CREATE EXTENSION` instead of at the real mistake.
#[test]
fn postgres_reports_the_real_mistake_of_a_large_schema_with_an_extension() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let schema = format!(
        "CREATE EXTENSION citext;\nCREATE TABLE people (email citext);\n{}CREATE TABLE broken (id int REFERENCES missing (id));\n",
        large_shop()
    );
    write_schema(&p, &schema);
    let r = p.fails(&["check"]);
    let line = format!("schema.sql:{}", schema.lines().count());
    assert!(r.stderr.contains(&line), "{line}\n{r}");
    assert!(r.stderr.contains("missing"), "{r}");
}

/// A desired schema that uses an extension's type and cannot be written again in
/// place (a partitioned table) is written into a new shadow database with the
/// extension made first: the type is there, and the database matches.
#[test]
fn postgres_an_extension_type_survives_the_second_load() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let schema = "CREATE EXTENSION IF NOT EXISTS citext;\n\
                  CREATE TABLE p (e citext) PARTITION BY RANGE (e);\n\
                  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('a') TO ('m');\n\
                  CREATE TABLE people (email citext NOT NULL);\n";
    write_schema(&p, schema);
    p.db().execute(schema);
    let r = p.ok(&["check"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
}

/// Points `[autogenerate] schema_command` at `command` (a TOML array), in place of
/// `schema`.
fn use_schema_command(p: &aludel_testkit::TestProject, command: &str) {
    let path = p.path().join("aludel.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("schema ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    p.set_option("autogenerate", "schema_command", command);
}

/// `schema_command`: the desired schema is what the command prints, read like a file
/// (a change shows as one), and the command runs once per aludel command.
fn the_desired_schema_is_what_schema_command_prints(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    use_schema_command(
        &p,
        r#"["sh", "-c", "echo ran >> runs.txt; cat models.sql"]"#,
    );
    std::fs::write(p.path().join("models.sql"), SHOP).unwrap();
    let r = p.ok(&["revision", "--autogenerate", "-m", "shop"]);
    assert!(r.stderr.contains("Detected add table"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    let runs = || {
        std::fs::read_to_string(p.path().join("runs.txt"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(runs(), 2, "once for the revision, once for the check");
    std::fs::write(
        p.path().join("models.sql"),
        SHOP.replace("    note text\n", "    note text,\n    paid boolean\n"),
    )
    .unwrap();
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(
        r.stdout.contains("add column") && r.stdout.contains("orders.paid"),
        "{r}"
    );
    assert_eq!(runs(), 3);
}

on_all!(the_desired_schema_is_what_schema_command_prints,);

/// Each way `schema_command` can fail names the command as written (a secret given
/// through `${ENV}` stays hidden), says what went wrong, and stops before anything
/// connects.
#[test]
fn a_schema_command_that_gives_no_schema_says_why() {
    let mut p = aludel_testkit::TestProject::new(BIN, Some("sqlite:///app.db"), "");
    p.env("SCHEMA_TOKEN", "hunter2");
    let p = p;
    let fails = |command: &str| {
        use_schema_command(&p, command);
        let r = p.fails(&["check"]);
        assert!(!p.path().join("app.db").exists(), "connected: {r}");
        r.stderr
    };
    let mut out = String::new();
    for command in [
        // Fails, with its standard error's last 20 lines.
        r#"["sh", "-c", "for i in $(seq 1 25); do echo line $i >&2; done; exit 3"]"#,
        r#"["sh", "-c", "exit 1"]"#,
        r#"["no-such-program-for-aludel"]"#,
        // Succeeds but gives nothing to compare with.
        r#"["sh", "-c", "echo '-- nothing here'"]"#,
        r#"["printf", "CREATE TABLE t (x text DEFAULT 'a');\n\\377"]"#,
        // A secret in an argument stays as written.
        r#"["sh", "-c", "exit 2", "${SCHEMA_TOKEN}"]"#,
    ] {
        out.push_str(&format!("$ {command}\n{}\n", fails(command)));
    }
    insta::assert_snapshot!(out.replace("hunter2", "[LEAKED]"));

    // A statement the database refuses is named by the command's output and line.
    use_schema_command(
        &p,
        r#"["printf", "CREATE TABLE a (id int);\n\nCREATE TABLE a (id int);\n"]"#,
    );
    let r = p.fails(&["check"]);
    assert!(
        r.stderr.contains(
            "output of `printf 'CREATE TABLE a (id int);\\n\\nCREATE TABLE a (id int);\\n'`:3:"
        ),
        "{r}"
    );
    // Not with `schema` too.
    p.set_option("autogenerate", "schema", "\"schema.sql\"");
    let r = p.fails(&["check"]);
    assert!(r.stderr.contains("not both"), "{r}");
}

/// The SQLAlchemy recipe (`examples/sqlalchemy`): the models are the desired schema
/// (`schema_command` runs `python -m app.schema DIALECT`). A CHECK with `%` comes out
/// as written, a model edited is a revision, and `check` is clean after each upgrade.
fn the_sqlalchemy_models_are_the_desired_schema(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sqlalchemy/app");
    std::fs::create_dir(p.path().join("app")).unwrap();
    for file in ["__init__.py", "models.py", "schema.py"] {
        std::fs::copy(example.join(file), p.path().join("app").join(file)).unwrap();
    }
    let dialect = match backend {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
    };
    use_schema_command(
        &p,
        &format!(
            r#"["{}", "-m", "app.schema", "{dialect}"]"#,
            aludel_testkit::python_with_alembic().display()
        ),
    );
    p.ok(&["revision", "--autogenerate", "-m", "models"]);
    let files = revision_files(&p);
    let first = std::fs::read_to_string(p.versions().join(&files[0])).unwrap();
    assert!(first.contains("'%@%'") && !first.contains("%%"), "{first}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );

    let models = p.path().join("app/models.py");
    let text = std::fs::read_to_string(&models).unwrap();
    let edited = text.replace(
        "    note: Mapped[str | None] = mapped_column(Text)\n",
        "    note: Mapped[str | None] = mapped_column(Text)\n    vip: Mapped[bool] = mapped_column(server_default=text(\"false\"))\n",
    );
    assert_ne!(
        edited, text,
        "the example's Customer model changed: update this test"
    );
    std::fs::write(&models, edited).unwrap();
    let r = p.run(&["check"]).expect_code(3, &["check"]);
    assert!(
        r.stdout.contains("add column") && r.stdout.contains("customers.vip"),
        "{r}"
    );
    let r = p.ok(&["revision", "--autogenerate", "-m", "vip"]);
    assert!(r.stderr.contains("customers.vip"), "{r}");
    p.ok(&["upgrade", "head"]);
    assert_eq!(
        p.ok(&["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    p.ok(&["downgrade", "base"]);
    let mut tables = p.db().tables();
    tables.retain(|t| t != "aludel_version");
    assert!(tables.is_empty(), "{tables:?}");
}

on_all!(the_sqlalchemy_models_are_the_desired_schema,);
