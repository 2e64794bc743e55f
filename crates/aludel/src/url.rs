//! Database URLs: parsing, the dialect they name, and redaction of secrets.
//!
//! Accepts the URLs of existing Alembic deployments unchanged: a SQLAlchemy driver
//! suffix (`postgresql+psycopg2://`) is accepted and ignored. A password never leaves
//! this module in clear text except through [`DatabaseUrl::password`], which only
//! drivers call.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The SQL dialect a URL speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite (embedded).
    Sqlite,
    /// MySQL or MariaDB.
    Mysql,
}

impl Dialect {
    /// The name used in section headers (`-- aludel:upgrade postgresql`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgresql",
            Dialect::Sqlite => "sqlite",
            Dialect::Mysql => "mysql",
        }
    }

    /// The TCP port a server of this dialect listens on when a URL names none
    /// (`None` for SQLite, which has no server).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Dialect::Postgres => Some(5432),
            Dialect::Sqlite => None,
            Dialect::Mysql => Some(3306),
        }
    }

    /// The command that prints a database's schema with this dialect's own tools, for
    /// a message that says where a desired schema can come from.
    pub fn schema_dump_command(self) -> &'static str {
        match self {
            Dialect::Postgres => "pg_dump --schema-only",
            Dialect::Sqlite => "sqlite3 app.db .schema",
            Dialect::Mysql => "mysqldump --no-data --skip-comments",
        }
    }

    /// Parses a dialect name as written in section headers and URLs.
    ///
    /// ```
    /// use aludel::url::Dialect;
    /// assert_eq!(Dialect::from_name("postgres"), Some(Dialect::Postgres));
    /// assert_eq!(Dialect::from_name("mariadb"), Some(Dialect::Mysql));
    /// ```
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" | "pg" => Some(Dialect::Postgres),
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// `sqlite://:memory:` or `sqlite://`.
    Memory,
    /// A file; relative paths are resolved against the config file's folder by
    /// [`DatabaseUrl::resolve_relative_to`].
    File(PathBuf),
}

/// A parsed database URL.
///
/// `Display` prints it with the password replaced by `***`.
///
/// ```
/// use aludel::url::{DatabaseUrl, Dialect};
/// let url: DatabaseUrl = "postgresql+psycopg2://app:s3cret@db:5432/app?sslmode=require".parse().unwrap();
/// assert_eq!(url.dialect(), Dialect::Postgres);
/// assert_eq!(url.to_string(), "postgresql+psycopg2://app:***@db:5432/app?sslmode=require");
/// assert_eq!(url.password(), Some("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw_scheme: String,
    dialect: Dialect,
    user: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    sqlite: Option<SqliteLocation>,
    params: Vec<(String, String)>,
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output is redacted too: it ends up in logs.
        write!(f, "DatabaseUrl({self})")
    }
}

