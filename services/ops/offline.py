"""Offline rounds: a file's events applied exactly as the service applies them, on an in-memory
SQLite database, returning every outbound body. Imports no broker and no database server.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import col

from contracts import Kind, RoundRequested, make_event, to_json_bytes
from contracts.subjects import DLQ_PREFIX
from services.intake.apply import Inbound, Intake
from services.intake.parsing import published_type
from services.intake.sources import SourceRules
from services.ops.export_meta import read_meta
from services.outbound.outbox import pending
from services.rounds.runner import RulesetFor, SolveRound
from services.source_config import SourceConfig
from services.store.db import make_engine, migrate
from services.store.tables import EventLogRow

OFFLINE_SOURCE = "/intern-match/offline"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class OfflineRun:
    """What an offline run wrote, and the events of the file it skipped."""

    bodies: list[bytes]
    """Every outbound body, dead letters included, in outbox order."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Events the service publishes (outbound kinds, dead letters) found in the file, by type:
    an export of every subject holds them, and an offline round takes inbound events only."""

    @property
    def dead_letters(self) -> int:
        """Lines rejected as the service would reject them (each one dead letter)."""
        return sum(1 for body in self.bodies if json.loads(body)["type"].startswith(DLQ_PREFIX))


def run_offline(
    lines: Iterable[bytes],
    rulesets: RulesetFor,
    extra_round: RoundRequested | None,
    clock: Callable[[], dt.datetime],
    solve_round: SolveRound | None = None,
    batch_size: int = 500,
    source_rules: SourceRules | None = None,
) -> list[bytes]:
    """The outbound bodies of `run_offline_file`."""
    return run_offline_file(
        lines, rulesets, extra_round, clock, solve_round, batch_size, source_rules
    ).bodies


def run_offline_file(
    lines: Iterable[bytes],
    rulesets: RulesetFor,
    extra_round: RoundRequested | None,
    clock: Callable[[], dt.datetime],
    solve_round: SolveRound | None = None,
    batch_size: int = 500,
    source_rules: SourceRules | None = None,
) -> OfflineRun:
    """Apply the lines in order (rounds in the file run where they stand), then `extra_round`.

    Events the service publishes are skipped and counted; any other line that is not a valid
    inbound event becomes a dead letter, as in the service. The extra round's event has id
    `offline-round-<round_id>` and the time of the last event applied (the epoch when there is
    none), so equal files give equal output. `source_rules` judge the events as the service
    does (see `rules_of_file`); None accepts any source.
    """
    engine = make_engine("sqlite:///:memory:")
    skipped: Counter[str] = Counter()
    try:
        migrate(engine)
        intake = Intake(engine, rulesets, clock, solve_round, source_rules=source_rules)
        for batch in _batches(lines, batch_size, skipped):
            intake.process(batch)
        if extra_round is not None:
            intake.process([Inbound(None, _extra_round_body(engine, extra_round))])
        return OfflineRun([row.body for row in pending(engine, limit=None)], skipped)
    finally:
        engine.dispose()


def rules_of_file(events: Path, configured: SourceConfig | None) -> SourceRules | None:
    """The source rules an export recorded beside `events` (its sidecar), else `configured`.

    A sidecar is the record of the rules in force when the events were judged: with none
    recorded there, no rules applied (any source). Raises ValueError naming a bad sidecar.
    """
    meta = read_meta(events)
    if meta is None:
        return SourceRules.of(configured)
    try:
        return SourceRules.of(meta.source_rules)
    except ValueError as error:
        raise ValueError(f"{events}: the recorded source rules {error}") from None


def _batches(lines: Iterable[bytes], size: int, skipped: Counter[str]) -> Iterator[list[Inbound]]:
    batch: list[Inbound] = []
    for line in lines:
        body = line.rstrip(b"\r\n")
        if not body.strip():
            continue
        if (published := published_type(body)) is not None:
            skipped[published] += 1
            continue
        batch.append(Inbound(None, body))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _extra_round_body(engine: Engine, request: RoundRequested) -> bytes:
    query = select(col(EventLogRow.body)).order_by(col(EventLogRow.seq).desc()).limit(1)
    with engine.connect() as connection:
        last = connection.execute(query).scalar_one_or_none()
    time = dt.datetime.fromisoformat(json.loads(last)["time"]) if last else EPOCH
    event_id = f"offline-round-{request.round_id}"
    subject = f"round/{request.round_id}"
    event = make_event(Kind.ROUND_REQUESTED, event_id, request, time, OFFLINE_SOURCE, subject)
    return to_json_bytes(event)
