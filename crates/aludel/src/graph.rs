//! The revision graph: validation, heads, bases, branch and merge points, targets and
//! upgrade/downgrade plans, with Alembic's semantics.

use std::path::PathBuf;

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
    /// Where the revision was read from, for error messages.
    pub origin: Origin,
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

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apply the upgrade section.
    Upgrade,
    /// Apply the downgrade section.
    Downgrade,
}
