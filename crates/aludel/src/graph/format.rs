//! Alembic's text formats for `history`, `heads`, `current`, `branches`, `show` and the
//! "Running ..." log lines. Each returned string is what Alembic hands to its
//! `print_stdout`, which adds one newline: print each with `println!`.

use super::{Range, Revision, RevisionGraph, Step, Target};
use crate::graph::GraphError;

/// Which parts of Alembic's one-line form (`Script._head_only`) to include.
#[derive(Debug, Clone, Copy, Default)]
struct Line {
    branches: bool,
    doc: bool,
    parents: bool,
    tree_indicators: bool,
    current: bool,
}

impl Revision<'_> {
    /// `<base>` for a root, else the parents joined by `, ` (Alembic's
    /// `_format_down_revision`).
    fn down_text(&self) -> String {
        let node = self.node();
        if node.parents.is_empty() {
            "<base>".to_string()
        } else {
            self.graph.names(&node.parents).join(", ")
        }
    }

    fn line(&self, opts: Line) -> String {
        let node = self.node();
        let spec = &node.spec;
        // One string, sized once: `history` builds a line per revision.
        let mut text = String::with_capacity(64 + spec.message.len());
        if opts.parents {
            if node.parents.len() == 1 {
                text.push_str(self.graph.nodes[node.parents[0]].id.as_str());
            } else {
                text.push_str(&self.down_text());
            }
            if !spec.depends_on.is_empty() {
                // Alembic shows depends_on as written (labels stay labels).
                text.push_str(" (");
                text.push_str(&spec.depends_on.join(", "));
                text.push(')');
            }
            text.push_str(" -> ");
        }
        text.push_str(node.id.as_str());
        if opts.branches && !node.labels.is_empty() {
            text.push_str(" (");
            text.push_str(&node.labels.join(", "));
            text.push(')');
        }
        if node.is_real_head() {
            text.push_str(" (head)");
        }
        if node.is_head() && !node.is_real_head() {
            text.push_str(" (effective head)");
        }
        if opts.current {
            text.push_str(" (current)");
        }
        if opts.tree_indicators {
            if node.is_branch_point() {
                text.push_str(" (branchpoint)");
            }
            if node.is_merge_point() {
                text.push_str(" (mergepoint)");
            }
        }
        if opts.doc {
            text.push_str(", ");
            text.push_str(spec.short_doc());
        }
        text
    }

    /// The `history` line: `parents [(depends_on)] -> id [(labels)] [(head)]
    /// [(effective head)] [(current)] [(branchpoint)] [(mergepoint)], message`.
    ///
    /// `current` marks a version table row (`history --indicate-current`).
    pub fn history_line(&self, current: bool) -> String {
        self.line(Line {
            branches: true,
            doc: true,
            parents: true,
            tree_indicators: true,
            current,
        })
    }

    /// The `heads` line: `id [(labels)] (head)` or `(effective head)`.
    pub fn heads_line(&self) -> String {
        self.line(Line {
            branches: true,
            ..Line::default()
        })
    }

    /// The `current` line: `id [(head)] [(effective head)] [(branchpoint)]
    /// [(mergepoint)]` (no labels, no message).
    pub fn current_line(&self) -> String {
        self.line(Line {
            tree_indicators: true,
            ..Line::default()
        })
    }

    /// The revision's docstring (`-- aludel:doc`), or the one Alembic would have
    /// generated for it: the message, a blank line, `Revision ID:`, `Revises:` and
    /// (when known) `Create Date:`.
    pub fn long_doc(&self) -> String {
        let node = self.node();
        if let Some(doc) = &node.spec.doc {
            // The revision's own docstring, stripped as a whole as Alembic does.
            return doc.trim().to_string();
        }
        let revises = self.graph.names(&node.parents).join(", ");
        let mut doc = format!(
            "{}\n\nRevision ID: {}\nRevises: {revises}",
            node.spec.message, node.id
        );
        if let Some(created) = &node.spec.created {
            doc.push_str(&format!("\nCreate Date: {created}"));
        }
        // Alembic strips the docstring as a whole, keeping inner trailing spaces.
        doc.trim().to_string()
    }

    /// The verbose form (`Script.log_entry`) used by `show` and every `--verbose`;
    /// ends with a newline, so printing it leaves a blank line after it as Alembic
    /// does. `current` adds `(current)` to the `Rev:` line.
    pub fn log_entry(&self, current: bool) -> String {
        let node = self.node();
        let graph = self.graph;
        let mut entry = format!(
            "Rev: {}{}{}{}{}\n",
            node.id,
            if node.is_head() { " (head)" } else { "" },
            if node.is_branch_point() {
                " (branchpoint)"
            } else {
                ""
            },
            if node.is_merge_point() {
                " (mergepoint)"
            } else {
                ""
            },
            if current { " (current)" } else { "" },
        );
        if node.is_merge_point() {
            entry.push_str(&format!("Merges: {}\n", self.down_text()));
        } else {
            entry.push_str(&format!("Parent: {}\n", self.down_text()));
        }
        if !node.spec.depends_on.is_empty() {
            entry.push_str(&format!(
                "Also depends on: {}\n",
                node.spec.depends_on.join(", ")
            ));
        }
        if node.is_branch_point() {
            entry.push_str(&format!(
                "Branches into: {}\n",
                graph.names(&node.children).join(", ")
            ));
        }
        if !node.labels.is_empty() {
            entry.push_str(&format!("Branch names: {}\n", node.labels.join(", ")));
        }
        entry.push_str(&format!("Path: {}\n", node.spec.origin.path.display()));
        let body: Vec<String> = self
            .long_doc()
            .lines()
            .map(|l| format!("    {l}"))
            .collect();
        entry.push_str(&format!("\n{}\n", body.join("\n")));
        entry
    }
}

