"""`optimal` rounds solve their min-cost flow in a worker process (matching.solver.flow): OR-Tools
holds the GIL for a whole solve, which at national scale stopped the service's event loop long
enough to lose its lease (scripts.bench_national, 2026-12-06). The worker must answer what an
in-process solve answers, let this process's threads run meanwhile, and fail clearly (and
recover) when it is killed."""

import pickle
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


ANSWERS = st.one_of(
    st.integers(),
    st.text(max_size=20),
    st.lists(st.integers(-5, 50), max_size=8),
    st.builds(
        np.array,
        st.lists(st.integers(0, 2**31 - 1), max_size=8),
        st.sampled_from([np.int64, np.int32, np.float64, np.uint64]),
    ),
    st.builds(lambda v: np.array(v, dtype=np.int64).reshape(-1, 1), st.lists(st.integers(0, 9))),
    st.builds(lambda v: np.array(v, dtype=np.int64), st.lists(st.integers(-3, 60), max_size=6)),
)
"""What a worker could send back besides a well-formed answer."""


def fake_worker(reply: bytes) -> FlowWorker:
    """A worker that reads one request, answers `reply` (raw bytes) and ends, as a worker that
    garbles its answer and dies would (a live one that stops mid-answer is waited for, like a
    long solve: the real worker writes each answer whole)."""
    script = (
        "import pickle, sys\n"
        "pickle.load(sys.stdin.buffer)\n"
        f"sys.stdout.buffer.write({reply!r}); sys.stdout.buffer.flush()\n"
    )
    return FlowWorker([sys.executable, "-c", script])


def well_formed(answer, count: int) -> bool:
    """A solve's chosen options: int64, one row, distinct, ascending, each below `count`."""
    if not (isinstance(answer, np.ndarray) and answer.dtype == np.int64 and answer.ndim == 1):
        return False
    values = answer.tolist()
    return values == sorted(set(values)) and all(0 <= v < count for v in values)


@settings(max_examples=40, deadline=None)
@given(ANSWERS | st.binary(max_size=40).map(lambda raw: ("raw", raw)))
def test_whatever_a_worker_answers_is_taken_only_when_well_formed(answer):
    """Anything but a well-formed answer ends in SolverUnavailable (never another error, never a
    wrong placement), the worker is replaced, and nothing is left for the next solve to read."""
    net = network(Market(30, 6).to_problem())
    raw = answer[1] if isinstance(answer, tuple) else pickle.dumps(answer)
    worker = fake_worker(raw)
    try:
        if not isinstance(answer, tuple) and well_formed(answer, net.n_options):
            np.testing.assert_array_equal(worker.chosen(net), answer)
        else:
            with pytest.raises(SolverUnavailable):
                worker.chosen(net)
            assert worker._process is None
    finally:
        worker.close()


def test_a_round_starts_the_worker_before_its_market_is_built(monkeypatch):
    """`run_round` starts the worker first (`solver.prepare`), so its start (about a second of
    imports) overlaps the market's building instead of adding to the solve; the solve then uses
    that same process."""
    import matching.round
    import matching.solver
    import matching.solver.flow
    from scripts.bench_market import snapshot_of

    flows = FlowWorker()
    monkeypatch.setattr(matching.solver, "FLOWS", flows)
    monkeypatch.setattr(matching.solver.flow, "FLOWS", flows)
    seen: list[int | None] = []
    build = matching.round.build_market

    def build_seeing_the_worker(snapshot):  # type: ignore[no-untyped-def]
        seen.append(None if flows._process is None else flows._process.pid)
        return build(snapshot)

    monkeypatch.setattr(matching.round, "build_market", build_seeing_the_worker)
    try:
        result = matching.round.run_round(snapshot_of(Market(300, 60), "optimal", rows=True))
        assert result.status == "optimal" and result.placements
        assert seen[0] is not None and flows._process is not None
        assert flows._process.pid == seen[0]  # the solve used the process started early
    finally:
        flows.close()
