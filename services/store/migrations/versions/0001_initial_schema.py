"""Initial schema: snapshots, event log, inbox, dead letters, rounds, placements, outbox.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _id(name: str, length: int = 64, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _snapshot_table(name: str, key: str, flag: str) -> None:
    op.create_table(
        name,
        _id(key),
        sa.Column("program_year", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(flag, sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint(key),
    )
    op.create_index(f"ix_{name}_program_year", name, ["program_year"])


def upgrade() -> None:
    _snapshot_table("applicants", "applicant_id", "withdrawn")
    _snapshot_table("vacancies", "vacancy_id", "closed")
    op.create_table(
        "event_log",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=True),
        _id("source", 256),
        _id("event_id", 256),
        _id("subject", 200),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "inbox",
        _id("source", 256),
        _id("event_id", 256),
        sa.PrimaryKeyConstraint("source", "event_id"),
    )
    op.create_table(
        "dead_letters",
        _id("id"),
        _id("subject", 200),
        _id("original_id", 256, nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("resubmitted_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rounds",
        _id("round_id"),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("program_year", sa.Integer(), nullable=False),
        _id("period", 16),
        _id("mode", 32),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        _id("status", 16),
        _id("final_event_id", 256),
        sa.PrimaryKeyConstraint("round_id"),
    )
    op.create_index("ix_rounds_ordinal", "rounds", ["ordinal"])
    op.create_table(
        "placements",
        _id("round_id"),
        _id("applicant_id"),
        sa.Column("program_year", sa.Integer(), nullable=False),
        _id("period", 16),
        _id("vacancy_id"),
        _id("course", 8),
        sa.PrimaryKeyConstraint("round_id", "applicant_id"),
    )
    op.create_index("ix_placements_program_year", "placements", ["program_year"])
    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        _id("event_id", 256),
        _id("subject", 200),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    pending = sa.text("sent_at IS NULL")
    op.create_index(
        "ix_outbox_pending", "outbox", ["seq"], postgresql_where=pending, sqlite_where=pending
    )


def downgrade() -> None:
    for table in ("outbox", "placements", "rounds", "dead_letters", "inbox", "event_log"):
        op.drop_table(table)
    op.drop_table("vacancies")
    op.drop_table("applicants")
