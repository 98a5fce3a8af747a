"""Admissible (applicant, vacancy, course) triples of a round, found through indexes.

Never builds a dense applicant x vacancy matrix. Imports contracts, numpy and matching only;
never services or ortools.
"""

from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import count, repeat
from typing import TypeVar

import numpy as np

from contracts import COURSES
from matching.errors import TooManyPairs
from matching.geo import distance_km
from matching.index import VacancyIndex
from matching.language import LanguageProfile, language_margin, meets_requirements, to_profile
from matching.lottery import lottery_number
from matching.problem import IntArray
from matching.rows import ApplicantView, RequirementsView, VacancyView
from matching.ruleset import Ruleset
from matching.shortlist import Shortlist

_T = TypeVar("_T")


@dataclass(frozen=True)
class Seats:
    """Eligible vacancies in lottery order and their (vacancy, course) seats with capacity left."""

    vacancies: tuple[VacancyView, ...]
    seat_vacancy: IntArray
    seat_course: tuple[str, ...]
    capacity: IntArray


@dataclass(frozen=True)
class Admissible:
    """Pairs (applicant, vacancy) with at least one admissible course, and their options.

    Applicants are in lottery order. An option is one admissible (applicant, seat);
    `opt_course_pos` is the course's position in the applicant's `courses` list. Stated ranks
    are 1-based, 0 where that side states no list.
    """

    applicants: tuple[ApplicantView, ...]
    seats: Seats
    pair_app: IntArray
    pair_vac: IntArray
    pair_score: IntArray
    pair_app_stated: IntArray
    pair_vac_stated: IntArray
    opt_pair: IntArray
    opt_seat: IntArray
    opt_course_pos: IntArray
    app_tie: IntArray
    """Per applicant, its position in the round's lottery order (matching.lottery)."""
    vac_tie: IntArray
    """Per vacancy of `seats`, its position in the round's lottery order."""
    seed: str = ""
    """The lottery seed the orders were drawn with."""
    fit_evaluations: int = 0
    """Fit scores computed: one per pair checked, one per level of the shortlist's index."""


def to_seats(
    vacancies: Iterable[VacancyView],
    capacity_left: dict[tuple[str, str], int],
    courses: tuple[str, ...],
    seed: str,
) -> Seats:
    """Seats in the vacancies' lottery order, then course code order; full ones are dropped."""
    kept: list[VacancyView] = []
    seat_vacancy: list[int] = []
    seat_course: list[str] = []
    capacity: list[int] = []
    for v in _in_lottery_order(vacancies, seed, lambda v: v.vacancy_id):
        left = [(c, capacity_left.get((v.vacancy_id, c), 0)) for c in courses]
        left = [(c, n) for c, n in left if n > 0]
        if not left:
            continue
        for course, n in left:
            seat_vacancy.append(len(kept))
            seat_course.append(course)
            capacity.append(n)
        kept.append(v)
    return Seats(tuple(kept), _int_array(seat_vacancy), tuple(seat_course), _int_array(capacity))


def _in_lottery_order(items: Iterable[_T], seed: str, id_of: Callable[[_T], str]) -> list[_T]:
    """The items by their lottery number, smaller first (ids are unique, so no two tie)."""
    return sorted(items, key=lambda item: (lottery_number(seed, id_of(item)), id_of(item)))


def _int_array(values: list[int]) -> IntArray:
    return np.asarray(values, dtype=np.int64)


def fit_score(shared_skills: int, margin: int, km: float | None, ruleset: Ruleset) -> int:
    """Fit of a pair, higher is better: 100 per shared preferred skill, 10 per language level
    above the vacancy's minimums, and for commuting 1 per whole km closer than the limit."""
    closeness = 0 if km is None else int(max(0.0, ruleset.commuting_km - km))
    return 100 * shared_skills + 10 * margin + closeness