impl RevisionGraph {
    /// `heads [--verbose] [--resolve-dependencies]`: one entry per head, in load
    /// order; without `resolve_dependencies` effective heads are listed too.
    pub fn heads_output(&self, verbose: bool, resolve_dependencies: bool) -> Vec<String> {
        let heads = if resolve_dependencies {
            &self.real_heads
        } else {
            &self.heads
        };
        heads
            .iter()
            .map(|&i| {
                let r = self.view(i);
                if verbose {
                    r.log_entry(false)
                } else {
                    r.heads_line()
                }
            })
            .collect()
    }

    /// `current [--verbose]` for the version table rows: the rows plus dependencies
    /// applied on their behalf (Alembic's `get_all_current`), in load order. The CLI
    /// prints `Current revision(s) for URL:` first when verbose.
    pub fn current_output<S: AsRef<str>>(
        &self,
        current: &[S],
        verbose: bool,
    ) -> Result<Vec<String>, GraphError> {
        let current = self.current_indices(current)?;
        Ok(self
            .all_current(&current)
            .into_iter()
            .map(|i| {
                let r = self.view(i);
                if verbose {
                    r.log_entry(false)
                } else {
                    r.current_line()
                }
            })
            .collect())
    }

    /// `history [-r RANGE] [--verbose] [--indicate-current]`. With
    /// `indicate_current`, the version table rows are marked `(current)`; `current`
    /// must then be given.
    pub fn history_output<S: AsRef<str>>(
        &self,
        range: &Range,
        current: Option<&[S]>,
        verbose: bool,
        indicate_current: bool,
    ) -> Result<Vec<String>, GraphError> {
        let revisions = self.history_indices(range, current)?;
        let mut is_row = vec![false; self.nodes.len()];
        if let (Some(c), true) = (current, indicate_current) {
            for i in self.current_indices(c)? {
                is_row[i] = true;
            }
        }
        Ok(revisions
            .into_iter()
            .map(|i| {
                let r = self.view(i);
                let is_current = is_row[i];
                if verbose {
                    r.log_entry(is_current)
                } else {
                    r.history_line(is_current)
                }
            })
            .collect())
    }

