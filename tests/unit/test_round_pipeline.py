"""run_round end to end: placements, a reason for every unplaced applicant, counts and digest."""

import dataclasses
import datetime as dt
import hashlib

import pytest

from matching import audit_round, placements_digest, run_round
from matching.snapshot import EarlierPlacement, Placement
from tests.support.factories import applicant, snapshot, vacancy

ONE_B = [{"course": "B", "capacity": 1}]


def reasons(result) -> dict[str, list[str]]:
    return {u.applicant_id: [r.code for r in u.reasons] for u in result.unplaced}


def test_every_applicant_gets_a_placement_or_reasons_with_the_right_codes():
    applicants = [
        applicant("A-1"),
        applicant("A-2", date_of_birth=dt.date(1970, 1, 1), education=None),
        applicant("A-3", courses=["B2"]),
        applicant("A-4", courses=["C"]),
        applicant("A-5"),
    ]
    vacancies = [vacancy("V-1", slots=ONE_B, preferences=["A-1", "A-5"])]
    result = run_round(snapshot(applicants, vacancies, mode="stable"))
    assert [(p.applicant_id, p.vacancy_id, p.course) for p in result.placements] == [
        ("A-1", "V-1", "B")
    ]
    assert reasons(result) == {
        "A-2": ["age_out_of_range", "education_missing"],
        "A-3": ["no_course_in_period"],
        "A-4": ["no_eligible_vacancy"],
        "A-5": ["outranked"],
    }
    [outranked] = [u for u in result.unplaced if u.applicant_id == "A-5"]
    assert outranked.reasons[0].detail == (
        "your 1 admissible vacancy was filled by applicants they rank higher"
    )
    assert (result.applicants, result.eligible, result.vacancies, result.slots) == (5, 4, 1, 1)
    assert audit_round(snapshot(applicants, vacancies), result) == []


def test_optimal_mode_explains_outranked_by_cost():
    applicants = [applicant("A-1"), applicant("A-2")]
    result = run_round(snapshot(applicants, [vacancy("V-1", slots=ONE_B)], mode="optimal"))
    [unplaced] = result.unplaced
    assert unplaced.reasons[0].code == "outranked"
    assert "displaced another placement at equal or better cost" in unplaced.reasons[0].detail


def test_applicants_placed_earlier_are_not_placed_again_and_their_seats_stay_taken():
    earlier = (EarlierPlacement("2023-summer-0", "A-1", "V-1", "B"),)
    v = vacancy("V-1", slots=[{"course": "B", "capacity": 2}])
    snap = snapshot([applicant("A-1"), applicant("A-2"), applicant("A-3")], [v], earlier=earlier)
    result = run_round(snap)
    assert reasons(result)["A-1"] == ["already_placed"]
    assert len(result.placements) == 1 and result.slots == 1
    assert audit_round(snap, result) == []


def test_placements_carry_stated_ranks_only_and_the_course_mode_of_the_ruleset():
    a1 = applicant("A-1", preferences=["V-0", "V-1"])
    a2 = applicant("A-2", courses=["C"])
    v = vacancy("V-1", preferences=["A-2", "A-1"])
    result = run_round(snapshot([a1, a2], [v]))
    assert {
        p.applicant_id: (p.applicant_rank, p.vacancy_rank, p.course_mode) for p in result.placements
    } == {
        "A-1": (2, 2, "online"),
        "A-2": (None, 1, "visiting"),
    }
    assert result.rank_histogram == {1: 1, 2: 1}


def test_ineligible_vacancies_are_reported_and_take_no_part():
    bad = vacancy("V-1", company={**vacancy().company.model_dump(), "legal_form": "npo"})
    result = run_round(snapshot([applicant("A-1")], [bad]))
    assert [(v.vacancy_id, v.rule) for v in result.ineligible_vacancies] == [("V-1", "legal_form")]
    assert reasons(result) == {"A-1": ["no_eligible_vacancy"]} and result.vacancies == 0


def test_digest_is_sha256_of_tab_separated_lines_in_applicant_id_byte_order():
    placements = [
        Placement("A-b", "V-1", "C-1", "B", "online", None, None),
        Placement("A-B", "V-2", "C-1", "A", "commuting", None, None),
        Placement("A-a", "V-1", "C-1", "C", "visiting", None, None),
    ]
    text = "A-B\tV-2\tA\nA-a\tV-1\tC\nA-b\tV-1\tB\n"
    expected = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert placements_digest(placements) == placements_digest(placements[::-1]) == expected


def test_an_empty_round_has_the_digest_of_empty_text():
    result = run_round(snapshot())
    assert result.placements_digest == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert (result.applicants, result.placements, result.unplaced) == (0, (), ())


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda p: dataclasses.replace(p, course="C"), "course"),
        (lambda p: dataclasses.replace(p, vacancy_rank=1), "vacancy_rank is wrong"),
        (lambda p: dataclasses.replace(p, applicant_id="A-9"), "not in the snapshot"),
    ],
)
def test_audit_finds_a_tampered_placement(tamper, expected):
    snap = snapshot([applicant("A-1")], [vacancy("V-1", slots=ONE_B, accommodation=False)])
    result = run_round(snap)
    assert audit_round(snap, result) == []
    bad = dataclasses.replace(result, placements=(tamper(result.placements[0]),))
    assert any(expected in v for v in audit_round(snap, bad))


def test_audit_finds_a_seat_over_capacity_and_an_applicant_left_out():
    snap = snapshot([applicant("A-1"), applicant("A-2")], [vacancy("V-1", slots=ONE_B)])
    result = run_round(snap)
    extra = dataclasses.replace(result.placements[0], applicant_id=result.unplaced[0].applicant_id)
    bad = dataclasses.replace(result, placements=(*result.placements, extra), unplaced=())
    assert any("capacity" in v for v in audit_round(snap, bad))
    missing = dataclasses.replace(result, unplaced=())
    assert any("appears 0 times" in v for v in audit_round(snap, missing))
