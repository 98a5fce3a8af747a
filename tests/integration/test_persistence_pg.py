"""Persistence, intake, rounds and offline equivalence on a real PostgreSQL.

The server is the suite's (`postgres_url` in tests/conftest.py); this module creates its own
throwaway database and drops it at the end.
"""

import datetime as dt
import json
from collections.abc import Iterator
from threading import Barrier, Thread

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.ops.offline import run_offline
from services.outbound.outbox import mark_sent, pending
from services.rounds.offers import offer_updates_statements, touched_statements
from services.store.db import make_engine, migrate
from services.store.tables import ApplicantRow, DeadLetterRow, EventLogRow, PlacementRow
from tests.support.databases import throwaway_database
from tests.support.inbound_events import (
    YEAR,
    GreedySolver,
    posted,
    registered,
    round_requested,
    withdrawn,
)

pytestmark = pytest.mark.integration

RULESET = load_ruleset()
TABLES = (
    "applicants, vacancies, event_log, inbox, dead_letters, rounds, placements, outbox, "
    "placement_answers, calendar_rounds, service_lease, held_inbound"
)


def rulesets(year):
    return RULESET if year == YEAR else None


def now():
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> Iterator[str]:
    """A throwaway database on the suite's PostgreSQL, shared by this module's tests."""
    with throwaway_database(postgres_url, prefix="im_t") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY"))
    yield engine
    engine.dispose()


def failed(event_id: str, reason: str):
    """A round.failed event: the simplest outbound event, for outbox tests."""
    from contracts import SERVICE_SOURCE, Kind, RoundFailed, make_event

    data = RoundFailed(round_id=event_id, reason=reason)
    return make_event(Kind.ROUND_FAILED, event_id, data, now(), SERVICE_SOURCE, None)


def feed(intake, *bodies):
    return intake.process([Inbound(None, b) for b in bodies])


def test_migrating_twice_leaves_every_table_in_place(engine):
    migrate(engine)
    names = set(inspect(engine).get_table_names())
    assert {"alembic_version", *TABLES.split(", ")} == names


def test_duplicates_stale_versions_and_withdrawals_on_postgresql(engine):
    intake = Intake(engine, rulesets, now, GreedySolver())
    feed(intake, registered("A-1", version=1), withdrawn("A-1", version=2))
    outcome = feed(intake, registered("A-1"), registered("A-1", version=2, event_id="x"))
    with engine.connect() as c:
        row = c.execute(select(ApplicantRow)).one()
    assert (outcome.duplicate, outcome.stale, outcome.accepted) == (1, 1, 0)
    assert row.withdrawn and row.version == 2 and row.payload["applicant_id"] == "A-1"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t), max_size=4),
    indent=st.sampled_from([None, 0, 2, "\t"]),
)
def test_the_event_log_keeps_each_body_as_it_came_on_postgresql(engine, names, indent):
    """The log's bodies go as one binary text array in the batch's write pipeline: a body
    laid out over lines, with quotes, backslashes or any other character, is logged as sent,
    and in order."""
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY"))
    bodies = []
    for n, name in enumerate(["A", *names]):
        event = json.loads(registered(f"A-{n}"))
        event["data"]["given_name"] = name
        bodies.append(json.dumps(event, indent=indent, ensure_ascii=n % 2 == 0).encode())
    outcome = feed(Intake(engine, rulesets, now, GreedySolver()), *bodies)
    with engine.connect() as c:
        logged = c.execute(select(EventLogRow.body).order_by(EventLogRow.seq)).scalars().all()
    assert outcome.accepted == len(bodies)
    assert logged == [b.decode() for b in bodies]


