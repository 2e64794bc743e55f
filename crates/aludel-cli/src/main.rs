//! The `aludel` command: parses arguments, calls `aludel::project`, prints, exits.
//!
//! Results go to stdout, progress and errors to stderr. Exit codes (docs/SPEC.md):
//! 0 success, 1 a failure, 2 a usage error, 3 the database is out of step (`check`
//! found changes, `current --check-heads` found it not at the heads).

mod fleet;
mod output;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use aludel::config::{Config, Overrides, ProcessEnv};
use aludel::project::{self, MergeOptions, Project, RevisionOptions};
use aludel::runner::Event;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::output::{Failure, Level, LogLine, Printer};

/// mimalloc rather than the system allocator: loading a long history makes many small
/// allocations on several threads, where glibc's per-thread arenas grow a page at a
/// time (one `mprotect` each) and every fresh page faults separately. The library
/// leaves the choice to the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status of a command that failed: it could not do what was asked (a migration
/// failed, the database could not be reached, a broken file, a bad target).
const EXIT_FAILURE: u8 = 1;
// 2, a command-line usage error, is clap's: its own checks and `usage_error`'s.
/// Exit status when the command answered and the database is out of step: `check`
/// found changes, `current --check-heads` found it not at the heads.
const EXIT_OUT_OF_STEP: u8 = 3;

/// `0.1.0 (mysql, postgres, sqlite)`: the version and the databases compiled in.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} ({})",
        env!("CARGO_PKG_VERSION"),
        aludel::driver::COMPILED_DATABASES.join(", ")
    )
});

