"""Drives the fault tests: the service as a separate OS process (`intern-match serve`), a raw
publisher, a probe of consumer and outbox progress, and a recorder of every outbound publish.
Imports nats-py, sqlalchemy and services' names and tables; never the service's internals.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, DeliverPolicy, StorageType
from sqlalchemy import Engine, func, select

from contracts import STREAM, subject_of
from contracts.subjects import INBOUND_KINDS, OUTBOUND_KINDS
from services.nats.broker import DUPLICATE_WINDOW_SECONDS, INTAKE_DURABLE
from services.store.tables import OutboxEntry, RoundRow
from tests.faults.corpus import Delivery

INBOUND_PREFIXES = tuple(subject_of(kind) for kind in INBOUND_KINDS)
"""Subjects the service consumes (`jip.placement.responded` among them, beside its own
`jip.placement.*` events, so no `jip.placement.>` wildcard stands for the output)."""
OUTBOUND = [*(subject_of(kind) for kind in OUTBOUND_KINDS), "jip.dlq.>"]


def _console_script() -> list[str]:
    beside = Path(sys.executable).parent / "intern-match"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "from services.cli.main import main; main()"]


class ServiceProcess:
    """`intern-match serve` with INTERN_MATCH_* settings, restartable and killable."""

    def __init__(self, settings: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **{f"INTERN_MATCH_{k.upper()}": v for k, v in settings.items()}}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert not self.alive, "already running"
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts + 1}\n".encode())
        self.process = subprocess.Popen(
            [*_console_script(), "-v", "serve"],
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def wait_started(self, timeout: float = 60.0) -> None:
        """Until this start logged "service started" (its signal handlers are in place)."""
        deadline = time.monotonic() + timeout
        while '"service started"' not in self.log_text().rpartition("--- start")[2]:
            assert self.alive, "the service exited while starting"
            if time.monotonic() > deadline:
                raise TimeoutError(f"service not started in {timeout} s")
            time.sleep(0.05)

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Once started, send `sig` and return the exit code."""
        assert self.process is not None
        self.wait_started()
        self.process.send_signal(sig)
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.alive:
            self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def connect(url: str) -> Client:
    """A client of `url`: one server, or a cluster's seeds separated by commas.

    It tries again every 50 ms while the server is away, well before the service (every 1 s):
    the `Recorder` is a core-NATS subscriber, so what the relay publishes between the service's
    reconnect and the recorder's is never seen by it (once in CI, every 0.5 s: 1,400 events of
    a round, all in the stream, missed by the recorder after a 10 s broker outage)."""
    servers = url.split(",")
    return await nats.connect(servers, max_reconnect_attempts=-1, reconnect_time_wait=0.05)


async def ensure_stream(url: str) -> None:
    client = await connect(url)
    try:
        await client.jetstream().add_stream(
            name=STREAM,
            subjects=["jip.>"],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
    finally:
        await client.close()


async def publish(url: str, deliveries: Sequence[Delivery], window: int = 512) -> list[int]:
    """Publish in order with up to `window` acks in flight; returns the stream sequences."""
    client = await connect(url)
    js = client.jetstream()
    seqs: list[int] = []
    try:
        for start in range(0, len(deliveries), window):
            chunk = deliveries[start : start + window]
            acks = await asyncio.gather(
                *(
                    js.publish(
                        d.subject,
                        d.body,
                        stream=STREAM,
                        headers={"Nats-Msg-Id": d.msg_id} if d.msg_id else None,
                    )
                    for d in chunk
                )
            )
            seqs += [a.seq for a in acks]
    finally:
        await client.drain()
    return seqs


@dataclass
class Recorder:
    """Every outbound publish seen on core NATS (re-sends the stream drops included), by id."""

    bodies: dict[str, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    copies: int = 0
    client: Client | None = None

    async def start(self, url: str) -> None:
        self.client = await connect(url)
        for subject in OUTBOUND:
            await self.client.subscribe(
                subject, cb=self._on_message, pending_msgs_limit=-1, pending_bytes_limit=-1
            )
        await self.client.flush()

    async def _on_message(self, msg: Any) -> None:
        self.copies += 1
        self.bodies[json.loads(msg.data)["id"]].add(msg.data)

    def divergent(self) -> list[str]:
        """Ids published more than once with different bodies."""
        return [i for i, found in self.bodies.items() if len(found) > 1]

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.drain()


async def stream_outbound(url: str, patience: float = 60.0) -> list[tuple[str, bytes]]:
    """(id, body) of every outbound message stored in the stream, in stream order. Read again
    from the start while the cluster does not answer (a node just restarted is still catching
    up: creating the reading consumer timed out once in CI), for up to `patience` seconds."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await _stream_outbound(url)
        except nats.errors.TimeoutError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1)


async def _stream_outbound(url: str) -> list[tuple[str, bytes]]:
    client = await connect(url)
    found: list[tuple[str, bytes]] = []
    try:
        js = client.jetstream()
        info = await js.stream_info(STREAM)
        if info.state.messages == 0:
            return found
        sub = await js.subscribe(
            "jip.>", stream=STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        while True:
            msg = await sub.next_msg(timeout=10)
            if not msg.subject.startswith(INBOUND_PREFIXES):
                found.append((json.loads(msg.data)["id"], msg.data))
            if msg.metadata.num_pending == 0:
                break
    finally:
        await client.close()
    return found


@dataclass
class Progress:
    acked_through: int
    delivered_through: int
    ack_pending: int
    rounds: int
    outbox: int
    sent: int


class Probe:
    """Reads the durable consumer's and the outbox's progress from outside the service."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.client: Client | None = None

    async def consumer(self) -> ConsumerInfo | None:
        if self.client is None:
            self.client = await connect(self.url)
        try:
            return await self.client.jetstream().consumer_info(STREAM, INTAKE_DURABLE, timeout=2)
        except Exception:  # not created yet, or the server is away
            return None

    def _tables(self) -> tuple[int, int, int]:
        try:
            with self.engine.connect() as c:
                rounds = c.execute(select(func.count()).select_from(RoundRow)).scalar_one()
                total, unsent = c.execute(
                    select(func.count(), func.count().filter(OutboxEntry.sent_at.is_(None)))
                ).one()
        except Exception:  # not migrated yet, or the database is away
            return -1, -1, -1
        return rounds, total, total - unsent

    async def progress(self, broker: bool = True) -> Progress:
        """With `broker=False` only the tables are read (the consumer's figures are -1): a poll
        that must not wait for a client still reconnecting after an outage."""
        info = await self.consumer() if broker else None
        rounds, total, sent = await asyncio.to_thread(self._tables)
        if info is None:
            return Progress(-1, -1, -1, rounds, total, sent)
        return Progress(
            info.ack_floor.stream_seq,
            info.delivered.stream_seq,
            info.num_ack_pending,
            rounds,
            total,
            sent,
        )

    async def until(
        self,
        condition: Callable[[Progress], bool],
        timeout: float,
        poll: float = 0.05,
        broker: bool = True,
    ) -> Progress:
        deadline = time.monotonic() + timeout
        while True:
            progress = await self.progress(broker)
            if condition(progress):
                return progress
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s; last {progress}")
            await asyncio.sleep(poll)

    async def settled(self, last_seq: int, rounds: int, timeout: float = 120.0) -> Progress:
        """Every inbound message acked and every outbox row sent."""

        def done(p: Progress) -> bool:
            return (
                p.acked_through >= last_seq
                and p.ack_pending == 0
                and p.rounds >= rounds
                and p.sent == p.outbox > 0
            )

        return await self.until(done, timeout, poll=0.2)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
