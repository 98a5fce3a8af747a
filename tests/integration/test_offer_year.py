"""A program year with offers on real NATS JetStream and PostgreSQL: a round, answers, a
withdrawal, a supplementary round after the deadline refilling freed seats; the confirmed and
released events on the broker, and the same events, byte for byte, from an offline run."""

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from contracts import ApplicantWithdrawn, Kind, PlacementResponded, make_event, to_json_bytes
from services.app import rulesets_for
from services.ops.offline import run_offline
from services.runtime import publish_events, read_stream, running_service, wait_round
from services.sample.generator import (
    APPLICANT_SOURCE,
    SME_SOURCE,
    generate_year,
    round_request,
)
from services.settings import Settings
from services.store.tables import ApplicantRow, OutboxEntry

pytestmark = pytest.mark.integration

YEAR = 2023
FIRST, SECOND = "2023-summer-1", "2023-summer-2"
JST = dt.timezone(dt.timedelta(hours=9))
ANSWERED_AT = dt.datetime(2023, 5, 3, 10, tzinfo=JST)
SECOND_SEQ = 19 * 24  # round_request's hours after 2023-05-01 09:00 JST: May 20, past the deadline


@pytest.fixture
async def service(fresh_nats_url: str, fresh_database_url: str, tmp_path: Any):
    settings = Settings(
        broker_url=fresh_nats_url,
        database_url=fresh_database_url,
        data_dir=tmp_path,
        batch_size=50,
        round_time_limit_seconds=20,
    )
    async with running_service(settings) as svc:
        yield settings, svc


def _answer(placement_id: str, party: str, decision: str, n: int) -> bytes:
    data = PlacementResponded.model_validate(
        {"placement_id": placement_id, "party": party, "decision": decision}
    )
    source = SME_SOURCE if party == "host" else APPLICANT_SOURCE
    at = ANSWERED_AT + dt.timedelta(minutes=n)
    event = make_event(Kind.PLACEMENT_RESPONDED, f"answer-{n}", data, at, source, None)
    return to_json_bytes(event)


def _withdrawal(applicant_id: str, version: int) -> bytes:
    data = ApplicantWithdrawn(applicant_id=applicant_id, version=version)
    at = ANSWERED_AT + dt.timedelta(hours=5)
    event = make_event(Kind.APPLICANT_WITHDRAWN, "wd-late", data, at, APPLICANT_SOURCE, None)
    return to_json_bytes(event)


def _normalised(body: bytes | str) -> dict[str, Any]:
    """An outbound event less what may differ between runs: solve_seconds, and a dead letter's
    received_at (its time too)."""
    doc = json.loads(body)
    doc["data"].pop("solve_seconds", None)
    if doc["data"].pop("received_at", None) is not None:
        doc.pop("time")
    return doc


async def test_a_year_of_offers_online_confirms_releases_refills_and_equals_the_offline_run(
    service,
):
    settings, svc = service
    url = svc.broker_url
    inbound = generate_year(seed=7, applicants=120, vacancies=15, program_year=YEAR)
    inbound.append(round_request(FIRST, YEAR, "summer", seq=1))
    await publish_events(settings, inbound, broker_url=url)
    first = await wait_round(settings, FIRST, timeout=120, broker_url=url)
    placed = first["data"]["placed"]
    assert placed >= 8
    made = await read_stream(
        settings,
        "jip.placement.made",
        broker_url=url,
        until=lambda evs: len(evs) >= placed,
    )
    offers = sorted(doc["data"]["placement_id"] for _, doc in made)
    assert {doc["data"]["respond_by"] for _, doc in made} == {"2023-05-14T15:00:00Z"}

    confirmed, declined, withdrawn = offers[:3], offers[3:6], offers[6]
    answers = [
        _answer(pid, party, "accepted", n)
        for n, (pid, party) in enumerate((p, q) for p in confirmed for q in ("host", "applicant"))
    ]
    answers += [_answer(pid, "host", "declined", 10 + n) for n, pid in enumerate(declined)]
    answers.append(_answer(declined[0], "applicant", "accepted", 20))  # crossed in the post
    with svc.engine.connect() as c:
        applicant_id = withdrawn.split("/")[1]
        version = c.execute(
            select(ApplicantRow.version).where(ApplicantRow.applicant_id == applicant_id)
        ).scalar_one()
    later = [*answers, _withdrawal(applicant_id, version + 1)]
    later.append(round_request(SECOND, YEAR, "summer", seq=SECOND_SEQ))
    await publish_events(settings, later, broker_url=url)
    second = await wait_round(settings, SECOND, timeout=120, broker_url=url)
    assert second["data"]["placed"] >= 1

    expected_releases = len(offers) - len(confirmed)
    lifecycle = await read_stream(
        settings,
        "jip.placement.*",
        broker_url=url,
        until=lambda evs: sum(s == "jip.placement.released" for s, _ in evs) >= expected_releases,
    )
    by_subject = Counter(s for s, _ in lifecycle)
    assert by_subject["jip.placement.confirmed"] == len(confirmed)
    reasons = Counter(
        doc["data"]["reason"] for s, doc in lifecycle if s == "jip.placement.released"
    )
    assert reasons == {
        "declined_by_host": len(declined),
        "applicant_withdrawn": 1,
        "expired": len(offers) - len(confirmed) - len(declined) - 1,
    }
    refilled = [doc for s, doc in lifecycle if doc["data"].get("round_id") == SECOND]
    assert all(doc["data"]["applicant_id"] != applicant_id for doc in refilled)
    barred = {(p.split("/")[1], doc["data"]["vacancy_id"]) for p in declined for _, doc in made
              if doc["data"]["placement_id"] == p}  # fmt: skip
    assert not barred & {(d["data"]["applicant_id"], d["data"]["vacancy_id"]) for d in refilled}

    offline = run_offline(inbound + later, rulesets_for(settings), None, lambda: RECEIVED)
    with svc.engine.connect() as c:
        online = c.execute(select(OutboxEntry.body).order_by(OutboxEntry.seq)).scalars().all()
    assert [_normalised(b) for b in online] == [_normalised(b) for b in offline]


RECEIVED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
