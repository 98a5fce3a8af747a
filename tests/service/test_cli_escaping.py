"""Text an event sets reaches the terminal as written: a rejected event's subject and type with
rich markup or escape sequences print literally in `dead-letters list` and `show`."""

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching import load_ruleset
from services.cli.main import app
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from tests.support.inbound_events import registered

HOSTILE_TYPE = "jip.[reverse]boss[/reverse].[link=http://evil.example]x[/link]"
HOSTILE_SUBJECT = "jip.applicant.\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\u202e"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INTERN_MATCH_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{(tmp_path / 'intern-match.db').resolve()}")
    migrate(engine)
    bad = json.loads(registered("A-7"))
    bad["type"] = HOSTILE_TYPE
    clock = lambda: dt.datetime(2026, 11, 25, tzinfo=dt.UTC)  # noqa: E731
    Intake(engine, lambda _: load_ruleset(), clock).process(
        [Inbound(HOSTILE_SUBJECT, json.dumps(bad).encode())]
    )
    engine.dispose()
    return tmp_path


def test_dead_letters_list_prints_markup_and_escapes_literally(database):
    result = CliRunner().invoke(app, ["dead-letters", "list"], env={"COLUMNS": "400"})

    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "[reverse]boss[/reverse]" in result.output  # markup shown, not applied
    assert "[link=http://evil.example]" in result.output
    assert "\\x1b]8;;http://evil.example" in result.output  # the escape made visible


def test_dead_letters_show_prints_the_errors_literally(database):
    listed = CliRunner().invoke(app, ["dead-letters", "list", "--json"])
    [letter] = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]

    result = CliRunner().invoke(app, ["dead-letters", "show", letter["id"]])

    assert result.exit_code == 0, result.output
    assert "\x1b" not in listed.output and "\u202e" not in listed.output
    assert "[reverse]boss[/reverse]" in result.output
