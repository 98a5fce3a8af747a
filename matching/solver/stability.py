"""The stability constraints of `stable-optimal` as a CP-SAT model over the stable core.

Part of the solver subpackage; imports ortools, numpy and matching.problem, never services.

Option o = (a, s) with capacity c must not block: c * A[o] + S[o] >= c, where A[o] counts a's
options it likes at least as well as o and S[o] counts s's holders it ranks above a. Both are
cumulative sums (a per-seat chain of prefix variables), so the model stays linear in the options.
"""

import numpy as np
from ortools.sat.python import cp_model

from matching.problem import IntArray, Problem, lexsort

__all__ = ["StableCore"]


class StableCore:
    """Variables for options between each applicant's best and worst stable partner; the rest fixed.

    Args:
        best: the applicant-optimal stable assignment (option per applicant, or -1).
        worst: the seat-optimal stable assignment; the same applicants are placed in both.
    """

    def __init__(self, problem: Problem, best: IntArray, worst: IntArray) -> None:
        placed = np.flatnonzero(best >= 0)
        lo, hi = best[placed], worst[placed]
        self.fixed: IntArray = lo[lo == hi]
        spans = hi - lo + 1
        varied = spans > 1
        starts = np.repeat(lo[varied], spans[varied])
        offsets = np.arange(starts.shape[0]) - np.repeat(
            np.cumsum(spans[varied]) - spans[varied], spans[varied]
        )
        self.free: list[int] = (starts + offsets).tolist()
        self.n_applicants = problem.n_applicants
        self._owner = problem.opt_applicant
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{o}") for o in self.free]
        if self.free:
            self._add_assignment(problem)
            self._add_stability(problem, best, worst)

    def _add_assignment(self, problem: Problem) -> None:
        """Each applicant holds one option of its span; seats hold at most their capacity."""
        owners = problem.opt_applicant[self.free].tolist()
        by_owner: dict[int, list[cp_model.IntVar]] = {}
        for var, owner in zip(self.x, owners, strict=True):
            by_owner.setdefault(owner, []).append(var)
        for group in by_owner.values():
            self.model.add_exactly_one(group)
        held = np.bincount(problem.opt_seat[self.fixed], minlength=problem.n_seats)
        by_seat: dict[int, list[cp_model.IntVar]] = {}
        for var, seat in zip(self.x, problem.opt_seat[self.free].tolist(), strict=True):
            by_seat.setdefault(seat, []).append(var)
        for seat, group in by_seat.items():
            self.model.add(sum(group) <= int(problem.capacity[seat] - held[seat]))

    def _add_stability(self, problem: Problem, best: IntArray, worst: IntArray) -> None:
        """c * A[o] + S[o] >= c for every option a might prefer to its outcome."""
        var_of = np.full(problem.n_options, -1, np.int64)
        var_of[self.free] = np.arange(len(self.free))
        is_one = np.zeros(problem.n_options, bool)
        is_one[self.fixed] = True
        upto = np.where(worst >= 0, worst, problem.n_options)[problem.opt_applicant]
        needed = (np.arange(problem.n_options) < upto) & (problem.capacity[problem.opt_seat] > 0)
        first = np.where(best >= 0, best, problem.n_options)
        for o, const, prefix in self._seat_prefixes(problem, var_of, is_one, needed):
            c = int(problem.capacity[problem.opt_seat[o]])
            start = int(first[problem.opt_applicant[o]])
            liked = [self.x[v] for v in var_of[start : o + 1].tolist()] if start <= o else []
            if const >= c or (not liked and prefix is None):
                continue  # holds in every assignment: the applicant-optimal matching is stable
            seat_side = const + (prefix if prefix is not None else 0)
            self.model.add(c * sum(liked) + seat_side >= c)

    def _seat_prefixes(
        self, problem: Problem, var_of: IntArray, is_one: np.ndarray, needed: np.ndarray
    ) -> list[tuple[int, int, cp_model.IntVar | None]]:
        """For each needed option: the seat's fixed holders ranked above, and a prefix variable
        counting its variable holders ranked above (None when there are none)."""
        order = lexsort((problem.seat_pref, problem.opt_seat)).tolist()
        seats, capacity = problem.opt_seat.tolist(), problem.capacity.tolist()
        out: list[tuple[int, int, cp_model.IntVar | None]] = []
        current, const, prefix = -1, 0, None
        for o in order:
            if seats[o] != current:
                current, const, prefix = seats[o], 0, None
            if needed[o]:
                out.append((o, const, prefix))
            if is_one[o]:
                const += 1
            elif var_of[o] >= 0:
                nxt = self.model.new_int_var(0, capacity[current], "")
                self.model.add(nxt == (prefix if prefix is not None else 0) + self.x[var_of[o]])
                prefix = nxt
        return out

    def values(self, solver: cp_model.CpSolver) -> IntArray:
        """The assignment of the solver's best solution, fixed options included."""
        assignment: IntArray = np.full(self.n_applicants, -1, np.int64)
        chosen = [o for o, v in zip(self.free, self.x, strict=True) if solver.boolean_value(v)]
        options = np.concatenate([self.fixed, np.asarray(chosen, np.int64)])
        assignment[self._owner[options]] = options
        return assignment

    def fixed_cost(self, problem: Problem) -> int:
        return int(problem.cost[self.fixed].sum())
