"""The pure core of intern-match: rulesets, eligibility, ranking, solvers, validators.

Imports contracts, numpy and ortools (in matching.solver only); never services.
"""

from matching.audit import audit_round
from matching.digest import placements_digest
from matching.errors import RoundFailed, RulesetError, SolverUnavailable, TooManyPairs
from matching.hosts import host_ineligibility
from matching.lottery import chain_step, draw_positions, lottery_number, round_seed
from matching.offers import OfferRules, PeriodDates, deadline
from matching.problem import Limits, Problem, Solution
from matching.round import build_market, run_round
from matching.rows import (
    ApplicantRow,
    ApplicantView,
    VacancyRow,
    VacancyView,
    applicant_rows,
    vacancy_rows,
)
from matching.ruleset import (
    DEFAULT_RULESET,
    Ruleset,
    available_rulesets,
    load_ruleset,
)
from matching.snapshot import (
    EarlierPlacement,
    IneligibleVacancy,
    Placement,
    RoundResult,
    Snapshot,
    Unplaced,
    UnplacedReason,
)
from matching.solver import MODES, solve

__all__ = [
    "ApplicantRow",
    "ApplicantView",
    "VacancyRow",
    "VacancyView",
    "applicant_rows",
    "vacancy_rows",
    "DEFAULT_RULESET",
    "MODES",
    "EarlierPlacement",
    "IneligibleVacancy",
    "Limits",
    "OfferRules",
    "PeriodDates",
    "Placement",
    "Problem",
    "RoundFailed",
    "RoundResult",
    "Ruleset",
    "RulesetError",
    "Snapshot",
    "Solution",
    "SolverUnavailable",
    "TooManyPairs",
    "Unplaced",
    "UnplacedReason",
    "audit_round",
    "available_rulesets",
    "build_market",
    "chain_step",
    "deadline",
    "draw_positions",
    "host_ineligibility",
    "load_ruleset",
    "lottery_number",
    "placements_digest",
    "round_seed",
    "run_round",
    "solve",
]
