"""Hostile bodies through the real Intake on SQLite and PostgreSQL: what the parser accepts can
be stored, what it rejects is stored as a dead letter whatever its bytes, and NUL or an unpaired
surrogate is judged alike on every database and offline (a dead letter naming the field)."""

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from contracts import ContractError, FieldError
from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.intake.segment import Segment
from services.ops.offline import run_offline
from services.outbound.events import to_dead_lettered
from services.store.db import make_engine, migrate
from services.store.tables import DeadLetterRow
from tests.support.hostile import hostile_bodies, hostile_corpus
from tests.support.inbound_events import YEAR, GreedySolver, registered

pytestmark = pytest.mark.integration

RULESET = load_ruleset()
RECEIVED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
NAMES = {
    "nul": (b'"Te\\u0000st"', "data.given_name: NUL characters are not allowed"),
    "surrogate": (b'"Te\\ud800st"', "data.given_name: unpaired surrogate escapes"),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = "sqlite:///:memory:"
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_database_url")
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


def intake_on(engine: Engine) -> Intake:
    return Intake(
        engine, lambda y: RULESET if y == YEAR else None, lambda: RECEIVED, GreedySolver()
    )


def dead_letters(engine: Engine) -> list[DeadLetterRow]:
    with engine.connect() as connection:
        return list(connection.execute(select(DeadLetterRow)).all())


@pytest.mark.parametrize("case", sorted(NAMES))
def test_nul_and_unpaired_surrogates_are_one_dead_letter_on_every_database(engine, case) -> None:
    literal, reason = NAMES[case]
    body = registered("A-1").replace(b'"Test"', literal)
    outcome = intake_on(engine).process([Inbound("jip.applicant.registered", body)])
    assert (outcome.accepted, outcome.rejected) == (0, 1)
    [row] = dead_letters(engine)
    assert f"{row.errors[0]['loc']}: {row.errors[0]['msg']}".startswith(reason)
    offline = run_offline([body], lambda y: RULESET, None, lambda: RECEIVED, GreedySolver())
    [dlq] = [json.loads(b) for b in offline]
    assert dlq["data"]["errors"] == row.errors


RAW = [
    b'{"id":"x\x00y","type":"jip.applicant.registered.v1"}',
    b'{"id":"x\xff\xfe"}',
    b'{"id":"x\xed\xa0\x80"}',
    b"\x00" * 1000,
    b"\x01" * 2000,
    b'{"id":"a\\u0000","type":"jip.\\u0000\\ud800","k\\udfff":1}',
    registered("A-3").replace(b'"version":1', b'"zz":' + b"9" * 4301 + b',"version":1'),
]


def test_a_dead_letter_is_stored_whatever_its_bytes(engine) -> None:
    intake = intake_on(engine)
    for body in RAW:
        assert intake.process([Inbound("jip.applicant.registered", body)]).rejected == 1
    outcome = intake.process([Inbound("jip.applicant.registered", b + b" ") for b in RAW])
    assert outcome.rejected == len(RAW)
    rows = dead_letters(engine)
    assert len(rows) == 2 * len(RAW)
    assert all("\x00" not in row.raw for row in rows)


def test_errors_holding_nul_or_surrogates_are_stored(engine) -> None:
    error = ContractError([FieldError("k\x00\ud800", "m\udc00\x00")], "id", "jip.vacancy.posted")
    segment = Segment()
    body = b"\x00\xed\xa0\x80"
    segment.dead_letter(to_dead_lettered(error, body, RECEIVED), error, body)
    with engine.begin() as connection:
        segment.flush(connection)
    [row] = dead_letters(engine)
    assert row.errors == [{"loc": "k\\u0000\\ud800", "msg": "m\\udc00\\u0000"}]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(hostile_bodies(), max_size=25))
def test_any_hostile_batch_is_stored_without_an_exception(engine, messages) -> None:
    batch = [Inbound(subject, body) for subject, body in messages]
    outcome = intake_on(engine).process(batch)
    assert outcome.accepted + outcome.duplicate + outcome.stale + outcome.rejected == len(batch)


def test_the_hostile_corpus_is_all_dead_letters(engine) -> None:
    corpus = hostile_corpus(200, seed=11)
    outcome = intake_on(engine).process([Inbound(s, b) for s, b in corpus])
    assert (outcome.rejected, outcome.accepted) == (len(corpus), 0)
    assert len(dead_letters(engine)) == len(corpus)
