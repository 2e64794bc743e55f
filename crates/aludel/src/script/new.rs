//! Writing new revisions: ids, file names from `file_template`, file text from the
//! header plus `script.sql.tmpl`, and the atomic write.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::parse::{directive, is_id, is_label, section_marker};
use super::{Script, ScriptError};

/// A revision to be written to a new file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRevision {
    /// The revision id, e.g. from [`generate_rev_id`].
    pub id: String,
    /// The parent ids; empty for a root.
    pub parents: Vec<String>,
    /// The message. Line breaks become spaces: the header holds one line.
    pub message: String,
    /// When the revision was created; written in UTC to the second.
    pub created: Option<jiff::Timestamp>,
    /// Branch labels.
    pub branch_labels: Vec<String>,
    /// Ids or labels that must be applied first.
    pub depends_on: Vec<String>,
    /// `Some(false)` writes `-- aludel:transaction false`; `None` leaves the default.
    pub transaction: Option<bool>,
    /// The upgrade SQL; empty for a revision that does nothing yet.
    pub upgrade: String,
    /// The downgrade SQL.
    pub downgrade: String,
    /// The database commits each DDL statement by itself (MySQL, MariaDB): the
    /// built-in template's note says how revisions run there instead.
    pub ddl_commits_by_itself: bool,
}

impl NewRevision {
    /// The message as it goes into the header: one line, trimmed.
    fn one_line_message(&self) -> String {
        self.message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn created_text(&self) -> String {
        self.created
            .map(|t| {
                jiff::Timestamp::from_second(t.as_second())
                    .unwrap_or(t)
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn check(&self) -> Result<(), ScriptError> {
        let bad = |message: String| Err(ScriptError::InvalidRevision { message });
        if !is_id(&self.id) {
            return bad(format!(
                "invalid revision id '{}' (use letters, digits and '_')",
                crate::text::value(&self.id)
            ));
        }
        for p in &self.parents {
            if !is_id(p) {
                return bad(format!(
                    "invalid parent revision id '{}'",
                    crate::text::value(p)
                ));
            }
        }
        for l in self.branch_labels.iter().chain(&self.depends_on) {
            if !is_label(l) {
                return bad(format!(
                    "invalid label or revision '{}' (use letters, digits, '_', '-' and '.')",
                    crate::text::value(l)
                ));
            }
        }
        Ok(())
    }

    /// The header lines aludel always writes itself (only keys that have values).
    pub fn header(&self) -> Result<String, ScriptError> {
        self.check()?;
        let mut out = format!("-- aludel:revision {}\n", self.id);
        let mut key = |k: &str, v: &str| {
            if !v.is_empty() {
                out.push_str(&format!("-- aludel:{k} {v}\n"));
            }
        };
        key("revises", &self.parents.join(" "));
        key("message", &self.one_line_message());
        key("created", &self.created_text());
        key("branch_labels", &self.branch_labels.join(" "));
        key("depends_on", &self.depends_on.join(" "));
        key(
            "transaction",
            match self.transaction {
                Some(true) => "true",
                Some(false) => "false",
                None => "",
            },
        );
        Ok(out)
    }

    /// The full file text: the header, a blank line, then `template` filled in. The
    /// result is parsed back before it is returned, so a template that would produce a
    /// broken file is caught here rather than on the next load.
    pub fn render(&self, template: &ScriptTemplate) -> Result<String, ScriptError> {
        let mut out = self.header()?;
        out.push('\n');
        if template.path.is_none() && self.transaction.is_none() {
            out.push_str(if self.ddl_commits_by_itself {
                STATEMENT_BY_STATEMENT_NOTE
            } else {
                TRANSACTION_NOTE
            });
        }
        out.push_str(&template.fill(self));
        if !out.ends_with('\n') {
            out.push('\n');
        }
        if let Err(e) = Script::parse(template.display_path(), out.as_str()) {
            return Err(ScriptError::InvalidRevision {
                message: format!(
                    "the file rendered from {} does not parse back: {e}",
                    template.display_path().display()
                ),
            });
        }
        Ok(out)
    }
}

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 8] = [
    "revision",
    "revises",
    "message",
    "created",
    "branch_labels",
    "depends_on",
    "upgrades",
    "downgrades",
];

const BUILTIN_TEMPLATE: &str =
    "-- aludel:upgrade\n${upgrades}\n\n-- aludel:downgrade\n${downgrades}\n";

/// Written above the built-in template's sections when the header leaves the
/// transaction setting out: it names the one option a new revision most often needs,
/// which a user otherwise learns of only when PostgreSQL refuses a statement.
const TRANSACTION_NOTE: &str = "-- Each revision runs in one transaction. For statements that cannot \
     (CREATE INDEX CONCURRENTLY, VACUUM), add `-- aludel:transaction false` to the header above.\n";

/// [`TRANSACTION_NOTE`] where the database commits each DDL statement by itself.
const STATEMENT_BY_STATEMENT_NOTE: &str = "-- This database commits each DDL statement by itself: a revision that fails halfway \
     keeps the statements before, and the re-run resumes after them (the journal records them).\n";

/// The template for what follows the header of a new file (`migrations/script.sql.tmpl`).
///
/// Only `${name}` is a placeholder, so `$$` dollar quotes and `$1` pass through untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptTemplate {
    path: Option<PathBuf>,
    text: String,
}

impl ScriptTemplate {
    /// The built-in template: an upgrade and a downgrade section.
    pub fn builtin() -> ScriptTemplate {
        ScriptTemplate {
            path: None,
            text: BUILTIN_TEMPLATE.to_string(),
        }
    }

    /// Reads the template at `path`, or the built-in one if there is no such file.
    pub fn load_or_builtin(path: &Path) -> Result<ScriptTemplate, ScriptError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ScriptTemplate::parse(path, text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ScriptTemplate::builtin()),
            Err(source) => Err(ScriptError::Io {
                path: path.to_path_buf(),
                error: source,
            }),
        }
    }