    /// `branches [--verbose]`: for each branch point, in history order, its line (or
    /// verbose entry) and one `<spaces> -> child` line per child; the block ends with
    /// a newline so printing leaves a blank line, as in Alembic. Children are in load
    /// order (Alembic's order is that of a Python set).
    pub fn branches_output(&self, verbose: bool) -> Vec<String> {
        let mut todo = vec![true; self.nodes.len()];
        let order = self.head_first_order(&mut todo, &self.real_heads);
        order
            .into_iter()
            .filter(|&i| self.nodes[i].is_branch_point())
            .map(|i| {
                let r = self.view(i);
                let head = if verbose {
                    r.log_entry(false)
                } else {
                    r.line(Line {
                        branches: true,
                        tree_indicators: true,
                        ..Line::default()
                    })
                };
                let pad = " ".repeat(r.id().as_str().len());
                let children: Vec<String> = r
                    .children()
                    .map(|c| {
                        let text = c.line(Line {
                            branches: true,
                            doc: verbose,
                            tree_indicators: true,
                            ..Line::default()
                        });
                        format!("{pad} -> {text}")
                    })
                    .collect();
                format!("{head}\n{}\n", children.join("\n"))
            })
            .collect()
    }

    /// `show TARGET`: the verbose entry of each revision the target names (`heads`
    /// names the real heads, `current` the version table rows).
    pub fn show_output<S: AsRef<str>>(
        &self,
        target: &Target,
        current: &[S],
    ) -> Result<Vec<String>, GraphError> {
        Ok(self
            .show_indices(target, current)?
            .into_iter()
            .map(|i| self.view(i).log_entry(false))
            .collect())
    }

    /// The revisions `show TARGET` shows. As in Alembic, `-N` and `LABEL@-N` count
    /// from the heads (of the branch), not from the database; other targets resolve as
    /// [`RevisionGraph::resolve`] does.
    pub fn show_revisions<S: AsRef<str>>(
        &self,
        target: &Target,
        current: &[S],
    ) -> Result<Vec<crate::graph::RevisionId>, GraphError> {
        Ok(self
            .show_indices(target, current)?
            .into_iter()
            .map(|i| self.nodes[i].id.clone())
            .collect())
    }

    fn show_indices<S: AsRef<str>>(
        &self,
        target: &Target,
        current: &[S],
    ) -> Result<Vec<usize>, GraphError> {
        let current = self.current_indices(current)?;
        match target {
            Target::Relative {
                anchor: None,
                steps,
                ..
            } if *steps < 0 => {
                let (found, from) = self.below_heads(target)?;
                if found.is_empty() {
                    return Err(GraphError::RelativeOutOfRange {
                        target: target.to_string(),
                        steps: steps.unsigned_abs(),
                        problem: format!(
                            "that is base, counted from {from}, which has nothing to show"
                        ),
                    });
                }
                Ok(found)
            }
            Target::Relative { steps, .. } => {
                let found = self.resolve_indices(target, &current)?;
                if found.is_empty() {
                    // Base has nothing to show; say so rather than print nothing.
                    return Err(GraphError::RelativeOutOfRange {
                        target: target.to_string(),
                        steps: steps.unsigned_abs(),
                        problem: "that is base, which has nothing to show".to_string(),
                    });
                }
                Ok(found)
            }
            _ => self.resolve_indices(target, &current),
        }
    }

    /// Alembic's log line for a step, without the `Running ` prefix:
    /// `upgrade 1975ea83b712 -> 27c6a30d7c24, add shopping cart table`. A root upgrade
    /// reads `upgrade  -> 1975ea83b712, ...` (empty from-part, as in Alembic).
    /// Dependencies are not shown (Alembic's `*_no_deps`).
    pub fn step_line(&self, step: &Step) -> Option<String> {
        let short = self.step_short_line(step)?;
        let message = self.revision(step.revision.as_str())?.spec().short_doc();
        Some(if message.is_empty() {
            short
        } else {
            format!("{short}, {message}")
        })
    }

    /// The short form written as `-- Running upgrade a -> b` in `--sql` output.
    pub fn step_short_line(&self, step: &Step) -> Option<String> {
        let r = self.revision(step.revision.as_str())?;
        let parents = self.names(&r.node().parents).join(", ");
        let id = r.id().to_string();
        let (from, to) = match step.direction {
            super::Direction::Upgrade => (parents, id),
            super::Direction::Downgrade => (id, parents),
        };
        Some(format!("{} {from} -> {to}", step.direction))
    }
}
