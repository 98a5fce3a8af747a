"""Round summaries are written for people (the demo's and `intern-match report`'s): seconds to
the millisecond, numbers with separators, and the digest on one line of its own however narrow
the terminal, so it can be copied whole."""

import io
import re
from collections import Counter

from rich.console import Console

from services.ops.demo import _print_summary
from services.ops.report import RoundReport, print_report
from services.ops.summary import RoundOutcome

DIGEST = "sha256:" + "3f5a" * 16


def test_figures_are_for_people_and_the_digest_is_never_wrapped():
    outcome = RoundOutcome(
        "2023-summer-1",
        placed_by_course=Counter({"B": 1}),
        unplaced_by_reason=Counter(),
        completed={
            "applicants": 12345,
            "solve_seconds": 0.0038880699999026547,
            "objective": 1615.0,
            "placements_digest": DIGEST,
        },
    )
    out = io.StringIO()
    _print_summary(Console(file=out, width=50, color_system=None), [outcome])
    text = out.getvalue()
    assert re.search(r"solve_seconds\s*│\s*0\.004 s", text)
    assert "12,345" in text and "1,615.00" in text
    assert not re.search(r"\d\.\d{5,}", text)
    assert f"digest {DIGEST}\n" in text


def test_the_round_report_prints_its_digest_whole_too():
    report = RoundReport(
        "2023-summer-1", 2023, "summer", "optimal", "optimal",
        answer={"placed": 1234, "solve_seconds": 12.3456789, "placements_digest": DIGEST},
    )  # fmt: skip
    out = io.StringIO()
    print_report(Console(file=out, width=50, color_system=None), report)
    text = out.getvalue()
    assert f"digest {DIGEST}\n" in text
    assert re.search(r"solve_seconds\s*│\s*12\.346 s", text) and "1,234" in text
