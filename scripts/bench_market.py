"""The benchmark's market generator: a random national market as a Problem, as HospitalResident
dictionaries, and as contract payloads for a snapshot. Imports numpy, contracts and matching only.
"""

import datetime as dt

import numpy as np

from matching.problem import Problem

COURSES = ("A", "A2", "B", "B2", "C")
OVERSEAS = (2, 4)  # B and C: courses an applicant living abroad may take in summer
PREFS = 10
MAX_LISTED = 10_000
"""The most applicants a vacancy may list (contracts: `VacancyPosted.preferences`)."""


class Market:
    """A random national market: who lists which vacancy (in order) and how vacancies rank them."""

    def __init__(self, n: int, v: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.v = n, v
        first = rng.choice(OVERSEAS, size=v)  # every vacancy offers B or C, plus any course
        second = rng.integers(0, len(COURSES), size=v)
        second = np.where(second == first, -1, second)
        self.vac_courses = np.stack([first, second], axis=1)
        self.vac_capacity = rng.integers(1, 4, size=(v, 2))
        both = rng.random(n) < 0.4
        lead = rng.choice(OVERSEAS, size=n)
        other = np.where(lead == OVERSEAS[0], OVERSEAS[1], OVERSEAS[0])
        self.app_courses = np.stack([lead, np.where(both, other, -1)], axis=1)
        self._draw_lists(rng)

    def _draw_lists(self, rng: np.random.Generator) -> None:
        """~PREFS distinct admissible vacancies per applicant, popularity Zipf-like."""
        weight = 1.0 / np.arange(1, self.v + 1) ** 0.6
        cdf = np.cumsum(rng.permutation(weight))
        draws = np.searchsorted(cdf, rng.random((self.n, 3 * PREFS)) * cdf[-1])
        order = np.argsort(draws, axis=1, kind="stable")
        ordered = np.take_along_axis(draws, order, axis=1)
        dup = np.zeros_like(draws, dtype=bool)
        np.put_along_axis(dup, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
        fits = np.zeros_like(dup)
        for j in range(2):
            for i in range(2):
                fits |= (self.vac_courses[draws, j] == self.app_courses[:, i : i + 1]) & (
                    self.app_courses[:, i : i + 1] >= 0
                )
        keep = ~dup & fits
        keep &= np.cumsum(keep, axis=1) <= PREFS
        rows = np.nonzero(keep)
        self.pair_app, self.pair_vac = rows[0].astype(np.int64), draws[keep].astype(np.int64)
        by_vac = np.lexsort((rng.random(self.pair_app.shape[0]), self.pair_vac))
        vstarts = np.searchsorted(self.pair_vac[by_vac], np.arange(self.v))
        self.pair_vrank = np.empty_like(self.pair_app)
        self.pair_vrank[by_vac] = np.arange(by_vac.shape[0]) - vstarts[self.pair_vac[by_vac]] + 1
        # A vacancy lists at most the contract's 10,000 applicants (a few of a million-applicant
        # market's most popular were drawn more): the pairs past that are not mutual, so gone.
        kept = self.pair_vrank <= MAX_LISTED
        self.pair_app, self.pair_vac = self.pair_app[kept], self.pair_vac[kept]
        self.pair_vrank = self.pair_vrank[kept]
        starts = np.searchsorted(self.pair_app, np.arange(self.n))
        self.pair_arank = np.arange(self.pair_app.shape[0]) - starts[self.pair_app] + 1

    def to_problem(self) -> Problem:
        """Seats are (vacancy, course slot); an applicant takes its first-listed course first."""
        parts = []
        for i in range(2):
            c = self.app_courses[self.pair_app, i]
            for j in range(2):
                hit = np.flatnonzero((c >= 0) & (self.vac_courses[self.pair_vac, j] == c))
                parts.append((hit * 2 + i, hit, 2 * self.pair_vac[hit] + j))
        key, pair, seat = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.argsort(key, kind="stable")
        pair, seat = pair[order], seat[order]
        app = self.pair_app[pair]
        starts = np.searchsorted(app, np.arange(self.n))
        return Problem(
            n_applicants=self.n,
            capacity=np.where(self.vac_courses >= 0, self.vac_capacity, 0).reshape(-1),
            opt_applicant=app,
            opt_seat=seat,
            applicant_pref=np.arange(app.shape[0]) - starts[app],
            seat_pref=self.pair_vrank[pair] - 1,
            cost=self.pair_arank[pair] + self.pair_vrank[pair],
        )


def hospital_resident_lists(market: Market, problem: Problem) -> tuple[dict, dict, dict]:
    """The same market as HospitalResident dictionaries: seats rank exactly their proposers."""
    residents: dict[int, list[int]] = {}
    for a, s in zip(problem.opt_applicant.tolist(), problem.opt_seat.tolist(), strict=True):
        residents.setdefault(a, []).append(s)
    by_seat = np.lexsort((problem.seat_pref, problem.opt_seat))
    hospitals: dict[int, list[int]] = {}
    for o in by_seat.tolist():
        hospitals.setdefault(int(problem.opt_seat[o]), []).append(int(problem.opt_applicant[o]))
    capacity = {s: int(problem.capacity[s]) for s in hospitals}
    return residents, hospitals, capacity


def snapshot_of(market: Market, mode: str, rows: bool = False):  # -> matching.Snapshot
    """Contract payloads for the market: eligible applicants abroad with stated preferences, and
    eligible SME vacancies ranking exactly the applicants who listed them (copies of one
    validated template each, for speed). `rows`: instead, the lean rows a service loads a
    round's snapshot into (matching.rows), each as its payload would read."""
    import dataclasses

    from contracts import ApplicantRegistered, Slot, VacancyPosted
    from matching import applicant_rows, vacancy_rows
    from matching.ruleset import load_ruleset
    from matching.snapshot import Snapshot

    a_ids = [f"A-{a:06d}" for a in range(market.n)]
    v_ids = [f"V-{v:05d}" for v in range(market.v)]
    app_lists: list[list[str]] = [[] for _ in range(market.n)]
    for a, v in zip(market.pair_app.tolist(), market.pair_vac.tolist(), strict=True):
        app_lists[a].append(v_ids[v])
    vac_lists: list[list[str]] = [[] for _ in range(market.v)]
    by_vac = np.lexsort((market.pair_vrank, market.pair_vac))
    for a, v in zip(
        market.pair_app[by_vac].tolist(), market.pair_vac[by_vac].tolist(), strict=True
    ):
        vac_lists[v].append(a_ids[a])
    applicant = ApplicantRegistered(
        applicant_id="A-0",
        version=1,
        program_year=2023,
        given_name="Bench",
        family_name="Mark",
        date_of_birth=dt.date(2000, 4, 17),
        nationality="PK",
        residence={"country": "PK"},
        languages=[{"language": "en", "test": "IELTS", "score": "6.5"}],
        education={"status": "enrolled"},
        courses=["B"],
    )
    vacancy = VacancyPosted(
        vacancy_id="V-0",
        version=1,
        program_year=2023,
        title="Assistant",
        company={
            "company_id": "C-0",
            "name": "Bench K.K.",
            "industry": "manufacturing",
            "capital_jpy": 50_000_000,
            "employees": 42,
            "legal_form": "company",
            "head_office_country": "JP",
        },
        location={"prefecture": "Tokyo"},
        slots=[],
        accommodation=True,
    )

    def courses_of(a: int) -> list[str]:
        return [COURSES[c] for c in market.app_courses[a].tolist() if c >= 0]

    def posted(v: int) -> VacancyPosted:
        pairs = zip(market.vac_courses[v].tolist(), market.vac_capacity[v].tolist(), strict=True)
        slots = [Slot(course=COURSES[c], capacity=int(k)) for c, k in pairs if c >= 0]
        return vacancy.model_copy(
            update={"vacancy_id": v_ids[v], "preferences": vac_lists[v], "slots": slots}
        )

    if rows:  # one parsed template per side; the vacancies (a tenth as many) parsed each
        row = applicant_rows([applicant.model_dump_json()])[0]
        applicants = tuple(
            dataclasses.replace(
                row,
                applicant_id=a_ids[a],
                preferences=tuple(app_lists[a]),
                courses=tuple(courses_of(a)),
            )
            for a in range(market.n)
        )
        vacancies = vacancy_rows(posted(v).model_dump_json() for v in range(market.v))
    else:
        applicants = tuple(
            applicant.model_copy(
                update={
                    "applicant_id": a_ids[a],
                    "preferences": app_lists[a],
                    "courses": courses_of(a),
                }
            )
            for a in range(market.n)
        )
        vacancies = tuple(posted(v) for v in range(market.v))
    return Snapshot(
        round_id="2023-summer-bench",
        program_year=2023,
        period="summer",
        mode=mode,
        ruleset=_room_for(load_ruleset(), market),
        applicants=applicants,
        vacancies=vacancies,
    )


def _room_for(ruleset, market: Market):  # (Ruleset, Market) -> Ruleset
    """The ruleset with `max_pairs` raised to what the market needs (a million applicants list
    about 10,000,000 pairs, past the shipped 4,000,000: an operator at that scale sets it so)."""
    import dataclasses

    needed = int(market.pair_app.shape[0]) + 1
    return dataclasses.replace(ruleset, max_pairs=max(ruleset.max_pairs, needed))
