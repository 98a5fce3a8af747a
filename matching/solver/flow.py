"""Mode `optimal`: most placements, then least total rank cost, as one min-cost flow.

Part of the solver subpackage (the only place that imports ortools); imports nothing from services.
"""

import time

import numpy as np
from ortools.graph.python import min_cost_flow

from matching.problem import IntArray, Problem, Solution

__all__ = ["Network", "network", "solve_optimal"]


class Network:
    """Arcs of the placement network in canonical order: source->applicant, options, seat->sink,
    then one bypass source->sink arc whose cost is the price of leaving an applicant unplaced."""

    def __init__(self, problem: Problem) -> None:
        n, m = problem.n_applicants, problem.n_seats
        source, sink = 0, n + m + 1
        applicants = np.arange(1, n + 1, dtype=np.int64)
        seats = np.arange(n + 1, n + m + 1, dtype=np.int64)
        self.reward = placement_reward(problem)
        self.first_option = n
        self.tails = np.concatenate(
            [np.zeros(n, np.int64), problem.opt_applicant + 1, seats, [source]]
        )
        self.heads = np.concatenate(
            [applicants, problem.opt_seat + n + 1, np.full(m, sink), [sink]]
        )
        self.capacities = np.concatenate(
            [np.ones(n + problem.n_options, np.int64), problem.capacity, [n]]
        )
        self.costs = np.concatenate(
            [np.zeros(n, np.int64), problem.cost, np.zeros(m, np.int64), [self.reward]]
        )
        self.supplies = np.zeros(n + m + 2, np.int64)
        self.supplies[source], self.supplies[sink] = n, -n

    def to_solver(self) -> min_cost_flow.SimpleMinCostFlow:
        """A SimpleMinCostFlow loaded with these arcs and supplies, not yet solved."""
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.tails, self.heads, self.capacities, self.costs
        )
        smcf.set_nodes_supplies(np.arange(self.supplies.shape[0]), self.supplies)
        return smcf


def network(problem: Problem) -> Network:
    """The placement network of a problem (also used by the benchmark as a bare-MCF floor)."""
    return Network(problem)


def placement_reward(problem: Problem) -> int:
    """A cost just above any total rank difference, so one more placement always wins.

    Any placement's total cost is at most the sum, over applicants, of their dearest option.
    """
    if problem.n_options == 0:
        return 1
    dearest = np.zeros(problem.n_applicants, np.int64)
    np.maximum.at(dearest, problem.opt_applicant, problem.cost)
    return int(dearest.sum()) + 1


def solve_optimal(problem: Problem) -> Solution:
    """Maximum placements, then least total cost; proved optimal by the flow algorithm."""
    started = time.perf_counter()
    net = network(problem)
    smcf = net.to_solver()
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        return _unsolved(problem, started)
    first = net.first_option
    flows = smcf.flows(np.arange(first, first + problem.n_options))
    chosen = np.flatnonzero(flows > 0)
    assignment: IntArray = np.full(problem.n_applicants, -1, np.int64)
    assignment[problem.opt_applicant[chosen]] = chosen
    total = float(problem.cost[chosen].sum())
    return Solution(assignment, "optimal", total, total, time.perf_counter() - started)


def _unsolved(problem: Problem, started: float) -> Solution:
    empty: IntArray = np.full(problem.n_applicants, -1, np.int64)
    return Solution(empty, "infeasible", 0.0, 0.0, time.perf_counter() - started)
