"""Inbound messages held while a round runs (issue 17, part 4).

A round at national scale runs for minutes inside its batch's transaction. So the batch that
holds a `round.requested`, and every batch fetched after it until the round and everything held
behind it are applied, is not applied at once: its messages are stored as delivered (subject,
bytes, stream sequence) in `held_inbound` and acknowledged. The consumer applies the held
messages afterwards, oldest first, through the same `Intake.process` as any batch (which deletes
them in the transaction that applies them; `isolate` likewise). The result is the one the same
stream gives without holding: the same events applied one after the other in stream order (a
withdrawal that arrives during a round still finds, and releases, the offer the round makes).

Imports sqlalchemy, the intake's message type and services.store; never brokers.
"""

from collections.abc import Sequence

from sqlalchemy import Engine, exists, select

from services.intake.apply import Inbound
from services.store.db import upsert
from services.store.lease import Fence, check_fence
from services.store.tables import HeldInboundRow, table_of

_HELD = table_of(HeldInboundRow)


class HeldInbound:
    """The held messages of one intake: stored, and read oldest first."""

    def __init__(self, engine: Engine, batch_size: int, fence: Fence | None = None) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.fence = fence

    def store(self, batch: Sequence[Inbound]) -> None:
        """Store the messages in one fenced transaction (a message stored already, delivered
        again after a consumer reset, is kept once)."""
        if any(m.stream_seq is None for m in batch):
            raise ValueError("only messages from the stream (with a stream sequence) are held")
        rows = [{"stream_seq": m.stream_seq, "subject": m.subject, "body": m.body} for m in batch]
        if not rows:  # an empty executemany would insert a row of defaults
            return
        with self.engine.begin() as connection:
            stmt = upsert(connection, _HELD).on_conflict_do_nothing(index_elements=["stream_seq"])
            connection.execute(stmt, rows)
            check_fence(connection, self.fence)

    def waiting(self) -> bool:
        """Whether any message is held."""
        with self.engine.connect() as connection:
            return bool(connection.execute(select(exists().select_from(_HELD))).scalar())

    def oldest(self) -> list[Inbound]:
        """Up to a batch of held messages, in stream order."""
        query = select(_HELD.c.subject, _HELD.c.body, _HELD.c.stream_seq)
        query = query.order_by(_HELD.c.stream_seq).limit(self.batch_size)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [Inbound(subject, bytes(body), seq, held=True) for subject, body, seq in rows]
