"""Running one case on each side: Alembic through its Python API in this process,
aludel through its binary. Each side gives an `Outcome`."""

from __future__ import annotations

import contextlib
import io
import re
import signal
import subprocess
import traceback
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from projects import Projects


@dataclass
class Outcome:
    """`status`: `ok` (an answer), `refused` (an error the tool means to give:
    Alembic's CommandError/RevisionError, aludel's exit 1 or 2) or `crashed` (any
    other Python exception; aludel dying another way). `value` is what is compared
    (text, or a tuple); `detail` the raw output or error, for reproductions."""

    status: str
    value: object
    detail: str


@dataclass
class Case:
    """One command, in aludel's command-line form, run from version rows `state`.
    `kind`: `text` (compare stdout), `online` (compare what ran and the rows),
    `sql` (compare the order of runs and version-table statements), `merge`
    (compare the written revision's parents and labels)."""

    kind: str
    args: list[str]
    state: list[str]
    ids: tuple[str, ...] = ()  # the graph's revision ids and labels, for known.py
    labels: tuple[str, ...] = ()
    graph: object = None  # the graphs.Graph, for known.py

    def line(self) -> str:
        return " ".join(a if a and " " not in a else repr(a) for a in self.args)


def _flag(args: list[str], *names: str) -> bool:
    return any(a in names for a in args)


def _opt(args: list[str], name: str):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


_FLAGS = ("-v", "--verbose", "-i", "--sql", "--purge")
_OPTIONS = ("-r", "-m", "--rev-id", "--branch-label")


