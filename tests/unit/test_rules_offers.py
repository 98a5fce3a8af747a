"""`[offers]` and `[periods]` of a ruleset, and an offer's deadline (lifecycle.md): response days
from the round's request, capped at 00:00 Asia/Tokyo on the period's first day, in UTC."""

import datetime as dt
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching import OfferRules, PeriodDates, deadline, load_ruleset
from matching.errors import RulesetError

SHIPPED = Path(__file__).resolve().parents[2] / "matching" / "rulesets"
UTC = dt.UTC
SUMMER_2023 = dt.datetime(2023, 5, 14, 15, 0, tzinfo=UTC)
"""00:00 on 15 May 2023 in Tokyo."""


def _load(tmp_path: Path, text: str):
    (tmp_path / "r.toml").write_text(text)
    (tmp_path / "dac-2022-2023.txt").write_text("PK\n")
    return load_ruleset(tmp_path / "r.toml")


def _changed(old: str, new: str) -> str:
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("name", ["fy2023-announced", "fy2023-official"])
def test_shipped_rulesets_ask_host_and_applicant_within_14_days_and_date_both_periods(name):
    ruleset = load_ruleset(name)
    assert ruleset.offers == OfferRules(("host", "applicant"), 14)
    assert ruleset.periods == {
        "summer": PeriodDates((5, 15), (6, 30)),
        "winter": PeriodDates((8, 15), (9, 30)),
    }
    assert pickle.loads(pickle.dumps(ruleset)) == ruleset


def test_a_ruleset_without_offers_or_periods_takes_the_documented_defaults(tmp_path):
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    start, end = text.index("[offers]"), text.index("[ranking]")
    ruleset = _load(tmp_path, text[:start] + text[end:])
    assert ruleset.offers == OfferRules(("host", "applicant"), 14)
    assert ruleset.periods["summer"].first_day(2023) == dt.date(2023, 5, 15)
    assert ruleset.periods["winter"].first_day(2023) == dt.date(2023, 8, 15)


def test_a_committee_joins_the_parties_kept_in_contract_order(tmp_path):
    text = _changed('parties = ["host", "applicant"]', 'parties = ["committee", "host"]')
    assert _load(tmp_path, text).offers.parties == ("host", "committee")


def test_zero_response_days_are_allowed(tmp_path):
    assert _load(tmp_path, _changed("response_days = 14", "response_days = 0")).offers == (
        OfferRules(("host", "applicant"), 0)
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"host", "applicant"]', '"host", "landlord"]', "offers.parties: unknown party 'landlord'"),
        ('"host", "applicant"]', '"host", "applicant", "host"]', "offers.parties: host listed"),
        ('parties = ["host", "applicant"]', "parties = []", "offers.parties: names no party"),
        ('parties = ["host", "applicant"]', 'parties = "host"', "offers.parties: expected a list"),
        ("response_days = 14", "response_days = -1", "offers.response_days: expected an integer"),
        ("response_days = 14", "response_days = 1.5", "offers.response_days: expected an integer"),
        ("response_days = 14", "response_days = true", "offers.response_days: expected an int"),
        ("response_days = 14", "response_dayz = 14", "offers.response_dayz: unknown key"),
        ('{ start = "05-15", end', "{ end", "periods.summer.start: missing"),
        ('end = "06-30"', 'ends = "06-30"', "periods.summer.ends: unknown key"),
        ('start = "05-15"', 'start = "15-05"', "periods.summer.start: '15-05' is not a month-day"),
        ('start = "05-15"', "start = 515", "periods.summer.start: expected a non-empty string"),
        ('start = "05-15"', 'start = "07-01"', "periods.summer.end: 06-30 is before its start"),
        ('winter = { start = "08-15", end = "09-30" }', "", "periods.winter: missing"),
        ('winter = { start = "08-15"', 'autumn = { start = "08-15"', "periods.autumn: unknown"),
    ],
)
def test_a_malformed_offers_or_periods_table_fails_on_load_naming_the_key(
    tmp_path, old, new, message
):
    with pytest.raises(RulesetError) as error:
        _load(tmp_path, _changed(old, new))
    assert str(error.value).startswith(message)


def test_the_deadline_is_the_request_plus_response_days_in_utc():
    ruleset = load_ruleset()
    requested = dt.datetime(2023, 4, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    due = ruleset.respond_by(requested, 2023, "summer")
    assert due == dt.datetime(2023, 4, 24, 1, 0, tzinfo=UTC)
    assert due.utcoffset() == dt.timedelta(0)


def test_a_deadline_past_the_period_start_is_cut_to_midnight_in_tokyo():
    ruleset = load_ruleset()
    assert ruleset.respond_by(dt.datetime(2023, 5, 1, tzinfo=UTC), 2023, "summer") == SUMMER_2023
    winter = dt.datetime(2023, 8, 14, 15, 0, tzinfo=UTC)
    assert ruleset.respond_by(dt.datetime(2023, 8, 1, tzinfo=UTC), 2023, "winter") == winter
    summer_2024 = dt.datetime(2024, 5, 14, 15, 0, tzinfo=UTC)
    assert ruleset.respond_by(dt.datetime(2024, 5, 1, tzinfo=UTC), 2024, "summer") == summer_2024


def test_the_cap_applies_from_exactly_the_period_start_and_not_a_second_before():
    fourteen = dt.timedelta(days=14)
    second = dt.timedelta(seconds=1)
    assert deadline(SUMMER_2023 - fourteen, 14, SUMMER_2023) == SUMMER_2023
    assert deadline(SUMMER_2023 - fourteen - second, 14, SUMMER_2023) == SUMMER_2023 - second
    assert deadline(SUMMER_2023 - fourteen + second, 14, SUMMER_2023) == SUMMER_2023


def test_zero_days_make_the_request_time_the_deadline_and_a_late_round_the_period_start():
    before = dt.datetime(2023, 5, 1, 3, 4, 5, tzinfo=UTC)
    assert deadline(before, 0, SUMMER_2023) == before
    late = dt.datetime(2023, 6, 1, tzinfo=UTC)
    assert deadline(late, 0, SUMMER_2023) == SUMMER_2023


def test_naive_times_and_negative_days_are_refused():
    with pytest.raises(ValueError, match="requested_at must be an aware datetime"):
        deadline(dt.datetime(2023, 5, 1), 14, SUMMER_2023)
    with pytest.raises(ValueError, match="period_start must be an aware datetime"):
        deadline(SUMMER_2023, 14, dt.datetime(2023, 5, 15))
    with pytest.raises(ValueError, match="response_days"):
        deadline(SUMMER_2023, -1, SUMMER_2023)
    with pytest.raises(ValueError, match="aware"):
        load_ruleset().respond_by(dt.datetime(2023, 5, 1), 2023, "summer")


def test_a_period_starts_at_midnight_in_the_asia_tokyo_zone():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database on this host")
    for year in (1990, 2023, 2050):
        for period in PeriodDates((5, 15), (6, 30)), PeriodDates((1, 1), (1, 31)):
            local = dt.datetime.combine(period.first_day(year), dt.time(), tokyo)
            assert period.starts_at(year) == local


_aware = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, dt.timezone(dt.timedelta(hours=9)), dt.timezone(-dt.timedelta(hours=5, minutes=30))]
    ),
)


@given(_aware, st.integers(0, 400), _aware)
def test_a_deadline_is_the_earlier_of_due_and_period_start_in_utc(requested, days, start):
    due = deadline(requested, days, start)
    assert due.utcoffset() == dt.timedelta(0)
    assert due == min(requested + dt.timedelta(days=days), start)
    assert due <= start and due >= min(requested, start)
