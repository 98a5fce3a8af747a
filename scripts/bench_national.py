"""A national-scale round on the broker (issue 17): `--applicants` x `--vacancies` published to a
fresh nats-server and taken in by the service into a fresh PostgreSQL database; then a
`round.requested`, and while the round runs one applicant event every `--every` seconds, each
timed from its publish to the intake's acknowledgement (the intake latency during a round: the
intake holds such events and acknowledges them at once) and to its registration being applied
(after the round, since a round sees the events before it and applies the ones after it). Also
times a bare min-cost-flow solve of the same market (scripts.bench_market, seed 1) in the same
run. The ruleset is the default with `max_pairs` raised to fit the market (a million applicants
list about 10,000,000 pairs; the shipped limit is 4,000,000).
`uv run python -m scripts.bench_national --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`
"""

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import nats
from sqlalchemy import create_engine, text

from contracts import STREAM, ApplicantRegistered, Kind, make_event, subject_of, to_json_bytes
from scripts.bench_delivery import (
    T0,
    bare_solves,
    fresh,
    market_bodies,
    publish,
    settings_for,
    wait_acked,
)
from scripts.bench_market import Market
from scripts.bench_offers import run_round
from services.nats.broker import INTAKE_DURABLE
from services.runtime import running_service

SHIPPED = Path(__file__).resolve().parent.parent / "matching" / "rulesets" / "fy2023-announced.toml"


def ruleset_with_room(folder: Path, pairs: int) -> Path:
    """The shipped default ruleset with `[ranking] max_pairs` set to `pairs`, in `folder`."""
    text = re.sub(r"(?m)^max_pairs\s*=.*$", f"max_pairs = {pairs}", SHIPPED.read_text())
    if f"max_pairs = {pairs}" not in text:
        raise RuntimeError(f"no max_pairs setting in {SHIPPED}")
    path = folder / "national.toml"
    path.write_text(text)
    for listed in SHIPPED.parent.glob("*.txt"):  # the lists it names, beside it
        (folder / listed.name).write_text(listed.read_text())
    return path


def late_registration(n: int) -> bytes:
    """An applicant registering while the round runs (the round does not see it)."""
    payload = ApplicantRegistered.model_validate_json(
        json.dumps(
            {
                "applicant_id": f"LATE-{n:05d}",
                "version": 1,
                "program_year": 2023,
                "given_name": "Late",
                "family_name": "Comer",
                "date_of_birth": "2000-04-17",
                "nationality": "PK",
                "residence": {"country": "PK"},
                "languages": [{"language": "en", "test": "IELTS", "score": "6.5"}],
                "education": {"status": "enrolled"},
                "courses": ["B"],
            }
        )
    )
    event = make_event(Kind.APPLICANT_REGISTERED, f"late-{n}", payload, T0, "/bench", None)
    return to_json_bytes(event)


async def trickle(
    url: str, every: float, done: asyncio.Event
) -> tuple[list[float], dict[str, float]]:
    """Publish one applicant event every `every` s until `done`; the seconds from each publish
    to the intake consumer's ack floor passing its stream sequence (waited for after `done`),
    and each applicant's publish time."""
    client = await nats.connect(url)
    js = client.jetstream()
    sent: dict[int, float] = {}
    published: dict[str, float] = {}
    latencies: list[float] = []
    n = 0
    try:
        while sent or not done.is_set():
            if not done.is_set():
                subject, body = subject_of(Kind.APPLICANT_REGISTERED), late_registration(n)
                ack = await js.publish(subject, body, timeout=30)  # a busy machine answers late
                sent[ack.seq] = published[f"LATE-{n:05d}"] = time.monotonic()
                n += 1
            info = await js.consumer_info(STREAM, INTAKE_DURABLE, timeout=30)
            floor = info.ack_floor.stream_seq
            now = time.monotonic()
            for seq in [s for s in sent if s <= floor]:
                latencies.append(now - sent.pop(seq))
            await asyncio.sleep(every if not done.is_set() else 0.05)
    finally:
        await client.close()
    return latencies, published


async def applied_after(database_url: str, published: dict[str, float]) -> list[float]:
    """Seconds from each publish until the applicant's row is in the database (polled every
    0.2 s, for up to 10 minutes)."""
    engine = create_engine(database_url)
    waiting, applied = dict(published), list[float]()
    query = text("SELECT applicant_id FROM applicants WHERE applicant_id = ANY(:ids)")
    deadline = time.monotonic() + 600
    try:
        while waiting and time.monotonic() < deadline:
            with engine.connect() as connection:
                found = connection.execute(query, {"ids": list(waiting)}).scalars().all()
            now = time.monotonic()
            applied.extend(now - waiting.pop(applicant) for applicant in found)
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
    return applied


async def main_async(args: argparse.Namespace) -> None:
    started = time.monotonic()
    bodies = market_bodies(args.applicants, args.vacancies)
    pairs = int(Market(args.applicants, args.vacancies, seed=1).pair_app.shape[0])
    print(f"{len(bodies):,} events of {args.applicants:,} applicants x {args.vacancies:,} "
          f"vacancies ({pairs:,} listed pairs) generated in {time.monotonic() - started:.0f} s",
          flush=True)  # fmt: skip
    async with fresh(args.database_url) as (url, database_url):
        with tempfile.TemporaryDirectory() as tmp:
            room = ruleset_with_room(Path(tmp), max(4_000_000, 2 * pairs))
            settings = settings_for(url, database_url, tmp, 500)
            settings = settings.model_copy(update={"ruleset": str(room)})
            last = await publish(url, bodies)
            del bodies
            async with running_service(settings):
                first, acked = await wait_acked(url, last, timeout=3600)
                print(f"intake: {args.applicants + args.vacancies:,} events in "
                      f"{acked - first:.0f} s", flush=True)  # fmt: skip
                done = asyncio.Event()
                late = asyncio.create_task(trickle(url, args.every, done))
                seconds, answer = await run_round(url, "national", seq=1, mode=args.mode)
                done.set()
                latencies, published = await late
                applied = await applied_after(database_url, published)
    bares = bare_solves(args.applicants, args.vacancies)
    bare, max_flow = bares["bare_solve_seconds"], bares["bare_max_flow_seconds"]
    ended = "round.completed" if "placed" in answer else f"round.failed ({answer.get('reason')})"
    print(f"round ({args.mode}): round.requested -> {ended} on the broker in "
          f"{seconds:.1f} s = {seconds / bare:.1f}x a bare min-cost-flow solve of the same "
          f"market ({bare:.1f} s)")  # fmt: skip
    if args.mode == "optimal":
        print(f"  = {seconds / max_flow:.1f}x the bare maximum flow of least cost an optimal "
              f"round solves ({max_flow:.1f} s)")  # fmt: skip
    if latencies:
        print(f"intake latency of {len(latencies)} applicant events published during the round, "
              f"publish -> acknowledged: p50 {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s")  # fmt: skip
    if applied:
        print(f"the same events, publish -> applied (after the round): p50 "
              f"{statistics.median(applied):.2f} s, max {max(applied):.2f} s; "
              f"{len(published) - len(applied)} not applied in 10 minutes")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--vacancies", type=int, default=100_000)
    parser.add_argument("--mode", default="optimal")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between late events")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
