"""Solver-free checks of a Solution: capacity, stability, objective, maximum cardinality.

Plain Python and numpy only: must not import ortools or matching.solver, so it can judge them.
"""

import numpy as np

from matching.problem import IntArray, Problem, Solution

__all__ = [
    "check_capacity",
    "check_stable",
    "check_weakly_stable",
    "count_blocking",
    "max_cardinality",
    "objective_of",
]

_SHOWN = 20


def check_capacity(problem: Problem, solution: Solution) -> list[str]:
    """Violations of "each applicant holds its own option at most once, each seat its capacity"."""
    a = solution.assignment
    if a.shape != (problem.n_applicants,):
        return [f"assignment has shape {a.shape}, expected ({problem.n_applicants},)"]
    out = [
        f"applicant {i} holds unknown option {o}"
        for i, o in enumerate(a.tolist())
        if not -1 <= o < problem.n_options
    ]
    if out:
        return out
    placed = np.flatnonzero(a >= 0)
    out += [
        f"applicant {i} holds option {a[i]} of applicant {problem.opt_applicant[a[i]]}"
        for i in placed.tolist()
        if problem.opt_applicant[a[i]] != i
    ]
    held = np.bincount(problem.opt_seat[a[placed]], minlength=problem.n_seats)
    over = np.flatnonzero(held > problem.capacity)
    out += [f"seat {s} holds {held[s]} > capacity {problem.capacity[s]}" for s in over.tolist()]
    return out


def check_stable(problem: Problem, solution: Solution) -> list[str]:
    """Blocking pairs: an applicant prefers a seat to its outcome, and the seat has a free place
    or holds someone it ranks lower."""
    blocking = _blocking_options(problem, solution.assignment)
    s = problem.opt_seat
    out = [
        f"applicant {problem.opt_applicant[o]} and seat {s[o]} block (option {o})"
        for o in blocking[:_SHOWN].tolist()
    ]
    if blocking.shape[0] > _SHOWN:
        out.append(f"... and {blocking.shape[0] - _SHOWN} more blocking pairs")
    return out


def check_weakly_stable(problem: Problem, assignment: IntArray) -> list[str]:
    """Pairs that block weakly (`stable-max`): with ties kept, the applicant strictly prefers
    the seat to its outcome, and the seat has a free place or holds someone it ranks strictly
    lower."""
    a, level, seat_level = assignment, problem.applicant_tiers, problem.seat_tiers
    placed = np.flatnonzero(a >= 0)
    outcome = np.full(problem.n_applicants, np.iinfo(np.int64).max)
    outcome[placed] = level[a[placed]]
    seats = problem.opt_seat[a[placed]]
    held = np.bincount(seats, minlength=problem.n_seats)
    worst = np.full(problem.n_seats, -1, np.int64)
    np.maximum.at(worst, seats, seat_level[a[placed]])
    s = problem.opt_seat
    wants = level < outcome[problem.opt_applicant]
    open_to = (held[s] < problem.capacity[s]) | (worst[s] > seat_level)
    blocking = np.flatnonzero(wants & open_to & (problem.capacity[s] > 0))
    out = [
        f"applicant {problem.opt_applicant[o]} and seat {s[o]} block weakly (option {o})"
        for o in blocking[:_SHOWN].tolist()
    ]
    if blocking.shape[0] > _SHOWN:
        out.append(f"... and {blocking.shape[0] - _SHOWN} more weakly blocking pairs")
    return out


def count_blocking(problem: Problem, assignment: IntArray) -> int:
    """How many options block `assignment` under the problem's strict orders."""
    return int(_blocking_options(problem, assignment).shape[0])


def _blocking_options(problem: Problem, a: IntArray) -> IntArray:
    placed = np.flatnonzero(a >= 0)
    outcome = np.full(problem.n_applicants, np.iinfo(np.int64).max)
    outcome[placed] = problem.applicant_pref[a[placed]]
    held_opts = a[placed]
    seats = problem.opt_seat[held_opts]
    held = np.bincount(seats, minlength=problem.n_seats)
    worst = np.full(problem.n_seats, -1, np.int64)
    np.maximum.at(worst, seats, problem.seat_pref[held_opts])
    s = problem.opt_seat
    wants = problem.applicant_pref < outcome[problem.opt_applicant]
    open_to = (held[s] < problem.capacity[s]) | (worst[s] > problem.seat_pref)
    blocking: IntArray = np.flatnonzero(wants & open_to & (problem.capacity[s] > 0))
    return blocking


def objective_of(problem: Problem, solution: Solution) -> int:
    """Total rank cost of the chosen options."""
    a = solution.assignment
    return int(problem.cost[a[a >= 0]].sum())


def max_cardinality(problem: Problem) -> int:
    """Most placements possible, by augmenting paths; for small instances (recursive)."""
    seats_of: list[list[int]] = [[] for _ in range(problem.n_applicants)]
    for app, seat in zip(problem.opt_applicant.tolist(), problem.opt_seat.tolist(), strict=True):
        seats_of[app].append(seat)
    capacity = problem.capacity.tolist()
    holders: list[list[int]] = [[] for _ in capacity]

    def augment(app: int, seen: set[int]) -> bool:
        for seat in seats_of[app]:
            if seat in seen or capacity[seat] == 0:
                continue
            seen.add(seat)
            if len(holders[seat]) < capacity[seat]:
                holders[seat].append(app)
                return True
            for i, other in enumerate(holders[seat]):
                if augment(other, seen):
                    holders[seat][i] = app
                    return True
        return False

    return sum(augment(app, set()) for app in range(problem.n_applicants))
