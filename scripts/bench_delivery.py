"""Measure delivery in one run, each stage on its own nats-server and a fresh PostgreSQL database:
raw nats-py JetStream pull-and-ack rate; intake through the service's real consumer (validated,
deduplicated, versioned, acked after commit); outbox relay publish-and-ack rate; and a round of
100,000 applicants from round.requested to round.completed on the broker.
`uv run python -m scripts.bench_delivery --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`
"""

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType
from sqlalchemy import create_engine, make_url, text

from contracts import STREAM, Kind, RoundFailed, make_event, subject_of, to_json_bytes
from scripts.bench_intake import generate
from services.nats.broker import (
    DUPLICATE_WINDOW_SECONDS,
    INBOUND_SUBJECTS,
    INTAKE_DURABLE,
    make_broker,
)
from services.nats.embedded import EmbeddedNats
from services.outbound.outbox import enqueue
from services.outbound.relay import OutboxRelay
from services.runtime import running_service
from services.sample.generator import round_request
from services.settings import Settings
from services.store.db import make_engine, migrate

T0 = dt.datetime(2023, 3, 1, tzinfo=dt.UTC)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server `server_url`, dropped afterwards: its URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@asynccontextmanager
async def fresh(server_url: str) -> AsyncIterator[tuple[str, str]]:
    """A new nats-server with stream JIP, and a new database on `server_url`."""
    with fresh_database(server_url) as database_url, tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp))
        await asyncio.to_thread(server.start)
        try:
            client = await nats.connect(server.url)
            await client.jetstream().add_stream(
                name=STREAM, subjects=["jip.>"], storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )  # fmt: skip
            await client.close()
            yield server.url, database_url
        finally:
            await asyncio.to_thread(server.stop)


async def publish(url: str, bodies: list[bytes], subject: str | None = None) -> int:
    """Publish with 512 acks in flight; returns the last stream sequence."""
    client = await nats.connect(url)
    js = client.jetstream()
    last = 0
    for start in range(0, len(bodies), 512):
        chunk = bodies[start : start + 512]
        subjects = [subject or _subject(b) for b in chunk]
        acks = await asyncio.gather(
            *(js.publish(s, b) for s, b in zip(subjects, chunk, strict=True))
        )
        last = acks[-1].seq
    await client.drain()
    return last


def _subject(body: bytes) -> str:
    head = body[: body.find(b'"data"')].decode()
    kind = next(k for k in Kind if f'"type":"{subject_of(k)}.v1"' in head)
    return subject_of(kind)


async def raw_consume(url: str, count: int, batch: int, name: str, ack_in_tasks: bool) -> float:
    """nats-py alone: a durable pull consumer fetching `batch` at a time and acking every
    message, either in a loop (`for m in msgs: await m.ack()`, nats-py's documented idiom) or
    with one task per ack (`asyncio.gather`)."""
    client = await nats.connect(url)
    js = client.jetstream()
    config = ConsumerConfig(durable_name=name, filter_subjects=list(INBOUND_SUBJECTS),
                            ack_policy=AckPolicy.EXPLICIT, max_ack_pending=batch)  # fmt: skip
    await js.add_consumer(STREAM, config)
    sub = await js.pull_subscribe_bind(name, STREAM)
    seen, started = 0, time.perf_counter()
    while seen < count:
        msgs = await sub.fetch(batch, timeout=5)
        if ack_in_tasks:
            await asyncio.gather(*(m.ack() for m in msgs))
        else:
            for m in msgs:
                await m.ack()
        seen += len(msgs)
    elapsed = time.perf_counter() - started
    await client.close()
    return seen / elapsed


async def wait_acked(
    url: str, last_seq: int, timeout: float, after: int = 0
) -> tuple[float, float]:
    """Monotonic times of the service consumer's first delivery past stream sequence `after`
    and of its ack of `last_seq`, polled on one connection (a connection per poll, 50 a second,
    would cost the service in the same process part of the rate being measured)."""
    client = await nats.connect(url)
    js = client.jetstream()
    first = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                info = await js.consumer_info(STREAM, INTAKE_DURABLE)
            except nats.js.errors.NotFoundError:
                info = None
            now = time.monotonic()
            if info is not None and first is None and info.delivered.stream_seq > after:
                first = now
            if info is not None and info.ack_floor.stream_seq >= last_seq:
                return first or now, now
            await asyncio.sleep(0.02)
    finally:
        await client.close()
    raise TimeoutError(f"intake did not ack stream sequence {last_seq} in {timeout} s")


def settings_for(url: str, database_url: str, tmp: str, batch: int) -> Settings:
    return Settings(broker_url=url, database_url=database_url, data_dir=Path(tmp), batch_size=batch)


async def bench_intake(server_url: str, events: int, batch: int) -> dict[str, float]:
    bodies = generate(events, uuid.uuid4().hex[:8])
    async with fresh(server_url) as (url, database_url):
        last = await publish(url, bodies)
        raw_loop = await raw_consume(url, len(bodies), batch, "raw-loop", ack_in_tasks=False)
        raw_tasks = await raw_consume(url, len(bodies), batch, "raw-tasks", ack_in_tasks=True)
        with tempfile.TemporaryDirectory() as tmp:
            async with running_service(settings_for(url, database_url, tmp, batch)):
                first, done = await wait_acked(url, last, timeout=600)
    return {
        "events": len(bodies),
        "raw_loop_per_s": raw_loop,
        "raw_tasks_per_s": raw_tasks,
        "intake_per_s": len(bodies) / (done - first),
    }


