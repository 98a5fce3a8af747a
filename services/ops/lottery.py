"""`intern-match lottery`: how one person's number was drawn in a round and where it put them,
from the round's published events only (round.completed, placement.made, applicant.unplaced).

Reads the outbox or a JSON Lines file of published events; the numbers come from
matching.lottery_number. Never a broker, never a stored payload.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from sqlmodel import col

from contracts import Kind, subject_of
from matching import lottery_number
from services.ops.errors import RoundNotFoundError
from services.ops.terminal import shown
from services.store.tables import OutboxEntry

_TYPES = {
    f"{subject_of(kind)}.v1": kind
    for kind in (Kind.ROUND_COMPLETED, Kind.PLACEMENT_MADE, Kind.APPLICANT_UNPLACED)
}


@dataclass(frozen=True)
class Draw:
    """One person's draw: the text hashed, the number, its place, and the outcome."""

    round_id: str
    applicant_id: str
    seed: str
    number: int
    position: int
    """1-based place in the draw among the round's published applicants."""
    drawn_of: int
    outcome: str
    vacancy_number: int | None = None
    """The number of the vacancy the person was placed in, where placed."""

    @property
    def hashed(self) -> str:
        return f"{self.seed}\t{self.applicant_id}"


def draw_of(events: Iterable[dict[str, Any]], round_id: str, applicant_id: str) -> Draw:
    """The draw from the round's published events (the real run's, when dry runs share its id).

    Raises RoundNotFoundError when the events hold no completed round of that id with a seed,
    LookupError when the round published nothing about the applicant.
    """
    completed: list[dict[str, Any]] = []
    outcomes: dict[str, str] = {}
    placed_in: dict[str, str] = {}
    for event in events:
        kind, data = _TYPES.get(str(event.get("type"))), event.get("data") or {}
        if kind is None or data.get("round_id") != round_id:
            continue
        if kind is Kind.ROUND_COMPLETED:
            completed.append(data)
        elif kind is Kind.PLACEMENT_MADE:
            who, where = data["applicant_id"], data["vacancy_id"]
            outcomes[who] = f"placed: {where}, course {data['course']}"
            placed_in[who] = where
        else:
            codes = ", ".join(r["code"] for r in data["reasons"])
            outcomes[data["applicant_id"]] = f"unplaced: {codes}"
    real = [c for c in completed if not c.get("dry_run")] or completed
    if not real or not real[-1].get("lottery_seed"):
        raise RoundNotFoundError(f"no completed round {round_id!r} with a published lottery seed")
    seed = str(real[-1]["lottery_seed"])
    if applicant_id not in outcomes:
        raise LookupError(f"round {round_id!r} published nothing about applicant {applicant_id!r}")
    numbers = sorted((lottery_number(seed, a), a) for a in outcomes)
    mine = lottery_number(seed, applicant_id)
    vacancy = placed_in.get(applicant_id)
    return Draw(
        round_id,
        applicant_id,
        seed,
        mine,
        numbers.index((mine, applicant_id)) + 1,
        len(numbers),
        outcomes[applicant_id],
        None if vacancy is None else lottery_number(seed, vacancy),
    )


def events_of_round(engine: Engine, round_id: str) -> list[dict[str, Any]]:
    """The round's published events from the outbox (dry runs with its id included)."""
    query = select(col(OutboxEntry.body)).where(col(OutboxEntry.round_id) == round_id)
    with engine.connect() as conn:
        return [json.loads(body) for body in conn.execute(query).scalars()]


def events_of_file(path: Path) -> list[dict[str, Any]]:
    """The events of a JSON Lines file of published events (e.g. `round --offline --out`).

    Raises ValueError naming the file and the line of anything the draw cannot read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            raise ValueError(f"{path}: line {number} is not JSON") from None
        problem = _unreadable(event)
        if problem is not None:
            raise ValueError(f"{path}: line {number}: {problem}")
        out.append(event)
    return out


_NEEDED = {
    Kind.ROUND_COMPLETED: ("round_id",),
    Kind.PLACEMENT_MADE: ("round_id", "applicant_id", "vacancy_id", "course"),
    Kind.APPLICANT_UNPLACED: ("round_id", "applicant_id"),
}


def _unreadable(event: Any) -> str | None:
    """What keeps `draw_of` from reading a published event, or None."""
    if not isinstance(event, dict):
        return "not a JSON object"
    kind = _TYPES.get(str(event.get("type")))
    if kind is None:
        return None
    data = event.get("data")
    if not isinstance(data, dict):
        return f"a {kind.value} event whose data is not an object"
    missing = [name for name in _NEEDED[kind] if not isinstance(data.get(name), str)]
    if missing:
        return f"a {kind.value} event without {', '.join(missing)} as text"
    if kind is Kind.ROUND_COMPLETED and not isinstance(data.get("lottery_seed", ""), str | None):
        return f"a {kind.value} event whose lottery_seed is not text"
    reasons = data.get("reasons")
    if kind is Kind.APPLICANT_UNPLACED and not (
        isinstance(reasons, list)
        and all(isinstance(r, dict) and isinstance(r.get("code"), str) for r in reasons)
    ):
        return f"a {kind.value} event without reasons (objects with a code)"
    return None


def print_draw(console: Console, draw: Draw) -> None:
    """The draw, step by step, for the person it concerns."""
    table = Table(title=shown(f"lottery of round {draw.round_id} for {draw.applicant_id}"))
    table.add_column("step")
    table.add_column("value", overflow="fold")
    rows = [
        ("seed (published in round.completed)", draw.seed),
        ("text hashed: seed, a tab, your id", draw.hashed.replace("\t", "\\t")),
        ("sha256 of its UTF-8 bytes (your number)", f"{draw.number:064x}"),
        ("your place in the draw (smaller first)", f"{draw.position:,} of {draw.drawn_of:,}"),
        ("where it put you", draw.outcome),
    ]
    if draw.vacancy_number is not None:
        rows.append(("your vacancy's number in the same draw", f"{draw.vacancy_number:064x}"))
    for step, value in rows:
        table.add_row(step, shown(value))
    console.print(table)
    console.print(
        "Where a vacancy ranks by fit and two applicants fit it equally, the smaller number "
        "is preferred; so is it for applicants without a list between equally fitting "
        "vacancies. Anyone can recompute these numbers: "
        "python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' "
        "\"$(printf 'SEED\\tID')\"",
        markup=False,
    )
