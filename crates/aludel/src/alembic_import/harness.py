# Run by `aludel import alembic` with the project's own Python (`python -c THIS
# CONFIG DIALECT`, the scratch database's URL in ALUDEL_IMPORT_SCRATCH_URL): reads an
# Alembic project through Alembic itself and writes one JSON document on a file
# descriptor of its own. Everything runs in this one process: each
# revision's module is loaded once, and its upgrade() and downgrade() are run in
# Alembic's offline mode (as `alembic upgrade --sql` does), the statements captured
# one by one. A revision that offline mode cannot run (it asks the database
# something) is reported with Alembic's error instead of statements.
import contextlib
import io
import json
import os
import sys
import traceback


def main():
    config_path, dialect = sys.argv[1], sys.argv[2]
    # Through the environment, not the command line, which every user of the
    # machine can list: the URL holds the password.
    capture_url = os.environ.pop("ALUDEL_IMPORT_SCRATCH_URL", "")
    try:
        from alembic.config import Config
        from alembic.operations import Operations
        from alembic.runtime.environment import EnvironmentContext
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
    except ImportError as e:
        fail("this Python cannot import Alembic (%s): pass --python with the Python of the project's environment" % e)

    # As Alembic's command line reads a project: alembic.ini and, beside it, the
    # [tool.alembic] table of pyproject.toml (its pyproject template splits the
    # settings between the two).
    sink = io.StringIO()
    folder = os.path.dirname(os.path.abspath(config_path))
    ini = os.path.join(folder, "alembic.ini")
    toml = os.path.join(folder, "pyproject.toml")
    cfg = Config(
        ini if os.path.isfile(ini) else None,
        toml_file=toml if os.path.isfile(toml) else None,
        output_buffer=sink,
    )
    try:
        script = ScriptDirectory.from_config(cfg)
    except Exception as e:
        fail("Alembic cannot read the project: %s" % one_line(e))

    # env.py's offline branch, run with no migration to apply: what it passes to
    # context.configure() (the version table, its schema, transaction_per_migration).
    env_error = None
    url = cfg.get_main_option("sqlalchemy.url")
    if dialect:
        cfg.set_main_option("sqlalchemy.url", dialect + "://")
    try:
        with EnvironmentContext(cfg, script, fn=lambda rev, context: [], as_sql=True,
                                destination_rev="heads"):
            script.run_env()
    except BaseException as e:
        env_error = one_line(e)
    settings = LAST_OPTS.get("opts", {})
    dialect_name = dialect or LAST_OPTS.get("dialect")
    if not dialect_name:
        # Nothing can be written without one: aludel says so, with env.py's error.
        emit({"dialect": None, "env_error": env_error})
        return

    revisions = []
    for sc in script.walk_revisions(base="base", head="heads"):
        item = {
            "id": sc.revision,
            "revises": list(as_tuple(sc.down_revision)),
            "branch_labels": sorted(sc._orig_branch_labels or ()),
            "depends_on": list(as_tuple(sc.dependencies)),
            "message": sc.doc or "",
            "docstring": (sc.module.__doc__ or ""),
            "path": os.path.relpath(sc.path),
        }
        MODULES[sc.revision] = sc.module
        for direction in ("upgrade", "downgrade"):
            fn = getattr(sc.module, direction, None)
            if fn is None:
                item[direction] = None
                continue
            item[direction] = run_offline(fn, dialect_name, settings, MigrationContext, Operations)
        revisions.append(item)
    revisions.reverse()
    if capture_url and any(failed(r) for r in revisions):
        try:
            capture_online(revisions, capture_url, dialect_name, settings, MigrationContext,
                           Operations)
        except BaseException as e:
            # No run at all (no driver for the database, say): the revisions stay
            # as offline mode left them, saying why.
            note_everywhere(revisions, "no run on a scratch database: " + one_line(e))
    options = {}
    for key in ("file_template", "timezone", "truncate_slug_length", "version_locations",
                "post_write_hooks", "hooks", "prepend_sys_path", "sourceless",
                "revision_environment", "recursive_version_locations"):
        try:
            value = cfg.get_alembic_option(key)
        except AttributeError:
            value = cfg.get_main_option(key)
        except Exception:
            value = None
        if value not in (None, ""):
            options[key] = str(value)
    out = {
        "dialect": dialect_name,
        "options": options,
        "url": url,
        "env_error": env_error,
        "version_table": settings.get("version_table") or "alembic_version",
        "version_table_schema": settings.get("version_table_schema"),
        "transaction_per_migration": bool(settings.get("transaction_per_migration", False)),
        "revisions": revisions,
    }
    emit(out)


