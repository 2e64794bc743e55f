//! Revision targets as typed by the user, and their resolution against the graph.

use std::fmt;

use super::build::check_name;
use super::{Edges, GraphError, RevisionGraph};
use crate::text::value as shown;

/// A revision target as typed on the command line.
///
/// ```
/// use aludel::graph::Target;
/// assert_eq!(Target::parse("heads").unwrap(), Target::Heads);
/// assert_eq!(
///     Target::parse("shoppingcart@+2").unwrap(),
///     Target::Relative { branch: Some("shoppingcart".into()), anchor: None, steps: 2 },
/// );
/// assert_eq!(Target::parse("ae10-1").unwrap().to_string(), "ae10-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// `base`: nothing applied.
    Base,
    /// `head`: the single head; an error when there are several.
    Head,
    /// `heads`: every head.
    Heads,
    /// `current`: the version table's rows (history ranges and `show` only).
    Current,
    /// A full or partial revision id, or a branch label (the revision declaring it).
    Rev(String),
    /// `LABEL@head`: the single head of the branch (the label may also be an id).
    BranchHead(String),
    /// `LABEL@heads`: every head of the branch.
    BranchHeads(String),
    /// `LABEL@base`: the base of the branch.
    BranchBase(String),
    /// `LABEL@REV`: a full or partial id that must belong to the branch.
    BranchRev {
        /// The label (or id) naming the branch.
        branch: String,
        /// The id within it.
        rev: String,
    },
    /// `+N`, `-N`, `REV+N`, `REV-N`, `LABEL@+N`, `LABEL@-N`, `LABEL@REV+N`.
    Relative {
        /// `LABEL@`, if given.
        branch: Option<String>,
        /// `REV` (or `head`, `heads`, `base`), if given; otherwise relative to current.
        anchor: Option<String>,
        /// Signed number of steps.
        steps: i64,
    },
}

impl Target {
    /// Parses one target. Names must match `[A-Za-z0-9_]+`; ranges (`A:B`) are
    /// [`Range`]s, not targets.
    pub fn parse(text: &str) -> Result<Target, GraphError> {
        let bad = |problem: String| GraphError::InvalidTarget {
            target: text.to_string(),
            problem,
        };
        let name = |s: &str, what: &str| -> Result<String, GraphError> {
            check_name(s)
                .map(|()| s.to_string())
                .map_err(|p| bad(format!("the {what} '{}' {p}", shown(s))))
        };
        if text.contains(':') {
            return Err(bad(
                "a range (A:B) is only accepted by history and --sql; give a single revision"
                    .to_string(),
            ));
        }
        let (branch, rest) = match text.split_once('@') {
            Some((b, r)) => (Some(name(b, "branch label")?), r),
            None => (None, text),
        };
        if rest.contains('@') {
            return Err(bad("only one '@' is allowed".to_string()));
        }
        if let Some(pos) = rest.rfind(['+', '-']) {
            let digits = &rest[pos + 1..];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!(
                    "'{}' must be followed by a number of steps",
                    &rest[pos..=pos]
                )));
            }
            let magnitude: i64 = digits
                .parse()
                .map_err(|_| bad(format!("{} steps is too many", shown(digits))))?;
            if magnitude == 0 {
                // Neither direction can take it: `-0` and `+0` are no step at all.
                return Err(bad(format!(
                    "{}0 is no step at all; give a number of steps of 1 or more (e.g. {}1)",
                    &rest[pos..=pos],
                    &rest[pos..=pos]
                )));
            }
            let steps = if rest.as_bytes()[pos] == b'-' {
                -magnitude
            } else {
                magnitude
            };
            let anchor = match &rest[..pos] {
                "" => None,
                a => Some(name(a, "revision")?),
            };
            return Ok(Target::Relative {
                branch,
                anchor,
                steps,
            });
        }
        Ok(match (branch, rest) {
            (None, "base") => Target::Base,
            (None, "head") => Target::Head,
            (None, "heads") => Target::Heads,
            (None, "current") => Target::Current,
            (None, r) => Target::Rev(name(r, "revision")?),
            (Some(b), "head") => Target::BranchHead(b),
            (Some(b), "heads") => Target::BranchHeads(b),
            (Some(b), "base") => Target::BranchBase(b),
            (Some(_), "current") => {
                return Err(bad("'current' can't be qualified by a branch".to_string()));
            }
            (Some(b), r) => Target::BranchRev {
                branch: b,
                rev: name(r, "revision")?,
            },
        })
    }

    /// The branch part of `LABEL@...`, if any.
    pub fn branch(&self) -> Option<&str> {
        match self {
            Target::BranchHead(b) | Target::BranchHeads(b) | Target::BranchBase(b) => Some(b),
            Target::BranchRev { branch, .. } => Some(branch),
            Target::Relative { branch, .. } => branch.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Base => f.write_str("base"),
            Target::Head => f.write_str("head"),
            Target::Heads => f.write_str("heads"),
            Target::Current => f.write_str("current"),
            Target::Rev(r) => f.write_str(r),
            Target::BranchHead(b) => write!(f, "{b}@head"),
            Target::BranchHeads(b) => write!(f, "{b}@heads"),
            Target::BranchBase(b) => write!(f, "{b}@base"),
            Target::BranchRev { branch, rev } => write!(f, "{branch}@{rev}"),
            Target::Relative {
                branch,
                anchor,
                steps,
            } => {
                if let Some(b) = branch {
                    write!(f, "{b}@")?;
                }
                if let Some(a) = anchor {
                    f.write_str(a)?;
                }
                write!(f, "{steps:+}")
            }
        }
    }
}

