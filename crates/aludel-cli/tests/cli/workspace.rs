//! `--workspace FILE`: one command for every member project, `--jobs` at a time, lines
//! prefixed `[member]`, a summary table, exit 1 if any member failed.

use std::path::Path;

use aludel_testkit::{PgDatabase, Rev, TestProject, json_log};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn member(root: &Path, dir: &str, url: &str, revs: &[Rev]) {
    let d = root.join(dir);
    std::fs::create_dir_all(d.join("migrations/versions")).unwrap();
    std::fs::write(
        d.join("aludel.toml"),
        format!("[aludel]\ndatabase_url = \"{url}\"\n[connect]\nretries = 1\n"),
    )
    .unwrap();
    for r in revs {
        std::fs::write(
            d.join(format!("migrations/versions/{}.sql", r.id)),
            r.text(),
        )
        .unwrap();
    }
}

fn table(id: &str, parents: &[&str], name: &str) -> Rev {
    Rev::new(id, parents, &format!("create {name}")).sql(
        &format!("CREATE TABLE {name} (id int PRIMARY KEY);"),
        &format!("DROP TABLE {name};"),
    )
}

/// Three services (two on SQLite, one on PostgreSQL) and the workspace file naming
/// them with a glob and a path.
fn three_services(pg: &PgDatabase) -> TestProject {
    let mut p = TestProject::empty(BIN);
    let root = p.path().to_path_buf();
    member(
        &root,
        "services/billing",
        "sqlite:///billing.db",
        &[
            table("b1", &[], "invoices"),
            table("b2", &["b1"], "payments"),
        ],
    );
    member(
        &root,
        "services/orders",
        pg.url(),
        &[
            table("o1", &[], "orders"),
            table("o2", &["o1"], "order_lines"),
            table("o3", &["o2"], "shipments"),
        ],
    );
    member(
        &root,
        "tools/admin",
        "sqlite:///admin.db",
        &[table("a1", &[], "admins")],
    );
    // Not a project: no aludel.toml, so the glob skips it.
    std::fs::create_dir_all(root.join("services/docs")).unwrap();
    std::fs::write(
        root.join("aludel-workspace.toml"),
        "[workspace]\nmembers = [\"services/*\", \"tools/admin\"]\n",
    )
    .unwrap();
    // A single project's URL must not leak into every member.
    p.env("DATABASE_URL", "sqlite:///everything-in-one.db");
    p
}

/// The summary's `time` column varies: replace it.
fn without_times(stdout: &str) -> String {
    stdout
        .lines()
        .map(|l| match l.strip_suffix(" ms") {
            Some(rest) => {
                let cut = rest.trim_end_matches(|c: char| c.is_ascii_digit());
                format!("{cut}[t]\n")
            }
            None => format!("{l}\n"),
        })
        .collect()
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn three_projects_upgraded_by_one_command() {
    let pg = PgDatabase::create();
    let p = three_services(&pg);
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--jobs",
        "3",
        "upgrade",
        "head",
    ];
    let r = p.run(&args).expect_code(0, &args);
    assert_eq!(
        without_times(&r.stdout),
        "member            result  applied  at  time\n\
         services/billing  ok            2  b2  [t]\n\
         services/orders   ok            3  o3  [t]\n\
         tools/admin       ok            1  a1  [t]\n\
         3 members: 3 ok, 0 failed\n",
        "{r}"
    );
    assert_eq!(
        sorted_lines(&r.stderr),
        [
            "[services/billing] INFO  Finished upgrade  -> b1 ([ms])",
            "[services/billing] INFO  Finished upgrade b1 -> b2 ([ms])",
            "[services/billing] INFO  Running upgrade  -> b1, create invoices",
            "[services/billing] INFO  Running upgrade b1 -> b2, create payments",
            "[services/orders] INFO  Finished upgrade  -> o1 ([ms])",
            "[services/orders] INFO  Finished upgrade o1 -> o2 ([ms])",
            "[services/orders] INFO  Finished upgrade o2 -> o3 ([ms])",
            "[services/orders] INFO  Running upgrade  -> o1, create orders",
            "[services/orders] INFO  Running upgrade o1 -> o2, create order_lines",
            "[services/orders] INFO  Running upgrade o2 -> o3, create shipments",
            "[tools/admin] INFO  Finished upgrade  -> a1 ([ms])",
            "[tools/admin] INFO  Running upgrade  -> a1, create admins",
        ],
        "{r}"
    );
    assert_eq!(pg.rows("SELECT version_num FROM aludel_version"), ["o3"]);
    assert!(p.path().join("services/billing/billing.db").exists());
    assert!(p.path().join("tools/admin/admin.db").exists());
    assert!(!p.path().join("everything-in-one.db").exists());

    // Results are prefixed too, in member order with --jobs 1.
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--jobs",
        "1",
        "current",
    ];
    let r = p.run(&args).expect_code(0, &args);
    assert_eq!(
        without_times(&r.stdout),
        "[services/billing] b2 (head)\n\
         [services/orders] o3 (head)\n\
         [tools/admin] a1 (head)\n\
         member            result  applied  at  time\n\
         services/billing  ok            0  b2  [t]\n\
         services/orders   ok            0  o3  [t]\n\
         tools/admin       ok            0  a1  [t]\n\
         3 members: 3 ok, 0 failed\n",
        "{r}"
    );
}

