"""Outbound CloudEvents with deterministic ids: a round's placements, unplaced applicants and
totals, a failed round, a dead letter. Imports contracts and matching.snapshot; never the database.
"""

import datetime as dt
import hashlib
from typing import Any

from contracts import (
    SERVICE_SOURCE,
    ApplicantUnplaced,
    CloudEvent,
    ContractError,
    DeadLettered,
    Kind,
    PlacementMade,
    Reason,
    RoundCompleted,
    RoundFailed,
    RoundRequested,
    dlq_subject,
    make_event,
)
from contracts.envelope import DEAD_LETTER_ENVELOPE
from contracts.outbound import ErrorItem
from contracts.subjects import MAX_BODY_BYTES, TYPE_VERSION
from matching.snapshot import RoundResult


def completed_id(round_id: str) -> str:
    return f"round-completed-{round_id}"


def failed_id(round_id: str) -> str:
    return f"round-failed-{round_id}"


def dead_letter_id(body: bytes) -> str:
    """Equal rejected bodies share one id, so a re-delivery is a duplicate downstream."""
    return "dlq-" + hashlib.sha256(body).hexdigest()[:32]


def to_round_events(
    result: RoundResult, request: RoundRequested, time: dt.datetime
) -> list[CloudEvent[Any]]:
    """placement.made by applicant id, applicant.unplaced by applicant id, then round.completed.

    A dry run publishes round.completed only.
    """
    events: list[CloudEvent[Any]] = []
    if not request.dry_run:
        placements = sorted(result.placements, key=lambda p: p.applicant_id)
        events += [_placement_made(result, p, time) for p in placements]
        unplaced = sorted(result.unplaced, key=lambda u: u.applicant_id)
        events += [_applicant_unplaced(result, u, time) for u in unplaced]
    events.append(_round_completed(result, request, time))
    return events


def _placement_made(result: RoundResult, p: Any, time: dt.datetime) -> CloudEvent[Any]:
    data = PlacementMade(
        placement_id=f"{result.round_id}/{p.applicant_id}",
        round_id=result.round_id,
        program_year=result.program_year,
        period=result.period,  # type: ignore[arg-type]
        applicant_id=p.applicant_id,
        vacancy_id=p.vacancy_id,
        company_id=p.company_id,
        course=p.course,
        course_mode=p.course_mode,
        applicant_rank=p.applicant_rank,
        vacancy_rank=p.vacancy_rank,
    )
    event_id = f"placement-{result.round_id}-{p.applicant_id}"
    return make_event(
        Kind.PLACEMENT_MADE, event_id, data, time, SERVICE_SOURCE, f"applicant/{p.applicant_id}"
    )


def _applicant_unplaced(result: RoundResult, u: Any, time: dt.datetime) -> CloudEvent[Any]:
    data = ApplicantUnplaced(
        round_id=result.round_id,
        program_year=result.program_year,
        period=result.period,  # type: ignore[arg-type]
        applicant_id=u.applicant_id,
        reasons=[Reason(code=r.code, detail=r.detail) for r in u.reasons],
    )
    event_id = f"unplaced-{result.round_id}-{u.applicant_id}"
    return make_event(
        Kind.APPLICANT_UNPLACED, event_id, data, time, SERVICE_SOURCE, f"applicant/{u.applicant_id}"
    )


def _round_completed(
    result: RoundResult, request: RoundRequested, time: dt.datetime
) -> CloudEvent[Any]:
    data = RoundCompleted(
        round_id=request.round_id,
        program_year=request.program_year,
        period=request.period,
        mode=request.mode,
        dry_run=request.dry_run,
        applicants=result.applicants,
        eligible=result.eligible,
        placed=len(result.placements),
        unplaced=len(result.unplaced),
        vacancies=result.vacancies,
        slots=result.slots,
        slots_filled=len(result.placements),
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        solve_seconds=result.solve_seconds,
        placements_digest=result.placements_digest,
    )
    round_id = request.round_id
    return make_event(
        Kind.ROUND_COMPLETED,
        completed_id(round_id),
        data,
        time,
        SERVICE_SOURCE,
        f"round/{round_id}",
    )


def to_round_failed(round_id: str, reason: str, time: dt.datetime) -> CloudEvent[Any]:
    data = RoundFailed(round_id=round_id, reason=reason)
    return make_event(
        Kind.ROUND_FAILED, failed_id(round_id), data, time, SERVICE_SOURCE, f"round/{round_id}"
    )


def raw_text(body: bytes) -> str:
    """The body as text: invalid UTF-8 and NUL (which PostgreSQL text cannot hold) become U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def to_dead_lettered(
    error: ContractError, body: bytes, received_at: dt.datetime
) -> CloudEvent[Any]:
    """The `jip.dlq.<kind>` event of a rejected body; `raw` is cut at the contract's body limit."""
    subject = dlq_subject(error.subject)
    data = DeadLettered(
        original_subject=error.subject,
        original_id=error.original_id,
        errors=[ErrorItem(loc=e.loc, msg=e.msg) for e in error.errors],
        raw=raw_text(body[:MAX_BODY_BYTES]),
        received_at=received_at,
    )
    return DEAD_LETTER_ENVELOPE(
        specversion="1.0",
        id=dead_letter_id(body),
        source=SERVICE_SOURCE,
        type=subject + TYPE_VERSION,
        time=received_at,
        datacontenttype="application/json",
        data=data,
    )
