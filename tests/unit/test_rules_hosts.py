"""Host eligibility: head office, legal form, and SME limits at and one above every boundary."""

import pytest

from matching.hosts import host_ineligibility
from matching.ruleset import load_ruleset
from tests.support.factories import company, vacancy

ANNOUNCED = load_ruleset("fy2023-announced")
OFFICIAL = load_ruleset("fy2023-official")

LIMITS = [
    ("manufacturing", 300_000_000, 300),
    ("construction", 300_000_000, 300),
    ("transport", 300_000_000, 300),
    ("other", 300_000_000, 300),
    ("wholesale", 100_000_000, 100),
    ("services", 50_000_000, 100),
    ("retail", 50_000_000, 50),
    ("software", 300_000_000, 300),
    ("hotel", 50_000_000, 200),
]


def host(ruleset=ANNOUNCED, **company_fields):
    return host_ineligibility(vacancy(company=company(**company_fields)), ruleset)


@pytest.mark.parametrize(("industry", "capital", "employees"), LIMITS)
def test_capital_at_the_limit_qualifies_and_one_yen_above_does_not(industry, capital, employees):
    big = employees + 1
    assert host(industry=industry, capital_jpy=capital, employees=big) is None
    failure = host(industry=industry, capital_jpy=capital + 1, employees=big)
    assert failure is not None and failure.rule == "sme_limits"


@pytest.mark.parametrize(("industry", "capital", "employees"), LIMITS)
def test_employees_at_the_limit_qualify_and_one_above_do_not(industry, capital, employees):
    rich = capital + 1
    assert host(industry=industry, capital_jpy=rich, employees=employees) is None
    failure = host(industry=industry, capital_jpy=rich, employees=employees + 1)
    assert failure is not None and failure.rule == "sme_limits"
    assert industry in failure.detail and f"{employees} employees" in failure.detail


def test_official_ruleset_admits_mid_sized_companies_up_to_2000_employees():
    rich = 10**12
    assert host(OFFICIAL, industry="retail", capital_jpy=rich, employees=2000) is None
    assert host(OFFICIAL, industry="retail", capital_jpy=rich, employees=2001) is not None
    assert host(ANNOUNCED, industry="retail", capital_jpy=rich, employees=2000) is not None


def test_head_office_abroad_is_ineligible_and_named():
    failure = host(head_office_country="US", company_id="C-9")
    assert failure is not None
    assert (failure.vacancy_id, failure.company_id, failure.rule) == ("V-1", "C-9", "head_office")
    assert "US" in failure.detail


@pytest.mark.parametrize("form", ["industry_association", "npo", "local_government", "other"])
def test_only_companies_may_host(form):
    failure = host(legal_form=form)
    assert failure is not None and failure.rule == "legal_form" and form in failure.detail
