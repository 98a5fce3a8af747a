"""The market builder of the solver tests (tests/unit/markets.py): options in canonical order."""

import numpy as np
from hypothesis import given, settings

from tests.unit.markets import market, markets


@settings(max_examples=30, deadline=None)
@given(markets())
def test_market_options_are_in_canonical_order_with_ranks_as_costs(spec):
    problem = market(*spec)
    key = problem.opt_applicant * 1000 + problem.applicant_pref
    assert np.all(np.diff(key) > 0)
    assert np.all(problem.cost == problem.applicant_pref + problem.seat_pref + 2)
    assert problem.n_options == sum(len(lst) for lst in spec[0])
