//! The revision graph: validation, heads, bases, branch and merge points, targets and
//! upgrade/downgrade plans, with Alembic's semantics.
//!
//! # Order
//!
//! Alembic orders several outputs by the order in which it loaded the revision files
//! (sorted file names per version directory). Here that role is played by the order of
//! the `specs` given to [`RevisionGraph::build`], called *load order* below: the loader
//! should pass revisions sorted by path. Where Alembic iterates a Python `set`
//! (children in `Branches into:`, branch labels), the order is defined here: children
//! in load order, labels sorted.
//!
//! # Vocabulary (Alembic's)
//!
//! * *parents* (`revises`) are the versioned down revisions; *dependencies*
//!   (`depends_on`) must be applied first but are not parents.
//! * a *head* (Alembic's `is_head`, shown as `(effective head)` when not real) has no
//!   child; a *real head* has neither a child nor a dependent. `heads` as an upgrade
//!   target means the real heads.
//! * a *branch point* has several children; a *merge point* several parents.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::text::value as shown;

mod build;
mod format;
mod plan;
mod target;
mod topo;

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;

pub use plan::{Plan, Step};
pub use target::{Range, Target};

/// One revision as read from its file, before the graph validates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSpec {
    /// The revision id (`-- aludel:revision`).
    pub id: String,
    /// Parent ids (`-- aludel:revises`); empty for a root.
    pub parents: Vec<String>,
    /// Ids or branch labels that must be applied first (`-- aludel:depends_on`).
    pub depends_on: Vec<String>,
    /// Branch labels (`-- aludel:branch_labels`).
    pub branch_labels: Vec<String>,
    /// The one-line message.
    pub message: String,
    /// The `created` timestamp as written, if any.
    pub created: Option<String>,
    /// The docstring as written (`-- aludel:doc` lines; a revision imported from
    /// Alembic keeps its own), shown by `show` and every `--verbose` instead of the
    /// lines aludel would make up, and whose first paragraph stands for the message
    /// in history lines, as Alembic prints them.
    pub doc: Option<String>,
    /// Where the revision was read from, for error messages.
    pub origin: Origin,
}

impl RevisionSpec {
    /// What history lines and step lines show after the ids: the first paragraph of
    /// the docstring when the revision has one (as Alembic shows its `doc`), else the
    /// one-line message.
    pub fn short_doc(&self) -> &str {
        match &self.doc {
            Some(doc) => {
                let doc = doc.trim();
                doc.split("\n\n").next().unwrap_or(doc)
            }
            None => &self.message,
        }
    }
}

/// Where a revision was declared: its file and the lines of its header keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file.
    pub path: PathBuf,
    /// Line of `-- aludel:revision` (1-based).
    pub revision_line: usize,
    /// Line of `-- aludel:revises`, if present.
    pub revises_line: Option<usize>,
    /// Line of `-- aludel:depends_on`, if present.
    pub depends_on_line: Option<usize>,
    /// Line of `-- aludel:branch_labels`, if present.
    pub branch_labels_line: Option<usize>,
}

impl Origin {
    /// The location of a header key, falling back to the `revision` line when the key
    /// has no line of its own.
    fn at(&self, line: Option<usize>) -> Location {
        Location {
            path: Arc::from(self.path.as_path()),
            line: line.unwrap_or(self.revision_line),
        }
    }
}

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apply the upgrade section.
    Upgrade,
    /// Apply the downgrade section.
    Downgrade,
}

impl Direction {
    /// `"upgrade"` or `"downgrade"`, as in Alembic's log lines.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A map keyed by revision id or label. Ids come from the project's own files, so a
/// seeded hasher buys nothing; FNV-1a hashes these short keys several times faster,
/// which shows on histories of thousands of revisions.
pub(crate) type IdMap<V> = std::collections::HashMap<String, V, BuildIdHasher>;

/// Positions of items found by a string key that the items themselves hold (a
/// revision's id, a file's name): the keys are never copied, which on a history of
/// thousands of revisions saves as many allocations on every command.
///
/// Every call takes `key_of`, which gives the key of the item at a position.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyIndex {
    table: hashbrown::HashTable<usize>,
}

