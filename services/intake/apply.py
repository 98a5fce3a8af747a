"""The intake processor: applies a batch of inbound bodies in order in one transaction (inbox
dedupe, newest-version snapshots, event log, dead letters, rounds, offers' answers and
releases). Never imports brokers.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from contracts import ContractError, FieldError, Kind, subject_of
from matching import run_round
from services.intake.errors import RoundTimeRefusedError
from services.intake.inbox import (
    aggregate_ids,
    claim_keys,
    claim_statement,
    claimed,
    current_versions,
    forget_held,
    new_keys,
    unclaim,
    versions_statements,
)
from services.intake.offers import OfferDesk, touched
from services.intake.parsing import (
    AGGREGATE_OF,
    ENDS,
    Accepted,
    Parsed,
    RoundRequest,
    parse_batch,
)
from services.intake.segment import CHAIN_STATEMENT, Segment, chain_of, read_chain
from services.intake.sources import SourceRules, judge
from services.outbound.events import raw_text, to_dead_lettered
from services.rounds.offers import TOUCHED_RESULT, Offer, offers_of, touched_statements
from services.rounds.runner import RoundRunner, RulesetFor, SolveRound
from services.store.db import fetch_pipelined
from services.store.lease import Fence, check_fence


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as delivered: its subject (None for file input), raw body, stream sequence;
    `held` when it comes from the messages held while a round ran (services.intake.held)."""

    subject: str | None
    body: bytes
    stream_seq: int | None = None
    held: bool = False


