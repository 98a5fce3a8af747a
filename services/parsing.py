"""Validating inbound bodies, reduced to what the intake writes. Pure: it may run in a worker
process, so the intake's event loop and its commits do not wait for pydantic.

Imports contracts and the standard library only (a worker process starts in well under a second).
"""

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO, NamedTuple

from contracts import ContractError, Kind, parse_event

log = logging.getLogger(__name__)

AGGREGATE_OF: dict[Kind, tuple[str, str]] = {
    Kind.APPLICANT_REGISTERED: ("applicant", "applicant_id"),
    Kind.APPLICANT_WITHDRAWN: ("applicant", "applicant_id"),
    Kind.VACANCY_POSTED: ("vacancy", "vacancy_id"),
    Kind.VACANCY_CLOSED: ("vacancy", "vacancy_id"),
}
ENDS = frozenset({Kind.APPLICANT_WITHDRAWN, Kind.VACANCY_CLOSED})


class Accepted(NamedTuple):
    """A valid event: its inbox key, and for a snapshot its aggregate, version and payload JSON."""

    kind: Kind
    source: str
    event_id: str
    aggregate_id: str | None = None
    version: int = 0
    program_year: int | None = None
    payload: str | None = None
    """The payload as compact JSON for a registration or posting; None otherwise."""


Parsed = Accepted | ContractError


def parse_one(subject: str | None, body: bytes) -> Parsed:
    """Validate one body as it arrived (`subject` None for file input)."""
    try:
        event = parse_event(body, subject)
    except ContractError as error:
        return error
    kind = event.kind
    if kind not in AGGREGATE_OF:
        return Accepted(kind, event.source, event.id)
    data = event.data
    ends = kind in ENDS
    return Accepted(
        kind,
        event.source,
        event.id,
        getattr(data, AGGREGATE_OF[kind][1]),
        data.version,
        None if ends else data.program_year,
        None if ends else data.model_dump_json(),
    )


def parse_batch(messages: Sequence[tuple[str | None, bytes]]) -> list[Parsed]:
    """Validate (subject, body) pairs in order."""
    return [parse_one(subject, body) for subject, body in messages]


class BatchParser:
    """Parses batches in a worker process (`python -m services.parse_worker`, fed pickled
    batches over its stdin), or in a thread when `workers` is 0 or the worker is gone.

    The worker imports contracts only, so it is up in about half a second; it exits when its
    stdin closes, so it never outlives the service, even one killed with SIGKILL.
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._worker: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._restarts = 0

    async def start(self) -> None:
        if self.workers > 0 and self._worker is None:
            self._worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.parse_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )

    async def parse(self, messages: Sequence[tuple[str | None, bytes]]) -> list[Parsed]:
        async with self._lock:  # one batch at a time: answers come back in request order
            worker = self._worker
            if worker is not None:
                try:
                    return await _ask(worker, messages)
                except (ConnectionError, asyncio.IncompleteReadError) as error:
                    await self._replace(error)
        return await asyncio.to_thread(parse_batch, messages)

    async def _replace(self, error: Exception) -> None:
        """Start a new worker after one died (at most 3 times); this batch is parsed in a thread."""
        log.warning(
            "the parsing worker is gone; this batch is parsed in the service process",
            extra={"error": type(error).__name__, "restarts": self._restarts},
        )
        await self.close()
        if self._restarts < 3:
            self._restarts += 1
            await self.start()

    async def close(self) -> None:
        """Close the worker's stdin; it exits after the batch it holds."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with contextlib.suppress(Exception):
            assert worker.stdin is not None
            worker.stdin.close()
        try:
            await asyncio.wait_for(worker.wait(), 5.0)
        except TimeoutError:
            worker.kill()
            await worker.wait()


async def _ask(worker: asyncio.subprocess.Process, messages: Sequence[Any]) -> list[Parsed]:
    assert worker.stdin is not None and worker.stdout is not None
    request = pickle.dumps(list(messages), protocol=pickle.HIGHEST_PROTOCOL)
    worker.stdin.write(len(request).to_bytes(8, "big") + request)
    await worker.stdin.drain()
    size = int.from_bytes(await worker.stdout.readexactly(8), "big")
    answer: list[Parsed] = pickle.loads(await worker.stdout.readexactly(size))
    return answer


def serve_parsing(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker's loop: a length-prefixed pickled batch in, its parsed list out, until EOF."""
    while len(header := requests.read(8)) == 8:
        messages = pickle.loads(requests.read(int.from_bytes(header, "big")))
        answer = pickle.dumps(parse_batch(messages), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(len(answer).to_bytes(8, "big") + answer)
        answers.flush()
