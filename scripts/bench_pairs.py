"""Admissible pairs of a market where nobody states a list; prints figures (not a test).

The reproduction of issue 11 item 4: applicants abroad without preference lists and vacancies
without lists, all on the online course B, as an event file of about 2.7 MB. Each figure is
measured in its own subprocess so peak memories (ru_maxrss) never mix:

- `market`: `matching.build_market` on the file's payloads: admissible pairs, peak, seconds;
- `offline`: the file through `run_offline` (the intake's own path, SQLite in memory) with a
  round: the round's outcome, peak, seconds;
- `scale`: the same kind of market at 20,000 x 5,000 (`--scale`): pairs, fit-score
  evaluations, seconds of `find_admissible`;
- `round` and `mcf` (`--national`): the same kind of market at 100,000 x 20,000 (issue 17's
  market where nobody states a list), snapshot -> result of an `optimal` round against a bare
  min-cost-flow solve of the same arcs, with `[ranking] max_options` set by `--max-options`
  (at the shipped 200 it has 20,000,000 pairs, past the shipped `max_pairs`: the round fails).

    uv run python scripts/bench_pairs.py              # 3,000 x 1,670 (about 2.7 MB)
    uv run python scripts/bench_pairs.py --scale      # also 20,000 x 5,000
    uv run python scripts/bench_pairs.py --national   # also 100,000 x 20,000, max_options 20
"""

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts import Kind, RoundRequested, make_event, to_json_bytes  # noqa: E402

SKILLS = ("python", "java", "excel", "cad", "marketing", "sales", "translation", "web design")
T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)


def applicant(n: int, rng: random.Random) -> dict[str, Any]:
    return {
        "applicant_id": f"A-{n:06d}", "version": 1, "program_year": 2023,
        "given_name": "Bench", "family_name": "Mark", "date_of_birth": "2000-04-17",
        "nationality": "PK", "residence": {"country": "PK"},
        "languages": [{"language": "en", "test": "CEFR", "score": rng.choice(("B2", "C1", "C2"))}],
        "education": {"status": "enrolled"}, "courses": ["B"],
        "skills": rng.sample(SKILLS, rng.randint(0, 3)),
    }  # fmt: skip


def vacancy(n: int, rng: random.Random) -> dict[str, Any]:
    return {
        "vacancy_id": f"V-{n:05d}", "version": 1, "program_year": 2023, "title": "Assistant",
        "company": {"company_id": f"C-{n:05d}", "name": "Bench K.K.", "industry": "software",
                    "capital_jpy": 50_000_000, "employees": 42, "legal_form": "company",
                    "head_office_country": "JP"},
        "location": {"prefecture": "Tokyo"}, "slots": [{"course": "B", "capacity": 1}],
        "requirements": {"english_min": rng.choice(("B2", "B2", None)),
                         "skills": rng.sample(SKILLS, rng.randint(0, 2))},
    }  # fmt: skip


