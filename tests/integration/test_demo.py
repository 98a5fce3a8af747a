"""`intern-match demo` runs the whole service on embedded defaults and reports what it placed."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from contracts import RoundRequested
from services.cli.main import app
from services.ops.offline import run_offline
from services.rounds.rulesets import RulesetCatalog


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of the demo (a small year): its folder and what it printed."""
    return _run_demo(tmp_path_factory.mktemp("demo"))


def _run_demo(data_dir: Path) -> tuple[Path, str]:
    env = {"INTERN_MATCH_BROKER_URL": None, "INTERN_MATCH_DATABASE_URL": None,
           "INTERN_MATCH_CALENDARS": None, "INTERN_MATCH_RULESET": None,
           "INTERN_MATCH_DATA_DIR": str(data_dir), "COLUMNS": "200"}  # fmt: skip
    result = CliRunner().invoke(app, ["demo", "--applicants", "400", "--vacancies", "60"], env=env)
    assert result.exit_code == 0, result.output
    return data_dir / "demo", result.output


def _rulesets(demo: Path) -> RulesetCatalog:
    """The demo's ruleset: the default with offers due at once (response_days = 0)."""
    catalog = RulesetCatalog(str(demo / "ruleset-demo.toml"))
    assert catalog.default.offers.response_days == 0
    return catalog


def test_demo_places_a_small_year_through_the_embedded_broker_with_the_offline_digest(
    demo_run: tuple[Path, str],
) -> None:
    demo, output = demo_run
    for period in ("summer", "winter"):
        assert (demo / f"report-2023-{period}-1.html").read_text().count("<svg") >= 3
    assert "placed per course" in output and "unplaced by reason" in output
    printed = set(re.findall(r"sha256:[0-9a-f]{64}", output))
    request = RoundRequested(round_id="2023-summer-1", program_year=2023, period="summer")
    lines = (demo / "events.jsonl").read_bytes().splitlines()
    bodies = run_offline(lines, _rulesets(demo), request, _clock)
    completed = [json.loads(b) for b in bodies if b"round.completed" in b]
    assert completed[-1]["data"]["placements_digest"] in printed


def _clock() -> dt.datetime:
    return dt.datetime(2023, 5, 1, 1, tzinfo=dt.UTC)


def test_the_demos_rounds_are_requested_by_its_calendar_at_their_times(
    demo_run: tuple[Path, str],
) -> None:
    demo, output = demo_run
    requests = [json.loads(line) for line in (demo / "published.jsonl").read_bytes().splitlines()
                if b"jip.round.requested" in line]  # fmt: skip
    assert [(r["id"], r["source"], r["time"]) for r in requests] == [
        ("calendar/2023-summer-1", "/intern-match/calendar", "2023-05-01T01:00:00Z"),
        ("calendar/2023-summer-2", "/intern-match/calendar", "2023-05-01T01:00:05Z"),
        ("calendar/2023-winter-1", "/intern-match/calendar", "2023-05-01T01:00:10Z"),
    ]
    assert "rounds the calendar fired" in output
    for round_id in ("2023-summer-1", "2023-summer-2", "2023-winter-1"):
        assert re.search(rf"{round_id}\s*│[^│]*│\s*\d+\.\d+ s\s*│\s*completed", output), round_id


def test_the_demo_year_replayed_offline_gives_the_same_outbound_events(
    demo_run: tuple[Path, str],
) -> None:
    """Offline = online for a whole year with answers, a withdrawal after placement, expiry
    and a supplementary round: every outbound event the service stored is the one an offline
    run of the same published events writes, solve_seconds and received_at aside."""
    demo, output = demo_run
    lines = (demo / "published.jsonl").read_bytes().splitlines()
    offline = run_offline(lines, _rulesets(demo), None, _clock)
    engine = create_engine(f"sqlite:///{demo / 'intern-match.db'}")
    with engine.connect() as connection:
        online = [b.encode() for b in connection.execute(
            text("SELECT body FROM outbox ORDER BY seq")).scalars()]  # fmt: skip
    engine.dispose()
    assert [_comparable(b) for b in online] == [_comparable(b) for b in offline]
    kinds = {json.loads(b)["type"] for b in online}
    assert {"jip.placement.confirmed.v1", "jip.placement.released.v1"} <= kinds
    reasons = {json.loads(b)["data"].get("reason") for b in online if b"placement.released" in b}
    assert {"declined_by_host", "declined_by_applicant", "expired", "applicant_withdrawn"} <= (
        reasons
    )
    expired = [json.loads(b)["data"]["round_id"] for b in online
               if b"placement.released" in b and b'"expired"' in b]  # fmt: skip
    assert "2023-summer-1" in expired, "unanswered summer offers expire at the next round"
    assert (demo / "report-2023.html").read_text().count("2023-summer-2") >= 1
    assert re.search(r"seats refilled\s*│\s*0\s*│\s*[1-9]", output)


def test_the_demo_gives_the_same_digests_on_every_run(
    demo_run: tuple[Path, str], tmp_path: Path
) -> None:
    _, first = demo_run
    _, second = _run_demo(tmp_path)
    digests = re.findall(r"sha256:[0-9a-f]{64}", first)
    assert len(digests) == 3
    assert re.findall(r"sha256:[0-9a-f]{64}", second) == digests


def _comparable(body: bytes) -> dict[str, object]:
    """An outbound event less what a replay cannot reproduce: the solver's seconds, and when a
    dead letter was received (its `time` and `received_at` are the receiving clock's)."""
    event = json.loads(body)
    event["data"].pop("solve_seconds", None)
    if str(event["type"]).startswith("jip.dlq."):
        event["data"].pop("received_at", None)
        event.pop("time")
    return event
