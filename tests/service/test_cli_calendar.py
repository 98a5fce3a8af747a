"""`intern-match calendar`, `calendar sync` and `serve` with calendar files: a malformed file
stops them with its file, key and reason; a good one is synced and listed with each round's
state and time in the operator's time zone and in UTC."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "calendars" / "2023.toml"


def _env(tmp_path: Path, calendars: str | None) -> dict[str, str | None]:
    return {
        "INTERN_MATCH_DATA_DIR": str(tmp_path), "INTERN_MATCH_DATABASE_URL": None,
        "INTERN_MATCH_BROKER_URL": None, "INTERN_MATCH_CALENDARS": calendars,
        "INTERN_MATCH_HTTP_PORT": "0", "INTERN_MATCH_RULESET": None, "COLUMNS": "200",
    }  # fmt: skip


def test_serve_with_a_calendar_at_without_an_offset_does_not_start_and_names_file_key_reason(
    tmp_path: Path,
):
    bad = tmp_path / "bad.toml"
    bad.write_text('program_year = 2023\n[[rounds]]\nround_id = "r"\nperiod = "summer"\n'
                   'at = "2023-04-10T10:00:00"\n')  # fmt: skip
    result = CliRunner().invoke(app, ["serve"], env=_env(tmp_path, str(bad)))
    assert result.exit_code == 1, result.output
    assert f"calendar {bad}: rounds[1].at: '2023-04-10T10:00:00' has no UTC offset" in (
        " ".join(result.output.split())
    )
    assert "Traceback" not in result.output


def test_calendar_sync_then_calendar_lists_the_rounds_in_the_operators_zone_and_utc(
    tmp_path: Path,
):
    env = _env(tmp_path, str(SHIPPED))
    synced = CliRunner().invoke(app, ["calendar", "sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "added: 2023-summer-1, 2023-summer-2, 2023-winter-1, 2023-winter-2" in synced.output
    again = CliRunner().invoke(app, ["calendar", "sync"], env=env)
    assert "added" not in again.output and again.exit_code == 0
    listed = CliRunner().invoke(app, ["calendar", "--timezone", "Asia/Tokyo"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.output.splitlines() if "2023-summer-1" in line]
    assert "planned" in rows[0]
    assert "2023-04-10T10:00:00+09:00" in rows[0] and "2023-04-10T01:00:00Z" in rows[0]
    assert "next: 2023-summer-1 at 2023-04-10T10:00:00+09:00" in listed.output


def test_calendar_commands_refuse_what_they_cannot_do_with_a_reason(tmp_path: Path):
    no_files = CliRunner().invoke(app, ["calendar", "sync"], env=_env(tmp_path, None))
    assert no_files.exit_code == 2 and "INTERN_MATCH_CALENDARS is not set" in no_files.output
    zone = CliRunner().invoke(
        app, ["calendar", "--timezone", "Mars/Olympus"], env=_env(tmp_path, str(SHIPPED))
    )
    assert zone.exit_code == 2 and "unknown time zone" in zone.output


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's time zone is Europe/Berlin: CET in winter, CEST (+02:00) in summer."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_calendar_shows_each_round_at_its_own_local_offset(tmp_path: Path, berlin: None):
    calendar = tmp_path / "2023.toml"
    calendar.write_text(
        'program_year = 2023\n[[rounds]]\nround_id = "early"\nperiod = "summer"\n'
        'at = "2023-02-01T10:00:00+09:00"\n[[rounds]]\nround_id = "late"\nperiod = "winter"\n'
        'at = "2023-07-03T10:00:00+09:00"\n'
    )  # fmt: skip
    env = _env(tmp_path, str(calendar))
    assert CliRunner().invoke(app, ["calendar", "sync"], env=env).exit_code == 0
    listed = CliRunner().invoke(app, ["calendar"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "2023-02-01T02:00:00+01:00" in listed.output  # CET
    assert "2023-07-03T03:00:00+02:00" in listed.output  # CEST
