//! Validation and construction of the graph: ids, labels, references, cycles, then the
//! derived edges (children, normalized dependencies) and inherited labels.

use std::collections::{HashMap, HashSet};

use super::{GraphError, IdMap, KeyIndex, Location, Node, RevisionId, RevisionSpec};

pub(super) struct Parts {
    pub(super) nodes: Vec<Node>,
    pub(super) by_id: KeyIndex,
    pub(super) by_label: IdMap<usize>,
}

/// Checks a revision id or label: non-empty, only `[A-Za-z0-9_]`.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_string());
    }
    let mut bad: Vec<char> = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort_unstable();
    bad.dedup();
    // A few, escaped: the name may hold thousands of distinct characters, or ESC.
    let mut shown: Vec<String> = bad
        .iter()
        .take(10)
        .map(|c| format!("'{}'", crate::text::value(&c.to_string())))
        .collect();
    if bad.len() > 10 {
        shown.push(format!("and {} more", bad.len() - 10));
    }
    Err(format!(
        "contains {} (only letters, digits and '_' are allowed)",
        shown.join(", ")
    ))
}

/// Validates and builds the graph of `specs`. `ids`, when given, already indexes
/// their ids by position, each once (a loaded folder's index): it is used as it is.
pub(super) fn build(
    specs: Vec<std::sync::Arc<RevisionSpec>>,
    max_id_len: usize,
    ids: Option<KeyIndex>,
) -> Result<Parts, GraphError> {
    let n = specs.len();
    let indexed = ids.is_some();
    let mut by_id = ids.unwrap_or_else(|| KeyIndex::with_capacity(n));
    let id_of = |i: usize| specs[i].id.as_bytes();
    for (i, spec) in specs.iter().enumerate() {
        // Locations are built only on error: this loop runs for every revision.
        let at = || spec.origin.at(None);
        check_name(&spec.id).map_err(|problem| GraphError::InvalidId {
            id: spec.id.clone(),
            at: at(),
            problem,
        })?;
        if spec.id.len() > max_id_len {
            return Err(GraphError::IdTooLong {
                id: spec.id.clone(),
                at: at(),
                len: spec.id.len(),
                max: max_id_len,
            });
        }
        if indexed {
            continue;
        }
        if let Err(first) = by_id.insert(i, id_of) {
            return Err(GraphError::DuplicateId {
                id: spec.id.clone(),
                first: specs[first].origin.at(None),
                second: at(),
            });
        }
    }
    let find = |key: &str| by_id.get(key.as_bytes(), id_of);

    for spec in &specs {
        check_list(spec, &spec.parents, "revises", spec.origin.revises_line)?;
        check_list(
            spec,
            &spec.depends_on,
            "depends_on",
            spec.origin.depends_on_line,
        )?;
    }

    let mut by_label: IdMap<usize> = IdMap::default();
    for (i, spec) in specs.iter().enumerate() {
        let at = || spec.origin.at(spec.origin.branch_labels_line);
        for label in &spec.branch_labels {
            check_name(label).map_err(|problem| GraphError::InvalidLabel {
                label: label.clone(),
                rev: spec.id.clone(),
                at: at(),
                problem,
            })?;
            if let Some(other) = find(label) {
                return Err(GraphError::LabelIsRevisionId {
                    label: label.clone(),
                    rev: spec.id.clone(),
                    at: at(),
                    other_at: specs[other].origin.at(None),
                });
            }
            match by_label.get(label) {
                // The same revision naming a label twice is harmless.
                Some(&other) if other == i => {}
                Some(&other) => {
                    let first = &specs[other];
                    return Err(GraphError::DuplicateLabel {
                        label: label.clone(),
                        rev: spec.id.clone(),
                        other: first.id.clone(),
                        first: first.origin.at(first.origin.branch_labels_line),
                        second: at(),
                    });
                }
                None => {
                    by_label.insert(label.clone(), i);
                }
            }
        }
    }

    // The nodes are filled in place, field by field: ten thousand revisions'
    // intermediate lists would each be memory touched once and thrown away.
    let mut nodes: Vec<Node> = Vec::with_capacity(n);
    for (i, spec) in specs.iter().enumerate() {
        let mut ps = Vec::with_capacity(spec.parents.len());
        for p in &spec.parents {
            match find(p) {
                Some(j) => ps.push(j),
                None => {
                    return Err(GraphError::UnknownParent {
                        rev: spec.id.clone(),
                        parent: p.clone(),
                        at: spec.origin.at(spec.origin.revises_line),
                    });
                }
            }
        }
        let mut ds: Vec<usize> = Vec::with_capacity(spec.depends_on.len());
        for d in &spec.depends_on {
            let at = || spec.origin.at(spec.origin.depends_on_line);
            let Some(j) = find(d).or_else(|| by_label.get(d).copied()) else {
                return Err(GraphError::UnknownDependency {
                    rev: spec.id.clone(),
                    dependency: d.clone(),
                    at: at(),
                });
            };
            // A label of the revision itself resolves to itself: a dependency self-loop.
            if j == i {
                return Err(GraphError::SelfReference {
                    rev: spec.id.clone(),
                    key: "depends_on",
                    at: at(),
                });
            }
            if !ds.contains(&j) {
                ds.push(j);
            }
        }
        nodes.push(Node {
            id: RevisionId(spec.id.clone()),
            spec: spec.clone(),
            parents: ps,
            deps: ds,
            norm_deps: Vec::new(),
            norm_down_full: Vec::new(),
            children: Vec::new(),
            dependents: Vec::new(),
            all_children_full: Vec::new(),
            labels: Vec::new(),
        });
    }
    drop(specs);

    let mut any_deps = false;
    for i in 0..n {
        for k in 0..nodes[i].parents.len() {
            let p = nodes[i].parents[k];
            nodes[p].children.push(i);
        }
        for k in 0..nodes[i].deps.len() {
            let d = nodes[i].deps[k];
            nodes[d].dependents.push(i);
            any_deps = true;
        }
    }
    // Only revisions with dependents need a merged list; the rest use `children`.
    for node in &mut nodes {
        if !node.dependents.is_empty() {
            let mut all = node.children.clone();
            all.extend(
                node.dependents
                    .iter()
                    .filter(|d| !node.children.contains(d)),
            );
            all.sort_unstable();
            node.all_children_full = all;
        }
    }

    if let Some(cycle) = find_cycle(&nodes, false) {
        return Err(GraphError::Cycle {
            revisions: name_cycle(&nodes, &cycle),
        });
    }
    // Without any dependency the second walk would repeat the first.
    if any_deps && let Some(cycle) = find_cycle(&nodes, true) {
        return Err(GraphError::DependencyCycle {
            revisions: name_cycle(&nodes, &cycle),
        });
    }

    if any_deps {
        for (i, norm_deps) in normalize_deps(&nodes) {
            let node = &mut nodes[i];
            if !norm_deps.is_empty() {
                let mut full = node.parents.clone();
                full.extend(norm_deps.iter().filter(|d| !node.parents.contains(d)));
                node.norm_down_full = full;
            }
            node.norm_deps = norm_deps;
        }
    }
    if nodes.iter().any(|node| !node.spec.branch_labels.is_empty()) {
        let labels = inherit_labels(&nodes);
        for (node, labels) in nodes.iter_mut().zip(labels) {
            node.labels = labels;
        }
    }
    Ok(Parts {
        nodes,
        by_id,
        by_label,
    })
}

