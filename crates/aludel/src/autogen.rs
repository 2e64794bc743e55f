//! Autogenerate and drift check: the desired schema (`schema.sql`, or a folder of
//! `.sql` files) is loaded into a throwaway shadow database and read back with the same
//! introspection as the live database, so whatever the database accepts, aludel
//! understands; [`crate::diff`] compares the two and [`crate::render`] writes the SQL.
//! What the desired schema does to its session (pg_dump's empty `search_path`, a `SET
//! ROLE`) is undone before it is read ([`Shadow::load`]), and both sides are read in
//! the live database's schemas.
//!
//! The shadow database for a SQLite project is in memory, or a temporary file removed
//! after use when other connections must reach it (`check --migrations` runs the
//! revisions into it). For PostgreSQL it is a database aludel creates next to the project's
//! (`aludel_shadow_<pid>_<n>`) and always drops, or `shadow_database_url` when the
//! user gives one: a database dedicated to aludel, whose schemas in scope are emptied
//! before each use. One command uses one shadow database, emptied between its uses
//! ([`Shadow::renew`]): each `CREATE DATABASE` and `DROP DATABASE` costs PostgreSQL a
//! checkpoint or the removal of every file, which on a real disk takes seconds.

use std::path::{Path, PathBuf};

use crate::diff::{Diff, Renames};
use crate::driver::{DbError, Driver, InspectScope, Inspection, LeftShadow, Skipped};
use crate::ops::Op;
use crate::render::{DdlError, RenderedOp, render_ops};
use crate::schema::{Catalog, ExpressionPlace};
use crate::script::{SplitError, split_statements};
use crate::url::{DatabaseUrl, Dialect};

mod load_plan;
pub mod schema_command;

/// Why autogenerate or check could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AutogenError {
    /// The desired schema's file or folder does not exist.
    #[error(
        "the desired schema {} does not exist: check and autogenerate compare the database with it; write it (the schema as the revisions should leave it, e.g. from `{}`), or set `schema` (its files) or `schema_command` (a command that prints it) under [autogenerate] in aludel.toml",
        path.display(),
        dialect.schema_dump_command()
    )]
    SchemaMissing {
        /// The file or folder.
        path: PathBuf,
        /// The database's dialect, whose tools the message names.
        dialect: Dialect,
    },
    /// The desired schema's file or folder is unreadable.
    #[error("{}: {error}", path.display())]
    SchemaFile {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A statement of the desired schema cannot be split.
    #[error("{}:{}: {}", path.display(), error.line, error.kind)]
    Split {
        /// The file.
        path: PathBuf,
        /// The splitter's error, with its line.
        error: SplitError,
    },
    /// The shadow database refused a statement of the desired schema.
    #[error("{}:{line}: the shadow database refused this statement of the desired schema:\n    {statement}", path.display())]
    Desired {
        /// The file.
        path: PathBuf,
        /// The statement's line.
        line: usize,
        /// The statement.
        statement: String,
        /// The database's error.
        #[source]
        error: DbError,
    },
    /// Creating, using or dropping the shadow database failed.
    #[error("shadow database: {doing}")]
    Shadow {
        /// What was being done.
        doing: String,
        /// The database's error.
        #[source]
        error: DbError,
    },
    /// Reading a database's schema failed.
    #[error("reading the schema of {which}")]
    Inspect {
        /// `the database` or `the shadow database`.
        which: &'static str,
        /// The database's error.
        #[source]
        error: DbError,
    },
    /// The changes cannot be written in this dialect.
    #[error(transparent)]
    Render(#[from] DdlError),
    /// A change would lose objects aludel does not model.
    #[error("{0}")]
    WouldLose(String),
    /// `[autogenerate] schema_command` did not give a desired schema.
    #[error("[autogenerate] schema_command `{command}` {problem}")]
    SchemaCommand {
        /// The command as written in `aludel.toml`.
        command: String,
        /// What went wrong: it could not start, failed (with the end of its standard
        /// error), printed something not UTF-8 or no statement at all.
        problem: String,
    },
    /// A configured shadow server runs another major version than the database: the
    /// same schema prints differently across major versions, so the comparison would
    /// report differences that are not there (or miss some).
    #[error(
        "[autogenerate] {setting} runs {shadow}, the database {live}: set it to a server of the same major version (each major version prints defaults, checks and views its own way)"
    )]
    ShadowVersion {
        /// The setting that names the shadow's server.
        setting: &'static str,
        /// The shadow server's product and major version (`PostgreSQL 16`).
        shadow: String,
        /// The database's.
        live: String,
    },
}

/// The product and major version in a server's `version()` text (`PostgreSQL 15.19
/// (Debian ...) on x86_64 ...` is `PostgreSQL 15`; a 9.x release keeps its minor,
/// which was part of its major version), or the whole text when it has no such form.
pub fn server_major(version: &str) -> String {
    let mut words = version.split_whitespace();
    let (Some(product), Some(number)) = (words.next(), words.next()) else {
        return version.trim().to_string();
    };
    let numeric: String = number
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = numeric.split('.');
    let major = match (parts.next(), parts.next()) {
        (Some(first), Some(second)) if first.parse::<u32>().is_ok_and(|n| n < 10) => {
            format!("{first}.{second}")
        }
        (Some(first), _) if !first.is_empty() => first.to_string(),
        _ => return version.trim().to_string(),
    };
    format!("{product} {major}")
}

/// The statements of the desired schema, with their file and line, in file-name order
/// for a folder.
pub fn desired_statements(
    path: &Path,
    dialect: Dialect,
) -> Result<Vec<(PathBuf, crate::script::Statement)>, AutogenError> {
    let io = |path: &Path, source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            AutogenError::SchemaMissing {
                path: path.to_path_buf(),
                dialect,
            }
        } else {
            AutogenError::SchemaFile {
                path: path.to_path_buf(),
                error: source,
            }
        }
    };
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
        let statements =
            split_statements(&text, dialect, 1).map_err(|error| AutogenError::Split {
                path: file.clone(),
                error,
            })?;
        out.extend(statements.into_iter().map(|s| (file.clone(), s)));
    }
    Ok(out)
}

/// The statements of a desired schema that `command` printed (its
/// [`schema_command::run`] output), each named by [`schema_command::output_name`] and
/// its line. No statement at all is refused: compared with it, every table of the
/// database would be dropped, and a command that printed nothing more likely failed
/// without saying so.
pub fn desired_statements_printed(
    command: &crate::config::SchemaCommand,
    output: &str,
    dialect: Dialect,
) -> Result<Vec<(PathBuf, crate::script::Statement)>, AutogenError> {
    let name = schema_command::output_name(command);
    let statements = split_statements(output, dialect, 1).map_err(|error| AutogenError::Split {
        path: name.clone(),
        error,
    })?;
    if statements.is_empty() {
        return Err(AutogenError::SchemaCommand {
            command: schema_command::shown(command),
            problem: "printed no SQL statement on standard output: the desired schema must hold at least one (with none, every table would be dropped)".into(),
        });
    }
    Ok(statements.into_iter().map(|s| (name.clone(), s)).collect())
}

/// `<pid>-<n>`: unique among this process's shadows and across processes.
fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Opens a connection to a URL (the caller decides the options).
pub type Connector<'a> = dyn FnMut(&DatabaseUrl) -> Result<Box<dyn Driver>, DbError> + 'a;

/// A [`Connector`] several threads may call at once.
pub type SharedConnector<'a> = dyn Fn(&DatabaseUrl) -> Result<Box<dyn Driver>, DbError> + Sync + 'a;

/// Opens a connection to a URL again, from any thread, for as long as a [`Shadow`]
/// lives.
pub type Reconnector = dyn Fn(&DatabaseUrl) -> Result<Box<dyn Driver>, DbError> + Send + Sync;

/// The shadow databases that could not be dropped, listed as they are met, for the
/// command to report. Clones share the list.
#[derive(Debug, Clone, Default)]
pub struct LeftShadows(std::sync::Arc<std::sync::Mutex<Vec<LeftShadow>>>);