def test_a_batch_finds_its_offers_by_key_not_by_reading_every_placement(engine):
    """Behind 30,000 placements (statistics fresh), the intake's read of the offers a batch
    touches and its update of their rows use the placements' indexes: a plan that reads the
    whole table costs every batch of answers more as the year's placements grow."""
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO rounds (round_id, ordinal, program_year, period, mode, dry_run, status, "
            "final_event_id) VALUES ('R-1', 1, 2023, 'summer', 'optimal', false, 'optimal', 'e')"
        ))  # fmt: skip
        c.execute(text(
            "INSERT INTO placements (round_id, applicant_id, program_year, period, vacancy_id, "
            "course, state) SELECT 'R-1', 'A-' || n, 2023, 'summer', 'V-' || (n % 3000), 'B', "
            "'proposed' FROM generate_series(1, 30000) AS n"
        ))  # fmt: skip
        c.execute(text("ANALYZE placements"))
    answered = {f"A-{n}" for n in range(100, 400)}
    updates = {("R-1", a): {"state": "confirmed"} for a in answered}
    statements = [
        *touched_statements({"A-7"}, {"V-9"}, answered),
        *offer_updates_statements(updates),
    ]
    with engine.begin() as c:
        driver = c.connection.driver_connection
        plans = []
        for sql, params in statements:
            cursor = driver.execute(sql if sql.startswith("SET") else f"EXPLAIN {sql}", params)
            rows = cursor.fetchall() if cursor.description else []
            plans.append("\n".join(str(row[0]) for row in rows))
        c.rollback()
    touched_plan, update_plan = plans[1], plans[5]
    assert "placements" in touched_plan and "Seq Scan on placements" not in touched_plan
    assert "Index Scan" in update_plan and "Seq Scan on placements" not in update_plan


def test_a_body_with_nul_and_invalid_utf8_is_dead_lettered_on_postgresql(engine):
    intake = Intake(engine, rulesets, now, GreedySolver())
    outcome = feed(intake, b'{"id": "x\x00\xff"}', registered("A-1"))
    with engine.connect() as c:
        dead = c.execute(select(DeadLetterRow)).one()
    assert (outcome.rejected, outcome.accepted) == (1, 1)
    assert dead.raw == '{"id": "x\ufffd\ufffd"}' and dead.errors[0]["loc"] == "body"


def test_a_repeated_round_id_writes_no_new_placements_on_postgresql(engine):
    solver = GreedySolver()
    intake = Intake(engine, rulesets, now, solver)
    feed(intake, registered("A-1"), posted("V-1", capacity=3), round_requested("R-1"))
    mark_sent(engine, [r.seq for r in pending(engine)])
    feed(intake, registered("A-2"), round_requested("R-1", event_id="again"))
    with engine.connect() as c:
        placed = c.execute(select(PlacementRow.applicant_id)).scalars().all()
    assert placed == ["A-1"] and len(solver.seen) == 1
    assert [r.event_id for r in pending(engine)] == ["round-completed-R-1"]


