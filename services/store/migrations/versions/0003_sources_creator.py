"""Creator source of each applicant and vacancy (the source rules): `created_by`, filled for
existing rows from the event log (the source of each aggregate's first logged event).

Revision ID: 0003
Revises: 0002
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AGGREGATES = {
    "applicant": ("applicants", "applicant_id"),
    "vacancy": ("vacancies", "vacancy_id"),
}


def upgrade() -> None:
    for table, _ in _AGGREGATES.values():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("created_by", sa.String(256), nullable=True))
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    """The first logged event of an aggregate was accepted (nothing older existed), so its
    source is the creator; the log is read in the order it was applied."""
    creators: dict[tuple[str, str], str] = {}
    rows = connection.execute(
        sa.text(
            "SELECT source, subject, body FROM event_log WHERE subject LIKE 'jip.applicant.%' "
            "OR subject LIKE 'jip.vacancy.%' ORDER BY seq"
        )
    )
    for source, subject, body in rows:
        aggregate = subject.split(".")[1]
        if aggregate not in _AGGREGATES:
            continue
        data = json.loads(body).get("data") or {}
        aggregate_id = data.get(_AGGREGATES[aggregate][1])
        if isinstance(aggregate_id, str):
            creators.setdefault((aggregate, aggregate_id), source)
    for aggregate, (table, key) in _AGGREGATES.items():
        values = [{"k": i, "s": s} for (a, i), s in creators.items() if a == aggregate]
        if values:
            connection.execute(
                sa.text(f"UPDATE {table} SET created_by = :s WHERE {key} = :k"), values
            )


def downgrade() -> None:
    for table, _ in _AGGREGATES.values():
        with op.batch_alter_table(table) as batch:
            batch.drop_column("created_by")