impl LeftShadows {
    /// Those listed since the last call.
    pub fn take(&self) -> Vec<LeftShadow> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LeftShadow>> {
        // Poisoning leaves nothing to repair: the list is plain values.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a shadow database is dropped when the session that made it is gone, and
/// where it is listed when it could still not be dropped.
#[derive(Clone)]
pub struct ShadowCleanup {
    reconnect: std::sync::Arc<Reconnector>,
    left: LeftShadows,
}

impl std::fmt::Debug for ShadowCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowCleanup")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl ShadowCleanup {
    /// Drops go through `reconnect` when the session that made the database cannot;
    /// a database neither could drop is listed in `left`.
    pub fn new(reconnect: std::sync::Arc<Reconnector>, left: &LeftShadows) -> ShadowCleanup {
        ShadowCleanup {
            reconnect,
            left: left.clone(),
        }
    }

    /// Drops `name` over `session` (the one that made it), else over a new session
    /// to `server`; lists it as left when neither could. The first session may be
    /// gone while the server is not: ended by a server timeout, an administrator, a
    /// pooler or a failover.
    fn drop_database(&self, session: &mut dyn Driver, server: &DatabaseUrl, name: &str) {
        let Err(first) = session.drop_scratch_database(name) else {
            return;
        };
        let lost = |e: &DbError| e.kind == crate::driver::DbErrorKind::ConnectionLost;
        // Whether the server answered the last drop sent that it did not drop it: a
        // drop whose answer was lost may have run.
        let (error, refused) = match (self.reconnect)(server) {
            Ok(mut session) => match session.drop_scratch_database(name) {
                Ok(()) => return,
                Err(again) => (
                    format!("{first}; then over a new session: {again}"),
                    !lost(&again),
                ),
            },
            Err(again) => (
                format!("{first}; then connecting again: {again}"),
                !lost(&first),
            ),
        };
        let Some(statement) = session.scratch_drop_statement(name) else {
            return;
        };
        self.left.lock().push(LeftShadow {
            name: name.to_string(),
            server: match (server.host(), server.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_string(),
                (None, _) => server.to_string(),
            },
            statement,
            error,
            refused,
        });
    }
}

/// The session that made a shadow database, and what dropping it needs.
struct Owner {
    session: Box<dyn Driver>,
    name: String,
    /// The server's URL, to drop the database over a new session.
    server: DatabaseUrl,
    cleanup: ShadowCleanup,
}

/// A shadow database that is dropped when this goes out of scope.
pub struct Shadow {
    /// `None` only while the database is being dropped.
    driver: Option<Box<dyn Driver>>,
    /// Its URL, for other connections (running the revisions into it).
    url: DatabaseUrl,
    /// A temporary SQLite file to remove.
    file: Option<PathBuf>,
    /// The connection that created the database and drops it.
    owner: Option<Owner>,
    /// Held while a configured `shadow_database_url` is in use: the threads of one
    /// `--targets` or `--workspace` run would otherwise empty it under each other.
    _exclusive: Option<GivenShadowTurn>,
    /// How many times [`Shadow::renew`] emptied it.
    renewals: usize,
    /// Whether a database aludel created started as empty as `template0` (only an
    /// empty `public` and plpgsql). One that inherited schemas, extensions or objects
    /// from `template1` is never renewed: renaming them away would take from the next
    /// use what a new database has.
    plain: bool,
}

/// Which thread uses the configured shadow database, and how many times over.
static GIVEN_SHADOW: std::sync::Mutex<(Option<std::thread::ThreadId>, usize)> =
    std::sync::Mutex::new((None, 0));
static GIVEN_SHADOW_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// One thread's turn at the configured shadow database. The same thread may take it
/// again while holding it (`check --migrations` reads the desired schema through it
/// after reading the migrated one); other threads wait.
struct GivenShadowTurn;

impl GivenShadowTurn {
    fn take() -> GivenShadowTurn {
        let me = std::thread::current().id();
        // Poisoning leaves nothing to repair: the state is two plain values.
        let mut state = GIVEN_SHADOW
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while state.0.is_some_and(|owner| owner != me) {
            state = GIVEN_SHADOW_FREED
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.0 = Some(me);
        state.1 += 1;
        GivenShadowTurn
    }
}

impl Drop for GivenShadowTurn {
    fn drop(&mut self) {
        let mut state = GIVEN_SHADOW
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.1 = state.1.saturating_sub(1);
        if state.1 == 0 {
            state.0 = None;
            GIVEN_SHADOW_FREED.notify_all();
        }
    }
}

impl Shadow {
    /// Opens a shadow database: a new one on the server of `url` (the project's
    /// database, or `shadow_server_url`), or `given` (emptying the schemas of `scope`
    /// first).
    /// `shared`: other connections will open [`Shadow::url`] (SQLite then uses a
    /// temporary file rather than memory). A database it makes is dropped as
    /// `cleanup` says.
    pub fn open(
        url: &DatabaseUrl,
        given: Option<&DatabaseUrl>,
        scope: &InspectScope,
        shared: bool,
        connect: &mut Connector<'_>,
        cleanup: &ShadowCleanup,
    ) -> Result<Shadow, AutogenError> {
        let shadow_err = |doing: &str| {
            let doing = doing.to_string();
            move |error| AutogenError::Shadow { doing, error }
        };
        if let Some(place) = crate::driver::serverless_scratch(url.dialect(), shared, &unique()) {
            let place = place.map_err(shadow_err("naming a scratch database"))?;
            let driver = connect(&place.url).map_err(shadow_err("opening it"))?;
            return Ok(Shadow {
                driver: Some(driver),
                url: place.url,
                file: place.file,
                owner: None,
                _exclusive: None,
                renewals: 0,
                plain: false,
            });
        }
        if let Some(given) = given {
            let exclusive = GivenShadowTurn::take();
            let mut driver = connect(given).map_err(shadow_err("connecting"))?;
            driver
                .scratch_session()
                .map_err(shadow_err("setting up its session"))?;
            let schemas = &scope.schemas;
            driver.empty_schemas(schemas).map_err(shadow_err(&format!(
                "emptying {}",
                match schemas.len() {
                    0 => "its default schema".to_string(),
                    1 => format!("schema {}", schemas[0]),
                    _ => format!("schemas {}", schemas.join(", ")),
                }
            )))?;
            return Ok(Shadow {
                driver: Some(driver),
                url: given.clone(),
                file: None,
                owner: None,
                _exclusive: Some(exclusive),
                renewals: 0,
                plain: false,
            });
        }
        let mut owner = connect(url).map_err(shadow_err("connecting to create it"))?;
        let name = format!("aludel_shadow_{}", unique().replace('-', "_"));
        owner
            .create_scratch_database(&name)
            .map_err(|error| AutogenError::Shadow {
                doing: format!(
                    "creating database {name} (or set [autogenerate] shadow_database_url or shadow_server_url)"
                ),
                error,
            })?;
        let shadow_url = url.with_database(&name);
        match connect(&shadow_url).and_then(|mut driver| {
            driver.scratch_session()?;
            Ok(driver)
        }) {
            Ok(mut driver) => Ok(Shadow {
                plain: driver.scratch_starts_empty(),
                driver: Some(driver),
                url: shadow_url,
                file: None,
                owner: Some(Owner {
                    session: owner,
                    name,
                    server: url.clone(),
                    cleanup: cleanup.clone(),
                }),
                _exclusive: None,
                renewals: 0,
            }),
            Err(error) => {
                cleanup.drop_database(owner.as_mut(), url, &name);
                Err(AutogenError::Shadow {
                    doing: format!("connecting to {name}"),
                    error,
                })
            }
        }
    }

    /// Empties this shadow database for its next use within the same command, as
    /// if it were a new one: cheaper than dropping it and creating another (on
    /// PostgreSQL a checkpoint and the removal of every file the last use made). A
    /// database aludel created is emptied by its driver
    /// ([`Driver::empty_scratch_database`]: PostgreSQL renames its schemas out of
    /// the way, MySQL makes it again); a configured `shadow_database_url` has the
    /// schemas of `scope` emptied ([`Driver::empty_schemas`]), as [`Shadow::open`]
    /// does. False when this shadow cannot be emptied so (SQLite's, one that did not
    /// start empty, or a refusal): the caller opens a new one instead.
    pub fn renew(&mut self, scope: &InspectScope) -> bool {
        let owned = self.owner.is_some();
        let plain = self.plain;
        let given = self._exclusive.is_some();
        self.renewals += 1;
        let round = self.renewals;
        let Ok(driver) = self.driver() else {
            return false;
        };
        if driver.reset_session().is_err() {
            return false;
        }
        let emptied = if owned {
            plain && driver.empty_scratch_database(round).unwrap_or(false)
        } else if given {
            driver.empty_schemas(&scope.schemas).is_ok()
        } else {
            false
        };
        emptied && driver.scratch_session().is_ok()
    }

    /// The shadow database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The shadow database's connection.
    pub fn driver(&mut self) -> Result<&mut dyn Driver, AutogenError> {
        match self.driver.as_deref_mut() {
            Some(d) => Ok(d),
            None => Err(AutogenError::Shadow {
                doing: "using it".into(),
                error: DbError::aludel("the shadow database is closed"),
            }),
        }
    }

