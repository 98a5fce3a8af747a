"""Mode `stable` on textbook markets whose applicant-optimal stable matching is known."""

from unittest.mock import patch

import numpy as np
from hypothesis import given, settings

from matching.problem import Problem, Solution
from matching.solver import deferred, solve
from matching.solver.deferred import seat_proposing
from matching.validate import check_capacity, check_stable
from tests.unit.markets import market, markets


def seats_of(problem: Problem, assignment: np.ndarray) -> list[int]:
    return [int(problem.opt_seat[o]) if o >= 0 else -1 for o in assignment.tolist()]


CROSSED = market([[0, 1], [1, 0]], [[1, 0], [0, 1]], [1, 1])
"""Two applicants and two seats who each rank the other side's first choice last."""

HOSPITALS = market(
    [[0, 1], [0], [0, 1], [1, 0]],
    [[3, 2, 1, 0], [0, 2, 3]],
    [2, 1],
)
"""A two-place seat and a one-place seat; four applicants, one of whom cannot be placed stably."""

SAME_VACANCY = market(
    [[0, 1, 2], [0, 2], [1]],
    [[1, 0], [2, 0], [0, 1]],
    [1, 1, 1],
)
"""Seats 0 and 1 are two courses of one vacancy; applicant 0 lists both and is displaced twice."""


def test_crossed_market_gives_each_applicant_its_first_choice():
    result = solve(CROSSED, "stable")
    assert seats_of(CROSSED, result.assignment) == [0, 1]
    assert (result.status, result.objective, result.bound) == ("optimal", 6.0, 6.0)


def test_seat_proposing_gives_each_seat_its_first_choice_in_the_crossed_market():
    assert seats_of(CROSSED, seat_proposing(CROSSED)) == [1, 0]


def test_two_place_seat_keeps_its_two_best_proposers_and_leaves_one_applicant_out():
    result = solve(HOSPITALS, "stable")
    assert seats_of(HOSPITALS, result.assignment) == [1, -1, 0, 0]
    assert result.objective == (2 + 1) + (1 + 2) + (2 + 1)


def test_applicant_displaced_from_both_courses_of_one_vacancy_moves_to_its_third_choice():
    result = solve(SAME_VACANCY, "stable")
    assert seats_of(SAME_VACANCY, result.assignment) == [2, 0, 1]
    assert check_stable(SAME_VACANCY, result) == []


def test_seat_with_no_capacity_places_nobody_and_blocks_nothing():
    problem = market([[0, 1], [0]], [[0, 1], [0]], [0, 1])
    result = solve(problem, "stable")
    assert seats_of(problem, result.assignment) == [1, -1]
    assert check_capacity(problem, result) == [] and check_stable(problem, result) == []


def test_empty_market_places_nobody():
    problem = market([[], []], [[]], [2])
    for mode in ("optimal", "stable"):
        result = solve(problem, mode)
        assert result.assignment.tolist() == [-1, -1] and result.status == "optimal"


def test_validator_names_every_blocking_pair_when_one_seat_is_left_empty():
    half = Solution(np.array([-1, 3], dtype=np.int64), "optimal", 0.0, 0.0, 0.0)
    assert check_stable(CROSSED, half) == [
        "applicant 0 and seat 1 block (option 1)",
        "applicant 1 and seat 1 block (option 2)",
    ]


def one_at_a_time(problem: Problem) -> list[int]:
    """Deferred acceptance as textbooks write it: one free applicant proposes at a time, and a
    seat over its capacity rejects the applicant it ranks lowest (the reference the rounds on
    arrays must equal; written from the definition, not from the solver)."""
    by_applicant: dict[int, list[int]] = {}
    for o, a in enumerate(problem.opt_applicant.tolist()):
        by_applicant.setdefault(a, []).append(o)
    capacity, seat_pref = problem.capacity.tolist(), problem.seat_pref.tolist()
    opt_seat = problem.opt_seat.tolist()
    held: dict[int, list[int]] = {s: [] for s in range(len(capacity))}
    next_choice = dict.fromkeys(by_applicant, 0)
    free = sorted(by_applicant, reverse=True)
    while free:
        a = free.pop()
        if next_choice[a] == len(by_applicant[a]):
            continue
        o = by_applicant[a][next_choice[a]]
        next_choice[a] += 1
        seat = held[opt_seat[o]]
        seat.append(o)
        if len(seat) > capacity[opt_seat[o]]:
            worst = max(seat, key=lambda option: seat_pref[option])
            seat.remove(worst)
            free.append(int(problem.opt_applicant[worst]))
    outcome = [-1] * problem.n_applicants
    for options in held.values():
        for o in options:
            outcome[int(problem.opt_applicant[o])] = opt_seat[o]
    return outcome


@settings(max_examples=150, deadline=None)
@given(markets(max_applicants=80, max_seats=12))
def test_proposals_in_rounds_give_the_matching_of_proposals_one_at_a_time(spec):
    """Crowded markets (up to 80 applicants for 12 seats of 0-3 places) make seats take and
    drop applicants over many rounds, held ones displaced by newcomers and by each other."""
    problem = market(*spec)
    expected = one_at_a_time(problem)
    for ratio in (0, 1, 10**9):  # rounds to the end; a tail one at a time; one at a time only
        with patch.object(deferred, "TAIL_RATIO", ratio):
            assert seats_of(problem, solve(problem, "stable").assignment) == expected, ratio


def test_a_long_chain_of_rejections_goes_one_proposal_at_a_time():
    """One applicant down a list of 3,000 seats that 3,000 others hold: rounds would each pass
    over every holding for one proposal; the tail goes one proposal at a time, and places it
    at the one seat with room."""
    n = 3_000
    apps = [[s] for s in range(n)] + [list(range(n + 1))]
    seats = [[s, n] for s in range(n)] + [[n]]
    problem = market(apps, seats, [1] * (n + 1))
    assert seats_of(problem, solve(problem, "stable").assignment) == list(range(n + 1))
