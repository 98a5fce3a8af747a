"""`matching.problem.lexsort`: the order of `np.lexsort`, which the ranks, the options' order
and the solvers' seat orders all rest on, by one packed argsort where the keys fit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from matching.problem import lexsort

BOUNDS = st.sampled_from(
    [(0, 0), (0, 1), (-3, 3), (0, 20_000), (-(2**40), 2**40), (-(2**62), 2**62)]
)


@st.composite
def key_sets(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(0, 60))
    keys = []
    for _ in range(draw(st.integers(1, 4))):
        low, high = draw(BOUNDS)
        keys.append(draw(hnp.arrays(np.int64, n, elements=st.integers(low, high))))
    return tuple(keys)


@settings(max_examples=500, deadline=None)
@given(key_sets())
def test_the_order_is_lexsorts_ties_included(keys):
    """Equal rows keep their input order (stable), as np.lexsort keeps them; keys too wide to
    pack (up to 2**63 between them) fall back to it."""
    assert lexsort(keys).tolist() == np.lexsort(keys).tolist()


def test_a_round_sized_sort_is_packed_and_equal():
    rng = np.random.default_rng(7)
    n = 200_000
    keys = (
        rng.integers(0, 20_000, n),
        -rng.integers(0, 400, n),
        np.sort(rng.integers(0, 50_000, n)),
    )
    assert lexsort(keys).tolist() == np.lexsort(keys).tolist()
