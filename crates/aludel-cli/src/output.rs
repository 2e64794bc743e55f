//! Where lines go: progress and errors on stderr (text, or one JSON object a line),
//! results on stdout; in a workspace or fleet run each line names its member or target.

use std::io::Write as _;
use std::time::Duration;

use aludel::runner::Event;

/// Which member or database a line belongs to, in `--workspace` and `--targets` runs.
#[derive(Debug, Clone)]
pub enum Scope {
    /// A member project of a workspace, by its folder.
    Member(String),
    /// A database of a targets file, by its redacted URL.
    Target(String),
}

impl Scope {
    fn name(&self) -> &str {
        match self {
            Scope::Member(n) | Scope::Target(n) => n,
        }
    }

    fn json_key(&self) -> &'static str {
        match self {
            Scope::Member(_) => "member",
            Scope::Target(_) => "target",
        }
    }
}

/// One progress or error line.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    /// `info`, `warn` or `error`.
    pub level: Level,
    /// A stable name for platforms to filter on, e.g. `migration_finished`.
    pub event: &'a str,
    /// What a person reads.
    pub message: &'a str,
    /// The revision concerned, if any.
    pub revision: Option<&'a str>,
    /// How long the thing took, if it is finished.
    pub duration: Option<Duration>,
}

/// Severity of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn text(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    fn json(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// An error to report: its text, and the revision that failed when one did (for the
/// `migration_failed` JSON event).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The whole message, as text output prints it.
    pub message: String,
    /// The failing revision, when a migration failed.
    pub revision: Option<String>,
    /// Revisions that ran and committed before the failure.
    pub applied: usize,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            revision: None,
            applied: 0,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_string())
    }
}

impl From<aludel::project::Error> for Failure {
    fn from(e: aludel::project::Error) -> Failure {
        let revision = match &e {
            aludel::project::Error::Run(aludel::runner::RunError::Migration(m)) => {
                Some(m.revision.clone())
            }
            _ => None,
        };
        Failure {
            // The database's error is the source of the error that carries it.
            message: aludel::report::error_text(&e),
            revision,
            applied: 0,
        }
    }
}

/// Prints progress, warnings and errors on stderr and results on stdout.
#[derive(Debug, Clone)]
pub struct Printer {
    /// `-q`: no progress, only warnings, errors and results.
    pub quiet: bool,
    /// `--log-format json`.
    pub json: bool,
    /// The member or target this printer speaks for.
    pub scope: Option<Scope>,
}

impl Printer {
    /// The same printer speaking for one member or target.
    pub fn scoped(&self, scope: Scope) -> Printer {
        Printer {
            scope: Some(scope),
            ..self.clone()
        }
    }

    /// Prints one event from the library: in text, the event's own wording; in JSON,
    /// a name for it, and a revision's step without the time its `duration` carries.
    pub fn event(&self, event: &Event) {
        let (level, name, revision, duration) = match event {
            Event::ConnectFailed { .. } => (Level::Warn, "connect_retry", None, None),
            Event::WaitingForLock { .. } => (Level::Info, "lock_wait", None, None),
            Event::LockAcquired { waited } => (Level::Info, "lock_acquired", None, Some(*waited)),
            Event::NothingToDo { .. } => (Level::Info, "nothing_to_do", None, None),
            // A line when a revision starts (and, outside a transaction, when each
            // statement does): a run that hangs or is killed has said where it was.
            Event::StepStarted { revision, .. } => (
                Level::Info,
                "migration_started",
                Some(revision.as_str()),
                None,
            ),
            Event::StatementStarted { revision, .. } => (
                Level::Info,
                "statement_started",
                Some(revision.as_str()),
                None,
            ),
            Event::StepResumed { revision, .. } => (
                Level::Info,
                "migration_resumed",
                Some(revision.as_str()),
                None,
            ),
            Event::LockNotReleased { .. } => (Level::Warn, "lock_release_failed", None, None),
            Event::ShadowNotDropped { .. } => (Level::Warn, "shadow_not_dropped", None, None),
            Event::StepFinished {
                revision, elapsed, ..
            } => (
                Level::Info,
                "migration_finished",
                Some(revision.as_str()),
                Some(*elapsed),
            ),
            // An event of a newer library: its own wording.
            _ => (Level::Info, "progress", None, None),
        };
        let message = match event {
            Event::StepStarted { description, .. } if self.json => description.clone(),
            // The time is the line's own `duration` field.
            Event::StepFinished {
                summary, committed, ..
            } if self.json => {
                let pending = if *committed {
                    ""
                } else {
                    ", to be committed with the run"
                };
                format!("Finished {summary}{pending}")
            }
            _ => event.to_string(),
        };
        self.log(LogLine {
            level,
            event: name,
            message: &message,
            revision,
            duration,
        });
    }

    /// An `info` line (suppressed by `-q`).
    pub fn info(&self, event: &str, message: &str) {
        self.log(LogLine {
            level: Level::Info,
            event,
            message,
            revision: None,
            duration: None,
        });
    }

    /// A `warn` line.
    pub fn warn(&self, event: &str, message: &str) {
        self.log(LogLine {
            level: Level::Warn,
            event,
            message,
            revision: None,
            duration: None,
        });
    }