LAST_OPTS = {}


def record_configure():
    """Wraps MigrationContext.configure to remember what env.py asked for."""
    from alembic.runtime.migration import MigrationContext

    original = MigrationContext.configure.__func__

    def configure(cls, connection=None, url=None, dialect_name=None, dialect=None,
                  environment_context=None, dialect_opts=None, opts=None):
        made = original(cls, connection=connection, url=url, dialect_name=dialect_name,
                        dialect=dialect, environment_context=environment_context,
                        dialect_opts=dialect_opts, opts=opts)
        if environment_context is not None and "opts" not in LAST_OPTS:
            LAST_OPTS["opts"] = dict(opts or {})
            LAST_OPTS["dialect"] = made.dialect.name
        return made

    MigrationContext.configure = classmethod(configure)


def run_offline(fn, dialect_name, settings, MigrationContext, Operations):
    """The statements `fn` emits in offline mode, each as Alembic writes it, and
    whether it asked for an autocommit block; or why it could not run."""
    statements = []

    class Buffer:
        def write(self, text):
            text = text.rstrip()
            if text.endswith(";"):
                text = text[:-1].rstrip()
            if text:
                statements.append(text)

        def flush(self):
            pass

    opts = {"as_sql": True, "output_buffer": Buffer(), "literal_binds": True}
    for key in ("version_table", "version_table_schema", "render_as_batch"):
        if settings.get(key) is not None:
            opts[key] = settings[key]
    context = MigrationContext.configure(dialect_name=dialect_name,
                                         dialect_opts={"paramstyle": "named"}, opts=opts)
    autocommit = []

    @contextlib.contextmanager
    def autocommit_block():
        autocommit.append(True)
        yield

    context.autocommit_block = autocommit_block
    try:
        with Operations.context(context):
            fn()
    except BaseException as e:
        frames = traceback.extract_tb(e.__traceback__)
        where = ""
        for frame in reversed(frames):
            if "/alembic/" not in frame.filename and "/sqlalchemy/" not in frame.filename:
                where = "%s:%d: " % (os.path.relpath(frame.filename), frame.lineno)
                break
        return {"error": where + one_line(e)}
    return {"statements": statements, "autocommit": bool(autocommit)}


MODULES = {}


def failed(revision):
    return any((revision.get(d) or {}).get("error") for d in ("upgrade", "downgrade"))


# Statements that only read the database's catalogs: what a revision asks about the
# schema (an inspector, a "does this column exist" helper). Left out of what is
# captured, and no sign that the revision depends on the rows.
CATALOG_WORDS = ("pg_catalog", "information_schema", "pg_class", "pg_attribute",
                 "pg_namespace", "pg_index", "pg_constraint", "pg_type", "pg_tables",
                 "pg_indexes", "sqlite_master", "sqlite_schema", "sqlite_temp_master")


def first_word(statement):
    head = statement.lstrip().split(None, 1)
    return head[0].upper() if head else ""


def reads_catalog_only(statement):
    word = first_word(statement)
    if word in ("PRAGMA", "SHOW"):
        return True
    if word not in ("SELECT", "WITH"):
        return False
    lowered = statement.lower()
    return any(w in lowered for w in CATALOG_WORDS)


def reads_rows(statement):
    return first_word(statement) in ("SELECT", "WITH", "VALUES", "TABLE") \
        and not reads_catalog_only(statement)


def sqlite_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'" + bytes(value).hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"


