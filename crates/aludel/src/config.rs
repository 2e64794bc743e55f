//! `aludel.toml`: loading, `${ENV}` interpolation, and the precedence of flags,
//! environment and file. This is the only module that reads environment variables,
//! and it reads them through [`Env`] so tests can supply their own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::url::{DatabaseUrl, UrlError};

/// The file name `aludel init` writes and commands look for.
pub const CONFIG_FILE_NAME: &str = "aludel.toml";

/// The URL used when neither flag, environment nor file names one: a SQLite file
/// beside the config file, so a fresh project works with nothing installed.
pub const DEFAULT_URL: &str = "sqlite:///aludel.db";

/// Where environment variables come from.
pub trait Env {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Errors loading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No config file where one was expected.
    #[error("no configuration at {}: run `aludel init` to create a project, or pass -c/--config PATH", path.display())]
    NotFound {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A `${NAME}` reference to an unset variable.
    #[error("{}: `{key}` refers to environment variable {name}, which is not set", path.display())]
    UnsetVariable {
        /// The file.
        path: PathBuf,
        /// The key whose value holds the reference.
        key: String,
        /// The variable's name.
        name: String,
    },
    /// A value that is out of range or malformed.
    #[error("{origin}: invalid `{key}`: {message}")]
    Invalid {
        /// Where the value came from (file path or variable name).
        origin: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A database URL that is set but empty: an empty Secret or variable must not
    /// turn into the embedded SQLite default.
    #[error(
        "{origin} is set but empty; give a database URL there, or remove it to fall back to the next source"
    )]
    EmptyUrl {
        /// Where it came from: `--url`, `DATABASE_URL`, or `database_url in PATH`.
        origin: String,
    },
    /// The database URL could not be parsed.
    #[error("{origin}: {error}")]
    Url {
        /// Where the URL came from (`--url`, `DATABASE_URL`, the file).
        origin: String,
        /// The parse error (already redacted).
        error: UrlError,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    aludel: AludelSection,
    #[serde(default)]
    autogenerate: AutogenerateSection,
    #[serde(default)]
    connect: ConnectSection,
    #[serde(default)]
    hooks: HooksSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AludelSection {
    script_location: Option<String>,
    database_url: Option<String>,
    version_table: Option<String>,
    version_table_schema: Option<String>,
    file_template: Option<String>,
    timezone: Option<String>,
    transaction_per_migration: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutogenerateSection {
    schema: Option<String>,
    exclude_tables: Option<Vec<String>>,
    include_schemas: Option<Vec<String>>,
    shadow_database_url: Option<String>,
    shadow_server_url: Option<String>,
    schema_command: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectSection {
    retries: Option<u32>,
    delay_seconds: Option<f64>,
    backoff: Option<String>,
    lock_timeout_seconds: Option<f64>,
    response_timeout_seconds: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HooksSection {
    #[serde(default)]
    post_write: Vec<HookSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HookSection {
    command: Vec<String>,
}

/// How to wait for a database that is not reachable yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectPolicy {
    /// Attempts in all (at least 1).
    pub retries: u32,
    /// The delay after the first failed attempt; after further ones as `backoff` says.
    pub delay_seconds: f64,
    /// Whether the delay doubles after each failed attempt or stays the same.
    pub backoff: Backoff,
    /// How long a run waits for another run's lock.
    pub lock_timeout_seconds: f64,
    /// How long aludel's own requests (the lock, the version table, BEGIN, COMMIT)
    /// may go unanswered before the connection is taken as lost.
    pub response_timeout_seconds: f64,
}

impl Default for ConnectPolicy {
    /// The `[connect]` defaults: 5 attempts, 5 s first delay, 300 s lock timeout,
    /// 60 s response timeout.
    fn default() -> Self {
        ConnectPolicy {
            retries: 5,
            delay_seconds: 5.0,
            backoff: Backoff::Exponential,
            lock_timeout_seconds: 300.0,
            response_timeout_seconds: 60.0,
        }
    }
}

/// How the wait between connection attempts grows (`[connect] backoff`,
/// `MIGRATION_RETRY_BACKOFF`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backoff {
    /// `"exponential"` (the default): `delay_seconds`, then twice as long after each
    /// further failure, no wait longer than [`MAX_RETRY_DELAY`] (or than
    /// `delay_seconds`, when that is longer).
    #[default]
    Exponential,
    /// `"fixed"`: `delay_seconds` after every failure.
    Fixed,
}

/// The longest single wait between attempts with [`Backoff::Exponential`]: a long
/// outage is still polled each minute.
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(60);

impl std::str::FromStr for Backoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Backoff, String> {
        match s.trim() {
            "exponential" => Ok(Backoff::Exponential),
            "fixed" => Ok(Backoff::Fixed),
            other => Err(format!(
                "'{}' is not a backoff: use \"exponential\" (the delay doubles after each failed attempt) or \"fixed\" (the same delay each time)",
                crate::text::value(other)
            )),
        }
    }
}

impl ConnectPolicy {
    /// The wait after failed attempt `n` (1-based): `delay_seconds`, then doubling
    /// up to a minute with exponential backoff (never below the first wait), or the
    /// same each time with fixed backoff. Worked out per attempt rather than listed, so
    /// that a huge `retries` costs nothing until it is used.
    pub fn retry_delay(&self, n: u32) -> std::time::Duration {
        let first = std::time::Duration::from_secs_f64(self.delay_seconds);
        if self.backoff == Backoff::Fixed {
            return first;
        }
        let cap = MAX_RETRY_DELAY.max(first);
        let doublings = n.saturating_sub(1).min(32);
        first.saturating_mul(1u32 << doublings.min(31)).min(cap)
    }

    /// The first waits between the attempts, in order (`retries - 1` of them, at most
    /// the first 1,000); [`ConnectPolicy::retry_delay`] gives any one.
    pub fn retry_delays(&self) -> Vec<std::time::Duration> {
        (1..self.retries.min(1_000))
            .map(|n| self.retry_delay(n))
            .collect()
    }

    /// The longest a connection can take to give up, waits only (each attempt's own
    /// `connect_timeout` comes on top).
    pub fn total_retry_wait(&self) -> std::time::Duration {
        let waits = self.retries.saturating_sub(1);
        // Past 40 doublings every wait is the cap: add those up in one product.
        let listed = waits.min(40);
        let mut total = std::time::Duration::ZERO;
        for n in 1..=listed {
            total = total.saturating_add(self.retry_delay(n));
        }
        let rest = waits - listed;
        total.saturating_add(self.retry_delay(listed.max(1)).saturating_mul(rest))
    }
}

/// A command run after `revision` or `merge` writes a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Program and arguments; `{path}` is replaced by the new file's path.
    pub command: Vec<String>,
    /// The command as written in the file, before `${ENV}` references are replaced:
    /// what messages show, so a secret passed to a hook is never printed.
    pub as_written: Vec<String>,
}

/// Autogenerate settings (used by `revision --autogenerate` and `check`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AutogenerateConfig {
    /// The desired schema: a file or a folder of `.sql` files.
    pub schema: PathBuf,
    /// Tables never compared.
    pub exclude_tables: Vec<String>,
    /// Schemas compared (empty: the default schema only).
    pub include_schemas: Vec<String>,
    /// A database to load the desired schema into; default a temporary one.
    pub shadow_database_url: Option<String>,
    /// A PostgreSQL server on which the temporary shadow databases are created and
    /// dropped, instead of the project's own: a scratch server (no durability needed)
    /// takes a large desired schema much faster than a durable one.
    pub shadow_server_url: Option<String>,
    /// A command whose standard output is the desired schema, instead of `schema`'s
    /// files: models kept in code (an ORM's metadata) printed as DDL.
    pub schema_command: Option<SchemaCommand>,
}

/// `[autogenerate] schema_command`: run in the project's folder, with no input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaCommand {
    /// Program and arguments, `${ENV}` references replaced.
    pub command: Vec<String>,
    /// The command as written in the file: what messages show, so that a secret
    /// passed to it is never printed.
    pub as_written: Vec<String>,
}

