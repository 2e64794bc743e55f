//! The only code that talks to a live database: connect, execute, transactions, the
//! run lock and the version rows, behind one blocking trait with a folder per dialect.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

use crate::render::VersionTable;
use crate::url::{DatabaseUrl, Dialect};

/// The databases this build of the library can connect to, by its cargo features
/// (`mysql`, `postgres`, `sqlite`), for `aludel --version` and for applications to report.
pub const COMPILED_DATABASES: &[&str] = &[
    #[cfg(feature = "mysql")]
    "mysql",
    #[cfg(feature = "postgres")]
    "postgres",
    #[cfg(feature = "sqlite")]
    "sqlite",
];

/// An error the database reported, with its own text. The errors that carry one
/// return it as their [`std::error::Error::source`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    /// The database's message, with detail and hint when it gives them. Never holds a
    /// password: URLs in it are redacted.
    pub(crate) message: String,
    /// The SQLSTATE or native error code, when known.
    pub(crate) code: Option<String>,
    /// What kind of failure it is, as the driver tells from the code: what a user
    /// should do about it depends on this, not on the text.
    pub(crate) kind: DbErrorKind,
    /// Written by aludel about what it saw (a closed connection, a changed version
    /// table), not the database's own error.
    pub(crate) ours: bool,
}

/// What a database error means for the run, told by the driver from its own codes
/// (or, for [`DbErrorKind::VersionTableChanged`], by the runner from what it read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbErrorKind {
    /// The statement itself failed (syntax, a missing object, a constraint): the SQL
    /// is what to fix.
    #[default]
    Statement,
    /// The session is gone: the network failed, the server restarted or crashed, an
    /// administrator terminated it, or a server timeout ended it. Whatever was in
    /// flight may or may not have committed.
    ConnectionLost,
    /// The server is out of disk space, memory or another resource.
    OutOfResources,
    /// The database accepts no writes (a standby, a read-only setting or file).
    ReadOnly,
    /// The statement was cancelled: a statement timeout or an administrator.
    Cancelled,
    /// A lock the statement needed was not granted in time (`lock_timeout`, busy).
    LockNotAvailable,
    /// One transaction took more locks than the server has room for (PostgreSQL's
    /// `max_locks_per_transaction`).
    TooManyLocks,
    /// The statement names something of the server's that does not exist (a role, a
    /// setting), as opposed to a table or column of the schema.
    UndefinedObject,
    /// The user may not do what the statement does.
    InsufficientPrivilege,
    /// A value the statement gives is refused (`SET ROLE` to a role that does not
    /// exist, an unknown setting's value).
    InvalidParameterValue,
    /// The statement cannot run inside a transaction block (`CREATE INDEX
    /// CONCURRENTLY`, `CREATE DATABASE`).
    NeedsNoTransaction,
    /// The statement creates something that already exists (a table, an index, a
    /// column, a schema, a constraint or type, a function).
    AlreadyExists,
    /// The version table did not hold what the run expected: something other than the
    /// run changed it (aludel's finding, [`DbError::aludel`]).
    VersionTableChanged,
    /// The run lock is no longer known to be this run's: the session holding it ended
    /// (an administrator's KILL, a server timeout, a network fault) or did not answer
    /// in time while the run went on (aludel's finding, [`Driver::check_lock`]). No
    /// statement was sent after it; the record of one already applied may be.
    LockLost,
}

impl DbErrorKind {
    /// What the user should do after a revision failed this way, and whether the
    /// failure is the revision's fault.
    pub fn advice(self) -> &'static str {
        match self {
            DbErrorKind::Statement
            | DbErrorKind::UndefinedObject
            | DbErrorKind::InsufficientPrivilege
            | DbErrorKind::InvalidParameterValue
            | DbErrorKind::AlreadyExists => "fix the revision and run the command again",
            DbErrorKind::NeedsNoTransaction => {
                "the statement cannot run inside a transaction, and aludel runs each revision in one: add `-- aludel:transaction false` to the revision's header (its statements then run one by one, each committing on its own, so such a statement is best in a revision of its own), then run the command again"
            }
            DbErrorKind::ConnectionLost => {
                "the connection to the database was lost; run the command again once the database is reachable"
            }
            DbErrorKind::OutOfResources | DbErrorKind::TooManyLocks => {
                "the database ran out of a resource (disk space, memory, connections); free some, then run the command again"
            }
            DbErrorKind::ReadOnly => {
                "the database accepts no writes (a read-only replica, a read-only setting or file); point aludel at the primary, then run the command again"
            }
            DbErrorKind::Cancelled => {
                "the statement was cancelled (a statement timeout or an administrator); raise the timeout or run it when the database is quieter, then run the command again"
            }
            DbErrorKind::VersionTableChanged => {
                "check the database, then set the version table with `aludel stamp`"
            }
            DbErrorKind::LockLost => {
                "running the command again is safe: it takes the lock again, reads where the database is and continues from there"
            }
            DbErrorKind::LockNotAvailable => {
                "a lock the statement needed was not granted in time (other sessions hold it); run the command again when they are done, or raise lock_timeout"
            }
        }
    }
}

