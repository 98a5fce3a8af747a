"""Applicant eligibility at every boundary of program-rules.md, under both shipped rulesets."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.eligibility import age_on, eligible_mask, ineligibility
from matching.language import to_profile
from matching.ruleset import load_ruleset
from tests.support.factories import YEAR, applicant, cert

ANNOUNCED = load_ruleset("fy2023-announced")
OFFICIAL = load_ruleset("fy2023-official")


def codes(a, ruleset=ANNOUNCED) -> list[str]:
    return [r.code for r in ineligibility(a, ruleset, YEAR)]


def test_birthday_on_august_31_counts_as_reached():
    assert age_on(dt.date(2003, 8, 31), dt.date(2023, 8, 31)) == 20
    assert age_on(dt.date(2003, 9, 1), dt.date(2023, 8, 31)) == 19


def test_applicant_turning_20_on_august_31_is_eligible():
    assert codes(applicant(date_of_birth=dt.date(2003, 8, 31))) == []


def test_applicant_turning_20_on_september_1_is_too_young():
    assert codes(applicant(date_of_birth=dt.date(2003, 9, 1))) == ["age_out_of_range"]


def test_applicant_aged_40_on_august_31_is_eligible():
    assert codes(applicant(date_of_birth=dt.date(1983, 9, 1))) == []


def test_applicant_turning_41_on_august_31_is_out_of_range_with_a_checkable_detail():
    reasons = ineligibility(applicant(date_of_birth=dt.date(1982, 8, 31)), ANNOUNCED, YEAR)
    assert [(r.code, r.detail) for r in reasons] == [
        ("age_out_of_range", "age 41 on 2023-08-31; allowed 20-40")
    ]


def test_official_ruleset_takes_age_on_august_1_from_18():
    assert codes(applicant(date_of_birth=dt.date(2005, 8, 1)), OFFICIAL) == []
    assert codes(applicant(date_of_birth=dt.date(2005, 8, 2)), OFFICIAL) == ["age_out_of_range"]
    assert codes(applicant(date_of_birth=dt.date(2005, 8, 1))) == ["age_out_of_range"]


@pytest.mark.parametrize(
    ("test", "passing", "failing"),
    [
        ("IELTS", "5.5", "5.0"),
        ("TOEFL_IBT", "72", "71"),
        ("TOEIC", "785", "784"),
        ("CEFR", "B2", "B1"),
    ],
)
def test_english_meets_the_b2_minimum_exactly_at_its_table_score(test, passing, failing):
    assert codes(applicant(languages=[cert("en", test, passing)])) == []
    assert codes(applicant(languages=[cert("en", test, failing)])) == ["language_insufficient"]


def test_jlpt_n2_passes_and_n3_fails_under_the_default_ruleset():
    assert codes(applicant(languages=[cert("ja", "JLPT", "N2")])) == []
    assert codes(applicant(languages=[cert("ja", "JLPT", "N3")])) == ["language_insufficient"]


def test_jlpt_n3_passes_under_the_official_ruleset():
    assert codes(applicant(languages=[cert("ja", "JLPT", "N3")]), OFFICIAL) == []
    assert codes(applicant(languages=[cert("ja", "JLPT", "N4")]), OFFICIAL) == [
        "language_insufficient"
    ]


def test_best_of_several_certificates_counts():
    several = [cert("en", "IELTS", "5.0"), cert("en", "TOEIC", "800"), cert("en", "CEFR", "A2")]
    assert codes(applicant(languages=several)) == []


def test_native_speaker_of_either_language_is_sufficient():
    assert codes(applicant(languages=[cert("ja", "NATIVE")])) == []
    assert codes(applicant(languages=[cert("en", "NATIVE")])) == []


def test_other_languages_do_not_count_and_the_detail_names_the_best_facts():
    a = applicant(languages=[cert("fr", "CEFR", "C2"), cert("en", "IELTS", "5.0")])
    [reason] = ineligibility(a, ANNOUNCED, YEAR)
    assert reason.code == "language_insufficient"
    assert "IELTS 5.0 = CEFR B1" in reason.detail and "CEFR B2" in reason.detail


def test_china_is_excluded_from_the_dac_list():
    [reason] = ineligibility(applicant(nationality="CN"), ANNOUNCED, YEAR)
    assert reason.code == "nationality_not_eligible" and "CN" in reason.detail


def test_pakistan_is_eligible():
    assert codes(applicant(nationality="PK")) == []


def test_a_non_dac_nationality_is_not_eligible():
    assert codes(applicant(nationality="US")) == ["nationality_not_eligible"]


def test_no_education_is_education_missing():
    assert codes(applicant(education=None)) == ["education_missing"]


def test_graduates_are_eligible():
    assert codes(applicant(education={"status": "graduated"})) == []


def test_every_failing_rule_is_reported_in_rule_order():
    a = applicant(date_of_birth=dt.date(1970, 1, 1), languages=[], nationality="US", education=None)
    assert codes(a) == [
        "age_out_of_range",
        "language_insufficient",
        "nationality_not_eligible",
        "education_missing",
    ]


def test_details_never_carry_the_name_or_date_of_birth():
    a = applicant(date_of_birth=dt.date(1970, 1, 2), languages=[], education=None)
    text = " ".join(r.detail for r in ineligibility(a, ANNOUNCED, YEAR))
    assert "Test" not in text and "Person" not in text and "1970" not in text


_BIRTHDAYS = st.dates(dt.date(1975, 1, 1), dt.date(2008, 12, 31)) | st.sampled_from(
    [  # a day either side of both age limits on the reference day, and 29 February
        dt.date(y, m, d)
        for y, m, d in [(2003, 8, 31), (2003, 9, 1), (1982, 8, 31), (1982, 9, 1), (1983, 8, 31),
                        (1983, 9, 1), (2004, 2, 29), (2000, 2, 29), (2003, 8, 30)]
    ]
)  # fmt: skip
_CERTIFICATES = st.lists(
    st.sampled_from(
        [cert("en", "IELTS", s) for s in ("3.0", "4.5", "5.0", "6.5")]
        + [cert("en", "TOEIC", s) for s in ("400", "550", "785")]
        + [cert("en", "CEFR", s) for s in ("A2", "B1", "B2")]
        + [cert("ja", "JLPT", s) for s in ("N5", "N4", "N3", "N1")]
        + [cert("en", "NATIVE"), cert("ja", "NATIVE"), cert("fr", "CEFR", "B2")]
    ),
    max_size=3,
)


@given(
    people=st.lists(
        st.builds(
            dict,
            date_of_birth=_BIRTHDAYS,
            nationality=st.sampled_from(["PK", "IN", "VN", "JP", "US", "FR", "BD"]),
            languages=_CERTIFICATES,
            education=st.none()
            | st.sampled_from(["enrolled", "graduated"]).map(lambda s: {"status": s}),
        ),
        max_size=30,
    ),
    official=st.booleans(),
    year=st.sampled_from([2023, 2024]),
)
def test_the_columns_decide_as_the_rules_explain(people, official, year):
    """`eligible_mask` (a round's decision, on columns) agrees with `ineligibility` (the
    explanation) on every applicant: ages a day either side of each limit, every kind of
    certificate, any nationality and education."""
    ruleset = OFFICIAL if official else ANNOUNCED
    applicants = [applicant(f"A-{n}", **fields) for n, fields in enumerate(people)]
    profiles = [to_profile(a.languages, ruleset) for a in applicants]
    decided = eligible_mask(applicants, ruleset, year, profiles).tolist()
    assert decided == [not ineligibility(a, ruleset, year) for a in applicants]
