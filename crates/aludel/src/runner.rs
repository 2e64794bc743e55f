//! Carrying out a plan: connecting with retries, the run lock, the transaction policy,
//! and one code path for live runs and offline `--sql` output (a [`Sink`] each).
//!
//! The caller (the `project` module) turns a plan into [`PreparedStep`]s: statements
//! and version-table SQL, all known before anything runs. The runner only decides how
//! they are framed in transactions and reports what happened as [`Event`]s.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::{Backoff, ConnectPolicy};
use crate::driver::{self, ConnectError, ConnectOptions, DbError, Driver, StatementFailure};
use crate::graph::Direction;
use crate::render::{self, VersionTable};
use crate::script::Statement;
use crate::url::{DatabaseUrl, Dialect};

/// One revision to run, fully prepared.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreparedStep {
    /// The revision run.
    pub revision: String,
    /// The revision's message.
    pub message: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The revision's file.
    pub path: PathBuf,
    /// False for `-- aludel:transaction false` revisions.
    pub transactional: bool,
    /// The section's statements.
    pub statements: Vec<Statement>,
    /// The version-table statements that record the step.
    pub version_sql: Vec<String>,
    /// The progress line: `Running upgrade a -> b, message`.
    pub description: String,
    /// The comment written before the step in `--sql` output.
    pub comment: String,
    /// The version table's rows before this step.
    pub heads_before: Vec<String>,
    /// The rows the table must hold after it; checked before the step commits.
    pub rows_after: Vec<String>,
}

/// Progress reported while running.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A connection attempt failed; another follows after `retry_in`.
    ConnectFailed {
        /// 1-based attempt number.
        attempt: u32,
        /// Attempts in all.
        of: u32,
        /// Why it failed (redacted).
        error: String,
        /// The wait before the next attempt.
        retry_in: Duration,
        /// Whether the waits double or stay the same.
        backoff: Backoff,
        /// All the waits between the attempts added up: the longest the connection
        /// can take to give up, besides the attempts themselves.
        total_wait: Duration,
    },
    /// Another run holds the lock; this one waits.
    WaitingForLock {
        /// Who holds it, when the database tells.
        holder: Option<String>,
        /// How long this run will wait at most.
        timeout: Duration,
    },
    /// The lock was taken after waiting.
    LockAcquired {
        /// How long it took.
        waited: Duration,
    },
    /// A revision is about to run. Reported before its first statement is sent, so
    /// that a run that hangs or is killed has said which revision it was in.
    StepStarted {
        /// `Running upgrade a -> b, message`.
        description: String,
        /// The revision.
        revision: String,
    },
    /// A statement of a revision that runs outside a transaction (`-- aludel:transaction
    /// false`) is about to be sent: each commits on its own, so which one a long or
    /// interrupted run was in matters.
    StatementStarted {
        /// The revision.
        revision: String,
        /// The statement's line in the revision's file.
        line: usize,
        /// The statement's start, on one line, cut, secrets masked.
        excerpt: String,
    },
    /// A revision outside a transaction that an earlier run stopped in resumes after
    /// the statements the journal records as applied.
    StepResumed {
        /// The revision.
        revision: String,
        /// The line of the first statement this run sends.
        line: usize,
        /// How many statements an earlier run applied.
        applied: usize,
    },
    /// A revision ran and was recorded.
    StepFinished {
        /// `Running upgrade a -> b, message`.
        description: String,
        /// `upgrade a -> b`: the step without its message.
        summary: String,
        /// The revision.
        revision: String,
        /// How long it took, version-table update included.
        elapsed: Duration,
        /// Whether it is committed now; false inside a whole-run transaction
        /// (`transaction_per_migration = false`), which commits at the end of the run.
        committed: bool,
    },
    /// Releasing the run lock failed after the work was done. Not an error: the
    /// server releases a session's lock when the session ends, which it does as
    /// aludel exits.
    LockNotReleased {
        /// Why (redacted).
        error: String,
        /// Whether the session that held it is known to be gone (it was ended over
        /// a new connection), and the lock with it.
        released: bool,
    },
    /// A shadow database aludel made (for `check` or `revision --autogenerate`)
    /// could not be dropped, over the session that made it nor over a new one: it is
    /// still on the server, or may be (`whereabouts`). Not an error: the command's
    /// answer stands.
    ShadowNotDropped {
        /// Which, where, why, and the statement that drops it.
        shadow: crate::driver::LeftShadow,
    },
    /// The plan is empty: the run changes nothing, and says why.
    NothingToDo {
        /// `Nothing to do: the database is already at ...`.
        message: String,
    },
}

/// A revision that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.render())]
#[non_exhaustive]
pub struct MigrationFailure {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// Its file.
    pub path: PathBuf,
    /// The failing statement (its line and text), or `None` when the version-table
    /// update or the commit failed.
    pub statement: Option<Statement>,
    /// Whether the failure came at the revision's COMMIT (`statement` is then `None`).
    pub committing: bool,
    /// The database's error: the [`source`](std::error::Error::source), not printed
    /// by `Display` ([`crate::report::error_text`] prints both).
    #[source]
    pub error: DbError,
    /// What the failure left behind, for the user to act on.
    pub outcome: String,
}

impl MigrationFailure {
    fn render(&self) -> String {
        let verb = match self.direction {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        };
        let mut s = format!("{verb} of revision {} failed", self.revision);
        if !self.message.is_empty() {
            let _ = write!(s, " ({})", self.message);
        }
        match &self.statement {
            Some(st) => {
                let _ = write!(s, "\n  file: {}:{}", self.path.display(), st.line);
                let _ = write!(
                    s,
                    "\n  statement: {}",
                    // A statement may hold a secret (a subscription's or a user
                    // mapping's password).
                    crate::url::redact_str(&crate::text::excerpt(&st.sql)).replace('\n', "\n    ")
                );
            }
            None => {
                let _ = write!(s, "\n  file: {}", self.path.display());
                s.push_str(if self.committing {
                    "\n  while committing the revision"
                } else {
                    "\n  while recording the revision in the version table"
                });
            }
        }
        let _ = write!(s, "\n  {}", self.outcome);
        s
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The database could not be reached after every attempt.
    #[error("{error} (gave up after {attempts} attempt{})", if *attempts == 1 { "" } else { "s" })]
    Connect {
        /// The last attempt's error.
        error: ConnectError,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The database refused the connection for a reason retrying cannot fix.
    #[error(transparent)]
    Rejected(ConnectError),
    /// Another run held the lock for longer than `lock_timeout_seconds`.
    #[error(
        "timed out after {}s waiting for the migration lock{}; raise [connect] lock_timeout_seconds or stop the other run",
        timeout.as_secs(),
        holder.as_ref().map(|h| format!(" held by {h}")).unwrap_or_default()
    )]
    LockTimeout {
        /// How long this run waited.
        timeout: Duration,
        /// Who held it.
        holder: Option<String>,
    },
    /// aludel's own bookkeeping failed (reading or creating the version table, ...).
    #[error("{doing}")]
    Database {
        /// What aludel was doing.
        doing: String,
        /// The database's error.
        #[source]
        error: DbError,
    },
    /// A revision failed.
    #[error(transparent)]
    Migration(Box<MigrationFailure>),
    /// A revision's journal does not match its file: nothing of it was run.
    #[error(transparent)]
    Journal(Box<JournalMismatch>),
    /// A downgrade was asked for while an earlier run left a revision half applied:
    /// nothing was run.
    #[error(transparent)]
    HalfApplied(Box<HalfApplied>),
}

/// A revision whose upgrade stopped after some of its statements (they committed one
/// by one and the journal records them) while the version table does not record it.
/// A downgrade reverts them first where the revision's downgrade section says how
/// (`Project::downgrade`); otherwise it is refused with this, since going below the
/// revision would leave those statements' objects behind.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "downgrade not run: revision {revision} is half applied: an earlier upgrade stopped after {applied} of its statements, which the journal {table} records, and the version table does not record the revision; {why}.\n  Finish the revision first (`aludel upgrade {revision}` once its failing statement is fixed resumes after them), or undo them by hand and forget them ({forget};), then run the downgrade again. Nothing was run."
)]
#[non_exhaustive]
pub struct HalfApplied {
    /// The revision.
    pub revision: String,
    /// How many of its upgrade statements were applied.
    pub applied: usize,
    /// The journal's table.
    pub table: String,
    /// The statement that forgets the journal's rows of this revision.
    pub forget: String,
    /// Why what undoes them is not known.
    pub why: String,
}

impl HalfApplied {
    /// `revision`'s `applied` statements recorded in the journal of `version_table`,
    /// which cannot be reverted for `why`.
    pub fn new(
        revision: &str,
        applied: usize,
        version_table: &render::VersionTable,
        why: String,
    ) -> HalfApplied {
        let journal = render::Journal::of(version_table);
        HalfApplied {
            revision: revision.to_string(),
            applied,
            table: journal.table.qualified(),
            forget: journal.delete(revision, direction_name(Direction::Upgrade)),
            why,
        }
    }
}

/// The first revision `rows` (the journal's, `revision direction index:hash`) record
/// upgrade statements of, and its entries (`index:hash`).
fn half_applied(rows: &[String]) -> Option<(String, Vec<String>)> {
    let upgrade = direction_name(Direction::Upgrade);
    let mut found: Option<(String, Vec<String>)> = None;
    for row in rows {
        let mut words = row.splitn(3, ' ');
        let (Some(revision), Some(direction), Some(entry)) =
            (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if direction != upgrade {
            continue;
        }
        match &mut found {
            Some((r, entries)) if r == revision => entries.push(entry.to_string()),
            Some(_) => {}
            None => found = Some((revision.to_string(), vec![entry.to_string()])),
        }
    }
    found
}

/// How old an answer that the run lock is held may be before a statement or a
/// version-table write: a run of many short statements asks about once a second, not
/// once per statement (a round trip each on MySQL, whose lock lives on a connection of
/// its own: a few percent of a run of a thousand revisions). A lock lost within that
/// second is still covered there: the working session's own lock keeps other runs
/// from starting while it lives. A read of the version table asks now.
const LOCK_ANSWER_MAX_AGE: Duration = Duration::from_secs(1);

/// How long a read-back waits for the server to finish with a lost session.
const LOST_SESSION_WAIT: Duration = Duration::from_secs(30);

impl RunError {
    /// Whether the run stopped because its connection was lost: what was in flight
    /// may or may not have committed.
    pub fn connection_lost(&self) -> bool {
        match self {
            RunError::Migration(f) => f.error.connection_lost(),
            RunError::Database { error, .. } => error.connection_lost(),
            _ => false,
        }
    }

    /// This error, saying what the database holds as `read` back over a new
    /// connection, or that it is unknown when that failed. `whole_run`: the run was
    /// one transaction (around its transactional revisions).
    fn after_connection_loss(
        self,
        steps: &[PreparedStep],
        whole_run: bool,
        transactional_ddl: bool,
        read: Result<Vec<String>, RunError>,
    ) -> RunError {
        match self {
            RunError::Migration(mut f) => {
                let lost = LostDuring {
                    step: steps.iter().find(|s| s.revision == f.revision),
                    line: f.statement.as_ref().map(|s| s.line),
                    whole_run,
                    transactional_ddl,
                };
                f.outcome = lost.outcome(steps, &read);
                RunError::Migration(f)
            }
            // BEGIN or COMMIT between revisions: no one revision to speak of.
            RunError::Database { doing, error } => {
                let lost = LostDuring {
                    step: None,
                    line: None,
                    whole_run,
                    transactional_ddl,
                };
                // What the loss left is aludel's to say, not the database's.
                RunError::Database {
                    doing: format!("{doing}\n{}", lost.outcome(steps, &read)),
                    error,
                }
            }
            other => other,
        }
    }
}

/// Where a run was when its connection was lost.
struct LostDuring<'a> {
    /// The revision being run, if the loss came during one.
    step: Option<&'a PreparedStep>,
    /// The line of the statement in flight, if it was one of the revision's.
    line: Option<usize>,
    /// The run was one transaction around its transactional revisions.
    whole_run: bool,
    /// The database runs DDL in transactions (else every revision commits statement
    /// by statement).
    transactional_ddl: bool,
}

