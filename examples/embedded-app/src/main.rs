//! An application that carries its migrations in its binary.
//!
//! `embedded-app` applies the embedded revisions to `DATABASE_URL` (default
//! `sqlite:///embedded-app.db`, in the working directory) at start-up, logging each
//! step, then goes about its work. `embedded-app --check` migrates nothing: it exits 1
//! with a message when the database is not at this build's head, for deployments
//! where migrating is a separate step (`aludel upgrade head`, an init container).
//!
//! It is a tokio program, as most services are, so it calls the `_async` forms
//! (`upgrade_async`, `ensure_at_head_async`): the run happens on tokio's blocking
//! threads and the runtime's workers stay free for the rest of the program.

use std::process::ExitCode;

use aludel::migrator::{Error, Migrator};
use aludel::runner::Event;

const USAGE: &str = "usage: embedded-app [--check]
  (no option)  apply the embedded migrations to DATABASE_URL, then start
  --check      only check that DATABASE_URL is at this build's head; exit 1 if not";

const DEFAULT_URL: &str = "sqlite:///embedded-app.db";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The library reads no environment; the application decides where the URL comes
    // from.
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let result = if check {
        check_only(&url).await
    } else {
        start(&url).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The database's own error, when there is one, is the source: printed after.
            eprintln!("error: {}", aludel::report::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// The revision files, compiled in; checked when the migrator is built.
fn migrator() -> Result<Migrator, Error> {
    Migrator::embedded(aludel::embed_migrations!("migrations"))
}

/// Each event as one log line; a failed connection attempt is a warning.
fn log(event: Event) {
    let level = match event {
        Event::ConnectFailed { .. } => "WARN",
        _ => "INFO",
    };
    eprintln!("{level:<5} {event}");
}

async fn start(url: &str) -> Result<(), Error> {
    let migrator = migrator()?;
    let at = migrator.upgrade_async(url, "head", log).await?;
    // The application's own work would start here, on a database known to fit it.
    println!("ready at {}", at.join(", "));
    Ok(())
}

async fn check_only(url: &str) -> Result<(), Error> {
    let migrator = migrator()?;
    migrator.ensure_at_head_async(url, log).await?;
    println!("the database is at head ({})", migrator.heads().join(", "));
    Ok(())
}
