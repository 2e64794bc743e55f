//! Unit tests; the fixtures reproduce the revision trees of Alembic's "Working with
//! Branches" tutorial so the expected text can be checked against its outputs.

use std::path::PathBuf;

use super::*;

pub(crate) struct S {
    id: &'static str,
    parents: &'static [&'static str],
    deps: &'static [&'static str],
    labels: &'static [&'static str],
    message: &'static str,
}

const fn s(id: &'static str, parents: &'static [&'static str], message: &'static str) -> S {
    S {
        id,
        parents,
        deps: &[],
        labels: &[],
        message,
    }
}

pub(crate) fn spec(x: &S, dir: &str) -> RevisionSpec {
    let slug = x.message.to_lowercase().replace(' ', "_");
    RevisionSpec {
        id: x.id.to_string(),
        parents: x.parents.iter().map(|p| p.to_string()).collect(),
        depends_on: x.deps.iter().map(|p| p.to_string()).collect(),
        branch_labels: x.labels.iter().map(|p| p.to_string()).collect(),
        message: x.message.to_string(),
        created: Some("2014-11-20 13:02:46.257104".to_string()),
        doc: None,
        origin: Origin {
            path: PathBuf::from(format!("{dir}/{}_{slug}.sql", x.id)),
            revision_line: 1,
            revises_line: (!x.parents.is_empty()).then_some(2),
            depends_on_line: (!x.deps.is_empty()).then_some(4),
            branch_labels_line: (!x.labels.is_empty()).then_some(5),
        },
    }
}

fn graph(list: &[S]) -> RevisionGraph {
    let specs = list.iter().map(|x| spec(x, "versions")).collect();
    match RevisionGraph::build(specs, 64) {
        Ok(g) => g,
        Err(e) => panic!("fixture does not build: {e}"),
    }
}

const ROOT: S = s("1975ea83b712", &[], "create account table");

pub(crate) fn fixture_linear() -> RevisionGraph {
    graph(&[
        ROOT,
        s(
            "55af2cb1c267",
            &["ae1027a6acf"],
            "add another account column",
        ),
        s("ae1027a6acf", &["1975ea83b712"], "add a column"),
    ])
}

pub(crate) fn fixture_branches(merge: bool) -> RevisionGraph {
    let mut list = vec![
        ROOT,
        s("27c6a30d7c24", &["1975ea83b712"], "add shopping cart table"),
    ];
    if merge {
        list.push(s(
            "53fffde5ad5",
            &["ae1027a6acf", "27c6a30d7c24"],
            "merge ae1 and 27c",
        ));
    }
    list.push(s("ae1027a6acf", &["1975ea83b712"], "add a column"));
    graph(&list)
}

fn fixture_labels() -> RevisionGraph {
    graph(&[
        ROOT,
        S {
            labels: &["shoppingcart"],
            ..s("27c6a30d7c24", &["1975ea83b712"], "add shopping cart table")
        },
        s("ae1027a6acf", &["1975ea83b712"], "add a column"),
        s(
            "d747a8a8879",
            &["27c6a30d7c24"],
            "add a shopping cart column",
        ),
    ])
}

fn depends_specs(with_34e0: bool) -> Vec<RevisionSpec> {
    // Alembic loads model/networking first (first version location), then versions.
    let networking = [
        s("109ec7d132bf", &["3cac04ae8714"], "add ip number table"),
        s("29f859a13ea", &["109ec7d132bf"], "add DNS table"),
        S {
            deps: &["55af2cb1c267"],
            ..s("2a95102259be", &["29f859a13ea"], "add ip account table")
        },
        S {
            labels: &["networking"],
            ..s("3cac04ae8714", &[], "create networking branch")
        },
    ];
    let mut versions = vec![
        ROOT,
        S {
            labels: &["shoppingcart"],
            ..s("27c6a30d7c24", &["1975ea83b712"], "add shopping cart table")
        },
    ];
    if with_34e0 {
        versions.push(s("34e094ad6ef1", &["55af2cb1c267"], "more account changes"));
    }
    versions.push(s(
        "55af2cb1c267",
        &["ae1027a6acf"],
        "add another account column",
    ));
    versions.push(s("ae1027a6acf", &["1975ea83b712"], "Add a column"));
    networking
        .iter()
        .map(|x| spec(x, "model/networking"))
        .chain(versions.iter().map(|x| spec(x, "versions")))
        .collect()
}

pub(crate) fn fixture_depends() -> RevisionGraph {
    match RevisionGraph::build(depends_specs(true), 64) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

fn fixture_depends_early() -> RevisionGraph {
    match RevisionGraph::build(depends_specs(false), 64) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

const NONE: &[&str] = &[];

fn history(g: &RevisionGraph, range: &str) -> Vec<String> {
    let range = if range.is_empty() {
        Range::default()
    } else {
        Range::parse(range).unwrap()
    };
    g.history_output(&range, None::<&[&str]>, false, false)
        .unwrap()
}

fn ids<'a>(it: impl IntoIterator<Item = &'a RevisionId>) -> Vec<&'a str> {
    it.into_iter().map(RevisionId::as_str).collect()
}

fn up(g: &RevisionGraph, current: &[&str], target: &str) -> Vec<String> {
    let plan = g.upgrade(current, &Target::parse(target).unwrap()).unwrap();
    assert_eq!(plan.direction, Direction::Upgrade);
    plan.revisions().map(ToString::to_string).collect()
}

fn down(g: &RevisionGraph, current: &[&str], target: &str) -> Vec<String> {
    let plan = g
        .downgrade(current, &Target::parse(target).unwrap())
        .unwrap();
    plan.revisions().map(ToString::to_string).collect()
}

fn down_err(g: &RevisionGraph, current: &[&str], target: &str) -> GraphError {
    match g.downgrade(current, &Target::parse(target).unwrap()) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e,
    }
}

fn up_err(g: &RevisionGraph, current: &[&str], target: &str) -> GraphError {
    match g.upgrade(current, &Target::parse(target).unwrap()) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e,
    }
}

// ---- output formats -------------------------------------------------------------

#[test]
fn linear_history_heads_current() {
    let g = fixture_linear();
    assert_eq!(
        history(&g, ""),
        [
            "ae1027a6acf -> 55af2cb1c267 (head), add another account column",
            "1975ea83b712 -> ae1027a6acf, add a column",
            "<base> -> 1975ea83b712, create account table",
        ]
    );
    assert_eq!(g.heads_output(false, false), ["55af2cb1c267 (head)"]);
    assert_eq!(
        g.current_output(&["ae1027a6acf"], false).unwrap(),
        ["ae1027a6acf"]
    );
    assert_eq!(
        g.history_output(&Range::default(), Some(&["ae1027a6acf"][..]), false, true)
            .unwrap(),
        [
            "ae1027a6acf -> 55af2cb1c267 (head), add another account column",
            "1975ea83b712 -> ae1027a6acf (current), add a column",
            "<base> -> 1975ea83b712, create account table",
        ]
    );
    assert_eq!(
        history(&g, "1975ea83b712:ae1027a6acf"),
        [
            "1975ea83b712 -> ae1027a6acf, add a column",
            "<base> -> 1975ea83b712, create account table",
        ]
    );
    assert_eq!(
        g.history_output(
            &Range::parse("current:").unwrap(),
            Some(&["ae1027a6acf"][..]),
            false,
            false
        )
        .unwrap(),
        [
            "ae1027a6acf -> 55af2cb1c267 (head), add another account column",
            "1975ea83b712 -> ae1027a6acf, add a column",
        ]
    );
}

