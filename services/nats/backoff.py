"""Capped exponential back-off for retries while the broker or the database is away.

Imports the standard library only.
"""

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays `initial`, `initial*factor`, ... up to `cap` seconds; `reset()` after a success."""

    initial: float = 0.1
    factor: float = 2.0
    cap: float = 10.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        delay = self._next or self.initial
        self._next = min(delay * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        self._next = 0.0