/// Where the database URL came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlSource {
    /// The `--url` flag, or a URL an application passed in.
    Flag,
    /// The `DATABASE_URL` variable.
    Environment,
    /// `database_url` in the config file.
    File,
    /// The embedded SQLite default.
    Default,
    /// Given in code for one call: a `--targets` line, or an application's
    /// [`crate::migrator::Migrator`] call.
    Caller,
}

/// A `database_url` in the file that refers to an unset variable. Commands that need no
/// database (`history`, `heads`, `show`, `revision`, `merge`, `--sql`) still run; one
/// that connects fails with [`UnresolvedUrl::error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedUrl {
    /// The config file.
    pub path: PathBuf,
    /// The unset variable.
    pub name: String,
    /// Whether the URL's scheme, written without variables, still names the dialect
    /// (offline SQL needs it).
    pub dialect_known: bool,
}

impl UnresolvedUrl {
    /// The error a command that needs the database reports.
    pub fn error(&self) -> ConfigError {
        ConfigError::UnsetVariable {
            path: self.path.clone(),
            key: "database_url".into(),
            name: self.name.clone(),
        }
    }
}

/// The resolved configuration of one project.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file (it may not exist for `init`).
    pub path: PathBuf,
    /// The folder holding the config file; relative paths resolve against it.
    pub root: PathBuf,
    /// The migrations folder (absolute).
    pub script_location: PathBuf,
    /// The database URL, already chosen by precedence and parsed.
    pub database_url: DatabaseUrl,
    /// Where [`Config::database_url`] came from.
    pub url_source: UrlSource,
    /// Set when the file's `database_url` refers to an unset variable: then
    /// [`Config::database_url`] is a stand-in of the same dialect (when the scheme
    /// tells it) and must not be connected to.
    pub unresolved_url: Option<UnresolvedUrl>,
    /// The version table's name.
    pub version_table: String,
    /// The version table's schema, if not the default one.
    pub version_table_schema: Option<String>,
    /// Template for new file names.
    pub file_template: String,
    /// The timezone for `created` and file names (IANA name).
    pub timezone: String,
    /// One transaction per revision (true) or one for the whole run (false).
    pub transaction_per_migration: bool,
    /// Autogenerate settings.
    pub autogenerate: AutogenerateConfig,
    /// Connection retries and lock waiting.
    pub connect: ConnectPolicy,
    /// Post-write hooks.
    pub post_write_hooks: Vec<Hook>,
    /// Where aludel may keep caches: `ALUDEL_CACHE_DIR` (empty to disable), else
    /// `$XDG_CACHE_HOME/aludel`, else `~/.cache/aludel`.
    pub cache_dir: Option<PathBuf>,
}

