"""`intern-match demo`: a sample program year through the real service on embedded defaults.

Starts the embedded nats-server and a fresh SQLite file, publishes the year and plays it through
the broker, its rounds requested by the service's calendar (seconds apart, on a clock that
starts in the program year): the summer round, the parties' answers to its offers (and a
withdrawal after placement), the supplementary summer round, which expires the offers left
unanswered and refills the seats freed, then winter; prints what each round placed, which
rounds the calendar fired, and the year's offers round by round.
"""

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select
from sqlmodel import col

from services.ops.demo_calendar import JST, DemoCalendar, DemoClock, write_demo_ruleset
from services.ops.funnel import load_year, print_year
from services.ops.report import format_figure, print_digest
from services.ops.report_html import render_year_html
from services.ops.summary import RoundOutcome, round_outcome
from services.ops.terminal import shown
from services.redact import redact_url
from services.rounds.plan import CalendarEntry, entries
from services.rounds.rulesets import RulesetCatalog
from services.sample.answers import Offer, answer_offers
from services.sample.generator import generate_year
from services.settings import Settings
from services.store.tables import ApplicantRow, PlacementRow

if TYPE_CHECKING:
    from services.runtime import RunningService

PROGRAM_YEAR = 2023
FIRST_ROUND = dt.datetime(PROGRAM_YEAR, 5, 1, 10, tzinfo=JST)
ROUNDS = (
    (f"{PROGRAM_YEAR}-summer-1", "summer", 0),
    (f"{PROGRAM_YEAR}-summer-2", "summer", 5),
    (f"{PROGRAM_YEAR}-winter-1", "winter", 10),
)
"""(round id, period, seconds after 1 May 10:00 JST): the calendar's rounds. The demo's ruleset
gives offers no days to answer (`response_days = 0`), so offers left unanswered expire at the
next round, as in a real year where rounds are weeks apart: the supplementary summer round
expires the summer round's and refills the seats they, declines and withdrawals freed; the
winter round expires the supplementary round's."""
CLOCK_START = FIRST_ROUND - dt.timedelta(seconds=3)
"""Where the calendar's clock starts: it runs at real speed from here."""
ANSWERED_AFTER = dt.timedelta(seconds=1)
"""The parties start answering a round's offers this long after its request."""
AS_OF = FIRST_ROUND + dt.timedelta(minutes=1)
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
    from services.runtime import publish_events, running_service

    started = time.monotonic()
    demo_dir = _fresh(Path(settings.data_dir) / "demo")
    calendar = DemoCalendar(demo_dir / f"calendar-{PROGRAM_YEAR}.toml", PROGRAM_YEAR)
    demo_settings = settings.model_copy(
        update={"data_dir": demo_dir, "broker_url": None, "database_url": None,
                "ruleset": str(write_demo_ruleset(demo_dir)), "rulesets": {},
                "calendars": (calendar.write(),)}
    )  # fmt: skip
    with console.status("generating the sample program year"):
        bodies = generate_year(seed=seed, applicants=applicants, vacancies=vacancies)
        (demo_dir / "events.jsonl").write_bytes(b"\n".join(bodies) + b"\n")
    console.print(f"[bold]sample year[/bold]: {len(bodies)} events -> {demo_dir / 'events.jsonl'}")
    with console.status("starting the embedded nats-server and SQLite"):
        clock = DemoClock(CLOCK_START)
        service = running_service(demo_settings, clock=clock)
        svc = await service.__aenter__()
    try:
        where = shown(f"broker {redact_url(svc.broker_url)}, data in {demo_dir}")
        console.print(f"[bold]service[/bold]: {where}")
        await _publish(console, demo_settings, svc.broker_url, bodies, publish_events)
        published = list(bodies)
        clock.restart(CLOCK_START)  # the year is in the stream: the calendar's time starts
        outcomes = await _play(console, demo_settings, svc, calendar, published, seed, mode)
        fired = _calendar_rounds(svc.engine)
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
    console.print(_calendar_table(fired))
    print_year(console, PROGRAM_YEAR, funnels)
    for page in pages:
        console.print(f"[bold]HTML report[/bold]: {page}")
    console.print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0 if all(o.completed and "placements_digest" in o.completed for o in outcomes) else 1


async def _play(
    console: Console, settings: Settings, svc: "RunningService", calendar: DemoCalendar,
    published: list[bytes], seed: int, mode: str,
) -> list[RoundOutcome]:  # fmt: skip
    """Each round planned in the calendar only once the previous phase is in the stream; the
    service's timer requests it at its time (at once if that has passed)."""
    from services.runtime import publish_events, wait_round

    timer, rulesets = svc.parts.calendar, RulesetCatalog(settings.ruleset)
    if timer is None:
        raise RuntimeError("the demo's service runs without its calendar")
    outcomes = []
    for number, (round_id, period, seconds) in enumerate(ROUNDS):
        at = FIRST_ROUND + dt.timedelta(seconds=seconds)
        planned = await asyncio.to_thread(
            calendar.plan, timer, rulesets, round_id, period, at, mode
        )
        timer.wake()
        published.append(planned.to_event())
        with console.status(f"round {round_id} ({mode}) planned at {at.isoformat()}"):
            await wait_round(settings, round_id, timeout=300, broker_url=svc.broker_url)
        outcomes.append(round_outcome(svc.engine, round_id))
        if number < len(ROUNDS) - 1:  # the parties answer every round's offers but the last
            offers = offers_of(svc.engine, round_id)
            until_next = dt.timedelta(seconds=ROUNDS[number + 1][2] - seconds) - ANSWERED_AFTER
            answers = answer_offers(offers, seed + number, at + ANSWERED_AFTER, until_next)
            await publish_events(settings, answers, broker_url=svc.broker_url)
            published += answers
            console.print(f"[bold]answers[/bold]: {len(answers)} events to {round_id}'s offers")
    return outcomes


def _fresh(folder: Path) -> Path:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _calendar_rounds(engine: Engine) -> list[CalendarEntry]:
    with engine.connect() as connection:
        return entries(connection)


def _calendar_table(found: list[CalendarEntry]) -> Table:
    """Which rounds the calendar fired: planned time (demo clock), delay, state."""
    table = Table(title="rounds the calendar fired (its clock starts 1 May 2023, 09:59:57 JST)")
    for name in ("round", "planned at (JST)", "requested after its time", "state"):
        table.add_column(name)
    for entry in found:
        late = (
            "-"
            if entry.fired_at is None
            else f"{(entry.fired_at - entry.planned.at).total_seconds():.3f} s"
        )
        at = f"{entry.planned.at.astimezone(JST):%Y-%m-%d %H:%M:%S}"
        table.add_row(shown(entry.planned.round_id), at, late, shown(entry.state))
    return table


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
