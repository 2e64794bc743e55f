use super::*;

const VALID: &str = "\
-- aludel:revision 3f2a9c1d7b40
-- aludel:revises 9e1b22c0aa17
-- aludel:message add users table
-- aludel:created 2026-01-10T14:30:00Z

-- aludel:upgrade
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE
);

-- aludel:downgrade
DROP TABLE users;
";

fn parse(text: &str) -> Result<Script, ScriptError> {
    Script::parse("v/x.sql", text)
}

/// The error text for `text`, which must not parse.
fn error(text: &str) -> String {
    match parse(text) {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn parses_the_documented_example() {
    let s = parse(VALID).unwrap();
    assert_eq!(s.id(), "3f2a9c1d7b40");
    assert_eq!(s.parents(), ["9e1b22c0aa17"]);
    assert_eq!(s.message(), "add users table");
    assert_eq!(s.created(), Some("2026-01-10T14:30:00Z"));
    assert!(s.transaction());
    let spec = s.spec();
    assert_eq!(spec.origin.path, Path::new("v/x.sql"));
    assert_eq!(spec.origin.revision_line, 1);
    assert_eq!(spec.origin.revises_line, Some(2));
    assert_eq!(spec.origin.depends_on_line, None);
    let up = s.statements(Direction::Upgrade, Dialect::Postgres).unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].line, 7);
    assert!(up[0].sql.starts_with("CREATE TABLE users (") && up[0].sql.ends_with(')'));
    let down = s.statements(Direction::Downgrade, Dialect::Sqlite).unwrap();
    assert_eq!(
        down,
        [Statement {
            sql: "DROP TABLE users".into(),
            line: 13
        }]
    );
}

#[test]
fn parses_every_header_key_among_comments_and_blank_lines() {
    let text = "\n-- a note for humans\n/* a block\n   comment */\n\
        -- aludel:revision abc_123\n\n-- aludel:revises p1 p2\n-- aludel:message  merge  things \n\
        -- aludel:branch_labels feature-x v1.2\n-- aludel:depends_on other_label\n\
        -- aludel:transaction false\r\n--aludel:created 2026-01-10T15:30:00+01:00\n\
        -- aludel:upgrade\n";
    let s = parse(text).unwrap();
    assert_eq!(s.id(), "abc_123");
    assert_eq!(s.parents(), ["p1", "p2"]);
    assert_eq!(s.message(), "merge  things");
    assert_eq!(s.branch_labels(), ["feature-x", "v1.2"]);
    assert_eq!(s.depends_on(), ["other_label"]);
    assert!(!s.transaction());
    assert_eq!(s.created(), Some("2026-01-10T15:30:00+01:00"));
    let o = &s.spec_ref().origin;
    assert_eq!(
        (
            o.revision_line,
            o.revises_line,
            o.branch_labels_line,
            o.depends_on_line
        ),
        (5, Some(7), Some(9), Some(10))
    );
    assert_eq!(
        s.statements(Direction::Upgrade, Dialect::Mysql).unwrap(),
        []
    );
}

