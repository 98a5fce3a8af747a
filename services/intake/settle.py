"""Committing one fetched batch whatever it holds: retried in place while the database is away,
split in halves once the database answers and the batch still fails, until the event that fails
is alone and becomes a dead letter; the rest commits in stream order. Imports the intake's
types and the standard library; never brokers.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.intake.apply import BatchOutcome, Inbound
from services.intake.isolation import is_database_away, merged, stage_of
from services.intake.progress import FailureLog
from services.nats.backoff import Backoff

log = logging.getLogger(__name__)

Parse = Callable[[Sequence[Inbound]], Awaitable[Sequence[Any]]]
Commit = Callable[[Sequence[Inbound], Sequence[Any]], BatchOutcome]
Isolate = Callable[[Inbound, Any, str, str], BatchOutcome]
"""(message, its parse result or None, stage, error type): its dead letter, committed."""
Probe = Callable[[], None]
"""Raises when the database does not answer a transaction."""


class _Failed(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = type(error).__name__
        self.away = is_database_away(error)
        self.reason = f"{stage}: {self.error}"


@dataclass
class _Part:
    batch: Sequence[Inbound]
    parsed: Sequence[Any] | None

    def halves(self) -> tuple["_Part", "_Part"]:
        middle = len(self.batch) // 2
        parsed = self.parsed
        return (
            _Part(self.batch[:middle], None if parsed is None else parsed[:middle]),
            _Part(self.batch[middle:], None if parsed is None else parsed[middle:]),
        )


class Settler:
    """Commits batches for the intake consumer; None only when `stopping` is set meanwhile."""

    def __init__(
        self,
        process: Commit,
        parse: Parse,
        isolate: Isolate,
        probe: Probe,
        backoff: Backoff,
        stopping: asyncio.Event,
    ) -> None:
        self.process = process
        self.parse = parse
        self.isolate = isolate
        self.probe = probe
        self.backoff = backoff
        self.failures = 0
        self.on_moved: Callable[[], None] = lambda: None
        self.on_isolated: Callable[[str], None] = lambda _stage: None
        self._stopping = stopping
        self._log = FailureLog(log, "intake batch")

    async def settle(
        self, batch: Sequence[Inbound], parsed: "asyncio.Future[Sequence[Any]]"
    ) -> BatchOutcome | None:
        """Commit `batch` (its parse under way in `parsed`), however it has to be done."""
        try:
            first = _Part(batch, await parsed)
        except Exception as error:  # a parse that failed is tried again, then split
            self._note(_Failed("parsing", error), batch)
            first = _Part(batch, None)
        outcome = await self._commit(first)
        if outcome is not None:
            self._log.recovered()
            self.backoff.reset()
        return outcome

    async def _commit(self, part: _Part) -> BatchOutcome | None:
        """`part` committed whole, in halves, or with its one event isolated."""
        while True:
            failure = await self._tried(part)
            if not isinstance(failure, _Failed):
                return failure
            if len(part.batch) > 1:
                return await self._split(part)
            outcome = await self._isolated(part, failure)
            if outcome is not None or not await self._pause():
                return outcome

    async def _tried(self, part: _Part) -> "BatchOutcome | _Failed | None":
        """Retry while the database is away; the failure once it answers and the part failed
        twice; None when stopping."""
        answered = False
        while True:
            try:
                return await self._attempt(part)
            except _Failed as failure:
                self._note(failure, part.batch)
                last = failure
            if self._stopping.is_set():
                return None
            if last.away or not await self._answers():
                answered = False
                if not await self._pause():
                    return None
            elif answered:
                return last
            else:
                answered = True

    async def _attempt(self, part: _Part) -> BatchOutcome:
        if part.parsed is None:
            try:
                part.parsed = list(await self.parse(part.batch))
            except Exception as error:
                raise _Failed("parsing", error) from error
        try:
            outcome = await asyncio.to_thread(self.process, part.batch, part.parsed)
        except Exception as error:
            raise _Failed(stage_of(error), error) from error
        self.on_moved()
        return outcome

    async def _split(self, part: _Part) -> BatchOutcome | None:
        total = BatchOutcome()
        for half in part.halves():
            outcome = await self._commit(half)
            if outcome is None:
                return None
            total = merged(total, outcome)
        return total

    async def _isolated(self, part: _Part, failure: _Failed) -> BatchOutcome | None:
        """The event's dead letter; None when even that cannot be stored: then the database is
        taken for away, and the event is tried again after a pause, never skipped."""
        message = part.batch[0]
        parsed = part.parsed[0] if part.parsed is not None else None
        try:
            outcome = await asyncio.to_thread(
                self.isolate, message, parsed, failure.stage, failure.error
            )
        except Exception as error:
            self._note(_Failed("dead letter", error), part.batch)
            return None
        log.warning(
            "intake event isolated: it fails alone, so it is a dead letter",
            extra={"stream_seq": message.stream_seq, "reason": failure.reason},
        )
        self.on_isolated(failure.stage)
        self.on_moved()
        return outcome

    def _note(self, failure: _Failed, batch: Sequence[Inbound]) -> None:
        self.failures += 1
        away = "database away, " if failure.away else ""
        self._log.failed(f"{away}{failure.reason}", first_stream_seq=batch[0].stream_seq)

    async def _answers(self) -> bool:
        try:
            await asyncio.to_thread(self.probe)
        except Exception:
            return False
        return True

    async def _pause(self) -> bool:
        return await pause(self._stopping, self.backoff)


async def pause(stopping: asyncio.Event, backoff: Backoff) -> bool:
    """Wait the next back-off delay; False when stopping began meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), backoff.next_delay())
    return not stopping.is_set()
