"""Orders and ranks of both sides over admissible pairs, and the solver's `Problem` built from them.

Imports numpy and matching only; never services or ortools. Stated lists always win; where a
side states none it ranks by `admissible.fit_score` (higher first) over the pairs still
admissible (after the `max_options` cut), ties in the order of matching.tiebreak.
"""

from dataclasses import dataclass

import numpy as np

from matching.admissible import Admissible
from matching.problem import IntArray, Problem, lexsort


@dataclass(frozen=True)
class Ranked:
    """The problem, and for each of its options the pair it belongs to.

    `pair_app_rank` / `pair_vac_rank` are 1-based ranks in each side's full order: the position
    in the stated list, or in the derived fit order where that side states none.
    """

    problem: Problem
    admissible: Admissible
    opt_pair: IntArray
    pair_app_rank: IntArray
    pair_vac_rank: IntArray


def to_problem(adm: Admissible) -> Ranked:
    """Options sorted by applicant, then its order: a stated list's position, or the fit level
    (equal scores tie), then the applicant's course order, then the lottery among equal fits.

    So an applicant ranking by fit prefers its earlier course among equally fit vacancies, as it
    does at one vacancy; the strict order refines the order with ties (`applicant_level`,
    `seat_level`), so every matching stable under the strict orders is weakly stable.

    The admissible's options are put in that order in place (`opt_pair`, `opt_seat`,
    `opt_course_pos`), and the result shares those arrays rather than holding sorted copies: at
    a million applicants 160 MiB less while the solver works. Their order was no one else's; a
    second call finds them sorted and gives the same result.
    """
    vac_tie, app_tie = adm.vac_tie[adm.pair_vac], adm.app_tie[adm.pair_app]
    app_rank, app_level = _orders(adm.pair_app, vac_tie, adm.pair_score, adm.pair_app_stated)
    vac_rank, vac_level = _orders(adm.pair_vac, app_tie, adm.pair_score, adm.pair_vac_stated)
    opt_app = adm.pair_app[adm.opt_pair]
    order = lexsort((app_rank[adm.opt_pair], adm.opt_course_pos, app_level[adm.opt_pair], opt_app))
    for column in (adm.opt_pair, adm.opt_seat, adm.opt_course_pos):
        column[:] = column[order]
    opt_pair, course = adm.opt_pair, adm.opt_course_pos
    opt_applicant = opt_app[order]
    del opt_app, order
    tier = np.stack([opt_applicant, app_level[opt_pair], course])
    problem = Problem(
        n_applicants=len(adm.applicants),
        capacity=adm.seats.capacity,
        opt_applicant=opt_applicant,
        opt_seat=adm.opt_seat,
        applicant_pref=_positions_in_groups(opt_applicant),
        seat_pref=vac_rank[opt_pair] - 1,
        cost=app_rank[opt_pair] + vac_rank[opt_pair],
        applicant_level=_dense_in_groups(opt_applicant, tier),
        seat_level=vac_level[opt_pair],
    )
    return Ranked(problem, adm, opt_pair, app_rank, vac_rank)


def _ranking(side: IntArray, stated: IntArray) -> IntArray:
    """The pairs of every side that has a pair it states no rank for, all of that side's pairs
    (so a position among them is its position among the side's pairs): the only ones whose
    derived order is needed. Where every side states its list this is empty: nothing sorted."""
    unstated = stated == 0
    if not unstated.any():
        return np.zeros(0, dtype=np.int64)
    has = np.zeros(int(side.max()) + 1, dtype=bool)
    has[side[unstated]] = True
    return np.flatnonzero(has[side])


def _dense_in_groups(group: IntArray, keys: IntArray) -> IntArray:
    """0-based dense rank of each column of `keys` within its run of equal `group` (rows sorted
    so that equal key columns are adjacent and increasing within a group)."""
    n = group.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group[1:] != group[:-1]]
    changed = np.r_[False, np.any(keys[:, 1:] != keys[:, :-1], axis=0) & ~starts[1:]]
    running = np.cumsum(changed)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    dense: IntArray = running - running[first]
    return dense


def _orders(
    side: IntArray, other_tie: IntArray, score: IntArray, stated: IntArray
) -> tuple[IntArray, IntArray]:
    """Per pair, `side`'s order of the other side: the 1-based rank (ties by `other_tie`) and
    the 0-based level with ties kept (the stated rank - 1, or the count of distinct higher fit
    scores among `side`'s pairs), both from one sort of the sides that rank by fit."""
    derived_rank, derived_level = np.zeros_like(side), np.zeros_like(side)
    ranking = _ranking(side, stated)  # the pairs of the sides that rank by fit
    if ranking.shape[0]:
        order = ranking[lexsort((other_tie[ranking], -score[ranking], side[ranking]))]
        s_side, s_score = side[order], score[order]
        derived_rank[order] = _positions_in_groups(s_side) + 1
        starts = np.r_[True, s_side[1:] != s_side[:-1]]
        changes = np.r_[False, (s_score[1:] != s_score[:-1]) & ~starts[1:]]
        running = np.cumsum(changes)
        first = np.maximum.accumulate(np.where(starts, np.arange(order.shape[0]), 0))
        derived_level[order] = running - running[first]
    rank: IntArray = np.where(stated > 0, stated, derived_rank)
    level: IntArray = np.where(stated > 0, stated - 1, derived_level)
    return rank, level


def _positions_in_groups(sorted_keys: IntArray) -> IntArray:
    """0-based position of each element within its run of equal keys."""
    n = sorted_keys.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    index = np.arange(n, dtype=np.int64)
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    return index - np.maximum.accumulate(np.where(starts, index, 0))
