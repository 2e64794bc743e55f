//! Migration files: headers, sections, statement splitting, new files from templates.
//!
//! A migration file is plain SQL with a header of `-- aludel:KEY VALUE` lines followed by
//! `-- aludel:upgrade` and `-- aludel:downgrade` sections, each optionally naming a
//! dialect. Loading a folder ([`ScriptDir::load`]) reads each file once and parses only
//! the header and where the sections lie; statements are split on demand
//! ([`Script::statements`]) because `heads` or `history` never need them.
//!
//! Directives are found line by line, not by lexing SQL: a line whose first non-blank
//! text is `-- aludel:` is a directive even inside a string or a function body.
//!
//! Every error names the file and line (`path:line: message`).

pub(crate) mod cache;
mod folder;
mod new;
mod parse;
mod split;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::graph::{Direction, RevisionSpec};
use crate::url::Dialect;

pub use new::{NewRevision, ScriptTemplate, file_name, generate_rev_id, slugify, write_new};
pub use split::{Housekeeping, SplitError, SplitErrorKind, Statement, split_statements};

/// Why a migration file (or the folder, or a template) could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// A malformed file or template: `path:line: message`.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// SQL that cannot be split into statements.
    #[error("{}:{}: {}", path.display(), error.line, error.kind)]
    Split {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: SplitError,
    },
    /// Two files declare the same revision id.
    #[error(
        "{}:{line}: revision '{id}' is also declared in {}:{other_line}",
        path.display(),
        other_path.display()
    )]
    DuplicateRevision {
        /// The revision id.
        id: String,
        /// The file read second.
        path: PathBuf,
        /// Its `revision` line.
        line: usize,
        /// The file read first.
        other_path: PathBuf,
        /// Its `revision` line.
        other_line: usize,
    },
    /// The versions folder does not exist.
    #[error(
        "migrations folder {} does not exist (run `aludel init` to create the project layout)",
        path.display()
    )]
    MissingDir {
        /// The folder.
        path: PathBuf,
    },
    /// A file or folder could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// A revision has no section for the requested direction and dialect.
    #[error("{}", missing_section_message(path, *direction, *dialect))]
    MissingSection {
        /// The file.
        path: PathBuf,
        /// The direction asked for.
        direction: Direction,
        /// The dialect asked for.
        dialect: Dialect,
    },
    /// A `file_template` that cannot produce a file name.
    #[error("invalid file_template '{template}': {message}")]
    FileTemplate {
        /// The template as configured.
        template: String,
        /// What is wrong.
        message: String,
    },
    /// A new revision whose fields cannot be written to a file.
    #[error("cannot write revision: {message}")]
    InvalidRevision {
        /// What is wrong.
        message: String,
    },
    /// A new file would overwrite an existing one.
    #[error("{}: already exists; not overwriting it", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
}

fn missing_section_message(path: &Path, direction: Direction, dialect: Dialect) -> String {
    match direction {
        Direction::Upgrade => format!(
            "{}: no '-- aludel:upgrade' section applies to {dialect} (add '-- aludel:upgrade' \
             or '-- aludel:upgrade {dialect}')",
            path.display()
        ),
        Direction::Downgrade => format!(
            "{}: no '-- aludel:downgrade' section applies to {dialect}, so this revision \
             cannot be downgraded",
            path.display()
        ),
    }
}

/// One section of a script: its marker, its body text and where the body starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The dialect the marker names, or `None` for every dialect.
    pub dialect: Option<Dialect>,
    /// The line of the `-- aludel:upgrade`/`downgrade` marker.
    pub marker_line: usize,
    /// The line on which [`Section::sql`] starts (the one after the marker).
    pub first_line: usize,
    /// The body: everything up to the next marker or the end of the file.
    pub sql: &'a str,
}

/// One parsed migration file.
///
/// The header is checked when the file is parsed; statements are split only when asked
/// for, so a broken statement shows up when the revision runs, with its line.
#[derive(Clone)]
pub struct Script {
    spec: std::sync::Arc<RevisionSpec>,
    transaction: bool,
    incomplete: Option<Box<str>>,
    text: Text,
    sections: Vec<parse::SectionInfo>,
}