impl KeyIndex {
    /// An empty index with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> KeyIndex {
        KeyIndex {
            table: hashbrown::HashTable::with_capacity(n),
        }
    }

    fn hash(key: &[u8]) -> u64 {
        let mut h = IdHasher::default();
        std::hash::Hasher::write(&mut h, key);
        std::hash::Hasher::finish(&h)
    }

    /// The position whose key is `key`.
    pub(crate) fn get<'k>(&self, key: &[u8], key_of: impl Fn(usize) -> &'k [u8]) -> Option<usize> {
        self.table
            .find(Self::hash(key), |&i| key_of(i) == key)
            .copied()
    }

    /// Adds `position` under its own key; if another position already has that key,
    /// nothing is added and that position is returned.
    pub(crate) fn insert<'k>(
        &mut self,
        position: usize,
        key_of: impl Fn(usize) -> &'k [u8],
    ) -> Result<(), usize> {
        let key = key_of(position);
        match self.table.entry(
            Self::hash(key),
            |&i| key_of(i) == key,
            |&i| Self::hash(key_of(i)),
        ) {
            hashbrown::hash_table::Entry::Occupied(e) => Err(*e.get()),
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(position);
                Ok(())
            }
        }
    }
}

/// Builds [`IdHasher`]s for [`IdMap`].
pub(crate) type BuildIdHasher = std::hash::BuildHasherDefault<IdHasher>;

