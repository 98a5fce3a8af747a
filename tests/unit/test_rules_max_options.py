"""`[ranking] max_options` and `max_pairs` (program-rules.md, "Orders and ranks"): an applicant
without a list is admissible only to its best-fitting vacancies, found without scoring every
vacancy, and a round past the pair budget fails with the count."""

import dataclasses
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import TooManyPairs, build_market, load_ruleset
from matching.admissible import Admissible, _Pairs, find_admissible, fit_score, to_seats
from matching.language import language_margin, to_profile
from matching.ranking import to_problem
from matching.shortlist import Shortlist
from tests.support.factories import applicant, cert, snapshot, vacancy

RULESET = load_ruleset()
SKILLS = ("python", "Excel", "cad", "sales")
ONLINE = [{"course": "B", "capacity": 1}]
SEED = "r-1:"


def number(item_id: str) -> int:
    """The lottery number of program-rules.md, recomputed here."""
    return int(hashlib.sha256(f"{SEED}\t{item_id}".encode()).hexdigest(), 16)


def market(n: int, m: int, max_options: int = 200, max_pairs: int = 10**9) -> Admissible:
    """n applicants abroad and m vacancies on course B, nobody states a list."""
    ruleset = dataclasses.replace(RULESET, max_options=max_options, max_pairs=max_pairs)
    a0, v0 = applicant("A-0", skills=["python"]), vacancy("V-0", slots=ONLINE)
    apps = [a0.model_copy(update={"applicant_id": f"A-{i:05d}"}) for i in range(n)]
    vacs = [
        v0.model_copy(
            update={
                "vacancy_id": f"V-{j:05d}",
                "requirements": v0.requirements.model_copy(update={"skills": [SKILLS[j % 4]]}),
            }
        )
        for j in range(m)
    ]
    seats = to_seats(vacs, {(v.vacancy_id, "B"): 1 for v in vacs}, ("B",), SEED)
    return find_admissible(apps, seats, ruleset, "summer", SEED)


def test_a_market_without_lists_keeps_max_options_pairs_per_applicant():
    adm = market(2000, 1000)
    assert adm.pair_app.shape[0] == 2000 * 200
    # the best 200 of each: of the 250 vacancies sharing "python" (every fourth), the first 200
    # in the lottery's order, never by id
    python = [f"V-{j:05d}" for j in range(0, 1000, 4)]
    expected = sorted(python, key=number)[:200]
    first = adm.pair_vac[adm.pair_app == 0].tolist()
    assert sorted(adm.seats.vacancies[j].vacancy_id for j in first) == sorted(expected)
    assert sorted(expected) != python[:200]  # the lottery, not the id, made the cut


def test_the_work_grows_with_the_applicants_not_with_the_vacancies():
    small, large = market(300, 500, max_options=20), market(300, 4000, max_options=20)
    assert small.fit_evaluations == large.fit_evaluations <= 300 * 4


def test_a_round_past_max_pairs_fails_naming_the_count():
    with pytest.raises(TooManyPairs, match=r"^admissible pairs 1,500 exceed .* max_pairs 1,499$"):
        market(30, 100, max_options=50, max_pairs=1499)
    assert market(30, 100, max_options=50, max_pairs=1500).pair_app.shape[0] == 1500


def test_build_market_applies_the_budget_of_the_snapshots_ruleset():
    ruleset = dataclasses.replace(RULESET, max_pairs=1)
    snap = snapshot([applicant("A-1"), applicant("A-2")], [vacancy("V-1", slots=ONLINE)])
    with pytest.raises(TooManyPairs, match="admissible pairs 2 exceed"):
        build_market(dataclasses.replace(snap, ruleset=ruleset))


LEVELS = st.sampled_from(
    [cert("en", "CEFR", s) for s in ("B2", "C1", "C2")]
    + [cert("ja", "JLPT", s) for s in ("N2", "N1")]
    + [cert("en", "NATIVE")]
)
REQUIRED = st.fixed_dictionaries(
    {
        "english_min": st.sampled_from([None, "B2", "C1"]),
        "japanese_min": st.sampled_from([None, "N2", "N1"]),
        "language_rule": st.sampled_from(["any", "all"]),
        "skills": st.lists(st.sampled_from(SKILLS), unique=True, max_size=3),
    }
)


@st.composite
def markets(draw: st.DrawFn) -> tuple[list, list, int]:
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 9))
    ids = [f"A-{i}" for i in range(n)]
    vacs = []
    for j in range(m):
        courses = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True))
        lat = draw(st.sampled_from([None, 35.6, 35.9, 36.2]))
        listed = draw(st.lists(st.sampled_from(ids), unique=True, max_size=2))
        vacs.append(
            vacancy(
                f"V-{draw(st.integers(0, 99)):02d}{j}",
                slots=[{"course": c, "capacity": 1} for c in courses],
                requirements=draw(REQUIRED),
                accommodation=draw(st.booleans()),
                preferences=listed,
                location={"prefecture": "Tokyo", "lat": lat, "lon": None if lat is None else 139.7},
            )
        )
    apps = []
    for i in ids:
        home = draw(st.sampled_from(["PK", "JP", "JP-far"]))
        residence = (
            {"country": "PK"}
            if home == "PK"
            else {
                "country": "JP",
                "prefecture": "Tokyo",
                "lat": 35.7,
                "lon": 139.7 if home == "JP" else 140.2,
            }
        )
        listed = (
            draw(st.lists(st.sampled_from([v.vacancy_id for v in vacs]), unique=True, max_size=2))
            if draw(st.integers(0, 3)) == 0
            else []
        )
        apps.append(
            applicant(
                i,
                residence=residence,
                courses=["A"]
                if home != "PK"
                else draw(st.sampled_from([["B"], ["C"], ["C", "B"]])),
                languages=draw(st.lists(LEVELS, min_size=1, max_size=2)),
                preferences=listed,
                skills=draw(
                    st.lists(st.sampled_from(SKILLS + ("PYTHON",)), unique=True, max_size=3)
                ),
            )
        )
    return apps, vacs, draw(st.integers(1, 4))


