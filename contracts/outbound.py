"""Outbound payloads (service -> everyone): placements, unplaced applicants, rounds, dead letters.

Imports pydantic and the standard library only.
"""

import datetime as dt

from pydantic import Field

from contracts._base import Payload
from contracts.vocabulary import CourseCode, CourseMode, Id, Mode, Period, ReasonCode


class PlacementMade(Payload):
    placement_id: str = Field(description="`<round_id>/<applicant_id>`")
    round_id: Id
    program_year: int
    period: Period
    applicant_id: Id
    vacancy_id: Id
    company_id: Id
    course: CourseCode
    course_mode: CourseMode
    applicant_rank: int | None = Field(
        description="1-based position of the vacancy in the applicant's stated list; null if none"
    )
    vacancy_rank: int | None = Field(
        description="1-based position of the applicant in the vacancy's stated list; null if none"
    )


class Reason(Payload):
    code: ReasonCode
    detail: str = Field(description="For people: the applicant's own fact and the rule")


class ApplicantUnplaced(Payload):
    round_id: Id
    program_year: int
    period: Period
    applicant_id: Id
    reasons: list[Reason] = Field(min_length=1)


class RoundCompleted(Payload):
    round_id: Id
    program_year: int
    period: Period
    mode: Mode
    dry_run: bool
    applicants: int
    eligible: int
    placed: int
    unplaced: int
    vacancies: int
    slots: int
    slots_filled: int
    status: str = Field(pattern=r"^(optimal|feasible|infeasible)$")
    objective: float
    bound: float
    solve_seconds: float = Field(description="Measured solver time: the only non-replayable field")
    placements_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


class RoundFailed(Payload):
    round_id: str
    reason: str


class ErrorItem(Payload):
    loc: str = Field(description="Dotted path of the offending field, e.g. data.date_of_birth")
    msg: str


class DeadLettered(Payload):
    original_subject: str
    original_id: str | None = Field(description="CloudEvents id of the rejected event, if readable")
    errors: list[ErrorItem]
    raw: str = Field(description="The original body, as text")
    received_at: dt.datetime
