"""Alembic environment: runs on the connection passed in `config.attributes["connection"]`,
else on `sqlalchemy.url`. Imports services.store.tables for the metadata only.
"""

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import services.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("no database: pass a connection or set sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as fresh:
        _run(fresh)


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
run_migrations_online()
