"""Loading a round's snapshot at national scale (issue 17): the service's `load_snapshot` (lean
rows, matching.rows) against the contract models it parsed into before, on the same stored
state: `--applicants` x `--vacancies` of scripts.bench_market (seed 1) written to the tables as
the intake writes them, in a fresh database on `--database-url`. Each reading runs in its own
process with the garbage collector paused, as a round's load does; prints seconds and the
process's peak RSS (the stored state's read included), and the memory the snapshot itself holds.
`uv run python -m scripts.bench_snapshot_load --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

from sqlalchemy import text

from scripts.bench_delivery import fresh_database

ROUND = {"round_id": "bench-load", "program_year": 2023, "period": "summer"}


def fill(database_url: str, applicants: int, vacancies: int) -> None:
    """The tables as the intake leaves them after registering the market (payloads as JSON)."""
    from scripts.bench_market import Market, snapshot_of
    from services.store.db import copy_rows, make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    snap = snapshot_of(Market(applicants, vacancies, seed=1), "optimal")
    columns = ("program_year", "version", "payload", "created_by")
    with engine.begin() as c:
        copy_rows(c, "applicants", ("applicant_id", "withdrawn", *columns),
                  ({"applicant_id": a.applicant_id, "withdrawn": False, "program_year": 2023,
                    "version": 1, "payload": a.model_dump_json(), "created_by": "/bench"}
                   for a in snap.applicants))  # fmt: skip
        copy_rows(c, "vacancies", ("vacancy_id", "closed", *columns),
                  ({"vacancy_id": v.vacancy_id, "closed": False, "program_year": 2023,
                    "version": 1, "payload": v.model_dump_json(), "created_by": "/bench"}
                   for v in snap.vacancies))  # fmt: skip
        c.execute(text("ANALYZE applicants"))
        c.execute(text("ANALYZE vacancies"))
    engine.dispose()


def worker(database_url: str, how: str, traced: bool) -> dict[str, float]:
    """One reading: `rows` through the service's load_snapshot, `models` the same payloads
    parsed into contract models as before (ApplicantRegistered / VacancyPosted)."""
    from contracts import ApplicantRegistered, RoundRequested, VacancyPosted
    from matching import load_ruleset
    from services.collector import collector_paused
    from services.rounds.snapshot import load_snapshot
    from services.store.db import make_engine

    engine = make_engine(database_url)
    request = RoundRequested.model_validate(ROUND)
    if traced:
        tracemalloc.start()
    with collector_paused(), engine.connect() as c:
        started = time.perf_counter()
        if how == "rows":
            snap = load_snapshot(c, request, load_ruleset(), 60.0)
            count = len(snap.applicants) + len(snap.vacancies)
        else:  # the same reads (the round's live placements and declines aside: none here)
            models = []
            for model, table, flag in (
                (ApplicantRegistered, "applicants", "withdrawn"),
                (VacancyPosted, "vacancies", "closed"),
            ):
                query = (
                    f"SELECT payload::text FROM {table} WHERE program_year = 2023 AND NOT {flag}"
                )
                models += [
                    model.model_validate_json(str(p), strict=False)
                    for p in c.execute(text(query)).scalars()
                ]
            count = len(models)
        seconds = time.perf_counter() - started
        held = tracemalloc.get_traced_memory()[0] / 2**20 if traced else 0.0
    return {
        "seconds": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "held_mib": held,
        "payloads": count,
    }


def _spawn(database_url: str, how: str, traced: bool) -> dict[str, float]:
    cmd = [sys.executable, "-m", "scripts.bench_snapshot_load", "--worker", how,
           "--database-url", database_url] + (["--traced"] if traced else [])  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (maintenance db)")
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--vacancies", type=int, default=100_000)
    parser.add_argument("--worker", choices=["rows", "models"], help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.database_url, args.worker, args.traced)))
        return
    with fresh_database(args.database_url) as url:
        started = time.perf_counter()
        fill(url, args.applicants, args.vacancies)
        print(f"{args.applicants:,} applicants x {args.vacancies:,} vacancies stored in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        print("reading                      seconds  peak RSS MiB  snapshot held MiB")
        for how, label in (("rows", "load_snapshot (lean rows)"), ("models", "contract models")):
            timed = _spawn(url, how, traced=False)
            held = _spawn(url, how, traced=True)["held_mib"]  # tracemalloc slows it: apart
            print(f"{label:<28} {timed['seconds']:8.1f} {timed['peak_mib']:13,.0f} {held:18,.0f}")


if __name__ == "__main__":
    main()
