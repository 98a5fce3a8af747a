"""Solver-free rules validator: a round's result checked against its snapshot and the rules.

Recomputes every rule per placement from the payloads; must not import ortools, matching.solver,
matching.ranking or the index code of matching.admissible it judges.
"""

from collections import Counter
from collections.abc import Sequence
from typing import get_args

from contracts.vocabulary import ReasonCode
from matching.admissible import course_fits
from matching.eligibility import ineligibility
from matching.hosts import host_ineligibility
from matching.language import meets_requirements, to_profile
from matching.rows import ApplicantView, VacancyView
from matching.ruleset import Ruleset
from matching.snapshot import Placement, RoundResult, Snapshot

_CODES = frozenset(get_args(ReasonCode))


def audit_round(snapshot: Snapshot, result: RoundResult) -> list[str]:
    """Every violation found; an empty list means the result keeps the rules."""
    ruleset = snapshot.ruleset
    if not isinstance(ruleset, Ruleset):
        return ["snapshot.ruleset is not a Ruleset"]
    applicants = {a.applicant_id: a for a in snapshot.applicants}
    vacancies = {v.vacancy_id: v for v in snapshot.vacancies}
    out = _coverage(snapshot, result) + _capacity(snapshot, result, vacancies)
    for p in result.placements:
        a, v = applicants.get(p.applicant_id), vacancies.get(p.vacancy_id)
        if a is None or v is None:
            out.append(f"placement {p.applicant_id}->{p.vacancy_id}: not in the snapshot")
            continue
        out += [
            f"placement {p.applicant_id}->{p.vacancy_id}/{p.course}: {why}"
            for why in _inadmissible(p, a, v, snapshot, ruleset)
        ]
    return out


def _coverage(snapshot: Snapshot, result: RoundResult) -> list[str]:
    """Every applicant exactly once in placements or unplaced; at most one placement a year."""
    seen = Counter(p.applicant_id for p in result.placements)
    seen.update(u.applicant_id for u in result.unplaced)
    ids = {a.applicant_id for a in snapshot.applicants}
    out = [f"applicant {i} appears {seen[i]} times" for i in sorted(ids) if seen[i] != 1]
    out += [f"applicant {i} is not in the snapshot" for i in sorted(set(seen) - ids)]
    earlier = {p.applicant_id for p in snapshot.earlier_placements}
    out += [
        f"applicant {p.applicant_id} was already placed this program year"
        for p in result.placements
        if p.applicant_id in earlier
    ]
    out += [
        f"placement {p.applicant_id}->{p.vacancy_id}: a decline released this pair this year"
        for p in result.placements
        if (p.applicant_id, p.vacancy_id) in snapshot.barred_pairs
    ]
    for u in result.unplaced:
        if not u.reasons or any(r.code not in _CODES or not r.detail for r in u.reasons):
            out.append(f"applicant {u.applicant_id} is unplaced without valid reasons")
    return out


def _capacity(
    snapshot: Snapshot, result: RoundResult, vacancies: dict[str, VacancyView]
) -> list[str]:
    """Per (vacancy, course): earlier placements plus this round's within the capacity."""
    held = Counter((p.vacancy_id, p.course) for p in snapshot.earlier_placements)
    now = Counter((p.vacancy_id, p.course) for p in result.placements)
    out = []
    for (vacancy_id, course), n in sorted(now.items()):
        v = vacancies.get(vacancy_id)
        capacity = sum(s.capacity for s in v.slots if s.course == course) if v else 0
        if held[(vacancy_id, course)] + n > capacity:
            out.append(
                f"seat {vacancy_id}/{course}: {held[(vacancy_id, course)]} earlier + {n} now "
                f"> capacity {capacity}"
            )
    return out


def _inadmissible(
    p: Placement, a: ApplicantView, v: VacancyView, snapshot: Snapshot, ruleset: Ruleset
) -> list[str]:
    course = ruleset.courses.get(p.course)
    checks = [
        (not ineligibility(a, ruleset, snapshot.program_year), "applicant is not eligible"),
        (host_ineligibility(v, ruleset) is None, "vacancy's company may not host"),
        (v.program_year == snapshot.program_year, "vacancy is of another program year"),
        (course is not None and course.period == snapshot.period, "course not in the period"),
        (course is not None and course.mode == p.course_mode, "course_mode disagrees"),
        (p.company_id == v.company.company_id, "company_id disagrees"),
        (p.course in a.courses, "applicant did not apply for the course"),
        (any(s.course == p.course for s in v.slots), "vacancy has no slot for the course"),
        (course is not None and course_fits(course.mode, a, v, ruleset), "course does not fit"),
        (meets_requirements(to_profile(a.languages, ruleset), v.requirements), "language"),
        (not a.preferences or v.vacancy_id in a.preferences, "not in the applicant's list"),
        (not v.preferences or a.applicant_id in v.preferences, "not in the vacancy's list"),
        (p.applicant_rank == _rank(a.preferences, v.vacancy_id), "applicant_rank is wrong"),
        (p.vacancy_rank == _rank(v.preferences, a.applicant_id), "vacancy_rank is wrong"),
    ]
    return [why for ok, why in checks if not ok]


def _rank(stated: Sequence[str], partner: str) -> int | None:
    return stated.index(partner) + 1 if partner in stated else None
