"""Offers in the tables (lifecycle.md): a placement's state, its confirmation and its release,
each written with its outbound event in the caller's transaction; expiry before a round.
Imports sqlalchemy, contracts, services.outbound and services.store; never matching or brokers.
"""

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from contracts import ReleaseReason
from services.outbound.events import placement_confirmed_row, placement_released_row
from services.store.db import Statement, fetch_pipelined, lines, without_plans
from services.store.tables import PlacementRow, RoundRow, table_of

PROPOSED, CONFIRMED, RELEASED = "proposed", "confirmed", "released"
LIVE = (PROPOSED, CONFIRMED)
"""A placement is live while proposed or confirmed: it holds its seat and its applicant."""
DECLINED = "declined_by_"
"""The prefix of the release reasons of a decline (`declined_by_host`, ...)."""

_PLACEMENTS = table_of(PlacementRow)
_ROUNDS = table_of(RoundRow)


@dataclass(slots=True)
class Offer:
    """A placement as the lifecycle sees it; `ordinal` is its round's place in the stream."""

    round_id: str
    applicant_id: str
    program_year: int
    period: str
    vacancy_id: str
    course: str
    company_id: str
    state: str
    accepted_by: tuple[str, ...]
    ordinal: int
    lottery_seed: str | None = None
    """The seed its round drew with (None for rounds that drew by id)."""

    @property
    def placement_id(self) -> str:
        return f"{self.round_id}/{self.applicant_id}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE


def split_placement_id(placement_id: str) -> tuple[str, str]:
    """(round id, applicant id) of `<round_id>/<applicant_id>` (neither id holds a `/`)."""
    round_id, _, applicant_id = placement_id.partition("/")
    return round_id, applicant_id


def load_offers(connection: Connection, condition: Any) -> list[Offer]:
    """The placements matching `condition` (a clause on the placements table)."""
    columns = [_PLACEMENTS.c[c] for c in _OFFER_FIELDS]
    query = (
        select(*columns, _ROUNDS.c.ordinal, _ROUNDS.c.lottery_seed)
        .join(_ROUNDS, _ROUNDS.c.round_id == _PLACEMENTS.c.round_id)
        .where(condition)
    )
    return [_offer_of(*row) for row in connection.execute(query)]


def load_touched(
    connection: Connection, applicants: set[str], vacancies: set[str], answered: set[str]
) -> list[Offer]:
    """The live placements of `applicants` and `vacancies` and every placement of the
    `answered` applicants (none when all three are empty).

    PostgreSQL gets the ids as three newline-joined parameters on the driver's cursor: an `IN`
    of a batch's 300 ids compiled and bound by SQLAlchemy, and its rows turned into mappings,
    cost a batch of 500 answers about 5 ms of its 7 ms read."""
    if not (applicants or vacancies or answered):
        return []
    if connection.dialect.name != "postgresql":
        c = _PLACEMENTS.c
        live = and_(
            c.state.in_(LIVE),
            or_(c.applicant_id.in_(sorted(applicants)), c.vacancy_id.in_(sorted(vacancies))),
        )
        return load_offers(connection, or_(live, c.applicant_id.in_(sorted(answered))))
    results = fetch_pipelined(connection, touched_statements(applicants, vacancies, answered))
    return offers_of(results[TOUCHED_RESULT])


TOUCHED_RESULT = -2
"""Where the rows of `touched_statements` are among its statements' results."""


def touched_statements(
    applicants: set[str], vacancies: set[str], answered: set[str]
) -> list[Statement]:
    """PostgreSQL: `load_touched`'s read (`offers_of` turns its rows, at TOUCHED_RESULT, into
    offers): a branch per index, without reading the whole table. With the three conditions
    in one OR, or with sequential scans allowed, the planner read every placement of every
    year for each batch (3 ms per batch of answers behind 14,000 placements, growing)."""
    return without_plans(_touched_statement(applicants, vacancies, answered), "seqscan")


def _touched_statement(applicants: set[str], vacancies: set[str], answered: set[str]) -> Statement:
    select_offers = (
        f"SELECT {', '.join(f'p.{c}' for c in _OFFER_FIELDS)}, r.ordinal, r.lottery_seed "
        "FROM placements AS p JOIN rounds AS r ON r.round_id = p.round_id WHERE "
    )
    live = "p.state IN ('proposed', 'confirmed') AND "
    return (
        f"{select_offers}p.applicant_id = ANY(string_to_array(%(a)s, E'\\n')) UNION "
        f"{select_offers}{live}p.applicant_id = ANY(string_to_array(%(w)s, E'\\n')) UNION "
        f"{select_offers}{live}p.vacancy_id = ANY(string_to_array(%(v)s, E'\\n'))",
        {
            "w": lines(sorted(applicants)),
            "v": lines(sorted(vacancies)),
            "a": lines(sorted(answered)),
        },  # fmt: skip
    )


