//! Offline SQL (`--sql`): the script, run by the database's own client, leaves the same
//! schema and version rows as an online run; downgrade scripts undo it; nothing
//! connects; `stamp --sql` writes exactly the version-table SQL.

use std::io::Write as _;
use std::process::{Command, Stdio};

use aludel_testkit::{Backend, Db, Rev, TestProject, closed_port, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// A history with tables, an index, a foreign key, a comment holding a `;`, and
/// function or trigger bodies the splitter must keep whole.
fn history(backend: Backend) -> Vec<Rev> {
    if backend == Backend::Mysql {
        return mysql_history();
    }
    let mut revs = vec![
        Rev::new("rev_1", &[], "authors").sql(
            "CREATE TABLE authors (\n    id integer PRIMARY KEY,\n    name varchar(200) NOT NULL\n);",
            "DROP TABLE authors;",
        ),
        Rev::new("rev_2", &["rev_1"], "books").sql(
            "CREATE TABLE books (\n    id integer PRIMARY KEY,\n    author_id integer NOT NULL REFERENCES authors (id),\n    title varchar(200) NOT NULL DEFAULT 'untitled; for now'\n);\n\
             CREATE INDEX books_author_idx ON books (author_id);",
            "DROP INDEX books_author_idx;\nDROP TABLE books;",
        ),
    ];
    match backend {
        Backend::Postgres => {
            revs.push(Rev::new("rev_3", &["rev_2"], "count function").sql(
                "COMMENT ON TABLE books IS 'what we sell; all of it';\n\
                 CREATE FUNCTION book_count(a integer) RETURNS bigint LANGUAGE plpgsql AS $$\n\
                 DECLARE n bigint;\n\
                 BEGIN\n    SELECT count(*) INTO n FROM books WHERE author_id = a;\n    RETURN n;\nEND;\n$$;",
                "DROP FUNCTION book_count(integer);\nCOMMENT ON TABLE books IS NULL;",
            ));
            revs.push(Rev::new("rev_4", &["rev_3"], "touch trigger").sql(
                "ALTER TABLE authors ADD COLUMN updated_at timestamptz;\n\
                 CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$\n\
                 BEGIN\n    NEW.updated_at := now(); -- not the end; really\n    RETURN NEW;\nEND;\n$body$;\n\
                 CREATE TRIGGER authors_touch BEFORE UPDATE ON authors FOR EACH ROW EXECUTE FUNCTION touch();",
                "DROP TRIGGER authors_touch ON authors;\nDROP FUNCTION touch();\nALTER TABLE authors DROP COLUMN updated_at;",
            ));
        }
        Backend::Mysql => unreachable!("mysql_history"),
        Backend::Sqlite => {
            revs.push(Rev::new("rev_3", &["rev_2"], "view").sql(
                "CREATE VIEW book_counts AS SELECT author_id, count(*) AS n FROM books GROUP BY author_id;",
                "DROP VIEW book_counts;",
            ));
            revs.push(Rev::new("rev_4", &["rev_3"], "touch trigger").sql(
                "ALTER TABLE authors ADD COLUMN updated_at text;\n\
                 CREATE TRIGGER authors_touch AFTER UPDATE OF name ON authors\n\
                 BEGIN\n    UPDATE authors SET updated_at = 'now; really' WHERE id = NEW.id;\nEND;",
                "DROP TRIGGER authors_touch;\nALTER TABLE authors DROP COLUMN updated_at;",
            ));
        }
    }
    revs
}

/// [`history`] in MariaDB's SQL: a table comment, a stored function and a trigger with
/// `;` in their bodies. The index serves the foreign key (InnoDB drops the one it made
/// when another can serve, and refuses to drop that one), so it goes with its table.
fn mysql_history() -> Vec<Rev> {
    vec![
        Rev::new("rev_1", &[], "authors").sql(
            "CREATE TABLE authors (\n    id integer PRIMARY KEY,\n    name varchar(200) NOT NULL\n);",
            "DROP TABLE authors;",
        ),
        Rev::new("rev_2", &["rev_1"], "books").sql(
            "CREATE TABLE books (\n    id integer PRIMARY KEY,\n    author_id integer NOT NULL REFERENCES authors (id),\n    title varchar(200) NOT NULL DEFAULT 'untitled; for now'\n);\n\
             CREATE INDEX books_author_idx ON books (author_id);",
            "DROP TABLE books;",
        ),
        Rev::new("rev_3", &["rev_2"], "count function").sql(
            "ALTER TABLE books COMMENT = 'what we sell; all of it';\n\
             CREATE FUNCTION book_count(a integer) RETURNS bigint READS SQL DATA\n\
             BEGIN\n    DECLARE n bigint;\n    SELECT count(*) INTO n FROM books WHERE author_id = a;\n    RETURN n;\nEND;",
            "DROP FUNCTION book_count;\nALTER TABLE books COMMENT = '';",
        ),
        Rev::new("rev_4", &["rev_3"], "touch trigger").sql(
            "ALTER TABLE authors ADD COLUMN updated_at datetime;\n\
             CREATE TRIGGER authors_touch BEFORE UPDATE ON authors FOR EACH ROW\n\
             BEGIN\n    SET NEW.updated_at = now(); -- not the end; really\nEND;",
            "DROP TRIGGER authors_touch;\nALTER TABLE authors DROP COLUMN updated_at;",
        ),
    ]
}

/// A database to apply scripts to, and a way to describe its whole schema.
struct Target {
    db: Db,
}

impl Target {
    fn new(backend: Backend, p: &TestProject, name: &str) -> Target {
        Target {
            db: Db::new(backend, p.path().join(format!("{name}.db"))),
        }
    }

    /// Runs a script the way a DBA would: `psql -1 -v ON_ERROR_STOP=1 -f -`, or
    /// SQLite's own batch execution, or the `mysql` client.
    fn apply_script(&self, sql: &str) {
        match &self.db {
            Db::Postgres(pg) => pipe_script(
                Command::new("psql").args([
                    pg.url(),
                    "-1",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                    "-",
                ]),
                sql,
            ),
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{e}\n--- script\n{sql}")),
            // Comments kept in bodies, and aludel's character set, as an online run
            // has: a routine records both.
            Db::Mysql(my) => pipe_script(
                Command::new("mysql")
                    .args(["--comments", "--default-character-set=utf8mb4"])
                    .args(mysql_client_args(my)),
                sql,
            ),
        }
    }

    /// The whole schema as text: `pg_dump --schema-only`, SQLite's catalog, or
    /// `mysqldump --no-data --routines`.
    fn schema(&self) -> String {
        match &self.db {
            Db::Postgres(pg) => {
                // `\restrict KEY` lines carry a random key per dump.
                stdout_of(Command::new("pg_dump").args(["--schema-only", "--no-owner", pg.url()]))
                    .lines()
                    .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Db::Sqlite(_) => self
                .db
                .rows("SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || coalesce(sql, '') FROM sqlite_master")
                .join("\n"),
            Db::Mysql(my) => {
                // Offline there is no journal, which an online run leaves beside the
                // version table (empty).
                // The dump names the database it was taken from.
                stdout_of(
                    Command::new("mysqldump")
                        .args(["--no-data", "--routines", "--skip-dump-date", "--skip-comments"])
                        .arg(format!("--ignore-table={}.aludel_version_journal", my.name()))
                        .args(mysql_client_args(my)),
                )
                .replace(my.name(), "[DB]")
            }
        }
    }
}

/// `mysql` and `mysqldump` arguments for the database (the test server's user and
/// address, from its URL).
fn mysql_client_args(my: &aludel_testkit::MysqlDatabase) -> Vec<String> {
    let opts = aludel_testkit::mysql::Opts::from_url(my.url()).unwrap();
    let mut args = vec![
        format!("--host={}", opts.get_ip_or_hostname()),
        format!("--port={}", opts.get_tcp_port()),
        format!("--user={}", opts.get_user().unwrap_or("root")),
    ];
    if let Some(password) = opts.get_pass() {
        args.push(format!("--password={password}"));
    }
    args.push(my.name().to_string());
    args
}

/// A URL that cannot be connected to: offline commands must not try.
fn dead_url(backend: Backend) -> String {
    match backend {
        Backend::Postgres => format!(
            "postgresql://postgres:hunter2@127.0.0.1:{}/nowhere",
            closed_port()
        ),
        Backend::Sqlite => "sqlite:///no/such/folder/app.db".to_string(),
        Backend::Mysql => format!("mysql://root:hunter2@127.0.0.1:{}/nowhere", closed_port()),
    }
}

fn offline_script_matches_online_run(backend: Backend) {
    let mut p = TestProject::new(BIN, Some(&dead_url(backend)), "");
    // Were anything to connect, it would retry for a long time and then fail.
    p.env("MIGRATION_RETRY_COUNT", "5");
    p.env("MIGRATION_RETRY_DELAY", "2");
    for r in history(backend) {
        p.write_rev(&r);
    }
    let offline = Target::new(backend, &p, "offline");
    let online = Target::new(backend, &p, "online");

    let script = p.ok(&["upgrade", "head", "--sql"]);
    assert_eq!(script.stderr, "", "{script}");
    assert!(!script.stdout.contains("hunter2"));
    offline.apply_script(&script.stdout);
    p.ok(&["--url", &online.db.url(), "upgrade", "head"]);

    assert_eq!(offline.schema(), online.schema());
    assert_eq!(offline.db.version_rows(), ["rev_4"]);
    assert_eq!(online.db.version_rows(), ["rev_4"]);
    assert_eq!(offline.db.tables(), ["aludel_version", "authors", "books"]);

    // A range script continues from a revision.
    let partial = p.ok(&["upgrade", "rev_2:head", "--sql"]).stdout;
    assert!(!partial.contains("CREATE TABLE authors"), "{partial}");
    assert!(
        partial.contains("-- Running upgrade rev_2 -> rev_3"),
        "{partial}"
    );

    // Down again, offline and online.
    let down = p.ok(&["downgrade", "head:base", "--sql"]);
    assert_eq!(down.stderr, "", "{down}");
    offline.apply_script(&down.stdout);
    p.ok(&["--url", &online.db.url(), "downgrade", "base"]);
    assert_eq!(offline.db.tables(), ["aludel_version"]);
    assert!(offline.db.version_rows().is_empty());
    assert_eq!(offline.schema(), online.schema());
}

/// `--sql` reads no database, even when the URL cannot be reached: the output is the
/// same with a dead URL as with a live one.
fn sql_never_connects(backend: Backend) {
    let mut p = TestProject::new(BIN, Some(&dead_url(backend)), "");
    p.env("MIGRATION_RETRY_COUNT", "5");
    p.env("MIGRATION_RETRY_DELAY", "2");
    for r in history(backend) {
        p.write_rev(&r);
    }
    for args in [
        &["upgrade", "head", "--sql"][..],
        &["upgrade", "rev_1:rev_3", "--sql"],
        &["downgrade", "rev_4:rev_1", "--sql"],
        &["stamp", "head", "--sql"],
    ] {
        let r = p.ok(args);
        assert_eq!(r.stderr, "", "{args:?}: {r}");
        assert!(!r.stdout.is_empty(), "{args:?}: {r}");
    }
    // A plain downgrade target needs a range offline, and says so.
    let r = p.fails(&["downgrade", "base", "--sql"]);
    assert!(r.stderr.contains("head:base"), "{r}");
}

/// `current` at the start of a `--sql` range is read from the database, so the script
/// is exactly what is pending there (Alembic refuses `current` offline; starting from
/// base instead, as before, printed a script that fails); with no database to read,
/// it is refused.
fn current_in_a_range_is_read_from_the_database(backend: Backend) {
    let mut p = TestProject::new(BIN, Some(&dead_url(backend)), "");
    p.env("MIGRATION_RETRY_COUNT", "1");
    for r in history(backend) {
        p.write_rev(&r);
    }
    let live = Target::new(backend, &p, "live");
    let url = live.db.url();
    p.ok(&["--url", &url, "upgrade", "rev_2"]);

    let up = p.ok(&["--url", &url, "upgrade", "current:head", "--sql"]);
    assert_eq!(up.stderr, "", "{up}");
    assert!(
        up.stdout.starts_with("-- Running upgrade rev_2 -> rev_3"),
        "{up}"
    );
    live.apply_script(&up.stdout);
    assert_eq!(live.db.version_rows(), ["rev_4"]);

    let down = p.ok(&["--url", &url, "downgrade", "current:rev_1", "--sql"]);
    assert!(
        down.stdout
            .starts_with("-- Running downgrade rev_4 -> rev_3"),
        "{down}"
    );
    live.apply_script(&down.stdout);
    assert_eq!(live.db.version_rows(), ["rev_1"]);
    assert_eq!(live.db.tables(), ["aludel_version", "authors"]);

    let stamp = p.ok(&["--url", &url, "stamp", "current:rev_2", "--sql"]);
    assert!(
        stamp
            .stdout
            .starts_with("-- Running stamp_revision rev_1 -> rev_2"),
        "{stamp}"
    );

    // Nothing pending: no script, and a line saying so.
    p.ok(&["--url", &url, "upgrade", "head"]);
    let r = p.ok(&["--url", &url, "upgrade", "current:head", "--sql"]);
    assert_eq!(r.stdout, "", "{r}");
    assert_eq!(
        r.stderr,
        "INFO  Nothing to do: the database is already at rev_4\n"
    );

    // No database to read: refused, not a script from base.
    let r = p.fails(&["downgrade", "current:base", "--sql"]);
    assert_eq!(r.stdout, "", "{r}");
    assert!(
        r.stderr.starts_with(
            "ERROR `current` in a --sql range is read from the database's version table, and it could not be read: "
        ),
        "{r}"
    );
    assert!(
        r.stderr
            .ends_with("      name the revision the database is at instead, e.g. `REV:head`\n"),
        "{r}"
    );
    assert!(!r.stderr.contains("hunter2"), "{r}");
}

on_all!(
    offline_script_matches_online_run,
    sql_never_connects,
    current_in_a_range_is_read_from_the_database,
);

#[test]
fn stamp_sql_snapshot_postgres() {
    let p = TestProject::new(BIN, Some(&dead_url(Backend::Postgres)), "");
    for r in history(Backend::Postgres) {
        p.write_rev(&r);
    }
    let r = p.ok(&["stamp", "head", "--sql"]);
    assert_eq!(
        r.stdout,
        "CREATE TABLE IF NOT EXISTS \"aludel_version\" (\n    version_num VARCHAR(64) NOT NULL,\n    CONSTRAINT \"aludel_version_pkc\" PRIMARY KEY (version_num)\n);\n\n\
         -- Running stamp_revision  -> rev_4\n\n\
         BEGIN;\n\n\
         INSERT INTO \"aludel_version\" (version_num) VALUES ('rev_4');\n\n\
         COMMIT;\n\n"
    );
    let r = p.ok(&["stamp", "rev_2:rev_4", "--sql"]);
    assert_eq!(
        r.stdout,
        "-- Running stamp_revision rev_2 -> rev_4\n\n\
         BEGIN;\n\n\
         UPDATE \"aludel_version\" SET version_num = 'rev_4' WHERE version_num = 'rev_2';\n\n\
         COMMIT;\n\n"
    );
}

/// Two ranges start the script from two rows: each moves (Alembic 1.20.1 refuses
/// "Stamp operation with --sql only supports a single starting revision at a time";
/// aludel used to drop the first start and insert its end instead). `--purge` empties
/// the table first (Alembic: "Can't use --purge with --sql mode").
#[test]
fn stamp_sql_with_several_ranges_and_purge() {
    let p = TestProject::new(BIN, Some(&dead_url(Backend::Postgres)), "");
    p.write_rev(&Rev::new("a", &[], "a"));
    p.write_rev(&Rev::new("b", &["a"], "b"));
    p.write_rev(&Rev::new("x", &[], "x"));
    p.write_rev(&Rev::new("y", &["x"], "y"));
    let r = p.ok(&["stamp", "a:b", "x:y", "--sql"]);
    assert_eq!(
        r.stdout,
        "-- Running stamp_revision a, x -> b, y\n\n\
         BEGIN;\n\n\
         UPDATE \"aludel_version\" SET version_num = 'b' WHERE version_num = 'a';\n\n\
         UPDATE \"aludel_version\" SET version_num = 'y' WHERE version_num = 'x';\n\n\
         COMMIT;\n\n"
    );
    let r = p.ok(&["stamp", "a:b", "--purge", "--sql"]);
    assert_eq!(
        r.stdout,
        "-- Running stamp_revision a -> b\n\n\
         BEGIN;\n\n\
         DELETE FROM \"aludel_version\";\n\n\
         INSERT INTO \"aludel_version\" (version_num) VALUES ('b');\n\n\
         COMMIT;\n\n"
    );
}

/// With no range there is no database to count `-N` from: `stamp -N --sql` counts
/// from the head, as an online stamp of an empty table does (Alembic 1.20.1: `stamp
/// -1 --sql` on `a<b<c` inserts b), and says how far it got when the walk goes below
/// base (Alembic stamps base: known.py `stamp-relative-below-base`).
#[test]
fn stamp_sql_minus_n_without_a_start_counts_from_the_heads() {
    let p = TestProject::new(BIN, Some(&dead_url(Backend::Postgres)), "");
    p.write_rev(&Rev::new("a", &[], "a"));
    p.write_rev(&Rev::new("b", &["a"], "b"));
    p.write_rev(&Rev::new("c", &["b"], "c"));
    let r = p.ok(&["stamp", "--sql", "--", "-1"]);
    assert!(
        r.stdout
            .contains("INSERT INTO \"aludel_version\" (version_num) VALUES ('b');"),
        "{r}"
    );
    let r = p.fails(&["stamp", "--sql", "--", "-4"]);
    assert!(r.stderr.contains("didn't produce 4 migrations"), "{r}");
}

/// The stamp script, run by psql, gives the same version table as an online stamp.
#[test]
fn stamp_sql_applied_by_psql_matches_online_stamp() {
    let p = TestProject::new(BIN, Some(&dead_url(Backend::Postgres)), "");
    for r in history(Backend::Postgres) {
        p.write_rev(&r);
    }
    let offline = Target::new(Backend::Postgres, &p, "offline");
    let online = Target::new(Backend::Postgres, &p, "online");
    offline.apply_script(&p.ok(&["stamp", "head", "--sql"]).stdout);
    p.ok(&["--url", &online.db.url(), "stamp", "head"]);
    assert_eq!(offline.schema(), online.schema());
    // Both tables must exist: `rows`, unlike `version_rows`, fails on a missing one.
    let versions = "SELECT version_num FROM aludel_version";
    assert_eq!(offline.db.rows(versions), online.db.rows(versions));
}

/// A `transaction false` revision offline: its statements stand outside any
/// `BEGIN`/`COMMIT`, so plain `psql -f` (not `-1`) runs `CREATE INDEX CONCURRENTLY`,
/// under both policies, and the result equals an online run.
#[test]
fn non_transactional_revision_offline_postgres() {
    for whole_run in [false, true] {
        let p = TestProject::new(BIN, Some(&dead_url(Backend::Postgres)), "");
        if whole_run {
            p.set_option("aludel", "transaction_per_migration", "false");
        }
        let mut revs = history(Backend::Postgres);
        revs.push(
            Rev::new("rev_5", &["rev_4"], "concurrent index")
                .header("transaction", "false")
                .sql(
                    "CREATE INDEX CONCURRENTLY books_title_idx ON books (title);",
                    "DROP INDEX CONCURRENTLY books_title_idx;",
                ),
        );
        revs.push(Rev::new("rev_6", &["rev_5"], "after").sql(
            "CREATE TABLE shelves (id integer PRIMARY KEY);",
            "DROP TABLE shelves;",
        ));
        for r in &revs {
            p.write_rev(r);
        }
        let offline = Target::new(Backend::Postgres, &p, "offline");
        let online = Target::new(Backend::Postgres, &p, "online");
        let script = p.ok(&["upgrade", "head", "--sql"]).stdout;
        let Db::Postgres(pg) = &offline.db else {
            unreachable!()
        };
        let mut child = Command::new("psql")
            .args([pg.url(), "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql must be installed for this test");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}\n--- script\n{script}");
        assert!(
            !stderr.contains("WARNING"),
            "the framing is unbalanced:\n{stderr}\n--- script\n{script}"
        );
        p.ok(&["--url", &online.db.url(), "upgrade", "head"]);
        assert_eq!(offline.schema(), online.schema(), "whole run: {whole_run}");
        assert_eq!(offline.db.version_rows(), ["rev_6"]);
    }
}

/// `downgrade A:LABEL@base --sql` where nothing of LABEL's branch lies below A is an
/// empty script, as in Alembic 1.20.1 (found by scripts/alembic-diff; aludel used to
/// refuse it as a range that "goes up").
#[test]
fn downgrade_to_the_base_of_an_unrelated_branch_is_an_empty_script() {
    let p = TestProject::new(BIN, None, "");
    p.write_rev(&Rev::new("a58", &[], "root"));
    p.write_rev(&Rev::new("a4d", &["a58"], "one").header("branch_labels", "lb1"));
    p.write_rev(&Rev::new("abba", &["a58"], "two"));
    p.write_rev(
        &Rev::new("e12", &[], "other root")
            .header("depends_on", "abba")
            .header("branch_labels", "lb2"),
    );
    let out = p.ok(&["-q", "downgrade", "a4d:lb2@base", "--sql"]);
    assert_eq!(out.stdout, "");
}

/// Runs `client` with `sql` on its standard input; fails the test with the client's
/// error and the script when it does not succeed.
fn pipe_script(client: &mut Command, sql: &str) {
    let name = client.get_program().to_string_lossy().into_owned();
    let mut child = client
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} must be installed for this test: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed:\n{}\n--- script\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `command` prints on stdout; fails the test, with its stderr, when it does not
/// succeed.
fn stdout_of(command: &mut Command) -> String {
    let name = command.get_program().to_string_lossy().into_owned();
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed for this test: {e}"));
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
