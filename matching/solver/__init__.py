"""The solver facade: `solve(problem, mode, limits) -> Solution` for the round modes.

The only package that imports ortools; it never imports services or contracts.
"""

from matching.problem import Limits, Problem, Solution
from matching.solver.deferred import solve_stable
from matching.solver.flow import FLOWS, solve_optimal
from matching.solver.stable_cpsat import solve_stable_optimal
from matching.solver.stable_max import solve_stable_max

__all__ = ["MODES", "prepare", "solve"]

MODES = ("optimal", "stable", "stable-optimal", "stable-max")


def prepare(mode: str) -> None:
    """Get ready for a solve in `mode` while the caller builds its problem: the modes that
    solve a min-cost flow start its worker process (matching.solver.flow.FlowWorker)."""
    if mode in ("optimal", "stable-max"):
        FLOWS.start()


def solve(problem: Problem, mode: str, limits: Limits | None = None) -> Solution:
    """Solve one round's problem in the given mode; a time limit shows in `status`, not as an error.

    Raises:
        ValueError: `mode` is not one of MODES.
    """
    limits = limits or Limits()
    if mode == "optimal":
        return solve_optimal(problem)
    if mode == "stable":
        return solve_stable(problem)
    if mode == "stable-optimal":
        return solve_stable_optimal(problem, limits)
    if mode == "stable-max":
        return solve_stable_max(problem, limits)
    raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