    /// Runs the desired schema's statements, stopping at the first the database
    /// refuses, then puts the session's settings back ([`Driver::reset_session`]):
    /// nothing the file does to its session (`search_path`, `SET ROLE`, any `SET`)
    /// reaches what is read next. They go in batches of [`LOAD_BATCH`] (see
    /// [`execute_in_batches`]). A statement that only sets the session or who owns or
    /// may use an object is left out when the server refuses it for a role or setting
    /// it does not know, or one the loading user may not use ([`refusal_changes_nothing`]).
    pub fn load(
        &mut self,
        statements: &[(PathBuf, crate::script::Statement)],
    ) -> Result<(), AutogenError> {
        let driver = self.driver()?;
        let texts: Vec<&str> = statements.iter().map(|(_, st)| st.sql.as_str()).collect();
        let skippable =
            |at: usize, error: &DbError| refusal_changes_nothing(&statements[at].1, error);
        execute_in_batches(driver, &texts, &skippable).map_err(|(at, error)| {
            let (path, st) = &statements[at];
            AutogenError::Desired {
                path: path.clone(),
                line: st.line,
                statement: st.sql.clone(),
                error,
            }
        })?;
        driver
            .reset_session()
            .map_err(|error| AutogenError::Shadow {
                doing: "resetting the session after loading the desired schema".into(),
                error,
            })?;
        // Resetting the session undid the scratch settings too.
        self.driver()?
            .scratch_session()
            .map_err(|error| AutogenError::Shadow {
                doing: "setting up its session".into(),
                error,
            })?;
        Ok(())
    }
}

/// How a load over several sessions went ([`Shadow::load_side_by_side`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideBySide {
    /// Every statement ran; the caller still checks the result
    /// ([`side_by_side_doubtful`]).
    Loaded,
    /// Nothing ran: the file is loaded one statement after the other.
    NotTried,
    /// A statement failed: the shadow database holds part of the file, and must be
    /// emptied before the file is loaded one statement after the other (which
    /// reports the failure as usual).
    Abandoned,
}

/// Below this many statements, more sessions cost more than they save.
const SIDE_BY_SIDE_FROM: usize = 100;

/// How many sessions in all load a desired schema side by side on a server that
/// keeps no time waiting for its disk (`fsync` off, as a scratch server in memory):
/// measured on a 2-core machine (cold `check`, 1,000 tables), two were faster than
/// one and than four or six (1.46 s against 1.62-1.64 s): each session also reads
/// what the others' DDL invalidates. Sending several statements per round trip was
/// slower still (a transaction holds its locks and reads invalidations longer). The
/// extra sessions close after the load: kept to write the expressions again in
/// place, they cost 8 MiB of peak memory and saved no measurable time.
const LOAD_SESSIONS: usize = 2;

/// The same where the server waits for its disk (`fsync` on: PostgreSQL syncs each
/// index it builds, and the file system makes each new file): its backends wait
/// about a third of the load, which more sessions fill. Same machine, its durable
/// server: 2.73-2.77 s with two sessions, 2.45-2.63 with three, 2.35-2.41 with four,
/// 2.14-2.20 with six and eight (medians of three).
const LOAD_SESSIONS_WAITING_FOR_DISK: usize = 6;

impl Shadow {
    /// Runs the desired schema's statements over this shadow database's session and
    /// new sessions to it ([`LOAD_SESSIONS`] or [`LOAD_SESSIONS_WAITING_FOR_DISK`] in
    /// all) at once, as [`load_plan`] allows: statements that touch different
    /// objects run side by side, each committing on its own. Only on
    /// PostgreSQL, from [`SIDE_BY_SIDE_FROM`] statements, and when the file reads
    /// plainly enough (no temporary objects, no transaction control, no unknown
    /// statement that could change a session). A refusal that changes nothing is
    /// left out as [`Shadow::load`] does; any other failure abandons the attempt.
    pub fn load_side_by_side(
        &mut self,
        statements: &[(PathBuf, crate::script::Statement)],
        connect: &SharedConnector<'_>,
    ) -> SideBySide {
        if !crate::render::capabilities(self.url.dialect()).side_by_side_load
            || statements.len() < SIDE_BY_SIDE_FROM
        {
            return SideBySide::NotTried;
        }
        let texts: Vec<&str> = statements.iter().map(|(_, st)| st.sql.as_str()).collect();
        // A file that names objects as PostgreSQL names them around a collision (a
        // dump of a database where one happened) would be loaded side by side only
        // to be loaded again: see `side_by_side_doubtful`.
        if texts.iter().any(|t| load_plan::names_may_collide(t)) {
            return SideBySide::NotTried;
        }
        let Some(plan) = load_plan::plan(&texts) else {
            return SideBySide::NotTried;
        };
        let sessions = match self.driver() {
            Ok(driver) => {
                if driver.scratch_waits_for_disk() {
                    LOAD_SESSIONS_WAITING_FOR_DISK
                } else {
                    LOAD_SESSIONS
                }
            }
            Err(_) => return SideBySide::NotTried,
        };
        // Opened side by side; one that cannot be opened (a role's connection limit)
        // is done without.
        let url = &self.url;
        let mut others: Vec<Box<dyn Driver>> = std::thread::scope(|scope| {
            let opening: Vec<_> = (1..sessions)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, move || {
                            let mut other = connect(url).ok()?;
                            other.scratch_session().ok()?;
                            Some(other)
                        })
                        .ok()
                })
                .collect();
            opening
                .into_iter()
                .filter_map(|t| t.join().ok().flatten())
                .collect()
        });
        if others.is_empty() {
            return SideBySide::NotTried;
        }
        let Ok(driver) = self.driver() else {
            return SideBySide::NotTried;
        };
        let mut sessions: Vec<&mut dyn Driver> = vec![driver];
        sessions.extend(others.iter_mut().map(|o| o.as_mut() as &mut dyn Driver));
        let skippable =
            |at: usize, error: &DbError| refusal_changes_nothing(&statements[at].1, error);
        if run_plan(&mut sessions, &texts, &plan, &skippable).is_err() {
            return SideBySide::Abandoned;
        }
        drop(sessions);
        let Ok(driver) = self.driver() else {
            return SideBySide::Abandoned;
        };
        match driver
            .reset_session()
            .and_then(|()| driver.scratch_session())
        {
            Ok(()) => SideBySide::Loaded,
            Err(_) => SideBySide::Abandoned,
        }
    }
}

/// Whether what a side-by-side load made (`inspection`) holds a name PostgreSQL may
/// have chosen around a collision, which depends on which statement ran first: the
/// file is then loaded again, one statement after the other.
pub fn side_by_side_doubtful(inspection: &Inspection) -> bool {
    serde_json::to_string(inspection).map_or(true, |text| load_plan::names_may_collide(&text))
}

/// Runs `statements` over `sessions` as `plan` says. A failure gives the index of the
/// statement and the database's error.
fn run_plan(
    sessions: &mut [&mut dyn Driver],
    statements: &[&str],
    plan: &load_plan::LoadPlan,
    skippable: &(dyn Fn(usize, &DbError) -> bool + Sync),
) -> Result<(), (usize, DbError)> {
    for part in &plan.parts {
        match part {
            load_plan::Part::Alone(i) => run_one(&mut *sessions[0], statements, *i, skippable)?,
            load_plan::Part::Everywhere(i) => {
                for session in sessions.iter_mut() {
                    run_one(&mut **session, statements, *i, skippable)?;
                }
            }
            load_plan::Part::Together { first, deps } => {
                run_together(sessions, statements, *first, deps, skippable)?;
            }
        }
    }
    Ok(())
}

/// Runs statement `i` on its own (it commits by itself). A deadlock with another
/// session undid it, so it runs again; a refusal that changes nothing is left out.
fn run_one(
    driver: &mut dyn Driver,
    statements: &[&str],
    i: usize,
    skippable: &(dyn Fn(usize, &DbError) -> bool + Sync),
) -> Result<(), (usize, DbError)> {
    let mut attempts = 0;
    loop {
        match driver.execute(statements[i]) {
            Ok(()) => return Ok(()),
            Err(error) if error.code.as_deref() == Some("40P01") && attempts < 3 => attempts += 1,
            Err(error) if skippable(i, &error) => return Ok(()),
            Err(error) => return Err((i, error)),
        }
    }
}

/// What the sessions of one [`load_plan::Part::Together`] share.
struct Board {
    /// For each statement, how many of those it waits for have not run yet.
    waiting: Vec<usize>,
    /// Statements free to run, not yet taken: the first in the file goes first.
    ready: std::collections::BTreeSet<usize>,
    ran: usize,
    failure: Option<(usize, DbError)>,
}

