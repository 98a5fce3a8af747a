"""The NATS JetStream side of the service: broker, stream `JIP`, and the intake pull consumer.

Imports FastStream, nats-py, contracts and the intake's batch types; never matching or tables.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, StorageType

from contracts import INBOUND_KINDS, STREAM, subject_of
from services.backoff import Backoff
from services.intake import BatchOutcome, Inbound
from services.security import FirstConnectGuard, broker_security
from services.settings import Settings

log = logging.getLogger(__name__)

INTAKE_DURABLE = "intern-match-intake"
DUPLICATE_WINDOW_SECONDS = 20 * 60
INBOUND_SUBJECTS = [subject_of(kind) for kind in INBOUND_KINDS]
ACK_WAIT_SECONDS = 30.0


def jip_stream() -> JStream:
    """Stream `JIP` over `jip.>`, file storage, 20-minute duplicate window (created or updated)."""
    return JStream(
        name=STREAM,
        subjects=["jip.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


def make_broker(
    url: str,
    settings: Settings,
    graceful_timeout: float | None = None,
    middlewares: Sequence[Any] = (),
    logger: logging.Logger | None = None,
) -> NatsBroker:
    """A broker that authenticates as the settings say, fails fast when the broker refuses it at
    the first connect (BrokerAccessError), and once connected reconnects forever."""
    guard = FirstConnectGuard(url)
    return NatsBroker(
        url,
        security=broker_security(settings),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        graceful_timeout=graceful_timeout or settings.round_time_limit_seconds + 60.0,
        middlewares=tuple(middlewares),
        **({"logger": logger} if logger else {}),
        **guard.callbacks(),
    )


def intake_consumer_config(batch_size: int) -> ConsumerConfig:
    """One durable consumer over every inbound subject, so events arrive in stream order.

    At most one batch is unacknowledged, so a batch that is retried is retried before any later
    message is delivered.
    """
    return ConsumerConfig(
        durable_name=INTAKE_DURABLE,
        filter_subjects=list(INBOUND_SUBJECTS),
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=batch_size,
        max_deliver=-1,
    )


class IntakeConsumer:
    """Hands each fetched batch to `process` off the event loop, then acknowledges all of it.

    When `process` raises (e.g. the database is away), nothing is acknowledged: the batch is
    negatively acknowledged with a delay and redelivered, and the consumer backs off.
    """

    def __init__(
        self,
        process: Callable[[Sequence[Inbound]], BatchOutcome],
        on_committed: Callable[[BatchOutcome], None] = lambda _: None,
        backoff: Backoff | None = None,
    ) -> None:
        self.process = process
        self.on_committed = on_committed
        self.backoff = backoff or Backoff(initial=0.5, cap=30.0)
        self.batches = 0
        self.failures = 0

    async def on_inbound_batch(self, message: NatsMessage) -> None:
        msgs: list[Msg] = message.raw_message
        batch = [Inbound(m.subject, m.data, m.metadata.sequence.stream) for m in msgs]
        try:
            async with _in_progress(msgs):
                outcome = await asyncio.to_thread(self.process, batch)
        except Exception as error:
            await self._retry_later(msgs, error)
            return
        self.backoff.reset()
        self.batches += 1
        await asyncio.gather(*(m.ack() for m in msgs))
        self.on_committed(outcome)

    async def _retry_later(self, msgs: list[Msg], error: Exception) -> None:
        self.failures += 1
        delay = self.backoff.next_delay()
        log.error(
            "intake batch failed; it will be redelivered",
            extra={
                "error": type(error).__name__,
                "batch": len(msgs),
                "first_stream_seq": msgs[0].metadata.sequence.stream,
                "retry_in_seconds": delay,
            },
        )
        with contextlib.suppress(Exception):
            await asyncio.gather(*(m.nak(delay=delay) for m in msgs))
        await asyncio.sleep(delay)


@contextlib.asynccontextmanager
async def _in_progress(msgs: list[Msg]) -> AsyncIterator[None]:
    """Tell the server the batch is being worked on, so a long round is not redelivered."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(ACK_WAIT_SECONDS / 3)
            with contextlib.suppress(Exception):
                await asyncio.gather(*(m.in_progress() for m in msgs))

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _keep_raw(message: Any) -> Any:
    """Bodies stay bytes: Intake turns anything that is not a valid event into a dead letter."""
    return message.body


def register_intake(broker: NatsBroker, consumer: IntakeConsumer, batch_size: int) -> Any:
    """Subscribe `consumer` as the durable batch pull consumer of the inbound subjects."""
    subscriber = broker.subscriber(
        config=intake_consumer_config(batch_size),
        durable=INTAKE_DURABLE,
        stream=jip_stream(),
        pull_sub=PullSub(batch_size=batch_size, timeout=0.2, batch=True),
        ack_policy=AckPolicy.MANUAL,
        decoder=_keep_raw,
        title="jip.inbound:intake",
        description="Inbound events, in stream order, in batches; acked after the commit",
    )
    subscriber(consumer.on_inbound_batch)
    return subscriber
