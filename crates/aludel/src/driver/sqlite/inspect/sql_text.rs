//! What SQLite's pragmas do not tell, read from the `CREATE` statements it keeps in
//! `sqlite_schema`: constraint names, check and generated expressions, `DEFERRABLE`,
//! `AUTOINCREMENT`, index expressions and predicates, view queries.
//!
//! One tokenizer serves every extraction. It knows quotes, comments and parentheses,
//! and nothing else of SQL: tokens keep their byte span, so an extracted expression is
//! the source text exactly as written.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A keyword or a bare identifier.
    Word,
    /// A quoted identifier: `"x"`, `` `x` ``, `[x]`.
    Quoted,
    /// A string literal `'x'`.
    String,
    /// A number.
    Number,
    /// Any other single character: `(`, `)`, `,`, `;`, operators.
    Punct,
}

/// One token and where it is in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

impl Token<'_> {
    /// Whether this is the keyword `word` (any case).
    fn is(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }

    fn is_punct(&self, c: &str) -> bool {
        self.kind == Kind::Punct && self.text == c
    }
}

/// Splits `sql` into tokens, leaving out whitespace and comments. An unterminated
/// quote or comment runs to the end: the text came from SQLite, which accepted it.
pub(super) fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Where a quoted token ends: after its closing quote, a doubled quote escaping it.
    let quoted_end = |from: usize, close: u8, doubled: bool| -> usize {
        let mut j = from + 1;
        while j < bytes.len() {
            if bytes[j] == close {
                if doubled && bytes.get(j + 1) == Some(&close) {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            j += 1;
        }
        bytes.len()
    };
    while i < bytes.len() {
        let b = bytes[i];
        let (kind, end) = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'\'' => (Kind::String, quoted_end(i, b'\'', true)),
            b'"' => (Kind::Quoted, quoted_end(i, b'"', true)),
            b'`' => (Kind::Quoted, quoted_end(i, b'`', true)),
            b'[' => (Kind::Quoted, quoted_end(i, b']', false)),
            b'0'..=b'9' => {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'.') {
                    j += 1;
                }
                (Kind::Number, j)
            }
            _ if is_word_byte(b) => {
                let mut j = i + 1;
                while j < bytes.len() && is_word_byte(bytes[j]) {
                    j += 1;
                }
                (Kind::Word, j)
            }
            _ => {
                // One character, whole: multi-byte UTF-8 is never split.
                let len = sql[i..].chars().next().map_or(1, char::len_utf8);
                (Kind::Punct, i + len)
            }
        };
        tokens.push(Token {
            kind,
            text: &sql[i..end],
            start: i,
            end,
        });
        i = end;
    }
    tokens
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The name a token stands for: quotes removed, doubled quotes undone.
pub(super) fn ident(token: &Token<'_>) -> String {
    let t = token.text;
    match token.kind {
        Kind::Quoted | Kind::String if t.len() >= 2 => {
            let inner = &t[1..t.len() - 1];
            match t.as_bytes()[0] {
                b'"' => inner.replace("\"\"", "\""),
                b'`' => inner.replace("``", "`"),
                b'\'' => inner.replace("''", "'"),
                _ => inner.to_string(),
            }
        }
        _ => t.to_string(),
    }
}

