"""Which instance is active: a loop that takes the database lease when it is free, renews it a
few times per lease length, and steps down when it cannot (services.store.lease).

`is_active()` and `while_active()` are what any part of the service asks before (and while)
doing what only the active instance may do. Imports asyncio and services.store.lease only.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Engine

from services.store import lease
from services.store.lease import Fence

log = logging.getLogger(__name__)
T = TypeVar("T")


class Role(StrEnum):
    ACTIVE = "active"
    STANDBY = "standby"


def default_instance_id() -> str:
    """Host name, process id and a random suffix: unique even for two processes on one host."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Leadership:
    """This instance's role, kept by the lease: standby until it takes the lease, active while it
    renews it in time.

    Active means: the lease is this instance's token and was renewed less than `lease_seconds`
    ago by this process's monotonic clock (which runs on while the process is paused), so a
    process resumed after its lease ran out knows it at once, before it hears from the database.
    """

    def __init__(
        self,
        engine: Engine,
        lease_seconds: float,
        holder: str | None = None,
        on_change: Callable[[Role, str], None] = lambda _role, _why: None,
        on_renewed: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.holder = holder or default_instance_id()
        self.fence = Fence(idle_seconds=lease_seconds / 2)
        self.on_change = on_change
        self.on_renewed = on_renewed
        self.role = Role.STANDBY
        self.takeovers = 0
        self._valid_until = 0.0
        self._became_active = asyncio.Event()
        self._lost = asyncio.Event()
        self._decided = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        """Seconds between renewals (and between a standby's attempts): a quarter lease."""
        return self.lease_seconds / 4

    def is_active(self) -> bool:
        """True while this instance holds the lease and renewed it in time."""
        return self.role is Role.ACTIVE and time.monotonic() < self._valid_until

    async def wait_active(self) -> None:
        await self._became_active.wait()

    async def wait_lost(self) -> None:
        """Until the current term as the active instance ends (its step-down)."""
        await self._lost.wait()

    async def decided(self) -> None:
        """Until the first attempt to take the lease ended (either way)."""
        await self._decided.wait()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        """End the loop and give the lease back, so a standby takes over at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.resign("stopping")

    async def resign(self, reason: str) -> None:
        """Step down and give the lease back (this instance cannot do the active one's work,
        e.g. its broker is away): another instance, or this one later, takes it."""
        token = self.fence.token
        if self.role is Role.ACTIVE and token is not None:
            self._step_down(reason)
            with contextlib.suppress(Exception):  # the database away: the lease runs out alone
                await asyncio.to_thread(lease.release, self.engine, self.holder, token)

    async def while_active(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` in every term of this instance as the active one, cancelling it when the
        term ends; returns only when cancelled. For timers that must fire on one instance."""
        while True:
            await self.wait_active()
            task: asyncio.Task[None] = asyncio.create_task(work())
            lost = asyncio.create_task(self.wait_lost())
            try:
                await asyncio.wait([task, lost], return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()  # its error, if any, is the caller's
                await lost
            finally:
                for pending in (task, lost):
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pending

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                if self.role is Role.ACTIVE:
                    await self._renew(started)
                else:
                    await self._try_take(started)
            except Exception as error:  # the database away: try again next interval
                log.warning("lease not reachable", extra={"error": type(error).__name__})
                self._decided.set()
            if self.role is Role.ACTIVE and time.monotonic() >= self._valid_until:
                self._step_down("lease not renewed in time")
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def _try_take(self, started: float) -> None:
        token = await self._bounded(lease.try_acquire, self.engine, self.holder, self.lease_seconds)
        self._decided.set()
        if token is None:
            return
        self.fence.token = token
        self._valid_until = started + self.lease_seconds
        self.role = Role.ACTIVE
        self.takeovers += 1
        self._lost.clear()
        self._became_active.set()
        log.warning(
            "role changed: standby -> active",
            extra={"instance": self.holder, "token": token, "reason": "lease taken"},
        )
        self.on_change(Role.ACTIVE, "lease taken")

    async def _renew(self, started: float) -> None:
        token = self.fence.token
        if token is None or time.monotonic() >= self._valid_until:
            self._step_down("lease not renewed in time")
            return
        renewed = await self._bounded(
            lease.renew, self.engine, self.holder, token, self.lease_seconds
        )
        if not renewed:
            self._step_down("another instance took the lease")
            return
        self._valid_until = started + self.lease_seconds
        self.on_renewed()

    async def _bounded(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` in a thread, given up after a whole lease (a database that stopped
        answering): the loop goes on, and the step-down comes in time."""
        return await asyncio.wait_for(asyncio.to_thread(call, *args), self.lease_seconds)

    def _step_down(self, reason: str) -> None:
        if self.role is not Role.ACTIVE:
            return
        token, self.fence.token = self.fence.token, None
        self.role = Role.STANDBY
        self._became_active.clear()
        self._lost.set()
        log.warning(
            "role changed: active -> standby",
            extra={"instance": self.holder, "token": token, "reason": reason},
        )
        self.on_change(Role.STANDBY, reason)
