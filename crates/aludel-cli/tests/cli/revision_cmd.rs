//! `aludel init`, `aludel revision` and `aludel merge`: the files they write, their
//! names and the errors that stop them. Writing files needs no database; the flows that
//! then upgrade run on SQLite, PostgreSQL and MariaDB.

use aludel_testkit::{Backend, DbProject, PgDatabase, Rev, TestProject, expect, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// The file's text with the `created` header's value replaced by `[CREATED]`, after
/// checking that it is an RFC 3339 UTC time to the second.
#[track_caller]
fn without_created(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("-- aludel:created ") {
            Some(t) => {
                let b = t.as_bytes();
                assert!(
                    t.len() == 20 && b[4] == b'-' && b[10] == b'T' && t.ends_with('Z'),
                    "created: {t}"
                );
                "-- aludel:created [CREATED]\n".to_string()
            }
            None => format!("{line}\n"),
        })
        .collect()
}

/// The single file in the versions folder whose name contains `part`.
#[track_caller]
fn file_named(p: &TestProject, part: &str) -> (String, String) {
    let found: Vec<_> = std::fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(part))
        .collect();
    assert_eq!(found.len(), 1, "files named *{part}*: {found:?}");
    let name = found[0].clone();
    let text = std::fs::read_to_string(p.versions().join(&name)).unwrap();
    (name, text)
}

const EMPTY_SECTIONS: &str = "\n-- Each revision runs in one transaction. For statements that cannot (CREATE INDEX CONCURRENTLY, VACUUM), add `-- aludel:transaction false` to the header above.\n-- aludel:upgrade\n\n\n-- aludel:downgrade\n\n";

