"""`intern-match demo`: a sample program year through the real service on embedded defaults.

Starts the embedded nats-server and a fresh SQLite file, publishes the year and plays it through
the broker: the summer round, the parties' answers to its offers (and a withdrawal after
placement), the supplementary summer round refilling the seats freed, then winter; prints what
each round placed and the year's offers round by round.
"""

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select
from sqlmodel import col

from services.ops.funnel import load_year, print_year
from services.ops.report import format_figure, print_digest
from services.ops.report_html import render_year_html
from services.ops.summary import RoundOutcome, round_outcome
from services.ops.terminal import shown
from services.redact import redact_url
from services.sample.answers import Offer, answer_offers
from services.sample.generator import generate_year, round_request
from services.settings import Settings
from services.store.tables import ApplicantRow, PlacementRow

PROGRAM_YEAR = 2023
JST = dt.timezone(dt.timedelta(hours=9))
ROUNDS = (
    (f"{PROGRAM_YEAR}-summer-1", "summer", 0),
    (f"{PROGRAM_YEAR}-summer-2", "summer", 13 * 24),
    (f"{PROGRAM_YEAR}-winter-1", "winter", 15 * 24),
)
"""(round id, period, hours after 1 May 09:00 JST). Summer offers must be answered by the
period's start (15 May): the supplementary summer round (14 May) refills the seats declines and
withdrawals freed; the winter round (16 May) expires the summer offers left unanswered."""
ANSWERED = {
    f"{PROGRAM_YEAR}-summer-1": dt.datetime(PROGRAM_YEAR, 5, 3, 9, tzinfo=JST),
    f"{PROGRAM_YEAR}-summer-2": dt.datetime(PROGRAM_YEAR, 5, 14, 12, tzinfo=JST),
}
"""When the parties start answering each round's offers."""
AS_OF = dt.datetime(PROGRAM_YEAR, 5, 16, 10, tzinfo=JST)
"""The moment the demo's year view is taken: just after its last round was requested."""


