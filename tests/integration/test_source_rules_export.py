"""Source rules are configuration: an export records them beside its events, an offline run over
the export judges by them (the same dead letters and digest as online), and a replay into a
target with other rules is refused unless told. Real nats-server, SQLite, typer's CliRunner."""

import asyncio
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from contracts import ApplicantWithdrawn, Kind, VacancyClosed, make_event, to_json_bytes
from services.cli.main import app
from services.nats.embedded import EmbeddedNats
from services.ops.export_meta import meta_path, read_meta
from services.runtime import publish_events, running_service, wait_round
from services.sample.generator import (
    APPLICANT_SOURCE,
    SCHEDULER_SOURCE,
    SME_SOURCE,
    generate_year,
    round_request,
)
from services.settings import Settings
from services.store.db import make_engine
from services.store.tables import DeadLetterRow

pytestmark = pytest.mark.integration

YEAR = 2023
ROUND = "2023-summer-1"
RULES = {
    "applicant.*": [APPLICANT_SOURCE, "/university-portal"],
    "operators": ["/operator-console"],
    "round.requested": [SCHEDULER_SOURCE],
    "vacancy.*": [SME_SOURCE],
}


def _attacks(year: list[bytes]) -> list[bytes]:
    """A max-version withdrawal of every applicant from another allowed portal, and a closure
    of a vacancy from the applicant portal (a kind it may not send)."""
    docs = [json.loads(b) for b in year]
    last = dt.datetime.fromisoformat(max(d["time"] for d in docs))
    found = {d["data"].get("applicant_id") for d in docs}
    ids = sorted(i for i in found if isinstance(i, str) and re.fullmatch(r"A-\d+", i))
    vacancy = next(d["data"]["vacancy_id"] for d in docs if "vacancy_id" in d["data"])
    events = [
        make_event(
            Kind.APPLICANT_WITHDRAWN,
            f"freeze-{i}",
            ApplicantWithdrawn(applicant_id=i, version=2**31 - 1),
            last,
            "/university-portal",
            None,
        )  # fmt: skip
        for i in ids
    ]
    closure = VacancyClosed(vacancy_id=vacancy, version=2**31 - 1)
    events.append(make_event(Kind.VACANCY_CLOSED, "close", closure, last, APPLICANT_SOURCE, None))
    return [to_json_bytes(e) for e in events]


def _env(settings: Settings, rules: dict[str, list[str]] | None) -> dict[str, str | None]:
    return {
        "INTERN_MATCH_ENVIRONMENT": settings.environment.value,
        "INTERN_MATCH_BROKER_URL": settings.broker_url,
        "INTERN_MATCH_DATABASE_URL": settings.database_url_or_default(),
        "INTERN_MATCH_DATA_DIR": str(settings.data_dir),
        "INTERN_MATCH_SOURCES": json.dumps(rules) if rules is not None else None,
        "COLUMNS": "300",
    }


async def _cli(env: dict[str, str | None], *args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


def _outcome(lines: list[bytes]) -> tuple[set[str], str]:
    """The dead letters' ids and the round's digest among outbound bodies."""
    docs = [json.loads(line) for line in lines]
    dead = {d["id"] for d in docs if d["type"].startswith("jip.dlq.")}
    [done] = [d for d in docs if d["type"].startswith("jip.round.completed")]
    return dead, done["data"]["placements_digest"]


async def test_the_recorded_rules_judge_an_offline_run_and_guard_a_replay(tmp_path: Path):
    year = generate_year(seed=5, applicants=40, vacancies=8, program_year=YEAR)
    bodies = [*year, *_attacks(year), round_request(ROUND, YEAR, "summer")]
    database = f"sqlite:///{tmp_path / 'prod.db'}"
    async with EmbeddedNats(tmp_path / "nats") as server:
        prod = Settings(
            environment="staging", broker_url=server.url, database_url=database,
            data_dir=tmp_path / "prod", sources=RULES,
        )  # fmt: skip
        async with running_service(prod):
            await publish_events(prod, bodies)
            answer = await wait_round(prod, ROUND, timeout=120)
        export = tmp_path / "export.jsonl"
        exported = await _cli(_env(prod, RULES), "export", str(export))
    assert exported.exit_code == 0, exported.output
    assert read_meta(export).source_rules == RULES
    engine = make_engine(database)
    with engine.connect() as c:
        online_dead = set(c.execute(select(DeadLetterRow.id)).scalars())
    engine.dispose()
    assert answer["data"]["placed"] > 0  # the freezing withdrawals did not apply online

    out = tmp_path / "offline.jsonl"
    unset = _env(prod, None)  # offline with no rules configured: the sidecar's apply
    offline = await _cli(unset, "round", "--offline", "--events", str(export), "--out", str(out))
    assert offline.exit_code == 0, offline.output
    dead, digest = _outcome(out.read_bytes().splitlines())
    assert (dead, digest) == (online_dead, answer["data"]["placements_digest"])
    assert len(online_dead) >= 41  # every freeze and the closure, beside the sample's own

    bare = tmp_path / "bare.jsonl"  # the same events without their record: any source passes
    bare.write_bytes(export.read_bytes())
    await _cli(unset, "round", "--offline", "--events", str(bare), "--out", str(out))
    assert _outcome(out.read_bytes().splitlines())[1] != digest

    args = ("replay", "--file", str(export), "--target-env", "staging", "--dry-run")
    refused = await _cli(unset, *args)
    assert refused.exit_code == 2 and "--accept-target-rules" in refused.output
    assert "recorded" in refused.output and "unset (any source)" in refused.output
    assert (await _cli(unset, *args, "--accept-target-rules")).exit_code == 0
    assert (await _cli(_env(prod, RULES), *args)).exit_code == 0
    assert meta_path(export).is_file()

    # A target that accepts any source freezes every applicant; --verify's offline rerun judges
    # by the recorded rules, so it reports the difference instead of agreeing with the target.
    staging = {**unset, "INTERN_MATCH_BROKER_URL": None, "INTERN_MATCH_DATABASE_URL": None}
    staging["INTERN_MATCH_DATA_DIR"] = str(tmp_path / "staging")
    verify = ("replay", "--file", str(export), "--target-env", "staging", "--verify")
    replayed = await _cli(staging, *verify, "--timeout", "120", "--accept-target-rules")
    assert replayed.exit_code == 1 and "MISMATCH" in replayed.output, replayed.output
    assert digest in replayed.output