def find_admissible(
    applicants: Iterable[ApplicantView],
    seats: Seats,
    ruleset: Ruleset,
    period: str,
    seed: str,
    barred: Collection[tuple[str, str]] = frozenset(),
    profiles: Mapping[str, LanguageProfile] | None = None,
) -> Admissible:
    """Every admissible triple of eligible `applicants` over `seats` (program-rules.md), less
    the `barred` (applicant id, vacancy id) pairs: those a decline released (lifecycle.md).
    `profiles`: applicants' language profiles by id, where the caller has them already.

    Applicants are taken in the lottery order of `seed`, the seed `seats` was drawn with: so
    wherever a solver's choice among equals follows the order of its input, the lottery
    decides, never an id.

    Raises `TooManyPairs` when the pairs exceed `ruleset.max_pairs`: counted applicant by
    applicant, and past the budget only counted, so memory stays bounded.
    """
    ordered = tuple(_in_lottery_order(applicants, seed, lambda a: a.applicant_id))
    vac_tie = np.arange(len(seats.vacancies), dtype=np.int64)  # seats come in lottery order
    pairs = _Pairs(seats, ruleset, period, vac_tie, barred, profiles or {})
    for i, a in enumerate(ordered):
        pairs.add(i, a)
    listed = pairs.check_listed(ordered)
    pairs.count += len(listed[0])
    if pairs.count > ruleset.max_pairs:
        raise TooManyPairs(pairs.count, ruleset.max_pairs)
    found = (np.array(c, dtype=np.int64) for c in pairs.columns)
    columns = [np.concatenate([c, more]) for c, more in zip(found, listed, strict=True)]
    order = np.argsort(columns[0], kind="stable")  # applicant by applicant, each in its order
    app, vac, score, app_stated, vac_stated = (c[order] for c in columns)
    # options: every course both the applicant (position >= 0) and the seat table (seat >= 0) allow
    seat = pairs.seat_table[vac]
    pos = np.asarray(pairs.course_pos, dtype=np.int64).reshape(-1, len(COURSES))[app]
    opt_pair, code = np.nonzero((seat >= 0) & (pos >= 0))
    opt_seat, opt_pos = seat[opt_pair, code], pos[opt_pair, code]
    app_tie = np.arange(len(ordered), dtype=np.int64)
    evaluations = pairs.evaluations + pairs.shortlist.evaluations
    return Admissible(
        ordered, seats, app, vac, score, app_stated, vac_stated, opt_pair.astype(np.int64),
        opt_seat, opt_pos, app_tie, vac_tie, seed, evaluations,
    )  # fmt: skip


Row = tuple[int, int, int, int]
"""(vacancy, fit score, the applicant's stated rank, the vacancy's stated rank)."""


