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

pub(super) fn build(
    specs: Vec<std::sync::Arc<RevisionSpec>>,
    max_id_len: usize,
) -> Result<Parts, GraphError> {
    let n = specs.len();
    let mut by_id = KeyIndex::with_capacity(n);
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

    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
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
        parents.push(ps);
        deps.push(ds);
    }

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for &p in &parents[i] {
            children[p].push(i);
        }
        for &d in &deps[i] {
            dependents[d].push(i);
        }
    }
    // Only revisions with dependents need a merged list; the rest use `children`.
    let mut all_children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        if !dependents[i].is_empty() {
            let mut all = children[i].clone();
            all.extend(dependents[i].iter().filter(|d| !children[i].contains(d)));
            all.sort_unstable();
            all_children[i] = all;
        }
    }

    if let Some(cycle) = find_cycle(&parents, &[], &children, &[]) {
        return Err(GraphError::Cycle {
            revisions: name_cycle(&specs, &cycle),
        });
    }
    // Without any dependency the second walk would repeat the first.
    if deps.iter().any(|d| !d.is_empty())
        && let Some(cycle) = find_cycle(&parents, &deps, &children, &dependents)
    {
        return Err(GraphError::DependencyCycle {
            revisions: name_cycle(&specs, &cycle),
        });
    }

    let norm_deps = normalize_deps(&parents, &deps, &dependents);
    let labels = inherit_labels(&specs, &parents, &children, &dependents, &all_children);

    let nodes = specs
        .into_iter()
        .zip(parents)
        .zip(deps)
        .zip(norm_deps)
        .zip(children)
        .zip(dependents)
        .zip(all_children)
        .zip(labels)
        .map(
            |(
                ((((((spec, parents), deps), norm_deps), children), dependents), all_children),
                labels,
            )| {
                let mut norm_down_full = Vec::new();
                if !norm_deps.is_empty() {
                    norm_down_full = parents.clone();
                    norm_down_full.extend(norm_deps.iter().filter(|d| !parents.contains(d)));
                }
                Node {
                    id: RevisionId(spec.id.clone()),
                    spec,
                    parents,
                    deps,
                    norm_deps,
                    norm_down_full,
                    children,
                    dependents,
                    all_children_full: all_children,
                    labels,
                }
            },
        )
        .collect();
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

/// Kahn's algorithm from the roots over `parents` plus `deps` edges; if some
/// revisions are never reached, walks up among them until one repeats and returns
/// that loop, parent first, starting at the earliest loaded revision. Empty `deps`
/// and `dependents` stand for no dependency at all.
fn find_cycle(
    parents: &[Vec<usize>],
    deps: &[Vec<usize>],
    children: &[Vec<usize>],
    dependents: &[Vec<usize>],
) -> Option<Vec<usize>> {
    let n = parents.len();
    let none: &[usize] = &[];
    let deps = |i: usize| deps.get(i).map_or(none, Vec::as_slice);
    let dependents = |i: usize| dependents.get(i).map_or(none, Vec::as_slice);
    // A dependency that is also a parent is counted, and released, twice: once per
    // list it appears in.
    let mut pending: Vec<usize> = (0..n).map(|i| parents[i].len() + deps(i).len()).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = vec![false; n];
    let mut count = 0;
    while let Some(i) = ready.pop() {
        done[i] = true;
        count += 1;
        for &c in children[i].iter().chain(dependents(i)) {
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
        current = *parents[current]
            .iter()
            .chain(deps(current))
            .find(|&&p| !done[p])?;
    }
}

fn name_cycle(specs: &[std::sync::Arc<RevisionSpec>], cycle: &[usize]) -> Vec<(String, Location)> {
    cycle
        .iter()
        .map(|&i| (specs[i].id.clone(), specs[i].origin.at(None)))
        .collect()
}

/// Alembic's `_normalize_depends_on`: a dependency is dropped when some ancestor
/// (through `revises` only) already depends on it. Only dependencies shared by several
/// revisions can be dropped, so most revisions skip the ancestor walk.
fn normalize_deps(
    parents: &[Vec<usize>],
    deps: &[Vec<usize>],
    dependents: &[Vec<usize>],
) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(deps.len());
    for (i, ds) in deps.iter().enumerate() {
        let mut wanted: HashSet<usize> = ds
            .iter()
            .copied()
            .filter(|&d| dependents[d].len() > 1)
            .collect();
        if wanted.is_empty() {
            out.push(ds.clone());
            continue;
        }
        let mut dropped: HashSet<usize> = HashSet::new();
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = parents[i].clone();
        while let Some(a) = stack.pop() {
            if wanted.is_empty() {
                break;
            }
            if !seen.insert(a) {
                continue;
            }
            for d in &deps[a] {
                if wanted.remove(d) {
                    dropped.insert(*d);
                }
            }
            stack.extend(&parents[a]);
        }
        out.push(
            ds.iter()
                .copied()
                .filter(|d| !dropped.contains(d))
                .collect(),
        );
    }
    out
}

/// Alembic's `_add_branches`, made deterministic: a declared label goes to the
/// revision, all its descendants, and — when those descendants form one unforked line
/// with no merge point and no revision depended on by another branch — to its
/// ancestors down to the nearest branch point or merge point (exclusive). Alembic walks
/// down from an arbitrary last descendant; that walk gets past the labelled revision
/// exactly under this condition.
fn inherit_labels(
    specs: &[std::sync::Arc<RevisionSpec>],
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
    dependents: &[Vec<usize>],
    all_children: &[Vec<usize>],
) -> Vec<Vec<String>> {
    let n = specs.len();
    let mut labels: Vec<Vec<String>> = vec![Vec::new(); n];
    let fanout = |i: usize| {
        if dependents[i].is_empty() {
            children[i].len()
        } else {
            all_children[i].len()
        }
    };
    let blocks = |i: usize| fanout(i) > 1 || parents[i].len() > 1;
    for (r, spec) in specs.iter().enumerate() {
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
            stack.extend(&children[i]);
        }
        if unforked {
            let mut current = parents[r].first().copied();
            while let Some(p) = current {
                if blocks(p) {
                    break;
                }
                labels[p].extend(spec.branch_labels.iter().cloned());
                current = parents[p].first().copied();
            }
        }
    }
    for l in &mut labels {
        l.sort_unstable();
        l.dedup();
    }
    labels
}
