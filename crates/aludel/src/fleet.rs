//! Many databases and many projects at once: the targets file (`--targets`), shards
//! (`--shard I/N`), workspace files (`--workspace`), and a bounded pool that runs one
//! job per item.
//!
//! Nothing here prints; the caller gets one result per target or member, in order.
//!
//! ```
//! use aludel::fleet::Shard;
//! let shard: Shard = "2/4".parse()?;
//! let targets = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
//! assert_eq!(shard.select(&targets), &["c", "d", "e"]);
//! // The zero-based form, for Kubernetes Indexed Jobs:
//! assert_eq!("index:1/4".parse::<Shard>()?, shard);
//! # Ok::<(), aludel::fleet::FleetError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::config::{
    CONFIG_FILE_NAME, Config, ConfigError, ConnectPolicy, Env, Overrides, interpolate,
};
use crate::runner::{self, Event};
use crate::url::{DatabaseUrl, UrlError};

/// Why a targets file, a shard or a workspace file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The file could not be read.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A line of the targets file is not usable.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The targets file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A URL in the targets file (or listed by its query) does not parse.
    #[error("{}:{line}: {error}", path.display())]
    Url {
        /// The targets file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why the URL is rejected (it never contains the password).
        error: UrlError,
    },
    /// The same database is named twice.
    #[error("{}:{line}: {name} is already listed on line {first}; each database may appear once", path.display())]
    Duplicate {
        /// The targets file.
        path: PathBuf,
        /// The later line.
        line: usize,
        /// The earlier line.
        first: usize,
        /// The database, redacted.
        name: String,
    },
    /// A `query` line could not list its databases.
    #[error("{}:{line}: the query on {from} failed: {message}", path.display())]
    Query {
        /// The targets file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The database queried, redacted.
        from: String,
        /// The error.
        message: String,
    },
    /// `--shard` is malformed.
    #[error(
        "invalid --shard `{0}`: write I/N with 1 <= I <= N (e.g. 1/4), or index:K/N with 0 <= K < N (e.g. index:$(JOB_COMPLETION_INDEX)/4)"
    )]
    Shard(String),
    /// The workspace file is malformed.
    #[error("{}: {message}", path.display())]
    Workspace {
        /// The workspace file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A member's configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// One database of a fleet.
#[derive(Debug, Clone)]
pub struct Target {
    /// The line of the targets file that names it (or holds the query that listed it).
    pub line: usize,
    /// The database.
    pub url: DatabaseUrl,
}

impl Target {
    /// How the target is shown: its URL without the password.
    pub fn name(&self) -> String {
        self.url.to_string()
    }
}

/// One line of a targets file.
#[derive(Debug, Clone)]
enum Entry {
    Url(Target),
    Query {
        line: usize,
        from: DatabaseUrl,
        sql: String,
    },
}

/// A targets file: one database URL a line, `#` comments, `${NAME}` references to
/// environment variables, and `query URL SQL` lines whose first result column lists
/// further URLs (a tenant registry, say).
///
/// ```text
/// # tenants
/// postgresql://app:${TENANT_PASSWORD}@db-1/tenant_a
/// ${TENANT_B_URL}
/// sqlite:///data/tenant_c.db
/// query postgresql://registry@db-0/registry SELECT url FROM tenants ORDER BY id
/// ```
///
/// Relative SQLite paths resolve against the file's folder.
#[derive(Debug, Clone)]
pub struct TargetsFile {
    path: PathBuf,
    entries: Vec<Entry>,
}

impl TargetsFile {
    /// Reads and parses the file.
    pub fn load(path: &Path, env: &dyn Env) -> Result<TargetsFile, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_path_buf(),
            error: source,
        })?;
        TargetsFile::parse(path, &text, env)
    }

    /// Parses the text of `path`.
    pub fn parse(path: &Path, text: &str, env: &dyn Env) -> Result<TargetsFile, FleetError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // Split the line as written, then fill in `${NAME}` part by part: a value
            // holding whitespace or `#` (a password, say) must not move the boundaries.
            let expand = |text: &str| {
                interpolate(text, env, path, "").map_err(|e| match e {
                    ConfigError::UnsetVariable { name, .. } => FleetError::Line {
                        path: path.to_path_buf(),
                        line,
                        message: format!("environment variable {name} is not set"),
                    },
                    ConfigError::Invalid { message, .. } => FleetError::Line {
                        path: path.to_path_buf(),
                        line,
                        message,
                    },
                    other => FleetError::Config(other),
                })
            };
            let parse_url = |written: &str| {
                let text = expand(written)?;
                text.parse::<DatabaseUrl>()
                    .map(|u| u.resolve_relative_to(dir))
                    .map_err(|source| {
                        if written.contains("${") {
                            // The parser's message would quote the filled-in text, which
                            // may hold a secret.
                            FleetError::Line {
                                path: path.to_path_buf(),
                                line,
                                message: "not a valid database URL once its ${...} references are filled in; check the variables' values".into(),
                            }
                        } else {
                            FleetError::Url {
                                path: path.to_path_buf(),
                                line,
                                error: source,
                            }
                        }
                    })
            };
            if let Some(rest) = trimmed.strip_prefix("query ") {
                let rest = rest.trim_start();
                let (from, sql) = rest.split_once(char::is_whitespace).ok_or_else(|| {
                    FleetError::Line {
                        path: path.to_path_buf(),
                        line,
                        message: "a query line is `query URL SQL`: the database to ask, then a query whose first column lists the URLs".into(),
                    }
                })?;
                entries.push(Entry::Query {
                    line,
                    from: parse_url(from)?,
                    sql: expand(sql.trim())?,
                });
            } else {
                // A URL holds no whitespace, so whitespace then `#` starts a comment.
                let written = trimmed
                    .char_indices()
                    .find(|&(i, c)| c == '#' && trimmed[..i].ends_with(char::is_whitespace))
                    .map_or(trimmed, |(i, _)| trimmed[..i].trim_end());
                if written.contains(char::is_whitespace) {
                    return Err(FleetError::Line {
                        path: path.to_path_buf(),
                        line,
                        message: "one database URL a line (a comment starts with #)".into(),
                    });
                }
                entries.push(Entry::Url(Target {
                    line,
                    url: parse_url(written)?,
                }));
            }
        }
        Ok(TargetsFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every target in file order, running the `query` lines (each with the connect
    /// policy's retries). A database named twice is an error, since two runs of one
    /// database would only wait for each other.
    pub fn resolve(
        &self,
        connect: &ConnectPolicy,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<Target>, FleetError> {
        let mut targets = Vec::new();
        for entry in &self.entries {
            match entry {
                Entry::Url(t) => targets.push(t.clone()),
                Entry::Query { line, from, sql } => {
                    let query_error = |message: String| FleetError::Query {
                        path: self.path.clone(),
                        line: *line,
                        from: from.to_string(),
                        message,
                    };
                    let mut driver = runner::connect(from, connect, events)
                        .map_err(|e| query_error(crate::report::error_text(&e)))?;
                    let urls = driver
                        .query_column(sql)
                        .map_err(|e| query_error(e.to_string()))?;
                    let dir = self.path.parent().unwrap_or(Path::new("."));
                    for url in urls {
                        let url = url
                            .trim()
                            .parse::<DatabaseUrl>()
                            .map_err(|source| FleetError::Url {
                                path: self.path.clone(),
                                line: *line,
                                error: source,
                            })?
                            .resolve_relative_to(dir);
                        targets.push(Target { line: *line, url });
                    }
                }
            }
        }
        if targets.is_empty() {
            return Err(FleetError::Line {
                path: self.path.clone(),
                line: self.entries.last().map_or(1, |e| match e {
                    Entry::Url(t) => t.line,
                    Entry::Query { line, .. } => *line,
                }),
                message: "the file lists no database (a query that finds none counts too); nothing would run".into(),
            });
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for t in &targets {
            if let Some(&first) = seen.get(&identity(&t.url)) {
                return Err(FleetError::Duplicate {
                    path: self.path.clone(),
                    line: t.line,
                    first,
                    name: t.name(),
                });
            }
            seen.insert(identity(&t.url), t.line);
        }
        Ok(targets)
    }
}

/// Which database a URL names, however it is written: the dialect, the host in lower
/// case, the port (the default when absent) and the database; a SQLite file by its
/// path with `.` and `..` resolved. Who connects, and how, does not matter: one
/// database under two users or passwords is still one database.
fn identity(url: &DatabaseUrl) -> String {
    use crate::url::SqliteLocation;
    let dialect = url.dialect();
    match url.sqlite_location() {
        Some(SqliteLocation::File(p)) => format!("sqlite {}", normalize(p).display()),
        Some(SqliteLocation::Memory) => "sqlite :memory:".to_string(),
        None => {
            let port = url.port().or(dialect.default_port()).unwrap_or_default();
            format!(
                "{} {}:{port}/{}",
                dialect.name(),
                url.host().unwrap_or("localhost").to_ascii_lowercase(),
                url.database().unwrap_or_default()
            )
        }
    }
}

/// The I-th of N contiguous slices of a list, as even as they can be: together the N
/// shards take every item exactly once, and a shard's items stay together in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Zero-based.
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` (zero-based) of `count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, FleetError> {
        if count == 0 || index >= count {
            return Err(FleetError::Shard(format!("index:{index}/{count}")));
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of `items`.
    pub fn select<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let len = items.len();
        let start = len * self.index / self.count;
        let end = len * (self.index + 1) / self.count;
        &items[start..end]
    }
}

impl FromStr for Shard {
    type Err = FleetError;

    /// `I/N` (1-based, `1/4` … `4/4`) or `index:K/N` (0-based, as Kubernetes numbers
    /// the pods of an Indexed Job).
    fn from_str(s: &str) -> Result<Shard, FleetError> {
        let bad = || FleetError::Shard(s.to_string());
        let (zero_based, rest) = match s.strip_prefix("index:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (i, n) = rest.split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        let index = if zero_based {
            i
        } else {
            i.checked_sub(1).ok_or_else(bad)?
        };
        Shard::new(index, n).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// One member project of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its folder relative to the workspace file, `/`-separated: the output prefix.
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceFile {
    workspace: WorkspaceSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceSection {
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

/// A workspace file (`aludel-workspace.toml`): the member projects, each a folder
/// with its own `aludel.toml`.
///
/// ```toml
/// [workspace]
/// members = ["services/*", "tools/admin"]   # globs allowed
/// exclude = ["services/legacy"]             # optional
/// ```
#[derive(Debug, Clone)]
pub struct Workspace {
    path: PathBuf,
    members: Vec<Member>,
}

impl Workspace {
    /// Reads the file and finds the members. A pattern that matches no project
    /// folder is an error (a typo would otherwise skip a service silently); folders a
    /// glob matches that hold no `aludel.toml` are not members.
    pub fn load(path: &Path) -> Result<Workspace, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_path_buf(),
            error: source,
        })?;
        let invalid = |message: String| FleetError::Workspace {
            path: path.to_path_buf(),
            message,
        };
        let file: WorkspaceFile =
            toml::from_str(&text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        let root = path.parent().unwrap_or(Path::new("."));
        let exclude: Vec<PathBuf> = file
            .workspace
            .exclude
            .iter()
            .map(|p| normalize(&root.join(p)))
            .collect();
        let mut members: Vec<Member> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut excluded = vec![false; exclude.len()];
        for pattern in &file.workspace.members {
            let full = root.join(pattern);
            let matches: Vec<PathBuf> = if is_glob(pattern) {
                // The components before the first with a glob character are a folder
                // (`./services/*`, `../shared/*`): the walk starts there.
                let components: Vec<&str> = pattern.split('/').collect();
                let literal = components.iter().take_while(|c| !is_glob(c)).count();
                let base = root.join(components[..literal].join("/"));
                let rest = components[literal..].join("/");
                let glob = glob::Pattern::new(&rest)
                    .map_err(|e| invalid(format!("member pattern `{pattern}`: {e}")))?;
                project_folders_matching(&base, &glob, &rest)
            } else if full.join(CONFIG_FILE_NAME).is_file() {
                vec![full]
            } else {
                return Err(invalid(format!(
                    "member `{pattern}` has no {CONFIG_FILE_NAME} ({} not found)",
                    full.join(CONFIG_FILE_NAME).display()
                )));
            };
            if matches.is_empty() {
                return Err(invalid(format!(
                    "member pattern `{pattern}` matches no folder holding an {CONFIG_FILE_NAME}"
                )));
            }
            for dir in matches {
                let dir = normalize(&dir);
                if let Some(i) = exclude.iter().position(|x| *x == dir) {
                    excluded[i] = true;
                    continue;
                }
                // One project reached by two paths (a symlink) is one member.
                let real = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
                if !seen.insert(real) {
                    continue;
                }
                let name = relative_name(&dir, &normalize(root));
                members.push(Member { name, dir });
            }
        }
        // An exclude that names no member is most likely a typo, and the service
        // it meant would run.
        if let Some(i) = excluded.iter().position(|hit| !hit) {
            return Err(invalid(format!(
                "exclude `{}` names no member (excludes are folders, not patterns)",
                file.workspace.exclude[i]
            )));
        }
        if members.is_empty() {
            return Err(invalid("the workspace has no members".into()));
        }
        Ok(Workspace {
            path: path.to_path_buf(),
            members,
        })
    }

    /// The workspace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members, in the order of the patterns (each glob's matches sorted).
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// A member's configuration. `DATABASE_URL` and `ALUDEL_CONFIG` are not read:
    /// they name one database and one project, and each member has its own.
    pub fn member_config(&self, member: &Member, env: &dyn Env) -> Result<Config, FleetError> {
        let overrides = Overrides {
            config_path: Some(member.dir.join(CONFIG_FILE_NAME)),
            url: None,
        };
        let env = MemberEnv(env);
        Ok(Config::load(&overrides, &env, &member.dir)?)
    }
}

/// The process environment without the variables that name one project's database.
struct MemberEnv<'a>(&'a dyn Env);

impl Env for MemberEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            "DATABASE_URL" | "ALUDEL_CONFIG" => None,
            _ => self.0.var(name),
        }
    }
}

/// `dir` as seen from `root`, with `/` between folders: `services/a`, `../shared/b`,
/// or `.` for the root itself. Both are normalized paths.
fn relative_name(dir: &Path, root: &Path) -> String {
    let (d, r): (Vec<_>, Vec<_>) = (dir.components().collect(), root.components().collect());
    let common = d.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), r.len() - common)
        .chain(
            d[common..]
                .iter()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The folders under `root` whose path relative to it matches `glob` and that hold an
/// `aludel.toml`, sorted. Each real folder is entered once, so symlink cycles end and
/// a folder reached through a symlink is not listed again; without `**` the walk
/// goes no deeper than the pattern. The root is taken literally, whatever its name.
fn project_folders_matching(root: &Path, glob: &glob::Pattern, pattern: &str) -> Vec<PathBuf> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let max_depth = if pattern.contains("**") {
        usize::MAX
    } else {
        Path::new(pattern).components().count()
    };
    let mut found = Vec::new();
    let mut entered = std::collections::HashSet::new();
    // Real folders first, breadth first, in name order; folders behind symlinks only
    // after every real one, so a project keeps its real path as its name.
    let mut real = std::collections::VecDeque::from([(root.to_path_buf(), PathBuf::new(), 0)]);
    let mut linked = std::collections::VecDeque::new();
    while let Some((dir, rel, depth)) = real.pop_front().or_else(|| linked.pop_front()) {
        let Ok(canonical) = std::fs::canonicalize(&dir) else {
            continue;
        };
        if !entered.insert(canonical) {
            continue;
        }
        if glob.matches_path_with(&rel, options) && dir.join(CONFIG_FILE_NAME).is_file() {
            found.push(dir.clone());
        }
        if depth >= max_depth {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<_> = entries.flatten().collect();
        children.sort_by_key(|e| e.file_name());
        for entry in children {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let next = (path, rel.join(entry.file_name()), depth + 1);
            match entry.file_type() {
                Ok(t) if t.is_symlink() => linked.push_back(next),
                _ => real.push_back(next),
            }
        }
    }
    found.sort();
    found
}

/// `a/./b/../c` as `a/c`, without touching the file system (the folder may be a
/// symlink the user meant to keep).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Runs `work` once per item on up to `jobs` threads, and returns the results in the
/// items' order. Items are handed out one at a time, so a slow item does not hold up
/// the others' threads.
pub fn run_all<T, R, F>(items: &[T], jobs: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
{
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items.iter().enumerate().map(|(i, t)| work(i, t)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, work(i, item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                // A panic in one job is a bug; surface it rather than lose results.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> ConnectPolicy {
        ConnectPolicy {
            retries: 1,
            delay_seconds: 0.0,
            lock_timeout_seconds: 1.0,
            ..ConnectPolicy::default()
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn shards_parse_in_both_numberings() {
        assert_eq!("1/4".parse::<Shard>().ok(), Shard::new(0, 4).ok());
        assert_eq!("4/4".parse::<Shard>().ok(), Shard::new(3, 4).ok());
        assert_eq!("index:0/4".parse::<Shard>().ok(), Shard::new(0, 4).ok());
        assert_eq!("index:3/4".parse::<Shard>().ok(), Shard::new(3, 4).ok());
        for bad in [
            "0/4",
            "5/4",
            "index:4/4",
            "1/0",
            "a/4",
            "1-4",
            "",
            "index:/4",
        ] {
            let err = bad.parse::<Shard>().err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(bad)),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(
            Shard::new(1, 4).map(|s| s.to_string()).ok().as_deref(),
            Some("2/4")
        );
    }

    proptest! {
        #[test]
        fn shards_cover_every_item_exactly_once(len in 0usize..300, count in 1usize..20) {
            let items: Vec<usize> = (0..len).collect();
            let mut seen = Vec::new();
            for i in 0..count {
                let part = Shard::new(i, count).map(|s| s.select(&items).to_vec()).unwrap_or_default();
                // Even: sizes differ by at most one.
                prop_assert!(part.len() >= len / count && part.len() <= len.div_ceil(count));
                seen.extend(part);
            }
            prop_assert_eq!(seen, items);
        }
    }

    #[test]
    fn targets_file_lines_comments_env_and_relative_sqlite() {
        let e = env(&[("B_URL", "sqlite:////abs/b.db"), ("PW", "s3cret")]);
        let text =
            "# fleet\n\n  sqlite:///a.db  \n${B_URL}\npostgresql://app:${PW}@db/t1   # tenant 1\n";
        let file = TargetsFile::parse(Path::new("/fleet/targets.txt"), text, &e)
            .map_err(|e| e.to_string());
        let targets = file
            .and_then(|f| f.resolve(&policy(), &mut |_| {}).map_err(|e| e.to_string()))
            .unwrap_or_default();
        let shown: Vec<(usize, String)> = targets.iter().map(|t| (t.line, t.name())).collect();
        assert_eq!(
            shown,
            vec![
                (3, "sqlite:////fleet/a.db".to_string()),
                (4, "sqlite:////abs/b.db".to_string()),
                (5, "postgresql://app:***@db/t1".to_string()),
            ]
        );
        assert_eq!(targets[2].url.password(), Some("s3cret"));
    }

    #[test]
    fn targets_file_errors_name_the_line() {
        let e = env(&[]);
        let path = Path::new("/fleet/targets.txt");
        let err = |text: &str| {
            TargetsFile::parse(path, text, &e)
                .and_then(|f| f.resolve(&policy(), &mut |_| {}))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            err("sqlite:///a.db\n${MISSING}\n"),
            "/fleet/targets.txt:2: environment variable MISSING is not set"
        );
        assert!(err("\nnot-a-url\n").starts_with("/fleet/targets.txt:2: "));
        assert_eq!(
            err("\nsqlite:///a.db sqlite:///b.db\n"),
            "/fleet/targets.txt:2: one database URL a line (a comment starts with #)"
        );
        assert!(err("query sqlite:///r.db\n").starts_with("/fleet/targets.txt:1: a query line is"));
        assert_eq!(
            err("postgresql://a:x@db/t\nsqlite:///b.db\npostgresql://a:y@db/t\n"),
            "/fleet/targets.txt:3: postgresql://a:***@db/t is already listed on line 1; each database may appear once"
        );
        // The same database written another way.
        assert!(
            err("postgresql://a@DB/t\npostgres://b@db:5432/t\n")
                .starts_with("/fleet/targets.txt:2: ")
        );
        assert!(
            err("sqlite:///c.db\nsqlite:///./x/../c.db\n").starts_with("/fleet/targets.txt:2: ")
        );
        assert_eq!(
            err("postgresql://a@db/t\npostgresql://a@db:5433/t\n"),
            "",
            "another port is another server"
        );
    }

    #[test]
    fn values_with_spaces_or_hashes_stay_inside_their_part_and_stay_secret() {
        let e = env(&[("PW", "ab #cd ef"), ("OWNER", "x")]);
        let path = Path::new("/fleet/targets.txt");
        let text = "postgresql://app:${PW}@db/t1\nsqlite:///a.db  # owner ${NOT_SET}\nsqlite:///b.db\t# see #2\n";
        let targets = TargetsFile::parse(path, text, &e)
            .and_then(|f| f.resolve(&policy(), &mut |_| {}))
            .map_err(|e| e.to_string());
        let Ok(targets) = targets else {
            panic!("{targets:?}")
        };
        assert_eq!(targets[0].url.password(), Some("ab #cd ef"));
        assert_eq!(targets[0].name(), "postgresql://app:***@db/t1");
        assert_eq!(targets[2].name(), "sqlite:////fleet/b.db");
        // A value that breaks the URL is not quoted back.
        let e = env(&[("PW", "se:cret/x@y:notaport")]);
        let err = TargetsFile::parse(path, "postgresql://app@db:${PW}/t\n", &e)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("/fleet/targets.txt:1: not a valid database URL once"),
            "{err}"
        );
        assert!(!err.contains("se:cret"), "{err}");
        let err = TargetsFile::parse(path, "# nothing\n", &e)
            .and_then(|f| f.resolve(&policy(), &mut |_| {}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("lists no database"), "{err}");
    }

    #[test]
    fn run_all_keeps_order_and_runs_each_item_once() {
        let items: Vec<usize> = (0..100).collect();
        let calls = AtomicUsize::new(0);
        let out = run_all(&items, 8, |i, &x| {
            calls.fetch_add(1, Ordering::Relaxed);
            assert_eq!(i, x);
            x * 2
        });
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 100);
        assert!(run_all(&[] as &[usize], 4, |_, x| *x).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn globs_enter_each_real_folder_once_through_symlink_cycles_and_aliases() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("no temp dir") };
        let root = dir.path();
        for m in ["services/a", "services/b/nested"] {
            let d = root.join(m);
            std::fs::create_dir_all(&d).ok();
            std::fs::write(d.join(CONFIG_FILE_NAME), "").ok();
        }
        // Cycles: a folder linking to its parent and to the root, and an alias of a
        // member under another name.
        symlink(root.join("services"), root.join("services/a/loop")).ok();
        symlink(root, root.join("services/b/up")).ok();
        symlink(root.join("services/a"), root.join("alias")).ok();
        let ws = root.join("aludel-workspace.toml");
        std::fs::write(&ws, "[workspace]\nmembers = [\"**\", \"alias\"]\n").ok();
        let members = Workspace::load(&ws).map_err(|e| e.to_string());
        let Ok(members) = members else {
            panic!("{members:?}")
        };
        let names: Vec<&str> = members.members().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["services/a", "services/b/nested"]);
        // A folder before the glob, written with `./` or reaching out with `../`.
        let inner = root.join("services/b");
        let ws = inner.join("aludel-workspace.toml");
        std::fs::write(&ws, "[workspace]\nmembers = [\"./*\", \"../*\"]\n").ok();
        let members = Workspace::load(&ws).map_err(|e| e.to_string());
        let Ok(members) = members else {
            panic!("{members:?}")
        };
        let names: Vec<&str> = members.members().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["nested", "../a"]);
    }

    #[test]
    fn workspace_members_from_globs_and_paths() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("no temp dir") };
        let root = dir.path();
        std::fs::write(root.join(CONFIG_FILE_NAME), "").ok();
        for m in ["services/a", "services/b", "services/c", "tools/x"] {
            let d = root.join(m);
            std::fs::create_dir_all(&d).ok();
            std::fs::write(d.join(CONFIG_FILE_NAME), "").ok();
        }
        std::fs::create_dir_all(root.join("services/not-a-project")).ok();
        let ws = root.join("aludel-workspace.toml");
        let load = |text: &str| {
            std::fs::write(&ws, text).ok();
            Workspace::load(&ws).map_err(|e| e.to_string())
        };
        let names =
            |w: Workspace| -> Vec<String> { w.members().iter().map(|m| m.name.clone()).collect() };
        assert_eq!(
            load("[workspace]\nmembers = [\"services/*\", \"tools/x\", \"services/a\"]\nexclude = [\"services/c\"]\n")
                .map(names),
            Ok(vec!["services/a".to_string(), "services/b".into(), "tools/x".into()])
        );
        let err = load("[workspace]\nmembers = [\"servces/*\"]\n")
            .err()
            .unwrap_or_default();
        assert!(
            err.ends_with("member pattern `servces/*` matches no folder holding an aludel.toml"),
            "{err}"
        );
        let err = load("[workspace]\nmembers = [\"tools/y\"]\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("member `tools/y` has no aludel.toml"), "{err}");
        let err =
            load("[workspace]\nmembers = [\"services/*\"]\nexclude = [\"services/legacy*\"]\n")
                .err()
                .unwrap_or_default();
        assert!(
            err.ends_with(
                "exclude `services/legacy*` names no member (excludes are folders, not patterns)"
            ),
            "{err}"
        );
        assert_eq!(
            load("[workspace]\nmembers = [\".\", \"tools/*\"]\n").map(names),
            Ok(vec![".".to_string(), "tools/x".into()])
        );
        let err = load("[workspace]\nmember = []\n").err().unwrap_or_default();
        assert!(err.contains("unknown field `member`"), "{err}");
    }

    #[test]
    fn a_workspace_folder_with_glob_characters_is_taken_literally() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temp dir")
        };
        let root = dir.path().join("ws[1]*");
        std::fs::create_dir_all(root.join("services/a")).ok();
        std::fs::write(root.join("services/a").join(CONFIG_FILE_NAME), "").ok();
        let ws = root.join("aludel-workspace.toml");
        std::fs::write(&ws, "[workspace]\nmembers = [\"services/*\"]\n").ok();
        let names = Workspace::load(&ws)
            .map(|w| {
                w.members()
                    .iter()
                    .map(|m| m.name.clone())
                    .collect::<Vec<_>>()
            })
            .map_err(|e| e.to_string());
        assert_eq!(names, Ok(vec!["services/a".to_string()]));
    }

    #[test]
    fn members_ignore_the_single_project_variables() {
        let e = env(&[("DATABASE_URL", "sqlite:///elsewhere.db"), ("X", "1")]);
        let m = MemberEnv(&e);
        assert_eq!(m.var("DATABASE_URL"), None);
        assert_eq!(m.var("X").as_deref(), Some("1"));
    }
}