impl LostDuring<'_> {
    /// What the database holds, from the rows `read` back; when they could not be
    /// read, what it may hold and what is safe to do.
    fn outcome(&self, all: &[PreparedStep], read: &Result<Vec<String>, RunError>) -> String {
        let at = |revs: &[String]| {
            if revs.is_empty() {
                "<base>".to_string()
            } else {
                revs.join(", ")
            }
        };
        let same = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            b.sort();
            a == b
        };
        let start = all
            .first()
            .map(|s| s.heads_before.clone())
            .unwrap_or_default();
        let end = all.last().map(|s| s.rows_after.clone()).unwrap_or_default();
        // A revision outside a transaction commits statement by statement: some of
        // its statements may have run whatever the version table says.
        let partial = self.step.filter(|s| !s.transactional || !self.transactional_ddl).map(|s| match self.line {
            // Nothing of the step came before it (not lines above it in the file,
            // which a revert of a half-applied revision starts below).
            Some(line) if s.statements.first().is_some_and(|first| first.line == line) => format!(
                "revision {} runs outside a transaction: the statement at line {line}, the first of its statements to run, may have been applied; check it",
                s.revision
            ),
            Some(line) => format!(
                "revision {} runs outside a transaction: its statements before line {line} were applied (a re-run resumes after those the journal records), and that one may have been too; check it",
                s.revision
            ),
            None => format!(
                "revision {} runs outside a transaction: its statements may have been applied; check them",
                s.revision
            ),
        });
        match read {
            Ok(rows) => {
                // The version table records a revision only once all its statements
                // were applied: none is in doubt then. Unless the step leaves the
                // table as it found it (the revert of a half-applied revision): the
                // rows then say nothing of how far it went.
                let told = self.step.is_some_and(|s| {
                    same(rows, &s.rows_after) && !same(&s.heads_before, &s.rows_after)
                });
                let partial = partial.filter(|_| !told);
                let verdict = match (self.step, partial.is_some()) {
                    _ if self.whole_run && same(rows, &start) => {
                        " (the run's transaction did not commit: the database is as before the run)"
                            .to_string()
                    }
                    _ if self.whole_run && same(rows, &end) => " (the run committed)".to_string(),
                    _ if self.whole_run => String::new(),
                    (Some(step), false) if same(rows, &step.rows_after) => {
                        format!(" (revision {} committed)", step.revision)
                    }
                    (Some(step), false) if same(rows, &step.heads_before) => {
                        format!(" (revision {} did not commit)", step.revision)
                    }
                    (Some(step), false) => lost_in_a_crash(rows, step, all, &same),
                    _ => String::new(),
                };
                let next = match &partial {
                    Some(p) => format!("{p}, then run the command again"),
                    None => "run the command again to continue".to_string(),
                };
                format!(
                    "after reconnecting, the version table reads {}{verdict}: the database is there; {next}",
                    at(rows)
                )
            }
            Err(e) => {
                let maybe = match self.step {
                    Some(step) if !self.whole_run => format!(
                        "whether revision {} committed is unknown: the database is at {} or {}",
                        step.revision,
                        at(&step.heads_before),
                        at(&step.rows_after)
                    ),
                    _ if self.whole_run => format!(
                        "whether the run's transaction committed is unknown: the database is at {} or {}, or where a revision outside a transaction left it",
                        at(&start),
                        at(&end)
                    ),
                    _ => "what the database holds is unknown".to_string(),
                };
                let safe = match &partial {
                    Some(p) => format!("{p} before running the command again"),
                    None => "running the command again is safe: it reads the version table and continues from where the database is".to_string(),
                };
                format!(
                    "the version table could not be read back ({}); {maybe} (or between that and {}, where this run started, if the server itself crashed: see \"Durability\" in the documentation); {safe}",
                    crate::report::error_text(e),
                    at(&start)
                )
            }
        }
    }
}

/// When the rows read back are those after an earlier revision of this run than the
/// one in flight: the revisions after it were reported applied, then undone by the
/// server's recovery from a crash (they commit asynchronously until the run's last).
fn lost_in_a_crash(
    rows: &[String],
    step: &PreparedStep,
    all: &[PreparedStep],
    same: &dyn Fn(&[String], &[String]) -> bool,
) -> String {
    let at_start = all.first().is_some_and(|s| same(rows, &s.heads_before));
    let earlier = all.iter().position(|s| same(rows, &s.rows_after));
    let current = all.iter().position(|s| s.revision == step.revision);
    let lost = match (at_start, earlier, current) {
        (true, _, Some(i)) => &all[..i],
        (_, Some(j), Some(i)) if j < i => &all[j + 1..i],
        _ => return String::new(),
    };
    if lost.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = lost.iter().map(|s| s.revision.as_str()).collect();
    format!(
        " ({}, reported applied above, did not survive: the server restarted before they reached its disk, see \"Durability\" in the documentation)",
        names.join(", ")
    )
}

/// Opens a connection, retrying after the waits `policy` gives.
pub fn connect(
    url: &DatabaseUrl,
    policy: &ConnectPolicy,
    events: &mut dyn FnMut(Event),
) -> Result<Box<dyn Driver>, RunError> {
    let options = ConnectOptions::from(policy);
    let attempts = policy.retries.max(1);
    let total_wait = policy.total_retry_wait();
    for attempt in 1..=attempts {
        match driver::connect(url, &options) {
            Ok(d) => return Ok(d),
            Err(error) if !error.is_transient() => return Err(RunError::Rejected(error)),
            Err(error) if attempt == attempts => {
                return Err(RunError::Connect { error, attempts });
            }
            Err(error) => {
                let delay = policy.retry_delay(attempt);
                events(Event::ConnectFailed {
                    attempt,
                    of: attempts,
                    error: error.to_string(),
                    retry_in: delay,
                    backoff: policy.backoff,
                    total_wait,
                });
                std::thread::sleep(delay);
            }
        }
    }
    unreachable_connect(url)
}

fn unreachable_connect(url: &DatabaseUrl) -> Result<Box<dyn Driver>, RunError> {
    Err(RunError::Connect {
        error: ConnectError::Unreachable {
            url: url.to_string(),
            message: "no attempt was made".into(),
        },
        attempts: 0,
    })
}

/// A connection holding the run lock, with the version table in place. The lock is
/// released by [`LockedSession::finish`], or on drop when an error cut the run short.
pub struct LockedSession {
    driver: Box<dyn Driver>,
    table: VersionTable,
    locked: bool,
    /// Where to reconnect to read the version table back when the connection is lost
    /// mid-run: what the database holds then is read, never assumed.
    reconnect: Option<(DatabaseUrl, ConnectPolicy)>,
    /// The server session of `driver`, ended before reading back after it is lost.
    session: Option<String>,
    /// The version table does not exist yet: it is created with the first revision
    /// (inside its transaction), or at [`LockedSession::finish`] if nothing ran.
    table_missing: bool,
}

impl LockedSession {
    /// Takes the run lock (waiting up to `timeout`, saying so) and looks for the
    /// version table. A missing one is created under the lock, so two first runs
    /// cannot race, in the first revision's transaction: a run that rolls back leaves
    /// no empty version table behind.
    pub fn lock(
        mut driver: Box<dyn Driver>,
        table: VersionTable,
        timeout: Duration,
        events: &mut dyn FnMut(Event),
    ) -> Result<LockedSession, RunError> {
        let started = Instant::now();
        let mut announced = false;
        let mut last_holder = None;
        loop {
            let got = driver
                .try_lock(&table)
                .map_err(|error| RunError::Database {
                    doing: "taking the migration lock".into(),
                    error,
                })?;
            if got {
                break;
            }
            // Who holds it is looked up first, so even a zero timeout can say.
            if !announced {
                last_holder = driver.lock_holder(&table).ok().flatten();
                events(Event::WaitingForLock {
                    holder: last_holder.clone(),
                    timeout,
                });
                announced = true;
            }
            if started.elapsed() >= timeout {
                return Err(RunError::LockTimeout {
                    timeout,
                    holder: last_holder,
                });
            }
            std::thread::sleep(
                Duration::from_millis(100).min(timeout.saturating_sub(started.elapsed())),
            );
        }
        if announced {
            events(Event::LockAcquired {
                waited: started.elapsed(),
            });
        }
        let session_id = driver.session_id();
        let mut session = LockedSession {
            driver,
            table,
            locked: true,
            reconnect: None,
            session: session_id,
            table_missing: false,
        };
        let exists = session
            .driver
            .version_table_exists(&session.table)
            .map_err(|error| RunError::Database {
                doing: "looking for the version table".into(),
                error,
            })?;
        session.table_missing = !exists;
        Ok(session)
    }

    fn create_missing_table(&mut self) -> Result<(), RunError> {
        if self.table_missing {
            let sql = self.table.create();
            self.driver
                .execute(&sql)
                .map_err(|error| RunError::Database {
                    doing: format!("creating the version table {}", self.table.qualified()),
                    error,
                })?;
            self.table_missing = false;
        }
        Ok(())
    }

    /// Lets the session read the version table back over a new connection to `url`
    /// when its own connection is lost, so that what it then reports was read.
    pub fn reconnect_with(mut self, url: &DatabaseUrl, policy: &ConnectPolicy) -> Self {
        self.reconnect = Some((url.clone(), policy.clone()));
        self
    }

    /// The version table's rows: the current heads, read while the run lock is held
    /// (asked of the database, not assumed: rows read without it may be changing).
    /// When the session's connection is gone (after a run whose last COMMIT went
    /// through, say), they are read over a new connection; the lock went with the old
    /// session, unless the driver holds it on a connection of its own.
    pub fn heads(&mut self) -> Result<Vec<String>, RunError> {
        let rows = match read_heads(self.driver.as_mut(), &self.table) {
            Err(e) if e.connection_lost() && self.reconnect.is_some() => {
                if !self.driver.lock_outlives_session() {
                    self.locked = false;
                }
                self.read_back(&mut |_| {}).map_err(|_| e)?
            }
            other => other?,
        };
        if self.locked {
            self.check_lock(&rows)?;
        }
        Ok(rows)
    }

    /// Whether the run lock is still held, after reading `rows` from the version
    /// table: an error saying it is not, and what was read.
    fn check_lock(&mut self, rows: &[String]) -> Result<(), RunError> {
        self.driver.check_lock(&self.table, Duration::ZERO).map_err(|error| {
            let at = if rows.is_empty() {
                "<base>".to_string()
            } else {
                rows.join(", ")
            };
            RunError::Database {
                doing: format!(
                    "the version table {} reads {at}, but this run can no longer confirm that it holds the migration lock (another run may have taken it), so it stops here; {}",
                    self.table.qualified(),
                    error.kind().advice()
                ),
                error,
            }
        })
    }

    /// Reads the version rows over a new connection (with the configured retries).
    fn read_back(&mut self, events: &mut dyn FnMut(Event)) -> Result<Vec<String>, RunError> {
        let mut driver = self.end_lost_session(events)?;
        // The lost session's asynchronous commits are the server's now: a durable
        // commit of this session makes them durable too, before they are reported.
        let _ = driver.flush(&self.table);
        read_heads(driver.as_mut(), &self.table)
    }

    /// Opens a new connection and, over it, ends the session whose connection was
    /// lost, waiting until the server is done with it: what it had in flight (a
    /// COMMIT) is then decided, and its run lock released.
    fn end_lost_session(
        &mut self,
        events: &mut dyn FnMut(Event),
    ) -> Result<Box<dyn Driver>, RunError> {
        let Some((url, policy)) = &self.reconnect else {
            return Err(RunError::Database {
                doing: "reconnecting".into(),
                error: DbError::aludel("no way to reconnect was given"),
            });
        };
        let mut driver = connect(url, policy, events)?;
        if let Some(id) = &self.session {
            driver
                .end_session(id, LOST_SESSION_WAIT)
                .map_err(|error| RunError::Database {
                    doing: "ending the lost session".into(),
                    error,
                })?;
        }
        Ok(driver)
    }

    /// The revision an earlier upgrade left half applied, as the journal records it,
    /// with its entries (`index:hash` of each applied statement); `None` when there
    /// is none (or no journal).
    pub fn half_applied(&mut self) -> Result<Option<(String, Vec<String>)>, RunError> {
        let journal = render::Journal::of(&self.table);
        let doing = |error| RunError::Database {
            doing: format!("reading the journal {}", journal.table.qualified()),
            error,
        };
        if !self
            .driver
            .version_table_exists(&journal.table)
            .map_err(doing)?
        {
            return Ok(None);
        }
        let rows = self
            .driver
            .query_column(&journal.select_all())
            .map_err(doing)?;
        Ok(half_applied(&rows))
    }

    /// Empties the journal of statements applied outside a transaction, where there
    /// is one (`stamp`).
    pub fn forget_journal(&mut self) -> Result<(), RunError> {
        let journal = render::Journal::of(&self.table);
        let doing = |error| RunError::Database {
            doing: format!("emptying the journal {}", journal.table.qualified()),
            error,
        };
        if self
            .driver
            .version_table_exists(&journal.table)
            .map_err(doing)?
        {
            // A write of the run's bookkeeping: only under the lock.
            self.driver
                .check_lock(&self.table, Duration::ZERO)
                .map_err(doing)?;
            self.driver.execute(&journal.delete_all()).map_err(doing)?;
        }
        Ok(())
    }

