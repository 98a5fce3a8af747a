"""Reading a range of stream `JIP` (by sequence or time); writing it as JSON Lines, bodies as sent.

Imports nats-py, contracts and the client helpers; never the database, the intake or matching.
"""

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nats
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from contracts import INBOUND_KINDS, STREAM, subject_of
from contracts.subjects import ALL_SUBJECTS
from services.nats.client import connect
from services.nats.patches import server_info
from services.settings import Settings

INBOUND_SUBJECTS = frozenset(subject_of(kind) for kind in INBOUND_KINDS)


@dataclass(frozen=True)
class StreamRange:
    """Which messages to read: a sequence range or a time range, inbound subjects or all."""

    from_seq: int | None = None
    to_seq: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    subjects: str = "inbound"

    def __post_init__(self) -> None:
        by_seq = self.from_seq is not None or self.to_seq is not None
        if by_seq and (self.since is not None or self.until is not None):
            raise ValueError("give a sequence range or a time range, not both")
        if self.subjects not in ("inbound", "all"):
            raise ValueError("subjects must be 'inbound' or 'all'")

    def wants(self, subject: str) -> bool:
        return self.subjects == "all" or subject in INBOUND_SUBJECTS


@dataclass(frozen=True)
class StreamMessage:
    seq: int
    subject: str
    time: dt.datetime
    body: bytes


async def read_range(
    settings: Settings,
    wanted: StreamRange,
    *,
    broker_url: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[StreamMessage]:
    """The stream's messages in `wanted`, in stream order, up to the last one present at the start.

    `on_progress(seq_done, last_seq)` follows the stream sequence.
    """
    client = await connect(settings, broker_url)
    try:
        js = client.jetstream()
        last = (await js.stream_info(STREAM)).state.last_seq
        end = min(last, wanted.to_seq) if wanted.to_seq is not None else last
        if end == 0 or end < (wanted.from_seq or 1):
            return []
        policy, config = _start(wanted)
        sub = await js.subscribe(
            ALL_SUBJECTS, stream=STREAM, ordered_consumer=True, deliver_policy=policy, config=config
        )
        return await _collect(sub, wanted, end, on_progress)
    finally:
        await client.close()


def _start(wanted: StreamRange) -> tuple[DeliverPolicy, ConsumerConfig | None]:
    """Where the ordered consumer starts: its deliver policy, and the config naming the start."""
    if wanted.from_seq is not None:
        return DeliverPolicy.BY_START_SEQUENCE, ConsumerConfig(opt_start_seq=wanted.from_seq)
    if wanted.since is not None:  # nats-py writes an aware datetime as RFC 3339 in UTC
        config = ConsumerConfig(opt_start_time=wanted.since.astimezone(dt.UTC))
        return DeliverPolicy.BY_START_TIME, config
    return DeliverPolicy.ALL, None


async def _collect(
    sub: JetStreamContext.PushSubscription,
    wanted: StreamRange,
    end: int,
    on_progress: Callable[[int, int], None] | None,
) -> list[StreamMessage]:
    found: list[StreamMessage] = []
    while True:
        try:
            msg = await sub.next_msg(timeout=2.0)
        except nats.errors.TimeoutError:
            break  # nothing left to deliver (e.g. the tail of the range was deleted)
        meta = msg.metadata
        seq = meta.sequence.stream
        if seq > end or (wanted.until is not None and meta.timestamp > wanted.until):
            break
        if wanted.wants(msg.subject):
            found.append(StreamMessage(seq, msg.subject, meta.timestamp, msg.data))
        if on_progress:
            on_progress(seq, end)
        if seq >= end or meta.num_pending == 0:
            break
    return found


LEFT_OUT = "left out: spans lines, no JSON"


class JsonLines(NamedTuple):
    text: bytes
    compacted: int
    """Bodies re-serialised onto one line."""
    left_out: int
    """Bodies spanning lines that are no readable JSON: no JSON Lines record can hold them (the
    service dead-lettered each, and its dead letter is in the stream)."""


def to_jsonl(bodies: Iterable[bytes]) -> JsonLines:
    """JSON Lines text of the bodies: each written as sent unless it spans lines; JSON spanning
    lines is compacted, and any other body spanning lines is left out and counted."""
    lines, compacted, left_out = [], 0, 0
    for body in bodies:
        if b"\n" in body or b"\r" in body:
            try:
                doc = json.loads(body)
                body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
            except (ValueError, RecursionError, UnicodeError):
                left_out += 1
                continue
            compacted += 1
        lines.append(body + b"\n")
    return JsonLines(b"".join(lines), compacted, left_out)


def write_export(path: Path, messages: list[StreamMessage]) -> dict[str, int]:
    """Write the messages' bodies as JSON Lines; return counts by subject, and of the bodies
    left out (see `to_jsonl`) when there are any."""
    written = to_jsonl(m.body for m in messages)
    path.write_bytes(written.text)
    counts: dict[str, int] = {}
    for m in messages:
        counts[m.subject] = counts.get(m.subject, 0) + 1
    if written.left_out:
        counts[LEFT_OUT] = written.left_out
    return counts


async def source_fingerprint(settings: Settings, broker_url: str | None = None) -> dict[str, str]:
    """The fingerprint of the broker at `broker_url` (default: the configured one)."""
    client = await connect(settings, broker_url)
    try:
        return await broker_fingerprint(client)
    finally:
        await client.close()


async def broker_fingerprint(client: Client) -> dict[str, str]:
    """What tells one broker from another: stream JIP's creation time (kept across restarts, new
    for every stream) and the cluster's name, or a lone server's id (new at every start).

    A broker without stream JIP has no `stream_created`.
    """
    info = server_info(client)  # the INFO the connected server sent
    cluster = info.get("cluster")
    found = {"server": f"cluster {cluster}" if cluster else f"server {info.get('server_id', '?')}"}
    try:
        stream = await client.jetstream().stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        return found
    if stream.created is not None:
        found["stream_created"] = stream.created.isoformat()
    return found
