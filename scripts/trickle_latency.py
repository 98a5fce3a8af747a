"""Publish-to-ack latency of the intake's pull subscription under trickled publishing, with and
without the guard that keeps a partial batch when nats-py raises asyncio's plain TimeoutError
(services.nats.patches.PartialBatchSafe). Without it FastStream drops the partial batch, and
those messages are acked only after ack_wait (30 s). A thread holding the GIL adds the scheduling
delays of a busy service. Each variant runs on its own nats-server.
`uv run python -m scripts.trickle_latency --seconds 60`
"""

import argparse
import asyncio
import random
import tempfile
import threading
import time
from pathlib import Path

import nats
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig

from services.nats.broker import ACK_WAIT_SECONDS
from services.nats.embedded import EmbeddedNats
from services.nats.patches import keep_partial_batches


def _busy(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(20_000))


async def trickle(url: str, seconds: float, guard: bool, seed: int) -> dict[str, float]:
    client = await nats.connect(url)
    js = client.jetstream()
    await js.add_stream(name="TRICKLE", subjects=["trickle.>"])
    broker = NatsBroker(url)
    published: dict[int, float] = {}
    latencies: list[float] = []
    subscriber = broker.subscriber(
        "trickle.>",
        stream=JStream("TRICKLE", declare=False),
        durable="trickle",
        config=ConsumerConfig(
            durable_name="trickle",
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_SECONDS,
            max_ack_pending=1000,
        ),
        pull_sub=PullSub(batch_size=200, timeout=0.2, batch=True),
        ack_policy=AckPolicy.MANUAL,
    )

    @subscriber
    async def on_batch(message: NatsMessage) -> None:
        now = time.monotonic()
        for m in message.raw_message:
            await m.ack()
            latencies.append(now - published.get(m.metadata.sequence.stream, now))

    if guard:
        keep_partial_batches(subscriber)
    await broker.start()
    stop = threading.Event()
    threading.Thread(target=_busy, args=(stop,), daemon=True).start()
    rng, sent, start = random.Random(seed), 0, time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            acks = await asyncio.gather(
                *(js.publish("trickle.a", b"x") for _ in range(rng.randint(1, 60)))
            )
            now = time.monotonic()
            published.update((a.seq, now) for a in acks)
            sent += len(acks)
            await asyncio.sleep(rng.uniform(0, 0.25))
        deadline = time.monotonic() + ACK_WAIT_SECONDS + 10
        while len(latencies) < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await broker.stop()
        await client.close()
    latencies.sort()
    return {
        "published": sent,
        "acked": len(latencies),
        "max_s": latencies[-1] if latencies else float("nan"),
        "over_5_s": sum(1 for x in latencies if x > 5),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for guard in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedNats(Path(tmp))
            await asyncio.to_thread(server.start)
            try:
                figures = await trickle(server.url, args.seconds, guard, args.seed)
            finally:
                await asyncio.to_thread(server.stop)
        name = "with the guard   " if guard else "FastStream alone "
        print(
            f"{name}: {figures['acked']:,} of {figures['published']:,} acked, "
            f"slowest {figures['max_s']:.2f} s, {figures['over_5_s']:,} over 5 s",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