def test_concurrent_deliveries_of_one_event_apply_it_once(engine):
    intakes = [Intake(make_engine(engine.url), rulesets, now, GreedySolver()) for _ in range(2)]
    start, outcomes = Barrier(2), []

    def deliver(intake):
        start.wait()
        outcomes.append(feed(intake, registered("A-1"), registered("A-2")))

    threads = [Thread(target=deliver, args=(i,)) for i in intakes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((o.accepted, o.duplicate) for o in outcomes) == [(0, 2), (2, 0)]


def test_a_database_outage_raises_instead_of_dead_lettering():
    intake = Intake(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none"), rulesets, now)
    with pytest.raises(OperationalError):
        feed(intake, registered("A-1"))


def service_run(engine, lines, solver):
    intake = Intake(engine, rulesets, now, solver)
    for line in lines:
        intake.process([Inbound(json_subject(line), line)])
    return [row.body for row in pending(engine, limit=None)]


def json_subject(line):
    try:
        return json.loads(line)["type"].removesuffix(".v1")
    except (ValueError, KeyError):
        return None


def comparable(bodies):
    docs = [json.loads(b) for b in bodies]
    for doc in docs:
        doc["data"].pop("solve_seconds", None)
        if doc["id"].startswith("dlq-"):
            doc["data"].pop("received_at")
            doc.pop("time")
    return docs


def file_lines():
    bad = json.loads(registered("A-5"))
    bad["data"]["courses"] = ["Z"]
    return [
        registered("A-1"),
        registered("A-2", courses=["B", "C"]),
        registered("A-3", nationality="CN"),
        json.dumps(bad).encode(),
        posted("V-1", capacity=1),
        posted("V-2", slots=[{"course": "C", "capacity": 2}]),
        round_requested("R-1", mode="stable"),
        registered("A-4"),
        withdrawn("A-2", version=2),
        registered("A-1"),
        round_requested("R-2", mode="optimal"),
        round_requested("R-1", event_id="repeat"),
        round_requested("R-9", year=2031),
    ]


def test_offline_output_equals_the_outbox_of_a_service_run_on_postgresql(engine):
    offline = run_offline(file_lines(), rulesets, None, now, batch_size=4)
    online = service_run(engine, file_lines(), None)
    kinds = [json.loads(b)["type"] for b in offline]
    assert kinds.count("jip.round.completed.v1") == 2 and "jip.placement.made.v1" in kinds
    assert comparable(offline) == comparable(online)


def test_the_outbox_keeps_event_order_and_an_id_it_holds_on_postgresql(engine):
    """One INSERT .. SELECT for a whole round: `seq` must follow the events' order (the relay
    publishes by it), not the ids' order, and an id already there is kept as it was."""
    from services.outbound.outbox import enqueue

    with engine.begin() as connection:
        enqueue(connection, [failed(i, "first") for i in ("z-3", "a-1", "m-2")])
        enqueue(connection, [failed("a-1", "second"), failed("b-4", "first")])
    rows = pending(engine, limit=None)
    assert [r.event_id for r in rows] == ["z-3", "a-1", "m-2", "b-4"]
    assert all(json.loads(r.body)["data"]["reason"] == "first" for r in rows)


@pytest.mark.parametrize("held", [None, 7, 1_499])
def test_a_round_sized_enqueue_keeps_event_order_and_an_id_it_holds(engine, held):
    """A round's events go by COPY: `seq` must still follow the events' order, and when one id
    is in the outbox already (COPY refuses the whole batch) the others are still written, in
    order, and the one held is kept as it was."""
    from services.outbound.outbox import ANALYZE_FROM, enqueue

    ids = [f"e-{(i * 7919) % 1_500:04d}" for i in range(1_500)]  # not in id order
    assert len(ids) > ANALYZE_FROM and len(set(ids)) == len(ids)
    if held is not None:
        with engine.begin() as connection:
            enqueue(connection, [failed(ids[held], "first")])
    with engine.begin() as connection:
        enqueue(connection, [failed(i, "second") for i in ids], round_id="R-1")
    rows = pending(engine, limit=None)
    expected = ids if held is None else [ids[held]] + [i for i in ids if i != ids[held]]
    assert [r.event_id for r in rows] == expected
    reasons = {r.event_id: json.loads(r.body)["data"]["reason"] for r in rows}
    assert all(reasons[i] == ("first" if n == held else "second") for n, i in enumerate(ids))


def test_the_relay_reads_a_round_sized_backlog_by_the_pending_index(postgres_url: str):
    """After a round's events are enqueued, each batch the relay reads must come from the
    ordered scan of the pending index, not from reading and sorting every pending row (what
    PostgreSQL plans with statistics that know of no pending rows: quadratic over a backlog)."""
    from services.outbound.outbox import ANALYZE_FROM, enqueue, pending_query

    events = [failed(f"R-{i}", "x" * 500) for i in range(ANALYZE_FROM * 5)]
    with throwaway_database(postgres_url, prefix="im_plan") as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            with engine.begin() as connection:
                enqueue(connection, events)
            query = pending_query(500, 10).compile(engine, compile_kwargs={"literal_binds": True})
            with engine.connect() as connection:
                plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {query}"))
        finally:
            engine.dispose()
    assert "Index Scan using ix_outbox_pending" in plan, plan
    assert "Sort" not in plan, plan


def test_a_round_leaves_the_planner_knowing_its_placements(engine):
    """Each batch of answers updates placements joined to a list of keys. With statistics that
    still count the placements from before the round (analyzed while the table was small),
    PostgreSQL hashes the whole table per batch: 7 ms per batch of 500 answers behind 28,691
    placements against 0.5 ms by the key once it knows (scripts/bench_offers), growing with the
    year. So the round that stores many placements refreshes the table's statistics."""
    from services.outbound.outbox import ANALYZE_FROM

    intake = Intake(engine, rulesets, now, GreedySolver())
    feed(intake, posted("V-0", capacity=10), registered("A-x0"), round_requested("R-small"))
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE placements")  # what autovacuum does to a small table
    count = ANALYZE_FROM * 2
    year = [posted(f"V-{v}", capacity=20) for v in range(1, count // 20 + 2)]
    year += [registered(f"A-{a:05}") for a in range(count)]
    feed(intake, *year, round_requested("R-big"))
    with engine.connect() as connection:
        placed = connection.exec_driver_sql("SELECT count(*) FROM placements").scalar_one()
        plan = connection.exec_driver_sql("EXPLAIN SELECT * FROM placements").scalar_one()
    assert placed > count, placed  # the round is as large as the case needs
    estimated = int(plan.split(" rows=")[1].split()[0])
    assert estimated >= placed * 0.9, plan
