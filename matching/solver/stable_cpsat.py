"""Mode `stable-optimal`: the least-cost stable matching, by CP-SAT over the stable core.

Part of the solver subpackage; imports ortools, numpy and matching.problem, never services.

Every stable matching gives each applicant an option between its applicant-optimal and its
seat-optimal partner (lattice theorem), so only those options become variables. The set of
least-cost stable matchings is itself a lattice (a pair-sum cost is modular), so its
applicant-best member is unique: stage 2 picks it by least total applicant preference, which
makes the answer canonical whatever the search order.
"""

import time

from ortools.sat.python import cp_model

from matching.problem import IntArray, Limits, Problem, Solution
from matching.solver.deferred import applicant_proposing, seat_proposing
from matching.solver.stability import StableCore

__all__ = ["solve_stable_optimal"]


def solve_stable_optimal(problem: Problem, limits: Limits) -> Solution:
    """Least total cost over stable matchings; `feasible` with the proved bound on a time limit."""
    started = time.perf_counter()
    best = applicant_proposing(problem)
    core = StableCore(problem, best, seat_proposing(problem))
    if not core.free:
        return _solution(problem, best, "optimal", None, started)
    cost = [int(c) for c in problem.cost[core.free]]
    solver = _solver(limits, limits.time_limit_seconds)
    status = solver.solve(_with_objective(core, cost, hint=best))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _solution(problem, best, "feasible", _bound(problem, core, solver), started)
    first = core.values(solver)
    if status != cp_model.OPTIMAL:
        return _solution(problem, first, "feasible", _bound(problem, core, solver), started)
    remaining = limits.time_limit_seconds - solver.response_proto.deterministic_time
    final, proved = _applicant_best(problem, core, cost, first, solver, remaining, limits)
    total = _bound(problem, core, solver)
    return _solution(problem, final, "optimal" if proved else "feasible", total, started)


def _applicant_best(
    problem: Problem,
    core: StableCore,
    cost: list[int],
    first: IntArray,
    stage1: cp_model.CpSolver,
    remaining: float,
    limits: Limits,
) -> tuple[IntArray, bool]:
    """Among stable matchings of the proved least cost, the one best for applicants."""
    if remaining <= 0:
        return first, False
    least = round(stage1.objective_value)
    core.model.add(cp_model.LinearExpr.weighted_sum(core.x, cost) == least)
    pref = [int(p) for p in problem.applicant_pref[core.free]]
    solver = _solver(limits, remaining)
    status = solver.solve(_with_objective(core, pref, hint=first))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return first, False
    return core.values(solver), status == cp_model.OPTIMAL


def _with_objective(core: StableCore, weights: list[int], hint: IntArray) -> cp_model.CpModel:
    model = core.model
    # ortools (9.15) ships py.typed but leaves these two CpModel methods unannotated (no return
    # type), so mypy treats them as untyped; both return None.
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.clear_hints()  # type: ignore[no-untyped-call]
    model.minimize(cp_model.LinearExpr.weighted_sum(core.x, weights))
    chosen = set(hint.tolist())
    for var, option in zip(core.x, core.free, strict=True):
        model.add_hint(var, option in chosen)
    return model


def _solver(limits: Limits, seconds: float) -> cp_model.CpSolver:
    """One worker is reproducible; several workers interleave, which is reproducible too.

    The limit is CP-SAT's deterministic time (work units close to seconds), so where a search
    stops does not depend on the machine's load; wall-clock time is only a safety net at twice
    the limit, the one case in which a result could differ between runs.
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = max(seconds, 0.01)
    solver.parameters.max_time_in_seconds = 2 * max(seconds, 0.01) + 5
    solver.parameters.random_seed = 0
    solver.parameters.num_workers = max(1, limits.workers)
    solver.parameters.interleave_search = limits.workers > 1
    return solver


def _bound(problem: Problem, core: StableCore, solver: cp_model.CpSolver) -> float:
    return float(core.fixed_cost(problem)) + float(solver.best_objective_bound)


def _solution(
    problem: Problem, assignment: IntArray, status: str, bound: float | None, started: float
) -> Solution:
    chosen = assignment[assignment >= 0]
    total = float(problem.cost[chosen].sum())
    return Solution(
        assignment,
        status,
        total,
        total if bound is None else min(bound, total),
        time.perf_counter() - started,
    )