    /// Runs the steps as `policy` says.
    pub fn apply(
        &mut self,
        steps: &[PreparedStep],
        policy: TransactionPolicy,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), RunError> {
        let dialect = self.driver.dialect();
        let with_table;
        let steps = match steps.first() {
            Some(first)
                if self.table_missing
                    && first.transactional
                    && render::capabilities(dialect).transactional_ddl =>
            {
                // The table commits (or rolls back) with the first revision.
                let mut owned = steps.to_vec();
                owned[0].version_sql.insert(0, self.table.create());
                with_table = owned;
                self.table_missing = false;
                &with_table[..]
            }
            _ => {
                self.create_missing_table()?;
                steps
            }
        };
        // A failed concurrent index build leaves an INVALID index behind: those there
        // before the run are told from those this run left. Best effort: the list
        // only improves a message.
        let outside_tx = steps.iter().any(|s| !s.transactional);
        let invalid_before = if outside_tx {
            self.driver.invalid_indexes().ok()
        } else {
            None
        };
        let mut sink = LiveSink {
            driver: self.driver.as_mut(),
            table: &self.table,
            pending_begin: None,
            in_tx: false,
            journal: render::Journal::of(&self.table),
            journal_ready: false,
            journal_rows: None,
            journal_found: false,
            pending_journal: None,
            journal_beside: false,
        };
        let result = apply_steps(&mut sink, dialect, steps, policy, events);
        match result {
            Err(e) if e.connection_lost() => {
                // The session and its transaction are gone; whether what was in flight
                // committed is read back, not assumed.
                let read = self.read_back(events);
                // The run gives up: a lock held on a connection of the driver's own is
                // released, now that the lost session is ended (or given up on: a
                // session that still runs keeps MySQL's work lock); elsewhere it went
                // with the session.
                if std::mem::take(&mut self.locked) && self.driver.lock_outlives_session() {
                    let _ = self.driver.unlock(&self.table);
                }
                let transactional_ddl = render::capabilities(dialect).transactional_ddl;
                let whole_run = policy == TransactionPolicy::WholeRun && transactional_ddl;
                Err(e.after_connection_loss(steps, whole_run, transactional_ddl, read))
            }
            Err(mut e) => {
                // The revisions before the failure committed asynchronously: make
                // them durable before the error says the database is at them. Best
                // effort: the error being reported matters more.
                let _ = self.driver.flush(&self.table);
                if let (RunError::Migration(f), Some(before)) = (&mut e, &invalid_before)
                    && steps
                        .iter()
                        .any(|s| s.revision == f.revision && !s.transactional)
                    && let Ok(after) = self.driver.invalid_indexes()
                {
                    let (notes, explains) = invalid_index_notes(before, &after, &f.error.message);
                    // An index left by an earlier attempt is the cause: the revision
                    // itself may be right, so "fix the revision" goes, and so does
                    // the guess that an earlier run applied the statement.
                    if explains
                        && let Some(kept) = f
                            .outcome
                            .split_once(&format!("; {STOPPED_BEFORE_RECORDING}"))
                            .map(|(kept, _)| kept)
                            .or_else(|| {
                                f.outcome
                                    .strip_suffix(f.error.kind.advice())
                                    .and_then(|o| o.strip_suffix("; "))
                            })
                    {
                        f.outcome = kept.to_string();
                    }
                    f.outcome.push_str(&notes);
                }
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }

    /// Creates the version table if nothing did yet, releases the lock and closes the
    /// connection. A lock that cannot be released is a warning, not a failure: the
    /// work is done, and the server drops a session's lock with the session.
    pub fn finish(mut self, events: &mut dyn FnMut(Event)) -> Result<(), RunError> {
        self.create_missing_table()?;
        if std::mem::take(&mut self.locked)
            && let Err(error) = self.driver.unlock(&self.table)
        {
            // A session whose connection was lost may live on (behind a frozen
            // proxy, idle) and keep the lock: end it. A lock's own session found
            // ended, or not answering, is the server's to end (at once, or within
            // the minute of its wait_timeout).
            let released = error.connection_lost() && self.end_lost_session(events).is_ok();
            events(Event::LockNotReleased {
                error: error.message,
                released,
            });
        }
        Ok(())
    }
}

impl Drop for LockedSession {
    fn drop(&mut self) {
        if self.locked {
            // Best effort on an error path; closing the connection releases it anyway.
            let _ = self.driver.unlock(&self.table);
        }
    }
}

/// Reads the version rows without taking the lock (for `current`), in a stable order.
/// A missing version table means no revision is applied.
pub fn read_heads(driver: &mut dyn Driver, table: &VersionTable) -> Result<Vec<String>, RunError> {
    let db = |error| RunError::Database {
        doing: format!("reading the version table {}", table.qualified()),
        error,
    };
    if !driver.version_table_exists(table).map_err(db)? {
        return Ok(Vec::new());
    }
    let mut rows = driver.query_column(&table.select()).map_err(db)?;
    rows.sort();
    Ok(rows)
}

/// How revisions are framed in transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionPolicy {
    /// Each revision commits with its version-table update (the default).
    PerMigration,
    /// One transaction around the whole run (Alembic's default).
    WholeRun,
}

/// Where prepared SQL goes: a live database or offline text.
pub trait Sink {
    /// Starts a transaction. `durable = false` lets the database acknowledge its
    /// commit before the commit reaches disk (PostgreSQL's asynchronous commit): safe
    /// for every revision but the run's last, because the last one's durable commit
    /// flushes the write-ahead log up to and including all earlier ones, and a crash
    /// before it can only lose a suffix of whole revisions, each with its row.
    fn begin(&mut self, dialect: Dialect, durable: bool) -> Result<(), DbError>;
    /// Commits it.
    fn commit(&mut self) -> Result<(), DbError>;
    /// Rolls it back.
    fn rollback(&mut self) -> Result<(), DbError>;
    /// Whether the run lock is still held, asked before statements are sent (and
    /// announced); a lost one is an error of kind `LockLost` at index 0, or at
    /// `JOURNAL_WRITE_FAILED` when recording the statement before failed. Offline,
    /// there is no lock.
    fn check_lock(&mut self) -> Result<(), StatementFailure> {
        Ok(())
    }
    /// Runs statements, stopping at the first failure.
    fn run(&mut self, statements: &[&str]) -> Result<(), StatementFailure>;
    /// Runs the version-table statements of a step and checks that the table then
    /// holds exactly `expected`: a table changed behind this run's back (another tool,
    /// a hand edit) stops the step instead of being silently overwritten.
    fn record(&mut self, statements: &[&str], expected: &[String]) -> Result<(), DbError>;
    /// One step: [`Sink::run`] of its statements, then [`Sink::record`] of its
    /// version-table statements. A failure's index is the statement's, or
    /// `statements.len()` for the version table. Sinks may combine the two.
    fn step(
        &mut self,
        statements: &[&str],
        version: &[&str],
        expected: &[String],
    ) -> Result<(), StatementFailure> {
        step_in_turn(self, statements, version, expected)
    }
    /// Writes a comment (offline only; a live database ignores it).
    fn comment(&mut self, text: &str);
    /// What the journal holds for `step` (run outside a transaction): `index:hash` of
    /// each statement an earlier run applied before it stopped, in order. None
    /// offline.
    fn journaled(&mut self, step: &PreparedStep) -> Result<Vec<String>, DbError> {
        let _ = step;
        Ok(Vec::new())
    }
    /// Records statement `index` of `step` as applied. Nothing offline.
    fn journal(&mut self, step: &PreparedStep, index: usize) -> Result<(), DbError> {
        let _ = (step, index);
        Ok(())
    }
    /// [`Sink::record`] of a step run outside a transaction; with `journaled`, its
    /// journal rows are removed in the same transaction as the version-table change.
    /// A failure's index is [`RECORDED_THEN_FOUND_CHANGED`] when the change committed
    /// and the table was then found to hold other rows as well; any other index
    /// stands for the version-table change, not committed.
    fn record_journaled(
        &mut self,
        step: &PreparedStep,
        version: &[&str],
        expected: &[String],
        journaled: bool,
    ) -> Result<(), StatementFailure> {
        let _ = (step, journaled);
        self.record(version, expected)
            .map_err(|error| StatementFailure { index: 0, error })
    }
    /// [`Sink::run`] of the last statement of a step run outside a transaction, then
    /// [`Sink::record_journaled`] of the step; sinks may send both in one request,
    /// which the server finishes even if this process dies after sending it, so a
    /// statement applied is then a step recorded. A failure's index is the
    /// statement's as [`Sink::run`] gives it, or, the statement applied,
    /// [`RECORDED_THEN_FOUND_CHANGED`] or [`RECORD_FAILED`].
    fn run_last_and_record(
        &mut self,
        statement: &str,
        step: &PreparedStep,
        version: &[&str],
        expected: &[String],
        journaled: bool,
    ) -> Result<(), StatementFailure> {
        run_then_record(self, statement, step, version, expected, journaled)
    }
    /// The journal's table, where this sink keeps one (live runs).
    fn journal_table(&self) -> Option<String> {
        None
    }
    /// Whether the journal's table was there when this run first read it: an earlier
    /// run made it (and may have been stopped inside a revision).
    fn journal_found(&self) -> bool {
        false
    }
}

/// The index [`Sink::run`] gives a failure of the journal row sent with a statement
/// (that of the statement before, which was applied): the statement was not applied
/// (not sent, or it failed).
const JOURNAL_WRITE_FAILED: usize = usize::MAX;

/// The index [`Sink::run`] gives a failure of the journal row of the statement before
/// when the statement, sent while that row was being written on another session, was
/// applied too: both are applied and neither is recorded.
const JOURNAL_WRITE_FAILED_AFTER: usize = usize::MAX - 1;

/// The index [`Sink::record_journaled`] gives a failure found after the step's
/// version-table change committed: the table records the step, and beside it holds
/// rows this run did not write.
const RECORDED_THEN_FOUND_CHANGED: usize = usize::MAX - 2;

/// The index [`Sink::run_last_and_record`] gives a failure to record the step after
/// its last statement was applied: the version-table change did not commit.
const RECORD_FAILED: usize = usize::MAX - 3;

/// `upgrade` or `downgrade`, as the journal records a direction.
fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    }
}

/// [`Sink::step`] as [`Sink::run`] then [`Sink::record`].
fn step_in_turn<S: Sink + ?Sized>(
    sink: &mut S,
    statements: &[&str],
    version: &[&str],
    expected: &[String],
) -> Result<(), StatementFailure> {
    sink.check_lock()?;
    sink.run(statements)?;
    sink.record(version, expected)
        .map_err(|error| StatementFailure {
            index: statements.len(),
            error,
        })
}

struct LiveSink<'a> {
    driver: &'a mut dyn Driver,
    table: &'a VersionTable,
    /// The statements of a `BEGIN` not sent yet.
    pending_begin: Option<&'static [&'static str]>,
    /// Whether a transaction is open (or about to be, with `pending_begin`).
    in_tx: bool,
    /// The journal of statements applied outside a transaction.
    journal: render::Journal,
    /// Whether the journal's table is known to exist in this run.
    journal_ready: bool,
    /// The journal's rows as the run found them (`revision direction index:hash`),
    /// read once: only this run writes them while it holds the lock.
    journal_rows: Option<Vec<String>>,
    /// Whether the journal's table was there when the run first read it.
    journal_found: bool,
    /// A journal row not sent yet, where the driver has no other session to write
    /// it on: it goes in one round trip with the next statement (there always is
    /// one: the last statement of a revision is never journaled).
    pending_journal: Option<String>,
    /// Whether a journal row is being written on the driver's other session (started
    /// as soon as its statement is applied, so that nothing this run does, such as
    /// announcing the next statement, delays it), to be waited for after the next
    /// statement, which it overlaps.
    journal_beside: bool,
}

impl LiveSink<'_> {
    /// Sends a `BEGIN` that is still waiting, on its own.
    fn send_pending(&mut self) -> Result<(), DbError> {
        match self.pending_begin.take() {
            Some(begin) => self.driver.execute(&begin.join(";\n")),
            None => Ok(()),
        }
    }

    /// Compares the version rows read back with those expected.
    fn check_rows(&self, mut rows: Vec<String>, expected: &[String]) -> Result<(), DbError> {
        rows.sort();
        let mut want = expected.to_vec();
        want.sort();
        if rows == want {
            return Ok(());
        }
        let show = |v: &[String]| {
            if v.is_empty() {
                "no rows".to_string()
            } else {
                v.join(", ")
            }
        };
        Err(DbError::aludel(format!(
            "the version table {} holds {} where this run expects {}: something other than this run changed it",
            self.table.qualified(),
            show(&rows),
            show(&want)
        ))
        .with_kind(crate::driver::DbErrorKind::VersionTableChanged))
    }
}

