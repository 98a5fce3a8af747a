"""Mode `stable-max` and its parts on markets with ties: Király's 3/2-approximation and the
CP-SAT model, judged by the solver-free weak-stability validator and by brute force."""

import pytest
from hypothesis import HealthCheck, given, settings

from matching.problem import Limits, Solution
from matching.solver.deferred import applicant_proposing
from matching.solver.kiraly import kiraly
from matching.solver.stable_max import solve_stable_max
from matching.validate import check_capacity, check_weakly_stable
from tests.unit.markets import most_weakly_stable, tied_markets
from tests.unit.test_round_properties import program_years

SMALL = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _placed(assignment) -> int:
    return int((assignment >= 0).sum())


def _cost(problem, assignment) -> int:
    return int(problem.cost[assignment[assignment >= 0]].sum())


def _counterexample():
    import numpy as np

    from matching.problem import Problem

    return Problem(
        n_applicants=6,
        capacity=np.array([2, 1, 1]),
        opt_applicant=np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        opt_seat=np.array([0, 1, 2, 0, 1, 0, 2, 0, 1, 0, 2, 2, 0]),
        applicant_pref=np.array([0, 1, 2, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
        seat_pref=np.array([0, 1, 0, 2, 2, 1, 3, 3, 0, 5, 1, 2, 4]),
        cost=np.array([2, 4, 4, 4, 5, 3, 6, 5, 3, 7, 4, 4, 7]),
        applicant_level=np.array([0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
        seat_level=np.array([0, 0, 0, 2, 1, 1, 3, 3, 0, 5, 1, 2, 4]),
    )


_COUNTEREXAMPLE = _counterexample()


def _solution(assignment) -> Solution:
    return Solution(assignment, "feasible", 0.0, 0.0, 0.0)


@SMALL
@given(tied_markets())
def test_kiraly_respects_capacities_and_places_two_thirds_of_the_most(problem):
    found = kiraly(problem)
    assert check_capacity(problem, _solution(found)) == []
    assert 3 * _placed(found) >= 2 * most_weakly_stable(problem)


@pytest.mark.xfail(
    strict=True,
    reason="Király's reconstruction is not always weakly stable (applicant 1 and seat 0 block "
    "on this market); stable-max checks its answer and falls back to the lottery stable",
)
def test_kiraly_is_weakly_stable_on_a_market_hypothesis_found():
    found = kiraly(_COUNTEREXAMPLE)
    assert check_weakly_stable(_COUNTEREXAMPLE, found) == []


def test_stable_max_does_not_take_a_warm_start_that_is_not_weakly_stable():
    for limits in (Limits(max_model_options=0), Limits(time_limit_seconds=10)):
        solution = solve_stable_max(_COUNTEREXAMPLE, limits)
        assert check_weakly_stable(_COUNTEREXAMPLE, solution.assignment) == []


@SMALL
@given(tied_markets())
def test_the_lottery_stable_matching_is_weakly_stable_with_the_ties_kept(problem):
    assert check_weakly_stable(problem, applicant_proposing(problem)) == []


@SMALL
@given(tied_markets())
def test_preprocessing_keeps_every_option_of_a_most_placing_weakly_stable_matching(problem):
    from matching.solver.preprocess import kept_options

    keep = kept_options(problem)
    # a weakly stable warm start uses no option preprocessing removed (Király's answer only
    # when it is weakly stable: see the strict xfail on the market hypothesis found)
    for start in (applicant_proposing(problem), kiraly(problem)):
        if check_weakly_stable(problem, start) == []:
            assert keep[start[start >= 0]].all()


@SMALL
@given(tied_markets())
def test_stable_max_is_weakly_stable_proved_most_placing_and_never_below_stable(problem):
    solution = solve_stable_max(problem, Limits(time_limit_seconds=10))
    assert check_capacity(problem, solution) == []
    assert check_weakly_stable(problem, solution.assignment) == []
    most = most_weakly_stable(problem)
    placed = _placed(solution.assignment)
    assert solution.status == "optimal" and placed == most == solution.objective
    assert solution.bound == most
    assert solution.baseline == _placed(applicant_proposing(problem)) <= placed


@SMALL
@given(tied_markets())
def test_without_a_model_the_answer_is_the_better_warm_start_and_the_bound_still_holds(problem):
    solution = solve_stable_max(problem, Limits(max_model_options=0))
    found = kiraly(problem)
    starts = [_placed(applicant_proposing(problem))]
    if check_weakly_stable(problem, found) == []:  # an answer that is not is never taken
        starts.append(_placed(found))
    assert _placed(solution.assignment) == max(starts)
    assert check_weakly_stable(problem, solution.assignment) == []
    assert solution.bound >= most_weakly_stable(problem)
    assert solution.status in ("optimal", "feasible")
    if solution.status == "optimal":  # proved: the most placements at the least cost
        proved = solve_stable_max(problem, Limits(time_limit_seconds=10))
        assert solution.bound == max(starts) == _placed(proved.assignment)
        assert _cost(problem, solution.assignment) == _cost(problem, proved.assignment)


def test_a_round_in_stable_max_reports_the_stable_count_beside_its_own():
    from matching import audit_round, run_round
    from tests.support.factories import applicant, snapshot, vacancy

    # everyone fits every vacancy equally: ties everywhere, so the lottery-broken `stable`
    # round can leave seats empty that a weakly stable matching fills
    people = [applicant(f"A-{k}", preferences=[f"V-{k % 3}", f"V-{(k + 1) % 3}"]) for k in range(6)]
    places = [vacancy(f"V-{j}", slots=[{"course": "B", "capacity": 1}]) for j in range(4)]
    snap = snapshot(people, places, mode="stable-max")
    result = run_round(snap)
    stable = run_round(snapshot(people, places, mode="stable"))
    assert audit_round(snap, result) == []
    assert result.stable_placed == len(stable.placements) <= len(result.placements)
    assert result.objective == len(result.placements) and result.status == "optimal"
    assert result.blocking_pairs is None and result.lottery_seed == snap.seed


def test_stable_max_gives_the_same_answer_on_every_run_under_a_tight_limit():
    from scripts.bench_stable_max import tied_market

    problem = tied_market(400, seed=3)
    limits = Limits(time_limit_seconds=0.5)
    first = solve_stable_max(problem, limits)
    for _ in range(2):
        again = solve_stable_max(problem, limits)
        assert again.assignment.tolist() == first.assignment.tolist()
        assert (again.status, again.objective, again.bound) == (
            first.status,
            first.objective,
            first.bound,
        )
    assert check_weakly_stable(problem, first.assignment) == []
    assert first.objective >= first.baseline
    assert first.bound >= first.objective


def test_orders_with_ties_keep_equal_fits_tied_and_course_order_strict():
    from matching.round import build_market
    from tests.support.factories import applicant, snapshot, vacancy

    a = applicant("A-1", courses=["C", "B"])  # no list: ranks by fit, all vacancies fit alike
    jobs = [vacancy(f"V-{j}") for j in range(3)]
    problem = build_market(snapshot([a], jobs)).ranked.problem
    courses = build_market(snapshot([a], jobs)).ranked.admissible.seats.seat_course
    by_level: dict[int, set[str]] = {}
    for o in range(problem.n_options):
        level = int(problem.applicant_tiers[o])
        by_level.setdefault(level, set()).add(courses[int(problem.opt_seat[o])])
    # every vacancy under C ties, then every vacancy under B: course order is strict
    assert by_level == {0: {"C"}, 1: {"B"}}
    assert (problem.applicant_tiers[1:] >= problem.applicant_tiers[:-1]).all()
    assert problem.applicant_pref.tolist() == list(range(problem.n_options))


def test_on_heavy_ties_stable_max_is_proved_optimal_and_fuller_than_stable():
    """Hundreds of applicants with ten listed vacancies each, nine in ten vacancies ranking by
    three fit grades: proved within the limit, weakly stable, and more placed than `stable`."""
    from scripts.bench_stable_max import tied_market

    for n in (200, 300):
        problem = tied_market(n, seed=5)
        solution = solve_stable_max(problem, Limits(time_limit_seconds=60))
        assert solution.status == "optimal" and solution.bound == solution.objective
        assert check_weakly_stable(problem, solution.assignment) == []
        assert check_capacity(problem, solution) == []
        stable = _placed(applicant_proposing(problem))
        assert solution.baseline == stable < solution.objective == _placed(solution.assignment)


@SMALL
@given(program_years())
def test_rounds_in_stable_max_are_weakly_stable_and_never_below_stable(snap):
    import dataclasses

    from matching import build_market, run_round
    from matching.solver import solve

    snap = dataclasses.replace(snap, mode="stable-max")
    problem = build_market(snap).ranked.problem
    solution = solve(problem, "stable-max", Limits(time_limit_seconds=10))
    assert check_weakly_stable(problem, solution.assignment) == []
    assert solution.baseline == _placed(applicant_proposing(problem)) <= solution.objective
    result = run_round(snap)
    assert len(result.placements) == solution.objective
    assert result.stable_placed == solution.baseline


def test_above_the_model_cap_optimal_is_claimed_only_when_the_least_cost_is_proved_too():
    import numpy as np

    from matching.problem import Problem

    # four applicants, three seats; every most-placing weakly stable matching places 4, and the
    # cheapest of them costs 11 (enumerated), while the warm start places 4 at cost 12
    problem = Problem(
        n_applicants=4,
        capacity=np.array([1, 2, 2]),
        opt_applicant=np.array([0, 0, 0, 1, 1, 2, 2, 3, 3]),
        opt_seat=np.array([2, 0, 1, 1, 0, 0, 1, 2, 1]),
        applicant_pref=np.array([0, 1, 2, 0, 1, 0, 1, 0, 1]),
        seat_pref=np.array([0, 0, 3, 1, 1, 2, 0, 1, 2]),
        cost=np.array([2, 3, 7, 3, 4, 4, 3, 3, 5]),
        applicant_level=np.array([0, 1, 1, 0, 1, 0, 0, 0, 0]),
        seat_level=np.array([0, 0, 1, 0, 1, 2, 0, 0, 0]),
    )
    proved = solve_stable_max(problem, Limits(time_limit_seconds=10))
    assert proved.status == "optimal" and _cost(problem, proved.assignment) == 11
    capped = solve_stable_max(problem, Limits(max_model_options=0))
    assert check_weakly_stable(problem, capped.assignment) == []
    assert _placed(capped.assignment) == 4 == capped.bound
    # status `optimal` promises the mode's answer: most placements, then least rank cost
    assert capped.status == "feasible" or _cost(problem, capped.assignment) == 11


@pytest.mark.xfail(
    strict=True,
    reason="the orders with ties break equal fit scores at different vacancies by course order "
    "(program-rules.md gives course order only within one vacancy): stable-max misses a fuller "
    "weakly stable matching and reports 1 placement as proved optimal",
)
def test_equal_fits_at_two_vacancies_under_different_courses_tie_in_stable_max():
    from matching import run_round
    from tests.support.factories import applicant, snapshot, vacancy

    python = {"skills": ["python"]}
    # A-1 fits V-1 (course C only) and V-2 (course B only) equally: a tie, as they are different
    # vacancies; V-2 ranks A-1 above A-2, who is admissible to V-2 only
    a1 = applicant("A-1", courses=["B", "C"], skills=["python"])
    a2 = applicant("A-2", courses=["B"])
    v1 = vacancy("V-1", slots=[{"course": "C", "capacity": 1}], requirements=python)
    v2 = vacancy("V-2", slots=[{"course": "B", "capacity": 1}], requirements=python)
    result = run_round(snapshot([a1, a2], [v1, v2], mode="stable-max"))
    # {A-1: V-1, A-2: V-2} is weakly stable: A-1 does not strictly prefer V-2 to V-1
    assert sorted((p.applicant_id, p.vacancy_id) for p in result.placements) == [
        ("A-1", "V-1"),
        ("A-2", "V-2"),
    ]


def _one_tie_market(n: int, m: int, capacity: int):
    """n applicants who each find all m seats equally good; each seat of `capacity` places
    ranks by two fit grades (the lottery within a grade)."""
    import numpy as np

    from matching.problem import Problem

    rng = np.random.default_rng(0)
    app, seat = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    grade = rng.integers(0, 2, size=app.shape[0])
    seat_pref = np.empty_like(app)
    for s in range(m):
        idx = np.flatnonzero(seat == s)
        seat_pref[idx[np.lexsort((app[idx], -grade[idx]))]] = np.arange(idx.shape[0])
    pref = np.tile(np.arange(m), n)
    return Problem(
        n_applicants=n,
        capacity=np.full(m, capacity),
        opt_applicant=app,
        opt_seat=seat,
        applicant_pref=pref,
        seat_pref=seat_pref,
        cost=pref + seat_pref + 2,
        applicant_level=np.zeros_like(app),
        seat_level=1 - grade,
    )


def test_kiraly_work_per_option_does_not_grow_with_the_capacity(monkeypatch):
    import matching.solver.kiraly as module

    steps = [0]
    key, uncertain = module._Kiraly._key, module._Kiraly._is_uncertain

    def counted_key(self, o):
        steps[0] += 1
        return key(self, o)

    def counted_uncertain(self, o):
        steps[0] += 1
        return uncertain(self, o)

    monkeypatch.setattr(module._Kiraly, "_key", counted_key)
    monkeypatch.setattr(module._Kiraly, "_is_uncertain", counted_uncertain)
    per_option = []
    for n, capacity in ((400, 30), (1600, 120)):  # four times the market, four times the seats
        problem = _one_tie_market(n, 10, capacity)
        steps[0] = 0
        module.kiraly(problem)
        per_option.append(steps[0] / problem.n_options)
    # the work budget keeps the work per option bounded at any capacity (it gives up instead)
    assert per_option[1] <= 2 * per_option[0], per_option


def test_on_seats_of_large_capacity_kiraly_gives_up_in_bounded_time_and_stable_max_goes_on():
    """8,000 applicants at ten seats of 600 took Király 50 s before its work budget: now it
    gives up (None, counted work, the same on every run) and stable-max starts from `stable`."""
    import time

    from matching.validate import check_weakly_stable as weakly

    problem = _one_tie_market(8000, 10, 600)
    started = time.perf_counter()
    assert kiraly(problem) is None
    assert time.perf_counter() - started < 10
    solution = solve_stable_max(problem, Limits(max_model_options=0))
    assert weakly(problem, solution.assignment) == []
    assert _placed(solution.assignment) == _placed(applicant_proposing(problem))
