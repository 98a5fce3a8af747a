"""A round works on while the min-cost-flow worker solves (`matching.round._solved_beside`)."""

import datetime as dt
import threading

import pytest

import matching.round as round_module
from matching import run_round
from matching.problem import Limits
from tests.support.factories import applicant, snapshot, vacancy


def test_optimal_computes_beside_the_solve_and_the_others_after_it(monkeypatch):
    """`optimal`: the unplaced reasons are computed while the solve waits (here the solve
    waits for them: done one after the other, it would time out). Other modes: after."""
    beside_ran = threading.Event()

    def solve(problem, mode, limits):
        if mode == "optimal":
            assert beside_ran.wait(timeout=10), "the solve was not running beside"
        else:
            assert not beside_ran.is_set()
        return "solution"

    monkeypatch.setattr(round_module, "solve", solve)
    for mode in ("optimal", "stable"):
        beside_ran.clear()
        answer = round_module._solved_beside(None, mode, Limits(), lambda: beside_ran.set() or 7)
        assert answer == ("solution", 7)


def test_an_error_beside_the_solve_is_raised_once_the_solve_ended(monkeypatch):
    ended = threading.Event()

    def solve(problem, mode, limits):
        threading.Event().wait(0.2)
        ended.set()

    def beside():
        raise RuntimeError("beside")

    monkeypatch.setattr(round_module, "solve", solve)
    with pytest.raises(RuntimeError, match="beside"):
        round_module._solved_beside(None, "optimal", Limits(), beside)
    assert ended.is_set()


def test_an_id_held_twice_gets_each_copy_its_own_reasons():
    """The store's key rules it out, but a snapshot may hold an id twice, one copy eligible and
    one not: the round neither raises nor mixes their reasons up (they are matched by position,
    in the id order the market was built in, not looked up by id)."""
    young = applicant("A-1")
    old = applicant("A-1", date_of_birth=dt.date(1970, 1, 1))
    other = applicant("A-2", courses=["A"])
    for applicants in ([young, old, other], [old, other, young]):
        result = run_round(snapshot(applicants, [vacancy("V-1", slots=[])]))
        reasons = sorted(
            r.code for u in result.unplaced if u.applicant_id == "A-1" for r in u.reasons
        )
        assert reasons == ["age_out_of_range", "no_eligible_vacancy"]
