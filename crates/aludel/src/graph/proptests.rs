//! Property tests over random DAGs with merges, branch points, several bases and
//! depends_on edges: plans are topologically valid, never apply twice, and the
//! version table rows always equal the newest applied revisions.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::store::Heads;

/// Builds a random graph: revision `i` revises 0, 1 or 2 earlier revisions and may
/// depend on one more; some revisions carry a label.
fn build_graph(shape: &[(u8, usize, usize, usize, bool)]) -> RevisionGraph {
    let name = |i: usize| format!("r{i:02}");
    let specs = shape
        .iter()
        .enumerate()
        .map(|(i, &(kind, a, b, c, label))| {
            let mut parents = Vec::new();
            if i > 0 {
                match kind % 5 {
                    0 => {}
                    1..=3 => parents.push(name(a % i)),
                    _ => {
                        parents.push(name(a % i));
                        if b % i != a % i {
                            parents.push(name(b % i));
                        }
                    }
                }
            }
            let depends_on = if i > 0 && c % 4 == 0 {
                vec![name((c / 4) % i)]
            } else {
                vec![]
            };
            RevisionSpec {
                id: name(i),
                parents,
                depends_on,
                branch_labels: if label { vec![format!("l{i}")] } else { vec![] },
                message: format!("m{i}"),
                created: None,
                doc: None,
                origin: Origin::default(),
            }
        })
        .collect();
    match RevisionGraph::build(specs, 64) {
        Ok(g) => g,
        Err(e) => panic!("generated graph is invalid: {e}"),
    }
}

fn shapes() -> impl Strategy<Value = Vec<(u8, usize, usize, usize, bool)>> {
    prop::collection::vec(
        (
            any::<u8>(),
            any::<usize>(),
            any::<usize>(),
            0usize..64,
            prop::bool::weighted(0.15),
        ),
        1..28,
    )
}

/// Parents and dependencies of `i`.
fn needs(g: &RevisionGraph, i: usize) -> Vec<usize> {
    let n = g.node(i);
    n.parents.iter().chain(&n.deps).copied().collect()
}

/// The applied revisions nothing applied revises or depends on.
fn newest(g: &RevisionGraph, applied: &[bool]) -> BTreeSet<String> {
    (0..g.len())
        .filter(|&i| applied[i] && !g.node(i).all_children().iter().any(|&c| applied[c]))
        .map(|i| g.node(i).id.to_string())
        .collect()
}

fn row_set(h: &Heads) -> BTreeSet<String> {
    h.rows().into_iter().map(ToString::to_string).collect()
}

/// Checks the plan step by step against `applied`, applies it to `heads`, and checks
/// the rows after every step.
fn run_plan(
    g: &RevisionGraph,
    plan: &Plan,
    applied: &mut [bool],
    heads: &mut Heads,
) -> Result<(), TestCaseError> {
    for step in &plan.steps {
        let i = g
            .index_of(step.revision.as_str())
            .ok_or_else(|| TestCaseError::fail(format!("unknown revision {}", step.revision)))?;
        prop_assert_eq!(step.direction, plan.direction);
        match step.direction {
            Direction::Upgrade => {
                prop_assert!(!applied[i], "{} applied twice", step.revision);
                for p in needs(g, i) {
                    prop_assert!(
                        applied[p],
                        "{} before its need {}",
                        step.revision,
                        g.node(p).id
                    );
                }
                applied[i] = true;
            }
            Direction::Downgrade => {
                prop_assert!(applied[i], "{} removed but not applied", step.revision);
                for &c in g.node(i).all_children() {
                    prop_assert!(
                        !applied[c],
                        "{} removed under {}",
                        step.revision,
                        g.node(c).id
                    );
                }
                applied[i] = false;
            }
        }
        heads
            .apply(g, step)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", step.revision)))?;
        prop_assert_eq!(row_set(heads), newest(g, applied));
    }
    Ok(())
}

