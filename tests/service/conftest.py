"""Fixtures of the service tests: a migrated in-memory SQLite engine and an Intake on it with
the deterministic stand-in solver."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from matching.ruleset import load_ruleset
from services.intake.apply import Intake
from services.store.db import make_engine, migrate
from tests.support.inbound_events import RECEIVED, YEAR, GreedySolver


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
