"""THE list of known, deliberate differences between aludel and Alembic 1.20.1.

Three lists, each entry saying what differs and why (for FORMATTING and
DIFFERENCES: why aludel's answer is deliberate; for OPEN: what is undecided or
wrong and who is on it):

- FORMATTING: text that differs in form only. Both outputs are normalised by every
  entry's `normalise` before they are compared; a case equal only after this is
  counted as "formatting".
- DIFFERENCES: answers that differ on purpose. `applies(case, alembic, aludel)` says
  whether a case's difference is this one; the first entry that applies names it.

- OPEN (at the end): differences that are bugs or not yet decided; reported with a
  reproduction on every run, failing it only with ALEMBIC_DIFF_STRICT=1.

Nothing else may differ: a case that no entry explains fails the run. Add to
DIFFERENCES only a difference aludel means to keep, never to quiet a bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


@dataclass
class Formatting:
    id: str
    what: str
    why: str
    normalise: Callable  # text -> text, or for `sql` cases events -> events
    verbs: tuple[str, ...] = ()  # the commands it applies to; () for all
    kind: str = "text"  # the case kind it applies to (oracle.Case.kind)


@dataclass
class Difference:
    id: str
    what: str
    why: str
    applies: Callable  # (Case, Outcome alembic, Outcome aludel) -> bool


def _sort_paren_lists(text: str) -> str:
    return re.sub(
        r"\(([^()]*, [^()]*)\)",
        lambda m: "(" + ", ".join(sorted(m.group(1).split(", "))) + ")",
        text,
    )


def _sort_field(name: str) -> Callable[[str], str]:
    pat = re.compile(rf"^({re.escape(name)}: )(.*)$", re.M)
    return lambda text: pat.sub(
        lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))), text
    )


def _sort_arrow_runs(text: str) -> str:
    """Sorts each run of consecutive ` -> child` lines of `branches`."""
    out: list[str] = []
    run: list[str] = []
    for line in text.split("\n"):
        if re.match(r"^ +-> ", line):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    out.extend(sorted(run))
    return "\n".join(out)


def _sort_current(text: str) -> str:
    """Sorts the entries of `current` (one line each, or `Rev:` blocks with -v)."""
    if "Rev: " in text:
        head, *entries = re.split(r"(?m)^(?=Rev: )", text)
        return head + "".join(sorted(entries))
    return "".join(sorted(text.splitlines(keepends=True)))


def _net_row_changes(events: tuple) -> tuple:
    """Each step's version-table statements as the rows it removes and adds."""
    out: list = []
    removed: set = set()
    added: set = set()

    def flush():
        if removed or added:
            out.append(("rows", tuple(sorted(removed - added)), tuple(sorted(added - removed))))
        removed.clear()
        added.clear()

    for e in events:
        if e[0] == "insert":
            added.add(e[1])
        elif e[0] == "delete":
            removed.add(e[1])
        elif e[0] == "update":
            removed.add(e[2])
            added.add(e[1])
        else:
            flush()
            out.append(e)
    flush()
    return tuple(out)


FORMATTING = [
    Formatting(
        "path",
        "`Path:` lines name the revision's file: `versions/x.py` in the Alembic "
        "project, `migrations/versions/x.sql` in aludel's.",
        "The files are different files; the rest of the entry must match.",
        lambda t: re.sub(r"^Path: .*$", "Path: <file>", t, flags=re.M),
    ),
    Formatting(
        "current-url",
        "`current -v` names the database URL, which is a different SQLite file on each side.",
        "Each project has its own database.",
        lambda t: re.sub(r"^Current revision\(s\) for .*:$", "Current revision(s) for <url>:", t, flags=re.M),
    ),
    Formatting(
        "set-order",
        "Lists that Alembic keeps in Python sets (a revision's branch labels, a branch "
        "point's children, `Branches into:`, `Branch names:`) come out in hash order; "
        "aludel prints them in a stable order (load order).",
        "Hash order changes from one Python process to the next (PYTHONHASHSEED); a "
        "stable order is what scripts and snapshot tests need.",
        lambda t: _sort_arrow_runs(
            _sort_field("Branch names")(_sort_field("Branches into")(_sort_paren_lists(t)))
        ),
    ),
    Formatting(
        "current-order",
        "`current` lists the revisions the database is at in the order of a Python set "
        "in Alembic, in load order in aludel.",
        "As for set-order: a stable order.",
        _sort_current,
        ("current",),
    ),
    Formatting(
        "version-statements",
        "`--sql`: when a step leaves several rows, which row Alembic UPDATEs and which "
        "it INSERTs or DELETEs follows a Python set's order; aludel's choice is stable. "
        "Each step is compared by the rows it removes and adds.",
        "The statements have the same effect on the table; a stable script diffs "
        "cleanly from one run to the next.",
        _net_row_changes,
        kind="sql",
    ),
]


