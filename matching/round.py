"""One round: snapshot -> eligibility -> hosts -> admissible -> Problem -> solve -> result.

Imports matching only (the solver through its facade only); never services.
"""

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from matching.admissible import find_admissible, to_seats
from matching.digest import placements_digest
from matching.eligibility import eligible_mask, ineligibility
from matching.hosts import host_ineligibility
from matching.language import LanguageProfile, to_profile
from matching.problem import Limits, Problem, Solution
from matching.ranking import Ranked, to_problem
from matching.rows import ApplicantView, CertificateView, VacancyView
from matching.ruleset import Ruleset
from matching.snapshot import (
    IneligibleVacancy,
    Placement,
    RoundResult,
    Snapshot,
    Unplaced,
    UnplacedReason,
)
from matching.solver import prepare, solve
from matching.validate import count_blocking

_T = TypeVar("_T")


@dataclass(frozen=True)
class Market:
    """What a round puts before the solver, and who was turned away before it and why."""

    ranked: Ranked
    turned_away: dict[str, tuple[UnplacedReason, ...]]
    ineligible_vacancies: tuple[IneligibleVacancy, ...]
    applicants: tuple[ApplicantView, ...]
    """The snapshot's applicants in id order."""
    in_market: tuple[bool, ...]
    """Per one of `applicants`, whether it is the market's (else turned away): the market's are
    in the order `find_admissible` was given them. (Per position, not per id: a snapshot that
    holds an id twice, which the store's key rules out, may hold one eligible copy.)"""


def run_round(snapshot: Snapshot, limits: Limits | None = None) -> RoundResult:
    """Place the snapshot's applicants; every applicant ends in `placements` or `unplaced`."""
    prepare(snapshot.mode)
    market = build_market(snapshot)
    limits = limits or Limits(time_limit_seconds=snapshot.time_limit_seconds)
    solution, if_unplaced = _solved_beside(
        market.ranked.problem, snapshot.mode, limits, lambda: _if_unplaced(snapshot, market)
    )
    placements = _placements(market.ranked, solution, _ruleset(snapshot))
    placed = {p.applicant_id for p in placements}
    unplaced = tuple(u for u in if_unplaced if u.applicant_id not in placed)
    seats = market.ranked.admissible.seats
    return RoundResult(
        round_id=snapshot.round_id,
        program_year=snapshot.program_year,
        period=snapshot.period,
        mode=snapshot.mode,
        placements=placements,
        unplaced=unplaced,
        applicants=len(snapshot.applicants),
        eligible=len(market.ranked.admissible.applicants),
        vacancies=len(seats.vacancies),
        slots=int(seats.capacity.sum()),
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        solve_seconds=solution.seconds,
        placements_digest=placements_digest(placements),
        ineligible_vacancies=market.ineligible_vacancies,
        rank_histogram=_histogram(market.ranked, solution),
        lottery_seed=snapshot.seed,
        blocking_pairs=_blocking(market.ranked, solution) if snapshot.mode == "optimal" else None,
        stable_placed=solution.baseline if snapshot.mode == "stable-max" else None,
    )


