#!/usr/bin/env python3
"""Differential test of aludel against Alembic: random revision graphs, each written
as an Alembic project and an aludel project, the same commands asked of both, every
answer classified (see README.md). Exit 1 when a case differs in a way that
known.py does not explain, printing a reproduction for each.

Environment: ALEMBIC_DIFF_SEED (default 1), ALEMBIC_DIFF_SECONDS (default 240: the
run stops starting new graphs after this), ALEMBIC_DIFF_GRAPHS (default 400: at most
this many random graphs, after the fixed shapes)."""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import known  # noqa: E402
from cases import cases_for  # noqa: E402
from graphs import fixed_graphs, random_graph  # noqa: E402
from oracle import AlembicSide, AludelSide, Case, Outcome  # noqa: E402
from projects import Projects  # noqa: E402


def classify(case: Case, a: Outcome, b: Outcome) -> str:
    """`same`, `formatting`, `both-refuse`, `alembic-crash` (Alembic raised an
    exception that is not one of its own errors: nothing to compare with),
    `known:<id>`, or `DIFFERENT`."""
    if b.status == "crashed":
        return "DIFFERENT"
    if a.status == "ok" and b.status == "ok":
        if a.value == b.value:
            return "same"
        if known.normalise(case, a.value) == known.normalise(case, b.value):
            return "formatting"
    elif a.status == "refused" and b.status == "refused":
        return "both-refuse"
    elif a.status == "crashed":
        return "alembic-crash-aludel-refuses" if b.status == "refused" else "alembic-crash"
    entry = known.explain(case, a, b)
    if entry:
        return f"known:{entry.id}"
    bug = known.open_bug(case, a, b)
    return f"open:{bug.id}" if bug else "DIFFERENT"


def one_case(g, args) -> list[Case]:
    """The case of a reproduction: `--command` from `--state` on the `--only` graph."""
    import shlex

    argv = shlex.split(args.command)
    if argv[0] == "merge":
        kind = "merge"
    elif "--sql" in argv:
        kind = "sql"
    elif argv[0] in ("upgrade", "downgrade", "stamp"):
        kind = "online"
    else:
        kind = "text"
    case = Case(kind, argv, [r for r in args.state.split(",") if r])
    case.ids, case.labels, case.graph = tuple(g.ids()), tuple(g.labels()), g
    return [case]


