"""What the intake needs to get past an event that will not commit: telling a database that is
away from an event that fails, a probe transaction, and the isolated event's dead letter (a
failing `round.requested` becomes `round.failed`). Imports the intake, sqlalchemy and contracts;
never brokers.
"""

import logging
from dataclasses import fields

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from contracts import ContractError, FieldError, subject_of
from contracts.subjects import UNKNOWN_SUBJECT
from services.intake.apply import BatchOutcome, Inbound, Intake
from services.intake.inbox import forget_held
from services.intake.parsing import Accepted, Parsed
from services.intake.segment import Segment
from services.outbound.events import to_dead_lettered
from services.store.errors import LeaseLostError
from services.store.lease import check_fence

log = logging.getLogger(__name__)

_AWAY_CLASSES = ("08", "25", "28", "3D", "40", "53", "58", "XX", "57P", "55P03", "42501")
"""SQLSTATE prefixes of a database that is away, refusing or overloaded, not of an event:
connection, read-only or aborted transaction, authorization, missing database, rollback
(serialization, deadlock), resources (disk full), system, internal, shutdown, lock timeout,
privileges."""


_DRIVERS = ("psycopg", "psycopg2", "sqlite3")
_AWAY_TYPES = ("OperationalError", "InterfaceError")
"""Without a SQLSTATE (a refused connection, a locked SQLite file): the database is away."""


def is_database_away(error: BaseException) -> bool:
    """True when `error` says the database cannot take any transaction now: retry, never split.
    A lost lease counts as away: the instance is stepping down, and no part of the batch may
    commit (nor become a dead letter) here."""
    if isinstance(error, LeaseLostError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    driver = error.orig if isinstance(error, DBAPIError) else error
    state = getattr(driver, "sqlstate", None) if _is_driver_error(driver) else None
    if state:
        return str(state).startswith(_AWAY_CLASSES)
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return _is_driver_error(driver) and type(driver).__name__ in _AWAY_TYPES


def stage_of(error: BaseException) -> str:
    """Where a commit failed, for a dead letter's reason: `database` or `intake`."""
    return "database" if isinstance(error, SQLAlchemyError) or _is_driver_error(error) else "intake"


def _is_driver_error(error: BaseException | None) -> bool:
    """An error of a database driver (psycopg, sqlite3): some statements run on the driver's
    cursor directly (services.store.db.fetch_all), so its errors arrive unwrapped."""
    return error is not None and type(error).__module__.split(".")[0] in _DRIVERS


def probe(intake: Intake) -> None:
    """A transaction of `SELECT 1`; raises when the database does not answer."""
    with intake.engine.begin() as connection:
        connection.execute(text("SELECT 1"))


def isolated_error(
    message: Inbound, parsed: Parsed | None, stage: str, error: str
) -> ContractError:
    """The dead letter's error for an event that failed alone: the stage and the error's type."""
    doing = "validating" if stage == "parsing" else "applying"
    found = [FieldError(stage, f"{error} while {doing} this event")]
    if isinstance(parsed, Accepted):
        return ContractError(
            found, parsed.event_id, message.subject or subject_of(parsed.kind), parsed.source
        )
    if isinstance(parsed, ContractError):
        return ContractError(
            found + parsed.errors, parsed.original_id, parsed.subject, parsed.original_source
        )
    return ContractError(found, None, message.subject or UNKNOWN_SUBJECT)


def isolate(
    intake: Intake, message: Inbound, parsed: Parsed | None, stage: str, error: str
) -> BatchOutcome:
    """Store the event as a dead letter (a `round.requested` as its round's `round.failed`) in a
    transaction of its own (a held message deleted from the held ones in it); the event is
    neither in the inbox nor in the event log."""
    reason = isolated_error(message, parsed, stage, error)
    if isinstance(parsed, Accepted) and parsed.round_request is not None:
        try:
            with intake.engine.begin() as connection:
                origin = (parsed.source, parsed.event_id)
                intake.fail_round(connection, parsed.round_request, str(reason), origin)
                forget_held(connection, [message.stream_seq] if message.held else [])
                check_fence(connection, intake.fence)
            return BatchOutcome(rejected=1, publishes=True)
        except SQLAlchemyError as failure:  # e.g. its round id is stored: a dead letter then
            log.warning(
                "round.failed of an isolated round.requested not stored; dead-lettering it",
                extra={"stream_seq": message.stream_seq, "error": type(failure).__name__},
            )
    segment = Segment()
    segment.dead_letter(
        to_dead_lettered(reason, message.body, intake.clock()), reason, message.body
    )
    with intake.engine.begin() as connection:
        segment.flush(connection)
        forget_held(connection, [message.stream_seq] if message.held else [])
        check_fence(connection, intake.fence)
    return BatchOutcome(rejected=1, publishes=True)


def merged(first: BatchOutcome, second: BatchOutcome) -> BatchOutcome:
    """The outcome of two parts of a batch committed one after the other."""
    counts = {
        f.name: getattr(first, f.name) + getattr(second, f.name)
        for f in fields(BatchOutcome)
        if f.name not in ("rounds", "publishes")
    }
    return BatchOutcome(
        **counts,
        rounds=first.rounds + second.rounds,
        publishes=first.publishes or second.publishes,
    )