/// A URL that could not be understood. The URL in the message is redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid database URL '{url}': {reason}")]
#[non_exhaustive]
pub struct UrlError {
    /// The URL with its password replaced by `***`.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::str::FromStr for DatabaseUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

fn parse(input: &str) -> Result<DatabaseUrl, UrlError> {
    let err = |reason: &str| UrlError {
        url: redact_url(input),
        reason: reason.to_string(),
    };
    // A Secret written with `echo` ends in a newline: the ends are never part of a URL.
    let input = input.trim();
    if input.is_empty() {
        return Err(err("the URL is empty"));
    }
    let (scheme, rest) = input
        .split_once("://")
        .ok_or_else(|| err("expected SCHEME://..., e.g. postgresql://user@host/db"))?;
    let base_scheme = scheme.split('+').next().unwrap_or(scheme);
    let dialect = match base_scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => Dialect::Postgres,
        "sqlite" | "sqlite3" => Dialect::Sqlite,
        "mysql" | "mariadb" => Dialect::Mysql,
        // Quoted only when it looks like a scheme: anything else may be a secret.
        other if other.chars().all(|c| c.is_ascii_alphanumeric()) => {
            return Err(err(&format!(
                "unknown scheme '{other}' (expected postgresql, postgres, sqlite, mysql or mariadb)"
            )));
        }
        _ => {
            return Err(err(
                "unknown scheme (expected postgresql, postgres, sqlite, mysql or mariadb)",
            ));
        }
    };
    // The user information comes first: a password may hold '/' and '?' (as
    // SQLAlchemy accepts), so the host, path and query are split after it.
    let (userinfo, rest) = match split_userinfo(rest) {
        Some((u, r)) => (Some(u), r),
        None => (None, rest),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut params = Vec::new();
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            // No parameter is a bare flag: a segment without '=' is the tail of a value
            // holding a raw '&' (`password=a&b`), which would otherwise be shown.
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                err("a query parameter has no '=' (write '&' inside a value as %26)")
            })?;
            // An empty name is most likely `&=` inside a password.
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(err(
                    "a query parameter's name is empty or not letters, digits, '_', '-' and '.' (is an '@', '/', '?' or '&' of the password not percent-encoded?)",
                ));
            }
            params.push((
                percent_decode(k).map_err(|e| err(&e))?,
                percent_decode(v).map_err(|_| err(PERCENT_IN_VALUE))?,
            ));
        }
    }
    let mut url = DatabaseUrl {
        raw_scheme: scheme.to_string(),
        dialect,
        user: None,
        password: None,
        host: None,
        port: None,
        database: None,
        sqlite: None,
        params,
    };
    if dialect == Dialect::Sqlite {
        // sqlite:///relative.db, sqlite:////absolute.db, sqlite://:memory:, sqlite://
        let location = if rest.is_empty() || rest == ":memory:" || rest == "/:memory:" {
            SqliteLocation::Memory
        } else if let Some(path) = rest.strip_prefix('/') {
            if path.is_empty() {
                SqliteLocation::Memory
            } else {
                SqliteLocation::File(PathBuf::from(percent_decode(path).map_err(|e| err(&e))?))
            }
        } else {
            return Err(err(
                "SQLite URLs look like sqlite:///relative.db, sqlite:////absolute.db or sqlite://:memory:",
            ));
        };
        url.sqlite = Some(location);
        return Ok(url);
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            url.user = Some(percent_decode(user).map_err(|e| err(&e))?);
        }
        if let Some(p) = password {
            // A decoding error must not quote the password back.
            url.password = Some(
                percent_decode(p)
                    .map_err(|_| err("the password has a '%' not followed by two hex digits"))?,
            );
        }
    }
    if authority.contains(char::is_whitespace)
        || path.contains('@')
        || path.contains(char::is_whitespace)
    {
        // Only a password can put these here: one holding an '@' and then a '/' or
        // '?' unencoded, or one holding spaces with the '@' before it missing.
        return Err(err(
            "the host or database name holds '@' or whitespace; percent-encode '@', '/', '?' and spaces in a password (%40, %2F, %3F, %20)",
        ));
    }
    let hostport = authority;
    let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
        let (h, after) = stripped
            .split_once(']')
            .ok_or_else(|| err("unterminated '[' in IPv6 host"))?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.contains(':') && !hostport.starts_with('[') {
        // `user:password` without its '@', or an IPv6 address without brackets.
        return Err(err(
            "the host holds ':' (an IPv6 address goes in brackets: [::1]:5432)",
        ));
    }
    if !host.is_empty() {
        url.host = Some(percent_decode(host).map_err(|e| err(&e))?);
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        url.port = Some(parse_port(p).map_err(|reason| err(&reason))?);
    }
    if !path.is_empty() {
        url.database = Some(percent_decode(path).map_err(|e| err(&e))?);
    }
    Ok(url)
}

/// Why a parameter value did not decode; the value itself is never quoted.
const PERCENT_IN_VALUE: &str = "a query parameter's value has a '%' not followed by two hex digits";

/// A port from 1 to 65535. Port 0 would let the system pick one, never what was meant.
/// Text that is not digits is not quoted back: with the '@' missing, it is a password.
fn parse_port(text: &str) -> Result<u16, String> {
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return Err("the port is not a number from 1 to 65535".into());
    }
    match text.parse::<u16>() {
        Ok(0) => Err("port 0 is not a port a server listens on; give one from 1 to 65535".into()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("port '{text}' is not a number from 1 to 65535")),
    }
}

/// Splits `user[:password]@rest`: the user name holds no ':', '/', '?', '#', '@' or
/// whitespace; the password may hold anything, a raw '@' included, so the user
/// information runs to the last '@' before the host's end (the first '/' or '?' after
/// the first '@'). `None` when the text has no user information.
fn split_userinfo(text: &str) -> Option<(&str, &str)> {
    let first = text.find('@')?;
    let host_end = text[first..]
        .find(['/', '?'])
        .map_or(text.len(), |i| first + i);
    let at = text[..host_end].rfind('@').unwrap_or(first);
    let userinfo = &text[..at];
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    if user.contains(['/', '?', '#'])
        || user.chars().any(char::is_whitespace)
        || is_host_port_query(userinfo)
    {
        return None;
    }
    Some((userinfo, &text[at + 1..]))
}