def render(cursor, statement, parameters):
    """The statement with its parameters written in, as the server received it."""
    if not parameters:
        return statement
    mogrify = getattr(cursor, "mogrify", None)
    if mogrify is None:
        try:
            import psycopg
            if isinstance(cursor.connection, psycopg.Connection):
                mogrify = psycopg.ClientCursor(cursor.connection).mogrify
        except ImportError:
            pass
    if mogrify is not None:
        text = mogrify(statement, parameters)
        return text.decode() if isinstance(text, bytes) else text
    # sqlite3: qmark or named placeholders, outside the statement's own strings.
    values = list(parameters) if isinstance(parameters, (list, tuple)) else parameters
    out, i, quote, position = [], 0, None, 0
    while i < len(statement):
        c = statement[i]
        if quote:
            out.append(c)
            if c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
            out.append(c)
        elif c == "?" and isinstance(values, list):
            out.append(sqlite_literal(values[position]))
            position += 1
        elif (c == ":" and isinstance(values, dict) and i + 1 < len(statement)
              and (statement[i + 1].isalpha() or statement[i + 1] == "_")):
            j = i + 1
            while j < len(statement) and (statement[j].isalnum() or statement[j] == "_"):
                j += 1
            out.append(sqlite_literal(values[statement[i + 1:j]]))
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def sequence_values(raw):
    """PostgreSQL's sequences, through the driver's own cursor (no capture sees it):
    name -> (last value or None when never called, start value)."""
    cursor = raw.cursor()
    cursor.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename),"
                   " last_value, start_value FROM pg_sequences")
    values = {name: (last, start) for name, last, start in cursor.fetchall()}
    cursor.close()
    raw.rollback()
    return values


def restore_sequences(raw, before):
    """Sets back the sequences a rolled-back trial advanced."""
    after = sequence_values(raw)
    cursor = raw.cursor()
    for name, (last, start) in before.items():
        if name in after and after[name][0] != last:
            if last is None:
                cursor.execute("SELECT setval(%s::regclass, %s, false)", (name, start))
            else:
                cursor.execute("SELECT setval(%s::regclass, %s, true)", (name, last))
    cursor.close()
    raw.commit()


class NeedsCommit(BaseException):
    """A trial run reached autocommit_block(), whose statements cannot be rolled back.
    Not an Exception: a revision's own `except Exception` must not swallow it."""


