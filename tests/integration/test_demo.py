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


def test_demo_places_a_small_year_through_the_embedded_broker_with_the_offline_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("INTERN_MATCH_BROKER_URL", "INTERN_MATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["demo", "--applicants", "400", "--vacancies", "60"])
    assert result.exit_code == 0, result.output
    demo = tmp_path / "demo"
    for period in ("summer", "winter"):
        assert (demo / f"report-2023-{period}-1.html").read_text().count("<svg") >= 3
    assert "placed per course" in result.output and "unplaced by reason" in result.output
    printed = set(re.findall(r"sha256:[0-9a-f]{64}", result.output))
    request = RoundRequested(round_id="2023-summer-1", program_year=2023, period="summer")
    lines = (demo / "events.jsonl").read_bytes().splitlines()
    bodies = run_offline(lines, RulesetCatalog("fy2023-announced"), request, _clock)
    completed = [json.loads(b) for b in bodies if b"round.completed" in b]
    assert completed[-1]["data"]["placements_digest"] in printed


def _clock() -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_the_demo_year_replayed_offline_gives_the_same_outbound_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline = online for a whole year with answers, a withdrawal after placement, expiry
    and a supplementary round: every outbound event the service stored is the one an offline
    run of the same published events writes, solve_seconds and received_at aside."""
    for name in ("INTERN_MATCH_BROKER_URL", "INTERN_MATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["demo", "--applicants", "400", "--vacancies", "60"])
    assert result.exit_code == 0, result.output
    demo = tmp_path / "demo"
    lines = (demo / "published.jsonl").read_bytes().splitlines()
    offline = run_offline(lines, RulesetCatalog("fy2023-announced"), None, _clock)
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
    assert (demo / "report-2023.html").read_text().count("2023-summer-2") >= 1
    assert re.search(r"seats refilled\s*│\s*0\s*│\s*[1-9]", result.output)


def _comparable(body: bytes) -> dict[str, object]:
    """An outbound event less what a replay cannot reproduce: the solver's seconds, and when a
    dead letter was received (its `time` and `received_at` are the receiving clock's)."""
    event = json.loads(body)
    event["data"].pop("solve_seconds", None)
    if str(event["type"]).startswith("jip.dlq."):
        event["data"].pop("received_at", None)
        event.pop("time")
    return event