/// What the command line overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-c/--config PATH`.
    pub config_path: Option<PathBuf>,
    /// `--url URL`.
    pub url: Option<String>,
}

impl Config {
    /// Which config file to use: `-c`, then `ALUDEL_CONFIG`, then `./aludel.toml`.
    pub fn locate(overrides: &Overrides, env: &dyn Env, cwd: &Path) -> PathBuf {
        let path = overrides
            .config_path
            .clone()
            .or_else(|| env.var("ALUDEL_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(CONFIG_FILE_NAME));
        if path.is_absolute() {
            path
        } else {
            cwd.join(path)
        }
    }

    /// Loads the project's configuration: the file must exist.
    pub fn load(overrides: &Overrides, env: &dyn Env, cwd: &Path) -> Result<Config, ConfigError> {
        let path = Self::locate(overrides, env, cwd);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound { path });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path,
                    error: source,
                });
            }
        };
        Self::from_text(&path, &text, overrides, env)
    }

    /// Builds the configuration from the text of `path`.
    pub fn from_text(
        path: &Path,
        text: &str,
        overrides: &Overrides,
        env: &dyn Env,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            // The parser quotes the offending line, which may hold a URL's password.
            message: crate::url::redact_str(e.to_string().trim_end()).replace('\n', "\n  "),
        })?;
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let interp = |key: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
            value.map(|v| interpolate(&v, env, path, key)).transpose()
        };
        let a = file.aludel;
        let script_location = interp("script_location", a.script_location)?
            .unwrap_or_else(|| "migrations".to_string());
        // The file's URL is filled in only when it is the one used: a `${DB_PASSWORD}`
        // meant for local runs must not stop a deployment that sets DATABASE_URL.
        let file_origin = || format!("database_url in {}", path.display());
        let mut unresolved_url = None;
        let (raw_url, url_source, origin) = if let Some(u) = &overrides.url {
            (u.clone(), UrlSource::Flag, "--url".to_string())
        } else if let Some(u) = env.var("DATABASE_URL") {
            (u, UrlSource::Environment, "DATABASE_URL".to_string())
        } else if let Some(written) = a.database_url {
            match interpolate(&written, env, path, "database_url") {
                Ok(u) => (u, UrlSource::File, file_origin()),
                Err(ConfigError::UnsetVariable { name, .. }) => {
                    // Nothing is connected to yet: keep going on a stand-in, so that
                    // commands that need no database still work.
                    let (stand_in, dialect_known) = stand_in_url(&written);
                    unresolved_url = Some(UnresolvedUrl {
                        path: path.to_path_buf(),
                        name,
                        dialect_known,
                    });
                    (stand_in, UrlSource::File, file_origin())
                }
                Err(e) => return Err(e),
            }
        } else {
            (
                DEFAULT_URL.to_string(),
                UrlSource::Default,
                "default".to_string(),
            )
        };
        if raw_url.trim().is_empty() {
            return Err(ConfigError::EmptyUrl { origin });
        }
        let database_url = raw_url
            .parse::<DatabaseUrl>()
            .map_err(|source| ConfigError::Url {
                origin,
                error: source,
            })?
            .resolve_relative_to(&root);

        let version_table = interp("version_table", a.version_table)?
            .unwrap_or_else(|| DEFAULT_VERSION_TABLE.into());
        check_identifier(&version_table, path, "version_table")?;
        let version_table_schema = interp("version_table_schema", a.version_table_schema)?;
        if let Some(s) = &version_table_schema {
            check_identifier(s, path, "version_table_schema")?;
        }
        let timezone = interp("timezone", a.timezone)?.unwrap_or_else(|| "UTC".into());
        if time_zone(&timezone).is_err() {
            return Err(ConfigError::Invalid {
                origin: path.display().to_string(),
                key: "timezone".into(),
                message: format!(
                    "unknown time zone '{timezone}' (use an IANA name such as UTC or Europe/Paris)"
                ),
            });
        }

        let g = file.autogenerate;
        let schema_command = match g.schema_command {
            None => None,
            Some(command) => {
                if command.is_empty() {
                    return Err(ConfigError::Invalid {
                        origin: path.display().to_string(),
                        key: "schema_command".into(),
                        message: "must name a program, e.g. [\"python\", \"-m\", \"app.schema\"]"
                            .into(),
                    });
                }
                if g.schema.is_some() {
                    return Err(ConfigError::Invalid {
                        origin: path.display().to_string(),
                        key: "schema_command".into(),
                        message: "set schema (the desired schema's files) or schema_command (a command that prints it), not both: remove the schema line".into(),
                    });
                }
                Some(SchemaCommand {
                    command: command
                        .iter()
                        .map(|c| interpolate(c, env, path, "schema_command"))
                        .collect::<Result<_, _>>()?,
                    as_written: command,
                })
            }
        };
        let autogenerate = AutogenerateConfig {
            schema: root.join(interp("schema", g.schema)?.unwrap_or_else(|| "schema.sql".into())),
            exclude_tables: g.exclude_tables.unwrap_or_default(),
            include_schemas: g.include_schemas.unwrap_or_default(),
            shadow_database_url: interp("shadow_database_url", g.shadow_database_url)?,
            shadow_server_url: interp("shadow_server_url", g.shadow_server_url)?,
            schema_command,
        };
        if autogenerate.shadow_database_url.is_some() && autogenerate.shadow_server_url.is_some() {
            return Err(ConfigError::Invalid {
                origin: path.display().to_string(),
                key: "shadow_server_url".into(),
                message: "set shadow_database_url (a database kept for aludel) or shadow_server_url (a server where aludel creates its temporary shadow databases), not both".into(),
            });
        }

        let c = file.connect;
        let defaults = ConnectPolicy::default();
        let mut connect = ConnectPolicy {
            retries: c.retries.unwrap_or(defaults.retries),
            delay_seconds: c.delay_seconds.unwrap_or(defaults.delay_seconds),
            backoff: match c.backoff {
                Some(b) => b.parse().map_err(|message| ConfigError::Invalid {
                    origin: path.display().to_string(),
                    key: "backoff".into(),
                    message,
                })?,
                None => defaults.backoff,
            },
            lock_timeout_seconds: c
                .lock_timeout_seconds
                .unwrap_or(defaults.lock_timeout_seconds),
            response_timeout_seconds: c
                .response_timeout_seconds
                .unwrap_or(defaults.response_timeout_seconds),
        };
        if let Some(v) = env.var("MIGRATION_RETRY_COUNT") {
            connect.retries = v.trim().parse().map_err(|_| ConfigError::Invalid {
                origin: "MIGRATION_RETRY_COUNT".into(),
                key: "retries".into(),
                message: format!("'{v}' is not a whole number"),
            })?;
        }
        if let Some(v) = env.var("MIGRATION_RETRY_DELAY") {
            connect.delay_seconds = v.trim().parse().map_err(|_| ConfigError::Invalid {
                origin: "MIGRATION_RETRY_DELAY".into(),
                key: "delay_seconds".into(),
                message: format!("'{v}' is not a number of seconds"),
            })?;
        }
        if let Some(v) = env.var("MIGRATION_RETRY_BACKOFF") {
            connect.backoff = v.parse().map_err(|message| ConfigError::Invalid {
                origin: "MIGRATION_RETRY_BACKOFF".into(),
                key: "backoff".into(),
                message,
            })?;
        }
        let bad = |key: &str, message: &str| ConfigError::Invalid {
            origin: path.display().to_string(),
            key: key.into(),
            message: message.into(),
        };
        // Name where a bad value came from: the environment overrides the file.
        let origin_of = |var: &str| {
            if env.var(var).is_some() {
                var.to_string()
            } else {
                path.display().to_string()
            }
        };
        if connect.retries == 0 {
            return Err(ConfigError::Invalid {
                origin: origin_of("MIGRATION_RETRY_COUNT"),
                key: "retries".into(),
                message: "must be at least 1: it counts every attempt, the first included".into(),
            });
        }
        if !seconds_ok(connect.delay_seconds) {
            return Err(ConfigError::Invalid {
                origin: origin_of("MIGRATION_RETRY_DELAY"),
                key: "delay_seconds".into(),
                message: "must be a number of seconds from 0 to 86400".into(),
            });
        }
        if !seconds_ok(connect.lock_timeout_seconds) {
            return Err(bad(
                "lock_timeout_seconds",
                "must be a number of seconds from 0 to 86400",
            ));
        }
        if !seconds_ok(connect.response_timeout_seconds) || connect.response_timeout_seconds < 1.0 {
            return Err(bad(
                "response_timeout_seconds",
                "must be a number of seconds from 1 to 86400",
            ));
        }

        let mut post_write_hooks = Vec::new();
        for h in file.hooks.post_write {
            if h.command.is_empty() {
                return Err(bad("hooks.post_write.command", "must name a program"));
            }
            let command = h
                .command
                .iter()
                .map(|c| interpolate(c, env, path, "hooks.post_write.command"))
                .collect::<Result<_, _>>()?;
            post_write_hooks.push(Hook {
                command,
                as_written: h.command,
            });
        }

        let cache_dir = match env.var("ALUDEL_CACHE_DIR") {
            Some(d) if d.is_empty() => None,
            Some(d) => Some(PathBuf::from(d)),
            None => env
                .var("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".cache")))
                .map(|d| d.join("aludel")),
        };

        Ok(Config {
            cache_dir,
            path: path.to_path_buf(),
            script_location: root.join(script_location),
            root,
            database_url,
            url_source,
            unresolved_url,
            version_table,
            version_table_schema,
            file_template: interp("file_template", a.file_template)?
                .unwrap_or_else(|| DEFAULT_FILE_TEMPLATE.into()),
            timezone,
            transaction_per_migration: a.transaction_per_migration.unwrap_or(true),
            autogenerate,
            connect,
            post_write_hooks,
        })
    }

    /// The configuration an empty `aludel.toml` in `root` gives, with `database_url`
    /// and no environment read: every value is the CLI's default, so an application
    /// and the `aludel` command share a database and its version table.
    ///
    /// ```
    /// use aludel::config::Config;
    /// let url = "sqlite:///app.db".parse()?;
    /// let config = Config::defaults(std::path::Path::new("/srv/app"), url);
    /// assert_eq!(config.version_table, "aludel_version");
    /// assert!(config.transaction_per_migration);
    /// # Ok::<(), aludel::url::UrlError>(())
    /// ```
    pub fn defaults(root: &Path, database_url: DatabaseUrl) -> Config {
        Config {
            path: root.join(CONFIG_FILE_NAME),
            root: root.to_path_buf(),
            script_location: root.join("migrations"),
            database_url,
            url_source: UrlSource::Caller,
            unresolved_url: None,
            version_table: DEFAULT_VERSION_TABLE.into(),
            version_table_schema: None,
            file_template: DEFAULT_FILE_TEMPLATE.into(),
            timezone: "UTC".into(),
            transaction_per_migration: true,
            autogenerate: AutogenerateConfig {
                schema: root.join("schema.sql"),
                ..AutogenerateConfig::default()
            },
            connect: ConnectPolicy::default(),
            post_write_hooks: Vec::new(),
            cache_dir: None,
        }
    }

    /// The folder of revision files.
    pub fn versions_dir(&self) -> PathBuf {
        self.script_location.join("versions")
    }

    /// The optional template for new revision files.
    pub fn template_path(&self) -> PathBuf {
        self.script_location.join("script.sql.tmpl")
    }
}

