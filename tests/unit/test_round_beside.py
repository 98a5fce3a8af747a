"""A round works on while the min-cost-flow worker solves (`matching.round._solved_beside`)."""

import threading

import pytest

import matching.round as round_module
from matching.problem import Limits


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
