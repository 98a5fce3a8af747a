"""The calendar's rounds in the database: synced from the files, read by the timer and by the
operators' listing, marked `requested` once the stream holds their request. The table is where
"already requested" lives, so restarts and several starts agree. Imports sqlalchemy, the
store's upsert, the tables and services.rounds.calendar; never brokers.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    delete,
    exists,
    select,
    update,
)

from services.rounds.calendar import CALENDAR_SOURCE, Calendars, PlannedRound
from services.store.db import upsert
from services.store.tables import CalendarRoundRow, DeadLetterRow, InboxRow, RoundRow, table_of

log = logging.getLogger(__name__)

PLANNED, REQUESTED, COMPLETED, FAILED = "planned", "requested", "completed", "failed"
FIRING = "firing"
"""Stored just before the request is published: after a crash there, whether the stream holds
it is looked up (past the broker's duplicate window a repeat would be stored again)."""
_CAL = table_of(CalendarRoundRow)
_ROUNDS = table_of(RoundRow)
_INBOX = table_of(InboxRow)
_DEAD = table_of(DeadLetterRow)


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed: round ids added, re-planned (moved or changed), removed, and those
    whose change came after their request (kept as requested: a round is requested once)."""

    added: tuple[str, ...] = ()
    replanned: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarEntry:
    """A row as operators see it: `state` is planned, requested, completed or failed."""

    planned: PlannedRound
    state: str
    fired_at: dt.datetime | None
    detail: str = ""


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time in UTC (SQLite hands back naive UTC values)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def to_planned(row: RowMapping) -> PlannedRound:
    return PlannedRound(
        row["round_id"], row["program_year"], row["period"], row["mode"], utc(row["at"]),
        row["calendar_file"],
    )  # fmt: skip


def _values(planned: PlannedRound) -> dict[str, object]:
    return {
        "program_year": planned.program_year, "period": planned.period, "mode": planned.mode,
        "at": planned.at.astimezone(dt.UTC), "calendar_file": planned.file,
    }  # fmt: skip


def sync(connection: Connection, calendars: Calendars) -> SyncReport:
    """Make the planned rows those of `calendars`: add new rounds, re-plan changed ones, remove
    those no file names any more; a requested row is never changed or removed."""
    rows = {r["round_id"]: r for r in connection.execute(select(_CAL)).mappings().all()}
    wanted = {p.round_id: p for p in calendars.rounds}
    added: list[str] = []
    replanned: list[str] = []
    removed: list[str] = []
    ignored: list[str] = []
    for round_id, planned in wanted.items():
        row = rows.get(round_id)
        if row is None:  # another sync may add it at the same time: its row is kept
            statement = upsert(connection, _CAL).values(
                round_id=round_id, state=PLANNED, **_values(planned)
            )
            connection.execute(statement.on_conflict_do_nothing(index_elements=["round_id"]))
            added.append(round_id)
        elif _same(to_planned(row), planned):
            continue
        elif row["state"] == PLANNED:
            where = (_CAL.c.round_id == round_id) & (_CAL.c.state == PLANNED)
            changed = connection.execute(update(_CAL).where(where).values(**_values(planned)))
            if _same(to_planned(row), planned, with_file=False):
                continue
            # not changed: the timer requested it since it was read, at its old time
            (replanned if changed.rowcount else ignored).append(round_id)
        elif not _same(to_planned(row), planned, with_file=False):
            ignored.append(round_id)
    for round_id, row in rows.items():
        if round_id not in wanted and row["state"] == PLANNED:
            where = (_CAL.c.round_id == round_id) & (_CAL.c.state == PLANNED)
            if connection.execute(delete(_CAL).where(where)).rowcount:  # not fired since
                removed.append(round_id)
    return SyncReport(tuple(added), tuple(replanned), tuple(removed), tuple(ignored))


def _same(a: PlannedRound, b: PlannedRound, with_file: bool = True) -> bool:
    fields = (a.program_year, a.period, a.mode, a.at) == (b.program_year, b.period, b.mode, b.at)
    return fields and (not with_file or a.file == b.file)


def _not_run() -> ColumnElement[bool]:
    """Rows whose round id no round has used: an operator's request may have run it already."""
    return ~exists().where(_ROUNDS.c.round_id == _CAL.c.round_id)


def due_and_next(
    connection: Connection, now: dt.datetime
) -> tuple[list[PlannedRound], PlannedRound | None]:
    """The planned rounds to request now (their time passed), by time then id, and the next one
    after `now`. A row whose request the intake already took (its inbox key) is marked requested
    first: the stream holds it, whatever the table lost."""
    taken = exists().where(
        (_INBOX.c.source == CALENDAR_SOURCE) & (_INBOX.c.event_id == "calendar/" + _CAL.c.round_id)
    )
    connection.execute(
        update(_CAL).where((_CAL.c.state == PLANNED) & taken).values(state=REQUESTED)
    )
    query = (
        select(_CAL)
        .where(_CAL.c.state.in_((PLANNED, FIRING)) & _not_run())
        .order_by(_CAL.c.at, _CAL.c.round_id)
    )
    rows = connection.execute(query).mappings().all()
    due = [to_planned(r) for r in rows if r["state"] == FIRING or utc(r["at"]) <= now]
    upcoming = (to_planned(r) for r in rows if r["state"] == PLANNED and utc(r["at"]) > now)
    return due, next(upcoming, None)


def in_flight(connection: Connection, planned: PlannedRound) -> bool:
    """Whether the request of `planned` may have been published (marked firing) and its
    acknowledgement not recorded."""
    state = connection.execute(
        select(_CAL.c.state).where(_CAL.c.round_id == planned.round_id)
    ).scalar_one_or_none()
    return state == FIRING


def mark_firing(connection: Connection, planned: PlannedRound) -> bool:
    """The request of `planned` is about to be published; False when its row no longer plans it
    (a `calendar sync` removed or changed it since it was read): then it is not published."""
    same = (
        (_CAL.c.round_id == planned.round_id)
        & (_CAL.c.program_year == planned.program_year)
        & (_CAL.c.period == planned.period)
        & (_CAL.c.mode == planned.mode)
        & (_CAL.c.at == planned.at.astimezone(dt.UTC))
    )
    marked = connection.execute(
        update(_CAL).where(same & (_CAL.c.state == PLANNED)).values(state=FIRING)
    )
    if marked.rowcount == 1:
        return True
    firing = connection.execute(select(_CAL.c.round_id).where(same & (_CAL.c.state == FIRING)))
    return firing.first() is not None  # left firing by a crash (a sync never changes it)


def mark_requested(
    connection: Connection, planned: PlannedRound, fired_at: dt.datetime, stream_seq: int | None
) -> None:
    """The stream acknowledged `planned`'s request: the row is requested for good."""
    connection.execute(
        update(_CAL)
        .where((_CAL.c.round_id == planned.round_id) & _CAL.c.state.in_((PLANNED, FIRING)))
        .values(
            state=REQUESTED, requested_time=planned.at, fired_at=fired_at, stream_seq=stream_seq
        )
    )


def entries(connection: Connection) -> list[CalendarEntry]:
    """Every calendar round by time, with its state: completed or failed by the `rounds` row of
    its id (whoever requested it), failed when its request was dead-lettered, else the row's."""
    statuses = dict(connection.execute(select(_ROUNDS.c.round_id, _ROUNDS.c.status)).all())
    refused = set(
        connection.execute(
            select(_DEAD.c.original_id).where(_DEAD.c.original_id.like("calendar/%"))
        ).scalars()
    )
    found = []
    for row in connection.execute(select(_CAL).order_by(_CAL.c.at, _CAL.c.round_id)).mappings():
        planned = to_planned(row)
        state, detail = _state(row["state"], statuses.get(planned.round_id), planned, refused)
        fired = utc(row["fired_at"]) if row["fired_at"] is not None else None
        found.append(CalendarEntry(planned, state, fired, detail))
    return found


def _state(
    row_state: str, status: str | None, planned: PlannedRound, refused: set[str]
) -> tuple[str, str]:
    if status is not None:
        by = "" if row_state == REQUESTED else "run by another request of this round id"
        return (FAILED if status == FAILED else COMPLETED), by
    if planned.event_id in refused:
        return FAILED, "its request was dead-lettered (intern-match dead-letters list)"
    if row_state == FIRING:
        return REQUESTED, "published; the stream's acknowledgement is not recorded yet"
    return row_state, ""


def log_sync(report: SyncReport) -> None:
    """One line per change; a change to a requested round is a warning (it is not applied)."""
    for kind in ("added", "replanned", "removed"):
        for round_id in getattr(report, kind):
            log.info(f"calendar round {kind}", extra={"round_id": round_id})
    for round_id in report.ignored:
        log.warning(
            "calendar round changed after it was requested: the change is not applied",
            extra={"round_id": round_id},
        )
