"""Seeded event corpora for the fault tests: a program year delivered with duplicates, stale
versions out of order and malformed bodies, next to the clean list an oracle applies once.
Imports contracts and services.sample.generator; never a broker or a database.
"""

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import (
    ApplicantWithdrawn,
    Kind,
    PlacementResponded,
    make_event,
    subject_of,
    to_json_bytes,
)
from contracts.subjects import MAX_BODY_BYTES, kind_of_type
from services.sample.generator import (
    APPLICANT_SOURCE,
    SME_SOURCE,
    generate_year,
    round_request,
)

YEAR = 2023
ROUND_ID = f"{YEAR}-summer-1"
FALLBACK_SUBJECT = "jip.applicant.registered"


@dataclass(frozen=True)
class Delivery:
    """One message to publish; `msg_id` None sends no Nats-Msg-Id, so the service must dedupe."""

    subject: str
    body: bytes
    msg_id: str | None


@dataclass(frozen=True)
class Corpus:
    clean: list[bytes]
    """Every distinct body once, versions in order: what the calm oracle applies."""
    delivered: list[Delivery]
    """What the faulty run publishes, in this order."""
    duplicates: int
    stale: int
    malformed: int


def subject_for(body: bytes) -> str:
    """`jip.<kind>` of the body's type, else the fallback inbound subject."""
    try:
        doc = json.loads(body)
        event_type = doc.get("type") if isinstance(doc, dict) else None
        kind = kind_of_type(event_type) if isinstance(event_type, str) else None
    except (ValueError, RecursionError):
        kind = None
    return subject_of(kind) if kind is not None else FALLBACK_SUBJECT


def _deliver(body: bytes, with_id: bool) -> Delivery:
    event_id = None
    if with_id:
        try:
            event_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            event_id = None
    return Delivery(subject_for(body), body, event_id if isinstance(event_id, str) else None)


def build_corpus(total: int, seed: int, applicants: int, vacancies: int) -> Corpus:
    """`total` deliveries: ~10% duplicates, 5% stale versions delivered late, 1% malformed,
    and at the end a round request plus a repeat of the same round id."""
    rng = random.Random(seed)
    base = generate_year(seed=seed, applicants=applicants, vacancies=vacancies, program_year=YEAR)
    n_stale, n_malformed = round(total * 0.05), round(total * 0.01)
    clean, delivered = _with_stale_versions(rng, base, n_stale)
    for k in range(n_malformed):
        body = malformed_body(rng, k)
        at = rng.randrange(len(delivered) + 1)
        clean.insert(at, body)
        delivered.insert(at, body)
    rounds = [
        round_request(ROUND_ID, YEAR, "summer", seq=1),
        round_request(ROUND_ID, YEAR, "summer", seq=2),
    ]
    n_dup = total - len(delivered) - len(rounds)
    if not 0.08 * total <= n_dup <= 0.12 * total:
        raise ValueError(f"{applicants} applicants leave {n_dup} duplicates for {total} events")
    deliveries = [_deliver(b, with_id=True) for b in delivered]
    for _ in range(n_dup):
        at = rng.randrange(len(deliveries))
        copy = _deliver(deliveries[at].body, with_id=False)
        deliveries.insert(rng.randrange(at + 1, len(deliveries) + 1), copy)
    deliveries += [_deliver(b, with_id=True) for b in rounds]
    return Corpus(clean + rounds, deliveries, n_dup, n_stale, n_malformed)


def _with_stale_versions(
    rng: random.Random, base: list[bytes], count: int
) -> tuple[list[bytes], list[bytes]]:
    """For `count` applicants with a single event, add version 2; deliver version 1 after it.

    The clean list holds the same events in the same order (version 1 stale there too): a
    round's lottery seed chains the events before it in stream order (program-rules.md), so
    the oracle must take them in the order the stream delivers them."""
    docs = [json.loads(b) for b in base]
    per_applicant = Counter(
        d["data"].get("applicant_id") for d in docs if d["type"].startswith("jip.applicant.")
    )
    singles = [
        i
        for i, d in enumerate(docs)
        if d["type"] == "jip.applicant.registered.v1"
        and d["data"]["version"] == 1
        and per_applicant[d["data"]["applicant_id"]] == 1
    ]
    if len(singles) < count:
        raise ValueError("not enough single-event applicants for the stale versions")
    chosen = set(rng.sample(singles, count))
    delivered: list[bytes] = []
    late: list[bytes] = []
    for i, body in enumerate(base):
        if i not in chosen:
            delivered.append(body)
            continue
        newer = _next_version(docs[i])
        delivered.append(newer)
        late.append(body)
    for body in late:
        delivered.insert(rng.randrange(len(delivered) + 1), body)
    return list(delivered), delivered


def _next_version(doc: dict[str, Any]) -> bytes:
    newer = json.loads(json.dumps(doc))
    newer["id"] = f"{doc['id']}-v2"
    newer["data"]["version"] = 2
    newer["data"]["skills"] = [*doc["data"].get("skills", [])[:4], "kaizen"]
    return json.dumps(newer, separators=(",", ":")).encode()


