"""Watching the lease from outside the service: who holds it, and how long a takeover took.
Imports sqlalchemy, the lease's reader and the harness's probe."""

import asyncio
import time

from sqlalchemy import Engine

from services.store.lease import read_lease
from tests.faults.harness import Probe, Progress

LEASE_SECONDS = "2"
TAKEOVER_LIMIT = 15.0
"""The issue's bound on a standby's takeover after the active instance's death."""


async def holder_is(engine: Engine, name: str, timeout: float = 60.0) -> float:
    """Seconds until instance `name` holds the lease."""
    started = time.monotonic()
    while True:
        found = await asyncio.to_thread(_lease_holder, engine)
        if found == name:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{name} does not hold the lease after {timeout} s (holder {found})")
        await asyncio.sleep(0.05)


def _lease_holder(engine: Engine) -> str | None:
    try:
        found = read_lease(engine)
    except Exception:  # not migrated yet
        return None
    return None if found is None or found.remaining_seconds < 0 else found.holder


async def takeover(engine: Engine, probe: Probe, successor: str, before: Progress) -> float:
    """Seconds from now until `successor` holds the lease and has committed past `before`."""
    started = time.monotonic()
    await holder_is(engine, successor, timeout=TAKEOVER_LIMIT * 4)
    await probe.until(
        lambda p: p.acked_through > before.acked_through or p.rounds > before.rounds,
        timeout=TAKEOVER_LIMIT * 4,
    )
    return time.monotonic() - started
