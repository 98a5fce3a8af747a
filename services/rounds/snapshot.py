"""A round's snapshot from the tables: applicants not withdrawn, vacancies not closed, and the
earlier placements of the program year. Reads only; imports sqlalchemy, contracts, matching's
snapshot types and services.store.
"""

from sqlalchemy import Connection, select

from contracts import ApplicantRegistered, RoundRequested, VacancyPosted
from matching import EarlierPlacement, Ruleset, Snapshot
from services.store.tables import ApplicantRow, PlacementRow, VacancyRow, table_of

_APPLICANTS = table_of(ApplicantRow)
_VACANCIES = table_of(VacancyRow)
_PLACEMENTS = table_of(PlacementRow)


def load_snapshot(
    connection: Connection, request: RoundRequested, ruleset: Ruleset, time_limit: float
) -> Snapshot:
    """Applicants not withdrawn, vacancies not closed, and earlier placements of the year."""
    year = request.program_year
    applicants = connection.execute(
        select(_APPLICANTS.c.payload)
        .where(_APPLICANTS.c.program_year == year, _APPLICANTS.c.withdrawn.is_(False))
        .order_by(_APPLICANTS.c.applicant_id)
    ).scalars()
    vacancies = connection.execute(
        select(_VACANCIES.c.payload)
        .where(_VACANCIES.c.program_year == year, _VACANCIES.c.closed.is_(False))
        .order_by(_VACANCIES.c.vacancy_id)
    ).scalars()
    earlier = connection.execute(
        select(_PLACEMENTS)
        .where(_PLACEMENTS.c.program_year == year)
        .order_by(_PLACEMENTS.c.round_id, _PLACEMENTS.c.applicant_id)
    ).all()
    return Snapshot(
        round_id=request.round_id,
        program_year=year,
        period=request.period,
        mode=request.mode,
        ruleset=ruleset,
        applicants=tuple(ApplicantRegistered.model_validate(p, strict=False) for p in applicants),
        vacancies=tuple(VacancyPosted.model_validate(p, strict=False) for p in vacancies),
        earlier_placements=tuple(
            EarlierPlacement(r.round_id, r.applicant_id, r.vacancy_id, r.course) for r in earlier
        ),
        time_limit_seconds=time_limit,
    )
