"""Applicant eligibility for a program year: every failing rule with its reason code and detail.

Imports matching only; never services or ortools. Details state the applicant's
own fact and the rule, never a name or a date of birth.
"""

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from matching.language import LanguageProfile, is_program_language_met, to_profile
from matching.rows import ApplicantView
from matching.ruleset import Ruleset
from matching.snapshot import UnplacedReason


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Age in completed years on `day`; a birthday on `day` counts as reached."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)


def ineligibility(
    applicant: ApplicantView,
    ruleset: Ruleset,
    program_year: int,
    profile: LanguageProfile | None = None,
) -> tuple[UnplacedReason, ...]:
    """Every program rule the applicant fails, in rule order; empty when eligible. `profile`:
    the applicant's `to_profile` under `ruleset`, where the caller has it already."""
    reasons = [
        _age(applicant, ruleset, program_year),
        _language(profile or to_profile(applicant.languages, ruleset), ruleset),
        _nationality(applicant, ruleset),
        _education(applicant, ruleset),
    ]
    return tuple(r for r in reasons if r is not None)


def eligible_mask(
    applicants: Sequence[ApplicantView],
    ruleset: Ruleset,
    program_year: int,
    profiles: Sequence[LanguageProfile],
) -> npt.NDArray[np.bool_]:
    """Per applicant, whether `ineligibility` finds no failing rule: the same rules decided on
    columns (a million applicants at once); `profiles[i]` is applicant i's `to_profile`.

    `ineligibility` stays the one that explains: a round asks it only about those turned away.
    """
    day = ruleset.age_reference_date(program_year)
    reference = day.year * 10_000 + day.month * 100 + day.day
    born = np.fromiter(
        (d.year * 10_000 + d.month * 100 + d.day for d in (a.date_of_birth for a in applicants)),
        dtype=np.int64,
        count=len(applicants),
    )
    age = (reference - born) // 10_000  # completed years: YYYYMMDD differences read in 10,000s
    met = {p: is_program_language_met(p, ruleset) for p in set(profiles)}
    nationalities, statuses = ruleset.nationalities, ruleset.education_statuses
    rest = np.fromiter(
        (
            met[p] and a.nationality in nationalities
            and a.education is not None and a.education.status in statuses
            for a, p in zip(applicants, profiles, strict=True)
        ),
        dtype=bool,
        count=len(applicants),
    )  # fmt: skip
    ok: npt.NDArray[np.bool_] = (ruleset.age_min <= age) & (age <= ruleset.age_max) & rest
    return ok


def is_eligible(applicant: ApplicantView, ruleset: Ruleset, program_year: int) -> bool:
    return not ineligibility(applicant, ruleset, program_year)


def _age(a: ApplicantView, ruleset: Ruleset, year: int) -> UnplacedReason | None:
    day = ruleset.age_reference_date(year)
    age = age_on(a.date_of_birth, day)
    if ruleset.age_min <= age <= ruleset.age_max:
        return None
    detail = f"age {age} on {day.isoformat()}; allowed {ruleset.age_min}-{ruleset.age_max}"
    return UnplacedReason("age_out_of_range", detail)


def _language(profile: LanguageProfile, ruleset: Ruleset) -> UnplacedReason | None:
    if is_program_language_met(profile, ruleset):
        return None
    native = ", or native" if ruleset.native_counts else ""
    detail = (
        f"best Japanese {profile.japanese_label}, best English {profile.english_label}; "
        f"required JLPT {ruleset.japanese_min} or better, or CEFR {ruleset.english_min} "
        f"or better{native}"
    )
    return UnplacedReason("language_insufficient", detail)


def _nationality(a: ApplicantView, ruleset: Ruleset) -> UnplacedReason | None:
    if a.nationality in ruleset.nationalities:
        return None
    detail = f"nationality {a.nationality} is not on the eligible list of ruleset {ruleset.name}"
    return UnplacedReason("nationality_not_eligible", detail)


def _education(a: ApplicantView, ruleset: Ruleset) -> UnplacedReason | None:
    if a.education is not None and a.education.status in ruleset.education_statuses:
        return None
    stated = "none stated" if a.education is None else a.education.status
    allowed = " or ".join(sorted(ruleset.education_statuses))
    return UnplacedReason("education_missing", f"higher education {stated}; required {allowed}")