def write_events(path: Path, n: int, v: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    lines = []
    from contracts import ApplicantRegistered, VacancyPosted

    kinds = [
        (Kind.VACANCY_POSTED, vacancy, VacancyPosted, "/sme", v),
        (Kind.APPLICANT_REGISTERED, applicant, ApplicantRegistered, "/applicant-portal", n),
    ]
    for kind, make, model, source, count in kinds:
        for k in range(count):
            data = model.model_validate(make(k, rng), strict=False)
            time = T0 + dt.timedelta(seconds=len(lines))
            event = make_event(kind, f"e-{len(lines)}", data, time, source, None)
            lines.append(to_json_bytes(event))
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _payloads(path: Path) -> tuple[list[Any], list[Any]]:
    from contracts import ApplicantRegistered, VacancyPosted

    applicants, vacancies = [], []
    for line in path.read_bytes().splitlines():
        event = json.loads(line)
        if event["type"].endswith("applicant.registered.v1"):
            applicants.append(ApplicantRegistered.model_validate(event["data"], strict=False))
        else:
            vacancies.append(VacancyPosted.model_validate(event["data"], strict=False))
    return applicants, vacancies


def measure_market(path: Path) -> dict[str, Any]:
    from matching import Snapshot, build_market, load_ruleset

    applicants, vacancies = _payloads(path)
    snap = Snapshot("R-bench", 2023, "summer", "optimal", load_ruleset(), tuple(applicants),
                    tuple(vacancies))  # fmt: skip
    started = time.perf_counter()
    try:
        market = build_market(snap)
        outcome = f"{market.ranked.admissible.pair_app.shape[0]:,} pairs"
    except Exception as error:  # noqa: BLE001 - the figure reports what the round said
        outcome = f"{type(error).__name__}: {error}"
    return {"outcome": outcome, "seconds": time.perf_counter() - started}


def measure_offline(path: Path) -> dict[str, Any]:
    from matching import load_ruleset
    from services.ops.offline import run_offline

    ruleset = load_ruleset()
    request = RoundRequested(round_id="R-bench", program_year=2023, period="summer")
    started = time.perf_counter()
    bodies = run_offline(path.read_bytes().splitlines(), lambda year: ruleset, request,
                         clock=lambda: T0)  # fmt: skip
    last = json.loads(bodies[-1])
    outcome = last["type"].split(".")[-2] + ": " + json.dumps(last["data"])[:160]
    return {"outcome": outcome, "seconds": time.perf_counter() - started}


def measure_scale(n: int, v: int) -> dict[str, Any]:
    from contracts import ApplicantRegistered, VacancyPosted
    from matching import load_ruleset
    from matching.admissible import find_admissible, to_seats

    rng = random.Random(1)
    apps = [ApplicantRegistered.model_validate(applicant(k, rng), strict=False) for k in range(n)]
    vacs = [VacancyPosted.model_validate(vacancy(k, rng), strict=False) for k in range(v)]
    ruleset = load_ruleset()
    seats = to_seats(vacs, {(x.vacancy_id, "B"): 1 for x in vacs}, ("B",), "bench:")
    started = time.perf_counter()
    adm = find_admissible(apps, seats, ruleset, "summer", "bench:")
    seconds = time.perf_counter() - started
    evaluations = getattr(adm, "fit_evaluations", None)
    return {"outcome": f"{adm.pair_app.shape[0]:,} pairs, {evaluations} fit-score evaluations",
            "seconds": seconds}  # fmt: skip


def national_snapshot(n: int, v: int, max_options: int) -> Any:
    """The market of `measure_scale` as a round's snapshot, as a service loads it (rows)."""
    import dataclasses

    from matching import Snapshot, load_ruleset
    from matching.rows import applicant_rows, vacancy_rows

    rng = random.Random(1)
    apps = applicant_rows([json.dumps(applicant(k, rng)) for k in range(n)])
    vacs = vacancy_rows([json.dumps(vacancy(k, rng)) for k in range(v)])
    ruleset = dataclasses.replace(load_ruleset(), max_options=max_options)
    return Snapshot("R-bench", 2023, "summer", "optimal", ruleset, apps, vacs)


def measure_national(kind: str, n: int, v: int, max_options: int) -> dict[str, Any]:
    """`round`: snapshot -> result (the collector paused, as the service runs a round);
    `mcf`: a bare min-cost flow on the round's own arcs (one with a priced bypass arc, as rounds
    solved it until 2026-12-08); `maxflow`: the maximum flow of least cost a round solves now."""
    from matching.round import build_market, run_round
    from services.collector import collector_paused

    snap = national_snapshot(n, v, max_options)
    if kind == "round":
        started = time.perf_counter()
        with collector_paused():
            result = run_round(snap)
        seconds = time.perf_counter() - started
        return {"outcome": f"{result.status}, {len(result.placements):,} placed",
                "seconds": seconds}  # fmt: skip
    from matching.solver.flow import network

    problem = build_market(snap).ranked.problem
    started = time.perf_counter()
    if kind == "mcf":
        solver = network(problem).to_solver()
        status = solver.solve()
    else:
        solver = network(problem).to_max_flow_solver()
        status = solver.solve_max_flow_with_min_cost()
    seconds = time.perf_counter() - started
    return {"outcome": f"{status.name.lower()}, {problem.n_options:,} options",
            "seconds": seconds}  # fmt: skip


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=3000)
    parser.add_argument("--vacancies", type=int, default=1670)
    parser.add_argument("--scale", action="store_true", help="also 20,000 x 5,000")
    parser.add_argument("--national", action="store_true", help="also 100,000 x 20,000")
    parser.add_argument("--max-options", type=int, default=20, help="with --national")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "scale":
            figures = measure_scale(int(rest[0]), int(rest[1]))
        elif kind in ("round", "mcf", "maxflow"):
            figures = measure_national(kind, *(int(x) for x in rest))
        else:
            figures = (measure_market if kind == "market" else measure_offline)(Path(rest[0]))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures | {"peak_mb": round(peak_mb)}))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        write_events(path, args.applicants, args.vacancies)
        size = path.stat().st_size / 1e6
        print(f"{args.applicants:,} applicants x {args.vacancies:,} vacancies, no lists, "
              f"online course B: {size:.1f} MB of events")  # fmt: skip
        for kind in ("market", "offline"):
            f = _child([kind, str(path)])
            print(f"{kind:8} {f['seconds']:7.1f} s {f['peak_mb']:6,} MB  {f['outcome']}")
    if args.scale:
        f = _child(["scale", "20000", "5000"])
        figures = f"{f['seconds']:7.1f} s {f['peak_mb']:6,} MB"
        print(f"scale    {figures}  20,000 x 5,000: {f['outcome']}")
    if args.national:
        sizes = ["100000", "20000", str(args.max_options)]
        bare, flow = _child(["mcf", *sizes]), _child(["maxflow", *sizes])
        whole = _child(["round", *sizes])
        for kind, f in (("mcf", bare), ("maxflow", flow), ("round", whole)):
            print(f"{kind:8} {f['seconds']:7.1f} s {f['peak_mb']:6,} MB  100,000 x 20,000, "
                  f"max_options {args.max_options}: {f['outcome']}")  # fmt: skip
        print(f"snapshot -> result / bare min-cost flow: {whole['seconds'] / bare['seconds']:.2f}x;"
              f" / the bare maximum flow of least cost it solves: "
              f"{whole['seconds'] / flow['seconds']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
