"""Scale: a national program year goes from Snapshot to Problem in seconds, sparse, never dense."""

import random

import pytest

from matching.round import build_market
from tests.support.factories import applicant, company, snapshot, vacancy

PLACES = ("Tokyo", "Osaka", "Aichi", "Fukuoka", "Hokkaido")
SLOTS = [{"course": c, "capacity": 2} for c in ("A", "B", "C")]


def national_year(n_applicants: int, n_vacancies: int, prefs: int = 10, seed: int = 7):
    """Applicants abroad (80 %) or in Japan, each listing `prefs` random vacancies."""
    rnd = random.Random(seed)
    firm = company()
    vacancies = [
        vacancy(
            f"V-{j:06d}",
            company=firm,
            location={
                "prefecture": rnd.choice(PLACES),
                "lat": 35 + rnd.random(),
                "lon": 136 + rnd.random(),
            },
            slots=SLOTS,
            accommodation=rnd.random() < 0.5,
            requirements={"english_min": rnd.choice([None, "B2"]), "skills": ["python"]},
        )
        for j in range(n_vacancies)
    ]
    applicants = []
    for i in range(n_applicants):
        listed = [f"V-{j:06d}" for j in rnd.sample(range(n_vacancies), prefs)]
        home = (
            {
                "country": "JP",
                "prefecture": rnd.choice(PLACES),
                "lat": 35 + rnd.random(),
                "lon": 136 + rnd.random(),
            }
            if rnd.random() < 0.2
            else {"country": "PK"}
        )
        courses = ["A"] if home["country"] == "JP" else ["B", "C"]
        applicants.append(
            applicant(f"A-{i:07d}", residence=home, courses=courses, preferences=listed)
        )
    return snapshot(applicants, vacancies, mode="optimal")


def test_a_small_year_builds_only_listed_pairs():
    snap = national_year(2_000, 400)
    problem = build_market(snap).ranked.problem
    assert problem.n_applicants == 2_000 and problem.n_seats == 400 * 3
    # at most 10 listed vacancies x 2 courses per applicant: the problem is sparse by construction
    assert 0 < problem.n_options <= 2_000 * 10 * 2
    assert (problem.applicant_pref >= 0).all() and (problem.cost >= 2).all()


@pytest.mark.slow
def test_100k_applicants_and_20k_vacancies_become_a_sparse_problem():
    """The national scale builds listed pairs only (its CPU time is a figure of
    `scripts/bench_pairs.py --scale`, not an assertion: a timed test fails on a busy machine)."""
    snap = national_year(100_000, 20_000)
    problem = build_market(snap).ranked.problem
    assert problem.n_applicants == 100_000 and problem.n_seats == 20_000 * 3
    assert 500_000 < problem.n_options <= 100_000 * 10 * 2
