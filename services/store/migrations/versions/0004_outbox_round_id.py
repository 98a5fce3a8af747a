"""The round of each outbox row: `round_id`, set when a round's events are enqueued, so a
round's events are found by an index instead of by patterns on event ids; filled for existing
rows from the events' own `data.round_id` (every outbound kind has one; dead letters none).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROUND_SUBJECTS = (
    "'jip.placement.made', 'jip.applicant.unplaced', 'jip.round.completed', 'jip.round.failed'"
)
"""The subjects of a round's events as they were when this revision was written."""

_ROUND_ID_OF_BODY = {
    "postgresql": "body::jsonb #>> '{data,round_id}'",
    "sqlite": "json_extract(body, '$.data.round_id')",
}


def upgrade() -> None:
    op.add_column("outbox", sa.Column("round_id", sa.String(64), nullable=True))
    op.create_index("ix_outbox_round_id", "outbox", ["round_id"])
    round_id = _ROUND_ID_OF_BODY[op.get_bind().dialect.name]
    op.execute(f"UPDATE outbox SET round_id = {round_id} WHERE subject IN ({_ROUND_SUBJECTS})")


def downgrade() -> None:
    op.drop_index("ix_outbox_round_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("round_id")