#[test]
fn malformed_headers_name_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "-- aludel:revision a\n-- aludel:colour red\n-- aludel:upgrade\n",
            "v/x.sql:2: unknown header key 'colour' (expected revision, revises, message, \
             created, branch_labels, depends_on, transaction, incomplete or doc)",
        ),
        (
            "-- aludel:revision a\n\n-- aludel:revision b\n-- aludel:upgrade\n",
            "v/x.sql:3: duplicate header key 'revision' (first given on line 1)",
        ),
        (
            "-- aludel:message hi\n-- aludel:upgrade\n",
            "v/x.sql:1: missing '-- aludel:revision' header line",
        ),
        (
            "-- aludel:message hi\n-- aludel:revision\n-- aludel:upgrade\n",
            "v/x.sql:2: empty revision id",
        ),
        (
            "-- aludel:revision ab-cd\n-- aludel:upgrade\n",
            "v/x.sql:1: invalid revision id 'ab-cd' (use letters, digits and '_')",
        ),
        (
            "-- aludel:revision a b\n-- aludel:upgrade\n",
            "v/x.sql:1: invalid revision id 'a b' (use letters, digits and '_')",
        ),
        (
            "-- aludel:revision a\n-- aludel:revises b c-d\n-- aludel:upgrade\n",
            "v/x.sql:2: invalid revision id 'c-d' in 'revises'",
        ),
        (
            "-- aludel:revision a\n-- aludel:revises\n-- aludel:upgrade\n",
            "v/x.sql:2: 'revises' needs at least one value (leave the line out instead)",
        ),
        (
            "-- aludel:revision a\n-- aludel:revises b b\n-- aludel:upgrade\n",
            "v/x.sql:2: 'b' is listed twice in 'revises'",
        ),
        (
            "-- aludel:revision a\n-- aludel:revises a\n-- aludel:upgrade\n",
            "v/x.sql:2: revision 'a' revises itself",
        ),
        (
            "-- aludel:revision a\n-- aludel:transaction yes\n-- aludel:upgrade\n",
            "v/x.sql:2: transaction must be 'true' or 'false', not 'yes'",
        ),
        (
            "-- aludel:revision a\n-- aludel:branch_labels x@y\n-- aludel:upgrade\n",
            "v/x.sql:2: invalid branch label 'x@y' in 'branch_labels'",
        ),
        (
            "-- aludel:revision a\n-- aludel:upgrade oracle\n",
            "v/x.sql:2: unknown dialect 'oracle' in section marker (expected postgresql, \
             sqlite or mysql)",
        ),
        (
            "-- aludel:revision a\n-- aludel:upgrade\nSELECT 1;\n-- aludel:upgrade\n",
            "v/x.sql:4: duplicate section '-- aludel:upgrade' (first on line 2)",
        ),
        (
            "-- aludel:revision a\n-- aludel:upgrade postgres\n-- aludel:upgrade postgresql\n",
            "v/x.sql:3: duplicate section '-- aludel:upgrade postgresql' (first on line 2)",
        ),
        (
            "-- aludel:revision a\n-- aludel:incomplete\n-- aludel:upgrade\n",
            "v/x.sql:2: incomplete needs a reason: '-- aludel:incomplete WHY' (the revision's SQL is still to be written)",
        ),
        (
            "-- aludel:revision a\nCREATE TABLE t (x int);\n-- aludel:upgrade\n",
            "v/x.sql:2: SQL before the first section marker; put statements under \
             '-- aludel:upgrade' or '-- aludel:downgrade'",
        ),
        (
            "-- aludel:revision a\n/* note */ SELECT 1;\n-- aludel:upgrade\n",
            "v/x.sql:2: SQL before the first section marker; put statements under \
             '-- aludel:upgrade' or '-- aludel:downgrade'",
        ),
        (
            "-- aludel:revision a\n\n/* never\nclosed\n-- aludel:upgrade\n",
            "v/x.sql:3: unterminated block comment (opened on this line)",
        ),
        (
            "-- aludel:revision a\n-- aludel:upgrade\nSELECT 1;\n-- aludel:message late\n",
            "v/x.sql:4: header key 'message' after the first section marker (line 2); \
             move it above '-- aludel:upgrade'",
        ),
        (
            "-- aludel:revision a\n-- aludel:upgrade\n-- aludel:upgrad sqlite\n",
            "v/x.sql:3: unknown directive '-- aludel:upgrad' (only '-- aludel:upgrade' and \
             '-- aludel:downgrade' may follow the header)",
        ),
        (
            "-- aludel:revision a\n-- aludel:downgrade\n",
            "v/x.sql:1: no '-- aludel:upgrade' section (an empty one makes a revision that \
             does nothing)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&error(text), expected, "for {text:?}");
    }
}

#[test]
fn bad_created_timestamp_names_the_line() {
    let e = error("-- aludel:revision a\n-- aludel:created yesterday\n-- aludel:upgrade\n");
    assert!(
        e.starts_with(
            "v/x.sql:2: invalid created timestamp 'yesterday' (expected RFC 3339, e.g. \
             2026-01-10T14:30:00Z)"
        ),
        "{e}"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let mut bytes = b"-- aludel:revision a\n-- aludel:upgrade\nSELECT '".to_vec();
    bytes.extend([0xff, b'\'', b'\n']);
    let e = Script::from_bytes("v/x.sql", bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "v/x.sql:3: invalid UTF-8 at byte 47; migration files must be UTF-8"
    );
}

#[test]
fn unterminated_sql_names_the_file_line_where_it_starts() {
    let s = parse("-- aludel:revision a\n-- aludel:upgrade\nSELECT 1;\nSELECT $$ x;\n\n").unwrap();
    let e = s
        .statements(Direction::Upgrade, Dialect::Postgres)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "v/x.sql:4: unterminated dollar-quoted string (opened on this line; no closing $$)"
    );
    // Other dialects have no dollar quotes.
    assert_eq!(
        s.statements(Direction::Upgrade, Dialect::Sqlite)
            .unwrap()
            .len(),
        2
    );
    let s = parse("-- aludel:revision a\n-- aludel:upgrade\n\nSELECT 'oops;\n").unwrap();
    assert_eq!(
        s.statements(Direction::Upgrade, Dialect::Sqlite)
            .unwrap_err()
            .to_string(),
        "v/x.sql:4: unterminated string literal (opened on this line)"
    );
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let s = parse(&format!("\u{feff}{VALID}")).unwrap();
    assert_eq!(s.id(), "3f2a9c1d7b40");
}