impl Sink for LiveSink<'_> {
    fn begin(&mut self, dialect: Dialect, durable: bool) -> Result<(), DbError> {
        // Sent together with the step's statements: one round trip less per revision.
        self.send_pending()?;
        self.pending_begin = Some(if durable {
            render::begin_statements(dialect)
        } else {
            render::begin_fast(dialect)
        });
        self.in_tx = true;
        Ok(())
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.in_tx = false;
        self.send_pending()?;
        self.driver.execute(render::commit())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_tx = false;
        // A BEGIN never sent has nothing to roll back.
        if self.pending_begin.take().is_some() {
            return Ok(());
        }
        self.driver.execute(render::rollback())
    }
    fn check_lock(&mut self) -> Result<(), StatementFailure> {
        let Err(error) = self.driver.check_lock(self.table, LOCK_ANSWER_MAX_AGE) else {
            return Ok(());
        };
        // Nothing more is sent but the record of the statement before, which was
        // applied: the truth, and under MySQL's work lock, which this session still
        // holds, no other run reads the journal meanwhile. One under way beside is
        // waited for (written on this session where it failed there).
        let recorded = if std::mem::take(&mut self.journal_beside) {
            self.driver.record_done()
        } else {
            match self.pending_journal.take() {
                Some(journal) => self.driver.execute(&journal),
                None => Ok(()),
            }
        };
        match recorded {
            Ok(()) => Err(StatementFailure { index: 0, error }),
            // The row's answer went with the connection: it may be written. What the
            // database holds is read back once reconnected, not said from here.
            Err(lost) if lost.connection_lost() => Err(StatementFailure {
                index: 0,
                error: lost,
            }),
            Err(failed) => Err(StatementFailure {
                index: JOURNAL_WRITE_FAILED,
                error: error.with_other("and recording the statement before failed", &failed),
            }),
        }
    }
    fn run(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
        // The BEGIN cannot fail on its own: an error here is the first statement's.
        self.send_pending()
            .map_err(|error| StatementFailure { index: 0, error })?;
        if std::mem::take(&mut self.journal_beside) {
            // The row's commit overlaps the statement's work (the driver writes it on
            // this session after the statement where the other could not; a lock
            // found lost stops the run at its next check).
            let ran = self.driver.execute_all(statements);
            return match (self.driver.record_done(), ran) {
                (Ok(()), ran) => ran,
                // A lost connection is the statement's failure, whichever request
                // met it: the statement may have been applied, which the message
                // says, and a re-run resumes after what the journal records.
                (Err(_), Err(f)) if f.error.connection_lost() => Err(f),
                (Err(error), Ok(())) if error.connection_lost() => {
                    Err(StatementFailure { index: 0, error })
                }
                (Err(error), Ok(())) => Err(StatementFailure {
                    index: JOURNAL_WRITE_FAILED_AFTER,
                    error,
                }),
                // The statement failed: only the one before is applied, unrecorded.
                (Err(error), Err(f)) => Err(StatementFailure {
                    index: JOURNAL_WRITE_FAILED,
                    error: error.with_other("and the statement after it failed", &f.error),
                }),
            };
        }
        let Some(journal) = self.pending_journal.take() else {
            return self.driver.execute_all(statements);
        };
        let mut all: Vec<&str> = vec![&journal];
        all.extend_from_slice(statements);
        self.driver.execute_all(&all).map_err(|f| match f.index {
            // The row of the statement before these, which was applied.
            0 => StatementFailure {
                index: JOURNAL_WRITE_FAILED,
                ..f
            },
            i => StatementFailure { index: i - 1, ..f },
        })
    }
    fn record(&mut self, statements: &[&str], expected: &[String]) -> Result<(), DbError> {
        self.driver.check_lock(self.table, LOCK_ANSWER_MAX_AGE)?;
        self.send_pending()?;
        // The changes and the rows they leave, in one round trip where the driver can.
        let rows = self
            .driver
            .execute_batch(statements, &self.table.select())
            .map_err(|f| f.error)?;
        self.check_rows(rows, expected)
    }
    fn step(
        &mut self,
        statements: &[&str],
        version: &[&str],
        expected: &[String],
    ) -> Result<(), StatementFailure> {
        if !self.in_tx {
            // Outside a transaction every statement must be sent alone (a batch would
            // be one implicit transaction, which `CREATE INDEX CONCURRENTLY` refuses).
            return step_in_turn(self, statements, version, expected);
        }
        self.driver
            .check_lock(self.table, LOCK_ANSWER_MAX_AGE)
            .map_err(|error| StatementFailure { index: 0, error })?;
        // Inside one: the BEGIN still waiting, the statements, the version-table
        // changes and their read-back go together, in one round trip where the driver
        // can.
        let begin = self.pending_begin.take().unwrap_or_default();
        let mut all: Vec<&str> = Vec::with_capacity(begin.len() + statements.len() + version.len());
        all.extend_from_slice(begin);
        all.extend_from_slice(statements);
        all.extend_from_slice(version);
        let select = self.table.select();
        let n = statements.len();
        let rows = self
            .driver
            .execute_batch(&all, &select)
            .map_err(|f| StatementFailure {
                // The BEGIN cannot fail on its own: an error there is the first
                // statement's; one after the statements is the version table's.
                index: f.index.saturating_sub(begin.len()).min(n),
                error: f.error,
            })?;
        self.check_rows(rows, expected)
            .map_err(|error| StatementFailure { index: n, error })
    }
    fn comment(&mut self, _text: &str) {}
    fn journaled(&mut self, step: &PreparedStep) -> Result<Vec<String>, DbError> {
        if self.journal_rows.is_none() {
            let rows = if self.driver.version_table_exists(&self.journal.table)? {
                self.journal_ready = true;
                self.journal_found = true;
                self.driver.query_column(&self.journal.select_all())?
            } else {
                Vec::new()
            };
            self.journal_rows = Some(rows);
        }
        // Made before the revision's first statement, so that recording it cannot
        // fail for want of the table once it is applied.
        if step.statements.len() > 1 && !self.journal_ready {
            self.driver.execute(&self.journal.create())?;
            self.journal_ready = true;
        }
        let prefix = format!("{} {} ", step.revision, direction_name(step.direction));
        Ok(self
            .journal_rows
            .iter()
            .flatten()
            .filter_map(|row| row.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }
    fn journal(&mut self, step: &PreparedStep, index: usize) -> Result<(), DbError> {
        let statement = &step.statements[index];
        let row = render::JournalRow {
            revision: &step.revision,
            direction: direction_name(step.direction),
            index,
            line: statement.line,
            sql: &statement.sql,
        };
        // Where the step's last statement and its record may go in one request while
        // this row is still being written (see `run_last_and_record`, which asks the
        // same question), the row is written only if the step is not recorded by
        // then: else it would outlive the record's removal of the step's rows. Not
        // for a step that leaves the version table as it is (the revert of a
        // half-applied revision): its rows would never be written.
        let version: Vec<&str> = step.version_sql.iter().map(String::as_str).collect();
        let row = match self.lone_row_moved(step, &version, &step.rows_after) {
            Some((_, to)) => self.journal.insert_unless_recorded(&row, self.table, to),
            None => self.journal.insert(&row),
        };
        // Started at once where the driver can: a run killed from here on (say,
        // while it announces the next statement) leaves the statement recorded.
        if self.driver.record_beside(&row) {
            self.journal_beside = true;
        } else {
            self.pending_journal = Some(row);
        }
        Ok(())
    }
    fn record_journaled(
        &mut self,
        step: &PreparedStep,
        version: &[&str],
        expected: &[String],
        journaled: bool,
    ) -> Result<(), StatementFailure> {
        let whole = |error| StatementFailure { index: 0, error };
        // One transaction: the version-table changes of a step are several
        // statements (a merge's, a stamp's), and with the journal's rows they go
        // together: a crash between them would leave a finished revision that a
        // re-run resumes. (Statements outside a transaction commit each by itself.)
        let forget = self
            .journal
            .delete(&step.revision, direction_name(step.direction));
        let forget = (journaled && self.journal_ready).then_some(forget);
        // After a statement, what it applied is recorded whatever the lock: the
        // check before it was the last chance to stop. A step of no statements (a
        // stamp's) writes only the version table, which needs the lock.
        if step.statements.is_empty() {
            self.driver
                .check_lock(self.table, LOCK_ANSWER_MAX_AGE)
                .map_err(whole)?;
        }
        self.send_pending().map_err(whole)?;
        if let Some((from, to)) = self.lone_row_moved(step, version, expected) {
            return self.record_counting(from, to, expected, forget.as_deref());
        }
        self.record_checked(version, expected, forget.as_deref())
            .map_err(whole)
    }
    fn run_last_and_record(
        &mut self,
        statement: &str,
        step: &PreparedStep,
        version: &[&str],
        expected: &[String],
        journaled: bool,
    ) -> Result<(), StatementFailure> {
        // One request where the step moves the only row, on a driver that counts
        // what its UPDATE did. A journal row still being written beside is written
        // only if the step is not recorded by then (`journal`); one waiting to go
        // with this statement goes the usual way.
        let lone = self.lone_row_moved(step, version, expected);
        // The driver tells the statement's failure from the record's by counting
        // results, which one that may answer several times would throw off.
        let counted = !step
            .statements
            .last()
            .is_some_and(Statement::may_answer_several_times);
        let (Some((from, to)), None, false, true) =
            (lone, &self.pending_journal, self.in_tx, counted)
        else {
            return run_then_record(self, statement, step, version, expected, journaled);
        };
        let forget = (journaled && self.journal_ready).then(|| {
            self.journal
                .delete(&step.revision, direction_name(step.direction))
        });
        let update = self.table.update_finding_all(from, to);
        let (all, at) = self.counted_record(Some(statement), &update, forget.as_deref());
        let failed = |index, error| StatementFailure { index, error };
        let sent = self.driver.execute_counting(&all);
        // How the row of the statement before went, where it was written beside.
        let before = if std::mem::take(&mut self.journal_beside) {
            self.driver.record_done()
        } else {
            Ok(())
        };
        let touched = match (sent, before) {
            // Recorded: the row of the statement before no longer matters.
            (Ok(touched), _) => touched,
            // The connection was lost: what ran is read back.
            (Err(f), _) if f.index == 0 && f.error.connection_lost() => return Err(f),
            // The statement failed, and nothing after it ran.
            (Err(f), Ok(())) if f.index == 0 => return Err(f),
            // It failed, and the row of the one before, which was applied, was not
            // written.
            (Err(f), Err(error)) if f.index == 0 => {
                return Err(failed(
                    JOURNAL_WRITE_FAILED,
                    error.with_other("and the statement after it failed", &f.error),
                ));
            }
            // The statement was applied and recording the step failed.
            (Err(f), before) => {
                let _ = self.driver.execute(render::rollback());
                return Err(match before {
                    Ok(()) => failed(RECORD_FAILED, f.error),
                    // Nor is the statement before recorded (both causes named).
                    Err(error) => failed(
                        JOURNAL_WRITE_FAILED_AFTER,
                        error.with_other("and recording the revision failed", &f.error),
                    ),
                });
            }
        };
        self.check_counted(touched.get(at), to, expected, RECORD_FAILED)
    }
    fn journal_table(&self) -> Option<String> {
        Some(self.journal.table.qualified())
    }
    fn journal_found(&self) -> bool {
        self.journal_found
    }
}

impl LiveSink<'_> {
    /// The row a step moves when it moves the table's only row, as most steps of a
    /// history do, on a driver that reports the rows an `UPDATE` found and changed.
    fn lone_row_moved<'s>(
        &self,
        step: &'s PreparedStep,
        version: &[&str],
        expected: &'s [String],
    ) -> Option<(&'s str, &'s str)> {
        if step.statements.is_empty() || !self.driver.reports_rows_touched() {
            return None;
        }
        match (&step.heads_before[..], expected, version) {
            ([from], [to], [update]) if *update == self.table.update(from, to) => Some((from, to)),
            _ => None,
        }
    }

    /// Records a step that moves the only row `from` -> `to`, checking what the table
    /// held from the server's own count of the rows its `UPDATE` found and changed:
    /// one and one is that row and nothing beside it, so the check costs no
    /// statement (a read of the table in the transaction costs as much as the rest
    /// of it together on MariaDB). The `COMMIT` goes in the same round trip, so a
    /// table found otherwise is read back after it: the change committed, and what
    /// the table holds then says whether it records the step. The journal rows went
    /// with it; they would only tell a re-run to send the last statement again, and
    /// the message says every statement was applied.
    ///
    /// The commit waits for the server's log flush before the next revision starts,
    /// so a revision's record is durable before anything of the next one can be.
    /// Committing it on the lock's session instead while the next statement runs
    /// (that statement ordered after it by a locking read that waits for its row
    /// locks, which InnoDB releases before the flush) was built and measured on
    /// MariaDB 10.11: no faster (the 1,000-revision upgrade 5.84 s against 5.62 s),
    /// as the next DDL's own log flushes wait behind this one's; not kept.
    fn record_counting(
        &mut self,
        from: &str,
        to: &str,
        expected: &[String],
        forget: Option<&str>,
    ) -> Result<(), StatementFailure> {
        let whole = |error| StatementFailure { index: 0, error };
        let update = self.table.update_finding_all(from, to);
        let (all, at) = self.counted_record(None, &update, forget);
        let touched = match self.driver.execute_counting(&all) {
            Ok(touched) => touched,
            Err(f) => {
                let _ = self.driver.execute(render::rollback());
                return Err(whole(f.error));
            }
        };
        self.check_counted(touched.get(at), to, expected, 0)
    }

    /// The request that records a lone row's move (`update`, with `forget`, the
    /// step's journal rows, in one transaction), after `first` where it goes with
    /// it; and the index of the `UPDATE` in it.
    fn counted_record<'a>(
        &self,
        first: Option<&'a str>,
        update: &'a str,
        forget: Option<&'a str>,
    ) -> (Vec<&'a str>, usize) {
        let mut all: Vec<&str> = first.into_iter().collect();
        all.extend_from_slice(render::begin_statements(self.driver.dialect()));
        let at = all.len();
        all.push(update);
        all.extend(forget);
        all.push(render::commit());
        (all, at)
    }

    /// After a [`LiveSink::counted_record`] committed: `Ok` when its `UPDATE`
    /// (`touched`) found and changed the one row; else the table holds more, read
    /// back and reported, with [`RECORDED_THEN_FOUND_CHANGED`] where it records the
    /// step (holds `to`) and `not_recorded` where not.
    fn check_counted(
        &mut self,
        touched: Option<&Option<crate::driver::RowsTouched>>,
        to: &str,
        expected: &[String],
        not_recorded: usize,
    ) -> Result<(), StatementFailure> {
        let alone = Some(crate::driver::RowsTouched {
            matched: 1,
            changed: 1,
        });
        if touched == Some(&alone) {
            return Ok(());
        }
        let failed = |index, error| StatementFailure { index, error };
        let rows = self
            .driver
            .query_column(&self.table.select())
            .map_err(|error| failed(not_recorded, error))?;
        let recorded = rows.iter().any(|r| r == to);
        self.check_rows(rows, expected).map_err(|error| {
            failed(
                if recorded {
                    RECORDED_THEN_FOUND_CHANGED
                } else {
                    not_recorded
                },
                error,
            )
        })
    }

    /// Records a step's version-table changes (and removes its journal rows) in one
    /// transaction that commits only if the table then holds exactly `expected`.
    fn record_checked(
        &mut self,
        version: &[&str],
        expected: &[String],
        forget: Option<&str>,
    ) -> Result<(), DbError> {
        let mut all: Vec<&str> = render::begin_statements(self.driver.dialect()).to_vec();
        all.extend_from_slice(version);
        all.extend(forget);
        // Where the database can check the rows itself, the check and the COMMIT go
        // with the changes: one round trip in all.
        if let Some(guard) = self.table.guard(expected) {
            let at = all.len();
            all.push(&guard);
            all.push(render::commit());
            return match self.driver.execute_all(&all) {
                Ok(()) => Ok(()),
                Err(f) => {
                    let _ = self.driver.execute(render::rollback());
                    if f.index != at {
                        return Err(f.error);
                    }
                    // The guard failed: say what the table holds (read again, it may
                    // hold what was expected by now; it did not then).
                    let rows = self.driver.query_column(&self.table.select())?;
                    Err(self.check_rows(rows, expected).err().unwrap_or_else(|| {
                        DbError::aludel(format!(
                            "the version table {} did not hold what this run expects while it recorded the revision: something other than this run changed it",
                            self.table.qualified()
                        ))
                        .with_kind(crate::driver::DbErrorKind::VersionTableChanged)
                    }))
                }
            };
        }
        // BEGIN, the changes and the rows they leave in one round trip where the driver
        // can; the rows are checked before the COMMIT.
        let recorded = self
            .driver
            .execute_batch(&all, &self.table.select())
            .map_err(|f| f.error)
            .and_then(|rows| self.check_rows(rows, expected));
        match recorded {
            Ok(()) => self.driver.execute(render::commit()),
            Err(e) => {
                let _ = self.driver.execute(render::rollback());
                Err(e)
            }
        }
    }
}

