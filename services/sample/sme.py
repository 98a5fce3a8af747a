"""SME vacancies of the sample program year (see services.sample.generator): firms, slots,
requirements.

Imports contracts and services.sample.data only; never reads the clock or the environment.
"""

import random
from typing import Any

from contracts import PREFECTURES
from services.sample import data as tables

Doc = dict[str, Any]
_PREF_WEIGHTS = [tables.PREFECTURE_WEIGHTS.get(p, 1) for p in PREFECTURES]
_INDUSTRIES = list(tables.INDUSTRY_WEIGHTS)
_OTHER_FORMS = ("industry_association", "npo", "local_government", "other")
# Chance that a vacancy offers each course: summer A/B/C, winter A2/B2.
_COURSE_CHANCES = {"A": 0.5, "B": 0.55, "C": 0.35, "A2": 0.3, "B2": 0.35}


def vacancy(rng: random.Random, n: int, year: int) -> Doc:
    """The first version of vacancy V-<n>; the first 47 cover every prefecture once."""
    company = _company(rng, n)
    prefecture = PREFECTURES[n - 1] if n <= len(PREFECTURES) else _weighted_prefecture(rng)
    lat, lon = tables.PREFECTURE_CAPITALS[prefecture]
    slots = _slots(rng)
    visiting = any(slot["course"] == "C" for slot in slots)
    return {
        "vacancy_id": f"V-{n:04d}", "version": 1, "program_year": year, "company": company,
        "title": rng.choice(tables.TITLES[company["industry"]]),
        "location": {"prefecture": prefecture, "lat": round(lat + rng.uniform(-0.1, 0.1), 4),
                     "lon": round(lon + rng.uniform(-0.1, 0.1), 4)},
        "slots": slots, "requirements": _requirements(rng),
        "accommodation": rng.random() < (0.85 if visiting else 0.15), "preferences": [],
    }  # fmt: skip


def share_companies(rng: random.Random, posted: list[Doc]) -> None:
    """Let about one vacancy in seven belong to the firm of the vacancy before it."""
    for before, after in zip(posted, posted[1:], strict=False):
        if rng.random() < 0.15:
            after["company"] = before["company"]


def ranked_interest(rng: random.Random, vacancy_id: str, registered: list[Doc]) -> list[str]:
    """A firm's ranking: up to 6 applicants who listed the vacancy, else 3 of anyone."""
    keen = [a["applicant_id"] for a in registered if vacancy_id in a["preferences"]]
    pool = keen or [a["applicant_id"] for a in registered]
    return rng.sample(pool, min(len(pool), 6 if keen else 3))


def _weighted_prefecture(rng: random.Random) -> str:
    return rng.choices(PREFECTURES, _PREF_WEIGHTS)[0]


def _company(rng: random.Random, n: int) -> Doc:
    industry = rng.choices(_INDUSTRIES, [tables.INDUSTRY_WEIGHTS[i] for i in _INDUSTRIES])[0]
    capital_limit, staff_limit = tables.INDUSTRY_LIMITS[industry]
    if rng.random() < 0.04:  # over both SME limits: not an SME
        capital = capital_limit * rng.randint(2, 20)
        employees = staff_limit + rng.randint(1, 3000)
    else:  # most SMEs are small: skew towards the low end
        capital = max(1, round(capital_limit / 10**6 * rng.random() ** 2)) * 10**6
        employees = max(2, round(staff_limit * rng.random() ** 2))
    legal_form = "company" if rng.random() < 0.96 else rng.choice(_OTHER_FORMS)
    head_office = "JP" if rng.random() < 0.98 else rng.choice(tables.FOREIGN_HEAD_OFFICES)
    name = " ".join((rng.choice(tables.FIRM_WORDS), rng.choice(tables.INDUSTRY_WORDS[industry]),
                     rng.choice(("K.K.", "Co., Ltd.", "Inc."))))  # fmt: skip
    return {"company_id": f"C-{n:04d}", "name": name, "industry": industry,
            "capital_jpy": capital, "employees": employees, "legal_form": legal_form,
            "head_office_country": head_office}  # fmt: skip


def _slots(rng: random.Random) -> list[Doc]:
    courses = [c for c, chance in _COURSE_CHANCES.items() if rng.random() < chance]
    courses = courses or [rng.choice(list(_COURSE_CHANCES))]
    return [{"course": c, "capacity": rng.choices((1, 2, 3), (6, 3, 1))[0]} for c in courses]


def _requirements(rng: random.Random) -> Doc:
    return {
        "japanese_min": rng.choice((None, None, "N1", "N2", "N2", "N3", "N4")),
        "english_min": rng.choice((None, "B1", "B2", "B2", "C1")),
        "language_rule": "all" if rng.random() < 0.1 else "any",
        "skills": rng.sample(tables.SKILLS, rng.randint(0, 3)),
    }
