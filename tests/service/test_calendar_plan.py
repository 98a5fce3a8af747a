"""The calendar's table and timer on SQLite, with a fake broker and a hand-moved clock: what a
sync changes, what is due, rounds an operator already ran, requests the intake already took,
and a broker that refuses a while."""

import asyncio
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from services.rounds.calendar import CALENDAR_SOURCE, Calendars, PlannedRound
from services.rounds.plan import due_and_next, entries, mark_firing, mark_requested, sync
from services.rounds.timer import CalendarTimer
from services.store.db import make_engine, migrate
from services.store.tables import CalendarRoundRow, InboxRow, RoundRow, table_of

T0 = dt.datetime(2023, 4, 10, 1, tzinfo=dt.UTC)


def _round(round_id: str, minutes: int, period: str = "summer") -> PlannedRound:
    return PlannedRound(round_id, 2023, period, "optimal", T0 + dt.timedelta(minutes=minutes), "c")


def _plan(engine: Engine, *rounds: PlannedRound):
    with engine.begin() as connection:
        return sync(connection, Calendars(tuple(rounds)))


def _due(engine: Engine, now: dt.datetime):
    with engine.begin() as connection:
        return due_and_next(connection, now)


def test_sync_adds_re_plans_and_removes_planned_rounds_but_never_touches_a_requested_one(engine):
    report = _plan(engine, _round("a", 0), _round("b", 10), _round("c", 20))
    assert report.added == ("a", "b", "c")
    with engine.begin() as connection:
        mark_requested(connection, _round("a", 0), T0, 7)
    report = _plan(engine, _round("a", 5), _round("b", 30))
    assert (report.replanned, report.removed, report.ignored) == (("b",), ("c",), ("a",))
    with engine.connect() as connection:
        found = {e.planned.round_id: e for e in entries(connection)}
    assert found["a"].planned.at == T0 and found["a"].state == "requested"
    assert found["b"].planned.at == T0 + dt.timedelta(minutes=30)
    assert set(found) == {"a", "b"}
    assert _plan(engine).removed == ("b",)  # a requested round stays when its file drops it
    assert _plan(engine, _round("a", 0)) == type(report)()


def test_due_rounds_come_in_time_order_and_the_next_one_is_named(engine):
    _plan(engine, _round("late", 30), _round("b", 0), _round("a", 0), _round("mid", 10))
    due, upcoming = _due(engine, T0 + dt.timedelta(minutes=10))
    assert [r.round_id for r in due] == ["a", "b", "mid"]
    assert upcoming is not None and upcoming.round_id == "late"


def test_a_round_id_an_operator_already_ran_is_never_requested_and_shows_completed(engine):
    _plan(engine, _round("2023-summer-1", 0))
    with engine.begin() as connection:
        connection.execute(
            insert(table_of(RoundRow)).values(
                round_id="2023-summer-1",
                ordinal=1,
                program_year=2023,
                period="summer",
                mode="optimal",
                dry_run=False,
                status="optimal",
                final_event_id="x",
            )  # fmt: skip
        )
    assert _due(engine, T0 + dt.timedelta(days=1)) == ([], None)
    with engine.connect() as connection:
        (entry,) = entries(connection)
    assert entry.state == "completed" and "another request" in entry.detail


def test_a_request_the_intake_already_took_is_marked_requested_without_publishing(engine):
    _plan(engine, _round("a", 0))
    with engine.begin() as connection:
        connection.execute(
            insert(table_of(InboxRow)).values(source=CALENDAR_SOURCE, event_id="calendar/a")
        )
    assert _due(engine, T0 + dt.timedelta(days=1)) == ([], None)
    with engine.connect() as connection:
        assert [e.state for e in entries(connection)] == ["requested"]


