"""The intake processor: applies a batch of inbound bodies in order in one transaction (inbox
dedupe, newest-version snapshots, event log, dead letters, rounds). Never imports brokers.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from contracts import ContractError, Kind
from matching import run_round
from services.intake.parsing import (
    AGGREGATE_OF,
    ENDS,
    Accepted,
    Parsed,
    RoundRequest,
    parse_batch,
)
from services.intake.segment import Segment
from services.intake.sources import SourceRules, judge
from services.outbound.events import raw_text, to_dead_lettered
from services.rounds.runner import RoundRunner, RulesetFor, SolveRound
from services.store.db import fetch_all, lines, upsert
from services.store.tables import ApplicantRow, InboxRow, VacancyRow, table_of

_INBOX = table_of(InboxRow)
_APPLICANTS = table_of(ApplicantRow)
_VACANCIES = table_of(VacancyRow)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as delivered: its subject (None for file input), raw body, stream sequence."""

    subject: str | None
    body: bytes
    stream_seq: int | None = None


@dataclass
class BatchOutcome:
    accepted: int = 0
    duplicate: int = 0
    stale: int = 0
    rejected: int = 0
    rounds: list[str] = field(default_factory=list)
    """Ids of the rounds that ran (a repeated round id is not listed)."""
    publishes: bool = False
    """The batch wrote to the outbox: dead letters, or a round's events (new or queued again)."""


def as_messages(batch: Sequence[Inbound]) -> list[tuple[str | None, bytes]]:
    """The (subject, body) pairs `services.intake.parsing` validates."""
    return [(m.subject, m.body) for m in batch]


def parse_inbound(batch: Sequence[Inbound]) -> list[Parsed]:
    """Validate a batch here, in this thread (the consumer may do it in a worker process)."""
    return parse_batch(as_messages(batch))


class Intake:
    """Applies batches of inbound events; the caller acknowledges a batch after `process` returns.

    Database errors propagate after rollback (the caller retries the batch); only a body that
    breaks the contract becomes a dead letter.
    """

    def __init__(
        self,
        engine: Engine,
        rulesets: RulesetFor,
        clock: Callable[[], dt.datetime],
        solve_round: SolveRound | None = None,
        time_limit_seconds: float = 60.0,
        source_rules: SourceRules | None = None,
    ) -> None:
        """`solve_round` None means `matching.run_round`; `source_rules` None: any source."""
        self.engine = engine
        self.clock = clock
        self.source_rules = source_rules
        self._rounds = RoundRunner(rulesets, solve_round or run_round, time_limit_seconds)

    def process(
        self, batch: Sequence[Inbound], parsed: Sequence[Parsed] | None = None
    ) -> BatchOutcome:
        """Apply the batch in one transaction, committed before returning.

        `parsed` is `parse_inbound(batch)` when the caller has it already.
        """
        with self.engine.begin() as connection:
            return self.apply(connection, batch, parsed)

    def fail_round(self, connection: Connection, request: RoundRequest, reason: str) -> None:
        """Store `request`'s round as failed with `reason` and queue its `round.failed` (for a
        `round.requested` the intake isolated: services.intake.isolation)."""
        self._rounds.fail(connection, request.data, request.time, reason)

    def apply(
        self,
        connection: Connection,
        batch: Sequence[Inbound],
        parsed: Sequence[Parsed] | None = None,
    ) -> BatchOutcome:
        """Apply the batch inside the caller's transaction.

        Every valid event not seen before goes to the event log, stale ones included, so a
        replay of the log reproduces the same state and the same rounds.
        """
        outcome = BatchOutcome()
        parsed = parse_inbound(batch) if parsed is None else parsed
        parsed = judge(connection, self.source_rules, batch, parsed)  # refusals: dead letters
        events = [e for e in parsed if isinstance(e, Accepted)]
        fresh = _claim_keys(connection, events)
        versions = _current_versions(connection, events)
        segment = Segment()
        for message, event in zip(batch, parsed, strict=True):
            if isinstance(event, ContractError):
                outcome.rejected += 1
                dlq = to_dead_lettered(event, message.body, self.clock())
                segment.dead_letter(dlq, event, message.body)
            elif (event.source, event.event_id) not in fresh:
                outcome.duplicate += 1
            else:
                fresh.discard((event.source, event.event_id))
                segment.log(message, event, raw_text(message.body))
                self._on_new_event(connection, segment, versions, message, event, outcome)
        segment.flush(connection)
        outcome.publishes = outcome.publishes or outcome.rejected > 0
        return outcome

    def _on_new_event(
        self,
        connection: Connection,
        segment: Segment,
        versions: dict[tuple[str, str], int],
        message: Inbound,
        event: Accepted,
        outcome: BatchOutcome,
    ) -> None:
        """A round runs on everything staged before it; a snapshot counts as accepted or stale."""
        if event.kind is Kind.ROUND_REQUESTED:
            outcome.accepted += 1
            outcome.publishes = True
            segment.flush(connection)
            request = _round_request(event)
            if self._rounds.on_round_requested(connection, request.data, request.time):
                outcome.rounds.append(request.data.round_id)
        elif _apply_snapshot(segment, versions, event):
            outcome.accepted += 1
        else:
            outcome.stale += 1


