//! Several runs against one database: the run lock serialises them, each revision is
//! applied exactly once, a waiting run says so and for whom, and a lock is never left
//! behind.

use std::process::{Command, Stdio};

use aludel_testkit::{Backend, Db, DbProject, Rev, Run, TestProject, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

/// A statement slow enough for runs started together to overlap.
fn slow(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "SELECT pg_sleep(0.3);",
        Backend::Mysql => "SELECT SLEEP(0.3);",
        // SQLite has no sleep: count a million generated rows into a scratch table.
        Backend::Sqlite => {
            "CREATE TEMP TABLE busy AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) AS n FROM c;\nDROP TABLE busy;"
        }
    }
}

/// Five revisions; each logs itself in `applied_log` (created by the first, without a
/// key, so a second application would show as a second row).
fn write_logged_revisions(p: &TestProject, backend: Backend) {
    for i in 1..=5 {
        let id = format!("rev_{i}");
        let parent = format!("rev_{}", i - 1);
        let parents: Vec<&str> = if i == 1 { vec![] } else { vec![&parent] };
        let mut up = String::new();
        if i == 1 {
            up.push_str("CREATE TABLE applied_log (rev varchar(20) NOT NULL);\n");
        }
        up.push_str(slow(backend));
        up.push_str(&format!("\nINSERT INTO applied_log (rev) VALUES ('{id}');"));
        p.write_rev(&Rev::new(&id, &parents, &format!("log {id}")).sql(&up, ""));
    }
}

/// Starts `n` `aludel ARGS` processes without waiting in between; returns each one's
/// pid and run.
fn run_together(p: &TestProject, n: usize, args: &[&str]) -> Vec<(u32, Run)> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            p.command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let pid = c.id();
            (
                pid,
                Run::from_output(c.wait_with_output().unwrap(), p.path()),
            )
        })
        .collect()
}

