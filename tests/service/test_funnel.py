"""The offers' funnel in reports (issue 13, item 7): per round the offers made, confirmed,
released by reason, still open and past their deadline, answers to released offers, and the
seats a later round refilled; `report --year` shows the year's rounds side by side, in the
terminal and as HTML. Built on rows as the intake stores them (SQLite)."""

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update
from typer.testing import CliRunner

from services.cli.main import app
from services.ops.funnel import load_funnel, load_year
from services.ops.report_html import render_year_html
from services.outbound.events import to_round_failed
from services.outbound.outbox import enqueue
from services.store.db import make_engine, migrate
from services.store.tables import PlacementAnswerRow, PlacementRow, RoundRow, table_of

MAY = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)
AS_OF = dt.datetime(2023, 5, 20, tzinfo=dt.UTC)
S2_RAN = MAY + dt.timedelta(days=5)
"""The time of round S-2's request: its expiry releases offers at this time, before it computes."""


def _round(round_id: str, ordinal: int, dry_run: bool = False) -> dict[str, object]:
    return {"round_id": round_id, "ordinal": ordinal, "program_year": 2023, "period": "summer",
            "mode": "optimal", "dry_run": dry_run, "status": "optimal",
            "final_event_id": f"round-completed-{round_id}"}  # fmt: skip


def _offer(round_id: str, applicant: str, vacancy: str, state: str = "proposed", *,
           reason: str | None = None, due: dt.datetime = AS_OF + dt.timedelta(days=1),
           released_at: dt.datetime = MAY) -> dict[str, object]:  # fmt: skip
    return {"round_id": round_id, "applicant_id": applicant, "program_year": 2023,
            "period": "summer", "vacancy_id": vacancy, "course": "B", "state": state,
            "respond_by": due, "accepted_by": "", "released_reason": reason,
            "released_at": released_at if state == "released" else None,
            "company_id": "C-1"}  # fmt: skip


def _answer(round_id: str, applicant: str, outcome: str) -> dict[str, object]:
    return {"placement_id": f"{round_id}/{applicant}", "round_id": round_id, "party": "host",
            "decision": "accepted", "source": "/sme-portal", "event_id": f"a-{applicant}",
            "time": MAY, "outcome": outcome}  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> tuple[Engine, str]:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    migrate(engine)
    late = AS_OF - dt.timedelta(seconds=1)
    with engine.begin() as c:
        c.execute(insert(table_of(RoundRow)), [_round("S-1", 1), _round("S-2", 2),
                                               _round("S-dry", 3, dry_run=True)])  # fmt: skip
        c.execute(insert(table_of(PlacementRow)), [
            _offer("S-1", "A-1", "V-1", "confirmed"),
            _offer("S-1", "A-2", "V-1", "released", reason="declined_by_host"),
            _offer("S-1", "A-3", "V-2", "released", reason="expired"),
            _offer("S-1", "A-4", "V-2", "released", reason="declined_by_applicant"),
            _offer("S-1", "A-5", "V-3", due=late),
            _offer("S-1", "A-6", "V-3", due=AS_OF),
            _offer("S-1", "A-9", "V-4", "released", reason="expired", released_at=AS_OF),
            _offer("S-1", "A-10", "V-5", "released", reason="expired", released_at=S2_RAN),
            _offer("S-2", "A-2", "V-2"),
            _offer("S-2", "A-7", "V-1"),
            _offer("S-2", "A-8", "V-4"),
            _offer("S-2", "A-11", "V-5"),
        ])  # fmt: skip
        ran = to_round_failed("S-2", "only its time matters here", S2_RAN)
        enqueue(c, [ran], "S-2")
        c.execute(update(table_of(RoundRow)).where(table_of(RoundRow).c.round_id == "S-2")
                  .values(final_event_id=ran.id))  # fmt: skip
        c.execute(insert(table_of(PlacementAnswerRow)), [
            _answer("S-1", "A-1", "confirmed"), _answer("S-1", "A-2", "released"),
            _answer("S-1", "A-2", "ignored_released"), _answer("S-1", "A-4", "released"),
        ])  # fmt: skip
    yield engine, url
    engine.dispose()


def test_a_rounds_funnel_counts_each_state_reason_deadline_and_answer(database):
    engine, _ = database
    funnel = load_funnel(engine, "S-1", AS_OF)
    assert (funnel.offers, funnel.confirmed, funnel.open) == (8, 1, 2)
    assert dict(funnel.released) == {
        "declined_by_host": 1, "expired": 3, "declined_by_applicant": 1,
    }  # fmt: skip
    assert funnel.past_deadline == 1  # due one second before as_of; the one due at it is not
    assert (funnel.answers, funnel.answers_after_release) == (4, 1)
    assert funnel.refilled == 0


def test_a_supplementary_round_counts_the_freed_seats_it_refilled(database):
    engine, _ = database
    first, second, dry = load_year(engine, 2023, AS_OF)
    assert [f.round_id for f in (first, second, dry)] == ["S-1", "S-2", "S-dry"]
    # before S-2 ran, S-1 had freed one seat on V-1 and two on V-2, and S-2's own expiry (at
    # its request's time, before it computed) one on V-5; S-2 offers V-2, V-1, V-5 and V-4,
    # whose seat S-1's offer left only after S-2 ran
    assert (second.offers, second.refilled) == (4, 3)
    assert dry.dry_run and dry.offers == 0


def test_report_year_prints_rounds_side_by_side_and_writes_html(database, tmp_path):
    _, url = database
    page = tmp_path / "year.html"
    env = {"INTERN_MATCH_DATABASE_URL": url, "COLUMNS": "200"}
    args = ["report", "--year", "2023", "--as-of", "2023-05-20T00:00:00+00:00", "--html", page]
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code == 0, result.output
    offers = next(line for line in result.output.splitlines() if "offers made" in line)
    assert re.findall(r"\d+", offers) == ["8", "4", "0"]
    refilled = next(line for line in result.output.splitlines() if "seats refilled" in line)
    assert re.findall(r"\d+", refilled) == ["0", "3", "0"]
    html = page.read_text()
    assert "S-1" in html and "S-2" in html and "declined_by_host" in html
    assert html == render_year_html(2023, load_year(database[0], 2023, AS_OF))


def test_report_needs_a_round_or_a_year_and_names_an_empty_year(database):
    _, url = database
    env = {"INTERN_MATCH_DATABASE_URL": url}
    neither = CliRunner().invoke(app, ["report"], env=env)
    assert neither.exit_code != 0 and "--year" in neither.output
    both = CliRunner().invoke(app, ["report", "S-1", "--year", "2023"], env=env)
    assert both.exit_code != 0
    empty = CliRunner().invoke(app, ["report", "--year", "2031"], env=env)
    assert empty.exit_code == 1 and "no round of program year 2031" in empty.output


def test_a_rounds_report_shows_its_funnel(database):
    _, url = database
    env = {"INTERN_MATCH_DATABASE_URL": url, "COLUMNS": "120"}
    result = CliRunner().invoke(app, ["report", "S-1", "--as-of", "2023-05-20T00:00:00"], env=env)
    assert result.exit_code == 0, result.output
    assert re.search(r"open past deadline\s*│\s*1\b", result.output)
    assert re.search(r"released: expired\s*│\s*3\b", result.output)
