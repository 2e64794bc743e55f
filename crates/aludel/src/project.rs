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
use crate::url::Dialect;

/// Any failure of a command, with the context a user needs to act.
#[derive(Debug, thiserror::Error)]
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
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The command cannot do what was asked; the message says what to type instead.
    #[error("{0}")]
    Invalid(String),
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
    /// The revisions to merge (`heads` for every head).
    pub revisions: Vec<String>,
    /// The message.
    pub message: String,
    /// A chosen id instead of a generated one.
    pub rev_id: Option<String>,
    /// Branch labels of the merge revision.
    pub branch_labels: Vec<String>,
}

/// Creates `aludel.toml` and `migrations/versions/` in `dir`; returns what it created.
/// An existing config file is an error: nothing is overwritten.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
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

/// One project: its configuration, revision files and graph.
#[derive(Debug)]
pub struct Project {
    config: Config,
    scripts: ScriptDir,
    graph: RevisionGraph,
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
        let graph =
            RevisionGraph::build_shared(scripts.shared_specs(), VersionTable::VERSION_NUM_LENGTH)?;
        Ok(Project {
            config,
            scripts,
            graph,
        })
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

    fn version_table(&self) -> VersionTable {
        VersionTable {
            name: self.config.version_table.clone(),
            schema: self.config.version_table_schema.clone(),
            dialect: self.dialect(),
        }
    }

    fn policy(&self) -> TransactionPolicy {
        if self.config.transaction_per_migration {
            TransactionPolicy::PerMigration
        } else {
            TransactionPolicy::WholeRun
        }
    }

    fn connect(&self, events: &mut dyn FnMut(Event)) -> Result<Box<dyn Driver>, Error> {
        Ok(runner::connect(
            &self.config.database_url,
            &self.config.connect,
            events,
        )?)
    }

    fn lock(&self, events: &mut dyn FnMut(Event)) -> Result<LockedSession, Error> {
        let driver = self.connect(events)?;
        Ok(LockedSession::lock(
            driver,
            self.version_table(),
            Duration::from_secs_f64(self.config.connect.lock_timeout_seconds),
            events,
        )?)
    }

    /// The version table's rows, read without taking the run lock.
    pub fn current_rows(&self, events: &mut dyn FnMut(Event)) -> Result<Vec<String>, Error> {
        let mut driver = self.connect(events)?;
        Ok(runner::read_heads(driver.as_mut(), &self.version_table())?)
    }