#[test]
fn a_section_naming_the_dialect_wins_over_the_generic_one() {
    let text = "-- aludel:revision a\n\
        -- aludel:upgrade\nSELECT 'generic';\n\
        -- aludel:upgrade postgresql\nSELECT 'pg';\n\
        -- aludel:downgrade sqlite\nSELECT 'lite down';\n";
    let s = parse(text).unwrap();
    let sql = |d, dialect| -> Vec<String> {
        s.statements(d, dialect)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect()
    };
    assert_eq!(sql(Direction::Upgrade, Dialect::Postgres), ["SELECT 'pg'"]);
    assert_eq!(
        sql(Direction::Upgrade, Dialect::Sqlite),
        ["SELECT 'generic'"]
    );
    assert_eq!(
        sql(Direction::Upgrade, Dialect::Mysql),
        ["SELECT 'generic'"]
    );
    assert!(s.has_section(Direction::Downgrade, Dialect::Sqlite));
    assert!(!s.has_section(Direction::Downgrade, Dialect::Postgres));
    assert_eq!(
        sql(Direction::Downgrade, Dialect::Sqlite),
        ["SELECT 'lite down'"]
    );
    let section = s.section(Direction::Upgrade, Dialect::Postgres).unwrap();
    assert_eq!(
        (section.marker_line, section.first_line, section.sql),
        (4, 5, "SELECT 'pg';\n")
    );
    assert_eq!(s.sections().count(), 3);
}

#[test]
fn a_missing_downgrade_section_is_reported_not_treated_as_empty() {
    let s = parse("-- aludel:revision a\n-- aludel:upgrade\nSELECT 1;\n").unwrap();
    assert!(!s.has_section(Direction::Downgrade, Dialect::Postgres));
    assert_eq!(
        s.statements(Direction::Downgrade, Dialect::Postgres)
            .unwrap_err()
            .to_string(),
        "v/x.sql: no '-- aludel:downgrade' section applies to postgresql, so this revision \
         cannot be downgraded"
    );
    // An empty downgrade section is a no-op, not a missing one.
    let s =
        parse("-- aludel:revision a\n-- aludel:upgrade\nSELECT 1;\n-- aludel:downgrade\n").unwrap();
    assert_eq!(
        s.statements(Direction::Downgrade, Dialect::Postgres)
            .unwrap(),
        []
    );
}

#[test]
fn statement_lines_are_file_lines_across_sections() {
    let text = "-- aludel:revision a\r\n\r\n-- aludel:upgrade\r\nSELECT 1;\r\n\r\nSELECT\r\n 2;\r\n\
        -- aludel:downgrade\r\n  SELECT 3;";
    let s = parse(text).unwrap();
    let up = s.statements(Direction::Upgrade, Dialect::Sqlite).unwrap();
    assert_eq!(up.iter().map(|s| s.line).collect::<Vec<_>>(), [4, 6]);
    assert_eq!(up[1].sql, "SELECT\r\n 2");
    let down = s.statements(Direction::Downgrade, Dialect::Sqlite).unwrap();
    assert_eq!(down[0].line, 9);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn rev(id: &str, parent: Option<&str>) -> String {
    let revises = parent.map_or(String::new(), |p| format!("-- aludel:revises {p}\n"));
    format!("-- aludel:revision {id}\n{revises}-- aludel:upgrade\nSELECT 1;\n")
}

#[test]
fn loads_sql_files_sorted_by_name_ignoring_others() {
    let tmp = tempdir();
    let dir = tmp.path();
    write(dir, "b.sql", &rev("bbb", Some("aaa")));
    write(dir, "a.sql", &rev("aaa", None));
    write(dir, ".hidden.sql", "garbage");
    write(dir, "notes.txt", "garbage");
    write(dir, "c.sql.bak", "garbage");
    std::fs::create_dir(dir.join("sub.sql")).unwrap();
    let scripts = ScriptDir::load(dir).unwrap();
    let ids: Vec<&str> = scripts.scripts().iter().map(Script::id).collect();
    assert_eq!(ids, ["aaa", "bbb"]);
    assert_eq!(scripts.len(), 2);
    assert_eq!(scripts.get("bbb").unwrap().path(), dir.join("b.sql"));
    assert!(scripts.get("bb").is_none());
    let specs = scripts.specs();
    assert_eq!(specs[1].parents, ["aaa"]);
    assert_eq!(specs[1].origin.path, dir.join("b.sql"));
}

#[cfg(unix)]
#[test]
fn symlinks_to_files_count_and_other_symlinks_do_not() {
    let tmp = tempdir();
    let dir = tmp.path().join("versions");
    std::fs::create_dir(&dir).unwrap();
    write(tmp.path(), "elsewhere.sql", &rev("linked", None));
    std::os::unix::fs::symlink(tmp.path().join("elsewhere.sql"), dir.join("a.sql")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("missing.sql"), dir.join("b.sql")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), dir.join("c.sql")).unwrap();
    let scripts = ScriptDir::load(&dir).unwrap();
    let ids: Vec<&str> = scripts.scripts().iter().map(Script::id).collect();
    assert_eq!(ids, ["linked"]);
    assert_eq!(scripts.scripts()[0].path(), dir.join("a.sql"));
}

