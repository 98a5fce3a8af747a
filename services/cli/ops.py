"""Operators' commands of `intern-match`: export, replay and report, added to the app by `register`.

Entry point only: options in, calls on services.ops.export/replay/report out; no logic of its own.
"""

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import typer
from rich.table import Table

from services.cli.console import database_to_read
from services.cli.console import err as _err
from services.cli.console import fail as _fail
from services.cli.console import out as _out
from services.cli.console import progress as _progress
from services.ops.terminal import shown

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from services.intake.sources import SourceRules
    from services.ops.export import StreamMessage, StreamRange
    from services.ops.replay import Verdict
    from services.settings import Settings

T = TypeVar("T")
OnProgress = Callable[[int, int], None]
"""(sequence done, last sequence) while a stream range is read."""


def register(app: typer.Typer) -> None:
    """Add the `export`, `replay`, `report` and `lottery` commands to `app`."""
    app.command("export")(export)
    app.command("replay")(replay)
    app.command("report")(report)
    app.command("lottery")(lottery)


def export(
    file: Path = typer.Argument(..., dir_okay=False, help="JSON Lines file to write"),
    from_seq: int | None = typer.Option(None, help="First stream sequence"),
    to_seq: int | None = typer.Option(None, help="Last stream sequence"),
    since: str | None = typer.Option(None, help="First message time, RFC 3339 (naive: UTC)"),
    until: str | None = typer.Option(None, help="Last message time, RFC 3339 (naive: UTC)"),
    subjects: Literal["inbound", "all"] = typer.Option(
        "inbound", help="inbound (upstream events) or all"
    ),
) -> None:
    """Write stream JIP's events (a sequence or time range) as JSON Lines with original bodies."""
    from services.ops.export import StreamRange, write_export
    from services.settings import Settings

    settings = Settings()
    try:
        wanted = StreamRange(from_seq, to_seq, _time(since), _time(until), subjects)
    except ValueError as error:
        _fail(str(error))
    with _progress("reading stream JIP") as progress:
        task = progress.add_task("seq", total=None)
        messages, fingerprint = _run(
            _read_configured(
                settings,
                wanted,
                on_progress=lambda n, end: progress.update(task, completed=n, total=end),
            ),
            "reading the configured broker",
        )
    counts = write_export(file, messages)
    _record_export_meta(file, settings, fingerprint)
    table = _counts_table(f"exported {len(messages)} events to {shown(str(file))}", counts)
    if messages:
        table.caption = f"stream sequences {messages[0].seq}..{messages[-1].seq}"
    _out().print(table)


async def _read_configured(
    settings: "Settings", wanted: "StreamRange", on_progress: OnProgress
) -> "tuple[list[StreamMessage], dict[str, str]]":
    """Read the configured broker, or with none the embedded one's store in the data directory;
    returns the messages and the broker's fingerprint."""
    from services.nats.embedded import EmbeddedNats

    if settings.broker_url:
        return await _read_and_fingerprint(settings, wanted, settings.broker_url, on_progress)
    if not (settings.nats_dir()).is_dir():
        _fail(f"INTERN_MATCH_BROKER_URL is not set and {settings.nats_dir()} holds no stream")
    async with EmbeddedNats(settings.data_dir) as server:
        return await _read_and_fingerprint(settings, wanted, server.url, on_progress)


async def _read_and_fingerprint(
    settings: "Settings", wanted: "StreamRange", url: str, on_progress: OnProgress
) -> "tuple[list[StreamMessage], dict[str, str]]":
    from services.ops.export import read_range, source_fingerprint

    messages = await read_range(settings, wanted, broker_url=url, on_progress=on_progress)
    return messages, await source_fingerprint(settings, url)


def _record_export_meta(file: Path, settings: "Settings", fingerprint: dict[str, str]) -> None:
    """Beside the events: the source broker's fingerprint (the replay guard) and the source
    rules in force (replays and offline runs judge by them)."""
    from services.ops.export_meta import ExportMeta, write_meta

    write_meta(file, ExportMeta(source_fingerprint=fingerprint, source_rules=settings.sources))


