"""Export from a "production" service and replay into a "staging" one, each on its own
nats-server; the production guard and the dry run. Commands driven through typer's CliRunner."""

import asyncio
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.nats.client import connect
from services.nats.embedded import EmbeddedNats
from services.ops.errors import ReplayRefusedError
from services.ops.export import to_jsonl
from services.ops.replay import check_target, plan_replay
from services.runtime import publish_events, running_service, wait_round
from services.sample.generator import generate_year, round_request
from services.settings import Settings

pytestmark = pytest.mark.integration

YEAR = 2023
ROUNDS = ("2023-summer-1", "2023-winter-1")
HOUR = dt.timedelta(hours=1)


def _bodies() -> list[bytes]:
    year = generate_year(seed=11, applicants=90, vacancies=12, program_year=YEAR)
    return [
        *year,
        round_request(ROUNDS[0], YEAR, "summer", seq=1),
        round_request(ROUNDS[1], YEAR, "winter", seq=2),
    ]


def _settings(env: str, url: str, database_url: str, data_dir: Path) -> Settings:
    return Settings(
        environment=env,
        broker_url=url,
        database_url=database_url,
        data_dir=data_dir,
        batch_size=100,
        round_time_limit_seconds=20,
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        "INTERN_MATCH_ENVIRONMENT": settings.environment.value,
        "INTERN_MATCH_BROKER_URL": settings.broker_url or "",
        "INTERN_MATCH_DATABASE_URL": settings.database_url_or_default()
        if settings.database_url
        else "",
        "INTERN_MATCH_DATA_DIR": str(settings.data_dir),
        "COLUMNS": "200",
    }


