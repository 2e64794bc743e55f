//! Messages that send users the right way: each failure a user meets early (a statement
//! that cannot run in a transaction, a database that predates its migrations, an
//! INVALID index left by a failed `CREATE INDEX CONCURRENTLY`, a missing desired
//! schema, connection retries) names what to do, exactly as snapshotted here.

use aludel_testkit::{Backend, DbProject, Rev, on_all, on_both};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// A statement the database refuses inside a transaction, in a revision that runs in
/// aludel's: the message names `-- aludel:transaction false`.
fn a_statement_that_needs_no_transaction_names_the_header(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let statement = match backend {
        Backend::Postgres => "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);",
        Backend::Sqlite => "VACUUM;",
        Backend::Mysql => unreachable!("on SQLite and PostgreSQL only"),
    };
    p.write_rev(&Rev::new("rev_1", &[], "items").sql(
        &format!("CREATE TABLE items (id int PRIMARY KEY, name text);\n{statement}"),
        "DROP TABLE items;",
    ));
    let r = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(format!("needs_no_transaction_{backend:?}"), r.stderr);
    assert!(p.db().version_rows().is_empty());
}

// MariaDB runs every revision outside a transaction: no statement is refused in one.
on_both!(a_statement_that_needs_no_transaction_names_the_header,);

/// A first upgrade of a database built without aludel (its tables exist, no version
/// table): the message says it predates its migrations and how to stamp, instead of
/// asking to fix the revision.
fn a_database_that_predates_its_migrations_is_told_to_stamp(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("rev_1", &[], "users").sql(
        "CREATE TABLE users (id int PRIMARY KEY, email text);",
        "DROP TABLE users;",
    ));
    p.write_rev(&Rev::new("rev_2", &["rev_1"], "orders").sql(
        "CREATE TABLE orders (id int PRIMARY KEY);",
        "DROP TABLE orders;",
    ));
    // Built by hand, as rev_1 would have.
    p.db()
        .execute("CREATE TABLE users (id int PRIMARY KEY, email text)");
    let r = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(format!("predates_{backend:?}"), r.stderr);
    // Nothing was recorded; the advice works.
    assert!(p.db().version_rows().is_empty());
    p.ok(&["stamp", "rev_1"]);
    p.ok(&["upgrade", "head"]);
    assert_eq!(p.db().version_rows(), ["rev_2"]);
}

/// The same failure later in a run, or once revisions are recorded, is the revision's
/// (or the database's) to fix: no stamping advice.
fn an_existing_object_after_recorded_revisions_is_not_called_a_predating_database(
    backend: Backend,
) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("rev_1", &[], "users").sql(
        "CREATE TABLE users (id int PRIMARY KEY);",
        "DROP TABLE users;",
    ));
    p.write_rev(
        &Rev::new("rev_2", &["rev_1"], "users again")
            .sql("CREATE TABLE users (id int PRIMARY KEY);", ""),
    );
    let r = p.fails(&["upgrade", "head"]);
    assert!(!r.stderr.contains("stamp"), "{r}");
    let outcome = match backend {
        // Its statements commit one by one there: none ran before this one.
        Backend::Mysql => {
            "it was the revision's first statement: none of its statements ran before it; \
             the version table is at rev_1; fix the revision and run the command again"
        }
        Backend::Sqlite | Backend::Postgres => {
            "the database is at rev_1; fix the revision and run the command again"
        }
    };
    assert!(r.stderr.contains(outcome), "{r}");
    assert_eq!(p.db().version_rows(), ["rev_1"]);
}

/// A first revision without a transaction that fails on something existing may have
/// made it itself (an earlier statement, or a killed run): stamping it would record it
/// as whole, so there is no stamping advice.
fn a_first_revision_without_a_transaction_is_not_called_a_predating_database(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(
        &Rev::new("rev_1", &[], "two tables")
            .header("transaction", "false")
            .sql(
                "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);",
                "",
            ),
    );
    p.db().execute("CREATE TABLE b (id int)");
    let r = p.fails(&["upgrade", "head"]);
    assert!(!r.stderr.contains("aludel stamp"), "{r}");
    assert!(!r.stderr.contains("predates"), "{r}");
    assert!(p.db().version_rows().is_empty());
}

