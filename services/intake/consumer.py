"""The intake pull consumer and its crash recovery: fetched batches in a pipeline, committed in
stream order, acknowledged after the commit.

Imports FastStream, nats-py, contracts, services.nats and the intake's batch types; never
matching or tables.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError

from contracts import STREAM
from services.intake.apply import BatchOutcome, Inbound
from services.intake.deliveries import RESTARTED, Deliveries
from services.intake.parsing import Accepted
from services.intake.progress import FailureLog, IntakeProgress
from services.intake.settle import Commit, Isolate, Parse, Probe, Settler, pause
from services.nats import broker as stream_setup
from services.nats.backoff import Backoff
from services.nats.broker import (
    INTAKE_DURABLE,
    PIPELINE,
    intake_consumer_config,
    jip_stream,
)
from services.nats.errors import UnsupportedBrokerError
from services.nats.patches import keep_partial_batches

log = logging.getLogger(__name__)
F = TypeVar("F", bound="asyncio.Future[Any]")

NatsBatch = Annotated[NatsBatchMessage, Context("message")]
"""What a batch pull subscriber hands its handler: the fetched messages as one (FastStream's
`NatsMessage` annotation names a single message)."""

Resync = Callable[[Callable[[], None]], Awaitable[int | None]]
"""Recover deliveries this instance missed (IntakeRecovery.resync on the service's connection):
None after a consumer reset (its argument is called before the request), else the delivery
number that comes next after a hold."""


class Held(Protocol):
    """Where the intake holds messages while a round runs (services.intake.held.HeldInbound)."""

    def store(self, batch: Sequence[Inbound]) -> None: ...
    def waiting(self) -> bool: ...
    def oldest(self) -> list[Inbound]:
        """Up to a batch of them, oldest first, each marked `held`."""


_HELD = BatchOutcome()
"""What `_commit_in_turn` gets for a batch that was held: stored, applied later."""


class IntakeConsumer:
    """A pipeline over fetched batches: batch N+1 is being validated (`parse`, in a worker
    process) while batch N commits (`process`, in a thread) and the next one is fetched.

    Batches commit one at a time in stream order, and each is acknowledged only after its commit.
    A batch that fails is settled in place (services.intake.settle): retried while the database is
    away, split once it answers, the event that fails alone isolated as a dead letter; later
    batches wait behind it, and the server is told it is still in progress, so nothing is
    redelivered meanwhile. A batch is handed back uncommitted only while stopping.

    Deliveries this instance never received (services.intake.deliveries) would come back only
    after ack_wait, behind later events. So a batch after such a gap is not committed: the
    batches before it commit, `resync` resets the consumer to its ack floor, and everything
    after the floor is delivered again in stream order (committed ones are skipped as
    duplicates by the inbox).

    With `held` (services.intake.held), a batch that holds a `round.requested`, and every batch
    after it while held messages wait, is stored and acknowledged as it comes; a drain applies
    the held messages afterwards, oldest first, each part settled like a batch (retried, split,
    isolated). So the intake keeps taking events during a long round, and they are applied after
    it in stream order. Held messages left by an earlier instance are looked for before the
    first batch is applied, and applied first.
    """

    def __init__(
        self,
        process: Commit,
        parse: Parse,
        isolate: Isolate,
        probe: Probe,
        on_committed: Callable[[BatchOutcome], None] = lambda _: None,
        backoff: Backoff | None = None,
        progress: IntakeProgress | None = None,
        held: Held | None = None,
    ) -> None:
        self.on_committed = on_committed
        self.progress = progress or IntakeProgress(stall_seconds=float("inf"))
        self.batches = 0
        self._slots = asyncio.Semaphore(PIPELINE)
        self._tail: asyncio.Task[bool] | None = None
        self._in_flight = 0
        self._stopping = asyncio.Event()
        self._park: asyncio.Event | None = None
        self._parked = asyncio.Event()
        backoff = backoff or Backoff(initial=0.5, cap=30.0)
        self.settler = Settler(process, parse, isolate, probe, backoff, self._stopping)
        self.settler.on_moved = self.progress.moved
        self.deliveries = Deliveries()
        self.resync: Resync | None = None
        """None: a gap is logged and the batches after it committed as they come."""
        self.on_gap: Callable[[], None] = lambda: None
        self._resyncing: asyncio.Task[None] | None = None
        self.held = held
        self.held_batches = 0
        """Batches stored to be applied after a round (acknowledged then)."""
        self.on_held: Callable[[int], None] = lambda _messages: None
        self._look_for_held = held is not None
        self._draining: asyncio.Task[None] | None = None
        self._stored_since_read = False
        self._held_log = FailureLog(log, "intake holding a batch")
        self._held_settler: Settler | None = None
        if held is not None:
            self._held_settler = Settler(  # the same steps as the settler's, as they are set
                lambda batch, parsed: self.settler.process(batch, parsed),
                lambda batch: self.settler.parse(batch),
                lambda *failed: self.settler.isolate(*failed),
                probe,
                Backoff(initial=0.5, cap=30.0),
                self._stopping,
            )
            self._held_settler.on_moved = self.progress.moved
            self._held_settler.on_isolated = lambda stage: self.settler.on_isolated(stage)

    @property
    def process(self) -> Commit:
        return self.settler.process

    @process.setter
    def process(self, process: Commit) -> None:
        self.settler.process = process

    @property
    def parse(self) -> Parse:
        return self.settler.parse

    @parse.setter
    def parse(self, parse: Parse) -> None:
        self.settler.parse = parse

    @property
    def backoff(self) -> Backoff:
        return self.settler.backoff

    @backoff.setter
    def backoff(self, backoff: Backoff) -> None:
        self.settler.backoff = backoff

    @property
    def failures(self) -> int:
        """Tries of a batch, part or dead letter that failed, since the start."""
        return self.settler.failures

    async def on_inbound_batch(self, message: NatsBatch) -> None:
        """Start the batch on its way and return, so the next one is fetched meanwhile: once
        the pipeline has room, so the server can answer that fetch at once (with the pipeline
        full it waits for an ack, max_ack_pending; a stop beginning meanwhile dropped the batch
        it then brought, stop_fetching)."""
        await self._start(message.raw_message)
        async with self._slots:
            pass
        if self._park is not None:  # stopping: keep the fetch loop here until it is stopped
            self._parked.set()
            await self._park.wait()

    async def _start(self, msgs: list[Msg]) -> None:
        streams, numbers = zip(*map(_sequences, msgs), strict=True)
        gaps = self.deliveries.gaps
        start = self.deliveries.take(numbers)
        if self.deliveries.gaps > gaps:
            self._missed(streams[0], len(msgs))
        if start is None:
            if self.resync is not None:
                return  # left unacknowledged: the reset (or ack_wait) gives them back in order
            self.deliveries.rebase(numbers[-1] + 1)  # logged; taken as it comes
            start = 0
        msgs = msgs[start:]
        if not msgs:
            return
        batch = [
            Inbound(m.subject, m.data, seq) for m, seq in zip(msgs, streams[start:], strict=True)
        ]
        await self._slots.acquire()
        if self._in_flight == 0:  # work starts now, not when the last batch committed
            self.progress.moved()
        self._in_flight += 1
        parsed = _retrieved(asyncio.ensure_future(self.parse(batch)))
        tail = self._commit_in_turn(self._tail, msgs, batch, parsed)
        self._tail = _retrieved(asyncio.create_task(tail))

    def _missed(self, first_stream_seq: int, batch: int) -> None:
        self.on_gap()
        log.warning(
            "intake missed deliveries (a fetch lost on the way): the batches before them "
            "commit, then the consumer is reset so they come first, in stream order",
            extra={"first_stream_seq": first_stream_seq, "batch": batch},
        )
        if self.resync is not None and (self._resyncing is None or self._resyncing.done()):
            self._resyncing = asyncio.create_task(self._recover(self.resync))

    async def _recover(self, resync: Resync) -> None:
        """Once the batches before the gap are done, reset (or hold) until it works; again if
        another gap came meanwhile."""
        backoff = Backoff(initial=0.5, cap=30.0)
        while self.deliveries.lost and not self._stopping.is_set():
            if self._tail is not None:
                await asyncio.wait([self._tail])
            try:
                after_hold = await resync(self.deliveries.restart)
                if after_hold is None:
                    self.deliveries.reset_applied()
                else:
                    self.deliveries.rebase(after_hold)
            except Exception as error:
                self.deliveries.unknown()  # the reset may have been applied or not
                log.warning(
                    "intake could not recover missed deliveries yet; trying again",
                    extra={"error": type(error).__name__},
                )
                await asyncio.sleep(backoff.next_delay())

    async def _commit_in_turn(
        self,
        previous: "asyncio.Task[bool] | None",
        msgs: list[Msg],
        batch: list[Inbound],
        parsed: "asyncio.Future[Sequence[Any]]",
    ) -> bool:
        """Commit after the batch before; True once committed. False only while stopping: a
        batch before it was handed back, or this one did not commit in its last try."""
        try:
            async with _in_progress(msgs):
                if previous is not None and not await previous:
                    outcome = None
                elif await self._holds(parsed):
                    outcome = await self._hold(batch)
                else:
                    outcome = await self.settler.settle(batch, parsed)
            if outcome is None:
                await _release(msgs)
                return False
            await self._acknowledge(msgs, outcome)
            return True
        finally:
            self._in_flight -= 1
            self._slots.release()

    async def _acknowledge(self, msgs: list[Msg], outcome: BatchOutcome) -> None:
        """Acks after the commit; a lost ack means a redelivery, which the inbox skips."""
        try:
            for m in msgs:  # one task per ack cost more than the acks themselves
                await m.ack()
        except Exception as error:
            log.warning(
                "intake batch committed but not acknowledged; it comes again and is skipped",
                extra={"error": type(error).__name__, "batch": len(msgs)},
            )
        if outcome is _HELD:
            self.held_batches += 1
            self.on_held(len(msgs))
            return
        self.batches += 1
        self.on_committed(outcome)

    async def apply_held(self) -> None:
        """At start: apply the messages an earlier instance held and left (they come before
        anything fetched now, which is held behind them meanwhile)."""
        if await self._look():
            self._ensure_draining()

    async def _look(self) -> bool:
        """Whether held messages wait (True when the database cannot say: storing and the
        drain retry until it answers); once it answered, batches stop asking."""
        if self.held is None or not self._look_for_held:
            return False
        try:
            waiting = await asyncio.to_thread(self.held.waiting)
        except Exception:
            return True
        self._look_for_held = False
        return waiting

    def _ensure_draining(self) -> None:
        if self._draining is None or self._draining.done():
            self._draining = _retrieved(asyncio.create_task(self._drain_held()))

    async def _holds(self, parsed: "asyncio.Future[Sequence[Any]]") -> bool:
        """Whether this batch is held: held messages wait (an earlier instance's included, or
        the database cannot say), or it holds a `round.requested`."""
        if self.held is None:
            return False
        if await self._look() or (self._draining is not None and not self._draining.done()):
            return True
        try:
            events = await parsed
        except Exception:
            return False  # the settler parses it again, or splits and isolates it
        return any(isinstance(e, Accepted) and e.round_request is not None for e in events)

    async def _hold(self, batch: list[Inbound]) -> BatchOutcome | None:
        """Store the batch to be applied after what is held before it; None when stopping
        first. Storing is retried until it commits, like a batch."""
        if self.held is None:
            raise TypeError("holding a batch without a store for held messages")
        backoff = Backoff(initial=0.5, cap=30.0)
        while True:
            try:
                await asyncio.to_thread(self.held.store, batch)
                break
            except Exception as error:
                self._held_log.failed(type(error).__name__, first_stream_seq=batch[0].stream_seq)
            if not await pause(self._stopping, backoff):
                return None
        self._held_log.recovered()
        self.progress.moved()
        self._stored_since_read = True
        self._ensure_draining()
        return _HELD

    async def _drain_held(self) -> None:
        """Apply held messages, oldest first, until none is left (or stopping)."""
        held, settler = self.held, self._held_settler
        if held is None or settler is None:
            return
        backoff = Backoff(initial=0.5, cap=30.0)
        failures = FailureLog(log, "intake reading held messages")
        while not self._stopping.is_set():
            self._stored_since_read = False
            try:
                batch = await asyncio.to_thread(held.oldest)
            except Exception as error:
                failures.failed(type(error).__name__)
                await pause(self._stopping, backoff)
                continue
            failures.recovered()
            if not batch:
                if self._stored_since_read:  # stored while this read ran: read again
                    continue
                return
            parsed = _retrieved(asyncio.ensure_future(self.settler.parse(batch)))
            outcome = await settler.settle(batch, parsed)
            if outcome is None:
                return
            self.batches += 1
            self.on_committed(outcome)

    async def stop_fetching(self, subscriber: Any, wait: float = 2.0) -> None:
        """Stop `subscriber` without a batch fetched meanwhile being dropped.

        FastStream (0.7.8) drops a batch whose fetch completes after its stop began (the server
        redelivers it only after ack_wait). So the next batch is taken in and the fetch loop held
        in this handler while the stop begins; an idle stream has no batch to drop.
        """
        self._park = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._parked.wait(), wait)
        stopping = asyncio.create_task(subscriber.stop())
        await asyncio.sleep(0)  # the subscriber marks itself stopped before it awaits anything
        self._park.set()
        await stopping

    async def drain(self, timeout: float) -> None:
        """Let the fetched batches commit and be acknowledged, each with one more try; a batch
        that fails now, or is still running after `timeout`, is left for redelivery. Call it
        after the subscriber stopped fetching."""
        self._stopping.set()
        if self._resyncing is not None:
            self._resyncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resyncing
        running = [t for t in (self._tail, self._draining) if t is not None]
        if running:
            await asyncio.wait(running, timeout=timeout)


def _retrieved(future: F) -> F:
    """`future` with its outcome retrieved when it ends, whoever awaits it or not: a batch handed
    back while stopping leaves its parse unawaited, and asyncio would log that parse's error
    with a traceback ("Task exception was never retrieved")."""
    future.add_done_callback(_retrieve)
    return future


def _retrieve(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()


async def _release(msgs: list[Msg]) -> None:
    """Hand uncommitted messages back to the server at once (a restart gets them without waiting
    for ack_wait); redelivery keeps stream order."""
    with contextlib.suppress(Exception):
        for m in msgs:
            await m.nak()


def _sequences(msg: Msg) -> tuple[int, int]:
    """(stream sequence, delivery sequence) from the reply subject `$JS.ACK.[<domain>.
    <account>.]<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
    [.<token>]`: what `msg.metadata` parses too, at a fifth of the cost."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[6])
    if len(tokens) >= 11:
        return int(tokens[7]), int(tokens[8])
    sequence = msg.metadata.sequence
    return sequence.stream, sequence.consumer


@contextlib.asynccontextmanager
async def _in_progress(msgs: list[Msg]) -> AsyncIterator[None]:
    """Tell the server the batch is being worked on, so a long round is not redelivered."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(stream_setup.ACK_WAIT_SECONDS / 3)
            with contextlib.suppress(Exception):
                for m in msgs:
                    await m.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def apply_intake_config(client: Client, batch_size: int) -> None:
    """Bring an existing durable consumer to this version's settings (binding to it leaves its
    config as it was): a consumer made by an older version may allow fewer unacknowledged
    messages than the pipeline needs. The server applies the change without redelivering."""
    await client.jetstream().add_consumer(STREAM, intake_consumer_config(batch_size))


RESET_SINCE = (2, 14)
"""nats-server version that has the consumer reset API ($JS.API.CONSUMER.RESET, ADR-60)."""
FILTERS_SINCE = (2, 10)
"""nats-server version whose consumers filter several subjects (`filter_subjects`). An older
server ignores the field: the intake would be handed every subject of the stream, the service's
own outbound events and dead letters included, and dead-letter them again without end."""


def require_filters(client: Client) -> None:
    """UnsupportedBrokerError unless the connected server filters several subjects."""
    version = client.connected_server_version
    if (version.major, version.minor) < FILTERS_SINCE:
        url = client.connected_url  # host and port only: the URL's netloc may hold credentials
        where = f"{url.hostname}:{url.port}" if url else "the broker URL"
        raise UnsupportedBrokerError(
            f"nats-server {version.major}.{version.minor}.{version.patch} answers at {where}; "
            "the intake needs 2.10 or later (its consumer filters the inbound subjects, which "
            "older servers ignore, so they would hand it the service's own events): upgrade "
            "the server (the embedded one and the compose file's are 2.15)"
        )


class IntakeRecovery:
    """Messages an instance that died left unacknowledged are taken in first, in stream order.

    The server redelivers them only after ack_wait, and meanwhile hands out later messages
    (up to max_ack_pending): later events would commit first, and a round could run without
    events published before it. So before this instance fetches, a consumer with messages
    pending is reset to its ack floor (nats-server 2.14+), or, on an older server, held to one
    unacknowledged message until the ones pending are redelivered and committed (up to
    ack_wait). One active instance per stream is assumed: the pending messages are a dead or
    departing instance's, and their late acks are ignored after the reset.
    """

    def __init__(self, batch_size: int, reset: bool | None = None) -> None:
        self.batch_size = batch_size
        self.reset = reset
        """None: reset when the server supports it."""
        self.held_through: int | None = None
        self._release: asyncio.Task[None] | None = None

    async def before_fetching(self, client: Client) -> int | None:
        """Reset or hold a consumer a previous instance left with messages pending; the
        delivery sequence this instance's first fetch should see. UnsupportedBrokerError
        before anything else on a server older than 2.10."""
        require_filters(client)
        js = client.jetstream()
        try:
            info = await js.consumer_info(STREAM, INTAKE_DURABLE)
        except NotFoundError:  # the first start: the subscriber creates it
            return RESTARTED
        if info.num_ack_pending == 0:
            return int(info.delivered.consumer_seq) + 1
        if self._resets(client) and await _reset_answered(client):
            log.warning(
                "intake consumer reset to its ack floor",
                extra={"ack_floor": info.ack_floor.stream_seq, "pending": info.num_ack_pending},
            )
            return RESTARTED
        return await self._hold(client) + 1

    async def resync(self, client: Client, restarting: Callable[[], None]) -> int | None:
        """After deliveries this instance never received: the consumer reset to its ack floor
        (None; `restarting` is called before the request, since the numbering restarts at 1
        as soon as the server applies it), or, on an older server, held as at a start: then
        the number of the next delivery, the first of the pending ones again. Call it once the
        batches before the gap committed and were acknowledged."""
        if self._resets(client):
            restarting()
            if await _reset_answered(client):
                return None
        numbered = await self._hold(client)
        if self._release is None or self._release.done():
            self._release = asyncio.create_task(self._release_when_caught_up(client))
        return numbered + 1

    def _resets(self, client: Client) -> bool:
        return _has_reset(client) if self.reset is None else self.reset

    async def _hold(self, client: Client) -> int:
        """Hold the consumer to one unacknowledged message, released once everything it had
        delivered when the hold took effect is acknowledged; returns how many deliveries it had
        numbered then. Both are read after the hold, so a delivery racing it is counted: with
        messages pending, a held consumer delivers nothing new, only the pending ones again
        once ack_wait passed (lowest stream sequence first)."""
        held = intake_consumer_config(self.batch_size)
        held.max_ack_pending = 1
        js = client.jetstream()
        await js.add_consumer(STREAM, held)
        info = await js.consumer_info(STREAM, INTAKE_DURABLE)
        self.held_through = info.delivered.stream_seq
        log.warning(
            "intake held to one message until the pending ones are redelivered (nats-server "
            "before 2.14 cannot reset a consumer); this waits for ack_wait",
            extra={
                "ack_floor": info.ack_floor.stream_seq,
                "pending": info.num_ack_pending,
                "ack_wait_seconds": stream_setup.ACK_WAIT_SECONDS,
            },
        )
        return int(info.delivered.consumer_seq)

    async def after_started(self, client: Client) -> None:
        """This version's consumer settings, at once or once the held messages committed."""
        if self.held_through is None:
            await apply_intake_config(client, self.batch_size)
        else:
            self._release = asyncio.create_task(self._release_when_caught_up(client))

    async def _release_when_caught_up(self, client: Client) -> None:
        js = client.jetstream()
        while True:
            with contextlib.suppress(Exception):  # the server may be away for a while
                info = await js.consumer_info(STREAM, INTAKE_DURABLE)
                if self.held_through is not None and (
                    info.ack_floor.stream_seq >= self.held_through
                ):
                    await apply_intake_config(client, self.batch_size)
                    log.info("intake released after the pending messages committed")
                    self.held_through = None
                    return
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._release


