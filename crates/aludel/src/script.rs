//! Migration files: headers, sections, statement splitting, new files from templates.

/// One SQL statement of a section, with the file line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, without its terminating `;`.
    pub sql: String,
    /// The 1-based line in the file where it starts.
    pub line: usize,
}
