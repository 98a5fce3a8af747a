"""The staged writes of the events between two rounds of a batch, flushed with bulk statements
in event order. Imports sqlalchemy, contracts and services tables; never matching or brokers.
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, insert

from contracts import CloudEvent, ContractError, subject_of
from services.db import upsert
from services.outbox import enqueue
from services.tables import ApplicantRow, DeadLetterRow, EventLogRow, VacancyRow

_TABLES = {
    "applicant": (ApplicantRow.__table__, "applicant_id", "withdrawn"),  # type: ignore[attr-defined]
    "vacancy": (VacancyRow.__table__, "vacancy_id", "closed"),  # type: ignore[attr-defined]
}
_LOG = EventLogRow.__table__  # type: ignore[attr-defined]
_DEAD = DeadLetterRow.__table__  # type: ignore[attr-defined]


class Segment:
    """Rows to write; a later snapshot of the same aggregate replaces an earlier one here."""

    def __init__(self) -> None:
        self._log: list[dict[str, Any]] = []
        self._snapshots: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in _TABLES}
        self._dead: list[dict[str, Any]] = []
        self._dlq: list[CloudEvent[Any]] = []

    def log(self, message: Any, event: CloudEvent[Any], body: str) -> None:
        """Record an accepted event in the event log."""
        self._log.append(
            {
                "stream_seq": message.stream_seq,
                "source": event.source,
                "event_id": event.id,
                "subject": message.subject or subject_of(event.kind),
                "body": body,
            }
        )

    def snapshot(self, aggregate: str, row: dict[str, Any]) -> None:
        """Stage the newest row; a withdrawal or closure keeps a staged payload and year.

        `payload` is the payload model (or None): it becomes JSON only when written.
        """
        _, id_field, _ = _TABLES[aggregate]
        staged = self._snapshots[aggregate]
        earlier = staged.get(row[id_field])
        if earlier is not None and row["payload"] is None:
            row = {**row, "payload": earlier["payload"], "program_year": earlier["program_year"]}
        staged[row[id_field]] = row

    def dead_letter(self, dlq: CloudEvent[Any], error: ContractError) -> None:
        data = dlq.data
        self._dead.append(
            {
                "id": dlq.id,
                "subject": error.subject,
                "original_id": error.original_id,
                "errors": [{"loc": e.loc, "msg": e.msg} for e in error.errors],
                "raw": data.raw,
                "received_at": data.received_at,
            }
        )
        self._dlq.append(dlq)

    def flush(self, connection: Connection) -> None:
        """Write everything staged, then start empty."""
        if self._log:
            _append_log(connection, self._log)
        for aggregate, rows in self._snapshots.items():
            if rows:
                _upsert_snapshots(connection, aggregate, list(rows.values()))
        if self._dead:
            stmt = upsert(connection, _DEAD).on_conflict_do_nothing(index_elements=["id"])
            connection.execute(stmt, self._dead)
        enqueue(connection, self._dlq)
        self.__init__()  # type: ignore[misc]


def _append_log(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL takes the rows by COPY (one round trip); other databases by executemany."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(_LOG), rows)
        return
    columns = ("stream_seq", "source", "event_id", "subject", "body")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY event_log ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _upsert_snapshots(connection: Connection, aggregate: str, rows: list[dict[str, Any]]) -> None:
    """Newest version wins; a withdrawal or closure keeps the last known payload and year."""
    table, id_field, flag = _TABLES[aggregate]
    if connection.dialect.name == "postgresql":
        _copy_upsert(connection, table.name, id_field, flag, rows)
        return
    rows = [{**row, "payload": _as_json_doc(row["payload"])} for row in rows]
    stmt = upsert(connection, table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[id_field],
        set_={
            "version": new.version,
            flag: new[flag],
            "program_year": func.coalesce(new.program_year, table.c.program_year),
            "payload": func.coalesce(new.payload, table.c.payload),
        },
        where=table.c.version < new.version,
    )
    connection.execute(stmt, rows)


def _as_json_doc(payload: BaseModel | None) -> dict[str, Any] | None:
    return None if payload is None else payload.model_dump(mode="json")


def _copy_upsert(
    connection: Connection, table: str, id_field: str, flag: str, rows: list[dict[str, Any]]
) -> None:
    """PostgreSQL: COPY into a transaction-scoped staging table, then one INSERT .. SELECT .. ON
    CONFLICT (a statement per row was the intake's largest cost)."""
    stage = f"_stage_{table}"
    columns = (id_field, "program_year", "version", flag, "payload")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
    with cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            payload = row["payload"]
            values = [row[c] for c in columns[:4]]
            copy.write_row([*values, None if payload is None else payload.model_dump_json()])
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} "
        f"ON CONFLICT ({id_field}) DO UPDATE SET version = EXCLUDED.version, "
        f"{flag} = EXCLUDED.{flag}, "
        f"program_year = COALESCE(EXCLUDED.program_year, {table}.program_year), "
        f"payload = COALESCE(EXCLUDED.payload, {table}.payload) "
        f"WHERE {table}.version < EXCLUDED.version"
    )
    cursor.execute(f"DELETE FROM {stage}")