def offers_of(rows: Iterable[Sequence[Any]]) -> list[Offer]:
    """Offers from rows of the placements columns in `_OFFER_FIELDS` order, then the round's
    ordinal and lottery seed."""
    return [_offer_of(*row) for row in rows]


_OFFER_FIELDS = (
    "round_id", "applicant_id", "program_year", "period", "vacancy_id", "course", "company_id",
    "state", "accepted_by",
)  # fmt: skip
"""The placements columns an Offer holds, in its fields' order (then its round's two)."""


def capacities(payload: str) -> dict[str, int]:
    """Capacity per course of a vacancy snapshot's JSON (a course not listed has none)."""
    capacity: dict[str, int] = {}
    for slot in json.loads(payload)["slots"]:
        capacity[slot["course"]] = capacity.get(slot["course"], 0) + slot["capacity"]
    return capacity


def _offer_of(
    round_id: str,
    applicant_id: str,
    program_year: int,
    period: str,
    vacancy_id: str,
    course: str,
    company_id: str | None,
    state: str,
    accepted_by: str,
    ordinal: int,
    lottery_seed: str | None,
) -> Offer:
    accepted = tuple(p for p in accepted_by.split(",") if p)
    return Offer(
        round_id, applicant_id, program_year, period, vacancy_id, course, company_id or "", state,
        accepted, ordinal, lottery_seed,
    )  # fmt: skip


class OfferWrites(Protocol):
    """Where the intake's offer changes go: staged with the batch's other writes and written
    in bulk, its outbound events in the order of the inbound events that caused them."""

    def update_offer(self, offer: Offer, **values: Any) -> None:
        """Set columns of the offer's placements row."""

    def outbound(self, round_id: str | None, row: dict[str, str]) -> None:
        """Queue an outbound event (its outbox row) as an event of round `round_id`."""

    def answered(self, row: dict[str, Any]) -> None:
        """Record an answer received (a placement_answers row)."""


def record_acceptance(writes: OfferWrites, offer: Offer, party: str, order: Sequence[str]) -> None:
    """Add `party` to the offer's acceptances (kept in `order`, the contract's party order)."""
    offer.accepted_by = tuple(p for p in order if p in (*offer.accepted_by, party))
    writes.update_offer(offer, accepted_by=",".join(offer.accepted_by))


def confirm(writes: OfferWrites, offer: Offer, at: dt.datetime) -> None:
    """Mark the offer confirmed and queue its `jip.placement.confirmed` at `at`."""
    offer.state = CONFIRMED
    writes.update_offer(offer, state=CONFIRMED)
    writes.outbound(offer.round_id, placement_confirmed_row(_facts(offer), at))


def release(
    writes: OfferWrites,
    offers: Iterable[Offer],
    reason: ReleaseReason,
    detail: str,
    at: dt.datetime,
) -> None:
    """Release each live offer (in the order given) with `reason`, queueing its
    `jip.placement.released` at `at`; an offer already released is left as it is."""
    for offer in offers:
        if not offer.is_live:
            continue
        offer.state = RELEASED
        writes.update_offer(offer, state=RELEASED, released_reason=reason, released_at=_utc(at))
        row = placement_released_row(_facts(offer), reason, detail, at)
        writes.outbound(offer.round_id, row)


