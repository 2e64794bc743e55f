//! The session that makes a scratch (shadow) database waits, idle, while the desired
//! schema loads into it on other sessions, and drops the database after: a server that
//! ends idle sessions must not end it, or the database would stay on the server.

use std::time::Duration;

use aludel::driver::{ConnectOptions, Driver};
use aludel::url::DatabaseUrl;

/// Makes a scratch database through `driver`, waits idle for `idle`, then drops it.
fn made_idle_then_dropped(driver: &mut dyn Driver, name: &str, idle: Duration) {
    driver.create_scratch_database(name).unwrap();
    std::thread::sleep(idle);
    driver.drop_scratch_database(name).unwrap();
}

/// Drops the scratch database `.1` on a new connection to `.0` when dropped, so that
/// a failed test leaves nothing; errors are ignored (it may be gone already).
struct Cleanup<'a>(&'a DatabaseUrl, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(mut driver) = aludel::driver::connect(self.0, &ConnectOptions::default()) {
            let _ = driver.drop_scratch_database(self.1);
        }
    }
}

#[test]
fn postgres_the_session_making_a_scratch_database_outlives_idle_session_timeout() {
    let db = aludel_testkit::PgDatabase::create();
    db.rows(&format!(
        "ALTER DATABASE {} SET idle_session_timeout = '100ms'",
        db.name()
    ));
    let url: DatabaseUrl = db.url().parse().unwrap();
    let mut driver = aludel::driver::connect(&url, &ConnectOptions::default()).unwrap();
    let name = aludel_testkit::unique_name("aludel_scratch_idle");
    let _cleanup = Cleanup(&url, &name);
    made_idle_then_dropped(driver.as_mut(), &name, Duration::from_millis(400));
    let left = aludel_testkit::pg_rows(
        &aludel_testkit::postgres_admin_url(),
        &format!("SELECT datname FROM pg_database WHERE datname = '{name}'"),
    );
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn mysql_the_session_making_a_scratch_database_outlives_wait_timeout() {
    let db = aludel_testkit::MysqlDatabase::create();
    let url: DatabaseUrl = db.url().parse().unwrap();
    let mut driver = aludel::driver::connect(&url, &ConnectOptions::default()).unwrap();
    // As a server whose sessions end after a second idle would set it.
    driver.execute("SET SESSION wait_timeout = 1").unwrap();
    let name = aludel_testkit::unique_name("aludel_scratch_idle");
    let _cleanup = Cleanup(&url, &name);
    made_idle_then_dropped(driver.as_mut(), &name, Duration::from_millis(2500));
    let left = db.rows(&format!(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = '{name}'"
    ));
    assert!(left.is_empty(), "{left:?}");
}
