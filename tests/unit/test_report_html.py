"""The round report's model and its HTML page, from hand-built reports (no I/O)."""

import re
from collections import Counter

from matching.snapshot import IneligibleVacancy
from services.ops.report import RoundReport, format_figure
from services.ops.report_html import render_html


def _report(**changes: object) -> RoundReport:
    report = RoundReport("2023-summer-1", 2023, "summer", "optimal", "optimal")
    report.answer = {"status": "optimal", "objective": 1234.5, "bound": 1234.5,
                     "solve_seconds": 0.4123, "placed": 30, "slots": 40}  # fmt: skip
    report.placed_by_course = Counter({"A": 5, "B": 25})
    report.slots_by_course = Counter({"A": 20, "B": 25, "C": 4})
    report.unplaced_by_reason = Counter({"outranked": 7, "language_insufficient": 12})
    report.rank_histogram = Counter({"choice 10": 1, "no list": 4, "choice 2": 6, "choice 1": 19})
    report.by_nationality = Counter({"PK": 20, "VN": 10})
    report.by_prefecture = Counter({"Osaka": 18, "Tokyo": 12})
    report.by_industry = Counter({"software": 30})
    report.ineligible = [IneligibleVacancy("V-9", "C-9", "head_office", "head office in US")]
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def test_fill_rates_list_every_course_offered_or_placed_with_its_slots():
    report = _report(placed_by_course=Counter({"A": 5, "B2": 1}))

    assert report.fill_rates() == [
        ("summer · A", 5, 20), ("summer · B", 0, 25), ("summer · B2", 1, 0), ("summer · C", 0, 4)
    ]  # fmt: skip


def test_ranks_run_from_first_choice_by_number_with_no_list_last():
    labels = [label for label, _ in _report().ranks()]

    assert labels == ["choice 1", "choice 2", "choice 10", "no list"]


def test_the_page_draws_one_svg_chart_per_section_with_data_and_no_external_resource():
    page = render_html(_report())

    assert page.count("<svg") == 6  # fill, nationality, prefecture, industry, unplaced, rank
    assert "25/25 (100%)" in page and "0/4 (0%)" in page and "5/20 (25%)" in page
    assert not re.search(r"<script|<link|src=|@import|url\(", page)
    assert "head_office" in page and "V-9" in page


def test_an_empty_section_says_none_instead_of_drawing_an_empty_chart():
    page = render_html(_report(by_industry=Counter(), ineligible=[]))

    assert page.count("<svg") == 5
    assert page.count('<p class="empty">none</p>') == 2


def test_labels_are_escaped_so_a_payload_cannot_inject_markup():
    page = render_html(_report(by_industry=Counter({"<script>alert(1)</script>": 3})))

    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_more_than_fifteen_categories_fold_the_smallest_into_other():
    many = Counter({f"P{n:02d}": 100 - n for n in range(20)})

    page = render_html(_report(by_prefecture=many))

    assert ">P13<" in page and ">P14<" not in page
    assert ">other<" in page and f">{sum(100 - n for n in range(14, 20))}<" in page


def test_solver_seconds_show_milliseconds_and_counts_show_separators():
    assert format_figure("solve_seconds", 0.4123) == "0.412 s"
    assert format_figure("applicants", 100000) == "100,000"
    assert format_figure("dry_run", False) == "False"