#[test]
fn verbose_entry_matches_alembic_show() {
    let g = fixture_linear();
    let expected = "Rev: 1975ea83b712\n\
                    Parent: <base>\n\
                    Path: versions/1975ea83b712_create_account_table.sql\n\
                    \n    create account table\n    \n    Revision ID: 1975ea83b712\n    Revises: \n    Create Date: 2014-11-20 13:02:46.257104\n";
    assert_eq!(
        g.show_output(&Target::parse("1975").unwrap(), NONE)
            .unwrap(),
        [expected]
    );
    let head = g.revision("55af2cb1c267").unwrap();
    assert!(
        head.log_entry(true)
            .starts_with("Rev: 55af2cb1c267 (head) (current)\nParent: ae1027a6acf\n")
    );
}

#[test]
fn branches_and_merge_outputs() {
    let g = fixture_branches(false);
    // Tutorial: "History shows it too".
    assert_eq!(
        history(&g, ""),
        [
            "1975ea83b712 -> 27c6a30d7c24 (head), add shopping cart table",
            "1975ea83b712 -> ae1027a6acf (head), add a column",
            "<base> -> 1975ea83b712 (branchpoint), create account table",
        ]
    );
    assert_eq!(
        g.heads_output(false, false),
        ["27c6a30d7c24 (head)", "ae1027a6acf (head)"]
    );
    assert_eq!(
        g.branches_output(false),
        [
            "1975ea83b712 (branchpoint)\n             -> 27c6a30d7c24 (head)\n             -> ae1027a6acf (head)\n"
        ]
    );
    // Tutorial: "alembic branches --verbose" (exact whitespace per Alembic's code).
    assert_eq!(
        g.branches_output(true),
        ["Rev: 1975ea83b712 (branchpoint)\n\
          Parent: <base>\n\
          Branches into: 27c6a30d7c24, ae1027a6acf\n\
          Path: versions/1975ea83b712_create_account_table.sql\n\
          \n    create account table\n    \n    Revision ID: 1975ea83b712\n    Revises: \n    Create Date: 2014-11-20 13:02:46.257104\n\
          \n             -> 27c6a30d7c24 (head), add shopping cart table\
          \n             -> ae1027a6acf (head), add a column\n"]
    );
    // Tutorial: "alembic current" with both heads, then after two "downgrade -1".
    assert_eq!(
        g.current_output(&["ae1027a6acf", "27c6a30d7c24"], false)
            .unwrap(),
        ["27c6a30d7c24 (head)", "ae1027a6acf (head)"]
    );
    assert_eq!(
        g.current_output(&["1975ea83b712"], false).unwrap(),
        ["1975ea83b712 (branchpoint)"]
    );

    let g = fixture_branches(true);
    assert_eq!(
        history(&g, ""),
        [
            "ae1027a6acf, 27c6a30d7c24 -> 53fffde5ad5 (head) (mergepoint), merge ae1 and 27c",
            "1975ea83b712 -> ae1027a6acf, add a column",
            "1975ea83b712 -> 27c6a30d7c24, add shopping cart table",
            "<base> -> 1975ea83b712 (branchpoint), create account table",
        ]
    );
    // Tutorial: "alembic heads --verbose" after the merge.
    assert_eq!(
        g.heads_output(true, false),
        ["Rev: 53fffde5ad5 (head) (mergepoint)\n\
          Merges: ae1027a6acf, 27c6a30d7c24\n\
          Path: versions/53fffde5ad5_merge_ae1_and_27c.sql\n\
          \n    merge ae1 and 27c\n    \n    Revision ID: 53fffde5ad5\n    Revises: ae1027a6acf, 27c6a30d7c24\n    Create Date: 2014-11-20 13:02:46.257104\n"]
    );
}

#[test]
fn label_outputs() {
    let g = fixture_labels();
    // Tutorial: history once d747a8a8879 joined the shoppingcart branch.
    assert_eq!(
        history(&g, ""),
        [
            "1975ea83b712 -> ae1027a6acf (head), add a column",
            "27c6a30d7c24 -> d747a8a8879 (shoppingcart) (head), add a shopping cart column",
            "1975ea83b712 -> 27c6a30d7c24 (shoppingcart), add shopping cart table",
            "<base> -> 1975ea83b712 (branchpoint), create account table",
        ]
    );
    assert_eq!(
        history(&g, "shoppingcart:"),
        [
            "27c6a30d7c24 -> d747a8a8879 (shoppingcart) (head), add a shopping cart column",
            "1975ea83b712 -> 27c6a30d7c24 (shoppingcart), add shopping cart table",
        ]
    );
    let from_base = [
        "27c6a30d7c24 -> d747a8a8879 (shoppingcart) (head), add a shopping cart column",
        "1975ea83b712 -> 27c6a30d7c24 (shoppingcart), add shopping cart table",
        "<base> -> 1975ea83b712 (branchpoint), create account table",
    ];
    assert_eq!(history(&g, ":shoppingcart@head"), from_base);
    // Current Alembic keeps only heads carrying the label (its 0.7 tutorial also
    // listed ae1027a6acf here).
    assert_eq!(history(&g, "shoppingcart@base:"), from_base);
    assert_eq!(
        g.heads_output(false, false),
        ["ae1027a6acf (head)", "d747a8a8879 (shoppingcart) (head)"]
    );
    let show = g
        .show_output(&Target::parse("shoppingcart").unwrap(), NONE)
        .unwrap();
    assert!(show[0].starts_with(
        "Rev: 27c6a30d7c24\nParent: 1975ea83b712\nBranch names: shoppingcart\nPath: "
    ));
}

#[test]
fn depends_on_outputs() {
    let g = fixture_depends_early();
    // Tutorial: "alembic history -r :networking@head".
    assert_eq!(
        history(&g, ":networking@head"),
        [
            "29f859a13ea (55af2cb1c267) -> 2a95102259be (networking) (head), add ip account table",
            "109ec7d132bf -> 29f859a13ea (networking), add DNS table",
            "3cac04ae8714 -> 109ec7d132bf (networking), add ip number table",
            "<base> -> 3cac04ae8714 (networking), create networking branch",
            "ae1027a6acf -> 55af2cb1c267 (effective head), add another account column",
            "1975ea83b712 -> ae1027a6acf, Add a column",
            "<base> -> 1975ea83b712 (branchpoint), create account table",
        ]
    );
    // Tutorial: "alembic heads" shows the dependency as an effective head.
    assert_eq!(
        g.heads_output(false, false),
        [
            "2a95102259be (networking) (head)",
            "27c6a30d7c24 (shoppingcart) (head)",
            "55af2cb1c267 (effective head)",
        ]
    );
    assert_eq!(
        g.heads_output(false, true),
        [
            "2a95102259be (networking) (head)",
            "27c6a30d7c24 (shoppingcart) (head)"
        ]
    );
    // Tutorial: "upgrade heads" from networking at 29f859a13ea and the account line
    // at 55af2cb1c267 runs only 2a95102259be.
    assert_eq!(
        up(
            &g,
            &["29f859a13ea", "55af2cb1c267", "27c6a30d7c24"],
            "heads"
        ),
        ["2a95102259be"]
    );
    // Alembic's get_all_current lists the applied dependency as well.
    assert_eq!(
        g.current_output(&["2a95102259be", "27c6a30d7c24"], false)
            .unwrap(),
        [
            "2a95102259be (head)",
            "27c6a30d7c24 (head)",
            "55af2cb1c267 (effective head)",
        ]
    );

    let g = fixture_depends();
    // Tutorial: the final "alembic history".
    assert_eq!(
        history(&g, ""),
        [
            "29f859a13ea (55af2cb1c267) -> 2a95102259be (networking) (head), add ip account table",
            "109ec7d132bf -> 29f859a13ea (networking), add DNS table",
            "3cac04ae8714 -> 109ec7d132bf (networking), add ip number table",
            "<base> -> 3cac04ae8714 (networking), create networking branch",
            "1975ea83b712 -> 27c6a30d7c24 (shoppingcart) (head), add shopping cart table",
            "55af2cb1c267 -> 34e094ad6ef1 (head), more account changes",
            "ae1027a6acf -> 55af2cb1c267, add another account column",
            "1975ea83b712 -> ae1027a6acf, Add a column",
            "<base> -> 1975ea83b712 (branchpoint), create account table",
        ]
    );
    let entry = g.revision("2a95102259be").unwrap().log_entry(false);
    assert!(entry.starts_with(
        "Rev: 2a95102259be (head)\nParent: 29f859a13ea\nAlso depends on: 55af2cb1c267\nBranch names: networking\nPath: model/networking/2a95102259be_add_ip_account_table.sql\n"
    ));
}

