//! PostgreSQL over tokio-postgres, driven by a single-threaded runtime of its own so
//! that the [`Driver`] stays blocking, with TLS from rustls. The driver may be used
//! from inside an application's own tokio runtime (see [`Io`]). tokio-postgres rather
//! than its blocking wrapper because only it shows each statement's completion in a
//! multi-statement query: a revision's statements then go in one round trip and a
//! failure still names its statement.
//!
//! The run lock is a session-level advisory lock polled with `pg_try_advisory_lock`:
//! polling never queues behind `CREATE INDEX CONCURRENTLY`, and the session keeps it
//! across the per-revision transactions.

mod inspect;
mod scratch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

use super::{
    ConnectError, DbError, DbErrorKind, Driver, InspectScope, Inspection, StatementFailure,
    lock_key, process_description,
};
use crate::driver::ConnectOptions;
use crate::render::VersionTable;
use crate::url::{DatabaseUrl, Dialect};

/// A connection to one PostgreSQL database.
pub struct PostgresDriver {
    /// Dropped before `io`: its end is what tells the connection to say goodbye.
    client: Client,
    /// Runs the connection's I/O while a request is waited on.
    io: Io,
    /// The lock key, once the version table's schema is resolved.
    lock: Option<i64>,
    /// The server session: `pid@backend_start`, unique across pid reuse and restarts.
    session: Option<String>,
    /// How long aludel's own requests may go unanswered ([`ConnectOptions`]).
    response_timeout: Duration,
    /// Set when a request went unanswered: the connection is not used again. (Atomic
    /// so that the driver is `Sync`: a request may be waited on from another thread,
    /// see [`Io::block_on`].)
    given_up: AtomicBool,
    /// How to open a second connection that asks the server whether this one's
    /// session is still working, when a request goes unanswered; `None` on such a
    /// second connection itself.
    probe: Option<(DatabaseUrl, ConnectOptions)>,
}

/// The driver's own single-threaded runtime, which runs the connection's I/O while a
/// request is waited on.
///
/// An application may call the blocking API from code that runs inside its own tokio
/// runtime (a handler of a `#[tokio::main]` program, a `spawn_blocking` closure).
/// tokio refuses to start one runtime from within another's context, and to drop
/// one there: inside a runtime, each wait happens on a short-lived thread of its
/// own, outside that context, while the calling thread blocks; and a runtime dropped
/// there is shut down without waiting for its blocking threads (a DNS lookup under
/// way, at most, finishes alone).
struct Io {
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    /// The task running the connection's I/O, once connected: when the client is
    /// gone it sends the server a Terminate message and closes the socket, which
    /// [`Io`]'s drop lets it do.
    connection: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long the end of a connection may take: sending Terminate and closing the socket
/// do not wait for the server (the connection sends Terminate once the answers it
/// still expects have come), so this is only reached where the socket cannot take
/// even that, or an answer never comes.
const CLOSE_LIMIT: Duration = Duration::from_secs(1);

impl Io {
    fn new() -> std::io::Result<Io> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Io {
            runtime: Some(runtime),
            connection: std::sync::Mutex::new(None),
        })
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Option<tokio::task::JoinHandle<()>>> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets the connection task end the session politely, as PostgreSQL expects of a
    /// client (without it the server logs `could not receive data from client` for
    /// every aludel run). Only after the client is dropped, when nothing waits for an
    /// answer; a connection given up on is just closed.
    fn close(&mut self, politely: bool) {
        let Some(task) = self.connection().take() else {
            return;
        };
        if !politely {
            task.abort();
            return;
        }
        // Past the limit, dropping the runtime ends the task and closes the socket.
        // (The timer is made inside the runtime, whose clock it needs.)
        let _ = self.block_on(async move { tokio::time::timeout(CLOSE_LIMIT, task).await });
    }

