//! aludel: database schema migrations with Alembic's semantics.
//!
//! The library holds every decision; the `aludel` binary only parses arguments,
//! calls [`project::Project`] and prints. Applications use [`migrator::Migrator`]:
//! revision files read at run time or compiled in with [`embed_migrations!`] (feature
//! `embed`, on by default), applied or checked at start-up. In async programs,
//! `upgrade_async`, `ensure_at_head_async`, ... (feature `tokio`, on by default) run
//! the same calls on tokio's blocking threads.
//!
//! ```no_run
//! use aludel::migrator::Migrator;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let migrator = Migrator::from_dir("migrations")?; // or Migrator::embedded(aludel::embed_migrations!("migrations"))?
//! let url = std::env::var("DATABASE_URL")?;
//! migrator.upgrade(&url, "head", &mut |event| eprintln!("INFO  {event}"))?;
//! migrator.ensure_at_head(&url, &mut |_| {})?;
//! # Ok(())
//! # }
//! ```
//!
//! Layers, each depending only on those above it:
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
//! | [`runner`] | carry out a plan through a live or offline sink; progress [`runner::Event`]s |
//! | [`project`] | the commands as library calls |
//! | [`fleet`] | many databases (`--targets`, `--shard`) and many projects (`--workspace`) |
//! | [`migrator`] | the application API: embedded or folder migrations, upgrade and start-up checks |
//! | [`report`] | an error in full: its text and the causes it returns as its source |

pub mod alembic_import;
pub mod autogen;
pub mod config;
pub mod diff;
pub mod driver;
pub mod fleet;
pub mod graph;
pub mod migrator;
pub mod ops;
pub mod project;
pub mod render;
pub mod report;
pub mod runner;
pub mod schema;
pub mod script;
pub mod store;
pub mod text;
pub mod url;

#[cfg(feature = "embed")]
pub use aludel_macros::embed_migrations;