#[test]
fn step_lines() {
    let g = fixture_branches(true);
    let plan = g.upgrade(NONE, &Target::Head).unwrap();
    let lines: Vec<String> = plan.steps.iter().filter_map(|s| g.step_line(s)).collect();
    // Tutorial: "alembic upgrade head" after the merge.
    assert_eq!(
        lines,
        [
            "upgrade  -> 1975ea83b712, create account table",
            "upgrade 1975ea83b712 -> 27c6a30d7c24, add shopping cart table",
            "upgrade 1975ea83b712 -> ae1027a6acf, add a column",
            "upgrade ae1027a6acf, 27c6a30d7c24 -> 53fffde5ad5, merge ae1 and 27c",
        ]
    );
    let plan = g.downgrade(&["1975ea83b712"], &Target::Base).unwrap();
    assert_eq!(
        g.step_short_line(&plan.steps[0]).unwrap(),
        "downgrade 1975ea83b712 -> "
    );
}

// ---- queries ----------------------------------------------------------------------

#[test]
fn queries() {
    let g = fixture_depends();
    assert_eq!(
        ids(g.heads()),
        ["2a95102259be", "27c6a30d7c24", "34e094ad6ef1"]
    );
    assert_eq!(ids(g.bases()), ["3cac04ae8714", "1975ea83b712"]);
    assert_eq!(ids(g.branch_points()), ["1975ea83b712"]);
    assert!(g.merge_points().is_empty());
    let r = g.revision("55af2cb1c267").unwrap();
    assert_eq!(
        r.dependents().map(|d| d.id().as_str()).collect::<Vec<_>>(),
        ["2a95102259be"]
    );
    assert!(!r.is_head() && !r.is_real_head());
    let anc: Vec<&str> = g
        .revision("2a95102259be")
        .unwrap()
        .ancestors(Edges::Revises)
        .iter()
        .map(|r| r.id().as_str())
        .collect();
    assert_eq!(anc, ["109ec7d132bf", "29f859a13ea", "3cac04ae8714"]);
    let anc = g
        .revision("2a95102259be")
        .unwrap()
        .ancestors(Edges::RevisesAndDependsOn);
    assert_eq!(anc.len(), 6);
    let desc = g
        .revision("ae1027a6acf")
        .unwrap()
        .descendants(Edges::RevisesAndDependsOn);
    assert_eq!(
        desc.iter().map(|r| r.id().as_str()).collect::<Vec<_>>(),
        ["2a95102259be", "34e094ad6ef1", "55af2cb1c267"]
    );
    // Labels: inherited up the branch and down to the branch point.
    assert_eq!(g.revision("109ec7d132bf").unwrap().labels(), ["networking"]);
    assert!(g.revision("1975ea83b712").unwrap().labels().is_empty());
}

#[test]
fn label_inherited_down_to_branch_point() {
    let g = graph(&[
        s("a000", &[], "root"),
        s("b000", &["a000"], "left"),
        s("c000", &["a000"], "right"),
        s("d000", &["c000"], "right 2"),
        S {
            labels: &["right"],
            ..s("e000", &["d000"], "right 3")
        },
    ]);
    assert_eq!(g.revision("c000").unwrap().labels(), ["right"]);
    assert!(g.revision("a000").unwrap().labels().is_empty());
    assert!(g.revision("b000").unwrap().labels().is_empty());
    assert_eq!(up(&g, NONE, "right@base+2"), ["a000", "c000"]);
}

// ---- validation ---------------------------------------------------------------------

fn build_err(list: &[S]) -> String {
    let specs = list.iter().map(|x| spec(x, "v")).collect();
    match RevisionGraph::build(specs, 12) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn validation_errors_name_file_and_line() {
    assert_eq!(
        build_err(&[s("a1", &[], "x"), s("a1", &[], "y")]),
        "v/a1_y.sql:1: revision id 'a1' is already declared at v/a1_x.sql:1"
    );
    assert_eq!(
        build_err(&[s("a1", &["zz"], "x")]),
        "v/a1_x.sql:2: revision a1 revises 'zz', which no migration file declares"
    );
    assert_eq!(
        build_err(&[S {
            deps: &["zz"],
            ..s("a1", &[], "x")
        }]),
        "v/a1_x.sql:4: revision a1 depends on 'zz', which is neither a revision id nor a branch label"
    );
    assert_eq!(
        build_err(&[s("a-1", &[], "x")]),
        "v/a-1_x.sql:1: revision id 'a-1' contains '-' (only letters, digits and '_' are allowed)"
    );
    assert!(build_err(&[s("a@b:c+", &[], "x")]).contains("contains '+', ':', '@'"));
    assert_eq!(
        build_err(&[s("abcdefghijklm", &[], "x")]),
        "v/abcdefghijklm_x.sql:1: revision id 'abcdefghijklm' is 13 characters long; the version table column holds at most 12"
    );
    assert_eq!(
        build_err(&[s("a1", &["a1"], "x")]),
        "v/a1_x.sql:2: revision a1 lists itself in revises"
    );
    assert_eq!(
        build_err(&[S {
            deps: &["a1"],
            ..s("a1", &[], "x")
        }]),
        "v/a1_x.sql:4: revision a1 lists itself in depends_on"
    );
    assert_eq!(
        build_err(&[
            S {
                labels: &["l"],
                ..s("a1", &[], "x")
            },
            S {
                labels: &["l"],
                ..s("b1", &[], "y")
            }
        ]),
        "v/b1_y.sql:5: branch label 'l' of revision b1 is already used by revision a1 (v/a1_x.sql:5)"
    );
    assert_eq!(
        build_err(&[
            s("a1", &[], "x"),
            S {
                labels: &["a1"],
                ..s("b1", &[], "y")
            }
        ]),
        "v/b1_y.sql:5: branch label 'a1' of revision b1 is the id of the revision declared at v/a1_x.sql:1"
    );
    assert!(
        build_err(&[S {
            labels: &["x@y"],
            ..s("a1", &[], "x")
        }])
        .contains("branch label 'x@y'")
    );
    assert_eq!(
        build_err(&[
            s("r1", &[], "root"),
            s("a1", &["r1", "c1"], "x"),
            s("b1", &["a1"], "y"),
            s("c1", &["b1"], "z")
        ]),
        "cycle detected in revisions (a1 (v/a1_x.sql:1) -> b1 (v/b1_y.sql:1) -> c1 (v/c1_z.sql:1))"
    );
    assert!(
        build_err(&[
            S {
                deps: &["b1"],
                ..s("a1", &[], "x")
            },
            s("b1", &["a1"], "y"),
        ])
        .starts_with("dependency cycle detected in revisions (")
    );
    assert_eq!(
        build_err(&[s("a1", &[], "x"), s("b1", &["a1", "a1"], "y")]),
        "v/b1_y.sql:2: revision b1 lists 'a1' more than once in revises"
    );
}

// ---- targets ----------------------------------------------------------------------

#[test]
fn target_parsing() {
    let p = |t: &str| Target::parse(t).unwrap();
    assert_eq!(p("base"), Target::Base);
    assert_eq!(p("ae10"), Target::Rev("ae10".into()));
    assert_eq!(p("cart@head"), Target::BranchHead("cart".into()));
    assert_eq!(p("cart@heads"), Target::BranchHeads("cart".into()));
    assert_eq!(p("cart@base"), Target::BranchBase("cart".into()));
    assert_eq!(
        p("cart@ae10"),
        Target::BranchRev {
            branch: "cart".into(),
            rev: "ae10".into()
        }
    );
    assert_eq!(
        p("-2"),
        Target::Relative {
            branch: None,
            anchor: None,
            steps: -2
        }
    );
    assert_eq!(
        p("ae10+3"),
        Target::Relative {
            branch: None,
            anchor: Some("ae10".into()),
            steps: 3
        }
    );
    for t in ["cart@-1", "head-2", "cart@ae10+1", "+1", "a:b", ""] {
        if t.contains(':') || t.is_empty() {
            assert!(Target::parse(t).is_err(), "{t}");
        } else {
            assert_eq!(p(t).to_string(), t);
        }
    }
    assert!(Target::parse("a+").is_err());
    assert!(Target::parse("a@b@c").is_err());
    assert!(Target::parse("a-b").is_err());
    let r = Range::parse("current:cart@+2").unwrap();
    assert_eq!(r.lower, Some(Target::Current));
    assert_eq!(r.to_string(), "current:cart@+2");
    assert!(Range::parse("ab").is_err());
}

/// `-0` and `+0` are no step: refused for what they are, in either command, instead
/// of each direction sending the user to the other.
#[test]
fn zero_steps_are_refused_as_no_step() {
    for (t, sign) in [("-0", '-'), ("+0", '+'), ("ae10-0", '-'), ("cart@+00", '+')] {
        assert_eq!(
            Target::parse(t).unwrap_err().to_string(),
            format!(
                "invalid revision target '{t}': {sign}0 is no step at all; give a number of steps of 1 or more (e.g. {sign}1)"
            )
        );
    }
}

/// A target or id of any length is shown cut, and its control characters escaped.
#[test]
fn long_targets_are_cut_in_messages() {
    let g = fixture_branches(false);
    let long = "a".repeat(100_000);
    let e = g
        .upgrade(NONE, &Target::parse(&long).unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "Can't locate revision identified by '{}… (100000 bytes, cut)'",
            "a".repeat(120)
        )
    );
    let e = Target::parse("ab\u{1b}[2Jc").unwrap_err().to_string();
    assert!(
        e.starts_with("invalid revision target 'ab\\u{1b}[2Jc'"),
        "{e}"
    );
    assert!(!e.contains('\u{1b}'), "{e}");
}

