"""Prints the DDL of the models' metadata, for aludel's `[autogenerate] schema_command`:

    schema_command = ["python", "-m", "app.schema", "postgresql"]

The argument is the database's dialect (`postgresql` or `sqlite`). Nothing
connects: SQLAlchemy's mock engine hands each statement to `emit` instead.
"""

import sys

from sqlalchemy import MetaData, create_mock_engine

from app.models import Base


def print_ddl(metadata: MetaData, dialect: str) -> None:
    def emit(ddl, *multiparams, **params):
        print(str(ddl.compile(dialect=engine.dialect)).strip() + ";\n")

    # paramstyle="named": with the default driver's "pyformat", SQLAlchemy doubles
    # every `%` in a CHECK constraint or server default (LIKE '%@%' would reach the
    # database as LIKE '%%@%%'), because a driver would format the text once more.
    engine = create_mock_engine(f"{dialect}://", emit, paramstyle="named")
    metadata.create_all(engine, checkfirst=False)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m app.schema DIALECT (postgresql or sqlite)")
    print_ddl(Base.metadata, sys.argv[1])
