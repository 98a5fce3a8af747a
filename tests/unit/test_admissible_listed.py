"""The pairs of applicants who state a list, checked all at once on arrays (issue 17), against a
pair-by-pair reference written from program-rules.md: the same pairs, scores and stated ranks,
in the same order, on generated program years with and without coordinates and declines."""

from hypothesis import event, given, settings
from hypothesis import strategies as st

from matching.admissible import Admissible, course_fits, fit_score
from matching.geo import distance_km
from matching.language import language_margin, meets_requirements, to_profile
from matching.round import build_market
from matching.ruleset import Ruleset
from tests.support.factories import applicant, cert, snapshot, vacancy
from tests.unit.test_round_properties import FAST, program_years

Row = tuple[str, str, int, int, int]
"""(applicant id, vacancy id, fit score, the applicant's stated rank, the vacancy's)."""


def reference(adm: Admissible, ruleset: Ruleset, period: str, barred: frozenset) -> list[Row]:
    """Every admissible pair of the eligible applicants with a list, one pair at a time."""
    modes = {c: ruleset.courses[c].mode for c in ruleset.courses_in(period)}
    seats = adm.seats
    seat_pairs = zip(seats.seat_vacancy.tolist(), seats.seat_course, strict=True)
    offered = {(seats.vacancies[j].vacancy_id, c) for j, c in seat_pairs}
    vacancies = {v.vacancy_id: v for v in seats.vacancies}
    rows: list[Row] = []
    for a in adm.applicants:
        profile = to_profile(a.languages, ruleset)
        for rank, vacancy_id in enumerate(a.preferences, 1):
            v = vacancies.get(vacancy_id)
            if v is None or (a.applicant_id, vacancy_id) in barred:
                continue
            listed = (
                v.preferences.index(a.applicant_id) + 1 if a.applicant_id in v.preferences else 0
            )
            if v.preferences and not listed or not meets_requirements(profile, v.requirements):
                continue
            fitting = [c for c in a.courses if c in modes and (vacancy_id, c) in offered
                       and course_fits(modes[c], a, v, ruleset)]  # fmt: skip
            if not fitting:
                continue
            km = None
            home, place = a.residence, v.location
            if modes[fitting[0]] == "commuting" and None not in (
                home.lat,
                home.lon,
                place.lat,
                place.lon,
            ):
                km = distance_km(home.lat, home.lon, place.lat, place.lon)
            shared = len(
                {s.casefold() for s in a.skills} & {s.casefold() for s in v.requirements.skills}
            )
            score = fit_score(shared, language_margin(profile, v.requirements), km, ruleset)
            rows.append((a.applicant_id, vacancy_id, score, rank, listed))
    return rows


def listed_rows(adm: Admissible) -> list[Row]:
    """find_admissible's pairs of the applicants with a list, in its order."""
    return [
        (adm.applicants[i].applicant_id, adm.seats.vacancies[j].vacancy_id, score, rank, listed)
        for i, j, score, rank, listed in zip(
            adm.pair_app.tolist(),
            adm.pair_vac.tolist(),
            adm.pair_score.tolist(),
            adm.pair_app_stated.tolist(),
            adm.pair_vac_stated.tolist(),
            strict=True,
        )  # fmt: skip
        if adm.applicants[i].preferences
    ]


CERTS = [cert("en", "IELTS", "6.5"), cert("en", "CEFR", "B2"), cert("en", "CEFR", "C1"),
         cert("ja", "JLPT", "N2"), cert("ja", "JLPT", "N1"), cert("ja", "NATIVE")]  # fmt: skip
SKILLS = ["python", "SQL", "sql", "welding"]
SPOT = st.one_of(st.none(), st.tuples(st.floats(35.0, 36.0), st.floats(139.0, 140.0)))


