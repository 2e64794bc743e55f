//! The `aludel` command: parses arguments, calls `aludel::project`, prints, exits.
//!
//! Results go to stdout, progress and errors to stderr. Exit codes: 0 success, 1 any
//! failure, 2 a usage error (from clap).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aludel::config::{Config, Overrides, ProcessEnv};
use aludel::project::{self, MergeOptions, Project, RevisionOptions};
use aludel::runner::Event;
use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc rather than the system allocator: loading a long history makes many small
/// allocations on several threads, where glibc's per-thread arenas grow a page at a
/// time (one `mprotect` each) and every fresh page faults separately. The library
/// leaves the choice to the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "aludel",
    version,
    about = "Database schema migrations with Alembic's verbs, in one fast binary",
    long_about = "Database schema migrations with Alembic's verbs, in one fast binary.\n\n\
        Revisions are .sql files in migrations/versions with a `-- aludel:` header. \
        The database URL comes from --url, then DATABASE_URL, then database_url in \
        aludel.toml, then sqlite:///aludel.db beside the config file.",
    after_help = "Targets: a full or partial revision id, head, heads, base, +N/-N, REV+N, \
        LABEL@head, LABEL@+N; ranges A:B for history and --sql."
)]
struct Cli {
    /// The config file (default: ./aludel.toml, or ALUDEL_CONFIG).
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The database URL, overriding DATABASE_URL and the config file.
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// How results are printed on stdout (json is not available yet).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// How progress is printed on stderr.
    #[arg(long = "log-format", global = true, value_enum, default_value_t = Format::Text)]
    log_format: Format,
    /// Print no progress, only results and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create aludel.toml and the migrations folder.
    Init {
        /// The project folder (default: the current one).
        dir: Option<PathBuf>,
    },
    /// Write a new revision file and print its path.
    Revision {
        /// The revision's message.
        #[arg(short, long)]
        message: Option<String>,
        /// Generate the SQL by comparing the desired schema with the database.
        #[arg(long)]
        autogenerate: bool,
        /// A rename for autogenerate: `old=new` (table) or `table.old=new` (column).
        #[arg(long, value_name = "OLD=NEW")]
        rename: Vec<String>,
        /// Write a revision even when autogenerate finds no change.
        #[arg(long)]
        allow_empty: bool,
        /// Use this revision id instead of a generated one.
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
        /// The head to build on (`REV`, `LABEL@head`, `base` for a new root).
        #[arg(long, value_name = "REV")]
        head: Option<String>,
        /// Allow --head to name a revision that is not a head (start a new branch).
        #[arg(long)]
        splice: bool,
        /// A branch label for the new revision.
        #[arg(long, value_name = "LABEL")]
        branch_label: Vec<String>,
        /// A revision (or label) the new one depends on.
        #[arg(long, value_name = "REV")]
        depends_on: Vec<String>,
    },
    /// Apply revisions up to TARGET.
    Upgrade {
        /// Target: head, heads, a revision, +N, LABEL@head; with --sql a range A:B.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print the SQL instead of running it (no connection is made).
        #[arg(long)]
        sql: bool,
    },
    /// Revert revisions down to TARGET.
    Downgrade {
        /// Target: base, a revision, -N, LABEL@base; with --sql a range A:B.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print the SQL instead of running it (no connection is made).
        #[arg(long)]
        sql: bool,
    },
    /// Show the revision(s) the database is at.
    Current {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List revisions, newest first.
    History {
        /// A range `A:B` (either side may be empty; `current` allowed).
        #[arg(short = 'r', long = "rev-range", value_name = "RANGE")]
        rev_range: Option<String>,
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
        /// Mark the revisions the database is at with `(current)`.
        #[arg(short, long)]
        indicate_current: bool,
    },
    /// Show the head revisions.
    Heads {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Show the branch points.
    Branches {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Show one revision in full.
    Show {
        /// A revision id (partial allowed), head, base, LABEL@head.
        #[arg(allow_hyphen_values = true)]
        rev: String,
    },
    /// Set the version table to TARGET without running migrations.
    Stamp {
        /// One or more targets: revisions, head, heads, base.
        #[arg(required = true)]
        targets: Vec<String>,
        /// Delete every row first, even unknown revisions.
        #[arg(long)]
        purge: bool,
        /// Print the SQL instead of running it.
        #[arg(long)]
        sql: bool,
    },
    /// Write a merge revision joining REVS (`heads` for all heads).
    Merge {
        /// The revisions to merge.
        #[arg(required = true)]
        revs: Vec<String>,
        /// The merge revision's message.
        #[arg(short, long)]
        message: Option<String>,
        /// A branch label for the merge revision.
        #[arg(long, value_name = "LABEL")]
        branch_label: Vec<String>,
        /// Use this revision id instead of a generated one.
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
    },
    /// Exit 1 if the database and the desired schema differ.
    Check {
        /// Compare the result of applying every revision to a shadow database instead.
        #[arg(long)]
        migrations: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_log = cli.log_format == Format::Json;
    match run(cli) {
        Ok(code) => code,
        Err(message) if json_log => {
            // Every stderr line stays one JSON object, the final error included.
            eprintln!(r#"{{"level":"error","message":{}}}"#, json_string(&message));
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("ERROR {}", message.replace('\n', "\n      "));
            ExitCode::from(1)
        }
    }
}

struct Printer {
    quiet: bool,
    json: bool,
}

impl Printer {
    fn event(&self, event: Event) {
        if self.quiet && !matches!(event, Event::ConnectFailed { .. }) {
            return;
        }
        let (level, text) = match &event {
            Event::ConnectFailed {
                attempt,
                of,
                error,
                retry_in,
            } => (
                "WARN",
                format!(
                    "{error} (attempt {attempt} of {of}); retrying in {}",
                    seconds(*retry_in)
                ),
            ),
            Event::WaitingForLock { holder, timeout } => (
                "INFO",
                format!(
                    "Waiting for the migration lock held by {} (up to {})",
                    holder.as_deref().unwrap_or("another run"),
                    seconds(*timeout)
                ),
            ),
            Event::LockAcquired { waited } => (
                "INFO",
                format!("Took the migration lock after {}", seconds(*waited)),
            ),
            Event::StepStarted { .. } => return,
            Event::StepFinished {
                description,
                elapsed,
                ..
            } => (
                "INFO",
                format!("{description} ({} ms)", elapsed.as_millis()),
            ),
        };
        let mut err = std::io::stderr().lock();
        if self.json {
            let _ = writeln!(
                err,
                "{{\"level\":\"{}\",\"message\":{}}}",
                level.to_ascii_lowercase(),
                json_string(&text)
            );
        } else {
            let _ = writeln!(err, "{level:<5} {text}");
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn print_out(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    let printer = Printer {
        quiet: cli.quiet,
        json: cli.log_format == Format::Json,
    };
    let json = cli.format == Format::Json;
    if json
        && !matches!(
            cli.command,
            Command::Current { .. }
                | Command::Heads { .. }
                | Command::History { .. }
                | Command::Show { .. }
                | Command::Check { .. }
        )
    {
        return Err(
            "--format json is available for current, heads, history, show and check; use --format text here"
                .into(),
        );
    }
    let mut events = |e: Event| printer.event(e);
    if let Command::Init { dir } = &cli.command {
        let dir = dir
            .as_ref()
            // `components` drops the `.` of `aludel init .` from what is printed.
            .map(|d| cwd.join(d).components().collect::<PathBuf>())
            .unwrap_or_else(|| cwd.clone());
        let created = project::init(&dir).map_err(|e| e.to_string())?;
        for path in created {
            print_out(&format!("Created {}", path.display()));
        }
        print_out(&format!(
            "Edit {} to set the database URL, then run `aludel revision -m \"first\"`.",
            dir.join(aludel::config::CONFIG_FILE_NAME).display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let overrides = Overrides {
        config_path: cli.config.clone(),
        url: cli.url.clone(),
    };
    let config = Config::load(&overrides, &ProcessEnv, &cwd).map_err(|e| e.to_string())?;
    let project = Project::open(config).map_err(|e| e.to_string())?;
    let out = match cli.command {
        Command::Init { .. } => String::new(),
        Command::Revision {
            message,
            autogenerate,
            rename,
            allow_empty,
            rev_id,
            head,
            splice,
            branch_label,
            depends_on,
        } => {
            let options = RevisionOptions {
                message: message.unwrap_or_default(),
                rev_id,
                head,
                splice,
                branch_labels: branch_label,
                depends_on,
            };
            if !autogenerate && (!rename.is_empty() || allow_empty) {
                return Err("--rename and --allow-empty go with --autogenerate".into());
            }
            let path = if autogenerate {
                let generated = project
                    .revision_autogenerate(&options, &rename, allow_empty, &mut events)
                    .map_err(|e| e.to_string())?;
                for change in &generated.changes {
                    printer.event_info(&format!("Detected {change}"));
                }
                for s in generated.suggestions.iter().chain(&generated.skipped) {
                    printer.event_warn(s);
                }
                match generated.path {
                    Some(path) => path,
                    None => {
                        printer.event_info(
                            "No changes in schema detected; no revision written (--allow-empty writes one anyway)",
                        );
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            } else {
                project.revision(&options).map_err(|e| e.to_string())?
            };
            let hooks = project.run_post_write_hooks(&path);
            for failure in hooks {
                printer.event_warn(&failure);
            }
            format!("Generating {} ... done", path.display())
        }
        Command::Merge {
            revs,
            message,
            branch_label,
            rev_id,
        } => {
            let path = project
                .merge(&MergeOptions {
                    revisions: revs,
                    message: message.unwrap_or_default(),
                    rev_id,
                    branch_labels: branch_label,
                })
                .map_err(|e| e.to_string())?;
            for failure in project.run_post_write_hooks(&path) {
                printer.event_warn(&failure);
            }
            format!("Generating {} ... done", path.display())
        }
        Command::Upgrade { target, sql } => {
            if sql {
                project.upgrade_sql(&target).map_err(|e| e.to_string())?
            } else {
                project
                    .upgrade(&target, &mut events)
                    .map_err(|e| e.to_string())?;
                String::new()
            }
        }
        Command::Downgrade { target, sql } => {
            if sql {
                project.downgrade_sql(&target).map_err(|e| e.to_string())?
            } else {
                project
                    .downgrade(&target, &mut events)
                    .map_err(|e| e.to_string())?;
                String::new()
            }
        }
        Command::Stamp {
            targets,
            purge,
            sql,
        } => {
            if sql {
                project
                    .stamp_sql(&targets, purge)
                    .map_err(|e| e.to_string())?
            } else {
                project
                    .stamp(&targets, purge, &mut events)
                    .map_err(|e| e.to_string())?;
                String::new()
            }
        }
        Command::Current { .. } if json => {
            let revisions = project
                .current_revisions(&mut events)
                .map_err(|e| e.to_string())?;
            json_document("current", &revisions)?
        }
        Command::Current { verbose } => project
            .current(verbose, &mut events)
            .map_err(|e| e.to_string())?,
        Command::History {
            rev_range,
            indicate_current,
            ..
        } if json => {
            let revisions = project
                .history_revisions(rev_range.as_deref(), indicate_current, &mut events)
                .map_err(|e| e.to_string())?;
            json_document("history", &revisions)?
        }
        Command::History {
            rev_range,
            verbose,
            indicate_current,
        } => project
            .history(rev_range.as_deref(), verbose, indicate_current, &mut events)
            .map_err(|e| e.to_string())?,
        Command::Heads { .. } if json => json_document("heads", &project.head_revisions())?,
        Command::Heads { verbose } => project.heads(verbose).map_err(|e| e.to_string())?,
        Command::Branches { verbose } => project.branches(verbose).map_err(|e| e.to_string())?,
        Command::Show { rev } if json => {
            let revisions = project
                .show_revisions(&rev, &mut events)
                .map_err(|e| e.to_string())?;
            json_document("revisions", &revisions)?
        }
        Command::Show { rev } => project.show(&rev, &mut events).map_err(|e| e.to_string())?,
        Command::Check { migrations } => {
            let report = project
                .check(migrations, &mut events)
                .map_err(|e| e.to_string())?;
            if json {
                let drift = !report.changes.is_empty();
                print_out(&json_document("check", &report)?);
                std::mem::forget(project);
                return Ok(if drift {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                });
            }
            for s in report.suggestions.iter().chain(&report.skipped) {
                printer.event_warn(s);
            }
            if report.changes.is_empty() {
                print_out("No new upgrade operations detected.");
            } else {
                let mut out = String::from("New upgrade operations detected:\n");
                for c in &report.changes {
                    out.push_str(&format!("  {c}\n"));
                }
                print_out(&out);
                std::mem::forget(project);
                return Ok(ExitCode::from(1));
            }
            String::new()
        }
    };
    print_out(&out);
    // The process ends here: freeing ten thousand revisions one by one would only
    // delay the exit.
    std::mem::forget(project);
    Ok(ExitCode::SUCCESS)
}

/// One JSON document `{"<key>": value}` for `--format json`.
fn json_document<T: serde::Serialize>(key: &str, value: &T) -> Result<String, String> {
    let mut doc = serde_json::Map::new();
    doc.insert(
        key.to_string(),
        serde_json::to_value(value).map_err(|e| format!("cannot write JSON: {e}"))?,
    );
    serde_json::to_string_pretty(&doc).map_err(|e| format!("cannot write JSON: {e}"))
}

impl Printer {
    fn event_info(&self, text: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.json {
            let _ = writeln!(
                err,
                "{{\"level\":\"info\",\"message\":{}}}",
                json_string(text)
            );
        } else {
            let _ = writeln!(err, "INFO  {text}");
        }
    }

    fn event_warn(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.json {
            let _ = writeln!(
                err,
                "{{\"level\":\"warn\",\"message\":{}}}",
                json_string(text)
            );
        } else {
            let _ = writeln!(err, "WARN  {text}");
        }
    }
}
