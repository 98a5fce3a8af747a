"""The columnar market (issue 17) reproduces the object-by-object market it replaced: placements
digests and every unplaced applicant's reasons equal those the code before it computed (commit
5f22008, recorded here), on the benchmark market (every applicant and vacancy states a list;
lean rows) in every mode, and on a generated program year (commuting from homes with and without
coordinates, ineligible applicants, closed vacancies; contract payloads) with its lists and with
none, both periods. A change that moves a single placement or reason fails here; one that means
to must say so here.

Re-pinned once, for `optimal` only (2026-12-08): its rounds now solve a maximum flow of least
cost instead of one min-cost flow with a priced bypass arc (matching.solver.flow.Network), which
places as many at the same total rank cost (tests/unit/test_solver_optimal.py holds both equal)
but may choose another matching among those of equal size and cost."""

import hashlib
import json
from functools import cache

import pytest

from contracts import ApplicantRegistered, VacancyPosted
from matching import MODES, RoundResult, load_ruleset, run_round
from matching.snapshot import Snapshot
from scripts.bench_market import Market, snapshot_of
from services.sample.generator import generate_year

BENCHMARK = {  # mode: (placements digest, reasons digest); 3,000 x 600
    "optimal": (
        "sha256:42945532b8a16ac5f527439d48eec7fe192077521de287775dc77cd8f9091cdf",
        "925a973b2a2c385bdb58662918c690ec2c3721436d20d7cd90300b5822008682",
    ),
    "stable": (
        "sha256:e87e2a077418c7d236bb8e5443b09136eb1a0ede469c2317ffce15d94420f541",
        "483180ff01b3f92fc5013b6534e4594ff93f08e0c9c563aa601815675dae6e31",
    ),
    "stable-optimal": (
        "sha256:e87e2a077418c7d236bb8e5443b09136eb1a0ede469c2317ffce15d94420f541",
        "483180ff01b3f92fc5013b6534e4594ff93f08e0c9c563aa601815675dae6e31",
    ),
    "stable-max": (
        "sha256:53c57b7fe06ea89f09221f15315810c946adc1127180c743e483b67a4e1221d9",
        "eb765fc09d2d802fa32c3666186720e74bd138f4ce37a4d43bc0950e87ab0c81",
    ),
}
YEAR = {  # (lists stated, period, mode): (placements digest, reasons digest); 1,500 x 300
    (True, "summer", "optimal"): (
        "sha256:b1efc4bf525111ab240573d5bb6861ed509eb01f8038ad8618fac6504a85e82c",
        "9a13819f90634f81c09a48033605937ed505b62eef7bc6a2f08e610ed8fa6e72",
    ),
    (True, "summer", "stable"): (
        "sha256:63ffc0a9000b3df9af2c3164ac256eacd8249038943ff1c26691e79ac88f2ab0",
        "30beb412509192c6c43b61b903a1dd83a83267143fd5420cdfab6054765286c1",
    ),
    (True, "winter", "optimal"): (
        "sha256:689166abea098de33149dc1204b5580dadd3500265f3d66a230e563c49c37706",
        "0d0d8a0af2876ae04fb6c253502f85068845d61cf72832f55a1b20af4e537c33",
    ),
    (True, "winter", "stable"): (
        "sha256:5f4466744482ed3b6f78f0bc58dc24504601c34a28f4e2f4207d3d2ce0d12dcb",
        "1f2ee4914d215e3fd4c305cdf35b9fbca8942777566b9648d71b26894a627233",
    ),
    (False, "summer", "optimal"): (
        "sha256:0e36e20739c657217db8897afc86aa8038af00e2f2b906f21229f4ff6c887e8f",
        "23ddb1a9b58a5bcb3eb01247ba8bb9b8c25c6967b8205e63a91a9608769e7ec3",
    ),
    (False, "summer", "stable"): (
        "sha256:c2784c6243a1a2cecafcc6955be6a8f5251e3a2eb600fbbf0f230aeb8959e846",
        "55f3f8913d70a72eb0094df9ec6c69f81655c67dfb1af2643048698be8997e1a",
    ),
    (False, "winter", "optimal"): (
        "sha256:ce570381dd022c57b0daf6472e1c24566331cc4d573fbbc18a0dbcb750198d4c",
        "1878102d39645378bdc3900d9cac1ed748d0724829b0d10b9de84102c97ff447",
    ),
    (False, "winter", "stable"): (
        "sha256:8697748da50a6d8911de2a8aaadae69ae88db32bb1e0d330fdc1957eb0a8f061",
        "583440e019629bd44b70599f962ca6a88bcfab191003c81ea6a35f7e75c20428",
    ),
}


def reasons_digest(result: RoundResult) -> str:
    lines = (
        f"{u.applicant_id}\t{r.code}\t{r.detail}\n" for u in result.unplaced for r in u.reasons
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.mark.parametrize("mode", MODES)
def test_the_benchmark_market_places_and_explains_as_before(mode):
    result = run_round(snapshot_of(Market(3_000, 600), mode, rows=True))
    assert (result.placements_digest, reasons_digest(result)) == BENCHMARK[mode]


@pytest.mark.parametrize(("lists", "period", "mode"), list(YEAR))
def test_a_program_year_places_and_explains_as_before(lists, period, mode):
    result = run_round(year_snapshot(lists, period, mode))
    assert len(result.unplaced) > 100 and result.placements
    assert (result.placements_digest, reasons_digest(result)) == YEAR[(lists, period, mode)]


@cache
def _year() -> tuple[tuple[ApplicantRegistered, ...], tuple[VacancyPosted, ...]]:
    applicants, vacancies = {}, {}
    for body in generate_year(7, 1_500, 300):
        event = json.loads(body)
        data = json.dumps(event["data"])
        try:
            if event["type"] == "jip.applicant.registered.v1":
                a = ApplicantRegistered.model_validate_json(data)
                applicants[a.applicant_id] = a
            elif event["type"] == "jip.vacancy.posted.v1":
                v = VacancyPosted.model_validate_json(data)
                vacancies[v.vacancy_id] = v
        except ValueError:  # the year's deliberately invalid records
            continue
    return tuple(applicants.values()), tuple(vacancies.values())


def year_snapshot(lists: bool, period: str, mode: str) -> Snapshot:
    applicants, vacancies = _year()
    if not lists:
        applicants = tuple(a.model_copy(update={"preferences": []}) for a in applicants)
        vacancies = tuple(v.model_copy(update={"preferences": []}) for v in vacancies)
    return Snapshot(
        round_id="2023-pinned", program_year=2023, period=period, mode=mode,
        ruleset=load_ruleset(), applicants=applicants, vacancies=vacancies, lottery_seed="pinned",
    )  # fmt: skip
