//! Branches, a dependency and a merge, modelled on Alembic's "Working with Branches"
//! tutorial: `a` -> `b`, the branch point `b` with children `c1` (label
//! `shoppingcart`) and `d1` (label `networking`), and `d2` revising `d1` and depending on
//! `c1`. Every expected string is what Alembic prints for the same graph (checked
//! against Alembic 1.x), except where noted: Alembic lists sets (labels, children,
//! current rows) in hash order, aludel in a stable order. On MariaDB each statement of a
//! revision also prints a line (`DbProject::with_statement_lines`).

use aludel_testkit::{Backend, DbProject, Rev, expect, on_all};

const BIN: &str = env!("CARGO_BIN_EXE_aludel");
const CREATED: &str = "2026-01-10T14:30:00Z";

fn rev(id: &str, revises: &[&str], message: &str, table: &str) -> Rev {
    Rev::new(id, revises, message)
        .header("created", CREATED)
        .sql(
            &format!("CREATE TABLE {table} (id int);"),
            &format!("DROP TABLE {table};"),
        )
}

/// The tutorial's graph, with `file_template = "{rev}_{slug}"` so new files have
/// stable names.
fn tutorial(backend: Backend) -> DbProject {
    let p = DbProject::new(BIN, backend, "");
    p.aludel_config("file_template = \"{rev}_{slug}\"");
    p.write_rev(&rev("a", &[], "create account table", "account"));
    p.write_rev(&rev("b", &["a"], "add a column", "account_col"));
    p.write_rev(
        &rev("c1", &["b"], "add shopping cart table", "shopping_cart")
            .header("branch_labels", "shoppingcart"),
    );
    p.write_rev(
        &rev("d1", &["b"], "add networking table", "networking")
            .header("branch_labels", "networking"),
    );
    p.write_rev(&rev("d2", &["d1"], "add ip table", "ip").header("depends_on", "c1"));
    p
}

const ALL_TABLES: [&str; 6] = [
    "account",
    "account_col",
    "aludel_version",
    "ip",
    "networking",
    "shopping_cart",
];

const HISTORY_BEFORE_MERGE: &str = "\
d1 (c1) -> d2 (networking) (head), add ip table
b -> d1 (networking), add networking table
b -> c1 (shoppingcart) (effective head), add shopping cart table
a -> b (branchpoint), add a column
<base> -> a, create account table
";

fn entry(id_line: &str, body: &str, path: &str, doc: &str) -> String {
    format!("Rev: {id_line}\n{body}Path: [PROJECT]/migrations/versions/{path}\n\n{doc}\n")
}

fn doc(message: &str, id: &str, revises: &str) -> String {
    format!(
        "    {message}\n    \n    Revision ID: {id}\n    Revises: {revises}\n    Create Date: {CREATED}\n"
    )
}

fn branch_listings_before_merge(backend: Backend) {
    let p = tutorial(backend);
    expect(&p.ok(&["history"]), HISTORY_BEFORE_MERGE, "");
    expect(
        &p.ok(&["heads"]),
        "c1 (shoppingcart) (effective head)\nd2 (networking) (head)\n",
        "",
    );
    expect(
        &p.ok(&["heads", "--verbose"]),
        &[
            entry(
                "c1 (head)",
                "Parent: b\nBranch names: shoppingcart\n",
                "c1.sql",
                &doc("add shopping cart table", "c1", "b"),
            ),
            entry(
                "d2 (head)",
                "Parent: d1\nAlso depends on: c1\nBranch names: networking\n",
                "d2.sql",
                &doc("add ip table", "d2", "d1"),
            ),
        ]
        .concat(),
        "",
    );
    expect(
        &p.ok(&["branches"]),
        "b (branchpoint)\n  -> c1 (shoppingcart) (effective head)\n  -> d1 (networking)\n\n",
        "",
    );
    expect(
        &p.ok(&["branches", "--verbose"]),
        &format!(
            "{}  -> c1 (shoppingcart) (effective head), add shopping cart table\n  -> d1 (networking), add networking table\n\n",
            entry(
                "b (branchpoint)",
                "Parent: a\nBranches into: c1, d1\n",
                "b.sql",
                &doc("add a column", "b", "a"),
            )
        ),
        "",
    );
}

on_all!(branch_listings_before_merge,);

