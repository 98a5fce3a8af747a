"""Mode `optimal`: most placements, then least total rank cost, as a maximum flow of least cost.

Part of the solver subpackage (the only place that imports ortools); imports nothing from services.
"""

import atexit
import contextlib
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow

from matching.errors import SolverUnavailable
from matching.problem import IntArray, Problem, Solution

__all__ = [
    "FLOWS",
    "FlowWorker",
    "Network",
    "NetworkArrays",
    "chosen_options",
    "loaded_network",
    "network",
    "options_with_flow",
    "solve_optimal",
]


NetworkArrays = tuple[IntArray, IntArray, IntArray, IntArray, IntArray, int, int]
"""A network as the worker takes it: tails, heads, capacities, costs, supplies, and the option
arcs' range (first arc, count)."""


class Network:
    """Arcs of the placement network in canonical order: source->applicant, options, seat->sink.

    A round solves it as a maximum flow of least cost (`chosen_options`): most placements, then
    least total rank cost, with the costs only the ranks. Until 2026-12-08 a round solved it as
    one min-cost flow with a bypass source->sink arc whose cost (`reward`) priced an unplaced
    applicant just above any total rank difference; the same optimum in placements and cost
    (not always the same matching among equal-cost ones), but the bypass's cost of some 10^8
    gave the cost-scaling solver twice the phases (100,000 applicants: 6.2 s against 3.8 s).
    `to_solver` keeps that formulation as the benchmarks' yardstick (their "bare min-cost flow").
    """

    def __init__(self, problem: Problem) -> None:
        n, m = problem.n_applicants, problem.n_seats
        source, sink = 0, n + m + 1
        applicants = np.arange(1, n + 1, dtype=np.int64)
        seats = np.arange(n + 1, n + m + 1, dtype=np.int64)
        self._problem = problem  # for `reward`, which only the yardstick needs
        self.first_option, self.n_options = n, problem.n_options
        self.tails = np.concatenate([np.zeros(n, np.int64), problem.opt_applicant + 1, seats])
        self.heads = np.concatenate([applicants, problem.opt_seat + n + 1, np.full(m, sink)])
        self.capacities = np.concatenate(
            [np.ones(n + problem.n_options, np.int64), problem.capacity]
        )
        self.costs = np.concatenate([np.zeros(n, np.int64), problem.cost, np.zeros(m, np.int64)])
        self.supplies = np.zeros(n + m + 2, np.int64)
        self.supplies[source], self.supplies[sink] = n, -n

    @property
    def reward(self) -> int:
        """The yardstick's bypass cost (`placement_reward`)."""
        return placement_reward(self._problem)

    def arrays(self) -> "NetworkArrays":
        """What `chosen_options` takes: the arcs, the supplies and the option arcs' range."""
        return (
            self.tails, self.heads, self.capacities, self.costs, self.supplies,
            self.first_option, self.n_options,
        )  # fmt: skip

    def to_max_flow_solver(self) -> min_cost_flow.SimpleMinCostFlow:
        """A SimpleMinCostFlow loaded with these arcs and supplies as a round solves them: call
        `solve_max_flow_with_min_cost()` (the benchmarks time this too)."""
        return _loaded(self.tails, self.heads, self.capacities, self.costs, self.supplies)

    def to_solver(self) -> min_cost_flow.SimpleMinCostFlow:
        """The benchmarks' bare min-cost flow: a SimpleMinCostFlow loaded with these arcs, one
        bypass source->sink arc of cost `reward` and capacity n, and the supplies; not solved
        (call `solve()`)."""
        sink = self.supplies.shape[0] - 1
        return _loaded(
            np.append(self.tails, 0),
            np.append(self.heads, sink),
            np.append(self.capacities, self.supplies[0]),
            np.append(self.costs, self.reward),
            self.supplies,
        )


def network(problem: Problem) -> Network:
    """The placement network of a problem (also used by the benchmark as a bare-MCF floor)."""
    return Network(problem)


def placement_reward(problem: Problem) -> int:
    """A cost just above any total rank difference, so one more placement always wins (the
    bypass arc of the benchmarks' yardstick, `Network.to_solver`).

    Any placement's total cost is at most the sum, over applicants, of their dearest option.
    """
    if problem.n_options == 0:
        return 1
    dearest = np.zeros(problem.n_applicants, np.int64)
    np.maximum.at(dearest, problem.opt_applicant, problem.cost)
    return int(dearest.sum()) + 1


def solve_optimal(problem: Problem) -> Solution:
    """Maximum placements, then least total cost; proved optimal by the flow algorithm, solved
    in the worker process (`FLOWS`), so this process's other threads run meanwhile."""
    started = time.perf_counter()
    chosen = FLOWS.chosen_for(problem)
    if chosen is None:
        return _unsolved(problem, started)
    assignment: IntArray = np.full(problem.n_applicants, -1, np.int64)
    assignment[problem.opt_applicant[chosen]] = chosen
    total = float(problem.cost[chosen].sum())
    return Solution(assignment, "optimal", total, total, time.perf_counter() - started)