/// Runs statements `first..first + deps.len()` over every session, each statement once
/// those it waits for have run.
fn run_together(
    sessions: &mut [&mut dyn Driver],
    statements: &[&str],
    first: usize,
    deps: &[Vec<usize>],
    skippable: &(dyn Fn(usize, &DbError) -> bool + Sync),
) -> Result<(), (usize, DbError)> {
    let n = deps.len();
    let mut dependents = vec![Vec::new(); n];
    let mut waiting = vec![0; n];
    for (k, on) in deps.iter().enumerate() {
        waiting[k] = on.len();
        for d in on {
            dependents[d - first].push(k);
        }
    }
    let ready = (0..n).filter(|&k| waiting[k] == 0).collect();
    let board = std::sync::Mutex::new(Board {
        waiting,
        ready,
        ran: 0,
        failure: None,
    });
    let changed = std::sync::Condvar::new();
    let lock = || {
        board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let work = |driver: &mut dyn Driver| loop {
        let mut b = lock();
        let k = loop {
            if b.failure.is_some() || b.ran == n {
                return;
            }
            if let Some(k) = b.ready.pop_first() {
                break k;
            }
            b = changed
                .wait(b)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        };
        drop(b);
        // A panic on this thread must not leave the others waiting for a statement
        // that will never run: it abandons the load like a failure.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_one(&mut *driver, statements, first + k, skippable)
        }))
        .unwrap_or_else(|_| Err((first + k, DbError::aludel("a loading thread panicked"))));
        let mut b = lock();
        match result {
            Ok(()) => {
                b.ran += 1;
                for &d in &dependents[k] {
                    b.waiting[d] -= 1;
                    if b.waiting[d] == 0 {
                        b.ready.insert(d);
                    }
                }
            }
            Err(failure) => b.failure = Some(failure),
        }
        changed.notify_all();
    };
    std::thread::scope(|scope| {
        let (own, rest) = match sessions.split_first_mut() {
            Some(split) => split,
            None => return,
        };
        // A session whose thread cannot start is done without.
        for session in rest.iter_mut() {
            let work = &work;
            let _ = std::thread::Builder::new().spawn_scoped(scope, move || work(&mut **session));
        }
        work(&mut **own);
    });
    let b = board
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match b.failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Whether the database refusing `st` leaves every compared object as it would be:
/// ownership, privileges and session settings are not compared. pg_dump names the
/// owners and grantees of the server it dumped (unless given `--no-owner
/// --no-privileges`), and a newer pg_dump sets parameters an older server does not
/// have (17's `transaction_timeout`): such a file still describes the same objects.
/// Refusals for any other reason (a syntax error, a missing table) still stop the load.
fn refusal_changes_nothing(st: &crate::script::Statement, error: &DbError) -> bool {
    use crate::driver::DbErrorKind as K;
    use crate::script::Housekeeping;
    // No such role or parameter, or not permitted; `SET ROLE` to a role that does not
    // exist is an invalid value.
    matches!(
        (st.housekeeping(), error.kind),
        (Some(Housekeeping::Session), K::InvalidParameterValue)
            | (Some(_), K::UndefinedObject | K::InsufficientPrivilege)
    )
}

/// Runs `statements` in batches of [`LOAD_BATCH`], one round trip each where the
/// driver can. A batch runs as one implicit transaction, so a batch holding a
/// statement that refuses a transaction block (25001) or that needs more locks than
/// one transaction may hold (53200) is run again statement by statement. A statement
/// refused where `skippable` allows it is left out: the batch was undone, so what
/// came before it runs again, and the rest of the batch one by one (any of it may be
/// refused the same way). A failure gives the index of the statement and the
/// database's error.
fn execute_in_batches(
    driver: &mut dyn Driver,
    statements: &[&str],
    skippable: &dyn Fn(usize, &DbError) -> bool,
) -> Result<(), (usize, DbError)> {
    let one_by_one = |driver: &mut dyn Driver, from: usize, to: usize| {
        for (i, sql) in statements.iter().enumerate().take(to).skip(from) {
            if let Err(error) = driver.execute(sql)
                && !skippable(i, &error)
            {
                return Err((i, error));
            }
        }
        Ok(())
    };
    let mut at = 0;
    while at < statements.len() {
        let end = (at + LOAD_BATCH).min(statements.len());
        let Err(failure) = driver.execute_batch(&statements[at..end], "SELECT 1") else {
            at = end;
            continue;
        };
        let failed = at + failure.index.min(end - at - 1);
        if matches!(
            failure.error.kind,
            crate::driver::DbErrorKind::NeedsNoTransaction
                | crate::driver::DbErrorKind::TooManyLocks
        ) {
            one_by_one(driver, at, end)?;
        } else if skippable(failed, &failure.error) {
            if failed > at {
                driver
                    .execute_batch(&statements[at..failed], "SELECT 1")
                    .map_err(|f| (at + f.index.min(failed - at - 1), f.error))?;
            }
            one_by_one(driver, failed + 1, end)?;
        } else {
            return Err((failed, failure.error));
        }
        at = end;
    }
    Ok(())
}

/// How many statements of the desired schema go in one round trip.
const LOAD_BATCH: usize = 200;

impl Drop for Shadow {
    fn drop(&mut self) {
        // The shadow's own connection closes first; FORCE ends any other.
        self.driver = None;
        if let Some(owner) = &mut self.owner {
            owner
                .cleanup
                .drop_database(owner.session.as_mut(), &owner.server, &owner.name);
        }
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// The desired schema's catalog kept between runs, so that a warm `check` reads only
/// the live database (and a shadow database only when the live database prints an
/// expression differently, see [`settle_expressions`]). The entry is found by a hash of everything that decides the
/// catalog (aludel's version, the dialect, the server's version, the scope, and every
/// statement of the desired schema with its file and line) and served only when the
/// whole of that text equals the entry's: a changed schema never gets a stale catalog.
#[derive(Debug, Clone)]
pub struct DesiredCache {
    file: PathBuf,
    key: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CacheEntry {
    key: String,
    inspection: Inspection,
}

impl DesiredCache {
    /// The cache entry for `key` in the folder `dir`.
    pub fn new(dir: &Path, key: String) -> DesiredCache {
        let hash = crate::driver::stable_hash(key.as_bytes());
        DesiredCache {
            file: dir.join(format!("desired-{hash:016x}.json")),
            key,
        }
    }

    /// The text that decides the desired catalog.
    pub fn key_text(
        dialect: Dialect,
        server_version: &str,
        scope: &InspectScope,
        statements: &[(PathBuf, crate::script::Statement)],
    ) -> String {
        let mut key = format!(
            "aludel {}\n{dialect}\n{server_version}\n{:?}\n{:?}\n",
            env!("CARGO_PKG_VERSION"),
            scope.schemas,
            scope.exclude_tables
        );
        for (path, st) in statements {
            key.push_str(&format!("{}:{}\n{}\n;\n", path.display(), st.line, st.sql));
        }
        key
    }

    /// Whether an entry is likely to serve this key: a file of its name that may be
    /// read ([`DesiredCache::load`] still checks the whole key).
    pub fn likely_serves(&self) -> bool {
        crate::script::cache::trusted(&self.file)
    }

    /// The cached catalog, if there is one for exactly this key.
    pub fn load(&self) -> Option<Inspection> {
        if !crate::script::cache::trusted(&self.file) {
            return None;
        }
        let bytes = std::fs::read(&self.file).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == self.key).then_some(entry.inspection)
    }

    /// Keeps `inspection` for this key (best effort).
    pub fn store(&self, inspection: &Inspection) {
        let entry = CacheEntry {
            key: self.key.clone(),
            inspection: inspection.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            crate::script::cache::write_file(&self.file, &bytes);
        }
    }
}

/// What comparing the database with the desired schema found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Comparison {
    /// The changes, in an order that runs.
    pub diff: Diff,
    /// The catalog of the database, as read.
    pub current: Catalog,
    /// The desired catalog, as read from the shadow database.
    pub desired: Catalog,
    /// Objects the database holds that aludel does not model (never dropped).
    pub skipped: Vec<Skipped>,
    /// Objects the desired schema creates that aludel does not model: no revision
    /// will create them; they are for the user to write by hand.
    pub desired_skipped: Vec<Skipped>,
    /// The schema written unqualified.
    pub default_schema: String,
}

impl Comparison {
    /// One sentence per object left out of the comparison: held by the database and
    /// never dropped, or created by the desired schema and never written.
    pub fn skipped_notes(&self) -> Vec<String> {
        // `schema.name`, or the name alone in MySQL's connection's own database.
        let name = |s: &Skipped| crate::ops::QName::new(s.schema.clone(), s.name.clone());
        let database = self.skipped.iter().map(|s| {
            format!(
                "left alone in the database: {} {} ({})",
                s.kind,
                name(s),
                s.reason
            )
        });
        let desired = self.desired_skipped.iter().map(|s| {
            format!(
                "not written, add it by hand if needed: {} {} from the desired schema ({})",
                s.kind,
                name(s),
                s.reason
            )
        });
        database.chain(desired).collect()
    }
}

/// The schema written unqualified: the first schema in scope, or `fallback` (the
/// database's default, [`Driver::default_schema`]) when there is none.
fn default_schema(fallback: &str, a: &Catalog, b: &Catalog) -> String {
    a.schemas
        .keys()
        .next()
        .or(b.schemas.keys().next())
        .cloned()
        .unwrap_or_else(|| fallback.to_string())
}

/// Runs the desired schema's `CREATE EXTENSION` statements in the shadow database
/// `driver`, before [`as_written`] writes the schema there: a column of an extension's
/// type needs the extension, which the catalog aludel writes does not hold. A refusal
/// names the file, line and statement.
pub fn create_extensions(
    driver: &mut dyn Driver,
    statements: &[(PathBuf, crate::script::Statement)],
) -> Result<(), AutogenError> {
    for (path, st) in statements {
        let mut words = st.sql.split_whitespace();
        let is_extension = words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
            && words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("EXTENSION"));
        if is_extension {
            driver
                .execute(&st.sql)
                .map_err(|error| AutogenError::Desired {
                    path: path.clone(),
                    line: st.line,
                    statement: st.sql.clone(),
                    error,
                })?;
        }
    }
    Ok(())
}

