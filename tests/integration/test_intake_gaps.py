"""Deliveries the intake never received, on a real nats-server and PostgreSQL: FastStream (0.7.8)
clears a batch it was filling when a fetch raises ConnectionClosedError (a broker node going
away), leaving those messages for redelivery after ack_wait, behind later events. The intake
sees the skipped delivery numbers, lets the batches before them commit, resets the consumer
(nats-server 2.14+) or holds it (older servers), and commits everything in stream order."""

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from nats.errors import ConnectionClosedError

from services.nats import broker
from services.runtime import publish_events, running_service, wait_round
from tests.integration.intake_support import (
    ROUND,
    accepted_keys,
    logged_ids,
    settings_for,
    until_acknowledged,
    year_and_round,
)

pytestmark = pytest.mark.integration


def lose_a_fetch(subscriber: Any, which: int) -> list[int]:
    """The `which`-th fetch that returns messages raises ConnectionClosedError instead, after
    the server delivered them, as when the node the client talks to goes away; returns the
    stream sequences it lost (filled in when it happens)."""
    subscription = subscriber.subscription
    fetch = subscription.fetch
    lost: list[int] = []
    calls = 0

    async def lossy(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        msgs = await fetch(*args, **kwargs)
        if msgs:
            calls += 1
            if calls == which:
                lost.extend(m.metadata.sequence.stream for m in msgs)
                raise ConnectionClosedError
        return msgs

    subscription.fetch = lossy
    return lost


async def _run_with_a_lost_fetch(url: str, database_url: str, tmp_path: Path) -> dict[str, Any]:
    settings = settings_for(url, database_url, tmp_path, batch_size=20)
    bodies = year_and_round()
    async with running_service(settings) as svc:
        # the second: the fetch under way when the wrapper goes in is the original one, and a
        # lost last fetch has no later delivery to show the gap (it comes back after ack_wait)
        lost = lose_a_fetch(svc.parts.subscriber, which=2)
        started = time.monotonic()
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
        await until_acknowledged(settings, svc.broker_url, timeout=60)
        elapsed = time.monotonic() - started
        gaps = svc.parts.metrics.intake_delivery_gaps._value.get()
        logged = logged_ids(svc.engine)
    return {"bodies": bodies, "lost": lost, "elapsed": elapsed, "gaps": gaps, "logged": logged}


async def test_a_lost_fetch_is_taken_again_first_and_at_once_on_a_server_with_reset(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING)
    run = await _run_with_a_lost_fetch(fresh_nats_url, fresh_database_url, tmp_path)

    assert run["lost"], "no fetch was lost: the test proved nothing"
    assert [i for _, i in run["logged"]] == [i for _, i in accepted_keys(run["bodies"])]
    assert [s for s, _ in run["logged"]] == sorted(s for s, _ in run["logged"])
    assert run["gaps"] >= 1
    assert run["elapsed"] < broker.ACK_WAIT_SECONDS  # the reset, not the redelivery timeout
    missed = [r for r in caplog.records if "intake missed deliveries" in r.getMessage()]
    assert 1 <= len(missed) <= 3, [r.getMessage() for r in missed]


async def test_a_lost_fetch_on_a_server_without_reset_waits_for_the_redelivery_in_order(
    legacy_nats_url: str, fresh_database_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """nats-server before 2.14: held to one message until the lost ones come back (ack_wait
    cut to 2 s here)."""
    monkeypatch.setattr(broker, "ACK_WAIT_SECONDS", 2.0)
    run = await _run_with_a_lost_fetch(legacy_nats_url, fresh_database_url, tmp_path)

    assert run["lost"]
    assert [i for _, i in run["logged"]] == [i for _, i in accepted_keys(run["bodies"])]
    assert [s for s, _ in run["logged"]] == sorted(s for s, _ in run["logged"])
    assert run["gaps"] >= 1
