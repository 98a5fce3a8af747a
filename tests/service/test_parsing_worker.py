"""The intake's parsing worker process: same answers as parsing in the service process, errors
intact across the pipe, a dead worker replaced without losing the batch, and no worker left
behind when the service process is killed."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from contracts import ContractError
from services.intake.parsing import Accepted, BatchParser, parse_batch
from tests.support.inbound_events import registered, round_requested, withdrawn

MESSAGES = [
    ("jip.applicant.registered", registered("A-1")),
    ("jip.applicant.registered", registered("A-1", version=2)),
    ("jip.applicant.withdrawn", withdrawn("A-1", 3)),
    ("jip.applicant.registered", b'{"specversion": "1.0", "id": "x"'),
    ("jip.vacancy.posted", registered("A-2")),
    (None, registered("A-3")),
    ("jip.round.requested", round_requested("R-1")),
]


def _comparable(parsed: list) -> list:
    return [
        tuple(p) if isinstance(p, Accepted) else (p.errors, p.original_id, p.subject)
        for p in parsed
    ]


async def test_the_worker_answers_as_the_service_process_would() -> None:
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        answer = await parser.parse(MESSAGES)
    finally:
        await parser.close()
    expected = parse_batch(MESSAGES)
    assert _comparable(answer) == _comparable(expected)
    assert [type(p) for p in answer] == [Accepted] * 3 + [ContractError] * 2 + [Accepted] * 2
    assert answer[0].payload is not None and answer[2].payload is None  # withdrawal: no payload
    assert answer[4].errors[0].loc == "type"  # wrong subject, named as in the service process


async def test_a_worker_that_dies_is_replaced_and_its_batch_parsed_anyway() -> None:
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        first = parser._worker
        assert first is not None
        first.kill()
        await first.wait()
        answer = await parser.parse(MESSAGES)
        assert _comparable(answer) == _comparable(parse_batch(MESSAGES))
        second = parser._worker
        assert second is not None and second.pid != first.pid and second.returncode is None
        assert _comparable(await parser.parse(MESSAGES[:2])) == _comparable(answer[:2])
    finally:
        await parser.close()


async def test_without_workers_batches_are_parsed_in_the_service_process() -> None:
    parser = BatchParser(workers=0)
    await parser.start()
    assert parser._worker is None
    assert _comparable(await parser.parse(MESSAGES)) == _comparable(parse_batch(MESSAGES))


SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from services.intake.parsing import BatchParser

    async def main():
        parser = BatchParser(workers=1)
        await parser.start()
        await parser.parse([("jip.applicant.registered", b"{}")])
        print(parser._worker.pid, flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_worker_exits_when_the_service_process_is_killed() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        os.kill(worker, 0)  # alive
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        service.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_sigint_and_sigterm_leave_the_worker_to_its_service() -> None:
    """Ctrl+C and systemd signal every process of the group; the worker must keep serving the
    service until the service closes its stdin."""
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        await parser.parse(MESSAGES[:1])  # the worker is in its loop, handlers set
        worker = parser._worker
        assert worker is not None
        os.kill(worker.pid, signal.SIGINT)
        os.kill(worker.pid, signal.SIGTERM)
        await asyncio.sleep(0.3)
        answer = await parser.parse(MESSAGES)
        assert parser._worker is worker and worker.returncode is None
    finally:
        await parser.close()
    assert _comparable(answer) == _comparable(parse_batch(MESSAGES))
    assert worker.returncode == 0  # exited on EOF
