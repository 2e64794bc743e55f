//! Version-table semantics, pure: which rows each step or stamp inserts, updates and
//! deletes, following Alembic's `HeadMaintainer`, `RevisionStep` and `StampStep`.
//!
//! The table holds one row per current head. Here the rows are always exactly the
//! applied revisions that no applied revision revises or depends on; Alembic's rules
//! (create branch, merge, unmerge, delete branch, update) produce exactly that for
//! every valid plan, and this module computes them from the applied set, which also
//! covers the cases where Alembic's own bookkeeping asserts or picks arbitrarily.
//!
//! ```
//! use aludel::graph::{Origin, RevisionGraph, RevisionSpec, Target};
//! use aludel::store::{Heads, HeadsChange};
//! # let spec = |id: &str, parents: &[&str]| RevisionSpec { id: id.into(),
//! #     parents: parents.iter().map(|p| p.to_string()).collect(), depends_on: vec![],
//! #     branch_labels: vec![], message: String::new(), created: None, doc: None,
//! #     origin: Origin::default() };
//! let graph = RevisionGraph::build(vec![spec("a1", &[]), spec("b2", &["a1"])], 64).unwrap();
//! let mut heads = Heads::from_rows(&graph, &[] as &[&str]).unwrap();
//! let plan = graph.upgrade(&heads.rows(), &Target::Heads).unwrap();
//! let changes: Vec<HeadsChange> = plan
//!     .steps
//!     .iter()
//!     .map(|step| heads.apply(&graph, step).unwrap())
//!     .collect();
//! assert_eq!(changes[0].to_string(), "insert a1");
//! assert_eq!(changes[1].to_string(), "update a1 to b2");
//! assert_eq!(heads.rows()[0].as_str(), "b2");
//! ```

use std::fmt;

use crate::graph::{Direction, Edges, GraphError, RevisionGraph, RevisionId, Step, Target};

/// Errors applying a step or stamp to the version table rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The version table holds a revision no file declares.
    #[error(
        "the version table holds revision '{0}', which no migration file declares; restore its file or fix the table with 'stamp --purge'"
    )]
    UnknownRow(String),
    /// These heads were built against another graph.
    #[error("the version table state was built for a different revision graph")]
    ForeignGraph,
    /// A revision that is already applied was to be upgraded again.
    #[error("revision {0} is already applied")]
    AlreadyApplied(String),
    /// A revision was to be upgraded before one of its parents or dependencies.
    #[error("revision {rev} can't be applied before {missing}")]
    Missing {
        /// The revision.
        rev: String,
        /// The parent or dependency not yet applied.
        missing: String,
    },
    /// A revision was to be downgraded while it is not a current head.
    #[error("revision {rev} can't be downgraded: {reason}")]
    NotAHead {
        /// The revision.
        rev: String,
        /// Why not.
        reason: String,
    },
    /// Two stamp targets overlap.
    #[error(
        "stamp targets overlap: {ancestor} is an ancestor of {descendant}; stamp only {descendant}"
    )]
    StampOverlap {
        /// The older target.
        ancestor: String,
        /// The newer target.
        descendant: String,
    },
    /// `base` was combined with other stamp targets.
    #[error(
        "stamp base can't be combined with other revisions; stamp the revisions with --purge instead"
    )]
    StampBaseMixed,
    /// A stamp target could not be resolved.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// One change to the version table, in Alembic's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeadsChange {
    /// A new branch: insert a row.
    Insert(RevisionId),
    /// A branch ends: delete a row.
    Delete(RevisionId),
    /// Move one row.
    Update {
        /// The old value.
        from: RevisionId,
        /// The new value.
        to: RevisionId,
    },
    /// Several rows join: delete `delete`, then update `from` to `to`.
    Merge {
        /// Rows to delete first.
        delete: Vec<RevisionId>,
        /// The row to update.
        from: RevisionId,
        /// Its new value.
        to: RevisionId,
    },
    /// A merge point goes away: insert `insert`, then update `from` to `to`.
    Unmerge {
        /// Rows to insert first.
        insert: Vec<RevisionId>,
        /// The row to update.
        from: RevisionId,
        /// Its new value.
        to: RevisionId,
    },
    /// Delete every row (`stamp --purge`).
    Purge,
}

