"""`dead-letters resubmit` on the real service: the corrected event goes through the broker, so
it is in the stream (an export shows it) and the intake applies it in stream order, although
the rejected original carried the same id into the broker's duplicate window (issue 11, 12)."""

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from services.nats.client import publish_one
from services.ops.deadletters import list_dead_letters, resubmit
from services.ops.export import StreamRange, read_range
from services.runtime import publish_events, running_service
from services.settings import Settings
from services.store.tables import ApplicantRow, EventLogRow
from tests.support.factories import applicant

pytestmark = pytest.mark.integration


def _registration(**changes: Any) -> bytes:
    data = {**applicant("A-1").model_dump(mode="json"), **changes}
    return json.dumps({
        "specversion": "1.0", "id": "reg-A-1", "source": "/applicant-portal",
        "type": "jip.applicant.registered.v1", "time": "2023-03-01T09:00:00Z",
        "datacontenttype": "application/json", "data": data,
    }).encode()  # fmt: skip


async def _until(condition, timeout: float = 30.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await asyncio.to_thread(condition)):
            await asyncio.sleep(0.1)
    return found


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_a_resubmitted_correction_is_in_the_stream_and_applied_by_the_intake(
    fresh_nats_url, tmp_path
):
    settings = Settings(broker_url=fresh_nats_url, data_dir=tmp_path,
                        database_url=f"sqlite:///{tmp_path / 'im.db'}")  # fmt: skip
    bad, fixed = _registration(date_of_birth="2001-02-30"), _registration()
    async with running_service(settings) as svc:
        engine = svc.engine
        await publish_events(settings, [bad])
        (letter,) = await _until(lambda: list_dead_letters(engine))
        # the same id again, as `publish` sends it, is dropped by the broker's duplicate window
        await publish_events(settings, [fixed])

        async def publish(subject: str, body: bytes, msg_id: str) -> bool:
            return await publish_one(settings, subject, body, msg_id)

        done = await resubmit(engine, publish, letter.id, fixed, _now)
        assert (done.event_id, done.duplicate) == ("reg-A-1", False)
        assert list_dead_letters(engine) == []

        def applied() -> Any:
            with engine.connect() as c:
                return c.execute(select(ApplicantRow.version)).first()

        await _until(applied)
        exported = await read_range(settings, StreamRange())
        with engine.connect() as c:
            logged = c.execute(select(EventLogRow.stream_seq, EventLogRow.event_id)).all()
    assert [m.body for m in exported] == [bad, fixed]
    assert [(seq, event_id) for seq, event_id in logged] == [(exported[1].seq, "reg-A-1")]
