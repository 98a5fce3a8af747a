"""Validating inbound bodies, reduced to what the intake writes. Pure: it may run in a worker
process, so the intake's event loop and its commits do not wait for pydantic.

Imports contracts, services.intake.errors and the standard library only (a worker process starts
in well under a second).
"""

import asyncio
import contextlib
import datetime as dt
import logging
import pickle
import re
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO, NamedTuple

from contracts import (
    INBOUND_KINDS,
    OUTBOUND_KINDS,
    CloudEvent,
    ContractError,
    FieldError,
    Kind,
    RoundRequested,
    parse_event,
    subject_of,
    type_of,
)
from contracts.body import read_object, unreadable
from contracts.subjects import DLQ_PREFIX, UNKNOWN_SUBJECT

log = logging.getLogger(__name__)

AGGREGATE_OF: dict[Kind, tuple[str, str]] = {
    Kind.APPLICANT_REGISTERED: ("applicant", "applicant_id"),
    Kind.APPLICANT_WITHDRAWN: ("applicant", "applicant_id"),
    Kind.VACANCY_POSTED: ("vacancy", "vacancy_id"),
    Kind.VACANCY_CLOSED: ("vacancy", "vacancy_id"),
}
ENDS = frozenset({Kind.APPLICANT_WITHDRAWN, Kind.VACANCY_CLOSED})


class RoundRequest(NamedTuple):
    """A valid `round.requested` as the round runner takes it: its payload and its event time.

    Not the CloudEvent itself: a parametrized envelope class (`CloudEvent[RoundRequested]`)
    cannot be pickled, and the answer of a parsing worker crosses a pipe pickled.
    """

    data: RoundRequested
    time: dt.datetime


class Answer(NamedTuple):
    """A valid `placement.responded`: which offer, who answers, and how (`reason` is never
    kept: it is for people)."""

    placement_id: str
    party: str
    decision: str


class Accepted(NamedTuple):
    """A valid event: its inbox key, for a snapshot its aggregate, version and payload JSON, for
    a `round.requested` the validated request and for an answer the answer, so nothing parses
    the body a second time; `time` is the event's time (that of the events it causes)."""

    kind: Kind
    source: str
    event_id: str
    aggregate_id: str | None = None
    version: int = 0
    program_year: int | None = None
    payload: str | None = None
    """The payload as compact JSON for a registration or posting; None otherwise."""
    round_request: RoundRequest | None = None
    """The request of a `round.requested`; None otherwise."""
    time: dt.datetime | None = None
    answer: Answer | None = None
    """The answer of a `placement.responded`; None otherwise."""


Parsed = Accepted | ContractError


def parse_one(subject: str | None, body: bytes) -> Parsed:
    """Validate one body as it arrived (`subject` None for file input). Total: whatever the
    body holds, the answer is Accepted or a ContractError naming a field and a reason."""
    try:
        return _accepted(parse_event(body, subject))
    except ContractError as error:
        return error
    except Exception as exc:  # never a failed batch: the body is rejected, the rest go on
        found = [FieldError("body", unreadable(exc))]
        return ContractError(found, None, subject or UNKNOWN_SUBJECT)


def _accepted(event: CloudEvent[Any]) -> Parsed:
    kind = event.kind
    if kind not in _INBOUND:
        return ContractError(
            [FieldError("type", f"{event.type} is published by the service, never taken in")],
            event.id,
            subject_of(kind),
        )
    if kind is Kind.ROUND_REQUESTED:
        request = RoundRequest(event.data, event.time)
        return Accepted(kind, event.source, event.id, round_request=request, time=event.time)
    data = event.data
    if kind is Kind.PLACEMENT_RESPONDED:
        answer = Answer(data.placement_id, data.party, data.decision)
        return Accepted(kind, event.source, event.id, time=event.time, answer=answer)
    if kind not in AGGREGATE_OF:
        return Accepted(kind, event.source, event.id, time=event.time)
    ends = kind in ENDS
    return Accepted(
        kind,
        event.source,
        event.id,
        getattr(data, AGGREGATE_OF[kind][1]),
        data.version,
        None if ends else data.program_year,
        None if ends else data.model_dump_json(),
        time=event.time,
    )


_INBOUND = frozenset(INBOUND_KINDS)
_PUBLISHED_MARKS = (DLQ_PREFIX.encode(), *(type_of(kind).encode() for kind in OUTBOUND_KINDS))


def published_type(body: bytes) -> str | None:
    """The `type` of a body that is an event the service publishes (an outbound kind or a dead
    letter, as `export --subjects all` writes them), else None. Cheap for inbound bodies."""
    if not any(mark in body for mark in _PUBLISHED_MARKS):
        return None
    doc, _ = read_object(body)
    event_type = doc.get("type") if doc is not None else None
    if not isinstance(event_type, str):
        return None
    published = event_type in _OUTBOUND_TYPES or _DEAD_LETTER_TYPE.match(event_type)
    return event_type if published else None


_OUTBOUND_TYPES = frozenset(type_of(kind) for kind in OUTBOUND_KINDS)
_DEAD_LETTER_TYPE = re.compile("^" + re.escape(DLQ_PREFIX) + r"[a-z_.]{1,64}\.v[0-9]{1,3}\Z")


def parse_batch(messages: Sequence[tuple[str | None, bytes]]) -> list[Parsed]:
    """Validate (subject, body) pairs in order."""
    return [parse_one(subject, body) for subject, body in messages]


class BatchParser:
    """Parses batches in a worker process (`python -m services.intake.parse_worker`, fed pickled
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
                "services.intake.parse_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )

    async def parse(self, messages: Sequence[tuple[str | None, bytes]]) -> list[Parsed]:
        """The batch parsed, one answer per message in order; never raises for a body.

        A worker that fails to answer (gone, garbled, wrong length, or interrupted mid-batch,
        which would leave its answer in the pipe for the next batch) is replaced, and the batch
        is parsed here instead: `parse_batch` is total, so the outcome is the same.
        """
        async with self._lock:  # one batch at a time: answers come back in request order
            worker = self._worker
            if worker is not None:
                try:
                    answer = await _ask(worker, messages)
                except asyncio.CancelledError:
                    self._drop_worker()
                    raise
                except Exception as error:
                    await self._replace(error)
                else:
                    if len(answer) == len(messages):
                        return answer
                    await self._replace(ValueError("answer of the wrong length"))
        return await asyncio.to_thread(parse_batch, messages)

    def _drop_worker(self) -> None:
        """Kill a worker whose answer will not be read; the next batch starts a new one."""
        worker, self._worker = self._worker, None
        if worker is not None and worker.returncode is None:
            worker.kill()

    async def _replace(self, error: Exception) -> None:
        """Start a new worker after one failed (at most 3 times); this batch is parsed here."""
        log.warning(
            "the parsing worker failed; this batch is parsed in the service process",
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
    """The worker's loop: a length-prefixed pickled batch in, its parsed list out, until EOF.

    `parse_batch` is total, so no body ends the loop; a request that cannot be read (never sent
    by the service) ends it, and the service parses that batch itself.
    """
    while len(header := requests.read(8)) == 8:
        messages = pickle.loads(requests.read(int.from_bytes(header, "big")))
        answer = pickle.dumps(parse_batch(messages), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(len(answer).to_bytes(8, "big") + answer)
        answers.flush()
