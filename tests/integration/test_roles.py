"""Two service instances on one stream and one PostgreSQL database: the first is active, the
second stands by; /healthz, /readyz and the metrics say which, and a graceful stop of the
active one hands over at once (issue 16)."""

import asyncio
import json
from pathlib import Path

from services.runtime import running_service
from services.settings import Settings
from tests.integration.test_observability import free_port, http_get, samples


def _settings(url: str, database_url: str, data_dir: Path, name: str) -> Settings:
    return Settings(
        broker_url=url,
        database_url=database_url,
        data_dir=data_dir,
        http_port=free_port(),
        lease_seconds=2,
        instance_id=name,
    )


async def _health(settings: Settings) -> dict:
    status, _, body = await http_get(settings.http_port, "/healthz")
    assert status == 200
    return json.loads(body)


async def test_the_second_instance_stands_by_until_the_active_one_stops_and_then_takes_over(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
):
    first = _settings(fresh_nats_url, fresh_database_url, tmp_path / "a", "a")
    second = _settings(fresh_nats_url, fresh_database_url, tmp_path / "b", "b")
    async with (
        running_service(second, serve_http=True) as b,  # the first to start takes the lease
        running_service(first, serve_http=True) as a,
    ):
        assert b.leadership.is_active() and not a.leadership.is_active()
        health = await _health(first)
        assert health["role"] == "standby" and health["instance"] == "a"
        assert health["lease"]["holder"] == "b" and health["lease"]["token"] == 1
        assert (await _health(second))["role"] == "active"
        status, _, body = await http_get(first.http_port, "/readyz")
        assert status == 200 and json.loads(body)["checks"]["role"]["role"] == "standby"
        _, _, metrics = await http_get(second.http_port, "/metrics")
        found = samples(metrics)
        assert found[("intern_match_role_active", frozenset())] == 1
        assert found[("intern_match_takeovers_total", frozenset())] == 1
        assert found[("intern_match_lease_renewals_total", frozenset())] >= 0

        await b.stop()  # gives the lease back
        await asyncio.wait_for(a.leadership.wait_active(), 5)
        await asyncio.sleep(0.5)
        assert a.parts.app.broker.connection is not None
        health = await _health(first)
        assert health["role"] == "active" and health["lease"]["holder"] == "a"
        assert health["lease"]["token"] == 2
