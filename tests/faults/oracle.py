"""The calm oracle and the end state compared with it: the clean events applied once by the
service's own Intake on SQLite, and the same facts read from the faulty run's PostgreSQL.
Imports services persistence and intake; never a broker.
"""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from services.app import rulesets_for
from services.intake.apply import Inbound, Intake
from services.settings import Settings
from services.store.db import make_engine, migrate
from services.store.tables import (
    ApplicantRow,
    DeadLetterRow,
    EventLogRow,
    OutboxEntry,
    PlacementAnswerRow,
    PlacementRow,
    RoundRow,
    VacancyRow,
)
from tests.faults.corpus import subject_for

CLOCK = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
_VOLATILE = {"solve_seconds", "received_at"}
"""Fields that may differ between two runs (wall clock), never between two copies of one id."""


@dataclass(frozen=True)
class EndState:
    applicants: dict[str, tuple[int, bool]]
    vacancies: dict[str, tuple[int, bool]]
    dead_letters: frozenset[str]
    event_log: int
    rounds: dict[str, tuple[str, str | None]]
    """round id → (status, placements digest)"""
    placements: frozenset[tuple[str, str, str, str]]
    outbox: dict[str, bytes]
    unsent: int
    offers: dict[str, tuple[str, str, str | None]]
    """placement id → (state, accepted_by, released_reason)"""
    answers: dict[tuple[str, str, str], int]
    """(answer event's source, id, outcome) → rows in placement_answers"""
    out_of_order: tuple[tuple[int, int], ...] = ()
    """(stream seq, the higher stream seq logged before it) for each event logged after a later
    one: the lottery chain is defined in stream order (program-rules.md)"""

    def comparable_outbox(self) -> dict[str, dict[str, Any]]:
        """Outbound events by id without the fields a wall clock fills in."""
        return {i: _stable(json.loads(body)) for i, body in self.outbox.items()}


def _stable(doc: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in doc.get("data", {}).items() if k not in _VOLATILE}
    envelope = {k: v for k, v in doc.items() if k not in ("data", "time")}
    if not doc.get("type", "").startswith("jip.dlq."):
        envelope["time"] = doc.get("time")
    return {**envelope, "data": data}


def calm_run(clean: Iterable[bytes], batch_size: int = 500) -> EndState:
    """Apply every clean body once, in order, on the subject it is published on, through the
    service's Intake on SQLite."""
    engine = make_engine("sqlite:///:memory:")
    try:
        migrate(engine)
        intake = Intake(engine, rulesets_for(Settings()), lambda: CLOCK)
        bodies = list(clean)
        for start in range(0, len(bodies), batch_size):
            intake.process([Inbound(subject_for(b), b) for b in bodies[start : start + batch_size]])
        return read_end_state(engine)
    finally:
        engine.dispose()


def read_end_state(engine: Engine) -> EndState:
    """Every fact the fault tests compare, read in one transaction."""
    a, v, o = ApplicantRow, VacancyRow, OutboxEntry
    with engine.connect() as c:
        applicants = {
            r[0]: (r[1], r[2]) for r in c.execute(select(a.applicant_id, a.version, a.withdrawn))
        }
        vacancies = {
            r[0]: (r[1], r[2]) for r in c.execute(select(v.vacancy_id, v.version, v.closed))
        }
        dead = frozenset(c.execute(select(DeadLetterRow.id)).scalars())
        log_count = c.execute(select(func.count()).select_from(EventLogRow)).scalar_one()
        logged = c.execute(select(EventLogRow.stream_seq).order_by(EventLogRow.seq)).scalars()
        out_of_order = _behind(s for s in logged if s is not None)
        outbox_rows = c.execute(select(o.event_id, o.body, o.sent_at)).all()
        round_rows = c.execute(
            select(RoundRow.round_id, RoundRow.status, RoundRow.final_event_id)
        ).all()
        placements = frozenset(
            tuple(r)
            for r in c.execute(
                select(
                    PlacementRow.round_id,
                    PlacementRow.applicant_id,
                    PlacementRow.vacancy_id,
                    PlacementRow.course,
                )
            )
        )
        offers = {
            f"{r.round_id}/{r.applicant_id}": (r.state, r.accepted_by, r.released_reason)
            for r in c.execute(
                select(
                    PlacementRow.round_id,
                    PlacementRow.applicant_id,
                    PlacementRow.state,
                    PlacementRow.accepted_by,
                    PlacementRow.released_reason,
                )
            )
        }
        pa = PlacementAnswerRow
        answers = {
            (r[0], r[1], r[2]): r[3]
            for r in c.execute(
                select(pa.source, pa.event_id, pa.outcome, func.count()).group_by(
                    pa.source, pa.event_id, pa.outcome
                )
            )
        }
    outbox = {r.event_id: r.body.encode() for r in outbox_rows}
    rounds = {
        r.round_id: (
            r.status,
            json.loads(outbox[r.final_event_id])["data"].get("placements_digest"),
        )
        for r in round_rows
    }
    unsent = sum(1 for r in outbox_rows if r.sent_at is None)
    return EndState(
        applicants,
        vacancies,
        dead,
        log_count,
        rounds,
        placements,
        outbox,
        unsent,
        offers,
        answers,
        out_of_order,
    )


def _behind(stream_seqs: Iterable[int]) -> tuple[tuple[int, int], ...]:
    found, highest = [], 0
    for seq in stream_seqs:
        if seq < highest:
            found.append((seq, highest))
        highest = max(highest, seq)
    return tuple(found)


def differences(oracle: EndState, actual: EndState) -> list[str]:
    """Human-readable differences (counts and a few ids), empty when the end states agree."""
    found = []
    names = (
        "applicants", "vacancies", "dead_letters", "event_log", "rounds", "placements", "offers",
        "answers",
    )  # fmt: skip
    for name in names:
        want, got = getattr(oracle, name), getattr(actual, name)
        if want != got:
            found.append(f"{name}: {_diff(want, got)}")
    want_out, got_out = oracle.comparable_outbox(), actual.comparable_outbox()
    if want_out != got_out:
        changed = [i for i in want_out.keys() & got_out.keys() if want_out[i] != got_out[i]]
        ids = _diff(set(want_out), set(got_out))
        found.append(f"outbox: {ids}; {len(changed)} differ, e.g. {changed[:3]}")
    if actual.out_of_order:
        shown = actual.out_of_order[:3]
        found.append(f"{len(actual.out_of_order)} events logged after a later one: {shown}")
    if actual.unsent:
        found.append(f"{actual.unsent} outbox rows never sent")
    return found


def _diff(want: Any, got: Any) -> str:
    if isinstance(want, dict | set | frozenset) and isinstance(got, dict | set | frozenset):
        missing = [k for k in want if k not in got][:3]
        extra = [k for k in got if k not in want][:3]
        return f"{len(want)} expected, {len(got)} found; missing {missing}, extra {extra}"
    return f"expected {want!r}, found {got!r}"