impl std::str::FromStr for Target {
    type Err = GraphError;
    fn from_str(s: &str) -> Result<Target, GraphError> {
        Target::parse(s)
    }
}

/// A history range `LOWER:UPPER`; either side may be empty (base, heads).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Range {
    /// The older end (inclusive); `None` means base.
    pub lower: Option<Target>,
    /// The newer end (inclusive); `None` means heads.
    pub upper: Option<Target>,
}

impl Range {
    /// Parses `A:B`, `A:`, `:B` (each side a [`Target`] or `current`).
    pub fn parse(text: &str) -> Result<Range, GraphError> {
        let Some((lower, upper)) = text.trim().split_once(':') else {
            return Err(GraphError::InvalidTarget {
                target: text.to_string(),
                problem: "History range requires [start]:[end], [start]:, or :[end]".to_string(),
            });
        };
        let side = |s: &str| -> Result<Option<Target>, GraphError> {
            if s.is_empty() {
                Ok(None)
            } else {
                Target::parse(s).map(Some)
            }
        };
        Ok(Range {
            lower: side(lower)?,
            upper: side(upper)?,
        })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = &self.lower {
            write!(f, "{l}")?;
        }
        f.write_str(":")?;
        if let Some(u) = &self.upper {
            write!(f, "{u}")?;
        }
        Ok(())
    }
}

/// A position a walk can stand on: below every root, or on a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pos {
    Base,
    Rev(usize),
}

/// Where a downgrade goes: down to a position (its children on the branch are
/// removed), or down through a revision (it and what is applied above it is removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Down {
    To(Pos),
    Through(usize),
}

/// The branch and steps of `-N` / `LABEL@-N` where they count from the heads rather
/// than from the database (`show`, `history`, `stamp` of an empty table).
fn counted_from_heads(target: &Target) -> Result<(Option<&str>, i64), GraphError> {
    match target {
        Target::Relative {
            branch,
            anchor: None,
            steps,
        } => Ok((branch.as_deref(), *steps)),
        _ => Err(GraphError::InvalidTarget {
            target: target.to_string(),
            problem: "not a step down from the heads".to_string(),
        }),
    }
}

impl RevisionGraph {
    /// A full id, a branch label, or an unambiguous id prefix (Alembic's
    /// `_revision_for_ident`; prefixes match ids only).
    pub(crate) fn ident(&self, ident: &str) -> Result<usize, GraphError> {
        self.ident_within(ident, None)
    }

