//! Upgrade and downgrade plans, and the revisions `history` lists, with Alembic's
//! selection rules and order.

use super::target::{Down, Pos};
use super::{Direction, Edges, GraphError, RevisionGraph, RevisionId, Target};
use crate::graph::Range;

/// One migration to run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Step {
    /// The revision whose section runs.
    pub revision: RevisionId,
    /// Which section.
    pub direction: Direction,
}

/// An ordered list of steps, all in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The direction of every step.
    pub direction: Direction,
    /// The steps in the order to run them.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// The revision ids in step order.
    pub fn revisions(&self) -> impl Iterator<Item = &RevisionId> {
        self.steps.iter().map(|s| &s.revision)
    }
}

impl RevisionGraph {
    fn plan(&self, direction: Direction, order: impl IntoIterator<Item = usize>) -> Plan {
        Plan {
            direction,
            steps: order
                .into_iter()
                .map(|i| Step {
                    revision: self.nodes[i].id.clone(),
                    direction,
                })
                .collect(),
        }
    }

    /// The upgrade plan from the version table rows `current` to `target`.
    ///
    /// Like Alembic (`implicit_base`): everything the target needs (ancestors and
    /// dependencies) that is not yet applied, oldest first, in the reverse of the
    /// history order. A target already applied gives an empty plan. Targets that are
    /// ancestors of other targets (e.g. `LABEL@heads` covering a dependency) are
    /// merged instead of raising Alembic's "overlaps" error.
    ///
    /// ```
    /// # use aludel::graph::{RevisionGraph, RevisionSpec, Origin, Target};
    /// # let spec = |id: &str, parents: &[&str]| RevisionSpec { id: id.into(),
    /// #     parents: parents.iter().map(|p| p.to_string()).collect(), depends_on: vec![],
    /// #     branch_labels: vec![], message: String::new(), created: None, doc: None,
    /// #     origin: Origin::default() };
    /// let graph = RevisionGraph::build(vec![spec("a1", &[]), spec("b2", &["a1"])], 64).unwrap();
    /// let plan = graph.upgrade(&[] as &[&str], &Target::Head).unwrap();
    /// let ids: Vec<&str> = plan.revisions().map(|r| r.as_str()).collect();
    /// assert_eq!(ids, ["a1", "b2"]);
    /// ```
    pub fn upgrade<S: AsRef<str>>(
        &self,
        current: &[S],
        target: &Target,
    ) -> Result<Plan, GraphError> {
        let current = self.current_indices(current)?;
        let targets = self.upgrade_targets(target, &current)?;
        let targets = self.drop_covered(&targets);
        let mut todo = self.ancestors_of(&targets, Edges::RevisesAndDependsOn);
        let applied = self.ancestors_of(&current, Edges::RevisesAndDependsOn);
        for (t, a) in todo.iter_mut().zip(applied) {
            *t &= !a;
        }
        let mut order = self.head_first_order(&mut todo, &targets);
        order.reverse();
        Ok(self.plan(Direction::Upgrade, order))
    }