class PublishEvents(Protocol):
    """What the demo needs of `services.runtime.publish_events`."""

    async def __call__(
        self,
        settings: Settings,
        bodies: Iterable[bytes],
        *,
        broker_url: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int: ...


async def run_demo(
    settings: Settings, console: Console, applicants: int, vacancies: int, seed: int, mode: str
) -> int:
    """Run the demo and return the process exit code."""
    from services.runtime import publish_events, running_service, wait_round

    started = time.monotonic()
    demo_dir = Path(settings.data_dir) / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    demo_settings = settings.model_copy(
        update={"data_dir": demo_dir, "broker_url": None, "database_url": None}
    )
    with console.status("generating the sample program year"):
        bodies = generate_year(seed=seed, applicants=applicants, vacancies=vacancies)
        (demo_dir / "events.jsonl").write_bytes(b"\n".join(bodies) + b"\n")
    console.print(f"[bold]sample year[/bold]: {len(bodies)} events -> {demo_dir / 'events.jsonl'}")
    with console.status("starting the embedded nats-server and SQLite"):
        service = running_service(demo_settings)
        svc = await service.__aenter__()
    try:
        where = shown(f"broker {redact_url(svc.broker_url)}, data in {demo_dir}")
        console.print(f"[bold]service[/bold]: {where}")
        await _publish(console, demo_settings, svc.broker_url, bodies, publish_events)
        outcomes, published = [], list(bodies)
        for round_id, period, seq in ROUNDS:
            request = round_request(round_id, PROGRAM_YEAR, period, mode=mode, seq=seq)
            await publish_events(demo_settings, [request], broker_url=svc.broker_url)
            published.append(request)
            with console.status(f"round {round_id} ({mode}) running"):
                await wait_round(demo_settings, round_id, timeout=300, broker_url=svc.broker_url)
            outcomes.append(round_outcome(svc.engine, round_id))
            if round_id in ANSWERED:  # the parties answer the summer rounds' offers
                offers = offers_of(svc.engine, round_id)
                answers = answer_offers(offers, seed + seq, ANSWERED[round_id])
                await publish_events(demo_settings, answers, broker_url=svc.broker_url)
                published += answers
                console.print(f"[bold]answers[/bold]: {len(answers)} events to {round_id}'s offers")
        (demo_dir / "published.jsonl").write_bytes(b"\n".join(published) + b"\n")
        pages = _write_reports(demo_settings, svc.engine, [o.round_id for o in outcomes])
        funnels = load_year(svc.engine, PROGRAM_YEAR, AS_OF)
        year_page = Path(demo_settings.data_dir) / f"report-{PROGRAM_YEAR}.html"
        year_page.write_text(render_year_html(PROGRAM_YEAR, funnels), encoding="utf-8")
        pages.append(year_page)
    finally:
        with console.status("stopping the service"):
            await service.__aexit__(None, None, None)
    _print_summary(console, outcomes)
    print_year(console, PROGRAM_YEAR, funnels)
    for page in pages:
        console.print(f"[bold]HTML report[/bold]: {page}")
    console.print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0 if all(o.completed and "placements_digest" in o.completed for o in outcomes) else 1


def offers_of(engine: Engine, round_id: str) -> list[Offer]:
    """The round's offers with each applicant's current version (for a later withdrawal)."""
    query = (
        select(
            col(PlacementRow.round_id), col(PlacementRow.applicant_id), col(ApplicantRow.version)
        )
        .join(ApplicantRow, col(ApplicantRow.applicant_id) == col(PlacementRow.applicant_id))
        .where(col(PlacementRow.round_id) == round_id)
        .order_by(col(PlacementRow.applicant_id))
    )
    with engine.connect() as connection:
        return [Offer(f"{r}/{a}", a, v) for r, a, v in connection.execute(query)]


def _write_reports(settings: Settings, engine: Engine, round_ids: list[str]) -> list[Path]:
    from services.app import rulesets_for
    from services.ops.report import load_report
    from services.ops.report_html import render_html

    rulesets, pages = rulesets_for(settings), []
    for round_id in round_ids:
        page = Path(settings.data_dir) / f"report-{round_id}.html"
        page.write_text(render_html(load_report(engine, round_id, rulesets)))
        pages.append(page)
    return pages


async def _publish(
    console: Console,
    settings: Settings,
    broker_url: str,
    bodies: list[bytes],
    publish_events: PublishEvents,
) -> None:
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("events", total=len(bodies))
        await publish_events(
            settings,
            bodies,
            broker_url=broker_url,
            on_progress=lambda n: progress.update(task, completed=n),
        )
    console.print(f"[bold]published[/bold]: {len(bodies)} events through JetStream")


def _print_summary(console: Console, outcomes: list[RoundOutcome]) -> None:
    for outcome in outcomes:
        data = outcome.completed or {}
        head = Table(title=shown(f"round {outcome.round_id}"), show_header=False)
        head.add_column("figure")
        head.add_column("value", justify="right", overflow="fold")
        for key in ("mode", "status", "applicants", "eligible", "placed", "unplaced",
                    "vacancies", "slots", "slots_filled", "objective", "bound",
                    "solve_seconds", "reason"):  # fmt: skip
            if key in data:
                head.add_row(key, shown(format_figure(key, data[key])))
        console.print(head)
        print_digest(console, data)
        console.print(_counter_table("placed per course", "course", outcome.placed_by_course))
        reasons = _counter_table("unplaced by reason", "reason code", outcome.unplaced_by_reason)
        reasons.caption = "an applicant may fail several rules, so codes add up to more"
        console.print(reasons)


def _counter_table(title: str, label: str, counts: Mapping[str, int]) -> Table:
    table = Table(title=title)
    table.add_column(label)
    table.add_column("applicants", justify="right")
    for key, value in sorted(counts.items()):
        table.add_row(shown(key), str(value))
    return table
