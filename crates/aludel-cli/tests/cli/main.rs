//! The `aludel` command's integration tests: one module per subject, all in one test
//! binary, so that the crate and its dependencies are linked once rather than once per
//! file. `deploy_files` is the exception, a binary of its own (`tests/deploy_files.rs`):
//! it needs tools from outside the workspace, and a run can leave it out with
//! `-E 'not binary(deploy_files)'` or run it alone with `--test deploy_files`.
//!
//! insta names a file snapshot after its module path: the snapshots of module `journal`
//! are `snapshots/cli__journal__<name>.snap`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod autogenerate;
mod autogenerate_edits;
mod autogenerate_mariadb;
mod branches;
mod cli_surface;
mod concurrency;
mod example_project;
mod failures;
mod faults;
mod fleet;
mod guidance;
mod hooks;
mod import_alembic;
mod journal;
mod json_results;
mod linear;
mod malformed;
mod mysql_lock;
mod mysql_tls;
mod offline_sql;
mod progress;
mod realistic_schemas;
mod retries;
mod revision_cmd;
mod secrets;
mod tls;
mod transactions;
mod version_table;
mod workspace;

/// A session of `db` that holds the run lock of its version table `aludel_version`
/// under the name aludel gives it, as another run would; dropping it releases it.
fn hold_mysql_run_lock(db: &aludel_testkit::MysqlDatabase) -> aludel_testkit::mysql::Conn {
    db.hold_lock(&mysql_run_lock_name(db))
}

/// The name of the MySQL run lock of `db`'s version table `aludel_version`, as aludel
/// gives it; the working session's own lock is this name with `_w`.
fn mysql_run_lock_name(db: &aludel_testkit::MysqlDatabase) -> String {
    let table = aludel::render::VersionTable {
        name: "aludel_version".into(),
        schema: None,
        dialect: aludel::url::Dialect::Mysql,
    };
    format!(
        "aludel_{:016x}",
        aludel::driver::lock_key(db.name(), &table) as u64
    )
}
