//! TLS to MySQL and MariaDB per `ssl-mode`, checked from the server's side (the
//! session's `Ssl_cipher`). scripts/test runs these on MariaDB, which on the test
//! machine offers no TLS, and again on MySQL, which makes its own certificates: each
//! test asserts what the server it finds must give, so together they cover both.

use std::path::Path;

use aludel_testkit::{MysqlDatabase, Rev, TestProject, mysql_flavour};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Whether the server offers TLS: it has a certificate loaded.
fn offers_tls(db: &MysqlDatabase) -> bool {
    db.rows("SHOW GLOBAL STATUS LIKE 'Ssl_server_not_after'")
        .first()
        .is_some_and(|row| !row.trim_end().ends_with('|'))
}

/// A project on `db` whose URL carries `params`, with one revision that records the
/// cipher of its own session (empty when the connection is in clear).
fn project(db: &MysqlDatabase, params: &str) -> TestProject {
    let status = if mysql_flavour() == "mariadb" {
        "information_schema.SESSION_STATUS"
    } else {
        "performance_schema.session_status"
    };
    let url = format!("{}?{params}", db.url());
    let mut project = TestProject::new(BIN, Some(&url), "");
    project.write_rev(&Rev::new("tls1", &[], "record tls").sql(
        &format!(
            "CREATE TABLE tls_seen AS SELECT VARIABLE_VALUE AS cipher FROM {status} WHERE VARIABLE_NAME = 'Ssl_cipher';"
        ),
        "DROP TABLE tls_seen;",
    ));
    // A refusal must come at once: retries would show as "attempt" lines.
    project.env("MIGRATION_RETRY_COUNT", "5");
    project.env("MIGRATION_RETRY_DELAY", "30");
    project
}

/// Runs the upgrade with `params` and returns the cipher the session had.
fn cipher(db: &MysqlDatabase, params: &str) -> String {
    project(db, params).ok(&["upgrade", "head"]);
    db.rows("SELECT cipher FROM tls_seen").concat()
}

/// Runs `current` with `params`, which must fail at once, and returns its stderr.
fn refused(db: &MysqlDatabase, params: &str) -> String {
    let run = project(db, params).fails(&["current"]);
    assert!(!run.stderr.contains("attempt"), "retried: {run}");
    assert!(
        !run.stderr.contains("Error {") && !run.stderr.contains("Error("),
        "a debug value: {run}"
    );
    run.stderr
}

/// The file of the server's CA certificate, where the server says it is and this
/// process can read it (a server of this machine).
fn server_ca(db: &MysqlDatabase) -> String {
    let dir = db.rows("SELECT @@datadir").concat();
    let ca = db.rows("SELECT @@ssl_ca").concat();
    let path = Path::new(&dir).join(&ca);
    assert!(
        !ca.is_empty() && path.is_file(),
        "the test server offers TLS but its CA file ({}) is not readable here: run the tests against a local server",
        path.display()
    );
    path.display().to_string()
}

#[test]
fn ssl_mode_required_encrypts_or_names_a_server_without_tls() {
    let db = MysqlDatabase::create();
    if offers_tls(&db) {
        assert!(!cipher(&db, "ssl-mode=required").is_empty());
    } else {
        let stderr = refused(&db, "ssl-mode=required");
        assert!(
            stderr.contains(
                "the server does not offer TLS, which the URL's ssl-mode requires (ssl-mode=preferred connects without it then)"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn ssl_mode_preferred_encrypts_when_offered_and_disabled_never() {
    let db = MysqlDatabase::create();
    assert_eq!(
        !cipher(&db, "ssl-mode=preferred").is_empty(),
        offers_tls(&db)
    );
    let db = MysqlDatabase::create();
    assert_eq!(cipher(&db, "ssl-mode=disabled"), "");
}

#[test]
fn verify_ca_trusts_the_servers_ca_and_refuses_others_in_words() {
    let db = MysqlDatabase::create();
    if !offers_tls(&db) {
        let stderr = refused(&db, "ssl-mode=verify_ca");
        assert!(stderr.contains("the server does not offer TLS"), "{stderr}");
        return;
    }
    let ca = server_ca(&db);
    assert!(!cipher(&db, &format!("ssl-mode=verify_ca&ssl-ca={ca}")).is_empty());

    let dir = tempfile::tempdir().unwrap();
    let (stranger, _) = crate::tls::self_signed(dir.path(), "stranger", "stranger");
    let stderr = refused(&db, &format!("ssl-mode=verify_ca&ssl-ca={stranger}"));
    assert!(
        stderr.contains(
            "the server's certificate is not accepted: it is not signed by a trusted root (give the CA with ssl-ca=PATH)"
        ),
        "{stderr}"
    );
    // MySQL's own certificates name no host; MariaDB's test server has none of its own.
    if mysql_flavour() == "mysql" {
        let stderr = refused(&db, &format!("ssl-mode=verify_identity&ssl-ca={ca}"));
        assert!(
            stderr.contains(
                "the server's certificate is not accepted: it does not name the host connected to (ssl-mode=verify_identity checks the name; verify_ca does not)"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn an_unreadable_ssl_ca_is_named_and_not_retried() {
    let db = MysqlDatabase::create();
    let stderr = refused(&db, "ssl-mode=verify_ca&ssl-ca=/nonexistent/ca.pem");
    assert!(
        stderr.contains("cannot read ssl-ca /nonexistent/ca.pem: No such file or directory"),
        "{stderr}"
    );
}

/// An unknown user is refused at once, in words: access denied, or, where MySQL
/// answers with a switch to an authentication method the client lacks (as 9.7 does
/// for an unknown user on some servers and not on a freshly made one), a message that
/// explains it.
#[test]
fn an_unknown_user_on_mysql_is_refused_in_words() {
    let db = MysqlDatabase::create();
    let (_, at_host) = db.url().rsplit_once('@').unwrap();
    let url = format!("mysql://aludel_nobody:secret@{at_host}");
    let mut project = TestProject::new(BIN, Some(&url), "");
    project.env("MIGRATION_RETRY_COUNT", "5");
    project.env("MIGRATION_RETRY_DELAY", "30");
    let run = project.fails(&["current"]);
    assert!(
        !run.stderr.contains("attempt") && !run.stderr.contains("secret"),
        "{run}"
    );
    let denied = run
        .stderr
        .contains("Access denied for user 'aludel_nobody'");
    let switched = run.stderr.contains(
        "the server asked for the authentication method sha256_password, which aludel does not support: MySQL asks for it when the user does not exist",
    );
    assert!(denied || (switched && mysql_flavour() == "mysql"), "{run}");
}
