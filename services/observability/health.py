"""HTTP probes of a running service on plain asyncio streams: /healthz (liveness, and the next
planned calendar round), /readyz
(broker connected, database answers SELECT 1, intake consumer lag, intake not stalled) and
/metrics (Prometheus).
Imports the broker's names, metrics, tables and SQLAlchemy; never matching or the intake logic.
"""

import asyncio
import json
import logging
from typing import Any

from faststream.nats import NatsBroker
from nats.js.api import ConsumerInfo
from sqlalchemy import Engine, func, select, text

from contracts import STREAM
from services.intake.progress import IntakeProgress
from services.nats.broker import INTAKE_DURABLE
from services.observability.errors import ProbesUnavailableError
from services.observability.metrics import CONTENT_TYPE, ServiceMetrics
from services.outbound.relay import OutboxRelay
from services.rounds.calendar import shown_utc
from services.rounds.timer import CalendarTimer
from services.store.leadership import Leadership
from services.store.lease import read_lease
from services.store.tables import OutboxEntry, table_of

log = logging.getLogger(__name__)

_OUTBOX = table_of(OutboxEntry)
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
Check = dict[str, Any]
RELAY_BLOCKED_AFTER = 30.0
"""Seconds the outbox relay may fail every pass before readiness turns red."""