    /// Runs `future` to its end on this runtime. An error only when no thread could
    /// be started to wait from.
    fn block_on<F>(&self, future: F) -> Result<F::Output, DbError>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let Some(runtime) = &self.runtime else {
            return Err(
                DbError::aludel("the connection is closed").with_kind(DbErrorKind::ConnectionLost)
            );
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(runtime.block_on(future));
        }
        std::thread::scope(|scope| {
            let waiter = std::thread::Builder::new()
                .name("aludel-postgres".into())
                .spawn_scoped(scope, || runtime.block_on(future))
                .map_err(|e| {
                    DbError::new(format!(
                        "cannot start a thread to wait for PostgreSQL on (called from inside a tokio runtime): {e}"
                    ))
                    .with_kind(DbErrorKind::OutOfResources)
                })?;
            // A panic on the waiting thread is the caller's panic.
            waiter
                .join()
                .map_err(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for PostgresDriver {
    fn drop(&mut self) {
        // A request still unanswered would hold the goodbye back until the limit.
        if self.given_up.load(Ordering::Relaxed) {
            self.io.close(false);
        }
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        self.close(true);
        if let Some(runtime) = self.runtime.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            runtime.shutdown_background();
        }
    }
}

fn db_error(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => {
            let mut message = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                message.push_str(&format!("\nDETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                message.push_str(&format!("\nHINT: {h}"));
            }
            let code = db.code().code();
            // FATAL and PANIC end the session whatever the code says.
            use tokio_postgres::error::Severity;
            let kind = if matches!(
                db.parsed_severity(),
                Some(Severity::Fatal | Severity::Panic)
            ) {
                DbErrorKind::ConnectionLost
            } else {
                error_kind(code)
            };
            DbError {
                message: crate::url::redact_str(&message),
                code: Some(code.to_string()),
                kind,
                ours: false,
            }
        }
        // No error from the server: the connection closed, reading or writing it
        // failed (a reset, a keepalive or tcp_user_timeout giving up), or the server
        // said something unreadable. The session is gone then; other client-side
        // errors (a request that cannot be encoded, a row of another shape) are not
        // about the connection.
        None => {
            let message = error_chain(&e);
            let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
            let kind = if e.is_closed()
                || (io && !message.starts_with("error encoding message"))
                || message.starts_with("unexpected message from server")
            {
                DbErrorKind::ConnectionLost
            } else {
                DbErrorKind::Statement
            };
            DbError {
                message: crate::url::redact_str(&message),
                code: None,
                kind,
                ours: false,
            }
        }
    }
}

/// What a SQLSTATE means for the run.
fn error_kind(code: &str) -> DbErrorKind {
    match code {
        // Connection exceptions; the session ended by a shutdown, a crash, an
        // administrator, or idle timeouts.
        c if c.starts_with("08") => DbErrorKind::ConnectionLost,
        "57P01" | "57P02" | "57P03" | "57P05" | "25P03" => DbErrorKind::ConnectionLost,
        // Out of shared memory: in practice, the lock table is full.
        "53200" => DbErrorKind::TooManyLocks,
        // Insufficient resources: disk full, out of memory, too many connections.
        c if c.starts_with("53") => DbErrorKind::OutOfResources,
        "42704" => DbErrorKind::UndefinedObject,
        "42501" => DbErrorKind::InsufficientPrivilege,
        "22023" => DbErrorKind::InvalidParameterValue,
        "25001" => DbErrorKind::NeedsNoTransaction,
        // duplicate_table (any relation: an index too), _column, _schema, _object
        // (constraints, types, triggers), _function.
        "42P07" | "42701" | "42P06" | "42710" | "42723" => DbErrorKind::AlreadyExists,
        // A standby, or default_transaction_read_only.
        "25006" => DbErrorKind::ReadOnly,
        // statement_timeout, pg_cancel_backend.
        "57014" => DbErrorKind::Cancelled,
        // lock_timeout.
        "55P03" => DbErrorKind::LockNotAvailable,
        _ => DbErrorKind::Statement,
    }
}

/// An error and its causes on one line: the outer error says "error communicating
/// with the server", the causes say why.
fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {}", describe_cause(s));
        source = s.source();
    }
    text
}

/// The parameters PostgreSQL's certificate advice names, as libpq has them.
const TLS_PARAMS: super::tls::TlsParams = super::tls::TlsParams {
    ca: "sslrootcert",
    verify_name: "sslmode=verify-full",
    verify_chain: "verify-ca",
};

/// One cause, worded for a person: rustls' certificate errors print as debug values.
fn describe_cause(e: &(dyn std::error::Error + 'static)) -> String {
    super::tls::refused_certificate(e, &TLS_PARAMS).unwrap_or_else(|| e.to_string())
}

/// The query parameters honoured, as libpq names them.
const KNOWN_PARAMS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "options",
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
];

/// How long one connection attempt may take in all (TCP, TLS, start-up and
/// authentication) unless the URL's `connect_timeout` says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TCP keepalives, unless the URL says otherwise: a peer that vanished (a node lost,
/// a dropped route) is noticed within about idle + interval x count = 60 s instead
/// of the system's two hours.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVES_COUNT: u32 = 3;
/// Data sent and not acknowledged for this long closes the connection (Linux).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

/// Sets up a new session in one round trip and names it (`pid@backend_start`).
///
/// Server settings for aludel's own sessions, each applied only where nothing set it
/// (the configuration, the database's or role's settings, the URL's options; a
/// keepalive left at 0 shows the system's value, so the source tells, not the value):
/// a session of ours whose client stalled
/// is ended by the server, and with it the run lock, instead of holding it until
/// someone kills it; the server side keepalives notice a client host that vanished.
const SESSION_SETUP: &str = "SELECT pg_backend_pid()::text || '@' || coalesce(\
       (SELECT backend_start::text FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()), ''), \
     (SELECT count(set_config(d.name, d.value, false)) \
       FROM (VALUES ('idle_in_transaction_session_timeout', '60s'), \
                    ('tcp_keepalives_idle', '30'), ('tcp_keepalives_interval', '10'), \
                    ('tcp_keepalives_count', '3'), ('tcp_user_timeout', '60000')) AS d(name, value) \
       JOIN pg_catalog.pg_settings s ON s.name = d.name WHERE s.source = 'default')";

/// The state of a session named `pid@backend_start` (`$1` pid, `$2` start).
const SESSION_STATE: &str = "SELECT state FROM pg_catalog.pg_stat_activity \
     WHERE pid = $1 AND backend_start::text = $2";

/// `pid@backend_start` as its parts.
fn parse_session(id: &str) -> Result<(i32, &str), DbError> {
    id.split_once('@')
        .and_then(|(pid, start)| Some((pid.parse::<i32>().ok()?, start)))
        .ok_or_else(|| DbError::new(format!("not a PostgreSQL session name: {id}")))
}
/// Ends it where this role may.
const SESSION_END: &str = "SELECT count(pg_catalog.pg_terminate_backend(pid)) \
     FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND backend_start::text = $2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl PostgresDriver {
    /// Connects as the URL says.
    pub fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, ConnectError> {
        let unsupported = |message: String| ConnectError::Unsupported {
            url: url.to_string(),
            message,
        };
        let mut config = Config::new();
        // `host` and `port` parameters replace the URL's, as in libpq (a socket folder
        // such as /cloudsql/... comes as ?host=); tokio-postgres would add them instead.
        let host = url
            .param("host")
            .or(url.host())
            .unwrap_or("localhost")
            .to_string();
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        let port = match url.param("port") {
            Some(p) => p.parse().map_err(|_| {
                unsupported(format!("query parameter port={p}: expected a port number"))
            })?,
            None => url.port().unwrap_or(5432),
        };
        config.port(port);
        config.user(url.user().unwrap_or("postgres"));
        if let Some(p) = url.password() {
            config.password(p);
        }
        let mut database = url
            .database()
            .map(str::to_string)
            .unwrap_or_else(|| url.user().unwrap_or("postgres").to_string());
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        config.keepalives(true);
        config.keepalives_idle(KEEPALIVES_IDLE);
        config.keepalives_interval(KEEPALIVES_INTERVAL);
        config.keepalives_retries(KEEPALIVES_COUNT);
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
        let mut tls = Tls::Prefer;
        let mut root_cert: Option<String> = None;
        let mut application_name: Option<String> = None;
        for (key, value) in url.params() {
            let bad = |what: &str| unsupported(format!("query parameter {key}={value}: {what}"));
            match key.as_str() {
                "sslmode" => {
                    tls = match value.as_str() {
                        "disable" => Tls::Disable,
                        "allow" | "prefer" => Tls::Prefer,
                        "require" => Tls::Require,
                        "verify-ca" => Tls::VerifyCa,
                        "verify-full" => Tls::VerifyFull,
                        _ => {
                            return Err(bad(
                                "expected disable, allow, prefer, require, verify-ca or verify-full",
                            ));
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(value.clone()),
                "connect_timeout" => {
                    let secs: u64 = value.parse().map_err(|_| bad("expected seconds"))?;
                    // libpq: 0 waits forever; a migration in an init container must
                    // not, so 0 keeps the default.
                    if secs > 0 {
                        connect_timeout = Duration::from_secs(secs.max(2));
                    }
                }
                "application_name" => application_name = Some(value.clone()),
                "options" => {
                    config.options(value);
                }
                "host" | "port" => {}
                "user" => {
                    config.user(value);
                }
                "password" => {
                    config.password(value);
                }
                "dbname" => database = value.clone(),
                "keepalives" => {
                    config.keepalives(value != "0");
                }
                "keepalives_idle" => {
                    let secs: u64 = value.parse().map_err(|_| bad("expected seconds"))?;
                    config.keepalives_idle(Duration::from_secs(secs.max(1)));
                }
                "keepalives_interval" => {
                    let secs: u64 = value.parse().map_err(|_| bad("expected seconds"))?;
                    config.keepalives_interval(Duration::from_secs(secs.max(1)));
                }
                "keepalives_count" => {
                    let n: u32 = value.parse().map_err(|_| bad("expected a number"))?;
                    config.keepalives_retries(n.max(1));
                }
                "tcp_user_timeout" => {
                    let ms: u64 = value.parse().map_err(|_| bad("expected milliseconds"))?;
                    config.tcp_user_timeout(Duration::from_millis(ms));
                }
                "target_session_attrs" => {
                    let attrs = match value.as_str() {
                        "any" => tokio_postgres::config::TargetSessionAttrs::Any,
                        "read-write" => tokio_postgres::config::TargetSessionAttrs::ReadWrite,
                        _ => return Err(bad("expected any or read-write")),
                    };
                    config.target_session_attrs(attrs);
                }
                _ => {
                    return Err(unsupported(format!(
                        "unknown query parameter '{key}' (known: {})",
                        KNOWN_PARAMS.join(", ")
                    )));
                }
            }
        }
        config.dbname(&database);
        // tokio-postgres bounds only the TCP connect; the whole attempt is bounded below.
        config.connect_timeout(connect_timeout);
        // Name ourselves so a waiting run can say who holds the lock.
        let name = application_name.unwrap_or_else(|| {
            let mut n = format!("aludel {}", process_description());
            // PostgreSQL keeps 63 bytes; cut at a character boundary.
            let mut end = n.len().min(63);
            while !n.is_char_boundary(end) {
                end -= 1;
            }
            n.truncate(end);
            n
        });
        config.application_name(&name);

        let io =
            Io::new().map_err(|e| unsupported(format!("cannot start the I/O runtime: {e}")))?;
        let connected = match tls {
            Tls::Disable => {
                config.ssl_mode(SslMode::Disable);
                open_client(&io, &config, NoTls, connect_timeout)
            }
            mode => {
                config.ssl_mode(if mode == Tls::Prefer {
                    SslMode::Prefer
                } else {
                    SslMode::Require
                });
                let client_config = tls_config(mode, root_cert.as_deref()).map_err(unsupported)?;
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(client_config);
                open_client(&io, &config, tls, connect_timeout)
            }
        };
        let connected = connected.map_err(|e| ConnectError::Unreachable {
            url: url.to_string(),
            message: e.message,
        })?;
        let client = connected.map_err(|e| {
            let Some(e) = e else {
                return ConnectError::Unreachable {
                    url: url.to_string(),
                    message: format!(
                        "no answer within {} s (connect_timeout); the server or something in between accepted the connection but did not reply",
                        connect_timeout.as_secs()
                    ),
                };
            };
            let message = describe_connect_error(&e);
            if is_permanent(&e, &message) {
                ConnectError::Rejected {
                    url: url.to_string(),
                    message,
                }
            } else {
                ConnectError::Unreachable {
                    url: url.to_string(),
                    message,
                }
            }
        })?;
        let mut driver = PostgresDriver {
            io,
            client,
            lock: None,
            session: None,
            // The set-up belongs to the connection attempt, and to its time limit.
            response_timeout: connect_timeout,
            given_up: AtomicBool::new(false),
            // Nothing to ask about before the session is named.
            probe: None,
        };
        let session = driver
            .wait(driver.client.simple_query(SESSION_SETUP))
            .map_err(|error| ConnectError::Unreachable {
                url: url.to_string(),
                message: format!("setting up the session: {}", error.message),
            })?;
        driver.session = first_column(session)
            .into_iter()
            .next()
            .filter(|s| !s.ends_with('@'));
        driver.response_timeout = options.response_timeout;
        driver.probe = Some((url.clone(), options.clone()));
        Ok(driver)
    }

    /// Waits for one of aludel's own requests (taking or releasing the lock, reading
    /// the version table, BEGIN and COMMIT), which a live server answers at once: a
    /// connection that stays silent for the response timeout (a frozen proxy, which
    /// keeps acknowledging TCP so that keepalives see nothing wrong) is lost, and is
    /// not used again.
    fn wait<T: Send>(
        &self,
        request: impl std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send,
    ) -> Result<T, DbError> {
        self.wait_for(async { request.await.map_err(db_error) })
    }

    /// [`PostgresDriver::wait`] for a request whose errors are already worded.
    fn wait_for<T: Send>(
        &self,
        request: impl std::future::Future<Output = Result<T, DbError>> + Send,
    ) -> Result<T, DbError> {
        self.check_usable()?;
        let mut request = std::pin::pin!(request);
        // The timer is made inside the runtime, which it needs.
        let limit = self.response_timeout;
        loop {
            match self
                .io
                .block_on(async { tokio::time::timeout(limit, request.as_mut()).await })?
            {
                Ok(result) => return result,
                // A COMMIT may legitimately work for long (deferred checks, waiting
                // for a synchronous standby): while the server says the session is
                // busy, the answer is still coming.
                Err(_) if self.session_is_working() => continue,
                Err(_) => {
                    self.given_up.store(true, Ordering::Relaxed);
                    return Err(DbError::new(format!(
                        "no answer from the server within {} s ([connect] response_timeout_seconds), and the server does not show this session working: the connection is taken as lost",
                        limit.as_secs_f64()
                    ))
                    .with_kind(DbErrorKind::ConnectionLost));
                }
            }
        }
    }

    /// Whether the server shows this connection's session running a request, asked
    /// over a second connection; `false` when that cannot be told.
    fn session_is_working(&self) -> bool {
        let (Some((url, options)), Some(id)) = (&self.probe, &self.session) else {
            return false;
        };
        let Ok(mut other) = PostgresDriver::connect(url, options) else {
            return false;
        };
        // The second connection asks once and never probes in turn.
        other.probe = None;
        matches!(other.session_state(id), Ok(Some(state)) if state == "active")
    }

    /// The state of the session named `id` (`pid@backend_start`) as
    /// `pg_stat_activity` shows it (`active`, `idle`, `idle in transaction`, ...),
    /// or `None` when it is gone.
    fn session_state(&self, id: &str) -> Result<Option<String>, DbError> {
        let (pid, start) = parse_session(id)?;
        let rows = self.wait(self.client.query(SESSION_STATE, &[&pid, &start]))?;
        Ok(rows
            .first()
            .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default()))
    }

    /// An error once a request went unanswered: nothing more is sent on it.
    fn check_usable(&self) -> Result<(), DbError> {
        if self.given_up.load(Ordering::Relaxed) {
            return Err(
                DbError::aludel("the connection was given up after an unanswered request")
                    .with_kind(DbErrorKind::ConnectionLost),
            );
        }
        Ok(())
    }

    /// Runs `sql` (one statement or several) as one simple query, returning every
    /// message; on failure, where it happened. A revision's statements may run as
    /// long as they need: no time limit here.
    fn simple_query(&self, sql: &str) -> Result<Vec<SimpleQueryMessage>, (BatchFailure, DbError)> {
        use futures_util::TryStreamExt;
        let failed = |e| {
            (
                BatchFailure {
                    completed: 0,
                    position: None,
                },
                e,
            )
        };
        self.check_usable().map_err(failed)?;
        self.io
            .block_on(async {
                let stream = self
                    .client
                    .simple_query_raw(sql)
                    .await
                    .map_err(|e| (BatchFailure::at(0, &e), db_error(e)))?;
                let mut stream = std::pin::pin!(stream);
                let mut messages = Vec::new();
                let mut completed = 0;
                loop {
                    match stream.try_next().await {
                        Ok(Some(message)) => {
                            if matches!(message, SimpleQueryMessage::CommandComplete(_)) {
                                completed += 1;
                            }
                            messages.push(message);
                        }
                        Ok(None) => return Ok(messages),
                        Err(e) => return Err((BatchFailure::at(completed, &e), db_error(e))),
                    }
                }
            })
            .map_err(failed)?
    }
}

/// Connects on `runtime` and leaves the connection's I/O to it: `block_on` drives it
/// while each request is waited on. Notices and the connection's end are not ours to
/// report; errors reach the caller through the client. The whole attempt (TCP, TLS,
/// start-up, authentication) gets `limit`: a server that accepts and never answers
/// is an attempt that failed (`Err(None)`), not a hang. The outer error: no thread
/// to wait from ([`Io::block_on`]).
fn open_client<T>(
    io: &Io,
    config: &Config,
    tls: T,
    limit: Duration,
) -> Result<Result<Client, Option<tokio_postgres::Error>>, DbError>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    io.block_on(async {
        let (client, connection) = tokio::time::timeout(limit, config.connect(tls))
            .await
            .map_err(|_| None)?
            .map_err(Some)?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        *io.connection() = Some(task);
        Ok(client)
    })
}

/// Where a multi-statement query failed: how many statements completed before, and
/// the character the server pointed at, if it did.
struct BatchFailure {
    completed: usize,
    /// 1-based character offset in the whole query string.
    position: Option<usize>,
}

impl BatchFailure {
    fn at(completed: usize, e: &tokio_postgres::Error) -> BatchFailure {
        let position = e.as_db_error().and_then(|d| match d.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => usize::try_from(*p).ok(),
            _ => None,
        });
        BatchFailure {
            completed,
            position,
        }
    }
}

