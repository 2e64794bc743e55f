//! An error in full, for a person: the error's own text, then each cause it leaves
//! to [`std::error::Error::source`] rather than printing itself.
//!
//! aludel's errors print a cause in their message or return it as their source,
//! never both; the errors of a run, autogenerate and check return a database's error
//! ([`DbError`]) as their source, so that a caller can reach it
//! (`error.source()?.downcast_ref::<DbError>()`), its code and kind included. Printing an error with `{}` alone
//! leaves such causes out: [`error_text`] is what the `aludel` binary prints.

use std::error::Error;

use crate::driver::{DbError, DbErrorKind};
use crate::text;

/// `error` and the causes it does not print itself. A one-line error and a one-line
/// cause read `error: cause`; after a message of several lines, each cause is a line
/// of its own, `database error: …` for the database's text (its detail and hint
/// lines indented under it), `check: …` for a version table found changed, `cause: …`
/// for anything else aludel found rather than the database reported.
///
/// ```
/// use aludel::driver::DbError;
/// use aludel::runner::RunError;
///
/// let error = RunError::Database {
///     doing: "reading the version table aludel_version".into(),
///     error: DbError::new("permission denied for table aludel_version"),
/// };
/// assert_eq!(error.to_string(), "reading the version table aludel_version");
/// assert_eq!(
///     aludel::report::error_text(&error),
///     "reading the version table aludel_version: permission denied for table aludel_version"
/// );
/// ```
pub fn error_text(error: &(dyn Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let (label, body) = match c.downcast_ref::<DbError>() {
            Some(db) if db.from_database() => ("database error", text::message(db.message())),
            Some(db) if db.kind() == DbErrorKind::VersionTableChanged => {
                ("check", text::message(db.message()))
            }
            Some(db) => ("cause", text::message(db.message())),
            None => ("cause", c.to_string()),
        };
        if out.contains('\n') || body.contains('\n') {
            out.push_str("\n  ");
            out.push_str(label);
            out.push_str(": ");
            out.push_str(&body.replace('\n', "\n    "));
        } else {
            out.push_str(": ");
            out.push_str(&body);
        }
        cause = c.source();
    }
    out
}