class HealthServer:
    """Serves the probes of one service on `host:port` (port 0: any free port, see `.port`)."""

    def __init__(
        self,
        broker: NatsBroker,
        engine: Engine,
        metrics: ServiceMetrics,
        *,
        max_lag: int | None = None,
        check_timeout: float = 2.0,
        relay: OutboxRelay | None = None,
        relay_blocked_after: float = RELAY_BLOCKED_AFTER,
        progress: IntakeProgress | None = None,
        calendar: CalendarTimer | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        """`relay`: the outbox relay whose blocking turns readiness red after
        `relay_blocked_after` seconds (None: no such check). `leadership`: this instance's role,
        named by /healthz; a standby is ready when the database answers (it can take over)."""
        self.leadership = leadership
        self.relay = relay
        self.relay_blocked_after = relay_blocked_after
        self.broker = broker
        self.engine = engine
        self.metrics = metrics
        self.max_lag = max_lag
        self.progress = progress
        self.calendar = calendar
        self.check_timeout = check_timeout
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port. An address in use raises ProbesUnavailableError."""
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ProbesUnavailableError(
                f"cannot listen on {host}:{port} for /healthz, /readyz, /metrics ({reason}); "
                "set INTERN_MATCH_HTTP_PORT to a free port, or 0 to disable them"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("probes listening", extra={"http_host": host, "http_port": self.port})
        return self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    def follow(
        self,
        broker: NatsBroker,
        relay: OutboxRelay,
        progress: IntakeProgress,
        calendar: CalendarTimer | None = None,
    ) -> None:
        """Check these from now on: a new term as the active instance built them."""
        self.broker, self.relay, self.progress = broker, relay, progress
        self.calendar = calendar

    async def liveness(self) -> dict[str, Any]:
        """The /healthz body: alive; this instance's role and the lease's holder (when one is
        kept); the next planned calendar round (null when none is planned; `calendar: "off"`
        without calendar files)."""
        body: dict[str, Any] = {"status": "alive"}
        leadership = self.leadership
        if leadership is not None:
            body |= {"role": leadership.role.value, "instance": leadership.holder}
            found = await self._bounded(asyncio.to_thread(_lease_check, self.engine))
            body["lease"] = {k: v for k, v in found.items() if k != "ok"}
        if self.calendar is None:
            body["calendar"] = "off"
            return body
        upcoming = self.calendar.next_round
        body["next_round"] = None
        if upcoming is not None:
            body["next_round"] = {
                "round_id": upcoming.round_id,
                "at": shown_utc(upcoming.at),
                "program_year": upcoming.program_year,
                "period": upcoming.period,
            }
        return body

    async def readiness(self) -> tuple[bool, dict[str, Check]]:
        """Each check with `ok`; ready when all are ok."""
        if self.leadership is not None and not self.leadership.is_active():
            database = await self._check_database()
            return database["ok"], {"database": database, "role": {"ok": True, "role": "standby"}}
        broker, database, (lag, progress) = await asyncio.gather(
            self._check_broker(), self._check_database(), self._check_consumer()
        )
        checks = {
            "broker": broker,
            "database": database,
            "consumer_lag": lag,
            "intake_progress": progress,
        }
        if self.relay is not None:
            checks["outbox_relay"] = self._check_relay(self.relay)
        return all(c["ok"] for c in checks.values()), checks

    async def _check_broker(self) -> Check:
        connected = await self.broker.ping(timeout=self.check_timeout)
        return {"ok": connected}

    async def _check_database(self) -> Check:
        return await self._bounded(asyncio.to_thread(_select_one, self.engine))

    async def _check_consumer(self) -> tuple[Check, Check]:
        """The consumer's lag (num_pending), and whether the intake moves while work waits."""

        async def info() -> Check:
            found = await self.broker.connection.jetstream().consumer_info(
                STREAM, INTAKE_DURABLE, timeout=self.check_timeout
            )
            return {"ok": True, "info": found}

        answer = await self._bounded(info())
        if not answer["ok"]:
            return answer, answer
        return self._lag(answer["info"]), self._progress(answer["info"])

    def _lag(self, info: ConsumerInfo) -> Check:
        pending = int(info.num_pending or 0)
        self.metrics.consumer_lag.set(pending)
        ok = self.max_lag is None or pending <= self.max_lag
        return {"ok": ok, "num_pending": pending, "durable": INTAKE_DURABLE}

    def _progress(self, info: ConsumerInfo) -> Check:
        """Stalled: messages pending or unacknowledged, and neither the ack floor, a commit nor
        a round moved for the stall threshold (the intake retrying a batch in place)."""
        floor = int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0
        waiting = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        if self.progress is None:
            return {"ok": True, "ack_floor": floor}
        stalled = self.progress.is_stalled(floor, waiting)
        self.metrics.intake_stalled.set(1 if stalled else 0)
        check: Check = {"ok": not stalled, "ack_floor": floor, "waiting": waiting}
        if stalled:
            check["stalled_seconds"] = round(self.progress.stalled_for(), 1)
        return check

    def _check_relay(self, relay: OutboxRelay) -> Check:
        """Not ok while the relay has failed every pass for `relay_blocked_after` seconds: the
        broker refuses its next row (no permission, no stream) or is away, and nothing behind
        that row is published. `parked` counts rows set aside as too large since the start."""
        blocked = relay.blocked_seconds()
        check: Check = {"ok": blocked < self.relay_blocked_after, "parked": relay.parked}
        if blocked:
            check |= {"blocked_seconds": round(blocked, 1), "error": relay.last_error}
        return check

    async def _bounded(self, check: Any) -> Check:
        """The check's result, or not ok with the error's type name (never its text)."""
        try:
            async with asyncio.timeout(self.check_timeout):
                result: Check = await check
                return result
        except Exception as error:
            return {"ok": False, "error": type(error).__name__}

    async def refresh_gauges(self) -> None:
        """Outbox backlog and consumer lag as of now (each left as it was if it cannot be read)."""
        backlog = await self._bounded(asyncio.to_thread(_outbox_backlog, self.engine))
        if backlog["ok"]:
            self.metrics.outbox_backlog.set(backlog["rows"])
            self.metrics.outbox_parked_rows.set(backlog["parked"])
        await self._check_consumer()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                method, path = await _read_request(reader)
                status, content_type, body = await self._route(method, path)
                head = (
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                writer.write(head.encode() + (b"" if method == "HEAD" else body))
                await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass  # a client that sent no request or went away gets no answer
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        route = path.split("?", 1)[0]
        if route == "/healthz":
            return 200, "application/json", json.dumps(await self.liveness()).encode() + b"\n"
        if route == "/readyz":
            ready, checks = await self.readiness()
            body = json.dumps({"ready": ready, "checks": checks}).encode() + b"\n"
            return (200 if ready else 503), "application/json", body
        if route == "/metrics":
            await self.refresh_gauges()
            return 200, CONTENT_TYPE, self.metrics.exposition()
        return 404, "text/plain", b"not found\n"


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """Method and path of the request line; the headers are read and ignored."""
    parts = (await reader.readline()).decode("latin-1").split()
    if len(parts) < 2:
        raise ValueError("no request line")
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass
    return parts[0].upper(), parts[1]


def _select_one(engine: Engine) -> Check:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"ok": True}


def _lease_check(engine: Engine) -> Check:
    found = read_lease(engine)
    if found is None:
        return {"ok": True, "holder": None}
    return {
        "ok": True,
        "holder": found.holder,
        "token": found.token,
        "remaining_seconds": round(found.remaining_seconds, 1),
    }


def _outbox_backlog(engine: Engine) -> Check:
    """Rows waiting for the relay, and rows it parked (neither sent nor waiting)."""
    unsent = _OUTBOX.c.sent_at.is_(None)
    waiting = func.count().filter(_OUTBOX.c.parked_at.is_(None))
    parked = func.count().filter(_OUTBOX.c.parked_at.is_not(None))
    query = select(waiting, parked).select_from(_OUTBOX).where(unsent)
    with engine.connect() as connection:
        rows, parked_rows = connection.execute(query).one()
    return {"ok": True, "rows": int(rows), "parked": int(parked_rows)}
