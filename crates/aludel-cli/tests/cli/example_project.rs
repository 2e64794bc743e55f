//! The example project under `examples/bookstore` (what the README runs) applies and
//! reverts cleanly on SQLite and on PostgreSQL, using its own dialect sections.

use std::path::{Path, PathBuf};
use std::process::Command;

use aludel_testkit::{PgDatabase, Run};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bookstore")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.path().extension().is_none_or(|e| e != "db") {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn aludel(dir: &Path, url: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_remove("DATABASE_URL");
    if let Some(u) = url {
        cmd.args(["--url", u]);
    }
    let run = Run::from_output(cmd.args(args).output().unwrap(), dir);
    assert_eq!(run.code, 0, "aludel {args:?}:\n{run}");
    run
}

fn round_trip(url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&example(), dir.path());
    aludel(dir.path(), url, &["upgrade", "head"]);
    assert_eq!(
        aludel(dir.path(), url, &["current"]).stdout,
        "c47d90e3ab15 (head)\n"
    );
    aludel(dir.path(), url, &["downgrade", "-1"]);
    aludel(dir.path(), url, &["upgrade", "head"]);
    aludel(dir.path(), url, &["downgrade", "base"]);
    assert_eq!(aludel(dir.path(), url, &["current"]).stdout, "");
}

#[test]
fn the_example_runs_on_the_embedded_sqlite_default() {
    round_trip(None);
}

#[test]
fn the_example_runs_on_postgresql() {
    let db = PgDatabase::create();
    round_trip(Some(db.url()));
    assert_eq!(db.tables(), ["aludel_version"]);
}
