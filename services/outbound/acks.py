"""Publishing a batch of outbox rows on JetStream with their acks awaited together, telling the
rows the broker refuses as too large (which no retry can publish) from every other refusal.

Imports nats-py and services.outbound.outbox; never the database or matching.
"""

import asyncio
import json
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import APIError, NoStreamResponseError

from contracts import STREAM
from services.outbound.outbox import OutboxRow

MESSAGE_TOO_LARGE = 10054
"""JetStream's error code for a message over the stream's maximum message size."""


def publish_headers(row: OutboxRow) -> dict[str, str]:
    """`Nats-Msg-Id` = event id (the broker drops a re-send), and the stream it must land in."""
    return {"Nats-Msg-Id": row.event_id, "Nats-Expected-Stream": STREAM}


def wire_size(body: bytes, headers: dict[str, str]) -> int:
    """Bytes the server counts against its max_payload: the header block and the body.

    nats-py compares the body alone with max_payload; the server counts both, and answers a
    message over it by closing the connection, so the relay checks the sum before publishing.
    """
    header_block = len(b"NATS/1.0\r\n\r\n")
    for key, value in headers.items():
        header_block += len(f"{key.strip()}: {value.strip()}\r\n".encode())
    return header_block + len(body)


def refused_as_too_large(error: BaseException) -> bool:
    """Whether an ack says the message is too large for the stream (no retry can change that)."""
    return isinstance(error, APIError) and error.err_code == MESSAGE_TOO_LARGE


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

    async def publish(self, rows: Sequence[OutboxRow], timeout: float) -> list[OutboxRow]:
        """Publish the rows in order and await every ack (at most `timeout` s for the batch).

        Returns the rows refused as too large, in order: over the server's max_payload (never
        sent) or over the stream's maximum message size (refused in the ack); the rest went out.
        Any other refusal or a missing ack raises, and the caller treats the batch as unsent.
        """
        prefix = await self._subscribed()
        loop = asyncio.get_running_loop()
        too_large: list[OutboxRow] = []
        sent: list[tuple[OutboxRow, str]] = []
        try:
            for row in rows:
                headers = publish_headers(row)
                if wire_size(row.body, headers) > self.client.max_payload:
                    too_large.append(row)
                    continue
                self._next += 1
                token = str(self._next)
                self._waiting[token] = loop.create_future()
                sent.append((row, token))
                await self.client.publish(row.subject, row.body, reply=prefix + token,
                                          headers=headers)  # fmt: skip
            async with asyncio.timeout(timeout):
                answers = await asyncio.gather(
                    *(self._waiting[t] for _, t in sent), return_exceptions=True
                )
        finally:
            for _, token in sent:
                future = self._waiting.pop(token, None)
                if future is not None:
                    future.cancel()
        for (row, _), answer in zip(sent, answers, strict=True):
            if isinstance(answer, BaseException):
                if not refused_as_too_large(answer):
                    raise answer
                too_large.append(row)
        return sorted(too_large, key=lambda row: row.seq)

    async def _subscribed(self) -> str:
        if self._prefix is None:
            prefix = f"{self.client.new_inbox()}."
            await self.client.subscribe(f"{prefix}*", cb=self._answer)
            self._prefix = prefix
        return self._prefix

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
