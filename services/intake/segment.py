"""The staged writes of the events between two rounds of a batch, flushed with bulk statements
in event order. Imports sqlalchemy, contracts and services tables; never matching or brokers.
"""

import json
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from contracts import MAX_BODY_BYTES, CloudEvent, ContractError, subject_of
from matching import chain_step
from services.intake.parsing import Accepted
from services.outbound.events import raw_text, to_outbox_values
from services.outbound.outbox import enqueue_rows, pipelined
from services.rounds.offers import Offer, offer_updates_statements, write_offer_updates
from services.store.db import Statement, fetch_pipelined, lines, upsert
from services.store.lease import Fence, check_fence
from services.store.tables import (
    ApplicantRow,
    DeadLetterRow,
    EventLogRow,
    PlacementAnswerRow,
    VacancyRow,
    table_of,
)

_TABLES = {
    "applicant": (table_of(ApplicantRow), "applicant_id", "withdrawn"),
    "vacancy": (table_of(VacancyRow), "vacancy_id", "closed"),
}
_LOG = table_of(EventLogRow)
_ANSWERS = table_of(PlacementAnswerRow)
_ANSWER_COLUMNS = (
    "placement_id", "round_id", "party", "decision", "source", "event_id", "time", "outcome",
)  # fmt: skip
_DEAD = table_of(DeadLetterRow)


def read_chain(connection: Connection) -> str:
    """`h` after the last logged event ("" before the first): where a batch's chain continues.

    Rows logged without their chain (by a release before revision 0007 still consuming after
    the upgrade) are chained here first, in log order, as the migration chains older rows.
    Not PostgreSQL's: there CHAIN_STATEMENT goes with the batch's other reads (`chain_of`).
    """
    rows = connection.execute(select(_LOG.c.chain).order_by(_LOG.c.seq.desc()).limit(1)).all()
    return chain_of(connection, [tuple(row) for row in rows])


CHAIN_STATEMENT: Statement = ("SELECT chain FROM event_log ORDER BY seq DESC LIMIT 1", {})
"""PostgreSQL: the last logged event's chain (`chain_of` reads its rows)."""


def chain_of(connection: Connection, rows: list[tuple[Any, ...]]) -> str:
    """`read_chain` from the rows of `CHAIN_STATEMENT`."""
    if not rows:
        return ""
    if rows[0][0] is not None:
        return str(rows[0][0])
    return _chain_unchained(connection)


def _chain_unchained(connection: Connection) -> str:
    """Chain the rows after the last chained one (all rows when none is) and return `h`."""
    query = select(_LOG.c.chain, _LOG.c.seq).where(_LOG.c.chain.is_not(None))
    anchor = connection.execute(query.order_by(_LOG.c.seq.desc()).limit(1)).first()
    h, after = ("", None) if anchor is None else (str(anchor.chain), anchor.seq)
    rows = select(_LOG.c.seq, _LOG.c.source, _LOG.c.event_id).order_by(_LOG.c.seq)
    if after is not None:
        rows = rows.where(_LOG.c.seq > after)
    updates = []
    for seq, source, event_id in connection.execute(rows).all():
        h = chain_step(h, source, event_id)
        updates.append({"s": seq, "h": h})
    statement = update(_LOG).where(_LOG.c.seq == bindparam("s")).values(chain=bindparam("h"))
    connection.execute(statement, updates)
    return h