/// Whether `text` reads as `host:PORT[/db]?name=`: then the '@' after it is inside
/// a query value (`?password=p@ss`), not the end of a password.
fn is_host_port_query(text: &str) -> bool {
    let Some((_, after)) = text.split_once(':') else {
        return false;
    };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &after[digits..];
    // `host:?name=` has no port at all: that is `user:password` with a '?' in it.
    if digits == 0 && rest.starts_with('?') {
        return false;
    }
    let rest = match rest.strip_prefix('/') {
        Some(path) => path.find('?').map_or("", |q| &path[q..]),
        None => rest,
    };
    rest.strip_prefix('?').is_some_and(|query| {
        let name = query.bytes().take_while(|&b| is_name_byte(b)).count();
        name > 0 && query[name..].starts_with('=')
    })
}

fn percent_decode(s: &str) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "a '%' must be followed by two hex digits".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoded text is not UTF-8".to_string())
}

/// What a secret is replaced with.
const MASK: &str = "***";

/// Masks every secret in free text (a driver's message, a parser's quote of a config
/// line) that may embed database URLs or `key=value` connection strings: the password
/// of each `scheme://user:password@` (up to the last `@` on its line, since a password
/// may hold a raw `@` or spaces), of a `user:password@host` word without a scheme, a
/// non-numeric "port" of a URL with no `@` (a password whose host was left out), and
/// the value of every secret-looking parameter (`password=`, `sslpassword=`, a
/// misspelled `pasword=`, tokens and keys), quoted or not. It needs no valid URL, and
/// masks too much rather than too little.
///
/// ```
/// use aludel::url::redact_str;
/// assert_eq!(redact_str("x postgres://u:pw@h/db y"), "x postgres://u:***@h/db y");
/// assert_eq!(redact_str("host=h password='a b' dbname=d"), "host=h password=*** dbname=d");
/// ```
pub fn redact_str(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let mut spans = userinfo_spans(line, false);
            spans.extend(bare_userinfo_spans(line));
            spans.extend(param_spans(line, false));
            mask(line, spans)
        })
        .collect()
}

/// Masks the secrets of `text` taken as one database URL or connection string,
/// valid or not: as [`redact_str`], and also a `user:password@` with no scheme in
/// front, with values running to the end of the text rather than of a word.
///
/// ```
/// use aludel::url::redact_url;
/// assert_eq!(redact_url("postgresql://u:a b@c@h:5432x/db"), "postgresql://u:***@h:5432x/db");
/// ```
pub fn redact_url(text: &str) -> String {
    let mut spans = userinfo_spans(text, true);
    spans.extend(param_spans(text, true));
    mask(text, spans)
}

/// `text` with each byte range of `spans` (merged where they touch) replaced by
/// [`MASK`].
fn mask(text: &str, mut spans: Vec<Range<usize>>) -> String {
    spans.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut masked = false;
    for span in spans {
        if masked && span.start <= done {
            // Overlaps or touches the last mask: extend it.
            done = done.max(span.end);
            continue;
        }
        out.push_str(&text[done..span.start]);
        out.push_str(MASK);
        done = span.end;
        masked = true;
    }
    out.push_str(&text[done..]);
    out
}

