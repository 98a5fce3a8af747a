"""Releases other events cause, expiry before a round, dry runs and the round.requested time
guard, through the intake on SQLite and PostgreSQL (lifecycle.md)."""

import datetime as dt
import json

from sqlalchemy import func, select

from services.store.tables import InboxRow, RoundRow
from tests.service.offer_support import (
    R1_AT,
    R1_DUE,
    dead_letter_errors,
    engine,
    feed,
    ids,
    make_intake,
    outbound,
    pg_url,
    states,
)
from tests.support.inbound_events import (
    GreedySolver,
    closed,
    posted,
    registered,
    responded,
    round_requested,
    withdrawn,
)
from tests.support.lottery import chain, drawn

__all__ = ["engine", "pg_url"]  # fixtures

LATER = dt.datetime(2023, 4, 5, tzinfo=dt.UTC)


def released(engine) -> list[tuple[str, str, str]]:
    """(id, reason, time) of each queued placement.released, in outbox order."""
    return [
        (e["id"], e["data"]["reason"], e["time"])
        for e in outbound(engine)
        if e["type"] == "jip.placement.released.v1"
    ]


def test_a_withdrawal_releases_the_live_placement_and_a_stale_one_releases_nothing(engine):
    intake = make_intake(engine, GreedySolver())
    feed(intake, registered("A-1", version=3), posted("V-1"), round_requested("R-1", at=R1_AT))
    feed(intake, withdrawn("A-1", version=2, at=LATER))
    assert states(engine)["R-1/A-1"] == ("proposed", None)
    feed(intake, withdrawn("A-1", version=4, at=LATER))
    assert released(engine) == [("R-1/A-1/released", "applicant_withdrawn", "2023-04-05T00:00:00Z")]


def test_a_closure_releases_every_live_placement_of_the_vacancy(engine):
    intake = make_intake(engine, GreedySolver())
    feed(intake, registered("A-1"), registered("A-2"), registered("A-3"))
    feed(intake, posted("V-1", capacity=2), posted("V-2"), round_requested("R-1", at=R1_AT))
    feed(intake, responded("R-1/A-2", "host", "declined"), closed("V-1", version=2, at=LATER))
    assert [(i, r) for i, r, _ in released(engine)] == [
        ("R-1/A-2/released", "declined_by_host"),
        ("R-1/A-1/released", "vacancy_closed"),
    ]
    assert states(engine)["R-1/A-3"] == ("proposed", None)  # V-2's


def test_a_capacity_cut_releases_proposed_offers_latest_round_first_then_last_drawn_first(engine):
    intake = make_intake(engine, GreedySolver())
    before = [registered("A-1"), registered("A-2"), registered("A-4"), posted("V-1", capacity=4)]
    feed(intake, *before)
    feed(intake, round_requested("R-1", at=R1_AT))
    feed(intake, registered("A-3"), round_requested("R-2", at=R1_AT + dt.timedelta(hours=1)))
    feed(intake, responded("R-1/A-1", "host"), responded("R-1/A-1", "applicant"))
    outcome = feed(intake, posted("V-1", version=2, capacity=1, at=LATER))
    seed = "R-1:" + chain(_keys(before))  # recomputed from program-rules.md's text
    assert _published_seed(engine, "R-1") == seed
    last_first = drawn(seed, ["A-2", "A-4"])[::-1]
    assert [i for i, _, _ in released(engine)] == [
        "R-2/A-3/released",
        *(f"R-1/{a}/released" for a in last_first),
    ]
    assert {r for _, r, _ in released(engine)} == {"capacity_reduced"}
    assert outcome.over_capacity == 0 and states(engine)["R-1/A-1"] == ("confirmed", None)
    outcome = feed(intake, posted("V-1", version=3, capacity=0, at=LATER))
    assert outcome.over_capacity == 1 and states(engine)["R-1/A-1"] == ("confirmed", None)
    assert len(released(engine)) == 3


def _keys(bodies: list[bytes]) -> list[tuple[str, str]]:
    return [(e["source"], e["id"]) for e in map(json.loads, bodies)]


def _published_seed(engine, round_id: str) -> str:
    [seed] = [
        e["data"]["lottery_seed"]
        for e in outbound(engine)
        if e["type"] == "jip.round.completed.v1" and e["data"]["round_id"] == round_id
    ]
    return str(seed)


def test_the_cut_order_follows_the_lottery_not_the_id(engine):
    """Two rounds of the same people that draw opposite orders release opposite offers."""
    results = set()
    for n in range(6):
        intake = make_intake(engine, GreedySolver())
        suffix = f"-{n}"
        people = [registered(f"A-{k}{suffix}") for k in (1, 2)]
        feed(intake, *people, posted(f"V-1{suffix}", capacity=2))
        feed(intake, round_requested(f"R{suffix}", at=R1_AT))
        feed(intake, posted(f"V-1{suffix}", version=2, capacity=1, at=LATER))
        [cut] = [i for i, _, _ in released(engine) if i.startswith(f"R{suffix}/")]
        seed = _published_seed(engine, f"R{suffix}")
        assert cut == f"R{suffix}/{drawn(seed, [f'A-1{suffix}', f'A-2{suffix}'])[-1]}/released"
        results.add(cut.split("/")[1][:3])
        gone = [withdrawn(f"A-{k}{suffix}", version=2, at=LATER) for k in (1, 2)]
        feed(intake, *gone, closed(f"V-1{suffix}", version=3, at=LATER))
    assert results == {"A-1", "A-2"}  # neither id wins every draw


