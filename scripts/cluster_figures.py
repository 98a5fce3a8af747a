"""Issue 16's figures: takeover time of a standby over repeated SIGKILLs of the active instance,
intake throughput on a three-node NATS cluster (stream replicas 3, fsync always) beside a single
nats-server in the same run, and events lost or doubled in each cluster fault test.

    uv run python -m scripts.cluster_figures --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from nats.js.api import StorageType
from sqlalchemy import create_engine, make_url, text

from contracts import STREAM
from scripts.bench_intake import generate
from services.nats.broker import DUPLICATE_WINDOW_SECONDS, INTAKE_DURABLE
from services.nats.embedded import EmbeddedNats
from services.runtime import running_service
from services.settings import Settings
from services.store.db import make_engine
from services.store.lease import read_lease
from tests.faults.harness import ServiceProcess, connect
from tests.faults.natscluster import NatsCluster

SUBJECT = "jip.applicant.registered"


def new_database(server_url: str) -> str:
    name = f"figures_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def publish(url: str, bodies: list[bytes]) -> int:
    client = await connect(url)
    js = client.jetstream()
    last = 0
    for start in range(0, len(bodies), 512):
        acks = await asyncio.gather(*(js.publish(SUBJECT, b) for b in bodies[start : start + 512]))
        last = acks[-1].seq
    await client.drain()
    return last


async def acked(url: str, seq: int, timeout: float) -> tuple[float, float]:
    """Monotonic times of the intake's first delivery and of its ack of stream sequence `seq`."""
    client = await connect(url)
    first, deadline = None, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                info = await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE, timeout=2)
            except Exception:
                info = None
            now = time.monotonic()
            if info is not None and first is None and info.delivered.stream_seq > 0:
                first = now
            if info is not None and info.ack_floor.stream_seq >= seq:
                return first or now, now
            await asyncio.sleep(0.02)
    finally:
        await client.close()
    raise TimeoutError(f"stream sequence {seq} not acknowledged in {timeout} s")


async def intake_rate(url: str, database_url: str, replicas: int, events: int) -> float:
    """Events per second from the intake's first delivery to its ack of the last one, the
    events published (to stream JIP at `replicas`) before the service starts."""
    bodies = generate(events, uuid.uuid4().hex[:8])
    client = await connect(url)
    await client.jetstream().add_stream(
        name=STREAM,
        subjects=["jip.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )
    await client.close()
    last = await publish(url, bodies)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            broker_url=url,
            database_url=database_url,
            data_dir=Path(tmp),
            stream_replicas=replicas,
            http_port=0,
        )
        async with running_service(settings):
            first, done = await acked(url, last, timeout=600)
    return events / (done - first)


async def throughput(server_url: str, events: int, root: Path) -> tuple[float, float]:
    single = EmbeddedNats(root / "single")
    await asyncio.to_thread(single.start)
    try:
        alone = await intake_rate(single.url, new_database(server_url), 1, events)
    finally:
        await asyncio.to_thread(single.stop)
    cluster = NatsCluster(root / "cluster")
    await asyncio.to_thread(cluster.start)
    try:
        await cluster.ready(replicas=3)
        clustered = await intake_rate(cluster.url, new_database(server_url), 3, events)
    finally:
        await asyncio.to_thread(cluster.stop)
    return alone, clustered


async def takeovers(server_url: str, kills: int, lease: float, root: Path) -> list[float]:
    """Seconds from a SIGKILL of the active instance to the standby's ack of an event published
    right after the kill, `kills` times (the killed one comes back as the standby)."""
    cluster = NatsCluster(root / "takeover")
    await asyncio.to_thread(cluster.start)
    database_url = new_database(server_url)
    engine = make_engine(database_url)
    instances: dict[str, ServiceProcess] = {}
    try:
        await cluster.ready(replicas=3)
        for name in ("a", "b"):
            settings = {
                "broker_url": cluster.url,
                "database_url": database_url,
                "data_dir": str(root / f"service-{name}"),
                "http_port": "0",
                "stream_replicas": "3",
                "lease_seconds": str(lease),
                "instance_id": name,
            }
            instances[name] = ServiceProcess(settings, root / f"service-{name}.log")
            instances[name].start()
            instances[name].wait_started()
        times = []
        for k in range(kills):
            holder = await asyncio.to_thread(_holder, engine)
            instances[holder].kill()
            killed_at = time.monotonic()
            seq = await publish(cluster.url, generate(1, f"kill{k}-{uuid.uuid4().hex[:6]}"))
            _, done = await acked(cluster.url, seq, timeout=120)
            times.append(done - killed_at)
            instances[holder].start()
            instances[holder].wait_started()
        return times
    finally:
        for instance in instances.values():
            instance.close()
        engine.dispose()
        await asyncio.to_thread(cluster.stop)


def _holder(engine: object) -> str:
    found = read_lease(engine)  # type: ignore[arg-type]
    if found is None:
        raise RuntimeError("no instance holds the lease")
    return found.holder


def fault_tests() -> list[tuple[str, str]]:
    """Each cluster fault test and its verdict: it passes only when the end state equals the
    calm run's and no event was lost or published twice with different bodies."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "cluster", "-q", "-rA", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = []
    for line in run.stdout.splitlines():
        verdict, _, test = line.partition(" ")
        if verdict in ("PASSED", "FAILED", "ERROR") and test.startswith("tests/") and "::" in test:
            found.append((test.split("::")[-1].split(" ")[0], verdict))
    return found


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        alone, clustered = await throughput(args.database_url, args.events, root)
        print(f"intake, single nats-server: {alone:,.0f} events/s ({args.events} events)")
        print(
            f"intake, three-node cluster (R3, sync always): {clustered:,.0f} events/s "
            f"= {clustered / alone:.0%} of the single server"
        )
        times = await takeovers(args.database_url, args.kills, args.lease_seconds, root)
        if times:
            print(
                f"takeover after SIGKILL of the active instance (lease {args.lease_seconds:g} s, "
                f"{len(times)} kills): median {statistics.median(times):.1f} s, "
                f"max {max(times):.1f} s"
            )
    if args.fault_tests:
        for test, verdict in fault_tests():
            lost = "0 lost, 0 doubled" if verdict == "PASSED" else "see pytest"
            print(f"{test}: {verdict} ({lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    parser.add_argument("--fault-tests", action="store_true", help="also run pytest -m cluster")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
