"""A round's placement and unplaced events are written from plain values (`event_body`, issue
17), not models: their bytes, ids and subjects must equal what the validated models give, for
generated rounds, event times at any offset, deadlines at any offset or none, and any reason
text."""

import datetime as dt
import string
import typing

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    SERVICE_SOURCE,
    ApplicantUnplaced,
    Kind,
    PlacementConfirmed,
    PlacementMade,
    PlacementReleased,
    Reason,
    ReleaseReason,
    RoundRequested,
    event_body,
    make_event,
    subject_of,
    to_json_bytes,
)
from matching import run_round
from services.outbound.events import (
    placement_confirmed_row,
    placement_released_row,
    to_outbox_values,
    to_round_rows,
)
from tests.unit.test_round_properties import FAST, program_years

OFFSETS = st.sampled_from([0, 9 * 60, -(5 * 60 + 30), 14 * 60, -12 * 60]).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
TIMES = st.builds(
    lambda at, tz: at.replace(tzinfo=dt.UTC).astimezone(tz),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)),
    OFFSETS,
)


def model_rows(result, request, time, respond_by):
    """The reference: the rows of the models the contract defines, validated, one by one (a
    deadline is published in UTC: the model refuses any other offset)."""
    respond_by = None if respond_by is None else respond_by.astimezone(dt.UTC)
    rows = []
    for p in sorted(result.placements, key=lambda p: p.applicant_id):
        data = PlacementMade(
            placement_id=f"{result.round_id}/{p.applicant_id}",
            round_id=result.round_id,
            program_year=result.program_year,
            period=result.period,
            applicant_id=p.applicant_id,
            vacancy_id=p.vacancy_id,
            company_id=p.company_id,
            course=p.course,
            course_mode=p.course_mode,
            applicant_rank=p.applicant_rank,
            vacancy_rank=p.vacancy_rank,
            respond_by=respond_by,
        )
        event_id = f"placement-{result.round_id}-{p.applicant_id}"
        event = make_event(
            Kind.PLACEMENT_MADE, event_id, data, time, SERVICE_SOURCE, f"applicant/{p.applicant_id}"
        )
        rows.append((event_id, subject_of(Kind.PLACEMENT_MADE), to_json_bytes(event).decode()))
    for u in sorted(result.unplaced, key=lambda u: u.applicant_id):
        data = ApplicantUnplaced(
            round_id=result.round_id,
            program_year=result.program_year,
            period=result.period,
            applicant_id=u.applicant_id,
            reasons=[Reason(code=r.code, detail=r.detail) for r in u.reasons],
        )
        event_id = f"unplaced-{result.round_id}-{u.applicant_id}"
        event = make_event(
            Kind.APPLICANT_UNPLACED,
            event_id,
            data,
            time,
            SERVICE_SOURCE,
            f"applicant/{u.applicant_id}",
        )
        rows.append((event_id, subject_of(Kind.APPLICANT_UNPLACED), to_json_bytes(event).decode()))
    return rows


@FAST
@given(program_years(), TIMES, st.one_of(st.none(), TIMES))
def test_round_rows_equal_the_models_rows(snap, time, respond_by):
    result = run_round(snap)
    request = RoundRequested(
        round_id=snap.round_id, program_year=snap.program_year, period=snap.period
    )
    rows = to_round_rows(result, request, time, respond_by)
    got = [(r["event_id"], r["subject"], r["body"]) for r in rows[:-1]]
    assert got == model_rows(result, request, time, respond_by)
    assert rows[-1]["event_id"] == f"round-completed-{snap.round_id}"
    assert len(rows) == len(snap.applicants) + 1


IDS = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(
    IDS,
    IDS,
    TIMES,
    st.lists(
        st.tuples(st.sampled_from(["outranked", "no_eligible_vacancy"]), st.text(max_size=80)),
        min_size=1,
        max_size=3,
    ),
)
def test_any_reason_text_is_written_as_the_model_writes_it(round_id, applicant_id, time, reasons):
    """Details are text for people (quotes, backslashes, control characters, any script): the
    plain-value body escapes them as the model's serializer does."""
    data = ApplicantUnplaced(
        round_id=round_id,
        program_year=2023,
        period="summer",
        applicant_id=applicant_id,
        reasons=[Reason(code=code, detail=detail) for code, detail in reasons],
    )
    subject = f"applicant/{applicant_id}"
    model = make_event(Kind.APPLICANT_UNPLACED, "u-1", data, time, SERVICE_SOURCE, subject)
    plain = {
        "round_id": round_id,
        "program_year": 2023,
        "period": "summer",
        "applicant_id": applicant_id,
        "reasons": [{"code": code, "detail": detail} for code, detail in reasons],
    }
    body = event_body(Kind.APPLICANT_UNPLACED, "u-1", plain, time, SERVICE_SOURCE, subject)
    assert body == to_json_bytes(model)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "round_id": IDS,
            "applicant_id": IDS,
            "program_year": st.integers(2000, 2099),
            "period": st.sampled_from(["summer", "winter"]),
            "vacancy_id": IDS,
            "company_id": IDS,
            "course": st.sampled_from(["A", "A2", "B", "B2", "C"]),
        }
    ),
    st.sampled_from(typing.get_args(ReleaseReason)),
    st.text(max_size=500),
    TIMES,
)
def test_offer_rows_equal_the_models_rows(offer, reason, detail, time):
    """An offer's confirmation and release (every answer batch's, every expiry's) are written
    from the stored offer's values: ids, subjects and bytes as the validated models give, for
    any release detail and event times at any offset."""
    facts = {"placement_id": f"{offer['round_id']}/{offer['applicant_id']}", **offer}
    facts = {field: facts[field] for field in PlacementConfirmed.model_fields}  # contract order
    subject = f"applicant/{offer['applicant_id']}"
    confirmed = make_event(
        Kind.PLACEMENT_CONFIRMED,
        f"{facts['placement_id']}/confirmed",
        PlacementConfirmed(**facts),
        time,
        SERVICE_SOURCE,
        subject,
    )
    released = make_event(
        Kind.PLACEMENT_RELEASED,
        f"{facts['placement_id']}/released",
        PlacementReleased(**facts, reason=reason, detail=detail),
        time,
        SERVICE_SOURCE,
        subject,
    )
    assert placement_confirmed_row(facts, time) == to_outbox_values(confirmed)
    assert placement_released_row(facts, reason, detail, time) == to_outbox_values(released)


def test_an_offer_stored_without_its_company_writes_no_event():
    """A placement row from before companies were stored (migration 0005 left it NULL where the
    vacancy was unknown): the model refused it, so must the plain-value path, rather than
    publish `"company_id": ""`, which the contract forbids."""
    import pytest

    from services.rounds.offers import _facts_of

    with pytest.raises(ValueError, match="R-1/A-1 has no company_id"):
        _facts_of("R-1", "A-1", 2023, "summer", "V-1", None, "A")
    assert _facts_of("R-1", "A-1", 2023, "summer", "V-1", "C-1", "A")["company_id"] == "C-1"