/// One SQL statement's worth of a [`HeadsChange`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowOp {
    /// `INSERT ... VALUES ('id')`.
    Insert(RevisionId),
    /// `DELETE ... WHERE version_num = 'id'`.
    Delete(RevisionId),
    /// `UPDATE ... SET version_num = 'to' WHERE version_num = 'from'`.
    Update {
        /// The old value.
        from: RevisionId,
        /// The new value.
        to: RevisionId,
    },
    /// `DELETE FROM` the whole table.
    DeleteAll,
}

impl HeadsChange {
    /// The statements in Alembic's order (merge: deletes then update; unmerge: inserts
    /// then update).
    pub fn row_ops(&self) -> Vec<RowOp> {
        match self {
            HeadsChange::Insert(id) => vec![RowOp::Insert(id.clone())],
            HeadsChange::Delete(id) => vec![RowOp::Delete(id.clone())],
            HeadsChange::Update { from, to } => vec![RowOp::Update {
                from: from.clone(),
                to: to.clone(),
            }],
            HeadsChange::Merge { delete, from, to } => delete
                .iter()
                .map(|d| RowOp::Delete(d.clone()))
                .chain([RowOp::Update {
                    from: from.clone(),
                    to: to.clone(),
                }])
                .collect(),
            HeadsChange::Unmerge { insert, from, to } => insert
                .iter()
                .map(|i| RowOp::Insert(i.clone()))
                .chain([RowOp::Update {
                    from: from.clone(),
                    to: to.clone(),
                }])
                .collect(),
            HeadsChange::Purge => vec![RowOp::DeleteAll],
        }
    }
}

fn join(ids: &[RevisionId]) -> String {
    ids.iter()
        .map(RevisionId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for HeadsChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadsChange::Insert(id) => write!(f, "insert {id}"),
            HeadsChange::Delete(id) => write!(f, "delete {id}"),
            HeadsChange::Update { from, to } => write!(f, "update {from} to {to}"),
            HeadsChange::Merge { delete, from, to } => {
                write!(f, "merge, delete {}, update {from} to {to}", join(delete))
            }
            HeadsChange::Unmerge { insert, from, to } => {
                write!(f, "unmerge, insert {}, update {from} to {to}", join(insert))
            }
            HeadsChange::Purge => f.write_str("purge"),
        }
    }
}

/// The version table rows, plus the applied revisions they imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heads {
    /// Rows in table order; removed rows leave a hole until the next compaction, so
    /// that deleting one row of many is O(1).
    slots: Vec<Option<(usize, RevisionId)>>,
    /// Per revision: its slot, or `NO_SLOT`.
    slot_of: Vec<usize>,
    live: usize,
    applied: Vec<bool>,
    /// Per revision: how many revisions revising or depending on it are applied; zero
    /// means nothing applied sits above it.
    applied_above: Vec<u32>,
    graph: u64,
}

const NO_SLOT: usize = usize::MAX;

impl Heads {
    /// The state for these rows (as read from the table, in any order). Rows must be
    /// known revisions; duplicates are ignored.
    pub fn from_rows<S: AsRef<str>>(
        graph: &RevisionGraph,
        rows: &[S],
    ) -> Result<Heads, StoreError> {
        let n = graph.len();
        let mut heads = Heads {
            slots: Vec::new(),
            slot_of: vec![NO_SLOT; n],
            live: 0,
            applied: vec![false; n],
            applied_above: vec![0; n],
            graph: graph.instance(),
        };
        for r in rows {
            let r = r.as_ref();
            let i = graph
                .index_of(r)
                .ok_or_else(|| StoreError::UnknownRow(r.to_string()))?;
            if !heads.is_row(i) {
                heads.push_row(graph, i);
            }
        }
        heads.recompute_applied(graph);
        Ok(heads)
    }

    /// The rows, in table order (new rows last).
    pub fn rows(&self) -> Vec<&RevisionId> {
        self.slots.iter().flatten().map(|(_, id)| id).collect()
    }

    /// Whether the table is empty (the database is at base).
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether `id` is applied (a row or below one, dependencies included).
    pub fn is_applied(&self, graph: &RevisionGraph, id: &str) -> bool {
        graph
            .index_of(id)
            .is_some_and(|i| self.applied.get(i) == Some(&true))
    }

    fn check(&self, graph: &RevisionGraph) -> Result<(), StoreError> {
        if graph.instance() == self.graph && graph.len() == self.applied.len() {
            Ok(())
        } else {
            Err(StoreError::ForeignGraph)
        }
    }