/// The desired schema as the database holds it once aludel has written it: `first`
/// (read after loading the user's SQL) is rendered as a revision would render it, run
/// in the empty shadow database `driver`, and read back.
///
/// The database does not always print an expression the way it prints the expression
/// it printed: PostgreSQL reads `c IN ('a', 'b')` on a `varchar` column as
/// `(c)::text = ANY ((ARRAY['a'::character varying, ...])::text[])`, and that text,
/// written in a revision, reads back as `(c)::text = ANY (ARRAY[('a'::character
/// varying)::text, ...])`. The live database holds what aludel wrote, so the desired
/// schema is compared in the same form: otherwise a check constraint would differ from
/// itself forever.
///
/// Only what holds printed expressions makes the round trip: types, tables with their
/// columns and check constraints, indexes with an expression or a predicate, views.
/// Foreign keys, indexes on plain columns and, on PostgreSQL, primary keys and unique
/// constraints are structured data that reads back unchanged; leaving them out more
/// than halves the work on large schemas (on PostgreSQL each key is an index, built
/// and synced to disk as its table is created). They are kept from `first`.
pub fn as_written(
    first: Inspection,
    driver: &mut dyn Driver,
    scope: &InspectScope,
    dialect: Dialect,
) -> Result<Inspection, AutogenError> {
    let inspect_err = |error| AutogenError::Inspect {
        which: "the shadow database",
        error,
    };
    let empty = driver.inspect(scope).map_err(inspect_err)?;
    let schema = default_schema(&driver.default_schema(), &empty.catalog, &first.catalog);
    // On PostgreSQL every key is an index built, and synced to disk, as its table is
    // created; SQLite's `INTEGER PRIMARY KEY` changes what its table is, and MySQL's
    // `AUTO_INCREMENT` needs a key, so there they stay. A view may lean on a primary
    // key (`GROUP BY t.id` selecting t's other columns is valid only while t.id is
    // the key), so with views the keys stay too.
    let has_views = first.catalog.schemas.values().any(|s| !s.views.is_empty());
    let keyless = crate::render::capabilities(dialect).keys_read_back_as_written && !has_views;
    let ops: Vec<Op> = crate::diff::diff(&empty.catalog, &first.catalog, &Renames::default())
        .ops
        .into_iter()
        .filter_map(|op| match op {
            Op::AddForeignKey(..) => None,
            Op::AddPrimaryKey(..) | Op::AddUnique(..) if keyless => None,
            Op::CreateTable(name, mut table) if keyless => {
                table.primary_key = None;
                table.uniques.clear();
                Some(Op::CreateTable(name, table))
            }
            Op::CreateIndex(_, _, ref i) => {
                (i.predicate.is_some() || i.keys.iter().any(|k| k.is_expression)).then_some(op)
            }
            op => Some(op),
        })
        .collect();
    write_ops(
        driver,
        dialect,
        &schema,
        &empty.catalog,
        &ops,
        "writing the desired schema as a revision would",
    )?;
    let mut again = driver.inspect(scope).map_err(inspect_err)?;
    // What stayed out comes back from the first reading.
    for (name, schema) in &first.catalog.schemas {
        let Some(read) = again.catalog.schemas.get_mut(name) else {
            continue;
        };
        for (table, t) in &schema.tables {
            if let Some(back) = read.tables.get_mut(table) {
                back.foreign_keys = t.foreign_keys.clone();
                if keyless {
                    back.primary_key = t.primary_key.clone();
                    back.uniques = t.uniques.clone();
                }
                for (index, i) in &t.indexes {
                    back.indexes
                        .entry(index.clone())
                        .or_insert_with(|| i.clone());
                }
            }
        }
    }
    again.skipped = first.skipped;
    Ok(again)
}

/// Where one expression of the desired schema was written again by
/// [`written_in_place`], and so where its written form is read back.
enum Rewritten {
    /// A column's default, set again on the same column.
    Default { column: String },
    /// A check constraint, added again under the name `copy`.
    Check { name: String, copy: String },
    /// A generated column, added again as the column `copy`.
    Generated { column: String, copy: String },
    /// An index with an expression or a predicate, created again as `copy`.
    Index { name: String, copy: String },
}

/// What decides how PostgreSQL prints an expression written again: its text, the
/// columns it names (each with its printed type and collation) and, for a default or
/// a generated column, the column's own type. Places with equal keys are written by
/// the same text over the same types, so they read back alike and one copy serves
/// them all: a schema of 1,000 tables with `DEFAULT now()` writes it once, not 1,000
/// times.
#[derive(Debug, Hash, PartialEq, Eq)]
struct WrittenKey(Vec<Option<String>>);

impl WrittenKey {
    fn new(kind: &str, expression: &str) -> WrittenKey {
        WrittenKey(vec![Some(kind.to_string()), Some(expression.to_string())])
    }

    /// The key of an expression over the columns of `table` (named `name`): none, so
    /// that it is written on its own, when it may name the table itself (a whole-row
    /// reference, which prints the table's name) or its names cannot be read for
    /// certain.
    fn over_columns(
        kind: &str,
        expression: &str,
        name: &str,
        table: &crate::schema::Table,
    ) -> Option<WrittenKey> {
        let names = names_in_expression(expression)?;
        if names.contains(name) {
            return None;
        }
        let mut key = WrittenKey::new(kind, expression);
        for c in table.columns.iter().filter(|c| names.contains(&c.name)) {
            key.0.push(Some(c.name.clone()));
            key = key.with(&c.data_type, c.collation.as_deref());
        }
        Some(key)
    }

    fn with(mut self, data_type: &str, collation: Option<&str>) -> WrittenKey {
        self.0.push(Some(data_type.to_string()));
        self.0.push(collation.map(str::to_string));
        self
    }
}

/// Every name an expression as PostgreSQL prints it may refer to: its words and its
/// quoted identifiers, leaving out the insides of string literals (the load planner's
/// lexer, [`load_plan::identifiers`]). More names than it really uses do no harm (a
/// key then counts a column it need not); `None` when a quote is not closed, so that
/// nothing is missed. PostgreSQL prints a name bare only when it is lower-case ASCII
/// letters, digits and `_`, so a column's name is found as it is stored.
fn names_in_expression(expression: &str) -> Option<std::collections::BTreeSet<String>> {
    load_plan::identifiers(expression)
}

/// A name for a copy that none of `taken` holds: `aludel_written_<n>`, counting on.
fn fresh_name(taken: &std::collections::BTreeSet<String>, next: &mut usize) -> String {
    loop {
        *next += 1;
        let name = format!("aludel_written_{next}");
        if !taken.contains(&name) {
            return name;
        }
    }
}