fn merge_and_dependency(backend: Backend) {
    let p = tutorial(backend);

    // Two heads: `head` is ambiguous; nothing runs.
    expect(
        &p.fails(&["upgrade", "head"]),
        "",
        "ERROR Multiple head revisions are present for given argument 'head' (c1, d2); please specify a specific target revision, '<branchname>@head' to narrow to a specific head, 'heads' for all heads, or merge the heads into one revision\n",
    );
    assert!(
        p.db().tables().iter().all(|t| t == "aludel_version"),
        "{:?}",
        p.db().tables()
    );
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);

    expect(
        &p.ok(&["upgrade", "heads"]),
        "",
        &p.with_statement_lines("INFO  Running upgrade  -> a, create account table\nINFO  Finished upgrade  -> a ([ms])\n\
         INFO  Running upgrade a -> b, add a column\nINFO  Finished upgrade a -> b ([ms])\n\
         INFO  Running upgrade b -> c1, add shopping cart table\nINFO  Finished upgrade b -> c1 ([ms])\n\
         INFO  Running upgrade b -> d1, add networking table\nINFO  Finished upgrade b -> d1 ([ms])\n\
         INFO  Running upgrade d1 -> d2, add ip table\nINFO  Finished upgrade d1 -> d2 ([ms])\n"),
    );
    assert_eq!(p.db().tables(), ALL_TABLES);
    // d2 depends on c1: applying d2 merges c1's row away, as in Alembic.
    assert_eq!(p.db().version_rows(), ["d2"]);
    expect(&p.ok(&["current"]), "c1 (effective head)\nd2 (head)\n", "");
    expect(
        &p.ok(&["history", "--indicate-current"]),
        "d1 (c1) -> d2 (networking) (head) (current), add ip table\n\
         b -> d1 (networking), add networking table\n\
         b -> c1 (shoppingcart) (effective head), add shopping cart table\n\
         a -> b (branchpoint), add a column\n\
         <base> -> a, create account table\n",
        "",
    );

    // `heads` is the real heads, d2 alone: Alembic 1.20.1 writes a "merge" revising d2
    // only (graph `q<`, `a<`, `b<a|q`: `alembic merge -m m heads` revises `b`). A
    // one-revision merge is refused; the effective head c1 is merged when named.
    expect(
        &p.fails(&["merge", "-m", "merge", "heads", "--rev-id", "m1"]),
        "",
        "ERROR nothing to merge: heads names 1 revision; a merge needs two or more; 'heads' means the real heads, and c1 is only depended on: name it to merge it, e.g. `aludel merge -m MESSAGE c1 d2`\n",
    );
    // Alembic: "Revision b is not a head revision; please specify --splice to create a
    // new branch from this revision".
    expect(
        &p.fails(&["merge", "-m", "merge", "b", "d2", "--rev-id", "m1"]),
        "",
        "ERROR revision b is not a head revision; add --splice to merge it anyway, starting a new branch from it\n",
    );
    assert_eq!(std::fs::read_dir(p.versions()).unwrap().count(), 5);
    expect(
        &p.ok(&["merge", "-m", "merge", "c1", "d2", "--rev-id", "m1"]),
        "Generating [PROJECT]/migrations/versions/m1_merge.sql ... done\n",
        "",
    );
    let path = p.versions().join("m1_merge.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, created_and_rest) = text.split_once("-- aludel:created ").unwrap();
    assert_eq!(
        head,
        "-- aludel:revision m1\n-- aludel:revises c1 d2\n-- aludel:message merge\n"
    );
    let (created, rest) = created_and_rest.split_once('\n').unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "created: {created}"
    );
    // The template's comment says how a revision runs on this database.
    let how_it_runs = match backend {
        Backend::Mysql => {
            "This database commits each DDL statement by itself: a revision that fails halfway keeps the statements before, and the re-run resumes after them (the journal records them)."
        }
        Backend::Sqlite | Backend::Postgres => {
            "Each revision runs in one transaction. For statements that cannot (CREATE INDEX CONCURRENTLY, VACUUM), add `-- aludel:transaction false` to the header above."
        }
    };
    assert_eq!(
        rest,
        format!("\n-- {how_it_runs}\n-- aludel:upgrade\n\n\n-- aludel:downgrade\n\n")
    );
    // A fixed time, for the listings below.
    std::fs::write(&path, text.replace(created, CREATED)).unwrap();

    let merged_history = "\
c1, d2 -> m1 (networking, shoppingcart) (head) (mergepoint), merge
d1 (c1) -> d2 (networking), add ip table
b -> d1 (networking), add networking table
b -> c1 (shoppingcart), add shopping cart table
a -> b (branchpoint), add a column
<base> -> a, create account table
";
    expect(&p.ok(&["history"]), merged_history, "");
    let m1_entry = entry(
        "m1 (head) (mergepoint)",
        "Merges: c1, d2\nBranch names: networking, shoppingcart\n",
        "m1_merge.sql",
        &doc("merge", "m1", "c1, d2"),
    );
    expect(
        &p.ok(&["history", "--verbose"]),
        &[
            m1_entry.clone(),
            entry(
                "d2",
                "Parent: d1\nAlso depends on: c1\nBranch names: networking\n",
                "d2.sql",
                &doc("add ip table", "d2", "d1"),
            ),
            entry(
                "d1",
                "Parent: b\nBranch names: networking\n",
                "d1.sql",
                &doc("add networking table", "d1", "b"),
            ),
            entry(
                "c1",
                "Parent: b\nBranch names: shoppingcart\n",
                "c1.sql",
                &doc("add shopping cart table", "c1", "b"),
            ),
            entry(
                "b (branchpoint)",
                "Parent: a\nBranches into: c1, d1\n",
                "b.sql",
                &doc("add a column", "b", "a"),
            ),
            entry(
                "a",
                "Parent: <base>\n",
                "a.sql",
                "    create account table\n    \n    Revision ID: a\n    Revises: \n    Create Date: 2026-01-10T14:30:00Z\n",
            ),
        ]
        .concat(),
        "",
    );
    expect(
        &p.ok(&["history", "-r", "b:"]),
        merged_history
            .strip_suffix("<base> -> a, create account table\n")
            .unwrap(),
        "",
    );
    expect(
        &p.ok(&["heads"]),
        "m1 (networking, shoppingcart) (head)\n",
        "",
    );
    expect(&p.ok(&["heads", "--verbose"]), &m1_entry, "");
    expect(
        &p.ok(&["branches"]),
        "b (branchpoint)\n  -> c1 (shoppingcart)\n  -> d1 (networking)\n\n",
        "",
    );
    expect(&p.ok(&["show", "m1"]), &m1_entry, "");
    // The database is still at d2, which stands for c1 too.
    expect(&p.ok(&["current"]), "c1\nd2\n", "");

    expect(
        &p.ok(&["upgrade", "head"]),
        "",
        &p.with_statement_lines("INFO  Running upgrade c1, d2 -> m1, merge\nINFO  Finished upgrade c1, d2 -> m1 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["m1"]);
    expect(&p.ok(&["current"]), "m1 (head) (mergepoint)\n", "");
    expect(
        &p.ok(&["history", "-i"]),
        &merged_history.replacen("(head) (mergepoint)", "(head) (current) (mergepoint)", 1),
        "",
    );

    // Down through the merge: the rows before it come back. (Alembic stops with
    // "Ambiguous walk" on `-1` here; `downgrade d2` does the same as this.)
    expect(
        &p.ok(&["downgrade", "-1"]),
        "",
        &p.with_statement_lines("INFO  Running downgrade m1 -> c1, d2, merge\nINFO  Finished downgrade m1 -> c1, d2 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["d2"]);
    assert_eq!(p.db().tables(), ALL_TABLES);
    expect(&p.ok(&["current"]), "c1\nd2\n", "");

    p.ok(&["upgrade", "head"]);
    expect(
        &p.ok(&["downgrade", "d2"]),
        "",
        &p.with_statement_lines("INFO  Running downgrade m1 -> c1, d2, merge\nINFO  Finished downgrade m1 -> c1, d2 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["d2"]);
}

on_all!(merge_and_dependency,);

fn branch_label_targets(backend: Backend) {
    let p = tutorial(backend);

    expect(
        &p.ok(&["upgrade", "shoppingcart@head"]),
        "",
        &p.with_statement_lines("INFO  Running upgrade  -> a, create account table\nINFO  Finished upgrade  -> a ([ms])\n\
         INFO  Running upgrade a -> b, add a column\nINFO  Finished upgrade a -> b ([ms])\n\
         INFO  Running upgrade b -> c1, add shopping cart table\nINFO  Finished upgrade b -> c1 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["c1"]);
    assert_eq!(
        p.db().tables(),
        ["account", "account_col", "aludel_version", "shopping_cart"]
    );
    expect(&p.ok(&["current"]), "c1 (effective head)\n", "");

    expect(
        &p.ok(&["upgrade", "networking@head"]),
        "",
        &p.with_statement_lines("INFO  Running upgrade b -> d1, add networking table\nINFO  Finished upgrade b -> d1 ([ms])\n\
         INFO  Running upgrade d1 -> d2, add ip table\nINFO  Finished upgrade d1 -> d2 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["d2"]);
    assert_eq!(p.db().tables(), ALL_TABLES);

    expect(
        &p.ok(&["downgrade", "networking@-1"]),
        "",
        &p.with_statement_lines("INFO  Running downgrade d2 -> d1, add ip table\nINFO  Finished downgrade d2 -> d1 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["c1", "d1"]);
    expect(&p.ok(&["current"]), "c1 (effective head)\nd1\n", "");
    p.ok(&["upgrade", "networking@head"]);

    // As in Alembic, a branch's base is below the branch point: everything the
    // networking branch stands on (here all of it, c1 included as d2's dependency) is
    // reverted.
    expect(
        &p.ok(&["downgrade", "networking@base"]),
        "",
        &p.with_statement_lines("INFO  Running downgrade d2 -> d1, add ip table\nINFO  Finished downgrade d2 -> d1 ([ms])\n\
         INFO  Running downgrade d1 -> b, add networking table\nINFO  Finished downgrade d1 -> b ([ms])\n\
         INFO  Running downgrade c1 -> b, add shopping cart table\nINFO  Finished downgrade c1 -> b ([ms])\n\
         INFO  Running downgrade b -> a, add a column\nINFO  Finished downgrade b -> a ([ms])\n\
         INFO  Running downgrade a -> , create account table\nINFO  Finished downgrade a ->  ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
    assert_eq!(p.db().tables(), ["aludel_version"]);

    // On a fresh database, the networking head brings its dependency c1 with it.
    expect(
        &p.ok(&["upgrade", "networking@head"]),
        "",
        &p.with_statement_lines("INFO  Running upgrade  -> a, create account table\nINFO  Finished upgrade  -> a ([ms])\n\
         INFO  Running upgrade a -> b, add a column\nINFO  Finished upgrade a -> b ([ms])\n\
         INFO  Running upgrade b -> c1, add shopping cart table\nINFO  Finished upgrade b -> c1 ([ms])\n\
         INFO  Running upgrade b -> d1, add networking table\nINFO  Finished upgrade b -> d1 ([ms])\n\
         INFO  Running upgrade d1 -> d2, add ip table\nINFO  Finished upgrade d1 -> d2 ([ms])\n"),
    );
    assert_eq!(p.db().version_rows(), ["d2"]);
}

on_all!(branch_label_targets,);

/// With an empty table, `stamp -N` and `LABEL@-N` count down from `heads` and
/// `LABEL@heads`, online as with `--sql`: from d2, the one real head (Alembic 1.20.1:
/// `stamp -1` stamps d1, `stamp networking@-2` b), and from c1 for shoppingcart,
/// where Alembic stamps nothing (known.py `stamp-label-relative-depended-head`).
/// Several heads are refused the same way in both modes (Alembic stamps a row below
/// each: known.py `stamp-relative-several-heads`).
fn stamp_minus_n_on_an_empty_table_counts_from_the_heads(backend: Backend) {
    let p = tutorial(backend);
    for (target, row) in [
        ("-1", "d1"),
        ("networking@-2", "b"),
        ("shoppingcart@-1", "b"),
    ] {
        p.ok(&["stamp", "--", target]);
        assert_eq!(p.db().version_rows(), [row], "{target}");
        let sql = p.ok(&["stamp", "--sql", "--", target]).stdout;
        assert!(
            sql.contains(&format!("(version_num) VALUES ('{row}');")),
            "{target}: {sql}"
        );
        p.ok(&["stamp", "base"]);
    }
    // `show` counts the same way where no real head carries the label: Alembic 1.20.1's
    // `show shoppingcart@-1` prints nothing (known.py `show-label-relative-depended-head`),
    // aludel shows b, the revision `stamp shoppingcart@-1` stamps.
    let shown = p.ok(&["show", "shoppingcart@-1"]).stdout;
    assert!(shown.starts_with("Rev: b (branchpoint)\n"), "{shown}");
    // A second head: e revises a.
    p.write_rev(&rev("e", &["a"], "add e", "e_table"));
    let refusal = "ERROR invalid revision target '-1': nothing is applied to count from, so it \
                   counts down from heads, and there are several (d2, e); name the branch \
                   (LABEL@-N) or the revision to count from (d2-1)\n";
    expect(&p.fails(&["stamp", "--", "-1"]), "", refusal);
    expect(&p.fails(&["stamp", "--sql", "--", "-1"]), "", refusal);
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
}

on_all!(stamp_minus_n_on_an_empty_table_counts_from_the_heads,);

/// `REV-N` names a revision: going down to it removes every applied child of it, on
/// any branch. Checked against Alembic 1.20.1 on the same graphs.
fn rev_minus_n_goes_down_to_the_revision_it_names(backend: Backend) {
    let p = DbProject::new(BIN, backend, "");
    p.write_rev(&rev("e", &[], "create e", "te"));
    p.write_rev(&rev("c", &["e"], "create c", "tc"));
    p.write_rev(&rev("t", &["e"], "create t", "tt"));
    p.ok(&["upgrade", "heads"]);
    // Alembic: "Running downgrade c -> e, c msg", "Running downgrade t -> e, t msg";
    // `current` is then `e (branchpoint)`.
    expect(
        &p.ok(&["downgrade", "c-1"]),
        "",
        &p.with_statement_lines(
            "INFO  Running downgrade c -> e, create c\n\
         INFO  Finished downgrade c -> e ([ms])\n\
         INFO  Running downgrade t -> e, create t\n\
         INFO  Finished downgrade t -> e ([ms])\n",
        ),
    );
    assert_eq!(p.db().version_rows(), ["e"]);
    // c is not applied: c-1 is still e, so t goes (Alembic: "Running downgrade t -> e").
    p.ok(&["upgrade", "t"]);
    expect(
        &p.ok(&["downgrade", "c-1"]),
        "",
        &p.with_statement_lines(
            "INFO  Running downgrade t -> e, create t\n\
         INFO  Finished downgrade t -> e ([ms])\n",
        ),
    );
    // A root's REV-1 is base: the other root goes too (graph `a<`, `x<`, both applied,
    // `downgrade a-1`: Alembic reverts a and x and ends empty).
    p.write_rev(&rev("x", &[], "create x", "tx"));
    p.ok(&["upgrade", "heads"]);
    expect(
        &p.ok(&["downgrade", "e-1"]),
        "",
        &p.with_statement_lines(
            "INFO  Running downgrade c -> e, create c\n\
         INFO  Finished downgrade c -> e ([ms])\n\
         INFO  Running downgrade t -> e, create t\n\
         INFO  Finished downgrade t -> e ([ms])\n\
         INFO  Running downgrade e -> , create e\n\
         INFO  Finished downgrade e ->  ([ms])\n\
         INFO  Running downgrade x -> , create x\n\
         INFO  Finished downgrade x ->  ([ms])\n",
        ),
    );
    assert_eq!(p.db().version_rows(), [] as [&str; 0]);
    assert_eq!(p.db().tables(), ["aludel_version"]);
}

on_all!(rev_minus_n_goes_down_to_the_revision_it_names,);

/// History ranges and `show` over branches, labels and a dependency, each checked
/// against Alembic 1.20.1 on the same graph (no database is read).
#[test]
fn history_ranges_and_show_follow_alembic() {
    let p = aludel_testkit::TestProject::new(BIN, None, "");
    let plain = |id: &str, revises: &[&str]| Rev::new(id, revises, &format!("{id} msg"));
    p.write_rev(&plain("a", &[]));
    p.write_rev(&plain("b", &["a"]));
    p.write_rev(&plain("c", &["b"]).header("branch_labels", "eb"));
    p.write_rev(&plain("d", &["c"]));
    p.write_rev(&plain("x", &["a"]));
    p.write_rev(&plain("y", &["x"]));
    // LABEL@-N counts from the branch's head, not from the (empty) database.
    // Alembic: the same three lines.
    expect(
        &p.ok(&["history", "-r", "eb@-2:heads"]),
        "c -> d (eb) (head), d msg\nb -> c (eb), c msg\na -> b (eb), b msg\n",
        "",
    );
    // Alembic `show -1`: c and x, one below each head.
    let shown = p.ok(&["show", "-1"]).stdout;
    let revs: Vec<&str> = shown.lines().filter(|l| l.starts_with("Rev: ")).collect();
    assert_eq!(revs, ["Rev: c", "Rev: x"], "{shown}");
    // Past a head the upper end stops there (Alembic lists the same three lines).
    expect(
        &p.ok(&["history", "-r", "b:b+5"]),
        "c -> d (eb) (head), d msg\nb -> c (eb), c msg\na -> b (eb), b msg\n",
        "",
    );
    // Above only through depends_on: Alembic fails on an assertion; aludel says why.
    p.write_rev(&plain("z", &[]).header("depends_on", "d"));
    expect(
        &p.fails(&["history", "-r", "c:z"]),
        "",
        "ERROR Requested range c:z does not refer to ancestor/descendant revisions along the same branch: z is above c only through depends_on, and a range follows revises; `history -r :z` lists it with everything it needs\n",
    );
}
