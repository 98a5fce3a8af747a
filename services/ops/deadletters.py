"""Dead letters for operators: list them, and resubmit a corrected body through the broker, so
that it is in the stream (in exports and replays) and the intake applies it in stream order.

Imports contracts and services persistence only; the broker comes in as a `Publish` callable.
"""

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from contracts import INBOUND_KINDS, CloudEvent, parse_event, subject_of
from services.ops.errors import NotResubmittable, UnknownDeadLetter
from services.store.tables import DeadLetterRow, InboxRow, table_of

_DEAD = table_of(DeadLetterRow)
_INBOX = table_of(InboxRow)

Publish = Callable[[str, bytes, str], Awaitable[bool]]
"""Publishes (subject, body, Nats-Msg-Id) and returns whether the broker found it a duplicate."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    subject: str
    original_id: str | None
    errors: list[dict[str, Any]]
    raw: str
    received_at: dt.datetime
    resubmitted_at: dt.datetime | None


@dataclass(frozen=True)
class Resubmitted:
    """A corrected event in the stream: where, as what, and whether the broker had it already
    (an earlier resubmission of the same dead letter inside its duplicate window)."""

    dead_letter_id: str
    subject: str
    source: str
    event_id: str
    duplicate: bool


def list_dead_letters(engine: Engine, include_resubmitted: bool = False) -> list[DeadLetter]:
    """Dead letters by receipt time, oldest first."""
    query = select(_DEAD).order_by(_DEAD.c.received_at, _DEAD.c.id)
    if not include_resubmitted:
        query = query.where(_DEAD.c.resubmitted_at.is_(None))
    with engine.connect() as connection:
        return [DeadLetter(**row._mapping) for row in connection.execute(query)]


def resubmission_msg_id(dead_letter_id: str) -> str:
    """`Nats-Msg-Id` of a resubmission: not the event's id, which the rejected original carried
    into the broker's duplicate window (the broker would drop the corrected event), but one per
    dead letter, so a resubmission repeated after a crash is dropped instead."""
    return "resubmit-" + dead_letter_id


async def resubmit(
    engine: Engine,
    publish: Publish,
    dead_letter_id: str,
    corrected_body: bytes,
    clock: Callable[[], dt.datetime],
) -> Resubmitted:
    """Publish a corrected body on its inbound subject and mark the dead letter resubmitted once
    the stream has it (the intake applies it in stream order, like any event).

    Raises ContractError when the body is still invalid, NotResubmittable for an outbound type
    or an already accepted (source, id), UnknownDeadLetter when the id is unknown or already
    resubmitted; nothing is published in any of these cases.
    """
    event = parse_event(corrected_body)
    await asyncio.to_thread(_check, engine, dead_letter_id, event)
    subject = subject_of(event.kind)
    duplicate = await publish(subject, corrected_body, resubmission_msg_id(dead_letter_id))
    await asyncio.to_thread(_mark, engine, dead_letter_id, clock())
    return Resubmitted(dead_letter_id, subject, event.source, event.id, duplicate)


def _check(engine: Engine, dead_letter_id: str, event: CloudEvent[Any]) -> None:
    if event.kind not in INBOUND_KINDS:
        raise NotResubmittable(
            f"{event.type} is an outbound event type; only inbound events "
            f"({', '.join(sorted(subject_of(k) for k in INBOUND_KINDS))}) can be resubmitted"
        )
    waiting = _DEAD.c.id == dead_letter_id, _DEAD.c.resubmitted_at.is_(None)
    accepted = _INBOX.c.source == event.source, _INBOX.c.event_id == event.id
    with engine.connect() as connection:
        if connection.execute(select(_DEAD.c.id).where(*waiting)).first() is None:
            raise UnknownDeadLetter(dead_letter_id)
        if connection.execute(select(_INBOX.c.event_id).where(*accepted)).first() is not None:
            raise NotResubmittable(
                "an event with this source and id was already accepted, so the intake would "
                "drop the correction as a duplicate: give the corrected event a new id"
            )


def _mark(engine: Engine, dead_letter_id: str, now: dt.datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_DEAD)
            .where(_DEAD.c.id == dead_letter_id, _DEAD.c.resubmitted_at.is_(None))
            .values(resubmitted_at=now)
        )