async def bench_relay(server_url: str, events: int, batch: int) -> dict[str, float]:
    rows = [
        make_event(
            Kind.ROUND_FAILED,
            f"relay-{i}",
            RoundFailed(round_id=f"R-{i}", reason="bench"),
            T0,
            "/intern-match",
            f"round/R-{i}",
        )  # fmt: skip
        for i in range(events)
    ]
    async with fresh(server_url) as (url, database_url):
        engine = make_engine(database_url)
        migrate(engine)
        with engine.begin() as connection:
            enqueue(connection, rows)
        broker = make_broker(url, Settings())
        await broker.start()
        relay = OutboxRelay(engine, broker, batch=batch)
        started = time.perf_counter()
        sent = await relay.relay_backlog()
        elapsed = time.perf_counter() - started
        await broker.stop()
        engine.dispose()
    return {"events": sent, "relay_per_s": sent / elapsed}


def market_bodies(applicants: int, vacancies: int) -> list[bytes]:
    """Vacancy then applicant events of a national market (scripts.bench_market)."""
    from scripts.bench_market import Market, snapshot_of

    snapshot = snapshot_of(Market(applicants, vacancies, seed=1), "optimal")
    bodies = []
    groups = [(Kind.VACANCY_POSTED, snapshot.vacancies, "vacancy_id"),
              (Kind.APPLICANT_REGISTERED, snapshot.applicants, "applicant_id")]  # fmt: skip
    for kind, payloads, key in groups:
        for p in payloads:
            event_id = f"bench-{getattr(p, key)}"
            bodies.append(to_json_bytes(make_event(kind, event_id, p, T0, "/bench", None)))
    return bodies


async def bench_round(
    server_url: str, applicants: int, vacancies: int, mode: str
) -> dict[str, float]:
    bodies = market_bodies(applicants, vacancies)
    async with fresh(server_url) as (url, database_url):
        last = await publish(url, bodies)
        with tempfile.TemporaryDirectory() as tmp:
            async with running_service(settings_for(url, database_url, tmp, 500)):
                await wait_acked(url, last, timeout=900)
                client = await nats.connect(url)
                answers = await client.subscribe("jip.round.>")
                request = round_request("bench-round", 2023, "summer", mode=mode, seq=1)
                started = time.monotonic()
                await publish(url, [request], "jip.round.requested")
                msg = await answers.next_msg(timeout=600)
                while msg.subject == "jip.round.requested":
                    msg = await answers.next_msg(timeout=600)
                elapsed = time.monotonic() - started
                await client.close()
    return {
        "applicants": applicants,
        "round_seconds": elapsed,
        "answer": msg.subject,
        **bare_solves(applicants, vacancies),
    }


def bare_solves(applicants: int, vacancies: int) -> dict[str, float]:
    """Bare OR-Tools solves of the same market's arcs (scripts.bench_market, the seed of
    `market_bodies`), timed as scripts.bench_matching times them: `bare_solve_seconds`, its
    floor (one min-cost flow with a priced bypass arc), and `bare_max_flow_seconds`, the
    maximum flow of least cost a round solves."""
    from matching.solver.flow import network
    from scripts.bench_market import Market

    net = network(Market(applicants, vacancies, seed=1).to_problem())
    started = time.perf_counter()
    net.to_solver().solve()
    floor = time.perf_counter() - started
    started = time.perf_counter()
    net.to_max_flow_solver().solve_max_flow_with_min_cost()
    return {"bare_solve_seconds": floor, "bare_max_flow_seconds": time.perf_counter() - started}


async def main_async(args: argparse.Namespace) -> None:
    intake = await bench_intake(args.database_url, args.events, args.batch)
    raw = max(intake["raw_loop_per_s"], intake["raw_tasks_per_s"])
    print(f"raw nats-py pull+ack ({intake['events']} events, batches of {args.batch}): "
          f"{intake['raw_loop_per_s']:,.0f} events/s acking in a loop, "
          f"{intake['raw_tasks_per_s']:,.0f} events/s with a task per ack")  # fmt: skip
    print(f"intake via the service consumer into PostgreSQL: {intake['intake_per_s']:,.0f} events/s"
          f" = {intake['intake_per_s'] / raw:.0%} of the faster raw rate")  # fmt: skip
    relay = await bench_relay(args.database_url, args.relay_events, args.relay_batch)
    print(
        f"outbox relay publish+ack: {relay['relay_per_s']:,.0f} events/s ({relay['events']} "
        f"events, batches of {args.relay_batch})"
    )
    if args.applicants:
        rnd = await bench_round(args.database_url, args.applicants, args.vacancies, args.mode)
        ratio = rnd["round_seconds"] / rnd["bare_solve_seconds"]
        print(f"round of {rnd['applicants']:,} applicants ({args.mode}): round.requested -> "
              f"{rnd['answer']} on the broker in {rnd['round_seconds']:.1f} s = {ratio:.1f}x "
              f"a bare min-cost-flow solve of the same market ({rnd['bare_solve_seconds']:.1f} s)"
              )  # fmt: skip
        if args.mode == "optimal":
            print(f"  = {rnd['round_seconds'] / rnd['bare_max_flow_seconds']:.1f}x the bare "
                  f"maximum flow of least cost an optimal round solves "
                  f"({rnd['bare_max_flow_seconds']:.1f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--relay-events", type=int, default=50_000)
    parser.add_argument(
        "--relay-batch", type=int, default=Settings().relay_batch_size, help="the service's default"
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--applicants", type=int, default=100_000, help="0 skips the round")
    parser.add_argument("--vacancies", type=int, default=20_000)
    parser.add_argument("--mode", default="optimal")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
