"""stable-optimal under a short time limit gives the same matching on every run."""

import numpy as np

from matching.problem import Limits
from matching.solver import solve
from matching.validate import check_stable
from tests.unit.markets import market


def cyclic_blocks(blocks: int, size: int) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """Latin-square blocks: many stable matchings, all of one cost, hard to prove a tie-break."""
    apps: list[list[int]] = []
    seats: list[list[int]] = [[] for _ in range(blocks * size)]
    for b in range(blocks):
        base = b * size
        for i in range(size):
            apps.append([base + (i + k) % size for k in range(size)])
        for j in range(size):
            seats[base + j] = [base + (j - k) % size for k in range(1, size + 1)]
    return apps, seats, [1] * (blocks * size)


def test_stable_optimal_under_a_short_limit_gives_the_same_matching_every_run() -> None:
    problem = market(*cyclic_blocks(blocks=30, size=8))
    limits = Limits(time_limit_seconds=0.05)
    first = solve(problem, "stable-optimal", limits)
    for _ in range(2):
        again = solve(problem, "stable-optimal", limits)
        assert np.array_equal(again.assignment, first.assignment)
        assert again.status == first.status and again.objective == first.objective
    assert check_stable(problem, first) == []
    assert first.bound <= first.objective
