"""Composition root: builds intake, broker, intake consumer, outbox relay and FastStream app once.

Connects to nothing by itself: `async with service.app:` starts it (see services.runtime).
"""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from faststream import FastStream
from faststream.nats import NatsBroker
from sqlalchemy import Engine

from matching import run_round
from services.intake.apply import BatchOutcome, Inbound, Intake, as_messages
from services.intake.consumer import IntakeConsumer, IntakeRecovery, register_intake
from services.intake.isolation import isolate, probe
from services.intake.parsing import BatchParser, Parsed
from services.intake.progress import IntakeProgress
from services.intake.sources import SourceRules, log_rules_at_start
from services.nats.broker import make_broker
from services.observability.metrics import ServiceMetrics
from services.outbound.relay import OutboxRelay
from services.rounds.rulesets import RulesetCatalog
from services.rounds.runner import SolveRound
from services.settings import Settings
from services.store.db import make_engine
from services.store.leadership import Leadership

_FASTSTREAM_LOG = logging.getLogger("services.faststream")


@dataclass
class ServiceParts:
    """Everything one service instance runs, wired together but not started."""

    app: FastStream
    broker: NatsBroker
    intake: Intake
    consumer: IntakeConsumer
    relay: OutboxRelay
    subscriber: object
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    progress: IntakeProgress = field(default_factory=lambda: IntakeProgress(120.0))


def rulesets_for(settings: Settings) -> RulesetCatalog:
    """The rulesets by program year the settings name (INTERN_MATCH_RULESET[S])."""
    return RulesetCatalog(settings.ruleset, settings.rulesets)


def engine_for(settings: Settings, session_name: str | None = None) -> Engine:
    """The engine of the database the settings name: INTERN_MATCH_DATABASE_URL, or else the
    SQLite file under INTERN_MATCH_DATA_DIR (the directory is created). The one place the service
    and every command build their engine; a command that only reads checks first that the file
    exists (services.cli.console.database_to_read). `session_name`: PostgreSQL's
    application_name of its sessions (services.store.lease.session_name)."""
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url_or_default()
    if session_name and url.startswith("postgresql"):
        return make_engine(url, connect_args={"application_name": session_name})
    return make_engine(url)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_service(
    settings: Settings,
    broker_url: str,
    engine: Engine,
    solve_round: SolveRound | None = None,
    *,
    leadership: Leadership | None = None,
    metrics: ServiceMetrics | None = None,
) -> ServiceParts:
    """Wire intake → consumer → relay on one broker; the app's hooks start and stop the relay.

    With `leadership`, every intake and relay transaction checks its fence, nothing is fetched
    while the instance is not active, and a stop after losing the lease flushes nothing (the
    new active instance's relay sends the outbox). FastStream logs through
    `services.faststream`, so its records reach the JSON log handler.
    """
    metrics = metrics or ServiceMetrics()
    fence = leadership.fence if leadership is not None else None
    source_rules = SourceRules.of(settings.sources)
    log_rules_at_start(source_rules, settings.is_production())
    progress = IntakeProgress(settings.ready_stall_seconds)
    intake = Intake(
        engine,
        rulesets_for(settings),
        utc_now,
        progress.solving(metrics.timed(solve_round or run_round)),
        time_limit_seconds=settings.round_time_limit_seconds,
        source_rules=source_rules,
        fence=fence,
    )
    broker = make_broker(
        broker_url, settings, middlewares=[metrics.broker_middleware()], logger=_FASTSTREAM_LOG
    )
    relay = OutboxRelay(
        engine, broker, batch=settings.batch_size, on_parked=metrics.outbox_parked.inc, fence=fence
    )

    def committed(outcome: BatchOutcome) -> None:
        metrics.count_batch(outcome)
        if outcome.publishes:  # otherwise the relay's own poll finds nothing new
            relay.wake()

    parser = BatchParser(settings.parse_workers)

    async def parse(batch: Sequence[Inbound]) -> list[Parsed]:
        return await parser.parse(as_messages(batch))

    consumer = IntakeConsumer(
        intake.process,
        parse,
        isolate=partial(isolate, intake),
        probe=partial(probe, intake),
        on_committed=committed,
        progress=progress,
    )
    consumer.settler.on_isolated = lambda stage: metrics.intake_isolated.labels(stage=stage).inc()
    subscriber = register_intake(
        broker,
        consumer,
        settings.batch_size,
        settings.broker_inbox_prefix,
        settings.stream_replicas,
        may_fetch=leadership.is_active if leadership is not None else lambda: True,
    )
    app = FastStream(broker, logger=_FASTSTREAM_LOG)

    recovery = IntakeRecovery(settings.batch_size)

    @app.on_startup
    async def before_fetching() -> None:
        await parser.start()
        await recovery.before_fetching(await broker.connect())

    @app.after_startup
    async def start_relay() -> None:
        await recovery.after_started(broker.connection)
        relay.start()

    @app.on_shutdown
    async def finish_in_flight() -> None:
        await consumer.stop_fetching(subscriber)
        await consumer.drain(timeout=settings.round_time_limit_seconds + 60.0)
        await parser.close()
        await recovery.close()
        if leadership is None or leadership.is_active():
            await relay.flush()
        else:  # fenced: its marks would not commit; the active instance sends the outbox
            await relay.stop()

    return ServiceParts(app, broker, intake, consumer, relay, subscriber, metrics, progress)
