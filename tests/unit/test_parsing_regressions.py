"""Regressions of issue 11 at the parsing boundary, each failing on the code before the fix:
a 4,301-digit integer raised ValueError out of the parser; NUL and unpaired surrogates were
accepted or rejected by accident; an outbound event from a file was accepted as inbound."""

import pytest

from contracts import (
    ContractError,
    FieldError,
    Kind,
    RoundFailed,
    make_event,
    parse_event,
    to_json_bytes,
)
from services.intake.parsing import Accepted, parse_one
from tests.support.inbound_events import T0, registered
from tests.unit.parse_answers import check_answer, storable

POISON = registered("A-1").replace(b'"version":1', b'"zz":' + b"9" * 4301 + b',"version":1')
"""A valid registration but for an unknown field holding an integer of 4,301 digits."""


def test_a_4301_digit_integer_in_an_unknown_field_is_a_dead_letter_naming_it() -> None:
    for subject in ("jip.applicant.registered", None):
        answer = parse_one(subject, POISON)
        assert isinstance(answer, ContractError)
        assert answer.errors == [
            FieldError("data.<unknown field>", "integer of 4301 digits (max 4300)")
        ]
        assert answer.original_id == "reg-A-1-1"
        with pytest.raises(ContractError):
            parse_event(POISON, subject)


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        (b'"Te\\u0000st"', "data.given_name: NUL characters are not allowed"),
        (b'"Te\\ud800st"', "data.given_name: unpaired surrogate escapes"),
        (b'"\\udc00"', "data.given_name: unpaired surrogate escapes"),
    ],
)
def test_nul_and_unpaired_surrogates_are_rejected_naming_the_field(literal, reason) -> None:
    body = registered("A-1").replace(b'"Test"', literal)
    for subject in ("jip.applicant.registered", None):
        answer = parse_one(subject, body)
        assert isinstance(answer, ContractError)
        assert str(answer).startswith(reason)


def test_a_surrogate_pair_and_an_escaped_backslash_before_u0000_are_fine() -> None:
    for literal in (b'"Te\\ud83d\\ude00st"', b'"Te\\\\u0000st"'):
        body = registered("A-1").replace(b'"Test"', literal)
        assert isinstance(parse_one("jip.applicant.registered", body), Accepted)


def test_a_field_name_with_nul_or_a_surrogate_is_named_safely() -> None:
    body = registered("A-1").replace(b'"version":1', b'"k\\u0000\\ud800":1,"version":1')
    answer = parse_one("jip.applicant.registered", body)
    assert isinstance(answer, ContractError)
    assert answer.errors[0].loc == "data.<unknown field>"
    check_answer(answer)


def test_error_texts_are_made_safe_and_bounded_whoever_builds_them() -> None:
    error = ContractError([FieldError("a\x00\ud800" + "x" * 500, "m\x00" * 1000)], None, "jip.x")
    assert error.errors[0].loc.startswith("a\\u0000\\ud800") and len(error.errors[0].loc) == 200
    assert storable(error.errors[0].msg) and len(error.errors[0].msg) == 1000


def test_an_outbound_event_is_never_taken_in() -> None:
    failed = RoundFailed(round_id="R-1", reason="no ruleset")
    event = make_event(Kind.ROUND_FAILED, "round-failed-R-1", failed, T0, "/intern-match", None)
    body = to_json_bytes(event)
    answer = parse_one(None, body)
    assert isinstance(answer, ContractError)
    assert answer.errors[0].loc == "type" and "published by the service" in answer.errors[0].msg