/// Offline output: the SQL a DBA can review and run, e.g. with `psql -1 -f`.
#[derive(Debug, Default)]
pub struct SqlText {
    out: String,
    /// Whether a statement with a `;` of its own is written between `DELIMITER` lines.
    delimit: bool,
}

impl SqlText {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty script for `dialect`: on MySQL and MariaDB, whose `mysql` client ends a
    /// statement at every `;` outside quotes, a statement holding one (a routine's or
    /// a trigger's body) is written between `DELIMITER` lines, so the client sends it
    /// whole.
    pub fn for_dialect(dialect: Dialect) -> Self {
        Self {
            out: String::new(),
            delimit: dialect == Dialect::Mysql,
        }
    }
    /// Adds a statement (terminated with `;`) followed by a blank line.
    pub fn statement(&mut self, sql: &str) {
        let sql = sql.trim_end();
        if self.delimit && has_unquoted_semicolon(sql) {
            let delimiter = ["$$", "//", "%%", "~~", "$$ENDS$$"]
                .into_iter()
                .find(|d| !sql.contains(d))
                .unwrap_or("$$ALUDEL_ENDS$$");
            self.out.push_str(&format!(
                "DELIMITER {delimiter}\n{sql}\n{delimiter}\nDELIMITER ;\n\n"
            ));
            return;
        }
        self.out.push_str(sql);
        self.out.push_str(";\n\n");
    }
    /// The text.
    pub fn into_string(self) -> String {
        self.out
    }
}

impl Sink for SqlText {
    fn begin(&mut self, dialect: Dialect, _durable: bool) -> Result<(), DbError> {
        self.statement(render::begin(dialect));
        Ok(())
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.statement(render::commit());
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        Ok(())
    }
    fn run(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
        for s in statements {
            self.statement(s);
        }
        Ok(())
    }
    fn record(&mut self, statements: &[&str], _expected: &[String]) -> Result<(), DbError> {
        for s in statements {
            self.statement(s);
        }
        Ok(())
    }
    fn comment(&mut self, text: &str) {
        self.out.push_str(&render::comment(text));
        self.out.push_str("\n\n");
    }
}

/// Whether `sql` holds a `;` outside quoted strings and identifiers (one in a comment
/// counts too, to be safe: the `mysql` client reads comments itself). A quote inside a
/// comment (`-- don't`) opens no string.
fn has_unquoted_semicolon(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' => return true,
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    // A backslash escapes in strings, not in backquoted names.
                    i += if b[i] == b'\\' && q != b'`' { 2 } else { 1 };
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b';' {
                        return true;
                    }
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b';' {
                        return true;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b';' {
                        return true;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Runs `steps` through `sink` under `policy`: the one code path of live and offline
/// runs. On failure, rolls back what the policy allows and says what remains.
pub(crate) fn apply_steps(
    sink: &mut dyn Sink,
    dialect: Dialect,
    steps: &[PreparedStep],
    policy: TransactionPolicy,
    events: &mut dyn FnMut(Event),
) -> Result<(), RunError> {
    let transactional_ddl = render::capabilities(dialect).transactional_ddl;
    let whole_run = transactional_ddl && policy == TransactionPolicy::WholeRun;
    let mut in_tx = false;
    let mut done: Vec<&PreparedStep> = Vec::new();
    let db = |doing: &str, error: DbError| RunError::Database {
        doing: doing.into(),
        error,
    };
    // Where an earlier run stopped in a revision whose statements commit one by one,
    // as the journal says; checked against the files for every revision before
    // anything runs (a step without statements, such as a stamp's, has none).
    let mut resume_at = Vec::with_capacity(steps.len());
    for step in steps {
        let statement_by_statement = !(step.transactional && transactional_ddl);
        resume_at.push(if statement_by_statement && !step.statements.is_empty() {
            let entries = sink
                .journaled(step)
                .map_err(|e| db("reading the journal", e))?;
            let table = sink.journal_table().unwrap_or_default();
            resume_point(step, &entries, &table).map_err(RunError::Journal)?
        } else {
            0
        });
    }
    if whole_run && !steps.is_empty() {
        sink.begin(dialect, true)
            .map_err(|e| db("starting the run's transaction", e))?;
        in_tx = true;
    }
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let description = step.description.clone();
        events(Event::StepStarted {
            description: description.clone(),
            revision: step.revision.clone(),
        });
        let started = Instant::now();
        let own_tx = transactional_ddl && step.transactional && !whole_run;
        if whole_run && !step.transactional && in_tx {
            // Commit what came before: this revision cannot run inside a transaction.
            sink.commit()
                .map_err(|e| db("committing before a non-transactional revision", e))?;
            in_tx = false;
        }
        sink.comment(&step.comment);
        if own_tx {
            sink.begin(dialect, last)
                .map_err(|e| db("starting the revision's transaction", e))?;
            in_tx = true;
        }
        let texts: Vec<&str> = step.statements.iter().map(|s| s.sql.as_str()).collect();
        let n_statements = texts.len();
        let version: Vec<&str> = step.version_sql.iter().map(String::as_str).collect();
        let version_failed = |error| StatementFailure {
            index: n_statements,
            error,
        };
        let mut committing = false;
        let statement_by_statement = !(step.transactional && transactional_ddl);
        let resumed = resume_at[i];
        let mut unrecorded = 0;
        let ran = if statement_by_statement {
            // One at a time, each announced: every statement commits on its own.
            run_announced(sink, step, &version, events, resumed, &mut unrecorded)
        } else {
            sink.step(&texts, &version, &step.rows_after)
        };
        let result = ran.and_then(|()| {
            if own_tx {
                committing = true;
                sink.commit().map_err(version_failed)?;
            }
            Ok(())
        });
        if let Err(failure) = result {
            if in_tx {
                let _ = sink.rollback();
            }
            let statement = step
                .statements
                .get(failure.index)
                .cloned()
                .filter(|_| failure.index < n_statements);
            let outcome = failure_outcome(
                step,
                &done,
                steps,
                // The run's own transaction was open and is rolled back.
                whole_run && in_tx,
                transactional_ddl,
                &statement,
                failure.error.kind,
                &Applied {
                    // Statements applied and not recorded count as applied.
                    before: if unrecorded > 0 {
                        failure.index + unrecorded
                    } else {
                        failure.index.min(n_statements)
                    },
                    resumed,
                    unrecorded,
                    journal: sink.journal_table(),
                    journal_found: sink.journal_found(),
                    recorded: failure.index == RECORDED_THEN_FOUND_CHANGED,
                },
            );
            return Err(RunError::Migration(Box::new(MigrationFailure {
                revision: step.revision.clone(),
                message: step.message.clone(),
                direction: step.direction,
                path: step.path.clone(),
                committing,
                statement,
                // The lock table fills at the statement that needs one more lock.
                error: if whole_run {
                    lock_slots_hint(failure.error)
                } else {
                    failure.error
                },
                outcome,
            })));
        }
        if own_tx {
            in_tx = false;
        }
        let committed = !in_tx;
        // The run's transaction resumes after a non-transactional revision, unless it
        // was the last one (no empty BEGIN; COMMIT at the end).
        if whole_run && !step.transactional && !last {
            sink.begin(dialect, true)
                .map_err(|e| db("starting the run's transaction", e))?;
            in_tx = true;
        }
        done.push(step);
        events(Event::StepFinished {
            description,
            summary: step_summary(step),
            revision: step.revision.clone(),
            elapsed: started.elapsed(),
            committed,
        });
    }
    if in_tx {
        sink.commit()
            .map_err(|e| db("committing the run", lock_slots_hint(e)))?;
    }
    Ok(())
}

/// [`Sink::run_last_and_record`] in two requests.
fn run_then_record<S: Sink + ?Sized>(
    sink: &mut S,
    statement: &str,
    step: &PreparedStep,
    version: &[&str],
    expected: &[String],
    journaled: bool,
) -> Result<(), StatementFailure> {
    sink.run(&[statement])?;
    sink.record_journaled(step, version, expected, journaled)
        .map_err(|f| StatementFailure {
            index: match f.index {
                RECORDED_THEN_FOUND_CHANGED => f.index,
                _ => RECORD_FAILED,
            },
            error: f.error,
        })
}

/// The statements of a step outside a transaction, one by one, each announced by an
/// [`Event::StatementStarted`] before it is sent, then its version-table update. Each
/// applied statement but the last is recorded in the journal; `start` is where the
/// step resumes (after the statements the journal records an earlier run applied).
fn run_announced(
    sink: &mut dyn Sink,
    step: &PreparedStep,
    version: &[&str],
    events: &mut dyn FnMut(Event),
    start: usize,
    unrecorded: &mut usize,
) -> Result<(), StatementFailure> {
    let n = step.statements.len();
    if start > 0 {
        events(Event::StepResumed {
            revision: step.revision.clone(),
            line: step.statements[start].line,
            applied: start,
        });
    }
    let journaled = start > 0 || n > 1;
    let record_failed = |f: StatementFailure| StatementFailure {
        index: match f.index {
            RECORDED_THEN_FOUND_CHANGED => f.index,
            _ => n,
        },
        error: f.error,
    };
    for (index, st) in step.statements.iter().enumerate().skip(start) {
        let last = index + 1 == n;
        let sent = sink.check_lock().and_then(|()| {
            events(Event::StatementStarted {
                revision: step.revision.clone(),
                line: st.line,
                excerpt: statement_excerpt(&st.sql),
            });
            if last {
                sink.run_last_and_record(&st.sql, step, version, &step.rows_after, journaled)
            } else {
                sink.run(&[st.sql.as_str()])
            }
        });
        sent.map_err(|f| {
            *unrecorded = match f.index {
                // The statement was applied; recording the step was not.
                RECORD_FAILED | RECORDED_THEN_FOUND_CHANGED => return record_failed(f),
                // The statement before this one was applied and is not recorded.
                JOURNAL_WRITE_FAILED => 1,
                // So was this one, sent while the other's row was being written.
                JOURNAL_WRITE_FAILED_AFTER => 2,
                _ => return StatementFailure { index, ..f },
            };
            StatementFailure {
                index: index.saturating_sub(1),
                ..f
            }
        })?;
        // The last one is recorded by the version-table change itself.
        if last {
            return Ok(());
        }
        sink.journal(step, index).map_err(|error| {
            *unrecorded = 1;
            StatementFailure { index, error }
        })?;
    }
    // A step of no statements.
    sink.record_journaled(step, version, &step.rows_after, journaled)
        .map_err(record_failed)
}

/// Where a step resumes, from its journal entries (`index:hash`): after the
/// statements an earlier run applied, provided the file still holds them as they
/// were. A journal that does not match the file stops the run before the step sends
/// anything.
fn resume_point(
    step: &PreparedStep,
    entries: &[String],
    table: &str,
) -> Result<usize, Box<JournalMismatch>> {
    let n = step.statements.len();
    for (k, entry) in entries.iter().enumerate() {
        let (index, hash) = entry.split_once(':').unwrap_or((entry, ""));
        let matches = index.parse::<usize>().ok() == Some(k)
            && step
                .statements
                .get(k)
                .is_some_and(|st| render::Journal::hash(&st.sql) == hash);
        if !matches || k + 1 >= n {
            let what = match step.statements.get(k) {
                Some(st) if k + 1 < n => format!(
                    "the journal {table} records statement {} (line {}) as applied by an earlier run, with other text",
                    k + 1,
                    st.line
                ),
                _ => format!(
                    "the journal {table} records {} statements as applied by an earlier run, and the section now has {n}",
                    entries.len()
                ),
            };
            return Err(Box::new(JournalMismatch {
                revision: step.revision.clone(),
                direction: step.direction,
                path: step.path.clone(),
                what,
                forget: format!(
                    "DELETE FROM {table} WHERE revision = {} AND direction = {}",
                    render::quote_literal(&step.revision),
                    render::quote_literal(direction_name(step.direction))
                ),
                heads: step.heads_before.clone(),
            }));
        }
    }
    Ok(entries.len())
}

/// A revision whose journal records statements as applied that its file no longer
/// holds as they were: nothing of it was run.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{} of revision {revision} not run: {what}; the file {} changed since.\n  Statements an earlier run applied must stay as they were (the one that failed and those after it may change): put them back, then run the command again; or, if the database was repaired by hand, forget them ({forget};) and run it again.\n  Nothing was run: the version table is at {}",
    direction_name(*direction),
    path.display(),
    if heads.is_empty() { "<base>".to_string() } else { heads.join(", ") }
)]
#[non_exhaustive]
pub struct JournalMismatch {
    /// The revision.
    pub revision: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// Its file.
    pub path: PathBuf,
    /// What the journal says that the file contradicts.
    pub what: String,
    /// The statement that forgets the journal's rows of this revision.
    pub forget: String,
    /// The version table's rows.
    pub heads: Vec<String>,
}

