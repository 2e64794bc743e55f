"""The commands asked of each graph, and the version-table states they start from."""

from __future__ import annotations

import random

from graphs import Graph
from oracle import Case


def random_state(g: Graph, rng: random.Random) -> list[str]:
    """Version rows a real database could hold: usually the heads of an applied set
    closed under parents and depends_on (what upgrades leave), sometimes a few
    revisions none of which is another's ancestor (what stamps leave), sometimes
    nothing."""
    ids = g.ids()
    x = rng.random()
    if x < 0.2:
        return []
    if x < 0.75:
        picked = rng.sample(ids, rng.randint(1, min(3, len(ids))))
        applied = set(picked)
        for p in picked:
            applied |= g.ancestors(p)
        # upgrades keep a row only for what nothing applied stands on (by parent
        # or by depends_on), as Alembic's do
        rows = [r for r in applied if not any(r in g.ancestors(o) for o in applied)]
        return sorted(rows)
    rows: list[str] = []
    for rid in rng.sample(ids, len(ids)):
        if len(rows) >= rng.randint(1, 3):
            break
        if all(
            rid not in g.ancestors(o) and o not in g.ancestors(rid)
            for o in rows
        ):
            rows.append(rid)
    return sorted(rows)


def target(g: Graph, rng: random.Random, state: list[str]) -> str:
    """One target in any form aludel documents (and a few Alembic also takes)."""
    ids = g.ids()
    labels = g.labels()
    x = rng.random()
    if x < 0.35:
        return rng.choice(ids)
    if x < 0.45:
        rid = rng.choice(ids)
        return rid[: rng.randint(1, len(rid))]
    if x < 0.6:
        return rng.choice(["head", "heads", "base"])
    if x < 0.7:
        return rng.choice("+-") + str(rng.randint(1, 3))
    if x < 0.82:
        return rng.choice(ids) + rng.choice("+-") + str(rng.randint(1, 2))
    if labels and x < 0.95:
        lab = rng.choice(labels)
        return lab + rng.choice(["@head", "@base", "@+1", "@-1", "@+2", ""])
    if state and x < 0.97:
        return rng.choice(state)
    return rng.choice(ids)


def range_side(g: Graph, rng: random.Random, state: list[str]) -> str:
    x = rng.random()
    if x < 0.2:
        return ""
    if x < 0.27:
        return "current"
    return target(g, rng, state)


def cases_for(g: Graph, rng: random.Random) -> list[Case]:
    """About 45 cases: listings, ranges, shows, online runs from random states,
    `--sql` scripts and a merge."""
    out: list[Case] = []

    def st() -> list[str]:
        return random_state(g, rng)

    for args in (["heads"], ["heads", "-v"], ["branches"], ["branches", "-v"], ["history"]):
        out.append(Case("text", args, []))
    out.append(Case("text", ["history", "-v"], []))
    for _ in range(6):
        s = st()
        args = ["history", "-r", f"{range_side(g, rng, s)}:{range_side(g, rng, s)}"]
        if rng.random() < 0.25:
            args.append("-v")
        if rng.random() < 0.2:
            args.append("-i")
        out.append(Case("text", args, s))
    for _ in range(4):
        s = st()
        out.append(Case("text", ["show", target(g, rng, s)], s))
    for _ in range(3):
        s = st()
        out.append(Case("text", ["current"] + (["-v"] if rng.random() < 0.3 else []), s))
    for _ in range(6):
        s = st()
        out.append(Case("online", ["upgrade", target(g, rng, s)], s))
    for _ in range(6):
        s = st()
        out.append(Case("online", ["downgrade", target(g, rng, s)], s))
    for _ in range(4):
        s = st()
        targets = [target(g, rng, s) for _ in range(1 if rng.random() < 0.7 else 2)]
        purge = ["--purge"] if rng.random() < 0.3 else []
        out.append(Case("online", ["stamp", *targets, *purge], s))
    for _ in range(3):
        lo, hi = target(g, rng, []), target(g, rng, [])
        arg = f"{lo}:{hi}" if rng.random() < 0.6 else hi
        out.append(Case("sql", ["upgrade", arg, "--sql"], []))
    for _ in range(3):
        hi, lo = target(g, rng, []), target(g, rng, [])
        out.append(Case("sql", ["downgrade", f"{hi}:{lo}", "--sql"], []))
    for _ in range(2):
        targets = [target(g, rng, []) for _ in range(1 if rng.random() < 0.7 else 2)]
        if rng.random() < 0.4:
            targets[0] = f"{target(g, rng, [])}:{targets[0]}"
        purge = ["--purge"] if rng.random() < 0.2 else []
        out.append(Case("sql", ["stamp", *targets, "--sql", *purge], []))
    if rng.random() < 0.6:
        revs = ["heads"]
    else:
        revs = rng.sample(g.ids(), min(len(g.ids()), rng.choice([1, 2, 2, 3])))
    label = ["--branch-label", "mlab"] if rng.random() < 0.2 else []
    out.append(Case("merge", ["merge", "-m", "mm", "--rev-id", "zzm", *label, *revs], []))
    for c in out:
        c.ids, c.labels, c.graph = tuple(g.ids()), tuple(g.labels()), g
    return out