    /// Removes targets that are ancestors of other targets: reaching the descendant
    /// reaches them too.
    fn drop_covered(&self, targets: &[usize]) -> Vec<usize> {
        if targets.len() < 2 {
            return targets.to_vec();
        }
        let starts: Vec<usize> = targets
            .iter()
            .flat_map(|&t| self.nodes[t].norm_down().iter().copied())
            .collect();
        let below = self.ancestors_of(&starts, Edges::RevisesAndDependsOn);
        let mut out: Vec<usize> = targets.iter().copied().filter(|&t| !below[t]).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The downgrade plan from the version table rows `current` to `target`.
    ///
    /// Alembic's rules: going down to a revision removes its children and everything
    /// depending on them that is applied; `base` removes everything. With a branch
    /// (`LABEL@base`, `LABEL@REV`, `LABEL@-N`, `-N`, and here also `REV-N`) only the
    /// children on that branch are removed when the target is a branch point. Newest
    /// first, in history order. A target that is not below the current heads is an
    /// error; being already there gives an empty plan.
    pub fn downgrade<S: AsRef<str>>(
        &self,
        current: &[S],
        target: &Target,
    ) -> Result<Plan, GraphError> {
        let current_names: Vec<String> = current.iter().map(|c| c.as_ref().to_string()).collect();
        let current = self.current_indices(current)?;
        let (branch, down) = self.downgrade_target(target, &current)?;
        let mut roots: Vec<usize> = match down {
            Down::To(Pos::Base) => self.bases.clone(),
            Down::To(Pos::Rev(t)) => self.nodes[t].children.clone(),
            Down::Through(t) => vec![t],
        };
        if let (Some(b), Down::To(_)) = (branch, down)
            && roots.len() > 1
        {
            let on_branch = self.ancestors_of(&[b], Edges::Revises);
            roots.retain(|&r| on_branch[r]);
            if roots.is_empty() {
                return Err(GraphError::NotReachable {
                    target: target.to_string(),
                    direction: Direction::Downgrade,
                    current: current_names,
                    reason: format!("no child of it lies on the branch of {}", self.nodes[b].id),
                });
            }
        }
        let mut todo = self.descendants_of(&roots, Edges::RevisesAndDependsOn);
        let applied = self.ancestors_of(&current, Edges::RevisesAndDependsOn);
        let mut any = false;
        for (t, a) in todo.iter_mut().zip(&applied) {
            *t &= *a;
            any |= *t;
        }
        if let Down::Through(t) = down
            && !any
        {
            return Err(GraphError::NotReachable {
                target: target.to_string(),
                direction: Direction::Downgrade,
                current: current_names,
                reason: format!("{} is not applied", self.nodes[t].id),
            });
        }
        if let Down::To(Pos::Rev(t)) = down
            && !any
            && !current.contains(&t)
        {
            let reason = if applied[t] {
                "it is applied but nothing above it on that branch is".to_string()
            } else {
                format!(
                    "{} is not applied; use upgrade to go there",
                    self.nodes[t].id
                )
            };
            return Err(GraphError::NotReachable {
                target: target.to_string(),
                direction: Direction::Downgrade,
                current: current_names,
                reason,
            });
        }
        let order = self.head_first_order(&mut todo, &current);
        Ok(self.plan(Direction::Downgrade, order))
    }

    /// The revisions `alembic history -r RANGE` lists, newest first.
    ///
    /// `current` (the version table rows) is used for `current` ends; pass `None` when
    /// no database is available, and a `current` end is then an error. Like Alembic the
    /// listing contains the upper end's ancestors (with dependencies) that descend from
    /// the lower end; `LABEL@base` (or any `LABEL@` lower end) keeps only upper ends on
    /// that branch. `-N` and `LABEL@-N` as the lower end count down from the real heads
    /// (of the branch); a relative upper end stops at a head. Defined answers where
    /// Alembic differs: `:current` on an empty database lists nothing (Alembic lists
    /// everything), and a relative lower end that walks past base means base. Where
    /// Alembic fails on an assertion: a named upper end above the lower end only
    /// through `depends_on` is [`GraphError::RangeOnlyThroughDependency`]; up to the
    /// heads, the range is what lies above the lower end, revisions needed only by a
    /// head outside the range included.
    pub fn history<S: AsRef<str>>(
        &self,
        range: &Range,
        current: Option<&[S]>,
    ) -> Result<Vec<RevisionId>, GraphError> {
        Ok(self
            .history_indices(range, current)?
            .into_iter()
            .map(|i| self.nodes[i].id.clone())
            .collect())
    }

    /// [`RevisionGraph::history`] as node indices.
    pub(crate) fn history_indices<S: AsRef<str>>(
        &self,
        range: &Range,
        current: Option<&[S]>,
    ) -> Result<Vec<usize>, GraphError> {
        let current = match current {
            Some(c) => Some(self.current_indices(c)?),
            None => None,
        };
        let rows = |t: &Target| -> Result<Vec<usize>, GraphError> {
            current.clone().ok_or_else(|| GraphError::InvalidTarget {
                target: t.to_string(),
                problem: "'current' needs a database connection".to_string(),
            })
        };
        let lower: Vec<usize> = match &range.lower {
            None | Some(Target::Base) | Some(Target::BranchBase(_)) => {
                if let Some(b) = range.lower.as_ref().and_then(Target::branch) {
                    self.branch_rev(b)?;
                }
                Vec::new()
            }
            Some(t @ Target::Current) => rows(t)?,
            Some(
                t @ Target::Relative {
                    anchor: None,
                    steps,
                    ..
                },
            ) if *steps < 0 => {
                // Alembic walks down from every real head (of the branch, if given), not
                // from the database.
                let mut out = Vec::new();
                for h in self.real_heads_of(t.branch())? {
                    match self.walk(t, Pos::Rev(h), *steps, None) {
                        Ok(Pos::Rev(i)) => out.push(i),
                        Ok(Pos::Base) | Err(GraphError::RelativeOutOfRange { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                out
            }
            Some(t) => {
                let c = current.clone().unwrap_or_default();
                self.resolve_indices(t, &c)?
            }
        };
        let upper: Vec<usize> = match &range.upper {
            None => self.real_heads.clone(),
            Some(t @ Target::Current) => rows(t)?,
            // As in Alembic, a relative upper end stops at a head rather than failing.
            Some(t @ Target::Relative { anchor: None, .. }) => {
                self.upgrade_targets_as_far(t, &lower, true)?
            }
            Some(t) => {
                let c = current.clone().unwrap_or_default();
                self.upgrade_targets_as_far(t, &c, true)?
            }
        };
        let mut upper = self.drop_covered(&upper);
        if let Some(b) = range.lower.as_ref().and_then(Target::branch) {
            let b = b.to_string();
            if self.by_label.contains_key(&b) {
                upper.retain(|&u| self.nodes[u].labels.contains(&b));
            } else {
                // An id before '@': Alembic uses its one label; any lineage is clearer.
                let l = self.lineage(self.branch_rev(&b)?, Edges::Revises);
                upper.retain(|&u| l[u]);
            }
        }
        let mut todo = self.ancestors_of(&upper, Edges::RevisesAndDependsOn);
        let lower_text = || {
            range
                .lower
                .as_ref()
                .map_or("base".to_string(), Target::to_string)
        };
        let upper_text = || {
            range
                .upper
                .as_ref()
                .map_or("heads".to_string(), Target::to_string)
        };
        if !lower.is_empty() {
            if lower.iter().any(|&l| !todo[l]) {
                return Err(GraphError::RangeNotAncestor {
                    lower: lower_text(),
                    upper: upper_text(),
                });
            }
            let above = self.descendants_of(&lower, Edges::Revises);
            let named_upper = !matches!(range.upper, None | Some(Target::Heads));
            if named_upper && !upper.is_empty() && !upper.iter().any(|&u| above[u]) {
                // Alembic keeps the upper ends above the lower one along `revises`;
                // with none left it fails on an assertion. A named upper end is then
                // refused, saying why; up to the heads, the range is what lies above
                // the lower end (below).
                let names = self.names(&upper);
                return Err(GraphError::RangeOnlyThroughDependency {
                    lower: lower_text(),
                    upper: upper_text(),
                    problem: format!(
                        "{} {} above {} only through depends_on, and a range follows revises; `history -r :{}` lists {} with everything {} needs",
                        names.join(", "),
                        if names.len() == 1 { "is" } else { "are" },
                        self.names(&lower).join(", "),
                        upper_text(),
                        if names.len() == 1 { "it" } else { "them" },
                        if names.len() == 1 { "it" } else { "each" },
                    ),
                });
            }
            for (t, a) in todo.iter_mut().zip(above) {
                *t &= a;
            }
        }
        // Start from the upper ends, and from any revision of the range that only an
        // upper end outside it needs (Alembic fails on an assertion there), so that
        // the listing holds the whole range.
        let mut starts = upper;
        starts.extend(
            (0..todo.len())
                .filter(|&i| todo[i] && !self.nodes[i].all_children().iter().any(|&c| todo[c])),
        );
        Ok(self.head_first_order(&mut todo, &starts))
    }

    /// The rows `current` shows (Alembic's `get_all_current`): the version table rows
    /// plus applied dependencies that nothing applied revises, in load order.
    pub fn current_revisions<S: AsRef<str>>(
        &self,
        current: &[S],
    ) -> Result<Vec<RevisionId>, GraphError> {
        let current = self.current_indices(current)?;
        Ok(self
            .all_current(&current)
            .into_iter()
            .map(|i| self.nodes[i].id.clone())
            .collect())
    }
}
