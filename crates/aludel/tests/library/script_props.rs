//! Property tests for migration files: the header parser and the statement splitter never
//! panic, splitting gives generated statements back with their lines, and rendered
//! revisions parse back to the same header.

use aludel::graph::Direction;
use aludel::script::{NewRevision, Script, ScriptTemplate, split_statements};
use aludel::url::Dialect;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql];

/// 256 cases keep the suite fast; `PROPTEST_CASES` raises it for a longer hunt. Failures
/// are kept next to this file, in `script_props.proptest-regressions` (proptest's
/// default, placed from the binary's `main.rs`, would be
/// `tests/proptest-regressions/script_props.txt`).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop::sample::select(DIALECTS.to_vec())
}

/// Fragments that exercise every lexer state and block heuristic.
const FRAGMENTS: &[&str] = &[
    "BEGIN",
    "END",
    "CASE",
    "IF",
    "LOOP",
    "WHILE",
    "REPEAT",
    "FOR",
    "THEN",
    "ELSE",
    "DO",
    "CREATE",
    "TRIGGER",
    "PROCEDURE",
    "FUNCTION",
    "EVENT",
    "ATOMIC",
    "NOT",
    "ROW",
    "TABLE",
    ";",
    "'",
    "''",
    "\"",
    "`",
    "$$",
    "$a$",
    "$1",
    "--",
    "-- c\n",
    "#",
    "/*",
    "*/",
    "(",
    ")",
    "\n",
    " ",
    "\r\n",
    "E'",
    "\\",
    "[",
    "]",
    ".",
    ":",
    "x",
    "é",
    "1",
    "-- aludel:upgrade\n",
];

fn sqlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.join(" "))
}

fn check_split_invariants(input: &str, dialect: Dialect, first_line: usize) {
    let Ok(statements) = split_statements(input, dialect, first_line) else {
        return;
    };
    let last_line = first_line + input.matches('\n').count();
    let mut prev_line = first_line;
    for s in &statements {
        assert!(!s.sql.is_empty(), "empty statement from {input:?}");
        // SQL whitespace is ASCII; databases read other spaces as identifier characters.
        let sql_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
        assert_eq!(
            s.sql.trim_matches(sql_space),
            s.sql,
            "untrimmed statement from {input:?}"
        );
        assert!(input.contains(&s.sql), "{:?} is not in {input:?}", s.sql);
        assert!(
            (prev_line..=last_line).contains(&s.line),
            "line {} out of order in {input:?}",
            s.line
        );
        prev_line = s.line;
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn splitter_never_panics_on_arbitrary_text(input in any::<String>(), d in dialect(), first in 1usize..100) {
        check_split_invariants(&input, d, first);
    }

    #[test]
    fn splitter_never_panics_on_sql_like_text(input in sqlish(), d in dialect()) {
        check_split_invariants(&input, d, 1);
    }
}

/// A simple statement whose text survives splitting, with literals and identifiers that
/// contain the characters the splitter must not be fooled by.
fn simple_statement(dialect: Dialect) -> impl Strategy<Value = String> {
    let text = "[a-z ;'\"`\\-/*#$\n]{0,12}";
    let quoted_string = text.prop_map(move |s| {
        let mut s = s.replace('\'', "''");
        if dialect == Dialect::Mysql {
            s = s.replace('\\', "\\\\");
        }
        format!("'{s}'")
    });
    let quoted_ident = text.prop_map(move |s| match dialect {
        Dialect::Mysql => format!("`{}`", s.replace('`', "``")),
        _ => format!("\"{}\"", s.replace('"', "\"\"")),
    });
    let pieces = prop::collection::vec(
        prop_oneof![
            quoted_string,
            quoted_ident,
            "[a-z_][a-z0-9_]{0,8}",
            Just("(1, 2)".to_string()),
            Just("/* inner; comment */".to_string()),
            Just("-- inner; comment\n".to_string()),
            Just("\n  ".to_string()),
        ],
        0..6,
    );
    (
        prop::sample::select(vec![
            "SELECT",
            "INSERT INTO t VALUES",
            "UPDATE t SET a =",
            "BEGIN",
        ]),
        pieces,
        "[a-z0-9]{1,5}",
    )
        .prop_map(|(head, pieces, tail)| format!("{head} {} {tail}", pieces.join(" ")))
}

/// What may separate statements besides the `;`.
fn separator() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        " ",
        "\n",
        "\n\n",
        "  -- trailing; comment\n",
        "\n/* a; block */\n",
        "\r\n",
    ])
    .prop_map(str::to_string)
}

