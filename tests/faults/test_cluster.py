"""No single point of failure (issue 16): two service processes, one active and one standby, on
three real nats-server nodes at stream replicas 3, killed, frozen and restarted; each run ends
where the calm single-instance run of the same events ends (tests.faults.verdict)."""

import asyncio
import random
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from contracts import STREAM
from services.store.lease import read_lease, session_name
from tests.faults.harness import Probe, Progress, ServiceProcess, connect, publish
from tests.faults.natscluster import ClusterRecorder, NatsCluster
from tests.faults.tcpproxy import TcpProxy
from tests.faults.verdict import verdict

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LEASE_SECONDS = "2"
TAKEOVER_LIMIT = 15.0
"""The issue's bound on a standby's takeover after the active instance's death."""


@pytest.fixture
async def nats_cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "cluster")
    await asyncio.to_thread(cluster.start)
    try:
        await cluster.ready(replicas=3)
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


@pytest.fixture
def start_instance(
    nats_cluster: NatsCluster, database_url: str, tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    """Builds (not starts) service instance `name` on the cluster; all are killed at the end."""
    made: list[ServiceProcess] = []

    def build(name: str, **settings: str) -> ServiceProcess:
        values = {
            "broker_url": nats_cluster.url,
            "database_url": database_url,
            "data_dir": str(tmp_path / f"service-{name}"),
            "batch_size": "200",
            "round_time_limit_seconds": "30",
            "http_port": "0",
            "stream_replicas": "3",
            "lease_seconds": LEASE_SECONDS,
            "instance_id": name,
            **settings,
        }
        service = ServiceProcess(values, tmp_path / f"service-{name}.log")
        made.append(service)
        return service

    yield build
    for service in made:
        if service.process is not None and service.alive:
            service.process.send_signal(signal.SIGCONT)
        service.close()


@pytest.fixture
async def cluster_probe(nats_cluster: NatsCluster, engine: Engine) -> AsyncIterator[Probe]:
    probe = Probe(nats_cluster.url, engine)
    yield probe
    await probe.close()


@pytest.fixture
async def cluster_recorder(nats_cluster: NatsCluster) -> AsyncIterator[ClusterRecorder]:
    recorder = ClusterRecorder()
    await recorder.start(nats_cluster)
    yield recorder
    await recorder.stop()


async def holder_is(engine: Engine, name: str, timeout: float = 60.0) -> float:
    """Seconds until instance `name` holds the lease."""
    started = time.monotonic()
    while True:
        found = await asyncio.to_thread(_lease_holder, engine)
        if found == name:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{name} does not hold the lease after {timeout} s (holder {found})")
        await asyncio.sleep(0.05)


def _lease_holder(engine: Engine) -> str | None:
    try:
        found = read_lease(engine)
    except Exception:  # not migrated yet
        return None
    return None if found is None or found.remaining_seconds < 0 else found.holder


async def takeover(engine: Engine, probe: Probe, successor: str, before: Progress) -> float:
    """Seconds from now until `successor` holds the lease and has committed past `before`."""
    started = time.monotonic()
    await holder_is(engine, successor, timeout=TAKEOVER_LIMIT * 4)
    await probe.until(
        lambda p: p.acked_through > before.acked_through or p.rounds > before.rounds,
        timeout=TAKEOVER_LIMIT * 4,
    )
    return time.monotonic() - started


async def test_sigkill_of_the_active_instance_mid_intake_then_of_its_successor_mid_round(
    small_corpus, start_instance, nats_cluster, cluster_probe, engine, cluster_recorder
):
    corpus, oracle = small_corpus
    rng = random.Random(16)
    a, b = start_instance("a"), start_instance("b")
    a.start()
    await holder_is(engine, "a")
    b.start()
    b.wait_started()
    before_round, from_round = corpus.delivered[:-2], corpus.delivered[-2:]
    publishing = asyncio.create_task(publish(nats_cluster.url, before_round))

    mark = int(rng.uniform(0.1, 0.4) * len(before_round))
    await cluster_probe.until(lambda p: p.acked_through >= mark, timeout=120)
    a.kill()
    killed = await cluster_probe.progress()
    assert killed.acked_through < len(before_round), killed
    first = await takeover(engine, cluster_probe, "b", killed)
    seqs = await publishing

    a.start()  # back, as the standby now
    a.wait_started()
    await cluster_probe.until(lambda p: p.acked_through >= seqs[-1], timeout=120)
    round_seq, last = await publish(nats_cluster.url, from_round)
    mid_round = lambda p: p.delivered_through >= round_seq and p.rounds == 0  # noqa: E731
    await cluster_probe.until(mid_round, timeout=120)
    await asyncio.sleep(rng.uniform(0, 0.3))
    b.kill()
    killed = await cluster_probe.progress()
    assert killed.rounds == 0, killed
    second = await takeover(engine, cluster_probe, "a", killed)

    await cluster_probe.settled(last, rounds=1, timeout=240)
    assert a.terminate(signal.SIGTERM) == 0
    assert first < TAKEOVER_LIMIT and second < TAKEOVER_LIMIT, (first, second)
    assert await verdict(oracle, engine, nats_cluster.url, cluster_recorder) == []


AUDIT = [
    "CREATE TABLE fence_audit (txid bigint PRIMARY KEY, session text, holder text)",
    """CREATE FUNCTION fence_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO fence_audit VALUES (txid_current(), current_setting('application_name'),
        (SELECT holder FROM service_lease WHERE name = 'active')) ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$""",
    *(
        f"CREATE CONSTRAINT TRIGGER fence_audit_{table} AFTER {change} ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fence_audit()"
        for table, change in (("inbox", "INSERT"), ("event_log", "INSERT"), ("outbox", "UPDATE"))
    ),
]
"""At each commit that writes the inbox, the event log or the outbox's sent marks: the
committing session's instance and the lease's holder at that moment (a deferred trigger runs
at commit, after the fencing check)."""


def _install_audit(engine: Engine) -> None:
    with engine.begin() as connection:
        for statement in AUDIT:
            connection.execute(text(statement))


def _commits_by_non_holders(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT session, holder FROM fence_audit "
                "WHERE session <> 'intern-match:' || coalesce(holder, '')"
            )
        ).all()
    return [(str(r[0]), str(r[1])) for r in rows]


