"""Deliveries the intake never received, found by the consumer's delivery sequence.

nats-server numbers every delivery of a consumer one after the other, redeliveries included
(the consumer sequence in the ack reply subject). A number skipped means deliveries this
instance never got: a fetch answered while a broker node went away, a batch a client library
dropped, a fetch by an instance that is no longer active. The server counts them pending and
redelivers them only after ack_wait, after later events committed: out of stream order, so the
lottery chain (program-rules.md) and a round's inputs would depend on the fault. A number going
back (a consumer leader of nats-server before 2.11.2 taking over from replicated state that
lagged what the old one sent) is treated as a gap too: the numbers no longer say which
deliveries were missed. A consumer reset to its ack floor numbers its deliveries from 1 again.

Imports the standard library only.
"""

from collections.abc import Sequence
from dataclasses import dataclass

RESTARTED = 1
"""The first delivery sequence after a consumer reset (or of a new consumer)."""


@dataclass
class Deliveries:
    """The delivery sequence as this instance receives it.

    `expected` is the next number (None: whatever comes next). After a gap every delivery is
    dropped (left unacknowledged) until the recovery says what comes next: `restart()` before a
    reset (deliveries are taken again from the one numbered 1; `reset_applied()` once the server
    answered) or `rebase(n)` after a hold (the server held to one unacknowledged message has
    numbered n - 1 deliveries when the hold took effect; what it delivers next are the pending
    ones again, lowest stream sequence first, once ack_wait passed).
    """

    expected: int | None = None
    waiting: bool = False
    applied: bool = False
    """While waiting for the numbering from 1: the server has said the reset is applied, so a
    batch without number 1 means that first delivery was lost too (or is a late one of the old
    numbering): a gap again."""
    gaps: int = 0

    def take(self, seqs: Sequence[int]) -> int | None:
        """Where in a fetched batch (by delivery sequence) to start taking it in; None: drop it
        whole (a gap was found in it now, or deliveries are still being recovered)."""
        start = 0
        if self.waiting:
            if self.expected is None:
                return None
            if self.expected not in seqs:
                if self.applied:
                    self.gaps += 1
                    self.unknown()
                return None
            start = list(seqs).index(self.expected)  # what came before is the old numbering's
        for seq in seqs[start:]:
            if self.expected is not None and seq != self.expected:
                self.gaps += 1
                self.unknown()
                return None
            self.expected = seq + 1
        self.waiting = False
        return start

    @property
    def lost(self) -> bool:
        """Deliveries were missed and nothing says yet what comes next."""
        return self.waiting and self.expected is None

    def unknown(self) -> None:
        """Drop every delivery until the recovery says what comes next (after a gap, or a
        reset that may or may not have been applied)."""
        self.waiting, self.expected, self.applied = True, None, False

    def restart(self) -> None:
        """A reset is being asked for: take deliveries again from the one numbered 1."""
        self.waiting, self.expected, self.applied = True, RESTARTED, False

    def reset_applied(self) -> None:
        """The server answered the reset: from now on its numbering is the new one."""
        self.applied = True

    def rebase(self, expected: int) -> None:
        """No reset (an older server holds the consumer instead): the next delivery must be
        numbered `expected` (one past what the server had numbered once the hold took effect);
        anything else is a gap again."""
        self.waiting, self.expected = False, expected