def build_market(snapshot: Snapshot) -> Market:
    """Everything before the solver; the result never depends on the order of the snapshot."""
    ruleset = _ruleset(snapshot)
    earlier = {p.applicant_id: p for p in snapshot.earlier_placements}
    ordered = sorted(snapshot.applicants, key=lambda a: a.applicant_id)
    profile_of = _Profiles(ruleset)
    listed = [profile_of(a) for a in ordered]
    profiles = {a.applicant_id: p for a, p in zip(ordered, listed, strict=True)}
    ok = eligible_mask(ordered, ruleset, snapshot.program_year, listed)
    eligible, turned_away, in_market = [], {}, []
    for a, fine in zip(ordered, ok.tolist(), strict=True):
        in_market.append(fine and a.applicant_id not in earlier)
        if in_market[-1]:
            eligible.append(a)
            continue
        reasons = ineligibility(a, ruleset, snapshot.program_year, profile_of(a))
        if fine == bool(reasons):
            raise AssertionError(f"eligibility rules disagree on applicant {a.applicant_id}")
        if a.applicant_id in earlier:
            held = earlier[a.applicant_id]
            detail = f"{held.state} by round {held.round_id} of {snapshot.program_year}"
            reasons += (UnplacedReason("already_placed", detail),)
        turned_away[a.applicant_id] = reasons
    hosts, ineligible_vacancies = _eligible_hosts(snapshot, ruleset)
    seed, courses = snapshot.seed, ruleset.courses_in(snapshot.period)
    seats = to_seats(hosts, _capacity_left(snapshot, hosts), courses, seed)
    admissible = find_admissible(
        eligible, seats, ruleset, snapshot.period, seed, snapshot.barred_pairs, profiles
    )
    ranked = to_problem(admissible)
    return Market(ranked, turned_away, ineligible_vacancies, tuple(ordered), tuple(in_market))