class _Broker:
    """Refuses the first `refusals` publishes, then keeps every body by its Nats-Msg-Id."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.kept: dict[str, list[bytes]] = {}

    async def publish(self, subject: str, body: bytes, msg_id: str) -> int:
        assert subject == "jip.round.requested"
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("broker away")
        self.kept.setdefault(msg_id, []).append(body)
        return len(self.kept)


async def test_the_timer_waits_for_the_time_retries_a_refusing_broker_and_requests_once(engine):
    now = [T0 - dt.timedelta(seconds=1)]
    broker = _Broker(refusals=2)
    calendars = Calendars((_round("a", 0), _round("b", 60)))
    timer = CalendarTimer(engine, calendars, broker.publish, lambda: now[0], poll_seconds=0.05)
    timer.sync()
    assert timer.next_round is not None and timer.next_round.round_id == "a"
    timer.start()
    try:
        await asyncio.sleep(0.3)
        assert broker.kept == {}, "requested before its time"
        now[0] = T0 + dt.timedelta(seconds=2)
        for _ in range(100):
            if broker.kept:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
    finally:
        await timer.stop()
    assert list(broker.kept) == ["calendar/a"] and len(broker.kept["calendar/a"]) == 1
    event = json.loads(broker.kept["calendar/a"][0])
    assert event["time"] == "2023-04-10T01:00:00Z"
    assert timer.fired == ["a"]
    assert timer.next_round is not None and timer.next_round.round_id == "b"
    with engine.connect() as connection:
        states = {e.planned.round_id: (e.state, e.fired_at) for e in entries(connection)}
    assert states["a"] == ("requested", T0 + dt.timedelta(seconds=2))
    assert states["b"] == ("planned", None)


async def _run_once(timer: CalendarTimer) -> None:
    timer.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.05)
            with timer.engine.connect() as connection:
                if all(e.state != "planned" and not e.detail for e in entries(connection)):
                    return
    finally:
        await timer.stop()


@pytest.mark.parametrize("in_stream", [42, None])
async def test_a_round_left_firing_by_a_crash_is_looked_up_in_the_stream_before_publishing(
    engine, in_stream
):
    """Past the broker's 20-minute duplicate window a second copy would be stored: a round whose
    publish may have happened (marked firing, no acknowledgement recorded) is looked up first."""
    _plan(engine, _round("a", 0))
    with engine.begin() as connection:
        mark_firing(connection, _round("a", 0))
    looked_up: list[tuple[str, str]] = []

    async def find(subject: str, msg_id: str) -> int | None:
        looked_up.append((subject, msg_id))
        return in_stream

    broker = _Broker(refusals=0)
    now = T0 + dt.timedelta(hours=1)
    timer = CalendarTimer(engine, Calendars(), broker.publish, lambda: now, find=find)
    await _run_once(timer)
    assert looked_up == [("jip.round.requested", "calendar/a")]
    assert len(broker.kept.get("calendar/a", [])) == (0 if in_stream else 1)
    assert timer.fired == ([] if in_stream else ["a"])
    with engine.connect() as connection:
        seq = connection.execute(select(table_of(CalendarRoundRow).c.stream_seq)).scalar_one()
        assert [e.state for e in entries(connection)] == ["requested"]
    assert seq == (42 if in_stream else 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def either_engine(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Engine]:
    """The SQLite engine, or a migrated throwaway PostgreSQL database's."""
    if request.param == "sqlite":
        yield engine
        return
    pg = make_engine(request.getfixturevalue("fresh_database_url"))
    migrate(pg)
    yield pg
    pg.dispose()


