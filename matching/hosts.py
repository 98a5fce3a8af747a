"""Host eligibility: head office in Japan, an allowed legal form, and SME (or mid-sized) size.

Imports matching only; never services or ortools.
"""

from matching.rows import CompanyView, VacancyView
from matching.ruleset import Ruleset
from matching.snapshot import IneligibleVacancy


def host_ineligibility(vacancy: VacancyView, ruleset: Ruleset) -> IneligibleVacancy | None:
    """The first host rule the vacancy's company fails, or None when it may take interns."""
    company = vacancy.company
    failure = None
    if company.head_office_country != ruleset.head_office_country:
        failure = (
            "head_office",
            f"head office in {company.head_office_country}; "
            f"required in {ruleset.head_office_country}",
        )
    elif company.legal_form not in ruleset.legal_forms:
        allowed = ", ".join(sorted(ruleset.legal_forms))
        failure = ("legal_form", f"legal form {company.legal_form}; allowed {allowed}")
    elif not is_sme(company.industry, company.capital_jpy, company.employees, ruleset):
        failure = ("sme_limits", _size_detail(company, ruleset))
    if failure is None:
        return None
    return IneligibleVacancy(vacancy.vacancy_id, company.company_id, *failure)


def is_sme(industry: str, capital_jpy: int, employees: int, ruleset: Ruleset) -> bool:
    """Capital or employees at or under the industry's limit, or mid-sized where allowed."""
    limit = ruleset.sme_limits[industry]
    if capital_jpy <= limit.capital_jpy or employees <= limit.employees:
        return True
    return ruleset.midsize_employees is not None and employees <= ruleset.midsize_employees


def _size_detail(company: CompanyView, ruleset: Ruleset) -> str:
    limit = ruleset.sme_limits[company.industry]
    capital, employees = company.capital_jpy, company.employees
    detail = (
        f"{company.industry}: capital JPY {capital:,} and {employees} employees; "
        f"limits JPY {limit.capital_jpy:,} or {limit.employees} employees"
    )
    if ruleset.midsize_employees is not None:
        detail += f", or up to {ruleset.midsize_employees} employees (mid-sized)"
    return detail
