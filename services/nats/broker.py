"""The broker and stream setup: the FastStream broker, stream `JIP`, and the intake consumer's
JetStream config and names.

Imports FastStream, nats-py, contracts and services.nats.security; never the intake, tables or
matching.
"""

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from faststream.nats import JStream, NatsBroker
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, StorageType

from contracts import INBOUND_KINDS, STREAM, subject_of
from contracts.subjects import ALL_SUBJECTS
from services.nats.security import FirstConnectGuard, broker_security
from services.settings import Settings, broker_servers

INTAKE_DURABLE = "intern-match-intake"
DUPLICATE_WINDOW_SECONDS = 20 * 60
INBOUND_SUBJECTS = [subject_of(kind) for kind in INBOUND_KINDS]
ACK_WAIT_SECONDS = 30.0
PIPELINE = 3
"""Batches fetched ahead of the one committing."""


def jip_stream(replicas: int = 1) -> JStream:
    """Stream `JIP` over `jip.>`, file storage, 20-minute duplicate window, `replicas` copies
    (INTERN_MATCH_STREAM_REPLICAS; its consumers inherit them); created or updated."""
    return JStream(
        name=STREAM,
        subjects=[ALL_SUBJECTS],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


def make_broker(
    url: str,
    settings: Settings,
    graceful_timeout: float | None = None,
    middlewares: Sequence[Any] = (),
    logger: logging.Logger | None = None,
) -> NatsBroker:
    """A broker that authenticates as the settings say, fails fast when the broker refuses it at
    the first connect (BrokerAccessError), and once connected reconnects forever; `url` may list
    a cluster's seeds separated by commas (the client learns the other nodes from them)."""
    guard = FirstConnectGuard(url)
    broker = partial(
        NatsBroker,
        broker_servers(url),
        security=broker_security(settings),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        inbox_prefix=settings.broker_inbox_prefix,
        graceful_timeout=graceful_timeout or settings.round_time_limit_seconds + 60.0,
        middlewares=tuple(middlewares),
        error_cb=guard.on_error,
        disconnected_cb=guard.on_disconnected,
    )
    # Without `logger` FastStream logs through its own default logger (`logger=None` would
    # silence it), so the argument is passed only when there is one.
    return broker(logger=logger) if logger is not None else broker()


def intake_consumer_config(batch_size: int) -> ConsumerConfig:
    """One durable consumer over every inbound subject, so events arrive in stream order.

    At most PIPELINE batches are unacknowledged; they are committed in stream order, and a batch
    that fails is retried before any later one is committed.
    """
    return ConsumerConfig(
        durable_name=INTAKE_DURABLE,
        filter_subjects=list(INBOUND_SUBJECTS),
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=PIPELINE * batch_size,
        max_deliver=-1,
    )
