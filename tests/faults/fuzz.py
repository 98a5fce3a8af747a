"""Seeded fuzzed inbound bodies, every one of which breaks the contract: random bytes, non-object
JSON, wrong types, huge strings, deep nesting, oversize, unknown types, truncation, bad UTF-8.
Imports contracts and services.sample.generator; never a broker or a database.
"""

import json
import random
from collections.abc import Callable
from typing import Any

from contracts.subjects import MAX_BODY_BYTES
from services.sample.generator import generate_year, round_request
from tests.faults.corpus import Delivery, subject_for

INBOUND = [
    "jip.applicant.registered",
    "jip.applicant.withdrawn",
    "jip.vacancy.posted",
    "jip.vacancy.closed",
    "jip.round.requested",
]
_WRONG: dict[type, list[Any]] = {
    str: [12345, [], {}, True, 1.5],
    int: ["seven", [], {}, 2.5, "1e3x"],
    float: ["north", [], {}],
    bool: [[], {}, "perhaps", 3.7],
    list: ["not a list", 7, {"k": 1}],
    dict: ["not an object", 7, [1, 2]],
}


def _templates() -> list[dict[str, Any]]:
    bodies = generate_year(seed=3, applicants=30, vacancies=6)
    bodies.append(round_request("fuzz-round", 2023, "summer"))
    docs = [json.loads(b) for b in bodies]
    return [d for d in docs if isinstance(d.get("data"), dict)]


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))] + (
            [path] if path else []
        )
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] + [path]
    return [path]


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


class Fuzzer:
    """Distinct invalid bodies, each with the inbound subject it is published on."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.templates = _templates()
        self.flavours: list[Callable[[int], bytes]] = [
            self._random_bytes, self._not_an_object, self._wrong_type, self._wrong_type,
            self._huge_string, self._deep_nesting, self._unknown_type, self._truncated,
            self._bad_utf8, self._unreadable_id,
        ]  # fmt: skip

    def bodies(self, count: int, oversize_every: int = 500) -> list[Delivery]:
        seen: set[bytes] = set()
        out: list[Delivery] = []
        k = 0
        while len(out) < count:
            k += 1
            if k % oversize_every == 0:
                body = self._oversize(k)
            else:
                body = self.rng.choice(self.flavours)(k)
            if body in seen:
                continue
            seen.add(body)
            subject = subject_for(body) if self.rng.random() < 0.8 else self.rng.choice(INBOUND)
            out.append(Delivery(subject, body, None))
        return out

    def _doc(self, k: int) -> dict[str, Any]:
        doc = json.loads(json.dumps(self.rng.choice(self.templates)))
        doc["id"] = f"fuzz-{k}"
        return doc

    def _random_bytes(self, k: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(12, 400))

    def _not_an_object(self, k: int) -> bytes:
        return json.dumps(self.rng.choice([k, [k, "x"], f"event {k}", None, [{"id": k}]])).encode()

    def _wrong_type(self, k: int) -> bytes:
        doc = self._doc(k)
        path = self.rng.choice([p for p in _leaves(doc) if p and p != ("id",)])
        original = _get(doc, path)
        types = (bool, int, float, str, list, dict)
        kind = next((t for t in types if isinstance(original, t)), dict)  # None: an object
        _set(doc, path, self.rng.choice(_WRONG[kind]))
        return json.dumps(doc).encode()

    def _huge_string(self, k: int) -> bytes:
        doc = self._doc(k)
        field = self.rng.choice(["applicant_id", "vacancy_id", "round_id", "given_name", "title"])
        length = self.rng.randint(300, 200_000 if k % 50 == 0 else 3_000)
        doc["data"][field] = "z" * length
        doc["data"]["version" if "version" in doc["data"] else "program_year"] = "v"
        return json.dumps(doc).encode()[:MAX_BODY_BYTES]

    def _deep_nesting(self, k: int) -> bytes:
        depth = self.rng.randint(200, 20_000 if k % 50 == 0 else 2_000)
        nested = "[" * depth + str(k) + "]" * depth
        if self.rng.random() < 0.5:
            return nested.encode()
        doc = self._doc(k)
        text = json.dumps(doc)
        return (
            text.replace('"data": {', f'"data": {{"version": {nested}, "x": {{', 1).encode() + b"}"
        )

    def _unknown_type(self, k: int) -> bytes:
        doc = self._doc(k)
        choice = self.rng.randrange(4)
        if choice == 0:
            doc["type"] = f"jip.applicant.cloned{k}.v1"
        elif choice == 1:
            doc["type"] = doc["type"].replace(".v1", ".v2")
        elif choice == 2:
            del doc[self.rng.choice(["specversion", "id", "source", "type", "time", "data"])]
        else:
            doc["specversion"] = "2.0"
        return json.dumps(doc).encode()

    def _truncated(self, k: int) -> bytes:
        text = json.dumps(self._doc(k)).encode()
        return text[: self.rng.randint(1, len(text) - 1)]

    def _bad_utf8(self, k: int) -> bytes:
        text = json.dumps(self._doc(k)).encode()
        at = text.index(b'"fuzz-') + 1
        return (
            text[:at]
            + self.rng.choice([b"\xff\xfe", b"\xc3\x28", b"\x00", b"\xed\xa0\x80"])
            + text[at:]
        )

    def _unreadable_id(self, k: int) -> bytes:
        doc = self._doc(k)
        doc["data"]["version"] = "v"
        text = json.dumps(doc).encode()
        bad = self.rng.choice([b"i" * self.rng.randint(257, 2000), b"\\u0000", b"\\udc00"])
        return text.replace(b'"fuzz-', b'"' + bad + b"fuzz-", 1)

    def _oversize(self, k: int) -> bytes:
        doc = self._doc(k)
        doc["data"]["notes"] = "n" * (MAX_BODY_BYTES + self.rng.randint(1, 50_000))
        return json.dumps(doc).encode()
