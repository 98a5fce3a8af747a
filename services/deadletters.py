"""Dead letters for operators: list them, and resubmit a corrected body through the intake.

Imports contracts and services persistence only; never brokers.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from contracts import parse_event
from services.intake import BatchOutcome, Inbound, Intake
from services.tables import DeadLetterRow

_DEAD = DeadLetterRow.__table__  # type: ignore[attr-defined]


class UnknownDeadLetter(LookupError):
    """No dead letter has this id, or it was already resubmitted."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    subject: str
    original_id: str | None
    errors: list[dict[str, Any]]
    raw: str
    received_at: dt.datetime
    resubmitted_at: dt.datetime | None


def list_dead_letters(engine: Engine, include_resubmitted: bool = False) -> list[DeadLetter]:
    """Dead letters by receipt time, oldest first."""
    query = select(_DEAD).order_by(_DEAD.c.received_at, _DEAD.c.id)
    if not include_resubmitted:
        query = query.where(_DEAD.c.resubmitted_at.is_(None))
    with engine.connect() as connection:
        return [DeadLetter(**row._mapping) for row in connection.execute(query)]


def resubmit(intake: Intake, dead_letter_id: str, corrected_body: bytes) -> BatchOutcome:
    """Apply a corrected body as the next inbound event and mark the dead letter resubmitted.

    Raises ContractError (nothing changes) when the corrected body is still invalid, and
    UnknownDeadLetter when the id is unknown or already resubmitted.
    """
    parse_event(corrected_body)
    with intake.engine.begin() as connection:
        marked = connection.execute(
            update(_DEAD)
            .where(_DEAD.c.id == dead_letter_id, _DEAD.c.resubmitted_at.is_(None))
            .values(resubmitted_at=intake.clock())
        )
        if marked.rowcount != 1:
            raise UnknownDeadLetter(dead_letter_id)
        return intake.apply(connection, [Inbound(None, corrected_body)])
