"""Outbound payloads (service -> everyone): placements and what became of them, unplaced
applicants, rounds, dead letters.

Imports pydantic and the standard library only.
"""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from contracts._base import Payload
from contracts.vocabulary import (
    CourseCode,
    CourseMode,
    Id,
    Mode,
    Period,
    PlacementId,
    ReasonCode,
    ReleaseReason,
)


def _in_utc(value: dt.datetime) -> dt.datetime:
    if value.utcoffset() != dt.timedelta(0):
        raise ValueError("must be in UTC (offset Z or +00:00)")
    return value


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


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
    respond_by: UtcDatetime | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Deadline for every required party's answer (RFC 3339, UTC): the round "
        "request's time plus the ruleset's response days, at the latest the period's start; "
        "left out when not set",
    )


class _Offer(Payload):
    """The facts of a placement every later event about it repeats."""

    placement_id: PlacementId = Field(description="`<round_id>/<applicant_id>`")
    round_id: Id = Field(description="The round that made the placement")
    program_year: int
    period: Period
    applicant_id: Id
    vacancy_id: Id
    company_id: Id
    course: CourseCode


class PlacementConfirmed(_Offer):
    """Every party the ruleset requires accepted the offer; published once per placement."""


class PlacementReleased(_Offer):
    """The offer or placement ended (terminal); published once per placement."""

    reason: ReleaseReason = Field(
        description="declined_by_host, declined_by_applicant, declined_by_committee, expired, "
        "applicant_withdrawn, vacancy_closed or capacity_reduced"
    )
    detail: str = Field(max_length=500, description="For people: what ended it")


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
    objective: float = Field(
        description="Total rank cost of the placements; mode stable-max: the number of "
        "placements (its first objective)"
    )
    bound: float = Field(
        description="Best proved bound on the objective; mode stable-max: the most placements "
        "any weakly stable matching can make, as far as proved"
    )
    solve_seconds: float = Field(description="Measured solver time: the only non-replayable field")
    placements_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    lottery_seed: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The seed the round's tie-breaking lottery drew with: each applicant's and "
        "vacancy's number is sha256(utf8(lottery_seed + '\\t' + id)) as a big-endian integer, "
        "smaller first (program-rules.md, 'Orders and ranks')",
    )
    stable_placed: int | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Mode stable-max: the placements the lottery-broken stable matching of the "
        "same snapshot makes (placed is never below it)",
    )
    blocking_pairs: int | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Mode optimal: admissible pairs that block its placements under the "
        "lottery-broken orders of mode stable (the stability it gave up)",
    )


class RoundFailed(Payload):
    round_id: str
    reason: str


MAX_DEAD_LETTER_ERRORS = 20
"""A published dead letter lists at most this many errors (`errors_truncated` says if more)."""
MAX_ERROR_TEXT = 200
"""Characters of each error's `loc` and `msg` in a published dead letter."""


class ErrorItem(Payload):
    loc: str = Field(
        max_length=MAX_ERROR_TEXT,
        description="Dotted path of the offending field, e.g. data.date_of_birth (at most 200 "
        "characters)",
    )
    msg: str = Field(max_length=MAX_ERROR_TEXT, description="Why it was rejected (at most 200)")


class DeadLettered(Payload):
    """A rejected inbound event (type `jip.dlq.<original kind>.v2`): what was wrong, and a size
    and digest of the body, never the body itself (it may hold personal data). The full body is
    kept in the service's dead-letter table for operators."""

    original_subject: str = Field(
        max_length=200, description="Subject the body arrived on (jip.unknown when not known)"
    )
    original_id: str | None = Field(
        default=None,
        max_length=256,
        description="CloudEvents id of the rejected event, when the envelope could be read",
    )
    original_source: str | None = Field(
        default=None,
        max_length=256,
        description="CloudEvents source of the rejected event, when the envelope could be read",
    )
    errors: list[ErrorItem] = Field(
        max_length=MAX_DEAD_LETTER_ERRORS,
        description="At most 20 field errors, each loc and msg at most 200 characters",
    )
    errors_truncated: bool = Field(
        default=False, description="True when more errors were found than are listed"
    )
    size_bytes: int = Field(ge=0, description="Size of the rejected body in bytes")
    sha256: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$", description="`sha256:` + hex SHA-256 of the body"
    )
    received_at: dt.datetime = Field(description="When the service received the body")
