"""Király's local 3/2-approximation for the most placements among weakly stable matchings
("Linear time local approximation algorithm for maximum stable marriage", Algorithms 6, 2013),
with seats of any capacity. Plain Python; imports numpy and matching.problem only.

Applicants propose down their order with ties (`applicant_level`), each list twice: a *lad* on
the first pass, a *bachelor* on the second. Within its best tie an applicant proposes first to
a seat with a free place (Király's "maiden"). A seat keeps the best `capacity` proposers by its
order with ties, and among equals prefers a bachelor to a lad. An applicant held while its best
tie still holds a seat with a free place is *uncertain*, and the seat holding it is *flighty*: it
gives such a holder up for any proposer, and the uncertain applicant, keeping the seat on its
list (it may come back and be compared as usual), takes the free place in its tie, which it
likes as well. Where the seat or the applicant
would choose among equals, the option order (the lottery) decides.
"""

import numpy as np

from matching.problem import IntArray, Problem

__all__ = ["kiraly"]

WORK_PER_OPTION = 32
"""Holders and options looked at, per option of the market (plus `WORK_BASE`), before the
approximation gives up. A proposal to a full seat looks at every holder (for the worst one and
the uncertain ones), so seats of large capacity make its work grow with capacity × options
(8,000 applicants at ten seats of 600: 50 s, outside any limit); markets of small vacancies look
at about 3 per option. Counted, not timed, so a give-up is the same on every run."""
WORK_BASE = 100_000


class _OverBudgetError(Exception):
    pass


def kiraly(problem: Problem) -> IntArray | None:
    """A weakly stable assignment (option per applicant, -1 unplaced) placing at least 2/3 of the
    most placements any weakly stable matching makes (the caller checks: see stable_max); None
    when its work budget ran out, so the caller goes on without it."""
    try:
        return _Kiraly(problem).run()
    except _OverBudgetError:
        return None


class _Kiraly:
    def __init__(self, problem: Problem) -> None:
        n = problem.n_applicants
        self.bounds = np.searchsorted(problem.opt_applicant, np.arange(n + 1)).tolist()
        self.seat = problem.opt_seat.tolist()
        self.owner = problem.opt_applicant.tolist()
        self.level = problem.applicant_tiers.tolist()
        self.seat_level = problem.seat_tiers.tolist()
        self.seat_pref = problem.seat_pref.tolist()
        self.capacity = problem.capacity.tolist()
        self.alive = [True] * problem.n_options
        self.holders: list[list[int]] = [[] for _ in self.capacity]
        self.holding = [-1] * n
        self.bachelor = [False] * n
        self.n = n
        self.budget = WORK_PER_OPTION * problem.n_options + WORK_BASE

    def _spend(self, work: int) -> None:
        self.budget -= work
        if self.budget < 0:
            raise _OverBudgetError

    def run(self) -> IntArray:
        free = [a for a in range(self.n - 1, -1, -1) if self.bounds[a] < self.bounds[a + 1]]
        while free:
            a = free.pop()
            o = self._favourite(a)
            if o < 0:
                if not self.bachelor[a]:  # a lad's list ran out: a bachelor goes round again
                    self.bachelor[a] = True
                    for k in range(self.bounds[a], self.bounds[a + 1]):
                        self.alive[k] = True
                    free.append(a)
                continue
            loser = self._propose(o)
            if loser is not None:
                free.append(loser)
        assignment: IntArray = np.asarray(self.holding, dtype=np.int64)
        return assignment

    def _favourite(self, a: int) -> int:
        """The first option of a's best live tie whose seat has a free place, else its first."""
        first, best = -1, -1
        for k in range(self.bounds[a], self.bounds[a + 1]):
            if not self.alive[k]:
                continue
            if first < 0:
                first, best = k, self.level[k]
            elif self.level[k] != best:
                break
            s = self.seat[k]
            if len(self.holders[s]) < self.capacity[s]:
                return k
        return first

    def _propose(self, o: int) -> int | None:
        """Seat of o decides; returns the applicant now free (the proposer or one given up)."""
        s, a = self.seat[o], self.owner[o]
        held = self.holders[s]
        if len(held) < self.capacity[s]:
            self._hold(o)
            return None
        if not held:  # a seat without places rejects everyone
            self.alive[o] = False
            return int(a)
        self._spend(len(held))
        worst = max(held, key=self._key)
        if self._key(o)[:2] < self._key(worst)[:2]:  # strictly better, bachelors above lads
            self._give_up(worst, keep=False)
            self._hold(o)
            return int(self.owner[worst])
        uncertain = [h for h in held if self._is_uncertain(h)]
        if uncertain:  # a flighty seat: the uncertain holder has a free place in its tie
            given = max(uncertain, key=self._key)
            self._give_up(given, keep=True)
            self._hold(o)
            return int(self.owner[given])
        self.alive[o] = False
        return int(a)

    def _key(self, o: int) -> tuple[int, int, int]:
        """The seat's view of a holder, smaller better: its level, lads after bachelors, lottery."""
        return self.seat_level[o], 0 if self.bachelor[self.owner[o]] else 1, self.seat_pref[o]

    def _is_uncertain(self, o: int) -> bool:
        a, level = self.owner[o], self.level[o]
        self._spend(self.bounds[a + 1] - self.bounds[a])
        for k in range(self.bounds[a], self.bounds[a + 1]):
            if k == o or not self.alive[k] or self.level[k] != level:
                continue
            s = self.seat[k]
            if len(self.holders[s]) < self.capacity[s]:
                return True
        return False

    def _hold(self, o: int) -> None:
        self.holders[self.seat[o]].append(o)
        self.holding[self.owner[o]] = o

    def _give_up(self, o: int, keep: bool) -> None:
        self.holders[self.seat[o]].remove(o)
        self.holding[self.owner[o]] = -1
        self.alive[o] = keep
