//! Migrations inside an application: a [`Migrator`] built from the revision files,
//! read from a folder at run time ([`Migrator::from_dir`]) or embedded in the binary
//! at compile time ([`Migrator::embedded`] with `aludel::embed_migrations!`).
//!
//! A `Migrator` validates every file and the whole graph when it is built, so a broken
//! file stops the application before it connects anywhere. It then answers for any
//! number of databases: each call takes the database URL. It has the same defaults as
//! the `aludel` command (version table `aludel_version`, one transaction per revision,
//! `[connect]` retries and lock timeout), so the application and the command can take
//! turns on one database.
//!
//! Calls that connect report progress as [`Event`]s to a callback; each event's
//! `Display` is a line fit for a log. The library itself never prints.
//!
//! Apply the migrations at start-up:
//!
//! ```no_run
//! use aludel::migrator::Migrator;
//!
//! // With the `embed` feature: `Migrator::embedded(aludel::embed_migrations!("migrations"))?`
//! let migrator = Migrator::from_dir("migrations")?;
//! let url = "postgresql://app@db/app";
//! let rows = migrator.upgrade(url, "head", &mut |event| eprintln!("migrate: {event}"))?;
//! println!("ready at {}", rows.join(", "));
//! # Ok::<(), aludel::migrator::Error>(())
//! ```
//!
//! Or leave migrating to a deployment step and only check, refusing to serve a
//! database this build does not fit:
//!
//! ```no_run
//! # use aludel::migrator::Migrator;
//! # let migrator = Migrator::from_dir("migrations")?;
//! if let Err(e) = migrator.ensure_at_head("sqlite:///app.db", &mut |_| {}) {
//!     // e.g. "the database is at 8b2e44c10f6a, this build expects c47d90e3ab15:
//!     // run `aludel upgrade head`"; a database's own error, when one is the
//!     // cause, follows it
//!     eprintln!("{}", aludel::report::error_text(&e));
//!     std::process::exit(1);
//! }
//! # Ok::<(), aludel::migrator::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{self, Config, ConfigError};
use crate::graph::{GraphError, RevisionGraph};
use crate::project::{self, NotAtHeads, Project};
use crate::runner::{Event, RunError};
use crate::script::{ScriptDir, ScriptError};
use crate::store::StoreError;
use crate::url::{DatabaseUrl, UrlError};

/// Why a [`Migrator`] could not be built, or a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No revision file was found where the migrations should be.
    #[error(
        "no migration files in {}: expected .sql files in its versions folder or in the folder itself",
        location.display()
    )]
    NoMigrations {
        /// The folder looked in.
        location: PathBuf,
    },
    /// A revision file is broken: the message names the file and line.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The revision graph is invalid, or a target cannot be resolved. (Boxed, as
    /// are other large errors here, so that `Result<_, Error>` stays small.)
    #[error(transparent)]
    Graph(Box<GraphError>),
    /// A setting given to the `Migrator` is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database URL could not be understood (the message hides its password).
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The database is behind this build: some of its migrations are not applied.
    #[error("{}", project::behind_message(.current, .expected, .command))]
    NotAtHead {
        /// The version table's rows (empty: no revision applied).
        current: Vec<String>,
        /// The rows a database at this build's head holds.
        expected: Vec<String>,
        /// The command that brings the database there, e.g. `aludel upgrade head`.
        command: String,
    },
    /// The database is at revisions this build does not know: a newer build
    /// migrated it, or a migration file was removed from this one.
    #[error("{}", project::unknown_message(.current, .unknown, .expected))]
    AheadOfBuild {
        /// The version table's rows.
        current: Vec<String>,
        /// Those rows no file of this build declares.
        unknown: Vec<String>,
        /// The rows a database at this build's head holds.
        expected: Vec<String>,
    },
    /// Connecting, locking or running a revision failed; a failed revision's error
    /// names its file, line and statement, and returns the database's error as its
    /// source ([`crate::report::error_text`] prints both).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The version table does not fit the revision files.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// Anything else a command refused, with its message.
    #[error(transparent)]
    Project(Box<project::Error>),
    /// An `_async` call could not start its work: it was made outside a tokio
    /// runtime, or the runtime was shutting down. Nothing was done.
    #[error("the migration call did not start: {reason}")]
    NotStarted {
        /// Why.
        reason: &'static str,
    },
}

impl From<GraphError> for Error {
    fn from(e: GraphError) -> Self {
        Error::Graph(Box::new(e))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(Box::new(e))
    }
}

