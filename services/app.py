"""Composition root: builds intake, broker, intake consumer, outbox relay and FastStream app once.

Connects to nothing by itself: `async with service.app:` starts it (see services.runtime).
"""

import datetime as dt
from dataclasses import dataclass

from faststream import FastStream
from faststream.nats import NatsBroker
from sqlalchemy import Engine

from services.broker import IntakeConsumer, make_broker, register_intake
from services.intake import BatchOutcome, Intake
from services.relay import OutboxRelay
from services.rounds import SolveRound
from services.rulesets import RulesetCatalog
from services.settings import Settings


@dataclass
class ServiceParts:
    """Everything one service instance runs, wired together but not started."""

    app: FastStream
    broker: NatsBroker
    intake: Intake
    consumer: IntakeConsumer
    relay: OutboxRelay
    subscriber: object


def rulesets_for(settings: Settings) -> RulesetCatalog:
    """The rulesets by program year the settings name (INTERN_MATCH_RULESET[S])."""
    return RulesetCatalog(settings.ruleset, settings.rulesets)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_service(
    settings: Settings, broker_url: str, engine: Engine, solve_round: SolveRound | None = None
) -> ServiceParts:
    """Wire intake → consumer → relay on one broker; the app's hooks start and stop the relay."""
    intake = Intake(
        engine,
        rulesets_for(settings),
        utc_now,
        solve_round,
        time_limit_seconds=settings.round_time_limit_seconds,
    )
    broker = make_broker(broker_url, settings)
    relay = OutboxRelay(engine, broker, batch=settings.batch_size)

    def committed(_: BatchOutcome) -> None:
        relay.wake()

    consumer = IntakeConsumer(intake.process, on_committed=committed)
    subscriber = register_intake(broker, consumer, settings.batch_size)
    app = FastStream(broker)

    @app.after_startup
    async def start_relay() -> None:
        relay.start()

    @app.on_shutdown
    async def finish_in_flight() -> None:
        await subscriber.stop()  # stops fetching; waits for the batch in flight
        await relay.flush()

    return ServiceParts(app, broker, intake, consumer, relay, subscriber)
