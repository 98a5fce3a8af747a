"""How the intake is doing, for readiness and for operators: when it last moved, whether a round
is running, and a failing state logged once per change. Imports the standard library only.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class IntakeProgress:
    """The intake stalls when work waits and neither its acknowledged floor, a commit nor a
    running round moved for `stall_seconds` (monotonic time)."""

    def __init__(self, stall_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._moved_at = clock()
        self._floor: int | None = None
        self._rounds = 0
        self._lock = threading.Lock()

    def moved(self) -> None:
        """The intake committed something, or took up work after being idle."""
        self._moved_at = self._clock()

    def solving(self, solve: Callable[[T], R]) -> Callable[[T], R]:
        """`solve` with its run counted as progress (a long round is not a stall)."""

        def solve_counted(snapshot: T) -> R:
            with self._lock:
                self._rounds += 1
            try:
                return solve(snapshot)
            finally:
                with self._lock:
                    self._rounds -= 1
                self.moved()

        return solve_counted

    @property
    def round_running(self) -> bool:
        return self._rounds > 0

    def is_stalled(self, floor: int, waiting: int) -> bool:
        """Judge the consumer's figures now: `floor` its acknowledged stream sequence, `waiting`
        the messages pending or unacknowledged."""
        if floor != self._floor or waiting == 0 or self.round_running:
            self._floor = floor
            self.moved()
            return False
        return self._clock() - self._moved_at > self.stall_seconds

    def stalled_for(self) -> float:
        return self._clock() - self._moved_at


class FailureLog:
    """A failing component's log: one line when it starts failing or its reason changes, one
    when it recovers, each with the count of failures so far; nothing per retry."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.reason: str | None = None
        self.count = 0
        self._since = 0.0

    def failed(self, reason: str, **extra: object) -> None:
        """`reason` names the stage and the error type only (never an error's text)."""
        self.count += 1
        if reason == self.reason:
            return
        if self.reason is None:
            self._since = time.monotonic()
        self.reason = reason
        self.logger.error(
            f"{self.what} failed; retrying until it commits",
            extra={"reason": reason, "failures": self.count, **extra},
        )

    def recovered(self) -> None:
        if self.reason is None:
            return
        self.logger.warning(
            f"{self.what} recovered",
            extra={
                "failures": self.count,
                "failing_seconds": round(time.monotonic() - self._since, 1),
            },
        )
        self.reason, self.count = None, 0
