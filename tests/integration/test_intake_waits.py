"""The intake while it cannot move, on a real nats-server and PostgreSQL: a database that is away
dead-letters nothing and is logged once, not per retry; /readyz turns red while work waits and
nothing moves, green again after, and a long round is not taken for a stall."""

import asyncio
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import services.app
from services.nats.backoff import Backoff
from services.observability.health import HealthServer
from services.runtime import publish_events, running_service, wait_round
from tests.integration.intake_support import (
    ROUND,
    accepted_keys,
    dead_letters,
    logged_ids,
    settings_for,
    until_acknowledged,
    year_and_round,
)

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 3.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_away_dead_letters_nothing_logs_once_and_everything_commits_in_order(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path, caplog: Any
) -> None:
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=20)
    bodies = year_and_round()
    away = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/gone",
        connect_args={"connect_timeout": 1},
    )
    outage = threading.Event()
    caplog.set_level(logging.INFO)
    async with running_service(settings) as svc:
        consumer = svc.parts.consumer
        apply = consumer.process

        def through_the_outage(batch: Any, parsed: Any) -> Any:
            if outage.is_set():
                with away.connect():  # a real refused connection: psycopg's OperationalError
                    pass
            return apply(batch, parsed)

        consumer.process, consumer.backoff = through_the_outage, Backoff(initial=0.02, cap=0.05)
        outage.set()
        caplog.clear()
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        await asyncio.sleep(OUTAGE_SECONDS)
        during = logged_ids(svc.engine)
        outage.clear()
        await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
        await until_acknowledged(settings, svc.broker_url, timeout=30)
        intake_lines = [r for r in caplog.records if r.name.startswith("services.")]
        failures = consumer.failures
        logged = logged_ids(svc.engine)
        not_contract = dead_letters(svc.engine, lambda e: e["loc"] in ("database", "intake"))
    away.dispose()

    assert during == [] and failures > 20  # retried all along
    assert not_contract == []
    assert [i for _, i in logged] == [i for _, i in accepted_keys(bodies)]
    assert [s for s, _ in logged] == sorted(s for s, _ in logged)
    about_failing = [r for r in intake_lines if "failed" in r.getMessage()]
    assert len(about_failing) <= 2, [r.getMessage() for r in about_failing]
    assert any("recovered" in r.getMessage() for r in intake_lines)


def _probes(svc: Any) -> HealthServer:
    parts = svc.parts
    return HealthServer(parts.broker, svc.engine, parts.metrics, progress=parts.progress)


def _stalled_gauge(svc: Any) -> float:
    value = svc.parts.metrics.registry.get_sample_value("intern_match_intake_stalled")
    return float(value if value is not None else -1)


async def test_readiness_is_red_while_work_waits_and_nothing_moves_and_green_after(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    """A lock held on the applicants table stops every commit; SELECT 1 still answers, and the
    consumer's lag (num_pending) is 0 once the batches are fetched: only progress tells."""
    settings = settings_for(
        fresh_nats_url, fresh_database_url, tmp_path, batch_size=20, ready_stall_seconds=1.5
    )
    locker = create_engine(fresh_database_url)
    async with running_service(settings) as svc:
        probes = _probes(svc)
        assert (await probes.readiness())[0] is True
        holder = locker.connect()
        holder.begin()
        holder.execute(text("LOCK TABLE applicants IN ACCESS EXCLUSIVE MODE"))
        await publish_events(settings, year_and_round()[:-1], broker_url=svc.broker_url)
        red = await _until(probes, lambda ready, checks: not checks["intake_progress"]["ok"])
        gauge_red = _stalled_gauge(svc)
        holder.rollback()
        holder.close()
        await until_acknowledged(settings, svc.broker_url, timeout=30)
        green = await _until(probes, lambda ready, checks: ready)
        gauge_green = _stalled_gauge(svc)
    locker.dispose()

    ready, checks = red
    assert ready is False and checks["database"]["ok"] and checks["consumer_lag"]["ok"]
    assert checks["intake_progress"]["waiting"] > 0
    assert checks["intake_progress"]["stalled_seconds"] >= 1.5
    assert (gauge_red, gauge_green) == (1, 0)
    assert green[1]["intake_progress"]["ok"] is True


async def test_a_round_longer_than_the_stall_threshold_keeps_readiness_green(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        fresh_nats_url, fresh_database_url, tmp_path, batch_size=20, ready_stall_seconds=1.0
    )

    def slow_round(snapshot: Any) -> Any:
        time.sleep(3.0)
        return services.app.run_round(snapshot)

    seen: list[tuple[bool, bool]] = []
    async with running_service(settings, solve_round=slow_round) as svc:
        probes = _probes(svc)
        await publish_events(settings, year_and_round(), broker_url=svc.broker_url)
        answer = asyncio.create_task(wait_round(settings, ROUND, 60, broker_url=svc.broker_url))
        while not answer.done():
            ready, checks = await probes.readiness()
            seen.append((checks["intake_progress"]["ok"], svc.parts.progress.round_running))
            await asyncio.sleep(0.2)
        await answer

    assert sum(1 for _, running in seen if running) >= 8  # polled all through the round
    assert all(ok for ok, _ in seen), seen


async def _until(probes: HealthServer, done: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        ready, checks = await probes.readiness()
        if done(ready, checks):
            return ready, checks
        assert time.monotonic() < deadline, checks
        await asyncio.sleep(0.25)
