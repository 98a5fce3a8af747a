"""`intern-match dead-letters`: operators list rejected events, read one, and resubmit a
corrected body, on the configured database (a SQLite file here)."""

import asyncio
import datetime as dt
import json

import nats
import pytest
import typer
from typer.testing import CliRunner

from matching import load_ruleset
from services.cli.deadletters import register
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from tests.support.inbound_events import registered

RULESET = load_ruleset()


@pytest.fixture
def cli(tmp_path, monkeypatch, fresh_nats_url):
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERN_MATCH_BROKER_URL", fresh_nats_url)
    asyncio.run(_create_stream(fresh_nats_url))
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


def test_a_corrected_body_is_published_to_the_stream_and_the_dead_letter_leaves_the_list(
    cli, tmp_path, fresh_nats_url
):
    """Issue 11, item 12: the body goes into the stream (the running service applies it from
    there, tests/integration/test_resubmit.py), not into the database past the stream."""
    app, engine = cli
    [letter] = _listed(app)
    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(registered("A-7"))
    result = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(fixed)])
    assert result.exit_code == 0, result.output
    assert "published reg-A-7-1 on jip.applicant.registered" in result.stdout
    assert _listed(app) == []
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM applicants").scalar_one() == 0
    assert _stream_bodies(fresh_nats_url) == [registered("A-7")]
    again = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(fixed)])
    assert again.exit_code == 2 and _stream_bodies(fresh_nats_url) == [registered("A-7")]


def test_an_outbound_event_is_refused_with_a_message_not_a_key_error(cli, tmp_path):
    """Issue 11, item 9: KeyError: Kind.PLACEMENT_MADE."""
    app, _ = cli
    [letter] = _listed(app)
    outbound = tmp_path / "placement.json"
    outbound.write_text(json.dumps({**json.loads(registered("A-7")),
                                    "type": "jip.round.failed.v1",
                                    "data": {"round_id": "R", "reason": "x"}}))  # fmt: skip
    result = CliRunner().invoke(app, ["dead-letters", "resubmit", letter["id"], str(outbound)])
    assert result.exit_code == 1, result.output
    assert "jip.round.failed.v1 is an outbound event type" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(_listed(app)) == 1


async def _create_stream(url: str) -> None:
    client = await nats.connect(url)
    await client.jetstream().add_stream(name="JIP", subjects=["jip.>"], duplicate_window=1200)
    await client.close()


def _stream_bodies(url: str) -> list[bytes]:
    async def read() -> list[bytes]:
        client = await nats.connect(url)
        js = client.jetstream()
        info = await js.stream_info("JIP")
        found = [(await js.get_msg("JIP", seq)).data
                 for seq in range(info.state.first_seq, info.state.last_seq + 1)]  # fmt: skip
        await client.close()
        return [b for b in found if b]

    return asyncio.run(read())


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
