"""Candidate lookup: which vacancies might admit an applicant who states no preference list.

A superset, checked pair by pair in matching.admissible: the vacancies that list the applicant,
and on the commuting courses the vacancies near its home. Vacancies without a list on the
online and visiting courses are found by matching.shortlist instead, best-fitting first.
Imports matching.geo and matching.rows only.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence

from matching.geo import Grid
from matching.rows import ApplicantView, VacancyView


class VacancyIndex:
    """Commuting vacancies by prefecture and grid cell; listed ones by the applicants they list.

    A vacancy with a stated list is found only through the applicants on it; one without on a
    commuting course by place (online and visiting ones are matching.shortlist's).
    """

    def __init__(
        self,
        vacancies: Sequence[VacancyView],
        courses_of: Sequence[Mapping[str, int]],
        modes: Mapping[str, str],
        radius_km: float,
    ) -> None:
        self.modes = modes
        self.vacancies = vacancies
        self._listing: dict[str, list[int]] | None = None
        self.by_prefecture: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.uncoordinated: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.grids: dict[str, Grid] = defaultdict(lambda: Grid(radius_km))
        for j, v in enumerate(vacancies):
            if not v.preferences:
                for course in courses_of[j]:
                    self._add(j, v, course)

    @property
    def listing(self) -> dict[str, list[int]]:
        """The vacancies that list each applicant, built when first asked for: only applicants
        without a list of their own look here, and a round may have none (indexing the lists
        of 20,000 vacancies, a million entries, took 0.4 s of a 100,000-applicant round)."""
        if self._listing is None:
            self._listing = defaultdict(list)
            for j, v in enumerate(self.vacancies):
                for a in v.preferences:
                    self._listing[a].append(j)
        return self._listing

    def _add(self, j: int, v: VacancyView, course: str) -> None:
        place = v.location
        if self.modes[course] != "commuting":
            return
        self.by_prefecture[(course, place.prefecture)].append(j)
        if place.lat is None or place.lon is None:
            self.uncoordinated[(course, place.prefecture)].append(j)
        else:
            self.grids[course].add(j, place.lat, place.lon)

    def candidates(self, a: ApplicantView, courses: Sequence[str]) -> set[int]:
        """Vacancies that list the applicant, or state no list and may fit a commuting course."""
        found = set(self.listing.get(a.applicant_id, ()))
        home = a.residence
        for c in courses:
            if self.modes[c] != "commuting":
                continue
            if home.lat is None or home.lon is None or home.prefecture is None:
                found.update(self.by_prefecture.get((c, home.prefecture or ""), ()))
            else:
                found.update(self.uncoordinated.get((c, home.prefecture), ()))
                found.update(self.grids[c].near(home.lat, home.lon))
        return found