/// [`as_written`] without a second load: every printed expression of `first` is
/// written again, as a revision would write it, onto the objects the desired schema's
/// own SQL made in the shadow database `driver` (still loaded with it), and read back.
/// A default is set again on its column; a check, a generated column, an index with
/// an expression or a predicate and a view are added again beside the original under
/// a fresh name (`aludel_written_<n>`), since the original cannot be re-made in place
/// (other objects lean on it, or PostgreSQL cannot alter it). An expression is parsed
/// against the same columns either way, so it reads back in the same form; what is
/// not an expression (columns, keys, foreign keys, sequences) is kept from `first`.
///
/// Writing onto the loaded objects costs a statement per expression instead of a
/// second database of tables, each made with its files (a heap, a TOAST table and its
/// index), which on a 1,000-table schema was most of a cold `check`'s second half.
/// And an expression is written once however many places hold it with the same
/// text over columns of the same types: the others take the form its copy reads
/// back with.
///
/// PostgreSQL only (SQLite cannot alter a column's default or add a check), and not
/// where the desired schema made an event trigger (it would fire) or a table with
/// children (what is written onto a parent goes down to them). An error
/// leaves `first` as it was and the shadow database holding some copies: the caller
/// renews it and falls back to [`as_written`].
pub fn written_in_place(
    first: &mut Inspection,
    driver: &mut dyn Driver,
    scope: &InspectScope,
) -> Result<(), AutogenError> {
    use crate::ops::QName;
    let dialect = driver.dialect();
    let can = driver
        .can_rewrite_in_place()
        .map_err(|error| AutogenError::Inspect {
            which: "the shadow database",
            error,
        })?;
    if !can {
        return Err(AutogenError::Shadow {
            doing: "writing the desired schema's expressions where it was loaded".into(),
            error: DbError::new(
                "the database cannot: it cannot alter what was loaded, or something loaded (on PostgreSQL an event trigger, a table with children) would react",
            ),
        });
    }
    let mut ops = Vec::new();
    let mut plan: Vec<(QName, Rewritten)> = Vec::new();
    // Places whose expression is written exactly as one already in `plan` (the same
    // text over columns printed the same): they take that copy's form, by its index.
    let mut followers: Vec<(QName, Rewritten, usize)> = Vec::new();
    let mut written_once: std::collections::HashMap<WrittenKey, usize> =
        std::collections::HashMap::new();
    let mut views: Vec<(QName, String)> = Vec::new();
    let mut next = 0;
    for (s, schema) in &first.catalog.schemas {
        // Indexes and views share one namespace per schema with tables and sequences.
        let mut taken: std::collections::BTreeSet<String> = schema
            .tables
            .iter()
            .flat_map(|(t, table)| {
                std::iter::once(t.clone())
                    .chain(table.indexes.keys().cloned())
                    .chain(table.uniques.keys().cloned())
                    .chain(table.primary_key.iter().map(|p| p.name.clone()))
            })
            .chain(schema.views.keys().cloned())
            .chain(schema.sequences.keys().cloned())
            .chain(schema.enums.keys().cloned())
            .collect();
        for (t, table) in &schema.tables {
            let q = QName::new(s.clone(), t.clone());
            // Columns, and every constraint name of the table.
            let mut columns: std::collections::BTreeSet<String> =
                table.columns.iter().map(|c| c.name.clone()).collect();
            columns.extend(table.checks.keys().cloned());
            columns.extend(table.uniques.keys().cloned());
            columns.extend(table.foreign_keys.keys().cloned());
            columns.extend(table.primary_key.iter().map(|p| p.name.clone()));
            for c in &table.columns {
                if let Some(g) = &c.generated {
                    let key = WrittenKey::over_columns("generated", &g.expression, t, table)
                        .map(|k| k.with(&c.data_type, c.collation.as_deref()));
                    if let Some(&from) = key.as_ref().and_then(|k| written_once.get(k)) {
                        let rewritten = Rewritten::Generated {
                            column: c.name.clone(),
                            copy: String::new(),
                        };
                        followers.push((q.clone(), rewritten, from));
                        continue;
                    }
                    let copy = fresh_name(&columns, &mut next);
                    columns.insert(copy.clone());
                    ops.push(Op::AddColumn(
                        q.clone(),
                        crate::schema::Column {
                            name: copy.clone(),
                            data_type: c.data_type.clone(),
                            nullable: true,
                            default: None,
                            identity: None,
                            generated: Some(g.clone()),
                            collation: c.collation.clone(),
                            comment: None,
                        },
                    ));
                    if let Some(key) = key {
                        written_once.insert(key, plan.len());
                    }
                    plan.push((
                        q.clone(),
                        Rewritten::Generated {
                            column: c.name.clone(),
                            copy,
                        },
                    ));
                } else if let Some(default) = c.default.as_ref().filter(|_| c.identity.is_none()) {
                    let rewritten = Rewritten::Default {
                        column: c.name.clone(),
                    };
                    // A default names no column: its form depends on its text and the
                    // column's type alone.
                    let key = WrittenKey::new("default", default)
                        .with(&c.data_type, c.collation.as_deref());
                    if let Some(&from) = written_once.get(&key) {
                        followers.push((q.clone(), rewritten, from));
                        continue;
                    }
                    let mut from = c.clone();
                    from.default = None;
                    ops.push(Op::AlterColumn {
                        table: q.clone(),
                        from,
                        to: c.clone(),
                    });
                    written_once.insert(key, plan.len());
                    plan.push((q.clone(), rewritten));
                }
            }
            for (name, check) in &table.checks {
                let key = WrittenKey::over_columns("check", &check.expression, t, table);
                if let Some(&from) = key.as_ref().and_then(|k| written_once.get(k)) {
                    let rewritten = Rewritten::Check {
                        name: name.clone(),
                        copy: String::new(),
                    };
                    followers.push((q.clone(), rewritten, from));
                    continue;
                }
                let copy = fresh_name(&columns, &mut next);
                columns.insert(copy.clone());
                ops.push(Op::AddCheck(q.clone(), copy.clone(), check.clone()));
                if let Some(key) = key {
                    written_once.insert(key, plan.len());
                }
                plan.push((
                    q.clone(),
                    Rewritten::Check {
                        name: name.clone(),
                        copy,
                    },
                ));
            }
            for (name, index) in &table.indexes {
                if index.predicate.is_none() && !index.keys.iter().any(|k| k.is_expression) {
                    continue;
                }
                let copy = fresh_name(&taken, &mut next);
                taken.insert(copy.clone());
                ops.push(Op::CreateIndex(q.clone(), copy.clone(), index.clone()));
                plan.push((
                    q.clone(),
                    Rewritten::Index {
                        name: name.clone(),
                        copy,
                    },
                ));
            }
        }
        for (v, view) in &schema.views {
            let copy = fresh_name(&taken, &mut next);
            taken.insert(copy.clone());
            let mut written = view.clone();
            written.comment = None;
            ops.push(Op::CreateView(QName::new(s.clone(), copy.clone()), written));
            views.push((QName::new(s.clone(), v.clone()), copy));
        }
    }
    if ops.is_empty() {
        return Ok(());
    }
    // Every name written qualified (no schema is called ""): the session's own
    // schema does not matter then. PostgreSQL's statements for these ops need nothing
    // of the catalog they start from, so none is copied for them.
    write_ops(
        driver,
        dialect,
        "",
        &Catalog::default(),
        &ops,
        "writing the desired schema's expressions as a revision would",
    )?;
    // Only the tables that hold a copy are read back (with any of the same name in
    // another schema: a name left out is left out in every schema), and the views.
    let holding: std::collections::BTreeSet<&str> =
        plan.iter().map(|(q, _)| q.name.as_str()).collect();
    let mut narrow = scope.clone();
    narrow.exclude_tables.extend(
        first
            .catalog
            .schemas
            .values()
            .flat_map(|s| s.tables.keys())
            .filter(|t| !holding.contains(t.as_str()))
            .cloned(),
    );
    let read = driver
        .inspect(&narrow)
        .map_err(|error| AutogenError::Inspect {
            which: "the shadow database",
            error,
        })?;
    let missing = |what: String| AutogenError::Shadow {
        doing: "reading back the desired schema's expressions as written".into(),
        error: DbError::new(format!("{what} is not there")),
    };
    // Every form is found before `first` changes, so an error leaves it as it was.
    let column_of =
        |t: &crate::schema::Table, name: &str| t.columns.iter().position(|c| c.name == name);
    let mut forms = Vec::with_capacity(plan.len());
    for (q, rewritten) in &plan {
        let back = read
            .catalog
            .schemas
            .get(&q.schema)
            .and_then(|s| s.tables.get(&q.name))
            .ok_or_else(|| missing(format!("table {q}")))?;
        let form: Vec<Option<String>> = match rewritten {
            Rewritten::Default { column } => vec![
                column_of(back, column)
                    .and_then(|i| back.columns[i].default.clone())
                    .ok_or_else(|| missing(format!("the default of {q}.{column}")))
                    .map(Some)?,
            ],
            Rewritten::Generated { copy, .. } => vec![
                column_of(back, copy)
                    .and_then(|i| back.columns[i].generated.as_ref())
                    .map(|g| g.expression.clone())
                    .ok_or_else(|| missing(format!("the generated column {q}.{copy}")))
                    .map(Some)?,
            ],
            Rewritten::Check { copy, .. } => vec![Some(
                back.checks
                    .get(copy)
                    .ok_or_else(|| missing(format!("the check {copy} on {q}")))?
                    .expression
                    .clone(),
            )],
            // The keys' expressions in order, then the predicate.
            Rewritten::Index { copy, .. } => {
                let index = back
                    .indexes
                    .get(copy)
                    .ok_or_else(|| missing(format!("the index {copy} on {q}")))?;
                index
                    .keys
                    .iter()
                    .map(|k| Some(k.expression.clone()))
                    .chain(std::iter::once(index.predicate.clone()))
                    .collect()
            }
        };
        forms.push(form);
    }
    let mut view_forms = Vec::with_capacity(views.len());
    for (q, copy) in &views {
        let form = read
            .catalog
            .schemas
            .get(&q.schema)
            .and_then(|s| s.views.get(copy))
            .ok_or_else(|| missing(format!("the view {}.{copy}", q.schema)))?;
        view_forms.push(form.definition.clone());
    }
    let placed = followers
        .into_iter()
        .map(|(q, rewritten, from)| (q, rewritten, forms[from].clone()))
        .collect::<Vec<_>>();
    let own = plan
        .into_iter()
        .zip(forms)
        .map(|((q, rewritten), form)| (q, rewritten, form));
    for (q, rewritten, mut form) in own.chain(placed) {
        let Some(table) = first
            .catalog
            .schemas
            .get_mut(&q.schema)
            .and_then(|s| s.tables.get_mut(&q.name))
        else {
            continue;
        };
        match rewritten {
            Rewritten::Default { column } => {
                if let Some(i) = column_of(table, &column) {
                    table.columns[i].default = form.remove(0);
                }
            }
            Rewritten::Generated { column, .. } => {
                if let Some(i) = column_of(table, &column) {
                    // Only a generated column is rewritten this way: its form is read
                    // back, STORED or VIRTUAL as it was.
                    if let (Some(expression), Some(g)) =
                        (form.remove(0), &mut table.columns[i].generated)
                    {
                        g.expression = expression;
                    }
                }
            }
            Rewritten::Check { name, .. } => {
                if let (Some(check), Some(Some(text))) = (table.checks.get_mut(&name), form.pop()) {
                    check.expression = text;
                }
            }
            Rewritten::Index { name, .. } => {
                if let Some(index) = table.indexes.get_mut(&name) {
                    index.predicate = form.pop().flatten();
                    for (key, written) in index.keys.iter_mut().zip(form) {
                        if key.is_expression
                            && let Some(text) = written
                        {
                            key.expression = text;
                        }
                    }
                }
            }
        }
    }
    for ((q, _), definition) in views.into_iter().zip(view_forms) {
        if let Some(view) = first
            .catalog
            .schemas
            .get_mut(&q.schema)
            .and_then(|s| s.views.get_mut(&q.name))
        {
            view.definition = definition;
        }
    }
    Ok(())
}

