//! `--targets FILE`: one project applied to many databases, `--jobs` at a time, with a
//! per-target result; `--shard I/N` slices; re-runs after a failure or an interruption
//! finish the job without applying anything twice.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use aludel_testkit::{PgDatabase, Rev, TestProject, json_log};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// Three revisions; each records itself in `applied_log`, whose primary key makes a
/// second application of any revision fail.
fn fleet_project() -> TestProject {
    let p = TestProject::new(BIN, None, "");
    p.write_rev(&Rev::new("r1", &[], "log and accounts").sql(
        "CREATE TABLE applied_log (rev varchar(10) PRIMARY KEY);\n\
         CREATE TABLE accounts (id int PRIMARY KEY);\n\
         INSERT INTO applied_log VALUES ('r1');",
        "DROP TABLE accounts;\nDROP TABLE applied_log;",
    ));
    p.write_rev(&Rev::new("r2", &["r1"], "invoices").sql(
        "CREATE TABLE invoices (id int PRIMARY KEY, account int);\n\
         INSERT INTO applied_log VALUES ('r2');",
        "DROP TABLE invoices;\nDELETE FROM applied_log WHERE rev = 'r2';",
    ));
    p.write_rev(&Rev::new("r3", &["r2"], "index").sql(
        "CREATE INDEX invoices_account ON invoices (account);\n\
         INSERT INTO applied_log VALUES ('r3');",
        "DROP INDEX invoices_account;\nDELETE FROM applied_log WHERE rev = 'r3';",
    ));
    p
}

fn sqlite_rows(path: &Path, sql: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let mut rows: Vec<String> = st
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    rows
}

fn sqlite_has_version_table(path: &Path) -> bool {
    path.exists()
        && !sqlite_rows(
            path,
            "SELECT name FROM sqlite_master WHERE name = 'aludel_version'",
        )
        .is_empty()
}

/// Every database is at head and ran each revision exactly once (a second run of
/// one would have failed on `applied_log`'s key or added a row).
fn assert_each_applied_once(p: &TestProject, sqlite_count: usize, pgs: &[PgDatabase]) {
    for i in 0..sqlite_count {
        let db = p.path().join(format!("tenants/t{i:03}.db"));
        assert_eq!(
            sqlite_rows(&db, "SELECT version_num FROM aludel_version"),
            ["r3"]
        );
        assert_eq!(
            sqlite_rows(&db, "SELECT rev FROM applied_log"),
            ["r1", "r2", "r3"]
        );
    }
    for db in pgs {
        assert_eq!(db.rows("SELECT version_num FROM aludel_version"), ["r3"]);
        assert_eq!(db.rows("SELECT rev FROM applied_log"), ["r1", "r2", "r3"]);
    }
}

/// Writes `count` SQLite targets `tenants/tNNN.db` (relative, so they resolve against
/// the targets file's folder) and returns the lines.
fn sqlite_lines(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("sqlite:///tenants/t{i:03}.db"))
        .collect()
}

/// The target names of a summary table (first column), skipping the header and tally.
fn summary_targets(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .filter(|l| l.starts_with("sqlite:") || l.starts_with("postgresql:"))
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (
                cells[0].to_string(),
                cells[1].to_string(),
                cells[2].to_string(),
            )
        })
        .collect()
}