    fn ident_within(&self, ident: &str, lineage: Option<&[bool]>) -> Result<usize, GraphError> {
        if let Some(i) = self
            .index_of(ident)
            .or_else(|| self.by_label.get(ident).copied())
        {
            return Ok(i);
        }
        // As Alembic: a prefix only matches ids longer than three characters, so a
        // short id (`a1`) is never reached by a shorter typo of it.
        let candidates: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                let id = self.nodes[i].id.as_str();
                id.len() > 3 && id.starts_with(ident)
            })
            .filter(|&i| lineage.is_none_or(|l| l[i]))
            .collect();
        match candidates.as_slice() {
            // It may exist off the branch: the caller then says so.
            [] if lineage.is_some() => self.ident_within(ident, None),
            [] => Err(GraphError::UnknownRevision {
                ident: ident.to_string(),
            }),
            [one] => Ok(*one),
            many => Err(GraphError::AmbiguousRevision {
                prefix: ident.to_string(),
                candidates: many.iter().map(|&i| self.nodes[i].id.to_string()).collect(),
            }),
        }
    }

    /// The revision a `LABEL@` part names (Alembic's `_resolve_branch`): a declared
    /// label, or else any revision identifier.
    pub(crate) fn branch_rev(&self, label: &str) -> Result<usize, GraphError> {
        if let Some(&i) = self.by_label.get(label) {
            return Ok(i);
        }
        self.ident(label).map_err(|e| match e {
            GraphError::UnknownRevision { .. } => GraphError::UnknownBranch {
                label: label.to_string(),
            },
            other => other,
        })
    }

    /// `LABEL@REV`: REV resolved among the branch's lineage, which it must belong to.
    pub(crate) fn ident_in_branch(&self, rev: &str, branch: &str) -> Result<usize, GraphError> {
        let b = self.branch_rev(branch)?;
        let lineage = self.lineage(b, Edges::Revises);
        let i = self.ident_within(rev, Some(&lineage))?;
        if !lineage[i] {
            return Err(GraphError::NotInBranch {
                rev: self.nodes[i].id.to_string(),
                branch: branch.to_string(),
            });
        }
        Ok(i)
    }

    /// Heads (Alembic's effective heads) in the lineage of a branch, in load order.
    pub(crate) fn branch_heads(&self, branch: &str) -> Result<Vec<usize>, GraphError> {
        let b = self.branch_rev(branch)?;
        let lineage = self.lineage(b, Edges::Revises);
        Ok(self.heads.iter().copied().filter(|&h| lineage[h]).collect())
    }

    /// The real heads a `LABEL@-N` outside upgrade and downgrade counts from (Alembic's
    /// `get_revisions`): those carrying the label, or with an id before `@`, those in
    /// its lineage; every real head without a branch.
    pub(crate) fn real_heads_of(&self, branch: Option<&str>) -> Result<Vec<usize>, GraphError> {
        let Some(b) = branch else {
            return Ok(self.real_heads.clone());
        };
        if self.by_label.contains_key(b) {
            return Ok(self
                .real_heads
                .iter()
                .copied()
                .filter(|&h| self.nodes[h].labels.iter().any(|l| l == b))
                .collect());
        }
        let lineage = self.lineage(self.branch_rev(b)?, Edges::Revises);
        Ok(self
            .real_heads
            .iter()
            .copied()
            .filter(|&h| lineage[h])
            .collect())
    }

    /// `-N` and `LABEL@-N` as `show` reads them (Alembic's `get_revisions`): the
    /// revision N steps below each real head of the branch, not below the database.
    /// Where no real head carries LABEL (its branch ends in a revision another branch
    /// depends on), from `LABEL@heads`, as `stamp LABEL@-N` counts on an empty table
    /// ([`RevisionGraph::below_the_head`]); Alembic finds nothing there and prints
    /// nothing. Also returns what was counted from, for the caller's messages.
    pub(crate) fn below_heads(&self, target: &Target) -> Result<(Vec<usize>, String), GraphError> {
        let (branch, steps) = counted_from_heads(target)?;
        let real = self.real_heads_of(branch)?;
        let (heads, from) = match branch {
            None => (real, "every head".to_string()),
            Some(b) if real.is_empty() => (
                self.branch_heads(b)?,
                format!("{b}@heads (no real head carries {b})"),
            ),
            Some(b) => (real, format!("every head of {b}")),
        };
        let mut out = Vec::new();
        for h in heads {
            match self.walk(target, Pos::Rev(h), steps, None)? {
                Pos::Rev(i) if !out.contains(&i) => out.push(i),
                Pos::Rev(_) => {}
                Pos::Base => {}
            }
        }
        Ok((out, from))
    }

    /// `-N` and `LABEL@-N` in `stamp` with no version row to count from (an empty
    /// table, or `stamp --sql` without a range): N steps down from `heads` (from
    /// `LABEL@heads`) when that is one revision, as Alembic's stamp counts there.
    /// Several heads are an error naming them: each gives another place, and
    /// Alembic's answer (a row N below each) can hold a revision beside its own
    /// ancestor. A walk below base is an error, as for `downgrade -N`.
    pub(crate) fn below_the_head(&self, target: &Target) -> Result<Pos, GraphError> {
        let (branch, steps) = counted_from_heads(target)?;
        // What `heads` and `LABEL@heads` name: for a branch, a revision only depended
        // on counts (Alembic filters its real heads by label, and finds none when the
        // branch ends in one: `stamp shoppingcart@-1` in its tutorial stamps nothing).
        let (heads, of) = match branch {
            Some(b) => (self.branch_heads(b)?, format!("{b}@heads")),
            None => (self.real_heads.clone(), "heads".to_string()),
        };
        match heads.as_slice() {
            [] => Err(GraphError::RelativeOutOfRange {
                target: target.to_string(),
                steps: steps.unsigned_abs(),
                problem: "there is no revision at all".to_string(),
            }),
            [one] => self.walk(target, Pos::Rev(*one), steps, None),
            many => Err(GraphError::InvalidTarget {
                target: target.to_string(),
                problem: format!(
                    "nothing is applied to count from, so it counts down from {of}, and there are several ({}); name {}the revision to count from ({}{steps})",
                    self.names(many).join(", "),
                    if branch.is_some() {
                        ""
                    } else {
                        "the branch (LABEL@-N) or "
                    },
                    self.nodes[many[0]].id
                ),
            }),
        }
    }

    /// Alembic's `get_current_head`: the single (effective) head, of a branch if given.
    pub(crate) fn single_head(&self, branch: Option<&str>) -> Result<Option<usize>, GraphError> {
        let heads = match branch {
            Some(b) => self.branch_heads(b)?,
            None => self.heads.clone(),
        };
        match heads.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(GraphError::MultipleHeads {
                argument: match branch {
                    Some(b) => format!("{b}@head"),
                    None => "head".to_string(),
                },
                heads: self.names(many),
            }),
        }
    }

    pub(crate) fn names(&self, indices: &[usize]) -> Vec<String> {
        indices
            .iter()
            .map(|&i| self.nodes[i].id.to_string())
            .collect()
    }

    /// Alembic's `get_revision(symbol)`: one position for `head`, `heads` (only if
    /// single), `base`, or an identifier; within a branch if given.
    pub(crate) fn symbol(&self, symbol: &str, branch: Option<&str>) -> Result<Pos, GraphError> {
        match symbol {
            "base" => {
                if let Some(b) = branch {
                    self.branch_rev(b)?;
                }
                Ok(Pos::Base)
            }
            "head" => Ok(self.single_head(branch)?.map_or(Pos::Base, Pos::Rev)),
            "heads" => {
                let heads = match branch {
                    Some(b) => self.branch_heads(b)?,
                    None => self.real_heads.clone(),
                };
                match heads.as_slice() {
                    [] => Ok(Pos::Base),
                    [one] => Ok(Pos::Rev(*one)),
                    many => Err(GraphError::MultipleHeads {
                        argument: match branch {
                            Some(b) => format!("{b}@heads"),
                            None => "heads".to_string(),
                        },
                        heads: self.names(many),
                    }),
                }
            }
            s => match branch {
                Some(b) => self.ident_in_branch(s, b).map(Pos::Rev),
                None => self.ident(s).map(Pos::Rev),
            },
        }
    }

    /// Alembic's `_walk`: `steps` up (through children, limited to `lineage` when
    /// given) or down (through parents). A fork is an error naming what to type, and
    /// so is walking past a head or below base.
    pub(crate) fn walk(
        &self,
        target: &Target,
        start: Pos,
        steps: i64,
        lineage: Option<&[bool]>,
    ) -> Result<Pos, GraphError> {
        self.walk_as_far(target, start, steps, lineage, false)
    }

    /// [`RevisionGraph::walk`]; with `stop_at_end`, a walk up past a head stops there
    /// instead (Alembic's `no_overwalk=False`, as `history` ranges use). Below base
    /// stays an error: Alembic fails there too, and an empty listing would hide it.
    fn walk_as_far(
        &self,
        target: &Target,
        start: Pos,
        steps: i64,
        lineage: Option<&[bool]>,
        stop_at_end: bool,
    ) -> Result<Pos, GraphError> {
        let mut at = start;
        for done in 0..steps.unsigned_abs() {
            let too_far = |problem: String| GraphError::RelativeOutOfRange {
                target: target.to_string(),
                steps: steps.unsigned_abs(),
                problem: format!("{problem} after {done} step(s)"),
            };
            let options: Vec<usize> = if steps > 0 {
                let up = match at {
                    Pos::Base => &self.bases,
                    Pos::Rev(i) => &self.nodes[i].children,
                };
                up.iter()
                    .copied()
                    .filter(|&c| lineage.is_none_or(|l| l[c]))
                    .collect()
            } else {
                match at {
                    Pos::Base => return Err(too_far("the walk went below base".to_string())),
                    Pos::Rev(i) => self.nodes[i].parents.clone(),
                }
            };
            at = match options.as_slice() {
                [] if steps > 0 && stop_at_end => return Ok(at),
                [] if steps > 0 => {
                    return Err(too_far(match at {
                        Pos::Base => "there is no revision at all".to_string(),
                        Pos::Rev(i) => format!("{} is a head", self.nodes[i].id),
                    }));
                }
                [] => Pos::Base,
                [one] => Pos::Rev(*one),
                many => {
                    let names = self.names(many);
                    let problem = match at {
                        Pos::Base => format!(
                            "there are several bases ({}); name the branch, e.g. LABEL@+N, or start from a revision, e.g. {}+N",
                            names.join(", "),
                            names[0]
                        ),
                        Pos::Rev(i) if steps > 0 => format!(
                            "{} is a branch point leading to {}; name the branch, e.g. LABEL@+N, or step from one of them, e.g. {}+N",
                            self.nodes[i].id,
                            names.join(", "),
                            names[0]
                        ),
                        Pos::Rev(i) => format!(
                            "{} is a merge point of {}; step down from one of them instead, e.g. {}-N",
                            self.nodes[i].id,
                            names.join(", "),
                            names[0]
                        ),
                    };
                    return Err(GraphError::AmbiguousWalk {
                        target: target.to_string(),
                        problem,
                    });
                }
            };
        }
        Ok(at)
    }

    /// The version table rows as graph indices; an unknown row is an error.
    pub(crate) fn current_indices<S: AsRef<str>>(
        &self,
        current: &[S],
    ) -> Result<Vec<usize>, GraphError> {
        let mut out = Vec::with_capacity(current.len());
        let mut seen = vec![false; self.nodes.len()];
        for c in current {
            let c = c.as_ref();
            let i = self
                .index_of(c)
                .ok_or_else(|| GraphError::UnknownCurrent { id: c.to_string() })?;
            if !std::mem::replace(&mut seen[i], true) {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Alembic's `get_revisions` for a non-relative target: the revisions it names
    /// (empty for base). `current` stands for the version table rows.
    pub(crate) fn absolute(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<Vec<usize>, GraphError> {
        Ok(match target {
            Target::Base | Target::BranchBase(_) => {
                if let Some(b) = target.branch() {
                    self.branch_rev(b)?;
                }
                Vec::new()
            }
            Target::Head => self.single_head(None)?.into_iter().collect(),
            Target::Heads => self.real_heads.clone(),
            Target::Current => current.to_vec(),
            Target::Rev(r) => vec![self.ident(r)?],
            Target::BranchHead(b) => self.single_head(Some(b))?.into_iter().collect(),
            Target::BranchHeads(b) => self.branch_heads(b)?,
            Target::BranchRev { branch, rev } => vec![self.ident_in_branch(rev, branch)?],
            Target::Relative { .. } => {
                return Err(GraphError::InvalidTarget {
                    target: target.to_string(),
                    problem: "a relative target needs a starting point here".to_string(),
                });
            }
        })
    }

    /// Resolves a target to the revisions it names, relative forms counting from the
    /// version table rows (`+N` up, `-N` down, as upgrade and downgrade read them).
    /// Used by `show` and `stamp`; `base` gives an empty list.
    pub fn resolve<S: AsRef<str>>(
        &self,
        target: &Target,
        current: &[S],
    ) -> Result<Vec<crate::graph::RevisionId>, GraphError> {
        let current = self.current_indices(current)?;
        let found = self.resolve_indices(target, &current)?;
        Ok(found.iter().map(|&i| self.nodes[i].id.clone()).collect())
    }

    pub(crate) fn resolve_indices(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<Vec<usize>, GraphError> {
        match target {
            Target::Relative { steps, .. } if *steps > 0 => self.upgrade_targets(target, current),
            Target::Relative { .. } => Ok(match self.downgrade_target(target, current)?.1 {
                Down::To(Pos::Base) => Vec::new(),
                Down::To(Pos::Rev(i)) => vec![i],
                // One below a merge point is both its parents.
                Down::Through(i) => self.nodes[i].parents.clone(),
            }),
            _ => self.absolute(target, current),
        }
    }

    /// The revisions a `stamp` target names: as [`RevisionGraph::resolve_indices`],
    /// except that `-N` and `LABEL@-N` with no row at all count down from the head
    /// ([`RevisionGraph::below_the_head`]).
    pub(crate) fn stamp_target(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<Vec<usize>, GraphError> {
        match target {
            Target::Relative {
                anchor: None,
                steps,
                ..
            } if *steps < 0 && current.is_empty() => Ok(match self.below_the_head(target)? {
                Pos::Base => Vec::new(),
                Pos::Rev(i) => vec![i],
            }),
            _ => self.resolve_indices(target, current),
        }
    }

    /// Alembic's `_parse_upgrade_target`: the revisions an upgrade should reach.
    pub(crate) fn upgrade_targets(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<Vec<usize>, GraphError> {
        self.upgrade_targets_as_far(target, current, false)
    }

    /// [`RevisionGraph::upgrade_targets`]; with `stop_at_end` a relative walk up stops
    /// at a head instead of failing (the upper end of a `history` range).
    pub(crate) fn upgrade_targets_as_far(
        &self,
        target: &Target,
        current: &[usize],
        stop_at_end: bool,
    ) -> Result<Vec<usize>, GraphError> {
        let Target::Relative {
            branch,
            anchor,
            steps,
        } = target
        else {
            return match target {
                Target::Current => Err(GraphError::InvalidTarget {
                    target: target.to_string(),
                    problem: "'current' is only meaningful in history ranges and show".to_string(),
                }),
                _ => self.absolute(target, current),
            };
        };
        let branch = branch.as_deref();
        let lineage = match branch {
            Some(b) => Some(self.lineage(self.branch_rev(b)?, Edges::Revises)),
            None => None,
        };
        if *steps <= 0 {
            let Some(anchor) = anchor else {
                return Err(GraphError::InvalidTarget {
                    target: target.to_string(),
                    problem: format!(
                        "upgrade can't go {} steps below the current revision; use downgrade {target}",
                        steps.unsigned_abs()
                    ),
                });
            };
            let start = self.symbol(anchor, branch)?;
            return Ok(
                match self.walk_as_far(target, start, *steps, None, stop_at_end)? {
                    Pos::Base => Vec::new(),
                    Pos::Rev(i) => vec![i],
                },
            );
        }
        let start = match anchor {
            Some(anchor) => self.symbol(anchor, None)?,
            None => {
                let mut starts: Vec<usize> = current.to_vec();
                if let Some(l) = &lineage {
                    starts.retain(|&c| l[c]);
                    if starts.is_empty() && !current.is_empty() {
                        // The branch has no row of its own (it is behind a dependency
                        // or not started): start from its newest applied revisions.
                        let active = self.ancestors_of(current, Edges::RevisesAndDependsOn);
                        let on_branch: Vec<usize> =
                            (0..active.len()).filter(|&i| active[i] && l[i]).collect();
                        let mut below = vec![false; self.nodes.len()];
                        for &i in &on_branch {
                            for &d in self.nodes[i].norm_down() {
                                below[d] = true;
                            }
                        }
                        starts = on_branch.into_iter().filter(|&i| !below[i]).collect();
                    }
                }
                match starts.as_slice() {
                    [] => Pos::Base,
                    [one] => Pos::Rev(*one),
                    many => {
                        return Err(GraphError::InvalidTarget {
                            target: target.to_string(),
                            problem: format!(
                                "ambiguous upgrade from multiple current revisions ({}); name the branch (LABEL@+{steps}) or the starting revision ({}+{steps})",
                                self.names(many).join(", "),
                                self.nodes[many[0]].id
                            ),
                        });
                    }
                }
            }
        };
        Ok(
            match self.walk_as_far(target, start, *steps, lineage.as_deref(), stop_at_end)? {
                Pos::Base => Vec::new(),
                Pos::Rev(i) => vec![i],
            },
        )
    }

    /// Alembic's `_parse_downgrade_target`: the branch to restrict to (a revision whose
    /// ancestors mark it) and where to go down to.
    ///
    /// `REV-N` (and `LABEL@REV-N`) names the revision N steps below REV; going down to
    /// it is `downgrade` to that revision (within LABEL's branch when given), as in
    /// Alembic: every applied child of it is removed, on any branch.
    ///
    /// A negative target relative to the database (`-N`, `LABEL@-N`) walks N-1 steps
    /// down from the current row of the branch and removes that revision and
    /// everything applied above it. For a single parent this is what Alembic does with
    /// its branch restriction. Where the walk comes to base (the N-th step leaves a
    /// root) it is a downgrade to the branch's base, as Alembic's: `LABEL@-N` is then
    /// `LABEL@base`, which also removes the applied lines of any other root below
    /// LABEL's revision (through a merge); `-N` keeps to the row's own line.
    ///
    /// Defined answers where Alembic differs: at a merge point as the last step, where
    /// Alembic stops with "Ambiguous walk", the merge revision is removed, which
    /// restores both parents; `-N` with several current rows is an error instead of a
    /// warning that picks an arbitrary row.
    pub(crate) fn downgrade_target(
        &self,
        target: &Target,
        current: &[usize],
    ) -> Result<(Option<usize>, Down), GraphError> {
        let branch_of = |b: Option<&str>| -> Result<Option<usize>, GraphError> {
            b.map(|b| self.branch_rev(b)).transpose()
        };
        match target {
            Target::Current => Err(GraphError::InvalidTarget {
                target: target.to_string(),
                problem: "'current' is only meaningful in history ranges and show".to_string(),
            }),
            Target::Relative {
                branch,
                anchor,
                steps,
            } => {
                let branch = branch.as_deref();
                if *steps >= 0 {
                    let Some(anchor) = anchor else {
                        return Err(GraphError::InvalidTarget {
                            target: target.to_string(),
                            problem: format!(
                                "downgrade goes down: use -{} (or upgrade {target})",
                                steps.unsigned_abs()
                            ),
                        });
                    };
                    let lineage = match branch {
                        Some(b) => Some(self.lineage(self.branch_rev(b)?, Edges::Revises)),
                        None => None,
                    };
                    let start = self.symbol(anchor, None)?;
                    let pos = self.walk(target, start, *steps, lineage.as_deref())?;
                    return Ok((branch_of(branch)?, Down::To(pos)));
                }
                let start = match anchor {
                    Some(anchor) => {
                        // `REV-N` names a revision: going down to it is going down to
                        // that revision, every child of it included (Alembic). Only a
                        // merge point as the last step keeps the merge-point reading
                        // below, where Alembic's walk is ambiguous.
                        let start = self.symbol(anchor, branch)?;
                        let restrict = branch_of(branch)?;
                        return match self.walk(target, start, *steps, None) {
                            Ok(pos) => Ok((restrict, Down::To(pos))),
                            Err(e @ GraphError::AmbiguousWalk { .. }) => {
                                match self.walk(target, start, *steps + 1, None) {
                                    Ok(Pos::Rev(i)) if self.nodes[i].is_merge_point() => {
                                        Ok((restrict, Down::Through(i)))
                                    }
                                    _ => Err(e),
                                }
                            }
                            Err(e) => Err(e),
                        };
                    }
                    None => {
                        let mut on_branch: Vec<usize> = current.to_vec();
                        if let Some(b) = branch {
                            let l = self.lineage(self.branch_rev(b)?, Edges::Revises);
                            on_branch.retain(|&c| l[c]);
                            if on_branch.is_empty() {
                                on_branch = self
                                    .all_current(current)
                                    .into_iter()
                                    .filter(|&c| l[c])
                                    .collect();
                            }
                        }
                        match on_branch.as_slice() {
                            [] => {
                                return Err(GraphError::RelativeOutOfRange {
                                    target: target.to_string(),
                                    steps: steps.unsigned_abs(),
                                    problem: match branch {
                                        Some(b) => format!("nothing of branch '{b}' is applied"),
                                        None => "the database is at base".to_string(),
                                    },
                                });
                            }
                            [one] => Pos::Rev(*one),
                            many => {
                                return Err(GraphError::InvalidTarget {
                                    target: target.to_string(),
                                    problem: format!(
                                        "ambiguous downgrade from multiple current revisions ({}); name the branch (LABEL@{steps}) or the revision to step down from ({}{steps})",
                                        self.names(many).join(", "),
                                        self.nodes[many[0]].id
                                    ),
                                });
                            }
                        }
                    }
                };
                let restrict = match (branch, start) {
                    (Some(b), _) => Some(self.branch_rev(b)?),
                    (None, Pos::Rev(i)) => Some(i),
                    (None, Pos::Base) => None,
                };
                // The walk is one step shorter (counted from the row, not below it):
                // an error names the steps the user asked for.
                let walked = self
                    .walk(target, start, *steps + 1, None)
                    .map_err(|e| match e {
                        GraphError::RelativeOutOfRange {
                            target, problem, ..
                        } => GraphError::RelativeOutOfRange {
                            target,
                            steps: steps.unsigned_abs(),
                            problem,
                        },
                        e => e,
                    })?;
                match walked {
                    // The last step leaves a root: the walk comes to base, which is
                    // the branch's base (Alembic's reading). Below LABEL's revision
                    // the branch can reach other roots through a merge; their applied
                    // lines go too, as for `downgrade LABEL@base`. Without LABEL the
                    // branch is the row's own single line, so only that root goes.
                    Pos::Rev(i) if self.nodes[i].parents.is_empty() => {
                        Ok((restrict, Down::To(Pos::Base)))
                    }
                    Pos::Rev(i) => Ok((restrict, Down::Through(i))),
                    // N-1 steps reached base: as many revisions as steps taken are
                    // applied on the line, as the walk itself counts them.
                    Pos::Base => Err(GraphError::RelativeOutOfRange {
                        target: target.to_string(),
                        steps: steps.unsigned_abs(),
                        problem: format!(
                            "the walk went below base after {} step(s)",
                            steps.unsigned_abs() - 1
                        ),
                    }),
                }
            }
            Target::Base => Ok((None, Down::To(Pos::Base))),
            Target::BranchBase(b) => Ok((Some(self.branch_rev(b)?), Down::To(Pos::Base))),
            Target::Heads => Ok((None, Down::To(self.symbol("heads", None)?))),
            Target::BranchHeads(b) => Ok((
                Some(self.branch_rev(b)?),
                Down::To(self.symbol("heads", Some(b))?),
            )),
            _ => {
                let found = self.absolute(target, current)?;
                let pos = found.first().map_or(Pos::Base, |&i| Pos::Rev(i));
                Ok((branch_of(target.branch())?, Down::To(pos)))
            }
        }
    }

    /// Alembic's `_get_all_current`: the rows plus every applied revision that has no
    /// applied child (dependencies applied on behalf of another branch show up here).
    pub(crate) fn all_current(&self, current: &[usize]) -> Vec<usize> {
        let applied = self.ancestors_of(current, Edges::RevisesAndDependsOn);
        (0..applied.len())
            .filter(|&i| applied[i] && !self.nodes[i].children.iter().any(|&c| applied[c]))
            .collect()
    }
}