/// A reachable state: everything below some chosen revisions.
fn state(g: &RevisionGraph, picks: &[usize]) -> (Vec<bool>, Vec<String>) {
    let seeds: Vec<usize> = picks.iter().map(|p| p % g.len()).collect();
    let applied = g.ancestors_of(&seeds, Edges::RevisesAndDependsOn);
    let rows = newest(g, &applied).into_iter().collect();
    (applied, rows)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn up_to_heads_then_down_to_base(shape in shapes()) {
        let g = build_graph(&shape);
        let mut applied = vec![false; g.len()];
        let mut heads = Heads::from_rows(&g, &[] as &[&str]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let plan = g.upgrade(&[] as &[&str], &Target::Heads).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plan.len(), g.len());
        run_plan(&g, &plan, &mut applied, &mut heads)?;
        let real: BTreeSet<String> = g.real_heads().iter().map(ToString::to_string).collect();
        prop_assert_eq!(row_set(&heads), real);

        let rows: Vec<String> = heads.rows().into_iter().map(ToString::to_string).collect();
        let plan = g.downgrade(&rows, &Target::Base).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plan.len(), g.len());
        run_plan(&g, &plan, &mut applied, &mut heads)?;
        prop_assert!(heads.is_empty());
    }

    #[test]
    fn upgrade_from_any_state_reaches_heads(shape in shapes(), picks in prop::collection::vec(any::<usize>(), 0..4)) {
        let g = build_graph(&shape);
        let (mut applied, rows) = state(&g, &picks);
        let before = applied.iter().filter(|a| **a).count();
        let mut heads = Heads::from_rows(&g, &rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(row_set(&heads), rows.iter().cloned().collect::<BTreeSet<_>>());
        let plan = g.upgrade(&rows, &Target::Heads).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plan.len() + before, g.len());
        run_plan(&g, &plan, &mut applied, &mut heads)?;
        let real: BTreeSet<String> = g.real_heads().iter().map(ToString::to_string).collect();
        prop_assert_eq!(row_set(&heads), real);
    }

    #[test]
    fn downgrade_to_a_revision_removes_what_is_above_it(
        shape in shapes(),
        picks in prop::collection::vec(any::<usize>(), 1..4),
        target in any::<usize>(),
    ) {
        let g = build_graph(&shape);
        let (mut applied, rows) = state(&g, &picks);
        let t = target % g.len();
        let mut heads = Heads::from_rows(&g, &rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let result = g.downgrade(&rows, &Target::Rev(g.node(t).id.to_string()));
        match result {
            Ok(plan) => {
                prop_assert!(applied[t]);
                run_plan(&g, &plan, &mut applied, &mut heads)?;
                prop_assert!(applied[t]);
                let above = g.descendants_of(&g.node(t).children, Edges::RevisesAndDependsOn);
                for i in 0..g.len() {
                    prop_assert!(!(above[i] && applied[i]), "{} still applied", g.node(i).id);
                }
            }
            Err(GraphError::NotReachable { .. }) => {
                // Only when the target is not applied or nothing above it is.
                let above = g.descendants_of(&g.node(t).children, Edges::RevisesAndDependsOn);
                let rows_idx: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
                prop_assert!(!applied[t] || (!(0..g.len()).any(|i| above[i] && applied[i]) && !rows_idx.contains(&t)));
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }

    #[test]
    fn relative_downgrade_of_one_step(shape in shapes(), picks in prop::collection::vec(any::<usize>(), 1..2)) {
        let g = build_graph(&shape);
        let (mut applied, rows) = state(&g, &picks);
        prop_assume!(rows.len() == 1);
        let mut heads = Heads::from_rows(&g, &rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let target = Target::parse("-1").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let plan = g.downgrade(&rows, &target).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plan.steps[0].revision.as_str(), rows[0].as_str());
        run_plan(&g, &plan, &mut applied, &mut heads)?;
    }

    #[test]
    fn rev_minus_n_downgrades_as_the_revision_it_names(
        shape in shapes(),
        picks in prop::collection::vec(any::<usize>(), 1..4),
        anchor in any::<usize>(),
        steps in 1i64..4,
    ) {
        // Alembic reads `REV-N` as the revision N below REV; the plan must be the one
        // for that revision (or `base`), whatever the database holds.
        let g = build_graph(&shape);
        let (_, rows) = state(&g, &picks);
        let x = g.node(anchor % g.len()).id.to_string();
        let relative = Target::parse(&format!("{x}-{steps}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(named) = g.resolve(&relative, &rows) else {
            return Ok(());
        };
        // Below a merge point the walk names both parents: aludel then removes the merge.
        prop_assume!(named.len() <= 1);
        let absolute = match named.first() {
            Some(id) => Target::Rev(id.to_string()),
            None => Target::Base,
        };
        let a = g.downgrade(&rows, &relative).map_err(|e| e.to_string());
        let b = g.downgrade(&rows, &absolute).map_err(|e| e.to_string());
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "{relative}: {a:?} but {absolute}: {b:?}"),
        }
    }

    #[test]
    fn stamp_then_upgrade_to_it_is_empty(
        shape in shapes(),
        picks in prop::collection::vec(any::<usize>(), 0..4),
        target in any::<usize>(),
        purge in any::<bool>(),
    ) {
        let g = build_graph(&shape);
        let (_, rows) = state(&g, &picks);
        let x = g.node(target % g.len()).id.to_string();
        let mut heads = Heads::from_rows(&g, &rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        heads
            .stamp(&g, &[Target::Rev(x.clone())], purge)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(heads.rows().iter().any(|r| r.as_str() == x));
        let now: Vec<String> = heads.rows().into_iter().map(ToString::to_string).collect();
        let plan = g.upgrade(&now, &Target::Rev(x)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(plan.is_empty());
    }

    #[test]
    fn history_lists_every_revision_once_newest_first(shape in shapes()) {
        let g = build_graph(&shape);
        let order = g.history(&Range::default(), None::<&[&str]>).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(order.len(), g.len());
        let mut seen = vec![false; g.len()];
        for id in &order {
            let i = g.index_of(id.as_str()).ok_or_else(|| TestCaseError::fail("unknown"))?;
            for &c in g.node(i).all_children() {
                prop_assert!(seen[c], "{} listed before its child {}", id, g.node(c).id);
            }
            seen[i] = true;
        }
    }
}
