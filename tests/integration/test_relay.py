"""The outbox relay over a real JetStream server: ids as Nats-Msg-Id, retries while it is away."""

import asyncio
import datetime as dt
import socket

import nats
import pytest

from contracts import SERVICE_SOURCE, Kind, RoundFailed, make_event
from services.nats.broker import DUPLICATE_WINDOW_SECONDS, make_broker
from services.nats.embedded import EmbeddedNats
from services.outbound.outbox import enqueue, pending, requeue
from services.outbound.relay import OutboxRelay
from services.settings import Settings
from services.store.db import make_engine, migrate

pytestmark = pytest.mark.integration

T0 = dt.datetime(2023, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _enqueue(engine, *ids: str) -> None:
    events = [
        make_event(
            Kind.ROUND_FAILED, i, RoundFailed(round_id=i, reason="test"), T0, SERVICE_SOURCE, None
        )
        for i in ids
    ]
    with engine.begin() as connection:
        enqueue(connection, events)


async def _stream_messages(url: str) -> list[tuple[str, str]]:
    client = await nats.connect(url)
    js = client.jetstream()
    info = await js.stream_info("JIP")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg("JIP", seq)
        found.append((msg.subject, msg.headers["Nats-Msg-Id"]))
    await client.close()
    return found


async def _create_stream(url: str) -> None:
    client = await nats.connect(url)
    await client.jetstream().add_stream(
        name="JIP", subjects=["jip.>"], duplicate_window=DUPLICATE_WINDOW_SECONDS
    )
    await client.close()


async def _until(condition, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_relay_publishes_rows_in_order_with_their_ids_and_a_resend_is_dropped(
    engine, fresh_nats_url
):
    await _create_stream(fresh_nats_url)
    broker = make_broker(fresh_nats_url, Settings())
    await broker.start()
    relay = OutboxRelay(engine, broker)
    try:
        _enqueue(engine, "r-1", "r-2", "r-3")
        assert await relay.relay_backlog() == 3
        with engine.begin() as connection:
            requeue(connection, "r-2")
        assert await relay.relay_backlog() == 1
        assert pending(engine) == []
    finally:
        await broker.stop()
    assert await _stream_messages(fresh_nats_url) == [
        ("jip.round.failed", "r-1"),
        ("jip.round.failed", "r-2"),
        ("jip.round.failed", "r-3"),
    ]


async def test_a_backlog_goes_out_in_order_while_earlier_batches_are_marked_sent(
    engine, fresh_nats_url, monkeypatch
):
    """Batch N is marked sent while N+1 is published. A marking that fails surfaces, and its
    rows go out again (same ids) on the next pass: nothing is left unsent or reordered."""
    import services.outbound.relay

    await _create_stream(fresh_nats_url)
    broker = make_broker(fresh_nats_url, Settings())
    await broker.start()
    relay = OutboxRelay(engine, broker, batch=4)
    ids = [f"b-{i:02d}" for i in range(1, 12)]
    real_mark, marked = services.outbound.relay.mark_sent, []

    def second_marking_fails(engine, seqs, **options):
        marked.append(list(seqs))
        if len(marked) == 2:
            raise RuntimeError("database away")
        real_mark(engine, seqs, **options)

    monkeypatch.setattr(services.outbound.relay, "mark_sent", second_marking_fails)
    try:
        _enqueue(engine, *ids)
        with pytest.raises(RuntimeError):
            await relay.relay_backlog()
        assert [r.event_id for r in pending(engine, limit=None)] == ids[4:]
        assert await relay.relay_backlog() == 7
        assert pending(engine, limit=None) == []
    finally:
        await broker.stop()
    assert marked[0] == [1, 2, 3, 4] and marked[1] == [5, 6, 7, 8]
    assert await _stream_messages(fresh_nats_url) == [("jip.round.failed", i) for i in ids]


async def test_a_woken_pass_reads_until_a_short_read_and_then_waits_for_the_next_wake(
    engine, fresh_nats_url, monkeypatch
):
    """Behind every intake batch that queued events the relay is woken: its pass reads until a
    read comes back shorter than a batch (it saw every row committed then), not once more to
    find nothing, and it waits for the next wake (or its poll); rows queued meanwhile go out
    on that wake, in order."""
    import services.outbound.relay

    await _create_stream(fresh_nats_url)
    broker = make_broker(fresh_nats_url, Settings())
    await broker.start()
    relay = OutboxRelay(engine, broker, batch=4, poll=60.0)
    real_pending, reads = services.outbound.relay.pending, []

    def counted(engine, limit, after=0):
        rows = real_pending(engine, limit, after)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(services.outbound.relay, "pending", counted)
    try:
        relay.start()
        await _until(lambda: reads == [0])  # the first pass found nothing and waits
        _enqueue(engine, "w-1", "w-2", "w-3")
        relay.wake()
        await _until(lambda: relay.published == 3)
        await asyncio.sleep(0.3)
        assert reads == [0, 3]
        _enqueue(engine, *(f"w-{i}" for i in range(4, 10)))
        relay.wake()
        await _until(lambda: relay.published == 9)
        await asyncio.sleep(0.3)
        assert reads == [0, 3, 4, 2]
        _enqueue(engine, *(f"w-{i}" for i in range(10, 14)))  # a full batch: one more read
        relay.wake()
        await _until(lambda: relay.published == 13)
        await asyncio.sleep(0.3)
        assert reads == [0, 3, 4, 2, 4, 0]
    finally:
        await relay.stop()
        await broker.stop()
    assert pending(engine, limit=None) == []
    assert await _stream_messages(fresh_nats_url) == [
        ("jip.round.failed", f"w-{i}") for i in range(1, 14)
    ]


async def test_a_refused_publish_leaves_the_batch_unsent_and_frees_its_pending_acks(
    engine, fresh_nats_url
):
    """Acks arrive asynchronously: one error answer (here the subjects belong to another
    stream than the expected JIP) must fail the batch, mark nothing, and release nats-py's
    slots for acks that will never be awaited."""
    client = await nats.connect(fresh_nats_url)
    js = client.jetstream()
    await js.add_stream(name="OTHER", subjects=["jip.>"])
    broker = make_broker(fresh_nats_url, Settings())
    await broker.start()
    relay = OutboxRelay(engine, broker, ack_timeout=2.0)
    try:
        _enqueue(engine, "x-1", "x-2", "x-3")
        with pytest.raises(nats.js.errors.BadRequestError, match="expected stream"):
            await relay.relay_backlog()
        assert [r.event_id for r in pending(engine)] == ["x-1", "x-2", "x-3"]
        assert relay.acks is not None and relay.acks.in_flight() == 0
        await js.delete_stream("OTHER")
        await _create_stream(fresh_nats_url)
        assert await relay.relay_backlog() == 3
        assert pending(engine) == []
    finally:
        await broker.stop()
        await client.close()
    assert [i for _, i in await _stream_messages(fresh_nats_url)] == ["x-1", "x-2", "x-3"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_relay_keeps_rows_while_the_broker_is_away_and_publishes_each_once_it_returns(
    engine, tmp_path
):
    server = EmbeddedNats(tmp_path / "broker", port=_free_port())
    await asyncio.to_thread(server.start)
    await _create_stream(server.url)
    broker = make_broker(server.url, Settings())
    await broker.start()
    relay = OutboxRelay(engine, broker, poll=0.1, ack_timeout=1.0)
    relay.start()
    try:
        await asyncio.to_thread(server.stop)
        _enqueue(engine, "away-1", "away-2")
        relay.wake()
        await asyncio.sleep(2.5)
        assert len(pending(engine)) == 2
        await asyncio.to_thread(server.start)
        await _until(lambda: not pending(engine), timeout=30)
    finally:
        await relay.stop()
        await broker.stop()
    try:
        assert await _stream_messages(server.url) == [
            ("jip.round.failed", "away-1"),
            ("jip.round.failed", "away-2"),
        ]
    finally:
        server.stop()
