//! The library's integration tests: one module per subject, all in one test binary, so
//! that the crate and its dependencies are linked once rather than once per file.
//!
//! The property tests keep their regression files next to their modules
//! (`<module>.proptest-regressions`, see each one's `config`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The library's tests run it against every server and inside tokio: built alone, the
// crate has SQLite only (its default), so say what to pass rather than skip them.
#[cfg(not(all(feature = "postgres", feature = "mysql", feature = "tokio")))]
compile_error!(
    "the library's tests need its server drivers and tokio: run them from the workspace (scripts/test), or with `cargo test -p aludel --features postgres,mysql,tokio`"
);

mod as_written;
mod async_runtime;
mod inspect;
mod migrator;
mod mysql_lock;
mod mysql_rows_touched;
mod redaction_props;
mod scratch_sessions;
mod script_props;
mod side_by_side;
