"""Inbound bodies from a chosen source, and the rule sets the source-rule tests use.

Imports contracts and the unit factories only.
"""

from contracts import ApplicantWithdrawn, Kind, RoundRequested, VacancyClosed
from services.intake.sources import SourceRules
from tests.support.factories import YEAR, applicant, vacancy
from tests.support.inbound_events import body

FROZEN = 2**31 - 1
"""The largest version the contract allows: a withdrawal with it would outrank every update."""

RULES = SourceRules.of(
    {
        "applicant.*": ["/applicant-portal", "/university-portal"],
        "vacancy.*": ["/sme-portal"],
        "round.requested": ["/scheduler"],
        "operators": ["/operator-console"],
    }
)


def registered(applicant_id: str, version: int, source: str, courses: list[str] | None) -> bytes:
    data = applicant(applicant_id, version=version, courses=courses or ["B"])
    return body(Kind.APPLICANT_REGISTERED, data, f"reg-{applicant_id}-{version}", source)


def withdrawn(applicant_id: str, version: int, source: str) -> bytes:
    data = ApplicantWithdrawn(applicant_id=applicant_id, version=version)
    return body(Kind.APPLICANT_WITHDRAWN, data, f"wd-{applicant_id}-{version}", source)


def posted(vacancy_id: str, version: int, source: str) -> bytes:
    data = vacancy(vacancy_id, version=version, slots=[{"course": "B", "capacity": 1}])
    return body(Kind.VACANCY_POSTED, data, f"post-{vacancy_id}-{version}", source)


def closed(vacancy_id: str, version: int, source: str) -> bytes:
    data = VacancyClosed(vacancy_id=vacancy_id, version=version)
    return body(Kind.VACANCY_CLOSED, data, f"close-{vacancy_id}-{version}", source)


def requested(round_id: str, source: str) -> bytes:
    data = RoundRequested(round_id=round_id, program_year=YEAR, period="summer")
    return body(Kind.ROUND_REQUESTED, data, f"rr-{round_id}", source)