/// A fleet of 200 SQLite and 20 PostgreSQL databases: four shards together upgrade
/// every database exactly once, then a full run with `--jobs 8` finds nothing to do.
#[test]
fn a_fleet_of_220_databases_in_four_shards_then_whole() {
    let mut p = fleet_project();
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    let pgs: Vec<PgDatabase> = (0..20).map(|_| PgDatabase::create()).collect();
    let mut lines = vec!["# 200 SQLite tenants, then 20 on PostgreSQL".to_string()];
    lines.extend(sqlite_lines(200));
    for (i, db) in pgs.iter().enumerate() {
        // The PostgreSQL URLs come from the environment, as secrets would.
        p.env(&format!("TENANT_PG_{i}"), db.url());
        lines.push(format!("${{TENANT_PG_{i}}}"));
    }
    std::fs::write(p.path().join("targets.txt"), lines.join("\n") + "\n").unwrap();

    let mut seen: Vec<String> = Vec::new();
    for (i, shard) in ["1/4", "2/4", "index:2/4", "4/4"].iter().enumerate() {
        let r = p.ok(&[
            "--targets",
            "targets.txt",
            "--shard",
            shard,
            "--jobs",
            "8",
            "-q",
            "upgrade",
            "head",
        ]);
        let rows = summary_targets(&r.stdout);
        assert_eq!(rows.len(), 55, "shard {shard}:\n{r}");
        assert!(
            rows.iter()
                .all(|(_, result, applied)| result == "ok" && applied == "3"),
            "{r}"
        );
        assert!(
            r.stdout.ends_with("55 targets: 55 ok, 0 failed\n"),
            "shard {} of 4:\n{r}",
            i + 1
        );
        seen.extend(rows.into_iter().map(|(name, _, _)| name));
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 220, "the shards overlap");
    assert_eq!(unique.len(), 220, "the shards overlap");

    assert_each_applied_once(&p, 200, &pgs);

    // The whole fleet again: every target ok, nothing applied.
    let r = p.ok(&["--targets", "targets.txt", "--jobs", "8", "upgrade", "head"]);
    let rows = summary_targets(&r.stdout);
    assert_eq!(rows.len(), 220, "{r}");
    assert!(
        rows.iter()
            .all(|(_, result, applied)| result == "ok" && applied == "0"),
        "{r}"
    );
    assert!(r.stdout.ends_with("220 targets: 220 ok, 0 failed\n"), "{r}");
    assert!(!r.stderr.contains("Running upgrade"), "{r}");

    // `current` for the fleet, as one JSON document.
    let r = p.ok(&[
        "--targets",
        "targets.txt",
        "--jobs",
        "8",
        "--format",
        "json",
        "current",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 220);
    assert!(targets.iter().all(|t| t["result"] == "ok"
        && t["at"] == serde_json::json!(["r3"])
        && t["output"]["current"][0]["revision"] == "r3"));
    assert_eq!(
        doc["summary"],
        serde_json::json!({"ok": 220, "drift": 0, "failed": 0})
    );
    // The passwordless test URLs are shown as written; the PostgreSQL names come last.
    assert_eq!(targets[219]["target"], pgs[19].url());
}

/// A target that fails is reported in its own lines and in the summary (exit 1); the
/// others finish. After the cause is fixed, a re-run applies only what is missing.
#[test]
fn a_failing_target_is_reported_and_a_rerun_finishes_it() {
    let p = fleet_project();
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    std::fs::write(p.path().join("targets.txt"), sqlite_lines(6).join("\n")).unwrap();
    // Tenant 3 already has an `invoices` table: r2 fails there.
    let t3 = p.path().join("tenants/t003.db");
    rusqlite::Connection::open(&t3)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (x int);")
        .unwrap();

    let r = p.fails(&["--targets", "targets.txt", "--jobs", "3", "upgrade", "head"]);
    let name = |i: usize| {
        format!(
            "sqlite:///{}",
            p.path().join(format!("tenants/t{i:03}.db")).display()
        )
        .replace(&*p.path().to_string_lossy(), "[PROJECT]")
    };
    let rows = summary_targets(&r.stdout);
    assert_eq!(rows.len(), 6, "{r}");
    for (i, (target, result, applied)) in rows.iter().enumerate() {
        assert_eq!(target, &name(i), "{r}");
        // Tenant 3 committed r1 before r2 failed: the summary counts it.
        let expected = if i == 3 { ("failed", "1") } else { ("ok", "3") };
        assert_eq!((result.as_str(), applied.as_str()), expected, "{r}");
    }
    let t3_name = name(3);
    assert!(
        r.stdout.contains(&format!(
            "6 targets: 5 ok, 1 failed\n  {t3_name}: upgrade of revision r2 failed (invoices)\n"
        )),
        "{r}"
    );
    // The error is in the target's own stderr lines, every line of it prefixed.
    assert!(
        r.stderr.contains(&format!(
            "[{t3_name}] ERROR upgrade of revision r2 failed (invoices)\n[{t3_name}] {:8}file: [PROJECT]/migrations/versions/r2.sql:",
            ""
        )),
        "{r}"
    );
    assert_eq!(
        sqlite_rows(&t3, "SELECT version_num FROM aludel_version"),
        ["r1"]
    );

    rusqlite::Connection::open(&t3)
        .unwrap()
        .execute_batch("DROP TABLE invoices;")
        .unwrap();
    let r = p.ok(&["--targets", "targets.txt", "--jobs", "3", "upgrade", "head"]);
    let applied: Vec<String> = summary_targets(&r.stdout)
        .into_iter()
        .map(|(_, _, applied)| applied)
        .collect();
    assert_eq!(applied, ["0", "0", "0", "2", "0", "0"], "{r}");
    for i in 0..6 {
        let db = p.path().join(format!("tenants/t{i:03}.db"));
        assert_eq!(
            sqlite_rows(&db, "SELECT rev FROM applied_log"),
            ["r1", "r2", "r3"]
        );
    }
}

/// A run killed midway (some databases done, some half-way, some untouched) is
/// simply run again: each revision is applied exactly once on every database.
#[test]
fn an_interrupted_fleet_run_completes_on_rerun_without_applying_twice() {
    let mut p = fleet_project();
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    let pgs: Vec<PgDatabase> = (0..3).map(|_| PgDatabase::create()).collect();
    let mut lines = sqlite_lines(120);
    for (i, db) in pgs.iter().enumerate() {
        p.env(&format!("TENANT_PG_{i}"), db.url());
        lines.insert(i * 40, format!("${{TENANT_PG_{i}}}"));
    }
    std::fs::write(p.path().join("targets.txt"), lines.join("\n")).unwrap();

    let mut child = p
        .command(&["--targets", "targets.txt", "--jobs", "4", "upgrade", "head"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut finished = 0;
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().contains("Running upgrade") {
            finished += 1;
            if finished == 60 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let untouched = (0..120)
        .filter(|i| !sqlite_has_version_table(&p.path().join(format!("tenants/t{i:03}.db"))))
        .count();
    assert!(untouched > 0, "the run was not interrupted midway");

    let r = p.ok(&["--targets", "targets.txt", "--jobs", "4", "upgrade", "head"]);
    assert!(r.stdout.ends_with("123 targets: 123 ok, 0 failed\n"), "{r}");
    let total: usize = summary_targets(&r.stdout)
        .iter()
        .map(|(_, _, applied)| applied.parse::<usize>().unwrap())
        .sum();
    assert!(
        total >= untouched * 3 && total < 123 * 3,
        "applied {total}\n{r}"
    );
    assert_each_applied_once(&p, 120, &pgs);
}

/// A `query` line lists targets from a registry database; JSON log lines name the
/// target they belong to.
#[test]
fn query_lines_list_targets_and_json_logs_name_them() {
    let p = fleet_project();
    // The project's own URL is not used with --targets, so its unset variable is fine.
    p.aludel_config("database_url = \"postgresql://app:${UNSET_IN_FLEET_RUNS}@nowhere/app\"");
    let registry = p.path().join("registry.db");
    rusqlite::Connection::open(&registry)
        .unwrap()
        .execute_batch(
            "CREATE TABLE tenants (id int, url text, active int);\n\
             INSERT INTO tenants VALUES (1, 'sqlite:///a.db', 1), (2, 'sqlite:///b.db', 0), (3, 'sqlite:///c.db', 1);",
        )
        .unwrap();
    std::fs::write(
        p.path().join("targets.txt"),
        "# active tenants from the registry\nquery sqlite:///registry.db SELECT url FROM tenants WHERE active = 1 ORDER BY id\n",
    )
    .unwrap();
    let r = p.ok(&[
        "--targets",
        "targets.txt",
        "--jobs",
        "1",
        "--log-format",
        "json",
        "upgrade",
        "r1",
    ]);
    let a = "sqlite:///[PROJECT]/a.db";
    let c = "sqlite:///[PROJECT]/c.db";
    let log = json_log(&r.stderr);
    let expected: Vec<String> = [a, c]
        .iter()
        .flat_map(|t| {
            [
                format!(r#"{{"level":"info","event":"migration_started","target":"{t}","revision":"r1","message":"Running upgrade  -> r1, log and accounts"}}"#),
                format!(r#"{{"level":"info","event":"migration_finished","target":"{t}","revision":"r1","duration":"[s]","message":"Finished upgrade  -> r1"}}"#),
                format!(r#"{{"level":"info","event":"target_finished","target":"{t}","duration":"[s]","message":"ok"}}"#),
            ]
        })
        .collect();
    assert_eq!(log, expected, "{r}");
    assert_eq!(
        summary_targets(&r.stdout),
        [
            (a.to_string(), "ok".to_string(), "1".to_string()),
            (c.to_string(), "ok".to_string(), "1".to_string())
        ]
    );
    assert!(!p.path().join("b.db").exists());
}

/// Commands that make no sense per database, bad shards and bad lines are refused
/// before anything runs, naming the file and line.
#[test]
fn fleet_usage_errors() {
    let p = fleet_project();
    std::fs::write(
        p.path().join("targets.txt"),
        "sqlite:///a.db\n${NOT_SET_ANYWHERE}\n",
    )
    .unwrap();
    p.fails_with(
        &["--targets", "targets.txt", "upgrade", "head"],
        1,
        "ERROR [PROJECT]/targets.txt:2: environment variable NOT_SET_ANYWHERE is not set\n",
    );
    std::fs::write(
        p.path().join("targets.txt"),
        "sqlite:///a.db\nsqlite:///b.db\nsqlite:///a.db\n",
    )
    .unwrap();
    p.fails_with(&["--targets", "targets.txt", "upgrade", "head"],
        1,
        "ERROR [PROJECT]/targets.txt:3: sqlite:///[PROJECT]/a.db is already listed on line 1; each database may appear once\n",
    );
    std::fs::write(p.path().join("targets.txt"), "sqlite:///a.db\n").unwrap();
    p.fails_with(&["--targets", "targets.txt", "revision", "-m", "x"],
        2,
        "error: --targets: init, revision and merge write files in one project; run them in that project\n",
    );
    p.fails_with(
        &["--targets", "targets.txt", "upgrade", "head", "--sql"],
        2,
        "error: --targets: --sql reads no database",
    );
    p.fails_with(
        &[
            "--targets",
            "targets.txt",
            "--shard",
            "5/4",
            "upgrade",
            "head",
        ],
        2,
        "error: invalid --shard `5/4`: write I/N with 1 <= I <= N",
    );
    p.fails_with(&["--shard", "1/4", "upgrade", "head"], 2, "--targets");
    p.fails_with(
        &["upgrade", "head", "--jobs", "2"],
        2,
        "error: --jobs goes with --workspace or --targets",
    );
    p.fails_with(
        &["--targets", "targets.txt", "--jobs", "0", "current"],
        2,
        "--jobs",
    );
    p.fails_with(
        &[
            "--targets",
            "targets.txt",
            "--url",
            "sqlite:///x.db",
            "current",
        ],
        2,
        "cannot be used with",
    );
    p.fails_with(
        &["--targets", "nosuch.txt", "current"],
        1,
        "ERROR [PROJECT]/nosuch.txt: ",
    );
    assert!(
        !p.path().join("a.db").exists(),
        "nothing may run after a usage error"
    );
}

/// `check` across targets with `shadow_database_url` set: the threads take turns at
/// the one shadow database instead of emptying it under each other, so every target
/// gets the right answer (the desired-schema cache is off, so each loads the shadow).
#[test]
fn parallel_checks_take_turns_at_a_configured_shadow_database() {
    let mut p = TestProject::new(BIN, None, "");
    let shadow = PgDatabase::create();
    p.set_option(
        "autogenerate",
        "shadow_database_url",
        &format!("\"{}\"", shadow.url()),
    );
    p.env("ALUDEL_CACHE_DIR", "");
    let table = |i: usize| {
        format!(
            "CREATE TABLE t{i} (id bigint PRIMARY KEY, name varchar(40) NOT NULL);\nCREATE INDEX t{i}_name ON t{i} (name);\n"
        )
    };
    let schema: String = (0..30).map(table).collect();
    std::fs::write(p.path().join("schema.sql"), &schema).unwrap();
    p.write_rev(&Rev::new("s1", &[], "schema").sql(&schema, ""));
    let dbs: Vec<PgDatabase> = (0..6).map(|_| PgDatabase::create()).collect();
    // Half at head, half still empty.
    let lines: Vec<String> = dbs.iter().map(|d| d.url().to_string()).collect();
    std::fs::write(p.path().join("all.txt"), lines.join("\n")).unwrap();
    std::fs::write(p.path().join("half.txt"), lines[..3].join("\n")).unwrap();
    p.ok(&["--targets", "half.txt", "upgrade", "head"]);

    let r = p.run(&[
        "--targets",
        "all.txt",
        "--jobs",
        "6",
        "--format",
        "json",
        "check",
    ]);
    // Drift and no failure: exit 3.
    assert_eq!(r.code, 3, "{r}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let results: Vec<(&str, usize)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["result"].as_str().unwrap(),
                t["output"]["check"]["changes"]
                    .as_array()
                    .map_or(usize::MAX, Vec::len),
            )
        })
        .collect();
    // At head: nothing to do. Empty: 30 tables and 30 indexes to add.
    assert_eq!(
        results,
        [
            ("ok", 0),
            ("ok", 0),
            ("ok", 0),
            ("drift", 60),
            ("drift", 60),
            ("drift", 60)
        ],
        "{r}"
    );

    // One thread may hold its turn twice: `check --migrations` reads the migrated
    // schema, then the desired one, through the same configured shadow database.
    let r = p.ok(&["--url", dbs[3].url(), "check", "--migrations"]);
    assert_eq!(r.stdout, "No new upgrade operations detected.\n", "{r}");
    p.fails_with(
        &["--targets", "all.txt", "check", "--migrations"],
        2,
        "error: --targets: check --migrations reads no database",
    );
}

/// A target longer than any format width (65,535) is cut in the summary table and
/// its scope prefix, instead of panicking (exit 101) after every target ran.
#[test]
fn a_very_long_target_is_cut_in_the_summary() {
    let mut p = fleet_project();
    p.env("MIGRATION_RETRY_COUNT", "1");
    let long = format!("sqlite:///{}.db", "a".repeat(70_000));
    std::fs::write(
        p.path().join("targets.txt"),
        format!("sqlite:///ok.db\n{long}\n"),
    )
    .unwrap();
    let r = p.fails(&["--targets", "targets.txt", "current"]);
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert!(r.stdout.len() < 2_000, "{}", r.stdout.len());
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    // The cut name, and the columns after it aligned with the other row's (the
    // header is not compared: the temporary path in the rows is filtered).
    let failed = lines[2];
    let cut = failed.find(" bytes, cut)").unwrap() + " bytes, cut)".len();
    assert!(
        failed[cut..].starts_with("  failed        0  -"),
        "{failed}"
    );
    let ok = lines[1].find("  ok ").unwrap();
    // Columns count characters: the marker's `…` is one.
    assert_eq!(
        lines[1][..ok].chars().count(),
        failed[..cut].chars().count(),
        "{}",
        r.stdout
    );
    assert_eq!(lines[3], "2 targets: 1 ok, 1 failed");
    assert!(lines[4].contains(" bytes, cut): "), "{}", lines[4]);
    assert!(r.stderr.len() < 4_000, "{}", r.stderr.len());
}
