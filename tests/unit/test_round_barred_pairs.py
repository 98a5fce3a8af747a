"""A pair a decline released is never proposed again that program year, under any course
(lifecycle.md, later rounds): listed or chosen by fit, the pair is not admissible, the next
best takes its place, an applicant left with none is `no_eligible_vacancy`, and the solver-free
validator rejects a result that places it."""

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import EarlierPlacement, audit_round, build_market, load_ruleset, run_round
from matching.snapshot import Placement
from tests.support.factories import applicant, snapshot, vacancy
from tests.support.lottery import drawn

RULESET = load_ruleset()
ONLINE = [{"course": "B", "capacity": 1}, {"course": "C", "capacity": 1}]


def _pairs(snap) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    adm = build_market(snap).ranked.admissible
    return {
        (adm.applicants[int(i)].applicant_id, adm.seats.vacancies[int(j)].vacancy_id)
        for i, j in zip(adm.pair_app.tolist(), adm.pair_vac.tolist(), strict=True)
    }


def test_a_listed_pair_that_was_declined_is_not_admissible_under_any_course():
    a = applicant("A-1", courses=["B", "C"], preferences=["V-1", "V-2"])
    vs = [vacancy("V-1", slots=ONLINE), vacancy("V-2", slots=ONLINE)]
    assert _pairs(snapshot([a], vs)) == {("A-1", "V-1"), ("A-1", "V-2")}
    barred = snapshot([a], vs, barred=frozenset({("A-1", "V-1")}))
    assert _pairs(barred) == {("A-1", "V-2")}
    result = run_round(barred)
    assert [(p.vacancy_id) for p in result.placements] == ["V-2"]
    assert audit_round(barred, result) == []


def test_the_next_best_fitting_vacancy_takes_a_barred_ones_place_for_an_applicant_without_list():
    ruleset = dataclasses.replace(RULESET, max_options=2)
    a = applicant("A-1", skills=["python"])
    vs = [vacancy(f"V-{j}", slots=ONLINE) for j in range(1, 5)]
    free = snapshot([a], vs, ruleset=ruleset)
    first, second, third, _ = drawn(free.seed, [v.vacancy_id for v in vs])  # equal fit: lottery
    assert _pairs(free) == {("A-1", first), ("A-1", second)}
    barred = dataclasses.replace(free, barred_pairs=frozenset({("A-1", first)}))
    assert _pairs(barred) == {("A-1", second), ("A-1", third)}


def test_an_applicant_whose_only_vacancies_declined_them_has_no_eligible_vacancy():
    a = applicant("A-1", preferences=["V-1"])
    snap = snapshot([a], [vacancy("V-1", slots=ONLINE)], barred=frozenset({("A-1", "V-1")}))
    [unplaced] = run_round(snap).unplaced
    assert [r.code for r in unplaced.reasons] == ["no_eligible_vacancy"]


def test_the_validator_rejects_a_placement_of_a_barred_pair():
    a = applicant("A-1")
    snap = snapshot([a], [vacancy("V-1", slots=ONLINE)])
    result = run_round(snap)
    assert [p.vacancy_id for p in result.placements] == ["V-1"]
    barred = dataclasses.replace(snap, barred_pairs=frozenset({("A-1", "V-1")}))
    assert audit_round(barred, result) == [
        "placement A-1->V-1: a decline released this pair this year"
    ]


def test_an_already_placed_applicant_is_told_the_state_and_round_of_the_offer():
    earlier = (EarlierPlacement("2023-summer-1", "A-1", "V-1", "B", "confirmed"),)
    snap = snapshot([applicant("A-1")], [vacancy("V-1", slots=ONLINE)], earlier=earlier)
    [unplaced] = run_round(snap).unplaced
    [reason] = unplaced.reasons
    assert (reason.code, reason.detail) == (
        "already_placed",
        f"confirmed by round 2023-summer-1 of {snap.program_year}",
    )


IDS = st.integers(min_value=0, max_value=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lists=st.lists(st.one_of(st.none(), st.lists(IDS, unique=True, max_size=4)), max_size=6),
    barred=st.sets(st.tuples(st.integers(0, 5), IDS)),
    max_options=st.integers(1, 6),
)
def test_barring_pairs_removes_exactly_those_pairs_and_no_round_places_one(
    lists: list[list[int] | None], barred: set[tuple[int, int]], max_options: int
) -> None:
    """Barred pairs leave; a listed applicant keeps all its other pairs; an applicant without a
    list keeps at most max_options, every one of them admissible without the bar too."""
    ruleset = dataclasses.replace(RULESET, max_options=max_options)
    apps = [
        applicant(f"A-{i}", preferences=[f"V-{j}" for j in listed] if listed else [])
        for i, listed in enumerate(lists)
    ]
    vs = [vacancy(f"V-{j}", slots=ONLINE) for j in range(6)]
    bar = frozenset((f"A-{i}", f"V-{j}") for i, j in barred)
    free = snapshot(apps, vs, ruleset=ruleset)
    unbarred_pairs = _pairs(free)
    snap = dataclasses.replace(free, barred_pairs=bar)
    pairs = _pairs(snap)
    assert not pairs & bar
    for i, listed in enumerate(lists):
        mine = {p for p in pairs if p[0] == f"A-{i}"}
        if listed:
            assert mine == {p for p in unbarred_pairs if p[0] == f"A-{i}"} - bar
        else:
            allowed = {(f"A-{i}", f"V-{j}") for j in range(6)} - bar
            assert mine <= allowed and len(mine) == min(max_options, len(allowed))
    result = run_round(snap)
    assert not {(p.applicant_id, p.vacancy_id) for p in result.placements} & bar
    assert audit_round(snap, result) == []
    assert all(isinstance(p, Placement) for p in result.placements)