/// `ops` rendered from `start` as a revision would write them, and run through
/// `driver`. They are aludel's own statements: any refusal is an error, named by
/// `doing` and the statement.
fn write_ops(
    driver: &mut dyn Driver,
    dialect: Dialect,
    default_schema: &str,
    start: &Catalog,
    ops: &[Op],
    doing: &str,
) -> Result<(), AutogenError> {
    let rendered = render_ops(dialect, default_schema, start, ops)?;
    let statements: Vec<&str> = rendered
        .iter()
        .flat_map(|op| op.statements.iter().map(String::as_str))
        .collect();
    execute_in_batches(driver, &statements, &|_, _| false).map_err(|(at, error)| {
        AutogenError::Shadow {
            doing: format!("{doing}: {}", statements[at]),
            error,
        }
    })
}

/// The places of the tables' expressions that both catalogs hold and print
/// differently: what [`settle_expressions`] looks at (views are compared as printed).
pub fn differing_expressions(current: &Catalog, desired: &Catalog) -> Vec<ExpressionPlace> {
    let wanted = desired.expressions();
    current
        .expressions()
        .into_iter()
        .filter(|(place, text)| {
            place.what != "view" && wanted.get(place).is_some_and(|w| w != text)
        })
        .map(|(place, _)| place)
        .collect()
}

/// The live database's expressions that print differently from the desired schema's
/// same expression, put in the form aludel writes them, so that an expression that
/// means the same compares equal however it was first written.
///
/// The desired schema is compared as aludel writes it ([`as_written`]); a database
/// built another way (by hand, by another tool, restored from pg_dump) holds the form
/// its SQL loads as: PostgreSQL prints `c IN ('a', 'b')` on a `varchar` column one way,
/// and that printed text, loaded again, another. The tables holding such expressions
/// (with every enum and sequence of their schemas, without foreign keys) are written
/// into the empty shadow database `driver` as a revision would write them and read
/// back; each differing expression takes the form read back. A real difference stays
/// a difference. When the tables cannot be written there (a type aludel does not
/// model, say), the database's own forms are kept, and the difference shows.
pub fn settle_expressions(
    mut current: Inspection,
    differing: &[ExpressionPlace],
    driver: &mut dyn Driver,
    scope: &InspectScope,
    dialect: Dialect,
) -> Inspection {
    let mut subset = Catalog::default();
    for place in differing {
        let Some(schema) = current.catalog.schemas.get(&place.schema) else {
            continue;
        };
        let Some(table) = schema.tables.get(&place.owner) else {
            continue;
        };
        let into = subset
            .schemas
            .entry(place.schema.clone())
            .or_insert_with(|| crate::schema::Schema {
                enums: schema.enums.clone(),
                sequences: schema.sequences.clone(),
                ..Default::default()
            });
        let mut table = table.clone();
        table.foreign_keys.clear();
        into.tables.insert(place.owner.clone(), table);
    }
    let first = Inspection {
        catalog: subset,
        skipped: Vec::new(),
    };
    let Ok(written) = as_written(first, driver, scope, dialect) else {
        return current;
    };
    let settled = written.catalog.expressions();
    current.catalog.visit_expressions(&mut |place, text| {
        if differing.contains(&place)
            && let Some(form) = settled.get(&place)
        {
            *text = form.clone();
        }
    });
    current
}

/// Compares two inspections; both catalogs get an (empty) entry for every schema the
/// other has in scope, so an empty desired schema does not read as a dropped one.
/// `fallback_schema` is the database's default schema ([`Driver::default_schema`]),
/// used when neither catalog has one.
pub fn compare(
    current: Inspection,
    desired: Inspection,
    fallback_schema: &str,
    renames: &Renames,
) -> Comparison {
    let mut current_catalog = current.catalog;
    let mut desired_catalog = desired.catalog;
    let default_schema = default_schema(fallback_schema, &current_catalog, &desired_catalog);
    for c in [&mut current_catalog, &mut desired_catalog] {
        c.schemas.entry(default_schema.clone()).or_default();
    }
    let diff = crate::diff::diff(&current_catalog, &desired_catalog, renames);
    Comparison {
        diff,
        current: current_catalog,
        desired: desired_catalog,
        skipped: current.skipped,
        desired_skipped: desired.skipped,
        default_schema,
    }
}

/// The upgrade and downgrade SQL of a comparison, as a revision's sections hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sections {
    /// The upgrade section's body.
    pub upgrade: String,
    /// The downgrade section's body.
    pub downgrade: String,
}

/// Writes the comparison's changes as revision sections: each op under a comment that
/// says what it does, destructive ones marked, likely renames and objects left alone
/// noted at the top.
pub fn sections(c: &Comparison, dialect: Dialect) -> Result<Sections, AutogenError> {
    let inverse = c.diff.inverse();
    let up = render_ops(dialect, &c.default_schema, &c.current, &c.diff.ops)?;
    let down = render_ops(dialect, &c.default_schema, &c.desired, &inverse)?;
    // The database's own unmodelled objects stay through the upgrade, so a rebuild in
    // either direction would drop them.
    refuse_lost_objects(&up, &c.skipped)?;
    refuse_lost_objects(&down, &c.skipped)?;
    let mut head = String::new();
    for note in c.diff.suggestions.iter().chain(&c.skipped_notes()) {
        head.push_str(&format!("-- autogenerate: {note}\n"));
    }
    Ok(Sections {
        upgrade: format!("{head}{}", body(&up)),
        downgrade: body(&down),
    })
}

/// A SQLite table rebuild drops the table's triggers, which the catalog does not hold:
/// refused rather than written, since the revision would lose them silently.
fn refuse_lost_objects(rendered: &[RenderedOp], skipped: &[Skipped]) -> Result<(), AutogenError> {
    for r in rendered {
        let Some(table) = &r.rebuilt else { continue };
        let prefix = format!("{}.", table.name);
        let lost: Vec<&str> = skipped
            .iter()
            .filter(|s| s.schema == table.schema && s.name.starts_with(&prefix))
            .map(|s| s.name.as_str())
            .collect();
        if !lost.is_empty() {
            return Err(AutogenError::WouldLose(format!(
                "{} needs SQLite to rebuild table {table}, which would drop {} that aludel does not model; write this revision by hand (aludel revision -m MESSAGE), re-creating them after the rebuild",
                r.description,
                lost.join(", ")
            )));
        }
    }
    Ok(())
}

