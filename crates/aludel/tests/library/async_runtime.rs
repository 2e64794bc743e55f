//! The application API from async code: the blocking calls made inside a tokio
//! runtime (both flavours), and the `_async` calls, on SQLite, PostgreSQL and MariaDB. A
//! `#[tokio::main]` or `#[tokio::test]` body is a future run by `block_on` on such a
//! runtime; these tests build the runtime the same way, so that the test database is
//! made and dropped outside it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aludel::migrator::{Error, Migrator};
use aludel::runner::Event;
use aludel_testkit::{Backend, on_all, test_db};

const R2: &str = "44dd55ee66ff";
const R3: &str = "77aa88bb99cc";

fn migrator() -> Migrator {
    Migrator::embedded(aludel::embed_migrations!("tests/fixtures/embedded")).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Flavor {
    /// `#[tokio::main]`'s default.
    MultiThread,
    /// `#[tokio::main(flavor = "current_thread")]`, `#[tokio::test]`'s default.
    CurrentThread,
}

fn runtime(flavor: Flavor) -> tokio::runtime::Runtime {
    match flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    }
}

/// The blocking calls, made straight from async code: upgrade, read, check, step
/// down and back up; each connection is opened and dropped inside the runtime.
fn blocking_calls_inside(flavor: Flavor, backend: Backend) {
    let t = test_db(backend);
    let m = migrator();
    runtime(flavor).block_on(async {
        let mut q = |_: Event| {};
        let e = m.ensure_at_head(&t.url, &mut q).unwrap_err();
        assert!(matches!(e, Error::NotAtHead { .. }), "{e:?}");
        assert_eq!(m.upgrade(&t.url, "head", &mut q).unwrap(), [R3]);
        assert_eq!(m.current(&t.url, &mut q).unwrap(), [R3]);
        m.ensure_at_head(&t.url, &mut q).unwrap();
        assert_eq!(m.downgrade(&t.url, "-1", &mut q).unwrap(), [R2]);
        // The runtime still runs other tasks after the calls.
        let task = tokio::spawn(async { 7 });
        assert_eq!(task.await.unwrap(), 7);
        assert_eq!(m.upgrade(&t.url, "head", &mut q).unwrap(), [R3]);
    });
    assert_eq!(t.db.version_rows(), [R3]);
    assert_eq!(t.db.tables(), ["aludel_version", "one", "two"]);
}

fn blocking_calls_work_inside_a_multi_thread_runtime(backend: Backend) {
    blocking_calls_inside(Flavor::MultiThread, backend);
}

fn blocking_calls_work_inside_a_current_thread_runtime(backend: Backend) {
    blocking_calls_inside(Flavor::CurrentThread, backend);
}

/// The `_async` calls, with events sent from the blocking thread.
fn async_calls_inside(flavor: Flavor, backend: Backend) {
    let t = test_db(backend);
    let m = migrator();
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = {
        let events = Arc::clone(&events);
        move |event: Event| events.lock().unwrap().push(event.to_string())
    };
    runtime(flavor).block_on(async {
        let e = m.ensure_at_head_async(&t.url, |_| {}).await.unwrap_err();
        assert!(matches!(e, Error::NotAtHead { .. }), "{e:?}");
        // Other tasks go on while a run is under way.
        let ticker = tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            1
        });
        assert_eq!(m.upgrade_async(&t.url, "head", log).await.unwrap(), [R3]);
        assert_eq!(ticker.await.unwrap(), 1);
        m.ensure_at_head_async(&t.url, |_| {}).await.unwrap();
        assert_eq!(m.current_async(&t.url, |_| {}).await.unwrap(), [R3]);
        assert_eq!(
            m.downgrade_async(&t.url, "base", |_| {}).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(m.upgrade_async(&t.url, "head", |_| {}).await.unwrap(), [R3]);
    });
    let events = events.lock().unwrap();
    let finished: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("Finished upgrade"))
        .collect();
    assert_eq!(
        finished.len(),
        3,
        "one Finished line per revision applied: {events:?}"
    );
    assert_eq!(t.db.version_rows(), [R3]);
}

