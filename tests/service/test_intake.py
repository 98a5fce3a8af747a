"""Intake on SQLite: dedupe, newest version wins, dead letters, and event order."""

import hashlib
import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.outbound.outbox import pending
from services.store.tables import ApplicantRow, DeadLetterRow, EventLogRow, VacancyRow
from tests.support.inbound_events import closed, posted, registered, round_requested, withdrawn


def feed(intake: Intake, *bodies: bytes):
    return intake.process([Inbound(None, b, stream_seq=i) for i, b in enumerate(bodies, 1)])


def applicant(engine: Engine, applicant_id: str) -> ApplicantRow | None:
    with engine.connect() as c:
        row = c.execute(select(ApplicantRow).where(ApplicantRow.applicant_id == applicant_id))
        return row.one_or_none()


def test_a_repeated_source_and_id_is_skipped_within_and_across_batches(intake, engine):
    first = feed(intake, registered("A-1"), registered("A-1"))
    second = feed(intake, registered("A-1"))
    assert (first.accepted, first.duplicate, second.accepted, second.duplicate) == (1, 1, 0, 1)
    with engine.connect() as c:
        assert len(c.execute(select(EventLogRow)).all()) == 1


def test_the_same_id_from_another_source_is_a_different_event(intake):
    other = registered("A-1", version=2, event_id="reg-A-1-1")
    outcome = feed(intake, registered("A-1"), other.replace(b"/applicant-portal", b"/other"))
    assert outcome.accepted == 2


def test_stale_and_equal_versions_change_nothing_and_are_not_rejected(intake, engine):
    feed(intake, registered("A-1", version=3, courses=["C"]))
    outcome = feed(
        intake,
        registered("A-1", version=2, courses=["B"]),
        registered("A-1", version=3, event_id="again", courses=["B"]),
    )
    assert (outcome.stale, outcome.rejected, outcome.accepted) == (2, 0, 0)
    row = applicant(engine, "A-1")
    assert row.version == 3 and row.payload["courses"] == ["C"]


def test_a_withdrawal_then_an_older_registration_stays_withdrawn(intake, engine):
    feed(intake, registered("A-1", version=1), withdrawn("A-1", version=2))
    outcome = feed(intake, registered("A-1", version=1, event_id="late-copy"))
    row = applicant(engine, "A-1")
    assert outcome.stale == 1
    assert row.withdrawn and row.version == 2 and row.payload["applicant_id"] == "A-1"


def test_a_withdrawal_of_an_unknown_applicant_is_kept_without_payload(intake, engine):
    feed(intake, withdrawn("A-9", version=4))
    feed(intake, registered("A-9", version=3))
    row = applicant(engine, "A-9")
    assert row.withdrawn and row.version == 4 and row.payload is None


def test_a_newer_registration_after_a_withdrawal_rejoins(intake, engine):
    feed(intake, registered("A-1", version=1), withdrawn("A-1", version=2))
    feed(intake, registered("A-1", version=3, courses=["C"]))
    row = applicant(engine, "A-1")
    assert not row.withdrawn and row.payload["courses"] == ["C"]


def test_a_vacancy_closure_is_a_version_like_any_other(intake, engine):
    feed(intake, posted("V-1", version=1), closed("V-1", version=2), posted("V-1", version=2))
    with engine.connect() as c:
        row = c.execute(select(VacancyRow)).one()
    assert row.closed and row.version == 2 and row.program_year == 2023


def test_a_malformed_event_becomes_a_dead_letter_and_the_rest_of_the_batch_applies(intake, engine):
    bad = json.loads(registered("A-2"))
    bad["data"]["date_of_birth"] = "17/04/2001"
    raw = json.dumps(bad).encode()
    outcome = feed(intake, registered("A-1"), raw, registered("A-3"))
    assert (outcome.accepted, outcome.rejected) == (2, 1)
    assert applicant(engine, "A-3") is not None and applicant(engine, "A-2") is None
    with engine.connect() as c:
        dead = c.execute(select(DeadLetterRow)).one()
    assert dead.subject == "jip.applicant.registered" and dead.original_id == "reg-A-2-1"
    assert [e["loc"] for e in dead.errors] == ["data.date_of_birth"]
    (dlq,) = pending(intake.engine)
    event = json.loads(dlq.body)
    assert dlq.subject == "jip.dlq.applicant.registered"
    assert event["data"]["errors"][0]["loc"] == "data.date_of_birth"
    assert event["type"] == "jip.dlq.applicant.registered.v2" and event["id"].startswith("dlq-")
    assert event["data"]["original_source"] == "/applicant-portal"
    assert event["data"]["sha256"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert event["data"]["size_bytes"] == len(raw) and "raw" not in event["data"]
    assert dead.raw == raw.decode()


def test_an_undecodable_body_is_dead_lettered_with_replacement_characters(intake, engine):
    outcome = feed(intake, b"\xff\xfe{not json\x00")
    (dlq,) = pending(engine)
    data = json.loads(dlq.body)["data"]
    assert outcome.rejected == 1 and dlq.subject == "jip.dlq.unknown"
    assert data["errors"][0]["loc"] == "body" and data["original_id"] is None
    with engine.connect() as c:
        assert c.execute(select(DeadLetterRow.raw)).scalar_one() == "\ufffd\ufffd{not json\ufffd"


def test_the_same_malformed_body_twice_gives_one_dead_letter_id(intake, engine):
    outcome = feed(intake, b"[]", b"[]")
    feed(intake, b"[]")
    assert outcome.rejected == 2 and len(pending(engine)) == 1


def test_a_body_on_the_wrong_subject_is_rejected(intake):
    outcome = intake.process([Inbound("jip.vacancy.posted", registered("A-1"))])
    assert (outcome.rejected, outcome.accepted) == (1, 0)


def test_the_event_log_keeps_accepted_events_in_order_with_stream_sequence(intake, engine):
    feed(intake, registered("A-2"), b"{}", registered("A-1"), round_requested("R-1"))
    with engine.connect() as c:
        rows = c.execute(select(EventLogRow).order_by(EventLogRow.seq)).all()
    assert [(r.event_id, r.stream_seq) for r in rows] == [
        ("reg-A-2-1", 1),
        ("reg-A-1-1", 3),
        ("rr-R-1", 4),
    ]
    assert rows[0].subject == "jip.applicant.registered"


def test_a_database_error_rolls_the_whole_batch_back_and_propagates(engine):
    def lost_connection(snapshot):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    intake = Intake(
        engine, lambda year: None if year != 2023 else load_ruleset(), lambda: None, lost_connection
    )
    with pytest.raises(OperationalError):
        feed(intake, registered("A-1"), round_requested("R-1"))
    assert applicant(engine, "A-1") is None and pending(engine) == []
    with engine.connect() as c:
        assert c.execute(select(DeadLetterRow)).all() == []


def test_an_oversized_body_is_dead_lettered_with_its_raw_text_cut_at_the_limit(intake, engine):
    huge = b'{"pad": "' + b"x" * (300 * 1024) + b'"}'
    outcome = feed(intake, huge)
    (dlq,) = pending(engine)
    data = json.loads(dlq.body)["data"]
    assert outcome.rejected == 1 and data["size_bytes"] == len(huge) and len(dlq.body) < 2048
    with engine.connect() as c:
        assert c.execute(select(DeadLetterRow.raw)).scalar_one() == huge[: 256 * 1024].decode()
