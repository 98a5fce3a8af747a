"""Malformed bodies are rejected by `parse_event` with the offending field named in the error.

Imports contracts only.
"""

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from contracts import MAX_BODY_BYTES, ContractError, parse_event

Doc = dict[str, Any]

VALID: Doc = {
    "specversion": "1.0",
    "id": "ap-1",
    "source": "/applicant-portal",
    "type": "jip.applicant.registered.v1",
    "time": "2023-04-01T09:00:00Z",
    "datacontenttype": "application/json",
    "data": {
        "applicant_id": "A-000123",
        "version": 1,
        "program_year": 2023,
        "given_name": "Ayesha",
        "family_name": "Khan",
        "date_of_birth": "2001-04-17",
        "nationality": "PK",
        "residence": {"country": "PK", "lat": 24.86, "lon": 67.01},
        "languages": [{"language": "en", "test": "IELTS", "score": "6.5"}],
        "education": {"status": "enrolled"},
        "courses": ["B", "C"],
    },
}


def _set(path: str, value: Any) -> Callable[[Doc], Doc]:
    def change(doc: Doc) -> Doc:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value
        return doc

    return change


_DELETE = object()

# (case, change to the valid document, the field the error must name)
MALFORMED: list[tuple[str, Callable[[Doc], Doc], str]] = [
    ("missing family name", _set("data.family_name", _DELETE), "data.family_name"),
    ("missing event id", _set("id", _DELETE), "id"),
    ("version as a string", _set("data.version", "1"), "data.version"),
    ("courses as a string", _set("data.courses", "B"), "data.courses"),
    ("day-first date of birth", _set("data.date_of_birth", "17/04/2001"), "data.date_of_birth"),
    ("date of birth 30 February", _set("data.date_of_birth", "2001-02-30"), "data.date_of_birth"),
    ("unknown course", _set("data.courses", ["B", "D"]), "data.courses.1"),
    ("applicant id with spaces", _set("data.applicant_id", "A 000123"), "data.applicant_id"),
    ("event id with spaces", _set("id", "ap 1"), "id"),
    ("wrong specversion", _set("specversion", "0.3"), "specversion"),
    ("time without an offset", _set("time", "2023-04-01T09:00:00"), "time"),
    ("JP residence without a prefecture", _set("data.residence.country", "JP"), "data.residence"),
    ("unknown prefecture", _set("data.residence", {"country": "JP", "prefecture": "Edo"}),
     "data.residence.prefecture"),
    ("IELTS band 6.3", _set("data.languages.0.score", "6.3"), "data.languages.0"),
    ("IELTS band 9.5", _set("data.languages.0.score", "9.5"), "data.languages.0"),
    ("unknown language test", _set("data.languages.0.test", "DUOLINGO"), "data.languages.0.test"),
    ("unknown event type", _set("type", "jip.applicant.promoted.v1"), "type"),
    ("type of another contract version", _set("type", "jip.applicant.registered.v2"), "type"),
    ("missing type", _set("type", _DELETE), "type"),
    ("payload of another type", _set("type", "jip.vacancy.posted.v1"), "data.vacancy_id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_event_is_rejected_naming_the_field(
    change: Callable[[Doc], Doc], field: str
) -> None:
    body = json.dumps(change(copy.deepcopy(VALID)))
    with pytest.raises(ContractError) as caught:
        parse_event(body)
    assert field in [e.loc for e in caught.value.errors]


def test_the_unchanged_document_is_valid() -> None:
    assert parse_event(json.dumps(VALID), subject="jip.applicant.registered").data.version == 1


def test_body_over_256_kib_is_rejected_before_parsing() -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    with pytest.raises(ContractError) as caught:
        parse_event(body)
    assert [e.loc for e in caught.value.errors] == ["body"]
    assert "limit" in caught.value.errors[0].msg


def test_valid_event_padded_past_the_limit_is_rejected() -> None:
    doc = copy.deepcopy(VALID)
    doc["data"]["skills"] = ["x" * 100] * 2700
    with pytest.raises(ContractError, match="limit"):
        parse_event(json.dumps(doc))


@pytest.mark.parametrize("body", [b"not json", b'{"id": ', b"\xff\xfe", b"[1, 2]", b"null"])
def test_body_that_is_not_a_json_object_is_rejected(body: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(body)
    assert [e.loc for e in caught.value.errors] == ["body"]


def test_type_arriving_on_another_subject_is_rejected() -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(json.dumps(VALID), subject="jip.vacancy.posted")
    assert caught.value.errors[0].loc == "type"
    assert caught.value.original_id == "ap-1"


def test_rejection_keeps_the_original_id_and_subject_for_the_dead_letter() -> None:
    body = json.dumps(_set("data.date_of_birth", "2001-13-01")(copy.deepcopy(VALID)))
    with pytest.raises(ContractError) as caught:
        parse_event(body)
    assert caught.value.original_id == "ap-1"
    assert caught.value.subject == "jip.applicant.registered"


SAME_TYPE = [c for c in MALFORMED if c[1](copy.deepcopy(VALID)).get("type") == VALID["type"]]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in SAME_TYPE], ids=[c[0] for c in SAME_TYPE]
)
def test_on_its_own_subject_the_errors_are_those_of_a_file(
    change: Callable[[Doc], Doc], field: str
) -> None:
    """A body on its NATS subject is parsed once when valid; an invalid one must still get the
    same field errors, id and dead-letter subject as the step-by-step parse of file input."""
    body = json.dumps(change(copy.deepcopy(VALID)))
    with pytest.raises(ContractError) as from_file:
        parse_event(body)
    with pytest.raises(ContractError) as on_subject:
        parse_event(body, subject="jip.applicant.registered")
    assert on_subject.value.errors == from_file.value.errors
    assert field in [e.loc for e in on_subject.value.errors]
    assert (on_subject.value.original_id, on_subject.value.subject) == (
        from_file.value.original_id,
        from_file.value.subject,
    )


def test_a_valid_payload_under_another_type_is_rejected_on_the_subject() -> None:
    doc = _set("type", "jip.applicant.withdrawn.v1")(copy.deepcopy(VALID))
    with pytest.raises(ContractError) as caught:
        parse_event(json.dumps(doc), subject="jip.applicant.registered")
    assert [e.loc for e in caught.value.errors] == ["type"]
    assert "does not belong" in caught.value.errors[0].msg
