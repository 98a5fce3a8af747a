"""Until the service applies answers to offers, a valid `jip.placement.responded` is a dead
letter saying so: it changes nothing, stops nothing, and is not spent (a later resubmit runs)."""

import datetime as dt
import json
import pickle

from sqlalchemy import Engine, select

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.intake.errors import NotHandledYetError
from services.intake.parsing import parse_one
from services.ops.offline import run_offline
from services.outbound.outbox import pending
from services.store.tables import DeadLetterRow, EventLogRow, InboxRow
from tests.support.inbound_events import (
    YEAR,
    GreedySolver,
    posted,
    registered,
    responded,
    round_requested,
)


def test_a_valid_answer_is_parsed_into_a_picklable_not_handled_yet_rejection() -> None:
    answer = parse_one("jip.placement.responded", responded("R-1/A-1", "applicant", "declined"))
    assert isinstance(answer, NotHandledYetError)
    assert [e.loc for e in answer.errors] == ["type"]
    assert "placement answers are not handled yet" in answer.errors[0].msg
    assert (answer.original_id, answer.original_source) == (
        "answer-R-1-A-1-applicant-declined",
        "/sme",
    )
    assert answer.subject == "jip.placement.responded"
    copy = pickle.loads(pickle.dumps(answer))  # crosses the parsing worker's pipe
    assert type(copy) is NotHandledYetError and copy.errors == answer.errors


def test_an_invalid_answer_is_rejected_on_its_field_not_as_not_handled_yet() -> None:
    bad = json.loads(responded("R-1/A-1"))
    bad["data"]["party"] = "landlord"
    answer = parse_one("jip.placement.responded", json.dumps(bad).encode())
    assert not isinstance(answer, NotHandledYetError)
    assert [e.loc for e in answer.errors] == ["data.party"]  # type: ignore[union-attr]


def test_an_answer_among_other_events_is_one_dead_letter_and_the_rest_applies(
    intake: Intake, engine: Engine
) -> None:
    batch = [
        registered("A-1"),
        posted("V-1", capacity=1),
        responded("R-0/A-1", "host", "accepted"),
        round_requested("R-1"),
    ]
    outcome = intake.process([Inbound(None, b, stream_seq=i) for i, b in enumerate(batch, 1)])
    assert (outcome.accepted, outcome.rejected, outcome.rounds) == (3, 1, ["R-1"])
    with engine.connect() as c:
        dead = c.execute(select(DeadLetterRow)).one()
        logged = c.execute(select(EventLogRow.event_id).order_by(EventLogRow.seq)).scalars()
        assert list(logged) == ["reg-A-1-1", "post-V-1-1", "rr-R-1"]
        inbox = c.execute(select(InboxRow.event_id)).scalars().all()
    assert "answer-R-0-A-1-host-accepted" not in inbox  # not spent: a resubmit is applied later
    assert (
        dead.subject == "jip.placement.responded"
        and dead.original_id == "answer-R-0-A-1-host-accepted"
    )
    assert [e["loc"] for e in dead.errors] == ["type"]
    assert "not handled yet" in dead.errors[0]["msg"]
    letters = [json.loads(m.body) for m in pending(engine) if m.subject.startswith("jip.dlq.")]
    assert [(d["type"], d["data"]["original_source"]) for d in letters] == [
        ("jip.dlq.placement.responded.v2", "/sme")
    ]


def test_an_answer_in_an_offline_file_is_a_dead_letter_and_the_round_still_runs() -> None:
    ruleset = load_ruleset()
    lines = [registered("A-1"), posted("V-1"), responded("R-0/A-1"), round_requested("R-1")]
    bodies = [json.loads(b) for b in run_offline(
        lines,
        lambda year: ruleset if year == YEAR else None,
        None,
        lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        GreedySolver(),
    )]  # fmt: skip
    types = [b["type"] for b in bodies]
    assert types.count("jip.dlq.placement.responded.v2") == 1
    assert "jip.round.completed.v1" in types
