"""`intern-match dead-letters`: operators list rejected events, read one, and resubmit a
corrected body, on the configured database (a SQLite file here)."""

import datetime as dt
import json

import pytest
import typer
from inbound_events import registered
from typer.testing import CliRunner

from matching import load_ruleset
from services.cli_deadletters import register
from services.db import make_engine, migrate
from services.intake import Inbound, Intake

RULESET = load_ruleset()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INTERN_MATCH_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{(tmp_path / 'intern-match.db').resolve()}")
    migrate(engine)
    bad = json.loads(registered("A-7"))
    bad["data"]["nationality"] = "pakistan"
    intake = Intake(engine, lambda _: RULESET, lambda: dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    intake.process([Inbound("jip.applicant.registered", json.dumps(bad).encode())])
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    yield app, engine
    engine.dispose()


def _listed(app):
    result = CliRunner().invoke(app, ["dead-letters", "list", "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_list_names_the_field_and_never_prints_the_body(cli):
    app, _ = cli
    [letter] = _listed(app)
    assert letter["first_error"].startswith("data.nationality")
    assert letter["subject"] == "jip.applicant.registered"
    assert "given_name" not in json.dumps(letter) and "raw" not in letter


def test_show_prints_the_original_body_for_correction(cli):
    app, _ = cli
    [letter] = _listed(app)
    result = CliRunner().invoke(app, ["dead-letters", "show", letter["id"]])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["nationality"] == "pakistan"


def test_a_corrected_body_is_applied_and_the_dead_letter_leaves_the_list(cli, tmp_path):
    app, engine = cli
    [letter] = _listed(app)
    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(registered("A-7"))
    result = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(fixed)])
    assert result.exit_code == 0, result.output
    assert "accepted 1" in result.stdout
    assert _listed(app) == []
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM applicants").scalar_one() == 1
    again = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(fixed)])
    assert again.exit_code == 2


def test_a_still_invalid_correction_changes_nothing_and_exits_1(cli, tmp_path):
    app, engine = cli
    [letter] = _listed(app)
    still_bad = tmp_path / "bad.json"
    still_bad.write_text('{"type": "jip.applicant.registered.v1"}')
    result = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(still_bad)])
    assert result.exit_code == 1
    assert "still invalid" in result.output
    assert len(_listed(app)) == 1
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM applicants").scalar_one() == 0