fn all_output(runs: &[(u32, Run)]) -> String {
    runs.iter()
        .map(|(pid, r)| format!("=== pid {pid}: {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_applied_once(db: &Db, runs: &[(u32, Run)]) {
    let all = all_output(runs);
    for (_, r) in runs {
        assert_eq!(r.code, 0, "{all}");
    }
    assert_eq!(
        db.rows("SELECT rev, count(*) FROM applied_log GROUP BY rev"),
        ["rev_1|1", "rev_2|1", "rev_3|1", "rev_4|1", "rev_5|1"],
        "{all}"
    );
    assert_eq!(db.version_rows(), ["rev_5"], "{all}");
    let progress = runs
        .iter()
        .map(|(_, r)| r.stderr.matches("Running upgrade").count())
        .sum::<usize>();
    assert_eq!(progress, 5, "each revision is reported once:\n{all}");
    let waited: Vec<&(u32, Run)> = runs
        .iter()
        .filter(|(_, r)| r.stderr.contains("Waiting for the migration lock held by"))
        .collect();
    assert!(!waited.is_empty(), "no run said it waited:\n{all}");
    for (_, r) in &waited {
        assert!(
            r.stderr.contains("Took the migration lock after"),
            "a waiting run never said it got the lock:\n{all}"
        );
    }
}

fn processes_started_together_apply_each_revision_once(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_logged_revisions(&p, backend);
    let n = match backend {
        Backend::Postgres | Backend::Mysql => 8,
        Backend::Sqlite => 4,
    };
    let runs = run_together(&p, n, &["upgrade", "head"]);
    assert_applied_once(db, &runs);
    let all = all_output(&runs);
    let pids: Vec<u32> = runs.iter().map(|(pid, _)| *pid).collect();
    for (pid, r) in &runs {
        let Some(at) = r.stderr.find("Waiting for the migration lock held by ") else {
            continue;
        };
        let line = r.stderr[at..].lines().next().unwrap();
        match backend {
            // The holder as pg_stat_activity reports it: aludel's application name
            // (pid and host of the holding process), its backend pid and address.
            Backend::Postgres => {
                let holder = line
                    .strip_prefix("Waiting for the migration lock held by aludel pid ")
                    .unwrap_or_else(|| panic!("holder not named: {line}\n{all}"));
                let holder_pid: u32 = holder.split(' ').next().unwrap().parse().unwrap();
                assert!(
                    pids.contains(&holder_pid) && holder_pid != *pid,
                    "the holder is not another of the runs: {line}\n{all}"
                );
                assert!(line.contains("(backend pid "), "{line}");
            }
            // SQLite does not say who holds its file lock.
            Backend::Sqlite => assert!(line.contains("held by another run"), "{line}"),
            // The holder's connection as the server numbers it, and its user@host.
            Backend::Mysql => {
                let id = line
                    .strip_prefix("Waiting for the migration lock held by connection ")
                    .and_then(|rest| rest.split_once(" (root@"))
                    .map(|(id, _)| id)
                    .unwrap_or_else(|| panic!("holder not named: {line}\n{all}"));
                assert!(id.parse::<u32>().is_ok(), "{line}");
            }
        }
    }
}

/// A run that fails releases the lock: the next run neither waits nor times out (its
/// lock timeout is zero).
fn a_failed_run_releases_the_lock(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", ""));
    let bad = Rev::new("rev_2", &["rev_1"], "two").sql("INSERT INTO nowhere VALUES (1);", "");
    p.write_rev(&bad);
    p.fails(&["upgrade", "head"]);
    p.set_option("connect", "lock_timeout_seconds", "0");
    let r = p.fails(&["upgrade", "head"]);
    assert!(r.stderr.contains("upgrade of revision rev_2 failed"), "{r}");
    assert!(!r.stderr.contains("migration lock"), "{r}");
    p.write_rev(&bad.clone().sql("CREATE TABLE t2 (id int);", ""));
    let r = p.ok(&["upgrade", "head"]);
    assert!(!r.stderr.contains("migration lock"), "{r}");
    assert_eq!(db.version_rows(), ["rev_2"]);
}

/// A run that finds the lock taken waits, says so, and gives up after
/// `lock_timeout_seconds` with a message naming the holder; once the holder lets go,
/// the run goes through.
fn a_held_lock_times_out_and_names_the_holder(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", ""));
    p.set_option("connect", "lock_timeout_seconds", "1");
    let expected_holder: String;
    let holder: Box<dyn std::any::Any> = match db {
        Db::Postgres(pg) => {
            let table = aludel::render::VersionTable {
                name: "aludel_version".into(),
                schema: None,
                dialect: aludel::url::Dialect::Postgres,
            };
            let key = aludel::driver::lock_key("public", &table);
            let mut c = pg.client();
            c.batch_execute(&format!(
                "SET application_name = 'blocker'; SELECT pg_advisory_lock({key})"
            ))
            .unwrap();
            expected_holder = "blocker (backend pid ".into();
            Box::new(c)
        }
        Db::Sqlite(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE").unwrap();
            expected_holder = "another run".into();
            Box::new(c)
        }
        Db::Mysql(my) => {
            let c = crate::hold_mysql_run_lock(my);
            expected_holder = format!("connection {} (root@", c.connection_id());
            Box::new(c)
        }
    };
    let r = p.fails(&["upgrade", "head"]);
    assert!(
        r.stderr.contains(&format!(
            "Waiting for the migration lock held by {expected_holder}"
        )),
        "{r}"
    );
    assert!(
        r.stderr
            .contains("timed out after 1s waiting for the migration lock"),
        "{r}"
    );
    assert!(r.stderr.contains("lock_timeout_seconds"), "{r}");
    if backend == Backend::Postgres {
        assert!(r.stderr.contains("held by blocker (backend pid "), "{r}");
    }
    drop(holder);
    p.ok(&["upgrade", "head"]);
    assert_eq!(db.version_rows(), ["rev_1"]);
}

/// Runs started together when the third revision fails: each one tries it in turn
/// (under the lock), each fails and names it, and the first two are applied once.
fn processes_started_together_on_a_failing_revision(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_logged_revisions(&p, backend);
    p.write_rev(&Rev::new("rev_3", &["rev_2"], "fails").sql("INSERT INTO nowhere VALUES (1);", ""));
    let runs = run_together(&p, 4, &["upgrade", "head"]);
    let all = all_output(&runs);
    for (_, r) in &runs {
        assert_eq!(r.code, 1, "{all}");
        assert!(
            r.stderr.contains("upgrade of revision rev_3 failed"),
            "{all}"
        );
        // On MariaDB the failed statement was the revision's first: nothing of it ran.
        let at = match backend {
            Backend::Mysql => "none of its statements ran before it; the version table is at rev_2",
            Backend::Sqlite | Backend::Postgres => "the database is at rev_2",
        };
        assert!(r.stderr.contains(at), "{all}");
    }
    assert_eq!(
        db.rows("SELECT rev, count(*) FROM applied_log GROUP BY rev"),
        ["rev_1|1", "rev_2|1"],
        "{all}"
    );
    assert_eq!(db.version_rows(), ["rev_2"], "{all}");
}

/// A run killed in the middle of a revision leaves neither a lock nor a half-applied
/// revision: the next run applies everything, each revision once.
fn a_killed_run_is_resumed(backend: Backend) {
    use std::io::BufRead as _;
    let p = DbProject::new(BIN, backend, "");
    let db = p.db();
    write_logged_revisions(&p, backend);
    let mut child = Command::new(BIN)
        .args(["upgrade", "head"])
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("ALUDEL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // The first revision is done; the second is in its slow statement.
    let first = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains("Finished upgrade  -> rev_1"));
    assert!(first.is_some(), "the run ended before finishing rev_1");
    child.kill().unwrap();
    child.wait().unwrap();
    let r = p.ok(&["upgrade", "head"]);
    assert!(r.stderr.contains("Running upgrade rev_4 -> rev_5"), "{r}");
    assert!(!r.stderr.contains("-> rev_1,"), "{r}");
    assert_eq!(
        db.rows("SELECT rev, count(*) FROM applied_log GROUP BY rev"),
        ["rev_1|1", "rev_2|1", "rev_3|1", "rev_4|1", "rev_5|1"],
        "{r}"
    );
    assert_eq!(db.version_rows(), ["rev_5"]);
}

/// The PostgreSQL lock is keyed by the version table (schema and name): a project with its
/// own version table in the same database does not wait for another's run.
#[test]
fn lock_is_per_version_table_postgres() {
    let p = DbProject::new(BIN, Backend::Postgres, "");
    let db = p.db();
    p.write_rev(&Rev::new("rev_1", &[], "one").sql("CREATE TABLE t1 (id int);", ""));
    let Db::Postgres(pg) = db else { unreachable!() };
    let table = aludel::render::VersionTable {
        name: "aludel_version".into(),
        schema: None,
        dialect: aludel::url::Dialect::Postgres,
    };
    let key = aludel::driver::lock_key("public", &table);
    let mut holder = pg.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .unwrap();
    p.set_option("connect", "lock_timeout_seconds", "0");
    p.fails(&["upgrade", "head"]);
    p.set_option("aludel", "version_table", "\"other_version\"");
    let r = p.ok(&["upgrade", "head"]);
    assert!(!r.stderr.contains("migration lock"), "{r}");
    assert_eq!(db.rows("SELECT version_num FROM other_version"), ["rev_1"]);
    drop(holder);
}

on_all!(a_killed_run_is_resumed, a_failed_run_releases_the_lock,);

on_all!(
    processes_started_together_on_a_failing_revision,
    processes_started_together_apply_each_revision_once,
    a_held_lock_times_out_and_names_the_holder,
);
