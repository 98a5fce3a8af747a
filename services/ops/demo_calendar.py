"""The demo's calendar: its rounds seconds apart on a clock that runs at real speed from a
moment in program year 2023, its ruleset (offers due at once, so unanswered ones expire at the
next round), and a calendar file that gains each round only after the previous phase's events
are in the stream, so the demo never races its calendar and its digests never vary.
Imports the rounds' calendar; never brokers.
"""

import datetime as dt
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from services.rounds.calendar import PlannedRound, load_calendars
from services.rounds.rulesets import RulesetCatalog
from services.rounds.timer import CalendarTimer

JST = dt.timezone(dt.timedelta(hours=9))
_SHIPPED = "fy2023-announced"
_RESPONSE_DAYS = "response_days = 14"


class DemoClock:
    """Real seconds, counted from `start` (a moment of the demo's program year): the calendar's
    timer waits for the demo's round times as it would for a real year's."""

    def __init__(self, start: dt.datetime) -> None:
        self.restart(start)

    def restart(self, start: dt.datetime) -> None:
        """Read `start` now, and run on from there."""
        self._start, self._started = start, time.monotonic()

    def __call__(self) -> dt.datetime:
        moment = self._start + dt.timedelta(seconds=time.monotonic() - self._started)
        return moment.astimezone(dt.UTC)


def write_demo_ruleset(folder: Path) -> Path:
    """The shipped default ruleset with `[offers] response_days = 0`, named `fy2023-demo`."""
    shipped = resources.files("matching").joinpath("rulesets")
    text = shipped.joinpath(f"{_SHIPPED}.toml").read_text(encoding="utf-8")
    if _RESPONSE_DAYS not in text or f'name = "{_SHIPPED}"' not in text:
        raise RuntimeError(f"the shipped {_SHIPPED} ruleset changed: adapt the demo's ruleset")
    text = text.replace(_RESPONSE_DAYS, "response_days = 0", 1)
    text = text.replace(f'name = "{_SHIPPED}"', 'name = "fy2023-demo"', 1)
    path = folder / "ruleset-demo.toml"
    path.write_text(text, encoding="utf-8")
    nationality = shipped.joinpath("dac-2022-2023.txt").read_text(encoding="utf-8")
    (folder / "dac-2022-2023.txt").write_text(nationality, encoding="utf-8")
    return path


@dataclass
class DemoCalendar:
    """The calendar file of the demo's program year, one round added at a time."""

    path: Path
    program_year: int
    rounds: list[tuple[str, str, str, dt.datetime]] = field(default_factory=list)

    def write(self) -> Path:
        lines = [f"program_year = {self.program_year}"]
        for round_id, period, mode, at in self.rounds:
            lines += ["", "[[rounds]]", f'round_id = "{round_id}"', f'period = "{period}"',
                      f'mode = "{mode}"', f'at = "{at.isoformat()}"']  # fmt: skip
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.path

    def plan(
        self, timer: CalendarTimer, rulesets: RulesetCatalog, round_id: str, period: str,
        at: dt.datetime, mode: str,
    ) -> PlannedRound:  # fmt: skip
        """Add a round to the file and sync it into the running service's table (as
        `intern-match calendar sync` does; blocking: run it in a thread, then wake the timer)."""
        self.rounds.append((round_id, period, mode, at))
        calendars = load_calendars([self.write()], rulesets)
        timer.sync(calendars)
        return next(r for r in calendars.rounds if r.round_id == round_id)