#[test]
fn target_resolution_errors() {
    let g = fixture_branches(false);
    let e = up_err(&g, NONE, "head");
    assert_eq!(
        e.to_string(),
        "Multiple head revisions are present for given argument 'head' (27c6a30d7c24, ae1027a6acf); please specify a specific target revision, '<branchname>@head' to narrow to a specific head, 'heads' for all heads, or merge the heads into one revision"
    );
    let g2 = graph(&[s("abc1", &[], "x"), s("abc2", &["abc1"], "y")]);
    assert_eq!(
        up_err(&g2, NONE, "abc").to_string(),
        "Ambiguous revision 'abc': it is the start of abc1, abc2; type more characters"
    );
    assert!(matches!(
        up_err(&g2, NONE, "zzzz"),
        GraphError::UnknownRevision { .. }
    ));
    // Relative walk from a branch point.
    let e = up_err(&g, &["1975ea83b712"], "+1");
    assert!(matches!(e, GraphError::AmbiguousWalk { .. }), "{e}");
    assert!(e.to_string().contains("LABEL@+N"));
    let e = up_err(&g, &["27c6a30d7c24", "ae1027a6acf"], "+1");
    assert!(
        e.to_string()
            .contains("ambiguous upgrade from multiple current revisions")
    );
    let e = down_err(&g, &["27c6a30d7c24", "ae1027a6acf"], "-1");
    assert!(e.to_string().contains("27c6a30d7c24-1"), "{e}");
    assert!(matches!(
        up_err(&g, &["27c6a30d7c24"], "+1"),
        GraphError::RelativeOutOfRange { .. }
    ));
    assert!(matches!(
        up_err(&g, NONE, "-1"),
        GraphError::InvalidTarget { .. }
    ));
    let g = fixture_branches(true);
    let e = down_err(&g, &["53fffde5ad5"], "53fffde5ad5-2");
    assert!(e.to_string().contains("merge point"), "{e}");
    let labels = fixture_labels();
    assert!(matches!(
        up_err(&labels, NONE, "shoppingcart@ae10"),
        GraphError::NotInBranch { .. }
    ));
    assert!(matches!(
        up_err(&labels, NONE, "nosuch@head"),
        GraphError::UnknownBranch { .. }
    ));
    assert!(matches!(
        g.upgrade(&["gone"], &Target::Heads),
        Err(GraphError::UnknownCurrent { .. })
    ));
}

// ---- plans --------------------------------------------------------------------------

#[test]
fn upgrade_plans_match_tutorial() {
    let g = fixture_branches(false);
    // Tutorial: "upgrade heads" runs 1975, ae10, 27c6.
    assert_eq!(
        up(&g, NONE, "heads"),
        ["1975ea83b712", "ae1027a6acf", "27c6a30d7c24"]
    );
    assert_eq!(up(&g, NONE, "27c6a"), ["1975ea83b712", "27c6a30d7c24"]);
    assert_eq!(up(&g, &["27c6a30d7c24"], "ae102"), ["ae1027a6acf"]);
    assert!(up(&g, &["ae1027a6acf"], "1975").is_empty());
    let g = fixture_labels();
    assert_eq!(
        up(&g, &["1975ea83b712"], "shoppingcart@head"),
        ["27c6a30d7c24", "d747a8a8879"]
    );
    assert_eq!(
        up(&g, &["1975ea83b712"], "shoppingcart@+1"),
        ["27c6a30d7c24"]
    );
    assert_eq!(up(&g, &["27c6a30d7c24"], "+1"), ["d747a8a8879"]);
    assert_eq!(
        up(&g, NONE, "27c6+1"),
        ["1975ea83b712", "27c6a30d7c24", "d747a8a8879"]
    );
    assert_eq!(up(&g, NONE, "d747-1"), ["1975ea83b712", "27c6a30d7c24"]);
    let g = fixture_depends();
    // Tutorial: upgrading networking pulls in the account line first.
    assert_eq!(
        up(&g, NONE, "networking@head"),
        [
            "1975ea83b712",
            "ae1027a6acf",
            "55af2cb1c267",
            "3cac04ae8714",
            "109ec7d132bf",
            "29f859a13ea",
            "2a95102259be",
        ]
    );
    assert_eq!(up(&g, NONE, "networking@+1"), ["3cac04ae8714"]);
}

