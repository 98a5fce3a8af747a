"""A round's snapshot as lean rows (matching.rows) reads exactly as the contract payloads it was
stored from: every field a rule reads is equal, and a round gives the identical result.

The payloads are generated over the contract's whole range (any valid ids, coordinates, scores,
optional parts absent or null, unicode skills), stored as the intake stores them (the model's
JSON; SQLite's JSON column writes it back through `json`), and read back as rows.
"""

import dataclasses
import datetime as dt
import json
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import ApplicantRegistered, VacancyPosted
from contracts.vocabulary import COURSES, Industry, LegalForm, Prefecture
from matching import MODES, applicant_rows, run_round, vacancy_rows
from tests.support.factories import applicant
from tests.unit.test_round_properties import program_years

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
countries = st.from_regex(r"[A-Z]{2}", fullmatch=True)
texts = st.text(min_size=1, max_size=30)
coordinates = st.one_of(
    st.none(),
    st.tuples(
        st.floats(-90, 90) | st.integers(-90, 90), st.floats(-180, 180) | st.integers(-180, 180)
    ),
)
SCORES = {
    "JLPT": ["N1", "N2", "N3", "N4", "N5"],
    "CEFR": ["A1", "A2", "B1", "B2", "C1", "C2"],
    "IELTS": ["0", "4.5", "6.5", "9", "9.0"],
    "TOEFL_IBT": ["0", "7", "79", "120"],
    "TOEIC": ["10", "550", "990"],
    "NATIVE": [None, ""],
}


def _place(doc: dict[str, Any], point: tuple[float, float] | None) -> dict[str, Any]:
    return doc if point is None else {**doc, "lat": point[0], "lon": point[1]}


@st.composite
def certificates(draw: st.DrawFn) -> dict[str, Any]:
    test = draw(st.sampled_from(sorted(SCORES)))
    doc = {"language": draw(st.from_regex(r"[a-z]{2,3}", fullmatch=True)), "test": test}
    score = draw(st.sampled_from(SCORES[test]))
    return doc if score is None and draw(st.booleans()) else {**doc, "score": score}