impl DbError {
    /// This error, with `other`, a second failure of the same moment, named in its
    /// text after `what` (unless the text holds it already): a message that gives one
    /// cause must not leave the other for the next run to find.
    pub(crate) fn with_other(mut self, what: &str, other: &DbError) -> DbError {
        if !self.message.contains(&other.message) {
            self.message = format!("{} ({what}: {})", self.message, other.message);
        }
        self
    }

    /// An error from text, redacting any URL in it.
    pub fn new(message: impl AsRef<str>) -> DbError {
        DbError {
            message: crate::url::redact_str(message.as_ref()),
            code: None,
            kind: DbErrorKind::Statement,
            ours: false,
        }
    }

    /// An error aludel found about the database or the session (a closed connection,
    /// a version table that does not hold what it should), rather than one the
    /// database reported; printed as aludel's, not as the database's.
    pub fn aludel(message: impl AsRef<str>) -> DbError {
        DbError {
            ours: true,
            ..DbError::new(message)
        }
    }

    /// The database's message, with detail and hint when it gives them; URLs in it
    /// redacted.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SQLSTATE (PostgreSQL) or native error number (MySQL, SQLite), when known.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }

    /// The same error, with the database's own code (SQLSTATE or error number).
    pub fn with_code(mut self, code: impl Into<String>) -> DbError {
        self.code = Some(code.into());
        self
    }

    /// The same error, of another kind.
    pub fn with_kind(mut self, kind: DbErrorKind) -> DbError {
        self.kind = kind;
        self
    }

    /// Whether the database reported this error (rather than aludel, about what it
    /// read).
    pub fn from_database(&self) -> bool {
        !self.ours
    }

    /// Whether the session died with this error, so that the outcome of whatever was
    /// in flight (a COMMIT) is not known from this connection.
    pub fn connection_lost(&self) -> bool {
        self.kind == DbErrorKind::ConnectionLost
    }
}

/// A failure to open a connection.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The database could not be reached or refused us; worth another attempt.
    #[error("cannot connect to {}: {}", crate::text::one_line(.url, crate::text::LINE_CHARS), crate::text::message(.message))]
    Unreachable {
        /// The redacted URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The server refused us for a reason waiting cannot fix (authentication, an
    /// untrusted certificate).
    #[error("cannot connect to {}: {}", crate::text::one_line(.url, crate::text::LINE_CHARS), crate::text::message(.message))]
    Rejected {
        /// The redacted URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The URL asks for something this build cannot do; retrying will not help.
    #[error("cannot connect to {}: {}", crate::text::one_line(.url, crate::text::LINE_CHARS), crate::text::message(.message))]
    Unsupported {
        /// The redacted URL.
        url: String,
        /// Why.
        message: String,
    },
}

impl StatementFailure {
    /// The statement at `index` of a list failed with `error` (for a [`Driver`] of
    /// another crate).
    pub fn new(index: usize, error: DbError) -> StatementFailure {
        StatementFailure { index, error }
    }
}

impl ConnectError {
    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectError::Unreachable { .. })
    }
}

/// The outcome of running a list of statements: which one failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatementFailure {
    /// Index of the failing statement in the list given.
    pub index: usize,
    /// The database's error.
    pub error: DbError,
}

/// What a statement did to rows, as the server reports it: how many it found and how
/// many of those it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsTouched {
    /// Rows the statement's `WHERE` found (all of them, without one).
    pub matched: u64,
    /// Rows it changed.
    pub changed: u64,
}