impl From<NotAtHeads> for Error {
    fn from(e: NotAtHeads) -> Self {
        match e {
            NotAtHeads::Behind {
                current,
                expected,
                command,
            } => Error::NotAtHead {
                current,
                expected,
                command,
            },
            NotAtHeads::Unknown {
                current,
                unknown,
                expected,
            } => Error::AheadOfBuild {
                current,
                unknown,
                expected,
            },
        }
    }
}

impl From<project::Error> for Error {
    fn from(e: project::Error) -> Self {
        // The variants an application matches on are kept apart.
        match e {
            project::Error::Script(e) => Error::Script(e),
            project::Error::Graph(e) => e.into(),
            project::Error::Config(e) => Error::Config(e),
            project::Error::Run(e) => Error::Run(e),
            project::Error::Store(e) => e.into(),
            other => Error::Project(Box::new(other)),
        }
    }
}

/// An application's migrations, validated, ready to run against any database.
///
/// Build it once at start-up with [`Migrator::from_dir`] or [`Migrator::embedded`],
/// adjust settings with the `with_` methods, then call [`Migrator::upgrade`],
/// [`Migrator::ensure_at_head`], ... with the database URL (`postgresql://...`,
/// `sqlite:///app.db` relative to the working directory, `sqlite:////abs/app.db`).
///
/// Every call is blocking: it returns when the run is over. From async code, use
/// the `_async` calls ([`Migrator::upgrade_async`], ..., feature `tokio`), which run
/// the same call on tokio's blocking threads and leave the runtime's workers free.
/// A blocking call made inside a tokio runtime works as well (at start-up, before
/// serving, that is often fine), but holds the worker thread it runs on until it
/// returns; in a `current_thread` runtime, that is every task.
///
/// Cloning is cheap: the files and graph are shared.
#[derive(Debug, Clone)]
pub struct Migrator {
    /// The files, graph and settings; its database URL is a placeholder that every
    /// call replaces ([`Project::with_database_url`]).
    project: Project,
}

impl Migrator {
    /// Reads and validates the revision files under `path`: the `.sql` files of
    /// `path/versions` (the layout `aludel init` creates, where `path` is the
    /// `migrations` folder), or of `path` itself when it has no `versions` folder.
    /// A relative path is relative to the working directory.
    ///
    /// Errors: a missing folder, a folder without `.sql` files, a broken file (the
    /// error names the file and line) or an invalid graph.
    pub fn from_dir(path: impl AsRef<Path>) -> Result<Migrator, Error> {
        let path = path.as_ref();
        let versions = path.join("versions");
        let dir = if versions.is_dir() {
            versions
        } else {
            path.to_path_buf()
        };
        let scripts = ScriptDir::load(&dir)?;
        if scripts.is_empty() {
            return Err(Error::NoMigrations {
                location: path.to_path_buf(),
            });
        }
        let root = path.parent().unwrap_or(Path::new(""));
        let mut config = Config::defaults(root, placeholder_url()?);
        config.script_location = path.to_path_buf();
        Migrator::new(config, scripts)
    }

    /// Validates revision files embedded in the binary: `(path, text)` pairs, as
    /// `aludel::embed_migrations!("migrations")` produces them (the paths, relative to
    /// the crate, only name the files in messages).
    ///
    /// ```
    /// use aludel::migrator::Migrator;
    /// let migrator = Migrator::embedded(&[
    ///     ("migrations/versions/a1.sql", "-- aludel:revision a1\n-- aludel:upgrade\nCREATE TABLE t (id int);\n-- aludel:downgrade\nDROP TABLE t;\n"),
    ///     ("migrations/versions/b2.sql", "-- aludel:revision b2\n-- aludel:revises a1\n-- aludel:upgrade\nALTER TABLE t ADD COLUMN name text;\n"),
    /// ])?;
    /// assert_eq!(migrator.heads(), ["b2"]);
    /// # Ok::<(), aludel::migrator::Error>(())
    /// ```
    pub fn embedded(files: &[(&str, &str)]) -> Result<Migrator, Error> {
        let dir = files
            .first()
            .and_then(|(path, _)| Path::new(path).parent())
            .unwrap_or(Path::new(""))
            .to_path_buf();
        if files.is_empty() {
            return Err(Error::NoMigrations { location: dir });
        }
        let scripts = ScriptDir::from_sources(dir.clone(), files.iter().copied())?;
        let mut config = Config::defaults(Path::new(""), placeholder_url()?);
        config.script_location = dir;
        Migrator::new(config, scripts)
    }

