"""The replay guard looks at where events would go, not at a label: a replay into the broker the
events came from is refused whatever the environment settings say, and `publish` never prints
the broker's password. Real nats-servers (embedded), commands through typer's CliRunner."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.nats.client import connect
from services.nats.embedded import EmbeddedNats
from services.ops.export_meta import read_meta
from services.runtime import publish_events, running_service
from services.sample.generator import generate_year
from services.settings import Settings

pytestmark = pytest.mark.integration

SECRET = "pr0d-Br0ker-Pa55"


async def _cli(env: dict[str, str], *args: str) -> Any:
    full: dict[str, str | None] = {"COLUMNS": "200", "INTERN_MATCH_ENVIRONMENT": None, **env}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=full)


async def _messages(url: str) -> int:
    client = await connect(Settings(), url)
    try:
        return (await client.jetstream().stream_info("JIP")).state.messages
    finally:
        await client.close()


@pytest.fixture
async def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A running service (embedded broker, SQLite) holding a small program year."""
    for name in (
        "INTERN_MATCH_ENVIRONMENT",
        "INTERN_MATCH_BROKER_URL",
        "INTERN_MATCH_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path / "prod", http_port=0)
    async with running_service(settings) as service:
        bodies = generate_year(seed=3, applicants=20, vacancies=4, program_year=2023)
        await publish_events(settings, bodies, broker_url=service.broker_url)
        env = {"INTERN_MATCH_BROKER_URL": service.broker_url,
               "INTERN_MATCH_DATA_DIR": str(tmp_path / "cli")}  # fmt: skip
        yield service.broker_url, env


async def test_an_export_replayed_into_its_own_broker_is_refused_whatever_the_label(
    source, tmp_path: Path
):
    url, env = source
    export = tmp_path / "export.jsonl"
    exported = await _cli(env, "export", str(export))
    assert exported.exit_code == 0, exported.output
    fingerprint = read_meta(export).source_fingerprint
    assert fingerprint and fingerprint["stream_created"]
    before = await _messages(url)

    unset = await _cli(env, "replay", "--file", str(export), "--target-env", "development")
    confirmed = await _cli({**env, "INTERN_MATCH_ENVIRONMENT": "production"}, "replay",
                           "--file", str(export), "--target-env", "production",
                           "--yes-production")  # fmt: skip
    live = await _cli(env, "replay", "--from-broker", url, "--target-env", "development")

    for result in (unset, confirmed, live):
        assert result.exit_code != 0, result.output
        assert "the target broker is the source of these events" in result.output
        assert "INTERN_MATCH_BROKER_URL" in result.output
    assert await _messages(url) == before  # nothing was sent


async def test_a_replay_into_another_broker_passes_the_fingerprint_check(source, tmp_path: Path):
    _, env = source
    export = tmp_path / "export.jsonl"
    assert (await _cli(env, "export", str(export))).exit_code == 0
    other = Settings(data_dir=tmp_path / "staging", http_port=0)
    async with running_service(other) as staging:
        result = await _cli(
            {"INTERN_MATCH_BROKER_URL": staging.broker_url,
             "INTERN_MATCH_DATA_DIR": str(tmp_path / "staging-cli")},
            "replay", "--file", str(export), "--target-env", "development",
        )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "sent " in result.output


async def test_publish_reports_the_broker_without_its_password(tmp_path: Path):
    async with EmbeddedNats(tmp_path / "nats", extra_args=["--user", "ops", "--pass", SECRET]) as s:
        url = s.url.replace("nats://", f"nats://ops:{SECRET}@")
        client = await connect(Settings(), url)
        await client.jetstream().add_stream(name="JIP", subjects=["jip.>"])
        await client.close()
        events = tmp_path / "events.jsonl"
        events.write_bytes(generate_year(seed=1, applicants=2, vacancies=1)[0] + b"\n")

        result = await _cli({"INTERN_MATCH_BROKER_URL": url}, "publish", str(events))

    assert result.exit_code == 0, result.output
    assert "published 1 events to nats://127.0.0.1:" in result.output
    assert SECRET not in result.output


def test_the_sidecar_fingerprint_is_plain_json(tmp_path: Path):
    from services.ops.export_meta import ExportMeta, write_meta

    events = tmp_path / "e.jsonl"
    write_meta(
        events, ExportMeta(source_fingerprint={"server": "cluster jip", "stream_created": "t"})
    )

    assert json.loads((tmp_path / "e.jsonl.meta.json").read_text())["source_fingerprint"] == {
        "server": "cluster jip", "stream_created": "t"}  # fmt: skip