/// How many characters of a statement a progress line shows.
const PROGRESS_CHARS: usize = 100;

/// A statement's start for a progress line: its whitespace folded to single spaces,
/// secrets masked, cut with a marker.
fn statement_excerpt(sql: &str) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::one_line(&crate::url::redact_str(&folded), PROGRESS_CHARS)
}

/// `upgrade a -> b`: the step's line without its message, as `--sql` comments have it.
fn step_summary(step: &PreparedStep) -> String {
    step.comment
        .strip_prefix("Running ")
        .unwrap_or(&step.comment)
        .to_string()
}

/// The lock table filled up in one transaction for the whole run: say which settings
/// help.
fn lock_slots_hint(mut e: DbError) -> DbError {
    if e.kind == crate::driver::DbErrorKind::TooManyLocks {
        e.message.push_str(
            "\nHINT: one transaction for the whole run ran out of lock slots: raise max_locks_per_transaction or set transaction_per_migration = true",
        );
    }
    e
}

/// What to say about INVALID indexes after a revision outside a transaction failed:
/// those this run left (not INVALID `before` it), and those from before that the
/// database's `message` names (a re-run's `already exists`). aludel drops neither: it
/// cannot prove that an index from before is its own, and dropping one this run left
/// would hide what the failure was; the user is told the statement to run. The flag
/// says whether an index from before is what the statement failed on.
fn invalid_index_notes(
    before: &[crate::driver::InvalidIndex],
    after: &[crate::driver::InvalidIndex],
    message: &str,
) -> (String, bool) {
    let mut notes = String::new();
    let mut explains = false;
    for index in after {
        let drop = format!(
            "drop it with `DROP INDEX CONCURRENTLY IF EXISTS {};`",
            index.qualified
        );
        if !before.contains(index) {
            let _ = write!(
                notes,
                "\n  the failed statement left the index {} behind, INVALID: queries do not use it, yet every write to its table keeps it up to date; {drop} before running the command again",
                index.qualified
            );
        } else if message.contains(&format!("\"{}\"", index.name)) {
            explains = true;
            let _ = write!(
                notes,
                "\n  {} is an INVALID index, left by an earlier CREATE INDEX CONCURRENTLY that failed (an earlier run of this revision, most likely); aludel does not drop it for you: check that nothing else needs it, {drop}, then run the command again",
                index.qualified
            );
        }
    }
    (notes, explains)
}

/// When the first revision of a run from an empty version table fails because what
/// it creates already exists, the database was most likely built without aludel (by
/// hand, from a dump, by another tool): editing the revision is the wrong fix, stamping
/// is the right one. Which revision to stamp only the user can tell; say how to choose.
///
/// Where the revision runs statement by statement and the journal was there before
/// this run, an earlier run may instead have applied the statement and been stopped
/// before recording it (`record_it` says how to record it): the same state, which
/// only the user can tell apart, so the message gives both ways out.
fn predates_its_migrations(
    step: &PreparedStep,
    done: &[&PreparedStep],
    kind: crate::driver::DbErrorKind,
    nothing_of_its_own: bool,
    record_it: Option<&str>,
) -> Option<String> {
    let first_from_empty = done.is_empty() && step.heads_before.is_empty();
    // Only a revision that left nothing of its own behind: one that ran in a
    // transaction, or (where every revision runs statement by statement) one whose
    // first statement failed with no journal of an earlier run. A `transaction false`
    // revision's earlier statements (this run's, or a killed run's) may have made
    // what now exists, and stamping would record it as whole.
    (kind == crate::driver::DbErrorKind::AlreadyExists
        && step.direction == Direction::Upgrade
        && nothing_of_its_own
        && first_from_empty)
        .then(|| match record_it {
            None => format!(
                "but the version table records no revision, and the database already holds something revision {rev} creates: the database predates its migrations (built by hand, from a dump, or by another tool).\n  Do not change the revision. Record the revisions whose changes the database already has, without running them: `aludel stamp REV` with the newest of them (`aludel stamp {rev}` if it holds everything {rev} creates and nothing of the later revisions; `aludel history` lists them in order), then run `aludel upgrade head`",
                rev = step.revision
            ),
            Some(record_it) => format!(
                "but the version table records no revision, and the database already holds something revision {rev} creates: either the database predates its migrations (built by hand, from a dump, or by another tool), or an earlier run, which made the journal, applied this statement and was stopped before recording it.\n  Do not change the revision. If the database holds only what this statement makes of {rev}, {record_it}\n  If it predates its migrations, record the revisions whose changes it already has, without running them: `aludel stamp REV` with the newest of them (`aludel stamp {rev}` if it holds everything {rev} creates and nothing of the later revisions; `aludel history` lists them in order), then run `aludel upgrade head`",
                rev = step.revision
            ),
        })
}

/// The advice when the first statement of the first revision a run sends, one that
/// commits by itself, fails because what it makes already exists and the version
/// table records an earlier revision: an earlier run that was stopped (killed, or
/// its server crashed) after the statement committed and before the journal or the
/// version table recorded it leaves that same state, and the run resumes exactly
/// there. (With an empty version table, [`predates_its_migrations`] says it.)
fn stopped_before_recording(
    step: &PreparedStep,
    done: &[&PreparedStep],
    kind: crate::driver::DbErrorKind,
    journal: &str,
    failed: &Statement,
) -> Option<String> {
    if !(done.is_empty()
        && kind == crate::driver::DbErrorKind::AlreadyExists
        && step.direction == Direction::Upgrade
        && !step.heads_before.is_empty())
    {
        return None;
    }
    let record = if step.statements.len() == 1 {
        // A revision's last statement is recorded by the version table itself.
        format!(
            "the revision is complete: record it with `aludel stamp {}`",
            step.revision
        )
    } else {
        format!(
            "record the statement as applied, then run the command again; to record it: {}",
            record_as_applied(step, journal, 0, failed)
        )
    };
    Some(format!(
        "{STOPPED_BEFORE_RECORDING} (killed, or its server crashed): if the database has what it makes and nothing else of this revision, {record}\n  Otherwise {}",
        crate::driver::DbErrorKind::AlreadyExists.advice()
    ))
}

/// How [`stopped_before_recording`] begins.
const STOPPED_BEFORE_RECORDING: &str =
    "an earlier run may have applied this statement and been stopped before recording it";

/// The SQL that records statement `index` of `step` (`failed`) as applied in the
/// journal `journal`, for the user to run when the database already has what it made.
fn record_as_applied(
    step: &PreparedStep,
    journal: &str,
    index: usize,
    failed: &Statement,
) -> String {
    render::Journal::insert_into(
        journal,
        &render::JournalRow {
            revision: &step.revision,
            direction: direction_name(step.direction),
            index,
            line: failed.line,
            sql: &failed.sql,
        },
    )
}

/// How far a step outside a transaction got before it failed.
struct Applied {
    /// How many of its statements are applied (by this run or, when resumed, an
    /// earlier one).
    before: usize,
    /// The first statement this run sent (0 unless it resumed).
    resumed: usize,
    /// The failure is the journal's when not 0: this many statements, from the failed
    /// one on, were applied, and recording the first failed.
    unrecorded: usize,
    /// The journal's table, where the run keeps one.
    journal: Option<String>,
    /// Whether the journal's table was there when the run started (an earlier run
    /// made it).
    journal_found: bool,
    /// Whether the step's version-table change committed before the table was found
    /// changed by something else (see [`RECORDED_THEN_FOUND_CHANGED`]).
    recorded: bool,
}

