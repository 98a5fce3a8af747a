"""The published lottery (program-rules.md, "Orders and ranks"): `event_log.chain` holds `h`
after each logged inbound event, `h = hex(sha256(utf8(h + source + "\\t" + id + "\\n")))` from
`h = ""` in log order, so a round's seed `round_id + ":" + h` is read from the row before its
request (existing rows are chained here, in `seq` order); `rounds.lottery_seed` keeps the seed a
round drew with, for the release order of a capacity cut (null for rounds that drew by id).

Revision ID: 0007
Revises: 0006
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    op.add_column("event_log", sa.Column("chain", sa.String(64), nullable=True))
    op.add_column("rounds", sa.Column("lottery_seed", sa.Text(), nullable=True))
    bind = op.get_bind()
    log = sa.table(
        "event_log",
        sa.column("seq", sa.BigInteger()),
        sa.column("source", sa.String()),
        sa.column("event_id", sa.String()),
        sa.column("chain", sa.String()),
    )
    rows = bind.execute(sa.select(log.c.seq, log.c.source, log.c.event_id).order_by(log.c.seq))
    h, updates = "", []
    for seq, source, event_id in rows.all():
        h = hashlib.sha256(f"{h}{source}\t{event_id}\n".encode()).hexdigest()
        updates.append({"s": seq, "h": h})
    statement = sa.update(log).where(log.c.seq == sa.bindparam("s")).values(chain=sa.bindparam("h"))
    for start in range(0, len(updates), _BATCH):
        bind.execute(statement, updates[start : start + _BATCH])


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("lottery_seed")
    with op.batch_alter_table("event_log") as batch:
        batch.drop_column("chain")
