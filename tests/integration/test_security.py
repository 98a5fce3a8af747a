"""Broker access over real nats-servers started by the test (user/password, token, TLS with a
throwaway CA) and database credentials that never reach logs or error texts."""

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from services.nats.embedded import EmbeddedNats
from services.nats.errors import BrokerAccessError
from services.runtime import publish_events, running_service, wait_round
from services.sample.generator import generate_year, round_request
from services.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "broker-Pa55-3c9e"
TOKEN = "broker-t0ken-81d2"
DB_PASSWORD = "db-Pa55-word-5be1"
FAIL_FAST_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    return key, cert


def _issue(directory: Path, ca: tuple[Path, Path], name: str, usage: str) -> tuple[Path, Path]:
    key, csr, cert = (directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", f"/CN={name}")  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
             "-out", cert, "-days", "1", "-extfile", extensions)  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA with a server and a client certificate, and a second, untrusted CA."""
    directory = tmp_path_factory.mktemp("pki")
    ca = _make_ca(directory, "test-ca")
    server_cert, server_key = _issue(directory, ca, "server", "serverAuth")
    client_cert, client_key = _issue(directory, ca, "client", "clientAuth")
    _, other_ca = _make_ca(directory, "other-ca")
    return {"ca": ca[1], "server_cert": server_cert, "server_key": server_key,
            "client_cert": client_cert, "client_key": client_key, "other_ca": other_ca}  # fmt: skip


def _tls_args(pki: dict[str, Path]) -> list[str]:
    return ["--tls", "--tlscert", str(pki["server_cert"]), "--tlskey", str(pki["server_key"]),
            "--tlsverify", "--tlscacert", str(pki["ca"])]  # fmt: skip


def _settings(url: str, database_url: str, data_dir: Path, **access: Any) -> Settings:
    return Settings(
        broker_url=url,
        database_url=database_url,
        data_dir=data_dir,
        batch_size=100,
        round_time_limit_seconds=10,
        **access,
    )


async def _events_in_round_out(settings: Settings, round_id: str = "2023-summer-sec") -> None:
    """Publish a small year and a round with the client helpers; the service answers it."""
    bodies = generate_year(seed=5, applicants=30, vacancies=5, program_year=2023)
    bodies.append(round_request(round_id, 2023, "summer", seq=1))
    async with running_service(settings) as service:
        sent = await publish_events(settings, bodies)
        answer = await wait_round(settings, round_id, timeout=60)
        assert service.parts.consumer.batches > 0
    assert sent == len(bodies)
    assert answer["type"] == "jip.round.completed.v1"
    assert answer["data"]["placed"] > 0


async def test_with_the_right_user_and_password_events_go_in_and_the_round_comes_out(
    tmp_path: Path, fresh_database_url: str
):
    with EmbeddedNats(tmp_path, extra_args=["--user", "intake", "--pass", PASSWORD]) as server:
        settings = _settings(
            server.url, fresh_database_url, tmp_path, broker_user="intake", broker_password=PASSWORD
        )
        await _events_in_round_out(settings)


async def test_with_the_right_token_events_go_in_and_the_round_comes_out(
    tmp_path: Path, fresh_database_url: str
):
    with EmbeddedNats(tmp_path, extra_args=["--auth", TOKEN]) as server:
        settings = _settings(server.url, fresh_database_url, tmp_path, broker_token=TOKEN)
        await _events_in_round_out(settings)


async def test_over_mutual_tls_with_a_password_events_go_in_and_the_round_comes_out(
    tmp_path: Path, fresh_database_url: str, pki: dict[str, Path]
):
    args = [*_tls_args(pki), "--user", "intake", "--pass", PASSWORD]
    with EmbeddedNats(tmp_path, extra_args=args) as server:
        settings = _settings(
            server.url.replace("nats://", "tls://"),
            fresh_database_url,
            tmp_path,
            broker_user="intake",
            broker_password=PASSWORD,
            broker_tls_ca=pki["ca"],
            broker_tls_cert=pki["client_cert"],
            broker_tls_key=pki["client_key"],
        )
        await _events_in_round_out(settings)


async def _refusal(settings: Settings) -> tuple[BrokerAccessError, float]:
    started = time.monotonic()
    with pytest.raises(BrokerAccessError) as raised:
        async with asyncio.timeout(2 * FAIL_FAST_SECONDS), running_service(settings):
            pass
    return raised.value, time.monotonic() - started


async def test_a_wrong_password_stops_the_service_within_seconds_naming_the_url_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    with EmbeddedNats(tmp_path, extra_args=["--user", "intake", "--pass", PASSWORD]) as server:
        wrong = "not-" + PASSWORD
        settings = Settings(
            broker_url=server.url, broker_user="intake", broker_password=wrong, data_dir=tmp_path
        )
        error, elapsed = await _refusal(settings)

    assert elapsed < FAIL_FAST_SECONDS
    assert str(error) == f"NATS at {server.url} refused the credentials (authorization violation)"
    assert wrong not in caplog.text and PASSWORD not in caplog.text


async def test_a_wrong_token_stops_the_client_helpers_at_once(tmp_path: Path):
    with EmbeddedNats(tmp_path, extra_args=["--auth", TOKEN]) as server:
        settings = Settings(broker_url=server.url, broker_token="wrong-token")
        started = time.monotonic()
        with pytest.raises(BrokerAccessError, match="refused the credentials"):
            async with asyncio.timeout(2 * FAIL_FAST_SECONDS):
                await publish_events(settings, [round_request("r", 2023, "summer")])

    assert time.monotonic() - started < FAIL_FAST_SECONDS


async def test_a_server_certificate_from_an_unknown_ca_stops_the_service_within_seconds(
    tmp_path: Path, pki: dict[str, Path]
):
    with EmbeddedNats(tmp_path, extra_args=_tls_args(pki)) as server:
        settings = Settings(
            broker_url=server.url,
            data_dir=tmp_path,
            broker_tls_ca=pki["other_ca"],
            broker_tls_cert=pki["client_cert"],
            broker_tls_key=pki["client_key"],
        )
        error, elapsed = await _refusal(settings)

    assert elapsed < FAIL_FAST_SECONDS
    assert str(error).startswith(f"NATS at {server.url}: TLS certificate not trusted")


async def test_once_connected_the_service_reconnects_after_the_authenticated_broker_restarts(
    tmp_path: Path, fresh_database_url: str
):
    args = ["--user", "intake", "--pass", PASSWORD]
    server = EmbeddedNats(tmp_path, port=free_port(), extra_args=args)
    server.start()
    try:
        settings = _settings(
            server.url, fresh_database_url, tmp_path, broker_user="intake", broker_password=PASSWORD
        )
        bodies = generate_year(seed=5, applicants=30, vacancies=5, program_year=2023)
        bodies.append(round_request("2023-summer-again", 2023, "summer", seq=1))
        async with running_service(settings) as service:
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(3)  # several failed reconnect attempts
            await asyncio.to_thread(server.start)
            await publish_events(settings, bodies)
            answer = await wait_round(settings, "2023-summer-again", timeout=60)
            assert service.parts.broker.connection.is_connected
        assert answer["type"] == "jip.round.completed.v1"
    finally:
        server.stop()


def _serve(
    env: dict[str, str], timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from services.cli.main import main; main()", "serve"],
        env={**os.environ, "INTERN_MATCH_HTTP_PORT": str(free_port()), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.monotonic() - started


def test_intern_match_serve_exits_non_zero_with_the_refusal_message(tmp_path: Path):
    with EmbeddedNats(tmp_path, extra_args=["--user", "intake", "--pass", PASSWORD]) as server:
        done, elapsed = _serve({
            "INTERN_MATCH_BROKER_URL": server.url,
            "INTERN_MATCH_BROKER_USER": "intake",
            "INTERN_MATCH_BROKER_PASSWORD": "wrong-" + PASSWORD,
            "INTERN_MATCH_DATA_DIR": str(tmp_path / "service"),
        })  # fmt: skip

    assert done.returncode == 1
    message = f"NATS at {server.url} refused the credentials (authorization violation)"
    assert message in " ".join(done.stderr.split())
    assert PASSWORD not in done.stderr + done.stdout
    assert elapsed < 30  # interpreter start and migrations included


def _unreachable_database_url() -> str:
    return f"postgresql+psycopg://intern:{DB_PASSWORD}@127.0.0.1:{free_port()}/intern_match"


async def test_an_unreachable_database_shows_no_password_in_errors_logs_or_settings(
    tmp_path: Path, nats_url: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    settings = Settings(broker_url=nats_url, database_url=_unreachable_database_url())

    with pytest.raises(Exception) as raised:  # noqa: B017 - whatever the driver raises
        async with running_service(settings):
            pass

    assert "Connection refused" in str(raised.value) or "connect" in str(raised.value).lower()
    texts = [str(raised.value), repr(raised.value), caplog.text, repr(settings), str(settings)]
    assert all(DB_PASSWORD not in text for text in texts)


def test_intern_match_serve_with_an_unreachable_database_shows_no_password(
    tmp_path: Path, nats_url: str
):
    done, _ = _serve({
        "INTERN_MATCH_BROKER_URL": nats_url,
        "INTERN_MATCH_DATABASE_URL": _unreachable_database_url(),
        "INTERN_MATCH_DATA_DIR": str(tmp_path / "service"),
    })  # fmt: skip

    assert done.returncode != 0
    assert "INTERN_MATCH_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr
    assert DB_PASSWORD not in done.stderr + done.stdout
