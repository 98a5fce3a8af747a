"""The intake's view of the consumer's delivery sequence (services.intake.deliveries), against a
model of nats-server's numbering: every delivery numbered one after the other, fetches lost on
the way, consumer leaders taking over from replicated state (numbers going back), and resets
(numbering from 1 again)."""

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

    def takeover(self, back: int) -> None:
        back = min(back, self.position - 1 - self.floor, self.number - 1)
        self.number, self.position = self.number - back, self.position - back

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
            server.takeover(size)
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


def test_without_a_reset_the_next_delivery_is_the_new_base():
    deliveries = Deliveries(expected=5)
    deliveries.take([9])
    deliveries.rebase()
    assert deliveries.take([42, 43]) == 0 and deliveries.take([44]) == 0
    assert not deliveries.lost and deliveries.gaps == 1


def test_numbers_going_back_are_a_takeover_not_a_gap():
    deliveries = Deliveries(expected=20)
    assert deliveries.take([17, 18, 19, 20, 21]) == 0
    assert deliveries.gaps == 0 and deliveries.expected == 22