#[test]
fn downgrade_plans() {
    let g = fixture_branches(false);
    let both = ["ae1027a6acf", "27c6a30d7c24"];
    assert_eq!(
        down(&g, &both, "base"),
        ["27c6a30d7c24", "ae1027a6acf", "1975ea83b712"]
    );
    assert_eq!(down(&g, &both, "1975"), ["27c6a30d7c24", "ae1027a6acf"]);
    // REV-1 names the branch point: both children go, as `downgrade 1975` (Alembic
    // 1.20.1, graph `e<`, `c<e`, `t<e` at `c,t`, `downgrade c-1`: "Running downgrade
    // c -> e" then "t -> e", current `e`). LABEL-style relative steps stay on their
    // branch.
    assert_eq!(
        down(&g, &both, "ae1027a6acf-1"),
        ["27c6a30d7c24", "ae1027a6acf"]
    );
    assert_eq!(
        down(&g, &both, "ae1027a6acf-1"),
        down(&g, &both, "1975ea83b712")
    );
    assert_eq!(down(&g, &both, "27c6a30d7c24@-1"), ["27c6a30d7c24"]);
    assert!(down(&g, &both, "ae1027a6acf").is_empty());
    let e = down_err(&g, &["ae1027a6acf"], "27c6a30d7c24");
    assert!(matches!(e, GraphError::NotReachable { .. }), "{e}");
    assert!(e.to_string().starts_with(
        "Destination 27c6a30d7c24 is not a valid downgrade target from current head(s) (ae1027a6acf)"
    ));
    assert!(down(&g, NONE, "base").is_empty());

    let g = fixture_branches(true);
    assert_eq!(
        down(&g, &["53fffde5ad5"], "base"),
        ["53fffde5ad5", "ae1027a6acf", "27c6a30d7c24", "1975ea83b712"]
    );
    assert_eq!(down(&g, &["53fffde5ad5"], "-1"), ["53fffde5ad5"]);

    let g = fixture_labels();
    let both = ["ae1027a6acf", "d747a8a8879"];
    // shoppingcart@base shares its root with the other branch: Alembic removes both.
    assert_eq!(
        down(&g, &both, "shoppingcart@base"),
        ["ae1027a6acf", "d747a8a8879", "27c6a30d7c24", "1975ea83b712"]
    );
    assert_eq!(
        down(&g, &both, "shoppingcart@1975"),
        ["d747a8a8879", "27c6a30d7c24"]
    );
    assert_eq!(down(&g, &both, "shoppingcart@-1"), ["d747a8a8879"]);

    let g = fixture_depends();
    let all = ["2a95102259be", "27c6a30d7c24", "34e094ad6ef1"];
    // An independent base: only networking goes, the dependency stays.
    assert_eq!(
        down(&g, &all, "networking@base"),
        [
            "2a95102259be",
            "29f859a13ea",
            "109ec7d132bf",
            "3cac04ae8714"
        ]
    );
    // Removing a dependency removes what depends on it.
    assert_eq!(
        down(&g, &all, "ae1027a6acf"),
        ["2a95102259be", "34e094ad6ef1", "55af2cb1c267"]
    );
}

#[test]
fn resolve_targets() {
    let g = fixture_depends();
    let r = |t: &str, cur: &[&str]| -> Vec<String> {
        g.resolve(&Target::parse(t).unwrap(), cur)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        r("heads", NONE),
        ["2a95102259be", "27c6a30d7c24", "34e094ad6ef1"]
    );
    assert!(r("base", NONE).is_empty());
    assert_eq!(r("networking@head", NONE), ["2a95102259be"]);
    assert_eq!(r("networking@3cac", NONE), ["3cac04ae8714"]);
    assert_eq!(r("-1", &["34e094ad6ef1"]), ["55af2cb1c267"]);
    assert_eq!(r("current", &["34e094ad6ef1"]), ["34e094ad6ef1"]);
}

// ---- size -------------------------------------------------------------------------

