"""The published lottery (program-rules.md, "Orders and ranks"): numbers recomputed from the
rules' text, ties decided by them in every mode, and nothing decided by an id."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from matching import MODES, audit_round, chain_step, draw_positions, lottery_number, run_round
from matching.lottery import in_order
from matching.snapshot import EarlierPlacement, Snapshot
from tests.support.factories import applicant, snapshot, vacancy
from tests.support.lottery import chain, drawn, number
from tests.unit.test_round_properties import FAST, program_years

ONLINE = [{"course": "B", "capacity": 1}]


@given(st.text(max_size=30), st.lists(st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True)))
def test_numbers_and_positions_are_the_published_formula(seed, ids):
    ids = list(dict.fromkeys(ids))
    assert [lottery_number(seed, i) for i in ids] == [number(seed, i) for i in ids]
    positions = draw_positions(seed, ids).tolist()
    assert [ids[positions.index(k)] for k in range(len(ids))] == drawn(seed, ids)


def test_the_chain_is_the_published_formula():
    events = [("/applicant-portal", "e-1"), ("/sme-portal", "e-2"), ("/scheduler", "e-3")]
    h = ""
    for source, event_id in events:
        h = chain_step(h, source, event_id)
    assert h == chain(events) and len(h) == 64


def _tied_market(seed: str, n: int = 6) -> Snapshot:
    """n equally fit applicants without lists for one seat of one vacancy without a list."""
    people = [applicant(f"A-{k}") for k in range(n)]
    return snapshot(people, [vacancy("V-1", slots=ONLINE)], seed=seed)


def test_in_every_mode_the_first_drawn_of_equals_wins_the_seat():
    for mode in MODES:
        winners = set()
        for seed in (f"s-{k}" for k in range(12)):
            snap = dataclasses.replace(_tied_market(seed), mode=mode)
            result = run_round(snap)
            [placed] = result.placements
            assert placed.applicant_id == drawn(seed, [f"A-{k}" for k in range(6)])[0], mode
            assert result.lottery_seed == seed and audit_round(snap, result) == []
            winners.add(placed.applicant_id)
        assert len(winners) > 2, mode  # two seeds draw different orders; no id always wins


def test_the_default_seed_is_the_round_id_and_an_empty_chain():
    snap = _tied_market(seed=None)  # type: ignore[arg-type]
    assert snap.seed == "2023-summer-1:" and run_round(snap).lottery_seed == "2023-summer-1:"


def _renamed(snap: Snapshot) -> tuple[Snapshot, dict[str, str], dict[str, str]]:
    """The snapshot with new ids that the lottery draws in the same order as the old ones."""
    seed = snap.seed

    def mapping(old: list[str], prefix: str) -> dict[str, str]:
        fresh = drawn(seed, [f"{prefix}{k}" for k in range(len(old))])
        return dict(zip(drawn(seed, old), fresh, strict=True))

    apps = mapping([a.applicant_id for a in snap.applicants], "N-")
    vacs = mapping([v.vacancy_id for v in snap.vacancies], "W-")
    people = tuple(
        a.model_copy(
            update={
                "applicant_id": apps[a.applicant_id],
                "preferences": [vacs.get(v, v) for v in a.preferences],
            }
        )
        for a in snap.applicants
    )
    jobs = tuple(
        v.model_copy(
            update={
                "vacancy_id": vacs[v.vacancy_id],
                "preferences": [apps.get(a, a) for a in v.preferences],
            }
        )
        for v in snap.vacancies
    )
    earlier = tuple(
        EarlierPlacement(p.round_id, apps[p.applicant_id], vacs[p.vacancy_id], p.course, p.state)
        for p in snap.earlier_placements
    )
    renamed = dataclasses.replace(
        snap, applicants=people, vacancies=jobs, earlier_placements=earlier
    )
    return renamed, apps, vacs


@FAST
@given(program_years(), st.sampled_from(MODES))
def test_renaming_changes_no_outcome_when_the_lottery_draws_the_same_order(snap, mode):
    snap = dataclasses.replace(snap, mode=mode)
    renamed, apps, vacs = _renamed(snap)
    before, after = run_round(snap), run_round(renamed)
    assert audit_round(renamed, after) == []
    expected = sorted(
        (apps[p.applicant_id], vacs[p.vacancy_id], p.course, p.applicant_rank, p.vacancy_rank)
        for p in before.placements
    )
    got = sorted(
        (p.applicant_id, p.vacancy_id, p.course, p.applicant_rank, p.vacancy_rank)
        for p in after.placements
    )
    assert got == expected
    codes = {apps[u.applicant_id]: [r.code for r in u.reasons] for u in before.unplaced}
    assert {u.applicant_id: [r.code for r in u.reasons] for u in after.unplaced} == codes
    assert (after.objective, after.status) == (before.objective, before.status)


@given(st.lists(st.tuples(st.binary(min_size=1, max_size=3), st.binary(min_size=29, max_size=29))))
def test_numbers_alike_in_their_first_eight_bytes_are_ordered_by_all_of_them(parts):
    """The sort by the first eight bytes is only taken where they tell every two numbers apart:
    digests sharing them (drawn here from a few short heads) are ordered by all 32, then by id."""
    digests = [head.ljust(3, b"\0") * 2 + b"\0\0" + tail + b"\0" for head, tail in parts]
    digests = [d[:32] for d in digests]
    ids = [f"id-{n % 3}-{n}" for n in range(len(digests))]
    expected = sorted(range(len(ids)), key=lambda n: (digests[n], ids[n]))
    assert in_order(digests, ids) == expected
