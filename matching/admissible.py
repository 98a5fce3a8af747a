"""Admissible (applicant, vacancy, course) triples of a round, found through indexes.

Never builds a dense applicant x vacancy matrix. Imports contracts, numpy and matching only;
never services or ortools.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from contracts import ApplicantRegistered, VacancyPosted
from matching.geo import Grid, distance_km
from matching.language import LanguageProfile, language_margin, meets_requirements, to_profile
from matching.problem import IntArray
from matching.ruleset import Ruleset


@dataclass(frozen=True)
class Seats:
    """Eligible vacancies in id order and their (vacancy, course) seats with capacity left."""

    vacancies: tuple[VacancyPosted, ...]
    seat_vacancy: IntArray
    seat_course: tuple[str, ...]
    capacity: IntArray


@dataclass(frozen=True)
class Admissible:
    """Pairs (applicant, vacancy) with at least one admissible course, and their options.

    An option is one admissible (applicant, seat); `opt_course_pos` is the course's position in
    the applicant's `courses` list. Stated ranks are 1-based, 0 where that side states no list.
    """

    applicants: tuple[ApplicantRegistered, ...]
    seats: Seats
    pair_app: IntArray
    pair_vac: IntArray
    pair_score: IntArray
    pair_app_stated: IntArray
    pair_vac_stated: IntArray
    opt_pair: IntArray
    opt_seat: IntArray
    opt_course_pos: IntArray


def to_seats(
    vacancies: Iterable[VacancyPosted],
    capacity_left: dict[tuple[str, str], int],
    courses: tuple[str, ...],
) -> Seats:
    """Seats in vacancy id byte order, then course code order; full ones are dropped."""
    kept, seat_vacancy, seat_course, capacity = [], [], [], []
    for v in sorted(vacancies, key=lambda v: v.vacancy_id):
        left = [(c, capacity_left.get((v.vacancy_id, c), 0)) for c in courses]
        left = [(c, n) for c, n in left if n > 0]
        if not left:
            continue
        for course, n in left:
            seat_vacancy.append(len(kept))
            seat_course.append(course)
            capacity.append(n)
        kept.append(v)
    as_array = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731
    return Seats(tuple(kept), as_array(seat_vacancy), tuple(seat_course), as_array(capacity))


def fit_score(
    profile: LanguageProfile,
    skills: frozenset[str],
    v: VacancyPosted,
    v_skills: frozenset[str],
    km: float | None,
    ruleset: Ruleset,
) -> int:
    """Fit of a pair, higher is better: 100 per shared skill, 10 per language level above the
    vacancy's minimums, and for commuting 1 per whole km closer than the commuting limit."""
    closeness = 0 if km is None else int(max(0.0, ruleset.commuting_km - km))
    return 100 * len(skills & v_skills) + 10 * language_margin(profile, v.requirements) + closeness


def find_admissible(
    applicants: Iterable[ApplicantRegistered], seats: Seats, ruleset: Ruleset, period: str
) -> Admissible:
    """Every admissible triple of eligible `applicants` over `seats` (program-rules.md)."""
    ordered = tuple(sorted(applicants, key=lambda a: a.applicant_id))
    index = _Index(seats, ruleset, period)
    cols: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(ordered):
        index.add_pairs(i, a, cols)
    arr = {k: np.asarray(cols[k], dtype=np.int64) for k in _COLUMNS}
    return Admissible(ordered, seats, *(arr[k] for k in _COLUMNS))


_COLUMNS = ("app", "vac", "score", "app_stated", "vac_stated", "opt_pair", "opt_seat", "opt_pos")


