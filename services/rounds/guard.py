"""The time guard of `round.requested` (lifecycle.md): a request's `time` decides which offers
expire, so a forged far-future time could release every open offer of the year. It is judged by
the ruleset and the event alone, never a clock, so the service, offline runs and replays agree.
Imports contracts and matching's public surface only.
"""

import datetime as dt

from contracts import RoundRequested
from matching import Ruleset

_JAPAN = dt.timezone(dt.timedelta(hours=9), "Asia/Tokyo")
"""Asia/Tokyo, +09:00 all year (as matching's period starts)."""


def time_refusal(ruleset: Ruleset, request: RoundRequested, at: dt.datetime) -> str | None:
    """Why a request with event time `at` may not run, or None: its time must lie within its
    program year (from 00:00 Asia/Tokyo on 1 January) and not after its period (the end of the
    period's last day, Asia/Tokyo, ruleset `[periods]`)."""
    year, period = request.program_year, request.period
    opens = dt.datetime(year, 1, 1, tzinfo=_JAPAN)
    last_day = dt.date(year, *ruleset.periods[period].end)
    closes = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), _JAPAN)
    if at < opens:
        return (
            f"time {_shown(at)} is before program year {year} starts ({_shown(opens)}): a round "
            f"is requested within its program year (the round.requested time guard)"
        )
    if at >= closes:
        return (
            f"time {_shown(at)} is after the {period} period of {year} ends ({_shown(closes)}, "
            f"ruleset [periods]): a round is requested before its period ends, so no forged "
            f"far-future time can expire every open offer (the round.requested time guard)"
        )
    return None


def _shown(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
