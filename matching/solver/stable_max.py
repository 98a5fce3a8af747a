"""Mode `stable-max`: among weakly stable matchings (ties kept) the most placements, then the
least rank cost, by CP-SAT over the options preprocessing keeps. Imports ortools, numpy and
matching; never services.

Warm start: the better of Király's 3/2-approximation and the lottery `stable` matching (both
weakly stable: the strict orders refine the ties). That start is also the answer when the
model is over `Limits.max_model_options` or the limit finds nothing better, so the result
never places fewer than `stable`. `objective` is the number of placements and `bound` the most
placements proved possible: CP-SAT's bound, or without a model, the largest matching of the
kept options (stability ignored), which no weakly stable matching exceeds.
"""

import time

import numpy as np
from ortools.sat.python import cp_model

from matching.problem import IntArray, Limits, Problem, Solution
from matching.solver.deferred import applicant_proposing
from matching.solver.flow import solve_optimal
from matching.solver.kiraly import kiraly
from matching.solver.preprocess import kept_options
from matching.solver.weak import WeakModel
from matching.validate import check_weakly_stable

__all__ = ["solve_stable_max"]

_STAGES = (0.15, 0.05)
"""Shares of the round's limit, in CP-SAT deterministic time, for the most placements and then
the least cost among them. Deterministic time ran 2.5 to 3 times slower than wall-clock
seconds on the 2-core machine of the figures, and building the model takes time too, so a fifth
of the limit keeps a 20,000-applicant round within it there; the wall-clock safety net (never
reached in a normal run) is far above."""


def solve_stable_max(problem: Problem, limits: Limits) -> Solution:
    """Most placements over weakly stable matchings, then least cost; never below `stable`."""
    started = time.perf_counter()
    stable = applicant_proposing(problem)
    start = _better(problem, stable, kiraly(problem))
    keep = kept_options(problem)
    kept = np.flatnonzero(keep)
    baseline = _placed(stable)
    if kept.shape[0] > limits.max_model_options or kept.shape[0] == 0:
        bound, least = _largest_matching(problem, keep)
        # optimal only when proved: as many as any matching, as cheap as the cheapest of those
        proved = _placed(start) >= bound and _cost(problem, start) <= least
        return _solution(start, "optimal" if proved else "feasible", bound, started, baseline)
    found, status, bound = _search(problem, kept, start, limits)
    if status != "optimal":  # CP-SAT's bound may be weaker than the largest matching's
        bound = min(bound, _largest_matching(problem, keep)[0])
    return _solution(found, status, bound, started, baseline)


def _search(
    problem: Problem, kept: IntArray, start: IntArray, limits: Limits
) -> tuple[IntArray, str, float]:
    """(assignment, status, bound on placements) of the two CP-SAT stages."""
    weak = WeakModel(problem, kept)
    weak.model.maximize(weak.placements())
    weak.hint(start)
    first = _solver(limits.time_limit_seconds * _STAGES[0])
    status = first.solve(weak.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return start, "feasible", float(first.best_objective_bound)
    found = weak.values(first)
    bound = float(first.best_objective_bound)
    if _placed(found) < _placed(start):
        found = start
    if status != cp_model.OPTIMAL:
        return found, "feasible", bound
    most = _placed(found)
    weak.model.clear_objective()  # type: ignore[no-untyped-call]  # ortools leaves it unannotated
    weak.model.add(weak.placements() == most)
    weak.model.minimize(weak.cost())
    weak.hint(found)
    second = _solver(limits.time_limit_seconds * _STAGES[1])
    status = second.solve(weak.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return found, "feasible", float(most)
    cheaper = weak.values(second)
    if _cost(problem, cheaper) > _cost(problem, found):
        cheaper = found
    return cheaper, "optimal" if status == cp_model.OPTIMAL else "feasible", float(most)


def _solver(seconds: float) -> cp_model.CpSolver:
    """One worker, a fixed seed and a limit in deterministic time: the same run everywhere;
    wall-clock time is only a safety net far above the limit. The full linear relaxation
    (level 2) gives the placements' bound its strength."""
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = max(seconds, 0.01)
    solver.parameters.max_time_in_seconds = 10 * max(seconds, 0.01) + 30
    solver.parameters.random_seed = 0
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    return solver


def _better(problem: Problem, stable: IntArray, other: IntArray | None) -> IntArray:
    """Whichever places more; the lottery `stable` matching on equal counts, when Király's
    approximation gave up (None: its work budget), and when its answer is not weakly stable (a
    defect of the reconstruction, found by the property tests on a six-applicant market:
    checked, never trusted)."""
    if other is None or _placed(other) <= _placed(stable):
        return stable
    return other if check_weakly_stable(problem, other) == [] else stable


def _largest_matching(problem: Problem, keep: np.ndarray) -> tuple[float, int]:
    """The most placements over the kept options, stability ignored, and the least rank cost
    of a matching placing that many (a min-cost flow): no weakly stable matching does better."""
    idx = np.flatnonzero(keep)
    sub = Problem(
        n_applicants=problem.n_applicants,
        capacity=problem.capacity,
        opt_applicant=problem.opt_applicant[idx],
        opt_seat=problem.opt_seat[idx],
        applicant_pref=problem.applicant_pref[idx],
        seat_pref=problem.seat_pref[idx],
        cost=problem.cost[idx],
    )
    found = solve_optimal(sub).assignment
    return float(_placed(found)), _cost(sub, found)


def _placed(assignment: IntArray) -> int:
    return int((assignment >= 0).sum())


def _cost(problem: Problem, assignment: IntArray) -> int:
    return int(problem.cost[assignment[assignment >= 0]].sum())


def _solution(
    assignment: IntArray, status: str, bound: float, started: float, baseline: int
) -> Solution:
    placed = float(_placed(assignment))
    return Solution(
        assignment,
        status,
        placed,
        max(placed, min(bound, float(bound))),
        time.perf_counter() - started,
        baseline,
    )
