//! Test helpers for aludel: a throwaway PostgreSQL or MariaDB database per test,
//! temporary project folders with revision files, running the real `aludel` binary, and
//! snapshot filters for the parts of output that change from run to run (temp paths,
//! durations).
//!
//! One test body runs on every database: [`on_all!`] turns `fn NAME(Backend)` into the
//! tests `NAME::sqlite`, `NAME::postgres` and `NAME::mysql` ([`on_both!`]: the first
//! two); a [`DbProject`] is a project on a fresh database of that [`Backend`], and its
//! [`Db`] reads the database back (rows, tables, version rows) the same way on each.
//!
//! PostgreSQL comes from `ALUDEL_TEST_POSTGRES_URL`, else `postgresql://postgres@127.0.0.1:5432/postgres`;
//! MariaDB (or MySQL) from `ALUDEL_TEST_MYSQL_URL`, else `mysql://root@127.0.0.1:3306/test`
//! (`scripts/test` finds one or starts a throwaway server).
//! A test that needs PostgreSQL and cannot reach it fails with a message that says
//! what to do: it is never skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod faults;

/// The MariaDB client the kit uses, for tests that hold a session open.
pub use mysql;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("ALUDEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".to_string())
}

fn admin_client() -> postgres::Client {
    let url = postgres_admin_url();
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "cannot reach the test PostgreSQL at {url}: {e}\n\
             run the tests with scripts/test (it finds or starts a server), or set ALUDEL_TEST_POSTGRES_URL"
        )
    })
}

/// The admin URL of the test MariaDB (or MySQL) server.
pub fn mysql_admin_url() -> String {
    std::env::var("ALUDEL_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_string())
}

fn mysql_admin() -> mysql::Conn {
    let url = mysql_admin_url();
    mysql::Conn::new(mysql::Opts::from_url(&url).unwrap_or_else(|e| panic!("{url}: {e}")))
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test MariaDB at {url}: {e}\n\
                 run the tests with scripts/test (it finds or starts a server), or set ALUDEL_TEST_MYSQL_URL"
            )
        })
}

/// Which server of the MySQL family the tests run on: `mariadb` or `mysql`, from its
/// `VERSION()`, asked once. The two print the same schema differently (`int(11)` and
/// `int`, `current_timestamp()` and `CURRENT_TIMESTAMP`, parentheses), so a snapshot
/// of what aludel read from one is kept per server ([`Backend::snapshot_name`]).
pub fn mysql_flavour() -> &'static str {
    static FLAVOUR: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    FLAVOUR.get_or_init(|| {
        use mysql::prelude::Queryable;
        let version: String = mysql_admin()
            .query_first("SELECT VERSION()")
            .unwrap()
            .unwrap_or_default();
        if version.contains("MariaDB") {
            "mariadb"
        } else {
            "mysql"
        }
    })
}