fn async_calls_work_inside_a_multi_thread_runtime(backend: Backend) {
    async_calls_inside(Flavor::MultiThread, backend);
}

fn async_calls_work_inside_a_current_thread_runtime(backend: Backend) {
    async_calls_inside(Flavor::CurrentThread, backend);
}

on_all!(
    blocking_calls_work_inside_a_multi_thread_runtime,
    blocking_calls_work_inside_a_current_thread_runtime,
    async_calls_work_inside_a_multi_thread_runtime,
    async_calls_work_inside_a_current_thread_runtime,
);

/// A run whose future is dropped half way (a timeout, a shutdown signal) goes on to
/// its end on its blocking thread: the revisions it started are applied and the
/// lock released, and a runtime that shuts down waits for it.
#[test]
fn a_dropped_async_upgrade_finishes_its_run() {
    let t = test_db(Backend::Postgres);
    let slow = [
        (
            "v/a1.sql",
            "-- aludel:revision a1\n-- aludel:upgrade\nSELECT pg_sleep(0.5);\nCREATE TABLE t (id int);\n",
        ),
        (
            "v/b2.sql",
            "-- aludel:revision b2\n-- aludel:revises a1\n-- aludel:upgrade\nCREATE TABLE u (id int);\n",
        ),
    ];
    let m = Migrator::embedded(&slow).unwrap();
    let rt = runtime(Flavor::MultiThread);
    rt.block_on(async {
        let cut = tokio::time::timeout(
            Duration::from_millis(200),
            m.upgrade_async(&t.url, "head", |_| {}),
        )
        .await;
        assert!(cut.is_err(), "the run outlasts the timeout: {cut:?}");
    });
    drop(rt);
    assert_eq!(t.db.version_rows(), ["b2"]);
    assert_eq!(t.db.tables(), ["aludel_version", "t", "u"]);
    // The lock is free: another run gets it at once.
    let mut q = |_: Event| {};
    let m = m.with_lock_timeout(Duration::ZERO).unwrap();
    assert_eq!(m.upgrade(&t.url, "head", &mut q).unwrap(), ["b2"]);
}

/// A connection that fails inside a runtime is an error, not a panic: the driver's
/// runtime is dropped there on the way out.
#[test]
fn a_failed_postgres_connection_inside_a_runtime_is_an_error() {
    let m = migrator().with_connect_retries(1, Duration::ZERO).unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://app@127.0.0.1:{port}/app?sslmode=disable");
    for flavor in [Flavor::MultiThread, Flavor::CurrentThread] {
        let e = runtime(flavor)
            .block_on(async { m.upgrade(&url, "head", &mut |_| {}) })
            .unwrap_err();
        assert!(
            e.to_string().contains("cannot connect to"),
            "{flavor:?}: {e}"
        );
        let e = runtime(flavor)
            .block_on(m.upgrade_async(&url, "head", |_| {}))
            .unwrap_err();
        assert!(
            e.to_string().contains("cannot connect to"),
            "{flavor:?}: {e}"
        );
    }
}

/// Outside a runtime the `_async` calls say so, and do nothing.
#[test]
fn async_calls_outside_a_runtime_are_refused() {
    let t = test_db(Backend::Sqlite);
    let m = migrator();
    // Polled by a bare executor, with no tokio runtime around it.
    let e = futures_executor_block_on(m.upgrade_async(&t.url, "head", |_| {})).unwrap_err();
    assert!(matches!(e, Error::NotStarted { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the migration call did not start: the _async calls run on a tokio runtime, and none is running here; call the blocking one instead"
    );
    assert!(!std::path::Path::new(&t.url["sqlite:///".len()..]).exists());
}

/// The smallest executor: polls on this thread, parking until woken.
fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}
