"""The messages for failures an operator can mend (a setting, a flag, a server, a file): each
names the problem and what to change, credentials redacted. Used by `cli_console.GuardedGroup`.

Imports exception types only (lazily, so a command's start stays fast); never runs anything.
"""

from collections.abc import Callable
from typing import Any

_BROKER_HINT = "check INTERN_MATCH_BROKER_URL (and that nats-server runs there)"
_DATABASE_HINT = "check INTERN_MATCH_DATABASE_URL (unset: SQLite under INTERN_MATCH_DATA_DIR)"


def describe(error: BaseException) -> str | None:
    """One or two lines for an expected failure, or None for a defect (which keeps its trace)."""
    for kinds, message in _describers():
        if isinstance(error, kinds):
            return message(error)
    return None


def _describers() -> list[
    tuple[type[BaseException] | tuple[type[BaseException], ...], Callable[[Any], str]]
]:
    import nats.errors
    import nats.js.errors
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from matching import RulesetError
    from services.nats.errors import (
        BrokerAccessError,
        EmbeddedNatsError,
        UnroutableEventError,
        UnsupportedBrokerError,
    )
    from services.ops.errors import ReplayRefusedError
    from services.rounds.errors import CalendarError

    return [
        (ValidationError, _invalid),
        (RulesetError, _ruleset),
        (CalendarError, _calendar),
        (DBAPIError, _database),
        (ArgumentError, lambda e: f"INTERN_MATCH_DATABASE_URL is not a usable database URL: {e}"),
        (
            (
                BrokerAccessError,
                EmbeddedNatsError,
                UnroutableEventError,
                UnsupportedBrokerError,
                ReplayRefusedError,
            ),
            str,
        ),
        (
            nats.js.errors.NotFoundError,
            lambda e: (
                f"stream JIP not found on {_broker()}: is the "
                f"service running there (it creates the stream)? {_BROKER_HINT}"
            ),
        ),  # fmt: skip
        ((nats.errors.Error, ConnectionError), _broker_away),
        (TimeoutError, lambda e: f"no answer in time from {_broker()}; {_BROKER_HINT}"),
        (OSError, _os),
    ]


def _invalid(error: Any) -> str:
    """A settings error names the variable; any other model error the flag that fed it."""
    is_settings = error.title == "Settings"
    lines = []
    for item in error.errors(include_input=False, include_url=False)[:2]:
        loc = "_".join(str(part) for part in item["loc"])
        name = f"INTERN_MATCH_{loc.upper()}" if is_settings else f"--{loc.replace('_', '-')}"
        text = str(item["msg"]).removeprefix("Value error, ")
        lines.append(
            f"{'bad setting ' if is_settings else 'invalid '}{name}: {text}" if loc else text
        )
    return "\n".join(lines)


def _ruleset(error: Exception) -> str:
    return (
        f"{error}\nset INTERN_MATCH_RULESET (or INTERN_MATCH_RULESETS) to a shipped ruleset "
        "or a TOML file"
    )


def _calendar(error: Exception) -> str:
    return f"{error}\nmend the file, or leave it out of INTERN_MATCH_CALENDARS"


def _database(error: Any) -> str:
    reason = (str(error.orig) if error.orig is not None else str(error)).strip().splitlines()
    first = reason[0] if reason else type(error).__name__
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        schema = "has no schema: run `intern-match migrate`"
        return f"the database {_database_url()} {schema}\n{_DATABASE_HINT}"
    return f"cannot use the database {_database_url()}: {first}\n{_DATABASE_HINT}"


def _broker_away(error: Exception) -> str:
    reason = str(error) or type(error).__name__
    return f"cannot reach the broker {_broker()}: {reason}\n{_BROKER_HINT}"


def _os(error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    return f"{reason}: {error.filename}" if error.filename else reason


def _database_url() -> str:
    from services.redact import redact_url
    from services.settings import Settings

    try:
        return redact_url(Settings().database_url_or_default())
    except ValueError:
        return "(unreadable settings)"


def _broker() -> str:
    from services.redact import redact_url
    from services.settings import Settings

    try:
        url = Settings().broker_url
    except ValueError:
        return "the broker"
    return redact_url(url) if url else "the embedded broker"
