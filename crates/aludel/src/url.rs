//! Database URLs: parsing, the dialect they name, and redaction of secrets.
//!
//! Accepts the URLs of existing Alembic deployments unchanged: a SQLAlchemy driver
//! suffix (`postgresql+psycopg2://`) is accepted and ignored. A password never leaves
//! this module in clear text except through [`DatabaseUrl::password`], which only
//! drivers call.

use std::fmt;
use std::path::{Path, PathBuf};

/// The SQL dialect a URL speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        url: redact_str(input),
        reason: reason.to_string(),
    };
    let (scheme, rest) = input
        .split_once("://")
        .ok_or_else(|| err("expected SCHEME://..., e.g. postgresql://user@host/db"))?;
    let base_scheme = scheme.split('+').next().unwrap_or(scheme);
    let dialect = match base_scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => Dialect::Postgres,
        "sqlite" | "sqlite3" => Dialect::Sqlite,
        "mysql" | "mariadb" => Dialect::Mysql,
        other => {
            return Err(err(&format!(
                "unknown scheme '{other}' (expected postgresql, postgres, sqlite, mysql or mariadb)"
            )));
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
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((
                percent_decode(k).map_err(|e| err(&e))?,
                percent_decode(v).map_err(|e| err(&e))?,
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
    if !host.is_empty() {
        url.host = Some(percent_decode(host).map_err(|e| err(&e))?);
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        url.port = Some(
            p.parse()
                .map_err(|_| err(&format!("port '{p}' is not a number from 1 to 65535")))?,
        );
    }
    if !path.is_empty() {
        url.database = Some(percent_decode(path).map_err(|e| err(&e))?);
    }
    Ok(url)
}

/// Splits `user[:password]@rest` as SQLAlchemy does: the user name holds no ':', '/',
/// '?' or '@', the password no '@'. `None` when the text has no user information.
fn split_userinfo(text: &str) -> Option<(&str, &str)> {
    let at = text.find('@')?;
    let userinfo = &text[..at];
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    if user.contains(['/', '?', '#']) || user.chars().any(char::is_whitespace) {
        return None;
    }
    Some((userinfo, &text[at + 1..]))
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

/// Replaces the password of anything that looks like a URL with `***`, for text
/// (error messages from drivers, say) that may embed one.
///
/// ```
/// assert_eq!(aludel::url::redact_str("x postgres://u:pw@h/db y"), "x postgres://u:***@h/db y");
/// ```
pub fn redact_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // The same rule as parsing: the password runs to the first '@'.
        match split_userinfo(after) {
            Some((userinfo, tail)) if !userinfo.contains(char::is_whitespace) => {
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push('@');
                rest = tail;
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    redact_password_params(&out)
}

/// Whether a query parameter's value is a secret (`password`, `sslpassword`, tokens).
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|s| n.contains(s))
}

/// Replaces the value of every secret query parameter (`password=`, `sslpassword=`,
/// ...) in free text with `***`.
fn redact_password_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['?', '&']) {
        let (before, after) = rest.split_at(i + 1);
        out.push_str(before);
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        match tail.strip_prefix('=') {
            Some(value) if is_secret_param(name) => {
                let end = value
                    .find(|c: char| c == '&' || c.is_whitespace() || c == '\'' || c == '"')
                    .unwrap_or(value.len());
                out.push_str(name);
                out.push_str("=***");
                rest = &value[end..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
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
        assert_eq!(redact_str("mypassword=1"), "mypassword=1");
        assert_eq!(redact_str("sqlite:///a.db"), "sqlite:///a.db");
    }
}