async def test_a_frozen_active_instance_resumed_after_a_takeover_commits_nothing_and_steps_down(
    small_corpus, start_instance, nats_cluster, cluster_probe, engine, cluster_recorder
):
    corpus, oracle = small_corpus
    a, b = start_instance("a"), start_instance("b")
    a.start()
    await holder_is(engine, "a")
    await asyncio.to_thread(_install_audit, engine)
    b.start()
    b.wait_started()
    publishing = asyncio.create_task(publish(nats_cluster.url, corpus.delivered))

    await cluster_probe.until(lambda p: p.acked_through >= len(corpus.delivered) // 5, timeout=120)
    assert a.process is not None
    a.process.send_signal(signal.SIGSTOP)
    frozen = await cluster_probe.progress()
    assert frozen.rounds == 0, frozen
    await holder_is(engine, "b", timeout=TAKEOVER_LIMIT * 4)
    # Resumed at once: its fetched batches are not yet committed by anyone, so without the
    # fencing check its retries would commit them (the harshest moment to wake up).
    a.process.send_signal(signal.SIGCONT)

    last = (await publishing)[-1]
    await cluster_probe.settled(last, rounds=1, timeout=240)
    deadline = time.monotonic() + 30
    while '"role changed: active -> standby"' not in a.log_text():
        assert time.monotonic() < deadline, "the resumed instance did not step down"
        await asyncio.sleep(0.1)
    assert a.alive
    assert await asyncio.to_thread(_commits_by_non_holders, engine) == []
    found = await asyncio.to_thread(read_lease, engine)
    assert found is not None and found.holder == "b"
    assert session_name("a") != session_name("b")
    assert b.terminate(signal.SIGTERM) == 0
    assert await verdict(oracle, engine, nats_cluster.url, cluster_recorder) == []


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
    publishing = asyncio.create_task(publish(nats_cluster.url, before_round))

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
    tail = await publish(nats_cluster.url, from_round)
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


async def publish_paced(url: str, deliveries, per_second: int) -> list[int]:
    """Publish in order at about `per_second` (chunks every 0.1 s); the stream sequences."""
    seqs: list[int] = []
    step = max(1, per_second // 10)
    started = time.monotonic()
    for k, start in enumerate(range(0, len(deliveries), step)):
        seqs += await publish(url, deliveries[start : start + step])
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
    publishing = asyncio.create_task(publish_paced(nats_cluster.url, corpus.delivered, 100))

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


async def test_the_active_instance_losing_the_database_alone_is_replaced_within_the_bound(
    small_corpus, start_instance, nats_cluster, cluster_probe, engine, cluster_recorder
):
    corpus, oracle = small_corpus
    url = make_url(str(engine.url.render_as_string(hide_password=False)))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        a, b = start_instance("a", database_url=proxied), start_instance("b")
        a.start()
        await holder_is(engine, "a")
        b.start()
        b.wait_started()
        publishing = asyncio.create_task(publish(nats_cluster.url, corpus.delivered))

        await cluster_probe.until(lambda p: p.acked_through >= len(corpus.delivered) // 5, 120)
        proxy.cut()
        cut = await cluster_probe.progress()
        assert cut.rounds == 0, cut
        replaced = await takeover(engine, cluster_probe, "b", cut)
        deadline = time.monotonic() + 30
        while '"role changed: active -> standby"' not in a.log_text():
            assert time.monotonic() < deadline, "the cut-off instance did not step down"
            await asyncio.sleep(0.1)
        proxy.restore()

        last = (await publishing)[-1]
        await cluster_probe.settled(last, rounds=1, timeout=240)
        assert replaced < TAKEOVER_LIMIT, replaced
        found = await asyncio.to_thread(read_lease, engine)
        assert found is not None and found.holder == "b"
        assert a.alive and b.terminate(signal.SIGTERM) == 0
        assert await verdict(oracle, engine, nats_cluster.url, cluster_recorder) == []
    finally:
        await proxy.stop()
