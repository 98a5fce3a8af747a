"""The calendar's timer: requests each planned round once its time has come, with the id
`calendar/<round_id>` as `Nats-Msg-Id`, and marks it requested once the stream acknowledged it.
The one place where the wall clock decides something: *when* to publish; what the request says
(`time` = `at`) never depends on it. Imports the plan and the calendar; publishing is given.
"""

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from contracts import Kind, subject_of
from services.nats.backoff import Backoff
from services.rounds.calendar import Calendars, PlannedRound, shown_utc
from services.rounds.plan import (
    SyncReport,
    due_and_next,
    in_flight,
    log_sync,
    mark_firing,
    mark_requested,
    sync,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, str], Awaitable[int | None]]
"""(subject, body, Nats-Msg-Id) → the stream sequence that holds it (None if unknown)."""
Find = Callable[[str, str], Awaitable[int | None]]
"""(subject, Nats-Msg-Id) → the stream sequence of the message published with that id, or
None when the stream holds none."""
Clock = Callable[[], dt.datetime]
POLL_SECONDS = 5.0
"""At most this long between reads of the table, so `intern-match calendar sync` from another
process takes effect within it."""
_SUBJECT = subject_of(Kind.ROUND_REQUESTED)


class CalendarTimer:
    """Fires the calendar rounds of one service instance: due ones at once (catch-up), the next
    one at its time. `next_round` names the next planned round (for /healthz)."""

    def __init__(
        self,
        engine: Engine,
        calendars: Calendars,
        publish: Publish,
        clock: Clock,
        *,
        on_fired: Callable[[PlannedRound, dt.datetime], None] | None = None,
        on_next: Callable[[PlannedRound | None], None] | None = None,
        poll_seconds: float = POLL_SECONDS,
        find: Find | None = None,
    ) -> None:
        """`find` looks a request up in the stream after a crash between its publish and its
        acknowledgement; None: publish it again (the broker's window and the inbox drop it)."""
        self.engine = engine
        self.calendars = calendars
        self.next_round: PlannedRound | None = None
        self.fired: list[str] = []
        self._publish, self._clock, self._find = publish, clock, find
        self._on_fired, self._on_next = on_fired, on_next
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def sync(self, calendars: Calendars | None = None) -> SyncReport:
        """Write the calendars (these, or the ones loaded at start) into the table, log the
        changes and wake the timer (a thread-safe call is not needed: sync runs in a thread and
        the timer re-reads the table at least every poll)."""
        if calendars is not None:
            self.calendars = calendars
        for warning in self.calendars.warnings:
            log.warning("calendar round planned late", extra={"detail": warning})
        with self.engine.begin() as connection:
            report = sync(connection, self.calendars)
            due, upcoming = due_and_next(connection, self._clock())
        log_sync(report)
        self._show_next(due[0] if due else upcoming)
        return report

    def _show_next(self, planned: PlannedRound | None) -> None:
        self.next_round = planned
        if self._on_next is not None:
            self._on_next(planned)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="calendar-timer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Read the table again now (after a sync in this process)."""
        self._wake.set()

    async def _run(self) -> None:
        backoff, failing = Backoff(initial=0.5, cap=30.0), 0
        while True:
            try:
                delay = await self._pass()
            except Exception as error:  # the database or the broker away: retried, logged once
                failing += 1
                if failing == 1:
                    log.warning(
                        "calendar cannot request its rounds now; retrying",
                        extra={"error": type(error).__name__},
                    )
                delay = backoff.next_delay()
            else:
                if failing:
                    log.info("calendar requests again", extra={"tries": failing})
                failing = 0
                backoff.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def _pass(self) -> float:
        """Request what is due; the seconds until the next round (at most the poll)."""
        due, upcoming = await asyncio.to_thread(self._read, self._clock())
        for planned in due:
            await self._fire(planned)
        if due:
            return 0.0
        self._show_next(upcoming)
        if upcoming is None:
            return self._poll
        wait = (upcoming.at - self._clock()).total_seconds()
        return min(self._poll, max(wait, 0.0))

    def _read(self, now: dt.datetime) -> tuple[list[PlannedRound], PlannedRound | None]:
        with self.engine.begin() as connection:
            return due_and_next(connection, now)

    async def _fire(self, planned: PlannedRound) -> None:
        """Mark the round firing, publish its request, then mark it requested. A round left
        firing by a crash is first looked up in the stream: past the broker's duplicate window
        a second copy would be stored (the inbox and the round id would still drop it)."""
        seq = await self._found_in_stream(planned)
        fired_at = self._clock()
        if seq is None:
            if not await asyncio.to_thread(self._db, mark_firing, planned):
                return  # removed or changed by a sync since it was read: the next pass re-reads
            seq = await self._publish(_SUBJECT, planned.to_event(), planned.event_id)
            fired_at = self._clock()
            self.fired.append(planned.round_id)
            if self._on_fired is not None:
                self._on_fired(planned, fired_at)
        await asyncio.to_thread(self._mark, planned, fired_at, seq)
        log.info(
            "calendar round requested",
            extra={
                "round_id": planned.round_id,
                "at": shown_utc(planned.at),
                "late_seconds": round((fired_at - planned.at).total_seconds(), 3),
                "stream_seq": seq,
            },
        )

    async def _found_in_stream(self, planned: PlannedRound) -> int | None:
        if self._find is None or not await asyncio.to_thread(self._db, in_flight, planned):
            return None
        seq = await self._find(_SUBJECT, planned.event_id)
        if seq is not None:
            log.info(
                "calendar round found in the stream after a restart: not published again",
                extra={"round_id": planned.round_id, "stream_seq": seq},
            )
        return seq

    def _db(self, step: Callable[..., object], planned: PlannedRound) -> object:
        with self.engine.begin() as connection:
            return step(connection, planned)

    def _mark(self, planned: PlannedRound, fired_at: dt.datetime, seq: int | None) -> None:
        with self.engine.begin() as connection:
            mark_requested(connection, planned, fired_at, seq)