/// Runs a query on the MariaDB database at `url` and returns every row as text
/// columns joined by `|` (NULL as `NULL`), sorted.
pub fn mysql_rows(url: &str, sql: &str) -> Vec<String> {
    use mysql::prelude::Queryable;
    let opts = mysql::Opts::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut c = mysql::Conn::new(opts).unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    let rows: Vec<mysql::Row> = c.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out: Vec<String> = rows
        .into_iter()
        .map(|row| {
            row.unwrap()
                .into_iter()
                .map(|v| match v {
                    mysql::Value::NULL => "NULL".to_string(),
                    mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => other.as_sql(true).trim_matches('\'').to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

/// A connection to the MariaDB database at `url`, for a test that holds a session
/// open (`connection_id()` names it, `ping()` says whether it still lives).
pub fn mysql_conn(url: &str) -> mysql::Conn {
    let opts = mysql::Opts::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    mysql::Conn::new(opts).unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// The id of the session running a query that starts with `text` in database `db`
/// of the server at `url`, once one runs; a panic after 20 s.
#[track_caller]
pub fn mysql_session_running(url: &str, db: &str, text: &str) -> u64 {
    use mysql::prelude::Queryable;
    let mut admin = mysql_conn(url);
    let started = std::time::Instant::now();
    loop {
        let ids: Vec<u64> = admin
            .query(format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{db}' AND INFO LIKE '{text}%'"
            ))
            .unwrap();
        if let Some(id) = ids.first() {
            return *id;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{text} never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A MariaDB database created for one test and dropped when it goes out of scope.
pub struct MysqlDatabase {
    name: String,
    url: String,
}

impl MysqlDatabase {
    /// Creates an empty database with a unique name.
    pub fn create() -> MysqlDatabase {
        use mysql::prelude::Queryable;
        let name = unique_name("aludel_t");
        mysql_admin()
            .query_drop(format!("CREATE DATABASE `{name}`"))
            .unwrap();
        MysqlDatabase {
            url: with_database(&mysql_admin_url(), &name),
            name,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a query and returns every row as text columns joined by `|`, sorted.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        mysql_rows(&self.url, sql)
    }

    /// A connection to this database, for a test that holds a session open.
    pub fn conn(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.url).unwrap()).unwrap()
    }

    /// A session that holds the named lock `name` (`GET_LOCK`), as another aludel
    /// run holds its run lock: keep it to hold the lock; its connection id names it.
    pub fn hold_lock(&self, name: &str) -> mysql::Conn {
        use mysql::prelude::Queryable;
        let mut c = self.conn();
        let got: Option<i64> = c
            .query_first(format!("SELECT GET_LOCK('{name}', 0)"))
            .unwrap();
        assert_eq!(got, Some(1), "the lock {name} was free");
        c
    }

    /// The server's id of the session holding the named lock `name`, if any.
    pub fn lock_holder(&self, name: &str) -> Option<u64> {
        use mysql::prelude::Queryable;
        self.conn()
            .query_first::<Option<u64>, _>(format!("SELECT IS_USED_LOCK('{name}')"))
            .unwrap()
            .flatten()
    }

    /// Whether the server still runs the session `id`.
    pub fn session_exists(&self, id: u64) -> bool {
        self.rows(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
        )) != ["0"]
    }

    /// Runs statements.
    pub fn execute(&self, sql: &str) {
        use mysql::prelude::Queryable;
        let opts = mysql::Opts::from_url(&self.url).unwrap();
        mysql::Conn::new(opts)
            .unwrap()
            .query_drop(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The names of the tables (not views, as on the other databases), sorted.
    pub fn tables(&self) -> Vec<String> {
        self.rows(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = '{}' AND TABLE_TYPE = 'BASE TABLE'",
            self.name
        ))
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        use mysql::prelude::Queryable;
        if let Ok(opts) = mysql::Opts::from_url(&mysql_admin_url())
            && let Ok(mut admin) = mysql::Conn::new(opts)
        {
            let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

/// An admin URL with its database replaced by `name` (and its query dropped).
fn with_database(admin_url: &str, name: &str) -> String {
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for this process and call: safe for tests running in parallel.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos:x}", std::process::id())
}

/// Runs a query on the PostgreSQL database at `url` and returns every row as text
/// columns joined by `|`, sorted.
pub fn pg_rows(url: &str, sql: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    let mut out: Vec<String> = c
        .simple_query(sql)
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// A PostgreSQL database created for one test and dropped when it goes out of scope.
pub struct PgDatabase {
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates an empty database with a unique name.
    pub fn create() -> PgDatabase {
        let name = unique_name("aludel_t");
        let mut admin = admin_client();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        PgDatabase {
            url: with_database(&postgres_admin_url(), &name),
            name,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client connected to this database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// Runs a query and returns every row as text columns joined by `|`, sorted.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        pg_rows(&self.url, sql)
    }

    /// The names of the tables in `public`, sorted.
    pub fn tables(&self) -> Vec<String> {
        self.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&postgres_admin_url(), postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// One revision file to write into a test project.
#[derive(Debug, Clone)]
pub struct Rev {
    /// Revision id.
    pub id: String,
    /// Parents.
    pub revises: Vec<String>,
    /// Message.
    pub message: String,
    /// Extra header lines, e.g. `-- aludel:depends_on x`.
    pub extra_header: Vec<String>,
    /// Upgrade SQL.
    pub upgrade: String,
    /// Downgrade SQL (`None`: no downgrade section).
    pub downgrade: Option<String>,
}

impl Rev {
    /// A revision with the given id, parents and message and empty sections.
    pub fn new(id: &str, revises: &[&str], message: &str) -> Rev {
        Rev {
            id: id.into(),
            revises: revises.iter().map(|s| s.to_string()).collect(),
            message: message.into(),
            extra_header: vec![],
            upgrade: String::new(),
            downgrade: Some(String::new()),
        }
    }

    /// Sets the upgrade and downgrade SQL.
    pub fn sql(mut self, upgrade: &str, downgrade: &str) -> Rev {
        self.upgrade = upgrade.into();
        self.downgrade = Some(downgrade.into());
        self
    }

    /// Adds a header line `-- aludel:KEY VALUE`.
    pub fn header(mut self, key: &str, value: &str) -> Rev {
        self.extra_header.push(format!("-- aludel:{key} {value}"));
        self
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let mut s = format!("-- aludel:revision {}\n", self.id);
        if !self.revises.is_empty() {
            s.push_str(&format!("-- aludel:revises {}\n", self.revises.join(" ")));
        }
        s.push_str(&format!("-- aludel:message {}\n", self.message));
        for h in &self.extra_header {
            s.push_str(h);
            s.push('\n');
        }
        s.push_str("\n-- aludel:upgrade\n");
        s.push_str(&self.upgrade);
        s.push('\n');
        if let Some(d) = &self.downgrade {
            s.push_str("\n-- aludel:downgrade\n");
            s.push_str(d);
            s.push('\n');
        }
        s
    }
}

/// A project folder in a temporary directory, removed at the end.
pub struct TestProject {
    dir: tempfile::TempDir,
    bin: PathBuf,
    url: Option<String>,
    env: Vec<(String, String)>,
}

impl TestProject {
    /// A new project with `aludel.toml` (`extra_config` appended) and an empty
    /// versions folder. `bin` is the `aludel` binary (`env!("CARGO_BIN_EXE_aludel")`).
    pub fn new(bin: &str, url: Option<&str>, extra_config: &str) -> TestProject {
        let dir = tempfile::Builder::new()
            .prefix("aludel-test")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
        let mut config = String::from("[aludel]\nscript_location = \"migrations\"\n");
        if let Some(u) = url {
            config.push_str(&format!("database_url = \"{u}\"\n"));
        }
        config.push_str("[connect]\nretries = 1\ndelay_seconds = 0.1\nlock_timeout_seconds = 60\n");
        config.push_str(extra_config);
        std::fs::write(dir.path().join("aludel.toml"), config).unwrap();
        TestProject {
            dir,
            bin: PathBuf::from(bin),
            url: url.map(str::to_string),
            env: vec![],
        }
    }

    /// An empty temporary folder (no `aludel.toml`), e.g. for `aludel init`.
    pub fn empty(bin: &str) -> TestProject {
        let dir = tempfile::Builder::new()
            .prefix("aludel-test")
            .tempdir()
            .unwrap();
        TestProject {
            dir,
            bin: PathBuf::from(bin),
            url: None,
            env: vec![],
        }
    }

    /// The project folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The database URL given at creation.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Sets an environment variable for every command run.
    pub fn env(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    /// Writes a revision file named `<id>.sql`; returns its path.
    pub fn write_rev(&self, rev: &Rev) -> PathBuf {
        let path = self.versions().join(format!("{}.sql", rev.id));
        std::fs::write(&path, rev.text()).unwrap();
        path
    }

    /// Writes an arbitrary file in the versions folder.
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.versions().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Adds `lines` (`key = value`, one a line) to the `[aludel]` table of
    /// `aludel.toml` (`extra_config` of [`TestProject::new`] lands after `[connect]`).
    pub fn aludel_config(&self, lines: &str) {
        let path = self.path().join("aludel.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = lines.to_string();
        if !lines.ends_with('\n') {
            lines.push('\n');
        }
        let text = text.replacen("[aludel]\n", &format!("[aludel]\n{lines}"), 1);
        std::fs::write(&path, text).unwrap();
    }

    /// The versions folder.
    pub fn versions(&self) -> PathBuf {
        self.path().join("migrations/versions")
    }

    /// The command `aludel ARGS` in the project folder, not started: without the
    /// caller's `DATABASE_URL`, `ALUDEL_CONFIG` and `MIGRATION_RETRY_*`, with the variables set by [`TestProject::env`]. For tests
    /// that start processes themselves; [`TestProject::run`] runs it to the end.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).current_dir(self.path());
        cmd.env_remove("DATABASE_URL")
            .env_remove("ALUDEL_CONFIG")
            .env_remove("MIGRATION_RETRY_COUNT")
            .env_remove("MIGRATION_RETRY_DELAY")
            .env_remove("MIGRATION_RETRY_BACKOFF")
            // Each project's caches stay in its own folder, removed with it.
            .env("ALUDEL_CACHE_DIR", self.path().join(".aludel-cache"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `aludel ARGS` in the project folder.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.command(args).output().unwrap(), self.path())
    }

    /// Runs and asserts exit 0; returns the run.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(0, args)
    }

    /// Runs and asserts exit 1; returns the run.
    pub fn fails(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(1, args)
    }

    /// Runs and asserts exit `code` with `stderr_has` somewhere in standard error
    /// (usage errors exit 2, other failures 1, a database out of step 3); returns the
    /// run.
    #[track_caller]
    pub fn fails_with(&self, args: &[&str], code: i32, stderr_has: &str) -> Run {
        let r = self.run(args).expect_code(code, args);
        assert!(r.stderr.contains(stderr_has), "{args:?}:\n{r}");
        r
    }

    /// Sets `key = value` (`value` is TOML, e.g. `"false"` or `"\"meta\""`) in
    /// `[section]` of `aludel.toml`, replacing the key if present and adding the
    /// section if missing.
    pub fn set_option(&self, section: &str, key: &str, value: &str) {
        let path = self.path().join("aludel.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let header = format!("[{section}]");
        let line = format!("{key} = {value}");
        let mut out: Vec<String> = Vec::new();
        let mut in_section = false;
        let mut done = false;
        for l in text.lines() {
            let t = l.trim();
            if t.starts_with('[') {
                if in_section && !done {
                    out.push(line.clone());
                    done = true;
                }
                in_section = t == header;
            } else if in_section && !done && t.split('=').next().map(str::trim) == Some(key) {
                out.push(line.clone());
                done = true;
                continue;
            }
            out.push(l.to_string());
        }
        if !done {
            if !in_section {
                out.push(header);
            }
            out.push(line);
        }
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
    }
}

/// The result of one run of the binary, with output normalised for snapshots.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output, filtered.
    pub stdout: String,
    /// Standard error, filtered.
    pub stderr: String,
}

impl Run {
    /// Wraps a finished process's output, filtering `root` and durations.
    pub fn from_output(out: Output, root: &Path) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: filter(&String::from_utf8_lossy(&out.stdout), root),
            stderr: filter(&String::from_utf8_lossy(&out.stderr), root),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the whole run when it differs.
    pub fn expect_code(self, code: i32, args: &[&str]) -> Run {
        assert_eq!(
            self.code, code,
            "aludel {args:?} should exit {code}:\n{self}"
        );
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Replaces run-specific text: the project folder by `[PROJECT]`, `(12 ms)` by `([ms])`.
pub fn filter(text: &str, root: &Path) -> String {
    let mut s = text.to_string();
    // Both the path as given and its canonical form (macOS /private/var, symlinks).
    if let Ok(canon) = root.canonicalize() {
        s = s.replace(&*canon.to_string_lossy(), "[PROJECT]");
    }
    s = s.replace(&*root.to_string_lossy(), "[PROJECT]");
    filter_durations(&s)
}

fn filter_durations(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(after.len());
        if digits > 0 && after[digits..].starts_with(" ms)") {
            out.push_str("([ms])");
            rest = &after[digits + 4..];
        } else {
            out.push('(');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Waits, up to 5 s, until `check` holds; fails saying `what` did not happen.
#[track_caller]
pub fn soon(what: &str, mut check: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !check() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Asserts a run's standard output and standard error, each exactly.
#[track_caller]
pub fn expect(run: &Run, stdout: &str, stderr: &str) {
    assert_eq!(run.stdout, stdout, "stdout differs:\n{run}");
    assert_eq!(run.stderr, stderr, "stderr differs:\n{run}");
}

/// The database kinds an integration test runs on: one test body, one `#[test]` per
/// backend (see [`on_both!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the project folder (`sqlite:///app.db` for a [`DbProject`]).
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
    /// A fresh database on the test MariaDB (or MySQL) server.
    Mysql,
}

impl Backend {
    /// Its name in test and snapshot names: `sqlite`, `postgres`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// Its name in the names of snapshots that hold what a server printed: as
    /// [`Backend::name`], except that the MySQL family is `mariadb` or `mysql` after
    /// the server the tests run on ([`mysql_flavour`]).
    pub fn snapshot_name(self) -> &'static str {
        match self {
            Backend::Mysql => mysql_flavour(),
            other => other.name(),
        }
    }

    /// The progress line `aludel` prints on standard error before each statement of a
    /// revision that runs statement by statement, which every revision does on MariaDB
    /// (its DDL commits by itself); empty on SQLite and PostgreSQL, where a revision
    /// runs in a transaction. `excerpt` is the statement as printed (without its `;`).
    pub fn statement_line(self, line: usize, excerpt: &str) -> String {
        match self {
            Backend::Mysql => format!("INFO  Running the statement at line {line}: {excerpt}\n"),
            Backend::Sqlite | Backend::Postgres => String::new(),
        }
    }
}

/// Runs each test body `fn NAME(Backend)` on the backends listed, as the tests
/// `NAME::sqlite`, `NAME::postgres`, `NAME::mysql`:
/// `on_backends!([sqlite, mysql]: first_body, second_body);`.
#[macro_export]
macro_rules! on_backends {
    (@backend sqlite) => { $crate::Backend::Sqlite };
    (@backend postgres) => { $crate::Backend::Postgres };
    (@backend mysql) => { $crate::Backend::Mysql };
    (@body $body:ident [$($backend:ident),+]) => {
        mod $body {
            $(
                #[test]
                fn $backend() {
                    super::$body($crate::on_backends!(@backend $backend))
                }
            )+
        }
    };
    ($backends:tt: $($body:ident),* $(,)?) => {$(
        $crate::on_backends!(@body $body $backends);
    )*};
}

/// Runs each test body `fn NAME(Backend)` on SQLite and on PostgreSQL, as the tests
/// `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both {
    ($($body:ident),* $(,)?) => {
        $crate::on_backends!([sqlite, postgres]: $($body),*);
    };
}

/// Runs each test body `fn NAME(Backend)` on SQLite, PostgreSQL and MariaDB, as the
/// tests `NAME::sqlite`, `NAME::postgres` and `NAME::mysql`.
#[macro_export]
macro_rules! on_all {
    ($($body:ident),* $(,)?) => {
        $crate::on_backends!([sqlite, postgres, mysql]: $($body),*);
    };
}

/// A fresh database and the URL a library caller in the test's process reaches it by
/// (the library tests of `Migrator`, blocking and async).
pub struct TestDb {
    _dir: tempfile::TempDir,
    /// The database, for reading it back.
    pub db: Db,
    /// Its URL.
    pub url: String,
}

/// A [`TestDb`] on `backend`.
pub fn test_db(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(backend, dir.path().join("app.db"));
    let url = match &db {
        Db::Postgres(pg) => pg.url().to_string(),
        Db::Mysql(my) => my.url().to_string(),
        Db::Sqlite(path) => format!("sqlite:///{}", path.display()),
    };
    TestDb { _dir: dir, db, url }
}

/// A database for one test, of either [`Backend`], with queries that read it back the
/// same way on both.
pub enum Db {
    /// A SQLite file; whatever first writes to it creates it.
    Sqlite(PathBuf),
    /// A PostgreSQL database, dropped with the handle.
    Postgres(PgDatabase),
    /// A MariaDB database, dropped with the handle.
    Mysql(MysqlDatabase),
}

impl Db {
    /// A new, empty database of `backend`: a fresh PostgreSQL database, or the SQLite
    /// file `sqlite_file` (not created here).
    pub fn new(backend: Backend, sqlite_file: PathBuf) -> Db {
        match backend {
            Backend::Sqlite => Db::Sqlite(sqlite_file),
            Backend::Postgres => Db::Postgres(PgDatabase::create()),
            Backend::Mysql => Db::Mysql(MysqlDatabase::create()),
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
            Db::Mysql(_) => Backend::Mysql,
        }
    }

    /// The URL to give aludel: the PostgreSQL database's, or `sqlite:///NAME` with the
    /// SQLite file's name, which aludel finds when run in the folder that holds it.
    pub fn url(&self) -> String {
        match self {
            Db::Postgres(db) => db.url().to_string(),
            Db::Mysql(db) => db.url().to_string(),
            Db::Sqlite(path) => format!(
                "sqlite:///{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
        }
    }

    /// The MariaDB database (`None` for the others).
    pub fn mysql(&self) -> Option<&MysqlDatabase> {
        match self {
            Db::Mysql(db) => Some(db),
            _ => None,
        }
    }

    /// The PostgreSQL database (`None` for SQLite).
    pub fn pg(&self) -> Option<&PgDatabase> {
        match self {
            Db::Postgres(db) => Some(db),
            _ => None,
        }
    }

    /// The SQLite file (`None` for PostgreSQL).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(path) => Some(path),
            _ => None,
        }
    }

    /// Runs a query; every row as text columns joined by `|`, sorted. On SQLite a
    /// missing database file gives no rows (the file is never created here).
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Postgres(db) => db.rows(sql),
            Db::Mysql(db) => db.rows(sql),
            Db::Sqlite(path) => sqlite_rows(path, sql),
        }
    }

    /// Runs statements, e.g. to set up a state by hand. On SQLite this creates the file
    /// if it is missing.
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Postgres(db) => db
                .client()
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Db::Mysql(db) => db.execute(sql),
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The user tables, the version table included but not its journal (PostgreSQL:
    /// those in `public`), sorted. A missing SQLite file has none. The journal,
    /// `<version table>_journal`, is aludel's bookkeeping: every MariaDB revision and
    /// every `transaction false` one makes it, so a test that means it reads
    /// [`Db::all_tables`].
    pub fn tables(&self) -> Vec<String> {
        let all = self.all_tables();
        all.iter()
            .filter(|t| {
                !t.strip_suffix("_journal")
                    .is_some_and(|version| all.iter().any(|v| v == version))
            })
            .cloned()
            .collect()
    }

    /// Every table, aludel's journal included, sorted.
    pub fn all_tables(&self) -> Vec<String> {
        match self {
            Db::Postgres(db) => db.tables(),
            Db::Mysql(db) => db.tables(),
            Db::Sqlite(_) => self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ),
        }
    }

    /// The rows of the version table `aludel_version`, sorted; empty when the table
    /// does not exist (query it with [`Db::rows`] to require it).
    pub fn version_rows(&self) -> Vec<String> {
        self.version_rows_in("aludel_version")
    }

    /// The rows of the version table `table`, sorted; empty when it does not exist.
    pub fn version_rows_in(&self, table: &str) -> Vec<String> {
        if !self.tables().iter().any(|t| t == table) {
            return vec![];
        }
        self.rows(&format!("SELECT version_num FROM {table}"))
    }
}

/// A [`TestProject`] whose `database_url` is a fresh [`Db`] of one [`Backend`] (SQLite:
/// `app.db` in the project folder). Dereferences to the project; its own
/// `run`/`ok`/`fails` also replace the PostgreSQL database's name by `[DB]`.
pub struct DbProject {
    project: TestProject,
    db: Db,
}

impl std::ops::Deref for DbProject {
    type Target = TestProject;
    fn deref(&self) -> &TestProject {
        &self.project
    }
}

impl DbProject {
    /// A project configured for a new, empty database of `backend`; `extra_config` as in
    /// [`TestProject::new`].
    pub fn new(bin: &str, backend: Backend, extra_config: &str) -> DbProject {
        let server = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(Db::Postgres(PgDatabase::create())),
            Backend::Mysql => Some(Db::Mysql(MysqlDatabase::create())),
        };
        Self::with(bin, server, extra_config)
    }

    /// A project configured for a new, empty database on the test MariaDB server.
    pub fn mysql(bin: &str, extra_config: &str) -> DbProject {
        Self::with(bin, Some(Db::Mysql(MysqlDatabase::create())), extra_config)
    }

    fn with(bin: &str, server: Option<Db>, extra_config: &str) -> DbProject {
        let url = match &server {
            Some(db) => db.url(),
            None => "sqlite:///app.db".to_string(),
        };
        let project = TestProject::new(bin, Some(&url), extra_config);
        let db = server.unwrap_or_else(|| Db::Sqlite(project.path().join("app.db")));
        DbProject { project, db }
    }

    /// The project's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    fn filter(&self, mut run: Run) -> Run {
        let name = match &self.db {
            Db::Postgres(db) => Some(db.name()),
            Db::Mysql(db) => Some(db.name()),
            Db::Sqlite(_) => None,
        };
        if let Some(name) = name {
            run.stdout = run.stdout.replace(name, "[DB]");
            run.stderr = run.stderr.replace(name, "[DB]");
        }
        run
    }

    /// Runs `aludel ARGS` in the project folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.filter(self.project.run(args))
    }

    /// `expected` standard error of a run, written as on SQLite and PostgreSQL, with
    /// the lines MariaDB adds on its own: after each `INFO  Running upgrade .. -> REV,
    /// ..` (or `downgrade REV -> ..`) line, one [`Backend::statement_line`] per statement
    /// of that section of REV's file in the versions folder (its `mysql` section where
    /// it has one). For revisions of short statements, each ending its line with `;`
    /// (a statement over several lines is printed with its lines joined by a space);
    /// unchanged on SQLite and PostgreSQL.
    pub fn with_statement_lines(&self, expected: &str) -> String {
        let backend = self.backend();
        if backend != Backend::Mysql {
            return expected.to_string();
        }
        let mut out = String::new();
        for line in expected.split_inclusive('\n') {
            out.push_str(line);
            let step = line
                .strip_prefix("INFO  Running upgrade ")
                .and_then(|rest| rest.split_once(" -> "))
                .map(|(_, to)| ("upgrade", to.split(',').next().unwrap_or(to)))
                .or_else(|| {
                    line.strip_prefix("INFO  Running downgrade ")
                        .and_then(|rest| rest.split_once(" -> "))
                        .map(|(from, _)| ("downgrade", from))
                });
            if let Some((section, revision)) = step {
                for (n, sql) in self.section_statements(revision.trim(), section) {
                    out.push_str(&backend.statement_line(n, &sql));
                }
            }
        }
        out
    }

    /// The statements (line, text without `;`) of `section` of `revision`'s file, for
    /// MariaDB: its `mysql` section where it has one.
    fn section_statements(&self, revision: &str, section: &str) -> Vec<(usize, String)> {
        let header = format!("-- aludel:revision {revision}\n");
        let text = std::fs::read_dir(self.versions())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .find(|t| t.starts_with(&header))
            .unwrap_or_else(|| panic!("no file for revision {revision}"));
        let lines: Vec<&str> = text.lines().collect();
        let start = |name: &str| lines.iter().position(|l| l.trim_end() == name);
        let Some(first) = start(&format!("-- aludel:{section} mysql"))
            .or_else(|| start(&format!("-- aludel:{section}")))
        else {
            return vec![];
        };
        let mut statements = Vec::new();
        let mut current: Option<(usize, String)> = None;
        for (i, l) in lines.iter().enumerate().skip(first + 1) {
            let t = l.trim();
            if t.starts_with("-- aludel:") {
                break;
            }
            if t.is_empty() || t.starts_with("--") {
                continue;
            }
            let (n, mut sql) = current.take().unwrap_or((i + 1, String::new()));
            if !sql.is_empty() {
                sql.push(' ');
            }
            sql.push_str(t);
            match sql.strip_suffix(';') {
                Some(done) => statements.push((n, done.to_string())),
                None => current = Some((n, sql)),
            }
        }
        statements
    }

    /// Runs and asserts exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(0, args)
    }

    /// Runs and asserts exit 1.
    pub fn fails(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(1, args)
    }
}

/// Runs a query on a SQLite file opened read-only; rows as in [`PgDatabase::rows`].
/// A missing file gives no rows.
pub fn sqlite_rows(path: &Path, sql: &str) -> Vec<String> {
    if !path.exists() {
        return vec![];
    }
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let mut out: Vec<String> = stmt
        .query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(|cols| cols.join("|"))
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect::<rusqlite::Result<_>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    out.sort();
    out
}

/// `n` linear revisions (ids `rev_1` ... `rev_N`, messages `create t1` ...), revision
/// `i` creating table `ti` and its downgrade dropping it.
pub fn linear_revs(n: usize) -> Vec<Rev> {
    (1..=n)
        .map(|i| {
            let id = format!("rev_{i}");
            let parent = format!("rev_{}", i - 1);
            let parents: Vec<&str> = if i == 1 { vec![] } else { vec![&parent] };
            Rev::new(&id, &parents, &format!("create t{i}")).sql(
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

/// Checks that every line of `stderr` is one JSON log object with the documented
/// fields (`time` as RFC 3339 UTC with milliseconds first, then `level`, `event`, …,
/// `message` last), and returns each line re-serialized without its `time` and with a
/// `duration` replaced by `"[s]"`, for exact comparison.
#[track_caller]
pub fn json_log(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object a line ({e}): {line}"));
            let serde_json::Value::Object(mut o) = value else {
                panic!("not a JSON object: {line}");
            };
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            assert_eq!(keys.first(), Some(&"time"), "{line}");
            assert_eq!(keys.get(1), Some(&"level"), "{line}");
            assert_eq!(keys.get(2), Some(&"event"), "{line}");
            assert_eq!(keys.last(), Some(&"message"), "{line}");
            let time = o
                .shift_remove("time")
                .and_then(|t| t.as_str().map(String::from));
            let time = time.unwrap_or_default();
            let shape: String = time
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect();
            assert_eq!(shape, "9999-99-99T99:99:99.999Z", "time of {line}");
            if let Some(d) = o.get_mut("duration") {
                assert!(d.as_f64().is_some_and(|d| d >= 0.0), "duration of {line}");
                *d = "[s]".into();
            }
            serde_json::Value::Object(o).to_string()
        })
        .collect()
}

/// A Python with Alembic and SQLAlchemy: `ALUDEL_TEST_PYTHON`, else the venv
/// `scripts/test` makes under `target/` (the pins of
/// `scripts/alembic-diff/requirements.txt`). Fails the test, saying so, when there is
/// none.
pub fn python_with_alembic() -> PathBuf {
    let path = std::env::var_os("ALUDEL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/alembic-venv/bin/python")
        });
    assert!(
        path.is_file(),
        "{} is missing: scripts/test installs Alembic and SQLAlchemy there, or set ALUDEL_TEST_PYTHON to a Python that has them",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_option_replaces_or_adds_keys() {
        let p = TestProject::new("aludel", None, "");
        p.set_option("connect", "retries", "3");
        p.set_option("aludel", "transaction_per_migration", "false");
        p.set_option("extra", "x", "1");
        let text = std::fs::read_to_string(p.path().join("aludel.toml")).unwrap();
        assert_eq!(
            text,
            "[aludel]\nscript_location = \"migrations\"\ntransaction_per_migration = false\n\
             [connect]\nretries = 3\ndelay_seconds = 0.1\nlock_timeout_seconds = 60\n[extra]\nx = 1\n"
        );
    }

    #[test]
    fn durations_and_paths_are_filtered() {
        assert_eq!(
            filter("/tmp/x/a.sql (12 ms) (head) (3.5 ms)", Path::new("/tmp/x")),
            "[PROJECT]/a.sql ([ms]) (head) ([ms])"
        );
    }
}
