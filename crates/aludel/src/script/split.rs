//! Splitting a section's SQL into statements the way the database's own client would:
//! `;` ends a statement unless it is inside a string, a quoted identifier, a comment, a
//! PostgreSQL dollar quote or the `BEGIN ... END` body of a routine or trigger.
//!
//! This is a lexer, not a parser: it knows just enough tokens to find statement ends and
//! never rewrites the SQL. Each statement's text runs from its first token to its last
//! one, so comments between statements are dropped and comments inside one are kept.
//!
//! MySQL is read in its default SQL mode: backslash escapes in strings and `"` strings
//! (not `ANSI_QUOTES` or `NO_BACKSLASH_ESCAPES`). PostgreSQL plain strings take no
//! backslash escapes (`standard_conforming_strings`, the default since 9.1).

use crate::url::Dialect;

/// One SQL statement from a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The exact text of the statement, from its first token to its last, without the
    /// terminating `;`. Comments inside the statement are kept.
    pub sql: String,
    /// The 1-based line in the file where the statement starts.
    pub line: usize,
}

impl Statement {
    /// Whether this statement only sets the session or who may use an object, and
    /// which of the two ([`Housekeeping`]).
    ///
    /// ```
    /// use aludel::script::{Housekeeping, Statement};
    /// let st = |sql: &str| Statement { sql: sql.into(), line: 1 };
    /// assert_eq!(st("SET row_security = off").housekeeping(), Some(Housekeeping::Session));
    /// assert_eq!(st("ALTER TABLE public.t OWNER TO app").housekeeping(), Some(Housekeeping::Access));
    /// assert_eq!(st("ALTER TABLE t RENAME owner TO holder").housekeeping(), None);
    /// assert_eq!(st("ALTER TABLE t OWNER TO app, ADD c int").housekeeping(), None);
    /// assert_eq!(st("CREATE TABLE t (id int)").housekeeping(), None);
    /// ```
    pub fn housekeeping(&self) -> Option<Housekeeping> {
        let words: Vec<String> = self
            .sql
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        let word = |i: usize| words.get(i).map(String::as_str);
        match word(0)? {
            "SET" | "RESET" => Some(Housekeeping::Session),
            "GRANT" | "REVOKE" => Some(Housekeeping::Access),
            "COMMENT" if word(1) == Some("ON") && word(2) == Some("EXTENSION") => {
                Some(Housekeeping::Access)
            }
            // pg_dump's `ALTER kind name OWNER TO role`, nothing after the role: not
            // `RENAME owner TO x`, nor `OWNER TO x, ADD COLUMN ...`.
            "ALTER" => {
                let at = words.windows(3).position(|w| {
                    w[1] == "OWNER" && w[2] == "TO" && w[0] != "RENAME" && w[0] != "COLUMN"
                })?;
                let rest = &words[at + 3..];
                (!rest.is_empty() && rest.iter().all(|w| !w.contains(',')))
                    .then_some(Housekeeping::Access)
            }
            _ => None,
        }
    }

    /// Whether the statement may answer with several results: a procedure's `CALL`
    /// (on MySQL each of its `SELECT`s is a result of its own, then the `CALL`'s), or
    /// `EXECUTE` of a prepared one. A client that counts results to tell statements
    /// apart cannot count past it.
    ///
    /// ```
    /// use aludel::script::Statement;
    /// let st = |sql: &str| Statement { sql: sql.into(), line: 1 };
    /// assert!(st("call fill(10)").may_answer_several_times());
    /// assert!(st("EXECUTE s USING @a").may_answer_several_times());
    /// assert!(st("CALL`fill`(10)").may_answer_several_times());
    /// assert!(!st("CALLER_LOG()").may_answer_several_times());
    /// assert!(!st("CREATE PROCEDURE p() BEGIN SELECT 1; END").may_answer_several_times());
    /// ```
    pub fn may_answer_several_times(&self) -> bool {
        // The leading keyword, whatever follows it (a space, `(`, a quoted name).
        let sql = self.sql.trim_start();
        let first = &sql[..sql
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(sql.len())];
        first.eq_ignore_ascii_case("CALL") || first.eq_ignore_ascii_case("EXECUTE")
    }

    /// The transaction-control command this statement is (`BEGIN`, `COMMIT`, `END`,
    /// `ROLLBACK`, `ABORT`, `START TRANSACTION`), if it is one. Inside a revision that
    /// runs in aludel's transaction such a statement would break its atomicity.
    /// `ROLLBACK TO SAVEPOINT` is not one: it stays inside the transaction.
    ///
    /// ```
    /// use aludel::script::Statement;
    /// let st = |sql: &str| Statement { sql: sql.into(), line: 1 };
    /// assert_eq!(st("commit").transaction_control(), Some("COMMIT"));
    /// assert_eq!(st("START TRANSACTION READ WRITE").transaction_control(), Some("START TRANSACTION"));
    /// assert_eq!(st("ROLLBACK TO SAVEPOINT s").transaction_control(), None);
    /// assert_eq!(st("CREATE TABLE begin_log (x int)").transaction_control(), None);
    /// ```
    pub fn transaction_control(&self) -> Option<&'static str> {
        let mut words = self
            .sql
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase);
        let first = words.next()?;
        let second = words.next();
        match first.as_str() {
            "BEGIN" => Some("BEGIN"),
            "COMMIT" => Some("COMMIT"),
            "END" => Some("END"),
            "ABORT" => Some("ABORT"),
            "ROLLBACK" if !matches!(second.as_deref(), Some("TO")) => Some("ROLLBACK"),
            "START" if matches!(second.as_deref(), Some("TRANSACTION")) => {
                Some("START TRANSACTION")
            }
            _ => None,
        }
    }
}

/// What a statement does besides shaping schema objects, when that is all it does:
/// pg_dump writes both kinds around every object it dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Housekeeping {
    /// A session setting: `SET`, `RESET` (`SET ROLE`, `SET search_path`, ...).
    Session,
    /// Who owns or may use an object: `ALTER ... OWNER TO`, `GRANT`, `REVOKE`, or a
    /// comment on an extension (which only the extension's owner may write).
    Access,
}