async def _cli(settings: Settings, *args: str) -> Any:
    """Run `intern-match ARGS` with the settings' environment, off the test's event loop."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=_env(settings))


async def _messages(settings: Settings) -> int:
    client = await connect(settings)
    try:
        return (await client.jetstream().stream_info("JIP")).state.messages
    finally:
        await client.close()


@pytest.fixture
async def production(tmp_path: Path, fresh_database_url: str):
    """A service on its own nats-server and PostgreSQL database that ran two rounds."""
    async with EmbeddedNats(tmp_path / "prod-nats") as server:
        settings = _settings("production", server.url, fresh_database_url, tmp_path / "prod")
        async with running_service(settings):
            await publish_events(settings, _bodies())
            answers = [await wait_round(settings, r, timeout=120) for r in ROUNDS]
            yield settings, answers


@pytest.fixture
async def staging(tmp_path: Path):
    """A fresh service on another nats-server and a SQLite file."""
    async with EmbeddedNats(tmp_path / "staging-nats") as server:
        database = f"sqlite:///{tmp_path / 'staging.db'}"
        settings = _settings("staging", server.url, database, tmp_path / "staging")
        async with running_service(settings):
            yield settings


async def test_an_export_replayed_into_a_fresh_staging_reproduces_every_round_digest(
    production, staging, tmp_path: Path
):
    prod, answers = production
    export = tmp_path / "export.jsonl"

    exported = await _cli(prod, "export", str(export))
    replayed = await _cli(
        staging, "replay", "--file", str(export), "--target-env", "staging", "--verify",
        "--timeout", "120",
    )  # fmt: skip

    assert exported.exit_code == 0, exported.output
    lines = export.read_bytes().splitlines()
    assert lines == _bodies()  # inbound subjects only, original bodies, stream order
    assert replayed.exit_code == 0, replayed.output
    assert "all digests match (2 rounds)" in replayed.output
    assert f"sent {len(lines)}; duplicates acknowledged by the stream 0" in replayed.output
    for answer in answers:
        replica = await wait_round(staging, answer["data"]["round_id"], timeout=30)
        assert replica["data"]["placements_digest"] == answer["data"]["placements_digest"]
        assert answer["data"]["placed"] > 0
        # a replay draws the same lottery: the seed chains the same events before the request
        seed = replica["data"]["lottery_seed"]
        assert seed == answer["data"]["lottery_seed"]
        assert seed.startswith(answer["data"]["round_id"] + ":") and len(seed.split(":")[-1]) == 64


async def test_a_stream_range_replayed_again_is_acknowledged_as_duplicates_and_still_matches(
    production, staging
):
    prod, answers = production
    args = ("replay", "--from-broker", prod.broker_url or "", "--target-env", "staging")

    first = await _cli(staging, *args, "--verify", "--timeout", "120")
    again = await _cli(staging, *args, "--verify", "--timeout", "120")

    sent = len(_bodies())
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert f"sent {sent}; duplicates acknowledged by the stream 0" in first.output
    assert f"sent {sent}; duplicates acknowledged by the stream {sent}" in again.output
    assert again.output.count("source") >= len(answers)  # compared with the original answers
    assert "all digests match (2 rounds)" in again.output


async def test_a_replay_whose_original_digest_differs_exits_1_naming_the_round(
    production, staging, tmp_path: Path
):
    prod, answers = production
    forged = dict(answers[0], data={**answers[0]["data"], "placements_digest": "sha256:00"})
    source = tmp_path / "forged.jsonl"
    source.write_bytes(b"\n".join([*_bodies(), json.dumps(forged).encode()]) + b"\n")

    result = await _cli(
        staging, "replay", "--file", str(source), "--target-env", "staging", "--verify",
        "--timeout", "120",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert f"1 digest mismatch(es): {ROUNDS[0]}" in " ".join(result.output.split())


async def test_the_production_guard_refuses_unless_production_is_named_with_the_flag(
    production, tmp_path: Path
):
    prod, _ = production
    export = tmp_path / "export.jsonl"
    await _cli(prod, "export", str(export))
    before = await _messages(prod)
    args = ("replay", "--file", str(export))

    unnamed = await _cli(prod, *args, "--target-env", "staging")
    unconfirmed = await _cli(prod, *args, "--target-env", "production")
    confirmed = await _cli(prod, *args, "--target-env", "production", "--yes-production")

    assert unnamed.exit_code == 2 and "does not match" in unnamed.output
    assert unconfirmed.exit_code == 2 and "--yes-production" in unconfirmed.output
    # confirmed, but the target is the very broker the export came from
    assert confirmed.exit_code == 2, confirmed.output
    assert "the target broker is the source of these events" in confirmed.output
    assert await _messages(prod) == before  # the refusals added nothing


async def test_a_dry_run_shows_counts_and_rounds_and_sends_nothing(
    production, staging, tmp_path: Path
):
    prod, _ = production
    export = tmp_path / "export.jsonl"
    await _cli(prod, "export", str(export))
    before = await _messages(staging)

    result = await _cli(
        staging, "replay", "--file", str(export), "--target-env", "staging", "--dry-run"
    )

    assert result.exit_code == 0, result.output
    assert "nothing was sent" in result.output
    assert all(r in result.output for r in ROUNDS)
    assert "jip.vacancy.posted" in result.output and " 12 " in result.output
    assert await _messages(staging) == before


async def test_an_export_by_sequence_range_holds_exactly_those_messages(production, tmp_path):
    prod, _ = production
    export = tmp_path / "part.jsonl"

    result = await _cli(prod, "export", str(export), "--from-seq", "3", "--to-seq", "7")

    assert result.exit_code == 0, result.output
    assert export.read_bytes().splitlines() == _bodies()[2:7]


async def test_an_export_by_time_range_takes_what_the_stream_stored_between_the_bounds(
    production, tmp_path
):
    prod, _ = production
    now = dt.datetime.now(dt.UTC)
    everything, future = tmp_path / "all.jsonl", tmp_path / "future.jsonl"

    until_now = await _cli(prod, "export", str(everything), "--subjects", "all",
                           "--until", now.isoformat())  # fmt: skip
    later = await _cli(prod, "export", str(future), "--since", (now + HOUR).isoformat())

    assert until_now.exit_code == 0 and later.exit_code == 0, until_now.output + later.output
    subjects = Counter(json.loads(line)["type"] for line in everything.read_bytes().splitlines())
    assert subjects["jip.round.completed.v1"] == 2 and subjects["jip.placement.made.v1"] > 0
    assert future.read_bytes() == b"" and "exported 0 events" in later.output


async def test_export_and_replay_against_a_broker_that_is_away_exit_2_with_a_message(tmp_path):
    away = _settings("staging", "nats://127.0.0.1:1", "sqlite://", tmp_path)
    source = tmp_path / "one.jsonl"
    source.write_bytes(_bodies()[0] + b"\n")

    exported = await _cli(away, "export", str(tmp_path / "x.jsonl"))
    replayed = await _cli(away, "replay", "--file", str(source), "--target-env", "staging")

    assert exported.exit_code == 2 and "reading the configured broker" in exported.output
    assert replayed.exit_code == 2 and "replaying into the target" in replayed.output


def test_a_replay_plan_sends_inbound_events_only_and_keeps_each_rounds_first_answer():
    completed = json.dumps(
        {
            "type": "jip.round.completed.v1",
            "data": {"round_id": ROUNDS[0], "placements_digest": "sha256:aa"},
        }
    )
    failed = json.dumps({"type": "jip.round.failed.v1",
                         "data": {"round_id": ROUNDS[0], "reason": "later"}})  # fmt: skip
    placed = json.dumps({"type": "jip.placement.made.v1", "data": {"round_id": ROUNDS[0]}})
    bodies = [*_bodies(), completed.encode(), failed.encode(), placed.encode(), b"{not json"]

    plan = plan_replay(bodies)

    assert [o.body for o in plan.outgoing] == _bodies()
    assert all(o.event_id == json.loads(o.body)["id"] for o in plan.outgoing)
    assert plan.rounds == list(ROUNDS) and plan.skipped == 2
    assert plan.originals == {ROUNDS[0]: "sha256:aa"}
    assert plan.by_subject()["jip.round.requested"] == 2


def test_the_guard_needs_the_named_environment_and_a_confirmed_production(tmp_path):
    staging = _settings("staging", "nats://127.0.0.1:4222", "sqlite://", tmp_path)
    production = _settings("production", "nats://127.0.0.1:4222", "sqlite://", tmp_path)

    check_target(staging, "staging", yes_production=False)
    check_target(production, "production", yes_production=True)
    with pytest.raises(ReplayRefusedError, match="does not match"):
        check_target(staging, "production", yes_production=True)
    with pytest.raises(ReplayRefusedError, match="--yes-production"):
        check_target(production, "production", yes_production=False)
    check_target(staging.model_copy(update={"broker_url": None}), "staging", False)


async def test_an_embedded_service_exports_and_replays_into_an_embedded_staging_that_matches(
    tmp_path: Path,
) -> None:
    prod = Settings(data_dir=tmp_path / "prod", http_port=0, round_time_limit_seconds=20)
    async with running_service(prod) as service:
        await publish_events(prod, _bodies(), broker_url=service.broker_url)
        for round_id in ROUNDS:
            await wait_round(prod, round_id, timeout=120, broker_url=service.broker_url)
    exported = tmp_path / "all.jsonl"
    embedded = _settings("development", "", "", tmp_path / "prod")
    result = await _cli(embedded, "export", str(exported), "--subjects", "all")
    assert result.exit_code == 0, result.output
    staging = _settings("staging", "", "", tmp_path / "staging")
    verified = await _cli(
        staging, "replay", "--file", str(exported), "--target-env", "staging", "--verify"
    )
    assert verified.exit_code == 0, verified.output
    assert "all digests match (2 rounds)" in verified.output
    assert verified.output.count("source") >= 2  # compared with production's own answers


def test_a_multi_line_json_body_is_compacted_onto_one_json_lines_record():
    text, compacted, left_out = to_jsonl([b'{"a":\n 1}', b'{"b":2}'])

    assert text == b'{"a":1}\n{"b":2}\n' and (compacted, left_out) == (1, 0)


def test_a_body_spanning_lines_that_is_no_readable_json_is_left_out_and_counted():
    deep = b"[" * 100_000 + b"\n" + b"]" * 100_000
    text, compacted, left_out = to_jsonl([b'{"a":\n', deep, b"1" * 5000 + b"\n", b'{"b":2}'])

    assert text == b'{"b":2}\n' and (compacted, left_out) == (0, 3)
