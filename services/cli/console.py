"""What every `intern-match` command shares: consoles, progress bars, `fail`, and the group that
turns an operator's expected mistakes into one or two lines instead of a traceback.

Entry-point helpers only: imports typer, rich and the messages of `services.cli.errors`.
"""

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer._click.core import Context  # typer vendors click: its own classes, not click's
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from services.cli.errors import describe
from services.ops.terminal import shown
from services.redact import redact_text

if TYPE_CHECKING:
    from services.settings import Settings


def out() -> Console:
    """Standard output, built per use so COLUMNS and a swapped sys.stdout apply; no `:emoji:`
    codes are replaced, so text from events prints as written."""
    return Console(emoji=False)


def err() -> Console:
    """Standard error, for progress, status and errors."""
    return Console(stderr=True, emoji=False)


def progress(label: str) -> Progress:
    """A transient progress bar on stderr: label, bar, done of total, time elapsed."""
    columns = (TextColumn(shown(label)), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=err(), transient=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on stderr (credentials redacted, text made safe) and exit `code`."""
    lines = redact_text(message).splitlines() or [""]
    console = err()
    console.print(f"[red]error:[/red] {shown(lines[0])}", highlight=False, soft_wrap=True)
    for line in lines[1:]:
        console.print(f"  {shown(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class GuardedGroup(TyperGroup):
    """A command group whose commands end an expected failure (a bad flag or setting, a server
    away, a file missing) with `fail`, naming the setting to change, and exit non-zero.

    Anything `describe` does not know is a defect and keeps its traceback.
    """

    def invoke(self, ctx: Context) -> object:
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except UsageError as error:
            command = ctx.command_path
            if error.ctx is not None:
                command = error.ctx.command_path
            fail(f"{error.format_message()}\nsee `{command} --help`", error.exit_code)
        except Exception as error:  # noqa: BLE001 - only described ones are handled
            message = describe(error)
            if message is None:
                raise
            fail(message, 1)


def database_to_read(settings: "Settings") -> str:
    """The configured database URL for a command that only reads it; a SQLite file that does
    not exist fails here, instead of being created empty and failing on a missing table."""
    from sqlalchemy.engine import make_url

    url = settings.database_url_or_default()
    parsed = make_url(url)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).is_file():
        fail(
            f"no database file {path}\nset INTERN_MATCH_DATABASE_URL, or INTERN_MATCH_DATA_DIR "
            "to the service's data directory",
            1,
        )
    return url
