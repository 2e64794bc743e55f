//! The desired schema is compared as aludel writes it ([`aludel::autogen::as_written`]):
//! the database does not always print an expression it printed the way it printed it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aludel::autogen::{as_written, compare};
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
    let c = compare(twice, once, Dialect::Postgres, &Renames::default());
    assert!(c.diff.is_empty(), "{:?}", c.diff.ops);
}