fn body(rendered: &[RenderedOp]) -> String {
    let mut out = String::new();
    for r in rendered {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("-- {}\n", r.description));
        if r.loses_data {
            out.push_str("-- WARNING: this loses data\n");
        }
        for n in &r.notes {
            out.push_str(&format!("-- NOTE: {n}\n"));
        }
        for s in &r.statements {
            out.push_str(s);
            out.push_str(";\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expression: &str) -> Option<Vec<String>> {
        names_in_expression(expression).map(|n| n.into_iter().collect())
    }

    #[test]
    fn a_server_version_is_read_down_to_its_major_version() {
        assert_eq!(
            server_major(
                "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc"
            ),
            "PostgreSQL 15"
        );
        assert_eq!(
            server_major("PostgreSQL 17beta1 on aarch64"),
            "PostgreSQL 17"
        );
        assert_eq!(server_major("PostgreSQL 16.0"), "PostgreSQL 16");
        assert_eq!(
            server_major("PostgreSQL 9.6.24 on x86_64"),
            "PostgreSQL 9.6"
        );
        assert_ne!(
            server_major("PostgreSQL 15.1 on x"),
            server_major("PostgreSQL 16.1 on x")
        );
        // Nothing to read a version from: the whole text, compared as it is.
        assert_eq!(server_major(" odd "), "odd");
        assert_eq!(server_major("Product vX"), "Product vX");
    }

    #[test]
    fn an_expression_names_its_words_and_quoted_names_but_not_its_strings() {
        assert_eq!(
            names(
                "((c)::text = ANY ((ARRAY['x'::character varying, 'y y'::character varying])::text[]))"
            ),
            Some(
                ["ANY", "ARRAY", "c", "character", "text", "varying"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            names(r#"(("Amount" > (0)::numeric) AND ("Q".* IS NOT NULL))"#),
            Some(
                ["AND", "Amount", "IS", "NOT", "NULL", "Q", "numeric"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            names(r#"("say ""hi""" <> '')"#),
            Some(vec![r#"say "hi""#.to_string()])
        );
        // A backslash is itself in a standard string, and escapes in an E'' one.
        assert_eq!(
            names(r"(s <> 'a\''b' AND d > 0)"),
            names("(s <> 'x' AND d > 0)")
        );
        assert_eq!(
            names(r"(s <> E'a\\' AND d > 0)"),
            names("(s <> E'' AND d > 0)")
        );
        assert_eq!(
            names(r"(s <> E'a\'' AND d > 0)"),
            names("(s <> E'' AND d > 0)")
        );
        // Not sure where a quote ends: no answer rather than a short one.
        assert_eq!(names("(s <> 'open)"), None);
        assert_eq!(names(r#"("open > 0)"#), None);
        assert_eq!(names(r"(s <> 'a\')"), Some(vec!["s".to_string()]));
        assert_eq!(names(r"(s <> E'a\')"), None);
    }

    #[test]
    fn an_expression_is_keyed_by_the_columns_it_names_and_their_types() {
        let table = |a: &str, b: &str| crate::schema::Table {
            columns: vec![
                crate::schema::Column {
                    name: "a".into(),
                    data_type: a.into(),
                    ..Default::default()
                },
                crate::schema::Column {
                    name: "Big B".into(),
                    data_type: b.into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let key = |e: &str, name: &str, t: &crate::schema::Table| {
            WrittenKey::over_columns("check", e, name, t)
        };
        let (int_text, int_int, bigint_text) = (
            table("integer", "text"),
            table("integer", "integer"),
            table("bigint", "text"),
        );
        // A column the expression does not name does not matter; one it names does.
        assert_eq!(
            key("(a > 0)", "t", &int_text),
            key("(a > 0)", "u", &int_int)
        );
        assert_ne!(
            key("(a > 0)", "t", &int_text),
            key("(a > 0)", "u", &bigint_text)
        );
        assert_ne!(
            key(r#"("Big B" <> '')"#, "t", &int_text),
            key(r#"("Big B" <> '')"#, "u", &int_int)
        );
        // Naming its own table (a whole-row reference), it is written on its own.
        assert_eq!(key("(t.* IS NOT NULL)", "t", &int_text), None);
        assert!(key("(t.* IS NOT NULL)", "u", &int_text).is_some());
        // The column's own type and collation count for a default.
        let default = |t: &str, c: Option<&str>| WrittenKey::new("default", "0").with(t, c);
        assert_ne!(default("integer", None), default("bigint", None));
        assert_ne!(default("text", None), default("text", Some("C")));
    }

    /// A name as PostgreSQL prints it: bare when it may be, else quoted.
    fn printed_name(name: &str) -> String {
        let bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if bare {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    /// A string as PostgreSQL prints it, with `standard_conforming_strings` on or off.
    fn printed_string(text: &str, standard: bool) -> String {
        if standard || !text.contains('\\') {
            format!("'{}'", text.replace('\'', "''"))
        } else {
            format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
        }
    }

    proptest::proptest! {
        /// Every name of a printed expression is found, whatever its strings hold.
        #[test]
        fn every_printed_name_is_found(
            parts in proptest::collection::vec(
                (proptest::bool::ANY, "[a-zA-Z_\"'\\\\ ]{1,8}"), 1..8),
            standard in proptest::bool::ANY,
        ) {
            let mut expression = String::from("(");
            let mut wanted = Vec::new();
            for (i, (is_name, text)) in parts.iter().enumerate() {
                if i > 0 {
                    expression.push_str(" AND ");
                }
                if *is_name {
                    expression.push_str(&printed_name(text));
                    wanted.push(text.clone());
                } else {
                    expression.push_str(&printed_string(text, standard));
                    expression.push_str("::text");
                }
            }
            expression.push(')');
            let found = names_in_expression(&expression);
            proptest::prop_assert!(found.is_some(), "{}", expression);
            let found = found.unwrap_or_default();
            for name in wanted {
                proptest::prop_assert!(found.contains(&name), "{} in {}", name, expression);
            }
        }
    }

    #[test]
    fn the_desired_cache_serves_only_the_exact_key() {
        let dir = tempfile::tempdir().unwrap();
        let scope = InspectScope::default();
        let st = |sql: &str| {
            vec![(
                PathBuf::from("schema.sql"),
                crate::script::Statement {
                    sql: sql.into(),
                    line: 1,
                },
            )]
        };
        let key = DesiredCache::key_text(
            Dialect::Sqlite,
            "3.50",
            &scope,
            &st("CREATE TABLE a (id int)"),
        );
        let cache = DesiredCache::new(dir.path(), key.clone());
        assert!(cache.load().is_none());
        let mut inspection = Inspection::default();
        inspection.catalog.schemas.entry("main".into()).or_default();
        cache.store(&inspection);
        assert_eq!(cache.load(), Some(inspection.clone()));
        // Another statement, another server version: no entry.
        let other = DesiredCache::key_text(
            Dialect::Sqlite,
            "3.50",
            &scope,
            &st("CREATE TABLE b (id int)"),
        );
        assert!(DesiredCache::new(dir.path(), other).load().is_none());
        let newer = DesiredCache::key_text(
            Dialect::Sqlite,
            "3.51",
            &scope,
            &st("CREATE TABLE a (id int)"),
        );
        assert!(DesiredCache::new(dir.path(), newer).load().is_none());
        // An entry whose key text differs (a hash collision, or an edit) is not served.
        let forged = DesiredCache {
            file: cache.file.clone(),
            key: format!("{key}x"),
        };
        assert!(forged.load().is_none());
    }

    #[test]
    fn desired_statements_come_from_a_file_or_a_folder_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("schema");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("b.sql"), "CREATE TABLE b (id int);").unwrap();
        std::fs::write(
            folder.join("a.sql"),
            "-- first\nCREATE TABLE a (id int);\n\nCREATE INDEX a_i ON a (id);",
        )
        .unwrap();
        std::fs::write(folder.join("notes.txt"), "not sql").unwrap();
        let got = desired_statements(&folder, Dialect::Sqlite).unwrap();
        let seen: Vec<(String, usize, &str)> = got
            .iter()
            .map(|(p, s)| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    s.line,
                    s.sql.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a.sql".to_string(), 2, "CREATE TABLE a (id int)"),
                ("a.sql".to_string(), 4, "CREATE INDEX a_i ON a (id)"),
                ("b.sql".to_string(), 1, "CREATE TABLE b (id int)"),
            ]
        );
        let missing =
            desired_statements(&dir.path().join("nope.sql"), Dialect::Sqlite).unwrap_err();
        assert!(missing.to_string().contains("nope.sql"), "{missing}");
    }
}
