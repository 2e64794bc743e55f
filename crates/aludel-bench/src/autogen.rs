//! `autogen`: autogenerate and check on PostgreSQL with 1,000 tables of 10 columns,
//! each with an index and a foreign key to the first ([`super::HUB`]).
//!
//! Times, as medians over the runs: introspection of the whole database and a diff of
//! two such catalogs (through the library), `aludel check` cold (no cached desired
//! catalog: the shadow database is created, loaded and read) and warm (the desired
//! schema unchanged since the last run), cold again 15 s later (the edit-check loop,
//! see [`AGAIN_AFTER_SECONDS`]), and one cold `revision --autogenerate` from
//! an empty database. Beside them, `psql -1 -f schema.sql` into a new database: what
//! the server takes to run the desired schema's SQL at all, which a cold `check` (it
//! loads that SQL into its shadow database) cannot go below. With
//! `ALUDEL_BENCH_SHADOW_SERVER_URL` set, also a cold `check` whose shadow databases are
//! made on that server (`[autogenerate] shadow_server_url`): `scripts/bench` gives it a
//! throwaway fsync-off server in memory when the main one is a real server.

use std::path::Path;
use std::time::Instant;

use super::{Options, Result, admin_url, check, measure, median, psql, recreate, settle, url_for};

/// How long after a cold `check` the next one runs in the edit-check loop: on a file
/// system that will not reuse an inode freed in the last minute (ext4 without a
/// journal), the files the last shadow database freed are still in the way.
const AGAIN_AFTER_SECONDS: u64 = 15;

fn schema_sql(tables: usize) -> String {
    let mut out = String::new();
    for i in 0..tables {
        let fk = if i == 0 {
            "ref_id bigint".to_string()
        } else {
            format!("ref_id bigint REFERENCES {} (id)", super::HUB)
        };
        out.push_str(&format!(
            "CREATE TABLE t{i:05} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    {fk},
    name varchar(100) NOT NULL,
    email varchar(200),
    amount numeric(12,2) DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    active boolean NOT NULL DEFAULT true,
    note text,
    code integer CHECK (code > 0),
    data jsonb
);
CREATE INDEX t{i:05}_name_idx ON t{i:05} (name);
"
        ));
    }
    out
}

/// `--settle`: waits before a timed run that creates a database's files. On a file
/// system that passes over recently freed inodes when it allocates one (ext4
/// without a journal does), creating a shadow database's thousands of files right
/// after the last one's were removed took up to twice as long here.
fn pause(o: &Options) {
    if o.settle_seconds > 0 {
        std::thread::sleep(std::time::Duration::from_secs(o.settle_seconds as u64));
    }
}

