"""The service's tables as SQLModel classes: current snapshots, event log, inbox, dead letters,
rounds, placements (offers) with the answers to them, the outbox and the inbound messages held
while a round runs. Imports sqlmodel and sqlalchemy only; never matching or brokers.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel

_SEQ = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a `table=True` model is mapped to: SQLModel sets `__table__` on the class
    but does not declare it to type checkers, so the mapper's local table is read instead."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _seq() -> Any:
    return Field(default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True))


def _json(nullable: bool) -> Any:
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=nullable))


def _text() -> Any:
    return Field(sa_column=Column(Text, nullable=False))


def _when(nullable: bool) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class ApplicantRow(SQLModel, table=True):
    """The highest version per applicant; `payload` is null for an unknown one's withdrawal."""

    __tablename__ = "applicants"

    applicant_id: str = Field(primary_key=True, max_length=64)
    program_year: int | None = Field(default=None, index=True)
    version: int
    withdrawn: bool = False
    payload: dict[str, Any] | None = _json(nullable=True)
    created_by: str | None = Field(
        default=None, max_length=256, description="Source of its first accepted event"
    )


class VacancyRow(SQLModel, table=True):
    """The highest version seen per vacancy; `payload` is null for a closure of an unknown one."""

    __tablename__ = "vacancies"

    vacancy_id: str = Field(primary_key=True, max_length=64)
    program_year: int | None = Field(default=None, index=True)
    version: int
    closed: bool = False
    payload: dict[str, Any] | None = _json(nullable=True)
    created_by: str | None = Field(
        default=None, max_length=256, description="Source of its first accepted event"
    )


class EventLogRow(SQLModel, table=True):
    """Every accepted inbound event, raw, in the order it was applied."""

    __tablename__ = "event_log"

    seq: int | None = _seq()
    stream_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source: str = Field(max_length=256)
    event_id: str = Field(max_length=256)
    subject: str = Field(max_length=200)
    body: str = _text()
    chain: str | None = Field(
        default=None,
        max_length=64,
        description="h after this event: hex(sha256(utf8(h + source + TAB + id + LF))) over the "
        "log in order from h = '' (program-rules.md); the lottery seed's input",
    )


class InboxRow(SQLModel, table=True):
    """Deduplication keys: one row per (source, id) ever accepted."""

    __tablename__ = "inbox"

    source: str = Field(primary_key=True, max_length=256)
    event_id: str = Field(primary_key=True, max_length=256)


class DeadLetterRow(SQLModel, table=True):
    """A rejected inbound body with its field errors; `id` is the id of its DLQ event and `raw`
    the body as text, cut at the contract's 256 KiB limit."""

    __tablename__ = "dead_letters"

    id: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=200)
    original_id: str | None = Field(default=None, max_length=256)
    errors: list[dict[str, str]] = _json(nullable=False)
    raw: str = _text()
    received_at: dt.datetime = _when(nullable=False)
    resubmitted_at: dt.datetime | None = _when(nullable=True)


class RoundRow(SQLModel, table=True):
    """One row per round id ever requested; `final_event_id` names its completed/failed event."""

    __tablename__ = "rounds"

    round_id: str = Field(primary_key=True, max_length=64)
    ordinal: int = Field(index=True, description="1, 2, ... in the order rounds ran")
    program_year: int
    period: str = Field(max_length=16)
    mode: str = Field(max_length=32)
    dry_run: bool
    status: str = Field(max_length=16, description="optimal, feasible, infeasible or failed")
    final_event_id: str = Field(max_length=256)
    lottery_seed: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="The seed the round's lottery drew with; null for rounds that drew by id",
    )