/// SQL that cannot be split because something opened is never closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
#[non_exhaustive]
pub struct SplitError {
    /// The 1-based line where the unclosed construct starts.
    pub line: usize,
    /// What is left open.
    pub kind: SplitErrorKind,
}

/// What a [`SplitError`] found left open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitErrorKind {
    /// A `'...'` string (or a MySQL `"..."` string) without its closing quote.
    #[error("unterminated string literal (opened on this line)")]
    UnterminatedString,
    /// A `"..."`, `` `...` `` or `[...]` identifier without its closing quote.
    #[error("unterminated quoted identifier (opened on this line)")]
    UnterminatedIdentifier,
    /// A PostgreSQL `$tag$` quote without its closing tag.
    #[error("unterminated dollar-quoted string (opened on this line; no closing {tag})")]
    UnterminatedDollarQuote {
        /// The opening delimiter, e.g. `$$` or `$body$`.
        tag: String,
    },
    /// A `/* ... */` comment without its `*/`.
    #[error("unterminated block comment (opened on this line)")]
    UnterminatedComment,
    /// A mysql client `DELIMITER` command, which is not SQL.
    #[error(
        "DELIMITER is a mysql client command, not SQL: remove it and end the statement \
         with ';' (BEGIN ... END bodies are kept together without it)"
    )]
    Delimiter,
    /// A psql meta-command (a line starting with `\`) other than the harmless ones
    /// pg_dump writes; or any meta-command inside a statement.
    #[error(
        "\\{command} is a psql meta-command, not SQL: aludel sends the file to the database \
         without psql, so only pg_dump's \\restrict and \\unrestrict lines are understood \
         (and skipped), between statements"
    )]
    MetaCommand {
        /// The command's name, without the backslash (`i`, `connect`, ...).
        command: String,
    },
    /// A routine or trigger body whose block is never closed.
    #[error("{keyword} block opened on this line is never closed by {closer}")]
    UnterminatedBlock {
        /// The opening keyword, e.g. `BEGIN` or `IF`.
        keyword: &'static str,
        /// What should close it, e.g. `END` or `END IF`.
        closer: &'static str,
    },
}

/// Splits `sql` into statements for `dialect`. `first_line` is the file line on which
/// `sql` starts, so that each [`Statement::line`] is a line of the file.
///
/// Statements holding only comments and whitespace are dropped; a last statement
/// without `;` is kept. Transaction control (`BEGIN;`) is an ordinary statement.
///
/// ```
/// use aludel::script::split_statements;
/// use aludel::url::Dialect;
/// let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\nSELECT f()";
/// let statements = split_statements(sql, Dialect::Postgres, 10).unwrap();
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[1].sql, "SELECT f()");
/// assert_eq!(statements[1].line, 12);
/// ```
pub fn split_statements(
    sql: &str,
    dialect: Dialect,
    first_line: usize,
) -> Result<Vec<Statement>, SplitError> {
    Splitter::new(sql, dialect, first_line).run()
}

/// The few words that matter for finding statement ends; everything else is `Ident`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    Begin,
    End,
    Case,
    If,
    Loop,
    While,
    Repeat,
    For,
    Then,
    Else,
    Do,
    Row,
    Atomic,
    Not,
    Create,
    Function,
    Procedure,
    Trigger,
    Event,
    /// A kind of object that is never a routine (`TABLE`, `VIEW`, ...).
    OtherKind,
    Ident,
}

fn classify(word: &[u8]) -> Kw {
    const MAX: usize = 12;
    if word.len() > MAX {
        return Kw::Ident;
    }
    let mut buf = [0u8; MAX];
    for (b, w) in buf.iter_mut().zip(word) {
        *b = w.to_ascii_uppercase();
    }
    match &buf[..word.len()] {
        b"BEGIN" => Kw::Begin,
        b"END" => Kw::End,
        b"CASE" => Kw::Case,
        b"IF" => Kw::If,
        b"LOOP" => Kw::Loop,
        b"WHILE" => Kw::While,
        b"REPEAT" => Kw::Repeat,
        b"FOR" => Kw::For,
        b"THEN" => Kw::Then,
        b"ELSE" => Kw::Else,
        b"DO" => Kw::Do,
        b"ROW" => Kw::Row,
        b"ATOMIC" => Kw::Atomic,
        b"NOT" => Kw::Not,
        b"CREATE" => Kw::Create,
        b"FUNCTION" => Kw::Function,
        b"PROCEDURE" => Kw::Procedure,
        b"TRIGGER" => Kw::Trigger,
        b"EVENT" => Kw::Event,
        b"TABLE" | b"VIEW" | b"INDEX" | b"SEQUENCE" | b"SCHEMA" | b"DATABASE" | b"TYPE"
        | b"DOMAIN" | b"EXTENSION" | b"RULE" | b"POLICY" | b"ROLE" | b"USER" | b"SERVER"
        | b"TABLESPACE" | b"CAST" | b"OPERATOR" | b"COLLATION" | b"CONVERSION" | b"PUBLICATION"
        | b"SUBSCRIPTION" | b"STATISTICS" | b"LANGUAGE" | b"GROUP" => Kw::OtherKind,
        _ => Kw::Ident,
    }
}

/// A significant token, as remembered for the block heuristics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    None,
    Semi,
    Open,
    Close,
    Dot,
    Colon,
    Other,
    Word(Kw),
}

/// An open block in a routine body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Begin,
    Case,
    If,
    Loop,
    While,
    Repeat,
    For,
}

