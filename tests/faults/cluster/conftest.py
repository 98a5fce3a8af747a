"""Fixtures of the cluster fault tests (issue 16): three real nats-server nodes on loopback at
stream replicas 3, service instances as child processes on them, and a probe and recorder that
survive the loss of one node."""

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.faults.cluster.lease_watch import LEASE_SECONDS
from tests.faults.harness import Probe, ServiceProcess
from tests.faults.natscluster import ClusterRecorder, NatsCluster


@pytest.fixture
async def nats_cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "cluster")
    await asyncio.to_thread(cluster.start)
    try:
        await cluster.ready(replicas=3)
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


@pytest.fixture
def start_instance(
    nats_cluster: NatsCluster, database_url: str, tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    """Builds (not starts) service instance `name` on the cluster; all are killed at the end."""
    made: list[ServiceProcess] = []

    def build(name: str, **settings: str) -> ServiceProcess:
        values = {
            "broker_url": nats_cluster.url,
            "database_url": database_url,
            "data_dir": str(tmp_path / f"service-{name}"),
            "batch_size": "200",
            "round_time_limit_seconds": "30",
            "http_port": "0",
            "stream_replicas": "3",
            "lease_seconds": LEASE_SECONDS,
            "instance_id": name,
            **settings,
        }
        # the relay in batches as small as the intake's (its own default is 2,000): the kill
        # tests' mid-relay moments need a relay that marks its progress in small steps
        values.setdefault("relay_batch_size", values["batch_size"])
        service = ServiceProcess(values, tmp_path / f"service-{name}.log")
        made.append(service)
        return service

    yield build
    for service in made:
        if service.process is not None and service.alive:
            service.process.send_signal(signal.SIGCONT)
        service.close()


@pytest.fixture
async def cluster_probe(nats_cluster: NatsCluster, engine: Engine) -> AsyncIterator[Probe]:
    probe = Probe(nats_cluster.url, engine)
    yield probe
    await probe.close()


@pytest.fixture
async def cluster_recorder(nats_cluster: NatsCluster) -> AsyncIterator[ClusterRecorder]:
    recorder = ClusterRecorder()
    await recorder.start(nats_cluster)
    yield recorder
    await recorder.stop()
