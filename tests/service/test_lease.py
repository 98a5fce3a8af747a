"""The active instance's lease (services.store.lease) and the role kept by it
(services.store.leadership), on SQLite and on PostgreSQL (where the fencing check goes in one
pipeline with a batch's last writes): takeover only of a lease that ran out, a new token each
time, and the fencing check that keeps a former holder's batch from committing."""

import asyncio
import time

import pytest
from sqlalchemy import Engine, func, select

from services.intake.apply import Inbound, Intake
from services.outbound.outbox import mark_sent, pending
from services.store.errors import LeaseLostError
from services.store.leadership import Leadership, Role
from services.store.lease import Fence, read_lease, release, renew, try_acquire
from services.store.tables import EventLogRow
from tests.service.offer_support import engine, pg_url
from tests.support.inbound_events import registered, round_requested

__all__ = ["engine", "pg_url"]  # fixtures: each test on SQLite and on PostgreSQL


def test_a_held_lease_is_not_taken_and_one_that_ran_out_is_taken_with_a_new_token(engine):
    assert try_acquire(engine, "a", 60) == 1
    assert try_acquire(engine, "b", 60) is None
    assert renew(engine, "a", 1, 0.01)
    time.sleep(0.05)
    assert try_acquire(engine, "b", 60) == 2
    assert not renew(engine, "a", 1, 60), "the former holder renews a token no longer there"
    found = read_lease(engine)
    assert found is not None and (found.holder, found.token) == ("b", 2)
    release(engine, "b", 2)
    assert try_acquire(engine, "a", 60) == 3, "a released lease is taken at once"


def _fenced_intake(intake: Intake, token: int | None) -> Intake:
    intake.fence = Fence(idle_seconds=1)
    intake.fence.token = token
    return intake


def _events(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(EventLogRow)).scalar_one())


def test_a_batch_of_an_instance_whose_token_was_taken_over_commits_nothing(intake, engine):
    first = try_acquire(engine, "a", 0.01)
    time.sleep(0.05)
    assert try_acquire(engine, "b", 60) == 2
    fenced = _fenced_intake(intake, first)
    batch = [Inbound(None, registered("A-1")), Inbound(None, round_requested("r-1"))]
    with pytest.raises(LeaseLostError):
        fenced.process(batch)
    assert _events(engine) == 0
    assert pending(engine) == []

    fenced.fence.token = 2  # the holder's own batch commits
    fenced.process(batch)
    assert _events(engine) == 2


def test_an_instance_that_is_not_active_commits_nothing_even_on_a_free_lease(intake, engine):
    fenced = _fenced_intake(intake, None)
    with pytest.raises(LeaseLostError):
        fenced.process([Inbound(None, registered("A-1"))])
    assert _events(engine) == 0


def test_the_relay_of_a_former_holder_marks_nothing_sent(intake, engine):
    assert try_acquire(engine, "a", 60) == 1
    _fenced_intake(intake, 1).process([Inbound(None, round_requested("r-1"))])
    rows = pending(engine)
    assert rows
    stale = Fence(idle_seconds=1)
    stale.token = 0
    with pytest.raises(LeaseLostError):
        mark_sent(engine, [r.seq for r in rows], fence=stale)
    assert len(pending(engine)) == len(rows)


async def test_leadership_takes_a_free_lease_steps_down_when_taken_over_and_runs_work_meanwhile(
    engine,
):
    changes: list[tuple[Role, str]] = []
    leader = Leadership(engine, 1.0, "a", on_change=lambda r, why: changes.append((r, why)))
    standby = Leadership(engine, 1.0, "b")
    runs: list[str] = []

    async def work() -> None:
        runs.append("started")
        try:
            await asyncio.sleep(3600)
        finally:
            runs.append("cancelled")

    leader.start()
    await asyncio.wait_for(leader.decided(), 5)
    assert leader.is_active() and leader.fence.token == 1
    timer = asyncio.create_task(leader.while_active(work))
    standby.start()
    await asyncio.wait_for(standby.decided(), 5)
    assert not standby.is_active()
    await asyncio.sleep(0.1)
    assert runs == ["started"]

    await leader.stop()  # gives the lease back: the standby takes it within a quarter lease
    await asyncio.wait_for(standby.wait_active(), 5)
    assert standby.fence.token == 2 and not leader.is_active() and leader.fence.token is None
    await asyncio.sleep(0.05)
    assert runs == ["started", "cancelled"]
    assert changes == [(Role.ACTIVE, "lease taken"), (Role.STANDBY, "stopping")]
    timer.cancel()
    await standby.stop()


async def test_an_active_instance_whose_renewals_fail_steps_down_within_its_lease(engine):
    leader = Leadership(engine, 1.0, "a")
    leader.start()
    await asyncio.wait_for(leader.decided(), 5)
    assert leader.is_active()
    engine.dispose()
    broken = leader.engine
    leader.engine = _Unreachable(broken)
    await asyncio.wait_for(leader.wait_lost(), 3)
    assert leader.role is Role.STANDBY and leader.fence.token is None
    leader.engine = broken
    await leader.stop()


class _Unreachable:
    """An engine whose every transaction fails, as a database that went away."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect

    def begin(self) -> object:
        raise ConnectionError("database away")

    def connect(self) -> object:
        raise ConnectionError("database away")