    fn new(config: Config, scripts: ScriptDir) -> Result<Migrator, Error> {
        let project = Project::from_parts(config, scripts)?;
        Ok(Migrator { project })
    }

    /// Uses the version table `name` instead of `aludel_version` (as `version_table`
    /// in `aludel.toml`; `alembic_version` takes over an Alembic-managed database).
    /// A name that is not a plain identifier is an error.
    pub fn with_version_table(mut self, name: &str) -> Result<Migrator, Error> {
        config::check_identifier(name, Path::new(ORIGIN), "version_table")?;
        self.project.config_mut().version_table = name.to_string();
        Ok(self)
    }

    /// Keeps the version table in `schema` rather than the default one (PostgreSQL).
    pub fn with_version_table_schema(mut self, schema: &str) -> Result<Migrator, Error> {
        config::check_identifier(schema, Path::new(ORIGIN), "version_table_schema")?;
        self.project.config_mut().version_table_schema = Some(schema.to_string());
        Ok(self)
    }

    /// `true` (the default): each revision commits with its version-table row, so a
    /// failure leaves the database at the revision before it. `false`: one
    /// transaction around the whole run, all or nothing (Alembic's default).
    pub fn with_transaction_per_migration(mut self, per_migration: bool) -> Migrator {
        self.project.config_mut().transaction_per_migration = per_migration;
        self
    }

    /// How to wait for a database that is not reachable yet: `attempts` in all, the
    /// first included (default 5), waiting `first_delay` after the first failure and
    /// twice as long after each further one (default 5 s; see
    /// [`Migrator::with_connect_backoff`]). Each failed attempt is an
    /// [`Event::ConnectFailed`]. Errors: no attempt, or a delay over a day.
    pub fn with_connect_retries(
        mut self,
        attempts: u32,
        first_delay: Duration,
    ) -> Result<Migrator, Error> {
        if attempts == 0 {
            return Err(invalid(
                "retries",
                "must be at least 1: it counts every attempt, the first included",
            ));
        }
        let delay = checked_seconds("delay_seconds", first_delay)?;
        let connect = &mut self.project.config_mut().connect;
        connect.retries = attempts;
        connect.delay_seconds = delay;
        Ok(self)
    }

    /// Whether the wait between connection attempts doubles after each failure (the
    /// default, [`config::Backoff::Exponential`], up to 60 s) or stays the first
    /// delay ([`config::Backoff::Fixed`]).
    pub fn with_connect_backoff(mut self, backoff: config::Backoff) -> Migrator {
        self.project.config_mut().connect.backoff = backoff;
        self
    }

