"""Admissible triples: course fit, distance, lodging, language rules and acceptability lists."""

import math

from matching.round import build_market
from matching.ruleset import load_ruleset
from tests.support.factories import TOKYO, applicant, cert, in_japan, snapshot, vacancy

KM_PER_DEGREE = math.pi * 6371.0088 / 180


def triples(snap) -> set[tuple[str, str, str]]:
    """(applicant, vacancy, course) of every option the market puts before the solver."""
    ranked = build_market(snap).ranked
    adm, problem = ranked.admissible, ranked.problem
    out = set()
    for k in range(problem.n_options):
        pair = int(ranked.opt_pair[k])
        a = adm.applicants[int(adm.pair_app[pair])].applicant_id
        v = adm.seats.vacancies[int(adm.pair_vac[pair])].vacancy_id
        out.add((a, v, adm.seats.seat_course[int(problem.opt_seat[k])]))
    return out


def north_of_tokyo(km: float) -> dict:
    return {"prefecture": "Saitama", "lat": TOKYO[0] + km / KM_PER_DEGREE, "lon": TOKYO[1]}


def commuter(**overrides):
    home = {"country": "JP", "prefecture": "Tokyo", "lat": TOKYO[0], "lon": TOKYO[1]}
    return in_japan("A-1", residence=home, **overrides)


def test_commuting_within_50_km_is_admissible_across_prefectures():
    v = vacancy("V-1", location=north_of_tokyo(50.0))
    assert triples(snapshot([commuter()], [v])) == {("A-1", "V-1", "A")}


def test_commuting_50_1_km_away_is_not_admissible():
    v = vacancy("V-1", location=north_of_tokyo(50.1))
    assert triples(snapshot([commuter()], [v])) == set()


def test_without_coordinates_commuting_falls_back_to_the_same_prefecture():
    home = in_japan("A-1", prefecture="Osaka")
    same = vacancy("V-1", location={"prefecture": "Osaka", "lat": 34.69, "lon": 135.5})
    other = vacancy("V-2", location={"prefecture": "Hyogo"})
    assert triples(snapshot([home], [same, other])) == {("A-1", "V-1", "A")}


def test_applicant_abroad_cannot_commute_and_resident_of_japan_cannot_go_online():
    abroad = applicant("A-1", courses=["A", "B"])
    resident = in_japan("A-2", courses=["A", "B"])
    assert triples(snapshot([abroad, resident], [vacancy("V-1")])) == {
        ("A-1", "V-1", "B"),
        ("A-2", "V-1", "A"),
    }


def test_visiting_needs_accommodation():
    a = applicant("A-1", courses=["C"])
    lodging, none = vacancy("V-1"), vacancy("V-2", accommodation=False)
    assert triples(snapshot([a], [lodging, none])) == {("A-1", "V-1", "C")}


def test_language_rule_any_needs_one_minimum_and_all_needs_every_one():
    a = applicant("A-1", languages=[cert("en", "CEFR", "C1"), cert("ja", "JLPT", "N4")])
    need = {"japanese_min": "N3", "english_min": "B2"}
    any_rule = vacancy("V-1", requirements={**need, "language_rule": "any"})
    all_rule = vacancy("V-2", requirements={**need, "language_rule": "all"})
    assert triples(snapshot([a], [any_rule, all_rule])) == {("A-1", "V-1", "B")}


def test_applicant_list_excludes_vacancies_not_on_it():
    a = applicant("A-1", preferences=["V-2"])
    assert triples(snapshot([a], [vacancy("V-1"), vacancy("V-2")])) == {("A-1", "V-2", "B")}


def test_vacancy_list_excludes_applicants_not_on_it():
    listed, unlisted = applicant("A-1"), applicant("A-2")
    v = vacancy("V-1", preferences=["A-1"])
    assert triples(snapshot([listed, unlisted], [v])) == {("A-1", "V-1", "B")}


def test_full_seats_after_earlier_rounds_and_other_periods_take_no_part():
    from matching.snapshot import EarlierPlacement

    a = applicant("A-1", courses=["B", "C"])
    v = vacancy("V-1", slots=[{"course": "B", "capacity": 1}, {"course": "C", "capacity": 1}])
    earlier = (EarlierPlacement("r0", "A-0", "V-1", "B"),)
    assert triples(snapshot([a], [v], earlier=earlier)) == {("A-1", "V-1", "C")}
    winter = applicant("A-2", courses=["B2"])
    assert triples(snapshot([winter], [v], period="winter")) == set()


def test_ineligible_applicants_and_hosts_take_no_part():
    young = applicant("A-1", nationality="CN")
    abroad_host = vacancy(
        "V-1", company={**vacancy().company.model_dump(), "head_office_country": "US"}
    )
    market = build_market(snapshot([young, applicant("A-2")], [abroad_host, vacancy("V-2")]))
    assert [v.vacancy_id for v in market.ineligible_vacancies] == ["V-1"]
    assert triples(snapshot([young, applicant("A-2")], [abroad_host, vacancy("V-2")])) == {
        ("A-2", "V-2", "B")
    }


def test_official_ruleset_makes_n3_speakers_admissible():
    a = applicant("A-1", languages=[cert("ja", "JLPT", "N3")])
    assert triples(snapshot([a], [vacancy("V-1")])) == set()
    official = load_ruleset("fy2023-official")
    assert triples(snapshot([a], [vacancy("V-1")], ruleset=official)) == {("A-1", "V-1", "B")}
