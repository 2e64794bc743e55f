# Run by `aludel import alembic` with the project's own Python (`python -c THIS
# CONFIG DIALECT`): reads an Alembic project through Alembic itself and prints one
# JSON document on standard output. Everything runs in this one process: each
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

    revisions = []
    for sc in script.walk_revisions(base="base", head="heads"):
        item = {
            "id": sc.revision,
            "revises": list(as_tuple(sc.down_revision)),
            "branch_labels": sorted(sc._orig_branch_labels or ()),
            "depends_on": list(as_tuple(sc.dependencies)),
            "message": sc.doc or "",
            "docstring": (sc.module.__doc__ or ""),
            "path": sc.path,
        }
        for direction in ("upgrade", "downgrade"):
            fn = getattr(sc.module, direction, None)
            if fn is None:
                item[direction] = None
                continue
            item[direction] = run_offline(fn, dialect_name, settings, MigrationContext, Operations)
        revisions.append(item)
    revisions.reverse()
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
