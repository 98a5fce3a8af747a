"""National-scale benchmark of the three round modes; prints a table (not a test).

Each figure is measured in its own subprocess so peak memories (ru_maxrss) never mix. Compares
`optimal` with a bare SimpleMinCostFlow solve of the same arcs and `stable` with the `matching`
library's HospitalResident; with matching.round present, also times snapshot -> result.

    uv run python scripts/bench_matching.py            # 100,000 x 20,000
    uv run python scripts/bench_matching.py --quick    # smoke run
    uv run python scripts/bench_matching.py --stretch  # 1,000,000 x 100,000
"""

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.problem import Limits, Problem  # noqa: E402
from matching.solver import solve  # noqa: E402
from scripts.bench_market import PREFS, Market, hospital_resident_lists, snapshot_of  # noqa: E402


def _seats(problem: Problem, assignment: np.ndarray) -> list[int]:
    return [int(problem.opt_seat[o]) if o >= 0 else -1 for o in assignment.tolist()]


def _measure_problem(kind: str, n: int, v: int, limits: Limits) -> dict:
    """Problem-level figures for one kind: `optimal`, `stable`, `stable-optimal`, `mcf` (the
    floor: one min-cost flow with a priced bypass arc, as rounds solved it until 2026-12-08) or
    `maxflow` (the same arcs without the bypass, solved as rounds solve them now: a maximum flow
    of least cost)."""
    problem = Market(n, v).to_problem()
    info = {"options": problem.n_options}
    if kind in ("mcf", "maxflow"):
        from matching.solver.flow import network

        net = network(problem)
        started = time.perf_counter()
        if kind == "mcf":
            smcf = net.to_solver()
            status = smcf.solve()
        else:
            smcf = net.to_max_flow_solver()
            status = smcf.solve_max_flow_with_min_cost()
        seconds = time.perf_counter() - started
        first = net.first_option
        placed = int(smcf.flows(np.arange(first, first + problem.n_options)).sum())
        return info | {"seconds": seconds, "status": status.name.lower(), "placed": placed}
    started = time.perf_counter()
    result = solve(problem, kind, limits)
    seconds = time.perf_counter() - started
    return info | {
        "seconds": seconds,
        "status": result.status,
        "placed": int((result.assignment >= 0).sum()),
        "objective": result.objective,
        "bound": result.bound,
    }


def _measure_oracle(n: int, v: int) -> dict:
    """HospitalResident (build + solve, in a big-stack thread) against `stable`, same market."""
    from tests.support.hr_oracle import load_hospital_resident

    market = Market(n, v)
    problem = market.to_problem()
    started = time.perf_counter()
    ours = _seats(problem, solve(problem, "stable").assignment)
    stable_seconds = time.perf_counter() - started
    lists = hospital_resident_lists(market, problem)
    hr_class, out = load_hospital_resident(), {}

    def run() -> None:
        t0 = time.perf_counter()
        game = hr_class.create_from_dictionaries(*lists)
        t1 = time.perf_counter()
        matched = game.solve(optimal="resident")
        out.update(build=t1 - t0, solve=time.perf_counter() - t1, matched=matched)

    sys.setrecursionlimit(1_000_000)  # the library deep-copies long linked player structures
    threading.stack_size(1 << 29)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    theirs = [-1] * n
    for hospital, residents in out["matched"].items():
        for resident in residents:
            theirs[resident.name] = hospital.name
    return {
        "seconds": stable_seconds,
        "hr_build": out["build"],
        "hr_solve": out["solve"],
        "identical": ours == theirs,
        "placed": sum(s >= 0 for s in ours),
    }


def _measure_round(mode: str, n: int, v: int, limits: Limits) -> dict:
    """Snapshot -> RoundResult through matching.round.run_round, model building included; the
    snapshot as a service loads it (lean rows, matching.rows), the round run as the service runs
    it: with the garbage collector paused (services.collector; its passes over a round's
    objects cost 0.3-0.4 s at 100,000 applicants)."""
    from matching.round import run_round
    from services.collector import collector_paused

    snap = snapshot_of(Market(n, v), mode, rows=True)
    with _TreeMemory() as memory:
        started = time.perf_counter()
        with collector_paused():
            result = run_round(snap, limits)
        seconds = time.perf_counter() - started
    return {
        "together_peak_mib": memory.peak_mib,
        "children_seen": memory.children_seen,
        "seconds": seconds,
        "status": result.status,
        "placed": len(result.placements),
        "objective": result.objective,
        "bound": result.bound,
        "eligible": result.eligible,
    }


class _TreeMemory:
    """The peak of this process's resident memory plus its children's (the flow worker's) at
    the same moment, sampled every 20 ms while in the `with` block (Linux /proc): the children
    by their anonymous pages only (`RssAnon`), since the libraries they map are this process's
    too. A peak shorter than 20 ms can be missed; `children_seen` says whether any child was
    sampled at all (an `optimal` round without one would be measured wrong)."""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self.children_seen = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "_TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        page_mib = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._done.wait(0.02):
            children = _children(os.getpid())
            self.children_seen = self.children_seen or bool(children)
            mib = _resident_pages(os.getpid()) * page_mib + sum(map(_anonymous_mib, children))
            self.peak_mib = max(self.peak_mib, mib)