def brute_score(a, v) -> int:
    """The fit score of one pair from its parts, computed directly."""
    from matching.admissible import _commute_km

    shared = len({s.casefold() for s in a.skills} & {s.casefold() for s in v.requirements.skills})
    margin = language_margin(to_profile(a.languages, RULESET), v.requirements)
    km = _commute_km(a, v) if a.residence.country == "JP" else None
    return fit_score(shared, margin, km, RULESET)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_the_cut_keeps_exactly_the_best_by_the_full_fit_score(drawn):
    apps, vacs, k = drawn
    capacity = {(v.vacancy_id, s.course): s.capacity for v in vacs for s in v.slots}
    seats = to_seats(vacs, capacity, ("A", "B", "C"), SEED)
    every = dataclasses.replace(RULESET, max_options=10**6)
    full = find_admissible(apps, seats, every, "summer", SEED)
    cut = find_admissible(apps, seats, dataclasses.replace(RULESET, max_options=k), "summer", SEED)

    def names(adm):
        return [
            (adm.applicants[i].applicant_id, seats.vacancies[j].vacancy_id)
            for i, j in zip(adm.pair_app.tolist(), adm.pair_vac.tolist(), strict=True)
        ]

    by_id = {v.vacancy_id: v for v in vacs}
    expected = []
    for a in sorted(apps, key=lambda a: a.applicant_id):
        mine = [v for aid, v in names(full) if aid == a.applicant_id]
        if not a.preferences:
            mine = sorted(mine, key=lambda v: (-brute_score(a, by_id[v]), number(v)))[:k]
        expected += sorted((a.applicant_id, v) for v in mine)
    assert sorted(names(cut)) == sorted(expected)
    scores = dict(zip(names(cut), cut.pair_score.tolist(), strict=True))
    person = {a.applicant_id: a for a in apps}
    assert all(s == brute_score(person[a], by_id[v]) for (a, v), s in scores.items())
    assert_vacancies_rank_only_who_is_left(cut)


def assert_vacancies_rank_only_who_is_left(adm: Admissible) -> None:
    """A vacancy's derived order covers exactly its pairs after the cut, ranks 1..n."""
    ranked = to_problem(adm)
    for j in set(adm.pair_vac.tolist()):
        mine = (adm.pair_vac == j) & (adm.pair_vac_stated == 0)
        if adm.seats.vacancies[j].preferences:
            continue
        assert sorted(ranked.pair_vac_rank[mine].tolist()) == list(range(1, int(mine.sum()) + 1))


@st.composite
def crowds(draw: st.DrawFn) -> tuple[list, list, int, frozenset[tuple[str, str]]]:
    """A drawn market with copies of its applicants under new ids (alike, listed by nobody),
    and some pairs barred by earlier declines."""
    apps, vacs, k = draw(markets())
    copies = draw(st.integers(0, 3))
    more = [
        a.model_copy(update={"applicant_id": f"{a.applicant_id}-{c}"})
        for a in apps
        for c in range(copies)
    ]
    everyone = apps + more
    pair = st.tuples(
        st.sampled_from([a.applicant_id for a in everyone]),
        st.sampled_from([v.vacancy_id for v in vacs]),
    )
    return everyone, vacs, k, frozenset(draw(st.lists(pair, max_size=4)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowds())
def test_applicants_found_alike_get_the_pairs_each_would_get_alone(drawn):
    """The pairs of applicants without a list are found once per kind (same courses, levels
    and skills, abroad, listed by nobody, nothing barred): exactly the pairs each one's own
    search finds, on markets with copies, listings and barred pairs."""
    apps, vacs, k, barred = drawn
    capacity = {(v.vacancy_id, s.course): s.capacity for v in vacs for s in v.slots}
    seats = to_seats(vacs, capacity, ("A", "B", "C"), SEED)
    ruleset = dataclasses.replace(RULESET, max_options=k)
    grouped = find_admissible(apps, seats, ruleset, "summer", SEED, barred)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Pairs, "_kind_of", lambda self, a, courses: None)
        alone = find_admissible(apps, seats, ruleset, "summer", SEED, barred)
    for name in ("pair_app", "pair_vac", "pair_score", "pair_app_stated", "pair_vac_stated",
                 "opt_pair", "opt_seat", "opt_course_pos"):  # fmt: skip
        assert getattr(grouped, name).tolist() == getattr(alone, name).tolist(), name


def test_a_crowd_of_alike_applicants_is_searched_once_per_kind(monkeypatch):
    """2,000 applicants of one kind: none searched one by one, one shortlist search."""
    searched = []
    monkeypatch.setattr(_Pairs, "add", lambda self, *args: searched.append(args))
    best = Shortlist.best

    def counted(self: Shortlist, *args: object, **kwargs: object) -> object:
        searched.append(args)
        return best(self, *args, **kwargs)

    monkeypatch.setattr(Shortlist, "best", counted)
    adm = market(2000, 1000)
    assert adm.pair_app.shape[0] == 2000 * 200
    assert len(searched) == 1