fn chain(n: usize) -> RevisionGraph {
    let specs = (0..n)
        .map(|i| RevisionSpec {
            id: format!("r{i:05}"),
            parents: if i == 0 {
                vec![]
            } else {
                vec![format!("r{:05}", i - 1)]
            },
            depends_on: vec![],
            branch_labels: if i == 0 { vec!["main".into()] } else { vec![] },
            message: format!("step {i}"),
            created: None,
            doc: None,
            origin: Origin::default(),
        })
        .collect();
    match RevisionGraph::build(specs, 64) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn ten_thousand_chain() {
    let g = chain(10_000);
    let plan = g.upgrade(NONE, &Target::Heads).unwrap();
    assert_eq!(plan.len(), 10_000);
    assert_eq!(plan.steps[0].revision.as_str(), "r00000");
    assert_eq!(plan.steps[9_999].revision.as_str(), "r09999");
    let mut heads = crate::store::Heads::from_rows(&g, NONE).unwrap();
    heads.apply_all(&g, &plan.steps).unwrap();
    assert_eq!(ids(heads.rows()), ["r09999"]);
    let down = g.downgrade(&heads.rows(), &Target::Base).unwrap();
    assert_eq!(down.len(), 10_000);
    assert_eq!(down.steps[0].revision.as_str(), "r09999");
    heads.apply_all(&g, &down.steps).unwrap();
    assert!(heads.is_empty());
    assert_eq!(history(&g, "").len(), 10_000);
    assert_eq!(up(&g, &["r05000"], "main@+2"), ["r05001", "r05002"]);
    assert_eq!(g.revision("r00000").unwrap().labels(), ["main"]);
    assert_eq!(g.revision("r09999").unwrap().labels(), ["main"]);
}

#[test]
fn ten_thousand_wide_fan() {
    let mut specs = vec![RevisionSpec {
        id: "root".into(),
        parents: vec![],
        depends_on: vec![],
        branch_labels: vec![],
        message: "root".into(),
        created: None,
        doc: None,
        origin: Origin::default(),
    }];
    for i in 0..10_000 {
        specs.push(RevisionSpec {
            id: format!("leaf{i:05}"),
            parents: vec!["root".into()],
            depends_on: vec![],
            branch_labels: vec![],
            message: String::new(),
            created: None,
            doc: None,
            origin: Origin::default(),
        });
        // And as many independent roots.
        specs.push(RevisionSpec {
            id: format!("solo{i:05}"),
            parents: vec![],
            depends_on: vec![],
            branch_labels: vec![],
            message: String::new(),
            created: None,
            doc: None,
            origin: Origin::default(),
        });
    }
    let g = match RevisionGraph::build(specs, 64) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(g.heads().len(), 20_000);
    let plan = g.upgrade(NONE, &Target::Heads).unwrap();
    assert_eq!(plan.len(), 20_001);
    let mut heads = crate::store::Heads::from_rows(&g, NONE).unwrap();
    heads.apply_all(&g, &plan.steps).unwrap();
    assert_eq!(heads.rows().len(), 20_000);
    let down = g.downgrade(&heads.rows(), &Target::Base).unwrap();
    assert_eq!(down.len(), 20_001);
    heads.apply_all(&g, &down.steps).unwrap();
    assert!(heads.is_empty());
    assert_eq!(g.branches_output(false).len(), 1);
}

#[test]
fn key_index_finds_positions_by_the_keys_items_hold() {
    let keys = ["a1", "b2", "c3", "a1"];
    let key_of = |i: usize| keys[i].as_bytes();
    let mut index = KeyIndex::with_capacity(2);
    assert_eq!(index.insert(0, key_of), Ok(()));
    assert_eq!(index.insert(1, key_of), Ok(()));
    assert_eq!(index.insert(2, key_of), Ok(()));
    assert_eq!(index.insert(3, key_of), Err(0), "a1 is taken by position 0");
    assert_eq!(index.get(b"b2", key_of), Some(1));
    assert_eq!(index.get(b"a1", key_of), Some(0));
    assert_eq!(index.get(b"zz", key_of), None);
    assert_eq!(index.get(b"", key_of), None);
}

/// Checked against Alembic 1.20.1 (scripts/alembic-diff): a prefix matches ids
/// longer than three characters only. With revisions `a1` and `abcd`, `a` names
/// abcd; with `a1` and `b2`, Alembic says `No such revision or branch 'a'; please
/// ensure at least four characters are present for partial revision identifier
/// matches`.
#[test]
fn prefixes_match_only_ids_longer_than_three_characters() {
    let g = graph(&[s("a1", &[], "short"), s("abcd", &["a1"], "long")]);
    assert_eq!(
        g.ident("a").map(|i| g.nodes[i].id.to_string()),
        Ok("abcd".to_string())
    );
    assert_eq!(
        g.ident("a1").map(|i| g.nodes[i].id.to_string()),
        Ok("a1".to_string())
    );
    let short = graph(&[s("a1", &[], "short"), s("b2", &["a1"], "other")]);
    match short.ident("a") {
        Err(GraphError::UnknownRevision { ident }) => assert_eq!(ident, "a"),
        other => panic!("expected unknown revision, got {other:?}"),
    }
}

/// A small graph in the notation `ID<PARENTS|DEPENDS_ON#LABELS` (comma-separated
/// lists), one revision per word, in load order: `"a< b<a c<|b"`.
fn tiny(text: &str) -> RevisionGraph {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let specs = text
        .split_whitespace()
        .map(|word| {
            let (word, labels) = word.split_once('#').unwrap_or((word, ""));
            let (id, rest) = word.split_once('<').unwrap();
            let (parents, deps) = rest.split_once('|').unwrap_or((rest, ""));
            RevisionSpec {
                id: id.to_string(),
                parents: list(parents),
                depends_on: list(deps),
                branch_labels: list(labels),
                message: format!("{id} msg"),
                created: None,
                doc: None,
                origin: Origin {
                    path: PathBuf::from(format!("versions/{id}.sql")),
                    revision_line: 1,
                    ..Origin::default()
                },
            }
        })
        .collect();
    match RevisionGraph::build(specs, 64) {
        Ok(g) => g,
        Err(e) => panic!("{text} does not build: {e}"),
    }
}

// Each expectation below was checked against Alembic 1.20.1 on the same graph (an
// Alembic project on SQLite, `alembic stamp` for the state); the comment quotes it.

#[test]
fn rev_minus_n_downgrades_to_the_revision_it_names() {
    // `a<`, `x<`, both applied, `downgrade a-1`: a-1 is base, so everything goes.
    // Alembic: "Running downgrade a -> , a msg", "Running downgrade x -> , x msg".
    let g = tiny("a< x<");
    assert_eq!(down(&g, &["x", "a"], "a-1"), ["a", "x"]);
    assert_eq!(down(&g, &["x", "a"], "a-1"), down(&g, &["x", "a"], "base"));
    // `e<`, `c<e`, `t<e` at `c,t`, `downgrade c-1`: Alembic reverts c then t, ends at e.
    let g = tiny("e< c<e t<e");
    assert_eq!(down(&g, &["c", "t"], "c-1"), ["c", "t"]);
    // c not applied, `downgrade c-1` at `t`: Alembic "Running downgrade t -> e".
    assert_eq!(down(&g, &["t"], "c-1"), ["t"]);
    // At e already: Alembic runs nothing and succeeds.
    assert!(down(&g, &["e"], "c-1").is_empty());
    // `downgrade c-2` at `t`: Alembic reverts t, then e.
    assert_eq!(down(&g, &["t"], "c-2"), ["t", "e"]);
    // `downgrade c-3`: Alembic "Walked too far".
    let e = down_err(&g, &["t"], "c-3");
    assert!(matches!(e, GraphError::RelativeOutOfRange { .. }), "{e}");
    // LABEL@REV-N keeps the branch: only t's side goes (Alembic: "t -> e" only).
    let g = tiny("e< c<e t<e#tb");
    assert_eq!(down(&g, &["c", "t"], "tb@t-1"), ["t"]);
}

#[test]
fn rev_minus_n_at_a_merge_point_removes_the_merge() {
    // Alembic stops with "Ambiguous walk" for `m-1`; aludel removes m, leaving a and b.
    let g = tiny("a< b<a m<a,b");
    assert_eq!(down(&g, &["m"], "m-1"), ["m"]);
    let e = down_err(&g, &["b"], "m-1");
    assert!(matches!(e, GraphError::NotReachable { .. }), "{e}");
    // The merge is the last step of n-2 too; one further (n-3) is ambiguous, as in
    // Alembic ("Ambiguous walk").
    let g = tiny("a< b<a m<a,b n<m");
    assert_eq!(down(&g, &["n"], "n-2"), ["n", "m"]);
    let e = down_err(&g, &["n"], "n-3");
    assert!(matches!(e, GraphError::AmbiguousWalk { .. }), "{e}");
}

/// The ids `history -r RANGE` lists (no database).
fn range_ids(g: &RevisionGraph, range: &str) -> Result<Vec<String>, GraphError> {
    let range = Range::parse(range).unwrap();
    Ok(g.history(&range, None::<&[&str]>)?
        .iter()
        .map(ToString::to_string)
        .collect())
}

fn show_ids(g: &RevisionGraph, target: &str) -> Result<Vec<String>, GraphError> {
    Ok(g.show_revisions(&Target::parse(target).unwrap(), NONE)?
        .iter()
        .map(ToString::to_string)
        .collect())
}

#[test]
fn history_upper_end_walks_up_to_a_head_and_stops() {
    let g = tiny("a< b<a r2< s<r2");
    // Alembic `history -r b:+2`: "a -> b (head), b msg".
    assert_eq!(range_ids(&g, "b:+2").unwrap(), ["b"]);
    // `a:+5`, `a:b+3`: Alembic lists b and a.
    assert_eq!(range_ids(&g, "a:+5").unwrap(), ["b", "a"]);
    assert_eq!(range_ids(&g, "a:b+3").unwrap(), ["b", "a"]);
    // `:+5` from two bases stays ambiguous (Alembic: "Ambiguous walk").
    let e = range_ids(&g, ":+5").unwrap_err();
    assert!(matches!(e, GraphError::AmbiguousWalk { .. }), "{e}");
    // Below base is refused rather than listing nothing (Alembic fails too).
    let e = range_ids(&g, ":a-3").unwrap_err();
    assert!(matches!(e, GraphError::RelativeOutOfRange { .. }), "{e}");
}

#[test]
fn history_range_above_only_through_depends_on() {
    // `a<`, `b<a`, `c<|b`: Alembic fails on an assertion for `history -r a:c`; the
    // range is refused with the reason, never an empty success.
    let g = tiny("a< b<a c<|b");
    let e = range_ids(&g, "a:c").unwrap_err();
    assert!(
        matches!(e, GraphError::RangeOnlyThroughDependency { .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Requested range a:c does not refer to ancestor/descendant revisions along the same branch: c is above a only through depends_on, and a range follows revises; `history -r :c` lists it with everything it needs"
    );
    // Up to the heads, the range is what lies above a (Alembic fails here too).
    assert_eq!(range_ids(&g, "a:").unwrap(), ["b", "a"]);
    assert_eq!(range_ids(&g, "a:heads").unwrap(), ["b", "a"]);
    // Alembic `history -r c:`: "<base> (b) -> c (head), c msg".
    assert_eq!(range_ids(&g, "c:").unwrap(), ["c"]);
    // A lower end on a second root that only a dependency leads up from.
    let g = tiny("r2< a< b<a|r2");
    assert_eq!(range_ids(&g, "r2:").unwrap(), ["r2"]);
    let e = range_ids(&g, "r2:b").unwrap_err();
    assert!(
        matches!(e, GraphError::RangeOnlyThroughDependency { .. }),
        "{e}"
    );
    // Alembic `history -r r2:` with a head above r2 as well: "r2 -> s", "<base> -> r2".
    let g = tiny("r2< s<r2 a< b<a|r2");
    assert_eq!(range_ids(&g, "r2:").unwrap(), ["s", "r2"]);
    // b lies above a but only the head c (outside the range) needs it: still listed.
    let g = tiny("a< b<a c<|b s<a");
    assert_eq!(range_ids(&g, "a:").unwrap(), ["b", "s", "a"]);
}

#[test]
fn label_minus_n_counts_from_the_branch_heads() {
    // Alembic's labeled-branch example: `history -r eb@-2:heads` lists d, c, b (not
    // from the database, and not the other branch).
    let g = tiny("a< b<a c<b#eb d<c x<a y<x");
    assert_eq!(range_ids(&g, "eb@-2:heads").unwrap(), ["d", "c", "b"]);
    assert_eq!(range_ids(&g, "eb@-2:").unwrap(), ["d", "c", "b"]);
    assert_eq!(range_ids(&g, "eb@-3:").unwrap(), ["d", "c", "b", "a"]);
    // Alembic `show eb@-1`: c; `show -1`: c and x (one below each head); `show eb@-3`: a.
    assert_eq!(show_ids(&g, "eb@-1").unwrap(), ["c"]);
    assert_eq!(show_ids(&g, "-1").unwrap(), ["c", "x"]);
    assert_eq!(show_ids(&g, "eb@-3").unwrap(), ["a"]);
    // eb@-4 is base (Alembic fails on it), and so is a-1 (Alembic: "Can't locate
    // revision identified by 'a-1'"): nothing to show is an error, not empty output.
    let e = show_ids(&g, "eb@-4").unwrap_err();
    assert!(matches!(e, GraphError::RelativeOutOfRange { .. }), "{e}");
    let e = show_ids(&g, "a-1").unwrap_err();
    assert!(matches!(e, GraphError::RelativeOutOfRange { .. }), "{e}");
    assert_eq!(show_ids(&g, "b-1").unwrap(), ["a"]);
}

#[test]
fn walks_below_base_count_the_steps_taken() {
    // With b applied on `a<`, `b<a`, two revisions can go: every form says so (Alembic:
    // "Relative revision -3 didn't produce 3 migrations").
    let g = tiny("a< b<a");
    for target in ["-3", "-4", "b-3", "b-4"] {
        let e = down_err(&g, &["b"], target);
        assert!(
            e.to_string()
                .ends_with("the walk went below base after 2 step(s)"),
            "{target}: {e}"
        );
        // ... and names the steps asked for, not one fewer.
        let n = target.rsplit('-').next().unwrap();
        assert!(
            e.to_string()
                .contains(&format!("didn't produce {n} migrations")),
            "{target}: {e}"
        );
    }
}

/// The ids a `stamp` target names when the version table is empty.
fn stamp_from_nothing(g: &RevisionGraph, target: &str) -> Result<Vec<String>, GraphError> {
    let found = g.stamp_target(&Target::parse(target).unwrap(), &[])?;
    Ok(g.names(&found))
}

#[test]
fn stamp_minus_n_with_no_rows_counts_from_the_one_head() {
    // Alembic 1.20.1, empty table: `stamp -1` on `a<`, `b<a`, `c<b` stamps b, `stamp -2`
    // stamps a; `stamp -3` (exactly base) fails on an AssertionError, aludel stamps base.
    let g = tiny("a< b<a c<b");
    assert_eq!(stamp_from_nothing(&g, "-1").unwrap(), ["b"]);
    assert_eq!(stamp_from_nothing(&g, "-2").unwrap(), ["a"]);
    assert!(stamp_from_nothing(&g, "-3").unwrap().is_empty());
    // `stamp -4`: Alembic stamps base; aludel refuses a walk below base, as for
    // `downgrade -N`, naming the steps it took.
    let e = stamp_from_nothing(&g, "-4").unwrap_err();
    assert!(
        e.to_string()
            .ends_with("didn't produce 4 migrations: the walk went below base after 3 step(s)"),
        "{e}"
    );
    // A row to count from is still counted from (Alembic refuses `-N` there).
    let c = g.current_indices(&["c"]).unwrap();
    let found = g.stamp_target(&Target::parse("-2").unwrap(), &c).unwrap();
    assert_eq!(g.names(&found), ["a"]);
}

#[test]
fn stamp_label_minus_n_with_no_rows_counts_from_the_branch_head() {
    // Alembic 1.20.1, empty table, `a< b<a c<b[eb] d<c x<a y<x`: `stamp eb@-1` stamps c,
    // `stamp eb@-5` stamps base (aludel: below base, refused); `stamp eb@-4` (exactly
    // base) fails on an AssertionError.
    let g = tiny("a< b<a c<b#eb d<c x<a y<x");
    assert_eq!(stamp_from_nothing(&g, "eb@-1").unwrap(), ["c"]);
    assert_eq!(stamp_from_nothing(&g, "eb@-3").unwrap(), ["a"]);
    assert!(stamp_from_nothing(&g, "eb@-4").unwrap().is_empty());
    let e = stamp_from_nothing(&g, "eb@-5").unwrap_err();
    assert!(matches!(e, GraphError::RelativeOutOfRange { .. }), "{e}");
}

#[test]
fn stamp_minus_n_with_no_rows_and_several_heads_is_ambiguous() {
    // Alembic 1.20.1, empty table, `a< b<a c<b d<a`: `stamp -1` stamps a and b, a
    // revision beside its own ancestor; on `a< b<a c<a` it fails on an AssertionError.
    // There is no one head to count from: the error names them and what to type.
    let g = tiny("a< b<a c<b d<a");
    let e = stamp_from_nothing(&g, "-1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid revision target '-1': nothing is applied to count from, so it counts \
         down from heads, and there are several (c, d); name the branch (LABEL@-N) or \
         the revision to count from (c-1)"
    );
    // Within a branch that forks, the same.
    let g = tiny("a<#lb b<a c<a");
    let e = stamp_from_nothing(&g, "lb@-1").unwrap_err();
    assert!(
        e.to_string().contains(
            "counts down from lb@heads, and there are several (b, c); name the revision \
             to count from (b-1)"
        ),
        "{e}"
    );
}

#[test]
fn stamp_label_minus_n_with_no_rows_counts_from_a_head_only_depended_on() {
    // Alembic's tutorial: c1 (shoppingcart) is no real head, d2 depends on it. Alembic
    // 1.20.1 filters its real heads by the label, finds none, and `stamp
    // shoppingcart@-1` stamps nothing; aludel counts from shoppingcart@heads, c1, as
    // `shoppingcart@head` names it in both (known.py `stamp-label-relative-depended-head`).
    let g = tiny("a< b<a c1<b#shoppingcart d1<b#networking d2<d1|c1");
    assert_eq!(stamp_from_nothing(&g, "shoppingcart@-1").unwrap(), ["b"]);
    // Alembic: `stamp networking@-2` stamps b, `stamp -1` stamps d1 (from the real head).
    assert_eq!(stamp_from_nothing(&g, "networking@-2").unwrap(), ["b"]);
    assert_eq!(stamp_from_nothing(&g, "-1").unwrap(), ["d1"]);
}

#[test]
fn label_head_in_downgrade_is_the_branch_head_as_elsewhere() {
    // lb1 is cab2's label, inherited by the merge d95; e121d shares no lineage with
    // cab2. Alembic 1.20.1 names d95 for `show`, `upgrade` and `stamp lb1@head`; its
    // `downgrade lb1@head` resolves `head` over the whole project and refuses (d95,
    // e121d), known.py `downgrade-label-head`. aludel's downgrade reads it as d95,
    // and then answers as Alembic's `downgrade d95` does.
    let g = tiny("cab7< d79<cab7 fde<d79 cab2<cab7|fde#lb1 d95<fde,cab2#lb2 e121d<fde");
    assert!(down(&g, &["d95", "e121d"], "lb1@head").is_empty());
    let e = down_err(&g, &["e121d"], "lb1@head");
    assert!(e.to_string().contains("d95 is not applied"), "{e}");
    let e = down_err(&g, &["e121d"], "d95");
    assert!(e.to_string().contains("d95 is not applied"), "{e}");
    // Where the branch itself has several heads, both refuse.
    let g = tiny("a<#x b<a c<a");
    let e = down_err(&g, &["b", "c"], "x@head");
    assert!(matches!(e, GraphError::MultipleHeads { .. }), "{e}");
}

#[test]
fn show_label_minus_n_without_a_real_head_counts_from_label_heads() {
    // Alembic's tutorial: shoppingcart ends in c1, which d2 depends on, so no real head
    // carries the label. Alembic 1.20.1 `show shoppingcart@-1` prints nothing and
    // succeeds (it counts from real heads with the label and finds none); aludel counts
    // from `shoppingcart@heads` (c1), as `stamp shoppingcart@-1` does on an empty
    // table: b (known.py `show-label-relative-depended-head`).
    let g = tiny("a< b<a c1<b#shoppingcart d1<b#networking d2<d1|c1");
    assert_eq!(show_ids(&g, "shoppingcart@-1").unwrap(), ["b"]);
    assert_eq!(show_ids(&g, "shoppingcart@-2").unwrap(), ["a"]);
    // Alembic `show networking@-1`: d1 (from d2, the real head carrying the label).
    assert_eq!(show_ids(&g, "networking@-1").unwrap(), ["d1"]);
    // Below base names what it counted from.
    let e = show_ids(&g, "shoppingcart@-3").unwrap_err();
    assert!(
        e.to_string()
            .contains("counted from shoppingcart@heads (no real head carries shoppingcart), which"),
        "{e}"
    );
}

#[test]
fn label_minus_n_coming_to_base_downgrades_the_branch_to_base() {
    // ALEMBIC_DIFF_SEED=3: c47 is a root that depends on c13; lb3 is on the merge fb8
    // of c47 and e186, whose line reaches the other root c13. One below c47 is the
    // base of lb3's branch, which holds c13 too. Alembic 1.20.1 `downgrade lb3@-1` at
    // `c47`: "c47 -> ", then "c13 -> ", no rows left, as `downgrade lb3@base`.
    // Loaded in file-name order, as the differential test's project is (the order
    // of independent steps follows load order).
    let g = tiny(
        "a<c13 b<e186 bcd<e186,f c<e186#lb2 c13< c47<|c13 e186<a,c13#lb1 f<c13 fb8<c47,e186#lb3",
    );
    assert_eq!(down(&g, &["c47"], "lb3@-1"), ["c47", "c13"]);
    assert_eq!(down(&g, &["c47"], "lb3@-1"), down(&g, &["c47"], "lb3@base"));
    // With bcd applied too, every applied descendant of c13 goes (Alembic: bcd, e186,
    // a, c47, f, c13; the same for `lb3@base`).
    assert_eq!(
        down(&g, &["bcd", "c47"], "lb3@-1"),
        ["bcd", "e186", "a", "c47", "f", "c13"]
    );
    assert_eq!(
        down(&g, &["bcd", "c47"], "lb3@-1"),
        down(&g, &["bcd", "c47"], "lb3@base")
    );
    // `stamp lb3@-1` names base as before: no row.
    let c47 = g.current_indices(&["c47"]).unwrap();
    let found = g
        .resolve_indices(&Target::parse("lb3@-1").unwrap(), &c47)
        .unwrap();
    assert!(found.is_empty(), "{found:?}");

    // SPEC's example, the repro's shape cut down: Alembic `downgrade lb3@-1` at `c47`
    // reverts c47, then c13.
    let g = tiny("c13< c47<|c13 e186<c13 fb8<c47,e186#lb3");
    assert_eq!(down(&g, &["c47"], "lb3@-1"), ["c47", "c13"]);

    // The smallest shape: a depends on the root x, the merge m of a and x carries lb.
    // Alembic `downgrade lb@-1` at `a`: a, x; at `a,y` (y revises x, off lb's
    // lineage but above its root): a, y, x. Both as `downgrade lb@base`.
    let g = tiny("a<|x m<a,x#lb x< y<x");
    assert_eq!(down(&g, &["a"], "lb@-1"), ["a", "x"]);
    assert_eq!(down(&g, &["a", "y"], "lb@-1"), ["a", "y", "x"]);
    assert_eq!(
        down(&g, &["a", "y"], "lb@-1"),
        down(&g, &["a", "y"], "lb@base")
    );
    // Where the branch's lineage has one root, coming to base reverts only that line
    // (Alembic `downgrade b@-2` at `b,x`: b, a; `-2` at `b`: b, a).
    let g = tiny("a< b<a x<");
    assert_eq!(down(&g, &["b", "x"], "b@-2"), ["b", "a"]);
    assert_eq!(down(&g, &["b"], "-2"), ["b", "a"]);
    assert_eq!(down(&g, &["b", "x"], "b@-1"), ["b"]);
}

#[test]
fn history_lower_end_past_base_from_every_head_is_base() {
    // ALEMBIC_DIFF_SEED=2: the one real head a1f is two above base, so `-3` from it
    // runs past base and the lower end is base: e128f to f68. Alembic 1.20.1 counts 3
    // down from f68 instead and lists abae to f68 (known.py
    // `history-relative-lower-below-base`).
    let g = tiny("e128f< abae<e128f abf8<abae#lb1 cb4<abf8 f68<cb4 ce5< a1f<ce5|f68");
    assert_eq!(
        range_ids(&g, "-3:f68").unwrap(),
        ["f68", "cb4", "abf8", "abae", "e128f"]
    );
    assert_eq!(
        range_ids(&g, "-3:f68").unwrap(),
        range_ids(&g, ":f68").unwrap()
    );
    // Where the walk reaches a revision both count from the head: `-1:f68` is a1f's
    // parent ce5, which f68 is not above (Alembic: "not an ancestor").
    let e = range_ids(&g, "-1:f68").unwrap_err();
    assert!(matches!(e, GraphError::RangeNotAncestor { .. }), "{e}");
}

#[test]
fn stamp_label_minus_n_counts_from_the_branch_revision_a_row_depends_on() {
    // ALEMBIC_DIFF_SEED=4: the row a depends on e12c1, lb1's branch (b's line) has no
    // row, so `lb1@-1` counts from e12c1, applied for a, and comes to base, as
    // `downgrade lb1@-1` (Alembic: reverts a and e12c1). `stamp lb1@-1 --purge` thus
    // stamps nothing; Alembic, after its purge, counts from b and stamps e12c1
    // (known.py `stamp-purge-relative`).
    let g = tiny("e12c1< e16e<e12c1 b<e12c1#lb1 a<|e12c1");
    let a = g.current_indices(&["a"]).unwrap();
    let found = g
        .stamp_target(&Target::parse("lb1@-1").unwrap(), &a)
        .unwrap();
    assert!(found.is_empty(), "{:?}", g.names(&found));
    assert_eq!(down(&g, &["a"], "lb1@-1"), ["a", "e12c1"]);
}