/// Which part of a database introspection reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectScope {
    /// Schemas to read (PostgreSQL); empty means the connection's current schema.
    /// SQLite has one schema, `main`, whatever this says.
    pub schemas: Vec<String>,
    /// Table names left out in every schema read (the version table, `exclude_tables`).
    pub exclude_tables: Vec<String>,
}

/// A catalog read from a database, and what it saw but does not model.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Inspection {
    /// What was read.
    pub catalog: crate::schema::Catalog,
    /// Objects seen but not modelled (a trigger, a policy, a materialized view, a
    /// table aludel cannot read). Autogenerate says so and never drops them.
    pub skipped: Vec<Skipped>,
}

/// One object introspection saw but left out of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    /// Its schema (`main` on SQLite).
    pub schema: String,
    /// What kind of object: `trigger`, `policy`, `materialized view`, `rule`, ...
    pub kind: String,
    /// Its name; for an object on a table, `table.name`.
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// A live connection. Blocking: a migration run is sequential by nature. `Send`, so
/// that several connections can work side by side (loading a desired schema).
pub trait Driver: Send {
    /// The dialect spoken.
    fn dialect(&self) -> Dialect;

    /// Runs one statement (or several, for aludel's own framing), discarding results.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Runs statements in order, stopping at the first failure. Drivers may send them
    /// in fewer round trips; the failing statement is still identified.
    fn execute_all(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
        for (index, sql) in statements.iter().enumerate() {
            self.execute(sql)
                .map_err(|error| StatementFailure { index, error })?;
        }
        Ok(())
    }

    /// Whether [`Driver::execute_counting`] reports what an `UPDATE` found and changed
    /// (MySQL and MariaDB, in the answer to the statement itself).
    fn reports_rows_touched(&self) -> bool {
        false
    }

    /// Runs statements in order like [`Driver::execute_all`] and returns what each did
    /// to rows where the server reports both counts ([`RowsTouched`]), `None` where it
    /// does not. The default reports nothing: callers then read the rows back.
    fn execute_counting(
        &mut self,
        statements: &[&str],
    ) -> Result<Vec<Option<RowsTouched>>, StatementFailure> {
        self.execute_all(statements)?;
        Ok(vec![None; statements.len()])
    }

    /// Runs `statements` in order, then `query`, and returns the query's first column.
    /// Drivers may send all of it in one round trip, which outside a transaction makes
    /// it one implicit transaction: callers use it inside one, or for statements that
    /// belong together (a step's version rows). A failure still names its statement,
    /// with `statements.len()` standing for `query`.
    fn execute_batch(
        &mut self,
        statements: &[&str],
        query: &str,
    ) -> Result<Vec<String>, StatementFailure> {
        self.execute_all(statements)?;
        self.query_column(query).map_err(|error| StatementFailure {
            index: statements.len(),
            error,
        })
    }

    /// Runs a query and returns its first column as text.
    fn query_column(&mut self, sql: &str) -> Result<Vec<String>, DbError>;

    /// Whether the version table exists.
    fn version_table_exists(&mut self, table: &VersionTable) -> Result<bool, DbError>;

    /// Tries once to take the run lock for `table`; `Ok(false)` when another run has it.
    fn try_lock(&mut self, table: &VersionTable) -> Result<bool, DbError>;

    /// Who holds the run lock, as far as the database tells (pid, host, application).
    fn lock_holder(&mut self, table: &VersionTable) -> Result<Option<String>, DbError>;

    /// Releases the run lock.
    fn unlock(&mut self, table: &VersionTable) -> Result<(), DbError>;

    /// Whether the run lock [`Driver::try_lock`] took is still held, by the database's
    /// answer no older than `max_age` (asked now when the last is older; `ZERO`: ask
    /// now): an error of kind [`DbErrorKind::LockLost`] when it is not. The runner asks
    /// before each statement and transaction it sends (not before recording what a
    /// statement already applied), and after reading the version table back. A driver
    /// that answers `LockLost` while its working session lives must keep other runs
    /// from starting meanwhile (MySQL's work lock), since that record is still sent. Where the lock lives in the working session (the default), it lasts
    /// as long as the session, which the next statement tells: `Ok`.
    fn check_lock(
        &mut self,
        table: &VersionTable,
        max_age: std::time::Duration,
    ) -> Result<(), DbError> {
        let _ = (table, max_age);
        Ok(())
    }

