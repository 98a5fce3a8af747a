"""Calendar files of automatic rounds (lifecycle.md "Automatic rounds: the calendar"): read,
checked against the rulesets and the round.requested time guard, and turned into the requests
the timer publishes. Imports contracts, matching's public surface and the rounds' guard only.
"""

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from contracts import Kind, RoundRequested, make_event, to_json_bytes
from contracts.vocabulary import Mode
from matching import Ruleset
from services.rounds.errors import CalendarError
from services.rounds.guard import time_refusal

CALENDAR_SOURCE = "/intern-match/calendar"
"""The CloudEvents `source` of the calendar's requests (a service source: no allow-list rule)."""
MODES: tuple[str, ...] = get_args(Mode)
_TOP_KEYS = ("program_year", "rounds")
_ROUND_KEYS = ("round_id", "period", "mode", "at")
_ROUND_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A key shown as written; any other is shown as its repr (no control characters)."""
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)

RulesetFor = Callable[[int], Ruleset | None]


@dataclass(frozen=True)
class PlannedRound:
    """One round of a calendar: requested once, at `at` (UTC) or as soon after as a service runs."""

    round_id: str
    program_year: int
    period: str
    mode: str
    at: dt.datetime
    file: str = ""

    @property
    def event_id(self) -> str:
        """The CloudEvents id and `Nats-Msg-Id` of its request: `calendar/<round_id>`."""
        return f"calendar/{self.round_id}"

    def request(self) -> RoundRequested:
        return RoundRequested.model_validate(
            {"round_id": self.round_id, "program_year": self.program_year,
             "period": self.period, "mode": self.mode, "dry_run": False}
        )  # fmt: skip

    def to_event(self) -> bytes:
        """Its `jip.round.requested` body: the same bytes whenever and however often it is built,
        since `time` is `at` (also after a catch-up)."""
        event = make_event(
            Kind.ROUND_REQUESTED,
            self.event_id,
            self.request(),
            self.at,
            CALENDAR_SOURCE,
            f"round/{self.round_id}",
        )
        return to_json_bytes(event)


@dataclass(frozen=True)
class Calendars:
    """The planned rounds of every calendar file, by `at` then round id, and the warnings (late
    rounds) to log at start."""

    rounds: tuple[PlannedRound, ...] = ()
    warnings: tuple[str, ...] = ()


def load_calendars(paths: Iterable[Path], rulesets: RulesetFor) -> Calendars:
    """Read and check every file; the first problem raises CalendarError (file, key, reason)."""
    rounds: dict[str, PlannedRound] = {}
    years: dict[int, str] = {}
    warnings: list[str] = []
    names: set[str] = set()
    for path in paths:
        name = str(path)
        if name in names:
            raise CalendarError(name, None, "named twice (INTERN_MATCH_CALENDARS)")
        names.add(name)
        if path.exists() and not (path.is_file() or path.is_dir()):  # read until it ends
            raise CalendarError(name, None, "cannot read the file (not a regular file)")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise CalendarError(name, None, f"cannot read the file ({reason})") from None
        found, late = parse_calendar(text, name, rulesets)
        _refuse_overlaps(name, found, rounds, years)
        rounds.update((r.round_id, r) for r in found)
        warnings += late
    ordered = sorted(rounds.values(), key=lambda r: (r.at, r.round_id))
    return Calendars(tuple(ordered), tuple(warnings))


def _refuse_overlaps(
    name: str, found: list[PlannedRound], rounds: Mapping[str, PlannedRound], years: dict[int, str]
) -> None:
    """One file per program year, and a round id in one file only."""
    if not found:
        return
    year = found[0].program_year
    if years.setdefault(year, name) != name:
        raise CalendarError(name, "program_year", f"{year} is also planned by {years[year]}")
    for index, planned in enumerate(found, 1):
        if planned.round_id in rounds:
            other = rounds[planned.round_id].file
            reason = f"{planned.round_id!r} is also planned by {other}"
            raise CalendarError(name, f"rounds[{index}].round_id", reason)


def parse_calendar(
    text: str, file: str, rulesets: RulesetFor
) -> tuple[list[PlannedRound], list[str]]:
    """The rounds of one calendar file and its warnings; CalendarError names the first problem."""
    try:
        data = tomllib.loads(text)
    except ValueError as error:  # TOMLDecodeError, or an integer past Python's digit limit
        raise CalendarError(file, None, f"not valid TOML: {error}") from None
    except RecursionError:  # arrays or inline tables nested thousands deep
        raise CalendarError(file, None, "not valid TOML: nested too deeply") from None
    _known_keys(file, "", data, _TOP_KEYS)
    year = _program_year(file, data)
    ruleset = rulesets(year)
    if ruleset is None:
        reason = f"no ruleset governs program year {year} (INTERN_MATCH_RULESET[S])"
        raise CalendarError(file, "program_year", reason)
    entries = data.get("rounds", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CalendarError(file, "rounds", "expected an array of tables ([[rounds]])")
    rounds: list[PlannedRound] = []
    warnings: list[str] = []
    indexes: dict[str, int] = {}
    for index, entry in enumerate(entries, 1):
        planned = _round(file, f"rounds[{index}]", entry, year, ruleset)
        earlier = indexes.setdefault(planned.round_id, index)
        if earlier != index:
            reason = f"{planned.round_id!r} is planned twice (also rounds[{earlier}])"
            raise CalendarError(file, f"rounds[{index}].round_id", reason)
        rounds.append(planned)
        late = _late(ruleset, planned)
        if late:
            warnings.append(str(CalendarError(file, f"rounds[{index}].at", late)))
    return rounds, warnings


def _known_keys(file: str, prefix: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        key = unknown[0] if _BARE_KEY.fullmatch(unknown[0]) else _shown(unknown[0])
        raise CalendarError(file, prefix + key, f"unknown key; known: {', '.join(known)}")


def _program_year(file: str, data: Mapping[str, Any]) -> int:
    year = data.get("program_year")
    if year is None:
        raise CalendarError(file, "program_year", "missing: the program year of the calendar")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise CalendarError(file, "program_year", f"expected a year 2000-2100, got {_shown(year)}")
    return year


def _round(
    file: str, key: str, entry: Mapping[str, Any], year: int, ruleset: Ruleset
) -> PlannedRound:
    _known_keys(file, f"{key}.", entry, _ROUND_KEYS)
    round_id = _text(file, f"{key}.round_id", entry.get("round_id"))
    if not _ROUND_ID.fullmatch(round_id):
        reason = f"{_shown(round_id)} is not a round id (1-64 of A-Z a-z 0-9 . _ -)"
        raise CalendarError(file, f"{key}.round_id", reason)
    period = _text(file, f"{key}.period", entry.get("period"))
    if period not in ruleset.periods:
        known = ", ".join(sorted(ruleset.periods))
        reason = f"{_shown(period)} is not a period of ruleset {ruleset.name}; its periods: {known}"
        raise CalendarError(file, f"{key}.period", reason)
    mode = _text(file, f"{key}.mode", entry.get("mode", "optimal"))
    if mode not in MODES:
        reason = f"{_shown(mode)} is not a round mode; modes: {', '.join(MODES)}"
        raise CalendarError(file, f"{key}.mode", reason)
    at = to_instant(file, f"{key}.at", entry.get("at"))
    planned = PlannedRound(round_id, year, period, mode, at, file)
    refusal = time_refusal(ruleset, planned.request(), at)
    if refusal is not None:  # the service would dead-letter the request: refuse the plan now
        raise CalendarError(file, f"{key}.at", refusal)
    return planned


def _text(file: str, key: str, value: Any) -> str:
    if value is None:
        raise CalendarError(file, key, "missing")
    if not isinstance(value, str):
        raise CalendarError(file, key, f"expected a string, got {_shown(value)}")
    return value


def to_instant(file: str, key: str, value: Any) -> dt.datetime:
    """`at` in UTC: an RFC 3339 string (or TOML offset date-time) with its UTC offset."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise CalendarError(file, key, f"{value.isoformat()} has no UTC offset: {_EXAMPLE}")
        return _utc(file, key, value)
    if not isinstance(value, str):
        if value is None:
            raise CalendarError(file, key, f"missing: {_EXAMPLE}")
        raise CalendarError(file, key, f"expected an RFC 3339 time, got {_shown(value)}")
    form = _RFC3339.fullmatch(value)
    if form is None:
        raise CalendarError(file, key, f"{_shown(value)} is not an RFC 3339 time: {_EXAMPLE}")
    if form["offset"] is None:
        raise CalendarError(file, key, f"{_shown(value)} has no UTC offset: {_EXAMPLE}")
    try:
        parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise CalendarError(file, key, f"{_shown(value)} is not a valid date and time") from None
    return _utc(file, key, parsed)


_EXAMPLE = "write RFC 3339 with an offset, e.g. 2023-04-10T10:00:00+09:00"


def _utc(file: str, key: str, value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise CalendarError(file, key, f"{value.isoformat()} is out of range") from None


def _late(ruleset: Ruleset, planned: PlannedRound) -> str | None:
    """A warning when the round is planned after its period started (late rounds happen)."""
    start = ruleset.periods[planned.period].starts_at(planned.program_year)
    if planned.at < start:
        return None
    return (
        f"{shown_utc(planned.at)} is after the {planned.period} period of "
        f"{planned.program_year} started ({shown_utc(start)}): a late round, planned anyway"
    )


def shown_utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _shown(value: Any) -> str:
    """A value from the file as the message shows it: repr, cut at 60 characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's digit limit
        return f"a {type(value).__name__} too long to show"
    return text if len(text) <= 60 else text[:57] + "..."
