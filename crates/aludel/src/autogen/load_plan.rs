//! Which statements of a PostgreSQL desired schema may run side by side, over several
//! sessions of the shadow database, and still leave what running them one after the
//! other leaves.
//!
//! Loading the desired schema is most of a cold `check`: the server builds every
//! table, index and constraint, one statement at a time, on one core. Statements that
//! touch different objects can run at once on other sessions. Two statements keep
//! their order when one of them changes an object (it creates, alters, comments on,
//! grants on or drops it) whose name the other mentions anywhere, even inside a string
//! or a function body. Names are compared by prefix, so that `CREATE TABLE t` and a
//! later `ALTER SEQUENCE t_id_seq` keep their order, and so do two tables whose
//! generated index and constraint names could collide (`a` and `a_b`). Statements that
//! set the session run on every session, in the file's order with everything else; a
//! statement this reading does not know runs alone, after everything before it and
//! before everything after it. A file that makes temporary objects, controls
//! transactions or writes names in Unicode escapes is loaded one statement after the
//! other ([`plan`] gives `None`).
//!
//! This is a lexer, not a parser: it over-approximates what a statement touches, which
//! costs only parallelism. Schemas (which change where unqualified names go) are made,
//! altered and dropped alone; files with table inheritance, partitions or event
//! triggers (whose effects reach objects no statement names) load one statement after
//! the other. What remains order-dependent is a generated name chosen around a
//! collision (`t_x_idx1`); the caller checks for such names after a parallel load and
//! loads again, one by one, if it finds one ([`names_may_collide`]).

use std::collections::{BTreeMap, BTreeSet};

/// How the statements of a desired schema are run: in the order of the parts, each
/// part's statements as its dependencies allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadPlan {
    pub(crate) parts: Vec<Part>,
}

/// A stretch of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Statements `first..first + deps.len()`, each of which may run once the
    /// statements listed for it (indexes into the file) have run, on any session.
    Together {
        /// The first statement's index in the file.
        first: usize,
        /// For each statement, the earlier statements of this part it waits for.
        deps: Vec<Vec<usize>>,
    },
    /// A statement that sets the session: run on every session.
    Everywhere(usize),
    /// A statement run alone, on the first session.
    Alone(usize),
}

/// How a statement is run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Beside others, changing the objects named here (lower-cased).
    Changes(Vec<String>),
    Everywhere,
    Alone,
    /// The whole file must run one statement after the other.
    Serial,
}

/// One token: a word (keyword or identifier), the inside of a quoted identifier, the
/// inside of a string or dollar-quoted body, or any other character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Text(String),
    Other(char),
}

/// PostgreSQL cuts identifiers to 63 bytes.
const NAME_BYTES: usize = 63;

/// The plan for `statements`, or `None` when they must run one after the other.
pub(crate) fn plan(statements: &[&str]) -> Option<LoadPlan> {
    let mut parts = Vec::new();
    let mut group = Group::new(0);
    for (i, sql) in statements.iter().enumerate() {
        let tokens = tokens(sql)?;
        match kind(&tokens) {
            Kind::Serial => return None,
            Kind::Changes(changed) => {
                let mentioned: BTreeSet<String> = tokens.iter().flat_map(words).collect();
                group.add(i, &changed, &mentioned);
            }
            Kind::Everywhere | Kind::Alone => {
                let next = Group::new(i + 1);
                let done = std::mem::replace(&mut group, next);
                if !done.deps.is_empty() {
                    parts.push(done.into_part());
                }
                parts.push(match kind(&tokens) {
                    Kind::Everywhere => Part::Everywhere(i),
                    _ => Part::Alone(i),
                });
            }
        }
    }
    if !group.deps.is_empty() {
        parts.push(group.into_part());
    }
    Some(LoadPlan { parts })
}

