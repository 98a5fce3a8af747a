"""The outbox relay: publishes outbox rows on JetStream (`Nats-Msg-Id` = event id), marks them sent.

Imports services.outbox and FastStream's NATS broker; never matching or the intake.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import APIError, NoStreamResponseError
from sqlalchemy import Engine

from contracts import STREAM
from services.backoff import Backoff
from services.outbox import OutboxRow, mark_sent, pending

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes unsent outbox rows in order; woken by `wake()`, else polls every `poll` seconds.

    While the broker (or database) is away it retries with capped exponential back-off; a row
    published twice keeps its id, so the broker's duplicate window drops the second copy.
    """

    def __init__(
        self,
        engine: Engine,
        broker: NatsBroker,
        batch: int = 500,
        poll: float = 0.5,
        ack_timeout: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.batch = batch
        self.poll = poll
        self.ack_timeout = ack_timeout
        self.backoff = backoff or Backoff(initial=0.2, cap=10.0)
        self.published = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.acks: BatchAcks | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def wake(self) -> None:
        """Publish now (called after each committed intake batch)."""
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Let the loop finish the rows in flight, then end it (cancelled after `grace` s)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self, timeout: float = 30.0) -> int:
        """Stop the loop, then publish every pending row; returns how many are still unsent."""
        await self.stop()
        async with asyncio.timeout(timeout):
            await self.relay_backlog()
        return len(await asyncio.to_thread(pending, self.engine, None))

    async def relay_backlog(self, until_stopped: bool = False) -> int:
        """Publish every pending row in order, batch by batch (with `until_stopped`, no batch
        is begun once `stop()` was called); returns how many were sent.

        Each batch is marked sent while the next one is read and published (a round's 100,000
        events go out about a third faster), so each read starts past the last row published.
        If marking fails, the error is raised once the batch in flight is published: those rows
        stay unsent and go out again, with the same ids, on the next call.
        """
        sent, after = 0, 0
        marking: asyncio.Future[None] | None = None
        try:
            while not (until_stopped and self._stopping) and (
                rows := await asyncio.to_thread(pending, self.engine, self.batch, after)
            ):
                await self._publish(rows)
                if marking is not None:
                    await marking
                seqs = [row.seq for row in rows]
                marking = asyncio.ensure_future(asyncio.to_thread(mark_sent, self.engine, seqs))
                after = seqs[-1]
                sent += len(rows)
                self.published += len(rows)
        finally:
            if marking is not None:
                await marking
        return sent

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.relay_backlog(until_stopped=True)
            except Exception as error:  # the broker or the database is away: retry later
                delay = self.backoff.next_delay()
                log.warning(
                    "outbox relay retrying",
                    extra={"error": type(error).__name__, "retry_in_seconds": delay},
                )
                await self._idle(delay)
                continue
            self.backoff.reset()
            if sent == 0:
                await self._idle(self.poll)

    async def _idle(self, seconds: float) -> None:
        """Sleep until woken or `seconds` pass (asyncio.timeout: a stop is never lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def _publish(self, rows: Sequence[OutboxRow]) -> None:
        """Publish the rows and await every ack (at most `ack_timeout` seconds for the batch);
        an error answer or a missing ack raises, and the batch stays unsent."""
        connection = self.broker.connection
        if self.acks is None or self.acks.client is not connection:
            self.acks = BatchAcks(connection)
        await self.acks.publish(rows, self.ack_timeout)


class BatchAcks:
    """JetStream publishing with the acks of a batch awaited together, on one reply subscription.

    `js.publish` costs a task and a timer per message (FastStream's publish more still), which
    held the relay to about 11,000 events/s here. nats-py's own `publish_async` never delivers
    an error answer: it raises inside its reply callback, so a refused publish would only time
    out. Here each answer resolves its message's future: the ack, or the error it carries.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._prefix: str | None = None
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._next = 0

    def in_flight(self) -> int:
        """Messages published whose ack is still awaited."""
        return len(self._waiting)

    async def publish(self, rows: Sequence[OutboxRow], timeout: float) -> None:
        if self._prefix is None:
            prefix = f"{self.client.new_inbox()}."
            await self.client.subscribe(f"{prefix}*", cb=self._answer)
            self._prefix = prefix
        loop = asyncio.get_running_loop()
        tokens: list[str] = []
        try:
            for row in rows:
                self._next += 1
                token = str(self._next)
                tokens.append(token)
                self._waiting[token] = loop.create_future()
                await self.client.publish(
                    row.subject,
                    row.body,
                    reply=self._prefix + token,
                    headers={"Nats-Msg-Id": row.event_id, "Nats-Expected-Stream": STREAM},
                )
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(self._waiting[t] for t in tokens))
        finally:
            for token in tokens:
                future = self._waiting.pop(token, None)
                if future is not None:
                    future.cancel()

    async def _answer(self, msg: Msg) -> None:
        assert self._prefix is not None
        future = self._waiting.get(msg.subject[len(self._prefix) :])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(NoStreamResponseError())
            return
        try:
            answer = json.loads(msg.data)
            if "error" in answer:
                APIError.from_error(answer["error"])  # raises the error's own class
        except Exception as error:
            future.set_exception(error)
        else:
            future.set_result(None)
