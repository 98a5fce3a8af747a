"""Every JSON example of contract.md and lifecycle.md, wrapped in its envelope, is a valid event
of contract v1.

Imports contracts only; the examples are copied verbatim from /work/shared/design/contract.md and
lifecycle.md (whose one outbound example stands for both kinds: `reason` and `detail` on
`released` only).
"""
# ruff: noqa: E501  -- the examples keep contract.md's line breaks, verbatim

import json
from typing import Any

import jsonschema
import pytest

from contracts import Kind, parse_event, type_of
from contracts.envelope import DEAD_LETTER_ENVELOPE
from contracts.schema import json_schemas

APPLICANT_REGISTERED = """{
  "applicant_id": "A-000123",
  "version": 3,
  "program_year": 2023,
  "given_name": "Ayesha",
  "family_name": "Khan",
  "date_of_birth": "2001-04-17",
  "nationality": "PK",
  "residence": {"country": "PK", "prefecture": null, "lat": 24.86, "lon": 67.01},
  "languages": [
    {"language": "en", "test": "IELTS", "score": "6.5"},
    {"language": "ja", "test": "JLPT", "score": "N3"}
  ],
  "education": {"status": "enrolled", "institution": "NED University", "field": "computer science"},
  "courses": ["B", "C"],
  "preferences": ["V-0007", "V-0012"],
  "skills": ["python", "data analysis"],
  "programs": ["PMYP"]
}"""
APPLICANT_WITHDRAWN = """
{"applicant_id": "A-000123", "version": 4, "reason": "accepted another offer"}"""
VACANCY_POSTED = """{
  "vacancy_id": "V-0007",
  "version": 1,
  "program_year": 2023,
  "company": {
    "company_id": "C-077",
    "name": "Sakura Robotics K.K.",
    "industry": "manufacturing",
    "capital_jpy": 50000000,
    "employees": 42,
    "legal_form": "company",
    "head_office_country": "JP"
  },
  "title": "Overseas market research assistant",
  "location": {"prefecture": "Osaka", "lat": 34.69, "lon": 135.50},
  "slots": [{"course": "A", "capacity": 1}, {"course": "B", "capacity": 2}],
  "requirements": {"japanese_min": "N3", "english_min": "B2", "language_rule": "any", "skills": ["python"]},
  "accommodation": true,
  "preferences": ["A-000123", "A-000456"]
}"""
VACANCY_CLOSED = """
{"vacancy_id": "V-0007", "version": 2, "reason": "position filled outside the program"}"""
ROUND_REQUESTED = """
{"round_id": "2023-summer-1", "program_year": 2023, "period": "summer", "mode": "optimal", "dry_run": false}"""
PLACEMENT_MADE = """{
  "placement_id": "2023-summer-1/A-000123",
  "round_id": "2023-summer-1",
  "program_year": 2023,
  "period": "summer",
  "applicant_id": "A-000123",
  "vacancy_id": "V-0007",
  "company_id": "C-077",
  "course": "B",
  "course_mode": "online",
  "applicant_rank": 1,
  "vacancy_rank": 4
}"""
APPLICANT_UNPLACED = """{
  "round_id": "2023-summer-1", "program_year": 2023, "period": "summer",
  "applicant_id": "A-000999",
  "reasons": [{"code": "age_out_of_range", "detail": "age 41 on 2023-08-31; allowed 20-40"}]
}"""
# The contract abbreviates the digest as "sha256:3f5a…"; a full 64-hex value stands in for it.
ROUND_COMPLETED = """{
  "round_id": "2023-summer-1", "program_year": 2023, "period": "summer", "mode": "optimal",
  "dry_run": false,
  "applicants": 5000, "eligible": 4100, "placed": 930, "unplaced": 4070,
  "vacancies": 400, "slots": 960, "slots_filled": 930,
  "status": "optimal", "objective": 91234.0, "bound": 91234.0,
  "solve_seconds": 0.41,
  "placements_digest": "sha256:3f5a000000000000000000000000000000000000000000000000000000000000"
}"""
ROUND_FAILED = """
{"round_id": "2023-summer-1", "reason": "unknown program year 2031"}"""
PLACEMENT_RESPONDED = """
{"placement_id": "2023-summer-1/A-000123", "party": "host", "decision": "accepted",
 "reason": "interview went well"}"""