def _positionals(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
        elif a in _OPTIONS:
            skip = True
        elif a not in _FLAGS and not a.startswith("--rev-range="):
            out.append(a)
    return out


def aludel_argv(args: list[str]) -> list[str]:
    """The command line as a user would type it; targets that begin with `-` but
    are not a number (`-2:c1`) go after `--`, as any clap or argparse tool needs."""
    if "-r" in args:
        # `-r -2:c1` reads as two flags to any argument parser; `--rev-range=` does not
        i = args.index("-r")
        args = args[:i] + [f"--rev-range={args[i + 1]}"] + args[i + 2 :]
    pos = _positionals(args)
    if not any(p.startswith("-") and not re.fullmatch(r"-\d+", p) for p in pos):
        return args
    rest = [a for a in args[1:] if a not in pos]
    return [args[0], *rest, "--", *pos]


# Statements of `--sql` output that the comparison reads, in order.
_SQL_PATTERNS = [
    (re.compile(r"^-- Running (.*)$"), "run"),
    (re.compile(r"^INSERT INTO ran \(rev, dir\) VALUES \('([^']*)', '([^']*)'\)"), "ran"),
    (
        re.compile(r'^INSERT INTO "?\w+_version"? \(version_num\) VALUES \(\'([^\']*)\'\)'),
        "insert",
    ),
    (
        re.compile(
            r'^UPDATE "?\w+_version"? SET version_num ?= ?\'([^\']*)\' WHERE '
            r'(?:"?\w+_version"?\.)?version_num = \'([^\']*)\''
        ),
        "update",
    ),
    (
        re.compile(
            r'^DELETE FROM "?\w+_version"? WHERE (?:"?\w+_version"?\.)?version_num = \'([^\']*)\''
        ),
        "delete",
    ),
    (re.compile(r'^DELETE FROM "?\w+_version"?\s*;'), "purge"),
]


def sql_events(text: str) -> tuple:
    """The runs, revision statements and version-table changes of a `--sql` script,
    in order (table DDL, BEGIN/COMMIT and blank lines are not compared)."""
    events = []
    for line in text.splitlines():
        for pat, name in _SQL_PATTERNS:
            m = pat.match(line.strip())
            if m:
                events.append((name,) + m.groups())
                break
    return tuple(events)


class AlembicTimeout(Exception):
    """Alembic spent longer than ALEMBIC_CASE_SECONDS on one case."""


ALEMBIC_CASE_SECONDS = 30


def _alarm(signum, frame):
    raise AlembicTimeout(f"no answer within {ALEMBIC_CASE_SECONDS} s")


class AlembicSide:
    def __init__(self, projects: Projects):
        self.p = projects

    def _config(self) -> tuple[Config, io.StringIO, io.StringIO]:
        out, sql = io.StringIO(), io.StringIO()
        cfg = Config(stdout=out, output_buffer=sql)
        cfg.set_main_option("script_location", str(self.p.alembic_dir))
        cfg.set_main_option("sqlalchemy.url", f"sqlite:///{self.p.alembic_db}")
        return cfg, out, sql

    def run(self, case: Case) -> Outcome:
        cfg, out, sql = self._config()
        args = case.args
        verb = args[0]
        pos = _positionals(args)
        v = _flag(args, "-v", "--verbose")
        # A walk that never ends would stall the whole run: it counts as a crash.
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(ALEMBIC_CASE_SECONDS)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                if verb == "heads":
                    command.heads(cfg, verbose=v)
                elif verb == "branches":
                    command.branches(cfg, verbose=v)
                elif verb == "history":
                    command.history(
                        cfg,
                        rev_range=_opt(args, "-r"),
                        verbose=v,
                        indicate_current=_flag(args, "-i"),
                    )
                elif verb == "show":
                    command.show(cfg, pos[0])
                elif verb == "current":
                    command.current(cfg, verbose=v)
                elif verb == "upgrade":
                    command.upgrade(cfg, pos[0], sql=_flag(args, "--sql"))
                elif verb == "downgrade":
                    command.downgrade(cfg, pos[0], sql=_flag(args, "--sql"))
                elif verb == "stamp":
                    command.stamp(
                        cfg,
                        pos if len(pos) > 1 else pos[0],
                        sql=_flag(args, "--sql"),
                        purge=_flag(args, "--purge"),
                    )
                elif verb == "merge":
                    command.merge(
                        cfg,
                        pos,
                        message=_opt(args, "-m"),
                        branch_label=_opt(args, "--branch-label"),
                        rev_id=_opt(args, "--rev-id"),
                    )
                else:
                    raise AssertionError(f"harness: unknown verb {verb}")
        except (CommandError, RevisionError) as e:
            return Outcome("refused", None, f"{type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - any other exception is a crash
            tb = traceback.extract_tb(e.__traceback__)[-1]
            where = f"{tb.filename.rsplit('site-packages/', 1)[-1]}:{tb.lineno}"
            return Outcome("crashed", None, f"{type(e).__name__}: {e} (at {where})")
        finally:
            signal.alarm(0)
        if case.kind == "text":
            text = out.getvalue()
            return Outcome("ok", text, text)
        if case.kind == "online":
            value = self.p.read_db("alembic")
            return Outcome("ok", value, repr(value))
        if case.kind == "sql":
            text = sql.getvalue()
            return Outcome("ok", sql_events(text), text)
        if case.kind == "merge":
            rid = _opt(args, "--rev-id")
            s = ScriptDirectory.from_config(cfg).get_revision(rid)
            down = s.down_revision
            parents = list(down) if isinstance(down, (tuple, list)) else [down] if down else []
            # its own labels, not those it inherits
            value = (tuple(parents), tuple(sorted(s._orig_branch_labels)))
            return Outcome("ok", value, repr(value))
        raise AssertionError(case.kind)


class AludelSide:
    def __init__(self, projects: Projects, binary: str):
        self.p = projects
        self.binary = binary

    def run(self, case: Case) -> Outcome:
        proc = subprocess.run(
            [self.binary, "-q", *aludel_argv(case.args)],
            cwd=self.p.aludel_dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode in (1, 2):
            return Outcome("refused", None, f"exit {proc.returncode}: {proc.stderr.strip()}")
        if proc.returncode != 0:
            return Outcome(
                "crashed", None, f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"
            )
        if case.kind == "text":
            return Outcome("ok", proc.stdout, proc.stdout)
        if case.kind == "online":
            value = self.p.read_db("aludel")
            return Outcome("ok", value, repr(value))
        if case.kind == "sql":
            return Outcome("ok", sql_events(proc.stdout), proc.stdout)
        if case.kind == "merge":
            rid = _opt(case.args, "--rev-id")
            versions = self.p.aludel_dir / "migrations" / "versions"
            path = next(versions.glob(f"{rid}_*.sql"))
            parents: list[str] = []
            labels: list[str] = []
            for line in path.read_text().splitlines():
                if line.startswith("-- aludel:revises "):
                    parents = line.split()[2:]
                elif line.startswith("-- aludel:branch_labels "):
                    labels = line.split()[2:]
            value = (tuple(parents), tuple(sorted(labels)))
            return Outcome("ok", value, repr(value))
        raise AssertionError(case.kind)