/// A file's text: its own, or a part of a string shared with other files (the file
/// cache's texts, so that ten thousand of them are not copied one by one).
#[derive(Clone)]
enum Text {
    Owned(String),
    Shared(std::sync::Arc<String>, std::ops::Range<usize>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Owned(text) => text,
            // The range was checked against the string when the cache was read.
            Text::Shared(all, range) => all.get(range.clone()).unwrap_or_default(),
        }
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The whole file text would drown everything else.
        f.debug_struct("Script")
            .field("spec", &self.spec)
            .field("transaction", &self.transaction)
            .field("sections", &self.sections)
            .finish_non_exhaustive()
    }
}

impl Script {
    /// Reads and parses one file.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let io = |source| ScriptError::Io {
            path: path.to_path_buf(),
            error: source,
        };
        Script::from_bytes(path, std::fs::read(path).map_err(io)?)
    }

    /// Parses file contents that may not be UTF-8; `path` is used in messages.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Script, ScriptError> {
        let path = path.into();
        match String::from_utf8(bytes) {
            Ok(text) => Script::from_text(path, Text::Owned(text)),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                let line = 1 + bytes[..valid].iter().filter(|&&c| c == b'\n').count();
                Err(ScriptError::Syntax {
                    path,
                    line,
                    message: format!(
                        "invalid UTF-8 at byte {valid}; migration files must be UTF-8"
                    ),
                })
            }
        }
    }

    /// Parses the text of a file; `path` is used in messages and [`Script::path`].
    pub fn parse(path: impl Into<PathBuf>, text: impl Into<String>) -> Result<Script, ScriptError> {
        Script::from_text(path.into(), Text::Owned(text.into()))
    }

    /// Parses `text`; the path moves into the revision rather than being copied.
    fn from_text(path: PathBuf, text: Text) -> Result<Script, ScriptError> {
        let mut parsed = parse::parse(&path, text.as_str())?;
        parsed.spec.origin.path = path;
        Ok(Script {
            spec: std::sync::Arc::new(parsed.spec),
            transaction: parsed.transaction,
            incomplete: parsed.incomplete,
            text,
            sections: parsed.sections,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.spec.origin.path
    }

    /// The revision id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The parent revision ids; empty for a root.
    pub fn parents(&self) -> &[String] {
        &self.spec.parents
    }

    /// The one-line message; empty if none.
    pub fn message(&self) -> &str {
        &self.spec.message
    }

    /// The `created` timestamp as written.
    pub fn created(&self) -> Option<&str> {
        self.spec.created.as_deref()
    }

    /// The branch labels.
    pub fn branch_labels(&self) -> &[String] {
        &self.spec.branch_labels
    }

    /// The ids or labels this revision depends on.
    pub fn depends_on(&self) -> &[String] {
        &self.spec.depends_on
    }

    /// Whether the revision runs inside a transaction (`-- aludel:transaction`, default
    /// `true`).
    pub fn transaction(&self) -> bool {
        self.transaction
    }

    /// Why the revision's SQL is still to be written (`-- aludel:incomplete REASON`,
    /// e.g. a revision imported from Alembic whose Python could not be turned into
    /// SQL): it is refused in either direction until a person writes it.
    pub fn incomplete(&self) -> Option<&str> {
        self.incomplete.as_deref()
    }

    /// The whole file text.
    pub fn text(&self) -> &str {
        self.text.as_str()
    }

    /// The revision as the graph needs it.
    pub fn spec(&self) -> RevisionSpec {
        RevisionSpec::clone(&self.spec)
    }

    /// The revision as the graph needs it, borrowed.
    pub fn spec_ref(&self) -> &RevisionSpec {
        &self.spec
    }

    /// Every section, in file order.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        self.sections.iter().map(|s| self.view(s))
    }

    fn view<'a>(&'a self, s: &parse::SectionInfo) -> Section<'a> {
        Section {
            direction: s.direction,
            dialect: s.dialect,
            marker_line: s.marker_line,
            first_line: s.first_line,
            sql: self.text().get(s.range.clone()).unwrap_or_default(),
        }
    }

    /// The section that applies to `direction` on `dialect`: the one naming the dialect,
    /// otherwise the one naming none.
    pub fn section(&self, direction: Direction, dialect: Dialect) -> Option<Section<'_>> {
        let mut generic = None;
        for s in &self.sections {
            if s.direction != direction {
                continue;
            }
            match s.dialect {
                Some(d) if d == dialect => return Some(self.view(s)),
                None => generic = Some(s),
                Some(_) => {}
            }
        }
        generic.map(|s| self.view(s))
    }

    /// Whether a section applies to `direction` on `dialect`. A revision without a
    /// downgrade section cannot be downgraded.
    pub fn has_section(&self, direction: Direction, dialect: Dialect) -> bool {
        self.section(direction, dialect).is_some()
    }

    /// The statements to run for `direction` on `dialect`, each with its file line.
    /// An empty section gives no statements; a missing one is an error.
    pub fn statements(
        &self,
        direction: Direction,
        dialect: Dialect,
    ) -> Result<Vec<Statement>, ScriptError> {
        let Some(section) = self.section(direction, dialect) else {
            return Err(ScriptError::MissingSection {
                path: self.path().to_path_buf(),
                direction,
                dialect,
            });
        };
        split_statements(section.sql, dialect, section.first_line).map_err(|source| {
            ScriptError::Split {
                path: self.path().to_path_buf(),
                error: source,
            }
        })
    }
}