    fn is_row(&self, i: usize) -> bool {
        self.slot_of[i] != NO_SLOT
    }

    fn row_indices(&self) -> Vec<usize> {
        self.slots.iter().flatten().map(|(i, _)| *i).collect()
    }

    fn push_row(&mut self, graph: &RevisionGraph, i: usize) {
        self.slot_of[i] = self.slots.len();
        self.slots.push(Some((i, graph.node(i).id.clone())));
        self.live += 1;
    }

    fn remove_row(&mut self, i: usize) {
        let slot = std::mem::replace(&mut self.slot_of[i], NO_SLOT);
        if slot == NO_SLOT {
            return;
        }
        self.slots[slot] = None;
        self.live -= 1;
        if self.slots.len() > 16 && self.live * 2 < self.slots.len() {
            self.slots.retain(Option::is_some);
            for (k, (r, _)) in self.slots.iter().flatten().enumerate() {
                self.slot_of[*r] = k;
            }
        }
    }

    /// Updates a row in place, keeping its position in the table.
    fn replace_row(&mut self, graph: &RevisionGraph, from: usize, to: usize) {
        let slot = std::mem::replace(&mut self.slot_of[from], NO_SLOT);
        if slot != NO_SLOT {
            self.slots[slot] = Some((to, graph.node(to).id.clone()));
            self.slot_of[to] = slot;
        }
    }

    fn recompute_applied(&mut self, graph: &RevisionGraph) {
        self.applied = graph.ancestors_of(&self.row_indices(), Edges::RevisesAndDependsOn);
        self.applied_above = vec![0; self.applied.len()];
        for i in 0..self.applied.len() {
            if self.applied[i] {
                self.mark(graph, i, true);
            }
        }
    }

    /// Records `i` as applied or not, keeping the counts of its parents current.
    fn mark(&mut self, graph: &RevisionGraph, i: usize, applied: bool) {
        self.applied[i] = applied;
        let node = graph.node(i);
        // Dependencies that are also parents count once, as in `all_children`.
        let ups = node
            .parents
            .iter()
            .chain(node.deps.iter().filter(|d| !node.parents.contains(d)));
        for &p in ups {
            if applied {
                self.applied_above[p] += 1;
            } else {
                self.applied_above[p] -= 1;
            }
        }
    }

    fn id(graph: &RevisionGraph, i: usize) -> RevisionId {
        graph.node(i).id.clone()
    }