pub(crate) fn bench_autogen(bin: &Path, o: &Options, peak: &mut u64) -> Result<()> {
    let tables = o.tables;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("migrations/versions")).map_err(|e| e.to_string())?;
    std::fs::write(
        root.join("aludel.toml"),
        "[aludel]\nscript_location = \"migrations\"\n[autogenerate]\nschema = \"schema.sql\"\n[connect]\nretries = 1\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(root.join("schema.sql"), schema_sql(tables)).map_err(|e| e.to_string())?;
    let db = "aludel_bench_autogen";
    recreate(db)?;
    // The same project with its shadow databases on a scratch server.
    let scratch = std::env::var("ALUDEL_BENCH_SHADOW_SERVER_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if let Some(server) = &scratch {
        std::fs::write(
            root.join("aludel-scratch.toml"),
            format!(
                "[aludel]\nscript_location = \"migrations\"\n[autogenerate]\nschema = \"schema.sql\"\nshadow_server_url = \"{server}\"\n[connect]\nretries = 1\n"
            ),
        )
        .map_err(|e| e.to_string())?;
    }
    let cache = root.join("cache");
    let aludel = |args: &[&str]| {
        let mut c = std::process::Command::new(bin);
        c.current_dir(root)
            .env("DATABASE_URL", url_for(db))
            .env("ALUDEL_CACHE_DIR", &cache)
            .args(args);
        c
    };
    println!(
        "\n## Autogenerate and check: {tables} tables of 10 columns with an index and a foreign key (PostgreSQL)"
    );
    let _ = std::fs::remove_dir_all(&cache);
    let generated = measure(
        &mut aludel(&["-q", "revision", "--autogenerate", "-m", "all"]),
        None,
    )?;
    check(&generated, "aludel revision --autogenerate")?;
    *peak = (*peak).max(generated.maxrss_kib);
    let up = measure(&mut aludel(&["-q", "upgrade", "head"]), None)?;
    check(&up, "aludel upgrade head")?;

    // Through the library: introspection and diff alone.
    let url: aludel::url::DatabaseUrl = url_for(db).parse().map_err(|e| format!("{e}"))?;
    let options = aludel::driver::ConnectOptions {
        busy_timeout: std::time::Duration::from_secs(5),
        ..aludel::driver::ConnectOptions::default()
    };
    let mut driver = aludel::driver::connect(&url, &options).map_err(|e| e.to_string())?;
    let scope = aludel::driver::InspectScope {
        schemas: Vec::new(),
        exclude_tables: vec!["aludel_version".into()],
    };
    let (mut inspect_s, mut diff_s, mut cold_s, mut warm_s) = (vec![], vec![], vec![], vec![]);
    let (mut load_s, mut scratch_s, mut again_s) = (vec![], vec![], vec![]);
    let floor_db = "aludel_bench_autogen_load";
    if o.settle_seconds > 0 {
        println!(
            "(each cold check and psql load starts {} s after the last database was dropped)",
            o.settle_seconds
        );
    }
    println!(
        "run | introspection | diff | check cold | check warm | check cold again, {AGAIN_AFTER_SECONDS} s later | psql -1 -f schema.sql | check cold, scratch shadow server"
    );
    for run in 0..o.runs {
        let start = Instant::now();
        let current = driver.inspect(&scope).map_err(|e| e.to_string())?;
        inspect_s.push(start.elapsed().as_secs_f64());
        // A desired schema that differs in a tenth of the tables.
        let mut desired = current.catalog.clone();
        for (i, table) in desired
            .schemas
            .values_mut()
            .flat_map(|s| s.tables.values_mut())
            .enumerate()
        {
            if i % 10 == 0 {
                table.columns.pop();
                table.indexes.clear();
            }
        }
        let start = Instant::now();
        let d = aludel::diff::diff(
            &current.catalog,
            &desired,
            &aludel::diff::Renames::default(),
        );
        diff_s.push(start.elapsed().as_secs_f64());
        if d.ops.len() < tables / 10 {
            return Err(format!("the diff found only {} changes", d.ops.len()));
        }

        let _ = std::fs::remove_dir_all(&cache);
        settle();
        pause(o);
        let cold = measure(&mut aludel(&["-q", "check"]), None)?;
        check(&cold, "aludel check (cold)")?;
        let warm = measure(&mut aludel(&["-q", "check"]), None)?;
        check(&warm, "aludel check (warm)")?;
        // The edit-check loop: the desired schema changed again soon after the last
        // cold check dropped its shadow database.
        std::thread::sleep(std::time::Duration::from_secs(AGAIN_AFTER_SECONDS));
        let _ = std::fs::remove_dir_all(&cache);
        let again = measure(&mut aludel(&["-q", "check"]), None)?;
        check(&again, "aludel check (cold again)")?;
        *peak = (*peak)
            .max(cold.maxrss_kib)
            .max(warm.maxrss_kib)
            .max(again.maxrss_kib);
        cold_s.push(cold.elapsed.as_secs_f64());
        warm_s.push(warm.elapsed.as_secs_f64());
        again_s.push(again.elapsed.as_secs_f64());

        recreate(floor_db)?;
        settle();
        pause(o);
        let load = measure(
            std::process::Command::new("psql")
                .args([
                    &url_for(floor_db),
                    "-q",
                    "-1",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                ])
                .arg(root.join("schema.sql")),
            None,
        )?;
        check(&load, "psql -1 -f schema.sql")?;
        load_s.push(load.elapsed.as_secs_f64());
        let scratch_cold = if scratch.is_some() {
            let _ = std::fs::remove_dir_all(&cache);
            let cold = measure(
                &mut aludel(&["-q", "-c", "aludel-scratch.toml", "check"]),
                None,
            )?;
            check(&cold, "aludel check (cold, scratch shadow server)")?;
            *peak = (*peak).max(cold.maxrss_kib);
            scratch_s.push(cold.elapsed.as_secs_f64());
            format!("{:.2} s", cold.elapsed.as_secs_f64())
        } else {
            "-".to_string()
        };
        println!(
            "{} | {:.0} ms | {:.1} ms | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {scratch_cold}",
            run + 1,
            inspect_s[run] * 1000.0,
            diff_s[run] * 1000.0,
            cold_s[run],
            warm_s[run],
            again_s[run],
            load_s[run]
        );
    }
    psql(
        &admin_url(),
        &format!("DROP DATABASE IF EXISTS {floor_db} WITH (FORCE)"),
    )?;
    let scratch_median = if scratch_s.is_empty() {
        "-".to_string()
    } else {
        format!("{:.2} s (target < 2.5 s)", median(scratch_s))
    };
    println!(
        "median | {:.0} ms (target < 1 s) | {:.1} ms (target < 100 ms) | {:.2} s (target < 2.5 s) | {:.2} s (target < 0.2 s) | {:.2} s (target < 2.5 s) | {:.2} s | {scratch_median}",
        median(inspect_s) * 1000.0,
        median(diff_s) * 1000.0,
        median(cold_s),
        median(warm_s),
        median(again_s),
        median(load_s)
    );
    println!(
        "revision --autogenerate from an empty database, cold: {:.2} s",
        generated.elapsed.as_secs_f64()
    );
    drop(driver);
    psql(
        &admin_url(),
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    Ok(())
}
