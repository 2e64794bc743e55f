//! Iterative traversals: ancestor/descendant closures, lineage, and Alembic's
//! head-first topological order used by history, upgrade and downgrade.

use std::collections::HashSet;

use super::{Edges, Node, RevisionGraph};

const NONE: usize = usize::MAX;

/// One walking position of the topological sort: a revision and every ancestor of it.
struct Cursor {
    node: usize,
    ancestors: HashSet<usize>,
    prev: usize,
    next: usize,
    live: bool,
}

impl RevisionGraph {
    /// Marks the given revisions and all their ancestors.
    pub(crate) fn ancestors_of(&self, starts: &[usize], edges: Edges) -> Vec<bool> {
        self.reachable(starts, |node, stack| {
            stack.extend(&node.parents);
            if edges == Edges::RevisesAndDependsOn {
                stack.extend(&node.deps);
            }
        })
    }

    /// Marks the given revisions and all their descendants.
    pub(crate) fn descendants_of(&self, starts: &[usize], edges: Edges) -> Vec<bool> {
        self.reachable(starts, |node, stack| match edges {
            Edges::Revises => stack.extend(&node.children),
            Edges::RevisesAndDependsOn => stack.extend(node.all_children()),
        })
    }

    /// Marks `starts` and everything `next` leads to from them, iteratively (a
    /// 10,000-revision chain must not recurse).
    fn reachable(&self, starts: &[usize], next: impl Fn(&Node, &mut Vec<usize>)) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = starts.to_vec();
        while let Some(i) = stack.pop() {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            next(&self.nodes[i], &mut stack);
        }
        seen
    }

    /// Revisions sharing a lineage with `index` (Alembic's `_shares_lineage`): the
    /// revision, its ancestors and its descendants.
    pub(crate) fn lineage(&self, index: usize, edges: Edges) -> Vec<bool> {
        let mut marks = self.ancestors_of(&[index], edges);
        let down = self.descendants_of(&[index], edges);
        for (m, d) in marks.iter_mut().zip(down) {
            *m |= d;
        }
        marks
    }

    /// The revision and its ancestors as a set; sized by the answer, not the graph,
    /// since the topological sort asks this for every head.
    fn ancestor_set(&self, index: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack = vec![index];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                let node = &self.nodes[i];
                stack.extend(&node.parents);
                stack.extend(&node.deps);
            }
        }
        seen
    }

    /// Alembic's `_topological_sort`: emits every revision marked in `todo`, newest
    /// first, walking down from `starts` (those in `todo`, in load order) and keeping a
    /// branch's revisions together. A revision is emitted only once no other walking
    /// position still has it as an ancestor, so the result reversed is a valid upgrade
    /// order. `todo` is cleared as revisions are emitted.
    ///
    /// Alembic keeps positions in a list and rescans all of them per step; here a
    /// per-revision count of positions having it as an ancestor answers the common
    /// "nobody else needs it" case in O(1), and a linked list makes removal O(1).
    pub(crate) fn head_first_order(&self, todo: &mut [bool], starts: &[usize]) -> Vec<usize> {
        let n = self.nodes.len();
        let mut starts: Vec<usize> = starts.iter().copied().filter(|&i| todo[i]).collect();
        starts.sort_unstable();
        starts.dedup();

        let mut count = vec![0u32; n];
        let mut is_cursor = vec![false; n];
        let mut cursors: Vec<Cursor> = Vec::new();
        let mut first = NONE;
        let mut last = NONE;
        let push = |cursors: &mut Vec<Cursor>,
                    count: &mut [u32],
                    first: &mut usize,
                    last: &mut usize,
                    node: usize| {
            let ancestors = self.ancestor_set(node);
            for &a in &ancestors {
                count[a] += 1;
            }
            let id = cursors.len();
            cursors.push(Cursor {
                node,
                ancestors,
                prev: *last,
                next: NONE,
                live: true,
            });
            if *last == NONE {
                *first = id;
            } else {
                cursors[*last].next = id;
            }
            *last = id;
        };
        for &s in &starts {
            is_cursor[s] = true;
            push(&mut cursors, &mut count, &mut first, &mut last, s);
        }

        let mut out = Vec::new();
        let mut current = first;
        while current != NONE {
            let candidate = cursors[current].node;
            if count[candidate] > 1 {
                // Another position still needs this revision below it: walk that one
                // first (the earliest in the list, as Alembic does).
                let mut j = first;
                let mut found = NONE;
                while j != NONE {
                    if j != current && cursors[j].ancestors.contains(&candidate) {
                        found = j;
                        break;
                    }
                    j = cursors[j].next;
                }
                if found != NONE {
                    current = found;
                    continue;
                }
            }
            if todo[candidate] {
                out.push(candidate);
                todo[candidate] = false;
            }
            let node = &self.nodes[candidate];
            let below: Vec<usize> = node
                .norm_down()
                .iter()
                .copied()
                .filter(|&r| todo[r] && !is_cursor[r])
                .collect();
            is_cursor[candidate] = false;
            if below.is_empty() {
                let cursor = &mut cursors[current];
                cursor.live = false;
                for &a in &cursor.ancestors {
                    count[a] -= 1;
                }
                cursor.ancestors = HashSet::new();
                let (prev, next) = (cursor.prev, cursor.next);
                if prev == NONE {
                    first = next;
                } else {
                    cursors[prev].next = next;
                }
                if next == NONE {
                    last = prev;
                } else {
                    cursors[next].prev = prev;
                }
                current = if prev == NONE { first } else { prev };
            } else if node.norm_deps.is_empty() && node.parents.len() == 1 {
                // Plain step down a line: the ancestors are the old ones minus this.
                let cursor = &mut cursors[current];
                cursor.node = below[0];
                cursor.ancestors.remove(&candidate);
                count[candidate] -= 1;
                is_cursor[below[0]] = true;
            } else {
                let cursor = &mut cursors[current];
                for &a in &cursor.ancestors {
                    count[a] -= 1;
                }
                cursor.node = below[0];
                cursor.ancestors = self.ancestor_set(below[0]);
                for &a in &cursor.ancestors {
                    count[a] += 1;
                }
                for &b in &below {
                    is_cursor[b] = true;
                }
                for &b in &below[1..] {
                    push(&mut cursors, &mut count, &mut first, &mut last, b);
                }
            }
        }
        debug_assert!(cursors.iter().all(|c| !c.live));
        out
    }
}
