"""Client side of the broker for the CLI and tests: publish events, request and await rounds.

Imports nats-py, contracts and settings; never the database, the intake or matching.
"""

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from contracts import STREAM, Kind, RoundRequested, make_event, subject_of, to_json_bytes, type_of
from contracts.subjects import ROUND_SUBJECTS, kind_of_type
from services.nats.errors import UnroutableEventError
from services.nats.security import FirstConnectGuard, connect_options
from services.settings import Settings, broker_servers

OPERATOR_SOURCE = "/intern-match-cli"
log = logging.getLogger(__name__)
_ANSWERS = {type_of(Kind.ROUND_COMPLETED), type_of(Kind.ROUND_FAILED)}


@dataclass(frozen=True)
class _Route:
    subject: str
    body: bytes
    headers: dict[str, str] | None


async def connect(settings: Settings, broker_url: str | None = None) -> Client:
    """A nats-py connection to `broker_url` (default: the configured one) with its credentials
    and TLS; raises BrokerAccessError at once when the broker refuses them."""
    url = broker_url or settings.broker_url
    if not url:
        raise ValueError("no broker URL: set INTERN_MATCH_BROKER_URL or pass broker_url")
    guard = _CommandGuard(url)
    return await nats.connect(
        broker_servers(url),
        max_reconnect_attempts=5,
        inbox_prefix=settings.broker_inbox_prefix,
        **connect_options(settings),
        **guard.callbacks(),
    )


class _CommandGuard(FirstConnectGuard):
    """For a one-shot command: a broker away before the first connect is not logged per attempt;
    the command ends with one message naming INTERN_MATCH_BROKER_URL when the attempts run out.
    """

    async def on_error(self, error: Exception) -> None:
        if not self.has_connected and self.refusal(error) is None:
            log.debug("broker not reachable yet", extra={"broker_url": self.url})
            return
        await super().on_error(error)


async def publish_events(
    settings: Settings,
    bodies: Iterable[bytes],
    *,
    broker_url: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    fallback_subject: str | None = None,
    window: int = 256,
) -> int:
    """Publish CloudEvent bodies in order to `jip.<kind>` (`Nats-Msg-Id` = id), awaiting acks.

    Up to `window` publishes are in flight at once; a round request waits for every earlier
    ack first, so a round always sees the events before it. A body without a contract type goes
    to `fallback_subject`, or raises UnroutableEventError naming its position before any publish.
    Returns the number of bodies the stream acknowledged.
    """
    routes = [_route(i, body, fallback_subject) for i, body in enumerate(bodies)]
    client = await connect(settings, broker_url)
    js = client.jetstream()
    sent = 0
    try:
        pending: list[_Route] = []
        for route in routes:
            if route.subject == subject_of(Kind.ROUND_REQUESTED) or len(pending) >= window:
                sent += await _publish_all(js, pending)
                pending = []
                if on_progress:
                    on_progress(sent)
            pending.append(route)
        sent += await _publish_all(js, pending)
        if on_progress:
            on_progress(sent)
    finally:
        await client.drain()
    return sent


async def publish_one(
    settings: Settings, subject: str, body: bytes, msg_id: str, *, broker_url: str | None = None
) -> bool:
    """Publish one body on `subject` with this `Nats-Msg-Id`, awaiting the stream's ack;
    returns whether the broker dropped it as a duplicate of an earlier message with that id."""
    client = await connect(settings, broker_url)
    try:
        ack = await client.jetstream().publish(
            subject, body, stream=STREAM, headers={"Nats-Msg-Id": msg_id}
        )
    finally:
        await client.drain()
    return bool(ack.duplicate)


async def _publish_all(js: Any, routes: list[_Route]) -> int:
    await asyncio.gather(
        *(js.publish(r.subject, r.body, stream=STREAM, headers=r.headers) for r in routes)
    )
    return len(routes)