/// FNV-1a, for [`IdMap`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Default for IdHasher {
    fn default() -> Self {
        IdHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A validated revision id (`[A-Za-z0-9_]+`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevisionId(String);

impl RevisionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RevisionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RevisionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RevisionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A file and 1-based line, displayed as `path:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (shared, to keep errors small).
    pub path: Arc<Path>,
    /// The 1-based line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Which edges a traversal follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edges {
    /// Only `revises` (parent/child) edges.
    Revises,
    /// `revises` and `depends_on` edges.
    RevisesAndDependsOn,
}

/// Everything that can go wrong validating the graph, resolving a target or planning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A revision id is empty or holds characters outside `[A-Za-z0-9_]`.
    #[error("{at}: revision id '{}' {problem}", shown(.id))]
    InvalidId {
        /// The id as written.
        id: String,
        /// Where it is declared.
        at: Location,
        /// What is wrong with it.
        problem: String,
    },
    /// A revision id does not fit the version table column.
    #[error(
        "{at}: revision id '{}' is {len} characters long; the version table column holds at most {max}",
        shown(.id)
    )]
    IdTooLong {
        /// The id.
        id: String,
        /// Where it is declared.
        at: Location,
        /// Its length.
        len: usize,
        /// The column width.
        max: usize,
    },
    /// Two files declare the same revision id.
    #[error("{second}: revision id '{}' is already declared at {first}", shown(.id))]
    DuplicateId {
        /// The id.
        id: String,
        /// The first declaration.
        first: Location,
        /// The second declaration.
        second: Location,
    },
    /// A branch label is empty or holds characters outside `[A-Za-z0-9_]`.
    #[error("{at}: branch label '{}' of revision {rev} {problem}", shown(.label))]
    InvalidLabel {
        /// The label.
        label: String,
        /// The revision declaring it.
        rev: String,
        /// Where it is declared.
        at: Location,
        /// What is wrong with it.
        problem: String,
    },
    /// Two revisions declare the same branch label.
    #[error(
        "{second}: branch label '{label}' of revision {rev} is already used by revision {other} ({first})"
    )]
    DuplicateLabel {
        /// The label.
        label: String,
        /// The revision declaring it second.
        rev: String,
        /// The revision declaring it first.
        other: String,
        /// The first declaration.
        first: Location,
        /// The second declaration.
        second: Location,
    },
    /// A branch label equals a revision id, which would make targets ambiguous.
    #[error(
        "{at}: branch label '{label}' of revision {rev} is the id of the revision declared at {other_at}"
    )]
    LabelIsRevisionId {
        /// The label.
        label: String,
        /// The revision declaring it.
        rev: String,
        /// Where the label is declared.
        at: Location,
        /// Where the revision of that id is declared.
        other_at: Location,
    },
    /// A revision lists itself as parent or dependency.
    #[error("{at}: revision {rev} lists itself in {key}")]
    SelfReference {
        /// The revision.
        rev: String,
        /// `revises` or `depends_on`.
        key: &'static str,
        /// The line of the key.
        at: Location,
    },
    /// A revision lists the same parent or dependency twice.
    #[error("{at}: revision {rev} lists '{}' more than once in {key}", shown(.name))]
    Repeated {
        /// The revision.
        rev: String,
        /// The repeated name.
        name: String,
        /// `revises` or `depends_on`.
        key: &'static str,
        /// The line of the key.
        at: Location,
    },
    /// A parent names no known revision.
    #[error("{at}: revision {rev} revises '{}', which no migration file declares", shown(.parent))]
    UnknownParent {
        /// The revision.
        rev: String,
        /// The unknown parent.
        parent: String,
        /// The line of `revises`.
        at: Location,
    },
    /// A dependency names no known revision or branch label.
    #[error(
        "{at}: revision {rev} depends on '{}', which is neither a revision id nor a branch label",
        shown(.dependency)
    )]
    UnknownDependency {
        /// The revision.
        rev: String,
        /// The unknown name.
        dependency: String,
        /// The line of `depends_on`.
        at: Location,
    },
    /// The `revises` edges form a cycle.
    #[error("cycle detected in revisions {}", format_cycle(.revisions))]
    Cycle {
        /// The revisions on the cycle, each revising the previous one, with their files.
        revisions: Vec<(String, Location)>,
    },
    /// The `revises` and `depends_on` edges together form a cycle.
    #[error("dependency cycle detected in revisions {}", format_cycle(.revisions))]
    DependencyCycle {
        /// The revisions on the cycle, each needing the previous one, with their files.
        revisions: Vec<(String, Location)>,
    },
    /// A target string can't be parsed or can't be used for this command.
    #[error("invalid revision target '{}': {problem}", shown(.target))]
    InvalidTarget {
        /// The target as typed.
        target: String,
        /// What is wrong and what to type instead.
        problem: String,
    },
    /// No revision or branch label matches.
    #[error("Can't locate revision identified by '{}'{}", shown(.ident), short_hint(.ident))]
    UnknownRevision {
        /// The identifier as typed.
        ident: String,
    },
    /// A partial id matches several revisions.
    #[error("Ambiguous revision '{}': it is the start of {}; type more characters", shown(.prefix), .candidates.join(", "))]
    AmbiguousRevision {
        /// The prefix as typed.
        prefix: String,
        /// Every matching id, in load order.
        candidates: Vec<String>,
    },
    /// A `LABEL@...` names no branch label or revision.
    #[error("No such branch: '{}'", shown(.label))]
    UnknownBranch {
        /// The label as typed.
        label: String,
    },
    /// A `LABEL@REV` names a revision outside that branch.
    #[error("Revision {rev} is not a member of branch '{}'", shown(.branch))]
    NotInBranch {
        /// The revision.
        rev: String,
        /// The branch as typed.
        branch: String,
    },
    /// `head` (or `LABEL@head`) matched several heads.
    #[error(
        "Multiple head revisions are present for given argument '{}' ({}); please specify a specific target revision, '<branchname>@head' to narrow to a specific head, 'heads' for all heads, or merge the heads into one revision",
        shown(.argument),
        .heads.join(", ")
    )]
    MultipleHeads {
        /// The argument as typed.
        argument: String,
        /// The matching heads.
        heads: Vec<String>,
    },
    /// A relative step from a branch point or merge point has several ways to go.
    #[error("Ambiguous walk for '{}': {problem}", shown(.target))]
    AmbiguousWalk {
        /// The target as typed.
        target: String,
        /// Where the walk forks and what to type instead.
        problem: String,
    },
    /// A relative target walks past the end of the history.
    #[error("Relative revision '{}' didn't produce {steps} migrations: {problem}", shown(.target))]
    RelativeOutOfRange {
        /// The target as typed.
        target: String,
        /// The number of steps asked for.
        steps: u64,
        /// Where the walk stopped.
        problem: String,
    },
    /// The target can't be reached from the current heads in this direction.
    #[error("Destination {} is not a valid {direction} target from current head(s) {}: {reason}", shown(.target), show_current(.current))]
    NotReachable {
        /// The target as typed.
        target: String,
        /// The direction asked for.
        direction: Direction,
        /// The current heads.
        current: Vec<String>,
        /// Why, and what to type instead.
        reason: String,
    },
    /// A history range whose ends are not ancestor and descendant.
    #[error(
        "Requested range {}:{} does not refer to ancestor/descendant revisions along the same branch",
        shown(.lower),
        shown(.upper)
    )]
    RangeNotAncestor {
        /// The lower end as typed.
        lower: String,
        /// The upper end as typed.
        upper: String,
    },
    /// A history range whose upper end lies above the lower end only through
    /// `depends_on` (Alembic fails with an internal assertion there).
    #[error(
        "Requested range {}:{} does not refer to ancestor/descendant revisions along the same branch: {problem}",
        shown(.lower),
        shown(.upper)
    )]
    RangeOnlyThroughDependency {
        /// The lower end as typed.
        lower: String,
        /// The upper end as typed.
        upper: String,
        /// Which revisions, and what to type instead.
        problem: String,
    },
    /// The version table names a revision no file declares.
    #[error(
        "the version table holds revision '{}', which no migration file declares; restore its file or fix the table with 'stamp --purge'",
        shown(.id)
    )]
    UnknownCurrent {
        /// The row value.
        id: String,
    },
}

fn format_cycle(revisions: &[(String, Location)]) -> String {
    let parts: Vec<String> = revisions
        .iter()
        .map(|(id, at)| format!("{id} ({at})"))
        .collect();
    format!("({})", parts.join(" -> "))
}

fn short_hint(ident: &str) -> &'static str {
    if ident.len() < 4 {
        "; please ensure at least four characters are present for partial revision identifier matches"
    } else {
        ""
    }
}

fn show_current(current: &[String]) -> String {
    if current.is_empty() {
        "(none: the database is at base)".to_string()
    } else {
        format!("({})", current.join(", "))
    }
}

/// One validated revision with its resolved edges.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) spec: std::sync::Arc<RevisionSpec>,
    pub(crate) id: RevisionId,
    /// `revises`, in written order.
    pub(crate) parents: Vec<usize>,
    /// `depends_on` resolved to revisions, in written order, deduplicated.
    pub(crate) deps: Vec<usize>,
    /// Dependencies not already needed by a (revises-)ancestor: Alembic's
    /// `_normalized_resolved_dependencies`.
    pub(crate) norm_deps: Vec<usize>,
    /// `parents` then `norm_deps`, deduplicated, when `norm_deps` is not empty (else
    /// empty: most revisions would just copy `parents`); see [`Node::norm_down`].
    pub(crate) norm_down_full: Vec<usize>,
    /// Revisions that revise this one, in load order.
    pub(crate) children: Vec<usize>,
    /// Revisions that depend on this one, in load order.
    pub(crate) dependents: Vec<usize>,
    /// `children` and `dependents`, deduplicated, in load order, when there are
    /// dependents (else empty); see [`Node::all_children`].
    pub(crate) all_children_full: Vec<usize>,
    /// Own and inherited branch labels, sorted.
    pub(crate) labels: Vec<String>,
}

impl Node {
    /// Parents then non-redundant dependencies: Alembic's `_normalized_down_revisions`,
    /// the rows a step moves from.
    pub(crate) fn norm_down(&self) -> &[usize] {
        if self.norm_deps.is_empty() {
            &self.parents
        } else {
            &self.norm_down_full
        }
    }
    /// Children and dependents, deduplicated, in load order.
    pub(crate) fn all_children(&self) -> &[usize] {
        if self.dependents.is_empty() {
            &self.children
        } else {
            &self.all_children_full
        }
    }
    pub(crate) fn is_head(&self) -> bool {
        self.children.is_empty()
    }
    pub(crate) fn is_real_head(&self) -> bool {
        self.all_children().is_empty()
    }
    pub(crate) fn is_branch_point(&self) -> bool {
        self.children.len() > 1
    }
    pub(crate) fn is_merge_point(&self) -> bool {
        self.parents.len() > 1
    }
}

/// The validated revision DAG. Immutable once built; cheap to query.
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    nodes: Vec<Node>,
    by_id: KeyIndex,
    /// Declared (not inherited) labels to the declaring revision.
    by_label: IdMap<usize>,
    heads: Vec<usize>,
    real_heads: Vec<usize>,
    bases: Vec<usize>,
    instance: u64,
}

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

impl RevisionGraph {
    /// Validates every revision and builds the graph.
    ///
    /// `max_id_len` is the width of the version table column (64). The order of
    /// `specs` is the load order (see the module docs). Errors name the file and line.
    ///
    /// ```
    /// use aludel::graph::{RevisionGraph, RevisionSpec, Origin};
    /// let spec = |id: &str, parents: &[&str]| RevisionSpec {
    ///     id: id.into(),
    ///     parents: parents.iter().map(|p| p.to_string()).collect(),
    ///     depends_on: vec![],
    ///     branch_labels: vec![],
    ///     message: format!("create {id}"),
    ///     created: None, doc: None,
    ///     origin: Origin::default(),
    /// };
    /// let graph = RevisionGraph::build(vec![spec("a1", &[]), spec("b2", &["a1"])], 64).unwrap();
    /// assert_eq!(graph.heads()[0].as_str(), "b2");
    /// ```
    pub fn build(specs: Vec<RevisionSpec>, max_id_len: usize) -> Result<RevisionGraph, GraphError> {
        Self::build_shared(
            specs.into_iter().map(std::sync::Arc::new).collect(),
            max_id_len,
        )
    }

    /// [`RevisionGraph::build`] from specs shared with their scripts, so that a long
    /// history is not copied to build its graph.
    pub fn build_shared(
        specs: Vec<std::sync::Arc<RevisionSpec>>,
        max_id_len: usize,
    ) -> Result<RevisionGraph, GraphError> {
        Self::build_indexed(specs, max_id_len, None)
    }

    /// [`RevisionGraph::build_shared`] reusing `ids`, an index of the specs' ids by
    /// position in which each id is once (the loaded folder's,
    /// [`crate::script::ScriptDir`]): ten thousand ids are not hashed again.
    pub(crate) fn build_indexed(
        specs: Vec<std::sync::Arc<RevisionSpec>>,
        max_id_len: usize,
        ids: Option<KeyIndex>,
    ) -> Result<RevisionGraph, GraphError> {
        let parts = build::build(specs, max_id_len, ids)?;
        let nodes = parts.nodes;
        let heads = (0..nodes.len()).filter(|&i| nodes[i].is_head()).collect();
        let real_heads = (0..nodes.len())
            .filter(|&i| nodes[i].is_real_head())
            .collect();
        let bases = (0..nodes.len())
            .filter(|&i| nodes[i].parents.is_empty())
            .collect();
        Ok(RevisionGraph {
            nodes,
            by_id: parts.by_id,
            by_label: parts.by_label,
            heads,
            real_heads,
            bases,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The number of revisions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no revisions at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The revision with this exact id.
    pub fn revision(&self, id: &str) -> Option<Revision<'_>> {
        self.index_of(id).map(|index| self.view(index))
    }

    /// Whether a revision has this exact id.
    pub fn contains(&self, id: &str) -> bool {
        self.index_of(id).is_some()
    }

    /// Every revision, in load order.
    pub fn revisions(&self) -> impl Iterator<Item = Revision<'_>> + '_ {
        (0..self.nodes.len()).map(|index| self.view(index))
    }

    /// Heads in Alembic's sense (no revision revises them; `alembic heads`), in load
    /// order. Some may be only *effective* heads: another revision depends on them.
    pub fn heads(&self) -> Vec<&RevisionId> {
        self.ids_of(&self.heads)
    }

    /// Real heads: neither revised nor depended on (`alembic heads
    /// --resolve-dependencies`, and what the target `heads` upgrades to), in load order.
    pub fn real_heads(&self) -> Vec<&RevisionId> {
        self.ids_of(&self.real_heads)
    }

    /// Revisions without parents, in load order (they may still have dependencies).
    pub fn bases(&self) -> Vec<&RevisionId> {
        self.ids_of(&self.bases)
    }

    /// Revisions revised by more than one revision, in load order.
    pub fn branch_points(&self) -> Vec<&RevisionId> {
        self.nodes
            .iter()
            .filter(|n| n.is_branch_point())
            .map(|n| &n.id)
            .collect()
    }

    /// Revisions with more than one parent, in load order.
    pub fn merge_points(&self) -> Vec<&RevisionId> {
        self.nodes
            .iter()
            .filter(|n| n.is_merge_point())
            .map(|n| &n.id)
            .collect()
    }

    fn view(&self, index: usize) -> Revision<'_> {
        Revision { graph: self, index }
    }

    fn ids_of(&self, indices: &[usize]) -> Vec<&RevisionId> {
        indices.iter().map(|&i| &self.nodes[i].id).collect()
    }

    /// The revision at a load-order position.
    pub(crate) fn revision_at(&self, index: usize) -> Revision<'_> {
        self.view(index)
    }

    pub(crate) fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id
            .get(id.as_bytes(), |i| self.nodes[i].spec.id.as_bytes())
    }

    /// Identifies this graph so a [`crate::store::Heads`] can refuse a foreign one.
    pub(crate) fn instance(&self) -> u64 {
        self.instance
    }
}