class _Profiles:
    """Applicants' language profiles, computed once per distinct list of certificates."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.known: dict[tuple[CertificateView, ...], LanguageProfile] = {}

    def __call__(self, a: ApplicantView) -> LanguageProfile:
        key = tuple(a.languages)
        if (profile := self.known.get(key)) is None:
            profile = self.known[key] = to_profile(key, self.ruleset)
        return profile


def _ruleset(snapshot: Snapshot) -> Ruleset:
    if not isinstance(snapshot.ruleset, Ruleset):
        raise TypeError(f"snapshot.ruleset must be a Ruleset, not {type(snapshot.ruleset)}")
    return snapshot.ruleset


def _eligible_hosts(
    snapshot: Snapshot, ruleset: Ruleset
) -> tuple[list[VacancyView], tuple[IneligibleVacancy, ...]]:
    hosts, failures = [], []
    for v in sorted(snapshot.vacancies, key=lambda v: v.vacancy_id):
        if v.program_year != snapshot.program_year:
            continue
        failure = host_ineligibility(v, ruleset)
        if failure is None:
            hosts.append(v)
        else:
            failures.append(failure)
    return hosts, tuple(failures)


def _capacity_left(snapshot: Snapshot, hosts: list[VacancyView]) -> dict[tuple[str, str], int]:
    """Capacity per (vacancy, course) less the earlier placements of the program year."""
    taken = Counter((p.vacancy_id, p.course) for p in snapshot.earlier_placements)
    return {
        (v.vacancy_id, s.course): max(0, s.capacity - taken[(v.vacancy_id, s.course)])
        for v in hosts
        for s in v.slots
    }


def _placements(ranked: Ranked, solution: Solution, ruleset: Ruleset) -> tuple[Placement, ...]:
    adm, problem = ranked.admissible, ranked.problem
    who = np.flatnonzero(solution.assignment >= 0)
    chosen = solution.assignment[who]
    pair = ranked.opt_pair[chosen]
    seat = problem.opt_seat[chosen]
    vacancies, courses = adm.seats.vacancies, adm.seats.seat_course
    modes = {c: ruleset.courses[c].mode for c in set(courses)}
    placements = [
        Placement(
            applicant_id=adm.applicants[i].applicant_id,
            vacancy_id=vacancies[j].vacancy_id,
            company_id=vacancies[j].company.company_id,
            course=courses[k],
            course_mode=modes[courses[k]],
            applicant_rank=app_rank or None,
            vacancy_rank=vac_rank or None,
        )
        for i, j, k, app_rank, vac_rank in zip(
            who.tolist(),
            adm.pair_vac[pair].tolist(),
            seat.tolist(),
            adm.pair_app_stated[pair].tolist(),
            adm.pair_vac_stated[pair].tolist(),
            strict=True,
        )
    ]  # collected in lottery order, returned in applicant id order
    return tuple(sorted(placements, key=lambda p: p.applicant_id))


def _blocking(ranked: Ranked, solution: Solution) -> int:
    """Blocking pairs of the result under the strict (lottery-broken) orders of `stable`."""
    return count_blocking(ranked.problem, solution.assignment)


def _histogram(ranked: Ranked, solution: Solution) -> dict[int, int]:
    chosen = solution.assignment[solution.assignment >= 0]
    ranks = Counter(ranked.pair_app_rank[ranked.opt_pair[chosen]].tolist())
    return dict(sorted(ranks.items()))


def _solved_beside(
    problem: Problem, mode: str, limits: Limits, beside: Callable[[], _T]
) -> tuple[Solution, _T]:
    """`solve(problem, mode, limits)` and `beside()`: at the same time where the solve runs in
    another process (`optimal`: the min-cost-flow worker; this thread only waits on its pipe),
    one after the other where it would hold this process (the other modes solve in Python or
    build their model here)."""
    if mode != "optimal":
        return solve(problem, mode, limits), beside()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="round-solve") as pool:
        solving = pool.submit(solve, problem, mode, limits)
        done_beside = beside()  # an error here is raised once the solve has ended
        return solving.result(), done_beside


def _if_unplaced(snapshot: Snapshot, market: Market) -> list[Unplaced]:
    """Every applicant of the snapshot, in id order, with the reasons it would be given if the
    round does not place it (computed while the solver works: the placed are left out then)."""
    ruleset, adm = _ruleset(snapshot), market.ranked.admissible
    found = np.zeros(len(adm.applicants), dtype=np.int64)  # admissible vacancies, as given
    found[adm.app_given] = np.bincount(adm.pair_app, minlength=len(adm.applicants))
    counts = iter(found.tolist())
    running = ruleset.courses_in(snapshot.period)
    why: dict[tuple[tuple[str, ...], int], UnplacedReason] = {}  # the same facts, the same reason
    turned_away, unplaced = market.turned_away, []
    for a, inside in zip(market.applicants, market.in_market, strict=True):
        if inside:  # the market's next applicant
            key = (tuple(a.courses), next(counts))
            if (reason := why.get(key)) is None:
                reason = why[key] = _why_not_placed(*key, running, snapshot.mode, snapshot.period)
            reasons: tuple[UnplacedReason, ...] = (reason,)
        else:
            reasons = turned_away[a.applicant_id]
        unplaced.append(Unplaced(a.applicant_id, reasons))
    if next(counts, None) is not None:
        raise AssertionError("the market's applicants are not the snapshot's less the turned away")
    return unplaced


def _why_not_placed(
    courses: tuple[str, ...], n_vacancies: int, running: tuple[str, ...], mode: str, period: str
) -> UnplacedReason:
    """Why an eligible applicant applying for `courses`, with `n_vacancies` admissible
    vacancies, is not placed, in a round of `mode` in `period` (running the courses `running`)."""
    if not set(courses) & set(running):
        detail = f"applied for {', '.join(courses)}; the {period} period runs {', '.join(running)}"
        return UnplacedReason("no_course_in_period", detail)
    if n_vacancies == 0:
        detail = (
            f"no vacancy with slots left for {', '.join(c for c in courses if c in running)} "
            "fits your residence, languages and the preference lists"
        )
        return UnplacedReason("no_eligible_vacancy", detail)
    yours = f"your {n_vacancies} admissible vacanc{'y was' if n_vacancies == 1 else 'ies were'}"
    if mode == "optimal":
        detail = (
            f"{yours} filled: a placement for you would have displaced another placement "
            "at equal or better cost"
        )
    elif mode == "stable-max":
        detail = f"{yours} filled by applicants they rank at least as high"
    else:
        detail = f"{yours} filled by applicants they rank higher"
    return UnplacedReason("outranked", detail)
