"""Engines and schema migrations for PostgreSQL and SQLite, and the dialect's upsert statement.

Imports sqlalchemy, alembic and services.store.tables only; never matching or brokers.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite gets WAL and foreign keys, PostgreSQL a pre-ping pool.

    In-memory SQLite is one shared connection, so every session sees the same database.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas(wal=not in_memory))
    return engine


def _sqlite_pragmas(wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` with Alembic, on the engine's own connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upsert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT with `on_conflict_do_update` / `on_conflict_do_nothing`."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {connection.dialect.name}")


# PostgreSQL gets a batch's values as one newline-joined text parameter per column, split by the
# server with string_to_array: psycopg rewrites a statement with thousands of placeholders on
# every call, and dumping a list as an array costs more in Python than the statement itself.


def lines(values: list[str]) -> str:
    """`values` joined by newlines, for `string_to_array(%s, E'\\n')`; none may hold a newline
    (ids and sources cannot by the contract's patterns, nor can compact JSON). No values give
    "", which PostgreSQL splits into an empty array."""
    if not values:
        return ""
    text = "\n".join(values)
    if text.count("\n") != len(values) - 1:
        raise ValueError("a value holds a newline")
    return text


def _driver(connection: Connection) -> Any:
    """The DBAPI connection under `connection` (psycopg's here; SQLAlchemy types it Any), which
    is None only once the connection was invalidated."""
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection was invalidated")
    return driver


Statement = tuple[str, dict[str, Any]]
"""A PostgreSQL statement on the driver's cursor and its parameters (`fetch_all`,
`fetch_pipelined`)."""


def fetch_all(connection: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql` on the driver's cursor and return all rows as tuples (no SQLAlchemy rows)."""
    with _driver(connection).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def fetch_pipelined(
    connection: Connection, statements: Sequence[Statement]
) -> list[list[tuple[Any, ...]]]:
    """PostgreSQL: run `statements` in order in one pipeline and return each one's rows.

    Alone, each statement waits for its answer before the next is sent, and the thread that
    waits must then win the GIL back from the event loop: a batch of answers spent more time
    so than in the server. In a pipeline the server gets them all at once and answers once.
    An error in one raises here, after which the transaction can only roll back."""
    driver = _driver(connection)
    cursors = []
    try:
        with driver.pipeline():
            for sql, params in statements:
                cursor = driver.cursor()
                cursors.append(cursor)
                cursor.execute(sql, params)
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def without_plans(statement: Statement, *methods: str) -> list[Statement]:
    """`statement` with the planner's `methods` (`seqscan`, `hashjoin`, ...) off for it alone
    (SET LOCAL before, back on after): for the intake's few-hundred-row reads and updates by
    key, where the planner's costs for random reads (four times a sequential one, though the
    tables are in memory) pick a read of the whole table. The result is the second but last."""
    return [
        *((f"SET LOCAL enable_{method} = off", {}) for method in methods),
        statement,
        *((f"SET LOCAL enable_{method} = on", {}) for method in methods),
    ]


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]
) -> None:
    """PostgreSQL: append `rows` to `table` by COPY, one round trip for any number of rows."""
    cursor = _driver(connection).cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
