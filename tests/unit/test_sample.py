"""The sample program year: deterministic per seed, valid where meant, realistic in its proportions.

Imports services.sample.generator and contracts; no I/O except pytest's tmp_path.
"""

import datetime as dt
import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contracts import PREFECTURES, CloudEvent, ContractError, parse_event, to_json_bytes
from contracts.schema import json_schemas
from services.sample.data import DAC_2022_2023, PREFECTURE_CAPITALS
from services.sample.generator import INVALID_RECORDS, generate_year, round_request, write_jsonl


@cache
def year() -> tuple[list[bytes], list[CloudEvent[Any]], list[ContractError]]:
    """The default sample year, its valid events, and the rejections of the rest."""
    bodies = generate_year()
    events, rejected = [], []
    for body in bodies:
        try:
            events.append(parse_event(body))
        except ContractError as error:
            rejected.append(error)
    return bodies, events, rejected


def applicants() -> list[Any]:
    return [
        e.data for e in year()[1] if e.type == "jip.applicant.registered.v1" and e.data.version == 1
    ]


def age_on_august_31(born: dt.date, program_year: int = 2023) -> int:
    return program_year - born.year - ((born.month, born.day) > (8, 31))


def test_same_seed_gives_the_same_bytes() -> None:
    assert generate_year(7, 200, 40) == generate_year(7, 200, 40)


def test_different_seeds_give_different_years() -> None:
    assert generate_year(7, 200, 40) != generate_year(8, 200, 40)


def test_default_year_has_every_applicant_and_vacancy_plus_changes() -> None:
    kinds = Counter(e.type for e in year()[1])
    assert len({a.applicant_id for a in applicants()}) == 3000
    assert len({e.data.vacancy_id for e in year()[1] if e.type == "jip.vacancy.posted.v1"}) == 300
    assert kinds["jip.applicant.withdrawn.v1"] > 0 and kinds["jip.vacancy.closed.v1"] > 0
    assert 100 <= kinds["jip.applicant.registered.v1"] - 3000 <= 200  # ~5% second versions


def test_only_the_planted_invalid_records_are_rejected_naming_their_field() -> None:
    rejected = year()[2]
    assert len(rejected) == len(INVALID_RECORDS)
    assert sorted(e.errors[0].loc for e in rejected) == sorted(r[3] for r in INVALID_RECORDS)
    assert all(e.original_id and e.original_id.startswith("ap-") for e in rejected)


def test_invalid_records_sit_among_the_valid_ones() -> None:
    bodies, events, _ = year()
    positions = [i for i, b in enumerate(bodies) if b"A 000042" in b or b"2001-02-30" in b]
    assert positions and all(300 < p < len(bodies) - 100 for p in positions)


def test_valid_events_match_the_committed_json_schemas() -> None:
    schemas = json_schemas()
    for event in year()[1][::37]:
        doc = json.loads(to_json_bytes(event))
        jsonschema.validate(doc, schemas[doc["type"]])


def test_pakistan_sends_30_to_50_percent_and_many_are_pmyp() -> None:
    people = applicants()
    pakistan = [a for a in people if a.nationality == "PK"]
    assert 0.30 <= len(pakistan) / len(people) <= 0.50
    assert sum("PMYP" in a.programs for a in pakistan) > len(pakistan) / 3
    assert all(a.nationality == "PK" for a in people if "PMYP" in a.programs)


def test_some_applicants_come_from_china_and_from_outside_the_dac_list() -> None:
    nations = Counter(a.nationality for a in applicants())
    assert nations["CN"] > 30
    assert sum(n for code, n in nations.items() if code not in DAC_2022_2023) > 30


def test_ages_are_mostly_20_to_35_with_a_few_out_of_range_and_august_31_birthdays() -> None:
    ages = [age_on_august_31(a.date_of_birth) for a in applicants()]
    assert sum(20 <= age <= 35 for age in ages) / len(ages) > 0.8
    assert 0 < sum(not 20 <= age <= 40 for age in ages) / len(ages) < 0.1
    august_31 = [a for a in applicants() if (a.date_of_birth.month, a.date_of_birth.day) == (8, 31)]
    assert {age_on_august_31(a.date_of_birth) for a in august_31} >= {19, 20, 40, 41}


def test_residents_of_japan_live_near_their_prefecture_capital_and_mostly_commute() -> None:
    residents = [a for a in applicants() if a.residence.country == "JP"]
    assert 0.15 < len(residents) / len(applicants()) < 0.35
    for a in residents:
        lat, lon = PREFECTURE_CAPITALS[a.residence.prefecture]
        assert abs(a.residence.lat - lat) <= 0.1 and abs(a.residence.lon - lon) <= 0.1
    commuting = sum(set(a.courses) <= {"A", "A2"} for a in residents)
    assert 0.85 < commuting / len(residents) < 1  # some apply against their residence