#[test]
fn a_file_that_is_not_a_folder_is_an_io_error_naming_it() {
    let tmp = tempdir();
    write(tmp.path(), "versions", "not a folder");
    let path = tmp.path().join("versions");
    let e = ScriptDir::load(&path).unwrap_err();
    assert!(matches!(e, ScriptError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_missing_folder_suggests_init() {
    let tmp = tempdir();
    let missing = tmp.path().join("migrations/versions");
    let e = ScriptDir::load(&missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "migrations folder {} does not exist (run `aludel init` to create the project layout)",
            missing.display()
        )
    );
}

#[test]
fn a_broken_file_stops_the_load_with_its_path_and_line() {
    let tmp = tempdir();
    let dir = tmp.path();
    write(dir, "a.sql", &rev("aaa", None));
    write(dir, "b.sql", "-- aludel:revision b\n-- aludel:bogus 1\n");
    let e = ScriptDir::load(dir).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}:2: unknown header key 'bogus'",
            dir.join("b.sql").display()
        )),
        "{e}"
    );
}

#[test]
fn a_revision_declared_twice_names_both_files() {
    let tmp = tempdir();
    let dir = tmp.path();
    write(dir, "1.sql", &rev("aaa", None));
    write(dir, "2.sql", &format!("\n{}", rev("aaa", None)));
    let e = ScriptDir::load(dir).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: revision 'aaa' is also declared in {}:1",
            dir.join("2.sql").display(),
            dir.join("1.sql").display()
        )
    );
}

fn sample_revision() -> NewRevision {
    NewRevision {
        id: "3f2a9c1d7b40".into(),
        parents: vec!["9e1b22c0aa17".into(), "aa00".into()],
        message: "add users\ntable".into(),
        created: Some("2026-01-10T14:30:00.123456Z".parse().unwrap()),
        branch_labels: vec!["core".into()],
        depends_on: vec!["other".into()],
        transaction: Some(false),
        upgrade: "CREATE TABLE users (id int);\n".into(),
        downgrade: "DROP TABLE users;".into(),
        ddl_commits_by_itself: false,
    }
}

#[test]
fn a_rendered_revision_parses_back_to_the_same_header() {
    let new = sample_revision();
    let text = new.render(&ScriptTemplate::builtin()).unwrap();
    assert_eq!(
        text,
        "-- aludel:revision 3f2a9c1d7b40\n\
         -- aludel:revises 9e1b22c0aa17 aa00\n\
         -- aludel:message add users table\n\
         -- aludel:created 2026-01-10T14:30:00Z\n\
         -- aludel:branch_labels core\n\
         -- aludel:depends_on other\n\
         -- aludel:transaction false\n\
         \n\
         -- aludel:upgrade\n\
         CREATE TABLE users (id int);\n\
         \n\
         -- aludel:downgrade\n\
         DROP TABLE users;\n"
    );
    let s = parse(&text).unwrap();
    let spec = s.spec();
    assert_eq!(spec.id, new.id);
    assert_eq!(spec.parents, new.parents);
    assert_eq!(spec.message, "add users table");
    assert_eq!(spec.created.as_deref(), Some("2026-01-10T14:30:00Z"));
    assert_eq!(spec.branch_labels, new.branch_labels);
    assert_eq!(spec.depends_on, new.depends_on);
    assert!(!s.transaction());
    assert_eq!(
        s.statements(Direction::Downgrade, Dialect::Postgres)
            .unwrap()[0]
            .sql,
        "DROP TABLE users"
    );
}

