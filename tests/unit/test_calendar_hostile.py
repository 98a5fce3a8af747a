"""Hostile calendar files: any text, and any TOML built from the calendar's keys with values of
every TOML type, ends in a loaded calendar whose rounds the service could request, or in a
CalendarError naming the file and the reason; never in another exception."""

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import parse_event
from services.rounds.calendar import MODES, parse_calendar
from services.rounds.errors import CalendarError
from services.rounds.guard import time_refusal
from services.rounds.rulesets import RulesetCatalog

RULESETS = RulesetCatalog("fy2023-announced")
FILE = "hostile.toml"

OFFSETS = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=9)),
                           dt.timezone(dt.timedelta(hours=-23, minutes=-59))])  # fmt: skip
DATETIMES = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    OFFSETS,
)
TEXTS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["2023-summer-1", "summer", "winter", "optimal", "stable", *MODES,
                     "2023-04-10T10:00:00+09:00", "2023-04-10T10:00:00", "2023-04-10t01:00:00z",
                     "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
                     "2023-13-40T25:61:61Z", "2023-05-20T10:00:00.123456789+09:00"]),
)  # fmt: skip
SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([2023, 2024, 1999]),
    st.floats(), st.booleans(), TEXTS, DATETIMES, st.dates(),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
PLAUSIBLE = {
    "round_id": st.sampled_from(["2023-summer-1", "2023-summer-2", "r.1", "r_2", "a b", ""]),
    "period": st.sampled_from(["summer", "winter", "spring"]),
    "mode": st.sampled_from([*MODES, "fastest"]),
    "at": st.one_of(DATETIMES, st.sampled_from(["2023-04-10T10:00:00+09:00",
                                                "2023-06-20T10:00:00+09:00"])),
}  # fmt: skip
_MOSTLY = {
    key: st.one_of(plausible, plausible, plausible, VALUES) for key, plausible in PLAUSIBLE.items()
}
ROUND = st.fixed_dictionaries(
    {"round_id": _MOSTLY["round_id"], "period": _MOSTLY["period"], "at": _MOSTLY["at"]},
    optional={"mode": _MOSTLY["mode"]},
) | st.dictionaries(st.sampled_from([*PLAUSIBLE, "x"]), VALUES, max_size=5)
ROUNDS = st.lists(ROUND, max_size=4)


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False)


def _text(year: object, rounds: list[dict[str, object]], extra: dict[str, object]) -> str:
    lines = [f"program_year = {_toml(year)}"]
    lines += [f"{_toml(k)} = {_toml(v)}" for k, v in extra.items()]
    for entry in rounds:
        lines.append("[[rounds]]")
        lines += [f"{k} = {_toml(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _judged(text: str) -> None:
    try:
        rounds, warnings = parse_calendar(text, FILE, RULESETS)
    except CalendarError as error:
        assert error.file == FILE and error.reason and str(error).startswith(f"calendar {FILE}")
        return
    ruleset = RULESETS(2023)
    assert ruleset is not None
    for planned in rounds:  # whatever loads is a request the service would run
        event = parse_event(planned.to_event())
        assert event.time == planned.at and planned.at.tzinfo is not None
        assert time_refusal(ruleset, planned.request(), planned.at) is None
    assert all(w.startswith(f"calendar {FILE}") for w in warnings)


@settings(max_examples=300, deadline=None)
@given(
    year=st.one_of(st.just(2023), st.just(2023), VALUES),
    rounds=ROUNDS,
    extra=st.just({}) | st.dictionaries(st.sampled_from(["x", "Program_year"]), VALUES, max_size=1),
)
def test_any_calendar_toml_loads_or_names_its_file_and_reason(year, rounds, extra):
    _judged(_text(year, rounds, extra))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_as_a_calendar_loads_or_names_its_file_and_reason(text):
    _judged(text)


def test_a_valid_generated_shape_does_load():
    """The generator reaches loading calendars too (the property is not all refusals)."""
    text = _text(2023, [{"round_id": "r", "period": "summer", "at": "2023-04-10T10:00:00Z"}], {})
    rounds, _ = parse_calendar(text, FILE, RULESETS)
    assert [r.round_id for r in rounds] == ["r"]


@pytest.mark.parametrize(
    "text",
    ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 3000 + "1" + "}" * 3000],
    ids=["arrays", "inline-tables"],
)
def test_a_deeply_nested_calendar_names_its_file_and_reason(text):
    _judged(text)


def test_a_huge_calendar_is_checked_in_linear_time():
    import time

    one = '[[rounds]]\nround_id = "r{}"\nperiod = "summer"\nat = "2023-04-10T10:00:00+09:00"\n'
    text = "program_year = 2023\n" + "".join(one.format(i) for i in range(40_000))
    started = time.perf_counter()
    rounds, _ = parse_calendar(text, FILE, RULESETS)
    assert len(rounds) == 40_000
    assert time.perf_counter() - started < 8.0


@pytest.mark.parametrize(
    "text",
    [
        'program_year = 2023\n"x\\nerror: all fine\\u001b[2J\\u202e" = 1\n',
        'program_year = 2023\n[[rounds]]\n"round_id\\u202e" = "r"\n',
    ],
    ids=["top", "round"],
)
def test_an_unknown_key_is_shown_escaped(text):
    with pytest.raises(CalendarError) as caught:
        parse_calendar(text, FILE, RULESETS)
    assert "unknown key" in caught.value.reason
    assert str(caught.value).isprintable(), str(caught.value)
