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

from contracts import STREAM
from matching import run_round
from services.intake.apply import BatchOutcome, Inbound, Intake, as_messages
from services.intake.consumer import IntakeConsumer, IntakeRecovery, register_intake
from services.intake.held import HeldInbound
from services.intake.isolation import isolate, probe
from services.intake.parsing import BatchParser, Parsed
from services.intake.progress import IntakeProgress
from services.intake.sources import SourceRules, log_rules_at_start
from services.nats.broker import make_broker
from services.nats.client import find_by_msg_id
from services.observability.metrics import ServiceMetrics
from services.outbound.relay import OutboxRelay
from services.rounds.calendar import PlannedRound, load_calendars
from services.rounds.rulesets import RulesetCatalog
from services.rounds.runner import SolveRound
from services.rounds.timer import CalendarTimer, Clock
from services.settings import Environment, Settings
from services.store.db import make_engine
from services.store.errors import LeaseLostError
from services.store.leadership import Leadership

_FASTSTREAM_LOG = logging.getLogger("services.faststream")
_LOG = logging.getLogger(__name__)


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
    calendar: CalendarTimer | None = None
    """The calendar's timer; None when INTERN_MATCH_CALENDARS names no file (or a replay
    target, which starts with calendars off)."""


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
    clock: Clock = utc_now,
    *,
    leadership: Leadership | None = None,
    metrics: ServiceMetrics | None = None,
) -> ServiceParts:
    """Wire intake → consumer → relay (and the calendar's timer, on `clock`) on one broker; the
    app's hooks start and stop the relay and the timer. A malformed calendar raises
    CalendarError here, before anything starts.

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
    rulesets = rulesets_for(settings)
    intake = Intake(
        engine,
        rulesets,
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
        engine,
        broker,
        batch=settings.relay_batch_size,
        on_parked=metrics.outbox_parked.inc,
        fence=fence,
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
        held=HeldInbound(engine, settings.batch_size, fence),
    )
    consumer.settler.on_isolated = lambda stage: metrics.intake_isolated.labels(stage=stage).inc()
    consumer.on_gap = metrics.intake_delivery_gaps.inc
    consumer.on_held = metrics.intake_held.inc
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
    timer = _timer(settings, rulesets, engine, broker, clock, metrics, leadership)

    @app.on_startup
    async def before_fetching() -> None:
        await parser.start()
        client = await broker.connect()
        consumer.deliveries.expected = await recovery.before_fetching(client)
        consumer.resync = partial(recovery.resync, client)

    @app.after_startup
    async def start_relay() -> None:
        await recovery.after_started(broker.connection)
        await consumer.apply_held()
        relay.start()
        if timer is not None:
            timer.start()

    @app.on_shutdown
    async def finish_in_flight() -> None:
        if timer is not None:
            await timer.stop()
        await consumer.stop_fetching(subscriber)
        await consumer.drain(timeout=settings.round_time_limit_seconds + 60.0)
        await parser.close()
        await recovery.close()
        if leadership is None or leadership.is_active():
            await relay.flush()
        else:  # fenced: its marks would not commit; the active instance sends the outbox
            await relay.stop()

    return ServiceParts(app, broker, intake, consumer, relay, subscriber, metrics, progress, timer)


def _timer(
    settings: Settings,
    rulesets: RulesetCatalog,
    engine: Engine,
    broker: NatsBroker,
    clock: Clock,
    metrics: ServiceMetrics,
    leadership: Leadership | None = None,
) -> CalendarTimer | None:
    """The calendar's timer, publishing on the service's own connection; None without calendar
    files. A malformed file raises CalendarError. With `leadership` it publishes only while
    this instance is the active one (it runs in the active term's app; a process resumed after
    its lease ran out publishes nothing before it notices)."""
    if not settings.calendars:
        return None
    calendars = load_calendars(settings.calendars, rulesets)
    if settings.environment is Environment.STAGING:
        _LOG.warning(
            "calendars are on in staging: a replay target must run without them, or its own "
            "calendar requests take the ids of the replayed ones (unset INTERN_MATCH_CALENDARS)"
        )

    async def publish(subject: str, body: bytes, msg_id: str) -> int:
        if leadership is not None and not leadership.is_active():
            raise LeaseLostError("not the active instance: the calendar publishes nothing")
        ack = await broker.connection.jetstream().publish(
            subject, body, stream=STREAM, headers={"Nats-Msg-Id": msg_id}, timeout=10.0
        )
        return int(ack.seq)

    def fired(planned: PlannedRound, at: dt.datetime) -> None:
        metrics.count_calendar_round(planned.at, at)

    async def find(subject: str, msg_id: str) -> int | None:
        return await find_by_msg_id(broker.connection, subject, msg_id)

    return CalendarTimer(
        engine,
        calendars,
        publish,
        clock,
        on_fired=fired,
        on_next=metrics.show_next_round,
        find=find,
    )