ANSWERED_AT = dt.datetime(2023, 5, 3, 10, tzinfo=dt.timezone(dt.timedelta(hours=9)))
"""After the first round's offers, well before their deadline (2023-05-14 24:00 JST)."""


def _answer(placement_id: str, party: str, decision: str) -> tuple[str, str, str, str]:
    return ("answer", placement_id, party, decision)


def build_answers(
    placement_ids: Sequence[str], versions: Mapping[str, int], seed: int
) -> tuple[list[bytes], list[Delivery]]:
    """Answers to the offers `placement_ids` (`<round_id>/<applicant_id>`): acceptances by both
    parties in either order, one party only, declines by either, an acceptance then the other's
    decline, a decline after confirmation, withdrawals of offered applicants (their version in
    `versions` plus one) with a late acceptance; about a tenth of the offers left unanswered.
    Each offer's events keep their order; offers interleave at random. Returns the clean bodies
    (each once) and the deliveries: every body with its Nats-Msg-Id plus about 10% later
    copies without one (the service's own dedupe must drop them)."""
    rng = random.Random(seed)
    scripts: list[list[tuple[str, str, str, str]]] = []
    for pid in placement_ids:
        roll = rng.random()
        first, second = rng.sample(("host", "applicant"), 2)
        if roll < 0.35:
            script = [_answer(pid, first, "accepted"), _answer(pid, second, "accepted")]
        elif roll < 0.50:
            script = [_answer(pid, first, "accepted")]
        elif roll < 0.65:
            script = [_answer(pid, "host", "declined")]
        elif roll < 0.75:
            script = [_answer(pid, "applicant", "declined")]
        elif roll < 0.83:
            script = [_answer(pid, first, "accepted"), _answer(pid, second, "declined")]
        elif roll < 0.86:
            script = [
                _answer(pid, first, "accepted"),
                _answer(pid, second, "accepted"),
                _answer(pid, first, "declined"),
            ]
        elif roll < 0.90:
            script = [("withdrawn", pid, "", ""), _answer(pid, "host", "accepted")]
        else:
            script = []
        if script:
            scripts.append(script)
    order = [i for i, script in enumerate(scripts) for _ in script]
    rng.shuffle(order)
    cursors = [0] * len(scripts)
    clean: list[bytes] = []
    for n, i in enumerate(order):
        what, pid, party, decision = scripts[i][cursors[i]]
        cursors[i] += 1
        at = ANSWERED_AT + dt.timedelta(seconds=10 * n)
        if what == "withdrawn":
            applicant_id = pid.partition("/")[2]
            withdrawal = ApplicantWithdrawn(
                applicant_id=applicant_id, version=versions[applicant_id] + 1
            )
            event = make_event(
                Kind.APPLICANT_WITHDRAWN, f"wd-{n}", withdrawal, at, APPLICANT_SOURCE, None
            )
        else:
            data = PlacementResponded.model_validate(
                {"placement_id": pid, "party": party, "decision": decision}
            )
            source = SME_SOURCE if party == "host" else APPLICANT_SOURCE
            event = make_event(Kind.PLACEMENT_RESPONDED, f"answer-{n}", data, at, source, None)
        clean.append(to_json_bytes(event))
    deliveries = [_deliver(b, with_id=True) for b in clean]
    for _ in range(len(clean) // 10):
        at = rng.randrange(len(deliveries))
        copy = _deliver(deliveries[at].body, with_id=False)
        deliveries.insert(rng.randrange(at + 1, len(deliveries) + 1), copy)
    return clean, deliveries


_TEMPLATE: dict[str, Any] = {
    "specversion": "1.0",
    "source": "/applicant-portal",
    "type": "jip.applicant.registered.v1",
    "time": "2023-02-01T09:00:00+09:00",
    "datacontenttype": "application/json",
    "data": {"applicant_id": "A-1", "version": 1, "program_year": YEAR},
}


def malformed_body(rng: random.Random, k: int) -> bytes:
    """Distinct invalid bodies cycling through bad JSON, wrong envelope, unknown type, payload
    errors and oversize; `k` makes each one unique."""
    doc = json.loads(json.dumps(_TEMPLATE))
    doc["id"] = f"bad-{k}"
    flavour = k % 5
    if flavour == 0:
        return json.dumps(doc).encode()[: rng.randint(5, 60)] + f"#{k}".encode()
    if flavour == 1:
        doc["specversion"] = "0.3"
        del doc["source"]
    elif flavour == 2:
        doc["type"] = "jip.applicant.promoted.v1"
    elif flavour == 3:
        doc["data"]["date_of_birth"] = "2001-02-30"
    else:
        doc["padding"] = "x" * (MAX_BODY_BYTES + rng.randint(1, 4096))
    return json.dumps(doc).encode()
