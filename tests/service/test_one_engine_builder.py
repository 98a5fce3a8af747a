"""The service and every command build their database engine with one function of the
composition root (services.app.engine_for), and the CLI's `fail` exists once
(services.cli.console)."""

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import services.app
import services.runtime
from services.cli import console, deadletters
from services.cli.main import app
from services.settings import Settings


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The databases services.app.engine_for built an engine for, with a fresh data directory."""
    for name in list(os.environ):
        if name.upper().startswith("INTERN_MATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path / "data"))
    urls: list[str] = []
    original = services.app.engine_for

    def recording(settings: Settings) -> Engine:
        engine = original(settings)
        urls.append(str(engine.url))
        return engine

    monkeypatch.setattr(services.app, "engine_for", recording)
    return urls


def test_migrate_report_and_dead_letters_build_their_engine_in_the_composition_root(
    built: list[str], tmp_path: Path
) -> None:
    runner = CliRunner()
    migrated = runner.invoke(app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    assert (tmp_path / "data" / "intern-match.db").is_file()
    listed = runner.invoke(app, ["dead-letters", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    missing = runner.invoke(app, ["report", "R-none"])
    assert missing.exit_code == 2 and "R-none" in missing.output
    database = f"sqlite:///{(tmp_path / 'data' / 'intern-match.db').resolve()}"
    assert built == [database] * 3


def test_the_service_builds_its_engine_with_the_same_function() -> None:
    assert services.runtime.engine_for is services.app.engine_for


def test_the_cli_fails_through_one_function(built: list[str]) -> None:
    assert not hasattr(deadletters, "_fail") and deadletters.fail is console.fail
    unknown = CliRunner().invoke(app, ["dead-letters", "show", "dlq-none"])
    assert unknown.exit_code == 1, unknown.output
    assert "no database file" in unknown.output and built == []