#[test]
fn init_revision_upgrade_on_the_embedded_sqlite_default() {
    let p = TestProject::empty(BIN);
    expect(
        &p.ok(&["init"]),
        "Created [PROJECT]/migrations\n\
         Created [PROJECT]/migrations/versions\n\
         Created [PROJECT]/aludel.toml\n\
         Edit [PROJECT]/aludel.toml to set the database URL, then run `aludel revision -m \"first\"`.\n",
        "",
    );
    // Not twice.
    expect(
        &p.fails(&["init", "."]),
        "",
        "ERROR [PROJECT]/aludel.toml already exists: this folder is already an aludel project\n",
    );

    let run = p.ok(&["revision", "-m", "first"]);
    let (name, text) = file_named(&p, "_first.sql");
    expect(
        &run,
        &format!("Generating [PROJECT]/migrations/versions/{name} ... done\n"),
        "",
    );
    // The default file_template: {year}{month}{day}_{hour}{minute}_{rev}_{slug}.
    let parts: Vec<&str> = name.split('_').collect();
    assert_eq!(parts.len(), 4, "{name}");
    assert!(
        parts[0].len() == 8 && parts[0].bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(
        parts[1].len() == 4 && parts[1].bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    let id = parts[2];
    assert!(
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "generated id {id}"
    );
    assert_eq!(parts[3], "first.sql");
    assert_eq!(
        without_created(&text),
        format!(
            "-- aludel:revision {id}\n-- aludel:message first\n-- aludel:created [CREATED]\n{EMPTY_SECTIONS}"
        )
    );

    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        &format!("INFO  Running upgrade  -> {id}, first\nINFO  Finished upgrade  -> {id} ([ms])\n"),
    );
    assert!(p.path().join("aludel.db").exists());
    let rows = aludel_testkit::sqlite_rows(
        &p.path().join("aludel.db"),
        "SELECT version_num FROM aludel_version",
    );
    assert_eq!(rows, [id]);
    expect(&p.ok(&["current"]), &format!("{id} (head)\n"), "");
}

#[test]
fn init_then_upgrade_on_postgres_given_by_url() {
    let db = PgDatabase::create();
    let p = TestProject::empty(BIN);
    p.ok(&["init", "."]);
    p.ok(&["revision", "-m", "create things", "--rev-id", "r1"]);
    let (name, _) = file_named(&p, "r1");
    std::fs::write(
        p.versions().join(&name),
        Rev::new("r1", &[], "create things")
            .sql("CREATE TABLE things (id int);", "DROP TABLE things;")
            .text(),
    )
    .unwrap();
    expect(
        &p.ok(&["--url", db.url(), "upgrade", "head"]),
        "",
        "INFO  Running upgrade  -> r1, create things\nINFO  Finished upgrade  -> r1 ([ms])\n",
    );
    assert_eq!(db.tables(), ["aludel_version", "things"]);
    assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r1"]);
    assert!(!p.path().join("aludel.db").exists());
}

fn project() -> TestProject {
    let p = TestProject::new(BIN, None, "");
    p.aludel_config("file_template = \"{rev}_{slug}\"");
    p
}

#[test]
fn rev_id_head_branch_label_and_depends_on_go_into_the_header() {
    let p = project();
    expect(
        &p.ok(&[
            "revision",
            "-m",
            "Create users table!",
            "--rev-id",
            "ae1027a6acf",
        ]),
        "Generating [PROJECT]/migrations/versions/ae1027a6acf_create_users_table.sql ... done\n",
        "",
    );
    expect(
        &p.ok(&["revision", "-m", "add email", "--rev-id", "b2"]),
        "Generating [PROJECT]/migrations/versions/b2_add_email.sql ... done\n",
        "",
    );
    assert_eq!(
        without_created(&file_named(&p, "b2_").1),
        format!(
            "-- aludel:revision b2\n-- aludel:revises ae1027a6acf\n-- aludel:message add email\n-- aludel:created [CREATED]\n{EMPTY_SECTIONS}"
        )
    );

    // --head base: a new root, here with its own label.
    expect(
        &p.ok(&[
            "revision",
            "-m",
            "create networking branch",
            "--head",
            "base",
            "--branch-label",
            "networking",
            "--rev-id",
            "n1",
        ]),
        "Generating [PROJECT]/migrations/versions/n1_create_networking_branch.sql ... done\n",
        "",
    );
    assert_eq!(
        without_created(&file_named(&p, "n1_").1),
        format!(
            "-- aludel:revision n1\n-- aludel:message create networking branch\n-- aludel:created [CREATED]\n-- aludel:branch_labels networking\n{EMPTY_SECTIONS}"
        )
    );

    // Two heads now: --head is needed, and the error names the heads.
    expect(
        &p.fails(&["revision", "-m", "where?"]),
        "",
        "ERROR multiple heads are present (b2, n1): name the one to build on with --head, or merge them first with `aludel merge -m MESSAGE heads`\n",
    );

    // LABEL@head as --head; --depends-on with a partial id resolves to the full id.
    expect(
        &p.ok(&[
            "revision",
            "-m",
            "add ip table",
            "--head",
            "networking@head",
            "--depends-on",
            "ae10",
            "--rev-id",
            "n2",
        ]),
        "Generating [PROJECT]/migrations/versions/n2_add_ip_table.sql ... done\n",
        "",
    );
    assert_eq!(
        without_created(&file_named(&p, "n2_").1),
        format!(
            "-- aludel:revision n2\n-- aludel:revises n1\n-- aludel:message add ip table\n-- aludel:created [CREATED]\n-- aludel:depends_on ae1027a6acf\n{EMPTY_SECTIONS}"
        )
    );
    // A label stays a label.
    p.ok(&[
        "revision",
        "-m",
        "needs networking",
        "--head",
        "b2",
        "--depends-on",
        "networking",
        "--rev-id",
        "b3",
    ]);
    assert!(
        file_named(&p, "b3_")
            .1
            .contains("\n-- aludel:depends_on networking\n")
    );

    // Alembic's order for this graph.
    expect(
        &p.ok(&["history"]),
        "b2 (networking) -> b3 (head), needs networking\n\
         ae1027a6acf -> b2, add email\n\
         n1 (ae1027a6acf) -> n2 (networking) (head), add ip table\n\
         <base> -> ae1027a6acf, Create users table!\n\
         <base> -> n1 (networking), create networking branch\n",
        "",
    );
}

#[test]
fn head_that_is_not_a_head_needs_splice() {
    let p = project();
    p.ok(&["revision", "-m", "one", "--rev-id", "r1"]);
    p.ok(&["revision", "-m", "two", "--rev-id", "r2"]);
    expect(
        &p.fails(&["revision", "-m", "side", "--head", "r1", "--rev-id", "s1"]),
        "",
        "ERROR revision r1 is not a head revision; add --splice to start a new branch from it\n",
    );
    assert!(!p.versions().join("s1_side.sql").exists());
    expect(
        &p.ok(&[
            "revision", "-m", "side", "--head", "r1", "--splice", "--rev-id", "s1",
        ]),
        "Generating [PROJECT]/migrations/versions/s1_side.sql ... done\n",
        "",
    );
    expect(&p.ok(&["heads"]), "r2 (head)\ns1 (head)\n", "");
    expect(
        &p.ok(&["branches"]),
        "r1 (branchpoint)\n   -> r2 (head)\n   -> s1 (head)\n\n",
        "",
    );
    expect(
        &p.fails(&["revision", "-m", "x", "--head", "nosuch"]),
        "",
        "ERROR Can't locate revision identified by 'nosuch'\n",
    );
}

#[test]
fn duplicate_rev_id_names_the_existing_file() {
    let p = project();
    p.ok(&["revision", "-m", "one", "--rev-id", "abc123"]);
    expect(
        &p.fails(&["revision", "-m", "again", "--rev-id", "abc123"]),
        "",
        "ERROR revision id abc123 is already used by [PROJECT]/migrations/versions/abc123_one.sql\n",
    );
    assert!(!p.versions().join("abc123_again.sql").exists());
}

#[test]
fn bad_ids_and_labels_are_refused_before_writing() {
    let p = project();
    p.ok(&[
        "revision",
        "-m",
        "one",
        "--rev-id",
        "r1",
        "--branch-label",
        "main",
    ]);
    expect(
        &p.fails(&["revision", "-m", "x", "--rev-id", "a-b"]),
        "",
        "ERROR cannot write revision: invalid revision id 'a-b' (use letters, digits and '_')\n",
    );
    expect(
        &p.fails(&[
            "revision",
            "-m",
            "x",
            "--rev-id",
            "r2",
            "--branch-label",
            "a@b",
        ]),
        "",
        "ERROR cannot write revision: invalid label or revision 'a@b' (use letters, digits, '_', '-' and '.')\n",
    );
    let long = "x".repeat(65);
    let r = p.fails(&["revision", "-m", "x", "--rev-id", &long]);
    assert!(r.stderr.contains(&long) && r.stderr.contains("64"), "{r}");
    let r = p.fails(&[
        "revision",
        "-m",
        "x",
        "--head",
        "base",
        "--rev-id",
        "r3",
        "--branch-label",
        "main",
    ]);
    assert!(
        r.stderr.contains("branch label 'main'")
            && r.stderr
                .contains("[PROJECT]/migrations/versions/r1_one.sql"),
        "{r}"
    );
    // Only the first file exists.
    assert_eq!(std::fs::read_dir(p.versions()).unwrap().count(), 1);
}

#[test]
fn file_template_names_new_files() {
    let p = TestProject::new(BIN, None, "");
    p.aludel_config("file_template = \"{rev}-{slug}_v{year}\"");
    let r = p.ok(&["revision", "-m", "Add Users, Again", "--rev-id", "r1"]);
    let (name, _) = file_named(&p, "r1-");
    assert!(
        name.starts_with("r1-add_users_again_v20") && name.ends_with(".sql") && name.len() == 28,
        "{name}"
    );
    expect(
        &r,
        &format!("Generating [PROJECT]/migrations/versions/{name} ... done\n"),
        "",
    );

    let p = TestProject::new(BIN, None, "");
    p.aludel_config("file_template = \"{rev}_{nosuch}\"");
    expect(
        &p.fails(&["revision", "-m", "x", "--rev-id", "r1"]),
        "",
        "ERROR invalid file_template '{rev}_{nosuch}': unknown field {nosuch} (expected {rev}, {slug}, {year}, {month}, {day}, {hour}, {minute}, {second} or {epoch})\n",
    );
}

#[test]
fn script_template_shapes_new_files() {
    let p = project();
    std::fs::write(
        p.path().join("migrations/script.sql.tmpl"),
        "-- aludel:upgrade\n\
         -- ${message}: ${revision} after ${revises} [${branch_labels}] [${depends_on}]\n\
         ${upgrades}\n\
         CREATE FUNCTION f_${revision}() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n\
         \n\
         -- aludel:downgrade\n\
         ${downgrades}\n\
         DROP FUNCTION f_${revision}();\n",
    )
    .unwrap();
    p.ok(&["revision", "-m", "one", "--rev-id", "r1"]);
    p.ok(&[
        "revision",
        "-m",
        "two",
        "--rev-id",
        "r2",
        "--branch-label",
        "lbl",
        "--depends-on",
        "r1",
    ]);
    assert_eq!(
        without_created(&file_named(&p, "r2_").1),
        "-- aludel:revision r2\n\
         -- aludel:revises r1\n\
         -- aludel:message two\n\
         -- aludel:created [CREATED]\n\
         -- aludel:branch_labels lbl\n\
         -- aludel:depends_on r1\n\
         \n\
         -- aludel:upgrade\n\
         -- two: r2 after r1 [lbl] [r1]\n\
         \n\
         CREATE FUNCTION f_r2() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n\
         \n\
         -- aludel:downgrade\n\
         \n\
         DROP FUNCTION f_r2();\n"
    );

    std::fs::write(
        p.path().join("migrations/script.sql.tmpl"),
        "-- aludel:upgrade\n${upgrades}\n${nope}\n",
    )
    .unwrap();
    expect(
        &p.fails(&["revision", "-m", "three", "--rev-id", "r3"]),
        "",
        "ERROR [PROJECT]/migrations/script.sql.tmpl:3: unknown placeholder '${nope}' (expected one of ${revision}, ${revises}, ${message}, ${created}, ${branch_labels}, ${depends_on}, ${upgrades}, ${downgrades})\n",
    );
    assert!(!p.versions().join("r3_three.sql").exists());
}

fn template_revision_runs(backend: Backend) {
    // The template's SQL is what runs: a function made with a dollar quote.
    let p = DbProject::new(BIN, backend, "");
    p.aludel_config("file_template = \"{rev}_{slug}\"");
    let (up, down) = match backend {
        Backend::Postgres => (
            "CREATE FUNCTION f_${revision}() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
            "DROP FUNCTION f_${revision}();",
        ),
        Backend::Sqlite | Backend::Mysql => (
            "CREATE TABLE t_${revision} (note varchar(40) DEFAULT '$$ not a quote');",
            "DROP TABLE t_${revision};",
        ),
    };
    std::fs::write(
        p.path().join("migrations/script.sql.tmpl"),
        format!("-- aludel:upgrade\n{up}\n\n-- aludel:downgrade\n{down}\n"),
    )
    .unwrap();
    p.ok(&["revision", "-m", "from template", "--rev-id", "r1"]);
    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        &format!(
            "INFO  Running upgrade  -> r1, from template\n{}INFO  Finished upgrade  -> r1 ([ms])\n",
            backend.statement_line(
                6,
                "CREATE TABLE t_r1 (note varchar(40) DEFAULT '$$ not a quote')"
            )
        ),
    );
    match backend {
        Backend::Postgres => assert_eq!(
            p.db()
                .rows("SELECT proname FROM pg_proc WHERE proname = 'f_r1'"),
            ["f_r1"]
        ),
        Backend::Sqlite | Backend::Mysql => {
            assert_eq!(p.db().tables(), ["aludel_version", "t_r1"])
        }
    }
    p.ok(&["downgrade", "base"]);
    assert_eq!(p.db().tables(), ["aludel_version"]);
}

