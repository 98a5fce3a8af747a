"""The parsing boundary is total: for any bytes, and any valid event mutated anywhere, parsing
answers Accepted or a ContractError naming a field and a reason, never an exception; its texts
are safe to store in PostgreSQL and to publish."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import (
    MAX_BODY_BYTES,
    ContractError,
)
from services.intake.parsing import parse_batch, parse_one
from tests.support.hostile import INBOUND_SUBJECTS, hostile_bodies, hostile_corpus
from tests.unit.parse_answers import check_answer

HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(st.sampled_from([*INBOUND_SUBJECTS, None]), st.binary(max_size=2_000))
def test_any_bytes_are_accepted_or_rejected_with_a_reason(subject, body) -> None:
    check_answer(parse_one(subject, body))


@HYPOTHESIS
@given(hostile_bodies())
def test_any_mutated_event_is_accepted_or_rejected_with_a_reason(message) -> None:
    subject, body = message
    check_answer(parse_one(subject, body))
    check_answer(parse_one(None, body))


@settings(max_examples=50, deadline=None)
@given(st.lists(hostile_bodies(), max_size=20))
def test_a_batch_answers_each_message_whatever_the_others_hold(messages) -> None:
    answers = parse_batch(messages)
    assert len(answers) == len(messages)
    for answer, (subject, body) in zip(answers, messages, strict=True):
        single = parse_one(subject, body)
        assert type(answer) is type(single)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_body_of_the_hostile_corpus_is_rejected(seed) -> None:
    corpus = hostile_corpus(1_000, seed)
    assert corpus == hostile_corpus(1_000, seed)  # deterministic
    assert len({body for _, body in corpus}) == len(corpus)
    assert max(len(body) for _, body in corpus) <= MAX_BODY_BYTES + 64
    ids = []
    for subject, body in corpus:
        answer = parse_one(subject, body)
        assert type(answer) is ContractError, body[:300]  # the contract's own rejection
        check_answer(answer)
        if answer.original_id is not None:
            ids.append(answer.original_id)
    assert len(ids) == len(set(ids)) and len(ids) > len(corpus) // 2
    assert {subject for subject, _ in corpus} == set(INBOUND_SUBJECTS)