def capture_online(revisions, url, dialect_name, settings, MigrationContext, Operations):
    """Runs the history on the scratch database at `url`, capturing what each revision
    sends, and fills in the sections offline mode could not write, unless the
    revision read rows (then what it wrote depends on the data: a draft only).

    Every upgrade() runs in order, each committed. Right after a revision's upgrade,
    its downgrade() (when offline mode could not write it) is tried in a transaction
    that is rolled back: it meets the schema its upgrade left, as `downgrade -1`
    would, and needs no later revision's downgrade to work. Those a trial could not
    give (an autocommit_block(), a failure) come from a run of every downgrade() in
    reverse at the end."""
    from sqlalchemy import create_engine, event

    if url.startswith("postgresql://"):
        # SQLAlchemy's default driver is psycopg2; a project may have psycopg (3) only.
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url)
    if engine.dialect.name != dialect_name:
        # What a revision sends to one database is no SQL for another's sections.
        raise RuntimeError("the scratch database is %s, the revisions are written for %s "
                           "(give --dialect, or a database URL of that dialect)"
                           % (engine.dialect.name, dialect_name))
    captured = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany else [parameters]
        for params in rows:
            captured.append(render(cursor, statement, params))

    opts = {}
    for key in ("version_table", "version_table_schema", "render_as_batch"):
        if settings.get(key) is not None:
            opts[key] = settings[key]

    def result(direction, autocommit):
        statements = [s.strip().rstrip(";").strip() for s in captured]
        kept = [s for s in statements if s and not reads_catalog_only(s)]
        reading = [s for s in kept if reads_rows(s)]
        if reading:
            # What it sent to a database holding no rows: a draft for the person who
            # writes the section, with the reads where they happened.
            return {"error": "its %s() reads rows (%s): what it writes depends on the data"
                    % (direction, short(reading[0])), "online": True,
                    "autocommit": bool(autocommit),
                    "draft": [{"sql": s, "reads": reads_rows(s)} for s in kept]}
        return {"statements": kept, "autocommit": bool(autocommit), "online": True}

    def run(revision, direction):
        fn = getattr(MODULES[revision["id"]], direction, None)
        if fn is None:
            return None
        with engine.connect() as conn:
            # Each revision in a transaction of its own, begun by Alembic, so that an
            # autocommit_block() can end it and begin another, as in a real run.
            context = MigrationContext.configure(
                connection=conn, opts=dict(opts, transaction_per_migration=True))
            autocommit = []
            original = context.autocommit_block

            @contextlib.contextmanager
            def autocommit_block():
                autocommit.append(True)
                with original():
                    yield

            context.autocommit_block = autocommit_block
            captured.clear()
            with context.begin_transaction(_per_migration=True):
                with Operations.context(context):
                    fn()
        return result(direction, autocommit)

    def trial(revision, direction):
        """Runs `direction` of `revision` in a transaction that is rolled back."""
        fn = getattr(MODULES[revision["id"]], direction, None)
        if fn is None:
            return None
        with engine.connect() as conn:
            # SQLAlchemy 2 names the driver's connection dbapi_connection; 1.4 connection.
            raw = getattr(conn.connection, "dbapi_connection", None) or conn.connection.connection
            sqlite = dialect_name == "sqlite"
            if sqlite:
                # pysqlite begins a transaction only before DML, and DDL would commit
                # on its own: begin one by hand, where no capture sees it.
                level = raw.isolation_level
                raw.isolation_level = None
                raw.execute("BEGIN")
            else:
                # A rollback leaves sequences advanced: put them back after, so that
                # the next revisions' captured ids are those of a run without trials.
                sequences = sequence_values(raw)
            transaction = conn.begin()
            try:
                context = MigrationContext.configure(
                    connection=conn, opts=dict(opts, transaction_per_migration=True))

                @contextlib.contextmanager
                def autocommit_block():
                    raise NeedsCommit()
                    yield  # pragma: no cover

                context.autocommit_block = autocommit_block
                captured.clear()
                with Operations.context(context):
                    fn()
                return result(direction, False)
            finally:
                transaction.rollback()
                if sqlite:
                    raw.rollback()
                    raw.isolation_level = level
                else:
                    restore_sequences(raw, sequences)

    def wanted(revision, direction):
        section = revision.get(direction) or {}
        return bool(section.get("error")) and not section.get("online")

    def step(revision, direction):
        """Runs `direction` of `revision`, keeping what it sent where wanted; why the
        run stops, or None."""
        try:
            outcome = run(revision, direction)
        except BaseException as e:
            return "the run on a scratch database stopped at %s's %s(): %s" % (
                revision["id"], direction, one_line(e))
        if wanted(revision, direction) and outcome is not None:
            revision[direction] = outcome
        return None

    stopped = None
    done = []
    for revision in revisions:
        stopped = step(revision, "upgrade")
        if stopped:
            break
        done.append(revision)
        if wanted(revision, "downgrade"):
            try:
                outcome = trial(revision, "downgrade")
            except NeedsCommit:
                outcome = None
            except BaseException as e:
                # Its own failure, on the schema its upgrade left: the run in reverse
                # may still reach it in another state; say why if it does not.
                why = one_line(e)
                revision["downgrade"]["error"] += (
                    "; it fails the same way on the schema its upgrade() leaves"
                    if why in revision["downgrade"]["error"]
                    else "; on the schema its upgrade() leaves, its downgrade() fails: " + why)
                outcome = None
            if outcome is not None:
                revision["downgrade"] = outcome
    if stopped is None and any(wanted(r, "downgrade") for r in done):
        for revision in reversed(done):
            stopped = step(revision, "downgrade")
            if stopped:
                break
    if stopped:
        note_everywhere(revisions, stopped)
    engine.dispose()


def note_everywhere(revisions, note):
    """Adds `note` to the reason of every section offline mode could not write."""
    for revision in revisions:
        for d in ("upgrade", "downgrade"):
            section = revision.get(d) or {}
            if section.get("error") and not section.get("online"):
                section["error"] += "; " + note


def short(text):
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:120] + "..."


def as_tuple(value):
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def one_line(e):
    text = "%s: %s" % (type(e).__name__, e)
    return " ".join(text.split())


def fail(message):
    emit({"fatal": message})
    sys.exit(0)


def emit(document):
    with os.fdopen(ANSWER_FD, "w") as answer:
        json.dump(document, answer)


if __name__ == "__main__":
    # What the project prints while it loads (an application's start-up banner, a
    # print() in a revision) goes to standard error: standard output carries the
    # answer alone.
    sys.stdout.flush()
    ANSWER_FD = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    record_configure()
    main()