    /// Turns a plan into prepared steps: statements, version SQL and messages, all
    /// checked before anything runs (a missing downgrade section stops here).
    fn prepare(&self, plan: &Plan, rows: &[String]) -> Result<Vec<PreparedStep>, Error> {
        let dialect = self.dialect();
        let table = self.version_table();
        let mut heads = Heads::from_rows(&self.graph, rows)?;
        let mut steps = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let id = step.revision.as_str();
            let script = self.scripts.get(id).ok_or_else(|| {
                Error::Invalid(format!(
                    "revision {id} has no file (internal inconsistency)"
                ))
            })?;
            let statements = script.statements(step.direction, dialect)?;
            if script.transaction() && crate::render::capabilities(dialect).transactional_ddl {
                if let Some((st, command)) = statements
                    .iter()
                    .find_map(|st| st.transaction_control().map(|c| (st, c)))
                {
                    return Err(Error::Invalid(format!(
                        "{}:{}: {command} in revision {id}, which runs inside aludel's transaction (aludel commits each revision itself); remove it, or add `-- aludel:transaction false` to run the revision's statements one by one",
                        script.path().display(),
                        st.line
                    )));
                }
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
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let mut session = self.lock(events)?;
        let rows = session.heads()?;
        let plan = match direction {
            Direction::Upgrade => self.graph.upgrade(&rows, target)?,
            Direction::Downgrade => self.graph.downgrade(&rows, target)?,
        };
        let steps = self.prepare(&plan, &rows)?;
        session.apply(&steps, self.policy(), events)?;
        let rows = session.heads()?;
        session.finish()?;
        Ok(rows)
    }

    /// `upgrade TARGET`: applies what is pending, under the run lock. Returns the
    /// version table's rows afterwards.
    pub fn upgrade(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let target = Target::parse(target)?;
        self.run_plan(Direction::Upgrade, &target, events)
    }

    /// `downgrade TARGET`.
    pub fn downgrade(
        &self,
        target: &str,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        let target = Target::parse(target)?;
        self.run_plan(Direction::Downgrade, &target, events)
    }

    /// The rows a range's lower end stands for in offline mode.
    fn offline_start(&self, lower: Option<&Target>) -> Result<Vec<String>, Error> {
        match lower {
            None | Some(Target::Base) => Ok(Vec::new()),
            Some(t) => Ok(self
                .graph
                .resolve(t, &[] as &[&str])?
                .into_iter()
                .map(|r| r.as_str().to_string())
                .collect()),
        }
    }

    fn offline(&self, direction: Direction, target: &str) -> Result<String, Error> {
        let (start, target) = match target.split_once(':') {
            Some(_) => {
                let range = Range::parse(target)?;
                let start = self.offline_start(range.lower.as_ref())?;
                let end = range.upper.unwrap_or(match direction {
                    Direction::Upgrade => Target::Heads,
                    Direction::Downgrade => Target::Base,
                });
                (start, end)
            }
            None if direction == Direction::Downgrade => {
                return Err(Error::Invalid(format!(
                    "downgrade --sql needs a range FROM:TO, since it reads no database: e.g. `aludel downgrade head:{target} --sql`"
                )));
            }
            None => (Vec::new(), Target::parse(target)?),
        };
        let plan = match direction {
            Direction::Upgrade => self.graph.upgrade(&start, &target)?,
            Direction::Downgrade => self.graph.downgrade(&start, &target)?,
        };
        let steps = self.prepare(&plan, &start)?;
        let mut sink = SqlText::new();
        if start.is_empty() {
            sink.statement(&self.version_table().create());
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

    /// `upgrade TARGET --sql`: the SQL, without connecting. `TARGET` may be a range
    /// `FROM:TO`; without one the script starts from an empty database.
    pub fn upgrade_sql(&self, target: &str) -> Result<String, Error> {
        self.offline(Direction::Upgrade, target)
    }

    /// `downgrade FROM:TO --sql`.
    pub fn downgrade_sql(&self, target: &str) -> Result<String, Error> {
        self.offline(Direction::Downgrade, target)
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
        // With --purge the rows are not read: they may name revisions no file has.
        let mut heads = if purge {
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
    ) -> PreparedStep {
        let table = self.version_table();
        let short = format!("stamp_revision {} -> {}", rows.join(", "), after.join(", "));
        PreparedStep {
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
        }
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
            let step = self.stamp_step(&rows, &after, &changes);
            session.apply(
                std::slice::from_ref(&step),
                TransactionPolicy::PerMigration,
                events,
            )?;
        }
        let rows = session.heads()?;
        session.finish()?;
        Ok(rows)
    }

    /// `stamp TARGET... --sql`: the version-table SQL, from an empty table unless a
    /// target is a range `FROM:TO`.
    pub fn stamp_sql(&self, targets: &[String], purge: bool) -> Result<String, Error> {
        let mut start = Vec::new();
        let mut plain = Vec::new();
        for t in targets {
            match t.split_once(':') {
                Some(_) => {
                    let range = Range::parse(t)?;
                    start = self.offline_start(range.lower.as_ref())?;
                    plain.push(range.upper.map(|u| u.to_string()).unwrap_or("heads".into()));
                }
                None => plain.push(t.clone()),
            }
        }
        let changes = self.stamp_changes(&start, &plain, purge)?;
        let after = rows_after(&start, &changes);
        let mut sink = SqlText::new();
        if start.is_empty() {
            sink.statement(&self.version_table().create());
        }
        if !changes.is_empty() {
            let step = self.stamp_step(&start, &after, &changes);
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
        let mut out = Vec::new();
        if verbose {
            out.push(format!(
                "Current revision(s) for {}:",
                self.config.database_url
            ));
        }
        out.extend(self.graph.current_output(&rows, verbose)?);
        Ok(join_lines(&out))
    }

    /// `history [-r RANGE] [--verbose] [--indicate-current]`.
    pub fn history(
        &self,
        range: Option<&str>,
        verbose: bool,
        indicate_current: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, Error> {
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
        let target = Target::parse(rev)?;
        let rows = if matches!(target, Target::Current) {
            self.current_rows(events)?
        } else {
            Vec::new()
        };
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
        let text = new.render(&self.template()?)?;
        // Validate the graph with the new revision before writing anything.
        let parsed = crate::script::Script::parse(
            self.config.versions_dir().join("<new revision>"),
            text.clone(),
        )?;
        let mut specs = self.scripts.specs();
        specs.push(parsed.spec());
        RevisionGraph::build(specs, VersionTable::VERSION_NUM_LENGTH)?;
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
        let parents: Vec<String> = match options.head.as_deref() {
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
        };
        let new = NewRevision {
            id: self.new_rev_id(options.rev_id.as_deref())?,
            parents,
            message: options.message.clone(),
            branch_labels: options.branch_labels.clone(),
            depends_on: self.resolve_depends_on(&options.depends_on)?,
            ..NewRevision::default()
        };
        self.write_revision(new)
    }

    /// `merge -m MSG REV...`: writes a revision whose parents are the given revisions.
    pub fn merge(&self, options: &MergeOptions) -> Result<PathBuf, Error> {
        let mut parents: Vec<String> = Vec::new();
        for r in &options.revisions {
            // `heads` merges every head `aludel heads` lists, effective heads (revisions
            // only depended upon) included: those are what make `upgrade head` ambiguous.
            let found = match Target::parse(r)? {
                Target::Heads => self.graph.heads().into_iter().cloned().collect(),
                target => self.graph.resolve(&target, &[] as &[&str])?,
            };
            for id in found {
                let id = id.as_str().to_string();
                if !parents.contains(&id) {
                    parents.push(id);
                }
            }
        }
        if parents.len() < 2 {
            return Err(Error::Invalid(format!(
                "nothing to merge: {} name{} {} revision{}; a merge needs two or more",
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
