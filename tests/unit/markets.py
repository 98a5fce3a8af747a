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


@st.composite
def tied_markets(
    draw: st.DrawFn, max_applicants: int = 7, max_seats: int = 4, grades: int = 2
) -> Problem:
    """Markets with ties on both sides, as rounds make them: each side either states a strict
    list or ranks by a fit grade (equal grades tie); the strict orders refine the ties."""
    n = draw(st.integers(1, max_applicants))
    m = draw(st.integers(1, max_seats))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grade = rng.integers(0, grades, size=(n, m))  # the fit of pair (a, s), shared by both sides
    listed_a = rng.random(n) < 0.3
    listed_s = rng.random(m) < 0.3
    pairs = [(a, s) for a in range(n) for s in range(m) if rng.random() < 0.7]
    lottery_a, lottery_s = rng.permutation(n), rng.permutation(m)

    def app_key(a: int, s: int) -> tuple[int, int]:
        return (int(rng_list_a[a][s]), 0) if listed_a[a] else (-int(grade[a, s]), lottery_s[s])

    def seat_key(a: int, s: int) -> tuple[int, int]:
        return (int(rng_list_s[s][a]), 0) if listed_s[s] else (-int(grade[a, s]), lottery_a[a])

    rng_list_a = [rng.permutation(m) for _ in range(n)]
    rng_list_s = [rng.permutation(n) for _ in range(m)]
    rows = []
    for a in range(n):
        mine = sorted((app_key(a, s), s) for aa, s in pairs if aa == a)
        levels = _dense([k[0] for k, _ in mine])
        rows += [(a, s, p, levels[p]) for p, (_, s) in enumerate(mine)]
    seat_pref, seat_level = {}, {}
    for s in range(m):
        theirs = sorted((seat_key(a, s), a) for a, ss in pairs if ss == s)
        levels = _dense([k[0] for k, _ in theirs])
        for p, (_, a) in enumerate(theirs):
            seat_pref[(a, s)], seat_level[(a, s)] = p, levels[p]
    cols = (
        np.array(
            [(a, s, p, lvl, seat_pref[(a, s)], seat_level[(a, s)]) for a, s, p, lvl in rows],
            dtype=np.int64,
        )
        .reshape(-1, 6)
        .T
    )
    return Problem(
        n_applicants=n,
        capacity=rng.integers(1, 3, size=m).astype(np.int64),
        opt_applicant=cols[0],
        opt_seat=cols[1],
        applicant_pref=cols[2],
        seat_pref=cols[4],
        cost=cols[2] + cols[4] + 2,
        applicant_level=cols[3],
        seat_level=cols[5],
    )


def _dense(keys: list[int]) -> list[int]:
    """0-based dense ranks of sorted keys."""
    out, level = [], -1
    for i, k in enumerate(keys):
        if i == 0 or k != keys[i - 1]:
            level += 1
        out.append(level)
    return out


def most_weakly_stable(problem: Problem) -> int:
    """The most placements of any weakly stable matching, by enumerating every matching."""
    from matching.validate import check_weakly_stable

    n, best = problem.n_applicants, -1
    options = [np.flatnonzero(problem.opt_applicant == a).tolist() for a in range(n)]
    assignment = np.full(n, -1, np.int64)
    used = np.zeros(problem.n_seats, np.int64)

    def walk(a: int, placed: int) -> None:
        nonlocal best
        if a == n:
            if placed > best and not check_weakly_stable(problem, assignment):
                best = placed
            return
        for o in options[a]:
            s = problem.opt_seat[o]
            if used[s] < problem.capacity[s]:
                used[s] += 1
                assignment[a] = o
                walk(a + 1, placed + 1)
                used[s] -= 1
        assignment[a] = -1
        walk(a + 1, placed)

    walk(0, 0)
    return best