def replay(
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False),
    from_broker: str | None = typer.Option(None, help="Source broker URL (stream JIP)"),
    from_seq: int | None = typer.Option(None, help="With --from-broker: first sequence"),
    to_seq: int | None = typer.Option(None, help="With --from-broker: last sequence"),
    target_env: str = typer.Option(..., help="Environment of the target settings, named"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent; send nothing"),
    verify: bool = typer.Option(
        False, "--verify", help="Compare each round's digest with the original"
    ),
    yes_production: bool = typer.Option(
        False, "--yes-production", help="Allow a production target"
    ),
    timeout: float = typer.Option(600.0, help="--verify: seconds to wait for each round"),
    accept_target_rules: bool = typer.Option(
        False,
        "--accept-target-rules",
        help="Replay although the target's source rules differ from those the export recorded",
    ),
) -> None:
    """Republish events (original ids) into the configured target broker, e.g. a fresh staging.

    The target is the INTERN_MATCH_* settings, and --target-env must name their environment.
    The target drops event ids it already holds (broker: 20-minute window; service: by source
    and id), and a round id it already ran answers as before: point a staging replay at a fresh
    staging broker and database. Only inbound events are sent; round answers in the source are
    what --verify compares with (else an offline run of the replayed events).
    """
    from services.ops import replay as rp
    from services.ops.errors import ReplayRefusedError
    from services.settings import Settings

    settings = Settings()
    try:
        rp.check_target(settings, target_env, yes_production)
    except ReplayRefusedError as error:
        _fail(str(error))
    if (file is None) == (from_broker is None):
        _fail("give exactly one of --file FILE or --from-broker URL")
    plan = rp.plan_replay(_source(settings, file, from_broker, from_seq, to_seq))
    source_rules = _judging_rules(settings, file, accept_target_rules)
    fingerprint = None if dry_run else _source_fingerprint(settings, file, from_broker)
    table = _counts_table("to replay" if not dry_run else "dry run: would send", plan.by_subject())
    table.caption = (
        f"rounds: {shown(', '.join(plan.rounds)) or 'none'}; skipped (not inbound): {plan.skipped}"
    )
    _out().print(table)
    if dry_run:
        _out().print("dry run: nothing was sent")
        return
    from services.app import rulesets_for

    with _progress(f"replaying into {target_env}") as progress:
        task = progress.add_task("events", total=len(plan.outgoing))
        try:
            summary, verdicts = _run(
                rp.replay_into(
                    settings,
                    plan,
                    rulesets_for(settings),
                    verify_rounds=verify,
                    timeout=timeout,
                    on_progress=lambda n: progress.update(task, completed=n),
                    source_rules=source_rules,
                    source_fingerprint=fingerprint,
                ),
                "replaying into the target",
            )
        except TimeoutError:
            _fail(f"a replayed round got no answer within {timeout:g} s; raise --timeout", 1)
        except ReplayRefusedError as error:
            _fail(str(error))
    _out().print(
        f"sent {summary.sent}; duplicates acknowledged by the stream {summary.duplicates}; "
        f"rounds found {len(plan.rounds)}"
    )
    if verdicts is not None:
        _print_verdicts(verdicts)


def _judging_rules(
    settings: "Settings", file: Path | None, accept_target_rules: bool
) -> "SourceRules | None":
    """The rules the export recorded (None without a sidecar); refuses differing targets."""
    from services.ops import replay as rp
    from services.ops.errors import ReplayRefusedError
    from services.ops.export_meta import read_meta

    try:
        recorded = read_meta(file) if file is not None else None
        return rp.judging_rules(recorded, settings.sources, accept_target_rules)
    except (ValueError, ReplayRefusedError) as error:
        _fail(str(error))


def _source(
    settings: "Settings",
    file: Path | None,
    from_broker: str | None,
    from_seq: int | None,
    to_seq: int | None,
) -> list[bytes]:
    from services.ops.export import StreamRange, read_range

    if file is not None:
        return [line for line in file.read_bytes().splitlines() if line.strip()]
    wanted = StreamRange(from_seq, to_seq, subjects="all")
    with _err().status("reading stream JIP of the source broker"):
        messages = _run(
            read_range(settings, wanted, broker_url=from_broker),
            "reading the source",
            "--from-broker",
        )
    return [m.body for m in messages]


def _source_fingerprint(
    settings: "Settings", file: Path | None, from_broker: str | None
) -> dict[str, str] | None:
    """The source broker's fingerprint: the export's sidecar, or read live from --from-broker."""
    from services.ops.export import source_fingerprint
    from services.ops.export_meta import meta_path, read_meta

    if from_broker is not None:
        live = source_fingerprint(settings, from_broker)
        return dict(_run(live, "reading the source", "--from-broker"))
    if file is None:
        return None
    try:
        meta = read_meta(file)
    except ValueError as error:
        _fail(f"{error}\nexport the events again, or remove the sidecar to replay unchecked")
    if meta is None or not meta.source_fingerprint:
        _err().print(
            f"warning: {shown(str(meta_path(file)))} records no source fingerprint: whether the "
            "target is the source of these events cannot be checked"
        )
        return None
    return meta.source_fingerprint


