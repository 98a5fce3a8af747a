"""Properties over generated program years: rules kept, everyone accounted for, order-free."""

import datetime as dt
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import MODES, audit_round, run_round
from matching.snapshot import EarlierPlacement
from tests.support.factories import applicant, cert, snapshot, vacancy

PREFECTURES = ("Tokyo", "Osaka")
CERTS = [cert("en", "IELTS", "6.0"), cert("en", "TOEIC", "700"), cert("ja", "JLPT", "N2"),
         cert("ja", "JLPT", "N1"), cert("en", "NATIVE")]  # fmt: skip
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def applicants(draw, n_vacancies: int):
    i = draw(st.integers(0, 999))
    in_japan = draw(st.booleans())
    courses = draw(
        st.lists(st.sampled_from(["A", "B", "C", "B2"]), min_size=1, max_size=3, unique=True)
    )
    residence = (
        {"country": "JP", "prefecture": draw(st.sampled_from(PREFECTURES))}
        if in_japan
        else {"country": draw(st.sampled_from(["PK", "VN"]))}
    )
    prefs = draw(st.lists(st.integers(0, n_vacancies + 1), max_size=3, unique=True))
    return applicant(
        f"A-{i}",
        date_of_birth=dt.date(draw(st.sampled_from([1982, 1983, 1995, 1995, 2003, 2004])), 8, 31),
        nationality=draw(st.sampled_from(["PK", "PK", "PK", "VN", "VN", "CN"])),
        residence=residence,
        languages=draw(st.lists(st.sampled_from(CERTS), min_size=1, max_size=2)),
        courses=courses,
        preferences=[f"V-{j}" for j in prefs] if draw(st.integers(0, 3)) == 0 else [],
        skills=draw(st.lists(st.sampled_from(["python", "sql"]), max_size=2, unique=True)),
    )


@st.composite
def vacancies(draw, j: int, applicant_ids: list[str]):
    slots = [
        {"course": c, "capacity": draw(st.integers(0, 2))}
        for c in draw(
            st.lists(st.sampled_from(["A", "B", "C", "A2"]), min_size=1, max_size=3, unique=True)
        )
    ]
    listed = draw(st.lists(st.sampled_from(applicant_ids), unique=True)) if applicant_ids else []
    return vacancy(
        f"V-{j}",  # about a quarter of the hosts are too big to qualify
        location={"prefecture": draw(st.sampled_from(PREFECTURES))},
        slots=slots,
        accommodation=draw(st.booleans()),
        requirements={
            "japanese_min": draw(st.sampled_from([None, "N2"])),
            "english_min": draw(st.sampled_from([None, "B2"])),
            "language_rule": draw(st.sampled_from(["any", "all"])),
            "skills": draw(st.lists(st.sampled_from(["python", "sql"]), max_size=1)),
        },
        preferences=listed if draw(st.integers(0, 3)) == 0 else [],
        company={
            **vacancy().company.model_dump(),
            "employees": draw(st.sampled_from([10, 10, 10, 5000])),
        },
    )


@st.composite
def program_years(draw):
    n_vac = draw(st.integers(0, 6))
    people = draw(
        st.lists(applicants(n_vac), min_size=1, max_size=14, unique_by=lambda a: a.applicant_id)
    )
    ids = [a.applicant_id for a in people]
    jobs = [draw(vacancies(j, ids)) for j in range(n_vac)]
    earlier = ()
    if people and jobs and draw(st.booleans()):
        earlier = (EarlierPlacement("r0", people[0].applicant_id, jobs[0].vacancy_id, "B"),)
    mode = draw(st.sampled_from(MODES))
    return snapshot(people, jobs, mode=mode, earlier=earlier)


@FAST
@given(program_years())
def test_every_round_keeps_the_rules_and_accounts_for_every_applicant_once(snap):
    result = run_round(snap)
    assert audit_round(snap, result) == []
    ids = [p.applicant_id for p in result.placements] + [u.applicant_id for u in result.unplaced]
    assert sorted(ids) == sorted(a.applicant_id for a in snap.applicants)
    assert result.status in ("optimal", "feasible")
    assert sum(result.rank_histogram.values()) == len(result.placements) <= result.slots


@FAST
@given(program_years(), st.randoms(use_true_random=False))
def test_shuffling_the_snapshot_changes_nothing(snap, rnd: random.Random):
    import dataclasses

    people, jobs = list(snap.applicants), list(snap.vacancies)
    rnd.shuffle(people)
    rnd.shuffle(jobs)
    shuffled = dataclasses.replace(snap, applicants=tuple(people), vacancies=tuple(jobs))
    first, second = run_round(snap), run_round(shuffled)
    assert second.placements_digest == first.placements_digest
    assert (second.placements, second.unplaced) == (first.placements, first.unplaced)
    assert second.ineligible_vacancies == first.ineligible_vacancies
