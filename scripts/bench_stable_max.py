"""`stable-max` against the lottery-broken `stable` matching on markets with heavy ties (issue
15's figures); prints a table (not a test).

Each applicant states a strict list of about ten vacancies (popular ones more often); nine in ten
vacancies state no list and rank by a fit grade out of three, so their orders are mostly ties
(the lottery breaks them for `stable`); capacities 1 to 3. Every result is checked weakly
stable by the solver-free validator. `--time-limit` is the round's default (60 s of CP-SAT
deterministic time), one worker.

    uv run python scripts/bench_stable_max.py                 # 1,000 / 5,000 / 20,000 / 100,000
    uv run python scripts/bench_stable_max.py --sizes 1000    # one size
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.problem import Limits, Problem  # noqa: E402
from matching.solver.deferred import applicant_proposing  # noqa: E402
from matching.solver.kiraly import kiraly  # noqa: E402
from matching.solver.stable_max import solve_stable_max  # noqa: E402
from matching.validate import check_weakly_stable  # noqa: E402

LISTED = 10
GRADES = 3


def tied_market(n: int, seed: int = 15) -> Problem:
    """n applicants, n / 2 vacancies with 1 to 3 places (about as many places as applicants),
    heavy ties on the vacancies' side."""
    rng = np.random.default_rng(seed)
    m = max(1, n // 2)
    popularity = rng.pareto(1.5, size=m) + 1
    weights = popularity / popularity.sum()
    k = min(LISTED, m)
    lists = np.stack([rng.choice(m, size=k, replace=False, p=weights) for _ in range(n)])
    app = np.repeat(np.arange(n), k)
    seat = lists.reshape(-1)
    pref = np.tile(np.arange(k), n)
    grade = rng.integers(0, GRADES, size=app.shape[0])  # the vacancy's fit grade of the pair
    lottery = rng.permutation(n)
    listed = rng.random(m) < 0.1
    stated = rng.random(app.shape[0])  # a listing vacancy's strict order: its own random key
    # the seat's strict order: a stated list, or the grade (best first) then the lottery
    primary = np.where(listed[seat], 0, GRADES - 1 - grade)
    secondary = np.where(listed[seat], (stated * n * 10).astype(np.int64), lottery[app])
    order = np.lexsort((secondary, primary, seat))
    seat_pref = np.empty_like(app)
    starts = np.r_[True, seat[order][1:] != seat[order][:-1]]
    pos = np.arange(order.shape[0]) - np.maximum.accumulate(
        np.where(starts, np.arange(order.shape[0]), 0)
    )
    seat_pref[order] = pos
    # levels with ties: a listing vacancy is strict; the others tie equal grades
    seat_level = np.where(listed[seat], seat_pref, primary)
    capacity = rng.integers(1, 4, size=m).astype(np.int64)
    return Problem(
        n_applicants=n,
        capacity=capacity,
        opt_applicant=app.astype(np.int64),
        opt_seat=seat.astype(np.int64),
        applicant_pref=pref.astype(np.int64),
        seat_pref=seat_pref.astype(np.int64),
        cost=(pref + seat_pref + 2).astype(np.int64),
        applicant_level=pref.astype(np.int64),
        seat_level=seat_level.astype(np.int64),
    )


def measure(n: int, limits: Limits) -> dict[str, object]:
    problem = tied_market(n)
    stable = int((applicant_proposing(problem) >= 0).sum())
    started = time.perf_counter()
    approx = int((kiraly(problem) >= 0).sum())
    kiraly_s = time.perf_counter() - started
    started = time.perf_counter()
    solution = solve_stable_max(problem, limits)
    seconds = time.perf_counter() - started
    if check_weakly_stable(problem, solution.assignment):
        raise SystemExit(f"{n}: stable-max result is not weakly stable")
    placed = int((solution.assignment >= 0).sum())
    if placed < stable:
        raise SystemExit(f"{n}: stable-max placed {placed} < stable {stable}")
    return {
        "n": n,
        "options": problem.n_options,
        "stable": stable,
        "kiraly": approx,
        "kiraly_s": kiraly_s,
        "placed": placed,
        "gain": (placed - stable) / stable if stable else 0.0,
        "bound": solution.bound,
        "status": solution.status,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 100000])
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    limits = Limits(time_limit_seconds=args.time_limit)
    print(
        "| applicants | options | stable | Király | stable-max | gain | bound | gap | status "
        "| seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = measure(n, limits)
        gap = (float(r["bound"]) - float(r["placed"])) / float(r["placed"])  # type: ignore[arg-type]
        print(
            f"| {r['n']:,} | {r['options']:,} | {r['stable']:,} | {r['kiraly']:,} "
            f"| {r['placed']:,} | {100 * float(r['gain']):+.2f} % "  # type: ignore[arg-type]
            f"| {float(r['bound']):,.0f} | {100 * gap:.2f} % | {r['status']} "  # type: ignore[arg-type]
            f"| {float(r['seconds']):.1f} |",  # type: ignore[arg-type]
            flush=True,
        )


if __name__ == "__main__":
    main()
