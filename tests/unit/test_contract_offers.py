"""The contract of offers (lifecycle.md): `placement.responded` in, `placement.confirmed` and
`placement.released` out, `respond_by` on `placement.made`; a malformed body names its field.

Imports contracts and jsonschema only.
"""

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from contracts import (
    ContractError,
    Kind,
    PlacementMade,
    PlacementReleased,
    make_event,
    parse_event,
    subject_of,
    to_json_bytes,
    type_of,
)
from contracts.envelope import reference_json_bytes
from contracts.schema import json_schemas

T = dt.datetime(2023, 4, 10, 1, 0, tzinfo=dt.UTC)
ANSWER = {"placement_id": "2023-summer-1/A-000123", "party": "applicant", "decision": "declined"}
OFFER = {
    "placement_id": "2023-summer-1/A-000123",
    "round_id": "2023-summer-1",
    "program_year": 2023,
    "period": "summer",
    "applicant_id": "A-000123",
    "vacancy_id": "V-0007",
    "company_id": "C-077",
    "course": "B",
}
MADE = {**OFFER, "course_mode": "online", "applicant_rank": None, "vacancy_rank": 2}


def _body(kind: Kind, data: dict[str, Any], source: str = "/applicant-portal") -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "evt-1",
            "source": source,
            "type": type_of(kind),
            "time": "2023-04-20T09:00:00+09:00",
            "datacontenttype": "application/json",
            "data": data,
        }
    )


def _rejected_on(kind: Kind, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ContractError) as error:
        parse_event(_body(kind, data), subject_of(kind))
    return [e.loc for e in error.value.errors]


def test_an_answer_without_a_reason_is_valid_and_reads_back() -> None:
    event = parse_event(_body(Kind.PLACEMENT_RESPONDED, ANSWER), "jip.placement.responded")
    assert event.kind is Kind.PLACEMENT_RESPONDED
    assert (event.data.party, event.data.decision, event.data.reason) == (
        "applicant",
        "declined",
        None,
    )


def test_an_answer_reason_of_500_characters_passes_and_501_is_refused() -> None:
    event = parse_event(_body(Kind.PLACEMENT_RESPONDED, {**ANSWER, "reason": "r" * 500}))
    assert len(event.data.reason) == 500
    assert _rejected_on(Kind.PLACEMENT_RESPONDED, {**ANSWER, "reason": "r" * 501}) == [
        "data.reason"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("party", "operator"),
        ("party", "Host"),
        ("decision", "maybe"),
        ("decision", True),
        ("placement_id", "A-000123"),
        ("placement_id", "2023-summer-1/A 1"),
        ("placement_id", "a/b/c"),
        ("placement_id", "2023-summer-1/" + "A" * 65),
        ("reason", 7),
    ],
)
def test_a_malformed_answer_names_its_field(field: str, value: Any) -> None:
    assert _rejected_on(Kind.PLACEMENT_RESPONDED, {**ANSWER, field: value}) == [f"data.{field}"]


@pytest.mark.parametrize("field", ["placement_id", "party", "decision"])
def test_an_answer_missing_a_required_field_names_it(field: str) -> None:
    data = {k: v for k, v in ANSWER.items() if k != field}
    assert _rejected_on(Kind.PLACEMENT_RESPONDED, data) == [f"data.{field}"]


def test_an_answer_on_the_subject_of_another_kind_is_refused_on_type() -> None:
    with pytest.raises(ContractError) as error:
        parse_event(_body(Kind.PLACEMENT_RESPONDED, ANSWER), subject_of(Kind.VACANCY_CLOSED))
    assert [e.loc for e in error.value.errors] == ["type"]


@pytest.mark.parametrize(
    "reason",
    [
        "declined_by_host",
        "declined_by_applicant",
        "declined_by_committee",
        "expired",
        "applicant_withdrawn",
        "vacancy_closed",
        "capacity_reduced",
    ],
)
def test_every_release_reason_of_lifecycle_md_is_valid(reason: str) -> None:
    data = {**OFFER, "reason": reason, "detail": "why"}
    event = parse_event(_body(Kind.PLACEMENT_RELEASED, data, "/intern-match"))
    assert event.data.reason == reason
    jsonschema.validate(json.loads(to_json_bytes(event)), json_schemas()[type_of(event.kind)])


def test_a_release_with_another_reason_or_no_reason_or_a_long_detail_is_refused() -> None:
    released = Kind.PLACEMENT_RELEASED
    assert _rejected_on(released, {**OFFER, "reason": "declined", "detail": ""}) == ["data.reason"]
    assert _rejected_on(released, {**OFFER, "detail": ""}) == ["data.reason"]
    too_long = {**OFFER, "reason": "expired", "detail": "d" * 501}
    assert _rejected_on(released, too_long) == ["data.detail"]


def test_a_confirmation_carries_the_offer_and_no_reason() -> None:
    event = parse_event(_body(Kind.PLACEMENT_CONFIRMED, OFFER, "/intern-match"))
    assert event.data.model_dump(mode="json") == OFFER
    schema = json_schemas()[type_of(Kind.PLACEMENT_CONFIRMED)]
    assert "reason" not in schema["$defs"]["PlacementConfirmed"]["properties"]
    released = json_schemas()[type_of(Kind.PLACEMENT_RELEASED)]["$defs"]["PlacementReleased"]
    assert {"reason", "detail"} <= set(released["required"])


def test_a_placement_made_without_respond_by_keeps_its_bytes() -> None:
    """An optional field added to v1 changes no body that does not set it."""
    event = make_event(Kind.PLACEMENT_MADE, "p", PlacementMade(**MADE), T, "/intern-match", None)
    for written in (to_json_bytes(event), reference_json_bytes(event)):
        assert b"respond_by" not in written
        assert json.loads(written)["data"] == MADE


def test_respond_by_is_written_in_utc_with_z_and_reads_back() -> None:
    deadline = dt.datetime(2023, 5, 14, 15, 0, tzinfo=dt.UTC)
    data = PlacementMade(**MADE, respond_by=deadline)
    event = make_event(Kind.PLACEMENT_MADE, "p", data, T, "/intern-match", None)
    body = to_json_bytes(event)
    assert json.loads(body)["data"]["respond_by"] == "2023-05-14T15:00:00Z"
    assert body == reference_json_bytes(event)
    assert parse_event(body, "jip.placement.made").data.respond_by == deadline
    jsonschema.validate(json.loads(body), json_schemas()[type_of(Kind.PLACEMENT_MADE)])


@pytest.mark.parametrize(
    "value", ["2023-05-15T00:00:00+09:00", "2023-05-14T15:00:00", "2023-05-14", "soon", 1684076400]
)
def test_respond_by_that_is_not_an_rfc3339_utc_time_is_refused(value: Any) -> None:
    assert _rejected_on(Kind.PLACEMENT_MADE, {**MADE, "respond_by": value}) == ["data.respond_by"]


def test_a_release_model_refuses_a_detail_over_500_characters_when_built() -> None:
    with pytest.raises(ValueError, match="detail"):
        PlacementReleased(**OFFER, reason="expired", detail="d" * 501)  # type: ignore[arg-type]
