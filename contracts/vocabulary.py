"""Closed vocabularies of the contract: course codes, prefectures, tests, reason codes.

Imports the standard library and pydantic only.
"""

from typing import Annotated, Literal, get_args

from pydantic import StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
"""Applicant, vacancy, company and round ids: 1-64 characters of A-Z a-z 0-9 . _ -"""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 code (XK for Kosovo)."""

PlacementId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,64}$")
]
"""A placement's id: `<round_id>/<applicant_id>`."""

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]

CourseCode = Literal["A", "A2", "B", "B2", "C"]
COURSES: tuple[str, ...] = ("A", "A2", "B", "B2", "C")

Period = Literal["summer", "winter"]
Mode = Literal["optimal", "stable", "stable-optimal", "stable-max"]
CourseMode = Literal["commuting", "online", "visiting"]

Test = Literal["JLPT", "CEFR", "IELTS", "TOEFL_IBT", "TOEIC", "NATIVE"]
JlptLevel = Literal["N1", "N2", "N3", "N4", "N5"]
CefrLevel = Literal["A1", "A2", "B1", "B2", "C1", "C2"]

Industry = Literal[
    "manufacturing",
    "construction",
    "transport",
    "wholesale",
    "retail",
    "services",
    "software",
    "hotel",
    "other",
]
LegalForm = Literal["company", "industry_association", "npo", "local_government", "other"]

ReasonCode = Literal[
    "age_out_of_range",
    "language_insufficient",
    "nationality_not_eligible",
    "education_missing",
    "no_course_in_period",
    "no_eligible_vacancy",
    "outranked",
    "already_placed",
]

Party = Literal["host", "applicant", "committee"]
PARTIES: tuple[str, ...] = get_args(Party)
"""Who answers an offer (lifecycle.md); a ruleset's `[offers] parties` names the required ones."""
Decision = Literal["accepted", "declined"]

ReleaseReason = Literal[
    "declined_by_host",
    "declined_by_applicant",
    "declined_by_committee",
    "expired",
    "applicant_withdrawn",
    "vacancy_closed",
    "capacity_reduced",
]

Prefecture = Literal[
    "Hokkaido", "Aomori", "Iwate", "Miyagi", "Akita", "Yamagata", "Fukushima",
    "Ibaraki", "Tochigi", "Gunma", "Saitama", "Chiba", "Tokyo", "Kanagawa",
    "Niigata", "Toyama", "Ishikawa", "Fukui", "Yamanashi", "Nagano", "Gifu",
    "Shizuoka", "Aichi", "Mie", "Shiga", "Kyoto", "Osaka", "Hyogo", "Nara",
    "Wakayama", "Tottori", "Shimane", "Okayama", "Hiroshima", "Yamaguchi",
    "Tokushima", "Kagawa", "Ehime", "Kochi", "Fukuoka", "Saga", "Nagasaki",
    "Kumamoto", "Oita", "Miyazaki", "Kagoshima", "Okinawa",
]  # fmt: skip

PREFECTURES: tuple[str, ...] = get_args(Prefecture)
"""Japan's 47 prefectures by English name, in JIS X 0401 order."""
