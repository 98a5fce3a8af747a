"""The intake consumer holding batches during rounds (issue 17, part 4), with generated streams:
wherever the rounds fall, however long they run and however the stream is cut into batches,
every message is applied exactly once, in stream order; the ones after a round's batch are
acknowledged before that round ends; nothing stays held. A consumer that applied held messages
before what is held ahead of them, or let a direct batch pass a held one, fails it."""

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.apply import BatchOutcome, Inbound, parse_inbound
from services.intake.consumer import IntakeConsumer
from services.sample.generator import generate_year, round_request

YEAR = generate_year(seed=3, applicants=30, vacancies=4, program_year=2023)


class FakeMsg:
    """What the consumer uses of a nats-py message: its reply subject and the acknowledgements."""

    def __init__(self, stream_seq: int, body: bytes, acked: list[int]) -> None:
        self.subject = None  # the kind is read from the body, as for file input
        self.data = body
        self.reply = f"$JS.ACK.JIP.intake.1.{stream_seq}.{stream_seq}.0.0"
        self._acked = acked
        self.stream_seq = stream_seq

    async def ack(self) -> None:
        self._acked.append(self.stream_seq)

    async def nak(self) -> None:
        raise AssertionError("nothing is handed back while running")

    async def in_progress(self) -> None:
        return None


class MemoryHeld:
    """HeldInbound in memory (the consumer's side of it: store, waiting, oldest)."""

    def __init__(self, batch_size: int) -> None:
        self.rows: dict[int, Inbound] = {}
        self.batch_size = batch_size
        self.lock = threading.Lock()

    def store(self, batch: Sequence[Inbound]) -> None:
        time.sleep(0.003)  # a write takes a while too: a drain may read meanwhile
        with self.lock:
            for m in batch:
                assert m.stream_seq is not None
                self.rows.setdefault(m.stream_seq, m)

    def waiting(self) -> bool:
        with self.lock:
            return bool(self.rows)

    def oldest(self) -> list[Inbound]:
        with self.lock:
            seqs = sorted(self.rows)[: self.batch_size]
            found = [Inbound(self.rows[s].subject, self.rows[s].body, s, held=True) for s in seqs]
        time.sleep(0.003)  # the answer takes a while: holds may be stored meanwhile
        return found

    def forget(self, batch: Sequence[Inbound]) -> None:
        with self.lock:
            for m in batch:
                if m.held:
                    assert m.stream_seq is not None
                    del self.rows[m.stream_seq]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], list[int], list[float], bool]:
    """Stream bodies with rounds at generated places, the fetched batches' sizes, the pauses
    between fetches, and whether a round runs until every message is acknowledged (else the
    fetches and the drain interleave)."""
    events = draw(st.integers(min_value=5, max_value=len(YEAR)))
    bodies = list(YEAR[:events])
    rounds = draw(st.lists(st.integers(0, events), min_size=0, max_size=3))
    for n, at in enumerate(sorted(rounds, reverse=True)):
        bodies.insert(at, round_request(f"2023-summer-{n + 1}", 2023, "summer", seq=n + 1))
    sizes, left = [], len(bodies)
    while left:
        size = draw(st.integers(1, min(left, 12)))
        sizes.append(size)
        left -= size
    pauses = draw(
        st.lists(st.sampled_from([0.0, 0.001, 0.004]), min_size=len(sizes), max_size=len(sizes))
    )
    return bodies, sizes, pauses, draw(st.booleans())


async def _run(bodies: list[bytes], sizes: list[int], pauses: list[float], wait: bool) -> None:
    applied: list[int] = []
    acked: list[int] = []
    every = set(range(1, len(bodies) + 1))
    rounds_saw_all_acked: list[bool] = []
    held = MemoryHeld(batch_size=7)

    def process(batch: Sequence[Inbound], parsed: Sequence[Any]) -> BatchOutcome:
        if wait and any(getattr(p, "round_request", None) is not None for p in parsed):
            deadline = time.monotonic() + 5  # a round runs until everything is acknowledged
            while set(acked) != every and time.monotonic() < deadline:
                time.sleep(0.005)
            rounds_saw_all_acked.append(set(acked) == every)
        applied.extend(m.stream_seq for m in batch if m.stream_seq is not None)
        held.forget(batch)
        return BatchOutcome(accepted=len(batch))

    async def parse(batch: Sequence[Inbound]) -> list[Any]:
        return parse_inbound(batch)

    def isolate(*failed: Any) -> BatchOutcome:
        raise AssertionError(f"nothing fails here: {failed}")

    consumer = IntakeConsumer(process, parse, isolate, probe=lambda: None, held=held)
    await consumer.apply_held()
    seq = 0
    for size, pause in zip(sizes, pauses, strict=True):
        msgs = [
            FakeMsg(seq + k + 1, body, acked) for k, body in enumerate(bodies[seq : seq + size])
        ]
        seq += size
        await consumer.on_inbound_batch(_Batch(msgs))  # type: ignore[arg-type]
        await asyncio.sleep(pause)
    for _ in range(2000):
        if len(applied) == len(bodies) and not held.waiting():
            break
        await asyncio.sleep(0.01)
    await consumer.drain(timeout=10)

    assert applied == list(range(1, len(bodies) + 1))  # each once, in stream order
    assert sorted(acked) == list(range(1, len(bodies) + 1))
    assert not held.rows
    # while each round ran, every message (the ones after it included) was acknowledged
    assert all(rounds_saw_all_acked)
    assert bool(rounds_saw_all_acked) == (wait and any(b"jip.round.requested" in b for b in bodies))


class _Batch:
    def __init__(self, msgs: list[FakeMsg]) -> None:
        self.raw_message = msgs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_held_batches_are_applied_once_each_in_stream_order(stream: Any) -> None:
    asyncio.run(_run(*stream))