    /// Starts `record`, one statement that commits by itself (the row that records an
    /// applied statement in the journal), on another session of this driver's, so
    /// that its commit overlaps the statements the caller sends here next; `false`
    /// where the driver has no such session (the caller then sends it here, first).
    /// [`Driver::record_done`] must be asked before the next one. A record is only
    /// ever of what was already applied, so its ending after the next statement
    /// began claims nothing untrue.
    fn record_beside(&mut self, record: &str) -> bool {
        let _ = record;
        false
    }

    /// Waits for the statement [`Driver::record_beside`] started (`Ok` when none is
    /// under way): an error when it failed or its session did not answer.
    fn record_done(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// Whether the run lock is held on a connection of the driver's own (MySQL), so
    /// that it outlives the loss of this session: [`Driver::unlock`] and
    /// [`Driver::check_lock`] still work after it. `false` where the lock goes with
    /// the session.
    fn lock_outlives_session(&self) -> bool {
        false
    }

    /// Reads the schema objects in `scope` into a [`crate::schema::Catalog`], in a fixed
    /// number of queries however many tables there are.
    fn inspect(&mut self, scope: &InspectScope) -> Result<Inspection, DbError> {
        let _ = scope;
        Err(DbError::new(format!(
            "reading the schema of a {} database is not supported yet",
            self.dialect()
        )))
    }

    /// The schemas [`Driver::inspect`] reads for `scope`, as its catalog names them:
    /// those `scope` names, or, when it names none, the session's default one (none
    /// when that does not exist). A cheap question: the caller may decide on it
    /// before the reading itself, which may then run on another thread.
    fn inspected_schemas(&mut self, scope: &InspectScope) -> Result<Vec<String>, DbError> {
        Ok(scope.schemas.clone())
    }

    /// Puts the session's settings back to what it started with (PostgreSQL: the role,
    /// `search_path` and every other `SET`), so that SQL run on this connection before
    /// leaves nothing behind that changes what the next statements read.
    fn reset_session(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// A name for this connection's server session, by which another connection can
    /// end it ([`Driver::end_session`]); `None` where sessions cannot be named.
    fn session_id(&self) -> Option<String> {
        None
    }

    /// Ends the session named `id` (another connection's, which was lost) and waits,
    /// up to `within`, until the server is done with it: whatever it had in flight (a
    /// COMMIT) is then decided, and what this connection reads is final. `Ok` when it
    /// is gone; an error when it still runs or cannot be looked at.
    fn end_session(&mut self, id: &str, within: std::time::Duration) -> Result<(), DbError> {
        let _ = (id, within);
        Ok(())
    }

    /// Makes every commit so far durable. Revisions before a run's last commit
    /// asynchronously where the database allows it; when a run stops early, this
    /// flushes them before the error is reported.
    fn flush(&mut self, table: &VersionTable) -> Result<(), DbError> {
        let _ = table;
        Ok(())
    }

    /// The indexes the database holds but marks INVALID (PostgreSQL: what a failed
    /// `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` leaves behind), in
    /// every schema. Other databases have none.
    fn invalid_indexes(&mut self) -> Result<Vec<InvalidIndex>, DbError> {
        Ok(Vec::new())
    }

    /// The server's version as the database prints it (PostgreSQL's `version()`),
    /// which decides how it prints what introspection reads.
    fn server_version(&mut self) -> Result<String, DbError>;

    // Scratch (shadow) databases: where autogenerate and `check` load the desired
    // schema. What differs between databases is here; `autogen::Shadow` decides
    // when each is called.

    /// Sets this session up as scratch space's: nothing it writes needs to survive a
    /// crash (PostgreSQL: commits do not wait for the write-ahead log).
    fn scratch_session(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// Whether the server waits for the disk as it builds what a scratch session
    /// makes (PostgreSQL with `fsync` on syncs every index file it builds): sessions
    /// beyond its cores then fill the time its backends wait. `true` when unsure.
    fn scratch_waits_for_disk(&mut self) -> bool {
        true
    }

    /// Creates the empty database `name` on this connection's server, for scratch
    /// use; [`DatabaseUrl::with_database`] names it for other connections.
    fn create_scratch_database(&mut self, name: &str) -> Result<(), DbError> {
        let _ = name;
        Err(DbError::new(format!(
            "a {} server cannot make a scratch database",
            self.dialect()
        )))
    }

    /// The statement that drops the database `name` that
    /// [`Driver::create_scratch_database`] made, ending any session still in it: what
    /// [`Driver::drop_scratch_database`] runs, and what a user is told to run when it
    /// could not be. `None` where a server makes no scratch database.
    fn scratch_drop_statement(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Drops the database `name` that [`Driver::create_scratch_database`] made
    /// ([`Driver::scratch_drop_statement`]).
    fn drop_scratch_database(&mut self, name: &str) -> Result<(), DbError> {
        match self.scratch_drop_statement(name) {
            Some(sql) => self.execute(&sql),
            None => Ok(()),
        }
    }

    /// On a connection to a database [`Driver::create_scratch_database`] just made:
    /// whether it holds nothing beyond what an empty database holds (PostgreSQL
    /// copies `template1`, which may hold more). Only such a database is emptied
    /// for its next use ([`Driver::empty_scratch_database`]); any doubt is `false`.
    fn scratch_starts_empty(&mut self) -> bool {
        false
    }

    /// Empties the database this session is in, which [`Driver::create_scratch_database`]
    /// made and which started empty, for its next use as if it were new (cheaper than
    /// dropping it and making another). `round` counts the uses so far, so that
    /// what is moved aside gets names of its own. `Ok(false)` when it cannot be
    /// emptied so: the caller makes a new one.
    fn empty_scratch_database(&mut self, round: usize) -> Result<bool, DbError> {
        let _ = round;
        Ok(false)
    }

    /// Empties `schemas` (or, when empty, [`Driver::default_schema`]) of a database
    /// the user gave as scratch space (`shadow_database_url`): everything in them is
    /// dropped and they are made again, empty. Also drops what the session made for
    /// itself (temporary tables), which would hide the next use's tables.
    fn empty_schemas(&mut self, schemas: &[String]) -> Result<(), DbError> {
        let _ = schemas;
        Err(DbError::new(format!(
            "a {} database cannot be emptied for scratch use",
            self.dialect()
        )))
    }

    /// The schema that unqualified names are in, where introspection finds nothing
    /// to tell it (PostgreSQL `public`, SQLite `main`, MySQL the connection's
    /// database).
    fn default_schema(&mut self) -> String;

    /// Whether the desired schema loaded into this scratch database can have its
    /// expressions written again in place (`autogen::written_in_place`): nothing
    /// there would react to the writing (PostgreSQL: no event trigger, no table with
    /// children). `Ok(false)` where the database cannot do it at all.
    fn can_rewrite_in_place(&mut self) -> Result<bool, DbError> {
        Ok(false)
    }
}

/// A scratch database with no server to make it on (SQLite's): its URL, and the
/// file to remove when done, if any.
#[derive(Debug)]
pub struct ServerlessScratch {
    /// Where it is.
    pub url: DatabaseUrl,
    /// A temporary file to remove when done.
    pub file: Option<std::path::PathBuf>,
}

/// Where a scratch database of `dialect` lives when no server makes it (SQLite: in
/// memory, or a temporary file named after `unique` when `shared`, because other
/// connections open it); `None` for a server's dialect, whose scratch databases
/// [`Driver::create_scratch_database`] makes.
pub fn serverless_scratch(
    dialect: Dialect,
    shared: bool,
    unique: &str,
) -> Option<Result<ServerlessScratch, DbError>> {
    let _ = (shared, unique);
    match dialect {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Some(sqlite::scratch(shared, unique)),
        _ => None,
    }
}

/// An index the database keeps up to date but does not use, left by a concurrent
/// build that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidIndex {
    /// Its name, as the database's messages quote it.
    pub name: String,
    /// Its schema-qualified name, quoted where needed, for a `DROP INDEX`.
    pub qualified: String,
}

impl InvalidIndex {
    /// An index named `name`, `qualified` for a `DROP INDEX` (for a [`Driver`] of
    /// another crate).
    pub fn new(name: impl Into<String>, qualified: impl Into<String>) -> InvalidIndex {
        InvalidIndex {
            name: name.into(),
            qualified: qualified.into(),
        }
    }
}

/// A scratch (shadow) database aludel made and could not drop
/// ([`Driver::drop_scratch_database`]): still on its server, or perhaps
/// ([`LeftShadow::refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeftShadow {
    /// The database's name.
    pub name: String,
    /// Its server, as `host:port` (the URL's host alone when it names no port).
    pub server: String,
    /// The statement that drops it, run on its server as a user who may.
    pub statement: String,
    /// Why the attempts failed.
    pub error: String,
    /// Whether the server answered the last drop sent that it did not drop it.
    /// Otherwise no answer came (the connection was lost), and a drop sent may have
    /// run: the database may be gone.
    pub refused: bool,
}

impl std::fmt::Display for LeftShadow {
    /// `NAME on HOST:PORT (why): it is still there; drop it with: STATEMENT`, or `it
    /// may still be there` when no answer said whether a drop ran.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} ({}): {}; drop it with: {}",
            self.name,
            self.server,
            self.error,
            self.whereabouts(),
            self.statement
        )
    }
}

