//! The run lock on a connection of its own. The named lock (`GET_LOCK`) is held by a
//! session that runs none of the revisions' statements, so that losing the working
//! session (and the runner's recovery, which ends it) neither frees the lock nor
//! keeps it wrongly. Besides asking after the lock, that session writes the journal's
//! rows while the working session runs the next statement ([`Keeper::record`]).
//!
//! Once taken, the lock's connection belongs to a small thread (the keeper) that asks
//! the server every few seconds whether the session still holds it. That keeps the
//! session busy, so its `wait_timeout` can be short: if aludel vanishes (its host
//! lost, a proxy frozen), the server ends the session, and the lock with it, within
//! about a minute. The runner asks the keeper before each statement and transaction
//! it sends, and after each read of the version table ([`Keeper::check`], which asks
//! the server when its last answer is older than the runner allows); a lock found
//! lost (the session killed, timed out, cut) is reported as such, never assumed held.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mysql::Conn;
use mysql::prelude::Queryable;

use super::{connect_failure, db_error, error_kind, literal, run_to_the_end, text_of};
use crate::driver::{DbError, DbErrorKind};

/// How often the keeper asks whether its session still holds the lock.
pub(super) const PING_EVERY: Duration = Duration::from_secs(5);

/// The lock session's settings: short enough that a session aludel no longer talks to
/// (its host gone, a frozen proxy between them) ends, and frees the lock, within
/// about a minute; long enough that the keeper's pings, every [`PING_EVERY`], keep it.
/// Autocommit too, whatever the server's default: a journal row written here commits
/// by itself. REPEATABLE READ, whatever the server's default: a journal row written
/// unless the version table records its revision reads that table with a locking
/// read, which waits for a change of it under way on the working session.
pub(super) const SESSION_SETTINGS: &str = "SET SESSION wait_timeout = 60, net_read_timeout = 60, net_write_timeout = 60, autocommit = 1;\nSET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ";

/// What the driver asks of the keeper; each gets its answer on the channel it carries.
enum Request {
    /// Whether the session still holds the lock.
    Check(SyncSender<Result<(), String>>),
    /// Release the lock and close the connection.
    Release(SyncSender<Result<(), String>>),
    /// Run a statement that commits by itself (a journal row) on the lock's session,
    /// while the working session runs the next one.
    Record(String, SyncSender<Result<(), String>>),
}

/// The thread that owns the lock's connection while the lock is held. Dropped, it
/// lets the thread go: the thread sees its requests end, closes the connection and
/// stops, and the server releases the lock with the session. Not waited for: a
/// frozen connection must not hold up the caller.
pub(super) struct Keeper {
    /// The lock's name.
    name: String,
    /// The server's id of the lock's session.
    id: u32,
    requests: Sender<Request>,
    /// Why the lock was found lost, once it was (by a ping, between requests).
    lost: Arc<Mutex<Option<String>>>,
    /// When the server last said the session holds the lock.
    held_at: Arc<Mutex<Instant>>,
    /// How long an answer may take (the connection's read timeout bounds each of the
    /// keeper's queries): a lock whose session does not answer within it is taken as
    /// lost, which stops the run rather than letting it go on unsure.
    answer_within: Duration,
    /// The answer to the [`Request::Record`] under way, if one is.
    recording: Option<Receiver<Result<(), String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Hands `conn`, whose session holds the lock `name`, to a new keeper thread.
    pub(super) fn start(
        conn: Conn,
        name: String,
        response_timeout: Duration,
    ) -> Result<Keeper, DbError> {
        let id = conn.connection_id();
        let (requests, inbox) = mpsc::channel();
        let lost = Arc::new(Mutex::new(None));
        // Just taken: held as of now.
        let held_at = Arc::new(Mutex::new(Instant::now()));
        let thread = std::thread::Builder::new()
            .name("aludel-mysql-lock".into())
            .spawn({
                let (name, lost, held_at) = (name.clone(), Arc::clone(&lost), Arc::clone(&held_at));
                move || keep(conn, &name, response_timeout, &inbox, &lost, &held_at)
            })
            .map_err(|e| {
                DbError::aludel(format!(
                    "could not start the thread that keeps the migration lock: {e}"
                ))
            })?;
        Ok(Keeper {
            name,
            id,
            requests,
            lost,
            held_at,
            // A check may wait behind a ping, each bounded by the response timeout.
            answer_within: 2 * response_timeout + Duration::from_secs(1),
            recording: None,
            thread: Some(thread),
        })
    }

    /// `Ok` when the session still holds the lock, as the server said within the last
    /// `max_age` or says now; an error of kind [`DbErrorKind::LockLost`] saying why
    /// not.
    pub(super) fn check(&self, max_age: Duration) -> Result<(), DbError> {
        let fresh = self
            .held_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
            < max_age;
        let lost = self
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some();
        if fresh && !lost {
            return Ok(());
        }
        self.ask(Request::Check)
            .map_err(|why| self.lost_error(&why))
    }

    /// Releases the lock and closes its connection (the server would release it with
    /// the session anyway). An error when the session no longer held it.
    pub(super) fn release(mut self) -> Result<(), DbError> {
        let answer = self.ask(Request::Release);
        // The thread has answered and is closing the connection: a quick wait, which
        // makes "released" mean the connection is closed as well.
        if answer.is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
        answer.map_err(|why| self.lost_error(&why))
    }

    /// Starts `sql` on the lock's session; `false` when the keeper has stopped (the
    /// lock is lost, which the next check says) or a record is already under way.
    pub(super) fn record(&mut self, sql: &str) -> bool {
        if self.recording.is_some() {
            return false;
        }
        let (reply, answer) = mpsc::sync_channel(1);
        if self
            .requests
            .send(Request::Record(sql.to_string(), reply))
            .is_err()
        {
            return false;
        }
        self.recording = Some(answer);
        true
    }

