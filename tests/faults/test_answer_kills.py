"""Issue 13: the service SIGKILLed at seeded moments while it applies answers to a round's
offers (an answer committed, its confirmation or release not yet published, or not yet
committed) and while its relay publishes them, restarted each time, ends where the calm run
ends: every `placement.confirmed` and `placement.released` once in the outbox and once in the
stream, the placements' states and one placement_answers row per answer as the calm run's."""

import asyncio
import random
import signal
from collections import Counter

from tests.faults.corpus import build_answers
from tests.faults.harness import Progress, publish, stream_outbound
from tests.faults.oracle import calm_run, read_end_state
from tests.faults.verdict import verdict

SEED = 1313
LIFECYCLE = ("/confirmed", "/released")


async def _kill_when(service, probe, condition, rng: random.Random, jitter: float) -> Progress:
    """Wait for `condition`, a seeded random moment more, then SIGKILL; progress right after."""
    await probe.until(condition, timeout=120, poll=0.01)
    await asyncio.sleep(rng.uniform(0, jitter))
    service.kill()
    return await probe.progress()


async def test_sigkills_between_answers_and_their_confirmations_lose_and_double_nothing(
    small_corpus, start_service, nats_server, probe, engine, recorder
):
    corpus, year = small_corpus
    rng = random.Random(SEED)
    offers = sorted(f"{r}/{a}" for r, a, _, _ in year.placements)
    versions = {a: version for a, (version, _) in year.applicants.items()}
    answers, deliveries = build_answers(offers, versions, seed=SEED)
    oracle = await asyncio.to_thread(calm_run, [*corpus.clean, *answers])
    lifecycle = {i for i in oracle.outbox if i.endswith(LIFECYCLE)}
    states = Counter(state for state, _, _ in oracle.offers.values())
    assert states["confirmed"] >= 100 and states["released"] >= 100, states
    assert sum(oracle.answers.values()) >= 0.8 * len(answers), "answers dead-lettered"

    # The year and its round, calm (test_kills covers kills there), then a graceful stop.
    seqs = await publish(nats_server.url, corpus.delivered)
    service = start_service(batch_size="200", ack_wait_seconds="3")
    service.start()
    year_done = await probe.settled(seqs[-1], rounds=1, timeout=120)
    assert service.terminate(signal.SIGTERM) == 0

    # The answers wait on the stream; batches of 20 spread their intake over a few seconds.
    answer_seqs = await publish(nats_server.url, deliveries)
    last = answer_seqs[-1]
    service.env["INTERN_MATCH_BATCH_SIZE"] = "20"
    service.env["INTERN_MATCH_RELAY_BATCH_SIZE"] = "20"
    after: list[tuple[str, Progress]] = []
    killed = year_done
    for fraction in sorted(rng.uniform(0.05, 0.6) for _ in range(3)):
        service.start()
        mark = max(answer_seqs[int(fraction * len(answer_seqs))], killed.acked_through + 1)
        killed = await _kill_when(service, probe, lambda p, m=mark: p.acked_through >= m, rng, 0.05)
        after.append(("answers", killed))

        # Straight after the restart the relay sends what the killed run committed but had
        # not published (or published without marking it sent): kill it in the middle. It
        # sends row by row here, so its backlog lasts long enough to be seen: with batches of
        # 20 a batch's few round trips let it catch up with the intake between two looks of
        # the probe.
        service.env["INTERN_MATCH_BATCH_SIZE"] = "1"
        service.env["INTERN_MATCH_RELAY_BATCH_SIZE"] = "1"
        service.start()

        def mid_relay(p: Progress, before: int = killed.sent) -> bool:
            return p.sent > before and (p.sent < p.outbox or p.acked_through >= last)

        killed = await _kill_when(service, probe, mid_relay, rng, 0.005)
        after.append(("relay", killed))
        service.env["INTERN_MATCH_BATCH_SIZE"] = "20"
        service.env["INTERN_MATCH_RELAY_BATCH_SIZE"] = "20"

    service.start()
    await probe.settled(last, rounds=1, timeout=120)
    assert service.terminate(signal.SIGTERM) == 0

    answering = [p for phase, p in after if phase == "answers"]
    assert all(year_done.acked_through < p.acked_through < last for p in answering), after
    # Some kill landed with answers' confirmations or releases committed but unsent.
    assert any(p.sent < p.outbox for _, p in after), after
    assert sum(1 for phase, p in after if phase == "relay" and p.sent < p.outbox) >= 1, after
    assert service.starts == 1 + 2 * len(answering) + 1

    assert await verdict(oracle, engine, nats_server.url, recorder) == []
    stored = Counter(i for i, _ in await stream_outbound(nats_server.url))
    in_stream = {i: n for i, n in stored.items() if i.endswith(LIFECYCLE)}
    assert set(in_stream) == lifecycle, "confirmations/releases missing or extra on the broker"
    assert {i: n for i, n in in_stream.items() if n != 1} == {}, "doubled on the broker"
    assert set(recorder.bodies) >= lifecycle
    actual = await asyncio.to_thread(read_end_state, engine)
    assert actual.offers == oracle.offers
    assert set(actual.answers.values()) == {1}, "an answer recorded twice"
    assert actual.answers == oracle.answers