def _route(position: int, body: bytes, fallback_subject: str | None) -> _Route:
    try:
        doc = json.loads(body)
        kind = kind_of_type(doc["type"]) if isinstance(doc.get("type"), str) else None
    except (ValueError, AttributeError, RecursionError):
        doc, kind = None, None
    if kind is None:
        if fallback_subject is None:
            raise UnroutableEventError(f"body {position + 1} has no jip.<kind>.v1 type")
        return _Route(fallback_subject, body, None)
    event_id = doc.get("id") if isinstance(doc, dict) else None
    headers = {"Nats-Msg-Id": event_id} if isinstance(event_id, str) and event_id else None
    return _Route(subject_of(kind), body, headers)


async def read_stream(
    settings: Settings,
    subject: str,
    *,
    broker_url: str | None = None,
    until: Callable[[list[tuple[str, dict[str, Any]]]], bool] | None = None,
    timeout: float = 30.0,
) -> list[tuple[str, dict[str, Any]]]:
    """(subject, event) pairs on `subject` (wildcards allowed) from the start of the stream.

    Reads with an ephemeral ordered consumer until `until(events)` holds, or, without `until`,
    until the stream holds no more; raises TimeoutError when `until` does not hold in time.
    """
    client = await connect(settings, broker_url)
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        sub = await client.jetstream().subscribe(
            subject, stream=STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        async with asyncio.timeout(timeout):
            while until is None or not until(events):
                try:
                    msg = await sub.next_msg(timeout=0.5 if until is None else 5.0)
                except nats.errors.TimeoutError:
                    if until is None:
                        break
                    continue
                events.append((msg.subject, _json_or_raw(msg.data)))
                if until is None and msg.metadata.num_pending == 0:
                    break
    finally:
        await client.close()
    return events


async def find_by_msg_id(client: Client, subject: str, msg_id: str) -> int | None:
    """The stream sequence of the message on `subject` published with `Nats-Msg-Id` = `msg_id`,
    or None. Reads every message of `subject`: meant for rare ones such as round requests, and
    needed past the broker's duplicate window, where a repeat would be stored again."""
    js = client.jetstream()
    info = await js.stream_info(STREAM, subjects_filter=subject)
    if not (info.state.subjects or {}).get(subject):
        return None
    sub = await js.subscribe(
        subject, stream=STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            if (msg.headers or {}).get("Nats-Msg-Id") == msg_id:
                return int(msg.metadata.sequence.stream)
            if msg.metadata.num_pending == 0:
                return None
    finally:
        await sub.unsubscribe()


def _json_or_raw(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):  # whatever producers sent: the stream holds it
        return {"raw": data.decode(errors="replace")}
    return doc if isinstance(doc, dict) else {"raw": doc}


async def wait_round(
    settings: Settings, round_id: str, timeout: float = 600.0, *, broker_url: str | None = None
) -> dict[str, Any]:
    """The `round.completed` or `round.failed` event of `round_id`, read from the stream start.

    Reading from the start finds the answer of a round requested again, whose re-published
    answer the broker dropped as a duplicate.
    """

    def answered(events: list[tuple[str, dict[str, Any]]]) -> bool:
        return any(_answers(doc, round_id) for _, doc in events)

    events = await read_stream(
        settings, ROUND_SUBJECTS, broker_url=broker_url, until=answered, timeout=timeout
    )
    return next(doc for _, doc in events if _answers(doc, round_id))


def _answers(doc: dict[str, Any], round_id: str) -> bool:
    data = doc.get("data")
    return (
        doc.get("type") in _ANSWERS and isinstance(data, dict) and data.get("round_id") == round_id
    )


async def request_round(
    settings: Settings, request: RoundRequested, timeout: float = 600.0
) -> dict[str, Any]:
    """Publish a `round.requested` event for `request` and return the round's answer."""
    event = make_event(
        Kind.ROUND_REQUESTED,
        f"round-request-{uuid.uuid4()}",
        request,
        dt.datetime.now(dt.UTC),
        OPERATOR_SOURCE,
        f"round/{request.round_id}",
    )
    await publish_events(settings, [to_json_bytes(event)])
    return await wait_round(settings, request.round_id, timeout)