async def _reset(client: Client) -> None:
    """Reset the intake consumer to its ack floor: its pending messages are forgotten and
    delivered again from there, in stream order, numbered from 1."""
    reply = await client.request(
        f"$JS.API.CONSUMER.RESET.{STREAM}.{INTAKE_DURABLE}", b"", timeout=10
    )
    if b'"error"' in reply.data:
        raise RuntimeError(f"consumer reset refused: {reply.data[:300]!r}")


async def _reset_answered(client: Client) -> bool:
    """Reset the intake consumer; False when nobody answered: the consumer's leader runs a
    server without the reset (a cluster upgraded node by node across 2.14, the client on a
    newer node), so the caller holds instead. Applied or not, the hold that follows reads the
    server's own numbering, so it is right either way."""
    try:
        await _reset(client)
    except (NoRespondersError, TimeoutError) as error:
        log.warning(
            "intake consumer reset not answered (a consumer leader older than nats-server "
            "2.14?); holding it instead",
            extra={"error": type(error).__name__},
        )
        return False
    return True


def _has_reset(client: Client) -> bool:
    version = client.connected_server_version
    return (version.major, version.minor) >= RESET_SINCE


def _keep_raw(message: Any) -> Any:
    """Bodies stay bytes: Intake turns anything that is not a valid event into a dead letter."""
    return message.body


def register_intake(
    broker: NatsBroker,
    consumer: IntakeConsumer,
    batch_size: int,
    inbox_prefix: str = "_INBOX",
    replicas: int = 1,
    may_fetch: Callable[[], bool] = lambda: True,
) -> Any:
    """Subscribe `consumer` as the durable batch pull consumer of the inbound subjects; the
    fetched events arrive on `<inbox_prefix>.` subjects (private ones in deploy/nats.conf).
    Stream `JIP` is declared with `replicas` copies; nothing is fetched while `may_fetch()` is
    False (this instance's lease ran out)."""
    subscriber = broker.subscriber(
        inbox_prefix=f"{inbox_prefix}.".encode(),
        config=intake_consumer_config(batch_size),
        durable=INTAKE_DURABLE,
        stream=jip_stream(replicas),
        pull_sub=PullSub(batch_size=batch_size, timeout=0.2, batch=True),
        ack_policy=AckPolicy.MANUAL,
        decoder=_keep_raw,
        title="jip.inbound:intake",
        description="Inbound events, in stream order, in batches; acked after the commit",
    )
    subscriber(consumer.on_inbound_batch)
    keep_partial_batches(subscriber, may_fetch)
    return subscriber
