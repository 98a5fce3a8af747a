"""Messages a dead instance left unacknowledged come first, in stream order, on a real
nats-server: by the consumer reset (nats-server 2.14+) or, as on older servers, by holding the
consumer to one unacknowledged message until they are redelivered."""

import asyncio
import time

import nats
import pytest
from nats.js.api import StorageType

from contracts import STREAM
from services.intake.consumer import FILTERS_SINCE, RESET_SINCE, IntakeRecovery
from services.nats import broker
from services.nats.broker import INTAKE_DURABLE, intake_consumer_config
from tests.conftest import LEGACY_ENV

pytestmark = pytest.mark.integration

BATCH = 10
TOTAL = 40
LEFT_BY_THE_DEAD = 25
"""Fewer than the pipeline's 3 batches: the server would hand out later messages meanwhile."""


async def _dead_instance_leaves_pending(url: str) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    await js.add_stream(name=STREAM, subjects=["jip.>"], storage=StorageType.FILE)
    await js.add_consumer(STREAM, intake_consumer_config(BATCH))
    for i in range(TOTAL):
        await js.publish("jip.applicant.registered", str(i).encode())
    dead = await js.pull_subscribe_bind(INTAKE_DURABLE, STREAM)
    fetched = await dead.fetch(LEFT_BY_THE_DEAD, timeout=2)
    assert len(fetched) == LEFT_BY_THE_DEAD
    await client.close()  # like SIGKILL: no ack, no nak


async def _take_everything(url: str, recovery: IntakeRecovery, timeout: float) -> list[int]:
    client = await nats.connect(url)
    try:
        await recovery.before_fetching(client)
        live = await client.jetstream().pull_subscribe_bind(INTAKE_DURABLE, STREAM)
        await recovery.after_started(client)
        seqs: list[int] = []
        deadline = time.monotonic() + timeout
        while len(seqs) < TOTAL and time.monotonic() < deadline:
            try:
                msgs = await live.fetch(BATCH, timeout=0.5)
            except TimeoutError:  # nats-py's own, or asyncio's (see PartialBatchSafe)
                continue
            for m in msgs:
                seqs.append(m.metadata.sequence.stream)
                await m.ack()
        await asyncio.sleep(1.0)  # the release task's next look
        info = await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE)
        assert info.config.max_ack_pending == broker.PIPELINE * BATCH
        await recovery.close()
        return seqs
    finally:
        await client.close()


async def test_a_reset_hands_out_what_a_dead_instance_left_first_and_at_once(fresh_nats_url):
    await _dead_instance_leaves_pending(fresh_nats_url)
    started = time.monotonic()

    seqs = await _take_everything(fresh_nats_url, IntakeRecovery(BATCH, reset=True), 10)

    assert seqs == list(range(1, TOTAL + 1))
    assert time.monotonic() - started < broker.ACK_WAIT_SECONDS


async def test_without_reset_the_consumer_is_held_until_the_pending_messages_commit(
    fresh_nats_url, monkeypatch
):
    """The older servers' way; ack_wait cut to 2 s so the redelivery comes soon."""
    monkeypatch.setattr(broker, "ACK_WAIT_SECONDS", 2.0)
    await _dead_instance_leaves_pending(fresh_nats_url)
    recovery = IntakeRecovery(BATCH, reset=False)

    seqs = await _take_everything(fresh_nats_url, recovery, 20)

    assert seqs == list(range(1, TOTAL + 1))
    assert recovery.held_through is None


async def test_a_server_without_reset_gets_the_hold_on_its_own_and_keeps_stream_order(
    legacy_nats_url, monkeypatch, caplog
):
    """No `reset` forced: the recovery must see the server's version and hold, not send a
    reset request the server does not answer."""
    monkeypatch.setattr(broker, "ACK_WAIT_SECONDS", 2.0)
    client = await nats.connect(legacy_nats_url)
    version = client.connected_server_version
    await client.close()
    figures = (version.major, version.minor)
    assert FILTERS_SINCE <= figures < RESET_SINCE, f"{LEGACY_ENV} names a {version} server"
    await _dead_instance_leaves_pending(legacy_nats_url)
    recovery = IntakeRecovery(BATCH)

    seqs = await _take_everything(legacy_nats_url, recovery, 30)

    assert seqs == list(range(1, TOTAL + 1))
    assert recovery.held_through is None
    assert any("intake held to one message" in r.getMessage() for r in caplog.records)


async def test_a_reset_nobody_answers_falls_back_to_the_hold_and_keeps_stream_order(
    legacy_nats_url, monkeypatch, caplog
):
    """As when the client's node runs 2.14+ but the consumer's leader does not (a cluster
    upgraded node by node): the reset is asked for and not answered. Before the fallback the
    start failed on the request's timeout, and a resync retried it forever."""
    monkeypatch.setattr(broker, "ACK_WAIT_SECONDS", 2.0)
    await _dead_instance_leaves_pending(legacy_nats_url)
    recovery = IntakeRecovery(BATCH, reset=True)

    seqs = await _take_everything(legacy_nats_url, recovery, 40)

    assert seqs == list(range(1, TOTAL + 1))
    messages = [r.getMessage() for r in caplog.records]
    assert any("intake consumer reset not answered" in m for m in messages), messages
    assert any("intake held to one message" in m for m in messages), messages