_RELATIVE = re.compile(r"(^|[:@])[+-]\d+$|\w[+-]\d+$")


def _targets(case) -> list[str]:
    """The targets a case names, range ends split."""
    from oracle import _positionals, _opt

    out = list(_positionals(case.args))
    if _opt(case.args, "-r") is not None:
        out.append(_opt(case.args, "-r"))
    return [side for t in out for side in t.split(":")]


def _opt_r(case):
    from oracle import _opt

    return _opt(case.args, "-r")


def _positionals_of(case) -> list[str]:
    from oracle import _positionals

    return _positionals(case.args)


def _label_prefix(case) -> bool:
    """Whether a target's identifier is only a prefix of a branch label (longer
    than three characters, as Alembic's partial matching requires)."""
    for t in _targets(case):
        ident = re.sub(r"[+-]\d+$", "", t.split("@")[0])
        if ident and ident not in case.ids and ident not in case.labels:
            if any(lab.startswith(ident) and len(lab) > 3 for lab in case.labels):
                return True
    return False


def _replay(events, start=()) -> list:
    """The version rows after each step of a `--sql` script, from a table holding
    `start` (empty unless given)."""
    rows: set = set(start)
    out = []
    for e in events:
        if e[0] == "run" and out is not None:
            out.append(frozenset(rows))
        elif e[0] == "insert":
            rows.add(e[1])
        elif e[0] == "delete":
            rows.discard(e[1])
        elif e[0] == "update":
            rows.discard(e[2])
            rows.add(e[1])
        elif e[0] == "purge":
            rows.clear()
    out.append(frozenset(rows))
    return out


def _heads_of(graph, rows) -> frozenset:
    return frozenset(r for r in rows if not any(r in graph.ancestors(o) for o in rows if o in graph.ids()))


def _rows_between_steps(c, a, b) -> bool:
    if a.status != "ok" or b.status != "ok" or c.graph is None:
        return False
    if c.kind == "online":
        (ran_a, rows_a), (ran_b, rows_b) = a.value, b.value
        return ran_a == ran_b and set(rows_b) == _heads_of(c.graph, rows_a)
    if c.kind != "sql":
        return False
    steps = lambda v: [e for e in v if e[0] in ("run", "ran")]  # noqa: E731
    if steps(a.value) != steps(b.value):
        return False
    ra, rb = _replay(a.value), _replay(b.value)
    return (
        len(ra) == len(rb)
        and ra[-1] == rb[-1]
        and all(y == _heads_of(c.graph, x) for x, y in zip(ra, rb))
    )


def _dedup_entries(text: str) -> str:
    """`show` output with each `Rev:` entry kept once, in first-seen order."""
    seen: list[str] = []
    for entry in re.split(r"(?m)^(?=Rev: )", text):
        if entry not in seen:
            seen.append(entry)
    return "".join(seen)


def _effective_heads(graph) -> list[str]:
    """The revisions no other revises (Alembic's `heads`: depends_on does not count)."""
    return [r.id for r in graph.revs if not any(r.id in x.parents for x in graph.revs)]


def _branch_heads(graph, branch: str) -> list[str]:
    """The heads sharing a lineage along `revises` with the revision a `LABEL@` names
    (Alembic's `filter_for_lineage(heads, LABEL)`)."""
    owner = next((r.id for r in graph.revs if branch in r.labels), branch)
    if owner not in graph.ids():
        return []
    return [h for h in _effective_heads(graph) if _in_lineage(graph, branch, h)]


def _real_heads_with_label(graph, label: str) -> list[str]:
    """The revisions nothing revises or depends on (Alembic's real heads) that carry
    `label`, declared or inherited along `revises` (what Alembic's stamp counts
    `LABEL@-N` from)."""
    owner = next((r.id for r in graph.revs if label in r.labels), None)
    if owner is None:
        return []
    return [h for h in _real_heads(graph) if h == owner or owner in graph.ancestors(h, deps=False)]


def _real_heads(graph) -> list[str]:
    """The revisions nothing revises or depends on (what aludel's `heads` walks from)."""
    label_of = {lab: r.id for r in graph.revs for lab in r.labels}
    below = {p for r in graph.revs for p in r.parents} | {
        label_of.get(d, d) for r in graph.revs for d in r.depends_on
    }
    return [r.id for r in graph.revs if r.id not in below]