#[derive(Parser, Debug)]
#[command(
    name = "aludel",
    version = VERSION.as_str(),
    about = "Database schema migrations with Alembic's verbs, in one fast binary",
    long_about = "Database schema migrations with Alembic's verbs, in one fast binary.\n\n\
        Revisions are .sql files in migrations/versions with a `-- aludel:` header. \
        The database URL comes from --url, then DATABASE_URL, then database_url in \
        aludel.toml, then sqlite:///aludel.db beside the config file. Options may \
        come before or after the command.",
    after_help = "Targets: a full or partial revision id, head, heads, base, +N/-N, REV+N, \
        LABEL@head, LABEL@+N; ranges A:B for history and --sql.\n\n\
        Exit status: 0 success; 1 failure (a migration failed, the database could not \
        be reached, a broken file); 2 usage error; 3 out of step (check found changes, \
        current --check-heads found the database not at the heads).\n\n\
        Connecting: [connect] retries (MIGRATION_RETRY_COUNT) attempts in all; the wait \
        after the first failure is delay_seconds (MIGRATION_RETRY_DELAY) and doubles after \
        each further one, up to 60 s (5 attempts from 5 s: 75 s of waiting in all), or \
        stays the same with backoff = \"fixed\" (MIGRATION_RETRY_BACKOFF=fixed: 20 s)."
)]
struct Cli {
    /// The config file (default: ./aludel.toml, or ALUDEL_CONFIG).
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The database URL, overriding DATABASE_URL and the config file.
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// How results are printed on stdout: text, or one JSON document (current, heads,
    /// history, show, check; with --workspace or --targets, the summary).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// How progress is printed on stderr: text, or one JSON object a line (time, level,
    /// event, member or target, revision, duration, message).
    #[arg(long = "log-format", global = true, value_enum, default_value_t = Format::Text)]
    log_format: Format,
    /// Print no progress, only results, warnings and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Run the command in every member project of this workspace file.
    // Relations between global options are checked in `usage_error`: clap checks
    // them only among options given on the same side of the subcommand.
    #[arg(long, global = true, value_name = "FILE")]
    workspace: Option<PathBuf>,
    /// Run the command against every database listed in FILE (one URL a line, `#`
    /// comments, ${ENV} references, `query URL SQL` lines).
    // Its own id: `stamp`'s positional TARGETS is `targets` already.
    #[arg(
        long = "targets",
        id = "targets_file",
        global = true,
        value_name = "FILE"
    )]
    targets: Option<PathBuf>,
    /// How many members or databases run at once (default: the number of CPUs).
    #[arg(long, global = true, value_name = "N")]
    jobs: Option<NonZeroUsize>,
    /// Only the I-th of N even slices of the targets: I/N counting from 1, or
    /// index:K/N counting from 0 (a Kubernetes Indexed Job's $(JOB_COMPLETION_INDEX)).
    #[arg(long, global = true, value_name = "I/N")]
    shard: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Where `aludel import` takes a project from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ImportFrom {
    /// An Alembic project.
    Alembic,
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
        /// Print the SQL instead of running it. No connection is made, except that
        /// a range current:B reads where the database is, to print what is pending.
        #[arg(long)]
        sql: bool,
    },
    /// Revert revisions down to TARGET.
    Downgrade {
        /// Target: base, a revision, REV-N (the revision N below REV: every child of
        /// it goes), -N (N off the database's line), LABEL@base; with --sql a range A:B.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Print the SQL instead of running it. No connection is made, except that
        /// a range current:B reads where the database is.
        #[arg(long)]
        sql: bool,
    },
    /// Show the revision(s) the database is at.
    Current {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
        /// Exit 3 unless the database is at the heads, saying where it is and where
        /// the revision files expect it (a start-up or readiness check). Takes no
        /// lock and writes nothing.
        #[arg(long)]
        check_heads: bool,
    },
    /// List revisions, newest first.
    History {
        /// A range `A:B` (either side may be empty; `current` allowed).
        #[arg(
            short = 'r',
            long = "rev-range",
            value_name = "RANGE",
            allow_hyphen_values = true
        )]
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
        /// A revision id (partial allowed), head, heads, LABEL@head, current, or -N /
        /// LABEL@-N (N below each head of the branch).
        #[arg(allow_hyphen_values = true)]
        rev: String,
    },
    /// Set the version table to TARGET without running migrations.
    Stamp {
        /// One or more targets: revisions, head, heads, base.
        #[arg(required = true, allow_negative_numbers = true)]
        targets: Vec<String>,
        /// Delete every row first, even unknown revisions.
        #[arg(long)]
        purge: bool,
        /// Print the SQL instead of running it.
        #[arg(long)]
        sql: bool,
    },
    /// Write a merge revision joining REVS (`heads` for the real heads).
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
        /// Accept revisions that are not heads (starts a new branch from each).
        #[arg(long)]
        splice: bool,
    },
    /// Exit 3 if the database and the desired schema differ.
    Check {
        /// Compare the result of applying every revision to a shadow database instead.
        #[arg(long)]
        migrations: bool,
    },
    /// Turn an Alembic project into an aludel project: `aludel import alembic [PATH]`
    /// writes each revision's SQL (from Alembic's offline mode, run with the project's
    /// Python) as a .sql file and an aludel.toml that keeps Alembic's version table.
    Import {
        /// The tool the project comes from.
        #[arg(value_enum)]
        from: ImportFrom,
        /// The Alembic project's folder, holding alembic.ini or pyproject.toml
        /// (default: the current one).
        path: Option<PathBuf>,
        /// The Python of the project's environment (where env.py and the revisions
        /// import).
        #[arg(long, default_value = "python")]
        python: String,
        /// The database's dialect, postgresql or sqlite, or both (postgresql,sqlite:
        /// a section per dialect where their SQL differs); default: what env.py
        /// configures.
        #[arg(long)]
        dialect: Option<String>,
        /// The folder for aludel's revisions, relative to PATH.
        #[arg(long, default_value = "aludel")]
        script_location: String,
        /// Replace an existing aludel.toml (revision files are never replaced).
        #[arg(long)]
        force: bool,
        /// SQL to run on the scratch database before the history runs there, for a
        /// history whose first revisions use tables its application makes.
        #[arg(long, value_name = "FILE")]
        scratch_setup: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `aludel completions bash >
    /// /usr/share/bash-completion/completions/aludel`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff), e.g. `aludel man > /usr/share/man/man1/aludel.1`;
    /// with --dir, write it and one page per command (aludel-upgrade.1, ...) there.
    Man {
        /// Write every page into this folder instead, printing their paths.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages, and each one the kernel grants is 2 MiB
    // resident however little of it is used: a cold `check` of 1,000 tables peaked at
    // 70 MiB with them and 52 MiB without. Off from the start (parsing the arguments
    // gets none either), and back on for the read-only history queries: what they hold
    // is the history, on two threads at most, and a 10,000-revision history loads in
    // about a sixth less time with a few 2 MiB pages than with three thousand 4 KiB
    // page faults (peak 25 MiB becomes 37). Ignored where the kernel refuses. Processes
    // aludel starts (post-write hooks) inherit the setting; it changes only their
    // memory use.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = Cli::parse();
    #[cfg(target_os = "linux")]
    if cli.command.is_history_query() {
        let _ = rustix::thread::disable_transparent_huge_pages(false);
    }
    if let Some(error) = usage_error(&cli) {
        error.exit();
    }
    let printer = Printer {
        quiet: cli.quiet,
        json: cli.log_format == Format::Json,
        scope: None,
    };
    match run(cli, &printer) {
        Ok(code) => code,
        Err(failure) => {
            printer.failure(&failure);
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

impl Command {
    /// Whether this only reads the revision files (and the version table): `heads`,
    /// `history`, `current`, `show`, `branches`.
    fn is_history_query(&self) -> bool {
        matches!(
            self,
            Command::Heads { .. }
                | Command::History { .. }
                | Command::Current { .. }
                | Command::Show { .. }
                | Command::Branches { .. }
        )
    }
}

/// A combination of options that cannot run, as a clap usage error (exit 2). Checked
/// here rather than declared on the options, so that global options given after the
/// subcommand (`aludel upgrade head --targets F --shard 1/4`) count as much as those
/// before it.
fn usage_error(cli: &Cli) -> Option<clap::Error> {
    use clap::error::ErrorKind;
    let error = |kind, message: &str| Some(Cli::command().error(kind, message));
    let conflict = |a: &str, b: &str| {
        error(
            ErrorKind::ArgumentConflict,
            &format!("the argument '{a}' cannot be used with '{b}'"),
        )
    };
    if cli.workspace.is_some() {
        if cli.targets.is_some() {
            return conflict("--workspace <FILE>", "--targets <FILE>");
        }
        if cli.config.is_some() {
            return conflict("--workspace <FILE>", "--config <PATH>");
        }
        if cli.url.is_some() {
            return conflict("--workspace <FILE>", "--url <URL>");
        }
    }
    if cli.targets.is_some() && cli.url.is_some() {
        return conflict("--targets <FILE>", "--url <URL>");
    }
    if cli.shard.is_some() && cli.targets.is_none() {
        return error(
            ErrorKind::MissingRequiredArgument,
            "--shard goes with --targets",
        );
    }
    if cli.jobs.is_some() && cli.workspace.is_none() && cli.targets.is_none() {
        // A single project runs one at a time.
        return error(
            ErrorKind::MissingRequiredArgument,
            "--jobs goes with --workspace or --targets",
        );
    }
    if let Some(shard) = &cli.shard
        && let Err(e) = shard.parse::<aludel::fleet::Shard>()
    {
        return error(ErrorKind::InvalidValue, &e.to_string());
    }
    if cli.workspace.is_some() || cli.targets.is_some() {
        if let Some(why) = cli.command.fleet_refusal(cli.targets.is_some()) {
            let flag = if cli.targets.is_some() {
                "--targets"
            } else {
                "--workspace"
            };
            return error(ErrorKind::ArgumentConflict, &format!("{flag}: {why}"));
        }
    } else if cli.format == Format::Json && !cli.command.has_json_result() {
        return error(
            ErrorKind::ArgumentConflict,
            "--format json is available for current, heads, history, show and check; use --format text here",
        );
    }
    if let Command::Revision {
        autogenerate: false,
        rename,
        allow_empty,
        ..
    } = &cli.command
        && (!rename.is_empty() || *allow_empty)
    {
        return error(
            ErrorKind::ArgumentConflict,
            "--rename and --allow-empty go with --autogenerate",
        );
    }
    None
}

/// What one command produced: its result text (or JSON document), its exit status,
/// and what a fleet summary reports.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The result for stdout.
    pub stdout: String,
    /// The same result as JSON, for commands that have one, when asked for.
    pub json: Option<serde_json::Value>,
    /// Out of step: `check` found drift, or `current --check-heads` found the
    /// database not at the heads. Exit 3.
    pub drift: bool,
    /// Revisions run (upgrade, downgrade).
    pub applied: usize,
    /// The version table's rows afterwards, where the command read them.
    pub at: Option<Vec<String>>,
}

impl Command {
    /// Whether `--format json` has a result document for this command.
    fn has_json_result(&self) -> bool {
        matches!(
            self,
            Command::Current { .. }
                | Command::Heads { .. }
                | Command::History { .. }
                | Command::Show { .. }
                | Command::Check { .. }
        )
    }

    /// Why this command cannot run once per member or database, if it cannot.
    fn fleet_refusal(&self, targets: bool) -> Option<&'static str> {
        match self {
            Command::Init { .. } | Command::Revision { .. } | Command::Merge { .. } => Some(
                "init, revision and merge write files in one project; run them in that project",
            ),
            Command::Import { .. } => {
                Some("import writes one project's files; run it in that project")
            }
            Command::Completions { .. } | Command::Man { .. } => {
                Some("completions and man print text; run them without --workspace or --targets")
            }
            Command::Upgrade { sql: true, .. }
            | Command::Downgrade { sql: true, .. }
            | Command::Stamp { sql: true, .. }
                if targets =>
            {
                Some(
                    "--sql reads no database, so it is the same for every target; run it without --targets",
                )
            }
            Command::Heads { .. } | Command::Branches { .. } if targets => {
                Some("heads and branches read no database; run them without --targets")
            }
            Command::Check {
                migrations: true, ..
            } if targets => Some(
                "check --migrations reads no database, so it is the same for every target; run it without --targets",
            ),
            _ => None,
        }
    }
}

fn run(cli: Cli, printer: &Printer) -> Result<ExitCode, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    let json = cli.format == Format::Json;
    let fleet = cli.workspace.is_some() || cli.targets.is_some();
    if !fleet {
        match &cli.command {
            Command::Completions { shell } => {
                let mut out = Vec::new();
                clap_complete::generate(*shell, &mut Cli::command(), "aludel", &mut out);
                return print_generated(out);
            }
            Command::Man { dir: None } => {
                let mut out = Vec::new();
                clap_mangen::Man::new(Cli::command().disable_help_subcommand(true))
                    .render(&mut out)
                    .map_err(|e| format!("cannot write the manual page: {e}"))?;
                return print_generated(out);
            }
            Command::Man { dir: Some(dir) } => {
                // `components` drops the `.` of `--dir .` from the paths printed.
                let dir: PathBuf = cwd.join(dir).components().collect();
                let failed = |e: std::io::Error| {
                    Failure::from(format!(
                        "{}: cannot write the manual pages: {e}",
                        dir.display()
                    ))
                };
                std::fs::create_dir_all(&dir).map_err(failed)?;
                let mut command = Cli::command().disable_help_subcommand(true);
                // Built, so that each command's page is named aludel-COMMAND.1.
                command.build();
                let mut pages = vec![
                    clap_mangen::Man::new(command.clone())
                        .generate_to(&dir)
                        .map_err(failed)?,
                ];
                for sub in command.get_subcommands() {
                    pages.push(
                        clap_mangen::Man::new(sub.clone())
                            .generate_to(&dir)
                            .map_err(failed)?,
                    );
                }
                let list: Vec<String> = pages.iter().map(|p| p.display().to_string()).collect();
                printer.result(&list.join("\n"));
                return Ok(ExitCode::SUCCESS);
            }
            _ => {}
        }
    }
    if let Command::Import {
        from: ImportFrom::Alembic,
        path,
        python,
        dialect,
        script_location,
        force,
        scratch_setup,
    } = &cli.command
    {
        let dir = path
            .as_ref()
            .map(|d| cwd.join(d).components().collect::<PathBuf>())
            .unwrap_or_else(|| cwd.clone());
        // A PostgreSQL server where the revisions offline mode cannot run are run on
        // a scratch database: --url, else DATABASE_URL.
        let scratch_server = match cli.url.clone().or_else(|| {
            use aludel::config::Env as _;
            ProcessEnv.var("DATABASE_URL")
        }) {
            Some(url) if !url.is_empty() => Some(
                url.parse::<aludel::url::DatabaseUrl>()
                    .map_err(|e| format!("the database URL: {e}"))?,
            ),
            _ => None,
        };
        let report =
            aludel::alembic_import::import_alembic(&aludel::alembic_import::ImportOptions {
                alembic_dir: dir,
                python: python.clone(),
                dialect: dialect.clone(),
                script_location: script_location.clone(),
                force: *force,
                scratch_server,
                scratch_setup: scratch_setup.as_ref().map(|f| cwd.join(f)),
            })
            .map_err(|e| e.to_string())?;
        printer.result(&output::import_report(&report));
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Init { dir } = &cli.command {
        let dir = dir
            .as_ref()
            // `components` drops the `.` of `aludel init .` from what is printed.
            .map(|d| cwd.join(d).components().collect::<PathBuf>())
            .unwrap_or_else(|| cwd.clone());
        let created = project::init(&dir)?;
        let mut out = String::new();
        for path in created {
            out.push_str(&format!("Created {}\n", path.display()));
        }
        out.push_str(&format!(
            "Edit {} to set the database URL, then run `aludel revision -m \"first\"`.",
            dir.join(aludel::config::CONFIG_FILE_NAME).display()
        ));
        printer.result(&out);
        return Ok(ExitCode::SUCCESS);
    }
    // Asked only for a fleet run: finding the CPUs reads several cgroup files.
    let jobs = || {
        cli.jobs
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    };
    if let Some(path) = &cli.workspace {
        return fleet::run_workspace(&cwd.join(path), &cli.command, jobs(), json, printer);
    }
    let overrides = Overrides {
        config_path: cli.config.clone(),
        // With --targets every database comes from the file: the project's own URL
        // (and any ${VAR} in it) is not read, so it stands in as an unused in-memory one.
        url: match &cli.targets {
            Some(_) => Some("sqlite://:memory:".to_string()),
            None => cli.url.clone(),
        },
    };
    let config = Config::load(&overrides, &ProcessEnv, &cwd).map_err(|e| e.to_string())?;
    let project = Project::open(config)?;
    let code = if let Some(path) = &cli.targets {
        let shard = cli
            .shard
            .as_deref()
            .map(str::parse::<aludel::fleet::Shard>)
            .transpose()
            .map_err(|e| e.to_string())?;
        fleet::run_targets(
            &project,
            &cwd.join(path),
            shard,
            &cli.command,
            jobs(),
            json,
            printer,
        )?
    } else {
        let outcome = run_command(&project, &cli.command, json, printer)?;
        match &outcome.json {
            Some(doc) => printer.result(&pretty(doc)?),
            None => printer.result(&outcome.stdout),
        }
        if outcome.drift {
            ExitCode::from(EXIT_OUT_OF_STEP)
        } else {
            ExitCode::SUCCESS
        }
    };
    // The process ends here: freeing ten thousand revisions one by one would only
    // delay the exit.
    std::mem::forget(project);
    Ok(code)
}

/// Runs one command for one project (and database); the caller prints the result.
/// Both the outcome and a failure count the revisions that ran.
pub(crate) fn run_command(
    project: &Project,
    command: &Command,
    json: bool,
    printer: &Printer,
) -> Result<Outcome, Failure> {
    let mut applied = 0usize;
    let result = run_counted(project, command, json, printer, &mut applied);
    match result {
        Ok(mut outcome) => {
            outcome.applied = applied;
            Ok(outcome)
        }
        Err(mut failure) => {
            failure.applied = applied;
            Err(failure)
        }
    }
}

fn run_counted(
    project: &Project,
    command: &Command,
    json: bool,
    printer: &Printer,
    applied: &mut usize,
) -> Result<Outcome, Failure> {
    let mut events = |e: Event| {
        if matches!(e, Event::StepFinished { .. }) {
            *applied += 1;
        }
        printer.event(&e);
    };
    let mut outcome = Outcome::default();
    let err = Failure::from;
    match command {
        Command::Init { .. }
        | Command::Import { .. }
        | Command::Completions { .. }
        | Command::Man { .. } => {}
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
                message: message.clone().unwrap_or_default(),
                rev_id: rev_id.clone(),
                head: head.clone(),
                splice: *splice,
                branch_labels: branch_label.clone(),
                depends_on: depends_on.clone(),
            };
            let path = if *autogenerate {
                let generated = project
                    .revision_autogenerate(&options, rename, *allow_empty, &mut events)
                    .map_err(err)?;
                for change in &generated.changes {
                    printer.info("change_detected", &format!("Detected {change}"));
                }
                for s in &generated.suggestions {
                    printer.warn("rename_suggested", s);
                }
                for s in &generated.skipped {
                    printer.warn("object_skipped", s);
                }
                match generated.path {
                    Some(path) => path,
                    None => {
                        printer.info(
                            "no_changes",
                            "No changes in schema detected; no revision written (--allow-empty writes one anyway)",
                        );
                        return Ok(outcome);
                    }
                }
            } else {
                project.revision(&options).map_err(err)?
            };
            for failure in project.run_post_write_hooks(&path) {
                printer.warn("hook_failed", &failure);
            }
            outcome.stdout = format!("Generating {} ... done", path.display());
        }
        Command::Merge {
            revs,
            message,
            branch_label,
            rev_id,
            splice,
        } => {
            let path = project
                .merge(&MergeOptions {
                    splice: *splice,
                    revisions: revs.clone(),
                    message: message.clone().unwrap_or_default(),
                    rev_id: rev_id.clone(),
                    branch_labels: branch_label.clone(),
                })
                .map_err(err)?;
            for failure in project.run_post_write_hooks(&path) {
                printer.warn("hook_failed", &failure);
            }
            outcome.stdout = format!("Generating {} ... done", path.display());
        }
        Command::Upgrade { target, sql: true } => {
            outcome.stdout = project.upgrade_sql(target, &mut events).map_err(err)?;
        }
        Command::Upgrade { target, sql: false } => {
            outcome.at = Some(project.upgrade(target, &mut events).map_err(err)?);
        }
        Command::Downgrade { target, sql: true } => {
            outcome.stdout = project.downgrade_sql(target, &mut events).map_err(err)?;
        }
        Command::Downgrade { target, sql: false } => {
            outcome.at = Some(project.downgrade(target, &mut events).map_err(err)?);
        }
        Command::Stamp {
            targets,
            purge,
            sql: true,
        } => {
            outcome.stdout = project
                .stamp_sql(targets, *purge, &mut events)
                .map_err(err)?;
        }
        Command::Stamp {
            targets,
            purge,
            sql: false,
        } => {
            outcome.at = Some(project.stamp(targets, *purge, &mut events).map_err(err)?);
        }
        Command::Current {
            verbose,
            check_heads: true,
        } => {
            let check = project.check_heads(&mut events).map_err(err)?;
            if let Some(mismatch) = &check.mismatch {
                // The answer, not a failure of aludel: said on stderr for the log
                // of the probe or entrypoint that ran it, with exit 3.
                outcome.drift = true;
                printer.log(LogLine {
                    level: Level::Error,
                    event: "not_at_heads",
                    message: &mismatch.to_string(),
                    revision: None,
                    duration: None,
                });
            }
            if json {
                // Rows no file declares have no revision to describe; the message
                // above names them.
                let known: Vec<String> = check
                    .rows
                    .iter()
                    .filter(|r| project.graph().contains(r))
                    .cloned()
                    .collect();
                let revisions = project.describe_current(&known).map_err(err)?;
                outcome.json = Some(json_document("current", &revisions)?);
            } else if check.mismatch.is_none() {
                outcome.stdout = project.current_text(&check.rows, *verbose).map_err(err)?;
            }
            outcome.at = Some(check.rows);
        }
        Command::Current {
            verbose,
            check_heads: false,
        } => {
            if json {
                let revisions = project.current_revisions(&mut events).map_err(err)?;
                outcome.at = Some(revisions.iter().map(|r| r.revision.clone()).collect());
                outcome.json = Some(json_document("current", &revisions)?);
            } else {
                let rows = project.current_rows(&mut events).map_err(err)?;
                outcome.stdout = project.current_text(&rows, *verbose).map_err(err)?;
                outcome.at = Some(rows);
            }
        }
        Command::History {
            rev_range,
            verbose,
            indicate_current,
        } => {
            if json {
                let revisions = project
                    .history_revisions(rev_range.as_deref(), *indicate_current, &mut events)
                    .map_err(err)?;
                outcome.json = Some(json_document("history", &revisions)?);
            } else {
                outcome.stdout = project
                    .history(
                        rev_range.as_deref(),
                        *verbose,
                        *indicate_current,
                        &mut events,
                    )
                    .map_err(err)?;
            }
        }
        Command::Heads { verbose } => {
            if json {
                outcome.json = Some(json_document("heads", &project.head_revisions())?);
            } else {
                outcome.stdout = project.heads(*verbose).map_err(err)?;
            }
        }
        Command::Branches { verbose } => {
            outcome.stdout = project.branches(*verbose).map_err(err)?;
        }
        Command::Show { rev } => {
            if json {
                let revisions = project.show_revisions(rev, &mut events).map_err(err)?;
                outcome.json = Some(json_document("revisions", &revisions)?);
            } else {
                outcome.stdout = project.show(rev, &mut events).map_err(err)?;
            }
        }
        Command::Check { migrations } => {
            let report = project.check(*migrations, &mut events).map_err(err)?;
            outcome.drift = !report.changes.is_empty();
            if json {
                outcome.json = Some(json_document("check", &report)?);
            } else {
                for s in &report.suggestions {
                    printer.warn("rename_suggested", s);
                }
                for s in &report.skipped {
                    printer.warn("object_skipped", s);
                }
                outcome.stdout = if report.changes.is_empty() {
                    "No new upgrade operations detected.".to_string()
                } else {
                    let mut out = String::from("New upgrade operations detected:\n");
                    for c in &report.changes {
                        out.push_str(&format!("  {c}\n"));
                    }
                    out
                };
            }
        }
    }
    // Reports read by people show the messages and names of files as visible
    // escapes where they hold control characters (an ESC would recolour the terminal,
    // a CR overwrite the line). SQL for a DBA and file paths are left as they are.
    if matches!(
        command,
        Command::Current { .. }
            | Command::History { .. }
            | Command::Heads { .. }
            | Command::Branches { .. }
            | Command::Show { .. }
            | Command::Check { .. }
    ) {
        outcome.stdout = aludel::text::terminal_safe(&outcome.stdout);
    }
    Ok(outcome)
}

/// `{"<key>": value}` for `--format json`.
fn json_document<T: serde::Serialize>(key: &str, value: &T) -> Result<serde_json::Value, String> {
    let mut doc = serde_json::Map::new();
    doc.insert(
        key.to_string(),
        serde_json::to_value(value).map_err(|e| format!("cannot write JSON: {e}"))?,
    );
    Ok(serde_json::Value::Object(doc))
}

/// Writes generated text (a completion script, the manual page) to stdout.
fn print_generated(bytes: Vec<u8>) -> Result<ExitCode, Failure> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn pretty(doc: &serde_json::Value) -> Result<String, String> {
    serde_json::to_string_pretty(doc).map_err(|e| format!("cannot write JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own check of the definition: ids unique across the global options
    /// and every command's arguments, defaults valid, ...
    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
