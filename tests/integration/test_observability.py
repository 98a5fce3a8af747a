"""Probes, metrics and logs of a running service over real NATS JetStream and PostgreSQL."""

import asyncio
import contextlib
import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from services.nats.broker import make_broker
from services.nats.embedded import EmbeddedNats
from services.observability.errors import ProbesUnavailableError
from services.observability.health import HealthServer
from services.observability.logs import JsonFormatter
from services.observability.metrics import ServiceMetrics
from services.runtime import RunningService, publish_events, running_service, wait_round
from services.sample.generator import generate_year, round_request
from services.settings import Settings

pytestmark = pytest.mark.integration

ROUND = "2023-summer-observed"
DB_PASSWORD = "db-Pa55-word-91c0"
NON_PROPAGATING = ("faststream", "faststream.access.nats")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    """Status, content type and body of `GET path` on 127.0.0.1:port."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers["Content-Type"], body


def samples(exposition: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
    }


def _year() -> list[bytes]:
    bodies = generate_year(seed=11, applicants=60, vacancies=8, program_year=2023)
    return [*bodies, round_request(ROUND, 2023, "summer", seq=1)]


def _settings(url: str, database_url: str, data_dir: Path, **more: Any) -> Settings:
    return Settings(
        broker_url=url,
        database_url=database_url,
        data_dir=data_dir,
        batch_size=50,
        round_time_limit_seconds=10,
        http_port=free_port(),
        **more,
    )


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[RunningService]:
    async with running_service(settings, serve_http=True) as service:
        assert service.probes is not None and service.probes.port == settings.http_port
        yield service


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log record at DEBUG, FastStream's own loggers included, as the service formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(), *map(logging.getLogger, NON_PROPAGATING)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def personal_data(bodies: list[bytes]) -> set[str]:
    """Given names, family names and dates of birth of the applicants in `bodies`."""
    found = set()
    for body in bodies:
        data = json.loads(body).get("data")
        if isinstance(data, dict):
            for field in ("given_name", "family_name", "date_of_birth"):
                if isinstance(data.get(field), str) and data[field].strip():
                    found.add(data[field])
    return found


async def test_no_applicant_name_or_birth_date_reaches_any_log_line_and_every_line_is_json(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path, json_log: io.StringIO
):
    bodies = _year()
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path)
    async with served(settings) as service:
        await publish_events(settings, bodies, broker_url=service.broker_url)
        await wait_round(settings, ROUND, timeout=60, broker_url=service.broker_url)
        for path in ("/healthz", "/readyz", "/metrics", "/nowhere"):
            await http_get(settings.http_port, path)

    lines = json_log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    loggers = {r["logger"] for r in records}
    assert {"services.runtime", "services.faststream"} <= loggers
    assert any(name.startswith("nats") for name in loggers) or "services.nats.security" in loggers
    secrets = personal_data(bodies)
    assert len(secrets) > 100
    leaks = {s for s in secrets for line in lines if re.search(rf"\b{re.escape(s)}\b", line)}
    assert leaks == set()


async def test_probes_report_liveness_readiness_and_the_intake_outcome_counts(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    bodies = _year()
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path)
    async with served(settings) as service:
        port = settings.http_port
        assert (await http_get(port, "/healthz"))[0] == 200
        await publish_events(settings, bodies, broker_url=service.broker_url)
        await wait_round(settings, ROUND, timeout=60, broker_url=service.broker_url)
        metrics = await _when_outbox_drained(port)
        status, content_type, body = await http_get(port, "/readyz")

    assert status == 200 and content_type == "application/json"
    readiness = json.loads(body)
    assert readiness["ready"] is True
    assert {name: check["ok"] for name, check in readiness["checks"].items()} == {
        "broker": True, "database": True, "consumer_lag": True, "intake_progress": True,
        "outbox_relay": True,
    }  # fmt: skip
    assert readiness["checks"]["outbox_relay"] == {"ok": True, "parked": 0}
    assert readiness["checks"]["consumer_lag"]["num_pending"] == 0
    counts = {
        outcome: metrics[("intern_match_events_total", frozenset({("outcome", outcome)}))]
        for outcome in ("accepted", "duplicate", "stale", "rejected")
    }
    assert sum(counts.values()) == len(bodies)
    assert counts["accepted"] > 0 and counts["rejected"] > 0
    histogram = "intern_match_round_duration_seconds_count"
    rounds = [
        v for (n, labels), v in metrics.items() if n == histogram and ("mode", "optimal") in labels
    ]
    assert rounds == [1.0]
    assert metrics[("intern_match_consumer_lag", frozenset())] == 0
    received = [v for (n, _), v in metrics.items() if n == "faststream_received_messages_total"]
    assert sum(received) > 0


async def _when_outbox_drained(port: int, timeout: float = 30) -> dict[Any, float]:
    """The metrics once the relay has sent every outbox row (the round's events)."""
    async with asyncio.timeout(timeout):
        while True:
            status, content_type, body = await http_get(port, "/metrics")
            assert status == 200 and content_type.startswith("text/plain")
            metrics = samples(body)
            if metrics[("intern_match_outbox_backlog", frozenset())] == 0:
                return metrics
            await asyncio.sleep(0.2)


async def test_readyz_is_503_naming_the_database_when_it_does_not_answer(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    away = f"postgresql+psycopg://intern:{DB_PASSWORD}@127.0.0.1:{free_port()}/intern_match"
    engine = create_engine(away)
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path)
    async with running_service(settings) as service:
        probes = HealthServer(service.parts.broker, engine, service.parts.metrics)
        port = await probes.start("127.0.0.1", 0)
        try:
            status, _, body = await http_get(port, "/readyz")
        finally:
            await probes.stop()
            engine.dispose()

    assert status == 503
    checks = json.loads(body)["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["broker"]["ok"] is True
    assert DB_PASSWORD.encode() not in body


async def test_readyz_is_503_while_the_broker_is_away_and_200_once_it_is_back(
    fresh_database_url: str, tmp_path: Path
):
    server = EmbeddedNats(tmp_path, port=free_port())
    server.start()
    try:
        settings = _settings(server.url, fresh_database_url, tmp_path)
        async with served(settings):
            await asyncio.to_thread(server.stop)
            away = await http_get(settings.http_port, "/readyz")
            await asyncio.to_thread(server.start)
            back = await _until_ready(settings.http_port)
    finally:
        server.stop()

    assert away[0] == 503
    assert json.loads(away[2])["checks"]["broker"] == {"ok": False}
    assert back[0] == 200


async def _until_ready(port: int, timeout: float = 20) -> tuple[int, str, bytes]:
    async with asyncio.timeout(timeout):
        while (answer := await http_get(port, "/readyz"))[0] != 200:
            await asyncio.sleep(0.2)
    return answer


async def test_readyz_fails_above_the_configured_lag_and_reports_num_pending(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path)
    async with running_service(settings) as service:
        engine_url = service.engine.url
    waiting = generate_year(seed=3, applicants=20, vacancies=3, program_year=2023)
    await publish_events(settings, waiting)  # the durable consumer exists; nobody consumes
    broker = make_broker(fresh_nats_url, settings)
    await broker.connect()
    engine = create_engine(engine_url)
    probes = HealthServer(broker, engine, ServiceMetrics(), max_lag=len(waiting) - 1)
    port = await probes.start("127.0.0.1", 0)
    try:
        status, _, body = await http_get(port, "/readyz")
        metrics = samples((await http_get(port, "/metrics"))[2])
    finally:
        await probes.stop()
        await broker.stop()
        engine.dispose()

    assert status == 503
    assert json.loads(body)["checks"]["consumer_lag"]["num_pending"] == len(waiting)
    assert json.loads(body)["checks"]["consumer_lag"]["ok"] is False
    assert metrics[("intern_match_consumer_lag", frozenset())] == len(waiting)


async def test_a_taken_probe_port_stops_the_service_with_a_message_naming_the_setting(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.http_port))
        squatter.listen()
        with pytest.raises(ProbesUnavailableError, match="INTERN_MATCH_HTTP_PORT") as raised:
            async with served(settings):
                pass

    assert f"127.0.0.1:{settings.http_port}" in str(raised.value)


async def test_http_port_0_serves_no_probes(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    settings = _settings(fresh_nats_url, fresh_database_url, tmp_path).model_copy(
        update={"http_port": 0}
    )
    async with running_service(settings, serve_http=True) as service:
        assert service.probes is None
