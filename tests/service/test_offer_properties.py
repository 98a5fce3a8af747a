"""Property: whatever small program year with answers, withdrawals, closures, capacity cuts and
several rounds goes through the intake (real rounds, SQLite), the offers keep lifecycle.md's
invariants and the solver-free validator accepts every round."""

import datetime as dt
import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from matching import audit_round, load_ruleset, run_round
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from services.store.tables import PlacementRow, RoundRow, VacancyRow
from tests.support.inbound_events import (
    RECEIVED,
    YEAR,
    closed,
    posted,
    registered,
    responded,
    round_requested,
    withdrawn,
)

RULESET = load_ruleset()
START = dt.datetime(2023, 3, 1, tzinfo=dt.UTC)
LIVE = ("proposed", "confirmed")


class Year:
    """One generated year: the intake, what it was sent, and the rounds' audit findings."""

    def __init__(self) -> None:
        self.engine = make_engine("sqlite:///:memory:")
        migrate(self.engine)
        self.violations: list[str] = []
        self.intake = Intake(self.engine, self._ruleset, lambda: RECEIVED, self._audited)
        self.now = START
        self.versions: Counter[str] = Counter()
        self.rounds = 0
        self.batch: list[bytes] = []
        self.serial = 0

    @staticmethod
    def _ruleset(year: int):  # type: ignore[no-untyped-def]
        return RULESET if year == YEAR else None

    def _audited(self, snapshot):  # type: ignore[no-untyped-def]
        result = run_round(snapshot)
        self.violations += audit_round(snapshot, result)
        return result

    def send(self, body: bytes, flush: bool) -> None:
        self.batch.append(body)
        if flush:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.intake.process([Inbound(None, b) for b in self.batch])
            self.batch = []

    def placement_ids(self, live: bool) -> list[str]:
        self.flush()
        query = select(PlacementRow.round_id, PlacementRow.applicant_id)
        if live:
            query = query.where(PlacementRow.state.in_(LIVE))
        with self.engine.connect() as c:
            rows = c.execute(query).all()
        return sorted(f"{r}/{a}" for r, a in rows)

    def next_id(self) -> str:
        self.serial += 1
        return f"e-{self.serial}"


APPLICANTS = [f"A-{n}" for n in range(1, 9)]
VACANCIES = [f"V-{n}" for n in range(1, 4)]


def step(year: Year, data: st.DataObject) -> None:
    year.now += dt.timedelta(hours=data.draw(st.integers(0, 72)))
    flush = data.draw(st.booleans())
    kind = data.draw(
        st.sampled_from(
            ["register", "withdraw", "post", "close", "answer", "answer", "answer", "round"]
        )
    )
    at = year.now
    if kind == "register":
        a = data.draw(st.sampled_from(APPLICANTS))
        year.versions[a] += 1
        year.send(registered(a, version=year.versions[a], event_id=year.next_id()), flush)
    elif kind == "withdraw":
        a = data.draw(st.sampled_from(APPLICANTS))
        year.versions[a] += 1
        year.send(withdrawn(a, year.versions[a], event_id=year.next_id(), at=at), flush)
    elif kind == "post":
        v = data.draw(st.sampled_from(VACANCIES))
        year.versions[v] += 1
        capacity = data.draw(st.integers(0, 3))
        year.send(posted(v, version=year.versions[v], capacity=capacity, at=at), flush)
    elif kind == "close":
        v = data.draw(st.sampled_from(VACANCIES))
        year.versions[v] += 1
        year.send(closed(v, year.versions[v], at=at), flush)
    elif kind == "answer":
        known = year.placement_ids(live=data.draw(st.integers(0, 4)) > 0)
        pid = data.draw(st.sampled_from(known)) if known else "R-0/A-1"
        party = data.draw(st.sampled_from(["host", "applicant"]))
        decision = data.draw(st.sampled_from(["accepted", "accepted", "declined"]))
        year.send(responded(pid, party, decision, event_id=year.next_id(), at=at), flush)
    else:
        year.rounds += 1
        dry = data.draw(st.booleans()) and data.draw(st.booleans())
        body = round_requested(f"R-{year.rounds}", event_id=year.next_id(), at=at, dry_run=dry)
        year.send(body, flush)


def check(engine: Engine) -> None:
    with engine.connect() as c:
        rows = c.execute(select(PlacementRow)).all()
        order = dict(c.execute(select(RoundRow.round_id, RoundRow.ordinal)).all())
        vacancies = {v.vacancy_id: v for v in c.execute(select(VacancyRow)).all()}
    for r in rows:
        assert r.state in ("proposed", "confirmed", "released")
        assert (r.state == "released") == (r.released_reason is not None)
    live = [r for r in rows if r.state in LIVE]
    holders = Counter(r.applicant_id for r in live)
    assert all(n == 1 for n in holders.values()), holders
    seats = Counter((r.vacancy_id, r.course) for r in live)
    confirmed = Counter((r.vacancy_id, r.course) for r in live if r.state == "confirmed")
    for (vacancy_id, course), held in seats.items():
        v = vacancies[vacancy_id]
        assert not v.closed, f"{vacancy_id} is closed and holds {held}"
        payload = v.payload if isinstance(v.payload, dict) else json.loads(v.payload)
        capacity = sum(s["capacity"] for s in payload["slots"] if s["course"] == course)
        assert held <= max(capacity, confirmed[(vacancy_id, course)]), (vacancy_id, course)
    declined = {
        (r.applicant_id, r.vacancy_id): order[r.round_id]
        for r in rows
        if (r.released_reason or "").startswith("declined_by_")
    }
    for r in rows:
        barred_since = declined.get((r.applicant_id, r.vacancy_id))
        assert barred_since is None or order[r.round_id] <= barred_since, r


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_any_year_of_answers_and_changes_keeps_the_offers_invariants(data) -> None:
    year = Year()
    try:
        for a in APPLICANTS[: data.draw(st.integers(3, len(APPLICANTS)))]:
            year.versions[a] += 1
            year.send(registered(a, event_id=year.next_id()), flush=False)
        for v in VACANCIES:
            year.versions[v] += 1
            year.send(posted(v, capacity=data.draw(st.integers(1, 3)), at=START), flush=False)
        for _ in range(data.draw(st.integers(5, 40))):
            step(year, data)
            if data.draw(st.integers(0, 4)) == 0:
                year.flush()
                check(year.engine)
        year.flush()
        check(year.engine)
        assert year.violations == [], year.violations[:5]
    finally:
        year.engine.dispose()
