"""A program year that is open *now*, for tests where the service's own timer fires calendar
rounds on the real clock: the round.requested time guard refuses a request outside its program
year and after its period, so a calendar round "3 s ahead" needs a year and periods that hold
today. The ruleset is the shipped default with `program_years` = this year (Asia/Tokyo) and
both periods on 31 December; a sample year is generated for it.
"""

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from matching import load_ruleset
from services.rounds.calendar import CALENDAR_SOURCE
from services.sample.generator import generate_year

JST = dt.timezone(dt.timedelta(hours=9))
RULESETS = Path(__file__).resolve().parents[2] / "matching" / "rulesets"


@dataclass(frozen=True)
class LiveYear:
    year: int
    ruleset: Path
    folder: Path

    def calendar(self, *rounds: tuple[str, dt.datetime], name: str = "calendar.toml") -> Path:
        """Write a calendar of summer rounds (round id, time) and return its path."""
        lines = [f"program_year = {self.year}"]
        for round_id, at in rounds:
            lines += ["[[rounds]]", f'round_id = "{round_id}"', 'period = "summer"',
                      f'at = "{at.isoformat()}"']  # fmt: skip
        path = self.folder / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def events(self, applicants: int = 60, vacancies: int = 10, seed: int = 14) -> list[bytes]:
        return generate_year(
            seed=seed, applicants=applicants, vacancies=vacancies, program_year=self.year
        )


def live_year(folder: Path) -> LiveYear:
    """The ruleset file of the current program year in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    year = dt.datetime.now(JST).year
    text = (RULESETS / "fy2023-announced.toml").read_text()
    text = re.sub(r"program_years = \[2023\]", f"program_years = [{year}]", text)
    text = re.sub(r'name = "fy2023-announced"', f'name = "live-{year}"', text)
    text = re.sub(
        r"summer = \{[^}]*\}\nwinter = \{[^}]*\}",
        'summer = { start = "12-31", end = "12-31" }\nwinter = { start = "12-31", end = "12-31" }',
        text,
    )
    path = folder / f"live-{year}.toml"
    path.write_text(text)
    shutil.copy(RULESETS / "dac-2022-2023.txt", folder / "dac-2022-2023.txt")
    assert load_ruleset(path).governs(year)
    return LiveYear(year, path, folder)


def whole_second(at: dt.datetime) -> dt.datetime:
    """`at` rounded up to a whole second, in Asia/Tokyo (a calendar writes whole seconds)."""
    return (at + dt.timedelta(seconds=1)).replace(microsecond=0).astimezone(JST)


__all__ = ["CALENDAR_SOURCE", "JST", "LiveYear", "live_year", "whole_second"]
