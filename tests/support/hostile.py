"""Hostile inbound bodies for the parsing boundary, as (inbound subject, body) pairs.

- `hostile_bodies()`: a hypothesis strategy mixing raw garbage with valid events (each inbound
  kind) mutated at any JSON path: huge integers, 1e999, NaN, Infinity, -0.0, control
  characters, NUL, unpaired surrogates, deep nesting (up to 100,000 levels), wrong types, very
  long strings, duplicate keys, unknown fields. Some of them are valid events (a NaN in an
  unknown field is): the property is that parsing answers, never that it rejects.
- `hostile_corpus(count, seed)`: the same hostility without hypothesis, deterministic, and
  every body one the service REJECTS (one dead letter each): each is built so that some part
  breaks the contract whatever else it holds (tests/unit/test_parsing_hostile.py checks every
  body of several seeds). Bodies are distinct, each CloudEvents id that is readable at all is
  unique, and none is longer than MAX_BODY_BYTES + 64 bytes (a few are just over the limit).

Imports contracts, hypothesis and the test event builders; no database and no broker.
"""

import json
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from contracts import INBOUND_KINDS, MAX_BODY_BYTES, Kind, subject_of
from tests.support.inbound_events import (
    closed,
    posted,
    registered,
    responded,
    round_requested,
    withdrawn,
)

INBOUND_SUBJECTS = [subject_of(kind) for kind in INBOUND_KINDS]
_MARK = "\x1ehostile\x1e"
"""Placeholder for a raw JSON literal, replaced after json.dumps (which cannot write them)."""

_BUILDERS: dict[Kind, Callable[[str], bytes]] = {
    Kind.APPLICANT_REGISTERED: lambda k: registered("A-1", event_id=k),
    Kind.APPLICANT_WITHDRAWN: lambda k: withdrawn("A-1", 2, event_id=k),
    Kind.VACANCY_POSTED: lambda k: _with_id(posted("V-1"), k),
    Kind.VACANCY_CLOSED: lambda k: _with_id(closed("V-1", 2), k),
    Kind.ROUND_REQUESTED: lambda k: round_requested("R-1", event_id=k),
    Kind.PLACEMENT_RESPONDED: lambda k: responded("R-1/A-1", event_id=k),
}


def _with_id(body: bytes, event_id: str) -> bytes:
    doc = json.loads(body)
    doc["id"] = event_id
    return json.dumps(doc).encode()


def valid_doc(kind: Kind, event_id: str = "hostile-template") -> dict[str, Any]:
    """A valid event of an inbound kind as a JSON document."""
    doc: dict[str, Any] = json.loads(_BUILDERS[kind](event_id))
    return doc


def paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every JSON path of the document (the root excluded), containers after their content."""
    if isinstance(doc, dict):
        inner = [p for key, value in doc.items() for p in paths(value, (*path, key))]
    elif isinstance(doc, list):
        inner = [p for i, value in enumerate(doc) for p in paths(value, (*path, i))]
    else:
        inner = []
    return inner + ([path] if path else [])


def render(doc: dict[str, Any], path: tuple[Any, ...], literal: str, how: str) -> bytes:
    """The document with `literal` (raw JSON text) put at `path`: replacing the value there
    ("replace"), as an unknown field beside it ("unknown"), or as a second value of the same
    key after the first ("duplicate"; JSON parsers keep the last)."""
    doc = json.loads(json.dumps(doc))
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "unknown" and isinstance(parent, dict):
        parent[f"x_hostile_{last}"] = _MARK
    elif how == "duplicate" and isinstance(parent, dict):
        parent[last] = [parent[last], _MARK]  # written as two keys below
    else:
        parent[last] = _MARK
    text = json.dumps(doc, ensure_ascii=True)
    mark = json.dumps(_MARK)
    if how == "duplicate" and isinstance(parent, dict):
        first = json.dumps(parent[last][0], ensure_ascii=True)
        pair = f"[{first}, {mark}]"
        key = json.dumps(last, ensure_ascii=True)
        text = text.replace(f"{key}: {pair}", f"{key}: {first}, {key}: {mark}", 1)
    return text.replace(mark, literal, 1).encode()


# Raw JSON literals. REJECTED ones break the contract wherever they stand (unknown fields
# included); the others depend on where they are put.
REJECTED_ANYWHERE = [
    "1" + "0" * 5000,
    "-" + "9" * 4301,
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"x\\udc00y"',
    '"\\udbff"',
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 20_000 + "1" + "}" * 20_000,
]
DEPENDS_ON_PLACE = [
    "1e999", "-1e999", "NaN", "Infinity", "-Infinity", "-0.0", "0", "-1", "2147483648",
    "1e-320", "true", "false", "null", "{}", "[]", '""', '"7"', '" "', "12.5",
    '"\\u0001\\u001b[31m\\u0007"', '"\\u202e\\ufeff"', '"\\ud83d\\ude00"',
    '"' + "x" * 300 + '"', '"' + "y" * 200_000 + '"',
]  # fmt: skip


@st.composite
def _literal(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.sampled_from(REJECTED_ANYWHERE))
    if choice == 1:
        return draw(st.sampled_from(DEPENDS_ON_PLACE))
    if choice == 2:
        if draw(st.booleans()):
            return str(draw(st.integers(-(10**30), 10**30)))
        digits = draw(st.integers(4_290, 6_000))  # around Python's limit of 4,300 digits
        return draw(st.sampled_from(["", "-"])) + "7" * digits
    if choice == 3:
        value = draw(st.floats(allow_nan=True, allow_infinity=True))
        return json.dumps(value)  # NaN and Infinity as Python writes them
    if choice == 4:
        return json.dumps(draw(st.text(max_size=40)))  # surrogates escaped as \udXXX
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=8,
    )
    return json.dumps(draw(json_values))


@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid event of any inbound kind with one value put at any JSON path."""
    kind = draw(st.sampled_from(INBOUND_KINDS))
    doc = valid_doc(kind, draw(st.sampled_from(["ev-1", "ev-2", "ev-3"])))
    path = draw(st.sampled_from(paths(doc)))
    how = draw(st.sampled_from(["replace", "unknown", "duplicate"]))
    body = render(doc, path, draw(_literal()), how)
    subject = draw(st.sampled_from([subject_of(kind)] * 4 + INBOUND_SUBJECTS))
    return subject, body


