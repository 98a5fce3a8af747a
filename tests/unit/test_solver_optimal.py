"""Mode `optimal`: most placements first, then least total rank cost, checked by brute force."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings

from matching.problem import Problem
from matching.solver import solve
from matching.solver.flow import chosen_options, network, placement_reward
from matching.validate import check_capacity, max_cardinality, objective_of
from scripts.bench_market import Market
from tests.unit.markets import market, markets


def brute_force_best(problem: Problem) -> tuple[int, int]:
    """(placements, cost) of the lexicographically best assignment, by enumeration."""
    per_applicant = [
        [-1] + [o for o in range(problem.n_options) if problem.opt_applicant[o] == a]
        for a in range(problem.n_applicants)
    ]
    best = (0, 0)
    for choice in itertools.product(*per_applicant):
        chosen = [o for o in choice if o >= 0]
        seats = [int(problem.opt_seat[o]) for o in chosen]
        if any(seats.count(s) > problem.capacity[s] for s in set(seats)):
            continue
        cost = sum(int(problem.cost[o]) for o in chosen)
        if (len(chosen), -cost) > (best[0], -best[1]):
            best = (len(chosen), cost)
    return best


def test_optimal_places_everyone_even_where_stability_leaves_one_out():
    # seat 0 prefers applicant 0, who prefers seat 0: stable, but applicant 1 has nowhere else.
    problem = market([[0, 1], [0]], [[0, 1], [0]], [1, 1])
    result = solve(problem, "optimal")
    assert result.assignment.tolist() == [1, 2]
    assert solve(problem, "stable").assignment.tolist() == [0, -1]


def test_optimal_prefers_one_more_placement_over_any_saving_in_rank_cost():
    # applicant 0 alone would take seat 0 at cost 2; placing both forces it to its last choice.
    problem = market([[0, 1, 2, 3], [0]], [[0, 1], [0], [0], [0]], [1, 1, 1, 1])
    result = solve(problem, "optimal")
    assert (result.assignment >= 0).sum() == 2
    assert result.objective == objective_of(problem, result) == (2 + 1) + (1 + 2)


def test_placement_reward_exceeds_the_dearest_possible_total_cost():
    problem = market([[0, 1], [1, 0]], [[1, 0], [0, 1]], [1, 1])
    assert placement_reward(problem) == 3 + 3 + 1


@settings(max_examples=50, deadline=None)
@given(markets(max_applicants=6, max_seats=4))
def test_optimal_matches_brute_force_on_tiny_markets(spec):
    problem = market(*spec)
    result = solve(problem, "optimal")
    assert check_capacity(problem, result) == []
    placed = int((result.assignment >= 0).sum())
    assert (placed, objective_of(problem, result)) == brute_force_best(problem)
    assert placed == max_cardinality(problem)
    assert result.status == "optimal" and result.objective == result.bound


def _size_and_cost(problem: Problem, flows: np.ndarray) -> tuple[int, int]:
    return int(flows.sum()), int((problem.cost * flows).sum())


def _same_size_and_cost_as_the_priced_bypass(problem: Problem) -> None:
    """Rounds solve a maximum flow of least cost; the formulation before (one min-cost flow
    whose bypass arc prices an unplaced applicant, kept as the benchmarks' yardstick) must find
    the same size and cost."""
    net = network(problem)
    chosen = chosen_options(*net.arrays())
    assert chosen is not None
    ours = np.zeros(problem.n_options, dtype=np.int64)
    ours[chosen] = 1
    yardstick = net.to_solver()
    assert yardstick.solve() == yardstick.OPTIMAL
    theirs = yardstick.flows(np.arange(net.first_option, net.first_option + net.n_options))
    assert _size_and_cost(problem, ours) == _size_and_cost(problem, theirs)
    assert check_capacity(problem, solve(problem, "optimal")) == []


@settings(max_examples=60, deadline=None)
@given(markets(max_applicants=40, max_seats=12))
def test_the_maximum_flow_of_least_cost_places_as_many_as_the_priced_bypass_at_its_cost(spec):
    _same_size_and_cost_as_the_priced_bypass(market(*spec))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_so_it_does_on_the_benchmark_s_generated_markets(k):
    _same_size_and_cost_as_the_priced_bypass(Market(200 * k, 40 * k, seed=k).to_problem())
