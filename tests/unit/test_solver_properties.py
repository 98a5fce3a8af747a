"""Properties every mode keeps on random markets: validity, ordering of modes, invariance."""

import itertools

import numpy as np
from hypothesis import given, settings

from matching.problem import Limits, Problem, Solution
from matching.solver import MODES, solve
from matching.solver.deferred import seat_proposing
from matching.validate import check_capacity, check_stable, max_cardinality, objective_of
from tests.unit.markets import market, markets

FAST = settings(max_examples=40, deadline=None)


def seats_of(problem: Problem, solution: Solution) -> list[int]:
    return [int(problem.opt_seat[o]) if o >= 0 else -1 for o in solution.assignment.tolist()]


def brute_force_stable_optimal(problem: Problem) -> list[int]:
    """Seats of the least-cost stable matching, ties to the applicant-best, by enumeration."""
    per_applicant = [
        [-1] + np.flatnonzero(problem.opt_applicant == a).tolist()
        for a in range(problem.n_applicants)
    ]
    best: tuple[int, int, list[int]] | None = None
    for choice in itertools.product(*per_applicant):
        candidate = Solution(np.array(choice, np.int64), "", 0.0, 0.0, 0.0)
        if check_capacity(problem, candidate) or check_stable(problem, candidate):
            continue
        chosen = [o for o in choice if o >= 0]
        key = (int(problem.cost[chosen].sum()), int(problem.applicant_pref[chosen].sum()))
        if best is None or key < best[:2]:
            best = (*key, seats_of(problem, candidate))
    assert best is not None, "a stable matching always exists"
    return best[2]


@FAST
@given(markets())
def test_every_mode_respects_capacity_and_both_stable_modes_have_no_blocking_pair(spec):
    problem = market(*spec)
    for mode in MODES:
        result = solve(problem, mode)
        assert check_capacity(problem, result) == []
        if mode == "stable-max":  # its objective is the number of placements
            assert result.objective == (result.assignment >= 0).sum()
        else:
            assert result.objective == objective_of(problem, result)
        assert result.status == "optimal" and result.bound == result.objective
    for mode in ("stable", "stable-optimal", "stable-max"):  # no ties: weak stability is stability
        assert check_stable(problem, solve(problem, mode)) == []


@FAST
@given(markets())
def test_stable_optimal_costs_no_more_than_either_extreme_stable_matching(spec):
    problem = market(*spec)
    seat_best = Solution(seat_proposing(problem), "", 0.0, 0.0, 0.0)
    assert check_stable(problem, seat_best) == []
    least = solve(problem, "stable-optimal").objective
    assert least <= solve(problem, "stable").objective
    assert least <= objective_of(problem, seat_best)


@settings(max_examples=30, deadline=None)
@given(markets(max_applicants=5, max_seats=3))
def test_stable_optimal_is_the_applicant_best_of_the_least_cost_stable_matchings(spec):
    problem = market(*spec)
    assert seats_of(problem, solve(problem, "stable-optimal")) == brute_force_stable_optimal(
        problem
    )


@FAST
@given(markets())
def test_optimal_places_as_many_as_possible_and_at_least_as_many_as_stable(spec):
    problem = market(*spec)
    placed = int((solve(problem, "optimal").assignment >= 0).sum())
    assert placed == max_cardinality(problem)
    assert placed >= int((solve(problem, "stable").assignment >= 0).sum())


@FAST
@given(markets(), markets().map(lambda spec: len(spec[0])))
def test_renumbering_applicants_changes_no_placement_or_cost(spec, salt):
    apps, seats, capacity = spec
    perm = np.random.default_rng(salt).permutation(len(apps)).tolist()  # new index -> old
    new_of = {old: new for new, old in enumerate(perm)}
    renamed = ([apps[old] for old in perm], [[new_of[a] for a in s] for s in seats], capacity)
    before, after = market(*spec), market(*renamed)
    for mode in MODES:
        one, two = solve(before, mode), solve(after, mode)
        assert one.objective == two.objective
        assert (one.assignment >= 0).sum() == (two.assignment >= 0).sum()
        if mode in ("stable", "stable-optimal"):  # these modes define a unique answer
            moved = seats_of(after, two)
            assert seats_of(before, one) == [moved[new_of[old]] for old in range(len(apps))]


@FAST
@given(markets())
def test_results_are_equal_with_one_worker_and_with_two(spec):
    problem = market(*spec)
    for mode in MODES:
        one = solve(problem, mode, Limits(workers=1))
        two = solve(problem, mode, Limits(workers=2))
        assert one.assignment.tolist() == two.assignment.tolist()
        assert (one.status, one.objective, one.bound) == (two.status, two.objective, two.bound)
