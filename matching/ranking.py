"""Orders and ranks of both sides over admissible pairs, and the solver's `Problem` built from them.

Imports numpy and matching only; never services or ortools. Stated lists always win; where a
side states none it ranks by `admissible.fit_score` (higher first) over the pairs still
admissible (after the `max_options` cut), ties in the order of matching.tiebreak.
"""

from dataclasses import dataclass

import numpy as np

from matching.admissible import Admissible
from matching.problem import IntArray, Problem


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
    """Options sorted by applicant, then vacancy order, then the applicant's course order."""
    vac_tie, app_tie = adm.vac_tie[adm.pair_vac], adm.app_tie[adm.pair_app]
    app_rank = _ranks(adm.pair_app, vac_tie, adm.pair_score, adm.pair_app_stated)
    vac_rank = _ranks(adm.pair_vac, app_tie, adm.pair_score, adm.pair_vac_stated)
    opt_app = adm.pair_app[adm.opt_pair]
    order = np.lexsort((adm.opt_course_pos, app_rank[adm.opt_pair], opt_app))
    opt_pair = adm.opt_pair[order]
    opt_applicant = opt_app[order]
    problem = Problem(
        n_applicants=len(adm.applicants),
        capacity=adm.seats.capacity,
        opt_applicant=opt_applicant,
        opt_seat=adm.opt_seat[order],
        applicant_pref=_positions_in_groups(opt_applicant),
        seat_pref=vac_rank[opt_pair] - 1,
        cost=app_rank[opt_pair] + vac_rank[opt_pair],
    )
    return Ranked(problem, adm, opt_pair, app_rank, vac_rank)


def _ranks(side: IntArray, other_tie: IntArray, score: IntArray, stated: IntArray) -> IntArray:
    """Per pair, the 1-based rank of the other side in `side`'s order, ties by `other_tie`."""
    order = np.lexsort((other_tie, -score, side))
    derived = np.empty_like(side)
    derived[order] = _positions_in_groups(side[order]) + 1
    return np.where(stated > 0, stated, derived)


def _positions_in_groups(sorted_keys: IntArray) -> IntArray:
    """0-based position of each element within its run of equal keys."""
    n = sorted_keys.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    index = np.arange(n, dtype=np.int64)
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    return index - np.maximum.accumulate(np.where(starts, index, 0))