/// Whether `text` (an inspection of what a parallel load made) holds a name that
/// PostgreSQL may have chosen around a collision, `<base>_<label><n>`: which of two
/// colliding statements got the number depends on which ran first.
pub(crate) fn names_may_collide(text: &str) -> bool {
    // Names PostgreSQL chooses among a schema's relations and statistics objects. A
    // check, foreign key or not-null constraint is named among its table's own, which
    // statements naming that table change in the file's order.
    const LABELS: [&str; 6] = ["_pkey", "_key", "_idx", "_excl", "_seq", "_stat"];
    let bytes = text.as_bytes();
    LABELS.iter().any(|label| {
        text.match_indices(label).any(|(at, _)| {
            let rest = &bytes[at + label.len()..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            digits > 0
                && rest
                    .get(digits)
                    .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$'))
        })
    })
}

/// The statements of one [`Part::Together`] being planned.
struct Group {
    first: usize,
    deps: Vec<Vec<usize>>,
    /// Every name changed or mentioned so far: the last statement that changed it,
    /// and those that mentioned it since.
    names: BTreeMap<String, Uses>,
}

#[derive(Default)]
struct Uses {
    changed_by: Option<usize>,
    mentioned_by: Vec<usize>,
}

impl Group {
    fn new(first: usize) -> Group {
        Group {
            first,
            deps: Vec::new(),
            names: BTreeMap::new(),
        }
    }

    fn into_part(self) -> Part {
        Part::Together {
            first: self.first,
            deps: self.deps,
        }
    }

    /// Adds statement `i`, which changes `changed` and mentions `mentioned`.
    fn add(&mut self, i: usize, changed: &[String], mentioned: &BTreeSet<String>) {
        let mut deps = BTreeSet::new();
        for name in changed {
            // Names this one is a prefix of, and names that are a prefix of it.
            let related: Vec<String> = self
                .names
                .range(name.clone()..)
                .take_while(|(k, _)| k.starts_with(name.as_str()))
                .map(|(k, _)| k.clone())
                .chain(
                    prefixes(name)
                        .filter(|p| self.names.contains_key(*p))
                        .map(str::to_string),
                )
                .collect();
            for key in related {
                if let Some(uses) = self.names.get_mut(&key) {
                    deps.extend(uses.changed_by);
                    deps.extend(uses.mentioned_by.iter().copied());
                    // Whoever changes `key` later waits for this one, and so for
                    // those it waits for.
                    uses.mentioned_by = vec![i];
                }
            }
        }
        for name in mentioned {
            for prefix in prefixes(name) {
                if let Some(uses) = self.names.get(prefix) {
                    deps.extend(uses.changed_by);
                }
            }
            if !changed.contains(name) {
                self.names
                    .entry(name.clone())
                    .or_default()
                    .mentioned_by
                    .push(i);
            }
        }
        for name in changed {
            let uses = self.names.entry(name.clone()).or_default();
            uses.changed_by = Some(i);
            uses.mentioned_by.clear();
        }
        deps.remove(&i);
        self.deps.push(deps.into_iter().collect());
    }
}

/// Every non-empty prefix of `name`, itself included.
fn prefixes(name: &str) -> impl Iterator<Item = &str> {
    name.char_indices()
        .map(|(at, c)| &name[..at + c.len_utf8()])
}

/// The names a token mentions, lower-cased and cut as PostgreSQL cuts them: a word,
/// a quoted identifier, or every word inside a string or body.
fn words(token: &Token) -> Vec<String> {
    match token {
        Token::Word(w) | Token::Quoted(w) => vec![name(w)],
        Token::Text(t) => t
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .filter(|w| !w.is_empty())
            .map(name)
            .collect(),
        Token::Other(_) => Vec::new(),
    }
}

/// `word` as compared here: lower case, every letter (a quoted `"Users"` and `users`
/// count as one name, as do `Ä` and `ä`, which a single-byte server encoding folds:
/// that only costs parallelism), at most [`NAME_BYTES`] bytes.
fn name(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut end = lower.len().min(NAME_BYTES);
    while !lower.is_char_boundary(end) {
        end -= 1;
    }
    lower[..end].to_string()
}

/// Every word and quoted identifier of `sql` as written (case kept, quotes taken
/// off), leaving out strings, bodies and comments; `None` where [`tokens`] is not
/// sure where they end.
pub(crate) fn identifiers(sql: &str) -> Option<std::collections::BTreeSet<String>> {
    Some(
        tokens(sql)?
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) | Token::Quoted(w) => Some(w),
                Token::Text(_) | Token::Other(_) => None,
            })
            .collect(),
    )
}

