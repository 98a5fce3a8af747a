"""Inbound payloads (upstream -> service): applicant and vacancy snapshots, withdrawals, rounds,
answers to offers.

Imports pydantic and the standard library only.
"""

import datetime as dt
import re
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from contracts._base import Payload
from contracts.vocabulary import (
    CefrLevel,
    CountryCode,
    CourseCode,
    Decision,
    Id,
    Industry,
    JlptLevel,
    LegalForm,
    LongText,
    Mode,
    Party,
    Period,
    PlacementId,
    Prefecture,
    ShortText,
    Test,
)

Version = Annotated[
    int, Field(ge=1, le=2**31 - 1, description="Snapshot version of the aggregate, >= 1")
]
ProgramYear = Annotated[
    int, Field(ge=2000, le=2100, description="Program (fiscal) year, e.g. 2023")
]
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS 84 latitude in degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS 84 longitude in degrees")]
Tag = Annotated[str, Field(min_length=1, max_length=100)]

_IELTS = re.compile(r"^(\d(\.[05])?)$")
_INT = re.compile(r"^\d{1,3}$")


class Residence(Payload):
    country: CountryCode = Field(description="Country of residence, ISO 3166-1 alpha-2")
    prefecture: Prefecture | None = Field(
        default=None, description="Prefecture (English name); required when country is JP"
    )
    lat: Latitude | None = Field(default=None, description="Latitude of home, optional")
    lon: Longitude | None = Field(default=None, description="Longitude of home, optional")

    @model_validator(mode="after")
    def _prefecture_in_japan(self) -> Self:
        if self.country == "JP" and self.prefecture is None:
            raise ValueError("prefecture is required when country is JP")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class Certificate(Payload):
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = Field(
        description="ISO 639-1 language code; ja and en count for eligibility"
    )
    test: Test = Field(description="JLPT, CEFR, IELTS, TOEFL_IBT, TOEIC or NATIVE")
    score: str | None = Field(
        default=None,
        max_length=8,
        description="JLPT N1-N5, CEFR A1-C2, IELTS 0-9 in 0.5 steps, TOEFL iBT 0-120, "
        "TOEIC 10-990; omitted or empty for NATIVE",
    )

    @model_validator(mode="after")
    def _score_fits_test(self) -> Self:
        error = _score_error(self.test, self.score)
        if error:
            raise ValueError(error)
        return self


def _score_error(test: str, score: str | None) -> str | None:
    s = score or ""
    if test == "NATIVE":
        return None if s == "" else "score must be omitted or empty for NATIVE"
    if test == "JLPT":
        ok = s in ("N1", "N2", "N3", "N4", "N5")
    elif test == "CEFR":
        ok = s in ("A1", "A2", "B1", "B2", "C1", "C2")
    elif test == "IELTS":
        ok = bool(_IELTS.match(s)) and float(s) <= 9
    elif test == "TOEFL_IBT":
        ok = bool(_INT.match(s)) and 0 <= int(s) <= 120
    else:  # TOEIC
        ok = bool(_INT.match(s)) and 10 <= int(s) <= 990
    return None if ok else f"score {s!r} is not a valid {test} score"


class Education(Payload):
    status: Literal["enrolled", "graduated"] = Field(description="enrolled or graduated")
    institution: ShortText | None = Field(default=None, description="University or college")
    field: ShortText | None = Field(default=None, description="Field of study")


