"""Stopping the intake while its pipeline is full loses no fetched batch.

A model of what the consumer runs against: JetStream answers a pull only while fewer than
`max_ack_pending` (PIPELINE batches) messages wait for an acknowledgement, and FastStream drops a
batch whose fetch completes after the subscriber's stop began (the server gives it again only
after ack_wait). With commits slower than stop_fetching's wait, a consumer that fetched again with
its pipeline full had a pull outstanding when the stop began; the next ack let the server answer
it, and the batch was dropped, unacknowledged (found by tests/faults/test_graceful.py under a
loaded machine: `ack_pending == 200`, one batch)."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from services.intake.apply import BatchOutcome, Inbound, parse_inbound
from services.intake.consumer import IntakeConsumer
from services.nats.broker import PIPELINE
from services.sample.generator import generate_year

BATCH = 3
BODIES = generate_year(seed=5, applicants=40, vacancies=4, program_year=2023)


class FakeMsg:
    def __init__(self, stream_seq: int, body: bytes, done: dict[int, str]) -> None:
        self.subject = None  # the kind is read from the body
        self.data = body
        self.reply = f"$JS.ACK.JIP.intake.1.{stream_seq}.{stream_seq}.0.0"
        self.stream_seq = stream_seq
        self._done = done

    async def ack(self) -> None:
        self._done[self.stream_seq] = "ack"

    async def nak(self) -> None:
        self._done[self.stream_seq] = "nak"

    async def in_progress(self) -> None:
        return None


class Subscriber:
    def __init__(self) -> None:
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True  # before it awaits anything, as FastStream's does
        await asyncio.sleep(0)


class _Batch:
    def __init__(self, msgs: list[FakeMsg]) -> None:
        self.raw_message = msgs


async def test_a_stop_with_the_pipeline_full_drops_no_batch_and_leaves_nothing_pending():
    done: dict[int, str] = {}
    msgs = [FakeMsg(n + 1, body, done) for n, body in enumerate(BODIES)]
    dropped: list[int] = []
    delivered = 0

    def process(batch: Sequence[Inbound], parsed: Sequence[Any]) -> BatchOutcome:
        time.sleep(0.3)  # a commit slower than stop_fetching's wait below
        return BatchOutcome(accepted=len(batch))

    async def parse(batch: Sequence[Inbound]) -> list[Any]:
        return parse_inbound(batch)

    def isolate(*failed: Any) -> BatchOutcome:
        raise AssertionError(f"nothing fails here: {failed}")

    consumer = IntakeConsumer(process, parse, isolate, probe=lambda: None)
    subscriber = Subscriber()

    async def fetch_loop() -> None:
        nonlocal delivered
        while not subscriber.stopped and delivered < len(msgs):
            while delivered - len(done) >= PIPELINE * BATCH:  # the server: max_ack_pending
                await asyncio.sleep(0.002)
            batch = msgs[delivered : delivered + BATCH]
            delivered += len(batch)
            if subscriber.stopped:  # FastStream: a fetch completing after the stop began
                dropped.extend(m.stream_seq for m in batch)
                return
            await consumer.on_inbound_batch(_Batch(batch))  # type: ignore[arg-type]

    loop = asyncio.create_task(fetch_loop())
    await asyncio.sleep(0.45)  # the pipeline full, the first commits under way
    await consumer.stop_fetching(subscriber, wait=0.05)
    await asyncio.wait_for(loop, 10)
    await consumer.drain(timeout=10)

    assert 0 < delivered < len(msgs)
    assert dropped == []
    pending = [n for n in range(1, delivered + 1) if n not in done]
    assert pending == []  # each fetched message acknowledged, or handed back at the stop
    acked = sorted(n for n, how in done.items() if how == "ack")
    assert acked == list(range(1, len(acked) + 1))  # in stream order, no gap