/// The index of the `)` closing the `(` at `open`, or the end.
fn closing(tokens: &[Token<'_>], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len()
}

/// The ranges of `tokens[from..to]` between commas outside parentheses.
fn split_commas(tokens: &[Token<'_>], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, from);
    for (i, t) in tokens.iter().enumerate().take(to).skip(from) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if t.is_punct(",") && depth == 0 {
            parts.push((start, i));
            start = i + 1;
        }
    }
    if start < to {
        parts.push((start, to));
    }
    parts
}

/// The source text of `tokens[from..to]`, comments inside included, as written.
fn text(sql: &str, tokens: &[Token<'_>], from: usize, to: usize) -> String {
    match (
        tokens.get(from),
        to.checked_sub(1).and_then(|l| tokens.get(l)),
    ) {
        (Some(first), Some(last)) if from < to => sql[first.start..last.end].trim().to_string(),
        _ => String::new(),
    }
}

/// The text inside the parentheses opening at `open`, and the index after them.
fn parenthesized(sql: &str, tokens: &[Token<'_>], open: usize) -> (String, usize) {
    let close = closing(tokens, open);
    (text(sql, tokens, open + 1, close), close + 1)
}

/// The first top-level `(` at or after `from`.
fn first_open(tokens: &[Token<'_>], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| tokens[i].is_punct("("))
}

/// What a `CREATE TABLE` statement says beyond the pragmas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TableSql {
    /// `CONSTRAINT name PRIMARY KEY`.
    pub primary_key_name: Option<String>,
    /// The column declared `PRIMARY KEY AUTOINCREMENT`.
    pub autoincrement: Option<String>,
    /// Unique constraints, column-level ones included: name, columns.
    pub uniques: Vec<(Option<String>, Vec<String>)>,
    /// Check constraints in order of appearance: name, expression.
    pub checks: Vec<(Option<String>, String)>,
    /// Foreign keys in order of appearance.
    pub foreign_keys: Vec<ForeignKeySql>,
    /// Generated columns: column, expression.
    pub generated: Vec<(String, String)>,
    /// The table options after the column list, as SQLite names them: `STRICT`,
    /// `WITHOUT ROWID`.
    pub options: Vec<&'static str>,
}

/// A foreign key as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ForeignKeySql {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    /// `DEFERRABLE` → `Some(false)`, `DEFERRABLE INITIALLY DEFERRED` → `Some(true)`.
    pub deferrable: Option<bool>,
}

/// Words that start a column constraint: a foreign key clause ends before them.
const COLUMN_CONSTRAINT_STARTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
    "NULL",
];

/// Reads a `CREATE TABLE` statement.
pub(super) fn parse_create_table(sql: &str) -> TableSql {
    let tokens = tokenize(sql);
    let mut out = TableSql::default();
    let Some(open) = first_open(&tokens, 0) else {
        return out;
    };
    let close = closing(&tokens, open);
    for (from, to) in split_commas(&tokens, open + 1, close) {
        let first = &tokens[from];
        let table_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|w| first.is(w));
        if table_constraint {
            table_constraint_sql(sql, &tokens, from, to, &mut out);
        } else {
            column_sql(sql, &tokens, from, to, &mut out);
        }
    }
    let tail = tokens.get(close + 1..).unwrap_or_default();
    if tail.iter().any(|t| t.is("ROWID")) {
        out.options.push("WITHOUT ROWID");
    }
    if tail.iter().any(|t| t.is("STRICT")) {
        out.options.push("STRICT");
    }
    out
}

