"""The intake's batch fetch on a real nats-server: messages already queued are taken without a
task and a timer each (services.nats.patches.take_queued_first), in stream order, with nats-py's
bookkeeping intact."""

import nats
import pytest
from nats.js.api import StorageType

from contracts import STREAM
from services.nats.broker import INTAKE_DURABLE, intake_consumer_config
from services.nats.patches import take_queued_first

pytestmark = pytest.mark.integration

BATCH = 100
TOTAL = 250


async def test_queued_messages_are_taken_at_once_in_stream_order(fresh_nats_url: str):
    client = await nats.connect(fresh_nats_url)
    try:
        js = client.jetstream()
        await js.add_stream(name=STREAM, subjects=["jip.>"], storage=StorageType.FILE)
        await js.add_consumer(STREAM, intake_consumer_config(BATCH))
        for i in range(TOTAL):
            await js.publish("jip.applicant.registered", f"event {i}".encode())
        pull = await js.pull_subscribe_bind(INTAKE_DURABLE, STREAM)
        waited: list[float | None] = []
        nats_next_msg = pull._sub.next_msg

        async def counted(timeout: float | None = 1.0) -> nats.aio.msg.Msg:
            waited.append(timeout)
            return await nats_next_msg(timeout)

        pull._sub.next_msg = counted
        take_queued_first(pull._sub)

        got: list[nats.aio.msg.Msg] = []
        while len(got) < TOTAL:
            got += await pull.fetch(BATCH, timeout=2)
        assert [m.metadata.sequence.stream for m in got] == list(range(1, TOTAL + 1))
        assert [m.data for m in got] == [f"event {i}".encode() for i in range(TOTAL)]
        assert pull._sub._pending_size == 0
        assert len(waited) < TOTAL // 5, f"{len(waited)} of {TOTAL} messages were waited for"

        for m in got:
            await m.ack()
        with pytest.raises(TimeoutError):  # nothing queued: nats-py's own wait (either kind)
            await pull.fetch(BATCH, timeout=0.3)
        assert len(waited) > 0
    finally:
        await client.close()