/// The passwords of `scheme://user:password@` in `text`. With `whole`, `text` is one
/// URL: without a `://`, the user information is looked for at its start.
fn userinfo_spans(text: &str, whole: bool) -> Vec<Range<usize>> {
    // Every `scheme://` has its user information looked at. A password runs to the
    // last `@` before the next URL, and only a URL after a space, once an `@` has
    // come, ends it: a `://` elsewhere (`u:pa://ss@h`, `u:<pa://ss@h`,
    // `u:p@x://y@h`) may be inside the password. Where that reading is wrong, more is
    // masked (part of the next URL), never less.
    let colons: Vec<usize> = text
        .match_indices("://")
        .map(|(i, _)| i)
        // A scheme is a letter, then letters, digits, `+`, `-`, `.`.
        .filter(|&i| text[scheme_start(text, i)..i].starts_with(|c: char| c.is_ascii_alphabetic()))
        .collect();
    let after_space: Vec<usize> = colons
        .iter()
        .map(|&i| scheme_start(text, i))
        .filter(|&scheme| {
            text[..scheme]
                .chars()
                .next_back()
                .is_none_or(char::is_whitespace)
        })
        .collect();
    let mut starts: Vec<usize> = colons.iter().map(|i| i + 3).collect();
    if whole && starts.is_empty() {
        starts.push(0);
    }
    let mut spans = Vec::new();
    for &start in &starts {
        let user_len = text[start..]
            .find(|c: char| matches!(c, ':' | '@' | '/' | '?' | '#' | '[') || c.is_whitespace())
            .unwrap_or(text.len() - start);
        if !text[start + user_len..].starts_with(':') {
            continue;
        }
        let region_end = after_space
            .iter()
            .copied()
            .find(|&b| b > start + user_len && text[start + user_len..b].contains('@'))
            .unwrap_or(text.len());
        let region = &text[start..region_end];
        let secret_start = start + user_len + 1;
        if let Some(after) = text[secret_start..region_end].strip_prefix("***@")
            && !after
                .split(char::is_whitespace)
                .next()
                .unwrap_or("")
                .contains('@')
        {
            // Already masked (a URL's own display): what follows is not a secret.
            continue;
        }
        match region.rfind('@') {
            Some(at) if at > user_len => spans.push(secret_start..start + at),
            // No '@': a "port" that is not a number may be a password.
            _ => {
                let port = &text[secret_start..region_end];
                let len = port
                    .find(|c: char| matches!(c, '/' | '?' | '#') || (!whole && c.is_whitespace()))
                    .unwrap_or(port.len());
                if !port[..len].chars().all(|c| c.is_ascii_digit()) {
                    spans.push(secret_start..secret_start + len);
                }
            }
        }
    }
    spans
}

