"""Inbound event bodies and a deterministic stand-in solver for the service tests.

Imports contracts and matching only; no database.
"""

import datetime as dt
import hashlib
from typing import Any

from contracts import (
    ApplicantWithdrawn,
    Kind,
    PlacementResponded,
    RoundRequested,
    VacancyClosed,
    make_event,
    to_json_bytes,
)
from matching.snapshot import Placement, RoundResult, Snapshot, Unplaced, UnplacedReason
from tests.support.factories import YEAR, applicant, vacancy

T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
SUMMER = {"A", "B", "C"}
RECEIVED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)  # the intake's clock in the tests


def body(
    kind: Kind, data: Any, event_id: str, source: str = "/test", at: dt.datetime | None = None
) -> bytes:
    """An event at `at`, by default T0 plus a few minutes derived from its id."""
    time = at or T0 + dt.timedelta(seconds=sum(map(ord, event_id)))
    return to_json_bytes(make_event(kind, event_id, data, time, source, None))


def registered(
    applicant_id: str, version: int = 1, event_id: str | None = None, **kw: Any
) -> bytes:
    data = applicant(applicant_id, version=version, **kw)
    event_id = event_id or f"reg-{applicant_id}-{version}"
    return body(Kind.APPLICANT_REGISTERED, data, event_id, "/applicant-portal")


def withdrawn(
    applicant_id: str, version: int, event_id: str | None = None, at: dt.datetime | None = None
) -> bytes:
    data = ApplicantWithdrawn(applicant_id=applicant_id, version=version)
    event_id = event_id or f"wd-{applicant_id}-{version}"
    return body(Kind.APPLICANT_WITHDRAWN, data, event_id, "/applicant-portal", at)


def posted(
    vacancy_id: str,
    version: int = 1,
    capacity: int = 1,
    at: dt.datetime | None = None,
    **kw: Any,
) -> bytes:
    kw.setdefault("slots", [{"course": "B", "capacity": capacity}])
    data = vacancy(vacancy_id, version=version, **kw)
    return body(Kind.VACANCY_POSTED, data, f"post-{vacancy_id}-{version}", "/sme", at)


def closed(vacancy_id: str, version: int, at: dt.datetime | None = None) -> bytes:
    data = VacancyClosed(vacancy_id=vacancy_id, version=version)
    return body(Kind.VACANCY_CLOSED, data, f"close-{vacancy_id}-{version}", "/sme", at)


def round_requested(
    round_id: str,
    year: int = YEAR,
    event_id: str | None = None,
    at: dt.datetime | None = None,
    source: str = "/scheduler",
    **kw: Any,
) -> bytes:
    data = RoundRequested(round_id=round_id, program_year=year, period="summer", **kw)
    return body(Kind.ROUND_REQUESTED, data, event_id or f"rr-{round_id}", source, at)


def responded(
    placement_id: str,
    party: str = "host",
    decision: str = "accepted",
    event_id: str | None = None,
    source: str = "/sme",
    at: dt.datetime | None = None,
) -> bytes:
    data = PlacementResponded.model_validate(
        {"placement_id": placement_id, "party": party, "decision": decision}
    )
    event_id = event_id or f"answer-{placement_id.replace('/', '-')}-{party}-{decision}"
    return body(Kind.PLACEMENT_RESPONDED, data, event_id, source, at)


class GreedySolver:
    """Stand-in for matching.round.run_round: applicants by id take the first free seat by
    vacancy id among their summer courses; records every snapshot it was given."""

    def __init__(self) -> None:
        self.seen: list[Snapshot] = []

    def __call__(self, snapshot: Snapshot) -> RoundResult:
        self.seen.append(snapshot)
        taken = {p.applicant_id for p in snapshot.earlier_placements}
        left = {}
        for v in sorted(snapshot.vacancies, key=lambda v: v.vacancy_id):
            for s in v.slots:
                used = sum(
                    1
                    for p in snapshot.earlier_placements
                    if (p.vacancy_id, p.course) == (v.vacancy_id, s.course)
                )
                left[(v.vacancy_id, s.course)] = [s.capacity - used, v.company.company_id]
        placements, unplaced = [], []
        for a in sorted(snapshot.applicants, key=lambda a: a.applicant_id):
            seat = next(
                (k for k in left if left[k][0] > 0 and k[1] in a.courses and k[1] in SUMMER),
                None,
            )
            if a.applicant_id in taken or seat is None:
                code = "already_placed" if a.applicant_id in taken else "outranked"
                unplaced.append(Unplaced(a.applicant_id, (UnplacedReason(code, "stand-in"),)))
                continue
            left[seat][0] -= 1
            placements.append(
                Placement(a.applicant_id, seat[0], left[seat][1], seat[1], "online", None, None)
            )
        return _result(snapshot, placements, unplaced, len(left))


def _result(snapshot: Snapshot, placements: list, unplaced: list, slots: int) -> RoundResult:
    lines = "".join(f"{p.applicant_id}\t{p.vacancy_id}\t{p.course}\n" for p in placements)
    return RoundResult(
        round_id=snapshot.round_id,
        program_year=snapshot.program_year,
        period=snapshot.period,
        mode=snapshot.mode,
        placements=tuple(placements),
        unplaced=tuple(unplaced),
        applicants=len(snapshot.applicants),
        eligible=len(snapshot.applicants),
        vacancies=len(snapshot.vacancies),
        slots=slots,
        status="optimal",
        objective=float(len(placements)),
        bound=float(len(placements)),
        solve_seconds=0.01,
        placements_digest="sha256:" + hashlib.sha256(lines.encode()).hexdigest(),
    )
