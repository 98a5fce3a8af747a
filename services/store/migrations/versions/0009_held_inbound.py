"""Inbound messages held while a round runs: stored and acknowledged as they come, applied after
the round in stream order and deleted then (services.intake.held).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_inbound",
        sa.Column("stream_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("held_inbound")