/// Splits `sql` into tokens; `None` for what this lexer does not read with certainty
/// (a Unicode escape, an unterminated quote).
fn tokens(sql: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '\'' {
            let (text, end) = quoted(&chars, i, '\'', false)?;
            out.push(Token::Text(text));
            i = end;
        } else if c == '"' {
            let (text, end) = quoted(&chars, i, '"', false)?;
            out.push(Token::Quoted(text));
            i = end;
        } else if c == '$' {
            // (A `$` inside a name was read with the name.)
            // `$tag$ ... $tag$`; `$1` is a parameter.
            let tag_end = chars[i + 1..]
                .iter()
                .position(|&ch| !(ch.is_alphanumeric() || ch == '_'))
                .map_or(chars.len(), |n| i + 1 + n);
            if chars.get(tag_end) != Some(&'$')
                || chars.get(i + 1).is_some_and(char::is_ascii_digit)
            {
                out.push(Token::Other(c));
                i += 1;
                continue;
            }
            let tag: String = chars[i..=tag_end].iter().collect();
            let body_start = tag_end + 1;
            let rest: String = chars[body_start..].iter().collect();
            let found = rest.find(&tag)?;
            out.push(Token::Text(rest[..found].to_string()));
            i = body_start + rest[..found].chars().count() + tag.chars().count();
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match chars.get(i) {
                // U&'...' and U&"...": names this lexer does not decode.
                Some('&') if word.eq_ignore_ascii_case("u") => return None,
                // E'...' takes backslash escapes.
                Some('\'') if word.eq_ignore_ascii_case("e") => {
                    let (text, end) = quoted(&chars, i, '\'', true)?;
                    out.push(Token::Text(text));
                    i = end;
                }
                // B'...', X'...', N'...': a constant, read as a string.
                Some('\'') if ["b", "x", "n"].iter().any(|p| word.eq_ignore_ascii_case(p)) => {
                    let (text, end) = quoted(&chars, i, '\'', false)?;
                    out.push(Token::Text(text));
                    i = end;
                }
                _ => out.push(Token::Word(word)),
            }
        } else {
            out.push(Token::Other(c));
            i += 1;
        }
    }
    Some(out)
}

/// The inside of the quote opening at `start` and the index after its end; a doubled
/// quote is one, and with `backslash` a backslash escapes the next character.
fn quoted(chars: &[char], start: usize, quote: char, backslash: bool) -> Option<(String, usize)> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        if backslash && c == '\\' {
            text.push(*chars.get(i + 1)?);
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                text.push(quote);
                i += 2;
            } else {
                return Some((text, i + 1));
            }
        } else {
            text.push(c);
            i += 1;
        }
    }
}

