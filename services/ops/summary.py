"""What a round published, read back from the outbox: placed per course, unplaced by reason.

Reads the database only; used by the demo and the terminal report.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import col

from contracts import Kind, subject_of
from services.store.tables import OutboxEntry

_PLACEMENT_MADE = subject_of(Kind.PLACEMENT_MADE)
_APPLICANT_UNPLACED = subject_of(Kind.APPLICANT_UNPLACED)
_ROUND_ANSWERS = (subject_of(Kind.ROUND_COMPLETED), subject_of(Kind.ROUND_FAILED))


@dataclass
class RoundOutcome:
    round_id: str
    completed: dict[str, object] | None = None
    placed_by_course: Counter[str] = field(default_factory=Counter)
    unplaced_by_reason: Counter[str] = field(default_factory=Counter)
    rank_histogram: Counter[str] = field(default_factory=Counter)


def round_outcome(engine: Engine, round_id: str) -> RoundOutcome:
    """Summarise the outbound events of one round from the outbox (the rows of its round id)."""
    outcome = RoundOutcome(round_id)
    query = (
        select(col(OutboxEntry.subject), col(OutboxEntry.body))
        .where(col(OutboxEntry.round_id) == round_id)
        .order_by(col(OutboxEntry.seq))
    )
    with engine.connect() as conn:
        for subject, body in conn.execute(query):
            _count(outcome, subject, json.loads(body))
    return outcome


def _count(outcome: RoundOutcome, subject: str, event: dict[str, Any]) -> None:
    data = event["data"]
    if subject == _PLACEMENT_MADE:
        outcome.placed_by_course[data["course"]] += 1
        rank = data.get("applicant_rank")
        outcome.rank_histogram["no list" if rank is None else f"choice {rank}"] += 1
    elif subject == _APPLICANT_UNPLACED:
        for reason in data["reasons"]:
            outcome.unplaced_by_reason[reason["code"]] += 1
    elif subject in _ROUND_ANSWERS:
        outcome.completed = data