/// Says what a failure left behind, so the user knows where the database stands.
#[allow(clippy::too_many_arguments)]
fn failure_outcome(
    step: &PreparedStep,
    done: &[&PreparedStep],
    all: &[PreparedStep],
    run_rolled_back: bool,
    transactional_ddl: bool,
    statement: &Option<Statement>,
    kind: crate::driver::DbErrorKind,
    applied: &Applied,
) -> String {
    // What to do depends on what failed: a lost connection or a full disk is not the
    // revision's fault.
    let nothing_of_its_own = (step.transactional && transactional_ddl)
        || (!transactional_ddl && applied.before == 0 && applied.resumed == 0);
    // What records the failed statement as an earlier run's, should one have applied
    // it: the journal row, or for a revision's last statement (which the version table
    // records) the revision itself.
    let record_it = match (&applied.journal, statement) {
        (Some(journal), Some(failed))
            if applied.journal_found && !(step.transactional && transactional_ddl) =>
        {
            Some(if applied.before + 1 == step.statements.len() {
                format!(
                    "the revision is complete: record it with `aludel stamp {}`",
                    step.revision
                )
            } else {
                format!(
                    "record the statement as applied, then run the command again: {}",
                    record_as_applied(step, journal, applied.before, failed)
                )
            })
        }
        _ => None,
    };
    let predates =
        predates_its_migrations(step, done, kind, nothing_of_its_own, record_it.as_deref());
    let advice = predates.as_deref().unwrap_or(kind.advice());
    let at = |revs: &[String]| {
        if revs.is_empty() {
            "<base>".to_string()
        } else {
            revs.join(", ")
        }
    };
    let before_run = all.first().map(|s| at(&s.heads_before)).unwrap_or_default();
    // Why statements of the revision stay applied after a failure, where they do.
    let how = if transactional_ddl {
        "it runs outside a transaction"
    } else {
        "this database commits DDL immediately"
    };
    if kind == crate::driver::DbErrorKind::LockLost && applied.unrecorded == 0 {
        return lock_lost_outcome(step, statement, transactional_ddl, how, applied, &at);
    }
    if (!step.transactional || !transactional_ddl)
        && let (Some(journal), Some(failed)) = (&applied.journal, statement)
    {
        let n = step.statements.len();
        if applied.unrecorded > 0 {
            // One statement, or with the one sent while its row was being written.
            let (what, recording, them, they) = match step.statements.get(applied.before - 1) {
                Some(last) if applied.unrecorded > 1 => (
                    format!(
                        "the statement and those after it through line {} were",
                        last.line
                    ),
                    "the statement",
                    "those statements",
                    "they cannot run twice, make them",
                ),
                _ => (
                    "the statement was".to_string(),
                    "it",
                    "that statement",
                    "it cannot run twice, make it",
                ),
            };
            return format!(
                "{what} applied ({how}), but recording {recording} in the journal {journal} failed, so the journal records the {} before it; the version table is at {}: fix what stops the journal, then run the command again; the re-run resumes at line {} and sends {them} again: if {they} idempotent (IF NOT EXISTS) first",
                applied.before - applied.unrecorded,
                at(&step.heads_before),
                failed.line,
            );
        }
        // A statement that commits on its own and is then killed before the journal
        // records it is sent again by the re-run: "already exists" is the sign.
        // Only where the journal shows an earlier run stopped inside the revision:
        // without that, "already exists" has other causes (see `predates`).
        let resent = if applied.resumed > 0
            && applied.resumed == applied.before
            && kind == crate::driver::DbErrorKind::AlreadyExists
        {
            if applied.before + 1 == n {
                // The last statement is recorded by the version table itself.
                format!(
                    "; an earlier run may have applied this statement and stopped before recording it: if the database has what it makes, the revision is complete: record it with `aludel stamp {}`",
                    step.revision
                )
            } else {
                format!(
                    "; an earlier run may have applied this statement and stopped before recording it: if the database has what it makes, make the statement idempotent (IF NOT EXISTS) or record it as applied, then run the command again; to record it: {}",
                    record_as_applied(step, journal, applied.before, failed),
                )
            }
        } else {
            String::new()
        };
        if applied.before == 0 {
            return format!(
                "it was the revision's first statement: none of its statements ran before it; the version table is at {}; {}",
                at(&step.heads_before),
                stopped_before_recording(step, done, kind, journal, failed)
                    .unwrap_or_else(|| advice.to_string()),
            );
        }
        let (first, are) = first_statements(applied.before, n, failed.line);
        return format!(
            "{first} applied ({how}) and {are} recorded in the journal {journal}; the version table is at {}: {advice}; the re-run resumes at line {}: change that statement if it is what is wrong, not those before it{resent}",
            at(&step.heads_before),
            failed.line,
        );
    }
    if !step.transactional || !transactional_ddl {
        // The revision's first statement failed: none of its statements ran before it.
        let first = step.statements.first().map(|f| f.line);
        if let Some(s) = statement
            && Some(s.line) == first
        {
            return format!(
                "it was the revision's first statement: none of its statements ran before it; the version table is at {}; {advice}",
                at(&step.heads_before)
            );
        }
        let partial = match statement {
            Some(s) if s.line > 0 => format!(
                "statements before line {} of this revision were applied and are not rolled back ({how}); ",
                s.line,
            ),
            _ => String::new(),
        };
        let next = match predates {
            Some(p) => format!("{p} (after undoing what this revision applied)"),
            // The version table changed behind the run: its own advice.
            None if kind == crate::driver::DbErrorKind::VersionTableChanged => advice.to_string(),
            None => "repair the database by hand, then run the command again".to_string(),
        };
        if applied.recorded {
            // The change committed before the check: the table records the revision.
            return format!(
                "all {} statements of this revision were applied ({how}) and the version table records it, but it also holds rows this run did not write: {next}",
                step.statements.len(),
            );
        }
        if statement.is_none() && !step.statements.is_empty() {
            // Every statement ran and recording the revision failed: one of them may
            // have changed the version table itself, so only where it was is known.
            return format!(
                "all {} statements of this revision were applied ({how}), but the revision is not recorded; the version table was at {} before it: {next}",
                step.statements.len(),
                at(&step.heads_before)
            );
        }
        return format!(
            "{partial}the version table is at {}: {next}",
            at(&step.heads_before)
        );
    }
    if run_rolled_back {
        // A non-transactional revision committed what came before it; the run's
        // transaction restarted after it, so that is where the database stands.
        let Some(i) = done.iter().rposition(|s| !s.transactional) else {
            return format!(
                "the whole run was rolled back: the database is as before, at {before_run}; {advice}"
            );
        };
        let heads = done
            .get(i + 1)
            .map_or(&step.heads_before, |s| &s.heads_before);
        return format!(
            "the revisions after {} (which ran outside a transaction) were rolled back: the database is at {}; {advice}",
            done[i].revision,
            at(heads)
        );
    }
    format!(
        "the revision was rolled back: the database is at {}; {advice}",
        at(&step.heads_before)
    )
}

/// What a run that found its lock lost before sending `statement` (or, with none,
/// before recording the revision) left: what of the revision was applied, where the
/// version table is, and that a re-run resumes there.
fn lock_lost_outcome(
    step: &PreparedStep,
    statement: &Option<Statement>,
    transactional_ddl: bool,
    how: &str,
    applied: &Applied,
    at: &dyn Fn(&[String]) -> String,
) -> String {
    let advice = crate::driver::DbErrorKind::LockLost.advice();
    let heads = at(&step.heads_before);
    let n = step.statements.len();
    let lost = "the run lock was lost, or its connection did not answer (another run may have taken it), so the run stopped";
    let Some(next) = statement else {
        return format!(
            "{lost} before recording the revision in the version table, which is at {heads}; {advice}"
        );
    };
    if step.transactional && transactional_ddl {
        return format!(
            "{lost} before sending the revision: none of its statements ran; the version table is at {heads}; {advice}"
        );
    }
    if applied.before == 0 {
        return format!(
            "{lost} before sending this statement, the revision's first: none of its statements ran; the version table is at {heads}; {advice}"
        );
    }
    let (first, are) = first_statements(applied.before, n, next.line);
    let journal = applied
        .journal
        .as_deref()
        .map(|j| format!(" and {are} recorded in the journal {j}"))
        .unwrap_or_default();
    format!(
        "{lost} before sending this statement: {first} applied ({how}){journal}; the version table is at {heads}; {advice}, resuming at line {}",
        next.line
    )
}

/// The first `k` of a revision's `n` statements, those before `line`, as the subject
/// of a sentence with its verb ("statements 1-3 of this revision's 5 (before line 9)
/// were"), and the verb again for the rest of it.
fn first_statements(k: usize, n: usize, line: usize) -> (String, &'static str) {
    if k == 1 {
        (
            format!("statement 1 of this revision's {n} (before line {line}) was"),
            "is",
        )
    } else {
        (
            format!("statements 1-{k} of this revision's {n} (before line {line}) were"),
            "are",
        )
    }
}

