//! `aludel import alembic`: an Alembic project's history as aludel revision files.
//!
//! Alembic itself reads the project: a small program ([`HARNESS`]) runs with the
//! project's own Python, in one process for the whole history, and prints what it
//! found as JSON. Each revision keeps its id, parents, own branch labels,
//! `depends_on`, message and docstring (`-- aludel:doc` lines, which `show` prints);
//! its `upgrade()` and `downgrade()` are run in
//! Alembic's offline mode (what `alembic upgrade --sql` prints), one statement
//! captured at a time. A revision that used `autocommit_block()` becomes
//! `-- aludel:transaction false`. One whose Python cannot run offline (it asks the
//! database something) gets what it sends when the history runs on a scratch
//! database; if it read rows there, or neither way worked, it is written all the
//! same, marked `-- aludel:incomplete` with the reason (and a draft of its SQL), so
//! that `upgrade` refuses it until a person has written its SQL.
//!
//! The new project keeps Alembic's version table, so a database Alembic migrated
//! carries on where it is. Nothing is overwritten: a revision file that exists is
//! kept (re-running adds only new revisions), and an `aludel.toml` that exists is
//! kept unless `force`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// The program run with the project's Python: `python -c HARNESS CONFIG DIALECT`.
const HARNESS: &str = include_str!("alembic_import/harness.py");

/// Why an import could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// No `alembic.ini` or `pyproject.toml` with `[tool.alembic]` in the folder.
    #[error(
        "{}: no alembic.ini, nor a pyproject.toml with [tool.alembic]: give the folder of the Alembic project",
        dir.display()
    )]
    NoProject {
        /// The folder searched.
        dir: PathBuf,
    },
    /// The Python could not be run, or did not answer as expected.
    #[error("{python}: {problem}")]
    Python {
        /// The Python, as given.
        python: String,
        /// What went wrong.
        problem: String,
    },
    /// Alembic could not read the project.
    #[error("Alembic could not read {}: {message}", config.display())]
    Alembic {
        /// The project's configuration file.
        config: PathBuf,
        /// Alembic's message.
        message: String,
    },
    /// The dialect is not known.
    #[error("{0}")]
    Dialect(String),
    /// The `--scratch-setup` file could not be read or run.
    #[error("--scratch-setup: {0}")]
    ScratchSetup(String),
    /// A file could not be written.
    #[error("{}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The import failed, and a scratch database it made could not be dropped either.
    #[error("{error}\n{}", left_scratch_text(left))]
    ScratchLeft {
        /// Why the import failed.
        error: Box<ImportError>,
        /// The scratch databases still on their server (or perhaps).
        left: Vec<crate::driver::LeftShadow>,
    },
}

