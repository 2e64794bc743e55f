//! The library's integration tests: one module per subject, all in one test binary, so
//! that the crate and its dependencies are linked once rather than once per file.
//!
//! The property tests keep their regression files next to their modules
//! (`<module>.proptest-regressions`, see each one's `config`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod as_written;
mod async_runtime;
mod inspect;
mod migrator;
mod redaction_props;
mod script_props;
mod side_by_side;
