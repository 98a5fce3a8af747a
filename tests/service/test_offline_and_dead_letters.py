"""Offline rounds equal the service's outbox; dead letters can be listed and resubmitted."""

import datetime as dt
import json

import pytest
from inbound_events import YEAR, GreedySolver, posted, registered, round_requested, withdrawn

from contracts import ContractError, RoundRequested
from matching import load_ruleset
from services.db import make_engine, migrate
from services.deadletters import UnknownDeadLetter, list_dead_letters, resubmit
from services.intake import Inbound, Intake
from services.offline import run_offline
from services.outbox import pending

RULESET = load_ruleset()


def rulesets(year):
    return RULESET if year == YEAR else None


def clock():
    return dt.datetime.now(dt.UTC)


def lines():
    bad = json.loads(registered("A-4"))
    bad["data"]["nationality"] = "pakistan"
    return [
        registered("A-1") + b"\n",
        registered("A-2"),
        b"",
        json.dumps(bad).encode() + b"\r\n",
        posted("V-1", capacity=1),
        round_requested("R-1"),
        registered("A-3"),
        withdrawn("A-2", version=2),
        posted("V-2", capacity=2),
        round_requested("R-2"),
        round_requested("R-3", year=2031),
    ]


def comparable(bodies):
    docs = [json.loads(b) for b in bodies]
    for doc in docs:
        doc["data"].pop("solve_seconds", None)
        doc["data"].pop("received_at", None)
        doc.pop("time") if doc["id"].startswith("dlq-") else None
    return docs


def test_offline_output_equals_the_outbox_of_a_service_run(tmp_path):
    offline = run_offline(lines(), rulesets, None, clock, GreedySolver(), batch_size=3)
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine)
    intake = Intake(engine, rulesets, clock, GreedySolver())
    for line in lines():
        if line.strip():
            intake.process([Inbound(None, line.strip())])
    service = [row.body for row in pending(engine, limit=None)]
    ids = [json.loads(b)["id"] for b in offline]
    assert ids[0].startswith("dlq-") and ids[1:] == [
        "placement-R-1-A-1",
        "unplaced-R-1-A-2",
        "round-completed-R-1",
        "placement-R-2-A-3",
        "unplaced-R-2-A-1",
        "round-completed-R-2",
        "round-failed-R-3",
    ]
    assert comparable(offline) == comparable(service)


def test_an_offline_extra_round_runs_after_the_file_with_a_deterministic_id_and_time():
    extra = RoundRequested(round_id="X-1", program_year=YEAR, period="summer")
    first = run_offline(lines()[:5], rulesets, extra, clock, GreedySolver())
    again = run_offline(lines()[:5], rulesets, extra, clock, GreedySolver())
    completed = json.loads(first[-1])
    assert completed["id"] == "round-completed-X-1" and completed["data"]["placed"] == 1
    assert completed["time"] == json.loads(posted("V-1"))["time"]
    assert comparable(first) == comparable(again)


def test_a_corrected_dead_letter_is_applied_and_marked_resubmitted(engine, intake):
    bad = json.loads(registered("A-1"))
    bad["data"]["courses"] = []
    intake.process([Inbound("jip.applicant.registered", json.dumps(bad).encode())])
    (letter,) = list_dead_letters(engine)
    assert letter.errors[0]["loc"] == "data.courses" and letter.original_id == "reg-A-1-1"
    outcome = resubmit(intake, letter.id, registered("A-1"))
    assert outcome.accepted == 1 and list_dead_letters(engine) == []
    (marked,) = list_dead_letters(engine, include_resubmitted=True)
    assert marked.resubmitted_at is not None
    with pytest.raises(UnknownDeadLetter):
        resubmit(intake, letter.id, registered("A-1", version=2))


def test_a_still_invalid_correction_changes_nothing(engine, intake):
    intake.process([Inbound(None, b"{}")])
    (letter,) = list_dead_letters(engine)
    with pytest.raises(ContractError):
        resubmit(intake, letter.id, b'{"type": "jip.applicant.registered.v1"}')
    assert list_dead_letters(engine) == [letter]