class ApplicantRegistered(Payload):
    """Full snapshot of an application (create or update)."""

    applicant_id: Id = Field(description="Applicant id, 1-64 of A-Z a-z 0-9 . _ -")
    version: Version
    program_year: ProgramYear
    given_name: ShortText = Field(description="Personal data: never logged")
    family_name: ShortText = Field(description="Personal data: never logged")
    date_of_birth: dt.date = Field(description="ISO date; personal data: never logged")
    nationality: CountryCode = Field(description="ISO 3166-1 alpha-2")
    residence: Residence
    languages: list[Certificate] = Field(default_factory=list, max_length=20)
    education: Education | None = Field(default=None, description="Absent: no higher education")
    courses: list[CourseCode] = Field(
        min_length=1, max_length=5, description="Course codes applied for, in order of preference"
    )
    preferences: list[Id] = Field(
        default_factory=list, max_length=200, description="Ranked vacancy ids, best first"
    )
    skills: list[Tag] = Field(default_factory=list, max_length=100)
    programs: list[Tag] = Field(
        default_factory=list, max_length=20, description="Partner programmes, e.g. PMYP"
    )

    @model_validator(mode="after")
    def _no_duplicates(self) -> Self:
        if len(set(self.courses)) != len(self.courses):
            raise ValueError("courses has duplicates")
        if len(set(self.preferences)) != len(self.preferences):
            raise ValueError("preferences has duplicates")
        return self


class ApplicantWithdrawn(Payload):
    """The applicant leaves the program year; a version like any other."""

    applicant_id: Id
    version: Version
    reason: LongText | None = None


class Company(Payload):
    company_id: Id
    name: ShortText
    industry: Industry
    capital_jpy: int = Field(ge=0, le=10**15, description="Paid-in capital in yen")
    employees: int = Field(ge=0, le=10**7, description="Regular employees")
    legal_form: LegalForm
    head_office_country: CountryCode


class Location(Payload):
    prefecture: Prefecture
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class Slot(Payload):
    course: CourseCode
    capacity: int = Field(ge=0, le=10_000, description="Interns the vacancy takes for the course")


class Requirements(Payload):
    japanese_min: JlptLevel | None = Field(default=None, description="Minimum JLPT level")
    english_min: CefrLevel | None = Field(default=None, description="Minimum CEFR level")
    language_rule: Literal["any", "all"] = Field(
        default="any", description="any: one minimum suffices; all: every one"
    )
    skills: list[Tag] = Field(default_factory=list, max_length=100, description="Preferred skills")


class VacancyPosted(Payload):
    """Full snapshot of a vacancy (create or update)."""

    vacancy_id: Id
    version: Version
    program_year: ProgramYear
    company: Company
    title: ShortText
    location: Location
    slots: list[Slot] = Field(max_length=5)
    requirements: Requirements = Field(default_factory=Requirements)
    accommodation: bool = Field(default=False, description="Lodging arranged (visiting courses)")
    preferences: list[Id] = Field(
        default_factory=list, max_length=10_000, description="Ranked applicant ids, best first"
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        courses = [s.course for s in self.slots]
        if len(set(courses)) != len(courses):
            raise ValueError("slots lists a course twice")
        if len(set(self.preferences)) != len(self.preferences):
            raise ValueError("preferences has duplicates")
        return self


class VacancyClosed(Payload):
    """The vacancy takes no (more) interns; a version like any other."""

    vacancy_id: Id
    version: Version
    reason: LongText | None = None


class RoundRequested(Payload):
    """Run a placement round on exactly the events before this one."""

    round_id: Id
    program_year: ProgramYear
    period: Period
    mode: Mode = "optimal"
    dry_run: bool = Field(default=False, description="Compute and report; publish no placements")
    lottery_seed: ShortText | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Seed of the tie-breaking lottery, for a dry run only (a what-if analysis); "
        "a real round always draws with round_id + ':' + the chain of the inbound events "
        "before its request, and round.completed publishes the seed used",
    )

    @field_validator("lottery_seed")
    @classmethod
    def _seed_only_on_dry_runs(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("dry_run", False):
            raise ValueError(
                "only a dry run may name a lottery_seed: a real round draws with "
                "round_id + ':' + the chain of the events before it"
            )
        return value


AnswerText = Annotated[str, Field(max_length=500)]


class PlacementResponded(Payload):
    """A party's answer to an offer (`jip.placement.made`), lifecycle.md."""

    placement_id: PlacementId = Field(
        description="The offer answered: `<round_id>/<applicant_id>` of its jip.placement.made"
    )
    party: Party = Field(description="Who answers: host, applicant or committee")
    decision: Decision = Field(description="accepted or declined")
    reason: AnswerText | None = Field(
        default=None,
        description="Optional, at most 500 characters, for people; never logged",
    )
