"""The settler with hand-written fakes: whatever events of a batch fail, and however long the
database is away first, exactly the failing events are isolated, the rest commit once each in
stream order, nothing is isolated while the database is away, and the log says so once."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from services.intake.apply import BatchOutcome, Inbound
from services.intake.settle import Settler
from services.nats.backoff import Backoff


class FakeDatabase:
    """Commits a part unless it holds a poison; away (OperationalError, probe failing) for the
    first `away_tries` tries."""

    def __init__(self, poisons: set[int], away_tries: int) -> None:
        self.poisons = poisons
        self.away_tries = away_tries
        self.committed: list[int] = []
        self.isolated: list[tuple[int, str, str]] = []

    def _away(self) -> bool:
        if self.away_tries > 0:
            self.away_tries -= 1
            return True
        return False

    def process(self, batch: Sequence[Inbound], parsed: Sequence[Any]) -> BatchOutcome:
        if self._away():
            raise OperationalError("BEGIN", {}, ConnectionRefusedError())
        if any(m.stream_seq in self.poisons for m in batch):
            raise KeyError("a defect the event triggers")
        self.committed += [int(m.stream_seq or 0) for m in batch]
        return BatchOutcome(accepted=len(batch))

    def isolate(self, message: Inbound, parsed: Any, stage: str, error: str) -> BatchOutcome:
        if self._away():
            raise OperationalError("BEGIN", {}, ConnectionRefusedError())
        self.isolated.append((int(message.stream_seq or 0), stage, error))
        return BatchOutcome(rejected=1)

    def probe(self) -> None:
        if self.away_tries > 0:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError())


async def _parse(batch: Sequence[Inbound]) -> list[Any]:
    return [None for _ in batch]


def _settle(db: FakeDatabase, size: int) -> BatchOutcome | None:
    async def run() -> BatchOutcome | None:
        settler = Settler(
            db.process, _parse, db.isolate, db.probe, Backoff(0.0001, cap=0.0001), asyncio.Event()
        )
        batch = [Inbound("jip.applicant.registered", b"{}", seq) for seq in range(1, size + 1)]
        return await settler.settle(batch, asyncio.ensure_future(_parse(batch)))

    return asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_exactly_the_failing_events_are_isolated_and_the_rest_commit_in_order(data: Any) -> None:
    size = data.draw(st.integers(1, 64))
    poisons = data.draw(st.sets(st.integers(1, size), max_size=size))
    db = FakeDatabase(poisons, away_tries=data.draw(st.integers(0, 5)))

    outcome = _settle(db, size)

    assert outcome is not None
    assert db.committed == [s for s in range(1, size + 1) if s not in poisons]
    assert [(s, stage, error) for s, stage, error in db.isolated] == [
        (s, "intake", "KeyError") for s in sorted(poisons)
    ]
    assert (outcome.accepted, outcome.rejected) == (size - len(poisons), len(poisons))


def test_a_long_outage_logs_its_start_and_its_end_only(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="services.intake.settle")
    db = FakeDatabase(poisons=set(), away_tries=500)

    outcome = _settle(db, 10)

    lines = [r.getMessage() for r in caplog.records]
    assert outcome is not None and db.committed == list(range(1, 11)) and db.isolated == []
    assert lines == [
        "intake batch failed; retrying until it commits",
        "intake batch recovered",
    ]
    assert caplog.records[-1].failures == 500  # type: ignore[attr-defined]
