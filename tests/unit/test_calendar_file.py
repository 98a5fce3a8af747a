"""Calendar files (lifecycle.md, "Automatic rounds: the calendar"): the shipped example loads,
and every malformed file is refused with its file, its key and the reason."""

import datetime as dt
import json
from pathlib import Path

import pytest

from services.rounds.calendar import CALENDAR_SOURCE, load_calendars, parse_calendar
from services.rounds.errors import CalendarError
from services.rounds.rulesets import RulesetCatalog

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "calendars" / "2023.toml"
RULESETS = RulesetCatalog("fy2023-announced")
HEAD = "program_year = 2023\n"
ROUND = '[[rounds]]\nround_id = "{rid}"\nperiod = "summer"\nat = "{at}"\n'


def _round(rid: str = "2023-summer-1", at: str = "2023-04-10T10:00:00+09:00") -> str:
    return ROUND.format(rid=rid, at=at)


def _refusal(text: str, file: str = "cal.toml") -> CalendarError:
    with pytest.raises(CalendarError) as caught:
        parse_calendar(text, file, RULESETS)
    return caught.value


def test_the_shipped_2023_calendar_plans_four_rounds_before_their_periods_without_warnings():
    calendars = load_calendars([SHIPPED], RULESETS)
    assert [r.round_id for r in calendars.rounds] == [
        "2023-summer-1", "2023-summer-2", "2023-winter-1", "2023-winter-2",
    ]  # fmt: skip
    assert calendars.warnings == ()
    ruleset = RULESETS(2023)
    assert ruleset is not None
    for planned in calendars.rounds:
        assert planned.at < ruleset.periods[planned.period].starts_at(2023)
        assert planned.mode == "optimal"
    assert calendars.rounds[0].at == dt.datetime(2023, 4, 10, 1, tzinfo=dt.UTC)


def test_a_round_request_has_the_calendar_id_source_and_its_planned_time_in_utc():
    rounds, _ = parse_calendar(HEAD + _round(), "c.toml", RULESETS)
    event = json.loads(rounds[0].to_event())
    assert event["id"] == "calendar/2023-summer-1"
    assert event["source"] == CALENDAR_SOURCE
    assert event["time"] == "2023-04-10T01:00:00Z"
    assert event["type"] == "jip.round.requested.v1"
    assert event["data"] == {"round_id": "2023-summer-1", "program_year": 2023,
                             "period": "summer", "mode": "optimal", "dry_run": False}  # fmt: skip
    assert rounds[0].to_event() == rounds[0].to_event()


def test_toml_offset_datetimes_and_z_are_read_as_the_same_instant():
    text = HEAD + '[[rounds]]\nround_id = "a"\nperiod = "summer"\nat = 2023-04-10T10:00:00+09:00\n'
    text += _round("b", "2023-04-10T01:00:00Z")
    rounds, _ = parse_calendar(text, "c.toml", RULESETS)
    assert rounds[0].at == rounds[1].at


def test_a_calendar_without_rounds_is_a_year_with_nothing_planned_yet():
    assert parse_calendar(HEAD, "c.toml", RULESETS) == ([], [])


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("program_year = 2023\nyear = 1\n", "year", "unknown key"),
        (HEAD + _round() + 'comment = "x"\n', "rounds[1].comment", "unknown key"),
        ('[[rounds]]\nround_id = "a"\n', "program_year", "missing"),
        ('program_year = "2023"\n', "program_year", "expected a year"),
        ("program_year = true\n", "program_year", "expected a year"),
        ("program_year = 2031\n", "program_year", "no ruleset governs program year 2031"),
        (HEAD + "rounds = 3\n", "rounds", "array of tables"),
        (
            HEAD + '[[rounds]]\nperiod = "summer"\nat = "2023-04-10T10:00:00Z"\n',
            "rounds[1].round_id",
            "missing",
        ),
        (HEAD + _round(rid="2023 summer"), "rounds[1].round_id", "is not a round id"),
        (HEAD + _round() + _round(), "rounds[2].round_id", "planned twice (also rounds[1])"),
        (HEAD + _round().replace("summer", "spring"), "rounds[1].period", "not a period"),
        (HEAD + _round() + 'mode = "fastest"\n', "rounds[1].mode", "not a round mode"),
        (HEAD + _round() + "mode = 3\n", "rounds[1].mode", "expected a string"),
        (HEAD + _round(at="2023-04-10T10:00:00"), "rounds[1].at", "no UTC offset"),
        (
            HEAD + '[[rounds]]\nround_id = "a"\nperiod = "summer"\nat = 2023-04-10T10:00:00\n',
            "rounds[1].at",
            "no UTC offset",
        ),
        (HEAD + _round(at="10 April 2023"), "rounds[1].at", "not an RFC 3339 time"),
        (HEAD + _round(at="2023-02-30T10:00:00+09:00"), "rounds[1].at", "not a valid date"),
        (HEAD + '[[rounds]]\nround_id = "a"\nperiod = "summer"\n', "rounds[1].at", "missing"),
        (HEAD + _round(at="2022-12-31T10:00:00+09:00"), "rounds[1].at", "before program year"),
        (HEAD + _round(at="2023-07-01T00:00:00+09:00"), "rounds[1].at", "after the summer"),
        ("program_year = [", None, "not valid TOML"),
    ],
)
def test_a_malformed_calendar_names_the_file_the_key_and_the_reason(text, key, reason):
    error = _refusal(text, "/etc/jip/cal-2023.toml")
    assert (error.file, error.key) == ("/etc/jip/cal-2023.toml", key)
    assert reason in error.reason
    assert str(error).startswith("calendar /etc/jip/cal-2023.toml")
    assert key is None or f": {key}: " in str(error)


