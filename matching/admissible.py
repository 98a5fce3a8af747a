"""Admissible (applicant, vacancy, course) triples of a round, found through indexes.

Never builds a dense applicant x vacancy matrix. Imports contracts, numpy and matching only;
never services or ortools.
"""

from array import array
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import count, repeat
from typing import TypeVar

import numpy as np

from contracts import COURSES
from matching.errors import TooManyPairs
from matching.geo import BoolArray, FloatArray, commute_km, distance_km, within_km
from matching.ids import IdTable
from matching.index import VacancyIndex
from matching.language import LanguageProfile, language_margin, meets_requirements, to_profile
from matching.lottery import draw_order
from matching.problem import IntArray
from matching.rows import (
    ApplicantView,
    LocationView,
    RequirementsView,
    ResidenceView,
    VacancyView,
)
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
    are 1-based, 0 where that side states no list. `matching.ranking.to_problem` sorts the
    three option columns (`opt_pair`, `opt_seat`, `opt_course_pos`) in place into the problem's
    order and shares them with it: read them in that order once a problem was built.
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
    app_given: IntArray
    """Per applicant, its position among the applicants `find_admissible` was given."""
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
    kept = list(items)
    return [kept[n] for n in draw_order(seed, [id_of(item) for item in kept])]


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
    given = list(applicants)
    drawn = draw_order(seed, [a.applicant_id for a in given])
    ordered = tuple(given[n] for n in drawn)
    vac_tie = np.arange(len(seats.vacancies), dtype=np.int64)  # seats come in lottery order
    pairs = _Pairs(seats, ruleset, period, vac_tie, barred, profiles or {})
    choice = _CourseChoice(pairs.modes).columns(ordered)
    with_list = np.flatnonzero(choice.mask != 0).tolist()
    pairs.add_unlisted(ordered, [i for i in with_list if not ordered[i].preferences], choice)
    with_list = [i for i in with_list if ordered[i].preferences]  # checked together
    listed = pairs.check_listed(ordered, with_list, choice)
    pairs.count += len(listed[0])
    if pairs.count > ruleset.max_pairs:
        raise TooManyPairs(pairs.count, ruleset.max_pairs)
    columns = [np.concatenate([*c, more]) for c, more in zip(pairs.found(), listed, strict=True)]
    if np.any(columns[0][1:] < columns[0][:-1]):  # applicant by applicant, each in its order
        order = np.argsort(columns[0], kind="stable")
        columns = [c[order] for c in columns]
    app, vac, score, app_stated, vac_stated = columns
    opt_pair, opt_seat, opt_pos = _options(app, vac, pairs.seat_table, choice.positions)
    app_tie = np.arange(len(ordered), dtype=np.int64)
    evaluations = pairs.evaluations + pairs.shortlist.evaluations
    return Admissible(
        ordered, seats, app, vac, score, app_stated, vac_stated, opt_pair, opt_seat, opt_pos,
        app_tie, vac_tie, np.asarray(drawn, dtype=np.int64), seed, evaluations,
    )  # fmt: skip


def _distinct(values: IntArray) -> IntArray:
    """`np.unique(values)`, in one pass where they are ascending already (pairs by applicant)."""
    if values.shape[0] == 0 or not np.all(values[1:] >= values[:-1]):
        return np.unique(values)
    first: IntArray = values[np.r_[True, values[1:] != values[:-1]]]
    return first


def _positions(lengths: IntArray) -> IntArray:
    """For runs of the given lengths laid end to end, each element's 0-based position in its run."""
    positions: IntArray = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    return positions


