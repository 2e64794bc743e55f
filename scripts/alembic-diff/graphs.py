"""Revision graphs for the differential test: a seeded random generator and a few
fixed shapes modelled on the ones Alembic's own revision tests use (its test suite is
not shipped in the wheel, so these are written here from the same ideas: several
bases, a branch travelling through merges, labelled branches with dependencies)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Rev:
    """One revision: id, parents (in order), depends_on (as written: ids or labels),
    its own branch labels and message."""

    id: str
    parents: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return f"m {self.id}"


@dataclass
class Graph:
    revs: list[Rev]
    name: str = "random"

    def ids(self) -> list[str]:
        return [r.id for r in self.revs]

    def labels(self) -> list[str]:
        return [label for r in self.revs for label in r.labels]

    def by_id(self, rid: str) -> Rev:
        return next(r for r in self.revs if r.id == rid)

    def notation(self) -> str:
        """`ID<PARENTS|DEPENDS_ON[LABELS]`, one revision per space-separated word,
        e.g. `a< b<a c<a|b[lbl]` (a root is `a<`)."""
        words = []
        for r in self.revs:
            w = f"{r.id}<{','.join(r.parents)}"
            if r.depends_on:
                w += "|" + ",".join(r.depends_on)
            if r.labels:
                w += "[" + ",".join(r.labels) + "]"
            words.append(w)
        return " ".join(words)

    def ancestors(self, rid: str, deps: bool = True) -> set[str]:
        """Every revision below `rid` (parents, and depends_on when `deps`),
        labels in depends_on resolved to the revision carrying them."""
        label_of = {lab: r.id for r in self.revs for lab in r.labels}
        seen: set[str] = set()
        todo = [rid]
        while todo:
            r = self.by_id(todo.pop())
            below = list(r.parents) + (
                [label_of.get(d, d) for d in r.depends_on] if deps else []
            )
            for p in below:
                if p not in seen and any(x.id == p for x in self.revs):
                    seen.add(p)
                    todo.append(p)
        return seen


def parse(notation: str, name: str = "fixed") -> Graph:
    """The inverse of `Graph.notation`, for fixed shapes and reproductions."""
    revs = []
    for word in notation.split():
        labels: list[str] = []
        if word.endswith("]"):
            word, _, lab = word[:-1].partition("[")
            labels = lab.split(",")
        rid, _, rest = word.partition("<")
        parents_s, _, deps_s = rest.partition("|")
        revs.append(
            Rev(
                rid,
                [p for p in parents_s.split(",") if p],
                [d for d in deps_s.split(",") if d],
                labels,
            )
        )
    return Graph(revs, name)


# Shapes in the spirit of Alembic's revision tests (tests/test_revision.py and
# tests/test_version_traversal.py): named so that a failure says which one.
FIXED = [
    # the branches tutorial: a branch point, labelled branches, a cross dependency
    ("tutorial", "a< b<a c1<b[shoppingcart] d1<b[networking] d2<d1|c1"),
    # several bases, one merge of two of them
    ("multiple_bases", "a< b<a c< d<c e<b,d f<"),
    # a branch that travels through two merges (Alembic's "branch travelling")
    ("branch_travel", "a1< a2<a1 b1<a2 b2<b1 c1<a2 c2<c1 m1<b2,c2 d1<m1 d2<m1 m2<d1,d2"),
    # a three-way merge with a dependency into one of its parents
    ("three_way", "r< x<r y<r z<r|x m<x,y,z t<m"),
    # labelled branch depending on another branch by label
    ("label_dep", "root< a1<root[alpha] a2<a1 b1<root[beta] b2<b1|alpha b3<b2"),
    # a dependency on a revision that is only depended on (an effective head)
    ("effective_head", "q< a< b<a|q"),
    # shared id prefixes: partial ids that are ambiguous or exact
    ("prefixes", "ab< abc<ab abd<ab abdf<abd|abc"),
    # two roots merged twice
    ("criss", "a< b< c<a,b d<a,b e<c,d"),
]


def fixed_graphs() -> list[Graph]:
    return [parse(n, name) for name, n in FIXED]


_ID_STEMS = ["a", "ab", "b", "c", "ca", "d", "e1", "e12", "f"]


def random_graph(rng: random.Random, index: int) -> Graph:
    """A graph of 1-10 revisions: roots, children, 2- and 3-way merges,
    depends_on by id or by label, branch labels and ids sharing prefixes."""
    n = rng.randint(1, 10)
    revs: list[Rev] = []
    used_ids: set[str] = set()
    label_count = 0

    def new_id() -> str:
        while True:
            stem = rng.choice(_ID_STEMS)
            # a stem alone sometimes, so that one id is a prefix of another
            rid = stem if rng.random() < 0.2 else stem + format(rng.randrange(256), "x")
            if rid not in used_ids:
                used_ids.add(rid)
                return rid

    g = Graph(revs, f"random#{index}")
    for i in range(n):
        rid = new_id()
        kind = rng.random()
        parents: list[str] = []
        if i == 0 or kind < 0.12:
            parents = []
        elif kind < 0.75 or len(revs) < 2:
            parents = [rng.choice(revs).id]
        else:
            k = 3 if (kind > 0.93 and len(revs) >= 3) else 2
            cands = [r.id for r in revs]
            rng.shuffle(cands)
            if rng.random() < 0.9:
                # usually parents that are not each other's ancestors
                chosen: list[str] = []
                for c in cands:
                    if all(
                        c not in g.ancestors(o, deps=False)
                        and o not in g.ancestors(c, deps=False)
                        for o in chosen
                    ):
                        chosen.append(c)
                    if len(chosen) == k:
                        break
                parents = chosen if len(chosen) >= 2 else [cands[0]]
            else:
                parents = cands[:k]
        deps: list[str] = []
        if revs and rng.random() < 0.25:
            below = g.ancestors(parents[0]) | set(parents) if parents else set()
            cands = [r for r in revs if r.id not in below]
            if cands:
                d = rng.choice(cands)
                deps = [rng.choice(d.labels) if d.labels and rng.random() < 0.5 else d.id]
        labels: list[str] = []
        if rng.random() < 0.2:
            label_count += 1
            labels = [f"lb{label_count}"]
        revs.append(Rev(rid, parents, deps, labels))
    return g