/// A URL of the dialect that `written` (a `database_url` with an unset variable)
/// names by its scheme, to stand in until a command connects; and whether the scheme
/// told the dialect at all.
fn stand_in_url(written: &str) -> (String, bool) {
    if let Some((scheme, _)) = written.split_once("://") {
        let stand_in = format!("{scheme}://");
        if !scheme.contains('$') && stand_in.parse::<DatabaseUrl>().is_ok() {
            return (stand_in, true);
        }
    }
    ("sqlite://:memory:".into(), false)
}

/// The default `file_template`.
pub const DEFAULT_FILE_TEMPLATE: &str = "{year}{month}{day}_{hour}{minute}_{rev}_{slug}";

/// The default `version_table`.
pub const DEFAULT_VERSION_TABLE: &str = "aludel_version";

/// Whether a number of seconds is allowed for `delay_seconds` and
/// `lock_timeout_seconds`: at most a day, since larger values are typos and must not
/// overflow a `Duration`.
pub(crate) fn seconds_ok(v: f64) -> bool {
    v.is_finite() && (0.0..=86_400.0).contains(&v)
}

/// Checks a version table or schema name; `path` says in the message where it came from.
pub(crate) fn check_identifier(value: &str, path: &Path, key: &str) -> Result<(), ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            origin: path.display().to_string(),
            key: key.into(),
            message: format!(
                "'{value}' must be a plain identifier: letters, digits and _, at most 63 characters"
            ),
        })
    }
}

