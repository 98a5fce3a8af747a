"""Prometheus metrics of one service instance, in a registry it owns, so that several services
can run in one process. Imports prometheus-client and FastStream's NATS middleware; never the
database, the broker connection or matching. Labels carry counts and codes, never personal data.
"""

import datetime as dt
import time
from typing import Any

from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from services.intake.apply import BatchOutcome
from services.rounds.runner import SolveRound

OUTCOMES = ("accepted", "duplicate", "stale", "rejected")
ROUND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    """Intake outcomes, round durations, outbox backlog, consumer lag, and FastStream's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "intern_match_events",
            "Inbound events by intake outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.events.labels(outcome=outcome)
        self.answers_ignored = Counter(
            "intern_match_answers_ignored",
            "Answers to placements already released: acknowledged, changing nothing",
            registry=self.registry,
        )
        self.over_capacity = Counter(
            "intern_match_seats_over_capacity",
            "Capacity cuts that left a seat holding more confirmed placements than its new "
            "capacity (an operator resolves it)",
            registry=self.registry,
        )
        self.round_duration = Histogram(
            "intern_match_round_duration_seconds",
            "Wall-clock time of the solver per round, by mode and result status",
            ["mode", "status"],
            buckets=ROUND_BUCKETS,
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "intern_match_outbox_backlog", "Outbox rows not yet sent", registry=self.registry
        )
        self.outbox_parked = Counter(
            "intern_match_outbox_parked",
            "Outbound events the broker refused as too large, parked by the relay (see "
            "intern_match_outbox_parked_rows)",
            registry=self.registry,
        )
        self.outbox_parked_rows = Gauge(
            "intern_match_outbox_parked_rows",
            "Outbox rows parked as too large for the broker (stored, never published)",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "intern_match_consumer_lag",
            "Messages the durable intake consumer has not yet been delivered (num_pending)",
            registry=self.registry,
        )

        # The intake's failure handling (services.intake.settle, services.intake.progress).
        self.intake_isolated = Counter(
            "intern_match_intake_isolated",
            "Events that failed alone when their batch would not commit, stored as dead letters "
            "(a round.requested as round.failed), by the stage that failed",
            ["stage"],
            registry=self.registry,
        )
        self.intake_held = Counter(
            "intern_match_intake_held",
            "Inbound messages stored and acknowledged while a round ran, to be applied after it "
            "in stream order",
            registry=self.registry,
        )
        self.intake_delivery_gaps = Counter(
            "intern_match_intake_delivery_gaps",
            "Times the intake found deliveries it never received (a fetch lost on the way) and "
            "had the consumer reset so they came first, in stream order",
            registry=self.registry,
        )
        self.intake_stalled = Gauge(
            "intern_match_intake_stalled",
            "1 while work waits and the intake has not moved for INTERN_MATCH_READY_STALL_SECONDS",
            registry=self.registry,
        )

        # The calendar's timer (services.rounds.timer).
        self.calendar_fired = Counter(
            "intern_match_calendar_rounds_fired",
            "Calendar rounds whose round.requested this instance put in the stream",
            registry=self.registry,
        )
        self.calendar_next_round = Gauge(
            "intern_match_calendar_next_round_timestamp_seconds",
            "Planned time (Unix seconds) of the next calendar round; 0 when none is planned",
            registry=self.registry,
        )
        self.calendar_fire_delay = Histogram(
            "intern_match_calendar_fire_delay_seconds",
            "From a calendar round's planned time to the stream's acknowledgement of its request "
            "(large after a catch-up)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300, 3600, 86400),
            registry=self.registry,
        )

        # Which instance is active (services.store.leadership).
        self.role = Gauge(
            "intern_match_role_active",
            "1 while this instance is the active one (holds the lease), 0 on standby",
            registry=self.registry,
        )
        self.takeovers = Counter(
            "intern_match_takeovers",
            "Times this instance took the lease and became the active one",
            registry=self.registry,
        )
        self.lease_renewals = Counter(
            "intern_match_lease_renewals",
            "Renewals of the lease by this instance while active",
            registry=self.registry,
        )
        self.step_downs = Counter(
            "intern_match_step_downs",
            "Times this instance stopped being the active one, by reason",
            ["reason"],
            registry=self.registry,
        )
        self._middleware: NatsPrometheusMiddleware | None = None

    def broker_middleware(self) -> NatsPrometheusMiddleware:
        """FastStream's NATS middleware (faststream_* metrics) writing into this registry; one
        per registry, however many terms as the active instance build a broker."""
        if self._middleware is None:
            self._middleware = NatsPrometheusMiddleware(
                registry=self.registry, app_name="intern-match"
            )
        return self._middleware

    def count_batch(self, outcome: BatchOutcome) -> None:
        """Add a committed batch's outcome counts."""
        for name in OUTCOMES:
            count = getattr(outcome, name)
            if count:
                self.events.labels(outcome=name).inc(count)
        if outcome.answers_ignored:
            self.answers_ignored.inc(outcome.answers_ignored)
        if outcome.over_capacity:
            self.over_capacity.inc(outcome.over_capacity)

    def timed(self, solve: SolveRound) -> SolveRound:
        """`solve` observed into the round histogram; a raising solver counts as status `raised`."""

        def solve_timed(snapshot: Any) -> Any:
            started = time.perf_counter()
            status = "raised"
            try:
                result = solve(snapshot)
                status = str(result.status)
                return result
            finally:
                elapsed = time.perf_counter() - started
                self.round_duration.labels(mode=str(snapshot.mode), status=status).observe(elapsed)

        return solve_timed

    def count_calendar_round(self, at: dt.datetime, fired_at: dt.datetime) -> None:
        """A calendar round requested at `fired_at`, planned for `at`."""
        self.calendar_fired.inc()
        self.calendar_fire_delay.observe(max((fired_at - at).total_seconds(), 0.0))

    def show_next_round(self, planned: Any) -> None:
        """The next planned calendar round (a PlannedRound, or None)."""
        self.calendar_next_round.set(planned.at.timestamp() if planned is not None else 0)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