/// Every migration file of a project's versions folder, by file name, with a lookup by
/// revision id.
#[derive(Debug, Clone)]
pub struct ScriptDir {
    dir: PathBuf,
    scripts: Vec<Script>,
    by_id: crate::graph::KeyIndex,
}

impl ScriptDir {
    /// Reads every `*.sql` file in `versions_dir` (hidden files and other files are
    /// ignored), sorted by file name. Stops at the first broken file; a revision id
    /// declared by two files is an error naming both.
    pub fn load(versions_dir: &Path) -> Result<ScriptDir, ScriptError> {
        Self::load_cached(versions_dir, None)
    }

    /// [`ScriptDir::load`], keeping the files' texts in `cache_file` between runs when
    /// the folder is large: an unchanged file then costs one `stat` instead of a read.
    /// A file whose inode, size or times differ from its entry is read again; the
    /// cache never answers for a changed file (see `script/cache.rs`).
    pub fn load_cached(
        versions_dir: &Path,
        cache_file: Option<&Path>,
    ) -> Result<ScriptDir, ScriptError> {
        Self::load_with_cache(versions_dir, cache_file, cache::MIN_AGE).map(|(dir, _)| dir)
    }

    /// The loader behind [`ScriptDir::load_cached`]; also says how many files the
    /// cache served.
    fn load_with_cache(
        versions_dir: &Path,
        cache_file: Option<&Path>,
        min_age: std::time::Duration,
    ) -> Result<(ScriptDir, usize), ScriptError> {
        Self::load_reporting(versions_dir, cache_file, min_age).map(|(dir, hits, _)| (dir, hits))
    }

    /// [`ScriptDir::load_with_cache`], also saying whether the folder was listed.
    fn load_reporting(
        versions_dir: &Path,
        cache_file: Option<&Path>,
        min_age: std::time::Duration,
    ) -> Result<(ScriptDir, usize, bool), ScriptError> {
        let folder = open_folder(versions_dir)?;
        let io = |source| ScriptError::Io {
            path: versions_dir.to_path_buf(),
            error: source,
        };
        let Some(file) = cache_file else {
            let names = folder.sql_files().map_err(io)?;
            let loaded = read_all(&folder, &names, None)?;
            return Ok((
                Self::index(versions_dir.to_path_buf(), loaded.scripts)?,
                0,
                true,
            ));
        };
        let found = match find_files(&folder, file, min_age) {
            Found::Served(scripts) => {
                let hits = scripts.len();
                return Ok((
                    Self::index(versions_dir.to_path_buf(), scripts)?,
                    hits,
                    false,
                ));
            }
            Found::Files(found) => found,
        };
        let Files {
            listing,
            cache,
            probes,
            dir,
            listed,
        } = *found;
        let folder::Listing { names, complete } = listing.map_err(io)?;
        // The folder's stamp is recorded only for a listing that stands for all of it.
        let dir = dir.filter(|_| complete);
        let use_cache = names.len() >= CACHE_MIN_FILES;
        // Written again when a file was read, one went away, or the folder's stamp
        // can be recorded anew.
        let stale_dir = dir.is_some() && cache.dir_stamp() != dir;
        let loaded = if use_cache {
            merge_probes(&folder, &names, &cache, probes, stale_dir)?
        } else {
            read_all(&folder, &names, None)?
        };
        let Loaded {
            scripts,
            stamps,
            hits,
        } = loaded;
        if use_cache && (hits < scripts.len() || cache.len() != scripts.len() || stale_dir) {
            let files: Vec<_> = names
                .iter()
                .zip(&stamps)
                .zip(&scripts)
                .filter_map(|((name, stamp), script)| Some((name.as_os_str(), (*stamp)?, script)))
                .collect();
            // Every listed file must be in it for the folder's stamp to stand for them.
            let dir = dir.filter(|_| files.len() == names.len());
            cache::write(file, &files, dir, min_age);
        }
        Ok((
            Self::index(versions_dir.to_path_buf(), scripts)?,
            hits,
            listed,
        ))
    }

