"""Program rulesets as data: TOML files under `matching/rulesets/`, loaded into a frozen `Ruleset`.

Imports the standard library and contracts only; never services or ortools.
"""

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from contracts.vocabulary import COURSES, Industry
from matching.errors import RulesetError
from matching.offers import (
    DEFAULT_PERIODS,
    OfferRules,
    PeriodDates,
    deadline,
    offer_rules,
    period_dates,
)
from matching.rulefile import Reader, month_day

DEFAULT_RULESET = "fy2023-announced"

JLPT_LEVELS: tuple[str, ...] = ("N5", "N4", "N3", "N2", "N1")
"""Weakest first: a level's strength is its index + 1."""
CEFR_LEVELS: tuple[str, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")
"""Weakest first: a level's strength is its index + 1."""
COURSE_MODES: tuple[str, ...] = ("commuting", "online", "visiting")
PERIODS: tuple[str, ...] = ("summer", "winter")
SCORED_TESTS: tuple[str, ...] = ("IELTS", "TOEFL_IBT", "TOEIC")
DEFAULT_MAX_OPTIONS = 200
"""An applicant without a list is admissible to at most this many vacancies: the longest list
an applicant may state (contracts: `preferences` max_length)."""
DEFAULT_MAX_PAIRS = 4_000_000
"""Admissible pairs a round may build. A 100,000-applicant round stays well under it: the
benchmark market's (lists of about ten) builds about 1,000,000 pairs, the sample year's (10,000
vacancies, 15% of applicants without lists, each cut to `max_options`) 1,127,271 in summer and
678,786 in winter. Building 4,000,000 pairs peaks under 1 GB (scripts/bench_pairs.py --scale).
A market where every applicant without a list reaches 200 vacancies (20,000,000 pairs at
100,000 applicants) fails the round with the count instead of exhausting memory."""


@dataclass(frozen=True, slots=True)
class Course:
    code: str
    mode: str
    period: str


@dataclass(frozen=True, slots=True)
class SmeLimit:
    capital_jpy: int
    employees: int


@dataclass(frozen=True)
class Ruleset:
    """Every number of the program rules for one program year (program-rules.md).

    Mappings are plain dicts, read-only by convention, so a ruleset pickles for worker processes.
    """

    name: str
    description: str
    age_min: int
    age_max: int
    age_reference: tuple[int, int]
    """(month, day) of the program year on which age is taken."""
    japanese_min: str
    english_min: str
    native_counts: bool
    nationalities: frozenset[str]
    education_statuses: frozenset[str]
    courses: Mapping[str, Course]
    commuting_km: float
    head_office_country: str
    legal_forms: frozenset[str]
    sme_limits: Mapping[str, SmeLimit]
    midsize_employees: int | None
    english_scores: Mapping[str, tuple[tuple[str, float], ...]]
    """Per test, (CEFR level, minimum score) from the strongest level down."""
    program_years: frozenset[int] = frozenset()
    """Program years the ruleset governs; empty means any year."""
    max_options: int = DEFAULT_MAX_OPTIONS
    """`[ranking] max_options`: the vacancies an applicant without a list is admissible to."""
    max_pairs: int = DEFAULT_MAX_PAIRS
    """`[ranking] max_pairs`: a round with more admissible pairs fails (program-rules.md)."""
    offers: OfferRules = OfferRules()
    """`[offers]`: the parties that must accept an offer, and the days they have."""
    periods: Mapping[str, PeriodDates] = field(
        default_factory=lambda: {name: PeriodDates(*d) for name, d in DEFAULT_PERIODS.items()}
    )
    """`[periods]`: each period's first and last day."""

    def governs(self, program_year: int) -> bool:
        return not self.program_years or program_year in self.program_years

    def age_reference_date(self, program_year: int) -> dt.date:
        return dt.date(program_year, *self.age_reference)

    def respond_by(self, requested_at: dt.datetime, program_year: int, period: str) -> dt.datetime:
        """The deadline of the offers of a round of `period` requested at `requested_at` (the
        `round.requested` event's time, so replays agree), in UTC: `[offers] response_days`
        × 24 h later, capped at 00:00 Asia/Tokyo on the period's first day (lifecycle.md)."""
        start = self.periods[period].starts_at(program_year)
        return deadline(requested_at, self.offers.response_days, start)

    def courses_in(self, period: str) -> tuple[str, ...]:
        """Course codes of a period, in course code order."""
        return tuple(c for c in sorted(self.courses) if self.courses[c].period == period)


def available_rulesets() -> tuple[str, ...]:
    """Names of the rulesets shipped with the package, sorted."""
    folder = resources.files("matching").joinpath("rulesets")
    names = (p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(names))


def load_ruleset(name_or_path: str | Path = DEFAULT_RULESET) -> Ruleset:
    """Load a shipped ruleset by name, or a ruleset file by path; raise `RulesetError` if bad."""
    if isinstance(name_or_path, str) and name_or_path in available_rulesets():
        folder = resources.files("matching").joinpath("rulesets")
        text = folder.joinpath(f"{name_or_path}.toml").read_text(encoding="utf-8")
        return _parse(text, lambda rel: folder.joinpath(rel).read_text(encoding="utf-8"))
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(available_rulesets())
        raise RulesetError(f"ruleset {str(name_or_path)!r} is neither a file nor one of: {known}")
    return _parse(path.read_text(encoding="utf-8"), lambda rel: (path.parent / rel).read_text())


def _parse(text: str, read_list: Any) -> Ruleset:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesetError(f"not valid TOML: {error}") from None
    r = Reader(data)
    age_ref = r.text("age.reference")
    return Ruleset(
        name=r.text("name"),
        description=r.text("description", default=""),
        age_min=r.integer("age.min"),
        age_max=r.integer("age.max", minimum=r.integer("age.min")),
        age_reference=month_day("age.reference", age_ref),
        japanese_min=r.choice("language.japanese_min", JLPT_LEVELS),
        english_min=r.choice("language.english_min", CEFR_LEVELS),
        native_counts=r.boolean("language.native_counts"),
        nationalities=_nationalities(r, read_list),
        education_statuses=frozenset(r.strings("education.statuses")),
        courses=_courses(r),
        commuting_km=r.number("commuting.max_km"),
        head_office_country=r.text("hosts.head_office_country"),
        legal_forms=frozenset(r.strings("hosts.legal_forms")),
        sme_limits=_sme_limits(r),
        midsize_employees=r.integer("hosts.midsize_employees", optional=True),
        english_scores=_english_scores(r),
        program_years=_program_years(r),
        offers=offer_rules(r),
        periods=period_dates(r, PERIODS),
        **_ranking(r),
    )


def _ranking(r: Reader) -> dict[str, int]:
    """`[ranking]`: optional, keys defaulted; an unknown key is refused (a typo is no default)."""
    if not r.has("ranking"):
        return {"max_options": DEFAULT_MAX_OPTIONS, "max_pairs": DEFAULT_MAX_PAIRS}
    unknown = sorted(set(r.table("ranking")) - {"max_options", "max_pairs"})
    if unknown:
        raise RulesetError(f"ranking.{unknown[0]}: unknown key; known: max_options, max_pairs")
    options = r.integer("ranking.max_options", minimum=1, optional=True)
    pairs = r.integer("ranking.max_pairs", minimum=1, optional=True)
    return {
        "max_options": DEFAULT_MAX_OPTIONS if options is None else options,
        "max_pairs": DEFAULT_MAX_PAIRS if pairs is None else pairs,
    }


def _program_years(r: Reader) -> frozenset[int]:
    if not r.has("program_years"):
        return frozenset()
    years = r.value("program_years")
    if not isinstance(years, list) or not all(type(y) is int and 2000 <= y <= 2100 for y in years):
        raise RulesetError(f"program_years: expected a list of years like [2023], got {years!r}")
    return frozenset(years)


def _nationalities(r: Reader, read_list: Any) -> frozenset[str]:
    rel = r.text("nationality.list")
    try:
        lines = read_list(rel).splitlines()
    except OSError as error:
        raise RulesetError(f"nationality.list: cannot read {rel!r}: {error.strerror}") from None
    codes = {s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")}
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha() or not c.isupper())
    if bad:
        raise RulesetError(f"nationality.list: {rel!r} has entries that are not ISO codes: {bad}")
    return frozenset(codes - set(r.strings("nationality.exclude")))


def _courses(r: Reader) -> dict[str, Course]:
    table = r.table("courses")
    courses = {}
    for code in table:
        if code not in COURSES:
            raise RulesetError(f"courses.{code}: unknown course code; known: {', '.join(COURSES)}")
        mode = r.choice(f"courses.{code}.mode", COURSE_MODES)
        courses[code] = Course(code, mode, r.choice(f"courses.{code}.period", PERIODS))
    return courses


def _sme_limits(r: Reader) -> dict[str, SmeLimit]:
    missing = sorted(set(get_args(Industry)) - set(r.table("hosts.sme")))
    if missing:
        raise RulesetError(f"hosts.sme: no limits for industries {', '.join(missing)}")
    return {
        industry: SmeLimit(
            r.integer(f"hosts.sme.{industry}.capital_jpy"),
            r.integer(f"hosts.sme.{industry}.employees"),
        )
        for industry in r.table("hosts.sme")
    }


def _english_scores(r: Reader) -> dict[str, tuple[tuple[str, float], ...]]:
    scores = {}
    for test in SCORED_TESTS:
        levels = r.table(f"english_scores.{test}")
        for level in levels:
            if level not in CEFR_LEVELS:
                raise RulesetError(f"english_scores.{test}.{level}: not a CEFR level")
        pairs = [(lvl, r.number(f"english_scores.{test}.{lvl}")) for lvl in levels]
        pairs.sort(key=lambda p: CEFR_LEVELS.index(p[0]), reverse=True)
        mins = [m for _, m in pairs]
        if mins != sorted(mins, reverse=True):
            raise RulesetError(f"english_scores.{test}: scores must rise with the level")
        scores[test] = tuple(pairs)
    return scores