class Segment:
    """Rows to write; a later snapshot of the same aggregate replaces an earlier one here.

    `chain` is `h` after the events logged so far (program-rules.md, "Orders and ranks"): each
    logged event, applied or stale, continues it in log order; a segment that only stages dead
    letters needs none.
    """

    def __init__(self, chain: str | None = None) -> None:
        self.queued_outbound = False
        """Whether any outbound event was staged since the segment was made (across flushes)."""
        self.chain = chain
        self._start_empty()

    def _start_empty(self) -> None:
        self._log: list[dict[str, Any]] = []
        self._snapshots: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in _TABLES}
        self._dead: list[dict[str, Any]] = []
        self._outbound: list[dict[str, Any]] = []
        """Outbox rows, each naming its round (`round_id`; None for a dead letter)."""
        self._offers: dict[tuple[str, str], dict[str, Any]] = {}
        self._answers: list[dict[str, Any]] = []

    def log(self, message: Any, event: Accepted, body: str) -> None:
        """Record an accepted event in the event log, continuing the chain."""
        if self.chain is None:
            raise TypeError("a segment that logs events needs the chain it continues")
        self.chain = chain_step(self.chain, event.source, event.event_id)
        self._log.append(
            {
                "stream_seq": message.stream_seq,
                "source": event.source,
                "event_id": event.event_id,
                "subject": message.subject or subject_of(event.kind),
                "body": body,
                "chain": self.chain,
            }
        )

    def snapshot(self, aggregate: str, row: dict[str, Any]) -> None:
        """Stage the newest row; a withdrawal or closure keeps a staged payload and year.

        `payload` is the payload as JSON text (or None).
        """
        _, id_field, _ = _TABLES[aggregate]
        staged = self._snapshots[aggregate]
        earlier = staged.get(row[id_field])
        if earlier is not None and row["payload"] is None:
            row = {**row, "payload": earlier["payload"], "program_year": earlier["program_year"]}
        if earlier is not None:  # the first accepted event's source stays the creator
            row = {**row, "created_by": earlier.get("created_by")}
        staged[row[id_field]] = row

    def dead_letter(self, dlq: CloudEvent[Any], error: ContractError, body: bytes) -> None:
        """Stage the dead-letter row (every error, and the body as text cut at the contract's
        limit, for operators) and its `jip.dlq.*` event (which carries no part of the body)."""
        self._dead.append(
            {
                "id": dlq.id,
                "subject": error.subject,
                "original_id": error.original_id,
                "errors": [{"loc": e.loc, "msg": e.msg} for e in error.errors],
                "raw": raw_text(body[:MAX_BODY_BYTES]),
                "received_at": dlq.data.received_at,
            }
        )
        self._outbound.append({**to_outbox_values(dlq), "round_id": None})

    def update_offer(self, offer: Offer, **values: Any) -> None:
        """Stage column values of an offer's placements row (services.rounds.offers)."""
        self._offers.setdefault((offer.round_id, offer.applicant_id), {}).update(values)

    def outbound(self, round_id: str | None, row: dict[str, str]) -> None:
        """Stage an outbound event's row after those staged before it (dead letters included)."""
        self._outbound.append({**row, "round_id": round_id})
        self.queued_outbound = True

    def answered(self, row: dict[str, Any]) -> None:
        """Stage a placement_answers row (services.intake.offers)."""
        self._answers.append(row)

    def flush(self, connection: Connection, fence: Fence | None = None) -> None:
        """Write everything staged, then start empty; with `fence`, check it last (the batch's
        last flush: services.store.lease).

        On PostgreSQL everything but dead letters (few) and a run of outbound events large
        enough for COPY goes in one pipeline: one round trip, the fence's check included."""
        pg = connection.dialect.name == "postgresql"
        if self._log and not pg:
            connection.execute(insert(_LOG), self._log)
        if self._dead:
            stmt = upsert(connection, _DEAD).on_conflict_do_nothing(index_elements=["id"])
            connection.execute(stmt, self._dead)
        if pg:
            self._flush_pipelined(connection, fence)
        else:
            for aggregate, rows in self._snapshots.items():
                if rows:
                    _upsert_snapshots(connection, aggregate, list(rows.values()))
            if self._offers:
                write_offer_updates(connection, self._offers)
            enqueue_rows(connection, self._outbound)
            if self._answers:
                connection.execute(insert(_ANSWERS), self._answers)
            check_fence(connection, fence)
        self._start_empty()

    def _flush_pipelined(self, connection: Connection, fence: Fence | None) -> None:
        statements = [_log_statement(self._log)] if self._log else []
        statements += [
            _upsert_statement(aggregate, list(rows.values()))
            for aggregate, rows in self._snapshots.items()
            if rows
        ]
        if self._offers:
            statements += offer_updates_statements(self._offers)
        outbound = pipelined(self._outbound)
        if outbound is None:  # the outbox's COPY and ANALYZE, after the rows before them
            fetch_pipelined(connection, statements)
            enqueue_rows(connection, self._outbound)
            statements = []
        else:
            statements += outbound
        if self._answers:
            statements.append(_answers_statement(self._answers))
        if fence is not None:
            statements.append(fence.statement())
        if not statements:
            return
        results = fetch_pipelined(connection, statements)
        if fence is not None:
            fence.verify(results[-1])


