"""Contract payloads and snapshots for unit tests, with eligible defaults and keyword overrides.

Imports contracts and matching only.
"""

import datetime as dt
from typing import Any

from contracts import ApplicantRegistered, Certificate, VacancyPosted
from matching.ruleset import Ruleset, load_ruleset
from matching.snapshot import EarlierPlacement, Snapshot

YEAR = 2023
TOKYO = (35.68, 139.77)


def applicant(applicant_id: str = "A-1", **overrides: Any) -> ApplicantRegistered:
    """An eligible applicant living in Pakistan, applying for the online summer course B."""
    fields: dict[str, Any] = {
        "applicant_id": applicant_id,
        "version": 1,
        "program_year": YEAR,
        "given_name": "Test",
        "family_name": "Person",
        "date_of_birth": dt.date(2000, 4, 17),
        "nationality": "PK",
        "residence": {"country": "PK"},
        "languages": [{"language": "en", "test": "IELTS", "score": "6.5"}],
        "education": {"status": "enrolled"},
        "courses": ["B"],
    }
    fields.update(overrides)
    return ApplicantRegistered(**fields)


def in_japan(
    applicant_id: str = "A-1", prefecture: str = "Tokyo", **overrides: Any
) -> ApplicantRegistered:
    """An eligible applicant living in Japan, applying for the commuting summer course A."""
    fields: dict[str, Any] = {
        "residence": {"country": "JP", "prefecture": prefecture},
        "courses": ["A"],
    }
    fields.update(overrides)
    return applicant(applicant_id, **fields)


def cert(language: str, test: str, score: str | None = None) -> Certificate:
    return Certificate(language=language, test=test, score=score)


def company(**overrides: Any) -> dict[str, Any]:
    """An eligible manufacturing SME with its head office in Japan."""
    fields: dict[str, Any] = {
        "company_id": "C-1",
        "name": "Test K.K.",
        "industry": "manufacturing",
        "capital_jpy": 50_000_000,
        "employees": 42,
        "legal_form": "company",
        "head_office_country": "JP",
    }
    fields.update(overrides)
    return fields


def vacancy(vacancy_id: str = "V-1", **overrides: Any) -> VacancyPosted:
    """An eligible vacancy in Tokyo with one slot for each summer course and lodging."""
    fields: dict[str, Any] = {
        "vacancy_id": vacancy_id,
        "version": 1,
        "program_year": YEAR,
        "company": company(),
        "title": "Assistant",
        "location": {"prefecture": "Tokyo"},
        "slots": [{"course": c, "capacity": 1} for c in ("A", "B", "C")],
        "accommodation": True,
    }
    fields.update(overrides)
    return VacancyPosted(**fields)


def snapshot(
    applicants: tuple[ApplicantRegistered, ...] | list[ApplicantRegistered] = (),
    vacancies: tuple[VacancyPosted, ...] | list[VacancyPosted] = (),
    *,
    period: str = "summer",
    mode: str = "stable",
    ruleset: Ruleset | None = None,
    earlier: tuple[EarlierPlacement, ...] = (),
    barred: frozenset[tuple[str, str]] = frozenset(),
    seed: str | None = None,
) -> Snapshot:
    return Snapshot(
        round_id=f"{YEAR}-{period}-1",
        program_year=YEAR,
        period=period,
        mode=mode,
        ruleset=ruleset or load_ruleset(),
        applicants=tuple(applicants),
        vacancies=tuple(vacancies),
        earlier_placements=earlier,
        barred_pairs=barred,
        lottery_seed=seed,
    )
