"""Mode `stable` against the `matching` library's HospitalResident (resident-optimal) oracle.

The library's import name clashes with our `matching` package, so it is loaded under a swap of
sys.modules; it must not import ortools.
"""

import warnings

from hypothesis import given, settings

from matching.solver import solve
from tests.support.hr_oracle import load_hospital_resident
from tests.unit.markets import market, markets


def oracle_seats(spec) -> list[int]:
    """Each applicant's seat in the library's resident-optimal matching, or -1."""
    apps, seats, capacity = spec
    # the library cannot hold a player with an empty list; such players are unplaced anyway
    listed = [s for s, lst in enumerate(seats) if lst]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = load_hospital_resident().create_from_dictionaries(
            {a: lst for a, lst in enumerate(apps) if lst},
            {s: seats[s] for s in listed},
            {s: capacity[s] for s in listed},
        )
        matched = game.solve(optimal="resident")
    outcome = [-1] * len(apps)
    for hospital, residents in matched.items():
        for resident in residents:
            outcome[resident.name] = hospital.name
    return outcome


def test_library_agrees_on_a_textbook_market():
    assert oracle_seats(([[0, 1], [1, 0]], [[1, 0], [0, 1]], [1, 1])) == [0, 1]


@settings(max_examples=50, deadline=None)
@given(markets(max_applicants=15, max_seats=6, min_capacity=1))
def test_stable_gives_the_identical_matching_to_hospital_resident(spec):
    problem = market(*spec)
    result = solve(problem, "stable")
    ours = [int(problem.opt_seat[o]) if o >= 0 else -1 for o in result.assignment.tolist()]
    assert ours == oracle_seats(spec)
