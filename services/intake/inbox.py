"""The inbox and the newest versions: which (source, id) pairs a batch sees first, the version
each applicant and vacancy holds, and held messages let go once applied. Imports sqlalchemy,
services.intake.parsing and services.store; never brokers.
"""

from typing import Any

from sqlalchemy import Connection, delete, select

from services.intake.parsing import AGGREGATE_OF, Accepted
from services.store.db import Statement, lines, upsert
from services.store.tables import ApplicantRow, HeldInboundRow, InboxRow, VacancyRow, table_of

_INBOX = table_of(InboxRow)
_APPLICANTS = table_of(ApplicantRow)
_VACANCIES = table_of(VacancyRow)
_HELD = table_of(HeldInboundRow)
_ID_COLUMNS = (("applicant", _APPLICANTS.c.applicant_id), ("vacancy", _VACANCIES.c.vacancy_id))


def claim_keys(connection: Connection, events: list[Accepted]) -> set[tuple[str, str]]:
    """Record every new (source, id) in the inbox; returns the keys that were not there yet.
    Not PostgreSQL's: there `claim_statement` goes with the batch's other reads."""
    keys = new_keys(events)
    if not keys:
        return set()
    stmt = upsert(connection, _INBOX).on_conflict_do_nothing(index_elements=["source", "event_id"])
    stmt = stmt.returning(_INBOX.c.source, _INBOX.c.event_id)
    rows = connection.execute(stmt, [{"source": s, "event_id": i} for s, i in keys])
    return {(r.source, r.event_id) for r in rows}


def current_versions(connection: Connection, events: list[Accepted]) -> dict[tuple[str, str], int]:
    """The versions the batch's aggregates hold. Not PostgreSQL's: there
    `versions_statements` go with the batch's other reads."""
    ids = aggregate_ids(events)
    versions: dict[tuple[str, str], int] = {}
    for aggregate, column in _ID_COLUMNS:
        if ids[aggregate]:
            versions.update(
                {(aggregate, i): v for i, v in _versions(connection, column, ids[aggregate])}
            )
    return versions


def new_keys(events: list[Accepted]) -> list[tuple[str, str]]:
    """The batch's (source, id) pairs, each once, in order."""
    return list(dict.fromkeys((e.source, e.event_id) for e in events))


def claim_statement(keys: list[tuple[str, str]]) -> Statement:
    """PostgreSQL: record the keys in the inbox, returning those that were not there yet."""
    return (
        "INSERT INTO inbox (source, event_id) SELECT * FROM "
        "unnest(string_to_array(%(s)s, E'\\n'), string_to_array(%(i)s, E'\\n')) "
        "ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id",
        {"s": lines([s for s, _ in keys]), "i": lines([i for _, i in keys])},
    )


def claimed(rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """The keys `claim_statement` returned."""
    return {(str(source), str(event_id)) for source, event_id in rows}


def aggregate_ids(events: list[Accepted]) -> dict[str, set[str]]:
    """The applicants and vacancies the batch's events name, by aggregate."""
    ids: dict[str, set[str]] = {"applicant": set(), "vacancy": set()}
    for event in events:
        if event.aggregate_id is not None:
            ids[AGGREGATE_OF[event.kind][0]].add(event.aggregate_id)
    return ids


def versions_statements(ids: dict[str, set[str]]) -> list[tuple[str, Statement]]:
    """PostgreSQL: per aggregate with ids, the statement reading their (id, version)."""
    return [
        (aggregate, _versions_statement(column, ids[aggregate]))
        for aggregate, column in _ID_COLUMNS
        if ids[aggregate]
    ]


def _versions(connection: Connection, column: Any, ids: set[str]) -> Any:
    return connection.execute(select(column, column.table.c.version).where(column.in_(ids)))


def _versions_statement(column: Any, ids: set[str]) -> Statement:
    return (
        f"SELECT {column.name}, version FROM {column.table.name} "
        f"WHERE {column.name} = ANY(string_to_array(%(ids)s, E'\\n'))",
        {"ids": lines(list(ids))},
    )


def unclaim(connection: Connection, event: Accepted) -> None:
    """Give a refused event's (source, id) back, so a corrected resubmission is applied."""
    connection.execute(
        delete(_INBOX).where(_INBOX.c.source == event.source, _INBOX.c.event_id == event.event_id)
    )


def forget_held(connection: Connection, stream_seqs: list[int | None]) -> None:
    """Delete held messages (services.intake.held) in the transaction that applies them."""
    if stream_seqs:
        connection.execute(delete(_HELD).where(_HELD.c.stream_seq.in_(stream_seqs)))
