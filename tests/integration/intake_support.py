"""Shared by the tests of the intake's failure handling: a small year, the consumer's figures,
the database's rows, and triggers that make one event fail on a real PostgreSQL."""

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from contracts import STREAM
from services.intake.parsing import Accepted, parse_one
from services.nats.broker import INTAKE_DURABLE
from services.nats.client import connect
from services.sample.generator import generate_year, round_request
from services.settings import Settings
from services.store.tables import DeadLetterRow, EventLogRow, RoundRow

YEAR = 2023
ROUND = "2023-summer-1"


def settings_for(nats_url: str, database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        broker_url=nats_url,
        database_url=database_url,
        data_dir=tmp_path,
        batch_size=extra.pop("batch_size", 20),
        round_time_limit_seconds=20,
        parse_workers=0,
        **extra,
    )


def year_and_round(applicants: int = 60, vacancies: int = 8) -> list[bytes]:
    year = generate_year(seed=11, applicants=applicants, vacancies=vacancies, program_year=YEAR)
    return [*year, round_request(ROUND, YEAR, "summer", seq=1)]


def accepted_keys(bodies: list[bytes]) -> list[tuple[str, str]]:
    """(source, id) of every valid event, first copies only, in order."""
    keys = [(p.source, p.event_id) for p in map(_parsed, bodies) if isinstance(p, Accepted)]
    return list(dict.fromkeys(keys))


def _parsed(body: bytes) -> Any:
    return parse_one(None, body)


def applicant_events(bodies: list[bytes], applicant_id: str) -> list[str]:
    """Ids of the events about one applicant."""
    docs = [json.loads(b) for b in bodies]
    return [
        d["id"]
        for d in docs
        if isinstance(d, dict) and (d.get("data") or {}).get("applicant_id") == applicant_id
    ]


def middle_applicant(bodies: list[bytes]) -> str:
    """The id of a valid registration around the middle of the stream."""
    for body in bodies[len(bodies) // 2 :]:
        parsed = _parsed(body)
        if isinstance(parsed, Accepted) and parsed.kind == "applicant.registered":
            return str(parsed.aggregate_id)
    raise AssertionError("no applicant in the second half")


def poison_applicant(engine: Engine, applicant_id: str) -> None:
    """Every write of this applicant's row raises (as a constraint a row breaks would)."""
    with engine.begin() as c:
        c.execute(
            text(
                "CREATE FUNCTION poison_applicant() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.applicant_id = '{applicant_id}' THEN "
                "RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        c.execute(
            text(
                "CREATE TRIGGER poison_applicant BEFORE INSERT OR UPDATE ON applicants "
                "FOR EACH ROW EXECUTE FUNCTION poison_applicant()"
            )
        )


def poison_event_log(engine: Engine, event_id: str) -> None:
    """Appending this event id to the event log raises."""
    with engine.begin() as c:
        c.execute(
            text(
                "CREATE FUNCTION poison_log() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.event_id = '{event_id}' THEN "
                "RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        c.execute(
            text(
                "CREATE TRIGGER poison_log BEFORE INSERT ON event_log "
                "FOR EACH ROW EXECUTE FUNCTION poison_log()"
            )
        )


async def consumer_figures(settings: Settings, url: str) -> tuple[int, int, int, int]:
    """(ack floor, last delivered, pending, unacknowledged) of the intake consumer, as stream
    sequences and counts (the stream holds outbound events too: the consumer filters them)."""
    client = await connect(settings, url)
    try:
        info = await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE)
    finally:
        await client.close()
    floor = int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0
    delivered = int(info.delivered.stream_seq or 0) if info.delivered else 0
    return floor, delivered, int(info.num_pending or 0), int(info.num_ack_pending or 0)


async def until_acknowledged(settings: Settings, url: str, timeout: float) -> None:
    """Until every inbound message is acknowledged; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    figures = await consumer_figures(settings, url)
    while time.monotonic() < deadline:
        floor, delivered, pending, unacked = figures
        if floor == delivered and pending == 0 and unacked == 0:
            return
        await asyncio.sleep(0.2)
        figures = await consumer_figures(settings, url)
    raise AssertionError(f"the intake did not reach the end of the stream: {figures}")


def logged_ids(engine: Engine) -> list[tuple[int, str]]:
    """(stream seq, event id) of the event log, in the order the intake appended them."""
    with engine.connect() as c:
        rows = c.execute(
            select(EventLogRow.stream_seq, EventLogRow.event_id).order_by(EventLogRow.seq)
        )
        return [(int(s), str(i)) for s, i in rows]


def dead_letters(engine: Engine, where: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Dead-letter rows whose first error matches `where`."""
    with engine.connect() as c:
        rows = c.execute(select(DeadLetterRow.original_id, DeadLetterRow.errors)).all()
    found = [{"original_id": r.original_id, "errors": r.errors} for r in rows]
    return [d for d in found if d["errors"] and where(d["errors"][0])]


def round_status(engine: Engine, round_id: str) -> str | None:
    with engine.connect() as c:
        return c.execute(select(RoundRow.status).where(RoundRow.round_id == round_id)).scalar()
