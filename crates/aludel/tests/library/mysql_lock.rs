//! The MariaDB/MySQL driver's run lock, seen from an application: held on a session of
//! its own, asked after, released by `unlock` and by dropping the driver, and released
//! by a run that gives up after losing its working connection before the call returns.

use aludel::driver::{ConnectOptions, DbErrorKind, Driver};
use aludel::migrator::Migrator;
use aludel::render::VersionTable;
use aludel::url::{DatabaseUrl, Dialect};
use aludel_testkit::faults::{Relay, RelayMode};
use aludel_testkit::mysql::prelude::Queryable;
use aludel_testkit::{MysqlDatabase, soon};

fn table() -> VersionTable {
    VersionTable {
        name: "aludel_version".into(),
        schema: None,
        dialect: Dialect::Mysql,
    }
}

/// The run lock's name for `db`'s version table, as the driver gives it.
fn lock_name(db: &MysqlDatabase) -> String {
    format!(
        "aludel_{:016x}",
        aludel::driver::lock_key(db.name(), &table()) as u64
    )
}

fn connect(url: &str) -> Box<dyn Driver> {
    let url: DatabaseUrl = url.parse().unwrap();
    aludel::driver::connect(&url, &ConnectOptions::default()).unwrap()
}

#[test]
fn the_lock_is_held_on_a_session_of_its_own_named_as_the_holder_and_freed_by_dropping_the_driver() {
    let db = MysqlDatabase::create();
    let name = lock_name(&db);
    let mut driver = connect(db.url());
    assert!(driver.try_lock(&table()).unwrap());
    assert!(driver.lock_outlives_session());
    // Its number, then what tells it from a session of another server's life.
    let session = driver.session_id().unwrap();
    let working: u64 = session.split(' ').next().unwrap().parse().unwrap();
    let holder = db.lock_holder(&name).expect("the lock is held");
    assert_ne!(holder, working);
    assert_eq!(db.lock_holder(&format!("{name}_w")), Some(working));
    driver
        .check_lock(&table(), std::time::Duration::ZERO)
        .unwrap();
    // Another connection's driver is refused the lock, and names its session.
    let mut other = connect(db.url());
    assert!(!other.try_lock(&table()).unwrap());
    let named = other.lock_holder(&table()).unwrap().unwrap();
    assert!(
        named.starts_with(&format!("connection {holder} (root@")),
        "{named}"
    );
    drop(driver);
    soon("dropping the driver did not free the lock", || {
        db.lock_holder(&name).is_none()
    });
    soon("the lock's session outlived the driver", || {
        !db.session_exists(holder)
    });
    assert!(other.try_lock(&table()).unwrap());
    other.unlock(&table()).unwrap();
}

#[test]
fn unlock_releases_both_locks_and_closes_the_lock_session() {
    let db = MysqlDatabase::create();
    let name = lock_name(&db);
    let mut driver = connect(db.url());
    assert!(driver.try_lock(&table()).unwrap());
    let holder = db.lock_holder(&name).unwrap();
    driver.unlock(&table()).unwrap();
    // Released by the time unlock returns.
    assert_eq!(db.lock_holder(&name), None);
    assert_eq!(db.lock_holder(&format!("{name}_w")), None);
    soon("the lock's session stays open", || {
        !db.session_exists(holder)
    });
}

#[test]
fn a_killed_lock_session_is_found_lost_and_unlock_says_so() {
    let db = MysqlDatabase::create();
    let name = lock_name(&db);
    let mut driver = connect(db.url());
    assert!(driver.try_lock(&table()).unwrap());
    let holder = db.lock_holder(&name).unwrap();
    db.conn()
        .query_drop(format!("KILL CONNECTION {holder}"))
        .unwrap();
    let lost = driver
        .check_lock(&table(), std::time::Duration::ZERO)
        .unwrap_err();
    assert_eq!(lost.kind(), DbErrorKind::LockLost);
    assert!(
        lost.message().starts_with(&format!(
            "the migration lock {name} is no longer known to be held: connection {holder}, which held it, ended ("
        )),
        "{lost}"
    );
    let unlocked = driver.unlock(&table()).unwrap_err();
    assert_eq!(unlocked.kind(), DbErrorKind::LockLost);
    // The work lock goes with unlock all the same.
    assert_eq!(db.lock_holder(&format!("{name}_w")), None);
}

/// An application's upgrade whose working connection is cut gives up with an error,
/// and by the time the call returns the lock is free: the application goes on
/// running, and nothing of the failed run holds the lock.
#[test]
fn an_upgrade_that_loses_its_working_connection_returns_with_the_lock_free() {
    let db = MysqlDatabase::create();
    let name = lock_name(&db);
    let relay = Relay::to_test_mysql(RelayMode::CutBefore("SELECT SLEEP(", 1));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r1.sql"),
        "-- aludel:revision r1\n-- aludel:message slow\n-- aludel:upgrade\nCREATE TABLE t1 (id int);\nSELECT SLEEP(1);\n-- aludel:downgrade\nDROP TABLE t1;\n",
    )
    .unwrap();
    let migrator = Migrator::from_dir(dir.path()).unwrap();
    let err = migrator
        .upgrade(&relay.mysql_url(db.name()), "head", &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("after reconnecting, the version table reads <base>"),
        "{err}"
    );
    assert_eq!(db.lock_holder(&name), None);
    assert_eq!(db.lock_holder(&format!("{name}_w")), None);
}
