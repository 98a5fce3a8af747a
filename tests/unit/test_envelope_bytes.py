"""Event bodies are the same bytes whichever serializer writes them: pydantic's for payloads
without floats, the standard library's for the rest (contracts.envelope.to_json_bytes)."""

import datetime as dt
import json
import random
from typing import Annotated

from pydantic import BaseModel, Field

from contracts import (
    ApplicantUnplaced,
    Kind,
    PlacementMade,
    Reason,
    RoundCompleted,
    RoundFailed,
    make_event,
    to_json_bytes,
)
from contracts.envelope import FLOAT_FREE, PAYLOADS, holds_float, reference_json_bytes

T = dt.datetime(2023, 5, 1, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=9)))
ALPHABET = [chr(c) for c in range(0x250)] + [
    "\u2028", "\u2029", "\ufeff", "\ud7ff", "\ue000", "\U0001f600", "\u65e5", "\\", '"', "/",
]  # fmt: skip


def _text(rnd: random.Random) -> str:
    return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 40)))


def test_floats_are_found_at_any_depth():
    class Inner(BaseModel):
        at: tuple[Annotated[float, Field(ge=0)], ...] | None = None

    class Outer(BaseModel):
        inner: list[Inner]

    assert holds_float(Outer) and holds_float(RoundCompleted)
    assert not holds_float(PlacementMade) and not holds_float(ApplicantUnplaced)
    assert {p.__name__ for p in set(PAYLOADS.values()) - FLOAT_FREE} == {
        "ApplicantRegistered",
        "VacancyPosted",
        "RoundCompleted",
    }


def test_float_free_events_are_written_byte_for_byte_as_the_reference():
    rnd = random.Random(20231)
    for n in range(3_000):
        subject = None if n % 3 == 0 else f"applicant/{_text(rnd)}"
        unplaced = ApplicantUnplaced(
            round_id="R-1",
            program_year=2023,
            period="summer",
            applicant_id=f"A-{n}",
            reasons=[Reason(code="outranked", detail=_text(rnd)) for _ in range(2)],
        )
        failed = RoundFailed(round_id=_text(rnd), reason=_text(rnd))
        made = PlacementMade(
            placement_id=f"R-1/A-{n}", round_id="R-1", program_year=2023, period="winter",
            applicant_id=f"A-{n}", vacancy_id="V-1", company_id="C-1", course="A2",
            course_mode="online", applicant_rank=None if n % 2 else n, vacancy_rank=3,
        )  # fmt: skip
        for kind, data in (
            (Kind.APPLICANT_UNPLACED, unplaced),
            (Kind.ROUND_FAILED, failed),
            (Kind.PLACEMENT_MADE, made),
        ):
            event = make_event(kind, f"e-{n}", data, T, "/intern-match", subject)
            body = to_json_bytes(event)
            assert body == reference_json_bytes(event), (kind, body)
            assert ("subject" in json.loads(body)) == (subject is not None)


def test_floats_keep_pythons_notation():
    completed = RoundCompleted(
        round_id="R-1", program_year=2023, period="summer", mode="optimal", dry_run=False,
        applicants=1, eligible=1, placed=1, unplaced=0, vacancies=1, slots=1, slots_filled=1,
        status="optimal", objective=1e16, bound=1e16, solve_seconds=1e-07,
        placements_digest="sha256:" + "0" * 64,
    )  # fmt: skip
    body = to_json_bytes(make_event(Kind.ROUND_COMPLETED, "c", completed, T, "/im", None))
    assert b'"solve_seconds":1e-07' in body and b'"objective":1e+16' in body