def test_abroad_applicants_mostly_apply_online_or_visiting() -> None:
    abroad = [a for a in applicants() if a.residence.country != "JP"]
    assert 0.85 < sum(set(a.courses) <= {"B", "B2", "C"} for a in abroad) / len(abroad) < 1


def test_preferences_are_at_most_eight_known_vacancies_and_some_applicants_state_none() -> None:
    vacancy_ids = {e.data.vacancy_id for e in year()[1] if e.type == "jip.vacancy.posted.v1"}
    lists = [a.preferences for a in applicants()]
    assert all(len(p) <= 8 and set(p) <= vacancy_ids for p in lists)
    assert 0.05 < sum(not p for p in lists) / len(lists) < 0.3


def test_preferences_lean_towards_vacancies_offering_the_applicants_courses() -> None:
    courses = {e.data.vacancy_id: {s.course for s in e.data.slots}
               for e in year()[1] if e.type == "jip.vacancy.posted.v1"}  # fmt: skip
    picks = [(set(a.courses) & courses[v]) != set() for a in applicants() for v in a.preferences]
    assert sum(picks) / len(picks) > 0.6


def test_certificates_mix_every_test_kind() -> None:
    tests = Counter(c.test for a in applicants() for c in a.languages)
    assert set(tests) == {"JLPT", "CEFR", "IELTS", "TOEFL_IBT", "TOEIC", "NATIVE"}
    assert 0 < sum(a.education is None for a in applicants()) < 300


def test_vacancies_cover_all_47_prefectures_weighted_to_tokyo() -> None:
    where = Counter(
        e.data.location.prefecture for e in year()[1] if e.type == "jip.vacancy.posted.v1"
    )
    assert set(where) == set(PREFECTURES)
    assert where.most_common(1)[0][0] == "Tokyo"


def test_most_firms_are_japanese_smes_with_a_few_exceptions() -> None:
    firms = [e.data.company for e in year()[1] if e.type == "jip.vacancy.posted.v1"]
    others = sum(f.legal_form != "company" or f.head_office_country != "JP" for f in firms)
    assert 0 < others < len(firms) * 0.15
    assert set(f.industry for f in firms) >= {"manufacturing", "software", "services", "hotel"}
    slots = [s for e in year()[1] if e.type == "jip.vacancy.posted.v1" for s in e.data.slots]
    assert {s.course for s in slots} == {"A", "A2", "B", "B2", "C"}
    assert {s.capacity for s in slots} == {1, 2, 3}


def test_some_vacancies_rank_applicants_in_a_second_version() -> None:
    ranked = [e.data for e in year()[1] if e.type == "jip.vacancy.posted.v1" and e.data.preferences]
    assert ranked and all(v.version == 2 for v in ranked)


def test_withdrawals_and_closures_come_after_every_earlier_version() -> None:
    latest: dict[str, int] = {}
    for e in year()[1]:
        key = e.subject
        assert e.data.version > latest.get(key, 0), key
        latest[key] = e.data.version


def test_times_increase_and_ids_are_unique_per_source() -> None:
    events = year()[1]
    assert all(a.time < b.time for a, b in zip(events, events[1:], strict=False))
    assert len({(e.source, e.id) for e in events}) == len(events)
    assert {e.source for e in events} == {"/applicant-portal", "/sme-portal"}


def test_round_request_is_a_valid_event_after_the_whole_year() -> None:
    summer = parse_event(round_request("2023-summer-1", 2023, "summer"), "jip.round.requested")
    winter = parse_event(round_request("2023-winter-1", 2023, "winter", "stable", seq=2))
    assert summer.data.round_id == "2023-summer-1" and winter.data.mode == "stable"
    assert year()[1][-1].time < summer.time < winter.time
    assert summer.id != winter.id
    assert round_request("r", 2023, "summer") == round_request("r", 2023, "summer")


def test_round_request_with_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError):
        round_request("r", 2023, "autumn")


def test_write_jsonl_writes_one_event_a_line(tmp_path: Path) -> None:
    bodies = generate_year(1, 20, 5)
    path = write_jsonl(tmp_path / "year.jsonl", bodies)
    assert path.read_bytes().splitlines() == bodies


def test_valid_bodies_are_canonical_json_that_round_trips_byte_for_byte() -> None:
    bodies, events, _ = year()
    canonical = {to_json_bytes(e) for e in events}
    assert sum(b in canonical for b in bodies) == len(events)