/// How the statement of `tokens` runs, and what it changes.
fn kind(tokens: &[Token]) -> Kind {
    let keyword = |at: usize| match tokens.get(at) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    let is = |at: usize, k: &str| keyword(at) == k;
    // Temporary objects belong to one session: the others would not see them.
    if tokens.iter().any(
        |t| matches!(t, Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case("pg_temp")),
    ) {
        return Kind::Serial;
    }
    // What is written onto a parent table reaches its children (inheritance,
    // partitions), which the statement does not name; an event trigger fires on every
    // later statement, whatever its function touches.
    if (0..tokens.len()).any(|k| {
        let w = keyword(k);
        matches!(w.as_str(), "INHERITS" | "INHERIT" | "ATTACH" | "DETACH")
            || (w == "PARTITION" && is(k + 1, "OF"))
            || (w == "EVENT" && is(k + 1, "TRIGGER"))
    }) {
        return Kind::Serial;
    }
    match keyword(0).as_str() {
        "SET" | "RESET" | "DISCARD" | "LOAD" => Kind::Everywhere,
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE"
        | "PREPARE" => Kind::Serial,
        "SELECT" => select_kind(tokens),
        "CREATE" => create_kind(tokens),
        "ALTER" => {
            let mut at = 1;
            let (object, after) = object_keyword(tokens, at);
            let Some(object) = object else {
                return Kind::Alone;
            };
            if object == "SCHEMA" {
                return Kind::Alone;
            }
            if matches!(object, "TRIGGER" | "POLICY") {
                return named_on(tokens, after);
            }
            at = skip(tokens, after, &["IF", "EXISTS"]);
            at = skip(tokens, at, &["ONLY"]);
            if is(at, "ALL") {
                return Kind::Alone;
            }
            let Some((names, _)) = qualified(tokens, at) else {
                return Kind::Alone;
            };
            let mut changed = vec![last(&names)];
            // `RENAME ... TO new`: the new name is taken too.
            if tokens
                .iter()
                .any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("RENAME")))
                && let Some(to) = (0..tokens.len()).rev().find(|&k| is(k, "TO"))
                && let Some((new, _)) = qualified(tokens, to + 1)
            {
                changed.push(last(&new));
            }
            Kind::Changes(changed)
        }
        "COMMENT" if is(1, "ON") => {
            let (object, after) = object_keyword(tokens, 2);
            match object {
                Some("COLUMN") => match qualified(tokens, after) {
                    Some((names, _)) if names.len() >= 2 => {
                        Kind::Changes(vec![names[names.len() - 2].clone()])
                    }
                    _ => Kind::Alone,
                },
                Some("CONSTRAINT" | "TRIGGER" | "POLICY" | "RULE") => named_on(tokens, after),
                Some(_) => match qualified(tokens, after) {
                    Some((names, _)) => Kind::Changes(vec![last(&names)]),
                    None => Kind::Alone,
                },
                None => Kind::Alone,
            }
        }
        "GRANT" | "REVOKE" => grant_kind(tokens),
        "DROP" => {
            let (object, after) = object_keyword(tokens, 1);
            let cascade = tokens
                .iter()
                .any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("CASCADE")));
            match object {
                Some("SCHEMA") => Kind::Alone,
                Some("TRIGGER" | "POLICY" | "RULE") if !cascade => {
                    named_on(tokens, skip(tokens, after, &["IF", "EXISTS"]))
                }
                Some(_) if !cascade => {
                    names_list(tokens, skip(tokens, after, &["IF", "EXISTS"]), &[])
                        .map_or(Kind::Alone, Kind::Changes)
                }
                _ => Kind::Alone,
            }
        }
        // Statements that change data or storage, not a session: run alone.
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "ANALYZE" | "ANALYSE"
        | "VACUUM" | "CLUSTER" | "REINDEX" | "REFRESH" | "SECURITY" | "IMPORT" | "LOCK"
        | "NOTIFY" | "CHECKPOINT" => Kind::Alone,
        // Anything else (`DO`, `CALL`, a query) may change its session in ways the
        // others would not share.
        _ => Kind::Serial,
    }
}

/// The kinds of object this reading knows, and the index after the kind's words.
fn object_keyword(tokens: &[Token], at: usize) -> (Option<&'static str>, usize) {
    const KINDS: [(&str, &[&str]); 16] = [
        ("TABLE", &["TABLE"]),
        ("MATERIALIZED VIEW", &["MATERIALIZED", "VIEW"]),
        ("VIEW", &["VIEW"]),
        ("INDEX", &["INDEX"]),
        ("SEQUENCE", &["SEQUENCE"]),
        ("TYPE", &["TYPE"]),
        ("DOMAIN", &["DOMAIN"]),
        ("FUNCTION", &["FUNCTION"]),
        ("PROCEDURE", &["PROCEDURE"]),
        ("SCHEMA", &["SCHEMA"]),
        ("COLLATION", &["COLLATION"]),
        ("STATISTICS", &["STATISTICS"]),
        ("TRIGGER", &["TRIGGER"]),
        ("POLICY", &["POLICY"]),
        ("RULE", &["RULE"]),
        ("COLUMN", &["COLUMN"]),
    ];
    let word = |k: usize| match tokens.get(k) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    if word(at) == "CONSTRAINT" {
        return (Some("CONSTRAINT"), at + 1);
    }
    for (name, words) in KINDS {
        if words.iter().enumerate().all(|(k, w)| word(at + k) == *w) {
            return (Some(name), at + words.len());
        }
    }
    (None, at)
}