def _in_lineage(graph, branch: str, rev: str) -> bool:
    """Whether `rev` shares a lineage along `revises` with the revision `branch` names."""
    owner = next((r.id for r in graph.revs if branch in r.labels), branch)
    return (
        rev == owner
        or owner in graph.ancestors(rev, deps=False)
        or rev in graph.ancestors(owner, deps=False)
    )


def _n_below(graph, rev: str, n: int):
    """Where `n` steps down from `rev` along a line of single parents lands: `{REV}`,
    or `set()` for base exactly; None when the walk meets a merge or goes below base."""
    for i in range(n):
        parents = graph.by_id(rev).parents
        if not parents and i == n - 1:
            return set()
        if len(parents) != 1:
            return None
        rev = parents[0]
    return {rev}


def _rows_after(case, o) -> frozenset:
    """The version rows a side's answer leaves: online, the table; `--sql`, what the
    script's statements leave in a table holding the range's start when that is a
    revision id (`A:B`), else an empty one."""
    if case.kind == "online":
        return frozenset(o.value[1])
    starts = [t.split(":")[0] for t in _positionals_of(case) if ":" in t]
    return _replay(o.value, [s for s in starts if s in case.ids])[-1]


_LABEL_MINUS_N = re.compile(r"(?:(\w+)@)?-(\d+)")


def _minus_n_targets(case) -> list:
    """`(label or None, N)` for each `-N` / `LABEL@-N` the case names (range ends split)."""
    return [
        (m.group(1), int(m.group(2)))
        for m in (_LABEL_MINUS_N.fullmatch(t) for t in _targets(case))
        if m
    ]


def _stamped_besides(case, rows, expected) -> bool:
    """Whether `rows` hold every revision of `expected` (None: unknown) and, besides
    them, at most one row per other target of the stamp."""
    others = [t for t in _positionals_of(case) if not _LABEL_MINUS_N.fullmatch(t)]
    return expected is not None and expected <= rows and len(rows - expected) <= len(others)


def _all_current(graph, rows) -> list[str]:
    """The rows plus every revision applied for them (depends_on included) that no
    applied revision revises (Alembic's `_get_all_current`)."""
    applied = set(rows).union(*(graph.ancestors(r) for r in rows))
    return [r for r in applied if not any(r in graph.ancestors(o, deps=False) for o in applied)]


def _purge_counts_from_rows(c, b) -> bool:
    """`stamp -N --purge` / `LABEL@-N --purge` online: aludel's rows are N below the
    one row (of LABEL's branch) the table held before the purge, or where no row is
    on LABEL's branch, below the one revision of the branch applied for the rows
    (a dependency of one of them), as `downgrade LABEL@-N` counts."""
    if c.kind != "online" or not c.state or not _minus_n_targets(c):
        return False
    expected = set()
    for label, n in _minus_n_targets(c):
        start = [r for r in c.state if label is None or _in_lineage(c.graph, label, r)]
        if not start and label is not None:
            start = [r for r in _all_current(c.graph, c.state) if _in_lineage(c.graph, label, r)]
        below = _n_below(c.graph, start[0], n) if len(start) == 1 else None
        if below is None:
            return False
        expected |= below
    return _stamped_besides(c, _rows_after(c, b), expected)


def _depended_label_counts(c) -> set | None:
    """For each `LABEL@-N` whose label no real head carries, the revision N below each
    of the branch's heads (`LABEL@heads`); None when a target is not such or a walk is
    not a plain line."""
    out = set()
    for label, n in _minus_n_targets(c):
        if label is None or _real_heads_with_label(c.graph, label):
            return None
        for h in _branch_heads(c.graph, label):
            below = _n_below(c.graph, h, n)
            if below is None:
                return None
            out |= below
    return out if _minus_n_targets(c) else None


def _runs_below_base(graph, rev: str, n: int) -> bool:
    """Whether `n` steps down from `rev` along single parents run out below base
    (reaching base before the last step); False where the walk meets a merge."""
    for _ in range(n):
        parents = graph.by_id(rev).parents
        if not parents:
            return True
        if len(parents) != 1:
            return False
        rev = parents[0]
    return False


def _history_listed(text: str) -> set:
    """The revisions a `history` listing names (one entry each, `-v` or not)."""
    if "Rev: " in text:
        return set(re.findall(r"(?m)^Rev: (\w+)", text))
    return set(re.findall(r"(?m)-> (\w+)", text))


