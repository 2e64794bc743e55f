//! Scratch (shadow) databases on a PostgreSQL server: made with `CREATE DATABASE`,
//! emptied between uses by renaming their schemas aside (dropping a database and
//! making another costs PostgreSQL a checkpoint and the removal of every file the
//! last use made), dropped `WITH (FORCE)`.

use super::PostgresDriver;
use crate::driver::{DbError, Driver};
use crate::render::quote_ident;
use crate::url::Dialect;

fn q(name: &str) -> String {
    quote_ident(Dialect::Postgres, name)
}

/// The first value of a one-row count, as the server prints it.
fn count(driver: &mut PostgresDriver, sql: &str) -> Result<Option<String>, DbError> {
    Ok(driver.query_column(sql)?.into_iter().next())
}

/// A scratch session commits without waiting for its write-ahead log to reach the
/// disk: the database is scratch space, and a crash loses nothing anyone needs.
pub(super) fn session(driver: &mut PostgresDriver) -> Result<(), DbError> {
    driver.execute("SET synchronous_commit = off")
}

/// Whether the server syncs files to disk (`fsync`, which any role may read): then
/// each index it builds waits for an fsync, and new files for the file system.
pub(super) fn waits_for_disk(driver: &mut PostgresDriver) -> bool {
    count(driver, "SHOW fsync").ok().flatten().as_deref() != Some("off")
}

pub(super) fn create(driver: &mut PostgresDriver, name: &str) -> Result<(), DbError> {
    // This session waits, idle, through the whole load to drop the database after:
    // a server that ends idle sessions (`idle_session_timeout`, PostgreSQL 14+, set
    // for the database or role) would end it first, and the database would stay on
    // the server. Where the setting does not exist nothing is set.
    driver.execute(
        "SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings \
         WHERE name = 'idle_session_timeout'",
    )?;
    driver
        .execute(&format!("CREATE DATABASE {}", q(name)))
        .map_err(|mut e| {
            if e.kind == crate::driver::DbErrorKind::InsufficientPrivilege {
                e.message.push_str(" (the user needs CREATEDB)");
            }
            e
        })
}

pub(super) fn drop_statement(name: &str) -> String {
    // FORCE ends any session still in it.
    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", q(name))
}

/// Whether a new database holds nothing beyond what `template0` gives: no extension
/// but plpgsql, no schema but `public`, nothing in `public`. Any doubt is "no".
pub(super) fn starts_empty(driver: &mut PostgresDriver) -> bool {
    count(
        driver,
        "SELECT (SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql') \
         + (SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_' \
            AND nspname NOT IN ('information_schema', 'public')) \
         + (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
            ON n.oid = c.relnamespace WHERE n.nspname = 'public') \
         + (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n \
            ON n.oid = p.pronamespace WHERE n.nspname = 'public') \
         + (SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n \
            ON n.oid = t.typnamespace WHERE n.nspname = 'public')",
    )
    .ok()
    .flatten()
    .as_deref()
        == Some("0")
}

/// Every schema the last use left is renamed out of the way (`aludel_used_<round>_<i>`,
/// where nothing reads them) and an empty `public` made, as a new database has.
pub(super) fn empty_database(driver: &mut PostgresDriver, round: usize) -> Result<bool, DbError> {
    // An event trigger the desired schema made would fire on what is written next,
    // which a new database would not do; an extension it made would stay registered
    // while its objects move away with the schemas, and could be made again by no one.
    let found = count(
        driver,
        "SELECT (SELECT count(*) FROM pg_catalog.pg_event_trigger) \
         + (SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql')",
    )?;
    if found.as_deref() != Some("0") {
        return Ok(false);
    }
    let schemas = driver.query_column(
        "SELECT nspname::text FROM pg_catalog.pg_namespace \
         WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' \
         AND nspname !~ '^aludel_used_' ORDER BY 1",
    )?;
    let mut sql: Vec<String> = vec![
        // Temporary objects the last use made would hide the next use's tables of
        // the same name.
        "DISCARD TEMP".into(),
    ];
    sql.extend(
        schemas
            .iter()
            .enumerate()
            .map(|(i, s)| format!("ALTER SCHEMA {} RENAME TO aludel_used_{round}_{i}", q(s))),
    );
    sql.push("CREATE SCHEMA public".into());
    driver.execute(&sql.join(";\n"))?;
    Ok(true)
}

pub(super) fn empty_schemas(
    driver: &mut PostgresDriver,
    schemas: &[String],
) -> Result<(), DbError> {
    let mut sql = vec!["DISCARD TEMP".to_string()];
    let default = [default_schema()];
    let schemas = if schemas.is_empty() {
        &default[..]
    } else {
        schemas
    };
    for s in schemas {
        sql.push(format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
            q(s)
        ));
    }
    driver.execute(&sql.join(";\n"))
}

/// The schema a database made by `CREATE DATABASE` writes unqualified names into.
pub(super) fn default_schema() -> String {
    "public".to_string()
}

/// An event trigger the desired schema made would fire on what is written in place,
/// which a revision run in a new database would not meet. A table with children
/// (inheritance, partitions) passes what is written onto it down to them: a parent's
/// default set again would replace a child's own.
pub(super) fn can_rewrite_in_place(driver: &mut PostgresDriver) -> Result<bool, DbError> {
    Ok(count(
        driver,
        "SELECT (SELECT count(*) FROM pg_catalog.pg_event_trigger) \
         + (SELECT count(*) FROM pg_catalog.pg_inherits)",
    )?
    .as_deref()
        == Some("0"))
}
