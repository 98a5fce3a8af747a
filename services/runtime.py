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
from services.rounds.runner import SolveRound
from services.rounds.timer import Clock
from services.settings import Settings
from services.store.db import migrate

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
    """A started service: its broker URL (embedded or configured) and database engine."""

    broker_url: str
    engine: Engine
    parts: ServiceParts
    probes: HealthServer | None = None
    _stopped: bool = field(default=False, repr=False)

    async def stop(self) -> None:
        """Stop fetching, finish the batch in flight, flush the outbox, disconnect (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        await self.parts.app.stop()


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
        engine = engine_for(settings)
        stack.callback(engine.dispose)
        await asyncio.to_thread(migrate, engine)
        parts = build_service(settings, broker_url, engine, solve_round, clock)
        if parts.calendar is not None:  # the files as they are now: the next start's changes
            await asyncio.to_thread(parts.calendar.sync)
        tune_gc()
        service = RunningService(broker_url, engine, parts)
        if serve_http and settings.http_port:  # up before the broker: /readyz says what waits
            service.probes = HealthServer(
                parts.broker,
                engine,
                parts.metrics,
                max_lag=settings.ready_max_lag,
                relay=parts.relay,
                progress=parts.progress,
                calendar=parts.calendar,
            )
            await service.probes.start(settings.http_host, settings.http_port)
            stack.push_async_callback(service.probes.stop)
        await parts.app.start()
        stack.push_async_callback(service.stop)
        log.info("service started", extra={"broker_url": without_credentials(broker_url)})
        yield service


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