    /// Parses revision files held in memory, e.g. embedded in an application's binary
    /// by `embed_migrations!`: `(path, text)` pairs, where the path names the file in
    /// messages and [`Script::path`]. `dir` stands for the folder they came from. The
    /// files are sorted by path, as [`ScriptDir::load`] sorts them by name; the checks
    /// are the same (a broken file, or an id declared twice, is an error naming it).
    ///
    /// ```
    /// use aludel::script::ScriptDir;
    /// let files = [(
    ///     "migrations/versions/a1.sql",
    ///     "-- aludel:revision a1\n-- aludel:upgrade\nCREATE TABLE t (id int);\n",
    /// )];
    /// let scripts = ScriptDir::from_sources("migrations/versions", files)?;
    /// assert_eq!(scripts.get("a1").map(|s| s.path().to_path_buf()), Some("migrations/versions/a1.sql".into()));
    /// # Ok::<(), aludel::script::ScriptError>(())
    /// ```
    pub fn from_sources<P, T>(
        dir: impl Into<PathBuf>,
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Result<ScriptDir, ScriptError>
    where
        P: Into<PathBuf>,
        T: Into<String>,
    {
        let mut files: Vec<(PathBuf, String)> = files
            .into_iter()
            .map(|(path, text)| (path.into(), text.into()))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let scripts = files
            .into_iter()
            .map(|(path, text)| Script::parse(path, text))
            .collect::<Result<Vec<_>, _>>()?;
        Self::index(dir.into(), scripts)
    }

    /// Indexes loaded scripts by revision id; an id declared twice is an error naming
    /// both files.
    fn index(dir: PathBuf, scripts: Vec<Script>) -> Result<ScriptDir, ScriptError> {
        let mut by_id = crate::graph::KeyIndex::with_capacity(scripts.len());
        for (i, script) in scripts.iter().enumerate() {
            if let Err(first) = by_id.insert(i, |k| scripts[k].id().as_bytes()) {
                let other = &scripts[first];
                return Err(ScriptError::DuplicateRevision {
                    id: script.id().to_string(),
                    path: script.path().to_path_buf(),
                    line: script.spec.origin.revision_line,
                    other_path: other.path().to_path_buf(),
                    other_line: other.spec.origin.revision_line,
                });
            }
        }
        Ok(ScriptDir {
            dir,
            scripts,
            by_id,
        })
    }

    /// The versions folder (for embedded files, the folder they were embedded from).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every script, sorted by file name.
    pub fn scripts(&self) -> &[Script] {
        &self.scripts
    }

    /// The script declaring revision `id` (the full id).
    pub fn get(&self, id: &str) -> Option<&Script> {
        self.by_id
            .get(id.as_bytes(), |i| self.scripts[i].id().as_bytes())
            .map(|i| &self.scripts[i])
    }

    /// The revisions, for building the graph.
    pub fn specs(&self) -> Vec<RevisionSpec> {
        self.scripts.iter().map(Script::spec).collect()
    }

    /// The revisions, shared with the scripts rather than copied
    /// ([`crate::graph::RevisionGraph::build_shared`]).
    pub fn shared_specs(&self) -> Vec<std::sync::Arc<RevisionSpec>> {
        self.scripts.iter().map(|s| s.spec.clone()).collect()
    }

    /// The index of the scripts' ids by position, each id once.
    pub(crate) fn id_index(&self) -> &crate::graph::KeyIndex {
        &self.by_id
    }

    /// How many scripts there are.
    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    /// Whether the folder holds no script.
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }
}

