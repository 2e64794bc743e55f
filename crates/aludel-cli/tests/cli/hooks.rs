//! `[[hooks.post_write]]`: run after `revision` and `merge` write a file; a failing
//! hook is reported and the file kept; secrets given to hooks are never printed.

use aludel_testkit::TestProject;

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

#[test]
fn a_hook_runs_on_the_new_file() {
    let p = TestProject::new(
        BIN,
        None,
        "[[hooks.post_write]]\ncommand = [\"sh\", \"-c\", \"echo '-- formatted' >> \\\"$0\\\"\", \"{path}\"]\n",
    );
    let run = p.ok(&["revision", "-m", "first", "--rev-id", "h1"]);
    assert_eq!(run.stderr, "", "{run}");
    let file = std::fs::read_dir(p.versions())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.ends_with("-- formatted\n"), "{text}");
}

#[test]
fn a_failing_hook_is_reported_the_file_kept_and_its_secret_not_printed() {
    let mut p = TestProject::new(
        BIN,
        None,
        "[[hooks.post_write]]\ncommand = [\"sh\", \"-c\", \"exit 3\", \"${HOOK_TOKEN}\", \"{path}\"]\n",
    );
    p.env("HOOK_TOKEN", "hunter2");
    let run = p.ok(&["revision", "-m", "first", "--rev-id", "h1"]);
    assert!(
        run.stdout
            .starts_with("Generating [PROJECT]/migrations/versions/"),
        "{run}"
    );
    assert!(
        run.stderr.starts_with(
            "WARN  post-write hook `sh -c exit 3 ${HOOK_TOKEN} [PROJECT]/migrations/versions/"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("the file was kept"), "{run}");
    assert!(
        !run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"),
        "{run}"
    );
    assert_eq!(std::fs::read_dir(p.versions()).unwrap().count(), 1);
    p.ok(&["upgrade", "head"]);
}
