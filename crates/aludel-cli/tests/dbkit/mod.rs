//! Shared by the run, transaction, locking, retry and offline-SQL tests: one test body
//! runs on SQLite and on PostgreSQL through [`Db`], which creates the database and
//! reads it back the same way on both.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use aludel_testkit::{PgDatabase, TestProject};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Which database a test body runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test: a file in the project folder, or a PostgreSQL database.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

/// A project whose `database_url` points at a fresh database of `backend`.
pub fn project(backend: Backend, extra_config: &str) -> (TestProject, Db) {
    match backend {
        Backend::Sqlite => {
            let p = TestProject::new(BIN, Some("sqlite:///app.db"), extra_config);
            let path = p.path().join("app.db");
            (p, Db::Sqlite(path))
        }
        Backend::Postgres => {
            let db = PgDatabase::create();
            let p = TestProject::new(BIN, Some(db.url()), extra_config);
            (p, Db::Postgres(db))
        }
    }
}

impl Db {
    /// Rows of a query, columns as text joined by `|`, sorted.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Postgres(db) => db.rows(sql),
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                let mut out: Vec<String> = stmt
                    .query_map([], |row| {
                        let mut cols = Vec::with_capacity(n);
                        for i in 0..n {
                            let v: rusqlite::types::Value = row.get(i)?;
                            cols.push(match v {
                                rusqlite::types::Value::Null => "NULL".to_string(),
                                rusqlite::types::Value::Integer(i) => i.to_string(),
                                rusqlite::types::Value::Real(f) => f.to_string(),
                                rusqlite::types::Value::Text(t) => t,
                                rusqlite::types::Value::Blob(b) => {
                                    String::from_utf8_lossy(&b).into_owned()
                                }
                            });
                        }
                        Ok(cols.join("|"))
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                out.sort();
                out
            }
        }
    }

    /// Runs statements (setting up a state by hand).
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Postgres(db) => db.client().batch_execute(sql).unwrap(),
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }

    /// The user tables (PostgreSQL: in `public`), sorted. A missing SQLite file has none.
    pub fn tables(&self) -> Vec<String> {
        match self {
            Db::Postgres(db) => db.tables(),
            Db::Sqlite(path) if !path.exists() => Vec::new(),
            Db::Sqlite(_) => self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ),
        }
    }

    /// The rows of the version table `aludel_version`.
    pub fn versions(&self) -> Vec<String> {
        self.rows("SELECT version_num FROM aludel_version")
    }
}

/// `n` linear revisions `r1 ... rN` (ids `rev_1` ...), each creating table `tN`.
pub fn linear_revs(n: usize) -> Vec<aludel_testkit::Rev> {
    (1..=n)
        .map(|i| {
            let id = format!("rev_{i}");
            let parent = format!("rev_{}", i - 1);
            let parents: Vec<&str> = if i == 1 { vec![] } else { vec![&parent] };
            aludel_testkit::Rev::new(&id, &parents, &format!("create t{i}")).sql(
                &format!("CREATE TABLE t{i} (id int);"),
                &format!("DROP TABLE t{i};"),
            )
        })
        .collect()
}

/// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs a test body `fn NAME(Backend)` on SQLite and on PostgreSQL, as the tests
/// `NAME::sqlite` and `NAME::postgres`.
#[allow(unused_macros)]
macro_rules! on_both {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[test]
            fn sqlite() {
                super::$body($crate::dbkit::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$body($crate::dbkit::Backend::Postgres)
            }
        }
    )*};
}
