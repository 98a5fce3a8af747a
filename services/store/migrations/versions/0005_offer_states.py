"""Placements are offers (lifecycle.md): each row gains its `state` (proposed, confirmed,
released; existing rows become proposed), `respond_by` (null for rows made before deadlines
existed), `accepted_by` (the parties that accepted, comma-separated in contract order),
`released_reason` / `released_at`, and `company_id` (filled for existing rows from the
vacancy's stored payload); a table `placement_answers` keeps every answer received with what it
did, answers to released placements included, so reports can count them.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPANY_OF_PAYLOAD = {
    "postgresql": "payload::jsonb #>> '{company,company_id}'",
    "sqlite": "json_extract(payload, '$.company.company_id')",
}


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(
            sa.Column("state", sa.String(16), nullable=False, server_default="proposed")
        )
        batch.add_column(sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted_by", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("released_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("company_id", sa.String(64), nullable=True))
    op.create_index("ix_placements_applicant_id", "placements", ["applicant_id"])
    op.create_index("ix_placements_vacancy_id", "placements", ["vacancy_id"])
    company = _COMPANY_OF_PAYLOAD[op.get_bind().dialect.name]
    op.execute(
        f"UPDATE placements SET company_id = (SELECT {company} FROM vacancies "
        "WHERE vacancies.vacancy_id = placements.vacancy_id)"
    )
    op.create_table(
        "placement_answers",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("placement_id", sa.String(129), nullable=False, index=True),
        sa.Column("round_id", sa.String(64), nullable=False, index=True),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("event_id", sa.String(256), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("placement_answers")
    op.drop_index("ix_placements_vacancy_id", "placements")
    op.drop_index("ix_placements_applicant_id", "placements")
    with op.batch_alter_table("placements") as batch:
        for column in (
            "company_id",
            "released_at",
            "released_reason",
            "accepted_by",
            "respond_by",
            "state",
        ):
            batch.drop_column(column)