impl Block {
    fn keyword(self) -> &'static str {
        match self {
            Block::Begin => "BEGIN",
            Block::Case => "CASE",
            Block::If => "IF",
            Block::Loop => "LOOP",
            Block::While => "WHILE",
            Block::Repeat => "REPEAT",
            Block::For => "FOR",
        }
    }

    fn closer(self) -> &'static str {
        match self {
            Block::Begin | Block::Case => "END",
            Block::If => "END IF",
            Block::Loop => "END LOOP",
            Block::While => "END WHILE",
            Block::Repeat => "END REPEAT",
            Block::For => "END FOR",
        }
    }

    /// The block a word after `END` closes (`END IF`), if any.
    fn closed_by(kw: Kw) -> Option<Block> {
        match kw {
            Kw::If => Some(Block::If),
            Kw::Loop => Some(Block::Loop),
            Kw::While => Some(Block::While),
            Kw::Repeat => Some(Block::Repeat),
            Kw::For => Some(Block::For),
            Kw::Case => Some(Block::Case),
            _ => None,
        }
    }
}

/// What kind of statement we are in, as far as `;` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `;` ends the statement (PostgreSQL: outside parentheses).
    Plain,
    /// Inside `CREATE ...` before the object kind is known; counts tokens seen.
    CreatePrefix(usize),
    /// A routine (PostgreSQL `BEGIN ATOMIC`, MySQL compound statements): `;` ends the
    /// statement only when no block is open.
    Routine,
    /// An SQLite trigger; after its `BEGIN` (line kept), only `; END ;` ends it, exactly
    /// as `sqlite3_complete` decides.
    SqliteTrigger(Option<usize>),
}

/// What follows a position, skipping whitespace and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peek {
    Eof,
    Byte(u8),
    Word(Kw, usize),
}

/// How far the create prefix (`CREATE OR REPLACE DEFINER=... PROCEDURE`) is searched
/// for the object kind.
const CREATE_PREFIX_TOKENS: usize = 16;