def write_offer_updates(
    connection: Connection, updates: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Write staged column values per (round id, applicant id), one executemany per set of
    columns (a statement per answer was the answers' largest cost). Not PostgreSQL's: there
    `offer_updates_statements` go in the batch's write pipeline."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for (round_id, applicant_id), values in updates.items():
        row = {"b_round": round_id, "b_applicant": applicant_id}
        row.update({f"b_{k}": v for k, v in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(row)
    for columns, rows in groups.items():
        stmt = (
            update(_PLACEMENTS)
            .where(
                _PLACEMENTS.c.round_id == bindparam("b_round"),
                _PLACEMENTS.c.applicant_id == bindparam("b_applicant"),
            )
            .values({c: bindparam(f"b_{c}") for c in columns})
        )
        connection.execute(stmt, rows)


def expire(connection: Connection, program_year: int, at: dt.datetime) -> list[dict[str, Any]]:
    """Release (`expired`) every proposed placement of the year due before `at`; returns their
    release events' outbox rows in placement_id order, each naming its offer's round (the
    caller queues them ahead of its own: services.rounds.runner)."""
    released = connection.execute(
        update(_PLACEMENTS)
        .where(
            _PLACEMENTS.c.program_year == program_year,
            _PLACEMENTS.c.state == PROPOSED,
            _PLACEMENTS.c.respond_by < _utc(at),
        )
        .values(state=RELEASED, released_reason="expired", released_at=_utc(at))
        .returning(*(_PLACEMENTS.c[c] for c in _FACT_COLUMNS))
    ).all()
    detail = "not answered by every required party by its deadline"
    due = sorted((_facts_of(*row) for row in released), key=lambda facts: facts["placement_id"])
    return [
        {"round_id": facts["round_id"]} | placement_released_row(facts, "expired", detail, at)
        for facts in due
    ]


_FACT_COLUMNS = (
    "round_id", "applicant_id", "program_year", "period", "vacancy_id", "company_id", "course"
)  # fmt: skip


_OFFER_COLUMNS = ("state", "accepted_by", "released_reason", "released_at")
"""The columns the lifecycle changes; a staged row leaves the ones it does not set as they are."""


def offer_updates_statements(updates: dict[tuple[str, str], dict[str, Any]]) -> list[Statement]:
    """PostgreSQL: `write_offer_updates` as one statement, with hash and merge joins off: the
    planner hashed every placement of every year to find a batch's few hundred (11 ms for 281
    offers behind 14,000 placements, growing with the year, against 4 ms by key)."""
    return without_plans(_offer_updates_statement(updates), "hashjoin", "mergejoin")


def _offer_updates_statement(updates: dict[tuple[str, str], dict[str, Any]]) -> Statement:
    columns: dict[str, list[str]] = {"r": [], "a": [], **{c: [] for c in _OFFER_COLUMNS}}
    for (round_id, applicant_id), values in updates.items():
        columns["r"].append(round_id)
        columns["a"].append(applicant_id)
        for c in _OFFER_COLUMNS:
            value = values.get(c)
            columns[c].append("" if value is None else _text_of(value))
    sets = ", ".join(f"{c} = COALESCE(t.{c}{_CAST.get(c, '')}, p.{c})" for c in _OFFER_COLUMNS)
    nulls = {c: "" if c in ("r", "a") else ", ''" for c in columns}  # '' is NULL: left as is
    arrays = ", ".join(f"string_to_array(%({c})s, E'\\n'{nulls[c]})" for c in columns)
    return (
        f"UPDATE placements AS p SET {sets} FROM unnest({arrays}) "
        f"AS t(r, a, {', '.join(_OFFER_COLUMNS)}) "
        "WHERE p.round_id = t.r AND p.applicant_id = t.a",
        {c: lines(values) for c, values in columns.items()},
    )


_CAST = {"released_at": "::timestamptz"}


def _text_of(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _facts(offer: Offer) -> dict[str, Any]:
    return _facts_of(
        offer.round_id, offer.applicant_id, offer.program_year, offer.period, offer.vacancy_id,
        offer.company_id, offer.course,
    )  # fmt: skip


def _facts_of(
    round_id: str,
    applicant_id: str,
    program_year: int,
    period: str,
    vacancy_id: str,
    company_id: str | None,
    course: str,
) -> dict[str, Any]:
    """The facts every event about an offer repeats, in the contract's field order.

    They are written into event bodies without a model's validation (`event_body`), so the one
    a stored row may lack is checked here: a placement stored before its company was known (a
    row migration 0005 could not fill) raises, as building the model did, instead of publishing
    an event the contract refuses."""
    if not company_id:
        raise ValueError(f"placement {round_id}/{applicant_id} has no company_id")
    return {
        "placement_id": f"{round_id}/{applicant_id}",
        "round_id": round_id,
        "program_year": program_year,
        "period": period,
        "applicant_id": applicant_id,
        "vacancy_id": vacancy_id,
        "company_id": company_id,
        "course": course,
    }


def _utc(at: dt.datetime) -> dt.datetime:
    """Times are stored in UTC: SQLite keeps a datetime's wall clock and drops its offset."""
    return at.astimezone(dt.UTC)
