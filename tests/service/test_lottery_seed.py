"""The lottery's seed (program-rules.md, "Orders and ranks"): `round_id + ":" + h`, `h` chained
over the inbound events the intake took before the request (applied or stale; not duplicates,
not dead letters), on SQLite and PostgreSQL; an explicit `lottery_seed` on dry runs only."""

import json

from matching import run_round
from tests.service.offer_support import (
    R1_AT,
    dead_letter_errors,
    engine,
    feed,
    make_intake,
    outbound,
    pg_url,
)
from tests.support.inbound_events import GreedySolver, posted, registered, round_requested
from tests.support.lottery import chain

__all__ = ["engine", "pg_url"]  # fixtures


def _keys(*bodies: bytes) -> list[tuple[str, str]]:
    return [(e["source"], e["id"]) for e in map(json.loads, bodies)]


def _completed(engine) -> list[dict]:
    return [e["data"] for e in outbound(engine) if e["type"] == "jip.round.completed.v1"]


def test_the_seed_chains_applied_and_stale_events_but_not_duplicates_or_dead_letters(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    a1, a1_stale, v1 = registered("A-1", version=2), registered("A-1", version=1), posted("V-1")
    feed(intake, a1, v1, a1)  # the repeated body is a duplicate: not chained
    feed(intake, a1_stale, b'{"not": "an event"}')  # stale: chained; dead letter: not
    feed(intake, round_requested("R-1", at=R1_AT))
    h = chain(_keys(a1, v1, a1_stale))
    [completed] = _completed(engine)
    assert completed["lottery_seed"] == "R-1:" + h
    assert solver.seen[-1].seed == "R-1:" + h


def test_a_later_round_chains_the_earlier_request_and_everything_since(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    first = [registered("A-1"), posted("V-1"), round_requested("R-1", at=R1_AT)]
    later = [registered("A-2"), round_requested("R-2", at=R1_AT)]
    feed(intake, *first)
    feed(intake, *later)
    seeds = [c["lottery_seed"] for c in _completed(engine)]
    assert seeds == ["R-1:" + chain(_keys(*first[:2])), "R-2:" + chain(_keys(*first, later[0]))]


def test_the_published_seed_reproduces_the_round_and_its_digest(engine):
    intake = make_intake(engine, run_round)
    solver = GreedySolver()
    recorder = make_intake(engine, solver)  # sees the same snapshot the real round saw
    people = [registered(f"A-{k}", skills=["python"]) for k in range(8)]
    places = [posted(f"V-{k}", capacity=1) for k in range(3)]
    feed(intake, *people, *places)
    feed(recorder, round_requested("R-1", at=R1_AT, dry_run=True, event_id="dry-1"))
    feed(intake, round_requested("R-1", at=R1_AT))
    real = [c for c in _completed(engine) if not c["dry_run"]][0]
    snapshot = solver.seen[-1]
    again = run_round(type(snapshot)(**{**snapshot.__dict__, "lottery_seed": real["lottery_seed"]}))
    assert again.placements_digest == real["placements_digest"]


def test_a_real_round_naming_a_seed_is_a_dead_letter_and_runs_nothing(engine):
    intake = make_intake(engine, GreedySolver())
    feed(intake, registered("A-1"), posted("V-1"))
    event = json.loads(round_requested("R-1", at=R1_AT, dry_run=True, lottery_seed="mine"))
    event["data"]["dry_run"] = False
    outcome = feed(intake, json.dumps(event).encode())
    assert outcome.rejected == 1 and outcome.rounds == []
    [(loc, msg)] = dead_letter_errors(engine)
    assert loc == "data.lottery_seed" and "only a dry run" in msg
    assert _completed(engine) == []


def test_a_dry_run_draws_with_its_own_seed_and_publishes_it(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    feed(intake, registered("A-1"), posted("V-1"))
    feed(intake, round_requested("R-1", at=R1_AT, dry_run=True, lottery_seed="what-if"))
    [completed] = _completed(engine)
    assert completed["lottery_seed"] == "what-if" and solver.seen[-1].seed == "what-if"
