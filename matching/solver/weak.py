"""The CP-SAT model of `stable-max`: weakly stable matchings with ties, as a rank-prefix model
(Delorme et al., EJOR 277, 2019) over the options preprocessing keeps. Imports ortools, numpy
and matching.problem; never services.

Option o = (a, s), s with capacity c, must not block weakly: c * Q[o] + P[o] >= c, where Q[o]
counts a's options it likes at least as well as o (ties included) and P[o] the options at s it
ranks at least as well as a. Both are prefix sums over tie groups (one variable per group), so
the model stays linear in the options.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from matching.problem import IntArray, Problem, lexsort

__all__ = ["WeakModel"]

Expr = Any
"""A linear expression of the model (ortools' own alias also admits numpy integers)."""


class WeakModel:
    """Variables for the kept options (`kept`: their indices in the problem's option order)."""

    def __init__(self, problem: Problem, kept: IntArray) -> None:
        self.problem, self.kept = problem, kept
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var("") for _ in range(kept.shape[0])]
        owner, seat = problem.opt_applicant[kept], problem.opt_seat[kept]
        for group in _groups(owner):
            self.model.add_at_most_one(self.x[i] for i in group)
        for group in _groups(seat, order=np.argsort(seat, kind="stable")):
            cap = int(problem.capacity[seat[group[0]]])
            if len(group) > cap:
                self.model.add(sum(self.x[i] for i in group) <= cap)
        q = self._prefixes(owner, problem.applicant_tiers[kept], 1)
        p = self._prefixes(seat, problem.seat_tiers[kept], None)
        for i, s in enumerate(seat.tolist()):
            c = int(problem.capacity[s])
            self.model.add(c * q[i] + p[i] >= c)

    def _prefixes(self, side: IntArray, level: IntArray, top: int | None) -> list[Expr]:
        """Per kept option, the number chosen among its side's options at a level <= its own."""
        order = lexsort((level, side))
        out: list[Expr] = [0] * side.shape[0]
        side_l, level_l = side[order].tolist(), level[order].tolist()
        for group in _groups(side[order]):
            cap = top if top is not None else int(self.problem.capacity[side_l[group[0]]])
            running: Expr = 0
            start = 0
            while start < len(group):
                end = start
                while end < len(group) and level_l[group[end]] == level_l[group[start]]:
                    end += 1
                members = [int(order[group[k]]) for k in range(start, end)]
                total = running + sum(self.x[i] for i in members)
                if end < len(group) and (start > 0 or end - start > 2):
                    var = self.model.new_int_var(0, cap, "")
                    self.model.add(var == total)
                    total = var
                for i in members:
                    out[i] = total
                running, start = total, end
        return out

    def hint(self, assignment: IntArray) -> None:
        """Hint the kept options of `assignment` (an option per applicant, -1 unplaced)."""
        self.model.clear_hints()  # type: ignore[no-untyped-call]  # ortools leaves it unannotated
        chosen = set(assignment[assignment >= 0].tolist())
        for var, o in zip(self.x, self.kept.tolist(), strict=True):
            self.model.add_hint(var, o in chosen)

    def values(self, solver: cp_model.CpSolver) -> IntArray:
        """The assignment of the solver's best solution."""
        assignment: IntArray = np.full(self.problem.n_applicants, -1, np.int64)
        chosen = [o for o, v in zip(self.kept.tolist(), self.x, strict=True) if solver.value(v)]
        options = np.asarray(chosen, dtype=np.int64)
        assignment[self.problem.opt_applicant[options]] = options
        return assignment

    def placements(self) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum(self.x)

    def cost(self) -> cp_model.LinearExpr:
        weights = [int(c) for c in self.problem.cost[self.kept]]
        return cp_model.LinearExpr.weighted_sum(self.x, weights)


def _groups(keys: IntArray, order: IntArray | None = None) -> list[Sequence[int]]:
    """Runs of equal keys, as positions into `keys`; the keys are taken in `order` when given
    (else they must be sorted already)."""
    ordered = keys if order is None else keys[order]
    n = ordered.shape[0]
    if n == 0:
        return []
    cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    bounds = [0, *cuts.tolist(), n]
    if order is None:
        return [range(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
    ids = order.tolist()
    return [ids[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]