/// Failures that waiting cannot fix: a wrong password or a certificate that does not
/// verify. A database that does not exist yet is worth waiting for (another job may
/// create it), as is anything at the network level.
fn is_permanent(e: &tokio_postgres::Error, message: &str) -> bool {
    let code = e.code().map(|c| c.code());
    matches!(code, Some("28P01" | "28000")) || message.contains(super::tls::CERTIFICATE_REFUSED)
}

fn describe_connect_error(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return crate::url::redact_str(db.message());
    }
    // The outer error says "error connecting to server"; the cause says why.
    crate::url::redact_str(&error_chain(e))
}

fn tls_config(mode: Tls, root_cert: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let config = match mode {
        // libpq's prefer and require encrypt without checking the certificate.
        Tls::Disable | Tls::Prefer | Tls::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verify::AcceptAnyCert(provider)))
            .with_no_client_auth(),
        Tls::VerifyCa | Tls::VerifyFull => {
            let mut roots = rustls::RootCertStore::empty();
            match root_cert {
                Some(path) => {
                    use rustls::pki_types::{CertificateDer, pem::PemObject};
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
                    for cert in certs {
                        let cert = cert.map_err(|e| format!("bad certificate in {path}: {e}"))?;
                        roots
                            .add(cert)
                            .map_err(|e| format!("bad certificate in {path}: {e}"))?;
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    for cert in found.certs {
                        // A system store may hold certificates rustls cannot use; skip them.
                        let _ = roots.add(cert);
                    }
                }
            }
            if roots.is_empty() {
                return Err("no trusted root certificates: give sslrootcert=PATH".into());
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
            if mode == Tls::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verify::ChainOnly(webpki)))
                    .with_no_client_auth()
            }
        }
    };
    Ok(config)
}

