"""Measure the year after a round at national scale, in one run on a fresh nats-server and
PostgreSQL database: a first round of `--applicants` x `--vacancies`; `--answers` answers to its
offers through the service's real intake (events/s, and as a share of raw nats-py pull+ack
measured on the same answers in the same run, beside the same share for registrations); then a
supplementary round over the freed seats, request -> round.completed on the broker, against the
first round's time. This machine's speed varies by a fifth from minute to minute, so `--repeat
N` runs the year after the round N times (each on a fresh server and database, each ratio
within its own run) and prints the median and every run's figure.

    uv run python -m scripts.bench_offers --repeat 3 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Iterator

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import create_engine, text

from contracts import STREAM, Kind, PlacementResponded, make_event, subject_of, to_json_bytes
from scripts.bench_delivery import (
    bench_intake,
    fresh,
    market_bodies,
    publish,
    settings_for,
    wait_acked,
)
from services.nats.broker import INTAKE_DURABLE
from services.runtime import running_service
from services.sample.generator import round_request

ANSWERED = subject_of(Kind.PLACEMENT_RESPONDED)
PORTALS = {"host": "/sme-portal", "applicant": "/applicant-portal"}


def answers_for(placement_ids: list[str], wanted: int, at: dt.datetime) -> list[bytes]:
    """Answers in a realistic mix, offer by offer until `wanted`: of every ten offers six are
    accepted by both parties, two declined by the applicant, one declined by the host after the
    applicant accepted, one left unanswered (it expires before the supplementary round)."""
    bodies: list[bytes] = []
    for n, placement_id in enumerate(placement_ids):
        if len(bodies) >= wanted:
            break
        for party, decision in _script(n % 10):
            data = PlacementResponded(placement_id=placement_id, party=party, decision=decision)
            event_id = f"answer-{placement_id}-{party}"
            event = make_event(
                Kind.PLACEMENT_RESPONDED, event_id, data, at, PORTALS[party], placement_id
            )
            bodies.append(to_json_bytes(event))
    return bodies[:wanted]


def _script(slot: int) -> Iterator[tuple[str, str]]:
    if slot < 6:
        yield from (("host", "accepted"), ("applicant", "accepted"))
    elif slot < 8:
        yield ("applicant", "declined")
    elif slot == 8:
        yield from (("applicant", "accepted"), ("host", "declined"))


async def raw_rate(url: str, first_seq: int, count: int, batch: int) -> float:
    """nats-py alone on the same answers: a pull consumer from `first_seq`, acking in a loop."""
    client = await nats.connect(url)
    js = client.jetstream()
    config = ConsumerConfig(
        durable_name="raw-answers", filter_subject=ANSWERED, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first_seq,
        max_ack_pending=batch,
    )  # fmt: skip
    await js.add_consumer(STREAM, config)
    sub = await js.pull_subscribe_bind("raw-answers", STREAM)
    seen, started = 0, time.perf_counter()
    while seen < count:
        msgs = await sub.fetch(batch, timeout=10)
        for m in msgs:
            await m.ack()
        seen += len(msgs)
    elapsed = time.perf_counter() - started
    await js.delete_consumer(STREAM, "raw-answers")
    await client.close()
    return seen / elapsed


def offers_of(database_url: str, round_id: str) -> list[str]:
    """The placement ids of a round's offers, in applicant order (from the service's table)."""
    engine = create_engine(database_url)
    query = text("SELECT applicant_id FROM placements WHERE round_id = :r ORDER BY applicant_id")
    with engine.connect() as connection:
        ids = [f"{round_id}/{a}" for a in connection.execute(query, {"r": round_id}).scalars()]
    engine.dispose()
    return ids


async def consumer_seqs(url: str) -> tuple[int, int]:
    """(last delivered, ack floor) stream sequences of the service's intake consumer."""
    client = await nats.connect(url)
    try:
        info = await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE)
        return int(info.delivered.stream_seq), int(info.ack_floor.stream_seq)
    finally:
        await client.close()


