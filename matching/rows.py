"""What a round reads of an applicant and a vacancy: read-only views, and lean rows for them.

The views (`ApplicantView`, `VacancyView` and their parts) name exactly the fields the rules
read. Both the contract payloads (`contracts.ApplicantRegistered`, `contracts.VacancyPosted`)
and the rows below satisfy them, so the rules take either.

The rows are what a service loads a round's snapshot into: frozen slotted dataclasses parsed
from the payloads' stored JSON by pydantic-core in one pass per chunk, without the contract's
validators (the payloads were validated once, at intake) and without the fields no rule reads
(names, titles). A million applicants as contract models took 39 s and 2.4 GiB; as rows about
a quarter of the memory (issue 17). A row reads exactly as its payload: a property test holds
every view field equal and the round's result identical.

Imports pydantic and the standard library only.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import TypeAdapter

# --- the views --------------------------------------------------------------------------------


class ResidenceView(Protocol):
    @property
    def country(self) -> str: ...
    @property
    def prefecture(self) -> str | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...


class CertificateView(Protocol):
    @property
    def language(self) -> str: ...
    @property
    def test(self) -> str: ...
    @property
    def score(self) -> str | None: ...


class EducationView(Protocol):
    @property
    def status(self) -> str: ...


class ApplicantView(Protocol):
    @property
    def applicant_id(self) -> str: ...
    @property
    def date_of_birth(self) -> dt.date: ...
    @property
    def nationality(self) -> str: ...
    @property
    def residence(self) -> ResidenceView: ...
    @property
    def languages(self) -> Sequence[CertificateView]: ...
    @property
    def education(self) -> EducationView | None: ...
    @property
    def courses(self) -> Sequence[str]: ...
    @property
    def preferences(self) -> Sequence[str]: ...
    @property
    def skills(self) -> Sequence[str]: ...


class CompanyView(Protocol):
    @property
    def company_id(self) -> str: ...
    @property
    def industry(self) -> str: ...
    @property
    def capital_jpy(self) -> int: ...
    @property
    def employees(self) -> int: ...
    @property
    def legal_form(self) -> str: ...
    @property
    def head_office_country(self) -> str: ...


class LocationView(Protocol):
    @property
    def prefecture(self) -> str: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...


class SlotView(Protocol):
    @property
    def course(self) -> str: ...
    @property
    def capacity(self) -> int: ...


class RequirementsView(Protocol):
    @property
    def japanese_min(self) -> str | None: ...
    @property
    def english_min(self) -> str | None: ...
    @property
    def language_rule(self) -> str: ...
    @property
    def skills(self) -> Sequence[str]: ...


class VacancyView(Protocol):
    @property
    def vacancy_id(self) -> str: ...
    @property
    def program_year(self) -> int: ...
    @property
    def company(self) -> CompanyView: ...
    @property
    def location(self) -> LocationView: ...
    @property
    def slots(self) -> Sequence[SlotView]: ...
    @property
    def requirements(self) -> RequirementsView: ...
    @property
    def accommodation(self) -> bool: ...
    @property
    def preferences(self) -> Sequence[str]: ...


# --- the rows ---------------------------------------------------------------------------------
# Defaults are the contract's (contracts/inbound.py), for payloads stored before a field existed.


@dataclass(frozen=True, slots=True)
class ResidenceRow:
    country: str
    prefecture: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class CertificateRow:
    language: str
    test: str
    score: str | None = None


@dataclass(frozen=True, slots=True)
class EducationRow:
    status: str


@dataclass(frozen=True, slots=True)
class ApplicantRow:
    applicant_id: str
    date_of_birth: dt.date
    nationality: str
    residence: ResidenceRow
    courses: tuple[str, ...]
    languages: tuple[CertificateRow, ...] = ()
    education: EducationRow | None = None
    preferences: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompanyRow:
    company_id: str
    industry: str
    capital_jpy: int
    employees: int
    legal_form: str
    head_office_country: str


@dataclass(frozen=True, slots=True)
class LocationRow:
    prefecture: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class SlotRow:
    course: str
    capacity: int


@dataclass(frozen=True, slots=True)
class RequirementsRow:
    japanese_min: str | None = None
    english_min: str | None = None
    language_rule: str = "any"
    skills: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VacancyRow:
    vacancy_id: str
    program_year: int
    company: CompanyRow
    location: LocationRow
    slots: tuple[SlotRow, ...]
    requirements: RequirementsRow = field(default_factory=RequirementsRow)
    accommodation: bool = False
    preferences: tuple[str, ...] = ()


_APPLICANTS = TypeAdapter(list[ApplicantRow])
_VACANCIES = TypeAdapter(list[VacancyRow])
_T = TypeVar("_T")
_CHUNK = 4096
"""Payloads parsed per call: one JSON array of this many (a call per payload cost a quarter
more; one array of a million would copy every payload's text once more at a time)."""


def applicant_rows(payloads: Iterable[str]) -> tuple[ApplicantRow, ...]:
    """Rows from stored `applicant.registered` payloads (JSON text validated at intake)."""
    return tuple(_parse(_APPLICANTS, payloads))


def vacancy_rows(payloads: Iterable[str]) -> tuple[VacancyRow, ...]:
    """Rows from stored `vacancy.posted` payloads (JSON text validated at intake)."""
    return tuple(_parse(_VACANCIES, payloads))


def _parse(adapter: TypeAdapter[list[_T]], payloads: Iterable[str]) -> list[_T]:
    """Rows in the payloads' order; a ValueError (pydantic's ValidationError is one) where a
    payload is not one object of the row's shape."""
    out: list[_T] = []
    chunk: list[str] = []
    for text in payloads:
        chunk.append(text)
        if len(chunk) == _CHUNK:
            out.extend(_parse_chunk(adapter, chunk))
            chunk = []
    if chunk:
        out.extend(_parse_chunk(adapter, chunk))
    return out


def _parse_chunk(adapter: TypeAdapter[list[_T]], chunk: list[str]) -> list[_T]:
    rows = adapter.validate_json(f"[{','.join(chunk)}]")
    if len(rows) != len(chunk):  # a text such as `{..}, {..}`: joined, it read as two
        raise ValueError(f"{len(chunk)} stored payloads read as {len(rows)} rows")
    return rows
