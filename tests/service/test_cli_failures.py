"""Operators' mistakes end in a line or two naming the problem and the setting to change, with a
non-zero exit: no traceback, no password. Each command is driven through typer's CliRunner."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.store.db import make_engine, migrate

SECRET = "Sup3r-s3cret-pw"
PG_AWAY = f"postgresql+psycopg://intern:{SECRET}@127.0.0.1:1/intern_match"
NATS_AWAY = f"nats://svc:{SECRET}@127.0.0.1:1"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`intern-match ARGS` with only the given INTERN_MATCH_* variables set."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("INTERN_MATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERN_MATCH_HTTP_PORT", "0")

    def invoke(*args: str, **env: str):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "100", **env})

    return invoke


def _refused(result, *named: str) -> str:
    """The output of a run that failed cleanly, naming each of `named`."""
    text = result.output
    lines = [line for line in text.splitlines() if line.strip()]
    assert result.exit_code not in (0, None), text
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"unhandled {result.exception!r}"
    )
    assert "Traceback" not in text and len(lines) <= 3, text
    assert SECRET not in text
    for name in named:
        assert name in text, text
    return text


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("")
    return path


def test_round_names_a_period_or_mode_that_is_no_choice(run, tmp_path):
    events = _events(tmp_path)
    base = ("round", "--offline", "--events", str(events), "--out", str(tmp_path / "o"))

    _refused(run(*base, "--program-year", "2023", "--period", "autumn"), "--period", "autumn")
    _refused(run(*base, "--program-year", "2023", "--period", "summer", "--mode", "best"),
             "--mode")  # fmt: skip
    _refused(run(*base, "--program-year", "1800", "--period", "summer"), "--program-year")
    _refused(run("round", "--offline"), "--events")
    _refused(run("round", "--program-year", "2023", "--period", "summer"),
             "INTERN_MATCH_BROKER_URL")  # fmt: skip


def test_round_names_an_unknown_ruleset_and_the_setting(run, tmp_path):
    events = _events(tmp_path)
    result = run("round", "--offline", "--events", str(events), "--out", str(tmp_path / "o"),
                 INTERN_MATCH_RULESET="fy2099-nope")  # fmt: skip

    _refused(result, "fy2099-nope", "INTERN_MATCH_RULESET")


def test_report_with_no_database_file_or_no_such_round_says_which(run, tmp_path):
    _refused(run("report", "2023-summer-1"), "no database file", "INTERN_MATCH_DATABASE_URL")
    assert not (tmp_path / "data" / "intern-match.db").exists()  # nothing created empty

    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'intern-match.db'}")
    migrate(engine)
    engine.dispose()
    _refused(run("report", "2023-summer-9"), "2023-summer-9", "INTERN_MATCH_DATABASE_URL")


def test_serve_and_migrate_with_the_database_away_name_it_without_its_password(run):
    env = {"INTERN_MATCH_DATABASE_URL": PG_AWAY, "INTERN_MATCH_BROKER_URL": NATS_AWAY}

    served = _refused(run("serve", **env), "INTERN_MATCH_DATABASE_URL", "127.0.0.1:1")
    _refused(run("migrate", **env), "INTERN_MATCH_DATABASE_URL", "127.0.0.1:1")
    _refused(run("migrate", INTERN_MATCH_DATABASE_URL="not a url"), "INTERN_MATCH_DATABASE_URL")
    assert "intern:" not in served


def test_publish_export_and_replay_with_the_broker_away_name_the_setting(run, tmp_path):
    events = tmp_path / "one.jsonl"
    events.write_text(json.dumps({"type": "jip.applicant.withdrawn.v1", "id": "x"}) + "\n")
    env = {"INTERN_MATCH_BROKER_URL": NATS_AWAY}

    _refused(run("publish", str(events), **env), "INTERN_MATCH_BROKER_URL")
    _refused(run("publish", str(events)), "INTERN_MATCH_BROKER_URL")
    _refused(run("export", str(tmp_path / "x.jsonl"), **env), "INTERN_MATCH_BROKER_URL")
    _refused(run("export", str(tmp_path / "x.jsonl"), "--subjects", "some"), "--subjects")
    _refused(run("export", str(tmp_path / "x.jsonl"), "--since", "yesterday"), "yesterday")
    _refused(run("replay", "--target-env", "development", "--from-broker", NATS_AWAY),
             "--from-broker")  # fmt: skip
    _refused(run("replay", "--target-env", "development"), "--file", "--from-broker")
    _refused(run("replay", "--file", str(tmp_path / "absent.jsonl"), "--target-env", "x"),
             "absent.jsonl")  # fmt: skip


def test_schema_demo_and_dead_letters_name_what_is_wrong(run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    _refused(run("schema", "--out", str(blocker)), "a-file")
    _refused(run("demo", "--mode", "fastest"), "--mode")
    _refused(run("dead-letters", "list"), "INTERN_MATCH_DATABASE_URL")
    _refused(run("dead-letters", "show", "dl-1"), "INTERN_MATCH_DATABASE_URL")


def test_a_bad_or_ambiguous_setting_is_named_by_every_command_that_loads_settings(run, tmp_path):
    ambiguous = {"INTERN_MATCH_ENVIRONMENT": "production", "intern_match_environment": "staging"}
    events = _events(tmp_path)

    for args in (("report", "r"), ("dead-letters", "list"), ("migrate",), ("serve",),
                 ("round", "--offline", "--events", str(events), "--out", str(tmp_path / "o")),
                 ("export", str(tmp_path / "x")), ("publish", str(events))):  # fmt: skip
        _refused(run(*args, **ambiguous), "INTERN_MATCH_ENVIRONMENT", "intern_match_environment")
        _refused(run(*args, INTERN_MATCH_HTTP_PORT="-1"), "INTERN_MATCH_HTTP_PORT")
