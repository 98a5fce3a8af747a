"""Operators' dead-letter commands of `intern-match`: list, show and resubmit, added by `register`.

Entry point only: options in, calls on services.ops.deadletters out; never brokers or matching.
"""

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from services.cli.console import database_to_read, err, fail, out
from services.ops.terminal import shown, visible

dead_letters = typer.Typer(
    help="Rejected inbound events: list them, show one, resubmit a corrected body.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `dead-letters` command group to `app`."""
    app.add_typer(dead_letters, name="dead-letters")


def _engine() -> Any:
    from services.app import engine_for
    from services.settings import Settings

    settings = Settings()
    database_to_read(settings)
    return engine_for(settings)


@dead_letters.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Include resubmitted dead letters"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line, without bodies"),
) -> None:
    """Dead letters by receipt time, oldest first; bodies are not shown (they may hold personal
    data): use `show ID`."""
    from services.ops.deadletters import list_dead_letters

    engine = _engine()
    try:
        found = list_dead_letters(engine, include_resubmitted=all_)
    finally:
        engine.dispose()
    if as_json:
        for d in found:
            typer.echo(json.dumps(_summary(d)))  # ASCII: no control or BiDi character passes
        return
    table = Table("id", "subject", "original id", "received", "first error", "resubmitted")
    for d in found:
        s = _summary(d)
        cells = (s["id"], s["subject"], s["original_id"] or "-", s["received_at"],
                 s["first_error"], s["resubmitted_at"] or "-")  # fmt: skip
        table.add_row(*(shown(cell) for cell in cells))
    out().print(table)
    err().print(f"{len(found)} dead letters")


def _summary(d: Any) -> dict[str, Any]:
    first = d.errors[0] if d.errors else {"loc": "", "msg": ""}
    return {
        "id": d.id,
        "subject": d.subject,
        "original_id": d.original_id,
        "received_at": d.received_at.isoformat(),
        "errors": len(d.errors),
        "first_error": f"{first['loc']}: {first['msg']}"[:120],
        "resubmitted_at": d.resubmitted_at.isoformat() if d.resubmitted_at else None,
    }


@dead_letters.command("show")
def show(dead_letter_id: str = typer.Argument(..., help="Id from `dead-letters list`")) -> None:
    """Write one dead letter's errors to stderr and its original body to stdout (to correct it)."""
    from services.ops.deadletters import list_dead_letters

    engine = _engine()
    try:
        found = [d for d in list_dead_letters(engine, True) if d.id == dead_letter_id]
    finally:
        engine.dispose()
    if not found:
        fail(f"no dead letter {dead_letter_id}", 2)
    for e in found[0].errors:
        err().print(shown(f"{e['loc']}: {e['msg']}"), highlight=False)
    raw = found[0].raw  # as received, for correction; a terminal sees its controls escaped
    typer.echo(visible(raw) if sys.stdout.isatty() else raw)


@dead_letters.command("resubmit")
def resubmit(
    dead_letter_id: str = typer.Argument(..., help="Id from `dead-letters list`"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The corrected body"),
) -> None:
    """Publish a corrected body to the broker (INTERN_MATCH_BROKER_URL), so that it is in the
    stream, in exports and in replays, and the running service applies it in stream order; the
    dead letter is marked resubmitted once the stream has it.

    Exit 1 when the corrected body is still invalid or cannot be resubmitted (an outbound type,
    or a source and id already accepted), 2 when the id is unknown or was already resubmitted;
    nothing is published in either case.
    """
    import asyncio

    from contracts import ContractError
    from services.app import utc_now
    from services.nats.client import publish_one
    from services.ops.deadletters import resubmit as publish_corrected
    from services.ops.errors import NotResubmittable, UnknownDeadLetter
    from services.settings import Settings

    settings = Settings()
    if not settings.broker_url:
        fail("INTERN_MATCH_BROKER_URL is not set: resubmit publishes to the service's broker", 2)

    async def publish(subject: str, body: bytes, msg_id: str) -> bool:
        return await publish_one(settings, subject, body, msg_id)

    engine = _engine()
    try:
        done = asyncio.run(publish_corrected(engine, publish, dead_letter_id,
                                             file.read_bytes().strip(), utc_now))  # fmt: skip
    except ContractError as error:
        for e in error.errors:
            err().print(shown(f"still invalid: {e.loc}: {e.msg}"), highlight=False)
        raise typer.Exit(1) from None
    except NotResubmittable as error:
        fail(f"cannot resubmit: {error}", 1)
    except UnknownDeadLetter:
        fail(f"no dead letter {dead_letter_id} waiting for resubmission", 2)
    finally:
        engine.dispose()
    again = " (the broker had it already)" if done.duplicate else ""
    typer.echo(f"resubmitted {dead_letter_id}: published {done.event_id} on {done.subject}{again}")
