//! The commands as library calls: what the CLI and embedding applications call.
//!
//! A [`Project`] is one `aludel.toml` with its revision files, read and validated
//! whole when opened: a broken file or graph stops every command before anything
//! connects or runs.
//!
//! ```no_run
//! use aludel::config::{Config, Overrides, ProcessEnv};
//! use aludel::project::Project;
//! let cwd = std::env::current_dir()?;
//! let config = Config::load(&Overrides::default(), &ProcessEnv, &cwd)?;
//! let project = Project::open(config)?;
//! project.upgrade("head", &mut |event| eprintln!("{event:?}"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ConfigError};
use crate::driver::Driver;
use crate::graph::{Direction, GraphError, Plan, Range, RevisionGraph, Target};
use crate::render::VersionTable;
use crate::runner::{
    self, Event, LockedSession, PreparedStep, RunError, SqlText, TransactionPolicy,
};
use crate::script::{NewRevision, ScriptDir, ScriptError, ScriptTemplate};
use crate::store::{Heads, HeadsChange, RowOp, StoreError};
use crate::url::{DatabaseUrl, Dialect, SqliteLocation};

/// Any failure of a command, with the context a user needs to act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A migration file or the folder is broken.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The revision graph is invalid, or a target cannot be resolved.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The version table does not fit the revision files.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Connecting, locking or running failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A file could not be written or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Autogenerate or check could not compare the schemas.
    #[error(transparent)]
    Autogen(#[from] crate::autogen::AutogenError),
    /// The command cannot do what was asked; the message says what to type instead.
    #[error("{0}")]
    Invalid(String),
}

/// The answer of [`Project::check_heads`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadsCheck {
    /// The version table's rows, sorted (empty: no revision applied, or no table).
    pub rows: Vec<String>,
    /// Why the database is not at the heads; `None` when it is.
    pub mismatch: Option<NotAtHeads>,
}

/// Why a database is not at the revision files' heads. The messages name where it
/// is and where this build's files expect it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAtHeads {
    /// Behind: some revisions are not applied.
    #[error("{}", behind_message(.current, .expected, .command))]
    Behind {
        /// The version table's rows (empty: no revision applied).
        current: Vec<String>,
        /// The rows a database at the heads holds.
        expected: Vec<String>,
        /// The command that brings the database there, e.g. `aludel upgrade head`.
        command: String,
    },
    /// At revisions no file declares: a newer build migrated the database, or a
    /// file was removed.
    #[error("{}", unknown_message(.current, .unknown, .expected))]
    Unknown {
        /// The version table's rows.
        current: Vec<String>,
        /// Those rows no file declares.
        unknown: Vec<String>,
        /// The rows a database at the heads holds.
        expected: Vec<String>,
    },
}

/// The message of [`NotAtHeads::Behind`] (shared with the `Migrator`'s error).
pub(crate) fn behind_message(current: &[String], expected: &[String], command: &str) -> String {
    format!(
        "the database is at {}, this build expects {}: run `{command}`",
        revision_list(current),
        revision_list(expected)
    )
}

/// The message of [`NotAtHeads::Unknown`] (shared with the `Migrator`'s error).
pub(crate) fn unknown_message(
    current: &[String],
    unknown: &[String],
    expected: &[String],
) -> String {
    format!(
        "the database is at {}, this build expects {}: {} {} not in this build's migrations (did a newer build migrate the database?); run that build, or downgrade the database with it",
        revision_list(current),
        revision_list(expected),
        revision_list(unknown),
        if unknown.len() == 1 { "is" } else { "are" }
    )
}

/// Revisions for a message: `a`, `a and b`, `a, b and c`, or base when none.
fn revision_list(ids: &[String]) -> String {
    match ids {
        [] => "<base> (no revision applied)".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What `revision --autogenerate` did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Autogenerated {
    /// The file written; `None` when nothing changed (and `--allow-empty` was not given).
    pub path: Option<PathBuf>,
    /// One line per change, in the order they run.
    pub changes: Vec<String>,
    /// Likely renames nobody declared, each saying which `--rename` to pass.
    pub suggestions: Vec<String>,
    /// Objects in the database aludel does not model and left alone.
    pub skipped: Vec<String>,
}

/// One revision as the JSON results (`--format json`) show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RevisionInfo {
    /// The revision id.
    pub revision: String,
    /// The ids it revises; empty for a root.
    pub parents: Vec<String>,
    /// What it depends on, as written (ids or labels).
    pub depends_on: Vec<String>,
    /// Its own and inherited branch labels.
    pub branch_labels: Vec<String>,
    /// The message.
    pub message: String,
    /// The `created` timestamp as written.
    pub created: Option<String>,
    /// Its file.
    pub path: String,
    /// No revision revises it (`(head)` or `(effective head)` in text).
    pub is_head: bool,
    /// More than one revision revises it.
    pub is_branch_point: bool,
    /// It revises more than one revision.
    pub is_merge_point: bool,
    /// A row of the version table names it (only when the database was read).
    pub is_current: bool,
}

/// What `check` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// One line per change autogenerate would write; empty when in step.
    pub changes: Vec<String>,
    /// Likely renames among them.
    pub suggestions: Vec<String>,
    /// Objects aludel does not model, left out of the comparison.
    pub skipped: Vec<String>,
}

/// What `aludel revision` is asked for.
#[derive(Debug, Clone, Default)]
pub struct RevisionOptions {
    /// The message.
    pub message: String,
    /// A chosen id instead of a generated one.
    pub rev_id: Option<String>,
    /// The revision to build on (`base` for a new root); default the single head.
    pub head: Option<String>,
    /// Allow `head` to be a non-head revision (a new branch).
    pub splice: bool,
    /// Branch labels of the new revision.
    pub branch_labels: Vec<String>,
    /// Revisions or labels the new one depends on.
    pub depends_on: Vec<String>,
}

/// What `aludel merge` is asked for.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The revisions to merge (`heads` for the real heads).
    pub revisions: Vec<String>,
    /// The message.
    pub message: String,
    /// A chosen id instead of a generated one.
    pub rev_id: Option<String>,
    /// Branch labels of the merge revision.
    pub branch_labels: Vec<String>,
    /// Accept revisions that are not heads (the merge then starts a new branch from
    /// each of them), as `revision --splice` does for one parent.
    pub splice: bool,
}

/// Creates `aludel.toml` and `migrations/versions/` in `dir`; returns what it created.
/// An existing config file is an error: nothing is overwritten.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            error: source,
        }
    };
    let config = dir.join(crate::config::CONFIG_FILE_NAME);
    if config.exists() {
        return Err(Error::Invalid(format!(
            "{} already exists: this folder is already an aludel project",
            config.display()
        )));
    }
    let versions = dir.join("migrations").join("versions");
    let mut created = Vec::new();
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        created.push(dir.to_path_buf());
    }
    std::fs::create_dir_all(&versions).map_err(io(&versions))?;
    created.push(dir.join("migrations"));
    created.push(versions.clone());
    std::fs::write(&config, crate::config::default_config_text()).map_err(io(&config))?;
    created.push(config);
    Ok(created)
}

/// One project: its configuration, revision files and graph. Cloning shares the files
/// and graph.
#[derive(Debug, Clone)]
pub struct Project {
    config: Config,
    // Shared, so that the same files can serve several databases
    // ([`Project::with_database_url`]) without being read or validated again.
    scripts: Arc<ScriptDir>,
    graph: Arc<RevisionGraph>,
    /// What `[autogenerate] schema_command` printed, once it has run: the command runs
    /// once however many times (and for however many databases) the desired schema
    /// is read.
    schema_output: Arc<std::sync::Mutex<Option<String>>>,
    /// Shadow databases that could not be dropped, reported at the end of the
    /// command that made them.
    left_shadows: crate::autogen::LeftShadows,
}

impl Project {
    /// Reads every revision file and validates the whole graph.
    pub fn open(config: Config) -> Result<Project, Error> {
        let versions = config.versions_dir();
        // One cache file per versions folder, named by a hash of its absolute path.
        let cache_file = config.cache_dir.as_ref().map(|dir| {
            let key = std::fs::canonicalize(&versions).unwrap_or_else(|_| versions.clone());
            dir.join(format!(
                "scripts-{:016x}.bin",
                crate::driver::stable_hash(key.as_os_str().as_encoded_bytes())
            ))
        });
        let scripts = ScriptDir::load_cached(&versions, cache_file.as_deref())?;
        Project::from_parts(config, scripts)
    }

