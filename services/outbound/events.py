"""Outbound CloudEvents with deterministic ids: a round's placements, unplaced applicants and
totals, a failed round, what became of an offer, a dead letter. Imports contracts and matching;
never the database.
"""

import datetime as dt
import hashlib
import re
from typing import Any

from contracts import (
    SERVICE_SOURCE,
    CloudEvent,
    ContractError,
    DeadLettered,
    Kind,
    RoundCompleted,
    RoundFailed,
    RoundRequested,
    dlq_type,
    event_body,
    make_event,
    subject_of,
    subject_of_type,
    to_json_bytes,
)
from contracts.envelope import DEAD_LETTER_ENVELOPE
from contracts.outbound import MAX_DEAD_LETTER_ERRORS, MAX_ERROR_TEXT, ErrorItem
from matching import Placement, RoundResult, Unplaced


def completed_id(round_id: str, dry_run_tag: str | None = None) -> str:
    """`round-completed-<round_id>`; a dry run's ends in `/dry-<tag>` (see `dry_run_tag`)."""
    return f"round-completed-{round_id}" + _dry(dry_run_tag)


def failed_id(round_id: str, dry_run_tag: str | None = None) -> str:
    """`round-failed-<round_id>`; a dry run's ends in `/dry-<tag>` (see `dry_run_tag`)."""
    return f"round-failed-{round_id}" + _dry(dry_run_tag)


def dry_run_tag(source: str, event_id: str) -> str:
    """16 hex digits of the SHA-256 of the dry run's own request (`source`, newline, `id`).

    A dry run uses up no round id (lifecycle.md), so its answer must not take the id a real run
    of that round id will publish (the outbox and the broker drop a repeated id): it is derived
    from the request instead, deterministic for replays, distinct per request. `/` cannot occur
    in a round id, so no real round's id can equal it.
    """
    return hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:16]


def _dry(tag: str | None) -> str:
    return "" if tag is None else f"/dry-{tag}"


def dead_letter_id(body: bytes) -> str:
    """Equal rejected bodies share one id, so a re-delivery is a duplicate downstream."""
    return "dlq-" + hashlib.sha256(body).hexdigest()[:32]


def to_round_rows(
    result: RoundResult,
    request: RoundRequested,
    time: dt.datetime,
    respond_by: dt.datetime | None = None,
    dry_run_tag: str | None = None,
) -> list[dict[str, str]]:
    """The outbox rows (`to_outbox_values`) of a round's events: placement.made by applicant id,
    applicant.unplaced by applicant id, then round.completed. A dry run has round.completed
    only, its id tagged by `dry_run_tag`.

    The placement and unplaced bodies, one per applicant, are written from plain values
    (`contracts.event_body`: the models' bytes without building 100,000 models).
    """
    rows: list[dict[str, str]] = []
    if not request.dry_run:
        due = None if respond_by is None else respond_by.astimezone(dt.UTC)  # as UtcDatetime
        placements = sorted(result.placements, key=lambda p: p.applicant_id)
        rows += [_placement_made(result, p, time, due) for p in placements]
        unplaced = sorted(result.unplaced, key=lambda u: u.applicant_id)
        rows += [_applicant_unplaced(result, u, time) for u in unplaced]
    rows.append(to_outbox_values(_round_completed(result, request, time, dry_run_tag)))
    return rows


def to_outbox_values(event: CloudEvent[Any]) -> dict[str, str]:
    """The outbox row of an event: its subject is its type without the version suffix."""
    return _row(event.id, subject_of_type(event.type), to_json_bytes(event))


def _row(event_id: str, subject: str, body: bytes) -> dict[str, str]:
    return {"event_id": event_id, "subject": subject, "body": body.decode()}


_MADE, _UNPLACED = subject_of(Kind.PLACEMENT_MADE), subject_of(Kind.APPLICANT_UNPLACED)


def _placement_made(
    result: RoundResult, p: Placement, time: dt.datetime, respond_by: dt.datetime | None
) -> dict[str, str]:
    """The row of a `PlacementMade`, its fields in declaration order."""
    data: dict[str, Any] = {
        "placement_id": f"{result.round_id}/{p.applicant_id}",
        "round_id": result.round_id,
        "program_year": result.program_year,
        "period": result.period,
        "applicant_id": p.applicant_id,
        "vacancy_id": p.vacancy_id,
        "company_id": p.company_id,
        "course": p.course,
        "course_mode": p.course_mode,
        "applicant_rank": p.applicant_rank,
        "vacancy_rank": p.vacancy_rank,
    }
    if respond_by is not None:  # left out when None, as the model does
        data["respond_by"] = respond_by
    event_id = f"placement-{result.round_id}-{p.applicant_id}"
    subject = f"applicant/{p.applicant_id}"
    body = event_body(Kind.PLACEMENT_MADE, event_id, data, time, SERVICE_SOURCE, subject)
    return _row(event_id, _MADE, body)


