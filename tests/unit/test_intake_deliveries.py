"""The intake's view of the consumer's delivery sequence (services.intake.deliveries), against a
model of nats-server's numbering: every delivery numbered one after the other, fetches lost on
the way, consumer leaders taking over from replicated state (numbers going back), resets
(numbering from 1 again), and, on servers without the reset, redeliveries after ack_wait."""

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.deliveries import Deliveries

# One step of the server and the transport: ("fetch", size, lost) or ("takeover", back, _).
Step = tuple[str, int, bool]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("fetch"), st.integers(1, 6), st.booleans()),
        st.tuples(st.just("takeover"), st.integers(0, 8), st.just(False)),
    ),
    max_size=40,
)


@dataclass
class Server:
    """A consumer over an endless stream: positions (stream sequences) delivered in order, each
    delivery numbered; the instance acknowledges what it commits, so the ack floor is the end
    of its contiguous commits. A takeover replays from replicated state, which may lag what
    was sent but never the ack floor; a reset replays from the ack floor, numbered from 1."""

    position: int = 1
    number: int = 1
    floor: int = 0
    sent: int = 0

    def fetch(self, size: int) -> list[tuple[int, int]]:
        batch = [(self.number + i, self.position + i) for i in range(size)]
        self.number, self.position = self.number + size, self.position + size
        self.sent = max(self.sent, self.position - 1)
        return batch

    def takeover(self, back: int) -> int:
        back = min(back, self.position - 1 - self.floor, self.number - 1)
        self.number, self.position = self.number - back, self.position - back
        return back

    def reset(self) -> None:
        self.number, self.position = 1, self.floor + 1


@dataclass
class Intake:
    """Commits first copies in the order taken; a copy already committed is a duplicate."""

    deliveries: Deliveries
    committed: list[int] = field(default_factory=list)
    batches: int = 0

    def receive(self, server: Server, batch: list[tuple[int, int]]) -> None:
        start = self.deliveries.take([number for number, _ in batch])
        if start is not None:
            self.batches += 1
            for _, position in batch[start:]:
                if position > len(self.committed):
                    assert position == len(self.committed) + 1, (position, self.committed[-3:])
                    self.committed.append(position)
            server.floor = len(self.committed)
        if self.deliveries.lost:  # the recovery: a reset, asked before the server applies it
            self.deliveries.restart()
            server.reset()
            self.deliveries.reset_applied()


@settings(max_examples=400, deadline=None)
@given(steps)
def test_whatever_is_lost_or_replayed_commits_follow_the_stream_with_no_hole(plan):
    server, intake = Server(), Intake(Deliveries(expected=1))
    for kind, size, lost in plan:
        if kind == "takeover":
            server.takeover(size)
            continue
        batch = server.fetch(size)
        if not lost:
            intake.receive(server, batch)
    sent = server.sent
    for _ in range(sent + 2):  # then nothing is lost: everything sent is committed, in order
        if len(intake.committed) >= sent:
            break
        intake.receive(server, server.fetch(3))

    assert intake.committed[:sent] == list(range(1, sent + 1))


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_gap_is_reported_only_when_a_delivery_was_lost(plan):
    server, intake = Server(), Intake(Deliveries(expected=1))
    losses = 0
    for kind, size, lost in plan:
        if kind == "takeover":
            losses += server.takeover(size) > 0  # numbers going back say nothing reliable
        elif lost:
            server.fetch(size)
            losses += 1
        else:
            intake.receive(server, server.fetch(size))
    assert intake.deliveries.gaps <= losses
    if losses == 0:
        assert intake.deliveries.gaps == 0


def test_after_a_reset_the_old_numbering_is_dropped_until_the_new_one_begins():
    deliveries = Deliveries(expected=10)
    assert deliveries.take([10, 11]) == 0
    assert deliveries.take([14, 15]) is None and deliveries.lost and deliveries.gaps == 1
    deliveries.restart()
    assert deliveries.take([16, 17]) is None  # fetched before the reset applied: dropped
    assert deliveries.take([18, 1, 2]) == 1  # the reset's numbering starts inside the batch
    assert deliveries.take([3, 4]) == 0 and deliveries.gaps == 1


def test_once_the_reset_is_applied_a_batch_without_its_first_delivery_is_a_gap_again():
    deliveries = Deliveries(expected=3)
    deliveries.take([5])
    deliveries.restart()
    deliveries.reset_applied()
    assert deliveries.take([2, 3]) is None  # number 1 was lost on the way too
    assert deliveries.lost and deliveries.gaps == 2


def test_a_reset_that_failed_leaves_everything_dropped_until_the_next_one():
    deliveries = Deliveries(expected=5)
    deliveries.take([7])
    deliveries.restart()
    deliveries.unknown()  # the request failed: applied or not, nobody knows
    assert deliveries.take([1, 2]) is None and deliveries.lost
    deliveries.restart()
    assert deliveries.take([1, 2]) == 0


