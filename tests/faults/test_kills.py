"""The service SIGKILLed at seeded random moments (during intake, a round and the relay's
publishing) and restarted each time ends where the calm run ends."""

import asyncio
import random
import signal

from tests.faults.harness import Progress, publish
from tests.faults.verdict import verdict

SEED = 2026


async def _kill_when(service, probe, condition, rng: random.Random, jitter: float) -> Progress:
    """Wait for `condition`, a seeded random moment more, then SIGKILL; progress right after."""
    await probe.until(condition, timeout=120)
    await asyncio.sleep(rng.uniform(0, jitter))
    service.kill()
    return await probe.progress()


async def test_six_sigkills_over_intake_a_round_and_the_relay_lose_and_double_nothing(
    small_corpus, start_service, nats_server, probe, engine, recorder
):
    corpus, oracle = small_corpus
    rng = random.Random(SEED)
    seqs = await publish(nats_server.url, corpus.delivered)
    round_seq, last = seqs[-2], seqs[-1]
    service = start_service(batch_size="200", ack_wait_seconds="3")
    after: list[tuple[str, Progress]] = []

    # Intake runs at over 10,000 events/s: a mark past half the stream, or a long jitter, lets
    # the whole stream and the round commit before the kill lands (CI saw it happen).
    for fraction in sorted(rng.uniform(0.1, 0.5) for _ in range(2)):
        service.start()
        mark = seqs[int(fraction * len(seqs))]
        killed = await _kill_when(service, probe, lambda p, m=mark: p.acked_through >= m, rng, 0.02)
        assert killed.rounds == 0 and killed.acked_through < round_seq, (
            f"the intake kill landed after the round request: {killed}"
        )
        after.append(("intake", killed))

    service.start()
    mid_round = lambda p: p.delivered_through >= round_seq and p.rounds == 0  # noqa: E731
    after.append(("round", await _kill_when(service, probe, mid_round, rng, 0.4)))

    # The relay sends this outbox (about 3,600 rows) in well under a second with batches of
    # 200; batches of 20 spread it over a second or two, so a kill can land in the middle.
    service.env["INTERN_MATCH_BATCH_SIZE"] = "20"
    service.env["INTERN_MATCH_RELAY_BATCH_SIZE"] = "20"
    previous = -1
    for fraction in sorted(rng.uniform(0.05, 0.5) for _ in range(3)):
        service.start()

        def mid_relay(p: Progress, f: float = fraction, before: int = previous) -> bool:
            """This incarnation has published a batch past the seeded fraction (or all)."""
            started = p.sent > before and p.sent >= f * p.outbox
            return p.rounds == 1 and (started or p.sent == p.outbox)

        killed = await _kill_when(service, probe, mid_relay, rng, 0.02)
        after.append(("relay", killed))
        previous = killed.sent

    service.start()
    await probe.settled(last, rounds=1, timeout=180)
    assert service.terminate(signal.SIGTERM) == 0

    intake = [p for phase, p in after if phase == "intake"]
    assert all(p.acked_through < last for p in intake), after
    round_kill = next(p for phase, p in after if phase == "round")
    assert round_kill.rounds == 0, after
    relay = [p for phase, p in after if phase == "relay"]
    assert sum(1 for p in relay if 0 < p.sent < p.outbox) >= 2, after
    assert service.starts == 7
    assert await verdict(oracle, engine, nats_server.url, recorder) == []
