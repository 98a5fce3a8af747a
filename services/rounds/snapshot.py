"""A round's snapshot from the tables: applicants not withdrawn, vacancies not closed, the live
placements of the program year and the pairs a decline released. Reads only; imports
sqlalchemy, contracts, matching's snapshot types and services.store.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, or_, select

from contracts import RoundRequested
from matching import EarlierPlacement, Ruleset, Snapshot, applicant_rows, vacancy_rows
from services.rounds.offers import CONFIRMED, DECLINED, PROPOSED, RELEASED
from services.store.tables import ApplicantRow, PlacementRow, VacancyRow, table_of

_APPLICANTS = table_of(ApplicantRow)
_VACANCIES = table_of(VacancyRow)
_PLACEMENTS = table_of(PlacementRow)
_PART = 10_000


def load_snapshot(
    connection: Connection,
    request: RoundRequested,
    ruleset: Ruleset,
    time_limit: float,
    at: dt.datetime | None = None,
    lottery_seed: str | None = None,
) -> Snapshot:
    """Applicants not withdrawn, vacancies not closed, the year's live placements (a proposed
    one due before `at` counts as expired, so a dry run sees what a real run would) and the
    (applicant, vacancy) pairs a decline released this year. Applicants and vacancies come in
    the table's order: the round orders them itself (sorting 300,000 payloads by id in
    PostgreSQL took 0.8 s of a 1.4 s read)."""
    year = request.program_year
    applicants = applicant_rows(
        _payloads(
            connection,
            select(cast(_APPLICANTS.c.payload, Text)).where(
                _APPLICANTS.c.program_year == year, _APPLICANTS.c.withdrawn.is_(False)
            ),
        )
    )
    vacancies = vacancy_rows(
        _payloads(
            connection,
            select(cast(_VACANCIES.c.payload, Text)).where(
                _VACANCIES.c.program_year == year, _VACANCIES.c.closed.is_(False)
            ),
        )
    )
    return Snapshot(
        round_id=request.round_id,
        program_year=year,
        period=request.period,
        mode=request.mode,
        ruleset=ruleset,
        applicants=applicants,
        vacancies=vacancies,
        earlier_placements=_live(connection, year, at),
        time_limit_seconds=time_limit,
        barred_pairs=_declined_pairs(connection, year),
        lottery_seed=lottery_seed,
    )


def _payloads(connection: Connection, query: Any) -> Iterator[str]:
    """The payloads as the JSON text the intake stored and validated, streamed in parts (a
    million payloads' text read at once held about a gigabyte beside the rows); matching parses
    them into lean rows from the text, in Rust (matching.rows). Consume before the next query."""
    result = connection.execute(query, execution_options={"yield_per": _PART})  # this one only
    return (str(p) for p in result.scalars())


def _live(
    connection: Connection, year: int, at: dt.datetime | None
) -> tuple[EarlierPlacement, ...]:
    placements = _PLACEMENTS.c
    proposed = placements.state == PROPOSED
    if at is not None:
        due = at.astimezone(dt.UTC)  # stored in UTC
        proposed = and_(
            proposed, or_(placements.respond_by.is_(None), placements.respond_by >= due)
        )
    rows = connection.execute(
        select(
            placements.round_id,
            placements.applicant_id,
            placements.vacancy_id,
            placements.course,
            placements.state,
        )
        .where(placements.program_year == year, or_(placements.state == CONFIRMED, proposed))
        .order_by(placements.round_id, placements.applicant_id)
    ).all()
    return tuple(
        EarlierPlacement(r.round_id, r.applicant_id, r.vacancy_id, r.course, r.state) for r in rows
    )


def _declined_pairs(connection: Connection, year: int) -> frozenset[tuple[str, str]]:
    placements = _PLACEMENTS.c
    rows = connection.execute(
        select(placements.applicant_id, placements.vacancy_id).where(
            placements.program_year == year,
            placements.state == RELEASED,
            placements.released_reason.startswith(DECLINED, autoescape=True),
        )
    ).all()
    return frozenset((r.applicant_id, r.vacancy_id) for r in rows)