def _anonymous_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, IndexError, ValueError):  # ended meanwhile
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _resident_pages(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):  # ended meanwhile
        return 0


def worker_main(args: argparse.Namespace) -> None:
    """Run one measurement in this process and print it as JSON with the peak RSS."""
    limits = Limits(time_limit_seconds=args.time_limit, workers=args.workers)
    kind = args.worker
    if kind == "hr":
        figures = _measure_oracle(args.applicants, args.vacancies)
    elif kind.startswith("round:"):
        figures = _measure_round(kind.split(":", 1)[1], args.applicants, args.vacancies, limits)
    else:
        figures = _measure_problem(kind, args.applicants, args.vacancies, limits)
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kind.startswith("round:"):  # `optimal` solves in a worker process: its peak apart
        from matching.solver.flow import FLOWS

        FLOWS.close()
        figures["worker_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(figures))


def _spawn(kind: str, n: int, v: int, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--applicants",
        str(n),
        "--vacancies",
        str(v),
        "--time-limit",
        str(args.time_limit),
        "--workers",
        str(args.workers),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"seconds": float("nan"), "status": "error: " + done.stderr.strip()[-200:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(label: str, f: dict) -> str:
    cells = [
        label,
        f"{f.get('seconds', float('nan')):9.2f}",
        f"{f.get('peak_mib', 0):8.0f}",
        str(f.get("status", "")),
        str(f.get("placed", "")),
        str(f.get("objective", "")),
        str(f.get("bound", "")),
    ]
    return "{:<24} {:>9} {:>8}  {:<10} {:>8} {:>12} {:>12}".format(*cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=100_000)
    parser.add_argument("--vacancies", type=int, default=20_000)
    parser.add_argument("--hr-applicants", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--stretch", action="store_true", help="1,000,000 x 100,000")
    parser.add_argument("--no-rounds", action="store_true", help="skip snapshot-level timings")
    parser.add_argument(
        "--only", help="comma-separated measures, e.g. mcf,round:optimal,round:stable (no oracle)"
    )
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    if args.quick:
        args.applicants, args.vacancies, args.hr_applicants = 5_000, 1_000, 1_000
    if args.stretch:
        args.applicants, args.vacancies = 1_000_000, 100_000
    n, v = args.applicants, args.vacancies
    print(
        f"market: {n:,} applicants x {v:,} vacancies, ~{PREFS} preferences each; "
        f"time limit {args.time_limit:g} s, workers {args.workers}"
    )
    print(
        "{:<24} {:>9} {:>8}  {:<10} {:>8} {:>12} {:>12}".format(
            "measure", "seconds", "peak MiB", "status", "placed", "objective", "bound"
        )
    )
    kinds = ["mcf", "maxflow", "optimal", "stable", "stable-optimal"]
    if not args.no_rounds:
        kinds += ["round:optimal", "round:stable", "round:stable-optimal"]
    if args.only:
        kinds = [k for k in args.only.split(",") if k]
    figures = {}
    for kind in kinds:
        figures[kind] = _spawn(kind, n, v, args)
        label = {"mcf": "bare MCF (floor)", "maxflow": "bare max-flow-min-cost"}.get(kind, kind)
        print(_row(label, figures[kind]), flush=True)
        if kind == "round:optimal" and not figures[kind].get("children_seen", True):
            print("  warning: no flow worker was seen; its memory is not in the figures")
        if figures[kind].get("worker_peak_mib"):
            print(f"  its flow worker process: peak {figures[kind]['worker_peak_mib']:,.0f} MiB;"
                  f" both processes at once: peak {figures[kind]['together_peak_mib']:,.0f} MiB"
                  )  # fmt: skip
    floor = figures.get("mcf", {}).get("seconds", float("nan"))
    for kind in ("optimal", "round:optimal", "stable", "round:stable"):
        if kind in figures:
            print(f"{kind} / bare MCF: {figures[kind]['seconds'] / floor:.2f}x")
    if "maxflow" in figures and "round:optimal" in figures:
        same = figures["round:optimal"]["seconds"] / figures["maxflow"]["seconds"]
        print(f"round:optimal / bare max-flow-min-cost (the solve it runs): {same:.2f}x")
    if args.only:
        return None
    hr_n = args.hr_applicants
    hr = _spawn("hr", hr_n, max(hr_n // 5, 1), args)
    print(_row(f"stable @ {hr_n:,}", hr))
    hr_total = hr.get("hr_build", float("nan")) + hr.get("hr_solve", float("nan"))
    print(
        _row(
            f"HospitalResident @ {hr_n:,}",
            {"seconds": hr_total, "placed": hr.get("placed"), "peak_mib": hr.get("peak_mib")},
        )
    )
    print(
        f"HospitalResident build {hr.get('hr_build', 0):.2f} s + solve "
        f"{hr.get('hr_solve', 0):.2f} s; stable speed-up: {hr_total / hr['seconds']:.0f}x "
        f"(solve only: {hr.get('hr_solve', 0) / hr['seconds']:.0f}x); "
        f"identical matching: {hr.get('identical')}"
    )


if __name__ == "__main__":
    main()