    /// Applies one step and returns the row change it makes.
    ///
    /// Upgrade of R (Alembic's `RevisionStep`, with D = R's parents and dependencies
    /// not already needed by its ancestors): no row in D → insert R (new branch);
    /// several rows in D → merge them into R; one → update it to R. Downgrade of R:
    /// the members of D that become newest again (not below another remaining
    /// revision, not already rows) replace R: none → delete R, one → update, several
    /// → unmerge. A dependency that is also a row is thus merged away when a revision
    /// depending on it is applied, and restored when that revision is downgraded.
    pub fn apply(&mut self, graph: &RevisionGraph, step: &Step) -> Result<HeadsChange, StoreError> {
        self.check(graph)?;
        let r =
            graph
                .index_of(step.revision.as_str())
                .ok_or_else(|| GraphError::UnknownRevision {
                    ident: step.revision.to_string(),
                })?;
        let node = graph.node(r);
        match step.direction {
            Direction::Upgrade => {
                if self.applied[r] {
                    return Err(StoreError::AlreadyApplied(node.id.to_string()));
                }
                if let Some(&m) = node
                    .parents
                    .iter()
                    .chain(&node.deps)
                    .find(|&&p| !self.applied[p])
                {
                    return Err(StoreError::Missing {
                        rev: node.id.to_string(),
                        missing: graph.node(m).id.to_string(),
                    });
                }
                let present: Vec<usize> = node
                    .norm_down()
                    .iter()
                    .copied()
                    .filter(|&d| self.is_row(d))
                    .collect();
                let change = match present.as_slice() {
                    [] => {
                        self.push_row(graph, r);
                        HeadsChange::Insert(node.id.clone())
                    }
                    [one] => {
                        self.replace_row(graph, *one, r);
                        HeadsChange::Update {
                            from: Self::id(graph, *one),
                            to: node.id.clone(),
                        }
                    }
                    [delete @ .., last] => {
                        for &d in delete {
                            self.remove_row(d);
                        }
                        self.replace_row(graph, *last, r);
                        HeadsChange::Merge {
                            delete: delete.iter().map(|&d| Self::id(graph, d)).collect(),
                            from: Self::id(graph, *last),
                            to: node.id.clone(),
                        }
                    }
                };
                self.mark(graph, r, true);
                Ok(change)
            }
            Direction::Downgrade => {
                if !self.is_row(r) {
                    let reason = if self.applied[r] {
                        "it is not a current head; downgrade the revisions above it first"
                    } else {
                        "it is not applied"
                    };
                    return Err(StoreError::NotAHead {
                        rev: node.id.to_string(),
                        reason: reason.to_string(),
                    });
                }
                if self.applied_above[r] > 0 {
                    let c = node
                        .all_children()
                        .iter()
                        .copied()
                        .find(|&c| self.applied[c])
                        .unwrap_or(r);
                    return Err(StoreError::NotAHead {
                        rev: node.id.to_string(),
                        reason: format!("{} is applied above it", graph.node(c).id),
                    });
                }
                self.mark(graph, r, false);
                let to: Vec<usize> = node
                    .norm_down()
                    .iter()
                    .copied()
                    .filter(|&d| !self.is_row(d) && self.applied_above[d] == 0)
                    .collect();
                Ok(match to.as_slice() {
                    [] => {
                        self.remove_row(r);
                        HeadsChange::Delete(node.id.clone())
                    }
                    [one] => {
                        self.replace_row(graph, r, *one);
                        HeadsChange::Update {
                            from: node.id.clone(),
                            to: Self::id(graph, *one),
                        }
                    }
                    [insert @ .., last] => {
                        for &i in insert {
                            self.push_row(graph, i);
                        }
                        self.replace_row(graph, r, *last);
                        HeadsChange::Unmerge {
                            insert: insert.iter().map(|&i| Self::id(graph, i)).collect(),
                            from: node.id.clone(),
                            to: Self::id(graph, *last),
                        }
                    }
                })
            }
        }
    }