async def run_round(
    url: str, round_id: str, seq: int, mode: str = "optimal"
) -> tuple[float, dict[str, object]]:
    """Publish a round.requested and wait for its round.completed (or failed) on the broker."""
    client = await nats.connect(url)
    answers = await client.subscribe("jip.round.>")
    started = time.monotonic()
    request = round_request(round_id, 2023, "summer", mode=mode, seq=seq)
    await publish(url, [request], "jip.round.requested")
    while True:
        msg = await answers.next_msg(timeout=900)
        if msg.subject != "jip.round.requested":
            break
    elapsed = time.monotonic() - started
    await client.close()
    return elapsed, json.loads(msg.data)["data"]


async def main_async(args: argparse.Namespace) -> None:
    registrations = await bench_intake(args.database_url, args.events, args.batch)
    raw = max(registrations["raw_loop_per_s"], registrations["raw_tasks_per_s"])
    reg_share = registrations["intake_per_s"] / registrations["raw_loop_per_s"]
    print(f"registrations: intake {registrations['intake_per_s']:,.0f} events/s = "
          f"{reg_share:.0%} of raw nats-py acking in a loop "
          f"({registrations['raw_loop_per_s']:,.0f}/s; {raw:,.0f}/s with a task per ack)"
          )  # fmt: skip
    bodies = market_bodies(args.applicants, args.vacancies)
    shares, ratios = [], []
    for run in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"run {run} of {args.repeat} (a fresh server and database)")
        share, ratio = await year_after(args, bodies, reg_share)
        shares.append(share)
        ratios.append(ratio)
    if args.repeat > 1:
        print(f"over {args.repeat} runs: answers {_spread(shares)} of raw nats-py "
              f"(registrations {reg_share:.0%}); supplementary round {_spread(ratios)} of the "
              f"first round's")  # fmt: skip


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.0%} (" + ", ".join(f"{v:.0%}" for v in values) + ")"


async def year_after(
    args: argparse.Namespace, bodies: list[bytes], reg_share: float
) -> tuple[float, float]:
    """One run: the first round, the answers, the supplementary round; (answers' share of raw
    nats-py, the supplementary round's time over the first round's)."""
    async with fresh(args.database_url) as (url, database_url):
        last = await publish(url, bodies)
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(url, database_url, tmp, args.batch)
            async with running_service(settings):
                await wait_acked(url, last, timeout=900)
                first_seconds, first = await run_round(url, "bench-1", seq=1)
            placement_ids = offers_of(database_url, "bench-1")
            print(f"first round of {args.applicants:,} applicants x {args.vacancies:,} "
                  f"vacancies: {first['placed']:,} offers, request -> completed "
                  f"{first_seconds:.1f} s")  # fmt: skip
            at = dt.datetime(2023, 5, 2, 9, tzinfo=dt.UTC)
            answers = answers_for(placement_ids, args.answers, at)
            _, floor = await consumer_seqs(url)
            last = await publish(url, answers)
            async with running_service(settings):  # the answers wait in the stream: all at once
                first_delivery, acked = await wait_acked(url, last, timeout=900, after=floor)
            seconds = acked - first_delivery
            intake = len(answers) / seconds
            answers_raw = await raw_rate(url, floor + 1, len(answers), args.batch)
            share = intake / answers_raw
            print(f"answers: {len(answers):,} through the intake in {seconds:.1f} s = "
                  f"{intake:,.0f} events/s = {share:.0%} of raw nats-py on the same answers "
                  f"({answers_raw:,.0f}/s); registrations: {reg_share:.0%}")  # fmt: skip
            async with running_service(settings):
                second_seconds, second = await run_round(url, "bench-2", seq=24 * 30)
            print(f"supplementary round over the freed seats: {second['placed']:,} offers, "
                  f"request -> completed {second_seconds:.1f} s "
                  f"({second_seconds / first_seconds:.0%} of the first round's)")  # fmt: skip
    return share, second_seconds / first_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--applicants", type=int, default=100_000)
    parser.add_argument("--vacancies", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=50_000, help="registrations to compare")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of the year after the round, each fresh"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