fn open_folder(dir: &Path) -> Result<folder::Folder, ScriptError> {
    folder::Folder::open(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ScriptError::MissingDir {
            path: dir.to_path_buf(),
        },
        _ => ScriptError::Io {
            path: dir.to_path_buf(),
            error: e,
        },
    })
}

/// What checking one cache entry against the folder found: the file parsed from the
/// cached text when the file's stamp matches the entry (the stamp is then the
/// entry's), else nothing (the file is changed, gone, or its text does not parse).
type Probe = Option<Script>;

/// What [`find_files`] found.
enum Found {
    /// The folder is as the cache recorded it and every file's stamp matches: its
    /// scripts, in name order.
    Served(Vec<Script>),
    /// Anything else: what the loader merges.
    Files(Box<Files>),
}

/// The folder's files and the cache's entries checked against them.
struct Files {
    listing: std::io::Result<folder::Listing>,
    cache: cache::Cache,
    probes: Vec<Probe>,
    /// The folder's stamp taken before its listing, if the folder is older than the
    /// minimum age.
    dir: Option<cache::Stamp>,
    /// Whether the folder was listed (else its names are the cache's).
    listed: bool,
}

/// Finds the folder's files with the cache's help. When the folder's own stamp is the
/// one recorded with the cache, its names are the cache's and only the files are
/// `stat`ed; otherwise the folder is listed while the cache's entries are checked
/// against the files they name (listing ten thousand names takes as long as a few
/// thousand `stat`s, and the cache already says which files are likely there). What
/// the listing finds decides; [`merge_probes`] reads whatever the probes did not serve.
fn find_files(folder: &folder::Folder, cache_file: &Path, min_age: std::time::Duration) -> Found {
    // Taken before the folder is listed: an entry added after it moves the folder's
    // times past the stamp recorded.
    let now = std::time::SystemTime::now();
    let dir = folder
        .own_stamp()
        .filter(|stamp| stamp.settled(now, min_age));
    let cache = cache::Cache::read(cache_file);
    // A cache is only ever written for a large folder: a small one is stale or
    // foreign, and checking it would cost more than it could save.
    let usable = cache.len() >= CACHE_MIN_FILES;
    if usable && dir.is_some() && cache.dir_stamp() == dir {
        let probes = match take_all_served(probe_all(folder, &cache)) {
            Ok(scripts) => return Found::Served(scripts),
            Err(probes) => probes,
        };
        // Files that changed in place leave the folder's stamp as it was: the names
        // are the cache's if each such file is still a file.
        let (listing, listed) = match unchanged_listing(folder, &cache, &probes) {
            Some(listing) => (Ok(listing), false),
            None => (folder.listing(), true),
        };
        return Found::Files(Box::new(Files {
            listing,
            cache,
            probes,
            dir,
            listed,
        }));
    }
    std::thread::scope(|scope| {
        let lister = scope.spawn(|| folder.listing());
        let probes = if usable {
            probe_all(folder, &cache)
        } else {
            Vec::new()
        };
        let listing = lister
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("listing the folder failed")));
        Found::Files(Box::new(Files {
            listing,
            cache,
            probes,
            dir,
            listed: true,
        }))
    })
}

/// Every probe's script, in entry order, if each entry served one (collected in
/// place: no second list of ten thousand scripts); else the probes as they are.
fn take_all_served(probes: Vec<Probe>) -> Result<Vec<Script>, Vec<Probe>> {
    if probes.iter().any(Option::is_none) {
        return Err(probes);
    }
    // `filter_map` is collected in place; `flatten` is not.
    #[allow(clippy::filter_map_identity)]
    Ok(probes.into_iter().filter_map(|probe| probe).collect())
}