@st.composite
def applicants(draw: st.DrawFn) -> ApplicantRegistered:
    in_japan = draw(st.booleans())
    abroad = countries.filter(lambda c: c != "JP")  # "JP" drawn here would need a prefecture
    residence: dict[str, Any] = {"country": "JP" if in_japan else draw(abroad)}
    if in_japan or draw(st.booleans()):
        residence["prefecture"] = draw(st.sampled_from(get_args(Prefecture)))
    doc: dict[str, Any] = {
        "applicant_id": draw(ids),
        "version": draw(st.integers(1, 2**31 - 1)),
        "program_year": draw(st.integers(2000, 2100)),
        "given_name": draw(texts),
        "family_name": draw(texts),
        "date_of_birth": draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))).isoformat(),
        "nationality": draw(countries),
        "residence": _place(residence, draw(coordinates)),
        "courses": draw(st.lists(st.sampled_from(COURSES), min_size=1, max_size=5, unique=True)),
    }
    optional = {
        "languages": st.lists(certificates(), max_size=4),
        "education": st.none()
        | st.fixed_dictionaries(
            {"status": st.sampled_from(["enrolled", "graduated"])}, optional={"field": texts}
        ),
        "preferences": st.lists(ids, max_size=6, unique=True),
        "skills": st.lists(texts, max_size=4),
        "programs": st.lists(texts, max_size=2),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            doc[name] = draw(strategy)
    return ApplicantRegistered.model_validate(doc, strict=False)


@st.composite
def vacancies(draw: st.DrawFn) -> VacancyPosted:
    company = {
        "company_id": draw(ids),
        "name": draw(texts),
        "industry": draw(st.sampled_from(get_args(Industry))),
        "capital_jpy": draw(st.integers(0, 10**15)),
        "employees": draw(st.integers(0, 10**7)),
        "legal_form": draw(st.sampled_from(get_args(LegalForm))),
        "head_office_country": draw(countries),
    }
    location = {"prefecture": draw(st.sampled_from(get_args(Prefecture)))}
    courses = draw(st.lists(st.sampled_from(COURSES), max_size=5, unique=True))
    doc: dict[str, Any] = {
        "vacancy_id": draw(ids),
        "version": draw(st.integers(1, 2**31 - 1)),
        "program_year": draw(st.integers(2000, 2100)),
        "company": company,
        "title": draw(texts),
        "location": _place(location, draw(coordinates)),
        "slots": [{"course": c, "capacity": draw(st.integers(0, 10_000))} for c in courses],
    }
    optional = {
        "requirements": st.fixed_dictionaries(
            {},
            optional={
                "japanese_min": st.none() | st.sampled_from(SCORES["JLPT"]),
                "english_min": st.none() | st.sampled_from(SCORES["CEFR"]),
                "language_rule": st.sampled_from(["any", "all"]),
                "skills": st.lists(texts, max_size=3),
            },
        ),
        "accommodation": st.booleans(),
        "preferences": st.lists(ids, max_size=6, unique=True),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            doc[name] = draw(strategy)
    return VacancyPosted.model_validate(doc, strict=False)


REQUIRED_LISTS = {"courses", "slots"}


def stored(payload: ApplicantRegistered | VacancyPosted, how: str) -> str:
    """The payload's text as a round reads it back. "text": PostgreSQL keeps the intake's JSON
    text; "json": SQLite's JSON column stores it parsed and written again by `json`; "sparse":
    as stored before its optional fields existed (every field at its default left out)."""
    text = payload.model_dump_json()
    if how == "text":
        return text
    doc = json.loads(text)
    return json.dumps(_without_defaults(doc) if how == "sparse" else doc)


def _without_defaults(doc: Any) -> Any:
    if isinstance(doc, list):
        return [_without_defaults(d) for d in doc]
    if not isinstance(doc, dict):
        return doc
    kept = {}
    for key, value in doc.items():
        if value is None or value is False or (key == "language_rule" and value == "any"):
            continue
        if value in ([], {}) and key not in REQUIRED_LISTS:
            continue
        kept[key] = _without_defaults(value)
    return kept


HOW = st.sampled_from(["text", "json", "sparse"])


def assert_reads_as(row: Any, payload: Any, path: str = "") -> None:
    """Every field of the row (those the rules read) equals the payload's, nested parts too."""
    for f in dataclasses.fields(row):
        mine, theirs = getattr(row, f.name), getattr(payload, f.name)
        where = f"{path}.{f.name}"
        if dataclasses.is_dataclass(mine):
            assert theirs is not None, where
            assert_reads_as(mine, theirs, where)
        elif isinstance(mine, tuple):
            assert len(mine) == len(theirs), where
            for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                if dataclasses.is_dataclass(a):
                    assert_reads_as(a, b, f"{where}[{n}]")
                else:
                    assert (a, type(a)) == (b, type(b)), f"{where}[{n}]"
        else:
            assert (mine, type(mine)) == (theirs, type(theirs)), where


@pytest.mark.parametrize(
    ("read", "payloads_of"), [(applicant_rows, applicants), (vacancy_rows, vacancies)]
)
@SETTINGS
@given(data=st.data(), how=HOW)
def test_rows_read_as_their_payloads(read, payloads_of, data, how):
    payloads = data.draw(st.lists(payloads_of(), max_size=5))
    rows = read(stored(p, how) for p in payloads)
    assert len(rows) == len(payloads)
    for row, payload in zip(rows, payloads, strict=True):
        assert_reads_as(row, payload)


def test_rows_come_back_in_order_across_parse_chunks():
    """More payloads than one parse call takes: every row, in the order given."""
    payloads = [applicant(f"A-{n}", preferences=[f"V-{n}"]) for n in range(10_000)]
    rows = applicant_rows(p.model_dump_json() for p in payloads)
    assert [r.applicant_id for r in rows] == [p.applicant_id for p in payloads]


def test_a_stored_payload_that_is_not_a_row_fails_clearly():
    """Stored state that no longer reads (a hand-edited row): a validation error naming it,
    not a round computed on a half-read snapshot."""
    good = stored(applicant(), "text")
    broken = json.dumps({**json.loads(good), "residence": None})
    try:
        applicant_rows([good, broken])
    except ValidationError as error:
        assert "residence" in str(error)
    else:
        raise AssertionError("a broken stored payload was read")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@SETTINGS
@given(
    st.lists(
        st.one_of(
            applicants().map(lambda a: stored(a, "text")),
            json_values.map(json.dumps),
            st.text(max_size=40),
            st.tuples(applicants(), applicants()).map(
                lambda two: f"{stored(two[0], 'text')}, {stored(two[1], 'text')}"
            ),
        ),
        max_size=4,
    )
)
def test_any_stored_text_reads_as_one_row_each_or_fails_with_a_value_error(texts):
    """Whatever text a payload column held: one row per payload, in order, or a ValueError
    (pydantic's ValidationError is one); never a row more or less, never another exception."""
    try:
        rows = applicant_rows(texts)
    except ValueError:
        return
    assert len(rows) == len(texts)
    for row, text in zip(rows, texts, strict=True):
        assert row.applicant_id == json.loads(text)["applicant_id"]


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(program_years(), st.sampled_from(MODES), HOW)
def test_a_round_on_rows_equals_the_round_on_payloads(snap, mode, how):
    snap = dataclasses.replace(snap, mode=mode)
    rows = dataclasses.replace(
        snap,
        applicants=applicant_rows(stored(a, how) for a in snap.applicants),
        vacancies=vacancy_rows(stored(v, how) for v in snap.vacancies),
    )
    on_payloads, on_rows = run_round(snap), run_round(rows)
    assert dataclasses.replace(on_rows, solve_seconds=0) == dataclasses.replace(
        on_payloads, solve_seconds=0
    )
