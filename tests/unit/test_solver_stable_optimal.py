"""Mode `stable-optimal` on markets with several stable matchings, and under a tiny time limit."""

from hypothesis import given, settings

from matching.problem import Limits
from matching.solver import solve
from matching.solver.deferred import seat_proposing
from matching.validate import check_capacity, check_stable
from tests.unit.markets import market, markets

MIDDLE = market(
    [[0, 3, 1, 2], [1, 2, 0, 3], [0, 2, 1, 3], [1, 0, 2, 3]],
    [[1, 3, 2, 0], [0, 2, 3, 1], [2, 1, 0, 3], [2, 1, 3, 0]],
    [1, 1, 1, 1],
)
"""Four one-place seats; the least-cost stable matching is neither side's optimum."""

TIED = market(
    [[1, 0, 2], [2, 0, 1], [2, 0, 1]],
    [[1, 0, 2], [2, 1, 0], [0, 1, 2]],
    [1, 1, 1],
)
"""The seat-optimal matching and a middle one share the least cost of 11."""


def seats(problem, assignment):
    return [int(problem.opt_seat[o]) if o >= 0 else -1 for o in assignment.tolist()]


def test_least_cost_stable_matching_lies_strictly_between_the_two_extremes():
    result = solve(MIDDLE, "stable-optimal")
    assert seats(MIDDLE, result.assignment) == [3, 0, 2, 1]
    assert (result.status, result.objective, result.bound) == ("optimal", 17.0, 17.0)
    assert solve(MIDDLE, "stable").objective == 18.0
    assert int(MIDDLE.cost[seat_proposing(MIDDLE)].sum()) == 18


def test_equal_cost_stable_matchings_are_resolved_toward_the_applicants():
    result = solve(TIED, "stable-optimal")
    assert result.objective == 11.0 == float(TIED.cost[seat_proposing(TIED)].sum())
    # applicants 0 and 1 each get their second choice here, their third in the seat-optimal one
    assert seats(TIED, result.assignment) == [0, 2, 1]
    assert seats(TIED, seat_proposing(TIED)) == [2, 0, 1]


@settings(max_examples=10, deadline=None)
@given(markets(max_applicants=40, max_seats=10))
def test_a_zero_time_budget_still_yields_a_stable_matching_with_an_honest_bound(spec):
    problem = market(*spec)
    result = solve(problem, "stable-optimal", Limits(time_limit_seconds=0.0))
    assert check_capacity(problem, result) == [] and check_stable(problem, result) == []
    assert result.status in ("optimal", "feasible") and result.bound <= result.objective
