"""Automatic rounds on a real nats-server and PostgreSQL, fired by the service's own timer on the
real clock: once, at their time; caught up after downtime with `time` = `at`; never twice over
restarts, a moved round re-planned, a completed round never requested again; the calendar's
request runs the round an operator's request at the same time runs; stream JIP allows neither
message schedules nor rollups."""

import asyncio
import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.errors import APIError
from sqlalchemy import select

from contracts import STREAM, Kind, RoundRequested, make_event, to_json_bytes
from services.app import engine_for
from services.nats.client import find_by_msg_id
from services.nats.embedded import EmbeddedNats
from services.ops.calendar import load_entries, sync_files
from services.rounds.calendar import CALENDAR_SOURCE
from services.runtime import publish_events, read_stream, running_service, wait_round
from services.settings import Settings
from services.store.tables import CalendarRoundRow, table_of
from tests.support.databases import throwaway_database
from tests.support.live_year import LiveYear, live_year, whole_second

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _settings(url: str, database_url: str, live: LiveYear, *calendars: Path, **more: Any):
    return Settings(
        broker_url=url,
        database_url=database_url,
        data_dir=live.folder,
        ruleset=str(live.ruleset),
        batch_size=50,
        round_time_limit_seconds=10,
        http_port=0,
        calendars=calendars,
        **more,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _requests(settings: Settings) -> list[dict[str, Any]]:
    return [doc for _, doc in await read_stream(settings, "jip.round.requested")]


async def _answers(settings: Settings) -> list[dict[str, Any]]:
    return [doc for _, doc in await read_stream(settings, "jip.round.>") if "completed" in
            doc.get("type", "") or "failed" in doc.get("type", "")]  # fmt: skip


async def _publish_year(settings: Settings, live: LiveYear) -> None:
    async with running_service(settings.model_copy(update={"calendars": ()})) as svc:
        await publish_events(settings, live.events(), broker_url=svc.broker_url)


def _time(doc: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(doc["time"].replace("Z", "+00:00"))


async def _http_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    return raw.partition(b"\r\n\r\n")[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_round_planned_three_seconds_ahead_fires_once_at_its_time_and_runs(
    fresh_nats_url, fresh_database_url, tmp_path
):
    live = live_year(tmp_path)
    base = _settings(fresh_nats_url, fresh_database_url, live)
    await _publish_year(base, live)
    at = whole_second(_now() + dt.timedelta(seconds=3))
    calendar = live.calendar(("live-summer-1", at))
    settings = base.model_copy(update={"calendars": (calendar,), "http_port": _free_port()})
    async with running_service(settings, serve_http=True) as svc:
        timer = svc.parts.calendar
        assert timer is not None
        health = json.loads(await _http_get(settings.http_port, "/healthz"))
        assert health["next_round"]["round_id"] == "live-summer-1"
        assert health["next_round"]["at"] == at.astimezone(dt.UTC).isoformat().replace(
            "+00:00", "Z"
        )
        assert await _requests(settings) == [], "requested before its time"
        answer = await wait_round(settings, "live-summer-1", timeout=60)
        assert answer["type"] == "jip.round.completed.v1"
        metrics = (await _http_get(settings.http_port, "/metrics")).decode()
        health = json.loads(await _http_get(settings.http_port, "/healthz"))
        await asyncio.sleep(1.0)
        requests = await _requests(settings)
    assert "intern_match_calendar_rounds_fired_total 1.0" in metrics
    assert health["next_round"] is None
    assert [(d["id"], d["source"]) for d in requests] == [
        ("calendar/live-summer-1", CALENDAR_SOURCE)
    ]
    assert _time(requests[0]) == at
    rows = load_entries(engine_for(settings))
    assert [(e.planned.round_id, e.state) for e in rows] == [("live-summer-1", "completed")]
    fired = rows[0].fired_at
    assert fired is not None and at <= fired < at + dt.timedelta(seconds=5)

    # After a crash between publish and acknowledgement the timer finds the request by its id.
    with engine_for(settings).connect() as connection:
        stored = connection.execute(select(table_of(CalendarRoundRow).c.stream_seq)).scalar_one()
    client = await nats.connect(settings.broker_url)
    try:
        subject = "jip.round.requested"
        assert await find_by_msg_id(client, subject, "calendar/live-summer-1") == stored
        assert await find_by_msg_id(client, subject, "calendar/live-summer-9") is None
        assert await find_by_msg_id(client, "jip.placement.responded", "calendar/x") is None
    finally:
        await client.close()


async def test_a_round_whose_time_passed_while_no_service_ran_is_requested_once_with_time_at(
    fresh_nats_url, fresh_database_url, tmp_path
):
    live = live_year(tmp_path)
    base = _settings(fresh_nats_url, fresh_database_url, live)
    await _publish_year(base, live)
    at = whole_second(_now() + dt.timedelta(seconds=2))
    settings = base.model_copy(update={"calendars": (live.calendar(("live-summer-1", at)),)})
    async with running_service(settings) as svc:  # stopped before the time
        assert svc.parts.calendar is not None and svc.parts.calendar.fired == []
    await asyncio.sleep(max((at - _now()).total_seconds(), 0) + 2)
    assert await _requests(settings) == []
    async with running_service(settings) as svc:
        answer = await wait_round(settings, "live-summer-1", timeout=60)
        assert svc.parts.calendar is not None
        assert svc.parts.calendar.fired == ["live-summer-1"]
    assert answer["type"] == "jip.round.completed.v1"
    requests = await _requests(settings)
    assert len(requests) == 1 and _time(requests[0]) == at
    rows = load_entries(engine_for(settings))
    assert rows[0].fired_at is not None and rows[0].fired_at > at + dt.timedelta(seconds=1)

    # Two starts in a row request nothing again, and a completed round moved is not re-planned.
    for moved in (at, whole_second(_now() + dt.timedelta(seconds=1))):
        live.calendar(("live-summer-1", moved))
        async with running_service(settings) as svc:
            await asyncio.sleep(2.5)
            assert svc.parts.calendar is not None and svc.parts.calendar.fired == []
    assert len(await _requests(settings)) == 1
    assert len(await _answers(settings)) == 1
    assert [e.state for e in load_entries(engine_for(settings))] == ["completed"]


async def test_a_moved_round_is_re_planned_by_calendar_sync_while_the_service_runs(
    fresh_nats_url, fresh_database_url, tmp_path
):
    live = live_year(tmp_path)
    base = _settings(fresh_nats_url, fresh_database_url, live)
    await _publish_year(base, live)
    later = whole_second(_now() + dt.timedelta(minutes=10))
    calendar = live.calendar(("live-summer-1", later), ("live-summer-x", later))
    settings = base.model_copy(update={"calendars": (calendar,)})
    async with running_service(settings) as svc:
        assert svc.parts.calendar is not None
        await asyncio.sleep(0.5)
        assert svc.parts.calendar.next_round is not None
        assert svc.parts.calendar.next_round.at == later
        sooner = whole_second(_now() + dt.timedelta(seconds=1))
        live.calendar(("live-summer-1", sooner))  # moved; live-summer-x removed
        engine = engine_for(settings)  # as `intern-match calendar sync` in another process
        _, report = await asyncio.to_thread(sync_files, settings, engine)
        assert (report.replanned, report.removed) == (("live-summer-1",), ("live-summer-x",))
        answer = await wait_round(settings, "live-summer-1", timeout=60)
    assert answer["type"] == "jip.round.completed.v1"
    requests = await _requests(settings)
    assert [_time(d) for d in requests] == [sooner]
    with engine.connect() as connection:
        ids = connection.execute(select(table_of(CalendarRoundRow).c.round_id)).scalars().all()
    assert ids == ["live-summer-1"]


async def test_the_calendars_request_runs_the_round_an_operators_request_at_that_time_runs(
    fresh_nats_url, fresh_database_url, postgres_url, tmp_path
):
    live = live_year(tmp_path / "a")
    base = _settings(fresh_nats_url, fresh_database_url, live)
    await _publish_year(base, live)
    at = whole_second(_now() + dt.timedelta(seconds=2))
    settings = base.model_copy(update={"calendars": (live.calendar(("live-summer-1", at)),)})
    async with running_service(settings):
        by_calendar = await wait_round(settings, "live-summer-1", timeout=60)

    request = RoundRequested(round_id="live-summer-1", program_year=live.year, period="summer")
    utc = at.astimezone(dt.UTC)  # as `intern-match round` stamps it
    event = make_event(Kind.ROUND_REQUESTED, "op-1", request, utc, "/operator-console", None)
    with EmbeddedNats(tmp_path / "b") as other, throwaway_database(postgres_url) as other_db:
        operator = _settings(other.url, other_db, live)
        async with running_service(operator):
            await publish_events(operator, [*live.events(), to_json_bytes(event)])
            by_operator = await wait_round(operator, "live-summer-1", timeout=60)
    for answer in (by_calendar, by_operator):
        answer["data"].pop("solve_seconds")
    assert by_calendar["data"]["placed"] > 0
    assert by_calendar == by_operator


async def test_stream_jip_allows_neither_message_schedules_nor_rollup_headers(
    fresh_nats_url, fresh_database_url, tmp_path
):
    live = live_year(tmp_path)
    settings = _settings(fresh_nats_url, fresh_database_url, live)
    async with running_service(settings):
        client = await nats.connect(fresh_nats_url)
        try:
            js = client.jetstream()
            await js.publish("jip.vacancy.closed", b"{}", stream=STREAM)
            config = (await js.stream_info(STREAM)).config
            assert not config.allow_rollup_hdrs and not config.allow_msg_schedules
            with pytest.raises(APIError):
                await js.publish("jip.vacancy.closed", b"{}", headers={"Nats-Rollup": "all"})
            schedule = {"Nats-Schedule": "@every 1s", "Nats-Schedule-Target": "jip.round.requested"}
            with pytest.raises(APIError):
                await js.publish("jip.schedules.x", b"{}", headers=schedule)
            assert (await js.stream_info(STREAM)).state.messages == 1, "the log was cut"
        finally:
            await client.close()


async def test_a_calendar_round_fires_once_on_a_server_older_than_message_schedules(
    fresh_database_url, tmp_path
):
    """The calendar needs no broker feature newer than JetStream's Nats-Msg-Id: on the legacy
    server (.ci/run: 2.11, before message schedules) a round planned two seconds ahead runs
    once, and a crash between publish and acknowledgement is still looked up in the stream."""
    binary = os.environ.get("INTERN_MATCH_TEST_LEGACY_NATS_SERVER")
    if not binary:
        pytest.skip("INTERN_MATCH_TEST_LEGACY_NATS_SERVER names no older nats-server")
    live = live_year(tmp_path / "live")
    with EmbeddedNats(tmp_path / "nats", binary=Path(binary)) as server:
        base = _settings(server.url, fresh_database_url, live)
        await _publish_year(base, live)
        at = whole_second(_now() + dt.timedelta(seconds=2))
        settings = base.model_copy(update={"calendars": (live.calendar(("live-summer-1", at)),)})
        async with running_service(settings):
            answer = await wait_round(settings, "live-summer-1", timeout=60)
        client = await nats.connect(server.url)
        try:
            found = await find_by_msg_id(client, "jip.round.requested", "calendar/live-summer-1")
        finally:
            await client.close()
        requests = await _requests(settings)
    assert answer["type"] == "jip.round.completed.v1"
    assert [d["id"] for d in requests] == ["calendar/live-summer-1"] and found is not None
