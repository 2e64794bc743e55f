//! Reading one migration file: the `-- aludel:` header and where each section lies.
//!
//! Only lines are looked at here, never SQL tokens, so loading thousands of files stays
//! cheap: a line whose first non-blank text is `-- aludel:` is a directive wherever it
//! appears, and section bodies are kept as byte ranges for splitting on demand.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::ScriptError;
use crate::graph::{Direction, Origin, RevisionSpec};
use crate::text::value as shown;
use crate::url::Dialect;

/// A section as found by the parser: its marker and the byte range of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SectionInfo {
    pub(super) direction: Direction,
    pub(super) dialect: Option<Dialect>,
    pub(super) marker_line: usize,
    pub(super) first_line: usize,
    pub(super) range: Range<usize>,
}

/// The result of parsing one file.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) spec: RevisionSpec,
    pub(super) transaction: bool,
    /// `-- aludel:incomplete REASON`: why the revision's SQL is still to be written.
    pub(super) incomplete: Option<Box<str>>,
    pub(super) sections: Vec<SectionInfo>,
}

const HEADER_KEYS: &str = "revision, revises, message, created, branch_labels, depends_on, transaction, incomplete or doc";

/// The value of one header key and the line it was on.
#[derive(Default)]
struct Field<'a> {
    value: Option<(&'a str, usize)>,
}

#[derive(Default)]
struct Header<'a> {
    revision: Field<'a>,
    revises: Field<'a>,
    message: Field<'a>,
    created: Field<'a>,
    branch_labels: Field<'a>,
    depends_on: Field<'a>,
    transaction: Field<'a>,
    incomplete: Field<'a>,
    /// `-- aludel:doc` lines, one line of the docstring each, as written.
    doc: Vec<&'a str>,
}

/// Splits a directive line into key and value, if it is one (`-- aludel:KEY VALUE`).
pub(super) fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("--")?;
    let rest = rest
        .trim_start_matches([' ', '\t'])
        .strip_prefix("aludel:")?;
    let key_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some((&rest[..key_end], rest[key_end..].trim()))
}

/// Parses a section marker's key and value; `Ok(None)` if the key is no section.
pub(super) fn section_marker(
    key: &str,
    value: &str,
) -> Result<Option<(Direction, Option<Dialect>)>, String> {
    let direction = match key {
        "upgrade" => Direction::Upgrade,
        "downgrade" => Direction::Downgrade,
        _ => return Ok(None),
    };
    if value.is_empty() {
        return Ok(Some((direction, None)));
    }
    match Dialect::from_name(value) {
        Some(dialect) => Ok(Some((direction, Some(dialect)))),
        None => Err(format!(
            "unknown dialect '{value}' in section marker (expected postgresql, sqlite or mysql)",
            value = shown(value)
        )),
    }
}

/// The display form of a section marker, for messages.
pub(super) fn marker_text(direction: Direction, dialect: Option<Dialect>) -> String {
    let name = direction_name(direction);
    match dialect {
        Some(d) => format!("-- aludel:{name} {}", d.name()),
        None => format!("-- aludel:{name}"),
    }
}

pub(super) fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    }
}

pub(super) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

pub(super) fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// Turns a header into "what comes after the header" state, or reports the SQL that is
/// not allowed before the first section. Handles `/* */` comments spanning lines.
fn header_text_ok(mut rest: &str, in_comment: &mut Option<usize>, line: usize) -> bool {
    loop {
        if in_comment.is_some() {
            match rest.find("*/") {
                Some(i) => {
                    *in_comment = None;
                    rest = &rest[i + 2..];
                }
                None => return true,
            }
        }
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with("--") {
            return true;
        }
        match rest.strip_prefix("/*") {
            Some(after) => {
                *in_comment = Some(line);
                rest = after;
            }
            None => return false,
        }
    }
}