def _history_lower_below_base(c, a, b) -> bool:
    """`history -r -N:UPPER` / `LABEL@-N:UPPER` where every real head (carrying
    LABEL) runs out below base N down, both list, and aludel's listing is Alembic's
    and revisions below it."""
    r = _opt_r(c)
    if c.args[0] != "history" or r is None or ":" not in r or a.status != "ok" or b.status != "ok":
        return False
    m = _LABEL_MINUS_N.fullmatch(r.split(":")[0])
    if not m:
        return False
    label, n = m.group(1), int(m.group(2))
    heads = _real_heads(c.graph) if label is None else _real_heads_with_label(c.graph, label)
    if not heads or not all(_runs_below_base(c.graph, h, n) for h in heads):
        return False
    listed_a, listed_b = _history_listed(a.value), _history_listed(b.value)
    return bool(listed_a) and listed_a < listed_b and all(
        any(x in c.graph.ancestors(y) for y in listed_a) for x in listed_b - listed_a
    )


def _from_no_rows(case) -> bool:
    """Whether the command starts from an empty version table: no rows online; offline,
    no range `FROM:TO` but from base (`:TO`, `base:TO`, `LABEL@base:TO`)."""
    starts = [t.split(":")[0] for t in _positionals_of(case) if ":" in t]
    return not case.state and all(s in ("", "base") or s.endswith("@base") for s in starts)


def _refused(o, *texts: str) -> bool:
    return o.status == "refused" and any(t in o.detail for t in texts)


