"""Fixtures of the service tests: a migrated in-memory SQLite engine and an Intake on it with
the deterministic stand-in solver."""

import datetime as dt
from collections.abc import Iterator

import pytest
from inbound_events import YEAR, GreedySolver
from sqlalchemy import Engine

from matching.ruleset import load_ruleset
from services.intake.apply import Intake
from services.store.db import make_engine, migrate

RECEIVED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine("sqlite:///:memory:")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def solver() -> GreedySolver:
    return GreedySolver()


@pytest.fixture
def intake(engine: Engine, solver: GreedySolver) -> Intake:
    ruleset = load_ruleset()
    return Intake(engine, lambda year: ruleset if year == YEAR else None, lambda: RECEIVED, solver)