def hostile_bodies() -> st.SearchStrategy[tuple[str, bytes]]:
    """(inbound subject, body): raw bytes, broken JSON text, or a mutated valid event."""
    subjects = st.sampled_from(INBOUND_SUBJECTS)
    garbage = st.binary(max_size=600) | st.text(max_size=200).map(
        lambda t: t.encode("utf-8", "surrogatepass")
    )
    truncated = st.builds(
        lambda kind, cut: _BUILDERS[kind]("cut")[:cut],
        st.sampled_from(INBOUND_KINDS),
        st.integers(0, 400),
    )
    return st.tuples(subjects, garbage | truncated) | mutated_events()


def hostile_corpus(count: int, seed: int) -> list[tuple[str, bytes]]:
    """`count` distinct hostile bodies, every one REJECTED by the service (see the module doc)."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    while len(out) < count:
        k = len(out)
        event_id = f"hostile-{seed}-{k}"
        subject, body = _rejected(rng, k, event_id)
        if body not in seen and len(body) <= MAX_BODY_BYTES + 64:
            seen.add(body)
            out.append((subject, body))
    return out


def _rejected(rng: random.Random, k: int, event_id: str) -> tuple[str, bytes]:
    kind = INBOUND_KINDS[k % len(INBOUND_KINDS)]
    subject = subject_of(kind)
    doc = valid_doc(kind, event_id)
    flavour = k % 10
    if flavour == 0:  # garbage: never a JSON object with an id, type and data
        return subject, event_id.encode() + b"\x00\xff" + rng.randbytes(rng.randint(0, 300))
    if flavour == 1:  # oversize: rejected before parsing
        pad = MAX_BODY_BYTES - len(json.dumps(doc)) + rng.randint(1, 40)
        return subject, render(doc, ("data",), json.dumps("p" * pad), "unknown")
    if flavour == 2:  # on the subject of another kind
        other = INBOUND_SUBJECTS[(INBOUND_KINDS.index(kind) + 1) % len(INBOUND_SUBJECTS)]
        return other, json.dumps(doc).encode()
    if flavour == 3:  # a version (or an answer's party) of a type it can never have
        field = next(f for f in ("version", "program_year", "party") if f in doc["data"])
        place = ("data", field)
        literal = rng.choice([*DEPENDS_ON_PLACE[:5], '"v"', "{}", "[]", "null", "true"])
        return subject, render(doc, place, literal, rng.choice(["replace", "duplicate"]))
    if flavour == 4:  # an id longer than 256 characters
        doc["id"] = event_id + "-" + "i" * rng.randint(256, 5000)
        return subject, json.dumps(doc).encode()
    path = rng.choice(paths(doc))
    literal = rng.choice(REJECTED_ANYWHERE)
    if path == ("id",):  # keep the id readable and unique: the literal goes beside it
        return subject, render(doc, path, literal, "unknown")
    return subject, render(doc, path, literal, rng.choice(["replace", "unknown", "duplicate"]))