#[test]
fn a_root_revision_without_sql_renders_as_a_no_op() {
    let new = NewRevision {
        id: "abc".into(),
        ..NewRevision::default()
    };
    let text = new.render(&ScriptTemplate::builtin()).unwrap();
    assert_eq!(
        text,
        "-- aludel:revision abc\n\n-- Each revision runs in one transaction. For statements that cannot (CREATE INDEX CONCURRENTLY, VACUUM), add `-- aludel:transaction false` to the header above.\n-- aludel:upgrade\n\n\n-- aludel:downgrade\n\n"
    );
    let s = parse(&text).unwrap();
    assert!(s.parents().is_empty());
    assert!(s.transaction());
    assert_eq!(
        s.statements(Direction::Upgrade, Dialect::Sqlite).unwrap(),
        []
    );
    assert_eq!(
        s.statements(Direction::Downgrade, Dialect::Sqlite).unwrap(),
        []
    );
}

#[test]
fn templates_fill_placeholders_and_leave_dollars_alone() {
    let template = ScriptTemplate::parse(
        "migrations/script.sql.tmpl",
        "-- ${message} (${revision} after ${revises}) ${created} ${branch_labels} ${depends_on}\n\
         -- aludel:upgrade postgresql\n${upgrades}\nDO $$ BEGIN PERFORM $1; END $$;\n\
         -- aludel:downgrade\n${downgrades}\n",
    )
    .unwrap();
    let text = sample_revision().render(&template).unwrap();
    assert!(text.contains(
        "\n-- add users table (3f2a9c1d7b40 after 9e1b22c0aa17 aa00) 2026-01-10T14:30:00Z core other\n"
    ));
    assert!(text.contains("DO $$ BEGIN PERFORM $1; END $$;"));
    let s = parse(&text).unwrap();
    assert_eq!(
        s.statements(Direction::Upgrade, Dialect::Postgres)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn template_errors_name_the_template_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "-- aludel:upgrade\n${upgrade}\n",
            "t.tmpl:2: unknown placeholder '${upgrade}' (expected one of ${revision}, \
             ${revises}, ${message}, ${created}, ${branch_labels}, ${depends_on}, \
             ${upgrades}, ${downgrades})",
        ),
        (
            "-- aludel:upgrade\n\n${upgrades\n",
            "t.tmpl:3: unterminated placeholder '${'",
        ),
        (
            "-- aludel:revision ${revision}\n-- aludel:upgrade\n",
            "t.tmpl:1: '-- aludel:revision' does not belong in a template: aludel writes the \
             header itself; only section markers are allowed",
        ),
        (
            "-- aludel:upgrade db2\n",
            "t.tmpl:1: unknown dialect 'db2' in section marker (expected postgresql, sqlite \
             or mysql)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            ScriptTemplate::parse("t.tmpl", *text)
                .unwrap_err()
                .to_string(),
            *expected
        );
    }
}

#[test]
fn a_template_that_renders_a_broken_file_is_refused() {
    let template = ScriptTemplate::parse("t.tmpl", "SELECT 1;\n-- aludel:upgrade\n").unwrap();
    let e = sample_revision().render(&template).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot write revision: the file rendered from t.tmpl does not parse back:"),
        "{e}"
    );
}

#[test]
fn a_missing_template_file_means_the_builtin_one() {
    let tmp = tempdir();
    let path = tmp.path().join("script.sql.tmpl");
    assert_eq!(
        ScriptTemplate::load_or_builtin(&path).unwrap(),
        ScriptTemplate::builtin()
    );
    std::fs::write(&path, "-- aludel:upgrade\n${upgrades}\n").unwrap();
    assert_ne!(
        ScriptTemplate::load_or_builtin(&path).unwrap(),
        ScriptTemplate::builtin()
    );
}

#[test]
fn invalid_new_revision_fields_are_refused() {
    let mut new = sample_revision();
    new.id = "not valid".into();
    assert_eq!(
        new.render(&ScriptTemplate::builtin())
            .unwrap_err()
            .to_string(),
        "cannot write revision: invalid revision id 'not valid' (use letters, digits and '_')"
    );
}

#[test]
fn slugs_follow_alembic() {
    assert_eq!(slugify("Add users table"), "add_users_table");
    assert_eq!(slugify("  add -- users' (table)!  "), "add_users_table");
    assert_eq!(slugify(""), "");
    assert_eq!(slugify("Ünïcode wörds"), "ünïcode_wörds");
    let long = slugify("add a very long message that goes on and on beyond forty characters");
    // Like Alembic, the cut drops the word at the 40th character even when it is whole.
    assert_eq!(long, "add_a_very_long_message_that_goes_on");
    assert!(long.chars().count() <= 40);
    assert_eq!(slugify(&"x".repeat(50)), "x".repeat(40));
}

