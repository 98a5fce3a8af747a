"""The intake's FastStream subscriber, driven by FastStream's in-memory test broker
(faststream.nats.TestNatsBroker) on SQLite: the service as `build_service` wires it (the broker
with its metrics middleware, the batch pull subscriber with manual acks and the raw-body decoder,
the consumer, the intake), no nats-server.

What the test broker cannot do, left to tests/integration/test_intake_*.py and
test_pull_fetch.py on a real server: it calls the subscriber's handler once per publish with a
batch of that one message (no fetch loop, no batch of several unless handed to the subscriber
as here), its acks, naks and in-progress beats do nothing, and it neither creates the durable
consumer nor runs the crash recovery or the partial-batch patch (both act on a connection).
"""

import json
from collections.abc import Iterator

import pytest
from faststream.nats import TestNatsBroker
from faststream.nats.testing import PatchedMessage, build_message
from sqlalchemy import Engine, select

from services.app import ServiceParts, build_service
from services.settings import Settings
from services.store.tables import ApplicantRow, DeadLetterRow
from tests.support.inbound_events import registered

SUBJECT = "jip.applicant.registered"
UNREACHABLE = "nats://127.0.0.1:1"  # the test broker never connects


def ack_subject(stream_seq: int) -> str:
    """The reply subject a JetStream pull delivery carries; the intake reads the sequence there."""
    return f"$JS.ACK.JIP.jip-intake.1.{stream_seq}.{stream_seq}.1764064800000000000.0"


def malformed(applicant_id: str) -> bytes:
    event = json.loads(registered(applicant_id))
    event["data"]["date_of_birth"] = "17/04/2001"
    return json.dumps(event).encode()


@pytest.fixture
def service(engine: Engine) -> Iterator[ServiceParts]:
    """The service's parts on the SQLite engine; parsing in a thread (no worker process)."""
    yield build_service(Settings(parse_workers=0), UNREACHABLE, engine)


def applicant_ids(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(select(ApplicantRow.applicant_id)).scalars())


def dead_letters(engine: Engine) -> list[DeadLetterRow]:
    with engine.connect() as c:
        return [DeadLetterRow.model_validate(row) for row in c.execute(select(DeadLetterRow))]


async def test_a_published_applicant_is_stored_and_a_malformed_one_dead_lettered(
    service: ServiceParts, engine: Engine
) -> None:
    async with TestNatsBroker(service.broker) as broker:
        await broker.publish(registered("A-1"), SUBJECT, reply_to=ack_subject(1))
        await broker.publish(malformed("A-2"), SUBJECT, reply_to=ack_subject(2))
        await service.consumer.drain(timeout=10)
    assert service.consumer.batches == 2
    assert applicant_ids(engine) == ["A-1"]
    [dead] = dead_letters(engine)
    assert (dead.subject, dead.original_id) == (SUBJECT, "reg-A-2-1")
    assert [e["loc"] for e in dead.errors] == ["data.date_of_birth"]


async def test_one_batch_of_several_messages_commits_each_in_its_place(
    service: ServiceParts, engine: Engine
) -> None:
    """The handler receives the fetched batch as a list, as the pull subscriber hands it over."""
    bodies = [registered("A-1"), malformed("A-2"), registered("A-3")]
    batch: list[PatchedMessage] = [
        await build_message(body, SUBJECT, reply_to=ack_subject(seq))
        for seq, body in enumerate(bodies, start=1)
    ]
    async with TestNatsBroker(service.broker):
        await service.subscriber.process_message(batch)  # type: ignore[attr-defined]
        await service.consumer.drain(timeout=10)
    assert service.consumer.batches == 1
    assert sorted(applicant_ids(engine)) == ["A-1", "A-3"]
    assert [e["loc"] for d in dead_letters(engine) for e in d.errors] == ["data.date_of_birth"]