PLACEMENT_RELEASED = """
{"placement_id": "2023-summer-1/A-000123", "round_id": "2023-summer-1", "program_year": 2023,
 "period": "summer", "applicant_id": "A-000123", "vacancy_id": "V-0007", "company_id": "C-077",
 "course": "B", "reason": "declined_by_host", "detail": "declined by the host"}"""
PLACEMENT_CONFIRMED = json.dumps(
    {k: v for k, v in json.loads(PLACEMENT_RELEASED).items() if k not in ("reason", "detail")}
)
DEAD_LETTER = """{
  "original_subject": "jip.applicant.registered",
  "original_id": "evt-123",
  "original_source": "/applicant-portal",
  "errors": [{"loc": "data.date_of_birth", "msg": "invalid date format"}],
  "size_bytes": 1834,
  "sha256": "sha256:9c1e000000000000000000000000000000000000000000000000000000000000",
  "errors_truncated": false,
  "received_at": "2026-11-25T10:00:00Z"
}"""

EXAMPLES = {
    Kind.APPLICANT_REGISTERED: (APPLICANT_REGISTERED, "/applicant-portal"),
    Kind.APPLICANT_WITHDRAWN: (APPLICANT_WITHDRAWN, "/applicant-portal"),
    Kind.VACANCY_POSTED: (VACANCY_POSTED, "/sme-portal"),
    Kind.VACANCY_CLOSED: (VACANCY_CLOSED, "/sme-portal"),
    Kind.ROUND_REQUESTED: (ROUND_REQUESTED, "/scheduler"),
    Kind.PLACEMENT_MADE: (PLACEMENT_MADE, "/intern-match"),
    Kind.APPLICANT_UNPLACED: (APPLICANT_UNPLACED, "/intern-match"),
    Kind.ROUND_COMPLETED: (ROUND_COMPLETED, "/intern-match"),
    Kind.ROUND_FAILED: (ROUND_FAILED, "/intern-match"),
    Kind.PLACEMENT_RESPONDED: (PLACEMENT_RESPONDED, "/sme-portal"),
    Kind.PLACEMENT_CONFIRMED: (PLACEMENT_CONFIRMED, "/intern-match"),
    Kind.PLACEMENT_RELEASED: (PLACEMENT_RELEASED, "/intern-match"),
}


def envelope(type_: str, data: dict[str, Any], source: str = "/intern-match") -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode envelope around `data`."""
    return {
        "specversion": "1.0",
        "id": "evt-123",
        "source": source,
        "type": type_,
        "time": "2023-04-01T09:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }


def test_every_event_kind_has_a_contract_example() -> None:
    assert set(EXAMPLES) == set(Kind)


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=str)
def test_contract_example_is_a_valid_event_on_its_subject(kind: Kind) -> None:
    text, source = EXAMPLES[kind]
    data = json.loads(text)
    body = json.dumps(envelope(type_of(kind), data, source))
    event = parse_event(body, subject="jip." + kind)
    assert event.kind == kind
    assert event.data.model_dump(mode="json") == data


def test_contract_example_of_a_dead_letter_is_a_valid_envelope() -> None:
    data = json.loads(DEAD_LETTER)
    body = json.dumps(envelope("jip.dlq.applicant.registered.v2", data))
    event = DEAD_LETTER_ENVELOPE.model_validate_json(body)
    assert event.data.errors[0].loc == "data.date_of_birth"
    assert event.data.original_id == "evt-123"
    assert event.data.model_dump(mode="json") == data
    jsonschema.validate(json.loads(body), json_schemas()["jip.dlq.v2"])


def test_example_applicant_reads_back_with_its_nested_values() -> None:
    body = json.dumps(
        envelope(type_of(Kind.APPLICANT_REGISTERED), json.loads(APPLICANT_REGISTERED))
    )
    data = parse_event(body).data
    assert data.residence.prefecture is None
    assert [c.score for c in data.languages] == ["6.5", "N3"]
    assert data.date_of_birth.isoformat() == "2001-04-17"