def chosen_options(
    tails: IntArray,
    heads: IntArray,
    capacities: IntArray,
    costs: IntArray,
    supplies: IntArray,
    first: int,
    count: int,
) -> IntArray | None:
    """Solve the network (`Network.arrays`) for a maximum flow of least cost: the options (arc
    `first + k` is option `k`) that carry flow, in option order; None unless the solve is
    optimal. Deterministic for one OR-Tools version: among matchings of equal size and cost, the
    arcs' order (the options' lottery order) decides which one."""
    return options_with_flow(_loaded(tails, heads, capacities, costs, supplies), first, count)


def loaded_network(held: list[NetworkArrays]) -> tuple[min_cost_flow.SimpleMinCostFlow, int, int]:
    """The solver loaded with the one network `held` (`Network.arrays`), which it empties: the
    solver keeps its own copy of the arcs, so the arrays can go before the solve (about 450 MB
    at a million applicants); with the option arcs' range."""
    tails, heads, capacities, costs, supplies, first, count = held.pop()
    return _loaded(tails, heads, capacities, costs, supplies), first, count


def options_with_flow(
    smcf: min_cost_flow.SimpleMinCostFlow, first: int, count: int
) -> IntArray | None:
    """`chosen_options` of a loaded network (`loaded_network`)."""
    if smcf.solve_max_flow_with_min_cost() != smcf.OPTIMAL:
        return None
    flows = smcf.flows(np.arange(first, first + count, dtype=np.int64))
    chosen: IntArray = np.flatnonzero(flows > 0).astype(np.int64)
    return chosen


def _loaded(
    tails: IntArray, heads: IntArray, capacities: IntArray, costs: IntArray, supplies: IntArray
) -> min_cost_flow.SimpleMinCostFlow:
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    smcf.set_nodes_supplies(np.arange(supplies.shape[0]), supplies)
    return smcf


class FlowWorker:
    """One `python -m matching.solver.flow_worker` process, started at the first solve and kept
    for the next ones, one solve at a time.

    OR-Tools' `SimpleMinCostFlow` holds the GIL throughout a solve (a million applicants: about a
    minute), so solved here it would stop every other thread of the process: a service's event
    loop, its lease renewals and its acknowledgements' progress beats. Waiting on the worker's
    pipe releases the GIL. A worker that ended or garbled its answer is killed and replaced at
    the next solve; that solve raises SolverUnavailable. It exits when its stdin closes, so it
    never outlives this process (killed included) by more than the solve it is in.
    """

    def __init__(self, command: Sequence[str] | None = None) -> None:
        """`command`: the worker's (tests); by default this Python running flow_worker."""
        self._command = list(command or [sys.executable, "-m", "matching.solver.flow_worker"])
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker now if none runs, without waiting for it: its imports (about a
        second) then overlap the caller's work before the solve (building the market)."""
        with self._lock:
            self._started()

    def chosen(self, net: Network) -> IntArray | None:
        """`chosen_options(*net.arrays())`, computed by the worker."""
        return self._answer([net.arrays()], net.n_options)

    def chosen_for(self, problem: Problem) -> IntArray | None:
        """`chosen(network(problem))`, the network held in this process only until the worker
        has it (at a million applicants 450 MB less while the worker solves)."""
        net = network(problem)
        held, count = [net.arrays()], net.n_options
        del net
        return self._answer(held, count)

    def _answer(self, held: list[NetworkArrays], count: int) -> IntArray | None:
        """The worker's answer to the network `held`, which is emptied once sent (or on any
        error: a traceback must not keep it)."""
        try:
            return self._answered(held, count)
        finally:
            held.clear()

    def _answered(self, held: list[NetworkArrays], count: int) -> IntArray | None:
        with self._lock:
            process = self._started()
            stdin, stdout = process.stdin, process.stdout
            if stdin is None or stdout is None:  # Popen with PIPE always has both
                raise TypeError("the flow worker has no pipes")
            try:
                pickle.dump(held.pop(), stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
                answer = pickle.load(stdout)
            except BaseException as error:  # gone, killed, garbled or interrupted mid-answer
                code = self._kill()  # a later solve must never read this one's answer
                if not isinstance(error, Exception):
                    raise
                raise SolverUnavailable(
                    f"the min-cost-flow worker ended without an answer (exit code {code})"
                ) from error
            if answer is None or _options_of(answer, count):
                result: IntArray | None = answer
                return result
            self._kill()
        raise SolverUnavailable("the min-cost-flow worker answered something else")

    def close(self) -> None:
        """End the worker (the next solve starts another)."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
                if process.poll() is None:
                    process.kill()
                    process.wait()

    def _started(self) -> "subprocess.Popen[bytes]":
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._process

    def _kill(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        return process.wait()


def _options_of(answer: object, count: int) -> bool:
    """Whether `answer` can be a solve's chosen options: distinct option indices below `count`,
    ascending, as int64."""
    if not (isinstance(answer, np.ndarray) and answer.dtype == np.int64 and answer.ndim == 1):
        return False
    if answer.shape[0] == 0:
        return True
    return bool(answer[0] >= 0 and answer[-1] < count and np.all(answer[1:] > answer[:-1]))


FLOWS = FlowWorker()
"""The process's flow worker (closed at exit)."""
atexit.register(FLOWS.close)


def _unsolved(problem: Problem, started: float) -> Solution:
    empty: IntArray = np.full(problem.n_applicants, -1, np.int64)
    return Solution(empty, "infeasible", 0.0, 0.0, time.perf_counter() - started)
