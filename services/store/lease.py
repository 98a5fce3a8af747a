"""The active instance's lease in the database, and the fencing check every effect makes.

One row of `service_lease` per lease: an instance takes it when it is free or ran out (the token
goes up by one), renews it while it holds the token, and gives it back on a graceful stop. Every
transaction with an effect calls `Fence.check` just before its commit: the row is read under a
share lock held until the commit, so a takeover (an UPDATE of that row) waits for the commit,
and a transaction that reads a token other than its instance's raises LeaseLostError and commits
nothing. Time is the database's clock (PostgreSQL), so instances on machines whose clocks differ
agree on when a lease ran out. Imports sqlalchemy only; never brokers or matching.
"""

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from services.store.db import Statement, fetch_all
from services.store.errors import LeaseLostError

ACTIVE = "active"
"""The lease of the instance that runs intake, rounds, relay and calendar."""

_NOW = {
    "postgresql": "extract(epoch from clock_timestamp())",
    "sqlite": ":now",
}
"""The database's clock in epoch seconds (SQLite has no server: the caller's clock)."""


@dataclass(frozen=True)
class LeaseState:
    holder: str
    token: int
    remaining_seconds: float
    """Until it runs out, by the database's clock (negative: ran out)."""


def _sql(connection: Connection, statement: str) -> str:
    return statement.replace("NOW", _NOW.get(connection.dialect.name, ":now"))


def _limit_waits(connection: Connection, seconds: float) -> None:
    """A lease statement waits at most `seconds` for a row lock (PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(seconds * 1000))}")


def session_name(holder: str) -> str:
    """The PostgreSQL `application_name` of an instance's sessions (at most 63 bytes), by which a
    successor finds them (`try_acquire`)."""
    return f"intern-match:{holder}"[:63]


def _end_sessions_of_expired(connection: Connection, holder: str, name: str) -> None:
    """End the sessions of a holder whose lease ran out (PostgreSQL): a process paused in the
    middle of a transaction keeps that transaction's row locks (inbox keys, placements) for as
    long as it is paused, and the successor's first batch would wait behind them. Ending the
    sessions rolls those transactions back; the former holder's retries are fenced."""
    row = connection.execute(
        text(
            _sql(
                connection,
                "SELECT holder FROM service_lease WHERE name = :name AND expires_at < NOW",
            )
        ),
        {"name": name, "now": time.time()},
    ).first()
    if row is None or row[0] == holder:
        return
    connection.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
            ":session AND datname = current_database() AND pid <> pg_backend_pid()"
        ),
        {"session": session_name(str(row[0]))},
    )


def try_acquire(engine: Engine, holder: str, seconds: float, name: str = ACTIVE) -> int | None:
    """Take the lease if it is free or ran out; the new fencing token, or None when another
    instance holds it. Waits at most a quarter of `seconds` behind a committing transaction."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            _end_sessions_of_expired(connection, holder, name)
    with engine.begin() as connection:
        _limit_waits(connection, seconds / 4)
        row = connection.execute(
            text(
                _sql(
                    connection,
                    "INSERT INTO service_lease (name, holder, token, expires_at, acquired_at) "
                    "VALUES (:name, :holder, 1, NOW + :seconds, NOW) "
                    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                    "token = service_lease.token + 1, expires_at = excluded.expires_at, "
                    "acquired_at = excluded.acquired_at "
                    "WHERE service_lease.expires_at < excluded.acquired_at "
                    "RETURNING token",
                )
            ),
            {"name": name, "holder": holder, "seconds": seconds, "now": time.time()},
        ).first()
    return None if row is None else int(row[0])


def renew(engine: Engine, holder: str, token: int, seconds: float, name: str = ACTIVE) -> bool:
    """Extend the lease by `seconds` from now; False when the token is no longer this holder's
    (then another instance took over). A lease that ran out but was not taken is renewed: no one
    else can have committed under it."""
    with engine.begin() as connection:
        _limit_waits(connection, seconds / 4)
        result = connection.execute(
            text(
                _sql(
                    connection,
                    "UPDATE service_lease SET expires_at = NOW + :seconds "
                    "WHERE name = :name AND holder = :holder AND token = :token",
                )
            ),
            {
                "name": name,
                "holder": holder,
                "token": token,
                "seconds": seconds,
                "now": time.time(),
            },
        )
        return result.rowcount == 1


def release(engine: Engine, holder: str, token: int, name: str = ACTIVE) -> None:
    """Give the lease back at once (a graceful stop): a standby takes over without waiting."""
    with engine.begin() as connection:
        connection.execute(
            text(
                _sql(
                    connection,
                    "UPDATE service_lease SET expires_at = NOW - 1 "
                    "WHERE name = :name AND holder = :holder AND token = :token",
                )
            ),
            {"name": name, "holder": holder, "token": token, "now": time.time()},
        )


def read_lease(engine: Engine, name: str = ACTIVE) -> LeaseState | None:
    """Who holds the lease and for how long still (None: never taken)."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                _sql(
                    connection,
                    "SELECT holder, token, expires_at - NOW FROM service_lease WHERE name = :name",
                )
            ),
            {"name": name, "now": time.time()},
        ).first()
    return None if row is None else LeaseState(str(row[0]), int(row[1]), float(row[2]))


class Fence:
    """The fencing token this instance holds (None while it is not active), checked inside
    every transaction that has an effect.

    `idle_seconds` bounds how long a transaction may sit between its check and its commit (a
    process paused there holds the share lock): PostgreSQL then ends the session, the
    transaction rolls back, and the takeover goes on.
    """

    def __init__(self, idle_seconds: float, name: str = ACTIVE) -> None:
        self.name = name
        self.idle_seconds = idle_seconds
        self.token: int | None = None

    def check(self, connection: Connection) -> None:
        """Raise LeaseLostError unless the lease's token is this instance's; call it last,
        just before the commit."""
        if connection.dialect.name == "postgresql":  # one round trip: it ends every batch
            self.verify(fetch_all(connection, *self.statement()))
            return
        self._held()
        query = text("SELECT token FROM service_lease WHERE name = :name")
        self._compare(connection.execute(query, {"name": self.name}).scalar())

    def statement(self) -> Statement:
        """PostgreSQL: `check`'s read, to send last with a transaction's other statements
        (`verify` judges its rows). It also bounds the idle time before the commit."""
        self._held()
        idle = str(max(1, int(self.idle_seconds * 1000)))
        return (
            "SELECT token, set_config('idle_in_transaction_session_timeout', %(idle)s, true) "
            "FROM service_lease WHERE name = %(name)s FOR SHARE",
            {"idle": idle, "name": self.name},
        )

    def verify(self, rows: list[tuple[Any, ...]]) -> None:
        """`check` on the rows of `statement`."""
        self._compare(rows[0][0] if rows else None)

    def _held(self) -> int:
        if self.token is None:
            raise LeaseLostError("this instance is not the active one")
        return self.token

    def _compare(self, current: Any) -> None:
        held = self._held()
        if current != held:
            raise LeaseLostError(
                f"the active lease's token is {current}, this instance's {held}: another "
                "instance took over"
            )


def check_fence(connection: Connection, fence: Fence | None) -> None:
    """`fence.check(connection)`, or nothing for a process that runs alone (offline, tests)."""
    if fence is not None:
        fence.check(connection)
