"""The outbox relay: publishes outbox rows on JetStream (`Nats-Msg-Id` = event id), marks them sent,
and parks a row the broker refuses as too large, so the rows behind it still go out.

Imports services.outbound.outbox and FastStream's NATS broker; never matching or the intake.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

from faststream.nats import NatsBroker
from sqlalchemy import Engine

from services.nats.backoff import Backoff
from services.outbound.acks import BatchAcks
from services.outbound.outbox import OutboxRow, mark_sent, park, pending
from services.store.lease import Fence

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes unsent outbox rows in order; woken by `wake()`, else polls every `poll` seconds.

    While the broker (or database) is away, or refuses a row for any reason but its size (no
    permission, no stream), it retries with capped exponential back-off and nothing behind that
    row goes out: `blocked_seconds()` says for how long (readiness turns red on it). A row
    published twice keeps its id, so the broker's duplicate window drops the second copy. A row
    refused as too large is parked (see `services.outbound.outbox.park`): logged by id, counted in
    `parked` and by `on_parked`, never retried.
    """

    def __init__(
        self,
        engine: Engine,
        broker: NatsBroker,
        batch: int = 500,
        poll: float = 0.5,
        ack_timeout: float = 5.0,
        backoff: Backoff | None = None,
        on_parked: Callable[[], None] | None = None,
        fence: Fence | None = None,
    ) -> None:
        """`fence`: the lease every marking transaction checks (None: this process is alone)."""
        self.engine = engine
        self.fence = fence
        self.broker = broker
        self.batch = batch
        self.poll = poll
        self.ack_timeout = ack_timeout
        self.backoff = backoff or Backoff(initial=0.2, cap=10.0)
        self.published = 0
        self.parked = 0
        self.on_parked = on_parked
        self.last_error: str | None = None
        """Type name of the error of the last pass, while passes fail; None once one succeeds."""
        self._failing_since: float | None = None
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
        stay unsent and go out again, with the same ids, on the next call. A read shorter than a
        batch ends the pass (rows committed since are the next pass's: the commit that queued
        them wakes it), so a pass behind each intake batch reads once, not again to find nothing.
        """
        sent, after, caught_up = 0, 0, False
        marking: asyncio.Future[None] | None = None
        try:
            while (
                not caught_up
                and not (until_stopped and self._stopping)
                and (rows := await asyncio.to_thread(pending, self.engine, self.batch, after))
            ):
                caught_up = len(rows) < self.batch  # a short read saw every row committed then
                too_large = await self._publish(rows)
                if too_large:
                    await asyncio.to_thread(self._park, too_large)
                if marking is not None:
                    await marking
                parked = {row.seq for row in too_large}
                seqs = [row.seq for row in rows if row.seq not in parked]
                marking = asyncio.ensure_future(
                    asyncio.to_thread(partial(mark_sent, fence=self.fence), self.engine, seqs)
                )
                after = rows[-1].seq
                sent += len(seqs)
                self.published += len(seqs)
        finally:
            if marking is not None:
                await marking
        return sent

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.relay_backlog(until_stopped=True)
            except Exception as error:  # the broker or the database is away: retry later
                self.last_error = type(error).__name__
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                delay = self.backoff.next_delay()
                log.warning(
                    "outbox relay retrying",
                    extra={"error": type(error).__name__, "retry_in_seconds": delay},
                )
                await self._idle(delay)
                continue
            self.backoff.reset()
            self._failing_since, self.last_error = None, None
            await self._idle(self.poll)  # at once if woken meanwhile

    async def _idle(self, seconds: float) -> None:
        """Sleep until woken or `seconds` pass (asyncio.timeout: a stop is never lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    def blocked_seconds(self) -> float:
        """How long every pass has failed (0.0 while the relay goes on)."""
        since = self._failing_since
        return 0.0 if since is None else time.monotonic() - since

    async def _publish(self, rows: Sequence[OutboxRow]) -> list[OutboxRow]:
        """Publish the rows and await every ack (at most `ack_timeout` seconds for the batch);
        returns the rows refused as too large. Any other error answer or a missing ack raises,
        and the batch stays unsent."""
        connection = self.broker.connection
        if self.acks is None or self.acks.client is not connection:
            self.acks = BatchAcks(connection)
        return await self.acks.publish(rows, self.ack_timeout)

    def _park(self, rows: Sequence[OutboxRow]) -> None:
        """Set aside rows the broker will never take; logged by id and size, never by body."""
        for row in rows:
            park(self.engine, row.seq, fence=self.fence)
            self.parked += 1
            if self.on_parked is not None:
                self.on_parked()
            log.error(
                "outbox event parked: the broker refuses it as too large",
                extra={
                    "event_id": row.event_id,
                    "subject": row.subject,
                    "size_bytes": len(row.body),
                },  # fmt: skip
            )
