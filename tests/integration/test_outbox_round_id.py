"""The outbox knows each row's round (`round_id`, migration 0004): a round's events are enqueued
with it, dead letters without, rows written before 0004 get it from their body, and the summary
reads a round's events by it, on SQLite and PostgreSQL alike."""

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from contracts import ContractError, FieldError
from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.ops.summary import round_outcome
from services.outbound.events import to_dead_lettered, to_outbox_values, to_round_failed
from services.store.db import make_engine, migrate
from services.store.tables import OutboxEntry
from tests.support.inbound_events import GreedySolver, posted, registered, round_requested

pytestmark = pytest.mark.integration
RULESET = load_ruleset()
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outbox.db'}"
    return request.getfixturevalue("fresh_database_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _rounds_of_rows(engine: Engine) -> dict[str, str | None]:
    query = select(OutboxEntry.event_id, OutboxEntry.round_id).order_by(OutboxEntry.seq)
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def test_a_rounds_events_carry_its_id_and_the_summary_reads_them_by_it(engine: Engine) -> None:
    migrate(engine)
    intake = Intake(engine, lambda _: RULESET, lambda: NOW, GreedySolver())
    bad = json.loads(registered("A-9"))
    bad["data"]["nationality"] = "pakistan"
    bodies = [registered("A-1"), registered("A-2"), posted("V-1", capacity=1)]
    bodies += [round_requested("R-1"), json.dumps(bad).encode(), round_requested("R-10")]
    intake.process([Inbound(None, b) for b in bodies])
    rows = _rounds_of_rows(engine)
    dead_letters = [i for i in rows if i.startswith("dlq-")]
    assert len(dead_letters) == 1 and rows[dead_letters[0]] is None
    assert {i: r for i, r in rows.items() if "R-1-" in i or i.endswith("R-1")} == {
        "placement-R-1-A-1": "R-1",
        "unplaced-R-1-A-2": "R-1",
        "round-completed-R-1": "R-1",
    }
    assert rows["round-completed-R-10"] == "R-10"
    outcome = round_outcome(engine, "R-1")
    assert sum(outcome.placed_by_course.values()) == 1
    assert sum(outcome.unplaced_by_reason.values()) == 1
    assert outcome.completed is not None and outcome.completed["round_id"] == "R-1"


def test_migration_0004_fills_the_round_of_rows_written_before_it(engine: Engine) -> None:
    migrate(engine, "0003")
    failed = to_round_failed("R_1", "no ruleset", NOW)
    other = to_round_failed("RX1", "no ruleset", NOW)
    error = json.loads(registered("A-1"))
    error["data"]["nationality"] = "pakistan"
    rejected = ContractError(
        [FieldError("data.nationality", "bad")], "e-1", "jip.applicant.registered"
    )
    letter = to_dead_lettered(rejected, json.dumps(error).encode(), NOW)
    rows = [to_outbox_values(e) for e in (failed, other, letter)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO outbox (event_id, subject, body) VALUES (:event_id, :subject, :body)"
            ),
            rows,
        )
    migrate(engine)
    assert _rounds_of_rows(engine) == {
        "round-failed-R_1": "R_1",
        "round-failed-RX1": "RX1",
        letter.id: None,
    }
    outcome = round_outcome(engine, "R_1")
    assert outcome.completed == {"round_id": "R_1", "reason": "no ruleset"}