/// One line for a log, worded as the `aludel` command's progress lines (without
/// their level): `Running upgrade a -> b, add users` when a revision starts,
/// `Finished upgrade a -> b (12 ms)` when it is recorded. A failed connection
/// attempt ([`Event::ConnectFailed`]) is the one event worth a warning level.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = |d: &Duration| format!("{:.1} s", d.as_secs_f64());
        match self {
            Event::ConnectFailed {
                attempt,
                of,
                error,
                retry_in,
                backoff,
                total_wait,
            } => write!(
                f,
                "{error} (attempt {attempt} of {of}); retrying in {} ({}: {} of waiting in all)",
                seconds(retry_in),
                match backoff {
                    Backoff::Fixed => "the same wait each time",
                    _ => "the wait doubles each time, up to 60 s",
                },
                seconds(total_wait)
            ),
            Event::WaitingForLock { holder, timeout } => write!(
                f,
                "Waiting for the migration lock held by {} (up to {})",
                holder.as_deref().unwrap_or("another run"),
                seconds(timeout)
            ),
            Event::LockAcquired { waited } => {
                write!(f, "Took the migration lock after {}", seconds(waited))
            }
            Event::StepStarted { description, .. } => f.write_str(description),
            Event::StatementStarted { line, excerpt, .. } => {
                write!(f, "Running the statement at line {line}: {excerpt}")
            }
            Event::StepResumed {
                revision,
                line,
                applied,
            } => write!(
                f,
                "Resuming revision {revision} at line {line}: an earlier run applied its first {applied} statement{} (the journal records {})",
                if *applied == 1 { "" } else { "s" },
                if *applied == 1 { "it" } else { "them" }
            ),
            Event::StepFinished {
                summary,
                elapsed,
                committed,
                ..
            } => {
                write!(f, "Finished {summary} ({} ms)", elapsed.as_millis())?;
                if !committed {
                    f.write_str(", to be committed with the run")?;
                }
                Ok(())
            }
            Event::LockNotReleased { error, released } => write!(
                f,
                "Could not release the migration lock ({error}); {}",
                if *released {
                    "the session that held it is gone, and the lock with it"
                } else {
                    "the server releases it when that session ends"
                }
            ),
            Event::ShadowNotDropped { shadow } => {
                write!(f, "Could not drop the shadow database {shadow}")
            }
            Event::NothingToDo { message } => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rev: &str, from: &[&str], transactional: bool, sql: &[&str]) -> PreparedStep {
        PreparedStep {
            revision: rev.into(),
            heads_before: from.iter().map(|s| s.to_string()).collect(),
            description: format!("Running upgrade {} -> {rev}, make {rev}", from.join(", ")),
            comment: format!("Running upgrade {} -> {rev}", from.join(", ")),
            message: format!("make {rev}"),
            direction: Direction::Upgrade,
            path: PathBuf::from(format!("v/{rev}.sql")),
            transactional,
            statements: sql
                .iter()
                .enumerate()
                .map(|(i, s)| Statement {
                    sql: s.to_string(),
                    line: 6 + i,
                })
                .collect(),
            version_sql: vec![format!("UPDATE v SET version_num = '{rev}'")],
            rows_after: vec![rev.to_string()],
        }
    }

    #[test]
    fn a_step_resumes_after_the_statements_its_journal_records() {
        let s = step(
            "a",
            &[],
            false,
            &[
                "CREATE TABLE a (x int)",
                "CREATE TABLE b (x int)",
                "SELECT 1",
            ],
        );
        let entry = |i: usize| format!("{i}:{}", render::Journal::hash(&s.statements[i].sql));
        assert_eq!(resume_point(&s, &[], "j").unwrap(), 0);
        assert_eq!(resume_point(&s, &[entry(0), entry(1)], "j").unwrap(), 2);
        // A statement changed since it was applied.
        let changed = resume_point(&s, &[entry(0), "1:0000000000000000".into()], "j").unwrap_err();
        assert!(
            changed.what.contains("statement 2 (line 7)"),
            "{}",
            changed.what
        );
        // Rows out of order, or as many as the statements (the last is never recorded).
        assert!(resume_point(&s, &[entry(1)], "j").is_err());
        assert!(resume_point(&s, &[entry(0), entry(1), entry(2)], "j").is_err());
        assert!(
            changed
                .to_string()
                .contains("DELETE FROM j WHERE revision = 'a' AND direction = 'upgrade'")
        );
    }

    #[test]
    fn a_resumed_step_offline_is_the_whole_step() {
        // Offline there is no journal: every statement is written.
        let steps = [step(
            "a",
            &[],
            false,
            &["CREATE TABLE a (x int)", "CREATE TABLE b (x int)"],
        )];
        let text = offline(&steps, TransactionPolicy::PerMigration, Dialect::Mysql);
        assert!(
            text.contains("CREATE TABLE a (x int);") && text.contains("CREATE TABLE b (x int);"),
            "{text}"
        );
        assert!(!text.contains("journal"), "{text}");
    }

    fn offline(steps: &[PreparedStep], policy: TransactionPolicy, dialect: Dialect) -> String {
        let mut sink = SqlText::for_dialect(dialect);
        apply_steps(&mut sink, dialect, steps, policy, &mut |_| {}).unwrap();
        sink.into_string()
    }

    #[test]
    fn per_migration_frames_each_revision() {
        let steps = [
            step("a", &[], true, &["CREATE TABLE a (x int)"]),
            step("b", &["a"], true, &[]),
        ];
        assert_eq!(
            offline(&steps, TransactionPolicy::PerMigration, Dialect::Postgres),
            "-- Running upgrade  -> a\n\nBEGIN;\n\nCREATE TABLE a (x int);\n\nUPDATE v SET version_num = 'a';\n\nCOMMIT;\n\n\
             -- Running upgrade a -> b\n\nBEGIN;\n\nUPDATE v SET version_num = 'b';\n\nCOMMIT;\n\n"
        );
    }

    #[test]
    fn whole_run_commits_around_a_non_transactional_revision() {
        let steps = [
            step("a", &[], true, &["S1"]),
            step(
                "b",
                &["a"],
                false,
                &["CREATE INDEX CONCURRENTLY i ON a (x)"],
            ),
            step("c", &["b"], true, &["S3"]),
        ];
        let text = offline(&steps, TransactionPolicy::WholeRun, Dialect::Postgres);
        let framing: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("--") && !l.is_empty())
            .map(|l| l.trim_end_matches(';'))
            .collect();
        assert_eq!(
            framing,
            [
                "BEGIN",
                "S1",
                "UPDATE v SET version_num = 'a'",
                "COMMIT",
                "CREATE INDEX CONCURRENTLY i ON a (x)",
                "UPDATE v SET version_num = 'b'",
                "BEGIN",
                "S3",
                "UPDATE v SET version_num = 'c'",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn a_whole_run_ending_with_a_non_transactional_revision_leaves_no_empty_transaction() {
        let steps = [
            step("a", &[], true, &["S1"]),
            step(
                "b",
                &["a"],
                false,
                &["CREATE INDEX CONCURRENTLY i ON a (x)"],
            ),
        ];
        let text = offline(&steps, TransactionPolicy::WholeRun, Dialect::Postgres);
        assert_eq!(
            text,
            "BEGIN;\n\n-- Running upgrade  -> a\n\nS1;\n\nUPDATE v SET version_num = 'a';\n\nCOMMIT;\n\n\
             -- Running upgrade a -> b\n\nCREATE INDEX CONCURRENTLY i ON a (x);\n\nUPDATE v SET version_num = 'b';\n\n"
        );
    }

    #[test]
    fn mysql_compound_statements_are_delimited_for_its_client() {
        let body =
            "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW\nBEGIN\n    SET NEW.x = 1;\nEND";
        let steps = [step(
            "a",
            &[],
            true,
            &["CREATE TABLE a (x varchar(9) DEFAULT 'a;b')", body],
        )];
        let text = offline(&steps, TransactionPolicy::PerMigration, Dialect::Mysql);
        assert!(
            text.contains(&format!(
                "CREATE TABLE a (x varchar(9) DEFAULT 'a;b');\n\nDELIMITER $$\n{body}\n$$\nDELIMITER ;\n\n"
            )),
            "{text}"
        );
        // psql and SQLite send a body whole.
        let text = offline(&steps, TransactionPolicy::PerMigration, Dialect::Postgres);
        assert!(!text.contains("DELIMITER"), "{text}");
        let mut sink = SqlText::for_dialect(Dialect::Mysql);
        sink.statement("CREATE PROCEDURE p() BEGIN SELECT '$$'; END");
        assert_eq!(
            sink.into_string(),
            "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT '$$'; END\n//\nDELIMITER ;\n\n"
        );
    }

    #[test]
    fn a_semicolon_is_seen_past_quotes_in_comments() {
        for (sql, has) in [
            ("CREATE TABLE a (x varchar(9) DEFAULT 'a;b')", false),
            ("SELECT `a;b`, \"c;d\", 'it\\'s;'", false),
            // A quote in a comment opens no string: the `;` after it counts.
            ("BEGIN\n  -- don't\n  SET NEW.x = 1;\nEND", true),
            ("BEGIN\n  # it's\n  SET NEW.x = 1;\nEND", true),
            ("BEGIN /* o'clock */ SET NEW.x = 1; END", true),
            // One inside a comment counts too: the client reads comments itself.
            ("SELECT 1 -- a; b", true),
            ("SELECT 1 /* a; b */", true),
            ("SELECT 1 - -1", false),
        ] {
            assert_eq!(has_unquoted_semicolon(sql), has, "{sql}");
        }
    }

    #[test]
    fn mysql_has_no_transaction_framing() {
        let steps = [step("a", &[], true, &["CREATE TABLE a (x int)"])];
        let text = offline(&steps, TransactionPolicy::PerMigration, Dialect::Mysql);
        assert!(
            !text.contains("BEGIN") && !text.contains("START TRANSACTION"),
            "{text}"
        );
    }

    struct FailingSink {
        log: Vec<String>,
        fail_on: &'static str,
    }

    impl Sink for FailingSink {
        fn begin(&mut self, _: Dialect, _: bool) -> Result<(), DbError> {
            self.log.push("BEGIN".into());
            Ok(())
        }
        fn commit(&mut self) -> Result<(), DbError> {
            self.log.push("COMMIT".into());
            Ok(())
        }
        fn rollback(&mut self) -> Result<(), DbError> {
            self.log.push("ROLLBACK".into());
            Ok(())
        }
        fn run(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
            for (index, s) in statements.iter().enumerate() {
                if *s == self.fail_on {
                    let mut error = DbError::new("ERROR: boom");
                    if s.starts_with("LOCKS") {
                        error.kind = crate::driver::DbErrorKind::TooManyLocks;
                    }
                    return Err(StatementFailure { index, error });
                }
                self.log.push(s.to_string());
            }
            Ok(())
        }
        fn record(&mut self, statements: &[&str], _: &[String]) -> Result<(), DbError> {
            self.log.extend(statements.iter().map(|s| s.to_string()));
            Ok(())
        }
        fn comment(&mut self, _: &str) {}
    }

    #[test]
    fn a_failure_rolls_back_and_names_revision_file_line_and_statement() {
        let steps = [
            step("a", &[], true, &["S1"]),
            step("b", &["a"], true, &["S2", "BAD"]),
            step("c", &["b"], true, &["S3"]),
        ];
        let mut sink = FailingSink {
            log: vec![],
            fail_on: "BAD",
        };
        let err = apply_steps(
            &mut sink,
            Dialect::Postgres,
            &steps,
            TransactionPolicy::PerMigration,
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(sink.log.last().map(String::as_str), Some("ROLLBACK"));
        assert!(!sink.log.contains(&"S3".to_string()));
        let text = err.to_string();
        assert_eq!(
            text,
            "upgrade of revision b failed (make b)\n  file: v/b.sql:7\n  statement: BAD\n  the revision was rolled back: the database is at a; fix the revision and run the command again"
        );
        // The database's error is the source, printed once, after the rest.
        let db = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<DbError>());
        assert_eq!(db.map(DbError::message), Some("ERROR: boom"));
        assert_eq!(
            crate::report::error_text(&err),
            format!("{text}\n  database error: ERROR: boom")
        );
    }

    /// A sink on a database that commits each statement by itself, whose run lock
    /// is lost once `lock_for` statements were sent.
    struct LosingSink {
        sent: Vec<String>,
        lock_for: usize,
    }

    impl Sink for LosingSink {
        fn begin(&mut self, _: Dialect, _: bool) -> Result<(), DbError> {
            Ok(())
        }
        fn commit(&mut self) -> Result<(), DbError> {
            Ok(())
        }
        fn rollback(&mut self) -> Result<(), DbError> {
            Ok(())
        }
        fn check_lock(&mut self) -> Result<(), StatementFailure> {
            if self.sent.len() < self.lock_for {
                return Ok(());
            }
            let error = DbError::aludel("the migration lock was lost")
                .with_kind(crate::driver::DbErrorKind::LockLost);
            Err(StatementFailure { index: 0, error })
        }
        fn run(&mut self, statements: &[&str]) -> Result<(), StatementFailure> {
            self.sent.extend(statements.iter().map(|s| s.to_string()));
            Ok(())
        }
        fn record(&mut self, statements: &[&str], _: &[String]) -> Result<(), DbError> {
            self.sent.extend(statements.iter().map(|s| s.to_string()));
            Ok(())
        }
        fn comment(&mut self, _: &str) {}
    }

    #[test]
    fn a_lost_lock_stops_the_run_before_the_next_statement_saying_what_was_applied() {
        let steps = [step("a", &[], true, &["S1", "S2", "S3"])];
        let run = |lock_for: usize| {
            let mut sink = LosingSink {
                sent: vec![],
                lock_for,
            };
            let mut announced = Vec::new();
            let err = apply_steps(
                &mut sink,
                Dialect::Mysql,
                &steps,
                TransactionPolicy::PerMigration,
                &mut |e| {
                    if let Event::StatementStarted { line, .. } = e {
                        announced.push(line);
                    }
                },
            )
            .unwrap_err();
            (sink.sent, announced, err.to_string())
        };
        let (sent, announced, text) = run(2);
        // Nothing after the loss is sent, nor announced as running.
        assert_eq!(sent, ["S1", "S2"]);
        assert_eq!(announced, [6, 7]);
        assert!(
            text.ends_with("statement: S3\n  the run lock was lost, or its connection did not answer (another run may have taken it), so the run stopped before sending this statement: statements 1-2 of this revision's 3 (before line 8) were applied (this database commits DDL immediately); the version table is at <base>; running the command again is safe: it takes the lock again, reads where the database is and continues from there, resuming at line 8"),
            "{text}"
        );
        let (sent, _, text) = run(0);
        assert!(sent.is_empty(), "{sent:?}");
        assert!(
            text.contains("so the run stopped before sending this statement, the revision's first: none of its statements ran; the version table is at <base>;"),
            "{text}"
        );
    }

    #[test]
    fn running_out_of_lock_slots_in_a_whole_run_names_both_settings() {
        let steps = [
            step("a", &[], true, &["S1"]),
            step("b", &["a"], true, &["LOCKS"]),
        ];
        for (policy, hinted) in [
            (TransactionPolicy::WholeRun, true),
            (TransactionPolicy::PerMigration, false),
        ] {
            let mut sink = FailingSink {
                log: vec![],
                fail_on: "LOCKS",
            };
            let err =
                apply_steps(&mut sink, Dialect::Postgres, &steps, policy, &mut |_| {}).unwrap_err();
            let err = crate::report::error_text(&err);
            assert_eq!(
                err.contains("max_locks_per_transaction")
                    && err.contains("transaction_per_migration = true"),
                hinted,
                "{err}"
            );
        }
    }

    #[test]
    fn a_whole_run_failure_says_everything_was_rolled_back() {
        let steps = [
            step("a", &[], true, &["S1"]),
            step("b", &["a"], true, &["BAD"]),
        ];
        let mut sink = FailingSink {
            log: vec![],
            fail_on: "BAD",
        };
        let err = apply_steps(
            &mut sink,
            Dialect::Sqlite,
            &steps,
            TransactionPolicy::WholeRun,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("the whole run was rolled back: the database is as before, at <base>"),
            "{err}"
        );
    }

    #[test]
    fn half_applied_counts_the_first_revision_with_upgrade_rows() {
        let rows: Vec<String> = [
            "r2 downgrade 0:aa",
            "r1 upgrade 0:bb",
            "r1 upgrade 1:cc",
            "r3 upgrade 0:dd",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            half_applied(&rows),
            Some((
                "r1".to_string(),
                vec!["0:bb".to_string(), "1:cc".to_string()]
            ))
        );
        assert_eq!(half_applied(&rows[..1]), None);
        assert_eq!(half_applied(&[]), None);
    }
}