on_all!(template_revision_runs,);

#[test]
fn merge_needs_two_revisions() {
    let p = project();
    p.ok(&["revision", "-m", "one", "--rev-id", "r1"]);
    expect(
        &p.fails(&["merge", "-m", "m", "heads"]),
        "",
        "ERROR nothing to merge: heads names 1 revision; a merge needs two or more\n",
    );
    p.ok(&["revision", "-m", "two", "--head", "base", "--rev-id", "r2"]);
    expect(
        &p.ok(&[
            "merge",
            "-m",
            "join r1 and r2",
            "r1",
            "r2",
            "--rev-id",
            "m1",
        ]),
        "Generating [PROJECT]/migrations/versions/m1_join_r1_and_r2.sql ... done\n",
        "",
    );
    assert_eq!(
        without_created(&file_named(&p, "m1_").1),
        format!(
            "-- aludel:revision m1\n-- aludel:revises r1 r2\n-- aludel:message join r1 and r2\n-- aludel:created [CREATED]\n{EMPTY_SECTIONS}"
        )
    );
    expect(&p.ok(&["heads"]), "m1 (head)\n", "");
    // Merging revisions that are not heads is refused unless --splice, as in Alembic
    // 1.20.1 ("Revision a is not a head revision; please specify --splice to create a
    // new branch from this revision" for `a<`, `b<a`, `merge -m m b a`).
    expect(
        &p.fails(&["merge", "-m", "again", "r1", "r2", "--rev-id", "m2"]),
        "",
        "ERROR revision r1 is not a head revision; add --splice to merge it anyway, starting a new branch from it\n",
    );
    p.ok(&[
        "merge", "-m", "again", "r1", "r2", "--splice", "--rev-id", "m2",
    ]);
    expect(&p.ok(&["heads"]), "m1 (head)\nm2 (head)\n", "");
}

