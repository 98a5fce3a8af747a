"""Seeded generator of a realistic program year as CloudEvents JSON bodies: same seed, same bytes.

Imports contracts and services.sample_* only; never reads the clock or the environment.
"""

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from contracts import PAYLOADS, PREFECTURES, Kind, RoundRequested, make_event, to_json_bytes
from services.sample import data as tables
from services.sample.sme import ranked_interest, share_companies, vacancy

Doc = dict[str, Any]
Offer = tuple[str, frozenset[str], str]  # vacancy id, its courses, its prefecture
APPLICANT_SOURCE = "/applicant-portal"
SME_SOURCE = "/sme-portal"
SCHEDULER_SOURCE = "/scheduler"
JST = dt.timezone(dt.timedelta(hours=9), "JST")
_SPAN = dt.timedelta(days=110)  # the year's events run from 10 January to about 30 April

# Invalid applicant records placed among the valid ones: (what, dotted path, bad value, loc).
# A value of None drops the field. `loc` is the field ContractError names.
INVALID_RECORDS: tuple[tuple[str, str, Any, str], ...] = (
    ("bad date", "data.date_of_birth", "2001-02-30", "data.date_of_birth"),
    ("unknown course", "data.courses", ["A", "D"], "data.courses.1"),
    ("id with spaces", "data.applicant_id", "A 000042", "data.applicant_id"),
    ("missing field", "data.family_name", None, "data.family_name"),
    ("no prefecture in Japan", "data.residence", {"country": "JP"}, "data.residence"),
)

_CODES = list(tables.COUNTRIES)
_PREF_WEIGHTS = [tables.PREFECTURE_WEIGHTS.get(p, 1) for p in PREFECTURES]
_WITHDRAWALS: tuple[str, ...] = ("accepted another offer", "visa timing", "personal reasons")
_CLOSURES: tuple[str, ...] = ("position filled outside the program", "project postponed")


def generate_year(
    seed: int = 2023, applicants: int = 3000, vacancies: int = 300, program_year: int = 2023
) -> list[bytes]:
    """Bodies of one program year in stream order: vacancies, applicants, then changes."""
    rng = random.Random(seed)
    posted = [vacancy(rng, n, program_year) for n in range(1, vacancies + 1)]
    share_companies(rng, posted)
    offers = [(v["vacancy_id"], frozenset(s["course"] for s in v["slots"]),
               v["location"]["prefecture"]) for v in posted]  # fmt: skip
    registered = [_applicant(rng, n, program_year, offers) for n in range(1, applicants + 1)]
    docs: list[tuple[Kind, Doc, int | None]] = [(Kind.VACANCY_POSTED, v, None) for v in posted]
    docs += [(Kind.APPLICANT_REGISTERED, a, None) for a in registered]
    for k in range(len(INVALID_RECORDS)):
        spare = _applicant(rng, applicants + 1 + k, program_year, offers)
        docs.insert(rng.randint(len(posted), len(docs)), (Kind.APPLICANT_REGISTERED, spare, k))
    docs += _changes(rng, posted, registered)
    return _bodies(rng, docs, program_year)


def round_request(
    round_id: str, program_year: int, period: str, mode: str = "optimal", seq: int = 1,
    dry_run: bool = False,
) -> bytes:  # fmt: skip
    """A `jip.round.requested` body dated after every event of that program year's sample."""
    data = RoundRequested.model_validate_json(json.dumps(
        {"round_id": round_id, "program_year": program_year, "period": period, "mode": mode,
         "dry_run": dry_run}))  # fmt: skip
    time = dt.datetime(program_year, 5, 1, 9, tzinfo=JST) + dt.timedelta(hours=seq)
    event_id = f"sch-{program_year}-{seq}"
    event = make_event(Kind.ROUND_REQUESTED, event_id, data, time, SCHEDULER_SOURCE,
                       f"round/{round_id}")  # fmt: skip
    return to_json_bytes(event)


def write_jsonl(path: str | Path, bodies: list[bytes]) -> Path:
    """Write the bodies as JSON Lines (one event a line, UTF-8) and return the path."""
    target = Path(path)
    target.write_bytes(b"".join(body + b"\n" for body in bodies))
    return target


