"""The relay on a real nats-server: an event the broker refuses as too large is parked (stored,
counted, logged by id) and the events behind it still go out in order; any other refusal keeps
blocking, and readiness says so (issue 11, item 3)."""

import asyncio
import datetime as dt
import logging
from pathlib import Path

import nats
import pytest
from sqlalchemy import select

from contracts import SERVICE_SOURCE, Kind, RoundFailed, make_event, to_json_bytes
from services.nats.broker import DUPLICATE_WINDOW_SECONDS, make_broker
from services.nats.embedded import EmbeddedNats
from services.observability.health import HealthServer
from services.observability.metrics import ServiceMetrics
from services.outbound.outbox import enqueue, parked_count, pending
from services.outbound.relay import OutboxRelay
from services.settings import Settings
from services.store.db import make_engine, migrate
from services.store.tables import OutboxEntry

pytestmark = pytest.mark.integration

T0 = dt.datetime(2023, 5, 1, 9, tzinfo=dt.UTC)
SMALL_PAYLOAD = 64 * 1024


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _server(tmp_path: Path, config: str) -> EmbeddedNats:
    path = tmp_path / "nats.conf"
    path.write_text(config)
    return EmbeddedNats(tmp_path / "broker", extra_args=["-c", str(path)])


def _enqueue(engine, *rows: tuple[str, int]) -> None:
    """round.failed events with a reason of `size` characters, one per (id, size)."""
    events = [
        make_event(
            Kind.ROUND_FAILED,
            i,
            RoundFailed(round_id=i, reason="r" * size),
            T0,
            SERVICE_SOURCE,
            None,
        )  # fmt: skip
        for i, size in rows
    ]
    with engine.begin() as connection:
        enqueue(connection, events)


async def _stream_ids(url: str) -> list[str]:
    client = await nats.connect(url)
    js = client.jetstream()
    info = await js.stream_info("JIP")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        found.append((await js.get_msg("JIP", seq)).headers["Nats-Msg-Id"])
    await client.close()
    return found


async def _create_stream(url: str, **config) -> None:
    client = await nats.connect(url)
    await client.jetstream().add_stream(
        name="JIP", subjects=["jip.>"], duplicate_window=DUPLICATE_WINDOW_SECONDS, **config
    )
    await client.close()


def _parked_ids(engine) -> list[str]:
    table = OutboxEntry.__table__
    with engine.connect() as c:
        query = select(table.c.event_id).where(table.c.parked_at.is_not(None))
        return [r.event_id for r in c.execute(query.order_by(table.c.seq))]


async def test_an_event_over_max_payload_is_parked_and_the_ones_behind_it_go_out(
    engine, tmp_path, caplog
):
    """Before: nats-py raised MaxPayloadError, the relay retried it forever, nothing behind it
    was ever published."""
    with _server(tmp_path, f"max_payload: {SMALL_PAYLOAD}\n") as server:
        await _create_stream(server.url)
        broker = make_broker(server.url, Settings())
        await broker.start()
        metrics = ServiceMetrics()
        relay = OutboxRelay(engine, broker, batch=3, ack_timeout=5.0,
                            on_parked=metrics.outbox_parked.inc)  # fmt: skip
        # exactly at the limit and one byte over: the headers count against it too
        at, over = _sized("edge", SMALL_PAYLOAD), _sized("edge-1", SMALL_PAYLOAD + 1)
        _enqueue(engine, ("a", 10), ("big", 100_000), ("b", 10), ("edge", at),
                 ("edge-1", over), ("c", 10), ("big-2", 70_000), ("d", 10))  # fmt: skip
        try:
            with caplog.at_level(logging.ERROR, logger="services.outbound.relay"):
                assert await relay.relay_backlog() == 5
            assert pending(engine, limit=None) == [] and broker.connection.is_connected
        finally:
            await broker.stop()
        assert _parked_ids(engine) == ["big", "edge-1", "big-2"] and parked_count(engine) == 3
        assert relay.parked == 3
        assert metrics.registry.get_sample_value("intern_match_outbox_parked_total") == 3
        assert await _stream_ids(server.url) == ["a", "b", "edge", "c", "d"]
        logged = [r for r in caplog.records if "parked" in r.getMessage()]
        assert [r.event_id for r in logged] == ["big", "edge-1", "big-2"]
        assert all("rrrr" not in str(r.__dict__) for r in logged)  # by id, never the body


