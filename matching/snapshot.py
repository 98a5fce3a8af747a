"""What a round sees (Snapshot) and what it computes (RoundResult): plain frozen values.

Imports contracts and the standard library only; nothing here reads a clock, a file or a network.
"""

from dataclasses import dataclass, field

from contracts.vocabulary import Period
from matching.rows import ApplicantView, VacancyView


@dataclass(frozen=True, slots=True)
class EarlierPlacement:
    """A live placement (an offer `proposed` or `confirmed`, lifecycle.md) made by an earlier
    (non-dry-run) round of the same program year: it keeps its seat and its applicant."""

    round_id: str
    applicant_id: str
    vacancy_id: str
    course: str
    state: str = "proposed"


@dataclass(frozen=True)
class Snapshot:
    """The state a round runs on: exactly the events before its `round.requested`.

    `applicants` and `vacancies` hold the current snapshot of every applicant and vacancy of the
    program year that is not withdrawn or closed, in any order (the round sorts them by id).
    `ruleset` is a `matching.ruleset.Ruleset`.
    """

    round_id: str
    program_year: int
    period: Period
    mode: str
    ruleset: object
    applicants: tuple[ApplicantView, ...]
    vacancies: tuple[VacancyView, ...]
    earlier_placements: tuple[EarlierPlacement, ...] = ()
    time_limit_seconds: float = 60.0
    barred_pairs: frozenset[tuple[str, str]] = frozenset()
    """(applicant id, vacancy id) pairs released by a decline this program year: never proposed
    again, under any course (lifecycle.md, later rounds)."""
    lottery_seed: str | None = None
    """The seed of the round's lottery (program-rules.md, "Orders and ranks"): the service
    passes `round_id + ":" + h`, or a dry run's own seed; None means `round_id + ":"`, the
    seed of a round that no inbound event precedes."""

    @property
    def seed(self) -> str:
        """The lottery seed this round draws with."""
        return f"{self.round_id}:" if self.lottery_seed is None else self.lottery_seed


@dataclass(frozen=True, slots=True)
class Placement:
    applicant_id: str
    vacancy_id: str
    company_id: str
    course: str
    course_mode: str
    applicant_rank: int | None
    """1-based position in the applicant's *stated* list, None where none was stated."""
    vacancy_rank: int | None
    """1-based position in the vacancy's *stated* list, None where none was stated."""


@dataclass(frozen=True, slots=True)
class UnplacedReason:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Unplaced:
    applicant_id: str
    reasons: tuple[UnplacedReason, ...]


@dataclass(frozen=True, slots=True)
class IneligibleVacancy:
    vacancy_id: str
    company_id: str
    rule: str
    """Short rule key, e.g. `head_office`, `legal_form`, `sme_limits`."""
    detail: str


@dataclass(frozen=True)
class RoundResult:
    """Everything a round computed; placements and unplaced are sorted by applicant id."""

    round_id: str
    program_year: int
    period: Period
    mode: str
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...]
    applicants: int
    eligible: int
    vacancies: int
    slots: int
    status: str
    objective: float
    bound: float
    solve_seconds: float
    placements_digest: str
    ineligible_vacancies: tuple[IneligibleVacancy, ...] = ()
    rank_histogram: dict[int, int] = field(default_factory=dict)
    """How many placed applicants got their 1st, 2nd, ... choice (in their full order)."""
    lottery_seed: str = ""
    """The seed the round's lottery drew with (published in round.completed)."""
    stable_placed: int | None = None
    """`stable-max` only: the placements of the lottery-broken `stable` matching of the round."""
    blocking_pairs: int | None = None
    """`optimal` only: admissible pairs that block the result under the lottery-broken orders
    (the stability `optimal` gave up for its placements)."""