def _options(
    app: IntArray, vac: IntArray, seat_table: IntArray, positions: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """(pair, seat, the course's position in the applicant's list) of every option: each course
    both the applicant (position >= 0) and the vacancy's seats (seat >= 0) allow, pair by pair,
    in course code order within a pair. One course column at a time, so a round of ten million
    pairs holds a few arrays of pairs, never one per pair and course code."""
    hits = []
    for code in range(seat_table.shape[1]):
        if not np.any(seat_table[:, code] >= 0):
            continue
        seat, pos = seat_table[vac, code], positions[app, code]
        pair = np.flatnonzero((seat >= 0) & (pos >= 0))
        hits.append((pair, seat[pair], pos[pair]))
    if not hits:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    if len(hits) == 1:
        return hits[0]
    counts = np.zeros(app.shape[0], dtype=np.int64)
    for pair, _, _ in hits:
        counts[pair] += 1
    start = np.cumsum(counts) - counts  # where each pair's options begin
    out = [np.empty(int(counts.sum()), dtype=np.int64) for _ in range(3)]
    for pair, seat, pos in hits:  # in code order: a pair's earlier codes are placed first
        at = start[pair]
        start[pair] += 1
        for column, values in zip(out, (pair, seat, pos), strict=True):
            column[at] = values
    return out[0], out[1], out[2]


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
        self.vacancy_ids = IdTable([v.vacancy_id for v in vs])
        self.barred: dict[str, frozenset[int]] = {}  # per applicant id: the vacancies barred
        declined = sorted(barred)
        at = self.vacancy_ids.find([vacancy_id for _, vacancy_id in declined]).tolist()
        for (applicant_id, _), j in zip(declined, at, strict=True):
            if j >= 0:
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
        self.alike: list[tuple[IntArray, ...]] = []  # pair columns of applicants found alike
        self.count = 0  # pairs found, kept or (past max_pairs) only counted
        self.evaluations = 0  # fit scores computed pair by pair

    def add_unlisted(
        self, applicants: Sequence[ApplicantView], which: Sequence[int], choice: "_Choices"
    ) -> None:
        """Count and append the admissible pairs of the applicants `which` (positions in
        `applicants`, none stating a list, each with a course it may take).

        Applicants abroad whom no vacancy lists and no decline bars, on the same courses, with
        the same language levels and skills, have the same best-fitting vacancies (the
        shortlist's choice depends on nothing else): found once per such kind of applicant, and
        their pairs laid out as columns. The others are checked one by one (`add`)."""
        alike: dict[tuple[object, ...], list[int]] = {}
        for i in which:
            a, courses = applicants[i], choice.courses[i]
            key = self._kind_of(a, courses)
            if key is None:
                self.add(i, a, courses)
            else:
                alike.setdefault(key, []).append(i)
        for members in alike.values():
            rows = self._rows(applicants[members[0]], choice.courses[members[0]])
            if self._over_budget(len(rows) * len(members)) or not rows:
                continue
            who = np.asarray(members, dtype=np.int64)
            facts = np.asarray(rows, dtype=np.int64).reshape(len(rows), 4)
            app = np.repeat(who, len(rows))
            self.alike.append((app, *(np.tile(facts[:, n], len(members)) for n in range(4))))

    def _kind_of(self, a: ApplicantView, courses: Sequence[str]) -> tuple[object, ...] | None:
        """What decides the pairs of an applicant abroad whom no vacancy lists and nothing
        bars; None for any other applicant."""
        aid = a.applicant_id
        if a.residence.country == "JP" or aid in self.barred or self.index.candidates(a, courses):
            return None
        profile = self._profile(a)
        skills = frozenset(s.casefold() for s in a.skills)
        return (tuple(courses), profile.japanese, profile.english, skills)

    def found(self) -> list[list[IntArray]]:
        """Per pair column, the parts found so far by `add` and `add_unlisted`."""
        parts = [[np.array(c, dtype=np.int64)] for c in self.columns]
        for chunk in self.alike:
            for part, column in zip(parts, chunk, strict=True):
                part.append(column)
        return parts

    def _over_budget(self, more: int) -> bool:
        """Count `more` pairs; True once past max_pairs (then the pairs are only counted)."""
        self.count += more
        if self.count <= self.ruleset.max_pairs:
            return False
        if self.columns[0] or self.alike:
            self.columns = tuple(array("q") for _ in range(5))
            self.alike = []
        return True

    def _rows(self, a: ApplicantView, courses: Sequence[str]) -> list[Row]:
        """The admissible pairs of `a`, who states no list, on `courses`."""
        skills = frozenset(s.casefold() for s in a.skills)
        language = self._language_row(self._profile(a))
        return self._best(a, courses, language, skills)

    def add(self, i: int, a: ApplicantView, courses: Sequence[str]) -> None:
        """Count the admissible pairs of applicant `i`, who states no list, on `courses` (those
        it may take this period), and append them while within max_pairs."""
        rows = self._rows(a, courses)
        if self._over_budget(len(rows)):
            return
        if rows:
            self.columns[0].extend(repeat(i, len(rows)))
            for column, values in zip(self.columns[1:], zip(*rows, strict=True), strict=True):
                column.extend(values)

    def check_listed(
        self, applicants: Sequence[ApplicantView], with_list: Sequence[int], choice: "_Choices"
    ) -> tuple[IntArray, ...]:
        """The admissible pairs of the applicants `with_list` (positions in `applicants`, each
        stating a list and with a course it may take), scored, as the five pair columns: every
        check over all the listed pairs at once (about a million in a round of 100,000
        applicants), in list order, applicant by applicant."""
        if not with_list:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
        stating = [applicants[i] for i in with_list]
        app, vac, rank = self._stage(np.asarray(with_list, dtype=np.int64), stating)
        wanted, japan = choice.mask, choice.in_japan
        profile = np.zeros(len(applicants), dtype=np.int64)
        profile[with_list] = [self._profile_of(a) for a in stating]
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
        score = (
            100 * self._shared_skills(app, vac, applicants) + 10 * margin[profile[app], sig[keep]]
        )
        fits = np.ones(len(app), dtype=bool)
        home = np.flatnonzero(japan[app])  # commuting: the distance decides
        if home.shape[0]:
            near, closeness = self._commuting(app[home], vac[home], applicants)
            fits[home] = near
            score[home] += closeness
        self.evaluations += int(fits.sum())
        return tuple(c[fits] for c in (app, vac, score, rank, vac_stated))

    def _stage(
        self, who: IntArray, stating: Sequence[ApplicantView]
    ) -> tuple[IntArray, IntArray, IntArray]:
        """(applicant, vacancy, the applicant's stated rank) of every listed vacancy that is a
        seat of the round and not barred for that applicant, in list order."""
        lists = [a.preferences for a in stating]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        vac = self.vacancy_ids.find_lists(lists)
        app = np.repeat(who, lengths)
        rank = _positions(lengths)
        if self.barred:
            position = {a.applicant_id: i for i, a in zip(who.tolist(), stating, strict=True)}
            width = len(self.vacancies)
            barred = [
                position[aid] * width + j
                for aid, js in self.barred.items()
                if aid in position
                for j in js
            ]
            vac[np.isin(app * width + vac, np.asarray(barred, dtype=np.int64))] = -1
        kept = vac >= 0
        return app[kept], vac[kept], rank[kept] + 1

    def _profile(self, a: ApplicantView) -> LanguageProfile:
        """The applicant's language profile: the caller's, or computed here."""
        return self.profiles.get(a.applicant_id) or to_profile(a.languages, self.ruleset)

    def _profile_of(self, a: ApplicantView) -> int:
        """The index of the applicant's language profile among the staged ones."""
        profile = self._profile(a)
        key = (profile.japanese, profile.english)
        if key not in self.profile_index:
            self._language_row(profile)
            self.profile_index[key] = len(self.profile_index)
        return self.profile_index[key]

    def _shared_skills(
        self, app: IntArray, vac: IntArray, applicants: Sequence[ApplicantView]
    ) -> IntArray:
        """Per pair, the preferred skills the applicant and the vacancy share (casefolded):
        skills as integers, each of the applicant's looked up among the vacancy's."""
        vocabulary: dict[str, int] = {}
        for skills in self.skills:
            for skill in skills:
                vocabulary.setdefault(skill, len(vocabulary))
        if not vocabulary:
            return np.zeros(app.shape[0], dtype=np.int64)
        width = len(vocabulary)
        offered = np.sort(np.fromiter(
            (j * width + vocabulary[s] for j, skills in enumerate(self.skills) for s in skills),
            dtype=np.int64,
        ))  # fmt: skip
        who = _distinct(app)
        known = [
            sorted(
                {vocabulary[k] for s in applicants[i].skills if (k := s.casefold()) in vocabulary}
            )
            for i in who.tolist()
        ]
        counts = np.zeros(len(applicants), dtype=np.int64)
        counts[who] = [len(ids) for ids in known]
        start = np.zeros(len(applicants), dtype=np.int64)
        start[who] = np.cumsum(counts[who]) - counts[who]
        flat = np.fromiter((k for ids in known for k in ids), dtype=np.int64)
        lengths = counts[app]
        pair = np.repeat(np.arange(app.shape[0], dtype=np.int64), lengths)
        step = _positions(lengths)
        keys = vac[pair] * width + flat[start[app][pair] + step]
        at = np.minimum(np.searchsorted(offered, keys), max(offered.shape[0] - 1, 0))
        hits = offered[at] == keys if offered.shape[0] else np.zeros(keys.shape[0], dtype=bool)
        return np.bincount(pair, weights=hits, minlength=app.shape[0]).astype(np.int64)

    def _commuting(
        self, app: IntArray, vac: IntArray, applicants: Sequence[ApplicantView]
    ) -> tuple[BoolArray, IntArray]:
        """Per pair of an applicant living in Japan: whether the commute fits (`course_fits`),
        and the fit score's closeness (whole km under the limit; 0 without coordinates)."""
        limit = self.ruleset.commuting_km
        homes = [applicants[i].residence for i in app.tolist()]
        places = [self.vacancies[j].location for j in vac.tolist()]
        lat1, lon1 = _coordinates(homes)
        lat2, lon2 = _coordinates(places)
        placed = ~(np.isnan(lat1) | np.isnan(lon1) | np.isnan(lat2) | np.isnan(lon2))
        km = commute_km(lat1[placed], lon1[placed], lat2[placed], lon2[placed], limit)
        near = np.zeros(app.shape[0], dtype=bool)
        near[placed] = within_km(km, limit)
        for n in np.flatnonzero(~placed).tolist():  # no coordinates: the same prefecture
            near[n] = homes[n].prefecture == places[n].prefecture
        closeness = np.zeros(app.shape[0], dtype=np.int64)
        closeness[placed] = np.maximum(0.0, limit - km).astype(np.int64)
        return near, closeness

    def _vacancy_ranks(
        self, app: IntArray, vac: IntArray, applicants: Sequence[ApplicantView]
    ) -> IntArray:
        """Per pair, the vacancy's stated rank of the applicant (0 where it does not list it):
        every stated (vacancy, applicant) as one sorted key, each pair found by binary search."""
        n = len(applicants)
        lists = [v.preferences for v in self.vacancies]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        listed = IdTable([a.applicant_id for a in applicants]).find_lists(lists)
        by = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
        rank = _positions(lengths)
        known = listed >= 0  # ids of applicants not in the round are listed too
        keys = by[known] * n + listed[known]
        order = np.argsort(keys, kind="stable")  # runs, vacancy by vacancy: a quick merge
        keys, rank = keys[order], rank[known][order] + 1
        wanted = vac * n + app
        if keys.shape[0] == 0:
            return np.zeros(wanted.shape[0], dtype=np.int64)
        asked = np.argsort(wanted, kind="stable")  # sorted queries: the search walks the keys once
        at = np.empty_like(wanted)
        at[asked] = np.minimum(np.searchsorted(keys, wanted[asked]), keys.shape[0] - 1)
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
        kept = []
        if barred := self.barred.get(aid):
            found = [(j, r) for j, r in found if j not in barred]
        for j, app_stated in found:  # near or listing vacancies of an applicant without a list
            listed = stated[j]
            vac_stated = 0 if listed is None else listed.get(aid, 0)
            meets, margin = language[sig[j]]
            if meets and mask[j] & wanted and (listed is None or vac_stated):
                kept.append(
                    (j, app_stated, vac_stated, 100 * len(skills & self.skills[j]) + 10 * margin)
                )
        if in_japan and kept:  # commuting: the distance decides
            vac = np.fromiter((j for j, *_ in kept), dtype=np.int64, count=len(kept))
            near, closeness = self._commuting(np.zeros(len(kept), dtype=np.int64), vac, [a])
            kept = [
                (j, r, s, value + c)
                for (j, r, s, value), fits, c in zip(
                    kept, near.tolist(), closeness.tolist(), strict=True
                )
                if fits
            ]
        self.evaluations += len(kept)
        return [(j, value, app_stated, vac_stated) for j, app_stated, vac_stated, value in kept]

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


@dataclass(frozen=True)
class _Choices:
    """Per applicant, its courses this period: those it applied for that run and fit where it
    lives (commuting from Japan, online and visiting from abroad)."""

    courses: list[tuple[str, ...]]
    positions: IntArray
    """Per applicant and course code of COURSES, the code's position in the applicant's
    `courses`, -1 unless chosen: shape (applicants, len(COURSES))."""
    mask: IntArray
    """The chosen courses as bits (`_BIT`); 0: none."""
    in_japan: BoolArray


class _CourseChoice:
    """The choice of courses, computed once per distinct (courses, living in Japan)."""

    def __init__(self, modes: Mapping[str, str]) -> None:
        self.modes = modes
        self.known: dict[tuple[tuple[str, ...], bool], int] = {}
        self.chosen: list[tuple[str, ...]] = []
        self.positions: list[list[int]] = []
        self.masks: list[int] = []
        self.japan: list[bool] = []

    def columns(self, applicants: Sequence[ApplicantView]) -> _Choices:
        kind = np.fromiter(map(self._kind, applicants), dtype=np.int64, count=len(applicants))
        chosen = self.chosen
        return _Choices(
            courses=[chosen[k] for k in kind.tolist()],
            positions=np.asarray(self.positions, dtype=np.int64).reshape(-1, len(COURSES))[kind],
            mask=np.asarray(self.masks, dtype=np.int64)[kind],
            in_japan=np.asarray(self.japan, dtype=bool)[kind],
        )

    def _kind(self, a: ApplicantView) -> int:
        key = (tuple(a.courses), a.residence.country == "JP")
        if (kind := self.known.get(key)) is None:
            applied, in_japan = key
            modes = self.modes
            chosen = tuple(
                c for c in applied if c in modes and (modes[c] == "commuting") == in_japan
            )
            kind = self.known[key] = len(self.chosen)
            self.chosen.append(chosen)
            self.positions.append([applied.index(c) if c in chosen else -1 for c in COURSES])
            self.masks.append(sum(_BIT[c] for c in chosen))
            self.japan.append(in_japan)
        return kind


def _coordinates(places: Sequence[ResidenceView | LocationView]) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes, NaN where not given."""
    nan = float("nan")
    lat = np.fromiter((nan if p.lat is None else p.lat for p in places), np.float64, len(places))
    lon = np.fromiter((nan if p.lon is None else p.lon for p in places), np.float64, len(places))
    return lat, lon


_BIT = {c: 1 << n for n, c in enumerate(COURSES)}


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
