"""`round --offline` on files a person may have: a poison line is one dead letter (not a
traceback), and the events the service publishes (an export of every subject holds them) are
skipped and counted, not applied."""

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching import load_ruleset
from services.cli.main import app
from services.ops.offline import run_offline
from tests.support.inbound_events import YEAR, GreedySolver, posted, registered, round_requested

RULESET = load_ruleset()
POISON = registered("A-9").replace(b'"version":1', b'"zz":' + b"9" * 4301 + b',"version":1')
CALM = [registered("A-1"), registered("A-2"), posted("V-1", capacity=1), round_requested("R-1")]


def offline(lines: list[bytes]) -> list[bytes]:
    clock = lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # noqa: E731
    return run_offline(lines, lambda y: RULESET if y == YEAR else None, None, clock, GreedySolver())


def types(bodies: list[bytes]) -> list[str]:
    return [json.loads(b)["type"] for b in bodies]


def test_a_poison_line_is_one_dead_letter_and_the_round_runs_as_without_it() -> None:
    calm = offline(CALM)
    poisoned = offline([*CALM[:2], POISON, *CALM[2:]])
    assert types(poisoned)[0] == "jip.dlq.applicant.registered.v2"
    assert json.loads(poisoned[0])["data"]["errors"][0]["loc"] == "data.<unknown field>"
    assert poisoned[1:] == calm


def test_events_the_service_publishes_are_skipped_offline() -> None:
    calm = offline(CALM)
    assert {"jip.placement.made.v1", "jip.round.completed.v1"} <= set(types(calm))
    assert offline([*CALM, *calm]) == calm  # a file holding the outbound events too


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path / "data"))

    def run(lines: list[bytes]) -> tuple[int, str, list[bytes]]:
        events, out = tmp_path / "events.jsonl", tmp_path / "out.jsonl"
        events.write_bytes(b"\n".join(lines) + b"\n")
        args = ["round", "--offline", "--events", str(events), "--out", str(out)]
        result = CliRunner().invoke(app, args)
        written = out.read_bytes().splitlines() if out.exists() else []
        return result.exit_code, result.output, written

    return run


def test_round_offline_turns_a_poison_line_into_a_dead_letter(run_cli) -> None:
    code, output, written = run_cli([*CALM[:2], POISON, *CALM[2:]])
    assert code == 0, output
    assert "Traceback" not in output
    assert "1 lines are not valid inbound events" in output
    assert [t for t in types(written) if t.startswith("jip.dlq.")] == [
        "jip.dlq.applicant.registered.v2"
    ]


def test_round_offline_skips_and_counts_outbound_events(run_cli) -> None:
    _, _, calm = run_cli(CALM)
    code, output, written = run_cli([*CALM, *calm])
    assert code == 0, output
    assert f"skipped {len(calm)} events the service publishes" in " ".join(output.split())
    assert [json.loads(b)["id"] for b in written] == [json.loads(b)["id"] for b in calm]