#[test]
fn a_failing_member_is_in_the_summary_and_exit_1_while_the_others_finish() {
    let pg = PgDatabase::create();
    let p = three_services(&pg);
    // Orders' second revision is broken.
    std::fs::write(
        p.path().join("services/orders/migrations/versions/o2.sql"),
        Rev::new("o2", &["o1"], "create order_lines")
            .sql("CREATE TABLE order_lines (id int PRIMARY KEY, order_id int REFERENCES nosuch (id));", "DROP TABLE order_lines;")
            .text(),
    )
    .unwrap();
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--jobs",
        "2",
        "upgrade",
        "head",
    ];
    let r = p.run(&args).expect_code(1, &args);
    let out = without_times(&r.stdout);
    assert!(
        out.starts_with(
            "member            result  applied  at  time\n\
             services/billing  ok            2  b2  [t]\n\
             services/orders   failed        1  -   [t]\n\
             tools/admin       ok            1  a1  [t]\n\
             3 members: 2 ok, 1 failed\n  services/orders: upgrade of revision o2 failed (create order_lines)\n"
        ),
        "{r}"
    );
    assert!(
        r.stderr.contains(
            "[services/orders] ERROR upgrade of revision o2 failed (create order_lines)\n"
        ),
        "{r}"
    );
    // The failed member stopped at o1; the others reached their heads.
    assert_eq!(pg.rows("SELECT version_num FROM aludel_version"), ["o1"]);
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--format",
        "json",
        "current",
    ];
    let r = p.run(&args).expect_code(0, &args);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let at: Vec<(String, serde_json::Value)> = doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["member"].as_str().unwrap().to_string(), m["at"].clone()))
        .collect();
    assert_eq!(
        at,
        [
            ("services/billing".to_string(), serde_json::json!(["b2"])),
            ("services/orders".to_string(), serde_json::json!(["o1"])),
            ("tools/admin".to_string(), serde_json::json!(["a1"])),
        ]
    );

    // A command without a JSON result keeps its text in `output`.
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--format",
        "json",
        "upgrade",
        "head",
        "--sql",
    ];
    let r = p.run(&args).expect_code(0, &args);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let sql = doc["members"][0]["output"].as_str().unwrap_or_default();
    assert!(sql.contains("CREATE TABLE invoices"), "{r}");

    // JSON log lines name the member; the failure is an error line with the member.
    let args = [
        "--workspace",
        "aludel-workspace.toml",
        "--log-format",
        "json",
        "upgrade",
        "head",
    ];
    let r = p.run(&args).expect_code(1, &args);
    let log = json_log(&r.stderr);
    assert!(
        log.iter().any(|l| l.starts_with(r#"{"level":"error","event":"migration_failed","member":"services/orders","revision":"o2","message":"upgrade of revision o2 failed"#)),
        "{log:#?}"
    );
    assert!(
        log.contains(&r#"{"level":"error","event":"member_finished","member":"services/orders","duration":"[s]","message":"failed"}"#.to_string()),
        "{log:#?}"
    );
}

#[test]
fn workspace_usage_errors_name_the_problem() {
    let pg = PgDatabase::create();
    let p = three_services(&pg);
    p.fails_with(
        &[
            "--workspace",
            "aludel-workspace.toml",
            "revision",
            "-m",
            "x",
        ],
        2,
        "error: --workspace: init, revision and merge write files in one project",
    );
    p.fails_with(
        &[
            "--workspace",
            "aludel-workspace.toml",
            "-c",
            "x.toml",
            "current",
        ],
        2,
        "cannot be used with",
    );
    std::fs::write(
        p.path().join("typo.toml"),
        "[workspace]\nmembers = [\"servces/*\"]\n",
    )
    .unwrap();
    p.fails_with(&["--workspace", "typo.toml", "current"],
        1,
        "ERROR [PROJECT]/typo.toml: member pattern `servces/*` matches no folder holding an aludel.toml\n",
    );
    p.fails_with(
        &["--workspace", "nosuch.toml", "current"],
        1,
        "ERROR [PROJECT]/nosuch.toml: ",
    );
    assert!(!pg.tables().contains(&"aludel_version".to_string()));
}

#[test]
fn a_member_on_the_embedded_sqlite_default_says_so() {
    let p = TestProject::empty(BIN);
    let root = p.path().to_path_buf();
    member(&root, "a", "sqlite:///a.db", &[table("a1", &[], "t")]);
    // No database_url: the member falls back to sqlite:///aludel.db beside its file.
    let d = root.join("b");
    std::fs::create_dir_all(d.join("migrations/versions")).unwrap();
    std::fs::write(d.join("aludel.toml"), "[aludel]\n").unwrap();
    std::fs::write(
        root.join("aludel-workspace.toml"),
        "[workspace]\nmembers = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let args = ["--workspace", "aludel-workspace.toml", "upgrade", "head"];
    let r = p.run(&args).expect_code(0, &args);
    assert!(
        r.stderr.lines().any(|l| l
            == "[b] WARN  no database_url in [PROJECT]/b/aludel.toml: using the embedded SQLite default sqlite:///[PROJECT]/b/aludel.db"),
        "{r}"
    );
    assert!(!r.stderr.contains("[a] WARN"), "{r}");
}
