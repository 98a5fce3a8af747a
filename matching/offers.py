"""Offers as data (lifecycle.md): who must answer (`[offers]`), when each period starts
(`[periods]`), and an offer's deadline. Pure; imports the standard library, contracts and
matching (errors, rulefile) only.
"""

import datetime as dt
from dataclasses import dataclass

from contracts.vocabulary import PARTIES
from matching.errors import RulesetError
from matching.rulefile import Reader, month_day

JAPAN = dt.timezone(dt.timedelta(hours=9), "Asia/Tokyo")
"""Asia/Tokyo: +09:00 all year (Japan has kept no daylight saving time since 1951), so a fixed
offset equals the zone and needs no tz database on the host."""
DEFAULT_PARTIES: tuple[str, ...] = ("host", "applicant")
DEFAULT_RESPONSE_DAYS = 14
DEFAULT_PERIODS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "summer": ((5, 15), (6, 30)),
    "winter": ((8, 15), (9, 30)),
}
"""program-rules.md's dates: summer internships mid-May to late June, winter mid-August to late
September; the first and last day of each, as (month, day) of the program year."""


@dataclass(frozen=True, slots=True)
class OfferRules:
    """`[offers]`: the parties whose acceptance confirms an offer, and the days they have."""

    parties: tuple[str, ...] = DEFAULT_PARTIES
    """In the order of `contracts.PARTIES` (host, applicant, committee), without repeats."""
    response_days: int = DEFAULT_RESPONSE_DAYS


@dataclass(frozen=True, slots=True)
class PeriodDates:
    """`[periods.<name>]`: the first and last day of a period, as (month, day)."""

    start: tuple[int, int]
    end: tuple[int, int]

    def first_day(self, program_year: int) -> dt.date:
        return dt.date(program_year, *self.start)

    def starts_at(self, program_year: int) -> dt.datetime:
        """00:00 Asia/Tokyo on the period's first day, in UTC."""
        midnight = dt.datetime.combine(self.first_day(program_year), dt.time(), JAPAN)
        return midnight.astimezone(dt.UTC)


def deadline(
    requested_at: dt.datetime, response_days: int, period_start: dt.datetime
) -> dt.datetime:
    """When an offer made by a round requested at `requested_at` must be answered, in UTC:
    `response_days` × 24 h later, but never after its period starts (lifecycle.md).

    Both times must be aware (an event's `time` always is): a naive one raises ValueError.
    """
    for name, value in (("requested_at", requested_at), ("period_start", period_start)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    if response_days < 0:
        raise ValueError(f"response_days must be >= 0, got {response_days}")
    due = requested_at + dt.timedelta(hours=24 * response_days)
    return min(due, period_start).astimezone(dt.UTC)


def offer_rules(r: Reader) -> OfferRules:
    """`[offers]`: optional, each key defaulted; an unknown key is refused (a typo is no
    default)."""
    if not r.has("offers"):
        return OfferRules()
    known = ("parties", "response_days")
    unknown = sorted(set(r.table("offers")) - set(known))
    if unknown:
        raise RulesetError(f"offers.{unknown[0]}: unknown key; known: {', '.join(known)}")
    days = r.integer("offers.response_days", minimum=0, optional=True)
    parties = _parties(r.strings("offers.parties")) if r.has("offers.parties") else None
    return OfferRules(
        parties=DEFAULT_PARTIES if parties is None else parties,
        response_days=DEFAULT_RESPONSE_DAYS if days is None else days,
    )


def _parties(names: list[str]) -> tuple[str, ...]:
    for name in names:
        if name not in PARTIES:
            raise RulesetError(
                f"offers.parties: unknown party {name[:60]!r}; known: {', '.join(PARTIES)}"
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RulesetError(f"offers.parties: {', '.join(repeated)} listed twice")
    if not names:
        raise RulesetError("offers.parties: names no party; an offer needs at least one answer")
    return tuple(p for p in PARTIES if p in names)


def period_dates(r: Reader, periods: tuple[str, ...]) -> dict[str, PeriodDates]:
    """`[periods]`: absent, program-rules.md's dates; present, a start and an end for every
    period, the end on or after the start within the program year."""
    if not r.has("periods"):
        return {name: PeriodDates(*DEFAULT_PERIODS[name]) for name in periods}
    table = r.table("periods")
    unknown = sorted(set(table) - set(periods))
    if unknown:
        raise RulesetError(f"periods.{unknown[0]}: unknown period; known: {', '.join(periods)}")
    dates = {}
    for name in periods:
        extra = sorted(set(r.table(f"periods.{name}")) - {"start", "end"})
        if extra:
            raise RulesetError(f"periods.{name}.{extra[0]}: unknown key; known: start, end")
        start = month_day(f"periods.{name}.start", r.text(f"periods.{name}.start"))
        end = month_day(f"periods.{name}.end", r.text(f"periods.{name}.end"))
        if end < start:
            shown = "{:02d}-{:02d}".format
            raise RulesetError(
                f"periods.{name}.end: {shown(*end)} is before its start {shown(*start)}"
            )
        dates[name] = PeriodDates(start, end)
    return dates