/// The cache's names as the folder's listing, when the folder's stamp says its entries
/// are the ones recorded: each file whose probe failed must still be a file (a
/// symlink whose target went away is left out by a listing, so then the folder is
/// listed).
fn unchanged_listing(
    folder: &folder::Folder,
    cache: &cache::Cache,
    probes: &[Probe],
) -> Option<folder::Listing> {
    let mut names = Vec::with_capacity(cache.len());
    for j in 0..cache.len() {
        let name = folder::FileName::from_bytes(cache.name(j))?;
        if probes.get(j)?.is_none() && !folder.is_file(&name) {
            return None;
        }
        names.push(name);
    }
    Some(folder::Listing {
        names,
        complete: true,
    })
}

/// Checks every cache entry, on this thread and a few others, each taking the next
/// slice of [`FILES_PER_THREAD`] entries until none is left: entry `i`'s probe is at
/// `i`, written in place by whichever thread took its slice. An entry a panicked
/// helper left unchecked is `None`: its file is read.
fn probe_all(folder: &folder::Folder, cache: &cache::Cache) -> Vec<Probe> {
    let n = cache.len();
    let mut probes: Vec<Probe> = Vec::new();
    probes.resize_with(n, || None);
    {
        let slices = std::sync::Mutex::new(probes.chunks_mut(FILES_PER_THREAD).enumerate());
        let work = || {
            loop {
                let next = slices
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .next();
                let Some((k, slice)) = next else { return };
                let start = k * FILES_PER_THREAD;
                for (i, slot) in slice.iter_mut().enumerate() {
                    *slot = probe(folder, cache, start + i);
                }
            }
        };
        let threads = worker_count(n);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            work();
            for handle in handles {
                // A panicked helper's slice is left partly unchecked (see above).
                let _ = handle.join();
            }
        });
    }
    probes
}

/// Checks cache entry `i` against its file.
fn probe(folder: &folder::Folder, cache: &cache::Cache, i: usize) -> Probe {
    // Names are written as UTF-8.
    let name = std::ffi::OsStr::new(std::str::from_utf8(cache.name(i)).ok()?);
    // An entry whose record reads badly is read from the file, so that any error is
    // reported in file order.
    folder
        .stamp(name)
        .and_then(|stamp| cache.script(i, &stamp, folder.join(name)))
}

/// The listed files in order: each from its probe when that served it, the rest read
/// from disk (the error is the one of the first broken file by name).
fn merge_probes(
    folder: &folder::Folder,
    names: &[folder::FileName],
    cache: &cache::Cache,
    mut probes: Vec<Probe>,
    rewrite: bool,
) -> Result<Loaded, ScriptError> {
    // The entry serving each listed file, if any. Both lists are sorted by name:
    // walk them together.
    let mut served: Vec<Option<usize>> = Vec::with_capacity(names.len());
    let mut pending = Vec::new();
    let mut j = 0;
    for name in names {
        let bytes = name.as_os_str().as_encoded_bytes();
        while probes.get(j).is_some() && cache.name(j) < bytes {
            j += 1;
        }
        let hit = probes.get(j).is_some_and(Option::is_some) && cache.name(j) == bytes;
        if !hit {
            pending.push(name.clone());
        }
        served.push(hit.then_some(j));
    }
    // Stamps are only needed to write a new cache: not when it served every file
    // (unless it is `rewrite`n for the folder's stamp).
    let unchanged = pending.is_empty() && cache.len() == names.len() && !rewrite;
    let read = read_all(folder, &pending, Some(cache))?;
    let mut loaded = Loaded {
        scripts: Vec::with_capacity(names.len()),
        stamps: Vec::with_capacity(if unchanged { 0 } else { names.len() }),
        hits: names.len() - pending.len() + read.hits,
    };
    let mut read = read.scripts.into_iter().zip(read.stamps);
    for entry in served {
        let probe = entry.and_then(|j| {
            let script = probes.get_mut(j)?.take()?;
            Some((script, cache.stamp(j)))
        });
        // Every file not served by a probe was read, in the same order.
        if let Some((script, stamp)) = probe.or_else(|| read.next()) {
            loaded.scripts.push(script);
            if !unchanged {
                loaded.stamps.push(stamp);
            }
        }
    }
    Ok(loaded)
}