fn check_list(
    spec: &RevisionSpec,
    list: &[String],
    key: &'static str,
    line: Option<usize>,
) -> Result<(), GraphError> {
    let at = || spec.origin.at(line);
    for (k, name) in list.iter().enumerate() {
        if *name == spec.id {
            return Err(GraphError::SelfReference {
                rev: spec.id.clone(),
                key,
                at: at(),
            });
        }
        // Lists are a few names long: comparing beats hashing.
        if list[..k].contains(name) {
            return Err(GraphError::Repeated {
                rev: spec.id.clone(),
                name: name.clone(),
                key,
                at: at(),
            });
        }
    }
    Ok(())
}

/// Kahn's algorithm from the roots over `parents` edges, plus `deps` edges if
/// `with_deps`; if some revisions are never reached, walks up among them until one
/// repeats and returns that loop, parent first, starting at the earliest loaded
/// revision.
fn find_cycle(nodes: &[Node], with_deps: bool) -> Option<Vec<usize>> {
    let n = nodes.len();
    let none: &[usize] = &[];
    let parents = |i: usize| nodes[i].parents.as_slice();
    let children = |i: usize| nodes[i].children.as_slice();
    let deps = |i: usize| if with_deps { &nodes[i].deps } else { none };
    let dependents = |i: usize| {
        if with_deps {
            &nodes[i].dependents
        } else {
            none
        }
    };
    // A dependency that is also a parent is counted, and released, twice: once per
    // list it appears in.
    let mut pending: Vec<usize> = (0..n).map(|i| parents(i).len() + deps(i).len()).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = vec![false; n];
    let mut count = 0;
    while let Some(i) = ready.pop() {
        done[i] = true;
        count += 1;
        for &c in children(i).iter().chain(dependents(i)) {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(c);
            }
        }
    }
    if count == n {
        return None;
    }
    let start = (0..n).find(|&i| !done[i])?;
    let mut position: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut current = start;
    loop {
        if let Some(&p) = position.get(&current) {
            let mut cycle = path.split_off(p);
            cycle.reverse();
            let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
            cycle.rotate_left(first);
            return Some(cycle);
        }
        position.insert(current, path.len());
        path.push(current);
        // An unfinished revision always has an unfinished parent or dependency: that
        // is why it never became ready.
        current = *parents(current)
            .iter()
            .chain(deps(current))
            .find(|&&p| !done[p])?;
    }
}

