"""The intake keeps moving during a long round (issue 17, part 4), on real NATS JetStream and
PostgreSQL: events published while a round runs are stored and acknowledged at once, applied
after the round in stream order (a withdrawal still releases the offer the round makes), and
held messages an instance leaves behind are applied first by the next one."""

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from contracts import ApplicantWithdrawn, Kind, make_event, to_json_bytes
from matching import run_round
from services.app import rulesets_for
from services.ops.offline import run_offline
from services.runtime import publish_events, read_stream, running_service, wait_round
from services.sample.generator import APPLICANT_SOURCE, generate_year, round_request
from services.store.tables import ApplicantRow, HeldInboundRow, PlacementRow, table_of
from tests.integration.intake_support import (
    ROUND,
    YEAR,
    accepted_keys,
    logged_ids,
    settings_for,
    until_acknowledged,
)

pytestmark = pytest.mark.integration

LATE = dt.datetime(2023, 5, 1, 12, tzinfo=dt.UTC)


class HeldSolve:
    """`run_round` that waits, once started, until the test lets it go on."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, snapshot: Any) -> Any:
        self.started.set()
        if not self.go_on.wait(120):
            raise TimeoutError("the test never let the round go on")
        return run_round(snapshot)


def _year() -> list[bytes]:
    year = generate_year(seed=5, applicants=80, vacancies=10, program_year=YEAR)
    return [*year, round_request(ROUND, YEAR, "summer", seq=1)]


def _placed_by_offline(settings: Any, bodies: list[bytes]) -> list[str]:
    outbound = run_offline(bodies, rulesets_for(settings), None, lambda: LATE)
    docs = [json.loads(b) for b in outbound]
    return sorted(
        d["data"]["applicant_id"] for d in docs if d["type"].startswith("jip.placement.made")
    )


def _later_events(applicant_id: str, extra: int) -> list[bytes]:
    """A withdrawal of `applicant_id` (placed by the round), then `extra` registrations' worth of
    withdrawals of applicants nobody registered (valid events, applied as unknown ones)."""
    bodies = []
    for n, who in enumerate([applicant_id, *(f"A-late-{k}" for k in range(extra))]):
        data = ApplicantWithdrawn(applicant_id=who, version=99)
        event = make_event(
            Kind.APPLICANT_WITHDRAWN, f"late-{n}", data, LATE, APPLICANT_SOURCE, None
        )
        bodies.append(to_json_bytes(event))
    return bodies


def _count(engine: Engine, column: Any, *where: Any) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count(column)).where(*where)).scalar_one())


def _withdrawn(engine: Engine, applicant_id: str) -> bool:
    with engine.connect() as c:
        applicants = table_of(ApplicantRow).c
        row = c.execute(
            select(applicants.withdrawn).where(applicants.applicant_id == applicant_id)
        ).scalar()
        return bool(row)


async def _later_during_round(
    settings: Any, url: str, solve: HeldSolve, year: list[bytes], later: list[bytes]
) -> None:
    """Publish the year and its round, then `later` once the round runs; until all are
    acknowledged (the round still running)."""
    await publish_events(settings, year, broker_url=url)
    assert await asyncio.to_thread(solve.started.wait, 60)
    await publish_events(settings, later, broker_url=url)
    await until_acknowledged(settings, url, timeout=30)


async def _until_none_held(engine: Engine) -> None:
    for _ in range(100):
        if _count(engine, HeldInboundRow.stream_seq) == 0:
            return
        await asyncio.sleep(0.1)


async def test_events_during_a_round_are_acknowledged_at_once_and_applied_after_it_in_order(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=10)
    year = _year()
    placed = _placed_by_offline(settings, year)
    later = _later_events(placed[0], extra=24)
    engine = create_engine(fresh_database_url)
    solve = HeldSolve()
    try:
        async with running_service(settings, solve) as svc:
            await _later_during_round(settings, svc.broker_url, solve, year, later)
            # acknowledged while the round still runs, and not applied yet
            assert not solve.go_on.is_set()
            assert _count(engine, HeldInboundRow.stream_seq) >= len(later)
            assert not _withdrawn(engine, placed[0])
            assert _count(engine, PlacementRow.applicant_id) == 0

            solve.go_on.set()
            answer = await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
            assert answer["type"] == "jip.round.completed.v1"
            await _until_none_held(engine)
            released = await _released(settings, svc.broker_url, placed[0])
        assert _count(engine, HeldInboundRow.stream_seq) == 0
        assert _withdrawn(engine, placed[0])
        assert released == "applicant_withdrawn"  # the offer the round made, released after it
        logged = logged_ids(engine)
        assert [seq for seq, _ in logged] == sorted(seq for seq, _ in logged)
        assert [i for _, i in logged] == [i for _, i in accepted_keys([*year, *later])]
        assert svc.parts.consumer.held_batches >= len(later) // 10
        held_total = svc.parts.metrics.registry.get_sample_value("intern_match_intake_held_total")
        assert held_total is not None and held_total >= len(later)
    finally:
        solve.go_on.set()
        engine.dispose()


async def _released(settings: Any, url: str, applicant_id: str) -> str | None:
    """The reason of the applicant's `placement.released` on the broker (None if none came)."""

    def of_applicant(events: list[tuple[str, dict[str, Any]]]) -> bool:
        return any(doc["data"]["applicant_id"] == applicant_id for _, doc in events)

    try:
        events = await read_stream(
            settings, "jip.placement.released", broker_url=url, until=of_applicant, timeout=30
        )
    except TimeoutError:
        return None
    reasons = [doc["data"]["reason"] for _, doc in events]
    return next(
        str(r)
        for (_, doc), r in zip(events, reasons, strict=True)
        if doc["data"]["applicant_id"] == applicant_id
    )


async def test_messages_held_when_an_instance_stops_are_applied_first_by_the_next(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=10)
    year = _year()
    placed = _placed_by_offline(settings, year)
    later = _later_events(placed[-1], extra=14)
    engine = create_engine(fresh_database_url)
    solve = HeldSolve()
    try:
        async with running_service(settings, solve) as svc:
            await _later_during_round(settings, svc.broker_url, solve, year, later)
            consumer = svc.parts.consumer
            drain = consumer.drain

            async def stopping_then_go_on(timeout: float) -> None:
                """The round finishes once the stop began: nothing after it is applied."""
                stopping = asyncio.create_task(drain(timeout))
                await asyncio.sleep(0)  # drain marks the consumer stopping before it awaits
                solve.go_on.set()
                await stopping

            consumer.drain = stopping_then_go_on  # type: ignore[method-assign]
        held = _count(engine, HeldInboundRow.stream_seq)
        assert held == len(later)  # the round committed; what came after it waits, stored
        assert not _withdrawn(engine, placed[-1])

        async with running_service(settings) as svc:
            await _until_none_held(engine)
            released = await _released(settings, svc.broker_url, placed[-1])
        assert _count(engine, HeldInboundRow.stream_seq) == 0
        assert released == "applicant_withdrawn"
        logged = logged_ids(engine)
        assert [seq for seq, _ in logged] == sorted(seq for seq, _ in logged)
        assert [i for _, i in logged] == [i for _, i in accepted_keys([*year, *later])]
    finally:
        solve.go_on.set()
        engine.dispose()