@dataclass
class BatchOutcome:
    accepted: int = 0
    duplicate: int = 0
    stale: int = 0
    rejected: int = 0
    rounds: list[str] = field(default_factory=list)
    """Ids of the rounds that ran (a repeated round id is not listed)."""
    publishes: bool = False
    """The batch wrote to the outbox: dead letters, a round's events (new or queued again), or
    what became of offers."""
    answers_ignored: int = 0
    """Answers to placements already released (acknowledged, changing nothing; lifecycle.md)."""
    over_capacity: int = 0
    """Seats a capacity cut left with more confirmed placements than their new capacity."""


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
        fence: Fence | None = None,
    ) -> None:
        """`solve_round` None means `matching.run_round`; `source_rules` None: any source;
        `fence` None: this process is the only one writing (offline runs, tests)."""
        self.engine = engine
        self.fence = fence
        self.clock = clock
        self.source_rules = source_rules
        self._rulesets = rulesets
        self._rounds = RoundRunner(rulesets, solve_round or run_round, time_limit_seconds)

    def process(
        self, batch: Sequence[Inbound], parsed: Sequence[Parsed] | None = None
    ) -> BatchOutcome:
        """Apply the batch in one transaction, committed before returning; held messages among
        them are deleted from the held ones in it (services.intake.held).

        `parsed` is `parse_inbound(batch)` when the caller has it already. The fencing check
        comes last, in the same transaction: an instance that lost the lease meanwhile (a round
        included, which runs inside) commits nothing and raises LeaseLostError.
        """
        with self.engine.begin() as connection:
            held = [m.stream_seq for m in batch if m.held]
            if held:  # deleted after the batch's writes, before the fence
                outcome = self.apply(connection, batch, parsed)
                forget_held(connection, held)
                check_fence(connection, self.fence)
            else:  # with the batch's last writes (one round trip on PostgreSQL)
                outcome = self.apply(connection, batch, parsed, fence=self.fence)
            return outcome

    def fail_round(
        self,
        connection: Connection,
        request: RoundRequest,
        reason: str,
        origin: tuple[str, str] = ("", ""),
    ) -> None:
        """Store `request`'s round as failed with `reason` and queue its `round.failed` (for a
        `round.requested` the intake isolated: services.intake.isolation); `origin` is the
        request's (source, id)."""
        self._rounds.fail(connection, request.data, request.time, reason, origin)

    def apply(
        self,
        connection: Connection,
        batch: Sequence[Inbound],
        parsed: Sequence[Parsed] | None = None,
        fence: Fence | None = None,
    ) -> BatchOutcome:
        """Apply the batch inside the caller's transaction; `fence` is checked last.

        Every valid event not seen before goes to the event log, stale ones included, so a
        replay of the log reproduces the same state and the same rounds.
        """
        outcome = BatchOutcome()
        parsed = parse_inbound(batch) if parsed is None else parsed
        parsed = judge(connection, self.source_rules, batch, parsed)  # refusals: dead letters
        events = [e for e in parsed if isinstance(e, Accepted)]
        if connection.dialect.name == "postgresql":
            fresh, versions, chain, offers = _read_ahead(connection, events)
        else:
            fresh, versions = claim_keys(connection, events), current_versions(connection, events)
            chain, offers = read_chain(connection), None
        segment = Segment(chain)
        desk = OfferDesk(connection, events, self._rulesets, self.source_rules, segment)
        if offers is not None:
            desk.preload(offers)
        for message, event in zip(batch, parsed, strict=True):
            if isinstance(event, ContractError):
                outcome.rejected += 1
                dlq = to_dead_lettered(event, message.body, self.clock())
                segment.dead_letter(dlq, event, message.body)
            elif (event.source, event.event_id) not in fresh:
                outcome.duplicate += 1
            else:
                fresh.discard((event.source, event.event_id))
                refusal = self._on_new_event(
                    connection, segment, desk, versions, message, event, outcome
                )
                if refusal is not None:  # judged on the state: changed nothing, not spent
                    outcome.rejected += 1
                    unclaim(connection, event)
                    dlq = to_dead_lettered(refusal, message.body, self.clock())
                    segment.dead_letter(dlq, refusal, message.body)
        segment.flush(connection, fence)
        outcome.answers_ignored = desk.counts.answers_ignored
        outcome.over_capacity = desk.counts.over_capacity
        outcome.publishes = outcome.publishes or outcome.rejected > 0 or segment.queued_outbound
        return outcome

    def _on_new_event(
        self,
        connection: Connection,
        segment: Segment,
        desk: OfferDesk,
        versions: dict[tuple[str, str], int],
        message: Inbound,
        event: Accepted,
        outcome: BatchOutcome,
    ) -> ContractError | None:
        """A round runs on everything staged before it; a snapshot counts as accepted or stale,
        and an applied withdrawal, closure or posting may release offers. An answer or a round
        may be refused on the state: the refusal is returned, to be dead-lettered."""
        if event.kind is Kind.ROUND_REQUESTED:
            request = _round_request(event)
            reason = self._rounds.time_refusal(request.data, request.time)
            if reason is not None:
                subject = message.subject or subject_of(event.kind)
                errors = [FieldError("time", reason)]
                return RoundTimeRefusedError(errors, event.event_id, subject, event.source)
            chain = segment.chain or ""  # h over the events before the request: the seed's input
            segment.log(message, event, raw_text(message.body))
            outcome.accepted += 1
            outcome.publishes = True
            segment.flush(connection)
            origin = (event.source, event.event_id)
            rounds = self._rounds
            if rounds.on_round_requested(connection, request.data, request.time, origin, chain):
                outcome.rounds.append(request.data.round_id)
            desk.forget()
            return None
        if event.kind is Kind.PLACEMENT_RESPONDED:
            refusal = desk.on_answer(event)
            if refusal is None:
                segment.log(message, event, raw_text(message.body))
                outcome.accepted += 1
            return refusal
        segment.log(message, event, raw_text(message.body))
        if not _apply_snapshot(segment, versions, event):
            outcome.stale += 1
            return None
        outcome.accepted += 1
        if event.kind is Kind.APPLICANT_WITHDRAWN:
            desk.on_withdrawn(event)
        elif event.kind is Kind.VACANCY_CLOSED:
            desk.on_closed(event)
        elif event.kind is Kind.VACANCY_POSTED:
            desk.on_posted(event)
        return None


def _read_ahead(
    connection: Connection, events: list[Accepted]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], int], str, list[Offer]]:
    """PostgreSQL: what a batch begins with, read in one round trip: the inbox's new keys
    (claimed), the aggregates' versions, the chain and the offers the batch touches.

    Each read alone was a round trip, and on each the commit thread waited for the GIL too:
    a batch of 500 answers spent about a third of its time in these four."""
    keys, ids, offers_touched = new_keys(events), aggregate_ids(events), touched(events)
    statements = [claim_statement(keys)] if keys else []
    by_aggregate = versions_statements(ids)
    statements += [statement for _, statement in by_aggregate]
    statements.append(CHAIN_STATEMENT)
    reads_offers = any(offers_touched)
    if reads_offers:  # last: its rows are at TOUCHED_RESULT from the end
        statements += touched_statements(*offers_touched)
    results = fetch_pipelined(connection, statements)
    offers = offers_of(results[TOUCHED_RESULT]) if reads_offers else []
    ahead = iter(results)
    fresh = claimed(next(ahead)) if keys else set()
    versions = {
        (aggregate, str(i)): int(v) for aggregate, _ in by_aggregate for i, v in next(ahead)
    }
    chain = chain_of(connection, next(ahead))
    return fresh, versions, chain, offers


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
