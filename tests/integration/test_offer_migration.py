"""Migration 0005 on a database that already holds a year (rounds and placements written
before offers existed): each placement becomes a live `proposed` offer without a deadline, its
company is taken from the vacancy's stored payload, and the lifecycle then works on it (an
answer confirms it; a later round still counts it and never expires it), on SQLite and
PostgreSQL alike."""

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from tests.support.inbound_events import (
    YEAR,
    GreedySolver,
    posted,
    registered,
    responded,
    round_requested,
)

pytestmark = pytest.mark.integration
RULESET = load_ruleset()
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'offers.db'}"
    else:
        url = request.getfixturevalue("fresh_database_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _snapshot(body: bytes) -> str:
    return json.dumps(json.loads(body)["data"])


def _year_before_offers(engine: Engine) -> None:
    """What version 0004 wrote for a round that placed A-1 at V-1 and A-2 at V-2 (course B)."""
    migrate(engine, "0004")
    with engine.begin() as c:
        for vacancy in ("V-1", "V-2"):
            c.execute(
                text(
                    "INSERT INTO vacancies (vacancy_id, program_year, version, closed, payload, "
                    "created_by) VALUES (:v, :y, 1, false, :p, '/sme')"
                ),
                {"v": vacancy, "y": YEAR, "p": _snapshot(posted(vacancy, capacity=1))},
            )
        for applicant in ("A-1", "A-2"):
            c.execute(
                text(
                    "INSERT INTO applicants (applicant_id, program_year, version, withdrawn, "
                    "payload, created_by) VALUES (:a, :y, 1, false, :p, '/applicant-portal')"
                ),
                {"a": applicant, "y": YEAR, "p": _snapshot(registered(applicant))},
            )
        c.execute(
            text(
                "INSERT INTO rounds (round_id, ordinal, program_year, period, mode, dry_run, "
                "status, final_event_id) VALUES ('R-old', 1, :y, 'summer', 'optimal', false, "
                "'optimal', 'round-completed-R-old')"
            ),
            {"y": YEAR},
        )
        for applicant, vacancy in (("A-1", "V-1"), ("A-2", "V-2")):
            c.execute(
                text(
                    "INSERT INTO placements (round_id, applicant_id, program_year, period, "
                    "vacancy_id, course) VALUES ('R-old', :a, :y, 'summer', :v, 'B')"
                ),
                {"a": applicant, "v": vacancy, "y": YEAR},
            )


def _placements(engine: Engine) -> dict[str, tuple[object, ...]]:
    query = (
        "SELECT round_id, applicant_id, state, respond_by, accepted_by, company_id "
        "FROM placements ORDER BY round_id, applicant_id"
    )
    with engine.connect() as c:
        return {f"{r[0]}/{r[1]}": tuple(r[2:]) for r in c.execute(text(query))}


def test_placements_written_before_offers_become_live_proposed_offers(engine: Engine) -> None:
    _year_before_offers(engine)
    migrate(engine)
    company = json.loads(posted("V-1"))["data"]["company"]["company_id"]
    assert company  # the migration has a company to copy
    assert _placements(engine) == {
        "R-old/A-1": ("proposed", None, "", company),
        "R-old/A-2": ("proposed", None, "", company),
    }

    intake = Intake(engine, lambda y: RULESET if y == YEAR else None, lambda: NOW, GreedySolver())
    answers = [
        responded("R-old/A-1", "host"),
        responded("R-old/A-1", "applicant", source="/applicant-portal"),
    ]
    outcome = intake.process([Inbound(None, b) for b in answers])
    assert (outcome.accepted, outcome.rejected) == (2, 0)
    # A later round counts both old offers (their seats and applicants stay taken) and expires
    # neither: an offer made before deadlines existed has none.
    later = [registered("A-3"), round_requested("R-new", at=dt.datetime(2023, 5, 1, tzinfo=dt.UTC))]
    assert intake.process([Inbound(None, b) for b in later]).rounds == ["R-new"]
    placements = _placements(engine)
    assert placements["R-old/A-1"][0] == "confirmed"
    assert placements["R-old/A-2"][0] == "proposed"
    assert not [k for k in placements if k.startswith("R-new/")]  # no free seat for A-3
    with engine.connect() as c:
        released = c.execute(text("SELECT count(*) FROM placements WHERE state = 'released'"))
        assert released.scalar_one() == 0
        answer_outcomes = [r[0] for r in c.execute(text("SELECT outcome FROM placement_answers"))]
    assert answer_outcomes == ["applied", "confirmed"]
