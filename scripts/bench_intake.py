"""Measure intake processing alone (no broker): 20,000 generated applicant events in batches of
500 into the PostgreSQL (or SQLite) database named by --database-url, with the garbage collector
tuned as the service tunes it; prints events/s and the CPU per event. Run from the project
root: `uv run python -m scripts.bench_intake --database-url postgresql+psycopg://...`.
"""

import argparse
import datetime as dt
import time
import uuid

from contracts import ApplicantRegistered, Kind, make_event, to_json_bytes
from matching import load_ruleset
from services.collector import tune_gc
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate

T0 = dt.datetime(2023, 3, 1, tzinfo=dt.UTC)


def generate(count: int, run: str) -> list[bytes]:
    """Applicant registrations; every fifth one updates an earlier applicant to version 2."""
    bodies = []
    for i in range(count):
        n, version = (i - 4, 2) if i % 5 == 4 else (i, 1)
        data = ApplicantRegistered(
            applicant_id=f"A-{run}-{n:06d}",
            version=version,
            program_year=2023,
            given_name="Bench",
            family_name="Mark",
            date_of_birth=dt.date(2000, 1, 1) + dt.timedelta(days=i % 3000),
            nationality="PK",
            residence={"country": "PK", "lat": 24.86, "lon": 67.01},
            languages=[{"language": "en", "test": "IELTS", "score": "6.5"}],
            education={"status": "enrolled", "institution": "NED University"},
            courses=["B", "C"],
            preferences=[f"V-{(i + k) % 400:04d}" for k in range(3)],
            skills=["python", "data analysis"],
        )
        event = make_event(
            Kind.APPLICANT_REGISTERED, f"{run}-{i}", data, T0, "/bench", f"applicant/{n}"
        )
        bodies.append(to_json_bytes(event))
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    migrate(engine)
    bodies = generate(args.events, uuid.uuid4().hex[:8])
    ruleset = load_ruleset()
    intake = Intake(engine, lambda _: ruleset, lambda: dt.datetime.now(dt.UTC))
    tune_gc()
    started, cpu = time.perf_counter(), time.thread_time()
    accepted = 0
    for start in range(0, len(bodies), args.batch):
        batch = [
            Inbound("jip.applicant.registered", b, start + k)
            for k, b in enumerate(bodies[start : start + args.batch])
        ]
        accepted += intake.process(batch).accepted
    seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
    rate = len(bodies) / seconds
    print(f"{len(bodies)} events ({accepted} accepted) in {seconds:.2f} s: {rate:,.0f} events/s, "
          f"{cpu / len(bodies) * 1e6:.0f} µs CPU per event in this process")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