    /// A project from revision files already read, e.g. embedded in an application
    /// ([`ScriptDir::from_sources`]): validates the whole graph, as [`Project::open`]
    /// does. `config.script_location` is not read.
    pub fn from_parts(config: Config, scripts: ScriptDir) -> Result<Project, Error> {
        // The folder's index of ids serves the graph too: each id is in it once.
        let graph = RevisionGraph::build_indexed(
            scripts.shared_specs(),
            id_width(&config),
            Some(scripts.id_index().clone()),
        )?;
        Ok(Project {
            config,
            scripts: Arc::new(scripts),
            graph: Arc::new(graph),
            schema_output: Arc::default(),
            left_shadows: crate::autogen::LeftShadows::default(),
        })
    }

    /// The same project against another database: the files and the graph are
    /// shared, not read or validated again.
    pub fn with_database_url(&self, url: DatabaseUrl) -> Project {
        let mut config = self.config.clone();
        config.database_url = url;
        config.url_source = crate::config::UrlSource::Caller;
        config.unresolved_url = None;
        Project {
            config,
            scripts: Arc::clone(&self.scripts),
            graph: Arc::clone(&self.graph),
            schema_output: Arc::clone(&self.schema_output),
            // Each database's commands report their own (a fleet runs them side by
            // side).
            left_shadows: crate::autogen::LeftShadows::default(),
        }
    }

    /// The configuration, to change settings before running commands (the revision
    /// files and the graph stay as they are).
    pub(crate) fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The revision graph.
    pub fn graph(&self) -> &RevisionGraph {
        &self.graph
    }

    /// The revision files.
    pub fn scripts(&self) -> &ScriptDir {
        &self.scripts
    }

    fn dialect(&self) -> Dialect {
        self.config.database_url.dialect()
    }

    /// The version table, refused on SQLite when the config names a schema: SQLite
    /// has none (only attached databases, which aludel never attaches).
    fn version_table(&self) -> Result<VersionTable, Error> {
        let dialect = self.dialect();
        if let Some(schema) = &self.config.version_table_schema
            && !crate::render::capabilities(dialect).schemas
        {
            return Err(Error::Invalid(format!(
                "{}: version_table_schema = \"{}\", but {dialect} has no schemas; remove version_table_schema to keep the version table in the database itself",
                self.config.path.display(),
                crate::text::value(schema)
            )));
        }
        Ok(VersionTable {
            name: self.config.version_table.clone(),
            schema: self.config.version_table_schema.clone(),
            dialect,
        })
    }

    fn policy(&self) -> TransactionPolicy {
        if self.config.transaction_per_migration {
            TransactionPolicy::PerMigration
        } else {
            TransactionPolicy::WholeRun
        }
    }

    /// The database URL, for a command that connects: an unset variable in it is an
    /// error now, not when the configuration was loaded.
    fn live_url(&self) -> Result<&DatabaseUrl, Error> {
        match &self.config.unresolved_url {
            Some(u) => Err(u.error().into()),
            None => Ok(&self.config.database_url),
        }
    }

    /// The dialect, for offline SQL: it needs no database, only the URL's scheme.
    fn offline_dialect(&self) -> Result<Dialect, Error> {
        match &self.config.unresolved_url {
            Some(u) if !u.dialect_known => Err(u.error().into()),
            _ => Ok(self.dialect()),
        }
    }

    fn connect(&self, events: &mut dyn FnMut(Event)) -> Result<Box<dyn Driver>, Error> {
        self.live_url()?;
        Ok(runner::connect(
            &self.config.database_url,
            &self.config.connect,
            events,
        )?)
    }

    fn lock(&self, events: &mut dyn FnMut(Event)) -> Result<LockedSession, Error> {
        // Checked before connecting: a connection may create a SQLite file.
        self.live_url()?;
        let table = self.version_table()?;
        let driver = self.connect(events)?;
        Ok(LockedSession::lock(
            driver,
            table,
            Duration::from_secs_f64(self.config.connect.lock_timeout_seconds),
            events,
        )?
        .reconnect_with(&self.config.database_url, &self.config.connect))
    }

    /// The version table's rows, read without taking the run lock.
    pub fn current_rows(&self, events: &mut dyn FnMut(Event)) -> Result<Vec<String>, Error> {
        // An unset variable in the URL is the first thing to say.
        self.live_url()?;
        let table = self.version_table()?;
        let mut driver = self.connect(events)?;
        Ok(runner::read_heads(driver.as_mut(), &table)?)
    }

    /// The step that reverts what an earlier upgrade applied of `revision` (the first
    /// `entries.len()` statements of its upgrade section, as the journal records
    /// them) with the last as many statements of its downgrade section, which undo
    /// them when the downgrade undoes the upgrade statement by statement in reverse
    /// order: so only where both sections have as many statements, and the applied
    /// ones are still in the file as they were. The version table is left as it is
    /// (it never recorded the revision); the journal's rows of it are removed with
    /// the step.
    fn half_applied_revert(
        &self,
        revision: &str,
        entries: &[String],
        rows: &[String],
    ) -> Result<PreparedStep, Error> {
        let dialect = self.dialect();
        let table = self.version_table()?;
        let journal = crate::render::Journal::of(&table);
        let k = entries.len();
        let refuse = |why: String| {
            Error::Run(crate::runner::RunError::HalfApplied(Box::new(
                crate::runner::HalfApplied::new(revision, k, &table, why),
            )))
        };
        let Some(script) = self.scripts.get(revision) else {
            return Err(refuse("no file declares it".into()));
        };
        let up = script.statements(Direction::Upgrade, dialect)?;
        let down = script.statements(Direction::Downgrade, dialect)?;
        for (i, entry) in entries.iter().enumerate() {
            let hash = entry.split_once(':').map_or("", |(_, h)| h);
            if up
                .get(i)
                .is_none_or(|st| crate::render::Journal::hash(&st.sql) != hash)
            {
                return Err(refuse(format!(
                    "its file {} no longer holds statement {} of its upgrade as it was applied, so what to undo is not known",
                    script.path().display(),
                    i + 1
                )));
            }
        }
        if down.len() != up.len() {
            return Err(refuse(format!(
                "its downgrade section has {} statements for the {} of its upgrade, so which of them undo the applied ones is not known (they do when the downgrade undoes the upgrade statement by statement, in reverse order)",
                down.len(),
                up.len()
            )));
        }
        let at = if rows.is_empty() {
            "<base>".to_string()
        } else {
            rows.join(", ")
        };
        Ok(PreparedStep {
            revision: revision.to_string(),
            message: script.message().to_string(),
            direction: Direction::Downgrade,
            path: script.path().to_path_buf(),
            transactional: script.transaction(),
            statements: down[down.len() - k..].to_vec(),
            version_sql: vec![journal.delete(revision, "upgrade")],
            rows_after: rows.to_vec(),
            description: format!(
                "Running downgrade of the half-applied {revision} (its first {k} statements) -> {at}, {}",
                script.message()
            ),
            comment: format!("Running downgrade of the half-applied {revision}"),
            heads_before: rows.to_vec(),
        })
    }

