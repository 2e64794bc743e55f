"""One graph written twice, as an Alembic project and as an aludel project, and the
SQLite databases the online cases run against.

Every revision records that it ran by inserting `(revision, direction)` into a
table `ran`, so the order in which revisions ran can be read back from the
database; `--sql` output carries the same INSERTs."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from graphs import Graph

ENV_PY = '''\
from alembic import context
from sqlalchemy import create_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
if context.is_offline_mode():
    context.configure(url=url, literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
'''

# Alembic's `merge` renders this template; only the header values matter here.
SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    pass


def downgrade():
    pass
'''


def _py_value(items: list[str]):
    if not items:
        return "None"
    if len(items) == 1:
        return repr(items[0])
    return repr(tuple(items))


class Projects:
    """The two projects of one graph under `root`."""

    def __init__(self, root: Path, graph: Graph):
        self.root = root
        self.graph = graph
        self.alembic_dir = root / "alembic"
        self.aludel_dir = root / "aludel"
        self.alembic_db = root / "alembic.sqlite"
        self.aludel_db = root / "aludel.sqlite"
        (self.alembic_dir / "versions").mkdir(parents=True)
        (self.aludel_dir / "migrations" / "versions").mkdir(parents=True)
        (self.alembic_dir / "env.py").write_text(ENV_PY)
        (self.alembic_dir / "script.py.mako").write_text(SCRIPT_MAKO)
        (self.aludel_dir / "aludel.toml").write_text(
            "[aludel]\n"
            'script_location = "migrations"\n'
            f'database_url = "sqlite:///{self.aludel_db}"\n'
            'file_template = "{rev}_{slug}"\n'
            "[connect]\nretries = 1\ndelay_seconds = 0.1\n"
        )
        for r in graph.revs:
            self._write(r)

    def _write(self, r) -> None:
        # The docstring is the text aludel prints for the same revision, so that
        # `show` and `-v` compare everything but the file's path.
        doc = f"{r.message}\n\nRevision ID: {r.id}\nRevises: {', '.join(r.parents)}"
        (self.alembic_dir / "versions" / f"{r.id}.py").write_text(
            f'"""{doc}\n"""\n'
            "from alembic import op\n\n"
            f"revision = {r.id!r}\n"
            f"down_revision = {_py_value(r.parents)}\n"
            f"branch_labels = {_py_value(r.labels)}\n"
            f"depends_on = {_py_value(r.depends_on)}\n\n\n"
            "def upgrade():\n"
            f"    op.execute(\"INSERT INTO ran (rev, dir) VALUES ('{r.id}', 'up')\")\n\n\n"
            "def downgrade():\n"
            f"    op.execute(\"INSERT INTO ran (rev, dir) VALUES ('{r.id}', 'down')\")\n"
        )
        head = [f"-- aludel:revision {r.id}"]
        if r.parents:
            head.append(f"-- aludel:revises {' '.join(r.parents)}")
        head.append(f"-- aludel:message {r.message}")
        if r.depends_on:
            head.append(f"-- aludel:depends_on {' '.join(r.depends_on)}")
        if r.labels:
            head.append(f"-- aludel:branch_labels {' '.join(r.labels)}")
        (self.aludel_dir / "migrations" / "versions" / f"{r.id}.sql").write_text(
            "\n".join(head)
            + "\n\n-- aludel:upgrade\n"
            + f"INSERT INTO ran (rev, dir) VALUES ('{r.id}', 'up');\n"
            + "\n-- aludel:downgrade\n"
            + f"INSERT INTO ran (rev, dir) VALUES ('{r.id}', 'down');\n"
        )

    def set_state(self, rows: list[str]) -> None:
        """Fresh databases whose version tables hold `rows` and an empty `ran`."""
        for db, table, width in (
            (self.alembic_db, "alembic_version", 32),
            (self.aludel_db, "aludel_version", 64),
        ):
            if db.exists():
                os.unlink(db)
            con = sqlite3.connect(db)
            # no journal, no fsync: a throwaway file, rebuilt for every case
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.execute(
                "CREATE TABLE ran (seq INTEGER PRIMARY KEY AUTOINCREMENT, rev TEXT, dir TEXT)"
            )
            con.execute(
                f"CREATE TABLE {table} (version_num VARCHAR({width}) NOT NULL, "
                f"CONSTRAINT {table}_pkc PRIMARY KEY (version_num))"
            )
            con.executemany(f"INSERT INTO {table} VALUES (?)", [(r,) for r in rows])
            con.commit()
            con.close()

    def read_db(self, which: str) -> tuple[list[tuple[str, str]], list[str]]:
        """(the revisions that ran, in order, with their direction; the version rows,
        sorted)."""
        db, table = (
            (self.alembic_db, "alembic_version")
            if which == "alembic"
            else (self.aludel_db, "aludel_version")
        )
        con = sqlite3.connect(db)
        try:
            ran = [tuple(r) for r in con.execute("SELECT rev, dir FROM ran ORDER BY seq")]
            rows = sorted(r[0] for r in con.execute(f"SELECT version_num FROM {table}"))
        finally:
            con.close()
        return ran, rows

    def remove_new_files(self) -> None:
        """Drops files a `merge` case wrote, so the next case sees the graph again."""
        keep = set(self.graph.ids())
        for d, ext in (
            (self.alembic_dir / "versions", ".py"),
            (self.aludel_dir / "migrations" / "versions", ".sql"),
        ):
            for f in d.iterdir():
                if f.is_file() and f.name[: -len(ext)] not in keep:
                    f.unlink()
