//! SQLite through the bundled library. The run lock is SQLite's own exclusive file
//! lock, held for the whole run by switching the connection to exclusive locking mode.

mod inspect;

use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{ConnectError, ConnectOptions, DbError, DbErrorKind, Driver, InspectScope, Inspection};
use crate::render::VersionTable;
use crate::url::{DatabaseUrl, Dialect, SqliteLocation};

/// A connection to one SQLite database.
pub struct SqliteDriver {
    conn: Connection,
    busy_timeout: Duration,
}

fn db_error(e: rusqlite::Error) -> DbError {
    use rusqlite::ErrorCode as C;
    let (code, kind) = match &e {
        rusqlite::Error::SqliteFailure(f, _) => (
            Some(format!("{:?}", f.code)),
            match f.code {
                C::DiskFull | C::OutOfMemory => DbErrorKind::OutOfResources,
                C::ReadOnly => DbErrorKind::ReadOnly,
                C::DatabaseBusy | C::DatabaseLocked => DbErrorKind::LockNotAvailable,
                C::OperationInterrupted => DbErrorKind::Cancelled,
                _ => sqlite_kind_from_text(&e.to_string()),
            },
        ),
        // A statement refused while being prepared (`SqlInputError`): its text too.
        _ => (None, sqlite_kind_from_text(&e.to_string())),
    };
    DbError {
        message: crate::url::redact_str(&e.to_string()),
        code,
        kind,
        ours: false,
    }
}

/// SQLite reports these as a plain `SQLITE_ERROR`: only its (stable) wording tells
/// them apart.
fn sqlite_kind_from_text(message: &str) -> DbErrorKind {
    if message.starts_with("cannot VACUUM from within a transaction") {
        DbErrorKind::NeedsNoTransaction
    } else if ["table ", "index ", "view ", "trigger "]
        .iter()
        .any(|w| message.starts_with(w))
        && message.contains(" already exists")
        || message.starts_with("duplicate column name")
    {
        DbErrorKind::AlreadyExists
    } else {
        DbErrorKind::Statement
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl SqliteDriver {
    /// Opens (creating if needed) the database file, or an in-memory database.
    pub fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, ConnectError> {
        // A missing folder or a file that cannot be opened does not fix itself:
        // reported at once rather than retried like a network outage.
        let unreachable = |message: String| ConnectError::Rejected {
            url: url.to_string(),
            message,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match url.sqlite_location() {
            Some(SqliteLocation::File(path)) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                    && !dir.is_dir()
                {
                    return Err(unreachable(format!(
                        "the folder {} does not exist",
                        dir.display()
                    )));
                }
                Connection::open_with_flags(path, flags)
            }
            _ => Connection::open_in_memory(),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(SqliteDriver {
            conn,
            busy_timeout: options.busy_timeout,
        })
    }
}

/// A SQLite scratch database: in memory, or, when other connections open it
/// (`shared`), a temporary file named after `unique`.
pub(super) fn scratch(shared: bool, unique: &str) -> Result<super::ServerlessScratch, DbError> {
    if !shared {
        return Ok(super::ServerlessScratch {
            url: "sqlite://:memory:"
                .parse()
                .map_err(|e| DbError::new(format!("{e}")))?,
            file: None,
        });
    }
    let file = std::env::temp_dir().join(format!("aludel-shadow-{unique}.db"));
    let _ = std::fs::remove_file(&file);
    let url = format!("sqlite:///{}", file.display())
        .parse()
        .map_err(|e| DbError::new(format!("naming {}: {e}", file.display())))?;
    Ok(super::ServerlessScratch {
        url,
        file: Some(file),
    })
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        Ok(self.query_column("SELECT sqlite_version()")?.join(" "))
    }

    fn default_schema(&mut self) -> String {
        "main".to_string()
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(db_error)
    }

    fn query_column(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(db_error)?;
        let rows = stmt
            .query_map([], |row| {
                let v: rusqlite::types::Value = row.get(0)?;
                Ok(match v {
                    rusqlite::types::Value::Null => String::new(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
    }

    fn version_table_exists(&mut self, table: &VersionTable) -> Result<bool, DbError> {
        let master = match &table.schema {
            Some(s) => format!(
                "{}.sqlite_master",
                crate::render::quote_ident(Dialect::Sqlite, s)
            ),
            None => "sqlite_master".to_string(),
        };
        let n: i64 = self
            .conn
            .query_row(
                &format!("SELECT count(*) FROM {master} WHERE type = 'table' AND name = ?1"),
                [&table.name],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        Ok(n > 0)
    }

    fn try_lock(&mut self, _table: &VersionTable) -> Result<bool, DbError> {
        // In exclusive locking mode SQLite keeps the lock a write takes until the mode
        // is switched back, so one BEGIN EXCLUSIVE holds the whole run. The attempt is
        // made in normal mode and the mode switched only once the lock is ours: a
        // failed attempt in exclusive mode keeps its shared lock, and runs polling
        // together then block each other until they time out. A short busy timeout
        // lets the runner poll and say that it waits.
        self.conn
            .busy_timeout(Duration::from_millis(50))
            .map_err(db_error)?;
        let result = self.conn.execute_batch("BEGIN EXCLUSIVE");
        self.conn
            .busy_timeout(self.busy_timeout)
            .map_err(db_error)?;
        match result {
            Ok(()) => {
                self.conn
                    .execute_batch("PRAGMA locking_mode = EXCLUSIVE; COMMIT;")
                    .map_err(db_error)?;
                Ok(true)
            }
            Err(e) if is_busy(&e) => Ok(false),
            Err(e) => Err(db_error(e)),
        }
    }

    fn inspect(&mut self, scope: &InspectScope) -> Result<Inspection, DbError> {
        inspect::inspect(&self.conn, scope)
    }

    fn inspected_schemas(&mut self, _scope: &InspectScope) -> Result<Vec<String>, DbError> {
        Ok(vec![inspect::SCHEMA.to_string()])
    }

    fn lock_holder(&mut self, _table: &VersionTable) -> Result<Option<String>, DbError> {
        // SQLite does not say who holds a file lock.
        Ok(None)
    }

    fn unlock(&mut self, _table: &VersionTable) -> Result<(), DbError> {
        // The lock is released at the next access after leaving exclusive mode.
        self.conn
            .execute_batch("PRAGMA locking_mode = NORMAL")
            .map_err(db_error)?;
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(db_error)
    }
}