on_all!(a_first_revision_without_a_transaction_is_not_called_a_predating_database,);

on_all!(
    a_database_that_predates_its_migrations_is_told_to_stamp,
    an_existing_object_after_recorded_revisions_is_not_called_a_predating_database,
);

/// `check --migrations` (and `check`, `revision --autogenerate`) say that the desired
/// schema is missing before applying any revision or connecting: a revision that would
/// fail proves it (the run stops on the schema first).
fn a_missing_desired_schema_is_reported_before_anything_runs(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&Rev::new("rev_1", &[], "broken").sql("THIS IS NOT SQL;", ""));
    for args in [
        &["check", "--migrations"][..],
        &["check"],
        &["revision", "--autogenerate", "-m", "next"],
    ] {
        let r = p.fails(args);
        insta::assert_snapshot!(format!("missing_schema_{backend:?}"), r.stderr);
    }
    assert!(p.db().version_rows().is_empty());
}

on_all!(a_missing_desired_schema_is_reported_before_anything_runs,);

/// Connection retries say how the wait grows and how long they wait in all:
/// `MIGRATION_RETRY_DELAY=0.2` with 4 attempts is 0.2 + 0.4 + 0.8 s by default, or
/// 3 × 0.2 s with `MIGRATION_RETRY_BACKOFF=fixed` (`backoff = "fixed"` in the file).
#[test]
fn connection_retries_state_their_backoff_and_total_wait() {
    let port = aludel_testkit::closed_port();
    let url = format!("postgresql://postgres@127.0.0.1:{port}/app");
    let mut p = aludel_testkit::TestProject::new(BIN, Some(&url), "");
    p.env("MIGRATION_RETRY_COUNT", "4");
    p.env("MIGRATION_RETRY_DELAY", "0.2");
    let mut out = String::new();
    for backoff in ["exponential", "fixed"] {
        p.env("MIGRATION_RETRY_BACKOFF", backoff);
        let started = std::time::Instant::now();
        let r = p.fails(&["current"]);
        let took = started.elapsed().as_secs_f64();
        // The waits really are what the lines say.
        let waits = if backoff == "fixed" { 0.6 } else { 1.4 };
        assert!(took >= waits && took < waits + 5.0, "{took} s:\n{r}");
        out.push_str(&format!(
            "$ MIGRATION_RETRY_BACKOFF={backoff} aludel current\n"
        ));
        out.push_str(&r.stderr.replace(&port.to_string(), "[PORT]"));
    }
    insta::assert_snapshot!(out);
}

/// A unique `CREATE INDEX CONCURRENTLY` that fails on duplicates leaves an INVALID
/// index: the failure says so and how to drop it; a re-run, which fails on the index
/// that is already there, says what that index is instead of a bare `already exists`.
/// aludel drops nothing itself. Following the advice then works.
#[test]
fn a_failed_concurrent_index_build_names_the_invalid_index_it_left() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    p.write_rev(&Rev::new("rev_1", &[], "items").sql(
        "CREATE TABLE items (id int PRIMARY KEY, name text);\n\
         INSERT INTO items VALUES (1, 'a'), (2, 'a');",
        "DROP TABLE items;",
    ));
    p.write_rev(
        &Rev::new("rev_2", &["rev_1"], "unique names")
            .header("transaction", "false")
            .sql(
                "CREATE UNIQUE INDEX CONCURRENTLY items_name_key ON items (name);",
                "DROP INDEX CONCURRENTLY items_name_key;",
            ),
    );
    let first = p.fails(&["upgrade", "head"]);
    let again = p.fails(&["upgrade", "head"]);
    insta::assert_snapshot!(format!(
        "$ aludel upgrade head\n{}$ aludel upgrade head\n{}",
        first.stderr, again.stderr
    ));
    // It is still there: aludel dropped nothing.
    let invalid = "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid";
    assert_eq!(p.db().rows(invalid), ["items_name_key"]);
    p.db()
        .execute("DROP INDEX CONCURRENTLY IF EXISTS public.items_name_key");
    p.db().execute("DELETE FROM items WHERE id = 2");
    p.ok(&["upgrade", "head"]);
    assert!(p.db().rows(invalid).is_empty());
    assert_eq!(p.db().version_rows(), ["rev_2"]);
}
