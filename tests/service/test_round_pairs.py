"""A round whose admissible pairs exceed the ruleset's `[ranking] max_pairs` ends in round.failed
naming the count, through the intake on SQLite and offline, with the real matching core."""

import dataclasses
import json

from contracts import RoundRequested
from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.ops.offline import run_offline
from services.outbound.outbox import pending
from services.store.tables import PlacementRow, RoundRow
from tests.support.inbound_events import RECEIVED, YEAR, posted, registered, round_requested

SMALL = dataclasses.replace(load_ruleset(), max_pairs=5)
MARKET = [registered(f"A-{i}") for i in range(3)] + [posted(f"V-{j}") for j in range(2)]
REASON = "admissible pairs 6 exceed the ruleset's max_pairs 5"


def rulesets(year: int):
    return SMALL if year == YEAR else None


def test_the_intake_writes_round_failed_with_the_count(engine):
    from sqlalchemy import select

    intake = Intake(engine, rulesets, lambda: RECEIVED)  # the real matching.round.run_round
    intake.process([Inbound(None, b) for b in [*MARKET, round_requested("R-1")]])
    (failed,) = [json.loads(row.body) for row in pending(engine, limit=None)]
    assert failed["type"] == "jip.round.failed.v1"
    assert failed["data"] == {"round_id": "R-1", "reason": REASON}
    with engine.connect() as c:
        assert c.execute(select(RoundRow.status)).scalars().all() == ["failed"]
        assert c.execute(select(PlacementRow)).all() == []


def test_within_the_budget_the_same_market_completes(engine):
    within = dataclasses.replace(SMALL, max_pairs=6)
    intake = Intake(engine, lambda year: within, lambda: RECEIVED)
    intake.process([Inbound(None, b) for b in [*MARKET, round_requested("R-1")]])
    last = json.loads(pending(engine, limit=None)[-1].body)
    assert last["type"] == "jip.round.completed.v1" and last["data"]["placed"] == 2


def test_an_offline_round_fails_the_same_way():
    request = RoundRequested(round_id="R-off", program_year=YEAR, period="summer")
    bodies = run_offline(MARKET, rulesets, request, clock=lambda: RECEIVED)
    (failed,) = [json.loads(b) for b in bodies]
    assert failed["data"] == {"round_id": "R-off", "reason": REASON}