/// How many threads (this one included) share `files` files.
fn worker_count(files: usize) -> usize {
    let most = files / FILES_PER_THREAD;
    if most <= 1 {
        // Not worth asking how many CPUs there are (several cgroup files).
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(most)
        .clamp(1, 8)
}

/// Below this many files the cache is not used: reading them is quick anyway.
const CACHE_MIN_FILES: usize = 512;

/// Loaded files, in order, and what the cache needs to know about them.
#[derive(Default)]
struct Loaded {
    scripts: Vec<Script>,
    /// Each file's stamp, when a cache is in use and the file could be `stat`ed (left
    /// empty when the cache served every file and so is not written again).
    stamps: Vec<Option<cache::Stamp>>,
    /// How many files the cache served.
    hits: usize,
}

fn load_slice(
    folder: &folder::Folder,
    names: &[folder::FileName],
    cache: Option<&cache::Cache>,
) -> Result<Loaded, ScriptError> {
    let mut buf = Vec::new();
    let mut loaded = Loaded {
        scripts: Vec::with_capacity(names.len()),
        stamps: Vec::with_capacity(if cache.is_some() { names.len() } else { 0 }),
        hits: 0,
    };
    // The cache entry expected next: both lists are sorted by name.
    let mut hint = 0;
    for name in names {
        let path = folder.join(name.as_os_str());
        let Some(cache) = cache else {
            loaded
                .scripts
                .push(read_script(folder, name, path, &mut buf)?);
            continue;
        };
        // The stamp is taken before reading: a write in between changes the file's
        // change time, so the entry recorded here can never match later.
        let stamp = folder.stamp(name.as_os_str());
        let entry = cache.find(name.as_os_str(), hint);
        hint = entry.map_or(hint, |i| i + 1);
        // An entry whose record reads badly is read from the file (see `probe`).
        let from_cache = stamp
            .zip(entry)
            .and_then(|(stamp, i)| cache.script(i, &stamp, path));
        let script = match from_cache {
            Some(script) => {
                loaded.hits += 1;
                script
            }
            None => read_script(folder, name, folder.join(name.as_os_str()), &mut buf)?,
        };
        loaded.scripts.push(script);
        loaded.stamps.push(stamp);
    }
    Ok(loaded)
}

/// Reads and parses one file, using `buf` for the read.
fn read_script(
    folder: &folder::Folder,
    name: &folder::FileName,
    path: PathBuf,
    buf: &mut Vec<u8>,
) -> Result<Script, ScriptError> {
    match folder.read(name, buf) {
        Ok(len) => Script::from_bytes(path, buf[..len].to_vec()),
        Err(source) => Err(ScriptError::Io {
            path,
            error: source,
        }),
    }
}

/// Below this many files a thread costs more than it saves.
const FILES_PER_THREAD: usize = 256;

/// Reads and parses `names`, in order. Opening and reading files dominates the load
/// time (about 3 µs a file against under 1 µs to parse it), so large folders are read
/// by a few threads, each taking a contiguous slice; the error reported is still the
/// one of the first broken file by name.
fn read_all(
    folder: &folder::Folder,
    names: &[folder::FileName],
    cache: Option<&cache::Cache>,
) -> Result<Loaded, ScriptError> {
    let threads = worker_count(names.len());
    if threads <= 1 {
        return load_slice(folder, names, cache);
    }
    let chunk = names.len().div_ceil(threads);
    let results: Vec<Result<Loaded, ScriptError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|slice| scope.spawn(move || load_slice(folder, slice, cache)))
            .collect();
        handles
            .into_iter()
            .zip(names.chunks(chunk))
            .map(|(handle, slice)| {
                handle.join().unwrap_or_else(|_| {
                    // Parsing never panics by design; if it ever does, fall back to this
                    // thread so the error (or the panic) surfaces normally.
                    load_slice(folder, slice, cache)
                })
            })
            .collect()
    });
    let mut all = Loaded {
        scripts: Vec::with_capacity(names.len()),
        stamps: Vec::with_capacity(if cache.is_some() { names.len() } else { 0 }),
        hits: 0,
    };
    for result in results {
        let part = result?;
        all.scripts.extend(part.scripts);
        all.stamps.extend(part.stamps);
        all.hits += part.hits;
    }
    Ok(all)
}

#[cfg(test)]
mod tests;
