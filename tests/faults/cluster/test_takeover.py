"""No single point of failure (issue 16), the instances: the active one SIGKILLed, frozen past
its lease or cut off from the database, with a standby on three real nats-server nodes; each run
ends where the calm single-instance run of the same events ends (tests.faults.verdict)."""

import asyncio
import random
import signal
import time

import pytest
from sqlalchemy import Engine, make_url, text

from services.store.lease import read_lease
from tests.faults.cluster.lease_watch import TAKEOVER_LIMIT, holder_is, takeover
from tests.faults.harness import publish
from tests.faults.tcpproxy import TcpProxy
from tests.faults.verdict import verdict

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


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
    assert b.terminate(signal.SIGTERM) == 0
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
