"""The real service under a stream full of hostile bodies: nothing stops it and nothing leaks.

2,000 generated hostile bodies (tests/support/hostile.py) are interleaved with a valid program
year and a round, published on the real nats-server, and taken in by the service on PostgreSQL.
The round must give the digest of the calm run, every hostile body must be exactly one dead
letter, no published event may exceed the broker's maximum payload, and the intake's
acknowledged floor must reach the end of the stream.
"""

import datetime as dt
import json
import random

import nats
import pytest

from contracts import STREAM
from services.app import rulesets_for
from services.nats.broker import INTAKE_DURABLE
from services.ops.export import StreamRange, read_range
from services.ops.offline import run_offline
from services.runtime import publish_events, running_service, wait_round
from services.sample.generator import generate_year, round_request
from services.settings import Settings
from tests.support.hostile import hostile_corpus

pytestmark = [pytest.mark.integration, pytest.mark.slow]

YEAR = 2023
ROUND = "2023-summer-1"
HOSTILE = 2_000


def _calm_run(bodies: list[bytes], settings: Settings) -> tuple[str, int]:
    """The digest and the dead-letter count of the same valid events, offline."""
    out = [json.loads(b) for b in run_offline(bodies, rulesets_for(settings), None, _epoch)]
    digest = next(
        d["data"]["placements_digest"] for d in out if d["type"] == "jip.round.completed.v1"
    )
    return digest, sum(1 for d in out if d["type"].startswith("jip.dlq."))


def _epoch() -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def _publish_raw(url: str, items: list[tuple[str, bytes]]) -> None:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        for subject, body in items:
            await js.publish(subject, body, stream=STREAM)
    finally:
        await client.drain()


async def test_two_thousand_hostile_bodies_among_a_valid_year_change_nothing_and_stop_nothing(
    fresh_nats_url: str, fresh_database_url: str, tmp_path
):
    settings = Settings(
        broker_url=fresh_nats_url,
        database_url=fresh_database_url,
        data_dir=tmp_path,
        batch_size=100,
        round_time_limit_seconds=20,
    )
    year = generate_year(seed=11, applicants=150, vacancies=20, program_year=YEAR)
    request = round_request(ROUND, YEAR, "summer", seq=1)
    calm_digest, calm_dead_letters = _calm_run([*year, request], settings)
    hostile = hostile_corpus(HOSTILE, seed=5)
    assert len({body for _, body in hostile}) == HOSTILE  # one dead letter each, none merged

    # Hostile bodies between the valid ones, in chunks, so they share batches with real events.
    rng = random.Random(3)
    cuts = sorted(rng.sample(range(1, len(year)), 40))
    chunks = [hostile[i::40] for i in range(40)]
    async with running_service(settings) as svc:
        start = 0
        for cut, chunk in zip(cuts, chunks, strict=True):
            await publish_events(settings, year[start:cut], broker_url=svc.broker_url)
            await _publish_raw(svc.broker_url, chunk)
            start = cut
        await publish_events(settings, [*year[start:], request], broker_url=svc.broker_url)
        completed = await wait_round(settings, ROUND, timeout=300, broker_url=svc.broker_url)
        await svc.parts.relay.flush(timeout=120)
        floor = await _intake_state(svc.broker_url)
        stream = await read_range(settings, StreamRange(subjects="all"), broker_url=svc.broker_url)

    assert completed["data"]["placements_digest"] == calm_digest
    dead_letters = [m for m in stream if m.subject.startswith("jip.dlq.")]
    assert len(dead_letters) == HOSTILE + calm_dead_letters
    max_payload = 1024 * 1024
    assert max(len(m.body) for m in stream) <= max_payload
    names = _names(year)
    for letter in dead_letters:  # no part of a rejected body is published, names least of all
        assert "raw" not in json.loads(letter.body)["data"]
        assert not any(name in letter.body for name in names)
    pending, ack_pending, acked_through, inbound_last = floor
    assert (pending, ack_pending) == (0, 0)
    assert acked_through == inbound_last


def _names(bodies: list[bytes]) -> set[bytes]:
    """Every applicant's given and family name in the year, as quoted JSON strings."""
    names = set()
    for body in bodies:
        data = json.loads(body).get("data")
        if isinstance(data, dict):
            for key in ("given_name", "family_name"):
                if isinstance(data.get(key), str):
                    names.add(json.dumps(data[key], ensure_ascii=False).encode())
    return names


async def _intake_state(url: str) -> tuple[int, int, int, int]:
    """The intake consumer's pending and unacknowledged counts, its ack floor, and the stream
    sequence of the last inbound message."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.consumer_info(STREAM, INTAKE_DURABLE)
        last_inbound = info.delivered.stream_seq
        return info.num_pending, info.num_ack_pending, info.ack_floor.stream_seq, last_inbound
    finally:
        await client.close()