    /// How long a run waits for another run's lock (default 300 s); on SQLite also how
    /// long a statement waits for a busy database. Error: over a day.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Result<Migrator, Error> {
        self.project.config_mut().connect.lock_timeout_seconds =
            checked_seconds("lock_timeout_seconds", timeout)?;
        Ok(self)
    }

    /// The heads of this build's revisions, as `aludel heads` lists them.
    pub fn heads(&self) -> Vec<String> {
        self.project
            .graph()
            .heads()
            .into_iter()
            .map(|id| id.as_str().to_string())
            .collect()
    }

    /// The revision graph, for questions beyond these calls (history, labels, ...).
    pub fn graph(&self) -> &RevisionGraph {
        self.project.graph()
    }

    /// The revision files.
    pub fn scripts(&self) -> &ScriptDir {
        self.project.scripts()
    }

    /// The project for `url`, sharing the files and graph.
    fn on(&self, url: &str) -> Result<Project, Error> {
        let url: DatabaseUrl = url.parse()?;
        Ok(self.project.with_database_url(url))
    }

    /// Applies what is pending up to `target` (`head`, `heads`, a revision id, `+1`,
    /// `LABEL@head`, ...) under the run lock, as `aludel upgrade TARGET` does: several
    /// replicas starting together apply each revision once. Returns the version
    /// table's rows afterwards, sorted.
    ///
    /// A database at a revision this build does not know is
    /// [`Error::AheadOfBuild`]; a failed revision is [`Error::Run`], whose message
    /// names the file, line and statement.
    pub fn upgrade(
        &self,
        url: &str,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let project = self.on(url)?;
        let result = project.upgrade(target, events);
        self.explain(&project, result)
    }

    /// Reverts down to `target` (`-1`, a revision id, `base`, ...) under the run lock,
    /// as `aludel downgrade TARGET` does. Returns the rows afterwards, sorted.
    pub fn downgrade(
        &self,
        url: &str,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let project = self.on(url)?;
        let result = project.downgrade(target, events);
        self.explain(&project, result)
    }

    /// The revisions the database is at: the version table's rows, sorted; empty when
    /// no revision is applied. Rows this build does not know are returned as they are.
    pub fn current(&self, url: &str, events: &mut dyn FnMut(Event)) -> Result<Vec<String>, Error> {
        Ok(self.on(url)?.current_rows(events)?)
    }

    /// `Ok(())` when the database is at this build's head, for a start-up check that
    /// leaves migrating to a deployment step. Otherwise [`Error::NotAtHead`] (the
    /// database is behind; its message says which command to run) or
    /// [`Error::AheadOfBuild`]. Reads the version table without taking the run lock;
    /// `events` receives the connection retries.
    pub fn ensure_at_head(&self, url: &str, events: &mut dyn FnMut(Event)) -> Result<(), Error> {
        let current = self.current(url, events)?;
        match self.project.compare_with_heads(&current)? {
            None => Ok(()),
            Some(mismatch) => Err(mismatch.into()),
        }
    }

    /// [`Error::AheadOfBuild`] when some of `current` is unknown to this build.
    fn ahead(&self, current: &[String]) -> Option<Error> {
        match self.project.compare_with_heads(current) {
            Ok(Some(unknown @ NotAtHeads::Unknown { .. })) => Some(unknown.into()),
            _ => None,
        }
    }

    /// A run stopped by a version row no file declares says so as
    /// [`Error::AheadOfBuild`], with every row; other results pass through.
    fn explain(
        &self,
        project: &Project,
        result: Result<Vec<String>, project::Error>,
    ) -> Result<Vec<String>, Error> {
        match result {
            Err(e @ project::Error::Graph(GraphError::UnknownCurrent { .. }))
            | Err(e @ project::Error::Store(StoreError::UnknownRow(_))) => {
                // The rows are read again for the message; if that fails too, the
                // original error still says which row is unknown.
                let rows = project.current_rows(&mut |_| {});
                match rows.ok().and_then(|rows| self.ahead(&rows)) {
                    Some(ahead) => Err(ahead),
                    None => Err(e.into()),
                }
            }
            other => Ok(other?),
        }
    }
}

/// The calls for async code: each runs its blocking counterpart on tokio's blocking
/// threads (`spawn_blocking`) and awaits it, so a run never holds a runtime worker.
///
/// ```no_run
/// # async fn start() -> Result<(), aludel::migrator::Error> {
/// use aludel::migrator::Migrator;
/// let migrator = Migrator::from_dir("migrations")?;
/// let url = "postgresql://app@db/app";
/// let rows = migrator
///     .upgrade_async(url, "head", |event| eprintln!("migrate: {event}"))
///     .await?;
/// migrator.ensure_at_head_async(url, |_| {}).await?;
/// # Ok(()) }
/// ```
///
/// They must be awaited inside a tokio runtime (else [`Error::NotStarted`]). The
/// callback runs on the blocking thread, hence `Send + 'static`: log from it, or send
/// the events to a channel. Dropping the future does not stop a run that has
/// started: it goes on to its end on its thread (each revision commits or rolls back,
/// the lock is released), and its result is dropped.
#[cfg(feature = "tokio")]
impl Migrator {
    /// [`Migrator::upgrade`] for async code.
    pub async fn upgrade_async(
        &self,
        url: &str,
        target: &str,
        events: impl FnMut(Event) + Send + 'static,
    ) -> Result<Vec<String>, Error> {
        let (migrator, url, target) = (self.clone(), url.to_string(), target.to_string());
        let mut events = events;
        off_the_runtime(move || migrator.upgrade(&url, &target, &mut events)).await
    }

    /// [`Migrator::downgrade`] for async code.
    pub async fn downgrade_async(
        &self,
        url: &str,
        target: &str,
        events: impl FnMut(Event) + Send + 'static,
    ) -> Result<Vec<String>, Error> {
        let (migrator, url, target) = (self.clone(), url.to_string(), target.to_string());
        let mut events = events;
        off_the_runtime(move || migrator.downgrade(&url, &target, &mut events)).await
    }