    /// Checks template text read from `path`: every `${name}` must be known, and header
    /// lines are not allowed because aludel writes the header itself.
    pub fn parse(
        path: impl Into<PathBuf>,
        text: impl Into<String>,
    ) -> Result<ScriptTemplate, ScriptError> {
        let path = path.into();
        let text = text.into();
        let err = |line: usize, message: String| ScriptError::Syntax {
            path: path.clone(),
            line,
            message,
        };
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let mut rest = line;
            while let Some(at) = rest.find("${") {
                let after = &rest[at + 2..];
                let Some(close) = after.find('}') else {
                    return Err(err(line_no, "unterminated placeholder '${'".to_string()));
                };
                let name = &after[..close];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(err(
                        line_no,
                        format!(
                            "unknown placeholder '${{{name}}}' (expected one of {})",
                            PLACEHOLDERS.map(|p| format!("${{{p}}}")).join(", ")
                        ),
                    ));
                }
                rest = &after[close + 1..];
            }
            if let Some((key, value)) = directive(line) {
                let is_marker = section_marker(key, value).map_err(|m| err(line_no, m))?;
                if is_marker.is_none() {
                    return Err(err(
                        line_no,
                        format!(
                            "'-- aludel:{key}' does not belong in a template: aludel writes \
                             the header itself; only section markers are allowed"
                        ),
                    ));
                }
            }
        }
        Ok(ScriptTemplate {
            path: Some(path),
            text,
        })
    }

    /// The template file, or `<built-in template>`.
    fn display_path(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<built-in template>"))
    }

    /// Replaces the placeholders in one pass, so values are never expanded again.
    fn fill(&self, rev: &NewRevision) -> String {
        let mut out =
            String::with_capacity(self.text.len() + rev.upgrade.len() + rev.downgrade.len());
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find("${") {
            let after = &rest[at + 2..];
            let Some(close) = after.find('}') else {
                break;
            };
            out.push_str(&rest[..at]);
            match &after[..close] {
                "revision" => out.push_str(&rev.id),
                "revises" => out.push_str(&rev.parents.join(" ")),
                "message" => out.push_str(&rev.one_line_message()),
                "created" => out.push_str(&rev.created_text()),
                "branch_labels" => out.push_str(&rev.branch_labels.join(" ")),
                "depends_on" => out.push_str(&rev.depends_on.join(" ")),
                "upgrades" => out.push_str(rev.upgrade.trim_end()),
                "downgrades" => out.push_str(rev.downgrade.trim_end()),
                // `parse` rejected anything else; keep it verbatim rather than lose text.
                other => {
                    out.push_str("${");
                    out.push_str(other);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The slug of a message as Alembic makes it: its words lower-cased and joined by `_`,
/// cut at a word boundary to at most 40 characters.
///
/// ```
/// assert_eq!(aludel::script::slugify("Add users table!"), "add_users_table");
/// ```
pub fn slugify(message: &str) -> String {
    const MAX: usize = 40;
    let words: Vec<String> = message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let slug = words.join("_");
    if slug.chars().count() <= MAX {
        return slug;
    }
    let cut: String = slug.chars().take(MAX).collect();
    match cut.rfind('_') {
        Some(i) if i > 0 => cut[..i].to_string(),
        _ => cut,
    }
}

/// The name of a new file from `file_template` (`{year}{month}{day}_{hour}{minute}_{rev}_{slug}`
/// by default), plus `.sql`. Fields: `{rev}`, `{slug}`, `{year}`, `{month}`, `{day}`,
/// `{hour}`, `{minute}`, `{second}` (zero-padded), `{epoch}` (seconds).
///
/// ```
/// let created: jiff::Zoned = "2026-01-10T14:30:05[UTC]".parse().unwrap();
/// let name = aludel::script::file_name(
///     "{year}{month}{day}_{hour}{minute}_{rev}_{slug}", "3f2a9c1d7b40", "Add users", created,
/// ).unwrap();
/// assert_eq!(name, "20260110_1430_3f2a9c1d7b40_add_users.sql");
/// ```
pub fn file_name(
    template: &str,
    rev: &str,
    message: &str,
    created: jiff::Zoned,
) -> Result<String, ScriptError> {
    let bad = |message: String| ScriptError::FileTemplate {
        template: template.to_string(),
        message,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| bad("a '{' is never closed".to_string()))?;
        let field = &after[..close];
        let value = match field {
            "rev" => rev.to_string(),
            "slug" => slugify(message),
            "year" => format!("{:04}", created.year()),
            "month" => format!("{:02}", created.month()),
            "day" => format!("{:02}", created.day()),
            "hour" => format!("{:02}", created.hour()),
            "minute" => format!("{:02}", created.minute()),
            "second" => format!("{:02}", created.second()),
            "epoch" => created.timestamp().as_second().to_string(),
            other => {
                return Err(bad(format!(
                    "unknown field {{{other}}} (expected {{rev}}, {{slug}}, {{year}}, \
                     {{month}}, {{day}}, {{hour}}, {{minute}}, {{second}} or {{epoch}})"
                )));
            }
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    // An empty slug would leave `..._` at the end; Alembic keeps it, we tidy it.
    let stem = out.trim_end_matches(['_', '-', '.', ' ']);
    if stem.is_empty() {
        return Err(bad("it produces an empty file name".to_string()));
    }
    if stem.contains(['/', '\\', '\0']) {
        return Err(bad(
            "file names may not contain '/' or '\\': versions live in one folder".to_string(),
        ));
    }
    if stem.starts_with('.') {
        return Err(bad(
            "it produces a hidden file name, which aludel ignores".to_string()
        ));
    }
    Ok(format!("{stem}.sql"))
}

/// Writes `text` to `dir/file_name` atomically: a hidden temporary file in the same folder,
/// then a link to the final name that fails if it already exists. Returns the new path.
pub fn write_new(dir: &Path, file_name: &str, text: &str) -> Result<PathBuf, ScriptError> {
    let target = dir.join(file_name);
    if !dir.is_dir() {
        return Err(ScriptError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    if target.symlink_metadata().is_ok() {
        return Err(ScriptError::AlreadyExists { path: target });
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScriptError::Io {
            path,
            error: source,
        }
    };
    // Hidden and not `.sql`, so a leftover after a crash is never loaded.
    let tmp = dir.join(format!(".{file_name}.{}.tmp", generate_rev_id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io(&tmp))?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    // A hard link never replaces an existing file, unlike rename.
    let linked = match std::fs::hard_link(&tmp, &target) {
        Ok(()) => {
            let _ = std::fs::remove_file(&tmp);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(ScriptError::AlreadyExists {
                path: target.clone(),
            })
        }
        // Some file systems have no hard links; rename after the check above instead.
        Err(_) => std::fs::rename(&tmp, &target).map_err(io(&target)),
    };
    if linked.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    linked.map(|()| target)
}

/// A new revision id: 12 lowercase hex characters, like Alembic's `uuid4().hex[-12:]`.
///
/// The randomness comes from the standard library's per-process random hash keys, mixed
/// with the time, the process id and a counter, which is plenty to avoid collisions
/// between people creating revisions; it is not meant to be unguessable.
pub fn generate_rev_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(d.as_nanos());
    }
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}