class PlacementRow(SQLModel, table=True):
    """A placement of a non-dry-run round: an offer, `proposed` until every required party
    accepted (`confirmed`) or it ended (`released`, terminal; lifecycle.md)."""

    __tablename__ = "placements"

    round_id: str = Field(primary_key=True, max_length=64)
    applicant_id: str = Field(primary_key=True, max_length=64, index=True)
    program_year: int = Field(index=True)
    period: str = Field(max_length=16)
    vacancy_id: str = Field(max_length=64, index=True)
    course: str = Field(max_length=8)
    state: str = Field(
        default="proposed",
        max_length=16,
        sa_column_kwargs={"server_default": "proposed"},
        description="proposed, confirmed or released",
    )
    respond_by: dt.datetime | None = _when(nullable=True)
    accepted_by: str = Field(
        default="",
        max_length=64,
        sa_column_kwargs={"server_default": ""},
        description="The parties that accepted, comma-separated in contract order",
    )
    released_reason: str | None = Field(default=None, max_length=32)
    released_at: dt.datetime | None = _when(nullable=True)
    company_id: str | None = Field(default=None, max_length=64)


class PlacementAnswerRow(SQLModel, table=True):
    """Every answer applied to a placement, with what it did: `applied` (an acceptance that
    left others to answer), `confirmed`, `released`, `ignored_released` (the placement had
    ended) or `already_accepted`. Dead-lettered answers are not here."""

    __tablename__ = "placement_answers"

    seq: int | None = _seq()
    placement_id: str = Field(max_length=129, index=True)
    round_id: str = Field(max_length=64, index=True)
    party: str = Field(max_length=16)
    decision: str = Field(max_length=16)
    source: str = Field(max_length=256)
    event_id: str = Field(max_length=256)
    time: dt.datetime = _when(nullable=False)
    outcome: str = Field(max_length=32)


class OutboxEntry(SQLModel, table=True):
    """An outbound event waiting for (or past) publication, in the order it was produced;
    `parked_at` is set when the broker refused it as too large (it is never retried), and
    `round_id` names the round whose event it is (null for a dead letter)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "seq",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    seq: int | None = _seq()
    event_id: str = Field(max_length=256, unique=True)
    subject: str = Field(max_length=200)
    body: str = _text()
    sent_at: dt.datetime | None = _when(nullable=True)
    parked_at: dt.datetime | None = _when(nullable=True)
    round_id: str | None = Field(default=None, max_length=64, index=True)


class CalendarRoundRow(SQLModel, table=True):
    """A round of the calendar files (lifecycle.md): `planned` until the timer publishes its
    request, `firing` while the stream's acknowledgement is awaited, then `requested` for good
    (the row is never re-planned or deleted once it left `planned`).
    Completed or failed is read from `rounds`, where the intake records what it ran."""

    __tablename__ = "calendar_rounds"

    round_id: str = Field(primary_key=True, max_length=64)
    program_year: int
    period: str = Field(max_length=16)
    mode: str = Field(max_length=32)
    at: dt.datetime = _when(nullable=False)
    calendar_file: str = _text()
    state: str = Field(max_length=16, description="planned, firing or requested")
    requested_time: dt.datetime | None = _when(nullable=True)
    """The request's event `time` (its `at` when it was fired)."""
    fired_at: dt.datetime | None = _when(nullable=True)
    """The wall-clock moment the stream acknowledged the request."""
    stream_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class ServiceLease(SQLModel, table=True):
    """The lease of the active instance: its holder, its fencing token (one more at every
    takeover) and when it runs out, in epoch seconds of the database's clock
    (services.store.lease)."""

    __tablename__ = "service_lease"

    name: str = Field(max_length=64, primary_key=True)
    holder: str = Field(max_length=64)
    token: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: float
    acquired_at: float


class HeldInboundRow(SQLModel, table=True):
    """An inbound message the intake took in while a round ran (services.intake.held): stored
    and acknowledged as it came, applied after the round in stream order, then deleted. `subject`
    and `body` are kept as delivered, whatever they hold (a subject of any length included)."""

    __tablename__ = "held_inbound"

    stream_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