#[test]
fn file_names_follow_the_template() {
    let created: jiff::Zoned = "2026-01-02T03:04:05[UTC]".parse().unwrap();
    let name = |t: &str, msg: &str| file_name(t, "3f2a9c1d7b40", msg, created.clone());
    assert_eq!(
        name(
            "{year}{month}{day}_{hour}{minute}_{rev}_{slug}",
            "Add users"
        )
        .unwrap(),
        "20260102_0304_3f2a9c1d7b40_add_users.sql"
    );
    assert_eq!(
        name("{epoch}_{second}_{rev}", "x").unwrap(),
        "1767323045_05_3f2a9c1d7b40.sql"
    );
    // An empty message leaves no dangling separator.
    assert_eq!(name("{rev}_{slug}", "").unwrap(), "3f2a9c1d7b40.sql");
    assert_eq!(
        name("{rev}_{message}", "x").unwrap_err().to_string(),
        "invalid file_template '{rev}_{message}': unknown field {message} (expected {rev}, \
         {slug}, {year}, {month}, {day}, {hour}, {minute}, {second} or {epoch})"
    );
    assert_eq!(
        name("{rev", "x").unwrap_err().to_string(),
        "invalid file_template '{rev': a '{' is never closed"
    );
    assert!(name("{year}/{rev}", "x").is_err());
    assert!(name(".{rev}", "x").is_err());
}

#[test]
fn write_new_writes_once_and_refuses_to_overwrite() {
    let tmp = tempdir();
    let dir = tmp.path();
    let path = write_new(dir, "a.sql", "one\n").unwrap();
    assert_eq!(path, dir.join("a.sql"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
    let e = write_new(dir, "a.sql", "two\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: already exists; not overwriting it", path.display())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["a.sql"]);
    assert!(matches!(
        write_new(&dir.join("nope"), "a.sql", ""),
        Err(ScriptError::MissingDir { .. })
    ));
}

#[test]
fn generated_ids_are_twelve_hex_chars_and_differ() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| generate_rev_id()).collect();
    assert_eq!(ids.len(), 1000);
    for id in &ids {
        assert_eq!(id.len(), 12);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
    }
}

#[test]
fn large_folders_load_in_name_order_and_report_the_first_broken_file() {
    let tmp = tempdir();
    let dir = tmp.path();
    let n = 3 * FILES_PER_THREAD + 7;
    for i in 0..n {
        write(dir, &format!("{i:05}.sql"), &rev(&format!("r{i}"), None));
    }
    let scripts = ScriptDir::load(dir).unwrap();
    let ids: Vec<String> = scripts
        .scripts()
        .iter()
        .map(|s| s.id().to_string())
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, expected);
    // Broken files in several slices: the one first by name is reported.
    for i in [n - 3, FILES_PER_THREAD + 1, 2 * FILES_PER_THREAD + 5] {
        write(dir, &format!("{i:05}.sql"), "-- aludel:nope\n");
    }
    let e = ScriptDir::load(dir).unwrap_err().to_string();
    let first = dir.join(format!("{:05}.sql", FILES_PER_THREAD + 1));
    assert!(e.starts_with(&format!("{}:1:", first.display())), "{e}");
}

