"""`intern-match report` over a PostgreSQL database that ran two real rounds; the HTML page in
headless Chromium."""

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from contracts import RoundRequested
from matching import build_market
from services.app import rulesets_for
from services.cli.main import app
from services.intake.apply import Inbound, Intake
from services.ops.report import load_report
from services.rounds.snapshot import load_snapshot
from services.sample.generator import generate_year, round_request
from services.settings import Settings
from services.store.db import make_engine, migrate

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ROUNDS = ("2023-summer-1", "2023-winter-1")
HEADINGS = ("Fill rate per course and period", "Placements by nationality",
            "Placements by prefecture", "Placements by industry", "Unplaced applicants by reason",
            "Preference rank applicants got", "Ineligible vacancies", "Solver",
            "Offers")  # fmt: skip


@pytest.fixture
def database(fresh_database_url: str):
    """A database through which a sample year and its summer and winter rounds were applied."""
    engine = make_engine(fresh_database_url)
    migrate(engine)
    intake = Intake(engine, rulesets_for(Settings()), lambda: dt.datetime.now(dt.UTC), None, 20)
    bodies = generate_year(seed=5, applicants=300, vacancies=40)
    bodies += [round_request(r, 2023, r.split("-")[1], seq=n) for n, r in enumerate(ROUNDS)]
    for start in range(0, len(bodies), 200):
        intake.process([Inbound(None, body) for body in bodies[start : start + 200]])
    yield fresh_database_url, engine
    engine.dispose()


def _ineligible_by_the_round_itself(engine: Engine, round_id: str) -> list[str]:
    request = RoundRequested(round_id=round_id, program_year=2023, period="winter")
    ruleset = rulesets_for(Settings())(2023)
    with engine.connect() as connection:
        snapshot = load_snapshot(connection, request, ruleset, 20)
    return [v.vacancy_id for v in build_market(snapshot).ineligible_vacancies]


def test_the_report_adds_up_to_the_round_completed_figures(database):
    _, engine = database
    report = load_report(engine, ROUNDS[1], rulesets_for(Settings()))

    fill = report.fill_rates()
    assert sum(placed for _, placed, _ in fill) == report.answer["placed"] > 0
    assert sum(slots for _, _, slots in fill) == report.answer["slots"]
    assert all(label.startswith("winter · ") for label, _, _ in fill)
    for counts in (report.by_nationality, report.by_prefecture, report.by_industry):
        assert counts.total() == report.answer["placed"]
    assert sum(n for _, n in report.ranks()) == report.answer["placed"]
    assert report.unplaced_by_reason["already_placed"] > 0  # placed by the summer round
    assert report.unplaced_by_reason.total() >= report.answer["unplaced"]
    ineligible = [v.vacancy_id for v in report.ineligible]
    assert ineligible == _ineligible_by_the_round_itself(engine, ROUNDS[1])
    assert ineligible and all(v.rule for v in report.ineligible)


def test_reporting_an_unknown_round_exits_2_naming_it(database):
    url, _ = database
    result = CliRunner().invoke(app, ["report", "no-such-round"], env=_env(url))

    assert result.exit_code == 2
    assert "no round 'no-such-round'" in result.output


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/run installs it)")
def test_the_html_report_renders_its_charts_in_headless_chromium(database, tmp_path: Path):
    url, _ = database
    page = tmp_path / "report.html"

    result = CliRunner().invoke(app, ["report", ROUNDS[0], "--html", str(page)], env=_env(url))

    assert result.exit_code == 0, result.output
    assert "placed per course and period" in result.output
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert len(re.findall(r"<svg\b", dom)) == 7  # six charts and the offers funnel
    assert len(re.findall(r'<rect class="bar', dom)) >= 10
    assert all(f">{h}" in dom for h in HEADINGS)
    assert "Round 2023-summer-1" in dom
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,2400", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def _chromium(profile: Path, *args: str) -> str:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--no-first-run", "--disable-dev-shm-usage",
               f"--user-data-dir={profile / 'chromium'}", *args]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _env(database_url: str) -> dict[str, str]:
    return {"INTERN_MATCH_DATABASE_URL": database_url, "COLUMNS": "200"}