def test_a_posting_that_keeps_enough_capacity_releases_nothing(engine):
    intake = make_intake(engine, GreedySolver())
    feed(intake, registered("A-1"), posted("V-1", capacity=3), round_requested("R-1", at=R1_AT))
    outcome = feed(intake, posted("V-1", version=2, capacity=1, at=LATER))
    assert released(engine) == [] and outcome.accepted == 1


def test_expiry_releases_offers_one_second_past_their_deadline_not_those_due_exactly_then(
    engine,
):
    intake = make_intake(engine, GreedySolver())
    feed(intake, registered("A-1"), registered("A-2"), posted("V-1", capacity=2))
    feed(intake, round_requested("R-1", at=R1_AT))
    feed(intake, responded("R-1/A-2", "host"))
    feed(intake, round_requested("R-2", at=R1_DUE))
    assert released(engine) == []
    feed(intake, round_requested("R-3", at=R1_DUE + dt.timedelta(seconds=1)))
    assert released(engine) == [
        ("R-1/A-1/released", "expired", "2023-04-15T00:00:01Z"),
        ("R-1/A-2/released", "expired", "2023-04-15T00:00:01Z"),
    ]
    assert ids(engine)[-5:] == [  # the releases come before the round's own events
        "R-1/A-1/released",
        "R-1/A-2/released",
        "placement-R-3-A-1",
        "placement-R-3-A-2",
        "round-completed-R-3",
    ]


def test_expiry_spares_confirmed_offers_and_later_rounds_refill_the_freed_seats(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    feed(intake, registered("A-1"), registered("A-2"), posted("V-1", capacity=1))
    feed(intake, posted("V-2"), round_requested("R-1", at=R1_AT))
    feed(intake, responded("R-1/A-1", "host"), responded("R-1/A-1", "applicant"))
    feed(intake, registered("A-3"), round_requested("R-2", at=R1_DUE + dt.timedelta(days=1)))
    assert states(engine)["R-1/A-1"] == ("confirmed", None)
    assert states(engine)["R-1/A-2"] == ("released", "expired")
    assert states(engine)["R-2/A-2"] == ("proposed", None)  # back in the pool, seat refilled
    assert [p.applicant_id for p in solver.seen[-1].earlier_placements] == ["A-1"]


def test_a_dry_run_expires_nothing_computes_as_if_it_had_and_uses_up_no_round_id(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1", at=R1_AT))
    past_due = R1_DUE + dt.timedelta(days=1)
    for event_id in ("dry-1", "dry-2"):
        feed(intake, round_requested("R-2", event_id=event_id, at=past_due, dry_run=True))
    assert solver.seen[-1].earlier_placements == () and released(engine) == []
    assert states(engine) == {"R-1/A-1": ("proposed", None)}
    dry = [i for i in ids(engine) if i.startswith("round-completed-R-2")]
    assert len(dry) == 2 and len(set(dry)) == 2 and all("/dry-" in i for i in dry)
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(RoundRow)).scalar() == 1
    outcome = feed(intake, round_requested("R-2", event_id="real", at=past_due))
    assert outcome.rounds == ["R-2"] and ids(engine)[-1] == "round-completed-R-2"
    assert states(engine) == {"R-1/A-1": ("released", "expired"), "R-2/A-1": ("proposed", None)}


def test_a_round_requested_after_its_period_or_before_its_year_is_a_dead_letter_on_time(engine):
    solver = GreedySolver()
    intake = make_intake(engine, solver)
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1", at=R1_AT))
    period_end = dt.datetime(2023, 6, 30, 15, tzinfo=dt.UTC)  # 2023-07-01 00:00 Asia/Tokyo
    year_start = dt.datetime(2022, 12, 31, 15, tzinfo=dt.UTC)  # 2023-01-01 00:00 Asia/Tokyo
    outcome = feed(
        intake,
        round_requested("R-far", at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)),
        round_requested("R-end", at=period_end),
        round_requested("R-early", at=year_start - dt.timedelta(seconds=1)),
    )
    errors = dead_letter_errors(engine)
    assert outcome.rejected == 3 and [loc for loc, _ in errors] == ["time"] * 3
    assert "after the summer period of 2023 ends" in errors[0][1]
    assert "before program year 2023 starts" in errors[2][1]
    assert released(engine) == [] and len(solver.seen) == 1
    with engine.connect() as c:
        assert "rr-R-far" not in set(c.execute(select(InboxRow.event_id)).scalars())
    last_moment = period_end - dt.timedelta(seconds=1)
    outcome = feed(intake, round_requested("R-last", at=last_moment))
    assert outcome.rounds == ["R-last"] and released(engine)[0][1] == "expired"