impl LeftShadow {
    /// What is known of it: there, or perhaps there (the statement drops it only if
    /// it exists, so running it is safe either way).
    pub fn whereabouts(&self) -> &'static str {
        if self.refused {
            "it is still there"
        } else {
            "it may still be there (no answer said whether a drop ran)"
        }
    }
}

/// Options for opening a connection that do not belong in the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to wait for locks held by others (SQLite busy timeout).
    pub busy_timeout: std::time::Duration,
    /// How long aludel's own requests (the lock, the version table, BEGIN and COMMIT)
    /// may go unanswered before the connection is taken as lost. A revision's own
    /// statements are not bounded by it.
    pub response_timeout: std::time::Duration,
}

impl From<&crate::config::ConnectPolicy> for ConnectOptions {
    /// What a `[connect]` table says: SQLite's busy timeout is the lock timeout.
    fn from(policy: &crate::config::ConnectPolicy) -> Self {
        ConnectOptions {
            busy_timeout: std::time::Duration::from_secs_f64(policy.lock_timeout_seconds),
            response_timeout: std::time::Duration::from_secs_f64(policy.response_timeout_seconds),
        }
    }
}

impl Default for ConnectOptions {
    /// As the `[connect]` defaults say.
    fn default() -> Self {
        ConnectOptions::from(&crate::config::ConnectPolicy::default())
    }
}

