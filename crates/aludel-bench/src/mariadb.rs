//! `mariadb`: the 1,000-revision history in MySQL's types, `aludel upgrade head` on an
//! empty MariaDB database against the mysql client reading the same statements
//! (`mariadb < up.sql`), and `aludel downgrade base` against the reverse script. Every
//! DDL statement commits by itself there, so the client's script is what a DBA would
//! run; aludel adds its version-table change per revision and a journal row per
//! statement but the last.
//!
//! A second table compares aludel with the client reading aludel's own offline
//! script (`aludel upgrade head --sql`, `aludel downgrade head:base --sql`): the same
//! statements and version-table rows, without the journal and the read-back of the
//! version table that make a stopped run resumable and a tampered table noticed.
//! aludel is timed again there, each run paired with the client's, alternating which
//! goes first, as in the first table: a ratio is only taken within a pair.
//!
//! With `--settle SECONDS`, each run's upgrades wait until that long after the tables
//! were last dropped (the last run's downgrades, the databases made anew): on a file
//! system that passes over recently freed inodes when it allocates one (ext4 without a
//! journal: for a minute), the server's files for a thousand new tables otherwise cost a
//! varying share of system time, alike for both sides, that is not what is measured.
//!
//! MariaDB comes from `ALUDEL_BENCH_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`, no password); the `mariadb` (or `mysql`)
//! client must be on PATH.

use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{
    Measured, Options, Result, Tables, all_the_way, check, generate_history, measure, up_and_down,
};

fn admin_url() -> String {
    std::env::var("ALUDEL_BENCH_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Host, port, user and password of the admin URL, for the command-line client.
fn client_args() -> Result<Vec<String>> {
    let url = admin_url();
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| format!("not a URL: {url}"))?;
    let (userinfo, hostpart) = rest.rsplit_once('@').unwrap_or(("root", rest));
    let hostport = hostpart.split('/').next().unwrap_or("127.0.0.1");
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut args = vec![
        "--protocol=tcp".to_string(),
        format!("-h{host}"),
        format!("-P{port}"),
        format!("-u{user}"),
    ];
    if !pass.is_empty() {
        args.push(format!("-p{pass}"));
    }
    Ok(args)
}

fn client() -> String {
    if Command::new("mariadb").arg("--version").output().is_ok() {
        "mariadb".into()
    } else {
        "mysql".into()
    }
}

fn sql(statement: &str) -> Result<()> {
    let out = Command::new(client())
        .args(client_args()?)
        .args(["-e", statement])
        .output()
        .map_err(|e| format!("{}: {e}", client()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    let base = admin.split('?').next().unwrap_or(&admin).to_string();
    match base.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{db}"),
        None => format!("{base}/{db}"),
    }
}

/// A `sync` and a pause before each timed command, so that neither side pays for the
/// files the other's tables or the last `DROP DATABASE` left the file system to write.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_millis(500));
}

fn recreate(db: &str) -> Result<()> {
    sql(&format!("DROP DATABASE IF EXISTS {db}"))?;
    sql(&format!("CREATE DATABASE {db}"))
}

pub(crate) fn bench_mariadb(bin: &Path, o: &Options, peak: &mut u64) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (up, down_script) = generate_history(dir.path(), o.revisions, Tables::Mysql)?;
    let config = dir.path().join("aludel.toml");
    let (db_a, db_c) = ("aludel_bench_a", "aludel_bench_client");
    println!(
        "\n## MariaDB: {} revisions, each a table of 8 columns with PK, index and FK",
        o.revisions
    );
    // When tables were last dropped, and how long an upgrade waits after that.
    let dropped = Cell::new(Instant::now());
    let rest = Duration::from_secs(o.settle_seconds as u64);
    let before = |going_down: bool| {
        settle();
        if !going_down {
            let since = dropped.get().elapsed();
            if since < rest {
                std::thread::sleep(rest - since);
            }
        }
    };
    let after = |going_down: bool| {
        if going_down {
            dropped.set(Instant::now());
        }
    };
    let by_client = |script: &Path, going_down: bool| -> Result<Measured> {
        before(going_down);
        let mut args = client_args()?;
        args.push(db_c.to_string());
        let m = measure(Command::new(client()).args(&args), Some(script))?;
        check(&m, &format!("{} < {}", client(), script.display()))?;
        after(going_down);
        Ok(m)
    };
    let url = url_for(db_a);
    // The offline scripts need no connection: the URL only names the dialect.
    let offline = |args: &[&str], name: &str| -> Result<std::path::PathBuf> {
        let out = Command::new(bin)
            .arg("-c")
            .arg(&config)
            .args(["--url", &url])
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "aludel {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, out.stdout).map_err(|e| e.to_string())?;
        Ok(path)
    };
    let up_sql = offline(&["upgrade", "head", "--sql"], "up-offline.sql")?;
    let down_sql = offline(&["downgrade", "head:base", "--sql"], "down-offline.sql")?;
    for (title, baseline, target, up, down) in [
        (None, "client", Some("1.10"), &up, &down_script),
        (
            Some(
                "The client reading aludel's offline script (the same statements and version rows, no journal):",
            ),
            "client --sql",
            None,
            &up_sql,
            &down_sql,
        ),
    ] {
        if let Some(title) = title {
            println!("\n{title}");
        }
        up_and_down(
            o,
            baseline,
            (target, None),
            || {
                recreate(db_a)?;
                recreate(db_c)?;
                dropped.set(Instant::now());
                Ok(())
            },
            |going_down: bool| by_client(if going_down { down } else { up }, going_down),
            |going_down: bool| {
                before(going_down);
                let m = all_the_way(bin, &config, &url, going_down)?;
                after(going_down);
                Ok(m)
            },
            peak,
        )?;
    }
    sql(&format!("DROP DATABASE IF EXISTS {db_a}"))?;
    sql(&format!("DROP DATABASE IF EXISTS {db_c}"))?;
    Ok(())
}
