"""A round's report from the service database (aggregate counts only) and its terminal rendering.

Reads tables and the outbox, recomputes host eligibility with matching; never a broker.
"""

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, select
from sqlmodel import col

from contracts import VacancyPosted
from matching import IneligibleVacancy, host_ineligibility
from services.ops.errors import RoundNotFoundError
from services.ops.funnel import Funnel, load_funnel, print_funnel
from services.ops.summary import round_outcome
from services.ops.terminal import shown
from services.rounds.runner import RulesetFor
from services.store.tables import ApplicantRow, PlacementRow, RoundRow, VacancyRow

SOLVER_FIGURES = ("status", "objective", "bound", "solve_seconds", "stable_placed",
                  "gained_over_stable", "blocking_pairs")  # fmt: skip
ROUND_FIGURES = ("mode", "dry_run", "applicants", "eligible", "placed", "unplaced",
                 "vacancies", "slots", "slots_filled", "lottery_seed",
                 "placements_digest")  # fmt: skip
"""Keys of round.completed shown; `gained_over_stable` (stable-max: placed - stable_placed) is
derived by the report, `blocking_pairs` is what optimal gave up of stability."""


@dataclass
class RoundReport:
    """What a round did, in counts: nothing here names a person."""

    round_id: str
    program_year: int
    period: str
    mode: str
    status: str
    answer: dict[str, Any] = field(default_factory=dict)
    placed_by_course: Counter[str] = field(default_factory=Counter)
    slots_by_course: Counter[str] = field(default_factory=Counter)
    unplaced_by_reason: Counter[str] = field(default_factory=Counter)
    rank_histogram: Counter[str] = field(default_factory=Counter)
    by_nationality: Counter[str] = field(default_factory=Counter)
    by_prefecture: Counter[str] = field(default_factory=Counter)
    by_industry: Counter[str] = field(default_factory=Counter)
    ineligible: list[IneligibleVacancy] = field(default_factory=list)
    funnel: Funnel | None = None
    """The round's offers as they stand (lifecycle.md); None for a dry run."""

    def fill_rates(self) -> list[tuple[str, int, int]]:
        """(`period · course`, placed, slots open to the round) per course offered or placed."""
        courses = sorted(set(self.slots_by_course) | set(self.placed_by_course))
        return [(f"{self.period} · {c}", self.placed_by_course[c], self.slots_by_course[c])
                for c in courses]  # fmt: skip

    def ranks(self) -> list[tuple[str, int]]:
        """The rank histogram, first choice first, `no list` last."""

        def order(label: str) -> int:
            return int(label.split()[-1]) if label.startswith("choice") else 10**9

        return sorted(self.rank_histogram.items(), key=lambda item: order(item[0]))


def load_report(
    engine: Engine, round_id: str, rulesets: RulesetFor, as_of: dt.datetime | None = None
) -> RoundReport:
    """Gather the round's figures; vacancies are read as they stand now (their latest version),
    offers too, an open offer counting as past its deadline at `as_of` (default: now)."""
    with engine.connect() as conn:
        row = conn.execute(select(RoundRow).where(col(RoundRow.round_id) == round_id)).first()
        if row is None:
            raise RoundNotFoundError(f"no round {round_id!r} in the service database")
        report = RoundReport(round_id, row.program_year, row.period, row.mode, row.status)
        _count_placements(conn, report)
        vacancies = conn.execute(
            select(col(VacancyRow.payload)).where(
                col(VacancyRow.program_year) == row.program_year,
                col(VacancyRow.closed).is_(False),
            )
        ).scalars()
        hosts = [VacancyPosted.model_validate(p, strict=False) for p in vacancies if p]
        earlier = _earlier_placements(conn, row)
    outcome = round_outcome(engine, round_id)
    report.answer = dict(outcome.completed or {})
    if isinstance(stable := report.answer.get("stable_placed"), int):
        report.answer["gained_over_stable"] = int(str(report.answer.get("placed", 0))) - stable
    report.placed_by_course = outcome.placed_by_course
    report.unplaced_by_reason = outcome.unplaced_by_reason
    report.rank_histogram = outcome.rank_histogram
    _count_hosts(report, hosts, rulesets, earlier)
    if not row.dry_run:
        report.funnel = load_funnel(engine, round_id, as_of or dt.datetime.now(dt.UTC))
    return report