/// Opens a connection for `url`.
pub fn connect(
    url: &DatabaseUrl,
    options: &ConnectOptions,
) -> Result<Box<dyn Driver>, ConnectError> {
    let _ = options;
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(Box::new(sqlite::SqliteDriver::connect(url, options)?)),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(Box::new(postgres::PostgresDriver::connect(url, options)?)),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(Box::new(mysql::MysqlDriver::connect(url, options)?)),
        // Reached in builds without every driver.
        #[allow(unreachable_patterns)]
        other => Err(ConnectError::Unsupported {
            url: url.to_string(),
            message: format!(
                "this build of aludel has no {other} driver (offline --sql works for every dialect)"
            ),
        }),
    }
}

/// A stable 64-bit key for the run lock of one version table, the same in every
/// process (FNV-1a: std's hasher is randomly seeded per process). `schema` is the
/// schema the table really lives in, as the server resolves it, so that two configs
/// naming the same table differently (schema given or left to the search path) share
/// one lock. The database is not part of the key: the server scopes locks to it.
pub fn lock_key(schema: &str, table: &VersionTable) -> i64 {
    let text = format!("aludel:{schema}.{}", table.name);
    stable_hash(text.as_bytes()) as i64
}

/// FNV-1a: the same in every process and build, unlike std's seeded hasher.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = crate::graph::IdHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// A short description of this process for lock holders: `pid N on HOST`.
pub fn process_description() -> String {
    format!(
        "pid {} on {}",
        std::process::id(),
        gethostname::gethostname().to_string_lossy()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_databases_follow_the_features() {
        assert_eq!(
            COMPILED_DATABASES.contains(&"postgres"),
            cfg!(feature = "postgres")
        );
        assert_eq!(
            COMPILED_DATABASES.contains(&"sqlite"),
            cfg!(feature = "sqlite")
        );
    }

    #[test]
    fn lock_keys_are_stable_and_distinct_per_table() {
        let t = |name: &str| VersionTable {
            name: name.into(),
            schema: None,
            dialect: Dialect::Postgres,
        };
        assert_eq!(lock_key("public", &t("v")), lock_key("public", &t("v")));
        assert_ne!(lock_key("public", &t("v")), lock_key("public", &t("w")));
        assert_ne!(lock_key("public", &t("v")), lock_key("other", &t("v")));
    }
}