    /// The `error` line that ends a run (or one member's or target's part of it).
    pub fn failure(&self, failure: &Failure) {
        self.log(LogLine {
            level: Level::Error,
            event: if failure.revision.is_some() {
                "migration_failed"
            } else {
                "error"
            },
            message: &failure.message,
            revision: failure.revision.as_deref(),
            duration: None,
        });
    }

    /// Prints one line on stderr; `-q` keeps only warnings and errors.
    pub fn log(&self, line: LogLine<'_>) {
        if self.quiet && line.level == Level::Info {
            return;
        }
        let text = if self.json {
            let mut o = serde_json::Map::new();
            o.insert("time".into(), now_rfc3339().into());
            o.insert("level".into(), line.level.json().into());
            o.insert("event".into(), line.event.into());
            if let Some(scope) = &self.scope {
                o.insert(scope.json_key().into(), scope.name().into());
            }
            if let Some(r) = line.revision {
                o.insert("revision".into(), r.into());
            }
            if let Some(d) = line.duration {
                o.insert("duration".into(), json_seconds(d).into());
            }
            o.insert("message".into(), line.message.into());
            let mut s = serde_json::Value::Object(o).to_string();
            s.push('\n');
            s
        } else {
            let level = line.level.text();
            let prefix = self.prefix();
            // Continuation lines stay under the message, and keep the scope.
            let indent = format!("\n{prefix}      ");
            // Whatever a message echoes (a header, a database's text), no control
            // character reaches the terminal raw.
            format!(
                "{prefix}{level:<5} {}\n",
                aludel::text::terminal_safe(line.message).replace('\n', &indent)
            )
        };
        // Flushed line by line (stderr buffers nothing today; the flush keeps it so),
        // so a process killed mid-revision has printed where it was.
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// Prints a result on stdout, each line prefixed in a workspace or fleet run.
    pub fn result(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let prefix = self.prefix();
        let mut stdout = std::io::stdout().lock();
        if prefix.is_empty() && !text.contains('\r') {
            // What the loop below would build is the text itself, ended by a newline:
            // `history` on a long history need not copy it line by line.
            let _ = stdout.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
            let _ = stdout.flush();
            return;
        }
        let mut out = String::with_capacity(text.len() + 1);
        for line in text.lines() {
            out.push_str(&prefix);
            out.push_str(line);
            out.push('\n');
        }
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }

    fn prefix(&self) -> String {
        match &self.scope {
            Some(s) => format!("[{}] ", aludel::text::value(s.name())),
            None => String::new(),
        }
    }
}

/// A duration for JSON: seconds, to the microsecond.
pub fn json_seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// The current time as RFC 3339 in UTC with milliseconds, as log platforms expect.
fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// What `aludel import alembic` did, for a person: the files written, the revisions
/// kept, and each revision left for a person to write, with Alembic's reason.
pub fn import_report(report: &aludel::alembic_import::ImportReport) -> String {
    let mut out = format!(
        "Read {} with Alembic; wrote the SQL for {}.\n",
        report.config.display(),
        report.dialect
    );
    if let Some(error) = &report.env_error {
        out.push_str(&format!(
            "env.py could not run offline ({}); used the defaults it would have overridden.\n",
            aludel::text::value(error)
        ));
    }
    out.push_str(&format!(
        "Wrote {} revision file(s); kept {} already imported.\n",
        report.written.len(),
        report.kept.len()
    ));
    if let Some(path) = &report.config_written {
        out.push_str(&format!(
            "Wrote {} (version_table = {}{}).\n",
            path.display(),
            report.version_table,
            report
                .version_table_schema
                .as_deref()
                .map(|s| format!(", version_table_schema = {s}"))
                .unwrap_or_default()
        ));
    }
    if !report.settings.is_empty() {
        out.push_str("Alembic's settings:\n");
        for line in &report.settings {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if !report.non_transactional.is_empty() {
        out.push_str(&format!(
            "Run outside a transaction (autocommit_block): {}.\n",
            report.non_transactional.join(", ")
        ));
    }
    if !report.captured.is_empty() {
        out.push_str(&format!(
            "Captured from a run on a scratch database (offline mode could not run them): {}.\n",
            report.captured.join(", ")
        ));
    }
    for left in &report.scratch_left {
        out.push_str(&format!("Could not drop the scratch database {left}\n"));
    }
    if let (Some(why), false) = (&report.capture_skipped, report.incomplete.is_empty()) {
        out.push_str(&format!(
            "The revisions offline mode could not run were not run on a scratch database: {why}.\n"
        ));
    }
    if report.incomplete.is_empty() {
        out.push_str("Every revision's SQL was written.");
    } else {
        out.push_str(&format!(
            "{} revision(s) need a person to write their SQL (marked `-- aludel:incomplete`; upgrade refuses them until then):\n",
            report.incomplete.len()
        ));
        for (id, reason) in &report.incomplete {
            out.push_str(&format!(
                "  {id}: {}\n",
                aludel::text::one_line(reason, 300)
            ));
        }
        out.pop();
    }
    out
}
