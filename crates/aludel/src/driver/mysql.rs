//! MySQL and MariaDB through the `mysql` crate's blocking client. The run lock is a
//! named user lock (`GET_LOCK`) held on a connection of its own (`lock`), released by
//! the server when that session ends, however it ends; the working session holds a
//! second named lock for as long as it lives, so that a statement still running in
//! the session of a run that died keeps the next run waiting.

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, SslOpts, Value};

mod inspect;
mod lock;

use super::{
    ConnectError, ConnectOptions, DbError, DbErrorKind, Driver, RowsTouched, StatementFailure,
    process_description,
};
use crate::render::VersionTable;
use crate::url::{DatabaseUrl, Dialect};

/// How long a session holding an earlier run's work lock must have been idle, with
/// no transaction open, before the next run ends it: far longer than a live run
/// leaves its session idle between statements.
const IDLE_HOLDER_AFTER: Duration = Duration::from_secs(30);

/// What a session is doing, as the server's process list says.
enum SessionState {
    /// Nothing in flight (`Sleep`), for this long.
    Idle(Duration),
    /// A statement or another command.
    Working,
}

/// How long to wait for a TCP connection when the URL does not say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The query parameters a URL may carry.
const KNOWN_PARAMS: &[&str] = &[
    "ssl-mode",
    "ssl_mode",
    "sslmode",
    "ssl-ca",
    "ssl_ca",
    "connect_timeout",
    "socket",
    "unix_socket",
    "host",
    "port",
    "charset",
];

/// A connection to one MySQL or MariaDB database.
pub struct MysqlDriver {
    conn: Conn,
    /// The database the URL names, in which the version table lives unless its schema
    /// says otherwise.
    database: String,
    /// How this connection was opened (TLS as it was settled), for the lock's own.
    opts: OptsBuilder,
    /// How long aludel's own requests may go unanswered.
    response_timeout: Duration,
    /// The lock's connection while this run waits for the lock.
    lock_conn: Option<Conn>,
    /// The lock's connection, in its keeper thread, while the lock is held.
    keeper: Option<lock::Keeper>,
    /// The statement the keeper is writing beside this session's work
    /// ([`Driver::record_beside`]), written here instead when it cannot.
    recording: Option<String>,
    /// This session's name for another connection to end it by
    /// ([`Driver::session_id`]), when the server told who it is.
    session: Option<String>,
}

/// Which server answers, and when it started: a session's number names it only on
/// the server that gave it and only until that server restarts, when numbering
/// starts again from 1 and another client may hold the number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServerLife {
    /// `@@hostname:@@port`: the same across a restart, not across servers.
    server: String,
    /// When it started, in Unix seconds (now less its uptime; within a second).
    started: i64,
}

impl ServerLife {
    fn of(conn: &mut Conn) -> Result<ServerLife, DbError> {
        let (server, now): (Option<String>, Option<i64>) = conn
            .query_first("SELECT CONCAT(@@hostname, ':', @@port), UNIX_TIMESTAMP()")
            .map_err(db_error)?
            .unwrap_or((None, None));
        let uptime: Option<(String, String)> = conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Uptime'")
            .map_err(db_error)?;
        let uptime = uptime.and_then(|(_, v)| v.parse::<i64>().ok());
        match (server, now, uptime) {
            (Some(server), Some(now), Some(uptime)) => Ok(ServerLife {
                server,
                started: now - uptime,
            }),
            _ => Err(DbError::aludel(
                "the server did not say which it is and how long it has run",
            )),
        }
    }

    /// The same server, not restarted since (a second's slack either way, as both
    /// starts are read off clocks in whole seconds).
    fn same_as(&self, other: &ServerLife) -> bool {
        self.server == other.server && (self.started - other.started).abs() <= 2
    }
}