mod verify {
    //! Certificate checks for libpq's weaker `sslmode`s.
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

    /// `prefer`/`require`: encryption without authentication, as libpq does.
    #[derive(Debug)]
    pub struct AcceptAnyCert(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCert {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// `verify-ca`: the chain must lead to a trusted root; the host name is not checked.
    #[derive(Debug)]
    pub struct ChainOnly(pub Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            match self
                .0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

impl PostgresDriver {
    /// The run lock's key: the version table's schema as the server resolves it.
    fn lock_key(&mut self, table: &VersionTable) -> Result<i64, DbError> {
        if let Some(key) = self.lock {
            return Ok(key);
        }
        let schema: String = match &table.schema {
            Some(s) => s.clone(),
            None => self
                .wait(
                    self.client
                        .query_one("SELECT coalesce(current_schema(), '')", &[]),
                )?
                .get(0),
        };
        let key = lock_key(&schema, table);
        self.lock = Some(key);
        Ok(key)
    }
}

impl Driver for PostgresDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    /// aludel's own statements (BEGIN, COMMIT, the version table's DDL): bounded by
    /// the response timeout.
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.wait(self.client.batch_execute(sql))
    }

    /// A revision's statements, one by one (outside a transaction): they may run as
    /// long as they need.
    fn execute_all(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
        for (index, sql) in statements.iter().enumerate() {
            self.check_usable()
                .and_then(|()| {
                    self.io
                        .block_on(self.client.batch_execute(sql))?
                        .map_err(db_error)
                })
                .map_err(|error| StatementFailure { index, error })?;
        }
        Ok(())
    }

    fn execute_batch(
        &mut self,
        statements: &[&str],
        query: &str,
    ) -> Result<Vec<String>, StatementFailure> {
        // One simple query: inside a transaction block it runs each statement as if
        // sent alone (outside one, as one implicit transaction). The server parses
        // the whole string first, so a syntax error anywhere stops it before anything
        // runs and points at a character: that names the statement. Otherwise the
        // completions counted before the error do (the splitter never yields an empty
        // or comment-only statement, which would complete silently). A newline ends a
        // trailing line comment before the `;`.
        // PostgreSQL takes no NUL in a query string; the server would blame the
        // statement before it, so say which one holds it.
        if let Some(index) = statements.iter().position(|s| s.contains('\0')) {
            return Err(StatementFailure {
                index,
                error: DbError::new(
                    "the statement contains a NUL character (byte 0), which PostgreSQL does not accept in SQL text",
                ),
            });
        }
        let mut batch = String::new();
        // The character offset where each statement ends.
        let mut ends = Vec::with_capacity(statements.len());
        let mut chars = 0;
        for sql in statements {
            batch.push_str(sql);
            batch.push_str("\n;\n");
            chars += sql.chars().count() + 3;
            ends.push(chars);
        }
        batch.push_str(query);
        match self.simple_query(&batch) {
            Ok(messages) => Ok(first_column(messages)),
            Err((failure, error)) => {
                let index = match failure.position {
                    Some(p) => ends
                        .iter()
                        .position(|&end| p <= end)
                        .unwrap_or(statements.len()),
                    None => failure.completed.min(statements.len()),
                };
                Err(StatementFailure { index, error })
            }
        }
    }

    fn query_column(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        self.wait(self.client.simple_query(sql)).map(first_column)
    }

    fn inspect(&mut self, scope: &InspectScope) -> Result<Inspection, DbError> {
        inspect::inspect(self, scope)
    }

    fn inspected_schemas(&mut self, scope: &InspectScope) -> Result<Vec<String>, DbError> {
        inspect::inspected_schemas(self, scope)
    }

    fn reset_session(&mut self) -> Result<(), DbError> {
        // DISCARD ALL would also drop prepared statements the client library keeps;
        // these two are the part of it that concerns settings. The first also ends a
        // SET ROLE.
        self.execute("SET SESSION AUTHORIZATION DEFAULT; RESET ALL")?;
        // RESET ALL also undid aludel's own session settings: set them again.
        self.wait(self.client.simple_query(SESSION_SETUP))
            .map(|_| ())
    }

    fn flush(&mut self, _table: &VersionTable) -> Result<(), DbError> {
        // A synchronous commit that writes flushes the write-ahead log up to itself,
        // and so every asynchronous commit before it, this session's or another's. A
        // transaction that takes a transaction id writes its commit record, and
        // touches no row: nothing another run holds can block it.
        self.wait(self.client.simple_query("SELECT txid_current()"))
            .map(|_| ())
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        Ok(self.query_column("SELECT version()")?.join(" "))
    }

    fn scratch_session(&mut self) -> Result<(), DbError> {
        scratch::session(self)
    }

    fn scratch_waits_for_disk(&mut self) -> bool {
        scratch::waits_for_disk(self)
    }

    fn create_scratch_database(&mut self, name: &str) -> Result<(), DbError> {
        scratch::create(self, name)
    }

    fn scratch_drop_statement(&self, name: &str) -> Option<String> {
        Some(scratch::drop_statement(name))
    }

    fn scratch_starts_empty(&mut self) -> bool {
        scratch::starts_empty(self)
    }

    fn empty_scratch_database(&mut self, round: usize) -> Result<bool, DbError> {
        scratch::empty_database(self, round)
    }

    fn empty_schemas(&mut self, schemas: &[String]) -> Result<(), DbError> {
        scratch::empty_schemas(self, schemas)
    }

    fn default_schema(&mut self) -> String {
        scratch::default_schema()
    }

    fn can_rewrite_in_place(&mut self) -> Result<bool, DbError> {
        scratch::can_rewrite_in_place(self)
    }

    fn invalid_indexes(&mut self) -> Result<Vec<super::InvalidIndex>, DbError> {
        let rows = self.wait(self.client.query(
            "SELECT c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid ORDER BY 2",
            &[],
        ))?;
        Ok(rows
            .iter()
            .map(|r| super::InvalidIndex {
                name: r.get(0),
                qualified: r.get(1),
            })
            .collect())
    }

    fn version_table_exists(&mut self, table: &VersionTable) -> Result<bool, DbError> {
        let qualified = match &table.schema {
            Some(s) => format!("{}.{}", quote_pg(s), quote_pg(&table.name)),
            None => quote_pg(&table.name),
        };
        let row = self.wait(
            self.client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified]),
        )?;
        Ok(row.get(0))
    }

