"""The sample year's answers to a round's offers (lifecycle.md): most accepted by both parties,
some declined by the host or by the applicant, a few left unanswered past the deadline, and one
placed applicant who withdraws after accepting. Deterministic for a seed; imports contracts only.
"""

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from contracts import (
    ApplicantWithdrawn,
    Kind,
    PlacementResponded,
    make_event,
    to_json_bytes,
)
from services.sample.generator import APPLICANT_SOURCE, SME_SOURCE

PARTY_SOURCE = {"host": SME_SOURCE, "applicant": APPLICANT_SOURCE}


@dataclass(frozen=True, slots=True)
class Offer:
    """What the answers need of one offer: its id, its applicant and the applicant's version."""

    placement_id: str
    applicant_id: str
    applicant_version: int


def answer_offers(
    offers: Sequence[Offer], seed: int, start: dt.datetime, within: dt.timedelta | None = None
) -> list[bytes]:
    """Answers to `offers` from `start` (aware), in a mix of about 75 % accepted by both, 8 %
    declined by the applicant, 7 % by the host after the applicant accepted, 10 % unanswered
    (half with the applicant's acceptance alone); then the first offer both accepted is left by
    its applicant (`applicant.withdrawn`).

    Their times are one second apart, or with `within`, spread evenly before `start + within`
    (the next round's time: an answer the next round sees happened before it)."""
    rng = random.Random(seed)
    answers: list[tuple[str, Offer, str, str]] = []
    confirmed: list[Offer] = []
    for offer in sorted(offers, key=lambda o: o.placement_id):
        draw = rng.random()
        if draw < 0.75:
            parties = ["host", "applicant"]
            rng.shuffle(parties)
            answers += [("answer", offer, p, "accepted") for p in parties]
            confirmed.append(offer)
        elif draw < 0.83:
            answers.append(("answer", offer, "applicant", "declined"))
        elif draw < 0.90:
            answers += [("answer", offer, "applicant", "accepted"),
                        ("answer", offer, "host", "declined")]  # fmt: skip
        elif draw < 0.95:
            answers.append(("answer", offer, "applicant", "accepted"))
    events = len(answers) + (1 if confirmed else 0)
    step = dt.timedelta(seconds=1) if within is None else within / (events + 1)
    bodies = [
        _answer(offer, party, decision, start + n * step)
        for n, (_, offer, party, decision) in enumerate(answers)
    ]
    if confirmed:
        bodies.append(_withdrawal(confirmed[0], start + len(bodies) * step))
    return bodies


def _answer(offer: Offer, party: str, decision: str, at: dt.datetime) -> bytes:
    data = PlacementResponded.model_validate(
        {"placement_id": offer.placement_id, "party": party, "decision": decision}
    )
    event_id = f"answer-{offer.placement_id}-{party}"
    event = make_event(
        Kind.PLACEMENT_RESPONDED, event_id, data, at, PARTY_SOURCE[party], offer.placement_id
    )
    return to_json_bytes(event)


def _withdrawal(offer: Offer, at: dt.datetime) -> bytes:
    version = offer.applicant_version + 1
    data = ApplicantWithdrawn(
        applicant_id=offer.applicant_id, version=version, reason="took another offer"
    )
    event_id = f"ap-leaves-{offer.applicant_id}-{version}"
    event = make_event(
        Kind.APPLICANT_WITHDRAWN, event_id, data, at, APPLICANT_SOURCE,
        f"applicant/{offer.applicant_id}",
    )  # fmt: skip
    return to_json_bytes(event)