#[cfg(unix)]
#[test]
fn the_file_cache_serves_unchanged_files_and_never_a_changed_one() {
    use std::time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("versions");
    std::fs::create_dir(&dir).unwrap();
    let n = CACHE_MIN_FILES + 10;
    let text = |i: usize, msg: &str| {
        let parent = if i == 0 {
            String::new()
        } else {
            format!("-- aludel:revises r{:05}\n", i - 1)
        };
        format!(
            "-- aludel:revision r{i:05}\n{parent}-- aludel:message {msg}\n\n-- aludel:upgrade\nSELECT 1;\n"
        )
    };
    for i in 0..n {
        std::fs::write(dir.join(format!("r{i:05}.sql")), text(i, "aaaa")).unwrap();
    }
    let cache = tmp.path().join("cache/scripts.bin");
    let load = || ScriptDir::load_with_cache(&dir, Some(&cache), Duration::ZERO).unwrap();
    let (_, hits) = load();
    assert_eq!(hits, 0, "nothing cached yet");
    let (_, hits) = load();
    assert_eq!(hits, n, "every file from the cache");

    // A changed size, and (a tick later) the same size with other text: both read anew.
    std::fs::write(dir.join("r00003.sql"), text(3, "longer message")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(dir.join("r00004.sql"), text(4, "bbbb")).unwrap();
    let (scripts, hits) = load();
    assert_eq!(hits, n - 2);
    assert_eq!(scripts.get("r00003").unwrap().message(), "longer message");
    assert_eq!(scripts.get("r00004").unwrap().message(), "bbbb");

    // A removed file disappears, a new one appears.
    std::fs::remove_file(dir.join(format!("r{:05}.sql", n - 1))).unwrap();
    let (scripts, _) = load();
    assert_eq!(scripts.len(), n - 1);
    assert!(scripts.get(&format!("r{:05}", n - 1)).is_none());
    // A tick after the removal: with no minimum age, the folder's times must move.
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(dir.join("r99999.sql"), text(99_999, "new")).unwrap();
    let (scripts, hits) = load();
    assert_eq!(scripts.len(), n);
    assert_eq!(hits, n - 1);
    assert_eq!(scripts.get("r99999").unwrap().message(), "new");

    // A renamed file is found under its new name; one renamed over another (same
    // size, other text) replaces it.
    std::fs::rename(dir.join("r00007.sql"), dir.join("r00007x.sql")).unwrap();
    std::fs::rename(dir.join("r00008.sql"), dir.join("r00009.sql")).unwrap();
    let (scripts, _) = load();
    assert_eq!(scripts.len(), n - 1);
    assert_eq!(
        scripts.get("r00007").unwrap().path(),
        dir.join("r00007x.sql")
    );
    assert_eq!(
        scripts.get("r00008").unwrap().path(),
        dir.join("r00009.sql")
    );
    assert!(scripts.get("r00009").is_none());

    // Broken files, with everything else cached: the first by name is reported,
    // with its file and line.
    std::fs::write(dir.join("r00400.sql"), "-- aludel:nope\n").unwrap();
    std::fs::write(
        dir.join("r00002.sql"),
        "\n-- aludel:revision r2\nSELECT 1;\n",
    )
    .unwrap();
    let e = ScriptDir::load_with_cache(&dir, Some(&cache), Duration::ZERO)
        .unwrap_err()
        .to_string();
    let first = dir.join("r00002.sql");
    assert!(e.starts_with(&format!("{}:3:", first.display())), "{e}");
    std::fs::write(dir.join("r00002.sql"), text(2, "fixed")).unwrap();
    std::fs::write(dir.join("r00400.sql"), text(400, "fixed")).unwrap();
    let (scripts, _) = load();
    assert_eq!(scripts.get("r00002").unwrap().message(), "fixed");

    // An entry whose recorded stamp is not its file's (here: its size) is read from
    // the file, the others served. (A record that reads badly takes the same way out
    // of `Cache::script`: see the cache's own tests.)
    let names: Vec<String> = (0..n - 1)
        .map(|i| format!("r{i:05}.sql"))
        .filter(|name| dir.join(name).exists())
        .collect();
    let texts: Vec<String> = names
        .iter()
        .map(|name| std::fs::read_to_string(dir.join(name)).unwrap())
        .collect();
    let parsed: Vec<Script> = names
        .iter()
        .zip(&texts)
        .map(|(name, text)| Script::from_text(dir.join(name), Text::Owned(text.clone())).unwrap())
        .collect();
    let mut entries: Vec<_> = names
        .iter()
        .zip(&parsed)
        .map(|(name, script)| {
            let stamp = cache::Stamp::of(&dir.join(name)).unwrap();
            (std::ffi::OsStr::new(name.as_str()), stamp, script)
        })
        .collect();
    entries[1].1.size += 1;
    cache::write(&cache, &entries, None, Duration::ZERO);
    let (scripts, hits) = load();
    assert_eq!(hits, names.len() - 1);
    assert_eq!(scripts.get("r00001").unwrap().text(), texts[1]);

    // Files younger than the minimum age are never recorded. An hour stands for the
    // real minimum age: on a loaded machine this test alone can outlast cache::MIN_AGE.
    let young = tmp.path().join("young.bin");
    let hour = Duration::from_secs(3600);
    assert!(hour > cache::MIN_AGE);
    ScriptDir::load_with_cache(&dir, Some(&young), hour).unwrap();
    let (_, hits) = ScriptDir::load_with_cache(&dir, Some(&young), hour).unwrap();
    assert_eq!(hits, 0);
}

/// A folder of `n` revision files, each `r{i:05}.sql`, in a new temporary folder.
#[cfg(unix)]
fn cached_folder(n: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("versions");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..n {
        let parent = match i {
            0 => String::new(),
            _ => format!("-- aludel:revises r{:05}\n", i - 1),
        };
        let text = format!("-- aludel:revision r{i:05}\n{parent}-- aludel:upgrade\n");
        std::fs::write(dir.join(format!("r{i:05}.sql")), text).unwrap();
    }
    let cache = tmp.path().join("cache/scripts.bin");
    (tmp, dir, cache)
}

#[cfg(unix)]
#[test]
fn an_unchanged_folder_is_not_listed_again_and_a_changed_one_is() {
    use std::time::Duration;
    let n = CACHE_MIN_FILES + 3;
    let (_tmp, dir, cache) = cached_folder(n);
    let load = || ScriptDir::load_reporting(&dir, Some(&cache), Duration::ZERO).unwrap();
    let (_, hits, listed) = load();
    assert_eq!((hits, listed), (0, true));
    let (scripts, hits, listed) = load();
    assert_eq!((scripts.len(), hits, listed), (n, n, false));

    // An edit in place leaves the folder as it was: only that file is read, and the
    // folder is still not listed.
    std::fs::write(
        dir.join("r00002.sql"),
        "-- aludel:revision r00002\n-- aludel:revises r00001\n-- aludel:message edited\n-- aludel:upgrade\n",
    )
    .unwrap();
    let (scripts, hits, listed) = load();
    assert_eq!((hits, listed), (n - 1, false));
    assert_eq!(scripts.get("r00002").unwrap().message(), "edited");

    // Entries added, hidden or not, and a folder named like a file: each moves the
    // folder's times, so it is listed (a tick later, as there is no minimum age).
    for step in ["new", "hidden", "folder"] {
        std::thread::sleep(Duration::from_millis(50));
        match step {
            "new" => std::fs::write(
                dir.join("s00000.sql"),
                "-- aludel:revision s00000\n-- aludel:revises r00000\n-- aludel:upgrade\n",
            )
            .unwrap(),
            "hidden" => std::fs::write(dir.join(".r00001.sql.swp"), "x").unwrap(),
            _ => std::fs::create_dir(dir.join("d.sql")).unwrap(),
        }
        let (scripts, _, listed) = load();
        assert!(listed, "{step}");
        assert_eq!(scripts.len(), n + 1, "{step}");
        assert!(scripts.get("s00000").is_some(), "{step}");
    }
    // A folder named `*.sql` leaves the listing incomplete: it is listed every time.
    let (_, hits, listed) = load();
    assert_eq!((hits, listed), (n + 1, true));
}

#[cfg(unix)]
#[test]
fn a_symlink_that_comes_to_lead_to_a_file_is_found_without_a_folder_change() {
    use std::time::Duration;
    let n = CACHE_MIN_FILES;
    let (tmp, dir, cache) = cached_folder(n);
    // A broken symlink is no revision file, and its target appearing later leaves
    // the versions folder untouched.
    let target = tmp.path().join("elsewhere.sql");
    std::os::unix::fs::symlink(&target, dir.join("z.sql")).unwrap();
    let load = || ScriptDir::load_reporting(&dir, Some(&cache), Duration::ZERO).unwrap();
    load();
    let (scripts, _, _) = load();
    assert_eq!(scripts.len(), n);
    std::fs::write(
        &target,
        "-- aludel:revision z\n-- aludel:revises r00000\n-- aludel:upgrade\n",
    )
    .unwrap();
    let (scripts, _, listed) = load();
    assert!(listed);
    assert_eq!(scripts.len(), n + 1);
    assert!(scripts.get("z").is_some());

    // A symlinked file whose target goes away leaves the folder as it was too: it is
    // no longer a revision file.
    load();
    std::fs::remove_file(&target).unwrap();
    let (scripts, _, _) = load();
    assert_eq!(scripts.len(), n);
}

#[test]
fn an_incomplete_revision_says_why() {
    let script = Script::parse(
        "v/x.sql",
        "-- aludel:revision a\n-- aludel:incomplete its Python reads rows\n-- aludel:upgrade\n",
    )
    .unwrap();
    assert_eq!(script.incomplete(), Some("its Python reads rows"));
    let script = Script::parse("v/x.sql", "-- aludel:revision a\n-- aludel:upgrade\n").unwrap();
    assert_eq!(script.incomplete(), None);
}

#[test]
fn a_docstring_is_kept_line_by_line_as_written() {
    let script = Script::parse(
        "v/x.sql",
        "-- aludel:revision a\n-- aludel:message add x\n-- aludel:doc add x\n-- aludel:doc\n-- aludel:doc   indented, trailing  \n-- aludel:upgrade\n",
    )
    .unwrap();
    assert_eq!(
        script.spec().doc.as_deref(),
        Some("add x\n\n  indented, trailing  ")
    );
    assert_eq!(script.spec().short_doc(), "add x");
    let err = Script::parse(
        "v/x.sql",
        "-- aludel:revision a\n-- aludel:upgrade\n-- aludel:doc late\n",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("v/x.sql:3: '-- aludel:doc' after the first section marker"),
        "{err}"
    );
}