/// The config file comes from `-c`, else `ALUDEL_CONFIG`, else `./aludel.toml`: a
/// project run from another folder finds its revisions and its database.
#[test]
fn the_config_file_is_found_by_flag_then_environment() {
    let p = TestProject::new(BIN, None, "");
    p.write_rev(&Rev::new("cfg1", &[], "first").sql("CREATE TABLE t1 (id int);", "DROP TABLE t1;"));
    let elsewhere = tempfile::tempdir().unwrap();
    let config = p.path().join("aludel.toml");
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(args)
            .current_dir(elsewhere.path())
            .env_remove("DATABASE_URL");
        match env {
            Some(c) => cmd.env("ALUDEL_CONFIG", c),
            None => cmd.env_remove("ALUDEL_CONFIG"),
        };
        aludel_testkit::Run::from_output(cmd.output().unwrap(), p.path())
    };
    let c = config.to_str().unwrap();
    run(&["-c", c, "upgrade", "head"], None).expect_code(0, &["upgrade"]);
    assert_eq!(
        run(&["current"], Some(c))
            .expect_code(0, &["current"])
            .stdout,
        "cfg1 (head)\n"
    );
    // The flag wins over the environment.
    let bogus = elsewhere.path().join("missing.toml");
    let r = run(&["-c", c, "current"], Some(bogus.to_str().unwrap()));
    assert_eq!(r.expect_code(0, &["current"]).stdout, "cfg1 (head)\n");
    // Neither: ./aludel.toml in the current folder, which is not there.
    let r = run(&["current"], None).expect_code(1, &["current"]);
    assert!(r.stderr.contains("run `aludel init`"), "{r}");
}
