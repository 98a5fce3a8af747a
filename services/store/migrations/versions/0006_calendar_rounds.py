"""Automatic rounds (lifecycle.md, the calendar): a table `calendar_rounds` holds each round of
the calendar files with its planned time and whether its `round.requested` is in the stream
(`planned`, `requested`), so a restart neither fires a round twice nor forgets one whose time
passed while no service ran.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_rounds",
        sa.Column("round_id", sa.String(64), primary_key=True),
        sa.Column("program_year", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calendar_file", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stream_seq", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("calendar_rounds")