    /// [`Migrator::current`] for async code.
    pub async fn current_async(
        &self,
        url: &str,
        events: impl FnMut(Event) + Send + 'static,
    ) -> Result<Vec<String>, Error> {
        let (migrator, url) = (self.clone(), url.to_string());
        let mut events = events;
        off_the_runtime(move || migrator.current(&url, &mut events)).await
    }

    /// [`Migrator::ensure_at_head`] for async code.
    pub async fn ensure_at_head_async(
        &self,
        url: &str,
        events: impl FnMut(Event) + Send + 'static,
    ) -> Result<(), Error> {
        let (migrator, url) = (self.clone(), url.to_string());
        let mut events = events;
        off_the_runtime(move || migrator.ensure_at_head(&url, &mut events)).await
    }
}

/// Runs `work` on the current tokio runtime's blocking threads and awaits it.
#[cfg(feature = "tokio")]
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NotStarted {
        reason: "the _async calls run on a tokio runtime, and none is running here; call the blocking one instead",
    })?;
    match runtime.spawn_blocking(work).await {
        Ok(result) => result,
        // A panic in the work is the caller's panic, as with the blocking call.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::NotStarted {
            reason: "the tokio runtime is shutting down",
        }),
    }
}

/// Where messages say a bad setting came from.
const ORIGIN: &str = "Migrator";

fn invalid(key: &str, message: &str) -> Error {
    Error::Config(ConfigError::Invalid {
        origin: ORIGIN.into(),
        key: key.into(),
        message: message.into(),
    })
}

fn checked_seconds(key: &str, d: Duration) -> Result<f64, Error> {
    let seconds = d.as_secs_f64();
    if config::seconds_ok(seconds) {
        Ok(seconds)
    } else {
        Err(invalid(key, "must be at most a day (86400 s)"))
    }
}

/// The URL a `Migrator` holds between calls; each call gives the real one.
fn placeholder_url() -> Result<DatabaseUrl, Error> {
    Ok("sqlite://:memory:".parse()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn not_at_head_names_both_ends_and_the_command() {
        let e = Error::NotAtHead {
            current: strings(&["8b2e44c10f6a"]),
            expected: strings(&["c47d90e3ab15"]),
            command: "aludel upgrade head".into(),
        };
        assert_eq!(
            e.to_string(),
            "the database is at 8b2e44c10f6a, this build expects c47d90e3ab15: run `aludel upgrade head`"
        );
        let e = Error::NotAtHead {
            current: vec![],
            expected: strings(&["a", "b", "c"]),
            command: "aludel upgrade heads".into(),
        };
        assert_eq!(
            e.to_string(),
            "the database is at <base> (no revision applied), this build expects a, b and c: run `aludel upgrade heads`"
        );
    }

    #[test]
    fn ahead_of_build_names_the_unknown_revisions() {
        let e = Error::AheadOfBuild {
            current: strings(&["a", "zz"]),
            unknown: strings(&["zz"]),
            expected: strings(&["b"]),
        };
        assert_eq!(
            e.to_string(),
            "the database is at a and zz, this build expects b: zz is not in this build's migrations (did a newer build migrate the database?); run that build, or downgrade the database with it"
        );
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let files = [("v/a1.sql", "-- aludel:revision a1\n-- aludel:upgrade\n")];
        let m = || Migrator::embedded(&files).unwrap();
        let e = m().with_version_table("a-b").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Migrator: invalid `version_table`"),
            "{e}"
        );
        let e = m().with_connect_retries(0, Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("`retries`"), "{e}");
        let e = m()
            .with_lock_timeout(Duration::from_secs(100_000))
            .unwrap_err();
        assert!(e.to_string().contains("`lock_timeout_seconds`"), "{e}");
    }

    #[test]
    fn defaults_are_the_commands_defaults() {
        let files = [("v/a1.sql", "-- aludel:revision a1\n-- aludel:upgrade\n")];
        let m = Migrator::embedded(&files).unwrap();
        let c = m.project.config();
        assert_eq!(c.version_table, config::DEFAULT_VERSION_TABLE);
        assert_eq!(c.version_table_schema, None);
        assert!(c.transaction_per_migration);
        assert_eq!(c.connect, config::ConnectPolicy::default());
        assert_eq!(m.project.rows_at_heads().unwrap(), ["a1"]);
    }

    /// Applications return this error from their own functions: it is kept under
    /// clippy's `result_large_err` threshold (128 bytes), so they need not box it.
    #[test]
    fn the_error_is_small_enough_to_return_unboxed() {
        assert!(std::mem::size_of::<Error>() < 128);
    }
}
