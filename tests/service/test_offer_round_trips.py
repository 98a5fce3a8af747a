"""How many times a batch of answers waits for PostgreSQL: its reads go in one pipeline and its
writes with the fencing check in another, so the count does not grow with the kinds of rows a
batch writes. Counted on the wire, from libpq's trace of the messages the client sends."""

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from services.store.lease import Fence, try_acquire
from tests.service.offer_support import R1_AT, emptied, feed, make_intake, pg_url, states
from tests.support.inbound_events import (
    GreedySolver,
    posted,
    registered,
    responded,
    round_requested,
)

__all__ = ["pg_url"]  # fixture

ANSWER_AT = dt.datetime(2023, 4, 3, 12, tzinfo=dt.UTC)
WAITS = re.compile(r"\tF\t\d+\t(Sync|Query)\b")
"""A message after which the client waits for the server: the end of a statement (or of a
pipeline) in the extended protocol, or a simple query (BEGIN, COMMIT, a COPY)."""


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = emptied(pg_url)
    yield engine
    engine.dispose()


def waits_of(engine: Engine, trace: Path, action) -> int:
    """Run `action` with every connection it checks out traced; the waits it caused."""
    handle = trace.open("w")

    def traced(dbapi_connection, _record, _proxy):
        dbapi_connection.pgconn.trace(handle.fileno())

    event.listen(engine, "checkout", traced)
    try:
        action()
    finally:
        event.remove(engine, "checkout", traced)
        engine.dispose()  # no traced connection outlives the file
        handle.close()
    return len(WAITS.findall(trace.read_text()))


def test_a_batch_of_answers_waits_for_the_database_a_fixed_few_times(pg_engine, tmp_path):
    intake = make_intake(pg_engine, GreedySolver())
    intake.fence = Fence(idle_seconds=5)
    intake.fence.token = try_acquire(pg_engine, "a", 60)
    applicants = [f"A-{n}" for n in range(1, 7)]
    feed(intake, *(registered(a) for a in applicants), posted("V-1", capacity=6))
    feed(intake, round_requested("R-1", at=R1_AT))
    batch = [
        responded("R-1/A-1", "host", at=ANSWER_AT),
        responded("R-1/A-1", "applicant", source="/applicant-portal", at=ANSWER_AT),
        responded("R-1/A-2", "applicant", "declined", source="/applicant-portal", at=ANSWER_AT),
        responded("R-1/A-3", "host", "declined", at=ANSWER_AT),
        responded("R-1/A-4", "host", at=ANSWER_AT),
        responded("R-1/A-9", "host", at=ANSWER_AT),  # no such placement: a dead letter
    ]
    waits = waits_of(pg_engine, tmp_path / "trace", lambda: feed(intake, *batch))
    assert states(pg_engine) == {
        "R-1/A-1": ("confirmed", None),
        "R-1/A-2": ("released", "declined_by_applicant"),
        "R-1/A-3": ("released", "declined_by_host"),
        "R-1/A-4": ("proposed", None),
        "R-1/A-5": ("proposed", None),
        "R-1/A-6": ("proposed", None),
    }
    # the pool's ping, BEGIN, the reads, the dead letter, the writes with the fence, COMMIT;
    # with a round trip per statement the same batch waited 13 times
    assert waits <= 6, waits
