"""Commuting distances on arrays (issue 17): one implementation for a round's million pairs and
for one pair (the audit's check), and the "to the metre" rule of program-rules.md decided alike
on arrays and for one distance."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from matching.geo import distance_km, distances_km, within_km

_LAT = st.floats(-90, 90, allow_nan=False)
_LON = st.floats(-180, 180, allow_nan=False)
_PLACES = st.lists(st.tuples(_LAT, _LON, _LAT, _LON), min_size=1, max_size=40)


@given(_PLACES)
def test_one_pair_measures_as_it_does_among_many(places):
    """SIMD sine and cosine may differ from the math module's in the last bit: a pair must get
    the same distance alone (the audit) as in a round's arrays, wherever it stands in them."""
    columns = [np.array(c, dtype=np.float64) for c in zip(*places, strict=True)]
    together = distances_km(*columns).tolist()
    assert together == [distance_km(*p) for p in places]
    for km, p in zip(together, places, strict=True):
        assert 0 <= km <= math.pi * 6371.0089 and (p[:2] != p[2:] or km == 0)


def test_a_known_distance():
    tokyo, osaka = (35.6812, 139.7671), (34.7025, 135.4959)  # the two main stations
    assert abs(distance_km(*tokyo, *osaka) - 403.5) < 1.0


_LIMITS = st.sampled_from([50.0, 30.0, 12.345, 80.5])


@st.composite
def near(draw: st.DrawFn, limit: float) -> float:
    """A distance whole or half metres either side of `limit`, or one float above or below."""
    km = limit + draw(st.integers(-3, 3)) / 2000
    nudge = draw(st.sampled_from([0.0, math.inf, -math.inf]))
    return float(np.nextafter(km, nudge)) if nudge else km


@given(_LIMITS.flatmap(lambda limit: st.tuples(
    st.just(limit), st.lists(near(limit) | st.floats(0, 200), min_size=1, max_size=30)
)))  # fmt: skip
def test_within_the_limit_to_the_metre_is_the_scalar_rule(case):
    """`within_km` is `round(km, 3) <= limit` (Python's correctly rounded `round`) on every
    element, also half a metre either side of the limit, where numpy's own rounding differs."""
    limit, kms = case
    got = within_km(np.array(kms, dtype=np.float64), limit).tolist()
    assert got == [round(km, 3) <= limit for km in kms]
