"""Offline rounds equal the service's outbox; dead letters can be listed and resubmitted."""

import asyncio
import datetime as dt
import json

import pytest

from contracts import (
    SERVICE_SOURCE,
    ContractError,
    Kind,
    PlacementMade,
    RoundFailed,
    RoundRequested,
    make_event,
    to_json_bytes,
)
from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.ops.deadletters import list_dead_letters, resubmit
from services.ops.errors import NotResubmittable, UnknownDeadLetter
from services.ops.offline import run_offline
from services.outbound.outbox import pending
from services.store.db import make_engine, migrate
from tests.support.inbound_events import (
    T0,
    YEAR,
    GreedySolver,
    posted,
    registered,
    round_requested,
    withdrawn,
)

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


class FakeBroker:
    """Records what resubmission publishes; the real broker is in tests/integration."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str]] = []

    async def publish(self, subject: str, body: bytes, msg_id: str) -> bool:
        duplicate = any(m == msg_id for _, _, m in self.sent)
        self.sent.append((subject, body, msg_id))
        return duplicate


def _resubmit(engine, broker: FakeBroker, letter_id: str, body: bytes):
    clock = lambda: dt.datetime(2026, 11, 26, tzinfo=dt.UTC)  # noqa: E731
    return asyncio.run(resubmit(engine, broker.publish, letter_id, body, clock))


def test_a_corrected_dead_letter_is_published_not_applied_and_marked_resubmitted(engine, intake):
    """Issue 11, item 12: resubmit applied the body to the database, past the stream."""
    bad = json.loads(registered("A-1"))
    bad["data"]["courses"] = []
    intake.process([Inbound("jip.applicant.registered", json.dumps(bad).encode())])
    (letter,) = list_dead_letters(engine)
    assert letter.errors[0]["loc"] == "data.courses" and letter.original_id == "reg-A-1-1"
    broker = FakeBroker()
    done = _resubmit(engine, broker, letter.id, registered("A-1"))  # the same id as the original
    assert broker.sent == [("jip.applicant.registered", registered("A-1"), f"resubmit-{letter.id}")]
    assert (done.event_id, done.duplicate) == ("reg-A-1-1", False)
    with engine.connect() as c:  # the intake applies it when it comes from the stream
        assert c.exec_driver_sql("SELECT count(*) FROM applicants").scalar_one() == 0
    (marked,) = list_dead_letters(engine, include_resubmitted=True)
    assert marked.resubmitted_at is not None and list_dead_letters(engine) == []
    with pytest.raises(UnknownDeadLetter):
        _resubmit(engine, broker, letter.id, registered("A-1", version=2))
    assert len(broker.sent) == 1


def test_a_still_invalid_correction_changes_nothing(engine, intake):
    intake.process([Inbound(None, b"{}")])
    (letter,) = list_dead_letters(engine)
    broker = FakeBroker()
    with pytest.raises(ContractError):
        _resubmit(engine, broker, letter.id, b'{"type": "jip.applicant.registered.v1"}')
    assert list_dead_letters(engine) == [letter] and broker.sent == []


def test_an_outbound_event_is_refused_by_name_without_a_key_error(engine, intake):
    """Issue 11, item 9: an outbound type crashed resubmit with KeyError: Kind.PLACEMENT_MADE."""
    intake.process([Inbound(None, b"{}")])
    (letter,) = list_dead_letters(engine)
    broker = FakeBroker()
    for body in (_placement_made(), _round_failed()):
        with pytest.raises(NotResubmittable, match=r"outbound event type.*only inbound"):
            _resubmit(engine, broker, letter.id, body)
    assert list_dead_letters(engine) == [letter] and broker.sent == []


def test_a_correction_whose_source_and_id_were_accepted_is_refused(engine, intake):
    """The intake would drop it as a duplicate: say so instead of publishing it."""
    intake.process([Inbound(None, registered("A-1")), Inbound(None, b"{}")])
    (letter,) = list_dead_letters(engine)
    with pytest.raises(NotResubmittable, match="new id"):
        _resubmit(engine, FakeBroker(), letter.id, registered("A-1", 2, event_id="reg-A-1-1"))
    done = _resubmit(engine, FakeBroker(), letter.id, registered("A-1", version=2))
    assert done.event_id == "reg-A-1-2"


def _placement_made() -> bytes:
    data = PlacementMade(placement_id="R/A-1", round_id="R", program_year=YEAR, period="summer",
                         applicant_id="A-1", vacancy_id="V-1", company_id="C-1", course="B",
                         course_mode="online", applicant_rank=None, vacancy_rank=None)  # fmt: skip
    event = make_event(Kind.PLACEMENT_MADE, "p-1", data, T0, SERVICE_SOURCE, None)
    return to_json_bytes(event)


def _round_failed() -> bytes:
    data = RoundFailed(round_id="R", reason="x")
    return to_json_bytes(make_event(Kind.ROUND_FAILED, "f-1", data, T0, SERVICE_SOURCE, None))
