"""A body is validated once on its way in: the intake and the isolation of a failing
`round.requested` use the request the parse step returned, whether parsing ran here or in the
worker process (its answer crosses a pipe pickled)."""

import pickle
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

import contracts.envelope
from services.intake.apply import Inbound, Intake
from services.intake.isolation import isolate
from services.intake.parsing import Accepted, parse_batch, parse_one
from services.store.tables import RoundRow
from tests.support.inbound_events import posted, registered, round_requested


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the bodies validated against a kind's envelope (every parse of a valid body)."""
    calls: list[int] = []
    original = contracts.envelope._valid_on_subject

    def counting(raw: bytes, subject: str | None) -> object:
        calls.append(1)
        return original(raw, subject)

    monkeypatch.setattr(contracts.envelope, "_valid_on_subject", counting)
    yield calls


def test_a_batch_with_a_round_request_validates_each_body_once(
    intake: Intake, validations: list[int]
) -> None:
    batch = [
        Inbound("jip.applicant.registered", registered("A-1")),
        Inbound("jip.vacancy.posted", posted("V-1")),
        Inbound("jip.round.requested", round_requested("R-1")),
    ]
    outcome = intake.process(batch)
    assert outcome.rounds == ["R-1"]
    assert len(validations) == len(batch)


def test_an_isolated_round_request_fails_its_round_without_parsing_again(
    intake: Intake, engine: Engine, validations: list[int]
) -> None:
    message = Inbound("jip.round.requested", round_requested("R-9"), 7)
    parsed = parse_one(message.subject, message.body)
    validations.clear()
    outcome = isolate(intake, message, parsed, "database", "DataError")
    assert (outcome.rejected, outcome.publishes) == (1, True)
    assert validations == []
    with engine.connect() as connection:
        status = connection.execute(select(RoundRow.status).where(RoundRow.round_id == "R-9"))
        assert status.scalar_one() == "failed"
        assert connection.execute(select(func.count()).select_from(RoundRow)).scalar_one() == 1


def test_the_parsed_request_survives_the_pipe_to_and_from_the_worker() -> None:
    body = round_requested("R-1", dry_run=True)
    [parsed] = parse_batch([("jip.round.requested", body)])
    assert isinstance(parsed, Accepted) and parsed.round_request is not None
    copy = pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == parsed
    event = contracts.parse_event(body)
    assert copy.round_request == (event.data, event.time)