/// Replaces `${NAME}` with the variable's value; an unset variable is an error.
/// `$${` escapes a literal `${`.
pub(crate) fn interpolate(
    value: &str,
    env: &dyn Env,
    path: &Path,
    key: &str,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                return Err(ConfigError::Invalid {
                    origin: path.display().to_string(),
                    key: key.into(),
                    message: "unterminated ${...} reference".into(),
                });
            };
            let name = &tail[..end];
            let v = env.var(name).ok_or_else(|| ConfigError::UnsetVariable {
                path: path.to_path_buf(),
                key: key.into(),
                name: name.into(),
            })?;
            out.push_str(&v);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The text `aludel init` writes to `aludel.toml`.
pub fn default_config_text() -> String {
    format!(
        r#"# aludel configuration. Every key is optional; the values shown are the defaults.

[aludel]
script_location = "migrations"       # relative to this file
# database_url = "postgresql://user:${{DB_PASSWORD}}@localhost:5432/app"
# Precedence: --url, then DATABASE_URL, then database_url, then {DEFAULT_URL}
version_table = "aludel_version"     # "alembic_version" takes over an Alembic-managed database
# version_table_schema = "public"
file_template = "{DEFAULT_FILE_TEMPLATE}"
timezone = "UTC"
transaction_per_migration = true     # false: one transaction for the whole run (Alembic's default)

[autogenerate]
schema = "schema.sql"                # desired state: a file or a folder of .sql files
# schema_command = ["python", "-m", "app.schema"]   # instead of schema: prints the desired schema
exclude_tables = []
# include_schemas = ["public"]

[connect]
retries = 5                          # MIGRATION_RETRY_COUNT overrides
delay_seconds = 5                    # MIGRATION_RETRY_DELAY overrides; the wait after the first failed attempt
backoff = "exponential"              # MIGRATION_RETRY_BACKOFF overrides; the wait doubles each time (at most 60 s): 5+10+20+40 = 75 s in all; "fixed": 5 s each time, 20 s
lock_timeout_seconds = 300           # how long a run waits for another run's lock
response_timeout_seconds = 60        # how long aludel's own queries may go unanswered

# [[hooks.post_write]]
# command = ["pg_format", "-i", "{{path}}"]
"#
    )
}