/// The column names of a parenthesized list (`(a, "b" DESC, c COLLATE x)`).
fn column_list(tokens: &[Token<'_>], open: usize) -> (Vec<String>, usize) {
    let close = closing(tokens, open);
    let names = split_commas(tokens, open + 1, close)
        .into_iter()
        .map(|(a, _)| ident(&tokens[a]))
        .collect();
    (names, close + 1)
}

/// A `REFERENCES` clause starting at `at`: the referenced table and the deferrable
/// clause, and where the clause ends. Stops before the next constraint in `stop`.
fn references(
    tokens: &[Token<'_>],
    at: usize,
    to: usize,
    stop: bool,
) -> (String, Option<bool>, usize) {
    let mut i = at + 1;
    let mut ref_table = String::new();
    // `schema.table`: the last name before the column list.
    while i < to && !tokens[i].is_punct("(") {
        if tokens[i].kind != Kind::Punct {
            ref_table = ident(&tokens[i]);
        }
        i += 1;
        if i < to && !tokens[i].is_punct(".") {
            break;
        }
        i += usize::from(i < to && tokens[i].is_punct("."));
    }
    if i < to && tokens[i].is_punct("(") {
        i = closing(tokens, i) + 1;
    }
    let mut deferrable = None;
    while i < to {
        let t = &tokens[i];
        if t.is("DEFERRABLE") {
            let not = i > 0 && tokens[i - 1].is("NOT");
            deferrable = if not { None } else { Some(false) };
        } else if t.is("DEFERRED") && i > 0 && tokens[i - 1].is("INITIALLY") {
            if deferrable.is_some() {
                deferrable = Some(true);
            }
        } else if t.is_punct("(") {
            i = closing(tokens, i);
        } else if stop
            && (COLUMN_CONSTRAINT_STARTS.iter().any(|w| t.is(w))
                || (t.is("NOT") && tokens.get(i + 1).is_some_and(|n| n.is("NULL"))))
        {
            break;
        }
        i += 1;
    }
    (ref_table, deferrable, i)
}

fn column_sql(sql: &str, tokens: &[Token<'_>], from: usize, to: usize, out: &mut TableSql) {
    let column = ident(&tokens[from]);
    let mut name: Option<String> = None;
    let mut i = from + 1;
    while i < to {
        let t = &tokens[i];
        if t.is("CONSTRAINT") && i + 1 < to {
            name = Some(ident(&tokens[i + 1]));
            i += 2;
            continue;
        }
        if t.is("PRIMARY") {
            out.primary_key_name = name.take();
        } else if t.is("AUTOINCREMENT") {
            out.autoincrement = Some(column.clone());
        } else if t.is("UNIQUE") {
            out.uniques.push((name.take(), vec![column.clone()]));
        } else if t.is("CHECK") && i + 1 < to && tokens[i + 1].is_punct("(") {
            let (expression, next) = parenthesized(sql, tokens, i + 1);
            out.checks.push((name.take(), expression));
            i = next;
            continue;
        } else if t.is("AS") && i + 1 < to && tokens[i + 1].is_punct("(") {
            let (expression, next) = parenthesized(sql, tokens, i + 1);
            out.generated.push((column.clone(), expression));
            i = next;
            continue;
        } else if t.is("REFERENCES") {
            let (ref_table, deferrable, next) = references(tokens, i, to, true);
            out.foreign_keys.push(ForeignKeySql {
                name: name.take(),
                columns: vec![column.clone()],
                ref_table,
                deferrable,
            });
            i = next;
            continue;
        } else if t.is_punct("(") {
            // A type's modifier or a DEFAULT (expression): nothing to read inside.
            i = closing(tokens, i);
        } else if t.is("DEFAULT") || t.is("COLLATE") || t.is("NULL") || t.is("NOT") {
            // A constraint without its own name: a pending name applied to it.
            name = None;
        }
        i += 1;
    }
}

fn table_constraint_sql(
    sql: &str,
    tokens: &[Token<'_>],
    from: usize,
    to: usize,
    out: &mut TableSql,
) {
    let mut i = from;
    let mut name = None;
    if tokens[i].is("CONSTRAINT") && i + 1 < to {
        name = Some(ident(&tokens[i + 1]));
        i += 2;
    }
    let Some(open) = first_open(tokens, i).filter(|&o| o < to) else {
        return;
    };
    let t = &tokens[i];
    if t.is("PRIMARY") {
        out.primary_key_name = name;
        let close = closing(tokens, open);
        let columns = split_commas(tokens, open + 1, close);
        if let [(a, b)] = columns.as_slice()
            && tokens[*a..*b].iter().any(|t| t.is("AUTOINCREMENT"))
        {
            out.autoincrement = Some(ident(&tokens[*a]));
        }
    } else if t.is("UNIQUE") {
        out.uniques.push((name, column_list(tokens, open).0));
    } else if t.is("CHECK") {
        out.checks.push((name, parenthesized(sql, tokens, open).0));
    } else if t.is("FOREIGN") {
        let (columns, next) = column_list(tokens, open);
        if let Some(at) = (next..to).find(|&k| tokens[k].is("REFERENCES")) {
            let (ref_table, deferrable, _) = references(tokens, at, to, false);
            out.foreign_keys.push(ForeignKeySql {
                name,
                columns,
                ref_table,
                deferrable,
            });
        }
    }
}

/// What a `CREATE INDEX` statement says beyond the pragmas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct IndexSql {
    /// Each key part as written, without its `ASC`/`DESC`.
    pub parts: Vec<String>,
    /// The `WHERE` predicate of a partial index.
    pub predicate: Option<String>,
}

/// Reads a `CREATE INDEX` statement.
pub(super) fn parse_create_index(sql: &str) -> IndexSql {
    let tokens = tokenize(sql);
    let mut out = IndexSql::default();
    let Some(on) = tokens.iter().position(|t| t.is("ON")) else {
        return out;
    };
    let Some(open) = first_open(&tokens, on) else {
        return out;
    };
    let close = closing(&tokens, open);
    for (from, to) in split_commas(&tokens, open + 1, close) {
        let (mut from, mut end) = (from, to);
        if end > from + 1 && (tokens[end - 1].is("ASC") || tokens[end - 1].is("DESC")) {
            end -= 1;
        }
        // Parentheses around the whole part add nothing: `((lower(a)))` is the key
        // `lower(a)`, as an index written either way is the same index.
        while end > from + 1 && tokens[from].is_punct("(") && closing(&tokens, from) == end - 1 {
            from += 1;
            end -= 1;
        }
        out.parts.push(text(sql, &tokens, from, end));
    }
    if tokens.get(close + 1).is_some_and(|t| t.is("WHERE")) {
        out.predicate = Some(statement_rest(sql, &tokens, close + 2));
    }
    out
}

/// The text from token `from` to the end, without a final `;`.
fn statement_rest(sql: &str, tokens: &[Token<'_>], from: usize) -> String {
    let mut to = tokens.len();
    while to > from && tokens[to - 1].is_punct(";") {
        to -= 1;
    }
    text(sql, tokens, from, to)
}

/// The query of a `CREATE VIEW` statement: what follows its `AS`.
pub(super) fn view_query(sql: &str) -> String {
    let tokens = tokenize(sql);
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is("AS") {
            return statement_rest(sql, &tokens, i + 1);
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokenize(sql)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn tokens_respect_quotes_and_skip_comments() {
        assert_eq!(
            kinds("a'it''s (' \"x\"\"y\" -- (\n [b c] /* ) */ `d` 1.5;"),
            vec![
                (Kind::Word, "a"),
                (Kind::String, "'it''s ('"),
                (Kind::Quoted, "\"x\"\"y\""),
                (Kind::Quoted, "[b c]"),
                (Kind::Quoted, "`d`"),
                (Kind::Number, "1.5"),
                (Kind::Punct, ";"),
            ]
        );
        // Unterminated quotes and comments run to the end.
        assert_eq!(kinds("x /* open"), vec![(Kind::Word, "x")]);
        assert_eq!(kinds("'open"), vec![(Kind::String, "'open")]);
        // As in SQLite, any non-ASCII character may be part of a name.
        assert_eq!(
            kinds("café+1"),
            vec![
                (Kind::Word, "café"),
                (Kind::Punct, "+"),
                (Kind::Number, "1")
            ]
        );
    }

    #[test]
    fn names_lose_their_quotes() {
        let names: Vec<String> = tokenize(r#"plain "a ""q""" `b``c` [d e] 'f''g'"#)
            .iter()
            .map(ident)
            .collect();
        assert_eq!(names, vec!["plain", "a \"q\"", "b`c", "d e", "f'g"]);
    }

    #[test]
    fn checks_and_generated_expressions_are_read_as_written() {
        let t = parse_create_table(
            "CREATE TABLE \"t(1)\" (\n\
               a integer CHECK (a > (1 + 2)) CONSTRAINT \"b pos\" CHECK(a /* ) */ <> ')' -- )\n),\n\
               b numeric(10, 2) DEFAULT (round(1.5, 0)) GENERATED ALWAYS AS (a * 2) STORED,\n\
               c text AS (lower('A,B')) -- a comment, (\n\
               , CONSTRAINT named CHECK (c IS NOT NULL), CHECK (b > 0)\n\
             )",
        );
        assert_eq!(
            t.checks,
            vec![
                (None, "a > (1 + 2)".to_string()),
                // Comments inside are kept as written; a trailing one is not part of it.
                (Some("b pos".to_string()), "a /* ) */ <> ')'".to_string()),
                (Some("named".to_string()), "c IS NOT NULL".to_string()),
                (None, "b > 0".to_string()),
            ]
        );
        assert_eq!(
            t.generated,
            vec![
                ("b".to_string(), "a * 2".to_string()),
                ("c".to_string(), "lower('A,B')".to_string()),
            ]
        );
    }

    #[test]
    fn keys_names_and_deferrable_clauses_are_read() {
        let t = parse_create_table(
            "create table t (\
               id INTEGER CONSTRAINT t_pk PRIMARY KEY AUTOINCREMENT,\
               a int UNIQUE REFERENCES p DEFERRABLE INITIALLY DEFERRED NOT NULL,\
               b int CONSTRAINT b_u UNIQUE CONSTRAINT b_fk REFERENCES \"main\".\"q\" (x) ON DELETE CASCADE DEFERRABLE,\
               c int REFERENCES p (y) NOT DEFERRABLE,\
               CONSTRAINT two UNIQUE (a, \"b\" COLLATE nocase),\
               FOREIGN KEY (a, b) REFERENCES r (x, y) MATCH SIMPLE DEFERRABLE INITIALLY IMMEDIATE,\
               CONSTRAINT r2 FOREIGN KEY (c) REFERENCES r (z) DEFERRABLE INITIALLY DEFERRED\
             )",
        );
        assert_eq!(t.primary_key_name.as_deref(), Some("t_pk"));
        assert_eq!(t.autoincrement.as_deref(), Some("id"));
        assert_eq!(
            t.uniques,
            vec![
                (None, vec!["a".to_string()]),
                (Some("b_u".to_string()), vec!["b".to_string()]),
                (
                    Some("two".to_string()),
                    vec!["a".to_string(), "b".to_string()]
                ),
            ]
        );
        let fk = |name: Option<&str>, cols: &[&str], table: &str, deferrable| ForeignKeySql {
            name: name.map(str::to_string),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            ref_table: table.to_string(),
            deferrable,
        };
        assert_eq!(
            t.foreign_keys,
            vec![
                fk(None, &["a"], "p", Some(true)),
                fk(Some("b_fk"), &["b"], "q", Some(false)),
                fk(None, &["c"], "p", None),
                fk(None, &["a", "b"], "r", Some(false)),
                fk(Some("r2"), &["c"], "r", Some(true)),
            ]
        );
        let t = parse_create_table("CREATE TABLE t (id integer, PRIMARY KEY (id AUTOINCREMENT))");
        assert_eq!(t.autoincrement.as_deref(), Some("id"));
        assert_eq!(t.primary_key_name, None);
    }

    #[test]
    fn index_parts_and_predicates_are_read() {
        let i = parse_create_index(
            "CREATE UNIQUE INDEX \"on\" ON t (lower(\"a,b\") DESC, b ASC, (c + 1) collate nocase) \
             WHERE c > 0 AND d = 'x;';",
        );
        assert_eq!(
            i.parts,
            vec!["lower(\"a,b\")", "b", "(c + 1) collate nocase"]
        );
        assert_eq!(i.predicate.as_deref(), Some("c > 0 AND d = 'x;'"));
        assert_eq!(
            parse_create_index("CREATE INDEX i ON t (a)").predicate,
            None
        );
        // Enclosing parentheses are not part of the key; inner ones are.
        assert_eq!(
            parse_create_index("CREATE INDEX i ON t (((lower(a))) DESC, (b + 1) * 2, (c))").parts,
            vec!["lower(a)", "(b + 1) * 2", "c"]
        );
        // Enclosing parentheses go, so that `(expression)` as aludel writes it reads
        // back as `expression`; those that only start or end the part stay.
        assert_eq!(
            parse_create_index("CREATE INDEX i ON t (((lower(a))) DESC, (b) + (c), (d))").parts,
            vec!["lower(a)", "(b) + (c)", "d"]
        );
    }

    #[test]
    fn view_queries_follow_the_first_top_level_as() {
        assert_eq!(
            view_query(
                "CREATE VIEW \"as\" (a, b) AS\n  SELECT x AS a, cast(y AS text) AS b FROM t;"
            ),
            "SELECT x AS a, cast(y AS text) AS b FROM t"
        );
    }
}
