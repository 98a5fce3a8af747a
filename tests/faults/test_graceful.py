"""`intern-match serve` stopped by SIGTERM during intake and by SIGINT during publishing exits 0,
has acknowledged only committed events, has flushed its outbox, and a restart loses nothing."""

import signal

from sqlalchemy import select

from contracts import ContractError, parse_event
from services.store.tables import InboxRow
from tests.faults.harness import publish
from tests.faults.oracle import read_end_state
from tests.faults.verdict import verdict


def _acked_without_commit(corpus, seqs, acked_through, engine) -> list[str]:
    """Ids of valid events acknowledged (within the ack floor) but not in the inbox."""
    acked = {d.body for d, seq in zip(corpus.delivered, seqs, strict=True) if seq <= acked_through}
    ids = set()
    for body in acked:
        try:
            ids.add(parse_event(body).id)
        except ContractError:
            continue
    with engine.connect() as c:
        committed = set(c.execute(select(InboxRow.event_id)).scalars())
    return sorted(ids - committed)


async def test_sigterm_in_intake_and_sigint_in_publishing_exit_0_and_lose_nothing(
    small_corpus, start_service, nats_server, probe, engine, recorder
):
    corpus, oracle = small_corpus
    seqs = await publish(nats_server.url, corpus.delivered)
    service = start_service(batch_size="200")

    service.start()
    await probe.until(lambda p: p.acked_through >= seqs[len(seqs) // 2], 120)
    assert service.terminate(signal.SIGTERM) == 0
    after_term = await probe.progress()
    acked_but_not_committed = _acked_without_commit(corpus, seqs, after_term.acked_through, engine)

    service.start()
    # the relay sends the round's 3,620 events in well under a second: poll the tables alone
    # (a broker query per poll let the window pass unseen), often
    await probe.until(
        lambda p: p.rounds == 1 and 0 < p.sent < p.outbox, 120, poll=0.005, broker=False
    )
    assert service.terminate(signal.SIGINT) == 0
    after_int = await probe.progress()

    service.start()
    await probe.settled(seqs[-1], rounds=1, timeout=180)
    assert service.terminate(signal.SIGTERM) == 0

    assert after_term.acked_through < seqs[-1]
    assert after_term.ack_pending == 0  # uncommitted batches are handed back (NAK), never acked
    assert acked_but_not_committed == []
    assert after_int.ack_pending == 0 and after_int.sent == after_int.outbox
    assert read_end_state(engine).unsent == 0
    assert await verdict(oracle, engine, nats_server.url, recorder) == []