/// A line for each scratch database that could not be dropped.
fn left_scratch_text(left: &[crate::driver::LeftShadow]) -> String {
    left.iter()
        .map(|l| format!("Could not drop the scratch database {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The Alembic project's folder (holding `alembic.ini` or `pyproject.toml`).
    pub alembic_dir: PathBuf,
    /// The Python to run Alembic with: the project's environment, where `env.py`
    /// and the revisions import.
    pub python: String,
    /// `postgresql`, `sqlite`, or both (`postgresql,sqlite`: a section per dialect
    /// where their SQL differs); `None`: the dialect `env.py` configures.
    pub dialect: Option<String>,
    /// Where aludel's revision folder goes, relative to `alembic_dir`
    /// (`script_location` in the new `aludel.toml`).
    pub script_location: String,
    /// Replace an existing `aludel.toml`.
    pub force: bool,
    /// For a PostgreSQL project, a server where a scratch database may be created
    /// (and dropped) to run the revisions offline mode cannot: the statements each
    /// sends there are captured. A SQLite project uses a temporary file. `None` on
    /// PostgreSQL: those revisions stay incomplete.
    pub scratch_server: Option<crate::url::DatabaseUrl>,
    /// SQL run on the scratch database before the history, for a history that is not
    /// self-contained (tables its application makes outside the migrations, which its
    /// first revisions refer to).
    pub scratch_setup: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportReport {
    /// The dialect(s) the SQL was written for (`postgresql, sqlite`).
    pub dialect: String,
    /// The configuration file Alembic read.
    pub config: PathBuf,
    /// `aludel.toml`, when this import wrote it.
    pub config_written: Option<PathBuf>,
    /// The version table (and its schema) the new project keeps.
    pub version_table: String,
    /// Its schema, if any.
    pub version_table_schema: Option<String>,
    /// Revision files written.
    pub written: Vec<PathBuf>,
    /// Revisions whose file was already there, kept as it was.
    pub kept: Vec<String>,
    /// Revisions written with `-- aludel:incomplete`, and why.
    pub incomplete: Vec<(String, String)>,
    /// Revisions written as `-- aludel:transaction false` (an autocommit block).
    pub non_transactional: Vec<String>,
    /// Why `env.py` could not run offline, when it could not (the defaults were
    /// used: version table `alembic_version`).
    pub env_error: Option<String>,
    /// Alembic's settings, each with what became of it (`file_template: carried as
    /// ...`, `post_write_hooks: not carried: ...`).
    pub settings: Vec<String>,
    /// `transaction_per_migration` as `env.py` configured it (Alembic's default:
    /// false, one transaction for the whole run), carried into `aludel.toml`.
    pub transaction_per_migration: bool,
    /// `file_template` in aludel's form, when Alembic's could be carried.
    pub file_template: Option<String>,
    /// `timezone`, when Alembic's names one.
    pub timezone: Option<String>,
    /// Revisions whose SQL (some section of it) was captured from a run on a scratch
    /// database, because offline mode could not run them.
    pub captured: Vec<String>,
    /// Why revisions that offline mode could not run were not run on a scratch
    /// database, when they were not.
    pub capture_skipped: Option<String>,
    /// Scratch databases that could not be dropped: still on their server, or
    /// perhaps ([`crate::driver::LeftShadow::refused`]).
    pub scratch_left: Vec<crate::driver::LeftShadow>,
}

#[derive(Deserialize)]
struct Found {
    fatal: Option<String>,
    dialect: Option<String>,
    env_error: Option<String>,
    version_table: Option<String>,
    version_table_schema: Option<String>,
    #[serde(default)]
    transaction_per_migration: bool,
    #[serde(default)]
    options: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    revisions: Vec<FoundRevision>,
}

#[derive(Deserialize)]
struct FoundRevision {
    id: String,
    revises: Vec<String>,
    branch_labels: Vec<String>,
    depends_on: Vec<String>,
    message: String,
    docstring: String,
    /// The Alembic file, relative to the project's folder.
    path: String,
    upgrade: Option<Offline>,
    downgrade: Option<Offline>,
}

#[derive(Deserialize, PartialEq)]
struct Offline {
    statements: Option<Vec<String>>,
    #[serde(default)]
    autocommit: bool,
    error: Option<String>,
    /// Captured from a run on a scratch database rather than written offline.
    #[serde(default)]
    online: bool,
    /// What a run on a scratch database holding no rows sent, when it read rows: a
    /// starting point for the person who writes the section, not the section.
    draft: Option<Vec<DraftStatement>>,
}

/// One statement of a [`Offline::draft`].
#[derive(Debug, Deserialize, PartialEq)]
struct DraftStatement {
    sql: String,
    /// It read rows: shown as a comment where it ran.
    reads: bool,
}

/// The Alembic project's configuration file in `dir`: `alembic.ini`, else a
/// `pyproject.toml` that has `[tool.alembic]`.
fn config_file(dir: &Path) -> Option<PathBuf> {
    let ini = dir.join("alembic.ini");
    if ini.is_file() {
        return Some(ini);
    }
    let pyproject = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).ok()?;
    let value: toml::Table = text.parse().ok()?;
    value
        .get("tool")
        .and_then(|t| t.get("alembic"))
        .map(|_| pyproject)
}

/// Imports the Alembic project of `options` (see the module docs).
pub fn import_alembic(options: &ImportOptions) -> Result<ImportReport, ImportError> {
    let left = crate::autogen::LeftShadows::default();
    let imported = import_noting_scratch(options, &left);
    let scratch_left = left.take();
    match imported {
        Ok(report) => Ok(ImportReport {
            scratch_left,
            ..report
        }),
        Err(error) if scratch_left.is_empty() => Err(error),
        Err(error) => Err(ImportError::ScratchLeft {
            error: Box::new(error),
            left: scratch_left,
        }),
    }
}

/// [`import_alembic`], listing in `left` the scratch databases it could not drop.
fn import_noting_scratch(
    options: &ImportOptions,
    left: &crate::autogen::LeftShadows,
) -> Result<ImportReport, ImportError> {
    let dir = &options.alembic_dir;
    let config = config_file(dir).ok_or_else(|| ImportError::NoProject { dir: dir.clone() })?;
    // `--dialect postgresql,sqlite`: one run of Alembic per dialect, and sections per
    // dialect where their SQL differs.
    let asked: Vec<Option<String>> = match &options.dialect {
        None => vec![None],
        Some(list) => {
            let mut asked = Vec::new();
            for d in list.split(',').map(str::trim) {
                if !matches!(d, "postgresql" | "sqlite") {
                    return Err(ImportError::Dialect(format!(
                        "--dialect {}: aludel imports for postgresql or sqlite (several: postgresql,sqlite)",
                        crate::text::value(d)
                    )));
                }
                if !asked.contains(&Some(d.to_string())) {
                    asked.push(Some(d.to_string()));
                }
            }
            asked
        }
    };
    let mut runs: Vec<(String, Found)> = Vec::new();
    let mut capture_skipped = None;
    for wanted in &asked {
        let (mut scratch, skipped) = match scratch_database(options, wanted.as_deref(), left) {
            Ok(scratch) => (Some(scratch), None),
            Err(why) => (None, Some(why)),
        };
        if let (Some((shadow, _)), Some(path)) = (scratch.as_mut(), &options.scratch_setup) {
            set_up(shadow, path).map_err(ImportError::ScratchSetup)?;
        }
        let found = run_harness(
            options,
            &config,
            wanted.as_deref(),
            scratch.as_ref().map(|(_, url)| url.as_str()).unwrap_or(""),
        )?;
        drop(scratch);
        if let Some(message) = found.fatal {
            // Alembic's text may quote the project's URL, password included.
            let message = crate::text::excerpt(&crate::url::redact_str(&message));
            return Err(ImportError::Alembic { config, message });
        }
        let dialect = match (wanted, &found.dialect) {
            (Some(d), _) => d.clone(),
            (None, Some(d)) if d == "postgresql" || d == "sqlite" => d.clone(),
            (None, Some(d)) => {
                return Err(ImportError::Dialect(format!(
                    "env.py configures the dialect {}, which aludel does not support: pass --dialect postgresql or --dialect sqlite",
                    crate::text::value(d)
                )));
            }
            (None, None) => {
                return Err(ImportError::Dialect(format!(
                    "cannot tell the database's dialect ({}): pass --dialect postgresql or --dialect sqlite",
                    found.env_error.as_deref().map_or(
                        "env.py named none".to_string(),
                        |e| format!("env.py could not run offline: {}", crate::text::value(e))
                    )
                )));
            }
        };
        if let Some(why) = skipped {
            capture_skipped = Some(if asked.len() > 1 {
                format!("{dialect}: {why}")
            } else {
                why
            });
        }
        runs.push((dialect, found));
    }
    let dialect = runs
        .iter()
        .map(|(d, _)| d.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let (_, found) = runs.remove(0);
    let others = runs;
    let mut report = ImportReport {
        dialect,
        config,
        version_table: found
            .version_table
            .unwrap_or_else(|| "alembic_version".into()),
        version_table_schema: found.version_table_schema.clone(),
        env_error: found.env_error.clone(),
        transaction_per_migration: found.transaction_per_migration,
        capture_skipped,
        ..ImportReport::default()
    };
    let first_dialect = report.dialect.split(", ").next().unwrap_or("").to_string();
    carry_settings(&found.options, &mut report);

    let versions = dir.join(&options.script_location).join("versions");
    std::fs::create_dir_all(&versions).map_err(|source| ImportError::Write {
        path: versions.clone(),
        error: source,
    })?;
    let existing = existing_ids(&versions);
    for revision in &found.revisions {
        if existing.contains(&revision.id) {
            report.kept.push(revision.id.clone());
            continue;
        }
        let mut per_dialect = vec![(first_dialect.as_str(), revision)];
        for (d, other) in &others {
            if let Some(same) = other.revisions.iter().find(|r| r.id == revision.id) {
                per_dialect.push((d.as_str(), same));
            }
        }
        let file = revision_file(&per_dialect, &mut report);
        let path = versions.join(format!("{}_{}.sql", revision.id, slug(&revision.message)));
        write_new(&path, &file)?;
        report.written.push(path);
    }

    let toml_path = dir.join("aludel.toml");
    if options.force || !toml_path.exists() {
        let text = aludel_toml(options, &report);
        std::fs::write(&toml_path, text).map_err(|source| ImportError::Write {
            path: toml_path.clone(),
            error: source,
        })?;
        report.config_written = Some(toml_path);
    }
    Ok(report)
}

/// What becomes of each of Alembic's settings (`options`, as Alembic read them):
/// carried into `aludel.toml` where aludel has the same, else said why not.
fn carry_settings(options: &std::collections::BTreeMap<String, String>, report: &mut ImportReport) {
    report.settings.push(format!(
        "transaction_per_migration: carried as {} ({})",
        report.transaction_per_migration,
        if report.transaction_per_migration {
            "env.py asks for a transaction per revision"
        } else {
            "Alembic's default, one transaction for the whole run, unless env.py says otherwise"
        }
    ));
    for (key, value) in options {
        let shown = crate::text::value(value);
        let line = match key.as_str() {
            "file_template" => match file_template(value) {
                Some(template) => {
                    let line = format!("file_template: carried as {template}");
                    report.file_template = Some(template);
                    line
                }
                None => format!(
                    "file_template: not carried ({shown} uses a field aludel does not have); aludel's default names new files"
                ),
            },
            "timezone" => {
                report.timezone = Some(value.clone());
                format!("timezone: carried as {shown}")
            }
            "version_locations" => format!(
                "version_locations: the revisions of every folder ({shown}) are in the one aludel folder"
            ),
            "post_write_hooks" | "hooks" => format!(
                "{key}: not carried ({shown}): Alembic's hooks format Python; [[hooks.post_write]] runs a command on each new .sql file"
            ),
            "truncate_slug_length" => format!(
                "truncate_slug_length: not carried ({shown}): aludel cuts a file name's slug at 40 bytes"
            ),
            "prepend_sys_path"
            | "sourceless"
            | "revision_environment"
            | "recursive_version_locations" => {
                format!(
                    "{key}: used to read the Python revisions; aludel's .sql files need it no more"
                )
            }
            _ => format!("{key}: not carried ({shown})"),
        };
        report.settings.push(line);
    }
}

/// Alembic's `file_template` (`%(year)d_%(month).2d_%(rev)s_%(slug)s`) in aludel's
/// form (`{year}_{month}_{rev}_{slug}`), or `None` when it uses a field aludel has not.
fn file_template(alembic: &str) -> Option<String> {
    const FIELDS: [&str; 9] = [
        "rev", "slug", "year", "month", "day", "hour", "minute", "second", "epoch",
    ];
    let mut out = String::new();
    let mut rest = alembic;
    while let Some(at) = rest.find("%(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let close = after.find(')')?;
        let name = &after[..close];
        if !FIELDS.contains(&name) {
            return None;
        }
        // The conversion: flags, width, precision, then one letter.
        let spec = &after[close + 1..];
        let letter = spec.find(|c: char| c.is_ascii_alphabetic())?;
        if !spec[..letter]
            .chars()
            .all(|c| c.is_ascii_digit() || "-#0 +.".contains(c))
        {
            return None;
        }
        out.push_str(&format!("{{{name}}}"));
        rest = &spec[letter + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Runs [`HARNESS`] with the project's Python and reads what it printed.
fn run_harness(
    options: &ImportOptions,
    config: &Path,
    dialect: Option<&str>,
    scratch_url: &str,
) -> Result<Found, ImportError> {
    let failed = |problem: String| ImportError::Python {
        python: options.python.clone(),
        problem,
    };
    let output = Command::new(&options.python)
        .arg("-c")
        .arg(HARNESS)
        .arg(config)
        .arg(dialect.unwrap_or(""))
        // Not an argument: a process's arguments are visible to every user of the
        // machine, and the URL holds the password.
        .env("ALUDEL_IMPORT_SCRATCH_URL", scratch_url)
        .current_dir(&options.alembic_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            failed(format!(
                "could not start: {e} (pass --python with the Python of the project's environment)"
            ))
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = || {
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        lines[lines.len().saturating_sub(20)..]
            .iter()
            .map(|l| {
                format!(
                    "    {}",
                    crate::text::one_line(&crate::url::redact_str(l), 400)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !output.status.success() {
        return Err(failed(format!(
            "reading the project with Alembic failed ({}):\n{}",
            output.status,
            tail()
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        failed(format!(
            "printed something other than the expected JSON ({e}); its standard error ends:\n{}",
            tail()
        ))
    })
}

/// A scratch database for the revisions offline mode cannot run, with its URL in
/// SQLAlchemy's form; or why there is none. SQLite: a temporary file (removed when the
/// [`crate::autogen::Shadow`] is dropped). PostgreSQL: a database made beside
/// `scratch_server`'s, always dropped (one that cannot be is listed in `left`). The
/// dialect must be known for this: given, or taken from the scratch server's URL.
fn scratch_database(
    options: &ImportOptions,
    dialect: Option<&str>,
    left: &crate::autogen::LeftShadows,
) -> Result<(crate::autogen::Shadow, String), String> {
    use crate::url::Dialect;
    let server = match (dialect, &options.scratch_server) {
        (Some("sqlite"), _) => "sqlite://:memory:".parse::<crate::url::DatabaseUrl>().ok(),
        (Some("postgresql") | None, Some(url)) if url.dialect() == Dialect::Postgres => {
            Some(url.clone())
        }
        (None, Some(url)) if url.dialect() == Dialect::Sqlite => {
            "sqlite://:memory:".parse::<crate::url::DatabaseUrl>().ok()
        }
        _ => None,
    };
    let Some(server) = server else {
        return Err("no PostgreSQL server was given to run them on: set DATABASE_URL (or --url) to one where aludel may create a scratch database".into());
    };
    let connect = |url: &crate::url::DatabaseUrl| {
        crate::driver::connect(url, &crate::driver::ConnectOptions::default())
            .map_err(|e| crate::driver::DbError::new(e.to_string()))
    };
    let cleanup = crate::autogen::ShadowCleanup::new(std::sync::Arc::new(connect), left);
    let scope = crate::driver::InspectScope::default();
    let shadow =
        crate::autogen::Shadow::open(&server, None, &scope, true, &mut { connect }, &cleanup)
            .map_err(|e| {
                format!(
                    "no scratch database could be made: {}",
                    crate::report::error_text(&e)
                )
            })?;
    let url = sqlalchemy_url(shadow.url());
    Ok((shadow, url))
}

/// Runs the statements of `path` on the scratch database, in order.
fn set_up(shadow: &mut crate::autogen::Shadow, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let driver = shadow.driver().map_err(|e| crate::report::error_text(&e))?;
    let statements = crate::script::split_statements(&text, driver.dialect(), 1)
        .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.kind))?;
    for statement in statements {
        driver.execute(&statement.sql).map_err(|e| {
            format!(
                "{}:{}: the scratch database refused this statement: {e}",
                path.display(),
                statement.line
            )
        })?;
    }
    Ok(())
}

/// `url` as SQLAlchemy reads one (`postgresql://user:password@host:port/db`, the
/// user and password percent-encoded; `sqlite:////absolute/path`).
fn sqlalchemy_url(url: &crate::url::DatabaseUrl) -> String {
    use crate::url::{Dialect, SqliteLocation};
    let encode = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    if url.dialect() == Dialect::Sqlite {
        return match url.sqlite_location() {
            Some(SqliteLocation::File(path)) => format!("sqlite:///{}", path.display()),
            _ => "sqlite://".to_string(),
        };
    }
    let mut out = String::from("postgresql://");
    if let Some(user) = url.user() {
        out.push_str(&encode(user));
        if let Some(password) = url.password() {
            out.push(':');
            out.push_str(&encode(password));
        }
        out.push('@');
    }
    let mut query = Vec::new();
    match url.host() {
        Some(host) if host.starts_with('/') => query.push(format!("host={}", encode(host))),
        Some(host) if host.contains(':') => out.push_str(&format!("[{host}]")),
        Some(host) => out.push_str(host),
        None => {}
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push('/');
    out.push_str(&encode(url.database().unwrap_or("postgres")));
    if let Some(mode) = url.param("sslmode") {
        query.push(format!("sslmode={}", encode(mode)));
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// The revision ids of the `.sql` files already in `versions` (read from their
/// `-- aludel:revision` line; a file that is not a revision is left alone).
fn existing_ids(versions: &Path) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    let Ok(entries) = std::fs::read_dir(versions) else {
        return ids;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "sql") {
            continue;
        }
        if let Ok(script) = crate::script::Script::load(&path) {
            ids.insert(script.id().to_string());
        }
    }
    ids
}

/// Writes `text` to a new file at `path`, refusing to replace one.
fn write_new(path: &Path, text: &str) -> Result<(), ImportError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| ImportError::Write {
            path: path.to_path_buf(),
            error: source,
        })?;
    file.write_all(text.as_bytes())
        .map_err(|source| ImportError::Write {
            path: path.to_path_buf(),
            error: source,
        })
}

/// One dialect's section of a revision, as its run found it (`None`: the module has
/// no such function).
type DialectSection<'a> = (&'a str, Option<&'a Offline>);

/// The `.sql` file of one revision, from what each dialect's run found for it (the
/// first run's graph, docstring and message).
fn revision_file(per_dialect: &[(&str, &FoundRevision)], report: &mut ImportReport) -> String {
    let Some(&(_, revision)) = per_dialect.first() else {
        return String::new();
    };
    let many = per_dialect.len() > 1;
    let mut out = format!("-- aludel:revision {}\n", revision.id);
    if !revision.revises.is_empty() {
        out.push_str(&format!(
            "-- aludel:revises {}\n",
            revision.revises.join(" ")
        ));
    }
    let message = revision.message.lines().next().unwrap_or("").trim();
    if !message.is_empty() {
        out.push_str(&format!("-- aludel:message {message}\n"));
    }
    if let Some(created) = created_date(&revision.docstring) {
        out.push_str(&format!("-- aludel:created {created}\n"));
    }
    if !revision.branch_labels.is_empty() {
        out.push_str(&format!(
            "-- aludel:branch_labels {}\n",
            revision.branch_labels.join(" ")
        ));
    }
    if !revision.depends_on.is_empty() {
        out.push_str(&format!(
            "-- aludel:depends_on {}\n",
            revision.depends_on.join(" ")
        ));
    }
    // Each direction's section per dialect.
    let directions: [(&str, Vec<DialectSection<'_>>); 2] = [
        (
            "upgrade",
            per_dialect
                .iter()
                .map(|(d, r)| (*d, r.upgrade.as_ref()))
                .collect(),
        ),
        (
            "downgrade",
            per_dialect
                .iter()
                .map(|(d, r)| (*d, r.downgrade.as_ref()))
                .collect(),
        ),
    ];
    if directions
        .iter()
        .flat_map(|(_, v)| v)
        .any(|(_, s)| s.is_some_and(|s| s.autocommit))
    {
        out.push_str("-- aludel:transaction false\n");
        report.non_transactional.push(revision.id.clone());
    }
    let mut errors: Vec<String> = Vec::new();
    for (name, variants) in &directions {
        for (dialect, section) in variants {
            let Some(section) = section else { continue };
            let Some(e) = &section.error else { continue };
            // A run on a scratch database says itself what it found.
            let e = if section.online {
                e.clone()
            } else {
                format!("offline mode could not run its {name}(): {e}")
            };
            errors.push(if many { format!("{dialect}: {e}") } else { e });
        }
    }
    if !errors.is_empty() {
        // What Python said may quote a URL: never its password.
        let reason =
            crate::url::redact_str(&format!("imported from Alembic: {}", errors.join("; ")));
        out.push_str(&format!(
            "-- aludel:incomplete {}\n",
            crate::text::one_line(&reason, 400)
        ));
        report.incomplete.push((revision.id.clone(), reason));
    }
    out.push_str(&format!(
        "-- Imported from Alembic's {}: each section is what Alembic's offline mode writes, unless it says otherwise.\n",
        revision.path
    ));
    // The docstring as Alembic shows it (`show`, `history --verbose`): stripped as a
    // whole, each line as written.
    for line in revision.docstring.trim().lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            out.push_str("-- aludel:doc\n");
        } else {
            out.push_str(&format!("-- aludel:doc {line}\n"));
        }
    }
    for (name, variants) in &directions {
        // One section for every dialect when they agree, else one per dialect.
        let same = variants.windows(2).all(|w| w[0].1 == w[1].1);
        let written: Vec<(Option<&str>, Option<&Offline>)> = if same {
            vec![(None, variants.first().and_then(|(_, s)| *s))]
        } else {
            variants.iter().map(|(d, s)| (Some(*d), *s)).collect()
        };
        for (dialect, section) in written {
            let marker = match dialect {
                Some(d) => format!("\n-- aludel:{name} {d}\n"),
                None => format!("\n-- aludel:{name}\n"),
            };
            match section {
                // No downgrade() in the module: no downgrade section, as in Alembic.
                None => {}
                Some(Offline {
                    statements: Some(statements),
                    online,
                    ..
                }) => {
                    out.push_str(&marker);
                    if *online {
                        out.push_str(&format!(
                            "-- Captured from a run of {name}() on a scratch database: Alembic's offline mode could not run it.\n"
                        ));
                        if report.captured.last() != Some(&revision.id) {
                            report.captured.push(revision.id.clone());
                        }
                    }
                    let body: Vec<String> = statements.iter().map(|s| format!("{s};\n")).collect();
                    out.push_str(&body.join("\n"));
                }
                Some(Offline {
                    draft: Some(draft), ..
                }) => {
                    out.push_str(&marker);
                    out.push_str(&format!(
                        "-- TODO: check this draft, add what real rows need, then remove the aludel:incomplete line.\n\
                         -- It is what a run of {name}() sent to a scratch database that held no rows; the\n\
                         -- statements that read rows are shown as comments where they ran: what {name}()\n\
                         -- does with the rows it reads is not here.\n"
                    ));
                    let body: Vec<String> = draft
                        .iter()
                        .map(|s| {
                            if s.reads {
                                let lines: Vec<String> =
                                    s.sql.lines().map(|l| format!("-- read: {l}\n")).collect();
                                lines.concat()
                            } else {
                                format!("{};\n", s.sql)
                            }
                        })
                        .collect();
                    out.push_str(&body.join("\n"));
                }
                Some(Offline { error, .. }) => {
                    out.push_str(&marker);
                    out.push_str(&format!(
                        "-- TODO: write this section's SQL. Alembic's offline mode could not run {name}(): {}\n",
                        crate::text::one_line(
                            &crate::url::redact_str(error.as_deref().unwrap_or("no reason given")),
                            400
                        )
                    ));
                }
            }
        }
    }
    out
}

/// `Create Date: 2024-01-02 03:04:05.123456` in a docstring, as RFC 3339 (UTC, as
/// Alembic writes it unless a timezone is configured).
fn created_date(docstring: &str) -> Option<String> {
    let line = docstring
        .lines()
        .find_map(|l| l.trim().strip_prefix("Create Date:"))?
        .trim();
    let (date, time) = line.split_once(' ')?;
    let time = time.split(['.', '+', ' ']).next()?;
    let text = format!("{date}T{time}Z");
    text.parse::<jiff::Timestamp>().ok().map(|_| text)
}

/// A file-name slug from a message: lowercase words joined by `_`, at most 40 bytes.
fn slug(message: &str) -> String {
    let mut out = String::new();
    for word in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.len() + word.len() + 1 > 40 {
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    if out.is_empty() {
        out.push_str("revision");
    }
    out
}

/// The new project's `aludel.toml`.
fn aludel_toml(options: &ImportOptions, report: &ImportReport) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::from(
        "# aludel configuration, written by `aludel import alembic` from the Alembic project\n# beside it. Alembic's version table is kept: a database Alembic migrated carries on.\n\n[aludel]\n",
    );
    out.push_str(&format!(
        "script_location = {}\n",
        quote(&options.script_location)
    ));
    out.push_str(&format!(
        "version_table = {}\n",
        quote(&report.version_table)
    ));
    if let Some(schema) = &report.version_table_schema {
        out.push_str(&format!("version_table_schema = {}\n", quote(schema)));
    }
    out.push_str(&format!(
        "transaction_per_migration = {}   # as Alembic ran them\n",
        report.transaction_per_migration
    ));
    if let Some(template) = &report.file_template {
        out.push_str(&format!("file_template = {}\n", quote(template)));
    }
    if let Some(timezone) = &report.timezone {
        out.push_str(&format!("timezone = {}\n", quote(timezone)));
    }
    out.push_str(
        "# database_url = \"...\"   # or DATABASE_URL, as Alembic's env.py may have read it\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_date_is_read_from_the_docstring() {
        assert_eq!(
            created_date("add x\n\nRevision ID: a1\nCreate Date: 2024-01-02 03:04:05.123456\n"),
            Some("2024-01-02T03:04:05Z".into())
        );
        assert_eq!(created_date("no date here"), None);
        assert_eq!(created_date("Create Date: yesterday"), None);
    }

    #[test]
    fn alembic_file_templates_become_aludel_ones() {
        assert_eq!(
            file_template("%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s")
                .as_deref(),
            Some("{year}_{month}_{day}_{hour}{minute}-{rev}_{slug}")
        );
        assert_eq!(file_template("%(rev)s").as_deref(), Some("{rev}"));
        assert_eq!(
            file_template("%(epoch)s_%(rev)s").as_deref(),
            Some("{epoch}_{rev}")
        );
        assert_eq!(file_template("%(branch)s_%(rev)s"), None);
        assert_eq!(file_template("%(rev"), None);
    }

    #[test]
    fn a_url_is_written_as_sqlalchemy_reads_one() {
        let url: crate::url::DatabaseUrl =
            "postgresql://app:p%40ss%3Aw%2Fo rd@db.example:5433/shop?sslmode=require"
                .parse()
                .unwrap();
        assert_eq!(
            sqlalchemy_url(&url),
            "postgresql://app:p%40ss%3Aw%2Fo%20rd@db.example:5433/shop?sslmode=require"
        );
        let socket: crate::url::DatabaseUrl = "postgresql://app@%2Fvar%2Frun%2Fpostgresql/shop"
            .parse()
            .unwrap();
        assert_eq!(
            sqlalchemy_url(&socket),
            "postgresql://app@/shop?host=%2Fvar%2Frun%2Fpostgresql"
        );
    }

    #[test]
    fn a_slug_is_made_of_the_message_words() {
        assert_eq!(slug("Add users table!"), "add_users_table");
        assert_eq!(slug("  "), "revision");
        assert!(slug(&"word ".repeat(30)).len() <= 40);
    }
}