struct Splitter<'a> {
    src: &'a str,
    b: &'a [u8],
    dialect: Dialect,
    pos: usize,
    /// Line number of byte `line_pos`; advanced lazily, positions only grow.
    line: usize,
    line_pos: usize,
    out: Vec<Statement>,
    /// Start byte and line of the current statement's first token.
    start: Option<(usize, usize)>,
    last_end: usize,
    paren: usize,
    prev: Tok,
    prev2: Tok,
    mode: Mode,
    blocks: Vec<(Block, usize)>,
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: Dialect, first_line: usize) -> Self {
        Splitter {
            src,
            b: src.as_bytes(),
            dialect,
            pos: 0,
            line: first_line,
            line_pos: 0,
            out: Vec::new(),
            start: None,
            last_end: 0,
            paren: 0,
            prev: Tok::None,
            prev2: Tok::None,
            mode: Mode::Plain,
            blocks: Vec::new(),
        }
    }

    fn line_at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.b.len());
        if pos < self.line_pos {
            // Never happens in a left-to-right scan; recount rather than go wrong.
            let back = self.b[pos..self.line_pos]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            return self.line - back;
        }
        self.line += self.b[self.line_pos..pos]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        self.line_pos = pos;
        self.line
    }

    fn err(&mut self, at: usize, kind: SplitErrorKind) -> SplitError {
        SplitError {
            line: self.line_at(at),
            kind,
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    fn run(mut self) -> Result<Vec<Statement>, SplitError> {
        while let Some(c) = self.byte(self.pos) {
            let at = self.pos;
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'-' | b'#' | b'/' if self.comment_len(at).is_some() => {
                    let end = self.comment_end(at)?;
                    if self.dialect == Dialect::Mysql && self.b[at..].starts_with(b"/*!") {
                        // MySQL runs the body of `/*! ... */`: it is SQL, not a comment.
                        self.token(at, end, Tok::Other)?;
                    }
                    self.pos = end;
                }
                b'\'' => {
                    let backslash = self.dialect == Dialect::Mysql;
                    let end =
                        self.quoted(at, b'\'', backslash, SplitErrorKind::UnterminatedString)?;
                    self.token(at, end, Tok::Other)?;
                }
                b'"' => {
                    let end = if self.dialect == Dialect::Mysql {
                        self.quoted(at, b'"', true, SplitErrorKind::UnterminatedString)?
                    } else {
                        self.quoted(at, b'"', false, SplitErrorKind::UnterminatedIdentifier)?
                    };
                    self.token(at, end, Tok::Other)?;
                }
                b'`' if self.dialect != Dialect::Postgres => {
                    let end =
                        self.quoted(at, b'`', false, SplitErrorKind::UnterminatedIdentifier)?;
                    self.token(at, end, Tok::Other)?;
                }
                b'[' if self.dialect == Dialect::Sqlite => {
                    let end = match self.b[at + 1..].iter().position(|&c| c == b']') {
                        Some(i) => at + 1 + i + 1,
                        None => return Err(self.err(at, SplitErrorKind::UnterminatedIdentifier)),
                    };
                    self.token(at, end, Tok::Other)?;
                }
                b'$' if self.dialect == Dialect::Postgres => {
                    let end = self.dollar(at)?;
                    self.token(at, end, Tok::Other)?;
                }
                b'\\' if self.dialect == Dialect::Postgres && self.at_line_start(at) => {
                    self.pos = self.meta_command(at)?;
                }
                b';' => self.semicolon(at)?,
                b'(' => {
                    self.token(at, at + 1, Tok::Open)?;
                    self.paren += 1;
                }
                b')' => {
                    self.paren = self.paren.saturating_sub(1);
                    self.token(at, at + 1, Tok::Close)?;
                }
                b'.' => self.token(at, at + 1, Tok::Dot)?,
                b':' => self.token(at, at + 1, Tok::Colon)?,
                c if is_word_start(c) => self.word(at)?,
                _ => self.token(at, at + 1, Tok::Other)?,
            }
        }
        self.finish()
    }

    /// Whether only blanks come before `at` on its line.
    fn at_line_start(&self, at: usize) -> bool {
        self.b[..at]
            .iter()
            .rev()
            .take_while(|&&c| c != b'\n')
            .all(|&c| c == b' ' || c == b'\t' || c == b'\r')
    }

    /// A psql meta-command line at `at` (outside any string, comment or quote): pg_dump
    /// (PostgreSQL 13.22+, 14.19+, 15.14+, 16.10+, 17.6+) opens and closes every dump with
    /// `\restrict KEY` / `\unrestrict KEY`, which only guard psql itself, so those are
    /// skipped between statements. Any other meta-command would need psql to run it:
    /// refused, naming the line, rather than sent to the server as a syntax error.
    /// Returns where the line ends.
    fn meta_command(&mut self, at: usize) -> Result<usize, SplitError> {
        let end = self.b[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |i| at + i);
        let command: String = self.src[at + 1..end]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        let harmless = matches!(command.as_str(), "restrict" | "unrestrict");
        if harmless && self.start.is_none() {
            Ok(end)
        } else {
            Err(self.err(at, SplitErrorKind::MetaCommand { command }))
        }
    }

    /// Whether a comment starts at `at` (the length of its opener).
    fn comment_len(&self, at: usize) -> Option<usize> {
        match (self.byte(at)?, self.byte(at + 1)) {
            (b'-', Some(b'-')) => {
                if self.dialect == Dialect::Mysql {
                    // MySQL needs a space or control character after `--`: `1--1` is 2.
                    match self.byte(at + 2) {
                        None => Some(2),
                        Some(c) if c <= b' ' => Some(2),
                        Some(_) => None,
                    }
                } else {
                    Some(2)
                }
            }
            (b'#', _) if self.dialect == Dialect::Mysql => Some(1),
            (b'/', Some(b'*')) => Some(2),
            _ => None,
        }
    }

    /// The end of the comment starting at `at` (the `\n` of a line comment is not part
    /// of it).
    fn comment_end(&mut self, at: usize) -> Result<usize, SplitError> {
        match self.comment_end_quiet(at) {
            Some(end) => Ok(end),
            None => Err(self.err(at, SplitErrorKind::UnterminatedComment)),
        }
    }

    fn comment_end_quiet(&self, at: usize) -> Option<usize> {
        let b = self.b;
        if b[at] != b'/' {
            return Some(
                b[at..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |i| at + i),
            );
        }
        let nested = self.dialect == Dialect::Postgres;
        let mut depth = 1usize;
        let mut p = at + 2;
        while p + 1 < b.len() {
            if b[p] == b'*' && b[p + 1] == b'/' {
                depth -= 1;
                p += 2;
                if depth == 0 {
                    return Some(p);
                }
            } else if nested && b[p] == b'/' && b[p + 1] == b'*' {
                depth += 1;
                p += 2;
            } else {
                p += 1;
            }
        }
        None
    }

    /// Scans a quoted string or identifier opened at `at`; a doubled quote is an escaped
    /// quote, and with `backslash` so is anything after `\`.
    fn quoted(
        &mut self,
        at: usize,
        quote: u8,
        backslash: bool,
        kind: SplitErrorKind,
    ) -> Result<usize, SplitError> {
        let b = self.b;
        let mut p = at + 1;
        while p < b.len() {
            let c = b[p];
            if c == quote {
                if b.get(p + 1) == Some(&quote) {
                    p += 2;
                    continue;
                }
                return Ok(p + 1);
            }
            p += if backslash && c == b'\\' { 2 } else { 1 };
        }
        Err(self.err(at, kind))
    }

    /// A PostgreSQL `$tag$ ... $tag$` quote, or a `$1` parameter, at `at`.
    fn dollar(&mut self, at: usize) -> Result<usize, SplitError> {
        let b = self.b;
        let mut p = at + 1;
        if b.get(p)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
        {
            while b
                .get(p)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
            {
                p += 1;
            }
        }
        if b.get(p) != Some(&b'$') {
            // `$1`: a parameter, not a quote.
            let digits = b[at + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            return Ok(at + 1 + digits);
        }
        let tag = &self.src[at..=p];
        match self.src[p + 1..].find(tag) {
            Some(i) => Ok(p + 1 + i + tag.len()),
            None => {
                let tag = tag.to_string();
                Err(self.err(at, SplitErrorKind::UnterminatedDollarQuote { tag }))
            }
        }
    }

    fn word(&mut self, at: usize) -> Result<(), SplitError> {
        let b = self.b;
        // PostgreSQL and MySQL identifiers may contain `$` after their first character.
        let dollar_ok = self.dialect != Dialect::Sqlite;
        let mut end = at + 1;
        while b
            .get(end)
            .is_some_and(|&c| is_word_start(c) || (dollar_ok && c == b'$'))
        {
            end += 1;
        }
        if self.dialect == Dialect::Postgres
            && end == at + 1
            && (b[at] == b'E' || b[at] == b'e')
            && b.get(end) == Some(&b'\'')
        {
            // E'...': the escape-string syntax, where `\'` does not close the string.
            let end = self.quoted(end, b'\'', true, SplitErrorKind::UnterminatedString)?;
            return self.token(at, end, Tok::Other);
        }
        if self.start.is_none()
            && self.dialect == Dialect::Mysql
            && b[at..end].eq_ignore_ascii_case(b"DELIMITER")
        {
            return Err(self.err(at, SplitErrorKind::Delimiter));
        }
        // After a `.` a word is a qualified name part (`NEW.end`), never a keyword.
        let kw = if self.prev == Tok::Dot && self.start.is_some() {
            Kw::Ident
        } else {
            classify(&b[at..end])
        };
        self.token(at, end, Tok::Word(kw))
    }

    /// Records a significant token spanning `at..end` and advances past it.
    fn token(&mut self, at: usize, end: usize, tok: Tok) -> Result<(), SplitError> {
        self.pos = end;
        if self.start.is_none() {
            let line = self.line_at(at);
            self.start = Some((at, line));
            self.mode = self.first_token_mode(tok, end);
            if self.mode == Mode::Routine {
                // MariaDB's `BEGIN NOT ATOMIC ... END` at the top level.
                self.blocks.push((Block::Begin, line));
            }
        } else {
            self.track_blocks(at, end, tok);
        }
        self.prev2 = self.prev;
        self.prev = tok;
        self.last_end = end;
        Ok(())
    }

    fn first_token_mode(&self, tok: Tok, end: usize) -> Mode {
        match tok {
            Tok::Word(Kw::Create) => Mode::CreatePrefix(0),
            Tok::Word(Kw::Begin) if self.dialect == Dialect::Mysql => match self.peek(end) {
                Peek::Word(Kw::Not, after)
                    if matches!(self.peek(after), Peek::Word(Kw::Atomic, _)) =>
                {
                    Mode::Routine
                }
                _ => Mode::Plain,
            },
            _ => Mode::Plain,
        }
    }

    fn track_blocks(&mut self, at: usize, end: usize, tok: Tok) {
        match self.mode {
            Mode::Plain => {}
            Mode::CreatePrefix(seen) => {
                self.mode = match (tok, self.dialect) {
                    (
                        Tok::Word(Kw::Function | Kw::Procedure),
                        Dialect::Postgres | Dialect::Mysql,
                    )
                    | (Tok::Word(Kw::Trigger | Kw::Event), Dialect::Mysql) => Mode::Routine,
                    (Tok::Word(Kw::Trigger), Dialect::Sqlite) => Mode::SqliteTrigger(None),
                    (
                        Tok::Word(
                            Kw::OtherKind | Kw::Function | Kw::Procedure | Kw::Trigger | Kw::Event,
                        ),
                        _,
                    ) => Mode::Plain,
                    _ if seen + 1 >= CREATE_PREFIX_TOKENS => Mode::Plain,
                    _ => Mode::CreatePrefix(seen + 1),
                };
            }
            Mode::SqliteTrigger(None) => {
                if tok == Tok::Word(Kw::Begin) {
                    let line = self.line_at(at);
                    self.mode = Mode::SqliteTrigger(Some(line));
                }
            }
            Mode::SqliteTrigger(Some(_)) => {}
            Mode::Routine => {
                if let Tok::Word(kw) = tok
                    && self.paren == 0
                {
                    match self.dialect {
                        Dialect::Postgres => self.postgres_block(at, end, kw),
                        _ => self.mysql_block(at, end, kw),
                    }
                }
            }
        }
    }

    /// PostgreSQL's SQL-standard bodies: `BEGIN ATOMIC ... END`, in which `CASE ... END`
    /// also closes with `END`. `END` is reserved there, so any `END` closes.
    fn postgres_block(&mut self, at: usize, end: usize, kw: Kw) {
        match kw {
            Kw::Begin => {
                if let Peek::Word(Kw::Atomic, _) = self.peek(end) {
                    let line = self.line_at(at);
                    self.blocks.push((Block::Begin, line));
                }
            }
            Kw::Case if !self.blocks.is_empty() => {
                let line = self.line_at(at);
                self.blocks.push((Block::Case, line));
            }
            Kw::End => {
                self.blocks.pop();
            }
            _ => {}
        }
    }

    /// MySQL compound statements. `IF`, `REPEAT` and `END` are also function names or
    /// identifiers, so openers count only where a statement can start, and a bare `END`
    /// closes a `BEGIN` only when a `;` (or a label and `;`) follows.
    fn mysql_block(&mut self, at: usize, end: usize, kw: Kw) {
        let after_end = self.prev == Tok::Word(Kw::End);
        let statement_start = matches!(
            self.prev,
            Tok::Semi
                | Tok::Colon
                | Tok::Word(
                    Kw::Begin | Kw::Then | Kw::Else | Kw::Do | Kw::Loop | Kw::Repeat | Kw::Row
                )
        ) || (self.blocks.is_empty() && self.prev == Tok::Close);
        let opened = match kw {
            Kw::Begin => Some(Block::Begin),
            Kw::Case if !after_end => Some(Block::Case),
            Kw::If if !after_end && statement_start => Some(Block::If),
            Kw::For if !after_end && statement_start => Some(Block::For),
            Kw::Loop if !after_end => Some(Block::Loop),
            Kw::While if !after_end => Some(Block::While),
            Kw::Repeat if !after_end && self.peek(end) != Peek::Byte(b'(') => Some(Block::Repeat),
            Kw::End => {
                self.mysql_end(end);
                None
            }
            _ => None,
        };
        if let Some(block) = opened {
            let line = self.line_at(at);
            self.blocks.push((block, line));
        }
    }

    fn mysql_end(&mut self, end: usize) {
        let Some(&(top, _)) = self.blocks.last() else {
            return;
        };
        let closes = match self.peek(end) {
            // `END IF`, `END LOOP`, ...: closes only its own kind of block.
            Peek::Word(kw, _) if Block::closed_by(kw).is_some() => {
                Block::closed_by(kw) == Some(top)
            }
            _ if top == Block::Case => true,
            Peek::Eof | Peek::Byte(b';') => top == Block::Begin,
            // `END label;`
            Peek::Word(_, after) => {
                top == Block::Begin && matches!(self.peek(after), Peek::Eof | Peek::Byte(b';'))
            }
            Peek::Byte(_) => false,
        };
        if closes {
            self.blocks.pop();
        }
    }

    /// The next significant thing after `from`, without consuming anything.
    fn peek(&self, from: usize) -> Peek {
        let mut p = from;
        loop {
            let Some(c) = self.byte(p) else {
                return Peek::Eof;
            };
            if c.is_ascii_whitespace() || c == 0x0b {
                p += 1;
            } else if self.comment_len(p).is_some() {
                match self.comment_end_quiet(p) {
                    Some(end) => p = end,
                    None => return Peek::Eof,
                }
            } else if is_word_start(c) {
                let len = self.b[p..]
                    .iter()
                    .take_while(|&&c| is_word_start(c) || c == b'$')
                    .count();
                let end = p + len;
                return Peek::Word(classify(&self.b[p..end]), end);
            } else {
                return Peek::Byte(c);
            }
        }
    }

    fn semicolon(&mut self, at: usize) -> Result<(), SplitError> {
        let ends = match self.mode {
            Mode::SqliteTrigger(Some(_)) => {
                self.prev == Tok::Word(Kw::End) && self.prev2 == Tok::Semi
            }
            _ if !self.blocks.is_empty() => false,
            // psql does not end a statement inside parentheses (`CREATE RULE ... DO (a; b)`).
            _ if self.dialect == Dialect::Postgres => self.paren == 0,
            _ => true,
        };
        if ends || self.start.is_none() {
            self.pos = at + 1;
            self.flush();
            Ok(())
        } else {
            self.token(at, at + 1, Tok::Semi)
        }
    }

    fn flush(&mut self) {
        if let Some((start, line)) = self.start.take() {
            let sql = self.src.get(start..self.last_end).unwrap_or_default();
            self.out.push(Statement {
                sql: sql.to_string(),
                line,
            });
        }
        self.paren = 0;
        self.prev = Tok::None;
        self.prev2 = Tok::None;
        self.mode = Mode::Plain;
        self.blocks.clear();
    }

    fn finish(mut self) -> Result<Vec<Statement>, SplitError> {
        if let Some(&(block, line)) = self.blocks.first() {
            return Err(SplitError {
                line,
                kind: SplitErrorKind::UnterminatedBlock {
                    keyword: block.keyword(),
                    closer: block.closer(),
                },
            });
        }
        if let Mode::SqliteTrigger(Some(line)) = self.mode {
            let closed = self.prev == Tok::Word(Kw::End) && self.prev2 == Tok::Semi;
            if !closed {
                return Err(SplitError {
                    line,
                    kind: SplitErrorKind::UnterminatedBlock {
                        keyword: "BEGIN",
                        closer: "END",
                    },
                });
            }
        }
        self.flush();
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql];

    fn sqls(sql: &str, dialect: Dialect) -> Vec<String> {
        split_statements(sql, dialect, 1)
            .unwrap_or_else(|e| panic!("{dialect}: {e}"))
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    fn err(sql: &str, dialect: Dialect) -> SplitError {
        match split_statements(sql, dialect, 1) {
            Ok(s) => panic!("{dialect}: expected an error, got {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn splits_on_semicolons_and_keeps_a_last_statement_without_one() {
        for d in ALL {
            assert_eq!(
                sqls(
                    "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nSELECT 1",
                    d
                ),
                [
                    "CREATE TABLE a (x int)",
                    "INSERT INTO a VALUES (1)",
                    "SELECT 1"
                ],
                "{d}"
            );
        }
    }

    #[test]
    fn drops_empty_and_comment_only_statements() {
        for d in ALL {
            assert_eq!(sqls("", d), Vec::<String>::new());
            assert_eq!(sqls("  \n\n", d), Vec::<String>::new());
            assert_eq!(
                sqls(";;\n ; -- nothing\n/* still nothing */;", d),
                Vec::<String>::new()
            );
            assert_eq!(
                sqls("-- write the upgrade SQL here\n", d),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn keeps_comments_inside_a_statement_and_drops_those_around_it() {
        for d in ALL {
            assert_eq!(
                sqls(
                    "-- users\nCREATE TABLE users ( -- the people\n  id int /* key */\n); -- done\n",
                    d
                ),
                ["CREATE TABLE users ( -- the people\n  id int /* key */\n)"],
                "{d}"
            );
        }
    }

    #[test]
    fn strings_containing_semicolons_and_comment_markers_are_one_token() {
        for d in ALL {
            assert_eq!(
                sqls(
                    "INSERT INTO t VALUES ('a; -- b /* c', 'it''s;');SELECT 2",
                    d
                ),
                [
                    "INSERT INTO t VALUES ('a; -- b /* c', 'it''s;')",
                    "SELECT 2"
                ],
                "{d}"
            );
        }
    }

    #[test]
    fn quoted_identifiers_containing_semicolons_are_one_token() {
        assert_eq!(
            sqls(
                "CREATE TABLE \"a;b\" (\"c\"\"; d\" int);SELECT 1",
                Dialect::Postgres
            ),
            ["CREATE TABLE \"a;b\" (\"c\"\"; d\" int)", "SELECT 1"]
        );
        assert_eq!(
            sqls(
                "CREATE TABLE \"a;b\" ([c;d] int, `e;f` int);SELECT 1",
                Dialect::Sqlite
            ),
            ["CREATE TABLE \"a;b\" ([c;d] int, `e;f` int)", "SELECT 1"]
        );
        assert_eq!(
            sqls("CREATE TABLE `a;b` (`c``;` int);SELECT 1", Dialect::Mysql),
            ["CREATE TABLE `a;b` (`c``;` int)", "SELECT 1"]
        );
    }

    #[test]
    fn postgres_function_with_dollar_quoted_body() {
        let sql = "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.updated := now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nCREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();";
        let got = sqls(sql, Dialect::Postgres);
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with("$$ LANGUAGE plpgsql"), "{got:?}");
        assert!(got[1].starts_with("CREATE TRIGGER"));
    }

    #[test]
    fn postgres_tagged_dollar_quotes_nest_other_tags() {
        let sql =
            "DO $outer$ BEGIN EXECUTE $q$SELECT ';'$q$; PERFORM $$x;$$; END $outer$; SELECT 1";
        assert_eq!(
            sqls(sql, Dialect::Postgres),
            [
                "DO $outer$ BEGIN EXECUTE $q$SELECT ';'$q$; PERFORM $$x;$$; END $outer$",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn postgres_parameters_and_dollar_in_identifiers_are_not_quotes() {
        assert_eq!(
            sqls(
                "PREPARE p AS SELECT $1 + $2; SELECT a$b$ FROM t; SELECT 3",
                Dialect::Postgres
            ),
            [
                "PREPARE p AS SELECT $1 + $2",
                "SELECT a$b$ FROM t",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn postgres_escape_strings_take_backslash_escapes() {
        assert_eq!(
            sqls(
                r"SELECT E'it\'s; fine', e'\\'; SELECT 'a\'; SELECT 2",
                Dialect::Postgres
            ),
            [r"SELECT E'it\'s; fine', e'\\'", r"SELECT 'a\'", "SELECT 2"]
        );
    }

    #[test]
    fn postgres_block_comments_nest() {
        assert_eq!(
            sqls(
                "/* a /* b; */ c; */ SELECT 1; SELECT /* x /* y */ ; */ 2",
                Dialect::Postgres
            ),
            ["SELECT 1", "SELECT /* x /* y */ ; */ 2"]
        );
        // Elsewhere the first `*/` closes the comment.
        assert_eq!(
            sqls("/* a /* b */ SELECT 1; SELECT 2", Dialect::Sqlite),
            ["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn postgres_begin_atomic_bodies() {
        let sql = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT f(1);";
        let got = sqls(sql, Dialect::Postgres);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("SELECT 2;\nEND"));
        let proc = "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; CALL p()";
        assert_eq!(sqls(proc, Dialect::Postgres).len(), 2);
    }

    #[test]
    fn postgres_semicolons_in_parentheses_do_not_split() {
        let sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1";
        assert_eq!(sqls(sql, Dialect::Postgres).len(), 2);
    }

    #[test]
    fn transaction_control_begin_is_an_ordinary_statement() {
        for d in ALL {
            assert_eq!(
                sqls(
                    "BEGIN;\nCREATE TABLE a (x int);\nCOMMIT;\nBEGIN TRANSACTION;\nSELECT 1;\nEND;",
                    d
                ),
                [
                    "BEGIN",
                    "CREATE TABLE a (x int)",
                    "COMMIT",
                    "BEGIN TRANSACTION",
                    "SELECT 1",
                    "END"
                ],
                "{d}"
            );
        }
        assert_eq!(
            sqls("BEGIN WORK; SELECT 1; COMMIT", Dialect::Mysql),
            ["BEGIN WORK", "SELECT 1", "COMMIT"]
        );
    }

    #[test]
    fn sqlite_trigger_body_is_one_statement() {
        let sql = "CREATE TRIGGER audit AFTER UPDATE ON users\nBEGIN\n  INSERT INTO log VALUES (CASE WHEN new.a THEN 'x;' END);\n  UPDATE users SET n = n + 1 WHERE id = new.id;\nEND;\nCREATE TEMP TRIGGER t2 AFTER INSERT ON users BEGIN SELECT 1; END\n";
        let got = sqls(sql, Dialect::Sqlite);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("END"));
        assert!(got[1].starts_with("CREATE TEMP TRIGGER") && got[1].ends_with("END"));
    }

    #[test]
    fn sqlite_trigger_case_end_does_not_close_the_body() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN 1 THEN 2 END; END; SELECT 1";
        let got = sqls(sql, Dialect::Sqlite);
        assert_eq!(
            got,
            [
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN 1 THEN 2 END; END",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn mysql_procedure_with_nested_blocks() {
        let sql = "CREATE DEFINER=`admin`@`%` PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; END;
  lbl: LOOP
    SET i = i + 1;
    IF i > n THEN
      LEAVE lbl;
    ELSEIF i = 3 THEN
      SELECT IF(i > 1, 'a;', 'b');
    ELSE
      BEGIN
        INSERT INTO t VALUES (i, CASE WHEN i > 2 THEN 'x' ELSE 'y' END);
      END;
    END IF;
  END LOOP lbl;
  CASE n WHEN 1 THEN SELECT 1; ELSE SELECT REPEAT('a;', 2); END CASE;
  WHILE i > 0 DO SET i = i - 1; END WHILE;
  REPEAT SET i = i + 1; UNTIL i > 5 END REPEAT;
END;
CALL fill(10);";
        let got = sqls(sql, Dialect::Mysql);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].ends_with("END REPEAT;\nEND"));
        assert_eq!(got[1], "CALL fill(10)");
    }

    #[test]
    fn mysql_routines_without_begin_end_at_their_semicolon() {
        let sql = "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END;
CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.b = IF(NEW.c, 1, 2);
CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; DELETE FROM b; END;
SELECT 1";
        assert_eq!(sqls(sql, Dialect::Mysql).len(), 4);
    }

    #[test]
    fn mysql_end_as_a_column_name_does_not_close_a_block() {
        let sql = "CREATE PROCEDURE p() BEGIN SELECT start, end FROM ranges; UPDATE r SET r.end = 1; END; SELECT 2";
        assert_eq!(sqls(sql, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn mariadb_begin_not_atomic_is_a_block() {
        let sql = "BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END; SELECT 1";
        assert_eq!(sqls(sql, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn mysql_comments_and_strings() {
        assert_eq!(
            sqls(
                "SELECT 1 # a; comment\n; SELECT 'a\\';b', \"c\\\";d\"; SELECT 5--1;\nSELECT 6 -- x;\n",
                Dialect::Mysql
            ),
            [
                "SELECT 1",
                "SELECT 'a\\';b', \"c\\\";d\"",
                "SELECT 5--1",
                "SELECT 6"
            ]
        );
        // `#` is an operator in PostgreSQL, not a comment.
        assert_eq!(
            sqls("SELECT 1 # 2; SELECT 3", Dialect::Postgres),
            ["SELECT 1 # 2", "SELECT 3"]
        );
    }

    #[test]
    fn mysql_executable_comments_are_statements() {
        assert_eq!(
            sqls("/*!40101 SET NAMES utf8 */;\n/* plain */;", Dialect::Mysql),
            ["/*!40101 SET NAMES utf8 */"]
        );
    }

    #[test]
    fn lines_point_at_the_first_token_of_each_statement() {
        let sql = "\n-- comment\nSELECT 1;\n\n  SELECT\n 2; /* c\n */ SELECT 3";
        let got = split_statements(sql, Dialect::Postgres, 7).unwrap();
        let lines: Vec<usize> = got.iter().map(|s| s.line).collect();
        assert_eq!(lines, [9, 11, 13]);
    }

    #[test]
    fn unterminated_constructs_name_the_line_they_start_on() {
        use SplitErrorKind::*;
        for d in ALL {
            assert_eq!(
                err("SELECT 1;\nSELECT 'abc;\n\n", d),
                SplitError {
                    line: 2,
                    kind: UnterminatedString
                }
            );
            assert_eq!(
                err("SELECT 1;\n\n/* open\n", d),
                SplitError {
                    line: 3,
                    kind: UnterminatedComment
                }
            );
        }
        assert_eq!(
            err("SELECT \"a;", Dialect::Postgres).kind,
            UnterminatedIdentifier
        );
        assert_eq!(
            err("SELECT `a;", Dialect::Mysql).kind,
            UnterminatedIdentifier
        );
        assert_eq!(
            err("SELECT [a;", Dialect::Sqlite).kind,
            UnterminatedIdentifier
        );
        assert_eq!(err("SELECT \"a;", Dialect::Mysql).kind, UnterminatedString);
        assert_eq!(
            err("SELECT 1 /* a /* b */", Dialect::Postgres).kind,
            UnterminatedComment
        );
        assert_eq!(
            err("SELECT 1;\nDO $body$ BEGIN END $$;", Dialect::Postgres),
            SplitError {
                line: 2,
                kind: UnterminatedDollarQuote {
                    tag: "$body$".into()
                }
            }
        );
        assert_eq!(
            err(
                "SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n SELECT 1;\n",
                Dialect::Sqlite
            ),
            SplitError {
                line: 3,
                kind: UnterminatedBlock {
                    keyword: "BEGIN",
                    closer: "END"
                }
            }
        );
        assert_eq!(
            err(
                "CREATE PROCEDURE p()\nBEGIN\n IF 1 THEN SELECT 1; END;\n",
                Dialect::Mysql
            )
            .line,
            2
        );
        assert_eq!(
            err(
                "CREATE FUNCTION f() RETURNS int\nBEGIN ATOMIC SELECT 1;",
                Dialect::Postgres
            ),
            SplitError {
                line: 2,
                kind: UnterminatedBlock {
                    keyword: "BEGIN",
                    closer: "END"
                }
            }
        );
    }

    #[test]
    fn mysql_delimiter_commands_are_refused_with_advice() {
        let sql =
            "SELECT 1;\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;";
        assert_eq!(
            err(sql, Dialect::Mysql),
            SplitError {
                line: 2,
                kind: SplitErrorKind::Delimiter
            }
        );
        // Only a statement's first word counts.
        assert_eq!(
            sqls("SELECT delimiter FROM t", Dialect::Mysql),
            ["SELECT delimiter FROM t"]
        );
    }

    #[test]
    fn pg_dump_restrict_lines_are_skipped_between_statements() {
        // The shape pg_dump 17.6 writes at the top and the bottom of every dump.
        let sql = "--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123xyz\n\n\
                   SET statement_timeout = 0;\nCREATE TABLE public.t (id integer);\n\n\
                   \\unrestrict AbC123xyz\n";
        let got = split_statements(sql, Dialect::Postgres, 1).unwrap();
        let seen: Vec<(usize, &str)> = got.iter().map(|s| (s.line, s.sql.as_str())).collect();
        assert_eq!(
            seen,
            [
                (7, "SET statement_timeout = 0"),
                (8, "CREATE TABLE public.t (id integer)")
            ]
        );
        // Indented, or the last line without a newline.
        assert_eq!(
            sqls(
                "  \\restrict k\nSELECT 1;\n\\unrestrict k",
                Dialect::Postgres
            ),
            ["SELECT 1"]
        );
    }

    #[test]
    fn other_psql_meta_commands_are_refused_naming_their_line() {
        let meta = |sql: &str| match err(sql, Dialect::Postgres) {
            SplitError {
                line,
                kind: SplitErrorKind::MetaCommand { command },
            } => (line, command),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            meta("SELECT 1;\n\\connect other\nSELECT 2;"),
            (2, "connect".into())
        );
        assert_eq!(meta("\n\n\\i other.sql"), (3, "i".into()));
        assert_eq!(meta("\\set ON_ERROR_STOP on"), (1, "set".into()));
        // Inside a statement even \restrict is not skipped: psql would run it there.
        assert_eq!(
            meta("CREATE TABLE t (\n\\restrict k\n);"),
            (2, "restrict".into())
        );
        let text = err("\\c db", Dialect::Postgres).to_string();
        assert!(
            text.starts_with("line 1: \\c is a psql meta-command"),
            "{text}"
        );
    }

    #[test]
    fn backslashes_in_strings_comments_and_dollar_quotes_are_not_meta_commands() {
        let sql = "SELECT '\n\\x';\n-- \\x\n/*\n\\x */ SELECT 2;\n\
                   CREATE FUNCTION f() RETURNS text AS $$\n\\x\n$$ LANGUAGE sql;\n\
                   SELECT E'\\\\'";
        assert_eq!(
            split_statements(sql, Dialect::Postgres, 1).unwrap().len(),
            4
        );
        // Other dialects leave the backslash to the database.
        assert_eq!(sqls("\\x", Dialect::Sqlite), ["\\x"]);
    }

    #[test]
    fn error_text_names_the_line() {
        let e = err("\n'open", Dialect::Sqlite);
        assert_eq!(
            e.to_string(),
            "line 2: unterminated string literal (opened on this line)"
        );
    }

    #[test]
    fn non_ascii_text_is_kept_intact() {
        assert_eq!(
            sqls(
                "INSERT INTO café VALUES ('naïve; ünïcode');SELECT 'ß'",
                Dialect::Postgres
            ),
            ["INSERT INTO café VALUES ('naïve; ünïcode')", "SELECT 'ß'"]
        );
    }
}