def test_numbers_going_back_are_a_gap():
    deliveries = Deliveries(expected=20)
    assert deliveries.take([17, 18, 19, 20, 21]) is None
    assert deliveries.gaps == 1 and deliveries.lost


def test_after_a_hold_the_next_delivery_must_be_the_one_after_the_servers_count():
    deliveries = Deliveries(expected=5)
    deliveries.take([9])
    deliveries.rebase(12)  # the server had numbered 11 deliveries when the hold took effect
    assert not deliveries.lost
    assert deliveries.take([12, 13]) == 0 and deliveries.gaps == 1
    assert deliveries.take([15]) is None and deliveries.gaps == 2  # 14, the next, was lost


@dataclass
class AckWaitServer:
    """A consumer on a server without the reset. Each delivery is numbered; what was delivered
    and is not acknowledged is queued again once its ack_wait passed (the oldest deliveries
    first, queued in stream order), and queued ones go before new ones. Held (max_ack_pending
    1), it delivers nothing new while anything is pending; the hold is released once the ack
    floor reaches what it had delivered when the hold took effect."""

    position: int = 1
    number: int = 1
    floor: int = 0
    last: dict[int, int] = field(default_factory=dict)
    """Pending position -> the number of its last delivery."""
    queue: list[int] = field(default_factory=list)
    held_through: int | None = None

    replayed: bool = False
    """The last fetch held redeliveries."""

    def fetch(self, size: int) -> list[tuple[int, int]]:
        batch: list[tuple[int, int]] = []
        self.replayed = bool(self.queue)
        for _ in range(size):
            if self.queue:
                position = self.queue.pop(0)
            elif self.held_through is None or not self.last:
                position, self.position = self.position, self.position + 1
            else:
                break
            batch.append((self.number, position))
            self.last[position] = self.number
            self.number += 1
        return batch

    def expire(self, oldest: int) -> None:
        waiting = sorted((n, p) for p, n in self.last.items() if p not in self.queue)
        self.queue = sorted(self.queue + [p for _, p in waiting[:oldest]])

    def acknowledge(self, through: int) -> None:
        self.floor = through
        for position in [p for p in self.last if p <= through]:
            del self.last[position]
        self.queue = [p for p in self.queue if p > through]
        if self.held_through is not None and through >= self.held_through:
            self.held_through = None

    def hold(self) -> int:
        self.held_through = self.position - 1
        return self.number


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("fetch"), st.integers(1, 6), st.booleans()),
            st.tuples(st.just("expire"), st.integers(1, 8), st.just(False)),
            st.tuples(st.just("hold"), st.just(0), st.just(False)),
        ),
        max_size=50,
    )
)
def test_held_after_a_gap_commits_follow_the_stream_whatever_races_the_hold(plan):
    """`hold` is when the recovery's hold takes effect: fetches before it race it. What this
    guarantees assumes three things, which this model respects: a lost fetch is shown by a
    later first delivery before its ack_wait passes (live traffic; `expire` is ack_wait
    passing), the hold takes effect before then too (the batches before the gap commit in
    time), and no fetch of redeliveries is lost. Without them (a fetch lost at the end of the
    traffic and shown only by its own redelivery, or a second loss while held) redeliveries
    can come in an order other than the stream's: numbers alone cannot tell, and only the
    consumer reset (nats-server 2.14+) restores the order."""
    server, deliveries, committed = AckWaitServer(), Deliveries(expected=1), [0]
    unseen = False  # a loss no later delivery has shown yet

    def receive(batch: list[tuple[int, int]]) -> None:
        if not batch:
            return
        start = deliveries.take([n for n, _ in batch])
        for _, position in batch[start:] if start is not None else []:
            if position > committed[-1]:
                assert position == committed[-1] + 1, (position, committed[-3:])
                committed.append(position)
        server.acknowledge(committed[-1])

    def hold() -> None:
        if deliveries.lost:
            deliveries.rebase(server.hold())

    for kind, size, lost in plan:
        if kind == "expire":
            if not unseen:
                hold()
                server.expire(size)
        elif kind == "hold":
            hold()
        else:
            batch = server.fetch(size)
            if lost and not server.replayed:
                unseen = unseen or bool(batch)
            else:
                gaps = deliveries.gaps
                receive(batch)
                unseen = unseen and deliveries.gaps == gaps
    sent = server.position - 1
    for _ in range(3 * sent + 3):  # then nothing is lost: everything sent is committed
        if committed[-1] >= sent:
            break
        hold()
        server.expire(len(server.last))
        receive(server.fetch(3))

    assert committed[-1] >= sent
