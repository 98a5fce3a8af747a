"""One event that cannot commit, on a real nats-server and a real PostgreSQL: it alone becomes a
dead letter (a round.requested its round's round.failed), everything before and after it in its
batch and in later batches is applied in stream order, and the intake reaches the end of the
stream. Before, the batch was retried forever, or once abandoned every later batch was nak'd."""

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from services.runtime import publish_events, running_service, wait_round
from tests.integration.intake_support import (
    ROUND,
    accepted_keys,
    applicant_events,
    dead_letters,
    logged_ids,
    middle_applicant,
    poison_applicant,
    poison_event_log,
    round_status,
    settings_for,
    until_acknowledged,
    year_and_round,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def unretrieved() -> Any:
    """Exception contexts asyncio reports to its loop's handler (e.g. "Task exception was never
    retrieved") while the test runs (the loop the tests run on)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(before)


def _by_database(error: dict[str, Any]) -> bool:
    return error["loc"] == "database"


async def test_a_poison_applicant_becomes_one_dead_letter_and_every_other_event_applies(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=20)
    bodies = year_and_round()
    poisoned = middle_applicant(bodies)
    engine = create_engine(fresh_database_url)
    async with running_service(settings) as svc:
        poison_applicant(engine, poisoned)
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        answer = await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
        await until_acknowledged(settings, svc.broker_url, timeout=30)
        consumer = svc.parts.consumer
    letters = dead_letters(engine, _by_database)
    logged = logged_ids(engine)
    engine.dispose()

    bad = applicant_events(bodies, poisoned)
    assert sorted(d["original_id"] for d in letters) == sorted(bad)
    assert {e["msg"] for d in letters for e in d["errors"][:1]} == {
        "RaiseException while applying this event"
    }
    assert [i for _, i in logged] == [i for _, i in accepted_keys(bodies) if i not in bad]
    assert [s for s, _ in logged] == sorted(s for s, _ in logged)
    assert answer["type"] == "jip.round.completed.v1" and answer["data"]["applicants"] > 0
    assert consumer.failures >= 2  # tried whole, split, and the poison alone


async def test_a_round_request_that_cannot_commit_becomes_round_failed_and_the_intake_moves_on(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=20)
    year_then_round = year_and_round()
    request_id = "sch-2023-1"
    later = year_then_round[-6:-1]  # after the round, in its batch or the next
    bodies = [*year_then_round[:-6], year_then_round[-1], *later]
    engine = create_engine(fresh_database_url)
    async with running_service(settings) as svc:
        poison_event_log(engine, request_id)
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        answer = await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
        await until_acknowledged(settings, svc.broker_url, timeout=30)
    status = round_status(engine, ROUND)
    logged = [i for _, i in logged_ids(engine)]
    engine.dispose()

    assert answer["type"] == "jip.round.failed.v1"
    assert answer["data"]["reason"] == "database: RaiseException while applying this event"
    assert status == "failed"
    assert request_id not in logged
    assert logged[-len(accepted_keys(later)) :] == [i for _, i in accepted_keys(later)]


async def test_a_body_the_parser_cannot_take_is_isolated_and_no_task_error_goes_unretrieved(
    fresh_nats_url: str, fresh_database_url: str, tmp_path: Path, unretrieved: list[Any]
) -> None:
    """The parser raising (not a ContractError) for one body: the batch was abandoned, every
    later batch nak'd, and each redelivery's parse failed unawaited, logged as "Task exception
    was never retrieved" several times a second."""
    settings = settings_for(fresh_nats_url, fresh_database_url, tmp_path, batch_size=20)
    bodies = year_and_round()
    poisoned = middle_applicant(bodies)
    marker = f'"applicant_id":"{poisoned}"'.encode()
    breaking = [b for b in bodies if marker in b]
    engine = create_engine(fresh_database_url)
    async with running_service(settings) as svc:
        consumer = svc.parts.consumer
        parse = consumer.parse

        async def breaks_on_one_body(batch: Any) -> Any:
            if any(m.body in breaking for m in batch):
                raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
            return await parse(batch)

        consumer.parse = breaks_on_one_body
        await publish_events(settings, bodies, broker_url=svc.broker_url)
        await wait_round(settings, ROUND, timeout=60, broker_url=svc.broker_url)
        await until_acknowledged(settings, svc.broker_url, timeout=30)
    gc.collect()
    await asyncio.sleep(0)
    letters = dead_letters(engine, lambda e: e["loc"] == "parsing")
    logged = [i for _, i in logged_ids(engine)]
    engine.dispose()

    assert [d["original_id"] for d in letters] == [None] * len(breaking) and breaking
    assert letters[0]["errors"][0]["msg"] == "ValueError while validating this event"
    assert logged == [i for _, i in accepted_keys([b for b in bodies if b not in breaking])]
    assert [c.get("message") for c in unretrieved] == []