class _Index:
    """Lookups that avoid scanning every vacancy for every applicant."""

    def __init__(self, seats: Seats, ruleset: Ruleset, period: str) -> None:
        self.ruleset, self.seats = ruleset, seats
        self.modes = {c: ruleset.courses[c].mode for c in ruleset.courses_in(period)}
        self.by_id = {v.vacancy_id: j for j, v in enumerate(seats.vacancies)}
        self.seat_of = {
            (int(j), c): s
            for s, (j, c) in enumerate(zip(seats.seat_vacancy, seats.seat_course, strict=True))
        }
        self.skills = [
            frozenset(s.casefold() for s in v.requirements.skills) for v in seats.vacancies
        ]
        self.stated = [{a: r for r, a in enumerate(v.preferences, 1)} for v in seats.vacancies]
        self.listing: dict[str, list[int]] = defaultdict(list)
        self.open_by_course: dict[str, list[int]] = defaultdict(list)
        self.open_by_prefecture: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.open_uncoordinated: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.grids: dict[str, Grid] = defaultdict(lambda: Grid(ruleset.commuting_km))
        for (j, course), _ in self.seat_of.items():
            self._index_seat(j, course)

    def _index_seat(self, j: int, course: str) -> None:
        v = self.seats.vacancies[j]
        if v.preferences:
            if course == self._first_course(j):
                for a in v.preferences:
                    self.listing[a].append(j)
            return
        mode, place = self.modes[course], v.location
        if mode == "commuting":
            self.open_by_prefecture[(course, place.prefecture)].append(j)
            if place.lat is None or place.lon is None:
                self.open_uncoordinated[(course, place.prefecture)].append(j)
            else:
                self.grids[course].add(j, place.lat, place.lon)
        elif mode == "online" or v.accommodation:
            self.open_by_course[course].append(j)

    def _first_course(self, j: int) -> str:
        return next(c for c in self.modes if (j, c) in self.seat_of)

    def add_pairs(self, i: int, a: ApplicantRegistered, cols: dict[str, list[int]]) -> None:
        in_japan = a.residence.country == "JP"
        courses = [
            (pos, c)
            for pos, c in enumerate(a.courses)
            if c in self.modes and (self.modes[c] == "commuting") == in_japan
        ]
        if not courses:
            return
        profile = to_profile(a.languages, self.ruleset)
        skills = frozenset(s.casefold() for s in a.skills)
        stated = {v: r for r, v in enumerate(a.preferences, 1)}
        for j in sorted(self._candidates(a, courses)):
            self._add_pair(
                i,
                j,
                a,
                courses,
                profile,
                skills,
                stated.get(self.seats.vacancies[j].vacancy_id, 0),
                cols,
            )

    def _candidates(self, a: ApplicantRegistered, courses: list[tuple[int, str]]) -> set[int]:
        if a.preferences:
            return {self.by_id[v] for v in a.preferences if v in self.by_id}
        found = set(self.listing.get(a.applicant_id, ()))
        home = a.residence
        for _, c in courses:
            if self.modes[c] != "commuting":
                found.update(self.open_by_course.get(c, ()))
            elif home.lat is None or home.lon is None or home.prefecture is None:
                found.update(self.open_by_prefecture.get((c, home.prefecture or ""), ()))
            else:
                found.update(self.open_uncoordinated.get((c, home.prefecture), ()))
                found.update(self.grids[c].near(home.lat, home.lon))
        return found

    def _add_pair(self, i, j, a, courses, profile, skills, app_stated, cols) -> None:  # type: ignore[no-untyped-def]
        v = self.seats.vacancies[j]
        vac_stated = self.stated[j].get(a.applicant_id, 0)
        if (v.preferences and not vac_stated) or (a.preferences and not app_stated):
            return
        if not meets_requirements(profile, v.requirements):
            return
        km = _commute_km(a, v) if a.residence.country == "JP" else None
        n_options = len(cols["opt_pair"])
        for pos, c in courses:
            seat = self.seat_of.get((j, c))
            if seat is None or not self._fits(self.modes[c], a, v, km):
                continue
            cols["opt_pair"].append(len(cols["app"]))
            cols["opt_seat"].append(seat)
            cols["opt_pos"].append(pos)
        if len(cols["opt_pair"]) == n_options:
            return
        cols["app"].append(i)
        cols["vac"].append(j)
        cols["score"].append(fit_score(profile, skills, v, self.skills[j], km, self.ruleset))
        cols["app_stated"].append(app_stated)
        cols["vac_stated"].append(vac_stated)

    def _fits(self, mode: str, a: ApplicantRegistered, v: VacancyPosted, km: float | None) -> bool:
        return course_fits(mode, a, v, self.ruleset, km)


def course_fits(
    mode: str, a: ApplicantRegistered, v: VacancyPosted, ruleset: Ruleset, km: float | None = None
) -> bool:
    """Commuting: lives in Japan within the commuting distance (same prefecture without
    coordinates); online: lives abroad; visiting: lives abroad and lodging is arranged."""
    in_japan = a.residence.country == "JP"
    if mode == "online":
        return not in_japan
    if mode == "visiting":
        return not in_japan and v.accommodation
    if not in_japan:
        return False
    km = _commute_km(a, v) if km is None else km
    if km is None:
        return a.residence.prefecture == v.location.prefecture
    return round(km, 3) <= ruleset.commuting_km  # to the metre, so 50 km is 50 km


def _commute_km(a: ApplicantRegistered, v: VacancyPosted) -> float | None:
    home, place = a.residence, v.location
    if home.lat is None or home.lon is None or place.lat is None or place.lon is None:
        return None
    return distance_km(home.lat, home.lon, place.lat, place.lon)
