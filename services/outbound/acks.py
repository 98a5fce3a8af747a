"""Publishing a batch of outbox rows on JetStream with their acks awaited together, telling the
rows the broker refuses as too large (which no retry can publish) from every other refusal.

Imports nats-py and services.outbound.outbox; never the database or matching.
"""

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, OutboundBufferLimitError
from nats.js.errors import APIError, NoStreamResponseError

from contracts import STREAM
from services.outbound.outbox import OutboxRow

MESSAGE_TOO_LARGE = 10054
"""JetStream's error code for a message over the stream's maximum message size."""


def header_block(row: OutboxRow) -> bytes:
    """The message's headers as the wire carries them: `Nats-Msg-Id` = event id (the broker
    drops a re-send) and the stream it must land in. The event id is the service's own (no
    blank, no CR or LF)."""
    return b"NATS/1.0\r\nNats-Msg-Id: " + row.event_id.encode() + _STREAM_HEADER


def wire_size(row: OutboxRow) -> int:
    """Bytes the server counts against its max_payload: the header block and the body.

    nats-py compares the body alone with max_payload; the server counts both, and answers a
    message over it by closing the connection, so the relay checks the sum before publishing.
    """
    return len(header_block(row)) + len(row.body)


def hpub(row: OutboxRow, reply: str) -> bytes:
    """The NATS protocol's HPUB command of a row: `HPUB <subject> <reply> <header bytes> <total
    bytes>`, CRLF, then the header block and the body, CRLF (the bytes nats-py's `publish` writes
    for the same message: tests/unit/test_relay_wire.py).

    The subject, reply and event id go into the protocol's lines as they are, so a blank, CR or
    LF in one would end a line early and let the rest be read as commands (and nats-py strips
    any Unicode blank from a header's ends), and an empty subject would make the reply the
    subject: a row with an empty subject or id, or a blank or a control character in one, raises
    instead of going out (the relay retries and stops there, as for any
    refusal but size, and readiness turns red). The service writes both from ids the contract's
    patterns allow, so none holds one."""
    if _LINE_BREAKING.search(row.subject) or _LINE_BREAKING.search(row.event_id):
        raise ValueError(f"outbox row {row.seq}: a blank or control character in its subject or id")
    if not row.subject or not row.event_id:  # `HPUB  <reply> …` would publish to the reply
        raise ValueError(f"outbox row {row.seq}: an empty subject or id")
    header = header_block(row)
    return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
        row.subject.encode(), reply.encode(), len(header), len(header) + len(row.body), header,
        row.body,
    )  # fmt: skip


_LINE_BREAKING = re.compile(r"[\s\x00-\x1f\x7f]")

_STREAM_HEADER = f"\r\nNats-Expected-Stream: {STREAM}\r\n\r\n".encode()


def refused_as_too_large(error: BaseException) -> bool:
    """Whether an ack says the message is too large for the stream (no retry can change that)."""
    return isinstance(error, APIError) and error.err_code == MESSAGE_TOO_LARGE


@dataclass(slots=True)
class _Batch:
    """The acks a batch still awaits (reply token -> row) and the refusals received."""

    done: asyncio.Future[None]
    waiting: dict[str, OutboxRow] = field(default_factory=dict)
    refused: list[tuple[OutboxRow, BaseException]] = field(default_factory=list)
    sealed: bool = False
    """Every row of the batch is published: the last ack may end it."""

    def answered(self, token: str, error: BaseException | None) -> None:
        row = self.waiting.pop(token, None)
        if row is None:
            return
        if error is not None:
            self.refused.append((row, error))
        self.end_if_answered()

    def end_if_answered(self) -> None:
        if self.sealed and not self.waiting and not self.done.done():
            self.done.set_result(None)


class BatchAcks:
    """JetStream publishing with the acks of a batch awaited together, on one reply subscription.

    `js.publish` costs a task and a timer per message (FastStream's publish more still), which
    held the relay to about 11,000 events/s here. nats-py's own `publish_async` never delivers
    an error answer: it raises inside its reply callback, so a refused publish would only time
    out. Here each answer is matched to its row by its reply token, and the batch ends with its
    last answer (one future a batch, not one a message; an ack is read as JSON only when it may
    carry an error).
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._prefix: str | None = None
        self._batch: _Batch | None = None
        self._next = 0

    def in_flight(self) -> int:
        """Messages published whose ack is still awaited."""
        return 0 if self._batch is None else len(self._batch.waiting)

    async def publish(self, rows: Sequence[OutboxRow], timeout: float) -> list[OutboxRow]:
        """Publish the rows in order and await every ack (at most `timeout` s for the batch, its
        writing included).

        Returns the rows refused as too large, in order: over the server's max_payload (never
        sent) or over the stream's maximum message size (refused in the ack); the rest went out.
        Any other refusal (the first in publish order) or a missing ack raises, and the caller
        treats the batch as unsent.
        """
        prefix = await self._subscribed()
        too_large: list[OutboxRow] = []
        commands: list[bytes] = []
        batch = self._batch = _Batch(asyncio.get_running_loop().create_future())
        try:
            for row in rows:
                if wire_size(row) > self.client.max_payload:
                    too_large.append(row)
                    continue
                self._next += 1
                token = str(self._next)
                batch.waiting[token] = row
                commands.append(hpub(row, prefix + token))
            async with asyncio.timeout(timeout):  # the writing too: a stalled socket's flush
                await self._send(commands)
                batch.sealed = True
                batch.end_if_answered()
                await batch.done
        finally:
            self._batch = None
            batch.done.cancel()
        for row, error in sorted(batch.refused, key=lambda pair: pair[0].seq):
            if not refused_as_too_large(error):
                raise error
            too_large.append(row)
        return sorted(too_large, key=lambda row: row.seq)

    async def _send(self, commands: list[bytes]) -> None:
        """Hand the batch's HPUB commands to the client's writer in one piece and flush.

        nats-py's `publish` builds each message's header block anew (a regular expression per
        key, a translate per value) and checks each subject: 20 us a message, most of the relay's
        own time; these commands are built from values the service wrote (`hpub`), and the
        client's buffer and flusher carry them exactly as they carry `publish`'s."""
        if self.client.is_closed:
            raise ConnectionClosedError
        if not self.client.is_connected:  # reconnecting: the pass fails and is tried again
            raise OutboundBufferLimitError
        await self.client._send_command(b"".join(commands))  # noqa: SLF001
        await self.client._flush_pending()  # noqa: SLF001

    async def _subscribed(self) -> str:
        if self._prefix is None:
            prefix = f"{self.client.new_inbox()}."
            await self.client.subscribe(f"{prefix}*", cb=self._answer)
            self._prefix = prefix
        return self._prefix

    async def _answer(self, msg: Msg) -> None:
        assert self._prefix is not None
        batch = self._batch
        if batch is None:  # a late ack of a batch given up on
            return
        batch.answered(msg.subject[len(self._prefix) :], _refusal(msg))


def _refusal(msg: Msg) -> BaseException | None:
    """The error an answer carries (no stream; a JetStream API error), or None for an ack."""
    if msg.headers and msg.headers.get("Status") == "503":
        return NoStreamResponseError()
    if msg.data.startswith(b'{"stream":') and b'"error"' not in msg.data:
        return None  # an ack ({"stream":..,"seq":..}): no JSON parse needed
    try:
        answer = json.loads(msg.data)
        if "error" in answer:
            APIError.from_error(answer["error"])  # raises the error's own class
    except Exception as error:
        return error
    return None