    /// Turns a plan into prepared steps: statements, version SQL and messages, all
    /// checked before anything runs (a missing downgrade section stops here).
    fn prepare(&self, plan: &Plan, rows: &[String]) -> Result<Vec<PreparedStep>, Error> {
        let dialect = self.dialect();
        let table = self.version_table()?;
        let mut heads = Heads::from_rows(&self.graph, rows)?;
        let mut steps = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let id = step.revision.as_str();
            let script = self.scripts.get(id).ok_or_else(|| {
                Error::Invalid(format!(
                    "revision {id} has no file (internal inconsistency)"
                ))
            })?;
            if let Some(reason) = script.incomplete() {
                return Err(Error::Invalid(format!(
                    "{}: revision {id} is marked incomplete ({}): write its SQL in its upgrade and downgrade sections, then remove its `-- aludel:incomplete` line; nothing was run",
                    script.path().display(),
                    crate::text::one_line(reason, 400)
                )));
            }
            let statements = script.statements(step.direction, dialect)?;
            if script.transaction()
                && crate::render::capabilities(dialect).transactional_ddl
                && let Some((st, command)) = statements
                    .iter()
                    .find_map(|st| st.transaction_control().map(|c| (st, c)))
            {
                return Err(Error::Invalid(format!(
                    "{}:{}: {command} in revision {id}, which runs inside aludel's transaction (aludel commits each revision itself); remove it, or add `-- aludel:transaction false` to run the revision's statements one by one",
                    script.path().display(),
                    st.line
                )));
            }
            let heads_before: Vec<String> = heads
                .rows()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect();
            let change = heads.apply(&self.graph, step)?;
            let short = self.graph.step_short_line(step).unwrap_or_default();
            let long = self.graph.step_line(step).unwrap_or_default();
            steps.push(PreparedStep {
                revision: id.to_string(),
                message: script.message().to_string(),
                direction: step.direction,
                path: script.path().to_path_buf(),
                transactional: script.transaction(),
                statements,
                version_sql: version_sql(&table, &change),
                rows_after: heads
                    .rows()
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect(),
                description: format!("Running {long}"),
                comment: format!("Running {short}"),
                heads_before,
            });
        }
        Ok(steps)
    }

    fn run_plan(
        &self,
        direction: Direction,
        target: &Target,
        typed: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let mut session = self.lock(events)?;
        let rows = session.heads()?;
        // A downgrade first reverts what an earlier upgrade applied of a revision it
        // did not finish: that is the step `-1` takes.
        let mut steps = Vec::new();
        let mut target = Some(target.clone());
        if direction == Direction::Downgrade
            && let Some((revision, entries)) = session.half_applied()?
        {
            steps.push(self.half_applied_revert(&revision, &entries, &rows)?);
            target = match target {
                Some(Target::Relative {
                    branch: None,
                    anchor: None,
                    steps: -1,
                }) => None,
                Some(Target::Relative {
                    branch: None,
                    anchor: None,
                    steps: n,
                }) if n < -1 => Some(Target::Relative {
                    branch: None,
                    anchor: None,
                    steps: n + 1,
                }),
                other => other,
            };
        }
        if let Some(target) = &target {
            let plan = match direction {
                Direction::Upgrade => self.graph.upgrade(&rows, target)?,
                Direction::Downgrade => self.graph.downgrade(&rows, target)?,
            };
            if plan.is_empty() && steps.is_empty() {
                events(Event::NothingToDo {
                    message: self.idle(direction, target, typed, &rows).message(),
                });
            }
            steps.extend(self.prepare(&plan, &rows)?);
        }
        session.apply(&steps, self.policy(), events)?;
        let rows = session.heads()?;
        session.finish(events)?;
        Ok(rows)
    }

    /// `upgrade TARGET`: applies what is pending, under the run lock. Returns the
    /// version table's rows afterwards.
    pub fn upgrade(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let typed = target;
        let target = Target::parse(target)?;
        self.run_plan(Direction::Upgrade, &target, typed, events)
    }

    /// `downgrade TARGET`.
    pub fn downgrade(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let typed = target;
        let target = Target::parse(target)?;
        self.run_plan(Direction::Downgrade, &target, typed, events)
    }

    /// Why an upgrade or downgrade from `rows` has nothing to do.
    fn idle(&self, direction: Direction, target: &Target, typed: &str, rows: &[String]) -> Idle {
        let at = if rows.is_empty() {
            "base".to_string()
        } else {
            rows.join(", ")
        };
        // A plan is empty when the target is where the database stands, or lies on
        // the other side of it: below for an upgrade (`upgrade base`, `upgrade
        // REV-1`), above for a downgrade (`downgrade head` at an older revision).
        let reached = match self.graph.resolve(target, rows) {
            // A downgrade to base (`LABEL@base` of a branch nothing applied belongs
            // to) with nothing to do: that branch is at its base already; it is
            // never above the database.
            Ok(found) if found.is_empty() => rows.is_empty() || direction == Direction::Downgrade,
            Ok(found) => found.iter().all(|f| rows.iter().any(|r| r == f.as_str())),
            Err(_) => true,
        };
        let target = crate::text::value(typed);
        match (reached, direction) {
            (true, _) => Idle::AlreadyThere { at },
            (false, Direction::Upgrade) => Idle::Below { at, target },
            (false, Direction::Downgrade) => Idle::Above { at, target },
        }
    }

    /// The rows a range's lower end stands for in offline mode: `current` reads them
    /// from the database, the one thing `--sql` connects for.
    fn offline_start(
        &self,
        lower: Option<&Target>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        match lower {
            None | Some(Target::Base) => Ok(Vec::new()),
            Some(Target::Current) => self.current_rows(events).map_err(|e| {
                Error::Invalid(format!(
                    "`current` in a --sql range is read from the database's version table, and it could not be read: {}\n\
                     name the revision the database is at instead, e.g. `REV:head`",
                    crate::report::error_text(&e)
                ))
            }),
            Some(t) => Ok(self
                .graph
                .resolve(t, &[] as &[&str])?
                .into_iter()
                .map(|r| r.as_str().to_string())
                .collect()),
        }
    }

    fn offline(
        &self,
        direction: Direction,
        typed: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
        self.offline_dialect()?;
        let table = self.version_table()?;
        let (start, target) = match typed.split_once(':') {
            Some(_) => {
                let range = Range::parse(typed)?;
                let start = self.offline_start(range.lower.as_ref(), events)?;
                let end = range.upper.unwrap_or(match direction {
                    Direction::Upgrade => Target::Heads,
                    Direction::Downgrade => Target::Base,
                });
                (start, end)
            }
            None if direction == Direction::Downgrade => {
                return Err(Error::Invalid(format!(
                    "downgrade --sql needs a range FROM:TO, since it reads no database: e.g. `aludel downgrade head:{typed} --sql`, or `current:{typed}` to start where the database is",
                    typed = crate::text::value(typed)
                )));
            }
            None => (Vec::new(), Target::parse(typed)?),
        };
        let plan = match direction {
            Direction::Upgrade => self.graph.upgrade(&start, &target)?,
            Direction::Downgrade => self.graph.downgrade(&start, &target)?,
        };
        if plan.is_empty() {
            let upper = typed.split_once(':').map_or(typed, |(_, u)| u);
            match self.idle(direction, &target, upper, &start) {
                Idle::Below { .. } if typed.contains(':') => {
                    let shown = crate::text::value(typed);
                    return Err(Error::Invalid(format!(
                        "upgrade {shown} --sql goes down: its end is below its start; use `aludel downgrade {shown} --sql`"
                    )));
                }
                Idle::Above { .. } if typed.contains(':') => {
                    let shown = crate::text::value(typed);
                    return Err(Error::Invalid(format!(
                        "downgrade {shown} --sql goes up: its end is above its start; use `aludel upgrade {shown} --sql`"
                    )));
                }
                idle => events(Event::NothingToDo {
                    message: idle.message(),
                }),
            }
        }
        let steps = self.prepare(&plan, &start)?;
        let mut sink = SqlText::for_dialect(self.dialect());
        if start.is_empty() {
            sink.statement(&table.create());
        }
        runner::apply_steps(
            &mut sink,
            self.dialect(),
            &steps,
            self.policy(),
            &mut |_| {},
        )?;
        Ok(sink.into_string())
    }

    /// `upgrade TARGET --sql`: the SQL, without running it. `TARGET` may be a range
    /// `FROM:TO`; without one the script starts from an empty database. Nothing
    /// connects, except that `FROM` = `current` reads the database's version table
    /// (an error when it cannot be read), so the script is what is pending there.
    pub fn upgrade_sql(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
        self.offline(Direction::Upgrade, target, events)
    }

    /// `downgrade FROM:TO --sql` (`FROM` may be `current`, as for
    /// [`Project::upgrade_sql`]).
    pub fn downgrade_sql(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
        self.offline(Direction::Downgrade, target, events)
    }

    fn stamp_changes(
        &self,
        rows: &[String],
        targets: &[String],
        purge: bool,
    ) -> Result<Vec<HeadsChange>, Error> {
        let targets = targets
            .iter()
            .map(|t| Target::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        // With --purge the rows are not read (they may name revisions no file has),
        // unless a target counts from them (`-N`): then they must be known.
        let counts_from_rows = targets
            .iter()
            .any(|t| matches!(t, Target::Relative { anchor: None, .. }));
        let mut heads = if purge && !counts_from_rows {
            Heads::from_rows(&self.graph, &[] as &[&str])?
        } else {
            Heads::from_rows(&self.graph, rows)?
        };
        Ok(heads.stamp(&self.graph, &targets, purge)?)
    }

    fn stamp_step(
        &self,
        rows: &[String],
        after: &[String],
        changes: &[HeadsChange],
    ) -> Result<PreparedStep, Error> {
        let table = self.version_table()?;
        let short = format!("stamp_revision {} -> {}", rows.join(", "), after.join(", "));
        Ok(PreparedStep {
            revision: after.join(", "),
            message: String::new(),
            direction: Direction::Upgrade,
            path: self.config.versions_dir(),
            transactional: true,
            statements: Vec::new(),
            version_sql: changes
                .iter()
                .flat_map(|c| version_sql(&table, c))
                .collect(),
            description: format!("Running {short}"),
            comment: format!("Running {short}"),
            heads_before: rows.to_vec(),
            rows_after: after.to_vec(),
        })
    }

    /// `stamp TARGET... [--purge]`: sets the version table without running migrations.
    pub fn stamp(
        &self,
        targets: &[String],
        purge: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let mut session = self.lock(events)?;
        let rows = session.heads()?;
        let changes = self.stamp_changes(&rows, targets, purge)?;
        let after = rows_after(&rows, &changes);
        if !changes.is_empty() {
            let step = self.stamp_step(&rows, &after, &changes)?;
            session.apply(
                std::slice::from_ref(&step),
                TransactionPolicy::PerMigration,
                events,
            )?;
        }
        // The user says where the database is: what an earlier run left half-applied
        // is theirs now, and no run resumes it.
        session.forget_journal()?;
        let rows = session.heads()?;
        session.finish(events)?;
        Ok(rows)
    }

    /// `stamp TARGET... --sql`: the version-table SQL, from an empty table unless a
    /// target is a range `FROM:TO` (`FROM` may be `current`, as for
    /// [`Project::upgrade_sql`]). With several ranges the table starts with every
    /// `FROM`.
    pub fn stamp_sql(
        &self,
        targets: &[String],
        purge: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
        self.offline_dialect()?;
        let table = self.version_table()?;
        let mut start: Vec<String> = Vec::new();
        let mut plain = Vec::new();
        for t in targets {
            match t.split_once(':') {
                Some(_) => {
                    // Every range's start is a row of the table the script starts from
                    // (Alembic takes one start only).
                    let range = Range::parse(t)?;
                    for row in self.offline_start(range.lower.as_ref(), events)? {
                        if !start.contains(&row) {
                            start.push(row);
                        }
                    }
                    plain.push(range.upper.map(|u| u.to_string()).unwrap_or("heads".into()));
                }
                None => plain.push(t.clone()),
            }
        }
        // With no start, `-N` counts down from the head (of its branch), as it does
        // online from an empty table: `Heads::stamp` decides both.
        let changes = self.stamp_changes(&start, &plain, purge)?;
        let after = rows_after(&start, &changes);
        let mut sink = SqlText::for_dialect(self.dialect());
        if start.is_empty() {
            sink.statement(&table.create());
        }
        if !changes.is_empty() {
            let step = self.stamp_step(&start, &after, &changes)?;
            runner::apply_steps(
                &mut sink,
                self.dialect(),
                std::slice::from_ref(&step),
                TransactionPolicy::PerMigration,
                &mut |_| {},
            )?;
        }
        Ok(sink.into_string())
    }

    /// `current [--verbose]`: the database's revisions in Alembic's format.
    pub fn current(&self, verbose: bool, events: &mut dyn FnMut(Event)) -> Result<String, Error> {
        let rows = self.current_rows(events)?;
        self.current_text(&rows, verbose)
    }

    /// What `current` prints for version rows already read (see
    /// [`Project::current_rows`]).
    pub fn current_text(&self, rows: &[String], verbose: bool) -> Result<String, Error> {
        let mut out = Vec::new();
        if verbose {
            out.push(format!(
                "Current revision(s) for {}:",
                self.config.database_url
            ));
        }
        out.extend(self.graph.current_output(rows, verbose)?);
        Ok(join_lines(&out))
    }

    /// The version table's rows once every revision is applied, sorted: what a
    /// database at the heads holds (a head that another head depends on has no row).
    pub fn rows_at_heads(&self) -> Result<Vec<String>, Error> {
        let none: &[&str] = &[];
        let plan = self.graph.upgrade(none, &Target::Heads)?;
        let mut heads = Heads::from_rows(&self.graph, none)?;
        heads.apply_all(&self.graph, &plan.steps)?;
        let mut rows: Vec<String> = heads
            .rows()
            .into_iter()
            .map(|id| id.as_str().to_string())
            .collect();
        rows.sort();
        Ok(rows)
    }

    /// The database is a SQLite file that does not exist, in a folder that does (a
    /// missing folder is left to the driver, which reports it).
    fn sqlite_file_missing(&self) -> bool {
        match self.config.database_url.sqlite_location() {
            Some(SqliteLocation::File(path)) => {
                path.parent()
                    .is_none_or(|dir| dir.as_os_str().is_empty() || dir.is_dir())
                    && matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
            }
            _ => false,
        }
    }

    /// Whether version rows `current` are at the heads: `None` when they are,
    /// otherwise why not. Reads no database.
    pub fn compare_with_heads(&self, current: &[String]) -> Result<Option<NotAtHeads>, Error> {
        let expected = self.rows_at_heads()?;
        let unknown: Vec<String> = current
            .iter()
            .filter(|id| !self.graph.contains(id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Ok(Some(NotAtHeads::Unknown {
                current: current.to_vec(),
                unknown,
                expected,
            }));
        }
        if self.graph.upgrade(current, &Target::Heads)?.is_empty() {
            return Ok(None);
        }
        // `upgrade head` refuses whenever the graph has several heads, those only
        // depended upon included.
        let command = if self.graph.heads().len() > 1 {
            "aludel upgrade heads"
        } else {
            "aludel upgrade head"
        };
        Ok(Some(NotAtHeads::Behind {
            current: current.to_vec(),
            expected,
            command: command.to_string(),
        }))
    }

    /// `current --check-heads`: reads the version table without taking the run lock
    /// or creating the table (a database without one, or a SQLite file that does not
    /// exist, which is not created, is at no revision) and compares
    /// it with the heads. An `Err` means the question could not be answered (the
    /// database unreachable, a broken URL); a database not at the heads is
    /// [`HeadsCheck::mismatch`].
    pub fn check_heads(&self, events: &mut dyn FnMut(Event)) -> Result<HeadsCheck, Error> {
        let rows = if self.sqlite_file_missing() {
            // Opening it would create it; a database that does not exist yet is at
            // no revision. The settings are still checked as for any read.
            self.live_url()?;
            self.version_table()?;
            Vec::new()
        } else {
            self.current_rows(events)?
        };
        let mismatch = self.compare_with_heads(&rows)?;
        Ok(HeadsCheck { rows, mismatch })
    }

    fn info(&self, r: crate::graph::Revision<'_>, current: &[String]) -> RevisionInfo {
        let spec = r.spec();
        RevisionInfo {
            revision: r.id().as_str().to_string(),
            parents: spec.parents.clone(),
            depends_on: spec.depends_on.clone(),
            branch_labels: r.labels().to_vec(),
            message: spec.message.clone(),
            created: spec.created.clone(),
            path: spec.origin.path.display().to_string(),
            is_head: r.is_head(),
            is_branch_point: r.is_branch_point(),
            is_merge_point: r.is_merge_point(),
            is_current: current.iter().any(|c| c == r.id().as_str()),
        }
    }

    /// `current`, as data: the revisions the version table names.
    pub fn current_revisions(
        &self,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<RevisionInfo>, Error> {
        let rows = self.current_rows(events)?;
        self.describe_current(&rows)
    }

    /// The revisions version rows already read name (see [`Project::current_rows`]);
    /// a row naming no known revision is an error, as in `current`.
    pub fn describe_current(&self, rows: &[String]) -> Result<Vec<RevisionInfo>, Error> {
        Ok(self
            .graph
            .current_indices(rows)?
            .into_iter()
            .map(|i| self.info(self.graph.revision_at(i), rows))
            .collect())
    }

    /// `heads`, as data, in the order `heads` prints them.
    pub fn head_revisions(&self) -> Vec<RevisionInfo> {
        self.graph
            .heads()
            .into_iter()
            .filter_map(|id| self.graph.revision(id.as_str()))
            .map(|r| self.info(r, &[]))
            .collect()
    }

    /// `history`, as data, newest first; `indicate_current` reads the database.
    pub fn history_revisions(
        &self,
        range: Option<&str>,
        indicate_current: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<RevisionInfo>, Error> {
        let (range, rows) = self.history_range(range, indicate_current, events)?;
        let current = rows.clone().unwrap_or_default();
        let indices = self.graph.history_indices(&range, rows.as_deref())?;
        Ok(indices
            .into_iter()
            .map(|i| self.info(self.graph.revision_at(i), &current))
            .collect())
    }

    /// `show REV`, as data.
    pub fn show_revisions(
        &self,
        rev: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<RevisionInfo>, Error> {
        let (target, rows) = self.show_target(rev, events)?;
        Ok(self
            .graph
            .show_revisions(&target, &rows)?
            .into_iter()
            .filter_map(|id| self.graph.revision(id.as_str()))
            .map(|r| self.info(r, &rows))
            .collect())
    }

    /// The range `history` shows, and the version rows when it needs the database
    /// (`--indicate-current`, or `current` in the range).
    fn history_range(
        &self,
        range: Option<&str>,
        indicate_current: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<(Range, Option<Vec<String>>), Error> {
        let range = match range {
            Some(r) => Range::parse(r)?,
            None => Range::default(),
        };
        let needs_db = indicate_current
            || [&range.lower, &range.upper]
                .iter()
                .any(|t| matches!(t, Some(Target::Current)));
        let rows = if needs_db {
            Some(self.current_rows(events)?)
        } else {
            None
        };
        Ok((range, rows))
    }

    /// The target `show` resolves, and the version rows when it is `current`.
    fn show_target(
        &self,
        rev: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<(Target, Vec<String>), Error> {
        let target = Target::parse(rev)?;
        let rows = if matches!(target, Target::Current) {
            self.current_rows(events)?
        } else {
            Vec::new()
        };
        Ok((target, rows))
    }

    /// `history [-r RANGE] [--verbose] [--indicate-current]`.
    pub fn history(
        &self,
        range: Option<&str>,
        verbose: bool,
        indicate_current: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
        let (range, rows) = self.history_range(range, indicate_current, events)?;
        let lines =
            self.graph
                .history_output(&range, rows.as_deref(), verbose, indicate_current)?;
        Ok(join_lines(&lines))
    }

    /// `heads [--verbose]`.
    pub fn heads(&self, verbose: bool) -> Result<String, Error> {
        Ok(join_lines(&self.graph.heads_output(verbose, false)))
    }

    /// `branches [--verbose]`.
    pub fn branches(&self, verbose: bool) -> Result<String, Error> {
        Ok(join_lines(&self.graph.branches_output(verbose)))
    }

    /// `show REV`.
    pub fn show(&self, rev: &str, events: &mut dyn FnMut(Event)) -> Result<String, Error> {
        let (target, rows) = self.show_target(rev, events)?;
        Ok(join_lines(&self.graph.show_output(&target, &rows)?))
    }

    fn template(&self) -> Result<ScriptTemplate, Error> {
        Ok(ScriptTemplate::load_or_builtin(
            &self.config.template_path(),
        )?)
    }

    fn new_rev_id(&self, chosen: Option<&str>) -> Result<String, Error> {
        match chosen {
            Some(id) => {
                if self.graph.contains(id) {
                    return Err(Error::Invalid(format!(
                        "revision id {id} is already used by {}",
                        self.scripts
                            .get(id)
                            .map(|s| s.path().display().to_string())
                            .unwrap_or_default()
                    )));
                }
                Ok(id.to_string())
            }
            None => loop {
                let id = crate::script::generate_rev_id();
                if !self.graph.contains(&id) {
                    break Ok(id);
                }
            },
        }
    }

    /// Writes a new revision after checking the graph it makes: returns its path.
    fn write_revision(&self, mut new: NewRevision) -> Result<PathBuf, Error> {
        let tz = crate::config::time_zone(&self.config.timezone).map_err(|e| {
            Error::Invalid(format!("unknown time zone '{}': {e}", self.config.timezone))
        })?;
        let now = jiff::Timestamp::now();
        new.created = Some(now);
        new.ddl_commits_by_itself = !crate::render::capabilities(self.dialect()).transactional_ddl;
        let text = new.render(&self.template()?)?;
        // Validate the graph with the new revision before writing anything.
        let parsed = crate::script::Script::parse(
            self.config.versions_dir().join("<new revision>"),
            text.clone(),
        )?;
        let mut specs = self.scripts.specs();
        specs.push(parsed.spec());
        RevisionGraph::build(specs, id_width(&self.config))?;
        let name = crate::script::file_name(
            &self.config.file_template,
            &new.id,
            &new.message,
            now.to_zoned(tz),
        )?;
        Ok(crate::script::write_new(
            &self.config.versions_dir(),
            &name,
            &text,
        )?)
    }

    /// Resolves `--depends-on` values: labels stay labels, partial ids become full.
    fn resolve_depends_on(&self, values: &[String]) -> Result<Vec<String>, Error> {
        values
            .iter()
            .map(|v| {
                if self
                    .graph
                    .revisions()
                    .any(|r| r.spec().branch_labels.contains(v))
                {
                    return Ok(v.clone());
                }
                let found = self.graph.resolve(&Target::parse(v)?, &[] as &[&str])?;
                match found.as_slice() {
                    [one] => Ok(one.as_str().to_string()),
                    _ => Err(Error::Invalid(format!(
                        "--depends-on {v} must name one revision"
                    ))),
                }
            })
            .collect()
    }

    /// `revision -m MSG [--head REV] [--splice] ...`: writes a new revision file.
    pub fn revision(&self, options: &RevisionOptions) -> Result<PathBuf, Error> {
        let parents = self.new_parents(options)?;
        let new = self.new_revision(options, parents, String::new(), String::new())?;
        self.write_revision(new)
    }

    /// The new revision `options` describe, with its parents and sections.
    fn new_revision(
        &self,
        options: &RevisionOptions,
        parents: Vec<String>,
        upgrade: String,
        downgrade: String,
    ) -> Result<NewRevision, Error> {
        Ok(NewRevision {
            id: self.new_rev_id(options.rev_id.as_deref())?,
            parents,
            message: options.message.clone(),
            branch_labels: options.branch_labels.clone(),
            depends_on: self.resolve_depends_on(&options.depends_on)?,
            upgrade,
            downgrade,
            ..NewRevision::default()
        })
    }

    /// The parents of a new revision: `--head` (checked) or the single head.
    fn new_parents(&self, options: &RevisionOptions) -> Result<Vec<String>, Error> {
        Ok(match options.head.as_deref() {
            Some("base") => Vec::new(),
            Some(head) => {
                let found = self.graph.resolve(&Target::parse(head)?, &[] as &[&str])?;
                let [one] = found.as_slice() else {
                    return Err(Error::Invalid(format!(
                        "--head {head} names {} revisions; name exactly one",
                        found.len()
                    )));
                };
                let is_head = self
                    .graph
                    .revision(one.as_str())
                    .map(|r| r.is_head())
                    .unwrap_or(false);
                if !is_head && !options.splice {
                    return Err(Error::Invalid(format!(
                        "revision {one} is not a head revision; add --splice to start a new branch from it"
                    )));
                }
                vec![one.as_str().to_string()]
            }
            None => {
                let heads = self.graph.heads();
                if heads.len() > 1 {
                    return Err(Error::Invalid(format!(
                        "multiple heads are present ({}): name the one to build on with --head, or merge them first with `aludel merge -m MESSAGE heads`",
                        heads
                            .iter()
                            .map(|h| h.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                heads.iter().map(|h| h.as_str().to_string()).collect()
            }
        })
    }

    /// What introspection reads: `include_schemas`, without `exclude_tables` and the
    /// version table.
    fn inspect_scope(&self) -> crate::driver::InspectScope {
        let a = &self.config.autogenerate;
        let mut exclude = a.exclude_tables.clone();
        exclude.push(self.config.version_table.clone());
        exclude.push(crate::render::Journal::table_name(
            &self.config.version_table,
        ));
        crate::driver::InspectScope {
            schemas: a.include_schemas.clone(),
            exclude_tables: exclude,
        }
    }

    /// Opens a shadow database (see [`crate::autogen`]) for the schemas of `scope`:
    /// `shadow_database_url` when set, else a new database on `shadow_server_url`'s
    /// server, else beside the project's.
    fn shadow(
        &self,
        shared: bool,
        scope: &crate::driver::InspectScope,
    ) -> Result<crate::autogen::Shadow, Error> {
        let a = &self.config.autogenerate;
        let parse = |key: &str, url: &str| {
            url.parse::<crate::url::DatabaseUrl>()
                .map_err(|e| Error::Invalid(format!("[autogenerate] {key}: {e}")))
        };
        let given = match &a.shadow_database_url {
            Some(u) => Some(parse("shadow_database_url", u)?),
            None => None,
        };
        let live = self.live_url()?;
        let server = match &a.shadow_server_url {
            Some(u) => {
                let server = parse("shadow_server_url", u)?;
                if server.dialect() != live.dialect() || live.sqlite_location().is_some() {
                    return Err(Error::Invalid(format!(
                        "[autogenerate] shadow_server_url: it must be a server of the database's own kind ({}); a SQLite project's shadow database is in memory",
                        live.dialect()
                    )));
                }
                server
            }
            None => live.clone(),
        };
        // The same connector serves later drops, when the project may be gone.
        let options = self.connect_once_options();
        let connect: Arc<crate::autogen::Reconnector> =
            Arc::new(move |url: &crate::url::DatabaseUrl| connect_with(url, &options));
        let cleanup = crate::autogen::ShadowCleanup::new(Arc::clone(&connect), &self.left_shadows);
        Ok(crate::autogen::Shadow::open(
            &server,
            given.as_ref(),
            scope,
            shared,
            &mut |url: &crate::url::DatabaseUrl| connect(url),
            &cleanup,
        )?)
    }

    /// Refuses a shadow database on a configured server (`shadow_server_url`,
    /// `shadow_database_url`) of another major version than the database's
    /// (`server_version`, its `version()`): the desired schema would be read as that
    /// version prints it.
    fn same_major_version(
        &self,
        shadow: &mut crate::autogen::Shadow,
        server_version: &str,
    ) -> Result<(), Error> {
        let a = &self.config.autogenerate;
        let setting = if a.shadow_server_url.is_some() {
            "shadow_server_url"
        } else if a.shadow_database_url.is_some() {
            "shadow_database_url"
        } else {
            return Ok(());
        };
        let version = shadow.driver()?.server_version().map_err(|error| {
            crate::autogen::AutogenError::Inspect {
                which: "the shadow database",
                error,
            }
        })?;
        let (shadow, live) = (
            crate::autogen::server_major(&version),
            crate::autogen::server_major(server_version),
        );
        if shadow != live {
            return Err(crate::autogen::AutogenError::ShadowVersion {
                setting,
                shadow,
                live,
            }
            .into());
        }
        Ok(())
    }

    /// Opens one connection to `url` as `[connect]` says, without retries or events:
    /// to a shadow database, or to the database again for a second reading.
    fn connect_once(
        &self,
        url: &crate::url::DatabaseUrl,
    ) -> Result<Box<dyn Driver>, crate::driver::DbError> {
        connect_with(url, &self.connect_once_options())
    }

    /// The options of [`Project::connect_once`].
    fn connect_once_options(&self) -> crate::driver::ConnectOptions {
        crate::driver::ConnectOptions {
            busy_timeout: Duration::from_secs(5),
            ..crate::driver::ConnectOptions::from(&self.config.connect)
        }
    }

    /// Reads the schemas of `scope` of the desired schema through a shadow database,
    /// or from the cache when nothing that decides it changed (`server_version` is the
    /// live server's), and the live database with `read_live` on another thread: beside
    /// the cache's reading when an entry is there; where a new shadow database is made
    /// and loaded, once the load is over, while that database is dropped: the load
    /// keeps every core of a small server busy, and the drop (the server removing
    /// thousands of files) leaves the reading out of the run's time.
    /// With a configured shadow database the live one is read first. A failure to read
    /// the live database is reported before one of the desired schema, as when one
    /// came after the other.
    fn desired(
        &self,
        server_version: &str,
        scope: &crate::driver::InspectScope,
        read_live: impl FnOnce() -> Result<crate::driver::Inspection, Error> + Send,
    ) -> Result<(crate::driver::Inspection, crate::driver::Inspection), Error> {
        use crate::autogen::DesiredCache;
        let read_desired = |live_may_start: &dyn Fn()| -> Result<_, Error> {
            let statements = self.desired_statements()?;
            let cache = self.config.cache_dir.as_ref().map(|dir| {
                let key =
                    DesiredCache::key_text(self.dialect(), server_version, scope, &statements);
                DesiredCache::new(dir, key)
            });
            // An entry likely to serve is read beside the live database (`load` serves
            // only such an entry).
            if cache.as_ref().is_some_and(DesiredCache::likely_serves) {
                live_may_start();
            }
            if let Some(found) = cache.as_ref().and_then(DesiredCache::load) {
                return Ok(found);
            }
            let loaded = self.load_desired(&statements, scope, server_version);
            live_may_start();
            let (inspection, shadow) = loaded?;
            if let Some(cache) = &cache {
                cache.store(&inspection);
            }
            drop(shadow);
            Ok(inspection)
        };
        if self.config.autogenerate.shadow_database_url.is_some() {
            // A configured shadow database is emptied before the desired schema loads
            // into it, and may be the very database read as live (`check --migrations`
            // migrates it): that reading comes first.
            let current = read_live()?;
            return Ok((current, read_desired(&|| ())?));
        }
        let (live, desired) = std::thread::scope(|threads| {
            let (start, started) = std::sync::mpsc::channel::<()>();
            let live = threads.spawn(move || {
                // A closed channel (the desired schema's reading panicked) starts it
                // too; every other way out of that reading sends the signal.
                let _ = started.recv();
                read_live()
            });
            let start_live = || {
                let _ = start.send(());
            };
            let desired = read_desired(&start_live);
            start_live();
            (live.join(), desired)
        });
        let current = live.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((current, desired?))
    }

    /// The desired schema's `statements` loaded into a new shadow database and read in
    /// `scope` as aludel's revisions would leave it (for a database whose `version()`
    /// is `server_version`).
    fn load_desired(
        &self,
        statements: &[(std::path::PathBuf, crate::script::Statement)],
        scope: &crate::driver::InspectScope,
        server_version: &str,
    ) -> Result<(crate::driver::Inspection, crate::autogen::Shadow), Error> {
        use crate::autogen::{AutogenError, SideBySide};
        let mut shadow = self.shadow(false, scope)?;
        self.same_major_version(&mut shadow, server_version)?;
        let inspect = |shadow: &mut crate::autogen::Shadow| {
            shadow
                .driver()?
                .inspect(scope)
                .map_err(|error| AutogenError::Inspect {
                    which: "the shadow database",
                    error,
                })
        };
        // Side by side where it can be; one after the other where that was not tried,
        // failed (which the serial load then reports) or may have named an object
        // otherwise.
        let connect = |url: &crate::url::DatabaseUrl| self.connect_once(url);
        let mut loaded = None;
        match shadow.load_side_by_side(statements, &connect) {
            SideBySide::NotTried => {}
            // A new shadow database, not one emptied by renaming its schemas away:
            // what the file made outside them (an extension) would still be there.
            SideBySide::Abandoned => {
                drop(shadow);
                shadow = self.shadow(false, scope)?;
            }
            SideBySide::Loaded => {
                let inspection = inspect(&mut shadow)?;
                if crate::autogen::side_by_side_doubtful(&inspection) {
                    drop(shadow);
                    shadow = self.shadow(false, scope)?;
                } else {
                    loaded = Some(inspection);
                }
            }
        }
        let first = match loaded {
            Some(first) => first,
            None => {
                shadow.load(statements)?;
                inspect(&mut shadow)?
            }
        };
        // Read back as aludel writes it, which is how the live database will hold it:
        // on PostgreSQL written onto what is loaded; where that cannot be done, and on
        // SQLite, into the shadow database emptied.
        let mut first = first;
        let in_place =
            crate::autogen::written_in_place(&mut first, shadow.driver()?, scope).is_ok();
        Ok(match in_place {
            true => (first, shadow),
            false => {
                let mut again = self.renewed(shadow, scope)?;
                crate::autogen::create_extensions(again.driver()?, statements)?;
                let inspection =
                    crate::autogen::as_written(first, again.driver()?, scope, self.dialect())?;
                (inspection, again)
            }
        })
    }

    /// `shadow` emptied for another use, or a new shadow database when it cannot be.
    fn renewed(
        &self,
        mut shadow: crate::autogen::Shadow,
        scope: &crate::driver::InspectScope,
    ) -> Result<crate::autogen::Shadow, Error> {
        if shadow.renew(scope) {
            return Ok(shadow);
        }
        // The old one goes first: a configured shadow database is taken in turns.
        drop(shadow);
        self.shadow(false, scope)
    }

    /// Reads and splits the desired schema's files, so that a missing or broken one is
    /// reported before anything slow runs (a connection, every revision applied to a
    /// shadow database). They are read again where they are used: it is cheap.
    fn desired_schema_readable(&self) -> Result<(), Error> {
        self.desired_statements()?;
        Ok(())
    }

    /// The desired schema's statements, with their file (or the command's output)
    /// and line: from `[autogenerate] schema_command`'s output (the command runs once
    /// for the project), else from `schema`'s files.
    fn desired_statements(
        &self,
    ) -> Result<Vec<(std::path::PathBuf, crate::script::Statement)>, Error> {
        let autogenerate = &self.config.autogenerate;
        let Some(command) = &autogenerate.schema_command else {
            return Ok(crate::autogen::desired_statements(
                &autogenerate.schema,
                self.dialect(),
            )?);
        };
        let mut output = self
            .schema_output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = match &mut *output {
            Some(text) => text,
            None => output.insert(crate::autogen::schema_command::run(
                command,
                &self.config.root,
            )?),
        };
        Ok(crate::autogen::desired_statements_printed(
            command,
            text,
            self.dialect(),
        )?)
    }

    /// Compares the database (through `driver`, connected to `url`) with the desired
    /// schema.
    fn compare(
        &self,
        driver: &mut dyn Driver,
        url: &crate::url::DatabaseUrl,
        renames: &crate::diff::Renames,
    ) -> Result<crate::autogen::Comparison, Error> {
        let live_scope = self.inspect_scope();
        let live_error = |error| crate::autogen::AutogenError::Inspect {
            which: "the database",
            error,
        };
        let server_version =
            driver
                .server_version()
                .map_err(|error| crate::autogen::AutogenError::Inspect {
                    which: "the database",
                    error,
                })?;
        // The desired schema is read in the schemas the live database is read in:
        // with no `include_schemas`, the database's default schema, whatever the
        // shadow database's session would call its own.
        let scope = crate::driver::InspectScope {
            schemas: if live_scope.schemas.is_empty() {
                driver.inspected_schemas(&live_scope).map_err(live_error)?
            } else {
                live_scope.schemas.clone()
            },
            ..live_scope.clone()
        };
        let read_live = || {
            let read = match driver.inspect(&live_scope) {
                // The connection waited, idle, while the desired schema was loaded; a
                // server or proxy that ends idle sessions may have ended it. A reading
                // is safe to repeat: once, on a new connection.
                Err(error) if error.connection_lost() => self
                    .connect_once(url)
                    .and_then(|mut fresh| fresh.inspect(&live_scope)),
                read => read,
            };
            Ok(read.map_err(live_error)?)
        };
        let (current, desired) = self.desired(&server_version, &scope, read_live)?;
        let differing = crate::autogen::differing_expressions(&current.catalog, &desired.catalog);
        // Settling is a refinement: without a shadow database to do it in, the
        // database's own forms are compared, as when settling fails. The one the
        // desired schema was loaded into is gone by now (see `desired`).
        let current = if differing.is_empty() {
            current
        } else {
            let shadow = self.shadow(false, &scope).and_then(|mut shadow| {
                self.same_major_version(&mut shadow, &server_version)?;
                Ok(shadow)
            });
            match shadow {
                // Settled on another major version, the forms would differ anew.
                Err(e @ Error::Autogen(crate::autogen::AutogenError::ShadowVersion { .. })) => {
                    return Err(e);
                }
                Ok(mut shadow) => match shadow.driver() {
                    Ok(driver) => crate::autogen::settle_expressions(
                        current,
                        &differing,
                        driver,
                        &scope,
                        self.dialect(),
                    ),
                    Err(_) => current,
                },
                Err(_) => current,
            }
        };
        Ok(crate::autogen::compare(
            current,
            desired,
            &driver.default_schema(),
            renames,
        ))
    }

    /// `revision --autogenerate`: compares the database, which must be at the new
    /// revision's parents, with the desired schema and writes the difference as a
    /// revision whose downgrade undoes it. Writes nothing when nothing differs, unless
    /// `allow_empty`.
    pub fn revision_autogenerate(
        &self,
        options: &RevisionOptions,
        renames: &[String],
        allow_empty: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<Autogenerated, Error> {
        let written = self.write_autogenerated(options, renames, allow_empty, events);
        self.report_left_shadows(events);
        written
    }

    /// Reports each shadow database that could not be dropped
    /// ([`Event::ShadowNotDropped`]), once: after the command's work, whether it
    /// succeeded or not.
    fn report_left_shadows(&self, events: &mut dyn FnMut(Event)) {
        for shadow in self.left_shadows.take() {
            events(Event::ShadowNotDropped { shadow });
        }
    }

    fn write_autogenerated(
        &self,
        options: &RevisionOptions,
        renames: &[String],
        allow_empty: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<Autogenerated, Error> {
        let mut declared = crate::diff::Renames::default();
        for r in renames {
            declared.add(r).map_err(Error::Invalid)?;
        }
        let parents = self.new_parents(options)?;
        self.desired_schema_readable()?;
        let mut driver = self.connect(events)?;
        let mut rows = runner::read_heads(driver.as_mut(), &self.version_table()?)?;
        rows.sort();
        let mut want = parents.clone();
        want.sort();
        if rows != want {
            let show = |v: &[String]| {
                if v.is_empty() {
                    "<base>".to_string()
                } else {
                    v.join(", ")
                }
            };
            return Err(Error::Invalid(format!(
                "the database is at {}, not at {}: run `aludel upgrade head` first, so that the new revision starts where the last one ends",
                show(&rows),
                show(&want)
            )));
        }
        let comparison = self.compare(driver.as_mut(), &self.config.database_url, &declared)?;
        let skipped = comparison.skipped_notes();
        let changes: Vec<String> = comparison.diff.ops.iter().map(|o| o.to_string()).collect();
        let suggestions = comparison.diff.suggestions.clone();
        if comparison.diff.is_empty() && !allow_empty {
            return Ok(Autogenerated {
                path: None,
                changes,
                suggestions,
                skipped,
            });
        }
        let sections = crate::autogen::sections(&comparison, self.dialect())?;
        let new = self.new_revision(options, parents, sections.upgrade, sections.downgrade)?;
        Ok(Autogenerated {
            path: Some(self.write_revision(new)?),
            changes,
            suggestions,
            skipped,
        })
    }

    /// `check`: what autogenerate would write against the database; with
    /// `migrations`, against a shadow database that every revision was applied to,
    /// so that CI catches a forgotten revision without any live database.
    pub fn check(
        &self,
        migrations: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<CheckReport, Error> {
        let report = self.check_drift(migrations, events);
        self.report_left_shadows(events);
        report
    }

    fn check_drift(
        &self,
        migrations: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<CheckReport, Error> {
        // Before the database is reached or any revision is applied to a shadow one.
        self.desired_schema_readable()?;
        let comparison = if migrations {
            let mut shadow = self.shadow(true, &self.inspect_scope())?;
            let applied = self.with_database_url(shadow.url().clone());
            applied.upgrade("heads", events)?;
            let url = shadow.url().clone();
            self.compare(shadow.driver()?, &url, &crate::diff::Renames::default())?
        } else {
            let mut driver = self.connect(events)?;
            self.compare(
                driver.as_mut(),
                &self.config.database_url,
                &crate::diff::Renames::default(),
            )?
        };
        Ok(CheckReport {
            changes: comparison.diff.ops.iter().map(|o| o.to_string()).collect(),
            suggestions: comparison.diff.suggestions.clone(),
            skipped: comparison.skipped_notes(),
        })
    }

    /// `merge -m MSG REV...`: writes a revision whose parents are the given revisions.
    ///
    /// As in Alembic, `heads` means the real heads (what `upgrade heads` reaches): a
    /// revision only depended on is merged when named. Each revision must be a head
    /// (no revision revises it) unless `splice` is set. A merge of fewer than two
    /// revisions is refused (Alembic would write an ordinary revision).
    pub fn merge(&self, options: &MergeOptions) -> Result<PathBuf, Error> {
        let mut parents: Vec<String> = Vec::new();
        let mut named_heads = false;
        for r in &options.revisions {
            let target = Target::parse(r)?;
            named_heads |= target == Target::Heads;
            for id in self.graph.resolve(&target, &[] as &[&str])? {
                let id = id.as_str().to_string();
                if !parents.contains(&id) {
                    parents.push(id);
                }
            }
        }
        if !options.splice
            && let Some(not_head) = parents
                .iter()
                .find(|p| self.graph.revision(p).is_some_and(|r| !r.is_head()))
        {
            return Err(Error::Invalid(format!(
                "revision {not_head} is not a head revision; add --splice to merge it anyway, starting a new branch from it"
            )));
        }
        if parents.len() < 2 {
            // `heads` leaves out effective heads: say how to merge them.
            let effective: Vec<&str> = self
                .graph
                .heads()
                .into_iter()
                .filter(|h| !parents.iter().any(|p| p == h.as_str()))
                .map(crate::graph::RevisionId::as_str)
                .collect();
            let hint = if named_heads && !effective.is_empty() {
                format!(
                    "; 'heads' means the real heads, and {} {} only depended on: name {} to merge {}, e.g. `aludel merge -m MESSAGE {} {}`",
                    effective.join(", "),
                    if effective.len() == 1 { "is" } else { "are" },
                    if effective.len() == 1 { "it" } else { "them" },
                    if effective.len() == 1 { "it" } else { "them" },
                    effective.join(" "),
                    parents.join(" ")
                )
            } else {
                String::new()
            };
            return Err(Error::Invalid(format!(
                "nothing to merge: {} name{} {} revision{}; a merge needs two or more{hint}",
                options.revisions.join(" "),
                if options.revisions.len() == 1 {
                    "s"
                } else {
                    ""
                },
                parents.len(),
                if parents.len() == 1 { "" } else { "s" }
            )));
        }
        let new = NewRevision {
            id: self.new_rev_id(options.rev_id.as_deref())?,
            parents,
            message: options.message.clone(),
            branch_labels: options.branch_labels.clone(),
            ..NewRevision::default()
        };
        self.write_revision(new)
    }

    /// Runs the `[[hooks.post_write]]` commands on a new file. Returns a message per
    /// failed hook; the file is kept either way.
    pub fn run_post_write_hooks(&self, path: &Path) -> Vec<String> {
        let mut failures = Vec::new();
        for hook in &self.config.post_write_hooks {
            let args: Vec<String> = hook
                .command
                .iter()
                .map(|a| a.replace("{path}", &path.display().to_string()))
                .collect();
            let shown = hook
                .as_written
                .iter()
                .map(|a| a.replace("{path}", &path.display().to_string()))
                .collect::<Vec<_>>()
                .join(" ");
            let Some((program, rest)) = args.split_first() else {
                continue;
            };
            match std::process::Command::new(program)
                .args(rest)
                .current_dir(&self.config.root)
                .output()
            {
                Ok(out) if out.status.success() => {}
                Ok(out) => failures.push(format!(
                    "post-write hook `{shown}` failed ({}): {}; the file was kept",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => failures.push(format!(
                    "post-write hook `{shown}` could not start: {e}; the file was kept"
                )),
            }
        }
        failures
    }
}

/// How long a revision id may be: the width of the version table's column. Alembic
/// makes `alembic_version.version_num` `varchar(32)`, so while a project keeps that
/// table (one taken over from Alembic), a longer id would not fit the rows Alembic's
/// table holds; aludel's own table holds 64.
fn id_width(config: &Config) -> usize {
    if config.version_table == "alembic_version" {
        32
    } else {
        VersionTable::VERSION_NUM_LENGTH
    }
}

/// Why an upgrade or downgrade has nothing to do.
#[derive(Debug)]
enum Idle {
    /// The database is at the target.
    AlreadyThere {
        /// Its rows, for the message.
        at: String,
    },
    /// An upgrade to a target applied below where the database is.
    Below {
        /// Its rows, for the message.
        at: String,
        /// The target as typed, cut for the message.
        target: String,
    },
    /// A downgrade to a target not applied yet, above where the database is.
    Above {
        /// Its rows, for the message.
        at: String,
        /// The target as typed, cut for the message.
        target: String,
    },
}

impl Idle {
    fn message(&self) -> String {
        match self {
            Idle::AlreadyThere { at } => {
                format!("Nothing to do: the database is already at {at}")
            }
            Idle::Below { at, target } => format!(
                "Nothing to do: the database is at {at}, above {target}; upgrade never goes down: use `aludel downgrade {target}` to go there"
            ),
            Idle::Above { at, target } => format!(
                "Nothing to do: the database is at {at}, below {target}; downgrade never goes up: use `aludel upgrade {target}` to go there"
            ),
        }
    }
}

/// The version-table statements of one change.
fn version_sql(table: &VersionTable, change: &HeadsChange) -> Vec<String> {
    change
        .row_ops()
        .into_iter()
        .map(|op| match op {
            RowOp::Insert(r) => table.insert(r.as_str()),
            RowOp::Delete(r) => table.delete(r.as_str()),
            RowOp::Update { from, to } => table.update(from.as_str(), to.as_str()),
            RowOp::DeleteAll => table.delete_all(),
        })
        .collect()
}

/// The rows after `changes`, for the stamp progress line.
fn rows_after(rows: &[String], changes: &[HeadsChange]) -> Vec<String> {
    let mut out: Vec<String> = rows.to_vec();
    for change in changes {
        for op in change.row_ops() {
            match op {
                RowOp::Insert(r) => out.push(r.as_str().to_string()),
                RowOp::Delete(r) => out.retain(|x| x != r.as_str()),
                RowOp::Update { from, to } => {
                    for x in out.iter_mut().filter(|x| *x == from.as_str()) {
                        *x = to.as_str().to_string();
                    }
                }
                RowOp::DeleteAll => out.clear(),
            }
        }
    }
    out
}

/// Each entry followed by a newline, as Alembic's `print_stdout` prints it: an entry
/// that ends with a newline itself (a verbose entry, a `branches` block) leaves a blank
/// line after it, the last one included.
fn join_lines(lines: &[String]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One connection to `url` with `options`, its failure as a database error (what a
/// [`crate::autogen::Connector`] gives).
fn connect_with(
    url: &crate::url::DatabaseUrl,
    options: &crate::driver::ConnectOptions,
) -> Result<Box<dyn Driver>, crate::driver::DbError> {
    crate::driver::connect(url, options).map_err(|e| crate::driver::DbError::new(e.to_string()))
}
