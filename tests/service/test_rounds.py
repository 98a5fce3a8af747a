"""Rounds through the intake on SQLite: what a round sees, what it writes and publishes."""

import json

import pytest
from sqlalchemy import func, select, update

from matching import SolverUnavailable, load_ruleset
from services.intake.apply import Inbound, Intake
from services.outbound.outbox import mark_sent, pending
from services.store.tables import OutboxEntry, PlacementRow, RoundRow
from tests.support.inbound_events import YEAR, posted, registered, round_requested, withdrawn


def feed(intake, *bodies):
    return intake.process([Inbound(None, b) for b in bodies])


def placements(engine):
    with engine.connect() as c:
        return c.execute(select(PlacementRow).order_by(PlacementRow.applicant_id)).all()


def outbound(engine):
    return [json.loads(row.body) for row in pending(engine, limit=None)]


def test_a_round_sees_exactly_the_events_before_it_in_the_same_batch(intake, solver):
    outcome = feed(
        intake,
        registered("A-1"),
        posted("V-1", capacity=5),
        round_requested("R-1"),
        registered("A-2"),
        withdrawn("A-1", version=2),
        round_requested("R-2"),
    )
    first, second = solver.seen
    assert outcome.rounds == ["R-1", "R-2"]
    assert [a.applicant_id for a in first.applicants] == ["A-1"]
    assert [a.applicant_id for a in second.applicants] == ["A-2"]
    assert second.earlier_placements == ()  # A-1's withdrawal released its placement


def test_a_round_publishes_placements_then_unplaced_then_completed(intake, engine):
    feed(intake, registered("A-2"), registered("A-1"), registered("A-3"), posted("V-1", capacity=2))
    feed(intake, round_requested("R-1"))
    events = outbound(engine)
    assert [e["id"] for e in events] == [
        "placement-R-1-A-1",
        "placement-R-1-A-2",
        "unplaced-R-1-A-3",
        "round-completed-R-1",
    ]
    made, completed = events[0], events[-1]
    assert made["data"]["placement_id"] == "R-1/A-1" and made["subject"] == "applicant/A-1"
    assert made["source"] == "/intern-match" and made["time"] == completed["time"]
    assert (completed["data"]["placed"], completed["data"]["unplaced"]) == (2, 1)
    assert completed["data"]["slots_filled"] == 2 and completed["subject"] == "round/R-1"
    assert [p.applicant_id for p in placements(engine)] == ["A-1", "A-2"]


def test_the_outbound_time_is_the_round_requested_time(intake, engine):
    request = round_requested("R-1")
    feed(intake, registered("A-1"), request)
    times = {e["time"] for e in outbound(engine)}
    assert times == {json.loads(request)["time"]}


def test_a_repeated_round_id_writes_nothing_new_and_requeues_its_completion(intake, engine, solver):
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1"))
    mark_sent(engine, [row.seq for row in pending(engine)])
    feed(intake, registered("A-2"), round_requested("R-1", event_id="rr-again"))
    (requeued,) = pending(engine)
    assert requeued.event_id == "round-completed-R-1" and len(solver.seen) == 1
    assert [p.applicant_id for p in placements(engine)] == ["A-1"]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(OutboxEntry)).scalar() == 2


def test_a_dry_run_writes_no_placements_and_publishes_only_its_completion(intake, engine):
    outcome = feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1", dry_run=True))
    (completed,) = outbound(engine)
    assert outcome.rounds == ["R-1"] and placements(engine) == []
    assert completed["type"] == "jip.round.completed.v1" and completed["data"]["dry_run"] is True
    assert completed["data"]["placed"] == 1


def test_a_dry_run_does_not_count_as_an_earlier_placement(intake, solver):
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-0", dry_run=True))
    feed(intake, round_requested("R-1"))
    assert solver.seen[1].earlier_placements == ()


