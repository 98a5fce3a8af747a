"""No single point of failure (issue 16), the brokers: nats-server nodes killed under the intake
and the relay, and a rolling restart of every instance and every node under steady load; each
run ends where the calm single-instance run of the same events ends (tests.faults.verdict)."""

import asyncio
import signal
import time

import pytest

from contracts import STREAM
from services.store.lease import read_lease
from tests.faults.cluster.lease_watch import TAKEOVER_LIMIT, holder_is
from tests.faults.harness import connect, publish
from tests.faults.natscluster import NatsCluster
from tests.faults.verdict import verdict

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


async def test_killing_the_consumer_leader_node_mid_intake_and_the_stream_leader_mid_relay(
    small_corpus, start_instance, nats_cluster, cluster_probe, engine, cluster_recorder
):
    corpus, oracle = small_corpus
    a, b = start_instance("a", batch_size="50"), start_instance("b", batch_size="50")
    a.start()
    await holder_is(engine, "a")
    b.start()
    b.wait_started()
    before_round, from_round = corpus.delivered[:-2], corpus.delivered[-2:]
    publishing = asyncio.create_task(publish_paced(nats_cluster.url, before_round))

    await cluster_probe.until(lambda p: p.acked_through >= len(before_round) // 5, timeout=120)
    leader = await nats_cluster.consumer_leader()
    assert leader is not None
    nats_cluster.kill(leader)
    killed = await cluster_probe.progress()
    await cluster_probe.until(lambda p: p.acked_through > killed.acked_through + 200, timeout=120)
    await asyncio.to_thread(nats_cluster.node(leader).start)
    seqs = await publishing
    assert killed.acked_through < seqs[-1], killed

    await cluster_probe.until(lambda p: p.acked_through >= seqs[-1], timeout=120)
    tail = await publish_paced(nats_cluster.url, from_round)
    mid_relay = lambda p: p.rounds == 1 and 0 < p.sent < p.outbox * 0.5  # noqa: E731
    await cluster_probe.until(mid_relay, timeout=120)
    leader = await nats_cluster.stream_leader()
    assert leader is not None
    nats_cluster.kill(leader)
    killed = await cluster_probe.progress()
    await cluster_probe.until(lambda p: p.sent > killed.sent, timeout=120)
    await asyncio.to_thread(nats_cluster.node(leader).start)

    await cluster_probe.settled(tail[-1], rounds=1, timeout=240)
    assert 0 < killed.sent < killed.outbox, killed
    found = await asyncio.to_thread(read_lease, engine)
    assert found is not None and found.holder == "a"  # a broker node's loss is no takeover
    assert await verdict(oracle, engine, nats_cluster.url, cluster_recorder) == []


async def publish_paced(url: str, deliveries, per_second: int | None = None) -> list[int]:
    """Publish in order at about `per_second` (chunks every 0.1 s; None: as fast as acks come),
    retrying a chunk whose acknowledgements did not all come (a node going away under the
    publisher), as a producer does: the same `Nats-Msg-Id`s, which the stream drops if they
    were stored."""
    seqs: list[int] = []
    step = max(1, per_second // 10) if per_second else 500
    started = time.monotonic()
    for k, start in enumerate(range(0, len(deliveries), step)):
        for attempt in range(60):
            try:
                seqs += await publish(url, deliveries[start : start + step])
                break
            except Exception:
                if attempt == 59:
                    raise
                await asyncio.sleep(0.5)
        if per_second:
            await asyncio.sleep(max(0.0, started + (k + 1) * 0.1 - time.monotonic()))
    return seqs


async def replicas_current(cluster: NatsCluster, timeout: float = 60.0) -> None:
    """Until stream JIP has a leader and every replica is current again."""
    deadline = time.monotonic() + timeout
    client = await connect(cluster.url)
    try:
        while True:
            try:
                info = await client.jetstream().stream_info(STREAM)
                peers = (info.cluster.replicas or []) if info.cluster else []
                led = info.cluster is not None and info.cluster.leader is not None
                if led and len(peers) == 2 and all(p.current and not p.offline for p in peers):
                    return
            except Exception:  # no leader for a moment
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("stream JIP's replicas not current again")
            await asyncio.sleep(0.2)
    finally:
        await client.close()


async def test_a_rolling_restart_of_every_instance_and_every_node_under_steady_load(
    small_corpus, start_instance, nats_cluster, cluster_probe, engine, cluster_recorder
):
    corpus, oracle = small_corpus
    instances = {name: start_instance(name) for name in ("a", "b")}
    instances["a"].start()
    await holder_is(engine, "a")
    instances["b"].start()
    instances["b"].wait_started()
    # 60 events/s: about a minute of load. At 100/s (36 s) the two instance restarts and three
    # node restarts (about 11 s each, catching up included) outlasted it once in the suite
    publishing = asyncio.create_task(publish_paced(nats_cluster.url, corpus.delivered, 60))

    await asyncio.sleep(2)
    for name in ("b", "a"):  # the standby first, then the active one: the other takes over
        instance = instances[name]
        assert instance.terminate(signal.SIGTERM) == 0
        other = "a" if name == "b" else "b"
        if name == "a":
            await holder_is(engine, other, timeout=TAKEOVER_LIMIT)
        instance.start()
        instance.wait_started()
    for node in nats_cluster.names:
        before = await cluster_probe.progress()
        await asyncio.to_thread(nats_cluster.node(node).stop)
        await asyncio.sleep(1)
        await asyncio.to_thread(nats_cluster.node(node).start)
        await replicas_current(nats_cluster)
        await cluster_probe.until(lambda p, b=before: p.acked_through > b.acked_through, 60)
    assert not publishing.done(), "the restarts outlasted the load: nothing restarted under it"

    seqs = await publishing
    await cluster_probe.settled(seqs[-1], rounds=1, timeout=300)
    assert await verdict(oracle, engine, nats_cluster.url, cluster_recorder) == []
