"""Fixtures of the fault-injection suite: a private PostgreSQL cluster (restartable), a
nats-server per test on a fixed port (restartable), and the service as a child process."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from services.nats.embedded import EmbeddedNats
from services.store.db import make_engine
from tests.faults.corpus import Corpus, build_corpus
from tests.faults.harness import Probe, Recorder, ServiceProcess, ensure_stream
from tests.faults.oracle import EndState, calm_run
from tests.faults.pgcluster import PrivatePostgres, free_port

FAULTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/faults is an integration test."""
    for item in items:
        if FAULTS_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def database_url(private_pg: PrivatePostgres) -> Iterator[str]:
    """A fresh database on the private cluster."""
    name = f"faults_{uuid.uuid4().hex[:10]}"
    admin = create_engine(private_pg.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield private_pg.database_url(name)
    if private_pg.is_running():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """A nats-server that keeps its port and its JetStream files across a restart."""
    server = EmbeddedNats(tmp_path / "broker", port=free_port())
    await asyncio.to_thread(server.start)
    await ensure_stream(server.url)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
def start_service(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    """Builds (not starts) the service process; any left running is killed at the end."""
    made: list[ServiceProcess] = []

    def build(**settings: str) -> ServiceProcess:
        values = {
            "broker_url": nats_server.url,
            "database_url": database_url,
            "data_dir": str(tmp_path / "service"),
            "batch_size": "500",
            "round_time_limit_seconds": "30",
            "http_port": "0",  # no probe server: another process may hold 8080
            **settings,
        }
        # the relay in batches as small as the intake's (its own default is 2,000): the kill
        # tests' mid-relay moments need a relay that marks its progress in small steps
        values.setdefault("relay_batch_size", values["batch_size"])
        service = ServiceProcess(values, tmp_path / f"service-{len(made)}.log")
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


@pytest.fixture
async def probe(nats_server: EmbeddedNats, engine: Engine) -> AsyncIterator[Probe]:
    probe = Probe(nats_server.url, engine)
    yield probe
    await probe.close()


@pytest.fixture
async def recorder(nats_server: EmbeddedNats) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    await recorder.start(nats_server.url)
    yield recorder
    await recorder.stop()


@pytest.fixture(scope="session")
def year_corpus() -> tuple[Corpus, EndState]:
    """20,000 deliveries of one program year and the oracle's end state."""
    corpus = build_corpus(20_000, seed=11, applicants=14_200, vacancies=1_400)
    return corpus, calm_run(corpus.clean)


@pytest.fixture(scope="session")
def small_corpus() -> tuple[Corpus, EndState]:
    """5,000 deliveries of one program year and the oracle's end state."""
    corpus = build_corpus(5_000, seed=12, applicants=3_600, vacancies=360)
    return corpus, calm_run(corpus.clean)