def _changes(rng: random.Random, posted: list[Doc], registered: list[Doc]) -> list[Any]:
    """Second versions (~5% of applicants, ~8% of vacancies, with rankings), then exits."""
    updates: list[Any] = []
    for a in rng.sample(registered, len(registered) // 20):
        prefs = a["preferences"][1:] + a["preferences"][:1]  # the first choice moves last
        updates.append((Kind.APPLICANT_REGISTERED, {**a, "version": 2, "preferences": prefs}, None))
    for v in rng.sample(posted, len(posted) * 8 // 100):
        ranking = ranked_interest(rng, v["vacancy_id"], registered)
        updates.append((Kind.VACANCY_POSTED, {**v, "version": 2, "preferences": ranking}, None))
    rng.shuffle(updates)
    versions = {d.get("applicant_id") or d["vacancy_id"]: 2 for _, d, _ in updates}
    exits = [(Kind.APPLICANT_WITHDRAWN, "applicant_id", a, _WITHDRAWALS)
             for a in rng.sample(registered, len(registered) // 100)]  # fmt: skip
    exits += [(Kind.VACANCY_CLOSED, "vacancy_id", v, _CLOSURES)
              for v in rng.sample(posted, min(len(posted), 1 + len(posted) // 100))]  # fmt: skip
    for kind, key, doc, reasons in exits:
        version = versions.get(doc[key], 1) + 1  # a withdrawal or closure is itself a version
        updates.append(
            (kind, {key: doc[key], "version": version, "reason": rng.choice(reasons)}, None)
        )
    return updates


def _bodies(rng: random.Random, docs: list[tuple[Kind, Doc, int | None]], year: int) -> list[bytes]:
    start = dt.datetime(year, 1, 10, 9, tzinfo=JST)
    step = max(1, int(_SPAN.total_seconds()) // max(1, len(docs)))
    counts = {APPLICANT_SOURCE: 0, SME_SOURCE: 0}
    bodies = []
    for i, (kind, doc, broken) in enumerate(docs):
        applicant = kind in (Kind.APPLICANT_REGISTERED, Kind.APPLICANT_WITHDRAWN)
        source, prefix = (APPLICANT_SOURCE, "ap") if applicant else (SME_SOURCE, "sme")
        counts[source] += 1
        aggregate = (
            f"applicant/{doc['applicant_id']}" if applicant else f"vacancy/{doc['vacancy_id']}"
        )
        time = start + dt.timedelta(seconds=i * step + rng.randrange(step))
        data = PAYLOADS[kind].model_validate_json(json.dumps(doc))
        event = make_event(kind, f"{prefix}-{counts[source]}", data, time, source, aggregate)
        body = to_json_bytes(event)
        bodies.append(body if broken is None else _break(body, INVALID_RECORDS[broken]))
    return bodies


def _break(body: bytes, record: tuple[str, str, Any, str]) -> bytes:
    doc = json.loads(body)
    *parents, last = record[1].split(".")
    node = doc
    for part in parents:
        node = node[part]
    if record[2] is None:
        del node[last]
    else:
        node[last] = record[2]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _applicant(rng: random.Random, n: int, year: int, offers: list[Offer]) -> Doc:
    code = rng.choices(_CODES, [tables.COUNTRIES[c].weight for c in _CODES])[0]
    country = tables.COUNTRIES[code]
    in_japan = rng.random() < 0.25
    residence = _home_in_japan(rng) if in_japan else _home_abroad(rng, code, country)
    courses = _courses(rng, in_japan)
    return {
        "applicant_id": f"A-{n:06d}", "version": 1, "program_year": year,
        "given_name": rng.choice(country.given), "family_name": rng.choice(country.family),
        "date_of_birth": _birth_date(rng, year).isoformat(), "nationality": code,
        "residence": residence, "languages": _certificates(rng, country, in_japan),
        "education": _education(rng, country), "courses": courses,
        "preferences": _preferences(rng, courses, residence["prefecture"], offers),
        "skills": rng.sample(tables.SKILLS, rng.randint(0, 4)),
        "programs": ["PMYP"] if code == "PK" and rng.random() < 0.6 else [],
    }  # fmt: skip


def _birth_date(rng: random.Random, year: int) -> dt.date:
    """Age on 31 August mostly 20-35, some 36-40, a few out of range; some born on 31 August."""
    r = rng.random()
    if r < 0.02:  # the boundaries: 19 and 41 are out of range, 20 and 40 in
        return dt.date(year - rng.choice((19, 20, 40, 41)), 8, 31)
    if r < 0.05:
        age = rng.choice((17, 18, 19, 41, 43, 47))
    else:
        age = rng.randint(36, 40) if r < 0.12 else int(rng.triangular(20, 36, 23))
    born = dt.date(year - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
    return born if (born.month, born.day) <= (8, 31) else born.replace(year=born.year - 1)


def _jitter(rng: random.Random, degrees: float, spread: float) -> float:
    return round(degrees + rng.uniform(-spread, spread), 4)


def _home_in_japan(rng: random.Random) -> Doc:
    prefecture = rng.choices(PREFECTURES, _PREF_WEIGHTS)[0]
    lat, lon = tables.PREFECTURE_CAPITALS[prefecture]
    return {"country": "JP", "prefecture": prefecture,
            "lat": _jitter(rng, lat, 0.08), "lon": _jitter(rng, lon, 0.08)}  # fmt: skip


def _home_abroad(rng: random.Random, code: str, country: tables.Country) -> Doc:
    _, lat, lon = rng.choice(country.cities)
    return {"country": code, "prefecture": None,
            "lat": _jitter(rng, lat, 0.05), "lon": _jitter(rng, lon, 0.05)}  # fmt: skip


def _certificates(rng: random.Random, country: tables.Country, in_japan: bool) -> list[Doc]:
    certificates = []
    if country.english_native and rng.random() < 0.7:
        certificates.append({"language": "en", "test": "NATIVE", "score": ""})
    elif rng.random() < 0.8:
        certificates.append(_english(rng))
    if in_japan or rng.random() < 0.4:
        levels = ("N1", "N2", "N2", "N3", "N3") if in_japan else ("N2", "N3", "N4", "N4", "N5")
        certificates.append({"language": "ja", "test": "JLPT", "score": rng.choice(levels)})
    return certificates


def _english(rng: random.Random) -> Doc:
    test = rng.choice(("IELTS", "IELTS", "TOEFL_IBT", "TOEIC", "CEFR"))
    if test == "IELTS":
        score = str(rng.randint(8, 17) / 2)
    elif test == "TOEFL_IBT":
        score = str(rng.randint(45, 115))
    elif test == "TOEIC":
        score = str(rng.randrange(400, 991, 5))
    else:
        score = rng.choice(("A2", "B1", "B2", "B2", "C1"))
    return {"language": "en", "test": test, "score": score}


def _education(rng: random.Random, country: tables.Country) -> Doc | None:
    r = rng.random()
    if r < 0.05:
        return None
    status = "enrolled" if r < 0.65 else "graduated"
    institution = rng.choice(country.universities)
    return {"status": status, "institution": institution, "field": rng.choice(tables.FIELDS)}


def _courses(rng: random.Random, in_japan: bool) -> list[str]:
    """Residents of Japan commute (A, A2), others work online or visit; a few apply against type."""
    local = in_japan != (rng.random() < 0.07)
    if local:
        return list(rng.choice((("A",), ("A", "A2"), ("A2",), ("A",))))
    return list(rng.choice((("B",), ("B", "C"), ("C",), ("B", "B2"), ("B2",), ("C", "B2"))))


def _preferences(
    rng: random.Random, courses: list[str], home: str | None, offers: list[Offer]
) -> list[str]:
    """0-8 vacancies, drawn without replacement, weighted to matching courses and prefecture."""
    if rng.random() < 0.15 or not offers:
        return []
    wanted = set(courses)
    keyed = sorted(((rng.random() ** (1 / (1 + 8 * bool(wanted & c) + 6 * (p == home))), vid)
                    for vid, c, p in offers), reverse=True)  # fmt: skip
    return [vid for _, vid in keyed[: rng.randint(1, 8)]]