    fn try_lock(&mut self, table: &VersionTable) -> Result<bool, DbError> {
        let key = self.lock_key(table)?;
        let row = self.wait(
            self.client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key]),
        )?;
        Ok(row.get(0))
    }

    fn lock_holder(&mut self, table: &VersionTable) -> Result<Option<String>, DbError> {
        let key = self.lock_key(table)?;
        // pg_locks shows a bigint advisory key as two oids: high and low 32 bits.
        let (hi, lo) = ((key >> 32) & 0xffff_ffff, key & 0xffff_ffff);
        let rows = self.wait(self.client.query(
                "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket') \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND l.classid::bigint = $1 AND l.objid::bigint = $2",
                &[&hi, &lo],
            ))?;
        Ok(rows.first().map(|r| {
            let pid: i32 = r.get(0);
            let app: String = r.get(1);
            let addr: String = r.get(2);
            if app.is_empty() {
                format!("backend pid {pid}, client {addr}")
            } else {
                format!("{app} (backend pid {pid}, client {addr})")
            }
        }))
    }

    fn session_id(&self) -> Option<String> {
        self.session.clone()
    }

    fn end_session(&mut self, id: &str, within: Duration) -> Result<(), DbError> {
        let (pid, start) = parse_session(id)?;
        let deadline = std::time::Instant::now() + within;
        let mut terminated = false;
        loop {
            match self.session_state(id)?.as_deref() {
                None => return Ok(()),
                // Still working (a COMMIT, a statement): its outcome is decided when
                // it finishes; ending it now would undo a COMMIT that was sent.
                Some("active") => {}
                Some(_) if !terminated => {
                    // Idle, or idle in a transaction that can no longer commit: end
                    // it, and with it its transaction and the run lock.
                    self.wait(self.client.query_one(SESSION_END, &[&pid, &start]))?;
                    terminated = true;
                }
                Some(_) => {}
            }
            if std::time::Instant::now() >= deadline {
                return Err(DbError::aludel(format!(
                    "the lost session (backend pid {pid}) still runs after {} s",
                    within.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn unlock(&mut self, table: &VersionTable) -> Result<(), DbError> {
        let key = self.lock_key(table)?;
        self.wait(
            self.client
                .query_one("SELECT pg_advisory_unlock($1)", &[&key]),
        )?;
        Ok(())
    }
}

/// The first column of the rows of the last statement, as text (NULL as empty): a
/// batch's earlier statements may return rows of their own (`SELECT pg_sleep(1)`).
fn first_column(messages: Vec<SimpleQueryMessage>) -> Vec<String> {
    let mut current = Vec::new();
    let mut last = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => {
                current.push(row.get(0).unwrap_or_default().to_string());
            }
            SimpleQueryMessage::CommandComplete(_) => last = std::mem::take(&mut current),
            _ => {}
        }
    }
    last
}

fn quote_pg(ident: &str) -> String {
    crate::render::quote_ident(Dialect::Postgres, ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_tell_what_failed() {
        let cases = [
            ("42P01", DbErrorKind::Statement),
            ("23505", DbErrorKind::Statement),
            ("08006", DbErrorKind::ConnectionLost),
            ("57P01", DbErrorKind::ConnectionLost),
            ("25P03", DbErrorKind::ConnectionLost),
            ("53100", DbErrorKind::OutOfResources),
            ("53200", DbErrorKind::TooManyLocks),
            ("42704", DbErrorKind::UndefinedObject),
            ("25001", DbErrorKind::NeedsNoTransaction),
            ("42P07", DbErrorKind::AlreadyExists),
            ("42710", DbErrorKind::AlreadyExists),
            ("25006", DbErrorKind::ReadOnly),
            ("57014", DbErrorKind::Cancelled),
            ("55P03", DbErrorKind::LockNotAvailable),
        ];
        for (code, kind) in cases {
            assert_eq!(error_kind(code), kind, "{code}");
        }
    }
}
