"""The `intern-match` command line (typer + rich): demo, serve, publish, round, schema.

Entry point only: each command translates options into calls on services; no logic of its own.
"""

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from contracts import Kind, RoundRequested, subject_of
from contracts.vocabulary import Mode, Period
from services.cli.console import GuardedGroup, err, fail, progress
from services.ops.terminal import shown
from services.redact import redact_url

if TYPE_CHECKING:
    from services.settings import Settings

app = typer.Typer(
    cls=GuardedGroup,
    help="intern-match: placement rounds for the METI Japan Internship Program.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level")) -> None:
    from services.observability.logs import configure_logging

    configure_logging(logging.INFO if verbose else logging.WARNING)


@app.command()
def demo(
    applicants: int = typer.Option(3000, help="Applicants in the sample program year"),
    vacancies: int = typer.Option(300, help="SME vacancies in the sample program year"),
    seed: int = typer.Option(2023, help="Seed of the sample generator"),
    mode: Mode = typer.Option("optimal", help="Round mode"),
) -> None:
    """Run the whole service on embedded defaults with a sample program year, and summarise it."""
    from services.ops.demo import run_demo
    from services.settings import Settings

    settings = Settings()
    code = asyncio.run(run_demo(settings, err(), applicants, vacancies, seed, mode))
    raise typer.Exit(code)


@app.command()
def serve() -> None:
    """Run the service (intake, rounds, outbox relay, probes on INTERN_MATCH_HTTP_PORT) until
    SIGTERM or SIGINT; logs JSON lines at INFO on stderr."""
    from services.observability.logs import configure_logging
    from services.runtime import serve_forever
    from services.settings import Settings

    settings = Settings()
    configure_logging(logging.INFO)
    asyncio.run(serve_forever(settings))  # stderr carries JSON lines, and an error's line


@app.command()
def publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines"),
) -> None:
    """Publish the CloudEvents of a JSON Lines file to the broker, in file order."""
    from services.runtime import publish_events
    from services.settings import Settings

    settings = Settings()
    if not settings.broker_url:
        fail("INTERN_MATCH_BROKER_URL is not set: publish needs a running broker")
    bodies = _read_lines(file)
    with progress("Publishing") as bar:
        task = bar.add_task("events", total=len(bodies))
        sent = asyncio.run(
            publish_events(settings, bodies, on_progress=lambda n: bar.update(task, completed=n))
        )
    err().print(f"published {sent} events to {redact_url(settings.broker_url)}", markup=False)


@app.command("round")
def round_(
    program_year: int | None = typer.Option(None, help="Program year of the round"),
    period: Period | None = typer.Option(None, help="Period of the round"),
    mode: Mode = typer.Option("optimal", help="Round mode"),
    round_id: str | None = typer.Option(None, help="Round id (default <year>-<period>-<mode>)"),
    dry_run: bool = typer.Option(False, help="Compute and report, publish no placements"),
    lottery_seed: str | None = typer.Option(
        None, help="Dry runs only: the seed of the tie-breaking lottery (a what-if analysis)"
    ),
    offline: bool = typer.Option(False, help="No broker, no database server"),
    events: Path | None = typer.Option(None, help="Offline: JSON Lines events to apply in order"),
    out: Path | None = typer.Option(None, help="Offline: where to write the outbound events"),
    timeout: float = typer.Option(600.0, help="Online: seconds to wait for the result"),
) -> None:
    """Run a placement round: online through the broker, or offline over an event file."""
    request = None
    if lottery_seed is not None and program_year is None and period is None:
        fail("--lottery-seed needs the round it is for: give --program-year and --period")
    if program_year is not None or period is not None:
        if program_year is None or period is None:
            fail("--program-year and --period go together")
        if lottery_seed is not None and not dry_run:
            fail("--lottery-seed goes with --dry-run: a real round draws with its own seed")
        rid = round_id or f"{program_year}-{period}-{mode}"
        request = RoundRequested(
            round_id=rid,
            program_year=program_year,
            period=period,
            mode=mode,
            dry_run=dry_run,
            lottery_seed=lottery_seed,
        )
    if offline:
        _round_offline(request, events, out)
    elif request is None:
        fail("give --program-year and --period (or --offline --events FILE)")
    else:
        _round_online(request, timeout)


