//! TLS to PostgreSQL per `sslmode`, checked from the server's side (`pg_stat_ssl`).
//! The test server must have `ssl = on`: scripts/test's throwaway cluster enables it.

use std::path::Path;
use std::process::Command;

use aludel_testkit::faults::Cluster;
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

/// A self-signed certificate for `cn` made by openssl, which marks it a CA.
pub(crate) fn self_signed(dir: &Path, name: &str, cn: &str) -> (String, String) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("openssl")
        .args(["req", "-new", "-x509", "-days", "2", "-nodes", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed for the TLS tests (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    (cert.display().to_string(), key.display().to_string())
}

/// A certificate that does not verify is said in words, at once, not as a debug
/// value and not retried.
#[test]
fn certificate_errors_are_worded_for_people_and_not_retried() {
    // Signed by nobody the client trusts.
    let db = PgDatabase::create();
    assert!(
        server_has_ssl(&db),
        "the test PostgreSQL has ssl = off; run the tests with scripts/test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (other_ca, _) = self_signed(dir.path(), "other", "aludel test CA");
    let url = format!("{}?sslmode=verify-full&sslrootcert={other_ca}", db.url());
    let mut project = TestProject::new(BIN, Some(&url), "");
    project.env("MIGRATION_RETRY_COUNT", "5");
    let run = project.fails(&["current"]);
    assert!(
        run.stderr.contains(
            "the server's certificate is not accepted: it is not signed by a trusted root"
        ),
        "{run}"
    );
    assert!(
        !run.stderr.contains("UnknownIssuer") && !run.stderr.contains("attempt"),
        "{run}"
    );

    // A server presenting a CA certificate as its own.
    let cluster = Cluster::start_with(|dir| {
        let (cert, key) = self_signed(dir, "server", "localhost");
        format!("-c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}")
    });
    let cert = cluster_cert(&cluster);
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={cert}",
        cluster.port()
    );
    let project = TestProject::new(BIN, Some(&url), "");
    let run = project.fails(&["current"]);
    assert!(
        run.stderr
            .contains("the server presents a CA certificate as its own"),
        "{run}"
    );
    assert!(!run.stderr.contains("OtherError"), "{run}");
}

/// The server certificate of a cluster started by [`Cluster::start_with`] above, read
/// back from the server so the test trusts exactly what it presents.
fn cluster_cert(cluster: &Cluster) -> String {
    let rows = aludel_testkit::pg_rows(&cluster.url(), "SHOW ssl_cert_file");
    rows[0].clone()
}