def _applicant_unplaced(result: RoundResult, u: Unplaced, time: dt.datetime) -> dict[str, str]:
    """The row of an `ApplicantUnplaced`, its fields in declaration order."""
    data = {
        "round_id": result.round_id,
        "program_year": result.program_year,
        "period": result.period,
        "applicant_id": u.applicant_id,
        "reasons": [{"code": r.code, "detail": r.detail} for r in u.reasons],
    }
    event_id = f"unplaced-{result.round_id}-{u.applicant_id}"
    subject = f"applicant/{u.applicant_id}"
    body = event_body(Kind.APPLICANT_UNPLACED, event_id, data, time, SERVICE_SOURCE, subject)
    return _row(event_id, _UNPLACED, body)


def _round_completed(
    result: RoundResult, request: RoundRequested, time: dt.datetime, dry_run_tag: str | None
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
        lottery_seed=result.lottery_seed or None,
        stable_placed=result.stable_placed,
        blocking_pairs=result.blocking_pairs,
    )
    round_id = request.round_id
    return make_event(
        Kind.ROUND_COMPLETED,
        completed_id(round_id, dry_run_tag),
        data,
        time,
        SERVICE_SOURCE,
        f"round/{round_id}",
    )


def to_round_failed(
    round_id: str, reason: str, time: dt.datetime, dry_run_tag: str | None = None
) -> CloudEvent[Any]:
    data = RoundFailed(round_id=round_id, reason=reason)
    event_id = failed_id(round_id, dry_run_tag)
    return make_event(Kind.ROUND_FAILED, event_id, data, time, SERVICE_SOURCE, f"round/{round_id}")


def placement_confirmed_row(facts: dict[str, Any], time: dt.datetime) -> dict[str, str]:
    """The outbox row of `jip.placement.confirmed`, id `<placement_id>/confirmed`, at the
    causing event's time; `facts` are the offer's (`PlacementConfirmed`'s fields, in order)."""
    return _offer_row(Kind.PLACEMENT_CONFIRMED, "confirmed", facts, time)


def placement_released_row(
    facts: dict[str, Any], reason: str, detail: str, time: dt.datetime
) -> dict[str, str]:
    """The outbox row of `jip.placement.released`, id `<placement_id>/released`, at the causing
    event's time; `facts` are the offer's (`PlacementReleased`'s fields before `reason`)."""
    data = {**facts, "reason": reason, "detail": detail}
    return _offer_row(Kind.PLACEMENT_RELEASED, "released", data, time)


_OFFER_SUBJECTS = {k: subject_of(k) for k in (Kind.PLACEMENT_CONFIRMED, Kind.PLACEMENT_RELEASED)}


def _offer_row(kind: Kind, ending: str, data: dict[str, Any], time: dt.datetime) -> dict[str, str]:
    """An offer's event from plain values (`contracts.event_body`): the expiry of a year's
    unanswered offers and every batch of answers write thousands, where building and validating
    each model cost about as much as the rest of writing them. The values are the stored offer's,
    written by a round from validated events; tests/unit/test_event_body.py holds the bytes equal
    to the models'."""
    event_id = f"{data['placement_id']}/{ending}"
    subject = f"applicant/{data['applicant_id']}"
    body = event_body(kind, event_id, data, time, SERVICE_SOURCE, subject)
    return _row(event_id, _OFFER_SUBJECTS[kind], body)


def raw_text(body: bytes) -> str:
    """The body as text: invalid UTF-8 and NUL (which PostgreSQL text cannot hold) become U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def to_dead_lettered(
    error: ContractError, body: bytes, received_at: dt.datetime
) -> CloudEvent[Any]:
    """The `jip.dlq.<kind>.v2` event of a rejected body: its errors (bounded), the original
    subject, id and source, the body's size and SHA-256, and no part of the body itself, so it
    stays far below the broker's maximum payload whatever was sent (at most about 50 KB)."""
    listed = error.errors[:MAX_DEAD_LETTER_ERRORS]
    data = DeadLettered(
        original_subject=bounded_text(error.subject, 200),
        original_id=_bounded_or_none(error.original_id, 256),
        original_source=_bounded_or_none(error.original_source, 256),
        errors=[ErrorItem(loc=bounded_text(e.loc), msg=bounded_text(e.msg)) for e in listed],
        errors_truncated=len(error.errors) > len(listed),
        size_bytes=len(body),
        sha256="sha256:" + hashlib.sha256(body).hexdigest(),
        received_at=received_at,
    )
    return DEAD_LETTER_ENVELOPE(
        specversion="1.0",
        id=dead_letter_id(body),
        source=SERVICE_SOURCE,
        type=dlq_type(error.subject),
        time=received_at,
        datacontenttype="application/json",
        data=data,
    )


def bounded_text(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """At most `limit` characters of `text`, NUL and lone surrogates (which neither UTF-8 nor
    PostgreSQL text can hold) replaced by U+FFFD; cut text ends in an ellipsis."""
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return _UNSTORABLE.sub("\ufffd", text)


def _bounded_or_none(text: str | None, limit: int) -> str | None:
    return None if text is None else bounded_text(text, limit)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