/// The time zone named `name`. `UTC` is answered without the system's time zone
/// database: looking a name up makes jiff index every file under
/// `/usr/share/zoneinfo`, which every command would pay for at start-up.
pub(crate) fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, jiff::Error> {
    if name == "UTC" {
        Ok(jiff::tz::TimeZone::UTC)
    } else {
        jiff::tz::TimeZone::get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::Dialect;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(text: &str, e: &HashMap<String, String>, o: &Overrides) -> Result<Config, ConfigError> {
        Config::from_text(Path::new("/p/aludel.toml"), text, o, e)
    }

    #[test]
    fn defaults_give_embedded_sqlite_beside_the_config() {
        let c = load("", &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.url_source, UrlSource::Default);
        assert_eq!(c.database_url.to_string(), "sqlite:////p/aludel.db");
        assert_eq!(c.script_location, PathBuf::from("/p/migrations"));
        assert_eq!(c.version_table, "aludel_version");
        assert!(c.transaction_per_migration);
        assert_eq!(c.connect.retries, 5);
    }

    #[test]
    fn defaults_equal_an_empty_file_without_environment() {
        let url: DatabaseUrl = "postgresql://db/app".parse().unwrap();
        let o = Overrides {
            url: Some(url.to_string()),
            ..Default::default()
        };
        let mut loaded = load("", &env(&[]), &o).unwrap();
        // Only where the URL came from differs: a flag here, the caller's code there.
        assert_eq!(loaded.url_source, UrlSource::Flag);
        loaded.url_source = UrlSource::Caller;
        assert_eq!(Config::defaults(Path::new("/p"), url), loaded);
    }

    #[test]
    fn an_unset_variable_in_an_overridden_file_url_does_not_matter() {
        let text = "[aludel]\ndatabase_url = \"postgresql://app:${DB_PASSWORD}@db/app\"\n";
        let e = env(&[("DATABASE_URL", "sqlite:///x.db")]);
        let c = load(text, &e, &Overrides::default()).unwrap();
        assert_eq!(c.url_source, UrlSource::Environment);
        assert_eq!(c.unresolved_url, None);
        let c = load(text, &env(&[]), &Overrides::default()).unwrap();
        let err = c.unresolved_url.unwrap().error().to_string();
        assert!(err.contains("DB_PASSWORD, which is not set"), "{err}");
    }

    #[test]
    fn the_init_text_loads_to_the_defaults() {
        let c = load(&default_config_text(), &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.url_source, UrlSource::Default);
        assert_eq!(c.file_template, DEFAULT_FILE_TEMPLATE);
    }

    #[test]
    fn cache_dir_from_env() {
        let o = Overrides::default();
        let dir = |pairs: &[(&str, &str)]| load("", &env(pairs), &o).unwrap().cache_dir;
        assert_eq!(
            dir(&[("HOME", "/h")]),
            Some(PathBuf::from("/h/.cache/aludel"))
        );
        assert_eq!(
            dir(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]),
            Some(PathBuf::from("/x/aludel"))
        );
        assert_eq!(
            dir(&[("HOME", "/h"), ("ALUDEL_CACHE_DIR", "/c")]),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(dir(&[("HOME", "/h"), ("ALUDEL_CACHE_DIR", "")]), None);
        assert_eq!(dir(&[]), None);
    }

    #[test]
    fn url_precedence_flag_env_file_default() {
        let text = "[aludel]\ndatabase_url = \"postgresql://file/db\"\n";
        let e = env(&[("DATABASE_URL", "postgresql://env/db")]);
        let flag = Overrides {
            url: Some("sqlite://:memory:".into()),
            ..Default::default()
        };
        assert_eq!(
            load(text, &e, &flag).unwrap().database_url.dialect(),
            Dialect::Sqlite
        );
        assert_eq!(
            load(text, &e, &Overrides::default())
                .unwrap()
                .database_url
                .host(),
            Some("env")
        );
        assert_eq!(
            load(text, &env(&[]), &Overrides::default())
                .unwrap()
                .database_url
                .host(),
            Some("file")
        );
    }

    #[test]
    fn env_references_are_interpolated_and_unset_ones_named() {
        let text = "[aludel]\ndatabase_url = \"postgresql://u:${PW}@h/db\"\n";
        let c = load(text, &env(&[("PW", "x")]), &Overrides::default()).unwrap();
        assert_eq!(c.database_url.password(), Some("x"));
        assert_eq!(c.unresolved_url, None);
        // Unset, it stops only what connects: the dialect is still known.
        let c = load(text, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.database_url.dialect(), Dialect::Postgres);
        let unresolved = c.unresolved_url.unwrap();
        assert!(unresolved.dialect_known);
        assert_eq!(
            unresolved.error().to_string(),
            "/p/aludel.toml: `database_url` refers to environment variable PW, which is not set"
        );
        let c = load(
            "[aludel]\ndatabase_url = \"${DB_URL}\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(!c.unresolved_url.unwrap().dialect_known);
    }

    #[test]
    fn retry_env_overrides_file() {
        let text = "[connect]\nretries = 2\ndelay_seconds = 1\n";
        let c = load(
            text,
            &env(&[
                ("MIGRATION_RETRY_COUNT", "7"),
                ("MIGRATION_RETRY_DELAY", "0.5"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.connect.retries, 7);
        assert_eq!(c.connect.delay_seconds, 0.5);
        let e = load(
            text,
            &env(&[("MIGRATION_RETRY_COUNT", "many")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("MIGRATION_RETRY_COUNT"), "{e}");
    }

    #[test]
    fn a_huge_retry_count_costs_nothing_until_it_is_used() {
        let text = "[connect]\nretries = 4000000000\ndelay_seconds = 5\n";
        let c = load(text, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.connect.retry_delay(1).as_secs(), 5);
        assert_eq!(c.connect.retry_delay(3_999_999_999).as_secs(), 60);
        // 5 + 10 + 20 + 40, then 60 s for each of the other waits.
        let waits = 4_000_000_000u64 - 1;
        assert_eq!(
            c.connect.total_retry_wait().as_secs(),
            75 + 60 * (waits - 4)
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_minute_or_stays_fixed() {
        let secs = |c: &Config| -> Vec<f64> {
            c.connect
                .retry_delays()
                .iter()
                .map(|d| d.as_secs_f64())
                .collect()
        };
        let text = "[connect]\nretries = 5\ndelay_seconds = 5\n";
        let c = load(text, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(secs(&c), [5.0, 10.0, 20.0, 40.0]);
        assert_eq!(c.connect.total_retry_wait().as_secs(), 75);
        let c = load(
            text,
            &env(&[("MIGRATION_RETRY_BACKOFF", "fixed")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(secs(&c), [5.0, 5.0, 5.0, 5.0]);
        assert_eq!(c.connect.total_retry_wait().as_secs(), 20);
        let c = load(
            "[connect]\nretries = 4\ndelay_seconds = 30\nbackoff = \"exponential\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(secs(&c), [30.0, 60.0, 60.0]);
        let c = load(
            "[connect]\nretries = 3\nbackoff = \"fixed\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.connect.backoff, Backoff::Fixed);
        let e = load(
            "[connect]\nbackoff = \"linear\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("backoff") && e.contains("'linear' is not a backoff"),
            "{e}"
        );
        let e = load(
            "",
            &env(&[("MIGRATION_RETRY_BACKOFF", "slow")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("MIGRATION_RETRY_BACKOFF"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let e = load(
            "[aludel]\nscript_locaton = \"m\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("/p/aludel.toml"), "{s}");
        assert!(s.contains("script_locaton"), "{s}");
        assert!(s.contains("line 2"), "{s}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = load(
            "[aludel]\nversion_table = \"a-b\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("version_table"), "{e}");
        let e = load(
            "[connect]\nresponse_timeout_seconds = 0\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("response_timeout_seconds"), "{e}");
        let e = load(
            "[aludel]\ntimezone = \"Mars/Base\"\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Mars/Base"), "{e}");
        let e = load("[connect]\nretries = 0\n", &env(&[]), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("retries"), "{e}");
        let e = load(
            "[connect]\nlock_timeout_seconds = 1e20\n",
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("lock_timeout_seconds"), "{e}");
        let e = load(
            "",
            &env(&[("MIGRATION_RETRY_COUNT", "0")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("MIGRATION_RETRY_COUNT:"), "{e}");
    }

    #[test]
    fn url_errors_say_where_the_url_came_from_without_the_password() {
        let e = load(
            "",
            &env(&[("DATABASE_URL", "oracle://u:secret@h/db")]),
            &Overrides::default(),
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("DATABASE_URL: "), "{s}");
        assert!(!s.contains("secret"), "{s}");
    }

    #[test]
    fn an_empty_url_is_an_error_naming_its_source() {
        let empty = |text: &str, e: &[(&str, &str)], url: Option<&str>| {
            let o = Overrides {
                url: url.map(str::to_string),
                ..Default::default()
            };
            match load(text, &env(e), &o) {
                Err(ConfigError::EmptyUrl { origin }) => origin,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(empty("", &[], Some("")), "--url");
        assert_eq!(empty("", &[("DATABASE_URL", "")], None), "DATABASE_URL");
        assert_eq!(empty("", &[("DATABASE_URL", "  ")], None), "DATABASE_URL");
        assert_eq!(
            empty("[aludel]\ndatabase_url = \"\"\n", &[], None),
            "database_url in /p/aludel.toml"
        );
        assert_eq!(
            empty("[aludel]\ndatabase_url = \"${U}\"\n", &[("U", "")], None),
            "database_url in /p/aludel.toml"
        );
    }
}