/// Where the scheme ending at byte `colon` (the `:` of `://`) begins.
fn scheme_start(text: &str, colon: usize) -> usize {
    text[..colon]
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        // After that character, whatever its width.
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The passwords of `user:password@host` words without a scheme: in free text only a
/// word can be told apart from prose that has a ':' and an '@'.
fn bare_userinfo_spans(line: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    for word in line.split(char::is_whitespace) {
        // Where the word starts in `line`: separators may be wider than one byte.
        let start = word.as_ptr() as usize - line.as_ptr() as usize;
        // A URL's own user information is `userinfo_spans`' to find; only what stands
        // before a URL in the word is looked at here.
        let word = match word.find("://") {
            Some(i) => &word[..scheme_start(word, i)],
            None => word,
        };
        let lead = word.len() - word.trim_start_matches(['"', '\'', '(', '<', '[']).len();
        let body = &word[lead..];
        let user_len = body.find([':', '@', '/', '?', '#']).unwrap_or(body.len());
        if let Some(at) = body.rfind('@')
            && user_len > 0
            && at > user_len
            && body[user_len..].starts_with(':')
        {
            spans.push(start + lead + user_len + 1..start + lead + at);
        }
    }
    spans
}

/// Whether a parameter's value is a secret: `password` and its misspellings
/// (`pasword`, `passwd`, `pwd`), `sslpassword`, secrets, tokens and keys.
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "pass",
        "pasw",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// The values of every secret parameter in `text`: `?name=value` and `&name=value`
/// of a URL's query (up to the next `&other=`, since a raw `&` may belong to the value,
/// or the end of the line), and libpq's `name = value` or `name = 'quoted value'`.
/// With `whole`, `text` is one URL and a value may run to its end.
fn param_spans(text: &str, whole: bool) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_name_byte(bytes[i]) || (i > 0 && is_name_byte(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let name_end = i + text[i..].bytes().take_while(|&b| is_name_byte(b)).count();
        let after_name = &text[name_end..];
        let eq = after_name.len() - after_name.trim_start_matches([' ', '\t']).len();
        if !after_name[eq..].starts_with('=') || !is_secret_param(&text[i..name_end]) {
            i = name_end;
            continue;
        }
        let value_start = name_end + eq + 1;
        let in_query = i > 0 && matches!(bytes[i - 1], b'?' | b'&');
        let value_end = value_start + secret_value_len(&text[value_start..], in_query, whole);
        if value_end > value_start {
            spans.push(value_start..value_end);
        }
        i = value_end.max(name_end + 1);
    }
    spans
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of a secret value at the start of `text` (see [`redact_params`]).
fn secret_value_len(text: &str, in_query: bool, whole: bool) -> usize {
    let end = if whole {
        text.len()
    } else {
        text.find('\n').unwrap_or(text.len())
    };
    if let Some(after) = text.strip_prefix(MASK)
        && (after
            .starts_with(|c: char| c.is_whitespace() || matches!(c, ':' | '"' | '\'' | ')' | ','))
            || after.is_empty()
            || next_param(after, end.saturating_sub(MASK.len()), '&') == Some(0))
    {
        // Already masked (a URL's own display): the rest is the message.
        return MASK.len();
    }
    if in_query {
        // Up to `&name=`: a '&' not followed by a parameter is part of the value.
        return next_param(text, end, '&').unwrap_or(end);
    }
    let skipped = text.len() - text.trim_start_matches([' ', '\t']).len();
    let value = &text[skipped..end];
    if let Some(quoted) = value.strip_prefix('\'') {
        // libpq quoting: '\'' and '\\' escape; an unterminated quote runs to the end.
        let mut escaped = false;
        for (j, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => {
                    // Text glued to the closing quote (`'pa'ss`) is the same word:
                    // masked up to the next space too.
                    let close = 1 + j + 1;
                    let glued = value[close..]
                        .find(char::is_whitespace)
                        .unwrap_or(value.len() - close);
                    return skipped + close + glued;
                }
                _ => escaped = false,
            }
        }
        return end;
    }
    if whole {
        // One connection string: an unquoted value with spaces (invalid, but typed)
        // runs to the next ` name=`.
        return next_param(text, end, ' ').unwrap_or(end);
    }
    skipped + value.find(char::is_whitespace).unwrap_or(value.len())
}

/// The byte offset in `text[..end]` of the first `sep` followed by `name=` (spaces
/// allowed around a `sep` of ' '), if any.
fn next_param(text: &str, end: usize, sep: char) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..end].find(sep) {
        let at = from + found;
        let rest = text[at + 1..end].trim_start_matches(' ');
        let name_len = rest.bytes().take_while(|&b| is_name_byte(b)).count();
        if name_len > 0 && rest[name_len..].trim_start_matches(' ').starts_with('=') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

impl DatabaseUrl {
    /// The dialect the URL's scheme names.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
    /// The user name, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
    /// The password in clear text: for drivers only, never for output.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// The host, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
    /// The port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The database name (the URL's path), if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }
    /// Where an SQLite database lives; `None` for other dialects.
    pub fn sqlite_location(&self) -> Option<&SqliteLocation> {
        self.sqlite.as_ref()
    }
    /// The query parameters, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
    /// The value of query parameter `key`, the last one if repeated.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Resolves a relative SQLite path against `dir` (the config file's folder).
    pub fn resolve_relative_to(mut self, dir: &Path) -> Self {
        if let Some(SqliteLocation::File(p)) = &self.sqlite
            && p.is_relative()
        {
            self.sqlite = Some(SqliteLocation::File(dir.join(p)));
        }
        self
    }

    /// The same URL pointing at another database name (PostgreSQL and MySQL).
    pub fn with_database(&self, database: &str) -> Self {
        let mut u = self.clone();
        u.database = Some(database.to_string());
        u
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.raw_scheme)?;
        if let Some(loc) = &self.sqlite {
            match loc {
                SqliteLocation::Memory => f.write_str(":memory:")?,
                SqliteLocation::File(p) => write!(f, "/{}", p.display())?,
            }
        } else {
            if self.user.is_some() || self.password.is_some() {
                if let Some(u) = &self.user {
                    f.write_str(u)?;
                }
                if self.password.is_some() {
                    f.write_str(":***")?;
                }
                f.write_str("@")?;
            }
            if let Some(h) = &self.host {
                if h.contains(':') {
                    write!(f, "[{h}]")?;
                } else {
                    f.write_str(h)?;
                }
            }
            if let Some(p) = self.port {
                write!(f, ":{p}")?;
            }
            if let Some(d) = &self.database {
                write!(f, "/{d}")?;
            }
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            if is_secret_param(k) {
                write!(f, "{sep}{k}=***")?;
            } else {
                write!(f, "{sep}{k}={v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_survives_wide_characters_and_urls_inside_passwords() {
        // A wide character right before a second URL's scheme.
        let text = "ERROR: see https://a 詳細→postgresql://app:s3cret@h/db";
        assert_eq!(
            redact_str(text),
            "ERROR: see https://a 詳細→postgresql://app:***@h/db"
        );
        // Wide separators before a bare `user:password@host`.
        assert_eq!(
            redact_str("x\u{3000}y\u{a0}app:s3cret@h z"),
            "x\u{3000}y\u{a0}app:***@h z"
        );
        // `://` inside the password.
        let masked = redact_str("postgresql://u:pa://ss@h:5432x/db");
        assert!(
            !masked.contains("pa") && !masked.contains("ss@"),
            "{masked}"
        );
    }

    fn p(s: &str) -> DatabaseUrl {
        s.parse().unwrap()
    }

    #[test]
    fn driver_suffixes_are_accepted_and_ignored() {
        for s in [
            "postgresql+psycopg://u@h/db",
            "postgresql+psycopg2://u@h/db",
            "postgres://u@h/db",
        ] {
            assert_eq!(p(s).dialect(), Dialect::Postgres, "{s}");
        }
        assert_eq!(p("mysql+pymysql://u@h/db").dialect(), Dialect::Mysql);
        assert_eq!(
            p("mariadb+mariadbconnector://u@h/db").dialect(),
            Dialect::Mysql
        );
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            p("sqlite:///aludel.db").sqlite_location(),
            Some(&SqliteLocation::File("aludel.db".into()))
        );
        assert_eq!(
            p("sqlite:////tmp/x.db").sqlite_location(),
            Some(&SqliteLocation::File("/tmp/x.db".into()))
        );
        assert_eq!(
            p("sqlite://:memory:").sqlite_location(),
            Some(&SqliteLocation::Memory)
        );
        assert_eq!(
            p("sqlite://").sqlite_location(),
            Some(&SqliteLocation::Memory)
        );
        let resolved = p("sqlite:///a/b.db").resolve_relative_to(Path::new("/proj"));
        assert_eq!(
            resolved.sqlite_location(),
            Some(&SqliteLocation::File("/proj/a/b.db".into()))
        );
        assert_eq!(resolved.to_string(), "sqlite:////proj/a/b.db");
    }

    #[test]
    fn components_and_percent_decoding() {
        let u = p(
            "postgresql://us%40er:p%40ss%3Aw@[::1]:6543/my%20db?sslmode=verify-full&application_name=x",
        );
        assert_eq!(u.user(), Some("us@er"));
        assert_eq!(u.password(), Some("p@ss:w"));
        assert_eq!(u.host(), Some("::1"));
        assert_eq!(u.port(), Some(6543));
        assert_eq!(u.database(), Some("my db"));
        assert_eq!(u.param("sslmode"), Some("verify-full"));
    }

    #[test]
    fn passwords_never_display() {
        let u = p("postgresql://u:topsecret@h/db?password=alsosecret");
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(!shown.contains("alsosecret"), "{shown}");
    }

    #[test]
    fn bad_urls_are_errors_without_secrets() {
        let e = "oracle://u:pw@h/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(e.to_string().contains("unknown scheme 'oracle'"));
        assert!(!e.to_string().contains("pw@"));
        let e = "postgresql://u:pw@h:99999/db"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(e.to_string().contains("port"));
        assert!("no-scheme".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn passwords_may_hold_slashes_question_marks_and_colons() {
        for pw in ["s3cr/etpw", "a?b", "a:b:c", "p#q", "12/34?x"] {
            let text = format!("postgresql://app:{pw}@db.example:6543/app?sslmode=require");
            let u = p(&text);
            assert_eq!(u.password(), Some(pw), "{text}");
            assert_eq!(u.host(), Some("db.example"), "{text}");
            assert_eq!(u.port(), Some(6543), "{text}");
            assert_eq!(u.database(), Some("app"), "{text}");
            assert_eq!(
                u.to_string(),
                "postgresql://app:***@db.example:6543/app?sslmode=require"
            );
            let shown = redact_str(&format!("cannot reach {text}: refused"));
            assert!(!shown.contains(pw), "{shown}");
            assert!(shown.contains("app:***@db.example:6543/app"), "{shown}");
        }
        // No user information: an '@' later in the URL is not one.
        let u = p("postgresql://db/app?options=a@b");
        assert_eq!(u.host(), Some("db"));
        assert_eq!(u.user(), None);
    }

    #[test]
    fn secret_parameters_never_display() {
        let u = p("postgresql://h/db?sslpassword=TOPSECRET&api_token=T2&sslmode=require");
        let shown = format!("{u}");
        assert!(
            !shown.contains("TOPSECRET") && !shown.contains("T2"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=require"), "{shown}");
        let free = redact_str("x postgresql://h/db?sslpassword=TOPSECRET&sslmode=require y");
        assert_eq!(
            free,
            "x postgresql://h/db?sslpassword=***&sslmode=require y"
        );
    }

    #[test]
    fn redact_free_text() {
        assert_eq!(
            redact_str("cannot reach postgresql://me:pw@db:5432/x: refused"),
            "cannot reach postgresql://me:***@db:5432/x: refused"
        );
        assert_eq!(redact_str("no url here"), "no url here");
        assert_eq!(
            redact_str("x = \"postgresql://h/db?user=u&password=pw&sslmode=require\""),
            "x = \"postgresql://h/db?user=u&password=***&sslmode=require\""
        );
        // Masking too much is the safe side: a word ending in "password" still names one.
        assert_eq!(redact_str("mypassword=1"), "mypassword=***");
        assert_eq!(redact_str("sqlite:///a.db"), "sqlite:///a.db");
    }

    #[test]
    fn a_raw_at_sign_in_the_password_stays_in_the_password() {
        let u = p("postgresql://u:Sx9@Secret@h:5432/db?options=a@b");
        assert_eq!(u.password(), Some("Sx9@Secret"));
        assert_eq!(u.host(), Some("h"));
        assert_eq!(u.param("options"), Some("a@b"));
        assert_eq!(u.to_string(), "postgresql://u:***@h:5432/db?options=a@b");
        assert_eq!(
            redact_str("cannot reach postgresql://u:Sx9@Secret@h/db: refused"),
            "cannot reach postgresql://u:***@h/db: refused"
        );
        // '@' then '/' unencoded cannot be told from a database name: refused, not guessed.
        let e = "postgresql://u:a@b/c@h/db"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(!e.to_string().contains("b/c"), "{e}");
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let u = p("  postgresql://u:pw@h/db\n");
        assert_eq!(u.database(), Some("db"));
        assert_eq!(u.password(), Some("pw"));
    }

    #[test]
    fn port_zero_is_refused() {
        let e = "postgresql://u@h:0/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(e.to_string().contains("port 0"), "{e}");
        assert_eq!(p("postgresql://u@h:1/db").port(), Some(1));
    }

    #[test]
    fn unparseable_urls_are_redacted_whole() {
        for (input, secret) in [
            ("postgresql://u:correct horse battery@h:5432x/db", "horse"),
            ("host=h password=hunter2 dbname=x", "hunter2"),
            ("host=h password = 'hun ter\\'2' dbname=x", "ter"),
            ("host=h password=hun ter2 dbname=x", "ter2"),
            ("postgresql://h/db?pasword=hunter2&x", "hunter2"),
            ("postgresql://h/db?password=hunt&er2", "er2"),
            ("u:hunter2@h/db", "hunter2"),
            ("postgresql://u:hunter2/db", "hunter2"),
            ("foo%bar://u:hunter2@h/db", "hunter2"),
        ] {
            let e = input.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(!e.contains(secret), "{input}: {e}");
        }
        assert_eq!(
            redact_url("host=h password='a b' dbname=x"),
            "host=h password=*** dbname=x"
        );
        assert_eq!(
            redact_url("postgresql://h/db?password=a&b&sslmode=require"),
            "postgresql://h/db?password=***&sslmode=require"
        );
        // What is plainly not a secret stays readable.
        assert_eq!(
            redact_url("postgresql://[::1]:5432/db?sslmode=bogus"),
            "postgresql://[::1]:5432/db?sslmode=bogus"
        );
    }

    #[test]
    fn a_display_redacted_again_keeps_its_message() {
        let shown = "cannot connect to postgresql://u:***@h/db?password=***: refused for x@y";
        assert_eq!(redact_str(shown), shown);
    }

    #[test]
    fn query_segments_without_a_value_are_refused() {
        let e = "postgresql://h/db?password=a&b"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(e.to_string().contains("has no '='"), "{e}");
        assert!(!e.to_string().contains("&b"), "{e}");
    }
}
