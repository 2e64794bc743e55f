//! `--workspace` and `--targets`: one command for many projects or databases, N at a
//! time, each line scoped to its member or target, and a summary at the end.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aludel::config::{ProcessEnv, UrlSource};
use aludel::fleet::{Shard, TargetsFile, Workspace, run_all};
use aludel::project::Project;

use crate::output::{Failure, Level, LogLine, Printer, Scope, json_seconds};
use crate::{Command, Outcome, run_command};

/// How one member or target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// `check` found differences: exit 1 without an error.
    Drift,
    Failed,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drift => "drift",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug)]
struct ItemResult {
    name: String,
    status: Status,
    applied: usize,
    at: Option<Vec<String>>,
    error: Option<String>,
    elapsed: Duration,
    output: Option<serde_json::Value>,
}

/// What the items are called in messages and documents.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Member,
    Target,
}

impl Kind {
    fn singular(self) -> &'static str {
        match self {
            Kind::Member => "member",
            Kind::Target => "target",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Member => "members",
            Kind::Target => "targets",
        }
    }
}

/// `--targets FILE [--shard I/N]`: the command once per database, sharing one parsed
/// history.
pub fn run_targets(
    project: &Project,
    path: &Path,
    shard: Option<Shard>,
    command: &Command,
    jobs: usize,
    json: bool,
    printer: &Printer,
) -> Result<ExitCode, Failure> {
    let file = TargetsFile::load(path, &ProcessEnv).map_err(|e| e.to_string())?;
    let all = file
        .resolve(&project.config().connect, &mut |e| printer.event(&e))
        .map_err(|e| e.to_string())?;
    let targets = match shard {
        Some(s) => {
            let part = s.select(&all);
            printer.info(
                "shard",
                &format!(
                    "Shard {s}: {} of the {} targets in {}",
                    part.len(),
                    all.len(),
                    path.display()
                ),
            );
            part
        }
        None => &all[..],
    };
    let results = run_all(targets, jobs, |_, target| {
        let name = target.name();
        let printer = printer.scoped(Scope::Target(name.clone()));
        let project = project.with_database_url(target.url.clone());
        run_item(name, Kind::Target, &printer, json, || {
            run_command(&project, command, json, &printer)
        })
    });
    finish(&results, Kind::Target, json, printer)
}

/// `--workspace FILE`: the command once per member project.
pub fn run_workspace(
    path: &Path,
    command: &Command,
    jobs: usize,
    json: bool,
    printer: &Printer,
) -> Result<ExitCode, Failure> {
    let workspace = Workspace::load(path).map_err(|e| e.to_string())?;
    let results = run_all(workspace.members(), jobs, |_, member| {
        let printer = printer.scoped(Scope::Member(member.name.clone()));
        run_item(member.name.clone(), Kind::Member, &printer, json, || {
            let config = workspace
                .member_config(member, &ProcessEnv)
                .map_err(|e| e.to_string())?;
            if config.url_source == UrlSource::Default {
                // In a workspace this is most likely a forgotten `database_url`.
                printer.warn(
                    "default_database",
                    &format!(
                        "no database_url in {}: using the embedded SQLite default {}",
                        config.path.display(),
                        config.database_url
                    ),
                );
            }
            let project = Project::open(config)?;
            run_command(&project, command, json, &printer)
        })
    });
    finish(&results, Kind::Member, json, printer)
}

fn run_item(
    name: String,
    kind: Kind,
    printer: &Printer,
    json: bool,
    work: impl FnOnce() -> Result<Outcome, Failure>,
) -> ItemResult {
    let start = Instant::now();
    let result = work();
    let elapsed = start.elapsed();
    let item = match result {
        Ok(outcome) => {
            if !json {
                printer.result(&outcome.stdout);
            }
            ItemResult {
                name,
                status: if outcome.drift {
                    Status::Drift
                } else {
                    Status::Ok
                },
                applied: outcome.applied,
                at: outcome.at,
                error: None,
                elapsed,
                // A command without a JSON result (`--sql`, `branches`, `current -v`)
                // keeps its text.
                output: outcome
                    .json
                    .or_else(|| (!outcome.stdout.is_empty()).then(|| outcome.stdout.into())),
            }
        }
        Err(failure) => {
            printer.failure(&failure);
            ItemResult {
                name,
                status: Status::Failed,
                applied: failure.applied,
                at: None,
                error: Some(failure.message),
                elapsed,
                output: None,
            }
        }
    };
    // Text readers get the summary table; a log platform gets one line per item.
    if printer.json {
        let event = format!("{}_finished", kind.singular());
        printer.log(LogLine {
            level: if item.status == Status::Failed {
                Level::Error
            } else {
                Level::Info
            },
            event: &event,
            message: item.status.word(),
            revision: None,
            duration: Some(item.elapsed),
        });
    }
    item
}

