"""`intern-match demo` runs the whole service on embedded defaults and reports what it placed."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
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