    /// How the statement [`Keeper::record`] started went (`Ok` when none is under way).
    pub(super) fn recorded_done(&mut self) -> Result<(), String> {
        match self.recording.take() {
            Some(answer) => self.wait(&answer),
            None => Ok(()),
        }
    }

    fn ask(
        &self,
        request: impl FnOnce(SyncSender<Result<(), String>>) -> Request,
    ) -> Result<(), String> {
        let (reply, answer) = mpsc::sync_channel(1);
        if self.requests.send(request(reply)).is_err() {
            return Err(self.recorded());
        }
        self.wait(&answer)
    }

    /// The keeper's answer on `answer`, given within [`Keeper::answer_within`].
    fn wait(&self, answer: &Receiver<Result<(), String>>) -> Result<(), String> {
        match answer.recv_timeout(self.answer_within) {
            Ok(result) => result,
            Err(RecvTimeoutError::Disconnected) => Err(self.recorded()),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "connection {} did not answer within {} s",
                self.id,
                self.answer_within.as_secs()
            )),
        }
    }

    /// Why the keeper stopped, as it recorded.
    fn recorded(&self) -> String {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| format!("connection {} is closed", self.id))
    }

    fn lost_error(&self, why: &str) -> DbError {
        DbError::aludel(format!(
            "the migration lock {} is no longer known to be held: {why}",
            self.name
        ))
        .with_kind(DbErrorKind::LockLost)
    }
}

/// The keeper's loop: answers requests, and between them asks the server every
/// [`PING_EVERY`] whether the session still holds the lock (each query bounded by the
/// connection's `read_timeout`). Returns (closing the
/// connection) once the lock is released or found lost, or the driver is gone.
fn keep(
    mut conn: Conn,
    name: &str,
    read_timeout: Duration,
    inbox: &Receiver<Request>,
    lost: &Mutex<Option<String>>,
    held_at: &Mutex<Instant>,
) {
    let id = conn.connection_id();
    let held = format!("SELECT IS_USED_LOCK({}) = CONNECTION_ID()", literal(name));
    let still_held = |conn: &mut Conn| -> Result<(), String> {
        let asked = Instant::now();
        let answer: Option<mysql::Value> = conn
            .query_first(&held)
            .map_err(|e| gone(id, e, asked.elapsed(), read_timeout))?;
        match answer.as_ref().map(text_of).as_deref() {
            Some("1") => {
                *held_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = asked;
                Ok(())
            }
            _ => Err(format!("connection {id} no longer holds it")),
        }
    };
    let record = |why: &str| {
        *lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why.to_string());
    };
    loop {
        match inbox.recv_timeout(PING_EVERY) {
            Ok(Request::Check(reply)) => {
                let answer = still_held(&mut conn);
                if let Err(why) = &answer {
                    record(why);
                }
                let stop = answer.is_err();
                let _ = reply.send(answer);
                if stop {
                    return;
                }
            }
            Ok(Request::Release(reply)) => {
                let sql = format!("SELECT RELEASE_LOCK({})", literal(name));
                // 1: released; 0: another session holds it; NULL: nobody did.
                let asked = Instant::now();
                let answer = match conn.query_first::<mysql::Value, _>(&sql) {
                    Ok(Some(v)) if text_of(&v) == "1" => Ok(()),
                    Ok(_) => Err(format!("connection {id} no longer held it")),
                    Err(e) => Err(gone(id, e, asked.elapsed(), read_timeout)),
                };
                if let Err(why) = &answer {
                    record(why);
                }
                let _ = reply.send(answer);
                return;
            }
            Ok(Request::Record(sql, reply)) => {
                let asked = Instant::now();
                let answer = match run_to_the_end(&mut conn, &sql) {
                    Ok(()) => Ok(()),
                    // The server refused the statement (in the driver's own words):
                    // whether the session still holds the lock is asked at once.
                    Err(mysql::Error::MySqlError(e))
                        if error_kind(e.code) != DbErrorKind::ConnectionLost =>
                    {
                        Err(db_error(mysql::Error::MySqlError(e)).message)
                    }
                    // The session ended, or did not answer in time (its connection
                    // cannot be used after that): the lock goes with it.
                    Err(e) => {
                        let why = gone(id, e, asked.elapsed(), read_timeout);
                        record(&why);
                        let _ = reply.send(Err(why));
                        return;
                    }
                };
                let refused = answer.is_err();
                let _ = reply.send(answer);
                if refused && let Err(why) = still_held(&mut conn) {
                    record(&why);
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(why) = still_held(&mut conn) {
                    record(&why);
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Why the lock's session `id` is taken as gone after a query on it failed with `e`
/// after `waited`: past the read timeout `limit`, the session did not answer (it may
/// live on behind a frozen proxy, until the server's wait_timeout ends it); sooner,
/// it ended.
fn gone(id: u32, e: mysql::Error, waited: Duration, limit: Duration) -> String {
    if waited >= limit {
        format!(
            "connection {id}, which held it, did not answer within {} s",
            limit.as_secs()
        )
    } else {
        format!(
            "connection {id}, which held it, ended ({})",
            connect_failure(&e).0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_that_did_not_answer_in_time_is_told_from_one_that_ended() {
        let error = || mysql::Error::IoError(std::io::Error::other("os error 11"));
        let limit = Duration::from_secs(2);
        assert_eq!(
            gone(12, error(), Duration::from_secs(2), limit),
            "connection 12, which held it, did not answer within 2 s"
        );
        assert_eq!(
            gone(12, error(), Duration::from_millis(5), limit),
            "connection 12, which held it, ended (os error 11)"
        );
    }
}