fn statements_and_separators() -> impl Strategy<Value = (Dialect, Vec<(String, String)>, bool)> {
    dialect().prop_flat_map(|d| {
        (
            Just(d),
            prop::collection::vec((simple_statement(d), separator()), 1..8),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn splitting_joined_statements_gives_them_back_with_their_lines(
        (d, parts, trailing_semicolon) in statements_and_separators(),
        lead in separator(),
        first_line in 1usize..50,
    ) {
        let mut input = lead;
        let mut expected = Vec::new();
        for (i, (stmt, sep)) in parts.iter().enumerate() {
            let line = first_line + input.matches('\n').count();
            expected.push((stmt.clone(), line));
            input.push_str(stmt);
            if i + 1 < parts.len() || trailing_semicolon {
                input.push(';');
            } else {
                // A last statement without `;` ends at a line break, as files do.
                input.push('\n');
            }
            input.push_str(sep);
        }
        let got = split_statements(&input, d, first_line)
            .map_err(|e| TestCaseError::fail(format!("{e} in {input:?}")))?;
        let got: Vec<(String, usize)> = got.into_iter().map(|s| (s.sql, s.line)).collect();
        prop_assert_eq!(got, expected, "input {:?}", input);
    }
}

const VALID: &str = "\
-- aludel:revision 3f2a9c1d7b40
-- aludel:revises 9e1b22c0aa17
-- aludel:message add users table
-- aludel:created 2026-01-10T14:30:00Z
-- aludel:branch_labels core
-- aludel:depends_on other
-- aludel:transaction false

-- aludel:upgrade
CREATE TABLE users (id int);
-- aludel:upgrade sqlite
CREATE TABLE users (id integer);

-- aludel:downgrade
DROP TABLE users;
";

/// Lines worth inserting into a valid file.
const LINES: &[&str] = &[
    "-- aludel:revision x",
    "-- aludel:revises",
    "-- aludel:created nope",
    "-- aludel:transaction maybe",
    "-- aludel:unknown 1",
    "-- aludel:upgrade",
    "-- aludel:downgrade mysql",
    "-- aludel:upgrade oracle",
    "SELECT 1;",
    "/* open",
    "*/",
    "'",
    "$$",
    "BEGIN",
    "-- a comment",
    "",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Insert(usize, &'static str),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..20).prop_map(Mutation::Delete),
        (0usize..20).prop_map(Mutation::Duplicate),
        (0usize..20, 0usize..20).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (0usize..20, prop::sample::select(LINES)).prop_map(|(i, l)| Mutation::Insert(i, l)),
        (0usize..400).prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        let n = lines.len().max(1);
        match *m {
            Mutation::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::Duplicate(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Insert(i, line) => lines.insert(i % (lines.len() + 1), line.to_string()),
            Mutation::Truncate(at) => {
                let joined = lines.join("\n");
                let mut cut = at.min(joined.len());
                while !joined.is_char_boundary(cut) {
                    cut -= 1;
                }
                lines = joined[..cut].lines().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

fn check_parse(text: String) {
    let line_count = text.lines().count().max(1);
    match Script::parse("v/x.sql", text) {
        Ok(script) => {
            for d in DIALECTS {
                for dir in [Direction::Upgrade, Direction::Downgrade] {
                    let _ = script.statements(dir, d);
                }
            }
            let spec = script.spec();
            assert!(spec.origin.revision_line >= 1 && spec.origin.revision_line <= line_count);
        }
        Err(e) => {
            let msg = e.to_string();
            let rest = msg
                .strip_prefix("v/x.sql:")
                .unwrap_or_else(|| panic!("no path in {msg}"));
            let line: usize = rest
                .split(':')
                .next()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("no line in {msg}"));
            assert!(
                line >= 1 && line <= line_count,
                "line {line} out of range: {msg}"
            );
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn header_parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        check_parse(text);
    }

    #[test]
    fn header_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Script::from_bytes("v/x.sql", bytes);
    }

    #[test]
    fn mutated_valid_files_parse_or_fail_with_a_line(mutations in prop::collection::vec(mutation(), 0..5)) {
        check_parse(mutate(VALID, &mutations));
    }

    #[test]
    fn rendered_revisions_parse_back_to_the_same_header(
        id in "[A-Za-z0-9_]{1,16}",
        parents in prop::collection::vec("[a-f0-9]{12}", 0..3),
        message in "[^\r\n]{0,40}",
        labels in prop::collection::vec("[a-z][a-z0-9_.-]{0,8}", 0..3),
        depends in prop::collection::vec("[a-z0-9_]{1,8}", 0..3),
        transaction in prop::option::of(any::<bool>()),
        seconds in 0i64..4_000_000_000,
        upgrade in sqlish(),
    ) {
        let dedup = |v: Vec<String>| {
            let mut out: Vec<String> = Vec::new();
            for x in v {
                if !out.contains(&x) && x != id {
                    out.push(x);
                }
            }
            out
        };
        let new = NewRevision {
            id: id.clone(),
            parents: dedup(parents),
            message: message.clone(),
            created: Some(jiff::Timestamp::from_second(seconds).map_err(|e| TestCaseError::fail(e.to_string()))?),
            branch_labels: dedup(labels),
            depends_on: dedup(depends),
            transaction,
            // Directive lines in the SQL would be refused; the header is what is tested.
            upgrade: upgrade.replace("-- aludel:", "-- "),
            downgrade: String::new(),
            ddl_commits_by_itself: false,
        };
        let text = new.render(&ScriptTemplate::builtin())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let script = Script::parse("v/x.sql", text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let spec = script.spec();
        prop_assert_eq!(&spec.id, &new.id);
        prop_assert_eq!(&spec.parents, &new.parents);
        prop_assert_eq!(spec.message, message.split_whitespace().collect::<Vec<_>>().join(" "));
        prop_assert_eq!(&spec.branch_labels, &new.branch_labels);
        prop_assert_eq!(&spec.depends_on, &new.depends_on);
        prop_assert_eq!(script.transaction(), transaction.unwrap_or(true));
        let created: jiff::Timestamp = spec.created.unwrap_or_default().parse()
            .map_err(|e: jiff::Error| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(created.as_second(), seconds);
    }
}
