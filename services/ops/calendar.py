"""`intern-match calendar`: the planned rounds with their state and time, and `calendar sync`,
which writes the calendar files' changes into the database for the running service's timer.
Imports the rounds' calendar and plan and the composition root's ruleset catalogue.
"""

import datetime as dt

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from services.app import rulesets_for
from services.ops.terminal import shown
from services.rounds.calendar import Calendars, load_calendars, shown_utc
from services.rounds.plan import PLANNED, CalendarEntry, SyncReport, entries, log_sync, sync
from services.settings import Settings


def load_entries(engine: Engine) -> list[CalendarEntry]:
    """Every calendar round in the database, by time."""
    with engine.connect() as connection:
        return entries(connection)


def sync_files(settings: Settings, engine: Engine) -> tuple[Calendars, SyncReport]:
    """Check INTERN_MATCH_CALENDARS' files (CalendarError on the first problem) and make the
    table's planned rounds theirs; a running service's timer reads the table within seconds."""
    calendars = load_calendars(settings.calendars, rulesets_for(settings))
    with engine.begin() as connection:
        report = sync(connection, calendars)
    log_sync(report)
    return calendars, report


def calendar_table(found: list[CalendarEntry], zone: dt.tzinfo | None, zone_name: str) -> Table:
    """One row per round: id, year, period, mode, state, time in `zone` (None: this machine's)
    and in UTC, when the calendar requested it, and a note."""
    table = Table(title="calendar rounds")
    for name in ("round", "year", "period", "mode", "state", f"time ({zone_name})", "time (UTC)",
                 "requested at (UTC)", "note"):  # fmt: skip
        table.add_column(shown(name))
    for entry in found:
        p = entry.planned
        local = p.at.astimezone(zone).isoformat(timespec="seconds")
        fired = shown_utc(entry.fired_at.replace(microsecond=0)) if entry.fired_at else "-"
        cells = (p.round_id, str(p.program_year), p.period, p.mode, entry.state, local,
                 shown_utc(p.at), fired, entry.detail or "-")  # fmt: skip
        table.add_row(*(shown(c) for c in cells))
    return table


def next_planned(found: list[CalendarEntry]) -> CalendarEntry | None:
    """The earliest round still planned."""
    return next((e for e in found if e.state == PLANNED), None)


def print_sync(console: Console, calendars: Calendars, report: SyncReport) -> None:
    """What a sync changed, and the warnings of the files."""
    for warning in calendars.warnings:
        console.print(f"warning: {shown(warning)}", markup=False, highlight=False)
    lines = [
        ("added", report.added), ("re-planned", report.replanned), ("removed", report.removed),
        ("changed after their request, not applied", report.ignored),
    ]  # fmt: skip
    for label, ids in lines:
        if ids:
            console.print(f"{label}: {shown(', '.join(ids))}", markup=False, highlight=False)
    console.print(f"calendar synced: {len(calendars.rounds)} rounds in the files", markup=False)