DIFFERENCES: list[Difference] = [
    Difference(
        "overlapping-stamp",
        "`stamp A B` where A is an ancestor of B (or the two overlap through depends_on): "
        "Alembic writes rows for both, or one of them, depending on the order; aludel "
        "refuses and names the one revision to stamp.",
        "A version table holding a revision and its own ancestor is one no upgrade can "
        "produce; every later command would read it differently. Refusing costs the "
        "user one retyped command.",
        lambda c, a, b: c.args[0] == "stamp" and _refused(b, "stamp targets overlap"),
    ),
    Difference(
        "ambiguous-relative",
        "`-N` (and `+N`) while the database is at several revisions: Alembic picks one "
        "of them (in set order), aludel refuses and asks for `REV-N` or `LABEL@-N`.",
        "Which branch Alembic walks depends on a Python set's order, so the same "
        "command can revert a different revision on another run.",
        lambda c, a, b: _refused(
            b, "Ambiguous walk", "ambiguous downgrade from multiple current revisions"
        ),
    ),
    Difference(
        "one-revision-merge",
        "`merge` of what resolves to a single revision (`merge heads` with one head): "
        "Alembic writes a revision with one parent, aludel refuses: nothing to merge.",
        "A merge of one revision is an ordinary child revision in disguise; `revision` "
        "makes that.",
        lambda c, a, b: c.args[0] == "merge" and _refused(b, "nothing to merge"),
    ),
    Difference(
        "upgrade-range-down",
        "`upgrade A:B --sql` with B below A: Alembic prints an empty script, aludel "
        "refuses and points to `downgrade A:B --sql`.",
        "An empty script for a range that goes down is a silent no-op in a deploy "
        "pipeline; the user meant the downgrade (SPEC, offline ranges).",
        lambda c, a, b: c.kind == "sql" and c.args[0] == "upgrade" and _refused(b, "goes down"),
    ),
    Difference(
        "relative-targets-everywhere",
        "Relative targets (`+N`, `-N`, `REV+N`, `REV-N`, `LABEL@+N`) in `stamp`, `show` "
        "and history ranges: Alembic cannot locate them there, aludel resolves them as "
        "it does for `upgrade`/`downgrade`.",
        "One target grammar for every command (SPEC, Targets); Alembic's refusal is "
        "an accident of which code path parses the target.",
        lambda c, a, b: _refused(
            a,
            "Can't locate revision identified by",
            "does not refer to ancestor/descendant revisions",
            "Multiple head revisions are present for given argument 'heads'",
        )
        and b.status == "ok"
        and any(_RELATIVE.search(t) for t in _targets(c)),
    ),
    Difference(
        "stamp-purge-relative",
        "`stamp -N --purge` (also `LABEL@-N`), online (offline Alembic refuses --purge: "
        "sql-purge): aludel stamps N below the one row (of LABEL's branch) the table "
        "held before the purge; Alembic refuses `-N` in `stamp` while the table has "
        "rows, and after its purge has emptied the table counts from the heads (or "
        "stops with `Ambiguous walk`). Where those rows hold nothing of LABEL's "
        "branch, aludel counts from the one revision of the branch applied for them "
        "(a row's dependency), as `downgrade LABEL@-N` does, and refuses `LABEL@-N` "
        "where there is none, as without --purge. Repros: graph `a< b<a c<b[eb] d<c "
        "x<a y<x`, rows `y`, `stamp eb@-1 --purge` (Alembic stamps c); graph `e12c1< "
        "e16e<e12c1 b<e12c1[lb1] a<|e12c1`, rows `a`, `stamp lb1@-1 --purge` (Alembic "
        "stamps e12c1, one below b; aludel counts from e12c1, comes to base: no row).",
        "The same target means the same place with and without --purge: N below "
        "where the database is, as `stamp -N` without --purge and `downgrade -N` "
        "count. Alembic's answer comes from the order in which it empties the table.",
        lambda c, a, b: c.args[0] == "stamp"
        and "--purge" in c.args
        and (
            (b.status == "ok" and _purge_counts_from_rows(c, b))
            or (
                c.kind == "online"
                and c.state
                and a.status == "ok"
                and _refused(b, "nothing of branch")
                and any(
                    label and not any(_in_lineage(c.graph, label, r) for r in c.state)
                    for label, _ in _minus_n_targets(c)
                )
            )
        ),
    ),
    Difference(
        "merge-point-last-step",
        "`downgrade -N` / `LABEL@-N` whose last step lands on a merge point: Alembic "
        "stops with `Ambiguous walk`, aludel reverts the merge revision, which leaves "
        "the database at both its parents.",
        "N steps down are N revisions reverted, which is well defined here; only "
        "the name of the place below a merge is ambiguous (graph/target.rs, "
        "`downgrade_target`).",
        lambda c, a, b: c.args[0] == "downgrade" and _refused(a, "Ambiguous walk") and b.status == "ok",
    ),
    Difference(
        "stamp-base-with-others",
        "`stamp base REV` (base among several targets): Alembic ignores `base` and "
        "stamps the others; aludel refuses and points to `stamp --purge REV`.",
        "`base` means an empty version table; asking for it and for rows at once is a "
        "contradiction that Alembic resolves silently.",
        lambda c, a, b: c.args[0] == "stamp" and _refused(b, "stamp base can't be combined"),
    ),
    Difference(
        "empty-current-in-range",
        "A history range ending (or starting) at `current` while the database is at "
        "base: Alembic reads the empty `current` as no bound and lists everything "
        "above the other end; aludel reads it as base (an empty listing for `:current`, "
        "a refusal for `REV:current` since base is below REV).",
        "`current` names where the database is; on an empty database that is base, "
        "not every revision.",
        lambda c, a, b: c.args[0] == "history"
        and not c.state
        and "current" in (_opt_r(c) or "").split(":"),
    ),
    Difference(
        "current-on-either-side",
        "`current` as the lower end of a history range (`history -r current:current`, "
        "`current:REV` with REV above): Alembic cannot locate `current` there, aludel "
        "reads it as on the other side.",
        "One range grammar: either end is any target.",
        lambda c, a, b: _refused(a, "Can't locate revision identified by 'current'") and b.status == "ok",
    ),
    Difference(
        "heads-as-range-start",
        "`heads` as the start of a `--sql` downgrade or stamp range: Alembic refuses "
        "when there are several heads; aludel starts from all of them (an offline "
        "script for a database at several heads).",
        "The script is what running the command on a database at every head does; "
        "there is no one head to name instead.",
        lambda c, a, b: c.kind == "sql"
        and _refused(a, "Multiple head revisions are present for given argument 'heads'")
        and b.status == "ok"
        and any(t.startswith("heads:") for t in _positionals_of(c)),
    ),
    Difference(
        "label-prefix",
        "A prefix of a branch label (`b` for a revision labelled `beta`): Alembic "
        "matches partial identifiers against labels too (its revision map holds "
        "labels beside ids), so `b` names the labelled revision, or is ambiguous "
        "with an id; aludel matches prefixes against revision ids only and uses a "
        "label whole.",
        "A label is a name chosen to be typed in full; letting its prefix name a "
        "revision makes a short id ambiguous as soon as someone adds a label "
        "(graph/target.rs, `ident`).",
        lambda c, a, b: a.status != b.status and _label_prefix(c),
    ),
    Difference(
        "no-ancestor-rows",
        "The same revisions run in the same order, but Alembic's version table holds "
        "a revision together with one of its own ancestors, after some step of a "
        "`--sql` script (reverting `e117<de4|ab1e` writes both `ab1e` and `de4`, though "
        "`ab1e` revises `de4`) or at the end of an online run (reverting a merge "
        "`f6d<ca,ab0` whose parent `ca` is an ancestor of its other parent `ab0` "
        "leaves `ab0` and `ca`); aludel writes only the heads of those rows.",
        "A version table never needs an ancestor beside its descendant; aludel's "
        "table is the one every command reads the same way.",
        _rows_between_steps,
    ),
    Difference(
        "stamp-keeps-applied-heads",
        "`stamp heads` (or several targets) while a row is already at one of the "
        "heads or targets: Alembic's table loses that row (state `c,e1e8` with `e1e8` "
        "a lone root, `stamp heads` leaves the other heads only; state `ca,ca2a`, "
        "`stamp ca2a aa7` leaves `aa7` alone); aludel keeps it.",
        "Alembic's answer forgets a revision that is applied and is a head: the next "
        "`upgrade heads` would run it again.",
        lambda c, a, b: c.kind == "online"
        and c.args[0] == "stamp"
        and a.status == b.status == "ok"
        and set(a.value[1]) < set(b.value[1])
        and all(
            r in c.state
            and (not any(r in x.parents for x in c.graph.revs) or r in _positionals_of(c))
            for r in set(b.value[1]) - set(a.value[1])
        ),
    ),
    Difference(
        "show-once",
        "`show -N` (or another target) that reaches one revision from several heads: "
        "Alembic prints its entry once per head, aludel once.",
        "`show` describes revisions; the same entry twice says nothing more.",
        lambda c, a, b: c.args[0] == "show"
        and a.status == b.status == "ok"
        and normalise(c, _dedup_entries(a.value)) == normalise(c, b.value),
    ),
    Difference(
        "relative-to-base-in-show",
        "`show T` where T walks down to base (`show lb2@-1` from a branch's root): "
        "Alembic prints nothing and succeeds; aludel refuses, saying the walk ends at "
        "base and to type `base`.",
        "An empty success hides a miscounted target; base is not a revision to show.",
        lambda c, a, b: c.args[0] == "show" and a.status == "ok" and not a.value and _refused(b, "that is base"),
    ),
    Difference(
        "sql-purge",
        "`stamp --sql --purge`: Alembic refuses (`Can't use --purge with --sql mode`), "
        "aludel writes the DELETE of every row into the script before the stamp.",
        "An offline script is how such a stamp reaches a database aludel cannot "
        "connect to; the purge is one plain statement.",
        lambda c, a, b: c.kind == "sql"
        and "--purge" in c.args
        and _refused(a, "Can't use --purge with --sql mode")
        and b.status == "ok",
    ),
    Difference(
        "history-relative-overlap",
        "`history -r -N:heads` where the walks down from several heads reach revisions "
        "of which one is another's ancestor: Alembic refuses (`Requested revision X "
        "overlaps with other requested revisions Y`), aludel lists the union. Repro: "
        "graph `e137< c24<e137 caa7<c24[lb1] f< ab<c24|lb1[lb2] e12f3< e1274<c24 "
        "d<e12f3 bb<e137|f`, `history -r -1:heads`.",
        "A history listing changes nothing: the revisions each walk reaches, listed "
        "once, answer what was asked; refusing would only send the user to list each "
        "head's range by hand.",
        lambda c, a, b: c.args[0] == "history" and _refused(a, "overlaps with other requested") and b.status == "ok",
    ),
    Difference(
        "history-relative-lower-below-base",
        "`history -r -N:UPPER` (also `LABEL@-N:UPPER`) where the walk N down from every "
        "real head (carrying LABEL) runs out below base: aludel's lower end is then "
        "base, so it lists UPPER and everything below it; Alembic, finding no revision "
        "there, counts N down from UPPER instead and lists UPPER and the N revisions "
        "below it. Repro (ALEMBIC_DIFF_SEED=2): graph `e128f< abae<e128f abf8<abae[lb1] "
        "cb4<abf8 f68<cb4 ce5< a1f<ce5|f68`, `history -r -3:f68` (the one real head "
        "a1f is two above base; Alembic lists abae to f68, aludel e128f to f68).",
        "In a history range `-N` counts from the real heads, in both tools wherever "
        "that walk reaches a revision; a walk past base ends at base, as a relative "
        "upper end past a head ends at the head (graph/plan.rs, `history`). Counting "
        "from UPPER only when the heads' walk runs out would make `-3` name a place "
        "that depends on the length of another branch (here a1f's, not below f68).",
        _history_lower_below_base,
    ),
    Difference(
        "label-relative-downgrade",
        "`downgrade LABEL@-N` (online, or `A:LABEL@-N --sql`) where LABEL's branch "
        "forks into several heads: Alembic refuses (`Not a valid downgrade "
        "target from current heads`), aludel walks N down on the branch from the "
        "database (or from A). Repros: graph `e117<[lb1] f79<e117 ab<e117|f79 "
        "e1a5<ab`, rows `f79`, `downgrade lb1@-1` (aludel reverts f79); graph "
        "`ab<[lb1] b91<ab db9<b91 ddf<ab cae9<ddf ab7f<ab|db9`, "
        "`downgrade b91:lb1@-1 --sql`.",
        "The database has one row on LABEL's branch, so N steps down from it is "
        "unambiguous; it is what `downgrade -N` does on a single line, restricted to "
        "the branch the label names.",
        lambda c, a, b: c.args[0] == "downgrade"
        and _refused(a, "Not a valid downgrade target from current heads")
        and b.status == "ok"
        and any(re.search(r"@-\d+$", t) for t in _targets(c)),
    ),
    Difference(
        "stamp-run-line",
        "`stamp --sql`: aludel writes one `-- Running stamp_revision X -> Y` step for "
        "the whole stamp, listing every row before and after; Alembic writes one step "
        "per changed branch, naming only the rows that change (`stamp cac1 e149 --sql` "
        "gives `stamp_revision  -> cac1` and `stamp_revision  -> e149`; `stamp b3:a2 "
        "--sql` gives `stamp_revision  -> a2`). The rows written agree. Repro: graph "
        "`root< a1<root a2<a1 b1<root b2<b1 b3<b2`, `stamp b3:a2 --sql`.",
        "A comment line only: aludel names a stamp as one step from the rows before "
        "to the rows after, and the statements that follow agree with Alembic's, "
        "which the comparison checks row by row.",
        lambda c, a, b: c.kind == "sql"
        and c.args[0] == "stamp"
        and a.status == b.status == "ok"
        and _replay(a.value)[-1] == _replay(b.value)[-1],
    ),
    Difference(
        "stamp-relative-below-base",
        "`stamp -N` / `LABEL@-N` whose walk down runs out below base, counted from the "
        "database's row (before a `--purge`) or, with an empty table (online, or `--sql` "
        "without a range or from base), from the head: Alembic stamps what its own count gives (base "
        "when it too runs out: an empty table); aludel refuses, naming the steps the "
        "walk took. Repros: graph `e17f<`, rows `e17f`, `stamp -2 --purge`; graph `c83<`, "
        "no rows, `stamp -3`; graph `b6d< ca14<b6d`, `stamp -3 --sql`.",
        "The rule of `downgrade -N`, where Alembic refuses too: N counts revisions, and a "
        "walk that runs out before N names no place. A mistyped N must not empty the "
        "version table; `stamp base` says so on purpose.",
        lambda c, a, b: c.args[0] == "stamp"
        and a.status == "ok"
        and _refused(b, "the walk went below base")
        and any(_RELATIVE.search(t) for t in _targets(c))
        # from an empty table both count from the same head: Alembic ran out too and
        # stamped base, rows only for the stamp's other targets
        and (not _from_no_rows(c) or _stamped_besides(c, _rows_after(c, a), set())),
    ),
    Difference(
        "stamp-relative-several-heads",
        "`stamp -N` / `LABEL@-N` with an empty version table (online, or `--sql` without "
        "a range or from base) and several heads (of LABEL's branch): Alembic stamps the revision N "
        "below each head, which can leave a revision beside its own ancestor (graph "
        "`a< b<a c<b d<a`, `stamp -1` stamps a and b; on `a< b<a c<a` it fails on an "
        "assertion instead); aludel refuses, naming the heads and asking for `LABEL@-N` "
        "or `REV-N`. With one head both count from it. Repro: graph `d< abe<d fb8<abe c< "
        "ff1<fb8,c[lb1] cfc<ff1 d8a<cfc a83<d8a ca2<abe b<ca2[lb2]`, `stamp a83 -2 --sql`; graph `ca< a61<ca b5d<ca ab8b< e12b<b5d ca1<|e12b "
        "abf9<ab8b`, `stamp base:-3 ab8b --sql`.",
        "With nothing applied, `-N` counts from the head; several heads give no one "
        "place to count from, and a row N below each is a version table no upgrade "
        "produces. Online and offline follow the same rule.",
        lambda c, a, b: c.args[0] == "stamp"
        and _from_no_rows(c)
        and a.status == "ok"
        and _refused(b, "nothing is applied to count from")
        and any(
            len(_real_heads(c.graph) if label is None else _branch_heads(c.graph, label)) > 1
            for label, _ in _minus_n_targets(c)
        ),
    ),
    Difference(
        "stamp-label-relative-depended-head",
        "`stamp LABEL@-N` with an empty version table (online, or `--sql` without a "
        "range or from base) where LABEL's branch ends in a revision another branch depends on: "
        "Alembic counts from its real heads that carry the label, finds none (the "
        "branch's last revision has a dependent, so it is no real head) and stamps "
        "nothing; aludel counts from `LABEL@heads`, that last revision. Repro: Alembic's "
        "tutorial graph `a< b<a c1<b[shoppingcart] d1<b[networking] d2<d1|c1`, `stamp "
        "shoppingcart@-1` (aludel stamps b).",
        "`shoppingcart@head` is c1 in both tools, so one below it is b; a stamp that "
        "succeeds having written nothing hides that the branch's head was not found.",
        lambda c, a, b: c.args[0] == "stamp"
        and _from_no_rows(c)
        and a.status == b.status == "ok"
        and not _rows_after(c, a)
        and _stamped_besides(c, _rows_after(c, b), _depended_label_counts(c)),
    ),
    Difference(
        "show-label-relative-depended-head",
        "`show LABEL@-N` where LABEL's branch ends in a revision another branch depends "
        "on: Alembic counts from its real heads that carry the label, finds none and "
        "prints nothing; aludel counts from `LABEL@heads`, as its `stamp LABEL@-N` does "
        "on an empty table. Repro: Alembic's tutorial graph `a< b<a c1<b[shoppingcart] "
        "d1<b[networking] d2<d1|c1`, `show shoppingcart@-1` (aludel shows b).",
        "As for stamp-label-relative-depended-head: `shoppingcart@head` is c1 in both "
        "tools, so one below it is b, and `show` and `stamp` name the same revision; an "
        "empty success hides that the branch's head was not found.",
        lambda c, a, b: c.args[0] == "show"
        and a.status == b.status == "ok"
        and not a.value
        and _depended_label_counts(c) is not None
        and set(re.findall(r"(?m)^Rev: (\S+)", b.value)) == _depended_label_counts(c),
    ),
    Difference(
        "downgrade-label-head",
        "`downgrade LABEL@head` (online, or `A:LABEL@head --sql`) while the project has "
        "several heads but LABEL's branch has one: Alembic refuses (`Multiple head "
        "revisions are present for given argument 'lb1@head'`), aludel goes down to "
        "that head. Alembic's downgrade splits the target at `@` and resolves `head` "
        "over the whole project (`_parse_downgrade_target`: `get_revision(symbol)`), so "
        "the label never narrows it; its `upgrade`, `stamp`, `show` and `history` resolve "
        "`lb1@head` to the branch's one head (`get_current_head(branch_label)`: the "
        "heads sharing a lineage with the labelled revision along `revises`). Repro: "
        "graph `cab7< d79<cab7 fde<d79 cab2<cab7|fde[lb1] d95<fde,cab2[lb2] e121d<fde`, "
        "rows `d95,e121d`, `downgrade lb1@head` (Alembic's `show lb1@head` and `upgrade "
        "lb1@head` name d95).",
        "One meaning for `LABEL@head` in every command, Alembic's own in all but this "
        "one; where the branch has several heads aludel refuses too.",
        lambda c, a, b: c.args[0] == "downgrade"
        and _refused(a, "Multiple head revisions are present for given argument")
        and b.status == "ok"
        and len(_effective_heads(c.graph)) > 1
        and any(
            t.endswith("@head")
            and len(heads := _branch_heads(c.graph, t[: -len("@head")])) == 1
            and heads[0] in _rows_after(c, b)
            for t in _targets(c)
        ),
    ),
]


# Open bugs: differences where aludel is wrong (or not yet known to be right), kept
# apart from the deliberate ones above. Each is counted and shown with a reproduction
# on every run; it does not fail the run unless ALEMBIC_DIFF_STRICT=1. Remove an
# entry when its fix lands (the run says when an entry matched nothing).
OPEN: list[Difference] = []


def normalise(case, value):
    for f in FORMATTING:
        if f.kind == case.kind and (not f.verbs or case.args[0] in f.verbs):
            value = f.normalise(value)
    return value


def explain(case, alembic, aludel):
    """The first DIFFERENCES entry that explains this case, or None."""
    for d in DIFFERENCES:
        if d.applies(case, alembic, aludel):
            return d
    return None


def open_bug(case, alembic, aludel):
    """The first OPEN entry that matches this case, or None."""
    for d in OPEN:
        if d.applies(case, alembic, aludel):
            return d
    return None