def _round_offline(request: RoundRequested | None, events: Path | None, out: Path | None) -> None:
    from datetime import UTC, datetime

    from services.app import rulesets_for
    from services.ops.offline import rules_of_file, run_offline_file
    from services.settings import Settings

    if events is None or out is None:
        fail("--offline needs --events FILE and --out OUT")
    if not events.is_file():
        fail(f"no such events file: {events}")
    settings = Settings()
    try:  # the rules recorded beside an export judge its events as they were judged
        source_rules = rules_of_file(events, settings.sources)
    except ValueError as error:
        fail(str(error))
    with err().status(f"applying {shown(str(events))} offline"):
        run = run_offline_file(
            _read_lines(events),
            rulesets_for(settings),
            request,
            clock=lambda: datetime.now(UTC),
            source_rules=source_rules,
        )
    out.write_bytes(b"".join(body + b"\n" for body in run.bodies))
    err().print(f"wrote {len(run.bodies)} outbound events to {out}", markup=False)
    if run.skipped:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(run.skipped.items()))
        err().print(
            f"skipped {run.skipped.total()} events the service publishes ({kinds}): "
            "an offline round takes inbound events only",
            markup=False,
        )
    if run.dead_letters:
        err().print(
            f"{run.dead_letters} lines are not valid inbound events: "
            f"their dead letters (jip.dlq.*) in {out} say why",
            markup=False,
        )


def _round_online(request: RoundRequested, timeout: float) -> None:
    from services.runtime import request_round
    from services.settings import Settings

    settings = Settings()
    if not settings.broker_url:
        fail("INTERN_MATCH_BROKER_URL is not set: an online round needs a running service")
    refusal = _time_refusal(settings, request)
    if refusal is not None:  # the service would dead-letter it and no answer would come
        fail(f"round {request.round_id}: the service refuses this request now: {refusal}")
    with err().status(f"round {request.round_id}: waiting for the service"):
        try:
            event = asyncio.run(request_round(settings, request, timeout))
        except TimeoutError:
            fail(f"round {request.round_id}: no answer within {timeout:g} s; raise --timeout", 1)
    sys.stdout.write(json.dumps(event, indent=2) + "\n")
    if event.get("type", "").startswith(subject_of(Kind.ROUND_FAILED)):
        raise typer.Exit(1)


def _time_refusal(settings: "Settings", request: RoundRequested) -> str | None:
    """Why the round.requested time guard would refuse `request` sent now, or None."""
    from datetime import UTC, datetime

    from services.app import rulesets_for
    from services.rounds.guard import time_refusal

    ruleset = rulesets_for(settings)(request.program_year)
    return None if ruleset is None else time_refusal(ruleset, request, datetime.now(UTC))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic) of the configured database, then exit."""
    from services.app import engine_for
    from services.settings import Settings
    from services.store.db import migrate as upgrade

    settings = Settings()
    url = redact_url(settings.database_url_or_default())
    engine = engine_for(settings)
    try:
        upgrade(engine)  # a database away or refusing ends in cli_errors' two lines
    finally:
        engine.dispose()
    err().print(f"database schema is up to date ({url})", markup=False)


@app.command()
def schema(
    out: Path = typer.Option(Path("schemas"), help="Directory for the JSON Schemas and AsyncAPI"),
) -> None:
    """Write the JSON Schema of every event and the AsyncAPI document FastStream generates."""
    from contracts.schema import write_schemas
    from services.nats.asyncapi import write_asyncapi

    out.mkdir(parents=True, exist_ok=True)
    paths = list(write_schemas(out))
    paths.append(write_asyncapi(out / "asyncapi.json"))
    err().print(f"wrote {len(paths)} files to {out}", markup=False)


def _read_lines(file: Path) -> list[bytes]:
    return [line for line in file.read_bytes().splitlines() if line.strip()]


def main() -> None:
    """Console-script entry point."""
    app()


from services.cli.ops import register as _register_ops  # noqa: E402

_register_ops(app)

from services.cli.deadletters import register as _register_dead_letters  # noqa: E402

_register_dead_letters(app)

from services.cli.calendar import register as _register_calendar  # noqa: E402

_register_calendar(app)