def _print_verdicts(verdicts: "Sequence[Verdict]") -> None:
    table = Table(title="replay verification")
    for column in ("round", "original", "replayed", "compared with", "result"):
        table.add_column(column, overflow="fold")
    for v in verdicts:
        result = "[green]match[/green]" if v.matches else "[red]MISMATCH[/red]"
        table.add_row(shown(v.round_id), shown(v.original), shown(v.replayed), v.basis, result)
    _out().print(table)
    bad = [v.round_id for v in verdicts if not v.matches]
    if bad:
        _out().print(f"[red]{len(bad)} digest mismatch(es):[/red] {shown(', '.join(bad))}")
        raise typer.Exit(1)
    _out().print(f"all digests match ({len(verdicts)} rounds)")


def report(
    round_id: str | None = typer.Argument(None, help="Round id, e.g. 2023-summer-1"),
    year: int | None = typer.Option(
        None, "--year", min=2000, max=2100, help="The program year's rounds side by side instead"
    ),
    html: Path | None = typer.Option(None, "--html", dir_okay=False, help="Write the HTML page"),
    as_of: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
        help="Count open offers past their deadline at this moment (UTC unless an offset is "
        "given; default now)",
    ),
) -> None:
    """Print a round's result (or --year: every round's offers) from the service database;
    --html writes a self-contained page."""
    from services.app import engine_for, rulesets_for
    from services.ops.errors import RoundNotFoundError
    from services.settings import Settings

    if (round_id is None) == (year is None):
        _fail("name a round (intern-match report ROUND_ID) or a program year (--year 2023)")
    moment = as_of if as_of is None or as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
    settings = Settings()
    url = database_to_read(settings)
    engine = engine_for(settings)
    try:
        if year is not None:
            _report_year(engine, year, moment, html)
            return
        from services.ops.report import load_report, print_report
        from services.ops.report_html import render_html

        assert round_id is not None
        data = load_report(engine, round_id, rulesets_for(settings), moment)
    except RoundNotFoundError as error:
        _fail(f"{error} ({url})\ncheck the round id, or INTERN_MATCH_DATABASE_URL")
    finally:
        engine.dispose()
    if html is not None:
        html.write_text(render_html(data), encoding="utf-8")
    print_report(_out(), data)
    if html is not None:
        _out().print(f"wrote {html}", markup=False)


def _report_year(engine: "Engine", year: int, as_of: dt.datetime | None, html: Path | None) -> None:
    from services.ops.funnel import load_year, print_year
    from services.ops.report_html import render_year_html

    funnels = load_year(engine, year, as_of or dt.datetime.now(dt.UTC))
    if not funnels:
        _fail(f"no round of program year {year} in the service database", 1)
    if html is not None:
        html.write_text(render_year_html(year, funnels), encoding="utf-8")
    print_year(_out(), year, funnels)
    if html is not None:
        _out().print(f"wrote {html}", markup=False)


def _run(
    awaitable: Coroutine[Any, Any, T], what: str, setting: str = "INTERN_MATCH_BROKER_URL"
) -> T:
    """Run a broker call; a broker that is away or has no stream JIP fails naming `setting`."""
    import nats.errors

    try:
        return asyncio.run(awaitable)
    except (nats.errors.Error, OSError) as error:
        reason = f"{type(error).__name__} {error}".strip()
        hint = f"check {setting}: is the service running there (it creates stream JIP)?"
        _fail(f"{what}: {reason}\n{hint}")


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("subject")
    table.add_column("events", justify="right")
    for subject, n in sorted(counts.items()):
        table.add_row(shown(subject), str(n))
    return table


def _time(value: str | None) -> dt.datetime | None:
    """An RFC 3339 / ISO 8601 time (a naive one is taken as UTC); ValueError names it."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def lottery(
    round_id: str = typer.Argument(..., help="Round id, e.g. 2023-summer-1"),
    applicant_id: str = typer.Argument(..., help="The applicant whose draw to show"),
    events: Path | None = typer.Option(
        None,
        "--events",
        exists=True,
        dir_okay=False,
        help="Read the round's published events from this JSON Lines file instead of the "
        "service database",
    ),
) -> None:
    """Show how an applicant's lottery number was drawn in a round and where it put them, from
    the round's published events only."""
    from services.ops.errors import RoundNotFoundError
    from services.ops.lottery import draw_of, events_of_file, events_of_round, print_draw

    if events is not None:
        try:
            published = events_of_file(events)
        except ValueError as error:
            _fail(str(error))
        where = str(events)
    else:
        from services.app import engine_for
        from services.settings import Settings

        settings = Settings()
        where = database_to_read(settings)
        engine = engine_for(settings)
        try:
            published = events_of_round(engine, round_id)
        finally:
            engine.dispose()
    try:
        draw = draw_of(published, round_id, applicant_id)
    except RoundNotFoundError as error:
        _fail(f"{error} ({where})\ncheck the round id, or INTERN_MATCH_DATABASE_URL / --events")
    except LookupError as error:
        _fail(f"{error} ({where})")
    print_draw(_out(), draw)
