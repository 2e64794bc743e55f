//! TLS to PostgreSQL per `sslmode`, checked from the server's side (`pg_stat_ssl`).
//! The test server must have `ssl = on`: scripts/test's throwaway cluster enables it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aludel_testkit::{PgDatabase, Rev, TestProject};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn server_has_ssl(db: &PgDatabase) -> bool {
    db.rows("SHOW ssl") == ["on"]
}

/// Applies one revision that records whether its own connection is encrypted.
fn connection_was_encrypted(sslmode: &str) -> bool {
    let db = PgDatabase::create();
    assert!(
        server_has_ssl(&db),
        "the test PostgreSQL has ssl = off; run the tests with scripts/test, or enable ssl on the server"
    );
    let url = format!("{}?sslmode={sslmode}", db.url());
    let project = TestProject::new(BIN, Some(&url), "");
    project.write_rev(&Rev::new("tls1", &[], "record tls").sql(
        "CREATE TABLE tls_seen AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
        "DROP TABLE tls_seen;",
    ));
    project.ok(&["upgrade", "head"]);
    db.rows("SELECT ssl FROM tls_seen") == ["t"]
}

#[test]
fn sslmode_require_encrypts_the_connection() {
    assert!(connection_was_encrypted("require"));
}

#[test]
fn sslmode_prefer_encrypts_when_the_server_offers_it() {
    assert!(connection_was_encrypted("prefer"));
}

#[test]
fn sslmode_disable_connects_in_clear() {
    assert!(!connection_was_encrypted("disable"));
}

#[test]
fn verify_full_with_an_unreadable_root_certificate_fails_at_once_with_the_reason() {
    let db = PgDatabase::create();
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
        db.url()
    );
    let mut project = TestProject::new(BIN, Some(&url), "");
    project.env("MIGRATION_RETRY_COUNT", "5");
    project.env("MIGRATION_RETRY_DELAY", "30");
    let run = project.fails(&["current"]);
    assert!(
        run.stderr
            .contains("cannot read sslrootcert /nonexistent/root.crt"),
        "{run}"
    );
    // Not retried: a configuration error never fixes itself.
    assert!(!run.stderr.contains("attempt"), "{run}");
}

#[test]
fn an_unknown_sslmode_is_named() {
    let db = PgDatabase::create();
    let url = format!("{}?sslmode=always", db.url());
    let project = TestProject::new(BIN, Some(&url), "");
    let run = project.fails(&["current"]);
    assert!(run.stderr.contains("sslmode=always"), "{run}");
}