/// A view of one revision inside a [`RevisionGraph`].
#[derive(Debug, Clone, Copy)]
pub struct Revision<'g> {
    graph: &'g RevisionGraph,
    index: usize,
}

impl<'g> Revision<'g> {
    fn node(&self) -> &'g Node {
        &self.graph.nodes[self.index]
    }

    fn views(&self, indices: &'g [usize]) -> impl Iterator<Item = Revision<'g>> + 'g {
        let graph = self.graph;
        indices.iter().map(move |&index| Revision { graph, index })
    }

    /// The id.
    pub fn id(&self) -> &'g RevisionId {
        &self.node().id
    }

    /// The spec as read from the file.
    pub fn spec(&self) -> &'g RevisionSpec {
        &self.node().spec
    }

    /// Parents (`revises`), in written order.
    pub fn parents(&self) -> impl Iterator<Item = Revision<'g>> + 'g {
        self.views(&self.node().parents)
    }

    /// Dependencies (`depends_on`) resolved to revisions, in written order.
    pub fn dependencies(&self) -> impl Iterator<Item = Revision<'g>> + 'g {
        self.views(&self.node().deps)
    }

    /// Revisions that revise this one, in load order.
    pub fn children(&self) -> impl Iterator<Item = Revision<'g>> + 'g {
        self.views(&self.node().children)
    }

    /// Revisions that depend on this one, in load order.
    pub fn dependents(&self) -> impl Iterator<Item = Revision<'g>> + 'g {
        self.views(&self.node().dependents)
    }

    /// Branch labels, own and inherited along the branch, sorted. Alembic gives a
    /// label to the revision declaring it, to all its descendants, and to its ancestors
    /// down to (excluding) the nearest branch point or merge point, provided the
    /// descendants form a single unforked line.
    pub fn labels(&self) -> &'g [String] {
        &self.node().labels
    }

    /// No revision revises this one (Alembic's `is_head`).
    pub fn is_head(&self) -> bool {
        self.node().is_head()
    }

    /// No revision revises or depends on this one.
    pub fn is_real_head(&self) -> bool {
        self.node().is_real_head()
    }

    /// No parents.
    pub fn is_base(&self) -> bool {
        self.node().parents.is_empty()
    }

    /// Revised by more than one revision.
    pub fn is_branch_point(&self) -> bool {
        self.node().is_branch_point()
    }

    /// More than one parent.
    pub fn is_merge_point(&self) -> bool {
        self.node().is_merge_point()
    }

    /// All ancestors (excluding this revision), in load order.
    pub fn ancestors(&self, edges: Edges) -> Vec<Revision<'g>> {
        let marks = self.graph.ancestors_of(&[self.index], edges);
        self.marked(&marks)
    }

    /// All descendants (excluding this revision), in load order.
    pub fn descendants(&self, edges: Edges) -> Vec<Revision<'g>> {
        let marks = self.graph.descendants_of(&[self.index], edges);
        self.marked(&marks)
    }

    fn marked(&self, marks: &[bool]) -> Vec<Revision<'g>> {
        let graph = self.graph;
        (0..marks.len())
            .filter(|&i| marks[i] && i != self.index)
            .map(|index| Revision { graph, index })
            .collect()
    }
}