    /// Applies every step of a plan, returning each step with its change.
    pub fn apply_all<'p>(
        &mut self,
        graph: &RevisionGraph,
        steps: &'p [Step],
    ) -> Result<Vec<(&'p Step, HeadsChange)>, StoreError> {
        steps
            .iter()
            .map(|s| self.apply(graph, s).map(|c| (s, c)))
            .collect()
    }

    /// `stamp TARGET...`: the row changes that make the table say the database is at
    /// the targets, without running migrations (Alembic's `_stamp_revs`).
    ///
    /// Per target T: the rows sharing a lineage with T (dependencies included) are
    /// replaced by T (one update, or a merge when several), or T is inserted as a new
    /// branch when none does; T already a row changes nothing. `base` deletes every
    /// row, `LABEL@base` the rows of that branch. With `purge` every row is deleted
    /// first. `-N` counts down from the rows (before the purge), or from the head when
    /// there is no row; several heads, or a walk below base, are errors. Defined
    /// answers where Alembic misbehaves: targets where one is an
    /// ancestor of another are an error (Alembic would store both); `base` mixed with
    /// revisions is an error; each target only replaces rows of its own lineage
    /// (Alembic can fold unrelated rows of one target into another).
    pub fn stamp(
        &mut self,
        graph: &RevisionGraph,
        targets: &[Target],
        purge: bool,
    ) -> Result<Vec<HeadsChange>, StoreError> {
        self.check(graph)?;
        // Targets relative to the database (`-N`) count from the rows as they were
        // before a purge, so that the same target names the same place with and
        // without it; with no row at all, from the head (`RevisionGraph::stamp_target`).
        let rows_before = self.row_indices();
        let mut changes = Vec::new();
        if purge {
            changes.push(HeadsChange::Purge);
            self.slots.clear();
            self.slot_of.fill(NO_SLOT);
            self.live = 0;
            self.recompute_applied(graph);
        }
        // A walk down that ends below the first revision names base (of its branch):
        // it empties the table (or the branch's rows) like `base`, not nothing at all.
        let mut named = Vec::with_capacity(targets.len().max(1));
        for t in targets {
            named.push(match t {
                Target::Relative { branch, steps, .. }
                    if *steps < 0 && graph.stamp_target(t, &rows_before)?.is_empty() =>
                {
                    branch.clone().map_or(Target::Base, Target::BranchBase)
                }
                _ => t.clone(),
            });
        }
        if named.is_empty() {
            named.push(Target::Base);
        }
        let targets = &named[..];
        let is_base = |t: &Target| matches!(t, Target::Base | Target::BranchBase(_));
        if targets.len() > 1 && targets.iter().any(is_base) {
            return Err(StoreError::StampBaseMixed);
        }

        if let [t] = targets
            && is_base(t)
        {
            let doomed: Vec<usize> = match t.branch() {
                Some(b) => {
                    let l = graph.lineage(graph.branch_rev(b)?, Edges::RevisesAndDependsOn);
                    self.row_indices().into_iter().filter(|&r| l[r]).collect()
                }
                None => self.row_indices(),
            };
            for r in doomed {
                self.remove_row(r);
                changes.push(HeadsChange::Delete(Self::id(graph, r)));
            }
            self.recompute_applied(graph);
            return Ok(changes);
        }

        let mut dests: Vec<usize> = Vec::new();
        for t in targets {
            for d in graph.stamp_target(t, &rows_before)? {
                if !dests.contains(&d) {
                    dests.push(d);
                }
            }
        }
        for &d in &dests {
            let below = graph.ancestors_of(graph.node(d).norm_down(), Edges::RevisesAndDependsOn);
            if let Some(&a) = dests.iter().find(|&&a| a != d && below[a]) {
                return Err(StoreError::StampOverlap {
                    ancestor: Self::id(graph, a).to_string(),
                    descendant: Self::id(graph, d).to_string(),
                });
            }
        }

        for d in dests {
            if self.is_row(d) {
                continue;
            }
            let l = graph.lineage(d, Edges::RevisesAndDependsOn);
            let related: Vec<usize> = self.row_indices().into_iter().filter(|&r| l[r]).collect();
            let change = match related.as_slice() {
                [] => {
                    self.push_row(graph, d);
                    HeadsChange::Insert(Self::id(graph, d))
                }
                [one] => {
                    self.replace_row(graph, *one, d);
                    HeadsChange::Update {
                        from: Self::id(graph, *one),
                        to: Self::id(graph, d),
                    }
                }
                [delete @ .., last] => {
                    for &x in delete {
                        self.remove_row(x);
                    }
                    self.replace_row(graph, *last, d);
                    HeadsChange::Merge {
                        delete: delete.iter().map(|&x| Self::id(graph, x)).collect(),
                        from: Self::id(graph, *last),
                        to: Self::id(graph, d),
                    }
                }
            };
            changes.push(change);
            self.recompute_applied(graph);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::{fixture_branches, fixture_depends, fixture_linear};

    fn rows(h: &Heads) -> Vec<&str> {
        h.rows().into_iter().map(RevisionId::as_str).collect()
    }

    fn run(graph: &RevisionGraph, heads: &mut Heads, target: &str, up: bool) -> Vec<String> {
        let t = Target::parse(target).unwrap();
        let plan = if up {
            graph.upgrade(&heads.rows(), &t).unwrap()
        } else {
            graph.downgrade(&heads.rows(), &t).unwrap()
        };
        plan.steps
            .iter()
            .map(|s| heads.apply(graph, s).unwrap().to_string())
            .collect()
    }

    #[test]
    fn linear_insert_update_delete() {
        let g = fixture_linear();
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        assert_eq!(
            run(&g, &mut h, "head", true),
            [
                "insert 1975ea83b712",
                "update 1975ea83b712 to ae1027a6acf",
                "update ae1027a6acf to 55af2cb1c267"
            ]
        );
        assert_eq!(
            run(&g, &mut h, "base", false),
            [
                "update 55af2cb1c267 to ae1027a6acf",
                "update ae1027a6acf to 1975ea83b712",
                "delete 1975ea83b712"
            ]
        );
        assert!(h.is_empty());
    }

    #[test]
    fn branches_and_merge_rows_match_alembic_sql() {
        // The "merge mechanics" SQL of Alembic's branches tutorial.
        let g = fixture_branches(true);
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        assert_eq!(
            run(&g, &mut h, "head", true),
            [
                "insert 1975ea83b712",
                "update 1975ea83b712 to 27c6a30d7c24",
                "insert ae1027a6acf",
                "merge, delete ae1027a6acf, update 27c6a30d7c24 to 53fffde5ad5"
            ]
        );
        assert_eq!(
            run(&g, &mut h, "-1", false),
            ["unmerge, insert ae1027a6acf, update 53fffde5ad5 to 27c6a30d7c24"]
        );
        assert_eq!(rows(&h), ["27c6a30d7c24", "ae1027a6acf"]);
        // Tutorial: downgrading one branch of two deletes its row. `REV@-1` keeps to
        // the branch; `REV-1` would name the branch point and remove both (Alembic
        // 1.20.1, graph `e<`, `c<e`, `t<e` at `c,t`: `downgrade c@-1` reverts c only,
        // `downgrade c-1` reverts c and t).
        assert_eq!(
            run(&g, &mut h, "ae1027a6acf@-1", false),
            ["delete ae1027a6acf"]
        );
        assert_eq!(rows(&h), ["27c6a30d7c24"]);
    }

    #[test]
    fn dependency_row_is_merged_away_and_restored() {
        let g = fixture_depends();
        let mut h = Heads::from_rows(&g, &["55af2cb1c267", "29f859a13ea"]).unwrap();
        assert_eq!(
            run(&g, &mut h, "networking@head", true),
            ["merge, delete 29f859a13ea, update 55af2cb1c267 to 2a95102259be"]
        );
        assert_eq!(rows(&h), ["2a95102259be"]);
        assert_eq!(
            run(&g, &mut h, "networking@-1", false),
            ["unmerge, insert 29f859a13ea, update 2a95102259be to 55af2cb1c267"]
        );
        let mut rows_now = rows(&h);
        rows_now.sort_unstable();
        assert_eq!(rows_now, ["29f859a13ea", "55af2cb1c267"]);
    }

    #[test]
    fn dependency_only_applied_is_not_a_row() {
        let g = fixture_depends();
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        run(&g, &mut h, "networking@head", true);
        assert_eq!(rows(&h), ["2a95102259be"]);
        assert!(h.is_applied(&g, "55af2cb1c267"));
        let shown = g.current_revisions(&h.rows()).unwrap();
        assert_eq!(
            shown.iter().map(RevisionId::as_str).collect::<Vec<_>>(),
            ["2a95102259be", "55af2cb1c267"]
        );
    }

    #[test]
    fn apply_refuses_invalid_steps() {
        let g = fixture_linear();
        let mut h = Heads::from_rows(&g, &["ae1027a6acf"]).unwrap();
        let step = |id: &str, direction| Step {
            revision: g.revision(id).unwrap().id().clone(),
            direction,
        };
        assert!(matches!(
            h.apply(&g, &step("1975ea83b712", Direction::Upgrade)),
            Err(StoreError::AlreadyApplied(_))
        ));
        assert!(matches!(
            h.apply(&g, &step("1975ea83b712", Direction::Downgrade)),
            Err(StoreError::NotAHead { .. })
        ));
        let other = fixture_linear();
        assert_eq!(
            h.apply(&other, &step("55af2cb1c267", Direction::Upgrade)),
            Err(StoreError::ForeignGraph)
        );
        assert!(matches!(
            Heads::from_rows(&g, &["nope"]),
            Err(StoreError::UnknownRow(_))
        ));
    }

    fn stamp(g: &RevisionGraph, h: &mut Heads, targets: &[&str], purge: bool) -> Vec<String> {
        let targets: Vec<Target> = targets.iter().map(|t| Target::parse(t).unwrap()).collect();
        h.stamp(g, &targets, purge)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn stamp_moves_rows_like_alembic() {
        let g = fixture_branches(false);
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        assert_eq!(
            stamp(&g, &mut h, &["1975ea83b712"], false),
            ["insert 1975ea83b712"]
        );
        assert_eq!(
            stamp(&g, &mut h, &["heads"], false),
            ["update 1975ea83b712 to 27c6a30d7c24", "insert ae1027a6acf"]
        );
        assert_eq!(stamp(&g, &mut h, &["heads"], false), Vec::<String>::new());
        assert_eq!(
            stamp(&g, &mut h, &["1975"], false),
            ["merge, delete 27c6a30d7c24, update ae1027a6acf to 1975ea83b712"]
        );
        assert_eq!(stamp(&g, &mut h, &["base"], false), ["delete 1975ea83b712"]);
        assert!(h.is_empty());
        stamp(&g, &mut h, &["ae10"], false);
        assert_eq!(
            stamp(&g, &mut h, &["27c6"], true),
            ["purge", "insert 27c6a30d7c24"]
        );
    }

    #[test]
    fn stamp_minus_n_with_purge_counts_from_the_rows_before_it() {
        // Alembic 1.20.1: at 55af2cb1c267, `stamp -2 --purge` stamps 1975ea83b712.
        let g = fixture_linear();
        let mut h = Heads::from_rows(&g, &["55af2cb1c267"]).unwrap();
        assert_eq!(
            stamp(&g, &mut h, &["-2"], true),
            ["purge", "insert 1975ea83b712"]
        );
        assert_eq!(rows(&h), ["1975ea83b712"]);
    }

    #[test]
    fn stamp_minus_n_on_an_empty_table_counts_from_the_head() {
        // Alembic 1.20.1, empty table: `stamp -1` (with or without --purge) stamps the
        // revision below the head; `stamp -3` here is exactly base: nothing to write.
        let g = fixture_linear();
        for purge in [false, true] {
            let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
            let mut want = if purge { vec!["purge"] } else { vec![] };
            want.push("insert ae1027a6acf");
            assert_eq!(stamp(&g, &mut h, &["-1"], purge), want);
            let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
            assert_eq!(stamp(&g, &mut h, &["-3"], false), Vec::<String>::new());
        }
        // Several heads give no one place to count from.
        let g = fixture_branches(false);
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        assert!(matches!(
            h.stamp(&g, &[Target::parse("-1").unwrap()], false),
            Err(StoreError::Graph(GraphError::InvalidTarget { .. }))
        ));
    }

    #[test]
    fn stamp_label_minus_n_counts_only_from_a_row_of_the_branch() {
        // Rows of another branch only: `networking@-1` has nothing to count from, with
        // or without --purge (Alembic 1.20.1 refuses without; with --purge it counts
        // from the heads of the emptied table: known.py `stamp-purge-relative`). An
        // empty table counts from networking@heads, 2a95102259be.
        let g = fixture_depends();
        let t = [Target::parse("networking@-1").unwrap()];
        for purge in [false, true] {
            let mut h = Heads::from_rows(&g, &["27c6a30d7c24"]).unwrap();
            assert!(
                matches!(
                    h.stamp(&g, &t, purge),
                    Err(StoreError::Graph(GraphError::RelativeOutOfRange { .. }))
                ),
                "purge: {purge}"
            );
        }
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        assert_eq!(
            stamp(&g, &mut h, &["networking@-1"], false),
            ["insert 29f859a13ea"]
        );
    }

    #[test]
    fn stamp_minus_n_down_to_base_empties_the_table() {
        let g = fixture_linear();
        for target in ["-3", "55af2cb1c267-3", "ae1027a6acf-2"] {
            let mut h = Heads::from_rows(&g, &["55af2cb1c267"]).unwrap();
            assert_eq!(
                stamp(&g, &mut h, &[target], false),
                ["delete 55af2cb1c267"],
                "{target}"
            );
            assert!(h.is_empty(), "{target}");
        }
    }

    #[test]
    fn stamp_refuses_overlaps_and_mixed_base() {
        let g = fixture_branches(false);
        let mut h = Heads::from_rows(&g, &[] as &[&str]).unwrap();
        let t = |s: &str| Target::parse(s).unwrap();
        assert!(matches!(
            h.stamp(&g, &[t("1975"), t("ae10")], false),
            Err(StoreError::StampOverlap { .. })
        ));
        assert_eq!(
            h.stamp(&g, &[t("base"), t("ae10")], false),
            Err(StoreError::StampBaseMixed)
        );
        assert!(matches!(
            h.stamp(&g, &[t("head")], false),
            Err(StoreError::Graph(GraphError::MultipleHeads { .. }))
        ));
    }

    #[test]
    fn stamp_branch_base_removes_only_that_branch() {
        let g = fixture_depends();
        let mut h = Heads::from_rows(&g, &["2a95102259be", "27c6a30d7c24"]).unwrap();
        assert_eq!(
            stamp(&g, &mut h, &["networking@base"], false),
            ["delete 2a95102259be"]
        );
        assert_eq!(rows(&h), ["27c6a30d7c24"]);
    }
}
