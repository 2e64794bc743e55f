//! User text inside messages. Ids, header lines, targets and statements come from
//! files and command lines and can be any length and hold any character: a message
//! shows a recognisable excerpt, cut with a marker that says how long the whole was,
//! and control characters as visible escapes, so that none reaches a terminal raw
//! (an ESC could recolour or rewrite it, a CR overwrite the line).

use std::fmt::Write as _;

/// The most characters of one value (an id, a header key or value, a target) shown.
pub const VALUE_CHARS: usize = 120;
/// The most characters of one line of a statement or a database message shown.
pub const LINE_CHARS: usize = 300;
/// The most lines of a statement shown: enough to recognise it.
pub const STATEMENT_LINES: usize = 6;
/// The most lines of a database's message shown.
pub const MESSAGE_LINES: usize = 20;

/// One value for a message, on one line: control characters (newline and tab
/// included) escaped, and cut after [`VALUE_CHARS`] characters with a marker.
///
/// ```
/// assert_eq!(aludel::text::value("a\u{1b}[31mb\r"), "a\\u{1b}[31mb\\r");
/// let long = "x".repeat(1000);
/// assert_eq!(aludel::text::value(&long), format!("{}… (1000 bytes, cut)", "x".repeat(120)));
/// ```
pub fn value(text: &str) -> String {
    one_line(text, VALUE_CHARS)
}

/// As [`value`], cut after `max_chars` characters instead.
pub fn one_line(text: &str, max_chars: usize) -> String {
    line(text, max_chars, true)
}

/// A statement (or any multi-line text) for a message: its first
/// [`STATEMENT_LINES`] lines, each cut after [`LINE_CHARS`] characters, control
/// characters other than tab escaped; when anything was left out, a last line
/// `… (N bytes, cut)` gives the whole length. Lines are joined with `\n`.
pub fn excerpt(text: &str) -> String {
    lines(text, STATEMENT_LINES)
}

/// A database's message for a message of ours: as [`excerpt`], but up to
/// [`MESSAGE_LINES`] lines, as detail and hint lines matter there.
pub fn message(text: &str) -> String {
    lines(text, MESSAGE_LINES)
}

fn lines(text: &str, max_lines: usize) -> String {
    let mut lines = text.lines();
    let mut shown: Vec<String> = lines
        .by_ref()
        .take(max_lines)
        .map(|l| line(l, LINE_CHARS, false))
        .collect();
    let cut = lines.next().is_some();
    if cut {
        shown.push(marker(text.len()));
    }
    shown.join("\n")
}

/// One line: escaped, cut after `max` characters with a marker giving its length.
fn line(text: &str, max: usize, escape_tab: bool) -> String {
    let mut out = String::with_capacity(text.len().min(max + 32));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push_str(&marker(text.len()));
            break;
        }
        push_escaped(&mut out, c, escape_tab);
    }
    out
}

fn marker(bytes: usize) -> String {
    format!("… ({bytes} bytes, cut)")
}

fn push_escaped(out: &mut String, c: char, escape_tab: bool) {
    match c {
        '\t' if !escape_tab => out.push(c),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// `text` with every control character but newline and tab escaped: a whole message
/// made safe for a terminal, its lines kept.
pub fn terminal_safe(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            c => push_escaped(&mut out, c, false),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_pass_unchanged() {
        assert_eq!(value("r0100"), "r0100");
        assert_eq!(value(""), "");
        assert_eq!(value(&"é".repeat(VALUE_CHARS)), "é".repeat(VALUE_CHARS));
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let id = "a".repeat(100_000);
        assert_eq!(
            value(&id),
            format!("{}… (100000 bytes, cut)", "a".repeat(VALUE_CHARS))
        );
        // Cut on a character, never inside one.
        let wide = "é".repeat(VALUE_CHARS + 1);
        assert_eq!(
            value(&wide),
            format!("{}… ({} bytes, cut)", "é".repeat(VALUE_CHARS), wide.len())
        );
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(value("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(value("a\r\nb\tc\u{7f}\u{9b}"), "a\\r\\nb\\tc\\u{7f}\\u{9b}");
        assert_eq!(
            excerpt("SELECT\t1\r\n\u{1b}[2J;"),
            // `lines` takes CRLF as a line end.
            "SELECT\t1\n\\u{1b}[2J;"
        );
        assert_eq!(terminal_safe("a\u{1b}[1m\n\tb\r"), "a\\u{1b}[1m\n\tb\\r");
        assert_eq!(terminal_safe("plain\nlines"), "plain\nlines");
    }

    #[test]
    fn statements_keep_their_first_lines() {
        let short = "CREATE TABLE t (\n    id int\n)";
        assert_eq!(excerpt(short), short);
        let long: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            excerpt(&long),
            "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n… (71 bytes, cut)"
        );
        let one_line = format!("INSERT INTO t VALUES ('{}')", "x".repeat(5_000_000));
        let shown = excerpt(&one_line);
        assert!(shown.starts_with("INSERT INTO t VALUES ('xxx"), "{shown}");
        assert!(shown.ends_with("… (5000025 bytes, cut)"), "{shown}");
        assert!(shown.len() < 400, "{}", shown.len());
    }
}
