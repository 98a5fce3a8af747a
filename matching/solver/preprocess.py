"""Delorme et al.'s preprocessing for `stable-max` (EJOR 277, 2019): options that no weakly
stable matching can use, found by "offers" that each side can make safely. Numpy only.

Seat offer: where the options at a seat ranked at least as well as option (a, s) number at most
its capacity, a blocks with s unless a gets s or something it likes as well, so a's options it
likes less are never used. Applicant offer: where at least `capacity` applicants have s as their
single best option, s ends full with applicants it ranks at least as well as the
`capacity`-th of them, so its options ranked strictly lower are never used. Each removal also
leaves the remaining stability constraints implying the removed option's, so the model over the
options kept has exactly the weakly stable matchings.
"""

import numpy as np

from matching.problem import Problem, lexsort

__all__ = ["kept_options"]


def kept_options(problem: Problem, rounds: int = 50) -> np.ndarray:
    """A boolean mask of the options some weakly stable matching may use (a superset of them)."""
    alive: np.ndarray = problem.capacity[problem.opt_seat] > 0  # a seat without places: no one
    for _ in range(rounds):
        before = int(alive.sum())
        alive &= _seat_offers(problem, alive)
        alive &= _applicant_offers(problem, alive)
        if int(alive.sum()) == before:
            break
    return alive


def _seat_offers(problem: Problem, alive: np.ndarray) -> np.ndarray:
    """Options worse, for their applicant, than a seat that must hold the applicant or be beaten."""
    idx = np.flatnonzero(alive)
    seat, level = problem.opt_seat[idx], problem.seat_tiers[idx]
    order = lexsort((level, seat))
    s_seat, s_level = seat[order], level[order]
    n = idx.shape[0]
    if n == 0:
        return alive
    # options at the seat ranked at least as well: position of the end of the option's tie
    new_group = np.r_[True, (s_seat[1:] != s_seat[:-1]) | (s_level[1:] != s_level[:-1])]
    group_id = np.cumsum(new_group) - 1
    group_end = np.r_[np.flatnonzero(new_group)[1:], n]  # exclusive end of each tie
    seat_start = np.maximum.accumulate(
        np.where(np.r_[True, s_seat[1:] != s_seat[:-1]], np.arange(n), 0)
    )
    at_least_as_good = group_end[group_id] - seat_start
    sure = idx[order[at_least_as_good <= problem.capacity[s_seat]]]
    guaranteed = np.full(problem.n_applicants, np.iinfo(np.int64).max)
    np.minimum.at(guaranteed, problem.opt_applicant[sure], problem.applicant_tiers[sure])
    worse = problem.applicant_tiers > guaranteed[problem.opt_applicant]
    out: np.ndarray = alive & ~worse
    return out


def _applicant_offers(problem: Problem, alive: np.ndarray) -> np.ndarray:
    """Options a seat ranks below the capacity-th applicant whose single best option it is."""
    idx = np.flatnonzero(alive)
    if idx.shape[0] == 0:
        return alive
    app, level = problem.opt_applicant[idx], problem.applicant_tiers[idx]
    best = np.full(problem.n_applicants, np.iinfo(np.int64).max)
    np.minimum.at(best, app, level)
    at_best = level == best[app]
    count = np.bincount(app[at_best], minlength=problem.n_applicants)
    single = idx[at_best & (count[app] == 1)]
    seat, seat_level = problem.opt_seat[single], problem.seat_tiers[single]
    order = lexsort((seat_level, seat))
    s_seat, s_level = seat[order], seat_level[order]
    m = s_seat.shape[0]
    if m == 0:
        return alive
    starts = np.r_[True, s_seat[1:] != s_seat[:-1]]
    position = np.arange(m) - np.maximum.accumulate(np.where(starts, np.arange(m), 0))
    cth = position == problem.capacity[s_seat] - 1
    threshold = np.full(problem.n_seats, np.iinfo(np.int64).max)
    threshold[s_seat[cth]] = s_level[cth]
    below = problem.seat_tiers > threshold[problem.opt_seat]
    out: np.ndarray = alive & ~below
    return out
