//! aludel: database schema migrations with Alembic's semantics.
//!
//! The library holds every decision; the `aludel` binary only parses arguments,
//! calls [`project::Project`] and prints. Layers, each depending only on those above it:
//!
//! | module | responsibility |
//! |---|---|
//! | [`config`] | load `aludel.toml`, apply env and flag precedence |
//! | [`url`] | parse database URLs, tell the dialect, redact secrets |
//! | [`graph`] | the revision DAG: validation, heads, targets, plans |
//! | [`script`] | migration files: headers, sections, statements, new files |
//! | [`store`] | version-table semantics: rows each step inserts, updates, deletes |
//! | [`render`] | SQL text per dialect for the version table and transaction framing |
//! | [`driver`] | the only code that talks to a live database |
//! | [`runner`] | carry out a plan through a live or offline sink |
//! | [`project`] | the commands as library calls |
//! | [`fleet`] | many databases (`--targets`, `--shard`) and many projects (`--workspace`) |

pub mod autogen;
pub mod config;
pub mod diff;
pub mod driver;
pub mod fleet;
pub mod graph;
pub mod ops;
pub mod project;
pub mod render;
pub mod runner;
pub mod schema;
pub mod script;
pub mod store;
pub mod url;
