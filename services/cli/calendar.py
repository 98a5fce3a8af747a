"""Operators' calendar commands of `intern-match`: `calendar` lists the planned rounds, `calendar
sync` applies the files' changes; added by `register`.

Entry point only: options in, calls on services.ops.calendar out; never brokers or matching.
"""

import datetime as dt

import typer

from services.cli.console import GuardedGroup, database_to_read, err, fail, out
from services.ops.terminal import shown

calendar = typer.Typer(
    cls=GuardedGroup,
    help="Automatic rounds (INTERN_MATCH_CALENDARS): list the planned rounds, or sync the files.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    """Add the `calendar` command group to `app`."""
    app.add_typer(calendar, name="calendar")


@calendar.callback(invoke_without_command=True)
def list_(
    ctx: typer.Context,
    timezone: str | None = typer.Option(
        None, help="IANA time zone to show times in (default: this machine's), e.g. Asia/Tokyo"
    ),
) -> None:
    """Each calendar round the service planned, with its state (planned, requested, completed,
    failed) and its time in your time zone and in UTC."""
    if ctx.invoked_subcommand is not None:
        return
    from services.app import engine_for
    from services.ops.calendar import calendar_table, load_entries, next_planned
    from services.settings import Settings

    zone, zone_name = _zone(timezone)
    settings = Settings()
    database_to_read(settings)
    engine = engine_for(settings)
    try:
        found = load_entries(engine)
    finally:
        engine.dispose()
    if not settings.calendars:
        err().print("INTERN_MATCH_CALENDARS is not set: this service runs no automatic rounds")
    if not found:
        err().print("no calendar rounds in the database (start the service or run `calendar sync`)")
        return
    out().print(calendar_table(found, zone, zone_name))
    upcoming = next_planned(found)
    if upcoming is not None:
        at = upcoming.planned.at.astimezone(zone).isoformat(timespec="seconds")
        out().print(f"next: {shown(upcoming.planned.round_id)} at {at}", markup=False)


@calendar.command("sync")
def sync() -> None:
    """Check the files of INTERN_MATCH_CALENDARS and apply their changes (rounds added, moved or
    removed) to the database; a running service fires by them within 5 s. A round already
    requested is never requested again, whatever the file now says."""
    from services.app import engine_for
    from services.ops.calendar import print_sync, sync_files
    from services.settings import Settings
    from services.store.db import migrate

    settings = Settings()
    if not settings.calendars:
        fail("INTERN_MATCH_CALENDARS is not set: name the calendar files to sync")
    engine = engine_for(settings)
    try:
        migrate(engine)
        calendars, report = sync_files(settings, engine)
    finally:
        engine.dispose()
    print_sync(err(), calendars, report)


def _zone(name: str | None) -> tuple[dt.tzinfo | None, str]:
    """The zone to show times in; None: this machine's, at each time's own offset (CET in
    winter, CEST in summer), not the one it has today."""
    if name is None:
        import time

        return None, "/".join(dict.fromkeys(time.tzname))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--timezone: unknown time zone {name!r}; give an IANA name such as Asia/Tokyo")
