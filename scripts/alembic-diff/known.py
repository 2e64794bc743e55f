"""THE list of known, deliberate differences between aludel and Alembic 1.20.1.

Two kinds of entries, each with what differs and why aludel's answer is deliberate:

- FORMATTING: text that differs in form only. Both outputs are normalised by every
  entry's `normalise` before they are compared; a case equal only after this is
  counted as "formatting".
- DIFFERENCES: answers that differ on purpose. `applies(case, alembic, aludel)` says
  whether a case's difference is this one; the first entry that applies names it.

Nothing else may differ: a case that no entry explains fails the run. Add an entry
only for a difference aludel means to keep, never to quiet a bug.
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
    normalise: Callable[[str], str]
    verbs: tuple[str, ...] = ()  # the commands it applies to; () for all


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
]


_RELATIVE = re.compile(r"(^|[:@])[+-]\d+$|\w[+-]\d+$")


def _targets(case) -> list[str]:
    """The targets a case names, range ends split."""
    from oracle import _positionals, _opt

    out = list(_positionals(case.args))
    if _opt(case.args, "-r") is not None:
        out.append(_opt(case.args, "-r"))
    return [side for t in out for side in t.split(":")]


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
        lambda c, a, b: _refused(b, "Ambiguous walk"),
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
        lambda c, a, b: _refused(a, "Can't locate revision identified by")
        and b.status == "ok"
        and any(_RELATIVE.search(t) for t in _targets(c)),
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
]


def normalise(case, text: str) -> str:
    for f in FORMATTING:
        if not f.verbs or case.args[0] in f.verbs:
            text = f.normalise(text)
    return text


def explain(case, alembic, aludel):
    """The first DIFFERENCES entry that explains this case, or None."""
    for d in DIFFERENCES:
        if d.applies(case, alembic, aludel):
            return d
    return None