@pytest.mark.parametrize("change", ["removed", "moved"])
async def test_a_round_removed_or_moved_by_a_sync_during_a_catch_up_is_not_requested(
    either_engine, change
):
    """Catch-up after downtime: a and b are due. While a's request is being published an
    operator's `calendar sync` (another process) removes b, or moves it a day later; b must not
    be requested at its old time."""
    a = PlannedRound("a", 2023, "summer", "stable", T0 + dt.timedelta(microseconds=123456), "c")
    _plan(either_engine, a, _round("b", 1))
    kept: dict[str, list[bytes]] = {}
    later = [a] + ([_round("b", 24 * 60)] if change == "moved" else [])

    async def publish(subject: str, body: bytes, msg_id: str) -> int:
        if not kept:  # the operator's sync lands while the first request is in flight
            await asyncio.to_thread(_plan, either_engine, *later)
        kept.setdefault(msg_id, []).append(body)
        return len(kept)

    now = T0 + dt.timedelta(hours=1)
    timer = CalendarTimer(either_engine, Calendars(), publish, lambda: now, poll_seconds=0.05)
    timer.start()
    try:
        await asyncio.sleep(0.5)
    finally:
        await timer.stop()
    assert list(kept) == ["calendar/a"], "a removed or moved round was requested"
    with either_engine.connect() as connection:
        states = {e.planned.round_id: e.state for e in entries(connection)}
    assert states == (
        {"a": "requested"} if change == "removed" else {"a": "requested", "b": "planned"}
    )


def test_a_requested_round_named_by_another_path_of_its_file_is_not_reported_as_changed(engine):
    _plan(engine, _round("a", 0))
    with engine.begin() as connection:
        mark_requested(connection, _round("a", 0), T0, 7)
    elsewhere = PlannedRound("a", 2023, "summer", "optimal", T0, "/etc/intern-match/c")
    assert _plan(engine, elsewhere) == type(_plan(engine, _round("a", 0)))()


def test_two_syncs_at_once_both_succeed_on_postgresql(fresh_database_url):
    import threading

    pg = make_engine(fresh_database_url)
    migrate(pg)
    calendars = Calendars((_round("a", 0), _round("b", 10)))
    failures: list[BaseException] = []
    try:
        with pg.begin() as first:
            sync(first, calendars)  # not committed yet

            def second() -> None:
                try:
                    with pg.begin() as connection:
                        sync(connection, calendars)
                except Exception as error:  # what the second start or sync would end in
                    failures.append(error)

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(timeout=1.0)  # its insert waits for the first transaction
        thread.join(timeout=10.0)
        with pg.connect() as connection:
            assert [e.planned.round_id for e in entries(connection)] == ["a", "b"]
    finally:
        pg.dispose()
    assert failures == []


def test_a_sync_never_removes_a_round_the_timer_requested_while_it_ran(fresh_database_url):
    from sqlalchemy import event

    pg = make_engine(fresh_database_url)
    migrate(pg)
    _plan(pg, _round("a", 0))
    try:
        with pg.begin() as connection:

            def timer_fires_first(conn, cursor, statement, *args):
                if statement.lstrip().upper().startswith("DELETE"):
                    with pg.begin() as other:  # the timer's own transaction, committed
                        mark_firing(other, _round("a", 0))
                        mark_requested(other, _round("a", 0), T0, 7)

            event.listen(connection, "before_cursor_execute", timer_fires_first)
            report = sync(connection, Calendars())  # the file dropped a
        with pg.connect() as connection:
            states = [(e.planned.round_id, e.state) for e in entries(connection)]
    finally:
        pg.dispose()
    assert states == [("a", "requested")] and report.removed == ()


def test_a_sync_racing_the_timer_reports_the_move_as_not_applied(fresh_database_url):
    from sqlalchemy import event

    pg = make_engine(fresh_database_url)
    migrate(pg)
    _plan(pg, _round("a", 0))
    try:
        with pg.begin() as connection:

            def timer_fires_first(conn, cursor, statement, *args):
                if statement.lstrip().upper().startswith("UPDATE"):
                    with pg.begin() as other:  # the timer's own transaction, committed
                        mark_firing(other, _round("a", 0))
                        mark_requested(other, _round("a", 0), T0, 7)

            event.listen(connection, "before_cursor_execute", timer_fires_first)
            report = sync(connection, Calendars((_round("a", 60),)))  # the file moved a
        with pg.connect() as connection:
            (entry,) = entries(connection)
    finally:
        pg.dispose()
    assert (entry.state, entry.planned.at) == ("requested", T0)
    assert (report.replanned, report.ignored) == ((), ("a",))