/// The name of this connection's session: its number, the client's address as the
/// server sees it (`PROCESSLIST.HOST`, with the port over TCP), and the server's life;
/// `None` where the server did not say.
fn session_name(conn: &mut Conn) -> Option<String> {
    let id = conn.connection_id();
    let host: Option<String> = conn
        .query_first(format!(
            "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = {id}"
        ))
        .ok()
        .flatten();
    let life = ServerLife::of(conn).ok()?;
    Some(format!("{id} {} {} {}", life.started, life.server, host?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

/// Runs `sql` and reads every result it gives, returning the first error. The client
/// library's `query_drop` reads the first result only and drops the rest unseen, so
/// a later statement's error, or a procedure's after its first `SELECT`, would pass
/// for success.
fn run_to_the_end(conn: &mut Conn, sql: &str) -> Result<(), mysql::Error> {
    let mut result = conn.query_iter(sql)?;
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(())
}

/// The server's error, or the client's, as a [`DbError`].
fn db_error(e: mysql::Error) -> DbError {
    match e {
        mysql::Error::MySqlError(server) => {
            let kind = error_kind(server.code);
            DbError {
                message: crate::url::redact_str(&format!(
                    "ERROR {} ({}): {}",
                    server.code, server.state, server.message
                )),
                code: Some(server.code.to_string()),
                kind,
                ours: false,
            }
        }
        // Reading or writing the socket failed, or the server's packets made no sense:
        // the session is gone.
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => DbError {
            message: crate::url::redact_str(&e.to_string()),
            code: None,
            kind: DbErrorKind::ConnectionLost,
            ours: false,
        },
        mysql::Error::DriverError(ref d) => DbError {
            message: crate::url::redact_str(&e.to_string()),
            code: None,
            kind: match d {
                mysql::DriverError::ConnectTimeout
                | mysql::DriverError::CouldNotConnect(_)
                | mysql::DriverError::PacketOutOfSync
                | mysql::DriverError::UnexpectedPacket
                | mysql::DriverError::Timeout => DbErrorKind::ConnectionLost,
                _ => DbErrorKind::Statement,
            },
            ours: false,
        },
        other => DbError::new(other.to_string()),
    }
}

/// What a MySQL or MariaDB error number means for the run.
fn error_kind(code: u16) -> DbErrorKind {
    match code {
        // Server shutdown, connection killed, gone away, lost, ended for inactivity.
        1053 | 1927 | 2006 | 2013 | 4031 => DbErrorKind::ConnectionLost,
        // Query interrupted (KILL QUERY); statement time limits (MySQL's
        // max_execution_time, MariaDB's max_statement_time).
        1317 | 3024 | 1969 => DbErrorKind::Cancelled,
        // Lock wait timeout; metadata lock timeouts come as the same number.
        1205 => DbErrorKind::LockNotAvailable,
        // Disk full, out of memory, too many connections, record file full.
        1021 | 1037 | 1038 | 1040 | 1041 | 1114 | 1135 => DbErrorKind::OutOfResources,
        // --read-only / super_read_only.
        1290 | 1836 => DbErrorKind::ReadOnly,
        // Access denied for a table, a column, a database, a routine, a privilege.
        1044 | 1142 | 1143 | 1227 | 1370 => DbErrorKind::InsufficientPrivilege,
        // Unknown system variable.
        1193 => DbErrorKind::UndefinedObject,
        // Variable cannot be set to that value.
        1231 | 1232 => DbErrorKind::InvalidParameterValue,
        // Table, database, column, key name, constraint, trigger, function exists.
        1050 | 1007 | 1060 | 1061 | 1826 | 3822 | 1359 | 1304 => DbErrorKind::AlreadyExists,
        _ => DbErrorKind::Statement,
    }
}

/// A value of a result row as text, as the other drivers give it (NULL as empty).
fn text_of(value: &Value) -> String {
    match value {
        Value::NULL => String::new(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// The parameters MySQL's certificate advice names, as its own clients spell them.
const TLS_PARAMS: super::tls::TlsParams = super::tls::TlsParams {
    ca: "ssl-ca",
    verify_name: "ssl-mode=verify_identity",
    verify_chain: "verify_ca",
};

/// Why a connection could not be made, in words, and whether it is permanent (not
/// worth retrying): the client's own `Display` wraps every error in a debug-like
/// `Kind { ... }`, and a refused certificate is a rustls value inside an I/O error.
fn connect_failure(e: &mysql::Error) -> (String, bool) {
    use std::error::Error as _;
    let inner: Option<&(dyn std::error::Error + 'static)> = match e {
        mysql::Error::IoError(io) => Some(io),
        mysql::Error::CodecError(codec) => Some(codec),
        mysql::Error::TlsError(tls) => Some(tls),
        _ => None,
    };
    let mut link = inner;
    while let Some(cause) = link {
        if let Some(words) = super::tls::refused_certificate(cause, &TLS_PARAMS) {
            return (words, true);
        }
        link = cause.source();
    }
    match e {
        // Access denied, unknown database, host not allowed, account locked.
        mysql::Error::MySqlError(server) => (
            server.message.clone(),
            matches!(server.code, 1045 | 1044 | 1049 | 1130 | 3118 | 1251),
        ),
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => (
            "the server does not offer TLS, which the URL's ssl-mode requires (ssl-mode=preferred connects without it then)".to_string(),
            true,
        ),
        // MySQL 8 and later answer an unknown user with a switch to sha256_password,
        // so that users cannot be told apart from the outside.
        mysql::Error::DriverError(mysql::DriverError::UnknownAuthPlugin(plugin))
            if plugin == "sha256_password" =>
        (
            "the server asked for the authentication method sha256_password, which aludel does not support: MySQL asks for it when the user does not exist (check the URL's user), or when the account uses it (ALTER USER ... IDENTIFIED WITH caching_sha2_password)".to_string(),
            true,
        ),
        mysql::Error::DriverError(mysql::DriverError::UnknownAuthPlugin(plugin)) => (
            format!("the server asked for the authentication method {plugin}, which aludel does not support (it speaks mysql_native_password and caching_sha2_password)"),
            true,
        ),
        mysql::Error::DriverError(driver) => (driver.to_string(), false),
        mysql::Error::TlsError(tls) => (tls.to_string(), true),
        // The I/O error itself, without the codec's "IO error: `...`" around it.
        mysql::Error::CodecError(codec) => (
            codec
                .source()
                .map_or_else(|| codec.to_string(), |io| io.to_string()),
            false,
        ),
        mysql::Error::IoError(io) => (io.to_string(), false),
        other => (other.to_string(), false),
    }
}

/// Statements as one request, each ended by `;`: the server runs them in turn in one
/// round trip and stops at the first that fails, whose result set carries the error.
/// The newline before each `;` ends a trailing `--` or `#` comment, which would
/// otherwise swallow it and run two statements as one.
fn batch_text(statements: &[&str]) -> String {
    let mut text = String::new();
    for s in statements {
        text.push_str(s);
        text.push_str("\n;\n");
    }
    text
}

/// The rows an `UPDATE` found and changed, from its OK packet: the info text
/// (`Rows matched: 2  Changed: 1  Warnings: 0`, in the server's message language, so
/// only its numbers are read) and the affected rows, which are the changed ones on a
/// connection without `CLIENT_FOUND_ROWS`. `None` unless both agree on what changed:
/// another statement, or a text read some other way.
fn rows_touched(affected: u64, info: &str) -> Option<RowsTouched> {
    let numbers: Vec<u64> = info
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers[..] {
        [matched, changed, _warnings] if changed == affected && changed <= matched => {
            Some(RowsTouched { matched, changed })
        }
        _ => None,
    }
}

/// A string literal that reads the same whatever the session's SQL mode: quoted when
/// it holds no backslash (which NO_BACKSLASH_ESCAPES decides the meaning of), else
/// written as its UTF-8 bytes.
fn literal(s: &str) -> String {
    if s.contains('\\') {
        let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
        format!("CONVERT(0x{hex} USING utf8mb4)")
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

impl MysqlDriver {
    /// Connects as the URL says: `mysql://USER:PASSWORD@HOST:PORT/DATABASE`, with
    /// `?ssl-mode=disabled|preferred|required|verify_ca|verify_identity` (default
    /// `preferred`: TLS when the server offers it), `ssl-ca=FILE`,
    /// `connect_timeout=SECONDS` and `socket=PATH`.
    pub fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, ConnectError> {
        let unsupported = |message: String| ConnectError::Unsupported {
            url: url.to_string(),
            message,
        };
        let mut host = url.host().unwrap_or("localhost").to_string();
        let mut port = url.port().unwrap_or(3306);
        let mut socket: Option<String> = None;
        let mut tls = Tls::Preferred;
        let mut ca: Option<String> = None;
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        for (key, value) in url.params() {
            let bad = |what: &str| unsupported(format!("query parameter {key}={value}: {what}"));
            match key.as_str() {
                "ssl-mode" | "ssl_mode" | "sslmode" => {
                    tls = match value.to_ascii_lowercase().replace('-', "_").as_str() {
                        "disabled" | "disable" => Tls::Disabled,
                        "preferred" | "prefer" => Tls::Preferred,
                        "required" | "require" => Tls::Required,
                        "verify_ca" => Tls::VerifyCa,
                        "verify_identity" | "verify_full" => Tls::VerifyIdentity,
                        _ => {
                            return Err(bad(
                                "expected disabled, preferred, required, verify_ca or verify_identity",
                            ));
                        }
                    }
                }
                "ssl-ca" | "ssl_ca" => ca = Some(value.clone()),
                "connect_timeout" => {
                    let secs: u64 = value.parse().map_err(|_| bad("expected seconds"))?;
                    if secs > 0 {
                        connect_timeout = Duration::from_secs(secs.max(1));
                    }
                }
                "socket" | "unix_socket" => socket = Some(value.clone()),
                "host" => {
                    if value.starts_with('/') {
                        socket = Some(value.clone());
                    } else {
                        host = value.clone();
                    }
                }
                "port" => {
                    port = value.parse().map_err(|_| bad("expected a port number"))?;
                }
                // The connection speaks utf8mb4 whatever a URL written for another
                // client asks.
                "charset" => {}
                _ => {
                    return Err(unsupported(format!(
                        "unknown query parameter '{key}' (known: {})",
                        KNOWN_PARAMS.join(", ")
                    )));
                }
            }
        }
        let Some(database) = url.database().filter(|d| !d.is_empty()) else {
            return Err(unsupported(
                "the URL names no database (mysql://USER@HOST/DATABASE): the version table needs one".to_string(),
            ));
        };
        if let Some(ca) = ca.as_ref().filter(|_| tls != Tls::Disabled) {
            // Read here, so that a wrong path is named as such, once, and not retried.
            std::fs::read(ca).map_err(|e| unsupported(format!("cannot read ssl-ca {ca}: {e}")))?;
        }
        let ssl = match tls {
            Tls::Disabled => None,
            mode => {
                // As libpq's `require`: with a CA file given, the certificate is
                // checked against it.
                let mut ssl = SslOpts::default()
                    .with_danger_accept_invalid_certs(
                        matches!(mode, Tls::Preferred | Tls::Required) && ca.is_none(),
                    )
                    .with_danger_skip_domain_validation(mode != Tls::VerifyIdentity);
                if let Some(ca) = &ca {
                    ssl = ssl.with_root_cert_path(Some(std::path::PathBuf::from(ca)));
                }
                Some(ssl)
            }
        };
        let base = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(port)
            .socket(socket)
            // A socket found by asking the server would bypass the URL's host.
            .prefer_socket(false)
            .user(Some(url.user().unwrap_or("root")))
            .pass(url.password())
            .db_name(Some(database))
            .tcp_connect_timeout(Some(connect_timeout))
            .write_timeout(Some(options.response_timeout))
            .tcp_keepalive_time_ms(Some(10_000))
            .tcp_keepalive_probe_interval_secs(Some(5))
            .tcp_keepalive_probe_count(Some(3))
            .stmt_cache_size(0)
            .connect_attrs(Some(std::collections::HashMap::from([(
                "program_name".to_string(),
                format!("aludel {}", process_description()),
            )])))
            // No session settings: revisions run in the session the server's
            // defaults give, as they would from the mysql client; aludel's own
            // statements read the same in every SQL mode (backquoted names, literals
            // without backslashes).
            ;
        let with_tls = base.clone().ssl_opts(ssl);
        let (conn, opts) = match Conn::new(with_tls.clone()) {
            // `preferred`, as MySQL's own clients have it: plain when the server offers
            // no TLS.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
                if tls == Tls::Preferred =>
            {
                let plain = base.clone().ssl_opts(None);
                (Conn::new(plain.clone()), plain)
            }
            other => (other, with_tls),
        };
        let conn = conn.map_err(|e| {
            let (message, permanent) = connect_failure(&e);
            let message = crate::url::redact_str(&message);
            if permanent {
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
        let mut conn = conn;
        let session = session_name(&mut conn);
        Ok(MysqlDriver {
            session,
            conn,
            database: database.to_string(),
            opts,
            response_timeout: options.response_timeout,
            lock_conn: None,
            keeper: None,
            recording: None,
        })
    }

    /// The connection the run lock is taken on, opened the first time: the URL's
    /// connection, its every request bounded by the response timeout (it runs only
    /// aludel's short queries), with [`lock::SESSION_SETTINGS`].
    fn lock_conn(&mut self) -> Result<&mut Conn, DbError> {
        if self.lock_conn.is_none() {
            let opts = self
                .opts
                .clone()
                .read_timeout(Some(self.response_timeout))
                .write_timeout(Some(self.response_timeout));
            let mut conn = Conn::new(opts).map_err(|e| {
                let mut error = db_error(e);
                error.message = format!(
                    "opening the migration lock's connection (a run needs two): {}",
                    error.message
                );
                error
            })?;
            run_to_the_end(&mut conn, lock::SESSION_SETTINGS).map_err(db_error)?;
            self.lock_conn = Some(conn);
        }
        self.lock_conn
            .as_mut()
            .ok_or_else(|| DbError::aludel("the migration lock's connection is not open"))
    }

    /// The name of the lock the working session holds while the run's statements may
    /// run in it: the run lock's, with `_w`.
    fn work_lock_name(&self, table: &VersionTable) -> String {
        format!("{}_w", self.lock_name(table))
    }

    /// Who the session `id` is, where this user may see it: `user@host`.
    fn session_user(&mut self, id: u64) -> Option<String> {
        self.process_list(
            id,
            "CONCAT(PROCESSLIST_USER, '@', PROCESSLIST_HOST)",
            "CONCAT(USER, '@', HOST)",
        )
    }

    /// One value of session `id`'s row in the process list, where this user may see
    /// it: `threads` is the `performance_schema.threads` expression, `processlist` the
    /// `information_schema.PROCESSLIST` one. MySQL 8+ has the row in
    /// performance_schema (its information_schema.PROCESSLIST is deprecated); MariaDB,
    /// and MySQL without performance_schema, in information_schema.
    fn process_list(&mut self, id: u64, threads: &str, processlist: &str) -> Option<String> {
        let queries = [
            format!("SELECT {threads} FROM performance_schema.threads WHERE PROCESSLIST_ID = {id}"),
            format!("SELECT {processlist} FROM information_schema.PROCESSLIST WHERE ID = {id}"),
        ];
        queries
            .iter()
            .find_map(|sql| self.one(sql).ok().flatten().filter(|v| !v.is_empty()))
    }

    /// The name of the run lock for `table`: user locks are server-wide, so the
    /// database is part of it; a hash keeps it within MySQL's 64 characters.
    fn lock_name(&self, table: &VersionTable) -> String {
        let schema = table.schema.as_deref().unwrap_or(&self.database);
        format!("aludel_{:016x}", super::lock_key(schema, table) as u64)
    }

    /// Whether the session holding the lock `name` was left by a run that vanished,
    /// and was ended: idle (`Sleep`) for [`IDLE_HOLDER_AFTER`] at least, with no
    /// transaction open. A live run's session is never idle that long between its
    /// statements, and one with a transaction open may be committing a revision's
    /// record. `false` when it works, is gone, is not visible to this user, or cannot
    /// be ended (another user's, without the privilege): the run then waits.
    fn end_idle_holder(&mut self, name: &str) -> Result<bool, DbError> {
        let Some(id) = self.lock_holder_id(name)? else {
            return Ok(false);
        };
        if !self.left_idle(id) {
            return Ok(false);
        }
        // The number, just read off this server, names that session.
        Ok(self.end_numbered(id, None, Duration::from_secs(5)).is_ok())
    }

    /// Ends session `id` of this server's life, where it is still that session (its
    /// client address `host`, when given), and waits up to `within` until the server
    /// is done with it.
    fn end_numbered(
        &mut self,
        id: u64,
        host: Option<&str>,
        within: Duration,
    ) -> Result<(), DbError> {
        let this = match host {
            Some(host) => format!("ID = {id} AND HOST = {}", literal(host)),
            None => format!("ID = {id}"),
        };
        let count = format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE {this}");
        if host.is_some() && self.one(&count)?.as_deref() == Some("0") {
            return Ok(());
        }
        match self.execute(&format!("KILL CONNECTION {id}")) {
            // Unknown thread id: it is already gone.
            Err(e) if e.code.as_deref() == Some("1094") => return Ok(()),
            other => other?,
        }
        let started = Instant::now();
        loop {
            if self.one(&count)?.as_deref() == Some("0") {
                return Ok(());
            }
            if started.elapsed() >= within {
                return Err(DbError::aludel(format!(
                    "connection {id} still runs {} s after it was killed",
                    within.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's id of the session holding the named lock `name`, if any.
    fn lock_holder_id(&mut self, name: &str) -> Result<Option<u64>, DbError> {
        Ok(self
            .one(&format!("SELECT IS_USED_LOCK({})", literal(name)))?
            .and_then(|id| id.parse::<u64>().ok()))
    }

    /// Whether session `id` looks left by a run that vanished: idle for
    /// [`IDLE_HOLDER_AFTER`] at least, with no transaction open, as this user can see.
    fn left_idle(&mut self, id: u64) -> bool {
        let Some(SessionState::Idle(idle)) = self.session_state(id) else {
            return false;
        };
        let open = self.one(&format!(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = {id}"
        ));
        idle >= IDLE_HOLDER_AFTER && matches!(open.ok().flatten().as_deref(), Some("0"))
    }

    /// What session `id` is doing, where this user may see it (`None`: not visible).
    fn session_state(&mut self, id: u64) -> Option<SessionState> {
        let row = self.process_list(
            id,
            "CONCAT(PROCESSLIST_COMMAND, ' ', COALESCE(PROCESSLIST_TIME, 0))",
            "CONCAT(COMMAND, ' ', COALESCE(TIME, 0))",
        )?;
        let (command, secs) = row.rsplit_once(' ')?;
        Some(if command == "Sleep" {
            SessionState::Idle(Duration::from_secs(secs.parse().unwrap_or(0)))
        } else {
            SessionState::Working
        })
    }

    /// The rows of a query with parameters, each value as text (`None` for NULL).
    fn rows(&mut self, sql: &str, params: Vec<Value>) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let rows: Vec<mysql::Row> = self.conn.exec(sql, params).map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .iter()
                    .map(|v| match v {
                        Value::NULL => None,
                        v => Some(text_of(v)),
                    })
                    .collect()
            })
            .collect())
    }

    /// ` CHARACTER SET c COLLATE l` of the database `name` (empty when it does not
    /// exist: a new one takes the server's).
    fn database_defaults(&mut self, name: &str) -> Result<String, DbError> {
        let rows = self.rows(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
             FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            vec![Value::from(name)],
        )?;
        Ok(match rows.first().map(|r| (r.first(), r.get(1))) {
            Some((Some(Some(charset)), Some(Some(collation)))) => {
                format!(" CHARACTER SET {charset} COLLATE {collation}")
            }
            _ => String::new(),
        })
    }

    fn one(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        Ok(self.query_column(sql)?.into_iter().next())
    }
}

impl Driver for MysqlDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        Ok(self.query_column("SELECT version()")?.join(" "))
    }

    /// Made with the character set and collation of this connection's database, so
    /// that what the desired schema leaves to the defaults gets what the live
    /// database gives it.
    fn create_scratch_database(&mut self, name: &str) -> Result<(), DbError> {
        // This session waits, idle, through the whole load to drop the database after:
        // a server whose `wait_timeout` is shorter than the load would end it first,
        // and the database would stay. A day (a session left by a killed aludel holds
        // no lock). A literal: MySQL refuses an expression's value for this variable.
        self.execute("SET SESSION wait_timeout = 86400")?;
        let own = self.database.clone();
        let defaults = self.database_defaults(&own)?;
        self.execute(&format!(
            "CREATE DATABASE {}{defaults}",
            crate::render::quote_ident(Dialect::Mysql, name)
        ))
        .map_err(|mut e| {
            if e.kind == DbErrorKind::InsufficientPrivilege {
                e.message.push_str(
                    " (the user needs the CREATE and DROP privileges on databases named aludel\\_shadow\\_%)",
                );
            }
            e
        })
    }

    fn scratch_drop_statement(&self, name: &str) -> Option<String> {
        Some(format!(
            "DROP DATABASE IF EXISTS {}",
            crate::render::quote_ident(Dialect::Mysql, name)
        ))
    }

    /// `CREATE DATABASE` copies nothing on MySQL: a new database is empty.
    fn scratch_starts_empty(&mut self) -> bool {
        true
    }

    /// A database is a MySQL schema: dropping and making it again is as cheap as
    /// emptying it, and leaves nothing behind.
    fn empty_scratch_database(&mut self, round: usize) -> Result<bool, DbError> {
        let _ = round;
        self.empty_schemas(&[])?;
        Ok(true)
    }

    /// Temporary tables are not dropped: a scratch session makes none that the next
    /// use reads (MySQL has no query listing a session's own before MariaDB 11.2).
    fn empty_schemas(&mut self, schemas: &[String]) -> Result<(), DbError> {
        let own = self.database.clone();
        let mut names: Vec<&str> = schemas
            .iter()
            .map(|s| {
                if s.is_empty() {
                    own.as_str()
                } else {
                    s.as_str()
                }
            })
            .collect();
        if names.is_empty() {
            names.push(&own);
        }
        let q = |s: &str| crate::render::quote_ident(Dialect::Mysql, s);
        let mut sql = Vec::new();
        for s in names {
            // Made again as it was: its character set and collation are the defaults
            // of what is loaded into it.
            let defaults = self.database_defaults(s)?;
            sql.push(format!("DROP DATABASE IF EXISTS {}", q(s)));
            sql.push(format!("CREATE DATABASE {}{defaults}", q(s)));
        }
        // Dropping the session's database leaves it in none.
        sql.push(format!("USE {}", q(&own)));
        self.execute(&sql.join(";\n"))
    }

    /// The connection's own database is the catalog's schema `""`: a scratch database
    /// has another name than the database it stands for, and both must read alike.
    fn default_schema(&mut self) -> String {
        String::new()
    }

    fn inspect(&mut self, scope: &super::InspectScope) -> Result<super::Inspection, DbError> {
        inspect::inspect(self, scope)
    }

    fn inspected_schemas(&mut self, scope: &super::InspectScope) -> Result<Vec<String>, DbError> {
        Ok(inspect::schemas(scope))
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        run_to_the_end(&mut self.conn, sql).map_err(db_error)
    }

    fn query_column(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        let mut result = self.conn.query_iter(sql).map_err(db_error)?;
        // Several statements give several result sets: the last one's rows count, as
        // in the other drivers.
        let mut last = Vec::new();
        while let Some(set) = result.iter() {
            let mut rows = Vec::new();
            for row in set {
                let row = row.map_err(db_error)?;
                rows.push(row.as_ref(0).map(text_of).unwrap_or_default());
            }
            if !rows.is_empty() || last.is_empty() {
                last = rows;
            }
        }
        Ok(last)
    }

    fn execute_all(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
        match statements {
            [] => Ok(()),
            [one] => self
                .execute(one)
                .map_err(|error| StatementFailure { index: 0, error }),
            [rest @ .., last] => self.execute_batch(rest, last).map(|_| ()),
        }
    }

    fn execute_batch(
        &mut self,
        statements: &[&str],
        query: &str,
    ) -> Result<Vec<String>, StatementFailure> {
        let mut text = batch_text(statements);
        text.push_str(query);
        let fail = |index: usize, e: mysql::Error| StatementFailure {
            index,
            error: db_error(e),
        };
        let mut result = self.conn.query_iter(text).map_err(|e| fail(0, e))?;
        let mut index = 0;
        let mut last = Vec::new();
        while let Some(set) = result.iter() {
            let mut rows = Vec::new();
            for row in set {
                let row = row.map_err(|e| fail(index, e))?;
                rows.push(row.as_ref(0).map(text_of).unwrap_or_default());
            }
            if index == statements.len() {
                last = rows;
            }
            index += 1;
        }
        Ok(last)
    }

    fn reports_rows_touched(&self) -> bool {
        true
    }

    fn execute_counting(
        &mut self,
        statements: &[&str],
    ) -> Result<Vec<Option<RowsTouched>>, StatementFailure> {
        // Each result's OK packet says what its statement did to rows.
        let text = batch_text(statements);
        let fail = |index: usize, e: mysql::Error| StatementFailure {
            index,
            error: db_error(e),
        };
        let mut result = self.conn.query_iter(text).map_err(|e| fail(0, e))?;
        let mut touched = Vec::with_capacity(statements.len());
        let mut index = 0;
        while let Some(set) = result.iter() {
            let counts = rows_touched(set.affected_rows(), &set.info_str());
            for row in set {
                row.map_err(|e| fail(index, e))?;
            }
            touched.push(counts);
            index += 1;
        }
        touched.resize(statements.len(), None);
        Ok(touched)
    }

    fn version_table_exists(&mut self, table: &VersionTable) -> Result<bool, DbError> {
        let schema = table
            .schema
            .as_deref()
            .unwrap_or(&self.database)
            .to_string();
        let n = self.one(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
            literal(&schema),
            literal(&table.name)
        ))?;
        Ok(n.as_deref().is_some_and(|n| n != "0"))
    }

    /// The run lock on the lock's connection, then the work lock on this one; the
    /// lock's connection then goes to its keeper thread.
    fn try_lock(&mut self, table: &VersionTable) -> Result<bool, DbError> {
        let name = self.lock_name(table);
        let get = |name: &str| format!("SELECT GET_LOCK({}, 0)", literal(name));
        let answer = |got: Option<String>, name: &str| match got.as_deref() {
            // 1: taken; 0: another session has it; NULL: an error (killed while waiting).
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            _ => Err(DbError::aludel(format!(
                "GET_LOCK({name}) answered NULL: the server could not take the lock"
            ))),
        };
        let work = self.work_lock_name(table);
        // An earlier run's session still holding its work lock, and not left idle, is
        // waited for without taking the run lock: taking it at every poll would make
        // this waiting run look like the holder to a third.
        if let Some(id) = self.lock_holder_id(&work)?
            && id != u64::from(self.conn.connection_id())
            && !self.left_idle(id)
        {
            return Ok(false);
        }
        let got: Option<mysql::Value> = match self.lock_conn()?.query_first(get(&name)) {
            Ok(got) => got,
            Err(e) => {
                // A connection that failed is not asked again.
                self.lock_conn = None;
                return Err(db_error(e));
            }
        };
        if !answer(got.as_ref().map(text_of), &name)? {
            return Ok(false);
        }
        let mut got = self.one(&get(&work)).and_then(|got| answer(got, &work));
        // Held by an idle session, now that no run holds the run lock: a run that
        // vanished (its host lost, a proxy frozen) left it, with nothing in flight.
        // Ended, it lets this run go on, rather than wait for the server's
        // wait_timeout (hours by default).
        if matches!(got, Ok(false)) {
            got = match self.end_idle_holder(&work) {
                Ok(true) => self.one(&get(&work)).and_then(|got| answer(got, &work)),
                Ok(false) => Ok(false),
                Err(e) => Err(e),
            };
        }
        match got {
            Ok(true) => {}
            // The session of an earlier run still runs a statement: wait for it as
            // for the lock, which is let go meanwhile (lock_holder names that session).
            // On an error too: nothing of this attempt stays held. A connection that
            // fails the release is closed, which releases it as well.
            other => {
                let release = format!("DO RELEASE_LOCK({})", literal(&name));
                if let Some(conn) = self.lock_conn.as_mut()
                    && conn.query_drop(&release).is_err()
                {
                    self.lock_conn = None;
                }
                return other;
            }
        }
        let keeper = match self.lock_conn.take() {
            Some(conn) => lock::Keeper::start(conn, name, self.response_timeout),
            None => Err(DbError::aludel(
                "the migration lock's connection is not open",
            )),
        };
        match keeper {
            Ok(keeper) => {
                self.keeper = Some(keeper);
                Ok(true)
            }
            // The lock's connection went with the failed start, and the run lock
            // with it; the work lock is let go here.
            Err(e) => {
                let _ = self.execute(&format!("DO RELEASE_LOCK({})", literal(&work)));
                Err(e)
            }
        }
    }

    /// The session holding the run lock or, when none does, the one still holding
    /// an earlier run's work lock.
    fn lock_holder(&mut self, table: &VersionTable) -> Result<Option<String>, DbError> {
        let (id, working) = match self.lock_holder_id(&self.lock_name(table))? {
            Some(id) => (id, false),
            None => match self.lock_holder_id(&self.work_lock_name(table))? {
                Some(id) => (id, true),
                None => return Ok(None),
            },
        };
        let mut who = match self.session_user(id) {
            Some(who) => format!("connection {id} ({who})"),
            None => format!("connection {id}"),
        };
        if working {
            who.push_str(match self.session_state(id) {
                Some(SessionState::Idle(_)) => {
                    ", an idle session of an earlier run, ended by the next run once idle for 30 s with no transaction open (where this user may end it)"
                }
                Some(SessionState::Working) => {
                    ", the session of an earlier run still running a statement"
                }
                None => {
                    ", a session of an earlier run that this user cannot see (an administrator can, with the PROCESS privilege, and end it with KILL)"
                }
            });
        }
        Ok(Some(who))
    }

    /// Releases the work lock (best effort: it goes with this session anyway), then
    /// the run lock on its own connection, which closes.
    fn unlock(&mut self, table: &VersionTable) -> Result<(), DbError> {
        let work = self.work_lock_name(table);
        let _ = self.execute(&format!("DO RELEASE_LOCK({})", literal(&work)));
        self.lock_conn = None;
        match self.keeper.take() {
            Some(keeper) => keeper.release(),
            None => Ok(()),
        }
    }

    fn record_beside(&mut self, record: &str) -> bool {
        let started = self
            .keeper
            .as_mut()
            .is_some_and(|keeper| keeper.record(record));
        if started {
            self.recording = Some(record.to_string());
        }
        started
    }

    fn record_done(&mut self) -> Result<(), DbError> {
        let Some(record) = self.recording.take() else {
            return Ok(());
        };
        let beside = match &mut self.keeper {
            Some(keeper) => keeper.recorded_done(),
            None => Err("the migration lock's connection is closed".to_string()),
        };
        let Err(why) = beside else {
            return Ok(());
        };
        // Written here instead: a row of what was applied is the truth whatever
        // happened to the other session. A duplicate key means the other session's
        // write did commit, after its answer was given up on.
        match self.execute(&record) {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("1062") => Ok(()),
            Err(mut e) => {
                if !e.message.contains(&why) {
                    e.message = format!("{} (and on the lock's connection: {why})", e.message);
                }
                Err(e)
            }
        }
    }

    fn check_lock(&mut self, _table: &VersionTable, max_age: Duration) -> Result<(), DbError> {
        match &self.keeper {
            Some(keeper) => keeper.check(max_age),
            None => {
                Err(DbError::aludel("the migration lock is not held")
                    .with_kind(DbErrorKind::LockLost))
            }
        }
    }

    fn lock_outlives_session(&self) -> bool {
        true
    }

    fn session_id(&self) -> Option<String> {
        self.session.clone()
    }

    fn end_session(&mut self, name: &str, within: Duration) -> Result<(), DbError> {
        let not_a_name = || DbError::new(format!("not a MySQL session name: {name}"));
        let mut parts = name.splitn(4, ' ');
        let (Some(id), Some(started), Some(server), Some(host)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_a_name());
        };
        let id: u64 = id.parse().map_err(|_| not_a_name())?;
        let then = ServerLife {
            server: server.to_string(),
            started: started.parse().map_err(|_| not_a_name())?,
        };
        let now = ServerLife::of(&mut self.conn)?;
        if now.server != then.server {
            return Err(DbError::aludel(format!(
                "connection {id} was on the server {}, and {} answers now: whether that session still runs there is not known",
                then.server, now.server
            )));
        }
        // Restarted since: the session ended with the server, and its number may be
        // another client's now.
        if !now.same_as(&then) {
            return Ok(());
        }
        // That number from that client address: a session of this server's life.
        self.end_numbered(id, Some(host), within)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_updates_answer_gives_the_rows_it_found_and_changed_in_any_language() {
        let rows = |matched, changed| Some(RowsTouched { matched, changed });
        assert_eq!(
            rows_touched(1, "Rows matched: 1  Changed: 1  Warnings: 0"),
            rows(1, 1)
        );
        assert_eq!(
            rows_touched(1, "Rows matched: 2  Changed: 1  Warnings: 0"),
            rows(2, 1)
        );
        // The server's message language (`lc_messages`) words it; the numbers stay.
        // (MariaDB 10.11's own answer with `SET SESSION lc_messages = 'de_DE'`.)
        assert_eq!(
            rows_touched(0, "Datensätze gefunden: 1  Geändert: 0  Warnungen: 0"),
            rows(1, 0)
        );
        // Not an UPDATE's answer, or one that does not agree with its affected rows:
        // nothing is claimed, and the caller reads the rows instead.
        assert_eq!(rows_touched(0, ""), None);
        assert_eq!(
            rows_touched(3, "Records: 3  Duplicates: 0  Warnings: 0"),
            None
        );
        assert_eq!(
            rows_touched(1, "Records: 1  Deleted: 0  Skipped: 0  Warnings: 0"),
            None
        );
        assert_eq!(
            rows_touched(2, "Rows matched: 1  Changed: 2  Warnings: 0"),
            None
        );
        assert_eq!(
            rows_touched(
                1,
                "Rows matched: 99999999999999999999  Changed: 1  Warnings: 0"
            ),
            None
        );
    }

    #[test]
    fn error_numbers_map_to_what_the_user_should_do() {
        assert_eq!(error_kind(1050), DbErrorKind::AlreadyExists);
        assert_eq!(error_kind(1061), DbErrorKind::AlreadyExists);
        assert_eq!(error_kind(1205), DbErrorKind::LockNotAvailable);
        assert_eq!(error_kind(2013), DbErrorKind::ConnectionLost);
        assert_eq!(error_kind(1290), DbErrorKind::ReadOnly);
        assert_eq!(error_kind(1064), DbErrorKind::Statement);
    }

    #[test]
    fn connection_refusals_are_worded_and_permanent_where_a_retry_cannot_help() {
        let plugin = |name: &str| {
            connect_failure(&mysql::Error::DriverError(
                mysql::DriverError::UnknownAuthPlugin(name.into()),
            ))
        };
        let (text, permanent) = plugin("sha256_password");
        assert!(permanent);
        assert!(
            text.starts_with("the server asked for the authentication method sha256_password, which aludel does not support: MySQL asks for it when the user does not exist"),
            "{text}"
        );
        let (text, permanent) = plugin("auth_gssapi_client");
        assert!(permanent && text.contains("auth_gssapi_client"), "{text}");
        let (text, permanent) = connect_failure(&mysql::Error::IoError(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(!permanent && !text.contains("IoError"), "{text}");
    }

    #[test]
    fn literals_read_the_same_in_every_sql_mode() {
        assert_eq!(literal("a'b"), "'a''b'");
        assert_eq!(literal("a\\b"), "CONVERT(0x615c62 USING utf8mb4)");
    }
}
