//! `fleet`: a fleet of SQLite databases (default 1,000) each brought from empty to a
//! 50-revision head by one `aludel --targets FILE --jobs J upgrade head`, for J from 1
//! up to twice the cores. Reports databases per second and the speed-up over J = 1.
//!
//! The databases live in `/dev/shm` when it exists (`ALUDEL_BENCH_FLEET_DIR` chooses
//! another folder): on tmpfs SQLite's fsyncs cost nothing, so the figure is aludel's
//! own work per database and shows how it scales with threads. On a real disk each
//! commit waits for the device and more jobs than cores still help.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Options, Result, check, measure, median, new_project};

/// Writes the project (SQLite, `revisions` revisions of a table and an index each) and
/// the targets file (`targets.txt`, which `--targets` names relative to the project);
/// returns its path and the databases' folder.
fn generate(dir: &Path, o: &Options) -> Result<(PathBuf, PathBuf)> {
    let versions = new_project(dir)?;
    for i in 0..o.fleet_revisions {
        let parent = if i == 0 {
            String::new()
        } else {
            format!("-- aludel:revises f{:04}\n", i - 1)
        };
        let text = format!(
            "-- aludel:revision f{i:04}\n{parent}-- aludel:message table {i}\n\n-- aludel:upgrade\n\
             CREATE TABLE t{i:04} (id integer PRIMARY KEY, tenant_id integer NOT NULL, name varchar(100) NOT NULL, created_at timestamp);\n\
             CREATE INDEX t{i:04}_tenant ON t{i:04} (tenant_id);\n\n\
             -- aludel:downgrade\nDROP TABLE t{i:04};\n"
        );
        std::fs::write(versions.join(format!("f{i:04}.sql")), text).map_err(|e| e.to_string())?;
    }
    let dbs = dir.join("tenants");
    std::fs::create_dir_all(&dbs).map_err(|e| e.to_string())?;
    let targets: String = (0..o.fleet_dbs)
        .map(|i| format!("sqlite:///tenants/t{i:05}.db\n"))
        .collect();
    let file = dir.join("targets.txt");
    std::fs::write(&file, targets).map_err(|e| e.to_string())?;
    Ok((file, dbs))
}

fn empty(dbs: &Path) -> Result<()> {
    std::fs::remove_dir_all(dbs).map_err(|e| format!("{}: {e}", dbs.display()))?;
    std::fs::create_dir_all(dbs).map_err(|e| format!("{}: {e}", dbs.display()))
}

/// Runs the fleet benchmark and prints its table.
pub fn bench_fleet(bin: &Path, o: &Options, peak: &mut u64) -> Result<()> {
    let base = std::env::var_os("ALUDEL_BENCH_FLEET_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("aludel-fleet")
        .tempdir_in(&base)
        .map_err(|e| format!("{}: {e}", base.display()))?;
    let (_targets, dbs) = generate(dir.path(), o)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut jobs: Vec<usize> = Vec::new();
    let mut j = 1;
    while j < cores * 2 {
        jobs.push(j);
        j *= 2;
    }
    jobs.push(cores * 2);
    jobs.dedup();
    println!(
        "\n## Fleet: {} SQLite databases x {} revisions, `aludel --targets FILE --jobs J upgrade head` ({} cores, databases in {})",
        o.fleet_dbs,
        o.fleet_revisions,
        cores,
        base.display()
    );
    let command = |j: usize| {
        let mut c = Command::new(bin);
        c.current_dir(dir.path())
            .args(["--targets", "targets.txt", "--jobs", &j.to_string(), "-q"])
            .args(["upgrade", "head"])
            .env("ALUDEL_CACHE_DIR", "");
        c
    };
    // One untimed run warms the binary and the page cache.
    empty(&dbs)?;
    check(&measure(&mut command(cores), None)?, "fleet warm-up")?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    for run in 0..o.runs {
        // Alternate the order so no J always runs right after another.
        let order: Vec<usize> = if run % 2 == 0 {
            (0..jobs.len()).collect()
        } else {
            (0..jobs.len()).rev().collect()
        };
        for k in order {
            empty(&dbs)?;
            let m = measure(&mut command(jobs[k]), None)?;
            check(&m, &format!("fleet --jobs {}", jobs[k]))?;
            *peak = (*peak).max(m.maxrss_kib);
            times[k].push(m.elapsed.as_secs_f64());
        }
    }
    println!("jobs | median time | databases/s | speed-up vs 1 job");
    let base_time = median(times[0].clone());
    for (k, j) in jobs.iter().enumerate() {
        let t = median(times[k].clone());
        println!(
            "{j} | {:.2} s | {:.0} | {:.2}x",
            t,
            o.fleet_dbs as f64 / t,
            base_time / t
        );
    }
    Ok(())
}