def _count_placements(conn: Connection, report: RoundReport) -> None:
    query = (
        select(col(ApplicantRow.payload), col(VacancyRow.payload))
        .select_from(PlacementRow)
        .outerjoin(ApplicantRow, col(ApplicantRow.applicant_id) == PlacementRow.applicant_id)
        .outerjoin(VacancyRow, col(VacancyRow.vacancy_id) == PlacementRow.vacancy_id)
        .where(col(PlacementRow.round_id) == report.round_id)
    )
    for applicant, vacancy in conn.execute(query):
        applicant, vacancy = applicant or {}, vacancy or {}
        report.by_nationality[applicant.get("nationality") or "unknown"] += 1
        report.by_prefecture[(vacancy.get("location") or {}).get("prefecture") or "unknown"] += 1
        report.by_industry[(vacancy.get("company") or {}).get("industry") or "unknown"] += 1


def _earlier_placements(conn: Connection, row: Any) -> Counter[tuple[str, str]]:
    """Seats of the program year taken by rounds that ran before this one, per (vacancy, course)."""
    query = (
        select(col(PlacementRow.vacancy_id), col(PlacementRow.course))
        .join(RoundRow, col(RoundRow.round_id) == PlacementRow.round_id)
        .where(
            col(PlacementRow.program_year) == row.program_year,
            col(RoundRow.ordinal) < row.ordinal,
        )
    )
    return Counter((v, c) for v, c in conn.execute(query))


def _count_hosts(
    report: RoundReport, hosts: list[VacancyPosted], rulesets: RulesetFor,
    earlier: Counter[tuple[str, str]],
) -> None:  # fmt: skip
    ruleset = rulesets(report.program_year)
    if ruleset is None:
        return
    running = set(ruleset.courses_in(report.period))
    for vacancy in sorted(hosts, key=lambda v: v.vacancy_id):
        failure = host_ineligibility(vacancy, ruleset)
        if failure is not None:
            report.ineligible.append(failure)
            continue
        for slot in vacancy.slots:
            if slot.course in running:
                left = slot.capacity - earlier[(vacancy.vacancy_id, slot.course)]
                report.slots_by_course[slot.course] += max(0, left)


def print_report(console: Console, report: RoundReport) -> None:
    """The report as rich tables: figures, fill, unplaced reasons, ranks, ineligible vacancies."""
    head = Table(title=shown(f"round {report.round_id} ({report.program_year} {report.period})"))
    head.add_column("figure")
    head.add_column("value", overflow="fold")
    for key in (*ROUND_FIGURES, *SOLVER_FIGURES, "reason"):
        if key in report.answer and key != DIGEST:
            head.add_row(key, shown(format_figure(key, report.answer[key])))
    if not report.answer:
        head.add_row("status", shown(report.status))
    console.print(head)
    print_digest(console, report.answer)
    if report.funnel is not None:
        print_funnel(console, report.funnel)
    fill = Table(title="placed per course and period")
    for column in ("period · course", "placed", "slots", "fill"):
        fill.add_column(column, justify="left" if column.startswith("period") else "right")
    for label, placed, slots in report.fill_rates():
        fill.add_row(
            shown(label), str(placed), str(slots), f"{placed / slots:.0%}" if slots else "-"
        )
    console.print(fill)
    console.print(_counts("unplaced by reason", "reason", report.unplaced_by_reason.most_common()))
    console.print(_counts("preference rank applicants got", "rank", report.ranks()))
    bad = Table(title=f"ineligible vacancies ({len(report.ineligible)})")
    for column in ("vacancy", "company", "rule", "detail"):
        bad.add_column(column, overflow="fold")
    for v in report.ineligible:
        bad.add_row(*(shown(cell) for cell in (v.vacancy_id, v.company_id, v.rule, v.detail)))
    console.print(bad)


DIGEST = "placements_digest"


def print_digest(console: Console, answer: Mapping[str, Any]) -> None:
    """The round's digest on one line of its own, never wrapped, so it can be copied whole."""
    if DIGEST in answer:
        console.print(f"digest {shown(answer[DIGEST])}", soft_wrap=True)


def format_figure(key: str, value: Any) -> str:
    """A round figure for people: seconds to the millisecond, other numbers with separators."""
    if key == "solve_seconds" and isinstance(value, int | float):
        return f"{value:.3f} s"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _counts(title: str, label: str, rows: list[tuple[str, int]]) -> Table:
    table = Table(title=title)
    table.add_column(label)
    table.add_column("applicants", justify="right")
    for key, n in rows:
        table.add_row(shown(key), str(n))
    return table