def _sized(event_id: str, wire_bytes: int) -> int:
    """The reason length that makes the event's body and headers exactly `wire_bytes`."""
    headers = f"NATS/1.0\r\nNats-Msg-Id: {event_id}\r\nNats-Expected-Stream: JIP\r\n\r\n"
    event = make_event(Kind.ROUND_FAILED, event_id, RoundFailed(round_id=event_id, reason=""),
                       T0, SERVICE_SOURCE, None)  # fmt: skip
    return wire_bytes - len(headers) - len(to_json_bytes(event))


async def test_an_event_over_the_streams_message_size_is_parked_from_its_ack(engine, tmp_path):
    """The stream refuses it in the ack (JetStream error 10054): parked as well."""
    with _server(tmp_path, "") as server:
        await _create_stream(server.url, max_msg_size=4096)
        broker = make_broker(server.url, Settings())
        await broker.start()
        relay = OutboxRelay(engine, broker, ack_timeout=5.0)
        _enqueue(engine, ("a", 10), ("big", 8000), ("b", 10))
        try:
            assert await relay.relay_backlog() == 2
        finally:
            await broker.stop()
        assert _parked_ids(engine) == ["big"] and pending(engine) == []
        assert await _stream_ids(server.url) == ["a", "b"]


async def _ready_checks(probes: HealthServer) -> tuple[bool, dict]:
    ready, checks = await probes.readiness()
    return ready, checks["outbox_relay"]


async def _until(condition, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("refusal", ["no stream", "no permission"])
async def test_any_other_refusal_keeps_blocking_parks_nothing_and_readiness_turns_red(
    engine, tmp_path, refusal
):
    """A missing stream or a subject the service may not publish on is no reason to skip an
    event: the relay keeps it first in line, and /readyz is red until the broker takes it."""
    config = 'authorization { users = [ {user: svc, password: pw, permissions: {publish: {deny: ["jip.round.failed"]}}}, {user: admin, password: pw} ] }\n'  # noqa: E501
    with _server(tmp_path, config if refusal == "no permission" else "") as server:
        url = server.url.replace("nats://", "nats://svc:pw@")
        admin = server.url.replace("nats://", "nats://admin:pw@")
        if refusal == "no permission":
            await _create_stream(admin)
            url_for_fix = None
        else:
            url, admin, url_for_fix = server.url, server.url, server.url
        broker = make_broker(url, Settings())
        await broker.start()
        relay = OutboxRelay(engine, broker, poll=0.1, ack_timeout=0.5)
        probes = HealthServer(broker, engine, ServiceMetrics(), relay=relay,
                              relay_blocked_after=0.5)  # fmt: skip
        _enqueue(engine, ("a", 10), ("b", 10))
        relay.start()
        try:
            await _until(lambda: relay.blocked_seconds() > 0.6)
            ready, check = await _ready_checks(probes)
            assert not ready and check["ok"] is False and check["error"]
            assert [r.event_id for r in pending(engine)] == ["a", "b"]
            assert parked_count(engine) == 0 and relay.parked == 0
            if url_for_fix is not None:  # the stream appears: the relay goes on by itself
                await _create_stream(url_for_fix)
                await _until(lambda: not pending(engine))
                assert (await _ready_checks(probes))[1]["ok"] is True
        finally:
            await relay.stop(grace=2.0)
            await broker.stop()
        if url_for_fix is not None:
            assert await _stream_ids(admin) == ["a", "b"]
