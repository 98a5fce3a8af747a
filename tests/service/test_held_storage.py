"""Held messages are stored as delivered, whatever their bodies hold (any bytes: NUL, invalid
UTF-8, a contract-sized blob), on SQLite and PostgreSQL: read back equal, oldest first, a
redelivered one kept once, and a batch that applies them deletes them (generated bodies)."""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from contracts import INBOUND_KINDS, subject_of
from services.intake.apply import Inbound
from services.intake.held import HeldInbound
from services.intake.inbox import forget_held
from tests.service.offer_support import engine as engine  # fixtures
from tests.service.offer_support import pg_url as pg_url

SUBJECTS = [subject_of(kind) for kind in INBOUND_KINDS]


@pytest.fixture
def held(engine: Engine) -> Iterator[HeldInbound]:
    yield HeldInbound(engine, batch_size=7)


def _empty(db: Engine) -> None:
    with db.begin() as connection:
        connection.execute(text("DELETE FROM held_inbound"))


bodies = st.one_of(st.binary(max_size=2048), st.just(b"\x00" * 300_000), st.just(b"\xff\xfe"))
messages = st.lists(st.tuples(st.sampled_from(SUBJECTS), bodies), min_size=1, max_size=20)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages, st.data())
def test_held_messages_come_back_as_delivered_oldest_first(
    held: HeldInbound, stored: list[tuple[str, bytes]], data: st.DataObject
) -> None:
    _empty(held.engine)
    seqs = data.draw(st.permutations(range(1, len(stored) + 1)))
    batch = [Inbound(s, b, q) for (s, b), q in zip(stored, seqs, strict=True)]
    held.store(batch)
    held.store(batch[: len(batch) // 2])  # delivered again after a consumer reset: kept once
    held.store([])

    expected = sorted(batch, key=lambda m: m.stream_seq or 0)
    read: list[Inbound] = []
    while part := held.oldest():
        assert all(m.held for m in part) and len(part) <= held.batch_size
        read.extend(part)
        with held.engine.begin() as connection:
            forget_held(connection, [m.stream_seq for m in part])
    assert [(m.stream_seq, m.subject, m.body) for m in read] == [
        (m.stream_seq, m.subject, m.body) for m in expected
    ]
    assert not held.waiting()


def test_only_stream_messages_are_held(held: HeldInbound) -> None:
    with pytest.raises(ValueError, match="stream sequence"):
        held.store([Inbound(None, b"{}", None)])
    assert not held.waiting()