/// `at` moved past `words` where they follow, in order.
fn skip(tokens: &[Token], at: usize, words: &[&str]) -> usize {
    let all = words.iter().enumerate().all(
        |(k, w)| matches!(tokens.get(at + k), Some(Token::Word(t)) if t.eq_ignore_ascii_case(w)),
    );
    if all { at + words.len() } else { at }
}

/// A possibly qualified name at `at` (`a`, `s.a`, `"S"."A"`) and the index after it.
fn qualified(tokens: &[Token], at: usize) -> Option<(Vec<String>, usize)> {
    let mut names = Vec::new();
    let mut i = at;
    loop {
        match tokens.get(i)? {
            Token::Word(w) | Token::Quoted(w) => names.push(name(w)),
            _ => return None,
        }
        i += 1;
        if tokens.get(i) == Some(&Token::Other('.')) {
            i += 1;
        } else {
            return Some((names, i));
        }
    }
}

fn last(names: &[String]) -> String {
    names.last().cloned().unwrap_or_default()
}

/// `name ... ON table`: both change.
fn named_on(tokens: &[Token], at: usize) -> Kind {
    let Some((name, after)) = qualified(tokens, at) else {
        return Kind::Alone;
    };
    let on = (after..tokens.len())
        .find(|&k| matches!(&tokens[k], Token::Word(w) if w.eq_ignore_ascii_case("ON")));
    match on.and_then(|k| qualified(tokens, skip(tokens, k + 1, &["ONLY"]))) {
        Some((table, _)) => Kind::Changes(vec![last(&name), last(&table)]),
        None => Kind::Alone,
    }
}