def reproduction(graph, case: Case, a: Outcome, b: Outcome) -> str:
    def show(o: Outcome) -> str:
        body = o.detail if isinstance(o.detail, str) else repr(o.detail)
        body = body.rstrip("\n") or "(empty)"
        return f"  [{o.status}]\n" + "\n".join("    " + line for line in body.split("\n"))

    return (
        f"graph:   {graph.notation()}   ({graph.name})\n"
        f"state:   {','.join(case.state) or '(empty)'}\n"
        f"command: {case.line()}\n"
        f"alembic:\n{show(a)}\n"
        f"aludel:\n{show(b)}\n"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aludel", required=True, help="the aludel binary")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("ALEMBIC_DIFF_SEED", "1")))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("ALEMBIC_DIFF_SECONDS", "240")))
    ap.add_argument("--graphs", type=int, default=int(os.environ.get("ALEMBIC_DIFF_GRAPHS", "400")))
    ap.add_argument(
        "--min-graphs",
        type=int,
        default=int(os.environ.get("ALEMBIC_DIFF_MIN_GRAPHS", "60")),
        help="random graphs compared whatever the time (after every fixed graph), so a "
        "slow machine cannot pass having compared little",
    )
    ap.add_argument("--show", type=int, default=20, help="reproductions printed at most")
    ap.add_argument("--verbose", action="store_true", help="print every case with its verdict")
    ap.add_argument("--only", help="run only this graph (notation) instead of random ones")
    ap.add_argument("--command", help="with --only: run only this command (aludel's syntax)")
    ap.add_argument("--state", default="", help="with --command: the version rows, comma-separated")
    args = ap.parse_args()

    binary = str(Path(args.aludel).resolve())
    warnings.simplefilter("ignore")
    rng = random.Random(args.seed)
    start = time.monotonic()
    counts: collections.Counter = collections.Counter()
    crashes: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    open_seen: dict[str, str] = {}
    failures: list[str] = []
    graphs_done = 0

    def graphs():
        if args.only:
            from graphs import parse

            yield parse(args.only, "--only")
            return
        yield from fixed_graphs()
        for i in range(args.graphs):
            yield random_graph(rng, i)

    # tmpfs where there is one: both tools fsync every commit, and a shared disk
    # would make the run wait on it rather than compare
    shm = Path("/dev/shm")
    tmp_root = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    work = Path(tempfile.mkdtemp(prefix="alembic-diff-", dir=tmp_root))
    try:
        floor = 0 if args.only else len(fixed_graphs()) + min(args.min_graphs, args.graphs)
        for g in graphs():
            # The time bound applies only past the floor.
            if graphs_done >= floor and time.monotonic() - start > args.seconds:
                break
            root = work / f"g{graphs_done}"
            p = Projects(root, g)
            alembic, aludel = AlembicSide(p), AludelSide(p, binary)
            for case in one_case(g, args) if args.command else cases_for(g, rng):
                p.set_state(case.state)
                a = alembic.run(case)
                p.set_state(case.state)
                b = aludel.run(case)
                if case.kind == "merge":
                    p.remove_new_files()
                verdict = classify(case, a, b)
                counts[verdict] += 1
                if args.verbose:
                    print(f"{verdict}:\n{reproduction(g, case, a, b)}")
                if verdict.startswith("alembic-crash"):
                    crashes[a.detail.split(" (at ")[-1].rstrip(")") + " " + a.detail.split(":")[0]] += 1
                if verdict.startswith("open:") and verdict not in open_seen:
                    open_seen[verdict] = reproduction(g, case, a, b)
                if verdict == "DIFFERENT":
                    failures.append(reproduction(g, case, a, b))
                    kinds[(case.args[0] + (" --sql" if case.kind == "sql" else ""), a.status, b.status)] += 1
            shutil.rmtree(root)
            graphs_done += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total = sum(counts.values())
    elapsed = time.monotonic() - start
    print(f"alembic-diff: seed {args.seed}, {graphs_done} graphs, {total} cases in {elapsed:.0f} s")
    for verdict, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:6}  {verdict}")
    if crashes:
        print("  Alembic crashes (where, exception):")
        for where, n in crashes.most_common():
            print(f"  {n:6}  {where}")
    for bug in known.OPEN:
        key = f"open:{bug.id}"
        if key in open_seen:
            print(f"\nOpen bug {bug.id} (known.py OPEN; {bug.why}), first case:\n{open_seen[key]}")
        else:
            print(f"\nOpen bug {bug.id} matched no case in this run: if it is fixed, remove it from known.py")
    strict = os.environ.get("ALEMBIC_DIFF_STRICT") == "1"
    if strict and open_seen:
        print(f"ALEMBIC_DIFF_STRICT=1: {len(open_seen)} open bugs fail the run")
    if failures:
        print("  substantive differences by (command, alembic, aludel):")
        for k, n in kinds.most_common():
            print(f"  {n:6}  {' / '.join(k)}")
        print(f"\n{len(failures)} substantive differences; the first {min(len(failures), args.show)}:\n")
        for f in failures[: args.show]:
            print(f)
        print(
            "Each is a bug in aludel, or a deliberate difference to add to "
            "scripts/alembic-diff/known.py with its reason. Re-run one case with "
            "scripts/alembic-diff/run --only 'GRAPH' --state ROWS --command 'COMMAND' --verbose."
        )
        return 1
    return 1 if strict and open_seen else 0


if __name__ == "__main__":
    sys.exit(main())
