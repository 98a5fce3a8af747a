"""The broker stopped for 10 s during intake and again during publishing, and the private
PostgreSQL restarted during intake: the service waits, retries and ends where the calm run ends."""

import asyncio
import signal

from tests.faults.harness import publish
from tests.faults.verdict import verdict

OUTAGE_SECONDS = 10.0


async def _broker_outage(server) -> None:
    await asyncio.to_thread(server.stop)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(server.start)


async def test_nats_away_for_10_s_in_intake_and_in_publishing_loses_and_doubles_nothing(
    small_corpus, start_service, nats_server, probe, engine, recorder
):
    corpus, oracle = small_corpus
    seqs = await publish(nats_server.url, corpus.delivered)
    service = start_service(batch_size="200")
    service.start()

    during_intake = await probe.until(lambda p: p.acked_through >= seqs[len(seqs) // 3], 120)
    await _broker_outage(nats_server)
    # the tables alone, polled often: the relay sends the round's 3,620 events in well under a
    # second, and a consumer_info request can wait 2 s for the probe's client to reconnect
    during_relay = await probe.until(
        lambda p: p.rounds == 1 and p.sent < p.outbox, 120, poll=0.005, broker=False
    )
    await _broker_outage(nats_server)
    await probe.settled(seqs[-1], rounds=1, timeout=180)

    assert service.alive
    assert service.terminate(signal.SIGTERM) == 0
    assert during_intake.acked_through < seqs[-1] and during_relay.sent < during_relay.outbox
    assert await verdict(oracle, engine, nats_server.url, recorder) == []


async def test_postgres_restarted_during_intake_loses_and_doubles_nothing(
    small_corpus, start_service, nats_server, probe, engine, recorder, private_pg
):
    corpus, oracle = small_corpus
    seqs = await publish(nats_server.url, corpus.delivered)
    service = start_service(batch_size="200")
    service.start()

    during_intake = await probe.until(lambda p: p.acked_through >= seqs[len(seqs) // 3], 120)
    await asyncio.to_thread(private_pg.restart, 3.0)
    await probe.settled(seqs[-1], rounds=1, timeout=180)

    assert service.alive
    assert service.terminate(signal.SIGTERM) == 0
    assert during_intake.acked_through < seqs[-1]
    assert "intake batch failed" in service.log_text()
    assert await verdict(oracle, engine, nats_server.url, recorder) == []
