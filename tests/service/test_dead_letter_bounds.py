"""A published dead letter (`jip.dlq.<kind>.v2`) is bounded and carries no part of the body,
whatever was sent: valid against its JSON Schema, far below the broker's 1 MiB, at most 20
errors of at most 200 characters, with the body only in the dead-letter table (issue 11, 3 and 5).

Drives the real intake on SQLite and reads the event it queued in the outbox.
"""

import hashlib
import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from contracts.schema import json_schemas
from matching.ruleset import load_ruleset
from services.intake.apply import Inbound, Intake
from services.outbound.outbox import pending
from services.store.db import make_engine, migrate
from services.store.tables import DeadLetterRow
from tests.support.inbound_events import YEAR, registered

BROKER_MAX_PAYLOAD = 1024 * 1024
DLQ_SCHEMA = json_schemas()["jip.dlq.v2"]
CANARY = "Zq7Canary"
"""Planted in every hostile body where the envelope cannot carry it (a name, unknown fields)."""


def dead_letter_of(body: bytes, subject: str | None = None) -> tuple[bytes, DeadLetterRow]:
    """The dead-letter event the intake queues for `body`, and the row it stores."""
    engine = make_engine("sqlite:///:memory:")
    migrate(engine)
    ruleset = load_ruleset()
    intake = Intake(engine, lambda y: ruleset if y == YEAR else None, _received, lambda s: None)
    try:
        outcome = intake.process([Inbound(subject, body, stream_seq=1)])
        assert outcome.rejected == 1
        (row,) = pending(engine)
        with engine.connect() as c:
            stored = c.execute(select(DeadLetterRow)).one()
        return row.body, stored
    finally:
        engine.dispose()


def _received() -> Any:
    import datetime as dt

    return dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)


def assert_bounded(event_body: bytes, sent: bytes) -> dict[str, Any]:
    assert len(event_body) <= BROKER_MAX_PAYLOAD
    assert len(event_body) <= 64 * 1024  # the bound the README promises (about 50 KB at most)
    event = json.loads(event_body)
    jsonschema.validate(event, DLQ_SCHEMA)
    data = event["data"]
    assert "raw" not in data and CANARY not in event_body.decode()
    assert len(data["errors"]) <= 20
    assert all(len(e["loc"]) <= 200 and len(e["msg"]) <= 200 for e in data["errors"])
    assert data["size_bytes"] == len(sent)
    assert data["sha256"] == "sha256:" + hashlib.sha256(sent).hexdigest()
    return data


def test_a_256_kib_body_of_0x01_bytes_gives_a_small_dead_letter_without_the_body() -> None:
    """Issue 11, item 3: each 0x01 was JSON-escaped as \\u0001, a 1.57 MB event."""
    body = b"\x01" * (256 * 1024)
    event_body, stored = dead_letter_of(body, "jip.applicant.registered")
    data = assert_bounded(event_body, body)
    assert "\\u0001" not in event_body.decode() and len(event_body) < 2048
    assert data["original_subject"] == "jip.applicant.registered"
    assert stored.raw == body.decode()  # operators still have the whole body


def test_a_body_with_thousands_of_errors_lists_twenty_and_says_it_cut() -> None:
    doc = json.loads(registered("A-1"))
    doc["data"]["preferences"] = [{"not": "an id"}] * 200
    doc["data"]["given_name"] = CANARY
    body = json.dumps(doc).encode()
    event_body, stored = dead_letter_of(body)
    data = assert_bounded(event_body, body)
    assert data["errors_truncated"] is True and len(data["errors"]) == 20
    assert data["original_id"] == "reg-A-1-1" and data["original_source"] == "/applicant-portal"
    assert len(stored.errors) == 200  # the table keeps every error


def test_a_long_type_with_control_characters_gives_messages_cut_at_200() -> None:
    doc = json.loads(registered("A-1"))
    doc["type"] = "\x01\x1b]8;;" * 5000
    doc["data"]["given_name"] = CANARY
    body = json.dumps(doc).encode()
    data = assert_bounded(dead_letter_of(body)[0], body)
    assert data["errors"][0]["loc"] == "type" and len(data["errors"][0]["msg"]) <= 200


_hostile_text = st.text(
    alphabet=st.sampled_from(["\x00", "\x01", "\x1b", "\u2028", "\ud800", "\\", '"', "x", "é"]),
    max_size=300,
)
_values = st.one_of(
    _hostile_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.lists(_hostile_text, max_size=50),
    st.builds(lambda n, s: [s] * n, st.integers(0, 30_000), _hostile_text),
)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """A registration with fields replaced and unknown fields added, up to about 256 KiB."""
    doc = json.loads(registered("A-1"))
    data = doc["data"]
    data["given_name"] = CANARY
    for i in range(draw(st.integers(0, 2000))):
        data[f"{CANARY}-{i}"] = CANARY
    data["padding"] = "\x01" * draw(st.integers(0, 256 * 1024 // 6))
    for _ in range(draw(st.integers(0, 5))):
        target = draw(st.sampled_from([data, doc]))  # doc["data"] may be replaced too
        key = draw(st.sampled_from([*list(target)[:30], "x" * 300, "\x01\ud800", "unknown"]))
        target[key] = draw(_values)
    body = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    return body[: draw(st.sampled_from([len(body), 256 * 1024, 300 * 1024, len(body) // 2]))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=hostile_bodies(), subject=st.sampled_from([None, "jip.applicant.registered"]))
def test_any_hostile_body_gives_a_bounded_dead_letter_without_its_body(
    body: bytes, subject: str | None
) -> None:
    engine = make_engine("sqlite:///:memory:")
    migrate(engine)
    ruleset = load_ruleset()
    intake = Intake(engine, lambda y: ruleset if y == YEAR else None, _received, lambda s: None)
    try:
        outcome = intake.process([Inbound(subject, body, stream_seq=1)])
        rows = pending(engine)
    finally:
        engine.dispose()
    if outcome.rejected == 0:
        return  # some mutations leave a valid event: nothing to check here
    (row,) = rows
    assert_bounded(row.body, body)