fn name_cycle(nodes: &[Node], cycle: &[usize]) -> Vec<(String, Location)> {
    cycle
        .iter()
        .map(|&i| (nodes[i].spec.id.clone(), nodes[i].spec.origin.at(None)))
        .collect()
}

/// Alembic's `_normalize_depends_on`: a dependency is dropped when some ancestor
/// (through `revises` only) already depends on it. Only dependencies shared by several
/// revisions can be dropped, so most revisions skip the ancestor walk.
fn normalize_deps(nodes: &[Node]) -> Vec<(usize, Vec<usize>)> {
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let ds = &node.deps;
        if ds.is_empty() {
            continue;
        }
        let mut wanted: HashSet<usize> = ds
            .iter()
            .copied()
            .filter(|&d| nodes[d].dependents.len() > 1)
            .collect();
        if wanted.is_empty() {
            out.push((i, ds.clone()));
            continue;
        }
        let mut dropped: HashSet<usize> = HashSet::new();
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = node.parents.clone();
        while let Some(a) = stack.pop() {
            if wanted.is_empty() {
                break;
            }
            if !seen.insert(a) {
                continue;
            }
            for d in &nodes[a].deps {
                if wanted.remove(d) {
                    dropped.insert(*d);
                }
            }
            stack.extend(&nodes[a].parents);
        }
        out.push((
            i,
            ds.iter()
                .copied()
                .filter(|d| !dropped.contains(d))
                .collect(),
        ));
    }
    out
}

/// Alembic's `_add_branches`, made deterministic: a declared label goes to the
/// revision, all its descendants, and — when those descendants form one unforked line
/// with no merge point and no revision depended on by another branch — to its
/// ancestors down to the nearest branch point or merge point (exclusive). Alembic walks
/// down from an arbitrary last descendant; that walk gets past the labelled revision
/// exactly under this condition.
fn inherit_labels(nodes: &[Node]) -> Vec<Vec<String>> {
    let n = nodes.len();
    let mut labels: Vec<Vec<String>> = vec![Vec::new(); n];
    let parents = |i: usize| nodes[i].parents.as_slice();
    let blocks = |i: usize| nodes[i].all_children().len() > 1 || parents(i).len() > 1;
    for (r, node) in nodes.iter().enumerate() {
        let spec = &node.spec;
        if spec.branch_labels.is_empty() {
            continue;
        }
        let mut seen = HashSet::new();
        let mut stack = vec![r];
        let mut unforked = true;
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            unforked &= !blocks(i);
            labels[i].extend(spec.branch_labels.iter().cloned());
            stack.extend(&nodes[i].children);
        }
        if unforked {
            let mut current = parents(r).first().copied();
            while let Some(p) = current {
                if blocks(p) {
                    break;
                }
                labels[p].extend(spec.branch_labels.iter().cloned());
                current = parents(p).first().copied();
            }
        }
    }
    for l in &mut labels {
        l.sort_unstable();
        l.dedup();
    }
    labels
}
