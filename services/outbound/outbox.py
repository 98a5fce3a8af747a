"""The outbox: outbound events stored in the transaction that produced them, read by the relay in
order and marked sent after the broker acknowledged them. Imports contracts and
services.store.tables.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Engine, func, select, update

from contracts import CloudEvent
from services.outbound.events import to_outbox_values
from services.store.db import Statement, copy_rows, fetch_all, fetch_pipelined, lines, upsert
from services.store.lease import Fence, check_fence
from services.store.tables import OutboxEntry, table_of

_OUTBOX = table_of(OutboxEntry)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event_id: str
    subject: str
    body: bytes


def enqueue(
    connection: Connection, events: Iterable[CloudEvent[Any]], round_id: str | None = None
) -> None:
    """Append events in order, as the events of round `round_id` (None: of no round, e.g. dead
    letters); an id already in the outbox is kept as it is."""
    enqueue_rows(connection, [to_outbox_values(e) for e in events], round_id)


def enqueue_rows(
    connection: Connection, rows: Sequence[dict[str, Any]], round_id: str | None = None
) -> None:
    """`enqueue` for events already written as rows (`to_outbox_values`, `to_round_rows`): each
    an event of round `round_id`, or of its own where the row names one (`round_id`: the
    releases an expiry queues ahead of a round's own events are events of the offers' rounds)."""
    if not rows:
        return
    rows = [{"round_id": round_id, **row} for row in rows]
    if connection.dialect.name == "postgresql":
        if len(rows) < ANALYZE_FROM or not _copied(connection, rows):
            fetch_all(connection, *insert_statement(rows))
        if len(rows) >= ANALYZE_FROM:
            connection.exec_driver_sql(ANALYZE)
        return
    stmt = upsert(connection, _OUTBOX).on_conflict_do_nothing(index_elements=["event_id"])
    connection.execute(stmt, rows)


def _copied(connection: Connection, rows: list[dict[str, Any]]) -> bool:
    """Append many rows by COPY (a round's 100,000 events: about half the time of the insert),
    in a savepoint; False, with nothing written, when an id was in the outbox already (a new
    round's ids are new, so that is only a safety net)."""
    try:
        with connection.begin_nested():
            copy_rows(connection, "outbox", _COPY_COLUMNS, rows)
    except UniqueViolation:
        return False
    return True


def insert_statement(rows: Sequence[dict[str, Any]]) -> Statement:
    """PostgreSQL: the rows (with their `round_id`) whose ids are not in the outbox yet, in one
    statement, in order (for fewer than ANALYZE_FROM rows: `pipelined`)."""
    columns = {k: lines([row[c] or "" for row in rows]) for k, c in _COLUMNS.items()}
    return (
        "INSERT INTO outbox (event_id, subject, body, round_id) SELECT i, s, b, r "
        "FROM unnest(string_to_array(%(i)s, E'\\n'), string_to_array(%(s)s, E'\\n'), "
        "string_to_array(%(b)s, E'\\n'), string_to_array(%(r)s, E'\\n', '')) "
        "WITH ORDINALITY AS t(i, s, b, r, n) ORDER BY n ON CONFLICT (event_id) DO NOTHING",
        columns,
    )


def pipelined(rows: Sequence[dict[str, Any]]) -> list[Statement] | None:
    """PostgreSQL: `enqueue_rows` of rows that each name their `round_id`, as statements to
    send with others in one round trip; None when there are as many as ANALYZE_FROM (those go
    by COPY and ANALYZE: `enqueue_rows`)."""
    if len(rows) >= ANALYZE_FROM:
        return None
    return [insert_statement(rows)] if rows else []


_COPY_COLUMNS = ("event_id", "subject", "body", "round_id")

ANALYZE_FROM = 1_000
"""Rows enqueued at once after which PostgreSQL's statistics of the outbox are refreshed.

With statistics that know of few pending rows (a new table, or one whose rows were all sent),
the planner reads the relay's `pending` batches by a bitmap scan of every pending row and a
sort: 30-70 ms per batch of 500 behind a round's 100,000 events, against 0.2 ms by the ordered
index scan it picks once it knows. ANALYZE in the enqueuing transaction counts its own rows
(about 0.1 s for a round's). As many rows at once are written by COPY (`_copied`)."""

_COLUMNS = {"i": "event_id", "s": "subject", "b": "body", "r": "round_id"}
"""Parameters of the PostgreSQL insert, newline-joined (an empty round id is NULL: a dead
letter's); `ORDER BY n` keeps `seq` in event order."""

ANALYZE = "ANALYZE outbox (seq, sent_at, parked_at)"
"""The statistics the relay's read is planned by (the rows, the pending ones, their order):
0.10 s behind a year's 250,000 rows, against 0.22 s for every column (the bodies' widths and
values, which no plan reads)."""


def requeue(connection: Connection, event_id: str) -> None:
    """Publish a stored event again (its id is unchanged, so consumers drop it as a duplicate)."""
    connection.execute(update(_OUTBOX).where(_OUTBOX.c.event_id == event_id).values(sent_at=None))


def pending(engine: Engine, limit: int | None = 100, after: int = 0) -> list[OutboxRow]:
    """Unsent, unparked rows past `after` in the order they were written (all when `limit` is
    None)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # the relay's every batch: on the driver
            # one statement needs no transaction: no BEGIN and no ROLLBACK, each a round trip
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            compiled = pending_query(limit, after).compile(dialect=connection.dialect)
            rows: Sequence[Any] = fetch_all(connection, str(compiled), compiled.params)
        else:
            rows = connection.execute(pending_query(limit, after)).all()
    return [
        OutboxRow(seq, event_id, subject, body.encode()) for seq, event_id, subject, body in rows
    ]


def pending_query(limit: int | None, after: int) -> Any:
    """The relay's read: by the pending index, in `seq` order (see ANALYZE_FROM)."""
    return (
        select(_OUTBOX.c.seq, _OUTBOX.c.event_id, _OUTBOX.c.subject, _OUTBOX.c.body)
        .where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.parked_at.is_(None), _OUTBOX.c.seq > after)
        .order_by(_OUTBOX.c.seq)
        .limit(limit)
    )


def mark_sent(
    engine: Engine, seqs: Sequence[int], now: dt.datetime | None = None, fence: Fence | None = None
) -> None:
    """Record that the broker acknowledged these rows (fenced: an instance that lost the lease
    marks nothing, see services.store.lease)."""
    if not seqs:
        return
    sent_at = now or dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # one array parameter, not one per row
            marking = (
                "UPDATE outbox SET sent_at = %(at)s WHERE seq = ANY(%(seqs)s::bigint[])",
                {"at": sent_at, "seqs": list(seqs)},
            )
            if fence is None:
                fetch_all(connection, *marking)
            else:  # the update and the fence's check in one round trip
                fence.verify(fetch_pipelined(connection, [marking, fence.statement()])[-1])
            return
        connection.execute(
            update(_OUTBOX).where(_OUTBOX.c.seq.in_(list(seqs))).values(sent_at=sent_at)
        )
        check_fence(connection, fence)


def park(
    engine: Engine, seq: int, now: dt.datetime | None = None, fence: Fence | None = None
) -> None:
    """Set a row aside for good: the broker refused it as too large, so a retry cannot succeed
    and would hold back every row behind it. It stays in the table for operators."""
    parked_at = now or dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.execute(update(_OUTBOX).where(_OUTBOX.c.seq == seq).values(parked_at=parked_at))
        check_fence(connection, fence)


def parked_count(engine: Engine) -> int:
    """How many outbox rows are parked."""
    query = select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.parked_at.is_not(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
