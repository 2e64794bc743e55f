//! `--format json`: the results of `current`, `heads`, `history`, `show` and `check` as
//! one JSON document on stdout, with the fields SPEC lists.

use aludel_testkit::{Backend, DbProject, linear_revs, on_all};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn json(p: &DbProject, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = p.ok(&all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"))
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap())
        .collect()
}

fn revision_results_as_json(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    for r in linear_revs(3) {
        p.write_rev(&r);
    }
    p.ok(&["upgrade", "rev_2"]);

    let current = json(&p, &["current"]);
    assert_eq!(ids(&current["current"]), ["rev_2"]);
    let row = &current["current"][0];
    assert_eq!(row["parents"], serde_json::json!(["rev_1"]));
    assert_eq!(row["is_current"], true);
    assert_eq!(row["is_head"], false);
    assert!(
        row["path"].as_str().unwrap().ends_with("rev_2.sql"),
        "{row}"
    );
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "revision",
            "parents",
            "depends_on",
            "branch_labels",
            "message",
            "created",
            "path",
            "is_head",
            "is_branch_point",
            "is_merge_point",
            "is_current"
        ]
    );

    let heads = json(&p, &["heads"]);
    assert_eq!(ids(&heads["heads"]), ["rev_3"]);
    assert_eq!(heads["heads"][0]["is_head"], true);

    let history = json(&p, &["history"]);
    assert_eq!(ids(&history["history"]), ["rev_3", "rev_2", "rev_1"]);
    let history = json(&p, &["history", "-i", "-r", "rev_1:rev_2"]);
    assert_eq!(ids(&history["history"]), ["rev_2", "rev_1"]);
    assert_eq!(history["history"][0]["is_current"], true);
    assert_eq!(history["history"][1]["is_current"], false);

    let show = json(&p, &["show", "rev_1"]);
    assert_eq!(ids(&show["revisions"]), ["rev_1"]);
    assert_eq!(show["revisions"][0]["parents"], serde_json::json!([]));

    // Commands without JSON results say so and change nothing.
    p.fails_with(
        &["--format", "json", "upgrade", "head"],
        2,
        "error: --format json is available for",
    );
    assert_eq!(p.db().version_rows(), ["rev_2"]);
}

fn check_as_json(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE t (id integer PRIMARY KEY);\n",
    )
    .unwrap();
    let r = p
        .run(&["--format", "json", "check"])
        .expect_code(3, &["--format", "json", "check"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let changes: Vec<&str> = v["check"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(changes.len(), 1, "{r}");
    assert!(changes[0].starts_with("add table"), "{r}");
    p.ok(&["revision", "--autogenerate", "-m", "t"]);
    p.ok(&["upgrade", "head"]);
    let v = json(&p, &["check"]);
    assert_eq!(v["check"]["changes"], serde_json::json!([]));
}

on_all!(revision_results_as_json, check_as_json,);
