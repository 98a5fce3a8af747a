"""Issue 14: the service SIGKILLed one second before a calendar round's time and started again
five seconds later requests the round once (caught up, `time` = `at`) and it runs with the
digest an offline run of the same events and the calendar's request gives."""

import asyncio
import datetime as dt
import json

from services.ops.offline import run_offline
from services.rounds.calendar import load_calendars
from services.rounds.rulesets import RulesetCatalog
from services.runtime import publish_events, read_stream
from services.settings import Settings
from tests.support.live_year import live_year, whole_second

ROUND = "live-summer-1"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_sigkill_one_second_before_a_rounds_time_and_restart_5_s_later_run_it_once(
    start_service, nats_server, tmp_path
):
    live = live_year(tmp_path / "live")
    events = live.events(applicants=300, vacancies=40, seed=1414)
    client = Settings(broker_url=nats_server.url)
    await publish_events(client, events)
    at = whole_second(_now() + dt.timedelta(seconds=10))
    calendar = live.calendar((ROUND, at))
    service = start_service(ruleset=str(live.ruleset), calendars=str(calendar))
    service.start()
    await asyncio.to_thread(service.wait_started)
    await asyncio.sleep((at - _now()).total_seconds() - 1.0)
    assert service.alive
    service.kill()
    killed_at = _now()
    assert at - dt.timedelta(seconds=1.5) < killed_at < at, "not killed one second before"
    assert await read_stream(client, "jip.round.requested") == []

    await asyncio.sleep(5.0)
    service.start()

    def answered(found: list[tuple[str, dict]]) -> bool:
        return any(d.get("data", {}).get("round_id") == ROUND for s, d in found if "completed" in s)

    await read_stream(client, "jip.round.>", until=answered, timeout=120)
    await asyncio.sleep(1.0)  # anything doubled would be in the stream by now
    rounds = [d for _, d in await read_stream(client, "jip.round.>")]
    requests = [d for d in rounds if d["type"] == "jip.round.requested.v1"]
    completed = [d for d in rounds if d["type"] == "jip.round.completed.v1"]
    assert [d["id"] for d in requests] == [f"calendar/{ROUND}"]
    assert requests[0]["time"] == at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert len(completed) == 1
    assert service.log_text().count('"calendar round requested"') == 1

    rulesets = RulesetCatalog(str(live.ruleset))
    planned = load_calendars([calendar], rulesets).rounds[0]
    offline = run_offline([*events, planned.to_event()], rulesets, None, lambda: at)
    expected = [json.loads(b) for b in offline if b"round.completed" in b]
    assert expected[-1]["data"]["placements_digest"] == completed[0]["data"]["placements_digest"]
    assert completed[0]["data"]["placed"] > 0
