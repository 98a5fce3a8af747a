"""The offers' funnel (lifecycle.md): per round, how many offers were made, confirmed, released
(by reason), are still open and past their deadline, how many answers came for offers already
released, and how many seats a later round refilled; and the year's rounds side by side.

Reads the service database only (placements with their states, placement answers, rounds);
counts, never names a person. `as_of` decides "past deadline": a report is for people, so the
caller chooses the moment (the CLI: now, or `--as-of`); nothing here decides an offer's fate.
"""

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, get_args

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, func, select
from sqlmodel import col

from contracts import ReleaseReason
from services.ops.errors import RoundNotFoundError
from services.store.tables import OutboxEntry, PlacementAnswerRow, PlacementRow, RoundRow

RELEASE_REASONS: tuple[str, ...] = get_args(ReleaseReason)
"""The reasons of jip.placement.released, in the contract's order (the order reports show)."""


@dataclass
class Funnel:
    """One round's offers as they stand."""

    round_id: str
    period: str
    dry_run: bool = False
    offers: int = 0
    confirmed: int = 0
    open: int = 0
    past_deadline: int = 0
    released: Counter[str] = field(default_factory=Counter)
    answers: int = 0
    answers_after_release: int = 0
    refilled: int = 0
    """This round's offers on seats that releases of earlier rounds of the year had freed."""

    def rows(self) -> list[tuple[str, int]]:
        """(figure, count) in the order people read a funnel."""
        released = [(f"released: {r}", self.released[r]) for r in RELEASE_REASONS]
        return [
            ("offers made", self.offers),
            ("confirmed", self.confirmed),
            ("released", sum(self.released.values())),
            *[(label, n) for label, n in released if n],
            ("still open", self.open),
            ("open past deadline", self.past_deadline),
            ("answers received", self.answers),
            ("answers after release", self.answers_after_release),
            ("seats refilled", self.refilled),
        ]


def load_funnel(engine: Engine, round_id: str, as_of: dt.datetime) -> Funnel:
    """The funnel of one round; RoundNotFoundError when the database has no such round."""
    with engine.connect() as conn:
        row = conn.execute(select(RoundRow).where(col(RoundRow.round_id) == round_id)).first()
        if row is None:
            raise RoundNotFoundError(f"no round {round_id!r} in the service database")
        return _funnel(conn, row, as_of)


def load_year(engine: Engine, program_year: int, as_of: dt.datetime) -> list[Funnel]:
    """The funnel of every round of the program year, in the order the rounds ran."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(RoundRow)
            .where(col(RoundRow.program_year) == program_year)
            .order_by(col(RoundRow.ordinal))
        ).all()
        return [_funnel(conn, row, as_of) for row in rows]


def _funnel(conn: Connection, row: Any, as_of: dt.datetime) -> Funnel:
    """`row`: a rounds row (its columns by name)."""
    funnel = Funnel(row.round_id, row.period, row.dry_run)
    mine = col(PlacementRow.round_id) == row.round_id
    states = conn.execute(
        select(col(PlacementRow.state), col(PlacementRow.released_reason), func.count())
        .where(mine)
        .group_by(col(PlacementRow.state), col(PlacementRow.released_reason))
    ).all()
    for state, reason, n in states:
        funnel.offers += n
        if state == "confirmed":
            funnel.confirmed += n
        elif state == "released":
            funnel.released[reason or "unknown"] += n
        else:
            funnel.open += n
    funnel.past_deadline = conn.execute(
        select(func.count()).where(
            mine,
            col(PlacementRow.state) == "proposed",
            col(PlacementRow.respond_by) < as_of,
        )
    ).scalar_one()
    answers = conn.execute(
        select(col(PlacementAnswerRow.outcome), func.count())
        .where(col(PlacementAnswerRow.round_id) == row.round_id)
        .group_by(col(PlacementAnswerRow.outcome))
    ).all()
    funnel.answers = sum(n for _, n in answers)
    funnel.answers_after_release = sum(n for o, n in answers if o == "ignored_released")
    funnel.refilled = _refilled(conn, row)
    return funnel


def _refilled(conn: Connection, row: Any) -> int:
    """Offers of this round on (vacancy, course) seats that earlier rounds' releases had freed
    by the time it computed: released at an event time up to the round's own, which is the
    time of the expiry the round runs first (lifecycle.md)."""
    seat = (col(PlacementRow.vacancy_id), col(PlacementRow.course))
    earlier = select(col(RoundRow.round_id)).where(
        col(RoundRow.program_year) == row.program_year, col(RoundRow.ordinal) < row.ordinal
    )
    ran_at = _event_time(conn, row.final_event_id)
    released = select(*seat).where(
        col(PlacementRow.round_id).in_(earlier), col(PlacementRow.state) == "released"
    )
    if ran_at is not None:
        released = released.where(col(PlacementRow.released_at) <= ran_at)
    freed = Counter((v, c) for v, c in conn.execute(released))
    if not freed:
        return 0
    taken = Counter(
        (v, c)
        for v, c in conn.execute(select(*seat).where(col(PlacementRow.round_id) == row.round_id))
    )
    return sum(min(n, freed[key]) for key, n in taken.items())


def _event_time(conn: Connection, event_id: str) -> dt.datetime | None:
    """The `time` of an outbound event in the outbox (a round's completed or failed event)."""
    body = conn.execute(
        select(col(OutboxEntry.body)).where(col(OutboxEntry.event_id) == event_id)
    ).scalar_one_or_none()
    if body is None:
        return None
    return dt.datetime.fromisoformat(json.loads(body)["time"])


def print_funnel(console: Console, funnel: Funnel) -> None:
    table = Table(title=f"offers of round {funnel.round_id}")
    table.add_column("figure")
    table.add_column("offers", justify="right")
    for label, n in funnel.rows():
        table.add_row(label, f"{n:,}")
    console.print(table)


def print_year(console: Console, program_year: int, funnels: list[Funnel]) -> None:
    """The year's rounds side by side, one column per round."""
    table = Table(title=f"program year {program_year}: offers per round")
    table.add_column("figure")
    for f in funnels:
        table.add_column(f"{f.round_id}{' (dry run)' if f.dry_run else ''}", justify="right")
    labels = list(dict.fromkeys(label for f in funnels for label, _ in f.rows()))
    for label in labels:
        table.add_row(label, *(f"{dict(f.rows()).get(label, 0):,}" for f in funnels))
    console.print(table)
