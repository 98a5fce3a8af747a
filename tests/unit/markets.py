"""Small markets for the solver tests: a builder from preference lists and a hypothesis strategy.

The test_solver_* modules import `market` and `markets` from here; imports no ortools.
"""

import numpy as np
from hypothesis import strategies as st

from matching.problem import Problem


def market(
    applicant_lists: list[list[int]], seat_lists: list[list[int]], capacity: list[int]
) -> Problem:
    """A Problem whose options are the pairs that list each other; cost = sum of 1-based ranks."""
    seat_rank = [{a: r for r, a in enumerate(lst)} for lst in seat_lists]
    rows = [
        (a, s, p, seat_rank[s][a])
        for a, lst in enumerate(applicant_lists)
        for p, s in enumerate(lst)
        if a in seat_rank[s]
    ]
    cols = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return Problem(
        n_applicants=len(applicant_lists),
        capacity=np.array(capacity, dtype=np.int64),
        opt_applicant=cols[0],
        opt_seat=cols[1],
        applicant_pref=cols[2],
        seat_pref=cols[3],
        cost=cols[2] + cols[3] + 2,
    )


@st.composite
def markets(
    draw: st.DrawFn, max_applicants: int = 12, max_seats: int = 6, min_capacity: int = 0
) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """Random strict-preference markets; seats rank exactly the applicants who listed them."""
    n = draw(st.integers(0, max_applicants))
    m = draw(st.integers(1, max_seats))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    apps = [rng.permutation(m)[: rng.integers(0, m + 1)].tolist() for _ in range(n)]
    seats = [rng.permutation([a for a in range(n) if s in apps[a]]).tolist() for s in range(m)]
    capacity = rng.integers(min_capacity, 4, size=m).tolist()
    return apps, seats, capacity