/// Comma-separated names from `at` (a function's argument list skipped) up to a word
/// of `until` or the end; `None` if anything else is there.
fn names_list(tokens: &[Token], at: usize, until: &[&str]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut i = at;
    loop {
        let (names, mut after) = qualified(tokens, i)?;
        out.push(last(&names));
        if tokens.get(after) == Some(&Token::Other('(')) {
            let mut depth = 0;
            while let Some(t) = tokens.get(after) {
                after += 1;
                match t {
                    Token::Other('(') => depth += 1,
                    Token::Other(')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        match tokens.get(after) {
            Some(Token::Other(',')) => i = after + 1,
            None => return Some(out),
            Some(Token::Word(w)) if until.iter().any(|u| w.eq_ignore_ascii_case(u)) => {
                return Some(out);
            }
            Some(Token::Word(w))
                if ["CASCADE", "RESTRICT"]
                    .iter()
                    .any(|u| w.eq_ignore_ascii_case(u)) =>
            {
                return Some(out);
            }
            _ => return None,
        }
    }
}

/// `SELECT pg_catalog.set_config(...)` sets the session; `SELECT
/// pg_catalog.setval('name', ...)` changes a sequence; any other query may call a
/// function that changes its session: the file runs one statement after the other.
fn select_kind(tokens: &[Token]) -> Kind {
    let Some((function, after)) = qualified(tokens, 1) else {
        return Kind::Serial;
    };
    let function: Vec<&str> = function.iter().map(String::as_str).collect();
    let called = |f: &str| function == [f] || function == ["pg_catalog", f];
    if tokens.get(after) != Some(&Token::Other('(')) {
        return Kind::Serial;
    }
    // One call and nothing after it: `SELECT f(...), g()` or `... FROM ...` may do more.
    let mut depth = 0;
    let mut end = None;
    for (k, t) in tokens.iter().enumerate().skip(after) {
        match t {
            Token::Other('(') => depth += 1,
            Token::Other(')') => {
                depth -= 1;
                if depth == 0 {
                    end = Some(k);
                    break;
                }
            }
            _ => {}
        }
    }
    if end.is_none_or(|k| k + 1 != tokens.len()) {
        return Kind::Serial;
    }
    if called("set_config") {
        return Kind::Everywhere;
    }
    if called("setval")
        && let Some(Token::Text(sequence)) = tokens.get(after + 1)
    {
        let names: Vec<String> = sequence
            .split('.')
            .map(|s| name(s.trim_matches('"')))
            .collect();
        return Kind::Changes(vec![last(&names)]);
    }
    Kind::Serial
}

/// `CREATE ...`: what it makes (and, for an index, trigger, policy or rule, the table).
fn create_kind(tokens: &[Token]) -> Kind {
    let mut at = 1;
    for words in [
        &["OR", "REPLACE"][..],
        &["UNIQUE"],
        &["UNLOGGED"],
        &["RECURSIVE"],
    ] {
        at = skip(tokens, at, words);
    }
    let word = |k: usize| match tokens.get(k) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    if matches!(word(at).as_str(), "TEMP" | "TEMPORARY" | "GLOBAL" | "LOCAL") {
        return Kind::Serial;
    }
    let (object, after) = object_keyword(tokens, at);
    match object {
        Some("INDEX") => {
            let mut at = skip(tokens, after, &["CONCURRENTLY"]);
            at = skip(tokens, at, &["IF", "NOT", "EXISTS"]);
            let mut changed = Vec::new();
            if word(at) != "ON" {
                let Some((names, after)) = qualified(tokens, at) else {
                    return Kind::Alone;
                };
                changed.push(last(&names));
                at = after;
            }
            if word(at) != "ON" {
                return Kind::Alone;
            }
            match qualified(tokens, skip(tokens, at + 1, &["ONLY"])) {
                Some((table, _)) => {
                    changed.push(last(&table));
                    Kind::Changes(changed)
                }
                None => Kind::Alone,
            }
        }
        Some("TRIGGER" | "POLICY" | "RULE") => named_on(tokens, after),
        Some("CONSTRAINT") if word(after) == "TRIGGER" => named_on(tokens, after + 1),
        Some("COLUMN" | "CONSTRAINT") | None => Kind::Alone,
        Some(_) => {
            let at = skip(tokens, after, &["IF", "NOT", "EXISTS"]);
            // `CREATE SCHEMA s CREATE TABLE t ...` makes what it does not name.
            let nested = tokens[at..]
                .iter()
                .any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("CREATE")));
            // A new schema may come first in the search path: what is made next
            // without a schema name goes there only once it exists.
            if word(at) == "AUTHORIZATION" || object == Some("SCHEMA") || nested {
                return Kind::Alone;
            }
            match qualified(tokens, at) {
                Some((names, _)) => Kind::Changes(vec![last(&names)]),
                None => Kind::Alone,
            }
        }
    }
}

/// `GRANT ... ON [kind] names TO ...` and `REVOKE ... ON ... FROM ...` change the
/// objects named; a grant of a role, or on every table of a schema, runs alone.
fn grant_kind(tokens: &[Token]) -> Kind {
    let Some(on) = tokens
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("ON")))
    else {
        return Kind::Alone;
    };
    let mut at = on + 1;
    for kind in [
        "TABLE",
        "SEQUENCE",
        "FUNCTION",
        "PROCEDURE",
        "ROUTINE",
        "SCHEMA",
        "TYPE",
        "DOMAIN",
    ] {
        at = skip(tokens, at, &[kind]);
    }
    if matches!(tokens.get(at), Some(Token::Word(w)) if ["ALL", "DATABASE", "LANGUAGE", "FOREIGN", "LARGE", "TABLESPACE", "PARAMETER"].iter().any(|k| w.eq_ignore_ascii_case(k)))
    {
        return Kind::Alone;
    }
    names_list(tokens, at, &["TO", "FROM"]).map_or(Kind::Alone, Kind::Changes)
}

#[cfg(test)]
mod tests;
