"""Issue 14's figures: how late calendar rounds are requested and answered. One nats-server and
a fresh database on `--database-url`; a small program year of the current year (its ruleset's
periods on 31 December, so the round.requested time guard lets rounds run today: see
tests/support/live_year.py) published; `--rounds` calendar rounds `--spacing` seconds apart,
fired by the service's own timer on the real clock. For each round, from its planned `at` to
the stream's timestamp of its `round.requested` and of its `round.completed`; median and max.

`uv run python -m scripts.calendar_figures --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`
"""

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
from pathlib import Path

import nats
from nats.js.api import DeliverPolicy

from contracts import STREAM
from scripts.bench_delivery import fresh
from services.runtime import publish_events, running_service
from services.settings import Settings
from tests.support.live_year import live_year, whole_second


async def stream_times(url: str) -> dict[tuple[str, str], dt.datetime]:
    """(kind, round id) → the stream's timestamp, for every calendar request and round answer."""
    client = await nats.connect(url)
    found: dict[tuple[str, str], dt.datetime] = {}
    try:
        sub = await client.jetstream().subscribe(
            "jip.round.>", stream=STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        while True:
            msg = await sub.next_msg(timeout=10)
            kind = msg.subject.rsplit(".", 1)[1]
            round_id = _round_id(msg.data)
            found.setdefault((kind, round_id), msg.metadata.timestamp)
            if msg.metadata.num_pending == 0:
                return found
    finally:
        await client.close()


def _round_id(body: bytes) -> str:
    return str(json.loads(body)["data"]["round_id"])


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        live = live_year(Path(tmp) / "live")
        async with fresh(args.database_url) as (url, database_url):
            base = Settings(
                broker_url=url, database_url=database_url, data_dir=Path(tmp),
                ruleset=str(live.ruleset), http_port=0,
            )  # fmt: skip
            async with running_service(base):
                await publish_events(base, live.events(applicants=args.applicants, vacancies=40))
            first = whole_second(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
            plan = [(f"live-{i:02d}", first + dt.timedelta(seconds=i * args.spacing))
                    for i in range(args.rounds)]  # fmt: skip
            settings = base.model_copy(update={"calendars": (live.calendar(*plan),)})
            async with running_service(settings):
                last = plan[-1][1]
                await asyncio.sleep((last - dt.datetime.now(dt.UTC)).total_seconds() + 5)
            times = await stream_times(url)
    requested = [(times[("requested", r)] - at).total_seconds() for r, at in plan]
    completed = [(times[("completed", r)] - at).total_seconds() for r, at in plan]
    print(f"{args.rounds} calendar rounds {args.spacing:g} s apart, {args.applicants} applicants "
          f"x 40 vacancies; seconds from the round's planned time (at):")  # fmt: skip
    print(f"{'':32} {'median':>8} {'max':>8} {'min':>8}")
    for label, values in (("round.requested in stream JIP", requested),
                          ("round.completed in stream JIP", completed)):  # fmt: skip
        print(f"{label:32} {statistics.median(values):8.3f} {max(values):8.3f} "
              f"{min(values):8.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=3.0, help="seconds between rounds")
    parser.add_argument("--applicants", type=int, default=300)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