class _Pairs:
    """Per-vacancy facts for the pair checks, and the growing pair columns."""

    def __init__(
        self,
        seats: Seats,
        ruleset: Ruleset,
        period: str,
        tie: IntArray,
        barred: Collection[tuple[str, str]],
        profiles: Mapping[str, LanguageProfile],
    ) -> None:
        vs = self.vacancies = seats.vacancies
        self.profiles = profiles
        self.ruleset = ruleset
        self.modes = {c: ruleset.courses[c].mode for c in ruleset.courses_in(period)}
        self.by_id = {v.vacancy_id: j for j, v in enumerate(vs)}
        self.barred: dict[str, frozenset[int]] = {}  # per applicant id: the vacancies barred
        for applicant_id, vacancy_id in sorted(barred):
            if (j := self.by_id.get(vacancy_id)) is not None:
                self.barred[applicant_id] = self.barred.get(applicant_id, frozenset()) | {j}
        # seat per (vacancy, course code), -1 where none or where a visiting seat has no lodging
        self.seat_table = np.full((len(vs), len(COURSES)), -1, dtype=np.int64)
        seat_of: list[dict[str, int]] = [{} for _ in vs]
        for s, (j, c) in enumerate(
            zip(seats.seat_vacancy.tolist(), seats.seat_course, strict=True)
        ):
            if self.modes[c] != "visiting" or vs[j].accommodation:
                seat_of[j][c] = s
                self.seat_table[j, COURSES.index(c)] = s
        self.course_mask = [sum(_BIT[c] for c in seat_of[j]) for j in range(len(vs))]
        self.index = VacancyIndex(vs, seat_of, self.modes, ruleset.commuting_km)
        self.skills = [frozenset(s.casefold() for s in v.requirements.skills) for v in vs]
        keys = [_language_key(v.requirements) for v in vs]
        first = {k: v.requirements for k, v in zip(keys, vs, strict=True)}
        self.signatures = list(first.values())  # one Requirements per distinct language rule
        sig_of = {k: n for n, k in enumerate(first)}
        self.sig = [sig_of[k] for k in keys]
        self.language: dict[tuple[int, int], list[tuple[bool, int]]] = {}
        self.profile_index: dict[tuple[int, int], int] = {}
        away = [
            [] if v.preferences else [c for c in seat_of[j] if self.modes[c] != "commuting"]
            for j, v in enumerate(vs)
        ]
        self.shortlist = Shortlist(away, self.sig, self.skills, tie)
        self.tie = tie.tolist()
        self.columns: tuple[array[int], ...] = tuple(array("q") for _ in range(5))
        self.listed = _Listed()
        self.course_pos: list[int] = []
        self.count = 0  # pairs found, kept or (past max_pairs) only counted
        self.evaluations = 0  # fit scores computed pair by pair

    def add(self, i: int, a: ApplicantView) -> None:
        """Count applicant `i`'s admissible pairs and append them while within max_pairs."""
        in_japan = a.residence.country == "JP"
        courses = [
            c for c in a.courses if c in self.modes and (self.modes[c] == "commuting") == in_japan
        ]
        self.course_pos.extend(a.courses.index(c) if c in courses else -1 for c in COURSES)
        if not courses:
            return
        profile = self.profiles.get(a.applicant_id) or to_profile(a.languages, self.ruleset)
        skills = frozenset(s.casefold() for s in a.skills)
        if a.preferences:  # a stated list: its pairs are checked together, by check_listed
            self._stage(i, a, courses, profile, skills, in_japan)
            return
        language = self._language_row(profile)
        rows = self._best(a, courses, language, skills)
        self.count += len(rows)
        if self.count > self.ruleset.max_pairs:
            if self.columns[0]:  # past the budget the pairs are only counted
                self.columns = tuple(array("q") for _ in range(5))
            return
        if rows:
            self.columns[0].extend(repeat(i, len(rows)))
            for column, values in zip(self.columns[1:], zip(*rows, strict=True), strict=True):
                column.extend(values)

    def _stage(
        self,
        i: int,
        a: ApplicantView,
        courses: Sequence[str],
        profile: LanguageProfile,
        skills: frozenset[str],
        in_japan: bool,
    ) -> None:
        """Keep applicant `i`'s listed vacancies (and what the checks need) for check_listed."""
        listed = self.listed
        vac = list(map(self.by_id.get, a.preferences, repeat(-1)))  # -1: not a seat of the round
        if barred := self.barred.get(a.applicant_id):
            vac = [-1 if j in barred else j for j in vac]
        if vac.count(-1) == len(vac):
            return
        key = (profile.japanese, profile.english)
        self._language_row(profile)
        listed.app.extend(repeat(i, len(vac)))
        listed.vac.extend(vac)
        listed.rank.extend(range(1, len(vac) + 1))
        listed.profile[i] = self.profile_index.setdefault(key, len(self.profile_index))
        listed.wanted[i] = sum(_BIT[c] for c in courses)
        listed.skills[i] = skills
        listed.in_japan[i] = in_japan

    def check_listed(self, applicants: Sequence[ApplicantView]) -> tuple[IntArray, ...]:
        """The admissible pairs of every staged list, scored, as the five pair columns: the
        checks of `_checked` over all the listed pairs at once (about a million in a round of
        100,000 applicants), in the order they were staged."""
        listed = self.listed
        if not listed.app:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
        staged = np.frombuffer(listed.vac, dtype=np.int64) >= 0
        app = np.frombuffer(listed.app, dtype=np.int64)[staged]
        vac = np.frombuffer(listed.vac, dtype=np.int64)[staged]
        rank = np.frombuffer(listed.rank, dtype=np.int64)[staged]
        wanted = np.zeros(len(applicants), dtype=np.int64)  # per applicant, as staged
        profile = np.zeros(len(applicants), dtype=np.int64)
        japan = np.zeros(len(applicants), dtype=bool)
        for i, w in listed.wanted.items():
            wanted[i], profile[i], japan[i] = w, listed.profile[i], listed.in_japan[i]
        vac_stated = self._vacancy_ranks(app, vac, applicants)
        rows = self._profile_rows()
        meets = np.array([[m for m, _ in row] for row in rows], dtype=bool).reshape(len(rows), -1)
        margin = np.array([[g for _, g in row] for row in rows], dtype=np.int64).reshape(
            meets.shape
        )
        sig = np.asarray(self.sig, dtype=np.int64)[vac]
        states = np.asarray([bool(v.preferences) for v in self.vacancies], dtype=bool)[vac]
        mask = np.asarray(self.course_mask, dtype=np.int64)[vac]
        ok = meets[profile[app], sig] & ((mask & wanted[app]) != 0) & (~states | (vac_stated > 0))
        keep = np.flatnonzero(ok)
        app, vac, rank, vac_stated = app[keep], vac[keep], rank[keep], vac_stated[keep]
        margins = margin[profile[app], sig[keep]]
        skills, vskills = listed.skills, self.skills
        shared = [
            len(skills[i] & vskills[j]) for i, j in zip(app.tolist(), vac.tolist(), strict=True)
        ]
        score = 100 * np.asarray(shared, dtype=np.int64).reshape(-1) + 10 * margins
        home = np.flatnonzero(japan[app])  # commuting: the distance decides, pair by pair
        fits = np.ones(len(app), dtype=bool)
        for n in home.tolist():
            a, v = applicants[int(app[n])], self.vacancies[int(vac[n])]
            km = _commute_km(a, v)
            if course_fits("commuting", a, v, self.ruleset, km):
                score[n] = fit_score(int(shared[n]), int(margins[n]), km, self.ruleset)
            else:
                fits[n] = False
        self.evaluations += int(fits.sum())
        return tuple(c[fits] for c in (app, vac, score, rank, vac_stated))

    def _vacancy_ranks(
        self, app: IntArray, vac: IntArray, applicants: Sequence[ApplicantView]
    ) -> IntArray:
        """Per pair, the vacancy's stated rank of the applicant (0 where it does not list it):
        every stated (vacancy, applicant) as one sorted key, each pair found by binary search."""
        n = len(applicants)
        position = {a.applicant_id: i for i, a in enumerate(applicants)}
        lists = [v.preferences for v in self.vacancies]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        listed = np.concatenate([np.zeros(0, dtype=np.int64)] + [
            np.fromiter(map(position.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
            for ids in _chunks(lists)
        ])  # fmt: skip
        by = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
        rank = np.arange(listed.shape[0], dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        known = listed >= 0  # ids of applicants not in the round are listed too
        keys = by[known] * n + listed[known]
        order = np.argsort(keys)
        keys, rank = keys[order], rank[known][order] + 1
        wanted = vac * n + app
        if keys.shape[0] == 0:
            return np.zeros(wanted.shape[0], dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
        return np.where(keys[at] == wanted, rank[at], 0)

    def _profile_rows(self) -> list[list[tuple[bool, int]]]:
        """(meets, margin) per signature of each staged language profile, by its index."""
        rows: list[list[tuple[bool, int]]] = [[] for _ in self.profile_index]
        for key, n in self.profile_index.items():
            rows[n] = self.language[key]
        return rows

    def _best(
        self,
        a: ApplicantView,
        courses: Sequence[str],
        language: list[tuple[bool, int]],
        skills: frozenset[str],
    ) -> list[Row]:
        """The `max_options` best-fitting admissible vacancies of an applicant without a list
        (ties in tie-break order), in vacancy order: the ones that list it or are near its
        home checked pair by pair, the online and visiting ones from the shortlist's index."""
        k, ruleset = self.ruleset.max_options, self.ruleset
        near = sorted(self.index.candidates(a, courses))
        rows = self._checked(a, [(j, 0) for j in near], courses, language, skills)
        if a.residence.country != "JP":
            barred = self.barred.get(a.applicant_id, frozenset())
            best = self.shortlist.best(
                courses,
                language,
                skills,
                k,
                lambda n, m: fit_score(n, m, None, ruleset),
                exclude=barred,
            )
            rows += [(j, value, 0, 0) for j, value in best]
        if len(rows) > k:
            tie = self.tie
            rows = sorted(rows, key=lambda row: (-row[1], tie[row[0]]))[:k]
        return sorted(rows)

    def _checked(
        self,
        a: ApplicantView,
        found: list[tuple[int, int]],
        courses: Sequence[str],
        language: list[tuple[bool, int]],
        skills: frozenset[str],
    ) -> list[Row]:
        """The admissible ones of `found` (vacancy, the applicant's stated rank), scored."""
        in_japan = a.residence.country == "JP"
        stated, sig, mask, aid = self.stated, self.sig, self.course_mask, a.applicant_id
        wanted = sum(_BIT[c] for c in courses)
        rows = []
        if barred := self.barred.get(aid):
            found = [(j, r) for j, r in found if j not in barred]
        for j, app_stated in found:  # near or listing vacancies of an applicant without a list
            listed = stated[j]
            vac_stated = 0 if listed is None else listed.get(aid, 0)
            meets, margin = language[sig[j]]
            if not (meets and mask[j] & wanted and (listed is None or vac_stated)):
                continue
            km = _commute_km(a, self.vacancies[j]) if in_japan else None
            if in_japan and not course_fits("commuting", a, self.vacancies[j], self.ruleset, km):
                continue
            value = fit_score(len(skills & self.skills[j]), margin, km, self.ruleset)
            rows.append((j, value, app_stated, vac_stated))
        self.evaluations += len(rows)
        return rows

    @cached_property
    def stated(self) -> list[dict[str, int] | None]:
        """Per vacancy, its stated rank of each applicant it lists (None: it states no list);
        for the pair-by-pair checks of applicants without a list."""
        return [dict(zip(v.preferences, count(1))) or None for v in self.vacancies]

    def _language_row(self, profile: LanguageProfile) -> list[tuple[bool, int]]:
        """(meets, margin) per requirement signature, cached per profile: few distinct values."""
        key = (profile.japanese, profile.english)
        if key not in self.language:
            self.language[key] = [
                (meets_requirements(profile, r), language_margin(profile, r))
                for r in self.signatures
            ]
        return self.language[key]


@dataclass
class _Listed:
    """The staged pairs of applicants with a list, and per applicant what their checks need."""

    app: "array[int]" = field(default_factory=lambda: array("q"))
    vac: "array[int]" = field(default_factory=lambda: array("q"))
    rank: "array[int]" = field(default_factory=lambda: array("q"))
    profile: dict[int, int] = field(default_factory=dict)
    wanted: dict[int, int] = field(default_factory=dict)
    skills: dict[int, frozenset[str]] = field(default_factory=dict)
    in_japan: dict[int, bool] = field(default_factory=dict)


_BIT = {c: 1 << n for n, c in enumerate(COURSES)}

_CHUNK = 100_000
"""Ids looked up per C-level pass: such a pass holds the GIL throughout (ten million ids, about
ten seconds on a busy machine, stopped a service's event loop until its lease ran out)."""


def _chunks(lists: Sequence[Sequence[str]]) -> Iterator[list[str]]:
    """The lists' ids in order, about `_CHUNK` at a time (whole lists)."""
    chunk: list[str] = []
    for ids in lists:
        chunk.extend(ids)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _language_key(req: RequirementsView) -> tuple[str | None, str | None, str]:
    return req.japanese_min, req.english_min, req.language_rule


def course_fits(
    mode: str, a: ApplicantView, v: VacancyView, ruleset: Ruleset, km: float | None = None
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


def _commute_km(a: ApplicantView, v: VacancyView) -> float | None:
    home, place = a.residence, v.location
    if home.lat is None or home.lon is None or place.lat is None or place.lon is None:
        return None
    return distance_km(home.lat, home.lon, place.lat, place.lon)
