"""Fixtures and readers of the offer lifecycle tests: an Intake on SQLite or on a real
PostgreSQL (one throwaway database per module, emptied per test), and what it stored and queued.
"""

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from matching import load_ruleset
from matching.ruleset import Ruleset
from services.intake.apply import BatchOutcome, Inbound, Intake
from services.intake.sources import SourceRules
from services.outbound.outbox import pending
from services.store.db import make_engine, migrate
from services.store.tables import PlacementAnswerRow, PlacementRow
from tests.support.databases import throwaway_database
from tests.support.inbound_events import RECEIVED, YEAR, GreedySolver

UTC = dt.UTC
R1_AT = dt.datetime(2023, 4, 1, tzinfo=UTC)
"""When round R-1 is requested in these tests: its offers are due 14 days later."""
R1_DUE = dt.datetime(2023, 4, 15, tzinfo=UTC)
TABLES = (
    "applicants, vacancies, event_log, inbox, dead_letters, rounds, placements, outbox, "
    "placement_answers, service_lease, held_inbound"
)


@pytest.fixture(scope="module")
def pg_url(postgres_url: str) -> Iterator[str]:
    with throwaway_database(postgres_url, prefix="im_offers") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine("sqlite:///:memory:")
        migrate(engine)
    else:
        engine = emptied(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


def emptied(url: str) -> Engine:
    """An engine on the module's PostgreSQL database, its tables migrated and emptied."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY"))
    return engine


def make_intake(
    engine: Engine,
    solver: GreedySolver,
    ruleset: Ruleset | None = None,
    rules: SourceRules | None = None,
) -> Intake:
    chosen = ruleset or load_ruleset()
    return Intake(
        engine,
        lambda year: chosen if year == YEAR else None,
        lambda: RECEIVED,
        solver,
        source_rules=rules,
    )


def feed(intake: Intake, *bodies: bytes) -> BatchOutcome:
    return intake.process([Inbound(None, b) for b in bodies])


def outbound(engine: Engine) -> list[dict[str, Any]]:
    """Every queued outbound event, in outbox order."""
    return [json.loads(row.body) for row in pending(engine, limit=None)]


def ids(engine: Engine, prefix: str = "") -> list[str]:
    return [e["id"] for e in outbound(engine) if e["type"].startswith(prefix)]


def states(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """placement_id -> (state, released_reason)."""
    with engine.connect() as c:
        rows = c.execute(select(PlacementRow)).all()
    return {f"{r.round_id}/{r.applicant_id}": (r.state, r.released_reason) for r in rows}


def answers(engine: Engine) -> list[tuple[str, str, str, str]]:
    """(placement_id, party, decision, outcome) of each answer received, in order."""
    with engine.connect() as c:
        rows = c.execute(select(PlacementAnswerRow).order_by(PlacementAnswerRow.seq)).all()
    return [(r.placement_id, r.party, r.decision, r.outcome) for r in rows]


def dead_letter_errors(engine: Engine) -> list[tuple[str, str]]:
    """(loc, msg) of the first error of each queued dead letter."""
    return [
        (e["data"]["errors"][0]["loc"], e["data"]["errors"][0]["msg"])
        for e in outbound(engine)
        if e["type"].startswith("jip.dlq.")
    ]