/// Parses the text of one migration file; `path` is for messages (the revision's
/// `origin.path` is left empty for the caller to fill).
pub(super) fn parse(path: &Path, text: &str) -> Result<Parsed, ScriptError> {
    let err = |line: usize, message: String| ScriptError::Syntax {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut header = Header::default();
    // Most files have an upgrade and a downgrade section.
    let mut sections: Vec<SectionInfo> = Vec::with_capacity(2);
    let mut header_comment: Option<usize> = None;
    // A UTF-8 byte order mark is not text.
    let mut pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line_no = 0usize;
    while pos < text.len() {
        line_no += 1;
        let line_start = pos;
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        pos = if end < text.len() { end + 1 } else { end };
        let line = text[line_start..end].trim_end_matches('\r');
        let in_sections = !sections.is_empty();
        let Some((key, value)) = directive(line).filter(|_| header_comment.is_none()) else {
            if !in_sections && !header_text_ok(line, &mut header_comment, line_no) {
                return Err(err(
                    line_no,
                    "SQL before the first section marker; put statements under \
                     '-- aludel:upgrade' or '-- aludel:downgrade'"
                        .to_string(),
                ));
            }
            continue;
        };
        if let Some((direction, dialect)) =
            section_marker(key, value).map_err(|m| err(line_no, m))?
        {
            if let Some(first) = sections
                .iter()
                .find(|s| s.direction == direction && s.dialect == dialect)
            {
                return Err(err(
                    line_no,
                    format!(
                        "duplicate section '{}' (first on line {})",
                        marker_text(direction, dialect),
                        first.marker_line
                    ),
                ));
            }
            if let Some(last) = sections.last_mut() {
                last.range.end = line_start;
            }
            sections.push(SectionInfo {
                direction,
                dialect,
                marker_line: line_no,
                first_line: line_no + 1,
                range: pos..text.len(),
            });
            continue;
        }
        if key == "doc" {
            if in_sections {
                return Err(err(
                    line_no,
                    "'-- aludel:doc' after the first section marker; keep the docstring in the header"
                        .to_string(),
                ));
            }
            // The line as written after `doc` and one space: a docstring's own
            // indentation and trailing spaces are its text.
            let after = line
                .find("aludel:doc")
                .map_or("", |at| &line[at + "aludel:doc".len()..]);
            header.doc.push(after.strip_prefix(' ').unwrap_or(after));
            continue;
        }
        let field = match key {
            "revision" => &mut header.revision,
            "revises" => &mut header.revises,
            "message" => &mut header.message,
            "created" => &mut header.created,
            "branch_labels" => &mut header.branch_labels,
            "depends_on" => &mut header.depends_on,
            "transaction" => &mut header.transaction,
            "incomplete" => &mut header.incomplete,
            _ if in_sections => {
                return Err(err(
                    line_no,
                    format!(
                        "unknown directive '-- aludel:{key}' (only '-- aludel:upgrade' and \
                         '-- aludel:downgrade' may follow the header)",
                        key = shown(key)
                    ),
                ));
            }
            _ => {
                return Err(err(
                    line_no,
                    format!(
                        "unknown header key '{key}' (expected {HEADER_KEYS})",
                        key = shown(key)
                    ),
                ));
            }
        };
        if let Some(first) = sections.first() {
            return Err(err(
                line_no,
                format!(
                    "header key '{key}' after the first section marker (line {}); \
                     move it above '{}'",
                    first.marker_line,
                    marker_text(first.direction, first.dialect)
                ),
            ));
        }
        if let Some((_, first_line)) = field.value {
            return Err(err(
                line_no,
                format!("duplicate header key '{key}' (first given on line {first_line})"),
            ));
        }
        field.value = Some((value, line_no));
    }
    if let Some(line) = header_comment {
        return Err(err(
            line,
            "unterminated block comment (opened on this line)".to_string(),
        ));
    }
    let spec = build_spec(&header, &err)?;
    if !sections.iter().any(|s| s.direction == Direction::Upgrade) {
        return Err(err(
            spec.origin.revision_line,
            "no '-- aludel:upgrade' section (an empty one makes a revision that does nothing)"
                .to_string(),
        ));
    }
    let transaction = match header.transaction.value {
        None | Some(("true", _)) => true,
        Some(("false", _)) => false,
        Some((other, line)) => {
            return Err(err(
                line,
                format!(
                    "transaction must be 'true' or 'false', not '{other}'",
                    other = shown(other)
                ),
            ));
        }
    };
    let incomplete = match header.incomplete.value {
        None => None,
        Some(("", line)) => {
            return Err(err(
                line,
                "incomplete needs a reason: '-- aludel:incomplete WHY' (the revision's SQL is still to be written)".to_string(),
            ));
        }
        Some((reason, _)) => Some(reason.into()),
    };
    Ok(Parsed {
        spec,
        transaction,
        incomplete,
        sections,
    })
}

fn build_spec(
    header: &Header<'_>,
    err: &dyn Fn(usize, String) -> ScriptError,
) -> Result<RevisionSpec, ScriptError> {
    let Some((id, revision_line)) = header.revision.value else {
        return Err(err(
            1,
            "missing '-- aludel:revision' header line".to_string(),
        ));
    };
    if id.is_empty() {
        return Err(err(revision_line, "empty revision id".to_string()));
    }
    if !is_id(id) {
        return Err(err(
            revision_line,
            format!(
                "invalid revision id '{id}' (use letters, digits and '_')",
                id = shown(id)
            ),
        ));
    }
    let list = |field: &Field<'_>,
                key: &str,
                what: &str,
                valid: fn(&str) -> bool|
     -> Result<Vec<String>, ScriptError> {
        let Some((value, line)) = field.value else {
            return Ok(Vec::new());
        };
        let mut items: Vec<String> = Vec::new();
        for item in value.split_whitespace() {
            if !valid(item) {
                return Err(err(
                    line,
                    format!("invalid {what} '{item}' in '{key}'", item = shown(item)),
                ));
            }
            if items.iter().any(|i| i == item) {
                return Err(err(
                    line,
                    format!("'{item}' is listed twice in '{key}'", item = shown(item)),
                ));
            }
            items.push(item.to_string());
        }
        if items.is_empty() {
            return Err(err(
                line,
                format!("'{key}' needs at least one value (leave the line out instead)"),
            ));
        }
        Ok(items)
    };
    let parents = list(&header.revises, "revises", "revision id", is_id)?;
    if parents.iter().any(|p| p == id) {
        return Err(err(
            header.revises.value.map_or(revision_line, |(_, l)| l),
            format!("revision '{id}' revises itself", id = shown(id)),
        ));
    }
    let branch_labels = list(
        &header.branch_labels,
        "branch_labels",
        "branch label",
        is_label,
    )?;
    let depends_on = list(
        &header.depends_on,
        "depends_on",
        "revision or label",
        is_label,
    )?;
    let created = match header.created.value {
        None => None,
        Some((value, line)) => {
            if let Err(e) = value.parse::<jiff::Timestamp>() {
                return Err(err(
                    line,
                    format!(
                        "invalid created timestamp '{value}' (expected RFC 3339, e.g. \
                         2026-01-10T14:30:00Z): {e}",
                        value = shown(value)
                    ),
                ));
            }
            Some(value.to_string())
        }
    };
    Ok(RevisionSpec {
        id: id.to_string(),
        parents,
        depends_on,
        branch_labels,
        message: header.message.value.map_or("", |(m, _)| m).to_string(),
        created,
        doc: (!header.doc.is_empty()).then(|| header.doc.join("\n")),
        origin: Origin {
            // The caller moves its own path in: no copy per file.
            path: PathBuf::new(),
            revision_line,
            revises_line: header.revises.value.map(|(_, l)| l),
            depends_on_line: header.depends_on.value.map(|(_, l)| l),
            branch_labels_line: header.branch_labels.value.map(|(_, l)| l),
        },
    })
}
