"""Running the service: embedded broker if none is configured, database, intake, relay, shutdown.

Imports the composition root and the client helpers; never matching internals.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from services.app import ServiceParts, build_service, engine_for, utc_now
from services.collector import tune_gc
from services.nats.client import publish_events, read_stream, request_round, wait_round
from services.nats.embedded import EmbeddedNats
from services.nats.security import without_credentials
from services.observability.health import HealthServer
from services.observability.metrics import ServiceMetrics
from services.rounds.runner import SolveRound
from services.rounds.timer import Clock
from services.settings import Settings
from services.store.db import migrate
from services.store.leadership import Leadership, Role, default_instance_id
from services.store.lease import session_name

__all__ = [
    "RunningService",
    "publish_events",
    "read_stream",
    "request_round",
    "running_service",
    "serve_forever",
    "wait_round",
]

log = logging.getLogger(__name__)


@dataclass
class RunningService:
    """A started service: its broker URL (embedded or configured), database engine, role.

    `parts` are the current (or last) term's as the active instance: each term builds them
    anew, since a stopped FastStream app and its consumer are not started twice.
    """

    broker_url: str
    engine: Engine
    parts: ServiceParts
    leadership: Leadership
    build: Any = field(repr=False)
    probes: HealthServer | None = None
    _started: bool = field(default=False, repr=False)
    _fresh: bool = field(default=True, repr=False)
    _stopped: bool = field(default=False, repr=False)
    _terms: "asyncio.Task[None] | None" = field(default=None, repr=False)

    async def stop(self) -> None:
        """Stop fetching, finish the batch in flight, flush the outbox, disconnect, give the
        lease back (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._terms is not None:
            self._terms.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._terms
        if self._started:
            await self.parts.app.stop()
        await self.leadership.stop()

    async def start_term(self) -> None:
        """Start intake and relay as the active instance (fresh parts after the first term)."""
        if not self._fresh:
            self.parts = self.build()
            if self.probes is not None:
                parts = self.parts
                self.probes.follow(parts.broker, parts.relay, parts.progress, parts.calendar)
        self._fresh, self._started = False, True
        await self.parts.app.start()

    async def run_terms(self) -> None:
        """Each time this instance becomes active, start; each time it steps down, stop."""
        while True:
            if not self._started:
                await self.leadership.wait_active()
                try:
                    await self.start_term()
                except Exception as error:  # e.g. the broker away: let another instance try
                    log.error("could not start as the active instance; resigning the lease",
                              extra={"error": type(error).__name__})  # fmt: skip
                    await self.leadership.resign("start failed")
                    await asyncio.sleep(self.leadership.interval)
            await self.leadership.wait_lost()
            log.warning("stopping intake and relay: no longer the active instance")
            self._started = False
            try:
                await self.parts.app.stop()
            except Exception as error:  # fenced work ends in errors; the next term starts clean
                log.warning(
                    "stopping after the lease was lost", extra={"error": type(error).__name__}
                )


@contextlib.asynccontextmanager
async def running_service(
    settings: Settings,
    solve_round: SolveRound | None = None,
    *,
    serve_http: bool = False,
    clock: Clock = utc_now,
) -> AsyncIterator[RunningService]:
    """Start everything the settings describe; stop it gracefully on exit.

    With `serve_http` and a non-zero INTERN_MATCH_HTTP_PORT the probes listen too. A broker
    that refuses the credentials or the TLS handshake raises BrokerAccessError within seconds;
    a malformed calendar file raises CalendarError before the broker is connected. `clock` is
    the calendar timer's (the demo's starts in its program year).
    """
    async with contextlib.AsyncExitStack() as stack:
        broker_url = settings.broker_url
        if not broker_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            server = await stack.enter_async_context(EmbeddedNats(settings.data_dir))
            broker_url = server.url
        holder = settings.instance_id or default_instance_id()
        engine = engine_for(settings, session_name(holder))
        stack.callback(engine.dispose)
        await asyncio.to_thread(migrate, engine)
        metrics = ServiceMetrics()
        leadership = _leadership(settings, engine, metrics, holder)

        def build() -> ServiceParts:
            return build_service(
                settings, broker_url, engine, solve_round, clock,
                leadership=leadership, metrics=metrics,
            )  # fmt: skip

        tune_gc()
        service = RunningService(broker_url, engine, build(), leadership, build)
        if service.parts.calendar is not None:  # the files as they are now: the next start's
            await asyncio.to_thread(service.parts.calendar.sync)  # changes (any instance)
        if serve_http and settings.http_port:  # up before the broker: /readyz says what waits
            service.probes = HealthServer(
                service.parts.broker,
                engine,
                metrics,
                max_lag=settings.ready_max_lag,
                relay=service.parts.relay,
                progress=service.parts.progress,
                calendar=service.parts.calendar,
                leadership=leadership,
            )
            await service.probes.start(settings.http_host, settings.http_port)
            stack.push_async_callback(service.probes.stop)
        stack.push_async_callback(service.stop)
        leadership.start()
        await leadership.decided()
        if leadership.is_active():
            await service.start_term()
        service._terms = asyncio.create_task(service.run_terms(), name="terms")
        log.info(
            "service started",
            extra={
                "broker_url": without_credentials(broker_url),
                "role": leadership.role.value,
                "instance": leadership.holder,
            },
        )
        yield service


def _leadership(
    settings: Settings, engine: Engine, metrics: ServiceMetrics, holder: str
) -> Leadership:
    """The lease loop, its role changes counted and shown in the metrics."""

    def changed(role: Role, reason: str) -> None:
        metrics.role.set(1 if role is Role.ACTIVE else 0)
        if role is Role.ACTIVE:
            metrics.takeovers.inc()
        else:
            metrics.step_downs.labels(reason=reason).inc()

    return Leadership(
        engine,
        settings.lease_seconds,
        holder,
        on_change=changed,
        on_renewed=metrics.lease_renewals.inc,
    )


async def serve_forever(settings: Settings, console: Any = None) -> None:
    """Run the service until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running_service(settings, serve_http=True) as service:
        if console is not None:
            url = without_credentials(service.broker_url)
            console.print(f"intern-match serving: broker {url}; stop with Ctrl+C")
        await stop.wait()