fn finish(
    results: &[ItemResult],
    kind: Kind,
    json: bool,
    printer: &Printer,
) -> Result<ExitCode, Failure> {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let (ok, drift, failed) = (
        count(Status::Ok),
        count(Status::Drift),
        count(Status::Failed),
    );
    if json {
        let items: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                o.insert(kind.singular().into(), r.name.clone().into());
                o.insert("result".into(), r.status.word().into());
                o.insert("applied".into(), r.applied.into());
                o.insert(
                    "at".into(),
                    r.at.clone().map_or(serde_json::Value::Null, Into::into),
                );
                o.insert("duration".into(), json_seconds(r.elapsed).into());
                o.insert(
                    "error".into(),
                    r.error.clone().map_or(serde_json::Value::Null, Into::into),
                );
                o.insert(
                    "output".into(),
                    r.output.clone().unwrap_or(serde_json::Value::Null),
                );
                serde_json::Value::Object(o)
            })
            .collect();
        let mut summary = serde_json::Map::new();
        summary.insert("ok".into(), ok.into());
        summary.insert("drift".into(), drift.into());
        summary.insert("failed".into(), failed.into());
        let mut doc = serde_json::Map::new();
        doc.insert(kind.plural().into(), items.into());
        doc.insert("summary".into(), summary.into());
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc))
            .map_err(|e| format!("cannot write JSON: {e}"))?;
        printer.result(&text);
    } else {
        printer.result(&summary_table(results, kind, ok, drift, failed));
    }
    // A failure outweighs drift: the run could not answer for every item.
    Ok(if failed > 0 {
        ExitCode::from(crate::EXIT_FAILURE)
    } else if drift > 0 {
        ExitCode::from(crate::EXIT_OUT_OF_STEP)
    } else {
        ExitCode::SUCCESS
    })
}

/// The table printed after every member or target finished:
///
/// ```text
/// member            result  applied  at            time
/// services/billing  ok            2  3f2a9c1d7b40  35 ms
/// services/orders   failed        0  -             12 ms
/// 2 members: 1 ok, 1 failed
///   services/orders: <the error's first line>
/// ```
fn summary_table(
    results: &[ItemResult],
    kind: Kind,
    ok: usize,
    drift: usize,
    failed: usize,
) -> String {
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            [
                // A name or version row of any length stays one readable cell.
                aludel::text::value(&r.name),
                r.status.word().to_string(),
                r.applied.to_string(),
                r.at.as_ref()
                    .map(|at| {
                        if at.is_empty() {
                            "base".to_string()
                        } else {
                            aludel::text::value(&at.join(","))
                        }
                    })
                    .unwrap_or_else(|| "-".to_string()),
                format!("{} ms", r.elapsed.as_millis()),
            ]
        })
        .collect();
    let header = [kind.singular(), "result", "applied", "at", "time"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    // Padded by hand: a format width above 65,535 panics, and nothing bounds a cell
    // but the cutting above.
    let pad = |line: &mut String, cell: &str, width: usize, right: bool| {
        let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
        if right {
            line.push_str(&fill);
            line.push_str(cell);
        } else {
            line.push_str(cell);
            line.push_str(&fill);
        }
        line.push_str("  ");
    };
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        pad(&mut line, &row[0], widths[0], false);
        pad(&mut line, &row[1], widths[1], false);
        pad(&mut line, &row[2], widths[2], true);
        pad(&mut line, &row[3], widths[3], false);
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let mut tally = format!("{ok} ok");
    if drift > 0 {
        tally.push_str(&format!(", {drift} drift"));
    }
    tally.push_str(&format!(", {failed} failed"));
    out.push_str(&format!(
        "{} {}: {tally}\n",
        results.len(),
        if results.len() == 1 {
            kind.singular()
        } else {
            kind.plural()
        }
    ));
    for r in results {
        if let Some(e) = &r.error {
            out.push_str(&format!(
                "  {}: {}\n",
                aludel::text::value(&r.name),
                aludel::text::one_line(
                    e.lines().next().unwrap_or_default(),
                    aludel::text::LINE_CHARS
                )
            ));
        }
    }
    out
}