def _log_statement(rows: list[dict[str, Any]]) -> Statement:
    """PostgreSQL: the event log's rows in one INSERT, in order. The bodies go as one text
    array (an inbound body may hold a newline) in binary: psycopg's text form of 500 bodies
    took 60 ms to quote, the binary 2 ms. The other columns go newline-joined."""
    columns = ("stream_seq", "source", "event_id", "subject", "chain")
    params: dict[str, Any] = {
        c: lines(["" if row[c] is None else str(row[c]) for row in rows]) for c in columns
    }
    params["body"] = [row["body"] for row in rows]
    return (
        "INSERT INTO event_log (stream_seq, source, event_id, subject, body, chain) "
        "SELECT q::bigint, s, i, j, b, c FROM unnest(string_to_array(%(stream_seq)s, E'\\n', ''), "
        "string_to_array(%(source)s, E'\\n'), string_to_array(%(event_id)s, E'\\n'), "
        "string_to_array(%(subject)s, E'\\n'), %(body)b::text[], "
        "string_to_array(%(chain)s, E'\\n')) WITH ORDINALITY AS t(q, s, i, j, b, c, n) ORDER BY n",
        params,
    )


def _upsert_snapshots(connection: Connection, aggregate: str, rows: list[dict[str, Any]]) -> None:
    """Newest version wins; a withdrawal or closure keeps the last known payload and year."""
    table, id_field, flag = _TABLES[aggregate]
    rows = [{**row, "payload": _as_json_doc(row["payload"])} for row in rows]  # JSON column
    stmt = upsert(connection, table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[id_field],
        set_={
            "version": new.version,
            flag: new[flag],
            "program_year": func.coalesce(new.program_year, table.c.program_year),
            "payload": func.coalesce(new.payload, table.c.payload),
            "created_by": func.coalesce(table.c.created_by, new.created_by),
        },
        where=table.c.version < new.version,
    )
    connection.execute(stmt, rows)


def _answers_statement(rows: list[dict[str, Any]]) -> Statement:
    """PostgreSQL: the placement_answers rows in one INSERT over newline-joined columns (ids,
    sources, parties and outcomes hold no newline by the contract's patterns)."""
    names = ", ".join(_ANSWER_COLUMNS)
    arrays = ", ".join(f"string_to_array(%({c})s, E'\\n')" for c in _ANSWER_COLUMNS)
    values = ", ".join(f"{c}::timestamptz" if c == "time" else c for c in _ANSWER_COLUMNS)
    params = {
        c: lines([row[c].isoformat() if c == "time" else row[c] for row in rows])
        for c in _ANSWER_COLUMNS
    }
    return (
        f"INSERT INTO placement_answers ({names}) SELECT {values} "
        f"FROM unnest({arrays}) WITH ORDINALITY AS t({names}, n) ORDER BY n",
        params,
    )


def _as_json_doc(payload: str | None) -> Any:
    return None if payload is None else json.loads(payload)


def _upsert_statement(aggregate: str, rows: list[dict[str, Any]]) -> Statement:
    """PostgreSQL: one INSERT .. SELECT .. ON CONFLICT over the rows as newline-joined columns
    (a statement per row was once the intake's largest cost; a staging table the next)."""
    rows_table, id_field, flag = _TABLES[aggregate]
    table = rows_table.name
    return (
        f"INSERT INTO {table} ({id_field}, program_year, version, {flag}, payload, created_by) "
        f"SELECT i, y::integer, v::integer, f::boolean, p::json, c FROM unnest("
        f"string_to_array(%(i)s, E'\\n'), string_to_array(%(y)s, E'\\n', ''), "
        f"string_to_array(%(v)s, E'\\n'), string_to_array(%(f)s, E'\\n'), "
        f"string_to_array(%(p)s, E'\\n', ''), string_to_array(%(c)s, E'\\n', '')) "
        f"AS t(i, y, v, f, p, c) "
        f"ON CONFLICT ({id_field}) DO UPDATE SET version = EXCLUDED.version, "
        f"{flag} = EXCLUDED.{flag}, "
        f"program_year = COALESCE(EXCLUDED.program_year, {table}.program_year), "
        f"payload = COALESCE(EXCLUDED.payload, {table}.payload), "
        f"created_by = COALESCE({table}.created_by, EXCLUDED.created_by) "
        f"WHERE {table}.version < EXCLUDED.version",
        {
            "i": lines([row[id_field] for row in rows]),
            "y": lines([_text(row["program_year"]) for row in rows]),
            "v": lines([str(row["version"]) for row in rows]),
            "f": lines(["t" if row[flag] else "f" for row in rows]),
            "p": lines([row["payload"] or "" for row in rows]),
            "c": lines([row.get("created_by") or "" for row in rows]),
        },
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
