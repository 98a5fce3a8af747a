"""20,000 events with duplicates, stale versions out of order and malformed bodies reach the
same end state as the clean events applied once."""

import signal

from tests.faults.harness import publish
from tests.faults.verdict import verdict


async def test_duplicates_stale_versions_and_malformed_bodies_end_where_the_calm_run_ends(
    year_corpus, start_service, nats_server, probe, engine, recorder
):
    corpus, oracle = year_corpus
    seqs = await publish(nats_server.url, corpus.delivered)
    service = start_service()
    service.start()

    await probe.settled(seqs[-1], rounds=1, timeout=180)

    assert service.terminate(signal.SIGTERM) == 0
    assert len(seqs) == 20_000
    assert await verdict(oracle, engine, nats_server.url, recorder) == []