def test_an_unknown_program_year_fails_the_round(intake, engine, solver):
    feed(intake, round_requested("R-31", year=2031))
    (failed,) = outbound(engine)
    assert failed["id"] == "round-failed-R-31" and failed["type"] == "jip.round.failed.v1"
    assert failed["data"] == {"round_id": "R-31", "reason": "unknown program year 2031"}
    assert solver.seen == []
    with engine.connect() as c:
        assert c.execute(select(RoundRow.status)).scalar_one() == "failed"


def test_a_solver_exception_fails_the_round_without_personal_data_and_intake_goes_on(engine):
    def broken(snapshot):  # a round's snapshot carries no names; a date of birth it does
        raise ValueError(f"cannot place one born {snapshot.applicants[0].date_of_birth}")

    intake = Intake(engine, lambda year: load_ruleset(), lambda: None, broken)
    outcome = feed(intake, registered("A-1"), round_requested("R-1"), registered("A-2"))
    (failed,) = outbound(engine)
    assert outcome.accepted == 3 and outcome.rounds == ["R-1"]
    assert failed["data"]["reason"] == "the solver raised ValueError"
    assert "2000-04-17" not in json.dumps(failed)


def test_a_solver_worker_that_ended_leaves_the_batch_uncommitted_to_be_tried_again(engine):
    """No outcome of the market (matching.solver.flow.FlowWorker): no round.failed, the round id
    not used up; the consumer's settler tries the batch again (and isolates it if it keeps
    failing)."""

    def killed(snapshot):
        raise SolverUnavailable("the min-cost-flow worker ended without an answer (exit code -9)")

    intake = Intake(engine, lambda year: load_ruleset(), lambda: None, killed)
    with pytest.raises(SolverUnavailable):
        feed(intake, registered("A-1"), round_requested("R-1"))
    assert outbound(engine) == []
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(RoundRow)).scalar_one() == 0


def test_earlier_placements_take_seats_from_later_rounds(intake, engine, solver):
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1"))
    feed(intake, registered("A-2"), round_requested("R-2"))
    assert [p.applicant_id for p in placements(engine)] == ["A-1"]
    with engine.begin() as c:
        c.execute(update(OutboxEntry).values(sent_at=None))
    assert outbound(engine)[-1]["data"]["placed"] == 0


def test_the_default_solver_is_the_real_round_and_places_an_eligible_applicant(engine):
    intake = Intake(engine, lambda year: load_ruleset() if year == YEAR else None, lambda: None)
    feed(intake, registered("A-1"), registered("A-2", nationality="CN"), posted("V-1"))
    outcome = feed(intake, round_requested("R-1", mode="stable"))
    events = outbound(engine)
    assert outcome.rounds == ["R-1"] and [e["id"] for e in events] == [
        "placement-R-1-A-1",
        "unplaced-R-1-A-2",
        "round-completed-R-1",
    ]
    assert events[1]["data"]["reasons"][0]["code"] == "nationality_not_eligible"
    assert events[2]["data"]["status"] == "optimal"


def test_a_repeated_failed_round_id_requeues_its_failure(intake, engine, solver):
    feed(intake, round_requested("R-31", year=2031))
    mark_sent(engine, [row.seq for row in pending(engine)])
    outcome = feed(intake, round_requested("R-31", year=2023, event_id="retry"))
    assert outcome.rounds == [] and solver.seen == []
    assert [row.event_id for row in pending(engine)] == ["round-failed-R-31"]


def test_the_collector_rests_during_a_round_and_resumes_after_it_even_when_the_solver_raises(
    engine,
):
    """A national round's millions of objects kept CPython's collector busy for a sixth of its
    time; it is paused for the round and must be running again afterwards."""
    import gc

    from matching.round import run_round

    seen: list[bool] = []

    def observed(snapshot):
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise ValueError("solver defect")
        return run_round(snapshot)

    intake = Intake(engine, lambda year: load_ruleset(), lambda: None, observed)
    assert gc.isenabled()
    feed(intake, registered("A-1"), posted("V-1"), round_requested("R-1"))
    feed(intake, round_requested("R-2"))
    assert seen == [False, False]
    assert gc.isenabled()
