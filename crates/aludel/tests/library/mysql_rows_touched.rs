//! What the MariaDB/MySQL driver reads from the server's answer to an `UPDATE`: the
//! rows it found and those it changed, by which the runner checks a revision's move of
//! the version table's only row without a read of the table.

use aludel::driver::{ConnectOptions, Driver, RowsTouched};
use aludel::render::VersionTable;
use aludel::url::{DatabaseUrl, Dialect};
use aludel_testkit::MysqlDatabase;

fn table() -> VersionTable {
    VersionTable {
        name: "aludel_version".into(),
        schema: None,
        dialect: Dialect::Mysql,
    }
}

/// Moves `from` to `to` in a transaction, as the runner records a revision, and
/// returns what the server said the `UPDATE` did.
fn moved(driver: &mut dyn Driver, from: &str, to: &str) -> Option<RowsTouched> {
    let update = table().update_finding_all(from, to);
    let touched = driver
        .execute_counting(&["START TRANSACTION", &update, "COMMIT"])
        .unwrap();
    assert_eq!(touched.len(), 3);
    touched[1]
}

#[test]
fn an_update_finding_every_row_says_how_many_there_are_and_which_it_changed() {
    let db = MysqlDatabase::create();
    let url: DatabaseUrl = db.url().parse().unwrap();
    let mut driver = aludel::driver::connect(&url, &ConnectOptions::default()).unwrap();
    assert!(driver.reports_rows_touched());
    driver.execute(&table().create()).unwrap();
    driver.execute(&table().insert("a")).unwrap();
    let rows = |matched, changed| Some(RowsTouched { matched, changed });
    // The table's only row: the runner's check passes on this answer alone.
    assert_eq!(moved(driver.as_mut(), "a", "b"), rows(1, 1));
    // A row beside it is found too; a row that is not there changes nothing.
    driver.execute(&table().insert("z")).unwrap();
    assert_eq!(moved(driver.as_mut(), "b", "c"), rows(2, 1));
    assert_eq!(moved(driver.as_mut(), "x", "y"), rows(2, 0));
    // In another message language the answer reads the same.
    driver.execute("SET SESSION lc_messages = 'de_DE'").unwrap();
    driver.execute(&table().delete("z")).unwrap();
    assert_eq!(moved(driver.as_mut(), "c", "d"), rows(1, 1));
    assert_eq!(driver.query_column(&table().select()).unwrap(), ["d"]);
}