def test_a_round_planned_after_its_period_started_is_a_warning_not_an_error():
    rounds, warnings = parse_calendar(
        HEAD + _round(at="2023-06-01T10:00:00+09:00"), "c.toml", RULESETS
    )
    assert [r.round_id for r in rounds] == ["2023-summer-1"]
    assert len(warnings) == 1 and "rounds[1].at" in warnings[0] and "late round" in warnings[0]


def test_two_files_may_not_plan_one_round_id_or_one_program_year(tmp_path: Path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(HEAD + _round())
    second.write_text(HEAD + _round("other"))
    with pytest.raises(CalendarError, match="program_year: 2023 is also planned by"):
        load_calendars([first, second], RULESETS)
    by_year = RulesetCatalog("fy2023-announced", {2024: "fy2023-official"})
    official = _round().replace("2023-04-10", "2024-04-10")
    second.write_text("program_year = 2024\n" + official)
    with pytest.raises(CalendarError) as caught:
        load_calendars([first, second], _governing_2024(by_year))
    assert caught.value.key == "rounds[1].round_id" and str(second) == caught.value.file


def _governing_2024(catalog: RulesetCatalog):  # fy2023-official governs 2023 only
    import dataclasses

    official = dataclasses.replace(catalog.by_year[2024], program_years=frozenset({2024}))
    return lambda year: official if year == 2024 else catalog(year)


def test_a_missing_file_is_named_with_the_reason(tmp_path: Path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(CalendarError, match=r"nope.toml: cannot read the file \(No such file"):
        load_calendars([missing], RULESETS)


def test_rounds_of_several_files_come_in_time_order(tmp_path: Path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(HEAD + _round("late", "2023-05-01T10:00:00+09:00"))
    catalog = RulesetCatalog("fy2023-announced", {2024: "fy2023-announced"})
    second.write_text("program_year = 2024\n" + _round("early", "2024-04-01T10:00:00+09:00"))
    calendars = load_calendars([second, first], _governing_2024(catalog))
    assert [r.round_id for r in calendars.rounds] == ["late", "early"]


def test_a_file_named_twice_is_refused_as_named_twice(tmp_path: Path):
    first = tmp_path / "a.toml"
    first.write_text(HEAD + _round())
    with pytest.raises(CalendarError) as caught:
        load_calendars([first, first], RULESETS)
    assert caught.value.key is None and "named twice" in caught.value.reason


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_path_that_is_no_regular_file_is_named_at_once(tmp_path: Path, kind: str):
    import os
    import threading

    path = tmp_path / "calendar.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/null")  # a device that ends at once: no memory at stake if read
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_calendars([path], RULESETS)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=5.0)
    if reader.is_alive() and kind == "fifo":
        with open(path, "w"):  # let the stuck reader go
            pass
        reader.join(timeout=5.0)
    error = outcome[0] if outcome else None
    assert isinstance(error, CalendarError) and error.file == str(path)
    assert "regular file" in error.reason, "the reader waited for a writer"