def _round_request(event: Accepted) -> RoundRequest:
    """The request an accepted `round.requested` carries from parsing (it always has one)."""
    if event.round_request is None:
        raise TypeError(f"an accepted {event.kind} without its round request")
    return event.round_request


def _apply_snapshot(
    segment: Segment, versions: dict[tuple[str, str], int], event: Accepted
) -> bool:
    """Stage the event's snapshot if its version is newer than any seen; False when stale."""
    aggregate, id_field = AGGREGATE_OF[event.kind]
    if event.aggregate_id is None:  # parsing gives every kind in AGGREGATE_OF its aggregate id
        raise ValueError(f"a {event.kind.value} event without its {id_field}")
    key = (aggregate, event.aggregate_id)
    if event.version <= versions.get(key, 0):
        return False
    versions[key] = event.version
    segment.snapshot(
        aggregate,
        {
            id_field: event.aggregate_id,
            "program_year": event.program_year,
            "version": event.version,
            "withdrawn" if aggregate == "applicant" else "closed": event.kind in ENDS,
            "payload": event.payload,
            "created_by": event.source,
        },
    )
    return True


def _claim_keys(connection: Connection, events: list[Accepted]) -> set[tuple[str, str]]:
    """Record every new (source, id) in the inbox; returns the keys that were not there yet."""
    keys = list(dict.fromkeys((e.source, e.event_id) for e in events))
    if not keys:
        return set()
    if connection.dialect.name == "postgresql":
        return _claim_keys_pg(connection, keys)
    stmt = upsert(connection, _INBOX).on_conflict_do_nothing(index_elements=["source", "event_id"])
    stmt = stmt.returning(_INBOX.c.source, _INBOX.c.event_id)
    rows = connection.execute(stmt, [{"source": s, "event_id": i} for s, i in keys])
    return {(r.source, r.event_id) for r in rows}


def _current_versions(connection: Connection, events: list[Accepted]) -> dict[tuple[str, str], int]:
    ids: dict[str, set[str]] = {"applicant": set(), "vacancy": set()}
    for event in events:
        if event.aggregate_id is not None:
            ids[AGGREGATE_OF[event.kind][0]].add(event.aggregate_id)
    versions: dict[tuple[str, str], int] = {}
    for aggregate, column in (
        ("applicant", _APPLICANTS.c.applicant_id),
        ("vacancy", _VACANCIES.c.vacancy_id),
    ):
        if ids[aggregate]:
            versions.update(
                {(aggregate, i): v for i, v in _versions(connection, column, ids[aggregate])}
            )
    return versions


def _claim_keys_pg(connection: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    rows = fetch_all(
        connection,
        "INSERT INTO inbox (source, event_id) SELECT * FROM "
        "unnest(string_to_array(%(s)s, E'\\n'), string_to_array(%(i)s, E'\\n')) "
        "ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id",
        {"s": lines([s for s, _ in keys]), "i": lines([i for _, i in keys])},
    )
    return set(rows)


def _versions(connection: Connection, column: Any, ids: set[str]) -> Any:
    if connection.dialect.name == "postgresql":
        return fetch_all(
            connection,
            f"SELECT {column.name}, version FROM {column.table.name} "
            f"WHERE {column.name} = ANY(string_to_array(%(ids)s, E'\\n'))",
            {"ids": lines(list(ids))},
        )
    return connection.execute(select(column, column.table.c.version).where(column.in_(ids)))
