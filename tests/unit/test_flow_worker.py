"""`optimal` rounds solve their min-cost flow in a worker process (matching.solver.flow): OR-Tools
holds the GIL for a whole solve, which at national scale stopped the service's event loop long
enough to lose its lease (scripts.bench_national, 2026-12-06). The worker must answer what an
in-process solve answers, let this process's threads run meanwhile, and fail clearly (and
recover) when it is killed."""

import threading
import time

import numpy as np
import pytest

from matching import SolverUnavailable
from matching.solver.flow import FlowWorker, chosen_options, network
from scripts.bench_market import Market


@pytest.fixture
def worker():
    flows = FlowWorker()
    yield flows
    flows.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_worker_answers_what_an_in_process_solve_answers(worker, seed):
    net = network(Market(600, 120, seed=seed).to_problem())
    got = worker.chosen(net)
    assert got is not None and got.dtype == np.int64 and got.shape[0] > 0
    np.testing.assert_array_equal(got, chosen_options(*net.arrays()))


def test_other_threads_run_while_the_worker_solves(worker):
    net = network(Market(20_000, 4_000).to_problem())
    worker.chosen(network(Market(50, 10).to_problem()))  # the worker is up: time the solve only
    gaps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            time.sleep(0.005)
            gaps.append(time.perf_counter() - started)

    ticker = threading.Thread(target=tick)
    ticker.start()
    started = time.perf_counter()
    worker.chosen(net)
    seconds = time.perf_counter() - started
    done.set()
    ticker.join()
    bare = time.perf_counter()
    net.to_solver().solve()
    bare = time.perf_counter() - bare
    assert bare > 0.1  # a solve that would hold the GIL long enough to see
    assert max(gaps) < max(0.05, seconds / 4), (max(gaps), seconds)  # in-process: gap = solve


def test_a_killed_worker_fails_the_solve_clearly_and_the_next_solve_gets_a_new_one(worker):
    small = network(Market(300, 60).to_problem())
    worker.chosen(small)
    first = worker._process
    errors: list[BaseException] = []

    big = network(Market(60_000, 12_000).to_problem())  # solved in about 3 s here

    def solve() -> None:
        try:
            worker.chosen(big)
        except BaseException as error:
            errors.append(error)

    solving = threading.Thread(target=solve)
    solving.start()
    time.sleep(0.3)  # sent and being solved
    first.kill()
    solving.join(timeout=60)
    assert len(errors) == 1 and isinstance(errors[0], SolverUnavailable)
    assert "exit code -9" in str(errors[0])
    np.testing.assert_array_equal(worker.chosen(small), chosen_options(*small.arrays()))
    assert worker._process is not first and worker._process.poll() is None


def test_closing_ends_the_worker(worker):
    worker.chosen(network(Market(50, 10).to_problem()))
    process = worker._process
    worker.close()
    assert process.poll() == 0