@st.composite
def markets(draw):
    """Eligible applicants who list vacancies (some not in the round), at home and abroad,
    with and without coordinates; vacancies with and without lists (naming some applicants not
    in the round), minimums and lodging."""
    n_vac, n_app = draw(st.integers(1, 6)), draw(st.integers(1, 10))
    vacancy_ids = [f"V-{j}" for j in range(n_vac + 2)]  # two are not in the round
    applicant_ids = [f"A-{i}" for i in range(n_app)]
    listable = [*applicant_ids, "A-gone", "A-late"]  # vacancies list some not in the round
    people = []
    for applicant_id in applicant_ids:
        home = draw(st.booleans())
        spot = draw(SPOT) if home else None
        residence = {"country": "JP", "prefecture": draw(st.sampled_from(["Tokyo", "Osaka"]))}
        if spot is not None:
            residence |= {"lat": spot[0], "lon": spot[1]}
        people.append(applicant(
            applicant_id,
            residence=residence if home else {"country": draw(st.sampled_from(["PK", "VN"]))},
            languages=draw(st.lists(st.sampled_from(CERTS), min_size=1, max_size=3)),
            courses=draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=3,
                                  unique=True)),
            preferences=draw(st.lists(st.sampled_from(vacancy_ids), min_size=1, unique=True)),
            skills=draw(st.lists(st.sampled_from(SKILLS), max_size=3, unique=True)),
        ))  # fmt: skip
    jobs = []
    for vacancy_id in vacancy_ids[:n_vac]:
        spot = draw(SPOT)
        location = {"prefecture": draw(st.sampled_from(["Tokyo", "Osaka"]))}
        if spot is not None:
            location |= {"lat": spot[0], "lon": spot[1]}
        courses = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True))
        jobs.append(vacancy(
            vacancy_id,
            location=location,
            slots=[{"course": c, "capacity": draw(st.integers(0, 2))} for c in courses],
            accommodation=draw(st.booleans()),
            requirements={
                "japanese_min": draw(st.sampled_from([None, "N2", "N1"])),
                "english_min": draw(st.sampled_from([None, "B2", "C1"])),
                "language_rule": draw(st.sampled_from(["any", "all"])),
                "skills": draw(st.lists(st.sampled_from(SKILLS), max_size=2, unique=True)),
            },
            preferences=draw(st.one_of(st.just([]), st.lists(st.sampled_from(listable),
                                                              min_size=1, unique=True))),
        ))  # fmt: skip
    pairs = [(a.applicant_id, j) for a in people for j in a.preferences]
    barred = frozenset(draw(st.lists(st.sampled_from(pairs), max_size=3)))
    return snapshot(people, jobs, barred=barred, mode=draw(st.sampled_from(["stable", "optimal"])))


@settings(max_examples=150, deadline=None)
@given(markets())
def test_listed_pairs_equal_the_pair_by_pair_reference(snap):
    adm = build_market(snap).ranked.admissible
    rows = listed_rows(adm)
    event(f"listed pairs: {min(len(rows), 5)}{'+' if len(rows) >= 5 else ''}")
    assert rows == reference(adm, snap.ruleset, snap.period, snap.barred_pairs)


@FAST
@given(program_years())
def test_listed_pairs_of_the_round_properties_years_equal_the_reference(snap):
    adm = build_market(snap).ranked.admissible
    assert listed_rows(adm) == reference(adm, snap.ruleset, snap.period, snap.barred_pairs)


def test_a_vacancy_listing_only_applicants_not_in_the_round_admits_none_of_those_in_it():
    """Its stated ranks are looked up by (vacancy, applicant) key: an id outside the round must
    never stand in for one inside it (whatever the lottery order of either side)."""
    people = [applicant(f"A-{i}", preferences=["V-0", "V-1"], courses=["B"]) for i in range(3)]
    jobs = [
        vacancy(f"V-{j}", slots=[{"course": "B", "capacity": 2}], preferences=["A-gone", "A-late"])
        for j in range(2)
    ]
    snap = snapshot(people, jobs)
    adm = build_market(snap).ranked.admissible
    assert len(adm.applicants) == 3
    assert len(adm.seats.vacancies) == 2
    assert listed_rows(adm) == [] == reference(adm, snap.ruleset, snap.period, frozenset())
