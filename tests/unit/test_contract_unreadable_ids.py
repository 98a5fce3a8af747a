"""A rejected body's id is reported only when it can be stored and published as text; an id that
cannot (too long, NUL, lone surrogate) must not turn the dead letter itself into a poison pill."""

import json

import pytest

from contracts import ContractError, parse_event

_BAD_VERSION = {
    "specversion": "1.0",
    "source": "/applicant-portal",
    "type": "jip.applicant.withdrawn.v1",
    "time": "2023-01-01T00:00:00Z",
    "datacontenttype": "application/json",
    "data": {"applicant_id": "A-1", "version": "x"},
}


def _body(id_json: bytes) -> bytes:
    return json.dumps({**_BAD_VERSION, "id": "ID"}).encode().replace(b'"ID"', id_json)


@pytest.mark.parametrize(
    "id_json",
    [b'"' + b"i" * 257 + b'"', b'"a\\u0000b"', b'"\\ud800x"', b'""'],
    ids=["257 characters", "NUL escape", "lone surrogate escape", "empty"],
)
def test_an_id_that_cannot_be_stored_as_text_is_reported_as_unreadable(id_json: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(_body(id_json), "jip.applicant.withdrawn")
    assert caught.value.original_id is None


def test_an_id_of_256_characters_is_reported_as_it_is() -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(_body(b'"' + b"i" * 256 + b'"'), "jip.applicant.withdrawn")
    assert caught.value.original_id == "i" * 256


def test_a_surrogate_encoded_as_bytes_is_not_utf8_and_so_not_json() -> None:
    body = _body(b'"\xed\xa0\x80x"')
    with pytest.raises(ContractError) as caught:
        parse_event(body, "jip.applicant.withdrawn")
    assert caught.value.original_id is None
    assert caught.value.errors[0].loc == "body"
    assert caught.value.errors[0].msg.startswith("not JSON")


@pytest.mark.parametrize("field", ["id", "source"])
def test_an_id_or_source_with_a_control_character_is_rejected_naming_the_field(field: str) -> None:
    doc = {**_BAD_VERSION, "id": "ok-1", "data": {"applicant_id": "A-1", "version": 2}}
    doc[field] = "a\u0000b" if field == "id" else "/portal\u0007"
    with pytest.raises(ContractError) as caught:
        parse_event(json.dumps(doc).encode(), "jip.applicant.withdrawn")
    assert [e.loc for e in caught.value.errors] == [field]
