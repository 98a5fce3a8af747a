"""`intern-match lottery ROUND_ID APPLICANT_ID` shows a person their draw from the round's
published events only: the seed, the text hashed, the number, the place, the outcome."""

import datetime as dt
import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from matching import load_ruleset
from services.cli.main import app
from services.intake.apply import Inbound, Intake
from services.ops.offline import run_offline
from services.store.db import make_engine, migrate
from tests.support.inbound_events import posted, registered, round_requested
from tests.support.lottery import drawn, number

R1_AT = dt.datetime(2023, 4, 1, tzinfo=dt.UTC)
PEOPLE = [f"A-{k}" for k in range(6)]
EVENTS = [
    *(registered(a) for a in PEOPLE),
    posted("V-1", capacity=1, slots=[{"course": "B", "capacity": 1}]),
    round_requested("R-1", at=R1_AT),
]


def _invoke(*args: str, **env: str):
    return CliRunner().invoke(app, ["lottery", *args], env={"COLUMNS": "200", **env})


def _published(tmp_path: Path) -> tuple[Path, str]:
    ruleset = load_ruleset()
    bodies = run_offline(EVENTS, lambda _: ruleset, None, lambda: R1_AT)
    out = tmp_path / "published.jsonl"
    out.write_bytes(b"".join(b + b"\n" for b in bodies))
    [seed] = [
        json.loads(b)["data"]["lottery_seed"]
        for b in bodies
        if json.loads(b)["type"] == "jip.round.completed.v1"
    ]
    return out, seed


def test_each_person_sees_their_number_place_and_outcome_from_a_file(tmp_path):
    out, seed = _published(tmp_path)
    order = drawn(seed, PEOPLE)
    for person in PEOPLE:
        result = _invoke("R-1", person, "--events", str(out))
        assert result.exit_code == 0, result.output
        text = result.output
        assert f"{number(seed, person):064x}" in text and seed in text
        place = order.index(person) + 1
        assert f"{place} of {len(PEOPLE)}" in text
        # one seat, everyone equally fit: the first drawn is placed, the others outranked
        assert ("placed: V-1, course B" in text) == (place == 1)
        assert ("unplaced: outranked" in text) == (place != 1)


def test_the_command_reads_the_service_database_too(tmp_path):
    url = f"sqlite:///{tmp_path / 'im.db'}"
    engine = make_engine(url)
    migrate(engine)
    ruleset = load_ruleset()
    Intake(engine, lambda _: ruleset, lambda: R1_AT).process([Inbound(None, b) for b in EVENTS])
    engine.dispose()
    _, seed = _published(tmp_path)  # the same events offline draw the same seed
    first = drawn(seed, PEOPLE)[0]
    result = _invoke("R-1", first, INTERN_MATCH_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    assert "1 of 6" in result.output and "placed: V-1" in result.output


def test_an_unknown_round_or_person_is_named_in_one_line(tmp_path):
    out, _ = _published(tmp_path)
    result = _invoke("R-9", "A-1", "--events", str(out))
    assert result.exit_code == 2 and "no completed round 'R-9'" in result.output
    result = _invoke("R-1", "A-99", "--events", str(out))
    assert result.exit_code == 2 and "nothing about applicant 'A-99'" in result.output


def test_a_dry_run_from_the_command_line_may_name_its_seed_and_a_real_one_may_not(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(b + b"\n" for b in EVENTS[:-1]))
    out = tmp_path / "out.jsonl"
    base = ["round", "--offline", "--events", str(events), "--out", str(out)]
    base += ["--program-year", "2023", "--period", "summer"]
    refused = CliRunner().invoke(app, [*base, "--lottery-seed", "what-if"])
    assert refused.exit_code == 2 and "--lottery-seed goes with --dry-run" in refused.output
    ran = CliRunner().invoke(app, [*base, "--dry-run", "--lottery-seed", "what-if"])
    assert ran.exit_code == 0, ran.output
    [completed] = [
        e["data"] for e in map(json.loads, out.read_text().splitlines())
        if e["type"] == "jip.round.completed.v1"
    ]  # fmt: skip
    assert completed["lottery_seed"] == "what-if"
    # a dry run publishes no placements: its digest is of the first drawn applicant's seat
    digest = hashlib.sha256(f"{drawn('what-if', PEOPLE)[0]}\tV-1\tB\n".encode()).hexdigest()
    assert completed["placements_digest"] == f"sha256:{digest}"


def test_a_malformed_events_file_is_named_in_one_line_without_a_traceback(tmp_path):
    completed = '{"type":"jip.round.completed.v1","data":{"round_id":"R-1","lottery_seed":"s"}}'
    cases = {
        "not-json": f"{completed}\nnot json\n",
        "not-an-object": f"[1, 2]\n{completed}\n",
        "data-not-an-object": '{"type":"jip.round.completed.v1","data":["R-1"]}\n',
        "placement-without-ids": f'{completed}\n{{"type":"jip.placement.made.v1",'
        '"data":{"round_id":"R-1"}}\n',
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        result = _invoke("R-1", "A-1", "--events", str(path))
        assert result.exit_code == 2, (name, result.output, result.exception)
        assert isinstance(result.exception, SystemExit), (name, result.exception)
        assert str(path) in result.output and "line" in result.output, (name, result.output)


def test_a_lottery_seed_without_a_round_to_apply_it_to_is_refused(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(b + b"\n" for b in EVENTS))  # the file's own real round R-1
    out = tmp_path / "out.jsonl"
    base = ["round", "--offline", "--events", str(events), "--out", str(out)]
    result = CliRunner().invoke(app, [*base, "--dry-run", "--lottery-seed", "what-if"])
    assert result.exit_code == 2 and "--lottery-seed" in result.output, result.output
