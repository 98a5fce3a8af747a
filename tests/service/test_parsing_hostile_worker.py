"""The parse worker process under hostile bodies: it answers as parsing in the service process
does, a poison body neither kills it nor fails its batch, and a batch interrupted mid-way does
not leave its answer in the pipe for the next one."""

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ContractError
from services.intake.parsing import Accepted, BatchParser, Parsed, parse_batch
from tests.support.hostile import hostile_bodies, hostile_corpus
from tests.support.inbound_events import registered, withdrawn

POISON = registered("A-1").replace(b'"version":1', b'"zz":' + b"9" * 4301 + b',"version":1')


def comparable(parsed: list[Parsed]) -> list[object]:
    return [
        tuple(p) if isinstance(p, Accepted) else (p.errors, p.original_id, p.subject)
        for p in parsed
    ]


async def test_a_poison_body_is_a_dead_letter_and_the_worker_lives_on() -> None:
    batch = [
        ("jip.applicant.registered", registered("A-2")),
        ("jip.applicant.registered", POISON),
        ("jip.applicant.withdrawn", withdrawn("A-2", 2)),
    ]
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        worker = parser._worker
        assert worker is not None
        answer = await parser.parse(batch)
        assert [type(p) for p in answer] == [Accepted, ContractError, Accepted]
        assert answer[1].errors[0].loc == "data.<unknown field>"
        assert parser._worker is worker and worker.returncode is None  # the same worker
        assert parser._restarts == 0
    finally:
        await parser.close()


async def test_the_worker_answers_the_hostile_corpus_as_the_service_process_does() -> None:
    corpus = hostile_corpus(300, seed=7)
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        answer = await parser.parse(corpus)
        assert parser._restarts == 0
    finally:
        await parser.close()
    assert comparable(answer) == comparable(parse_batch(corpus))
    assert all(isinstance(p, ContractError) for p in answer)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(hostile_bodies(), min_size=20, max_size=60))
def test_a_sample_of_hostile_bodies_gets_the_same_answers_in_the_worker(messages) -> None:
    async def through_worker() -> tuple[list[Parsed], int]:
        parser = BatchParser(workers=1)
        await parser.start()
        try:
            return await parser.parse(messages), parser._restarts
        finally:
            await parser.close()

    answer, restarts = asyncio.run(through_worker())
    assert restarts == 0
    assert comparable(answer) == comparable(parse_batch(messages))


async def test_a_batch_cancelled_mid_way_does_not_answer_the_next_one() -> None:
    big = [("jip.applicant.registered", registered(f"A-{i}")) for i in range(3_000)]
    small = [("jip.applicant.withdrawn", withdrawn("A-9", 2))]
    parser = BatchParser(workers=1)
    await parser.start()
    try:
        task = asyncio.create_task(parser.parse(big))
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        answer = await parser.parse(small)
        assert comparable(answer) == comparable(parse_batch(small))
    finally:
        await parser.close()
